"""Block-diagonal algebra of the three-level model, one block per study, in O(k).

The marginal covariance of the effect sizes of study j (m_j rows) is

    M_j = (1 - rho) diag(v) + rho s s' + sigma2_between 1 1' + sigma2_within I,   s = sqrt(v),

i.e. a compound-symmetric sampling covariance (rho sqrt(v_a v_b) off the diagonal, as
metafor's ``vcalc(vi, cluster, obs, rho)`` and clubSandwich's ``impute_covariance_matrix``)
plus the random effects of ``rma.mv(random = ~ 1 | study / es)`` (Konstantopoulos 2011;
Pustejovsky & Tipton 2022, the "correlated and hierarchical effects" model). That is a
diagonal ``D`` plus the rank-2 term ``U C U'`` with ``U = [s, 1]`` and
``C = diag(rho, sigma2_between)``, so by the Woodbury identity

    M_j^-1 = D^-1 - D^-1 U K_j U' D^-1,   K_j = C (I + G_j C)^-1,   G_j = U' D^-1 U  (2 x 2),
    log det M_j = sum log D + log det(I + G_j C)

(Harville 1997, Theorem 18.2.8). Every per-study sum is an ``np.add.reduceat`` over rows
sorted by study: no k x k matrix and no Python loop over studies. ``dense_blocks`` builds
the small m_j x m_j blocks themselves, stacked by block size, for the cluster-robust
adjustments (batched ``np.linalg`` on equal-size stacks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StudyBlocks:
    """Rows grouped by study: ``order`` sorts rows so each study is contiguous."""

    order: np.ndarray  # positions of the input rows in study order
    starts: np.ndarray  # first sorted row of each study
    sizes: np.ndarray  # rows per study (m_j)
    study_of_row: np.ndarray  # study index (0..J-1) of each sorted row
    study_ids: np.ndarray  # the study labels, one per study

    @property
    def n_studies(self) -> int:
        return int(self.sizes.size)

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per-study sums of sorted rows (axis 0); shape (J, ...)."""
        return np.add.reduceat(values, self.starts, axis=0)

    def by_size(self):
        """Yield ``(study_indices, row_indices)`` for each block size m, rows shaped (n_m, m)."""
        for size in np.unique(self.sizes):
            studies = np.flatnonzero(self.sizes == size)
            rows = self.starts[studies, None] + np.arange(size)[None, :]
            yield studies, rows


def group_by_study(study_id) -> StudyBlocks:
    """Group rows by ``study_id`` (any labels); stable, so row order within a study is kept."""
    labels, codes = np.unique(np.asarray(study_id), return_inverse=True)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=labels.size)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return StudyBlocks(order, starts, sizes, np.repeat(np.arange(labels.size), sizes), labels)


class BlockCovariance:
    """Marginal covariance M = blockdiag(M_j) of sorted rows; solves and log-determinant in O(k)."""

    def __init__(self, vi, blocks: StudyBlocks, rho: float, sigma2_between: float, sigma2_within: float):
        self.blocks = blocks
        self.rho, self.sigma2_between, self.sigma2_within = float(rho), float(sigma2_between), float(sigma2_within)
        self.sd = np.sqrt(vi)
        self.diagonal = (1.0 - self.rho) * vi + self.sigma2_within
        if np.any(self.diagonal <= 0):
            raise ValueError("the diagonal part of the covariance must be positive (rho < 1 or sigma2_within > 0)")
        inverse_d = 1.0 / self.diagonal
        g11 = blocks.sums(vi * inverse_d)
        g12 = blocks.sums(self.sd * inverse_d)
        g22 = blocks.sums(inverse_d)
        rho, between = self.rho, self.sigma2_between
        determinant = (1.0 + g11 * rho) * (1.0 + g22 * between) - g12 * g12 * rho * between
        if np.any(determinant <= 0):
            raise np.linalg.LinAlgError("marginal covariance is not positive definite")
        self.k11 = rho * (1.0 + g22 * between) / determinant
        self.k12 = -rho * between * g12 / determinant
        self.k22 = between * (1.0 + g11 * rho) / determinant
        self.logdet = float(np.sum(np.log(self.diagonal)) + np.sum(np.log(determinant)))

    def solve(self, values: np.ndarray) -> np.ndarray:
        """M^-1 @ values for sorted rows (vector or matrix)."""
        scaled = values / (self.diagonal if values.ndim == 1 else self.diagonal[:, None])
        t1 = self.blocks.sums(scaled * (self.sd if values.ndim == 1 else self.sd[:, None]))
        t2 = self.blocks.sums(scaled)
        if values.ndim == 1:
            c1, c2 = self.k11 * t1 + self.k12 * t2, self.k12 * t1 + self.k22 * t2
            row = self.blocks.study_of_row
            return scaled - (self.sd * c1[row] + c2[row]) / self.diagonal
        c1 = self.k11[:, None] * t1 + self.k12[:, None] * t2
        c2 = self.k12[:, None] * t1 + self.k22[:, None] * t2
        row = self.blocks.study_of_row
        return scaled - (self.sd[:, None] * c1[row] + c2[row]) / self.diagonal[:, None]

    def inverse_diagonal(self) -> np.ndarray:
        """diag(M^-1), one value per sorted row."""
        row = self.blocks.study_of_row
        s = self.sd
        quadratic = s * s * self.k11[row] + 2.0 * s * self.k12[row] + self.k22[row]
        return 1.0 / self.diagonal - quadratic / self.diagonal**2


def dense_blocks(vi, rows: np.ndarray, rho: float, sigma2_between: float, sigma2_within: float) -> np.ndarray:
    """The stack of m x m blocks M_j for studies whose sorted rows are ``rows`` (n_m, m)."""
    sd = np.sqrt(vi[rows])
    size = rows.shape[1]
    blocks = rho * sd[:, :, None] * sd[:, None, :] + sigma2_between
    blocks += np.eye(size)[None] * ((1.0 - rho) * vi[rows] + sigma2_within)[:, :, None]
    return blocks
