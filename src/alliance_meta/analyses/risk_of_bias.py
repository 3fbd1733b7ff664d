"""Risk of bias in the analysis: the main model's study weights, the pooled estimate without
high-risk studies, and the sentence of the report.

Works on any fit (``am.fit``): subsets are refitted with ``am.fit`` and the fit's own options,
so a three-level model stays three-level (Cochrane Handbook 2022, sec. 7.7 and 10.14: a
sensitivity analysis restricted to studies at low risk of bias).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.inputs.options import keywords_checked
from alliance_meta.inputs.risk_of_bias import OVERALL, PREFIX, RobTool, as_tool, high_risk_mask
from alliance_meta.models import multilevel
from alliance_meta.models.fits import Fit, MultilevelFit, require_fit
from alliance_meta.models.univariate import model_weights, table_test
from alliance_meta.wording import apa_count, did_you_mean

SUBSETS = ("all", "exclude_high", "low_only")


def study_weights(fit: Fit) -> pd.Series:
    """Each study's weight in ``fit``'s pooled estimate in percent, indexed by ``study_id``: metafor's ``weights``.
    A univariate fit: 1 / (v_i + tau^2) of its study composites (tau^2 = 0 for a common-effect model or a tau^2 that
    did not converge), and for GENQ the model's own weights (``fit.weights``, by default 1/sqrt(v_i)), as
    ``weights.rma.uni`` of ``rma(..., weights = a)``. A three-level fit: the study's share of the GLS estimate
    (:func:`alliance_meta.models.multilevel.study_weights`, metafor's ``type = "rowsum"`` weights summed by study)."""
    if isinstance(fit, MultilevelFit):
        return multilevel.study_weights(fit.data["vi"], fit.data["study_id"], *fit.sigma2, rho=fit.rho)
    weights = model_weights(fit.vi, fit.tau2, fit.method, fit.weights)
    return pd.Series(100 * weights / weights.sum(), index=fit.study_id, name="weight")


def subset_rows(effect_sizes: pd.DataFrame, subset: str, tool: RobTool) -> pd.DataFrame:
    """The rows of ``all`` studies, of those not at high risk (``exclude_high``; rows without
    a judgement stay) or only of those at low risk (``low_only``)."""
    if subset == "all":
        return effect_sizes
    if subset == "exclude_high":
        return effect_sizes.loc[~high_risk_mask(effect_sizes, tool)]
    if subset == "low_only":
        return effect_sizes.loc[effect_sizes[OVERALL] == tool.levels[0]]
    raise ValueError(f"unknown risk-of-bias subset {subset!r}; expected one of {', '.join(SUBSETS)}")


@dataclass(frozen=True, eq=False)  # identity: its frames do not compare
class RiskOfBiasSensitivity:
    """The main model refitted to ``all`` studies, without high-risk studies and to low-risk
    studies only: one row per subset (the fit's ``to_frame()`` columns, ``subset``,
    ``k_studies``, ``note``)."""

    table: pd.DataFrame
    rows: pd.DataFrame | None = None  # the fit's effect sizes, whose rob_* columns the figures show
    tool: RobTool | None = None
    weights: pd.Series | None = None  # the fit's study weights (study_weights)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @keywords_checked
    def plot(self, kind: str = "summary", *, weighted: bool = False, note: str | None = None):
        """The robvis-style figure of the fit's studies' judgements (as ``rob_summary`` and ``rob_traffic_light``
        of the pipeline): ``summary``, bars per domain of the share of studies at each judgement (of the fit's
        study weights when ``weighted``), or ``traffic_light``, one row per study (one figure). ``note``: beneath
        the figure (default: that the rows are simulated, when they are)."""
        from alliance_meta.inputs.risk_of_bias import study_judgements
        from alliance_meta.plots.provenance import figure_note, returned_figure
        from alliance_meta.plots.risk_of_bias import summary_plot, traffic_light

        if kind not in ("summary", "traffic_light"):
            raise ValueError(f"kind {kind!r}: 'summary' or 'traffic_light'")
        if self.rows is None or self.tool is None:
            raise ValueError("this result has no rows to plot: make it with am.risk_of_bias_sensitivity(fit, tool)")
        judgements = study_judgements(self.rows, self.tool)
        note = figure_note(self.rows) if note is None else note
        if kind == "traffic_light":
            return returned_figure(traffic_light(judgements, self.tool, note=note)[0], None)
        weights = (self.weights.reindex(judgements["study_id"].astype(str)).fillna(0).to_numpy() if weighted
                   else None)
        return returned_figure(summary_plot(judgements, self.tool, weights, note=note), None)

    def __repr__(self) -> str:  # one line, as the other analyses' results (the dataclass' repr printed the table)
        def counted(row) -> str:
            if row.rob_note == NO_OVERALL:
                return "undefined (no rob_overall)"
            k = int(row.k_studies) if pd.notna(row.k_studies) else 0
            return f"{k} stud{'y' if k == 1 else 'ies'}"

        subsets = ", ".join(f"{row.subset}: {counted(row)}" for row in self.table.itertuples())
        return f"<RiskOfBiasSensitivity: {subsets or 'no subsets'}>"


NO_OVERALL = "no overall judgements (rob_overall): rate every domain or write rob_overall"
"""The note of a subset that is undefined because no study has an overall judgement."""


def normalised_overall(rows: pd.DataFrame, tool: RobTool) -> pd.DataFrame:
    """``rows`` with ``rob_overall`` in the tool's spelling, matched as the sheet reader matches it
    (case, blanks and synonyms: ``High`` -> ``high``); ValueError listing values that are not a
    judgement of the tool."""
    if OVERALL not in rows:
        return rows
    vocabulary = tool.vocabulary(OVERALL)
    cells = rows[OVERALL]
    canonical = cells.map(lambda v: vocabulary.canonical(v) if isinstance(v, str) else None)
    given = cells.notna() & cells.map(lambda v: not (isinstance(v, str) and not v.strip()))
    bad = given & canonical.isna()
    studies = rows["study_id"].astype(str) if "study_id" in rows else pd.Series(rows.index.astype(str), rows.index)
    unknown: dict[str, list[str]] = {}
    for value, study in zip(cells[bad].astype(str), studies[bad]):
        unknown.setdefault(value, []).append(study)
    if unknown:  # each value with its studies (the rows of a fit, one per study composite) and a near judgement
        listed = "; ".join(f"{value!r} (study {', '.join(dict.fromkeys(named))}){did_you_mean(value, tool.judgements)}"
                           for value, named in unknown.items())
        raise ValueError(f"rob_overall holds {listed}: not a {tool.title} judgement ({', '.join(tool.judgements)})")
    return rows.assign(**{OVERALL: canonical.where(canonical.notna(), None).astype(object)})


@keywords_checked
def risk_of_bias_sensitivity(fit: Fit, tool) -> RiskOfBiasSensitivity:
    """Pooled estimate of ``fit``'s model on each risk-of-bias subset (:data:`SUBSETS`).

    ``tool``: a :class:`RobTool` or its name (:func:`as_tool`). ``rob_overall`` is matched as the
    sheet reader matches it (:func:`normalised_overall`). A subset with no studies, identical to
    all studies or undefined (no ``rob_overall``) is reported with a note and, when empty or
    undefined, NaN estimates. Each row's ``test`` is written as ``pooled.csv`` writes it
    (:func:`~alliance_meta.models.univariate.table_test`: an ``adhoc`` fit's rows are ``knha``, their note
    saying ad hoc)."""
    require_fit(fit, "am.risk_of_bias_sensitivity")
    tool = as_tool(tool)
    rows = normalised_overall(fit.effect_sizes, tool)
    judged = OVERALL in rows and rows[OVERALL].notna().any()
    frames = []
    for subset in SUBSETS:
        kept = subset_rows(rows, subset, tool) if judged else rows
        studies = kept["study_id"].nunique() if len(kept) else 0
        if subset != "all" and not judged:
            frame = pd.DataFrame({"estimate": [np.nan]})
            note = NO_OVERALL
        elif subset != "all" and studies == rows["study_id"].nunique():
            frame = fit.to_frame().iloc[:1].copy()
            note = "no study left out: the same as all studies"
        elif studies == 0:
            frame = pd.DataFrame({"estimate": [np.nan]})
            note = "no studies in this subset"
        else:
            frame = fit.refit(kept).to_frame().iloc[:1].copy()  # its options, control and GENQ weights
            note = ""
        if "test" in frame:  # an adhoc fit's rows are knha with the ad hoc note, as in pooled.csv
            frame["test"] = frame["test"].map(table_test)
        frame.insert(0, "subset", subset)
        frame.insert(1, "k_studies", studies)
        frame["rob_note"] = note
        frames.append(frame)
    return RiskOfBiasSensitivity(pd.concat(frames, ignore_index=True), fit.effect_sizes, tool, study_weights(fit))


def high_risk_sentence(judgements: pd.DataFrame, tool: RobTool) -> str:
    """"Of k studies, x were at high risk of bias (<tool; citation>), mostly in <domain> (...)." from
    :func:`alliance_meta.inputs.risk_of_bias.study_judgements` (one row per study); "All k studies were ...", "The one
    study was (not) ...", and ", all of them rated high in <domain>" where every high-risk study is (no "mostly" beside
    "all"). Its counts are compared with the k studies (none exceeds k): in words below ten where k is too
    (:func:`~alliance_meta.wording.apa_count`)."""
    k = len(judgements)

    def count(number: int) -> str:
        return apa_count(number, (k,))

    if OVERALL not in judgements or judgements[OVERALL].isna().all():
        rated = int(judgements[[c for c in judgements.columns if c.startswith(PREFIX)]].notna().any(axis=1).sum())
        if rated == 0:  # of one study: not "None of the one study has"
            return (f"The one study has no risk-of-bias judgement ({tool.source})." if k == 1 else
                    f"None of the {count(k)} studies has a risk-of-bias judgement ({tool.source}).")
        of = f"{count(rated)} of {count(k)} studies" if rated < k else f"{count(k)} {'study' if k == 1 else 'studies'}"
        article = "a " if tool.name == "custom" else ""  # "with a custom risk-of-bias tool", "with QUIPS (...)"
        return f"Risk of bias was assessed in {of} with {article}{tool.title}; no overall judgement is available."
    high = high_risk_mask(judgements, tool).to_numpy()
    x = int(high.sum())
    unjudged = int(judgements[OVERALL].isna().sum())
    without = f" ({count(unjudged)} without an overall judgement)" if unjudged else ""
    if k == 1:  # not "Of one study, none were"
        text = f"The one study was {'' if x else 'not '}at high risk of bias ({tool.source})"
    elif x == k:  # not "Of 12 studies, 12 were"
        text = f"{'Both' if k == 2 else f'All {count(k)}'} studies were at high risk of bias ({tool.source})"
    else:
        text = (f"Of {count(k)} studies{without}, {count(x) if x else 'none'} {'was' if x == 1 else 'were'} at high "
                f"risk of bias ({tool.source})")
    domains = [c for c in judgements.columns if c.startswith(PREFIX) and c != OVERALL]
    if x and domains:
        # the domain judged worst most often among the high-risk studies: rated high (serious or
        # critical) if any is, else rated anything but low
        worst = set(tool.levels[-1:]) | ({"serious", "critical"} & set(tool.levels))
        rated_high = {c: int(judgements.loc[high, c].isin(worst).sum()) for c in domains}
        counts, how = rated_high, "rated " + " or ".join(level for level in tool.levels if level in worst)
        if max(rated_high.values()) == 0:
            counts = {c: int((judgements.loc[high, c].notna() & (judgements.loc[high, c] != tool.levels[0])).sum())
                      for c in domains}
            how = f"rated worse than {tool.levels[0]}"
        most = max(counts.values())
        top = [tool.label(domain).lower() for domain in domains if counts[domain] == most]
        named = ", ".join(top[:-1]) + f" and {top[-1]}" if len(top) > 1 else top[0]
        if most == x:  # every high-risk study in the domain(s): "both rated high in ...", not "1 of the 1", "mostly"
            every = "" if x == 1 else "both " if x == 2 else "all of them "
            return text + f", {every}{how} in {named}."
        studies = f"{count(most)} of the {count(x)} high-risk studies"
        if most > 0 and len(top) == 1:  # "mostly" only for a majority of the high-risk studies
            often = "mostly" if 2 * most > x else "most often"
            return text + f", {often} in {top[0]} ({how} in {studies})."
        if most > 0:  # a tie: no single domain
            return text + f", most often in {named} ({how} in {studies} each)."
    return text + "."
