"""Inputs as functions: a validated sheet (:func:`read_sheet`) and its effect sizes (:func:`effect_sizes`)."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from alliance_meta.inputs.codebook import CODEBOOK_COLUMNS, INPUT_COLUMNS, INPUT_KINDS
from alliance_meta.inputs.effect_sizes import DEFAULT_METRIC_BY_FAMILY, convert, notebook_frame, row_names
from alliance_meta.inputs.options import caller_stacklevel, keywords_checked, unknown_keywords
from alliance_meta.inputs.sheet import (API_WORDING, FIRST_DATA_ROW, SHEET_ROW, SheetError, column_key,
                                        format_problems, passes_column_checks, reworded, validate_sheet,
                                        worded)
from alliance_meta.inputs.sheet import read_sheet as read_cells
from alliance_meta.wording import did_you_mean


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
    reader = [name for name, parameter in inspect.signature(read_cells).parameters.items()
              if parameter.kind is parameter.KEYWORD_ONLY]  # sheet_name, decimal
    unknown = [key for key in reading if key not in reader]
    if unknown:  # not the reader's bare TypeError, which named neither this function nor the keyword meant
        raise TypeError(unknown_keywords("am.read_sheet()", unknown, ["path", "moderators", "continuous_moderators",
                                                                   "meta_regression", "risk_of_bias", *reader]))
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


@keywords_checked
def effect_sizes(sheet: pd.DataFrame, metric: dict[str, str] | None = None) -> pd.DataFrame:
    """Every row of a sheet as an effect size in its family's analysis metric (``effect_sizes.csv``).

    ``metric`` maps families to metrics (default ``{"outcome": "z", "dropout": "smd"}``). Rows
    without a complete input keep ``yi = vi = NaN``; :func:`alliance_meta.fit` needs them dropped
    (``frame.dropna(subset=["yi", "vi"])``) and one family at a time. A frame :func:`read_sheet` did not check
    (``pd.read_csv``) may hold rows whose input is complete but whose values give no effect size (r = 1.5,
    n = 2) or break a rule of the sheet check (n = 50.5, no whole number): they keep ``yi = vi = NaN`` too, with
    one warning naming each (index, es_id, column, value and the sheet check's rule); a family that is not one
    (``outcom``) is a ValueError naming its rows. A frame of pandas is read as it comes
    (:func:`~alliance_meta.inputs.effect_sizes.notebook_frame`): ``study_id`` as its index, dates in ``year`` (a
    warning names the rows whose year depends on the workbook's date system); a header of two rows, or column names
    in the first row, is a ValueError naming the row of column names.
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
    metric_by_family = {**DEFAULT_METRIC_BY_FAMILY, **(metric or {})}
    sheet = notebook_frame(sheet, "am.effect_sizes", CODEBOOK_COLUMNS)
    _check_columns(sheet)
    _check_families(sheet, metric_by_family)
    converted = convert(sheet, metric_by_family)
    broken = _breaks_column_rules(sheet, converted["input_kind"].to_numpy(dtype=object))
    converted.loc[broken, ["yi", "vi"]] = np.nan  # n = 50.5 converted as if whole: read_sheet refuses the row
    unconverted = converted["yi"].isna().to_numpy() & converted["input_kind"].notna().to_numpy()
    if unconverted.any():  # read_sheet refuses such rows; a frame it never checked kept NaN without a word
        warnings.warn(_unconverted_message(sheet, converted, unconverted), UserWarning, stacklevel=caller_stacklevel())
    unread = converted["input_kind"].isna().to_numpy() & _text_cells(sheet[[c for c in INPUT_COLUMNS if c in sheet]])
    if unread.any():  # "0,3" in r: no complete input, as if the cell were empty; NaN without a word
        warnings.warn(_unconverted_message(sheet, converted, unread, complete=False), UserWarning,
                      stacklevel=caller_stacklevel())
    return converted


def _breaks_column_rules(sheet: pd.DataFrame, kinds) -> np.ndarray:
    """Per row, whether a cell of the input kind it is converted from (``kinds``) breaks a rule the sheet check
    applies to that column alone (:func:`~alliance_meta.inputs.sheet.passes_column_checks`): n = 50.5 (no whole
    number) or n1 = 1 (too small a group) gives finite numbers that :func:`read_sheet` refuses."""
    broken = np.zeros(len(sheet), dtype=bool)
    for kind in INPUT_KINDS:
        rows = kinds == kind.name
        for column in kind.columns if rows.any() else ():
            values = pd.to_numeric(sheet[column].iloc[np.flatnonzero(rows)], errors="coerce")
            broken[rows] |= ~passes_column_checks(column, values)
    return broken


def _text_cells(cells: pd.DataFrame):
    """Per row, whether a cell holds text that is no number (``0,3``, ``< .05``): an input the conversion cannot
    read. A row merely without an input (r left empty) is none."""
    numbers = cells.apply(pd.to_numeric, errors="coerce")
    # an empty or blank text cell ("" from a frame built by hand, " " from a sheet) is an empty cell, not text
    blank = cells.apply(lambda column: column.map(lambda value: isinstance(value, str) and not value.strip()))
    return (cells.notna() & ~blank & numbers.isna()).any(axis=1).to_numpy()


def _check_columns(sheet: pd.DataFrame) -> None:
    """ValueError without a ``study_id`` column or with a column named twice; a UserWarning for a column written as a
    sheet column in other case or spacing (``R``, ``N``, ``Study ID``), which is not read: every row would have no
    effect size without a word. Matched as :func:`read_sheet` matches a header cell
    (:func:`~alliance_meta.inputs.sheet.column_key`)."""
    near = {column_key(column): column for column in CODEBOOK_COLUMNS}
    renamed = {str(name): near[key] for name in sheet.columns
               if name not in CODEBOOK_COLUMNS and (key := column_key(str(name))) in near
               and near[key] not in sheet.columns}
    twice = sorted({str(name) for name in sheet.columns[sheet.columns.duplicated()]})
    if twice:  # convert would read one of them, or stop with pandas' error inside it
        raise ValueError(f"am.effect_sizes: the sheet has {'a column' if len(twice) == 1 else 'columns'} named twice: "
                         f"{', '.join(map(repr, twice))}; keep one of each (frame.loc[:, ~frame.columns.duplicated()] "
                         "keeps the first)")
    if "study_id" not in sheet.columns:
        hint = next((f"; rename {name!r} (frame.rename(columns={{{name!r}: 'study_id'}}))"
                     for name, column in renamed.items() if column == "study_id"), "")
        raise ValueError(f"am.effect_sizes: the sheet needs a study_id column (rows sharing it are one study's "
                         f"effect sizes){hint}")
    if renamed:
        warnings.warn(f"am.effect_sizes: column names are read as written (as config/README.md lists them): "
                      f"{', '.join(map(repr, renamed))} {'is' if len(renamed) == 1 else 'are'} not read; rename "
                      f"{'it' if len(renamed) == 1 else 'them'}: frame.rename(columns={renamed!r})",
                      UserWarning, stacklevel=caller_stacklevel())


def _check_families(sheet: pd.DataFrame, metric_by_family: Mapping[str, str]) -> None:
    """ValueError naming the rows of each ``family`` value that is not a family (a did-you-mean for a near
    spelling), all at once; convert said only ``no analysis metric for family ['outcom']``."""
    if "family" not in sheet:
        return
    family = sheet["family"].to_numpy(dtype=object)
    unknown = [value for value in dict.fromkeys(family) if pd.notna(value) and value not in metric_by_family]
    if unknown:
        named = "; ".join(f"{value!r}{did_you_mean(value, metric_by_family)} on "
                          f"{', '.join(row_names(sheet, [i for i, v in enumerate(family) if v == value]))}"
                          for value in unknown)
        raise ValueError(f"am.effect_sizes: family is one of {', '.join(metric_by_family)} (a missing one: outcome), not "
                         f"{named}")


def _unconverted_message(sheet: pd.DataFrame, converted: pd.DataFrame, unconverted, complete: bool = True) -> str:
    """The warning of :func:`effect_sizes` for rows whose complete input gives no effect size (``complete``), or
    that have no complete input as an effect-size cell holds text that is no number (``0,3`` in r): each row with the
    sheet checks' problems of its effect-size cells (row, column, value, rule; :func:`read_sheet`'s wording)."""
    positions = [i for i, bad in enumerate(unconverted) if bad]
    rows = (sheet[SHEET_ROW].tolist() if SHEET_ROW in sheet else
            list(range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(sheet))))  # the rows validate_sheet names
    position_of = {row: i for i, row in enumerate(rows)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problems = reworded(validate_sheet(sheet)[1], API_WORDING)
    cells = (*INPUT_COLUMNS, "direction", "reverse", "")
    found: dict[int, list[str]] = {i: [] for i in positions}
    for problem in problems:
        i = position_of.get(problem.row)
        if i in found and problem.column in cells:
            where = f", column {problem.column}" if problem.column else ""
            value = f', value "{problem.value}"' if problem.value else ""
            found[i].append(f"{where}{value}: {problem.rule}")
    names = row_names(sheet, positions, converted["es_id"].to_numpy())
    lines = []
    for name, i in zip(names, positions):
        told = found[i] or [f": its {converted['input_kind'].iloc[i]} input gives no finite effect size" if complete
                            else ": has no complete effect-size input"]
        lines += [name + text for text in told]
    count = len(positions)
    what = "a complete effect-size input but no effect size" if complete else "effect-size cells but no complete input"
    return (f"am.effect_sizes: {count} {'row has' if count == 1 else 'rows have'} {what} (yi = vi = NaN; "
            f".dropna(subset=['yi', 'vi']) drops {'it' if count == 1 else 'them'}): "
            + "; ".join(lines) + ". am.read_sheet(path) checks every cell and refuses such rows")
