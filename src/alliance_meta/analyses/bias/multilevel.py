"""Egger's test in the three-level model (``egger_multilevel`` row of ``bias.csv``).

Egger's regression with sqrt(vi) as moderator of the three-level model and a CR2 t test
(Rodgers & Pustejovsky 2021, *Psychol Methods* 26, 141-160).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance_meta.analyses.bias.results import BiasTest, all_equal, bias_frame
from alliance_meta.engines import robust
from alliance_meta.models import multilevel


def _arrays(data: pd.DataFrame):
    return data["yi"].to_numpy(float), data["vi"].to_numpy(float), data["study_id"].astype(str).to_numpy()


def egger_row(data: pd.DataFrame, *, rho: float = 0.0, method: str = "REML", level: float = 95.0) -> dict:
    """``egger_multilevel``: the sqrt(vi) slope of a three-level model with a CR2 Satterthwaite
    t test (statistic, p, df); ``estimate`` is the intercept (the effect at se = 0) with its
    CR2 se and t interval. Fields of :class:`alliance_meta.analyses.bias.BiasTest`."""
    row = {"test": "egger_multilevel", "statistic": np.nan}
    if data["study_id"].nunique() < 3:
        return row | {"note": "not estimable: the test needs at least 3 studies"}
    yi, vi, study = _arrays(data)
    if all_equal(vi):
        return row | {"note": "not estimable: every effect size has the same sampling variance, so the "
                              "regression on the standard error is undefined"}
    X = np.column_stack([np.ones(yi.size), np.sqrt(vi)])
    try:
        fit = multilevel.fit(yi, vi, study, X, method=method, level=level, rho=rho, names=["intrcpt", "sei"],
                             profile=False, likelihood_ratio=False)
        table = robust.cr2(fit).coef_test()
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError) as error:
        return row | {"note": f"not estimable: {error}"}
    df = float(table.df[1])
    small = f"; df < {robust.SMALL_DF}: do not trust the p value (Tipton 2015)" if df < robust.SMALL_DF else ""
    return row | {"statistic": float(table.statistic[1]), "p": float(table.p[1]), "df": df,
                  "estimate": float(fit.beta[0]), "se": float(table.se[0]),
                  "ci_lower": float(table.ci_lower[0]), "ci_upper": float(table.ci_upper[0]),
                  "note": f"three-level {method} model (rho = {rho}), sqrt(vi) moderator, CR2 Satterthwaite t{small}"}


def bias_rows(data: pd.DataFrame, metric: str | None = None, *, rho: float = 0.0, method: str = "REML",
              level: float = 95.0) -> pd.DataFrame:
    """bias.csv rows of the multilevel tests (:func:`egger_row`), in the bias table's layout."""
    return bias_frame([BiasTest(**egger_row(data, rho=rho, method=method, level=level))], metric)


