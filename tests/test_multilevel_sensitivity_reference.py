"""Leave-one-study-out, Cook's distance, DFBETAS and cumulative three-level fits agree with
metafor (tests/reference/multilevel_sensitivity.R -> multilevel_sensitivity.json: rma.mv
refitted with subset = study != s and on the first j studies by year; cooks.distance and
dfbetas of rma.mv with cluster = study), on dat.konstantopoulos2011 and dat.assink2016,
REML and ML, rho = 0 and the CHE model with rho = 0.6.

Tolerance: 1e-5 relative, with the boundary exception of test_multilevel_reference.py: a
sigma^2 that metafor leaves below 1e-8 (it optimises log sigma^2, so it only approaches 0) is
exactly 0 here and compared with an absolute 1e-8, as are tau^2 and I^2 (1e-6 percent) then.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_reference

from alliance_meta.analyses.sensitivity import multilevel as mls
REFERENCE = load_reference("multilevel_sensitivity")
CASES = {case["name"]: case for case in REFERENCE["cases"]}
RTOL = 1e-5
BOUNDARY = 1e-8


@pytest.fixture(scope="module")
def results():
    out = {}
    for name, case in CASES.items():
        data = case["data"]
        common = dict(method=case["method"], rho=case["rho"])
        out[name] = (mls.leave_one_study_out(data["yi"], data["vi"], data["study"], **common),
                     mls.cumulative(data["yi"], data["vi"], data["study"], data["year"], **common))
    return out


def _compare(table: pd.DataFrame, reference: list[dict]):
    assert list(table["study_id"]) == [str(row["study"]) for row in reference]
    assert all(row["fitted"] for row in reference)
    expected = pd.DataFrame(reference)
    np.testing.assert_array_equal(table["k"], expected["k"])
    for column in ("estimate", "se", "ci_lower", "ci_upper", "p", "qe", "qe_p"):
        ours = table["q" if column == "qe" else "q_p" if column == "qe_p" else column]
        np.testing.assert_allclose(ours, expected[column], rtol=RTOL, err_msg=column)
    sigma2 = np.array(expected["sigma2"].tolist(), float)
    ours = table[["sigma2_between", "sigma2_within"]].to_numpy()
    boundary = sigma2 < BOUNDARY
    np.testing.assert_allclose(ours[~boundary], sigma2[~boundary], rtol=RTOL)
    np.testing.assert_array_equal(ours[boundary], 0.0)
    np.testing.assert_allclose(table["tau2"], expected["tau2"], rtol=RTOL, atol=BOUNDARY)
    np.testing.assert_allclose(table["i2"], expected["i2"], rtol=RTOL, atol=1e-6)
    assert table["converged"].all()


@pytest.mark.parametrize("name", CASES)
def test_leave_one_study_out(results, name):
    _compare(results[name][0].deletions, CASES[name]["leave_one_out"])


@pytest.mark.parametrize("name", CASES)
def test_cooks_distance_and_dfbetas_by_study(results, name):
    case, result = CASES[name], results[name][0]
    np.testing.assert_allclose(result.full.beta[0], case["full"]["estimate"], rtol=RTOL)
    np.testing.assert_allclose(result.cook_distance, case["cook"], rtol=RTOL)
    np.testing.assert_allclose(result.dfbetas, case["dfbetas"], rtol=RTOL)


@pytest.mark.parametrize("name", CASES)
def test_cumulative_by_study_and_year(results, name):
    _compare(results[name][1], CASES[name]["cumulative"])


def test_deleting_a_study_removes_all_its_rows_and_one_row_cannot_be_fitted():
    case = CASES["assink_reml"]["data"]
    frame = pd.DataFrame({"study_id": case["study"], "yi": case["yi"], "vi": case["vi"], "year": case["year"]})
    loo, influence, cumulative, result = mls.sensitivity_tables(frame, metric="smd")
    assert len(loo) == len(influence) == len(cumulative) == frame["study_id"].nunique()
    sizes = frame.groupby("study_id", sort=False).size().to_numpy()
    np.testing.assert_array_equal(loo["k"], len(frame) - sizes)
    np.testing.assert_array_equal(influence["k_effect_sizes"], sizes)
    assert cumulative["k"].iloc[-1] == len(frame) and cumulative["n_studies"].is_monotonic_increasing
    np.testing.assert_allclose(cumulative["estimate"].iloc[-1], result.full.beta[0], rtol=1e-10)
    assert {"r", "r_ci_lower", "r_ci_upper", "or"} <= set(loo.columns)
    # a first study with a single effect size: that step is NaN (metafor: k <= 1), not an error
    single = pd.DataFrame({"study_id": ["a", "b", "b", "c", "c"], "yi": [0.1, 0.3, 0.2, 0.5, 0.4],
                           "vi": [0.01, 0.02, 0.02, 0.03, 0.01], "year": [1990, 1995, 1995, 2000, 2000]})
    table = mls.sensitivity_tables(single)[2]
    assert np.isnan(table["estimate"].iloc[0]) and not table["converged"].iloc[0]
    assert table["note"].iloc[0] == mls.NOT_FITTED
    assert table["n_studies"].iloc[1] == 2 and table["note"].iloc[1] == ""  # two studies: nothing fixed
    # a first study with two effect sizes: fitted with sigma2_between fixed to 0, and only that step
    # says so (metafor's rma.mv(..., sigma2 = c(0, NA)) on study b: 0.25, se 0.1 = sqrt(0.02 / 2))
    first = mls.sensitivity_tables(single.assign(year=[2005, 1995, 1995, 2000, 2000]))[2]
    assert first["study_id"].tolist() == ["b", "c", "a"] and first["n_studies"].iloc[0] == 1
    assert first["note"].tolist() == ["sigma2_between fixed to 0 (one study)", "", ""]
    assert first["sigma2_between"].iloc[0] == 0 and first["converged"].all()
    np.testing.assert_allclose(first[["estimate", "se"]].iloc[0], [0.25, 0.1], rtol=1e-10)
    # fewer than 3 studies: contract headers only
    assert list(mls.sensitivity_tables(single[single.study_id != "a"])[0].columns) == list(mls.LEAVE_ONE_OUT_COLUMNS)
