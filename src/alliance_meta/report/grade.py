"""A *suggested* GRADE certainty rating per family (summary of findings), computed from the results.

GRADE: Guyatt et al. (2011), J Clin Epidemiol 64:383-394 (the series); the domains as in
Guyatt et al. (2011a-e): risk of bias (64:407), inconsistency (64:1294), imprecision (64:1283),
publication bias (64:1277); Schünemann et al. (2013), GRADE Handbook, sec. 5. Evidence from
observational (correlational) studies starts at low certainty, from randomised trials at high
(config ``grade.start``). Every domain's downgrade here is a rule of thumb applied to the numbers
and says why; the reviewers confirm or override it (config ``grade.overrides``). Indirectness
cannot be judged from the data and is left to the reviewers.

Rules:

- risk of bias (only with a ``rob_overall`` column judging at least one of the family's studies): share of the
  pooled estimate's weight (metafor's ``weights``: 1/(v_i + tau^2), GENQ's own weights, a study's share of a
  three-level model's estimate; :func:`study_weights`)
  from studies with any effect size rated high risk (``high``, ``serious``, ``critical``; a custom tool's worst
  level): more than half -> -1.
- inconsistency: the prediction interval includes the null and I^2 >= 50% -> -1; I^2 >= 75% -> -2.
- imprecision: the CI includes the null, or is wider than ``grade.imprecision_width`` on the display
  scale (r, g or OR), -> -1; total N below the optimal information size ``grade.optimal_information_size``
  -> a further -1 (Guyatt et al. 2011, imprecision: the OIS rule of thumb); for an odds ratio, the total
  events (unfavourable outcomes, n12 + n22 of the 2x2 tables: dropouts in the dropout family) below
  ``grade.optimal_information_events`` (300) instead, where every study has a table. The width is judged on the
  unrounded limits; the reason shows the limits to the decimals at which their difference falls on the same side
  of the rule (:func:`shown_decimals`) and no separate width, which beside rounded limits read as an arithmetic
  error; an odds ratio's width in units of d, which its limits do not show, is stated.
- publication bias (k >= 10 studies, of a three-level fit too; fewer: not assessed): Egger's test p < .10, or the step-function
  selection model's likelihood-ratio test p < .05 with its adjusted CI including the null while the
  unadjusted does not (a step-function model noted poorly identified, which the Results leave out, is not used), -> -1;
  where neither test gave a result that is used (none ran, none had an estimate, or those with one are not used), the
  domain is not assessed, the reason naming each test and why.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd

from alliance_meta.analyses.bias.results import POORLY_IDENTIFIED
from alliance_meta.engines.robust import SMALL_DF
from alliance_meta.inputs.options import keywords_checked, settings_alias
from alliance_meta.inputs.risk_of_bias import HIGH_JUDGEMENTS, high_risk_levels, tool_from_config
from alliance_meta.models.univariate import ADHOC_NOTE, SINGLE_STUDY_Z_NOTE, model_weights
from alliance_meta.report.effects import display
from alliance_meta.report.formatting import apa_df, apa_number
from alliance_meta.report.formatting import apa_p_clause, is_finite, pooled_studies, step_list
from alliance_meta.report.summary import total_n

LEVELS = {4: "high", 3: "moderate", 2: "low", 1: "very low"}
START = {"low": 2, "high": 4}
"""The points a rating starts from, per the config's ``grade.start`` (observational: low; randomised: high)."""
STARTS = tuple(START)
"""The config's ``grade.start`` values, as the schema lists them."""
DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
OUTCOMES = {"outcome": "Alliance and treatment outcome (correlation)",
            "dropout": "Alliance of completers versus dropouts"}
IMPRECISION_WIDTH = {"outcome": 0.2, "dropout": 0.5}
"""The widest CI not downgraded for imprecision, per family (the config's ``grade.imprecision_width`` defaults)."""
GRADE_KEYS = {"start": None, "imprecision_width": dict.fromkeys(IMPRECISION_WIDTH), "optimal_information_size": None,
              "optimal_information_events": None, "overrides": dict.fromkeys(IMPRECISION_WIDTH)}
"""The config's ``grade`` keys (checked by :func:`alliance_meta.inputs.options.check_options`)."""
SUGGESTION = "Suggested rating computed from the results; the reviewers confirm or override each domain."



def _includes(lower, upper, null: float = 0.0) -> bool:
    return bool(lower <= null <= upper)


def study_weights(analysis: pd.DataFrame, row: dict) -> pd.Series:
    """Each study's weight in the pooled estimate of ``row`` (a row of pooled.csv), by study_id, as
    :func:`alliance_meta.analyses.risk_of_bias.study_weights` of its fit (metafor's ``weights``): of a univariate
    model (one row per study) 1/(v + tau^2), for GENQ the pipeline's weights 1/sqrt(v); of a three-level model
    (``sigma2_between``, ``sigma2_within``, ``rho``; a row per effect size) the study's share of the GLS estimate
    (:func:`alliance_meta.models.multilevel.study_weights`), not its rows taken as independent."""
    from alliance_meta.models.multilevel import study_weights as block_weights

    studies = analysis["study_id"].astype(str)
    v = analysis["vi"].to_numpy(float)
    between, within, rho = row.get("sigma2_between"), row.get("sigma2_within"), row.get("rho")
    if is_finite(between) and is_finite(within):
        return block_weights(v, studies, float(between), float(within), float(rho) if is_finite(rho) else 0.0)
    tau2 = float(row["tau2"]) if is_finite(row.get("tau2")) else math.nan
    weights = model_weights(v, tau2, str(row.get("method")))
    return pd.Series(weights, index=analysis.index).groupby(studies, sort=False).sum()


def risk_of_bias(analysis: pd.DataFrame, effect_sizes: pd.DataFrame, row: dict, tool=None,
                 weights: pd.Series | None = None) -> tuple[int, str]:
    """Share of the pooled estimate's weight (``weights`` by study_id, e.g. of a fit with weights of its own;
    default :func:`study_weights`) from studies rated at high risk overall: the high-risk judgements of ``tool``
    (the config's ``risk_of_bias`` block; a custom tool's worst level, e.g. ``poor``), :data:`HIGH_JUDGEMENTS`
    without it."""
    if "rob_overall" not in effect_sizes:
        return 0, "not assessed: the sheet has no overall risk-of-bias judgements"
    high_levels = set(HIGH_JUDGEMENTS) if tool is None else {level.lower() for level in high_risk_levels(tool_from_config(tool))}
    rated = effect_sizes["rob_overall"].astype("string").str.strip().str.lower()
    high = set(effect_sizes.loc[rated.isin(high_levels).fillna(False).to_numpy(), "study_id"].astype(str))
    weights = study_weights(analysis, row) if weights is None else weights
    share = float(weights[weights.index.isin(high)].sum() / weights.sum())
    rated_studies = set(effect_sizes.loc[rated.notna().to_numpy() & (rated != "").fillna(False).to_numpy(),
                                         "study_id"].astype(str))
    unrated = ~weights.index.isin(rated_studies)
    if unrated.all():  # a rob_overall column (of the other family, or emptied) but no judgement here
        return 0, "not assessed: no study has an overall risk-of-bias judgement"
    text = f"{share:.0%} of the weight from studies at high risk of bias"
    if unrated.any():
        count = int(unrated.sum())
        text += (f" ({count} {'study' if count == 1 else 'studies'} without an overall judgement, "
                 f"{float(weights[unrated].sum() / weights.sum()):.0%} of the weight)")
    return (-1, f"serious: {text}") if share > 0.5 else (0, f"not serious: {text}")


def inconsistency(row: dict) -> tuple[int, str]:
    i2, lower, upper = row.get("i2"), row.get("pi_lower"), row.get("pi_upper")
    if pooled_studies(row) == 1:  # nothing between studies to judge (of one effect size: tau^2 set to 0, PI = CI)
        return 0, "not assessable: one study"
    if not (is_finite(i2) and is_finite(lower) and is_finite(upper)):
        return 0, "not assessable: no I\u00b2 or prediction interval"
    spans = _includes(lower, upper)
    text = f"I\u00b2 = {apa_number(i2, 1)}%, prediction interval {'includes' if spans else 'excludes'} the null"
    if spans and i2 >= 75:
        return -2, f"very serious: {text}"
    if spans and i2 >= 50:
        return -1, f"serious: {text}"
    return 0, f"not serious: {text}"


#: a log odds ratio in units of d (Hasselblad & Hedges 1995): the CI of an OR is measured against the g width
LOG_OR_TO_D = np.sqrt(3.0) / np.pi


def imprecision(row: dict, n: float, metric: str, width: float, ois: int, unknown: int = 0,
                events: float = math.nan, ois_events: int = 300) -> tuple[int, str]:
    """Serious when the CI includes the null or is wider than ``width`` on the display scale (r, g; an OR's
    CI by its log-OR width in units of d, log OR sqrt(3)/pi: the OR scale is not additive, and 0.5 there was
    far stricter than 0.5 in g for the same data), and when N is below the optimal information size. With
    ``unknown`` studies of unknown n, N is a lower bound: below the optimal information size it is said, not
    downgraded for. An odds ratio's ``events`` (:func:`total_events`; NaN where a study has no 2x2 table) are
    measured against ``ois_events`` instead of its patients against ``ois``."""
    show = display(metric)
    lower, upper = row.get("ci_lower"), row.get("ci_upper")
    if not (is_finite(lower) and is_finite(upper)):
        return 0, "not assessable: no confidence interval"
    by_events = metric == "log_or" and is_finite(events)  # GRADE counts a binary outcome's events, not patients
    if by_events:
        n, ois, unknown = events, ois_events, 0
    if float(lower) == float(upper):  # Knapp-Hartung on effect sizes that do not vary: SE 0
        return 0, ("not assessable: the confidence interval has no width (identical effect sizes under "
                   "Knapp\u2013Hartung); judge imprecision from the Wald CI")
    if metric == "log_or":
        shown, unit = (float(upper) - float(lower)) * LOG_OR_TO_D, " in units of d, log OR × √3/π"
    else:
        shown, unit = float(show.transform(upper)) - float(show.transform(lower)), ""
    # judged on the unrounded limits (a width equal to the rule but for the last bit, 0.9 - 0.7 = 0.20000000000000007,
    # is not wider); the text shows them so that it reads the same
    wide = round(shown, 10) > width
    if metric == "log_or":  # the width in units of d is stated, to the decimals that keep it on its side of the rule
        decimals = shown_decimals(width, wide, spread=shown)
        interval = show.interval(lower, upper)
        within = beyond = f"{interval} (width {shown:.{decimals}f} {'>' if wide else chr(0x2264)} {width:g}{unit})"
    else:  # the limits tell the width: to the decimals whose difference is on the side of the rule the CI is
        interval = show.interval(lower, upper, shown_decimals(
            width, wide, limits=(float(show.transform(lower)), float(show.transform(upper)))))
        within, beyond = f"{interval} not wider than {width:g}", f"{interval} wider than {width:g}"
    reasons, downgrade = [], 0
    if _includes(lower, upper, 0.0) or wide:
        downgrade -= 1
        reasons.append(f"CI {show.interval(lower, upper)} includes the null" if _includes(lower, upper)
                       else f"CI {beyond}")
    incomplete = f" (n unknown for {unknown} {'study' if unknown == 1 else 'studies'})" if unknown else ""
    if is_finite(n) and n < ois and unknown:
        reasons.append(f"N = {int(n):,}{incomplete}: the optimal information size {ois:,} not assessed")
    elif is_finite(n) and n < ois:
        downgrade -= 1
        reasons.append(f"{int(n):,} {EVENTS} below the optimal information size of "
                       f"{ois:,} events" if by_events else f"N = {int(n):,} below the optimal information size {ois:,}")
    if downgrade:
        return downgrade, ("very serious: " if downgrade < -1 else "serious: ") + "; ".join(reasons)
    if reasons:  # N incomplete and below the optimal information size: said, not downgraded for
        return 0, f"not serious: CI {within}; " + "; ".join(reasons)
    if by_events:
        sample = f"{int(n):,} {EVENTS} \u2265 {ois:,}"
    else:
        sample = f"N = {int(n):,}{incomplete} \u2265 {ois:,}" if is_finite(n) else "N unknown (no study gave its n)"
    if metric == "log_or" and is_finite(n) and not by_events:  # the optimal information size of patients is
        sample += EVENTS_CHECK  # GRADE's for continuous outcomes; a binary one's counts events
    return 0, f"not serious: CI {within}, {sample}"


def shown_decimals(width: float, wide: bool, limits: tuple[float, float] | None = None,
                   spread: float | None = None) -> int:
    """The fewest decimals (at least 2, as every effect of the report) at which a CI's text agrees with its
    imprecision judgement ``wide`` (wider than ``width``, judged on unrounded values): the rounded ``limits`` (display
    scale) differ by more than ``width`` exactly when ``wide`` (r from .4000 to .6004 is wider than 0.2, which
    [.40, .60] is not: [.4000, .6004]), or ``spread`` (a width stated beside them) rounded lies on the side of
    ``width`` that it does (0.1259 is no wider than 0.126, which 0.13 is: 0.126)."""
    rule = Decimal(repr(float(width)))
    for decimals in range(2, 13):
        if limits is not None:
            rounded = Decimal(f"{limits[1]:.{decimals}f}") - Decimal(f"{limits[0]:.{decimals}f}")
        else:
            rounded = Decimal(f"{spread:.{decimals}f}")
        if (rounded > rule) == wide:
            return decimals
    return 12


#: What the events of the imprecision domain are (the sheet's n12 + n22), in the words of the GRADE table's note.
EVENTS = "events (unfavourable outcomes of the 2x2 tables)"
#: GRADE's rule of thumb of the optimal information size for a binary outcome (Guyatt et al. 2011, imprecision,
#: 64:1283) counts events, which a study without a 2x2 table does not give (an odds ratio with its CI): then it is
#: named
EVENTS_CHECK = (" patients (the rule of thumb for continuous outcomes; for an odds ratio GRADE counts events, "
                "about 300, which the studies without a 2x2 table do not give: the reviewers check the number of "
                "dropouts)")


def total_events(analysis: pd.DataFrame, effect_sizes: pd.DataFrame | None = None) -> float:
    """Unfavourable outcomes (n12 + n22 of the 2x2 tables: dropouts in the dropout family) summed over studies,
    the largest of each study's rows (as :func:`total_n` counts patients); NaN when a study has no table. A
    study's composite whose tables differ has ``mixed`` counts (:func:`~alliance_meta.inputs.dependence.aggregate`):
    its rows of ``effect_sizes`` give them instead (NaN without)."""
    from alliance_meta.inputs.dependence import MIXED

    if analysis.empty or not {"n12", "n22"} <= set(analysis):
        return math.nan
    events = pd.to_numeric(analysis["n12"], errors="coerce") + pd.to_numeric(analysis["n22"], errors="coerce")
    mixed = analysis[["n12", "n22"]].isin([MIXED]).any(axis=1)
    if mixed.any() and effect_sizes is not None and {"study_id", "n12", "n22"} <= set(effect_sizes):
        rows = effect_sizes[effect_sizes["study_id"].isin(analysis.loc[mixed, "study_id"])]
        of_rows = (pd.to_numeric(rows["n12"], errors="coerce") + pd.to_numeric(rows["n22"], errors="coerce")
                   ).groupby(rows["study_id"]).max()
        events = events.where(~mixed, analysis["study_id"].map(of_rows))
    per_study = events.groupby(analysis["study_id"]).max()
    return float(per_study.sum()) if per_study.notna().all() else math.nan


def publication_bias(row: dict, bias: pd.DataFrame | None, selection: pd.DataFrame | None) -> tuple[int, str]:
    k = pooled_studies(row)  # studies, also of a three-level fit (whose k counts effect sizes)
    if not is_finite(k) or k < 10:
        return 0, "not assessed: fewer than 10 studies (the tests have too little power)"
    # the reasons in the tests' order, each (text, unestimable): a test's result (``assessed``), one left out ("not
    # used"), or the name of a test that ran without an estimate (every study with the same variance, an empty p-value
    # interval), said only where no test assessed the domain
    reasons: list[tuple[str, bool]] = []
    found = assessed = False
    # a three-level fit's own Egger test (CR2) where it has one; the composite test otherwise
    without_estimate = []  # the Egger's tests that ran without one
    for test, name in (("egger_multilevel", "three-level Egger's test"), ("egger", "Egger's test")):
        if bias is None or not (bias["test"] == test).any():
            continue
        p = float(bias.loc[bias["test"] == test, "p"].iloc[0])
        df = bias.loc[bias["test"] == test, "df"].iloc[0] if "df" in bias else math.nan
        if test == "egger_multilevel" and is_finite(p) and is_finite(df) and float(df) < SMALL_DF:
            # a CR2 t with df below 4 is not to be trusted (Tipton 2015; the report says so): the composite test
            reasons.append((f"three-level Egger's test not used (CR2 df {apa_df(df)} below {SMALL_DF})", False))
            continue
        if is_finite(p):
            found |= p < 0.10
            assessed = True
            reasons.append((f"{name} {apa_p_clause(p)}", False))
            break
        without_estimate.append(name)
    if without_estimate and not assessed:  # both Egger's tests without an estimate: named once
        reasons.append((without_estimate[0] if len(without_estimate) == 1 else "Egger's test", True))
    if selection is not None and (selection["type"] == "stepfun").any():
        step = selection[selection["type"] == "stepfun"].iloc[0]
        if POORLY_IDENTIFIED in str(step.get("note") or ""):  # left out of the Results' range as well (report.text)
            reasons.append(("step-function selection model not used (poorly identified)", False))
        elif is_finite(step.get("lrt_p")) and is_finite(step.get("ci_lower")):
            flips = (_includes(step["ci_lower"], step["ci_upper"])
                     and not _includes(row["ci_lower"], row["ci_upper"]))
            found |= bool(step["lrt_p"] < 0.05 and flips)
            assessed = True
            # in words: "LRT" was defined nowhere in the summary-of-findings table's note (APA 2020, sec. 7.14)
            adjusted = "includes" if _includes(step["ci_lower"], step["ci_upper"]) else "excludes"
            # its p-value cut points (bias.selection.steps, as fitted; the Methods say whether one- or two-sided)
            cuts = step_list(step.get("steps", ""))
            named = f"step-function selection model{f' (p-value cut points {cuts})' if cuts else ''}"
            reasons.append((f"{named} likelihood-ratio test {apa_p_clause(step['lrt_p'])}, "
                            f"adjusted CI {adjusted} the null", False))
        else:
            reasons.append(("the step-function selection model", True))
    if assessed:
        return (-1 if found else 0), ("suspected: " if found else "not suspected: ") + "; ".join(
            text for text, unestimable in reasons if not unestimable)
    if not reasons:
        return 0, "not assessed: no bias tests"
    # no test assessed the domain (its table cell "Not assessed", not "Not serious"): what was tried, and why not
    said: list[str] = []
    for i, (text, unestimable) in enumerate(reasons):
        if unestimable and i and reasons[i - 1][1]:  # "Egger's test and the step-function selection model"
            said[-1] = said[-1].removesuffix(" not estimable") + f" and {text} not estimable"
        else:
            said.append(f"{text} not estimable" if unestimable else text)
    return 0, "not assessed: " + "; ".join(said)


def summary_of_findings(family: str, metric: str, pooled_row: dict, analysis: pd.DataFrame,
                        effect_sizes: pd.DataFrame, bias: pd.DataFrame | None = None,
                        selection: pd.DataFrame | None = None, options: dict | None = None,
                        risk_of_bias_tool: dict | None = None, weights: pd.Series | None = None) -> pd.DataFrame:
    """``results/{family}/summary_of_findings.csv``: one row with k, N, the pooled estimate with CI and PI
    (analysis metric and back-transformed), and per domain the suggested downgrade (0, -1, -2) and why.
    ``risk_of_bias_tool``: the config's ``risk_of_bias`` block, whose tool says which judgements are high risk;
    ``weights``: the studies' weights (default :func:`study_weights` of ``pooled_row``)."""
    options = options or {}
    show = display(metric)
    # patients as the Data section counts them: the largest n of each study (a three-level fit's analysis.csv has
    # a row per effect size, whose n summed counted a study's patients once per effect size)
    n, unknown = total_n(analysis)
    n = float(n) if unknown < analysis["study_id"].nunique() else math.nan  # no study gave its n: N unknown, not 0
    studies = pooled_studies(pooled_row)
    judged = {
        "risk_of_bias": risk_of_bias(analysis, effect_sizes, pooled_row, risk_of_bias_tool, weights),
        "inconsistency": inconsistency(pooled_row),
        "indirectness": (0, "not assessed from the data: the reviewers judge the population, "
                            "alliance measures and outcomes"),
        "imprecision": imprecision(pooled_row, n, metric,
                                   options.get("imprecision_width", {}).get(family, IMPRECISION_WIDTH.get(family, 0.2)),
                                   options.get("optimal_information_size", 400), unknown,
                                   total_events(analysis, effect_sizes) if metric == "log_or" else math.nan,
                                   options.get("optimal_information_events", 300)),
        "publication_bias": publication_bias(pooled_row, bias, selection),
    }
    for domain, override in (options.get("overrides", {}).get(family) or {}).items():
        judged[domain] = (-int(override["downgrade"]), f"reviewers: {override.get('reason', 'override')}")
    start = options.get("start", "low")
    points = max(1, START[start] + sum(d for d, _ in judged.values()))
    row = {"family": family, "outcome": OUTCOMES.get(family, family),
           "k": studies if is_finite(studies) else pooled_row.get("k"), "n": n,
           "method": pooled_row.get("method"), "test": pooled_row.get("test"), "metric": metric,
           "effect_measure": show.symbol}
    for name in ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper"):
        value = pooled_row.get(name)
        row[name] = value
        row["effect" if name == "estimate" else f"effect_{name}"] = (
            float(show.transform(value)) if is_finite(value) else np.nan)
    row.update(tau2=pooled_row.get("tau2"), i2=pooled_row.get("i2"), start=start)
    for domain, (downgrade, reason) in judged.items():
        row[f"{domain}_downgrade"], row[f"{domain}_reason"] = downgrade, reason
    # the pooled row's notes that change the test of its CI (k = 1 under knha; pooling.knha_adhoc), so that
    # interval_test reads this row's test as it reads pooled.csv's
    note = pooled_row.get("note") if isinstance(pooled_row.get("note"), str) else ""
    tested = [text for text in (SINGLE_STUDY_Z_NOTE, ADHOC_NOTE) if text in note]
    row.update(certainty_points=points, certainty=LEVELS[points],
               note=f"{SUGGESTION} CI: {'; '.join(tested)}." if tested else SUGGESTION)
    # counts as integers (8, not 8.0; <NA> when unknown), as the CSV writes them
    return pd.DataFrame([row]).astype({"k": "Int64", "n": "Int64"})


@settings_alias
@keywords_checked
def summary_of_findings_of_fit(fit, settings: dict | None = None, *, risk_of_bias: dict | None = None,
                               family: str | None = None) -> pd.DataFrame:
    """``am.summary_of_findings``: :func:`summary_of_findings` of a fit (its ``pooled.csv`` row, its rows, and the
    publication bias tests and selection models of :func:`alliance_meta.publication_bias` and
    :func:`alliance_meta.selection_models` of it), the pipeline's ``summary_of_findings.csv`` of its model.

    ``settings`` (or ``options``, its old name): the config's ``grade`` keys (``imprecision_width``,
    ``optimal_information_size``, ``overrides``);
    ``risk_of_bias``: the config's block (a custom tool's high-risk level); ``family``: ``outcome`` or ``dropout``
    (default: the rows' ``family`` column). GRADE: Guyatt et al. (2011), J Clin Epidemiol 64(4), 383-394.
    """
    from alliance_meta.analyses.bias import publication_bias
    from alliance_meta.analyses.bias.selection_models import selection_models
    from alliance_meta.analyses.risk_of_bias import study_weights as fit_weights
    from alliance_meta.inputs.options import check_options
    from alliance_meta.models.fits import require_fit

    require_fit(fit, "am.summary_of_findings")
    if fit.metric is None:
        raise ValueError("am.summary_of_findings needs the analysis metric: am.fit(..., metric='z') "
                         "(or 'smd', 'log_or')")
    if settings is not None and not isinstance(settings, dict):
        raise TypeError(f"am.summary_of_findings: settings is a dict of the config's grade keys, not "
                        f"{type(settings).__name__}")
    check_options("grade", settings, GRADE_KEYS, "am.summary_of_findings", enums={"start": STARTS})
    if risk_of_bias is not None:
        tool_from_config(risk_of_bias)  # a misspelt key or tool is an error here, not a rating without it
    if family is None:
        families = fit.effect_sizes["family"].dropna().unique() if "family" in fit.effect_sizes else []
        if len(families) != 1:
            raise ValueError("am.summary_of_findings: say which family the fit is of: family='outcome' or 'dropout'")
        family = str(families[0])
    row = fit.to_frame().iloc[0].to_dict()
    return summary_of_findings(family, fit.metric, row, fit.data, fit.effect_sizes, publication_bias(fit).to_frame(),
                               selection_models(fit).to_frame(), settings, risk_of_bias, fit_weights(fit))
