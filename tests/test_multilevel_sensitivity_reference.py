"""Leave-one-study-out, Cook's distance, DFBETAS and cumulative three-level fits agree with
metafor (tests/reference/multilevel_sensitivity.R -> multilevel_sensitivity.json: rma.mv
refitted with subset = study != s and on the first j studies by year; cooks.distance and
dfbetas of rma.mv with cluster = study), on dat.konstantopoulos2011 and dat.assink2016,
REML and ML, rho = 0 and the CHE model with rho = 0.6; and on two studies of each (``*_k2``), where
every deletion leaves one study (sigma2_between fixed to 0, or not fitted with one effect size:
metafor's "k <= 1", NA in cooks.distance and dfbetas).

Tolerance: 1e-6 relative. metafor's figures are taken at its optimum polished to the root of the
gradient of its own log-likelihood (multilevel_sensitivity.R says how and why: optim's BFGS
differentiates with step ndeps = 1e-3 and stops about 1e-7 short in sigma2, at the same
log-likelihood to 1e-13; the estimates are then up to 6e-8 apart, which Cook's distance and CI bounds
near 0 magnify to up to 2.8e-6). Stated exceptions, each with its reason:
* metafor's own cooks.distance and dfbetas, unpolished (cook_metafor, dfbetas_metafor), are
  compared at 1e-5: Cook's D squares the difference of two estimates 3e-4 apart (assink_reml,
  study 2: D = 6.4e-6, 2.8e-6 apart; at the polished fits 4e-10);
* the boundary exception of test_multilevel_reference.py: a sigma^2 that metafor leaves below
  1e-8 (it optimises log sigma^2, so it only approaches 0) is exactly 0 here and compared with an
  absolute 1e-8, as are tau^2 and I^2 (1e-6 percent) then (the polished reference sets such a
  sigma^2 to 0 where its log-likelihood is no lower).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close as close, load_reference

from alliance_meta.analyses.sensitivity import multilevel as mls
from alliance_meta.models.multilevel import ONE_EFFECT_SIZE_NOTE
REFERENCE = load_reference("multilevel_sensitivity")
CASES = {case["name"]: case for case in REFERENCE["cases"]}
RTOL = 1e-6
RTOL_UNPOLISHED = 1e-5  # metafor's own cooks.distance / dfbetas (see the docstring)
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


def _compare(table: pd.DataFrame, reference: list[dict], data: dict | None = None):
    """``data`` (a cumulative table's case): metafor's loop stops at a first step of one effect size ("k <= 1"),
    which is fitted as am.fit fits one effect size: the effect size with its sampling variance."""
    assert list(table["study_id"]) == [str(row["study"]) for row in reference]
    np.testing.assert_array_equal(table["k"], [row["k"] for row in reference])
    fitted = np.array([row["fitted"] for row in reference])
    if data is not None and not fitted[0]:
        study = np.asarray(data["study"]).astype(str) == table["study_id"].iloc[0]
        np.testing.assert_allclose(table[["estimate", "se"]].iloc[0],
                                   [np.asarray(data["yi"])[study][0], np.sqrt(np.asarray(data["vi"])[study][0])],
                                   rtol=1e-12)
        assert table["converged"].iloc[0] and table["note"].iloc[0] == ONE_EFFECT_SIZE_NOTE
        table, reference, fitted = table.iloc[1:], reference[1:], fitted[1:]
    assert (table["converged"].to_numpy(bool) == fitted).all()
    missing = table[~fitted]  # metafor: "Processing terminated since k <= 1."
    assert missing["estimate"].isna().all() and (missing["note"] == mls.NOT_FITTED).all()
    table, expected = table[fitted], pd.DataFrame([row for row in reference if row["fitted"]])
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
    single = table["n_studies"].to_numpy() == 1  # metafor fixes a single-level factor's sigma2 to 0
    assert (table.loc[single, "sigma2_between"] == 0).all()
    assert (table.loc[single, "note"] == "sigma2_between fixed to 0 (one study)").all()


@pytest.mark.parametrize("name", CASES)
def test_leave_one_study_out(results, name):
    _compare(results[name][0].deletions, CASES[name]["leave_one_out"])


@pytest.mark.parametrize("name", CASES)
def test_cooks_distance_and_dfbetas_by_study(results, name):
    case, result = CASES[name], results[name][0]
    np.testing.assert_allclose(result.full.beta[0], case["full"]["estimate"], rtol=RTOL)
    close(result.cook_distance, case["cook"], rtol=RTOL)  # NA (study not fitted) must be NaN here
    close(result.dfbetas, case["dfbetas"], rtol=RTOL)
    close(result.cook_distance, case["cook_metafor"], rtol=RTOL_UNPOLISHED)
    close(result.dfbetas, case["dfbetas_metafor"], rtol=RTOL_UNPOLISHED)


@pytest.mark.parametrize("name", CASES)
def test_the_reference_polished_metafors_own_optimum_by_little(name):
    """The polished sigma^2 are metafor's free estimates to 1e-6 (away from the boundary): the polish
    moves along the flat top of metafor's own likelihood, not to another optimum."""
    case = CASES[name]
    rows = [case["full"]] + [row for row in case["leave_one_out"] + case["cumulative"] if row.get("fitted", True)]
    polished, free = (np.array([row[key] for row in rows], float) for key in ("sigma2", "sigma2_metafor"))
    inside = free >= BOUNDARY
    np.testing.assert_allclose(polished[inside], free[inside], rtol=1e-6)
    assert np.all(polished[~inside] <= BOUNDARY)


def test_reference_has_two_study_cases():
    two = [name for name in CASES if name.endswith("_k2") or "_k2_" in name]
    assert len(two) == 4 and all(len(set(CASES[name]["data"]["study"])) == 2 for name in two)
    assert any(not row["fitted"] for name in two for row in CASES[name]["leave_one_out"])


@pytest.mark.parametrize("name", CASES)
def test_cumulative_by_study_and_year(results, name):
    _compare(results[name][1], CASES[name]["cumulative"], CASES[name]["data"])


def test_deleting_a_study_removes_all_its_rows_and_a_first_step_of_one_row_is_its_own_fit():
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
    # a first study with a single effect size: that step is the effect size with its sampling variance (both
    # sigma2 fixed to 0, as am.fit of one effect size; rma.mv stops at k <= 1 and metafor has no cumul for it)
    single = pd.DataFrame({"study_id": ["a", "b", "b", "c", "c"], "yi": [0.1, 0.3, 0.2, 0.5, 0.4],
                           "vi": [0.01, 0.02, 0.02, 0.03, 0.01], "year": [1990, 1995, 1995, 2000, 2000]})
    table = mls.sensitivity_tables(single)[2]
    np.testing.assert_allclose(table[["estimate", "se", "sigma2_between", "sigma2_within", "q"]].iloc[0],
                               [0.1, 0.1, 0, 0, 0], rtol=1e-12, atol=0)
    assert table["converged"].iloc[0] and table["note"].iloc[0] == ONE_EFFECT_SIZE_NOTE
    assert table["n_studies"].iloc[1] == 2 and table["note"].iloc[1] == ""  # two studies: nothing fixed
    # a first study with two effect sizes: fitted with sigma2_between fixed to 0, and only that step
    # says so (metafor's rma.mv(..., sigma2 = c(0, NA)) on study b: 0.25, se 0.1 = sqrt(0.02 / 2))
    first = mls.sensitivity_tables(single.assign(year=[2005, 1995, 1995, 2000, 2000]))[2]
    assert first["study_id"].tolist() == ["b", "c", "a"] and first["n_studies"].iloc[0] == 1
    assert first["note"].tolist() == ["sigma2_between fixed to 0 (one study)", "", ""]
    assert first["sigma2_between"].iloc[0] == 0 and first["converged"].all()
    np.testing.assert_allclose(first[["estimate", "se"]].iloc[0], [0.25, 0.1], rtol=1e-10)
    # two studies: a row per study; deleting c leaves b alone (sigma2_between fixed to 0)
    loo, influence, cumulative, result = mls.sensitivity_tables(single[single.study_id != "a"])
    two_studies = loo.columns, influence.columns
    assert loo["study_id"].tolist() == ["b", "c"] and len(influence) == len(cumulative) == 2
    assert loo["note"].tolist() == ["sigma2_between fixed to 0 (one study)"] * 2 and result is not None
    # one study: leave-one-out and influence have their headers only, the same as with two studies
    # (nothing left to fit), the cumulative table its one step
    loo, influence, cumulative, result = mls.sensitivity_tables(single[single.study_id == "b"])
    assert (list(loo.columns), list(influence.columns)) == (list(two_studies[0]), list(two_studies[1]))
    assert loo.empty and influence.empty
    assert result is None and len(cumulative) == 1 and cumulative["converged"].all()
    np.testing.assert_allclose(cumulative[["estimate", "se"]].iloc[0], [0.25, 0.1], rtol=1e-10)


@pytest.mark.parametrize("name", ["assink_k2_reml", "assink_k2_che_reml"])
def test_two_studies_through_the_notebook_api(name):
    """am.leave_one_out / am.influence / am.cumulative of a two-study three-level fit: metafor's rows."""
    import alliance_meta as am

    case = CASES[name]
    data = case["data"]
    frame = pd.DataFrame({"study_id": [str(s) for s in data["study"]], "yi": data["yi"], "vi": data["vi"],
                          "year": data["year"]})
    fit = am.fit(frame, dependence="multilevel", rho=case["rho"], method=case["method"], metric="smd")
    loo, influence, cumulative = am.leave_one_out(fit), am.influence(fit), am.cumulative(fit)
    assert any(note.startswith("2 studies: each leave-one-out fit is the other study alone") for note in loo.notes)
    _compare(loo.to_frame(), case["leave_one_out"])
    _compare(cumulative.to_frame(), case["cumulative"], data)
    close(influence.to_frame()["cook_d"], case["cook"], rtol=RTOL)
    close(influence.to_frame()["dfbetas"], case["dfbetas"], rtol=RTOL)


@pytest.mark.parametrize("test", ["z", "t", "cr2"])
def test_cumulative_first_step_of_one_effect_size_is_am_fit_of_that_study(test):
    """The first step of a three-level cumulative table whose first study has one effect size is that study fitted
    as am.fit fits it (not a row of NaN), as the univariate cumulative table's first step."""
    import alliance_meta as am

    frame = pd.DataFrame({"study_id": ["C", "A", "A", "A", "B", "B"], "yi": [0.1, 0.2, 0.3, 0.25, 0.5, 0.4],
                          "vi": [0.01, 0.01, 0.02, 0.015, 0.02, 0.03], "year": [1990, 1995, 1995, 1995, 2000, 2000]})
    first = am.cumulative(am.fit(frame, dependence="multilevel", test=test)).to_frame().iloc[0]
    alone = am.fit(frame[frame.study_id == "C"], dependence="multilevel", test=test).to_frame().iloc[0]
    assert first["study_id"] == "C" and first["k"] == 1
    columns = ["estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "q", "q_p", "statistic", "p",
               "sigma2_between", "sigma2_within", "converged"]
    pd.testing.assert_series_equal(first[columns], alone[columns], check_names=False, check_dtype=False)
    assert np.isfinite(first["estimate"]) and alone["note"].endswith(first["note"])


def test_a_deletion_leaving_one_effect_size_is_logged_as_not_fitted_not_as_a_failure():
    """Two studies, one with a single effect size: deleting the other leaves nothing a three-level
    model can fit (metafor stops too); the log says 'not fitted', not 'did not converge'."""
    import pandas as pd

    import alliance_meta as am

    frame = pd.DataFrame({"study_id": ["A", "B", "B", "B"], "yi": [0.3, 0.1, 0.25, 0.4],
                          "vi": [0.02, 0.03, 0.025, 0.04], "metric": "z"})
    messages = am.sensitivity(am.fit(frame, dependence="multilevel")).deletion_messages()
    assert messages == [("info", "leave-one-out without B: not fitted (one effect size: the three-level "
                                 "model cannot be fitted (k <= 1))")]


def test_cooks_distance_when_sigma2_within_is_at_zero_takes_the_deletion_maximum():
    """multilevel_influence_start.R: a three-level walkthrough (12 studies, S01 with 15 of the 30 effect sizes,
    sigma2_within at 0). metafor's cooks.distance / dfbetas of rma.mv start each deletion at the full model's
    sigma2 and stop, without S01, at sigma2 = (0.0062, 0), log-likelihood 8.5795 (Cook's D 0.0497, DFBETAS 0.220);
    the maximum, which rma.mv finds from its default start, is (0, 0.0053), 8.7761 (D 0.00667, DFBETAS -0.0884).
    Ours are metafor's formulas on the maximum: leave_one_out.csv and influence.csv describe the same fits."""
    reference = load_reference("multilevel_influence_start")
    data = reference["data"]
    result = mls.leave_one_study_out(data["yi"], data["vi"], data["study"], method="REML", rho=reference["rho"])
    expected = pd.DataFrame(reference["deletions"])
    np.testing.assert_allclose(result.deletions["estimate"], expected["estimate"], rtol=RTOL)
    np.testing.assert_allclose(result.cook_distance, expected["cook"], rtol=RTOL)
    np.testing.assert_allclose(result.dfbetas, expected["dfbetas"], rtol=RTOL)
    # metafor's own figures differ at S01 only, whose deletion fit is below the maximum
    differs = ~np.isclose(reference["metafor_cook"], expected["cook"], rtol=RTOL)
    assert list(expected.loc[differs, "study"]) == ["S01"]
    assert reference["stuck_S01"]["loglik"] < expected.loc[0, "loglik"] - 0.1
