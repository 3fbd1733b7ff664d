"""Inputs as functions: a validated sheet (:func:`read_sheet`) and its effect sizes (:func:`effect_sizes`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from alliance_meta.inputs.effect_sizes import DEFAULT_METRIC_BY_FAMILY, convert
from alliance_meta.inputs.sheet import API_WORDING, SheetError, format_problems, reworded, validate_sheet, worded
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
    The typed sheet (``sheet_row`` first, numbers as floats, coded columns spelled canonically);
    ``attrs["notes"]`` says how it was read (e.g. which worksheet) and what was converted.

    Raises
    ------
    SheetProblems
        listing every problem at once (row, column, value, rule), or why the file cannot be read.
    """
    if not isinstance(path, (str, Path)):  # pathlib's "expected str, bytes or os.PathLike object, not DataFrame"
        raise TypeError(f"am.read_sheet reads the sheet's file: give its path (.csv or .xlsx), not a "
                        f"{type(path).__name__}" + (" (a frame in hand: write it with frame.to_csv(path, index=False) "
                                                    "and read that, so that every cell is checked as written)"
                                                    if isinstance(path, pd.DataFrame) else ""))
    # one name is one column (one formula), not its letters: moderators="rater" checked a, e, r, t
    moderators, continuous_moderators, meta_regression = (
        (names,) if isinstance(names, str) else names for names in (moderators, continuous_moderators, meta_regression))
    for argument, names in (("moderators", moderators), ("continuous_moderators", continuous_moderators),
                            ("meta_regression", meta_regression)):
        if names is None or not all(isinstance(name, str) for name in _iterable(names)):
            raise TypeError(f"am.read_sheet: {argument} takes column names (a name or a list of names), "
                            f"not {names!r}")
    try:
        raw = read_cells(path, **reading)
    except SheetError as error:
        raise SheetProblems(worded(str(error), API_WORDING)) from None
    clean, problems = validate_sheet(raw, moderators=moderators, continuous_moderators=continuous_moderators,
                                     meta_regression=meta_regression, risk_of_bias=risk_of_bias)
    if problems:
        problems = reworded(problems, API_WORDING)
        raise SheetProblems(worded(format_problems(problems, str(path)), API_WORDING), problems)
    clean.attrs["notes"] = [worded(note, API_WORDING) for note in [*raw.attrs.get("notes", []), *clean.attrs["notes"]]]
    return clean


def _iterable(names) -> tuple:
    try:
        return tuple(names)
    except TypeError:
        return (None,)


def effect_sizes(sheet: pd.DataFrame, metric: dict[str, str] | None = None) -> pd.DataFrame:
    """Every row of a sheet as an effect size in its family's analysis metric (``effect_sizes.csv``).

    ``metric`` maps families to metrics (default ``{"outcome": "z", "dropout": "smd"}``). Rows
    without a complete input keep ``yi = vi = NaN``; :func:`alliance_meta.fit` needs them dropped
    (``frame.dropna(subset=["yi", "vi"])``) and one family at a time.
    """
    if not isinstance(sheet, pd.DataFrame):
        raise TypeError(f"am.effect_sizes takes the sheet as a DataFrame (am.read_sheet(path)), not "
                        f"{type(sheet).__name__}")
    if metric is not None and not isinstance(metric, Mapping):
        raise TypeError(f"am.effect_sizes: metric maps each family to its metric, e.g. {{'outcome': 'z', "
                        f"'dropout': 'log_or'}}, not {metric!r}")
    unknown = [str(family) for family in (metric or {}) if family not in DEFAULT_METRIC_BY_FAMILY]
    if unknown:  # else the family's default metric would be used without a word
        raise ValueError(f"am.effect_sizes: metric has unknown famil{'ies' if len(unknown) > 1 else 'y'} "
                         f"{', '.join(map(repr, unknown))}; the families are {', '.join(DEFAULT_METRIC_BY_FAMILY)}")
    return convert(sheet, {**DEFAULT_METRIC_BY_FAMILY, **(metric or {})})
