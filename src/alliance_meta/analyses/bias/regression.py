"""Regression tests for small-study effects: Egger's test and PET-PEESE, as metafor's ``regtest``.

* Egger's regression test (Egger et al. 1997, BMJ 315, 629-634; Sterne & Egger 2005,
  in Rothstein et al., *Publication Bias in Meta-Analysis*, ch. 6): the standard
  error as a moderator of the random-effects model, z test of its slope (``egger``,
  metafor's ``regtest(model = "rma")``) or the classical weighted regression with a
  multiplicative dispersion and a t test (``egger_lm``, ``regtest(model = "lm")``).
  The intercept is the limit estimate (effect at se = 0).
* PET-PEESE (Stanley & Doucouliagos 2014, Res Synth Methods 5, 60-78), see
  :func:`pet_peese`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from alliance_meta.analyses.bias.results import BiasTest, _arrays, all_equal
from alliance_meta.engines import distributions as dist
from alliance_meta.engines import tau2_mods
from alliance_meta.engines.heterogeneity import refit_control
from alliance_meta.models import metareg


def sei_regression(yi, vi, method: str = "REML", level: float = 95, weights=None, control=None) -> pd.DataFrame:
    """``rma(yi, vi, mods = sqrt(vi), method)``: coefficient table (z tests) of intercept and slope (GENQ: with
    the model's weights, ``weights`` or by default 1/sqrt(vi), which regtest and trimfill pass on; ``control``: the
    model's, which they pass on too).

    tau^2 from :func:`alliance_meta.metareg.fit`; for the iterative estimators
    (REML, ML, EB) Fisher scoring is resumed from that value until tau^2 changes by
    less than 1e-13 (the converged root, as the rest of this module; :func:`refit_control`). A tau^2 that does
    not converge raises RuntimeError (``strict``), which :func:`publication_bias` writes as
    the test's ``not estimable`` note.
    """
    yi, vi = _arrays(yi, vi)
    X = np.column_stack([np.ones_like(yi), np.sqrt(vi)])
    fit = metareg.fit(yi, vi, X, ("intrcpt", "sei"), method=method, level=level, strict=True, weights=weights,
                      control=control)
    if method in tau2_mods.ITERATIVE and fit.tau2 > 0:
        tau2, centred = np.array([fit.tau2]), (yi - yi.mean())[None]
        for _ in range(200):
            previous = tau2
            tau2, _, _ = tau2_mods.fisher_scoring(X, centred, vi[None], method, start=previous)
            if not abs(tau2[0] - previous[0]) > refit_control(control).threshold:
                break
        beta, covariance, _ = metareg.fixed_effects(X, yi[None], vi[None], tau2)
        fit = dataclasses.replace(fit, estimate=beta[0], covariance=covariance[0], tau2=float(tau2[0]))
    return fit.coefficients("z")


def egger_test(yi, vi, method: str = "REML", level: float = 95, weights=None, control=None) -> BiasTest:
    """metafor's ``regtest(rma(yi, vi, method))``: z test of the slope on sqrt(vi) (GENQ: with ``weights``; the
    model's ``control``).

    The estimate is the intercept with its Wald CI (the limit estimate).
    """
    table = sei_regression(yi, vi, method, level, weights, control)
    return BiasTest(test="egger", statistic=table.statistic[1], p=table.p[1], estimate=table.estimate[0], se=table.se[0],
                    ci_lower=table.ci_lower[0], ci_upper=table.ci_upper[0], note=f"tau2 {method}")


def weighted_regression(yi, vi, predictor, level: float = 95) -> dict:
    """``lm(yi ~ predictor, weights = 1/vi)``: coefficients, SEs, t tests on k - 2 df.

    The residual variance is estimated (multiplicative dispersion), as in R's ``lm``.
    """
    yi, vi = _arrays(yi, vi)
    X = np.column_stack([np.ones_like(yi), np.asarray(predictor, dtype=float)])
    sqrt_w = 1.0 / np.sqrt(vi)
    coefficients, *_ = np.linalg.lstsq(X * sqrt_w[:, None], yi * sqrt_w, rcond=None)
    residuals = (yi - X @ coefficients) * sqrt_w
    df = yi.size - 2
    dispersion = float(residuals @ residuals) / df
    covariance = dispersion * np.linalg.inv((X * (sqrt_w**2)[:, None]).T @ X)
    se = np.sqrt(np.diag(covariance))
    with np.errstate(divide="ignore", invalid="ignore"):  # identical effects: se = 0, t undefined (NaN), as R
        t = coefficients / se
    critical = dist.t.isf((1 - level / 100) / 2, df)
    return {"estimate": coefficients, "se": se, "t": t, "p": 2 * dist.t.sf(np.abs(t), df), "df": df,
            "ci_lower": coefficients - critical * se, "ci_upper": coefficients + critical * se}


def egger_lm_test(yi, vi, level: float = 95) -> BiasTest:
    """metafor's ``regtest(model = "lm")``: t test of the slope on sqrt(vi), intercept as estimate.

    Studies with one and the same effect lie exactly on a flat line: the slope is 0 with a residual
    variance of 0, and its t is 0/0 (a ValueError says so; in floating point, and in R's ``lm``, the
    t of two rounding errors).
    """
    yi_, vi_ = _arrays(yi, vi)
    if all_equal(yi_):
        raise ValueError("every study has the same effect, so the regression fits exactly and the t test of "
                         "its slope is 0/0")
    fit = weighted_regression(yi, vi, np.sqrt(vi_), level)
    return BiasTest(test="egger_lm", statistic=fit["t"][1], p=fit["p"][1], estimate=fit["estimate"][0], se=fit["se"][0],
                    ci_lower=fit["ci_lower"][0], ci_upper=fit["ci_upper"][0], df=fit["df"])


def pet_peese(yi, vi, level: float = 95, alpha: float = 0.05, sided: str = "one") -> list[BiasTest]:
    """PET, PEESE and the conditional PET-PEESE estimate (Stanley & Doucouliagos 2014).

    PET: ``lm(yi ~ sqrt(vi), weights = 1/vi)``; PEESE: ``lm(yi ~ vi, weights = 1/vi)``;
    the intercepts estimate the effect of a study with se = 0. Rule (Stanley &
    Doucouliagos 2014, sec. 4): if PET's intercept differs from zero (t test on k - 2
    df at ``alpha``; ``sided="one"``: one-sided in the direction of the PET estimate,
    as the FAT-PET-PEESE procedure tests H0: beta0 <= 0 for a positive effect;
    ``"two"``: two-sided), report PEESE, otherwise PET.

    Studies with one and the same effect lie exactly on a flat line: the intercepts' standard errors are 0
    and their t tests undefined (a ValueError says so; in floating point, and in R's ``lm``, a t of about
    1e16 from rounding errors).
    """
    yi_, vi_ = _arrays(yi, vi)
    if all_equal(yi_):
        raise ValueError("every study has the same effect, so the regressions fit exactly and the t tests of "
                         "their intercepts divide by a standard error of 0")
    rows = []
    for name, predictor in (("pet", np.sqrt(vi_)), ("peese", vi_)):
        fit = weighted_regression(yi, vi, predictor, level)
        rows.append(BiasTest(test=name, statistic=fit["t"][0], p=fit["p"][0], estimate=fit["estimate"][0], se=fit["se"][0],
                             ci_lower=fit["ci_lower"][0], ci_upper=fit["ci_upper"][0], df=fit["df"],
                             note="t test of the intercept"))
    pet, peese = rows
    if sided not in ("one", "two"):
        raise ValueError(f"sided must be 'one' or 'two', got {sided!r}")
    p_rule = pet.p / 2 if sided == "one" else pet.p
    chosen = peese if p_rule < alpha else pet
    note = (f"PET intercept p ({sided}-sided) = {p_rule:.4g} {'<' if chosen is peese else '>='} {alpha}: "
            f"{chosen.test.upper()} estimate")
    rows.append(BiasTest(test="pet_peese", statistic=chosen.statistic, p=chosen.p, estimate=chosen.estimate, se=chosen.se,
                         ci_lower=chosen.ci_lower, ci_upper=chosen.ci_upper, df=chosen.df, note=note))
    return rows
