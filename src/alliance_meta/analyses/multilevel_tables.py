"""The pipeline's tables under ``dependence: multilevel``, from three-level fits.

Small functions the workflow scripts call on a family's effect sizes (one row per effect
size: ``study_id``, ``yi``, ``vi``, moderators):

* :func:`pooled_table` — ``pooled.csv`` rows: REML and ML (the estimators ``rma.mv``
  defines; other configured methods are skipped with a note), test ``z`` (Wald), ``t`` (in
  place of ``knha``: ``rma.mv`` has no Knapp-Hartung adjustment; its t test uses k - p df)
  and ``cr2`` (CR2 standard error with a Satterthwaite t; Pustejovsky & Tipton 2018), with
  ``sigma2_between``, ``sigma2_within`` and their profile CIs. ``tau2`` is their sum.
* :func:`moderator_row` / :func:`moderator_coefficients` — a moderator's omnibus test and
  coefficients in a three-level mixed-effects model, with the CR2 HTZ test.
* :func:`egger_row` — Egger's test with sqrt(vi) as moderator in the three-level model with
  a CR2 t test (Rodgers & Pustejovsky 2021, *Psychol Methods* 26, 141-160).

The sampling errors of one study are compound-symmetric with ``rho`` (the config's
``aggregate_rho``; 0 for independent errors), as ``vcalc`` (Pustejovsky & Tipton 2022).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from alliance_meta.models import multilevel

from alliance_meta.engines import robust
from alliance_meta.engines.design import build_design
from alliance_meta.analyses.moderators import usable_rows
from alliance_meta.engines.transforms import back_transform

METHODS = ("REML", "ML")
NOT_CONVERGED = "the likelihood maximisation of sigma2 did not converge"
BACK_TRANSFORMED = ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper")
BACK_SUFFIXES = ("", "_ci_lower", "_ci_upper", "_pi_lower", "_pi_upper")
MULTILEVEL_COLUMNS = (
    "sigma2_between", "sigma2_within", "sigma2_between_ci_lower", "sigma2_between_ci_upper",
    "sigma2_within_ci_lower", "sigma2_within_ci_upper", "i2_between", "i2_within", "n_studies", "df",
    "rho", "loglik", "lrt_between", "lrt_between_p",
)


def _arrays(data: pd.DataFrame):
    return data["yi"].to_numpy(float), data["vi"].to_numpy(float), data["study_id"].astype(str).to_numpy()


def _row(fit: multilevel.MultilevelResult, test: str, estimate, se, df, metric, note="") -> dict:
    """One pooled.csv row; ``df`` = inf for z, else the t df."""
    alpha = 1.0 - fit.level / 100.0
    critical = stats.norm.isf(alpha / 2) if math.isinf(df) else stats.t.isf(alpha / 2, df)
    statistic = estimate / se
    p = 2 * (stats.norm.sf(abs(statistic)) if math.isinf(df) else stats.t.sf(abs(statistic), df))
    half_pi = critical * math.sqrt(se**2 + float(np.sum(fit.sigma2)))
    ci = fit.sigma2_ci if fit.sigma2_ci is not None else np.full((2, 2), np.nan)
    i2 = float(fit.i2[0])
    row = {
        "method": fit.method, "test": test, "k": fit.k, "estimate": estimate, "se": se,
        "ci_lower": estimate - critical * se, "ci_upper": estimate + critical * se,
        "pi_lower": estimate - half_pi, "pi_upper": estimate + half_pi,
        "tau2": float(np.sum(fit.sigma2)), "tau2_ci_lower": np.nan, "tau2_ci_upper": np.nan,
        "i2": i2, "h2": 100.0 / (100.0 - i2) if i2 < 100 else math.inf,
        "q": fit.qe, "q_df": fit.k - fit.data.p, "q_p": fit.qe_p,
        "statistic": statistic, "p": p, "tau": math.sqrt(float(np.sum(fit.sigma2))),
        "i2_ci_lower": np.nan, "i2_ci_upper": np.nan, "h2_ci_lower": np.nan, "h2_ci_upper": np.nan,
        "converged": fit.converged, "iterations": 0,
        "note": "; ".join(filter(None, [note, "" if fit.converged else NOT_CONVERGED])),
        "sigma2_between": fit.sigma2[0], "sigma2_within": fit.sigma2[1],
        "sigma2_between_ci_lower": ci[0, 0], "sigma2_between_ci_upper": ci[0, 1],
        "sigma2_within_ci_lower": ci[1, 0], "sigma2_within_ci_upper": ci[1, 1],
        "i2_between": fit.i2[1], "i2_within": fit.i2[2], "n_studies": fit.n_studies, "df": df,
        "rho": fit.data.rho, "loglik": fit.loglik,
        "lrt_between": fit.lrt["statistic"] if fit.lrt else np.nan,
        "lrt_between_p": fit.lrt["p"] if fit.lrt else np.nan,
    }
    if metric is not None:
        transformed = back_transform([row[name] for name in BACK_TRANSFORMED], metric)
        for prefix, numbers in transformed.items():
            row.update({prefix + suffix: float(value) for suffix, value in zip(BACK_SUFFIXES, numbers)})
    return row


def pooled_table(data: pd.DataFrame, methods=METHODS, tests=("z", "knha"), *, rho: float = 0.0,
                 level: float = 95.0, metric: str | None = None, cluster_robust: bool = True,
                 profile: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """``pooled.csv`` rows of intercept-only three-level models, and notes for the log."""
    notes = []
    skipped = [method for method in methods if method not in METHODS]
    if skipped:
        notes.append(f"dependence = multilevel: {', '.join(skipped)} not defined for three-level models "
                     "(rma.mv fits REML and ML only); no rows written for them")
    if "knha" in tests:
        notes.append("dependence = multilevel: rma.mv has no Knapp-Hartung test; test 't' (k - p df) written instead")
    rows = []
    if len(data) == 0:
        from alliance_meta.models.univariate import empty_frame

        base = list(empty_frame(None).columns)
        columns = base + list(MULTILEVEL_COLUMNS) + [c for c in empty_frame(metric).columns if c not in base]
        return pd.DataFrame(columns=columns), notes + ["no effect sizes: header only"]
    yi, vi, study = _arrays(data)
    prepared = multilevel.prepare(yi, vi, study, rho=rho)
    for method in [m for m in METHODS if m in methods]:
        fit = multilevel.fit_prepared(prepared, method=method, level=level, profile=profile)
        if "z" in tests:
            rows.append(_row(fit, "z", fit.beta[0], fit.se[0], math.inf, metric))
        if "knha" in tests or "t" in tests:
            rows.append(_row(fit, "t", fit.beta[0], fit.se[0], fit.df if fit.test == "t" else float(fit.k - 1), metric))
        if cluster_robust:
            if fit.n_studies < 2:
                notes.append(f"{method}: CR2 needs at least 2 studies; no cr2 row")
                continue
            table = robust.cr2(fit).coef_test()
            rows.append(_row(fit, "cr2", fit.beta[0], float(table.se[0]), float(table.df[0]), metric,
                             note="CR2 (clubSandwich) standard error, Satterthwaite t df"))
    return pd.DataFrame(rows), notes


def _design(data: pd.DataFrame, moderator: str, continuous: bool = False, reference_level=None,
            centre: bool = False):
    """Rows with a value, model matrix and term names of the aggregated analysis
    (:func:`alliance_meta.analyses.moderators.usable_rows`, :func:`alliance_meta.engines.design.build_design`):
    the same reference level (configured, else the most frequent), centring and names."""
    numeric = (moderator,) if continuous else ()
    usable = usable_rows(data, (moderator,), numeric).reset_index(drop=True)
    references = {moderator: reference_level} if reference_level is not None else None
    design = build_design(usable, moderator, numeric, references, centre)
    return usable, design.matrix, list(design.columns)


def _moderator_fits(data, moderator, continuous, rho, method, level, reference_level=None, centre=False):
    usable, X, names = _design(data, moderator, continuous, reference_level, centre)
    if X.shape[1] < 2 or len(usable) <= X.shape[1] or usable["study_id"].nunique() < 2:
        return None
    yi, vi, study = _arrays(usable)
    prepared = multilevel.prepare(yi, vi, study, X, rho=rho, names=names)
    common = dict(method=method, level=level, profile=False, likelihood_ratio=False)
    return (multilevel.fit_prepared(prepared, test="z", **common), multilevel.fit_prepared(prepared, test="t", **common),
            multilevel.fit_prepared(multilevel.prepare(yi, vi, study, rho=rho), **common))


def moderator_row(data: pd.DataFrame, moderator: str, *, continuous: bool = False, rho: float = 0.0,
                  method: str = "REML", level: float = 95.0, reference_level=None, centre: bool = False) -> dict:
    """moderators.csv columns for a three-level mixed-effects model; ``r2`` is the percentage
    drop in sigma2_between + sigma2_within from the intercept-only model (floored at 0)."""
    fits = _moderator_fits(data, moderator, continuous, rho, method, level, reference_level, centre)
    row = {"moderator": moderator, "model": "multilevel"}
    if fits is None:
        return row | {"k": int(data[moderator].notna().sum()), "note": "too few studies or levels"}
    wald, t_fit, null = fits
    total, total_null = float(np.sum(wald.sigma2)), float(np.sum(null.sigma2))
    htz = robust.cr2(wald).wald_test()
    return row | {
        "k": wald.k, "n_studies": wald.n_studies, "qm": wald.qm, "qm_df": wald.qm_df[0], "qm_p": wald.qm_p,
        "f": t_fit.qm, "f_df1": t_fit.qm_df[0], "f_df2": t_fit.qm_df[1], "f_p": t_fit.qm_p,
        "tau2": total, "r2": 100 * max(0.0, (total_null - total) / total_null) if total_null > 0 else 0.0,
        "qe": wald.qe, "qe_p": wald.qe_p, "sigma2_between": wald.sigma2[0], "sigma2_within": wald.sigma2[1],
        "converged": all(fit.converged for fit in fits),
        "cr2_f": htz["f"], "cr2_df1": htz["df_num"], "cr2_df2": htz["df_denom"], "cr2_p": htz["p"],
    }


def moderator_coefficients(data: pd.DataFrame, moderator: str, *, continuous: bool = False, rho: float = 0.0,
                           method: str = "REML", level: float = 95.0, reference_level=None,
                           centre: bool = False) -> pd.DataFrame:
    """meta_regression.csv-style rows: each coefficient with Wald z and CR2 Satterthwaite t."""
    fits = _moderator_fits(data, moderator, continuous, rho, method, level, reference_level, centre)
    if fits is None:
        return pd.DataFrame()
    wald = fits[0]
    table = wald.coefficients()
    robust_table = robust.cr2(wald).coef_test()
    for column in ("se", "statistic", "df", "p", "ci_lower", "ci_upper"):
        table[f"cr2_{column}"] = robust_table[column].to_numpy()
    table.insert(0, "model", f"multilevel: {moderator}")
    return table


def egger_row(data: pd.DataFrame, *, rho: float = 0.0, method: str = "REML", level: float = 95.0) -> dict:
    """``egger_multilevel``: the sqrt(vi) slope of a three-level model with a CR2 Satterthwaite
    t test (statistic, p, df); ``estimate`` is the intercept (the effect at se = 0) with its
    CR2 se and t interval. Fields of :class:`alliance_meta.analyses.bias.BiasTest`."""
    row = {"test": "egger_multilevel", "statistic": np.nan}
    if data["study_id"].nunique() < 3:
        return row | {"note": "needs at least 3 studies"}
    yi, vi, study = _arrays(data)
    X = np.column_stack([np.ones(yi.size), np.sqrt(vi)])
    fit = multilevel.fit(yi, vi, study, X, method=method, level=level, rho=rho, names=["intrcpt", "sei"],
                         profile=False, likelihood_ratio=False)
    table = robust.cr2(fit).coef_test()
    return row | {"statistic": float(table.statistic[1]), "p": float(table.p[1]), "df": float(table.df[1]),
                  "estimate": float(fit.beta[0]), "se": float(table.se[0]),
                  "ci_lower": float(table.ci_lower[0]), "ci_upper": float(table.ci_upper[0]),
                  "note": f"three-level {method} model (rho = {rho}), sqrt(vi) moderator, CR2 Satterthwaite t"}


def bias_rows(data: pd.DataFrame, metric: str | None = None, *, rho: float = 0.0, method: str = "REML",
              level: float = 95.0) -> pd.DataFrame:
    """bias.csv rows of the multilevel tests (:func:`egger_row`), in the bias table's layout."""
    from alliance_meta.analyses.bias import BiasTest, bias_frame

    return bias_frame([BiasTest(**egger_row(data, rho=rho, method=method, level=level))], metric)


def add_moderator_columns(summary: pd.DataFrame, effect_sizes: pd.DataFrame, continuous=(), *, rho: float = 0.0,
                          method: str = "REML", level: float = 95.0, reference_levels=None,
                          centre: bool = False) -> pd.DataFrame:
    """``summary`` (one row per moderator, column ``moderator``) with :func:`moderator_row`'s
    numbers beside it as ``multilevel_*`` columns."""
    if summary.empty or "moderator" not in summary:
        return summary
    references = reference_levels or {}
    rows = [moderator_row(effect_sizes, name, continuous=name in continuous, rho=rho, method=method, level=level,
                          reference_level=references.get(name), centre=centre) for name in summary["moderator"]]
    extra = pd.DataFrame(rows).drop(columns=["model"]).add_prefix("multilevel_")
    return pd.concat([summary.reset_index(drop=True), extra.drop(columns=["multilevel_moderator"])], axis=1)


def coefficient_rows(effect_sizes: pd.DataFrame, moderators, continuous=(), *, rho: float = 0.0,
                     method: str = "REML", level: float = 95.0, reference_levels=None,
                     centre: bool = False) -> pd.DataFrame:
    """:func:`moderator_coefficients` of every moderator, stacked (model ``multilevel: <name>``)."""
    references = reference_levels or {}
    tables = [moderator_coefficients(effect_sizes, name, continuous=name in continuous, rho=rho, method=method,
                                     level=level, reference_level=references.get(name), centre=centre)
              for name in moderators]
    tables = [table for table in tables if len(table)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
