"""The rank functions of the bias tests return exactly what scipy.stats returns.

``kendall_tau_b`` (rank correlation test) and ``ordinal_ranks`` (trim and fill) replace
``scipy.stats.kendalltau`` and ``scipy.stats.rankdata(method="ordinal")`` so that the bias
jobs need not import scipy.stats; compared bit for bit on random data with and without ties,
signed zeros, infinities, nan, all-tied and tiny samples.
"""

from __future__ import annotations

import math
import tracemalloc
import warnings

import numpy as np
import pytest
from scipy import stats

from alliance_meta.analyses.bias.rank import PAIRWISE_MAX_N, kendall_tau_b
from alliance_meta.analyses.bias.trim_and_fill import ordinal_ranks


def samples():
    rng = np.random.default_rng(20261130)
    for trial in range(600):
        n = int(rng.integers(1, 80))
        x, y = rng.standard_normal(n), rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8)
        if trial % 4 == 1:  # ties
            x, y = np.round(x, 1), np.round(y / y.std(), 0) if n > 1 else y
        elif trial % 4 == 2:  # heavy ties and signed zeros
            x = rng.integers(0, 3, n).astype(float)
            y = np.where(rng.random(n) < 0.5, -0.0, 0.0) + rng.integers(0, 2, n)
        elif trial % 4 == 3 and n > 3:
            x[0], y[1], x[2], y[3] = np.inf, -np.inf, -0.0, 0.0
        yield x, y
    yield np.ones(5), np.arange(5.0)  # all tied: nan
    yield np.array([1.0, np.nan, 2.0]), np.array([3.0, 1.0, 2.0])
    yield np.array([1.0, 2.0]), np.array([2.0, 1.0])
    yield np.empty(0), np.empty(0)


def same_bits(a, b) -> bool:
    return (math.isnan(a) and math.isnan(b)) or np.float64(a).view(np.uint64) == np.float64(b).view(np.uint64)


def test_kendall_tau_b_as_scipy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on empty input
        for x, y in samples():
            ours, theirs = kendall_tau_b(x, y), stats.kendalltau(x, y).statistic
            assert type(ours) is float and same_bits(ours, float(theirs)), (x, y, ours, theirs)


def test_ordinal_ranks_as_scipy():
    for x, _ in samples():
        ours, theirs = ordinal_ranks(np.abs(x)), stats.rankdata(np.abs(x), method="ordinal")
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs, equal_nan=True), (x, ours, theirs)


def test_kendall_tau_b_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="same length"):
        kendall_tau_b([1.0, 2.0], [1.0])


def test_kendall_tau_b_at_the_pairwise_limit():
    """The largest n counted pair by pair still gives scipy's value."""
    rng = np.random.default_rng(PAIRWISE_MAX_N)
    x, y = np.round(rng.standard_normal(PAIRWISE_MAX_N), 1), rng.standard_normal(PAIRWISE_MAX_N)
    assert same_bits(kendall_tau_b(x, y), float(stats.kendalltau(x, y).statistic))


def test_kendall_tau_b_above_the_limit_builds_no_pairwise_arrays():
    """Above PAIRWISE_MAX_N the O(n log n) count is used: no n^2 arrays (tens of MB at n = 2,001)."""
    rng = np.random.default_rng(1)
    n = PAIRWISE_MAX_N + 1
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    stats.kendalltau(x[:3], y[:3])  # scipy's own one-off allocations before measuring
    tracemalloc.start()
    try:
        kendall_tau_b(x, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5e6, f"peak {peak / 1e6:.1f} MB"


def test_identical_effects_have_no_ranks_to_correlate():
    # every study the same r (z = atanh(.3)) with different n: yi - theta is theta's rounding error, of one sign
    # in every study, so the deviates ranked the studies by vi alone (Kendall's tau = -1, p = .002, read in the
    # Results as a small-study effect); the test is not estimable, as for identical standardized effects
    from alliance_meta.analyses.bias import rank_test

    n = np.array([47, 222, 95, 228, 58, 170, 47])
    yi, vi = np.full(n.size, np.arctanh(0.3)), 1 / (n - 3)
    with pytest.raises(ValueError, match="no ranks to correlate"):
        rank_test(yi, vi)
