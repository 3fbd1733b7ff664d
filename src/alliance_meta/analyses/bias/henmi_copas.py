"""Henmi & Copas (2010) confidence interval, robust to publication bias, as metafor 3.8's ``hc()``.

Henmi, M. & Copas, J. B. (2010). Confidence intervals for random effects meta-analysis
and robustness to publication bias. *Statistics in Medicine* 29, 2969-2983.

The point estimate is the common-effect (inverse-variance) mean, beta = sum w y / sum w
with w = 1/v, whose variance under the random-effects model with the DerSimonian-Laird
tau^2 is (tau^2 W2 + 1) / W1 (W1 = sum w, W_r = sum w^r / W1). The interval is
beta +- u0 se with u0 = sqrt(1 + tau^2 W2) t0, where t0 solves (section 3 of the paper;
metafor's ``eqn``)

    integral_t0^inf G(finv(r / t0); shape(r'), scale(r')) phi(r) dr = alpha / 2,
    r' = sqrt(1 + tau^2 W2) r,  finv(f) = (W1 / W2 - 1) (f^2 - 1) + (k - 1),

G being the gamma distribution function matched to the mean EQ(r') and variance VQ(r')
of Q given r' (metafor's ``EQ``, ``VQ``). The integral is computed by adaptive quadrature to
1e-12 and t0 by Brent's method to 1e-14 (metafor: uniroot tolerance 1.2e-4 unless
``control = list(tol = ...)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, special

from alliance_meta.analyses.bias.results import BiasTest
from alliance_meta.engines import distributions as dist
from alliance_meta.engines.heterogeneity import DOMINANCE_LIMIT, dominant_weight


@dataclass(frozen=True)
class HenmiCopas:
    """The Henmi-Copas estimate (the common-effect mean) and its interval."""

    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    tau2: float
    t0: float
    level: float = 95.0

    def as_test(self) -> BiasTest:
        return BiasTest("henmi_copas", math.nan, estimate=self.estimate, se=self.se, ci_lower=self.ci_lower,
                        ci_upper=self.ci_upper,
                        note=f"common-effect estimate with the Henmi-Copas interval (DL tau2 = {self.tau2:.6g})")


def henmi_copas(yi, vi, level: float = 95) -> HenmiCopas:
    """metafor's ``hc(rma(yi, vi, method = "DL"))``.

    Not computed (a ValueError says why) where one weight 1/vi holds all but less than 1/DOMINANCE_LIMIT of
    their sum (:func:`~alliance_meta.engines.heterogeneity.dominant_weight`: vi = 1e-300 or 1e-20 beside 0.1),
    where W1 - W2, W3 - W2^2 and Q cancel to rounding noise (metafor's hc: "Error in uniroot()"), where the sums
    of w^4 overflow (vi below about 1e-77) or that of w itself (two vi near 6e-309), or where the equation for t0
    has no root in [0, 2]."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    k = yi.size
    if k < 2:
        raise ValueError(f"the Henmi-Copas interval needs at least 2 studies; got k = {k}")
    if np.any(vi <= 0):
        raise ValueError("the Henmi-Copas interval needs positive sampling variances")
    alpha = 1 - level / 100
    w = 1 / vi
    if dominant_weight(w) >= 0:
        raise ValueError(f"the weight 1/vi of one study (vi = {np.min(vi):.3g}) holds all but less than "
                         f"1/{DOMINANCE_LIMIT:.0f} (2^-26) of their sum: the Henmi-Copas interval's Q and "
                         "differences of the weights' moments (W1 - W2, W3 - W2^2) cancel to rounding noise there "
                         "(metafor's hc fails)")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is the refusal below, not numpy's warning
        w1 = w.sum()
        w2, w3, w4 = (w**2).sum() / w1, (w**3).sum() / w1, (w**4).sum() / w1
    if not math.isfinite(w1):
        raise ValueError(f"the sampling variances go down to {np.min(vi):.3g}, where the sum of the weights 1/vi "
                         "of the Henmi-Copas interval overflows")
    if not math.isfinite(w4):
        raise ValueError(f"the sampling variances go down to {np.min(vi):.3g}, where the Henmi-Copas interval's sums "
                         "of the weights' powers (1/vi)^4 overflow")
    beta = (w * yi).sum() / w1
    q = (w * (yi - beta) ** 2).sum()
    tau2 = max(0.0, (q - (k - 1)) / (w1 - w2))
    se = math.sqrt((tau2 * w2 + 1) / w1)
    vr = 1 + tau2 * w2
    sdr = math.sqrt(vr)

    def eq(r):
        return (k - 1) + tau2 * (w1 - w2) + tau2**2 * (r**2 / vr**2 - 1 / vr) * (w3 - w2**2)

    def vq(r):
        rsq, recip = r**2, 1 / vr**2
        return (2 * (k - 1) + 4 * tau2 * (w1 - w2) + 2 * tau2**2 * (w1 * w2 - 2 * w3 + w2**2)
                + 4 * tau2**2 * (recip * rsq - 1 / vr) * (w3 - w2**2)
                + 4 * tau2**3 * (recip * rsq - 1 / vr) * (w4 - 2 * w2 * w3 + w2**3)
                + 2 * tau2**4 * (recip - 2 * rsq / vr**3) * (w3 - w2**2) ** 2)

    def integrand(r, x):
        mean, variance = eq(sdr * r), vq(sdr * r)
        shape, scale = mean**2 / variance, variance / mean
        value = (w1 / w2 - 1) * ((r / x) ** 2 - 1) + (k - 1)
        return special.gammainc(shape, max(value, 0.0) / scale) * dist.norm.pdf(r)

    def equation(x):
        if x <= 0:
            return 0.5 - alpha / 2
        value = integrate.quad(integrand, x, np.inf, args=(x,), epsabs=1e-14, epsrel=1e-12, limit=200)[0]
        return value - alpha / 2

    try:
        t0 = optimize.brentq(equation, 0.0, 2.0, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=1000)
    except (ValueError, RuntimeError) as error:  # no sign change, NaN, no convergence: not the solver's words
        raise ValueError(f"the Henmi-Copas equation for t0 has no finite root in [0, 2] (DL tau^2 {tau2:.3g}, "
                         f"W1 {w1:.3g}, W2 {w2:.3g})") from error
    u0 = sdr * t0
    return HenmiCopas(float(beta), se, float(beta - u0 * se), float(beta + u0 * se), float(tau2), float(t0), level)
