"""Leave-one-out, influence diagnostics, Baujat coordinates and cumulative fits against
metafor 3.8-1, to 1e-6 relative: REML and DL with cumul() on five data sets
(tests/reference/bias.R -> bias.json), and every tau^2 estimator (EE, DL, HE, HS, HSk,
SJ, ML, REML, EB, PM, PMM, GENQ) with the z and the Knapp-Hartung test on three
(tests/reference/influence.R -> influence.json).

The reference fits use control = list(threshold = 1e-13): both sides report the
converged tau^2, so REML/ML deletion fits agree to far below 1e-6.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import assert_close as close, dataset_arrays, dataset_fit, fit_cases, load_reference

from alliance_meta.analyses.sensitivity import univariate as influence
from alliance_meta.engines.heterogeneity import METHODS
REFERENCE = load_reference("bias")
DATASETS = REFERENCE["datasets"]
CASES = [(name, method) for name in DATASETS for method in DATASETS[name]["methods"]]


def data(name):
    return np.array(DATASETS[name]["yi"], float), np.array(DATASETS[name]["vi"], float)


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
    assert result.position.tolist() == expected["order"]  # counted from 1, as cumul's order
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


# Every tau^2 estimator, z and Knapp-Hartung tests (tests/reference/influence.R -> influence.json)
EVERY = load_reference("influence")
METHOD_NAMES = {"EE": "common"}
EVERY_CASES = fit_cases(EVERY)
every_data = functools.partial(dataset_arrays, EVERY)
every_fit = functools.partial(dataset_fit, EVERY)


def test_reference_covers_every_estimator_and_both_tests():
    assert len(EVERY["datasets"]) >= 2
    for dataset in EVERY["datasets"].values():
        pairs = {(METHOD_NAMES.get(fit["method"], fit["method"]), fit["test"]) for fit in dataset["fits"]}
        assert pairs == {(method, test) for method in ("common", *METHODS) for test in ("z", "knha")}


@pytest.mark.parametrize("name,method,test", EVERY_CASES)
def test_leave_one_out_matches_leave1out_for_every_estimator(name, method, test):
    expected = every_fit(name, method, test)["leave1out"]
    result = influence.leave_one_out(*every_data(name), method=METHOD_NAMES.get(method, method), test=test)
    fields = [("estimate", "estimate"), ("se", "se"), ("statistic", "zval" if test == "z" else "tval"),
              ("p", "pval"), ("ci_lower", "ci.lb"), ("ci_upper", "ci.ub"), ("q", "Q"), ("q_p", "Qp"),
              ("i2", "I2"), ("h2", "H2")]
    if method == "EE":  # metafor's leave1out() of an EE model has no tau2 column
        assert "tau2" not in expected and np.all(result.tau2 == 0)
    else:
        fields.append(("tau2", "tau2"))
    for ours, theirs in fields:
        close(getattr(result, ours), expected[theirs], atol=1e-300 if ours in ("p", "q_p") else 1e-12,
              err_msg=ours)


@pytest.mark.parametrize("name,method,test", EVERY_CASES)
def test_influence_matches_metafor_for_every_estimator(name, method, test):
    reference = every_fit(name, method, test)
    expected = reference["influence"]
    result = influence.influence(*every_data(name), method=METHOD_NAMES.get(method, method), test=test)
    for ours, theirs in [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_distance", "cook.d"),
                         ("covariance_ratio", "cov.r"), ("tau2_deleted", "tau2.del"), ("q_deleted", "QE.del"),
                         ("hat", "hat"), ("weight", "weight"), ("dfbetas", "dfbetas"),
                         ("baujat_x", None), ("baujat_y", None)]:
        close(getattr(result, ours), expected[theirs] if theirs else reference["baujat"][ours[-1]], err_msg=ours)
    assert result.influential.tolist() == expected["is_influential"]


# Two studies and one (influence.R: molloy2014_k2, bcg_k2 and k1)
TWO_STUDY_CASES = [case for case in EVERY_CASES if len(EVERY["datasets"][case.values[0]]["yi"]) == 2]


def test_reference_has_two_study_cases_for_every_estimator():
    assert {case.values[0] for case in TWO_STUDY_CASES} == {"molloy2014_k2", "bcg_k2"}
    assert len(TWO_STUDY_CASES) == 2 * 2 * (1 + len(METHODS))
    assert any(fit["full"]["tau2"] > 0.1 for fit in EVERY["datasets"]["bcg_k2"]["fits"])  # heterogeneous pair


@pytest.mark.parametrize("name,method,test", TWO_STUDY_CASES)
def test_two_studies_cumulative_matches_cumul(name, method, test):
    """cumul() by year at k = 2: step 1 is a k = 1 fit (tau^2 = 0, Q = 0, z test even under knha)."""
    expected = every_fit(name, method, test)["cumulative"]
    result = influence.cumulative(*every_data(name), order=EVERY["datasets"][name]["year"],
                                  method=METHOD_NAMES.get(method, method), test=test)
    assert result.position.tolist() == expected["order"]  # counted from 1, as cumul's order
    statistic = result.estimate / result.se
    fields = [("estimate", "estimate"), ("se", "se"), ("p", "pvals"), ("ci_lower", "ci.lb"), ("ci_upper", "ci.ub"),
              ("q", "Q"), ("q_p", "Qp"), ("i2", "I2"), ("h2", "H2")]
    for ours, theirs in fields + ([("tau2", "tau2")] if method != "EE" else []):
        close(result[ours], expected[theirs], atol=1e-300 if ours in ("p", "q_p") else 1e-12, err_msg=ours)
    close(statistic, expected["zval" if test == "z" else "tval"])


@pytest.mark.parametrize("name,method,test", TWO_STUDY_CASES)
def test_two_studies_deletions_are_one_study_fits(name, method, test):
    """Each deletion fit is metafor's rma.uni at k = 1: the other study's own estimate and variance."""
    yi, vi = every_data(name)
    result = influence.leave_one_out(yi, vi, method=METHOD_NAMES.get(method, method), test=test)
    np.testing.assert_array_equal(result.estimate, yi[::-1])
    np.testing.assert_allclose(result.se, np.sqrt(vi[::-1]), rtol=1e-15)
    assert (result.tau2 == 0).all() and (result.q == 0).all() and (result.q_p == 1).all()
    assert (result.i2 == 0).all() and (result.h2 == 1).all() and (result.knha_scale == 1).all()


def test_two_studies_through_the_notebook_api():
    """am.leave_one_out / am.influence / am.cumulative on a two-study fit: metafor's rows (bcg_k2, REML, knha)."""
    import pandas as pd

    import alliance_meta as am

    yi, vi = every_data("bcg_k2")
    year = EVERY["datasets"]["bcg_k2"]["year"]
    reference = every_fit("bcg_k2", "REML", "knha")
    fit = am.fit(pd.DataFrame({"study_id": ["Vandiviere", "Stein"], "yi": yi, "vi": vi, "year": year}),
                 method="REML", test="knha", metric="log_or")
    loo, infl, cumulative = (am.leave_one_out(fit), am.influence(fit), am.cumulative(fit))
    assert len(loo.to_frame()) == len(infl.to_frame()) == len(cumulative.to_frame()) == 2
    assert any(note.startswith("2 studies: each leave-one-out fit is the other study alone") for note in loo.notes)
    close(loo.to_frame()["estimate"], reference["leave1out"]["estimate"])
    close(loo.to_frame()["ci_lower"], reference["leave1out"]["ci.lb"])
    close(loo.to_frame()["tau2"], reference["leave1out"]["tau2"])
    close(infl.to_frame()["cook_d"], reference["influence"]["cook.d"])
    close(infl.to_frame()["cov_r"], reference["influence"]["cov.r"])
    assert infl.to_frame()["influential"].tolist() == reference["influence"]["is_influential"]
    table = cumulative.to_frame()
    assert table["study_id"].tolist() == ["Stein", "Vandiviere"]  # by year: 1953, then 1973
    close(table["ci_upper"], reference["cumulative"]["ci.ub"])
    close(table["estimate"], reference["cumulative"]["estimate"])


@pytest.mark.parametrize("fit", EVERY["k1"]["fits"], ids=lambda fit: fit["test"])
def test_one_study_as_metafor(fit):
    """k = 1: metafor's leave1out and influence stop; we raise with its words, the tables are empty with a note,
    and cumul's one row is there."""
    import pandas as pd

    import alliance_meta as am

    yi, vi = (np.array(EVERY["k1"][name], float) for name in ("yi", "vi"))
    assert fit["leave1out_error"] == fit["influence_error"] == "Stopped because k = 1."
    with pytest.raises(ValueError, match="Stopped because k = 1."):
        influence.leave_one_out(yi, vi, method="REML", test=fit["test"])
    with pytest.raises(ValueError, match="Stopped because k = 1."):
        influence.influence(yi, vi, method="REML", test=fit["test"])
    result = am.sensitivity(am.fit(pd.DataFrame({"study_id": ["a"], "yi": yi, "vi": vi}), method="REML",
                                   test=fit["test"]))
    assert result.leave_one_out.empty and result.influence.empty and result.details is None
    assert any(note.startswith("1 study: leave-one-out and influence diagnostics need at least 2 studies")
               for note in result.notes)
    expected, row = fit["cumulative"], result.cumulative
    assert len(row) == 1
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("p", "pvals"), ("ci_lower", "ci.lb"),
                         ("ci_upper", "ci.ub"), ("q", "Q"), ("q_p", "Qp"), ("tau2", "tau2"), ("i2", "I2"),
                         ("h2", "H2")]:
        close(row[ours], expected[theirs], err_msg=ours)


# cumul() by year with every estimator and both tests, every column (tests/reference/cumulative.R -> cumulative.json)
CUMULATIVE = load_reference("cumulative")["datasets"]
CUMULATIVE_CASES = [pytest.param(name, fit, id=f"{name}-{fit['method']}-{fit['test']}")
                    for name, dataset in CUMULATIVE.items() for fit in dataset["fits"]]


@pytest.mark.parametrize("name,expected", CUMULATIVE_CASES)
def test_cumulative_matches_cumul_for_every_estimator(name, expected):
    dataset = CUMULATIVE[name]
    method, test = METHOD_NAMES.get(expected["method"], expected["method"]), expected["test"]
    result = influence.cumulative(np.array(dataset["yi"], float), np.array(dataset["vi"], float),
                                  order=dataset["year"], method=method, test=test)
    assert result.position.tolist() == dataset["order"]  # counted from 1, as cumul's order
    fields = [("estimate", "estimate"), ("se", "se"), ("p", "pvals"), ("ci_lower", "ci.lb"), ("ci_upper", "ci.ub"),
              ("q", "Q"), ("q_p", "Qp"), ("i2", "I2"), ("h2", "H2")]
    if method == "common":  # metafor's cumul() of an EE model has no tau2 column
        assert "tau2" not in expected and np.all(result.tau2 == 0)
    else:
        fields.append(("tau2", "tau2"))
    for ours, theirs in fields:
        close(result[ours], expected[theirs], atol=1e-300 if ours in ("p", "q_p") else 1e-10, err_msg=ours)
    close(result.estimate / result.se, expected["zval" if "zval" in expected else "tval"], err_msg="statistic")
