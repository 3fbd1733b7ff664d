"""Robust variance estimation for dependent effect sizes, as robumeta's ``robu()`` and ``sensitivity()``.

Hedges, Tipton & Johnson (2010), *Res Synth Methods* 1, 39-65 (RVE with correlated or
hierarchical effects weights, method-of-moments tau^2 and omega^2); Tipton (2015),
*Psychol Methods* 20, 375-393 (small-sample correction: the CR2-type adjustment A_j of the
residuals and Satterthwaite degrees of freedom); Fisher & Tipton (2015), robumeta.

For studies j = 1..N with k_j effect sizes (M in all), design X (p + 1 columns):

- ``CORR`` (correlated effects): working weights w = 1 / (k_j vbar_j), vbar_j the study's mean
  variance; tau^2 = max(0, term1 + rho term2) with term1 = (Q_E - N + tr(Q0 sum X_j' W_j X_j / k_j))
  / (sum w - tr(Q0 sum X_j' W_j J W_j X_j)), term2 = tr(Q0 sum (w_j / k_j) (X_j' J X_j - X_j' X_j))
  / (the same denominator), Q0 = (X'WX)^-1; final weights 1 / (k_j (vbar_j + tau^2)).
- ``HIER`` (hierarchical effects): working weights 1 / v; omega^2 and tau^2 from the two
  moment equations in Q_E = sum w e^2 and Q_A = sum_j (sum_i e_ij)^2 (Hedges et al. 2010,
  sec. 5; robumeta's A1, B1, C1, A2, B2, C2); final weights 1 / (v + tau^2 + omega^2).

Robust covariance Q (sum_j X_j' W_j A_j e_j e_j' A_j W_j X_j) Q, Q = (X' W X)^-1, with
``small = True`` A_j = (I - H_jj)^(-1/2) (CORR) or E_j^(1/2) [E_j^(1/2) (I - H_jj) E_j^(3/2)]^(-1/2)
E_j^(1/2) with E_j = W_j^-1 (HIER), eigenvalues below 1e-10 dropped, and per-coefficient
df = (tr B)^2 / tr(B^2) (Tipton 2015, eq. 11); with ``small = False`` A_j = I, the factor
N / (N - p - 1) on the variance and df = N - p - 1. Everything is robumeta 2.0 step for step;
the per-study matrices are batched by study size (``eigh`` on stacks), and the df need only
the N x N Gram matrix of B's half, never the M x M matrices robumeta builds.

CR2 for univariate models (one row per study, e.g. the study composites under
``dependence: aggregate``, and their meta-regressions): :func:`univariate_cr2` hands the fit
to the three-level CR2 engine (:mod:`alliance_meta.engines.robust`) as a model whose every
study is one row with working covariance v_i + tau^2 and weights 1 / (v_i + tau^2), which is
clubSandwich's ``vcovCR(rma.uni fit, cluster = study, type = "CR2")`` with
``coef_test(..., test = "Satterthwaite")`` and ``Wald_test(..., test = "HTZ")``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.engines import distributions as dist
from alliance_meta.engines import robust
from alliance_meta.engines.study_blocks import group_by_study
from alliance_meta.inputs.options import keywords_checked
from alliance_meta.models import multilevel

MODEL_WEIGHTS = ("CORR", "HIER")
SENSITIVITY_RHOS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
EIGEN_TOLERANCE = 1e-10  # robumeta sets 1/sqrt(eigenvalue) to 0 below this
RVE_COLUMNS = ("model", "term", "estimate", "se", "df", "ci_lower", "ci_upper", "pval", "tau2", "omega2",
               "rho", "i2", "k", "n_studies", "note")


@dataclass(frozen=True)
class RveResult:
    """A robumeta ``robu()`` fit: coefficients with robust SEs and small-sample df."""

    model: str  # "CORR" or "HIER"
    names: tuple[str, ...]
    beta: np.ndarray
    se: np.ndarray
    df: np.ndarray
    statistic: np.ndarray
    p: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    vcov: np.ndarray
    tau2: float
    omega2: float  # HIER only (NaN for CORR)
    rho: float  # CORR only (NaN for HIER)
    i2: float  # CORR only (robumeta's I^2)
    k: int
    n_studies: int
    small: bool = True
    level: float = 95.0
    note: str = ""

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient in ``rve.csv`` layout (``model`` is ``corr`` or ``hier``)."""
        note = "small-sample corrected (Tipton 2015)" if self.small else "no small-sample correction"
        if self.note:
            note += f"; {self.note}"
        if np.any(self.df < robust.SMALL_DF):
            note += f"; df < {robust.SMALL_DF}: do not trust the p value (Tipton 2015)"
        return pd.DataFrame({
            "model": self.model.lower(), "term": list(self.names), "estimate": self.beta, "se": self.se,
            "df": self.df, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper, "pval": self.p,
            "tau2": self.tau2, "omega2": self.omega2, "rho": self.rho, "i2": self.i2, "k": self.k,
            "n_studies": self.n_studies, "note": note,
        }, columns=list(RVE_COLUMNS))


@dataclass(frozen=True)
class _Prepared:
    y: np.ndarray  # rows sorted by study
    v: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    blocks: object  # StudyBlocks

    @property
    def sizes_per_row(self) -> np.ndarray:
        return self.blocks.sizes[self.blocks.study_of_row].astype(float)


def _prepare(yi, vi, study_id, X=None, names=None) -> _Prepared:
    y = np.asarray(yi, dtype=float).reshape(-1)
    v = np.asarray(vi, dtype=float).reshape(-1)
    study = np.asarray(study_id)
    if not (y.size == v.size == study.size):
        raise ValueError("yi, vi and study_id must have the same length")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v) & (v > 0))):
        raise ValueError("yi must be finite and vi finite and positive")
    X = np.ones((y.size, 1)) if X is None else np.asarray(X, dtype=float).reshape(y.size, -1)
    names = tuple(names) if names is not None else (("intercept",) if X.shape[1] == 1 else
                                                     tuple(f"x{j}" for j in range(X.shape[1])))
    blocks = group_by_study(study)
    if blocks.n_studies < 2:
        raise ValueError("robust variance estimation needs at least two studies")
    if blocks.n_studies <= X.shape[1]:
        raise ValueError(f"{blocks.n_studies} studies cannot support {X.shape[1]} coefficients")
    order = blocks.order
    return _Prepared(y[order], v[order], X[order], names, blocks)


def _study_sums(data: _Prepared, values: np.ndarray) -> np.ndarray:
    return data.blocks.sums(values)


def _weighted_fit(data: _Prepared, w: np.ndarray):
    XtW = data.X.T * w
    bread = np.linalg.inv(XtW @ data.X)
    beta = bread @ (XtW @ data.y)
    return beta, bread, data.y - data.X @ beta


def _trace(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.einsum("ij,ji->", a, b))


def _corr_moments(data: _Prepared, rho: float):
    """tau^2 (truncated at 0), term1, term2 and robumeta's I^2 of the correlated-effects model."""
    k_row = data.sizes_per_row
    vbar = _study_sums(data, data.v) / data.blocks.sizes
    w = 1.0 / (k_row * vbar[data.blocks.study_of_row])
    _, bread, e = _weighted_fit(data, w)
    X = data.X
    xw_sum = _study_sums(data, X * w[:, None])  # (N, p): X_j' W_j 1
    x_sum = _study_sums(data, X)  # X_j' 1
    w_study = w[data.blocks.starts]  # constant within a study
    k_study = data.blocks.sizes.astype(float)
    n_studies = data.blocks.n_studies
    qe = float(np.sum(w * e * e))
    denominator = float(w.sum()) - _trace(bread, xw_sum.T @ xw_sum)
    term_a = _trace(bread, (X.T * (w / k_row)) @ X)
    xjx = (x_sum.T * (w_study / k_study)) @ x_sum - (X.T * (w / k_row)) @ X
    term_b = _trace(bread, xjx)
    term1 = (qe - n_studies + term_a) / denominator
    term2 = term_b / denominator
    tau2 = max(0.0, term1 + rho * term2)
    df = n_studies - term_a - rho * term_b
    i2 = max(0.0, (qe - df) / qe * 100) if qe > 0 else 0.0
    return tau2, term1, term2, i2


def _hier_moments(data: _Prepared):
    """(tau^2, omega^2, note) of the hierarchical-effects model, both truncated at 0 (robumeta)."""
    X, v = data.X, data.v
    w = 1.0 / v
    _, bread, e = _weighted_fit(data, w)
    k_study = data.blocks.sizes.astype(float)
    xw1 = _study_sums(data, X * w[:, None])  # X_j' W_j 1
    x1 = _study_sums(data, X)  # X_j' 1
    sum_xjx = x1.T @ x1
    sum_xwjwx = xw1.T @ xw1
    sum_xwjjx = (xw1.T * k_study) @ x1  # X_j' W_j J J X_j = k_j (X_j' W_j 1)(1' X_j)
    sum_xjjwx = sum_xwjjx.T
    sum_xwwx = (X.T * w * w) @ X
    sum_xjwx = x1.T @ xw1
    sum_xwjx = xw1.T @ x1
    qe = float(np.sum(w * e * e))
    qa = float(np.sum(_study_sums(data, e) ** 2))
    m, p1 = X.shape
    a1 = (float(np.sum(k_study**2)) - _trace(bread, sum_xjjwx) - _trace(bread, sum_xwjjx)
          + _trace(bread @ sum_xjx @ bread, sum_xwjwx))
    b1 = m - _trace(bread, sum_xwjx) - _trace(bread, sum_xjwx) + _trace(bread @ sum_xjx @ bread, sum_xwwx)
    c1 = float(v.sum()) - _trace(bread, sum_xjx)
    a2 = float(w.sum()) - _trace(bread, sum_xwjwx)
    b2 = float(w.sum()) - _trace(bread, sum_xwwx)
    c2 = m - p1
    determinant = b1 * a2 - b2 * a1
    if abs(determinant) <= 1e-10 * (abs(b1 * a2) + abs(b2 * a1)):
        # one effect size per study: J = I makes A1 = B1 and A2 = B2, so the two moment
        # equations coincide and omega^2 is not identified; as robumeta when its division by
        # (numerically) zero comes out negative: omega^2 = 0 and tau^2 the DL-type estimate
        return max(0.0, (qe - c2) / a2), 0.0, ("every study has one effect size: omega^2 is not "
                                              "identified and set to 0")
    omega2 = max(0.0, ((qa - c1) * a2 - (qe - c2) * a1) / determinant)
    tau2 = max(0.0, (qe - c2) / a2 - omega2 * (b2 / a2))
    return tau2, omega2, ""


def _symmetric_inverse_root(matrices: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrices)
    scaled = np.where(values < EIGEN_TOLERANCE, 0.0, 1.0 / np.sqrt(np.where(values < EIGEN_TOLERANCE, 1.0, values)))
    return (vectors * scaled[..., None, :]) @ np.swapaxes(vectors, -1, -2)


def _robust(data: _Prepared, w: np.ndarray, model: str, small: bool, level: float):
    """Coefficients, robust covariance and df with final weights ``w`` (robumeta's second half)."""
    X = data.X
    beta, bread, e = _weighted_fit(data, w)
    n_studies, p1 = data.blocks.n_studies, X.shape[1]
    alpha = 1 - level / 100
    if not small:
        scores = _study_sums(data, X * (w * e)[:, None])  # X_j' W_j e_j
        vcov = bread @ (scores.T @ scores) @ bread * (n_studies / (n_studies - p1))
        df = np.full(p1, float(n_studies - p1))
    else:
        meat = np.zeros((p1, p1))
        c_rows = np.zeros((X.shape[0], p1))  # c_j = A_j W_j X_j Q, stacked by row (M, p)
        for studies, rows in data.blocks.by_size():
            Xj, wj, ej = X[rows], w[rows], e[rows]  # (n, m, p), (n, m), (n, m)
            size = rows.shape[1]
            hat = Xj @ bread @ np.swapaxes(Xj, -1, -2) * wj[:, None, :]  # X_j Q X_j' W_j
            residual_maker = np.eye(size)[None] - hat
            if model == "CORR":
                adjustment = _symmetric_inverse_root(0.5 * (residual_maker + np.swapaxes(residual_maker, -1, -2)))
            else:
                root_e = 1.0 / np.sqrt(wj)  # E_j^(1/2), E_j = W_j^-1
                inside = root_e[:, :, None] * residual_maker * (root_e**3)[:, None, :]
                inside = 0.5 * (inside + np.swapaxes(inside, -1, -2))
                adjustment = root_e[:, :, None] * _symmetric_inverse_root(inside) * root_e[:, None, :]
            awx = adjustment @ (wj[:, :, None] * Xj)  # A_j W_j X_j  (n, m, p)
            contributions = np.einsum("nmp,nm->np", awx, ej)  # X_j' W_j A_j e_j
            meat += contributions.T @ contributions
            c_rows[rows] = awx @ bread
        vcov = bread @ meat @ bread
        # df: g_j = S_j c_j - W X Q (X_j' c_j) for each coefficient; B_half = W^(-1/2) [g_1 .. g_N]
        study = data.blocks.study_of_row
        xc = _study_sums(data, X[:, :, None] * c_rows[:, None, :])  # (N, p, p): X_j' c_j per coefficient
        wxq = (X * w[:, None]) @ bread  # (M, p)
        scale = 1.0 / np.sqrt(w)
        df = np.empty(p1)
        for i in range(p1):
            g = -wxq @ xc[:, :, i].T  # (M, N)
            g[np.arange(X.shape[0]), study] += c_rows[:, i]
            half = g * scale[:, None]
            gram = half.T @ half
            df[i] = np.trace(gram) ** 2 / np.sum(gram * gram)
    se = np.sqrt(np.diag(vcov))
    statistic = beta / se
    critical = dist.t.isf(alpha / 2, df)
    return beta, se, df, statistic, 2 * dist.t.sf(np.abs(statistic), df), vcov, critical


def robu(yi, vi, study_id, X=None, names=None, modelweights: str = "CORR", rho: float = 0.8,
         small: bool = True, level: float = 95) -> RveResult:
    """robumeta's ``robu(y ~ X, studynum = study_id, var.eff.size = vi, modelweights, rho, small)``.

    ``X`` (rows x p, default an intercept) and ``names`` label the coefficients. See the
    module docstring for the formulas.
    """
    if modelweights not in MODEL_WEIGHTS:
        raise ValueError(f"modelweights must be one of {MODEL_WEIGHTS}, got {modelweights!r}")
    if modelweights == "CORR" and not 0 <= rho <= 1:
        raise ValueError("rho must be between 0 and 1")
    data = _prepare(yi, vi, study_id, X, names)
    note = ""
    if modelweights == "CORR":
        tau2, _, _, i2 = _corr_moments(data, rho)
        omega2 = np.nan
        vbar = _study_sums(data, data.v) / data.blocks.sizes
        w = 1.0 / (data.sizes_per_row * (vbar[data.blocks.study_of_row] + tau2))
    else:
        tau2, omega2, note = _hier_moments(data)
        i2, rho = np.nan, np.nan
        w = 1.0 / (data.v + tau2 + omega2)
    beta, se, df, statistic, p, vcov, critical = _robust(data, w, modelweights, small, level)
    return RveResult(modelweights, data.names, beta, se, df, statistic, p, beta - critical * se,
                     beta + critical * se, vcov, float(tau2), float(omega2), float(rho), float(i2),
                     int(data.y.size), data.blocks.n_studies, small, level, note)


def sensitivity(yi, vi, study_id, X=None, names=None, rhos=SENSITIVITY_RHOS, small: bool = True,
                level: float = 95) -> pd.DataFrame:
    """robumeta's ``sensitivity()`` of a correlated-effects fit: one row per (rho, coefficient).

    Columns ``rho``, ``term``, ``estimate``, ``se``, ``df``, ``tau2`` (robumeta prints the
    estimate, SE and tau^2 for rho = 0, .2, ..., 1; the df are those of :func:`robu`).
    """
    frames = []
    for rho in rhos:
        result = robu(yi, vi, study_id, X, names, "CORR", rho, small, level)
        frames.append(pd.DataFrame({"rho": float(rho), "term": list(result.names), "estimate": result.beta,
                                    "se": result.se, "df": result.df, "tau2": result.tau2}))
    return pd.concat(frames, ignore_index=True)


def rve_table(effect_sizes: pd.DataFrame, rho: float = 0.8, level: float = 95, small: bool = True) -> pd.DataFrame:
    """``rve.csv``: the overall effect (intercept-only) under correlated and hierarchical weights.

    ``effect_sizes``: one row per effect size with ``study_id``, ``yi``, ``vi`` (rows with a
    missing yi or vi are left out). Fewer than two studies give the header only.
    """
    data = effect_sizes.loc[effect_sizes["yi"].notna() & effect_sizes["vi"].notna()]
    if data["study_id"].nunique() < 2:
        return pd.DataFrame(columns=list(RVE_COLUMNS))
    args = (data["yi"].to_numpy(float), data["vi"].to_numpy(float), data["study_id"].astype(str).to_numpy())
    frames = [robu(*args, modelweights=weights, rho=rho, small=small, level=level).to_frame()
              for weights in MODEL_WEIGHTS]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------
# CR2 (clubSandwich) for univariate models, one row per study
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _UnivariateFit:
    """What :func:`alliance_meta.engines.robust.cr2` reads of a fit, for an rma.uni-type model."""

    data: multilevel.MultilevelData
    beta: np.ndarray
    vcov: np.ndarray
    sigma2: tuple[float, float]
    level: float
    n_studies: int


def univariate_cr2(yi, vi, tau2: float, X=None, names=None, level: float = 95, weights=None) -> robust.RobustResult:
    """CR2 covariance and small-sample tests of ``rma.uni(yi, vi, mods = X)`` with tau^2 given.

    Each row is its own cluster (one composite per study); the weights are the model's,
    1 / (vi + tau^2), so beta and the model-based covariance (X'WX)^-1 are those of metafor for
    that tau^2 (use 0 for a common-effect model), or, given ``weights`` (a GENQ model's, one per row), those
    weights, with target variances vi + tau^2: clubSandwich's ``coef_test(rma.uni(..., weights = a), vcov = "CR2")``
    and metafor's ``robust(x, cluster, clubSandwich = TRUE)``
    (:func:`~alliance_meta.engines.robust.cr2_working_weights`). Returns the engine's
    :class:`~alliance_meta.engines.robust.RobustResult`: ``coef_test()`` (Satterthwaite t
    tests) and ``wald_test()`` (HTZ). Pustejovsky & Tipton (2018); Tipton & Pustejovsky (2015).
    """
    y = np.asarray(yi, dtype=float).reshape(-1)
    v = np.asarray(vi, dtype=float).reshape(-1)
    k = y.size
    if X is None:
        X, names = np.ones((k, 1)), ("intrcpt",) if names is None else names
    data = multilevel.prepare(y, v, np.arange(k), X, rho=0.0, names=names)
    if data.p >= k:
        raise ValueError(f"CR2 needs more studies ({k}) than coefficients ({data.p})")
    own = None if weights is None else np.asarray(weights, dtype=float).reshape(-1)[data.blocks.order]
    model = 1.0 / (data.vi + tau2) if own is None else own
    bread = np.linalg.inv((data.X.T * model) @ data.X)
    beta = bread @ (data.X.T @ (model * data.yi))
    fit = _UnivariateFit(data, beta, bread, (float(tau2), 0.0), float(level), k)
    return robust.cr2(fit, level) if own is None else robust.cr2_working_weights(fit, own, level)


def cr2_frame(yi, vi, tau2: float, level: float = 95, method: str = "", weights=None) -> pd.DataFrame:
    """The intercept-only model's CR2 row in ``rve.csv`` layout (``model`` = ``cr2``; ``weights``: a GENQ
    model's, as :func:`univariate_cr2`)."""
    table = univariate_cr2(yi, vi, tau2, level=level, weights=weights).coef_test()
    return pd.DataFrame({
        "model": "cr2", "term": "intercept", "estimate": table["estimate"], "se": table["se"],
        "df": table["df"], "ci_lower": table["ci_lower"], "ci_upper": table["ci_upper"], "pval": table["p"],
        "tau2": float(tau2), "omega2": np.nan, "rho": np.nan, "i2": np.nan, "k": len(np.atleast_1d(yi)),
        "n_studies": len(np.atleast_1d(yi)),
        "note": f"study composites, {method} tau^2; CR2 with Satterthwaite df (clubSandwich)".replace(" , ", " "),
    }, columns=list(RVE_COLUMNS))


# --------------------------------------------------------------------------------------
# The analysis of a fit (am.rve)
# --------------------------------------------------------------------------------------

SENSITIVITY_COLUMNS = ("rho", "term", "estimate", "se", "df", "tau2")


@dataclass(frozen=True, repr=False, eq=False)
class RveAnalysis:
    """``rve.csv`` (``table``: correlated and hierarchical effects weights, and the CR2 row of the
    aggregated model) and ``rve_sensitivity.csv`` (``sensitivity``) of a fit, with ``notes``."""

    table: pd.DataFrame
    sensitivity: pd.DataFrame
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        return f"<RveAnalysis: {len(self.table)} models; {'; '.join(self.notes) or 'no notes'}>"


def too_few_studies(n_studies: int, metric: str | None = None, notes=()) -> RveAnalysis:
    """The :class:`RveAnalysis` of fewer than two studies: the tables' headers, and a note."""
    from alliance_meta.analyses.results import with_back_transform

    note = f"{n_studies} {'study' if n_studies == 1 else 'studies'}: robust variance estimation needs at least 2"
    return RveAnalysis(with_back_transform(pd.DataFrame(columns=list(RVE_COLUMNS)), metric),
                       pd.DataFrame(columns=list(SENSITIVITY_COLUMNS)), (*notes, note))


def correlated_rho(rho: float) -> float:
    """The ``aggregate_rho`` that the correlated-effects weights of :func:`rve_analysis` take: within robumeta's
    range for rho, [0, 1] (the Methods quote it)."""
    return min(max(float(rho), 0.0), 1.0)


@keywords_checked
def rve_analysis(fit) -> RveAnalysis:
    """Robust variance estimation of a fit's effect sizes (``am.rve``): robumeta's ``robu()`` with
    correlated (``rho`` = the fit's ``rho``) and hierarchical effects weights, small-sample corrected, on
    every effect size; a ``cr2`` row, the fit's model of the independent studies (one composite per
    study; a three-level fit's composites with its estimator; a GENQ fit with its weights, as metafor's
    ``robust(x, cluster, clubSandwich = TRUE)``) with its CR2 standard error and Satterthwaite df
    (clubSandwich); and robumeta's ``sensitivity()``, the correlated-effects fit at rho = 0, .2, ..., 1.
    Estimates are also back-transformed for the fit's metric.
    """
    from alliance_meta.analyses.bias.results import independent_studies
    from alliance_meta.analyses.results import with_back_transform
    from alliance_meta.models.fits import MultilevelFit, require_fit
    from alliance_meta.models.univariate import fit as univariate_fit, genq_weights

    require_fit(fit, "am.rve")
    rows, notes = fit.effect_sizes, []
    rho = float(fit.rho)
    if not 0 <= rho <= 1:
        notes.append(f"aggregate_rho = {rho} is outside [0, 1], robumeta's range for rho: 0 used for the "
                     "correlated-effects weights")
        rho = correlated_rho(rho)
    n_studies = rows["study_id"].nunique()
    if n_studies < 2:
        return too_few_studies(n_studies, fit.metric, notes)
    studies = independent_studies(fit)
    multilevel_fit = isinstance(fit, MultilevelFit)
    tau2 = univariate_fit(studies["yi"], studies["vi"], fit.method, "z", fit.level).tau2 if multilevel_fit else fit.tau2
    weights = None if multilevel_fit else genq_weights(fit.vi, fit.method, fit.weights)  # GENQ's own, as metafor
    table = pd.concat([rve_table(rows, rho=rho, level=fit.level),
                       cr2_frame(studies["yi"], studies["vi"], tau2, fit.level, fit.method, weights)],
                      ignore_index=True)
    ids = rows["study_id"].astype(str).to_numpy()
    sensitive = sensitivity(rows["yi"].to_numpy(float), rows["vi"].to_numpy(float), ids, level=fit.level)
    small = table["df"] < robust.SMALL_DF
    if small.any():
        notes.append(f"small-sample df below {robust.SMALL_DF} in {', '.join(table.loc[small, 'model'])}: Tipton (2015) "
                     "advises not to trust these p values")
    return RveAnalysis(with_back_transform(table, fit.metric), sensitive, tuple(notes))
