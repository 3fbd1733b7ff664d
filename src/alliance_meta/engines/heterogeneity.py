"""Between-study variance (tau^2) of the random-effects model, as metafor's ``rma.uni``.

Every estimator follows metafor 3.8-1 (Viechtbauer 2010, *J Stat Softw* 36(3);
``help(rma.uni)``) step for step, including its control defaults, so that the
numbers agree to rounding. The intercept-only model is assumed throughout, so
metafor's k x k matrices reduce to sums: with weights ``a`` and
``P = diag(a) - a a' / sum(a)``,

* ``y' P y = sum a (y - ybar_a)^2`` (the generalised Q statistic),
* ``tr(P) = sum a - sum a^2 / sum a``,
* ``tr(P D P E) = sum a^2 d e - 2 sum a^3 d e / sum a + (sum a^2 d)(sum a^2 e) / (sum a)^2``
  for diagonal ``D``, ``E``,

and time and memory are O(k). Weights summing to more than 2^128 (vi near 1e-300) are divided by a power of two
before products of them are summed (:func:`weight_exponent`), as their squares would overflow. Where one weight
holds nearly all the sum (vi = 1e-300 beside 0.1: :func:`dominant_weights`), tr(P) is summed as
``sum a (sum a - a) / sum a`` with ``sum a - a`` of that weight the sum of the others, and REML's tr(P P) over
positive terms too (:func:`dominated_reml_steps`); wherever a weight may dominate (:func:`may_dominate`, ties
included) every sum of y is taken of effects centred on the heaviest study's (:func:`effects_centre`,
:func:`shared_design`): the differences above would cancel to rounding noise.

Estimators (metafor's names): DL (DerSimonian & Laird 1986), HE (Hedges 1983,
Hedges & Olkin 1985), HS and HSk (Hunter & Schmidt 2004; HSk with the k/(k-1)
small-sample factor on Q), SJ (Sidik & Jonkman 2005), ML, REML (Fisher scoring;
Viechtbauer 2005), EB (Morris 1983; Berkey et al. 1995), PM (Paule & Mandel
1982; DerSimonian & Kacker 2007), PMM (median-unbiased Paule-Mandel, Viechtbauer
2021 in metafor), GENQ (generalised Q, DerSimonian & Kacker 2007; Jackson 2013).
Confidence interval: Q-profile (Viechtbauer 2007, *Stat Med* 26, 37-52).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from alliance_meta.wording import did_you_mean

METHODS = ("DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")
GENQ_NEEDS_WEIGHTS = "GENQ needs weights (e.g. 1/sqrt(vi), Jackson 2013)"
DOUBLE_EPSILON = float(np.finfo(float).eps)
UNIROOT_TOLERANCE = DOUBLE_EPSILON**0.25  # R's uniroot default, used by metafor


@dataclass(frozen=True)
class Control:
    """Iteration settings; the defaults are metafor's ``rma.uni`` control defaults."""

    threshold: float = 1e-5  # Fisher scoring stops when tau^2 changes by less
    max_iterations: int = 100  # Fisher scoring and uniroot (PM, PMM)
    step_adjustment: float = 1.0  # metafor's stepadj
    tau2_max: float | None = None  # root-finding bracket; None: max(100, 10 mad(yi)^2)
    tolerance: float = UNIROOT_TOLERANCE  # uniroot tolerance; ll0check tolerance
    ll0_check: bool = True  # ML/REML: fall back to tau^2 = 0 if its likelihood is higher

    def __post_init__(self):  # max_iterations=-1 gave an all-NaN "not converged" fit instead of an error
        positive = {"threshold": self.threshold, "step_adjustment": self.step_adjustment, "tolerance": self.tolerance}
        if self.tau2_max is not None:
            positive["tau2_max"] = self.tau2_max
        for name, value in {"max_iterations": self.max_iterations, **positive}.items():
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not value > 0 \
                    or value != value:
                raise ValueError(f"control {name} must be a positive number, not {value!r}")
        if not float(self.max_iterations).is_integer():
            raise ValueError(f"control max_iterations must be a whole number, not {self.max_iterations!r}")


#: Tight iteration control for refits (trim and fill, leave-one-out, selection models):
#: the converged root, not the iterate at which metafor's default 1e-5 threshold stops.
TIGHT_CONTROL = Control(threshold=1e-13, max_iterations=1000)


def scoring_tolerance(tau2, threshold: float, k):
    """The change of tau^2 at or below which Fisher scoring stops (scalars or arrays): metafor's ``threshold``
    (rma.uni 3.8-1: ``while (change > con$threshold)``) or, where that is smaller, the rounding error of a step,
    ``4 k eps tau^2``: the step's numerator is a difference of sums of k terms, each sum good to about k eps
    (Higham 2002, *Accuracy and Stability of Numerical Algorithms*, sec. 4.2). Beyond tau^2 of about
    ``threshold / (4 k eps)`` (3.7e9 / k at 1e-5) the threshold is below the spacing of doubles: the iterates
    then alternate between neighbouring doubles, and metafor converges only where a step rounds to exactly 0
    (``rma(c(1e8, .5, .1), c(.01, .02, .03), method = "ML")`` does, REML on the same data does not)."""
    rounding = 4.0 * k * DOUBLE_EPSILON * abs(tau2)
    return max(threshold, rounding) if isinstance(rounding, float) else np.maximum(threshold, rounding)


def scoring_stopped(change, smallest_change, tau2, threshold: float, k):
    """Whether Fisher scoring stops after a step that changed tau^2 by ``change`` (``smallest_change``: the
    smallest change of the steps before, inf before the second step), scalars or arrays: at a change of at most
    ``threshold`` (metafor's rule), or where tau^2 changes by rounding only: once a change was within
    :func:`scoring_tolerance`, at the first step that changes tau^2 no less than the smallest change before it.
    4 k eps tau^2 bounds the rounding of a step (recursive sums) only roughly: numpy's sums round far less as a
    rule, and more where the effects are large (GOSH's subsets of effects in the millions cycle by twice it); an
    iteration still converging (its changes shrinking step by step, as at ordinary data in the refits' 1e-13, where
    4 k eps tau^2 exceeds the threshold from tau^2 of about 113 / k) goes on to the threshold, as metafor's rma, and
    only iterates that no longer approach a root (alternating or cycling between neighbouring doubles, or wandering
    in rounding noise) stop so."""
    stalled = (smallest_change <= scoring_tolerance(tau2, threshold, k)) & (change >= smallest_change)
    return (change <= threshold) | stalled


def refit_control(control: Control | None) -> Control:
    """The control of a refit that iterates to the converged root: a fit's own ``control`` (as metafor's methods
    pass ``x$control`` on: its step adjustment, tau2_max, tolerance, ll0_check) with the threshold and iterations of
    :data:`TIGHT_CONTROL` unless the fit's are tighter; TIGHT_CONTROL for a fit with the default control (None)."""
    if control is None:
        return TIGHT_CONTROL
    return replace(control, threshold=min(control.threshold, TIGHT_CONTROL.threshold),
                   max_iterations=max(control.max_iterations, TIGHT_CONTROL.max_iterations))


@dataclass(frozen=True)
class Tau2Estimate:
    """A tau^2 estimate; ``converged=False`` carries a message and ``tau2 = nan``."""

    method: str
    tau2: float
    converged: bool = True
    iterations: int = 0
    message: str = ""


#: the lowest confidence level (percent) taken: below it a level is far more likely a slip (1 for 100%, 0.95 for 95%)
#: than an interval one means; metafor's ``.level`` reads 1 as a proportion (a 100% interval), 0.95 as 95%
MINIMUM_LEVEL = 50.0


def level_alpha(level: float) -> float:
    """Two-sided error rate of a confidence level given in percent (metafor's ``.level`` for
    levels above 1). A level below :data:`MINIMUM_LEVEL` is refused, not read as a proportion or as a
    narrow interval: 0.95 would otherwise give a 0.95% interval, 1 a 1% interval, without a word."""
    if not 0 < level < 100:
        raise ValueError(f"level must be a percentage strictly between 0 and 100, got {level!r}")
    if level < 1:
        raise ValueError(f"level is a percentage, got {level!r} (a {level:g}% interval): write level={100 * level:g}")
    if level < MINIMUM_LEVEL:
        raise ValueError(f"level is a percentage, got {level:g} (a {level:g}% interval): write e.g. level=95; "
                         f"levels below {MINIMUM_LEVEL:g} are refused as slips")
    return (100.0 - level) / 100.0


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product without BLAS threads (OpenBLAS ddot oversubscribes busy machines)."""
    return float(np.einsum("i,i->", a, b))


def weighted_q(y: np.ndarray, weights: np.ndarray) -> float:
    """Generalised Q: ``sum a (y - ybar_a)^2`` with ``ybar_a`` the a-weighted mean (y centred on the heaviest
    study's effect first where a weight may dominate: :func:`effects_centre`)."""
    if may_dominate(weights):  # as effects_centre
        y = y - y[np.argmax(weights)]
    sum_weights = weights.sum()
    residuals = y - dot(weights, y) / sum_weights
    return dot(weights * residuals, residuals)


def moment_design(y_centred: np.ndarray) -> np.ndarray:
    """Rows 1, y, y^2 of centred effects (3 x k): ``design @ a`` gives three weighted sums in one pass."""
    design = np.empty((3, y_centred.size))
    design[0] = 1.0
    design[1] = y_centred
    np.multiply(y_centred, y_centred, out=design[2])
    return design


#: Weights summing to more than this are divided by a power of two before they are squared (:func:`weight_exponent`).
UNSCALED_WEIGHTS_MAX = 2.0**128


def weight_exponent(sum_weights: float) -> int:
    """The power of two by which weights summing to ``sum_weights`` are divided before products of them are summed:
    0 up to :data:`UNSCALED_WEIGHTS_MAX` (every ordinary fit: its arithmetic is unchanged), above it the exponent of
    the sum (the scaled weights sum to [0.5, 1)). Weights 1/vi of vi near 1e-300 are near 1e300: their squares, and
    REML's fourth powers from 1e77 on, overflow to inf, where metafor's matrix algebra stays finite. Scaling by a
    power of two is exact in floating point (IEEE 754: only the exponent changes, barring underflow), so the scaled
    sums, scaled back, are to the last bit those that unbounded doubles would give."""
    return int(weight_exponents(sum_weights))


def weight_exponents(sums_of_weights: np.ndarray) -> np.ndarray:
    """:func:`weight_exponent` of each of many sums of weights (one per row of weights: a subset, a deletion)."""
    sums = np.asarray(sums_of_weights, dtype=float)
    return np.where((sums > UNSCALED_WEIGHTS_MAX) & (sums < math.inf), np.frexp(sums)[1], 0)


def scaled_rows(values: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """Each row of ``values`` (each element of a vector) divided by 2 to the power of its :func:`weight_exponents`,
    exactly: terms of degree d in scaled weights are 2^(-d e) times those in the weights. ``values`` itself where
    every exponent is 0 (every row of an ordinary fit: its arithmetic is unchanged)."""
    if not exponents.any():
        return values
    return np.ldexp(values, -exponents.reshape(-1, *[1] * (values.ndim - 1)))


#: A weight holding all but less than 1/DOMINANCE_LIMIT of its sum S (vi = 1e-300 beside vi = 0.1): tr(P) =
#: S - sum w^2 / S, and Q from effects centred away from that study's, then lose more than half their 53 bits
DOMINANCE_LIMIT = 2.0**26


def dominant_weights(weights: np.ndarray) -> np.ndarray:
    """For each row of ``weights`` (0 for the studies a row leaves out), the index of the weight holding all but
    less than 1/:data:`DOMINANCE_LIMIT` of the row's sum, or -1 where none does (every row of weights within a
    factor DOMINANCE_LIMIT of each other: every ordinary fit, checked first in one pass)."""
    if not may_dominate(weights):
        return np.full(weights.shape[0], -1)
    largest = weights.argmax(axis=1)
    limits = weights.max(axis=1) / DOMINANCE_LIMIT  # exact: a power of two
    below = _exactly_below(_other_weights(weights, largest), limits,
                           lambda row: np.where(np.arange(weights.shape[1]) == largest[row], 0.0, weights[row]),
                           weights.shape[1])
    return np.where(below, largest, -1)


def _exactly_below(sums: np.ndarray, limits: np.ndarray, terms, count: int) -> np.ndarray:
    """Whether the exact sum of the ``count`` positive ``terms(i)`` lies below ``limits[i]`` for each i, ``sums``
    being those sums in floating point: decided by ``sums`` where they lie further from the limit than any order
    of summation can err ((count - 1) eps/2 times the sum, Higham 2002, eq. 4.4), else by the sign of
    math.fsum(terms - limit), which is correctly rounded (Shewchuk 1997): the exact sum decides, not the order in
    which the terms were added (in every ordinary fit no sum is near its limit and none is recomputed)."""
    below = sums < limits
    near = np.isfinite(sums) & (np.abs(sums - limits) <= 2.0 * max(count, 2) * np.finfo(float).eps * sums)
    for row in np.flatnonzero(near):
        below[row] = math.fsum([-float(limits[row]), *terms(row).tolist()]) < 0
    return below


def may_dominate(weights: np.ndarray) -> bool:
    """Whether one of ``weights`` (0: left out) could dominate a sum of some of them (:func:`dominant_weights`):
    the largest more than :data:`DOMINANCE_LIMIT` times the smallest."""
    if weights.size == 0:
        return False
    smallest = np.min(weights, where=weights > 0, initial=np.inf)  # no copy of the positive weights
    return bool(weights.max() / DOMINANCE_LIMIT > smallest)  # exact; L * min overflows


def dominant_weight(weights: np.ndarray) -> int:
    """:func:`dominant_weights` of one vector of weights: the index of the dominant one, or -1."""
    return int(dominant_weights(weights[None, :])[0])


def dominant_group(weights: np.ndarray) -> int:
    """The fewest m of the largest ``weights`` whose m-th holds more than :data:`DOMINANCE_LIMIT` times the exact sum
    of all lighter ones (:func:`_exactly_below`), or 0 where no m < k does (every ordinary fit). m = 1 is
    :func:`dominant_weight` (its test, not restated here); m >= 2 are tied or nearly tied heavy weights
    (vi = 1e-300 twice, or 1e-300 and 4e-300, beside 0.1), which a sum with a dominant weight, or an iteration at
    such weights, can lose too."""
    if not may_dominate(weights):
        return 0
    if dominant_weight(weights) >= 0:
        return 1
    ordered = np.sort(weights)[::-1]
    lighter = np.cumsum(ordered[::-1])[::-1]  # lighter[m]: the sum of ordered[m:], from the smallest
    below = _exactly_below(lighter[2:], ordered[1:-1] / DOMINANCE_LIMIT, lambda row: ordered[row + 2:],
                           weights.size)
    found = np.flatnonzero(below)
    return int(found[0]) + 2 if found.size else 0


def _other_weights(weights: np.ndarray, largest: np.ndarray) -> np.ndarray:
    """Each row's sum of the weights other than its ``largest``, summed directly (not the sum minus it: cancels)."""
    return np.sum(np.where(np.arange(weights.shape[1]) == largest[:, None], 0.0, weights), axis=1)


def _dominated_diagonal(weights: np.ndarray, dominant: np.ndarray) -> np.ndarray:
    """The diagonal of P = diag(w) - w w'/S of rows of weights in which the weight ``dominant`` holds nearly all the
    sum S: P_ii = (w_i / S)(S - w_i), positive terms, with S - w_i of the dominant weight the sum of the others
    (:func:`_other_weights`; S - w_max would cancel)."""
    sums = weights.sum(axis=1)
    rest = sums[:, None] - weights
    rest[np.arange(weights.shape[0]), dominant] = _other_weights(weights, dominant)
    return weights / sums[:, None] * rest


def _dominated_trace_p(weights: np.ndarray, dominant: np.ndarray) -> np.ndarray:
    """tr(P) of rows of weights in which the weight ``dominant`` holds nearly all the sum, without cancellation:
    the sum of :func:`_dominated_diagonal`; S - sum w^2 / S would lose all digits (tr(P) ~ 2 (S - w_max))."""
    return _dominated_diagonal(weights, dominant).sum(axis=1)


def dominated_reml_steps(weights: np.ndarray, y: np.ndarray, dominant: np.ndarray) -> np.ndarray:
    """REML's Fisher scoring step (||P y||^2 - tr(P)) / tr(P P) (Viechtbauer 2005, eq. 10) of rows of unscaled
    weights w = 1/(vi + tau^2) (0: left out) in which the weight ``dominant`` holds nearly all the sum S
    (:func:`dominant_weights`), ``y`` the effects (one vector for all rows); as sums of positive terms. With
    p = w / S, P = diag(w) - w w'/S and d the dominant study:

    * tr(P) = sum_i P_ii, P_ii = p_i (S - w_i), S - w_d the others' sum (as :func:`_dominated_trace_p`);
    * tr(P P) = sum_i P_ii^2 + sum_{i != j} (p_i w_j)^2, the second sum 2 p_d^2 R (the pairs with d) plus
      sum_{i != d} p_i^2 (R - w_i^2) (the pairs of others), R the sum of the others' w^2;
    * ||P y||^2 = sum (w_i (y_i - ybar_w))^2 of y centred on y_d (:func:`effects_centre`).

    The general sums S - sum w^2 / S and sum w^2 - 2 sum w^3 / S + (sum w^2)^2 / S^2 cancel to 0 there, as would
    ((sum w^2)^2 - sum w^4) / S^2 for the second sum (both terms ~ w_d^4). Squared here are the others' weights and
    sums, not w_d: the weights are scaled by the :func:`weight_exponents` of the others' sum (as scoring_step's)."""
    exponents = weight_exponents(_other_weights(weights, dominant))
    weights = scaled_rows(weights, exponents)
    share = weights / weights.sum(axis=1)[:, None]
    diagonal = _dominated_diagonal(weights, dominant)
    is_dominant = np.arange(weights.shape[1]) == dominant[:, None]
    others = np.where(is_dominant, 0.0, weights)  # w_d itself is never squared: it may overflow
    others_squared = others * others
    rest_squares = others_squared.sum(axis=1)
    trace_pp = (np.sum(diagonal * diagonal, axis=1) + 2.0 * np.sum(share * is_dominant, axis=1) ** 2 * rest_squares
                + np.sum(np.where(is_dominant, 0.0, share * share) * (rest_squares[:, None] - others_squared), axis=1))
    centred = y[None, :] - y[dominant][:, None]
    residual = centred - np.sum(share * centred, axis=1)[:, None]
    return (np.sum((weights * residual) ** 2, axis=1) - np.ldexp(diagonal.sum(axis=1), -exponents)) / trace_pp


def trace_p_rows(weights: np.ndarray, sums_of_weights: np.ndarray) -> np.ndarray:
    """:func:`trace_p` of each row of ``weights`` (0 for the studies a row leaves out; ``sums_of_weights``: the
    rows' sums), each row scaled by its :func:`weight_exponents` as :func:`trace_p` scales its weights; the rows
    with a dominant weight (:func:`dominant_weights`) without cancellation, as :func:`trace_p`."""
    exponents = weight_exponents(sums_of_weights)
    weights, sums = scaled_rows(weights, exponents), scaled_rows(sums_of_weights, exponents)
    return np.ldexp(without_cancellation(sums - np.sum(weights**2, axis=1) / sums, sums, weights), exponents)


#: tr(P) below this share of sum w may have cancelled: a dominant weight leaves tr(P) < 2 sum w / DOMINANCE_LIMIT
#: (twice the others' sum), so a larger tr(P), as every ordinary fit's, has no dominant weight to look for
CANCELLED_SHARE = 4.0 / DOMINANCE_LIMIT


def without_cancellation(trace: np.ndarray, sums: np.ndarray, mask: np.ndarray, weights=1.0) -> np.ndarray:
    """``trace``: tr(P) = S - sum w^2 / S of each row of weights ``mask * weights`` (0: left out; ``sums``: their
    S), with the rows in which one weight holds nearly all the sum (:func:`dominant_weights`), where that difference
    cancels, recomputed without cancellation (:func:`_dominated_trace_p`); only the rows whose tr(P) is below
    :data:`CANCELLED_SHARE` of S are looked at (a comparison per row, no pass over the weights)."""
    rows = np.flatnonzero(trace < sums * CANCELLED_SHARE)
    if rows.size:
        row_weights = mask[rows] * weights
        dominant = dominant_weights(row_weights)
        found = dominant >= 0
        trace[rows[found]] = _dominated_trace_p(row_weights[found], dominant[found])
    return trace


def q_from_sums(sums: np.ndarray) -> float:
    """Q from ``(sum a, sum a y, sum a y^2)`` of centred y: ``sum a y^2 - (sum a y)^2 / sum a``; every term is
    linear in a, so huge weights are scaled by :func:`weight_exponent` and Q scaled back."""
    exponent = weight_exponent(sums[0])
    if exponent:
        return math.ldexp(q_from_sums(np.ldexp(sums, -exponent)), exponent)
    return float(max(0.0, sums[2] - sums[1] * sums[1] / sums[0]))


def _q_at(design: np.ndarray, vi: np.ndarray, tau2: float) -> float:
    """Q(tau^2) with weights 1/(vi + tau^2); O(k), three passes over the data."""
    return q_from_sums(design @ (1.0 / (vi + tau2)))


def trace_p(weights: np.ndarray, sum_weights: float | None = None) -> float:
    """``tr(P)`` for ``P = diag(a) - a a'/sum(a)`` (``sum_weights``: sum(a), if known); linear in a, so huge
    weights are scaled by :func:`weight_exponent` and the trace scaled back; one weight holding nearly all the sum
    without cancellation (:func:`without_cancellation`)."""
    sum_weights = weights.sum() if sum_weights is None else sum_weights
    exponent = weight_exponent(sum_weights)
    if exponent:
        return math.ldexp(trace_p(np.ldexp(weights, -exponent), math.ldexp(sum_weights, -exponent)), exponent)
    trace = np.array([sum_weights - dot(weights, weights) / sum_weights])  # cancels at vi = 1e-300 beside 0.1
    return float(without_cancellation(trace, np.array([sum_weights]), weights[None, :])[0])


def effects_centre(y: np.ndarray, weights: np.ndarray) -> float:
    """The value effects ``y`` are centred on before weighted sums of them are taken: their mean (metafor's), or
    where a weight may dominate (:func:`may_dominate`: one dominant weight, or several tied ones, vi = 1e-300 twice
    beside 0.1) the heaviest study's effect. Q is unchanged by a shift of y; centred elsewhere, a heavy study's
    residual y - ybar_w (mathematically ~1e-299 at vi = 1e-300 beside 0.1) is the rounding error of ybar_w, and w
    times its square (~1e266) swamps Q (metafor's QE has it: 2e283 where Q is 34, fit_control.R's
    mixed_variances); centred on it, the residual is the others' weighted deviation over S, exact to rounding
    (Chan, Golub & LeVeque 1983, *Am Stat* 37, 242-247)."""
    return float(y[np.argmax(weights)]) if may_dominate(weights) else float(y.mean())


def weighted_residuals(y: np.ndarray, weights: np.ndarray, dominated: bool) -> np.ndarray:
    """y - ybar_w for each row of ``weights`` (0: left out); where ``dominated`` (:func:`may_dominate` of the
    weights) y centred first on each row's heaviest study, as :func:`effects_centre` centres one fit's."""
    if not dominated:
        return y[None, :] - ((weights @ y) / weights.sum(axis=1))[:, None]
    centred = y[None, :] - y[weights.argmax(axis=1)][:, None]
    return centred - (np.sum(weights * centred, axis=1) / weights.sum(axis=1))[:, None]


def with_dominated_reml_steps(steps: np.ndarray, weights: np.ndarray, y: np.ndarray) -> np.ndarray:
    """REML's Fisher scoring ``steps`` (one per row of unscaled ``weights``, 0: left out) with those of the rows in
    which one weight dominates (:func:`dominant_weights`) recomputed without cancellation
    (:func:`dominated_reml_steps`)."""
    dominant = dominant_weights(weights)
    rows = np.flatnonzero(dominant >= 0)
    if rows.size:
        steps[rows] = dominated_reml_steps(weights[rows], y, dominant[rows])
    return steps


def shared_design(y: np.ndarray, vi: np.ndarray) -> np.ndarray:
    """:func:`moment_design` of the effects ``y`` centred on their mean (as metafor's rma centres them), or where a
    weight 1/vi may dominate on the heaviest study's effect (:func:`effects_centre`): the design from which a
    fit's Q(tau^2), its Fisher scoring sums and log likelihood, PM's root and the Q-profile interval are summed."""
    return moment_design(y - effects_centre(y, 1.0 / vi))


def typical_sampling_variance(vi: np.ndarray) -> float:
    """Higgins & Thompson's (2002) typical within-study variance ``(k - 1) / tr(P)``, w = 1/vi.

    This is metafor's default (``i2def = "1"``) for I^2 = 100 tau^2 / (tau^2 + s^2).
    """
    return (vi.size - 1) / trace_p(1.0 / vi)


def median_absolute_deviation(values: np.ndarray) -> float:
    """R's ``mad``: 1.4826 * median |x - median(x)|."""
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def zeroin(function, lower: float, upper: float, f_lower: float, f_upper: float,
           tolerance: float = UNIROOT_TOLERANCE, max_iterations: int = 1000) -> tuple[float, int, bool]:
    """Brent's root finder exactly as R's ``uniroot`` (R_zeroin2 in src/library/stats/src/zeroin.c).

    Brent (1973), *Algorithms for Minimization without Derivatives*, ch. 4. Reproducing
    R's iterates matters: metafor calls it with a coarse tolerance (eps^0.25), so the
    returned root, not the exact one, is the reference. Returns (root, iterations, converged).
    """
    a, b, fa, fb = lower, upper, f_lower, f_upper
    c, fc = a, fa
    if fa == 0.0:
        return a, 0, True
    if fb == 0.0:
        return b, 0, True
    remaining = max_iterations + 1
    while remaining:
        remaining -= 1
        previous_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tolerance_actual = 2.0 * DOUBLE_EPSILON * abs(b) + tolerance / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tolerance_actual or fb == 0.0:
            return b, max_iterations + 1 - remaining, True
        if abs(previous_step) >= tolerance_actual and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tolerance_actual * q) / 2.0) and p < abs(previous_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tolerance_actual:
            new_step = tolerance_actual if new_step > 0 else -tolerance_actual
        a, fa = b, fb
        b += new_step
        fb = function(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b, max_iterations, False


def one_effect_size(row) -> bool:
    """Whether a pooled row (a row of pooled.csv, as a dict or Series) has k = 1: :func:`estimate_tau2` sets
    tau^2 to 0, so there is no heterogeneity to estimate or test and the prediction interval is the CI."""
    try:
        return float(row.get("k", math.nan)) == 1
    except (TypeError, ValueError):
        return False


#: The two variances of a three-level fit, as pooled.csv's columns sigma2_between and sigma2_within name them.
SIGMA2_LEVELS = ("between", "within")


def unidentified_sigma2(row) -> tuple[str, tuple[str, ...]]:
    """Which sigma^2 of a three-level row of pooled.csv (a dict or Series with ``k`` and ``n_studies``) its data
    cannot identify, and why: ``one_effect_size`` (k = 1: both set to 0), ``one_per_study`` (k = studies > 1: only
    their sum; pooled.csv's note says so), ``one_study`` (one study of several effect sizes: ``between`` fixed at
    0, as metafor's rma.mv fixes the variance of a one-level factor); ``("", ())`` when both are identified."""
    try:
        k, studies = float(row.get("k", math.nan)), float(row.get("n_studies", math.nan))
    except (TypeError, ValueError):
        return "", ()
    if not (math.isfinite(k) and math.isfinite(studies)):
        return "", ()
    if k == 1:
        return "one_effect_size", SIGMA2_LEVELS
    if studies == k:
        return "one_per_study", SIGMA2_LEVELS
    return ("one_study", ("between",)) if studies == 1 else ("", ())


def estimate_tau2(yi, vi, method: str = "REML", weights=None, control: Control | None = None,
                  design: np.ndarray | None = None) -> Tau2Estimate:
    """tau^2 by one of metafor's estimators (see the module docstring), truncated at 0.

    ``yi`` and ``vi`` are validated float arrays with ``vi > 0``. ``weights`` are the
    GENQ weights (required for GENQ). ``k = 1`` gives tau^2 = 0 (metafor's "k1").
    ``design`` (optional) is :func:`shared_design` of yi and vi, to share between calls.
    """
    control = control or Control()
    y = effects = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = y.size
    if method not in METHODS:
        raise ValueError(f"unknown tau^2 estimator {method!r}{did_you_mean(method, METHODS)}; expected one of "
                         f"{', '.join(METHODS)}")
    if k == 1:
        return Tau2Estimate(method, 0.0, message="k = 1: tau^2 set to 0")
    y = y - y.mean()  # metafor centres yi first (Ymc); Q is unchanged, rounding smaller
    if method in ("HS", "HSk"):
        inverse = 1.0 / vi
        q = weighted_q(y, inverse)
        factor = k / (k - 1) if method == "HSk" else 1.0
        return _truncated(method, (factor * q - k) / inverse.sum())
    if method == "DL":
        inverse = 1.0 / vi
        return _truncated(method, (weighted_q(y, inverse) - (k - 1)) / trace_p(inverse))
    if method == "GENQ":
        if weights is None:
            raise ValueError(GENQ_NEEDS_WEIGHTS)
        a = np.asarray(weights, dtype=float)
        trace_pv = float(np.sum(a * vi) - np.sum(a * a * vi) / a.sum())
        return _truncated(method, (weighted_q(y, a) - trace_pv) / trace_p(a))
    if method == "SJ":
        start = float(np.mean(y * y))  # var(yi) (k - 1) / k
        return _truncated(method, start * weighted_q(y, 1.0 / (vi + start)) / (k - 1))
    hedges = (dot(y, y) - float(vi.sum()) * (k - 1) / k) / (k - 1)
    if method == "HE":
        return _truncated(method, hedges)
    design = shared_design(effects, vi) if design is None else design
    if method in ("PM", "PMM"):
        return _paule_mandel(y, vi, method, control, design)
    return _fisher_scoring(design, vi, method, max(0.0, hedges), control)


def _truncated(method: str, tau2: float) -> Tau2Estimate:
    return Tau2Estimate(method, max(0.0, float(tau2)))


def root_bracket(y: np.ndarray, control: Control) -> float:
    """The upper end of PM's and PMM's root bracket: ``control.tau2_max``, or metafor's max(100, 10 mad(yi)^2)."""
    if control.tau2_max is not None:
        return float(control.tau2_max)
    return max(100.0, 10.0 * median_absolute_deviation(y) ** 2)


def _paule_mandel(y: np.ndarray, vi: np.ndarray, method: str, control: Control,
                  design: np.ndarray) -> Tau2Estimate:
    """Root of Q(tau^2) = k - 1 (PM) or = the chi^2_{k-1} median (PMM) by R's uniroot."""
    k = y.size
    target = float(special.chdtri(k - 1, 0.5)) if method == "PMM" else float(k - 1)

    def objective(tau2: float) -> float:
        return _q_at(design, vi, tau2) - target

    f_lower = objective(0.0)
    if f_lower < 0:
        return Tau2Estimate(method, 0.0)
    upper = root_bracket(y, control)
    f_upper = objective(upper)
    if f_upper > 0:
        return Tau2Estimate(method, math.nan, False, 0,
                            f"{method}: Q(tau2_max = {upper:g}) is still above its target; raise tau2_max")
    root, iterations, converged = zeroin(objective, 0.0, upper, f_lower, f_upper,
                                         control.tolerance, control.max_iterations)
    if not converged:
        return Tau2Estimate(method, math.nan, False, iterations,
                            f"{method}: root finding did not converge in {control.max_iterations} iterations")
    return Tau2Estimate(method, max(0.0, root), True, iterations)


def _fisher_scoring(design: np.ndarray, vi: np.ndarray, method: str, tau2: float,
                    control: Control) -> Tau2Estimate:
    """ML, REML (Viechtbauer 2005, eq. 9-10) or EB by Fisher scoring from the HE estimate.

    Steps are halved while they would cross 0; iteration stops when tau^2 changes by
    at most ``threshold`` (metafor's rule) or by rounding only (:func:`scoring_stopped`;
    then with a note), or fails after ``max_iterations``. Each step takes a few passes
    over the data: weighted sums of 1, y, y^2 with w and w^2.
    """
    k = vi.size
    change = smallest_change = math.inf
    iterations = 0
    weights = np.empty_like(vi)
    squared = np.empty_like(vi)
    dominated = method == "REML" and may_dominate(1.0 / vi)  # weights 1/(vi + tau^2) dominate at most as 1/vi do
    while not scoring_stopped(change, smallest_change, tau2, control.threshold, k):
        iterations += 1
        previous, smallest_change = tau2, min(smallest_change, change)
        np.add(vi, tau2, out=weights)
        np.divide(1.0, weights, out=weights)
        if dominated and (dominant := dominant_weight(weights)) >= 0:
            adjustment = dominated_reml_steps(weights[None, :], design[1], np.array([dominant]))[0]
        else:
            adjustment = _scoring_adjustment(design, weights, squared, method, k)
        adjustment = float(adjustment) * control.step_adjustment
        if math.isnan(adjustment):
            adjustment = 0.0
        if math.isinf(adjustment):  # its halving would never end (metafor's loops for ever)
            cause = ("one study's weight 1/(vi + tau^2) holds all but less than 2^-26 of their sum (a sampling "
                     "variance far smaller than the others')" if dominant_weight(weights) >= 0 else
                     "the data span more than double precision holds (effect sizes or sampling variances far apart in "
                     "size); rescale the effect units")
            return Tau2Estimate(method, math.nan, False, iterations,
                                f"{method}: Fisher scoring took an infinite step from tau^2 = {tau2:.6g}: {cause}")
        while tau2 + adjustment < 0.0:
            adjustment /= 2.0
        tau2 = tau2 + adjustment
        change = abs(previous - tau2)
        if iterations > control.max_iterations:
            return Tau2Estimate(method, math.nan, False, iterations,
                                f"{method}: Fisher scoring did not converge in {control.max_iterations} iterations")
    message = ""
    if change > control.threshold:
        message = (f"{method}: Fisher scoring stopped where tau^2 = {tau2:.6g} changes by rounding only "
                   f"(by {change:.2g}, above the threshold {control.threshold:g}); metafor's rma reports no "
                   f"convergence there unless a step rounds to exactly 0")
    if method != "EB" and control.ll0_check and tau2 > control.threshold:
        if _log_likelihood(design, vi, 0.0, method) - _log_likelihood(design, vi, tau2, method) > control.tolerance:
            message = f"{method}: likelihood higher at tau^2 = 0 than at the Fisher scoring solution; tau^2 set to 0"
            tau2 = 0.0
    return Tau2Estimate(method, max(0.0, tau2), True, iterations, message)


def _scoring_adjustment(design: np.ndarray, weights: np.ndarray, squared: np.ndarray, method: str, k: int) -> float:
    """One Fisher scoring step of :func:`_fisher_scoring` from the weighted sums of ``design`` (``weights``,
    ``squared``: work arrays, overwritten)."""
    sums = design @ weights
    exponent = weight_exponent(sums[0])  # weights near 1e300: w / 2^e (exact); the terms of degree 1 in w
    if exponent:  # (sum_weights, q, trace) are then 2^-e times those of degree 2 (score, trace_pp), as below
        np.ldexp(weights, -exponent, out=weights)
        sums = np.ldexp(sums, -exponent)
    sum_weights, sum_wy, sum_wyy = sums
    if method == "EB":
        return scoring_step(method, k, exponent, sum_weights, sum_wyy - sum_wy * sum_wy / sum_weights)
    np.multiply(weights, weights, out=squared)
    sum_squared, sum_squared_y, sum_squared_yy = design @ squared
    mean = sum_wy / sum_weights
    score = sum_squared_yy - 2.0 * mean * sum_squared_y + mean * mean * sum_squared  # ||P y||^2
    return scoring_step(method, k, exponent, sum_weights, score, sum_squared,
                        dot(squared, weights) if method == "REML" else None)


def scoring_step(method: str, k, exponent, sum_weights, statistic, sum_squared=None, sum_cubed=None):
    """The Fisher scoring step of ML, REML (Viechtbauer 2005, eq. 9-10) or EB (metafor's rma.uni), scalars or one
    per row: from the sums of the weights w = 1/(vi + tau^2), of w^2 and w^3 (REML), each divided by 2^``exponent``
    per power of w (:func:`weight_exponents`; 0: unscaled), and ``statistic``: ||P y||^2 (ML, REML) or Q (EB), k
    the number of studies."""
    if method == "EB":
        return (statistic * k / (k - 1) - np.ldexp(k, -exponent)) / sum_weights
    if method == "ML":
        return (statistic - np.ldexp(sum_weights, -exponent)) / sum_squared
    trace_pp = sum_squared - 2.0 * sum_cubed / sum_weights + sum_squared**2 / sum_weights**2  # tr(P P)
    return (statistic - np.ldexp(sum_weights - sum_squared / sum_weights, -exponent)) / trace_pp


def _log_likelihood(design: np.ndarray, vi: np.ndarray, tau2: float, method: str) -> float:
    """(Restricted) log likelihood of the intercept-only model (Viechtbauer 2005, eq. 3, 7)."""
    variances = vi + tau2
    sums = design @ (1.0 / variances)
    k = vi.size
    value = -0.5 * float(np.log(variances).sum()) - 0.5 * q_from_sums(sums)
    if method == "ML":
        return value - 0.5 * k * math.log(2 * math.pi)
    return value - 0.5 * (k - 1) * math.log(2 * math.pi) - 0.5 * math.log(float(sums[0]))


def q_profile_interval(yi, vi, tau2: float, level: float = 95, control: Control | None = None,
                       design: np.ndarray | None = None) -> tuple[float, float, str]:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007), as metafor's ``confint``.

    Bounds solve Q(tau^2) = chi^2_{k-1} quantiles in [0, max(100, 10 tau^2)] with R's
    uniroot (tolerance eps^0.25, at most 1000 iterations). A bound outside the bracket
    is reported at the bracket's end, as metafor does, with a note.
    Returns (lower, upper, note).
    """
    control = control or Control()
    y = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = y.size
    if k < 2:
        return math.nan, math.nan, "k = 1: no tau^2 interval"
    alpha = level_alpha(level)
    critical_upper = float(special.chdtri(k - 1, alpha / 2))
    critical_lower = float(special.chdtri(k - 1, 1 - alpha / 2))
    upper_bracket = interval_bracket(tau2, control)

    design = shared_design(y, vi) if design is None else design

    def q_at(value: float) -> float:
        return _q_at(design, vi, value)

    q_min, q_max = q_at(0.0), q_at(upper_bracket)
    notes = []
    lower = upper = math.nan
    if q_min < critical_lower:
        lower = upper = 0.0
        notes.append("tau^2 interval is the null set; reported as [0, 0]")
    elif q_max > critical_lower:
        upper = upper_bracket
        notes.append(f"upper tau^2 bound above {upper_bracket:g}")
    else:
        upper = _bound(q_at, critical_lower, upper_bracket, q_min, q_max, control)
    if q_max > critical_upper:
        lower = upper = upper_bracket
        notes.append(f"tau^2 interval above {upper_bracket:g}")
    elif q_min < critical_upper:
        lower = 0.0
    else:
        lower = _bound(q_at, critical_upper, upper_bracket, q_min, q_max, control)
    return lower, upper, "; ".join(notes)


def interval_bracket(tau2: float, control: Control | None = None) -> float:
    """The upper end of the bracket in which a tau^2 interval's bounds are sought (Q-profile and generalised Q):
    ``control.tau2_max``, or metafor's max(100, 10 tau^2)."""
    if control is not None and control.tau2_max is not None:
        return float(control.tau2_max)
    return max(100.0, 10.0 * tau2)


def _bound(q_at, target: float, upper_bracket: float, q_min: float, q_max: float, control: Control) -> float:
    root, _, _ = zeroin(lambda value: q_at(value) - target, 0.0, upper_bracket,
                        q_min - target, q_max - target, control.tolerance, 1000)
    return root


def i2_h2(tau2, typical_variance: float) -> tuple:
    """I^2 = 100 tau^2 / (s^2 + tau^2) and H^2 = tau^2 / s^2 + 1 (Higgins & Thompson 2002)."""
    return 100.0 * tau2 / (typical_variance + tau2), tau2 / typical_variance + 1.0


def common_effect_i2_h2(q: float, q_df: int) -> tuple[float, float]:
    """I^2 = max(0, 100 (Q - df) / Q) and H^2 = Q / df of a common-effect model (with or without moderators;
    metafor's rma.uni for EE / FE / CE fits, Higgins & Thompson 2002), from Q_E on its df = k - p > 0."""
    return (max(0.0, 100.0 * (q - q_df) / q) if q > 0 else 0.0), q / q_df
