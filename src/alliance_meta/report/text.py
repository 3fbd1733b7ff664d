"""APA-style results and methods paragraphs generated from the pipeline's numbers.

Wording follows APA (2020, sec. 6.40-6.46): statistic, degrees of freedom, value,
exact p to three decimals; intervals in brackets with their level.
"""

from __future__ import annotations

import math

import pandas as pd

from alliance_meta.analyses.bias.results import NO_POSITIVE_EFFECT, POORLY_IDENTIFIED
from alliance_meta.analyses.moderators.univariate import left_out_note, uncoded_reason
from alliance_meta.engines.heterogeneity import one_effect_size
from alliance_meta.engines.robust import SMALL_DF
from alliance_meta.engines.transforms import METRIC_NAMES
from alliance_meta.report.effects import display
from alliance_meta.report.robustness import (gosh_sentence, location_scale_sentence, model_comparison_sentence,
                                             multiverse_sentence, rve_sentence)
from alliance_meta.models.fits import main_row
from alliance_meta.models.metareg import r2_not_meaningful
from alliance_meta.report.formatting import (ABBREVIATIONS, R2_NOT_GIVEN, apa_count, apa_df, apa_integer, apa_number,
                                             apa_p_clause, apa_probability, counted, data_names, is_finite, listed,
                                             nested_bracketed, pooled_studies, probability_percent, at_null, defined,
                                             sampler_shortfalls, spelled_out, step_list)
from alliance_meta.report.psychometric import psychometric_sentence
from alliance_meta.report.settings import TableSettings
from alliance_meta.report.summary import several_in_counts
from alliance_meta.models.univariate import COMMON_EFFECT_METHODS
from alliance_meta.report.tables import bias_test_name, one_step_cuts

FAMILY_PHRASES = {
    "outcome": "The alliance\u2013outcome association",
    "dropout": "The alliance\u2013dropout association",
}
DIRECTION_NOTES = {
    "outcome": "",
    "dropout": " (positive values: a stronger alliance among patients who stayed in treatment)",
}
#: The direction note on a ratio scale, where no effect is 1 rather than 0.
RATIO_DIRECTION_NOTES = {
    "dropout": " (OR > 1: a stronger alliance among patients who stayed in treatment)",
}
RATIO_METRICS = {"log_or"}


def metric_in_prose(metric: str) -> str:
    """The analysis metric's name in a sentence (:data:`~alliance_meta.engines.transforms.METRIC_NAMES`), with an
    article before a common noun: "Fisher's z", "Hedges' g", "the log odds ratio"."""
    name = METRIC_NAMES.get(metric, metric)
    return f"the {name}" if name[:1].islower() else name


#: the effect symbols shown as they are analysed (no back-transform): mu is not repeated "as" them
UNTRANSFORMED_SYMBOLS = ("g", "d")
TEST_NAMES = {"z": "Wald-type z tests", "knha": "the Knapp\u2013Hartung adjustment",
              "adhoc": "the Knapp\u2013Hartung adjustment (ad hoc variant: scale factor not below 1)"}


def direction_note(family: str, metric: str) -> str:
    """What a positive effect means in ``family``, on the scale of ``metric`` (OR > 1 for odds ratios)."""
    if metric in RATIO_METRICS and family in RATIO_DIRECTION_NOTES:
        return RATIO_DIRECTION_NOTES[family]
    return DIRECTION_NOTES.get(family, "")


def test_names(tests, knha_adhoc: bool = False) -> str:
    """``Wald-type z tests and the Knapp-Hartung adjustment`` for pooling.tests (the ad hoc variant named when
    pooling.knha_adhoc is true)."""
    return " and ".join(TEST_NAMES["adhoc" if t == "knha" and knha_adhoc else t] if t in TEST_NAMES else t
                        for t in tests)


def pooled_sentence(family: str, metric: str, row: pd.Series | None, counts: dict, level: float = 95) -> str:
    """``The alliance-outcome association was r = .28, 95% CI [.25, .30], k = ... ; tau^2 ..., I^2 ...; PI``."""
    subject = FAMILY_PHRASES.get(family, f"The {family} association")
    if row is None or not math.isfinite(float(row["estimate"])):
        return f"{subject} could not be estimated: the sheet holds no usable effect sizes of this family."
    show = display(metric)
    n_text = f"N = {apa_integer(counts.get('n', math.nan))}"
    if counts.get("studies_without_n") and not float(counts.get("n") or 0) > 0:  # N = 0 is no sum of patients
        n_text = "N unknown (no study gave its n)"
    elif counts.get("studies_without_n"):
        unknown = counted(counts["studies_without_n"], "study", "studies", words=True,
                          compared=(counts.get("studies", math.nan),))
        n_text += f" (n unknown for {unknown})"
    multilevel = math.isfinite(float(row.get("sigma2_between", math.nan)))
    studies = row["n_studies"] if multilevel else row["k"]
    if multilevel and row["k"] == 1:  # one effect size: both sigma2 fixed at 0 (single-level factors)
        heterogeneity = ("three-level model with one effect size, \u03c3\u00b2 between and within studies fixed "
                         "at 0 (not estimable)")
    elif multilevel and row["n_studies"] == 1:  # one study: sigma2_between fixed at 0 (a single-level factor)
        heterogeneity = (f"three-level model with one study, \u03c3\u00b2 between studies fixed at 0 (not "
                         f"estimable) and within the study = {apa_number(row['sigma2_within'], 3)} "
                         f"({metric_in_prose(metric)}), I\u00b2 = {apa_number(row['i2'], 1)}% in all")
    elif multilevel and row["n_studies"] == row["k"]:  # pooled.csv's note: the split is not identified
        heterogeneity = (f"three-level model with one effect size per study, \u03c3\u00b2 between and within "
                         f"studies not separately identified (their sum \u03c4\u00b2 = {apa_number(row['tau2'], 3)}, "
                         f"{metric_in_prose(metric)}), I\u00b2 = {apa_number(row['i2'], 1)}% in all")
    elif multilevel:  # three-level model: k counts effect sizes; the variance is split by level
        heterogeneity = (f"three-level model, \u03c3\u00b2 between studies = {apa_number(row['sigma2_between'], 3)}"
                         f" and within studies = {apa_number(row['sigma2_within'], 3)} ({metric_in_prose(metric)}), "
                         f"I\u00b2 = {apa_number(row['i2'], 1)}% in all")
        if math.isfinite(float(row.get("i2_between", math.nan))):  # the variance's share at each level (Cheung 2014)
            heterogeneity += (f" ({apa_number(row['i2_between'], 1)}% between and "
                              f"{apa_number(row['i2_within'], 1)}% within studies)")
    elif one_effect_size(row):  # pooled.csv: "k = 1: tau^2 set to 0, no heterogeneity test"
        heterogeneity = ("heterogeneity cannot be estimated from one study (\u03c4\u00b2 set to 0; no "
                         "heterogeneity test or prediction interval)")
    elif row.get("method") in COMMON_EFFECT_METHODS:  # tau^2 is assumed 0, not estimated; I^2 from Q, as metafor
        heterogeneity = (f"common-effect model (\u03c4\u00b2 assumed to be 0), I\u00b2 = {apa_number(row['i2'], 1)}%"
                         if math.isfinite(float(row["i2"])) else "common-effect model (\u03c4\u00b2 assumed to be 0)")
    else:
        heterogeneity = (f"\u03c4\u00b2 = {apa_number(row['tau2'], 3)} ({metric_in_prose(metric)}), "
                         f"I\u00b2 = {apa_number(row['i2'], 1)}%")
    sentence = (f"{subject} was {show.symbol} = {show.number(row['estimate'])}, {level:g}% CI "
                f"{show.interval(row['ci_lower'], row['ci_upper'])}{direction_note(family, metric)}, "
                f"k = {counted(studies, 'study', 'studies')} "
                f"({counted(counts.get('effect_sizes', math.nan), 'effect size')}), {n_text}; {heterogeneity}")
    # a common-effect model has no prediction interval (pooled.csv repeats its CI there), as in the forest plot;
    # nor has one effect size (tau^2 set to 0: the interval is the CI)
    if math.isfinite(float(row["pi_lower"])) and row.get("method") not in COMMON_EFFECT_METHODS \
            and not one_effect_size(row):
        sentence += f"; {level:g}% prediction interval {show.interval(row['pi_lower'], row['pi_upper'])}"
    sentence += "."
    if math.isfinite(float(row["q"])) and row["q_df"] > 0:
        sentence += (f" Heterogeneity: Q({apa_integer(row['q_df'])}) = {apa_number(row['q'], 2)}, "
                     f"{apa_p_clause(row['q_p'])}.")
    return sentence



def bracketed(text: str) -> str:
    """``text`` to stand within parentheses: its own parentheses as brackets (APA 2020, sec. 6.54), "one value
    (patient)" -> "one value [patient]"; a half-open interval's "(0.025, 0.1]" and a statistic's "Q(2)" left as they
    are (:func:`~alliance_meta.report.formatting.nested_bracketed`, the one rule of both)."""
    return nested_bracketed(f"({text})")[1:-1]


def _grouped_reasons(names_notes: list[tuple[str, str]]) -> str:
    """``modality, rater (too few rows); year (one value)``: names sharing a reason listed before it once, the
    reason's own parentheses as brackets (:func:`bracketed`)."""
    reasons: dict[str, list[str]] = {}
    for name, note in names_notes:
        reasons.setdefault(note, []).append(name)
    return "; ".join(", ".join(names) + (f" ({bracketed(note)})" if note else "") for note, names in reasons.items())


def _note(row) -> str:
    note = getattr(row, "note", "")
    return str(note).strip() if isinstance(note, str) else ""


def _composite_clause(row) -> str:
    """``QM(2) = 5.78, p = .056 (permutation p = .076)``: the univariate test of the aggregated rows."""
    clause = f"QM({apa_integer(row.qm_df)}) = {apa_number(row.qm, 2)}, {apa_p_clause(row.qm_p)}"
    permutation = getattr(row, "qm_p_permutation", math.nan)
    if is_finite(permutation):  # also a whole 1 (a column of 1s is read as integers), as the moderator table
        clause += f" (permutation {apa_p_clause(permutation)})"
    return clause


def _r2_parts(r2, tau2_null) -> tuple[str, str]:
    """``(", R² = 18.9%", "")``; where tau^2 of the model without the moderator is 0 (metafor's R^2 is 0 by rule),
    ``(", R² not given", why)``; ``("", "")`` where it was not computed."""
    if r2_not_meaningful(tau2_null):
        return ", R\u00b2 not given", R2_NOT_GIVEN
    return (f", R\u00b2 = {apa_number(r2, 1)}%" if is_finite(r2) else ""), ""


def _r2_clause(r2, tau2_null) -> str:
    """``, R² = 18.9%``, or ``, R² not given (why)`` (:func:`_r2_parts`)."""
    text, why = _r2_parts(r2, tau2_null)
    return text + (f" ({why})" if why else "")


def _three_level_clause(row) -> str:
    """``QM(2) = 6.58, p = .037, R² = 18.9%; CR2 F(2, 7.6) = 2.11, p = .187``: the three-level model's tests."""
    clause = (f"QM({apa_integer(row.multilevel_qm_df)}) = {apa_number(row.multilevel_qm, 2)}, "
              f"{apa_p_clause(row.multilevel_qm_p)}")
    clause += _r2_clause(getattr(row, "multilevel_r2", math.nan), getattr(row, "multilevel_tau2_null", math.nan))
    if is_finite(getattr(row, "multilevel_cr2_p", math.nan)):
        clause += (f"; CR2 F({apa_df(row.multilevel_cr2_df1)}, {apa_df(row.multilevel_cr2_df2)})"
                   f" = {apa_number(row.multilevel_cr2_f, 2)}, {apa_p_clause(row.multilevel_cr2_p)}")
        if float(row.multilevel_cr2_df2) < SMALL_DF:
            clause += f" (denominator df below {SMALL_DF}: the robust test is not to be trusted; Tipton, 2015)"
    if _not_converged(getattr(row, "multilevel_converged", True)):
        clause += " (the three-level model did not converge: estimates of its last iteration)"
    return clause


def _missing_clause(row) -> str:
    """``2 effect sizes without a value of year left out``: the rows a moderator's test could not use
    (``k_dropped`` of moderators.csv), so that its k is not read as the family's; "" when it used every row."""
    dropped = getattr(row, "k_dropped", math.nan)
    return left_out_note(int(dropped), (str(row.moderator),)) if is_finite(dropped) and dropped > 0 else ""


def _in_brackets(parts) -> str:
    """`` (a; b)`` of the parts that are not empty; "" when none is."""
    parts = [part for part in parts if part]
    return f" ({'; '.join(parts)})" if parts else ""


def moderators_sentence(moderators: pd.DataFrame) -> str:
    """One clause per moderator. Of one effect size per study: the omnibus Q_M test, its p and R^2. Of a
    three-level fit (``multilevel_*`` columns, dependence: multilevel): the three-level model's Q_M, R^2 and
    cluster-robust (CR2) F test first, as it respects the nesting of effect sizes in studies, and in brackets
    the univariate test of the composites within study x moderator level (which can fall on the other side of
    .05). Of composites of fewer studies (a moderator that varies within studies) it says that they were treated
    as independent. Moderators without a test (too few rows, one value) are named once with the CSV's note, not given
    empty numbers; those no row of the family codes (coded in the other family only) once as not coded."""
    if moderators is None or moderators.empty:
        return ""
    three_level = "multilevel_qm" in moderators
    clauses, untested, uncoded = [], [], []
    for row in moderators.itertuples():
        if three_level and is_finite(row.multilevel_qm):
            clause = f"{row.moderator}, {_three_level_clause(row)}{_in_brackets([_missing_clause(row)])}"
            if is_finite(row.qm):
                k = getattr(row, "k", math.nan)
                clause += (f" [composites within study and level{f', k = {apa_integer(k)}' if is_finite(k) else ''}: "
                           f"{_composite_clause(row)}]")
            clauses.append(clause)
            continue
        # the three-level model's reason (e.g. each study at a level of its own) before the composites'
        three_level_note = getattr(row, "multilevel_note", "") if three_level else ""
        three_level_note = (three_level_note.removeprefix("not estimable: ").strip()
                            if isinstance(three_level_note, str) else "")
        if not is_finite(row.qm) and _note(row).endswith(uncoded_reason(str(row.moderator))):
            uncoded.append(str(row.moderator))  # coded only in the other family: nothing to estimate here
            continue
        if not is_finite(row.qm):
            untested.append((str(row.moderator), three_level_note or _note(row)))
            continue
        clause = f"{row.moderator}, {_composite_clause(row)}"
        r2, why = _r2_parts(row.r2, getattr(row, "tau2_null", math.nan))
        k, studies = getattr(row, "k", math.nan), getattr(row, "n_studies", math.nan)
        composites = (f"{apa_count(k, (studies,))} study \u00d7 level composites of "
                      f"{counted(studies, 'study', 'studies', words=True, compared=(k,))}, treated as independent"
                      if not three_level and is_finite(k) and is_finite(studies) and studies < k else "")
        # one parenthesis, not "R² not given (why) (composites ...)"
        clause += r2 + _in_brackets([why, composites, _missing_clause(row)])
        if three_level:
            clause += (" [composites within study and level; the three-level model could not be fitted"
                       + (f": {three_level_note}]" if three_level_note else "]"))
        clauses.append(clause)
    model = ("three-level mixed-effects models" if three_level else "mixed-effects meta-regression, REML")
    sentences = [f"Moderator tests ({model}): " + "; ".join(clauses) + "."] if clauses else []
    if untested:
        sentences.append(("Moderator tests were not estimable: " if not clauses else "Not estimable: ")
                         + _grouped_reasons(untested) + ".")
    if uncoded:
        sentences.append(f"Not coded in any study of this family: {listed(uncoded)}.")
    return " ".join(sentences)


def _not_estimable_reason(notes: list[str]) -> str:
    """``k = 2 studies, the test needs at least 3`` from the CSV notes (``not estimable: ...``), once when shared;
    a reason shared by several tests names each of them (``each test needs at least 3``), not "the test"."""
    reasons = [note.removeprefix("not estimable:").strip() for note in notes if note]
    return "; ".join(reason.replace("the test needs", "each test needs") if reasons.count(reason) > 1 else reason
                     for reason in dict.fromkeys(reasons))


def bias_sentence(bias: pd.DataFrame, metric: str, level: float = 95, several: bool = True) -> str:
    """Egger's test, the rank test, trim and fill (its adjusted estimate with the CI of ``level`` where bias.csv has
    it) and the fail-safe N, when present; tests that could not run (too few studies) are named once with the
    reason instead of empty numbers. ``several``: some study has several effect sizes (beside a three-level model's
    test, the univariate one is said to be on the study composites)."""
    if bias is None or bias.empty:
        return ""
    show = display(metric)
    rows = {row.test: row for row in bias.itertuples()}
    clauses, skipped = [], []
    three_level = rows.get("egger_multilevel")  # dependence: multilevel: the test of the model reported first
    if three_level is not None and is_finite(three_level.statistic):
        df = f"({apa_df(three_level.df)})" if is_finite(getattr(three_level, "df", None)) else ""
        small = (f" (df below {SMALL_DF}: the robust test is not to be trusted; Tipton, 2015)"
                 if is_finite(getattr(three_level, "df", None)) and float(three_level.df) < SMALL_DF else "")
        clauses.append(f"Egger's test in the three-level model (CR2) t{df} = {apa_number(three_level.statistic, 2)}, "
                       f"{apa_p_clause(three_level.p)}{small}")
    if "egger" in rows:
        if is_finite(rows["egger"].statistic):
            composites = " on the study composites" if three_level is not None and several else ""
            clauses.append(f"Egger's regression test{composites} "
                           f"z = {apa_number(rows['egger'].statistic, 2)}, {apa_p_clause(rows['egger'].p)}")
        else:
            skipped.append(("egger", _note(rows["egger"])))
    if "rank" in rows:
        if is_finite(rows["rank"].statistic):
            tau = apa_number(rows["rank"].statistic, 2, leading_zero=False)  # a correlation: no leading zero (APA)
            clauses.append(f"the rank correlation test Kendall's \u03c4 = {tau}, "
                           f"{apa_p_clause(rows['rank'].p)}")
        else:
            skipped.append(("rank", _note(rows["rank"])))
    if "trim_and_fill" in rows:
        row = rows["trim_and_fill"]
        imputed = row.k_imputed if is_finite(row.k_imputed) else row.statistic
        if is_finite(imputed) and imputed == 0:  # nothing imputed: no "adjusted" estimate, it is the pooled one
            clauses.append("trim and fill imputed no studies")
        elif is_finite(imputed) and is_finite(row.estimate):
            limits = getattr(row, "ci_lower", math.nan), getattr(row, "ci_upper", math.nan)
            interval = f", {level:g}% CI {show.interval(*limits)}" if all(map(is_finite, limits)) else ""
            clauses.append(f"trim and fill imputed {counted(imputed, 'study', 'studies', words=True)} (adjusted "
                           f"{show.symbol} = {show.number(row.estimate)}{interval})")
        else:
            skipped.append(("trim_and_fill", _note(row)))
    if "fail_safe_n" in rows:
        if is_finite(rows["fail_safe_n"].statistic):
            clauses.append(f"Rosenthal's fail-safe N = {apa_integer(rows['fail_safe_n'].statistic)}")
        else:
            skipped.append(("fail_safe_n", _note(rows["fail_safe_n"])))
    reason = _not_estimable_reason([note for _, note in skipped])
    reason = f" ({reason})" if reason else ""
    if not clauses:
        return f"Small-study effects were not tested{reason}." if skipped else ""
    sentence = "Small-study effects: " + "; ".join(clauses) + "."
    if skipped:
        names = [bias_test_name(name, prose=True) for name, _ in skipped]
        named = listed(names)
        sentence += f" {named[0].upper() + named[1:]} could not be run{reason}."
    return sentence


SELECTION_NAMES = {"beta": "beta", "halfnorm": "half-normal", "negexp": "negative exponential",
                   "logistic": "logistic", "power": "power", "negexppow": "negative exponential power",
                   "stepfun": "step function"}


def _missing_model(row) -> str:
    """A selection model not fitted, named; the step function with its steps and why it was not fitted (its
    steps differ from those of the one-step model of bias.csv, which may well have been fitted)."""
    name = SELECTION_NAMES.get(row.type, row.type)
    if row.type != "stepfun":
        return name
    steps = step_list(getattr(row, "steps", ""))
    reason = _note(row).removeprefix("not computed:").replace(NO_POSITIVE_EFFECT, "").strip(" ;")
    reason = bracketed(reason)  # within parentheses (NO_POSITIVE_EFFECT: a sentence of its own)
    return (f"the step function{f' with steps at one-sided p = {steps}' if steps else ''} (selection-model table"
            + (f"; {reason}" if reason and reason != "not computed" else "") + ")")


def one_step_clause(bias: pd.DataFrame | None, metric: str) -> str:
    """``the one-step selection model at p = .025 (publication-bias table) gave r = .10, likelihood-ratio test
    p = .073``: the ``selection_model`` row of bias.csv, a different model from the step function of
    selection_models.csv; empty without a fitted row."""
    if bias is None or bias.empty or "test" not in bias:
        return ""
    rows = bias[bias["test"] == "selection_model"]
    if rows.empty or not is_finite(rows["estimate"].iloc[0]):
        return ""
    row, show = rows.iloc[0], display(metric)
    steps = step_list(one_step_cuts(row.get("note", "")))
    model = f"the one-step selection model{f' at one-sided p = {steps}' if steps else ''} (publication-bias table)"
    return (f"{model} gave {show.symbol} = {show.number(row['estimate'])}"
            + (f", likelihood-ratio test {apa_p_clause(row['p'])}" if is_finite(row.get("p")) else ""))


#: Said of the models that pool one composite per study where the main model is three-level (dependence: multilevel).
OF_COMPOSITES = " of the study composites"


def selection_sentence(selection: pd.DataFrame, metric: str, bias: pd.DataFrame | None = None,
                       composites: bool = False) -> str:
    """The range of the estimates adjusted by the selection models and of their likelihood-ratio tests. A step
    function not fitted is named with its steps and the reason; with ``bias`` (bias.csv) the one-step selection
    model of the publication-bias table, fitted, is named beside it as a different model; ``composites``: fitted
    to the study composites of a three-level review (:data:`OF_COMPOSITES`)."""
    if selection is None or selection.empty:
        return ""
    sentence = _selection_sentence(selection, metric, bias, composites)
    if "note" in selection and selection["note"].fillna("").astype(str).str.contains(NO_POSITIVE_EFFECT,
                                                                                      regex=False).any():
        sentence += (f" No {'study composite' if composites else 'effect'} was positive, but the selection models "
                     "acted on one-sided p-values, which model selection for positive effects (selection-model "
                     "table).")
    return sentence


def _selection_sentence(selection: pd.DataFrame, metric: str, bias: pd.DataFrame | None, composites: bool) -> str:
    show = display(metric)
    estimated = selection[selection["estimate"].map(is_finite)]
    missing = [_missing_model(row) for row in selection.itertuples() if row.type not in set(estimated["type"])]
    # a fit without standard errors (Hessian not invertible) or that did not converge is left out of the range
    usable = estimated["se"].map(is_finite) if "se" in estimated else pd.Series(True, index=estimated.index)
    if "converged" in estimated:
        usable &= ~estimated["converged"].map(_not_converged)
    if "note" in estimated:  # an estimate the weight function's flat likelihood carried away (selection_models)
        usable &= ~estimated["note"].fillna("").astype(str).str.contains(POORLY_IDENTIFIED)
    fitted, failed = estimated[usable], estimated[~usable]
    if fitted.empty:  # none fitted at all: one sentence; some fitted but unusable: those, then the ones not fitted
        return "No selection model could be fitted." if failed.empty else (
            f"No selection model gave a usable estimate: {_failed_fits(failed)}."
            + _not_fitted(missing, selection, estimated, bias, metric))
    low, high = fitted.loc[fitted["estimate"].idxmin()], fitted.loc[fitted["estimate"].idxmax()]
    models = (counted(len(fitted), "selection model", words=True, compared=(len(selection),))
              + (OF_COMPOSITES if composites else ""))
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
        # a fit at the bound where it is the unadjusted model: a statistic of 0 and p = 1 (formatting.exact_cells)
        def at_bound(value) -> bool:  # every model of that p sits at the null
            return "lrt" in fitted and bool(fitted.loc[p == value, "lrt"].map(at_null).all())

        low_p, high_p = (apa_p_clause(value, null_statistic=at_bound(value)) for value in (p.min(), p.max()))
        sentence += f"; likelihood-ratio tests of selection {low_p}" + (f" to {high_p}" if high_p != low_p else "")
    if len(failed):
        models_of = counted(len(selection), "model", words=True, compared=(len(fitted),))
        sentence += (f" ({apa_count(len(fitted), (len(selection),))} of {models_of}; "
                     f"{_failed_fits(failed, within_parentheses=True)})")
    return sentence + "." + _not_fitted(missing, selection, estimated, bias, metric)


def _not_fitted(missing: list[str], selection: pd.DataFrame, estimated: pd.DataFrame, bias: pd.DataFrame | None,
                metric: str) -> str:
    """`` Not fitted: the step function with steps at ... (selection-model table; why)``, with the one-step model of
    bias.csv where the step function is among them (:func:`one_step_clause`); "" when every model has an estimate."""
    if not missing:
        return ""
    one_step = one_step_clause(bias, metric) if "stepfun" in set(selection["type"]) - set(estimated["type"]) else ""
    return f" Not fitted: {', '.join(missing)}" + (f"; {one_step}, a different model." if one_step else ".")


def _not_converged(value) -> bool:
    """A ``converged`` cell that says no (False, or 0 as a spreadsheet writes it)."""
    return str(value).strip().lower() in ("false", "0", "0.0")


def _failed_fits(failed: pd.DataFrame, within_parentheses: bool = False) -> str:
    """``the beta model's Hessian was not invertible`` for the selection fits left out of the range; models that
    share a reason are named together, the reason said once (``the beta and logistic models are poorly identified
    (their estimates moved ...)``), not repeated for each; ``within_parentheses``: its parentheses as brackets
    (APA 2020, sec. 6.54)."""
    reasons: dict[str, list[str]] = {}
    for row in failed.itertuples():
        note = _note(row).lower()
        reason = ("hessian" if "hessian not invertible" in note else "poorly" if POORLY_IDENTIFIED in note
                  else "converged" if _not_converged(getattr(row, "converged", "")) else "se")
        reasons.setdefault(reason, []).append(SELECTION_NAMES.get(row.type, row.type))
    wording = {"hessian": ("model's Hessian was not invertible", "models' Hessians were not invertible"),
               "poorly": ("model is poorly identified (its estimate moved further, or its standard error is larger, "
                          "than the observed effects spread)",
                          "models are poorly identified (their estimates moved further, or their standard errors are "
                          "larger, than the observed effects spread)"),
               "converged": ("model did not converge", "models did not converge"),
               "se": ("model has no standard error", "models have no standard errors")}
    parts = [f"the {listed(names)} {wording[reason][len(names) > 1]}" for reason, names in reasons.items()]
    return listed(parts).replace("(", "[").replace(")", "]") if within_parentheses else listed(parts)


def bayes_sentence(bayes: pd.DataFrame, metric: str, level: float = 95, hdi_prob: float = 0.95,
                   studies: float | None = None, composites: bool = False) -> str:
    """Posterior mean and HDI of mu (named with its metric, also back-transformed) and of tau (the median and
    equal-tailed interval of a row :func:`alliance_meta.bayes.summaries.is_central` names: a log-OR family's OR,
    tau without an SD); ``hdi_prob`` (bayes.hdi_prob) is printed as the HDI's level. With one study (``studies`` =
    1) the sentence says that tau's posterior comes from its prior: one study holds no information on heterogeneity.
    ``composites``: the model of a three-level review's study composites (:data:`OF_COMPOSITES`)."""
    if bayes is None or bayes.empty or "parameter" not in bayes:
        return ""
    from alliance_meta.bayes.summaries import is_central

    rows = {row.parameter: row for row in bayes.itertuples()}
    show = display(metric)
    # its level always, as every CI and CrI of the Results ("HDI [.27, .32]" beside "95% CI [.27, .32]"; APA 2020,
    # sec. 6.43)
    hdi = f"{probability_percent(hdi_prob)}% HDI"
    parts, medians = [], []  # the symbols given by their median (is_central)
    if "mu" in rows:
        mu = rows["mu"]
        # bayes.csv's back-transformed row (r, or): the posterior mean and HDI of the draws of tanh(mu) or
        # exp(mu), as the table gives them; the transform of mu's mean and HDI limits is neither, so the sentence
        # says whose mean it is ("mu = 0.297 (r = .27)" read as a wrong tanh(0.297) = .29)
        scale = rows.get(show.symbol.lower())
        number = lambda value: apa_number(float(value), 2, show.leading_zero)  # noqa: E731
        # mu named with the metric it is on, in every branch ("mu = 0.303;" named none beside the r that follows)
        mu_text, unit = f"\u03bc = {apa_number(mu.mean, 3)}", METRIC_NAMES[metric]
        if scale is not None and is_central(scale.parameter, metric) and is_finite(getattr(scale, "median", None)):
            # the odds ratio by its median and equal-tailed interval, as the table and the forest plot (docs/bayes.md)
            parts.append(f"{mu_text} ({unit}); posterior median of {show.symbol} = "
                         f"{number(scale.median)}, {probability_percent(hdi_prob)}% equal-tailed CrI "
                         f"[{number(scale.eti_lower)}, {number(scale.eti_upper)}]")
            medians.append(show.symbol)
        elif scale is not None:
            parts.append(f"{mu_text} ({unit}); posterior mean of {show.symbol} = "
                         f"{number(scale.mean)}, {hdi} [{number(scale.hdi_lower)}, {number(scale.hdi_upper)}]")
        elif show.symbol in UNTRANSFORMED_SYMBOLS:  # g is analysed as shown: one number, not two
            parts.append(f"{mu_text} ({unit}), {hdi} [{apa_number(mu.hdi_lower, 3)}, {apa_number(mu.hdi_upper, 3)}]")
        else:  # no back-transformed row (a table of an older run): the transform of mu's summaries
            parts.append(f"{mu_text} ({unit}; {show.symbol} = {show.number(mu.mean)}), {hdi} "
                         f"{show.interval(mu.hdi_lower, mu.hdi_upper)} on the {show.symbol} scale")
    if "tau" in rows:
        tau = rows["tau"]
        if is_central("tau", metric, getattr(tau, "exact_sd", math.nan)) and is_finite(getattr(tau, "median", None)):
            # no posterior SD (one study under a heavy-tailed prior): the median, as the table gives it
            parts.append(f"posterior median of \u03c4 = {apa_number(tau.median, 3)}, "
                         f"{probability_percent(hdi_prob)}% equal-tailed CrI [{apa_number(tau.eti_lower, 3)}, "
                         f"{apa_number(tau.eti_upper, 3)}]")
            medians.append("\u03c4")
        else:
            parts.append(f"\u03c4 = {apa_number(tau.mean, 3)}, {hdi} [{apa_number(tau.hdi_lower, 3)}, "
                         f"{apa_number(tau.hdi_upper, 3)}]")
        if is_finite(studies) and float(studies) == 1:
            parts[-1] += (" (one study: the data hold no information on heterogeneity, so the posterior of "
                          "\u03c4 comes from its prior alone)")
    model = f"Bayesian random-effects model{OF_COMPOSITES if composites else ''}"
    what = "posterior means" + (f"; for {listed(medians)} the median" if medians else "")
    return (f"{model} ({what}): " + "; ".join(parts) + "." + _sampling_shortfalls(rows)) if parts else ""


def _sampling_shortfalls(rows: dict) -> str:
    """`` The sampler fell short of its convergence criteria even after its repeat (\u03bc: bulk effective sample
    size 224 < 400; ...): ...``: the diagnostics that the pooled model's \u03bc and \u03c4 still miss after the
    stage's repeat (bayes.csv's ``warning``; the Methods give the criteria), "" when they meet them. Summaries of
    too few effective draws are not to be read as those of a converged sampler (Vehtari et al., 2021)."""
    found = []
    for name, symbol in (("mu", "\u03bc"), ("tau", "\u03c4")):
        words = sampler_shortfalls(getattr(rows.get(name), "warning", ""))
        if words:
            found.append(f"{symbol}: {', '.join(words)}")
    if not found:
        return ""
    return (f" The sampler fell short of its convergence criteria even after its repeat ({'; '.join(found)}): these "
            "posterior summaries are less precise than the criteria require.")


def _bf_text(bf: float) -> str:
    """``BF = 2.12``, ``BF = 3,890.92`` (thousands separated, as every other count of the Results),
    ``BF > 10\u2076`` (a superscript, not the caret of code), ``BF < 0.01``."""
    if not math.isfinite(bf):
        return "BF > 10\u2076" if bf == math.inf else "BF not defined"
    if bf >= 1e6:
        return "BF > 10\u2076"
    return f"BF = {bf:,.2f}" if bf >= 0.01 else "BF < 0.01"


#: The model averaging of stage bma without its publication-bias models (bma.bias false): Bayesian model averaging
#: of the four normal models (Gronau et al., 2021), which is not robust Bayesian meta-analysis (RoBMA; Maier, Bartoš
#: & Wagenmakers, 2023) nor RoBMA-PSMA (Bartoš et al., 2023), the ensemble with them
BMA_WITHOUT_BIAS = "Bayesian model averaging over effect and heterogeneity"
#: Whom the Results and the Methods cite for each (:func:`bma_name`), by whether the bias models were in
BMA_CITATIONS = {True: "Barto\u0161 et al., 2023", False: "Gronau et al., 2021"}


def bma_words(bias: bool = True) -> str:
    """What stage bma fitted, in words, capitalised, for a heading: with the publication-bias models (``bias``,
    bma.bias) RoBMA-PSMA spelled out (:data:`~alliance_meta.report.formatting.ABBREVIATIONS`), without them
    :data:`BMA_WITHOUT_BIAS`."""
    words = ABBREVIATIONS["RoBMA-PSMA"] if bias else BMA_WITHOUT_BIAS
    return words[:1].upper() + words[1:]


def bma_has_bias_models(summary: pd.DataFrame) -> bool:
    """Whether the ensemble of bma_summary.csv held publication-bias models (bma.bias true): a ``bias``
    component with prior probability above 0."""
    bias = summary[(summary["quantity"] == "component") & (summary["name"] == "bias")]
    return bool(len(bias)) and is_finite(bias["prior_prob"].iloc[0]) and float(bias["prior_prob"].iloc[0]) > 0


def bma_bias(summary: pd.DataFrame | None, config: dict) -> bool:
    """Whether the family's model averaging had the publication-bias models: as its bma_summary.csv says
    (:func:`bma_has_bias_models`), else as the config's bma.bias asks (default true)."""
    if summary is not None and not summary.empty and {"quantity", "name", "prior_prob"} <= set(summary):
        return bma_has_bias_models(summary)
    return bool((config.get("bma") or {}).get("bias", True))


def bma_name(bias: bool, before: str = "") -> str:
    """The model averaging named in a sentence, capitalised, with its citation (:data:`BMA_CITATIONS`): with the bias
    models RoBMA-PSMA, defined (PSMA spelled out, as RoBMA) unless ``before`` (the text so far) has defined it,
    without them :data:`BMA_WITHOUT_BIAS`, never "robust" (the report's texts are abbreviated in reading order,
    :func:`~alliance_meta.report.formatting.defined_in_order`)."""
    cite = BMA_CITATIONS[bool(bias)]
    name = defined("RoBMA-PSMA", before, cite) if bias else f"{BMA_WITHOUT_BIAS} ({cite}; no publication-bias models)"
    return name[:1].upper() + name[1:]


def bma_sentence(summary: pd.DataFrame, metric: str, prob: float = 0.95, composites: bool = False) -> str:
    """Inclusion Bayes factors of effect, heterogeneity and bias and the model-averaged mu (stage bma,
    bma_summary.csv; :func:`bma_name`): its posterior median with the credible interval of mass ``prob``
    (bayes.hdi_prob, the interval's level in bma_summary.csv); ``composites`` as :func:`bayes_sentence`."""
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
        # "posterior probability > .99", not the impossible 1.00 (APA 2020, sec. 6.36, as every p of the Results);
        # BF spelled out where the Results first use it (results_paragraph)
        parts.append(f"{strength} {noun} (inclusion {_bf_text(bf)}, posterior "
                     f"probability {apa_probability(row.posterior_prob, 2)})")
    mu = summary[(summary["quantity"] == "estimate") & (summary["name"] == "mu") & (summary["type"] == "averaged")
                 & (summary["scale"] == "analysis")]
    sentence = ""
    if parts:
        sentence = f"{bma_name(bma_has_bias_models(summary))}{OF_COMPOSITES if composites else ''} gave " + \
            ", ".join(parts)
    if not mu.empty:
        row = mu.iloc[0]
        # the posterior median, named as such: bma_summary.csv (as RoBMA's summary) leads with the mean, which
        # a spike at no effect pulls apart from the median (the median's back-transform is exact, the mean's not)
        sentence += (f"; the model-averaged estimate (posterior median) was {show.symbol} = "
                     f"{show.number(row['median'])}, {probability_percent(prob)}% CrI "
                     f"{show.interval(row['ci_lower'], row['ci_upper'])}")
    return (sentence + ".") if sentence else ""


#: the CI of a row whose test differs from the headline estimate's, named after it
CI_TEST_LABELS = {"z": "Wald z CI", "knha": "Knapp\u2013Hartung CI", "t": "t CI", "cr2": "CR2 CI"}


def risk_of_bias_sentence(analysis: pd.DataFrame | None, options: dict | None,
                          sensitivity: pd.DataFrame | None, metric: str, level: float = 95,
                          main_test: str | None = None) -> str:
    """"Of k studies, x were at high risk of bias (<tool>), mostly in <domain> (...)." and the pooled estimate
    without them (``rob_sensitivity.csv``); empty without risk-of-bias columns. The pipeline refits the
    main model with the headline's test (``fit_options``); where that table's test is nevertheless not
    ``main_test`` (the headline estimate's, e.g. knha; a table of an earlier version had z refits), its CI is
    named after its own test. ``adhoc`` is ``knha``: pooled.csv names its ad hoc Knapp-Hartung rows so."""
    from alliance_meta.analyses.risk_of_bias import high_risk_sentence
    from alliance_meta.inputs.risk_of_bias import rob_columns, study_judgements, tool_from_config

    # the rows of validation, which keeps rob_* columns only for a sheet that codes risk of bias
    if analysis is None or not rob_columns(analysis.columns):
        return ""
    tool = tool_from_config(options)
    sentence = high_risk_sentence(study_judgements(analysis, tool), tool)
    if sensitivity is not None and len(sensitivity):
        rows = sensitivity.set_index("subset")
        if "exclude_high" in rows.index and math.isfinite(float(rows.loc["exclude_high", "estimate"])):
            row, show = rows.loc["exclude_high"], display(metric)
            single = is_finite(row["k_studies"]) and int(row["k_studies"]) == 1
            what = ("the estimate of the single remaining study" if single else "the pooled estimate")
            test = str(row.get("test", "")) if pd.notna(row.get("test", "")) else ""
            same = {"adhoc": "knha"}.get(test, test) == {"adhoc": "knha"}.get(main_test, main_test)
            named = CI_TEST_LABELS.get(test, f"{test} CI") if test and main_test and not same else ""
            details = ([] if single else [f"k = {apa_integer(row['k_studies'])}"]) + ([named] if named else [])
            sentence += (f" Without the high-risk studies {what} was {show.symbol} = "
                         f"{show.number(row['estimate'])}, {level:g}% CI {show.interval(row['ci_lower'], row['ci_upper'])}"
                         + (f" ({'; '.join(details)})." if details else "."))
    return sentence


def _studies(row: pd.Series | None, counts: dict) -> float:
    """The studies pooled: of the headline row of pooled.csv (n_studies of a three-level fit, else k), or the
    family's count of studies when there is none."""
    studies = pooled_studies(row) if row is not None else math.nan
    if is_finite(studies):
        return studies
    return float(counts.get("studies", math.nan)) if is_finite(counts.get("studies")) else math.nan


#: the pooled.csv rows pooled from the 2x2 tables themselves (models/counts.py), in the words of the Results
COUNT_MODEL_NAMES = {"MH": "Mantel\u2013Haenszel", "Peto": "Peto's one-step method", "GLMM": "a binomial GLMM"}


def count_models_sentence(pooled: pd.DataFrame | None, level: float = 95) -> str:
    """The odds ratios pooled from the 2x2 tables themselves (``MH``, ``Peto``, ``GLMM`` rows of pooled.csv, under
    ``metric.dropout: log_or``): each with its CI, the ones without an estimate named (the pooled table's note says
    why). When only Peto's is finite, it is said to be biased for odds ratios far from 1 (Bradburn et al., 2007;
    Cochrane Handbook, sec. 10.4.4.2). Empty without such rows."""
    if pooled is None or "method" not in pooled:
        return ""
    rows = pooled[pooled["method"].isin(list(COUNT_MODEL_NAMES))].drop_duplicates("method")
    if rows.empty:
        return ""
    show = display("log_or")
    k = int(rows["k"].max())
    # each with its CI named as every CI of the Results ("the odds ratio [95% CI] was OR = 2.85 [1.47, 5.50]" was a
    # table heading's shorthand in prose); the items hold commas, so semicolons between them (APA 2020, sec. 6.4)
    estimated = [f"{show.symbol} = {show.number(row.estimate)}, {level:g}% CI "
                 f"{show.interval(row.ci_lower, row.ci_upper)}, by {COUNT_MODEL_NAMES[row.method]}"
                 for row in rows.itertuples() if is_finite(row.estimate)]
    missing = [COUNT_MODEL_NAMES[row.method] for row in rows.itertuples() if not is_finite(row.estimate)]
    tables = f"k = {counted(k, 'table')}"
    sentence = (f"Pooled from the 2x2 tables themselves ({tables}), the odds ratio was {listed(estimated, '; ')}"
                if estimated else f"No odds ratio could be pooled from the 2x2 tables themselves ({tables})")
    if missing:
        sentence += (f"; {listed(missing)} gave no estimate (the pooled table's note says why)" if estimated
                     else f": {listed(missing)} gave no estimate (the pooled table's note says why)")
    if missing and [row.method for row in rows.itertuples() if is_finite(row.estimate)] == ["Peto"]:
        sentence += ("; Peto's one-step odds ratio, the only finite one, is biased when the odds ratio is far from 1 "
                     "(Bradburn et al., 2007)")
    return sentence + "."


def results_paragraph(family: str, metric: str, tables: dict[str, pd.DataFrame], counts: dict,
                      method: str, tests: list[str], level: float = 95, config: dict | None = None) -> str:
    """The family's results paragraph from whichever of pooled, moderators, bias and bayes exist; ``config``
    (the run's, defaults filled in) gives bayes.hdi_prob and psychometric.credibility_level."""
    settings = TableSettings.from_config(config)
    hdi_prob, cred_level = float(settings.hdi_prob), float(settings.credibility_level)
    pooled = tables.get("pooled")
    row = main_row(pooled, method, tests) or None
    # a three-level main model: the selection and Bayesian models beside it pool study composites (its estimate
    # .38 read beside their .31 as the same data's); with one effect size per study there is none to speak of
    composites = row is not None and is_finite(row.get("sigma2_between")) and several_in_counts(counts)
    sentences = [pooled_sentence(family, metric, row, counts, level) if pooled is not None else "",
                 count_models_sentence(pooled, level),
                 rve_sentence(tables.get("rve"), metric, level, tables.get("rve_sensitivity")),
                 moderators_sentence(tables.get("moderators")),
                 model_comparison_sentence(tables.get("model_comparison")),
                 location_scale_sentence(tables.get("location_scale"), tables.get("location_scale_tau2"), metric),
                 bias_sentence(tables.get("bias"), metric, level, several_in_counts(counts)),
                 selection_sentence(tables.get("selection_models"), metric, tables.get("bias"), composites),
                 gosh_sentence(tables.get("gosh_studies"), metric),
                 multiverse_sentence(tables.get("multiverse_summary"), metric),
                 bayes_sentence(tables.get("bayes"), metric, level, hdi_prob, _studies(row, counts), composites),
                 bma_sentence(tables.get("bma_summary"), metric, hdi_prob, composites),
                 psychometric_sentence(tables["psychometric"], level, cred_level, counts)
                 if "psychometric" in tables
                 else ""]
    # each abbreviation (REML, HDI, CrI, BF ...) spelled out where the paragraph first uses it, whichever sentence
    # that is (APA 2020, sec. 6.25); the report spells out each once in its reading order (html.render_report)
    return spelled_out(" ".join(sentence for sentence in sentences if sentence), verbatim=data_names(config))
