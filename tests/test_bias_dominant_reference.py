"""Publication-bias tests beside one sampling variance far smaller than the others (vi = 1e-300 or 1e-20 beside
0.02-0.1, or two: tied at 1e-300, or 1e-300 and 4e-300), against the exact values of tests/reference/bias_dominant.R
(the statistics summed without cancellation; metafor's own rank tau, selection-model LRT and our former lstsq
regression are rounding noise there: tau -0.44 where it is 0, LRT 1.9e266 where it is 6.27, egger_lm's t 1.9e-151
where it is 3.57). Egger's random-effects regression is not computed there and says why; beside variances that only
spread widely (1e-12 to 0.1) it is computed and is metafor's."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import assert_close as close, load_reference

from alliance_meta.analyses.bias.battery import bias_tests
from alliance_meta.analyses.bias.fail_safe import fail_safe_n
from alliance_meta.analyses.bias.henmi_copas import henmi_copas
from alliance_meta.analyses.bias.rank import rank_test
from alliance_meta.analyses.bias.regression import egger_lm_test, egger_test, pet_peese
from alliance_meta.analyses.bias.selection import selection_model
from alliance_meta.engines.heterogeneity import DOMINANCE_LIMIT, TIGHT_CONTROL, dominant_group, dominant_weight

REFERENCE = load_reference("bias_dominant")["cases"]
SINGLE = ["low_v300", "low_v20", "high_v300", "high_v20"]
TIED = ["tied", "near_tied"]


def data(name):
    case = REFERENCE[name]
    return np.array(case["yi"], float), np.array(case["vi"], float)


@pytest.mark.parametrize("name", [*SINGLE, *TIED])
def test_rank_test_is_exact_beside_a_dominant_variance(name):
    expected = REFERENCE[name]["exact"]["rank"]
    result = rank_test(*data(name))
    close(result.statistic, expected["tau"], atol=1e-15)
    close(result.p, expected["pval"], atol=0)


@pytest.mark.parametrize("name", [*SINGLE, *TIED])
def test_egger_lm_is_exact_beside_a_dominant_variance(name):
    expected = REFERENCE[name]["exact"]["egger_lm"]
    result = egger_lm_test(*data(name))
    for ours, theirs in (("statistic", "statistic"), ("p", "pval"), ("estimate", "estimate"), ("se", "se")):
        close(getattr(result, ours), expected[theirs], atol=0 if name not in TIED or ours != "statistic" else 1e-140,
              err_msg=ours)


@pytest.mark.parametrize("name", SINGLE)
def test_selection_model_lrt_is_exact_beside_a_dominant_variance(name):
    expected = REFERENCE[name]["exact"]["selection"]
    model = selection_model(*data(name), steps=(0.025, 1.0))
    close(model.estimate, expected["estimate"], atol=0)
    assert model.tau2 == 0.0
    close(model.delta[1], expected["delta2"], rtol=1e-6, atol=0)
    close(model.log_likelihood, expected["loglik"], atol=0, err_msg="loglik")
    close(model.log_likelihood_unadjusted, expected["loglik_unadjusted"], atol=0, err_msg="unadjusted")
    close(model.lrt, expected["lrt"], atol=0, err_msg="lrt")
    close(model.lrt_p, expected["pval"], atol=0, err_msg="lrt_p")


@pytest.mark.parametrize("name", SINGLE)
def test_egger_random_effects_regression_says_why_it_is_not_computed(name):
    with pytest.raises(ValueError, match=r"range from 1e-.*all but less than 2\^-26.*cancel"):
        egger_test(*data(name))
    rows = bias_tests(*data(name))[0].set_index("test")
    assert np.isnan(rows.loc["egger", "statistic"]) and np.isnan(rows.loc["egger", "p"])
    assert rows.loc["egger", "note"].startswith("not estimable: the sampling variances range from 1e-")
    for test in ("egger_lm", "rank", "selection_model"):  # the others are the exact values
        assert np.isfinite(rows.loc[test, "statistic"]), test


@pytest.mark.parametrize("method", ["REML", "ML", "DL", "PM", "HS", "GENQ"])
@pytest.mark.parametrize("name", TIED)
def test_egger_beside_two_heavy_weights_says_why_it_is_not_computed(name, method):
    """Two weights 1/vi (1e-300 twice, or 1e-300 and 4e-300) hold all but 2^-26 of the sum: tr(P) is S/2, so the
    regression does not cancel, but the iteration for tau^2 at those weights does (metafor's regtest: z 6.2e133 and
    2.4e148 at tau^2 0; we had z 0 and 2.4e148). The row says why instead of a number."""
    assert REFERENCE[name]["metafor"]["egger"]["reml"]["statistic"] > 1e100  # metafor's is rounding noise
    yi, vi = data(name)
    weights = 1 / np.sqrt(vi) if method == "GENQ" else None
    with pytest.raises(ValueError, match=r"range from 1e-300 to 0\.1.*one study, or a few.*cancel"):
        egger_test(yi, vi, method=method, weights=weights)
    row = bias_tests(yi, vi, method=method)[0].set_index("test").loc["egger"]
    assert np.isnan(row["statistic"]) and row["note"].startswith("not estimable: the sampling variances range")


@pytest.mark.parametrize("name", TIED)
def test_egger_whose_tau2_keeps_the_weights_apart_is_computed_beside_two_heavy_weights(name):
    """EB's scoring starts away from tau^2 = 0 and ends at 0.014, where no weight 1/(vi + tau^2) dominates: the row
    is metafor's regtest (control threshold 1e-13)."""
    expected = REFERENCE[name]["metafor"]["egger"]["eb"]
    result = egger_test(*data(name), method="EB", control=TIGHT_CONTROL)
    close(result.statistic, expected["statistic"])
    close(result.p, expected["pval"])


@pytest.mark.parametrize("name", [*SINGLE, *TIED])
def test_egger_with_weights_that_do_not_dominate_is_computed_and_is_metafors(name):
    """SJ's tau^2 (about 0.015) keeps the weights 1/(vi + tau^2) within a factor 2^26: metafor's regtest keeps its
    digits there, and so does the row."""
    expected = REFERENCE[name]["metafor"]["egger_sj"]
    result = egger_test(*data(name), method="SJ")
    close(result.statistic, expected["statistic"], atol=0)
    close(result.p, expected["pval"], atol=0)


@pytest.mark.parametrize("method", ["REML", "ML", "DL", "PM", "HS"])
def test_egger_beside_widely_spread_variances_is_computed_and_is_metafors(method):
    """Weights spread 1e11 (more than 2^26) with no study holding nearly all of them: the regression's sums keep
    their digits, in metafor's regtest and here, so the row is a number, not `not estimable`."""
    expected = REFERENCE["spread"]["metafor"]["egger"][method]
    rows = bias_tests(*data("spread"), method=method)[0].set_index("test")
    for column, key in (("statistic", "statistic"), ("p", "pval"), ("estimate", "estimate"), ("ci_lower", "ci_lower"),
                        ("ci_upper", "ci_upper")):
        close(rows.loc["egger", column], expected[key], err_msg=column)


@pytest.mark.parametrize("method", ["REML", "ML", "DL", "PM", "HS"])
def test_egger_beside_one_heavy_study_short_of_dominating_is_metafors(method):
    """One study at vi = 1e-9 beside five at 0.05-0.2 (`one_heavy`): its weight 2e7 times the others' sum, below
    2^26; the regression's tr(P) is 5e-8 of its weight (a test of tr(P) at 2^-24 refused the row), but its sums keep
    about 28 bits, and metafor's regtest is the row."""
    expected = REFERENCE["one_heavy"]["metafor"]["egger"][method]
    rows = bias_tests(*data("one_heavy"), method=method)[0].set_index("test")
    for column, key in (("statistic", "statistic"), ("p", "pval"), ("estimate", "estimate"), ("ci_lower", "ci_lower"),
                        ("ci_upper", "ci_upper")):
        close(rows.loc["egger", column], expected[key], err_msg=column)


@pytest.mark.parametrize("name", ["high_v20", "low_v20"])
def test_egger_under_he_beside_a_dominant_variance_says_why(name):
    """HE takes no sum at 1/vi; at vi = 1e-20 beside 0.1 the meta-regression's fit divided by zero, and the row's
    note was "float division by zero" in place of the reason."""
    with pytest.raises(ValueError, match=r"hold all but less than 2\^-26 of them"):
        egger_test(*data(name), method="HE")


def test_egger_lm_beside_widely_spread_variances_is_rs():
    expected = REFERENCE["spread"]["metafor"]["egger_lm"]
    result = egger_lm_test(*data("spread"))
    close(result.statistic, expected["statistic"])
    close(result.p, expected["pval"])
    close(result.estimate, expected["estimate"])


@pytest.mark.parametrize("name", [*SINGLE, *TIED])
def test_fail_safe_n_beside_a_dominant_variance_is_finite_and_fsns(name):
    """Rosenthal's number is metafor's (3.7e297 at vi = 1e-300: that study's z is 1e149); Rosenberg's, whose
    (sum w y)^2 overflows in fsn (Inf), is the same algebra as k (S (ybar / z)^2 - 1), metafor's at vi = 1e-20."""
    metafor = REFERENCE[name]["metafor"]
    close(fail_safe_n(*data(name)).statistic, metafor["fsn_rosenthal"])
    rosenberg = fail_safe_n(*data(name), kind="Rosenberg").statistic
    if name not in TIED:
        close(rosenberg, REFERENCE[name]["exact"]["fsn_rosenberg"])
    assert np.isfinite(rosenberg) and rosenberg > 1e17
    if metafor["fsn_rosenberg"] != "Inf":  # vi = 1e-20: fsn's own number
        close(rosenberg, metafor["fsn_rosenberg"])


@pytest.mark.parametrize("name", [*SINGLE, *TIED])
def test_henmi_copas_beside_a_dominant_variance_says_why_it_is_not_computed(name):
    assert REFERENCE[name]["metafor"]["hc_error"]  # metafor's hc fails there too
    with pytest.raises(ValueError, match=r"2\^-26\) of their sum.*cancel|powers \(1/vi\)\^4 overflow"):
        henmi_copas(*data(name))
    note = bias_tests(*data(name))[0].set_index("test").loc["henmi_copas", "note"]
    assert note.startswith("not estimable: the ") and "solver" not in note and "x=" not in note


def test_rosenberg_fail_safe_n_below_the_smallest_invertible_variance_says_why():
    """vi = 1e-310: 1/vi is inf and Rosenberg's sums NaN, which max(0, NaN) made 0. It is not estimable, with the
    pooled fit's bound."""
    yi, vi = data("low_v300")
    vi[0] = 1e-310
    with pytest.raises(ValueError, match=r"vi must be at least 5\.56e-309 .*index 0 \(1e-310\)"):
        fail_safe_n(yi, vi, kind="Rosenberg")
    row = bias_tests(yi, vi)[0].set_index("test").loc["fail_safe_n_rosenberg"]
    assert np.isnan(row["statistic"]) and row["note"].startswith("not estimable: vi must be at least 5.56e-309")


def test_selection_model_beside_spread_variances_takes_the_ordinary_routes(monkeypatch):
    """Weights spread 1e11 with no study holding all but 2^-26 of them (`spread`): no sum cancels, so the
    selection model maximises by metafor's and the bounded route only and its unadjusted likelihood is the plain
    sum, to the bit (the pinned route and Q without cancellation, gated on a spread above 2^26, had moved the LRT
    in its last bits on such data, and the maximum itself where the pinned route won by 1e-14)."""
    import alliance_meta.analyses.bias.selection_models as models

    def forbidden(*args):
        raise AssertionError("only where one weight dominates")

    monkeypatch.setattr(models, "_pinned_route", forbidden)
    monkeypatch.setattr(models, "weighted_q", forbidden)
    yi, vi = data("spread")
    model = selection_model(yi, vi)
    assert np.isfinite(model.lrt)
    fit = models.pooling.fit(yi, vi, "ML", control=models.TIGHT_CONTROL, tau2_interval=False)
    total = vi + fit.tau2
    plain = -0.5 * float(np.sum(np.log(2 * np.pi * total) + (yi - fit.estimate) ** 2 / total))
    assert model.log_likelihood_unadjusted == plain


def test_below_the_smallest_variance_a_weight_can_take_the_tests_say_so():
    """vi = 1e-310 (1/vi overflows): the rank test gave NaN (and beside a second such study a bare
    ZeroDivisionError), egger_lm NaN coefficients and Rosenthal's fail-safe N inf, each without a word."""
    yi = np.array([0.1, 0.5, 0.3, 0.7, -0.2, 0.4])
    for vi in (np.array([1e-310, 0.1, 0.1, 0.05, 0.2, 0.1]), np.array([1e-310, 1e-310, 0.1, 0.05, 0.2, 0.1])):
        for test in (rank_test, egger_lm_test, fail_safe_n):
            with pytest.raises(ValueError, match="vi must be at least 5.56e-309"):
                test(yi, vi)


def test_one_dominant_weight_has_one_definition():
    """dominant_group's m = 1 is dominant_weight's test (the other weights' exact sum below the largest / 2^26), not
    a second one. Here the others' exact sum 1 + 2^-52 is not below the limit 1 + 2^-52, so no weight dominates
    alone; the second holds 2^26 times the 2^-52 after it: m = 2."""
    boundary = np.array([DOMINANCE_LIMIT * (1 + 2.0**-52), 1.0, 2.0**-53, 2.0**-53])
    assert dominant_weight(boundary) == -1 and dominant_group(boundary) == 2
    for vi in ([1e-300, 0.1, 0.2, 0.05], [1e-300, 1e-300, 0.1, 0.2], [1e-300, 4e-300, 0.1], [0.1, 0.2, 0.05]):
        weights = 1 / np.array(vi)
        assert (dominant_group(weights) == 1) == (dominant_weight(weights) >= 0), vi


def _limits_around(others: np.ndarray) -> list[float]:
    """The doubles next to the exact sum of ``others``: two below or at it, two above."""
    exact = sum(map(Fraction, others.tolist()))
    near = float(exact)  # correctly rounded
    below = near if Fraction(near) <= exact else np.nextafter(near, 0)
    above = np.nextafter(below, np.inf)
    return [np.nextafter(below, 0), below, above, np.nextafter(above, np.inf)]


def test_dominance_is_decided_by_the_exact_sum_of_the_lighter_weights():
    """A weight dominates where the exact sum of the lighter ones lies below it / 2^26 (Fraction here), whatever
    order numpy sums them in: 60 weights from U(0.5, 1.5) with limits at the doubles around their exact sum, where
    a sum rounded up or down (about 1 in 3 of such sets) gave the other answer."""
    rng = np.random.default_rng(2026)
    for _ in range(20):
        others = rng.uniform(0.5, 1.5, 60)
        exact = sum(map(Fraction, others.tolist()))
        for limit in _limits_around(others):
            weights = np.concatenate([[limit * DOMINANCE_LIMIT], others])
            expected = exact < Fraction(limit)
            assert (dominant_weight(rng.permutation(weights)) >= 0) == expected, limit
            assert (dominant_group(weights) == 1) == expected
            # the second of two heavy weights (m = 2: the first is 4 times the second, not dominant alone)
            pair = np.concatenate([[4 * limit * DOMINANCE_LIMIT, limit * DOMINANCE_LIMIT], others])
            assert dominant_group(pair) == (2 if expected else 0), limit


def _heavy_but_not_dominant():
    """60 weights from U(0.5, 1.5) and one 0.9 * 2^26 times their sum (SIMULATED effects around 0.3)."""
    rng = np.random.default_rng(0)
    others = rng.uniform(0.5, 1.5, 60)
    weights = np.concatenate([[0.9 * DOMINANCE_LIMIT * math.fsum(others)], others])
    return rng.normal(0.3, np.sqrt(1 / weights)), 1 / weights


def test_egger_beside_a_heavy_weight_short_of_dominance_is_metafors():
    """REML's tr(PP) for the regression cancelled to 0 beside a weight 6e7 times the others' sum (below 2^26): its
    step divided by it and the fit refused ("met a singular matrix"). tr(PP) from the QR decomposition of the
    weighted design does not cancel, and the test is metafor's regtest (bias_extremes.R `heavy`), without a
    warning; the reference's data are these."""
    import warnings

    yi, vi = _heavy_but_not_dominant()
    case = load_reference("bias_extremes")["cases"]["heavy"]
    assert np.array_equal(yi, np.array(case["yi"], float)) and np.array_equal(vi, np.array(case["vi"], float))
    assert dominant_group(1 / vi) == 0
    expected = case["regtest_reml"]
    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn"):
        warnings.simplefilter("error")
        result = egger_test(yi, vi, method="REML")
    close(result.statistic, expected["statistic"], rtol=1e-6, atol=0)
    close(result.estimate, expected["estimate"], rtol=1e-6, atol=0)
    close(result.p, expected["p"], rtol=1e-6, atol=0)


def test_nearly_equal_variances_make_the_regressions_refuse_in_words():
    """vi equal to within 2^-52 (not all equal, which bias_tests words itself): sqrt(vi) is constant to rounding,
    and lstsq's rank 1 and the singular Gram matrix came out as numpy's "Singular matrix" or NaN."""
    yi = np.array([0.1, 0.5, 0.3, 0.7, -0.2, 0.4])
    vi = 0.04 * (1 + np.array([0, 1, -1, 2, 0, 1]) * 2.0**-52)
    with pytest.raises(ValueError, match=r"predictor sqrt\(vi\) are linearly dependent in double precision"):
        egger_lm_test(yi, vi)
    with pytest.raises(ValueError, match=r"linearly dependent in double precision"):
        pet_peese(yi, vi)
    with pytest.raises(ValueError, match=r"REML fit met a singular matrix.*equal to within 6\.9e-16 relative"):
        egger_test(yi, vi)


def test_variances_beyond_one_scale_of_double_precision_make_the_regressions_refuse_in_words():
    """vi = 10^(7 i - 300) (1e-300 to 1e295, bias_extremes.R): no weight, nor a few, dominates, but the weights
    span 1e595; weighted, the intercept's and sqrt(vi)'s columns are dependent in double precision and R's lm gives
    SE Inf and t 0. Scaling vi by 4^h from the largest weight alone made 1e295 4^h overflow (ldexp's warnings,
    then numpy's "Singular matrix"); the scale is limited, and the regressions say they are not determined."""
    import warnings

    case = load_reference("bias_extremes")["cases"]["geometric"]
    yi, vi = np.array(case["yi"], float), np.array(case["vi"], float)
    assert case["lm_sei"]["se"][1] == "Inf" and case["lm_vi"]["se"][1] == "Inf"  # R's lm: not a number to match
    assert dominant_group(1 / vi) == 0
    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn"):
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"from 1e-300 to 1e\+295.*sqrt\(vi\) are linearly dependent"):
            egger_lm_test(yi, vi)
        with pytest.raises(ValueError, match=r"from 1e-300 to 1e\+295.*linearly dependent"):
            pet_peese(yi, vi)
    rows = bias_tests(yi, vi, method="DL")[0].set_index("test")
    for test in ("egger_lm", "pet", "peese", "pet_peese"):
        assert rows.loc[test, "note"].startswith("not estimable: the sampling variances range from 1e-300"), test


NEARLY_EQUAL = load_reference("bias_extremes")["cases"]["nearly_equal"]


@pytest.mark.parametrize("rel", sorted(NEARLY_EQUAL))
def test_regressions_on_nearly_equal_variances_are_lm(rel):
    """vi = 0.05 (1 + rel i), rel 1e-8 to 1e-10 (bias_extremes.R): the weighted design's condition number is 1e7 to
    1e10, and inverting X'WX squared it (the intercept's SE 4.56e6 where it is 3.21e7, egger_lm's t 5.53 where it
    is 0.0785, PEESE refused at rank 2). The numbers are lm's (with the predictor shifted exactly: lm's own QR is
    cond * eps off), to 1e-6."""
    case = NEARLY_EQUAL[rel]
    yi, vi = np.array(case["yi"], float), np.array(case["vi"], float)
    sei, on_vi = case["lm_sei"], case["lm_vi"]
    lm = egger_lm_test(yi, vi)
    for ours, theirs in ((lm.statistic, sei["t"][1]), (lm.estimate, sei["estimate"][0]), (lm.se, sei["se"][0])):
        close(ours, theirs, rtol=1e-6, atol=0)
    pet, peese = pet_peese(yi, vi)[:2]
    for row, reference in ((pet, sei), (peese, on_vi)):
        assert row.df == reference["df"]
        for ours, theirs in ((row.estimate, reference["estimate"][0]), (row.se, reference["se"][0]),
                             (row.statistic, reference["t"][0])):
            close(ours, theirs, rtol=1e-6, atol=0, err_msg=row.test)


def test_a_nearly_constant_standard_error_is_named_as_such():
    """Four vi of 0.05 and one 1e-7 larger (SIMULATED effects): REML's fit met a singular matrix, and the refusal
    blamed a weight 0.25 times the others' sum (no reason) and printed the variances "from 0.05 to 0.05". It names
    their relative spread; a weight 2^20 times the others' sum is named only where there is one (above)."""
    vi = np.array([0.05] * 4 + [0.05 * (1 + 1e-7)])
    yi = np.array([0.33, 0.27, 0.43, 0.32, 0.19])
    with pytest.raises(ValueError, match=r"equal to within 1e-07 relative, so its predictor sqrt\(vi\) is nearly "
                                         r"constant") as raised:
        egger_test(yi, vi, method="REML")
    assert "others' sum" not in str(raised.value)
    three = 0.05 * (1 + 1e-8 * np.arange(3))
    for method in ("REML", "DL"):
        with pytest.raises(ValueError, match=r"equal to within 2e-08 relative"):
            egger_test([0.1, 0.4, 0.3], three, method=method)


@pytest.mark.parametrize("method", ["HE", "EB", "SJ"])
@pytest.mark.parametrize("name", TIED)
def test_egger_beside_two_heavy_weights_says_only_its_word(name, method):
    """HE, SJ and EB take no sum at 1/vi before the fit, whose tr(P) for metafor's typical v squared the weights
    1/vi (1e300: overflow, numpy's RuntimeWarnings before the refusal). The refusal (HE) or the number (SJ, EB:
    their tau^2 keeps the weights 1/(vi + tau^2) apart) is the only word."""
    import warnings

    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn"):  # numpy's defaults
        warnings.simplefilter("error")
        if method != "HE":
            assert np.isfinite(egger_test(*data(name), method=method).statistic)
        else:
            with pytest.raises(ValueError, match=r"one study, or a few.*cancel"):
                egger_test(*data(name), method=method)


@pytest.mark.parametrize("name", TIED)
def test_henmi_copas_beside_two_heavy_weights_says_only_its_word(name):
    """Two variances near 1e-300: the sums of (1/vi)^4 overflow, which is the refusal, not numpy's warnings
    before it."""
    import warnings

    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn"):  # numpy's defaults
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"powers \(1/vi\)\^4 overflow"):
            henmi_copas(*data(name))


def test_henmi_copas_where_the_sum_of_the_weights_overflows_says_only_its_word():
    """Two vi of 6e-309 (above 1/DBL_MAX, so each 1/vi is finite): their sum W1 overflows, and numpy warned of
    overflow (and 0/0) before the refusal, which blamed (1/vi)^4."""
    import warnings

    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn"):
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"the sum of the weights 1/vi of the Henmi-Copas interval overflows"):
            henmi_copas([0.1, 0.2, 0.3, 0.4], [6e-309, 6e-309, 0.1, 0.2])
