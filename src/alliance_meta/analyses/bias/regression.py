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
from alliance_meta.engines.heterogeneity import DOMINANCE_LIMIT, dominant_group, effects_centre, refit_control
from alliance_meta.models import metareg
from alliance_meta.models.univariate import genq_weights, validate_inputs


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
    return _sei_fit(yi, vi, method, level, weights, control).coefficients("z")


def _sei_fit(yi, vi, method: str, level: float, weights, control):
    """The fit of :func:`sei_regression`."""
    yi, vi = _arrays(yi, vi)
    X = np.column_stack([np.ones_like(yi), np.sqrt(vi)])
    try:  # where tr(PP) cancels to 0 a step divides by it, and the refusal, not numpy's warning, says so
        with np.errstate(divide="ignore"):
            fit = metareg.fit(yi, vi, X, ("intrcpt", "sei"), method=method, level=level, strict=True,
                              weights=weights, control=control)
            if method in tau2_mods.ITERATIVE and fit.tau2 > 0:
                tau2, centred = np.array([fit.tau2]), (yi - yi.mean())[None]
                for _ in range(200):
                    previous = tau2
                    tau2, _, _ = tau2_mods.fisher_scoring(X, centred, vi[None], method, start=previous)
                    if not abs(tau2[0] - previous[0]) > refit_control(control).threshold:
                        break
                beta, covariance, _ = metareg.fixed_effects(X, yi[None], vi[None], tau2)
                fit = dataclasses.replace(fit, estimate=beta[0], covariance=covariance[0], tau2=float(tau2[0]))
    except np.linalg.LinAlgError as error:  # its reason, not numpy's "Singular matrix" (in the fit or its refit)
        raise ValueError(singular_regression(vi, method)) from error
    return fit


def egger_test(yi, vi, method: str = "REML", level: float = 95, weights=None, control=None) -> BiasTest:
    """metafor's ``regtest(rma(yi, vi, method))``: z test of the slope on sqrt(vi) (GENQ: with ``weights``; the
    model's ``control``).

    The estimate is the intercept with its Wald CI (the limit estimate). The meta-regression's sums are not taken
    without cancellation (only the intercept-only model's are: :func:`alliance_meta.fit`), so a ValueError says the
    test is not computed wherever they, or its tau^2, may be rounding noise (:func:`heavy_regression`: vi = 1e-300
    or 1e-20 beside 0.1, 1e-300 twice or 1e-300 and 4e-300 beside 0.1, where REML gave z = 0 and 2.4e148):
    at the weights its tau^2 takes sums at (1/vi for DL's and HS's moments, PM's Q(0) and ML's and REML's
    likelihood at tau^2 = 0 of metafor's ll0check, GENQ's ``weights``; none for HE, SJ and EB), at the fitted
    weights 1/(vi + tau^2), or where the fit fails there (metafor's regtest: z 1.3e133 at vi = 1e-300; PM gives
    tau^2 9.5e-5 and z 3.20 where, at vi = 1e-20, it gives 0 and 3.24). Elsewhere, spread or not, it is computed.
    """
    table = checked_sei_fit(yi, vi, method, level, weights, control).coefficients("z")
    return BiasTest(test="egger", statistic=table.statistic[1], p=table.p[1], estimate=table.estimate[0], se=table.se[0],
                    ci_lower=table.ci_lower[0], ci_upper=table.ci_upper[0], note=f"tau2 {method}")


class CancelledRegression(ValueError):
    """The meta-regression on the standard error is not computed: its sums cancel (:func:`cancelled_regression`)."""


def checked_sei_fit(yi, vi, method: str = "REML", level: float = 95, weights=None, control=None):
    """The fit of :func:`sei_regression` where its sums and its tau^2 are not rounding noise; elsewhere (as
    :func:`egger_test` says) a :class:`CancelledRegression` saying why, raised before the fit wherever the weights its
    tau^2 takes sums at already say so (their squares overflow: numpy's warnings)."""
    yi_, vi_ = _arrays(yi, vi)
    at = _estimator_weights(vi_, method, weights, control)
    if at is not None and heavy_regression(at):
        raise CancelledRegression(cancelled_regression(vi_, method))
    try:
        fit = _sei_fit(yi, vi, method, level, weights, control)
    except (ValueError, RuntimeError, np.linalg.LinAlgError, ZeroDivisionError) as error:
        if heavy_regression(1.0 / vi_):
            raise CancelledRegression(cancelled_regression(vi_, method)) from error
        raise
    if heavy_regression(1.0 / (vi_ + fit.tau2)):
        raise CancelledRegression(cancelled_regression(vi_, method, fit.tau2))
    return fit


#: tau^2 estimators of the meta-regression none of whose sums is taken at the weights 1/vi (HE: unweighted; SJ: at
#: 1/(vi + its start); EB: Fisher scoring without ll0check)
AWAY_FROM_ZERO = ("HE", "SJ", "EB")


def _estimator_weights(vi: np.ndarray, method: str, weights, control) -> np.ndarray | None:
    """The weights at which ``method``'s tau^2 of the meta-regression takes sums besides the fitted ones: GENQ's
    ``weights`` (default 1/sqrt(vi)), 1/vi (ML and REML: for metafor's ll0check, unless ``control`` turns it
    off), or None."""
    if method == "GENQ":  # by default 1/sqrt(vi), as the fit's
        return genq_weights(vi, method, weights)
    if method in AWAY_FROM_ZERO or (method in ("ML", "REML") and not refit_control(control).ll0_check):
        return None
    return 1.0 / vi


def heavy_regression(weights: np.ndarray) -> bool:
    """Whether the meta-regression's sums or its tau^2 iteration at ``weights`` may lose their digits: one weight, or
    a few together, hold all but less than 2^-26 of their sum (:func:`~alliance_meta.engines.heterogeneity.dominant_group`:
    vi = 1e-300 or 1e-20 beside 0.1, 1e-300 twice, or 1e-300 and 4e-300, where REML's iteration ended at z = 0 and
    metafor's regtest gives z 6.2e133). A heavy study short of that (vi = 1e-9 beside five studies at 0.05-0.2: its
    weight 2e7 times the others' sum) leaves the regression about 28 bits, and metafor's regtest is computed as is (`one_heavy`)."""
    return dominant_group(weights) >= 1


def cancelled_regression(vi: np.ndarray, method: str, tau2: float | None = None) -> str:
    """Why Egger's random-effects regression on the standard error is not computed (:func:`heavy_regression`)."""
    where = (f"at its {method} tau^2 of {tau2:.3g} the regression's weights 1/(vi + tau^2)" if tau2 is not None
             else f"the weights its {method} tau^2 takes sums at")
    return (f"the sampling variances range from {np.min(vi):.3g} to {np.max(vi):.3g}, and {where} are so unequal "
            "that one study, or a few (tied or nearly), hold all but less than 2^-26 of "
            "them: the regression's sums, and its tau^2 iteration with them, cancel to rounding noise there "
            "(metafor's regtest too); egger_lm, the rank test and the selection model are computed without cancellation")


#: A weight 1/vi at least this many times the others' sum (2^20) is named as the reason a regression met a singular
#: matrix; below it, the predictor is nearly constant.
HEAVY_RATIO = 2.0**20


def singular_regression(vi: np.ndarray, method: str) -> str:
    """Why the random-effects regression on the standard error met a singular matrix: short of
    :func:`heavy_regression`, a weight 1/vi at least :data:`HEAVY_RATIO` times the others' sum (6e7: REML's
    information tr(PP) cancels to 0 and its step divides by it; metafor's regtest is computed there), or else
    nearly equal variances, whose relative spread (max - min) / min it names (the predictor sqrt(vi) nearly
    constant: vi equal to within 1e-7, where the weights' ratio of 0.25 is no reason)."""
    weights = np.sort(1.0 / vi)
    ratio = weights[-1] / weights[:-1].sum()
    if ratio >= HEAVY_RATIO:
        return (f"the regression's {method} fit met a singular matrix: the sampling variances (from {np.min(vi):.3g} "
                f"to {np.max(vi):.3g}) hold a weight 1/vi {ratio:.3g} times the others' sum: the fit's sums at such "
                "unequal weights cancel to rounding noise (metafor's regtest may compute it; egger_lm and the rank "
                "test are computed)")
    spread = (np.max(vi) - np.min(vi)) / np.min(vi)
    return (f"the regression's {method} fit met a singular matrix: the sampling variances (from {np.min(vi):.3g}) are "
            f"equal to within {spread:.2g} relative, so its predictor sqrt(vi) is nearly constant and its slope on "
            "it is not determined in double precision")


def weighted_regression(yi, vi, predictor, level: float = 95, name: str = "sqrt(vi)") -> dict:
    """``lm(yi ~ predictor, weights = 1/vi)``: coefficients, SEs, t tests on k - 2 df (``name``: the predictor's,
    for the ValueError where they are not determined in double precision, :func:`undetermined_regression`).

    The residual variance is estimated (multiplicative dispersion), as in R's ``lm``. Where the regression
    may cancel, one weight or a few holding nearly all the sum (:func:`heavy_regression`: vi = 1e-300 beside 0.1, or 1e-300
    and 4e-300, where lstsq gave t 9.8e-300 for R's 0.447) y and the predictor are centred on the
    heaviest study's (:func:`~alliance_meta.engines.heterogeneity.effects_centre`) and the normal equations
    solved: lstsq's rcond drops the slope's singular value (1e150 times smaller: t of 1.9e-151 where it is 3.57;
    R's ``lm`` keeps it); centred, that study's row is (w, 0) and its residual the intercept's, without
    cancellation (Chan, Golub & LeVeque 1983). Elsewhere (weights spread 1e12 too) lstsq (:func:`_scaled_lstsq`)."""
    yi, vi, _ = validate_inputs(yi, vi)  # vi below 1/DBL_MAX: 1/vi = inf, every coefficient NaN without a word
    predictor = np.asarray(predictor, dtype=float)
    df = yi.size - 2
    try:
        if heavy_regression(1.0 / vi):
            coefficients, residuals, inverse = _centred_regression(yi, predictor, 1.0 / vi)
            dispersion = float(residuals @ residuals) / df
            se = np.sqrt(np.diag(dispersion * inverse))
        else:
            coefficients, se = _scaled_lstsq(yi, vi, predictor)
    except np.linalg.LinAlgError as error:  # a singular Gram matrix: its reason, not numpy's
        raise ValueError(undetermined_regression(vi, name)) from error
    with np.errstate(divide="ignore", invalid="ignore"):  # identical effects: se = 0, t undefined (NaN), as R
        t = coefficients / se
    critical = dist.t.isf((1 - level / 100) / 2, df)
    return {"estimate": coefficients, "se": se, "t": t, "p": 2 * dist.t.sf(np.abs(t), df), "df": df,
            "ci_lower": coefficients - critical * se, "ci_upper": coefficients + critical * se}


#: Weights 1/vi whose largest is within 2^64 of 1, and predictors whose largest magnitude is within 2^32 of 1 (every
#: ordinary data set, and variances spread from 1e-12 to 0.1), enter lstsq as they are; beyond, they are scaled by a
#: power of two first.
UNSCALED_WEIGHTS_EXPONENT, UNSCALED_PREDICTOR_EXPONENT = 64, 32


def undetermined_regression(vi: np.ndarray, name: str) -> str:
    """Why ``lm(yi ~ predictor, weights = 1/vi)`` is not computed: its design has rank 1 in double precision."""
    return (f"the sampling variances range from {np.min(vi):.3g} to {np.max(vi):.3g}, and weighted by 1/vi the "
            f"columns of the regression's intercept and its predictor {name} are linearly dependent in double "
            "precision (the weights span more digits than it holds, or the predictor is nearly constant: the "
            "design has rank 1, its Gram matrix is singular), so the coefficients and their SEs are not "
            "determined (R's lm drops the slope or gives SEs of Inf)")


def weights_scale(vi: np.ndarray) -> int:
    """h of :func:`_scaled_lstsq`: the power 4^h by which vi is multiplied so that the largest weight 1/vi is below
    2, where it lies beyond 2^UNSCALED_WEIGHTS_EXPONENT of 1 (else 0: ordinary data). h is limited so that every vi
    times 4^h stays finite, and, where that allows, none becomes subnormal (vi from 1e-300 to 1e295: h from the
    largest weight alone made 1e295 times 4^h overflow, and the Gram matrix singular)."""
    exponent = int(np.frexp(np.max(1.0 / vi))[1])
    if abs(exponent) <= UNSCALED_WEIGHTS_EXPONENT:
        return 0
    smallest, largest = int(np.frexp(np.min(vi))[1]), int(np.frexp(np.max(vi))[1])  # vi < 2^e
    normal = -((smallest + 1021) // 2)  # min(vi) 4^h >= 2^-1022 for h at least this
    return min(max(exponent // 2, normal), (1024 - largest) // 2)  # max(vi) 4^h < 2^1024 for h at most this


def _scaled_lstsq(yi: np.ndarray, vi: np.ndarray, predictor: np.ndarray):
    """(intercept, slope) and their standard errors of ``lm(yi ~ predictor, weights = 1/vi)`` by lstsq, with vi times
    4^h (:func:`weights_scale`) and the predictor divided by 2^q where they lie far from 1 (h = q = 0 on ordinary
    data: their bits as before); LinAlgError where lstsq finds the weighted design of rank 1 (its rcond: the slope
    dropped, the numbers not lm's). Where the design is ill conditioned (:func:`_svd_regression`), the numbers are
    taken from its singular value decomposition instead of the normal equations.

    Weighted least squares is invariant to scaling every weight (the dispersion absorbs it) and scales the slope
    and its SE by 2^q when the predictor is divided by 2^q; powers of two change only the exponent (IEEE 754), and
    sqrt(4^h vi) = 2^h sqrt(vi), so the results scaled back are those at the data's own scale. Unscaled, every vi
    near 1e-200 (or 1e-20 for PEESE's predictor vi) made the predictor's column 1e100 (1e20) times shorter than the
    intercept's, and lstsq's rcond dropped the slope (dat.molloy2014 scaled: egger_lm's t 4.4e-201 where it is 1.35,
    PEESE's intercept the common-effect mean 0.125 where it is 0.096; at vi near 1e300 egger_lm's estimate 5e-301)."""
    vi = np.ldexp(vi, 2 * weights_scale(vi))  # weights 1/vi now below 2 (where the spread of vi allows)
    shift = int(np.frexp(np.max(np.abs(predictor)))[1])
    shift = shift if abs(shift) > UNSCALED_PREDICTOR_EXPONENT else 0  # the predictor now below 1 in magnitude
    sqrt_w = 1.0 / np.sqrt(vi)
    X = np.column_stack([np.ones_like(yi), np.ldexp(predictor, -shift)])
    coefficients, _, rank, _ = np.linalg.lstsq(X * sqrt_w[:, None], yi * sqrt_w, rcond=None)
    if rank < 2:
        raise np.linalg.LinAlgError("the weighted design has rank 1")
    svd = _svd_regression(X * sqrt_w[:, None], yi * sqrt_w)
    if svd is not None:
        coefficients, se = svd
    else:
        residuals = (yi - X @ coefficients) * sqrt_w
        dispersion = float(residuals @ residuals) / (yi.size - 2)
        covariance = dispersion * np.linalg.inv((X * (sqrt_w**2)[:, None]).T @ X)
        se = np.sqrt(np.diag(covariance))
    if shift:  # the slope's variance, 4^-q times, may overflow where its SE does not
        coefficients, se = np.ldexp(coefficients, [0, -shift]), np.ldexp(se, [0, -shift])
    return coefficients, se


#: The condition number of the weighted design (columns scaled to equal length) beyond which the normal equations
#: X'WX, whose condition is its square, would lose more than half the digits of double precision (2^26 of 2^53).
CONDITION_LIMIT = 2.0**13


def _svd_regression(design: np.ndarray, response: np.ndarray):
    """(coefficients, SEs) of the least-squares fit of ``response`` on the weighted ``design`` from the singular
    value decomposition of the design with its columns scaled by powers of two to about unit length (U S V'):
    coefficients V S^-1 U'y, covariance V S^-2 V' times the dispersion, residuals y - U U'y (Golub & Van Loan
    2013, sec. 5.3.7; R's lm takes them from a QR decomposition alike, without X'WX). None where the scaled design's
    condition number S1/S2 is within :data:`CONDITION_LIMIT`: every ordinary data set, whose numbers stay those of
    the normal equations. Beyond it (variances equal to within 1e-8 relative: sqrt(vi) nearly constant), inverting
    X'WX squared the condition number: egger_lm's intercept SE 4.56e6 where it is 3.21e7, its t 5.53 where it is
    0.0785."""
    exponents = np.frexp(np.sqrt(np.sum(design**2, axis=0)))[1]
    scaled = np.ldexp(design, -exponents)  # exact: powers of two
    u, s, vt = np.linalg.svd(scaled, full_matrices=False)
    if not s[-1] > 0:  # below lstsq's rank tolerance too; kept for safety
        raise np.linalg.LinAlgError("the weighted design has rank 1")
    if s[0] / s[-1] <= CONDITION_LIMIT:
        return None
    projected = u.T @ response
    residuals = response - u @ projected
    dispersion = float(residuals @ residuals) / (design.shape[0] - design.shape[1])
    coefficients = np.ldexp(vt.T @ (projected / s), -exponents)
    se = np.ldexp(np.sqrt(dispersion * np.sum((vt / s[:, None]) ** 2, axis=0)), -exponents)
    return coefficients, se


def _centred_regression(yi: np.ndarray, predictor: np.ndarray, weights: np.ndarray):
    """The weighted least-squares line of ``yi`` on ``predictor`` with y and x centred on the heaviest study's
    (:func:`~alliance_meta.engines.heterogeneity.effects_centre`): (intercept, slope) in the original units,
    the residuals times sqrt(w), and (X' W X)^-1 of the original design."""
    y_centre, x_centre = effects_centre(yi, weights), effects_centre(predictor, weights)
    X = np.column_stack([np.ones_like(yi), predictor - x_centre])
    y = yi - y_centre
    gram = (X * weights[:, None]).T @ X
    coefficients = np.linalg.solve(gram, X.T @ (weights * y))
    residuals = (y - X @ coefficients) * np.sqrt(weights)
    back = np.array([[1.0, -x_centre], [0.0, 1.0]])  # intercept = a' - b x_centre (+ y_centre)
    return (back @ coefficients + np.array([y_centre, 0.0]), residuals,
            back @ np.linalg.inv(gram) @ back.T)


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
    for name, predictor, label in (("pet", np.sqrt(vi_), "sqrt(vi)"), ("peese", vi_, "vi")):
        fit = weighted_regression(yi, vi, predictor, level, label)
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
