"""Rank correlation test (Begg & Mazumdar 1994, Biometrics 50, 1088-1101), as metafor's ``ranktest``.

Kendall's tau between standardised deviates and variances; exact p-value without
ties, the tie-corrected normal approximation with ties (R's ``cor.test``, as metafor).
"""

from __future__ import annotations

import math

import numpy as np

from alliance_meta.analyses.bias.results import BiasTest, all_equal
from alliance_meta.models.univariate import validate_inputs
from alliance_meta.engines import distributions as dist
from alliance_meta.engines.heterogeneity import _dominated_diagonal, dominant_weight, weighted_residuals

#: Largest n for the pairwise count (n^2 / 2 pairs of int8: 2 MB at 2,000).
PAIRWISE_MAX_N = 2000

def kendall_tau_b(x, y) -> float:
    """Kendall's tau-b, bit for bit as ``scipy.stats.kendalltau(x, y).statistic`` (1.17.1,
    scipy/stats/_stats_py.py: the same integer counts of concordant minus discordant pairs and
    of pairs tied in x and in y, and the same final arithmetic), without importing scipy.stats
    (~1 s of a job's start-up). nan for nan or empty input and for all-tied x or y.

    The pair counts here take O(n^2) memory; above ``PAIRWISE_MAX_N`` values scipy's own
    O(n log n) count is imported and used instead.
    """
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.size != y.size:
        raise ValueError("x and y must have the same length")
    if x.size == 0 or np.isnan(x).any() or np.isnan(y).any():
        return math.nan
    if x.size > PAIRWISE_MAX_N:
        from scipy import stats

        return float(stats.kendalltau(x, y).statistic)
    upper = np.triu_indices(x.size, 1)
    sx, sy = ((np.greater.outer(v, v).astype(np.int8) - np.less.outer(v, v))[upper] for v in (x, y))
    tot = x.size * (x.size - 1) // 2
    xtie, ytie = tot - np.count_nonzero(sx), tot - np.count_nonzero(sy)
    if xtie == tot or ytie == tot:
        return math.nan
    con_minus_dis = int(np.sum(sx * sy, dtype=np.int64))
    tau = con_minus_dis / np.sqrt(tot - xtie) / np.sqrt(tot - ytie)
    return float(np.minimum(1.0, max(-1.0, tau)))


def kendall_permutation_cdf(n: int) -> np.ndarray:
    """P(T <= q), q = 0..n(n-1)/2, T = concordant pairs of two untied rankings of n.

    The Mahonian distribution (Kendall 1938) by convolution, in probabilities;
    R's ``ckendall`` counts the same permutations.
    """
    probabilities = np.ones(1)
    for m in range(2, n + 1):
        padded = np.concatenate([np.zeros(m), probabilities, np.zeros(m - 1)])
        cumulative = np.cumsum(padded)  # new[j] = mean of p[j - m + 1 .. j]
        probabilities = (cumulative[m:] - cumulative[:-m]) / m
    return np.cumsum(probabilities)


def kendall_test(x, y, max_exact_n: int = 1000) -> tuple[float, float, str]:
    """Kendall's tau-b and two-sided p-value as R's ``cor.test(x, y, "kendall", exact = TRUE)``.

    Without ties: exact p-value (for n <= ``max_exact_n``); with ties: the normal
    approximation with the tie-corrected variance of S (Kendall 1970, ch. 4).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = x.size
    tau = kendall_tau_b(x, y)
    ties = min(np.unique(x).size, np.unique(y).size) < n
    if not ties and n <= max_exact_n:
        q = int(round((tau + 1) * n * (n - 1) / 4))
        cdf = kendall_permutation_cdf(n)
        lower = 1 - cdf[q - 1] if q > n * (n - 1) / 4 else cdf[q]
        return tau, float(min(2 * lower, 1.0)), "exact"
    x_ties = np.unique(x, return_counts=True)[1]
    y_ties = np.unique(y, return_counts=True)[1]
    x_ties, y_ties = x_ties[x_ties > 1].astype(float), y_ties[y_ties > 1].astype(float)
    t0 = n * (n - 1) / 2
    s = tau * math.sqrt((t0 - np.sum(x_ties * (x_ties - 1)) / 2) * (t0 - np.sum(y_ties * (y_ties - 1)) / 2))
    variance = ((n * (n - 1) * (2 * n + 5) - np.sum(x_ties * (x_ties - 1) * (2 * x_ties + 5))
                 - np.sum(y_ties * (y_ties - 1) * (2 * y_ties + 5))) / 18
                + np.sum(x_ties * (x_ties - 1)) * np.sum(y_ties * (y_ties - 1)) / (2 * n * (n - 1))
                + np.sum(x_ties * (x_ties - 1) * (x_ties - 2)) * np.sum(y_ties * (y_ties - 1) * (y_ties - 2))
                / (9 * n * (n - 1) * (n - 2)))
    z = s / math.sqrt(variance)
    return tau, float(2 * dist.norm.sf(abs(z))), "normal approximation (ties)" if ties else "normal approximation"


def rank_test(yi, vi) -> BiasTest:
    """metafor's ``ranktest``: Kendall's tau of ``(yi - theta)/sqrt(vi - 1/sum w)`` with ``vi``.

    ``theta`` is the common-effect (inverse-variance) estimate (Begg & Mazumdar 1994).
    """
    yi, vi, _ = validate_inputs(yi, vi)  # vi below 1/DBL_MAX: 1/vi = inf (a bare ZeroDivisionError or NaN tau)
    weights = 1.0 / vi
    dominant = dominant_weight(weights)
    if dominant >= 0:
        standardised = _dominated_deviates(yi, weights, dominant)
    else:
        theta = float(weights @ yi) / weights.sum()
        standardised = (yi - theta) / np.sqrt(vi - 1.0 / weights.sum())
    # identical effects: yi - theta is rounding error of theta, which would rank the studies by vi alone
    if all_equal(yi) or np.ptp(standardised) == 0:
        raise ValueError("every study has the same effect size or standardized effect, so there are no ranks to "
                         "correlate")
    tau, p, note = kendall_test(standardised, vi)
    return BiasTest(test="rank", statistic=tau, p=p, note=f"Kendall's tau; p {note}")


def _dominated_deviates(yi: np.ndarray, weights: np.ndarray, dominant: int) -> np.ndarray:
    """Begg & Mazumdar's deviates (y_i - theta) / sqrt(v_i - 1/S) where the weight ``dominant`` holds all but less
    than 2^-26 of their sum S (:func:`~alliance_meta.engines.heterogeneity.dominant_weight`: vi = 1e-300 or 1e-20
    beside 0.1), without cancellation: v_i - 1/S = P_ii / w_i^2 (P_ii of
    :func:`~alliance_meta.engines.heterogeneity._dominated_diagonal`, the dominant study's from the others' sum), so
    the deviate is r_i w_i / sqrt(P_ii), r = y - theta of effects centred on the dominant study's
    (``weighted_residuals``). As metafor computes them, theta's rounding error over sqrt(v_i - 1/S), itself
    rounding noise (0, negative or 1e-300 - 1/S), makes that study's deviate any number or NaN, and Kendall's tau."""
    diagonal = _dominated_diagonal(weights[None, :], np.array([dominant]))[0]
    return weighted_residuals(yi, weights[None, :], True)[0] * weights / np.sqrt(diagonal)
