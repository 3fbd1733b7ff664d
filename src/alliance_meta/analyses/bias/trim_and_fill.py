"""Trim and fill (Duval & Tweedie 2000, Biometrics 56, 455-463; JASA 95, 89-98), as metafor's ``trimfill``.

L0 and R0 estimators of the number of missing studies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from alliance_meta.analyses.bias.regression import CancelledRegression, checked_sei_fit
from alliance_meta.analyses.bias.results import BiasTest, _arrays
from alliance_meta.engines.heterogeneity import Control, refit_control
from alliance_meta.models import univariate as pooling


@dataclass(frozen=True)
class TrimFillResult:
    """Trim and fill: the number of missing studies, the filled studies and the refit."""

    estimator: str
    side: str
    k0: int
    se_k0: float
    p_k0: float
    fit: pooling.PoolingResult
    filled_yi: np.ndarray = field(repr=False)
    filled_vi: np.ndarray = field(repr=False)
    iterations: int = 0

    def as_test(self) -> BiasTest:
        fit = self.fit
        return BiasTest(test="trim_and_fill", statistic=float(self.k0), p=self.p_k0, estimate=fit.estimate,
                        k_imputed=float(self.k0), se=fit.se,
                        ci_lower=fit.ci_lower, ci_upper=fit.ci_upper, side=self.side,
                        note=f"{self.estimator}, {fit.method}; statistic = k0 ({self._se_k0_text()})")

    def _se_k0_text(self) -> str:
        if math.isnan(self.se_k0):  # L0's variance formula is negative (NaN in metafor), e.g. for equal effects
            return "its SE is not defined for these data"
        return f"SE {self.se_k0:.4g}"


def ordinal_ranks(values) -> np.ndarray:
    """Ranks 1..n, ties in order of appearance, as ``scipy.stats.rankdata(values, method="ordinal")``
    (int64; all nan when a value is nan), without importing scipy.stats (~1 s of start-up)."""
    values = np.asarray(values).ravel()
    if np.isnan(values).any():
        return np.full(values.size, np.nan)
    ranks = np.empty(values.size, dtype=np.int64)
    ranks[np.argsort(values, kind="stable")] = np.arange(1, values.size + 1)
    return ranks


def trimfill_side(yi, vi, method: str = "REML", weights=None, control=None) -> str:
    """metafor's default side: ``left`` unless the slope of ``rma(yi, vi, mods = sqrt(vi))`` is negative (GENQ:
    with the model's weights, ``weights`` or by default 1/sqrt(vi), and the model's ``control``, as trimfill passes
    them). Where that regression cancels to rounding noise (:func:`~.regression.checked_sei_fit`: vi = 1e-300 beside
    0.1, where Egger's test is not computed; metafor's side there is rounding noise too), a ValueError asks for the
    side (before: a side from a slope of 0 or noise, or an unrelated error of its tau^2)."""
    try:
        fit = checked_sei_fit(yi, vi, method, weights=weights, control=control)
    except CancelledRegression as error:
        vi = np.asarray(vi, float)
        raise ValueError(f"the side of the missing studies comes from the regression on the standard error (Egger's), "
                         f"whose sums cancel to rounding noise here (sampling variances from {np.min(vi):.3g} to "
                         f"{np.max(vi):.3g}: one study, or a few, hold all but less than 2^-26 of its weights; "
                         "metafor's side is noise there too); set the side (bias.trimfill_side, or trimfill_side= of "
                         "am.publication_bias)") from error
    return "right" if fit.coefficients("z").estimate[1] < 0 else "left"


def trim_and_fill(yi, vi, method: str = "REML", estimator: str = "L0", side: str | None = None,
                  max_iterations: int = 100, level: float = 95, control: Control | None = None,
                  weights=None) -> TrimFillResult:
    """Duval & Tweedie's trim and fill, step for step as metafor's ``trimfill.rma.uni``.

    Studies are mirrored around the estimate of the trimmed data; the filled data are
    refitted by ``method`` with the Wald z test (metafor's ``trimfill.rma.uni`` refits them with
    ``rma.uni(yi.fill, vi.fill, method = x$method, ...)``, without the model's ``test``, so a
    Knapp-Hartung main model's trim and fill has a z CI there too; only with k0 = 0 does metafor
    return the model itself, with its test, where this is the z fit of the same studies).
    ``side`` (where studies are missing) defaults as :func:`trimfill_side`. ``control``: the model's, for
    the side's regression and, iterated to the converged root
    (:func:`~alliance_meta.engines.heterogeneity.refit_control`), every refit, as metafor's
    ``trimfill(x, control = x$control)``. ``p_k0`` is the R0 test of k0 = 0 (Duval & Tweedie 2000b).
    ``weights``: GENQ's, one per study (default 1/sqrt(vi)); every refit takes its studies' weights and a filled
    study the weight of the study it mirrors, as metafor's.
    """
    if estimator not in ("L0", "R0"):
        raise ValueError(f"unknown trim-and-fill estimator {estimator!r}; expected L0 or R0")
    yi, vi = _arrays(yi, vi)
    weights = pooling.genq_weights(vi, method, weights)
    side = side or trimfill_side(yi, vi, method, weights, control)
    refit = refit_control(control)
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * yi, kind="stable")
    y, v = sign * yi[order], vi[order]
    a = None if weights is None else weights[order]
    k = y.size
    k0, previous, iterations = 0, -1, 0
    while k0 != previous:
        previous = k0
        iterations += 1
        if iterations > max_iterations:
            raise RuntimeError("trim and fill did not converge")
        beta = pooling.fit(y[: k - k0], v[: k - k0], method, control=refit, tau2_interval=False,
                           weights=None if a is None else a[: k - k0]).estimate
        centred = y - beta
        ranks = ordinal_ranks(np.abs(centred))
        signed = np.sign(centred) * ranks
        if estimator == "R0":
            k0_raw = (k - np.max(-signed[signed < 0])) - 1
            se_k0 = math.sqrt(2 * max(0, k0_raw) + 2)
        else:
            sum_ranks = float(np.sum(signed[signed > 0]))
            k0_raw = (4 * sum_ranks - k * (k + 1)) / (2 * k - 1)
            variance = (k * (k + 1) * (2 * k + 1) + 10 * k0_raw**3 + 27 * k0_raw**2 + 17 * k0_raw
                        - 18 * k * k0_raw**2 - 18 * k * k0_raw + 6 * k**2 * k0_raw) / 24
            se_k0 = 4 * math.sqrt(variance) / (2 * k - 1) if variance >= 0 else math.nan  # R: NaN
        k0 = int(max(0, np.round(k0_raw)))  # R's round(): half to even, as numpy
        se_k0 = se_k0 if math.isnan(se_k0) else max(0.0, se_k0)
    if k0 > 0:
        filled_yi = sign * (2 * beta - y[k - k0:])
        filled_vi = v[k - k0:]
        fit = pooling.fit(np.concatenate([yi, filled_yi]), np.concatenate([vi, filled_vi]), method,
                          level=level, control=refit, tau2_interval=False,
                          weights=None if a is None else np.concatenate([weights, a[k - k0:]]))
    else:
        filled_yi, filled_vi = np.empty(0), np.empty(0)
        fit = pooling.fit(yi, vi, method, level=level, control=refit, tau2_interval=False, weights=weights)
    p_k0 = math.nan
    if estimator == "R0":
        m = np.arange(-1, k0)
        p_k0 = float(1 - np.sum([math.comb(int(j) + 1, int(j) + 1) * 0.5 ** (j + 2) for j in m]))
    return TrimFillResult(estimator, side, k0, se_k0, p_k0, fit, filled_yi, filled_vi, iterations)
