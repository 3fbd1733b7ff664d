"""Three-level meta-analysis: effect sizes within studies, by REML or ML, in O(k).

The model (Konstantopoulos 2011, *Res Synth Methods* 2, 61-76; Cheung 2014, *Psychol
Methods* 19, 211-229) is metafor's ``rma.mv(yi, V, mods, random = ~ 1 | study_id / es_id)``:

    y_ij = x_ij' beta + u_j + w_ij + e_ij,   u_j ~ N(0, sigma2_between), w_ij ~ N(0, sigma2_within),

with sampling errors e independent (``rho = 0``) or, for the correlated-and-hierarchical-
effects (CHE) model of Pustejovsky & Tipton (2022, *Prev Sci* 23, 425-438), compound-
symmetric within a study with correlation ``rho`` (metafor's ``vcalc``). The (restricted)
log-likelihood is metafor's ``.ll.rma.mv`` term for term (REML includes +1/2 log|X'X|), its
gradient is analytic, and the block algebra of :mod:`alliance_meta.engines.study_blocks` keeps time
and memory linear in the number of studies. Estimates on the boundary are exactly 0 (metafor
sets sigma^2 <= 10 machine epsilon to 0).

A random factor with a single level is fixed at sigma^2 = 0, as ``rma.mv`` does ("Single-level
factor(s) found in 'random' argument. Corresponding 'sigma2' value(s) fixed to 0."): with one
study, sigma2_between (its random effect is confounded with the intercept, the restricted
likelihood is flat in it); with one effect size (k = 1, where ``rma.mv`` stops: "k <= 1"),
sigma2_within too, so the fit is the effect size with its sampling variance. The result's
``note`` says so; a component the caller fixed is left as given (metafor too).

Also: profile-likelihood CIs of each sigma^2 (as ``confint.rma.mv``), I^2 by level with
metafor's typical sampling variance (k - p) / tr(P_V) (Cheung 2014; metafor website,
"I^2 for multilevel and multivariate models"), the likelihood-ratio test of the study level
(``anova(full, reduced)`` with the reduced model fixing sigma2_between = 0: the two-level
model of independent effect sizes), Wald (z) or t tests (``test = "t"``, df = k - p), QE, QM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alliance_meta.engines import distributions as dist
from alliance_meta.engines.study_blocks import BlockCovariance, StudyBlocks, group_by_study
from alliance_meta.inputs.dependence import check_rho

BOUNDARY = 10 * float(np.finfo(float).eps)  # metafor: sigma^2 <= 10 eps is reported as 0
LEVELS = ("between", "within")
ONE_STUDY_NOTE = ("one study: sigma2_between is not estimable and is fixed to 0, as metafor's rma.mv does for a "
                  "single-level factor; all heterogeneity is in sigma2_within, with no interval or likelihood-ratio "
                  "test of sigma2_between")
ONE_EFFECT_SIZE_NOTE = ("k = 1: one effect size, so neither sigma2 is estimable; both are fixed to 0 (metafor's "
                        "rma.mv stops at k <= 1): the estimate is the effect size with its sampling variance, with no "
                        "heterogeneity test and no t test (k - p = 0 df)")


@dataclass(frozen=True)
class MultilevelData:
    """Effect sizes sorted by study, with the design matrix and the sampling correlation."""

    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    blocks: StudyBlocks
    rho: float
    names: tuple[str, ...]

    @property
    def k(self) -> int:
        return int(self.yi.size)

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    def covariance(self, sigma2) -> BlockCovariance:
        return BlockCovariance(self.vi, self.blocks, self.rho, sigma2[0], sigma2[1])


def prepare(yi, vi, study_id, X=None, rho: float = 0.0, names=None) -> MultilevelData:
    """Sort rows by study; ``X=None`` is the intercept-only model."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    if X is None:
        X, names = np.ones((yi.size, 1)), ("intrcpt",)
    X = np.asarray(X, float).reshape(yi.size, -1)
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(X.shape[1]))
    if np.any(~np.isfinite(yi)) or np.any(~np.isfinite(vi)) or np.any(vi <= 0):
        raise ValueError("yi must be finite and vi positive")
    blocks = group_by_study(study_id)
    if not -1.0 < rho < 1.0:  # even when every study has one effect size
        raise ValueError(f"rho = {rho} is not a correlation between two effect sizes of a study (need -1 < rho < 1)")
    check_rho(rho, blocks.sizes)
    return MultilevelData(yi[blocks.order], vi[blocks.order], X[blocks.order], blocks, float(rho), names)


@dataclass(frozen=True)
class Evaluation:
    """Log-likelihood, its gradient in (sigma2_between, sigma2_within), and the GLS fit."""

    loglik: float
    gradient: np.ndarray
    beta: np.ndarray
    vcov: np.ndarray


def evaluate(data: MultilevelData, sigma2, reml: bool) -> Evaluation:
    """(Restricted) log-likelihood of ``rma.mv`` at ``sigma2`` with its analytic gradient.

    With P = W - W X (X'WX)^-1 X'W, W = M^-1 and A_b = blockdiag(1 1'), A_w = I:
    dl/d sigma2 = -1/2 tr(P A) + 1/2 r'W A W r (ML: tr(W A)); Searle, Casella &
    McCulloch (1992, ch. 6).
    """
    covariance = data.covariance(sigma2)
    X, y, blocks = data.X, data.yi, data.blocks
    WX, Wy = covariance.solve(X), covariance.solve(y)
    information = X.T @ WX
    chol = np.linalg.cholesky(information)
    vcov = np.linalg.inv(information)
    beta = vcov @ (X.T @ Wy)
    Wr = Wy - WX @ beta
    rss = float((y - X @ beta) @ Wr)
    k, p = data.k, data.p
    if reml:
        logdet_xx = np.linalg.slogdet(X.T @ X)[1]
        logdet_info = 2.0 * np.sum(np.log(np.diag(chol)))
        loglik = -0.5 * (k - p) * math.log(2 * math.pi) + 0.5 * logdet_xx - 0.5 * (covariance.logdet + logdet_info + rss)
    else:
        loglik = -0.5 * k * math.log(2 * math.pi) - 0.5 * (covariance.logdet + rss)
    trace_within = np.sum(covariance.inverse_diagonal())
    trace_between = np.sum(blocks.sums(covariance.solve(np.ones(k))))
    if reml:
        study_WX = blocks.sums(WX)
        trace_within -= np.sum(vcov * (WX.T @ WX))
        trace_between -= np.sum(vcov * (study_WX.T @ study_WX))
    quadratic = np.array([np.sum(blocks.sums(Wr) ** 2), Wr @ Wr])
    gradient = -0.5 * np.array([trace_between, trace_within]) + 0.5 * quadratic
    return Evaluation(float(loglik), gradient, beta, vcov)


def maximise(data: MultilevelData, reml: bool, fixed=(None, None), start=None) -> np.ndarray:
    """Maximise the (restricted) likelihood over sigma2 >= 0, some components optionally fixed.

    Projected Newton steps (Hessian by differences of the analytic gradient) until the free
    gradient components vanish; when they fail from the start, an L-BFGS-B run, then Newton steps
    again, with projected gradient steps where the Newton direction is not one of descent.
    """
    return maximise_with_status(data, reml, fixed, start)[0]


def maximise_with_status(data: MultilevelData, reml: bool, fixed=(None, None), start=None):
    """:func:`maximise`, whether it converged and its iterations: ``(sigma2, converged, iterations)``, the Newton
    steps taken (with the L-BFGS-B run's iterations and the Newton steps after it where the first steps failed;
    0 when every component is fixed)."""
    fixed = np.array([np.nan if value is None else float(value) for value in fixed])
    free = np.isnan(fixed)
    if start is None:
        total = _initial_total(data)
        total = total if total > 0.001 else 0.001  # also when it is undefined (NaN: one effect)
        start = np.full(2, total / 2.0)
    start = np.asarray(start, float)
    scale = max(float(np.mean(start[free])) if free.any() else 1.0, 1e-8)

    def full(x):
        theta = fixed.copy()
        theta[free] = np.maximum(x, 0.0) * scale
        return theta

    def objective(x):
        try:
            result = evaluate(data, full(x), reml)
        except (np.linalg.LinAlgError, ValueError):
            return np.inf, np.zeros_like(x)
        return -result.loglik, -result.gradient[free] * scale

    if not free.any():
        return fixed, True, 0
    x0 = np.asarray(start, float)[free] / scale
    x, converged, iterations = _projected_newton(objective, x0)
    if not converged:  # rare: a poor start far from the optimum; a quasi-Newton run first
        from scipy import optimize  # here, not at module level: jobs that never need it start faster

        fit = optimize.minimize(objective, x0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * x0.size,
                                options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 1000})
        x, converged, polish = _projected_newton(objective, np.maximum(fit.x, 0.0), descend=True)
        iterations += int(fit.nit) + polish
    theta = full(x)
    theta[free & (theta <= BOUNDARY)] = 0.0
    return theta, bool(converged), iterations


def _projected_newton(objective, x, max_steps: int = 100, descend: bool = False):
    """Newton steps on the free coordinates (x >= 0), backtracking; returns (x, converged, steps taken).

    Converged when the projected gradient vanishes relative to the objective, or the step
    no longer changes x; components at 0 with a gradient pointing outwards stay at 0. Where the
    Newton direction is not one of descent (the likelihood is not concave there), it stops unconverged,
    or, with ``descend`` (the polishing run after L-BFGS-B, near an optimum, e.g. at sigma2 = 0), takes
    the projected gradient's step, long enough to reach the bound.
    """
    value, gradient = objective(x)
    if not np.isfinite(value):
        return x, False, 0
    bound = 1e-12 if descend else 0.0  # L-BFGS-B stops a hair above 0 (5e-17): that is the bound
    for steps in range(max_steps):
        move = ~((x <= bound) & (gradient > 0.0))
        if not move.any() or np.max(np.abs(gradient[move])) < 1e-11 * max(1.0, abs(value)):
            return x, True, steps
        hessian = _difference_hessian(objective, x)[np.ix_(move, move)]
        try:
            step = -np.linalg.solve(hessian, gradient[move])
            newton = step @ gradient[move] < 0
        except np.linalg.LinAlgError:
            newton = False
        length = 1.0
        if not newton and not descend:
            return x, False, steps
        if not newton:  # steepest descent, from the length that takes every component moving down to 0
            step = -gradient[move]
            towards_bound = step < 0
            if towards_bound.any():
                length = float(np.max(x[move][towards_bound] / -step[towards_bound]))
            if not length > 0:
                return x, False, steps
        floor = 1e-8 * length
        while length > floor:
            trial = x.copy()
            trial[move] = np.maximum(x[move] + length * step, 0.0)
            trial_value, trial_gradient = objective(trial)
            if trial_value <= value + 1e-14 * abs(value):
                break
            length /= 2.0
        else:
            return x, False, steps
        change = np.max(np.abs(trial - x))
        x, value, gradient = trial, trial_value, trial_gradient
        if change < 1e-14 * max(1.0, np.max(np.abs(x))):
            return x, True, steps + 1
    return x, False, max_steps


def _difference_hessian(objective, x) -> np.ndarray:
    size = x.size
    hessian = np.empty((size, size))
    for j in range(size):
        step = 1e-6 * max(abs(x[j]), 1e-3)
        up, down = x.copy(), x.copy()
        up[j] += step
        if x[j] - step >= 0:
            down[j] -= step
            hessian[:, j] = (objective(up)[1] - objective(down)[1]) / (2 * step)
        else:
            hessian[:, j] = (objective(up)[1] - objective(x)[1]) / step
    return 0.5 * (hessian + hessian.T)


def _initial_total(data: MultilevelData) -> float:
    """metafor's start: var(y - X beta_FE) - 1 / mean(1 / v)."""
    covariance = data.covariance((0.0, 0.0))
    WX = covariance.solve(data.X)
    beta = np.linalg.solve(data.X.T @ WX, WX.T @ data.yi)
    if data.k < 2:  # var() of one residual is undefined (R's NA)
        return math.nan
    return float(np.var(data.yi - data.X @ beta, ddof=1) - 1.0 / np.mean(1.0 / data.vi))


@dataclass(frozen=True, kw_only=True, repr=False)
class MultilevelResult:
    """A fitted three-level model; ``coefficients()`` and ``to_frame()`` tabulate it."""

    method: str
    test: str
    data: MultilevelData = field(repr=False)
    sigma2: np.ndarray  # (between, within)
    beta: np.ndarray
    vcov: np.ndarray
    loglik: float
    level: float
    n_studies: int
    qe: float
    qe_p: float
    qm: float
    qm_df: tuple
    qm_p: float
    i2: np.ndarray  # (total, between, within), percent
    typical_variance: float
    sigma2_ci: np.ndarray | None = None  # 2 x 2: rows (between, within), columns (lower, upper)
    lrt: dict | None = None
    converged: bool = True  # the maximisation of the (restricted) likelihood
    iterations: int = 0  # its steps (maximise_with_status)
    single_level: tuple[str, ...] = ()  # levels ("between", "within") fixed at 0: their factor has one level
    sigma2_fixed: tuple[bool, bool] = (False, False)  # components not estimated (fixed by the caller or single-level)

    @property
    def note(self) -> str:
        """Why a sigma^2 was fixed at 0 (a single-level factor, as rma.mv); "" when none was."""
        if "within" in self.single_level:
            return ONE_EFFECT_SIZE_NOTE
        return ONE_STUDY_NOTE if "between" in self.single_level else ""

    @property
    def k(self) -> int:
        return self.data.k

    def __repr__(self) -> str:
        return (f"MultilevelResult({self.method}/{self.test}: k = {self.k}, {self.n_studies} studies, "
                f"beta = {np.array2string(self.beta, precision=4)}, sigma2 = {np.array2string(self.sigma2, precision=4)})")

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    @property
    def df(self) -> float:
        """Denominator df of t tests (metafor's dfs = "residual": k - p); inf for z."""
        return float(max(self.k - self.data.p, 1)) if self.test == "t" else math.inf

    @property
    def critical(self) -> float:
        alpha = 1.0 - self.level / 100.0
        return float(dist.norm.isf(alpha / 2) if self.test == "z" else dist.t.isf(alpha / 2, self.df))

    def fit_statistics(self) -> dict:
        """logLik, AIC, BIC, AICc as metafor's ``fitstats`` (parameters: p + the variances estimated, not fixed)."""
        k, p = self.k, self.data.p
        parms = p + sum(not fixed for fixed in self.sigma2_fixed)
        n = k - p if self.method == "REML" else k
        return {"loglik": self.loglik, "aic": -2 * self.loglik + 2 * parms,
                "bic": -2 * self.loglik + parms * math.log(n),
                "aicc": -2 * self.loglik + 2 * parms * max(n, parms + 2) / (max(n, parms + 2) - parms - 1)}

    def coefficients(self) -> pd.DataFrame:
        """One row per coefficient: estimate, se, statistic, p, CI (z or t)."""
        statistic = self.beta / self.se
        if self.test == "t":
            p = 2 * dist.t.sf(np.abs(statistic), self.df)
        else:
            p = 2 * dist.norm.sf(np.abs(statistic))
        return pd.DataFrame({"term": list(self.data.names), "estimate": self.beta, "se": self.se,
                             "statistic": statistic, "p": p,
                             "ci_lower": self.beta - self.critical * self.se,
                             "ci_upper": self.beta + self.critical * self.se})

    def prediction_interval(self) -> tuple[float, float]:
        """predict.rma.mv for the intercept: estimate +/- crit sqrt(se^2 + sigma2_b + sigma2_w)."""
        half = self.critical * math.sqrt(self.vcov[0, 0] + float(np.sum(self.sigma2)))
        return float(self.beta[0] - half), float(self.beta[0] + half)

    def to_frame(self) -> pd.DataFrame:
        """The pooled row of the contract (intercept-only models), with sigma2 columns."""
        row = self.coefficients().iloc[0]
        pi_lower, pi_upper = self.prediction_interval()
        ci = self.sigma2_ci if self.sigma2_ci is not None else np.full((2, 2), np.nan)
        i2_total = self.i2[0]
        return pd.DataFrame([{
            "method": self.method, "test": self.test, "k": self.k, "n_studies": self.n_studies,
            "estimate": row.estimate, "se": row.se, "ci_lower": row.ci_lower, "ci_upper": row.ci_upper,
            "p": row.p, "pi_lower": pi_lower, "pi_upper": pi_upper,
            "tau2": float(np.sum(self.sigma2)), "tau2_ci_lower": np.nan, "tau2_ci_upper": np.nan,
            "i2": i2_total, "h2": 100.0 / (100.0 - i2_total) if i2_total < 100 else math.inf,
            "q": self.qe, "q_df": self.k - self.data.p, "q_p": self.qe_p,
            "sigma2_between": self.sigma2[0], "sigma2_within": self.sigma2[1],
            "sigma2_between_ci_lower": ci[0, 0], "sigma2_between_ci_upper": ci[0, 1],
            "sigma2_within_ci_lower": ci[1, 0], "sigma2_within_ci_upper": ci[1, 1],
            "i2_between": self.i2[1], "i2_within": self.i2[2],
            "loglik": self.loglik,
            "lrt_between": (self.lrt or {}).get("statistic", np.nan),
            "lrt_between_p": (self.lrt or {}).get("p", np.nan),
        }])


def fit(yi, vi, study_id, X=None, *, method: str = "REML", test: str = "z", rho: float = 0.0,
        level: float = 95.0, names=None, sigma2=(None, None), btt=None,
        profile: bool = True, likelihood_ratio: bool = True, start=None) -> MultilevelResult:
    """Fit ``rma.mv(yi, V, mods = X, random = ~ 1 | study_id / es_id, method, test)``.

    ``V`` is diag(vi) for ``rho = 0`` or the compound-symmetric matrix of ``vcalc(vi,
    cluster = study_id, obs = es_id, rho = rho)``. ``sigma2`` fixes components (None:
    estimated). ``btt``: coefficients of QM (default: all but an all-ones intercept column).
    ``profile`` adds profile-likelihood CIs of sigma^2; ``likelihood_ratio`` the LRT against
    the model with sigma2_between = 0. ``start``: initial (sigma2_between, sigma2_within) of the
    maximisation (metafor's ``control = list(sigma2.init = ...)``; default metafor's start).
    """
    return fit_prepared(prepare(yi, vi, study_id, X, rho, names), method=method, test=test, level=level,
                        sigma2=sigma2, btt=btt, profile=profile, likelihood_ratio=likelihood_ratio, start=start)


def fit_prepared(data: MultilevelData, *, method: str = "REML", test: str = "z", level: float = 95.0,
                 sigma2=(None, None), btt=None, profile: bool = True,
                 likelihood_ratio: bool = True, start=None) -> MultilevelResult:
    """:func:`fit` on data already prepared (sorted) by :func:`prepare`."""
    if method not in ("REML", "ML"):
        raise ValueError("the three-level model is fitted by REML or ML")
    if test not in ("z", "t"):
        raise ValueError("test must be 'z' or 't'")
    reml = method == "REML"
    sigma2, single = single_level_fixed(data, sigma2)
    estimate, converged, iterations = maximise_with_status(data, reml, fixed=sigma2, start=start)
    if not converged and start is not None:  # a warm start that failed: metafor's default start
        estimate, converged, iterations = maximise_with_status(data, reml, fixed=sigma2)
    final = evaluate(data, estimate, reml)
    qe, qe_p, typical = _residual_heterogeneity(data)
    total = float(np.sum(estimate)) + typical
    if data.k == 1 and not np.any(estimate):  # no typical variance (k - p = 0): I^2 of sigma^2 = 0 is 0
        i2 = np.zeros(3)
    else:
        i2 = 100.0 * np.array([np.sum(estimate), estimate[0], estimate[1]]) / total
    if btt is None:
        intercept = np.all(data.X[:, 0] == 1.0)
        btt = list(range(1, data.p)) if intercept and data.p > 1 else list(range(data.p))
    qm, qm_df, qm_p = _omnibus(final.beta, final.vcov, btt, test, data)
    ci = lrt = None
    if profile:
        ci = np.array([profile_interval(data, reml, estimate, final.loglik, component, level, fixed=sigma2)
                       for component in (0, 1)])
    if likelihood_ratio and sigma2[0] is None:
        reduced = maximise(data, reml, fixed=(0.0, sigma2[1]))
        reduced_loglik = evaluate(data, reduced, reml).loglik
        statistic = max(2.0 * (final.loglik - reduced_loglik), 0.0)
        lrt = {"dropped": "sigma2_between", "statistic": statistic, "df": 1,
               "p": float(dist.chi2.sf(statistic, 1)), "loglik_reduced": reduced_loglik,
               "sigma2_within_reduced": float(reduced[1])}
    return MultilevelResult(method=method, test=test, data=data, sigma2=estimate, beta=final.beta, vcov=final.vcov,
                            loglik=final.loglik, level=level, n_studies=data.blocks.n_studies, qe=qe, qe_p=qe_p,
                            qm=qm, qm_df=qm_df, qm_p=qm_p, i2=i2, typical_variance=typical, sigma2_ci=ci, lrt=lrt,
                            converged=converged, iterations=iterations, single_level=single,
                            sigma2_fixed=tuple(value is not None for value in sigma2))


def single_level_fixed(data: MultilevelData, sigma2=(None, None)) -> tuple[tuple, tuple[str, ...]]:
    """``sigma2`` with the components of single-level factors fixed at 0, and their levels.

    As ``rma.mv``: a component to be estimated (None) whose factor has one level (``study_id``
    with one study; ``study_id/es_id`` with one effect size) is fixed to 0; one the caller
    fixed stays as given.
    """
    levels = (data.blocks.n_studies, data.k)
    fixed, single = list(sigma2), []
    for component, count in enumerate(levels):
        if count == 1 and fixed[component] is None:
            fixed[component] = 0.0
            single.append(LEVELS[component])
    return tuple(fixed), tuple(single)


def _residual_heterogeneity(data: MultilevelData):
    """QE = r' V^-1 r of the GLS fit under V alone, and metafor's typical sampling variance.

    typical = (k - p) / tr(P_V), P_V = V^-1 - V^-1 X (X'V^-1 X)^-1 X'V^-1 (metafor website,
    "I^2 for multilevel and multivariate models"; Cheung 2014, eq. 12).
    """
    covariance = data.covariance((0.0, 0.0))
    WX, Wy = covariance.solve(data.X), covariance.solve(data.yi)
    information_inverse = np.linalg.inv(data.X.T @ WX)
    beta = information_inverse @ (data.X.T @ Wy)
    qe = float((data.yi - data.X @ beta) @ (Wy - WX @ beta))
    df = data.k - data.p
    trace = np.sum(covariance.inverse_diagonal()) - np.sum(information_inverse * (WX.T @ WX))
    qe_p = float(dist.chi2.sf(qe, df)) if df > 0 else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):  # no residual df (k = p): 0 / 0, NaN as metafor's
        typical = df / trace
    return qe, qe_p, float(typical)


def _omnibus(beta, vcov, btt, test, data):
    """QM = b' V_b^-1 b over ``btt``; F = QM / m with df (m, k - p) under test = "t"."""
    index = np.asarray(btt)
    qm = float(beta[index] @ np.linalg.solve(vcov[np.ix_(index, index)], beta[index]))
    m = index.size
    if test == "t":
        df2 = max(data.k - data.p, 1)
        return qm / m, (m, df2), float(dist.f.sf(qm / m, m, df2))
    return qm, (m,), float(dist.chi2.sf(qm, m))


def profile_interval(data, reml, estimate, loglik, component, level=95.0, fixed=(None, None),
                     tolerance: float = 1e-10) -> np.ndarray:
    """Profile-likelihood CI of one sigma^2 as ``confint.rma.mv`` (type "PL").

    Bounds solve -2 (l_profile(value) - l_max) = chi2_{1, level}; the search interval is
    [0, max(10, 100 sigma2)] and an end whose statistic stays below the critical value is
    returned as the bound (metafor prints it with "<" or ">"). Roots by Brent's method to
    ``tolerance`` (metafor uses uniroot's eps^0.25 unless told otherwise).
    """
    from scipy import optimize  # here, not at module level: jobs that never need it start faster

    if fixed[component] is not None:
        return np.array([np.nan, np.nan])
    critical = dist.chi2.isf(1.0 - level / 100.0, 1)
    value = estimate[component]
    upper_end = max(10.0 if value <= math.sqrt(np.finfo(float).eps) else max(10.0, value * 100.0), 0.0)
    other = 1 - component

    def excess(point):
        pinned = list(fixed)
        pinned[component] = point
        start = estimate.copy()
        start[component] = point
        start[other] = max(start[other], 1e-4 * max(value, 1e-4))
        theta = maximise(data, reml, fixed=tuple(pinned), start=start)
        return -2.0 * (evaluate(data, theta, reml).loglik - loglik) - critical

    bounds = []
    for end in (0.0, upper_end):
        at_end = excess(end)
        if at_end < 0:
            bounds.append(end)
        else:
            bracket = (end, value) if end < value else (value, end)
            bounds.append(optimize.brentq(excess, *bracket, xtol=tolerance, rtol=4 * np.finfo(float).eps))
    return np.array(bounds)


def row_weights(vi, study_id, sigma2_between: float, sigma2_within: float, rho: float = 0.0) -> np.ndarray:
    """The weight of each row in the three-level (CHE) model in percent, as metafor's ``weights(rma.mv)``
    (type ``diagonal``): the diagonal of W = M^-1 with, per study, M = V + sigma2_between J + sigma2_within I
    and V the sampling covariances rho sqrt(v_i v_j) (v_i on the diagonal; ``vcalc``). The forest plot of a
    three-level fit shows these, not 1 / (v_i + tau^2), which ignores the study blocks."""
    vi = np.asarray(vi, dtype=float)
    labels = pd.Series(np.asarray(study_id).astype(str))
    weights = np.empty(vi.size)
    for rows in labels.groupby(labels, sort=False).indices.values():
        sd = np.sqrt(vi[rows])
        block = rho * np.outer(sd, sd) + sigma2_between
        block[np.diag_indices(rows.size)] = vi[rows] + sigma2_between + sigma2_within
        weights[rows] = np.diag(np.linalg.inv(block))
    return 100 * weights / weights.sum()


def study_weights(vi, study_id, sigma2_between: float, sigma2_within: float, rho: float = 0.0) -> pd.Series:
    """Each study's share of the three-level (CHE) model's pooled estimate in percent, by study_id (in the order of
    the studies' first rows): 1' W_j 1 of its block W_j = M_j^-1 (M_j as :func:`row_weights`), the sum over its
    rows of metafor's ``weights(rma.mv, type = "rowsum")``, since the GLS estimate is sum_j 1'W_j y_j / sum_j 1'W_j 1.
    Not the composites' 1 / (v_j + sigma2_between + sigma2_within), which counts sigma2_within once per study however
    many effect sizes average it."""
    vi = np.asarray(vi, dtype=float)
    labels = pd.Series(np.asarray(study_id).astype(str))
    groups = labels.groupby(labels, sort=False).indices
    weights = pd.Series(0.0, index=list(groups), name="weight")
    for name, rows in groups.items():
        sd = np.sqrt(vi[rows])
        block = rho * np.outer(sd, sd) + sigma2_between
        block[np.diag_indices(rows.size)] = vi[rows] + sigma2_between + sigma2_within
        weights[name] = np.linalg.solve(block, np.ones(rows.size)).sum()
    return 100 * weights / weights.sum()
