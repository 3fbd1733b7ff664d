"""A GENQ fit with weights of one's own keeps them, and the analyses that refit it use them, as metafor 3.8-1's
``leave1out``, ``influence``, ``cumul``, ``regtest``, ``trimfill``, ``tes`` and ``gosh`` on
``rma(yi, vi, weights = a, method = "GENQ")``, and ``am.multiverse``'s GENQ specifications as ``rma(subset =)`` of it.

Reference values: tests/reference/genq_custom_weights.R (metadat's dat.bcg with a = total n, dat.molloy2014 with
a = ni and a = 1/vi^0.25, and its first two studies), committed as genq_custom_weights.json. Tolerance: 1e-6
relative, 1e-8 absolute (for values near zero).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_reference

import alliance_meta as am

REFERENCE = load_reference("genq_custom_weights")
CASES = [pytest.param(case, id=case["name"]) for case in REFERENCE["cases"]]
BIAS_CASES = [pytest.param(case, id=case["name"]) for case in REFERENCE["cases"] if "egger" in case]
RTOL, ATOL = 1e-6, 1e-8


def close(ours, theirs, what: str):
    assert_close(np.ravel(np.asarray(ours, float)), np.ravel(theirs), rtol=RTOL, atol=ATOL, err_msg=what)


def fitted(case, test: str = "z"):
    rows = pd.DataFrame({"study_id": [f"s{i + 1}" for i in range(len(case["yi"]))], "yi": case["yi"],
                         "vi": case["vi"], "year": case["year"]})
    return am.fit(rows, method="GENQ", test=test, weights=case["weights"])


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("test", ["z", "knha"])
def test_sensitivity_refits_use_the_fits_weights(case, test):
    fit = fitted(case, test)
    close([fit.estimate, fit.tau2], [case["estimate"], case["tau2"]], "the fit")
    expected = case[test]
    loo = am.leave_one_out(fit).to_frame()
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("statistic", "statistic"), ("p", "pval"),
                         ("ci_lower", "ci_lb"), ("ci_upper", "ci_ub"), ("q", "q"), ("q_p", "q_p"),
                         ("tau2", "tau2"), ("i2", "i2"), ("h2", "h2")]:
        close(loo[ours], expected["leave1out"][theirs], f"leave1out {ours}")
    influence = am.influence(fit).to_frame()
    for name in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight", "dfbetas"):
        close(influence[name], expected["influence"][name], f"influence {name}")
    assert influence["influential"].tolist() == expected["influence"]["influential"]
    cumulative = am.cumulative(fit).to_frame()
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_lower", "ci_lb"), ("ci_upper", "ci_ub"),
                         ("p", "pval"), ("q", "q"), ("q_p", "q_p"), ("tau2", "tau2"), ("i2", "i2"), ("h2", "h2")]:
        close(cumulative[ours], expected["cumulative"][theirs], f"cumul {ours}")


@pytest.mark.parametrize("case", BIAS_CASES)
def test_egger_tes_and_trim_and_fill_use_the_fits_weights(case):
    fit = fitted(case)
    result = am.publication_bias(fit)
    close(result.estimate, case["estimate"], "the funnel's centre is the fit's estimate")
    egger = result.table.set_index("test").loc["egger"]
    close([egger.statistic, egger.p, egger.estimate, egger.ci_lower, egger.ci_upper],
          [case["egger"][name] for name in ("statistic", "pval", "estimate", "ci_lb", "ci_ub")], "regtest")
    tes = result.table.set_index("test").loc["tes"]
    close(tes.p, case["tes"]["pval"], "tes p (of the model's estimate)")
    for estimator in ("L0", "R0"):
        expected = case["trimfill"][estimator]
        filled = am.publication_bias(fit, trimfill_estimator=estimator).filled
        assert (filled.k0, filled.side) == (expected["k0"], expected["side"])
        close(filled.se_k0, expected["se_k0"], f"{estimator} se_k0")
        close([filled.fit.estimate, filled.fit.se, filled.fit.ci_lower, filled.fit.ci_upper, filled.fit.tau2],
              [expected[name] for name in ("estimate", "se", "ci_lb", "ci_ub", "tau2")], f"trimfill {estimator}")
        close(filled.filled_yi, expected["filled_yi"], f"{estimator} filled yi")
        close(filled.filled_vi, expected["filled_vi"], f"{estimator} filled vi")


def test_refit_keeps_the_weights_while_the_model_is_genq():
    case = REFERENCE["cases"][1]
    fit = fitted(case)
    close(fit.weights, case["weights"], "the fit keeps its weights")
    knha = fit.refit(test="knha")
    close(knha.weights, case["weights"], "refit(test=)")
    close(knha.estimate, fit.estimate, "the same a-weighted estimate")
    assert fit.refit(method="REML").weights is None  # REML takes no weights


def test_default_weights_are_not_stored():
    """Without weights= the fit holds None (the default 1/sqrt(vi)), so its analyses run as before."""
    case = REFERENCE["cases"][1]
    rows = pd.DataFrame({"study_id": [f"s{i}" for i in range(len(case["yi"]))], "yi": case["yi"], "vi": case["vi"]})
    assert am.fit(rows, method="GENQ").weights is None


def test_gosh_refits_each_subset_with_its_weights():
    """am.gosh of a GENQ fit with weights: each subset's fit weighs its studies by the fit's weights, as metafor's
    gosh (its refits take ``x$weights``)."""
    case = REFERENCE["gosh"]
    rows = pd.DataFrame({"study_id": [f"s{i + 1}" for i in range(len(case["yi"]))], "yi": case["yi"], "vi": case["vi"]})
    result = am.gosh(am.fit(rows, method="GENQ", weights=case["weights"])).result
    ours = {tuple(row): i for i, row in enumerate(result.included.astype(int).tolist())}
    at = [ours[tuple(row)] for row in case["incl"]]
    for name, theirs in (("estimate", "estimate"), ("tau2", "tau2"), ("i2", "i2"), ("q", "q")):
        close(getattr(result, name)[at], case[theirs], f"gosh {name}")


def test_risk_of_bias_subsets_and_the_unadjusted_model_keep_the_weights():
    """A risk-of-bias subset is refitted with its studies' weights; the selection models' unadjusted model is the
    fit itself."""
    case = REFERENCE["cases"][1]
    k = len(case["yi"])
    rows = pd.DataFrame({"study_id": [f"s{i + 1}" for i in range(k)], "yi": case["yi"], "vi": case["vi"],
                         "rob_overall": ["high"] * 4 + ["low"] * (k - 4)})
    weights = np.array(case["weights"], float)
    fit = am.fit(rows, method="GENQ", weights=weights)
    table = am.risk_of_bias_sensitivity(fit, "quips").table.set_index("subset")
    subset = am.fit(rows.iloc[4:], method="GENQ", weights=weights[4:])
    close(table.loc["exclude_high", ["estimate", "tau2"]], [subset.estimate, subset.tau2], "exclude_high")
    close(am.selection_models(fit, types=("stepfun",)).unadjusted.estimate, fit.estimate, "unadjusted")


def test_the_multiverse_weighs_its_genq_specifications_and_outlier_rules_by_the_fits_weights():
    """am.multiverse fitted its GENQ specifications with 1/sqrt(vi) (a note said so): they weigh each study by the
    fit's weight now, as rma(subset =) of rma(weights = a) does, and so does the outlier rule's influence()."""
    case = REFERENCE["cases"][1]
    k = len(case["yi"])
    rows = pd.DataFrame({"study_id": [f"s{i + 1}" for i in range(k)], "yi": case["yi"], "vi": case["vi"],
                         "rob_overall": ["high"] * 4 + ["low"] * (k - 4)})
    weights = np.array(case["weights"], float)
    fit = am.fit(rows, method="GENQ", weights=weights)
    settings = {"methods": ["GENQ"], "tests": ["z"], "aggregate_methods": ["gls"], "outliers": ["none", "rstudent"],
                "publication": ["all"], "risk_of_bias": ["all", "exclude_high"], "priors": [],
                "outlier_threshold": 1.5}
    result = am.multiverse(fit, settings)
    table = result.table.set_index(["risk_of_bias", "outliers"])
    close(table.loc[("all", "none"), ["estimate", "tau2"]], [case["estimate"], case["tau2"]], "all rows: the fit")
    subset = am.fit(rows.iloc[4:], method="GENQ", weights=weights[4:])
    close(table.loc[("exclude_high", "none"), ["estimate", "tau2"]], [subset.estimate, subset.tau2], "exclude_high")
    outlying = np.abs(np.array(case["z"]["influence"]["rstudent"])) > 1.5  # metafor's rstudent of the fit
    assert 0 < outlying.sum() < k
    kept = am.fit(rows[~outlying], method="GENQ", weights=weights[~outlying])
    close(table.loc[("all", "rstudent"), ["k", "estimate", "tau2"]], [kept.k, kept.estimate, kept.tau2], "rstudent")
    assert result.notes == ()
