"""Pooling 2x2 tables without a continuity correction: Mantel-Haenszel, Peto and a binomial GLMM.

A table i has ``ai`` favourable and ``bi`` unfavourable outcomes under the stronger alliance
and ``ci``, ``di`` under the weaker one (the codebook's ``n11``, ``n12``, ``n21``, ``n22``);
every estimate is a log odds ratio log(ai di / (bi ci)), positive when the stronger alliance
goes with the favourable outcome.

- ``MH``: the Mantel & Haenszel (1959) common odds ratio R/S with R = sum ai di / Ni,
  S = sum bi ci / Ni, and the Robins, Breslow & Greenland (1986) variance of its log
  (eq. 12 there); the Cochran-Mantel-Haenszel test (with continuity correction, as metafor's
  ``correct = TRUE``), the Breslow-Day test and Tarone's (1985) correction of it. As metafor's
  ``rma.mh(measure = "OR")``.
- ``Peto``: the one-step estimate sum(ai - Ei) / sum Vi with Ei = (ai + ci) n1i / Ni and
  Vi = (ai + ci)(bi + di) n1i n2i / (Ni^2 (Ni - 1)) (Yusuf et al. 1985); variance 1 / sum Vi.
  As metafor's ``rma.peto``.
- ``GLMM``: the unconditional logistic model with fixed study effects and a random treatment
  effect (Turner et al. 2000; Stijnen, Hamza & Ozdemir 2010, model "UM.FS"):
  logit p_i1 = alpha_i + beta + u_i/2, logit p_i2 = alpha_i - u_i/2, u_i ~ N(0, tau^2),
  fitted by maximum likelihood with the integral over u_i by adaptive Gauss-Hermite
  quadrature on 7 nodes centred at the conditional mode and scaled by the curvature there
  (Liu & Pierce 1994). This is metafor's ``rma.glmm(measure = "OR", model = "UM.FS")``,
  which calls ``lme4::glmer(..., nAGQ = 7)`` (``nagq = 1`` is the Laplace approximation);
  the standard error comes from the observed information of (tau, alpha, beta), as lme4's
  ``vcov`` does from its finite-difference Hessian. Heterogeneity: the Wald and the
  likelihood-ratio tests of the saturated fixed-effects model against the common-effect
  one (k - 1 df), I^2 from tau^2 and the typical within-study variance.

Zero cells: no method adds 1/2 to a cell. Double-zero tables (no favourable or no
unfavourable outcome in either row) carry no information on the odds ratio: they add
nothing to MH and Peto and the GLMM drops them, as metafor's ``drop00 = TRUE``; here they
are left out of every method and of k, and the note says how many. Only the Q statistic
of MH is computed (as in metafor) from the usual log odds ratios with 1/2 added to the
cells of tables with a zero cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from alliance_meta.engines.heterogeneity import i2_h2, level_alpha, typical_sampling_variance
from alliance_meta.models.univariate import CONTRACT_COLUMNS, EXTRA_COLUMNS, PoolingResult
from alliance_meta.wording import apa_integer, counted

METHODS = ("MH", "Peto", "GLMM")
SEPARATION = 30.0
"""|log OR| beyond which the GLMM estimate is taken as diverging (an odds ratio above 10^13)."""
COUNT_COLUMNS = ("n11", "n12", "n21", "n22")
"""The codebook's 2x2 cells: rows stronger / weaker alliance, columns favourable / unfavourable."""


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tables:
    """2x2 tables as float arrays, double-zero tables already removed."""

    ai: np.ndarray
    bi: np.ndarray
    ci: np.ndarray
    di: np.ndarray
    double_zero: int = 0  # tables removed because both rows had no favourable (or no unfavourable) outcome

    @property
    def k(self) -> int:
        return int(self.ai.size)

    @property
    def n1(self) -> np.ndarray:
        return self.ai + self.bi

    @property
    def n2(self) -> np.ndarray:
        return self.ci + self.di

    @property
    def total(self) -> np.ndarray:
        return self.ai + self.bi + self.ci + self.di


def tables(ai, bi, ci, di) -> Tables:
    """Validated tables: equal-length arrays of non-negative whole numbers, both rows non-empty.

    Double-zero tables ((ai = ci = 0) or (bi = di = 0)) are removed and counted.
    """
    cells = [np.asarray(c, dtype=float).reshape(-1) for c in (ai, bi, ci, di)]
    if len({c.size for c in cells}) != 1:
        raise ValueError("ai, bi, ci and di must have the same length")
    stacked = np.vstack(cells)
    if not np.all(np.isfinite(stacked)):
        raise ValueError("2x2 counts must all be given (no missing or infinite cells)")
    if np.any(stacked < 0) or np.any(stacked != np.round(stacked)):
        raise ValueError("2x2 counts must be non-negative whole numbers")
    a, b, c, d = cells
    if np.any(a + b == 0) or np.any(c + d == 0):
        raise ValueError("every row of a 2x2 table needs at least one case")
    double = double_zero(a, b, c, d)
    keep = ~double
    if not keep.any():
        raise ValueError("every table is a double-zero table: no information on the odds ratio")
    return Tables(a[keep], b[keep], c[keep], d[keep], int(double.sum()))


def double_zero(a, b, c, d):
    """Whether each table is double-zero (no event in either group, or no non-event in either): no information on
    the odds ratio, left out as metafor's rma.mh / rma.peto / rma.glmm leave it out."""
    return ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))


def log_odds_ratios(t: Tables) -> tuple[np.ndarray, np.ndarray]:
    """log OR and its variance with 1/2 added to every cell of tables with a zero cell.

    metafor's ``escalc(measure = "OR")`` defaults (``add = 1/2, to = "only0"``); used only
    for the MH Q statistic and the typical variance of the GLMM's I^2, as in metafor.
    """
    cells = np.column_stack([t.ai, t.bi, t.ci, t.di])
    cells = cells + 0.5 * (cells == 0).any(axis=1)[:, None]
    yi = np.log(cells[:, 0]) + np.log(cells[:, 3]) - np.log(cells[:, 1]) - np.log(cells[:, 2])
    return yi, (1.0 / cells).sum(axis=1)


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CountResult:
    """One pooled log odds ratio from 2x2 tables, with the method's own tests.

    ``tests`` holds extra statistics by name: for MH ``cmh``, ``cmh_p``, ``breslow_day``,
    ``breslow_day_p``, ``tarone``, ``tarone_p`` (df ``k_pos - 1``); for the GLMM ``q_lrt``,
    ``q_lrt_p`` and ``loglik``.
    """

    method: str
    k: int
    estimate: float
    se: float
    statistic: float
    p: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    double_zero: int = 0
    tests: dict = field(default_factory=dict)
    converged: bool = True
    iterations: int = 0
    note: str = ""
    level: float = 95.0

    def pooling_result(self, metric: str | None = "log_or") -> PoolingResult:
        """The result as a :class:`PoolingResult` (``pooled.csv`` layout, test ``z``)."""
        nan = math.nan
        return PoolingResult(
            method=self.method, test="z", k=self.k, estimate=self.estimate, se=self.se, statistic=self.statistic,
            p=self.p, ci_lower=self.ci_lower, ci_upper=self.ci_upper, pi_lower=self.pi_lower, pi_upper=self.pi_upper,
            tau2=self.tau2, tau2_ci_lower=nan, tau2_ci_upper=nan, i2=self.i2, i2_ci_lower=nan, i2_ci_upper=nan,
            h2=self.h2, h2_ci_lower=nan, h2_ci_upper=nan, q=self.q, q_df=self.q_df, q_p=self.q_p,
            converged=self.converged, iterations=self.iterations, note=self.note, metric=metric, level=self.level)

    def as_row(self, metric: str | None = "log_or") -> dict:
        return self.pooling_result(metric).as_row()

    def to_frame(self, metric: str | None = "log_or") -> pd.DataFrame:
        return pd.DataFrame([self.as_row(metric)])


def _wald(estimate: float, se: float, level: float):
    critical = float(special.ndtri(1 - level_alpha(level) / 2))
    statistic = estimate / se if se > 0 else math.nan
    p = float(2 * special.ndtr(-abs(statistic)))
    return statistic, p, estimate - critical * se, estimate + critical * se, critical


def _heterogeneity(q: float, df: int) -> tuple[float, float, float]:
    """Q's p, I^2 = max(0, 100 (Q - df) / Q) and H^2 = Q / df (metafor's rma.mh / rma.peto)."""
    if df < 1:
        return 1.0, 0.0, 1.0
    return float(special.chdtrc(df, q)), max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0, q / df


def _double_zero_note(t: Tables) -> str:
    if not t.double_zero:
        return ""
    return (f"{counted(t.double_zero, 'double-zero table')} left out (no information on the odds ratio; "
            "metafor's drop00)")


def _separation(t: Tables) -> str:
    """Why the odds ratio of tables with a zero cell on one diagonal in every table is 0 or infinite."""
    zero = np.all(t.ai * t.di == 0)
    return (f"the pooled odds ratio is {'0' if zero else 'infinite'} (every table, its rows swapped where "
            "reverse = yes, has a zero cell in "
            f"{'n11 or n22' if zero else 'n12 or n21'}, e.g. no dropout in the "
            f"{'weaker' if zero else 'stronger'}-alliance row of any table)")


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


# --------------------------------------------------------------------------------------
# Mantel-Haenszel
# --------------------------------------------------------------------------------------

def mantel_haenszel(ai, bi, ci, di, level: float = 95, correct: bool = True) -> CountResult:
    """Mantel-Haenszel log odds ratio with the Robins-Breslow-Greenland variance (metafor ``rma.mh``).

    Robins, Breslow & Greenland (1986), *Biometrics* 42, 311-323, eq. 12:
    Var(log OR_MH) = sum P R / (2 R^2) + sum (P S + Q R) / (2 R S) + sum Q S / (2 S^2), with
    P = (a + d)/N, Q = (b + c)/N, R = a d / N, S = b c / N. The CMH test (``correct``: 1/2
    continuity correction; Mantel & Haenszel 1959) and the Breslow-Day test with Tarone's
    (1985) correction as in metafor, on the k_pos tables with a positive expected count.
    """
    t = tables(ai, bi, ci, di)
    a, b, c, d, n = t.ai, t.bi, t.ci, t.di, t.total
    big_p, big_q = (a + d) / n, (b + c) / n
    r, s = a * d / n, b * c / n
    R, S = r.sum(), s.sum()
    notes = [_double_zero_note(t)]
    if R == 0 or S == 0:
        estimate = se = math.nan
        notes.append("MH odds ratio undefined: " + _separation(t))
    else:
        estimate = math.log(R / S)
        se = math.sqrt(0.5 * ((big_p * r).sum() / R**2 + (big_p * s + big_q * r).sum() / (R * S)
                              + (big_q * s).sum() / S**2))
    statistic, p, lower, upper, _ = _wald(estimate, se, level)
    n1, n2 = t.n1, t.n2
    events, non_events = a + c, b + d
    cmh = ((abs(np.sum(a - n1 / n * events)) - (0.5 if correct else 0.0)) ** 2
           / np.sum((n1 / n) * (n2 / n) * (events * (non_events / (n - 1)))))
    tests = {"cmh": float(cmh), "cmh_p": float(special.chdtrc(1, cmh))}
    tests.update(_breslow_day(t, R / S if math.isfinite(estimate) else math.nan))
    yi, vi = log_odds_ratios(t)
    if t.k > 1 and not math.isfinite(estimate):  # as metafor: no Q, I^2 or H^2 around an undefined estimate
        q = q_p = i2 = h2 = math.nan
    else:
        q = max(0.0, float(np.sum((yi - estimate) ** 2 / vi))) if t.k > 1 else 0.0
        q_p, i2, h2 = _heterogeneity(q, t.k - 1)
    if math.isfinite(q) and (np.column_stack([a, b, c, d]) == 0).any():
        notes.append("Q from log odds ratios with 1/2 added to tables with a zero cell (as metafor)")
    return CountResult("MH", t.k, estimate, se, statistic, p, lower, upper, lower, upper, 0.0,
                       i2, h2, q, t.k - 1, q_p, t.double_zero, tests, note=_join(*notes), level=level)


def _breslow_day(t: Tables, odds_ratio: float) -> dict:
    """Breslow-Day test of a common OR and Tarone's corrected version (metafor ``rma.mh``).

    The expected a-cell under the MH odds ratio solves the quadratic of Breslow & Day (1980,
    eq. 4.30); tables with a zero margin or a non-positive expected count are skipped (k_pos).
    """
    nan = math.nan
    if not math.isfinite(odds_ratio):
        return {"breslow_day": nan, "breslow_day_p": nan, "tarone": nan, "tarone_p": nan, "k_pos": 0}
    a, n1, n = t.ai, t.n1, t.total
    n2 = t.n2
    events, non_events = t.ai + t.ci, t.bi + t.di
    if odds_ratio == 1:
        expected = n1 / n * events
    else:
        big_a = odds_ratio * (n1 + events) + (n2 - events)
        big_b = np.sqrt(big_a**2 - 4 * n1 * events * odds_ratio * (odds_ratio - 1))
        expected = (big_a - big_b) / (2 * (odds_ratio - 1))
    positive = (expected > 0) & (events > 0) & (non_events > 0)
    e11 = expected[positive]
    e12, e21 = n1[positive] - e11, events[positive] - e11
    e22 = e11 - n1[positive] - events[positive] + n[positive]
    variance = 1.0 / (1 / e11 + 1 / e12 + 1 / e21 + 1 / e22)
    deviation = a[positive] - e11
    bd = max(0.0, float(np.sum(deviation**2 / variance)))
    tarone = max(0.0, bd - float(np.sum(deviation)) ** 2 / float(np.sum(variance)))
    k_pos = int(positive.sum())
    df = k_pos - 1
    return {"breslow_day": bd, "breslow_day_p": float(special.chdtrc(df, bd)) if df > 0 else nan,
            "tarone": tarone, "tarone_p": float(special.chdtrc(df, tarone)) if df > 0 else nan,
            "k_pos": k_pos}


# --------------------------------------------------------------------------------------
# Peto
# --------------------------------------------------------------------------------------

def peto(ai, bi, ci, di, level: float = 95) -> CountResult:
    """Peto's one-step log odds ratio (Yusuf et al. 1985, *Prog Cardiovasc Dis* 27, 335-371).

    beta = sum(O - E) / sum V, Var = 1 / sum V (hypergeometric mean and variance of ai);
    Q = sum (O - E)^2 / V - (sum(O - E))^2 / sum V on k - 1 df. As metafor's ``rma.peto``.
    """
    t = tables(ai, bi, ci, di)
    n, n1, n2 = t.total, t.n1, t.n2
    events, non_events = t.ai + t.ci, t.bi + t.di
    expected = events * n1 / n
    variance = events * non_events * (n1 / n) * (n2 / n) / (n - 1)
    total_variance = float(variance.sum())
    if total_variance == 0:
        raise ValueError("Peto's method needs tables where both outcomes occur")
    deviation = t.ai - expected
    estimate = float(deviation.sum()) / total_variance
    se = math.sqrt(1.0 / total_variance)
    statistic, p, lower, upper, _ = _wald(estimate, se, level)
    informative = variance > 0
    q = max(0.0, float(np.sum(deviation[informative] ** 2 / variance[informative]))
            - float(deviation.sum()) ** 2 / total_variance)
    if informative.sum() > 1:
        q_p, i2, h2 = _heterogeneity(q, t.k - 1)
    else:
        q_p, i2, h2 = 1.0, 0.0, 1.0
    return CountResult("Peto", t.k, estimate, se, statistic, p, lower, upper, lower, upper, 0.0,
                       i2, h2, q, t.k - 1, q_p, t.double_zero, {}, note=_double_zero_note(t), level=level)


# --------------------------------------------------------------------------------------
# GLMM (unconditional model, fixed study effects, random treatment effect)
# --------------------------------------------------------------------------------------

def gauss_hermite(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and weights w with sum w f(z) ~ E f(Z), Z ~ N(0, 1) (lme4's ``GHrule``)."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    return z, w / math.sqrt(2 * math.pi)


def _log1pexp(x):
    return np.logaddexp(0.0, x)


@dataclass(frozen=True)
class GlmmLikelihood:
    """The marginal log-likelihood of model UM.FS, one term per table, by adaptive quadrature."""

    t: Tables
    nodes: np.ndarray
    log_weights: np.ndarray
    constant: np.ndarray  # log binomial coefficients per table

    @classmethod
    def of(cls, t: Tables, nagq: int):
        z, w = gauss_hermite(nagq)
        constant = (special.gammaln(t.n1 + 1) - special.gammaln(t.ai + 1) - special.gammaln(t.bi + 1)
                    + special.gammaln(t.n2 + 1) - special.gammaln(t.ci + 1) - special.gammaln(t.di + 1))
        return cls(t, z, np.log(w) + z**2 / 2, constant)

    def _conditional(self, u, alpha, beta, tau, a, n1, c, n2):
        """log f(y | u) - u^2/2 and its first two derivatives in u (u ~ N(0, 1) scaled by tau)."""
        eta1 = alpha + beta + tau * u / 2
        eta2 = alpha - tau * u / 2
        p1, p2 = special.expit(eta1), special.expit(eta2)
        value = a * eta1 - n1 * _log1pexp(eta1) + c * eta2 - n2 * _log1pexp(eta2) - u * u / 2
        first = tau / 2 * (a - n1 * p1) - tau / 2 * (c - n2 * p2) - u
        second = -(tau * tau / 4) * (n1 * p1 * (1 - p1) + n2 * p2 * (1 - p2)) - 1
        return value, first, second

    def terms(self, alpha, beta, tau) -> np.ndarray:
        """Per-table log-likelihood; ``alpha`` (k, ...) broadcasts with ``beta`` and ``tau``."""
        t = self.t
        alpha = np.asarray(alpha, dtype=float)
        shape = np.broadcast_shapes(alpha.shape, np.shape(beta), np.shape(tau))
        extra = (slice(None),) + (None,) * (len(shape) - 1)
        a, n1, c, n2 = (x[extra] for x in (t.ai, t.n1, t.ci, t.n2))
        alpha, beta, tau = (np.broadcast_to(x, shape) for x in (alpha, beta, tau))
        # conditional mode of u: Newton on a strictly concave function, kept inside a bracket
        reach = np.abs(tau) / 2 * (n1 + n2) + 1e-12  # |u| at the mode is below this
        low, high = -reach, reach
        u = np.zeros(shape)
        for _ in range(200):
            _, first, second = self._conditional(u, alpha, beta, tau, a, n1, c, n2)
            low = np.where(first > 0, u, low)
            high = np.where(first < 0, u, high)
            step = -first / second
            proposal = u + step
            outside = (proposal <= low) | (proposal >= high)
            proposal = np.where(outside, (low + high) / 2, proposal)
            done = np.abs(proposal - u) <= 1e-14 * (1 + np.abs(u))
            u = proposal
            if done.all():
                break
        value, _, second = self._conditional(u, alpha, beta, tau, a, n1, c, n2)
        scale = 1.0 / np.sqrt(-second)
        nodes = u[..., None] + scale[..., None] * self.nodes
        at_nodes, _, _ = self._conditional(nodes, alpha[..., None], beta[..., None], tau[..., None],
                                           a[..., None], n1[..., None], c[..., None], n2[..., None])
        quadrature = special.logsumexp(at_nodes + self.log_weights, axis=-1)
        return np.log(scale) + quadrature + self.constant[extra]

    def loglik(self, theta: np.ndarray) -> float:
        """Total log-likelihood at theta = (alpha_1..alpha_k, beta, tau)."""
        k = self.t.k
        return float(self.terms(theta[:k], theta[k], theta[k + 1]).sum())

    def derivatives(self, theta: np.ndarray, step: float = 1e-3):
        """Gradient and Hessian of the log-likelihood in theta = (alpha, beta, tau).

        Table i depends on (alpha_i, beta, tau) only, so its 3 x 3 derivatives come from one
        vectorised evaluation on a stencil: central differences, Richardson-extrapolated over
        the steps h and 2h (error O(h^4)). The Hessian is an arrowhead matrix.
        """
        k = self.t.k
        keys = [(0, 0, 0)]
        unit = np.eye(3, dtype=int)
        for s in (1, 2):
            for i in range(3):
                keys += [tuple(s * unit[i]), tuple(-s * unit[i])]
                for j in range(i + 1, 3):
                    keys += [tuple(s * (si * unit[i] + sj * unit[j])) for si in (1, -1) for sj in (1, -1)]
        position = {key: n for n, key in enumerate(keys)}
        offsets = step * np.array(keys, dtype=float)  # (m, 3)
        values = self.terms(theta[:k, None] + offsets[None, :, 0], theta[k] + offsets[:, 1],
                            theta[k + 1] + offsets[:, 2])  # (k, m)

        def f(vector) -> np.ndarray:
            return values[:, position[tuple(int(v) for v in vector)]]

        def richardson(estimate):
            return (4 * estimate(1) - estimate(2)) / 3

        grad = np.empty((k, 3))
        hess = np.empty((k, 3, 3))
        centre = f((0, 0, 0))
        for i in range(3):
            e = unit[i]
            grad[:, i] = richardson(lambda s: (f(s * e) - f(-s * e)) / (2 * s * step))
            hess[:, i, i] = richardson(lambda s: (f(s * e) - 2 * centre + f(-s * e)) / (s * step) ** 2)
            for j in range(i + 1, 3):
                d = unit[j]
                hess[:, i, j] = hess[:, j, i] = richardson(
                    lambda s: (f(s * (e + d)) - f(s * (e - d)) - f(s * (d - e)) + f(-s * (e + d)))
                    / (4 * (s * step) ** 2))
        gradient = np.concatenate([grad[:, 0], grad[:, 1:].sum(axis=0)])
        hessian = np.zeros((k + 2, k + 2))
        hessian[np.arange(k), np.arange(k)] = hess[:, 0, 0]
        hessian[:k, k] = hessian[k, :k] = hess[:, 0, 1]
        hessian[:k, k + 1] = hessian[k + 1, :k] = hess[:, 0, 2]
        hessian[k:, k:] = hess[:, 1:, 1:].sum(axis=0)
        return gradient, hessian


def _fixed_effects_fit(t: Tables, beta_start: float = 0.0, max_iterations: int = 200):
    """ML of logit p_i1 = alpha_i + beta, logit p_i2 = alpha_i (metafor's FE model: ``glm``).

    Newton-Raphson with the arrowhead Hessian solved by its Schur complement. Returns
    (alpha, beta, log-likelihood with binomial coefficients, converged).
    """
    a, n1, c, n2 = t.ai, t.n1, t.ci, t.n2
    events = a + c
    alpha = np.log((events + 0.5) / (t.bi + t.di + 0.5))
    beta = beta_start
    constant = (special.gammaln(n1 + 1) - special.gammaln(a + 1) - special.gammaln(t.bi + 1)
                + special.gammaln(n2 + 1) - special.gammaln(c + 1) - special.gammaln(t.di + 1)).sum()

    def loglik(alpha, beta):
        eta1, eta2 = alpha + beta, alpha
        return float(np.sum(a * eta1 - n1 * _log1pexp(eta1) + c * eta2 - n2 * _log1pexp(eta2)) + constant)

    current = loglik(alpha, beta)
    for iteration in range(max_iterations):
        p1, p2 = special.expit(alpha + beta), special.expit(alpha)
        w1, w2 = n1 * p1 * (1 - p1), n2 * p2 * (1 - p2)
        g_alpha = a - n1 * p1 + c - n2 * p2
        g_beta = float(np.sum(a - n1 * p1))
        h_aa, h_ab, h_bb = w1 + w2, w1, float(w1.sum())  # information (negative Hessian)
        schur = h_bb - float(np.sum(h_ab**2 / h_aa))
        d_beta = (g_beta - float(np.sum(h_ab * g_alpha / h_aa))) / schur
        d_alpha = (g_alpha - h_ab * d_beta) / h_aa
        scale = 1.0
        while True:
            candidate = loglik(alpha + scale * d_alpha, beta + scale * d_beta)
            if candidate >= current - 1e-12 or scale < 1e-8:
                break
            scale /= 2
        alpha, beta = alpha + scale * d_alpha, beta + scale * d_beta
        change = candidate - current
        current = candidate
        if abs(change) < 1e-13 * (abs(current) + 1) and max(np.max(np.abs(d_alpha)), abs(d_beta)) < 1e-8:
            return alpha, beta, current, True
    return alpha, beta, current, False


def saturated_loglik(t: Tables) -> float:
    """Binomial log-likelihood with each row's own proportion (0 log 0 = 0)."""
    def part(x, n):
        p = x / n
        return (special.xlogy(x, p) + special.xlogy(n - x, 1 - p) + special.gammaln(n + 1)
                - special.gammaln(x + 1) - special.gammaln(n - x + 1))
    return float(np.sum(part(t.ai, t.n1) + part(t.ci, t.n2)))


def _wald_heterogeneity(t: Tables) -> float:
    """Wald test of the study-by-treatment interactions of the saturated logistic model.

    The saturated model's log odds ratios are the tables' own, log(a d / (b c)) with variance
    sum 1/cell, so the Wald statistic of "all equal" is Cochran's Q with these weights; a table
    with a zero cell has an infinite estimate and variance and weight 0 (the limit that
    ``glm`` approaches in metafor's saturated fit).
    """
    cells = np.column_stack([t.ai, t.bi, t.ci, t.di])
    finite = (cells > 0).all(axis=1)
    if finite.sum() < 2:
        return 0.0
    c = cells[finite]
    y = np.log(c[:, 0]) + np.log(c[:, 3]) - np.log(c[:, 1]) - np.log(c[:, 2])
    w = 1.0 / (1.0 / c).sum(axis=1)
    mean = float(np.sum(w * y) / np.sum(w))
    return float(np.sum(w * (y - mean) ** 2))


@dataclass(frozen=True)
class GlmmFit:
    """The maximum of the UM.FS likelihood: theta = (alpha_1..alpha_k, beta, tau), its covariance."""

    theta: np.ndarray
    covariance: np.ndarray  # inverse observed information; (k + 1) square when tau is fixed at 0
    loglik: float
    converged: bool
    iterations: int


def maximise_glmm(t: Tables, nagq: int = 7, max_iterations: int = 200) -> GlmmFit:
    """Maximum likelihood of model UM.FS on the tables ``t`` (see :func:`glmm`)."""
    k = t.k
    model = GlmmLikelihood.of(t, nagq)
    alpha_fe, beta_fe, _, _ = _fixed_effects_fit(t)
    if k == 1:  # as metafor: tau^2 = 0, the fixed-effects fit
        theta = np.concatenate([alpha_fe, [beta_fe, 0.0]])
        _, hessian = model.derivatives(theta)
        return GlmmFit(theta, _inverse(-hessian[: k + 1, : k + 1]), model.loglik(theta), True, 0)
    yi, vi = log_odds_ratios(t)
    weights = 1 / vi
    q = float(np.sum(weights * (yi - np.sum(weights * yi) / weights.sum()) ** 2))
    tau2_start = max(0.01, (q - (k - 1)) / (weights.sum() - np.sum(weights**2) / weights.sum()))  # DL
    theta = np.concatenate([alpha_fe, [beta_fe, math.sqrt(tau2_start)]])
    current = model.loglik(theta)
    converged, iterations = False, 0
    while iterations < max_iterations and not converged:
        iterations += 1
        gradient, hessian = model.derivatives(theta)
        step = _newton_step(gradient, hessian, k)
        scale = 1.0
        while True:
            candidate_theta = theta + scale * step
            candidate = model.loglik(candidate_theta)
            if candidate >= current - 1e-10 or scale < 1e-10:
                break
            scale /= 2
        change = candidate - current
        theta, current = candidate_theta, candidate
        converged = bool(np.max(np.abs(scale * step)) < 1e-9 and abs(change) < 1e-9)
    theta[k + 1] = abs(theta[k + 1])
    _, hessian = model.derivatives(theta)
    return GlmmFit(theta, _inverse(-hessian), current, converged, iterations)


def _inverse(information: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(information)
    except np.linalg.LinAlgError:
        return np.full_like(information, math.nan)


def glmm(ai, bi, ci, di, level: float = 95, nagq: int = 7, max_iterations: int = 200) -> CountResult:
    """Random-effects log odds ratio by the binomial GLMM "UM.FS" (metafor ``rma.glmm``, lme4 ``glmer``).

    Maximum likelihood over (alpha_1..alpha_k, beta, tau >= 0) of the adaptive Gauss-Hermite
    approximation with ``nagq`` nodes (metafor's default 7; 1 = Laplace) by Newton-Raphson on
    the exact arrowhead structure (each table has its own alpha_i), started at the
    fixed-effects fit and the DerSimonian-Laird tau^2; the likelihood is even in tau, so tau
    is unconstrained and its absolute value reported. se(beta) from the inverse observed
    information of all k + 2 parameters (lme4's ``vcov`` inverts its finite-difference
    Hessian of the same function). Tests and intervals are Wald (z); the prediction interval
    beta +- z sqrt(se^2 + tau^2) (metafor's ``predict``). With one table tau^2 = 0, as metafor.
    Pinheiro & Bates (1995); Stijnen, Hamza & Ozdemir (2010), *Stat Med* 29, 3046-3067.
    """
    if nagq < 1:
        raise ValueError("nagq must be a positive number of quadrature nodes")
    t = tables(ai, bi, ci, di)
    k = t.k
    notes = [_double_zero_note(t)]
    if np.all(t.ai * t.di == 0) or np.all(t.bi * t.ci == 0):  # beta has no finite maximum (metafor cannot fit it)
        nan = math.nan
        notes.append(f"GLMM estimate diverges (separation: {_separation(t)})")
        return CountResult("GLMM", k, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, k - 1, nan,
                           t.double_zero, {}, False, 0, _join(*notes), level)
    fit = maximise_glmm(t, nagq, max_iterations)
    beta, tau2 = float(fit.theta[k]), float(fit.theta[k + 1] ** 2)
    variance = float(fit.covariance[k, k])
    se = math.sqrt(variance) if variance > 0 else math.nan
    converged = fit.converged
    if not converged:
        notes.append(f"GLMM did not converge in {max_iterations} Newton steps")
    elif abs(beta) > SEPARATION or not math.isfinite(se):
        converged = False
        notes.append("GLMM estimate diverges (separation: one outcome never occurs in one row of the tables)")
    if not converged:
        beta = se = tau2 = math.nan
    statistic, p, lower, upper, critical = _wald(beta, se, level)
    half_width = critical * math.sqrt(se * se + tau2)
    if k > 1:
        _, _, loglik_fe, fe_converged = _fixed_effects_fit(t)
        if not fe_converged:
            notes.append("fixed-effects logistic model (for the heterogeneity tests) did not converge")
        q_wald = _wald_heterogeneity(t)
        q_lrt = max(0.0, -2 * (loglik_fe - saturated_loglik(t)))
        q_p = float(special.chdtrc(k - 1, q_wald))
        q_lrt_p = float(special.chdtrc(k - 1, q_lrt))
        i2, h2 = i2_h2(tau2, typical_sampling_variance(log_odds_ratios(t)[1]))
    else:
        q_wald = q_lrt = q_p = q_lrt_p = math.nan
        i2, h2 = 0.0, 1.0
    # the model in words, metafor's name beside it: a table note's reader need not know "UM.FS" or "LRT"; cited as
    # the Methods cite it (report/methods.py's COUNT_METHODS)
    notes.append(f"unconditional model with fixed study effects (UM.FS; Stijnen, Hamza & \u00d6zdemir, 2010) by ML, "
                 f"adaptive Gauss-Hermite quadrature ({nagq} node{'s' if nagq > 1 else ''})"
                 + (f"; Q is the Wald test of the saturated model (likelihood-ratio statistic {q_lrt:.4g})" if k > 1
                    else "; one table: tau^2 = 0"))
    tests = {"q_lrt": q_lrt, "q_lrt_p": q_lrt_p, "loglik": fit.loglik, "nagq": nagq}
    return CountResult("GLMM", k, beta, se, statistic, p, lower, upper, beta - half_width, beta + half_width,
                       tau2, float(i2), float(h2), q_wald, k - 1, q_p, t.double_zero, tests, converged,
                       fit.iterations, _join(*notes), level)


def _newton_step(gradient: np.ndarray, hessian: np.ndarray, k: int) -> np.ndarray:
    """Newton ascent step; where -H is not positive definite, add a multiple of I (Levenberg)."""
    negative = -hessian
    shift = 0.0
    for _ in range(60):
        try:
            factor = np.linalg.cholesky(negative + shift * np.eye(k + 2))
            return np.linalg.solve(factor.T, np.linalg.solve(factor, gradient))
        except np.linalg.LinAlgError:
            shift = max(2 * shift, 1e-6 * max(1.0, float(np.max(np.abs(np.diag(negative))))))
    return gradient / max(1.0, float(np.max(np.abs(gradient))))


# --------------------------------------------------------------------------------------
# From the effect-size rows
# --------------------------------------------------------------------------------------

FITTERS = {"MH": mantel_haenszel, "Peto": peto, "GLMM": glmm}


def _count_cells(effect_sizes: pd.DataFrame) -> pd.DataFrame:
    """The 2x2 counts as numbers (blank and the sheet's missing markers, ``n/a``, empty:
    :func:`~alliance_meta.inputs.effect_sizes.notebook_numbers`); a ValueError naming each cell written as text that
    is no number (``'three'``, ``'12*'``: a frame of the notebook, not the checked sheet), which would leave its table
    out of MH, Peto and GLMM without a word; by study_id, else by row (the frame's index label, as am.fit names
    rows)."""
    from alliance_meta.inputs.effect_sizes import notebook_numbers

    cells, problems = {}, []
    named = ([f"study {study}" for study in effect_sizes["study_id"].astype(str)] if "study_id" in effect_sizes
             else [f"row {label}" for label in effect_sizes.index])
    for column in COUNT_COLUMNS:
        cells[column], bad = notebook_numbers(effect_sizes[column])
        problems += [f"{column} of {name} ({value!r})" for name, value, no in zip(named, effect_sizes[column], bad)
                     if no]
    if problems:
        raise ValueError(f"2x2 counts that are no number: {'; '.join(problems[:10])}"
                         f"{f' ... ({len(problems)} cells)' if len(problems) > 10 else ''}; write each count as a "
                         "whole number, or leave the cell empty")
    return pd.DataFrame(cells, index=effect_sizes.index)


def table_rows(effect_sizes: pd.DataFrame, duplicates: str = "first") -> tuple[pd.DataFrame, list[str], str]:
    """The rows of ``effect_sizes`` that carry 2x2 counts, as ``study_id, ai, bi, ci, di``.

    Rows with all four of ``n11, n12, n21, n22`` filled count (whatever input kind was
    converted). ``reverse = yes`` swaps the rows of the table (the log OR changes sign, as
    the converted effect does). A pooled table must come from independent samples:
    ``duplicates = "first"`` keeps a study's first table (sheet order), ``"all"`` keeps every
    table as if independent. Returns the tables, notes, and what :func:`_invalid_counts` says of their counts.
    """
    if duplicates not in ("first", "all"):
        raise ValueError(f"duplicates must be 'first' or 'all', got {duplicates!r}")
    missing = [c for c in COUNT_COLUMNS if c not in effect_sizes.columns]
    if missing or effect_sizes.empty:
        return pd.DataFrame(columns=["study_id", "ai", "bi", "ci", "di"]), [], ""
    cells = _count_cells(effect_sizes)
    has = cells.notna().all(axis=1).to_numpy()
    rows = effect_sizes.loc[has]
    given = cells.loc[has]
    cells = given.to_numpy(dtype=float, copy=True)
    if "reverse" in rows.columns:
        from alliance_meta.inputs.effect_sizes import parse_reverse

        flip = parse_reverse(rows["reverse"].to_numpy())
        cells[flip] = cells[flip][:, [2, 3, 0, 1]]
    frame = pd.DataFrame({"study_id": rows["study_id"].astype(str).to_numpy(), "ai": cells[:, 0],
                          "bi": cells[:, 1], "ci": cells[:, 2], "di": cells[:, 3]})
    notes = []
    if duplicates == "first":
        kept = frame.drop_duplicates("study_id", keep="first")
        if len(kept) < len(frame):
            notes.append(f"{counted(len(frame) - len(kept), 'further table')} of studies with several set aside "
                         "(one table per study: the first)")
        frame = kept
    return frame.reset_index(drop=True), notes, _invalid_counts(given.iloc[frame.index],
                                                                  rows["study_id"].iloc[frame.index])


def _invalid_counts(cells: pd.DataFrame, study_ids: pd.Series) -> str:
    """What :func:`tables` refuses in the tables to pool, cell by cell as the sheet's messages name them: the row (the
    frame's index label and its study_id), the column as written (before ``reverse`` swaps the rows), the value and
    the rule (not a finite number, negative, not a whole number; finiteness first, as ``round(inf)`` raises); "" when
    every count is a non-negative whole number."""
    problems = []
    for (label, row), study in zip(cells.iterrows(), study_ids):
        for column, value in row.items():
            rule = ("not a finite number" if not math.isfinite(value) else "negative" if value < 0
                    else "not a whole number" if value != round(value) else "")
            if rule:
                problems.append(f"row {label} (study {study}), {column} = {value:.15g}: {rule}")
    if not problems:
        return ""
    more = f" ... ({len(problems)} cells)" if len(problems) > 10 else ""
    return f"2x2 counts must be non-negative whole numbers: {'; '.join(problems[:10])}{more}"


def count_rows(effect_sizes: pd.DataFrame, metric: str = "log_or", methods=METHODS, level: float = 95,
               duplicates: str = "first", nagq: int = 7) -> pd.DataFrame:
    """``pooled.csv`` rows ``MH``, ``Peto``, ``GLMM`` from the count rows of one family.

    ``effect_sizes``: the family's rows (``data/processed/{family}/effect_sizes.csv``: one
    row per effect size, with the sheet's ``n11..n22``). Only under ``metric = "log_or"``
    (otherwise, or without counts, an empty frame with the header). Each row's ``note``
    says how many of the family's rows had counts and how many tables were pooled. A method
    that cannot be fitted gives a row of NaN with the reason in ``note``.
    """
    columns = list(CONTRACT_COLUMNS + EXTRA_COLUMNS) + [f"{prefix}{suffix}" for prefix in ("or", "r")
                                                         for suffix in ("", "_ci_lower", "_ci_upper",
                                                                        "_pi_lower", "_pi_upper")]
    unknown = set(methods) - set(FITTERS)
    if unknown:
        raise ValueError(f"unknown count method(s) {sorted(unknown)}; expected {', '.join(METHODS)}")
    if metric != "log_or":
        return pd.DataFrame(columns=columns)
    frame, notes, invalid = table_rows(effect_sizes, duplicates)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    n_rows = len(effect_sizes)
    with_counts = int(effect_sizes[list(COUNT_COLUMNS)].apply(pd.to_numeric, errors="coerce")
                      .notna().all(axis=1).sum())
    lead = (f"{apa_integer(with_counts)} of {counted(n_rows, 'row')} had 2x2 counts; "
            f"{counted(len(frame), 'table')} from {counted(frame['study_id'].nunique(), 'study', 'studies')}; "
            "no continuity correction")
    rows = []
    for method in methods:
        fitter = FITTERS[method]
        arguments = (frame["ai"], frame["bi"], frame["ci"], frame["di"])
        try:
            if invalid:  # tables() would refuse them without naming the rows
                raise ValueError(invalid)
            result = fitter(*arguments, level=level, nagq=nagq) if method == "GLMM" else fitter(*arguments, level=level)
            row = result.as_row(metric)
            row["note"] = _join(lead, *notes, result.note)
        except ValueError as error:  # k: the tables the method would have pooled (double-zero tables never count)
            row = {c: math.nan for c in columns}
            double = double_zero(frame["ai"], frame["bi"], frame["ci"], frame["di"])
            row.update(method=method, test="z", k=int((~double).sum()), converged=False,
                       note=_join(lead, *notes, str(error)))
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)
