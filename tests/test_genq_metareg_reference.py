"""The GENQ estimator in meta-regressions agrees with metafor 3.8-1's ``rma(mods =, weights = a, method = "GENQ")``.

Reference values: tests/reference/genq_metareg.R (metadat's dat.bcg, dat.molloy2014 and dat.hackshaw1998;
weights 1/sqrt(vi), the pipeline's GENQ weights, or ni; tests z, knha and adhoc; an exact permutest),
committed as genq_metareg.json. Tolerance: 1e-6 relative, 1e-8 absolute (for values near zero).
Egger's test and trim and fill under GENQ: tests/test_bias_reference.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close, load_reference

from alliance_meta.analyses import permutation
from alliance_meta.engines import tau2_mods
from alliance_meta.models import metareg, univariate

REFERENCE = load_reference("genq_metareg")
CASES = [pytest.param(case, id=case["name"]) for case in REFERENCE["cases"]]
RTOL, ATOL = 1e-6, 1e-8


def close(ours, theirs, what: str):
    assert_close(np.ravel(ours), np.ravel(theirs), rtol=RTOL, atol=ATOL, err_msg=what)


def arrays(case):
    return (np.array(case["yi"], float), np.array(case["vi"], float), np.array(case["X"], float),
            np.array(case["weights"], float))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
def test_genq_meta_regression_matches_metafor(case, test):
    yi, vi, X, a = arrays(case)
    default = case["weights_rule"] == "1/sqrt(vi)"  # the pipeline's weights need not be passed
    fit = metareg.fit(yi, vi, X, case["columns"], method="GENQ", weights=None if default else a,
                      knha_adhoc=test == "adhoc")
    expected = case[test]
    assert fit.k == case["k"] and fit.converged
    close(fit.weights, a, "weights")
    close(fit.tau2, expected["tau2"], "tau2")
    table = fit.coefficients("z" if test == "z" else "knha")
    for ours, theirs in [("estimate", "beta"), ("se", "se"), ("statistic", "statistic"), ("p", "pval"),
                         ("ci_lower", "ci_lb"), ("ci_upper", "ci_ub")]:
        close(table[ours], expected[theirs], f"{test} {ours}")
    if test != "z":
        close(fit.knha_scale, expected["s2w"], "s2w")
    omnibus = (fit.qm, fit.qm_p) if test == "z" else (fit.f, fit.f_p)
    close(omnibus, [expected["qm"], expected["qm_p"]], f"{test} omnibus")
    for name in ("qe", "qe_p", "i2", "h2", "r2"):
        close(getattr(fit, name), expected[name], name)
    mean, se, lower, upper = fit.predict(X, "z" if test == "z" else "knha")
    close([mean, se, lower, upper], [expected[key] for key in ("pred", "pred_se", "pred_ci_lb", "pred_ci_ub")],
          f"{test} predict")


def test_a_truncated_tau2_is_among_the_cases():
    """hackshaw15_year's GENQ moment estimate is negative: truncated at 0, as metafor."""
    case = next(case for case in REFERENCE["cases"] if case["name"] == "hackshaw15_year")
    yi, vi, X, a = arrays(case)
    assert tau2_mods.generalised_q(X, (yi - yi.mean())[None], vi[None], a[None])[0] < 0
    assert case["z"]["tau2"] == 0 and metareg.fit(yi, vi, X, method="GENQ").tau2 == 0


def test_intercept_only_genq_is_the_univariate_genq():
    """With X = 1 the moderator engine's GENQ is the intercept-only model's (one estimator, two code paths)."""
    case = REFERENCE["cases"][0]
    yi, vi, _, _ = arrays(case)
    pooled = univariate.fit(yi, vi, method="GENQ")
    fit = metareg.fit(yi, vi, np.ones((len(yi), 1)), method="GENQ")
    close([fit.tau2, fit.estimate[0], np.sqrt(fit.covariance[0, 0])], [pooled.tau2, pooled.estimate, pooled.se],
          "intercept only")


@pytest.mark.parametrize("test", ["z", "knha"])
def test_genq_exact_permutation_test_matches_metafor_permutest(test):
    """permutest permutes the rows of X against yi, vi and the GENQ weights, refitting each by GENQ."""
    case = REFERENCE["permutation"]
    yi, vi, X = (np.array(case[key], float) for key in ("yi", "vi", "X"))
    fit = metareg.fit(yi, vi, X, method="GENQ")
    result = permutation.permutation_test(fit, yi, vi, X, iterations=1000)
    expected = case[test]
    assert result.exact and result.iterations == expected["iterations"] and result.failed == 0
    p, omnibus = (result.p, result.qm_p) if test == "z" else (result.p_knha, result.f_p)
    close(p, expected["pval"], f"{test} p")
    close(omnibus, expected["qm_p"], f"{test} omnibus p")


def test_weights_are_genq_only_and_checked():
    yi, vi, X, a = arrays(REFERENCE["cases"][0])
    with pytest.raises(ValueError, match=r"weights are used by the GENQ estimator only, not by method='REML'"):
        metareg.fit(yi, vi, X, method="REML", weights=a)
    with pytest.raises(ValueError, match="weights must be finite, positive and one per effect size"):
        metareg.fit(yi, vi, X, method="GENQ", weights=a[1:])
    with pytest.raises(ValueError, match="GENQ needs weights"):
        tau2_mods.estimate_tau2(X, yi, vi, "GENQ")
