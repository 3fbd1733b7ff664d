"""Cluster-robust (CR2) inference for the three-level model, block by block, in O(k).

As clubSandwich's ``vcovCR(fit, cluster = study, type = "CR2")`` for an ``rma.mv`` fit with
its own weights (``inverse_var = TRUE``: working covariance Phi = M, weights W = M^-1):

    V_CR2 = B (sum_j X_j' W_j A_j e_j e_j' A_j W_j X_j) B,   B = (X'WX)^-1,
    A_j = R_j' [R_j (Phi_j - X_j B X_j') R_j']^(-1/2) R_j,   Phi_j = R_j' R_j

(Bell & McCaffrey 2002, *Surv Methodol* 28, 169-181; Pustejovsky & Tipton 2018, *J Bus Econ
Stat* 36, 672-683). Small-sample tests: t tests with Satterthwaite df (``coef_test(...,
test = "Satterthwaite")``) and the Hotelling-T^2 "HTZ" F test (``Wald_test(..., test =
"HTZ")``; Tipton & Pustejovsky 2015, *J Educ Behav Stat* 40, 604-634; Tipton 2015, *Psychol
Methods* 20, 375-393).

Why this is linear in studies: under Phi = W^-1 the covariance between the contributions of
studies i and j to a contrast is P_ij = delta_ij a_j - k_i' k_j, with a_j = g_j' Phi_j g_j and
k_j = L' X_j' g_j (L L' = B) — block-diagonal plus low rank — so the sums over all pairs
that the df need reduce to per-study sums and p x p products. A_j needs the symmetric
inverse square root of an m_j x m_j matrix: batched ``eigh`` over studies of equal size.

:func:`cr2_working_weights` is the other case clubSandwich has (``inverse_var = FALSE``), for a model of
independent rows weighted by weights of its own, a GENQ ``rma.uni(weights = a)``: its pair sums are low rank too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.engines import distributions as dist
from alliance_meta.models.multilevel import MultilevelResult
from alliance_meta.engines.study_blocks import dense_blocks

EIGEN_TOLERANCE = 1e-12  # clubSandwich's matrix_power drops eigenvalues <= 1e-12
#: below this many small-sample (Satterthwaite) df a robust test's p value is not to be trusted (Tipton 2015,
#: Psychol Methods 20, 375-393; robumeta prints "If df < 4, do not trust the results")
SMALL_DF = 4


def _symmetric_power(matrices: np.ndarray, power: float) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrices)
    safe = np.where(values > EIGEN_TOLERANCE, values, 1.0)
    scaled = np.where(values > EIGEN_TOLERANCE, safe**power, 0.0)
    return (vectors * scaled[..., None, :]) @ np.swapaxes(vectors, -1, -2)


@dataclass(frozen=True)
class _Group:
    """Studies of one block size m: rows (n, m), X (n, m, p), Phi (n, m, m), E = X'W A (n, p, m)."""

    studies: np.ndarray
    X: np.ndarray
    phi: np.ndarray
    estimating: np.ndarray


@dataclass(frozen=True)
class RobustResult:
    """CR2 covariance of a :class:`MultilevelResult` with small-sample tests."""

    fit: MultilevelResult
    vcov: np.ndarray
    groups: tuple
    level: float = 95.0

    @property
    def se(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):  # a variance rounded below 0 (residuals ~ 0): NaN, as R's sqrt
            return np.sqrt(np.diag(self.vcov))

    def _contrast_terms(self, contrasts: np.ndarray):
        """Per-study a_j (J, q, q) and k_j (J, q, p) of the contrast rows."""
        bread = self.fit.vcov
        lower = np.linalg.cholesky(bread)
        n_studies, q, p = self.fit.n_studies, contrasts.shape[0], bread.shape[0]
        a = np.empty((n_studies, q, q))
        k = np.empty((n_studies, q, p))
        for group in self.groups:
            g = contrasts @ bread @ group.estimating  # (n, q, m)
            a[group.studies] = g @ group.phi @ np.swapaxes(g, -1, -2)
            k[group.studies] = (g @ group.X) @ lower
        return a, k

    def _pair_sums(self, contrasts: np.ndarray):
        """Omega = E[C V_CR2 C'] and S[s,t,u,v] = sum_ij P^st_ij P^uv_ij, both after
        normalising the contrasts by Omega^(-1/2) (clubSandwich's total_variance_mat)."""
        a, k = self._contrast_terms(contrasts)
        omega = a.sum(axis=0) - np.einsum("jsa,jta->st", k, k)
        root = _symmetric_power(omega, -0.5)
        a = root @ a @ root
        k = np.einsum("st,jta->jsa", root, k)
        kk = np.einsum("jsa,jta->jst", k, k)
        outer = np.einsum("jxa,jyb->xyab", k, k)
        cross = np.einsum("jst,juv->stuv", a, kk)
        pair_sums = (np.einsum("jst,juv->stuv", a, a) - cross - cross.transpose(2, 3, 0, 1)
                     + np.einsum("tvab,usba->stuv", outer, outer))
        return omega, pair_sums

    def satterthwaite_df(self, contrast) -> float:
        """df = 2 E[V]^2 / Var[V] of the CR2 variance of one contrast (Pustejovsky & Tipton 2018); NaN where the
        variance's own variance sums to 0 or less (every cluster alone at a level of the contrast: undefined, as in
        :meth:`wald_test`; clubSandwich returns whatever its rounding leaves, e.g. 1)."""
        _, pair_sums = self._pair_sums(np.atleast_2d(np.asarray(contrast, float)))
        total = float(pair_sums[0, 0, 0, 0])
        return 1.0 / total if total > 0 else math.nan

    def coef_test(self) -> pd.DataFrame:
        """clubSandwich's ``coef_test(vcov = "CR2", test = "Satterthwaite")`` with t CIs."""
        beta, se = self.fit.beta, self.se
        p = beta.size
        df = np.array([self.satterthwaite_df(np.eye(p)[j]) for j in range(p)])
        with np.errstate(divide="ignore", invalid="ignore"):  # se = 0 (no variation): undefined (NaN), as R
            statistic = beta / se
        critical = dist.t.isf((1 - self.level / 100) / 2, df)
        return pd.DataFrame({"term": list(self.fit.data.names), "estimate": beta, "se": se,
                             "statistic": statistic, "df": df, "p": 2 * dist.t.sf(np.abs(statistic), df),
                             "ci_lower": beta - critical * se, "ci_upper": beta + critical * se})

    def wald_test(self, constraints=None) -> dict:
        """HTZ test of C beta = 0 (``Wald_test(constraints, vcov = "CR2", test = "HTZ")``).

        ``constraints``: a q x p matrix, or coefficient indices to test against zero
        (default: every coefficient but the intercept). F = delta Q / q on (q, nu - q + 1)
        df with delta = (nu - q + 1) / nu and nu = q (q + 1) / sum(Var) (Tipton & Pustejovsky 2015).
        """
        p = self.fit.beta.size
        if constraints is None:
            constraints = list(range(1, p)) if p > 1 else [0]
        contrasts = np.asarray(constraints, float)
        if contrasts.ndim == 1:
            contrasts = np.eye(p)[np.asarray(constraints, int)]
        q = contrasts.shape[0]
        estimate = contrasts @ self.fit.beta
        statistic = float(estimate @ np.linalg.solve(contrasts @ self.vcov @ contrasts.T, estimate))
        _, pair_sums = self._pair_sums(contrasts)
        index = np.arange(q)
        variance = (pair_sums[index[:, None], index[None, :], index[None, :], index[:, None]]
                    + pair_sums[index[:, None], index[:, None], index[None, :], index[None, :]])
        total = float(np.sum(variance))
        if not total > 0:  # e.g. two studies, each its own level of the moderator: nu = q(q + 1)/0 is undefined
            return {"q": q, "wald": statistic, "f": np.nan, "delta": np.nan, "df_num": q,
                    "df_denom": np.nan, "p": np.nan}
        nu = q * (q + 1) / total
        delta = max((nu - q + 1) / nu, 0.0)
        df_denominator = nu - q + 1
        f_statistic = delta * statistic / q
        p_value = float(dist.f.sf(f_statistic, q, df_denominator)) if df_denominator > 0 else np.nan
        return {"q": q, "wald": statistic, "f": f_statistic, "delta": delta, "df_num": q,
                "df_denom": df_denominator, "p": p_value}


CR2_MIN_STUDIES = 2
CR2_TOO_FEW = "CR2 (cluster-robust) inference needs at least 2 studies (clubSandwich stops with one cluster)"
ONE_CLUSTER = (CR2_TOO_FEW + "; this fit has {n} (clubSandwich: \"Cluster-robust variance estimation will not "
               "work when the data only includes a single cluster.\")")


def cr2_defined(n_studies: int) -> bool:
    """Whether CR2 inference is defined for a fit of ``n_studies`` clusters (at least 2)."""
    return n_studies >= CR2_MIN_STUDIES


def cr2(fit: MultilevelResult, level: float | None = None) -> RobustResult:
    """CR2 covariance of ``fit`` clustered by study, with the model's own weights.

    Raises ValueError for a fit of fewer than 2 studies: with one cluster the robust variance
    is undefined (clubSandwich's ``vcovCR`` stops), not a number.
    """
    if not cr2_defined(fit.n_studies):
        raise ValueError(ONE_CLUSTER.format(n=fit.n_studies))
    data = fit.data
    bread = fit.vcov
    residuals = data.yi - data.X @ fit.beta
    meat = np.zeros_like(bread)
    groups = []
    for studies, rows in data.blocks.by_size():
        phi = dense_blocks(data.vi, rows, data.rho, fit.sigma2[0], fit.sigma2[1])
        X = data.X[rows]  # (n, m, p)
        upper = np.swapaxes(np.linalg.cholesky(phi), -1, -2)  # Phi = R' R
        upper_t = np.swapaxes(upper, -1, -2)
        middle = upper @ (phi - X @ bread @ np.swapaxes(X, -1, -2)) @ upper_t
        adjustment = upper_t @ _symmetric_power(middle, -0.5) @ upper
        weights = np.linalg.inv(phi)
        estimating = np.swapaxes(X, -1, -2) @ weights @ adjustment  # (n, p, m)
        contributions = np.einsum("npm,nm->np", estimating, residuals[rows])
        meat += contributions.T @ contributions
        groups.append(_Group(studies, X, phi, estimating))
    vcov = bread @ meat @ bread
    return RobustResult(fit, vcov, tuple(groups), fit.level if level is None else level)


@dataclass(frozen=True, kw_only=True)
class WorkingWeightsResult(RobustResult):
    """CR2 of a model of independent rows, each its own cluster, weighted by weights of its own (``w``, not
    1/Phi): clubSandwich's ``inverse_var = FALSE`` working model, e.g. of a GENQ ``rma.uni(weights = a)``. With
    B = (X'WX)^-1, Phi_i = v_i + tau^2, t_i = Phi_i w_i and Omega = B (sum_i w_i^2 Phi_i x_i x_i') B, the
    contributions of rows i and j to a contrast c (g_i = c' B x_i w_i A_i) covary as

        P_ij = delta_ij g_i^2 Phi_i + g_i g_j [x_i' Omega x_j - (t_i + t_j) x_i' B x_j] = diag + F D F',

    F = g * [X, t X] (``stacked``) and D = [[Omega, -B], [-B, 0]] (``middle``): sums over pairs of rows reduce to
    2p x 2p products, O(k). ``estimating``: the rows' x_i w_i A_i; ``diagonal``: Phi_i + r_i with r_i the i-th
    diagonal of [X, t X] D [X, t X]'; ``phi``: Phi_i."""

    estimating: np.ndarray
    stacked: np.ndarray
    middle: np.ndarray
    phi: np.ndarray
    diagonal: np.ndarray

    def _pair_sums(self, contrasts: np.ndarray):
        g = contrasts @ self.fit.vcov @ self.estimating.T  # (q, k)
        omega = (g * self.diagonal) @ g.T
        g = _symmetric_power(omega, -0.5) @ g
        gram = np.einsum("si,ui,ia,ib->suab", g, g, self.stacked, self.stacked, optimize=True)
        product = np.einsum("ab,subc->suac", self.middle, gram)
        diagonal = self.phi * (2 * self.diagonal - self.phi)  # Phi_i^2 + 2 Phi_i r_i
        pair_sums = (np.einsum("i,si,ti,ui,vi->stuv", diagonal, g, g, g, g, optimize=True)
                     + np.einsum("suab,vtba->stuv", product, product))
        return omega, pair_sums


def cr2_working_weights(fit: MultilevelResult, weights, level: float | None = None) -> WorkingWeightsResult:
    """CR2 covariance of a model of one row per cluster (``fit.data``; ``fit.beta`` and ``fit.vcov`` = (X'WX)^-1
    of the model weighted by ``weights``, one per row of ``fit.data``; target variances v_i + ``fit.sigma2[0]``)
    as clubSandwich's ``vcovCR(x, cluster, type = "CR2")`` of ``rma.uni(..., weights = a)``, whose working weights
    are not the inverse of the target (``inverse_var = FALSE``): the adjustment of row i is
    A_i = Phi_i [Phi_i (Phi_i (1 - 2 h_i) + x_i' Omega x_i)]^(-1/2), h_i = w_i x_i' B x_i (0 where the bracket is
    at most 1e-12, as clubSandwich's matrix_power). Raises ValueError with fewer than 2 rows."""
    if not cr2_defined(fit.n_studies):
        raise ValueError(ONE_CLUSTER.format(n=fit.n_studies))
    data, bread = fit.data, fit.vcov
    X, w = data.X, np.asarray(weights, dtype=float)
    phi = data.vi + fit.sigma2[0]
    omega = bread @ ((X.T * (w**2 * phi)) @ X) @ bread
    stacked = np.hstack([X, (phi * w)[:, None] * X])
    p = X.shape[1]
    middle = np.block([[omega, -bread], [-bread, np.zeros((p, p))]])
    diagonal = phi + np.einsum("ia,ab,ib->i", stacked, middle, stacked)  # Phi_i (1 - 2 h_i) + x_i' Omega x_i
    bracket = phi * diagonal  # clubSandwich's G_i
    kept = bracket > EIGEN_TOLERANCE
    adjustment = np.where(kept, phi / np.sqrt(np.where(kept, bracket, 1.0)), 0.0)
    estimating = X * (w * adjustment)[:, None]
    contributions = estimating * (data.yi - X @ fit.beta)[:, None]
    vcov = bread @ (contributions.T @ contributions) @ bread
    return WorkingWeightsResult(fit, vcov, (), fit.level if level is None else level, estimating=estimating,
                                stacked=stacked, middle=middle, phi=phi, diagonal=diagonal)
