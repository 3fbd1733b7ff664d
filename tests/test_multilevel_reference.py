"""Three-level models and CR2 inference agree with metafor's rma.mv and clubSandwich.

Reference values: tests/reference/multilevel.R (dat.assink2016, dat.konstantopoulos2011,
dat.craft2003; REML/ML, z/t, moderators, the CHE model with vcalc(rho = 0.6), profile CIs,
LRT, I^2 by level, coef_test Satterthwaite, Wald_test HTZ) -> multilevel.json; and
``single_level_cases``: one study of those data sets, where rma.mv fixes sigma2_between to 0
("Single-level factor(s) found in 'random' argument"), confint refuses that component and
clubSandwich's vcovCR stops (one cluster). These are compared at 1e-6 relative, with metafor's
figures at sigma2_within polished to the optimum of its own log-likelihood (multilevel.R says
why) and the boundary exception below (an ML sigma2_within of 0).

Tolerance: 1e-6 relative throughout. Stated exceptions, each with its reason:
* p values below 1e-7 are compared at 1e-5: a relative difference e in z (or Q) moves a p value that far
  in the tail by about z^2 e (Q e / 2) (craft_che_pair_ml: p values of 1e-17 and 1e-22 up to 3.7e-6 apart);
* a sigma^2 on the boundary (metafor < 1e-8): metafor optimises log(sigma^2) and so can only
  approach 0 (it stops near 1e-9 to 1e-11); we return exactly 0 with a log-likelihood at
  least as high, so those components (and I^2 of that level, the LRT statistic, which is
  then 0) are compared with an absolute tolerance of 1e-8 (I^2: 1e-6 percent);
* profile-likelihood CI bounds add an absolute 1e-9 to the relative tolerance: the bounds
  are roots found by uniroot to tol = 1e-10 in R and by Brent's method to 1e-10 here.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_reference

from alliance_meta.models import multilevel

from alliance_meta.engines import robust
REFERENCE = load_reference("multilevel")
CASES = {case["name"]: case for case in REFERENCE["cases"]}
RTOL = 1e-6
RTOL_TINY_P, TINY_P = 1e-5, 1e-7  # see the docstring
BOUNDARY = 1e-8


def _names(case):
    names = case["data"]["names"]
    return [names] if isinstance(names, str) else names


def _fit(case):
    """The three-level fit of one reference case, as multilevel.R fits it."""
    data = case["data"]
    X = np.array(data["X"], float).reshape(len(data["yi"]), -1)
    return multilevel.fit(data["yi"], data["vi"], data["study"], X, method=case["method"], test=case["test"],
                          rho=case["rho"], names=_names(case))


def _close_p(ours, theirs):
    """p values at RTOL, those below TINY_P at RTOL_TINY_P (the docstring says why)."""
    ours, theirs = _vector(ours), _vector(theirs)
    tiny = theirs < TINY_P
    np.testing.assert_allclose(ours[~tiny], theirs[~tiny], rtol=RTOL)
    np.testing.assert_allclose(ours[tiny], theirs[tiny], rtol=RTOL_TINY_P)


@pytest.fixture(scope="module")
def fits():
    return {name: (fit := _fit(case), robust.cr2(fit)) for name, case in CASES.items()}


def _vector(value):
    return np.atleast_1d(np.asarray(value, float))


@pytest.mark.parametrize("name", CASES)
def test_fixed_effects_and_tests(fits, name):
    case, (fit, _) = CASES[name], fits[name]
    table = fit.coefficients()
    np.testing.assert_allclose(fit.beta, _vector(case["beta"]), rtol=RTOL)
    np.testing.assert_allclose(fit.se, _vector(case["se"]), rtol=RTOL)
    np.testing.assert_allclose(table.statistic, _vector(case["zval"]), rtol=RTOL)
    _close_p(table.p, case["pval"])
    np.testing.assert_allclose(table.ci_lower, _vector(case["ci_lower"]), rtol=RTOL)
    np.testing.assert_allclose(table.ci_upper, _vector(case["ci_upper"]), rtol=RTOL)
    np.testing.assert_allclose([fit.qe, fit.qm], [case["qe"], case["qm"]], rtol=RTOL)
    _close_p([fit.qe_p, fit.qm_p], [case["qe_p"], case["qm_p"]])
    reference_df = [value for value in case["qm_df"] if value != "NA"]  # z tests: (m, NA)
    np.testing.assert_array_equal(fit.qm_df, reference_df)
    if "pi" in case:
        np.testing.assert_allclose(fit.prediction_interval(), case["pi"], rtol=RTOL)


@pytest.mark.parametrize("name", CASES)
def test_variance_components_and_likelihood(fits, name):
    case, (fit, _) = CASES[name], fits[name]
    reference = _vector(case["sigma2"])
    on_boundary = reference < BOUNDARY
    np.testing.assert_allclose(fit.sigma2[~on_boundary], reference[~on_boundary], rtol=RTOL)
    np.testing.assert_array_equal(fit.sigma2[on_boundary], 0.0)
    assert fit.loglik >= case["loglik"] - 1e-10  # never a worse optimum than metafor's
    assert_likelihood_and_i2(fit, case, RTOL)


def assert_likelihood_and_i2(fit, case, rtol):
    """logLik, AIC/BIC/AICc (metafor's fitstats), the typical variance and I^2 by level against ``case``."""
    np.testing.assert_allclose(fit.loglik, case["loglik"], rtol=rtol)
    statistics = fit.fit_statistics()
    for key in ("aic", "bic", "aicc"):
        np.testing.assert_allclose(statistics[key], case["fitstats"][key], rtol=rtol)
    i2 = case["i2"]
    np.testing.assert_allclose(fit.typical_variance, i2["typical"], rtol=rtol)
    np.testing.assert_allclose(fit.i2, [i2["total"], i2["between"], i2["within"]], rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_profile_likelihood_intervals(fits, name):
    case, (fit, _) = CASES[name], fits[name]
    reference = np.array([case["sigma2_ci"]["between"], case["sigma2_ci"]["within"]])
    np.testing.assert_allclose(fit.sigma2_ci, reference, rtol=RTOL, atol=1e-9)


@pytest.mark.parametrize("name", CASES)
def test_likelihood_ratio_test_of_the_study_level(fits, name):
    case, (fit, _) = CASES[name], fits[name]
    lrt = case["lrt"]
    assert fit.lrt["dropped"] == "sigma2_between"
    np.testing.assert_allclose(fit.lrt["statistic"], lrt["statistic"], rtol=RTOL, atol=BOUNDARY)
    np.testing.assert_allclose(fit.lrt["p"], lrt["p"], rtol=RTOL)
    np.testing.assert_allclose(fit.lrt["loglik_reduced"], lrt["loglik_reduced"], rtol=RTOL)
    np.testing.assert_allclose(fit.lrt["sigma2_within_reduced"], lrt["sigma2_within_reduced"], rtol=RTOL)


@pytest.mark.parametrize("name", CASES)
def test_cr2_coef_test(fits, name):
    case, (_, robust_fit) = CASES[name], fits[name]
    reference = case["robust"]
    p = robust_fit.vcov.shape[0]
    np.testing.assert_allclose(robust_fit.vcov, np.array(reference["vcov"], float).reshape(p, p), rtol=RTOL)
    table = robust_fit.coef_test()
    np.testing.assert_allclose(table.se, _vector(reference["se"]), rtol=RTOL)
    np.testing.assert_allclose(table.statistic, _vector(reference["tstat"]), rtol=RTOL)
    np.testing.assert_allclose(table.df, _vector(reference["df"]), rtol=RTOL)
    np.testing.assert_allclose(table.p, _vector(reference["p"]), rtol=RTOL)


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if "wald" in case["robust"]])
def test_cr2_wald_test_htz(fits, name):
    case, (_, robust_fit) = CASES[name], fits[name]
    reference = case["robust"]["wald"]
    test = robust_fit.wald_test(np.asarray(_vector(reference["btt"]), int) - 1)
    np.testing.assert_allclose([test["f"], test["delta"], test["df_denom"], test["p"]],
                               [reference["Fstat"], reference["delta"], reference["df_denom"], reference["p"]],
                               rtol=RTOL)
    assert test["df_num"] == reference["df_num"]


# --------------------------------------------------------------------------------------
# One study (single_level_cases): rma.mv fixes sigma2_between of the single-level factor to 0
# --------------------------------------------------------------------------------------

SINGLE_LEVEL = {case["name"]: case for case in REFERENCE["single_level_cases"]}
RTOL_SINGLE = 1e-6


@pytest.fixture(scope="module")
def single_level_fits():
    return {name: _fit(case) for name, case in SINGLE_LEVEL.items()}


@pytest.mark.parametrize("name", SINGLE_LEVEL)
def test_one_study_fixes_sigma2_between_to_zero_as_metafor(single_level_fits, name):
    case, fit = SINGLE_LEVEL[name], single_level_fits[name]
    assert case["n_studies"] == fit.n_studies == 1
    assert any(warning.startswith("Single-level factor(s) found in 'random' argument") for warning in
               np.atleast_1d(case["warnings"]))
    assert fit.sigma2_fixed == tuple(case["sigma2_fixed"]) == (True, False)
    assert fit.single_level == ("between",) and fit.note == multilevel.ONE_STUDY_NOTE
    assert fit.sigma2[0] == 0.0
    within = case["sigma2"][1]
    if within < BOUNDARY:  # ML on the boundary: metafor stops near 1e-10, we return exactly 0
        assert fit.sigma2[1] == 0.0 and fit.loglik >= case["loglik"] - 1e-10
    else:
        np.testing.assert_allclose(fit.sigma2[1], within, rtol=RTOL_SINGLE)
    assert_likelihood_and_i2(fit, case, RTOL_SINGLE)  # parameters: p + 1 (the fixed sigma2 is not one)


@pytest.mark.parametrize("name", SINGLE_LEVEL)
def test_one_study_fixed_effects_and_tests(single_level_fits, name):
    case, fit = SINGLE_LEVEL[name], single_level_fits[name]
    table = fit.coefficients()
    for column, key in (("estimate", "beta"), ("se", "se"), ("statistic", "zval"), ("p", "pval"),
                        ("ci_lower", "ci_lower"), ("ci_upper", "ci_upper")):
        np.testing.assert_allclose(table[column], _vector(case[key]), rtol=RTOL_SINGLE, err_msg=column)
    np.testing.assert_allclose([fit.qe, fit.qe_p, fit.qm, fit.qm_p],
                               [case["qe"], case["qe_p"], case["qm"], case["qm_p"]], rtol=RTOL_SINGLE)
    np.testing.assert_array_equal(fit.qm_df, [value for value in case["qm_df"] if value != "NA"])
    if "pi" in case:
        np.testing.assert_allclose(fit.prediction_interval(), case["pi"], rtol=RTOL_SINGLE)


@pytest.mark.parametrize("name", SINGLE_LEVEL)
def test_one_study_intervals_tests_and_cr2_are_those_metafor_and_clubsandwich_define(single_level_fits, name):
    case, fit = SINGLE_LEVEL[name], single_level_fits[name]
    # confint(res, sigma2 = 1) stops ("Specified 'sigma2' component was fixed"): NaN here
    assert case["confint_between_error"] == "Specified 'sigma2' component was fixed."
    assert np.isnan(fit.sigma2_ci[0]).all()
    np.testing.assert_allclose(fit.sigma2_ci[1], case["sigma2_ci"]["within"], rtol=RTOL_SINGLE, atol=1e-9)
    assert fit.lrt is None  # sigma2_between is fixed: no study level to test
    # vcovCR stops with one cluster; so does robust.cr2, with clubSandwich's reason
    assert "only includes a single cluster" in case["cr2_error"]
    with pytest.raises(ValueError, match="at least 2 studies .*this fit has 1"):
        robust.cr2(fit)
