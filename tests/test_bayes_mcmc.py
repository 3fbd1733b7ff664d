"""PyMC/nutpie sampling of the normal-normal model: seeded reproducibility, agreement
with the exact posterior within 4 MCSE, the diagnostics/retry policy and the failing check."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from alliance_meta.bayes.analysis import BayesConfig, ExactCheckError, fit_pooled
from alliance_meta.bayes.exact import exact_posterior
from alliance_meta.bayes.mcmc import Draws, SamplerSettings
from alliance_meta.bayes.summaries import CONTRACT_COLUMNS, EXTRA_COLUMNS

DATA = pd.DataFrame(
    {
        "study_id": [f"s{i}" for i in range(8)],
        "yi": [0.30, 0.12, 0.45, 0.21, 0.05, 0.38, 0.27, 0.33],
        "vi": [0.02, 0.01, 0.05, 0.015, 0.03, 0.04, 0.012, 0.025],
        "rater": ["patient", "patient", "therapist", "patient", "observer", "therapist", "mixed", "patient"],
    }
)
CONFIG = BayesConfig.from_config({"draws": 1000, "tune": 1000, "chains": 4}, "z", cores=1)


@pytest.fixture(scope="module")
def sampler():
    from alliance_meta.bayes.mcmc import HierarchicalSampler

    return HierarchicalSampler(CONFIG.priors, max_studies=len(DATA), max_coefficients=3)


@pytest.mark.slow
def test_same_seed_same_numbers(sampler):
    settings = SamplerSettings(draws=200, tune=200, chains=2, seed=11, cores=1)
    first = sampler.sample(DATA["yi"], DATA["vi"], settings=settings)
    second = sampler.sample(DATA["yi"], DATA["vi"], settings=settings)
    np.testing.assert_array_equal(first.beta, second.beta)
    np.testing.assert_array_equal(first.tau, second.tau)
    other = sampler.sample(DATA["yi"], DATA["vi"], settings=SamplerSettings(draws=200, tune=200, chains=2, seed=12, cores=1))
    assert not np.array_equal(first.tau, other.tau)


@pytest.mark.slow
def test_the_draws_are_those_of_nutpies_inference_data(sampler):
    """The arrays taken from nutpie's raw trace are its InferenceData's posterior and divergences, bit for bit
    (tuning rows left out, padding removed), for a data set smaller than the compiled model."""
    import nutpie

    assert sampler.backend == "nutpie"
    settings = SamplerSettings(draws=150, tune=100, chains=2, seed=5, cores=1)
    y, v = DATA["yi"].to_numpy()[:6], DATA["vi"].to_numpy()[:6]
    X = np.column_stack([np.ones(6), np.arange(6.0)])
    draws = sampler.sample(y, v, X, settings)
    idata = nutpie.sample(sampler._compiled.with_data(**sampler._padded(y, v, X, None)), draws=150, tune=100,
                          chains=2, cores=1, seed=5, target_accept=settings.target_accept, progress_bar=False)
    post = idata.posterior
    for name, expected in (("beta", np.asarray(post["beta"])[..., :2]), ("tau", np.asarray(post["tau"])),
                           ("theta", np.asarray(post["theta"])[..., :6]), ("eta_new", np.asarray(post["eta_new"]))):
        assert getattr(draws, name).shape == expected.shape == (2, 150, *expected.shape[2:]), name
        np.testing.assert_array_equal(getattr(draws, name), expected, err_msg=name)
    assert draws.divergences == int(np.asarray(idata.sample_stats["diverging"]).sum())


@pytest.mark.slow
def test_mcmc_means_agree_with_exact_posterior(sampler):
    fit = fit_pooled(sampler, DATA, "z", CONFIG)
    table = fit.table.set_index("parameter")
    assert list(fit.table.columns) == CONTRACT_COLUMNS + EXTRA_COLUMNS
    for name in ("mu", "tau", "i2", "r", "theta_new"):
        row = table.loc[name]
        assert abs(row["mean"] - row["exact_mean"]) <= 4 * row["mcse_mean"], name
    # an HDI limit of draws is compared only here, inside r's range: where an HDI ends at a bound (r_new of one
    # study) that limit of draws is about the largest draw (test_bayes_exact.py, ..._ends_at_a_bound_...)
    assert table.loc["r", "hdi_lower"] == pytest.approx(table.loc["r", "exact_hdi_lower"], abs=0.02)
    assert table.loc["bf_tau", "exact_mean"] > 0
    assert fit.studies["agrees_with_exact"].all()


@pytest.mark.slow
def test_failed_diagnostics_trigger_one_retry_and_a_warning(sampler):
    strict = BayesConfig.from_config({"draws": 200, "tune": 200, "chains": 2, "diagnostics": {"ess_min": 1e9}}, "z", cores=1)
    fit = fit_pooled(sampler, DATA, "z", strict)
    assert fit.retried
    assert fit.table.set_index("parameter").loc["mu", "warning"].startswith("ess_bulk")


class BiasedSampler:
    """Returns draws of mu shifted far from the posterior: the exact check must fail."""

    def sample(self, y, v, X=None, settings=SamplerSettings()):
        rng = np.random.default_rng(0)
        post = exact_posterior(y, v, CONFIG.priors.tau, CONFIG.priors.mu_sd)
        mu = rng.normal(post.coefficient(0).mean() + 0.5, 0.01, (2, 500))
        tau = np.abs(rng.normal(0.1, 0.01, (2, 500)))
        return Draws(mu[..., None], tau, mu[..., None] + np.zeros((1, 1, len(y))), rng.normal(size=(2, 500)), 0, settings)


def test_disagreement_with_exact_posterior_fails_loudly():
    with pytest.raises(ExactCheckError, match="mu"):
        fit_pooled(BiasedSampler(), DATA, "z", CONFIG)



def test_diagnostics_warning_names_each_failure():
    import re

    from alliance_meta.bayes.analysis import RETRY_WARNINGS
    from alliance_meta.bayes.summaries import diagnostics_warning

    row = {"r_hat": 1.05, "ess_bulk": 250.0, "ess_tail": 900.0}
    assert diagnostics_warning(row, 3, 1.01, 400) == "3 divergent transitions; r_hat 1.050 > 1.01; ess_bulk 250 < 400"
    assert diagnostics_warning({"r_hat": 1.0, "ess_bulk": 900.0, "ess_tail": 900.0}, 0, 1.01, 400) == ""
    # one chain: ArviZ gives no R-hat, and the table says why; a retry cannot cure it
    one_chain = diagnostics_warning({"r_hat": float("nan"), "ess_bulk": 900.0, "ess_tail": 900.0}, 0, 1.01, 400, 1)
    assert one_chain == "no r_hat: it needs at least 2 chains (bayes.chains)"
    # with several chains a missing R-hat (a constant parameter) is not put down to the chains
    assert diagnostics_warning({"r_hat": float("nan"), "ess_bulk": 900.0, "ess_tail": 900.0}, 0, 1.01, 400, 4) == ""
    warnings = ["3 divergent transitions", "r_hat 1.050 > 1.01", "ess_tail 90 < 400", one_chain]
    assert [bool(re.search(RETRY_WARNINGS, text)) for text in warnings] == [True, True, True, False]


def test_a_probability_whose_draws_all_fall_on_one_side_agrees_with_a_small_exact_probability():
    """dat.bcg's counts as log ORs: P(r > 0) exact 0.00044, no draw of 4,000 above 0 (MCSE 0): flagged before."""
    import pandas as pd

    from alliance_meta.bayes.summaries import agreement

    table = pd.DataFrame({"parameter": ["p_r_gt_0", "p_r_gt_0", "p_r_gt_0", "mu"], "mean": [0.0, 0.0, 0.01, 0.3],
                          "mcse_mean": [0.0, 0.0, 0.0, 0.001], "exact_mean": [0.00044, 0.01, 0.01, 0.5]})
    # 0.00044: 1.8 draws expected; 0.01: 40 expected, none drawn; 0.01 drawn as 0.01; mu far off
    assert agreement(table, 4000).tolist() == [True, False, True, False]


class LightTailedTauSampler:
    """One study under a half-Cauchy prior: mu's draws from the exact posterior, tau's off its exact mean by far more
    than 4 of their MCSE, as the 4 MCSE check met in 2 of 8 seeds of real MCMC (tau 0.569, MCSE 0.014, exact 0.640)."""

    def __init__(self, prior):
        self.prior = prior

    def sample(self, y, v, X=None, settings=SamplerSettings()):
        rng = np.random.default_rng(0)
        post = exact_posterior(y, v, self.prior, CONFIG.priors.mu_sd)
        mixture = post.coefficient(0)
        mu = rng.normal(mixture.mean(), mixture.sd(), (2, 2000))
        tau = np.abs(rng.normal(0.5, 0.3, (2, 2000)))
        return Draws(mu[..., None], tau, mu[..., None] + np.zeros((1, 1, len(y))), rng.normal(size=(2, 2000)), 0,
                     settings)


def test_a_mean_whose_sd_does_not_exist_is_not_checked_against_mcse():
    """tau of one study under a half-Cauchy prior has a mean but no SD (TauPrior.tau_moment_finite): the MCSE of its
    draws' mean assumes a finite variance, and the 4 MCSE check stopped the Bayes job (ExactCheckError) at random."""
    from alliance_meta.bayes.priors import TauPrior

    prior = TauPrior("half_cauchy", 0.5)
    cfg = BayesConfig.from_config({"draws": 1000, "tune": 1000, "chains": 2,
                                   "prior": {"tau": {"family": "half_cauchy", "scale": 0.5}}}, "z", cores=1)
    fit = fit_pooled(LightTailedTauSampler(prior), DATA.iloc[:1], "z", cfg)
    tau = fit.table.set_index("parameter").loc["tau"]
    assert tau["exact_sd"] == np.inf and pd.isna(tau["agrees_with_exact"])
    assert abs(tau["mean"] - tau["exact_mean"]) > 4 * tau["mcse_mean"]
    assert "the SD of tau does not exist" in tau["warning"]
    assert bool(fit.table.set_index("parameter").loc["mu", "agrees_with_exact"])  # mu is still checked


class ExactSampler:
    """Independent draws from the exact posterior; the first fit reports divergent transitions (as a few studies'
    funnel can), its repeat none."""

    def __init__(self):
        self.calls = 0

    def sample(self, y, v, X=None, settings=SamplerSettings()):
        self.calls += 1
        rng = np.random.default_rng(self.calls)
        post = exact_posterior(y, v, CONFIG.priors.tau, CONFIG.priors.mu_sd)
        shape = (settings.chains, settings.draws)
        node = rng.choice(post.tau.size, size=shape, p=post.weights / post.weights.sum())
        tau = post.tau[node]
        mu = rng.normal(post.coef_mean[node, 0], np.sqrt(post.coef_cov[node, 0, 0]))
        precision = 1 / v + 1 / tau[..., None] ** 2
        theta = rng.normal((y / v + mu[..., None] / tau[..., None] ** 2) / precision, 1 / np.sqrt(precision))
        return Draws(mu[..., None], tau, theta, rng.normal(size=shape), 5 if self.calls == 1 else 0, settings)


def test_a_repeat_that_passes_is_logged_as_information_not_a_warning(caplog):
    """The retry of the diagnostics policy was a WARNING ("diagnostics or exact check failed; retrying") also where
    the repeat passed every check (a first-review walkthrough): it is routine, and said so at INFO."""
    config = BayesConfig.from_config({"draws": 500, "tune": 500, "chains": 2}, "z", cores=1)
    with caplog.at_level(logging.INFO, logger="alliance_meta"):
        fit = fit_pooled(ExactSampler(), DATA, "z", config)
    assert fit.retried and fit.table.set_index("parameter").loc[["mu", "tau"], "agrees_with_exact"].all()
    assert not [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    (message,) = [record.getMessage() for record in caplog.records if "repeated once" in record.getMessage()]
    assert message == ("Bayesian pooling: the first run fell short on divergent transitions, so it was repeated once "
                       "with target_accept=0.99 and 1000 draws (bayes.retry); the repeat passes: no divergent "
                       "transitions, R-hat and ESS within bayes.diagnostics, mu and tau agree with the exact posterior")


def test_the_study_rows_give_the_hdi_of_r_itself():
    """bayes_studies.csv's r_hdi_* were tanh of theta's HDI limits: an interval of the same mass, but not r's HDI,
    which the forest plot (docs/bayes.md) and the column's name promise; r_mean was already the mean of r's draws."""
    import arviz as az

    config = BayesConfig.from_config({"draws": 500, "tune": 500, "chains": 2}, "z", cores=1)
    sampler = ExactSampler()
    studies = fit_pooled(sampler, DATA, "z", config).studies
    sampler.calls -= 1  # the last fit's draws again (ExactSampler seeds by call)
    theta = sampler.sample(DATA["yi"].to_numpy(float), DATA["vi"].to_numpy(float),
                           settings=SamplerSettings(draws=1000, tune=500, chains=2, seed=1, cores=1)).theta
    assert theta.shape[:2] == (2, 1000)  # the repeat's draws (fit_pooled repeats with 1000 draws)
    r_hdi = np.asarray(az.hdi(np.tanh(theta), hdi_prob=0.95))
    np.testing.assert_allclose(studies["r_mean"], np.tanh(theta).mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(studies[["r_hdi_lower", "r_hdi_upper"]], r_hdi, rtol=1e-12)
    assert np.abs(studies["r_hdi_lower"] - np.tanh(studies["hdi_lower"])).max() > 1e-4  # not tanh of theta's


def test_the_study_rows_name_every_study_as_the_forest_plots_do(monkeypatch):
    """bayes_studies.csv's label was the composites' label column: the row's label ("CALPAS, patient, late") for a
    study of one effect size, "Simulated study 057 (2004)" for one whose effect sizes were combined (the demo's
    outcome family), while the Bayes and the frequentist forest plots name every study by plots.labels."""
    import alliance_meta as am
    from alliance_meta.inputs.dependence import aggregate
    from alliance_meta.plots.forest_options import study_labels

    rows = pd.DataFrame({"study_id": ["S1", "S2", "S2", "S3"], "authors": ["Ames", "Bell", "Bell", "Cole"],
                         "year": [2001, 2002, 2002, 2003], "yi": [0.3, 0.1, 0.2, 0.4], "vi": [0.02, 0.03, 0.02, 0.04],
                         "label": ["CALPAS, patient, late", "WAI, patient", "WAI, therapist", "HAq, patient"]})
    composites = aggregate(rows)
    config = BayesConfig.from_config({"draws": 500, "tune": 500, "chains": 2}, "z", cores=1)
    studies = fit_pooled(ExactSampler(), composites, "z", config).studies
    assert list(studies["label"]) == ["Ames (2001)", "Bell (2002)", "Cole (2003)"]  # plots.labels' default
    for mode in ("authors_year", "label", "both"):
        studies = fit_pooled(ExactSampler(), composites, "z", config, labels=mode).studies
        assert list(studies["label"]) == study_labels(composites, mode, escape=False), mode
    # am.bayes passes its labels on, and refuses a mode plots.labels does not have before any sampling
    passed = {}
    monkeypatch.setattr("alliance_meta.bayes.api.run_stage", lambda *args, **kwargs: passed.update(kwargs))
    fit = am.fit(rows, metric="z")
    am.bayes(fit, labels="both")
    assert passed["labels"] == "both"
    with pytest.raises(ValueError, match="am.bayes: labels must be one of authors_year, label, both .*'authors'"):
        am.bayes(fit, labels="authors")
