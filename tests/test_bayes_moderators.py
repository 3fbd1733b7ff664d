"""Bayesian meta-regressions on the frequentist moderator models' rows and coding:
same k, k_dropped and coefficient names as alliance_meta.analyses.moderators, MCMC within 4 MCSE
of the exact posterior, and (flat coefficient prior, tau fixed at the REML value) the
posterior means of the coefficients at the REML estimates."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest

from alliance_meta.bayes.analysis import BayesConfig, ModeratorOptions, fit_moderators, moderator_data
from alliance_meta.bayes.exact import exact_posterior
from alliance_meta.bayes.mcmc import Draws, SamplerSettings
from alliance_meta.analyses.moderators import analyse_moderator


def effect_sizes(seed: int = 7, studies: int = 14) -> pd.DataFrame:
    """Several effect sizes per study with raters that differ within a study (a composite
    per study would be "mixed"), one effect size without a rater, a study-level year."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(studies):
        raters = rng.choice(["patient", "therapist", "observer"], size=rng.integers(1, 4), p=[0.5, 0.3, 0.2])
        study_effect = rng.normal(0.0, 0.12)
        for j, rater in enumerate(raters):
            vi = rng.uniform(0.004, 0.03)
            shift = {"patient": 0.30, "therapist": 0.18, "observer": 0.25}[rater]
            rows.append({"es_id": f"S{s:02d}-{j}", "study_id": f"S{s:02d}", "rater": rater, "year": 1990.0 + 2 * s,
                         "vi": vi, "yi": shift + study_effect + rng.normal(0.0, math.sqrt(vi)), "n": 120})
    frame = pd.DataFrame(rows)
    frame.loc[3, "rater"] = ""  # no value: left out of the rater model only
    return frame


DATA = effect_sizes()
OPTIONS = ModeratorOptions(continuous=("year",), aggregate_method="gls", rho=0.5)
CONFIG = BayesConfig.from_config({"draws": 1000, "tune": 1000, "chains": 4}, "z", cores=1)


def frequentist(moderator: str, reference_levels=None):
    return analyse_moderator(DATA, moderator, "z", continuous=moderator in OPTIONS.continuous, rho=OPTIONS.rho,
                             reference_level=(reference_levels or {}).get(moderator), permutations=0)


def test_the_data_are_those_the_frequentist_model_uses():
    assert DATA.groupby("study_id")["rater"].nunique().max() > 1  # raters differ within studies
    for moderator in ("rater", "year"):
        bayes, freq = moderator_data(DATA, moderator, OPTIONS), frequentist(moderator)
        assert bayes.k == len(freq.data) and bayes.k_dropped == freq.k_dropped
        assert list(bayes.design.columns) == list(freq.model.columns)
        pd.testing.assert_frame_equal(bayes.data[["study_id", moderator, "yi", "vi"]],
                                      freq.data[["study_id", moderator, "yi", "vi"]])
        np.testing.assert_array_equal(bayes.design.matrix, freq.model.design.matrix)
        assert bayes.design.reference_levels == freq.model.design.reference_levels
    rater = moderator_data(DATA, "rater", OPTIONS)
    assert rater.k > DATA["study_id"].nunique()  # one row per study x rater, not per study
    assert rater.k_dropped == 1


def test_configured_reference_level_is_used():
    options = ModeratorOptions(continuous=("year",), reference_levels={"rater": "observer"})
    bayes, freq = moderator_data(DATA, "rater", options), frequentist("rater", {"rater": "observer"})
    assert bayes.design.reference_levels == {"rater": "observer"}
    assert list(bayes.design.columns) == list(freq.model.columns) == ["intercept", "rater[patient]", "rater[therapist]"]


def test_missing_column_and_single_level_are_reported_not_fitted():
    """Each with the frequentist model's reason (moderators.csv's note): a moderator coded in no row said "fewer
    than 3 rows" beside a family of many rows, one with one level "fewer than two levels or too few rows"."""
    assert moderator_data(DATA, "format", OPTIONS).note == "not a column of the effect sizes"
    one_level = moderator_data(DATA.assign(format="individual"), "format", OPTIONS)
    assert one_level.note == "format has one value (individual) in every row: nothing to compare"
    assert one_level.k == DATA["study_id"].nunique()
    uncoded = moderator_data(DATA.assign(format=None), "format", OPTIONS)
    assert uncoded.note == "format has no value in any row" and uncoded.k == 0
    table = fit_moderators(None, [moderator_data(DATA, "format", OPTIONS)], CONFIG)
    assert table.loc[0, "warning"] == "not a column of the effect sizes"


class ExactSampler:
    """Independent draws from the exact posterior of the meta-regression; the first ``divergent_runs`` fits report
    divergent transitions."""

    def __init__(self, divergent_runs: int = 1):
        self.calls, self.divergent_runs = 0, divergent_runs

    def sample(self, y, v, X, settings=SamplerSettings(), scale=None):
        self.calls += 1
        rng = np.random.default_rng(self.calls)
        post = exact_posterior(y, v, CONFIG.priors.tau, CONFIG.priors.mu_sd, X)
        shape = (settings.chains, settings.draws)
        node = rng.choice(post.tau.size, size=shape, p=post.weights / post.weights.sum())
        normal = rng.standard_normal((*shape, X.shape[1]))
        beta = post.coef_mean[node] + np.einsum("cdij,cdj->cdi", np.linalg.cholesky(post.coef_cov)[node], normal)
        divergences = 5 if self.calls <= self.divergent_runs else 0
        return Draws(beta, post.tau[node], np.zeros((*shape, len(y))), rng.normal(size=shape), divergences, settings)


@pytest.mark.parametrize(("divergent_runs", "level", "outcome"), [
    (1, logging.INFO, "the repeat passes: no divergent transitions, R-hat and ESS within bayes.diagnostics, the "
                      "coefficients and tau agree with the exact posterior"),
    (2, logging.WARNING, "the repeat still falls short (the warnings below)")])
def test_a_meta_regression_repeat_is_logged_in_one_line(caplog, divergent_runs: int, level: int, outcome: str):
    """The meta-regressions repeated a run that fell short with no log line (the pooled model's says so): the same
    line, at INFO where the repeat passes, a WARNING where it still falls short."""
    config = BayesConfig.from_config({"draws": 500, "tune": 500, "chains": 2}, "z", cores=1)
    with caplog.at_level(logging.INFO, logger="alliance_meta"):
        table = fit_moderators(ExactSampler(divergent_runs), [moderator_data(DATA, "rater", OPTIONS)], config)
    assert table["agrees_with_exact"].all()
    (record,) = [record for record in caplog.records if "repeated once" in record.getMessage()]
    assert record.levelno == level
    assert record.getMessage() == ("Bayesian meta-regression on rater: the first run fell short on divergent "
                                   "transitions, so it was repeated once with target_accept=0.99 and 1000 draws "
                                   f"(bayes.retry); {outcome}")
    if level == logging.INFO:
        assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.fixture(scope="module")
def sampler():
    from alliance_meta.bayes.mcmc import HierarchicalSampler

    return HierarchicalSampler(CONFIG.priors, max_studies=len(DATA), max_coefficients=3)


@pytest.mark.slow
def test_bayes_and_frequentist_models_share_k_and_coefficients_and_mcmc_agrees_with_exact(sampler):
    models = [moderator_data(DATA, name, OPTIONS) for name in ("rater", "year")]
    table = fit_moderators(sampler, models, CONFIG)
    for moderator in ("rater", "year"):
        freq = frequentist(moderator).coefficient_table()
        rows = table[table["moderator"] == moderator]
        assert set(rows["k"]) == set(freq["k"]) and set(rows["k_dropped"]) == set(freq["k_dropped"])
        assert list(rows["term"]) == list(freq["term"]) + ["tau"]
    # the coefficients (and tau), including the uncentred year model whose intercept and
    # slope correlate at ~ -0.9999: MCMC within 4 MCSE of the exact posterior
    assert table["agrees_with_exact"].all(), table[["moderator", "term", "mean", "exact_mean", "mcse_mean"]]
    assert (table["warning"].fillna("") == "").all(), table["warning"]
    assert set(table.loc[table["moderator"] == "rater", "reference"]) == {"patient"}


@pytest.mark.slow
@pytest.mark.parametrize("moderator", ["rater", "year"])
def test_flat_prior_and_tau_at_reml_reproduce_the_reml_coefficients(moderator):
    """Coefficient prior N(0, 100^2) and log(tau^2) ~ N(log tau2_REML, 0.02^2). Given tau the
    posterior of beta is N((X'WX + I/100^2)^-1 X'Wy, (X'WX + I/100^2)^-1): REML's GLS
    estimate and Wald covariance up to the prior's share of the precision, ~ (SE/100)^2 per
    coefficient: < 1e-7 for the rater model, 1.5% for the uncentred year model, whose
    intercept (at year 0) has SE 12.4 (its posterior SD is then 0.76% below the SE and the
    means move by 0.001 SE, as the slope and the intercept correlate). tau's remaining spread
    (2% in tau^2) acts at second order. Tolerances: exact mean within 1% of the SE of the
    REML estimate, exact SD within 2% of the SE (both > 2.5 times the deviations above), the
    MCMC mean within 4 MCSE of the REML estimate (the stage's agreement rule) plus that 1%."""
    from alliance_meta.bayes.mcmc import HierarchicalSampler

    freq = frequentist(moderator)
    tau2 = freq.model.tau2
    assert tau2 > 1e-3  # a heterogeneous data set: tau is identified away from zero
    config = BayesConfig.from_config({"prior": {"mu_sd": 100.0, "tau": {"family": "log_normal", "mu": math.log(tau2),
                                                                         "sigma": 0.02}},
                                      "draws": 1000, "tune": 1000, "chains": 4}, "z", cores=1)
    model = moderator_data(DATA, moderator, OPTIONS)
    sampler = HierarchicalSampler(config.priors, model.k, model.design.matrix.shape[1])
    table = fit_moderators(sampler, [model], config)
    coefficients = table[table["term"] != "tau"].set_index("term")
    reml = freq.coefficient_table().set_index("term")
    assert list(coefficients.index) == list(reml.index)
    for term in reml.index:
        estimate, se = reml.loc[term, "estimate"], reml.loc[term, "se"]
        row = coefficients.loc[term]
        assert abs(row["exact_mean"] - estimate) <= 0.01 * se, term
        assert row["exact_sd"] == pytest.approx(se, rel=0.02), term
        assert abs(row["mean"] - estimate) <= 4 * row["mcse_mean"] + 0.01 * se, term
    assert table.set_index("term").loc["tau", "exact_mean"] == pytest.approx(math.sqrt(tau2), rel=0.01)


def test_the_pooled_draws_do_not_depend_on_the_moderators():
    """The pooled model has a compiled model of its own size: sampled in the meta-regressions' padded model
    (more studies: composites within study x rater; more coefficients), its draws moved with the moderator
    list (tau 0.107 [0.082, 0.133] with modality and rater, 0.108 [0.083, 0.134] with modality alone)."""
    import alliance_meta as am

    fit = am.fit(DATA, metric="z")
    config = {"draws": 200, "tune": 200, "chains": 2}
    alone = am.bayes(fit, config)
    beside = am.bayes(fit, config, moderators=["rater"], continuous=["year"])
    assert len(beside.moderators) and not len(alone.moderators.dropna(how="all"))
    pd.testing.assert_frame_equal(alone.table, beside.table)
    pd.testing.assert_frame_equal(alone.studies, beside.studies)
    assert np.array_equal(alone.draws["tau"], beside.draws["tau"])
