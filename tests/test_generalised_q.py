"""alliance_meta.engines.generalised_q against independent computations.

The distribution function of ``sum lambda_j chi^2_1`` (Imhof's integral on a rotated
ray) against: a scaled chi^2_n for equal weights; a numerical convolution for two
weights; Imhof's original real-axis integral at 20 digits (mpmath). The secular-
equation eigenvalues against a dense symmetric eigendecomposition.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from alliance_meta.engines.generalised_q import genq_eigenvalues, genq_interval, secular_eigenvalues, survival
from alliance_meta.engines.heterogeneity import Control, estimate_tau2

TOLERANCE = 1e-13


@pytest.mark.parametrize("n", [1, 2, 3, 5, 15, 100, 400])
@pytest.mark.parametrize("scale", [0.003, 1.0, 250.0])
def test_equal_weights_are_a_scaled_chi_square(n, scale):
    for x in (0.05, 1.0, n / 3, n, 2 * n, 3 * n, 10 * n):
        assert survival(scale * x, [scale] * n) == pytest.approx(stats.chi2.sf(x, n), abs=TOLERANCE)


def convolution(q: float, first: float, second: float) -> float:
    """``P[first X + second Y > q]``, X, Y ~ chi^2_1, by quadrature over X = s^2."""
    edge = math.sqrt(q / first)

    def density_times_tail(s: float) -> float:  # chi^2_1 density in s = sqrt(x): sqrt(2/pi) exp(-s^2/2)
        return math.sqrt(2 / math.pi) * math.exp(-s * s / 2) * stats.chi2.sf((q - first * s * s) / second, 1)

    # The tail term rises from ~0 to 1/2 within a few `second` of q - first s^2 = 0: split there.
    knee = math.sqrt(max(0.0, q - 60.0 * second) / first)
    inside = sum(integrate.quad(density_times_tail, a, b, epsabs=1e-15, epsrel=1e-13, limit=200)[0]
                 for a, b in ((0.0, knee), (knee, edge)) if b > a)
    return inside + stats.chi2.sf(q / first, 1)


@pytest.mark.parametrize(("first", "second"), [(1.0, 0.5), (2.0, 0.01), (0.3, 0.29), (5.0, 1e-4)])
def test_two_weights_match_a_numerical_convolution(first, second):
    total = first + second
    for q in (0.01 * total, 0.5 * total, total, 3 * total, 8 * total):
        assert survival(q, [first, second]) == pytest.approx(convolution(q, first, second), abs=1e-12)


def test_random_weights_match_imhof_on_the_real_axis_at_high_precision():
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(20240601)
    lambdas = rng.uniform(0.05, 3.0, 6)
    with mpmath.workdps(20):
        weights = [mpmath.mpf(float(v)) for v in lambdas]
        for q in (float(lambdas.sum()), 2.5 * float(lambdas.sum())):
            big_q = mpmath.mpf(q)

            def integrand(u):
                theta = sum(mpmath.atan(w * u) for w in weights) / 2 - big_q * u / 2
                rho = mpmath.exp(sum(mpmath.log1p((w * u) ** 2) for w in weights) / 4)
                return mpmath.sin(theta) / (u * rho)

            expected = 0.5 + mpmath.quadosc(integrand, [0, mpmath.inf], omega=big_q / 2) / mpmath.pi
            assert survival(q, lambdas) == pytest.approx(float(expected), abs=TOLERANCE)


def test_survival_edges():
    assert survival(0.0, [1.0, 2.0]) == 1.0
    assert survival(-1.0, [1.0]) == 1.0
    with pytest.raises(ValueError):
        survival(1.0, [1.0, 0.0])


def dense_eigenvalues(weights, vi, tau2):
    a = np.asarray(weights)
    s = np.diag(np.sqrt(np.asarray(vi) + tau2))
    p = np.diag(a) - np.outer(a, a) / a.sum()
    return np.linalg.eigvalsh(s @ p @ s)[::-1][: a.size - 1]


@pytest.mark.parametrize("k", [2, 3, 10, 160])
@pytest.mark.parametrize("tau2", [0.0, 0.04, 3.0])
def test_secular_eigenvalues_match_a_dense_eigendecomposition(k, tau2):
    rng = np.random.default_rng(k)
    vi = rng.uniform(0.002, 0.2, k)
    weights = 1.0 / np.sqrt(vi)
    expected = dense_eigenvalues(weights, vi, tau2)
    assert genq_eigenvalues(weights, vi, tau2) == pytest.approx(expected, rel=1e-13, abs=1e-15 * expected[0])


def test_secular_eigenvalues_with_ties_and_near_ties():
    vi = np.array([0.01, 0.01, 0.01, 0.02, 0.05, 0.05, 0.05 * (1 + 1e-12), 0.3])
    weights = 1.0 / np.sqrt(vi)
    expected = dense_eigenvalues(weights, vi, 0.1)
    assert genq_eigenvalues(weights, vi, 0.1) == pytest.approx(expected, rel=1e-12)
    assert secular_eigenvalues(np.array([2.0, 2.0]), np.array([1.0, 1.0])).tolist() == [2.0]


def test_interval_bounds_solve_the_tail_equations():
    rng = np.random.default_rng(7)
    vi = rng.uniform(0.005, 0.05, 12)
    yi = rng.normal(0.3, 0.3, 12)
    weights = 1.0 / np.sqrt(vi)
    tau2 = estimate_tau2(yi, vi, "GENQ", weights).tau2
    lower, upper, note = genq_interval(yi, vi, weights, tau2, 95, Control(tolerance=1e-12))
    assert note == "" and 0 < lower < tau2 < upper
    q = float(np.sum(weights * (yi - np.sum(weights * yi) / weights.sum()) ** 2))
    assert survival(q, genq_eigenvalues(weights, vi, lower)) == pytest.approx(0.025, abs=1e-9)
    assert survival(q, genq_eigenvalues(weights, vi, upper)) == pytest.approx(0.975, abs=1e-9)


def test_homogeneous_data_give_the_null_interval():
    vi = np.array([0.01, 0.02, 0.015, 0.03])
    yi = np.array([0.3, 0.3, 0.3, 0.3])
    lower, upper, note = genq_interval(yi, vi, 1.0 / np.sqrt(vi), 0.0)
    assert (lower, upper) == (0.0, 0.0) and "null set" in note


def test_interval_beside_a_dominant_weight_is_its_limit():
    """A variance of 1e-300 beside 0.05 to 0.3 gives the interval of 1e-14 (weights 1/sqrt(vi)
    within 2^26 of each other: the secular equation, within 1e-8 of the limit): there the secular equation's pole
    a (vi + tau^2) of the dominant weight cancelled (before: [0, 9.3e-05], not containing tau^2 = 0.246)."""
    import alliance_meta as am

    yi = [0.1, 0.9, -0.5, 0.6, 1.2, 0.3]
    limit, tiny = (am.fit(yi, [smallest, 0.1, 0.2, 0.15, 0.05, 0.3], method="GENQ").result
                   for smallest in (1e-14, 1e-300))
    assert limit.tau2_ci_lower < limit.tau2 < limit.tau2_ci_upper
    for bound in ("tau2", "tau2_ci_lower", "tau2_ci_upper"):
        assert getattr(tiny, bound) == pytest.approx(getattr(limit, bound), rel=1e-6), bound


@pytest.mark.parametrize("tau2", [0.0, 0.04, 3.0])
def test_contrast_eigenvalues_match_a_dense_eigendecomposition(tau2):
    """The contrasts to the heaviest study (used where a weight dominates) give the same eigenvalues as S P S where
    no weight dominates (the dense eigendecomposition then accurate), ties included."""
    from alliance_meta.engines.generalised_q import _contrast_eigenvalues

    vi = np.array([0.01, 0.01, 0.02, 0.05, 0.05, 0.3, 0.12])
    weights = 1.0 / np.sqrt(vi)
    expected = dense_eigenvalues(weights, vi, tau2)
    assert _contrast_eigenvalues(weights, vi, tau2) == pytest.approx(expected, rel=1e-12)
