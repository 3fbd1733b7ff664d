"""Common-effect and random-effects pooling, as metafor's ``rma.uni``, ``predict`` and ``confint``.

Intercept-only models with inverse-variance weights ``w = 1/(vi + tau^2)``
(Borenstein et al. 2009, ch. 11-12; DerSimonian & Laird 1986), Wald (``z``) or
Knapp & Hartung (2003) tests (``knha``: variance scaled by
``s^2 = sum w (y - mu)^2 / (k - 1)`` and t with k - 1 df; ``adhoc``: ``s^2`` not
below 1, metafor's ad hoc variant; Knapp & Hartung 2003, Roever et al. 2015),
prediction interval ``mu +- crit sqrt(se^2 + tau^2)`` with the test's critical
value (metafor's ``predict.rma``; Higgins, Thompson & Spiegelhalter 2009),
Cochran's Q with 1/vi weights, I^2 and H^2 (Higgins & Thompson 2002) and their
intervals from the Q-profile interval of tau^2 (Viechtbauer 2007), or for GENQ
fits from the generalised-Q interval (Jackson 2013; :mod:`generalised_q`).
GENQ fits use the GENQ weights for the estimate with the sandwich variance
``sum a^2 (vi + tau^2) / (sum a)^2``, as metafor does with ``weights``.
Everything is O(k) except the GENQ interval (O(k^2) per probability); no pandas
inside a fit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

from alliance_meta.engines.generalised_q import genq_interval
from alliance_meta.engines.heterogeneity import (
    METHODS,
    DOUBLE_EPSILON,
    Control,
    estimate_tau2,
    common_effect_i2_h2,
    i2_h2,
    interval_bracket,
    level_alpha,
    may_dominate,
    dot,
    one_effect_size,
    q_from_sums,
    q_profile_interval,
    root_bracket,
    shared_design,
    trace_p,
)
from alliance_meta.engines.transforms import back_transform
from alliance_meta.wording import did_you_mean, plural

COMMON = "common"
#: Methods of pooled.csv that are common-effect models (tau^2 assumed 0, not estimated; no prediction interval:
#: their row repeats the CI there): the inverse-variance model and those of 2x2 counts (models/counts.py).
COMMON_EFFECT_METHODS = (COMMON, "MH", "Peto")
TESTS = ("z", "knha", "adhoc")
CONTRACT_COLUMNS = (
    "method", "test", "k", "estimate", "se", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
    "tau2", "tau2_ci_lower", "tau2_ci_upper", "i2", "h2", "q", "q_df", "q_p",
)
EXTRA_COLUMNS = (
    "statistic", "p", "tau", "i2_ci_lower", "i2_ci_upper", "h2_ci_lower", "h2_ci_upper",
    "converged", "iterations", "note",
)
BACK_TRANSFORMED = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper")
#: the smallest sampling variance whose weight 1 / vi is a finite double (about 5.56e-309; metafor stops below it,
#: "Division by zero when computing the inverse variance weights")
SMALLEST_VARIANCE = 1 / np.finfo(float).max
#: pooled.csv notes that change the test a row's CI has (read back by :func:`interval_test`)
SINGLE_STUDY_Z_NOTE = "k = 1: Wald (z) test used instead of Knapp-Hartung"
ADHOC_NOTE = "Knapp-Hartung ad hoc: scale factor not below 1"
ZERO_SCALE_NOTE = ("Knapp-Hartung: the effect sizes do not vary about the estimate (weighted residual sum of "
                   "squares 0), so the SE is 0 and the CI has no width; the Wald (z) CI or the ad hoc variant "
                   "(test adhoc; Knapp & Hartung 2003) gives one")
#: The name of the test of a CI (:func:`interval_test`; ``t`` and ``cr2`` are a three-level fit's) in the notes of
#: tables and of the report ...
CI_TEST_NAMES = {"z": "Wald", "knha": "Knapp\u2013Hartung",
                 "adhoc": "Knapp\u2013Hartung (ad hoc variant: scale factor not below 1)",
                 "t": "t with k \u2212 1 df", "cr2": "cluster-robust (CR2) standard error with Satterthwaite t df"}
#: ... and in a figure's footnote or axis label, where room is short
CI_TEST_SHORT_NAMES = {"z": "Wald", "knha": "Knapp\u2013Hartung", "adhoc": "Knapp\u2013Hartung, ad hoc variant",
                       "t": "t test", "cr2": "CR2 cluster-robust"}
BACK_SUFFIXES = ("", "_ci_lower", "_ci_upper", "_pi_lower", "_pi_upper")


def adhoc_scale(scale):
    """metafor's ad hoc Knapp-Hartung scale factor (``test = "adhoc"``, ``pooling.knha_adhoc``): ``s^2`` not below 1
    (rma.uni's ``s2w[s2w < 1] <- 1``; Knapp & Hartung 2003), for a number or an array. The one definition used by
    the pooled model, its refits, the meta-regressions and their permutation tests."""
    return np.maximum(scale, 1.0)


@dataclass(frozen=True, kw_only=True, repr=False)
class PoolingResult:
    """One fitted model: estimate, test, intervals and heterogeneity (analysis metric)."""

    method: str
    test: str
    k: int
    estimate: float
    se: float
    statistic: float
    p: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    tau2: float
    tau2_ci_lower: float
    tau2_ci_upper: float
    i2: float
    i2_ci_lower: float
    i2_ci_upper: float
    h2: float
    h2_ci_lower: float
    h2_ci_upper: float
    q: float
    q_df: int
    q_p: float
    converged: bool = True
    iterations: int = 0
    note: str = ""
    metric: str | None = None
    level: float = 95.0

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2) if self.tau2 >= 0 else math.nan

    def __repr__(self) -> str:
        return (f"PoolingResult({self.method}/{self.test}: k = {self.k}, estimate = {self.estimate:.4g} "
                f"[{self.ci_lower:.4g}, {self.ci_upper:.4g}], tau2 = {self.tau2:.4g}, I2 = {self.i2:.3g}%)")

    def as_row(self) -> dict:
        """The contract's ``pooled.csv`` columns, the extra columns, then back-transformed ones."""
        values = asdict(self)
        row = {name: values[name] for name in CONTRACT_COLUMNS}
        row.update({name: values[name] for name in EXTRA_COLUMNS if name != "tau"})
        row["tau"] = self.tau
        row = {name: row[name] for name in CONTRACT_COLUMNS + EXTRA_COLUMNS}
        if self.metric is not None:
            transformed = back_transform([values[name] for name in BACK_TRANSFORMED], self.metric)
            for prefix, numbers in transformed.items():
                row.update({prefix + suffix: float(v) for suffix, v in zip(BACK_SUFFIXES, numbers)})
        return row

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([self.as_row()])


def validate_inputs(yi, vi, weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Float arrays of equal length >= 1, finite ``yi``, finite positive ``vi``; else ValueError."""
    y, v = _numbers(yi, "yi"), _numbers(vi, "vi")
    if y.size != v.size:
        raise ValueError(f"yi and vi differ in length ({y.size} and {v.size})")
    if y.size == 0:
        raise ValueError("no effect sizes to pool (k = 0)")
    if not np.all(np.isfinite(y)):
        bad = ~np.isfinite(y)
        raise ValueError(f"yi has {int(bad.sum())} missing or infinite {plural(bad.sum(), 'value')}{_where(y, bad)}")
    if not np.all(np.isfinite(v) & (v > 0)):
        bad = ~(np.isfinite(v) & (v > 0))
        raise ValueError(f"vi must be finite and positive, but {int(bad.sum())} {plural(bad.sum(), 'value')} "
                         f"{plural(bad.sum(), 'is', 'are')} not{_where(v, bad)}")
    if np.any(tiny := v < SMALLEST_VARIANCE):
        raise ValueError(f"vi must be at least {SMALLEST_VARIANCE:.3g} (its weight 1/vi overflows below it), but "
                         f"{int(tiny.sum())} {plural(tiny.sum(), 'value')} {plural(tiny.sum(), 'is', 'are')} "
                         f"not{_where(v, tiny)}")
    return y, v, None if weights is None else checked_weights(weights, y.size)


class BeyondDoubleRange(ValueError):
    """A fit whose Q or tau^2 (``figure``) is not finite: effects so far apart beside variances so small that
    (yi - mean)^2 / vi overflows doubles (metafor's rma fails there too: "singular matrix"). Named by the effect
    size deviating most, in standard errors (``index``; ``where``: how a reader finds it)."""

    def __init__(self, figure: str, value: float, yi: np.ndarray, vi: np.ndarray, where: str | None = None):
        self.figure, self.value, self.yi, self.vi, self.where = figure, value, yi, vi, where
        self.index = int(np.argmax(np.abs(yi - yi.mean()) / np.sqrt(vi)))
        where = where or f"index {self.index}, counted from 0"
        super().__init__(f"{figure} = {value:g}: the effects and variances are beyond double range (the squared "
                         f"deviations (yi - mean)^2 and their ratios to vi must stay below {np.finfo(float).max:.3g}; "
                         f"yi {yi[self.index]:g} with vi {vi[self.index]:g} at {where}): rescale the effect units "
                         f"(e.g. yi / 1000 with vi / 1e6)")

    def __reduce__(self):  # picklable (to a worker process and back) with its arguments
        return BeyondDoubleRange, (self.figure, self.value, self.yi, self.vi, self.where)

    def at(self, where: str) -> "BeyondDoubleRange":
        """The same error naming its effect size by ``where`` (e.g. its study_id)."""
        return BeyondDoubleRange(self.figure, self.value, self.yi, self.vi, where)


def check_double_range(yi: np.ndarray, vi: np.ndarray, method: str, design: np.ndarray, q: float,
                       control: Control | None = None) -> None:
    """Raise :class:`BeyondDoubleRange` where a fit of ``yi``, ``vi`` (``design``: the moments of the centred yi,
    :func:`~alliance_meta.engines.heterogeneity.shared_design`; ``q``: Q) would overflow doubles: Q, sum (yi -
    centre)^2 (the centre their mean, that of HE and SJ, or where a weight may dominate the heaviest study's effect:
    :func:`~alliance_meta.engines.heterogeneity.effects_centre`), or PM's and PMM's root bracket
    max(100, 10 mad(yi)^2) (:func:`~alliance_meta.engines.heterogeneity.root_bracket`). am.fit and gosh both check
    their data here."""
    figures = [("Q", q), ("sum (yi - centre)^2", float(design[2].sum()))]
    if method in ("PM", "PMM"):
        figures.append((f"10 mad(yi)^2 (the end of {method}'s root bracket)", root_bracket(yi, control or Control())))
    for figure, value in figures:
        if not math.isfinite(value):  # the centre named as effects_centre takes it
            centre = "y_h, the effect of the smallest vi" if may_dominate(1.0 / vi) else "mean"
            raise BeyondDoubleRange(figure.replace("centre", centre), value, yi, vi)


def checked_weights(weights, k: int) -> np.ndarray:
    """GENQ weights as a float array: finite, positive and one per effect size (``k``); else ValueError."""
    weights = np.asarray(weights, dtype=float).reshape(-1)
    if weights.size != k or not np.all(np.isfinite(weights) & (weights > 0)):
        raise ValueError("weights must be finite, positive and one per effect size")
    return weights


def _numbers(values, name: str) -> np.ndarray:
    """``values`` as a flat float array, or a ValueError naming the argument (not numpy's bare message)."""
    if np.asarray(values).dtype == bool:  # True/False read as 1/0 would be pooled without a word
        raise ValueError(f"{name} must be numbers, one per effect size; got True/False values")
    if np.iscomplexobj(values):  # numpy dropped the imaginary parts with only a ComplexWarning
        raise ValueError(f"{name} must be real numbers, one per effect size; got complex values")
    try:
        return np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers, one per effect size (an array, list or Series); got "
                         f"{type(values).__name__}: {error}") from None


def _where(values: np.ndarray, bad: np.ndarray, shown: int = 5) -> str:
    """``: index 3 (nan), ...``: where the bad values are (Python's 0-based index) and what they are."""
    positions = np.flatnonzero(bad)
    listed = ", ".join(f"{i} ({values[i]:g})" for i in positions[:shown])
    more = f", ... ({positions.size} in all)" if positions.size > shown else ""
    return f": index{'es' if positions.size > 1 else ''} {listed}{more} (counted from 0)"


COUNT_METHODS_HINT = (" (MH, Peto and GLMM pool 2x2 counts, not yi and vi: am.pooled_table(rows, metric='log_or') "
                      "adds their rows, alliance_meta.models.counts computes them)")
"""What a count method given as a tau^2 estimator is told (:mod:`alliance_meta.models.counts`)."""


def default_genq_weights(vi: np.ndarray) -> np.ndarray:
    """GENQ weights 1/sqrt(vi), the compromise between DL (1/vi) and HE (1) of Jackson (2013)."""
    return 1.0 / np.sqrt(vi)


def genq_weights(vi: np.ndarray, method: str, weights=None) -> np.ndarray | None:
    """The fixed weights of a GENQ fit: ``weights``, checked, or by default 1/sqrt(vi) as in the intercept-only
    model (:func:`default_genq_weights`); None for any other estimator,
    which takes no weights (ValueError)."""
    if method != "GENQ":
        if weights is not None:
            raise ValueError(f"weights are used by the GENQ estimator only, not by method={method!r}")
        return None
    return default_genq_weights(vi) if weights is None else checked_weights(weights, vi.size)


def model_weights(vi, tau2: float, method: str, weights=None) -> np.ndarray:
    """Each study's weight in the pooled estimate of ``rma.uni`` (metafor's ``weights()``, not normalised): GENQ's
    own weights (:func:`genq_weights`: ``weights``, by default 1/sqrt(vi)), for every other estimator
    1 / (vi + tau^2) (tau^2 = 0 for a common-effect model or a tau^2 that did not converge, NaN)."""
    vi = np.asarray(vi, dtype=float)
    if method == "GENQ":
        return genq_weights(vi, method, weights)
    return 1.0 / (vi + (tau2 if np.isfinite(tau2) else 0.0))


def fit(yi, vi, method: str = "REML", test: str = "z", level: float = 95, weights=None,
        control: Control | None = None, tau2_interval: bool = True, metric: str | None = None,
        validate: bool = True) -> PoolingResult:
    """Fit a common-effect (``method="common"``, metafor's "EE") or random-effects model.

    ``test``: ``z``, ``knha`` or ``adhoc``. ``weights`` only for GENQ (default
    1/sqrt(vi)). ``tau2_interval=False`` skips the tau^2 interval (NaN): Q-profile,
    or generalised Q for GENQ.
    A non-converged tau^2 gives ``converged=False``, a note and NaN for everything
    that depends on tau^2; no other estimator is substituted.
    """
    if method != COMMON and method not in METHODS:
        alias = (f" (metafor's {method!r} is {COMMON!r} here)" if str(method).upper() in ("EE", "FE", "CE")
                 else COUNT_METHODS_HINT if str(method).upper() in ("MH", "PETO", "GLMM") else "")
        raise ValueError(f"unknown method {method!r}{alias}{did_you_mean(method, (COMMON, *METHODS))}; "
                         f"expected common or one of {', '.join(METHODS)}")
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}{did_you_mean(test, TESTS)}; expected one of {', '.join(TESTS)}")
    alpha = level_alpha(level)
    if validate:
        yi, vi, weights = validate_inputs(yi, vi, weights)
    k = yi.size
    if method == "GENQ" and weights is None:
        weights = default_genq_weights(vi)
    elif method != "GENQ":
        weights = None
    notes = []
    engine_test = test
    if k == 1:
        q, q_df, q_p, typical_variance = 0.0, 0, 1.0, 0.0
        notes.append("k = 1: tau^2 set to 0, no heterogeneity test")
        if test != "z":  # as metafor: no residual df for Knapp-Hartung
            engine_test = "z"
            notes.append(SINGLE_STUDY_Z_NOTE)
    with np.errstate(over="ignore"):  # an overflow here is BeyondDoubleRange below, not a RuntimeWarning
        design = shared_design(yi, vi)  # one pass; every later sum reuses it
    if k > 1:
        inverse = 1.0 / vi
        with np.errstate(over="ignore", invalid="ignore"):
            inverse_sums = design @ inverse
            q = q_from_sums(inverse_sums)
        check_double_range(yi, vi, method, design, q, control)
        q_df = k - 1
        q_p = float(special.chdtrc(q_df, q))
        typical_variance = q_df / trace_p(inverse, inverse_sums[0])
    if method == COMMON:
        tau2, converged, iterations = 0.0, True, 0
    else:
        estimate_ = estimate_tau2(yi, vi, method, weights, control, design) if k > 1 else None
        tau2 = 0.0 if estimate_ is None else estimate_.tau2
        converged = True if estimate_ is None else estimate_.converged
        iterations = 0 if estimate_ is None else estimate_.iterations
        if estimate_ is not None and estimate_.message:
            notes.append(estimate_.message)
        if math.isinf(tau2):  # NaN: not converged, reported as such below
            raise BeyondDoubleRange("tau^2", tau2, yi, vi)
    if engine_test == "adhoc":
        notes.append(ADHOC_NOTE)
    nan = math.nan
    if not converged:
        return PoolingResult(
            method=method, test=test, k=k, estimate=nan, se=nan, statistic=nan, p=nan, ci_lower=nan, ci_upper=nan,
            pi_lower=nan, pi_upper=nan, tau2=nan, tau2_ci_lower=nan, tau2_ci_upper=nan, i2=nan, i2_ci_lower=nan,
            i2_ci_upper=nan, h2=nan, h2_ci_lower=nan, h2_ci_upper=nan, q=q, q_df=q_df, q_p=q_p, converged=False,
            iterations=iterations, note="; ".join(notes), metric=metric, level=level)

    inverse_total = 1.0 / (vi + tau2)
    total_sums = design @ inverse_total
    sum_inverse = float(total_sums[0])
    mean_inverse = dot(inverse_total, yi) / sum_inverse
    if weights is None:
        estimate, variance = mean_inverse, 1.0 / sum_inverse
    else:
        sum_weights = float(weights.sum())
        estimate = dot(weights, yi) / sum_weights
        variance = dot(weights * weights, vi + tau2) / sum_weights**2
    if engine_test in ("knha", "adhoc"):
        rss = q_from_sums(total_sums)  # sum w (y - mu)^2 with w = 1/(vi + tau^2)
        scale = 0.0 if rss <= DOUBLE_EPSILON else rss / (k - 1)
        if engine_test == "adhoc":
            scale = float(adhoc_scale(scale))
        elif scale == 0.0:
            notes.append(ZERO_SCALE_NOTE)
        variance *= scale
        degrees = k - 1
        critical = float(special.stdtrit(degrees, 1 - alpha / 2)) if degrees > 0 else nan
    else:
        critical = float(special.ndtri(1 - alpha / 2))
    se = math.sqrt(variance)
    statistic = estimate / se if se > 0 else (math.copysign(math.inf, estimate) if estimate != 0 else nan)
    if engine_test == "z":
        p = float(2 * special.ndtr(-abs(statistic)))
    else:
        p = float(2 * special.stdtr(degrees, -abs(statistic))) if degrees > 0 else nan
    half_width = critical * se
    prediction_half_width = critical * math.sqrt(variance + tau2)

    tau2_lower = tau2_upper = nan
    if method != COMMON and k > 1 and tau2_interval and not math.isfinite(bracket := interval_bracket(tau2, control)):
        raise BeyondDoubleRange("10 tau^2 (the end of the tau^2 interval's bracket)", bracket, yi, vi)
    if method not in (COMMON, "GENQ") and k > 1 and tau2_interval:
        tau2_lower, tau2_upper, interval_note = q_profile_interval(yi, vi, tau2, level, control, design)
        if interval_note:
            notes.append(interval_note)
    elif method == "GENQ" and k > 1 and tau2_interval:
        tau2_lower, tau2_upper, interval_note = genq_interval(yi, vi, weights, tau2, level, control)
        if interval_note:
            notes.append(interval_note)
    if k == 1:
        i2, h2 = 0.0, 1.0
        i2_lower = i2_upper = h2_lower = h2_upper = nan
    else:
        if method == COMMON:
            i2, h2 = common_effect_i2_h2(q, q_df)
        else:
            i2, h2 = i2_h2(tau2, typical_variance)
        i2_lower, h2_lower = i2_h2(tau2_lower, typical_variance)
        i2_upper, h2_upper = i2_h2(tau2_upper, typical_variance)
    return PoolingResult(
        method=method, test=test, k=k, estimate=estimate, se=se, statistic=statistic, p=p,
        ci_lower=estimate - half_width, ci_upper=estimate + half_width,
        pi_lower=estimate - prediction_half_width, pi_upper=estimate + prediction_half_width,
        tau2=tau2, tau2_ci_lower=tau2_lower, tau2_ci_upper=tau2_upper, i2=i2, i2_ci_lower=i2_lower,
        i2_ci_upper=i2_upper, h2=h2, h2_ci_lower=h2_lower, h2_ci_upper=h2_upper, q=q, q_df=q_df, q_p=q_p,
        converged=True, iterations=iterations, note="; ".join(notes), metric=metric, level=level,
    )


def empty_frame(metric: str | None = None):
    """The ``pooled.csv`` header for a family without effect sizes (k = 0)."""
    import pandas as pd

    columns = list(CONTRACT_COLUMNS + EXTRA_COLUMNS)
    if metric is not None:
        for prefix in back_transform([0.0], metric):
            columns += [prefix + suffix for suffix in BACK_SUFFIXES]
    return pd.DataFrame(columns=columns)


def pool_all(yi, vi, methods=("common", "REML"), tests=("z", "knha"), metric: str | None = None,
             level: float = 95, adhoc: bool = False, weights=None):
    """One row per (method, test) in ``pooled.csv`` layout; ``adhoc`` runs ``knha`` as metafor's "adhoc".

    ``weights`` are the GENQ weights (default 1/sqrt(vi)). With k = 0 the header only.
    """
    import pandas as pd

    if np.asarray(yi).size == 0 and np.asarray(vi).size == 0:
        return empty_frame(metric)
    yi, vi, weights = validate_inputs(yi, vi, weights)
    rows = []
    for method in methods:
        for test in tests:
            engine_test = "adhoc" if (test == "knha" and adhoc) else test
            result = fit(yi, vi, method, engine_test, level, weights, metric=metric, validate=False)
            row = result.as_row()
            row["test"] = test
            rows.append(row)
    return pd.DataFrame(rows)


def table_test(test: str) -> str:
    """The ``test`` a table row of a fit with ``test`` is written with, as ``pooled.csv`` writes it: ``knha`` for
    metafor's ``adhoc`` (``pooling.knha_adhoc``; the row's note says ad hoc, :data:`ADHOC_NOTE`, and
    :func:`interval_test` reads it back), any other test as it is."""
    return "knha" if test == "adhoc" else test


def refit_test(test: str, k: int) -> str:
    """The test of the CI of a univariate fit of ``k`` studies by a model with ``test`` (a leave-one-out or
    cumulative refit): ``z`` for Knapp-Hartung (``knha``, ``adhoc``) of one study, as metafor's rma switches (no
    residual df), otherwise ``test``."""
    return "z" if test in ("knha", "adhoc") and k == 1 else test


def interval_test(row) -> str:
    """The test a pooled row's CI has (a row of pooled.csv, as a dict or Series): its ``test``, except ``z`` for a
    univariate ``knha`` row of one study (metafor's rma switches to z: no residual df; the row's note says so) and
    ``adhoc`` for a ``knha`` row under ``pooling.knha_adhoc`` (pooled.csv names those rows knha; the note says
    ad hoc). A three-level row (with ``sigma2_between``) keeps its test."""
    test = row.get("test")
    note = row.get("note")
    note = note if isinstance(note, str) else ""
    try:
        three_level = math.isfinite(float(row.get("sigma2_between", math.nan)))
    except (TypeError, ValueError):
        three_level = False
    if test != "knha" or three_level:
        return test
    if one_effect_size(row) or SINGLE_STUDY_Z_NOTE in note:
        return "z"
    return "adhoc" if ADHOC_NOTE in note else test
