"""Manuscript tables (APA rounding) as Markdown and LaTeX (booktabs) from the pipeline's CSVs.

Each builder takes one CSV's frame and the family's analysis metric and returns a
:class:`ManuscriptTable` of strings; ``to_markdown`` and ``to_latex`` render it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import pandas as pd

from alliance_meta.engines.heterogeneity import SIGMA2_LEVELS, one_effect_size, unidentified_sigma2
from alliance_meta.engines.robust import SMALL_DF
from alliance_meta.engines.transforms import METRIC_NAMES
from alliance_meta.inputs.effect_sizes import DOUBLE_ZERO_KEPT, ZERO_CELL_RULE, citation_years
from alliance_meta.models.metareg import r2_not_meaningful
from alliance_meta.models.univariate import ADHOC_NOTE, CI_TEST_NAMES, COMMON_EFFECT_METHODS, interval_test
from alliance_meta.report.effects import display
from alliance_meta.report.formatting import (CENTRAL_MARK, MINUS, SUPERSCRIPTS, apa_df, apa_integer, apa_number, apa_p,
                                             apa_probability, apa_scientific, apa_setting, counted, is_finite,
                                             pooled_studies, readable_frame, probability_percent, step_list, listed,
                                             typeset_parts, defined, note_defined, nested_bracketed, R2_NOT_GIVEN,
                                             sampler_shortfalls)
from alliance_meta.report.settings import TableSettings
from alliance_meta.wording import (BIAS_MODEL_NAMES, ESTIMATOR_NAMES, SIMULATED_DATA, SIMULATED_DATA_NOTE,
                                single_spaced)

LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "<": "$<$", ">": "$>$", "\u2212": "$-$", "\u2013": "--", "\u221e": r"$\infty$",
                  "\u03c4": r"$\tau$", "\u03c1": r"$\rho$", "\u00b2": r"\textsuperscript{2}"}
INFINITY = "\u221e"
LATEX_SPECIALS.update({"\u00d7": r"$\times$", "\u2260": r"$\neq$", "\u03c3": r"$\sigma$", "\u03c0": r"$\pi$",
                       "\u2264": r"$\leq$", "\u2265": r"$\geq$", "\u221a": r"$\surd$", **{chr(SUPERSCRIPTS[ord(c)]): rf"\textsuperscript{{{c}}}" for c in "0123456789"},
                       "\u207b": r"\textsuperscript{$-$}", "\u03bc": r"$\mu$", "\u03b8": r"$\theta$",
                       "\u03a3": r"$\Sigma$", "\u03c7": r"$\chi$",
                       **{chr(0x2080 + int(c)): rf"\textsubscript{{{c}}}" for c in "0123456789"}})


@dataclass(frozen=True)
class ManuscriptTable:
    """A titled table of already formatted cells, with a note below it. ``verbatim``: text of the headings and the
    note that comes from the data (moderator names, the analyses' notes naming levels), which Word sets as written,
    never as a statistical symbol (a level "F" is no F test). ``stub_symbols``: the first column names statistics in
    the table's own words ("Rosenthal's fail-safe N", "P(r > 0)"), whose symbols Word sets in italics as in the
    headings and the note; other cells come from the data and are set as written. ``label_rows``: Word sets each
    row's first cell as a row of its own across the table, above the row's other cells, as GRADE's evidence profiles
    set their outcomes (Guyatt et al., 2011, J Clin Epidemiol 64, 383-394): a table of many columns (the summary of
    findings' ten) leaves its labels no column wide enough ("Alliance and treatment outcome (correlation)" ran over
    four lines); the Markdown, LaTeX and HTML tables keep the column."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    align: list[str] = field(default_factory=list)
    verbatim: tuple[str, ...] = ()
    stub_symbols: bool = False
    label_rows: bool = False

    def alignment(self) -> list[str]:
        return self.align or ["l"] + ["r"] * (len(self.header) - 1)



def _interval(show, lower, upper) -> str:
    return show.interval(lower, upper) if is_finite(lower) and is_finite(upper) else ""


def _statistic(value: float) -> str:
    """Two decimals; whole numbers with thousands separators from 1,000 on (fail-safe N)."""
    return apa_integer(value) if abs(float(value)) >= 1000 else apa_number(value, 2)


def composite_text(method: str, rho: float | None, plural: bool = False, before: str = "") -> str:
    """How the effect sizes of one study were combined (``aggregate_method``, ``aggregate_rho``), for the Methods
    and the tables' notes: ``inverse-variance generalised least squares (GLS) composite under compound symmetry,
    assuming a correlation of .50 between sampling errors`` (``rho`` None: without the correlation, which
    :func:`assumed_correlation` says; GLS abbreviated once ``before``, the text so far, has defined it)."""
    s = "s" if plural else ""
    kind = (f"mean composite{s} (Borenstein et al., 2009, ch. 24)" if method == "mean"
            else f"inverse-variance {defined('GLS', before)} composite{s} under compound symmetry")
    return kind if rho is None else f"{kind}, {assumed_correlation(rho)}"


def assumed_correlation(rho: float) -> str:
    """``assuming a correlation of .50 between sampling errors`` (``aggregate_rho``)."""
    return f"assuming a correlation of {apa_setting(rho)} between sampling errors"


#: The rows pooled from 2x2 counts under metric log_or (models/counts.py), for the table's note.
COUNT_METHOD_NAMES = {"MH": "MH = Mantel\u2013Haenszel", "Peto": "Peto = Peto's one-step odds ratio",
                      "GLMM": "GLMM = binomial\u2013normal generalised linear mixed model"}


def scales(metric: str) -> str:
    """On which scale a table's estimates and tau^2 are: ``Estimates back-transformed to correlation (r); τ² in the
    analysis metric (Fisher's z)``; Hedges' g is analysed as it is shown (nothing back-transformed)."""
    show = display(metric)
    if metric == "smd":
        return f"Estimates and \u03c4\u00b2 in the analysis metric ({METRIC_NAMES[metric]})"
    return (f"Estimates back-transformed to {show.name} ({show.symbol}); \u03c4\u00b2 in the analysis metric "
            f"({METRIC_NAMES[metric]})")


def pooled_table(frame: pd.DataFrame, metric: str, level: float = 95,
                 settings: TableSettings = TableSettings()) -> ManuscriptTable:
    """One row per estimator and test: k, effect [CI], prediction interval, tau^2, I^2, Q."""
    show = display(metric)
    # a common-effect model (common, MH, Peto) has no prediction interval (pooled.csv repeats its CI there): empty;
    # nor has one effect size, which has no heterogeneity test either (pooled.csv's Q(0) = 0, p = 1)
    single = [one_effect_size(row) for _, row in frame.iterrows()]
    rows = [[row.method, row.test, apa_integer(row.k), show.with_interval(row.estimate, row.ci_lower, row.ci_upper),
             "" if row.method in COMMON_EFFECT_METHODS or one else _interval(show, row.pi_lower, row.pi_upper),
             apa_number(row.tau2, 3), apa_number(row.i2, 1),
             "" if one else _with_df(row.q, row.q_df), "" if one else apa_p(row.q_p)]
            for row, one in zip(frame.itertuples(), single)]
    header = ["Method", "Test", "k", f"{show.symbol} [{level:g}% CI]", f"{level:g}% PI", "\u03c4\u00b2", "I\u00b2 (%)",
              "Q (df)", "p (Q)"]
    three_level = [row for row in frame.to_dict("records") if is_finite(row.get("sigma2_between"))]
    if three_level:  # dependence: multilevel: the two variances whose sum tau^2 is, beside it
        header[6:6] = ["\u03c3\u00b2 between", "\u03c3\u00b2 within"]
        for cells, row in zip(rows, frame.to_dict("records")):
            cells[6:6] = [_sigma2_cell(row, "between"), _sigma2_cell(row, "within")]
    tested = [interval_test(row) for row in frame.to_dict("records")]  # the test each row's CI really has
    adhoc = "adhoc" in tested  # pooling.knha_adhoc, noted on each knha row
    knha = CI_TEST_NAMES["adhoc" if adhoc else "knha"]
    effects = scales(metric)
    common = [method for method in COMMON_EFFECT_METHODS if (frame["method"] == method).any()]
    counts = [COUNT_METHOD_NAMES[method] for method in COUNT_METHOD_NAMES if (frame["method"] == method).any()]
    # the tests the table has, each named (a three-level fit's are z, t and cr2; pooling.tests [knha] has no z)
    # pooled.csv's tests: a three-level fit's rows are z, t (rma.mv's, with k - 1 df) and cr2 (multilevel.robust);
    # knha is named with its variant (pooling.knha_adhoc) where it is used
    legend = {**CI_TEST_NAMES, "knha": knha}
    tests = [test for test in dict.fromkeys(frame["test"].astype(str)) if test in legend] if "test" in frame else []
    # metafor's rma switches a knha model of one study to z (pooled.csv's note says so): not Knapp-Hartung's CI
    single_knha = any(row == "knha" and test == "z" for row, test in zip(frame.get("test", []), tested))
    studies = [pooled_studies(row) for row in three_level]
    small_cr2 = list(dict.fromkeys(str(row["method"]) for row in frame.to_dict("records") if row.get("test") == "cr2"
                                   and is_finite(row.get("df")) and 0 < float(row["df"]) < SMALL_DF))
    three_level_methods = ", ".join(dict.fromkeys(str(row["method"]) for row in three_level))
    estimators = [f"{method} = {ESTIMATOR_NAMES[method]}" + (" model" if method == "common" else "")
                  for method in dict.fromkeys(frame["method"].astype(str)) if method in ESTIMATOR_NAMES]
    note = (f"{effects}. "
            + (f"Method: {'; '.join(estimators)} (estimator of \u03c4\u00b2). " if estimators else "")
            + ("k = effect sizes pooled; " if three_level and len(three_level) == len(frame) else
               "k = studies pooled (" + ("each one composite of its effect sizes" if settings.several_per_study
                                         else "one effect size each")
               + ("; of a three-level model: effect sizes" if three_level else "") + "); ")
            + "\u03c4\u00b2 = variance of the true effects; I\u00b2 = share of the total "
              "variance due to heterogeneity; Q = Cochran's heterogeneity statistic. "
            + "CI = confidence interval; PI = prediction interval"
            + ((" (none for the common-effect model)" if common == ["common"] else
                f" (none for the common-effect models: {', '.join(common)})") if common else "")
            + (f"; test {', '.join(f'{test} = {legend[test]}' for test in tests)}." if tests else ".")
            + (f" Three-level model ({three_level_methods}): k counts effect sizes (of "
               f"{counted(studies[0], 'study', 'studies')}); \u03c4\u00b2 is the sum of \u03c3\u00b2 between and "
               "within studies (the variances of the true effects at the two levels)"
               + (f"; \u03c3\u00b2 in brackets: {level:g}% profile-likelihood CI" if any(
                   is_finite(row.get(f"sigma2_{part}_ci_lower")) for row in three_level for part in SIGMA2_LEVELS)
                  else "")
               + "".join(f"; {UNIDENTIFIED_SIGMA2[case]}" for case in dict.fromkeys(
                   unidentified_sigma2(row)[0] for row in three_level) if case)
               + "." if studies and is_finite(studies[0]) else "")
            + (f" cr2 with df below {SMALL_DF} ({', '.join(small_cr2)}): the robust test is not to be trusted "
               "(Tipton, 2015)." if small_cr2 else "")
            + (" k = 1: heterogeneity cannot be estimated from one study (\u03c4\u00b2 set to 0); no heterogeneity "
               "test or prediction interval." if any(single) else "")
            + (" With k = 1 the knha rows have Wald (z) CIs (no residual df for Knapp\u2013Hartung; as metafor)."
               if single_knha else "")
            + (f" From the 2x2 counts: {'; '.join(counts)}." if counts else "")
            + _count_rows_note(frame))
    # Method and Test are words ("REML", "knha"): left-aligned as the other text columns
    return ManuscriptTable("Pooled estimates", header, rows, note, ["l", "l"] + ["r"] * (len(header) - 2))


#: Why a three-level row's sigma^2 are not identified, as the pooled table's note says it (a case of
#: :func:`~alliance_meta.engines.heterogeneity.unidentified_sigma2`).
UNIDENTIFIED_SIGMA2 = {
    "one_per_study": "one effect size per study: \u03c3\u00b2 between and within are not identified separately "
                     "(only their sum)",
    "one_study": "one study: \u03c3\u00b2 between is not identified (set to 0, as metafor's rma.mv sets the variance "
                 "of a factor with one level; all heterogeneity is within the study)",
    "one_effect_size": "one effect size: neither \u03c3\u00b2 is identified (both set to 0)"}


def _sigma2_cell(row: dict, part: str) -> str:
    """``0.094 [0.022, 0.302]``: a three-level row's sigma^2 ``part`` (between, within) with its profile-likelihood
    CI where pooled.csv has one; a dash where it is not identified
    (:func:`~alliance_meta.engines.heterogeneity.unidentified_sigma2`), empty for a univariate row."""
    value = row.get(f"sigma2_{part}")
    if not is_finite(value):
        return ""
    if part in unidentified_sigma2(row)[1]:
        return "\u2013"
    lower, upper = row.get(f"sigma2_{part}_ci_lower"), row.get(f"sigma2_{part}_ci_upper")
    interval = (f" [{apa_number(lower, 3)}, {apa_number(upper, 3)}]" if is_finite(lower) and is_finite(upper)
                else "")
    return apa_number(value, 3) + interval


def _note_parts(note) -> list[str]:
    """A pooled.csv note split at its "; " outside parentheses."""
    parts, depth, start = [], 0, 0
    text = note if isinstance(note, str) else ""
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and text.startswith("; ", position):
            parts.append(text[start:position])
            start = position + 2
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def _count_rows_note(frame: pd.DataFrame) -> str:
    """What k of the MH, Peto and GLMM rows counts and why it differs from the other rows' (rows without a 2x2
    table, double-zero tables, a study's further tables), and why a row has no estimate: their pooled.csv notes,
    the part they share once, then each method's own."""
    notes = {row["method"]: _note_parts(row.get("note")) for row in frame.to_dict("records")
             if row["method"] in COUNT_METHOD_NAMES}
    if not notes:
        return ""
    shared = [part for part in next(iter(notes.values())) if all(part in parts for parts in notes.values())]
    own = [f" {method}: {'; '.join(part for part in parts if part not in shared)}."
           for method, parts in notes.items() if any(part not in shared for part in parts)]
    # the notes' own parentheses within theirs as brackets: "diverges (separation: ... infinite [every table ...])"
    return nested_bracketed(" k of MH, Peto and GLMM = the 2x2 tables pooled"
                            + (f": {'; '.join(shared)}." if shared else ".") + "".join(own))


def moderators_table(frame: pd.DataFrame, metric: str, level: float = 95,
                     settings: TableSettings = TableSettings()) -> ManuscriptTable:
    """One row per moderator: omnibus Q_M and F tests, tau^2 and R^2; of a three-level fit
    (:func:`three_level_moderators_table`) the three-level model's tests first."""
    if "multilevel_qm" in frame:
        return three_level_moderators_table(frame, metric, level, settings)
    rows = []
    # permutations: 0 runs no permutation test: no column of blanks, nor its definition in the note
    permuted = any(is_finite(p) for p in frame.get("qm_p_permutation", []))
    for row in frame.itertuples():
        permutation = getattr(row, "qm_p_permutation", float("nan"))
        rows.append([str(row.moderator), apa_integer(row.k), _with_df(row.qm, row.qm_df),
                     apa_p(row.qm_p), _with_df(row.f, row.f_df1, row.f_df2), apa_p(row.f_p)]
                    + ([apa_p(permutation) if is_finite(permutation) or not is_finite(row.qm) else ""] if permuted
                       else [])
                    + [apa_number(row.tau2, 3), _r2_cell(apa_number(row.r2, 1), getattr(row, "tau2_null", float("nan")))])
    header = ["Moderator", "k", "QM (df)", "p", "F (df1, df2)", "p", *(["p (permutation)"] if permuted else []),
              "\u03c4\u00b2", "R\u00b2 (%)"]
    adhoc = any(ADHOC_NOTE in _note_parts(note) for note in frame.get("note", []))  # pooling.knha_adhoc
    # the estimator in words: its abbreviation, used once, would be defined in the note (APA 2020, sec. 6.25, 7.14)
    note = (f"Mixed-effects meta-regression ({ESTIMATOR_NAMES['REML']}) per moderator; F with Knapp\u2013Hartung "
            "adjustment"
            + (" (ad hoc variant: scale factor not below 1). " if adhoc else ". ")
            + ("k = studies (a study at several levels of the moderator: one composite at each); "
               if settings.several_per_study else "k = studies (one effect size each); ")
            + "QM = omnibus Wald test of the moderator; " + ("p (permutation) = its permutation test; " if permuted
                                                              else "") + "\u03c4\u00b2 = "
              f"residual variance of the true effects, in the analysis metric ({METRIC_NAMES[metric]}); "
              "R\u00b2 = share of \u03c4\u00b2 accounted for by the moderator." + _r2_note(frame, "tau2_null")
            + _moderator_notes(frame))
    return ManuscriptTable("Moderator tests", header, rows, note, verbatim=_moderator_text(frame))


def _moderator_text(frame: pd.DataFrame) -> tuple[str, ...]:
    """The text of a moderator table's note that comes from the data (:attr:`ManuscriptTable.verbatim`): the
    moderators' names and the analyses' notes, which name levels ("has one value (F) in every row")."""
    notes = [part for column in ("note", "multilevel_note") for note in frame.get(column, [])
             for part in _note_parts(note)]
    return tuple(dict.fromkeys(text.strip().rstrip(".") for text in [*frame.get("moderator", []), *notes]
                               if isinstance(text, str) and text.strip()))


def _with_df(statistic, *df) -> str:
    """``9.25 (5)``, ``1.88 (5, 119)``; one dash for a test that was not estimable (not ``– (–, –)``), the
    moderator's note saying why."""
    if not is_finite(statistic):
        return "\u2013"
    return f"{apa_number(statistic, 2)} ({', '.join(apa_df(value) for value in df)})"


def _moderator_notes(frame: pd.DataFrame) -> str:
    """The analysis's note on each moderator (moderators.csv's ``note``: e.g. what k counts where a study has
    effect sizes at several levels), `` rater: 214 composites of 125 studies: ...``; "" where none has one. The
    ad hoc Knapp-Hartung note (pooling.knha_adhoc) is said once, in the table's note."""
    parts = {row["moderator"]: [part for part in _note_parts(row.get("note")) if part.strip() and part != ADHOC_NOTE]
             for row in frame.to_dict("records")}
    notes = [f" {name}: {'; '.join(kept).strip().rstrip('.')}." for name, kept in parts.items() if kept]
    return "".join(notes)


def _r2_cell(text: str, tau2_null) -> str:
    """R^2 as formatted, or a dash where tau^2 of the model without the moderator is 0 (metafor's R^2 is 0 there by
    rule; :func:`_r2_note` says why)."""
    return "\u2013" if r2_not_meaningful(tau2_null) else text


def _r2_note(frame: pd.DataFrame, column: str) -> str:
    """`` R² not given for year: τ² of the model without the moderator is 0, ...`` ("" when R^2 is given for all)."""
    names = [str(row["moderator"]) for row in frame.to_dict("records") if r2_not_meaningful(row.get(column))]
    return f" R\u00b2 not given for {', '.join(names)}: {R2_NOT_GIVEN}." if names else ""


def _or_blank(text: str, value) -> str:
    return text if is_finite(value) else ""


def three_level_moderators_table(frame: pd.DataFrame, metric: str, level: float = 95,
                                 settings: TableSettings = TableSettings()) -> ManuscriptTable:
    """Under dependence: multilevel, one row per moderator: the three-level model's Wald Q_M and
    cluster-robust (CR2) F tests, its variance components and R^2 (the tests that respect the nesting of effect
    sizes in studies), then the univariate test of the composites within study x moderator level
    (moderators.csv's ``qm`` ...) beside them."""
    rows = []
    permuted = any(is_finite(p) for p in frame.get("qm_p_permutation", []))  # permutations: 0 runs none
    for row in frame.to_dict("records"):
        get = row.get
        permutation = get("qm_p_permutation", float("nan"))
        rows.append([str(row["moderator"]), _or_blank(apa_integer(get("multilevel_k")), get("multilevel_k")),
                     _or_blank(apa_integer(get("multilevel_n_studies")), get("multilevel_n_studies")),
                     _or_blank(f"{apa_number(get('multilevel_qm'), 2)} ({apa_integer(get('multilevel_qm_df'))})",
                               get("multilevel_qm")),
                     _or_blank(apa_p(get("multilevel_qm_p")), get("multilevel_qm_p")),
                     _or_blank(f"{apa_number(get('multilevel_cr2_f'), 2)} ({apa_df(get('multilevel_cr2_df1'))}, "
                               f"{apa_df(get('multilevel_cr2_df2'))})", get("multilevel_cr2_f")),
                     _or_blank(apa_p(get("multilevel_cr2_p")), get("multilevel_cr2_p")),
                     _or_blank(apa_number(get("multilevel_sigma2_between"), 3), get("multilevel_sigma2_between")),
                     _or_blank(apa_number(get("multilevel_sigma2_within"), 3), get("multilevel_sigma2_within")),
                     _r2_cell(_or_blank(apa_number(get("multilevel_r2"), 1), get("multilevel_r2")),
                              get("multilevel_tau2_null")),
                     _or_blank(apa_integer(get("k")), get("k")),
                     _or_blank(f"{apa_number(get('qm'), 2)} ({apa_integer(get('qm_df'))})", get("qm")),
                     _or_blank(apa_p(get("qm_p")), get("qm_p"))]
                    + ([_or_blank(apa_p(permutation), permutation)] if permuted else []))
    header = ["Moderator", "k", "Studies", "QM (df)", "p", "CR2 F (df1, df2)", "p", "\u03c3\u00b2 between",
              "\u03c3\u00b2 within", "R\u00b2 (%)", "Composites k", "Composites QM (df)", "p",
              *(["p (permutation)"] if permuted else [])]
    note = ("Three-level mixed-effects model per moderator (effect sizes within studies): Wald QM and "
            "cluster-robust (CR2) F test with Satterthwaite degrees of freedom (Pustejovsky & Tipton, 2018); "
            "k = effect sizes; QM = omnibus Wald test of the moderator; \u03c3\u00b2 = variance of the true effects "
            f"between and within studies, in the analysis metric ({METRIC_NAMES[metric]}); R\u00b2 = share of their "
            "sum accounted for by the moderator. Composites: mixed-effects meta-regression "
            f"({ESTIMATOR_NAMES['REML']}) of the effect sizes aggregated within study and moderator level"
            + (", with its permutation test." if permuted else "."))
    small = [str(row["moderator"]) for row in frame.to_dict("records")
             if is_finite(row.get("multilevel_cr2_df2")) and float(row["multilevel_cr2_df2"]) < SMALL_DF]
    if small:
        note += (f" CR2 F with df2 below {SMALL_DF} ({', '.join(small)}): the robust test is not to be trusted "
                 "(Tipton, 2015).")
    failed = [str(row["moderator"]) for row in frame.to_dict("records")
              if str(row.get("multilevel_converged")).strip().lower() in ("false", "0", "0.0")]
    if failed:
        note += (f" The three-level model of {', '.join(failed)} did not converge: its tests and variances are "
                 "those of the last iteration.")
    single = [str(row["moderator"]) for row in frame.to_dict("records")
              if is_finite(row.get("multilevel_k")) and row.get("multilevel_k") == row.get("multilevel_n_studies")]
    if single:  # one effect size per study: the split of tau^2 into the two levels is arbitrary (pooled.csv says so)
        note += (f" {', '.join(single)}: one effect size per study, so \u03c3\u00b2 between and within are not "
                 "identified separately (only their sum).")
    note += _r2_note(frame, "multilevel_tau2_null") + _three_level_notes(frame)
    return ManuscriptTable("Moderator tests", header, rows, note, verbatim=_moderator_text(frame))


def _three_level_notes(frame: pd.DataFrame) -> str:
    """The three-level model's own note on each moderator (moderators.csv's ``multilevel_note``: why its CR2 test or
    the model is missing; their cells were blank without a word), but for non-convergence, said above already."""
    from alliance_meta.analyses.moderators.multilevel import NOT_CONVERGED

    notes = []
    for row in frame.to_dict("records"):
        parts = [part for part in _note_parts(row.get("multilevel_note")) if part != NOT_CONVERGED]
        if parts:
            notes.append(f" {row['moderator']}: {'; '.join(parts).rstrip('.')}.")
    return "".join(notes)


def subgroups_table(frame: pd.DataFrame, metric: str, level: float = 95,
                    settings: TableSettings = TableSettings()) -> ManuscriptTable:
    """One row per moderator level: k, effect [CI], tau^2."""
    show = display(metric)
    rows = [[str(row.moderator), str(row.level), apa_integer(row.k),
             show.with_interval(row.estimate, row.ci_lower, row.ci_upper), apa_number(row.tau2, 3)]
            for row in frame.itertuples()]
    header = ["Moderator", "Level", "k", f"{show.symbol} [{level:g}% CI]", "\u03c4\u00b2"]
    three_level = ("; composites here, although the main model is three-level and its tables count effect sizes"
                   if settings.dependence == "multilevel" else "")
    note = (f"Random-effects ({ESTIMATOR_NAMES['REML']}) estimate within each level; k = studies at the level, "
            + ("each one composite of its effect sizes there (a study coded at several levels counts at each"
               f"{three_level})" if settings.several_per_study else "one effect size each")
            + f". {scales(metric)}; CI = confidence interval; \u03c4\u00b2 = variance of the true effects within the "
              "level.")
    return ManuscriptTable("Subgroup estimates", header, rows, note, ["l", "l", "r", "r", "r"])


#: The readable name of each test of bias.csv (sentence case, as a table cell); :func:`bias_test_name` gives it
#: for prose too. The report's text and the manuscript table both use it.
BIAS_TEST_NAMES = {"egger": "Egger's regression test", "egger_lm": "Egger's regression test (weighted regression, t)",
                   "rank": "Rank correlation test", "trim_and_fill": "Trim and fill",
                   "fail_safe_n": "Rosenthal's fail-safe N", "fail_safe_n_orwin": "Orwin's fail-safe N",
                   "fail_safe_n_rosenberg": "Rosenberg's fail-safe N", "pet": "PET", "peese": "PEESE",
                   "pet_peese": "PET-PEESE", "selection_model": "Selection model", "tes": "Test of excess significance",
                   "henmi_copas": "Henmi\u2013Copas interval", "svalue": "S-value",
                   "egger_multilevel": "Three-level Egger's test (CR2)"}
#: Tests whose statistic is a count of studies (printed whole).
COUNT_STATISTICS = {"trim_and_fill", "fail_safe_n", "fail_safe_n_orwin", "fail_safe_n_rosenberg"}


def bias_test_name(test: str, prose: bool = False) -> str:
    """``fail_safe_n`` -> ``Rosenthal's fail-safe N``; with ``prose``, in a sentence: ``the rank correlation
    test``, ``trim and fill`` (a test not in :data:`BIAS_TEST_NAMES` keeps its name without underscores)."""
    name = BIAS_TEST_NAMES.get(test, str(test).replace("_", " "))
    first = name.split(" ")[0]
    if not prose or "'" in first or len(first) < 2 or not first[1].islower():
        return name
    name = name[0].lower() + name[1:]
    return f"the {name}" if name.endswith(" test") or name.startswith("test ") else name


def _bias_row_name(row) -> str:
    """The test's name; the selection model of bias.csv with its step (``Selection model, one step at
    p = .025``), not to be taken for the step function of the selection-model table."""
    name = bias_test_name(str(row.test))
    steps = one_step_cuts(getattr(row, "note", "")) if row.test == "selection_model" else []
    if not steps:
        return name
    return f"{name}, {'one step' if len(steps) == 1 else 'steps'} at one-sided p = {step_list(steps)}"


def one_step_cuts(note) -> list[str]:
    """The steps of bias.csv's ``selection_model`` row, from its note (written with
    :data:`alliance_meta.analyses.bias.selection_models.STEPS_NOTE`); empty when the note has none."""
    from alliance_meta.analyses.bias.selection_models import STEPS_NOTE

    found = re.search(re.escape(STEPS_NOTE) + r"([0-9.eE, -]+)", str(note))
    return [part.strip() for part in found.group(1).split(",") if part.strip()] if found else []


def bias_table(frame: pd.DataFrame, metric: str, level: float = 95,
               settings: TableSettings = TableSettings()) -> ManuscriptTable:
    """One row per small-study or bias test: statistic, p, adjusted estimate, studies imputed; the counts
    (fail-safe N, trim and fill's k0, k imputed) whole."""
    show = display(metric)
    rows, skipped = [], []
    for row in frame.itertuples():
        estimate = show.number(row.estimate) if is_finite(row.estimate) else ""
        imputed = apa_integer(row.k_imputed) if is_finite(row.k_imputed) else ""
        if is_finite(row.statistic):
            statistic = (apa_integer(row.statistic) if row.test in COUNT_STATISTICS else
                         # Kendall's tau, a correlation: no leading zero (APA), as every table's kendall_tau
                         apa_number(row.statistic, 2, leading_zero=False) if row.test == "rank" else
                         _statistic(row.statistic))
        else:
            statistic = _posterior_number("", row.statistic) if _infinite(row.statistic) else ""  # an S-value of inf
        note = str(getattr(row, "note", "") or "")
        if not statistic and not estimate and note.startswith("not estimable:"):  # a dash, explained in the note
            statistic = "\u2013"
            skipped.append((_bias_row_name(row), note.removeprefix("not estimable:").strip()))
        rows.append([_bias_row_name(row), statistic, apa_p(row.p) if is_finite(row.p) else "",
                     estimate, imputed])
    header = ["Test", "Statistic", "p", f"Adjusted {show.symbol}", "k imputed"]
    # the test of excess significance without a statistic: its p is the exact test's (ExcessSignificance.as_test)
    tests = list(dict.fromkeys("tes_exact" if row.test == "tes" and not is_finite(row.statistic) and is_finite(row.p)
                               else str(row.test) for row in frame.itertuples())) if "test" in frame else []
    if "pet_peese" in tests and not {"pet", "peese"} <= set(tests):  # its meaning names rows the table lacks
        tests[tests.index("pet_peese")] = "pet_peese_alone"
    meanings = [STATISTIC_MEANINGS[test] for test in tests if test in STATISTIC_MEANINGS]
    note = ""
    if meanings:
        note = ("Statistic: " + "; ".join(meanings) + f". Adjusted {show.symbol}: the estimate corrected for "
                "small-study effects or selection (for Egger's tests, the estimate at a standard error of 0).")
    unadjusted = _unadjusted_estimates(frame, show, level)
    if unadjusted:
        note = (note + " " if note else "") + f"The {show.symbol} of these rows adjusts nothing: {unadjusted}."
    if any(row[4] for row in rows):
        note = (note + " " if note else "") + "k imputed = studies imputed by trim and fill."
    if skipped:
        note = (note + " " if note else "") + f"\u2013 = not estimable: {_skipped_reasons(skipped)}."
    return ManuscriptTable("Publication bias and small-study effects", header, rows, note, stub_symbols=True)


#: The bias tests whose ``estimate`` adjusts nothing, and what it is (the bias table's note says so).
UNADJUSTED_ESTIMATES = {"fail_safe_n_orwin": "the unweighted mean effect that it halves",
                        "fail_safe_n_rosenberg": "the common-effect estimate",
                        "henmi_copas": "the common-effect estimate"}


def _unadjusted_estimates(frame: pd.DataFrame, show, level: float) -> str:
    """``Orwin's fail-safe N, the unweighted mean effect that it halves; Henmi–Copas interval, the common-effect
    estimate, with the 95% CI [.16, .28] that allows for publication bias`` for the rows of
    :data:`UNADJUSTED_ESTIMATES` that have an estimate, so that no one reads them as corrected estimates."""
    parts = []
    for row in frame.itertuples():
        if row.test not in UNADJUSTED_ESTIMATES or not is_finite(row.estimate):
            continue
        part = f"{bias_test_name(str(row.test))}, {UNADJUSTED_ESTIMATES[row.test]}"
        interval = _interval(show, getattr(row, "ci_lower", math.nan), getattr(row, "ci_upper", math.nan))
        if row.test == "henmi_copas" and interval:
            part += f", with the {level:g}% CI {interval} that allows for publication bias"
        parts.append(part)
    return "; ".join(parts)


def _skipped_reasons(skipped: list[tuple[str, str]]) -> str:
    """``k = 2 studies, each test needs at least 3 (Selection model, one step at one-sided p = .025: 4)`` from
    bias.csv's notes (``k = 2 studies, the test needs at least 3``); other notes as they are, once each."""
    parsed = [re.fullmatch(r"(k = .+?), the test needs at least (\d+)", reason) for _, reason in skipped]
    if all(parsed) and len({match.group(1) for match in parsed}) == 1:
        minima = [match.group(2) for match in parsed]
        usual = max(set(minima), key=minima.count)
        others = [f"{name}: {least}" for (name, _), least in zip(skipped, minima) if least != usual]
        each = "each test needs" if len(skipped) > 1 else "the test needs"
        return f"{parsed[0].group(1)}, {each} at least {usual}" + (f" ({'; '.join(others)})" if others else "")
    return "; ".join(dict.fromkeys(reason for _, reason in skipped))


#: What bias.csv's ``statistic`` is for each test, for the bias table's note (its ``note`` column says more).
STATISTIC_MEANINGS = {
    "egger": "Egger's regression test, z of the standard-error term in a mixed-effects meta-regression",
    "egger_lm": "Egger's test as a weighted regression, t of the standard-error term",
    "egger_multilevel": "three-level Egger's test, the CR2 t of the standard-error term",
    "rank": "rank correlation test, Kendall's \u03c4 between the standardised effects and their variances",
    "trim_and_fill": "trim and fill, k0 = studies estimated missing",
    "fail_safe_n": "Rosenthal's fail-safe N, null studies that would make the combined p non-significant",
    "fail_safe_n_orwin": "Orwin's fail-safe N, null studies that would bring the mean effect down to half",
    "fail_safe_n_rosenberg": "Rosenberg's fail-safe N, null studies that would make the common-effect estimate "
                             "non-significant",
    "pet": f"{BIAS_MODEL_NAMES['PET']} (PET), t of the intercept of the regression of the effects on their "
           "standard errors",
    "peese": f"{BIAS_MODEL_NAMES['PEESE']} (PEESE), t of the intercept of the regression on "
             "the variances",
    # PET-PEESE after the PET and PEESE rows, which define it (formatting.is_defined); without them, in words
    "pet_peese": "PET-PEESE, the PEESE row when PET's intercept is significant, else the PET row",
    "pet_peese_alone": "PET-PEESE, the intercept of the regression on the variances when that of the regression on "
                       "the standard errors is significant, else the latter",
    "selection_model": "selection model, likelihood-ratio \u03c7\u00b2 against the model without selection",
    "tes": "test of excess significance, \u03c7\u00b2 of the observed against the expected number of "
           "significant studies (metafor's test where the exact test is not feasible)",
    # the same row without its statistic: the exact test (ExcessSignificance.as_test) has none
    "tes_exact": "test of excess significance, blank: its p is from the exact test of the observed against the "
                 "expected number of significant studies (metafor's test for these k), which has no statistic",
    "svalue": "S-value, how many times more likely an affirmative study must be published than a "
              "nonaffirmative one to explain the estimate away (\u221e: no selection could); its adjusted value "
              "is the worst-case estimate (the nonaffirmative studies alone)",
}


def _posterior_number(parameter: str, value, mean: bool = False) -> str:
    """Posterior summaries: correlations and probabilities APA-style (a probability's ``mean`` below .001 or above
    .999 as ``< .001``/``> .999``: :func:`apa_probability`), I^2 in percent, others 3 decimals; an infinite value (a
    moment that does not exist) as ∞."""
    if _infinite(value):
        return MINUS + INFINITY if float(value) < 0 else INFINITY
    if not is_finite(value):
        return ""
    if mean and parameter.startswith("p_"):
        return apa_probability(value, 3)
    if parameter in ("r", "r_new") or parameter.startswith("p_"):
        return apa_number(value, 2 if parameter.startswith("r") else 3, leading_zero=False)
    return apa_number(value, 1 if parameter == "i2" else 3)


def _infinite(value) -> bool:
    try:
        return math.isinf(float(value))
    except (TypeError, ValueError):
        return False


def bayes_factor_text(bf) -> str:
    """An exact Bayes factor for a table: two decimals with thousands separators, ``2.25 × 10²⁷``
    from 10⁶ on (every digit would be noise), ``∞`` above the largest double, ``< 0.01`` below."""
    if _infinite(bf):
        return INFINITY if float(bf) > 0 else "0"
    if not is_finite(bf):
        return ""
    bf = float(bf)
    if bf >= 1e6:
        return apa_scientific(bf)
    return f"{bf:,.2f}" if bf >= 0.01 else "< 0.01"


#: The Bayes table's rows as a manuscript writes them (bayes.csv keeps its parameter names; the thresholds' rows
#: p_r_gt_<t> read P(r > t): :func:`bayes_parameter_name`).
BAYES_NAMES = {"mu": "\u03bc", "tau": "\u03c4", "tau2": "\u03c4\u00b2", "i2": "I\u00b2 (%)", "r": "r", "or": "OR",
               "theta_new": "\u03b8 (new study)", "r_new": "r (new study)", "or_new": "OR (new study)",
               "bf_mu": "BF\u2081\u2080 (\u03bc \u2260 0)", "bf_tau": "BF\u2081\u2080 (\u03c4 > 0)"}


def bayes_parameter_name(parameter: str) -> str:
    """A row of bayes.csv as the Bayes table names it: ``mu`` -> ``μ``, ``p_r_gt_0.1`` -> ``P(r > .10)``,
    ``bf_mu`` -> ``BF₁₀ (μ ≠ 0)``; a name it does not know as it is."""
    from alliance_meta.bayes.summaries import threshold_of

    threshold = threshold_of(parameter)
    if threshold is not None:
        return f"P(r > {apa_setting(threshold)})"
    return BAYES_NAMES.get(parameter, parameter)


def _bayes_note(parameters: set[str], metric: str) -> str:
    """The Bayes table's definitions of the rows it has (``parameters``: bayes.csv's names)."""
    effects = [text for name, text in (
        ("mu", "\u03bc = mean of the true effects"), ("tau", "\u03c4 = their standard deviation"),
        ("tau2", "\u03c4\u00b2 = their variance"),
        ("theta_new", "\u03b8 (new study) = the true effect of a new study (posterior predictive)")) if name in parameters]
    odds = ("odds ratio (exp(\u03c0g/\u221a3) for Hedges' g; above 1 in the direction of positive effects)"
            if metric == "smd" else "odds ratio (above 1 in the direction of positive effects)")
    scales = [text for present, text in (
        ("r" in parameters, "r = \u03bc on the correlation scale"), ("or" in parameters, f"OR = \u03bc as an {odds}"),
        ("r_new" in parameters, "r (new study) = \u03b8 (new study) on the correlation scale"),
        ("or_new" in parameters, "OR (new study) = \u03b8 (new study) as an odds ratio"),
        ("i2" in parameters, "I\u00b2 = share of the total variance due to heterogeneity, in percent"),
        (any(bayes_parameter_name(name).startswith("P(") for name in parameters),
         "P(r > t) = posterior probability that r exceeds t")) if present]
    # the r row beside mu (0.297 and .27) read as a wrong tanh(0.297) = .29: the row is the posterior of r itself
    draws = [f"The {symbol} row summarises the posterior draws of {symbol} itself: its mean is the posterior mean of "
             f"{symbol}, not the transformed posterior mean of \u03bc." for symbol in ("r", "OR")
             if symbol.lower() in parameters and not (symbol == "OR" and metric == "log_or")]
    return " ".join([f"In the analysis metric ({METRIC_NAMES[metric]}): {', '.join(effects)}."] * bool(effects)
                    + [f"{'; '.join(scales)}."] * bool(scales) + draws)


def bayes_table(frame: pd.DataFrame, metric: str, level: float = 95,
                settings: TableSettings = TableSettings()) -> ManuscriptTable:
    """One row per posterior parameter (named as a manuscript writes it: :func:`bayes_parameter_name`): mean, SD,
    HDI, R-hat and effective sample sizes. The Bayes factors (``bf_*``, computed exactly only: ``exact_mean``)
    stand in the Mean column; a mean or SD the exact posterior finds infinite (``exact_mean``/``exact_sd`` inf,
    e.g. the SD of or_new under a half-normal prior) is shown as ∞, not as the MCMC draws' finite sample value."""
    from alliance_meta.bayes.summaries import CENTRAL_ROWS, is_central

    rows, bayes_factors, infinite, central, heavy, short = [], [], [], [], [], []
    for row in frame.to_dict("records"):
        name = str(row["parameter"])
        if sampler_shortfalls(row.get("warning")):
            short.append(bayes_parameter_name(name))
        if name.startswith("bf_"):
            bf = row.get("exact_mean") if not is_finite(row.get("mean")) else row.get("mean")
            rows.append([bayes_parameter_name(name), bayes_factor_text(bf), "", "", "", "", ""])
            bayes_factors.append(name)
            continue
        mean, sd = (row.get("exact_" + key) if _infinite(row.get("exact_" + key)) else row.get(key)
                    for key in ("mean", "sd"))
        label, keys = bayes_parameter_name(name), ("hdi_lower", "hdi_upper")
        if is_central(name, metric, row.get("exact_sd", math.nan)) and is_finite(row.get("median")):
            # as the Results (and the forest plot) give it: median and equal-tailed interval
            (central if name in CENTRAL_ROWS else heavy).append(label)
            label, mean, keys = label + CENTRAL_MARK, row["median"], ("eti_lower", "eti_upper")
        lower, upper = (_posterior_number(name, row.get(key)) for key in keys)
        if _infinite(mean) or _infinite(sd):
            infinite.append(bayes_parameter_name(name))
        rows.append([label, _posterior_number(name, mean, True), _posterior_number(name, sd),
                     f"[{lower}, {upper}]" if lower and upper else "",
                     apa_number(row["r_hat"], 2) if is_finite(row.get("r_hat")) else "",
                     apa_integer(row["ess_bulk"]) if is_finite(row.get("ess_bulk")) else "",
                     apa_integer(row["ess_tail"]) if is_finite(row.get("ess_tail")) else ""])
    hdi = f"{probability_percent(settings.hdi_prob)}% HDI"
    header = ["Parameter", "Mean", "SD", hdi, "R-hat", "ESS bulk", "ESS tail"]
    defined = _bayes_note({str(name) for name in frame.get("parameter", [])}, metric)
    note = (f"Posterior summaries. {defined + ' ' if defined else ''}HDI = highest-density interval; R-hat = "
            "potential scale reduction factor; ESS = effective sample size (bulk, tail).")
    if bayes_factors:
        note += (" BF\u2081\u2080 = Bayes factor of the model with an effect (\u03bc \u2260 0) or with heterogeneity "
                 "(\u03c4 > 0) against the model without, from the exact marginal likelihood, in the Mean column.")
    if central:
        note += (f" {CENTRAL_MARK} {listed(central)}: the posterior median (in the Mean column) and the "
                 f"{probability_percent(settings.hdi_prob)}% equal-tailed interval (in the HDI column), the exponentials "
                 "of those of \u03bc (\u03b8): unlike an HDI they are invariant under exp, and they exist where the "
                 "mean of a new study's odds ratio does not; the Results and the forest plot give the same.")
    if heavy:
        note += (f" {CENTRAL_MARK} {listed(heavy)}: the posterior median (in the Mean column) and the "
                 f"{probability_percent(settings.hdi_prob)}% equal-tailed interval (in the HDI column): the SD of "
                 "the posterior does not exist (its tail falls too slowly with so few studies), so the mean of the "
                 "draws has no reliable error.")
    if infinite:
        note += (f" \u221e: the exact posterior moment of {', '.join(infinite)} is infinite (heavy tail); the "
                 f"{'interval' if central or heavy else 'HDI'} describes it.")
    if short:  # the stage's policy repeats such a fit once: these rows still fall short (the Results say so too)
        note += (f" Short of the convergence criteria even after the sampler's repeat (divergent transitions, R-hat or "
                 f"ESS; the warning column of bayes.csv): {listed(short)}.")
    return ManuscriptTable("Bayesian random-effects model", header, rows, note, stub_symbols=True)


def psychometric_table(frame: pd.DataFrame, metric: str, level: float = 95,
                       settings: TableSettings = TableSettings()) -> ManuscriptTable:
    """Hunter-Schmidt meta-analysis (psychometric.csv): one row per method (bare-bones, corrections)."""
    from alliance_meta.report.psychometric import OVER_100_PERCENT, left_out_studies, percent_number

    def r(value):
        return apa_number(value, 2, leading_zero=False) if is_finite(value) else ""

    def sd(value):  # an SD of correlations, below 1 as they are: no leading zero either (APA; the Results' ".08")
        return apa_number(value, 3, leading_zero=False) if is_finite(value) else ""

    rows = [[str(row["method"]).replace("_", " "), apa_integer(row["k"]), apa_integer(row["n"]), r(row["r_bar"]),
             sd(row["sd_res"]), r(row["rho"]), sd(row["sd_rho"]),
             f"[{r(row['ci_lower'])}, {r(row['ci_upper'])}]" if is_finite(row["ci_lower"]) else "",
             f"[{r(row['cr_lower'])}, {r(row['cr_upper'])}]" if is_finite(row["cr_lower"]) else "",
             percent_number(row["percent_artifact_variance"])]
            for row in frame.to_dict("records")]
    header = ["Method", "k", "N", "Mean r", "SD_res", "ρ", "SD_ρ", f"{level:g}% CI",
              f"{settings.credibility_level:g}% CR", "% artifact variance"]
    bias = ("each corrected for its small-sample bias first" if settings.correct_bias
            else "not corrected for small-sample bias")
    note = ("Psychometric (Hunter–Schmidt) meta-analysis as in the R package psychmeta (Dahlke & Wiernik, 2019). "
            "k = studies (a study's correlations combined); N = total sample size (a study with several correlations "
            f"counts with their mean n, Σn²/Σn); mean r = sample-size-weighted mean correlation ({bias}); SD_res = "
            "standard deviation of r left after sampling error (and, corrected, the artifacts); ρ = mean corrected "
            "correlation; SD_ρ = its standard deviation; CI = confidence interval; CR = credibility interval of the "
            "true correlations; % artifact variance = share of the observed variance of r due to sampling error and "
            "the artifacts corrected.")
    left_out = [left_out_studies(row) for row in frame.to_dict("records") if row["method"] == "individual"]
    if any(left_out):  # why its k is below the bare-bones k, as the Results say
        note += f" Individual corrections: {'; '.join(filter(None, left_out))}."
    over = [str(row["method"]).replace("_", " ") for row in frame.to_dict("records")
            if is_finite(row["percent_artifact_variance"]) and float(row["percent_artifact_variance"]) > 100]
    if over:  # 1,356.5% (two studies) read as an error
        note += (f" Over 100% ({', '.join(over)}): {OVER_100_PERCENT} (uncapped, as psychmeta; "
                 "Schmidt & Hunter, 2015).")
    if any(is_finite(row["k"]) and float(row["k"]) == 1 for row in frame.to_dict("records")):  # one_study: blanks
        note += (" Blank at k = 1: the variance of the observed correlations across studies, and the SDs, "
                 "credibility interval and % artifact variance that rest on it, need at least two studies.")
    return ManuscriptTable("Psychometric meta-analysis", header, rows, note)


def _judgement(downgrade, reason) -> str:
    """A domain's cell: ``Not serious``, ``Serious (−1)``, ``Very serious (−2)``, ``Not assessed``."""
    reason = str(reason)
    if reason.startswith("not assessed") or reason.startswith("not assessable"):
        return "Not assessed"
    if reason.startswith("reviewers:"):
        return f"Reviewers ({apa_integer(downgrade)})" if downgrade else "Reviewers: not serious"
    words = {0: "Not serious", -1: "Serious (−1)", -2: "Very serious (−2)"}
    return words.get(int(downgrade), apa_integer(downgrade))


def _no_prediction_interval(row: dict) -> bool:
    """Whether a summary-of-findings row has no prediction interval, as the pooled table and the Results say: a
    common-effect model, or one study whose interval is its CI (tau^2 set to 0; summary_of_findings.csv repeats
    the CI there, as pooled.csv does). A three-level fit of one study with several effect sizes keeps its PI."""
    if row.get("method") in COMMON_EFFECT_METHODS:
        return True
    same = all(is_finite(row.get(a)) and is_finite(row.get(b)) and math.isclose(float(row[a]), float(row[b]))
               for a, b in (("pi_lower", "ci_lower"), ("pi_upper", "ci_upper")))
    return is_finite(row.get("k")) and float(row["k"]) == 1 and same


def summary_of_findings_table(frame: pd.DataFrame, metric: str, level: float = 95,
                              settings: TableSettings = TableSettings()) -> ManuscriptTable:
    """GRADE summary of findings: k (N), effect [CI], PI, each domain's suggested judgement, certainty."""
    show = display(metric)
    domains = [("risk_of_bias", "Risk of bias"), ("inconsistency", "Inconsistency"), ("indirectness", "Indirectness"),
               ("imprecision", "Imprecision"), ("publication_bias", "Publication bias")]
    rows, reasons = [], []
    for row in frame.to_dict("records"):
        rows.append([str(row["outcome"]), f"{apa_integer(row['k'])} ({apa_integer(row['n'])})",
                     show.with_interval(row["estimate"], row["ci_lower"], row["ci_upper"]),
                     "" if _no_prediction_interval(row) else _interval(show, row["pi_lower"], row["pi_upper"])]
                    + [_judgement(row[f"{d}_downgrade"], row[f"{d}_reason"]) for d, _ in domains]
                    + [f"{str(row['certainty']).capitalize()} (suggested)"])
        reasons += [f"{label}: {row[f'{d}_reason']}" for d, label in domains]
    header = ["Outcome", "k (N)", f"{show.symbol} [{level:g}% CI]", f"{level:g}% PI", *(label for _, label in domains),
              "Certainty"]
    start = str(frame["start"].iloc[0]) if len(frame) else "low"
    # the test of the CIs, named as the pooled table names it (interval_test: Wald for one study under knha, the
    # ad hoc variant under pooling.knha_adhoc, which the row's note says as pooled.csv's does)
    tests = [CI_TEST_NAMES.get(test, str(test)) for test in
             dict.fromkeys(interval_test(row) for row in frame.to_dict("records") if isinstance(row.get("test"), str))]
    note = (f"GRADE certainty suggested from the results, starting at {start}; the reviewers confirm or override each "
            "domain. k = studies" + (" (the three-level model's pooled table counts effect sizes)"
                                     if settings.dependence == "multilevel" else "")
            + "; N = patients summed over the studies (each study's largest n). "
            + (f"{level:g}% CI: {', '.join(tests)}. " if tests else "")
            + "PI = prediction interval" + (" (none for one study or a common-effect model)"
                                            if any(_no_prediction_interval(row) for row in frame.to_dict("records"))
                                            else "") + ". "
            + "; ".join(reasons) + ".")
    return ManuscriptTable("Summary of findings (GRADE)", header, rows, note, ["l"] + ["r"] * 3 + ["l"] * 6,
                           label_rows=True)


def study_characteristics_table(frame: pd.DataFrame, metric: str, level: float = 95,
                                settings: TableSettings = TableSettings()) -> ManuscriptTable:
    """Characteristics of the included studies (``study_characteristics.csv``): one row per study with its N,
    number of effect sizes, moderators, overall risk of bias and effect [CI]."""
    from alliance_meta.report.summary import STUDY_COLUMNS, STUDY_EFFECT_COLUMNS

    show = display(metric)
    back = set(back_transformed_columns(metric))

    def text(value) -> str:
        return "" if pd.isna(value) else str(value)

    # a moderator coded only in the other family (or nowhere) is no column of this family's table
    moderators = [c for c in frame.columns if c not in {*STUDY_COLUMNS, *STUDY_EFFECT_COLUMNS, "rob_overall", *back}
                  and any(text(value).strip() for value in frame[c])]
    rob = "rob_overall" in frame and any(text(value).strip() for value in frame["rob_overall"])

    # Year and N only where some study has one
    year = bool("year" in frame and pd.to_numeric(frame["year"], errors="coerce").notna().any())
    size = bool("n" in frame and pd.to_numeric(frame["n"], errors="coerce").notna().any())
    # the year as the forest plots cite it: Smith (2004a) and Smith (2004b) told apart
    rows = [[single_spaced(text(row["authors"])) if "authors" in frame and text(row["authors"]).strip()
             else text(row["study_id"]),
             *([cited] if year else []),
             *([apa_integer(row["n"]) if is_finite(row["n"]) else ""] if size else []),
             apa_integer(row["k_effect_sizes"]),
             *(text(row[m]) for m in moderators), *([text(row["rob_overall"])] if rob else []),
             show.with_interval(row["estimate"], row["ci_lower"], row["ci_upper"])]
            for (_, row), cited in zip(frame.iterrows(), citation_years(frame))]
    names = [m.replace("_", " ").capitalize() for m in moderators]  # the sheet's columns: never symbols in Word
    header = ["Study", *(["Year"] if year else []), *(["N"] if size else []), "k", *names,
              *(["Risk of bias"] if rob else []), f"{show.symbol} [{level:g}% CI]"]
    unknown_n = size and pd.to_numeric(frame["n"], errors="coerce").isna().any()
    # every study of one effect size: no composite was made, and no study's effect sizes can differ ("mixed")
    several = bool((pd.to_numeric(frame["k_effect_sizes"], errors="coerce") > 1).any())
    effect = (f"the study's effect sizes combined into one "
              f"{composite_text(settings.aggregate_method, settings.aggregate_rho)}, " if several
              else "the study's effect size, ")
    note = (("N = the study's sample size (its largest n"
             + ("; blank where the sheet gives none" if unknown_n else "") + "); " if size else "")
            + f"k = effect sizes of the study; {show.symbol} = {effect}"
            f"with its Wald {level:g}% CI" + ("" if metric == "smd" else f", back-transformed from "
                                              f"{METRIC_NAMES[metric]}")
            + ("; mixed = the study's effect sizes differ in this moderator" if moderators and several else "")
            + ("; risk of bias = the overall judgement" + (", derived from the domains where the sheet leaves it "
                                                           "empty" if settings.rob_overall_derived else "")
               + (" (mixed: it differs between the study's effect sizes)" if several else "") if rob else "")
            # the continuity correction of a 2x2 table with a zero cell, as the Methods state it
            + (f"; {ZERO_CELL_RULE}" + (f" ({DOUBLE_ZERO_KEPT})" if settings.double_zero_tables else "")
               if settings.zero_cell_tables else "") + ".")
    align = ["l", *(["r"] * (year + size)), "r", *(["l"] * (len(moderators) + rob)), "r"]
    return ManuscriptTable("Characteristics of the included studies", header, rows, note, align, tuple(names))


def back_transformed_columns(metric: str) -> list[str]:
    """The back-transformed columns that :func:`~alliance_meta.analyses.results.with_back_transform`
    adds for ``metric`` (``r``, ``r_ci_lower``, ``r_ci_upper``, ...)."""
    from alliance_meta.engines.transforms import back_transform

    return [f"{prefix}{suffix}" for prefix in back_transform(0.0, metric) for suffix in ("", "_ci_lower", "_ci_upper")]


def generic_table(frame: pd.DataFrame, title: str) -> ManuscriptTable:
    """Every column of ``frame``, formatted for reading."""
    readable = readable_frame(frame)
    return ManuscriptTable(title, [str(c) for c in frame.columns], readable.astype(str).values.tolist())


BUILDERS = {"pooled": pooled_table, "moderators": moderators_table, "subgroups": subgroups_table,
            "bias": bias_table, "bayes": bayes_table, "summary_of_findings": summary_of_findings_table,
            "psychometric": psychometric_table, "study_characteristics": study_characteristics_table}


def manuscript_table(name: str, frame: pd.DataFrame, metric: str, level: float = 95,
                     settings: TableSettings = TableSettings()) -> ManuscriptTable:
    """The manuscript table of the CSV called ``name`` (``pooled``, ``bias`` ...); generic otherwise. ``settings``:
    the run's, whose values the notes say (the study composites, the credibility level ...)."""
    builder = BUILDERS.get(name)
    if builder is None:
        return generic_table(frame, name.replace("_", " ").capitalize())
    table = builder(frame, metric, level, settings)
    # no rows, no note on how they were made (moderators: [] read "Mixed-effects meta-regression (REML) per
    # moderator; ...", an analysis that was not run): in the report and the Word, Markdown and LaTeX tables alike
    if frame.empty:
        return replace(table, note="")
    # the note defines the abbreviations of the table ("(REML)" was defined nowhere; APA 2020, sec. 7.14)
    return replace(table, note=note_defined(table.note, table.title, *table.header,
                                            *(cell for row in table.rows for cell in row), verbatim=table.verbatim,
                                            headings=(table.title, *table.header)))


def marked_simulated(table: ManuscriptTable) -> ManuscriptTable:
    """``table`` of simulated data (rows marked ``simulated = yes``: the demo sheet's or a reviewer's own), saying
    so in its title and note, so that no copy of it passes for a table of real studies (as the figures' note and
    the report's banner); not "demo data", which a reviewer's simulated sheet is not (:data:`SIMULATED_DATA`)."""
    # one parenthesis: "Summary of findings (GRADE; SIMULATED data)", not "(GRADE) (SIMULATED data)"
    title = (f"{table.title[:-1]}; {SIMULATED_DATA})" if table.title.endswith(")")
             else f"{table.title} ({SIMULATED_DATA})")
    return replace(table, title=title, note=f"{SIMULATED_DATA_NOTE} {table.note}".strip())


def family_title(table: ManuscriptTable, family: str) -> ManuscriptTable:
    """``table`` titled with its family ("Pooled estimates: outcome family"), for documents holding both."""
    from alliance_meta.wording import family_name

    return replace(table, title=f"{table.title}: {family_name(family)}")


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(table: ManuscriptTable) -> str:
    """A GitHub/pandoc pipe table with the title above and the note below."""
    rule = [":--" if a == "l" else "--:" for a in table.alignment()]
    lines = [f"**{table.title}**", "", "| " + " | ".join(map(_markdown_cell, table.header)) + " |",
             "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(map(_markdown_cell, row)) + " |" for row in table.rows]
    if table.note:
        lines += ["", f"*Note.* {table.note}"]
    return "\n".join(lines) + "\n"


#: The symbols of :data:`~alliance_meta.report.formatting.TYPESET_SYMBOLS` in LaTeX's math mode, as Word and the
#: HTML report set them (an italic symbol, an upright subscript that is a label): $Q_{\mathrm{M}}$, $\hat{R}$,
#: $\mathit{SD}_{\mathrm{res}}$, $\mathit{SD}_{\rho}$.
LATEX_SYMBOLS = {"Q": "Q", "SD": r"\mathit{SD}", "R\u0302": r"\hat{R}"}
LATEX_SUBSCRIPTS = {"\u03c1": r"\rho"}


def latex_escape(text: str, verbatim=()) -> str:
    """Escape LaTeX specials and map typographic characters to LaTeX; the symbols of
    :data:`~alliance_meta.report.formatting.TYPESET_SYMBOLS` (QM, R-hat, SD_res) as :data:`LATEX_SYMBOLS`, except in
    initials and ``verbatim`` (text from the data; :func:`~alliance_meta.report.formatting.typeset_parts`)."""
    pieces = []
    for passage, kind in typeset_parts(text, verbatim):
        if kind == "symbol":
            pieces.append(f"${LATEX_SYMBOLS[passage]}$")
        elif kind == "subscript":  # after its symbol, inside its math
            subscript = LATEX_SUBSCRIPTS.get(passage, r"\mathrm{" + passage + "}")
            pieces[-1] = pieces[-1][:-1] + f"_{{{subscript}}}$"
        else:
            pieces.append("".join(LATEX_SPECIALS.get(character, character) for character in passage))
    escaped = "".join(pieces)
    # the digits of one index in one command: BF\textsubscript{10}, not \textsubscript{1}\textsubscript{0}
    while (merged := re.sub(r"(\\text(sub|super)script\{[^{}]*)\}\\text\2script\{", r"\1", escaped)) != escaped:
        escaped = merged
    return escaped


def to_latex(table: ManuscriptTable) -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
    lines = [r"\begin{table}[htbp]", r"\centering", rf"\caption{{{latex_escape(table.title)}}}",
             rf"\begin{{tabular}}{{{''.join(table.alignment())}}}", r"\toprule",
             " & ".join(latex_escape(h, table.verbatim) for h in table.header) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(c, table.verbatim) for c in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.note:
        lines.append(rf"\par\smallskip{{\footnotesize\textit{{Note.}} {latex_escape(table.note, table.verbatim)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
