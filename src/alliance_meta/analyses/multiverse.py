"""Multiverse analysis: every defensible specification of one meta-analysis, fitted.

A specification is one choice per decision (Steegen, Tuerlinckx, Gelman & Vanpaemel
2016, *Perspect Psychol Sci* 11(5), "Increasing transparency through a multiverse
analysis"; for meta-analysis Voracek, Kossmeier & Tran 2019, *Z Psychol* 227(1),
"Which data to meta-analyze, and how?"). Decisions about the data come first:

- ``aggregate_method``, ``aggregate_rho``: the study composite (:func:`dependence.aggregate`), or
  ``multilevel``: no composite, the three-level (CHE) model of every effect size with sampling
  correlation ``aggregate_rho`` (``rma.mv``; REML and ML only, ``knha`` read as its t test, no
  Bayesian specification); its outliers are found, and its studies counted, on the GLS composites;
- one column per subset moderator: ``all`` or one level (rows with that level only);
- ``publication``: ``all`` or ``published`` (rows with ``published == "yes"``);
- ``minimum_n``: rows with ``n`` at least this (rows without ``n`` only under 0);
- ``beta_rows``: ``include`` or ``exclude`` the effect sizes converted from a standardized
  regression coefficient (``input_kind == "beta"``, Peterson & Brown 2005's approximation);
  a choice only in a family that has such rows;
- ``correction``: ``none`` or ``individual`` (each correlation corrected for unreliability,
  and range restriction where ``ux`` is given, with the individual corrections of
  :mod:`alliance_meta.analyses.psychometric`; see :func:`corrected_rows`); a choice only in
  a family of correlations (metric ``z``) where some row has a reliability;
- ``risk_of_bias``: ``all``, ``exclude_high`` (studies whose ``rob_overall`` is high risk left
  out: ``high``, or ``serious``/``critical`` under ROBINS-I) or ``low_only`` (``rob_overall`` =
  ``low``); a custom tool's worst and best levels when the settings' ``risk_of_bias_tool`` (the
  config's ``risk_of_bias`` block) names one; a choice only in a family with ``rob_overall`` judgements;
- ``outliers``: ``none``; ``rstudent`` (studies with |externally standardized residual|
  above the threshold); ``influential`` (metafor's influence rules). Both are detected
  in the ``detection_method`` (REML) fit with Wald tests (Viechtbauer & Cheung 2010), so
  every estimator and test of a specification sees the same studies.

then decisions about the model: ``method`` (a tau^2 estimator, or ``bayes``), ``test``
(``z``, ``knha``, or ``posterior``) and ``prior`` (``none``, or a prior on tau for the exact
posterior of :mod:`alliance_meta.bayes`: posterior mean and equal-tailed credible interval; on the
back-transformed scales the centre bayes.csv gives, e.g. the posterior mean of r, not tanh of mu's).
:func:`specifications` takes the Cartesian product of the choices and removes the impossible
combinations: a Bayesian prior with a frequentist test or estimator (and the reverse), a
subset with fewer than ``minimum_k`` studies, an outlier rule with fewer than 3 studies.
Specifications are sorted so that neighbours share their data: a batch (any slice of the
table) aggregates each data set once, and runs the influence diagnostics and each fit once per
distinct input (the same bytes of yi and vi, and the same settings).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.analyses import psychometric
from alliance_meta.analyses.moderators.univariate import display_order
from alliance_meta.analyses.psychometric import PSYCHOMETRIC_KEYS
from alliance_meta.analyses.sensitivity.univariate import influence
from alliance_meta.engines import distributions as dist
from alliance_meta.engines.heterogeneity import Control
from alliance_meta.engines.transforms import back_transform
from alliance_meta.inputs.dependence import composite_effects
from alliance_meta.inputs.options import keywords_checked, settings_alias
from alliance_meta.inputs.risk_of_bias import HIGH_JUDGEMENTS, high_risk_levels, tool_from_config
from alliance_meta.inputs.sheet import worded
from alliance_meta.models import univariate as pooling
from alliance_meta.wording import counted

try:  # the Bayesian choices are skipped when the exact posterior is not installed
    from alliance_meta.bayes import EMPIRICAL_PRIORS, TauPrior, exact_posterior
    from alliance_meta.bayes.summaries import reported_centres
except ImportError:  # pragma: no cover
    EMPIRICAL_PRIORS, TauPrior, exact_posterior = {}, None, None

BAYES, POSTERIOR, NO_PRIOR, ALL = "bayes", "posterior", "none", "all"
#: the ``aggregate_method`` choice that keeps every effect size in a three-level (CHE) model instead of composites
MULTILEVEL = "multilevel"
MULTILEVEL_METHODS = ("REML", "ML")  # rma.mv's estimators
MULTILEVEL_TESTS = {"z": "z", "knha": "t"}  # rma.mv's test = "t" (df = k - p) in place of Knapp-Hartung
#: a fit's test -> the test choice of its specification (the multiverse's knha is rma.mv's t for three-level
#: specifications, and the ad hoc variant of an adhoc fit: run_batch's knha_adhoc)
MAIN_TESTS = {"z": "z", "knha": "knha", "adhoc": "knha", "t": "knha"}
OUTLIER_RULES = ("none", "rstudent", "influential")
BETA_KIND, INCLUDE, EXCLUDE = "beta", "include", "exclude"
NO_CORRECTION, INDIVIDUAL = "none", "individual"
CORRECTIONS = (NO_CORRECTION, INDIVIDUAL)
ROB_CHOICES = (ALL, "exclude_high", "low_only")
RESERVED = ("aggregate_method", "aggregate_rho", "publication", "minimum_n", "beta_rows", "risk_of_bias",
            "correction", "outliers", "method", "test", "prior", "k", "estimate", "ci_lower", "ci_upper", "p",
            "tau2")
RESULT_COLUMNS = ("k", "estimate", "ci_lower", "ci_upper", "p", "tau2", "se", "significant",
                  "k_effect_sizes", "outliers_removed", "note")
CORRECTION_COLUMNS = ("artifact_defaults", "artifact_missing")
"""Result columns of a multiverse with the ``correction`` choice: effect sizes of the specification
whose reliability came from the config's defaults, and effect sizes without a reliability that
other rows give (left out, or imputed, as ``psychometric.missing_artifacts`` says); empty under ``none``."""
#: a fit's iteration control (am.fit(..., control=)) goes into its univariate specifications and outlier rules
#: (run_batch's ``control``); the three-level (CHE) model has its own optimiser, which it does not set
OWN_CONTROL_NOTE = ("the fit's iteration control sets the univariate specifications only: the three-level ones are "
                    "fitted by rma.mv's own optimiser, as am.fit(dependence='multilevel') is")
DEFAULTS = {
    "methods": ["common", "DL", "REML", "PM"], "tests": ["z", "knha"], "aggregate_methods": ["gls", "mean"],
    "aggregate_rhos": [0.5], "outliers": list(OUTLIER_RULES), "subsets": None, "publication": [ALL, "published"],
    "minimum_n": [0], "beta_rows": [INCLUDE], "risk_of_bias": [ALL], "correction": [NO_CORRECTION],
    "priors": [{"family": "half_normal", "scale": 0.5}], "minimum_k": 2,
}


def prior_label(spec: dict | str) -> str:
    """The text of a prior in the ``prior`` column, e.g. ``half_normal(0.5)``; it is parsed back
    by :func:`parse_prior`, so a specification row alone says what was fitted."""
    if isinstance(spec, str) or spec.get("family") in EMPIRICAL_PRIORS:
        return spec if isinstance(spec, str) else spec["family"]
    family = spec.get("family", "half_normal")
    names = ("scale",) if family in ("half_normal", "half_cauchy") else ("mu", "sigma", "df")
    values = [repr(float(spec[name])) for name in names if spec.get(name) is not None]
    return f"{family}({', '.join(values)})"


def parse_prior(label: str, metric: str | None = None):
    """The :class:`~alliance_meta.bayes.TauPrior` of a ``prior`` label (empirical priors rescaled to ``metric``)."""
    if label in EMPIRICAL_PRIORS:
        return TauPrior.from_config(label, metric)
    match = re.fullmatch(r"(\w+)\(([^)]*)\)", label)
    if match is None:
        raise ValueError(f"cannot read the prior {label!r}")
    family, values = match[1], [float(v) for v in match[2].split(",")]
    if family in ("half_normal", "half_cauchy"):
        return TauPrior(family, scale=values[0])
    return TauPrior(family, None, *values)


def subset_levels(effect_sizes: pd.DataFrame, moderator: str, rob_tool=None) -> list[str]:
    """``all`` and the moderator's levels in the rows, in the order subgroups.csv and the subgroup forest plots
    list them (:func:`~alliance_meta.analyses.moderators.univariate.display_order`: a coded column's vocabulary,
    a ``rob_*`` column's judgements best first, ``rob_tool`` as :func:`row_mask`); only ``all`` when the column
    is absent."""
    if moderator not in effect_sizes.columns:
        return [ALL]
    levels = sorted(effect_sizes[moderator].dropna().astype(str).unique())
    return [ALL] + [levels[i] for i in display_order(moderator, levels, rob_tool)]


def has_beta_rows(effect_sizes: pd.DataFrame) -> bool:
    """Whether any effect size was converted from a standardized regression coefficient."""
    return "input_kind" in effect_sizes and bool((effect_sizes["input_kind"] == BETA_KIND).any())


@dataclass(frozen=True)
class Corrections:
    """The effect sizes of a family of correlations prepared for the ``individual`` choice.

    ``frame`` (one row per effect size, in the order of the family's rows): ``r`` = tanh(yi),
    ``n``, ``rxx``, ``ryy``, ``ux`` (config defaults and ``missing_artifacts`` applied),
    ``default`` (a corrected reliability came from the config), ``missing`` (the row gives no
    reliability that other rows give, even with the defaults), ``usable`` (the row can be
    corrected). ``corrected``: the reliabilities corrected for.
    """

    frame: pd.DataFrame
    corrected: tuple[str, ...]
    options: psychometric.PsychometricOptions


#: how :func:`no_correction_reason` names the default reliabilities: config keys (the workflow's log), and
#: :data:`API_WORDING` the argument of ``am.multiverse`` that stands for them (``inputs.sheet.worded``)
CONFIG_RELIABILITIES = "nor do psychometric.reliability and psychometric.outcome_reliability in the config"
API_WORDING = {CONFIG_RELIABILITIES: 'nor does psychometric= give a "reliability" or an "outcome_reliability"'}
#: the keys of the config's ``psychometric`` section that the ``individual`` correction reads (:func:`corrected_rows`):
#: the default reliabilities and the options of the corrected correlations and their variances; the others (e.g.
#: ``intervals``, ``credibility_level``, ``decimals``) are psychometric.csv's pooling and reporting only
CORRECTION_KEYS = ("reliability", "outcome_reliability", "correction_method", "correct_bias", "missing_artifacts")


def corrected_rows(effect_sizes: pd.DataFrame, settings: dict | None = None) -> Corrections | None:
    """What the ``individual`` choice needs, or None where it does not apply (rows that are not
    correlations, i.e. metric other than ``z``, or no reliability in any row or the config).

    ``settings`` is the config's ``psychometric`` section, read as the psychometric analysis
    reads it: rows without ``rxx`` get the default for their ``measure``
    (``psychometric.reliability``), rows without ``ryy`` ``psychometric.outcome_reliability``
    (:func:`psychometric.fill_reliabilities`); a reliability no row gives is not corrected for
    (:func:`psychometric.reported_reliabilities`); rows still without one are left out
    (``missing_artifacts: drop``) or get the n-weighted mean of the family's rows (``mean``) or 1
    (``unity``) (:func:`psychometric.impute_missing`, over the whole family, as
    ``psychometric_moderators.csv`` does). Rows without n are left out. Only the keys of
    :data:`CORRECTION_KEYS` are read.
    """
    if "metric" not in effect_sizes or not effect_sizes["metric"].eq("z").all() or effect_sizes.empty:
        return None
    settings = {key: value for key, value in (settings or {}).items() if key in CORRECTION_KEYS}
    rows = effect_sizes.reset_index(drop=True)
    given = pd.DataFrame({c: pd.to_numeric(rows[c], errors="coerce") if c in rows else np.nan
                          for c in psychometric.ARTIFACTS}, index=rows.index)
    data = pd.DataFrame({"r": np.tanh(pd.to_numeric(rows["yi"], errors="coerce")),
                         "n": pd.to_numeric(rows["n"], errors="coerce") if "n" in rows else np.nan,
                         "measure": rows.get("measure", np.nan), **given})
    filled = psychometric.fill_reliabilities(data, settings.get("reliability"), settings.get("outcome_reliability"))
    corrected = psychometric.reported_reliabilities(filled)
    if not corrected:
        return None
    options = psychometric.PsychometricOptions.from_config(settings)
    valid = (np.isfinite(filled["r"]) & (filled["n"] > 1)).to_numpy()
    imputed = filled.copy()
    imputed.loc[valid] = psychometric.impute_missing(filled.loc[valid], options.missing_artifacts, corrected)
    columns = list(corrected)
    frame = imputed[["r", "n", *psychometric.ARTIFACTS]].assign(
        default=(given[columns].isna() & filled[columns].notna()).any(axis=1),
        missing=filled[columns].isna().any(axis=1),
        usable=valid & imputed[columns].notna().all(axis=1).to_numpy())
    return Corrections(frame, corrected, options)


def no_correction_reason(effect_sizes: pd.DataFrame) -> str:
    """Why :func:`corrected_rows` gives no ``individual`` choice for these rows, in words for the log (naming config
    keys; ``am.multiverse``'s note words them as its arguments, :data:`API_WORDING`)."""
    if effect_sizes.empty:
        return "the family has no effect sizes"
    if "metric" not in effect_sizes:  # a fit of yi and vi alone (the workflow's rows always say their metric)
        return "its rows are yi and vi alone: the correction needs the correlations of am.effect_sizes (r, n)"
    if not effect_sizes["metric"].eq("z").all():
        metrics = ", ".join(sorted(effect_sizes["metric"].dropna().astype(str).unique()))
        return f"its effect sizes are not correlations (metric {metrics}), and only correlations are corrected"
    return f"no row gives a reliability (rxx, ryy), {CONFIG_RELIABILITIES}"


def _correct(effect_sizes: pd.DataFrame, mask: np.ndarray, corrections: Corrections) -> tuple[pd.DataFrame, dict]:
    """The rows of ``mask`` individually corrected (:func:`psychometric.individual_correction`):
    ``yi`` = corrected r, ``vi`` = its corrected sampling-error variance, with the artifact counts and a note."""
    frame = corrections.frame
    keep = mask & frame["usable"].to_numpy()
    used = frame.loc[keep]
    rxx, ryy = (used[c] if c in corrections.corrected else None for c in psychometric.RELIABILITIES)
    result = psychometric.individual_correction(used["r"], used["n"], rxx, ryy, used["ux"], corrections.options)
    rows = pd.DataFrame({"study_id": effect_sizes.loc[keep, "study_id"].to_numpy(),
                         "yi": result.studies["r_corrected"].to_numpy(float),
                         "vi": result.studies["var_e_c"].to_numpy(float)})
    defaults, missing = (int((mask & frame[c].to_numpy()).sum()) for c in ("default", "missing"))
    method = str(result.studies["correction"].iloc[0]) if len(used) else corrections.options.correction_method
    notes = [(f"corrected for {psychometric.CORRECTION_NAMES.get(method, method)}, pooled on the r scale "
              "(estimate and interval as Fisher z, se and tau2 of r)")]
    if defaults:
        notes.append(f"{defaults} effect sizes with a default reliability from the config")
    if missing:
        what = {"drop": "left out", "mean": "given the n-weighted mean", "unity": "not corrected (reliability 1)"}
        notes.append(f"{missing} effect sizes without {' or '.join(corrections.corrected)} "
                     f"{what[corrections.options.missing_artifacts]}")
    no_n = int((mask & ~frame["missing"].to_numpy() & ~(frame["n"] > 1).to_numpy()).sum())
    if no_n:
        notes.append(f"{no_n} effect sizes without n left out")
    # the psychometric analysis's own definition and words: |corrected r| >= 1 or not defined, by study
    # what became of them: one not defined is left out of the pooling, one beyond 1 pooled as it is
    undefined, beyond = bool(rows["yi"].isna().any()), bool((rows["yi"].abs() >= 1).any())
    pooled = "pooled as they are unless the outlier rule removes them"
    consequence = (pooled if not undefined else "left out" if not beyond else
                   f"those not defined left out, the others {pooled}")
    outside = psychometric.outside_note(result.studies.assign(study_id=rows["study_id"].to_numpy()), "study_id",
                                        consequence)
    if outside:
        notes.append(outside)
    return rows, {"artifact_defaults": defaults, "artifact_missing": missing, "note": "; ".join(notes)}


def has_risk_of_bias(effect_sizes: pd.DataFrame) -> bool:
    """Whether the rows carry overall risk-of-bias judgements (``rob_overall``)."""
    return "rob_overall" in effect_sizes and bool(effect_sizes["rob_overall"].notna().any())


def _row_filters(effect_sizes: pd.DataFrame, moderators: list[str], publication, minimum_n,
                 beta_rows=None, risk_of_bias=None, rob_tool=None) -> pd.DataFrame:
    """Every combination of the row filters (subsets, publication, minimum n and, when given, the
    beta rows and the risk-of-bias choice) with its number of studies."""
    options = [subset_levels(effect_sizes, m, rob_tool) for m in moderators] + [list(publication), list(minimum_n)]
    names = moderators + ["publication", "minimum_n"]
    if beta_rows is not None:
        options.append(list(beta_rows))
        names.append("beta_rows")
    if risk_of_bias is not None:
        options.append(list(risk_of_bias))
        names.append("risk_of_bias")
    combos = pd.DataFrame(list(itertools.product(*options)), columns=names)
    combos["k_studies"] = [effect_sizes.loc[row_mask(effect_sizes, dict(zip(combos.columns, row)), rob_tool),
                                            "study_id"]
                           .nunique() for row in combos.itertuples(index=False)]
    return combos


def row_mask(effect_sizes: pd.DataFrame, choices: dict, rob_tool=None) -> np.ndarray:
    """The rows kept by a specification's subset, publication, beta-rows, risk-of-bias and minimum-n
    choices (``exclude_high`` keeps rows without a judgement; ``low_only`` does not). ``rob_tool``: the
    config's ``risk_of_bias`` block, for a custom tool's levels (None: high, serious, critical; low)."""
    mask = np.ones(len(effect_sizes), dtype=bool)
    for column, option in choices.items():
        if column in ("publication", "minimum_n", "k_studies") or option == ALL or column in RESERVED:
            continue
        mask &= (effect_sizes[column].astype(str) == str(option)).to_numpy()
    if choices.get("publication", ALL) == "published":
        mask &= (effect_sizes["published"].astype(str) == "yes").to_numpy() if "published" in effect_sizes else False
    if choices.get("beta_rows", INCLUDE) == EXCLUDE and "input_kind" in effect_sizes:
        mask &= (effect_sizes["input_kind"] != BETA_KIND).to_numpy()
    rob = choices.get("risk_of_bias", ALL)
    if rob != ALL:
        overall = effect_sizes["rob_overall"] if "rob_overall" in effect_sizes else pd.Series(index=effect_sizes.index)
        tool = tool_from_config(rob_tool) if rob_tool else None
        high, low = (high_risk_levels(tool), tool.levels[0]) if tool else (HIGH_JUDGEMENTS, "low")
        mask &= (~overall.isin(high) if rob == "exclude_high" else overall == low).to_numpy()
    minimum_n = float(choices.get("minimum_n", 0) or 0)
    if minimum_n > 0:
        mask &= (pd.to_numeric(effect_sizes["n"], errors="coerce") >= minimum_n).fillna(False).to_numpy()
    return mask


def no_specification_note(config: dict, api: bool = False) -> str:
    """Why the ``multiverse`` section lists no specification at all (``""`` when it lists some): a frequentist one
    needs ``methods`` and ``tests``, a Bayesian one ``priors``; empty lists are how a review leaves the multiverse
    out (multiverse.csv is then empty and its figure says so), which the log says instead of 0 silently. With
    ``aggregate_methods`` [multilevel] alone the pairings of :func:`specifications` leave only REML and ML of
    ``methods`` and no prior (no exact posterior of a three-level model), so non-empty lists can give none too.
    ``api``: worded for ``am.multiverse(fit, settings)``, the keys as ``settings["methods"]``, no multiverse.csv."""
    settings = {**DEFAULTS, **{key: value for key, value in config.items() if value is not None}}
    composites = [method for method in settings["aggregate_methods"] if method != MULTILEVEL]
    methods = [method for method in settings["methods"] if composites or method in MULTILEVEL_METHODS]
    if (methods and settings["tests"]) or (settings["priors"] and composites):
        return ""

    def named(key: str) -> str:
        return f'settings["{key}"]' if api else f"multiverse.{key}"

    empty = [named(key) for key in ("methods", "tests", "priors") if not settings[key]]
    reasons = [f"{' and '.join(empty)} {'is' if len(empty) == 1 else 'are'} empty"] * bool(empty)
    three_level = [text for applies, text in (
        (settings["methods"] and settings["tests"], f"need REML or ML in {named('methods')} (it has neither)"),
        (settings["priors"], "take no prior (there is no Bayesian three-level model)")) if applies and not composites]
    if three_level:
        reasons.append(f"{named('aggregate_methods')} is [{MULTILEVEL}] alone, whose three-level specifications "
                       + " and ".join(three_level))
    needs = ("Bayesian ones priors" if composites else
             "three-level ones REML or ML, Bayesian ones priors and a study composite (gls, mean) in aggregate_methods")
    return (f"{'; '.join(reasons)}: the multiverse has no specification (frequentist ones need methods and tests, "
            f"{needs})" + ("" if api else ", so multiverse.csv is empty"))


def empty_note(config: dict, table: pd.DataFrame, effect_sizes: pd.DataFrame, api: bool = False) -> str:
    """Why :func:`specifications` gave no specification (``table``) of ``effect_sizes``: the config's lists leave the
    multiverse out (:func:`no_specification_note`); every subset has fewer than ``minimum_k`` studies; the outlier
    choices listed (without ``none``) need 3 studies and every subset has fewer; or only Bayesian specifications are
    listed and alliance_meta.bayes is not installed (the workflow's log says that apart: ``""`` there).
    ``api``: worded for ``am.multiverse(fit, settings)``."""
    note = no_specification_note(config, api=api)
    settings = {**DEFAULTS, **{key: value for key, value in config.items() if value is not None}}
    if note:
        return note
    if exact_posterior is None and not (settings["methods"] and settings["tests"]):
        return ("no specification: only Bayesian specifications are listed, and alliance_meta.bayes is not "
                "installed (pip install alliance-meta[bayes])") if api else ""
    why = table.attrs.get("empty")
    if why == "outliers":
        text = (f"no specification: the outlier choices listed ({', '.join(map(str, settings['outliers']))}) need at "
                f"least 3 studies, and every subset has fewer")
    elif why == "minimum_k":
        text = f"no specification: every subset has fewer than {'' if api else 'multiverse.'}minimum_k = " \
               f"{int(settings['minimum_k'])} studies"
    else:  # a three-level aggregation without REML or ML: its note says so
        text = "no specification: the choices listed combine to none that can be fitted"
    studies = effect_sizes["study_id"].nunique() if "study_id" in effect_sizes else len(effect_sizes)
    return text if api else f"{text} ({counted(studies, 'study', 'studies')} in this family), so multiverse.csv is empty"


def unplotted_reason(table: pd.DataFrame, api: bool = False) -> str:
    """What the specification curve's figure says in place of the curve, ``""`` when a specification of ``table``
    (multiverse.csv) was fitted: it has none (the config lists none, :func:`no_specification_note`, or the family has
    fewer studies than multiverse.minimum_k), or none could be fitted. ``api``: the keys as
    ``am.multiverse(fit, settings)`` names them, not as the config's multiverse section does."""
    if table.empty:
        where = "the settings' " if api else "multiverse."
        return f"No specification (see {where}methods, tests, priors, aggregate_methods and minimum_k)"
    return "" if table["estimate"].notna().any() else "No specification could be fitted (too few studies)"


def specifications(config: dict, effect_sizes: pd.DataFrame) -> pd.DataFrame:
    """All possible specifications: one column per choice, one row per specification.

    ``config`` is the ``multiverse`` section (keys of ``DEFAULTS``; ``subsets`` None means
    ``moderators``, also read from ``config``; an empty list means no subsets). The data are needed for the subset levels and
    to drop subsets with fewer than ``minimum_k`` studies.
    """
    settings = {**DEFAULTS, **{key: value for key, value in config.items() if value is not None}}
    subsets = settings.get("subsets")
    moderators = list(settings.get("moderators") or []) if subsets is None else list(subsets)
    clash = set(moderators) & set(RESERVED)
    if clash:
        raise ValueError(f"subset moderators may not be named {sorted(clash)}")
    bayes = exact_posterior is not None and len(settings["priors"]) > 0
    beta_rows = list(settings["beta_rows"]) if has_beta_rows(effect_sizes) and len(settings["beta_rows"]) > 1 else None
    rob = list(settings["risk_of_bias"]) if has_risk_of_bias(effect_sizes) and settings["risk_of_bias"] != [ALL] \
        else None
    minimum_n, aggregate_methods, aggregate_rhos, notes = _distinct_choices(effect_sizes, settings)
    rob_tool = settings.get("risk_of_bias_tool")
    filters = _row_filters(effect_sizes, moderators, settings["publication"], minimum_n, beta_rows, rob, rob_tool)
    corrections = correction_options(settings, effect_sizes)
    if corrections is not None:
        filters = filters.merge(pd.DataFrame({"correction": corrections[0]}), how="cross")
        usable = corrections[1].frame["usable"].to_numpy()
        for index in filters.index[filters["correction"] == INDIVIDUAL]:
            mask = row_mask(effect_sizes, filters.loc[index].to_dict(), rob_tool) & usable
            filters.loc[index, "k_studies"] = effect_sizes.loc[mask, "study_id"].nunique()
    filters = filters.loc[filters["k_studies"] >= int(settings["minimum_k"])]
    dependence = pd.DataFrame(list(itertools.product(aggregate_methods, aggregate_rhos)),
                              columns=["aggregate_method", "aggregate_rho"])
    model = pd.DataFrame(list(itertools.product(
        list(settings["methods"]) + [BAYES] * bayes, list(settings["tests"]) + [POSTERIOR] * bayes,
        [NO_PRIOR] + [prior_label(p) for p in settings["priors"]] * bayes)), columns=["method", "test", "prior"])
    bayesian = model[["method", "test", "prior"]].eq([BAYES, POSTERIOR, NO_PRIOR])
    model = model.loc[(bayesian["method"] == bayesian["test"]) & (bayesian["method"] != bayesian["prior"])]
    outliers = pd.DataFrame({"outliers": list(settings["outliers"])})
    table = dependence.merge(filters, how="cross").merge(outliers, how="cross")
    table = table.loc[(table["outliers"] == "none") | (table["k_studies"] >= 3)].drop(columns="k_studies")
    empty = "minimum_k" if filters.empty else "outliers" if table.empty and len(outliers) else ""  # (empty_note)
    table = table.merge(model, how="cross")
    three_level = table["aggregate_method"] == MULTILEVEL
    if three_level.any():  # rma.mv: REML or ML, z or t; no exact posterior of a three-level model here
        table = table.loc[~three_level | (table["method"].isin(MULTILEVEL_METHODS)
                                          & table["test"].isin(list(MULTILEVEL_TESTS)))]
        if not table["aggregate_method"].eq(MULTILEVEL).any():
            notes.append(f"aggregate_methods {MULTILEVEL}: no specification, as methods has neither REML nor ML")
    columns = ["aggregate_method", "aggregate_rho", *moderators, "publication", "minimum_n",
               *(["beta_rows"] if beta_rows is not None else []), *(["risk_of_bias"] if rob is not None else []),
               *(["correction"] if corrections is not None else []),
               "outliers", "method", "test", "prior"]
    table = table[columns].reset_index(drop=True)
    table.attrs["notes"] = notes
    if table.empty:
        table.attrs["empty"] = empty
    return table


def _distinct_choices(effect_sizes: pd.DataFrame, settings: dict) -> tuple[list, list, list, list[str]]:
    """The ``minimum_n``, ``aggregate_methods`` and ``aggregate_rhos`` options that give different data, with a
    note for each option left out: a minimum n that every row with an n reaches keeps the same rows as the
    smaller one before it (rows without n aside), and when no study has two effect sizes every way of
    combining them gives the same composites (the first composite is kept, as multilevel pairs with fewer methods). (Counting such options made specifications that cannot
    differ: 8,856 for dat.molloy2014, of which 1,107 distinct.)"""
    notes: list[str] = []
    n = pd.to_numeric(effect_sizes["n"], errors="coerce") if "n" in effect_sizes else pd.Series(np.nan, effect_sizes.index)
    kept, masks = [], []
    for value in settings["minimum_n"]:
        mask = row_mask(effect_sizes.assign(n=n), {"minimum_n": value})
        same = next((k for k, m in zip(kept, masks) if np.array_equal(m, mask)), None)
        if same is None:
            kept.append(value)
            masks.append(mask)
        else:
            notes.append(f"minimum_n {value} left out: it keeps the same rows as minimum_n {same}")
    methods, rhos = list(settings["aggregate_methods"]), list(settings["aggregate_rhos"])
    if len(effect_sizes) and not effect_sizes["study_id"].duplicated().any() and len(methods) * len(rhos) > 1:
        # a composite rather than multilevel, which pairs with REML and ML only and with no prior
        kept_method = next((method for method in methods if method != MULTILEVEL), methods[0])
        notes.append(f"every study has one effect size: aggregate_methods and aggregate_rhos give the same data, "
                     f"so only {kept_method} with rho {rhos[0]} is specified"
                     + (f" ({MULTILEVEL} would take REML and ML alone and no prior)"
                        if kept_method != methods[0] else ""))
        methods, rhos = [kept_method], rhos[:1]
    return kept, methods, rhos, notes


def correction_options(settings: dict, effect_sizes: pd.DataFrame) -> tuple[list[str], Corrections] | None:
    """The options of the ``correction`` choice and the prepared rows, or None when there is no
    such choice: only ``none`` asked for, or the family is not one of correlations with reliabilities."""
    options = list(settings.get("correction") or [NO_CORRECTION])
    unknown = set(options) - set(CORRECTIONS)
    if unknown:
        raise ValueError(f"correction options must be among {CORRECTIONS}, not {sorted(unknown)}")
    if INDIVIDUAL not in options:
        return None
    corrections = corrected_rows(effect_sizes, settings.get("psychometric"))
    return None if corrections is None else (options, corrections)


def data_columns(specs: pd.DataFrame) -> list[str]:
    """The choices about the data (everything before ``method``)."""
    columns = list(specs.columns)
    return columns[: columns.index("method")]


def _data_set(effect_sizes, choices: dict, corrections: Corrections | None = None, rob_tool=None):
    """Aggregated (yi, vi, number of effect sizes) of one data choice, before outlier removal, the
    artifact columns and note of an ``individual`` correction (empty otherwise), for the
    ``multilevel`` choice the rows themselves (study number, yi, vi; None otherwise): the three-level
    model is fitted to them, and outliers are detected, and studies counted, on their GLS composites;
    and the study_id of each composite (as text)."""
    mask = row_mask(effect_sizes, choices, rob_tool)
    extra = {}
    if choices.get("correction", NO_CORRECTION) == INDIVIDUAL:
        if corrections is None:
            raise ValueError("the individual correction needs correlations (metric z) with reliabilities")
        rows, extra = _correct(effect_sizes, mask, corrections)
        study_id, yi, vi = (rows[column].to_numpy() for column in ("study_id", "yi", "vi"))
    else:
        study_id, yi, vi = (effect_sizes[column].to_numpy()[mask] for column in ("study_id", "yi", "vi"))
    three_level = choices["aggregate_method"] == MULTILEVEL
    rows = (pd.factorize(study_id, sort=False)[0], yi, vi) if three_level else None  # studies numbered as composites
    studies = pd.unique(np.asarray(study_id)[~(np.isnan(yi) | np.isnan(vi))]).astype(str)  # as composite_effects
    yi, vi, counts = composite_effects(study_id, yi, vi, "gls" if three_level else choices["aggregate_method"],
                                       float(choices["aggregate_rho"]))
    return yi, vi, counts, extra, rows, studies


def _input_key(*arrays) -> tuple:
    """A memo key of arrays (None allowed): each one's dtype, shape and bytes, so that two keys are equal only for
    bit-identical inputs (0.0 and -0.0, or two NaNs of other payloads, are other keys: fitted again, never wrongly
    shared). Numeric arrays only: an object array's bytes are addresses, which a later object may reuse."""
    if any(a is not None and a.dtype.hasobject for a in arrays):
        raise TypeError("_input_key takes numeric arrays (study numbers, not study ids)")
    return tuple(None if a is None else (a.dtype.str, a.shape, a.tobytes()) for a in arrays)


def _outliers(yi, vi, rule: str, threshold: float, method: str, level: float, memo: dict, weights=None,
              control: Control | None = None) -> np.ndarray:
    """Boolean mask of the studies that ``rule`` removes (``weights``: a GENQ ``method``'s, ``control``: the fit's).
    The influence diagnostics are computed once per distinct (yi, vi, weights) of a batch, whose ``method``,
    ``level`` and ``control`` are the same throughout: ``memo`` is keyed on their bytes (:func:`_input_key`)."""
    if rule == "none":
        return np.zeros(yi.size, dtype=bool)
    if rule not in OUTLIER_RULES:
        raise ValueError(f"unknown outlier rule {rule!r}; expected one of {OUTLIER_RULES}")
    key = _input_key(yi, vi, weights)
    if key not in memo:
        memo[key] = influence(yi, vi, method, test="z", level=level, weights=weights, control=control)
    result = memo[key]
    return np.abs(result.rstudent) > threshold if rule == "rstudent" else np.asarray(result.influential, bool)


def fit_three_level(study, yi, vi, method: str, test: str, rho: float, level: float = 95) -> dict:
    """estimate, ci_lower, ci_upper, p, tau2 (sigma2 between + within), se and note of the three-level (CHE) model
    of rows ``yi``, ``vi`` of studies ``study`` (:func:`alliance_meta.models.multilevel.fit_prepared`; ``test`` z
    or knha, read as rma.mv's t)."""
    from alliance_meta.models import multilevel
    from alliance_meta.models.fits import multilevel_inference

    result = multilevel.fit_prepared(multilevel.prepare(yi, vi, study, rho=rho), method=method, level=level,
                                     profile=False, likelihood_ratio=False)
    estimate = float(result.beta[0])
    se, df = multilevel_inference(result, MULTILEVEL_TESTS[test])
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic, alpha = float(np.divide(estimate, se)), 1 - level / 100
    reference = dist.norm if math.isinf(df) else None
    critical = reference.isf(alpha / 2) if reference else dist.t.isf(alpha / 2, df)
    p = float(2 * (reference.sf(abs(statistic)) if reference else dist.t.sf(abs(statistic), df)))
    model = "three-level model" + (", rma.mv's t test" if test == "knha" else "")
    note = "; ".join(filter(None, (model, result.note, "" if result.converged else "did not converge")))
    return {"estimate": estimate, "ci_lower": estimate - critical * se, "ci_upper": estimate + critical * se, "p": p,
            "tau2": float(np.sum(result.sigma2)), "se": se, "note": note}


def fit_specification(yi, vi, method: str, test: str, prior: str, level: float = 95, mu_sd: float = 1.0,
                      metric: str | None = None, weights=None, control: Control | None = None) -> dict:
    """estimate, ci_lower, ci_upper, p, tau2, se and note of one model on one data set.

    Frequentist: :func:`pooling.fit` (no tau^2 interval; ``weights``: GENQ's, ``control``: the iteration
    control, None for metafor's defaults). Bayesian: the exact posterior of
    mu (Röver 2020): its mean, equal-tailed credible interval and SD, the posterior mean of
    tau^2, ``p`` missing (a posterior has no p-value) and, with a ``metric``, the centres of the
    back-transformed scales as bayes.csv gives them (:data:`CENTRES`; r: the posterior mean of r).
    """
    if method != BAYES:
        fit = pooling.fit(yi, vi, method, test, level, weights=weights, control=control, tau2_interval=False,
                          validate=False)
        return {"estimate": fit.estimate, "ci_lower": fit.ci_lower, "ci_upper": fit.ci_upper, "p": fit.p,
                "tau2": fit.tau2, "se": fit.se, "note": fit.note}
    posterior = exact_posterior(yi, vi, parse_prior(prior, metric), mu_sd)
    mu = posterior.coefficient(0)
    tail = (1 - level / 100) / 2
    lower, upper = (mixture_quantile(mu, probability) for probability in (tail, 1 - tail))
    centres = {} if metric is None else {CENTRES: reported_centres(mu, metric, lambda p: mixture_quantile(mu, p))}
    return {"estimate": mu.mean(), "ci_lower": float(lower), "ci_upper": float(upper), "p": math.nan,
            "tau2": float(posterior.weights @ posterior.tau**2), "se": mu.sd(), "note": "", **centres}


def mixture_quantile(mixture, probability: float) -> float:
    """Quantile of a normal mixture by Brent's method on its CDF (about 40 CDF evaluations,
    instead of a CDF table on a 1,001-point grid); within 1e-12 of the root."""
    from scipy import optimize  # here, not at module level: jobs that never need it start faster

    centre, spread = mixture.mean(), mixture.sd()
    lower, upper = centre - 40 * spread, centre + 40 * spread
    return float(optimize.brentq(lambda x: mixture.cdf(x)[0] - probability, lower, upper, xtol=1e-13, rtol=1e-13))


def run_batch(specs: pd.DataFrame, effect_sizes: pd.DataFrame, metric: str | None = None, level: float = 95,
              mu_sd: float = 1.0, outlier_threshold: float = 2.0, detection_method: str = "REML",
              progress: Callable[[int, int], None] | None = None, progress_every: int = 500,
              psychometric_settings: dict | None = None, knha_adhoc: bool = False,
              rob_tool: dict | None = None, weights: pd.Series | None = None,
              control: Control | None = None) -> pd.DataFrame:
    """Fit every specification of ``specs`` (rows of :func:`specifications`) on ``effect_sizes``.

    Returns the specifications with ``RESULT_COLUMNS`` and back-transformed estimate and
    interval (e.g. ``r``, ``r_ci_lower``, ``r_ci_upper``). ``significant``: the interval
    excludes 0 (for Wald and Knapp-Hartung the same as p below 1 - level/100). A
    specification left with fewer than 2 studies after outlier removal gets missing
    numbers and a note. ``progress(done, total)`` is called every ``progress_every`` rows.

    With a ``correction`` column, :data:`CORRECTION_COLUMNS` follow. An ``individual``
    specification pools the corrected correlations (and their corrected sampling variances) on
    the r scale; its ``estimate``, ``ci_lower`` and ``ci_upper`` are their Fisher z (+-inf
    where the r-scale bound reaches +-1), so that the columns keep the family's metric, and ``r``,
    ``r_ci_lower``, ``r_ci_upper`` are the pooled corrected correlation and its interval
    themselves; ``se`` and ``tau2`` are on the r scale. ``psychometric_settings``: the config's
    ``psychometric`` section (defaults, missing artifacts, corrections; :func:`corrected_rows`).
    ``knha_adhoc``: the ``knha`` specifications of aggregated studies are metafor's ``adhoc`` (as pooled.csv's
    ``knha`` rows under ``pooling.knha_adhoc``, so that the marked specification is the headline's fit); a
    three-level specification's ``knha`` is rma.mv's t either way. ``rob_tool``: the config's ``risk_of_bias``
    block, whose custom levels the ``risk_of_bias`` choice reads (:func:`row_mask`). ``weights``: GENQ weights of
    one's own by study_id (a fit's, :attr:`~alliance_meta.models.fits.UnivariateFit.study_weights`; None: 1/sqrt(vi)),
    which GENQ specifications and a GENQ ``detection_method`` give their studies, as ``fit.refit`` to a subset;
    ``control``: the iteration control of the univariate specifications and the outlier rules (None: metafor's).
    """
    choice_columns = data_columns(specs)
    base_columns = [c for c in choice_columns if c != "outliers"]
    correcting = "correction" in specs.columns
    corrections = corrected_rows(effect_sizes, psychometric_settings) if correcting else None
    extra_columns = [*CORRECTION_COLUMNS, *_RHO_COLUMNS] if correcting else []
    rows, data, data_key, done = [], None, None, 0
    # a fit is a pure function of its inputs, and many specifications fit the same ones (a risk-of-bias choice
    # that leaves out no selected study, an outlier rule that removes none, aggregations of studies with one
    # effect size each: 39-56% of the demo's fits): each distinct input is fitted once per batch, keyed on the
    # bytes of its arrays and the specification's settings (level, mu_sd, metric and control are the call's), so
    # the results are those of fitting it again, bit for bit
    influences, fits = {}, {}
    records = dict(zip(specs.index, specs.itertuples(index=False, name=None)))  # once, not per group
    names = list(specs.columns)
    for key, group in specs.groupby(choice_columns, sort=False, dropna=False):
        choices = dict(zip(choice_columns, key))
        base_key = tuple(choices[c] for c in base_columns)
        if base_key != data_key:  # the table is sorted: one data set in memory at a time
            data, data_key = _data_set(effect_sizes, choices, corrections, rob_tool), base_key
        yi, vi, counts, extra, three_level, studies = data
        own = None if weights is None else weights.reindex(studies).to_numpy(float)  # GENQ's, of these studies
        removed = _outliers(yi, vi, choices["outliers"], outlier_threshold, detection_method, level, influences,
                            own if detection_method == "GENQ" else None, control)
        y, v = yi[~removed], vi[~removed]
        if three_level is not None:  # the rows of the studies kept
            kept_rows = ~removed[three_level[0]]
            study, row_yi, row_vi = (values[kept_rows] for values in three_level)
        # the bytes once per group, shared by its specifications' keys (a large review keeps one copy per data set)
        inputs = _input_key(y, v) if three_level is None else (MULTILEVEL, *_input_key(study, row_yi, row_vi))
        shared = {"k": int(y.size), "k_effect_sizes": int(counts[~removed].sum()), "outliers_removed": int(removed.sum())}
        for position in group.index:
            spec = dict(zip(names, records[position]))
            row = {**spec, **shared, "position": position}
            if y.size >= 2 and three_level is not None:
                rho = float(spec["aggregate_rho"])
                fit_key = (inputs, spec["method"], spec["test"], rho)
                if fit_key not in fits:
                    fits[fit_key] = fit_three_level(study, row_yi, row_vi, spec["method"], spec["test"], rho, level)
                row.update(fits[fit_key])
            elif y.size >= 2:
                test = "adhoc" if knha_adhoc and spec["test"] == "knha" else spec["test"]
                genq = own[~removed] if own is not None and spec["method"] == "GENQ" else None
                fit_key = (inputs, _input_key(genq), spec["method"], test, spec["prior"])
                if fit_key not in fits:
                    fits[fit_key] = fit_specification(y, v, spec["method"], test, spec["prior"], level, mu_sd,
                                                      metric, genq, control)
                row.update(fits[fit_key])
            else:
                row.update(estimate=math.nan, ci_lower=math.nan, ci_upper=math.nan, p=math.nan, tau2=math.nan,
                           se=math.nan, note=f"k = {y.size} after outlier removal: not fitted")
            if correcting:
                row.update(dict.fromkeys(CORRECTION_COLUMNS, math.nan))
            if extra:
                row.update({name: extra[name] for name in CORRECTION_COLUMNS})
                row["note"] = "; ".join(text for text in (extra["note"], row["note"]) if text)
                values = [row[name] for name in ("estimate", "ci_lower", "ci_upper")]
                row.update(zip(_RHO_COLUMNS, values))
                with np.errstate(divide="ignore"):
                    row.update(zip(("estimate", "ci_lower", "ci_upper"), np.arctanh(np.clip(values, -1, 1))))
            rows.append(row)
            done += 1
            if progress is not None and (done % progress_every == 0 or done == len(specs)):
                progress(done, len(specs))
    table = pd.DataFrame(rows, columns=list(specs.columns) + list(RESULT_COLUMNS) + extra_columns
                         + [CENTRES, "position"])
    return _finish(table.sort_values("position", kind="stable").drop(columns="position").reset_index(drop=True), metric)


_RHO_COLUMNS = ("_rho", "_rho_lower", "_rho_upper")  # r-scale results of individual corrections, until _finish
#: a Bayesian specification's centres of the back-transformed scales ({"r": ..., "or": ...}), until _finish: those of
#: bayes.csv (:func:`alliance_meta.bayes.summaries.reported_centres`; the posterior mean of r, not tanh of mu's mean)
CENTRES = "_centres"


def _finish(table: pd.DataFrame, metric: str | None) -> pd.DataFrame:
    table["significant"] = (table["ci_lower"] > 0) | (table["ci_upper"] < 0)
    centres = table.pop(CENTRES)
    if metric is not None:
        transformed = {name: back_transform(table[name].to_numpy(float), metric) for name in ("estimate", "ci_lower", "ci_upper")}
        bayesian = centres.notna().to_numpy()
        for prefix in transformed["estimate"]:  # r, r_ci_lower, r_ci_upper, then or, ...
            for name, values in transformed.items():
                table[prefix if name == "estimate" else f"{prefix}_{name}"] = values[prefix]
            # the interval's limits are quantiles, whose transforms are those of the scale; its centre is not
            table.loc[bayesian, prefix] = [centre[prefix] for centre in centres[bayesian]]
    if _RHO_COLUMNS[0] in table:
        corrected = (table["correction"] == INDIVIDUAL).to_numpy()
        if "r" in table:
            for target, source in zip(("r", "r_ci_lower", "r_ci_upper"), _RHO_COLUMNS):
                table.loc[corrected, target] = table.loc[corrected, source]
        table = table.drop(columns=list(_RHO_COLUMNS))
    return table


def read_specifications(path) -> pd.DataFrame:
    """Read specifications (or a fitted table) with every choice kept as written: levels stay
    text (no "NA" or "none" turned missing), rho and minimum n numbers."""
    header = list(pd.read_csv(path, nrows=0).columns)
    choices = header[: header.index("k")] if "k" in header else header
    table = pd.read_csv(path, dtype={c: str for c in choices}, keep_default_na=False,
                        na_values={c: ["", "nan", "NaN"] for c in header if c not in choices})
    for column in ("aggregate_rho", "minimum_n"):
        if column in table:
            table[column] = pd.to_numeric(table[column])
    return table


def batch_slice(count: int, batch_size: int, batch: int) -> slice:
    """Rows of batch number ``batch`` (0-based) when ``count`` specifications are cut into ``batch_size``."""
    return slice(batch * batch_size, min((batch + 1) * batch_size, count))


def batch_count(count: int, batch_size: int) -> int:
    """Number of batches (at least 1, so an empty multiverse still writes its header)."""
    return max(1, math.ceil(count / batch_size))


def summarise(table: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """``multiverse_summary.csv``: the whole multiverse (``choice = all``), then each option of
    each choice: specifications, fitted, share significant and positive, median and range of
    the estimate (and of its back-transformed equivalents), median k.

    Shares are among fitted specifications; descriptive summaries in the spirit of
    Voracek, Kossmeier & Tran (2019), not a test across the (dependent) specifications. A multiverse of no
    specification (left out by the config, or too few studies) has no row: the report then says why.
    """
    choices = [c for c in table.columns[: list(table.columns).index("k")]]
    prefixes = list(back_transform([0.0], metric)) if metric is not None else []
    if table.empty:
        return pd.DataFrame(columns=["choice", "option", "specifications", "fitted", "share_significant",
                                     "share_positive", "median_k",
                                     *(f"{stat}_{name}" for name in ["estimate", *prefixes]
                                       for stat in ("median", "min", "max"))])
    scopes = [("all", "all", table)] + [(c, option, part) for c in choices
                                        for option, part in table.groupby(c, sort=False, dropna=False)]
    rows = []
    for choice, option, part in scopes:
        fitted = part.loc[part["estimate"].notna()]
        row = {"choice": choice, "option": option, "specifications": len(part), "fitted": len(fitted),
               "share_significant": fitted["significant"].mean() if len(fitted) else math.nan,
               "share_positive": (fitted["estimate"] > 0).mean() if len(fitted) else math.nan,
               "median_k": fitted["k"].median()}
        for name in ["estimate", *prefixes]:
            values = fitted[name]
            row.update({f"median_{name}": values.median(), f"min_{name}": values.min(), f"max_{name}": values.max()})
        rows.append(row)
    return pd.DataFrame(rows)


MULTIVERSE_KEYS = {key: None for key in (*DEFAULTS, "outlier_threshold", "batch_size", "progress_every")}


@dataclass(frozen=True, repr=False, eq=False)
class MultiverseAnalysis:
    """``multiverse.csv`` (``table``: every specification with its result) and ``multiverse_summary.csv``
    (``summary``) of a fit, and the specification curve (:meth:`plot`)."""

    table: pd.DataFrame
    summary: pd.DataFrame
    metric: str | None
    level: float
    main: dict
    notes: tuple[str, ...] = ()
    simulated: bool = False  # the fit's rows are the simulated demo data (the plot says so)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @keywords_checked
    def plot(self, note: str | None = None):
        """The specification curve (:func:`alliance_meta.plots.multiverse.specification_curve`); the fit's own
        specification (its aggregation, estimator, Wald test, all rows) is marked. ``note``: beneath it
        (default: that the rows are simulated, when they are; ``""`` leaves it out)."""
        from alliance_meta.plots.multiverse import specification_curve
        from alliance_meta.plots.provenance import SIMULATED_NOTE, returned_figure
        from alliance_meta.plots.style import message_figure

        if self.metric is None:
            raise ValueError("plot needs the analysis metric for its axis: am.fit(..., metric='z') (or 'smd', "
                             "'log_or', as its yi are)")
        placeholder = unplotted_reason(self.table, api=True)
        figure = (message_figure(placeholder) if placeholder else
                  specification_curve(self.table, self.metric, self.level, self.main))
        return returned_figure(figure, (SIMULATED_NOTE if self.simulated else None) if note is None else note)

    def __repr__(self) -> str:
        notes = f"; {'; '.join(self.notes)}" if self.notes else ""
        return (f"<MultiverseAnalysis: {len(self.table)} specifications, "
                f"{int(self.table['estimate'].notna().sum())} fitted{notes}>")


@settings_alias
@keywords_checked
def multiverse_analysis(fit, settings: dict | None = None, *, mu_sd: float = 1.0, psychometric: dict | None = None,
                        risk_of_bias: dict | None = None,
                        progress: Callable[[int, int], None] | None = None) -> MultiverseAnalysis:
    """Every specification of the multiverse of a fit's rows, fitted (``am.multiverse``).

    ``settings``: the config's ``multiverse`` keys (``methods``, ``tests``, ``aggregate_methods``,
    ``aggregate_rhos``, ``outliers``, ``subsets``: the moderators whose levels are subsets, ...; defaults
    :data:`DEFAULTS`). The fit gives the rows, the metric and level, and the estimator that detects
    outliers; its own specification is the one the plot marks. ``mu_sd``: the prior SD of mu of the
    Bayesian specifications; ``psychometric``: the config's ``psychometric`` section for the ``correction``
    choice; ``risk_of_bias``: the config's ``risk_of_bias`` block, whose levels (a custom tool's) the
    ``risk_of_bias`` choice reads. ``progress(done, total)`` is called every ``progress_every`` (500) specifications.
    """
    from alliance_meta.analyses.results import univariate_model_note
    from alliance_meta.inputs.options import check_options
    from alliance_meta.models.fits import knha_adhoc, require_fit
    from alliance_meta.plots.provenance import is_simulated

    require_fit(fit, "am.multiverse")
    if settings is not None and not isinstance(settings, dict):
        raise TypeError(f"am.multiverse: settings is a dict of the config's multiverse keys, not "
                        f"{type(settings).__name__}")
    check_options("multiverse", settings, MULTIVERSE_KEYS, "am.multiverse")
    check_options("psychometric", psychometric, PSYCHOMETRIC_KEYS, "am.multiverse")
    if isinstance(mu_sd, bool) or not isinstance(mu_sd, (int, float)) or not mu_sd > 0:
        raise ValueError(f"am.multiverse: mu_sd is the prior SD of mu (a number > 0, as bayes.prior.mu_sd), "
                         f"not {mu_sd!r}")
    if progress is not None and not callable(progress):
        raise TypeError(f"am.multiverse: progress is a function progress(done, total) or None, not {progress!r}")
    settings = dict(settings or {})
    fit.moderator_columns(settings.get("subsets") or [], "am.multiverse: subset moderator")
    tool = {"risk_of_bias_tool": risk_of_bias} if risk_of_bias else {}
    specs = specifications({**settings, "moderators": [], "psychometric": psychometric, **tool}, fit.effect_sizes)
    table = run_batch(specs, fit.effect_sizes, fit.metric, fit.level, mu_sd, settings.get("outlier_threshold", 2.0),
                      fit.method, progress, settings.get("progress_every", 500), psychometric,
                      knha_adhoc=knha_adhoc(fit), rob_tool=risk_of_bias, weights=getattr(fit, "study_weights", None),
                      control=fit.control)
    main = {"aggregate_method": fit.aggregate_method, "aggregate_rho": fit.rho, "method": fit.method}
    if fit.test in MAIN_TESTS:  # the fit's test (a cr2 fit's: no specification has it, the Wald z one is marked)
        main["test"] = MAIN_TESTS[fit.test]
    if fit.dependence == MULTILEVEL and MULTILEVEL in specs["aggregate_method"].values:  # the fit is a specification
        main["aggregate_method"], three_level = MULTILEVEL, ()
    else:
        three_level = tuple(f"{note}; the specification the plot marks is its aggregated model with the same "
                            "estimator (aggregate_methods: [..., multilevel] adds three-level specifications)"
                            for note in univariate_model_note(fit, "am.multiverse"))
    own_control = (OWN_CONTROL_NOTE,) if fit.control is not None and MULTILEVEL in specs["aggregate_method"].values \
        else ()
    empty = tuple(filter(None, [empty_note(settings, specs, fit.effect_sizes, api=True)])) if specs.empty else ()
    uncorrected = (f"correction: individual is not a choice of these effect sizes: "
                   f"{worded(no_correction_reason(fit.effect_sizes), API_WORDING)}",
                   ) if INDIVIDUAL in (settings.get("correction") or []) and "correction" not in specs else ()
    return MultiverseAnalysis(table, summarise(table, fit.metric), fit.metric, fit.level, main,
                              three_level + own_control + uncorrected + empty, is_simulated(fit.effect_sizes))
