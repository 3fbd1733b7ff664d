"""Robust Bayesian meta-analysis, RoBMA-PSMA (alliance_meta.bayes.bma): the ensemble, its quadrature,
the normal-model part against the exact Bayes factors of bayes/exact.py, and RoBMA 3.6.1
itself (tests/reference/robma.R -> robma.json)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from alliance_meta.bayes import bma as B
from alliance_meta.bayes.exact import exact_posterior
from alliance_meta.bayes.priors import TauPrior

# an illustrative set of 16 correlations and sample sizes (the RoBMA comparisons use robma.json)
RI = np.array([0.187, 0.162, 0.34, 0.32, 0.1, 0.05, 0.064, 0.1, 0.37, 0.07, 0.19, 0.26, 0.0, 0.149, 0.14, 0.35])
NI = np.array([109, 749, 55, 107, 72, 65, 135, 108, 58, 1034, 116, 162, 60, 110, 186, 64], dtype=float)


def test_ensemble_prior_probabilities_match_robma_defaults():
    models = B.ensemble(True)
    assert len(models) == 36
    probs = np.array([p for _, p in models])
    assert probs.sum() == pytest.approx(1.0)
    by_bias = {}
    for model, p in models:
        by_bias[model.bias.label] = by_bias.get(model.bias.label, 0.0) + p
    assert by_bias["none"] == pytest.approx(0.5)
    assert by_bias["PET"] == pytest.approx(0.125) and by_bias["PEESE"] == pytest.approx(0.125)
    assert by_bias["one-sided (.025, .05, .50)"] == pytest.approx(1 / 24)
    assert [m.bias.kind for m, _ in B.ensemble(False)] == ["none"] * 4


def test_cohens_d_priors_are_scaled_as_robma_does_for_fisher_z():
    priors = B.BmaPriors.from_config("z")
    assert (priors.mu_sd, priors.tau.scale, priors.pet_scale, priors.peese_scale) == (0.5, 0.075, 1.0, 10.0)
    analysis = B.BmaPriors.from_config("z", "analysis", {"mu": {"sd": 0.3}})
    assert (analysis.mu_sd, analysis.tau.scale, analysis.peese_scale) == (0.3, 0.15, 5.0)
    with pytest.raises(ValueError, match="prior_scale"):
        B.BmaPriors.from_config("z", "d")


def test_normal_models_agree_with_exact_bayes_factors():
    """The grid quadrature of the normal models (mu integrated analytically, sinh-mapped
    trapezoid over log tau) reproduces the exact evidence of bayes/exact.py within its stated
    error (|fine - coarse|, at most 1e-4), and the exact evidence gives exact.py's Bayes factors."""
    y, v = np.arctanh(RI), 1.0 / (NI - 3)
    tau_prior = TauPrior("half_normal", 0.3)
    exact = exact_posterior(y, v, tau_prior, mu_sd=0.5).bayes_factors()
    priors = B.BmaPriors(0.0, 0.5, tau_prior, 1.0, 10.0, 0.5)
    lml = {}
    for effect in (False, True):
        for het in (False, True):
            model = B.Model(effect, het, B.BIAS_SPECS[0])
            value, stated = B._quadrature(model, y, np.sqrt(v), priors, "z")[1:3]
            lml[effect, het] = B._exact_normal_log_marglik(model, y, v, priors)
            assert abs(value - lml[effect, het]) <= max(stated, 1e-12), (effect, het)
            assert stated <= 1e-4 if het else stated == 0.0
    assert math.exp(lml[True, True] - lml[False, True]) == pytest.approx(exact["mu"], rel=1e-7)
    assert math.exp(lml[True, True] - lml[True, False]) == pytest.approx(exact["tau"], rel=1e-7)


def test_weight_function_evidence_against_brute_force_integration():
    """One-sided (0.05) selection model with mu, omega_1 (tau = 0): the quadrature against
    scipy's adaptive dblquad of the same likelihood written out directly."""
    y, se = np.arctanh(RI[:8]), 1.0 / np.sqrt(NI[:8] - 3)
    priors = B.BmaPriors.from_config("z")
    spec = B.BIAS_SPECS[3]
    fit = B.fit_model(B.Model(True, False, spec), y, se, priors, "z")
    crit = stats.t.isf(0.05, NI[:8] - 2) * se  # t quantile, df n - 2 (RoBMA's z input)
    significant = y >= crit

    # brute force: 400 x 400 Gauss-Legendre nodes over mu in [-0.5, 1], omega_1 in [0, 1]
    x, w = np.polynomial.legendre.leggauss(400)
    mu = (x + 1) * 0.75 - 0.5
    omega = (x + 1) / 2
    M, O = np.meshgrid(mu, omega, indexing="ij")
    M, O = M[..., None], O[..., None]
    weights = np.where(significant, 1.0, O)
    norm = O * stats.norm.cdf(crit, M, se) + stats.norm.sf(crit, M, se)
    lik = np.prod(weights * stats.norm.pdf(y, M, se) / norm, axis=2) * stats.norm.pdf(M[..., 0], 0.0, 0.5)
    value = float(w * 0.75 @ lik @ (w / 2))
    assert fit.log_marglik == pytest.approx(math.log(value), abs=1e-6)
    assert fit.log_marglik_error < 1e-6


def test_bias_false_keeps_the_four_normal_models_and_errors_are_small():
    y, v = np.arctanh(RI), 1.0 / (NI - 3)
    result = B.robma(y, v, metric="z", bias=False)
    assert len(result.table) == 4 and set(result.table["bias"]) == {"none"}
    assert result.table["posterior_prob"].sum() == pytest.approx(1.0)
    bias_row = result.summary.query("name == 'bias'")
    assert bias_row.empty or math.isnan(bias_row["inclusion_bf"].iloc[0])


def test_report_sentence_reads_the_summary():
    from alliance_meta.report.text import bma_sentence

    y, v = np.arctanh(RI), 1.0 / (NI - 3)
    sentence = bma_sentence(B.robma(y, v, metric="z", bias=False).summary, "z")
    # bias=False: the four normal models, not RoBMA-PSMA
    assert sentence.startswith("Bayesian model averaging over effect and heterogeneity (Gronau et al., 2021; no "
                               "publication-bias models) "
                               "gave evidence for an effect")
    assert "model-averaged estimate (posterior median) was r = ." in sentence


def test_a_single_study_gives_empty_tables_and_a_message_figure():
    import pandas as pd

    import alliance_meta as am
    from alliance_meta.bayes.bma import bma

    fit = am.fit(pd.DataFrame({"study_id": ["a"], "yi": [0.2], "vi": [0.01]}), metric="smd")
    result = bma(fit)
    assert result.table.empty and result.summary.empty
    result.plot()


@pytest.mark.parametrize("metric, title, log_axis", [("z", r"P($\mathit{r}$ = 0)", False),
                                                     ("log_or", r"P($\mathit{OR}$ = 1)", True)])
def test_the_effect_panel_names_no_effect_on_the_readers_scale(metric, title, log_axis):
    """The spike at mu = 0 is 'P(r = 0)' or 'P(OR = 1)', and odds ratios are drawn on a log axis (the
    panel said P(mu = 0) and showed odds ratios below 0 on a linear axis); r and OR in italics, as statistics."""
    y, v = np.arctanh(RI), 1.0 / (NI - 3)
    figure = B.robma(y, v, metric=metric, bias=False).plot()
    effect = figure.axes[1]
    assert title in effect.get_title(loc="left")
    assert (effect.get_xscale() == "log") == log_axis
    assert effect.get_xlim()[0] > 0 or not log_axis


def test_odds_ratio_labels_of_the_effect_panel_stand_apart():
    """Four large studies of dat.hackshaw1998 (log odds ratios): the slab spans about 0.2 to 2.5, where the effect
    panel labelled 0.3, 0.4, 0.5 and 0.6 into each other ("0.50.6") and nothing between 1 and 2."""
    y = np.array([0.165514438477573, -0.23572233352107, -0.0304592074847086, 0.231111720963387])
    v = np.array([0.0187768854850681, 0.0161294909173902, 0.0125468451490273, 0.0100290474315282])
    figure = B.robma(y, v, metric="log_or").plot()
    figure.draw_without_rendering()
    effect = figure.axes[1]
    low, high = effect.get_xlim()
    boxes = sorted((label.get_window_extent().x0, label.get_window_extent().x1) for label in
                   effect.get_xticklabels(which="both") if label.get_text() and low <= label.get_position()[0] <= high)
    assert len(boxes) >= 3
    assert all(left[1] < right[0] for left, right in zip(boxes, boxes[1:]))


def test_inclusion_bayes_factors_do_not_saturate_when_the_evidence_is_overwhelming():
    """Posterior odds over prior odds from probabilities that round to 1 gave inf (or ~1e14 for a true
    ~1e27); the inclusion Bayes factor is a ratio of summed marginal likelihoods, computed in log space.
    Checked against the four normal models' exact evidence (bias=False: equal prior probabilities)."""
    y, v = np.linspace(-1.0, 1.0, 13), np.full(13, 0.01)  # wildly heterogeneous: BF of tau ~ 1e95
    result = B.robma(y, v, metric="smd", bias=False)
    components = result.summary.set_index("name")
    priors = B.BmaPriors.from_config("smd", "cohens_d", None)
    lml = {(effect, het): B._exact_normal_log_marglik(B.Model(effect, het, B.BIAS_SPECS[0]), y, v, priors)
           for effect in (False, True) for het in (False, True)}
    log_bf = (np.logaddexp(lml[False, True], lml[True, True]) - np.logaddexp(lml[False, False], lml[True, False]))
    assert 200 < log_bf < 700  # far beyond what a probability near 1 can hold, within a double
    assert math.log(components.loc["heterogeneity", "inclusion_bf"]) == pytest.approx(log_bf, rel=1e-9)
    # a moderate Bayes factor is the posterior odds over the prior odds, as before
    effect = (np.logaddexp(lml[True, False], lml[True, True]) - np.logaddexp(lml[False, False], lml[False, True]))
    assert math.log(components.loc["effect", "inclusion_bf"]) == pytest.approx(effect, rel=1e-9)


def test_the_credible_interval_has_the_configured_mass_and_the_default_is_unchanged():
    """bma_summary.csv's interval was always the central 95% one, whatever bayes.hdi_prob said. With ``prob`` the
    model-averaged CDF (each model's posterior CDF weighted by its posterior probability) is (1 - prob)/2 and
    (1 + prob)/2 at the bounds; the default stays the 0.025 and 0.975 quantiles to the last bit."""
    y, v = np.arctanh(RI), 1.0 / (NI - 3)
    default, wide, narrow = (B.robma(y, v, metric="z", bias=False, **given)
                             for given in ({}, {"prob": 0.95}, {"prob": 0.8}))
    assert default.prob == 0.95 and narrow.prob == 0.8
    assert default.summary.equals(wide.summary)
    def estimates(result):
        return result.summary[result.summary["quantity"] == "estimate"].reset_index(drop=True)

    assert np.array_equal(estimates(default)["median"], estimates(narrow)["median"])
    assert (estimates(narrow)["ci_lower"] > estimates(default)["ci_lower"]).any()
    post = narrow.table["posterior_prob"].to_numpy()
    for row in estimates(narrow).query("name == 'mu' and type == 'averaged' and scale == 'analysis'").itertuples():
        cdf = lambda x: sum(p * f.mu.at(np.array([x]))[0] for p, f in zip(post, narrow.fits))  # noqa: E731
        assert cdf(row.ci_lower) == pytest.approx(0.1, abs=1e-4)
        assert cdf(row.ci_upper) == pytest.approx(0.9, abs=1e-4)


def test_any_mass_between_0_and_1_and_any_real_number_type_is_taken():
    """A mass under 0.01 (bayes.hdi_prob's schema allows it) was refused with a message about level=, and a numpy
    float32 as "not a number"."""
    import pandas as pd

    import alliance_meta as am

    assert B.central_probs(0.95) == (0.025, 0.5, 0.975)
    assert B.central_probs(0.005) == pytest.approx((0.4975, 0.5, 0.5025))
    fit = am.fit(pd.DataFrame({"study_id": ["a"], "yi": [0.2], "vi": [0.01]}), metric="smd")
    assert B.bma(fit, prob=np.float32(0.9)).prob == pytest.approx(0.9)
    with pytest.raises(ValueError, match="not True"):
        B.bma(fit, prob=True)


def test_the_report_says_the_level_of_the_model_averaged_interval():
    """The Results sentence printed "95% CrI" and the report's bma_summary table had no note, whatever the level."""
    from alliance_meta.report.html import bma_summary_note
    from alliance_meta.report.text import bma_sentence, results_paragraph

    y, v = np.arctanh(RI), 1.0 / (NI - 3)
    summary = B.robma(y, v, metric="z", bias=False, prob=0.8).summary
    assert "80% CrI [" in bma_sentence(summary, "z", 0.8) and "95%" not in bma_sentence(summary, "z", 0.8)
    assert "95% CrI [" in bma_sentence(B.robma(y, v, metric="z", bias=False).summary, "z")
    paragraph = results_paragraph("outcome", "z", {"bma_summary": summary}, {}, "REML", ["z"], 95,
                                  {"bayes": {"hdi_prob": 0.8}})
    assert "80% credible interval (CrI) [" in paragraph  # spelled out at its first use in the Results
    assert "central 80% credible interval" in bma_summary_note(0.8)


def test_interval_probabilities_take_two_normal_cdfs_per_cell_with_the_same_values(monkeypatch):
    """P(lo < Z < hi) took ndtr of both branches (upper tail, lower tail) and kept one: four evaluations per cell
    of the weight-function models' (nodes x studies x intervals) arrays. The bounds are now chosen first, two
    evaluations per cell, and every probability has the bits of the two-branch formula (tails, zero, -0.0,
    infinities, NaN)."""
    from scipy import special

    rng = np.random.default_rng(8)
    lo = np.concatenate([rng.normal(0, 3, 500), rng.normal(0, 30, 200)])
    hi = lo + rng.exponential(1.0, 700)
    lo = np.concatenate([lo, [0.0, -0.0, 5e-324, -np.inf, 40.0, np.nan, -np.inf, 1.0]])
    hi = np.concatenate([hi, [0.0, 1.0, 1.0, np.inf, np.inf, 1.0, -1.0, np.nan]])
    lo, hi = lo.reshape(2, -1), hi.reshape(2, -1)
    with np.errstate(invalid="ignore"):
        expected = np.where(lo > 0, special.ndtr(-lo) - special.ndtr(-hi), special.ndtr(hi) - special.ndtr(lo))

    evaluated = []

    class Counting:
        def __getattr__(self, name):
            return getattr(special, name)

        @staticmethod
        def ndtr(x):
            evaluated.append(np.size(x))
            return special.ndtr(x)

    monkeypatch.setattr(B, "special", Counting())
    got = B._normal_interval(lo, hi)
    assert got.tobytes() == expected.tobytes()
    assert sum(evaluated) == 2 * lo.size
