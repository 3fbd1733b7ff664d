"""Fail-safe N, as metafor's ``fsn``.

Rosenthal (1979, Psych Bull 86, 638-641; Stouffer), Orwin (1983, J Educ Stat 8,
157-159), Rosenberg (2005, Evolution 59, 464-468).
"""

from __future__ import annotations

import math

import numpy as np

from alliance_meta.analyses.bias.results import BiasTest, _arrays
from alliance_meta.engines import distributions as dist
from alliance_meta.models.univariate import validate_inputs


def fail_safe_n(yi, vi, kind: str = "Rosenthal", alpha: float = 0.05, target: float | None = None,
                weighted: bool = False) -> BiasTest:
    """Fail-safe N as metafor's ``fsn``: ``Rosenthal`` (Stouffer), ``Orwin``, ``Rosenberg``.

    Orwin's target defaults to half the (unweighted, or with ``weighted`` the
    inverse-variance) mean effect. The number is rounded up as metafor does. Beside a sampling variance of 1e-300
    Rosenthal's is finite and metafor's (3.7e297: that study's z is 1e149), and Rosenberg's, whose (sum w y)^2
    overflows (metafor's: Inf), is taken as k (S (ybar / z_alpha/2)^2 - 1), S = sum w, the same number. Below
    vi = 5.56e-309, where 1/vi overflows, Rosenthal's and Rosenberg's are not computed: a ValueError says so, as the
    pooled fit's.
    """
    yi, vi = _arrays(yi, vi)
    k = yi.size
    estimate = p = math.nan
    if kind == "Rosenthal":
        validate_inputs(yi, vi)  # vi below 1/DBL_MAX: z = yi / sqrt(vi) overflows in the sum of squares (was inf)
        z_mean = abs(np.sum(yi / np.sqrt(vi)) / math.sqrt(k))
        p = float(dist.norm.sf(z_mean))
        number = max(0.0, k * (z_mean / dist.norm.isf(alpha)) ** 2 - k)
        name, note = "fail_safe_n", f"Rosenthal (Stouffer), one-sided alpha = {alpha}"
    elif kind == "Orwin":
        estimate = float(np.average(yi, weights=1.0 / vi if weighted else None))
        target = estimate / 2 if target is None else target
        if target == 0:
            number = math.inf
        else:
            target = -target if np.sign(target) != np.sign(estimate) else target
            number = max(0.0, k * (estimate - target) / target)
        name, note = "fail_safe_n_orwin", f"Orwin, target = {target:.6g}"
    elif kind == "Rosenberg":
        validate_inputs(yi, vi)  # vi below 1/DBL_MAX: 1/vi = inf, the sums NaN (max(0, NaN) was 0)
        weights = 1.0 / vi
        estimate = float(weights @ yi) / weights.sum()
        p = float(2 * dist.norm.sf(abs(estimate * math.sqrt(weights.sum()))))
        critical = dist.norm.isf(alpha / 2)
        with np.errstate(over="ignore"):  # (sum w y)^2 beyond double range: taken otherwise just below
            excess = (float(weights @ yi) / critical) ** 2 - weights.sum()
        number = max(0.0, k * excess / weights.sum())
        if math.isinf(number):  # (sum w y)^2 overflows (vi = 1e-300); the same as k (S (ybar / z)^2 - 1)
            number = max(0.0, k * (float(weights.sum()) * (estimate / critical) ** 2 - 1.0))
        name, note = "fail_safe_n_rosenberg", f"Rosenberg (common-effect model), two-sided alpha = {alpha}"
    else:
        raise ValueError(f"unknown fail-safe N {kind!r}; expected Rosenthal, Orwin or Rosenberg")
    if math.isfinite(number) and abs(number - round(number)) >= np.finfo(float).eps ** 0.5:
        number = float(math.ceil(number))
    else:
        number = float(round(number)) if math.isfinite(number) else number
    return BiasTest(test=name, statistic=number, p=p, estimate=estimate, note=note)
