"""Generate the SIMULATED demo sheet data/raw/studies.csv (seeded, NumPy only).

Every row is invented: ``simulated = yes`` on every row and the authors read
"Simulated study 001". The parameters are set from published figures
(/work/shared/DOMAIN.md, data/raw/README.md) so that the pipeline's numbers look
like a real alliance review:

* outcome family (Fluckiger et al. 2018; Horvath et al. 2011): 125 studies with
  1-5 correlations each; true mean r = .28 (Fisher z 0.288), between-study SD
  tau = 0.10 on the z scale (I^2 about 50-60% for per-study composites); on z,
  patient-rated +0.03, therapist-rated -0.03, late timing +0.04, early -0.02
  (the claims reviewers test), youth -0.09 (Karver et al. 2018: r = .19);
* dropout family (Sharf, Primavera & Diener 2010): 25 studies with 1-4 effect
  sizes, completers vs dropouts, true d = 0.55 (stronger alliance, staying in
  treatment), tau = 0.15 on the d scale.

Effect sizes of one study share half their sampling error (the same patients) and
differ by a small within-study SD (0.05). Each effect size is reported as a study
would: one input kind drawn per row, rounded like a paper (2 decimals for r, t, F,
d; 3 for p and Fisher z; whole numbers for n and counts), some statistics reported
the other way round (``reverse = yes``) and unsigned F, chi2 and p with
``direction``. A few rows also give p beside r (two inputs that must agree). A few
correlations are then re-expressed, with a random stream of their own (seed + 1, so the
other rows stay as they were), as Kendall's tau (tau = 2 arcsin(r)/pi) and as a
standardized regression coefficient (beta = r - .05 for r >= .05, Peterson & Brown 2005).

Psychometric artifacts (SIMULATED, from no source): about 80% of the outcome rows give
the reliability of the alliance measure ``rxx`` (mean .88, SD .04, within [.70, .97]) and
about 70% that of the outcome measure ``ryy`` (mean .85, SD .05, within [.65, .96]), two
decimals; the other outcome rows and every dropout row give none, and ``ux`` is empty (no
range restriction). They are drawn from a generator of their own (seed ``(SEED, 14)``) after
everything else, so every other cell is the same as without them.

Run: ``python data/raw/make_demo_sheet.py`` (writes studies.csv next to itself).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SEED = 20181201
OUTCOME_STUDIES = 125
DROPOUT_STUDIES = 25
OUTCOME_MEAN_R = 0.28
OUTCOME_TAU_Z = 0.10
WITHIN_STUDY_SD = 0.05
SHARED_ERROR_SHARE = 0.5
DROPOUT_MEAN_D = 0.55
DROPOUT_TAU_D = 0.15
RATER_SHIFT = {"patient": 0.03, "therapist": -0.03, "observer": 0.0}
TIMING_SHIFT = {"early": -0.02, "mid": 0.0, "late": 0.04, "averaged": 0.01}
YOUTH_SHIFT = -0.09
LOGIT_SCALE = math.pi / math.sqrt(3.0)
ARTIFACT_SEED = (SEED, 14)
RELIABILITY = {"rxx": (0.88, 0.04, 0.70, 0.97, 0.80), "ryy": (0.85, 0.05, 0.65, 0.96, 0.70)}
"""Simulated reliabilities: mean, SD, lower and upper limit, share of outcome rows reporting one."""

OUTCOME_KINDS = {"r": 0.36, "rho": 0.06, "fisher_z": 0.05, "partial_r": 0.07, "t_df": 0.08, "f_df": 0.06,
                 "p_n": 0.06, "chi2": 0.05, "counts": 0.05, "or_ci": 0.05, "log_or_se": 0.04,
                 "r_and_p": 0.07}
DROPOUT_KINDS = {"g": 0.11, "d": 0.12, "means_sds": 0.16, "t_groups": 0.11, "f_groups": 0.09,
                 "p_groups": 0.12, "counts": 0.08, "or_ci": 0.09, "log_or_se": 0.07, "chi2": 0.07}
MODALITIES = {"CBT": 0.42, "psychodynamic": 0.2, "humanistic": 0.1, "interpersonal": 0.08,
              "integrative": 0.12, "other": 0.08}
MEASURES = {"WAI": 0.45, "CALPAS": 0.12, "HAq": 0.15, "VTAS": 0.07, "Penn": 0.05, "TARS": 0.06, "other": 0.1}
RATERS = {"patient": 0.6, "therapist": 0.25, "observer": 0.15}
TIMINGS = {"early": 0.5, "mid": 0.2, "late": 0.2, "averaged": 0.1}
FORMATS = {"individual": 0.8, "group": 0.1, "couple": 0.05, "family": 0.05}
SETTINGS = {"outpatient": 0.8, "inpatient": 0.2}
COUNTRIES = ("USA", "Germany", "United Kingdom", "Canada", "Netherlands", "Switzerland", "Australia",
             "Sweden", "Norway", "Italy", "Spain", "Israel")
COLUMNS = ("study_id", "es_id", "authors", "year", "label", "family",
           "r", "n", "rho", "kendall_tau", "fisher_z", "partial_r", "n_covariates", "beta", "g", "d", "n1", "n2",
           "m1", "sd1", "m2", "sd2", "t", "df", "f", "chi2", "p", "n11", "n12", "n21", "n22",
           "odds_ratio", "or_ci_lower", "or_ci_upper", "log_or", "log_or_se", "reverse", "direction",
           "rxx", "ryy", "ux", "rater", "modality", "measure", "timing", "format", "population", "published", "design",
           "country", "setting", "internet", "rob_participation", "rob_attrition", "rob_prognostic_factor",
           "rob_outcome", "rob_confounding", "rob_analysis", "rob_overall", "simulated")

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(400)


def p_two_sided(t, df):
    """Two-sided p of Student's t: I_x(df/2, 1/2) with x = df/(df + t^2) (Abramowitz &
    Stegun 26.7.1), the incomplete beta integral by 400-point Gauss-Legendre."""
    t, df = np.abs(np.asarray(t, float)), np.asarray(df, float)
    x, a = df / (df + t**2), df / 2
    s, w = (_NODES + 1) / 2, _WEIGHTS / 2
    log_beta = np.array([math.lgamma(v) + math.lgamma(0.5) - math.lgamma(v + 0.5) for v in a])
    integral = np.exp((a[:, None] - 1) * np.log(s) - 0.5 * np.log1p(-x[:, None] * s)) @ w
    return np.exp(a * np.log(x) - log_beta) * integral


def allot(rng, shares: dict, size: int) -> np.ndarray:
    """Exactly ``round(share * size)`` labels of each kind (largest remainder), shuffled,
    so that even rare input kinds appear on several rows."""
    weights = np.array(list(shares.values()), float)
    exact = weights / weights.sum() * size
    counts = np.floor(exact).astype(int)
    counts[np.argsort(counts - exact)[: size - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.array(list(shares)), counts))


def choose(rng, options: dict, size: int) -> np.ndarray:
    """Draw ``size`` labels with the given probabilities."""
    labels = np.array(list(options))
    weights = np.array(list(options.values()), float)
    return labels[rng.choice(len(labels), size=size, p=weights / weights.sum())]


def two_by_two(rng, log_odds_ratio, n, favourable_rate):
    """Counts n11, n12, n21, n22 (rows stronger/weaker alliance by a median split,
    columns favourable/unfavourable) with the given odds ratio and overall rate."""
    odds_ratio = np.exp(log_odds_ratio)
    low, high = np.full(len(n), 1e-9), np.full(len(n), 1 - 1e-9)
    for _ in range(60):  # bisection for the weaker group's favourable rate
        weaker = (low + high) / 2
        stronger = odds_ratio * weaker / (1 - weaker + odds_ratio * weaker)
        too_high = (weaker + stronger) / 2 > favourable_rate
        high, low = np.where(too_high, weaker, high), np.where(too_high, low, weaker)
    rows_stronger = n // 2
    n11 = rng.binomial(rows_stronger, stronger)
    n21 = rng.binomial(n - rows_stronger, weaker)
    counts = np.stack([n11, rows_stronger - n11, n21, n - rows_stronger - n21], axis=1)
    return np.maximum(counts, 1)  # no empty cells: papers with an empty cell report exact tests


def study_frame(rng, family: str, studies: int, first_number: int) -> dict[str, np.ndarray]:
    """Study-level and effect-size-level codes of one family, one entry per effect size."""
    per_study = rng.choice([1, 2, 3, 4, 5], size=studies, p=[0.22, 0.25, 0.25, 0.16, 0.12]) if family == "outcome" \
        else rng.choice([1, 2, 3, 4], size=studies, p=[0.2, 0.3, 0.3, 0.2])
    study = np.repeat(np.arange(studies), per_study)
    numbers = first_number + np.arange(studies)
    population = np.where(rng.random(studies) < (0.15 if family == "outcome" else 0.2), "youth", "adult")
    study_codes = {
        "study_number": numbers,
        "year": rng.integers(1985, 2018, size=studies),
        "modality": choose(rng, MODALITIES, studies),
        "measure": np.where(population == "youth", choose(rng, {"TARS": 0.5, "WAI": 0.3, "other": 0.2}, studies),
                            choose(rng, MEASURES, studies)),
        "format": choose(rng, FORMATS, studies),
        "population": population,
        "published": np.where(rng.random(studies) < 0.85, "yes", "no"),
        "design": np.where(rng.random(studies) < 0.45, "RCT", "naturalistic"),
        "country": np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), size=studies)],
        "setting": choose(rng, SETTINGS, studies),
        "internet": np.where(rng.random(studies) < 0.08, "yes", "no"),
        "n_total": np.clip(np.round(np.exp(rng.normal(np.log(70), 0.6, size=studies))), 20, 600).astype(int),
        "study_effect": rng.normal(0, OUTCOME_TAU_Z if family == "outcome" else DROPOUT_TAU_D, size=studies),
        "shared_error": rng.normal(size=studies),
    }
    rows = {name: values[study] for name, values in study_codes.items()}
    rows["position"] = np.concatenate([np.arange(1, k + 1) for k in per_study])
    rows["rater"] = choose(rng, RATERS, len(study))
    rows["timing"] = choose(rng, TIMINGS, len(study))
    rows["family"] = np.full(len(study), family)
    return rows


def outcome_rows(rng, rows: dict) -> dict:
    """Correlations (true z + moderators + study effect + sampling error) and their report."""
    size = len(rows["family"])
    base = np.arctanh(OUTCOME_MEAN_R) - np.mean([RATER_SHIFT[v] for v in rows["rater"]]) \
        - np.mean([TIMING_SHIFT[v] for v in rows["timing"]]) - YOUTH_SHIFT * np.mean(rows["population"] == "youth")
    true_z = (base + np.vectorize(RATER_SHIFT.get)(rows["rater"]) + np.vectorize(TIMING_SHIFT.get)(rows["timing"])
              + YOUTH_SHIFT * (rows["population"] == "youth") + rows["study_effect"]
              + rng.normal(0, WITHIN_STUDY_SD, size))
    kind = allot(rng, OUTCOME_KINDS, size)
    n = rows["n_total"] - rng.integers(0, 6, size)  # a few cases missing per measure
    covariates = rng.integers(1, 4, size)
    degrees = np.where(kind == "partial_r", n - covariates - 3, n - 3)
    error = np.sqrt(SHARED_ERROR_SHARE) * rows["shared_error"] + np.sqrt(1 - SHARED_ERROR_SHARE) * rng.normal(size=size)
    r = np.tanh(true_z + error / np.sqrt(degrees))
    t = r * np.sqrt((n - 2) / (1 - r**2))
    p = p_two_sided(t, n - 2)
    # Papers write "p < .001" for tiny p: such rows report t instead, and r beside p only
    # where p >= .01 (three decimals then pin the correlation down).
    kind = np.where((kind == "p_n") & (p < 0.001), "t_df", kind)
    kind = np.where((kind == "r_and_p") & (p < 0.01), "r", kind)
    sign = np.where(r >= 0, "positive", "negative")
    reverse = (rng.random(size) < 0.2) & np.isin(kind, ["r", "t_df", "fisher_z", "partial_r"])
    flip = np.where(reverse, -1, 1)
    true_r = np.tanh(true_z)  # counts carry their own (binomial) sampling error
    counts = two_by_two(rng, 2 * true_r / np.sqrt(1 - true_r**2) * LOGIT_SCALE, n, 0.5)
    log_or = np.log(counts[:, 0] * counts[:, 3] / (counts[:, 1] * counts[:, 2]))
    log_or_se = np.sqrt((1 / counts).sum(axis=1))
    cells = {
        "r": np.where(np.isin(kind, ["r", "r_and_p"]), np.round(flip * r, 2), np.nan),
        "n": np.where(np.isin(kind, ["r", "r_and_p", "rho", "fisher_z", "partial_r", "p_n", "chi2"]), n, np.nan),
        "rho": np.where(kind == "rho", np.round(np.tanh(np.arctanh(r) * 0.97), 2), np.nan),
        "fisher_z": np.where(kind == "fisher_z", np.round(flip * np.arctanh(r), 3), np.nan),
        "partial_r": np.where(kind == "partial_r", np.round(flip * r, 2), np.nan),
        "n_covariates": np.where(kind == "partial_r", covariates, np.nan),
        "t": np.where(kind == "t_df", np.round(flip * t, 2), np.nan),
        "df": np.where(np.isin(kind, ["t_df", "f_df"]), n - 2, np.nan),
        "f": np.where(kind == "f_df", np.round(t**2, 2), np.nan),
        "chi2": np.where(kind == "chi2", np.round(n * r**2, 2), np.nan),
        "p": np.where(np.isin(kind, ["p_n", "r_and_p"]), np.round(p, 3), np.nan),
        "direction": np.where(np.isin(kind, ["f_df", "chi2", "p_n"]), sign, ""),
        "reverse": np.where(reverse, "yes", "no"),
    }
    cells.update(_odds_ratio_cells(kind, counts, log_or, log_or_se))
    cells["kind"] = kind
    return cells


def dropout_rows(rng, rows: dict) -> dict:
    """Completers (group 1) vs dropouts (group 2) on the alliance; d > 0 = completers higher."""
    size = len(rows["family"])
    true_d = DROPOUT_MEAN_D + rows["study_effect"] + rng.normal(0, WITHIN_STUDY_SD, size)
    kind = allot(rng, DROPOUT_KINDS, size)
    n = rows["n_total"] - rng.integers(0, 4, size)
    n2 = np.maximum(np.round(n * rng.uniform(0.15, 0.4, size)).astype(int), 3)
    n1 = n - n2
    standard_error = np.sqrt(1 / n1 + 1 / n2 + true_d**2 / (2 * (n1 + n2)))
    error = np.sqrt(SHARED_ERROR_SHARE) * rows["shared_error"] + np.sqrt(1 - SHARED_ERROR_SHARE) * rng.normal(size=size)
    d = true_d + error * standard_error
    correction = 1 - 3 / (4 * (n1 + n2) - 9)
    t = d / np.sqrt(1 / n1 + 1 / n2)
    p = p_two_sided(t, n1 + n2 - 2)
    kind = np.where((kind == "p_groups") & (p < 0.001), "t_groups", kind)
    sign = np.where(d >= 0, "positive", "negative")
    reverse = (rng.random(size) < 0.2) & np.isin(kind, ["d", "t_groups"])  # dropouts minus completers
    flip = np.where(reverse, -1, 1)
    sd1, sd2 = rng.uniform(0.7, 1.1, size), rng.uniform(0.7, 1.1, size)
    pooled = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    m2 = rng.uniform(4.6, 5.4, size)
    counts = two_by_two(rng, true_d * LOGIT_SCALE, n, 1 - n2 / n)
    log_or = d * LOGIT_SCALE
    log_or_se = standard_error * LOGIT_SCALE
    two_groups = ["g", "d", "means_sds", "t_groups", "f_groups", "p_groups"]
    cells = {
        "g": np.where(kind == "g", np.round(d * correction, 2), np.nan),
        "d": np.where(kind == "d", np.round(flip * d, 2), np.nan),
        "n1": np.where(np.isin(kind, two_groups), n1, np.nan),
        "n2": np.where(np.isin(kind, two_groups), n2, np.nan),
        "m1": np.where(kind == "means_sds", np.round(m2 + d * pooled, 2), np.nan),
        "sd1": np.where(kind == "means_sds", np.round(sd1, 2), np.nan),
        "m2": np.where(kind == "means_sds", np.round(m2, 2), np.nan),
        "sd2": np.where(kind == "means_sds", np.round(sd2, 2), np.nan),
        "t": np.where(kind == "t_groups", np.round(flip * t, 2), np.nan),
        "f": np.where(kind == "f_groups", np.round(t**2, 2), np.nan),
        "p": np.where(kind == "p_groups", np.round(p, 3), np.nan),
        "reverse": np.where(reverse, "yes", "no"),
    }
    phi = (counts[:, 0] * counts[:, 3] - counts[:, 1] * counts[:, 2]) / np.sqrt(
        (counts[:, 0] + counts[:, 1]) * (counts[:, 2] + counts[:, 3])
        * (counts[:, 0] + counts[:, 2]) * (counts[:, 1] + counts[:, 3]))
    cells["chi2"] = np.where(kind == "chi2", np.round(counts.sum(axis=1) * phi**2, 2), np.nan)
    cells["n"] = np.where(kind == "chi2", counts.sum(axis=1), np.nan)
    chi2_sign = np.where(phi >= 0, "positive", "negative")
    cells["direction"] = np.where(np.isin(kind, ["f_groups", "p_groups"]), sign,
                                  np.where(kind == "chi2", chi2_sign, ""))
    cells.update(_odds_ratio_cells(kind, counts, log_or, log_or_se))
    cells["kind"] = kind
    return cells


def _odds_ratio_cells(kind, counts, log_or, log_or_se) -> dict:
    """2x2 counts, odds ratio with 95% CI, or log OR with SE, for the rows of those kinds."""
    is_counts, is_ci, is_log = kind == "counts", kind == "or_ci", kind == "log_or_se"
    cells = {name: np.where(is_counts, counts[:, column], np.nan)
             for column, name in enumerate(["n11", "n12", "n21", "n22"])}
    cells["odds_ratio"] = np.where(is_ci, np.round(np.exp(log_or), 2), np.nan)
    cells["or_ci_lower"] = np.where(is_ci, np.round(np.exp(log_or - 1.96 * log_or_se), 2), np.nan)
    cells["or_ci_upper"] = np.where(is_ci, np.round(np.exp(log_or + 1.96 * log_or_se), 2), np.nan)
    cells["log_or"] = np.where(is_log, np.round(log_or, 3), np.nan)
    cells["log_or_se"] = np.where(is_log, np.round(log_or_se, 3), np.nan)
    return cells


def artifact_cells(family: np.ndarray, seed=ARTIFACT_SEED) -> dict[str, np.ndarray]:
    """Simulated reliabilities ``rxx``, ``ryy`` (two decimals) on most outcome rows and an empty
    ``ux``, from a generator of their own so that the other columns do not change."""
    rng = np.random.default_rng(seed)
    outcome = family == "outcome"
    cells = {}
    for column, (mean, sd, low, high, share) in RELIABILITY.items():
        values = np.round(np.clip(rng.normal(mean, sd, len(family)), low, high), 2)
        cells[column] = np.where(outcome & (rng.random(len(family)) < share), values, np.nan)
    cells["ux"] = np.full(len(family), np.nan)
    return cells


ROB_SEED = (20181201, 15)
ROB_SHARES = {  # QUIPS domain: shares of low, moderate, high (SIMULATED, no source)
    "participation": (0.8, 0.15, 0.05), "attrition": (0.7, 0.22, 0.08), "prognostic_factor": (0.85, 0.13, 0.02),
    "outcome": (0.8, 0.16, 0.04), "confounding": (0.55, 0.33, 0.12), "analysis": (0.8, 0.16, 0.04),
}


def risk_of_bias_cells(study_id: np.ndarray, seed=ROB_SEED) -> dict[str, np.ndarray]:
    """Simulated QUIPS judgements, one per study and domain, written on every row of the study;
    ``rob_overall`` left empty (validation derives it). A generator of its own, so that the
    other columns do not change."""
    rng = np.random.default_rng(seed)
    studies, position = np.unique(study_id, return_inverse=True)
    cells = {}
    for domain, shares in ROB_SHARES.items():
        judged = np.array(["low", "moderate", "high"])[rng.choice(3, size=len(studies), p=shares)]
        cells[f"rob_{domain}"] = judged[position]
    cells["rob_overall"] = np.full(len(study_id), "")
    return cells


REEXPRESSED_ROWS = 5
"""Correlations re-expressed as Kendall's tau and as beta (each), for every input kind on several rows."""


def reexpress_correlations(rows: dict, seed: int) -> None:
    """Turn a few reported r (outcome rows of kind ``r``) into Kendall's tau or a standardized
    beta, in place: tau = 2 arcsin(r)/pi (inverse of r = sin(pi tau/2)); beta = r - .05 when
    r >= .05, else r (inverse of Peterson & Brown's r = beta + .05 [beta >= 0]); 2 decimals."""
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(rows["kind"] == "r")
    chosen = rng.choice(candidates, size=2 * REEXPRESSED_ROWS, replace=False)
    size = len(rows["family"])
    for name in ("kendall_tau", "beta"):
        rows[name] = np.full(size, np.nan)
    tau_rows, beta_rows = chosen[:REEXPRESSED_ROWS], chosen[REEXPRESSED_ROWS:]
    r = rows["r"]
    rows["kendall_tau"][tau_rows] = np.round(2 * np.arcsin(r[tau_rows]) / np.pi, 2)
    rows["beta"][beta_rows] = np.round(np.where(r[beta_rows] >= 0.05, r[beta_rows] - 0.05, r[beta_rows]), 2)
    rows["kind"][tau_rows], rows["kind"][beta_rows] = "kendall_tau", "beta"
    rows["r"] = np.where(np.isin(np.arange(size), chosen), np.nan, r)


def format_cell(value) -> str:
    """A cell as a paper would print it: whole numbers without decimals, blanks for missing."""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if value == 0:
            return "0"
        return str(int(value)) if float(value).is_integer() and abs(value) >= 1 else f"{value:.10g}"
    return str(value)


def make_demo_sheet(seed: int = SEED) -> list[dict[str, str]]:
    """All rows of the demo sheet, as text cells keyed by column."""
    rng = np.random.default_rng(seed)
    tables = []
    for family, studies, first, convert in (("outcome", OUTCOME_STUDIES, 1, outcome_rows),
                                            ("dropout", DROPOUT_STUDIES, OUTCOME_STUDIES + 1, dropout_rows)):
        rows = study_frame(rng, family, studies, first)
        rows.update(convert(rng, rows))
        tables.append(rows)
    rows = {name: np.concatenate([table.get(name, np.full(len(table["family"]), np.nan)) for table in tables])
            for name in set(tables[0]) | set(tables[1])}
    reexpress_correlations(rows, seed + 1)
    size = len(rows["family"])
    number = np.char.zfill(rows["study_number"].astype(str), 3)
    rows["study_id"] = np.char.add("S", number)
    rows["es_id"] = np.char.add(np.char.add(rows["study_id"], "-"), rows["position"].astype(str))
    rows["authors"] = np.char.add("Simulated study ", number)
    rows["label"] = np.char.add(np.char.add(rows["measure"].astype(str), ", "),
                                np.char.add(np.char.add(rows["rater"].astype(str), ", "), rows["timing"].astype(str)))
    rows["simulated"] = np.full(size, "yes")
    rows.update(artifact_cells(rows["family"]))
    rows.update(risk_of_bias_cells(rows["study_id"]))
    return [{column: format_cell(rows[column][i]) for column in COLUMNS} for i in range(size)]


def main() -> None:
    import csv

    rows = make_demo_sheet()
    path = Path(__file__).with_name("studies.csv")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    studies = len({row["study_id"] for row in rows})
    print(f"wrote {path}: {len(rows)} effect sizes from {studies} studies (SIMULATED)")


if __name__ == "__main__":
    main()
