"""Hunter-Schmidt psychometric meta-analysis of correlations (bare-bones, individual
corrections, artifact distributions), mirroring R's psychmeta 2.x ``ma_r``.

Source: Schmidt & Hunter (2015), *Methods of Meta-Analysis: Correcting Error and Bias in
Research Findings* (3rd ed.), ch. 3 (bare-bones and individually corrected correlations)
and ch. 4 (artifact distributions, interactive method); Dahlke & Wiernik (2019),
"psychmeta: An R package for psychometric meta-analysis", *Applied Psychological
Measurement* 43(5), 415-416. Each function names the psychmeta function it mirrors; the
defaults are psychmeta's (``control_psychmeta()``), which differ from the textbook in three
ways: correlations are corrected for their small-sample bias (``correct_bias = TRUE``),
weighted variances are multiplied by k/(k - 1) (``var_unbiased = TRUE``), and confidence
and credibility intervals use t with k - 1 df (``conf_method = cred_method = "t"``).
:meth:`PsychometricOptions.hunter_schmidt` gives psychmeta's ``hs_override`` (normal
quantiles, variances divided by the sum of weights).

x is the alliance measure (reliability ``rxx``, range-restriction ratio ``ux`` = SD in the
sample / SD in the reference population), y the outcome measure (``ryy``). Reliabilities
are sample ("incumbent") internal-consistency estimates and ``ux`` is an observed-score
ratio (psychmeta's defaults ``rxx_restricted = TRUE``, ``rxx_type = "alpha"``,
``ux_observed = TRUE``). A row without ``ux`` is taken as unrestricted (u = 1, which makes
the range-restriction corrections reduce to the correction for unreliability).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd

from alliance_meta.engines import distributions as dist
from alliance_meta.inputs.codebook import VOCABULARIES
from alliance_meta.inputs.effect_sizes import notebook_numbers
from alliance_meta.inputs.options import keywords_checked, settings_alias
from alliance_meta.wording import rows_phrase

METHODS = ("bare_bones", "individual", "artifact_distribution")
TABLE_COLUMNS = ("method", "k", "n", "r_bar", "var_r", "var_e", "var_res", "sd_res", "rho", "var_rho", "sd_rho",
                 "se", "ci_lower", "ci_upper", "cr_lower", "cr_upper", "percent_artifact_variance", "note",
                 "k_left_out", "left_out_lacking")
"""Columns of ``psychometric.csv``; ``psychometric_moderators.csv`` puts ``moderator`` and ``level`` first."""
RELIABILITIES = ("rxx", "ryy")
ARTIFACTS = ("rxx", "ryy", "ux")
CORRECTION_METHODS = ("auto", "meas", "uvdrr", "uvirr")
MISSING_ARTIFACTS = ("drop", "mean", "unity")
INTERVALS = ("t", "normal")
ZERO_SUBSTITUTE = float(np.finfo(float).eps)
"""psychmeta (>= 2.5.2) replaces r = 0 by this in individual corrections so that A = r / r_c exists."""
STUDY_COLUMNS = ("r", "n", "r_corrected", "A", "a", "var_e_c", "weight", "correction")
"""Per-study columns of the individual corrections: r (bias-corrected when ``correct_bias``), n, the
corrected correlation, the compound attenuation factor A = r / r_corrected, the range-restriction
refinement factor a, the corrected sampling-error variance, the weight n A^2 and the correction."""
CORRECTION_NAMES = {"meas": "unreliability", "uvdrr": "unreliability and direct range restriction (Case II)",
                    "uvirr": "unreliability and indirect range restriction (Case IV)"}


@dataclass(frozen=True)
class PsychometricOptions:
    """Settings of the analysis; the defaults are psychmeta's ``control_psychmeta()``.

    ``intervals``: ``t`` (k - 1 df) or ``normal`` quantiles for the confidence and
    credibility intervals. ``correction_method``: ``auto`` (Case IV where any row has
    ``ux``, else unreliability only, as psychmeta's ``ma_r_ic`` defaults), ``meas``,
    ``uvdrr`` (Case II) or ``uvirr`` (Case IV). ``missing_artifacts`` (individual
    corrections, applied after the rows of a study are averaged, so a row without a
    reliability takes its study's): ``drop`` studies without a reliability that other studies
    report, fill them with the ``mean`` (sample-size weighted over the studies; psychmeta
    ``impute_method = "wt_mean_full"``) or with ``unity`` (no correction; ``"replace_unity"``);
    docs/psychometric.md. ``decimals``: artifact values
    are rounded to this many decimals before the interactive artifact distribution is
    formed (psychmeta ``decimals = 2``; None = no rounding). ``residual_artifacts``: shrink
    the artifact distributions by their sampling error (psychmeta ``residual_ads``).
    """

    correct_bias: bool = True
    conf_level: float = 0.95
    cred_level: float = 0.80
    intervals: str = "t"
    unbiased_variances: bool = True
    correction_method: str = "auto"
    missing_artifacts: str = "drop"
    residual_artifacts: bool = True
    decimals: int | None = 2

    def __post_init__(self):
        checks = {"intervals": INTERVALS, "correction_method": CORRECTION_METHODS,
                  "missing_artifacts": MISSING_ARTIFACTS}
        for name, allowed in checks.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        for name in ("conf_level", "cred_level"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must lie strictly between 0 and 1 (e.g. 0.95), not {getattr(self, name)}")

    @classmethod
    def hunter_schmidt(cls, **changes) -> PsychometricOptions:
        """psychmeta's ``hs_override = TRUE``: the textbook method (normal quantiles,
        variances weighted by n without k/(k - 1)), with bias-corrected correlations."""
        return cls(**{"correct_bias": True, "intervals": "normal", "unbiased_variances": False, **changes})

    @classmethod
    def from_config(cls, section: dict | None, level: float = 95.0) -> PsychometricOptions:
        """Options from the config's ``psychometric`` section and ``pooling.level`` (percent)."""
        section = dict(section or {})
        names = {f.name for f in fields(cls)}
        values = {key: value for key, value in section.items() if key in names}
        if "credibility_level" in section:
            values["cred_level"] = float(section["credibility_level"]) / 100
        return cls(conf_level=float(level) / 100, **values)


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------

def weighted_mean(x, weights) -> float:
    """sum(w x) / sum(w) (psychmeta ``wt_mean``)."""
    x, weights = np.asarray(x, float), np.asarray(weights, float)
    return float(np.sum(weights * x) / np.sum(weights))


def weighted_variance(x, weights, unbiased: bool = True) -> float:
    """sum(w (x - mean)^2) / sum(w), times k/(k - 1) when ``unbiased`` (0 for k = 1)
    (psychmeta ``wt_var`` with ``df_type = "count"``); exactly 0 for values that are all equal (the rounded
    weighted mean of equal values can differ from them in the last bit, which left a variance of 1e-32)."""
    x, weights = np.asarray(x, float), np.asarray(weights, float)
    if x.size and np.all(x == x[0]):
        return 0.0
    variance = float(np.sum(weights * (x - weighted_mean(x, weights)) ** 2) / np.sum(weights))
    if unbiased:
        return 0.0 if len(x) == 1 else variance * len(x) / (len(x) - 1)
    return variance


def correct_r_bias(r, n):
    """r / ((2n - 2) / (2n - 1)): the small-sample bias of r removed (Schmidt & Hunter 2015,
    ch. 3, "correcting for bias in the correlation"; psychmeta ``correct_r_bias``)."""
    n = np.asarray(n, float)
    return np.asarray(r, float) * (2 * n - 1) / (2 * n - 2)


def sampling_error_variance(r_bar, n):
    """(1 - r_bar^2)^2 / (n - 1) per study, at the mean correlation (Schmidt & Hunter 2015,
    ch. 3; psychmeta ``var_error_r`` with ``error_type = "mean"``)."""
    return (1 - np.asarray(r_bar, float) ** 2) ** 2 / (np.asarray(n, float) - 1)


def _quantile(level: float, k: int, intervals: str) -> float:
    if intervals == "t":
        return float(dist.t.ppf(0.5 + level / 2, k - 1)) if k > 1 else np.nan
    return float(dist.norm.ppf(0.5 + level / 2))


def confidence_interval(mean, se, k: int, level: float, intervals: str) -> tuple[float, float]:
    """mean -/+ q se, q from t(k - 1) or the normal; the normal for k = 1 (psychmeta ``confidence``)."""
    quantile = _quantile(level, k, intervals) if k > 1 else float(dist.norm.ppf(0.5 + level / 2))
    return mean - quantile * se, mean + quantile * se


def credibility_interval(mean, sd, k: int, level: float, intervals: str) -> tuple[float, float]:
    """mean -/+ q SD of the true correlations (an undefined SD counts as 0); with t, undefined
    for k = 1 (psychmeta ``credibility``; Schmidt & Hunter 2015, ch. 3, credibility intervals)."""
    quantile = _quantile(level, k, intervals)
    sd = 0.0 if not np.isfinite(sd) else sd
    return mean - quantile * sd, mean + quantile * sd


def _percent(part: float, whole: float) -> float:
    """100 part / whole; inf when the whole variance is 0 (as psychmeta), NaN when undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(100 * np.float64(part) / np.float64(whole))


def _sd(variance: float) -> float:
    """Square root of a variance; 0 when it is negative (psychmeta sets the NaN SD to 0)."""
    return float(np.sqrt(variance)) if variance >= 0 else (0.0 if np.isfinite(variance) else np.nan)


def estimate_rxxa(rxxi, ux):
    """Reference-population reliability of an internal-consistency estimate:
    rxxa = 1 - ux^2 (1 - rxxi) (psychmeta ``estimate_rxxa`` for alpha-type rxxi, which uses
    this formula for direct and indirect range restriction; Schmidt & Hunter 2015, ch. 3)."""
    return 1 - np.asarray(ux, float) ** 2 * (1 - np.asarray(rxxi, float))


def estimate_ut(ux, rxxi):
    """True-score u ratio ut = sqrt(rxxi ux^2 / (1 + rxxi ux^2 - ux^2)) (psychmeta
    ``estimate_ut`` with a sample reliability; Hunter, Schmidt & Le 2006, eq. 22); NaN where it is not defined
    (ux far above 1 or rxxi low: the notes name those studies), without a RuntimeWarning in the job's log."""
    ux, rxxi = np.asarray(ux, float), np.asarray(rxxi, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(rxxi * ux**2 / (1 + rxxi * ux**2 - ux**2))


def correct_r(r, rxx, ryy, ux, method: str):
    """Corrected correlations and the refinement factor a of their sampling variance.

    ``meas``: r / sqrt(rxx ryy), a = 1. ``uvdrr`` (Case II, Thorndike's direct range
    restriction): r_xp = r / sqrt(ryy), rho = r_xp / (ux sqrt((ux^-2 - 1) r_xp^2 + 1)) /
    sqrt(rxxa), a = 1 / ((ux^-2 - 1) r^2 + 1). ``uvirr`` (Case IV, Hunter, Schmidt & Le
    2006): r_tp = r / sqrt(rxx ryy), rho = r_tp / (ut sqrt((ut^-2 - 1) r_tp^2 + 1)),
    a = 1 / ((ut^-2 - 1) r^2 + 1). Schmidt & Hunter (2015), ch. 3; psychmeta
    ``.correct_r_uvdrr``, ``.correct_r_uvirr``, ``.refine_var_rr``.
    """
    r, rxx, ryy, ux = (np.asarray(v, float) for v in (r, rxx, ryy, ux))
    if method == "meas":
        return r / np.sqrt(rxx * ryy), np.ones_like(r)
    if method == "uvdrr":
        return correct_r_uvdrr(r, np.sqrt(estimate_rxxa(rxx, ux)), np.sqrt(ryy), ux), 1 / ((ux**-2 - 1) * r**2 + 1)
    if method == "uvirr":
        ut = estimate_ut(ux, rxx)
        return correct_r_uvirr(r, np.sqrt(rxx), np.sqrt(ryy), ut), 1 / ((ut**-2 - 1) * r**2 + 1)
    raise ValueError(f"correction method must be one of {CORRECTION_METHODS[1:]}, not {method!r}")


def correct_r_uvirr(r, qx, qy, ut):
    """Case IV correction: r_tp = r / (qx qy), rho = r_tp / (ut sqrt((ut^-2 - 1) r_tp^2 + 1))
    (Hunter, Schmidt & Le 2006, eq. 22-24; psychmeta ``.correct_r_uvirr``)."""
    r_tp = np.asarray(r, float) / (np.asarray(qx, float) * np.asarray(qy, float))
    ut = np.asarray(ut, float)
    return r_tp / (ut * np.sqrt((1 / ut**2 - 1) * r_tp**2 + 1))


def correct_r_uvdrr(r, qxa, qy, ux):
    """Case II correction: r_xp = r / qy, rho = r_xp / (ux sqrt((ux^-2 - 1) r_xp^2 + 1)) / qxa
    (Thorndike's Case II; Schmidt & Hunter 2015, ch. 3; psychmeta ``.correct_r_uvdrr``)."""
    r_xp, ux = np.asarray(r, float) / np.asarray(qy, float), np.asarray(ux, float)
    return r_xp / (ux * np.sqrt((1 / ux**2 - 1) * r_xp**2 + 1)) / np.asarray(qxa, float)


def attenuate_r_uvdrr(rho, qxa, qy, ux):
    """The inverse of :func:`correct_r_uvdrr`: r_xp = rho qxa, r = ux r_xp / sqrt((ux^2 - 1) r_xp^2 + 1) qy
    (psychmeta ``.attenuate_r_uvdrr``)."""
    r_xp, ux = np.asarray(rho, float) * np.asarray(qxa, float), np.asarray(ux, float)
    return ux * r_xp / np.sqrt((ux**2 - 1) * r_xp**2 + 1) * np.asarray(qy, float)


def attenuate_r_uvirr(rho, qx, qy, ut):
    """The inverse of :func:`correct_r_uvirr`: r = ut rho / sqrt((ut^2 - 1) rho^2 + 1) qx qy
    (psychmeta ``.attenuate_r_uvirr``)."""
    rho, ut = np.asarray(rho, float), np.asarray(ut, float)
    return ut * rho / np.sqrt((ut**2 - 1) * rho**2 + 1) * (np.asarray(qx, float) * np.asarray(qy, float))


def var_error_u(u, n):
    """Sampling-error variance of a u ratio, u^2 / (2 (n - 1)) (psychmeta ``var_error_u`` with the
    reference SD known; Schmidt & Hunter 2015, ch. 4)."""
    return 0.5 * np.asarray(u, float) ** 2 / (np.asarray(n, float) - 1)


def estimate_var_ut(rxxi, ux, var_ux):
    """Variance of ut = :func:`estimate_ut` (ux, rxxi) from the variance of ux by the delta method,
    rxxi fixed: b^2 var_ux, b = rxxi ux / (sqrt(rxxi ux^2 / d) d^2), d = (rxxi - 1) ux^2 + 1
    (psychmeta ``estimate_var_ut_rxxi`` with ``var_rxxi = 0``)."""
    d = (rxxi - 1) * ux**2 + 1
    return (rxxi * ux / (np.sqrt(rxxi * ux**2 / d) * d**2)) ** 2 * var_ux


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PsychometricResult:
    """One row of ``psychometric.csv``.

    ``r_bar``, ``var_r``, ``var_e``: the bare-bones mean of the (bias-corrected) observed
    correlations, their weighted variance and the mean sampling-error variance of the rows
    analysed. ``var_res`` = var_r - var_e (artifact distributions: var_r - var_e - the
    variance due to differences in reliability). ``rho``, ``var_rho``, ``sd_rho``, ``se``,
    CI and CR: the mean corrected correlation (bare-bones: the observed mean r, ``var_res``)
    with its standard error, confidence and credibility intervals.
    ``percent_artifact_variance``: the predicted artifactual variance in percent of the
    observed (psychmeta ``heterogeneity``: var_e / var_r; individual: var_e_c / var_r_c;
    artifact distributions: (var_e + var_art) / var_r). ``k_left_out``: the studies the individual
    corrections left out for want of a reliability (``missing_artifacts: drop``), ``left_out_lacking`` the
    reliabilities they lack (``rxx``, ``ryy`` or ``rxx ryy``): :func:`left_out_phrase` says it.
    """

    method: str
    k: int
    n: float
    r_bar: float = np.nan
    var_r: float = np.nan
    var_e: float = np.nan
    var_res: float = np.nan
    sd_res: float = np.nan
    rho: float = np.nan
    var_rho: float = np.nan
    sd_rho: float = np.nan
    se: float = np.nan
    ci_lower: float = np.nan
    ci_upper: float = np.nan
    cr_lower: float = np.nan
    cr_upper: float = np.nan
    percent_artifact_variance: float = np.nan
    note: str = ""
    k_left_out: int = 0
    left_out_lacking: str = ""

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in TABLE_COLUMNS}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()], columns=list(TABLE_COLUMNS))


@dataclass(frozen=True)
class BareBones:
    """The bare-bones analysis with its per-study pieces (psychmeta ``.ma_r_bb``)."""

    result: PsychometricResult
    r: np.ndarray            # bias-corrected correlations when ``correct_bias``
    n: np.ndarray
    var_e_i: np.ndarray      # (1 - r_bar^2)^2 / (n - 1)
    se: float                # SD(r) / sqrt(k) (k = 1: sqrt(var_e))
    ci: tuple[float, float]


def _moments(values, weights, mean, var_e_i, options):
    """The steps shared by the bare-bones and individual-correction rows (Schmidt & Hunter 2015,
    ch. 3-4): weighted sampling-error variance, observed and residual variance, SE of the mean
    (sqrt(var_obs / k); sqrt(var_e) for one study), residual SD and the confidence and
    credibility intervals. Returns (var_e, var_obs, var_res, sd_res, se, ci, cr)."""
    k = len(values)
    var_e = weighted_mean(var_e_i, weights)
    if k == 1:
        var_obs = var_res = np.nan
        se = float(np.sqrt(var_e))
    else:
        var_obs = weighted_variance(values, weights, options.unbiased_variances)
        var_res = var_obs - var_e
        se = float(np.sqrt(var_obs / k))
    sd_res = _sd(var_res)
    ci = confidence_interval(mean, se, k, options.conf_level, options.intervals)
    cr = credibility_interval(mean, sd_res, k, options.cred_level, options.intervals)
    return var_e, var_obs, var_res, sd_res, se, ci, cr


def bare_bones(r, n, options: PsychometricOptions | None = None, note: str = "") -> BareBones:
    """Sample-size-weighted bare-bones meta-analysis (Schmidt & Hunter 2015, ch. 3;
    psychmeta ``ma_r_bb`` with ``wt_type = "sample_size"``, ``error_type = "mean"``).

    r_bar = sum(n r) / sum(n); var_r = sum(n (r - r_bar)^2) / sum(n) (times k/(k - 1));
    var_e = sum(n v_e) / sum(n) with v_e = (1 - r_bar^2)^2 / (n - 1); var_res = var_r - var_e;
    SE = sqrt(var_r / k); CI around r_bar with SE, credibility interval with SD_res.
    """
    options = options or PsychometricOptions()
    r, n = np.asarray(r, float), np.asarray(n, float)
    k = len(r)
    if k == 0:
        return BareBones(PsychometricResult("bare_bones", 0, 0.0, note=note or "no studies"), r, n, r, np.nan,
                         (np.nan, np.nan))
    if options.correct_bias:
        r = correct_r_bias(r, n)
    r_bar = weighted_mean(r, n)
    var_e_i = sampling_error_variance(r_bar, n)
    var_e, var_r, var_res, sd_res, se, ci, cr = _moments(r, n, r_bar, var_e_i, options)
    result = PsychometricResult("bare_bones", k, float(n.sum()), r_bar, var_r, var_e, var_res, sd_res,
                                rho=r_bar, var_rho=var_res, sd_rho=sd_res, se=se, ci_lower=ci[0], ci_upper=ci[1],
                                cr_lower=cr[0], cr_upper=cr[1], percent_artifact_variance=_percent(var_e, var_r),
                                note=note)
    return BareBones(result, r, n, var_e_i, se, ci)


@dataclass(frozen=True)
class IndividualCorrection:
    """The individual-correction analysis and its studies (psychmeta ``ma_r_ic``, true-score table)."""

    result: PsychometricResult
    studies: pd.DataFrame  # r, n, r_corrected, A, a, var_e_c, weight, correction


def individual_correction(r, n, rxx=None, ryy=None, ux=None, options: PsychometricOptions | None = None,
                          note: str = "") -> IndividualCorrection:
    """Each correlation corrected for its own artifacts, then meta-analysed (Schmidt &
    Hunter 2015, ch. 3; psychmeta ``ma_r_ic`` with ``wt_type = "sample_size"``).

    rho_i from :func:`correct_r` (bias-corrected r, r = 0 replaced by machine epsilon as
    psychmeta does); compound attenuation factor A_i = r_i / rho_i; weights w_i = n_i A_i^2;
    corrected sampling-error variances v_c,i = v_e,i a_i^2 / A_i^2 (v_e,i from the bare-bones
    analysis at r_bar); rho_bar = sum(w rho) / sum(w); var_r_c = weighted variance of rho_i
    (times k/(k - 1)); var_e_c = sum(w v_c) / sum(w); var_rho = var_r_c - var_e_c;
    SE = sqrt(var_r_c / k). Missing artifacts must have been handled before (NaN ux = 1).
    """
    options = options or PsychometricOptions()
    r = np.asarray(r, float)
    r = np.where(r == 0, ZERO_SUBSTITUTE, r)
    n = np.asarray(n, float)
    k = len(r)
    ones = np.ones(k)
    rxx, ryy = (ones if v is None else np.asarray(v, float) for v in (rxx, ryy))
    ux = ones if ux is None else np.where(np.isfinite(np.asarray(ux, float)), np.asarray(ux, float), 1.0)
    method = options.correction_method
    if method == "auto":
        method = "uvirr" if np.any(ux != 1) else "meas"
    base = bare_bones(r, n, options)
    if k == 0:
        result = PsychometricResult("individual", 0, 0.0, note=note or "no studies with the needed artifacts")
        return IndividualCorrection(result, pd.DataFrame(columns=list(STUDY_COLUMNS)))
    rho_i, a = correct_r(base.r, rxx, ryy, ux, method)
    attenuation = base.r / rho_i
    attenuation = np.where(np.isfinite(attenuation), attenuation, 1.0)
    var_e_c_i = base.var_e_i / attenuation**2 * a**2
    weights = n * attenuation**2
    rho = weighted_mean(rho_i, weights)
    var_e_c, var_r_c, var_rho, sd_rho, se, ci, cr = _moments(rho_i, weights, rho, var_e_c_i, options)
    bb = base.result
    text = f"corrected for {CORRECTION_NAMES[method]}" + (f"; {note}" if note else "")
    result = PsychometricResult("individual", k, bb.n, bb.r_bar, bb.var_r, bb.var_e, bb.var_res, bb.sd_res,
                                rho, var_rho, sd_rho, se, ci[0], ci[1], cr[0], cr[1], _percent(var_e_c, var_r_c), text)
    studies = pd.DataFrame({"r": base.r, "n": n, "r_corrected": rho_i, "A": attenuation, "a": a,
                            "var_e_c": var_e_c_i, "weight": weights, "correction": method})
    return IndividualCorrection(result, studies)


@dataclass(frozen=True)
class ArtifactDistribution:
    """An interactive artifact distribution of q = sqrt(reliability) (psychmeta ``create_ad_int``).

    ``values``/``weights``: the distribution used (rounded to ``decimals``, grouped, and, with
    ``residual_artifacts``, shrunk to SD_res around the mean: psychmeta ``prepare_ad_int``).
    Summary: k, n, the n-weighted mean and variance of q, the sampling-error variance
    var_e = sum(n (1 - q_bar^2)^2 / (n - 1)) / sum(n) (q treated as the correlation of observed
    with true scores: psychmeta ``var_error_q`` without the number of items) and the residual
    variance (>= 0), and
    the mean and SD of the reliabilities themselves.
    """

    artifact: str
    k: int
    n: float
    mean_q: float
    var_q: float
    var_e_q: float
    var_res_q: float
    mean_reliability: float
    sd_reliability: float
    values: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)

    def summary(self) -> dict:
        return {"artifact": self.artifact, "k": self.k, "n": self.n, "mean_reliability": self.mean_reliability,
                "sd_reliability": self.sd_reliability, "mean_q": self.mean_q, "sd_q": _sd(self.var_q),
                "sd_e_q": _sd(self.var_e_q), "sd_res_q": _sd(self.var_res_q),
                "mean_q_used": weighted_mean(self.values, self.weights)}


def artifact_distribution(reliability, n, artifact: str, options: PsychometricOptions | None = None
                          ) -> ArtifactDistribution | None:
    """The interactive distribution of q = sqrt(reliability) from the rows that report one,
    weighted by n (Schmidt & Hunter 2015, ch. 4; psychmeta ``create_ad_int`` and
    ``prepare_ad_int``); None when no row reports it."""
    options = options or PsychometricOptions()
    reliability, n = np.asarray(reliability, float), np.asarray(n, float)
    keep = np.isfinite(reliability)
    if not keep.any():
        return None
    reliability, n = reliability[keep], n[keep]
    q = np.sqrt(reliability)
    mean_q = weighted_mean(q, n)
    var_q = weighted_variance(q, n, options.unbiased_variances)
    var_e_q = weighted_mean(sampling_error_variance(mean_q, n), n)
    var_res_q = max(var_q - var_e_q, 0.0)
    values, weights = _prepared(q, n, var_q, var_res_q, options)
    return ArtifactDistribution(artifact, int(keep.sum()), float(n.sum()), mean_q, var_q, var_e_q, var_res_q,
                                weighted_mean(reliability, n),
                                _sd(weighted_variance(reliability, n, options.unbiased_variances)), values, weights)


def true_score_u_distribution(ux, rxx, n, options: PsychometricOptions | None = None) -> ArtifactDistribution | None:
    """The interactive distribution of true-score u ratios for Case IV (psychmeta ``create_ad_int``,
    its ``ut`` from ``ux`` and ``rxxi``, then ``prepare_ad_int``); None without ux or rxx.

    ut_i = :func:`estimate_ut` (ux_i, mean rxx) for every row with ux, weighted by n (the mean
    reliability is the n-weighted mean of the rows with rxx); its sampling-error variance is
    :func:`estimate_var_ut` at the mean ux of the n-weighted mean of :func:`var_error_u` (mean ux, n);
    rounded, grouped and shrunk to its residual SD like the reliabilities. In the summary the
    ``*_q`` columns describe ut (no reliability columns).
    """
    options = options or PsychometricOptions()
    ux, rxx, n = (np.asarray(v, float) for v in (ux, rxx, n))
    has_u, has_r = np.isfinite(ux), np.isfinite(rxx)
    if not has_u.any() or not has_r.any():
        return None
    mean_rxx = weighted_mean(rxx[has_r], n[has_r])
    ux, n = ux[has_u], n[has_u]
    ut = estimate_ut(ux, mean_rxx)
    mean_ux = weighted_mean(ux, n)
    mean_ut, var_ut = weighted_mean(ut, n), weighted_variance(ut, n, options.unbiased_variances)
    var_e_ut = float(estimate_var_ut(mean_rxx, mean_ux, weighted_mean(var_error_u(mean_ux, n), n)))
    var_res_ut = max(var_ut - var_e_ut, 0.0)
    values, weights = _prepared(ut, n, var_ut, var_res_ut, options)
    return ArtifactDistribution("ut", int(has_u.sum()), float(n.sum()), mean_ut, var_ut, var_e_ut, var_res_ut,
                                np.nan, np.nan, values, weights)


def range_restriction_distributions(ux, rxx, n, options: PsychometricOptions | None = None
                                    ) -> tuple[ArtifactDistribution, ArtifactDistribution] | None:
    """The distributions of Case II (direct range restriction; psychmeta ``create_ad_int`` as
    used by ``ma_r_ad.int_uvdrr``): the reference-population q_xa = sqrt(:func:`estimate_rxxa`
    (rxx_i, mean ux)) of every row with rxx, and the observed ux of every row with ux, both
    weighted by n. Sampling-error variances: of q_xa, b^2 var_e(q_xi) with
    b = q ux^2 / sqrt((q^2 - 1) ux^2 + 1) at the mean q_xi and mean ux (psychmeta
    ``estimate_var_qxa_ux_irr``, which psychmeta uses for internal-consistency reliabilities);
    of ux, the n-weighted mean of :func:`var_error_u` (mean ux, n). None without ux or rxx.
    """
    options = options or PsychometricOptions()
    ux, rxx, n = (np.asarray(v, float) for v in (ux, rxx, n))
    has_u, has_r = np.isfinite(ux), np.isfinite(rxx)
    if not has_u.any() or not has_r.any():
        return None
    mean_ux = weighted_mean(ux[has_u], n[has_u])
    reliability = artifact_distribution(rxx, n, "rxx", options)
    n_r, n_u = n[has_r], n[has_u]
    qxa = np.sqrt(estimate_rxxa(rxx[has_r], mean_ux))
    mean_q = reliability.mean_q
    b = mean_q * mean_ux**2 / np.sqrt((mean_q**2 - 1) * mean_ux**2 + 1)
    distributions = []
    for name, values, weights, var_e in (("qxa", qxa, n_r, b**2 * reliability.var_e_q),
                                         ("ux", ux[has_u], n_u, weighted_mean(var_error_u(mean_ux, n_u), n_u))):
        mean, variance = weighted_mean(values, weights), weighted_variance(values, weights, options.unbiased_variances)
        var_res = max(variance - var_e, 0.0)
        used, used_weights = _prepared(values, weights, variance, var_res, options)
        distributions.append(ArtifactDistribution(name, len(values), float(weights.sum()), mean, variance, float(var_e),
                                                  var_res, np.nan, np.nan, used, used_weights))
    return distributions[0], distributions[1]


def _prepared(values, n, variance, residual_variance, options):
    """The distribution used: values rounded and grouped (:func:`_grouped`), then, with
    ``residual_artifacts``, moved towards their mean so that their SD is the residual SD
    (psychmeta ``prepare_ad_int``)."""
    values, weights = _grouped(values, n, options.decimals)
    if options.residual_artifacts:
        centre, sd_res = weighted_mean(values, weights), np.sqrt(residual_variance)
        if sd_res == 0 or len(values) == 1:
            values, weights = np.array([centre]), np.array([weights.sum()])
        else:
            values = (values - centre) / np.sqrt(variance) * sd_res + centre
    return values, weights


def _grouped(values, weights, decimals):
    """Distinct values (rounded to ``decimals`` when there is more than one) with their summed
    weights as proportions (psychmeta ``.create_ad_int``, applied twice)."""
    values, inverse = np.unique(values, return_inverse=True)
    weights = np.bincount(inverse, weights=weights)
    if decimals is not None and len(values) > 1:
        values, inverse = np.unique(np.round(values, decimals), return_inverse=True)
        weights = np.bincount(inverse, weights=weights)
    return values, weights / weights.sum()


def artifact_distribution_meta_analysis(base: BareBones, distribution_x: ArtifactDistribution | None,
                                        distribution_y: ArtifactDistribution | None,
                                        options: PsychometricOptions | None = None, note: str = "",
                                        distribution_u: ArtifactDistribution | None = None,
                                        range_restriction: str = "uvirr") -> PsychometricResult:
    """Interactive artifact-distribution meta-analysis, correcting for unreliability in x and y
    (Schmidt & Hunter 2015, ch. 4; Law, Schmidt & Hunter 1994; psychmeta ``ma_r_ad.int_meas``).

    rho = r_bar / (q_x q_y) with the means of the distributions used; the artifact variance
    var_art = weighted variance of rho q_x q_y over every combination of the two
    distributions (weights multiplied, times L/(L - 1) for L combinations); var_res =
    var_r - var_e - var_art; var_rho = var_res / (q_x q_y)^2; SE and CI of r_bar divided by
    q_x q_y; credibility interval from SD_rho. With ``distribution_u``,
    :func:`_interactive_range_restriction` corrects for range restriction too: ``uvirr`` (Case IV;
    ``distribution_u`` of ut, ``distribution_x`` of q_xi) or ``uvdrr`` (Case II; ux, and q_xa
    from :func:`range_restriction_distributions`).
    """
    options = options or PsychometricOptions()
    bb = base.result
    if bb.k == 0:
        return PsychometricResult("artifact_distribution", 0, 0.0, note=note or "no studies")
    unity = (np.array([1.0]), np.array([1.0]))
    qx, wx = (distribution_x.values, distribution_x.weights) if distribution_x else unity
    qy, wy = (distribution_y.values, distribution_y.weights) if distribution_y else unity
    if distribution_u is not None:
        return _interactive_range_restriction(base, (qx, wx), (qy, wy),
                                              (distribution_u.values, distribution_u.weights), range_restriction,
                                              options, note)
    mean_qx, mean_qy = weighted_mean(qx, wx), weighted_mean(qy, wy)
    product = mean_qx * mean_qy
    rho = bb.r_bar / product
    grid_weights = np.outer(wx, wy).ravel()
    var_art = weighted_variance(rho * np.outer(qx, qy).ravel(), grid_weights / grid_weights.sum(),
                                options.unbiased_variances)
    var_res = bb.var_r - bb.var_e - var_art
    var_rho = var_res / product**2
    sd_rho = _sd(var_rho) if bb.k > 1 else np.nan
    cr = credibility_interval(rho, sd_rho, bb.k, options.cred_level, options.intervals)
    return PsychometricResult("artifact_distribution", bb.k, bb.n, bb.r_bar, bb.var_r, bb.var_e, var_res,
                              _sd(var_res) if bb.k > 1 else np.nan, rho, var_rho, sd_rho, base.se / product,
                              base.ci[0] / product, base.ci[1] / product, cr[0], cr[1],
                              _percent(bb.var_e + var_art, bb.var_r), note)


def _interactive_range_restriction(base: BareBones, x, y, u, method: str, options: PsychometricOptions,
                                   note: str) -> PsychometricResult:
    """Interactive artifact distributions with range restriction: indirect (``uvirr``, Case IV;
    Hunter, Schmidt & Le 2006; psychmeta ``ma_r_ad.int_uvirr``) or direct (``uvdrr``, Case II;
    psychmeta ``ma_r_ad.int_uvdrr``); Schmidt & Hunter 2015, ch. 4.

    rho = correct(r_bar, mean q_x, mean q_y, mean u) (:func:`correct_r_uvirr` with q_xi and ut,
    :func:`correct_r_uvdrr` with q_xa and ux); the artifact variance var_art = weighted variance
    (times L/(L - 1)) of the attenuated rho (:func:`attenuate_r_uvirr`, :func:`attenuate_r_uvdrr`)
    over every combination of the three distributions; var_res = var_r - var_e - var_art. As the
    correction is not linear, each variance V on the r scale is carried to the rho scale as
    the integral of (rho - correct(x))^2 over x ~ Normal(r_bar, V) within r_bar -/+ 4 sqrt(V)
    (psychmeta ``estimate_var_rho_int_uvirr``, ``_uvdrr``; R's ``integrate`` = QUADPACK dqags with its
    tolerances 1.2e-4, as scipy's ``quad``): var_rho from var_res (0 when var_res < 0), the SE
    from SE(r_bar)^2; the CI is the corrected CI of r_bar; percent = var_pre_c / var_r_c.
    """
    from scipy import integrate  # here, not at module level: jobs that never need it start faster

    bb = base.result
    correct, attenuate = {"uvirr": (correct_r_uvirr, attenuate_r_uvirr),
                          "uvdrr": (correct_r_uvdrr, attenuate_r_uvdrr)}[method]
    (qx, wx), (qy, wy), (ut, wu) = x, y, u
    mean_qx, mean_qy, mean_ut = weighted_mean(qx, wx), weighted_mean(qy, wy), weighted_mean(ut, wu)
    rho = float(correct(bb.r_bar, mean_qx, mean_qy, mean_ut))
    grid = [g.ravel() for g in np.meshgrid(qx, qy, ut, indexing="ij")]
    grid_weights = np.einsum("i,j,k->ijk", wx, wy, wu).ravel()
    var_art = weighted_variance(attenuate(rho, *grid), grid_weights / grid_weights.sum(), options.unbiased_variances)
    var_pre = bb.var_e + var_art
    var_res = bb.var_r - var_pre

    def corrected(variance: float) -> float:
        if not np.isfinite(variance):
            return np.nan
        if variance < 0:
            return 0.0
        sd = np.sqrt(variance)
        with np.errstate(invalid="ignore"):  # ux (ut) above 1: not defined for |r| large (psychmeta's integrate stops)
            if not np.isfinite(correct(bb.r_bar + np.array([-4, 4]) * sd, mean_qx, mean_qy, mean_ut)).all():
                return np.nan
        tolerance = np.finfo(float).eps ** 0.25  # R integrate()'s rel.tol and abs.tol

        def integrand(value):
            return (rho - correct(value, mean_qx, mean_qy, mean_ut)) ** 2 * dist.norm.pdf(value, bb.r_bar, sd)
        return float(integrate.quad(integrand, bb.r_bar - 4 * sd, bb.r_bar + 4 * sd, epsabs=tolerance,
                                    epsrel=tolerance, limit=100)[0])

    var_rho = corrected(var_res)
    sd_rho = _sd(var_rho) if bb.k > 1 else np.nan
    ci = correct(np.array(base.ci), mean_qx, mean_qy, mean_ut)
    cr = credibility_interval(rho, sd_rho, bb.k, options.cred_level, options.intervals)
    if bb.k > 1 and var_res > 0 and not np.isfinite(var_rho):  # not a credibility interval of width 0
        cr = (np.nan, np.nan)
        u_name = "ut" if method == "uvirr" else "ux"
        note = "; ".join(t for t in (note, (
            f"SD_rho not estimable: the range-restriction correction ({u_name} above 1) is not defined for every "
            f"correlation within r_bar -/+ 4 SD_res ({bb.r_bar - 4 * np.sqrt(var_res):.2f} to "
            f"{bb.r_bar + 4 * np.sqrt(var_res):.2f})")) if t)
    return PsychometricResult("artifact_distribution", bb.k, bb.n, bb.r_bar, bb.var_r, bb.var_e, var_res,
                              _sd(var_res) if bb.k > 1 else np.nan, rho, var_rho, sd_rho,
                              float(np.sqrt(corrected(base.se**2))), float(ci[0]), float(ci[1]), cr[0], cr[1],
                              _percent(corrected(var_pre), corrected(bb.var_r)), note)


# --------------------------------------------------------------------------------------
# Frames: defaults, missing artifacts, dependent effect sizes
# --------------------------------------------------------------------------------------

def correlations(effect_sizes: pd.DataFrame) -> pd.DataFrame:
    """Rows of an outcome family's ``effect_sizes.csv`` as correlations: r = tanh(yi) (Fisher z
    back-transformed; the sign convention applied), n, and every other column; rows without
    an effect or n dropped."""
    frame = effect_sizes.copy()
    frame["r"] = np.tanh(pd.to_numeric(frame["yi"], errors="coerce"))
    frame["n"] = pd.to_numeric(frame["n"], errors="coerce")
    for column in ARTIFACTS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce") if column in frame else np.nan
    return frame[np.isfinite(frame["r"]) & (frame["n"] > 1)].reset_index(drop=True)


def left_out_note(effect_sizes: pd.DataFrame) -> str:
    """The effect sizes :func:`correlations` leaves out for want of a sample size, by sheet row (empty when
    none): the corrections weight each correlation by its n, so a row converted without one (an odds ratio
    with its CI, say) cannot enter."""
    effect = np.isfinite(np.tanh(pd.to_numeric(effect_sizes["yi"], errors="coerce")))
    left_out = effect_sizes[effect & ~(pd.to_numeric(effect_sizes["n"], errors="coerce") > 1)]
    if left_out.empty:
        return ""
    where = f" (sheet {rows_phrase(left_out['sheet_row'], 20, rest='more')})" if "sheet_row" in left_out else ""
    verb = "has" if len(left_out) == 1 else "have"
    return (f"{len(left_out)} of {len(effect_sizes)} effect sizes {verb} no sample size (n) above 1 and "
            f"{'is' if len(left_out) == 1 else 'are'} left out of the psychometric corrections, which weight by "
            f"n{where}; code an n above 1 to include {'it' if len(left_out) == 1 else 'them'}")


def fill_reliabilities(frame: pd.DataFrame, reliability: dict | None = None,
                       outcome_reliability: float | None = None) -> pd.DataFrame:
    """``rxx`` where the row gives none from ``reliability`` by the row's ``measure``
    (config ``psychometric.reliability``; keys are read as the sheet's measure values are, so
    ``WAI-SR`` is ``WAI``), ``ryy`` from ``outcome_reliability``
    (``psychometric.outcome_reliability``); reported values are never replaced."""
    frame = frame.copy()
    for column in ARTIFACTS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce") if column in frame else np.nan
    if reliability and "measure" in frame:
        measures = VOCABULARIES["measure"]
        by_measure = {measures.canonical(str(key)) or str(key): value for key, value in reliability.items()}
        measure = frame["measure"].map(lambda value: measures.canonical(value) if isinstance(value, str) else value)
        defaults = pd.to_numeric(measure.map(by_measure), errors="coerce")
        frame["rxx"] = frame["rxx"].fillna(defaults)
    if outcome_reliability is not None:
        frame["ryy"] = frame["ryy"].fillna(float(outcome_reliability))
    return frame


def reported_reliabilities(frame: pd.DataFrame) -> tuple[str, ...]:
    """The reliabilities (``rxx``, ``ryy``) at least one row gives: the ones corrected for."""
    return tuple(c for c in RELIABILITIES if c in frame and pd.to_numeric(frame[c], errors="coerce").notna().any())


def imputed_values(frame: pd.DataFrame, how: str, artifacts=RELIABILITIES) -> dict[str, float]:
    """What :func:`impute_missing` puts in place of a missing reliability: ``mean`` = the n-weighted mean of
    the rows that give one (psychmeta ``impute_method = "wt_mean_full"``), ``unity`` = 1
    (``"replace_unity"``); none for ``drop`` or a reliability no row gives."""
    values = {}
    for column in artifacts:
        given = pd.to_numeric(frame[column], errors="coerce")
        if how == "mean" and given.notna().any():
            known = given.notna()
            values[column] = weighted_mean(given[known], frame.loc[known, "n"])
        elif how == "unity":
            values[column] = 1.0
    return values


def impute_missing(frame: pd.DataFrame, how: str, artifacts=RELIABILITIES, values: dict | None = None) -> pd.DataFrame:
    """Missing reliabilities for the individual corrections: ``mean`` = the n-weighted mean of
    the rows that give one (psychmeta ``impute_method = "wt_mean_full"``), ``unity`` = 1
    (``"replace_unity"``), ``drop`` = left missing (the rows are left out). ``values``: the
    replacements (default :func:`imputed_values` of ``frame``). The psychometric analysis imputes
    studies, after :func:`collapse_within_study`, as psychmeta's ``ma_r_ic`` does."""
    frame = frame.copy()
    values = imputed_values(frame, how, artifacts) if values is None else values
    for column in artifacts:
        if column in values:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(values[column])
    return frame


def collapse_within_study(frame: pd.DataFrame, study: str = "study_id") -> pd.DataFrame:
    """One row per study: the n-weighted means of r and of each artifact given (missing ones
    ignored), and n = sum(n^2) / sum(n) (psychmeta ``ma_r`` with ``collapse_method = "average"``);
    other columns from the study's first row. Frames without ``study`` are returned as they are."""
    if study not in frame or frame[study].is_unique:
        return frame.reset_index(drop=True)
    data = frame.copy()
    n = data["n"].to_numpy(float)
    sums = {"_n": n, "_n2": n**2, "_nr": n * data["r"].to_numpy(float)}
    for column in ARTIFACTS:
        if column in data:
            values = pd.to_numeric(data[column], errors="coerce").to_numpy(float)
            known = np.isfinite(values)
            sums[f"_nx_{column}"] = np.where(known, n * values, 0.0)
            sums[f"_nk_{column}"] = np.where(known, n, 0.0)
    grouped = pd.DataFrame(sums, index=data.index).groupby(data[study].to_numpy(), sort=False).sum()
    first = data.groupby(study, sort=False).first()
    first["r"] = grouped["_nr"] / grouped["_n"]
    first["n"] = grouped["_n2"] / grouped["_n"]
    for column in ARTIFACTS:
        if column in data:
            with np.errstate(invalid="ignore", divide="ignore"):
                first[column] = grouped[f"_nx_{column}"] / grouped[f"_nk_{column}"].where(grouped[f"_nk_{column}"] > 0)
    return first.reset_index()


# --------------------------------------------------------------------------------------
# The analysis of a frame
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PsychometricAnalysis:
    """The three analyses of one set of studies (``individual`` and ``artifact_distribution``
    are None when no reliability is given) and the artifact distributions used."""

    bare_bones: PsychometricResult
    individual: PsychometricResult | None = None
    artifact_distribution: PsychometricResult | None = None
    studies: pd.DataFrame | None = None
    distributions: tuple[ArtifactDistribution, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """``psychometric.csv``: one row per method that applies."""
        rows = [r.to_dict() for r in (self.bare_bones, self.individual, self.artifact_distribution) if r is not None]
        return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))

    def artifact_table(self) -> pd.DataFrame:
        """One row per artifact distribution (``rxx``, ``ryy``: k, n, reliabilities and q = their
        square roots; ``ut`` under Case IV: the true-score u ratios in the ``*_q`` columns)."""
        columns = ["artifact", "k", "n", "mean_reliability", "sd_reliability", "mean_q", "sd_q", "sd_e_q",
                   "sd_res_q", "mean_q_used"]
        return pd.DataFrame([d.summary() for d in self.distributions], columns=columns)

    def studies_table(self) -> pd.DataFrame:
        """``psychometric_studies.csv``: the individually corrected studies of the forest plot,
        one per study; only a ``study_id`` column when no correlation could be corrected."""
        return pd.DataFrame(columns=["study_id"]) if self.studies is None else self.studies


@dataclass(frozen=True)
class _Setting:
    """What the whole data set fixes for every subset: options, reliabilities corrected for,
    and the artifact distributions (psychmeta's default: not recomputed within moderator levels)."""

    options: PsychometricOptions
    corrected: tuple[str, ...]
    distributions: dict
    study: str
    #: why the Case IV ut distribution has no mean (:func:`_undefined_ut_note` of the whole data set), else ""
    ut_note: str = ""
    #: what ``missing_artifacts`` puts in place of a missing reliability (:func:`imputed_values` of the studies)
    fill: dict = field(default_factory=dict)


def _setting(frame: pd.DataFrame, options: PsychometricOptions, study: str) -> _Setting:
    corrected = reported_reliabilities(frame)
    studies = collapse_within_study(frame, study)
    distributions = {c: artifact_distribution(studies[c], studies["n"], c, options) for c in corrected}
    if "rxx" in corrected and options.correction_method in ("auto", "uvirr") and "ux" in studies:
        distribution_u = true_score_u_distribution(studies["ux"], studies["rxx"], studies["n"], options)
        if distribution_u is not None:
            distributions["ut"] = distribution_u
    # the ut distribution is of the whole data set (also for moderator levels): so is the reason it is not defined
    ut_note = _undefined_ut_note(frame, study) if "ut" in distributions and not np.isfinite(
        distributions["ut"].mean_q) else ""
    if "rxx" in corrected and options.correction_method == "uvdrr" and "ux" in studies:
        direct = range_restriction_distributions(studies["ux"], studies["rxx"], studies["n"], options)
        if direct is not None:
            distributions["qxa"], distributions["ux"] = direct
    fill = imputed_values(studies, options.missing_artifacts, corrected)
    return _Setting(options, corrected, distributions, study, ut_note, fill)


def _analyse(frame: pd.DataFrame, setting: _Setting) -> PsychometricAnalysis:
    """Bare-bones of every study; individual corrections of the studies with the artifacts needed
    (after ``missing_artifacts``); artifact distributions of the whole data set.

    As psychmeta's ``ma_r`` (``collapse_method = "average"``, then ``ma_r_ic``), rows are collapsed
    first (a row without a reliability takes its study's n-weighted mean of the rows that give one)
    and ``missing_artifacts`` then applies to the studies that give none, with the mean of the whole
    data set's studies (also within a moderator level)."""
    options = setting.options
    studies = collapse_within_study(frame, setting.study)
    base = bare_bones(studies["r"], studies["n"], options)
    if not setting.corrected:
        note = "no reliabilities (rxx, ryy) in the sheet or the config: bare-bones analysis only"
        return PsychometricAnalysis(_with_note(base.result, note))
    imputed = impute_missing(studies, options.missing_artifacts, setting.corrected, setting.fill)
    complete = imputed[list(setting.corrected)].notna().all(axis=1).to_numpy()
    left_out = int((~complete).sum())
    lacking = " ".join(c for c in setting.corrected if imputed.loc[~complete, c].isna().any())  # only what is missing
    used = imputed[complete]
    rxx, ryy = (used[c] if c in setting.corrected else None for c in RELIABILITIES)
    individual = individual_correction(used["r"], used["n"], rxx, ryy, used.get("ux"), options,
                                       left_out_phrase(left_out, len(imputed), lacking))
    studies_table = pd.concat([used.drop(columns=[c for c in STUDY_COLUMNS if c in used]).reset_index(drop=True),
                               individual.studies.reset_index(drop=True)], axis=1)
    x, y, u = (setting.distributions.get(c) for c in (*RELIABILITIES, "ut"))
    summary = "; ".join(f"{d.artifact}: k = {d.k}, mean = {d.mean_reliability:.3f}, SD = {d.sd_reliability:.3f}"
                        for d in (x, y) if d is not None)
    method = "uvirr"
    if "ux" in setting.distributions:  # Case II: q_xa in place of q_xi, ux in place of ut
        method, u = "uvdrr", setting.distributions["ux"]
    if u is not None:
        summary += f"; {u.artifact}: k = {u.k}, mean = {u.mean_q:.3f}, SD = {_sd(u.var_q):.3f}"
        ad_note = f"interactive artifact distributions, {CORRECTION_NAMES[method]} ({summary})"
    else:
        ad_note = f"interactive artifact distributions, unreliability only ({summary})"
        has_ux = "ux" in frame and pd.to_numeric(frame["ux"], errors="coerce").notna().any()
        if options.correction_method != "meas" and has_ux:
            ad_note += "; range restriction (ux) is corrected in the individual row only (no rxx is given)"
    x_used = setting.distributions["qxa"] if method == "uvdrr" else x
    distribution = artifact_distribution_meta_analysis(base, x_used, y, options, ad_note, u, method)
    if u is not None and not np.isfinite(u.mean_q) and method == "uvirr":  # NaN without a word: say why
        distribution = _with_note(distribution, setting.ut_note)
    result = replace(individual.result, k_left_out=left_out, left_out_lacking=lacking)
    outside = outside_note(studies_table, setting.study)
    if outside:
        result = _with_note(result, outside)
    if options.correction_method != "meas" and (enhanced := enhanced_range_note(studies, setting.study)):
        result = _with_note(result, enhanced)
        if u is not None:
            distribution = _with_note(distribution, enhanced)
    shown = (x, y, setting.distributions.get("qxa") if method == "uvdrr" else None, u)
    return PsychometricAnalysis(base.result, result, distribution, studies_table,
                                tuple(d for d in shown if d is not None))


def left_out_phrase(left_out: int, studies: int, lacking: str) -> str:
    """``2 of 16 studies without rxx left out``: the studies the individual corrections left out (``k_left_out`` of
    ``studies``) for want of the reliabilities ``lacking`` (``left_out_lacking``, e.g. ``rxx ryy``); "" for none.
    The individual row's note, the Results and the manuscript table's note say it alike."""
    return f"{left_out} of {studies} studies without {' or '.join(lacking.split())} left out" if left_out else ""


def outside_note(studies: pd.DataFrame, study: str, consequence: str | None = None) -> str:
    """The studies whose individually corrected correlation (column ``r_corrected``) is not a correlation
    (|rho_i| >= 1, or not defined): a reliability or ux typed wrongly (0.09 for 0.9), or too low for the correlation
    reported. ``consequence``: what became of them, in brackets at the end (the multiverse's ``individual``
    specifications, where an outlier rule may remove them, say so); by default that the mean includes them, or
    that it is not defined when one of them is not defined."""
    corrected = pd.to_numeric(studies["r_corrected"], errors="coerce")
    bad = ~(corrected.abs() < 1)
    if not bad.any():
        return ""
    names = studies[study].astype(str) if study in studies else pd.Series(studies.index.astype(str))
    values: dict[str, list[str]] = {}  # a study with several such effect sizes (the multiverse's rows) named once
    for name, value in zip(names[bad], corrected[bad]):
        values.setdefault(name, []).append(f"{value:.2f}" if np.isfinite(value) else "not defined")
    listed = ", ".join(f"{name} ({', '.join(shown)})" for name, shown in values.items())
    if consequence is None:  # a finite one outside (-1, 1) is averaged in; one not defined (NaN) leaves the mean
        consequence = "the mean includes them" if np.isfinite(corrected[bad]).all() else "the mean is not defined"
    return (f"corrected correlations outside (-1, 1) in {listed}: check these studies' rxx, ryy and ux "
            f"({consequence})")


def enhanced_range_note(studies: pd.DataFrame, study: str) -> str:
    """The studies whose ``ux`` (sample SD / reference SD) exceeds 1: a sample more varied than the reference
    population (range enhancement, which the corrections then shrink), or the ratio written the other way
    round (reference SD / sample SD); empty when none."""
    ux = pd.to_numeric(studies["ux"], errors="coerce") if "ux" in studies else pd.Series(dtype=float)
    above = ux > 1
    if not above.any():
        return ""
    names = studies[study].astype(str) if study in studies else pd.Series(studies.index.astype(str))
    listed = ", ".join(f"{name} ({value:g})" for name, value in zip(names[above], ux[above]))
    return (f"ux above 1 in {listed}: the sample's SD is larger than the reference population's, so the range-restriction "
            "correction lowers the correlation (if ux was written as reference SD / sample SD, write its inverse, 1/ux)")


def _undefined_ut_note(frame: pd.DataFrame, study: str) -> str:
    """Why the Case IV artifact distribution has no estimate: ut = sqrt(rxx ux^2 / (1 + rxx ux^2 - ux^2)) at the
    mean rxx is not defined for some ux (1 + rxx ux^2 - ux^2 <= 0: ux far above 1, or rxx low)."""
    studies = collapse_within_study(frame, study)
    ux, rxx, n = (pd.to_numeric(studies[c], errors="coerce").to_numpy(float) for c in ("ux", "rxx", "n"))
    mean_rxx = weighted_mean(rxx[np.isfinite(rxx)], n[np.isfinite(rxx)])
    undefined = np.isfinite(ux) & ~np.isfinite(estimate_ut(ux, mean_rxx))
    names = studies[study].astype(str).to_numpy()[undefined]
    listed = ", ".join(f"{name} (ux = {value:g})" for name, value in zip(names, ux[undefined]))
    return (f"not estimable: the true-score u ratio is not defined at the mean rxx = {mean_rxx:.3f} for {listed} "
            "(1 + rxx ux^2 - ux^2 <= 0); check ux and rxx")


def _with_note(result: PsychometricResult, note: str) -> PsychometricResult:
    values = result.to_dict()
    values["note"] = "; ".join(t for t in (result.note, note) if t)
    return PsychometricResult(**values)


def psychometric_analysis(frame: pd.DataFrame, options: PsychometricOptions | None = None,
                          study: str = "study_id") -> PsychometricAnalysis:
    """All three analyses of ``frame`` (columns ``r``, ``n`` and any of ``rxx``, ``ryy``, ``ux``;
    rows sharing ``study`` are first averaged by :func:`collapse_within_study`)."""
    options = options or PsychometricOptions()
    _check(frame)
    return _analyse(frame, _setting(frame, options, study))


def psychometric_table(frame: pd.DataFrame, options: PsychometricOptions | None = None,
                       study: str = "study_id") -> pd.DataFrame:
    """``psychometric.csv``: rows ``bare_bones``, ``individual``, ``artifact_distribution``
    (only ``bare_bones`` when no row gives a reliability), columns :data:`TABLE_COLUMNS`."""
    return psychometric_analysis(frame, options, study).to_frame()


def psychometric_moderators(frame: pd.DataFrame, moderators, options: PsychometricOptions | None = None,
                            study: str = "study_id", risk_of_bias=None) -> pd.DataFrame:
    """``psychometric_moderators.csv``: the analyses within each level of each moderator
    (columns ``moderator``, ``level`` and :data:`TABLE_COLUMNS`). Missing reliabilities are
    imputed with the values of all studies (:func:`imputed_values` of the whole data set's studies, each
    averaged over its rows) and the artifact distributions come from all studies, as psychmeta does
    by default (``moderated_ads = FALSE``); rows without a value of the moderator are left out. ``risk_of_bias``:
    the tool (or the config's block) whose judgements order a ``rob_*`` moderator's levels, as in subgroups.csv."""
    from alliance_meta.analyses.moderators.univariate import display_order

    options = options or PsychometricOptions()
    _check(frame)
    setting = _setting(frame, options, study)
    tables = []
    for moderator in dict.fromkeys(moderators):
        if moderator not in frame:
            continue
        values = frame[moderator]
        levels = sorted(values.dropna().astype(str).unique())
        for level in (levels[i] for i in display_order(moderator, levels, risk_of_bias)):  # as subgroups.csv lists them
            table = _analyse(frame[values.astype(str) == level], setting).to_frame()
            table.insert(0, "level", level)
            table.insert(0, "moderator", moderator)
            tables.append(table)
    columns = ["moderator", "level", *TABLE_COLUMNS]
    return pd.concat(tables, ignore_index=True)[columns] if tables else pd.DataFrame(columns=columns)


def _check(frame: pd.DataFrame) -> None:
    missing = [c for c in ("r", "n") if c not in frame]
    if missing:
        raise ValueError(f"the psychometric meta-analysis needs columns r and n; missing: {missing}")
    r, n = (pd.to_numeric(frame[c], errors="coerce") for c in ("r", "n"))
    if ((r.abs() >= 1) | r.isna()).any() or ((n <= 1) | n.isna()).any():
        raise ValueError("every row needs a correlation strictly between -1 and 1 and a sample size above 1: "
                         + "; ".join(filter(None, (_listed(frame, "r", (r.abs() >= 1) | r.isna()),
                                                   _listed(frame, "n", (n <= 1) | n.isna())))))
    for column in RELIABILITIES:
        values = pd.to_numeric(frame[column], errors="coerce") if column in frame else pd.Series(dtype=float)
        if ((values <= 0) | (values > 1)).any():
            hint = " (a reliability of 80% is 0.8)" if (values > 1).any() and values.dropna().le(100).all() else ""
            outside = _listed(frame, column, (values <= 0) | (values > 1))
            raise ValueError(f"{column} must lie in (0, 1]{hint}: {outside}")
    if "ux" in frame and (ux := pd.to_numeric(frame["ux"], errors="coerce") <= 0).any():
        raise ValueError(f"ux must be positive: {_listed(frame, 'ux', ux)}")


def _check_artifact_text(frame: pd.DataFrame) -> None:
    """ValueError naming the rows whose ``rxx``, ``ryy`` or ``ux`` is text that is no number (``'85%'``, ``'.85*'``),
    which the corrections read as not reported without a word; text numbers (``' 0.85'``) and the sheet's missing
    markers (``n/a``) are read as the sheet reader reads them
    (:func:`~alliance_meta.inputs.effect_sizes.notebook_numbers`)."""
    problems = []
    for column in ARTIFACTS:
        if column not in frame:
            continue
        if (bad := notebook_numbers(frame[column])[1]).any():
            problems.append(_listed(frame, column, bad))
    if problems:
        raise ValueError(f"am.psychometric: artifacts that are no number: {'; '.join(problems)}; write each as a "
                         "number (a reliability of 80% is 0.8) or leave the cell empty where none is reported")


def _listed(frame: pd.DataFrame, column: str, mask: pd.Series) -> str:
    """The rows of ``mask`` with their ``column`` value, named by study_id (else by index), the first five ("" for
    none)."""
    if not mask.any():
        return ""
    names = frame["study_id"].astype(str) if "study_id" in frame else frame.index.astype(str).to_series(frame.index)
    shown = [f"{name} ({value!r})" for name, value in zip(names[mask], frame[column][mask])]
    more = f", ... ({len(shown)} rows)" if len(shown) > 5 else ""
    return f"{column} on {', '.join(shown[:5])}{more}"


# --------------------------------------------------------------------------------------
# The analysis of a fit (am.psychometric)
# --------------------------------------------------------------------------------------

PSYCHOMETRIC_KEYS = {key: None for key in ("reliability", "outcome_reliability", "correction_method",
                                           "missing_artifacts", "correct_bias", "intervals", "unbiased_variances",
                                           "credibility_level", "residual_artifacts", "decimals", "moderators")}


@dataclass(frozen=True, repr=False, eq=False)
class PsychometricFitAnalysis:
    """The psychometric meta-analysis of a fit's correlations (:func:`psychometric_of_fit`): ``analysis``
    (bare-bones, individual corrections, artifact distributions), ``moderators``
    (``psychometric_moderators.csv``), the rows analysed (reliabilities filled from the settings) and notes."""

    analysis: PsychometricAnalysis
    moderators: pd.DataFrame
    rows: pd.DataFrame
    options: PsychometricOptions
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """``psychometric.csv``: one row per method that applies."""
        return self.analysis.to_frame()

    def artifact_table(self) -> pd.DataFrame:
        """``psychometric_artifacts.csv``: the artifact distributions used."""
        return self.analysis.artifact_table()

    @settings_alias
    @keywords_checked
    def plot_forest(self, path=None, settings=None, note: str | None = None):
        """The forest plot of the corrected correlations with the three pooled rows, written to ``path``
        (one path or a list; the format from the suffix; None: none) and returned as ``fit.plot_forest`` returns
        it. ``settings`` (or ``options``, its old name): a ForestOptions or the config's ``plots``. ``note`` ends the footnote (default: that the
        rows are simulated, when they are, as the pipeline's plot says; ``""`` leaves it out)."""
        from alliance_meta.plots.forest_options import ForestOptions
        from alliance_meta.plots.provenance import figure_note
        from alliance_meta.plots.psychometric import save_psychometric_forest

        options = settings if isinstance(settings, ForestOptions) else ForestOptions.from_config(settings or {})
        paths = ([] if path is None else [path] if isinstance(path, (str, bytes)) or hasattr(path, "__fspath__")
                 else list(path))
        figures = save_psychometric_forest(self.analysis.studies, self.to_frame(), paths,
                                           level=100 * self.options.conf_level,
                                           cred_level=100 * self.options.cred_level, options=options,
                                           data_note=figure_note(self.rows) if note is None else note)
        return figures[0] if len(figures) == 1 else figures

    def __repr__(self) -> str:
        methods = ", ".join(self.to_frame()["method"])
        # the table's k counts studies (one mean correlation each): "k = 307 correlations" read as its k
        studies = self.rows["study_id"].nunique() if "study_id" in self.rows else len(self.rows)
        correlations = len(self.rows)
        return (f"<PsychometricFitAnalysis: {correlations} correlation{'' if correlations == 1 else 's'} of {studies} "
                f"{'study' if studies == 1 else 'studies'}; {methods}>")


@settings_alias
@keywords_checked
def psychometric_of_fit(fit, settings: dict | None = None, *, moderators=(),
                       risk_of_bias=None) -> PsychometricFitAnalysis:
    """Hunter-Schmidt psychometric meta-analysis (psychmeta's ``ma_r``) of the correlations a fit was made of
    (``am.psychometric``): r = tanh(yi) of its rows with their sample size ``n`` and, where given,
    reliabilities ``rxx``, ``ryy`` and range restriction ``ux``; rows of one study are averaged first.

    ``settings``: the config's ``psychometric`` keys (``reliability`` by measure, ``outcome_reliability``,
    ``correction_method``, ``missing_artifacts``, ``credibility_level``, ...); the confidence level is the
    fit's. ``moderators``: columns whose levels are analysed one by one (psychometric_moderators.csv;
    default the settings' ``moderators``). ``risk_of_bias``: as :func:`alliance_meta.analyses.moderators.moderators`
    (a custom tool's levels order a ``rob_*`` moderator's).
    """
    from alliance_meta.inputs.options import check_options
    from alliance_meta.models.fits import require_fit

    require_fit(fit, "am.psychometric")
    if fit.metric not in (None, "z"):
        raise ValueError(f"am.psychometric corrects correlations (metric z); the fit's metric is {fit.metric}")
    if settings is not None and not isinstance(settings, dict):
        raise TypeError(f"am.psychometric: settings is a dict of the config's psychometric keys, not "
                        f"{type(settings).__name__}")
    check_options("psychometric", settings, PSYCHOMETRIC_KEYS, "am.psychometric")
    if "n" not in fit.effect_sizes:
        raise ValueError("am.psychometric needs each correlation's sample size: a column n in the fit's rows "
                         "(the corrections weight by n)")
    settings = dict(settings or {})
    moderators = fit.moderator_columns(moderators or settings.get("moderators") or (), "am.psychometric: moderator")
    _check_artifact_text(fit.effect_sizes)
    notes = tuple(note for note in (left_out_note(fit.effect_sizes),) if note)
    rows = fill_reliabilities(correlations(fit.effect_sizes), settings.get("reliability"),
                              settings.get("outcome_reliability"))
    options = PsychometricOptions.from_config(settings, level=fit.level)
    by_level = psychometric_moderators(rows, moderators, options, risk_of_bias=risk_of_bias)
    return PsychometricFitAnalysis(psychometric_analysis(rows, options), by_level, rows, options, notes)
