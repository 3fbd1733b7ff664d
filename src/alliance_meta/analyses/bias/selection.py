"""Step-function selection model of Vevea & Hedges (1995), as metafor's ``selmodel(type = "stepfun")``.

Vevea, J. L. & Hedges, L. V. (1995). A general linear model for estimating effect
size in the presence of publication bias. *Psychometrika* 60, 419-435.

Model: y_i ~ N(mu, v_i + tau^2), observed with relative probability delta_j when
its one-sided p-value p_i = 1 - Phi(y_i / sqrt(v_i)) lies in (s_{j-1}, s_j]
(steps 0 = s_0 < s_1 < ... < s_J = 1; delta_1 = 1). Log likelihood (Vevea &
Hedges 1995, eq. 5; metafor's ``.selmodel.ll.stepfun`` with ``alternative =
"greater"``):

    sum_i [ log delta_{j(i)} + log phi(y_i; mu, v_i + tau^2) - log A_i ],
    A_i = sum_j delta_j P(s_{j-1} < p_i <= s_j | mu, tau^2).

Maximised by bounded quasi-Newton with an analytic gradient, then polished with
Newton steps (finite-difference Hessian of the gradient), so the estimate is the
maximum to ~1e-10 rather than where an optimiser's default tolerance stops.
Standard errors from the inverse observed information on the (mu, tau^2, delta)
scale, as metafor (``htransf = FALSE``). The likelihood-ratio test compares
with the unadjusted model fitted by ML (J - 1 df).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from alliance_meta.models import univariate as pooling
from alliance_meta.analyses.bias.results import BiasTest
from alliance_meta.engines.heterogeneity import TIGHT_CONTROL

DELTA_MAX = 100.0  # metafor's delta.max for step functions


@dataclass(frozen=True)
class SelectionModel:
    """Maximum-likelihood fit of the step-function selection model."""

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
    level: float = 95.0
    note: str = ""

    @property
    def ci(self) -> tuple[float, float]:
        critical = stats.norm.isf((1 - self.level / 100) / 2)
        return self.estimate - critical * self.se, self.estimate + critical * self.se

    @property
    def p(self) -> float:
        return float(2 * stats.norm.sf(abs(self.estimate / self.se)))

    def as_test(self) -> BiasTest:
        lower, upper = self.ci
        deltas = ", ".join(f"{d:.4g}" for d in self.delta[1:])
        return BiasTest(test="selection_model", statistic=self.lrt, p=self.lrt_p, estimate=self.estimate, se=self.se, ci_lower=lower,
                        ci_upper=upper, df=self.lrt_df,
                        note=f"step function at one-sided p = {', '.join(map(str, self.steps[:-1]))}; "
                             f"statistic = LRT; delta = {deltas}; tau2 = {self.tau2:.6g}; {self.note}".rstrip("; "))


def _cut_points(vi: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Effect sizes at the step p-values, one column per boundary (+inf, ..., -inf)."""
    inner = np.sqrt(vi)[:, None] * stats.norm.isf(steps[:-1])[None, :]
    infinite = np.full((vi.size, 1), np.inf)
    return np.hstack([infinite, inner, -infinite])


def _negative_log_likelihood(theta, yi, vi, cuts, groups, free):
    """Negative log likelihood and its gradient in (mu, tau^2, delta_2..delta_J)."""
    mu, tau2 = theta[0], max(theta[1], 0.0)
    delta = np.concatenate([[1.0], theta[2:]])
    delta = np.where(free, delta, 1.0)
    total = vi + tau2
    sd = np.sqrt(total)
    u = (cuts - mu) / sd[:, None]
    cdf = stats.norm.cdf(u)
    density = np.where(np.isfinite(u), stats.norm.pdf(u), 0.0)
    u_finite = np.where(np.isfinite(u), u, 0.0)
    interval = cdf[:, :-1] - cdf[:, 1:]
    a = interval @ delta
    residual = yi - mu
    value = (np.sum(np.log(delta[groups])) - 0.5 * np.sum(np.log(2 * np.pi * total) + residual**2 / total)
             - np.sum(np.log(a)))
    d_interval_mu = (-density[:, :-1] + density[:, 1:]) / sd[:, None]
    d_interval_tau2 = (-density[:, :-1] * u_finite[:, :-1] + density[:, 1:] * u_finite[:, 1:]) / (2 * total[:, None])
    gradient = np.empty_like(theta)
    gradient[0] = np.sum(residual / total) - np.sum((d_interval_mu @ delta) / a)
    gradient[1] = np.sum(-0.5 / total + 0.5 * residual**2 / total**2) - np.sum((d_interval_tau2 @ delta) / a)
    counts = np.bincount(groups, minlength=delta.size)
    gradient_delta = counts / delta - np.sum(interval / a[:, None], axis=0)
    gradient[2:] = np.where(free[1:], gradient_delta[1:], 0.0)
    return -value, -gradient


def _hessian(function, theta, relative_step=1e-5):
    """Central-difference Hessian of the negative log likelihood from its analytic gradient."""
    size = theta.size
    hessian = np.empty((size, size))
    for j in range(size):
        step = relative_step * max(abs(theta[j]), 1e-3)
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        hessian[:, j] = (function(up)[1] - function(down)[1]) / (2 * step)
    return (hessian + hessian.T) / 2


def selection_model(yi, vi, steps=(0.025, 1.0), level: float = 95) -> SelectionModel:
    """Fit the step-function selection model (one-sided p-value steps) by maximum likelihood."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    steps = np.unique(np.asarray(steps, float))
    if steps[-1] != 1.0:
        steps = np.append(steps, 1.0)
    p_values = stats.norm.sf(yi / np.sqrt(vi))
    groups = np.searchsorted(steps, p_values, side="left")  # first step with p <= step
    counts = np.bincount(groups, minlength=steps.size)
    if np.any(counts == 0):
        raise ValueError(f"a p-value interval of the selection model has no studies: {counts.tolist()}")
    cuts = _cut_points(vi, steps)
    free = np.ones(steps.size, bool)
    ml = pooling.fit(yi, vi, "ML", control=TIGHT_CONTROL, tau2_interval=False)
    objective = lambda theta: _negative_log_likelihood(theta, yi, vi, cuts, groups, free)  # noqa: E731
    start = np.concatenate([[ml.estimate, ml.tau2 + 0.001], np.ones(steps.size - 1)])
    bounds = [(None, None), (0.0, None)] + [(1e-10, DELTA_MAX)] * (steps.size - 1)
    result = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                               options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
    theta = result.x
    interior = np.array([True, theta[1] > 1e-8] + [1e-8 < d < DELTA_MAX - 1e-8 for d in theta[2:]])
    for _ in range(20):  # Newton polish on the interior parameters
        hessian = _hessian(objective, theta)[np.ix_(interior, interior)]
        step = np.linalg.solve(hessian, objective(theta)[1][interior])
        candidate = theta.copy()
        candidate[interior] -= step
        if objective(candidate)[0] > objective(theta)[0] + 1e-12 or candidate[1] < 0:
            break
        theta = candidate
        if np.max(np.abs(step)) < 1e-12:
            break
    covariance = np.full((theta.size, theta.size), np.nan)
    hessian = _hessian(objective, theta)
    covariance[np.ix_(interior, interior)] = np.linalg.inv(hessian[np.ix_(interior, interior)])
    standard_errors = np.sqrt(np.diag(covariance))
    log_likelihood = -objective(theta)[0]
    residual = yi - ml.estimate
    total = vi + ml.tau2
    log_likelihood_unadjusted = -0.5 * float(np.sum(np.log(2 * np.pi * total) + residual**2 / total))
    lrt = max(0.0, 2 * (log_likelihood - log_likelihood_unadjusted))
    df = steps.size - 1
    note = "" if interior[1:].all() else "a parameter is at its bound (tau2 = 0 or delta at 0 or 100)"
    return SelectionModel(
        tuple(steps.tolist()), float(theta[0]), float(standard_errors[0]), float(theta[1]),
        float(standard_errors[1]), np.concatenate([[1.0], theta[2:]]),
        np.concatenate([[np.nan], standard_errors[2:]]), float(log_likelihood),
        log_likelihood_unadjusted, lrt, df, float(stats.chi2.sf(lrt, df)), counts, level, note)
