"""Sensitivity analyses of a fit: leave-one-out, influence diagnostics, cumulative meta-analysis.

Each function takes a fit and dispatches on its type, as metafor's ``leave1out.rma.uni`` /
``cooks.distance.rma.mv``: a univariate fit deletes and adds single (composite) studies
(:mod:`.univariate`); a three-level fit deletes and adds whole studies, all their effect sizes,
and refits the three-level model (:mod:`.multilevel`).

Small families follow metafor 3.8-1. With 2 studies every table has its rows: each deletion fit
is a fit of the other study alone (``rma.uni`` with k = 1: tau^2 = 0, Q = 0, I^2 = 0, H^2 = 1, the
z test in place of Knapp-Hartung; three-level: sigma2_between fixed to 0, or no fit when that
study has one effect size). With one study ``leave1out`` and ``influence`` stop ("Stopped
because k = 1."): the leave-one-out and influence tables are empty and the notes say why, while
``cumul`` fits its one step.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.analyses.results import AnalysisResult
from alliance_meta.analyses.sensitivity import multilevel, univariate
from alliance_meta.inputs.options import keywords_checked
from alliance_meta.models.fits import Fit, MultilevelFit, require_fit

#: leave-one-out and influence need 2 studies (metafor's leave1out and influence stop at k = 1);
#: cumulative needs 1
MINIMUM_STUDIES = 2


@dataclass(frozen=True, repr=False, eq=False)
class Sensitivity:
    """All three sensitivity tables of one fit and the diagnostics behind them (None with < 2 studies)."""

    fit: Fit
    leave_one_out: pd.DataFrame
    influence: pd.DataFrame
    cumulative: pd.DataFrame
    details: object | None
    notes: tuple[str, ...]

    @property
    def n_studies(self) -> int:
        return int(self.fit.data["study_id"].nunique())

    @property
    def influential(self) -> list[str]:
        """Studies flagged by metafor's rules (``inf`` of ``influence``; Cook's D / DFBETAS for rma.mv)."""
        if self.details is None:
            return []
        if isinstance(self.fit, MultilevelFit):
            return list(self.influence["study_id"].astype(str)[self.influence["influential"].astype(bool)])
        return list(np.asarray(self.fit.data["study_id"].astype(str))[self.details.influential])

    def deletion_messages(self) -> list[tuple[str, str]]:
        """``(level, text)`` for the log of each leave-one-out refit without a fit: "info" for a deletion
        that leaves one effect size (no three-level model, as metafor), "warning" for one that did not
        converge."""
        from alliance_meta.analyses.sensitivity.multilevel import NOT_FITTED

        messages = []
        for row in self.leave_one_out.itertuples():
            if getattr(row, "converged", True):
                continue
            if row.note == NOT_FITTED:
                messages.append(("info", f"leave-one-out without {row.study_id}: not fitted ({row.note})"))
            else:
                messages.append(("warning", f"leave-one-out without {row.study_id} did not converge: {row.note}"))
        return messages

    def to_frame(self) -> pd.DataFrame:
        return self.leave_one_out.copy()

    def __repr__(self) -> str:
        studies = "1 study" if self.n_studies == 1 else f"{self.n_studies} studies"
        influential = len(self.influential)  # counted, then named: "influential: 46" read as a count of studies
        named = f"{influential} ({', '.join(map(str, self.influential))})" if influential else "none"
        return f"<Sensitivity ({self.fit.kind}): {studies}, influential: {named}>"


def _order(fit: Fit, order) -> np.ndarray | None:
    """A cumulative order: a column name, values per row of ``fit.data`` (a Series whose labels are the rows'
    in another order is matched by label or position as :func:`_aligned` tells, another sequence by position), or None (year, else data order)."""
    if order is None:
        return fit.data["year"].to_numpy() if "year" in fit.data else None
    if isinstance(order, str):
        if order not in fit.data:
            close = difflib.get_close_matches(order, [str(column) for column in fit.data.columns], n=1, cutoff=0.6)
            raise ValueError(f"cumulative: no column {order!r} to order by"
                             + (f"; did you mean {close[0]!r}?" if close else ""))
        return fit.data[order].to_numpy()
    if isinstance(order, pd.Series) and order.index.is_unique and not order.index.equals(fit.data.index) \
            and set(order.index) == set(fit.data.index):  # the fit's rows by label (a sorted Series), not position
        order = _aligned(fit, order)
    if isinstance(order, (pd.Series, pd.Index)):
        order = order.to_numpy()
    order = np.asarray(order, dtype=object if not isinstance(order, np.ndarray) else None)
    if order.ndim != 1 or order.size != len(fit.data):
        column = order.size == 1 and isinstance(order.flat[0], str) and order.flat[0] in fit.data
        raise ValueError(f"cumulative: order has {order.size} values for {len(fit.data)} rows"
                         + (f" (a column is named on its own: order={order.flat[0]!r})" if column else ""))
    return order


def _aligned(fit: Fit, order: pd.Series) -> pd.Series:
    """A Series whose labels are the fit's row labels in another order. The fit numbers its rows 0, 1, ... afresh
    (a frame sorted or filtered before am.fit keeps its old labels, which are not the fit's): the labels are taken
    as the fit's where that gives the fit's own column of the Series' name (``frame["year"].sort_values()``) and
    the positions where they do (``rows["year"]`` of the sorted ``rows`` fitted); otherwise the pairing is
    not known, and is asked for."""
    by_label = order.reindex(fit.data.index)
    column = fit.data[order.name] if isinstance(order.name, str) and order.name in fit.data else None

    def same(values) -> bool:
        return column is not None and pd.Series(np.asarray(values, dtype=object)).equals(
            pd.Series(column.to_numpy(dtype=object)))

    if same(by_label.to_numpy()):
        return by_label
    if same(order.to_numpy()):
        return order
    raise ValueError("cumulative: order is a Series whose labels are the fit's row numbers in another order, but "
                     "the fit numbers its rows 0, 1, ... afresh (a frame sorted or filtered before am.fit keeps "
                     "its old labels): give a column name of fit.data, or the values in the order of fit.data's "
                     "rows (order.to_numpy() of the frame fitted, or values.reindex(fit.data.index))")


def sort_key(values) -> tuple[np.ndarray, dict]:
    """Numbers that sort as ``values`` sort (R's ``order``): the values as numbers when they are numbers,
    else the rank of each text among the distinct texts (code-point order), missing (None, NaN) as NaN
    (last); and the map from a text's rank back to the text (empty for numbers)."""
    try:
        return np.asarray(values, dtype=float), {}
    except (TypeError, ValueError):
        pass
    values = np.asarray(values, dtype=object)
    missing = np.array([v is None or (not isinstance(v, str) and bool(pd.isna(v))) for v in values], dtype=bool)
    texts = [str(v) for v in values]
    ranks = {text: float(rank) for rank, text in enumerate(sorted(set(np.asarray(texts, dtype=object)[~missing])))}
    key = np.array([np.nan if gone else ranks[text] for text, gone in zip(texts, missing)], dtype=float)
    return key, {rank: text for text, rank in ranks.items()}


@keywords_checked
def sensitivity(fit: Fit, order=None) -> Sensitivity:
    """Leave-one-out, influence and cumulative tables of ``fit``; with one study the leave-one-out and
    influence tables are empty (metafor's ``leave1out`` and ``influence`` stop at k = 1)."""
    require_fit(fit, "am.sensitivity (and am.leave_one_out, am.influence, am.cumulative)")
    data = fit.data
    if order is None and "year" in data and not pd.api.types.is_numeric_dtype(data["year"]):
        order = "year"  # a frame's year of texts ("in press", unchecked by am.read_sheet): sorted as R's order does
    if isinstance(fit, MultilevelFit):
        notes = (f"three-level {fit.method} refits (rho = {fit.rho:g}), one study (all its effect sizes) deleted "
                 "or added at a time; influence.csv has Cook's distance and DFBETAS by study "
                 "(metafor's cooks.distance/dfbetas.rma.mv, cluster = study)",)
        key, texts = sort_key(_order(fit, order)) if order is not None else (None, {})
        ordered = data if order is None else data.assign(year=key)
        tables = multilevel.sensitivity_tables(ordered, fit.method, fit.metric, fit.level, float(fit.rho), fit.test)
        if texts and "year" in tables[2]:  # the order's texts, not their ranks
            tables[2]["year"] = tables[2]["year"].map(texts)
        if order is not None and not (isinstance(order, str) and order == "year") and "year" in tables[2]:
            # the column is named by what it holds (not a second study_id or k: then "order")
            name = order if isinstance(order, str) and order not in tables[2] else "order"
            tables = (*tables[:2], tables[2].rename(columns={"year": name}), *tables[3:])
    else:
        notes = ()  # every refit with the fit's test (z, knha or adhoc), as metafor's leave1out, influence, cumul
        ordered = data if order is None else data.assign(year=sort_key(_order(fit, order))[0])
        tables = univariate.sensitivity_tables(ordered, fit.method, fit.metric, fit.level, fit.test, fit.weights,
                                               fit.control)
    leave_one_out, influence_table, cumulative_table, details = tables
    multilevel_fit = isinstance(fit, MultilevelFit)
    notes += small_family_notes(data["study_id"].nunique() if multilevel_fit else len(data), multilevel_fit)
    if not multilevel_fit:  # a three-level refit without a fit says why in its row's note (deletion_messages)
        notes += not_fitted_notes(fit, leave_one_out)
    elif fit.n_studies == fit.k > 1:  # so are the refits': their sigma2 columns split tau2 arbitrarily
        notes += (f"in the fit and its refits, {fit.one_level_note}",)
    return Sensitivity(fit, leave_one_out, influence_table, cumulative_table, details, notes)


def not_fitted_notes(fit: Fit, leave_one_out: pd.DataFrame) -> tuple[str, ...]:
    """Why rows of the univariate leave-one-out and influence tables are NaN: the full fit's tau^2 or a
    deletion's did not converge (nothing when every refit has an estimate)."""
    notes = ()
    if not np.isfinite(fit.tau2):
        notes += (f"the fit's tau^2 ({fit.method}) did not converge: the influence diagnostics, which compare "
                  "each deletion with it, are NaN",)
    missing = leave_one_out["study_id"].astype(str)[~np.isfinite(leave_one_out["estimate"].to_numpy(float))]
    if len(missing):
        notes += (f"leave-one-out without study {', '.join(missing)}: tau^2 ({fit.method}) did not converge, "
                  f"so {'that refit has' if len(missing) == 1 else 'those refits have'} no estimate (NaN rows "
                  "in leave_one_out.csv and influence.csv)",)
    return notes


def small_family_notes(n_studies: int, multilevel: bool = False) -> tuple[str, ...]:
    """What the tables of a family with fewer than 3 studies hold, and why (nothing at 3 or more)."""
    if n_studies >= 3:
        return ()
    if n_studies == 2:
        if multilevel:
            return ("2 studies: each leave-one-out fit is the other study alone (sigma2_between fixed to 0; "
                    "not fitted when that study has one effect size)",)
        return ("2 studies: each leave-one-out fit is the other study alone (as metafor's rma.uni with k = 1: "
                "tau^2 = 0, Q = 0, I^2 = 0, H^2 = 1, z test)",)
    if n_studies == 1:
        return (f"1 study: leave-one-out and influence diagnostics need at least {MINIMUM_STUDIES} studies "
                "(deleting the only study leaves no data; metafor's leave1out and influence stop at k = 1); "
                "the cumulative table has its one step",)
    return ("0 studies: no sensitivity analyses",)


@keywords_checked
def leave_one_out(fit: Fit) -> AnalysisResult:
    """The model refitted without each study (metafor's ``leave1out``); ``leave_one_out.csv``."""
    result = sensitivity(fit)
    return AnalysisResult("leave_one_out", result.leave_one_out, result.notes, result.details)


@keywords_checked
def influence(fit: Fit) -> AnalysisResult:
    """Case-deletion diagnostics (metafor's ``influence`` / ``cooks.distance.rma.mv``); ``influence.csv``."""
    result = sensitivity(fit)
    return AnalysisResult("influence", result.influence, result.notes, result.details)


@keywords_checked
def cumulative(fit: Fit, order=None) -> AnalysisResult:
    """Cumulative meta-analysis (metafor's ``cumul``) by ``order`` (a column, values, or year by default);
    numbers or texts, ties in data order, missing last (R's ``order``)."""
    result = sensitivity(fit, order)
    return AnalysisResult("cumulative", result.cumulative, result.notes, result.details)
