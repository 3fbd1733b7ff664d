"""APA-style results and methods paragraphs generated from the pipeline's numbers.

Wording follows APA (2020, sec. 6.40-6.46): statistic, degrees of freedom, value,
exact p to three decimals; intervals in brackets with their level.
"""

from __future__ import annotations

import math

import pandas as pd

from alliance_meta.report.effects import display
from alliance_meta.models.fits import main_row
from alliance_meta.report.formatting import apa_integer, apa_number, apa_p_clause
from alliance_meta.report.psychometric import psychometric_sentence

FAMILY_PHRASES = {
    "outcome": "The alliance\u2013outcome association",
    "dropout": "The alliance\u2013dropout association",
}
DIRECTION_NOTES = {
    "outcome": "",
    "dropout": " (positive values: a stronger alliance among patients who stayed in treatment)",
}
METRIC_NAMES = {"z": "Fisher's z", "smd": "Hedges' g", "log_or": "the log odds ratio"}
TEST_NAMES = {"z": "Wald-type z tests", "knha": "the Knapp\u2013Hartung adjustment", "adhoc": "Knapp\u2013Hartung (ad hoc)"}


def pooled_sentence(family: str, metric: str, row: pd.Series | None, counts: dict, level: float = 95) -> str:
    """``The alliance-outcome association was r = .28, 95% CI [.25, .30], k = ... ; tau^2 ..., I^2 ...; PI``."""
    subject = FAMILY_PHRASES.get(family, f"The {family} association")
    if row is None or not math.isfinite(float(row["estimate"])):
        return f"{subject} could not be estimated: the sheet holds no usable effect sizes of this family."
    show = display(metric)
    n_text = f"N = {apa_integer(counts.get('n', math.nan))}"
    if counts.get("studies_without_n"):
        n_text += f" (n unknown for {counts['studies_without_n']} studies)"
    multilevel = math.isfinite(float(row.get("sigma2_between", math.nan)))
    studies = row["n_studies"] if multilevel else row["k"]
    if multilevel and row["k"] == 1:  # one effect size: both sigma2 fixed at 0 (single-level factors)
        heterogeneity = ("three-level model with one effect size, \u03c3\u00b2 between and within studies fixed "
                         "at 0 (not estimable)")
    elif multilevel and row["n_studies"] == 1:  # one study: sigma2_between fixed at 0 (a single-level factor)
        heterogeneity = (f"three-level model with one study, \u03c3\u00b2 between studies fixed at 0 (not "
                         f"estimable) and within the study = {apa_number(row['sigma2_within'], 3)} "
                         f"({METRIC_NAMES[metric]}), I\u00b2 = {apa_number(row['i2'], 1)}% in all")
    elif multilevel:  # three-level model: k counts effect sizes; the variance is split by level
        heterogeneity = (f"three-level model, \u03c3\u00b2 between studies = {apa_number(row['sigma2_between'], 3)}"
                         f" and within studies = {apa_number(row['sigma2_within'], 3)} ({METRIC_NAMES[metric]}), "
                         f"I\u00b2 = {apa_number(row['i2'], 1)}% in all")
    else:
        heterogeneity = (f"\u03c4\u00b2 = {apa_number(row['tau2'], 3)} ({METRIC_NAMES[metric]}), "
                         f"I\u00b2 = {apa_number(row['i2'], 1)}%")
    sentence = (f"{subject} was {show.symbol} = {show.number(row['estimate'])}, {level:g}% CI "
                f"{show.interval(row['ci_lower'], row['ci_upper'])}{DIRECTION_NOTES.get(family, '')}, "
                f"k = {apa_integer(studies)} studies ({apa_integer(counts.get('effect_sizes', math.nan))} effect "
                f"sizes), {n_text}; {heterogeneity}")
    if math.isfinite(float(row["pi_lower"])):
        sentence += f"; {level:g}% prediction interval {show.interval(row['pi_lower'], row['pi_upper'])}"
    sentence += "."
    if math.isfinite(float(row["q"])) and row["q_df"] > 0:
        sentence += (f" Heterogeneity: Q({apa_integer(row['q_df'])}) = {apa_number(row['q'], 2)}, "
                     f"{apa_p_clause(row['q_p'])}.")
    return sentence


def moderators_sentence(moderators: pd.DataFrame) -> str:
    """One clause per moderator: the omnibus Q_M test, its p and R^2; beside it, for a three-level fit
    (``multilevel_*`` columns), the three-level model's Q_M and its cluster-robust (CR2) F test."""
    if moderators is None or moderators.empty:
        return ""
    three_level = "multilevel_qm" in moderators
    clauses = []
    for row in moderators.itertuples():
        clause = f"{row.moderator}, QM({apa_integer(row.qm_df)}) = {apa_number(row.qm, 2)}, {apa_p_clause(row.qm_p)}"
        permutation = getattr(row, "qm_p_permutation", math.nan)
        if isinstance(permutation, float) and math.isfinite(permutation):
            clause += f" (permutation {apa_p_clause(permutation)})"
        if math.isfinite(float(row.r2)):
            clause += f", R\u00b2 = {apa_number(row.r2, 1)}%"
        if three_level and math.isfinite(float(row.multilevel_qm)):
            clause += (f" [three-level model: QM({apa_integer(row.multilevel_qm_df)}) = "
                       f"{apa_number(row.multilevel_qm, 2)}, {apa_p_clause(row.multilevel_qm_p)}")
            if math.isfinite(float(getattr(row, "multilevel_cr2_p", math.nan))):
                clause += (f"; CR2 F({apa_number(row.multilevel_cr2_df1, 0)}, {apa_number(row.multilevel_cr2_df2, 1)})"
                           f" = {apa_number(row.multilevel_cr2_f, 2)}, {apa_p_clause(row.multilevel_cr2_p)}")
            clause += "]"
        clauses.append(clause)
    model = ("mixed-effects meta-regression of the study composites, REML" if three_level
             else "mixed-effects meta-regression, REML")
    return f"Moderator tests ({model}): " + "; ".join(clauses) + "."


def bias_sentence(bias: pd.DataFrame, metric: str) -> str:
    """Egger's test, the rank test, trim and fill and the fail-safe N, when present."""
    if bias is None or bias.empty:
        return ""
    show = display(metric)
    rows = {row.test: row for row in bias.itertuples()}
    clauses = []
    if "egger" in rows:
        clauses.append(f"Egger's regression test z = {apa_number(rows['egger'].statistic, 2)}, "
                       f"{apa_p_clause(rows['egger'].p)}")
    if "rank" in rows:
        clauses.append(f"the rank correlation test Kendall's \u03c4 = {apa_number(rows['rank'].statistic, 2)}, "
                       f"{apa_p_clause(rows['rank'].p)}")
    if "trim_and_fill" in rows:
        row = rows["trim_and_fill"]
        imputed = row.k_imputed if math.isfinite(float(row.k_imputed)) else row.statistic
        clauses.append(f"trim and fill imputed {apa_integer(imputed)} studies (adjusted {show.symbol} = "
                       f"{show.number(row.estimate)})")
    if "fail_safe_n" in rows:
        clauses.append(f"Rosenthal's fail-safe N = {apa_integer(rows['fail_safe_n'].statistic)}")
    return ("Small-study effects: " + "; ".join(clauses) + ".") if clauses else ""


SELECTION_NAMES = {"beta": "beta", "halfnorm": "half-normal", "negexp": "negative exponential",
                   "logistic": "logistic", "power": "power", "negexppow": "negative exponential power",
                   "stepfun": "step function"}


def selection_sentence(selection: pd.DataFrame, metric: str) -> str:
    """The range of the estimates adjusted by the selection models and of their likelihood-ratio tests."""
    if selection is None or selection.empty:
        return ""
    show = display(metric)
    fitted = selection[selection["estimate"].map(lambda value: math.isfinite(float(value)))]
    missing = [SELECTION_NAMES.get(name, name) for name in selection["type"] if name not in set(fitted["type"])]
    if fitted.empty:
        return "No selection model could be fitted."
    low, high = fitted.loc[fitted["estimate"].idxmin()], fitted.loc[fitted["estimate"].idxmax()]
    models = f"{len(fitted)} selection model{'s' if len(fitted) != 1 else ''}"
    sentence = f"Adjusted for publication bias by {models} (maximum likelihood), the estimate "
    if show.number(low["estimate"]) == show.number(high["estimate"]):  # the same when rounded: no range
        sentence += (f"was {show.symbol} = {show.number(low['estimate'])}" if len(fitted) == 1 else
                     f"was {show.symbol} = {show.number(low['estimate'])} under each")
    else:
        sentence += (f"ranged from {show.symbol} = {show.number(low['estimate'])} "
                     f"({SELECTION_NAMES.get(low['type'])}) to {show.number(high['estimate'])} "
                     f"({SELECTION_NAMES.get(high['type'])})")
    p = fitted["lrt_p"].astype(float)
    if p.notna().any():
        low_p, high_p = apa_p_clause(p.min()), apa_p_clause(p.max())
        sentence += f"; likelihood-ratio tests of selection {low_p}" + (f" to {high_p}" if high_p != low_p else "")
    sentence += "."
    if missing:
        sentence += f" Not fitted: {', '.join(missing)}."
    return sentence


def bayes_sentence(bayes: pd.DataFrame, metric: str, level: float = 95) -> str:
    """Posterior mean and HDI of mu (also back-transformed) and of tau."""
    if bayes is None or bayes.empty or "parameter" not in bayes:
        return ""
    rows = {row.parameter: row for row in bayes.itertuples()}
    show = display(metric)
    parts = []
    if "mu" in rows:
        mu = rows["mu"]
        parts.append(f"\u03bc = {apa_number(mu.mean, 3)} ({show.symbol} = {show.number(mu.mean)}), HDI "
                     f"{show.interval(mu.hdi_lower, mu.hdi_upper)} on the {show.symbol} scale")
    if "tau" in rows:
        tau = rows["tau"]
        parts.append(f"\u03c4 = {apa_number(tau.mean, 3)}, HDI [{apa_number(tau.hdi_lower, 3)}, "
                     f"{apa_number(tau.hdi_upper, 3)}]")
    return ("Bayesian random-effects model (posterior means): " + "; ".join(parts) + ".") if parts else ""


def _bf_text(bf: float) -> str:
    if not math.isfinite(bf):
        return "BF > 10^6" if bf == math.inf else "BF not defined"
    if bf >= 1e6:
        return "BF > 10^6"
    return f"BF = {apa_number(bf, 2)}" if bf >= 0.01 else "BF < 0.01"


def bma_sentence(summary: pd.DataFrame, metric: str) -> str:
    """Inclusion Bayes factors of effect, heterogeneity and bias and the model-averaged mu
    (robust Bayesian model averaging, bma_summary.csv)."""
    if summary is None or summary.empty or "quantity" not in summary:
        return ""
    show = display(metric)
    parts = []
    for row in summary[summary["quantity"] == "component"].itertuples():
        bf = float(row.inclusion_bf)
        if not math.isfinite(bf) and bf != math.inf:
            continue
        strength = "evidence for" if bf >= 3 else ("evidence against" if bf <= 1 / 3 else "inconclusive evidence on")
        noun = {"effect": "an effect", "bias": "publication bias"}.get(row.name, row.name)
        parts.append(f"{strength} {noun} (inclusion {_bf_text(bf)}, posterior probability "
                     f"{apa_number(float(row.posterior_prob), 2)})")
    mu = summary[(summary["quantity"] == "estimate") & (summary["name"] == "mu") & (summary["type"] == "averaged")
                 & (summary["scale"] == "analysis")]
    sentence = ""
    if parts:
        sentence = "Robust Bayesian model averaging (RoBMA-PSMA) gave " + ", ".join(parts)
    if not mu.empty:
        row = mu.iloc[0]
        sentence += (f"; the model-averaged estimate was {show.symbol} = {show.number(row['median'])}, "
                     f"95% CrI {show.interval(row['ci_lower'], row['ci_upper'])}")
    return (sentence + ".") if sentence else ""


def risk_of_bias_sentence(analysis: pd.DataFrame | None, options: dict | None,
                          sensitivity: pd.DataFrame | None, metric: str, level: float = 95) -> str:
    """"Of k studies, x were at high risk of bias, mostly in <domain> (...)." and the pooled estimate
    without them (``rob_sensitivity.csv``); empty without risk-of-bias columns."""
    from alliance_meta.analyses.risk_of_bias import high_risk_sentence
    from alliance_meta.inputs.risk_of_bias import has_risk_of_bias, study_judgements, tool_from_config

    if analysis is None or not has_risk_of_bias(analysis.columns):
        return ""
    tool = tool_from_config(options)
    sentence = high_risk_sentence(study_judgements(analysis, tool), tool)
    if sensitivity is not None and len(sensitivity):
        rows = sensitivity.set_index("subset")
        if "exclude_high" in rows.index and math.isfinite(float(rows.loc["exclude_high", "estimate"])):
            row, show = rows.loc["exclude_high"], display(metric)
            sentence += (f" Without the high-risk studies the pooled estimate was {show.symbol} = "
                         f"{show.number(row['estimate'])}, {level:g}% CI {show.interval(row['ci_lower'], row['ci_upper'])}"
                         f" (k = {apa_integer(row['k_studies'])}).")
    return sentence


def results_paragraph(family: str, metric: str, tables: dict[str, pd.DataFrame], counts: dict,
                      method: str, tests: list[str], level: float = 95) -> str:
    """The family's results paragraph from whichever of pooled, moderators, bias and bayes exist."""
    pooled = tables.get("pooled")
    row = main_row(pooled, method, tests) or None
    sentences = [pooled_sentence(family, metric, row, counts, level) if pooled is not None else "",
                 moderators_sentence(tables.get("moderators")), bias_sentence(tables.get("bias"), metric),
                 selection_sentence(tables.get("selection_models"), metric),
                 bayes_sentence(tables.get("bayes"), metric, level),
                 bma_sentence(tables.get("bma_summary"), metric),
                 psychometric_sentence(tables["psychometric"], level) if "psychometric" in tables else ""]
    return " ".join(sentence for sentence in sentences if sentence)
