"""Test of excess significance (Ioannidis & Trikalinos 2007), as metafor 3.8's ``tes(rma_fit)``.

Ioannidis, J. P. A. & Trikalinos, T. A. (2007). An exploratory test for an excess of
significant findings. *Clinical Trials* 4, 245-253.

Each study's power to be significant at ``alpha`` (two-sided by default) is computed at the
pooled estimate theta of the fitted model; with tau^2 > 0 it is averaged over the true
effects N(theta, tau^2), integrated over theta +- 5 tau as metafor (``.tes.intfun``):

    power_i = integral_{theta - 5 tau}^{theta + 5 tau} P(|z_i| >= c | x) phi(x; theta, tau^2) dx.

E = sum power_i is the expected and O the observed number of significant studies. The
chi-square test is metafor's ``test = "chi2"`` (``prop.test(O, k, E / k, correct = FALSE)``,
one-sided ``tes.alternative = "greater"``): X^2 = (O - E)^2 / (E (1 - E / k)),
p = 1 - Phi(sign(O - E) sqrt(X^2)). The exact p (``test = "exact"``) is P(X >= O) for the
Poisson-binomial distribution of the number of significant studies. ``bias.csv`` gives the p of
the test metafor's ``tes()`` uses by default: exact while the tail has at most 10^6 terms
(sum of choose(k, j) for j = O..k), chi-square beyond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from alliance_meta.analyses.bias.results import BiasTest
from alliance_meta.engines import distributions as dist
from alliance_meta.engines.heterogeneity import refit_control
from alliance_meta.models import univariate as pooling

NODES, NODE_WEIGHTS = np.polynomial.legendre.leggauss(20)
PANELS = np.linspace(-5.0, 5.0, 41)  # panels of 1/4 SD over metafor's theta +- 5 tau
STEEP = np.linspace(-8.0, 8.0, 33)  # and of 1/2 sei where the power rises
#: studies whose panels are integrated at once: each takes ~140 kB of temporaries (k = 5000 at once: ~0.7 GB)
BLOCK = 256


#: metafor's tes() uses the exact test while its tail sum has at most this many terms.
EXACT_TERMS = 10**6


@dataclass(frozen=True)
class ExcessSignificance:
    """Observed and expected numbers of significant studies and the tests of their difference."""

    k: int
    observed: int
    expected: float
    statistic: float
    p: float
    p_exact: float
    power: np.ndarray
    significant: np.ndarray
    theta: float
    tau2: float

    @property
    def test(self) -> str:
        """metafor's default test: ``exact`` while sum_{j=O..k} choose(k, j) <= 10^6, else ``chi2``."""
        terms = 0
        for j in range(self.observed, self.k + 1):
            terms += math.comb(self.k, j)
            if terms > EXACT_TERMS:
                return "chi2"
        return "exact"

    def as_test(self) -> BiasTest:
        """The ``bias.csv`` row of metafor's default test: the exact p (no statistic), or X^2 (1 df) and its
        p; the other test in the note."""
        exact = self.test == "exact"
        other = (f"chi-square X2 = {self.statistic:.4g}, p = {self.p:.4g}" if exact
                 else f"exact p = {self.p_exact:.4g}")
        return BiasTest("tes", math.nan if exact else self.statistic, self.p_exact if exact else self.p,
                        df=math.nan if exact else 1, side="greater",
                        observed=float(self.observed), expected=self.expected,
                        note=f"observed {self.observed} vs expected {self.expected:.4g} significant studies "
                             f"(O/E = {self.observed / self.expected:.4g}); "
                             f"{'exact' if exact else 'chi-square'} test (one-sided; metafor's default for these "
                             f"k and O); {other}")


def _power(theta, sei, critical, alternative):
    """P(study significant | true effect theta) for each study (metafor's pow)."""
    mean = theta / sei
    if alternative == "two.sided":
        return special.ndtr(mean - critical) + special.ndtr(-critical - mean)
    if alternative == "greater":
        return special.ndtr(mean - critical)
    return special.ndtr(critical - mean)


def _mixture_power(theta, tau, sei, critical, alternative):
    """Power averaged over true effects N(theta, tau^2) truncated to theta +- 5 tau (metafor's
    integration limits), by Gauss-Legendre on panels refined where the power changes; :data:`BLOCK` studies at a
    time (each study's numbers are its own: the same in any block)."""
    if sei.size > BLOCK:
        return np.concatenate([_mixture_power(theta, tau, sei[start:start + BLOCK], critical, alternative)
                               for start in range(0, sei.size, BLOCK)])
    centres = np.stack([critical * sei, -critical * sei], axis=1)  # true effects where the power rises
    steep = ((centres[:, :, None] + sei[:, None, None] * STEEP) - theta) / tau
    edges = np.sort(np.clip(np.hstack([np.broadcast_to(PANELS, (sei.size, PANELS.size)),
                                       steep.reshape(sei.size, -1)]), -5.0, 5.0), axis=1)
    half = np.diff(edges, axis=1) / 2
    x = ((edges[:, 1:] + edges[:, :-1]) / 2)[:, :, None] + half[:, :, None] * NODES
    weights = half[:, :, None] * NODE_WEIGHTS * dist.norm.pdf(x)
    return np.sum(_power(theta + tau * x, sei[:, None, None], critical, alternative) * weights, axis=(1, 2))


def poisson_binomial_tail(probabilities, observed: int) -> float:
    """P(X >= observed) for X the number of successes in independent Bernoulli(probabilities)."""
    distribution = np.zeros(len(probabilities) + 1)
    distribution[0] = 1.0
    for probability in probabilities:
        distribution[1:] = distribution[1:] * (1 - probability) + distribution[:-1] * probability
        distribution[0] *= 1 - probability
    return float(min(1.0, distribution[observed:].sum()))


def excess_significance(yi, vi, theta: float | None = None, tau2: float | None = None, method: str = "REML",
                        alpha: float = 0.05, alternative: str = "two.sided", weights=None,
                        control=None) -> ExcessSignificance:
    """metafor's ``tes(rma(yi, vi, method = method))``: theta and tau^2 of that fit (GENQ: with ``weights``; its
    ``control``, iterated to the converged root) unless given."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    if yi.size < 1:
        raise ValueError("the test of excess significance needs at least one study")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}")
    if theta is None or tau2 is None:
        fit = pooling.fit(yi, vi, method, control=refit_control(control), tau2_interval=False, weights=weights)
        theta = fit.estimate if theta is None else theta
        tau2 = fit.tau2 if tau2 is None else tau2
    if alternative == "two.sided":
        critical = dist.norm.isf(alpha / 2)
    elif alternative == "greater":
        critical = dist.norm.isf(alpha)
    elif alternative == "less":
        critical = dist.norm.ppf(alpha)
    else:
        raise ValueError(f"unknown alternative {alternative!r}; expected two.sided, greater or less")
    sei = np.sqrt(vi)
    if tau2 <= 0:
        power = _power(theta, sei, critical, alternative)
    else:
        power = _mixture_power(theta, math.sqrt(tau2), sei, critical, alternative)
    z = yi / sei
    significant = {"two.sided": np.abs(z) >= critical, "greater": z >= critical, "less": z <= critical}[alternative]
    k, observed, expected = yi.size, int(significant.sum()), float(power.sum())
    share = expected / k
    statistic = (observed - expected) ** 2 / (k * share * (1 - share))
    p = float(special.ndtr(-math.copysign(math.sqrt(statistic), observed / k - share)))
    return ExcessSignificance(k, observed, expected, float(statistic), p, poisson_binomial_tail(power, observed),
                              power, significant, float(theta), float(tau2))
