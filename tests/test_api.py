"""The public API: am.fit for both model types, one interface, analyses that take a fit.

Numbers are checked against the committed metafor references (pooling.json: rma.uni on
dat.molloy2014; multilevel.json: rma.mv on dat.assink2016), not against the library itself.
"""

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alliance_meta as am

REFERENCE = Path(__file__).parent / "reference"


def _number(value):
    return math.nan if value == "NA" else float(value)


@pytest.fixture(scope="module")
def assink():
    cases = json.loads((REFERENCE / "multilevel.json").read_text())["cases"]
    case = next(c for c in cases if c["name"] == "assink_reml")
    frame = pd.DataFrame({"study_id": [str(s) for s in case["data"]["study"]], "yi": case["data"]["yi"],
                          "vi": case["data"]["vi"]})
    return frame, case


@pytest.mark.parametrize("method,test", [("REML", "z"), ("DL", "knha"), ("PM", "z"), ("common", "z")])
def test_univariate_fit_matches_rma_uni(molloy, method, test):
    yi, vi, fits = molloy
    reference = fits[("EE" if method == "common" else method, test)]
    fit = am.fit(yi, vi, method=method, test=test, metric="z")
    assert isinstance(fit, am.UnivariateFit) and fit.k == yi.size
    for name, value in (("estimate", fit.estimate), ("se", fit.se), ("pvalue", fit.pvalue), ("tau2", fit.tau2),
                        ("i2", fit.i2)):
        key = {"pvalue": "p"}.get(name, name)
        assert value == pytest.approx(_number(reference[key]), rel=1e-6, abs=1e-12), name
    assert fit.conf_int() == pytest.approx((reference["ci_lower"], reference["ci_upper"]), rel=1e-6)
    prediction = fit.predict()
    assert (prediction.pi_lower, prediction.pi_upper) == pytest.approx(
        (reference["pi_lower"], reference["pi_upper"]), rel=1e-6)
    back = fit.predict(transform="r")
    assert back.estimate == pytest.approx(math.tanh(reference["estimate"]), rel=1e-6)
    row = fit.to_frame()
    assert list(row.columns[:17]) == ["method", "test", "k", "estimate", "se", "ci_lower", "ci_upper", "pi_lower",
                                      "pi_upper", "tau2", "tau2_ci_lower", "tau2_ci_upper", "i2", "h2", "q", "q_df",
                                      "q_p"]
    assert row["r"].iloc[0] == pytest.approx(math.tanh(reference["estimate"]), rel=1e-6)


def test_conf_int_at_another_level_uses_the_tests_critical_value(molloy):
    yi, vi, _ = molloy
    fit = am.fit(yi, vi, test="knha")
    lower, upper = fit.conf_int(level=90)
    from scipy import stats

    half = stats.t.isf(0.05, yi.size - 1) * fit.se
    assert (lower, upper) == pytest.approx((fit.estimate - half, fit.estimate + half), rel=1e-12)
    assert fit.conf_int(90)[1] - fit.conf_int(90)[0] < fit.conf_int()[1] - fit.conf_int()[0]


def test_rows_that_cannot_be_pooled_are_named():
    frame = pd.DataFrame({"yi": [0.1, 0.2, np.nan, 0.3, 0.2], "vi": [0.01, 0.02, 0.01, -1.0, 0.02],
                          "study_id": ["a", "b", None, "c", "d"]}, index=[10, 11, 12, 13, 14])
    with pytest.raises(ValueError) as error:
        am.fit(frame)
    assert str(error.value) == ("cannot pool these rows: yi is missing or infinite on row 12; vi is missing, infinite, "
                                "not positive or below 5.56e-309 (its weight 1/vi overflows) on row 13; study_id is "
                                "missing on row 12 (rows without it would be pooled as one study)")
    # a subnormal vi, whose weight 1/vi is infinite: metafor stops ("Division by zero when computing the inverse
    # variance weights"); the fit returned nan or 0 without a word
    with pytest.raises(ValueError, match=r"vi is missing, infinite, not positive or below 5.56e-309 .* on row 1$"):
        am.fit(pd.DataFrame({"yi": [0.1, 0.2, 0.3], "vi": [0.01, 1e-309, 0.02]}))
    with pytest.raises(ValueError, match=r"vi must be at least 5.56e-309 \(its weight 1/vi overflows below it\), but "
                                         r"1 value is not: index 1 \(1e-309\)"):
        am.fit([0.1, 0.2, 0.3], [0.01, 1e-309, 0.02])
    with pytest.raises(ValueError, match=r"yi is not a number on row 1 \('x'\)$"):  # the cell shown: a typo
        am.fit(pd.DataFrame({"yi": [0.1, "x"], "vi": [0.01, 0.02]}))
    with pytest.raises(ValueError, match=r"vi is not a number on rows 0 \('0,01'\), 1 \('n/a'\)$"):
        am.fit(pd.DataFrame({"yi": [0.1, 0.2], "vi": ["0,01", "n/a"]}))
    both = pd.DataFrame({"yi": [0.1, 0.2, 0.3], "vi": [0.01, 0.02, 0.03], "family": ["outcome", "dropout", "outcome"]})
    with pytest.raises(ValueError, match=r"more than one family \(outcome, dropout\): fit each on its own"):
        am.fit(both, dependence="multilevel")
    with pytest.raises(ValueError, match="one-dimensional"):
        am.fit(np.ones((2, 2)), np.ones((2, 2)))
    # numbers as text are numbers, read with a warning (tests/test_api_walkthrough.py)
    with pytest.warns(UserWarning, match="numbers written as text are read as numbers: yi on 3 rows"):
        as_text = am.fit(pd.DataFrame({"yi": ["0.1", "0.2", "0.3"], "vi": [0.01, 0.02, 0.03]}))
    assert as_text.estimate == am.fit(np.array([0.1, 0.2, 0.3]), np.array([0.01, 0.02, 0.03])).estimate


@pytest.mark.parametrize("method", ("common", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ"))
def test_effects_and_variances_beyond_double_range_are_named(method):
    """Effects 3e4 apart with vi near 1e-300: Q = sum (yi - mean)^2 / vi overflows doubles (metafor's rma: "singular
    matrix"). Every estimator, from arrays and from rows, raises a ValueError naming the rule and the effect size;
    before, DL, HS and HSk raised a bare ZeroDivisionError, the others returned Q = inf (common: I^2 = 0)."""
    from alliance_meta.models import univariate

    yi, vi = [0.0, 3e4, 6e4], [1e-300, 2e-300, 3e-300]
    rule = r"Q = inf: the effects and variances are beyond double range \(the squared deviations .* must stay below "
    with pytest.raises(ValueError, match=rule + r".*yi 0 with vi 1e-300 at index 0, counted from 0\): rescale the "
                                                r"effect units"):
        univariate.fit(np.array(yi), np.array(vi), method)
    with pytest.raises(ValueError, match=rule + r".*yi 0 with vi 1e-300 at study_id a\): rescale the effect units"):
        am.fit(pd.DataFrame({"study_id": ["a", "b", "c"], "yi": yi, "vi": vi}), method=method)


def test_effects_whose_squares_or_tau2_overflow_are_named():
    """Effects near 1e154: their squared deviations overflow (every estimator: before, REML raised a bare "math
    domain error", PM an OverflowError, ML and SJ gave tau^2 = 0)."""
    with pytest.raises(ValueError, match=r"sum \(yi - mean\)\^2 = inf: the effects and variances are beyond double "
                                         r"range .* at study_id 1\): rescale the effect units"):
        am.fit([-1.2e154, 0.0, 1.2e154], [1e10] * 3, method="REML")


@pytest.mark.parametrize("method", ("PM", "PMM"))
def test_a_root_bracket_beyond_double_range_is_named(method):
    """Effects near 5e153: PM's and PMM's root bracket max(100, 10 mad(yi)^2) overflows to inf (before: the root
    was sought in [0, inf] and tau^2 came out inf, reported as such; ``gosh`` gave its subsets tau^2 inf). Named as
    the other beyond-range figures, by am.fit and the raw ``gosh``; a finite tau2_max still fits."""
    from alliance_meta.analyses.gosh import gosh

    yi, vi = [-5e153, 0.0, 5e153], [1e10] * 3
    rule = (rf"10 mad\(yi\)\^2 \(the end of {method}'s root bracket\) = inf: the effects and variances are beyond "
            r"double range .*yi -5e\+153 with vi 1e\+10 at ")
    with pytest.raises(ValueError, match=rule + r"study_id 1\): rescale the effect units"):
        am.fit(yi, vi, method=method)
    with pytest.raises(ValueError, match=rule + r"index 0, counted from 0\): rescale the effect units"):
        gosh(np.array(yi), np.array(vi), method)
    assert 1e307 < am.fit(yi, vi, method=method, control={"tau2_max": 1.7e308}).tau2 < 1.7e308


@pytest.mark.parametrize("method", ("GENQ", "DL", "REML"))
def test_a_tau2_interval_bracket_beyond_double_range_is_named(method):
    """tau^2 near 3.6e307 (effects near 6e153): the tau^2 interval's bracket max(100, 10 tau^2) overflows. GENQ raised
    a bare ZeroDivisionError, the Q-profile interval was [inf, inf] without a word; now a ValueError naming it, as
    the other beyond-range figures; without the interval, or with a finite tau2_max, the fit is computed."""
    yi, vi = [-6e153, 0.0, 6e153], [1e10] * 3
    with pytest.raises(ValueError, match=r"10 tau\^2 \(the end of the tau\^2 interval's bracket\) = inf: the effects "
                                         r"and variances are beyond double range .* at study_id 1\): rescale"):
        am.fit(yi, vi, method=method)
    assert am.fit(yi, vi, method=method, tau2_interval=False).tau2 == pytest.approx(3.6e307)
    fit = am.fit(yi, vi, method=method, control={"tau2_max": 1.7e308}).result
    assert fit.tau2_ci_lower == pytest.approx(9.759061104545407e306) and fit.tau2_ci_upper == 1.7e308


def test_raw_gosh_of_effects_beyond_double_range_is_named():
    """The notebook's ``gosh(yi, vi)`` of data am.fit refuses (Q = sum (yi - mean)^2 / vi overflows): the same
    ValueError, naming the study by its study_id when given; before, subsets of it had Q = inf, I^2 NaN."""
    from alliance_meta.analyses.gosh import gosh

    with pytest.raises(ValueError, match=r"Q = inf: the effects and variances are beyond double range .*yi 0 with vi "
                                         r"1e-300 at study_id a\): rescale the effect units"):
        gosh(np.array([0.0, 3e4, 6e4]), np.array([1e-300, 2e-300, 3e-300]), "DL", study_id=["a", "b", "c"])


def test_raw_gosh_beside_a_dominant_weight_is_refused_as_am_fit_refuses():
    """Effects centred on the heaviest study's (vi = 1e-10 beside 1e10) overflow (yi - centre)^2 where the mean's
    would not: gosh checks the sums am.fit checks and raises the same error (before: subsets with Q up to 1e298)."""
    from alliance_meta.analyses.gosh import gosh

    yi, vi = np.array([1e154, 0.0, 0.0]), np.array([1e-10, 1e10, 1e10])
    with pytest.raises(ValueError) as refused:
        am.fit(yi, vi, method="DL")
    assert "sum (yi - y_h, the effect of the smallest vi)^2 = inf" in str(refused.value)
    with pytest.raises(ValueError, match=re.escape(str(refused.value).split(" at ")[0])):
        gosh(yi, vi, "DL")


def test_ordinary_weights_look_for_no_dominant_one(monkeypatch):
    """tr(P) of weights within 2^26 of each other (every ordinary fit, deletion and subset) looks for no dominant
    weight, a pass over every batch of deletions (before: an ordinary leave-one-out at k = 8000 took 3.6 s, not 2.5 s)."""
    from alliance_meta.engines import heterogeneity

    def refused(weights):
        raise AssertionError("dominant_weights called")

    monkeypatch.setattr(heterogeneity, "dominant_weights", refused)
    weights = np.array([[1.0, 2.0, 0.0, 30.0], [0.0, 2.0, 5.0, 30.0]])
    expected = weights.sum(axis=1) - np.sum(weights**2, axis=1) / weights.sum(axis=1)
    assert heterogeneity.trace_p_rows(weights, weights.sum(axis=1)).tolist() == expected.tolist()
    assert heterogeneity.trace_p(weights[0]) == expected[0]
    am.leave_one_out(am.fit([0.1, 0.3, 0.2, 0.5], [0.01, 0.02, 0.03, 0.04], method="DL"))


def test_an_infinite_fisher_scoring_step_ends_the_fit_as_not_converged():
    """A step of -inf halves to -inf for ever: ML on effects 1e150 apart never returned, nor did the REML leave-one-out
    of data with vi = 1e-300 beside 0.1. Run in a child process with a time limit, so that a hang fails the test
    instead of the suite. (REML's step beside vi = 1e-300, infinite until its tr(P P) was summed without cancellation,
    is finite: am.fit([0.1, 0.3], [1e-300, 0.1]) converges to REML's tau^2 = max(0, ((y1 - y2)^2 - v1 - v2) / 2) = 0.)"""
    code = """
import warnings
import alliance_meta as am
warnings.simplefilter("ignore")
fit = am.fit([-1e150, 0, 1e150], [1e10] * 3, method="ML")
assert fit.tau2 != fit.tau2 and "took an infinite step" in fit.to_frame()["note"].iloc[0]
fit = am.fit([0.1, 0.3], [1e-300, 0.1])
assert fit.converged and fit.tau2 == 0
am.leave_one_out(am.fit([0.1, 0.3, 0.2], [1e-300, 0.1, 0.2], method="REML"))
print("returned")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "returned", done.stderr


def test_an_infinite_step_blames_a_dominant_weight_only_where_one_dominates_at_that_step():
    """vi = 1e2 beside 1e10 (weights 1/vi 1e8 apart) but tau^2 = 1e300 at the infinite step: the weights 1/(vi +
    tau^2) are equal there, so the note names the span of the data, not one study's weight (before: "holds all but
    less than 2^-26 of their sum", from 1/vi)."""
    with np.errstate(all="ignore"):
        note = am.fit([-1e150, 0, 1e150], [1e2, 1e10, 1e10], method="ML").result.note
    assert "took an infinite step from tau^2 = 1e+300" in note and "rescale the effect units" in note
    assert "2^-26" not in note


def test_a_level_written_as_a_proportion_is_refused_with_the_percentage(molloy):
    yi, vi, _ = molloy
    with pytest.raises(ValueError, match=r"level is a percentage, got 0.95 \(a 0.95% interval\): write level=95"):
        am.fit(yi, vi, level=0.95)
    with pytest.raises(ValueError, match="write level=90"):
        am.fit(yi, vi).conf_int(level=0.9)


def test_frame_input_aggregates_dependent_rows_like_the_pipeline(molloy):
    yi, vi, fits = molloy
    frame = pd.DataFrame({"yi": yi, "vi": vi})
    assert am.fit(frame).estimate == pytest.approx(fits[("REML", "z")]["estimate"], rel=1e-6)
    dependent = pd.DataFrame({"study_id": ["a", "a", "b", "c", "c", "d"], "yi": [.1, .3, .2, .5, .4, .0],
                              "vi": [.01, .02, .015, .03, .02, .01]})
    fit = am.fit(dependent, rho=0.5)
    assert fit.k == 4 and list(fit.data["study_id"]) == ["a", "b", "c", "d"]
    # GLS composite of study a under compound symmetry (aggregate.escalc): weights 1'V^-1
    v = np.array([[.01, .5 * math.sqrt(.01 * .02)], [.5 * math.sqrt(.01 * .02), .02]])
    weights = np.linalg.solve(v, np.ones(2))
    assert fit.data["yi"].iloc[0] == pytest.approx(weights @ np.array([.1, .3]) / weights.sum(), rel=1e-12)


def test_multilevel_fit_matches_rma_mv(assink):
    frame, case = assink
    fit = am.fit(frame, method="REML", dependence="multilevel", rho=0.0)
    assert isinstance(fit, am.MultilevelFit)
    assert fit.k == case["k"] and fit.n_studies == case["n_studies"]
    assert fit.estimate == pytest.approx(case["beta"], rel=1e-6)
    assert fit.se == pytest.approx(case["se"], rel=1e-6)
    assert fit.pvalue == pytest.approx(case["pval"], rel=1e-6)
    assert fit.sigma2 == pytest.approx(tuple(case["sigma2"]), rel=1e-6)
    assert fit.tau2 == pytest.approx(sum(case["sigma2"]), rel=1e-6)
    assert fit.i2 == pytest.approx(case["i2"]["total"], rel=1e-6)
    assert fit.conf_int() == pytest.approx((case["ci_lower"], case["ci_upper"]), rel=1e-6)
    prediction = fit.predict()
    assert (prediction.pi_lower, prediction.pi_upper) == pytest.approx(tuple(case["pi"]), rel=1e-6)
    robust = fit.with_test("cr2")
    assert robust.se == pytest.approx(case["robust"]["se"], rel=1e-6)
    assert robust.df == pytest.approx(case["robust"]["df"], rel=1e-6)
    row = fit.to_frame()
    assert row["sigma2_between"].iloc[0] == pytest.approx(case["sigma2"][0], rel=1e-6)
    with pytest.raises(am.NotApplicable, match="three-level"):
        fit.tau2_conf_int()


def test_summary_and_repr_are_short_and_readable(molloy, assink):
    yi, vi, _ = molloy
    univariate = am.fit(yi, vi, metric="z")
    text = univariate.summary()
    assert "Random-effects model (k = 16; tau^2 estimator: REML)" in text and "Model Results" in text
    assert "r = " in text
    assert repr(univariate).startswith("<UnivariateFit REML/z: k = 16") and "\n" not in repr(univariate)
    multilevel = am.fit(assink[0], dependence="multilevel", rho=0.0)
    assert "sigma^2.1" in multilevel.summary() and "17" in multilevel.summary()
    assert repr(multilevel).startswith("<MultilevelFit REML/z: k = 100")
    # the same rows aggregated: print(fit) said only "k = 17", not that these are composites of 100 effect sizes
    composites = am.fit(assink[0], rho=0.6, method="DL").summary().splitlines()[0]
    assert composites == ("Random-effects model (k = 17 study composites of 100 effect sizes, gls with rho = 0.6; "
                          "tau^2 estimator: DL)")


def test_bad_arguments_say_what_is_wrong(molloy):
    yi, vi, _ = molloy
    with pytest.raises(ValueError, match="REML or ML"):
        am.fit(pd.DataFrame({"yi": yi, "vi": vi}), method="DL", dependence="multilevel")
    with pytest.raises(ValueError, match="dependence"):
        am.fit(yi, vi, dependence="three-level")
    with pytest.raises(TypeError, match="vi"):
        am.fit(yi)
    with pytest.raises(ValueError, match="metric"):
        am.fit(yi, vi).predict(transform="r")
    with pytest.raises(ValueError, match="transform='d' is not a scale of metric 'z'; expected one of r"):
        am.fit(yi, vi, metric="z").predict(transform="d")
    assert am.fit(yi, vi, metric="z").predict(transform="z") == am.fit(yi, vi, metric="z").predict()  # identity
    with pytest.raises(ValueError, match="control: unknown key maxiter; expected threshold, max_iterations"):
        am.fit(yi, vi, control={"maxiter": 5})
    with pytest.raises(TypeError, match="control: a dict of threshold"):
        am.fit(yi, vi, control=5)


def test_control_as_a_dict_is_metafor_s_control(molloy):
    yi, vi, _ = molloy
    default, loose = am.fit(yi, vi, method="REML"), am.fit(yi, vi, method="REML", control={"threshold": 0.1})
    assert loose.tau2 != default.tau2  # Fisher scoring stopped earlier: the dict reached the estimator
    strict = am.fit(yi, vi, method="REML", control={"threshold": 1e-12, "max_iterations": 1000})
    assert strict.tau2 != default.tau2  # past metafor's default threshold of 1e-5, to the root
    assert abs(strict.tau2 - default.tau2) < abs(loose.tau2 - default.tau2)


def test_analyses_take_either_fit_and_return_tables(molloy, assink):
    yi, vi, _ = molloy
    univariate = am.fit(yi, vi, metric="z")
    loo = am.leave_one_out(univariate)
    assert len(loo.to_frame()) == 16 and {"study_id", "estimate", "tau2"} <= set(loo.to_frame().columns)
    assert len(am.influence(univariate).to_frame()) == 16
    assert len(am.cumulative(univariate).to_frame()) == 16
    bias = am.publication_bias(univariate).to_frame()
    assert {"egger", "rank", "trim_and_fill"} <= set(bias["test"])
    three = am.fit(assink[0], dependence="multilevel", rho=0.0, metric="smd")
    assert len(am.leave_one_out(three).to_frame()) == 17  # whole studies deleted
    bias = am.publication_bias(three)
    assert "egger_multilevel" in set(bias.to_frame()["test"]) and len(bias.studies) == 17


def test_moderators_and_meta_regression_take_a_fit():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"study_id": np.repeat([f"s{i}" for i in range(12)], 2),
                          "rater": np.tile(["patient", "observer"], 12),
                          "year": np.repeat(np.arange(2000, 2012), 2).astype(float)})
    frame["yi"] = 0.3 + 0.1 * (frame["rater"] == "observer") + rng.normal(0, 0.1, len(frame))
    frame["vi"] = rng.uniform(0.01, 0.03, len(frame))
    fit = am.fit(frame, metric="z")
    result = am.moderators(fit, "rater", permutations=0)
    assert result.to_frame()["k"].iloc[0] == 24 and len(result.subgroups) == 2
    regression = am.meta_regression(fit, "~ rater + year", continuous=("year",), permutations=0).to_frame()
    assert set(regression["term"]) >= {"year"}
    # a numeric column is a slope by default (metafor's mods =), its levels only when asked
    default = am.meta_regression(fit, "~ rater + year", permutations=0).to_frame()
    pd.testing.assert_frame_equal(default, regression)
    # without a metric (a log risk ratio, say) the subgroups have no back-transformed columns; it was refused,
    # while am.meta_regression took the same fit
    plain = am.moderators(am.fit(frame), "rater", permutations=0)
    assert "r" in result.subgroups and "r" not in plain.subgroups
    pd.testing.assert_frame_equal(plain.subgroups, result.subgroups[list(plain.subgroups.columns)])
    pd.testing.assert_frame_equal(plain.to_frame(), result.to_frame())
    plain_three = am.moderators(am.fit(frame, dependence="multilevel"), "rater", permutations=0).to_frame()
    assert plain_three["multilevel_qm"].iloc[0] == pytest.approx(
        am.moderators(am.fit(frame, dependence="multilevel", metric="z"), "rater", permutations=0).to_frame()[
            "multilevel_qm"].iloc[0], rel=1e-12)
    coarse = am.fit(frame.assign(year=np.repeat([2000.0, 2005.0, 2010.0], 8)), metric="z")
    as_levels = am.meta_regression(coarse, "~ year", continuous=(), permutations=0).to_frame()
    assert list(as_levels["term"]) == ["intercept", "year[2005]", "year[2010]"]
    assert list(am.meta_regression(coarse, "~ year", permutations=0).to_frame()["term"]) == ["intercept", "year"]
    assert am.moderators(coarse, "year", permutations=0).to_frame()["qm_df"].iloc[0] == 1
    assert am.moderators(coarse, "year", continuous=False, permutations=0).to_frame()["qm_df"].iloc[0] == 2
    three = am.fit(frame, dependence="multilevel", metric="z")
    assert "multilevel_qm" in am.moderators(three, "rater", permutations=0).to_frame()


def test_plot_forest_writes_the_file(molloy, tmp_path):
    yi, vi, _ = molloy
    path = tmp_path / "forest.png"
    am.fit(yi, vi, metric="z").plot_forest(path)
    assert path.stat().st_size > 10_000


def test_import_stays_light():
    code = "import sys, alliance_meta as am; am.fit([.1, .2, .3], [.01, .02, .01]); print('pymc' in sys.modules, 'snakemake' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
