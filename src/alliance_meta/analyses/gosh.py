"""GOSH: the model fitted to all (or many random) subsets of the studies, as metafor's ``gosh()``.

Olkin, Dahabreh & Trikalinos (2012), *Res Synth Methods* 3, 214-223 ("graphical display of
study heterogeneity"). For each subset of studies the intercept-only model gives the
estimate, Cochran's Q, I^2, H^2 and tau^2; plotting I^2 against the estimate shows clusters
that a few studies create. All 2^k - 1 subsets are fitted when that is at most ``subsets``
(metafor's default 10^6); otherwise ``subsets`` random subsets, each study in with
probability 1/2 and at least one study (metafor's draw: a binomial(k, 1/2) size, then a
uniform subset of that size, which is the same distribution), from a seeded generator.

Vectorised: subsets are rows of a boolean matrix, fitted a batch at a time; every sum is a
masked matrix product. Estimators as metafor's ``rma.uni``: ``common`` (metafor's "EE"), DL,
HE, HS, HSk and SJ in closed form; ML, REML and EB by Fisher scoring with metafor's
stopping rule (change in tau^2 at most 1e-5), step halving at 0 and its ``ll0check``, the
iterations run for all subsets of a batch at once. PM and PMM solve Q(tau^2) = k - 1 (PM) or
the chi^2_{k-1} median (PMM) per subset by R's ``uniroot`` (Brent's zeroin, iterate by iterate
as :func:`alliance_meta.engines.heterogeneity.zeroin`, tolerance eps^0.25, at most 100
iterations) on [0, max(100, 10 mad(yi)^2)] of the subset, run for all subsets at once; tau^2 = 0
when Q(0) is below the target, a failed fit (NaN, metafor's NA) when Q(tau2_max) is above it.
GENQ (metafor's ``rma(..., weights = a, method = "GENQ")``, by default the pipeline's GENQ
weights a = 1/sqrt(vi)) is closed form, its estimate the weighted mean with those weights. A failed subset fit
has NaN for every figure but k, as metafor's NA. With ``common`` and DL, I^2 and H^2 come from
Q (as metafor's fast path); otherwise I^2 = 100 tau^2 / (s^2 + tau^2) with the typical
within-study variance s^2 = (k - 1) / tr(P) of the subset (Higgins & Thompson 2002). The
rows are ordered by subset size (stably; for all subsets the order of metafor's
``expand.grid``, study 1 varying fastest). The effects are centred on their mean, as metafor's rma centres them;
a subset whose Q that centre leaves less than half its digits (its own mean far from it: small effects beside
effects in the millions) is fitted again centred on one of its studies (:func:`_fit_centred`). Weights summing to
more than 2^128 (vi near 1e-300) are divided by a power of two per subset before they are squared, as the single
fit's (:func:`alliance_meta.engines.heterogeneity.weight_exponents`).
"""

from __future__ import annotations

import contextlib
import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy._core import multiarray as np_multiarray

from scipy import special

from alliance_meta.engines.heterogeneity import (DOUBLE_EPSILON, Control, effects_centre, may_dominate, moment_design,
                                                q_from_sums, scaled_rows, scoring_step, scoring_stopped,
                                                trace_p_rows, weight_exponent, weight_exponents,
                                                with_dominated_reml_steps, without_cancellation)
from alliance_meta.inputs.options import keywords_checked
from alliance_meta.models.univariate import BeyondDoubleRange, check_double_range, genq_weights
from alliance_meta.wording import counted

ESTIMATORS = ("common", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")
DEFAULT_SUBSETS = 1_000_000
DEFAULT_SEED = 20120901
RANDOM_CHUNK_CELLS = 4_000_000  # uniforms per chunk when drawing random subsets (32 MB)
COLUMNS = ("k", "q", "i2", "h2", "tau2", "estimate")


@dataclass(frozen=True)
class GoshResult:
    """The fits of every subset (rows) with the subsets themselves (``included``)."""

    method: str
    exact: bool  # all subsets (True) or random ones
    included: np.ndarray  # (n, k) bool: study j in subset i
    k: np.ndarray
    q: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    tau2: np.ndarray
    estimate: np.ndarray
    study_id: tuple
    seed: int | None = None

    @property
    def n_subsets(self) -> int:
        return int(self.k.size)

    @property
    def fitted(self) -> np.ndarray:
        """Subsets whose fit succeeded (metafor's ``fit``): every figure finite."""
        return np.isfinite(self.estimate) & np.isfinite(self.i2) & np.isfinite(self.tau2)

    def to_frame(self, with_subsets: bool = False) -> pd.DataFrame:
        """One row per subset: ``k``, ``q``, ``i2``, ``h2``, ``tau2``, ``estimate`` (and 0/1 study columns)."""
        frame = pd.DataFrame({name: getattr(self, name) for name in COLUMNS})
        if with_subsets:
            studies = pd.DataFrame(self.included.astype(np.int8), columns=[str(s) for s in self.study_id])
            frame = pd.concat([frame, studies], axis=1)
        return frame

    def summary(self) -> pd.DataFrame:
        """Mean, SD, min, quartiles and max of each figure over the fitted subsets."""
        frame = self.to_frame().loc[self.fitted]
        return frame.describe().T.rename(columns={"25%": "q1", "50%": "median", "75%": "q3"})

    def study_shift(self) -> pd.DataFrame:
        """Per study: mean estimate and I^2 over the subsets with and without it, and the shifts.

        A study whose inclusion moves the GOSH cloud (Olkin et al. 2012, sec. 4) has a large
        ``estimate_shift`` or ``i2_shift``.
        """
        ok = self.fitted
        values = {name: getattr(self, name)[ok] for name in ("estimate", "i2")}
        chosen = self.included[ok]
        # counted from the booleans: the indicator's column sums are these whole numbers (exact in any order), and
        # two passes over the n x k doubles (1 GB for the demo) are spared
        n_with = np.count_nonzero(chosen, axis=0)
        n_without = chosen.shape[0] - n_with
        with _small_pages():
            indicator = chosen.astype(float)  # 1 where the study is in the subset
        del chosen
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_with = {name: value @ indicator / n_with for name, value in values.items()}
            np.subtract(1.0, indicator, out=indicator)  # 1 where it is not: in place, one n x k copy at a time
            mean_without = {name: value @ indicator / n_without for name, value in values.items()}
        rows = {}
        for name in values:
            rows[f"{name}_with"], rows[f"{name}_without"] = mean_with[name], mean_without[name]
            rows[f"{name}_shift"] = mean_with[name] - mean_without[name]
        return pd.DataFrame({"study_id": list(self.study_id), "n_with": n_with.astype(int), **rows})


@contextlib.contextmanager
def _small_pages():
    """Allocate without asking for transparent huge pages (numpy's madvise, on by default on Linux).

    The subsets x studies indicator of :meth:`GoshResult.study_shift` (1 GB for 10^6 subsets of 125
    studies) is written once and read twice; where the kernel compacts memory to serve huge pages
    on a page fault (its ``defrag`` setting ``madvise``, a common default), filling it took 2.5-3 s
    instead of 0.5 s. Drawing the random subsets (the 125 MB matrix and its sorted copy) took 1.0-2.9 s
    instead of 0.5 s. The values are the same either way."""
    switch = getattr(np_multiarray, "_set_madvise_hugepage", None)
    previous = switch(False) if switch else None
    try:
        yield
    finally:
        if switch:
            switch(previous)


# --------------------------------------------------------------------------------------
# Subsets
# --------------------------------------------------------------------------------------

def all_subsets(k: int) -> np.ndarray:
    """Every non-empty subset of k studies, in the order of metafor's ``gosh`` (by size, then binary)."""
    codes = np.arange(1, 2**k, dtype=np.int64)
    included = ((codes[:, None] >> np.arange(k)) & 1).astype(bool)
    return included[np.argsort(included.sum(axis=1), kind="stable")]


def random_subsets(k: int, n: int, seed: int | None = DEFAULT_SEED) -> np.ndarray:
    """``n`` random non-empty subsets: each study in with probability 1/2, empty draws redrawn."""
    generator = np.random.default_rng(seed)
    included = np.empty((n, k), dtype=bool)
    rows = max(1, RANDOM_CHUNK_CELLS // k)  # uniforms drawn in chunks of rows: the same stream, no n x k doubles
    for start in range(0, n, rows):
        included[start:start + rows] = generator.random((min(rows, n - start), k)) < 0.5
    while (empty := ~included.any(axis=1)).any():
        included[empty] = generator.random((int(empty.sum()), k)) < 0.5
    return included[np.argsort(included.sum(axis=1), kind="stable")]


def subset_plan(k: int, subsets: int = DEFAULT_SUBSETS) -> tuple[int, bool]:
    """How many subsets of ``k`` studies GOSH fits and whether that is every one: ``(2^k - 1, True)`` when
    2^k - 1 <= ``subsets``, else ``(subsets, False)`` (random ones), as :func:`choose_subsets` chooses them."""
    subsets = int(subsets)
    return (2**k - 1, True) if k < 63 and 2**k - 1 <= subsets else (subsets, False)


def choose_subsets(k: int, subsets: int = DEFAULT_SUBSETS, seed: int | None = DEFAULT_SEED) -> tuple[np.ndarray, bool]:
    """All subsets when 2^k - 1 <= ``subsets``, else ``subsets`` random ones; (matrix, exact)."""
    try:
        whole = not isinstance(subsets, bool) and float(subsets).is_integer()
    except (TypeError, ValueError):  # subsets="all": "could not convert string to float", without the argument
        whole = False
    if not whole:
        raise ValueError(f"gosh needs a whole number of subsets, not {subsets!r}")
    subsets = int(subsets)
    # numpy's generator takes None or a whole number >= 0; seed="x" failed inside it ("SeedSequence expects int
    # or sequence of ints for entropy not x"), without naming the argument
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"gosh: seed is None or a whole number >= 0 (the random subsets' seed), not {seed!r}")
    if subsets < 2:
        raise ValueError("gosh needs subsets >= 2")
    if k < 2:
        raise ValueError("gosh needs at least two studies")
    if subset_plan(k, subsets)[1]:
        return all_subsets(k), True
    return random_subsets(k, subsets, seed), False


def memory_mb(k: int, subsets: int = DEFAULT_SUBSETS) -> int:
    """Memory (MB) a GOSH job of ``k`` studies needs, for a cluster's scheduler: its subsets x k matrix of
    doubles (the per-study shifts; 4.1 GB resident at k = 375 and 10^6 subsets, docs/performance.md), a third
    more for the other arrays of that size, and 1 GB for Python, numpy and matplotlib."""
    n = subset_plan(k, subsets)[0]
    return 1000 + math.ceil(4 / 3 * 8 * n * k / 2**20)


# --------------------------------------------------------------------------------------
# Fits of a batch of subsets
# --------------------------------------------------------------------------------------

def _moments(y: np.ndarray) -> np.ndarray:
    """Columns 1, y, y^2 (k x 3): ``w @ moments`` gives sum w, sum w y, sum w y^2 per row of w."""
    return np.column_stack([np.ones_like(y), y, y * y])


def _weights(mask: np.ndarray, v: np.ndarray, tau2) -> np.ndarray:
    """1 / (v + tau^2) inside each subset (rows of ``mask``), 0 outside."""
    weights = v[None, :] + np.asarray(tau2, dtype=float).reshape(-1, 1)
    if weights.shape != mask.shape:  # one tau^2 for all rows: a single row, broadcast
        return mask / weights
    return np.divide(mask, weights, out=weights)  # in place: one n x k array, not two


def _q(sums: np.ndarray) -> np.ndarray:
    """Q = sum w y^2 - (sum w y)^2 / sum w from the columns of ``w @ moments``; linear in w, so the sums of huge
    weights are scaled per row (:func:`~alliance_meta.engines.heterogeneity.weight_exponents`) and Q scaled back."""
    exponents = weight_exponents(sums[:, 0])
    sums = scaled_rows(sums, exponents)
    return np.ldexp(np.maximum(sums[:, 2] - sums[:, 1] ** 2 / sums[:, 0], 0.0), exponents)


def _trace_p(mask: np.ndarray, v: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """tr(P) of each subset's common-effect weights 1/v (``fixed``: their sums, ``_weights(mask, v, 0) @ moments``);
    weights summing to more than 2^128 (vi near 1e-300) scaled per subset
    (:func:`~alliance_meta.engines.heterogeneity.trace_p_rows`), as their squares would overflow."""
    weights = 1.0 / v
    if weight_exponent(float(weights.sum())):
        return trace_p_rows(mask * weights, fixed[:, 0])
    return without_cancellation(fixed[:, 0] - (mask @ (1.0 / v**2)) / fixed[:, 0], fixed[:, 0], mask, weights)


#: Q = sum w y^2 - (sum w y)^2 / sum w of effects y centred away from the subset's mean loses about
#: log2((sum w y)^2 / sum w / Q) of its 53 bits to cancellation (Chan, Golub & LeVeque 1983, *Am Stat* 37,
#: 242-247): a subset losing more than half of them (this ratio) is fitted again centred on one of its studies
CANCELLATION_LIMIT = 2.0**26


def _far_from_centre(fixed: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The subsets of two or more studies whose Q, from their common-effect sums ``fixed`` of effects centred on
    the mean of all, loses more than half its digits (:data:`CANCELLATION_LIMIT`): their own mean lies far from
    it, as that of the small effects where others are in the millions."""
    fixed = scaled_rows(fixed, weight_exponents(fixed[:, 0]))  # the ratio of two terms linear in w
    with np.errstate(divide="ignore", invalid="ignore"):
        return (size > 1) & (fixed[:, 1] ** 2 / fixed[:, 0] > CANCELLATION_LIMIT * _q(fixed))


def _closed_form_tau2(mask, y, v, size, method, fixed=None):
    """DL, HS, HSk (from the common-effect sums ``fixed``), HE and SJ of each subset, truncated at 0."""
    moments = _moments(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("DL", "HS", "HSk"):
            q = _q(fixed)
        if method == "DL":
            tau2 = (q - (size - 1)) / _trace_p(mask, v, fixed)
        elif method in ("HS", "HSk"):
            factor = size / (size - 1) if method == "HSk" else 1.0
            tau2 = (factor * q - size) / fixed[:, 0]
        else:
            plain = mask @ moments
            squares = plain[:, 2] - plain[:, 1] ** 2 / size
            if method == "HE":
                tau2 = (squares - (mask @ v) * (size - 1) / size) / (size - 1)
            else:  # SJ: start at var(y)(k - 1)/k, one weighted step
                start = squares / size
                tau2 = start * _q(_weights(mask, v, start) @ moments) / (size - 1)
    return np.maximum(np.where(size > 1, tau2, 0.0), 0.0)


def _log_likelihood(mask, y, v, tau2, method, sums=None):
    """(Restricted) log-likelihood of each subset's model up to constants (Viechtbauer 2005).

    ``sums``: the rows' ``weights @ moments`` when already computed. At tau^2 = 0 the log term
    needs only log(v_j), broadcast, instead of a logarithm per cell (the same values)."""
    if sums is None:
        sums = _weights(mask, v, tau2) @ _moments(y)
    if np.any(tau2):
        log_weights = v[None, :] + tau2[:, None]
        np.log(log_weights, out=log_weights)
    else:
        log_weights = np.broadcast_to(np.log(v), mask.shape)
    value = -0.5 * np.einsum("ij,ij->i", mask, log_weights) - 0.5 * _q(sums)
    return value - 0.5 * np.log(sums[:, 0]) if method == "REML" else value


def _scoring_tau2(mask, y, v, size, method, control: Control, fixed):
    """ML, REML or EB by Fisher scoring from the HE estimate, all subsets of a batch at once.

    Per subset as metafor's rma.uni: the step (score / information) is halved while it would
    make tau^2 negative, iteration stops when tau^2 changes by at most ``threshold`` (or by rounding
    only: ``scoring_stopped``), and the ll0check sets tau^2 = 0 when the likelihood is higher
    there. Converged subsets leave the active set, so later iterations touch only the slow ones.
    ``fixed``: the batch's common-effect sums (``_weights(mask, v, 0) @ moments``), which are the
    likelihood's sums at tau^2 = 0.
    Returns tau^2 and, when the ll0check has computed them for every subset and kept every tau^2, the sums at it
    (``_weights(mask, v, tau2) @ moments``, the estimate's: the same product, not computed again), else None.
    """
    tau2 = _closed_form_tau2(mask, y, v, size, "HE")
    moments = _moments(y)
    active = np.flatnonzero(size > 1)
    rows = mask[active]
    smallest_change = np.full(active.size, np.inf)  # each active subset's smallest change of tau^2 so far
    dominated = may_dominate(1.0 / v)  # weights 1/(v + tau^2) dominate at most as 1/v do
    for _ in range(control.max_iterations + 1):
        if active.size == 0:
            break
        k = size[active]
        w = _weights(rows, v, tau2[active])
        sums = w @ moments  # sum w, sum w y, sum w y^2
        # weights near 1e300: w / 2^e per subset (exact); the terms of degree 1 in w are scaled by 2^-e more below,
        # to those of degree 2, as heterogeneity's _fisher_scoring
        exponents = weight_exponents(sums[:, 0])
        unscaled = w
        w, sums = scaled_rows(w, exponents), scaled_rows(sums, exponents)
        sum_w = sums[:, 0]
        if method == "EB":
            step = scoring_step(method, k, exponents, sum_w, _q(sums))
        else:
            w2 = w * w
            sums2 = w2 @ moments
            mean = sums[:, 1] / sum_w
            score = sums2[:, 2] - 2 * mean * sums2[:, 1] + mean * mean * sums2[:, 0]  # ||P y||^2
            step = scoring_step(method, k, exponents, sum_w, score, sums2[:, 0],
                                np.einsum("ij,ij->i", w2, w) if method == "REML" else None)
            if method == "REML" and dominated:
                step = with_dominated_reml_steps(step, unscaled, y)
        step = np.nan_to_num(step * control.step_adjustment, nan=0.0)
        old = tau2[active]
        # metafor halves the step until tau^2 >= 0; from tau^2 = 0 a negative step halves to 0
        step = np.where((old <= 0) & (step < 0), 0.0, step)
        while np.any(negative := old + step < 0):
            step = np.where(negative, step / 2, step)
        new = old + step
        tau2[active] = new
        change = np.abs(new - old)
        moving = ~scoring_stopped(change, smallest_change, new, control.threshold, k)
        smallest_change = np.minimum(smallest_change, change)
        if not moving.all():
            active, rows, smallest_change = active[moving], rows[moving], smallest_change[moving]
    tau2[active] = np.nan  # not converged within max_iterations: metafor's fit fails (NA)
    if method != "EB" and control.ll0_check:
        positive = np.flatnonzero(tau2 > control.threshold)
        if positive.size:
            rows = mask if positive.size == mask.shape[0] else mask[positive]  # no copy when every subset is
            at_zero = _log_likelihood(mask, y, v, np.zeros(mask.shape[0]), method, sums=fixed)[positive]
            sums = _weights(rows, v, tau2[positive]) @ moments
            reset = at_zero - _log_likelihood(rows, y, v, tau2[positive], method, sums=sums) > control.tolerance
            tau2[positive[reset]] = 0.0
            if rows is mask and not reset.any():  # every subset's tau^2 as the sums were taken at
                return tau2, sums
    return tau2, None


def _tau2_max(mask: np.ndarray, y: np.ndarray, size: np.ndarray, control: Control) -> np.ndarray:
    """metafor's root-finding bracket per subset: max(100, 10 mad(yi)^2) of the subset's yi.

    The subset's MAD is computed only when it can matter: 10 (1.4826 range(y))^2 bounds every
    subset's 10 mad^2, so below 100 the bracket is 100 for all subsets."""
    if control.tau2_max is not None:
        return np.full(size.shape, float(control.tau2_max))
    bracket = np.full(size.shape, 100.0)
    if 10.0 * (1.4826 * float(np.ptp(y))) ** 2 <= 100.0:
        return bracket
    values = np.where(mask > 0, y[None, :], np.nan)
    median = np.nanmedian(values, axis=1)
    mad = 1.4826 * np.nanmedian(np.abs(values - median[:, None]), axis=1)
    return np.maximum(bracket, 10.0 * mad**2)


def _zeroin_rows(function, lower, upper, f_lower, f_upper, tolerance: float, max_iterations: int):
    """:func:`alliance_meta.engines.heterogeneity.zeroin` (R's uniroot) for many roots at once.

    ``function(rows, points)`` evaluates the functions of the given rows at ``points``. Every
    row takes exactly the scalar version's steps (the same branches, elementwise); rows leave
    once converged. Returns (root, converged); a row not converged in ``max_iterations`` keeps
    its last iterate with ``converged`` False."""
    a, b, fa, fb = (np.array(value, dtype=float) for value in (lower, upper, f_lower, f_upper))
    c, fc = a.copy(), fa.copy()
    root = np.where(fa == 0.0, a, b)
    converged = (fa == 0.0) | (fb == 0.0)
    active = np.flatnonzero(~converged)
    a, b, c, fa, fb, fc = (x[active] for x in (a, b, c, fa, fb, fc))
    for _ in range(max_iterations + 1):
        if active.size == 0:
            break
        previous_step = b - a
        swap = np.abs(fc) < np.abs(fb)
        a, b, c = np.where(swap, b, a), np.where(swap, c, b), np.where(swap, b, c)
        fa, fb, fc = np.where(swap, fb, fa), np.where(swap, fc, fb), np.where(swap, fb, fc)
        tolerance_actual = 2.0 * DOUBLE_EPSILON * np.abs(b) + tolerance / 2.0
        new_step = (c - b) / 2.0
        done = (np.abs(new_step) <= tolerance_actual) | (fb == 0.0)
        if done.any():
            root[active[done]], converged[active[done]] = b[done], True
            keep = ~done
            active = active[keep]
            a, b, c, fa, fb, fc, previous_step, tolerance_actual, new_step = (
                x[keep] for x in (a, b, c, fa, fb, fc, previous_step, tolerance_actual, new_step))
            if active.size == 0:
                break
        with np.errstate(divide="ignore", invalid="ignore"):
            interpolate = (np.abs(previous_step) >= tolerance_actual) & (np.abs(fa) > np.abs(fb))
            cb = c - b
            secant = a == c
            t1_secant = fb / fa
            q_inverse, t1, t2 = fa / fc, fb / fc, fb / fa
            p = np.where(secant, cb * t1_secant,
                         t2 * (cb * q_inverse * (q_inverse - t1) - (b - a) * (t1 - 1.0)))
            q = np.where(secant, 1.0 - t1_secant, (q_inverse - 1.0) * (t1 - 1.0) * (t2 - 1.0))
            positive = p > 0
            q = np.where(positive, -q, q)
            p = np.where(positive, p, -p)
            accept = interpolate & (p < 0.75 * cb * q - np.abs(tolerance_actual * q) / 2.0) \
                & (p < np.abs(previous_step * q / 2.0))
            new_step = np.where(accept, p / q, new_step)
        small = np.abs(new_step) < tolerance_actual
        new_step = np.where(small, np.where(new_step > 0, tolerance_actual, -tolerance_actual), new_step)
        a, fa = b, fb
        b = b + new_step
        fb = function(active, b)
        same_sign = ((fb > 0) & (fc > 0)) | ((fb < 0) & (fc < 0))
        c, fc = np.where(same_sign, a, c), np.where(same_sign, fa, fc)
    root[active] = b
    return root, converged


def _paule_mandel_tau2(mask, y, v, size, method, control: Control, fixed):
    """PM (target k - 1) or PMM (target the chi^2_{k-1} median) of each subset, as metafor.

    metafor's rma.uni: tau^2 = 0 when Q(0) < target; no fit (NaN) when Q(tau2_max) > target;
    otherwise uniroot on [0, tau2_max]. A root search that does not converge gives NaN, as
    :func:`alliance_meta.engines.heterogeneity.estimate_tau2` does for one fit."""
    moments = _moments(y)
    df = size - 1
    target = special.chdtri(np.maximum(df, 1), 0.5) if method == "PMM" else df
    tau2 = np.zeros(size.shape)
    f_lower = _q(fixed) - target
    candidates = np.flatnonzero((size > 1) & (f_lower >= 0))
    if candidates.size == 0:
        return tau2
    rows = mask[candidates]
    upper = _tau2_max(rows, y, size[candidates], control)
    f_upper = _q(_weights(rows, v, upper) @ moments) - target[candidates]
    too_low = f_upper > 0
    tau2[candidates[too_low]] = np.nan
    solve = ~too_low
    candidates, rows = candidates[solve], rows[solve]
    if candidates.size == 0:
        return tau2

    def objective(active, points):
        return _q(_weights(rows[active], v, points) @ moments) - target[candidates[active]]

    root, converged = _zeroin_rows(objective, np.zeros(candidates.size), upper[solve], f_lower[candidates],
                                   f_upper[solve], control.tolerance, control.max_iterations)
    tau2[candidates] = np.where(converged, np.maximum(root, 0.0), np.nan)
    return tau2


def _genq_tau2(mask, y, v, size, weights):
    """GENQ with fixed weights ``a`` of each subset: (Q_a - tr(P_a V)) / tr(P_a), truncated at 0."""
    sums = (mask * weights[None, :]) @ _moments(y)
    sum_a2 = mask @ (weights**2)
    trace_pv = mask @ (weights * v) - (mask @ (weights**2 * v)) / sums[:, 0]
    trace = without_cancellation(sums[:, 0] - sum_a2 / sums[:, 0], sums[:, 0], mask, weights)
    tau2 = (_q(sums) - trace_pv) / trace
    return np.maximum(np.where(size > 1, tau2, 0.0), 0.0), sums


def _fit_batch(mask: np.ndarray, y: np.ndarray, v: np.ndarray, method: str, control: Control, weights=None):
    size = mask @ np.ones(v.size)
    fixed = _weights(mask, v, 0.0) @ _moments(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(size > 1, _q(fixed), 0.0)
        df = size - 1
        if method == "common":
            tau2 = np.zeros(size.shape)
        elif method in ("ML", "REML", "EB"):
            tau2, scored = _scoring_tau2(mask, y, v, size, method, control, fixed)
        elif method in ("PM", "PMM"):
            tau2 = _paule_mandel_tau2(mask, y, v, size, method, control, fixed)
        elif method == "GENQ":
            tau2, genq_sums = _genq_tau2(mask, y, v, size, weights)
        else:
            tau2 = _closed_form_tau2(mask, y, v, size, method, fixed)
        if method in ("common", "DL"):  # metafor's fast path: I^2 and H^2 from Q
            i2 = np.where(size > 1, np.maximum(0.0, 100 * (q - df) / q), 0.0)
            h2 = np.where(size > 1, q / df, 1.0)
        else:
            typical = df / _trace_p(mask, v, fixed)
            i2 = np.where(size > 1, 100 * tau2 / (typical + tau2), 0.0)
            h2 = np.where(size > 1, tau2 / typical + 1, 1.0)
        if method == "common":
            sums = fixed
        elif method in ("ML", "REML", "EB") and scored is not None:  # the ll0check's, at these tau^2
            sums = scored
        elif method == "GENQ":  # the estimate weighted by the GENQ weights, as metafor's rma(weights = a)
            sums = genq_sums
        else:
            sums = _weights(mask, v, np.nan_to_num(tau2)) @ _moments(y)
        estimate = sums[:, 1] / sums[:, 0]
    failed = np.isnan(tau2)  # metafor's failed fit: every figure NA (the subset's k kept here)
    q, i2, h2, estimate = (np.where(failed, np.nan, value) for value in (q, i2, h2, estimate))
    return q, i2, h2, tau2, estimate, _far_from_centre(fixed, size)


def _fit_centred(mask, y, v, centre: float, method: str, control: Control, weights=None):
    """:func:`_fit_batch` of the effects centred on ``centre`` (the mean of all, as metafor's rma centres its
    fits' effects), the subsets whose Q that centre leaves less than half its digits (:func:`_far_from_centre`)
    fitted again centred on their study nearest their common-effect mean, as each of metafor's subset fits
    (rma's P y) is exact there. Returns q, i2, h2, tau2 and the estimates."""
    *figures, estimate, far = _fit_batch(mask, y - centre, v, method, control, weights)
    figures.append(estimate + centre)
    far = np.flatnonzero(far)
    if far.size:
        fixed = _weights(mask[far], v, 0.0) @ _moments(y)
        means = fixed[:, 1] / fixed[:, 0]
        nearest = np.where(mask[far] > 0, np.abs(y[None, :] - means[:, None]), np.inf).argmin(axis=1)
        for study in np.unique(nearest):
            rows = far[nearest == study]
            *refitted, estimate, _ = _fit_batch(mask[rows], y - y[study], v, method, control, weights)
            for values, new in zip(figures, (*refitted, estimate + y[study])):
                values[rows] = new
    return figures


def gosh(yi, vi, method: str = "common", subsets: int = DEFAULT_SUBSETS, seed: int | None = DEFAULT_SEED,
         study_id=None, batch_size: int | None = None, control: Control | None = None, weights=None) -> GoshResult:
    """Fit the intercept-only model ``method`` to every (or ``subsets`` random) subset of studies.

    ``yi``, ``vi``: one effect per study (e.g. the study composites). ``batch_size``: subsets
    per batch (default about 4 million matrix cells per batch). ``control``: the iteration
    settings of ML, REML, EB, PM and PMM (default metafor's). Subsets whose iterations do not
    converge get NaN, as metafor's failed fits get NA. Effects and variances beyond double range raise
    :class:`~alliance_meta.models.univariate.BeyondDoubleRange` (naming the study by ``study_id``, if given), as
    ``am.fit`` of them does. GENQ uses ``weights`` (one per study), by default
    1/sqrt(vi) as the pipeline's GENQ fits (:func:`alliance_meta.models.univariate.genq_weights`).
    """
    if method not in ESTIMATORS:
        raise ValueError(f"gosh supports the estimators {', '.join(ESTIMATORS)}; got {method!r}")
    y = np.asarray(yi, dtype=float).reshape(-1)
    v = np.asarray(vi, dtype=float).reshape(-1)
    if y.size != v.size or not (np.all(np.isfinite(y)) and np.all(np.isfinite(v) & (v > 0))):
        raise ValueError("yi and vi must be finite, of equal length, with vi > 0")
    k = y.size
    control = control or Control()
    centre = effects_centre(y, 1.0 / v)  # as metafor: sums of centred effects round less
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is BeyondDoubleRange here, as am.fit raises it
        design = moment_design(y - centre)  # shared_design, as am.fit: the same check of the same sums
        try:
            check_double_range(y, v, method, design, q_from_sums(design @ (1.0 / v)), control)
        except BeyondDoubleRange as error:
            raise error if study_id is None else error.at(f"study_id {study_id[error.index]}") from None
    weights = genq_weights(v, method, weights)
    with _small_pages():  # the subsets x studies matrix is written once and read batch by batch
        included, exact = choose_subsets(k, subsets, seed)
    batch = batch_size or max(1, 4_000_000 // k)
    n = included.shape[0]
    out = {name: np.empty(n) for name in ("q", "i2", "h2", "tau2", "estimate")}
    for start in range(0, n, batch):
        mask = included[start:start + batch].astype(float)
        figures = _fit_centred(mask, y, v, centre, method, control, weights)
        for name, values in zip(("q", "i2", "h2", "tau2", "estimate"), figures):
            out[name][start:start + batch] = values
    study_id = tuple(str(s) for s in (study_id if study_id is not None else range(1, k + 1)))
    return GoshResult(method, exact, included, included.sum(axis=1), out["q"], out["i2"], out["h2"],
                      out["tau2"], out["estimate"], study_id, None if exact else seed)


def gosh_summary_frame(result: GoshResult) -> pd.DataFrame:
    """A one-row-per-figure summary with how the subsets were chosen (for logs and reports)."""
    summary = result.summary().reset_index().rename(columns={"index": "figure"})
    summary.insert(0, "method", result.method)
    summary["subsets"] = "all" if result.exact else f"{result.n_subsets} random (seed {result.seed})"
    return summary



HIGHLIGHTED = 3  # at most this many studies get a panel of their own in the GOSH plot
MINIMUM_STUDIES = 3


@dataclass(frozen=True, repr=False, eq=False)
class GoshAnalysis:
    """GOSH of a fit (:func:`gosh_analysis`, ``am.gosh``): the subset fits, the per-study shifts
    (``gosh_studies.csv``) and the studies the plot highlights. With fewer than
    :data:`MINIMUM_STUDIES` studies there are no subsets (``result`` None) and ``note`` says so."""

    result: GoshResult | None
    studies: pd.DataFrame  # the independent studies the subsets are drawn from
    shift: pd.DataFrame
    highlight: tuple[int, ...]  # positions in ``studies``
    influential: tuple[str, ...]  # study ids flagged by metafor's influence rules
    metric: str | None
    note: str = ""

    def to_frame(self) -> pd.DataFrame:
        """``gosh_studies.csv``: per study, the mean estimate and I^2 with and without it (:meth:`GoshResult.study_shift`)."""
        return self.shift.copy()

    def summary(self) -> pd.DataFrame:
        """Mean, SD, quartiles of each figure over the fitted subsets, with how they were chosen."""
        return gosh_summary_frame(self.result) if self.result is not None else pd.DataFrame()

    def messages(self) -> list[str]:
        """What a log should say: the subsets fitted, and why the highlighted studies are highlighted."""
        if self.result is None:
            return [self.note]
        result, ids = self.result, self.studies["study_id"].astype(str)
        chosen = "all" if result.exact else f"{result.n_subsets} random (seed {result.seed})"
        lines = [f"{result.method} on {chosen} subsets of {len(self.studies)} studies "
                 f"({int(result.fitted.sum())} fitted)\n{result.summary().to_string()}"]
        if self.note:
            lines.append(self.note)
        highlighted = ", ".join(ids.iloc[list(self.highlight)])
        lines.append(f"highlighted (influential by metafor's rules): {highlighted}" if self.influential else
                     f"no influential study by metafor's rules; highlighted the study moving the GOSH estimates "
                     f"most: {highlighted}")
        return lines

    @keywords_checked
    def plot(self, labels: str | list[str] = "label", note: str | None = None):
        """The GOSH plot (:func:`alliance_meta.plots.gosh.gosh_plot`): one panel per highlighted study.
        ``labels``: the studies' names, or how to make them from the rows (``label``, ``authors_year``,
        ``both``; as the forest plot). Fewer than three studies: a figure that says so. ``note``: beneath it
        (default: that the rows are simulated, when they are; ``""`` leaves it out)."""
        from alliance_meta.plots.forest_options import study_labels
        from alliance_meta.plots.gosh import gosh_plot
        from alliance_meta.plots.provenance import figure_note, returned_figure
        from alliance_meta.plots.style import message_figure

        note = figure_note(self.studies) if note is None else note
        if self.result is None:
            return returned_figure(message_figure(self.note), note)
        if isinstance(labels, str):
            names = study_labels(self.studies, labels, escape=False)
        else:
            try:
                names = [str(name) for name in labels]
            except TypeError:  # labels=True: "'bool' object is not iterable"
                raise TypeError(f"labels: 'label', 'authors_year' or 'both', or one name per study, not "
                                f"{labels!r}") from None
            if len(names) != len(self.studies):
                raise ValueError(f"labels: one name per study ({len(self.studies)}), not {len(names)}")
        return returned_figure(gosh_plot(self.result, list(self.highlight), names, self.metric), note)

    def __repr__(self) -> str:
        if self.result is None:
            return f"<GoshAnalysis: {self.note}>"
        return (f"<GoshAnalysis: {self.result.method} on {self.result.n_subsets} subsets of k = {len(self.studies)}; "
                f"highlighted {', '.join(self.studies['study_id'].astype(str).iloc[list(self.highlight)])}"
                + "".join(f"; {note}" for note in self.notes) + ">")

    @property
    def notes(self) -> tuple[str, ...]:
        """The note as the other analyses' results give theirs (e.g. a three-level fit's study composites)."""
        return (self.note,) if self.note else ()


def too_few_studies(studies: pd.DataFrame, metric: str | None = None) -> GoshAnalysis:
    """The :class:`GoshAnalysis` of fewer than three studies: no subsets, a note, an empty table."""
    k = len(studies)
    empty = studies.head(0)[["study_id"]] if "study_id" in studies else pd.DataFrame(columns=["study_id"])
    return GoshAnalysis(None, studies, empty, (), (), metric, f"{k} {'study' if k == 1 else 'studies'}: "
                        f"too few for a GOSH plot (it needs at least {MINIMUM_STUDIES})")


def _unmeasured_note(shift: pd.DataFrame, ids: pd.Series, n_subsets: int) -> str:
    """What few random subsets leave undefined: the studies in every or in no fitted subset, whose shift (with
    minus without) is NaN; "" when each study is in some subsets and not in others."""
    undefined = ~np.isfinite(shift["estimate_shift"].to_numpy(float))
    if not undefined.any():
        return ""
    named = ", ".join(ids.iloc[np.flatnonzero(undefined)[:5]]) + (", ..." if undefined.sum() > 5 else "")
    count = int(undefined.sum())
    return (f"{counted(count, 'study', 'studies')} in every or in no fitted subset of the {n_subsets} ({named}): "
            f"{'its' if count == 1 else 'their'} shift is undefined (NaN); more subsets (subsets=) give each study "
            "some subsets with it and some without")


@keywords_checked
def gosh_analysis(fit, *, subsets: int = DEFAULT_SUBSETS, seed: int | None = DEFAULT_SEED) -> GoshAnalysis:
    """metafor's ``gosh(fit, subsets = subsets)`` of a fit: its model (estimator) fitted to every subset of its
    independent studies (one composite per study for a three-level fit, as metafor's ``gosh`` takes an
    ``rma.uni``), or to ``subsets`` random ones (``seed``) when there are more than ``subsets``.

    Highlighted: the studies flagged by metafor's influence rules (:func:`~alliance_meta.analyses.sensitivity.
    univariate.influence`), at most three, those moving the GOSH estimates most (Olkin et al. 2012, sec. 4);
    when none is flagged, the study that moves them most.
    """
    from alliance_meta.analyses.bias.results import independent_studies
    from alliance_meta.analyses.sensitivity.univariate import influence
    from alliance_meta.models.fits import MultilevelFit, require_fit

    require_fit(fit, "am.gosh")
    studies = independent_studies(fit)
    if len(studies) < MINIMUM_STUDIES:
        return too_few_studies(studies, fit.metric)
    yi, vi = studies["yi"].to_numpy(float), studies["vi"].to_numpy(float)
    weights = None if isinstance(fit, MultilevelFit) else fit.weights  # a univariate GENQ fit's own, as metafor's
    result = gosh(yi, vi, fit.method, subsets=subsets, seed=seed, study_id=studies["study_id"].astype(str).to_numpy(),
                  control=fit.control, weights=weights)  # metafor's gosh refits with x$control too
    shift = result.study_shift()
    flagged = set(np.flatnonzero(influence(yi, vi, fit.method, weights=weights, control=fit.control).influential))
    order = np.argsort(-np.abs(shift["estimate_shift"].to_numpy()))
    highlight = [int(i) for i in order if i in flagged][:HIGHLIGHTED] if flagged else [int(order[0])]
    ids = studies["study_id"].astype(str)
    notes = [f"multilevel: GOSH of {len(studies)} study composites of {len(fit.data)} rows"
             if isinstance(fit, MultilevelFit) else "", _unmeasured_note(shift, ids, result.n_subsets)]
    note = "; ".join(filter(None, notes))
    return GoshAnalysis(result, studies, shift, tuple(highlight), tuple(ids.iloc[sorted(flagged)]), fit.metric, note)
