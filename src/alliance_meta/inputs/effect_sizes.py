"""Effect sizes: every input kind of the codebook in the family's analysis metric.

Three analysis metrics (``metric``):

- ``z``: Fisher's z of the correlation, v = 1/(n - 3) (metafor ``ZCOR``);
- ``smd``: Hedges' g with metafor's exact small-sample correction,
  v = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2)) (metafor ``SMD``, ``vtype = "LS"``, its default);
- ``log_or``: the log odds ratio, v = sum of 1/cell (metafor ``OR``).

Every input kind is first turned into one of four *base* statistics -- a correlation
r (with n), a standardized mean difference d (with n1, n2), Hedges' g, or a log odds
ratio (with its variance) -- and that base statistic into the metric. Exact routes:
r, Fisher z -> z; d, g, means/SDs, t_groups, F_groups, p_groups -> smd; counts,
OR with CI, log OR with SE -> log_or; t_df, F_df, p_n -> r (the t test of a correlation
is exact). Approximations (documented in each function and in the ``conversion``
column of every row): Spearman rho -> r; Kendall's tau -> r; standardized beta -> r
(Peterson & Brown 2005); chi-square -> phi; d <-> r (point-biserial,
Borenstein et al. 2009, eq. 7.5/7.6, normality within groups); d <-> log OR
(Hasselblad & Hedges 1995, logistic distribution); partial r used as a zero-order r
outside the ``z`` metric; the OR's SE recovered from a rounded CI.

Sign convention (``codebook``): a positive effect favours the stronger alliance.
``direction`` (``positive``/``negative``) signs unsigned statistics (F, chi-square, p);
``reverse`` (yes/no, true/false, 1/0) flips the converted effect.

References: Borenstein, Hedges, Higgins & Rothstein (2009), *Introduction to
Meta-Analysis*, ch. 4-7; Lipsey & Wilson (2001), *Practical Meta-Analysis*, app. B;
Viechtbauer (2010), metafor's ``escalc``.
"""

from __future__ import annotations

import datetime
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from alliance_meta.engines import distributions as dist
from alliance_meta.inputs.codebook import (INPUT_KIND_BY_NAME, INPUT_KINDS, MISSING_MARKERS, VOCABULARIES, InputKind,
                                           citation_key)
from alliance_meta.engines.transforms import LOGIT_SCALE, d_to_r, fisher_z, inverse_fisher_z
from alliance_meta.inputs.options import caller_stacklevel
from alliance_meta.wording import single_spaced

METRICS = ("z", "smd", "log_or")
DEFAULT_METRIC_BY_FAMILY = {"outcome": "z", "dropout": "smd"}
REVERSED_SUFFIX = "; sign reversed"  # ends the conversion text of a row with reverse = yes
CITATION_YEAR = "citation_year"
"""The year as the study is cited ("2004a", "n.d.-a", "2004", empty): :func:`citation_years` of the whole sheet,
written by :func:`convert` so that every figure and table of every family cites a study alike."""
LEADING_COLUMNS = ("es_id", "sheet_row", "study_id", "family", "yi", "vi", "metric",
                   "input_kind", "conversion", "n")
Z_975 = float(dist.norm.ppf(0.975))  # 1.959964 for 95% Wald intervals
COUNT_COLUMNS = frozenset({"n", "n1", "n2", "df", "n_covariates", "n11", "n12", "n21", "n22"})
"""Integer inputs: exact, never rounded (they get no rounding slack in disagreements)."""



# --------------------------------------------------------------------------------------
# Formulas (vectorised on arrays)
# --------------------------------------------------------------------------------------

def spearman_to_pearson(rho):
    """r = 2 sin(pi rho / 6): Pearson r under bivariate normality (Rupinski & Dunlap 1996).

    An approximation: exact only for bivariate normal data.
    """
    return 2.0 * np.sin(np.pi * np.asarray(rho, dtype=float) / 6.0)


def kendall_to_pearson(tau):
    """r = sin(pi tau / 2): Pearson r under bivariate normality (Greiner's relation; Kendall 1970,
    *Rank Correlation Methods*, 4th ed., sec. 10.3; Walker 2003, *JMASM* 2(2), eq. 2).

    An approximation: exact only for bivariate normal data and Kendall's tau-a.
    """
    return np.sin(np.pi * np.asarray(tau, dtype=float) / 2.0)


BETA_VALID_LIMIT = 0.5
"""Peterson & Brown (2005) validated their imputation for |beta| < .50 only."""


def beta_to_r(beta):
    """r = beta + .05 lambda, lambda = 1 when beta >= 0 and 0 otherwise (Peterson & Brown 2005,
    *J Appl Psychol* 90(1), 175-181, eq. 2).

    An approximation of the zero-order r from a standardized regression coefficient, fitted to
    1,504 pairs of published r and beta; validated for |beta| < .5 (:data:`BETA_VALID_LIMIT`).
    """
    beta = np.asarray(beta, dtype=float)
    return beta + 0.05 * (beta >= 0)


def t_to_r(t, df):
    """r = t / sqrt(t^2 + df): the t test of a correlation or slope (Lipsey & Wilson 2001, app. B;
    Rosenthal 1991, *Meta-Analytic Procedures for Social Research*, ch. 2). A two-level (HLM)
    slope is converted the same way with the df of its t test as reported."""
    t = np.asarray(t, dtype=float)
    return t / np.sqrt(t**2 + np.asarray(df, dtype=float))


def chi2_to_phi(chi2, n):
    """|phi| = sqrt(chi^2 / n) for a 2x2 table (Lipsey & Wilson 2001, app. B).

    phi is a correlation of two dichotomies; using it as r is an approximation.
    """
    return np.sqrt(np.asarray(chi2, dtype=float) / np.asarray(n, dtype=float))


def p_to_t(p, df):
    """|t| = qt(1 - p/2, df) for a two-sided p (Lipsey & Wilson 2001, app. B).

    Exact for an exact p; a p rounded in the report carries its rounding into t.
    """
    return dist.t.isf(np.asarray(p, dtype=float) / 2.0, np.asarray(df, dtype=float))


def d_from_means(m1, sd1, m2, sd2, n1, n2):
    """d = (m1 - m2) / S_pooled, S_pooled^2 = ((n1-1) sd1^2 + (n2-1) sd2^2) / (n1 + n2 - 2).

    Borenstein et al. (2009), eq. 4.18-4.19; metafor ``SMD`` before its correction.
    """
    n1, n2 = np.asarray(n1, dtype=float), np.asarray(n2, dtype=float)
    pooled = np.sqrt(((n1 - 1) * np.asarray(sd1, float) ** 2 + (n2 - 1) * np.asarray(sd2, float) ** 2)
                     / (n1 + n2 - 2))
    return (np.asarray(m1, dtype=float) - np.asarray(m2, dtype=float)) / pooled


def d_from_t(t, n1, n2):
    """d = t sqrt(1/n1 + 1/n2) for an independent-groups t (Borenstein et al. 2009, ch. 4; metafor ``ti``)."""
    return np.asarray(t, dtype=float) * np.sqrt(1.0 / np.asarray(n1, float) + 1.0 / np.asarray(n2, float))


def hedges_correction(df):
    """Exact J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m = n1 + n2 - 2 (Hedges 1981).

    Computed on the log scale as metafor's ``.cmicalc``; Borenstein's 1 - 3/(4m - 1)
    approximates it.
    """
    m = np.asarray(df, dtype=float)
    return np.exp(special.gammaln(m / 2.0) - np.log(np.sqrt(m / 2.0)) - special.gammaln((m - 1.0) / 2.0))


def smd_variance(value, n1, n2):
    """v = 1/n1 + 1/n2 + value^2 / (2 (n1 + n2)).

    With value = g this is metafor's ``SMD`` variance (``vtype = "LS"``); with value = d it
    is the variance of d (Borenstein et al. 2009, eq. 4.20).
    """
    n1, n2 = np.asarray(n1, dtype=float), np.asarray(n2, dtype=float)
    return 1.0 / n1 + 1.0 / n2 + np.asarray(value, dtype=float) ** 2 / (2.0 * (n1 + n2))


def r_to_d(r, n1=None, n2=None):
    """d = r sqrt(a) / sqrt(1 - r^2), a = (n1 + n2)^2 / (n1 n2): the inverse of eq. 7.5.

    With equal groups (a = 4) this is Borenstein et al. (2009), eq. 7.6, d = 2r/sqrt(1 - r^2).
    An approximation: treats r as a point-biserial correlation.
    """
    r = np.asarray(r, dtype=float)
    if n1 is None or n2 is None:
        a = 4.0
    else:
        n1, n2 = np.asarray(n1, dtype=float), np.asarray(n2, dtype=float)
        a = (n1 + n2) ** 2 / (n1 * n2)
    return r * np.sqrt(a) / np.sqrt(1.0 - r**2)


#: The rule of :func:`log_odds_ratio_from_counts` in the words of the Methods ("2x2 counts as log odds ratios,
#: ...") and of the study characteristics table's note (of a family with such a table), and of the double-zero
#: tables it keeps (metafor's drop00 = FALSE)
ZERO_CELL_RULE = "1/2 added to every cell of a 2x2 table with a zero cell"
DOUBLE_ZERO_KEPT = "double-zero tables kept"


def log_odds_ratio_from_counts(n11, n12, n21, n22):
    """log OR = log(n11 n22 / (n12 n21)), v = 1/n11 + 1/n12 + 1/n21 + 1/n22.

    Rows: stronger / weaker alliance; columns: favourable / unfavourable. As metafor's
    ``escalc(measure = "OR")`` with its defaults ``add = 1/2, to = "only0"``: 1/2 is added
    to every cell of a table with a zero cell (Borenstein et al. 2009, eq. 5.8-5.9).
    Returns (log OR, variance, whether 1/2 was added).
    """
    cells = np.column_stack([np.asarray(c, dtype=float) for c in (n11, n12, n21, n22)])
    corrected = (cells == 0).any(axis=1)
    cells = cells + 0.5 * corrected[:, None]
    log_or = np.log(cells[:, 0]) + np.log(cells[:, 3]) - np.log(cells[:, 1]) - np.log(cells[:, 2])
    return log_or, (1.0 / cells).sum(axis=1), corrected


def log_odds_ratio_se_from_ci(lower, upper, level=0.95):
    """SE = (log upper - log lower) / (2 z_{1-alpha/2}) of a Wald CI of an OR (Borenstein et al. 2009, ch. 5).

    An approximation when the reported limits are rounded.
    """
    z = dist.norm.ppf(0.5 + level / 2.0)
    return (np.log(np.asarray(upper, dtype=float)) - np.log(np.asarray(lower, dtype=float))) / (2.0 * z)


def fisher_z_variance(n):
    """v = 1/(n - 3) of Fisher's z (Borenstein et al. 2009, eq. 6.3; metafor ``ZCOR``)."""
    return 1.0 / (np.asarray(n, dtype=float) - 3.0)


def log_odds_ratio_to_d(log_or, variance):
    """d = log OR sqrt(3)/pi, v_d = v 3/pi^2 (Hasselblad & Hedges 1995; Borenstein et al. 2009, eq. 7.1-7.2).

    metafor's ``OR2DL``. An approximation: assumes logistic distributions in both groups.
    """
    return np.asarray(log_or, dtype=float) / LOGIT_SCALE, np.asarray(variance, dtype=float) / LOGIT_SCALE**2


def d_to_log_odds_ratio(d, variance):
    """log OR = d pi/sqrt(3), v = v_d pi^2/3 (Borenstein et al. 2009, eq. 7.3-7.4; metafor ``D2ORL``)."""
    return np.asarray(d, dtype=float) * LOGIT_SCALE, np.asarray(variance, dtype=float) * LOGIT_SCALE**2


# --------------------------------------------------------------------------------------
# Sheet columns: signs and completeness
# --------------------------------------------------------------------------------------

def _canonical(values, column: str) -> np.ndarray:
    """The codebook's canonical spelling of each value of the vocabulary ``column`` (an object array): None when the
    cell is blank, missing or outside the vocabulary.

    Each distinct value is looked up once (the validation of a sheet asks for the signs of its rows about 50 times,
    which pandas' per-call overhead made 6 ms each)."""
    codes, distinct = pd.factorize(pd.Series(values, dtype=object))
    vocabulary = VOCABULARIES[column]
    spellings = [vocabulary.canonical(value) if str(value).strip() else None for value in distinct]
    return np.array([*spellings, None], dtype=object)[codes]  # code -1 (missing) -> the appended None


def parse_reverse(values) -> np.ndarray:
    """``reverse`` as booleans: the codebook's yes/no with synonyms (true/false, y/n, 1/0), booleans; blank = no.

    Raises ValueError on any other value.
    """
    series = pd.Series(values, dtype=object)
    numbers = series.map(lambda v: int(v) if isinstance(v, (bool, int, float, np.number)) and v in (0, 1) else v)
    canonical = _canonical(numbers, "reverse")
    unknown = ~_blank(series).to_numpy() & pd.isna(canonical)
    if unknown.any():
        raise ValueError(f"reverse must be yes/no, true/false or 1/0; got {sorted(set(series[unknown].astype(str)))}")
    return canonical == "yes"


def _blank(values) -> pd.Series:
    series = pd.Series(values, dtype=object)
    return series.isna() | (series.astype(str).str.strip() == "")


#: the sign of each canonical ``direction``
DIRECTION_SIGN = {"positive": 1.0, "negative": -1.0}


def parse_direction(values) -> np.ndarray:
    """``direction`` as a sign: ``positive`` (pos, +) -> +1, ``negative`` (neg, the minus sign \u2212) -> -1, anything
    else -> NaN (blank and missing cells too, as outside the vocabulary)."""
    return np.array([DIRECTION_SIGN.get(value, np.nan) for value in _canonical(values, "direction")], dtype=float)


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _direction(frame: pd.DataFrame) -> np.ndarray:
    if "direction" not in frame.columns:
        return np.full(len(frame), np.nan)
    return parse_direction(frame["direction"])


def complete_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per input kind: are all its columns filled with numbers on the row?

    A kind that ``needs_direction`` is complete only with ``direction`` = positive/negative.
    """
    has_direction = ~np.isnan(_direction(frame))
    result = {}
    for kind in INPUT_KINDS:
        filled = np.logical_and.reduce([~np.isnan(_numeric(frame, c)) for c in kind.columns])
        result[kind.name] = filled & has_direction if kind.needs_direction else filled
    return pd.DataFrame(result, index=frame.index)


def first_complete_kind(frame: pd.DataFrame) -> pd.Series:
    """The first complete input kind of each row (order of ``INPUT_KINDS``), or NA."""
    complete = complete_inputs(frame)
    first = complete.idxmax(axis=1).astype(object)
    return first.where(complete.any(axis=1), None)


# --------------------------------------------------------------------------------------
# Input kind -> base statistic
# --------------------------------------------------------------------------------------

@dataclass
class BaseStatistic:
    """An input converted to r (scale ``r``), d, Hedges' g or a log OR, with what the metric needs."""

    scale: str                    # "r", "d", "g" or "log_or"
    value: np.ndarray
    n: np.ndarray                 # total sample size (NaN when unknown)
    n1: np.ndarray                # group sizes (NaN when unknown)
    n2: np.ndarray
    description: str              # the first steps in words
    variance: np.ndarray | None = None   # log OR variance (scale log_or)
    z_variance_n: np.ndarray | None = None  # n in v = 1/(n - 3) when not n (partial r)
    given_z: np.ndarray | None = None       # Fisher z as reported


#: the scale :func:`base_statistic` converts each input kind to (``g`` as reported; tests/test_report_conversions.py)
BASE_SCALE = {**dict.fromkeys(("r", "rho", "kendall_tau", "fisher_z", "partial_r", "beta", "t_df", "f_df", "chi2", "p_n"),
                              "r"),
              **dict.fromkeys(("d", "means_sds", "t_groups", "f_groups", "p_groups"), "d"), "g": "g",
              **dict.fromkeys(("counts", "or_ci", "log_or_se"), "log_or")}


def base_statistic(frame: pd.DataFrame, kind: InputKind | str) -> BaseStatistic:
    """Convert the rows of ``frame`` (all complete for ``kind``) to the kind's base statistic."""
    kind = INPUT_KIND_BY_NAME[kind] if isinstance(kind, str) else kind
    col = {c: _numeric(frame, c) for c in set(kind.columns) | {"n", "n1", "n2"}}
    sign = _direction(frame)
    n, n1, n2 = col["n"], col["n1"], col["n2"]
    name = kind.name
    if name == "r":
        return BaseStatistic("r", col["r"], n, n1, n2, "r")
    if name == "rho":
        return BaseStatistic("r", spearman_to_pearson(col["rho"]), n, n1, n2,
                             "Spearman rho -> r (r = 2 sin(pi rho/6), Rupinski & Dunlap 1996)")
    if name == "kendall_tau":
        return BaseStatistic("r", kendall_to_pearson(col["kendall_tau"]), n, n1, n2,
                             "Kendall tau -> r (r = sin(pi tau/2), Kendall 1970)")
    if name == "beta":
        outside = np.abs(col["beta"]) >= BETA_VALID_LIMIT
        description = np.where(
            outside, "beta -> r (r = beta + .05 [beta >= 0], Peterson & Brown 2005; approximation; "
                     "|beta| >= .5 is outside the range where it was validated)",
            "beta -> r (r = beta + .05 [beta >= 0], Peterson & Brown 2005; approximation)")
        return BaseStatistic("r", beta_to_r(col["beta"]), n, n1, n2, description)
    if name == "fisher_z":
        return BaseStatistic("r", inverse_fisher_z(col["fisher_z"]), n, n1, n2, "Fisher z",
                             given_z=col["fisher_z"])
    if name == "partial_r":
        return BaseStatistic("r", col["partial_r"], n, n1, n2, "partial r",
                             z_variance_n=n - col["n_covariates"])
    if name in ("g", "d"):
        return BaseStatistic(name, col[name], col["n1"] + col["n2"], n1, n2, "Hedges' g" if name == "g" else "d")
    if name == "means_sds":
        d = d_from_means(col["m1"], col["sd1"], col["m2"], col["sd2"], n1, n2)
        return BaseStatistic("d", d, n1 + n2, n1, n2, "means and SDs -> d (pooled SD)")
    if name == "t_groups":
        return BaseStatistic("d", d_from_t(col["t"], n1, n2), n1 + n2, n1, n2,
                             "t between groups -> d (d = t sqrt(1/n1 + 1/n2))")
    if name == "f_groups":
        t = sign * np.sqrt(col["f"])
        return BaseStatistic("d", d_from_t(t, n1, n2), n1 + n2, n1, n2,
                             "F between groups -> t (t = ±sqrt(F), sign from direction) -> d (d = t sqrt(1/n1 + 1/n2))")
    if name == "p_groups":
        t = sign * p_to_t(col["p"], n1 + n2 - 2)
        return BaseStatistic("d", d_from_t(t, n1, n2), n1 + n2, n1, n2,
                             "two-sided p -> t (t = qt(1 - p/2, n1 + n2 - 2), sign from direction) "
                             "-> d (d = t sqrt(1/n1 + 1/n2))")
    if name == "t_df":
        return BaseStatistic("r", t_to_r(col["t"], col["df"]), col["df"] + 2, n1, n2,
                             "t with df -> r (r = t/sqrt(t^2 + df), n = df + 2)")
    if name == "f_df":
        t = sign * np.sqrt(col["f"])
        return BaseStatistic("r", t_to_r(t, col["df"]), col["df"] + 2, n1, n2,
                             "F with df -> t (t = ±sqrt(F), sign from direction) -> r (r = t/sqrt(t^2 + df), n = df + 2)")
    if name == "chi2":
        return BaseStatistic("r", sign * chi2_to_phi(col["chi2"], n), n, n1, n2,
                             "chi-square -> phi (phi = ±sqrt(chi2/n), sign from direction)")
    if name == "p_n":
        t = sign * p_to_t(col["p"], n - 2)
        return BaseStatistic("r", t_to_r(t, n - 2), n, n1, n2,
                             "two-sided p -> t (t = qt(1 - p/2, n - 2), sign from direction) -> r (r = t/sqrt(t^2 + n - 2))")
    if name == "counts":
        log_or, variance, corrected = log_odds_ratio_from_counts(col["n11"], col["n12"], col["n21"], col["n22"])
        description = np.where(corrected, "2x2 counts -> log OR (1/2 added to every cell: a cell was zero)",
                               "2x2 counts -> log OR (log OR = log(n11 n22/(n12 n21)), v = sum of 1/cell)")
        group1, group2 = col["n11"] + col["n12"], col["n21"] + col["n22"]
        return BaseStatistic("log_or", log_or, group1 + group2, group1, group2, description, variance=variance)
    total = np.where(np.isnan(n), n1 + n2, n)
    if name == "or_ci":
        se = log_odds_ratio_se_from_ci(col["or_ci_lower"], col["or_ci_upper"])
        return BaseStatistic("log_or", np.log(col["odds_ratio"]), total, n1, n2,
                             f"OR with 95% CI -> log OR (SE = (log upper - log lower)/(2 x {Z_975:.6f}))",
                             variance=se**2)
    if name == "log_or_se":
        return BaseStatistic("log_or", col["log_or"], total, n1, n2, "log OR with SE", variance=col["log_or_se"] ** 2)
    raise ValueError(f"unknown input kind {name!r}")


# --------------------------------------------------------------------------------------
# Base statistic -> analysis metric
# --------------------------------------------------------------------------------------

def _text(*parts) -> np.ndarray:
    """Concatenate strings and string arrays element-wise: ``_text(first, size, *rest)``."""
    first, size, *rest = parts
    text = np.full(size, "", dtype=object) + np.asarray(first, dtype=object)
    for part in rest:
        text = text + np.asarray(part, dtype=object)
    return text


def _group_sizes(base: BaseStatistic) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n1, n2 of the row, or n/2 each when either is missing (equal groups assumed)."""
    known = ~(np.isnan(base.n1) | np.isnan(base.n2))
    return np.where(known, base.n1, base.n / 2.0), np.where(known, base.n2, base.n / 2.0), known


def _d_of(base: BaseStatistic) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Uncorrected d with n1, n2 for scales r, d and g (g -> d = g / J)."""
    if base.scale == "r":
        n1, n2, known = _group_sizes(base)
        d = r_to_d(base.value, n1, n2)
        step = np.where(known, " -> d (d = r sqrt(a/(1 - r^2)), a = (n1+n2)^2/(n1 n2))",
                        " -> d (d = 2r/sqrt(1 - r^2), equal groups of n/2 assumed)")
        return d, n1, n2, step
    if base.scale == "g":
        return base.value / hedges_correction(base.n1 + base.n2 - 2), base.n1, base.n2, " -> d (d = g/J, exact J)"
    return base.value, base.n1, base.n2, ""


def to_metric(base: BaseStatistic, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """yi, vi, total n and the conversion in words of a base statistic in ``metric``."""
    if metric == "z":
        return _to_fisher_z(base)
    if metric == "smd":
        return _to_smd(base)
    if metric == "log_or":
        return _to_log_odds_ratio(base)
    raise ValueError(f"unknown analysis metric {metric!r}; expected one of {METRICS}")


def _to_fisher_z(base: BaseStatistic):
    """Fisher z with v = 1/(n - 3) (metafor ``ZCOR``); partial r: v = 1/(n - n_covariates - 3).

    A partial r with q covariates is distributed as a zero-order r from n - q cases
    (Fisher 1924), so v = 1/(n - q - 3). metafor 3.8's ``ZPCOR`` (with ``mi`` = q + 1
    predictors) uses 1/(n - mi - 1) = 1/(n - q - 2), one df fewer.
    d-family inputs go to r by Borenstein et al. (2009) eq. 7.5 (a = 4 without n1, n2);
    log ORs through d. Without a total n (OR with CI or log OR with SE and no n),
    v comes from the reported SE by the delta method (eq. 7.8 and dz/dr = 1/(1 - r^2)).
    """
    n = base.n
    if base.scale == "r":
        yi = base.given_z if base.given_z is not None else fisher_z(base.value)
        if base.z_variance_n is not None:
            return yi, fisher_z_variance(base.z_variance_n), n, _text(
                base.description, len(yi), " -> Fisher z (z = atanh(r), v = 1/(n - n_covariates - 3))")
        step = " as reported (v = 1/(n - 3))" if base.given_z is not None else " -> Fisher z (z = atanh(r), v = 1/(n - 3))"
        return yi, fisher_z_variance(n), n, _text(base.description, len(yi), step)
    if base.scale == "log_or":
        d, variance_d = log_odds_ratio_to_d(base.value, base.variance)
        known = ~(np.isnan(base.n1) | np.isnan(base.n2))
        a = np.where(known, (base.n1 + base.n2) ** 2 / (base.n1 * base.n2), 4.0)
        r = d / np.sqrt(d**2 + a)
        has_n = ~np.isnan(n)
        delta = a**2 * variance_d / (d**2 + a) ** 3 / (1.0 - r**2) ** 2
        vi = np.where(has_n, fisher_z_variance(n), delta)
        text = _text(base.description, len(d), " -> d (d = log OR sqrt(3)/pi)",
                     np.where(known, " -> r (r = d/sqrt(d^2 + a), a = (n1+n2)^2/(n1 n2))",
                              " -> r (r = d/sqrt(d^2 + 4), equal groups assumed)"),
                     np.where(has_n, " -> Fisher z (z = atanh(r), v = 1/(n - 3))",
                              " -> Fisher z (z = atanh(r), v by the delta method from the SE: n unknown)"))
        return fisher_z(r), vi, n, text
    d, n1, n2, d_step = _d_of(base)
    r = d_to_r(d, n1, n2)
    text = _text(base.description, len(d), d_step,
                 " -> r (r = d/sqrt(d^2 + a), a = (n1+n2)^2/(n1 n2)) -> Fisher z (z = atanh(r), v = 1/(n - 3), n = n1 + n2)")
    total = n1 + n2
    return fisher_z(r), fisher_z_variance(total), total, text


def _to_smd(base: BaseStatistic):
    """Hedges' g = J(n1 + n2 - 2) d with v = 1/n1 + 1/n2 + g^2/(2(n1 + n2)) (metafor ``SMD``).

    r-family inputs go to d by the inverse of Borenstein et al. (2009) eq. 7.5 (eq. 7.6
    with equal groups of n/2 when n1, n2 are missing). Log ORs go to d by Hasselblad &
    Hedges (metafor ``OR2DL``: d = log OR sqrt(3)/pi, v = v_logOR 3/pi^2, no J).
    """
    size = len(base.value)
    if base.scale == "log_or":
        d, variance = log_odds_ratio_to_d(base.value, base.variance)
        text = _text(base.description, size, " -> d (d = log OR sqrt(3)/pi, v = v_logOR 3/pi^2; Hasselblad & Hedges)")
        return d, variance, base.n, text
    if base.scale == "g":
        g, n1, n2 = base.value, base.n1, base.n2
        step = " as reported (v = 1/n1 + 1/n2 + g^2/(2(n1 + n2)))"
    else:
        d, n1, n2, d_step = _d_of(base)
        g = hedges_correction(n1 + n2 - 2) * d
        step = _text(d_step, size, " -> Hedges' g (g = J(n1 + n2 - 2) d, exact J; v = 1/n1 + 1/n2 + g^2/(2(n1 + n2)))")
    text = _text(base.description, size, step)
    return g, smd_variance(g, n1, n2), n1 + n2, text


def _to_log_odds_ratio(base: BaseStatistic):
    """log OR as reported or from counts (metafor ``OR``); d-family and r-family through d.

    d (uncorrected; g -> d = g/J) with v_d = 1/n1 + 1/n2 + d^2/(2(n1 + n2)) goes to
    log OR = d pi/sqrt(3), v = v_d pi^2/3 (metafor ``D2ORL``; Borenstein et al. 2009, eq. 7.3-7.4).
    """
    size = len(base.value)
    if base.scale == "log_or":
        return base.value, base.variance, base.n, _text(base.description, size)
    d, n1, n2, d_step = _d_of(base)
    yi, vi = d_to_log_odds_ratio(d, smd_variance(d, n1, n2))
    text = _text(base.description, size, d_step,
                 " -> log OR (log OR = d pi/sqrt(3), v = (1/n1 + 1/n2 + d^2/(2(n1 + n2))) pi^2/3)")
    return yi, vi, n1 + n2, text


def r_equivalent(base: BaseStatistic) -> np.ndarray:
    """The base statistic as a correlation: r as is; d (g -> d = g/J) and log OR (-> d) by eq. 7.5."""
    if base.scale == "r":
        return np.asarray(base.value, dtype=float)
    if base.scale == "log_or":
        d = log_odds_ratio_to_d(base.value, base.variance)[0]
        known = ~(np.isnan(base.n1) | np.isnan(base.n2))
        a = np.where(known, (base.n1 + base.n2) ** 2 / (base.n1 * base.n2), 4.0)
        return d / np.sqrt(d**2 + a)
    d, n1, n2, _ = _d_of(base)
    return d_to_r(d, n1, n2)


# --------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------

def convert(frame: pd.DataFrame, metric_by_family: dict[str, str] | None = None) -> pd.DataFrame:
    """Every row's first complete input kind in its family's metric (``effect_sizes.csv`` layout).

    Columns: ``es_id`` (the frame's, else study_id-k, k counting the study's rows), ``sheet_row`` (taken
    from the frame, else index + 2), ``study_id``, ``family`` (``outcome`` when missing),
    ``yi``, ``vi``, ``metric``, ``input_kind``, ``conversion``, ``n`` (the total sample
    size used: n, n1 + n2, df + 2 or the sum of the counts; replaces the sheet's n),
    then ``authors``, ``year``, ``citation_year`` (:func:`citation_years` of the whole frame, empty cells missing;
    it replaces a column of that name), ``label`` (authors (year), else study_id, when the frame
    has none) and every other column of the frame. A row without a complete input, or
    whose numbers give a non-finite effect (|r| >= 1, n <= 3, ...), keeps yi = vi = NaN.
    """
    metric_by_family = {**DEFAULT_METRIC_BY_FAMILY, **(metric_by_family or {})}
    unknown = {m for m in metric_by_family.values()} - set(METRICS)
    if unknown:
        raise ValueError(f"unknown analysis metric(s) {sorted(unknown)}; expected one of {METRICS}")
    if "study_id" not in frame.columns:
        raise KeyError("the sheet has no study_id column")
    data = frame.reset_index(drop=True)
    size = len(data)
    family = (data["family"].astype(object).where(data["family"].notna(), "outcome")
              if "family" in data.columns else pd.Series(["outcome"] * size, dtype=object))
    missing = set(family) - set(metric_by_family)
    if missing:
        raise ValueError(f"no analysis metric for family {sorted(missing)}")
    metric = family.map(metric_by_family).to_numpy(dtype=object)
    chosen = first_complete_kind(data).to_numpy(dtype=object)
    yi, vi, n = (np.full(size, np.nan) for _ in range(3))
    conversion = np.full(size, "no complete input", dtype=object)
    with np.errstate(invalid="ignore", divide="ignore"):  # a non-finite effect is intended: yi = vi = NaN below
        for kind in INPUT_KINDS:
            for metric_name in METRICS:
                rows = np.flatnonzero((chosen == kind.name) & (metric == metric_name))
                if rows.size:
                    yi[rows], vi[rows], n[rows], conversion[rows] = to_metric(
                        base_statistic(data.iloc[rows], kind), metric_name)
    if "reverse" in data.columns:
        reverse = parse_reverse(data["reverse"])
        yi = np.where(reverse, -yi, yi)
        conversion = np.where(reverse, conversion + REVERSED_SUFFIX, conversion)
    bad = ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0))
    yi[bad], vi[bad] = np.nan, np.nan
    study_id = data["study_id"].astype(str)
    es_id = study_id + "-" + (data.groupby("study_id", sort=False, dropna=False).cumcount() + 1).astype(str)
    if "es_id" in data.columns:
        es_id = data["es_id"].astype(object).where(data["es_id"].notna(), es_id)
    leading = pd.DataFrame({
        "es_id": es_id,
        "sheet_row": data["sheet_row"] if "sheet_row" in data.columns else np.arange(size) + 2,
        "study_id": study_id, "family": family, "yi": yi, "vi": vi, "metric": metric,
        "input_kind": pd.Series(chosen, dtype=object), "conversion": conversion, "n": n,
    })
    # the letters of namesakes decided once, over every row: a figure of some of the rows cites them alike
    cited = citation_years(data.drop(columns=CITATION_YEAR, errors="ignore"))
    data = data.assign(**{CITATION_YEAR: cited.where(cited != "", np.nan)})
    if "label" not in data.columns:
        data = data.assign(label=default_labels(data))
    ordered = [c for c in ("authors", "year", CITATION_YEAR, "label") if c in data.columns]
    rest = data[ordered + [c for c in data.columns if c not in ordered and c not in LEADING_COLUMNS]]
    return pd.concat([leading, rest], axis=1)


def notebook_frame(frame: pd.DataFrame, caller: str, names) -> pd.DataFrame:
    """A frame of pandas, as ``caller`` (``am.effect_sizes``, ``am.fit``) reads it: a header of several rows
    (``pd.read_excel(path, header=[0, 1])``: columns such as ``('Effect', 'r')``, none of them ``r``), or column names
    in the first row below a header of other names (``pd.read_excel(path)`` of a sheet with a row above its header),
    is a ValueError naming the row that holds ``names``, the columns the caller reads, matched as
    :func:`~alliance_meta.inputs.sheet.read_sheet` matches a header cell
    (:func:`~alliance_meta.inputs.sheet.column_key`: ``Study ID`` names study_id); an index of ``names``
    (``frame.set_index("study_id")``) is a column again; dates in ``year`` (``pd.read_excel`` of date-formatted
    cells) are their years (:func:`year_of_dates`)."""
    from alliance_meta.inputs.sheet import column_key  # sheet imports this module

    keys = {column_key(name) for name in names}

    def named(cells) -> int:
        return len({column_key(cell) for cell in cells if isinstance(cell, str)} & keys)

    if isinstance(frame.columns, pd.MultiIndex):
        found = [named(frame.columns.get_level_values(i)) for i in range(frame.columns.nlevels)]
        row = found.index(max(found))
        keep = (f"keep its row of column names: frame.columns = frame.columns.get_level_values({row})" if max(found)
                else "give it one row of column names (frame.columns = [...])")
        raise ValueError(f"{caller}: the frame's header has {len(found)} rows (its columns are tuples such as "
                         f"{frame.columns[0]!r}, as pd.read_excel(path, header=[0, 1]) reads a header with a row "
                         f"above it); {keep}")
    if len(frame) and not named(frame.columns) and named(frame.iloc[0]) >= 2:
        shown = ", ".join(repr(cell) for cell in frame.iloc[0] if isinstance(cell, str) and column_key(cell) in keys)
        if any(isinstance(name, str) for name in frame.columns):  # a title row read as the header
            how = ("as pd.read_excel(path) reads a header with a row above it: read it with "
                   "pd.read_excel(path, header=1)")
        else:  # numbered columns: read with header=None, or rows given with their header (header=1 lost a row)
            how = ("its columns are numbered (read with header=None, or rows given with their header row): make that "
                   "row the header, frame.columns = frame.iloc[0]; frame = frame.iloc[1:]")
        raise ValueError(f"{caller}: the frame's first row holds its column names ({shown}), {how}")
    indexed = [name for name in frame.index.names if name in names and name not in frame.columns]
    if indexed:  # frame.set_index("study_id"): the rows' studies, not each row a study of its own
        frame = frame.reset_index(level=indexed)
    if "year" not in frame.columns or isinstance(frame["year"], pd.DataFrame) or pd.api.types.is_numeric_dtype(
            frame["year"]):
        return frame
    return year_of_dates(frame, caller)


def notebook_numbers(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A notebook frame's column read as a column of numbers of the sheet: (its numbers as floats, the mask of the
    rows whose cell is text that is no number, ``'85%'``, ``'in press'``). Numbers and text numbers (``' 0.85'``) are
    numbers; missing, blank and the sheet's missing markers (``n/a``, ``NA``:
    :data:`~alliance_meta.inputs.codebook.MISSING_MARKERS`, as :func:`~alliance_meta.inputs.sheet.read_sheet` reads
    them) are empty; True and False are no numbers. Read cell by cell as Python values, so that any dtype reads
    alike: pyarrow's (``pd.read_csv(..., dtype_backend="pyarrow")``) makes text that is no number NaN, which ``isna``
    does not see."""
    objects = pd.Series(np.asarray(cells, dtype=object), index=cells.index)
    empty = objects.map(lambda cell: pd.isna(cell) or (isinstance(cell, str) and cell.strip().lower() in
                                                          MISSING_MARKERS)).astype(bool)
    yes_no = objects.map(lambda cell: isinstance(cell, (bool, np.bool_))).astype(bool)  # True is no number of these
    numbers = pd.to_numeric(objects.mask(empty | yes_no), errors="coerce").astype(float)
    return numbers, ~empty & numbers.isna()


def year_of_dates(frame: pd.DataFrame, caller: str) -> pd.DataFrame:
    """``frame`` with the dates in ``year`` (``pd.read_excel`` of date-formatted cells) as their years, as the sheet
    check reads a workbook of Excel's 1900 date system (:func:`~alliance_meta.inputs.sheet.year_of_date`: a year typed
    into a date-formatted cell, 2004 shown as 1905-06-26, is 2004), not nanoseconds since 1970 in a citation nor a
    level per date in a meta-regression. A frame does not tell its workbook's date system, as ``am.read_sheet`` knows
    it: a UserWarning names each row whose year the 1904 date system (Excel for Mac before 2011) reads otherwise
    (2004 typed there is 1909-06-27), with both readings."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    from alliance_meta.inputs.sheet import EXCEL_EPOCH, year_of_date  # sheet imports this module

    cells = frame["year"].astype(object)
    dated = np.array([isinstance(cell, datetime.date) and not pd.isna(cell) for cell in cells], dtype=bool)
    if not dated.any():
        return frame
    moments = {i: pd.Timestamp(cells.iloc[i]).tz_localize(None) for i in np.flatnonzero(dated)}
    read = {i: int(year_of_date(moment, EXCEL_EPOCH)) for i, moment in moments.items()}
    otherwise = {i: int(year_of_date(moment, CALENDAR_MAC_1904)) for i, moment in moments.items()}
    years = pd.Series([read[i] if i in read else (np.nan if pd.isna(cell) else cell) for i, cell in enumerate(cells)],
                      index=frame.index, dtype=object)
    depends = [i for i in read if read[i] != otherwise[i]]
    if depends:
        rows = "; ".join(f"{name}: {moments[i]:%Y-%m-%d} read as {read[i]} (in the 1904 date system {otherwise[i]})"
                         for name, i in zip(row_names(frame, depends), depends))
        warnings.warn(f"{caller}: year holds dates (pd.read_excel of date-formatted cells), read as years in Excel's "
                      "1900 date system, where a year typed into a date-formatted cell is the date of that day "
                      f"number; a workbook of the 1904 date system (Excel for Mac before 2011) gives other years, "
                      f"and a frame does not tell which: {rows}. Check these rows, or read the workbook with "
                      "am.read_sheet(path), which knows its date system", UserWarning, stacklevel=caller_stacklevel())
    numbers = pd.to_numeric(years, errors="coerce")
    return frame.assign(year=numbers if numbers.notna().sum() == years.notna().sum() else years)


def row_names(sheet: pd.DataFrame, positions, es_ids=None) -> list[str]:
    """``index 4 (es_id S003-1)``: the sheet's rows at ``positions`` by index label and es_id."""
    es_ids = es_ids if es_ids is not None else (sheet["es_id"].to_numpy() if "es_id" in sheet else None)
    return [f"index {sheet.index[i]}" + (f" (es_id {es_ids[i]})" if es_ids is not None and pd.notna(es_ids[i]) else "")
            for i in positions]


def default_labels(frame: pd.DataFrame) -> pd.Series:
    """Each row's :func:`citations` (``authors (year)``), else its ``study_id``."""
    citation = citations(frame)
    return citation.where(citation != "", frame["study_id"].astype(str)).astype(object)


def citations(frame: pd.DataFrame) -> pd.Series:
    """Each row's ``authors (year)``, ``authors`` alone without a year, "" without authors; the year as
    :func:`citation_years` gives it, so that no two studies of the sheet share a name."""
    authors = _authors(frame)
    return pd.Series([f"{author} ({year})" if author and year else author
                      for author, year in zip(authors, citation_years(frame))], index=frame.index, dtype=object)


def citation_years(frame: pd.DataFrame) -> pd.Series:
    """Each row's year as a citation gives it: its :data:`CITATION_YEAR` where ``frame`` has that column (decided
    over the whole sheet by :func:`convert`, whichever rows a figure or table shows), else worked out over
    ``frame``: studies (distinct ``study_id``) of the same authors (case and spacing aside,
    :func:`~alliance_meta.inputs.codebook.citation_key`) and year get a, b, ... after the year in the order of
    their study_id as text, as in a reference list (APA 2020, 8.19: "2004a", "n.d.-a"), whatever the order of the
    rows; "" without a year (and no namesake)."""
    if CITATION_YEAR in frame.columns:  # as read back from a file: 2004 may be a number, an empty cell missing
        return frame[CITATION_YEAR].map(_year_text).astype(object)
    year = pd.to_numeric(frame["year"], errors="coerce") if "year" in frame.columns else \
        pd.Series(np.nan, index=frame.index)
    year = year.map(_year_text)
    # without a study_id column, each row is a study of its own
    study = frame["study_id"] if "study_id" in frame.columns else pd.Series(np.arange(len(frame)), index=frame.index)
    studies = pd.DataFrame({"authors": _authors(frame).map(citation_key), "year": year, "study": study.astype(str)})
    first = studies[studies["authors"] != ""].drop_duplicates().sort_values("study", kind="stable")
    by = first.groupby(["authors", "year"])
    letters = [_letters(i) if size > 1 else "" for i, size in zip(by.cumcount(), by["study"].transform("size"))]
    letter = dict(zip(zip(first["authors"], first["year"], first["study"]), letters))
    out = []
    for authors, year, study in studies.itertuples(index=False):
        suffix = letter.get((authors, year, study), "")
        out.append(year + suffix if year else f"n.d.-{suffix}" if suffix else "")
    return pd.Series(out, index=frame.index, dtype=object)


def _year_text(value: object) -> str:
    """A year or citation year as text: 2004.0 -> "2004", missing -> ""."""
    if isinstance(value, str):
        return value
    return "" if pd.isna(value) else str(int(value))


def _authors(frame: pd.DataFrame) -> pd.Series:
    if "authors" not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame["authors"].map(lambda text: single_spaced(text) if isinstance(text, str) else "")


def _letters(position: int) -> str:
    """a, b, ..., z, aa, ab, ... for 0, 1, ..."""
    text = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        text = chr(ord("a") + rest) + text
    return text


@dataclass(frozen=True)
class InputDisagreement:
    """Two complete inputs of one row whose r-equivalents differ beyond rounding."""

    row: object          # index label of the row in the frame
    sheet_row: object
    kind: str            # the row's first complete kind (the one converted)
    other_kind: str
    r: float
    other_r: float
    difference: float
    allowed: float


def rounding_slack(frame: pd.DataFrame, kind: InputKind | str, decimals: int = 2) -> np.ndarray:
    """First-order bound on the change of the r-equivalent from rounding the reported statistics.

    Each non-count column of the kind (r, t, F, p, means, SDs, OR and limits, ...) is
    moved by half a unit of its last decimal (0.005 for two decimals) up and down; the
    larger change of r is that column's share, and the shares add up. Counts, n, df
    and the number of covariates are exact.
    """
    kind = INPUT_KIND_BY_NAME[kind] if isinstance(kind, str) else kind
    half_unit = 0.5 * 10.0**-decimals
    with np.errstate(invalid="ignore", divide="ignore"):
        return _rounding_slack(frame, kind, half_unit)


def _rounding_slack(frame: pd.DataFrame, kind: InputKind, half_unit: float) -> np.ndarray:
    base_r = r_equivalent(base_statistic(frame, kind))
    slack = np.zeros(len(frame))
    for column in (c for c in kind.columns if c not in COUNT_COLUMNS):
        values = _numeric(frame, column)
        shifts = []
        for step in (half_unit, -half_unit):
            moved = frame.assign(**{column: values + step})
            shifts.append(np.abs(r_equivalent(base_statistic(moved, kind)) - base_r))
        slack += np.nan_to_num(np.fmax(shifts[0], shifts[1]), nan=0.0)
    return slack


def input_disagreements(frame: pd.DataFrame, tolerance: float = 0.005, decimals: int = 2) -> list[InputDisagreement]:
    """Rows where another complete input disagrees with the converted (first complete) one.

    Rule: on the r scale (:func:`r_equivalent`; unsigned kinds signed by ``direction``, signed kinds
    flipped by ``reverse``), the first complete kind and every other complete kind
    disagree when |r_first - r_other| > tolerance + slack_first + slack_other, where the
    slack is :func:`rounding_slack` for statistics reported to ``decimals`` decimals. The
    tolerance absorbs the approximations between kinds (phi vs log OR, d vs r, ...).
    """
    complete = complete_inputs(frame)
    first = first_complete_kind(frame)
    reverse = parse_reverse(frame["reverse"]) if "reverse" in frame.columns else np.zeros(len(frame), dtype=bool)
    reverse = pd.Series(reverse, index=frame.index)
    r_by_kind, slack_by_kind = {}, {}
    for kind in INPUT_KINDS:
        rows = complete[kind.name].to_numpy()
        if rows.any():
            subset = frame.loc[rows]
            r = r_equivalent(base_statistic(subset, kind))
            if not kind.needs_direction:  # reverse flips a signed statistic; direction alone signs F, chi2, p
                r = np.where(reverse[subset.index].to_numpy(), -r, r)
            r_by_kind[kind.name] = pd.Series(r, index=subset.index)
            slack_by_kind[kind.name] = pd.Series(rounding_slack(subset, kind, decimals), index=subset.index)
    found = []
    for kind_name in r_by_kind:
        for other_name in r_by_kind:
            rows = first.index[(first == kind_name).to_numpy() & complete[other_name].to_numpy()]
            if other_name == kind_name or rows.empty:
                continue
            r, other = r_by_kind[kind_name][rows], r_by_kind[other_name][rows]
            allowed = tolerance + slack_by_kind[kind_name][rows] + slack_by_kind[other_name][rows]
            difference = (r - other).abs()
            flagged = rows[(difference > allowed).to_numpy() | (r.isna() != other.isna()).to_numpy()]
            sheet_rows = frame["sheet_row"] if "sheet_row" in frame.columns else pd.Series(frame.index, index=frame.index)
            found += [InputDisagreement(label, sheet_rows[label], kind_name, other_name, float(r[label]),
                                        float(other[label]), float(difference[label]), float(allowed[label]))
                      for label in flagged]
    return sorted(found, key=lambda item: (str(item.sheet_row), item.other_kind))
