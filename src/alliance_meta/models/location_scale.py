"""Location-scale meta-regression, as metafor's ``rma(yi, vi, mods = ~ x, scale = ~ z)``.

Model (Viechtbauer & López-López 2022, Res Synth Methods 13, 697-715, eqs. 5-6):
y_i = x_i' beta + u_i + e_i, u_i ~ N(0, tau_i^2), e_i ~ N(0, v_i), with the log link
log tau_i^2 = z_i' alpha (metafor's default ``link = "log"``). Moderators of the
*variability* of the true effects enter the scale part.

Estimation as metafor 3.8 (``optbeta = FALSE``): beta is profiled out by weighted least
squares at tau_i^2 (w_i = 1 / (v_i + tau_i^2)), and the ML or REML log-likelihood of
alpha (metafor's ``.ll.rma.ls``, with ``REMLf = TRUE``'s constant 1/2 log|X'X|) is
maximised; here by Newton-Raphson with the analytic gradient and Hessian

    d l / d theta_i = -1/2 S_ii + 1/2 (P y)_i^2,
    d^2 l / d theta_i d theta_j = 1/2 S_ij^2 - (P y)_i P_ij (P y)_j,

theta_i = tau_i^2, P = W - W X (X'WX)^-1 X'W, S = P for REML and S = W for ML
(Harville 1977, JASA 72, 320-338, eqs. for the (restricted) likelihood of variance
components; chain rule d theta_i / d alpha = theta_i z_i), in metafor's rescaled coordinates
(``scaleZ``: scale moderators other than dummies standardised; :func:`_scaling`). Where metafor stops its
optimiser (``nlminb``) at its tolerance, this fit goes on to the maximum; see
tests/reference/location_scale.R for the comparison.

Inference as metafor: location coefficients with Wald z tests and the covariance
(X'WX)^-1 at the estimated tau_i^2; scale coefficients with the inverse of the negative
Hessian of the profiled log-likelihood (metafor's numerical ``numDeriv::hessian`` of the
same function; here exact); Q_M and Q_S omnibus Wald tests; fit statistics (log-likelihood,
deviance, AIC, BIC, AICc with p + q parameters) as metafor's ``fit.stats``; the likelihood-
ratio test of the scale part against the model with one tau^2 (metafor's
``anova(fit, update(fit, scale = ~ 1))``), whose maximum is found exactly (tau^2 = 0
allowed) by Fisher scoring to convergence (:mod:`alliance_meta.models.metareg`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg

from alliance_meta.engines import distributions as dist
from alliance_meta.engines.design import Design, build_design, design_variables, dropped_note, marginal_rows
from alliance_meta.engines.heterogeneity import TIGHT_CONTROL, level_alpha
from alliance_meta.models import metareg

MAX_ITERATIONS = 500
#: tau_i^2 below this fraction of the smallest sampling variance counts as the boundary tau^2 = 0
BOUNDARY = 1e-8


def _loglik_parts(alpha, y, v, X, Z, reml):
    """Profiled log-likelihood of alpha (without the constant) and its state."""
    tau2 = np.exp(Z @ alpha)
    w = 1.0 / (v + tau2)
    gram = X.T @ (w[:, None] * X)
    chol = linalg.cho_factor(gram)
    beta = linalg.cho_solve(chol, X.T @ (w * y))
    residual = y - X @ beta
    ll = -0.5 * np.sum(np.log(v + tau2)) - 0.5 * np.sum(w * residual**2)
    if reml:
        ll -= np.sum(np.log(np.diag(chol[0])))  # -1/2 log|X'WX|
    return ll, tau2, w, chol, residual


def _derivatives(alpha, y, v, X, Z, reml):
    """Log-likelihood (no constant), gradient and Hessian in alpha (k x k algebra)."""
    ll, tau2, w, chol, residual = _loglik_parts(alpha, y, v, X, Z, reml)
    wx = w[:, None] * X
    P = np.diag(w) - wx @ linalg.cho_solve(chol, wx.T)
    py = w * residual
    gradient_theta = -0.5 * (np.diag(P) if reml else w) + 0.5 * py**2
    hessian_theta = (0.5 * P**2 if reml else 0.5 * np.diag(w**2)) - np.outer(py, py) * P
    gradient_eta = tau2 * gradient_theta
    hessian_eta = np.outer(tau2, tau2) * hessian_theta + np.diag(gradient_eta)
    return ll, Z.T @ gradient_eta, Z.T @ hessian_eta @ Z


def _value(alpha, y, v, X, Z, reml) -> float:
    """The profiled log-likelihood at alpha, -inf where it cannot be evaluated (overflow)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        try:
            value = _loglik_parts(alpha, y, v, X, Z, reml)[0]
        except (linalg.LinAlgError, ValueError):
            return -np.inf
    return value if np.isfinite(value) else -np.inf


def _maximise(alpha, y, v, X, Z, reml):
    """Newton-Raphson with step halving (the negative Hessian made positive definite by
    its eigenvalues' absolute values where it is not). Returns alpha, iterations, converged."""
    ll, gradient, hessian = _derivatives(alpha, y, v, X, Z, reml)
    for iteration in range(1, MAX_ITERATIONS + 1):
        values, vectors = np.linalg.eigh(-hessian)
        values = np.maximum(np.abs(values), 1e-12 * max(1.0, np.abs(values).max()))
        step = vectors @ ((vectors.T @ gradient) / values)
        if float(gradient @ step) < 1e-24 or np.max(np.abs(step)) < 1e-13:
            return alpha, iteration, True
        for _ in range(60):
            value = _value(alpha + step, y, v, X, Z, reml)
            if value >= ll - 1e-12 * abs(ll):
                break
            step = step / 2
        else:
            return alpha, iteration, False
        alpha = alpha + step
        gain, (ll, gradient, hessian) = value - ll, _derivatives(alpha, y, v, X, Z, reml)
        boundary = np.any(np.exp(Z @ alpha) < BOUNDARY * v.min())
        if gain <= 1e-15 * max(1.0, abs(ll)) and (np.max(np.abs(step)) < 1e-10 or boundary):
            return alpha, iteration, True
    return alpha, MAX_ITERATIONS, False


def log_likelihood(y, v, X, tau2, method: str) -> float:
    """metafor's ``ll.ML`` / ``ll.REML`` (with ``REMLf = TRUE``) at tau_i^2 (scalar or per row)."""
    y, v, X = np.asarray(y, float), np.asarray(v, float), np.asarray(X, float)
    k, p = X.shape
    tau2 = np.broadcast_to(np.asarray(tau2, float), y.shape)
    w = 1.0 / (v + tau2)
    gram = X.T @ (w[:, None] * X)
    beta = np.linalg.solve(gram, X.T @ (w * y))
    rss = float(np.sum(w * (y - X @ beta) ** 2))
    if method == "ML":
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * rss
    if method == "REML":
        return (-0.5 * (k - p) * np.log(2 * np.pi) + 0.5 * np.linalg.slogdet(X.T @ X)[1]
                - 0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * np.linalg.slogdet(gram)[1] - 0.5 * rss)
    raise ValueError(f"log-likelihood defined for ML and REML, not {method!r}")


def fit_statistics(loglik: float, y, v, k: int, p: int, parameters: int, method: str) -> dict:
    """metafor's ``fit.stats`` column of ``method``: ll, deviance, AIC, BIC, AICc
    (``rma.uni``: BIC and AICc of REML use k - p observations; the ML deviance is
    against the saturated model, -2 (ll - sum log N(y_i; y_i, v_i)))."""
    n = k if method == "ML" else k - p
    if method == "ML":
        saturated = float(np.sum(dist.norm.logpdf(y, y, np.sqrt(v))))
        deviance = -2 * (loglik - saturated) if k > p else 0.0
    else:
        deviance = -2 * loglik
    corrected = max(n, parameters + 2)
    return {"loglik": loglik, "deviance": deviance, "aic": -2 * loglik + 2 * parameters,
            "bic": -2 * loglik + parameters * np.log(n),
            "aicc": -2 * loglik + 2 * parameters * corrected / (corrected - parameters - 1)}


def _wald(estimate, covariance, indices):
    """Omnibus Wald chi^2 over ``indices``: (Q, df, p); NaN when not computable."""
    if not indices:
        return np.nan, 0, np.nan
    b = estimate[list(indices)]
    block = covariance[np.ix_(indices, indices)]
    try:
        q = float(b @ np.linalg.solve(block, b))
    except np.linalg.LinAlgError:
        return np.nan, len(indices), np.nan
    return q, len(indices), float(dist.chi2.sf(q, len(indices)))


def _omnibus_indices(count: int, intercept: bool) -> tuple[int, ...]:
    """Coefficients of an omnibus test: all but the intercept (all of an intercept-only part), as metafor's btt/att."""
    return tuple(range(1, count)) if intercept and count > 1 else tuple(range(count))


@dataclass(frozen=True)
class LocationScaleFit:
    """A fitted location-scale model (Wald z tests, log link)."""

    location_columns: tuple[str, ...]
    scale_columns: tuple[str, ...]
    beta: np.ndarray
    vb: np.ndarray
    alpha: np.ndarray
    va: np.ndarray
    tau2: np.ndarray  # per row
    k: int
    method: str
    level: float
    statistics: dict  # loglik, deviance, aic, bic, aicc
    qm: tuple  # (Q_M, df, p) of the location coefficients but the intercept
    qs: tuple  # (Q_S, df, p) of the scale coefficients but the intercept
    qe: float
    qe_p: float
    tau2_constant: float
    loglik_constant: float
    lrt: float
    lrt_df: int
    lrt_p: float
    iterations: int
    converged: bool
    note: str = ""
    location_design: Design | None = None
    scale_design: Design | None = None

    @property
    def parameters(self) -> int:
        return len(self.beta) + len(self.alpha)

    def coefficients(self) -> pd.DataFrame:
        """One row per coefficient: ``part`` (location | scale), ``term``, ``estimate``, ``se``,
        ``statistic`` (z), ``pval``, ``ci_lower``, ``ci_upper``."""
        critical = dist.norm.isf(level_alpha(self.level) / 2)
        parts = []
        for part, columns, estimate, covariance in (("location", self.location_columns, self.beta, self.vb),
                                                    ("scale", self.scale_columns, self.alpha, self.va)):
            se = np.sqrt(np.diag(covariance))
            with np.errstate(divide="ignore", invalid="ignore"):
                z = estimate / se
            parts.append(pd.DataFrame({"part": part, "term": columns, "estimate": estimate, "se": se,
                                       "statistic": z, "pval": 2 * dist.norm.sf(np.abs(z)),
                                       "ci_lower": estimate - critical * se, "ci_upper": estimate + critical * se}))
        return pd.concat(parts, ignore_index=True)

    def summary(self) -> dict:
        """Model-level statistics (the columns repeated on every row of :meth:`to_frame`)."""
        return {"k": self.k, "method": self.method, "parameters": self.parameters, **self.statistics,
                "qm": self.qm[0], "qm_df": self.qm[1], "qm_p": self.qm[2],
                "qs": self.qs[0], "qs_df": self.qs[1], "qs_p": self.qs[2],
                "qe": self.qe, "qe_df": self.k - len(self.beta), "qe_p": self.qe_p,
                "tau2_constant": self.tau2_constant, "loglik_constant": self.loglik_constant,
                "lrt": self.lrt, "lrt_df": self.lrt_df, "lrt_p": self.lrt_p,
                "iterations": self.iterations, "converged": self.converged, "note": self.note}

    def to_frame(self) -> pd.DataFrame:
        """:meth:`coefficients` with the model-level statistics on every row."""
        return self.coefficients().assign(**self.summary())

    def tau2_at(self, Z_new) -> pd.DataFrame:
        """tau^2 = exp(z' alpha) at rows of ``Z_new`` with its CI, exp(z'alpha -+ crit se)
        (metafor's ``predict(fit, newscale = Z_new, transf = exp)``); also log tau^2 and its se."""
        Z_new = np.atleast_2d(np.asarray(Z_new, float))
        log_tau2 = Z_new @ self.alpha
        se = np.sqrt(np.einsum("nq,qr,nr->n", Z_new, self.va, Z_new))
        critical = dist.norm.isf(level_alpha(self.level) / 2)
        with np.errstate(over="ignore"):  # a level whose tau^2 is not identified: an upper bound of inf, as R's exp
            return pd.DataFrame({"log_tau2": log_tau2, "log_tau2_se": se, "tau2": np.exp(log_tau2),
                                 "tau2_ci_lower": np.exp(log_tau2 - critical * se),
                                 "tau2_ci_upper": np.exp(log_tau2 + critical * se)})


def _metafor_start(y, v, X, Z):
    """metafor's starting alpha: log squared standardised residuals of the Hedges (HE) fit,
    e_i^2, regressed on Z by weighted least squares with sampling variances 4 se_i^2 / e_i^2
    (``rma.uni``'s ``alpha.init`` for ``link = "log"``); None when a residual is 0."""
    tau2 = metareg.fit(y, v, X, method="HE").tau2
    w = 1.0 / (v + tau2)
    gram = X.T @ (w[:, None] * X)
    hat = X @ np.linalg.solve(gram, (w[:, None] * X).T)  # H = X (X'WX)^-1 X'W
    residual = y - hat @ y
    complement = np.eye(len(y)) - hat
    se2 = np.einsum("ij,j,ij->i", complement, v + tau2, complement)
    if np.any(residual == 0) or not np.all(np.isfinite(se2)):
        return None
    weights = residual**2 / (4 * se2)
    return np.linalg.solve(Z.T @ (weights[:, None] * Z), Z.T @ (weights * np.log(residual**2)))


def _starts(y, v, X, Z, constant):
    """Starting values: metafor's, and the model's constant tau^2 (floored at a tenth of the
    median sampling variance) as intercept with other coefficients 0. The likelihood can have
    several maxima; the fit keeps the highest."""
    tau2 = constant.tau2 if np.isfinite(constant.tau2) else 0.0
    target = np.full(len(y), np.log(max(tau2, 0.1 * float(np.median(v)))))
    starts = [_metafor_start(y, v, X, Z), np.linalg.lstsq(Z, target, rcond=None)[0]]
    return [start for start in starts if start is not None and np.all(np.isfinite(start))]


def _scaling(Z) -> np.ndarray:
    """T with Z T = Z's columns other than the intercept and 0/1 dummies standardised (alpha = T b):
    metafor's ``scaleZ = TRUE``. Newton-Raphson runs in b, where a moderator far from 0 relative to its
    spread (publication year, uncentred) does not make the Hessian nearly singular; the identity for a
    Z without an intercept column."""
    q = Z.shape[1]
    scaling = np.eye(q)
    if q == 1 or not np.all(Z[:, 0] == 1.0):
        return scaling
    for j in range(1, q):
        if np.all((Z[:, j] == 0) | (Z[:, j] == 1)):
            continue
        mean, sd = Z[:, j].mean(), Z[:, j].std(ddof=1)
        scaling[0, j], scaling[j, j] = -mean / sd, 1.0 / sd
    return scaling


def _checked(yi, vi, X, Z, method):
    if method not in ("ML", "REML"):
        raise ValueError(f"location-scale models are fitted by ML or REML (as metafor), not {method!r}")
    y, v = np.asarray(yi, float), np.asarray(vi, float)
    X = np.asarray(X, float).reshape(len(y), -1)
    Z = np.asarray(Z, float).reshape(len(y), -1)
    k, p, q = len(y), X.shape[1], Z.shape[1]
    if p + q > k:
        raise ValueError(f"{p} location and {q} scale coefficients cannot be estimated from k = {k} rows")
    if np.linalg.matrix_rank(X) < p or np.linalg.matrix_rank(Z) < q:
        raise ValueError("the location or scale model matrix is not of full column rank")
    return y, v, X, Z


def fit(yi, vi, X, Z, location_columns=None, scale_columns=None, method: str = "REML", level: float = 95.0,
        location_design: Design | None = None, scale_design: Design | None = None) -> LocationScaleFit:
    """Fit ``rma(yi, vi, mods = X, scale = Z, intercept = FALSE, method = method)`` (log link).

    ``X`` and ``Z`` include their intercept columns (an all-ones first column is the
    intercept: its coefficient is left out of Q_M / Q_S). Newton-Raphson from metafor's
    starting values and from the constant tau^2; the higher maximum is kept. ValueError for
    methods other than ML and REML, more coefficients than rows, or rank-deficient X or Z.
    """
    y, v, X, Z = _checked(yi, vi, X, Z, method)
    reml = method == "REML"
    constant = metareg.fit(y, v, X, method=method, control=TIGHT_CONTROL)
    scaling = _scaling(Z)
    Z_scaled = Z @ scaling
    candidates = [_maximise(np.linalg.solve(scaling, start), y, v, X, Z_scaled, reml)
                  for start in _starts(y, v, X, Z, constant)]
    b, iterations, converged = max(candidates, key=lambda c: _loglik_parts(c[0], y, v, X, Z_scaled, reml)[0])
    alpha = scaling @ b
    return _assemble(alpha, y, v, X, Z, method, level, constant, location_columns, scale_columns, iterations,
                     converged, location_design, scale_design)


def evaluate(yi, vi, X, Z, alpha, location_columns=None, scale_columns=None, method: str = "REML",
             level: float = 95.0, location_design: Design | None = None,
             scale_design: Design | None = None) -> LocationScaleFit:
    """The model at given scale coefficients ``alpha`` (e.g. another program's estimates):
    everything :func:`fit` reports, computed at ``alpha`` instead of at the maximum."""
    y, v, X, Z = _checked(yi, vi, X, Z, method)
    constant = metareg.fit(y, v, X, method=method, control=TIGHT_CONTROL)
    return _assemble(np.asarray(alpha, float), y, v, X, Z, method, level, constant, location_columns,
                     scale_columns, 0, True, location_design, scale_design)


def _assemble(alpha, y, v, X, Z, method, level, constant, location_columns, scale_columns, iterations, converged,
              location_design, scale_design) -> LocationScaleFit:
    """Coefficients, covariances, tests and fit statistics at ``alpha``."""
    k, p, q = len(y), X.shape[1], Z.shape[1]
    # the Hessian in the rescaled coordinates b (alpha = T b), mapped back: va = T (-H_b)^-1 T', as metafor's
    # scaleZ; inverting the raw Hessian of a moderator far from 0 (year + 1e7) lost digits of the SEs
    scaling = _scaling(Z)
    _, _, hessian = _derivatives(np.linalg.solve(scaling, alpha), y, v, X, Z @ scaling, method == "REML")
    _, tau2, w, chol, _ = _loglik_parts(alpha, y, v, X, Z, method == "REML")
    beta = linalg.cho_solve(chol, X.T @ (w * y))
    vb = linalg.cho_solve(chol, np.eye(p))
    notes = [] if converged else [f"Newton-Raphson did not converge in {MAX_ITERATIONS} iterations"]
    dropped = {part: dropped_note(design) for part, design in (("location", location_design), ("scale", scale_design))}
    if dropped["location"] and dropped["location"] == dropped["scale"]:
        notes.append(f"{dropped['location']} (location and scale parts)")
    else:
        notes += [f"{note} ({part} part)" for part, note in dropped.items() if note]
    try:
        va = scaling @ np.linalg.inv(-hessian) @ scaling.T
        if np.any(np.diag(va) <= 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        va = np.full((q, q), np.nan)
        notes.append("the Hessian of the scale coefficients is not invertible: no standard errors")
    if np.any(tau2 < BOUNDARY * v.min()):
        notes.append("tau^2 of some rows is at the boundary 0 (scale coefficients diverge): their estimates "
                     "and standard errors are not meaningful")
    loglik = log_likelihood(y, v, X, tau2, method)
    loglik_constant = log_likelihood(y, v, X, constant.tau2, method)
    z_intercept, x_intercept = bool(np.all(Z[:, 0] == 1.0)), bool(np.all(X[:, 0] == 1.0))
    lrt = max(0.0, 2 * (loglik - loglik_constant)) if z_intercept else np.nan
    lrt_df = q - 1 if z_intercept else 0
    lrt_p = float(dist.chi2.sf(lrt, lrt_df)) if z_intercept and lrt_df > 0 else np.nan
    return LocationScaleFit(
        location_columns=tuple(location_columns or (f"x{j}" for j in range(p))),
        scale_columns=tuple(scale_columns or (f"z{j}" for j in range(q))), beta=beta, vb=vb, alpha=alpha, va=va,
        tau2=tau2, k=k, method=method, level=level, statistics=fit_statistics(loglik, y, v, k, p, p + q, method),
        qm=_wald(beta, vb, _omnibus_indices(p, x_intercept)), qs=_wald(alpha, va, _omnibus_indices(q, z_intercept)),
        qe=constant.qe, qe_p=constant.qe_p, tau2_constant=constant.tau2, loglik_constant=loglik_constant,
        lrt=lrt, lrt_df=lrt_df, lrt_p=lrt_p, iterations=iterations, converged=converged, note="; ".join(notes),
        location_design=location_design, scale_design=scale_design)


def fit_formula(data: pd.DataFrame, location_formula: str, scale_formula: str | None = None,
                method: str = "REML", level: float = 95.0, continuous=(), reference_levels=None,
                centre: bool = False) -> LocationScaleFit:
    """Location-scale model of ``data.yi`` (variances ``data.vi``) with moderators coded by
    :func:`alliance_meta.engines.design.build_design` (reference levels and centring as the
    rest of the project). ``scale_formula`` None: the location formula; ``"1"``: one tau^2."""
    scale_formula = location_formula if scale_formula is None else scale_formula
    designs = [model_design(data, formula, continuous, reference_levels, centre)
               for formula in (location_formula, scale_formula)]
    return fit(data["yi"], data["vi"], designs[0].matrix, designs[1].matrix, designs[0].columns,
               designs[1].columns, method, level, designs[0], designs[1])


def model_design(data, formula, continuous=(), reference_levels=None, centre=False) -> Design:
    """:func:`alliance_meta.engines.design.build_design`, with ``"1"`` (or "") the intercept alone."""
    if formula.strip() in ("", "1"):
        return Design(np.ones((len(data), 1)), ("intercept",))
    return build_design(data, formula, continuous, reference_levels, centre)


def tau2_by_level(fit: LocationScaleFit, data: pd.DataFrame, continuous=(), values=None) -> pd.DataFrame:
    """tau^2 at each level of each categorical scale moderator (other moderators as observed,
    averaged on the log scale: :func:`alliance_meta.engines.design.marginal_rows`), with its CI.
    Continuous scale moderators: at ``values[name]``, default mean - SD, mean, mean + SD of the rows."""
    design = fit.scale_design
    if design is None or design.columns == ("intercept",):
        return pd.DataFrame(columns=["variable", "level", "k", "log_tau2", "log_tau2_se", "tau2",
                                     "tau2_ci_lower", "tau2_ci_upper"])
    tables = []
    for name in design_variables(design):
        if name in continuous:
            numbers = pd.to_numeric(data[name]).to_numpy(float)
            levels = list((values or {}).get(name, [numbers.mean() - numbers.std(ddof=1), numbers.mean(),
                                                    numbers.mean() + numbers.std(ddof=1)]))
            counts = [np.nan] * len(levels)
        else:
            text = data[name].astype(str)
            levels = sorted(set(text))
            counts = [int((text == level).sum()) for level in levels]
        table = fit.tau2_at(marginal_rows(design, data, name, levels))
        table.insert(0, "k", counts)
        table.insert(0, "level", [str(level) for level in levels])
        table.insert(0, "variable", name)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def location_scale_table(data: pd.DataFrame, location_formula: str, scale_formula: str | None = None, *,
                         method: str = "REML", level: float = 95.0, continuous=(), reference_levels=None,
                         centre: bool = False, model: str | None = None) -> pd.DataFrame:
    """Rows of ``location_scale.csv`` for one model: ``model``, ``part`` (location | scale),
    ``term``, ``estimate``, ``se``, ``statistic``, ``pval``, ``ci_lower``, ``ci_upper``, then
    the model's statistics (``loglik``, ``lrt``, ``lrt_df``, ``lrt_p`` of the scale part
    against one tau^2, ``qs``, ...). ``data``: rows with ``yi``, ``vi`` and the moderators
    (rows lacking a moderator are the caller's to drop)."""
    fitted = fit_formula(data, location_formula, scale_formula, method, level, continuous, reference_levels, centre)
    table = fitted.to_frame()
    table.insert(0, "scale_formula", location_formula if scale_formula is None else scale_formula)
    table.insert(0, "location_formula", location_formula)
    table.insert(0, "model", model or location_formula)
    return table


__all__ = ["LocationScaleFit", "fit", "evaluate", "fit_formula", "location_scale_table", "tau2_by_level", "log_likelihood",
           "fit_statistics", "model_design"]
