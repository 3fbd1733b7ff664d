"""Leave-one-out and influence when one study dominates a sum, against metafor's leave1out() and
influence() (tests/reference/leave_one_out_dominant.R -> leave_one_out_dominant.json) and against direct
fits of the remaining studies.

Each deletion was the full sums minus the deleted study's terms: with a study of y = 50 and vi = 1e-8
that cancels (Q without it wrong in the 5th digit; with y = 1e8, Q = 96 instead of 3.2). Such deletions
are now summed directly (``_cancels``), while the others keep the O(k) differences.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import assert_close as close, dataset_arrays, dataset_fit, fit_cases, load_reference

import alliance_meta as am
from alliance_meta.analyses.sensitivity import univariate as influence
from alliance_meta.models import univariate as pooling

REFERENCE = load_reference("leave_one_out_dominant")
METHOD_NAMES = {"EE": "common"}
CASES = fit_cases(REFERENCE)
data = functools.partial(dataset_arrays, REFERENCE)
reference_fit = functools.partial(dataset_fit, REFERENCE)


@pytest.mark.parametrize("name,method,test", CASES)
def test_leave_one_out_matches_leave1out_when_a_study_dominates(name, method, test):
    expected = reference_fit(name, method, test)["leave1out"]
    result = influence.leave_one_out(*data(name), method=METHOD_NAMES.get(method, method), test=test)
    fields = [("estimate", "estimate"), ("se", "se"), ("statistic", "zval" if test == "z" else "tval"),
              ("p", "pval"), ("ci_lower", "ci.lb"), ("ci_upper", "ci.ub"), ("q", "Q"), ("q_p", "Qp"), ("h2", "H2")]
    fields += [("i2", "I2"), ("tau2", "tau2")] if method != "EE" else []
    for ours, theirs in fields:  # I^2 and tau^2 at the boundary: metafor's 0 against a root within 1e-13 of it
        close(getattr(result, ours), expected[theirs], atol=1e-300 if ours in ("p", "q_p") else 1e-9, err_msg=ours)


@pytest.mark.parametrize("name,method,test", CASES)
def test_influence_matches_metafor_when_a_study_dominates(name, method, test):
    expected = reference_fit(name, method, test)["influence"]
    result = influence.influence(*data(name), method=METHOD_NAMES.get(method, method), test=test)
    for ours, theirs in [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_distance", "cook.d"),
                         ("covariance_ratio", "cov.r"), ("tau2_deleted", "tau2.del"), ("q_deleted", "QE.del"),
                         ("hat", "hat"), ("weight", "weight"), ("dfbetas", "dfbetas")]:
        # ML without the y = 50 study: tau^2_del is 3e-14 here (the batched scoring stops within its 1e-13
        # threshold of the boundary), 0 in metafor; DFFITS and DFBETAS divide by tau^2_del + vi with vi = 1e-8
        boundary = name == "dominant_y" and method == "ML" and ours in ("dffits", "dfbetas")
        close(getattr(result, ours), expected[theirs], rtol=1e-5 if boundary else 1e-6, atol=1e-9, err_msg=ours)
    assert result.influential.tolist() == expected["is_influential"]


@pytest.mark.parametrize("name", REFERENCE["datasets"])
@pytest.mark.parametrize("method,test", [("common", "knha"), ("DL", "z"), ("DL", "knha"), ("GENQ", "knha")])
def test_each_deletion_is_as_accurate_as_a_direct_fit_of_the_other_studies(name, method, test):
    """Closed-form tau^2: the deletion fits agree with pooling.fit of the remaining studies to 1e-9 (its Q of the
    dominant_y deletions, from moments about the arithmetic mean, is itself good to about 1e-11)."""
    yi, vi = data(name)
    result = influence.leave_one_out(yi, vi, method=method, test=test)
    for i in range(yi.size):
        direct = pooling.fit(np.delete(yi, i), np.delete(vi, i), method, test=test, tau2_interval=False)
        for field in ("estimate", "se", "ci_lower", "ci_upper", "q", "tau2", "i2", "h2"):
            np.testing.assert_allclose(getattr(result, field)[i], getattr(direct, field), rtol=1e-9, atol=1e-300,
                                       err_msg=f"{field} without study {i + 1}")


def test_notebook_api_deletion_of_a_dominant_study_is_the_fit_of_the_others():
    """The probe: y = 1e8 among two ordinary studies. Without it, Q = 3.2 and the estimate 0.3125 (am.fit of the
    other two), not Q = 96 and NaN; the other deletions, whose tau^2 (5e15) changes by rounding only, are the fits
    of their two studies too (NaN before: their Fisher scoring did not stop)."""
    result = am.leave_one_out(am.fit([1e8, 0.5, 0.1], [0.01, 0.02, 0.03])).to_frame()
    for i, others in enumerate(([0.5, 0.1], [1e8, 0.1], [1e8, 0.5])):
        direct = am.fit(others, np.delete([0.01, 0.02, 0.03], i))
        assert direct.converged
        np.testing.assert_allclose(result.iloc[i][["q", "estimate", "se", "tau2", "i2"]].to_numpy(float),
                                   [direct.q, direct.estimate, direct.se, direct.tau2, direct.i2], rtol=1e-12)


def test_notes_name_the_refits_that_did_not_converge():
    """fit_control.json's SIMULATED reml_maxiter data: REML needs more than metafor's default 100 Fisher scoring
    iterations, and with steps of 1% (step_adjustment) the deletions do not converge in 1000 either."""
    case, = [case for case in load_reference("fit_control")["cases"] if case["name"] == "reml_maxiter"]
    with pytest.warns(am.ConvergenceWarning):
        fitted = am.fit(case["yi"], case["vi"], control={"step_adjustment": 0.01})
    result = am.leave_one_out(fitted)
    missing = result.to_frame()["study_id"][result.to_frame()["estimate"].isna()].astype(str).tolist()
    assert missing
    assert any(note.startswith(f"leave-one-out without study {', '.join(missing)}: tau^2 (REML) did not converge")
               for note in result.notes)
    assert any("the fit's tau^2 (REML) did not converge" in note for note in am.influence(fitted).notes)


def test_no_notes_of_missing_refits_when_every_refit_has_an_estimate():
    result = am.leave_one_out(am.fit([0.3, 0.2, 0.4, 0.1], [0.01, 0.02, 0.03, 0.015]))
    assert result.notes == () and result.to_frame()["estimate"].notna().all()
