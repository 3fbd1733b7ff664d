"""Small-study effects and publication bias, as metafor's regtest, ranktest, trimfill and fsn.

* Egger's regression test (Egger et al. 1997, BMJ 315, 629-634; Sterne & Egger 2005,
  in Rothstein et al., *Publication Bias in Meta-Analysis*, ch. 6): the standard
  error as a moderator of the random-effects model, z test of its slope (``egger``,
  metafor's ``regtest(model = "rma")``) or the classical weighted regression with a
  multiplicative dispersion and a t test (``egger_lm``, ``regtest(model = "lm")``).
  The intercept is the limit estimate (effect at se = 0).
* Rank correlation test (Begg & Mazumdar 1994, Biometrics 50, 1088-1101): Kendall's
  tau between standardised deviates and variances; exact p-value without ties, the
  tie-corrected normal approximation with ties (R's ``cor.test``, as metafor).
* Trim and fill (Duval & Tweedie 2000, Biometrics 56, 455-463; JASA 95, 89-98): L0
  and R0 estimators of the number of missing studies, as metafor's ``trimfill``.
* Fail-safe N: Rosenthal (1979, Psych Bull 86, 638-641; Stouffer), Orwin (1983,
  J Educ Stat 8, 157-159), Rosenberg (2005, Evolution 59, 464-468), as ``fsn``.
* PET-PEESE (Stanley & Doucouliagos 2014, Res Synth Methods 5, 60-78), see
  :func:`pet_peese`.
* Selection models: :mod:`alliance_meta.selection`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from alliance_meta import metareg, pooling, tau2_mods
from alliance_meta.heterogeneity import Control
from alliance_meta.transforms import back_transform

#: Tight iteration control for the refits of trim and fill (the converged root, not
#: the iterate at which metafor's default 1e-5 threshold stops).
TIGHT_CONTROL = Control(threshold=1e-13, max_iterations=1000)
CONTRACT_COLUMNS = ("test", "statistic", "p", "estimate", "k_imputed")
EXTRA_COLUMNS = ("se", "ci_lower", "ci_upper", "df", "side", "note")
TEST_ORDER = ("egger", "egger_lm", "rank", "trim_and_fill", "fail_safe_n", "fail_safe_n_orwin",
              "fail_safe_n_rosenberg", "pet", "peese", "pet_peese", "selection_model")


@dataclass(frozen=True)
class BiasTest:
    """One row of ``bias.csv``: a test statistic, its p-value and an (adjusted) estimate."""

    test: str
    statistic: float
    p: float = math.nan
    estimate: float = math.nan
    k_imputed: float = math.nan
    se: float = math.nan
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    df: float = math.nan
    side: str = ""
    note: str = ""


def bias_frame(rows: list[BiasTest], metric: str | None = None) -> pd.DataFrame:
    """The contract's ``bias.csv`` columns, extras, and back-transformed estimates."""
    frame = pd.DataFrame([asdict(row) for row in rows], columns=list(CONTRACT_COLUMNS + EXTRA_COLUMNS))
    if metric is not None:
        for name in ("estimate", "ci_lower", "ci_upper"):
            for prefix, values in back_transform(frame[name].to_numpy(float), metric).items():
                frame[prefix if name == "estimate" else f"{prefix}_{name}"] = values
    return frame


def _arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)


def sei_regression(yi, vi, method: str = "REML", level: float = 95) -> pd.DataFrame:
    """``rma(yi, vi, mods = sqrt(vi), method)``: coefficient table (z tests) of intercept and slope.

    tau^2 from :func:`alliance_meta.metareg.fit`; for the iterative estimators
    (REML, ML, EB) Fisher scoring is resumed from that value until tau^2 changes by
    less than 1e-13 (the converged root, as the rest of this module). A tau^2 that does
    not converge raises RuntimeError (``strict``), which :func:`publication_bias` writes as
    the test's ``not computed`` note.
    """
    yi, vi = _arrays(yi, vi)
    X = np.column_stack([np.ones_like(yi), np.sqrt(vi)])
    fit = metareg.fit(yi, vi, X, ("intrcpt", "sei"), method=method, level=level, strict=True)
    if method in tau2_mods.ITERATIVE and fit.tau2 > 0:
        tau2, centred = np.array([fit.tau2]), (yi - yi.mean())[None]
        for _ in range(200):
            previous = tau2
            tau2, _, _ = tau2_mods.fisher_scoring(X, centred, vi[None], method, start=previous)
            if not abs(tau2[0] - previous[0]) > TIGHT_CONTROL.threshold:
                break
        beta, covariance, _ = metareg.fixed_effects(X, yi[None], vi[None], tau2)
        fit = dataclasses.replace(fit, estimate=beta[0], covariance=covariance[0], tau2=float(tau2[0]))
    return fit.coefficients("z")


def egger_test(yi, vi, method: str = "REML", level: float = 95) -> BiasTest:
    """metafor's ``regtest(rma(yi, vi, method))``: z test of the slope on sqrt(vi).

    The estimate is the intercept with its Wald CI (the limit estimate).
    """
    table = sei_regression(yi, vi, method, level)
    return BiasTest("egger", table.statistic[1], table.p[1], table.estimate[0], se=table.se[0],
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
    t = coefficients / se
    critical = stats.t.isf((1 - level / 100) / 2, df)
    return {"estimate": coefficients, "se": se, "t": t, "p": 2 * stats.t.sf(np.abs(t), df), "df": df,
            "ci_lower": coefficients - critical * se, "ci_upper": coefficients + critical * se}


def egger_lm_test(yi, vi, level: float = 95) -> BiasTest:
    """metafor's ``regtest(model = "lm")``: t test of the slope on sqrt(vi), intercept as estimate."""
    _, vi_ = _arrays(yi, vi)
    fit = weighted_regression(yi, vi, np.sqrt(vi_), level)
    return BiasTest("egger_lm", fit["t"][1], fit["p"][1], fit["estimate"][0], se=fit["se"][0],
                    ci_lower=fit["ci_lower"][0], ci_upper=fit["ci_upper"][0], df=fit["df"])


def pet_peese(yi, vi, level: float = 95, alpha: float = 0.05, sided: str = "one") -> list[BiasTest]:
    """PET, PEESE and the conditional PET-PEESE estimate (Stanley & Doucouliagos 2014).

    PET: ``lm(yi ~ sqrt(vi), weights = 1/vi)``; PEESE: ``lm(yi ~ vi, weights = 1/vi)``;
    the intercepts estimate the effect of a study with se = 0. Rule (Stanley &
    Doucouliagos 2014, sec. 4): if PET's intercept differs from zero (t test on k - 2
    df at ``alpha``; ``sided="one"``: one-sided in the direction of the PET estimate,
    as the FAT-PET-PEESE procedure tests H0: beta0 <= 0 for a positive effect;
    ``"two"``: two-sided), report PEESE, otherwise PET.
    """
    _, vi_ = _arrays(yi, vi)
    rows = []
    for name, predictor in (("pet", np.sqrt(vi_)), ("peese", vi_)):
        fit = weighted_regression(yi, vi, predictor, level)
        rows.append(BiasTest(name, fit["t"][0], fit["p"][0], fit["estimate"][0], se=fit["se"][0],
                             ci_lower=fit["ci_lower"][0], ci_upper=fit["ci_upper"][0], df=fit["df"],
                             note="t test of the intercept"))
    pet, peese = rows
    if sided not in ("one", "two"):
        raise ValueError(f"sided must be 'one' or 'two', got {sided!r}")
    p_rule = pet.p / 2 if sided == "one" else pet.p
    chosen = peese if p_rule < alpha else pet
    note = (f"PET intercept p ({sided}-sided) = {p_rule:.4g} {'<' if chosen is peese else '>='} {alpha}: "
            f"{chosen.test.upper()} estimate")
    rows.append(BiasTest("pet_peese", chosen.statistic, chosen.p, chosen.estimate, se=chosen.se,
                         ci_lower=chosen.ci_lower, ci_upper=chosen.ci_upper, df=chosen.df, note=note))
    return rows


def kendall_permutation_cdf(n: int) -> np.ndarray:
    """P(T <= q), q = 0..n(n-1)/2, T = concordant pairs of two untied rankings of n.

    The Mahonian distribution (Kendall 1938) by convolution, in probabilities;
    R's ``ckendall`` counts the same permutations.
    """
    probabilities = np.ones(1)
    for m in range(2, n + 1):
        padded = np.concatenate([np.zeros(m), probabilities, np.zeros(m - 1)])
        cumulative = np.cumsum(padded)  # new[j] = mean of p[j - m + 1 .. j]
        probabilities = (cumulative[m:] - cumulative[:-m]) / m
    return np.cumsum(probabilities)


def kendall_test(x, y, max_exact_n: int = 1000) -> tuple[float, float, str]:
    """Kendall's tau-b and two-sided p-value as R's ``cor.test(x, y, "kendall", exact = TRUE)``.

    Without ties: exact p-value (for n <= ``max_exact_n``); with ties: the normal
    approximation with the tie-corrected variance of S (Kendall 1970, ch. 4).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = x.size
    tau = float(stats.kendalltau(x, y).statistic)
    ties = min(np.unique(x).size, np.unique(y).size) < n
    if not ties and n <= max_exact_n:
        q = int(round((tau + 1) * n * (n - 1) / 4))
        cdf = kendall_permutation_cdf(n)
        lower = 1 - cdf[q - 1] if q > n * (n - 1) / 4 else cdf[q]
        return tau, float(min(2 * lower, 1.0)), "exact"
    x_ties = np.unique(x, return_counts=True)[1]
    y_ties = np.unique(y, return_counts=True)[1]
    x_ties, y_ties = x_ties[x_ties > 1].astype(float), y_ties[y_ties > 1].astype(float)
    t0 = n * (n - 1) / 2
    s = tau * math.sqrt((t0 - np.sum(x_ties * (x_ties - 1)) / 2) * (t0 - np.sum(y_ties * (y_ties - 1)) / 2))
    variance = ((n * (n - 1) * (2 * n + 5) - np.sum(x_ties * (x_ties - 1) * (2 * x_ties + 5))
                 - np.sum(y_ties * (y_ties - 1) * (2 * y_ties + 5))) / 18
                + np.sum(x_ties * (x_ties - 1)) * np.sum(y_ties * (y_ties - 1)) / (2 * n * (n - 1))
                + np.sum(x_ties * (x_ties - 1) * (x_ties - 2)) * np.sum(y_ties * (y_ties - 1) * (y_ties - 2))
                / (9 * n * (n - 1) * (n - 2)))
    z = s / math.sqrt(variance)
    return tau, float(2 * stats.norm.sf(abs(z))), "normal approximation (ties)" if ties else "normal approximation"


def rank_test(yi, vi) -> BiasTest:
    """metafor's ``ranktest``: Kendall's tau of ``(yi - theta)/sqrt(vi - 1/sum w)`` with ``vi``.

    ``theta`` is the common-effect (inverse-variance) estimate (Begg & Mazumdar 1994).
    """
    yi, vi = _arrays(yi, vi)
    weights = 1.0 / vi
    theta = float(weights @ yi) / weights.sum()
    standardised = (yi - theta) / np.sqrt(vi - 1.0 / weights.sum())
    tau, p, note = kendall_test(standardised, vi)
    return BiasTest("rank", tau, p, note=f"Kendall's tau; p {note}")


def fail_safe_n(yi, vi, kind: str = "Rosenthal", alpha: float = 0.05, target: float | None = None,
                weighted: bool = False) -> BiasTest:
    """Fail-safe N as metafor's ``fsn``: ``Rosenthal`` (Stouffer), ``Orwin``, ``Rosenberg``.

    Orwin's target defaults to half the (unweighted, or with ``weighted`` the
    inverse-variance) mean effect. The number is rounded up as metafor does.
    """
    yi, vi = _arrays(yi, vi)
    k = yi.size
    estimate = p = math.nan
    if kind == "Rosenthal":
        z_mean = abs(np.sum(yi / np.sqrt(vi)) / math.sqrt(k))
        p = float(stats.norm.sf(z_mean))
        number = max(0.0, k * (z_mean / stats.norm.isf(alpha)) ** 2 - k)
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
        weights = 1.0 / vi
        estimate = float(weights @ yi) / weights.sum()
        p = float(2 * stats.norm.sf(abs(estimate * math.sqrt(weights.sum()))))
        excess = (float(weights @ yi) / stats.norm.isf(alpha / 2)) ** 2 - weights.sum()
        number = max(0.0, k * excess / weights.sum())
        name, note = "fail_safe_n_rosenberg", f"Rosenberg (common-effect model), two-sided alpha = {alpha}"
    else:
        raise ValueError(f"unknown fail-safe N {kind!r}; expected Rosenthal, Orwin or Rosenberg")
    if math.isfinite(number) and abs(number - round(number)) >= np.finfo(float).eps ** 0.5:
        number = float(math.ceil(number))
    else:
        number = float(round(number)) if math.isfinite(number) else number
    return BiasTest(name, number, p, estimate, note=note)


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
        return BiasTest("trim_and_fill", float(self.k0), self.p_k0, fit.estimate, float(self.k0), fit.se,
                        fit.ci_lower, fit.ci_upper, side=self.side,
                        note=f"{self.estimator}, {fit.method}; statistic = k0 (SE {self.se_k0:.4g})")


def trimfill_side(yi, vi, method: str = "REML") -> str:
    """metafor's default side: ``left`` unless the slope of ``rma(yi, vi, mods = sqrt(vi))`` is negative."""
    return "right" if sei_regression(yi, vi, method).estimate[1] < 0 else "left"


def trim_and_fill(yi, vi, method: str = "REML", estimator: str = "L0", side: str | None = None,
                  max_iterations: int = 100, level: float = 95, control: Control = TIGHT_CONTROL) -> TrimFillResult:
    """Duval & Tweedie's trim and fill, step for step as metafor's ``trimfill.rma.uni``.

    Studies are mirrored around the estimate of the trimmed data; the filled data are
    refitted by ``method``. ``side`` (where studies are missing) defaults as
    :func:`trimfill_side`. ``p_k0`` is the R0 test of k0 = 0 (Duval & Tweedie 2000b).
    """
    if estimator not in ("L0", "R0"):
        raise ValueError(f"unknown trim-and-fill estimator {estimator!r}; expected L0 or R0")
    yi, vi = _arrays(yi, vi)
    side = side or trimfill_side(yi, vi, method)
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * yi, kind="stable")
    y, v = sign * yi[order], vi[order]
    k = y.size
    k0, previous, iterations = 0, -1, 0
    while k0 != previous:
        previous = k0
        iterations += 1
        if iterations > max_iterations:
            raise RuntimeError("trim and fill did not converge")
        beta = pooling.fit(y[: k - k0], v[: k - k0], method, control=control, tau2_interval=False).estimate
        centred = y - beta
        ranks = stats.rankdata(np.abs(centred), method="ordinal")
        signed = np.sign(centred) * ranks
        if estimator == "R0":
            k0_raw = (k - np.max(-signed[signed < 0])) - 1
            se_k0 = math.sqrt(2 * max(0, k0_raw) + 2)
        else:
            sum_ranks = float(np.sum(signed[signed > 0]))
            k0_raw = (4 * sum_ranks - k * (k + 1)) / (2 * k - 1)
            variance = (k * (k + 1) * (2 * k + 1) + 10 * k0_raw**3 + 27 * k0_raw**2 + 17 * k0_raw
                        - 18 * k * k0_raw**2 - 18 * k * k0_raw + 6 * k**2 * k0_raw) / 24
            se_k0 = 4 * math.sqrt(variance) / (2 * k - 1)
        k0 = int(max(0, np.round(k0_raw)))  # R's round(): half to even, as numpy
        se_k0 = max(0.0, se_k0)
    if k0 > 0:
        filled_yi = sign * (2 * beta - y[k - k0:])
        filled_vi = v[k - k0:]
        fit = pooling.fit(np.concatenate([yi, filled_yi]), np.concatenate([vi, filled_vi]), method,
                          level=level, control=control, tau2_interval=False)
    else:
        filled_yi, filled_vi = np.empty(0), np.empty(0)
        fit = pooling.fit(yi, vi, method, level=level, control=control, tau2_interval=False)
    p_k0 = math.nan
    if estimator == "R0":
        m = np.arange(-1, k0)
        p_k0 = float(1 - np.sum([math.comb(int(j) + 1, int(j) + 1) * 0.5 ** (j + 2) for j in m]))
    return TrimFillResult(estimator, side, k0, se_k0, p_k0, fit, filled_yi, filled_vi, iterations)


def publication_bias(yi, vi, method: str = "REML", metric: str | None = None, level: float = 95,
                     trimfill_estimator: str = "L0", trimfill_side: str | None = None,
                     selection_steps=(0.025,), pet_peese_alpha: float = 0.05, pet_peese_sided: str = "one",
                     fail_safe_alpha: float = 0.05) -> tuple[pd.DataFrame, TrimFillResult | None]:
    """Every test of this module as the rows of ``bias.csv``, and the trim-and-fill result.

    A test that cannot be computed (e.g. too few studies) gives a row of NaN with the
    reason in ``note``.
    """
    from alliance_meta.selection import selection_model

    yi, vi = _arrays(yi, vi)
    rows: list[BiasTest] = []
    filled: TrimFillResult | None = None

    def attempt(name, compute):
        try:
            result = compute()
        except (ValueError, RuntimeError, np.linalg.LinAlgError, ZeroDivisionError) as error:
            rows.append(BiasTest(name, math.nan, note=f"not computed: {error}"))
            return None
        rows.extend(result if isinstance(result, list) else [result])
        return result

    minimum = {"egger": 3, "egger_lm": 3, "rank": 3, "trim_and_fill": 3, "fail_safe_n": 1, "pet": 3,
               "selection_model": 4}
    for name, needed in minimum.items():
        if yi.size < needed:
            names = {"pet": ["pet", "peese", "pet_peese"],
                     "fail_safe_n": ["fail_safe_n", "fail_safe_n_orwin", "fail_safe_n_rosenberg"]}.get(name, [name])
            rows.extend(BiasTest(n, math.nan, note=f"not computed: k = {yi.size} < {needed}") for n in names)
    if yi.size >= 3:
        attempt("egger", lambda: egger_test(yi, vi, method, level))
        attempt("egger_lm", lambda: egger_lm_test(yi, vi, level))
        attempt("rank", lambda: rank_test(yi, vi))
        result = attempt("trim_and_fill", lambda: trim_and_fill(
            yi, vi, method, trimfill_estimator, trimfill_side, level=level))
        if result is not None:
            rows[-1] = result.as_test()
            filled = result
    if yi.size >= 1:
        for kind in ("Rosenthal", "Orwin", "Rosenberg"):
            attempt("fail_safe_n" if kind == "Rosenthal" else f"fail_safe_n_{kind.lower()}", lambda kind=kind: fail_safe_n(yi, vi, kind, fail_safe_alpha))
    if yi.size >= 3:
        attempt("pet_peese", lambda: pet_peese(yi, vi, level, pet_peese_alpha, pet_peese_sided))
    if yi.size >= 4:
        result = attempt("selection_model", lambda: selection_model(yi, vi, tuple(selection_steps) + (1.0,), level))
        if result is not None:
            rows[-1] = result.as_test()
    rows.sort(key=lambda row: TEST_ORDER.index(row.test))
    return bias_frame(rows, metric), filled
