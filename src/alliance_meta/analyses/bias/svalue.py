"""S-values for publication bias (Mathur & VanderWeele 2020), as PublicationBias 2.4.0's
``pubbias_svalue(yi, vi, q = 0, model_type = "robust")`` with independent studies.

Mathur, M. B. & VanderWeele, T. J. (2020). Sensitivity analysis for publication bias in
meta-analyses. *Journal of the Royal Statistical Society C* 69, 1091-1119.

Studies are affirmative when their two-sided p < ``alpha_select`` and their estimate lies in
the favoured direction (the sign of the uncorrected estimate), nonaffirmative otherwise. If
affirmative studies are eta times more likely to be published, the bias-corrected estimate
weights nonaffirmative studies eta times more (PublicationBias ``pubbias_meta``: weights
eta_i / (v_i + tau^2), tau^2 the REML estimate of all studies; robust variance with
small-sample correction, robumeta's ``robu(userweights = ...)``: CR2 with working variances
v_i and Satterthwaite degrees of freedom; Tipton 2015). The S-value is the eta that moves
the corrected estimate, or its confidence limit, to the null q (paper, section 4):

    estimate: eta = -sum_aff w_i (y_i - q) / sum_non w_i (y_i - q)   (closed form);
    confidence limit: the root of lower limit(eta) = q in [1, ``eta_max``] (Brent's method;
    PublicationBias minimises |lower limit(eta) - q| with ``optimize``, to ~1e-4).

No S-value exists ("Not possible" in PublicationBias; +inf here) when even the worst case,
the meta-analysis of the nonaffirmative studies alone (eta -> infinity; same weights), stays
beyond q; the S-value of the confidence limit is not applicable (NaN) when the uncorrected
interval already contains q. The worst case's interval is at ``level`` (PublicationBias: always
95%).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from alliance_meta.analyses.bias.results import BiasTest
from alliance_meta.engines import distributions as dist
from alliance_meta.models import univariate as pooling


@dataclass(frozen=True)
class RobustMean:
    """Weighted mean with robumeta's small-sample robust variance (independent studies)."""

    estimate: float
    se: float
    df: float
    ci_lower: float
    ci_upper: float
    p: float


DENSE_MAX = 2000  # above this many studies, the same se and df in O(k) (_robust_se_df)


def _robust_se_df(vi, w, residual) -> tuple[float, float]:
    """The se and Satterthwaite df of :func:`robust_weighted_mean` without its k x k matrices.

    With u = w / W, H = 1 u' (every row u), so (I - H)_j V (I - H)_j' = v_j (1 - 2 u_j) + sum u^2 v, and
    with c_j = A_j u_j the cross product of the g columns is c_j c_l (delta_jl - u_j - u_l + Q), Q = sum u^2:
    tr = sum c^2 (1 - 2u + Q), and the sum of its squares expands into sums of c^2, c^2 u, c^2 u^2 and c^4
    (the same numbers as the dense form up to rounding; used for k > DENSE_MAX, e.g. k = 10^5)."""
    total = w.sum()
    u = w / total
    inside = vi * (1 - 2 * u) + np.sum(u * u * vi)
    adjustment = np.where(inside < 1e-10, 0.0, np.sqrt(vi) / np.sqrt(np.where(inside < 1e-10, 1.0, inside)))
    se = math.sqrt(np.sum((w * adjustment * residual) ** 2)) / total
    c2 = (adjustment * u) ** 2
    q = float(np.sum(u * u))
    trace = float(np.sum(c2 * (1 - 2 * u + q)))
    s0, s1, s2 = float(c2.sum()), float(np.sum(c2 * u)), float(np.sum(c2 * u * u))
    squares = (float(np.sum(c2 * c2 * (1 + 2 * q - 4 * u))) + q * q * s0 * s0 + 2 * s0 * s2 - 4 * q * s0 * s1
               + 2 * s1 * s1)
    return se, trace**2 / squares


def robust_weighted_mean(yi, vi, weights, level: float = 95) -> RobustMean:
    """robumeta's ``robu(yi ~ 1, studynum = 1:k, var.eff.size = vi, userweights = weights,
    small = TRUE)`` (robumeta 2.0, the version of tests/reference/svalue.json) with metabias'
    ``robu_ci`` interval: CR2 adjustment matrices from the
    working variances vi, Satterthwaite df = tr(B)^2 / tr(B^2) (Tipton 2015, eq. 11)."""
    yi, vi, w = (np.asarray(a, float) for a in (yi, vi, weights))
    total = w.sum()
    estimate = float(w @ yi / total)
    residual = yi - estimate
    if yi.size > DENSE_MAX:  # the k x k matrices below need O(k^2) memory and O(k^3) time
        se, df = _robust_se_df(vi, w, residual)
    else:
        residual_maker = np.eye(yi.size) - np.outer(np.ones(yi.size), w) / total  # I - H
        inside = (residual_maker**2) @ vi  # (I - H)_j V (I - H)_j'
        adjustment = np.where(inside < 1e-10, 0.0, np.sqrt(vi) / np.sqrt(np.where(inside < 1e-10, 1.0, inside)))
        se = math.sqrt(np.sum((w * adjustment * residual) ** 2)) / total
        g = residual_maker.T * (adjustment * w / total)[None, :]  # column j: (I - H)_j' A_j w_j / W
        cross = g.T @ g
        df = float(np.trace(cross) ** 2 / np.sum(cross**2))
    critical = dist.t.isf((1 - level / 100) / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):  # identical effects: se = 0, p undefined (NaN)
        p = float(2 * dist.t.sf(abs(estimate / se), df))
    return RobustMean(estimate, se, df, estimate - critical * se, estimate + critical * se, p)


@dataclass(frozen=True)
class SValue:
    """S-values of the estimate and of its confidence limit, and the worst-case meta-analysis."""

    svalue_estimate: float
    svalue_ci: float
    worst: RobustMean
    k_affirmative: int
    k_nonaffirmative: int
    favor_positive: bool
    uncorrected: RobustMean
    note: str = ""

    def as_test(self) -> BiasTest:
        return BiasTest("svalue", self.svalue_estimate, estimate=self.worst.estimate, se=self.worst.se,
                        ci_lower=self.worst.ci_lower, ci_upper=self.worst.ci_upper, df=self.worst.df,
                        side="positive" if self.favor_positive else "negative", svalue_ci=self.svalue_ci,
                        note=self.note)


def s_values(yi, vi, q: float = 0.0, level: float = 95, alpha_select: float = 0.05, favor_positive: bool | None = None,
           eta_max: float = 200.0) -> SValue:
    """S-values for shifting the estimate and its confidence limit to ``q``; ``favor_positive``
    None: publication bias favours the sign of the uncorrected estimate."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    if yi.size < 2:
        raise ValueError(f"S-values need at least 2 studies; got k = {yi.size}")
    tau2 = pooling.fit(yi, vi, "REML", tau2_interval=False).tau2  # metafor::rma.uni defaults, as PublicationBias
    base = 1 / (vi + tau2)
    uncorrected = robust_weighted_mean(yi, vi, base, level)
    if favor_positive is None:
        favor_positive = bool(uncorrected.estimate >= 0)
    sign = 1.0 if favor_positive else -1.0
    y, target = sign * yi, sign * q
    if (uncorrected.estimate - q) * sign <= 0:
        raise ValueError(f"q = {q:g} must lie between 0 and the uncorrected estimate {uncorrected.estimate:.4g} "
                         "(on the favoured side)")
    affirmative = (2 * dist.norm.sf(np.abs(y) / np.sqrt(vi)) < alpha_select) & (y > 0)
    k_affirmative = int(affirmative.sum())
    if k_affirmative == 0 or k_affirmative == yi.size:
        kind = "affirmative" if k_affirmative == 0 else "nonaffirmative"
        raise ValueError(f"there are no {kind} studies: S-values cannot be computed")
    nonaffirmative = ~affirmative
    if nonaffirmative.sum() == 1:
        j = np.flatnonzero(nonaffirmative)[0]
        critical = dist.norm.isf((1 - level / 100) / 2)
        se = math.sqrt(vi[j])
        worst = RobustMean(y[j], se, math.inf, y[j] - critical * se, y[j] + critical * se,
                           float(2 * dist.norm.sf(abs(y[j]) / se)))
    else:
        worst = robust_weighted_mean(y[nonaffirmative], vi[nonaffirmative], base[nonaffirmative], level)

    def corrected(eta: float) -> RobustMean:
        return robust_weighted_mean(y, vi, np.where(affirmative, 1.0, eta) * base, level)

    notes = []
    numerator = -np.sum((base * (y - target))[affirmative])
    denominator = np.sum((base * (y - target))[nonaffirmative])
    if worst.estimate > target or denominator >= 0:
        s_estimate = math.inf
        notes.append("estimate: not possible (the worst case stays beyond q)")
    else:
        s_estimate = float(numerator / denominator)  # > 1: the uncorrected estimate lies beyond q
    s_ci = math.nan
    limit = uncorrected.ci_lower if favor_positive else -uncorrected.ci_upper  # on the favoured scale
    if limit < target:
        notes.append("CI: the uncorrected interval already contains q")
    elif worst.ci_lower > target:
        s_ci = math.inf
        notes.append("CI: not possible (the worst case's interval stays beyond q)")
    else:
        def gap(log_eta):
            return corrected(math.exp(log_eta)).ci_lower - target
        grid = np.linspace(0.0, math.log(eta_max), 101)
        values = np.array([gap(x) for x in grid])
        crossing = np.flatnonzero(np.sign(values[:-1]) != np.sign(values[1:]))
        if values[0] <= 0:
            s_ci = 1.0
        elif crossing.size:
            j = crossing[0]
            s_ci = math.exp(optimize.brentq(gap, grid[j], grid[j + 1], xtol=1e-14, rtol=4 * np.finfo(float).eps))
        else:
            notes.append(f"CI: S-value > {eta_max:g}")
    worst_original = worst if favor_positive else RobustMean(-worst.estimate, worst.se, worst.df, -worst.ci_upper,
                                                             -worst.ci_lower, worst.p)
    def shown(value: float) -> str:
        return "not possible" if value == math.inf else "n/a" if math.isnan(value) else f"{value:.4g}"

    note = (f"S-values for q = {q:g}: estimate {shown(s_estimate)}, CI limit {shown(s_ci)}; worst case: "
            f"{int(nonaffirmative.sum())} nonaffirmative of {yi.size} studies; robust, one-tailed selection at "
            f"p < {alpha_select:g}")
    if notes:
        note += "; " + "; ".join(notes)
    return SValue(s_estimate, s_ci, worst_original, k_affirmative, int(nonaffirmative.sum()), bool(favor_positive),
                  uncorrected, note)
