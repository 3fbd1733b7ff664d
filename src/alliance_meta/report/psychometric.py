"""APA-style sentences for the psychometric meta-analysis (``psychometric.csv``).

Wording: APA (2020, sec. 6.36-6.46) for numbers and intervals; Schmidt & Hunter (2015,
ch. 3-4) for the quantities reported (mean observed r, percent of variance due to
sampling error and artifacts, mean true correlation rho with SD_rho, confidence and
credibility intervals).
"""

from __future__ import annotations

import math

import pandas as pd

from alliance_meta.analyses.psychometric import left_out_phrase
from alliance_meta.report.formatting import MINUS, apa_integer, apa_number, counted, is_finite

RELIABILITY_NAMES = {"rxx": "the alliance measure", "ryy": "the outcome measure"}


def _r(value: float) -> str:
    return apa_number(value, 2, leading_zero=False)


def _interval(lower: float, upper: float) -> str:
    return f"[{_r(lower)}, {_r(upper)}]"


#: What a share of artifact variance above 100% means (the text and the manuscript table say it alike).
OVER_100_PERCENT = "the correlations vary less than sampling error alone would make them"


def percent_number(value) -> str:
    """A share of artifact variance with one decimal and thousands separators (``1,356.5``); blank when missing:
    the text and the manuscript table write it alike."""
    return f"{float(value):,.1f}".replace("-", MINUS) if is_finite(value) else ""


def _percent(value: float) -> str:
    """``58.6%``; above 100% (Schmidt & Hunter's ratio of expected to observed variance, uncapped as in
    psychmeta) with what it means, which otherwise reads as an error."""
    text = f"{percent_number(value)}%"
    if float(value) > 100:
        text += f" (over 100%: {OVER_100_PERCENT})"
    return text


def _rows(table: pd.DataFrame) -> dict:
    return {row["method"]: row for _, row in table.iterrows()} if table is not None and len(table) else {}


def _value(row, name: str) -> float:
    value = float(row.get(name, math.nan))
    return value if math.isfinite(value) else math.nan


def _beyond_limits(bare, individual, distribution) -> list[str]:
    """Sentences on the printed values beyond ±1, the limits of a correlation: a corrected mean there (the
    reliabilities or range restriction too low for the observed correlations), and interval bounds there,
    given as computed (as psychmeta); with a few studies (k <= 3, where t(k - 1) is large) the CIs say little."""
    printed = []  # (row, the bounds the sentences print of it)
    for row in (bare, individual, distribution):
        if row is None or not math.isfinite(_value(row, "r_bar" if row is bare else "rho")):
            continue
        credibility = row is not bare or math.isfinite(_value(row, "percent_artifact_variance"))
        printed.append((row, ("ci_lower", "ci_upper") + (("cr_lower", "cr_upper") if credibility else ())))
    sentences = []
    if any(abs(_value(row, "rho")) > 1 for row, _ in printed if row is not bare):
        sentences.append("A corrected mean beyond \u00b11, the limits of a correlation, means that the reliabilities "
                         "(or the range restriction) are too low for the observed correlations: check them.")
    if any(abs(_value(row, bound)) > 1 for row, bounds in printed for bound in bounds):
        few = [int(row["k"]) for row, _ in printed if math.isfinite(_value(row, "k")) and row["k"] <= 3
               and any(abs(_value(row, bound)) > 1 for bound in ("ci_lower", "ci_upper"))]
        sentences.append("Bounds beyond \u00b11 are given as computed (the mean \u00b1 a quantile times its standard "
                         "error or SD, as in psychmeta)"
                         + (f": with k = {counted(min(few), 'study', 'studies')} the confidence intervals say little."
                            if few else "."))
    return sentences


def left_out_studies(individual) -> str:
    """The studies the individual row left out (``2 of 16 studies without rxx left out``, from its columns
    ``k_left_out`` and ``left_out_lacking``): why its k is below the bare-bones k; "" when none, or in a table
    without the columns (an earlier run's)."""
    left_out, lacking = individual.get("k_left_out"), individual.get("left_out_lacking")
    if not is_finite(left_out) or not is_finite(individual.get("k")):
        return ""
    lacking = lacking if isinstance(lacking, str) else ""  # an empty cell reads as NaN
    return left_out_phrase(int(left_out), int(individual["k"]) + int(left_out), lacking)


def _study_warnings(individual) -> list[str]:
    """The individual row's notes on studies a reader must check, as sentences: corrected correlations beyond
    ±1 that the mean includes (a reliability typed wrongly or too low) and ux above 1 (range enhancement, or the
    ratio written the other way round)."""
    sentences = []
    for part in str(individual.get("note", "")).split("; "):
        if part.startswith(("corrected correlations outside", "ux above 1")):
            part = part.replace("ux above 1", "The range-restriction ratio ux is above 1", 1)
            sentences.append(part[0].upper() + part[1:].replace("(-1, 1)", "(−1, 1)") + ".")
    return sentences


def psychometric_sentence(table: pd.DataFrame, level: float = 95, cred_level: float = 80,
                          counts: dict | None = None) -> str:
    """A paragraph on the rows of ``psychometric.csv`` that exist, e.g. ``A Hunter-Schmidt
    psychometric meta-analysis of k = 120 studies (N = 9,876) gave a mean observed correlation
    of r = .25, 95% CI [.22, .28]; ...``. Empty when there is no bare-bones row. Where it has the same
    studies as the pooled sentence (``counts``: ``studies``, ``n``, each study's largest n) but another N,
    it says why."""
    rows = _rows(table)
    bare = rows.get("bare_bones")
    if bare is None or not math.isfinite(float(bare["r_bar"])):
        return ""
    n_text = f"N = {apa_integer(bare['n'])}"
    counts = counts or {}
    same_studies = counts.get("studies") == bare["k"] and math.isfinite(float(counts.get("n", math.nan)))
    if same_studies and round(float(counts["n"])) != round(float(bare["n"])):
        n_text += (": a study with several correlations counts with their mean n, \u03a3n\u00b2/\u03a3n, "
                   "as psychmeta averages them")
    text = (f"A Hunter\u2013Schmidt psychometric meta-analysis (Schmidt & Hunter, 2015) of "
            f"k = {counted(bare['k'], 'study', 'studies')} ({n_text}) gave a sample-size-weighted "
            f"mean observed correlation of r\u0304 = {_r(bare['r_bar'])}, {level:g}% CI "
            f"{_interval(bare['ci_lower'], bare['ci_upper'])}")
    if math.isfinite(float(bare["percent_artifact_variance"])):
        text += (f"; sampling error accounted for {_percent(bare['percent_artifact_variance'])} of the "
                 f"variance of the observed correlations (SD_res = {_r(bare['sd_res'])}, {cred_level:g}% "
                 f"credibility interval {_interval(bare['cr_lower'], bare['cr_upper'])})")
    sentences = [text + "."]
    individual = rows.get("individual")
    if individual is not None and math.isfinite(float(individual["rho"])):
        corrected = str(individual["note"]).split(";")[0].removeprefix("corrected for ").strip() or "artifacts"
        left_out = left_out_studies(individual)
        sentences.append(
            f"Correcting the correlations of each of k = {apa_integer(individual['k'])} studies individually for "
            f"{corrected}{f' ({left_out})' if left_out else ''}, "
            f"the mean true correlation was \u03c1\u0304 = {_r(individual['rho'])}, {level:g}% CI "
            f"{_interval(individual['ci_lower'], individual['ci_upper'])}, SD_\u03c1 = {_r(individual['sd_rho'])}, "
            f"{cred_level:g}% credibility interval {_interval(individual['cr_lower'], individual['cr_upper'])}.")
    if individual is not None:
        sentences += _study_warnings(individual)
    distribution = rows.get("artifact_distribution")
    if distribution is not None and math.isfinite(float(distribution["rho"])):
        note = str(distribution["note"])
        restricted = "range restriction" in note.split("(")[0]
        artifacts = ("the reliabilities and of range restriction" if restricted else "the reliabilities")
        sentences.append(
            f"Correcting the mean correlation of all k = {apa_integer(distribution['k'])} studies with artifact "
            f"distributions of {artifacts} (interactive method"
            f"{', ' + ('Case IV' if 'Case IV' in note else 'Case II') if restricted else ''}) gave "
            f"\u03c1\u0304 = {_r(distribution['rho'])}, "
            f"{level:g}% CI {_interval(distribution['ci_lower'], distribution['ci_upper'])}, "
            + (f"SD_\u03c1 = {_r(distribution['sd_rho'])}, {cred_level:g}% credibility interval "
               f"{_interval(distribution['cr_lower'], distribution['cr_upper'])}; sampling error and differences in "
               f"{'the artifacts' if restricted else 'reliability'} accounted for "
               f"{_percent(distribution['percent_artifact_variance'])} of the observed variance."
               if math.isfinite(_value(distribution, "sd_rho")) or int(distribution["k"]) < 2 else
               "SD_\u03c1 and its credibility interval were not estimable: the range-restriction correction is not "
               "defined for every correlation within four SDs of the mean (a u ratio above 1)."))
    sentences += _beyond_limits(bare, individual, distribution)
    if individual is None and distribution is None:
        sentences.append("No study reported the reliability of its measures, so the correlations were not "
                         "corrected for unreliability.")
    return " ".join(sentences)
