"""Sensitivity analyses: leave-one-out, influence diagnostics, Baujat coordinates, cumulative fits.

As metafor's ``leave1out``, ``influence`` (Viechtbauer & Cheung 2010, *Res Synth
Methods* 1, 112-125), ``baujat`` (Baujat et al. 2002, *Stat Med* 21, 2641-2652) and
``cumul`` (Lau et al. 1992, *NEJM* 327, 248-254) for the intercept-only model.

All k deletions are fitted at once: the studies are processed in blocks of
deletions (a ``block x k`` array of weights with the deleted study's weight set to
0, at most ``MAX_BLOCK_ELEMENTS`` numbers), the closed-form estimators (DL, HE, HS,
HSk, SJ) from weighted sums, and REML, ML and EB by batched Fisher scoring
(Viechtbauer 2005, *J Educ Behav Stat* 30, 261-293) warm-started at the full-data
tau^2 (each from its own default start when the full fit did not converge) and iterated until tau^2
changes by less than 1e-13 or 4 ulps of tau^2 (the converged root), with the rest
of the fit's control (step adjustment, tau2_max, tolerance, ll0 check), as metafor's refits take
``x$control`` (:func:`~alliance_meta.engines.heterogeneity.refit_control`).
PM, PMM and GENQ fall back to one :func:`alliance_meta.engines.heterogeneity.estimate_tau2`
per deletion. Each deletion's estimate, Q and Knapp-Hartung factor come from the full sums minus the
study's terms, or, where that cancels (a study holding nearly all of a sum, or effect sizes whose spread is small
beside their mean, as in a homogeneous family: then every deletion, O(k^2) in all), from sums over the other
studies (:func:`_deletion_summaries`), which may differ from the difference in its last digits. Hat values are w_i / sum(w) (no k x k hat matrix).
Weights summing to more than 2^128 (vi near 1e-300) are divided by a power of two per deletion before they are
squared, as the single fit's (:func:`alliance_meta.engines.heterogeneity.weight_exponents`).

GENQ fits, as metafor's ``rma(..., weights = a, method = "GENQ")``, estimate the mean with
the GENQ weights ``a`` (``weights``; by default ``1/sqrt(v)``, Jackson 2013) and the sandwich variance
``sum a^2 (v + tau^2) / (sum a)^2``; so do their deletions and cumulative fits (each with its
studies' weights, as metafor's ``leave1out``, ``influence`` and ``cumul`` pass ``x$weights``), and the
hat values, weights, DFFITS and DFBETAS of ``influence.rma.uni`` then use ``H = X (X'AX)^-1 X'A``
(its "weights" branch).

Two studies: each deletion fit has one study, fitted as metafor's ``rma.uni`` does at k = 1
(:func:`_one_study_deletions`); one study: :func:`leave_one_out` and :func:`influence` raise, as
metafor's ``leave1out`` and ``influence`` ("Stopped because k = 1."), and :func:`cumulative` has
its one step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.engines import distributions as dist
from alliance_meta.models import univariate as pooling
from alliance_meta.engines.heterogeneity import (DOMINANCE_LIMIT, DOUBLE_EPSILON, Control, dot, estimate_tau2,
                                                may_dominate, q_from_sums, refit_control, scaled_rows,
                                                scoring_step, scoring_stopped, shared_design, trace_p,
                                                trace_p_rows, weight_exponent, weight_exponents,
                                                weighted_residuals, with_dominated_reml_steps)
from alliance_meta.analyses.results import with_back_transform
from alliance_meta.wording import did_you_mean

MAX_BLOCK_ELEMENTS = 1 << 20  # 8 MB per block array
CLOSED_FORM = ("common", "DL", "HE", "HS", "HSk", "SJ")
SCORING = ("REML", "ML", "EB")
#: A deletion's sum taken as the full sum minus the deleted study's term has a rounding error of about
#: eps * |full sum|, a direct sum over the other studies eps * |their sum|: when the deleted study holds all
#: but 1/CANCELLATION of a sum (|rest| * CANCELLATION < |whole|), the deletion is summed directly (at most
#: log10(CANCELLATION) = 3 digits of 16 lost on the fast path)
CANCELLATION = 1e3


@dataclass(frozen=True)
class DeletionFits:
    """The model refitted without each study in turn (arrays of length k)."""

    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    q: np.ndarray
    q_p: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    knha_scale: np.ndarray
    variance_all: np.ndarray  # metafor's vb.del: 1 / sum over all k of 1/(v + tau2 without i); GENQ: sandwich

    def to_frame(self, study_id, metric: str | None = None) -> pd.DataFrame:
        """``leave_one_out.csv``: contract columns, extras, back-transformed estimate and CI."""
        frame = pd.DataFrame({"study_id": np.asarray(study_id), "estimate": self.estimate, "se": self.se,
                              "ci_lower": self.ci_lower, "ci_upper": self.ci_upper, "tau2": self.tau2,
                              "i2": self.i2, "h2": self.h2, "q": self.q, "q_p": self.q_p,
                              "statistic": self.statistic, "p": self.p}, columns=list(LEAVE_ONE_OUT_COLUMNS))
        return with_back_transform(frame, metric)


LEAVE_ONE_OUT_COLUMNS = ("study_id", "estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q", "q_p",
                         "statistic", "p")
INFLUENCE_COLUMNS = ("study_id", "rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight",
                     "dfbetas", "influential", "baujat_x", "baujat_y")


def _masked_weights(vi, tau2, rows):
    """Weights 1/(v + tau2_b) for a block of deletions ``rows`` with the deleted study at 0."""
    weights = 1.0 / (vi[None, :] + tau2[:, None])
    weights[np.arange(rows.size), rows] = 0.0
    return weights


def _weighted_mean(weights, yi):
    return (weights @ yi) / weights.sum(axis=1)


def _closed_form_tau2(yi, vi, rows, method):
    """DL, HE, HS, HSk, SJ (metafor's formulas) for a block of deletions."""
    k = yi.size - 1
    if method == "common":
        return np.zeros(rows.size)
    fixed = _masked_weights(vi, np.zeros(rows.size), rows)
    residual = weighted_residuals(yi, fixed, may_dominate(1.0 / vi))
    q = np.sum(fixed * residual**2, axis=1)
    sum_fixed = fixed.sum(axis=1)
    if method == "DL":
        tau2 = (q - (k - 1)) / trace_p_rows(fixed, sum_fixed)
    elif method in ("HS", "HSk"):
        tau2 = ((k / (k - 1) if method == "HSk" else 1.0) * q - k) / sum_fixed
    else:
        present = (fixed > 0).astype(float)
        centred = yi[None, :] - _weighted_mean(present, yi)[:, None]
        squares = np.sum(present * centred**2, axis=1)
        if method == "HE":
            tau2 = (squares - (present @ vi) * (k - 1) / k) / (k - 1)
        else:  # SJ: start at var(y)(k - 1)/k, one weighted step
            start = squares / k
            weights = _masked_weights(vi, start, rows)
            residual = yi[None, :] - _weighted_mean(weights, yi)[:, None]
            tau2 = start * np.sum(weights * residual**2, axis=1) / (k - 1)
    return np.maximum(tau2, 0.0)


def _log_likelihood(weights, yi, method, dominated: bool):
    """(Restricted) log likelihood up to constants for rows of weights (0 = deleted); ``dominated``: whether a
    weight may dominate (:func:`~alliance_meta.engines.heterogeneity.weighted_residuals`)."""
    present = weights > 0
    residual = weighted_residuals(yi, weights, dominated)
    value = 0.5 * np.sum(np.log(weights, where=present, out=np.zeros_like(weights)), axis=1)
    value -= 0.5 * np.sum(weights * residual**2, axis=1)
    return value - 0.5 * np.log(weights.sum(axis=1)) if method == "REML" else value


def _scoring_tau2(yi, vi, rows, method, start, control: Control):
    """REML, ML or EB by Fisher scoring, batched over deletions, from ``start``, with ``control``'s threshold,
    iterations, step adjustment and ll0 check (as the one-fit Fisher scoring of ``heterogeneity``)."""
    k = yi.size - 1
    threshold = control.threshold
    tau2 = np.full(rows.size, float(start))
    active = np.arange(rows.size)
    smallest_change = np.full(rows.size, np.inf)  # each active deletion's smallest change of tau^2 so far
    dominated = may_dominate(1.0 / vi)  # weights 1/(v + tau^2) dominate at most as 1/v do
    for _ in range(control.max_iterations):
        weights = unscaled = _masked_weights(vi, tau2[active], rows[active])
        sum_w = weights.sum(axis=1)
        residual = weighted_residuals(yi, weights, dominated)
        # weights near 1e300: w / 2^e per deletion (exact); the terms of degree 1 in w are scaled by 2^-e more below,
        # to those of degree 2, as heterogeneity's _fisher_scoring
        exponents = weight_exponents(sum_w)
        weights, sum_w = scaled_rows(weights, exponents), scaled_rows(sum_w, exponents)
        if method == "EB":
            step = scoring_step(method, k, exponents, sum_w, np.sum(weights * residual**2, axis=1))
        else:
            step = scoring_step(method, k, exponents, sum_w, np.sum((weights * residual) ** 2, axis=1),
                                np.sum(weights**2, axis=1),
                                np.sum(weights**3, axis=1) if method == "REML" else None)
            if method == "REML" and dominated:
                step = with_dominated_reml_steps(step, unscaled, yi)
        step = step * control.step_adjustment
        step[np.isinf(step)] = np.nan  # its halving would never end: the refit does not converge (NaN)
        old = tau2[active]
        step = np.where((old <= 0) & (step < 0), 0.0, step)
        while np.any(negative := old + step < 0):  # step halving at the boundary, as metafor
            step = np.where(negative, step / 2, step)
        new = old + step
        tau2[active] = new
        change = np.abs(new - old)
        moving = ~scoring_stopped(change, smallest_change, new, threshold, k)
        active, smallest_change = active[moving], np.minimum(smallest_change, change)[moving]
        if active.size == 0:
            break
    else:
        tau2[active] = np.nan
    if method != "EB" and control.ll0_check:  # metafor's ll0check: tau2 = 0 when its likelihood is higher
        positive = np.flatnonzero(tau2 > threshold)
        if positive.size:
            at_zero = _log_likelihood(_masked_weights(vi, np.zeros(positive.size), rows[positive]), yi, method,
                                      dominated)
            at_tau2 = _log_likelihood(_masked_weights(vi, tau2[positive], rows[positive]), yi, method, dominated)
            tau2[positive[at_zero - at_tau2 > control.tolerance]] = 0.0
    return tau2


def leave_one_out(yi, vi, method: str = "REML", test: str = "z", level: float = 95,
                  block_size: int | None = None, weights=None, control: Control | None = None) -> DeletionFits:
    """Refit the random-effects model without each study (metafor's ``leave1out``); ``weights``: GENQ's;
    ``control``: the fit's, iterated to the converged root (:func:`refit_control`)."""
    control = refit_control(control)
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    k = yi.size
    if k < 2:
        raise ValueError("leave-one-out needs at least 2 studies (metafor's leave1out: \"Stopped because k = 1.\")")
    weights = pooling.genq_weights(vi, method, weights)
    if k == 2:
        return _one_study_deletions(yi, vi, method, test, level, weights, control)
    full = pooling.fit(yi, vi, method, control=control, tau2_interval=False, weights=weights)
    block_size = block_size or max(1, MAX_BLOCK_ELEMENTS // k)
    tau2 = np.empty(k)
    for first in range(0, k, block_size):
        rows = np.arange(first, min(first + block_size, k))
        if method in CLOSED_FORM:
            tau2[rows] = _closed_form_tau2(yi, vi, rows, method)
        elif method in SCORING and np.isfinite(full.tau2):
            tau2[rows] = _scoring_tau2(yi, vi, rows, method, full.tau2, control)
        else:  # also REML, ML, EB when the full fit did not converge: no warm start, each from its default one
            tau2[rows] = [estimate_tau2(np.delete(yi, i), np.delete(vi, i), method, control=control,
                                        weights=None if weights is None else np.delete(weights, i)).tau2
                          for i in rows]
    return _deletion_summaries(yi, vi, tau2, method, test, level, weights)


def _one_study_deletions(yi, vi, method, test, level, weights=None, control: Control | None = None) -> DeletionFits:
    """The two deletion fits of a two-study model: each is a fit of the other study alone.

    As metafor's ``leave1out.rma.uni`` / ``influence.rma.uni``, which refit ``rma.uni(..., subset = -i)``:
    ``rma.uni`` with k = 1 sets tau^2 = 0 (whatever the estimator), Q = 0 with p = 1, I^2 = 0,
    H^2 = 1, and the Wald z test in place of Knapp-Hartung (no residual df; its ``s2w`` stays 1).
    The estimate is the study's own, with variance v (a GENQ weight cancels). ``variance_all`` is
    metafor's ``vb.del`` at tau^2 = 0 over both studies: 1 / sum(1/v), or for GENQ (``weights`` a) the
    sandwich ``sum a^2 v / (sum a)^2``.
    """
    if test not in pooling.TESTS:
        raise ValueError(f"unknown test {test!r}{did_you_mean(test, pooling.TESTS)}; expected one of "
                         f"{', '.join(pooling.TESTS)}")
    fits = [pooling.fit(yi[[1 - i]], vi[[1 - i]], method, test=test, level=level, control=refit_control(control),
                        tau2_interval=False) for i in (0, 1)]
    column = {name: np.array([getattr(fit, name) for fit in fits], float)
              for name in ("estimate", "se", "statistic", "p", "ci_lower", "ci_upper", "q", "q_p", "tau2", "i2", "h2")}
    if method == "GENQ":
        a = pooling.genq_weights(vi, method, weights)
        variance_all = np.full(2, float((a * a) @ vi / a.sum() ** 2))
    else:
        variance_all = np.full(2, 1.0 / float(np.sum(1.0 / vi)))
    return DeletionFits(**column, knha_scale=np.ones(2), variance_all=variance_all)


def _dominant_without_each(weights):
    """For each deletion, whether one of its remaining ``weights`` holds all but less than 1/DOMINANCE_LIMIT of
    their sum (:func:`~alliance_meta.engines.heterogeneity.dominant_weights` of each deletion, where tr(P) cancels),
    in O(k) from the two largest weights and the others' sum, summed directly. All False where no weight may
    dominate (every ordinary fit)."""
    if not may_dominate(weights):
        return np.zeros(weights.size, bool)
    second, first = np.argpartition(weights, -2)[-2:]
    if weights[second] > weights[first]:
        first, second = second, first
    study = np.arange(weights.size)
    rest = np.sum(np.where((study == first) | (study == second), 0.0, weights))  # all but the two largest
    largest = np.where(study == first, weights[second], weights[first])
    others = np.where((study == first) | (study == second), rest,
                      np.maximum(rest - weights, 0.0) + weights[second])  # the remaining sum without its largest
    return others < largest / DOMINANCE_LIMIT


def _cancels(rest, whole):
    """Whether ``rest`` (a sum without the deleted study's term, or what is left after a subtraction) is so much
    smaller than ``whole`` that computing it as a difference loses more than 3 digits (:data:`CANCELLATION`)."""
    return np.abs(rest) * CANCELLATION < np.abs(whole)


def _direct_sums(yi, vi, tau2, weights=None):
    """(estimate, variance, Q, typical variance, sum w (y - estimate)^2) of the studies ``yi``, ``vi`` at ``tau2``,
    summed as :func:`alliance_meta.models.univariate.fit` does (:func:`shared_design`)."""
    design = shared_design(yi, vi)
    inverse = 1.0 / vi
    inverse_sums = design @ inverse
    typical = (yi.size - 1) / trace_p(inverse, inverse_sums[0])
    total = 1.0 / (vi + tau2)
    total_sums = design @ total
    if weights is None:
        estimate, variance = dot(total, yi) / total_sums[0], 1.0 / total_sums[0]
    else:
        estimate, variance = dot(weights, yi) / weights.sum(), dot(weights * weights, vi + tau2) / weights.sum() ** 2
    return estimate, variance, q_from_sums(inverse_sums), typical, q_from_sums(total_sums)


def _deletion_summaries(yi, vi, tau2, method, test, level, weights=None) -> DeletionFits:
    """Estimates, tests and heterogeneity of the k deletion fits from their tau^2 (O(k) each).

    Sums over the remaining studies are full sums minus the deleted study's term;
    Cochran's Q uses y centred at the full common-effect mean to limit cancellation. A deletion whose
    differences cancel (the study holds nearly all of a sum, or y lies far from the deletion's mean:
    :func:`_cancels`) is summed directly over the other studies (:func:`_direct_sums`), as accurate as a refit.
    ``weights`` (GENQ): the estimate is the a-weighted mean with variance
    ``sum a^2 (v + tau^2) / (sum a)^2``; the Knapp-Hartung factor keeps 1/(v + tau^2).
    """
    k = yi.size - 1
    sum_w = np.empty_like(tau2)
    sum_wy = np.empty_like(tau2)
    sum_wyy = np.empty_like(tau2)
    all_w, all_wy, all_wyy = (np.empty_like(tau2) for _ in range(3))  # full sums (|y| for the middle one)
    absolute_y = np.abs(yi)
    for i, t in enumerate(tau2):  # O(k) per deletion, no k x k array
        w = 1.0 / (vi + t)
        w_i = w[i]
        all_w[i], all_wy[i], all_wyy[i] = w.sum(), w @ absolute_y, (w * yi) @ yi
        sum_w[i] = all_w[i] - w_i
        sum_wy[i] = w @ yi - w_i * yi[i]
        sum_wyy[i] = all_wyy[i] - w_i * yi[i] ** 2
    w_deleted = 1.0 / (vi + tau2)
    cancelled = (_cancels(sum_w, all_w) | _cancels(all_wy - w_deleted * absolute_y, all_wy)
                 | _cancels(sum_wyy, all_wyy))
    # differences that cancel to 0 (a deletion of a study holding nearly all the weight) divide by 0 here: those
    # deletions are flagged and summed directly below
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = sum_wy / sum_w
        variance = 1.0 / sum_w
        variance_all = 1.0 / (sum_w + 1.0 / (vi + tau2))
        rss = sum_wyy - sum_wy * estimate
        cancelled |= _cancels(rss, sum_wyy)  # y far from its mean: y^2 - mean^2 loses the digits of the spread
        scale = np.maximum(rss, 0.0) / (k - 1)
        if weights is not None:  # metafor's rma.uni with weights: beta = (X'AX)^-1 X'Ay, vb = sandwich
            a, a2 = weights, weights * weights
            sum_a = a.sum() - a
            estimate = (a @ yi - a * yi) / sum_a
            variance = (a2 @ vi - a2 * vi + tau2 * (a2.sum() - a2)) / sum_a**2
            variance_all = (a2 @ vi + tau2 * a2.sum()) / a.sum() ** 2
            cancelled |= (_cancels(sum_a, a.sum()) | _cancels(a @ absolute_y - a * absolute_y, a @ absolute_y)
                          | _cancels(a2.sum() - a2, a2.sum()) | _cancels(a2 @ vi - a2 * vi, a2 @ vi))
        alpha = 1 - level / 100
        # weights 1/v summing to more than 2^128 (vi near 1e-300) are divided by 2^e (exact) before they are squared,
        # as heterogeneity's trace_p: e of all k bounds each deletion's (one whose sums it leaves so small that their
        # squares underflow has lost nearly all of each sum and is summed directly below)
        exponent = weight_exponent(float(np.sum(1.0 / vi)))
        a = np.ldexp(1.0 / vi, -exponent)
        # effects less their a-weighted mean, centred first on the heaviest study's where a weight may dominate
        # (weighted_residuals: the sums below then subtract no rounding noise of the heaviest studies)
        centred = weighted_residuals(yi, a[None, :], may_dominate(a))[0]
        a_sum, a_y, a_yy, a_sq = a.sum() - a, a @ centred - a * centred, a @ centred**2 - a * centred**2, a @ a - a * a
        q = np.ldexp(np.maximum(a_yy - a_y**2 / a_sum, 0.0), exponent)
        typical = np.ldexp((k - 1) * a_sum / (a_sum**2 - a_sq), -exponent)
        cancelled |= (_cancels(a_sum, a.sum()) | _cancels(a_sq, a @ a) | _cancels(a_yy, a @ centred**2)
                      | _cancels(a_yy - a_y**2 / a_sum, a_yy))
        cancelled |= _dominant_without_each(a)  # one study holding nearly all the weight: tr(P) cancels
    for i in np.flatnonzero(cancelled):  # as a refit of the other k - 1 studies
        direct = _direct_sums(np.delete(yi, i), np.delete(vi, i), tau2[i],
                              None if weights is None else np.delete(weights, i))
        estimate[i], variance[i], q[i], typical[i], scale[i] = direct
        scale[i] /= k - 1
    if test == "adhoc":  # metafor's s2w[s2w < 1] <- 1 in each refit (its s2w, influence's s2w.del, floored too)
        scale = pooling.adhoc_scale(scale)
    if test in ("knha", "adhoc"):
        variance = variance * scale
        critical = dist.t.isf(alpha / 2, k - 1)
    elif test == "z":
        critical = dist.norm.isf(alpha / 2)
    else:
        raise ValueError(f"unknown test {test!r}{did_you_mean(test, pooling.TESTS)}; expected one of "
                         f"{', '.join(pooling.TESTS)}")
    se = np.sqrt(variance)
    statistic = estimate / se
    p = 2 * (dist.t.sf(np.abs(statistic), k - 1) if test != "z" else dist.norm.sf(np.abs(statistic)))
    if method == "common":
        i2 = np.where(q > 0, np.maximum(0.0, 100 * (q - (k - 1)) / np.where(q > 0, q, 1)), 0.0)
        h2 = q / (k - 1)
    else:
        i2 = 100 * tau2 / (tau2 + typical)
        h2 = (tau2 + typical) / typical
    return DeletionFits(estimate, se, statistic, p, estimate - critical * se, estimate + critical * se, q,
                        dist.chi2.sf(q, k - 1), tau2, i2, h2, scale if test != "z" else np.ones_like(tau2),
                        variance_all)


@dataclass(frozen=True)
class Influence:
    """Case-deletion diagnostics of metafor's ``influence.rma.uni`` and Baujat coordinates."""

    rstudent: np.ndarray
    dffits: np.ndarray
    cook_distance: np.ndarray
    covariance_ratio: np.ndarray
    tau2_deleted: np.ndarray
    q_deleted: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray
    baujat_x: np.ndarray
    baujat_y: np.ndarray
    deletions: DeletionFits
    tau2: float = float("nan")  # full-data fit
    q: float = float("nan")

    def to_frame(self, study_id) -> pd.DataFrame:
        """``influence.csv``: one row per study."""
        return pd.DataFrame({
            "study_id": np.asarray(study_id), "rstudent": self.rstudent, "dffits": self.dffits,
            "cook_d": self.cook_distance, "cov_r": self.covariance_ratio, "tau2_del": self.tau2_deleted,
            "qe_del": self.q_deleted, "hat": self.hat, "weight": self.weight, "dfbetas": self.dfbetas,
            "influential": self.influential, "baujat_x": self.baujat_x, "baujat_y": self.baujat_y},
            columns=list(INFLUENCE_COLUMNS))


def influence(yi, vi, method: str = "REML", test: str = "z", level: float = 95,
              deletions: DeletionFits | None = None, weights=None, control: Control | None = None) -> Influence:
    """Influence diagnostics (Viechtbauer & Cheung 2010, sec. 3; metafor's rules for ``inf``); ``weights``: GENQ's,
    ``control``: the fit's (:func:`leave_one_out`).

    A study is flagged when |DFFITS| > 3 sqrt(1/(k-1)), P(chi^2_1 <= Cook's D) > .5,
    hat > 3/k, or |DFBETAS| > 1.
    """
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    k = yi.size
    genq = pooling.genq_weights(vi, method, weights)
    full = pooling.fit(yi, vi, method, test=test, level=level, control=refit_control(control), tau2_interval=False,
                       weights=genq)
    deletions = deletions or leave_one_out(yi, vi, method, test, level, weights=genq, control=control)
    weights = genq if method == "GENQ" else 1.0 / (vi + full.tau2)
    hat = weights / weights.sum()
    scale = deletions.knha_scale
    difference = full.estimate - deletions.estimate
    residual = yi - deletions.estimate
    residual[np.abs(residual) < 100 * DOUBLE_EPSILON] = 0.0
    rstudent = residual / np.sqrt(vi * scale + deletions.se**2 + deletions.tau2 * scale)
    if method == "GENQ":  # (H diag(v + tau2_del) H')_ii with H = 1 a'/sum(a): metafor's vb.del
        dffits = difference / np.sqrt(scale * deletions.variance_all)
    else:
        dffits = difference / np.sqrt(scale * hat * (deletions.tau2 + vi))
    dfbetas = difference / np.sqrt(scale * deletions.variance_all)
    cook = difference**2 / full.se**2
    covariance_ratio = deletions.se**2 / full.se**2
    influential = ((np.abs(dffits) > 3 * math.sqrt(1 / (k - 1))) | (dist.chi2.cdf(cook, 1) > 0.5)
                   | (hat > 3 / k) | (np.abs(dfbetas) > 1))
    baujat_x = (yi - full.estimate) ** 2 / (full.tau2 + vi)
    baujat_y = difference**2 / deletions.se**2
    return Influence(rstudent, dffits, cook, covariance_ratio, deletions.tau2, deletions.q, hat, 100 * hat,
                     dfbetas, influential, baujat_x, baujat_y, deletions, full.tau2, full.q)


def cumulative(yi, vi, order, method: str = "REML", test: str = "z", level: float = 95,
               weights=None, control: Control | None = None) -> pd.DataFrame:
    """Cumulative meta-analysis (metafor's ``cumul``): fit the first 1, 2, ..., k studies (GENQ: with their
    ``weights``, by default 1/sqrt(vi); ``control``: the fit's, iterated to the converged root).

    ``order`` is a sort key (e.g. year); ties keep the data order and missing keys
    come last, as R's ``order``. Returns one row per step with the study added: its ``position``, the row of
    ``yi`` counted from 1 (metafor's ``order``; :func:`added_rows` gives the index).
    """
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    weights = None if weights is None else pooling.genq_weights(vi, method, weights)
    key = pd.Series(np.asarray(order, dtype=float))
    positions = np.asarray(key.sort_values(kind="stable", na_position="last").index)
    control = refit_control(control)
    rows = []
    for step in range(1, yi.size + 1):
        chosen = positions[:step]
        fit = pooling.fit(yi[chosen], vi[chosen], method, test=test, level=level, control=control,
                          tau2_interval=False, weights=None if weights is None else weights[chosen])
        rows.append({"position": int(positions[step - 1]) + 1, "k": step, "estimate": fit.estimate, "se": fit.se,
                     "ci_lower": fit.ci_lower, "ci_upper": fit.ci_upper, "p": fit.p, "q": fit.q,
                     "q_p": fit.q_p, "tau2": fit.tau2, "i2": fit.i2, "h2": fit.h2})
    return pd.DataFrame(rows)


def added_rows(cumulative: pd.DataFrame) -> np.ndarray:
    """The index (from 0) in the analysed rows of the study each step of a cumulative table adds: its ``position``
    counts them from 1, as metafor's ``order`` and a reader of ``analysis.csv``."""
    return cumulative["position"].to_numpy(int) - 1


def sensitivity_tables(data: pd.DataFrame, method: str = "REML", metric: str | None = None, level: float = 95,
                       test: str = "z", weights=None, control: Control | None = None):
    """``leave_one_out``, ``influence`` and ``cumulative`` tables of an analysis data set
    (``study_id``, ``yi``, ``vi``, optional ``year``; ``weights``: GENQ's, one per row; ``control``: the fit's),
    and the :class:`Influence` result.

    With 2 studies each deletion fit is a one-study fit (:func:`_one_study_deletions`). With one
    study the leave-one-out and influence tables are empty (their full headers) and the result None,
    as metafor's ``leave1out`` and ``influence`` stop at k = 1; the cumulative table has its one
    row (``cumul`` fits k = 1). No rows: every table empty.
    """
    empty = with_back_transform(pd.DataFrame(columns=list(LEAVE_ONE_OUT_COLUMNS)), metric)
    no_influence = pd.DataFrame(columns=list(INFLUENCE_COLUMNS))
    if len(data) == 0:
        return empty, no_influence, pd.DataFrame(columns=["k", "estimate"]), None
    yi, vi, ids = data["yi"].to_numpy(float), data["vi"].to_numpy(float), data["study_id"].to_numpy()
    result = influence(yi, vi, method, test, level=level, weights=weights, control=control) if len(data) > 1 else None
    year = data["year"] if "year" in data else np.arange(len(data))
    table = cumulative(yi, vi, year, method, test, level=level, weights=weights, control=control)
    table.insert(0, "study_id", ids[added_rows(table)])
    if result is None:
        return empty, no_influence, with_back_transform(table, metric), None
    return (result.deletions.to_frame(ids, metric), result.to_frame(ids),
            with_back_transform(table, metric), result)
