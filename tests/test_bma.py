"""Robust Bayesian model averaging (alliance_meta.bayes.bma): the ensemble, its quadrature,
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
from conftest import REFERENCE_DIR, load_reference

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
    assert by_bias["one-sided (0.025, 0.05, 0.5)"] == pytest.approx(1 / 24)
    assert [m.bias.kind for m, _ in B.ensemble(False)] == ["none"] * 4


def test_cohens_d_priors_are_scaled_as_robma_does_for_fisher_z():
    priors = B.BmaPriors.from_config("z")
    assert (priors.mu_sd, priors.tau.scale, priors.pet_scale, priors.peese_scale) == (0.5, 0.075, 1.0, 10.0)
    analysis = B.BmaPriors.from_config("z", "analysis", {"mu": {"sd": 0.3}})
    assert (analysis.mu_sd, analysis.tau.scale, analysis.peese_scale) == (0.3, 0.15, 5.0)
    with pytest.raises(ValueError, match="prior_scale"):
        B.BmaPriors.from_config("z", "d")


def test_normal_models_agree_with_exact_bayes_factors():
    """The grid quadrature of the normal models (mu integrated analytically, trapezoid over
    log tau) reproduces the exact Bayes factors of bayes/exact.py."""
    y, v = np.arctanh(RI), 1.0 / (NI - 3)
    tau_prior = TauPrior("half_normal", 0.3)
    exact = exact_posterior(y, v, tau_prior, mu_sd=0.5).bayes_factors()
    priors = B.BmaPriors(0.0, 0.5, tau_prior, 1.0, 10.0, 0.5)
    lml = {}
    for effect in (False, True):
        for het in (False, True):
            model = B.Model(effect, het, B.BIAS_SPECS[0])
            gm = B._GridModel(model, y, np.sqrt(v), priors, "z")
            if het:
                lo, hi = B._find_range(gm, np.array([-2.5]), np.array([0.5]))
                lml[effect, het] = B._integrate(gm, lo, hi, np.array([0.5]), "fine")[0]
            else:
                lml[effect, het] = float(gm.evaluate([])[0][0])
            assert lml[effect, het] == pytest.approx(B._exact_normal_log_marglik(model, y, v, priors), abs=1e-8)
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


REFERENCE = load_reference("robma") if (REFERENCE_DIR / "robma.json").exists() else {}
DATASETS = [name for name in ("molloy", "molloy6", "bcg") if name in REFERENCE]


@pytest.fixture(scope="module")
def ensembles():
    out = {}
    for name in DATASETS:
        ref = REFERENCE[name]
        y, se = np.asarray(ref["yi"], float), np.asarray(ref["sei"], float)
        metric = "z" if ref["scale"] == "cohens_d" else "log_or"
        out[name] = B.robma(y, se**2, metric=metric, prior_scale=ref["scale"])
    return out


def test_reference_exists():
    assert DATASETS == ["molloy", "molloy6", "bcg"], "run tests/reference/robma.R (RoBMA 3.6.1)"


@pytest.mark.parametrize("name", DATASETS)
def test_inclusion_probabilities_match_robma(ensembles, name):
    ref = REFERENCE[name]["components"]
    ours = ensembles[name].summary.set_index("name")
    for label, component in zip(ref["names"], ("effect", "heterogeneity", "bias")):
        assert ours.loc[component, "posterior_prob"] == pytest.approx(ref["post_prob"][ref["names"].index(label)], abs=0.02), label


@pytest.mark.parametrize("name", DATASETS)
def test_model_averaged_estimates_match_robma(ensembles, name):
    """Model-averaged mu and tau (RoBMA reports them on Cohen's d for z input: d = 2 z, its
    linear prior scaling) within 3 x RoBMA's Monte Carlo error (sd / sqrt(ESS)) plus our own."""
    ref = REFERENCE[name]
    factor = 2.0 if ref["scale"] == "cohens_d" else 1.0
    est = ref["estimates"]
    table = ensembles[name].summary
    for parameter, sd_key in (("mu", "mu_samples_sd"), ("tau", "tau_samples_sd")):
        row = table.query("name == @parameter and type == 'averaged' and scale == 'analysis'").iloc[0]
        i = est["names"].index(parameter)
        ess = min(ref["diagnostics"]["min(ESS)"]) if "min(ESS)" in ref["diagnostics"] else 1000.0
        tol = 3.0 * ref[sd_key] / math.sqrt(max(ess, 100.0)) + 0.01 * ref[sd_key]
        assert factor * row["mean"] == pytest.approx(est["mean"][i], abs=tol), parameter
        assert factor * row["median"] == pytest.approx(est["median"][i], abs=2 * tol), parameter
