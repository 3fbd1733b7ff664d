"""Exact posterior of the normal-normal hierarchical model by quadrature over tau.

Model (Röver 2020, J Stat Softw 93(6), "Bayesian random-effects meta-analysis
using the bayesmeta R package", sections 2-3)::

    y_i ~ N(theta_i, v_i),  theta_i ~ N(x_i' beta, tau^2),  beta_j ~ N(0, s_j^2),  tau ~ p(tau)

Given tau the model is conjugate: with w_i = 1/(v_i + tau^2) and
P = X'WX + S^-1, beta | tau, y ~ N(b, P^-1) with b = P^-1 X'Wy, and the marginal
likelihood (beta integrated out analytically) is

    log p(y|tau) = -k/2 log 2pi - 1/2 sum log(v_i + tau^2) - sum log s_j - 1/2 log|P|
                   - 1/2 [sum w_i (y_i - x_i'b)^2 + b'S^-1 b].

The marginal posterior p(tau|y) ∝ p(tau) p(y|tau) is one-dimensional, so it is
integrated numerically; p(beta|y), the predictive distribution of a new study and
the shrunken study effects are then mixtures of normals over the tau nodes
(Röver 2020, eq. 8-11). bayesmeta uses adaptive integration and the DIRECT grid of
Röver & Friede (2017, J Comput Graph Stat 26(1)); here the integral is taken over
s = log(tau) with the trapezoidal rule on a uniform grid that covers every s where
the integrand exceeds exp(-36) times its maximum (found by a coarse scan that
widens until both ends are negligible). For smooth integrands that decay at both
ends the trapezoidal rule converges geometrically (Trefethen & Weideman 2014, SIAM
Review 56(3)); with the default 1,000 nodes posterior means and SDs agree with
a 4,000-node grid and with a brute-force two-dimensional grid to better than 1e-8
(tests/test_bayes_exact.py). The prior mass below t0 = 1e-6 sqrt(min v_i) is
one atom at tau = 0 (there tau^2 < 1e-12 v_i, so the likelihood is that of
tau = 0), which keeps priors with heavy tails on log(tau) (log-t) accurate.
Quantiles of normal mixtures interpolate the CDF on a 1,001-point grid over
+-12 SD and are refined by two Newton steps (error < 1e-10 of the posterior SD);
HDIs: the shortest of 1,001 candidate intervals, refined to equal densities at
both ends (Brent; ends within 1e-8 for mixtures; for tau, whose quantiles
interpolate the cumulative trapezoid, within ~1e-4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from .priors import TauPrior

LOG_2PI = math.log(2.0 * math.pi)
CUT = 36.0  # integrand below exp(-CUT) of its maximum is ignored
T0_FACTOR = 1e-6  # below t0 = 1e-6 sqrt(min v_i), tau^2 < 1e-12 v_i: p(y|tau) = p(y|0)
GH_NODES, GH_WEIGHTS = np.polynomial.hermite.hermgauss(40)


def exp_or_inf(value: float) -> float:
    """exp(value), ``inf`` beyond the largest double instead of OverflowError."""
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


def conditional_posterior(y, v, X, prior_sd, tau):
    """beta | tau, y for every tau: means (G, p), covariances (G, p, p), log p(y|tau) (G,)."""
    tau = np.atleast_1d(np.asarray(tau, dtype=float))
    w = 1.0 / (v[None, :] + tau[:, None] ** 2)
    precision = np.einsum("gi,ip,iq->gpq", w, X, X) + np.diag(1.0 / prior_sd**2)[None]
    chol, cov = _cholesky_and_inverse(precision)
    mean = np.einsum("gpq,gq->gp", cov, np.einsum("gi,ip,i->gp", w, X, y))
    resid = y[None, :] - mean @ X.T
    quad = np.sum(w * resid**2, axis=1) + np.sum(mean**2 / prior_sd**2, axis=1)
    log_det = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
    log_lik = (
        -0.5 * len(y) * LOG_2PI
        + 0.5 * np.sum(np.log(w), axis=1)
        - np.sum(np.log(prior_sd))
        - 0.5 * log_det
        - 0.5 * quad
    )
    return mean, cov, log_lik


def _cholesky_and_inverse(precision):
    """Cholesky factors and inverses of a stack of (p, p) precision matrices. For p = 1 (the intercept-only
    model: every specification of the multiverse) these are the square roots and reciprocals, which LAPACK
    computes as well (a 1 x 1 Cholesky factor is sqrt(a), a 1 x 1 solve of a x = 1 is 1 / a: the same
    numbers), without numpy's call per matrix."""
    if precision.shape[-1] == 1:
        return np.sqrt(precision), 1.0 / precision
    return np.linalg.cholesky(precision), np.linalg.inv(precision)


@dataclass(frozen=True)
class TauGrid:
    """Quadrature over tau: node 0 is an atom at tau = 0 that carries the prior mass
    below ``t0`` (where tau^2 is negligible against every v_i, so p(y|tau) = p(y|0));
    the other nodes are uniform in s = log(tau) from t0 upwards (trapezoidal rule)."""

    tau: np.ndarray  # nodes, tau[0] = 0
    weights: np.ndarray  # normalised quadrature weights (sum 1)
    log_evidence: float  # log of the integral of prior x likelihood
    log_s: np.ndarray  # s at nodes 1..G
    cdf: np.ndarray  # P(tau <= exp(s)) at nodes 1..G

    def quantile(self, p) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return np.where(p <= self.cdf[0], 0.0, np.exp(np.interp(p, self.cdf, self.log_s)))


def log_tau_grid(log_likelihood, tau_prior: TauPrior, t0: float, n_nodes: int = 1000, h_max: float = 0.025) -> TauGrid:
    """Integrate prior(tau) x exp(log_likelihood(tau)) over tau >= 0 (see module docstring).

    The s-range starts at log(t0) and ends where the integrand falls below exp(-CUT) of
    its maximum (a coarse scan widens it until it does); at least ``n_nodes`` nodes and
    a step of at most ``h_max`` in log(tau).
    """

    def log_integrand(s):
        return tau_prior.logpdf(np.exp(s)) + log_likelihood(np.exp(s)) + s

    lo, hi = math.log(t0), math.log(t0) + 40.0
    for _ in range(30):
        s = np.linspace(lo, hi, 800)
        g = log_integrand(s)
        top = np.max(g)
        if not np.isfinite(top):
            raise FloatingPointError("the posterior of tau is not finite anywhere on the grid")
        if g[-1] <= top - CUT:
            break
        hi += 40.0
    atom_log = float(log_likelihood(np.zeros(1))[0]) + math.log(max(float(tau_prior.cdf(t0)), 1e-300))
    for _ in range(2):
        keep = np.nonzero(g > top - CUT)[0]
        a = s[max(keep[0] - 1, 0)]
        b = s[min(keep[-1] + 1, len(s) - 1)]
        n = int(min(max(n_nodes, math.ceil((b - a) / h_max) + 1), 20 * n_nodes))
        s = np.linspace(a, b, n)
        g = log_integrand(s)
        top = max(np.max(g), atom_log)
    h = s[1] - s[0]
    density = np.exp(g - top)
    trapezoid = np.full(len(s), h)
    trapezoid[[0, -1]] = h / 2.0
    masses = np.concatenate([[math.exp(atom_log - top)], trapezoid * density])
    total = masses.sum()
    cumulative = masses[0] + np.concatenate([[0.0], np.cumsum(h * (density[1:] + density[:-1]) / 2.0)])
    return TauGrid(
        tau=np.concatenate([[0.0], np.exp(s)]),
        weights=masses / total,
        log_evidence=top + math.log(total),
        log_s=s,
        cdf=cumulative / cumulative[-1],
    )


def _shortest(quantile, lower_tail, prob, transform) -> int:
    lower, upper = quantile(lower_tail), quantile(lower_tail + prob)
    if transform is not None:
        lower, upper = transform(lower), transform(upper)
    return int(np.argmin(upper - lower))


def central_summary(quantile, prob: float = 0.95, transform=None) -> dict:
    """``median``, ``eti_lower``, ``eti_upper``: the median and the equal-tailed (central) interval of mass ``prob``
    of a variable given by its quantile function, or of an increasing transform of it. Quantiles, unlike an HDI,
    are the transforms of the variable's: the odds ratio's are exp of the log odds ratio's."""
    values = np.asarray(quantile(np.array([(1 - prob) / 2, 0.5, (1 + prob) / 2])), dtype=float)
    if transform is not None:
        values = np.asarray(transform(values), dtype=float)
    return {"median": float(values[1]), "eti_lower": float(values[0]), "eti_upper": float(values[2])}


def shortest_interval(quantile, prob: float = 0.95, transform=None, n: int = 1001):
    """Shortest interval with probability ``prob`` of a distribution given by its quantile function, optionally of
    an increasing transform of the variable: the HDI of a unimodal distribution; of a multimodal one, whose
    highest-density region can be several intervals, its shortest single interval (as ArviZ's ``hdi`` of draws)."""
    lower_tail = np.linspace(0.0, 1.0 - prob, n)
    best = lower_tail[_shortest(quantile, lower_tail, prob, transform)]
    lower, upper = quantile(np.array([best, best + prob]))
    if transform is not None:
        lower, upper = transform(lower), transform(upper)
    return float(lower), float(upper)


@dataclass(frozen=True)
class NormalMixture:
    """sum_g weights_g N(means_g, sds_g^2): a marginal posterior over the tau nodes."""

    weights: np.ndarray
    means: np.ndarray
    sds: np.ndarray

    def __post_init__(self):
        keep = self.weights > 1e-16 * self.weights.max()
        object.__setattr__(self, "weights", self.weights[keep] / self.weights[keep].sum())
        object.__setattr__(self, "means", np.asarray(self.means, dtype=float)[keep])
        object.__setattr__(self, "sds", np.asarray(self.sds, dtype=float)[keep])

    def mean(self) -> float:
        return float(self.weights @ self.means)

    def sd(self) -> float:
        second = self.weights @ (self.sds**2 + self.means**2)
        return float(math.sqrt(max(second - self.mean() ** 2, 0.0)))

    def cdf(self, x) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, dtype=float))
        return special.ndtr((x[:, None] - self.means[None, :]) / self.sds[None, :]) @ self.weights

    def pdf(self, x) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, dtype=float))
        z = (x[:, None] - self.means[None, :]) / self.sds[None, :]
        return (np.exp(-0.5 * z**2) / (math.sqrt(2 * math.pi) * self.sds[None, :])) @ self.weights

    def support(self, n: int = 1001) -> np.ndarray:
        """Grid over mean +- 12 SD of the mixture (within the components' +- 9 SD)."""
        mean, sd = self.mean(), self.sd()
        lower = max(np.min(self.means - 9 * self.sds), mean - 12 * sd)
        upper = min(np.max(self.means + 9 * self.sds), mean + 12 * sd)
        return np.linspace(lower, upper, n)

    def _cdf_table(self):
        if not hasattr(self, "_table"):
            grid = self.support()
            object.__setattr__(self, "_table", (grid, self.cdf(grid)))
        return self._table

    def rough_quantile(self, p) -> np.ndarray:
        """Quantiles by interpolation of the CDF on a 1,001-point grid."""
        grid, cdf = self._cdf_table()
        return np.interp(np.asarray(p, dtype=float), cdf, grid)

    def quantile(self, p, newton_steps: int = 2) -> np.ndarray:
        """Quantiles: interpolation refined by Newton steps on the exact CDF."""
        p = np.asarray(p, dtype=float)
        x = self.rough_quantile(p)
        for _ in range(newton_steps):
            x = x - (self.cdf(x).reshape(x.shape) - p) / np.maximum(self.pdf(x).reshape(x.shape), 1e-300)
        return x

    def hdi(self, prob: float = 0.95, transform=None) -> tuple[float, float]:
        """Highest-density interval of X (or of an increasing transform f(X)), on the X scale: the shortest
        interval of mass ``prob`` (:func:`shortest_interval`), also where it ends at a bound of f (r_new of one
        study: up to within 1e-5 of r = 1, tests/test_bayes_exact.py).

        The shortest of 1,001 candidate intervals (on interpolated quantiles) is refined by
        solving density(lower) = density(upper) for the lower tail probability (Brent)."""
        lower_tail = np.linspace(0.0, 1.0 - prob, 1001)
        best = _shortest(self.rough_quantile, lower_tail, prob, transform)

        def density(x):  # density of f(X) at f(x)
            if transform is None:
                return self.pdf(x)
            step = 1e-6 * (1.0 + np.abs(x))
            difference = transform(x + step) - transform(x - step)
            with np.errstate(divide="ignore", invalid="ignore"):  # f flat in floating point: inf or NaN
                return self.pdf(x) * (2 * step) / difference

        def gap(p):
            lower, upper = self.quantile(np.array([p, p + prob]))
            with np.errstate(invalid="ignore"):  # inf - inf where f is flat: NaN, no root bracketed
                return float(density(lower)[0] - density(upper)[0])

        p = lower_tail[best]
        for width in (20, len(lower_tail)):
            a, b = lower_tail[max(best - width, 0)], lower_tail[min(best + width, len(lower_tail) - 1)]
            if a < b and gap(a) * gap(b) < 0:
                from scipy import optimize  # here, not at module level: jobs that never need it start faster

                p = optimize.brentq(gap, a, b, xtol=1e-13)
                break
        lower, upper = self.quantile(np.array([p, p + prob]))
        return float(lower), float(upper)

    def probability_above(self, threshold: float) -> float:
        """P(X > threshold)."""
        return float(1.0 - self.cdf(threshold)[0])

    def expect(self, func) -> float:
        """E[func(X)] by 40-point Gauss-Hermite quadrature within each component."""
        points = self.means[:, None] + math.sqrt(2.0) * self.sds[:, None] * GH_NODES[None, :]
        return float(self.weights @ (func(points) @ GH_WEIGHTS) / math.sqrt(math.pi))

    def summary(self, transform=None, prob: float = 0.95) -> dict:
        """mean, sd and HDI of X or of an increasing transform of X."""
        if transform is None:
            mean, sd = self.mean(), self.sd()
        else:
            with np.errstate(over="ignore", invalid="ignore"):  # e.g. an odds ratio of a wide predictive
                mean = self.expect(transform)
                second = self.expect(lambda x: transform(x) ** 2)
            if math.isfinite(mean) and math.isfinite(second) and abs(mean) < 1e150:
                sd = math.sqrt(max(second - mean**2, 0.0))
            else:  # the moment does not exist on this scale (heavy tail): no finite mean or sd
                mean, sd = (mean if math.isfinite(mean) else math.inf), math.inf
        lower, upper = self.hdi(prob, transform)
        if transform is not None:
            lower, upper = transform(lower), transform(upper)
        return {"mean": mean, "sd": sd, "hdi_lower": float(lower), "hdi_upper": float(upper),
                **central_summary(self.quantile, prob, transform)}


@dataclass(frozen=True)
class ExactPosterior:
    """The posterior of the normal-normal model (meta-regression when X has > 1 column)."""

    y: np.ndarray
    v: np.ndarray
    X: np.ndarray
    prior_sd: np.ndarray
    tau_prior: TauPrior
    grid: TauGrid
    coef_mean: np.ndarray  # (G, p)
    coef_cov: np.ndarray  # (G, p, p)

    @property
    def k(self) -> int:
        return len(self.y)

    @property
    def tau(self) -> np.ndarray:
        return self.grid.tau

    @property
    def weights(self) -> np.ndarray:
        return self.grid.weights

    @property
    def log_evidence(self) -> float:
        return self.grid.log_evidence

    def tau_quantile(self, p) -> np.ndarray:
        return self.grid.quantile(p)

    def tau_summary(self, transform=None, prob: float = 0.95) -> dict:
        """mean, sd and HDI of tau or of an increasing function of tau (e.g. tau^2, I^2)."""
        values = self.tau if transform is None else transform(self.tau)
        mean = float(self.weights @ values)
        sd = float(math.sqrt(max(self.weights @ values**2 - mean**2, 0.0)))
        lower, upper = shortest_interval(self.tau_quantile, prob, transform)
        return {"mean": mean, "sd": sd, "hdi_lower": lower, "hdi_upper": upper,
                **central_summary(self.tau_quantile, prob, transform)}

    def coefficient(self, j: int = 0) -> NormalMixture:
        """Marginal posterior of beta_j (mu in the intercept-only model)."""
        return NormalMixture(self.weights, self.coef_mean[:, j], np.sqrt(self.coef_cov[:, j, j]))

    def predictive(self, x_new=None) -> NormalMixture:
        """Effect theta_new of a new study with covariates x_new (Röver 2020, eq. 11)."""
        x_new = np.ones(1) if x_new is None else np.asarray(x_new, dtype=float)
        var = np.einsum("p,gpq,q->g", x_new, self.coef_cov, x_new) + self.tau**2
        return NormalMixture(self.weights, self.coef_mean @ x_new, np.sqrt(var))

    def studies(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and SDs of the study effects theta_i (shrinkage estimates).

        theta_i | tau, y ~ N(B_i x_i'b + (1 - B_i) y_i, (1 - B_i) v_i + B_i^2 x_i'C x_i),
        B_i = v_i / (v_i + tau^2) (Röver 2020, section 3.4)."""
        shrink = self.v[None, :] / (self.v[None, :] + self.tau[:, None] ** 2)
        fitted = self.coef_mean @ self.X.T
        fitted_var = np.einsum("ip,gpq,iq->gi", self.X, self.coef_cov, self.X)
        means = shrink * fitted + (1 - shrink) * self.y[None, :]
        variances = (1 - shrink) * self.v[None, :] + shrink**2 * fitted_var
        mean = self.weights @ means
        second = self.weights @ (variances + means**2)
        return mean, np.sqrt(np.maximum(second - mean**2, 0.0))

    def bayes_factors(self) -> dict:
        """Bayes factors BF_10 from the exact marginal likelihoods (intercept-only model):
        ``tau``: tau > 0 (prior p(tau)) against tau = 0; ``mu``: mu ~ N(0, mu_sd^2)
        against mu = 0, tau having its prior under both (Röver 2020, section 3.5).
        A factor beyond the largest double (e.g. tau > 0 for wildly heterogeneous studies) is
        ``inf``; :meth:`log_bayes_factors` has it finite."""
        return {name: exp_or_inf(value) for name, value in self.log_bayes_factors().items()}

    def log_bayes_factors(self) -> dict:
        """The natural logarithms of :meth:`bayes_factors`."""
        _, _, log_lik_tau0 = conditional_posterior(self.y, self.v, self.X, self.prior_sd, np.zeros(1))

        def log_likelihood_mu0(tau):
            var = self.v[None, :] + tau[:, None] ** 2
            return -0.5 * np.sum(LOG_2PI + np.log(var) + self.y[None, :] ** 2 / var, axis=1)

        log_evidence_mu0 = log_tau_grid(log_likelihood_mu0, self.tau_prior, self.grid.tau[1]).log_evidence
        return {"tau": self.log_evidence - float(log_lik_tau0[0]), "mu": self.log_evidence - log_evidence_mu0}


def exact_posterior(y, v, tau_prior: TauPrior, mu_sd: float = 1.0, X=None, n_nodes: int = 1000) -> ExactPosterior:
    """Posterior of the normal-normal model by quadrature over tau.

    ``X`` (k x p) gives a meta-regression; every coefficient gets the N(0, mu_sd^2) prior.
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    X = np.ones((len(y), 1)) if X is None else np.asarray(X, dtype=float)
    if len(y) < 1 or np.any(~np.isfinite(y)) or np.any(~(v > 0)):
        raise ValueError("exact_posterior needs finite yi and positive vi")
    prior_sd = np.full(X.shape[1], float(mu_sd))

    def log_likelihood(tau):
        return conditional_posterior(y, v, X, prior_sd, tau)[2]

    grid = log_tau_grid(log_likelihood, tau_prior, T0_FACTOR * math.sqrt(v.min()), n_nodes)
    mean, cov, _ = conditional_posterior(y, v, X, prior_sd, grid.tau)
    return ExactPosterior(y, v, X, prior_sd, tau_prior, grid, mean, cov)


def typical_within_variance(v) -> float:
    """metafor's 'typical' sampling variance s^2 = (k-1) sum w / ((sum w)^2 - sum w^2), w = 1/v
    (Higgins & Thompson 2002, Stat Med 21(11), eq. 9), used for I^2 = tau^2/(tau^2 + s^2)."""
    w = 1.0 / np.asarray(v, dtype=float)
    k = len(w)
    if k < 2:
        return float("nan")
    return float((k - 1) * w.sum() / (w.sum() ** 2 - np.sum(w**2)))
