"""Inputs as functions: a validated sheet (:func:`read_sheet`) and its effect sizes (:func:`effect_sizes`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from alliance_meta.inputs.effect_sizes import DEFAULT_METRIC_BY_FAMILY, convert
from alliance_meta.inputs.sheet import SheetError, format_problems, validate_sheet
from alliance_meta.inputs.sheet import read_sheet as read_cells


class SheetProblems(ValueError):
    """The sheet has problems: ``problems`` lists each (row, column, value, rule); the message all of them."""

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)


def read_sheet(path: str | Path, *, moderators=(), continuous_moderators=(), meta_regression=(),
               risk_of_bias=None, **reading) -> pd.DataFrame:
    """Read and validate a data sheet (``.csv`` or ``.xlsx``; the file is only read).

    Parameters
    ----------
    path : the sheet, one row per effect size (columns as in config/README.md).
    moderators, continuous_moderators, meta_regression : columns the analysis will use; each must
        be in the header (continuous ones hold numbers).
    risk_of_bias : the config's ``risk_of_bias`` block (e.g. ``{"tool": "rob2"}``; default QUIPS),
        the tool of the ``rob_*`` columns.
    **reading : options of the reader (e.g. ``decimal``, ``sheet_name``) where it has them.

    Returns
    -------
    The typed sheet (``sheet_row`` first, numbers as floats, coded columns spelled canonically).

    Raises
    ------
    SheetProblems
        listing every problem at once (row, column, value, rule), or why the file cannot be read.
    """
    try:
        raw = read_cells(path, **reading)
    except SheetError as error:
        raise SheetProblems(str(error)) from None
    clean, problems = validate_sheet(raw, moderators=moderators, continuous_moderators=continuous_moderators,
                                     meta_regression=meta_regression, risk_of_bias=risk_of_bias)
    if problems:
        raise SheetProblems(format_problems(problems, str(path)), problems)
    return clean


def effect_sizes(sheet: pd.DataFrame, metric: dict[str, str] | None = None) -> pd.DataFrame:
    """Every row of a sheet as an effect size in its family's analysis metric (``effect_sizes.csv``).

    ``metric`` maps families to metrics (default ``{"outcome": "z", "dropout": "smd"}``). Rows
    without a complete input keep ``yi = vi = NaN``; :func:`alliance_meta.fit` needs them dropped
    (``frame.dropna(subset=["yi", "vi"])``) and one family at a time.
    """
    return convert(sheet, {**DEFAULT_METRIC_BY_FAMILY, **(metric or {})})
