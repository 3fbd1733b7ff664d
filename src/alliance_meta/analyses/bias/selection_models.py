"""Selection models of metafor's ``selmodel()``: beta, half-normal, negative-exponential,
logistic, power, negative-exponential-power and step function.

A study with effect y_i ~ N(mu, v_i + tau^2) and p-value p_i is observed with relative
probability w(p_i; delta); the likelihood of the observed studies (Vevea & Hedges 1995,
eq. 5; Citkowicz & Vevea 2017, eq. 2; Preston, Ashby & Smyth 2004) is

    L = prod_i w(p_i; delta) phi(y_i; mu, v_i + tau^2) / A_i,
    A_i = integral w(p(y); delta) phi(y; mu, v_i + tau^2) dy.

Weight functions, defaults, bounds and p-value clamping are metafor 3.8's
(``selmodel.rma.uni``, ``.selmodel.ll.cont``, ``.selmodel.ll.stepfun``):

==========  =========================================  =============  ===========  ========
type        w(p; delta)                                delta bounds   start        p clamp
==========  =========================================  =============  ===========  ========
beta        p^(d1 - 1) (1 - p)^(d2 - 1)                [1e-5, 100]^2  (1, 1)       1e-5
halfnorm    exp(-d p^2)                                [0, 100]       1            0
negexp      exp(-d p)                                  [0, 100]       1            0
logistic    2 exp(-d p) / (1 + exp(-d p))              [0, 100]       1            0
power       (1 - p)^d                                  [0, 100]       1            1e-5
negexppow   exp(-d1 p^(1 / d2))                        [0, 100]^2     (1, 1)       0
stepfun     delta_j for s_(j-1) < p <= s_j, delta_1=1  [0, 100]       1            0
==========  =========================================  =============  ===========  ========

p-values are one-sided (``alternative = "greater"``, metafor's default: p = 1 - Phi(y / sqrt(v))),
``"less"`` or ``"two.sided"``; clamped to [p clamp, 1 - p clamp] as metafor.

A_i: for the step function a sum of normal probabilities (exact). For the continuous types
composite Gauss-Legendre (10 nodes a panel) over the standardised effect t = (y - mu) / sd_i in
[-12, 12]: panels at most 0.5 wide in t, at most 0.25 wide in z = y / sqrt(v_i) within |z| <= 9,
split wherever log w changes by 2 and at every kink of the clamped weight (graded towards
z = 0 for two-sided p-values), summed in log space; beyond |t| = 12 the largest weight times the
normal tails is added, so that A_i is never underestimated. Checked against adaptive
quadrature to 1e-10 (tests); metafor integrates with ``integrate()`` at rel.tol 1.2e-4.
Where the weight piles up at the clamped p-value (delta at or near its bound, the same bounds
and clamp as metafor's), A_i is small (down to 3e-12) and ``integrate()``'s absolute tolerance,
by default its rel.tol (metafor passes only rel.tol), lets it stop at a first estimate up to 14%
low; metafor then reports too high a likelihood and climbs towards that error: on 8
correlations its beta model reports 15.905 (mu = -0.370; with rel.tol 1e-10, 15.947 at -0.371)
and its power model 15.053 (-0.106), where the log likelihood is 15.7923, 15.7920 and 14.9641;
ours, 15.7926 (-0.368) and 14.9993 (-0.082), are the maxima (R's integrate() with abs.tol = 0
and mpmath agree with our A_i to 1e-12; tests/test_selection_models_bound.py).

Maximisation: from metafor's start (the ML estimates, tau^2 + 0.001, delta.init), BFGS on
metafor's scale (log tau^2, delta mapped to its bounds by the logistic function) and L-BFGS-B on
(mu, tau^2, delta) within the bounds, both with the analytic gradient and polished by Newton
steps; the higher optimum is kept. ``converged``: the Karush-Kuhn-Tucker conditions hold there.
Standard errors come from the inverse Hessian of the log likelihood in (mu, tau^2, delta) over
every free parameter, as metafor (``htransf = FALSE``); when it cannot be inverted the estimates
stay and the standard errors are NaN (metafor: "Error when trying to invert Hessian"). The
likelihood-ratio test compares with the unadjusted random-effects model fitted by ML (df =
number of free delta).

References: Vevea, J. L. & Hedges, L. V. (1995). *Psychometrika* 60, 419-435. Citkowicz, M. &
Vevea, J. L. (2017). *Psychological Methods* 22, 28-41 (beta). Preston, C., Ashby, D. & Smyth,
R. (2004). *Statistics in Medicine* 23, 1759-1772 (half-normal, negative-exponential,
logistic, power). Viechtbauer, W. metafor 3.8, ``help(selmodel)``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special

from alliance_meta.analyses.bias.results import (NO_POSITIVE_EFFECT, POORLY_IDENTIFIED, BiasTest,
                                                independent_studies, no_positive_effect)
from alliance_meta.analyses.results import with_back_transform
from alliance_meta.engines import distributions as dist
from alliance_meta.engines.heterogeneity import TIGHT_CONTROL, dominant_weight, weighted_q
from alliance_meta.inputs.options import keywords_checked
from alliance_meta.models import univariate as pooling
from alliance_meta.wording import did_you_mean, plural

TYPES = ("beta", "halfnorm", "negexp", "logistic", "power", "negexppow", "stepfun")
DEFAULT_STEPS = (0.025, 0.10, 0.50, 1.0)
ALTERNATIVES = ("greater", "less", "two.sided")
TABLE_COLUMNS = ("type", "steps", "estimate", "se", "ci_lower", "ci_upper", "pval", "tau2", "delta", "loglik",
                 "lrt", "lrt_p", "converged", "note")


@dataclass(frozen=True)
class WeightSpec:
    """A weight function of metafor's ``selmodel`` with its bounds and defaults."""

    type: str
    delta_min: tuple[float, ...]
    delta_max: tuple[float, ...]
    delta_init: tuple[float, ...]
    pval_min: float
    h0: tuple[float, ...]  # delta under no selection (metafor's H0.delta)

    @property
    def size(self) -> int:
        return len(self.delta_min)


SPECS = {
    "beta": WeightSpec("beta", (1e-5, 1e-5), (100.0, 100.0), (1.0, 1.0), 1e-5, (1.0, 1.0)),
    "halfnorm": WeightSpec("halfnorm", (0.0,), (100.0,), (1.0,), 0.0, (0.0,)),
    "negexp": WeightSpec("negexp", (0.0,), (100.0,), (1.0,), 0.0, (0.0,)),
    "logistic": WeightSpec("logistic", (0.0,), (100.0,), (1.0,), 0.0, (0.0,)),
    "power": WeightSpec("power", (0.0,), (100.0,), (1.0,), 1e-5, (0.0,)),
    "negexppow": WeightSpec("negexppow", (0.0, 0.0), (100.0, 100.0), (1.0, 1.0), 0.0, (0.0, 0.0)),
}


def p_values(yi, vi, alternative: str = "greater") -> np.ndarray:
    """p-values of the studies as metafor's ``.selmodel.pval``."""
    return _p_of_z(_standardised(yi, vi), alternative)


def _standardised(yi, vi) -> np.ndarray:
    """z = y / sqrt(v), the statistic of each p-value."""
    return np.asarray(yi, float) / np.sqrt(np.asarray(vi, float))


def _p_of_z(z: np.ndarray, alternative: str) -> np.ndarray:
    """p-values of standardised effects z = y / sqrt(v): ndtr(s) of :func:`_normal_argument` (twice it, two-sided)."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"unknown alternative {alternative!r}; expected one of {', '.join(ALTERNATIVES)}")
    p = special.ndtr(_normal_argument(z, alternative))
    return 2 * p if alternative == "two.sided" else p


def _normal_argument(z: np.ndarray, alternative: str) -> np.ndarray:
    """s with p = Phi(s) (one-sided) or 2 Phi(s) (two-sided): -z, z or -|z|."""
    return z if alternative == "less" else -np.abs(z) if alternative == "two.sided" else -z


def _clamp_thresholds(pval_min: float, alternative: str) -> tuple[float, float]:
    """(s_low, s_high): for s <= s_low the p-value clamped to [pval_min, 1 - pval_min] is certainly pval_min, for
    s >= s_high certainly 1 - pval_min (s as :func:`_normal_argument`; a factor 2 to spare in the normal tail, far
    beyond ndtr's error); between them p must be computed. Two-sided p-values reach the upper clamp only near z = 0:
    not skipped."""
    share = 2.0 if alternative == "two.sided" else 1.0  # p = share * Phi(s)
    s_high = float(dist.norm.isf(pval_min / 2)) if alternative != "two.sided" else math.inf
    return float(-dist.norm.isf(pval_min / share / 2)), s_high


def _log_weight(type_: str, p: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log w(p; delta) and its derivative in each delta (leading axis), for the continuous types
    (metafor's ``wi.fun`` with the default ``steps = 0``, so no normalising constant)."""
    if type_ == "beta":
        log_p, log_q = np.log(p), np.log1p(-p)
        return (delta[0] - 1) * log_p + (delta[1] - 1) * log_q, np.stack([log_p, log_q])
    if type_ == "halfnorm":
        return -delta[0] * p**2, (-p**2)[None]
    if type_ == "negexp":
        return -delta[0] * p, (-p)[None]
    if type_ == "logistic":
        x = delta[0] * p
        return math.log(2.0) - x - np.logaddexp(0.0, -x), (-p * special.expit(x))[None]
    if type_ == "power":
        log_q = np.log1p(-p)
        return delta[0] * log_q, log_q[None]
    if type_ == "negexppow":  # p**(1/delta2) overflows to inf (weight 0) where the optimiser tries delta2 <~ 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            root = p ** (1.0 / delta[1])
            d_root = np.where(p > 0, root * np.log(np.where(p > 0, p, 1.0)) * (-1.0 / delta[1] ** 2), 0.0)
        return -delta[0] * root, np.stack([-root, -delta[0] * d_root])
    raise ValueError(f"unknown selection model type {type_!r}; expected one of {', '.join(TYPES)}")


def weight_function(type_: str, delta, p, steps=None, alternative: str = "greater") -> np.ndarray:
    """The fitted relative probability of selection w(p) at p-values ``p`` (for plots):
    clamped as metafor; ``steps`` for ``stepfun``."""
    p = np.asarray(p, float)
    delta = np.asarray(delta, float)
    if type_ == "stepfun":
        steps = np.asarray(steps, float)
        return delta[np.minimum(np.searchsorted(steps, p, side="left"), steps.size - 1)]
    spec = SPECS[type_]
    clamped = np.clip(p, spec.pval_min, 1 - spec.pval_min)
    return np.exp(_log_weight(type_, clamped, delta)[0])


# Quadrature for A_i of the continuous types (see the module docstring).
T_MAX = 12.0
LOG_TAILS = math.log(2.0) + float(special.log_ndtr(-T_MAX))
SQRT_2PI = math.sqrt(2 * math.pi)
LOG_SQRT_2PI = math.log(SQRT_2PI)
NODES, NODE_WEIGHTS = np.polynomial.legendre.leggauss(10)
T_GRID = np.arange(-T_MAX, T_MAX + 0.25, 0.5)
Z_GRID = np.concatenate([-np.array([38.0, 27.0, 20.0, 15.0, 12.0, 10.0]), np.arange(-9.0, 9.0 + 0.125, 0.25),
                         np.array([10.0, 12.0, 15.0, 20.0, 27.0, 38.0])])
FINE_Z = np.linspace(-40.0, 40.0, 4001)  # where the weight's variation is measured
UNDERFLOW_Z = 37.677120720495  # 1 - Phi(z) is 0 in double precision beyond (R's pnorm: 37.519)
LOG_W_STEP = 2.0  # at most this change of log w between break points (GL-10: error < 1e-12)
MAX_ADAPTIVE_BREAKS = 600
MEMO_SIZE = 32  # evaluations of _Problem kept for exact repeats


def _z_breaks(spec: WeightSpec, alternative: str) -> np.ndarray:
    """Where the weight, as a function of z = y / sqrt(v), changes: a grid, and the kinks."""
    kinks = []
    if spec.pval_min > 0:
        kinks += [dist.norm.isf(spec.pval_min), dist.norm.isf(1 - spec.pval_min)]
        if alternative == "two.sided":
            kinks = [dist.norm.isf(spec.pval_min / 2), dist.norm.isf((1 - spec.pval_min) / 2)]
    kinks += [UNDERFLOW_Z, -UNDERFLOW_Z]  # p jumps to 0 (or 1)
    if alternative == "two.sided":  # p = 2 Phi(-|z|): a cusp at 0, w ~ |z|^d nearby; panels graded towards it
        graded = list(10.0 ** np.arange(-6.0, -0.9, 0.5))
        kinks = [0.0] + kinks + [-k for k in kinks] + graded + [-g for g in graded]
    return np.unique(np.concatenate([Z_GRID, kinks]))


@dataclass
class _Problem:
    """Negative log likelihood (and gradient) of one selection model on one data set."""

    yi: np.ndarray
    vi: np.ndarray
    type: str
    alternative: str
    steps: np.ndarray | None = None
    p_obs: np.ndarray = field(init=False)
    groups: np.ndarray | None = field(init=False, default=None)
    # the same theta is evaluated again (_polish's value then gradient, the polished optimum by _maximise and
    # fit_selection_model, fit_selection_model's Hessian by _stationary): the last MEMO_SIZE evaluations,
    # keyed on theta's bytes, are returned again
    memo: OrderedDict = field(init=False, repr=False, compare=False, default_factory=OrderedDict)

    def __post_init__(self):
        self.sei = np.sqrt(self.vi)
        p = p_values(self.yi, self.vi, self.alternative)
        if self.type == "stepfun":
            self.p_obs = p
            self.groups = np.searchsorted(self.steps, p, side="left")  # first step with p <= step
            self.spec = None  # delta_1 = 1 is fixed: the free parameters are delta_2 .. delta_J
            self.delta_min = np.zeros(self.steps.size - 1)
            self.delta_max = np.full(self.steps.size - 1, 100.0)
            self.delta_init = np.ones(self.steps.size - 1)
            self._cuts()
        else:
            self.spec = SPECS[self.type]
            self.p_obs = np.clip(p, self.spec.pval_min, 1 - self.spec.pval_min)
            self.delta_min = np.array(self.spec.delta_min)
            self.delta_max = np.array(self.spec.delta_max)
            self.delta_init = np.array(self.spec.delta_init)
            self.z_breaks = _z_breaks(self.spec, self.alternative)
            # where the clamp is not a no-op (beta, power): the thresholds beyond which a node's p is the clamp's
            self.clamp_s = _clamp_thresholds(self.spec.pval_min, self.alternative) if self.spec.pval_min > 0 else None
            fine_p = np.clip(p_values(FINE_Z, 1.0, self.alternative), self.spec.pval_min, 1 - self.spec.pval_min)
            self.fine_p = fine_p

    # -- step function: A_i = sum_j delta_j P(s_(j-1) < p_i <= s_j), normal probabilities ---------
    def _cuts(self):
        """P(p <= s_j) = P(y >= upper_j) + P(y <= lower_j): one column per step, s_0 = 0 first."""
        steps = np.concatenate([[0.0], self.steps])
        k = self.vi.size
        upper = np.full((k, steps.size), np.inf)
        lower = np.full((k, steps.size), -np.inf)
        if self.alternative == "greater":
            upper = self.sei[:, None] * dist.norm.isf(steps)[None, :]
        elif self.alternative == "less":
            lower = -self.sei[:, None] * dist.norm.isf(steps)[None, :]
        else:
            upper = self.sei[:, None] * dist.norm.isf(steps / 2)[None, :]
            lower = -upper
        self.upper, self.lower = upper, lower

    def _step_a(self, mu, sd, delta):
        """log A_i and d log A_i / d(mu, sd, delta_j) for the step function."""
        u_up = (self.upper - mu) / sd[:, None]
        u_lo = (self.lower - mu) / sd[:, None]
        cdf = special.ndtr(-u_up) + special.ndtr(u_lo)  # P(p <= s_j)
        finite_up, finite_lo = np.isfinite(u_up), np.isfinite(u_lo)
        uf_up, uf_lo = np.where(finite_up, u_up, 0.0), np.where(finite_lo, u_lo, 0.0)
        pdf_up = np.where(finite_up, np.exp(-0.5 * uf_up**2) / SQRT_2PI, 0.0)
        pdf_lo = np.where(finite_lo, np.exp(-0.5 * uf_lo**2) / SQRT_2PI, 0.0)
        d_mu = (pdf_up - pdf_lo) / sd[:, None]
        d_sd = (pdf_up * uf_up - pdf_lo * uf_lo) / sd[:, None]
        interval = np.diff(cdf, axis=1)
        a = interval @ delta
        with np.errstate(divide="ignore"):
            return (np.log(a), (np.diff(d_mu, axis=1) @ delta) / a, (np.diff(d_sd, axis=1) @ delta) / a,
                    interval.T / a[None, :])

    # -- continuous weights: A_i by quadrature over t --------------------------------------------
    def _adaptive_breaks(self, delta) -> np.ndarray:
        """Extra z break points wherever log w changes by more than LOG_W_STEP between them."""
        log_w = _log_weight(self.type, self.fine_p, delta)[0]
        variation = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(np.maximum(log_w, -1e300))))])
        step = max(LOG_W_STEP, variation[-1] / MAX_ADAPTIVE_BREAKS)
        crossings = np.flatnonzero(np.diff(np.floor(variation / step)) > 0)
        return FINE_Z[crossings]

    def _nodes(self, mu, sd, delta):
        """Nodes t (per study) and log of their quadrature weight times the normal density."""
        breaks = np.concatenate([self.z_breaks, self._adaptive_breaks(delta)])
        z_as_t = (self.sei[:, None] * breaks[None, :] - mu) / sd[:, None]
        grid = np.broadcast_to(T_GRID, (self.vi.size, T_GRID.size))
        edges = np.sort(np.clip(np.hstack([grid, z_as_t]), -T_MAX, T_MAX), axis=1)
        half = np.diff(edges, axis=1) / 2
        centre = (edges[:, 1:] + edges[:, :-1]) / 2
        t = (centre[:, :, None] + half[:, :, None] * NODES).reshape(self.vi.size, -1)
        with np.errstate(divide="ignore"):
            log_weight = np.log((half[:, :, None] * NODE_WEIGHTS).reshape(self.vi.size, -1)) - 0.5 * t**2 - LOG_SQRT_2PI
        return t, log_weight

    def _continuous_a(self, mu, sd, delta):
        """log A_i and d log A_i / d(mu, sd, delta), summed in log space (no underflow)."""
        t, log_weight = self._nodes(mu, sd, delta)
        log_w, d_log_w = self._node_log_weights(mu + sd[:, None] * t, delta)
        terms = log_w + log_weight
        top = np.max(terms, axis=1, keepdims=True)
        scaled = np.exp(terms - top)
        total = scaled.sum(axis=1)
        # beyond |t| = T_MAX: at most sup w times the normal tails; adding this bound keeps A_i from
        # being underestimated (and the likelihood from being overestimated) even where the weight
        # is astronomically smaller in the bulk than in the tails
        # (treated as constant in the gradient)
        log_inner = top[:, 0] + np.log(total)
        log_a = np.logaddexp(log_inner, self._log_sup_weight(delta) + LOG_TAILS)
        with np.errstate(over="ignore"):  # a tail beyond e^709 times the bulk: norm = inf, the bulk's share 0
            norm = total * np.exp(log_a - log_inner)  # = (inner + tail) in the units of `scaled`
        return (log_a, (scaled * t).sum(axis=1) / (sd * norm), (scaled * (t**2 - 1)).sum(axis=1) / (sd * norm),
                (d_log_w * scaled).sum(axis=2) / norm)

    def _node_log_weights(self, y: np.ndarray, delta) -> tuple[np.ndarray, np.ndarray]:
        """log w(p) and its derivatives at the quadrature nodes ``y`` (studies x nodes), p clamped as metafor.
        Where the clamp is not a no-op (beta and power), about two thirds of the demo's nodes lie where it certainly
        holds (:func:`_clamp_thresholds`): they take the weight of the clamped p-value, computed once, and ndtr and
        the weight are evaluated at the other nodes only (the same numbers: each is a function of its own value)."""
        lower, upper = self.spec.pval_min, 1 - self.spec.pval_min
        if self.clamp_s is None:
            return _log_weight(self.type, np.clip(p_values(y, self.vi[:, None], self.alternative), lower, upper), delta)
        z = _standardised(y, self.vi[:, None])
        s = _normal_argument(z, self.alternative)
        low = s <= self.clamp_s[0]
        computed = np.flatnonzero(~(low | (s >= self.clamp_s[1])))  # NaN too
        ends, d_ends = _log_weight(self.type, np.array([lower, upper]), delta)
        inner, d_inner = _log_weight(self.type, np.clip(_p_of_z(z.ravel()[computed], self.alternative), lower, upper),
                                     delta)
        log_w = np.where(low, ends[0], ends[1])
        log_w.ravel()[computed] = inner
        d_log_w = np.where(low, d_ends[:, :1, None], d_ends[:, 1:, None])
        d_log_w.reshape(d_log_w.shape[0], -1)[:, computed] = d_inner
        return log_w, d_log_w

    def _log_sup_weight(self, delta) -> float:
        """log of the largest weight over the clamped p-values (ends, and the beta mode)."""
        points = [self.spec.pval_min, 1 - self.spec.pval_min]
        if self.type == "beta" and delta[0] > 1 and delta[1] > 1:
            points.append((delta[0] - 1) / (delta[0] + delta[1] - 2))
        return float(np.max(_log_weight(self.type, np.array(points), delta)[0]))

    # -- the likelihood ---------------------------------------------------------------------------
    def full_delta(self, free_delta):
        if self.type == "stepfun":
            return np.concatenate([[1.0], free_delta])
        return np.asarray(free_delta, float)

    def __call__(self, theta):
        """Negative log likelihood and its gradient in theta = (mu, tau^2, free delta); an evaluation of
        the last MEMO_SIZE thetas is returned again (a copy of the gradient) rather than repeated."""
        theta = np.asarray(theta, float)
        key = theta.tobytes()
        if key in self.memo:
            self.memo.move_to_end(key)
            value, gradient = self.memo[key]
            return value, gradient.copy()
        value, gradient = self._evaluate(theta)
        self.memo[key] = (value, gradient.copy())
        if len(self.memo) > MEMO_SIZE:
            self.memo.popitem(last=False)
        return value, gradient

    def _evaluate(self, theta):
        mu, tau2 = theta[0], theta[1]
        delta = self.full_delta(theta[2:])
        total = self.vi + tau2
        if np.any(total <= 0):
            return np.inf, np.full(theta.size, np.nan)
        sd = np.sqrt(total)
        residual = self.yi - mu
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.type == "stepfun":
                log_a, a_mu, a_sd, a_delta = self._step_a(mu, sd, delta)
                log_w_obs = np.log(delta[self.groups])
                counts = np.bincount(self.groups, minlength=delta.size)
                d_log_w_obs_sum = np.where(counts > 0, counts / np.where(delta == 0, 1.0, delta), 0.0)[1:]
                a_delta = a_delta[1:]
            else:
                log_a, a_mu, a_sd, a_delta = self._continuous_a(mu, sd, delta)
                log_w_obs, d_log_w = _log_weight(self.type, self.p_obs, delta)
                d_log_w_obs_sum = d_log_w.sum(axis=1)
            value = np.sum(log_w_obs) - 0.5 * np.sum(np.log(2 * np.pi * total) + residual**2 / total) - np.sum(log_a)
            # beside vi = 1e-300 total**2 underflows and the tau^2 slope is beyond double range (inf, or 0/0 at that
            # study's effect): _maximise keeps the route of the highest likelihood, _polish stops at a step that is
            # not finite, and _pinned_route (mu at that effect, tau^2 = 0) reads only the delta slopes
            gradient = np.empty(theta.size)
            gradient[0] = np.sum(residual / total) - np.sum(a_mu)
            gradient[1] = np.sum(-0.5 / total + 0.5 * residual**2 / total**2) - np.sum(a_sd / (2 * sd))
            gradient[2:] = d_log_w_obs_sum - np.sum(a_delta, axis=1)
        if not np.isfinite(value):
            return np.inf, gradient
        return -value, -gradient


def _hessian(problem, theta, relative_step=1e-5):
    """Central-difference Hessian of the negative log likelihood from its analytic gradient,
    over every parameter (also past a bound, as metafor's numDeriv::hessian)."""
    size = theta.size
    hessian = np.empty((size, size))
    for j in range(size):
        step = relative_step * max(abs(theta[j]), 1e-3)
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        with np.errstate(invalid="ignore"):  # inf - inf of the tau^2 slope beside vi = 1e-300 (_Problem._evaluate):
            # _polish stops at a step that is not finite, the standard errors leave tau^2 out below tau2tol
            hessian[:, j] = (problem(up)[1] - problem(down)[1]) / (2 * step)
    return (hessian + hessian.T) / 2


#: How the note of bias.csv's ``selection_model`` row gives the model's steps (read back by the report:
#: alliance_meta.report.tables.one_step_cuts).
STEPS_NOTE = "step function at one-sided p = "


@dataclass(frozen=True)
class SelectionModel:
    """Maximum-likelihood fit of one selection model (metafor's ``selmodel``)."""

    type: str
    alternative: str
    steps: tuple[float, ...]
    estimate: float
    se: float
    tau2: float
    se_tau2: float
    delta: np.ndarray
    se_delta: np.ndarray
    log_likelihood: float
    log_likelihood_unadjusted: float
    lrt: float
    lrt_df: int
    lrt_p: float
    k_per_interval: np.ndarray
    converged: bool = True
    level: float = 95.0
    note: str = ""

    @property
    def ci(self) -> tuple[float, float]:
        critical = dist.norm.isf((1 - self.level / 100) / 2)
        return self.estimate - critical * self.se, self.estimate + critical * self.se

    @property
    def p(self) -> float:
        return float(2 * dist.norm.sf(abs(self.estimate / self.se)))

    def weights(self, p) -> np.ndarray:
        """The fitted weight function at p-values ``p``."""
        return weight_function(self.type, self.delta, p, self.steps, self.alternative)

    def as_row(self) -> dict:
        """The row of ``selection_models.csv`` (without back-transformed columns)."""
        lower, upper = self.ci
        return {"type": self.type, "steps": _join(self.steps) if self.type == "stepfun" else "",
                "estimate": self.estimate, "se": self.se, "ci_lower": lower, "ci_upper": upper, "pval": self.p,
                "tau2": self.tau2, "delta": _join(self.delta), "loglik": self.log_likelihood, "lrt": self.lrt,
                "lrt_p": self.lrt_p, "converged": self.converged, "note": self.note}

    def to_frame(self, metric: str | None = None) -> pd.DataFrame:
        return with_back_transform(pd.DataFrame([self.as_row()], columns=list(TABLE_COLUMNS)), metric)

    def as_test(self) -> BiasTest:
        """The ``selection_model`` row of ``bias.csv`` (statistic: the likelihood-ratio test)."""
        lower, upper = self.ci
        deltas = ", ".join(f"{d:.4g}" for d in self.delta[1:])
        return BiasTest("selection_model", self.lrt, self.lrt_p, self.estimate, se=self.se, ci_lower=lower,
                        ci_upper=upper, df=self.lrt_df,
                        note="; ".join(filter(None, [  # the model's own note without its "tau2 = 0", given here
                            f"{STEPS_NOTE}{', '.join(map(str, self.steps[:-1]))}",
                            "statistic = LRT", f"delta = {deltas}", f"tau2 = {self.tau2:.6g}",
                            *(part for part in self.note.split("; ") if part and part != "tau2 = 0")])))


def _join(values) -> str:
    return ";".join(repr(float(value)) for value in values)


def _interior(problem: _Problem, theta, tolerance=1e-8) -> np.ndarray:
    delta = theta[2:]
    return np.concatenate([[True, theta[1] > tolerance],
                           (delta > problem.delta_min + tolerance) & (delta < problem.delta_max - tolerance)])


def _limits(problem: _Problem) -> tuple[np.ndarray, np.ndarray]:
    return (np.concatenate([[-np.inf, 0.0], problem.delta_min]),
            np.concatenate([[np.inf, np.inf], problem.delta_max]))


def _metafor_route(problem: _Problem, start: np.ndarray) -> np.ndarray:
    """metafor's own route: BFGS on (mu, log tau^2, delta mapped to (min, max) by the logistic
    function; metafor's ``.mapfun``), here with the analytic gradient."""
    low, high = problem.delta_min, problem.delta_max

    def parameters(x):
        return np.concatenate([[x[0], math.exp(min(x[1], 700.0))], low + (high - low) * special.expit(x[2:])])

    def objective(x):
        theta = parameters(x)
        value, gradient = problem(theta)
        if not np.isfinite(value):
            return 1e300, np.zeros_like(x)
        share = special.expit(x[2:])
        chain = np.concatenate([[1.0, theta[1]], (high - low) * share * (1 - share)])
        return value, gradient * chain

    share = np.clip((start[2:] - low) / (high - low), 1e-12, 1 - 1e-12)
    x0 = np.concatenate([[start[0], math.log(max(start[1], 1e-12))], special.logit(share)])
    result = optimize.minimize(objective, x0, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 3000})
    return parameters(result.x)


def _bounded_route(problem: _Problem, start: np.ndarray) -> np.ndarray:
    """L-BFGS-B on (mu, tau^2, delta) within the bounds (reaches a bound exactly)."""
    lower, upper = _limits(problem)
    bounds = [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b) for a, b in zip(lower, upper)]
    result = optimize.minimize(problem, np.clip(start, lower, upper), jac=True, method="L-BFGS-B", bounds=bounds,
                               options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000, "maxcor": 20})
    return np.clip(result.x, lower, upper)


def _polish(problem: _Problem, theta: np.ndarray) -> np.ndarray:
    """Newton steps with backtracking on the parameters inside their bounds."""
    lower, upper = _limits(problem)
    value = problem(theta)[0]
    for _ in range(50):
        interior = _interior(problem, theta)
        try:
            hessian = _hessian(problem, theta)[np.ix_(interior, interior)]
            step = np.linalg.solve(hessian, problem(theta)[1][interior])
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        for shrink in 0.5 ** np.arange(12):
            candidate = theta.copy()
            candidate[interior] -= shrink * step
            if np.all(candidate >= lower) and np.all(candidate <= upper):
                new_value = problem(candidate)[0]
                if new_value <= value:
                    break
        else:
            break
        improvement = value - new_value
        theta, value = candidate, new_value
        if np.max(np.abs(shrink * step)) < 1e-13 or improvement < 1e-15:
            break
    return theta


def _stationary(problem: _Problem, theta: np.ndarray) -> bool:
    """Karush-Kuhn-Tucker conditions: no ascent direction within the bounds (Newton decrement of
    the parameters inside their bounds below 1e-9; at a bound the gradient points outwards)."""
    _, gradient = problem(theta)
    interior = _interior(problem, theta)
    at_lower = ~interior & (theta <= _limits(problem)[0] + 1e-8)
    if np.any(gradient[at_lower] < -1e-6) or np.any(gradient[~interior & ~at_lower] > 1e-6):
        return False
    try:
        hessian = _hessian(problem, theta)[np.ix_(interior, interior)]
        factor = np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return False
    solved = np.linalg.solve(factor, gradient[interior])
    return bool(solved @ solved < 1e-9)


def _pinned_route(problem: _Problem, start: np.ndarray) -> np.ndarray:
    """Where a weight 1/vi dominates (:func:`~alliance_meta.engines.heterogeneity.dominant_weight`): delta by
    metafor's BFGS on delta mapped to its bounds (as :func:`_metafor_route`) with mu at the heaviest study's effect
    and tau^2 = 0. There the likelihood peaks with height -log(vi)/2 of that study (345 at vi = 1e-300) in a width
    sqrt(vi) about it, which the other routes step over: they end at tau^2 = 2e-33 with a stale delta (LRT 0 where
    it is 0.95, tests/reference/bias_dominant.R)."""
    low, high = problem.delta_min, problem.delta_max
    pinned = np.array([problem.yi[dominant_weight(1.0 / problem.vi)], 0.0])

    def objective(x):
        share = special.expit(x)
        value, gradient = problem(np.concatenate([pinned, low + (high - low) * share]))
        if not np.isfinite(value):
            return 1e300, np.zeros_like(x)
        return value, gradient[2:] * (high - low) * share * (1 - share)

    share = np.clip((start[2:] - low) / (high - low), 1e-12, 1 - 1e-12)
    result = optimize.minimize(objective, special.logit(share), jac=True, method="BFGS",
                               options={"gtol": 1e-9, "maxiter": 3000})
    return np.concatenate([pinned, low + (high - low) * special.expit(result.x)])


def _maximise(problem: _Problem, ml) -> np.ndarray:
    """The highest optimum from metafor's start (ML estimate, tau^2 + 0.001, delta.init) by
    metafor's route and by the bounded route, each polished; where one weight 1/vi dominates
    (:func:`~alliance_meta.engines.heterogeneity.dominant_weight`), also by :func:`_pinned_route` (elsewhere, with
    weights spread as they may be, the same two routes as ever, to the bit)."""
    start = np.concatenate([[ml.estimate, ml.tau2 + 0.001], problem.delta_init])
    candidates = []
    routes = (_metafor_route, _bounded_route) + ((_pinned_route,) if dominant_weight(1.0 / problem.vi) >= 0 else ())
    for route in routes:
        try:
            theta = _bounded_route(problem, route(problem, start)) if route is _metafor_route else route(problem, start)
        except (ValueError, FloatingPointError, OverflowError):
            continue
        theta = _polish(problem, theta)
        candidates.append((problem(theta)[0], theta))
    finite = [c for c in candidates if np.isfinite(c[0])]
    if not finite:
        raise ValueError(f"the {problem.type} selection model could not be fitted (no finite likelihood)")
    return min(finite, key=lambda c: c[0])[1]


def fit_selection_model(yi, vi, type: str = "stepfun", steps=DEFAULT_STEPS, alternative: str = "greater",
                        level: float = 95) -> SelectionModel:
    """Fit one selection model of metafor's ``selmodel(rma(yi, vi), type, alternative, steps)``
    by maximum likelihood (``steps`` only for ``stepfun``: p-value cut-points, 1 added).

    Raises ValueError, as metafor, when k is too small for the parameters or (stepfun) an
    interval of p-values whose delta is estimated has no studies; also when the first interval
    (delta_1 = 1, fixed) has none, which metafor fits: the likelihood then grows without bound as the
    other deltas grow together, so its estimate is wherever the optimiser meets delta's bound of 100.
    """
    if type not in TYPES:
        raise ValueError(f"unknown selection model type {type!r}{did_you_mean(type, TYPES)}; expected one of "
                         f"{', '.join(TYPES)}")
    if alternative not in ALTERNATIVES:
        raise ValueError(f"unknown alternative {alternative!r}; expected one of {', '.join(ALTERNATIVES)}")
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    if yi.shape != vi.shape or yi.ndim != 1:
        raise ValueError("yi and vi must be one-dimensional arrays of the same length")
    if np.any(vi <= 0) or not np.all(np.isfinite(yi)) or not np.all(np.isfinite(vi)):
        raise ValueError("a selection model needs finite effect sizes and positive sampling variances")
    grid = None
    if type == "stepfun":
        grid = np.unique(np.asarray(steps, float))
        if grid.size == 0 or grid[0] <= 0 or grid[-1] > 1:
            raise ValueError(f"step-function cut-points must lie in (0, 1]; got {list(steps)}")
        if grid[-1] != 1.0:
            grid = np.append(grid, 1.0)
    problem = _Problem(yi, vi, type, alternative, grid)
    parameters = 2 + problem.delta_init.size
    if yi.size < parameters:
        raise ValueError(f"k = {yi.size} is too small to fit the {type} selection model ({parameters} parameters)")
    counts = np.empty(0, int)
    if type == "stepfun":
        counts = np.bincount(problem.groups, minlength=grid.size)
        if np.any(counts == 0):
            edges = np.concatenate([[0.0], grid])
            empty = ", ".join(f"({edges[j]:g}, {edges[j + 1]:g}]" for j in np.flatnonzero(counts == 0))
            plural = "s" if np.sum(counts == 0) > 1 else ""
            raise ValueError(f"the p-value interval{plural} {empty} ha{'ve' if plural else 's'} no studies "
                             f"(studies per interval: {', '.join(map(str, counts))})")
    ml = pooling.fit(yi, vi, "ML", control=TIGHT_CONTROL, tau2_interval=False)
    theta = _maximise(problem, ml)
    if 0 < theta[1] < 1e-12:  # metafor treats tau^2 < 10 eps as 0
        at_zero = theta.copy()
        at_zero[1] = 0.0
        if problem(at_zero)[0] <= problem(theta)[0] + 1e-12:
            theta = at_zero
    value = problem(theta)[0]
    notes = []
    if yi.size <= parameters + 1:  # one degree of freedom or none: a nearly flat likelihood
        notes.append(f"k = {yi.size} studies for {parameters} parameters: weakly identified, the estimates rest "
                     "on very few p-values")
    standard_errors = np.full(theta.size, np.nan)
    estimated = _estimated_in_hessian(theta, vi, type)
    hessian = _hessian(problem, theta)[np.ix_(estimated, estimated)]
    try:
        if not np.all(np.isfinite(hessian)):
            raise np.linalg.LinAlgError
        covariance = _cholesky_inverse(hessian)
        standard_errors[estimated] = np.sqrt(np.diag(covariance))
    except np.linalg.LinAlgError:
        notes.append("Hessian not invertible: standard errors not computed")
    converged = _stationary(problem, theta)
    if not converged:
        notes.append("not at a maximum (no stationary point with a positive-definite Hessian)")
    delta = problem.full_delta(theta[2:])
    free = theta[2:]
    near = (free <= problem.delta_min + np.finfo(float).eps ** 0.25) | \
           (free >= problem.delta_max - 100 * np.finfo(float).eps ** 0.25)
    if near.any():
        notes.append("delta at its bound (" + ", ".join(f"delta{j + 1 + (type == 'stepfun')}" for j in
                                                       np.flatnonzero(near)) + ")")
    if theta[1] <= 1e-10:
        notes.append("tau2 = 0")
    elif not estimated[1]:
        notes.append(f"tau2 = {theta[1]:.3g}, below metafor's tau2tol: held at its estimate for the standard errors")
    unadjusted = _unadjusted_log_likelihood(yi, vi, ml)
    log_likelihood = -float(value)
    lrt = max(0.0, 2 * (log_likelihood - unadjusted))
    df = free.size
    se_delta = standard_errors[2:]
    if type == "stepfun":
        se_delta = np.concatenate([[np.nan], se_delta])
    return SelectionModel(type, alternative, tuple(grid.tolist()) if grid is not None else (), float(theta[0]),
                          float(standard_errors[0]), float(theta[1]), float(standard_errors[1]), delta, se_delta,
                          log_likelihood, unadjusted, lrt, df, float(dist.chi2.sf(lrt, df)), counts, converged,
                          level, "; ".join(notes))


def _unadjusted_log_likelihood(yi: np.ndarray, vi: np.ndarray, ml) -> float:
    """The log likelihood of the random-effects model ``ml`` fitted by ML, with which the likelihood-ratio test
    compares: -1/2 sum (log(2 pi (v_i + tau^2)) + (y_i - mu)^2 / (v_i + tau^2)). Where a weight 1/(v_i + tau^2)
    dominates (:func:`~alliance_meta.engines.heterogeneity.dominant_weight`: vi = 1e-300 beside 0.1 at tau^2 = 0)
    the squares sum to Q(tau^2) about the weighted mean mu, taken without cancellation
    (:func:`~alliance_meta.engines.heterogeneity.weighted_q`): the rounding error of mu, squared over vi = 1e-300,
    would otherwise be -1e266 (metafor's LRT 1.9e266, p = 0)."""
    total = vi + ml.tau2
    if dominant_weight(1.0 / total) >= 0:
        return -0.5 * float(np.sum(np.log(2 * np.pi * total))) - 0.5 * weighted_q(yi, 1.0 / total)
    return -0.5 * float(np.sum(np.log(2 * np.pi * total) + (yi - ml.estimate) ** 2 / total))


#: metafor's ``selmodel`` control ``deltatol``: a step-function weight below it is held fixed in the Hessian.
DELTA_TOLERANCE = 1e-4


def _estimated_in_hessian(theta: np.ndarray, vi: np.ndarray, type: str) -> np.ndarray:
    """Which parameters the Hessian for the standard errors covers, as in metafor's ``selmodel.rma.uni``: tau^2
    is held at its estimate (no standard error) below ``tau2tol = min(vi/10, 1e-4)``, where a tau^2 of 0 on its
    boundary would leave the Hessian singular; a step-function weight below ``deltatol`` (1e-4) likewise."""
    estimated = np.ones(theta.size, bool)
    estimated[1] = not theta[1] < min(float(np.min(vi)) / 10, 1e-4)
    if type == "stepfun":
        estimated[2:] = ~(theta[2:] < DELTA_TOLERANCE)
    return estimated


def _cholesky_inverse(hessian: np.ndarray) -> np.ndarray:
    """Inverse of a positive-definite Hessian through its Cholesky factor (metafor's chol2inv(chol(H)));
    LinAlgError when it is not positive definite."""
    factor = np.linalg.cholesky(hessian)
    inverse_factor = np.linalg.inv(factor)
    return inverse_factor.T @ inverse_factor


def fit_selection_models(yi, vi, types=TYPES, steps=DEFAULT_STEPS, alternative: str = "greater",
                         level: float = 95) -> dict[str, SelectionModel | str]:
    """Every selection model in ``types``: the fit, or the reason it could not be fitted."""
    fits: dict[str, SelectionModel | str] = {}
    for type_ in types:
        try:
            fits[type_] = fit_selection_model(yi, vi, type_, steps, alternative, level)
        except (ValueError, np.linalg.LinAlgError) as error:
            fits[type_] = f"not computed: {error}"
    return fits


def selection_models_table(yi, vi, types=TYPES, steps=DEFAULT_STEPS, level: float = 95, metric: str | None = None,
                           alternative: str = "greater") -> pd.DataFrame:
    """``selection_models.csv``: one row per selection model type, with back-transformed columns
    for ``metric``; a model that cannot be fitted gives NaN and the reason in ``note``."""
    rows = []
    for type_, fit in fit_selection_models(yi, vi, types, steps, alternative, level).items():
        if isinstance(fit, SelectionModel):
            rows.append(fit.as_row())
        else:
            rows.append({"type": type_, "steps": _join(_full_steps(steps)) if type_ == "stepfun" else "",
                         "converged": False, "note": fit})
    frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    for name in TABLE_COLUMNS:
        if name not in ("type", "steps", "delta", "note", "converged"):
            frame[name] = frame[name].astype(float)
    frame["delta"] = frame["delta"].astype(object).where(frame["delta"].notna(), "")
    frame["converged"] = frame["converged"].astype(bool)
    return with_back_transform(frame, metric)


def _full_steps(steps) -> np.ndarray:
    grid = np.unique(np.asarray(steps, float))
    return grid if grid.size and grid[-1] == 1.0 else np.append(grid, 1.0)


@dataclass(frozen=True, repr=False, eq=False)
class SelectionModelsResult:
    """``selection_models.csv`` of a fit, the studies the models saw and the unadjusted fit of them."""

    table: pd.DataFrame
    studies: pd.DataFrame
    unadjusted: pooling.PoolingResult
    metric: str | None
    level: float
    alternative: str
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @keywords_checked
    def estimates_plot(self, note: str | None = None):
        """The adjusted estimates beside the unadjusted one (:mod:`alliance_meta.plots.selection`), closed in pyplot
        with ``note`` beneath (:func:`~alliance_meta.plots.provenance.returned_figure`; default: that the rows are
        simulated, when they are), as the funnel of :func:`~alliance_meta.analyses.bias.publication_bias`."""
        from alliance_meta.plots.provenance import returned_figure
        from alliance_meta.plots.selection import selection_estimates_plot
        from alliance_meta.plots.style import symbol

        if self.metric is None:  # else KeyError: None from the plot's scales
            raise ValueError("estimates_plot needs the analysis metric for its axis and labels: "
                             "am.fit(..., metric='z') (or 'smd', 'log_or')")
        fit, k = self.unadjusted, len(self.studies)
        unit = plural(k, "study composite") if self.notes else plural(k, "study", "studies")
        unadjusted = {"estimate": fit.estimate, "ci_lower": fit.ci_lower, "ci_upper": fit.ci_upper,
                      "label": f"Unadjusted, {fit.method}\n({symbol('k', bold=True)} = {k} {unit})"}  # a bold row
        return returned_figure(selection_estimates_plot(self.table, unadjusted, self.metric, self.level),
                               self._figure_note(note))

    @keywords_checked
    def weight_functions_plot(self, note: str | None = None):
        """The fitted weight functions against the one-sided p-value; closed and noted as :meth:`estimates_plot`."""
        from alliance_meta.plots.provenance import returned_figure
        from alliance_meta.plots.selection import weight_functions_plot

        return returned_figure(weight_functions_plot(self.table, self.studies["yi"].to_numpy(float),
                                                     self.studies["vi"].to_numpy(float), self.alternative),
                               self._figure_note(note))

    def _figure_note(self, note: str | None) -> str | None:
        from alliance_meta.plots.provenance import figure_note

        return figure_note(self.studies) if note is None else note

    def __repr__(self) -> str:
        return f"<SelectionModelsResult: {len(self.table)} models on k = {len(self.studies)}>"


SIDES = {"one": "greater", "greater": "greater", "less": "less", "two": "two.sided", "two.sided": "two.sided"}


@keywords_checked
def selection_models(fit, *, types=TYPES, steps=DEFAULT_STEPS, sided: str = "one") -> SelectionModelsResult:
    """Every selection model of metafor's ``selmodel`` fitted to the independent studies of ``fit``
    (one composite per study for a three-level fit), with ``fit``'s level and metric; Wald z tests and CIs
    whatever ``fit``'s test, as metafor's ``selmodel.rma.uni``, which refits the model by ML with its test but
    sets ``res$test <- "z"`` for the selection model's (so ``pooling.tests: [knha]`` leaves them at z; the
    unadjusted estimate beside them has a z CI too, like with like).

    ``types``: a type or a list of :data:`TYPES`. ``steps``: the ``stepfun`` cut-points in (0, 1].
    ``sided``: ``"one"`` (= metafor's ``alternative = "greater"``), ``"two"`` (``"two.sided"``), or
    ``"less"`` (one-sided p-values for negative effects).
    """
    from alliance_meta.models.fits import MultilevelFit, require_fit

    require_fit(fit, "am.selection_models")
    alternative = _alternative(sided)
    types = _types(types)
    steps = check_steps(steps)
    studies = independent_studies(fit)
    yi, vi = studies["yi"].to_numpy(float), studies["vi"].to_numpy(float)
    table = selection_models_table(yi, vi, types, steps, fit.level, fit.metric, alternative)
    notes: tuple[str, ...] = ()
    if isinstance(fit, MultilevelFit):
        notes = (f"multilevel: selection models fitted to {len(studies)} study composites of {len(fit.data)} rows",)
        table["note"] = [f"{note}; study composites (dependence: multilevel)".lstrip("; ") for note in table["note"]]
    unadjusted = pooling.fit(yi, vi, fit.method, level=fit.level, tau2_interval=False,
                             weights=None if isinstance(fit, MultilevelFit) else fit.weights, control=fit.control)
    table["note"] = [_poorly_identified(note, estimate, unadjusted.estimate, yi, se)
                     for note, estimate, se in zip(table["note"], table["estimate"], table["se"])]
    if alternative == "greater" and no_positive_effect(yi):
        table["note"] = [f"{note}; {NO_POSITIVE_EFFECT}".lstrip("; ") for note in table["note"]]
    return SelectionModelsResult(table, studies, unadjusted, fit.metric, fit.level, alternative, notes)


def _poorly_identified(note: str, estimate: float, unadjusted: float, yi: np.ndarray, se: float = math.nan) -> str:
    """``note`` with a warning when the adjusted estimate moved further from the unadjusted one than the
    observed effects spread (max - min), or its standard error ``se`` is larger than that spread: the likelihood
    is then nearly flat in the weight function's parameters (e.g. beta or power selection on dat.bakdash2021:
    Fisher z -7.7 beside 0.27; the demo's 16 outcome studies with measure "other": beta at z = -0.39 with SE 1.15
    beside a spread of 0.66, a 95% CI from r = -.99 to .95, as metafor), and the estimate is not a bias-corrected
    effect: within one standard error it could lie anywhere among the observed effects and beyond. Every study
    with the same effect (a spread of 0) leaves nothing to adjust: any fit is flagged (eight studies of r = .25,
    n = 80: beta at r = .76, power at r = -.20, as metafor). metafor reports such fits as they are; the warning is
    ours."""
    spread = float(np.max(yi) - np.min(yi)) if len(yi) else math.nan
    if not (math.isfinite(estimate) and math.isfinite(spread)):
        return note
    if spread == 0:
        warning = (f"{POORLY_IDENTIFIED}: every study has the same effect size, so the weight function rests on no "
                   "spread of effects; not a bias-corrected effect")
    elif abs(estimate - unadjusted) > spread:
        warning = (f"{POORLY_IDENTIFIED}: the estimate moved {abs(estimate - unadjusted):.3g} from the unadjusted "
                   f"{unadjusted:.3g}, more than the observed effects spread ({spread:.3g}); not a bias-corrected "
                   "effect")
    elif se > spread:
        warning = (f"{POORLY_IDENTIFIED}: its standard error {se:.3g} is larger than the observed effects spread "
                   f"({spread:.3g}); not a bias-corrected effect")
    else:
        return note
    return f"{note}; {warning}" if note else warning


def _alternative(sided) -> str:
    """metafor's ``alternative`` of ``sided`` (``one``/``two`` or metafor's own spellings)."""
    if not isinstance(sided, str) or sided not in SIDES:
        raise ValueError(f"unknown sided {sided!r}{did_you_mean(sided, SIDES)}; expected one of {', '.join(SIDES)}")
    return SIDES[sided]


def _types(types) -> tuple[str, ...]:
    """The selection model types asked for: one name or a list of names of :data:`TYPES`."""
    if not isinstance(types, (str, list, tuple)):
        raise TypeError(f"selection model types: a name or a list of {', '.join(TYPES)}, not {type(types).__name__}")
    chosen = (types,) if isinstance(types, str) else tuple(types)
    unknown = [t for t in chosen if t not in TYPES]
    if unknown or not chosen:
        raise ValueError(f"unknown selection model type{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(t) + did_you_mean(t, TYPES) for t in unknown) or '(none given)'}; "
                         f"expected one or more of {', '.join(TYPES)}")
    return chosen


def check_steps(steps) -> tuple[float, ...]:
    """The step-function cut-points, checked as metafor's ``selmodel`` checks ``steps``."""
    try:
        values = np.asarray(steps, float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"'steps' must be numbers in (0, 1]; got {steps!r}") from None
    if values.size == 0:
        raise ValueError("'steps' is empty: give at least one p-value cut-point in (0, 1]")
    if np.isnan(values).any():
        raise ValueError("No missing values allowed in 'steps' argument.")
    if np.any((values < 0) | (values > 1)):
        raise ValueError(f"Value(s) specified for 'steps' argument must be between 0 and 1 (got {values.tolist()}).")
    if values.min() == 0:
        raise ValueError("Lowest 'steps' value must be > 0.")
    if values.min() == 1:  # metafor's optimiser fails; here the model would select nothing without a word
        raise ValueError(f"'steps' {values.tolist()}: no p-value cut-point below 1, so the step function has one "
                         "interval and models no selection; give cut-points such as (0.025, 0.10, 0.50)")
    return tuple(values.tolist())
