"""Robust Bayesian meta-analysis (RoBMA-PSMA) against RoBMA 3.6.1 itself (tests/reference/robma.R ->
robma.json; JAGS + bridge sampling, RoBMA's defaults: 3 chains x 5,000 draws per model).

Scales. For ``z =`` input RoBMA puts its priors on Cohen's d (``prior_scale = "cohens_d"``),
samples mu and tau on d and uses ``mu_transformed = scale_d2z(mu) = mu / 2`` (and the same
for tau) in the likelihood of the Fisher-z data (``.generate_model_syntax``, ``.JAGS_scale``,
``.scale_d2z``: d -> r is x/2, r -> z the identity, i.e. the LINEAR scaling, not the nonlinear
z2d transformation). ``summary()`` reports the samples on ``output_scale``, which defaults to
``add_info$output_scale = prior_scale`` = Cohen's d, without ``.transform_posterior``. So its
mu and tau are exactly 2 x ours on the Fisher-z metric. For ``y =`` input (bcg) everything is
on the analysis scale (factor 1).

Tolerances. Posterior inclusion probabilities: 0.02 (the issue). Model-averaged estimates:
RoBMA's summary table has no Monte Carlo error column (BayesTools::ensemble_estimates_table
gives mean, median and quantiles only; the ``mcmc_error`` entry of robma.json is empty), so its
Monte Carlo standard error is taken as sd / sqrt(ESS), sd the SD of RoBMA's model-averaged
draws and ESS the smallest effective sample size of any model (``min_ESS`` of its diagnostics
table; a lower bound for the ensemble), times 1.25 for a median (the asymptotic SE of a normal
median, sqrt(pi / 2) sd / sqrt(n)). The tests allow 3 such standard errors plus our own
quadrature error (the largest stated log-evidence error times sd: posterior probabilities
move by at most that relative amount).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from alliance_meta.bayes import bma as B
from conftest import load_reference

REFERENCE = load_reference("robma")
DATASETS = ["molloy", "molloy6", "bcg"]
MCSE_MULTIPLE = 3.0
COMPONENTS = {"Effect": "effect", "Heterogeneity": "heterogeneity", "Bias": "bias"}


def test_reference_versions_and_the_equivocal_small_sheet():
    """robma.json holds every set robma.R defines (molloy, molloy6, bcg), from RoBMA 3.6.1."""
    assert set(REFERENCE) == {*DATASETS, "versions"}
    assert REFERENCE["versions"] == {"RoBMA": "3.6.1", "BayesTools": "0.2.22"}
    # equivocal: no component has an inclusion Bayes factor above 10 or below 1/10
    assert all(0.1 < bf < 10 for bf in REFERENCE["molloy6"]["components"]["inclusion_bf"])


@pytest.fixture(scope="module")
def ensembles():
    out = {}
    for name in DATASETS:
        ref = REFERENCE[name]
        y, se = np.asarray(ref["yi"], float), np.asarray(ref["sei"], float)
        metric = "z" if ref["scale"] == "cohens_d" else "log_rr"
        prior_scale = "cohens_d" if ref["scale"] == "cohens_d" else "analysis"
        out[name] = B.robma(y, se**2, metric=metric, prior_scale=prior_scale)
    return out


def robma_scale(name: str) -> float:
    """RoBMA's reported mu and tau per unit of ours (see the module docstring)."""
    return 2.0 if REFERENCE[name]["scale"] == "cohens_d" else 1.0


def robma_mcse(name: str, sd_key: str) -> float:
    """Monte Carlo standard error of a RoBMA model-averaged mean (see the module docstring)."""
    ref = REFERENCE[name]
    ess = [row["min_ESS"] for row in ref["diagnostics"] if row.get("min_ESS") is not None]
    return ref[sd_key] / math.sqrt(min(min(ess), ref["n_samples"]))


@pytest.mark.parametrize("name", DATASETS)
def test_inclusion_probabilities_match_robma(ensembles, name):
    ref = REFERENCE[name]["components"]
    ours = ensembles[name].summary.set_index("name")
    for label, prior, post in zip(ref["names"], ref["prior_prob"], ref["post_prob"]):
        component = COMPONENTS[label]
        assert ours.loc[component, "prior_prob"] == pytest.approx(prior, abs=1e-12), component
        assert ours.loc[component, "posterior_prob"] == pytest.approx(post, abs=0.02), component


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("kind", ["averaged", "conditional"])
def test_model_averaged_estimates_match_robma(ensembles, name, kind):
    ref = REFERENCE[name]
    table = ensembles[name].summary
    own = float(ensembles[name].table["log_marglik_error"].max())
    source = ref["estimates"] if kind == "averaged" else ref["conditional"]
    for parameter, sd_key in (("mu", "mu_samples_sd"), ("tau", "tau_samples_sd")):
        row = table.query("name == @parameter and type == @kind and scale == 'analysis'").iloc[0]
        i = source["names"].index(parameter)
        scale = robma_scale(name)
        mcse = robma_mcse(name, sd_key)
        tol_mean = MCSE_MULTIPLE * mcse + own * ref[sd_key]
        tol_median = MCSE_MULTIPLE * 1.25 * mcse + own * ref[sd_key]
        assert scale * row["mean"] == pytest.approx(source["mean"][i], abs=tol_mean), (parameter, "mean")
        assert scale * row["median"] == pytest.approx(source["median"][i], abs=tol_median), (parameter, "median")


@pytest.mark.parametrize("name", DATASETS)
def test_our_quadrature_errors_are_small_beside_robma(ensembles, name):
    """Our stated log-evidence errors are far below what moves an inclusion probability by
    0.001 (a relative change of 0.1 % in a posterior model probability)."""
    assert ensembles[name].table["log_marglik_error"].max() < 1e-2
