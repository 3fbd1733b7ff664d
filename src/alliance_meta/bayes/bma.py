"""Robust Bayesian model averaging (RoBMA-PSMA) by quadrature instead of MCMC.

The ensemble of RoBMA-PSMA (Bartoš, Maier, Wagenmakers, Doucouliagos & Stanley 2023,
Res Synth Methods 14(1), "Robust Bayesian meta-analysis: model-averaging across
complementary publication bias adjustment methods"; R package RoBMA 3.6.1, whose
defaults this mirrors): effect mu = 0 / mu ~ N(0, 1), heterogeneity tau = 0 /
tau ~ InvGamma(1, 0.15), and publication bias none / six step weight functions /
PET / PEESE, 2 x 2 x 9 = 36 models. Prior model probabilities are products of the
component weights of ``RoBMA::set_default_priors``: effect 1/2 : 1/2, heterogeneity
1/2 : 1/2, bias none 1/2, each weight function 1/24, PET 1/8, PEESE 1/8.

Models (RoBMA's JAGS syntax, ``.generate_model_syntax``)::

    y_i ~ N(mu + PET * se_i  [or + PEESE' * se_i^2],  se_i^2 + tau^2)
    y_i ~ weighted normal (as above, times omega_j for the p-value interval of y_i,
          normalised by sum_j omega_j P(y in interval j))       (RoBMA dwnorm_1s / _2s)

with omega = cumsum(e), e ~ Dirichlet(1, ..., 1) ("cumulative Dirichlet", BayesTools
``.JAGS_prior.weightfunction``: the least significant interval gets the smallest weight,
the most significant weight 1), PET ~ Cauchy+(0, 1), PEESE ~ Cauchy+(0, 5).

Priors are set on Cohen's d (``prior_scale = "cohens_d"``) and moved to the analysis
metric linearly, as RoBMA does (``.scale_d2z``: z = d/2; ``.scale_d2logOR``: log OR =
d pi/sqrt(3)): mu and tau are multiplied by c (0.5 for Fisher z, pi/sqrt(3) for log OR,
1 for the SMD); the PET coefficient is scale-free; the PEESE coefficient is divided by
c (RoBMA: ``PEESE_transformed = scale_z2d(PEESE)``). ``prior_scale = "analysis"``
uses the priors as given (c = 1; RoBMA's ``y =`` input with ``prior_scale = "none"``).
The cut-offs of the weight functions are the critical values of the step p-values:
for Fisher z, as RoBMA computes for ``z =`` input (``.get_cutoffs``), t quantiles with
n - 2 degrees of freedom times se, n = 1/se^2 + 3; for other metrics normal quantiles
times se (RoBMA's ``y =`` input). Effects are taken in the positive direction.

Marginal likelihoods
- The four normal models: exactly (closed form without tau; the trapezoidal
  quadrature over log tau of :mod:`alliance_meta.bayes.exact` with mu integrated
  analytically when tau > 0).
- PET, PEESE and weight-function models (1 to 5 parameters): adaptive Gauss-Hermite
  quadrature (Naylor & Smith 1982, Appl Stat 31(3); Liu & Pierce 1994, Biometrika
  81(3)) on unconstrained coordinates (mu, log tau, log coefficient, additive log-ratios
  of the Dirichlet weights), centred at the posterior mode and scaled by the Cholesky
  factor of the inverse Hessian, with ``n_nodes`` per dimension (tensor grid). The
  reported ``log_marglik_error`` is the change from ``n_nodes - 2`` nodes per
  dimension, and an importance-sampling estimate with a multivariate-t proposal
  (df 4, the same centre and scale x 1.5) is reported beside it as an independent check
  (tests/test_bma.py: AGHQ agrees with the exact normal-model evidence and with the
  importance-sampling estimate).
Posterior summaries (mean, median, 95% central interval) come from the importance
samples (self-normalised; fixed seed), mixed across models by posterior probability;
models without the parameter put their posterior mass at 0 (RoBMA's model-averaged
posterior with the spike at zero).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .exact import LOG_2PI, T0_FACTOR, conditional_posterior, log_tau_grid

#: Slope of each analysis metric relative to Cohen's d (RoBMA's linear prior scaling).
PRIOR_SCALE_FACTOR = {"smd": 1.0, "z": 0.5, "log_or": math.pi / math.sqrt(3.0)}

DEFAULT_PRIORS = {
    "mu": {"family": "normal", "mean": 0.0, "sd": 1.0},
    "tau": {"family": "inv_gamma", "shape": 1.0, "scale": 0.15},
}


@dataclass(frozen=True)
class BiasSpec:
    """One publication-bias component: ``none``, a step weight function, ``PET`` or ``PEESE``."""

    kind: str  # none | weightfunction | PET | PEESE
    weight: float  # RoBMA's prior_weights of the component (normalised later)
    sides: str = ""  # one-sided | two-sided
    steps: tuple = ()

    @property
    def label(self) -> str:
        if self.kind != "weightfunction":
            return self.kind
        return f"{self.sides} ({', '.join(f'{s:g}' for s in self.steps)})"


#: RoBMA 3.6.1 set_default_priors("bias") and prior_none().
BIAS_SPECS = (
    BiasSpec("none", 1.0),
    BiasSpec("weightfunction", 1 / 12, "two-sided", (0.05,)),
    BiasSpec("weightfunction", 1 / 12, "two-sided", (0.05, 0.10)),
    BiasSpec("weightfunction", 1 / 12, "one-sided", (0.05,)),
    BiasSpec("weightfunction", 1 / 12, "one-sided", (0.025, 0.05)),
    BiasSpec("weightfunction", 1 / 12, "one-sided", (0.05, 0.5)),
    BiasSpec("weightfunction", 1 / 12, "one-sided", (0.025, 0.05, 0.5)),
    BiasSpec("PET", 1 / 4),
    BiasSpec("PEESE", 1 / 4),
)


@dataclass(frozen=True)
class InvGammaPrior:
    """tau ~ InvGamma(shape, scale): p(tau) = b^a / Gamma(a) tau^-(a+1) exp(-b/tau)."""

    shape: float
    scale: float

    def logpdf(self, tau) -> np.ndarray:
        tau = np.asarray(tau, dtype=float)
        with np.errstate(divide="ignore"):
            out = (self.shape * math.log(self.scale) - special.gammaln(self.shape)
                   - (self.shape + 1) * np.log(tau) - self.scale / tau)
        return np.where(tau > 0, out, -np.inf)

    def cdf(self, tau) -> np.ndarray:
        return stats.invgamma.cdf(np.asarray(tau, dtype=float), self.shape, scale=self.scale)


@dataclass(frozen=True)
class BmaPriors:
    """Priors on the analysis metric (after RoBMA's scaling)."""

    mu_mean: float
    mu_sd: float
    tau: InvGammaPrior
    pet_scale: float
    peese_scale: float
    factor: float  # c: analysis = c x Cohen's d (1 under prior_scale "analysis")

    @classmethod
    def from_config(cls, metric: str, prior_scale: str = "cohens_d", priors: dict | None = None) -> "BmaPriors":
        """``priors``: ``{mu: {family: normal, mean, sd}, tau: {family: inv_gamma, shape, scale}}``."""
        if prior_scale not in ("cohens_d", "analysis"):
            raise ValueError(f"bma.prior_scale must be 'cohens_d' or 'analysis', not {prior_scale!r}")
        merged = {key: {**DEFAULT_PRIORS[key], **((priors or {}).get(key) or {})} for key in DEFAULT_PRIORS}
        if merged["mu"]["family"] != "normal" or merged["tau"]["family"] != "inv_gamma":
            raise ValueError("bma.priors supports mu: {family: normal} and tau: {family: inv_gamma} only")
        if not (merged["mu"]["sd"] > 0 and merged["tau"]["shape"] > 0 and merged["tau"]["scale"] > 0):
            raise ValueError("bma.priors need a positive mu sd and positive tau shape and scale")
        if prior_scale == "cohens_d" and metric not in PRIOR_SCALE_FACTOR:
            raise ValueError(f"no Cohen's d scaling for metric {metric!r}; use bma.prior_scale: analysis")
        c = PRIOR_SCALE_FACTOR[metric] if prior_scale == "cohens_d" else 1.0
        return cls(c * merged["mu"]["mean"], c * merged["mu"]["sd"],
                   InvGammaPrior(merged["tau"]["shape"], c * merged["tau"]["scale"]), 1.0, 5.0 / c, c)


def cutoffs(se: np.ndarray, spec: BiasSpec, metric: str) -> np.ndarray:
    """Critical effect sizes (k, J-1), ascending, of the step p-values (RoBMA ``.get_cutoffs``)."""
    steps = np.sort(np.asarray(spec.steps, dtype=float))[::-1]  # largest p first = smallest cut-off
    tail = steps if spec.sides == "one-sided" else steps / 2.0
    if metric == "z":
        df = 1.0 / se**2 + 1.0  # n - 2 with n = 1/se^2 + 3
        return stats.t.isf(tail[None, :], df[:, None]) * se[:, None]
    return stats.norm.isf(tail)[None, :] * se[:, None]


@dataclass(frozen=True)
class Model:
    effect: bool
    heterogeneity: bool
    bias: BiasSpec

    @property
    def n_bias_parameters(self) -> int:
        if self.bias.kind == "weightfunction":
            return len(self.bias.steps)
        return int(self.bias.kind in ("PET", "PEESE"))

    @property
    def dim(self) -> int:
        return int(self.effect) + int(self.heterogeneity) + self.n_bias_parameters


class _Posterior:
    """Unnormalised log posterior of one model on unconstrained coordinates (vectorised)."""

    def __init__(self, model: Model, y, se, priors: BmaPriors, metric: str):
        self.model, self.y, self.se, self.priors = model, y, se, priors
        if model.bias.kind == "weightfunction":
            self.crit = cutoffs(se, model.bias, metric)  # (k, J-1)
            stat = np.abs(y) if model.bias.sides == "two-sided" else y
            self.region = np.sum(stat[:, None] >= self.crit, axis=1)  # (k,) 0 = least significant

    def unpack(self, x):
        x = np.atleast_2d(x)
        i, n = 0, len(x)
        mu = np.zeros(n)
        tau = np.zeros(n)
        if self.model.effect:
            mu = x[:, i]
            i += 1
        if self.model.heterogeneity:
            tau = np.exp(x[:, i])
            i += 1
        return mu, tau, x[:, i:]

    def __call__(self, x) -> np.ndarray:
        x = np.atleast_2d(x)
        mu, tau, rest = self.unpack(x)
        pr = self.priors
        log_prior = np.zeros(len(x))
        if self.model.effect:
            log_prior += -0.5 * (LOG_2PI + ((mu - pr.mu_mean) / pr.mu_sd) ** 2) - math.log(pr.mu_sd)
        if self.model.heterogeneity:
            log_prior += pr.tau.logpdf(tau) + np.log(tau)
        mean = np.broadcast_to(mu[:, None], (len(x), len(self.y)))
        kind = self.model.bias.kind
        if kind in ("PET", "PEESE"):
            coef = np.exp(rest[:, 0])
            scale = pr.pet_scale if kind == "PET" else pr.peese_scale
            log_prior += math.log(2.0 / (math.pi * scale)) - np.log1p((coef / scale) ** 2) + rest[:, 0]
            mean = mean + coef[:, None] * (self.se if kind == "PET" else self.se**2)[None, :]
        var = self.se[None, :] ** 2 + tau[:, None] ** 2
        sd = np.sqrt(var)
        log_lik = -0.5 * (LOG_2PI + np.log(var) + (self.y[None, :] - mean) ** 2 / var)
        if kind == "weightfunction":
            alr = np.concatenate([rest, np.zeros((len(x), 1))], axis=1)
            top = np.max(alr, axis=1, keepdims=True)
            log_e = alr - top - np.log(np.sum(np.exp(alr - top), axis=1, keepdims=True))
            log_prior += special.gammaln(alr.shape[1]) + np.sum(log_e, axis=1)  # Dirichlet(1,..,1) in alr coordinates
            omega = np.cumsum(np.exp(log_e), axis=1)  # (P, J), omega[:, -1] = 1
            omega[:, -1] = 1.0
            crit = self.crit[None, :, :]
            upper = special.ndtr((crit - mean[:, :, None]) / sd[:, :, None])  # P(Y < c_j)
            if self.model.bias.sides == "two-sided":
                upper = upper - special.ndtr((-crit - mean[:, :, None]) / sd[:, :, None])
            cdf = np.concatenate([np.zeros(upper.shape[:2] + (1,)), upper, np.ones(upper.shape[:2] + (1,))], axis=2)
            probs = np.clip(np.diff(cdf, axis=2), 0.0, None)  # (P, k, J)
            denom = np.einsum("pkj,pj->pk", probs, omega)
            log_lik = log_lik + np.log(omega[:, self.region]) - np.log(denom)
        return np.sum(log_lik, axis=1) + log_prior


def _derivatives(func, x0: np.ndarray, step: float = 1e-4):
    """Value, central-difference gradient and Hessian of ``func`` at ``x0`` in one vectorised call."""
    d = len(x0)
    eye = np.eye(d) * step
    pts = [x0] + [x0 + eye[i] for i in range(d)] + [x0 - eye[i] for i in range(d)]
    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
    for i, j in pairs:
        pts += [x0 + eye[i] + eye[j], x0 - eye[i] - eye[j]]
    values = func(np.array(pts))
    f0, plus, minus = values[0], values[1:d + 1], values[d + 1:2 * d + 1]
    grad = (plus - minus) / (2 * step)
    hess = np.diag((plus - 2 * f0 + minus) / step**2)
    for n, (i, j) in enumerate(pairs):
        pp, mm = values[2 * d + 1 + 2 * n], values[2 * d + 2 + 2 * n]
        # f(x+ei+ej) + f(x-ei-ej) - 2f = h^2 (Hii + Hjj + 2 Hij)
        hess[i, j] = hess[j, i] = ((pp + mm - 2 * f0) / step**2 - hess[i, i] - hess[j, j]) / 2.0
    return f0, grad, hess


def _mode(func, x0: np.ndarray, max_iter: int = 200):
    """Posterior mode by damped Newton steps (negative-definite-modified Hessian, vectorised
    backtracking); returns the mode and the Hessian of -func there."""
    x = np.asarray(x0, dtype=float)
    alphas = 0.5 ** np.arange(0, 12)
    for _ in range(max_iter):
        f0, grad, hess = _derivatives(func, x)
        eigval, eigvec = np.linalg.eigh(-hess)
        step = eigvec @ ((eigvec.T @ grad) / np.maximum(np.abs(eigval), 1e-3))
        step_norm = np.max(np.abs(step))
        if step_norm > 2.0:
            step = step * 2.0 / step_norm
        trial = func(x + alphas[:, None] * step[None, :])
        trial[~np.isfinite(trial)] = -np.inf
        best = int(np.argmax(trial))
        if trial[best] <= f0 + 1e-12:
            break
        x = x + alphas[best] * step
        if trial[best] - f0 < 1e-10 and np.max(np.abs(alphas[best] * step)) < 1e-7:
            break
    return x, -_derivatives(func, x)[2]


@dataclass(frozen=True)
class ModelFit:
    """One model of the ensemble: evidence, its error, and weighted posterior draws."""

    model: Model
    prior_prob: float
    log_marglik: float
    log_marglik_error: float
    method: str
    mu: np.ndarray  # posterior draws (zeros without effect)
    tau: np.ndarray
    weights: np.ndarray  # weights of the draws (sum 1)


def _exact_normal_log_marglik(model: Model, y, v, priors: BmaPriors) -> float:
    """Exact evidence of a normal (no-bias) model (see exact.py for the quadrature over tau)."""
    t0 = T0_FACTOR * math.sqrt(v.min())
    if model.effect:
        shifted = y - priors.mu_mean  # mu - m ~ N(0, sd): the evidence is invariant under the shift
        ones, sd = np.ones((len(y), 1)), np.array([priors.mu_sd])

        def log_lik(tau):
            return conditional_posterior(shifted, v, ones, sd, tau)[2]
    else:
        def log_lik(tau):
            var = v[None, :] + np.atleast_1d(tau)[:, None] ** 2
            return -0.5 * np.sum(LOG_2PI + np.log(var) + y[None, :] ** 2 / var, axis=1)
    if not model.heterogeneity:
        return float(log_lik(np.zeros(1))[0])
    return log_tau_grid(log_lik, priors.tau, t0).log_evidence


EDGE = 30.0  # each grid axis ends where the integrand is below exp(-EDGE) of its maximum
STEP = {"fine": 1 / 3, "coarse": 1 / 2}  # trapezoid step in Laplace SDs of the coordinate ...
NODES = {False: (96, 480), True: (40, 72)}  # ... within these node counts (without / with omega)
OMEGA_NODES = {"fine": {1: 24, 2: 16, 3: 8}, "coarse": {1: 16, 2: 10, 3: 6}}  # Gauss-Legendre per dimension


def omega_nodes(m: int, n: int):
    """Quadrature over the cumulative Dirichlet(1, ..., 1) prior of a weight function with m
    free weights: (0 < omega_1 < ... < omega_m < 1) is uniform with density m!. Collapsed
    coordinates t in [0, 1]^m (omega_m = t_1, omega_(m-1) = t_1 t_2, ..., Jacobian
    prod t_j^(m-j)) make the integrand smooth on the cube; Gauss-Legendre in each t_j.
    Returns omega (N, m + 1) (last column 1) and log quadrature weights (N,)."""
    x, w = np.polynomial.legendre.leggauss(n)
    x, w = (x + 1.0) / 2.0, w / 2.0
    idx = np.array(list(itertools.product(range(n), repeat=m)))
    t = x[idx]
    omega = np.concatenate([np.cumprod(t, axis=1)[:, ::-1], np.ones((len(t), 1))], axis=1)
    log_jac = sum((m - 1 - j) * np.log(t[:, j]) for j in range(m))
    return omega, np.log(w[idx]).sum(axis=1) + special.gammaln(m + 1) + log_jac


class _GridModel:
    """Log integrand of one model on a tensor grid of its continuous coordinates.

    Weight-function models: coordinates (mu, log tau) (those present) x Gauss nodes of omega.
    Other models: coordinates (log tau, log coefficient) (those present) with mu integrated
    analytically (conjugate normal prior: the model is normal given tau and the coefficient)."""

    def __init__(self, model: Model, y, se, priors: BmaPriors, metric: str):
        self.model, self.y, self.se, self.priors = model, y, se, priors
        self.weightfunction = model.bias.kind == "weightfunction"
        if self.weightfunction:
            self.crit = cutoffs(se, model.bias, metric)
            stat = np.abs(y) if model.bias.sides == "two-sided" else y
            self.region = np.sum(stat[:, None] >= self.crit, axis=1)
            self.names = (["mu"] if model.effect else []) + (["s"] if model.heterogeneity else [])
        else:
            self.names = (["s"] if model.heterogeneity else []) + (["b"] if model.n_bias_parameters else [])

    def evaluate(self, axes, omega=None, log_w_omega=None):
        """log(integrand x quadrature weight) on the grid: (G,) or (G, O); mu mean/sd when analytic."""
        mesh = np.meshgrid(*axes, indexing="ij") if axes else []
        pts = {name: m.ravel() for name, m in zip(self.names, mesh)}
        n = len(next(iter(pts.values()))) if pts else 1
        pr, y, se = self.priors, self.y, self.se
        log_h = sum(math.log(a[1] - a[0]) for a in axes)
        log_prior = np.full(n, log_h)
        tau = np.exp(pts["s"]) if "s" in pts else np.zeros(n)
        if "s" in pts:
            log_prior += pr.tau.logpdf(tau) + pts["s"]
        var = se[None, :] ** 2 + tau[:, None] ** 2
        if not self.weightfunction:
            resid = np.broadcast_to(y[None, :], (n, len(y)))
            if "b" in pts:
                coef = np.exp(pts["b"])
                scale = pr.pet_scale if self.model.bias.kind == "PET" else pr.peese_scale
                log_prior += math.log(2.0 / (math.pi * scale)) - np.log1p((coef / scale) ** 2) + pts["b"]
                x = se if self.model.bias.kind == "PET" else se**2
                resid = resid - coef[:, None] * x[None, :]
            if not self.model.effect:
                log_lik = -0.5 * np.sum(LOG_2PI + np.log(var) + resid**2 / var, axis=1)
                return log_prior + log_lik, None, None
            w = 1.0 / var
            r = resid - pr.mu_mean
            precision = w.sum(axis=1) + 1.0 / pr.mu_sd**2
            sw = np.sum(w * r, axis=1)
            log_lik = (-0.5 * len(y) * LOG_2PI + 0.5 * np.sum(np.log(w), axis=1) - math.log(pr.mu_sd)
                       - 0.5 * np.log(precision) - 0.5 * (np.sum(w * r**2, axis=1) - sw**2 / precision))
            return log_prior + log_lik, pr.mu_mean + sw / precision, 1.0 / np.sqrt(precision)
        mu = pts["mu"] if "mu" in pts else np.zeros(n)
        if "mu" in pts:
            log_prior += -0.5 * (LOG_2PI + ((mu - pr.mu_mean) / pr.mu_sd) ** 2) - math.log(pr.mu_sd)
        sd = np.sqrt(var)
        base = log_prior - 0.5 * np.sum(LOG_2PI + np.log(var) + (y[None, :] - mu[:, None]) ** 2 / var, axis=1)
        crit = self.crit[None, :, :]
        upper = special.ndtr((crit - mu[:, None, None]) / sd[:, :, None])
        if self.model.bias.sides == "two-sided":
            upper = upper - special.ndtr((-crit - mu[:, None, None]) / sd[:, :, None])
        cdf = np.concatenate([np.zeros(upper.shape[:2] + (1,)), upper, np.ones(upper.shape[:2] + (1,))], axis=2)
        probs = np.clip(np.diff(cdf, axis=2), 0.0, None).reshape(n * len(y), -1)
        out = np.empty((n, len(omega)))
        selected = np.sum(np.log(omega[:, self.region]), axis=1) + log_w_omega
        for start in range(0, len(omega), 200):
            om = omega[start:start + 200]
            denom = np.log(probs @ om.T).reshape(n, len(y), len(om)).sum(axis=1)
            out[:, start:start + 200] = base[:, None] - denom + selected[None, start:start + 200]
        return out, None, None


def _omega(gm: "_GridModel", n_per_dim: int):
    if not gm.weightfunction:
        return None, None
    m = len(gm.model.bias.steps)
    return omega_nodes(m, n_per_dim * (1 if gm.names else 4))  # omega alone: nodes are cheap


def _marginal_grid(gm, axes, omega, log_w_omega):
    terms, mu_mean, mu_sd = gm.evaluate(axes, omega, log_w_omega)
    flat = special.logsumexp(terms, axis=1) if terms.ndim == 2 else terms
    return terms, mu_mean, mu_sd, (flat.reshape([len(a) for a in axes]) if axes else flat)


def _find_range(gm: "_GridModel", centre, sds):
    """Bounds of each continuous coordinate: from mode +- 8 SD (Laplace), widened until the
    integrand (summed over the other coordinates' grid) is below exp(-EDGE) of its maximum at
    both ends, then trimmed to where it is not (one step of margin)."""
    lo, hi = centre - 8.0 * sds, centre + 8.0 * sds
    omega, log_w = _omega(gm, 5)
    for _ in range(20):
        axes = [np.linspace(a, b, 41) for a, b in zip(lo, hi)]
        grid = _marginal_grid(gm, axes, omega, log_w)[3]
        top = float(np.max(grid))
        widened = False
        for j in range(len(axes)):
            profile = np.max(np.moveaxis(grid, j, 0).reshape(len(axes[j]), -1), axis=1)
            width = hi[j] - lo[j]
            if profile[0] > top - EDGE:
                lo[j] -= 0.5 * width
                widened = True
            if profile[-1] > top - EDGE:
                hi[j] += 0.5 * width
                widened = True
            if not widened:
                inside = np.nonzero(profile > top - EDGE)[0]
                step = axes[j][1] - axes[j][0]
                lo[j], hi[j] = axes[j][inside[0]] - step, axes[j][inside[-1]] + step
        if not widened:
            return lo, hi
    raise FloatingPointError(f"the posterior of {gm.model} does not decay within the integration range")


def _integrate(gm: "_GridModel", lo, hi, sds, level: str):
    """log evidence by the trapezoidal rule on [lo, hi] (x Gauss-Legendre over omega)."""
    least, most = NODES[gm.weightfunction]
    counts = [int(np.clip(math.ceil((b - a) / (STEP[level] * s)), least, most)) for a, b, s in zip(lo, hi, sds)]
    if level == "coarse":
        counts = [max(int(0.67 * c), 24) for c in counts]
    axes = [np.linspace(a, b, c) for a, b, c in zip(lo, hi, counts)]
    omega, log_w = _omega(gm, OMEGA_NODES[level].get(len(gm.model.bias.steps), 0))
    terms, mu_mean, mu_sd, _ = _marginal_grid(gm, axes, omega, log_w)
    return float(special.logsumexp(terms)), axes, terms, mu_mean, mu_sd


def _draws(gm: _GridModel, axes, terms, mu_mean, mu_sd, n_draws: int, seed: int):
    """Posterior draws of (mu, tau): grid cells by their mass, uniform within the cell."""
    rng = np.random.default_rng(seed)
    p = np.exp(terms.ravel() - np.max(terms))
    pick = rng.choice(p.size, size=n_draws, p=p / p.sum())
    cell = pick // terms.shape[1] if terms.ndim == 2 else pick
    index = np.unravel_index(cell, [len(a) for a in axes]) if axes else ()
    values = {}
    for name, a, i in zip(gm.names, axes, index):
        values[name] = a[i] + (rng.random(n_draws) - 0.5) * (a[1] - a[0])
    tau = np.exp(values["s"]) if "s" in values else np.zeros(n_draws)
    if not gm.model.effect:
        mu = np.zeros(n_draws)
    elif "mu" in values:
        mu = values["mu"]
    else:
        mu = mu_mean[cell] + mu_sd[cell] * rng.standard_normal(n_draws)
    return mu, tau


def fit_model(model: Model, y, se, priors: BmaPriors, metric: str, prior_prob: float = 1.0,
              n_draws: int = 20000, seed: int = 20230101) -> ModelFit:
    """Evidence (with its quadrature error) and posterior draws of one model of the ensemble."""
    gm = _GridModel(model, y, se, priors, metric)
    post = _Posterior(model, y, se, priors, metric)
    start = []
    if model.effect:
        w = 1.0 / se**2
        start.append(float(np.sum(w * y) / np.sum(w)))
    if model.heterogeneity:
        start.append(math.log(max(float(np.std(y)), 2.0 * priors.tau.scale, 1e-3)))
    start += [0.0] * model.n_bias_parameters
    if start:
        mode, hess = _mode(post, np.array(start))
        eigval, eigvec = np.linalg.eigh(hess)
        sds_all = np.sqrt(np.diag(eigvec @ np.diag(1.0 / np.maximum(eigval, 1e-8)) @ eigvec.T))
    else:
        mode = sds_all = np.zeros(0)
    names_all = (["mu"] if model.effect else []) + (["s"] if model.heterogeneity else []) + ["b"] * model.n_bias_parameters
    keep = [names_all.index(name) for name in gm.names]
    centre, sds = mode[keep], sds_all[keep]
    lo, hi = _find_range(gm, centre, sds)
    value, axes, terms, mu_mean, mu_sd = _integrate(gm, lo, hi, sds, "fine")
    coarse = _integrate(gm, lo, hi, sds, "coarse")[0]
    error = abs(value - coarse)
    method = "quadrature" if not gm.weightfunction else "quadrature (Gauss-Legendre over omega)"
    if model.bias.kind == "none":
        exact = _exact_normal_log_marglik(model, y, se**2, priors)
        error = max(error, abs(value - exact))
        value, method = exact, "exact"
    mu, tau = _draws(gm, axes, terms, mu_mean, mu_sd, n_draws, seed)
    return ModelFit(model, prior_prob, value, error, method, mu, tau, np.full(n_draws, 1.0 / n_draws))


def ensemble(bias: bool = True) -> list[tuple[Model, float]]:
    """The models with their prior probabilities (RoBMA-PSMA; ``bias=False``: the four normal models)."""
    specs = BIAS_SPECS if bias else BIAS_SPECS[:1]
    bias_weights = np.array([s.weight for s in specs])
    bias_weights = bias_weights / bias_weights.sum()
    out = []
    for effect, het in ((False, False), (True, False), (False, True), (True, True)):
        for spec, w in zip(specs, bias_weights):
            out.append((Model(effect, het, spec), 0.25 * w))
    return out


def _weighted_quantile(values, weights, probs):
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w) - 0.5 * w
    cum /= w.sum()
    return np.interp(probs, cum, v)


@dataclass(frozen=True)
class BmaResult:
    """The fitted ensemble: ``table`` (bma.csv) and ``summary`` (bma_summary.csv)."""

    fits: tuple
    metric: str
    priors: BmaPriors
    studies: pd.DataFrame = field(repr=False)
    table: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def draws(self, parameter: str, conditional: bool = False):
        """Model-averaged posterior draws of ``mu`` or ``tau`` with their weights."""
        values, weights = [], []
        for f, p in zip(self.fits, self.table["posterior_prob"]):
            has = f.model.effect if parameter == "mu" else f.model.heterogeneity
            if conditional and not has:
                continue
            values.append(getattr(f, parameter))
            weights.append(p * f.weights)
        w = np.concatenate(weights)
        return np.concatenate(values), w / w.sum()

    def plot(self):
        """Prior and posterior model probabilities and the model-averaged posterior of mu."""
        if not self.fits:
            from alliance_meta.plots.style import message_figure

            return message_figure(f"Model averaging needs at least two studies (k = {len(self.studies)}).")
        from .bma_plot import bma_figure

        return bma_figure(self)


def _summaries(fits, post_probs, metric: str) -> pd.DataFrame:
    prior = np.array([f.prior_prob for f in fits])
    rows = []
    components = {
        "effect": np.array([f.model.effect for f in fits]),
        "heterogeneity": np.array([f.model.heterogeneity for f in fits]),
        "bias": np.array([f.model.bias.kind != "none" for f in fits]),
    }
    for name, included in components.items():
        p_prior, p_post = prior[included].sum(), post_probs[included].sum()
        if not included.any() or included.all():
            bf = math.nan
        else:
            with np.errstate(divide="ignore"):
                bf = (p_post / (1 - p_post)) / (p_prior / (1 - p_prior)) if p_post < 1 else math.inf
        rows.append({"quantity": "component", "name": name, "type": "", "scale": "", "prior_prob": p_prior,
                     "posterior_prob": p_post, "inclusion_bf": bf})
    for parameter in ("mu", "tau"):
        for conditional in (False, True):
            values, weights = [], []
            for f, p in zip(fits, post_probs):
                has = f.model.effect if parameter == "mu" else f.model.heterogeneity
                if conditional and not has:
                    continue
                values.append(getattr(f, parameter))
                weights.append(p * f.weights)
            if not values or sum(w.sum() for w in weights) == 0:
                continue
            x, w = np.concatenate(values), np.concatenate(weights)
            w = w / w.sum()
            scales = [("analysis", x)]
            if metric == "z":
                scales.append(("r", np.tanh(x)) if parameter == "mu" else None)
            for item in scales:
                if item is None:
                    continue
                scale, xs = item
                lower, median, upper = _weighted_quantile(xs, w, [0.025, 0.5, 0.975])
                rows.append({"quantity": "estimate", "name": parameter,
                             "type": "conditional" if conditional else "averaged", "scale": scale,
                             "mean": float(w @ xs), "median": median, "ci_lower": lower, "ci_upper": upper})
    return pd.DataFrame(rows)


def robma(yi, vi, metric: str = "smd", prior_scale: str = "cohens_d", priors: dict | None = None,
          bias: bool = True, n_draws: int = 20000) -> BmaResult:
    """RoBMA-PSMA ensemble of independent effect sizes ``yi`` with variances ``vi`` (see module docstring)."""
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if len(y) < 2 or len(y) != len(v) or not np.all(np.isfinite(y)) or not np.all(v > 0):
        raise ValueError("model averaging needs at least two studies with finite yi and positive vi")
    pr = BmaPriors.from_config(metric, prior_scale, priors)
    se = np.sqrt(v)
    fits = [fit_model(m, y, se, pr, metric, p, n_draws=n_draws, seed=20230101 + i)
            for i, (m, p) in enumerate(ensemble(bias))]
    log_post = np.array([f.log_marglik + math.log(f.prior_prob) for f in fits])
    post = np.exp(log_post - special.logsumexp(log_post))
    table = pd.DataFrame({
        "effect": [int(f.model.effect) for f in fits],
        "heterogeneity": [int(f.model.heterogeneity) for f in fits],
        "bias": [f.model.bias.label for f in fits],
        "prior_prob": [f.prior_prob for f in fits],
        "log_marglik": [f.log_marglik for f in fits],
        "posterior_prob": post,
        "log_marglik_error": [f.log_marglik_error for f in fits],
        "method": [f.method for f in fits],
    })
    studies = pd.DataFrame({"yi": y, "vi": v})
    return BmaResult(tuple(fits), metric, pr, studies, table, _summaries(fits, post, metric))


def bma(fit, prior_scale: str = "cohens_d", priors: dict | None = None, bias: bool = True) -> BmaResult:
    """RoBMA-PSMA model averaging of the independent studies of ``fit`` (study composites of a
    three-level fit), on the fit's metric."""
    from alliance_meta.analyses.bias.results import independent_studies

    studies = independent_studies(fit)
    if len(studies) < 2:
        columns = ["effect", "heterogeneity", "bias", "prior_prob", "log_marglik", "posterior_prob",
                   "log_marglik_error", "method"]
        return BmaResult((), fit.metric or "smd", BmaPriors.from_config(fit.metric or "smd", prior_scale, priors),
                         studies, pd.DataFrame(columns=columns),
                         pd.DataFrame(columns=["quantity", "name", "type", "scale", "prior_prob", "posterior_prob",
                                               "inclusion_bf", "mean", "median", "ci_lower", "ci_upper"]))
    result = robma(studies["yi"].to_numpy(float), studies["vi"].to_numpy(float), fit.metric or "smd",
                   prior_scale, priors, bias)
    return replace(result, studies=studies)
