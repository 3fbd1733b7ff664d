"""S-values (Mathur & VanderWeele 2020) against PublicationBias 2.4.0 with robumeta
(tests/reference/svalue.R -> svalue.json).

The bias-corrected robust means, their intervals and the worst-case meta-analysis agree to
1e-12 relative. PublicationBias finds the S-values with ``optimize`` (tolerance ~1e-4); the
reference's ``tight`` values solve the same equations with ``uniroot(tol = 1e-13)``, and ours
agree with those to 1e-9 and with the package's printed ones to 1e-4.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from alliance_meta.analyses.bias import svalue as svalue_module
from alliance_meta.analyses.bias.svalue import robust_weighted_mean, s_values

REFERENCE = json.loads((Path(__file__).parent / "reference" / "svalue.json").read_text())["datasets"]


def case(name):
    entry = REFERENCE[name]
    return entry, np.array(entry["yi"], float), np.array(entry["vi"], float)


@pytest.mark.parametrize("name", REFERENCE)
def test_corrected_robust_means_match_pubbias_meta(name):
    entry, yi, vi = case(name)
    tau2 = svalue_module.pooling.fit(yi, vi, "REML", tau2_interval=False).tau2
    favoured = yi if entry["favor_positive"] else -yi
    affirmative = (2 * stats.norm.sf(np.abs(favoured) / np.sqrt(vi)) < 0.05) & (favoured > 0)
    for expected in entry["corrected"]:
        weights = np.where(affirmative, 1.0, expected["eta"]) / (vi + tau2)
        result = robust_weighted_mean(yi, vi, weights)
        np.testing.assert_allclose([result.estimate, result.se, result.ci_lower, result.ci_upper, result.df, result.p],
                                   [expected[key] for key in ("estimate", "se", "ci_lower", "ci_upper", "df",
                                                              "p_value")], rtol=1e-10)


@pytest.mark.parametrize("name", REFERENCE)
def test_svalues_and_worst_case_match_pubbias_svalue(name):
    entry, yi, vi = case(name)
    result = s_values(yi, vi, q=entry["q"])
    expected = entry["svalue"]
    assert result.favor_positive == entry["favor_positive"]
    assert (result.k_affirmative, result.k_nonaffirmative) == (expected["k_affirmative"], expected["k_nonaffirmative"])
    # the package reports the worst case on the favoured scale
    worst = expected["worst"]
    sign = 1 if entry["favor_positive"] else -1
    lower, upper = (result.worst.ci_lower, result.worst.ci_upper)[::sign]
    np.testing.assert_allclose([sign * result.worst.estimate, result.worst.se, sign * lower, sign * upper,
                                result.worst.df],
                               [worst[key] for key in ("estimate", "se", "ci_lower", "ci_upper", "df")], rtol=1e-10)
    for ours, printed, tight in ((result.svalue_estimate, expected["sval_est"], entry["tight"]["sval_est"]),
                                 (result.svalue_ci, expected["sval_ci"], entry["tight"]["sval_ci"])):
        if printed == "Not possible":
            assert ours == math.inf
        elif printed == "--":  # the uncorrected interval already contains q
            assert math.isnan(ours)
        else:
            assert ours == pytest.approx(tight, rel=1e-9)
            assert ours == pytest.approx(printed, rel=1e-4)


def test_svalue_of_the_estimate_is_the_closed_form_root():
    _, yi, vi = case("lehmann2018_q0.1")
    result = s_values(yi, vi, q=0.1)
    tau2 = svalue_module.pooling.fit(yi, vi, "REML", tau2_interval=False).tau2
    affirmative = (2 * stats.norm.sf(np.abs(yi) / np.sqrt(vi)) < 0.05) & (yi > 0)
    weights = np.where(affirmative, 1.0, result.svalue_estimate) / (vi + tau2)
    assert robust_weighted_mean(yi, vi, weights).estimate == pytest.approx(0.1, abs=1e-13)


def test_svalue_refuses_without_affirmative_studies():
    with pytest.raises(ValueError, match="no affirmative"):
        s_values([0.1, 0.05, 0.2], [0.04, 0.05, 0.06])


def test_many_studies_use_the_linear_form_with_robumetas_numbers(monkeypatch):
    """robust_weighted_mean built k x k matrices (and a k^3 product): 23 s of am.publication_bias's 33 s at
    k = 8000, and out of memory at k = 10^5. Above DENSE_MAX studies the same se and df come from sums.
    Reference: robumeta 2.1 robu(y ~ 1, studynum = 1:k, var.eff.size = v, userweights = w, small = TRUE)
    on these 2500 studies (run in R; 74 s)."""
    rng = np.random.default_rng(4)
    k = 2500
    yi, vi = rng.normal(0.3, 0.3, k), rng.uniform(0.001, 0.1, k)
    weights = 1 / (vi + 0.02) * rng.choice([1, 5], k)
    assert k > svalue_module.DENSE_MAX
    result = robust_weighted_mean(yi, vi, weights)
    np.testing.assert_allclose([result.estimate, result.se, result.df],
                               [3.02391197317712e-01, 7.81755622826349e-03, 5.89408789535265e+02], rtol=1e-12)
    rng = np.random.default_rng(5)
    many = s_values(rng.normal(0.3, 0.3, 100_000), rng.uniform(0.001, 0.1, 100_000))
    assert math.isfinite(many.uncorrected.se) and many.uncorrected.df > 1000
    monkeypatch.setattr(svalue_module, "DENSE_MAX", 10**9)  # the dense form gives the same numbers
    dense = robust_weighted_mean(yi, vi, weights)
    np.testing.assert_allclose([dense.se, dense.df], [result.se, result.df], rtol=1e-12)
