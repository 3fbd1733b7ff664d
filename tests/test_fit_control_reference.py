"""A fit with an iteration control of its own keeps it (``fit.control``), and the analyses that refit it use it, as
metafor 3.8-1's ``leave1out``, ``influence``, ``cumul``, ``regtest``, ``gosh`` and ``update`` pass ``x$control`` on
(``trimfill(x, control = x$control)``); and the study weights of the risk-of-bias summaries are metafor's
``weights()``; and Fisher scoring at extreme data (tau^2 up to 3e23) stops where metafor's does, or where tau^2
changes by rounding only.

Reference values: tests/reference/fit_control.R, committed as fit_control.json: two SIMULATED data sets where
metafor's default control fails (PM with its root above the default tau2_max; REML whose Fisher scoring needs more
than 100 iterations), constructed extreme data (ML, REML, EB), dat.molloy2014 (GENQ and REML weights),
dat.assink2016 and dat.konstantopoulos2011 (three-level study weights). Tolerance: 1e-6 relative, 1e-8 absolute
(for values near zero).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_reference

import alliance_meta as am
from alliance_meta.engines.heterogeneity import (TIGHT_CONTROL, Control, _fisher_scoring, estimate_tau2, moment_design,
                                                scoring_stopped)

REFERENCE = load_reference("fit_control")
CASES = {case["name"]: case for case in REFERENCE["cases"]}
RTOL, ATOL = 1e-6, 1e-8


def close(ours, theirs, what: str):
    assert_close(np.ravel(np.asarray(ours, float)), np.ravel(np.asarray(theirs, float)), rtol=RTOL, atol=ATOL,
                 err_msg=what)


def rows_of(case) -> pd.DataFrame:
    rows = pd.DataFrame({"study_id": [f"s{i + 1}" for i in range(len(case["yi"]))], "yi": case["yi"],
                         "vi": case["vi"], "year": case["year"], "rob_overall": case["rob"]})
    if "group" in case:
        rows["group"] = case["group"]
    return rows


def fitted(case, test: str = "z", control=True):
    return am.fit(rows_of(case), method=case["method"], test=test, control=case["control"] if control else None)


def summary(fit) -> list[float]:
    return [fit.estimate, fit.se, *fit.conf_int(), fit.tau2]


EXPECTED_SUMMARY = ("estimate", "se", "ci_lb", "ci_ub", "tau2")


@pytest.mark.parametrize("name", CASES)
def test_the_default_control_fails_where_metafors_does(name):
    """The data sets are ones where the control matters: metafor's defaults stop, and so do ours."""
    case = CASES[name]
    assert case["default_fails"] if isinstance(case["default_fails"], bool) else case["default_fails"][0]
    assert not fitted(case, control=False).converged
    fit = fitted(case)
    assert fit.converged and fit.control == Control(**case["control"])
    close(summary(fit), [case["fit"][name] for name in EXPECTED_SUMMARY], "the fit")


@pytest.mark.parametrize("name, test", [("pm_tau2_max", "z"), ("pm_tau2_max", "knha"), ("reml_maxiter", "z")])
def test_leave_one_out_influence_and_cumulative_refit_with_the_fits_control(name, test):
    case = CASES[name]
    fit, expected = fitted(case, test), case[test]
    loo = am.leave_one_out(fit).to_frame()
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("p", "pval"), ("ci_lower", "ci_lb"),
                         ("ci_upper", "ci_ub"), ("q", "q"), ("tau2", "tau2"), ("i2", "i2")]:
        close(loo[ours], expected["leave1out"][theirs], f"leave1out {ours}")
    influence = am.influence(fit).to_frame()
    for column in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "hat", "weight", "dfbetas"):
        close(influence[column], expected["influence"][column], f"influence {column}")
    cumulative = am.cumulative(fit).to_frame()
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_lower", "ci_lb"), ("ci_upper", "ci_ub"),
                         ("tau2", "tau2")]:
        close(cumulative[ours], expected["cumulative"][theirs], f"cumul {ours}")


def test_publication_bias_and_gosh_refit_with_the_fits_control():
    """trim and fill, Egger's test (regtest's meta-regression) and the test of excess significance of a PM fit
    whose root lies above the default tau2_max; every GOSH subset refitted with it."""
    case = CASES["pm_tau2_max"]
    fit = fitted(case)
    result = am.publication_bias(fit)
    close(result.estimate, case["fit"]["estimate"], "the funnel's centre")
    table = result.table.set_index("test")
    close(table.loc["egger", ["statistic", "p"]], [case["egger"]["statistic"], case["egger"]["pval"]], "regtest")
    close(table.loc["tes", "p"], case["tes"]["pval"], "tes")
    filled = result.filled
    assert (filled.k0, filled.side) == (case["trimfill"]["k0"], case["trimfill"]["side"])
    close([filled.fit.estimate, filled.fit.se, filled.fit.tau2],
          [case["trimfill"][name] for name in ("estimate", "se", "tau2")], "trimfill")
    gosh = am.gosh(fit).result
    ours = {tuple(row): i for i, row in enumerate(gosh.included.astype(int).tolist())}
    at = [ours[tuple(row)] for row in case["gosh"]["incl"]]
    close(gosh.estimate[at], case["gosh"]["estimate"], "gosh estimate")
    close(gosh.tau2[at], case["gosh"]["tau2"], "gosh tau2")


@pytest.mark.parametrize("name", CASES)
def test_risk_of_bias_subsets_and_refit_keep_the_control(name):
    """update(fit, subset =) keeps the control: the subset without the high-risk study is one where the default
    control fails."""
    case = CASES[name]
    fit = fitted(case)
    table = am.risk_of_bias_sensitivity(fit, "quips").table.set_index("subset")
    for subset in ("exclude_high", "low_only"):
        close(table.loc[subset, ["estimate", "se", "ci_lower", "ci_upper", "tau2"]],
              [case[subset][name] for name in EXPECTED_SUMMARY], subset)
    assert fit.refit(test="knha").control == fit.control
    assert fit.refit(rows_of(case).iloc[:5]).control == fit.control
    assert fit.refit(control=None).control is None


@pytest.mark.parametrize("name", CASES)
def test_the_multiverse_fits_its_specifications_with_the_fits_control(name):
    """am.multiverse fitted its specifications with metafor's default control, under which these fits fail (a
    note said so): they take the fit's control now, as rma(subset =, control =) does."""
    case = CASES[name]
    settings = {"methods": [case["method"]], "tests": ["z"], "aggregate_methods": ["gls"], "outliers": ["none"],
                "publication": ["all"], "risk_of_bias": ["all", "exclude_high", "low_only"], "priors": []}
    result = am.multiverse(fitted(case), settings)
    table = result.table.set_index("risk_of_bias")
    for subset, expected in (("all", case["fit"]), ("exclude_high", case["exclude_high"]),
                             ("low_only", case["low_only"])):
        close(table.loc[subset, ["estimate", "se", "ci_lower", "ci_upper", "tau2"]],
              [expected[name] for name in EXPECTED_SUMMARY], f"multiverse {subset}")
    assert result.notes == ()
    rows = rows_of(case).assign(study_id=lambda frame: frame["study_id"].replace({"s2": "s1"}))  # two rows of s1
    three_level = am.multiverse(am.fit(rows, method=case["method"], control=case["control"]),
                                {**settings, "aggregate_methods": ["gls", "multilevel"], "methods": ["REML"]})
    assert any("control sets the univariate specifications only" in note for note in three_level.notes)


def test_subgroups_of_the_moderator_analyses_keep_the_control():
    case = CASES["reml_maxiter"]
    subgroups = am.moderators(fitted(case), "group", permutations=0).subgroups.set_index("level")
    close(subgroups.loc["a", ["estimate", "se", "ci_lower", "ci_upper", "tau2"]],
          [case["subgroup_a"][name] for name in EXPECTED_SUMMARY], "subgroup a")


def test_refits_iterate_to_the_converged_root_with_the_rest_of_the_fits_control():
    from alliance_meta.engines.heterogeneity import refit_control

    assert refit_control(None) is TIGHT_CONTROL
    own = refit_control(Control(threshold=1e-4, max_iterations=50, step_adjustment=0.5, tau2_max=50.0))
    assert own == Control(threshold=TIGHT_CONTROL.threshold, max_iterations=TIGHT_CONTROL.max_iterations,
                          step_adjustment=0.5, tau2_max=50.0)
    assert refit_control(Control(threshold=1e-15, max_iterations=5000)) == Control(threshold=1e-15,
                                                                                    max_iterations=5000)


def test_univariate_study_weights_are_metafors():
    """weights(rma.uni) in percent: a GENQ fit's own weights (or its default 1/sqrt(vi)), else 1/(vi + tau2)."""
    from alliance_meta.analyses.risk_of_bias import study_weights
    from alliance_meta.report.grade import study_weights as row_study_weights

    case = REFERENCE["univariate_weights"]
    rows = pd.DataFrame({"study_id": [f"s{i + 1}" for i in range(len(case["yi"]))], "yi": case["yi"],
                         "vi": case["vi"]})
    close(study_weights(am.fit(rows, method="GENQ", weights=case["ni"])), case["genq_ni"], "GENQ, weights = ni")
    genq = am.fit(rows, method="GENQ")
    close(study_weights(genq), case["genq_default"], "GENQ, 1/sqrt(vi)")
    from_row = row_study_weights(genq.data, genq.to_frame().iloc[0].to_dict())  # the GRADE rating's, as the pipeline's
    close(100 * from_row / from_row.sum(), case["genq_default"], "GRADE's weights of a GENQ row")
    weights = study_weights(am.fit(rows))
    close(weights, case["reml"], "REML")
    assert list(weights.index) == list(rows["study_id"])


@pytest.mark.parametrize("case", REFERENCE["three_level_weights"], ids=lambda case: case["name"])
def test_three_level_study_weights_are_metafors_row_sums_by_study(case):
    """A study's share of the three-level estimate: weights(rma.mv, type = "rowsum") summed over its rows, at
    metafor's sigma2 (the shared function) and at ours (the fit)."""
    from alliance_meta.analyses.risk_of_bias import study_weights
    from alliance_meta.models.multilevel import study_weights as block_weights

    vi = np.array(case["vi"], float)
    at_metafors = block_weights(vi, case["study"], *case["sigma2"], rho=case["rho"])
    close(at_metafors.to_numpy(), case["study_weights"], "at metafor's sigma2")
    assert list(at_metafors.index) == case["study_ids"]
    rows = pd.DataFrame({"yi": np.array(case["yi"], float), "vi": vi, "study_id": case["study"],
                         "es_id": [str(i) for i in range(len(vi))]})
    fit = am.fit(rows, dependence="multilevel", rho=case["rho"])
    close(study_weights(fit).to_numpy(), case["study_weights"], "the fit's study weights")


@pytest.mark.parametrize("case", REFERENCE["three_level_weights"], ids=lambda case: case["name"])
def test_the_grade_rating_weighs_studies_as_the_fit(case):
    """summary_of_findings.csv's risk-of-bias share (from pooled.csv's row and the analysed rows) takes the same study
    weights as the fit: a three-level row's rho enters the blocks (they were diag(v + sigma2_within) +
    sigma2_between J, without the sampling correlation rho)."""
    from alliance_meta.analyses.risk_of_bias import study_weights
    from alliance_meta.report.grade import study_weights as row_study_weights

    rows = pd.DataFrame({"yi": np.array(case["yi"], float), "vi": np.array(case["vi"], float),
                         "study_id": case["study"], "es_id": [str(i) for i in range(len(case["vi"]))]})
    fit = am.fit(rows, dependence="multilevel", rho=case["rho"])
    from_row = row_study_weights(fit.data, fit.to_frame().iloc[0].to_dict())
    close(from_row.reindex(study_weights(fit).index), study_weights(fit), "the grade's weights")
    close(from_row.to_numpy(), case["study_weights"], "metafor's")


EXTREMES = {case["name"]: case for case in REFERENCE["fisher_scoring_extremes"]}
SCORING = ("ML", "REML", "EB")


@pytest.mark.parametrize("name", EXTREMES)
@pytest.mark.parametrize("method", SCORING)
def test_fisher_scoring_at_extreme_data_converges_to_metafors_tau2(name, method):
    """Where metafor converges, so do we, to its tau^2 (at 2.2e15 for the probe's ML, which stopped with "did not
    converge" before: its iterates alternated between neighbouring doubles, and a change of 1e-5 is below their
    spacing). Where metafor's iterates alternate so, it says "did not converge"; ours stop with a note saying that
    tau^2 changes by rounding only, at metafor's fit with the threshold raised to that rounding."""
    case = EXTREMES[name]
    expected = case[method]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning
        fit = am.fit(case["yi"], case["vi"], method=method)
    assert fit.converged
    if expected["converged"]:
        close([fit.tau2, fit.estimate, fit.se], [expected[key] for key in ("tau2", "estimate", "se")], "the fit")
        return
    assert "Fisher scoring algorithm did not converge" in expected["message"]
    close([fit.tau2, fit.estimate, fit.se], [expected["at_rounding"][key] for key in ("tau2", "estimate", "se")],
          "metafor's fit with the threshold at the rounding error")


def test_a_fit_stopped_by_rounding_says_so():
    """The probe's REML: metafor says "did not converge" (its iterates alternate between neighbouring doubles), ours
    stop there with a note; a fit whose tau^2 changes by less than the threshold, without one."""
    probe, tiny_vi = EXTREMES["probe"], EXTREMES["tiny_vi"]
    note = am.fit(probe["yi"], probe["vi"], method="REML").note
    assert note.startswith("REML: Fisher scoring stopped where tau^2 = 3.33333e+15 changes by rounding only (by ")
    assert "above the threshold 1e-05); metafor's rma reports no convergence there" in note
    assert "rounding" not in am.fit(tiny_vi["yi"], tiny_vi["vi"], method="REML").note


@pytest.mark.parametrize("method", SCORING)
def test_refits_at_extreme_data_converge_as_the_fit_does(method):
    """Leave-one-out and GOSH (batched Fisher scoring) stop as the fit does: each deletion and each subset with one
    of the four studies in the millions has the tau^2 of a fit to its studies (many were NaN in one or the other)."""
    case = EXTREMES["spread_1e7"]
    yi, vi = np.array(case["yi"]), np.array(case["vi"])
    fit = am.fit(yi, vi, method=method)
    deletions = am.leave_one_out(fit).to_frame()["tau2"].to_numpy()
    close(deletions, [am.fit(np.delete(yi, i), np.delete(vi, i), method=method).tau2 for i in range(yi.size)],
          "leave-one-out tau2")
    gosh = am.gosh(fit).result
    huge = gosh.included[:, :4].any(axis=1)
    direct = [am.fit(yi[rows], vi[rows], method=method).tau2 for rows in gosh.included[huge].astype(bool)]
    close(gosh.tau2[huge], direct, "GOSH tau2")


@pytest.mark.parametrize("method", SCORING)
def test_a_converging_fit_at_a_tight_threshold_has_no_rounding_note(method):
    """k = 400 ordinary effects with tau^2 about 0.86 at the refits' threshold 1e-13: 4 k eps tau^2 (about 3e-13)
    exceeds the threshold, but the iteration is still converging there (its changes shrink by a factor a step), so
    it goes on to a change of at most 1e-13, as metafor's rma does (rma(yi, vi, control = list(threshold = 1e-13))
    converges, ML tau^2 0.86180278577707559), without a note that tau^2 changes by rounding only; before, it
    stopped a step early with that note (and the refits' numbers moved in their last digits)."""
    i = np.arange(400)
    yi, vi = 1.4 * np.sin(1.7 * i) + 0.3 * np.cos(0.3 * i), 0.04 + 0.3 * ((i * 7) % 11) / 11
    control = Control(threshold=1e-13, max_iterations=1000)
    estimate = estimate_tau2(yi, vi, method, control=control)
    assert estimate.converged and "rounding" not in estimate.message
    assert "rounding" not in am.fit(yi, vi, method=method, control=control).note
    one_step = Control(threshold=1e300, ll0_check=False)  # one more step from the estimate: within 1e-13 of it
    assert abs(_fisher_scoring(moment_design(yi - yi.mean()), vi, method, estimate.tau2, one_step).tau2
               - estimate.tau2) <= 1e-13


def test_scoring_stops_by_rounding_only_where_the_changes_stop_shrinking():
    """Within the rounding band (4 k eps tau^2 above the threshold) a shrinking change goes on; the first change no
    smaller than the smallest before it stops (alternating or cycling between neighbouring doubles)."""
    tau2, k, threshold = 1.0, 400, 1e-13  # band up to 3.6e-13
    assert not scoring_stopped(3e-13, math.inf, tau2, threshold, k)
    assert not scoring_stopped(2e-13, 3e-13, tau2, threshold, k)  # still converging
    assert scoring_stopped(2e-13, 2e-13, tau2, threshold, k)  # alternating
    assert scoring_stopped(3e-13, 2e-13, tau2, threshold, k)  # cycling
    assert scoring_stopped(5e-14, 2e-13, tau2, threshold, k)  # the threshold
    assert not scoring_stopped(1e-12, 1e-12, tau2, threshold, k)  # above the band: not rounding
    np.testing.assert_array_equal(scoring_stopped(np.array([2e-13, 2e-13]), np.array([3e-13, 1e-13]), tau2,
                                                  threshold, np.array([k, k])), [False, True])


TINY_VARIANCES = {case["name"]: case for case in REFERENCE["tiny_variances"]}
TINY_KEYS = ("tau2", "estimate", "se", "q", "i2", "h2", "tau2_ci_lb", "tau2_ci_ub")


@pytest.mark.parametrize("name", TINY_VARIANCES)
@pytest.mark.parametrize("method", ("EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM"))
def test_sampling_variances_near_1e300_fit_as_metafors(name, method):
    """Weights 1/vi near 1e300, whose squares overflow doubles: every estimator's fit, Q, I^2, H^2 and tau^2 interval
    are metafor's (relative tolerance alone: se is near 1e-151), without overflow warnings. Before, REML, ML, DL, PM
    and PMM gave tau^2 = 0, every fit Q = 0 (I^2 = 0 for the common-effect model) and an empty tau^2 interval."""
    case, expected = TINY_VARIANCES[name], TINY_VARIANCES[name][method]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning: overflow
        result = am.fit(case["yi"], case["vi"], method="common" if method == "EE" else method).result
    ours = [result.tau2, result.estimate, result.se, result.q, result.i2, result.h2, result.tau2_ci_lower,
            result.tau2_ci_upper]
    assert_close(ours, [expected[key] for key in TINY_KEYS], rtol=RTOL, atol=0, err_msg=f"{name} {method}")


TINY_SENSITIVITY = REFERENCE["tiny_sensitivity"]
#: metafor's names of the leave-one-out, influence and cumulative columns that differ from ours
METAFOR_COLUMNS = {"ci_lb": "ci_lower", "ci_ub": "ci_upper"}


@pytest.mark.parametrize("method", ("EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM"))
def test_sensitivity_at_sampling_variances_near_1e300_is_metafors(method):
    """Weights 1/vi near 1e300: every deletion's and cumulative step's fit, Q, I^2, H^2 and tau^2 and the influence
    diagnostics are metafor's leave1out, influence and cumul (relative tolerance alone: se near 1e-151, DFFITS near
    1e149), without overflow warnings. Before, the deletions had Q = 0 and I^2 NaN, DL's tau^2 = 0."""
    case, expected = TINY_SENSITIVITY, TINY_SENSITIVITY[method]
    rows = pd.DataFrame({"study_id": [f"s{i + 1}" for i in range(len(case["yi"]))], "yi": case["yi"],
                         "vi": case["vi"], "year": case["year"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning: overflow
        fit = am.fit(rows, method="common" if method == "EE" else method)
        tables = {"leave1out": am.leave_one_out(fit).to_frame(), "influence": am.influence(fit).to_frame(),
                  "cumulative": am.cumulative(fit).to_frame()}
    for name, table in tables.items():
        for key, values in expected[name].items():
            values = values if values != {} else np.zeros(len(table))  # EE: metafor has no tau2, ours 0
            assert_close(table[METAFOR_COLUMNS.get(key, key)], values, rtol=RTOL, atol=0,
                         err_msg=f"{method} {name} {key}")


@pytest.mark.parametrize("method", SCORING)
def test_fisher_scoring_where_tau2_is_near_1e302_takes_metafors_step(method):
    """y near 1e-151, vi and tau^2 near 1e-302: the step from HE needs the fourth powers of weights near 1e302.
    Our fit is metafor's on the data in units 1e151 times larger, scaled back (metafor's own fit overflows there
    and returns the HE start for ML and REML); before, ours overflowed as metafor's, with RuntimeWarnings."""
    case = REFERENCE["tiny_tau2"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = am.fit(case["yi"], case["vi"], method=method)
    expected = case[method]["rescaled"]
    assert_close([fit.tau2, fit.estimate, fit.se], [expected[key] for key in ("tau2", "estimate", "se")], rtol=RTOL,
                 atol=0, err_msg=method)


MIXED = REFERENCE["mixed_variances"]
MIXED_KEYS = ("tau2", "estimate", "se", "q", "i2", "h2")


@pytest.mark.parametrize("method", ("EE", "DL", "HE", "HS", "HSk", "SJ"))
def test_one_variance_near_1e300_beside_ordinary_ones_fits_without_cancellation(method):
    """vi = 1e-300 beside 0.05-0.2: one weight holds all but 1e-298 of the sum, and tr(P) = sum w - sum w^2 / sum w
    and Q cancel completely. metafor's own answer there is rounding noise (its Q 2e283 where Q is 34.07, tr(P)
    1.5e284 where it is 83.3; so DL tau^2 0.13 where it is 0.36, HS 2e-17, every I^2 100 and H^2 near 1e283): the
    reference is the same formulas summed over positive terms only (fit_control.R, `exact`), and only HE's and SJ's
    tau^2, which need neither, are metafor's. Before, ours cancelled too: Q 0, DL tau^2 0 (the refits 1e-18, H^2
    1e266)."""
    expected = MIXED[method]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = am.fit(MIXED["yi"], MIXED["vi"], method="common" if method == "EE" else method).result
    assert_close([getattr(result, key) for key in MIXED_KEYS], [expected["exact"][key] for key in MIXED_KEYS],
                 rtol=RTOL, atol=0, err_msg=method)


def test_leave_one_out_beside_a_variance_near_1e300_fits_without_cancellation():
    """Each DL deletion of the same data that keeps the study of vi = 1e-300: its Q, tr(P), tau^2, I^2 and H^2 summed
    without cancellation (fit_control.R `leave1out_DL`, metafor's formulas over positive terms; metafor's own
    leave1out is rounding noise there: Q near 1e282, H^2 near 1e281). Before, tau^2 was 1e-18 and H^2 1e266."""
    fit = am.fit(MIXED["yi"], MIXED["vi"], method="DL")
    table = am.leave_one_out(fit).to_frame()
    for key in MIXED_KEYS:
        assert_close(table[key], [row[key] for row in MIXED["leave1out_DL"]], rtol=RTOL, atol=0, err_msg=key)


@pytest.mark.parametrize("dominant_variance", (1e-300, 1e-30))
@pytest.mark.parametrize("method", ("common", "DL", "HS", "SJ", "GENQ", "PM", "PMM", "REML", "ML", "EB"))
def test_gosh_and_deletions_beside_a_dominant_weight_are_each_a_fit_of_their_studies(method, dominant_variance):
    """The data of `mixed_variances` with vi_1 = 1e-300 (weights scaled by a power of two) and 1e-30 (not scaled):
    every GOSH subset's and every deletion's Q, I^2, tau^2 and estimate are am.fit's of its studies (whose own
    figures are checked against the cancellation-free reference above; the deletions' with the refits' tight
    control), to 1e-9. Before, the subsets and deletions keeping the dominant study had tr(P) of rounding noise (DL's
    tau^2 and every I^2, GENQ's tau^2 inf), and PM's, PMM's, REML's and ML's Q(tau^2) or REML's tr(P P) cancelled
    (PM's deletion tau^2 0 beside Q 5 on 3 df, REML's NaN)."""
    from alliance_meta.analyses.gosh import gosh

    y, v = np.array(MIXED["yi"]), np.array([dominant_variance, *MIXED["vi"][1:]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        subsets = gosh(y, v, method)
        deletions = am.leave_one_out(am.fit(y, v, method=method)).to_frame()
    for row, inside in enumerate(subsets.included):
        fit = am.fit(y[inside], v[inside], method=method, tau2_interval=False).result
        for key in ("q", "i2", "tau2", "estimate"):
            assert getattr(subsets, key)[row] == pytest.approx(getattr(fit, key), rel=1e-9, abs=0), (row, key)
    for row in range(y.size):
        fit = am.fit(np.delete(y, row), np.delete(v, row), method=method, tau2_interval=False,
                     control=TIGHT_CONTROL).result
        for key in ("q", "i2", "h2", "tau2", "estimate", "se"):
            assert deletions[key].iloc[row] == pytest.approx(getattr(fit, key), rel=1e-9, abs=0), (row, key)


SOLVED = MIXED["solved"]


@pytest.mark.parametrize("method", ("PM", "PMM", "REML", "ML"))
@pytest.mark.parametrize("data", SOLVED)
def test_estimators_solved_in_tau2_beside_a_variance_near_1e300(data, method):
    """PM and PMM (roots of Q(tau^2)), REML and ML (Fisher scoring, to the converged root; ML's ll0check) beside
    vi = 1e-300 agree with the same solutions of the cancellation-free Q(tau^2) and log likelihood (fit_control.R,
    `solved`; metafor's PM, 0.006329 where the root is 0.006339, has the rounding noise of Q near tau^2 = 0). Before,
    Q(tau^2) cancelled (PM 0 on the data `beside`) and so did REML's tr(P) and tr(P P): REML not converged, its note
    "rescale the effect units"."""
    case = SOLVED[data]
    fit = am.fit(case["yi"], case["vi"], method=method, control=TIGHT_CONTROL if method in ("REML", "ML") else None)
    assert fit.converged, fit.note
    close(fit.tau2, case["exact"][method], f"{data} {method}")


@pytest.mark.parametrize("data", SOLVED)
def test_q_profile_interval_beside_a_variance_near_1e300(data):
    """The DL fit's Q-profile tau^2 interval is the exact Q(tau^2)'s (fit_control.R, `dl_interval`). Before, Q(0)
    cancelled to 0: the interval [0, 0] with a false note "the null set" where it is [0, 0.2495]."""
    case = SOLVED[data]
    result = am.fit(case["yi"], case["vi"], method="DL").result
    close([result.tau2_ci_lower, result.tau2_ci_upper], case["dl_interval"], data)
    assert "null set" not in result.note


TIED_KEYS = ("tau2", "estimate", "se", "q", "i2", "h2")


@pytest.mark.parametrize("tiny", MIXED["tied"])
def test_two_studies_tied_at_the_smallest_variance_fit_without_cancellation(tiny):
    """Two studies sharing vi = 1e-300 (or 1e-20): no single weight dominates, Q cancelled all the same (Q, I^2 and
    H^2 0 where Q is 34.07; the DL deletions' Q 0, H^2 9.6e265). Now the effects are centred on the heaviest study's
    wherever a weight may dominate: the common-effect and DL fits and each DL deletion are fit_control.R's `tied`."""
    case = MIXED["tied"][tiny]
    for method, expected in (("common", case["EE"]), ("DL", case["DL"])):
        result = am.fit(case["yi"], case["vi"], method=method).result
        assert_close([getattr(result, key) for key in TIED_KEYS], [expected[key] for key in TIED_KEYS], rtol=RTOL,
                     atol=0, err_msg=method)
    table = am.leave_one_out(am.fit(case["yi"], case["vi"], method="DL")).to_frame()
    for key in TIED_KEYS:
        assert_close(table[key], [row[key] for row in case["leave1out_DL"]], rtol=RTOL, atol=0, err_msg=key)


def test_deletions_beside_a_dominant_weight_are_found_in_linear_memory():
    """Which deletions leave one weight holding nearly all the sum is decided per deletion from the two largest
    weights and the others' sum: the same deletions as dominant_weights of each deletion's weights (one weight
    dominating, two tied, one dominating only once its rival is deleted), and without the (k+1) x (k+1) matrix of
    every deletion's weights that was built whenever a weight might dominate (k = 3000, vi_1 = 1e-12: 72 MB)."""
    import tracemalloc

    from alliance_meta.analyses.sensitivity.univariate import _deletion_summaries, _dominant_without_each
    from alliance_meta.engines.heterogeneity import dominant_weights

    ordinary = np.linspace(5.0, 20.0, 8)
    for weights in (np.r_[1e300, ordinary], np.r_[1e300, 1e300, ordinary], np.r_[1e300, 1e290, ordinary],
                    np.r_[ordinary, 1e12], np.r_[ordinary, 1e9]):
        every = np.where(np.eye(weights.size, dtype=bool), 0.0, weights)  # row i: weights without study i
        assert list(_dominant_without_each(weights)) == list(dominant_weights(every) >= 0), weights
    k = 3000
    vi = np.r_[1e-12, np.linspace(0.05, 0.2, k - 1)]
    yi = np.sin(np.arange(k))
    tracemalloc.start()
    _deletion_summaries(yi, vi, np.zeros(k), "DL", "z", 95)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20e6, peak
