"""Moderators of a three-level model: each moderator's omnibus test and coefficients.

:func:`moderator_row` / :func:`moderator_coefficients` fit the three-level mixed-effects model
(``rma.mv(yi, V, mods = ~ moderator, random = ~ 1 | study_id / es_id)``) on the effect sizes
with a value of the moderator, coded as the aggregated analysis codes it
(:func:`alliance_meta.engines.design.build_design`), with Wald, t (k - p df) and CR2 HTZ tests
(Pustejovsky & Tipton 2018, J Bus Econ Stat 36, 672-683). The sampling errors of one study
are compound-symmetric with ``rho`` (Pustejovsky & Tipton 2022).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance_meta.analyses.model_comparison import vif_table
from alliance_meta.analyses.moderators.univariate import not_estimable_reason, usable_rows
from alliance_meta.engines import robust
from alliance_meta.engines.design import build_design, column_term
from alliance_meta.models import multilevel


def _arrays(data: pd.DataFrame):
    return data["yi"].to_numpy(float), data["vi"].to_numpy(float), data["study_id"].astype(str).to_numpy()


def _design(data: pd.DataFrame, moderator: str, continuous: bool = False, reference_level=None,
            centre: bool = False):
    """Rows with a value, model matrix and term names of the aggregated analysis
    (:func:`alliance_meta.analyses.moderators.usable_rows`, :func:`alliance_meta.engines.design.build_design`):
    the same reference level (configured, else the most frequent), centring and names."""
    numeric = (moderator,) if continuous else ()
    usable = usable_rows(data, (moderator,), numeric).reset_index(drop=True)
    if len(usable) < 2:  # e.g. a moderator with no value in this family: no model (moderator_row says why)
        return usable, np.ones((len(usable), 1)), ["intercept"]
    references = {moderator: reference_level} if reference_level is not None else None
    design = build_design(usable, column_term(moderator), numeric, references, centre)
    return usable, design.matrix, list(design.columns)


#: moderators.csv's multilevel_note of a model (with the moderator or without it, for R^2) that did not converge
NOT_CONVERGED = "the likelihood maximisation of sigma2 did not converge (model with or without the moderator)"
#: moderators.csv's note where the moderator's levels only tell studies apart (each study at a level of its own)
CONFOUNDED = ("not estimable: each study is at a level of the moderator of its own, so the between-study variance "
              "cannot be told apart from the moderator's effect (the REML likelihood is flat in it and the tests "
              "depend on an arbitrary value)")


def _confounded(usable: pd.DataFrame, X: np.ndarray) -> bool:
    """Whether the model matrix spans every study's indicator (e.g. two studies at two levels of a study-level
    moderator): then sigma2_between is not identified beside the coefficients (Z_study in the column space of X)."""
    studies = usable["study_id"].astype(str).to_numpy()
    Z = (studies[:, None] == np.unique(studies)[None, :]).astype(float)
    return np.linalg.matrix_rank(np.column_stack([X, Z])) == np.linalg.matrix_rank(X)


def _confounded_rows(data, moderator, continuous, reference_level=None, centre=False) -> bool:
    usable, X, _ = _design(data, moderator, continuous, reference_level, centre)
    return X.shape[1] >= 2 and len(usable) > X.shape[1] and _confounded(usable, X)


def _moderator_fits(data, moderator, continuous, rho, method, level, reference_level=None, centre=False):
    usable, X, names = _design(data, moderator, continuous, reference_level, centre)
    if X.shape[1] < 2 or len(usable) <= X.shape[1] or usable["study_id"].nunique() < 2 or _confounded(usable, X):
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
        usable = usable_rows(data, (moderator,), (moderator,) if continuous else ())
        reason = (not_estimable_reason(usable, [moderator], len(data) - len(usable))
                  if len(usable) == 0 or usable[moderator].nunique() <= 1
                  else CONFOUNDED if _confounded_rows(data, moderator, continuous, reference_level, centre)
                  else "too few studies or levels")
        return row | {"k": int(data[moderator].notna().sum()), "note": reason}
    wald, t_fit, null = fits
    total, total_null = float(np.sum(wald.sigma2)), float(np.sum(null.sigma2))
    note = ""
    try:
        htz = robust.cr2(wald).wald_test()
    except np.linalg.LinAlgError:  # e.g. identical effect sizes: the robust covariance is singular
        htz = {"f": np.nan, "df_num": np.nan, "df_denom": np.nan, "p": np.nan}
        note = "CR2 test not estimable: the cluster-robust covariance is singular"
    if not note and not np.isfinite(htz["p"]):
        note = "CR2 test not estimable: its small-sample degrees of freedom are undefined (too few studies per level)"
    converged = all(fit.converged for fit in fits)
    if not converged:  # said as pooled.csv says it of the main model, not only in the converged column
        note = "; ".join(filter(None, [NOT_CONVERGED, note]))
    return row | {
        "k": wald.k, "n_studies": wald.n_studies, "qm": wald.qm, "qm_df": wald.qm_df[0], "qm_p": wald.qm_p,
        "f": t_fit.qm, "f_df1": t_fit.qm_df[0], "f_df2": t_fit.qm_df[1], "f_p": t_fit.qm_p,
        "tau2": total, "r2": 100 * max(0.0, (total_null - total) / total_null) if total_null > 0 else 0.0,
        "tau2_null": total_null,
        "qe": wald.qe, "qe_p": wald.qe_p, "sigma2_between": wald.sigma2[0], "sigma2_within": wald.sigma2[1],
        "converged": converged,
        "cr2_f": htz["f"], "cr2_df1": htz["df_num"], "cr2_df2": htz["df_denom"], "cr2_p": htz["p"],
        **({"note": note} if note else {}),
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
    vif = vif_table(wald.vcov, list(wald.data.names)).set_index("term")["vif"] if wald.data.p > 1 else {}
    table.insert(table.columns.get_loc("ci_upper") + 1, "vif", table["term"].map(vif).astype(float))
    robust_table = robust.cr2(wald).coef_test()
    for column in ("se", "statistic", "df", "p", "ci_lower", "ci_upper"):
        table[f"cr2_{column}"] = robust_table[column].to_numpy()
    # the columns of the other rows of meta_regression.csv: Wald z as z, the model's effect sizes and studies
    table = table.rename(columns={"statistic": "z"})
    table.insert(0, "model", f"multilevel: {moderator}")
    table.insert(2, "k", wald.k)
    table["n_studies"] = wald.n_studies
    return table


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
