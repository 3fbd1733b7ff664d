"""Permutation tests of a meta-regression, as metafor's ``permutest.rma.uni``.

The rows of the model matrix are permuted against (y_i, v_i) and the model is
refitted; the p-value of a coefficient is the share of permutations with
``|statistic| >= |observed| - sqrt(eps)``, and that of the omnibus test the share
with ``Q_M >= observed - sqrt(eps)`` (Higgins & Thompson 2004, Stat Med 23,
1663-1682; Viechtbauer et al. 2015, Res Synth Methods 6, 281-294).

When the number of distinct permutations (k! / prod n_j!, n_j = sizes of groups
of identical rows of X) does not exceed the requested number, every distinct
permutation is enumerated once (metafor's ``exact = TRUE``); otherwise random
permutations are drawn from a seeded generator and, as in metafor, the first one
is the observed arrangement.

Permutations whose tau^2 does not converge are handled as in metafor 3.8
(``permutest.rma.uni`` wraps each refit in ``try`` and skips errors): in an exact
test they are left out (the p-values are shares of the successful fits, R's
``mean(..., na.rm = TRUE)``); with random permutations a failed one is replaced by
a new draw, so ``iterations`` fits succeed (metafor redraws without limit; here at
most :data:`MAX_REDRAW_ROUNDS` rounds, after which the rest are left out). ``failed``
counts the fits that did not converge. A model that did not converge itself has no
permutation test (ValueError).

Speed: all permutations of a chunk are fitted at once (batched normal equations
and batched Fisher scoring, :mod:`alliance_meta.engines.tau2_mods`). Every fit starts
from metafor's default value (not from the observed tau^2): a warm start would
change each statistic by up to the 1e-5 convergence threshold and could break
the ties that the ``sqrt(eps)`` tolerance resolves, e.g. for label swaps of equal
groups, which give identical statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.engines import tau2_mods
from alliance_meta.models.metareg import MetaRegression, fixed_effects, omnibus

TOLERANCE = np.finfo(float).eps ** 0.5
CHUNK_CELLS = 4_000_000
MAX_REDRAW_ROUNDS = 100


def distinct_permutations(X: np.ndarray) -> tuple[np.ndarray, int]:
    """Row-type labels of X (0, 1, ... in sorted order) and k! / prod n_j!."""
    _, labels, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    total = math.factorial(len(labels))
    for count in counts:
        total //= math.factorial(int(count))
    return labels.ravel(), total


def multiset_permutations(labels: np.ndarray) -> np.ndarray:
    """All distinct orderings of ``labels``, in lexicographic order (Knuth 7.2.1.2, algorithm L)."""
    current = np.sort(labels)
    rows = [current.copy()]
    k = len(current)
    while True:
        i = k - 2
        while i >= 0 and current[i] >= current[i + 1]:
            i -= 1
        if i < 0:
            return np.array(rows)
        j = k - 1
        while current[j] <= current[i]:
            j -= 1
        current[i], current[j] = current[j], current[i]
        current[i + 1:] = current[i + 1:][::-1]
        rows.append(current.copy())


def batch_statistics(X, y, v, method, btt, control=None, knha_adhoc: bool = False, weights=None):
    """Wald z, Q_M, Knapp-Hartung t and F for a batch of (y, v) rows against one X
    (NaN in every statistic of a fit whose tau^2 did not converge; ``knha_adhoc``: t and F of metafor's
    ``test = "adhoc"``, as permutest refits with the model's test; ``weights``: GENQ's, permuted with y and v
    as permutest keeps them with yi and vi)."""
    tau2, _ = tau2_mods.estimate_tau2(X, y, v, method, control, weights)
    beta, covariance, scale = fixed_effects(X, y, v, np.nan_to_num(tau2), knha_adhoc, weights)
    z = beta / np.sqrt(np.diagonal(covariance, axis1=1, axis2=2))
    qm = omnibus(beta, covariance, list(btt))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = z / np.sqrt(scale)[:, None]
        f = qm / len(btt) / scale
    failed = np.isnan(tau2)
    for array in (z, qm, t, f):
        array[failed] = np.nan
    return z, qm, t, f


@dataclass(frozen=True)
class PermutationTest:
    """Permutation p-values of each coefficient and of the omnibus test, for z and knha."""

    columns: tuple[str, ...]
    iterations: int
    exact: bool
    seed: int | None
    p: np.ndarray
    qm_p: float
    p_knha: np.ndarray
    f_p: float
    failed: int = 0

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"term": self.columns, "p_permutation": self.p,
                             "p_knha_permutation": self.p_knha})


def permutation_test(fit: MetaRegression, yi, vi, X, iterations: int = 1000, seed: int | None = 1,
                     exact: bool = False) -> PermutationTest:
    """Permutation test of ``fit`` (made by :func:`alliance_meta.models.metareg.fit` on yi, vi, X)."""
    y, v, X = np.asarray(yi, float), np.asarray(vi, float), np.asarray(X, float)
    if fit.p == 1 and np.all(X[:, 0] == 1.0):  # intercept only (~ x - 1 is a moderator without intercept)
        raise ValueError("permutation tests need at least one moderator")
    if not fit.converged:
        raise ValueError(f"no permutation test of a model that did not converge: {fit.note}")
    labels, count = distinct_permutations(X)
    exact = exact or count <= iterations
    if exact:
        arrangements = multiset_permutations(labels)
        orders = np.argsort(arrangements, axis=1, kind="stable")
        X = X[np.argsort(labels, kind="stable")]
    else:
        rng = np.random.default_rng(seed)
        orders = np.vstack([np.arange(len(y))] + [rng.permutation(len(y)) for _ in range(iterations - 1)])
    z, qm, t, f = _statistics(fit, X, y, v, orders)
    wald, knha = fit.coefficients("z"), fit.coefficients("knha")
    if not exact:  # the first arrangement is the observed one, with the observed statistics
        z[0], qm[0], t[0], f[0] = wald.statistic, fit.qm, knha.statistic, fit.f
    failed = np.isnan(qm)
    failures = int(failed.sum())
    for _ in range(MAX_REDRAW_ROUNDS if not exact else 0):  # metafor: a failed random permutation is redrawn
        if not failed.any():
            break
        index = np.flatnonzero(failed)
        redrawn = np.vstack([rng.permutation(len(y)) for _ in index])
        for array, new in zip((z, qm, t, f), _statistics(fit, X, y, v, redrawn)):
            array[index] = new
        failed[index] = np.isnan(qm[index])
        failures += int(failed[index].sum())
    return PermutationTest(
        columns=fit.columns, iterations=len(orders), exact=exact, seed=None if exact else seed,
        p=_share(np.abs(z), np.abs(wald.statistic.to_numpy())), qm_p=float(_share(qm, fit.qm)),
        p_knha=_share(np.abs(t), np.abs(knha.statistic.to_numpy())), f_p=float(_share(f, fit.f)),
        failed=failures)


def _statistics(fit: MetaRegression, X, y, v, orders):
    """:func:`batch_statistics` of the arrangements ``orders``, in chunks of bounded memory."""
    chunk = max(1, CHUNK_CELLS // (len(y) * fit.p))
    parts = [batch_statistics(X, y[o], v[o], fit.method, fit.btt, fit.control, fit.knha_adhoc,
                              None if fit.weights is None else fit.weights[o])
             for o in (orders[s:s + chunk] for s in range(0, len(orders), chunk))]
    return tuple(np.concatenate(column) for column in zip(*parts))


def _share(permuted: np.ndarray, observed) -> np.ndarray:
    """Share of successful permutations with a statistic >= observed - sqrt(eps)."""
    valid = ~np.isnan(permuted)
    with np.errstate(invalid="ignore"):  # no successful permutation: the share is undefined (NaN)
        return np.sum((permuted >= observed - TOLERANCE) & valid, axis=0) / np.sum(valid, axis=0)
