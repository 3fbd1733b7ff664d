"""Fits and analyses as a notebook uses them: the three-level sensitivity analyses under the fit's own test,
fits in lists and dicts, clear errors for an impossible rho, plots of a fit without a metric, and the
three-level fit at the boundary sigma2 = (0, 0) converging."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import alliance_meta as am  # noqa: E402


def three_level_rows(seed: int = 4, studies: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 4, studies)
    study = np.repeat([f"S{i}" for i in range(studies)], sizes)
    vi = rng.uniform(0.01, 0.05, study.size)
    effect = np.repeat(rng.normal(0.3, 0.15, studies), sizes)
    return pd.DataFrame({"study_id": study, "yi": effect + rng.normal(0, np.sqrt(vi)), "vi": vi,
                         "year": np.repeat(2000 + np.arange(studies), sizes)})


@pytest.mark.parametrize("test", ["z", "t", "cr2"])
def test_three_level_leave_one_out_and_cumulative_use_the_fits_test(test):
    rows = three_level_rows()
    fit = am.fit(rows, dependence="multilevel", test=test)
    last = am.cumulative(fit).to_frame().iloc[-1]  # every study: the fit itself
    assert math.isclose(last.se, fit.se, rel_tol=1e-6)
    assert np.allclose([last.ci_lower, last.ci_upper], fit.conf_int(), rtol=1e-6)
    assert math.isclose(last.p, fit.pvalue, rel_tol=1e-5)
    left_out = am.leave_one_out(fit).to_frame().set_index("study_id")
    for study in ("S0", "S4"):
        refit = am.fit(rows[rows.study_id != study], dependence="multilevel", test=test)
        row = left_out.loc[study]
        assert np.allclose([row.ci_lower, row.ci_upper], refit.conf_int(), rtol=1e-6), (study, test)
        assert math.isclose(row.p, refit.pvalue, rel_tol=1e-5)


def test_the_cumulative_order_column_is_named_by_the_order():
    rows = three_level_rows().assign(rater=lambda f: np.where(f.index % 2, "patient", "observer"))
    table = am.cumulative(am.fit(rows, dependence="multilevel"), "rater").to_frame()
    assert "year" not in table and set(table["rater"]) <= {"patient", "observer"}


def test_fits_and_analyses_compare_by_identity_so_lists_and_dicts_work():
    fits = [am.fit([0.1, 0.2, 0.3, 0.4], [0.01, 0.02, 0.03, 0.01], method=m) for m in ("REML", "DL", "PM")]
    assert fits.index(fits[2]) == 2 and fits[1] in fits
    assert {fits[0]: "REML"}[fits[0]] == "REML"
    bias = am.publication_bias(fits[0])
    assert [bias].index(bias) == 0 and bias != am.publication_bias(fits[0])


def test_a_rho_that_makes_a_study_covariance_indefinite_is_a_clear_error_for_both_dependences():
    rows = pd.DataFrame({"study_id": list("aaabcc"), "yi": [0.1, 0.2, 0.3, 0.4, 0.2, 0.25],
                         "vi": [0.01, 0.012, 0.02, 0.015, 0.03, 0.01]})
    for dependence in ("aggregate", "multilevel"):
        with pytest.raises(ValueError, match=r"need -1/\(m - 1\) < rho < 1; the largest study has m = 3"):
            am.fit(rows, dependence=dependence, rho=-0.6)
    with pytest.raises(ValueError, match="need -1 < rho < 1"):
        am.fit(rows.drop_duplicates("study_id"), dependence="multilevel", rho=1.0)


def test_plots_of_a_fit_without_a_metric_show_the_estimates_as_they_are():
    fit = am.fit([0.1, 0.2, 0.3, 0.4, 0.2, 0.25, 0.5], [0.01, 0.012, 0.02, 0.015, 0.03, 0.01, 0.02])
    figure = am.gosh(fit, subsets=100).plot()
    assert figure.axes[0].get_xlabel() == "Estimate\n(restricted maximum likelihood)"  # the estimator in words


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_a_three_level_fit_whose_optimum_is_sigma2_zero_converges(method):
    identical = pd.DataFrame({"study_id": list("aabbc"), "yi": [0.3] * 5, "vi": [0.01, 0.02, 0.03, 0.01, 0.02]})
    fit = am.fit(identical, dependence="multilevel", method=method)
    assert fit.converged and fit.sigma2 == (0.0, 0.0) and "NOT CONVERGED" not in repr(fit)
    # homogeneous rows whose likelihood is highest at (0, 0): the gradient there points outwards for both
    rows = pd.DataFrame({"study_id": [0, 1, 2, 3], "yi": [0.0619, 0.3268, 0.4388, 0.2825],
                         "vi": [0.0286, 0.0435, 0.0245, 0.0052]})
    fit = am.fit(rows, dependence="multilevel", method=method)
    assert fit.converged and fit.sigma2 == (0.0, 0.0)
    gradient = __import__("alliance_meta.models.multilevel", fromlist=["evaluate"]).evaluate(
        fit.result.data, (0.0, 0.0), method == "REML").gradient
    assert (gradient < 0).all()  # the log-likelihood falls into sigma2 > 0: (0, 0) is the maximum


def test_analyses_that_fit_univariate_models_to_a_three_level_fit_say_so():
    rows = three_level_rows().assign(rater=lambda f: np.where(f.index % 3, "patient", "observer"))
    three, uni = am.fit(rows, dependence="multilevel", metric="z"), am.fit(rows, metric="z")
    said = "the three-level model is not refitted"
    assert said in " ".join(am.meta_regression(three, "~ rater").notes)
    assert said in repr(am.model_comparison(three, ["~ rater"]))
    assert said in repr(am.location_scale(three, {"location": "~ 1", "scale": "~ rater"}))
    assert said in repr(am.multiverse(three, {"methods": ["REML"], "tests": ["z"]}))
    assert am.meta_regression(uni, "~ rater").notes == () and said not in repr(am.model_comparison(uni, ["~ rater"]))


def test_a_formula_of_two_parts_is_a_clear_error():
    fit = am.fit(three_level_rows().assign(rater="patient"), metric="z")
    with pytest.raises(ValueError, match=r"one part, as '~ rater \+ year' \(a location-scale model takes its parts"):
        am.location_scale(fit, "~ 1 | rater")
    with pytest.raises(ValueError, match="one part"):
        am.meta_regression(fit, "~ rater | year")


def test_series_indexed_by_names_name_the_studies_and_a_dict_is_read_as_rows():
    yi = pd.Series([0.10, 0.30, 0.35, 0.50, 0.20], index=["Smith 2001", "Lee 2004", "Ng 2010", "Ode 2012", "Roy 2015"])
    vi = pd.Series([0.01, 0.02, 0.015, 0.03, 0.01], index=yi.index)
    fit = am.fit(yi, vi[::-1], metric="z")  # paired by name
    assert fit.study_id.tolist() == list(yi.index) and fit.data["vi"].tolist() == vi.tolist()
    assert am.leave_one_out(fit).to_frame()["study_id"].tolist() == list(yi.index)
    numbered = am.fit(yi.reset_index(drop=True).iloc[1:], vi.reset_index(drop=True).iloc[1:])
    assert numbered.study_id.tolist() == ["1", "2", "3", "4"]  # row numbers are not names
    as_dict = am.fit({"yi": yi.tolist(), "vi": vi.tolist()})
    assert math.isclose(as_dict.estimate, am.fit(yi.to_numpy(), vi.to_numpy()).estimate, rel_tol=1e-15)
    with pytest.raises(ValueError, match="level must be a percentage"):
        fit.conf_int(True)


def test_a_comparison_whose_full_model_has_too_few_rows_is_a_row_saying_why():
    rows = pd.DataFrame({"study_id": list("abc"), "yi": [0.1, 0.35, 0.5], "vi": [0.01, 0.015, 0.03],
                         "year": [2001, 2005, 2010]})
    table = am.model_comparison(am.fit(rows, metric="z"), ["~ year"]).to_frame()
    assert table["comparison"].tolist() == ["~ year vs 1"]
    assert table["note"].iloc[0] == "not estimable: k = 3 rows for 2 coefficients and tau^2 of the full model (k > 3 needed)"


def test_true_false_effect_sizes_and_a_fractional_number_of_subsets_are_refused():
    with pytest.raises(ValueError, match="yi must be numbers, one per effect size; got True/False"):
        am.fit([True, False, True], [0.1, 0.1, 0.1])
    fit = am.fit([0.1, 0.2, 0.3], [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="whole number of subsets, not 1.5"):
        am.gosh(fit, subsets=1.5)
    assert am.gosh(fit, subsets=1e6).result.n_subsets == 7  # a whole number written as 1e6, as YAML reads it


def test_complex_effect_sizes_are_refused():
    """np.array([1j, 2, 3]) was pooled as [0, 2, 3] (numpy drops imaginary parts with only a ComplexWarning)."""
    with pytest.raises(ValueError, match="yi must be real numbers, one per effect size; got complex"):
        am.fit(np.array([0.1j, 0.2, 0.3]), [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="vi must be real numbers"):
        am.fit([0.1, 0.2, 0.3], np.array([0.1, 0.1, 0.1], dtype=complex))


# 19 simulated effect sizes in 10 studies whose ML likelihood has a local maximum at sigma2 = (0, 0) below the
# global one at about (0, 0.031): a search that stops at the first boundary point it reaches reports the wrong one
TWO_OPTIMA_STUDIES = ["0", "1", "2", "3", "4", "4", "4", "4", "5", "5", "5", "5", "6", "6", "6", "7", "8", "9", "9"]
TWO_OPTIMA_YI = [-0.3106708649858687, 0.48147850792471186, -0.6610359722163298, 0.16026822827911624, 0.4591668351553293,
                 -0.058399654969919, 0.25279392911092696, -0.13835862120712836, 0.5548275621229548, -0.4731227871832401,
                 0.30654826761443554, 0.6267420147762615, 0.7002562631606816, -0.002719574073316966,
                 0.24286450114388222, 0.2936072069775649, 0.2515857603884361, 0.7327133383965276, -0.1636888867775727]
TWO_OPTIMA_VI = [0.07245230388196706, 0.02613239279697728, 0.10951924965285767, 0.01944986315694983,
                 0.05971255826767268, 0.07791950737365391, 0.06542795395187391, 0.08808227746463158,
                 0.10999224215794415, 0.1416779331541967, 0.04418706467983141, 0.09703962287403256,
                 0.10395452567587526, 0.045422927904317754, 0.0031765909995892963, 0.1441719772176185,
                 0.04624694558855762, 0.048507695924786036, 0.13231332070740304]


def test_a_three_level_ml_fit_finds_the_global_maximum_not_a_boundary_local_one():
    from alliance_meta.models import multilevel

    rows = pd.DataFrame({"study_id": TWO_OPTIMA_STUDIES, "yi": TWO_OPTIMA_YI, "vi": TWO_OPTIMA_VI})
    fit = am.fit(rows, dependence="multilevel", method="ML", rho=0.0)
    grid = np.linspace(0, 0.1, 41)
    best = max(multilevel.evaluate(fit.result.data, (between, within), False).loglik for between in grid for within in grid)
    assert fit.converged and fit.result.loglik >= best - 1e-9
    assert fit.result.loglik > multilevel.evaluate(fit.result.data, (0.0, 0.0), False).loglik + 0.1


def test_a_cumulative_order_named_as_a_column_of_the_table_is_called_order():
    rows = three_level_rows()
    fit = am.fit(rows, dependence="multilevel")
    by_id = am.cumulative(fit, "study_id").to_frame()
    assert list(by_id.columns).count("study_id") == 1 and "order" in by_id
    assert "year" in am.cumulative(fit, "year").to_frame()


def test_a_fit_or_a_path_given_to_fit_is_named():
    """am.fit(fit) and am.fit("studies.csv") said "fit(yi, vi): the sampling variances vi are missing"."""
    fit = am.fit([0.1, 0.2, 0.3], [0.1, 0.1, 0.1])
    with pytest.raises(TypeError, match=r"not a UnivariateFit, which is fitted already: fit.refit\("):
        am.fit(fit)
    with pytest.raises(TypeError, match=r"not a path \('studies.csv'\): read the sheet"):
        am.fit("studies.csv")
    with pytest.raises(TypeError, match="the sampling variances vi are missing"):
        am.fit([0.1, 0.2, 0.3])
