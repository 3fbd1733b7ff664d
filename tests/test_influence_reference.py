"""Leave-one-out, influence diagnostics, Baujat coordinates and cumulative fits against
metafor 3.8-1 (tests/reference/bias.R -> bias.json), to 1e-6 relative.

The reference fits use control = list(threshold = 1e-13): both sides report the
converged tau^2, so REML/ML deletion fits agree to far below 1e-6.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alliance_meta.analyses.sensitivity import univariate as influence
REFERENCE = json.loads((Path(__file__).parent / "reference" / "bias.json").read_text())
DATASETS = REFERENCE["datasets"]
CASES = [(name, method) for name in DATASETS for method in DATASETS[name]["methods"]]


def data(name):
    return np.array(DATASETS[name]["yi"], float), np.array(DATASETS[name]["vi"], float)


def close(actual, expected, rtol=1e-6, atol=1e-12):
    expected = np.array([np.nan if value is None else value for value in np.atleast_1d(expected)], float)
    np.testing.assert_allclose(np.asarray(actual, float), expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name,method", CASES)
def test_leave_one_out_matches_leave1out(name, method):
    expected = DATASETS[name]["methods"][method]["leave1out"]
    result = influence.leave_one_out(*data(name), method=method)
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("statistic", "zval"), ("p", "pval"),
                         ("ci_lower", "ci.lb"), ("ci_upper", "ci.ub"), ("q", "Q"), ("q_p", "Qp"),
                         ("tau2", "tau2"), ("i2", "I2"), ("h2", "H2")]:
        close(getattr(result, ours), expected[theirs], atol=1e-300 if ours in ("p", "q_p") else 1e-12)


@pytest.mark.parametrize("name,method", CASES)
def test_blocks_of_deletions_give_the_same_fits(name, method):
    yi, vi = data(name)
    whole = influence.leave_one_out(yi, vi, method=method)
    one_by_one = influence.leave_one_out(yi, vi, method=method, block_size=1)
    np.testing.assert_allclose(one_by_one.tau2, whole.tau2, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name,method", CASES)
def test_influence_matches_metafor(name, method):
    expected = DATASETS[name]["methods"][method]["influence"]
    result = influence.influence(*data(name), method=method)
    for ours, theirs in [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_distance", "cook.d"),
                         ("covariance_ratio", "cov.r"), ("tau2_deleted", "tau2.del"), ("q_deleted", "QE.del"),
                         ("hat", "hat"), ("weight", "weight"), ("dfbetas", "dfbetas")]:
        close(getattr(result, ours), expected[theirs])
    assert result.influential.tolist() == expected["is_influential"]
    baujat = DATASETS[name]["methods"][method]["baujat"]
    close(result.baujat_x, baujat["x"])
    close(result.baujat_y, baujat["y"])


@pytest.mark.parametrize("name,method", [case for case in CASES if "cumulative" in DATASETS[case[0]]["methods"][case[1]]])
def test_cumulative_matches_cumul(name, method):
    expected = DATASETS[name]["methods"][method]["cumulative"]
    result = influence.cumulative(*data(name), order=DATASETS[name]["year"], method=method)
    assert (result.position + 1).tolist() == expected["order"]
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_lower", "ci.lb"), ("ci_upper", "ci.ub"),
                         ("q", "Q"), ("tau2", "tau2"), ("i2", "I2"), ("h2", "H2")]:
        close(result[ours], expected[theirs], atol=1e-10 if ours in ("tau2", "i2") else 1e-12)


def test_hat_values_sum_to_one_and_no_quadratic_memory():
    rng = np.random.default_rng(1)
    vi = rng.uniform(0.005, 0.05, 3000)
    yi = rng.normal(0.25, np.sqrt(vi + 0.01))
    result = influence.influence(yi, vi, method="REML")
    assert abs(result.hat.sum() - 1) < 1e-12
    assert influence.MAX_BLOCK_ELEMENTS // yi.size * yi.size <= influence.MAX_BLOCK_ELEMENTS
