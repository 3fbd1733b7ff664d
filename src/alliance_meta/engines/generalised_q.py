"""Generalised-Q confidence interval for tau^2, as metafor 3.8-1's ``confint.rma.uni`` (type "GENQ").

With fixed weights ``a`` (GENQ: ``1/sqrt(vi)``) the generalised Q statistic
``Q_a = sum a (y - ybar_a)^2 = y' P y``, ``P = diag(a) - a a'/sum(a)``, is under the
random-effects model distributed as ``sum_j lambda_j chi^2_1`` with ``lambda_j`` the
``k - 1`` positive eigenvalues of ``S P S``, ``S = diag(sqrt(vi + tau^2))``
(Jackson 2013, *Res Synth Methods* 4, 220-229; Jackson, Turner, Rhodes &
Viechtbauer 2014, *BMC Med Res Methodol* 14:103; Biggerstaff & Jackson 2008 for
the DL weights). ``P[Q_a > q_obs]`` increases in tau^2; the interval's bounds solve
``P[Q_a > q_obs] = alpha/2`` (lower) and ``= 1 - alpha/2`` (upper).

metafor (``.GENQ.func``) takes ``eigen(S P S)``, the ``k - p`` largest values, and
``CompQuadForm::farebrother(Q, lambda)$Qq`` (Farebrother's AS 204, Ruben's series),
and finds each bound with ``uniroot`` on ``[tau2.min, tau2.max] = [0, max(100, 10 tau^2)]``
at uniroot's default tolerance ``eps^0.25`` (confint passes no ``tol``), so the
reported bound is zeroin's iterate, reproduced here with :func:`heterogeneity.zeroin`.

Eigenvalues. ``S P S = D - u u'/sum(a)`` with ``D = diag(a (vi + tau^2))`` and
``u = a sqrt(vi + tau^2)``: a diagonal matrix minus a rank-one matrix. Its
eigenvalues are 0 and the roots of the secular equation
``1 - sum_i c_i / (d_i - lambda) = 0``, ``c_i = a_i d_i / sum(a)`` (Golub 1973;
Bunch, Nielsen & Sorensen 1978), one strictly between each pair of consecutive
distinct ``d_i``; tied ``d_i`` are eigenvalues themselves (deflation). Each root is
found relative to its nearer pole (as LAPACK's dlaed4) by safeguarded Newton, all
roots at once (256 gaps per block): O(k^2) time and O(k) memory per tau^2 instead of the O(k^3) of a dense
eigendecomposition, which is what the general (meta-regression) case would need.

Distribution function. Imhof (1961, *Biometrika* 48, 419-426):
``P[Q > q] = 1/2 + (1/pi) int_0^inf Im G(u) / u du`` with
``G(z) = exp(-i q z / 2) prod_j (1 - i lambda_j z)^(-1/2)``. ``G`` is analytic in the
sector ``-pi/2 < arg z <= 0`` (its branch points are at ``-i/lambda_j``), so by
Cauchy's theorem the path may be turned to a ray ``z = t exp(-i w)``, ``0 < w < pi/2``:
``P[Q > q] = 1/2 - w/pi + (1/pi) int_0^inf Im G(t e^{-i w}) / t dt`` (the ``-w`` is the
pole of ``G/z`` at 0). On the ray the integrand decays like ``exp(-q t sin(w) / 2)``
and barely oscillates (so Gauss-Legendre quadrature converges fast); ``|G|`` can reach ``cos(w)^(-n/2)`` there, so ``w`` is pi/4 or
smaller for many weights (at most a factor 10 of rounding amplification). Adaptive
quadrature then reaches ~1e-14 absolute accuracy, where Imhof's real-axis integrand
decays only like ``u^(-1 - n/2)`` while oscillating.
"""

from __future__ import annotations

import math

import numpy as np

from alliance_meta.engines.heterogeneity import (Control, interval_bracket, level_alpha, may_dominate, weighted_q,
                                                zeroin)

MAX_ROTATION = math.pi / 4  # angle of the integration ray below the real axis, at most
MAX_AMPLIFICATION = 10.0  # bound on |G| along the ray, (1/cos(angle))^(n/2)
ABSOLUTE_TOLERANCE = 1e-14
RELATIVE_TOLERANCE = 1e-13
_EPSILON = float(np.finfo(float).eps)


def secular_eigenvalues(d: np.ndarray, c: np.ndarray, max_iterations: int = 200) -> np.ndarray:
    """Eigenvalues above the smallest of ``diag(d) - u u'/s`` with ``c = u^2/s > 0``, ascending.

    Roots of ``1 - sum c_i / (d_i - lambda)``, one in each gap between consecutive
    distinct ``d``; each tie of ``m`` equal ``d`` gives ``m - 1`` eigenvalues equal to
    it and one merged pole. Returns ``k - 1`` values. O(k^2).
    """
    order = np.argsort(d, kind="stable")
    d = np.asarray(d, dtype=float)[order]
    c = np.asarray(c, dtype=float)[order]
    poles, starts = np.unique(d, return_index=True)
    merged = np.add.reduceat(c, starts)
    tied = np.repeat(poles, np.diff(np.append(starts, d.size)) - 1)
    m = poles.size
    if m < 2:
        return np.sort(tied)
    gaps = np.diff(poles)
    rows = np.arange(m - 1)
    middle = poles[:-1] + gaps / 2.0
    with np.errstate(divide="ignore"):  # two poles a few ulps apart: their midpoint rounds onto one (f = -+inf there)
        f_middle = 1.0 - np.sum(merged / (poles[None, :] - middle[:, None]), axis=1)
    # Root in (d_j, middle] when f(middle) <= 0 (f decreases from +inf to -inf): origin d_j.
    origin_index = np.where(f_middle > 0, rows + 1, rows)
    origin = poles[origin_index]
    # h(delta) = delta (1 - S(delta)) + c_origin, S = sum_{i != origin} c_i / (d_i - origin - delta):
    # h(0) = c_origin > 0, h(end) = end f(middle) <= 0, no pole in between.
    ends = np.where(f_middle > 0, -gaps / 2.0, gaps / 2.0)
    delta = np.empty(m - 1)
    for first in range(0, m - 1, _BLOCK_ROWS):  # O(block k) memory
        block = slice(first, min(first + _BLOCK_ROWS, m - 1))
        delta[block] = _secular_block(poles, merged, origin_index[block], ends[block], max_iterations)
    return np.sort(np.concatenate([origin + delta, tied]))


_BLOCK_ROWS = 256


def _secular_block(poles, merged, origin_index, ends, max_iterations):
    """Offsets from the origin poles of the roots of a block of gaps, by safeguarded Newton."""
    rows = np.arange(origin_index.size)
    offsets = poles[None, :] - poles[origin_index][:, None]  # exact 0 at the origin itself
    weights = np.broadcast_to(merged, offsets.shape).copy()
    weights[rows, origin_index] = 0.0
    offsets[rows, origin_index] = 1.0
    c_origin = merged[origin_index]
    low = np.zeros(rows.size)
    high = ends.copy()
    delta = high / 2.0
    active = rows
    for _ in range(max_iterations):
        if active.size == 0:
            break
        x = delta[active]
        denominators = offsets[active] - x[:, None]
        terms = weights[active] / denominators
        s = terms.sum(axis=1)
        s_prime = (terms / denominators).sum(axis=1)
        h = x * (1.0 - s) + c_origin[active]
        positive = h > 0
        lo = np.where(positive, x, low[active])
        hi = np.where(positive, high[active], x)
        low[active], high[active] = lo, hi
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - h / ((1.0 - s) - x * s_prime)
        inside = np.isfinite(newton) & ((newton - lo) * (newton - hi) < 0)
        proposal = np.where(h == 0, x, np.where(inside, newton, (lo + hi) / 2.0))
        delta[active] = proposal
        done = ((np.abs(proposal - x) <= 4.0 * _EPSILON * np.abs(proposal)) | (h == 0)
                | (np.abs(hi - lo) <= 4.0 * _EPSILON * np.abs(proposal)))
        active = active[~done]
    return delta


def genq_eigenvalues(weights, vi, tau2: float) -> np.ndarray:
    """The ``k - 1`` positive eigenvalues of ``S P S`` (see the module docstring), descending; where a weight may
    dominate (:func:`~alliance_meta.engines.heterogeneity.may_dominate`) by :func:`_contrast_eigenvalues`."""
    a = np.asarray(weights, dtype=float)
    vi = np.asarray(vi, dtype=float)
    if may_dominate(a):
        return _contrast_eigenvalues(a, vi, tau2)
    d = a * (vi + tau2)
    return secular_eigenvalues(d, a * d / a.sum())[::-1]


def _contrast_eigenvalues(a: np.ndarray, vi: np.ndarray, tau2: float) -> np.ndarray:
    """:func:`genq_eigenvalues` from the contrasts z = y_o - y_h of the other studies to the heaviest one h:
    Q_a = z' M z with M = diag(a_o) - a_o a_o' / sum a and Cov z = C = diag(vi_o + tau2) + (vi_h + tau2) 1 1', so the
    eigenvalues are those of L' M L, C = L L' (Cholesky; C is positive definite as vi > 0). Neither M nor C subtracts
    a dominant weight's huge terms, which cancel in the secular equation's poles a (vi + tau2) (vi = 1e-300 beside
    0.1). O(k^3); the weights are divided by the largest, and the eigenvalues multiplied back, as they scale with
    the weights."""
    heaviest = int(np.argmax(a))
    scale = float(a[heaviest])
    others = np.arange(a.size) != heaviest
    a_o = a[others] / scale
    m = np.diag(a_o) - np.outer(a_o, a_o) / (a.sum() / scale)
    c = np.diag(vi[others] + tau2) + (vi[heaviest] + tau2)
    lower = np.linalg.cholesky(c)
    return np.linalg.eigvalsh(lower.T @ m @ lower)[::-1] * scale


def rotation(n: int) -> float:
    """Angle of the ray for ``n`` weights: pi/4, or less so that ``|G| <= (1/cos)^(n/2) <= 10``."""
    return min(MAX_ROTATION, math.acos(MAX_AMPLIFICATION ** (-2.0 / n)))


def _log_g(t: float, q: float, lambdas: np.ndarray, angle: float) -> complex:
    z = t * complex(math.cos(angle), -math.sin(angle))
    return -0.5j * q * z - 0.5 * complex(np.sum(np.log(1.0 - 1j * lambdas * z)))


def survival(q: float, lambdas) -> float:
    """``P[sum_j lambda_j chi^2_1 > q]`` for positive ``lambdas`` by Imhof's integral on a rotated ray.

    Accuracy ~1e-14 absolute: adaptive 32-point Gauss-Legendre (nodes evaluated as one
    array, O(k) each) per piece ``[0, 1], [1, 2], [2, 4], ...`` (lambda scaled to a
    maximum of 1) with absolute tolerance ``1e-14 max(1, |sum lambda - q|)`` or relative
    tolerance 1e-13, up to where the integrand is below 4e-18.
    """
    lambdas = np.asarray(lambdas, dtype=float)
    if lambdas.size == 0:
        return 0.0 if q >= 0 else 1.0
    if np.any(lambdas <= 0):
        raise ValueError("survival needs positive weights lambda")
    if q <= 0:
        return 1.0
    scale = float(lambdas.max())
    lambdas = lambdas / scale
    q = q / scale

    angle = rotation(lambdas.size)
    sine, cosine = math.sin(angle), math.cos(angle)

    def integrand(t: np.ndarray) -> np.ndarray:
        # log G on z = t exp(-i angle) in real arithmetic (numpy's complex log is ~10x slower):
        # log(1 - i lambda z) = log(1 - 2 a sin + a^2) / 2 + i atan2(-a cos, 1 - a sin), a = lambda t.
        a = np.outer(t, lambdas)
        log_modulus = -0.25 * np.log1p(a * (a - 2.0 * sine)).sum(axis=1) - 0.5 * q * t * sine
        argument = -0.5 * np.arctan2(-a * cosine, 1.0 - a * sine).sum(axis=1) - 0.5 * q * t * cosine
        return np.exp(log_modulus) * np.sin(argument) / t

    end = 80.0 / (q * math.sin(angle))  # exp(-q t sin/2) < 4e-18 beyond
    # The integrand starts at cos(w) (sum lambda - q) / 2; rounding makes an absolute
    # accuracy below ~1e-14 times that unreachable.
    absolute = ABSOLUTE_TOLERANCE * max(1.0, abs(float(lambdas.sum()) - q))
    total = 0.0
    lower, upper = 0.0, min(1.0, end)
    while lower < end:
        total += _adaptive_gauss_legendre(integrand, lower, upper, absolute)
        lower, upper = upper, min(2.0 * upper, end)
    return 0.5 - angle / math.pi + total / math.pi


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(32)


def _gauss_legendre(function, lower: float, upper: float) -> float:
    half = (upper - lower) / 2.0
    return half * float(_WEIGHTS @ function(lower + half * (_NODES + 1.0)))


def _adaptive_gauss_legendre(function, lower: float, upper: float, tolerance: float,
                             whole: float | None = None, depth: int = 0) -> float:
    """32-point Gauss-Legendre, halving an interval until its halves agree with it within
    ``tolerance`` (scaled down with depth) or ``RELATIVE_TOLERANCE``; vectorised nodes."""
    if whole is None:
        whole = _gauss_legendre(function, lower, upper)
    middle = (lower + upper) / 2.0
    left = _gauss_legendre(function, lower, middle)
    right = _gauss_legendre(function, middle, upper)
    halves = left + right
    if abs(halves - whole) <= max(tolerance, RELATIVE_TOLERANCE * abs(halves)) or depth >= 40:
        return halves
    return (_adaptive_gauss_legendre(function, lower, middle, tolerance / 2.0, left, depth + 1)
            + _adaptive_gauss_legendre(function, middle, upper, tolerance / 2.0, right, depth + 1))


def genq_tail_probability(tau2: float, q: float, weights, vi) -> float:
    """metafor's ``farebrother(Q, lambda)$Qq`` at tau^2: ``P[Q_a > q]``."""
    return survival(q, genq_eigenvalues(weights, vi, tau2))


def genq_interval(yi, vi, weights, tau2: float, level: float = 95,
                  control: Control | None = None) -> tuple[float, float, str]:
    """Generalised-Q interval for tau^2 (Jackson 2013), step for step as metafor's ``confint``.

    Bracket ``[0, max(100, 10 tau^2)]`` (or ``control.tau2_max``); a bound outside it is
    reported at the bracket's end with a note; a null interval as ``[0, 0]``. The roots
    are R's uniroot iterates at tolerance eps^0.25 with at most 1000 iterations.
    Each probability costs O(k^2) (eigenvalues) plus O(k) per quadrature node.
    Returns (lower, upper, note).
    """
    control = control or Control()
    y = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    a = np.asarray(weights, dtype=float)
    k = y.size
    if k < 2:
        return math.nan, math.nan, "k = 1: no tau^2 interval"
    alpha = level_alpha(level)
    q = weighted_q(y - y.mean(), a)
    tau2_min = min(0.0, tau2)
    tau2_max = interval_bracket(tau2, control)  # metafor's max(100, 10 tau2, 10 tau2_min): tau2_min <= 0

    def tail(value: float) -> float:
        return genq_tail_probability(value, q, a, vi)

    p_min, p_max = tail(tau2_min), tail(tau2_max)
    notes = []
    lower = upper = math.nan
    if p_min > 1 - alpha / 2:
        lower = upper = tau2_min
        notes.append("tau^2 interval is the null set; reported as [0, 0]")
    elif p_max < 1 - alpha / 2:
        upper = tau2_max
        notes.append(f"upper tau^2 bound above {tau2_max:g}")
    else:
        root, _, converged = zeroin(lambda value: (1.0 - tail(value)) - alpha / 2, tau2_min, tau2_max,
                                    (1.0 - p_min) - alpha / 2, (1.0 - p_max) - alpha / 2,
                                    control.tolerance, 1000)
        upper = root if converged else math.nan
    if p_max < alpha / 2:
        lower = upper = tau2_max
        notes.append(f"tau^2 interval above {tau2_max:g}")
    elif p_min > alpha / 2:
        lower = tau2_min
    else:
        root, _, converged = zeroin(lambda value: tail(value) - alpha / 2, tau2_min, tau2_max,
                                    p_min - alpha / 2, p_max - alpha / 2, control.tolerance, 1000)
        lower = root if converged else math.nan
    return lower, upper, "; ".join(notes)
