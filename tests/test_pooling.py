"""Unit tests of alliance_meta.models.univariate / heterogeneity: hand-checked values and failure modes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alliance_meta.engines.heterogeneity import Control, estimate_tau2, zeroin
from alliance_meta.models.univariate import CONTRACT_COLUMNS, EXTRA_COLUMNS, fit, pool_all


def test_hand_checked_two_studies():
    # yi = (0, 2), vi = (1, 1): Q = 2, tr(P) = 1, DL tau^2 = (2 - 1) / 1 = 1;
    # weights 1/2 each: estimate 1, se = sqrt(1 / (1/2 + 1/2)) = 1.
    result = fit([0.0, 2.0], [1.0, 1.0], "DL", "z")
    assert result.q == pytest.approx(2.0)
    assert result.tau2 == pytest.approx(1.0)
    assert result.estimate == pytest.approx(1.0)
    assert result.se == pytest.approx(1.0)
    assert result.ci_lower == pytest.approx(1.0 - 1.959963984540054)
    # PI: 1 +- 1.96 sqrt(se^2 + tau^2) = 1 +- 1.96 sqrt(2)
    assert result.pi_upper == pytest.approx(1.0 + 1.959963984540054 * math.sqrt(2.0))
    # typical variance (k-1)/tr(P) = 1: I^2 = 100 * 1 / 2 = 50, H^2 = 2
    assert result.i2 == pytest.approx(50.0)
    assert result.h2 == pytest.approx(2.0)


def test_common_effect_is_the_inverse_variance_mean():
    result = fit([0.1, 0.3, 0.5], [0.01, 0.02, 0.04], "common", "z")
    weights = np.array([100.0, 50.0, 25.0])
    assert result.estimate == pytest.approx(weights @ [0.1, 0.3, 0.5] / weights.sum())
    assert result.se == pytest.approx(1 / math.sqrt(weights.sum()))
    assert result.tau2 == 0.0
    assert math.isnan(result.tau2_ci_lower) and math.isnan(result.tau2_ci_upper)


def test_fisher_scoring_non_convergence_is_flagged_not_replaced():
    rng = np.random.default_rng(1)
    yi = rng.normal(0.3, 0.3, 30)
    vi = rng.uniform(0.01, 0.05, 30)
    control = Control(max_iterations=1, threshold=1e-12)
    estimate = estimate_tau2(yi, vi, "REML", control=control)
    assert not estimate.converged
    assert math.isnan(estimate.tau2)
    assert "did not converge" in estimate.message
    result = fit(yi, vi, "REML", "z", control=control)
    assert not result.converged and math.isnan(result.estimate) and math.isnan(result.tau2)
    assert "did not converge" in result.note
    assert result.q > 0  # Q does not depend on tau^2 and is still reported


def test_an_infinite_scoring_step_fails_the_fit_instead_of_halving_for_ever(monkeypatch):
    """tr(PP) cancelled to 0 beside a negative numerator gives a step of -inf, which halving never brings above 0:
    the meta-regression's REML scoring (engines.tau2_mods.fisher_scoring) fails the fit (NaN, not converged)."""
    import signal

    from alliance_meta.engines import tau2_mods

    rng = np.random.default_rng(1)
    yi = rng.normal(0.3, 0.3, 8)
    vi = rng.uniform(0.02, 0.1, 8)
    X = np.column_stack([np.ones(8), np.sqrt(vi)])
    monkeypatch.setattr(tau2_mods, "_without_cancellation", lambda X, w, trace_pp: np.zeros_like(trace_pp))

    def stuck(signum, frame):
        raise TimeoutError("fisher_scoring kept halving an infinite step")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(20)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            tau2, _, converged = tau2_mods.fisher_scoring(X, yi[None, :], vi[None, :], "REML", start=[0.5])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert not converged[0] and math.isnan(tau2[0])


def test_paule_mandel_bracket_too_small_is_flagged():
    yi = np.array([-1.0, 0.0, 1.0, 2.0])
    vi = np.full(4, 0.01)
    estimate = estimate_tau2(yi, vi, "PM", control=Control(tau2_max=0.01))
    assert not estimate.converged and math.isnan(estimate.tau2)
    assert "tau2_max" in estimate.message


def test_k_equals_one():
    result = fit([0.3], [0.02], "REML", "knha")
    assert result.k == 1 and result.tau2 == 0.0
    assert result.estimate == pytest.approx(0.3)
    assert result.se == pytest.approx(math.sqrt(0.02))
    assert "k = 1" in result.note
    assert math.isnan(result.tau2_ci_lower)
    frame = pool_all([0.3], [0.02], ["common", "REML"], ["z", "knha"], metric="z")
    assert len(frame) == 4


@pytest.mark.parametrize(
    ("yi", "vi", "message"),
    [
        ([0.1, 0.2], [0.01], "differ in length"),
        ([], [], "k = 0"),
        ([0.1, np.nan], [0.01, 0.02], "missing or infinite"),
        ([0.1, 0.2], [0.01, 0.0], "positive"),
        ([0.1, 0.2], [0.01, -0.5], "positive"),
        ([0.1, 0.2], [0.01, np.inf], "positive"),
    ],
)
def test_invalid_input_raises(yi, vi, message):
    with pytest.raises(ValueError, match=message):
        fit(yi, vi)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "XX"}, "unknown method"),
    ({"test": "t"}, "unknown test"),
    ({"level": 0.95 * 0}, "level"),
    ({"level": 100}, "level"),
])
def test_invalid_options_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit([0.1, 0.2, 0.4], [0.01, 0.02, 0.03], **kwargs)


def test_pool_all_layout_and_back_transform():
    yi = np.arctanh([0.2, 0.35, 0.1, 0.3, 0.25])
    vi = 1 / (np.array([50, 80, 40, 120, 60]) - 3)
    frame = pool_all(yi, vi, ["common", "DL", "REML"], ["z", "knha"], metric="z")
    assert list(frame.columns[: len(CONTRACT_COLUMNS) + len(EXTRA_COLUMNS)]) == \
        list(CONTRACT_COLUMNS + EXTRA_COLUMNS)
    assert list(frame.columns[-5:]) == ["r", "r_ci_lower", "r_ci_upper", "r_pi_lower", "r_pi_upper"]
    assert list(zip(frame["method"], frame["test"])) == [
        (m, t) for m in ["common", "DL", "REML"] for t in ["z", "knha"]]
    common = frame[frame["method"] == "common"]
    assert (common["tau2"] == 0).all() and common["tau2_ci_lower"].isna().all()
    assert np.allclose(frame["r"], np.tanh(frame["estimate"]))
    smd = pool_all(yi, vi, ["REML"], ["z"], metric="smd")
    assert {"r", "or", "or_ci_lower", "or_pi_upper"} <= set(smd.columns)


def test_adhoc_never_narrower_than_wald():
    yi = np.full(5, 0.3)  # all equal: Knapp-Hartung scale 0, ad hoc scale 1
    vi = np.array([0.01, 0.02, 0.03, 0.02, 0.01])
    plain = pool_all(yi, vi, ["REML"], ["z", "knha"])
    adhoc = pool_all(yi, vi, ["REML"], ["z", "knha"], adhoc=True)
    assert plain.loc[1, "se"] == 0.0
    assert adhoc.loc[1, "se"] == pytest.approx(adhoc.loc[0, "se"])


def test_empty_family_gives_header_only():
    frame = pool_all([], [], ["REML"], ["z"], metric="z")
    assert frame.empty and "estimate" in frame.columns and "r_pi_upper" in frame.columns


def test_zeroin_finds_square_root():
    root, iterations, converged = zeroin(lambda x: x * x - 2.0, 0.0, 2.0, -2.0, 2.0, 1e-12, 100)
    assert converged and iterations > 0
    assert root == pytest.approx(math.sqrt(2.0), abs=1e-11)


def test_large_k_runs_in_linear_memory():
    # A k x k matrix at k = 200,000 would need 320 GB; the fit must not build one.
    rng = np.random.default_rng(7)
    k = 200_000
    vi = rng.uniform(0.005, 0.05, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.02))
    result = fit(yi, vi, "REML", "knha")
    assert result.converged
    assert result.tau2 == pytest.approx(0.02, rel=0.05)
    assert result.tau2_ci_lower < result.tau2 < result.tau2_ci_upper


def test_knapp_hartung_on_identical_effect_sizes_says_its_ci_has_no_width():
    # as metafor's rma(test = "knha"): SE 0 and a CI of no width; the table now says why
    result = fit([0.3] * 5, [0.01, 0.02, 0.03, 0.04, 0.05], method="REML", test="knha")
    assert result.se == 0 and result.ci_lower == result.ci_upper == pytest.approx(0.3)
    assert "the SE is 0 and the CI has no width" in result.note
    assert "no width" not in fit([0.3] * 5, [0.01] * 5, test="adhoc").note
    assert "no width" not in fit([0.3, 0.2, 0.1], [0.01] * 3, test="knha").note
