"""The result of an analysis of a fit: a table, notes for the log, and the details behind them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from alliance_meta.engines.transforms import back_transform
from alliance_meta.wording import counted


@dataclass(frozen=True, repr=False, eq=False)  # identity: tables do not compare
class AnalysisResult:
    """``to_frame()`` gives the analysis' table (the CSV the pipeline writes); ``details`` holds
    the computation behind it (e.g. the influence diagnostics a plot needs); ``notes`` what the
    log and the report should say."""

    name: str
    table: pd.DataFrame
    notes: tuple[str, ...] = ()
    details: object = field(default=None)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        notes = f"; {'; '.join(self.notes)}" if self.notes else ""
        return f"<{self.name}: {counted(len(self.table), 'row')}{notes}>"

    def _repr_html_(self) -> str:  # notebooks show the table
        return self.table._repr_html_()


def univariate_model_note(fit, what: str) -> tuple[str, ...]:
    """The note of an analysis that fits univariate (``rma.uni``) models to a three-level fit's effect sizes,
    aggregated within study (and the analysis' variables) with the fit's ``rho``; () for a univariate fit."""
    from alliance_meta.models.fits import MultilevelFit

    if not isinstance(fit, MultilevelFit):
        return ()
    return (f"three-level fit: {what} fits univariate models to the effect sizes aggregated within study (and "
            f"the model's variables; rho = {fit.rho:g}); the three-level model is not refitted",)


def with_back_transform(frame: pd.DataFrame, metric: str | None) -> pd.DataFrame:
    """``frame`` with its ``estimate``, ``ci_lower`` and ``ci_upper`` also on the scales readers know
    (:func:`alliance_meta.engines.transforms.back_transform`, in its order of scales), each scale's three columns
    together, as in pooled.csv: ``r``, ``r_ci_lower``, ``r_ci_upper``, then ``or``, ``or_ci_lower``, ``or_ci_upper``
    for SMDs. Also on a header-only frame (the same columns as with rows); ``metric`` None adds none."""
    if metric is None:
        return frame
    scales = {name: back_transform(frame[name].to_numpy(float), metric) for name in ("estimate", "ci_lower", "ci_upper")}
    for prefix in scales["estimate"]:
        for name, values in scales.items():
            frame[prefix if name == "estimate" else f"{prefix}_{name}"] = values[prefix]
    return frame
