"""Mixed-effects meta-regression, as metafor's ``rma.uni(yi, vi, mods = ...)``.

Model: y_i = x_i' beta + u_i + e_i, u_i ~ N(0, tau^2), e_i ~ N(0, v_i)
(Viechtbauer 2010, J Stat Softw 36(3), sec. 2.3; Borenstein et al. 2009, ch. 20).
tau^2 by any estimator of :mod:`alliance_meta.engines.tau2_mods`; beta by weighted least
squares with w_i = 1/(v_i + tau^2); Wald z tests and the omnibus Q_M (chi^2 on m
df) or Knapp & Hartung (2003, Stat Med 22) t tests and F = Q_M / (m s^2) on
(m, k - p) df with s^2 = sum w e^2 / (k - p) (``knha_adhoc``: s^2 not below 1, metafor's
``test = "adhoc"``, in the coefficients' tests, F and the predictions alike). GENQ (fixed weights a,
default 1/sqrt(v) as the intercept-only model) estimates beta with the weights a and the sandwich
covariance B X'A diag(v + tau^2) A X B, B = (X'AX)^-1, scaled for Knapp-Hartung by the s^2 above (of the
1/(v + tau^2)-weighted fit), as metafor's ``rma.uni(weights = a)``; residual heterogeneity Q_E with
k - p df (fixed-effects weights); I^2 with metafor's typical within-study variance
(k - p) / tr P (of a common-effect fit from Q_E, as metafor: 100 (Q_E - (k - p)) / Q_E); pseudo
R^2 = 100 max(0, (tau^2_RE - tau^2) / tau^2_RE) against the
random-effects model fitted by the same estimator (Raudenbush 2009, in Cooper et
al., Handbook of Research Synthesis, ch. 16; metafor's default ``r2def = "1"``), 0 when
tau^2_RE is 0 and NaN when it did not converge; of a common-effect fit (FE, EE, CE) the
adjusted R^2 of the weighted least-squares regression, floored at 0, as metafor (see :func:`pseudo_r2`).
``tau2_null`` is tau^2_RE, so that a report can say why an R^2 of 0 tells nothing.
All costs are O(k p^2): no k x k matrix is formed.

A tau^2 estimate that does not converge (e.g. Fisher scoring past its iteration
limit) gives a result with ``converged=False``, a ``note`` and NaN for every
quantity that depends on tau^2 (coefficients, their covariance, Q_M, F, I^2, H^2,
R^2); Q_E, which uses the fixed-effects weights only, is still reported. No other
estimator is substituted. ``strict=True`` raises RuntimeError instead (for callers
that report failures themselves, e.g. the Egger test of :mod:`alliance_meta.analyses.bias`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.engines import distributions as dist
from alliance_meta.engines import tau2_mods
from alliance_meta.engines.design import Design, build_design
from alliance_meta.engines.heterogeneity import common_effect_i2_h2, i2_h2, scaled_rows, weight_exponent
from alliance_meta.models.univariate import ADHOC_NOTE, adhoc_scale, genq_weights
from alliance_meta.wording import did_you_mean


def fixed_effects(X, y, v, tau2, knha_adhoc: bool = False, weights=None):
    """WLS for a batch at given tau^2: ``(beta, covariance, s2)``, the Wald covariance ``(X'WX)^-1``
    with ``W = diag(1/(v + tau^2))``, and the Knapp-Hartung scale ``s2 = sum w e^2 / (k - p)`` of that fit
    (0 when the weighted residual sum of squares is <= machine epsilon, as metafor;
    ``knha_adhoc``: not below 1, :func:`~alliance_meta.models.univariate.adhoc_scale`).
    ``weights`` (GENQ's ``a``, (B, k) or (k,)): beta weighted by ``a`` with the sandwich covariance
    ``B X'A diag(v + tau^2) A X B``, ``B = (X'AX)^-1``; s2 is still that of the W fit (metafor's rma.uni)."""
    k, p = X.shape
    w = 1.0 / (v + tau2[:, None])
    beta, residual, covariance = tau2_mods.weighted_fit(X, y, w)
    rss = np.sum(w * residual**2, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(rss <= np.finfo(float).eps, 0.0, rss / (k - p))
    if weights is not None:
        a = np.broadcast_to(np.asarray(weights, float), v.shape)
        beta, _, bread = tau2_mods.weighted_fit(X, y, a)
        covariance = bread @ tau2_mods.weighted_gram(X, a**2 * (v + tau2[:, None])) @ bread
    return beta, covariance, adhoc_scale(scale) if knha_adhoc else scale


def omnibus(beta, covariance, btt):
    """Wald Q_M = b' V^-1 b over the coefficients ``btt``, for a batch."""
    b = beta[:, btt]
    block = covariance[:, btt][:, :, btt]
    return np.einsum("bp,bp->b", b, np.linalg.solve(block, b[..., None])[..., 0])


@dataclass(frozen=True)
class MetaRegression:
    """A fitted mixed-effects meta-regression (both Wald z and Knapp-Hartung tests; ``knha_adhoc``: the
    Knapp-Hartung ones are metafor's ad hoc variant, ``knha_scale`` not below 1)."""

    columns: tuple[str, ...]
    estimate: np.ndarray
    covariance: np.ndarray
    knha_scale: float
    k: int
    method: str
    tau2: float
    level: float
    btt: tuple[int, ...]
    qm: float
    qm_p: float
    f: float
    f_p: float
    qe: float
    qe_p: float
    i2: float
    h2: float
    r2: float
    iterations: int
    design: Design | None = None
    converged: bool = True
    note: str = ""
    control: object | None = None  # heterogeneity.Control of the fit (None: metafor's defaults)
    tau2_null: float = np.nan  # tau^2 of the intercept-only model, R^2's denominator (NaN: not fitted)
    knha_adhoc: bool = False  # knha_scale is metafor's ad hoc s^2 (test = "adhoc"): not below 1
    weights: np.ndarray | None = None  # GENQ's fixed weights a (None for every other estimator)

    @property
    def p(self) -> int:
        return len(self.columns)

    @property
    def qm_df(self) -> int:
        return len(self.btt)

    @property
    def residual_df(self) -> int:
        return self.k - self.p

    def coefficients(self, test: str = "z") -> pd.DataFrame:
        """Coefficient table of one test: estimate, se, statistic, p, CI."""
        se = np.sqrt(np.diag(self.covariance))
        alpha = 1 - self.level / 100
        if test == "z":
            critical, statistic = dist.norm.isf(alpha / 2), self.estimate / se
            p = 2 * dist.norm.sf(np.abs(statistic))
        elif test == "knha":
            se = se * np.sqrt(self.knha_scale)
            with np.errstate(divide="ignore", invalid="ignore"):
                statistic = self.estimate / se
            df = self.residual_df
            critical = dist.t.isf(alpha / 2, df) if df > 0 else np.nan
            p = 2 * dist.t.sf(np.abs(statistic), df) if df > 0 else np.full(self.p, np.nan)
        else:
            raise ValueError(f"unknown test {test!r}{did_you_mean(test, ('z', 'knha'))}; expected z or knha")
        return pd.DataFrame({"term": self.columns, "estimate": self.estimate, "se": se,
                             "statistic": statistic, "p": p, "ci_lower": self.estimate - critical * se,
                             "ci_upper": self.estimate + critical * se})

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: Wald z columns, then Knapp-Hartung (``*_knha``, t on k - p df)."""
        wald = self.coefficients("z").rename(columns={"statistic": "z"})
        knha = self.coefficients("knha").drop(columns=["term", "estimate"])
        knha = knha.rename(columns={"statistic": "t"}).add_suffix("_knha").rename(columns={"t_knha": "t"})
        frame = pd.concat([wald, knha], axis=1)
        frame.insert(1, "k", self.k)
        frame["df_knha"] = self.residual_df
        return frame

    def summary(self) -> dict:
        """Model-level statistics with the contract's names (``moderators.csv``), then
        ``converged`` and ``note``."""
        return {"k": self.k, "qm": self.qm, "qm_df": self.qm_df, "qm_p": self.qm_p, "f": self.f,
                "f_df1": self.qm_df, "f_df2": self.residual_df, "f_p": self.f_p, "tau2": self.tau2,
                "r2": self.r2, "qe": self.qe, "qe_p": self.qe_p, "qe_df": self.residual_df,
                "i2": self.i2, "h2": self.h2, "tau2_null": self.tau2_null, "converged": self.converged,
                "note": self.note}

    def predict(self, X_new, test: str = "z"):
        """Fitted means at rows of ``X_new`` with SE and CI: ``(mean, se, lower, upper)``."""
        X_new = np.atleast_2d(np.asarray(X_new, float))
        scale = self.knha_scale if test == "knha" else 1.0
        mean = X_new @ self.estimate
        se = np.sqrt(np.einsum("np,pq,nq->n", X_new, self.covariance, X_new) * scale)
        alpha = 1 - self.level / 100
        critical = dist.t.isf(alpha / 2, self.residual_df) if test == "knha" else dist.norm.isf(alpha / 2)
        return mean, se, mean - critical * se, mean + critical * se


def _heterogeneity(X, y, v):
    """Q_E (fixed-effects weights, centred y as metafor), its p, and metafor's typical v.

    tr(P) = sum w - tr((X'WX)^-1 X'W^2X) is taken at the weights divided by 2^e
    (:func:`~alliance_meta.engines.heterogeneity.weight_exponent`: e = 0 for every ordinary fit) and scaled back:
    the squares of weights 1/vi near 1e300 (two variances near 1e-300) overflowed, and numpy's warnings came
    before Egger's test said it is not estimable there."""
    k, p = X.shape
    if k <= p:
        return 0.0, 1.0, 0.0
    w = 1.0 / v[None, :]
    centred = (y - y.mean())[None, :]
    _, residual, inverse = tau2_mods.weighted_fit(X, centred, w)
    qe = max(0.0, float(np.sum(w * residual**2)))
    exponent = np.array([weight_exponent(float(np.sum(w)))])
    scaled, scaled_inverse = scaled_rows(w, exponent), scaled_rows(inverse, -exponent)  # w / 2^e, (X'WX)^-1 2^e
    trace_p = float(np.ldexp(np.sum(scaled) - np.trace(scaled_inverse[0] @ tau2_mods.weighted_gram(X, scaled**2)[0]),
                             exponent[0]))
    return qe, float(dist.chi2.sf(qe, k - p)), (k - p) / trace_p


def _tau2(X, y, v, method, control, weights=None):
    """tau^2 of one data set and its iterations; NaN and a message when it failed."""
    try:
        tau2, iterations = tau2_mods.estimate_tau2(X, y[None], v[None], method, control, weights)
    except RuntimeError as error:  # e.g. uniroot of PM / PMM
        return np.nan, 0, f"tau^2 estimator {method} did not converge ({error})"
    if np.isnan(tau2[0]):
        limit = control.max_iterations if control is not None else tau2_mods.MAX_ITERATIONS
        detail = (f"Fisher scoring not converged after {limit} iterations" if method in tau2_mods.ITERATIVE
                  else "no root in the search interval")
        return np.nan, int(iterations[0]), f"tau^2 estimator {method} did not converge ({detail})"
    return float(tau2[0]), int(iterations[0]), ""


def fit(yi, vi, X, columns=None, method: str = "REML", level: float = 95.0, btt=None,
        design: Design | None = None, control=None, strict: bool = False,
        knha_adhoc: bool = False, weights=None) -> MetaRegression:
    """Fit ``rma.uni(yi, vi, mods = X, intercept = FALSE, method = method)`` (GENQ: ``weights = weights``,
    default :func:`~alliance_meta.models.univariate.default_genq_weights`; only GENQ takes weights).

    ``X`` includes the intercept column when there is one. ``btt`` are the
    coefficients of the omnibus test (default: all but an all-ones first column).
    A single study with an intercept-only model gets tau^2 = 0, as metafor.
    ``control``: a :class:`alliance_meta.engines.heterogeneity.Control` (Fisher scoring's
    threshold and iteration limit; None: metafor's defaults). When tau^2 does not
    converge the result has ``converged=False``, a ``note`` and NaN for everything
    that depends on tau^2 (``strict=True``: RuntimeError instead). ``knha_adhoc``: the Knapp-Hartung
    tests, F and predictions are metafor's ``test = "adhoc"`` (s^2 not below 1; the ``note`` says so).
    """
    y, v = np.asarray(yi, float), np.asarray(vi, float)
    X = np.asarray(X, float).reshape(len(y), -1)
    k, p = X.shape
    columns = tuple(columns) if columns is not None else tuple(f"x{j}" for j in range(p))
    weights = genq_weights(v, method, weights)
    intercept = bool(np.all(X[:, 0] == 1.0))
    if btt is None:
        btt = tuple(range(1, p)) if intercept and p > 1 else tuple(range(p))
    intercept_only = intercept and p == 1
    if not (intercept_only and k == 1) and p + 1 > k and method not in ("FE", "EE", "CE", "common"):
        raise ValueError(f"{p} coefficients and tau^2 cannot be estimated from k = {k} rows")
    tau2, iterations, note = (0.0, 0, "") if k == 1 else _tau2(X, y, v, method, control, weights)
    m, df = len(btt), k - p
    qe, qe_p, typical_v = _heterogeneity(X, y, v)
    common = dict(columns=columns, k=k, method=method, level=level, btt=tuple(btt), qe=qe, qe_p=qe_p,
                  iterations=iterations, design=design, control=control, knha_adhoc=knha_adhoc, weights=weights)
    if np.isnan(tau2):
        if strict:
            raise RuntimeError(note)
        nan = np.nan
        return MetaRegression(estimate=np.full(p, nan), covariance=np.full((p, p), nan), knha_scale=nan,
                              tau2=nan, qm=nan, qm_p=nan, f=nan, f_p=nan, i2=nan, h2=nan, r2=nan,
                              converged=False, note=note, **common)
    beta, covariance, scale = fixed_effects(X, y[None], v[None], np.array([tau2]), knha_adhoc, weights)
    beta, covariance, scale = beta[0], covariance[0], float(scale[0])
    qm = float(omnibus(beta[None], covariance[None], list(btt))[0])
    f = qm / m / scale if scale > 0 else np.nan  # metafor: Q_M is NA when s^2 = 0
    if k <= p:
        i2, h2 = 0.0, 1.0
    elif method in COMMON_EFFECT:  # from Q_E, as metafor's EE / FE / CE fits
        i2, h2 = common_effect_i2_h2(qe, df)
    else:
        i2, h2 = i2_h2(tau2, typical_v)
    r2, tau2_null = np.nan, np.nan
    if intercept and not intercept_only:
        r2, tau2_null, re_note = pseudo_r2(X, y, v, tau2, method, control, weights)
        if re_note:  # the model converged; only its pseudo R^2 is undefined
            note = f"R^2 not computed: random-effects model: {re_note}"
    if knha_adhoc:
        note = "; ".join(filter(None, [note, ADHOC_NOTE]))
    return MetaRegression(
        estimate=beta, covariance=covariance, knha_scale=scale, tau2=tau2, qm=qm,
        qm_p=float(dist.chi2.sf(qm, m)), f=float(f), f_p=float(dist.f.sf(f, m, df)) if df > 0 else np.nan,
        i2=float(i2), h2=float(h2), r2=float(r2), note=note, tau2_null=float(tau2_null), **common)


COMMON_EFFECT = ("FE", "EE", "CE", "common")


def r2_not_meaningful(tau2_null) -> bool:
    """Whether R^2 = 100 (tau^2_RE - tau^2) / tau^2_RE has no denominator: tau^2_RE of the intercept-only model
    (moderators.csv's ``tau2_null``, also read from a CSV cell) is 0, where metafor's rma.uni sets R^2 to 0 by
    rule rather than measuring anything (``identical(tau2.RE, 0)``); reports and figures then say why instead of
    printing "R² = 0.0%". metafor has no other threshold, so neither do we: a tau^2_RE above 0 gives its ratio."""
    try:
        return float(tau2_null) == 0
    except (TypeError, ValueError):
        return False


def pseudo_r2(X, y, v, tau2: float, method: str, control=None, weights=None) -> tuple[float, float, str]:
    """``(R^2 in %, tau^2 of the intercept-only model, note)`` of a model with an intercept, by metafor's
    rule (rma.uni.r, "compute pseudo R^2 statistic", metafor 3.8 to 5.1, default ``r2def = "1"``):

    - common-effect fits (FE, EE, CE): ``max(0, 100 * summary(lm(yi ~ X, weights = 1/vi))$adj.r.squared)``,
      0 when every yi is the same; tau^2_RE is not fitted (NaN);
    - otherwise tau^2_RE of ``rma.uni(yi, vi, method = method)`` (GENQ: with the model's ``weights``): R^2 = 0
      when ``identical(tau2.RE, 0)``,
      else ``max(0, 100 * (tau2.RE - tau2) / tau2.RE)``; NaN (with a note) when that fit fails.

    metafor sets no other threshold: a tau^2_RE just above 0 gives whatever ratio it gives."""
    k, p = X.shape
    if method in COMMON_EFFECT:
        if np.all(y == y[0]):  # identical(var(yi), 0)
            return 0.0, np.nan, ""
        w = 1.0 / v
        beta, residual, _ = tau2_mods.weighted_fit(X, y[None], w[None])
        rss = float(np.sum(w * residual[0] ** 2))
        centred = y - np.sum(w * y) / np.sum(w)
        rank = np.linalg.matrix_rank(X)
        if k - rank <= 0:  # lm's adjusted R^2 divides by the residual df
            return np.nan, np.nan, ""
        adjusted = 1 - (rss / float(np.sum(w * centred**2))) * (k - 1) / (k - rank)
        return max(0.0, 100 * adjusted), np.nan, ""
    tau2_re, _, re_note = _tau2(np.ones((k, 1)), y, v, method, control, weights)
    if re_note:
        return np.nan, np.nan, re_note
    return (0.0 if tau2_re == 0 else max(0.0, 100 * (tau2_re - tau2) / tau2_re)), tau2_re, ""


def fit_formula(frame: pd.DataFrame, formula: str, method: str = "REML", level: float = 95.0,
                continuous=(), reference_levels=None, centre: bool = False, control=None,
                strict: bool = False, knha_adhoc: bool = False) -> MetaRegression:
    """Meta-regression of ``frame.yi`` (variances ``frame.vi``) on a formula's terms."""
    design = build_design(frame, formula, continuous, reference_levels, centre)
    return fit(frame["yi"], frame["vi"], design.matrix, design.columns, method, level, design=design,
               control=control, strict=strict, knha_adhoc=knha_adhoc)
