"""Residual heterogeneity tau^2 of a mixed-effects meta-regression, batched.

Every estimator works on a batch of ``B`` data sets that share the model matrix
``X`` (k x p): ``y`` and ``v`` are (B, k). One data set is a batch of one; a
permutation test is a batch of permuted (y, v). The algorithms, starting values
and convergence rules are those of metafor 3.8 ``rma.uni`` (Viechtbauer 2010,
J Stat Softw 36(3); Viechtbauer 2005, J Educ Behav Stat 30, 261-293), so each
fit reproduces metafor's tau^2 to rounding error.

metafor forms k x k matrices (``P = W - W X (X'WX)^-1 X'W``); here every term is
reduced to p x p algebra with weights, O(k p^2):

* ``y'P y = sum w e^2`` and ``y'P P y = sum (w e)^2`` with WLS residuals ``e``;
* ``tr P = sum w - tr(A X'W^2X)`` with ``A = (X'WX)^-1``;
* ``tr PP = sum w^2 - 2 tr(A X'W^3X) + tr((A X'W^2X)^2)``.

As in metafor, tau^2 is estimated from the mean-centred ``y``.
"""

from __future__ import annotations

import numpy as np

from alliance_meta.engines import distributions as dist
from alliance_meta.engines.heterogeneity import GENQ_NEEDS_WEIGHTS, zeroin
from alliance_meta.wording import did_you_mean

THRESHOLD = 1e-5
MAX_ITERATIONS = 100
TAU2_MIN = 0.0
ROOT_TOL = np.finfo(float).eps ** 0.25
ITERATIVE = ("REML", "ML", "EB")
ROOT_FINDING = ("PM", "PMM")
CLOSED_FORM = ("DL", "HE", "HS", "HSk", "SJ")
METHODS = ITERATIVE + ROOT_FINDING + CLOSED_FORM + ("GENQ",)


def weighted_gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """X' diag(w) X for each row of w: (B, k) -> (B, p, p), as one matrix product
    of the weights with the column products x_i x_j (i <= j)."""
    p = X.shape[1]
    rows, cols = np.triu_indices(p)
    gram = np.empty(w.shape[:-1] + (p, p))
    gram[..., rows, cols] = w @ (X[:, rows] * X[:, cols])
    gram[..., cols, rows] = gram[..., rows, cols]
    return gram


def weighted_fit(X: np.ndarray, y: np.ndarray, w: np.ndarray):
    """WLS for a batch: returns ``(beta, residual, A)`` with ``A = (X'WX)^-1``."""
    inverse = np.linalg.inv(weighted_gram(X, w))
    cross = (w * y) @ X
    beta = np.einsum("bpq,bq->bp", inverse, cross)
    return beta, y - beta @ X.T, inverse


def _trace_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """tr(a b) for batches of square matrices."""
    return np.einsum("bpq,bqp->b", a, b)


def _residual_ss(X, y, w):
    """y'P y = sum w e^2 (the generalised Q statistic) for a batch."""
    _, residual, _ = weighted_fit(X, y, w)
    return np.sum(w * residual**2, axis=-1)


def _trace_p(X, w, inverse):
    return np.sum(w, axis=-1) - _trace_product(inverse, weighted_gram(X, w**2))


#: tr(PP) below this share of sum w^2 has lost more than half its digits to cancellation (:func:`_trace_pp_qr`).
CANCELLED_PP_SHARE = 2.0**-26


def _without_cancellation(X: np.ndarray, w: np.ndarray, trace_pp: np.ndarray) -> np.ndarray:
    """``trace_pp`` (tr PP of each row of ``w``), with the rows where it cancels (below :data:`CANCELLED_PP_SHARE`
    of sum w^2) beside a heavy weight (at least 2^20 times the others' sum: 6e7, whose square the others' cannot
    be told from) recomputed by :func:`_trace_pp_qr`; every other row, every ordinary fit, as it was (a design
    nearly of rank 1, sqrt(vi) nearly constant, is left to its refusal)."""
    largest = np.max(w, axis=-1)
    heavy = largest >= 2.0**20 * (np.sum(w, axis=-1) - largest)
    rows = np.flatnonzero(~(trace_pp > CANCELLED_PP_SHARE * np.sum(w**2, axis=-1)) & heavy)
    if rows.size:
        trace_pp = trace_pp.copy()
        trace_pp[rows] = [_trace_pp_qr(X, w[row]) for row in rows]
    return trace_pp


def _trace_pp_qr(X: np.ndarray, w: np.ndarray) -> float:
    """tr(PP) = ||Q2' W Q2||_F^2 without cancellation, Q2 the last k - p columns of the complete QR decomposition
    of W^(1/2) X: P = W^(1/2) (I - H) W^(1/2) with I - H = Q2 Q2' (Golub & Van Loan 2013, sec. 5.2). The heavy
    study's row of W^(1/2) Q2 is sqrt(w) times entries of Q2 near 0, each within eps of its value, where the sum
    of the squares of the terms of tr(PP) lost every digit."""
    root = np.sqrt(w)
    q, _ = np.linalg.qr(X * root[:, None], mode="complete")
    half = root[:, None] * q[:, X.shape[1]:]  # W^(1/2) Q2
    return float(np.sum((half.T @ half) ** 2))


def hedges_estimate(X, y, v):
    """Hedges (HE) estimator: (RSS_OLS - sum v_i (1 - h_ii)) / (k - p), unconstrained."""
    k, p = X.shape
    ols_inverse = np.linalg.inv(X.T @ X)
    hat = np.sum((X @ ols_inverse) * X, axis=1)
    residual = y - (y @ X @ ols_inverse) @ X.T
    return (np.sum(residual**2, axis=-1) - v @ (1.0 - hat)) / (k - p)


def _log_likelihood(X, y, v, tau2, method):
    """ML or REML log-likelihood (without metafor's REMLf constant), for the ll0 check."""
    k, p = X.shape
    w = 1.0 / (v + tau2[:, None])
    _, residual, inverse = weighted_fit(X, y, w)
    rss = np.sum(w * residual**2, axis=-1)
    if method == "ML":
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + tau2[:, None]), axis=-1) - 0.5 * rss
    log_det = -np.linalg.slogdet(inverse)[1]
    return (-0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + tau2[:, None]), axis=-1)
            - 0.5 * log_det - 0.5 * rss)


def fisher_scoring(X, y, v, method="REML", start=None, threshold=THRESHOLD, max_iterations=MAX_ITERATIONS,
                   step_adjustment=1.0, ll0_check=True, tolerance=ROOT_TOL):
    """ML / REML / EB by Fisher scoring as metafor: start at max(0, HE), steps times
    ``step_adjustment`` (metafor's stepadj), step-halving at the boundary, stop when
    |change| <= ``threshold`` (1e-5), fail after ``max_iterations`` (100); then, with
    ``ll0_check``, ML/REML fall back to 0 when the likelihood at 0 is higher by more than
    ``tolerance`` (metafor's ll0check).

    Returns ``(tau2, iterations, converged)``; tau2 is NaN where scoring failed.
    """
    k, p = X.shape
    tau2 = np.maximum(0.0, hedges_estimate(X, y, v)) if start is None else np.array(start, float)
    tau2 = np.maximum(tau2, TAU2_MIN)
    active = np.ones(len(y), dtype=bool)
    iterations = np.zeros(len(y), dtype=int)
    while active.any():
        ya, va, old = y[active], v[active], tau2[active]
        w = 1.0 / (va + old[:, None])
        _, residual, inverse = weighted_fit(X, ya, w)
        if method == "EB":
            adjustment = (np.sum(w * residual**2, axis=-1) * k / (k - p) - k) / np.sum(w, axis=-1)
        else:
            we2 = np.sum((w * residual) ** 2, axis=-1)
            if method == "ML":
                adjustment = (we2 - np.sum(w, axis=-1)) / np.sum(w**2, axis=-1)
            else:
                a_w2 = np.matmul(inverse, weighted_gram(X, w**2))
                trace_p = np.sum(w, axis=-1) - np.trace(a_w2, axis1=1, axis2=2)
                trace_pp = (np.sum(w**2, axis=-1) - 2 * _trace_product(inverse, weighted_gram(X, w**3))
                            + _trace_product(a_w2, a_w2))
                trace_pp = _without_cancellation(X, w, trace_pp)
                adjustment = (we2 - trace_p) / trace_pp
        adjustment = np.where(np.isnan(adjustment), 0.0, adjustment * step_adjustment)
        # an infinite step (tr(PP) of 0 beside a numerator that is not) fails the fit: halving it never ends
        infinite = np.isinf(adjustment)
        adjustment = np.where(infinite, 0.0, adjustment)
        while np.any(low := old + adjustment < TAU2_MIN):
            adjustment = np.where(low, adjustment / 2, adjustment)
        new = old + adjustment
        index = np.flatnonzero(active)
        tau2[index] = new
        iterations[index] += 1
        done = (np.abs(old - new) <= threshold) & ~infinite
        failed = (iterations[index] > max_iterations) | infinite
        tau2[index[failed & ~done]] = np.nan
        active[index[done | failed]] = False
    converged = ~np.isnan(tau2)
    if method in ("ML", "REML") and ll0_check and converged.any():
        c = converged
        ll0 = _log_likelihood(X, y[c], v[c], np.zeros(c.sum()), method)
        ll = _log_likelihood(X, y[c], v[c], tau2[c], method)
        stuck = (ll0 - ll > tolerance) & (tau2[c] > THRESHOLD)
        tau2[np.flatnonzero(c)[stuck]] = 0.0
    return tau2, iterations, converged


def r_zeroin(function, lower, upper, f_lower, f_upper, tol=ROOT_TOL, max_iterations=MAX_ITERATIONS):
    """R's ``uniroot`` step for step (the project's port, :func:`heterogeneity.zeroin`); raises if it fails."""
    root, _, converged = zeroin(function, lower, upper, f_lower, f_upper, tol, max_iterations)
    if not converged:
        raise RuntimeError("uniroot did not converge")
    return root


def paule_mandel(X, y, v, median=False, tau2_max=None, tolerance=ROOT_TOL, max_iterations=MAX_ITERATIONS):
    """Paule-Mandel (PM) or median-unbiased PMM: the tau^2 at which the generalised Q
    equals k - p (or the median of chi^2_{k-p}); metafor's uniroot on [0, ``tau2_max``, by
    default max(100, 10 mad(y)^2)] with tol = ``tolerance`` (eps^0.25) and ``max_iterations``
    (Viechtbauer et al. 2015, Res Synth Methods 6)."""
    k, p = X.shape
    target = dist.chi2.ppf(0.5, k - p) if median else k - p
    out = np.empty(len(y))
    for b in range(len(y)):
        yb, vb = y[b:b + 1], v[b:b + 1]

        def excess(tau2, yb=yb, vb=vb):
            return float(_residual_ss(X, yb, 1.0 / (vb + tau2))[0] - target)

        upper = (max(100.0, 10 * (1.4826 * np.median(np.abs(yb - np.median(yb)))) ** 2) if tau2_max is None
                 else float(tau2_max))
        f_lower = excess(TAU2_MIN)
        if f_lower < 0:
            out[b] = TAU2_MIN
            continue
        f_upper = excess(upper)
        out[b] = np.nan if f_upper > 0 else r_zeroin(excess, TAU2_MIN, upper, f_lower, f_upper, tolerance,
                                                     max_iterations)
    return out


def closed_form(X, y, v, method):
    """DL, HE, HS, HSk and (two-step) SJ as in metafor's rma.uni, before truncation at 0."""
    k, p = X.shape
    if method == "HE":
        return hedges_estimate(X, y, v)
    if method == "SJ":
        start = np.mean(y**2, axis=-1)
        return start * _residual_ss(X, y, 1.0 / (v + start[:, None])) / (k - p)
    w = 1.0 / v
    _, residual, inverse = weighted_fit(X, y, w)
    rss = np.sum(w * residual**2, axis=-1)
    if method == "DL":
        return (rss - (k - p)) / _trace_p(X, w, inverse)
    if method == "HS":
        return (rss - k) / np.sum(w, axis=-1)
    if method == "HSk":
        return (k / (k - p) * rss - k) / np.sum(w, axis=-1)
    raise ValueError(f"unknown tau^2 estimator {method!r}{did_you_mean(method, METHODS)}; expected one of "
                     f"{METHODS}")


def generalised_q(X, y, v, a):
    """GENQ, the generalised method-of-moments estimator with fixed weights ``a`` (DerSimonian & Kacker
    2007, Contemp Clin Trials 28, 105-114; Jackson 2013, Res Synth Methods 4, 220-229), before truncation at 0:
    ``(y'P_a y - tr(P_a V)) / tr(P_a)`` with ``P_a = A - A X (X'AX)^-1 X'A``, ``A = diag(a)``, as metafor's
    rma.uni (method = "GENQ", weights = a). ``a`` is (B, k) like ``v``."""
    _, residual, inverse = weighted_fit(X, y, a)
    trace_pv = np.sum(a * v, axis=-1) - _trace_product(inverse, weighted_gram(X, a**2 * v))
    return (np.sum(a * residual**2, axis=-1) - trace_pv) / _trace_p(X, a, inverse)


def estimate_tau2(X, y, v, method="REML", control=None, weights=None):
    """tau^2 for a batch (y, v are (B, k), X is k x p), truncated at 0 as metafor.

    ``y`` is centred here as in metafor. Returns ``(tau2, iterations)``; NaN marks
    a failed fit (no convergence, or tau2.max too low for PM). ``control`` (a
    :class:`alliance_meta.engines.heterogeneity.Control`; None: metafor's defaults) sets
    Fisher scoring's ``threshold``, ``max_iterations``, ``step_adjustment`` and ``ll0_check``, and the root
    finding's ``tau2_max``, ``tolerance`` and ``max_iterations``. ``weights``: GENQ's fixed weights
    (required for GENQ, one per row of ``v`` or one row for the whole batch; only GENQ reads them).
    """
    y = np.atleast_2d(np.asarray(y, float))
    v = np.atleast_2d(np.asarray(v, float))
    centred = y - y.mean(axis=-1, keepdims=True)
    iterations = np.zeros(len(y), dtype=int)
    if method in ITERATIVE:
        settings = {} if control is None else dict(
            threshold=control.threshold, max_iterations=control.max_iterations, step_adjustment=control.step_adjustment,
            ll0_check=control.ll0_check, tolerance=control.tolerance)
        tau2, iterations, _ = fisher_scoring(X, centred, v, method, **settings)
    elif method in ROOT_FINDING:
        settings = {} if control is None else dict(tau2_max=control.tau2_max, tolerance=control.tolerance,
                                                  max_iterations=control.max_iterations)
        tau2 = paule_mandel(X, centred, v, median=method == "PMM", **settings)
    elif method in CLOSED_FORM:
        tau2 = closed_form(X, centred, v, method)
    elif method in ("FE", "EE", "CE", "common"):
        tau2 = np.zeros(len(y))
    elif method == "GENQ":
        if weights is None:
            raise ValueError(GENQ_NEEDS_WEIGHTS)
        tau2 = generalised_q(X, centred, v, np.broadcast_to(np.asarray(weights, float), v.shape))
    else:
        raise ValueError(f"unknown tau^2 estimator {method!r}{did_you_mean(method, METHODS)}; expected one of "
                         f"{METHODS}")
    return np.maximum(TAU2_MIN, tau2), iterations
