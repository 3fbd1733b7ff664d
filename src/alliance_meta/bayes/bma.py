"""Robust Bayesian meta-analysis with publication selection model averaging (RoBMA-PSMA) by quadrature
instead of MCMC.

RoBMA is robust Bayesian meta-analysis (Maier, Bartoš & Wagenmakers 2023, Psychol Methods 28(1),
"Robust Bayesian meta-analysis: Addressing publication bias with model-averaging"); RoBMA-PSMA its
ensemble with publication selection model averaging (Bartoš, Maier, Wagenmakers, Doucouliagos &
Stanley 2023, Res Synth Methods 14(1), "Robust Bayesian meta-analysis: model-averaging across
complementary publication bias adjustment methods"; R package RoBMA 3.6.1, whose defaults this
mirrors): effect mu = 0 / mu ~ N(0, 1), heterogeneity tau = 0 / tau ~ InvGamma(1, 0.15), and
publication bias none / six step weight functions / PET / PEESE, 2 x 2 x 9 = 36 models. Prior
model probabilities are products of the component weights of ``RoBMA::set_default_priors``:
effect 1/2 : 1/2, heterogeneity 1/2 : 1/2, bias none 1/2, each weight function 1/24, PET 1/8,
PEESE 1/8. With ``bias=False`` (config ``bma.bias: false``) only the four normal models are
averaged: Bayesian model averaging over effect and heterogeneity (Gronau, Heck, Berkhout, Haaf &
Wagenmakers 2021, Adv Methods Pract Psychol Sci 4(3)), which is neither robust nor RoBMA-PSMA
(the report names it so: ``report.text.bma_name``).

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
- PET, PEESE and weight-function models (1 to 5 parameters): tensor-grid trapezoidal rule
  in sinh-mapped unconstrained coordinates (mu, log tau, log coefficient, logit of the
  collapsed weight coordinates t_j), x = mode + a sinh(w) with a = 2 x the conditional
  Laplace SD (at most 1.5 on log / logit coordinates) and a uniform step in w (Takahasi &
  Mori's double-exponential idea for the tails: a long tail costs few nodes, the core is
  sampled at about 0.6 conditional SD). Mu is integrated analytically for PET / PEESE (the
  model is normal given tau and the coefficient). The ranges end where the integrand
  (maximised over the other coordinates) is below exp(-EDGE) of its maximum. For weight
  functions the interval probabilities (accurate in both tails) are computed once per
  (mu, tau) node and the weights enter by a matrix product.
  ``log_marglik_error`` is |fine - coarse| (step 0.3 vs 0.4 in w, fewer nodes where the
  per-axis cap binds), an upper bound of the fine grid's error in the tests
  (tests/test_bma.py: the normal models against the exact evidence, a weight-function model
  against brute-force Gauss-Legendre integration).
Posterior summaries are quadrature too: each model's marginal of mu and tau (a spline of the
grid's log marginal density, or the normal mixture over the grid when mu is integrated
analytically), mixed across models by posterior probability; models without the parameter
put their posterior mass at 0 (RoBMA's model-averaged posterior with the spike at zero).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import interpolate, special

from alliance_meta.engines import distributions as dist
from alliance_meta.inputs.options import keywords_checked
from alliance_meta.wording import apa_setting

from .exact import LOG_2PI, T0_FACTOR, conditional_posterior, log_tau_grid

#: Slope of each analysis metric relative to Cohen's d (RoBMA's linear prior scaling).
PRIOR_SCALE_FACTOR = {"smd": 1.0, "z": 0.5, "log_or": math.pi / math.sqrt(3.0)}

DEFAULT_PRIORS = {
    "mu": {"family": "normal", "mean": 0.0, "sd": 1.0},
    "tau": {"family": "inv_gamma", "shape": 1.0, "scale": 0.15},
}
#: Mass of the central credible interval of bma_summary.csv (the pipeline passes ``bayes.hdi_prob``).
DEFAULT_PROB = 0.95
#: The config's ``bma.prior_scale`` values.
PRIOR_SCALES = ("cohens_d", "analysis")
#: The config's ``bma`` keys (checked by :func:`alliance_meta.inputs.options.check_options` where the schema is absent).
BMA_KEYS = {"prior_scale": None, "priors": {name: dict.fromkeys(prior) for name, prior in DEFAULT_PRIORS.items()},
            "bias": None}


@dataclass(frozen=True)
class BiasSpec:
    """One publication-bias component: ``none``, a step weight function, ``PET`` or ``PEESE``."""

    kind: str  # none | weightfunction | PET | PEESE
    weight: float  # RoBMA's prior_weights of the component (normalised later)
    sides: str = ""  # one-sided | two-sided
    steps: tuple = ()

    @property
    def label(self) -> str:
        """The component's name in bma.csv's ``bias`` column and in the figure: the p-value cut-offs as APA writes
        them (``apa_setting``, as the selection models' steps): ``one-sided (.025, .05, .50)``, ``PET``."""
        if self.kind != "weightfunction":
            return self.kind
        return f"{self.sides} ({', '.join(apa_setting(s) for s in self.steps)})"


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
        from scipy import stats  # here, not at module level: importing scipy.stats takes ~1 s

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
        if prior_scale not in PRIOR_SCALES:
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
        return dist.t.isf(tail[None, :], df[:, None]) * se[:, None]
    return dist.norm.isf(tail)[None, :] * se[:, None]


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


def _log_omega(u):
    """Weights (P, m + 1) and log prior (P,) of a cumulative Dirichlet(1, ..., 1) weight function
    in unconstrained coordinates u (P, m): t_j = logistic(u_j), omega_m = t_1, omega_(m-1) =
    t_1 t_2, ..., omega_1 = t_1 ... t_m (the ordered weights 0 < omega_1 < ... < omega_m < 1 are
    uniform with density m!; Jacobian prod t_j^(m-j) x t_j (1 - t_j))."""
    m = u.shape[1]
    log_t = -np.logaddexp(0.0, -u)
    log_1mt = -np.logaddexp(0.0, u)
    log_free = np.cumsum(log_t, axis=1)[:, ::-1]  # log omega_1 ... log omega_m
    # floor at exp(-700): the weights stay representable (the prior term keeps such corners negligible)
    log_omega = np.concatenate([np.maximum(log_free, -700.0), np.zeros((len(u), 1))], axis=1)
    power = (m - 1 - np.arange(m))[None, :]
    log_prior = special.gammaln(m + 1) + np.sum(power * log_t + log_t + log_1mt, axis=1)
    return np.exp(log_omega), log_omega, log_prior


class _Posterior:
    """Unnormalised log posterior of one model on unconstrained coordinates (vectorised):
    (mu, log tau, log PET/PEESE coefficient | logit t_1 ... logit t_m), those present."""

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
        log_lik = -0.5 * (LOG_2PI + np.log(var) + (self.y[None, :] - mean) ** 2 / var)
        if kind == "weightfunction":
            omega, log_omega, log_prior_omega = _log_omega(rest)
            log_prior += log_prior_omega
            probs = _interval_probs(mu, np.sqrt(var), self.crit, self.model.bias.sides)  # (P, k, J)
            with np.errstate(divide="ignore"):
                denom = np.log(np.einsum("pkj,pj->pk", probs, omega))
            log_lik = log_lik + log_omega[:, self.region] - denom
        return np.sum(log_lik, axis=1) + log_prior


def _normal_interval(lo, hi) -> np.ndarray:
    """P(lo < Z < hi) for standard normal Z, accurate in both tails (upper-tail intervals
    by survival functions, so that far-tail probabilities do not cancel to 0): ndtr(-lo) - ndtr(-hi)
    where lo > 0, else ndtr(hi) - ndtr(lo). The bounds are swapped and negated first, so each cell
    takes two ndtr evaluations, not four (both branches), with the same values."""
    upper = lo > 0
    with np.errstate(invalid="ignore"):
        return special.ndtr(np.where(upper, -lo, hi)) - special.ndtr(np.where(upper, -hi, lo))


def _interval_probs(mu, sd, crit, sides: str) -> np.ndarray:
    """P(y_i in each p-value interval) (P, k, J) under N(mu, sd^2) (P,), (P, k), with cut-offs
    crit (k, J-1) ascending (RoBMA's dwnorm_1s / dwnorm_2s normalising constants); two-sided:
    intervals of |y|."""
    k = crit.shape[0]
    inf = np.full((k, 1), np.inf)
    first = -inf if sides == "one-sided" else np.zeros((k, 1))
    edges = np.concatenate([first, crit, inf], axis=1)[None, :, :]  # (1, k, J + 1)
    m, s = mu[:, None, None], sd[:, :, None]
    z = (edges - m) / s
    probs = _normal_interval(z[:, :, :-1], z[:, :, 1:])
    if sides == "two-sided":
        z = (-edges - m) / s  # the mirror intervals (-c_(j+1), -c_j)
        probs = probs + _normal_interval(z[:, :, 1:], z[:, :, :-1])
    return np.clip(probs, 0.0, None)


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
class Marginal:
    """A model's posterior of mu or tau: an atom at 0 (``x`` empty: the model fixes it at 0) or
    a continuous distribution given by its CDF on a fine grid (``x``, ``cdf``) and its mean by
    quadrature."""

    x: np.ndarray
    cdf: np.ndarray
    mean: float

    @property
    def atom(self) -> bool:
        return len(self.x) == 0

    def at(self, values) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if self.atom:
            return (values >= 0.0).astype(float)
        return np.interp(values, self.x, self.cdf, left=0.0, right=1.0)

    def expect(self, func) -> float:
        """E[func(X)] (midpoint rule on the fine CDF)."""
        if self.atom:
            return float(func(np.zeros(1))[0])
        mid = 0.5 * (self.x[1:] + self.x[:-1])
        return float(np.sum(func(mid) * np.diff(self.cdf)))

    def quantiles(self, probs, n: int) -> np.ndarray:
        """``n`` stratified quantiles (for plotting draws)."""
        if self.atom:
            return np.zeros(n)
        return np.interp((np.arange(n) + 0.5) / n, self.cdf, self.x)


ATOM = Marginal(np.zeros(0), np.zeros(0), 0.0)
FINE_POINTS = 1201  # points of the fine grid of a marginal CDF


def _node_marginal(w, log_g, to_param) -> Marginal:
    """Marginal of a coordinate x(w) known at uniform nodes w with log_g = log(density in w,
    unnormalised): mean by the trapezoidal rule at the nodes; CDF by a cubic spline of log g
    on a fine grid of w (``to_param``: the parameter as a monotone function of w)."""
    g = np.exp(log_g - np.max(log_g))
    mean = float(np.sum(to_param(w) * g) / np.sum(g))
    if len(w) < 2:
        return Marginal(to_param(np.array([w[0], w[0]])), np.array([0.0, 1.0]), mean)
    fine = np.linspace(w[0], w[-1], FINE_POINTS)
    if len(w) >= 4:
        dens = np.exp(np.minimum(interpolate.CubicSpline(w, log_g - np.max(log_g))(fine), 5.0))
    else:
        dens = np.exp(np.interp(fine, w, log_g - np.max(log_g)))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]))])
    return Marginal(to_param(fine), cdf / cdf[-1], mean)


def _normal_mixture_marginal(log_w, means, sds) -> Marginal:
    """Marginal of mu when it is normal given the grid nodes (weights exp(log_w))."""
    w = np.exp(np.ravel(log_w) - np.max(log_w))
    keep = w > 1e-12 * w.max()
    w, m, s = w[keep] / w[keep].sum(), np.ravel(means)[keep], np.ravel(sds)[keep]
    fine = np.linspace(np.min(m - 8.5 * s), np.max(m + 8.5 * s), FINE_POINTS)
    cdf = np.zeros(FINE_POINTS)
    for start in range(0, len(w), 2000):
        sl = slice(start, start + 2000)
        cdf += w[sl] @ special.ndtr((fine[None, :] - m[sl, None]) / s[sl, None])
    cdf = (cdf - cdf[0]) / (cdf[-1] - cdf[0])
    return Marginal(fine, cdf, float(w @ m))


@dataclass(frozen=True)
class ModelFit:
    """One model of the ensemble: evidence, its quadrature error, and its posteriors of mu and tau."""

    model: Model
    prior_prob: float
    log_marglik: float
    log_marglik_error: float
    method: str
    mu: Marginal
    tau: Marginal


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


EDGE = 16.0  # each grid axis ends where the integrand is below exp(-EDGE) of its maximum
STEP = {"fine": 0.3, "coarse": 0.4}  # trapezoid step in the sinh-mapped coordinate w (3-5 axes) ...
LOW_DIM_STEP = 2.0 / 3.0  # ... times this on grids of 1 or 2 axes (cheap)
SINH_SCALE, SINH_MAX = 2.0, 1.5
MIN_NODES = 6
MAX_NODES = {1: 600, 2: 300, 3: 60, 4: 26, 5: 15}  # per axis, by the number of grid axes
CHUNK = 1_500_000  # elements of the (grid x studies x omega nodes) blocks


def _outer_sum(arrays) -> np.ndarray:
    """Sum over the tensor grid of 1-D arrays, flattened in C order (a scalar grid: [0])."""
    out = np.zeros(1)
    for a in arrays:
        out = (out[:, None] + a[None, :]).ravel()
    return out


class _GridModel:
    """Log integrand of one model (times the trapezoid weights) on a tensor grid.

    Weight-function models: coordinates (mu, log tau) (those present) and logit t_1 ... logit t_m
    of the weights; the interval probabilities depend on (mu, tau) only and are computed once per
    (mu, tau) node, the weights enter by a matrix product. Other models: coordinates (log tau, log
    coefficient) (those present) with mu integrated analytically (conjugate normal prior: the model
    is normal given tau and the coefficient)."""

    def __init__(self, model: Model, y, se, priors: BmaPriors, metric: str):
        self.model, self.y, self.se, self.priors = model, y, se, priors
        self.weightfunction = model.bias.kind == "weightfunction"
        if self.weightfunction:
            self.crit = cutoffs(se, model.bias, metric)
            stat = np.abs(y) if model.bias.sides == "two-sided" else y
            region = np.sum(stat[:, None] >= self.crit, axis=1)
            self.counts = np.bincount(region, minlength=self.crit.shape[1] + 1).astype(float)
            self.names = (["mu"] if model.effect else []) + (["s"] if model.heterogeneity else [])
            self.names += ["u"] * len(model.bias.steps)
        else:
            self.names = (["s"] if model.heterogeneity else []) + (["b"] if model.n_bias_parameters else [])

    def evaluate(self, axes, log_w=None):
        """log(integrand x quadrature weight) on the tensor grid of ``axes`` (shape of the grid;
        ``log_w``: log weights of each axis' nodes, default the uniform trapezoid step); mu's
        conditional mean and sd at each node when mu is integrated analytically."""
        pr, y, se = self.priors, self.y, self.se
        shape = [len(a) for a in axes]
        if log_w is None:
            log_w = [np.full(len(a), math.log(a[1] - a[0]) if len(a) > 1 else 0.0) for a in axes]
        if not self.weightfunction:
            mesh = np.meshgrid(*axes, indexing="ij") if axes else []
            pts = {name: m.ravel() for name, m in zip(self.names, mesh)}
            n = int(np.prod(shape)) if axes else 1
            log_prior = _outer_sum(log_w)
            tau = np.exp(pts["s"]) if "s" in pts else np.zeros(n)
            if "s" in pts:
                log_prior += pr.tau.logpdf(tau) + pts["s"]
            var = se[None, :] ** 2 + tau[:, None] ** 2
            resid = np.broadcast_to(y[None, :], (n, len(y)))
            if "b" in pts:
                coef = np.exp(pts["b"])
                scale = pr.pet_scale if self.model.bias.kind == "PET" else pr.peese_scale
                log_prior += math.log(2.0 / (math.pi * scale)) - np.log1p((coef / scale) ** 2) + pts["b"]
                x = se if self.model.bias.kind == "PET" else se**2
                resid = resid - coef[:, None] * x[None, :]
            if not self.model.effect:
                log_lik = -0.5 * np.sum(LOG_2PI + np.log(var) + resid**2 / var, axis=1)
                return (log_prior + log_lik).reshape(shape), None, None
            w = 1.0 / var
            r = resid - pr.mu_mean
            precision = w.sum(axis=1) + 1.0 / pr.mu_sd**2
            sw = np.sum(w * r, axis=1)
            log_lik = (-0.5 * len(y) * LOG_2PI + 0.5 * np.sum(np.log(w), axis=1) - math.log(pr.mu_sd)
                       - 0.5 * np.log(precision) - 0.5 * (np.sum(w * r**2, axis=1) - sw**2 / precision))
            return ((log_prior + log_lik).reshape(shape), (pr.mu_mean + sw / precision).reshape(shape),
                    (1.0 / np.sqrt(precision)).reshape(shape))
        n_ms = len(self.names) - len(self.model.bias.steps)
        ms_axes, u_axes = axes[:n_ms], axes[n_ms:]
        mesh = np.meshgrid(*ms_axes, indexing="ij") if ms_axes else []
        pts = {name: m.ravel() for name, m in zip(self.names, mesh)}
        n = int(np.prod(shape[:n_ms])) if ms_axes else 1
        mu = pts["mu"] if "mu" in pts else np.zeros(n)
        tau = np.exp(pts["s"]) if "s" in pts else np.zeros(n)
        base = _outer_sum(log_w[:n_ms])
        if "mu" in pts:
            base += -0.5 * (LOG_2PI + ((mu - pr.mu_mean) / pr.mu_sd) ** 2) - math.log(pr.mu_sd)
        if "s" in pts:
            base += pr.tau.logpdf(tau) + pts["s"]
        var = se[None, :] ** 2 + tau[:, None] ** 2
        base -= 0.5 * np.sum(LOG_2PI + np.log(var) + (y[None, :] - mu[:, None]) ** 2 / var, axis=1)
        probs = _interval_probs(mu, np.sqrt(var), self.crit, self.model.bias.sides).reshape(n * len(y), -1)
        u = np.stack([g.ravel() for g in np.meshgrid(*u_axes, indexing="ij")], axis=1)
        omega, log_omega, log_prior_u = _log_omega(u)
        selected = log_omega @ self.counts + log_prior_u + _outer_sum(log_w[n_ms:])
        out = np.empty((n, len(u)))
        step = max(1, CHUNK // (n * len(y)))
        for start in range(0, len(u), step):
            sl = slice(start, start + step)
            with np.errstate(divide="ignore"):
                denom = np.log(probs @ omega[sl].T).reshape(n, len(y), -1).sum(axis=1)
            out[:, sl] = base[:, None] - denom + selected[None, sl]
        return out.reshape(shape), None, None


def _find_range(gm: "_GridModel", centre, sds):
    """Bounds of each coordinate: from mode +- 8 SD (Laplace), widened until the integrand
    (maximised over the other coordinates) is below exp(-EDGE) of its maximum at both ends,
    then trimmed to where it is not (one step of margin)."""
    lo, hi = centre - 8.0 * sds, centre + 8.0 * sds
    d = len(centre)
    count = int(np.clip(math.floor(2e4 ** (1.0 / d)), 9, 41)) if d else 1
    for _ in range(30):
        axes = [np.linspace(a, b, count) for a, b in zip(lo, hi)]
        grid = gm.evaluate(axes)[0]
        top = float(np.max(grid))
        if not np.isfinite(top):
            raise FloatingPointError(f"the posterior of {gm.model} is not finite on its grid")
        widened = False
        profiles = []
        for j in range(d):
            profile = np.max(np.moveaxis(grid, j, 0).reshape(count, -1), axis=1)
            profiles.append(profile)
            width = hi[j] - lo[j]
            if profile[0] > top - EDGE:
                lo[j] -= 0.5 * width
                widened = True
            if profile[-1] > top - EDGE:
                hi[j] += 0.5 * width
                widened = True
        if not widened:
            for j, profile in enumerate(profiles):
                inside = np.nonzero(profile > top - EDGE)[0]
                step = axes[j][1] - axes[j][0]
                lo[j], hi[j] = axes[j][inside[0]] - step, axes[j][inside[-1]] + step
            return lo, hi
    raise FloatingPointError(f"the posterior of {gm.model} does not decay within the integration range")


def _sinh_axis(lo, hi, centre, scale, h, most):
    """Nodes x = centre + scale sinh(w), w uniform with step about h on [asinh((lo - c)/a),
    asinh((hi - c)/a)], and their log trapezoid weights (h a cosh w): near the mode the step
    is about h a, in the tails it grows geometrically (a long tail costs few nodes)."""
    w_lo, w_hi = np.arcsinh((lo - centre) / scale), np.arcsinh((hi - centre) / scale)
    n = int(np.clip(math.ceil((w_hi - w_lo) / h) + 1, MIN_NODES, most))
    w = np.linspace(w_lo, w_hi, n)
    step = w[1] - w[0]
    return centre + scale * np.sinh(w), math.log(step) + math.log(scale) + np.log(np.cosh(w)), w


def _integrate(gm: "_GridModel", lo, hi, centre, csds, level: str):
    """log evidence by the trapezoidal rule in sinh-mapped coordinates (see _sinh_axis; scale
    SINH_SCALE x the conditional Laplace SD of the coordinate, at most SINH_MAX on the log /
    logit coordinates s, b, u); ``level`` "coarse" uses a larger step (and fewer nodes where
    the node cap binds) for the stated error |fine - coarse|."""
    most = MAX_NODES.get(len(lo), 12)
    if level == "coarse":
        most = max(MIN_NODES, int(0.7 * most))
    axes, log_w, ws = [], [], []
    for name, a, b, c, sd in zip(gm.names, lo, hi, centre, csds):
        scale = SINH_SCALE * sd if name == "mu" else min(SINH_SCALE * sd, SINH_MAX)
        h = STEP[level] * (LOW_DIM_STEP if len(lo) <= 2 else 1.0)
        x, lw, w = _sinh_axis(a, b, min(max(c, a), b), scale, h, most)
        axes.append(x)
        log_w.append(lw)
        ws.append(w)
    terms, mu_mean, mu_sd = gm.evaluate(axes, log_w)
    return float(special.logsumexp(terms)), (axes, log_w, ws), terms, mu_mean, mu_sd


def _marginals(gm: _GridModel, grid, terms, mu_mean, mu_sd) -> tuple[Marginal, Marginal]:
    """Posteriors of mu and tau of one model from its evidence grid."""
    axes, log_w, ws = grid

    def along(j):
        other = tuple(i for i in range(terms.ndim) if i != j)
        # terms carry the weight step x dx/dw: their sum over the other axes is the log
        # marginal density in w up to a constant
        return special.logsumexp(terms, axis=other) if other else terms

    def mapping(j, then=lambda v: v):
        x, w = axes[j], ws[j]
        scale = (x[-1] - x[0]) / (np.sinh(w[-1]) - np.sinh(w[0]))
        centre = x[0] - scale * np.sinh(w[0])
        return lambda v: then(centre + scale * np.sinh(v))

    names = gm.names
    if not gm.model.effect:
        mu = ATOM
    elif "mu" in names:
        j = names.index("mu")
        mu = _node_marginal(ws[j], along(j), mapping(j))
    else:
        mu = _normal_mixture_marginal(terms, mu_mean, mu_sd)
    if "s" in names:
        j = names.index("s")
        tau = _node_marginal(ws[j], along(j), mapping(j, np.exp))
    else:
        tau = ATOM
    return mu, tau


def _quadrature(model: Model, y, se, priors: BmaPriors, metric: str):
    """log evidence of one model on its grid, with the stated error |fine - coarse|; returns
    (grid model, value, error, grid, terms, mu mean, mu sd)."""
    gm = _GridModel(model, y, se, priors, metric)
    post = _Posterior(model, y, se, priors, metric)
    start = []
    if model.effect:
        w = 1.0 / se**2
        start.append(float(np.sum(w * y) / np.sum(w)))
    if model.heterogeneity:
        start.append(math.log(max(float(np.std(y)), 2.0 * priors.tau.scale, 1e-3)))
    start += [0.0] * model.n_bias_parameters
    keep = list(range(len(start))) if gm.weightfunction else list(range(int(model.effect), len(start)))
    if keep:
        mode, hess = _mode(post, np.array(start))
        eigval, eigvec = np.linalg.eigh(hess)
        cov = eigvec @ np.diag(1.0 / np.maximum(eigval, 1e-8)) @ eigvec.T
        sub = cov[np.ix_(keep, keep)]
        centre, sds = mode[keep], np.sqrt(np.diag(sub))
        csds = 1.0 / np.sqrt(np.diag(np.linalg.inv(sub)))  # conditional SDs
        lo, hi = _find_range(gm, centre, sds)
    else:
        lo = hi = centre = csds = np.zeros(0)
    value, grid, terms, mu_mean, mu_sd = _integrate(gm, lo, hi, centre, csds, "fine")
    error = abs(value - _integrate(gm, lo, hi, centre, csds, "coarse")[0]) if keep else 0.0
    return gm, value, error, grid, terms, mu_mean, mu_sd


def fit_model(model: Model, y, se, priors: BmaPriors, metric: str, prior_prob: float = 1.0) -> ModelFit:
    """Evidence (with its quadrature error) and the posteriors of mu and tau of one model."""
    gm, value, error, grid, terms, mu_mean, mu_sd = _quadrature(model, y, se, priors, metric)
    method = "quadrature"
    if model.bias.kind == "none":
        exact = _exact_normal_log_marglik(model, y, se**2, priors)
        error = max(error, abs(value - exact))
        value, method = exact, "exact"
    mu, tau = _marginals(gm, grid, terms, mu_mean, mu_sd)
    return ModelFit(model, prior_prob, value, error, method, mu, tau)


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


def central_probs(prob: float) -> tuple[float, float, float]:
    """The quantiles of a central (equal-tailed) credible interval of mass ``prob`` and the median: (0.025, 0.5,
    0.975) for 0.95 (through the level in percent, so that 0.95 gives 0.025 exactly, not 0.025000000000000022),
    for any mass between 0 and 1 (0.005 too, which bayes.hdi_prob allows)."""
    tail = (100.0 - 100.0 * prob) / 200.0
    return tail, 0.5, 1.0 - tail


def _mixture(parts, probs, transform=None):
    """Mean and the quantiles ``probs`` of a mixture of model marginals [(weight, Marginal)] (atoms at 0
    included); ``transform``: a monotone function (e.g. tanh) applied to the parameter."""
    total = sum(p for p, _ in parts)
    grid = np.unique(np.concatenate([m.x for _, m in parts if not m.atom] + [np.array([-1e-300, 0.0])]))
    cdf = sum(p * m.at(grid) for p, m in parts) / total
    out = []
    for q in probs:
        i = int(np.searchsorted(cdf, q, side="left"))
        i = min(max(i, 1), len(grid) - 1)
        gap = cdf[i] - cdf[i - 1]
        frac = 0.0 if gap <= 0 else (q - cdf[i - 1]) / gap
        value = grid[i - 1] + np.clip(frac, 0.0, 1.0) * (grid[i] - grid[i - 1])
        out.append(0.0 if abs(value) < 1e-200 else value)  # inside the atom at 0
    if transform is None:
        mean = sum(p * m.mean for p, m in parts) / total
        return mean, out
    return sum(p * m.expect(transform) for p, m in parts) / total, [float(transform(np.array(v))) for v in out]


@dataclass(frozen=True, eq=False)  # identity: its frames do not compare
class BmaResult:
    """The fitted ensemble: ``table`` (bma.csv) and ``summary`` (bma_summary.csv, whose ``ci_lower`` and
    ``ci_upper`` bound the central credible interval of mass ``prob``)."""

    fits: tuple
    metric: str
    priors: BmaPriors
    studies: pd.DataFrame = field(repr=False)
    table: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    prob: float = DEFAULT_PROB

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def __repr__(self) -> str:  # the dataclass's own repr printed every model's grids (24,000 characters)
        components = self.summary[self.summary["quantity"] == "component"] if "quantity" in self.summary else \
            self.summary.iloc[:0]
        factors = ", ".join(f"{name} {bf:.3g}" for name, bf in zip(components.get("name", []),
                                                                    components.get("inclusion_bf", [])))
        few = "; model averaging needs at least 2 studies" if len(self.studies) < 2 else ""
        return (f"<BmaResult: {len(self.fits)} models on k = {len(self.studies)}"
                + (f"; inclusion BF {factors}" if factors else "") + few + ">")

    def draws(self, parameter: str, conditional: bool = False, n_per_model: int = 2000):
        """Model-averaged posterior of ``mu`` or ``tau`` as weighted points (for plotting):
        stratified quantiles of each model's posterior, weighted by its posterior probability
        (one point at 0 for a model without the parameter)."""
        values, weights = [], []
        for f, p in zip(self.fits, self.table["posterior_prob"]):
            marginal = getattr(f, parameter)
            if conditional and marginal.atom:
                continue
            n = 1 if marginal.atom else n_per_model
            values.append(marginal.quantiles(None, n))
            weights.append(np.full(n, p / n))
        w = np.concatenate(weights)
        return np.concatenate(values), w / w.sum()

    @keywords_checked
    def plot(self, note: str | None = None):
        """Prior and posterior model probabilities and the model-averaged posterior of mu. ``note``: beneath it
        (default: that the rows are simulated, when they are; ``""`` leaves it out)."""
        from alliance_meta.plots.provenance import figure_note, returned_figure
        from alliance_meta.plots.style import message_figure, symbol

        from .bma_plot import bma_figure

        figure = (bma_figure(self) if self.fits else message_figure(
            f"Model averaging needs at least two studies ({symbol('k')} = {len(self.studies)})."))
        return returned_figure(figure, figure_note(self.studies) if note is None else note)


def _summaries(fits, post_probs, log_post: np.ndarray, metric: str, prob: float = DEFAULT_PROB) -> pd.DataFrame:
    """Component rows (prior and posterior inclusion probabilities, inclusion Bayes factors) and the
    model-averaged estimates (mean, median and the central credible interval of mass ``prob``). ``log_post``: log
    prior probability + log marginal likelihood of each model, from which the inclusion Bayes factors are computed
    in log space (as posterior odds over prior odds, they saturate once a posterior probability rounds to 1: inf,
    or 1e14 for a Bayes factor of 1e27)."""
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
            log_odds = special.logsumexp(log_post[included]) - special.logsumexp(log_post[~included])
            with np.errstate(over="ignore"):
                bf = float(np.exp(log_odds - math.log(p_prior / (1 - p_prior))))
        rows.append({"quantity": "component", "name": name, "type": "", "scale": "", "prior_prob": p_prior,
                     "posterior_prob": p_post, "inclusion_bf": bf})
    for parameter in ("mu", "tau"):
        for conditional in (False, True):
            parts = [(p, getattr(f, parameter)) for f, p in zip(fits, post_probs)]
            if conditional:
                parts = [(p, m) for p, m in parts if not m.atom]
            if not parts or sum(p for p, _ in parts) == 0:
                continue
            scales = [("analysis", None)]
            if metric == "z" and parameter == "mu":
                scales.append(("r", np.tanh))
            for scale, transform in scales:
                mean, (lower, median, upper) = _mixture(parts, central_probs(prob), transform)
                rows.append({"quantity": "estimate", "name": parameter,
                             "type": "conditional" if conditional else "averaged", "scale": scale,
                             "mean": float(mean), "median": float(median), "ci_lower": float(lower),
                             "ci_upper": float(upper)})
    return pd.DataFrame(rows)


def robma(yi, vi, metric: str = "smd", prior_scale: str = "cohens_d", priors: dict | None = None,
          bias: bool = True, prob: float = DEFAULT_PROB) -> BmaResult:
    """RoBMA-PSMA ensemble of independent effect sizes ``yi`` with variances ``vi`` (see module docstring);
    ``prob``: the mass of the central credible intervals of the summary."""
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if len(y) < 2 or len(y) != len(v) or not np.all(np.isfinite(y)) or not np.all(v > 0):
        raise ValueError("model averaging needs at least two studies with finite yi and positive vi")
    pr = BmaPriors.from_config(metric, prior_scale, priors)
    se = np.sqrt(v)
    fits = [fit_model(m, y, se, pr, metric, p) for m, p in ensemble(bias)]
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
    return BmaResult(tuple(fits), metric, pr, studies, table, _summaries(fits, post, log_post, metric, prob), prob)


@keywords_checked
def bma(fit, prior_scale: str = "cohens_d", priors: dict | None = None, bias: bool = True,
        prob: float = DEFAULT_PROB) -> BmaResult:
    """RoBMA-PSMA model averaging of the independent studies of ``fit`` (study composites of a
    three-level fit), on the fit's metric (Bartoš et al. 2023; RoBMA's ``RoBMA(..., model_type = "PSMA")``).

    ``prior_scale``, ``priors``, ``bias``: the config's ``bma`` keys, checked as the config is (a misspelt
    key or value is a ValueError). Priors on Cohen's d (``prior_scale="cohens_d"``) need the fit's metric.
    ``prob``: the mass of the central (equal-tailed, as RoBMA's) credible intervals of ``summary``, between 0 and 1;
    the pipeline passes ``bayes.hdi_prob``, the level of every Bayesian interval of the run.
    """
    from alliance_meta.analyses.bias.results import independent_studies
    from alliance_meta.inputs.options import check_options
    from alliance_meta.models.fits import require_fit

    require_fit(fit, "am.bma")
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"am.bma: bias is True or False, not {bias!r}")
    if isinstance(prob, (bool, np.bool_)) or not isinstance(prob, numbers.Real) or not 0 < prob < 1:
        raise ValueError(f"am.bma: prob is the mass of the credible interval, a number between 0 and 1 (e.g. 0.95, "
                         f"as bayes.hdi_prob), not {prob!r}")
    check_options("bma", {"prior_scale": prior_scale, "priors": priors or {}, "bias": bool(bias)}, BMA_KEYS,
                  "am.bma", enums={"prior_scale": PRIOR_SCALES})
    if fit.metric is None and prior_scale == "cohens_d":
        raise ValueError("am.bma needs the analysis metric to move the priors from Cohen's d to it: "
                         "am.fit(..., metric='z') (or 'smd', 'log_or'), or prior_scale='analysis'")
    studies = independent_studies(fit)
    if len(studies) < 2:
        columns = ["effect", "heterogeneity", "bias", "prior_prob", "log_marglik", "posterior_prob",
                   "log_marglik_error", "method"]
        return BmaResult((), fit.metric or "smd", BmaPriors.from_config(fit.metric or "smd", prior_scale, priors),
                         studies, pd.DataFrame(columns=columns),
                         pd.DataFrame(columns=["quantity", "name", "type", "scale", "prior_prob", "posterior_prob",
                                               "inclusion_bf", "mean", "median", "ci_lower", "ci_upper"]), prob)
    result = robma(studies["yi"].to_numpy(float), studies["vi"].to_numpy(float), fit.metric or "smd",
                   prior_scale, priors, bias, prob)
    return replace(result, studies=studies)
