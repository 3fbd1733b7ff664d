"""Reading and validating the reviewer's data sheet (one row per effect size).

``read_sheet`` reads a CSV (as text; semicolon-separated with decimal commas, as
Excel writes it in German, French or Swiss locales, tab-separated text whose numbers have
decimal commas and no decimal point, or any sheet under ``decimal=","``)
or one worksheet of an XLSX file (cached formula results, dates in the year column
as years, vertically merged cells filled), read-only; the cells it cannot take as they
are (a formula never computed, an error value, a hidden row, a merged header...) are
problems like the others. ``validate_sheet`` checks it against the
codebook (:mod:`alliance_meta.inputs.codebook`, ``config/README.md``) with two
declarative pandera schemas, collected lazily so that every failure is reported at
once:

1. ``TEXT_SCHEMA`` on the cells as written: ``study_id`` filled, numbers in numeric
   columns (and in the configured continuous moderators, :func:`text_schema`), coded
   values inside their vocabularies;
2. ``VALUE_SCHEMA`` on the typed sheet: ranges (r in (-1, 1), p in (0, 1], reliabilities
   ``rxx``, ``ryy`` in (0, 1], ``ux`` > 0, ...),
   sample sizes large enough for the metric, and row-wise rules (a complete
   effect-size input, ``direction`` for unsigned statistics, the odds ratio inside
   its CI, inputs that agree).

An ``es_id`` shared by two rows of one study (a row without one counts as study_id-k, its
place in the study) is a problem on each of those rows.

The moderator columns the config names (``moderators``, ``continuous_moderators``,
the variables of the ``meta_regression`` formulas and ``multiverse.subsets``) must be
in the header; a missing one is a problem of the header row naming the config key and
the closest sheet column.

Each failure becomes a :class:`Problem` with the row number the reviewer sees in a
spreadsheet (header = row 1, first data row = 2). ``python -m alliance_meta.inputs.sheet
SHEET [--moderators a,b] [--continuous c] [--sheet-name NAME] [--decimal ,]`` prints the
report and exits 1, or a summary and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import csv
import datetime
import decimal
import difflib
import functools
import importlib.util
import io
import math
import re
import sys
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from alliance_meta.engines.design import FormulaTermError, build_design, formula_variables, term_variables
from alliance_meta.inputs import codebook
from alliance_meta.inputs.codebook import (
    INPUT_KIND_BY_NAME,
    INPUT_KINDS,
    NUMERIC_COLUMNS,
    VOCABULARIES,
    WHOLE_NUMBER_COLUMNS,
)
from alliance_meta.inputs.planning import levels_present, missing_file_hint
from alliance_meta.inputs.risk_of_bias import (BUILT_IN, OVERALL, TOOL_SETTING, check_risk_of_bias, has_risk_of_bias,
                                               rob_columns)
from alliance_meta.wording import MINUS, plural, rows_phrase

SHEET_ROW = "sheet_row"
HEADER_ROW = 1
FIRST_DATA_ROW = 2
MINIMUM_N = 4
"""Fisher's z has sampling variance 1/(n - 3) (Borenstein et al. 2009, eq. 6.3): n > 3."""
MINIMUM_GROUP_SIZE = 2
"""Each group needs two cases for an SD of its own; d's variance needs n1, n2 > 0
and Hedges' correction needs n1 + n2 > 2 (Borenstein et al. 2009, eq. 4.18-4.23)."""
FIRST_YEAR = 1900
ALLIANCE_RESEARCH_BEGAN = 1970
"""The earliest year a two-digit year is read as (:func:`two_digit_year`): measures of the alliance begin with
Luborsky (1976) and Bordin (1979), so ``98`` is 1998 and ``05`` 2005 (1905 is no alliance study)."""


class SheetError(Exception):
    """The sheet cannot be read at all (missing file, wrong format, broken CSV/XLSX)."""


@dataclass(frozen=True)
class Problem:
    """One failure of one cell (or row) of the sheet.

    ``row`` is the spreadsheet row (header = 1, first data row = 2), ``column`` the
    sheet column (empty for a whole-row rule), ``value`` the cell as written,
    ``rule`` the reviewer-facing explanation and ``check`` the rule's short name; ``written`` a way of writing
    the cell that a whole column may share (``thousands``: :func:`_thousands_to_write`), which
    :func:`format_problems` says once per column, or the whole sheet (:data:`DECIMAL_COMMA_WRITTEN`), which it
    says once, else empty.
    """

    row: int
    column: str
    value: str
    rule: str
    check: str = ""
    written: str = ""

    def __str__(self) -> str:
        return _where(f"row {self.row}", self.column, self.value, self.rule)


def _where(rows: str, column: str, value: str, rule: str) -> str:
    """A problem as a line of the report: ``row 4, column modality, value "psychodinamic": rule``, the column and
    value where it has them (``rows`` names one row, or several alike: :func:`_problem_lines`)."""
    if column:
        rows += f", column {column}"
    if value:
        rows += f', value "{value}"'
    return f"{rows}: {rule}"


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

#: :attr:`Problem.written` of a number written with a decimal comma in a sheet read with decimal points
#: (:func:`written_with_decimal_comma`), which :func:`format_problems` counts for the sheet
DECIMAL_COMMA_WRITTEN = "decimal_comma"

DECIMALS = ("auto", ".", ",")
"""``decimal`` settings: ``auto`` = a comma in a semicolon-separated CSV (and in tab-separated text of decimal
commas, :data:`TAB_SEPARATED_WITH_COMMAS`), else a point."""
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!",
                          "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"})
"""Error values a failed spreadsheet formula shows (and CSV exports write)."""
_DECIMAL_COMMA = re.compile(r"[-+\u2212]?[0-9]*,[0-9]+(?:[eE][-+]?[0-9]+)?")


def _thousands_groups(separator: str, least: int = 1) -> str:
    """The pattern (text) of digits grouped in thousands: one to three digits, not beginning with 0 (``0,500`` is no
    500), then ``least`` or more groups of three, each after ``separator``; the one definition of it
    (:func:`_grouped_thousands`, :data:`_THOUSANDS_SEPARATED`, :data:`_GROUPED_EXPONENT`, :func:`suggest_number`,
    :func:`_space_after_comma`; not the patterns of numbers a sheet reads with a 0 before its points,
    :data:`_GROUPED_DECIMAL_COMMA`, :data:`_UNICODE_MINUS_GROUPED`). Digits are 0-9, as in every number pattern here: 0.500
    written in Arabic-Indic digits is no grouped 500 but a cell of other digits (:func:`_other_digits`)."""
    return rf"(?!0)[0-9]{{1,3}}(?:{re.escape(separator)}[0-9]{{3}}){{{least},}}"


def _grouped_thousands(separator: str) -> re.Pattern:
    """A whole number written with ``separator`` between groups of thousands (:func:`_thousands_groups`), which may
    as well be one decimal mark: ``10.000`` (ten thousand, or ten?), ``1,200`` (1200, or 1.2?); not ``0.971``."""
    return re.compile(rf"[-+\u2212]?{_thousands_groups(separator)}")


_GROUPED_POINTS = _grouped_thousands(".")
#: a whole number with commas, apostrophes or spaces between thousands (1,200  1'200  1 200  12 000 000), as a count
#: is written: what :func:`suggest_number` offers as one, and :func:`_column_format` counts as thousands separators
#: (only messages: a cell of it is no number read; not ``0,500``, no grouped 500)
_THOUSANDS_SEPARATED = re.compile("|".join(_thousands_groups(separator) for separator in ",'\u2019 \u00a0\u202f"))
#: 2.500,5: points between thousands and a decimal comma, read so in a sheet of decimal commas (:func:`_decimal_point`);
#: not of :func:`_thousands_groups`, as ``0.500,5`` is read as 500.5 too, and refusing its 0 would change what a
#: sheet reads (as :data:`_UNICODE_MINUS_GROUPED`)
_GROUPED_DECIMAL_COMMA = re.compile(r"[-+\u2212]?[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+")
#: 1.234,5e2: points between thousands, a decimal comma and an exponent, which no spreadsheet writes together (a
#: problem, never read: ``0.123,5e2`` is not of it, and is told what other cells are)
_GROUPED_EXPONENT = re.compile(rf"[-+\u2212]?{_thousands_groups('.')},[0-9]+[eE][-+\u2212]?[0-9]+")
#: dates written as text (:func:`year_of_date`), in the digits 0-9 as the number patterns: a date in other digits is
#: refused as a number is (:func:`_other_digits`), not read as its year
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T][0-9:.]+)?")
_DAY_FIRST_DATE = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})(?: [0-9:.]+)?")
_SLASH_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?: [0-9:.]+)?")
#: day 0 of a spreadsheet's serial dates (Excel's 1900 date system, LibreOffice's default)
EXCEL_EPOCH = datetime.datetime(1899, 12, 30)
#: a date as a CSV export writes what a spreadsheet shows of it: 02.01.2024, 1/2/24, 2-Jan, Jan-48, 2. Jan. 2024
#: (month names English, German, French), besides :data:`_ISO_DATE` (:func:`_date_or_time_message`)
_MONTH = (r"(?:jan(?:uary|v)?|j\u00e4n|feb(?:ruary)?|f\u00e9vr?|fevr?|mar(?:ch|s)?|m\u00e4r|mrz|apr(?:il)?|avr|"
          r"may|mai|jun[ei]?|juin|jul[yi]?|juil|aug(?:ust)?|ao[u\u00fb]t|sept?(?:ember)?|o[ck]t(?:ober)?|"
          r"nov(?:ember)?|d[e\u00e9]c(?:ember)?|dez)\.?")
_SHOWN_DATE = re.compile(rf"(?:[0-9]{{1,2}}([./])[0-9]{{1,2}}\1(?:[0-9]{{4}}|[0-9]{{2}})"
                         rf"|[0-9]{{1,2}}\.?[- ]?{_MONTH}(?:[- ]?[0-9]{{2,4}})?|{_MONTH}[- ]?[0-9]{{2,4}})"
                         r"(?: [0-9:.]+)?",
                         re.IGNORECASE)


@dataclass(frozen=True)
class _Issue:
    """A cell the reader could not take as it is: spreadsheet ``row`` and 0-based ``column``
    position (None: the whole row)."""

    row: int
    column: int | None
    value: str
    rule: str
    check: str


def read_sheet(path: str | Path, *, sheet_name: str | None = None, decimal: str = "auto") -> pd.DataFrame:
    """Read a ``.csv`` or ``.xlsx`` sheet as text, never modifying the file.

    Every cell is a ``str`` (or missing); header names are stripped and codebook
    columns matched case-insensitively (``Study_ID`` -> ``study_id``). A ``sheet_row``
    column holds each row's spreadsheet row number; completely empty rows and unnamed
    empty columns are dropped (trailing ones included).

    CSV: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 (Latin-1);
    the delimiter (``,``, ``;`` or tab) is sniffed from the header line, or taken from
    Excel's ``sep=`` first line. ``decimal``: ``auto`` reads decimal commas (``0,35``)
    in a semicolon-separated CSV, as Excel writes it in German, French or Swiss
    locales, and in tab-separated text (Excel's "Unicode text" or "Text (Tab delimited)") whose numbers
    have decimal commas and no decimal point; ``","`` reads them in any sheet, ``"."`` never.

    XLSX: the worksheet ``sheet_name``, or the only one, or the one visible worksheet
    with a ``study_id`` header; the values formulas last computed (cached); a date in
    the ``year`` column gives its year (a year typed into a date-formatted cell, which
    Excel stores as the date with that serial number, gives the year typed); vertically
    merged cells give their value to every row they span.

    What cannot be read as it is becomes a :class:`Problem` in ``frame.attrs["problems"]``
    (reported by :func:`validate_sheet`): a formula without a saved value, an Excel
    error value, a hidden row or column holding data, a header cell merged over several
    columns or into the data, a cell merged across columns, data in a column without a
    header; or, when the header is a few rows down (a title above it), that alone.
    ``frame.attrs["notes"]`` says what was converted, ``frame.attrs["decimal_commas"]`` why decimal commas
    are read (empty: they are not). Raises
    :class:`SheetError` when the file cannot be read at all.
    """
    given, path = str(path), Path(path)
    if decimal not in DECIMALS:
        raise ValueError(f"decimal must be one of {DECIMALS}, not {decimal!r}")
    if path.is_dir():  # "no such file" sent one looking for a file that is there, as a folder
        raise SheetError(f"cannot read {path}: it is a folder, not a file; give the sheet's path (.csv or .xlsx)")
    if not path.is_file():
        raise SheetError(f"cannot read {path}: no such file{missing_file_hint(given)}")
    notes: list[str] = []
    try:
        rows, issues, epoch, comma = _rows(path, sheet_name, decimal, notes)
    except SheetError:
        raise
    except zipfile.BadZipFile as error:  # an .xlsx is a zip archive
        raise SheetError(f"cannot read {path}: {_not_a_workbook(path)}") from error
    except Exception as error:  # every parser failure becomes one readable message
        raise SheetError(f"cannot read {path}: {type(error).__name__}: {error}") from error
    if rows.empty:
        raise SheetError(f"cannot read {path}: the file is empty")
    header = [_column_name(cell, position) for position, cell in enumerate(rows.iloc[0])]
    below = _header_below(rows, header)
    issues += _duplicate_columns(rows.iloc[0], header)
    issues += [_Issue(HEADER_ROW, position, "", _computed_column_message(name), "computed_column")
               for position, name in enumerate(header) if name in codebook.COMPUTED_COLUMNS]
    past_line = ({position for position, cell in enumerate(rows.iloc[0]) if cell is None}  # a CSV's line ended
                 if path.suffix.lower() in TEXT_SUFFIXES else set())
    frame = rows.iloc[1:].copy()  # index i = spreadsheet row i + 1
    frame.columns = range(len(header))
    if path.suffix.lower() in TEXT_SUFFIXES:
        notes += _short_line_notes(frame, len(header) - len(past_line))
    for position in (i for i, name in enumerate(header) if name == "year"):
        frame[position] = _years(frame[position], epoch, notes)
    written_as_text = frame.map(lambda cell: isinstance(cell, str))
    invisible = frame.map(lambda cell: isinstance(cell, str) and _visible_text(cell) != cell)
    if invisible.any().any():
        rows = sorted({index + 1 for position in frame.columns for index in frame.index[invisible[position]]})
        columns = [header[position] for position in frame.columns if invisible[position].any()]
        notes.append(f"invisible characters (zero-width spaces, direction marks, byte-order marks) removed and "
                     f"accents composed (Unicode NFC) in {int(invisible.sum().sum())} cell(s) of column(s) "
                     f"{', '.join(columns)} ({rows_phrase(rows, 10)}): two spellings of one study_id or "
                     "category that look alike are one")
    as_written = CellsAsWritten()  # (sheet row, column): a number read with a decimal point or minus, as written
    if "study_id" in header:  # "NA" read as an empty study_id: its problem shows what was typed
        typed = frame[header.index("study_id")]
        for index in typed.index[typed.map(lambda cell: isinstance(cell, str) and bool(cell.strip())
                                           and _text_cell(cell) is None)]:
            as_written[(index + 1, "study_id")] = typed[index].strip()
    frame = frame.map(_text_cell)
    notes += _read_unicode_minus(frame, header, written_as_text, as_written, bool(comma))
    if comma:  # only cells written as text: a number an .xlsx stores as a number (0.971) has no separator to read
        text_cells = frame.where(written_as_text)
        issues += _ambiguous_points(text_cells, header, automatic=_automatic(comma))
        issues += _grouped_exponents(text_cells, header)
        read_with_comma = 0  # not len(as_written): that holds the Unicode minus signs read, too
        for position in (i for i, name in enumerate(header)  # a repeated name's first column, the one checked
                         if header.index(name) == i and _numeric_column(name, text_cells[i])):
            # ids, labels and categories keep their commas (es_id "2,1" is not 2.1)
            read = frame[position].mask(written_as_text[position], text_cells[position].map(
                lambda cell, column=header[position]: _decimal_point(cell, column)))
            changed = written_as_text[position] & frame[position].notna() & (read != frame[position])
            for index in frame.index[changed]:  # "\u22120,2": as written, not as its minus sign was read
                as_written.setdefault((index + 1, header[position]), frame.at[index, position])
            read_with_comma += int(changed.sum())
            frame[position] = read
        if read_with_comma and path.suffix.lower() in WORKBOOK_SUFFIXES:  # a CSV's note is written where it is read
            notes.append(f"decimal commas read as decimal points in {read_with_comma} text cell(s) (decimal: ,)")
    errors = frame.isin(EXCEL_ERRORS)
    issues += [_Issue(index + 1, position, frame.at[index, position], "is an error value of a spreadsheet formula: "
                      "fix the formula, type the value, or leave the cell empty", "excel_error")
               for position in frame.columns for index in frame.index[errors[position]]]
    frame = frame.mask(errors)
    if below:  # the other cells are read under the wrong header (a title merged over it, say): checked once it is row 1
        issues = below
    else:
        issues += _unnamed_columns(frame, header, {issue.column for issue in issues if issue.check == "merged_header"},
                                   past_line)
    repeated = _repeated_header_rows(frame, header)  # one problem each, not a problem per cell
    issues += [_Issue(index + 1, None, "", REPEATED_HEADER, "repeated_header") for index in repeated]
    frame = frame.drop(index=repeated)
    problems = [Problem(issue.row, _column_label(header, issue.column), issue.value or "", issue.rule, issue.check)
                for issue in issues]
    frame.columns = header
    frame = frame.loc[:, ~frame.columns.duplicated()]  # a repeated name: its first column is checked, the rest reported
    frame = frame.drop(columns=[name for name in codebook.COMPUTED_COLUMNS if name in frame])  # reported above
    frame.insert(0, SHEET_ROW, frame.index.to_numpy() + 1)
    unnamed_empty = [name for name in header if name.startswith("unnamed_") and frame[name].isna().all()]
    frame = frame.drop(columns=unnamed_empty)
    filled = frame.drop(columns=SHEET_ROW).notna().any(axis=1)
    frame = frame[filled].reset_index(drop=True)
    frame.attrs["problems"] = sorted(problems, key=lambda p: (p.row, header.index(p.column) if p.column in header else -1))
    frame.attrs["notes"] = notes
    frame.attrs["as_written"] = as_written
    frame.attrs["decimal_commas"] = comma
    return frame


#: a number whose minus sign is the Unicode minus (U+2212), as Word and PDFs paste it: "\u22120.2", "\u22120,2"
_UNICODE_MINUS_NUMBER = re.compile(r"\u2212(?:[0-9]+[.,]?[0-9]*|[.,][0-9]+)(?:[eE][-+\u2212]?[0-9]+)?")
#: in a sheet of decimal commas also "\u22121.234,5" (points between thousands and a decimal comma,
#: :data:`_GROUPED_DECIMAL_COMMA`; no exponent: "\u22121.234,5e2" is no number :func:`_decimal_point` reads); in a
#: sheet of decimal points that is no number, and "reads as -1.234" would be false. Not of :func:`_thousands_groups`:
#: "\u22120.500,5" is read as -500.5 as "0.500,5" is as 500.5 (:data:`_GROUPED_DECIMAL_COMMA`), which that would change
_UNICODE_MINUS_GROUPED = re.compile(r"\u2212[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+")


def _minus_reading(cell: str) -> str:
    """The number a cell of :data:`_UNICODE_MINUS_NUMBER` (or, in a sheet of decimal commas,
    :data:`_UNICODE_MINUS_GROUPED`) is checked as: its minus a hyphen, a decimal comma a point
    (:func:`_decimal_point`: ``\u22121.234,5`` -> ``-1234.5``; and ``\u22122,`` -> ``-2.``)."""
    return _decimal_point(cell.replace(MINUS, "-")).replace(",", ".")


def _read_as_negative(cell: str, column: str, comma: bool) -> bool:
    """Whether the reader reads ``cell``'s Unicode minus as a minus sign (:func:`_read_unicode_minus`): a number of
    :data:`_UNICODE_MINUS_NUMBER` (or, in a sheet of decimal commas, ``comma``, :data:`_UNICODE_MINUS_GROUPED`)
    whose negative (:func:`_minus_reading`) passes the checks of ``column``."""
    return bool(_UNICODE_MINUS_NUMBER.fullmatch(cell) or comma and _UNICODE_MINUS_GROUPED.fullmatch(cell)) and (
        _passes_checks(column, _minus_reading(cell)))


def _read_unicode_minus(frame: pd.DataFrame, header: list[str], written_as_text: pd.DataFrame,
                        as_written: dict, comma: bool = False) -> list[str]:
    """Read the Unicode minus of a number in a numeric column (:func:`_numeric_column`) as a minus sign where the
    negative number passes the column's checks (an r, a d; not "\u22122004" in year, a dash before it: the problem
    of that cell suggests 2004), in place (``as_written`` keeps each cell as the sheet has it); the note saying
    where, if any was."""
    rows, columns = set(), []
    for position, name in enumerate(header):
        if header.index(name) != position:  # a repeated name: its first column is checked
            continue
        cells = frame[position].where(written_as_text[position])
        if not _numeric_column(name, cells):
            continue
        minus = cells.map(lambda cell, name=name: isinstance(cell, str) and _read_as_negative(cell, name, comma))
        if not minus.any():
            continue
        for index in frame.index[minus]:
            as_written[(index + 1, name)] = frame.at[index, position]
            frame.at[index, position] = frame.at[index, position].replace(MINUS, "-")
            rows.add(index + 1)
        columns.append(name)
    if not columns:
        return []
    return [f"Unicode minus signs ({MINUS}, as Word and PDFs paste them) read as minus signs in column(s) "
            f"{', '.join(columns)} ({rows_phrase(sorted(rows), 10)})"]


class CellsAsWritten(dict):
    """``{(sheet row, column): the cell as the sheet has it}`` for the numbers read with a decimal point or with
    their Unicode minus as a minus sign, and the study_id cells read as empty (``NA``) (``frame.attrs["as_written"]``).
    pandas deep-copies a frame's attrs in every operation on it; this mapping, filled once by :func:`read_sheet` and
    only read after, is shared instead (a copy per operation made the check of a 3,000-row sheet of decimal commas
    take a minute instead of 0.2 s)."""

    def __deepcopy__(self, memo):
        return self


def _rows(path: Path, sheet_name: str | None, decimal: str, notes: list[str]):
    """The cells of the file (row i = spreadsheet row i + 1), the cells the reader cannot
    take as they are, the date epoch, and why decimal commas are read (empty: they are not; ``decimal: ,``, or
    what made ``decimal: auto`` read them)."""
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        rows, delimiter, encoding = _csv_rows(path)
        notes.extend(filter(None, [_code_page_note(rows, encoding)]))
        comma = "decimal: ," if decimal == "," else ""
        if decimal == "auto" and delimiter == ";":
            comma = SEMICOLON_SEPARATED
        elif decimal == "auto" and delimiter == "\t" and _decimal_commas_only(rows):
            comma = UNICODE_TEXT_WITH_COMMAS if encoding.startswith("utf-16") else TAB_SEPARATED_WITH_COMMAS
        if comma:
            notes.append("decimal commas read as decimal points ("
                         f"{'semicolon-separated CSV' if comma == SEMICOLON_SEPARATED else comma})")
        if sheet_name is not None:
            notes.append(f"sheet_name {sheet_name!r} ignored: a {suffix} file has one sheet")
        return rows, [], EXCEL_EPOCH, comma
    if suffix in WORKBOOK_SUFFIXES:
        rows, issues, epoch = _xlsx_rows(path, sheet_name, notes)
        return rows, issues, epoch, "decimal: ," if decimal == "," else ""
    raise SheetError(f"cannot read {path}: {unsupported_type(path)}")


#: why ``decimal: auto`` reads decimal commas: a semicolon-separated CSV (Excel's "CSV" where the comma is the
#: decimal mark), or tab-separated text whose numbers have decimal commas and no decimal point
#: (:func:`_decimal_commas_only`): Excel's "Unicode text" (UTF-16) and "Text (Tab delimited)" (Windows-1252) write the
#: locale's decimal mark, and so does a table pasted from Word (UTF-8)
SEMICOLON_SEPARATED = "semicolon-separated"
UNICODE_TEXT_WITH_COMMAS = "tab-separated Unicode text (UTF-16) whose numbers have decimal commas"
TAB_SEPARATED_WITH_COMMAS = "tab-separated text whose numbers have decimal commas"


def _automatic(comma: str) -> str:
    """What made ``decimal: auto`` read decimal commas, from :func:`_rows`'s reason (empty where ``decimal: ,``
    was set)."""
    return "" if comma == "decimal: ," else comma


def _decimal_commas_only(rows: pd.DataFrame) -> bool:
    """Whether the numeric columns of a sheet's cells (header in row 0) hold a number with a decimal comma (``0,35``;
    not ``1,200`` in n, a comma between thousands, nor ``1,48`` in df, F's two df) and none with a decimal point
    (``0.35``; ``1.200``, a point between thousands, is neither): tab-separated text (Excel's "Unicode text" and
    "Text (Tab delimited)", a table pasted from Word) has numbers with the locale's decimal mark, which its tabs do
    not tell, as a semicolon does in a CSV."""
    header = [_column_name(cell, position) for position, cell in enumerate(rows.iloc[0])] if len(rows) else []
    commas = 0
    for position, name in enumerate(header):
        cells = rows[position].iloc[1:].map(_text_cell).dropna()
        if header.index(name) != position or not _numeric_column(name, cells):
            continue
        for cell in cells:
            if _POINT_DECIMAL.fullmatch(cell) and not _GROUPED_POINTS.fullmatch(cell):
                return False
            commas += written_with_decimal_comma(name, cell) and not _GROUPED_COMMAS.fullmatch(cell)
    return commas > 0


_POINT_DECIMAL = re.compile(r"[-+\u2212]?[0-9]*\.[0-9]+(?:[eE][-+\u2212]?[0-9]+)?")
_GROUPED_COMMAS = _grouped_thousands(",")


#: delimited text (comma, semicolon or tab, found from the header line), as spreadsheets save it
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def unsupported_type(path: str | Path) -> str | None:
    """Why a sheet of this file type cannot be read (None when it can), with what to do."""
    suffix = Path(path).suffix.lower()
    if suffix in TEXT_SUFFIXES + WORKBOOK_SUFFIXES:
        return None
    if suffix in (".xls", ".ods", ".numbers"):
        return f"save it as .xlsx (Excel workbook) or .csv first ({suffix} files are not read)"
    return f"expected a .csv or .xlsx file (or tab-separated .tsv or .txt), not {suffix or 'a name without suffix'}"


def _not_a_workbook(path: Path) -> str:
    """What a file named .xlsx that is not a zip archive probably is, and what to do."""
    data = path.read_bytes()
    start = data[:4096]
    if not data:
        return "the file is empty"
    if start.startswith(b"PK"):
        return "the workbook is damaged or incomplete (cut short when copied?); open it in the spreadsheet and save it again"
    if start.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: a password-protected .xlsx, or Excel 97-2003 (.xls)
        if "EncryptedPackage".encode("utf-16-le") in data:
            return "the workbook is protected by a password; save a copy without the password and read that"
        return "it is an Excel 97-2003 workbook (.xls) with an .xlsx name; open it and save it as .xlsx"
    try:
        text = not any(ord(character) < 32 and character not in "\t\r\n" for character in decode_text(start))
    except UnicodeDecodeError:  # e.g. UTF-16 cut inside a character
        text = False
    if text:
        return "it is a text file (a CSV?) with an .xlsx name; name it .csv (and the config's sheet)"
    return "it is not an Excel workbook (.xlsx files are zip archives); open it in the spreadsheet and save it as .xlsx"


def _short_line_notes(frame: pd.DataFrame, width: int, shown: int = 5) -> list[str]:
    """CSV rows whose line has fewer cells than the header line's ``width`` while another row has them all: a cell
    left out moves every cell after it one column left (None marks a cell past the end of its line)."""
    cells = frame.notna().sum(axis=1)
    short = cells[(cells > 0) & (cells < width)]
    if short.empty or not (cells >= width).any():
        return []
    more = f" (and {len(short) - shown} more rows)" if len(short) > shown else ""
    rows = "; ".join(f"row {index + 1} has {count} {plural(count, 'cell')}"
                     for index, count in short.iloc[:shown].items())
    return [f"{rows}{more} where the header line has {width}: if a cell was left out (a delimiter deleted, a row "
            "pasted from a sheet with a column fewer), every cell after it is in the column to its left; check the "
            "row's values against the header"]


def _unnamed_columns(frame: pd.DataFrame, header: list[str], explained: set, past_line: set = frozenset()
                     ) -> list[_Issue]:
    """Columns without a header name that hold data (not already explained by a merged header). ``past_line``:
    the columns of a CSV past the end of its header line, where a cell split by an unquoted delimiter puts data."""
    issues = []
    for position, name in enumerate(header):
        holding = frame.index[frame[position].notna()]
        if name.startswith("unnamed_") and len(holding) and position not in explained:
            row_names = position == 0 and len(holding) > 1 and frame.loc[holding, position].tolist() == [
                str(number) for number in range(1, len(holding) + 1)]
            advice = ("it numbers the rows 1, 2, ..., as the row names R's write.csv writes: delete the column "
                      "(write.csv(..., row.names = FALSE) leaves it out)" if row_names
                      else "the header line ends before this column: a comma or semicolon inside a cell "
                      "without double quotes around it (a decimal comma as in 0,43, or a comma in authors) splits "
                      "the cell in two and moves the cells after it into the wrong columns; put that cell in "
                      "quotes or write it without the separator, or, if the rows are right, name the column"
                      if position in past_line else "name the column, or delete its cells")
            issues.append(_Issue(HEADER_ROW, position, "", f"has no name in the header row but holds data "
                                 f"({rows_phrase([i + 1 for i in holding], 5)}): {advice}", "unnamed_column"))
    return issues


def _duplicate_columns(cells: pd.Series, header: list[str]) -> list[_Issue]:
    """Header cells that name a column another one already has (``R`` and ``r``, ``Study ID`` and ``study_id``):
    one problem per name, naming every column that has it, as each header cell is written."""
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(header):
        positions.setdefault(name, []).append(position)
    issues = []
    for name, where in positions.items():
        if len(where) > 1:
            from openpyxl.utils import get_column_letter  # here: a CSV read without a repeat needs no openpyxl

            written = [_text_cell(cells.iloc[p]) for p in where]
            columns = ", ".join(f'{get_column_letter(p + 1)} ("{text}")' for p, text in zip(where, written))
            matched = " (column names are matched without case and spaces)" if len(set(written)) > 1 else ""
            issues.append(_Issue(HEADER_ROW, where[0], "", f"is the name of {len(where)} columns, {columns}{matched}: "
                                 "rename or delete all but one; only column "
                                 f"{get_column_letter(where[0] + 1)} is read", "duplicate_column"))
    return issues


def _computed_column_message(name: str) -> str:
    """Why a sheet column may not have the name of one the pipeline computes (codebook.COMPUTED_COLUMNS)."""
    how = ("; the pipeline computes yi and vi from the statistic each row reports (e.g. r and n; a Fisher z: fisher_z "
           "and n; input kinds: config/README.md)" if name in ("yi", "vi") else "")
    return (f"is the name of a column the pipeline computes (data/processed/effect_sizes.csv), which would replace "
            f'this one\'s cells: rename it (e.g. "reported_{name}") or delete it{how}')


def _column_label(header: list[str], position: int | None) -> str:
    """The header name of a column, or its spreadsheet letter when it has none or a column before it has
    that name (a repeated name: the problems of its other columns are theirs, not the first's)."""
    from openpyxl.utils import get_column_letter

    if position is None:
        return ""
    named = position < len(header) and not header[position].startswith("unnamed_")
    if named and header.index(header[position]) == position:
        return header[position]
    return get_column_letter(position + 1)


def decode_text(data: bytes) -> str:
    """A text file's bytes as Excel and Notepad write them: UTF-16 with a BOM, or without one (PowerShell, some
    exports: every other byte of Latin text is 0), UTF-8 with or without one, else Windows-1252 (the sheet and the
    config file)."""
    return _decoded(data)[0]


def _decoded(data: bytes) -> tuple[str, str]:
    """:func:`decode_text`'s text and the encoding it was read with."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" is UTF-16
        return data.decode("utf-16"), "utf-16"
    sample = data[:4096]
    if len(sample) >= 4:  # was read as Latin-1: "s\x00t\x00u\x00d\x00y\x00"; the other half of the bytes is text, not
        # zeros too (a UTF-8 file padded with NULs is no UTF-16); a stray last byte is left out
        for order, zeros, text in (("utf-16-le", sample[1::2], sample[0::2]), ("utf-16-be", sample[0::2], sample[1::2])):
            if zeros.count(0) > len(zeros) * 3 // 4 and text.count(0) < len(text) // 4:
                try:
                    return data[:len(data) - len(data) % 2].decode(order), order
                except UnicodeDecodeError:  # no UTF-16 after all: read as below
                    break
    for encoding in ("utf-8-sig", "cp1252"):  # cp1252: Windows' Latin-1
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1"), "latin-1"  # every byte is a character


#: A UTF-8 multi-byte sequence (RFC 3629): in a file that is no UTF-8 as a whole, rows pasted from a UTF-8 file.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
#: The characters of a cell the code-page note quotes (:func:`_code_page_note`).
QUOTED_CHARACTERS = 40


def _code_page_note(rows: pd.DataFrame, encoding: str) -> str | None:
    """The note of a text file that is no UTF-8 (``encoding`` of :func:`_decoded`) and holds characters beyond ASCII:
    the code page it was read in and a cell to check (row as a spreadsheet numbers it), with its first such character
    named. Bytes do not say their code page: a Central European export (Windows-1250: ``Łukasz`` as ``£ukasz``) reads
    as Windows-1252 without an error. The cell shown is the first holding UTF-8 bytes of a letter (rows pasted from a
    UTF-8 file: ``MÃ¼ller``, :func:`_utf8_letter`; the note then says the file mixes the two), else the first whose
    character is a letter, a symbol, anything else (a no-break space) in this order of preference
    (:func:`_quoted_cell`)."""
    if encoding not in ("cp1252", "latin-1"):
        return None
    found = []  # (preference, row, cell, position of the character)
    for number, record in enumerate(rows.itertuples(index=False), start=1):
        for cell in record:
            if isinstance(cell, str) and not cell.isascii():
                utf8 = _utf8_letter(cell, encoding)
                position = utf8 if utf8 is not None else next(i for i, c in enumerate(cell) if not c.isascii())
                kind = unicodedata.category(cell[position])[0]
                found.append((0 if utf8 is not None else {"L": 1, "S": 2}.get(kind, 3), number, cell, position))
    if not found:
        return None
    preference, number, cell, position = min(found, key=lambda item: item[:2])
    name = "Windows-1252 (Western European)" if encoding == "cp1252" else "Latin-1"
    shown = f"{_quoted_cell(cell, position)} on row {number}"
    if preference == 0:
        return (f"the file mixes UTF-8 and another code page (rows pasted from another file?): read as {name}, "
                f"{shown} holds UTF-8 bytes; correct the cells that read wrong and save the sheet again as "
                '"CSV UTF-8"')
    return (f"not UTF-8: read as {name}, e.g. {shown}; if its letters look wrong, save the sheet as \"CSV UTF-8\" "
            "and run again")


def _utf8_letter(cell: str, encoding: str) -> int | None:
    """The position in ``cell`` (one byte a character, as ``encoding`` decoded it) of the first UTF-8 sequence that
    reads as a letter of the script of a letter beside it (``MÃ¼ller``: ``ü`` between ``M`` and ``l``; a Cyrillic name
    pasted whole, letter by letter), else None. A capital or ``ß`` before a punctuation byte is most often valid UTF-8
    too, but of a letter of another script: Windows-1252's ``Strauß\xa0et al.`` (bytes DF A0) would read as N'Ko
    ``Strau\u07e0et al.``, so it is no sign of a pasted row."""
    def script(character: str) -> str | None:  # first word of the Unicode name: LATIN, CYRILLIC, GREEK, NKO, …
        return unicodedata.name(character, "").split(" ")[0] if unicodedata.category(character)[0] == "L" else None

    pieces = []  # (position, bytes, character): a UTF-8 sequence as UTF-8, any other byte as ``encoding``
    for match in re.finditer(_UTF8_SEQUENCE.pattern + rb"|.", cell.encode(encoding), re.DOTALL):
        data = match.group()
        pieces.append((match.start(), data, data.decode("utf-8" if len(data) > 1 else encoding)))
    for index, (position, data, character) in enumerate(pieces):
        beside = [pieces[i][2] for i in (index - 1, index + 1) if 0 <= i < len(pieces)]
        if len(data) > 1 and script(character) and any(script(other) == script(character) for other in beside):
            return position
    return None


def _quoted_cell(cell: str, position: int) -> str:
    """``"£ukasz" ("£": U+00A3 POUND SIGN)``: ``cell`` in quotes, at most :data:`QUOTED_CHARACTERS` of it around the
    character at ``position`` (``…`` where cut), characters that show nothing (a line break, a no-break space, a
    control character) written as Python escapes, then that character named (its Unicode name)."""
    def visible(text: str) -> str:
        return "".join(character if character.isprintable() else character.encode("unicode_escape").decode("ascii")
                       for character in text)

    first = max(0, min(position - QUOTED_CHARACTERS // 2, len(cell) - QUOTED_CHARACTERS))
    part = cell[first:first + QUOTED_CHARACTERS]
    part = ("\u2026" if first else "") + part + ("\u2026" if first + QUOTED_CHARACTERS < len(cell) else "")
    character = cell[position]
    named = unicodedata.name(character, "")
    return f'"{visible(part)}" ("{visible(character)}": U+{ord(character):04X}{" " + named if named else ""})'


def _csv_rows(path: Path) -> tuple[pd.DataFrame, str, str]:
    """The cells of a CSV (row i = spreadsheet row i + 1), its delimiter and its encoding."""
    with open(path, "rb") as handle:  # read-only
        text, encoding = _decoded(handle.read())
    if not text.strip():
        raise SheetError(f"cannot read {path}: the file is empty")
    first_line, *rest = re.split(r"\r\n|\r|\n", text, maxsplit=1)  # "\r" alone: a CSV of Excel for Mac (Macintosh)
    hint = re.fullmatch(r'"?sep=(.)"?', first_line.strip(), flags=re.IGNORECASE)
    if hint:  # Excel's delimiter line; Excel does not show it as a row
        delimiter = hint.group(1)
        text = rest[0] if rest else ""
    else:
        delimiter = max([",", ";", "\t"], key=first_line.count)
    records = [record for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    unclosed = _unclosed_quote(text, delimiter, records)
    if unclosed:
        raise SheetError(f"cannot read {path}: {unclosed}")
    width = max((len(record) for record in records), default=0)
    # None, not "": a cell past the end of its line (data past the header line's end: a cell split in two)
    return (pd.DataFrame([record + [None] * (width - len(record)) for record in records], dtype=object), delimiter,
            encoding)


def _unclosed_quote(text: str, delimiter: str, records: list[list[str]]) -> str | None:
    """Where a cell opens a double quote that no quote closes, every row after it is read into that cell (a
    stray quote in an authors cell: the rest of the sheet is gone without a word): the row, column and value.
    Found record by record, as the lenient reader reads them (``records``: its header names the column): one with a
    line break in a cell that the strict reader cannot read (:func:`_strict_error_fields`). A quote that is only out
    of place (``"Smith" Jr``), in that record or another, is read as the lenient reader reads it."""
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(lines, delimiter=delimiter)
    end = 0
    for index, record in enumerate(reader):
        first, end = end, reader.line_num  # the record's lines
        broken = [column for column, cell in enumerate(record) if "\n" in cell or "\r" in cell]
        refused = _strict_error_fields("".join(lines[first:end]), delimiter) if broken else set()
        column = next((column for column in broken if column in refused), None)
        if column is not None:
            header = records[0][column] if index and column < len(records[0]) else f"{column + 1}"
            first_line = re.split(r"\r\n|\r|\n", record[column], maxsplit=1)[0]
            return (f'row {index + 1}, column {header}, value "{first_line[:40]}": a double quote opens this cell '
                    "and is never closed, so the rows after it were read into this one cell; delete the quote (or "
                    "close it) and save the sheet again")
    return None


def _strict_error_fields(record: str, delimiter: str) -> set[int]:
    """The fields of one CSV record (its raw text) that a strict reader (RFC 4180; Python's ``csv`` with
    ``strict=True``) refuses: a quoted field that never closes, or whose closing quote is followed by neither the
    delimiter nor the end of the line. Read on as the lenient reader reads (the rest of such a field as written, its
    later quotes as text), so that a quote out of place in one field hides no unclosed quote in a later one; the
    fields are counted as the lenient reader counts them."""
    fields, field, i, at_start = set(), 0, 0, True
    while i < len(record):
        if at_start and record[i] == '"':  # a quoted field: to its closing quote ("" is a quote inside it)
            i += 1
            while (close := record.find('"', i)) >= 0 and record.startswith('""', close):
                i = close + 2
            if close < 0:
                fields.add(field)
                break
            if close + 1 < len(record) and record[close + 1] not in (delimiter, "\r", "\n"):
                fields.add(field)
            i, at_start = close + 1, False
            continue
        if record[i] == delimiter:
            field, at_start = field + 1, True
        else:
            at_start = record[i] in "\r\n"
        i += 1
    return fields


def _xlsx_rows(path: Path, sheet_name: str | None, notes: list[str]) -> tuple[pd.DataFrame, list[_Issue], datetime.datetime]:
    """The cached cell values of one worksheet (row i = spreadsheet row i + 1), the
    cells that cannot be taken as they are, and the workbook's date epoch."""
    import openpyxl

    values = openpyxl.load_workbook(path, data_only=True)  # not read-only: merged cells, hidden rows
    try:
        worksheet = _worksheet(values, sheet_name, path, notes)
        rows = [list(row) for row in worksheet.iter_rows(values_only=True)]
        while rows and all(_text_cell(cell) is None for cell in rows[-1]):
            rows.pop()
        width = max((i + 1 for row in rows for i, cell in enumerate(row) if _text_cell(cell) is not None), default=0)
        rows = [row[:width] + [None] * (width - len(row)) for row in rows]
        issues = (_merged_cells(worksheet, rows, notes) + _hidden_cells(worksheet, rows, notes)
                  + _percent_counts(worksheet, rows))
        title, epoch = worksheet.title, values.epoch
    finally:
        values.close()
    issues += _formulas_without_values(path, title)
    return pd.DataFrame(rows, dtype=object), issues, epoch


def _counted_columns(whole_number_columns: tuple[str, ...]) -> dict[str, str]:
    """The columns a percentage cannot stand in, each with what it holds: the whole-number columns but ``year``
    (sample sizes, the 2x2 counts, ``n_covariates``; one added to the codebook's is "a whole number" until named
    here), and ``df``."""
    what = {**dict.fromkeys(("n", "n1", "n2"), "sample size"),
            **dict.fromkeys(INPUT_KIND_BY_NAME["counts"].columns, "count"), "n_covariates": "number of covariates"}
    return {**{column: what.get(column, "whole number") for column in whole_number_columns if column != "year"},
            "df": "number of degrees of freedom"}


_COUNTED = _counted_columns(WHOLE_NUMBER_COLUMNS)


def _percent_counts(worksheet, rows: list[list]) -> list[_Issue]:
    """Fractions in a percent-formatted cell (``0%``) of a sample-size, count or df column: the cell shows 45% and
    holds 0.45, which a typed 45 becomes in such a cell (Excel's automatic percent entry). No n is a percentage:
    the cell is reported as shown, and emptied (0.45 was "a whole number: write 0" and "at least 4")."""
    if not rows:
        return []
    columns = {position: _COUNTED[name] for position, cell in enumerate(rows[0])
               if (name := _column_name(cell, position)) in _COUNTED}
    issues = []
    for position in columns:
        for (cell,) in worksheet.iter_rows(min_row=HEADER_ROW + 1, max_row=len(rows), min_col=position + 1,
                                           max_col=position + 1):
            value = rows[cell.row - 1][position]
            if ("%" not in str(cell.number_format) or isinstance(value, bool) or not isinstance(value, (int, float))
                    or float(value).is_integer()):
                continue  # 45 formatted as 4500% holds the 45 typed: read as it is
            percent = f"{value * 100:.15g}"
            what = f"is a percentage (the cell is formatted as one, and holds {value:.15g})"
            retype = (f"format the cell as a number and type the {columns[position]}"
                      + (f' ("{percent}" if that is what was typed)' if float(percent).is_integer() else ""))
            rule = (f"{what}, not a count: a 2x2 cell holds a number of patients (a share times its group's n, "
                    f"rounded); if a count was typed into a percent-formatted cell, {retype}"
                    if columns[position] == "count" else
                    f"{what}: a {columns[position]} is no percentage, so this is a typing error (a number typed into "
                    f"a percent-formatted cell becomes a percentage); {retype}")
            issues.append(_Issue(cell.row, position, f"{percent}%", rule, "percent_cell"))
            rows[cell.row - 1][position] = None  # reported as shown; not read as 0.45 as well
    return issues


def worksheet_names(path: str | Path) -> tuple[str, ...]:
    """The worksheets of an .xlsx workbook, in order; () for a text sheet or a file that cannot be opened
    (:func:`read_sheet` says why)."""
    if Path(path).suffix.lower() not in WORKBOOK_SUFFIXES:
        return ()
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True)
    except Exception:  # noqa: BLE001 - read_sheet reports the file
        return ()
    try:
        return tuple(workbook.sheetnames)
    finally:
        workbook.close()


def _worksheet(workbook, sheet_name: str | None, path: Path, notes: list[str]):
    names = workbook.sheetnames
    if sheet_name is not None:
        if sheet_name in names:
            return workbook[sheet_name]
        close = difflib.get_close_matches(sheet_name, names, n=1, cutoff=0.6)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        raise SheetError(f'cannot read {path}: it has no worksheet "{sheet_name}" (sheet_name in the config){hint} '
                         f"Worksheets: {', '.join(names)}")
    if len(names) == 1:
        return workbook.worksheets[0]
    visible = [sheet for sheet in workbook.worksheets if sheet.sheet_state == "visible"]

    def with_study_id(last_row: int, sheets=visible) -> list:
        return [sheet for sheet in sheets if any(
            _text_cell(cell) is not None and _column_name(cell, 0) == "study_id"
            for row in sheet.iter_rows(min_row=1, max_row=last_row, values_only=True) for cell in row)]

    with_ids = with_study_id(1)
    # none in row 1: the one with study_id a few rows down (a title above the header), which the check of
    # the header then names ("row 3 has study_id: delete the 2 rows above it")
    lower = with_study_id(HEADER_BELOW_ROWS) if not with_ids else []
    if len(with_ids) == 1 or len(lower) == 1:
        chosen = (with_ids or lower)[0]
        notes.append(f'worksheet "{chosen.title}" read (the one with a study_id column; '
                     f"the workbook has {', '.join(names)}); sheet_name in the config chooses another")
        return chosen
    found = "none has" if not with_ids else f"{', '.join(sheet.title for sheet in with_ids)} have"
    hidden = with_study_id(1, [sheet for sheet in workbook.worksheets if sheet not in visible]) if not with_ids else []
    but = (f" but the hidden worksheet{'s' if len(hidden) > 1 else ''} {', '.join(sheet.title for sheet in hidden)}; "
           f"unhide {'it' if len(hidden) == 1 else 'the one to read'}, or" if hidden else ";")  # "none has" said of a workbook whose data sheet is hidden
    raise SheetError(f"cannot read {path}: it has {len(names)} worksheets ({', '.join(names)}) and {found} a "
                     f"study_id column in row 1{but} set sheet_name in config/config.yaml to the worksheet to read")


def _merged_cells(worksheet, rows: list[list], notes: list[str]) -> list[_Issue]:
    """Fill vertically merged data cells with their value; report the merges that hide
    which column (or row) a value belongs to."""
    issues, filled = [], []
    height, width = len(rows), len(rows[0]) if rows else 0
    for merged in sorted(worksheet.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col)):
        top, left = merged.min_row, merged.min_col
        if top > height or left > width:
            continue
        value = rows[top - 1][left - 1]
        bottom, right = min(merged.max_row, height), min(merged.max_col, width)
        if top == HEADER_ROW:
            if bottom > top:
                issues.append(_Issue(top, left - 1, _text_cell(value) or "",
                                     f"is a header cell merged with the data below it ({merged.coord}): "
                                     "unmerge it; the header is row 1 alone", "merged_header"))
            for column in range(left + 1, right + 1):
                if any(_text_cell(row[column - 1]) is not None for row in rows[1:]):
                    issues.append(_Issue(top, column - 1, "",
                                         f"has no name of its own: header cell {merged.coord} is merged over "
                                         "several columns; unmerge it and name every column", "merged_header"))
        elif right > left:
            if _text_cell(value) is not None:
                issues.append(_Issue(top, left - 1, _text_cell(value),
                                     f"is merged over several columns ({merged.coord}): unmerge it and fill "
                                     "each cell of its own column", "merged_cells"))
        elif bottom > top:
            for row in range(top + 1, bottom + 1):
                rows[row - 1][left - 1] = value
            filled.append(merged.coord)
    if filled:
        notes.append(f"merged cells {', '.join(filled)}: their value is read on every row they span")
    return issues


_HIDDEN_ROW = "is hidden in the spreadsheet: unhide it to have it analysed, or delete it to leave it out"
_FILTERED_ROW = ("is hidden by the worksheet's filter: clear the filter (Data > Filter) to have it analysed, or "
                 "delete the row to leave it out")
#: The hidden-row rules said once for several rows (:func:`format_problems`).
_HIDDEN_ROWS = {_HIDDEN_ROW: "are hidden in the spreadsheet: unhide them to have them analysed, or delete them "
                             "to leave them out",
                _FILTERED_ROW: "are hidden by the worksheet's filter: clear the filter (Data > Filter) to have them "
                               "analysed, or delete the rows to leave them out"}


def _hidden_cells(worksheet, rows: list[list], notes: list[str]) -> list[_Issue]:
    """Hidden rows and columns that hold data: the reviewer decides whether they count. A hidden
    column with a header and no data holds nothing to decide: a note."""
    from openpyxl.utils import get_column_letter

    issues = []
    filtered = _filtered_rows(worksheet)
    for number, dimension in worksheet.row_dimensions.items():
        if dimension.hidden and number <= len(rows) and any(_text_cell(c) is not None for c in rows[number - 1]):
            rule = _FILTERED_ROW if number in filtered else _HIDDEN_ROW
            issues.append(_Issue(number, None, "", rule, "hidden_row"))
    width = len(rows[0]) if rows else 0
    hidden_columns = sorted({column for dimension in worksheet.column_dimensions.values() if dimension.hidden
                             for column in range((dimension.min or 1), (dimension.max or dimension.min or 1) + 1)})
    for column in hidden_columns:
        if column > width:
            continue
        if any(_text_cell(row[column - 1]) is not None for row in rows[HEADER_ROW:]):
            issues.append(_Issue(HEADER_ROW, column - 1, "", "is a hidden column: unhide it to have it analysed, "
                                 "or delete it to leave it out", "hidden_column"))
        elif rows and _text_cell(rows[0][column - 1]) is not None:
            notes.append(f"hidden column {get_column_letter(column)} ({_text_cell(rows[0][column - 1])}) has a "
                         "header and no data: read as an empty column")
    return issues


def _filtered_rows(worksheet) -> set[int]:
    """The rows an active filter (an autofilter with criteria: the worksheet's, or an Excel table's) applies
    to: a row it hides comes back when the filter is cleared, not with Unhide."""
    from openpyxl.utils.cell import range_boundaries

    filters = [worksheet.auto_filter] + [table.autoFilter for table in getattr(worksheet, "tables", {}).values()]
    rows: set[int] = set()
    for autofilter in filters:
        if autofilter is None or not autofilter.ref or not autofilter.filterColumn:
            continue
        try:
            _, first, _, last = range_boundaries(autofilter.ref)
        except ValueError:
            continue
        rows.update(range((first or 1) + 1, (last or worksheet.max_row) + 1))  # below its header row ("A:F": all)
    return rows


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _formulas_without_values(path: Path, title: str) -> list[_Issue]:
    """Formula cells without a saved result: their value is unknown.

    In the worksheet's XML such a cell has ``<f>`` and no or an empty ``<v>`` (a file
    written by a program, e.g. openpyxl, and never opened in a spreadsheet); a formula
    whose result is empty text has type ``t="str"`` and an empty ``<v>``, and is empty.
    (openpyxl reads both alike, as None.)"""
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    with zipfile.ZipFile(path) as archive:  # read-only
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        relation = next((sheet.get(f"{_RELATIONSHIPS}id") for sheet in workbook.iter(f"{_MAIN}sheet")
                         if sheet.get("name") == title), None)
        links = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        target = next((link.get("Target") for link in links if link.get("Id") == relation), None)
        if target is None:  # a layout openpyxl reads but this check does not know
            return []
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        issues = []
        with archive.open(part) as handle:
            for _, cell in ElementTree.iterparse(handle):
                if cell.tag != f"{_MAIN}c":
                    continue
                formula = cell.find(f"{_MAIN}f")
                value = cell.find(f"{_MAIN}v")
                saved = value is not None and (bool(value.text) or cell.get("t") == "str")
                if formula is not None and not saved:
                    letters, number = coordinate_from_string(cell.get("r"))
                    issues.append(_Issue(number, column_index_from_string(letters) - 1,
                                         f"={formula.text}" if formula.text else "",
                                         "is a formula whose result was never saved: open the file in Excel or "
                                         "LibreOffice and save it, or type the value", "formula_without_value"))
                cell.clear()
    return issues


def _years(cells: pd.Series, epoch: datetime.datetime, notes: list[str]) -> pd.Series:
    """The ``year`` column with every date (a spreadsheet date, or a date written as text)
    replaced by its year; a year typed into a date-formatted cell is taken back."""
    # object dtype: map() would make years and an empty cell a float column (1992.0), which read as all changed
    converted = pd.Series([year_of_date(cell, epoch) for cell in cells], index=cells.index, dtype=object)
    changed = [index + 1 for index in cells.index
               if not (converted[index] is cells[index] or str(converted[index]) == str(cells[index]))]
    if changed:
        notes.append(f"dates in the year column read as years ({rows_phrase(changed)})")
    return converted


def year_of_date(cell: object, epoch: datetime.datetime) -> object:
    """A date's year, or the cell unchanged (not a date, or an ambiguous one).

    A spreadsheet stores a date as a serial day number from ``epoch``; a year typed
    into a date-formatted cell is shown (and exported) as the date with that serial
    (2004 -> 1905-06-26 in Excel's 1900 date system): a midnight date whose serial is a
    plausible year gives that serial back. A text date d/m/yyyy that also reads as
    m/d/yyyy and gives two different answers is left as written (reported as not a number).
    """
    if isinstance(cell, datetime.datetime | datetime.date):
        moment = cell if isinstance(cell, datetime.datetime) else datetime.datetime.combine(cell, datetime.time())
        moments = [moment]
    elif isinstance(cell, str):
        moments = []
        text = cell.strip()
        for pattern, orders in ((_ISO_DATE, ((1, 2, 3),)), (_DAY_FIRST_DATE, ((3, 2, 1),)),
                                (_SLASH_DATE, ((3, 2, 1), (3, 1, 2)))):
            match = pattern.fullmatch(text)
            for year, month, day in orders if match else ():
                with contextlib.suppress(ValueError):
                    moments.append(datetime.datetime(int(match[year]), int(match[month]), int(match[day])))
    else:
        return cell
    answers = {_year_answer(moment, epoch) for moment in moments}
    return answers.pop() if len(answers) == 1 else cell


def _year_answer(moment: datetime.datetime, epoch: datetime.datetime) -> str:
    serial = (moment - epoch).days
    typed = moment.time() == datetime.time() and FIRST_YEAR <= serial <= datetime.date.today().year + 1
    return str(serial if typed else moment.year)


def _decimal_point(cell: object, column: str = "") -> object:
    """A number written with a decimal comma, and points between groups of thousands (``2.500,5``), with a
    decimal point; a df of ``1,48`` (F(1, 48)'s two df) or ``2,40`` (F(2, 40)'s, or a Welch df of 2.40) is left as
    written, for its problem to name what it holds (:data:`_BOTH_DEGREES_OF_FREEDOM`)."""
    if column == "df" and isinstance(cell, str) and _BOTH_DEGREES_OF_FREEDOM.fullmatch(cell):
        return cell
    if isinstance(cell, str) and _GROUPED_DECIMAL_COMMA.fullmatch(cell):
        cell = cell.replace(".", "")
    return cell.replace(",", ".") if isinstance(cell, str) and _DECIMAL_COMMA.fullmatch(cell) else cell


def _ambiguous_points(frame: pd.DataFrame, header: list[str], automatic: str = "") -> list[_Issue]:
    """Cells of numeric columns such as ``10.000`` in a sheet read with decimal commas: Excel writes ten
    thousand so in a German locale (the point separates thousands), but it may be a decimal point (ten).
    Numeric columns: the codebook's, and columns outside the codebook whose every cell is a number.
    ``automatic``: why ``decimal: auto`` reads decimal commas (:data:`SEMICOLON_SEPARATED`: a sheet of decimal
    points, Excel's in a Swiss locale, is one too; or :data:`TAB_SEPARATED_WITH_COMMAS`), else empty."""
    because = _because_of_decimal_commas(automatic)
    issues = []
    for position, name in enumerate(header):
        cells = frame[position].dropna()
        cells = cells[cells.map(lambda cell: isinstance(cell, str))]
        ambiguous = cells[cells.str.fullmatch(_GROUPED_POINTS.pattern)]
        if ambiguous.empty or not _numeric_column(name, frame[position]):
            continue
        issues += [_Issue(index + 1, position, value, _point_message(name, value, because), "ambiguous_point")
                   for index, value in ambiguous.items()]
    return issues


def _because_of_decimal_commas(automatic: str) -> str:
    """Why a sheet is read with decimal commas, said beside a point it has (:func:`_point_message`): ``automatic``,
    what made ``decimal: auto`` read them, else empty (``decimal: ,`` was set)."""
    return (f" (the sheet is read with decimal commas as it is {automatic}: {DECIMAL_POINT_SETTING} if "
            "it writes decimal points)") if automatic else ""


def _grouped_exponents(frame: pd.DataFrame, header: list[str]) -> list[_Issue]:
    """Cells of numeric columns such as ``\u22121.234,5e2`` in a sheet read with decimal commas
    (:data:`_GROUPED_EXPONENT`): not read, as a number with an exponent has no points between thousands, and
    told what they read as without the points (:func:`_grouped_exponent_message`)."""
    issues = []
    for position, name in enumerate(header):
        if header.index(name) != position or not _numeric_column(name, frame[position]):
            continue  # a repeated name: its first column is checked
        for index, value in frame[position].dropna().items():
            if isinstance(value, str) and _GROUPED_EXPONENT.fullmatch(value):
                issues.append(_Issue(index + 1, position, value, _grouped_exponent_message(name, value),
                                     "grouped_exponent"))
    return issues


def _grouped_exponent_message(column: str, value: str) -> str:
    """``\u22121.234,5e2`` in a decimal-comma sheet: what it is, what it reads as without its points between thousands
    (``\u22121234,5e2``, -123450), and that to write, or the rule of the column it breaks."""
    written = value.replace(".", "")
    number = f"{float(written.replace(MINUS, '-').replace(',', '.')):.15g}"  # 1234.567, not 1234.57
    what = ("has both points between thousands and an exponent, which are not read together: without the points "
            f'it is "{written}" ({_as_the_sheet_writes(number, comma=True)})')
    if (refusal := _failed_checks_message(column, number, pd.Series(dtype=object))) is None:
        return f'{what}: write "{written}"'
    return f"{what}, which the column does not take: {refusal}"


def _point_message(column: str, value: str, because: str) -> str:
    """``10.000`` in a decimal-comma sheet: ten thousand or ten, both readings offered; ``1.200`` in n: 1200, as an n
    of 1.2 is none (the decimal reading fails the column's checks), so that one is asked for; ``1.234.567``, with two
    points, has no decimal reading (it was a traceback): 1234567. A reading the column refuses is not offered (n =
    ``-3.400`` was told to write "-3,400"), and its Unicode minus is written a hyphen (``\u22121.234.567``)."""
    value = value.replace(MINUS, "-")
    thousands, empty = value.replace(".", "").lstrip("+"), pd.Series(dtype=object)
    refusal = _failed_checks_message(column, thousands, empty)
    if value.count(".") > 1:
        return f"is {thousands} written with points between thousands" + (
            f': write "{thousands}"' if refusal is None else f", which the column does not take: {refusal}")
    decimal_reading, written = float(value), _as_the_sheet_writes(value, column, comma=True)  # df "9.123": "9.1230"
    if (decimal_refusal := _failed_checks_message(column, str(decimal_reading), empty)) is not None:
        if refusal is None:
            return (f"is {thousands} written with a point between thousands ({column} = "
                    f'{_as_the_sheet_writes(f"{decimal_reading:g}", comma=True)} is impossible): write "{thousands}"')
        return (f"has a point in a sheet read with decimal commas, and the column takes neither reading: {thousands} "
                f"(the point between thousands) or {written} (a decimal point): {decimal_refusal}{because}")
    if refusal is not None:
        return (f'has a point in a sheet read with decimal commas: write "{written}" if it is a decimal point, as '
                f"{column} = {thousands} (the point between thousands) is impossible{because}")
    return (f'has a point in a sheet read with decimal commas: write "{thousands}" if the point separates thousands, '
            f'or "{written}" if it is a decimal point{because}')


def _numeric_column(name: str, cells: pd.Series) -> bool:
    """Whether a column holds numbers: the codebook's numeric columns, and columns outside the codebook whose
    every text cell is written as a number (a continuous moderator such as age), leaving aside the cells that hold
    no value (a dash, "?", a date Excel made of a typed 1/48: problems of their own if the column is analysed)."""
    if name in codebook.NUMERIC_COLUMNS:
        return True
    if name in codebook.CODEBOOK_COLUMNS:
        return False
    text = cells.dropna()
    text = text[text.map(lambda cell: isinstance(cell, str) and not is_placeholder(cell)
                         and _date_or_time_message(cell) is None)]  # one "Jan-48" left "34,5" unread, told "34.5"
    return bool(len(text)) and bool(text.str.fullmatch(r"[-+\u2212]?[\d.,]+(?:[eE][-+\u2212]?\d+)?").all())


def _column_name(cell: object, position: int) -> str:
    """A header cell as a column name: codebook columns in any case, with spaces or hyphens between
    words (``Study ID`` -> ``study_id``); other names as written, a line break in the cell read as a space."""
    name = _text_cell(cell)
    if name is None:
        return f"unnamed_{position + 1}"
    name = re.sub(r"\s*[\r\n]+\s*", " ", name)  # a line break typed into the cell (Alt+Enter) wraps it: a space
    return _CODEBOOK_NAMES.get(column_key(name), name)


def column_key(name: str) -> str:
    """A column name without case, with spaces or hyphens between words read as an underscore (``Study ID``
    -> ``study_id``; ``" r "`` -> ``r``): how a header cell is matched to a codebook column, and one coder's column to
    the other's."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


REPEATED_HEADER = ("repeats the header row (a block of rows pasted with its column names, or two sheets joined): "
                   "delete the row")


def _repeated_header_rows(frame: pd.DataFrame, header: list[str]) -> list:
    """The rows (``frame``'s index) below the header that repeat it: two or more of their cells, and at least half
    of their filled cells, name their own column (``Study ID`` under ``study_id``). Each was a problem per cell,
    some suggesting numbers ("n1": write "1")."""
    named = pd.DataFrame({position: frame[position].map(
        lambda cell, position=position: isinstance(cell, str) and _column_name(cell, position) == header[position])
        for position in frame.columns}, index=frame.index)
    same, filled = named.sum(axis=1), frame.notna().sum(axis=1)
    return list(frame.index[(same >= 2) & (2 * same >= filled)])


#: how far down a header with study_id is looked for, to say that the rows above it must go
HEADER_BELOW_ROWS = 20


def _header_below(rows: pd.DataFrame, header: list[str], looked_at: int = HEADER_BELOW_ROWS) -> list[_Issue]:
    """A title or notes above the header (the header must be row 1): the row below that has study_id."""
    if "study_id" in header:
        return []
    for index in range(1, min(len(rows), looked_at)):
        names = [_column_name(cell, position) for position, cell in enumerate(rows.iloc[index])]
        if "study_id" in names:
            return [_Issue(HEADER_ROW, None, "", f"the column names must be row 1, but row {index + 1} has study_id: "
                           f"delete the {'row' if index == 1 else f'{index} rows'} above it", "header_below")]
    return []


_CODEBOOK_NAMES = {column.lower(): column for column in codebook.CODEBOOK_COLUMNS}


def _text_cell(value: object) -> str | None:
    """A cell as the reviewer wrote it; None when empty or a missing-value marker. A number of a workbook
    has the 15 significant digits a spreadsheet keeps (and shows) of it."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, float):  # as the spreadsheet shows it: 15 significant digits (=0.07*100 is 7, not
        text = f"{value:.15g}"      # 7.000000000000001, an n that is not a whole number)
    elif isinstance(value, (datetime.date, datetime.datetime)):
        text = value.isoformat()
    else:
        text = _visible_text(str(value)).strip()
    return None if text.lower() in codebook.MISSING_MARKERS else text


#: Unicode format characters that are invisible in a cell (zero-width spaces and joiners, direction marks,
#: the byte-order mark, the soft hyphen): "S004" with a zero-width space after it looked like S004 and was
#: another study
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")


def _visible_text(text: str) -> str:
    """``text`` as it looks: composed accents (NFC; "Ö" typed as O and a combining diaeresis is "Ö") and
    no invisible format characters."""
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text))


# ---------------------------------------------------------------------------
# Checks (vectorised: each takes a Series or the whole frame, returns booleans)
# ---------------------------------------------------------------------------

def _is_number(text: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)), index=text.index)


def _in_vocabulary(column: str) -> Callable[[pd.Series], pd.Series]:
    lookup = VOCABULARIES[column].lookup

    def check(text: pd.Series) -> pd.Series:
        return text.map(codebook.vocabulary_key).isin(list(lookup))

    return check


def _is_whole(values: pd.Series) -> pd.Series:
    return values == np.round(values)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(np.nan, index=frame.index, dtype=float)


COLUMN_CHECKS: dict[str, list[pa.Check]] = {}
"""Checks of the typed values, per numeric column."""


def _add(columns: tuple[str, ...] | str, name: str, function: Callable[[pd.Series], pd.Series]) -> None:
    for column in (columns,) if isinstance(columns, str) else columns:
        COLUMN_CHECKS.setdefault(column, []).append(pa.Check(function, name=name))


_add(WHOLE_NUMBER_COLUMNS, "whole_number", _is_whole)
CORRELATION_COLUMNS = ("r", "rho", "kendall_tau", "partial_r")
_add(CORRELATION_COLUMNS, "correlation_range", lambda v: (v > -1) & (v < 1))
_add("beta", "beta_range", lambda v: (v > -1) & (v < 0.95))  # r = beta + .05 (beta >= 0) inside (-1, 1)
_add("n", "n_minimum", lambda v: v >= MINIMUM_N)
_add(("n1", "n2"), "group_minimum", lambda v: v >= MINIMUM_GROUP_SIZE)
_add(("n11", "n12", "n21", "n22", "n_covariates"), "non_negative", lambda v: v >= 0)
_add(("f", "chi2"), "non_negative", lambda v: v >= 0)
_add("df", "df_minimum", lambda v: v > MINIMUM_N - 3)
_add(("sd1", "sd2", "log_or_se", "odds_ratio", "or_ci_lower", "or_ci_upper"), "positive", lambda v: v > 0)
_add("p", "p_range", lambda v: (v > 0) & (v <= 1))
_add("year", "year_range", lambda v: (v >= FIRST_YEAR) & (v <= datetime.date.today().year + 1))
_add(codebook.RELIABILITY_COLUMNS, "reliability_range", lambda v: (v > 0) & (v <= 1))
_add("ux", "u_ratio_positive", lambda v: v > 0)


def _passes_checks(column: str, text: str, checks: list[pa.Check] | None = None) -> bool:
    """Whether the number ``text`` passes the checks of ``column`` (:data:`COLUMN_CHECKS`), or only ``checks``."""
    value = pd.Series([float(text)])
    return all(bool(check._check_fn(value).iloc[0])
               for check in (COLUMN_CHECKS.get(column, []) if checks is None else checks))


def passes_column_checks(column: str, values) -> np.ndarray:
    """Per number of ``values``, whether it passes every check of ``column`` (:data:`COLUMN_CHECKS`: n = 50.5 is no
    whole number, n1 = 1 too small a group); a missing value passes (an empty cell breaks none of them)."""
    numbers = pd.Series(values, dtype=float).reset_index(drop=True)
    passed = np.ones(len(numbers), dtype=bool)
    for check in COLUMN_CHECKS.get(column, []):
        passed &= check._check_fn(numbers).to_numpy(dtype=bool)
    return passed | numbers.isna().to_numpy()


#: the frame the value checks are validating and what they computed from it (:func:`_value_checks_of`)
_CHECKED_FRAME: contextvars.ContextVar[tuple[pd.DataFrame, dict] | None] = contextvars.ContextVar("checked_frame",
                                                                                                default=None)


@contextlib.contextmanager
def _value_checks_of(frame: pd.DataFrame):
    """While the value checks run on ``frame`` (validated in place, unchanged between checks), what several of them
    start from (:func:`_shared_by_the_value_checks`) is computed once; any other frame gets it computed anew."""
    token = _CHECKED_FRAME.set((frame, {}))
    try:
        yield
    finally:
        _CHECKED_FRAME.reset(token)


def _shared_by_the_value_checks(function):
    """``function(frame)``, computed once for the frame the value checks are validating (their input tables and base
    statistics: seven of twelve checks start from the same complete inputs, which took a third of a validation)."""
    @functools.wraps(function)
    def shared(frame):
        checked = _CHECKED_FRAME.get()
        if checked is None or checked[0] is not frame:
            return function(frame)
        if function.__name__ not in checked[1]:
            checked[1][function.__name__] = function(frame)
        return checked[1][function.__name__]
    return shared


@_shared_by_the_value_checks
def _rows_with_valid_values(frame: pd.DataFrame) -> pd.Series:
    """Rows whose every numeric value passes its column checks (:func:`passes_column_checks`)."""
    valid = np.ones(len(frame), dtype=bool)
    for column in COLUMN_CHECKS:
        if column in frame:
            valid &= passes_column_checks(column, frame[column])
    return pd.Series(valid, index=frame.index)


def filled_input_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per input kind: are all its columns filled on the row?
    (Ignores ``direction``; see :func:`complete_input_table`.)"""
    filled = frame.reindex(columns=list(codebook.INPUT_COLUMNS)).notna().to_numpy()
    position = {column: i for i, column in enumerate(codebook.INPUT_COLUMNS)}
    return pd.DataFrame({kind.name: filled[:, [position[c] for c in kind.columns]].all(axis=1)
                         for kind in INPUT_KINDS}, index=frame.index)


def _effect_sizes_module():
    """``alliance_meta.inputs.effect_sizes`` when installed (it owns the conversion rules)."""
    if importlib.util.find_spec("alliance_meta.inputs.effect_sizes") is None:
        return None
    from alliance_meta.inputs import effect_sizes
    return effect_sizes


@_shared_by_the_value_checks
def complete_input_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per input kind: can the row be converted with it?

    ``alliance_meta.inputs.effect_sizes.complete_inputs`` (unsigned kinds also need
    ``direction``); :func:`filled_input_table` until that module exists.
    """
    module = _effect_sizes_module()
    if module is None:
        return filled_input_table(frame)
    with np.errstate(all="ignore"):
        return module.complete_inputs(frame)


def disagreeing_rows(frame: pd.DataFrame) -> dict[object, str]:
    """Rows (index -> description) where two complete inputs disagree beyond rounding.

    ``alliance_meta.inputs.effect_sizes.input_disagreements`` decides (on the r scale, with
    each statistic's rounding slack); only rows whose values pass the column checks
    are compared. Without that module nothing is compared.
    """
    module = _effect_sizes_module()
    if module is None:
        return {}
    candidates = filled_input_table(frame).sum(axis=1) >= 2
    if not candidates.any():
        return {}
    valid = frame[candidates & _rows_with_valid_values(frame)]
    with np.errstate(all="ignore"):
        found = module.input_disagreements(valid)
    return {item.row: (f"{item.kind} gives r = {item.r:.3f}, {item.other_kind} gives r = {item.other_r:.3f}; "
                       f"rounding allows {item.allowed:.3f}") for item in found}


def _has_complete_input(frame: pd.DataFrame) -> pd.Series:
    return complete_input_table(frame).any(axis=1)


def _direction_given(frame: pd.DataFrame) -> pd.Series:
    filled = filled_input_table(frame)
    signed = [kind.name for kind in INPUT_KINDS if not kind.needs_direction]
    unsigned = [kind.name for kind in INPUT_KINDS if kind.needs_direction]
    needs = filled[unsigned].any(axis=1) & ~filled[signed].any(axis=1)
    return ~needs | _column(frame, "direction").notna()


def _partial_r_degrees_of_freedom(frame: pd.DataFrame) -> pd.Series:
    n, covariates, partial = (_column(frame, c) for c in ("n", "n_covariates", "partial_r"))
    applies = partial.notna() & n.notna() & covariates.notna()
    return ~applies | (n - covariates - 3 > 0)


def _odds_ratio_inside_ci(frame: pd.DataFrame) -> pd.Series:
    odds, lower, upper = (_column(frame, c) for c in ("odds_ratio", "or_ci_lower", "or_ci_upper"))
    applies = odds.notna() & lower.notna() & upper.notna()
    return ~applies | ((lower <= odds) & (odds <= upper) & (lower < upper))


@_shared_by_the_value_checks
def _first_complete_kind(frame: pd.DataFrame) -> pd.Series:
    """The input kind each row is converted from (NA: none complete), by :func:`complete_input_table`."""
    complete = complete_input_table(frame)
    return complete.idxmax(axis=1).where(complete.any(axis=1))


def _reversed(frame: pd.DataFrame) -> pd.Series:
    """``reverse = yes`` (the vocabulary's canonical spelling, as the checks of values see it)."""
    return _column(frame, "reverse").astype(object) == "yes"


def _chi2_is_the_input(frame: pd.DataFrame) -> pd.Series:
    """Rows with a chi2 that the row is (or, once its direction is given, would be) converted from: no other
    input kind complete. A chi2 beside a complete r or 2x2 table is not converted and not checked."""
    first = _first_complete_kind(frame)
    return _column(frame, "chi2").notna() & (first.isna() | (first == "chi2"))


def _chi2_within_n(frame: pd.DataFrame) -> pd.Series:
    """chi2 < n where chi2 is the row's input: phi = sqrt(chi2/n) of a 2x2 table lies below 1 (a larger chi2 is a
    chi-square of a larger table, one with more than 1 df, or the wrong n); else the row has no effect size."""
    n = _column(frame, "n")
    return ~(_chi2_is_the_input(frame) & n.notna()) | (_column(frame, "chi2") < n)


def _chi2_without_t_or_f(frame: pd.DataFrame) -> pd.Series:
    """Rows with a chi2 and no t or F that a ``df`` could belong to."""
    return _column(frame, "chi2").notna() & _column(frame, "t").isna() & _column(frame, "f").isna()


def _chi2_one_degree_of_freedom(frame: pd.DataFrame) -> pd.Series:
    """No ``df`` above 1 beside a chi2 (and no t or F): only a chi-square with 1 df (of a 2x2 table) converts to
    phi; the conversion ignored the df, reading chi2(2) = 6.2 as chi2(1). (df = 1 there fails ``df_minimum``, whose
    message then says to leave df empty.)"""
    df = _column(frame, "df")
    return ~(_chi2_is_the_input(frame) & _chi2_without_t_or_f(frame) & (df > 1))


@_shared_by_the_value_checks
def _base_statistics(frame: pd.DataFrame) -> dict:
    """Each row with a complete input and valid values (index -> the kind it is converted from, its r, d, g or log
    OR, the scale): what the conversion starts from (:func:`alliance_meta.inputs.effect_sizes.base_statistic`)."""
    module = _effect_sizes_module()
    if module is None:
        return {}
    first = _first_complete_kind(frame)
    rows = first.notna() & _rows_with_valid_values(frame)
    out = {}
    for kind in first[rows].unique():
        subset = frame.loc[rows & (first == kind)]
        with np.errstate(all="ignore"):
            base = module.base_statistic(subset, kind)
        for index, value in zip(subset.index, np.asarray(base.value, float)):
            out[index] = (kind, value, base.scale)
    return out


def _converts_to_an_effect(frame: pd.DataFrame) -> pd.Series:
    """A row's input converts to a finite effect: an r strictly inside (-1, 1), a finite d, g or log OR. A Fisher z
    of 19 (tanh 19 = 1.0 in doubles) or a p of 1e-17 with n = 4 reach r = 1, which no metric but z survives; the
    row was left out of the analyses with a line in the conversion's log. (chi2 >= n: :func:`_chi2_within_n`.)"""
    bad = [index for index, (kind, value, scale) in _base_statistics(frame).items()
           if kind != "chi2" and not (np.isfinite(value) and (scale != "r" or abs(value) < 1))]
    return pd.Series(~frame.index.isin(bad), index=frame.index)


def _no_effect_cells(row: pd.Series) -> dict[str, str]:
    """The input cell of a row whose input reaches no effect size (:func:`_converts_to_an_effect`), and why."""
    found = _base_statistics(_numeric_row(row))
    if not found:
        return {}
    kind, value, scale = next(iter(found.values()))
    column = INPUT_KIND_BY_NAME[kind].columns[0]
    hint = " (a z test statistic typed as a Fisher z?)" if kind == "fisher_z" else ""
    shown = _as_the_sheet_writes(f"{value:g}")
    reached = f"r = {shown}, a correlation of \u00b11 (infinite Fisher z)" if scale == "r" else f"{scale} = {shown}"
    return {column: f"converts to {reached}: no effect size; check the value{hint}"}


def _input_cell_text(row: pd.Series) -> str:
    """``r = 0.3``: the first cell of the input kind a row (as written) is converted from."""
    frame = _numeric_row(row)
    kind = _first_complete_kind(frame).iloc[0]
    if not isinstance(kind, str):
        return "the statistic"
    column = INPUT_KIND_BY_NAME[kind].columns[0]
    return f"{column} = {_cell_as_written(row, column)}"


def _numeric_row(row: pd.Series) -> pd.DataFrame:
    """A row as written (a problem's message gets the cells as typed) as a one-row frame of numbers."""
    frame = pd.DataFrame([row])
    for column in set(NUMERIC_COLUMNS) & set(frame.columns):
        frame[column] = pd.to_numeric(frame[column].map(_as_float), errors="coerce")
    return frame


def _reverse_of_unsigned(frame: pd.DataFrame) -> pd.Series:
    """No ``reverse = yes`` on a row converted from an unsigned statistic (F, chi2, p): its sign comes from
    ``direction`` alone, which already says how the alliance went with the outcome; flipping it again
    would turn ``direction = positive`` into a negative effect."""
    unsigned = _first_complete_kind(frame).isin([kind.name for kind in INPUT_KINDS if kind.needs_direction])
    return ~(unsigned & _reversed(frame))


def _direction_agrees_with_sign(frame: pd.DataFrame) -> pd.Series:
    """A ``direction`` beside a signed statistic (r, d, t, OR, ...) that the row is converted from agrees with
    that statistic's sign after ``reverse``: the conversion ignores ``direction`` there, so ``r = 0.3`` with
    ``direction = negative`` (meant as "the outcome scale is reversed") would enter as a positive effect. A row
    with an unsigned input (F, chi2, p) complete beside it is left to the check of disagreeing inputs: there
    ``direction`` signs that input."""
    module = _effect_sizes_module()
    if module is None or "direction" not in frame:
        return pd.Series(True, index=frame.index)
    unsigned = [kind.name for kind in INPUT_KINDS if kind.needs_direction]
    judged = frame["direction"].notna() & ~complete_input_table(frame)[unsigned].any(axis=1)
    # the base statistic (r, d, g or log OR) has the sign of the effect it converts to
    signs = {index: np.sign(value) for index, (_, value, _) in _base_statistics(frame).items() if judged[index]}
    if not signs:
        return pd.Series(True, index=frame.index)
    rows = list(signs)
    sign = np.array(list(signs.values())) * np.where(_reversed(frame.loc[rows]), -1, 1)
    wrong = sign * module.parse_direction(frame.loc[rows, "direction"]) < 0
    return pd.Series(~frame.index.isin(np.asarray(rows)[wrong]), index=frame.index)


def _counts_in_both_groups(frame: pd.DataFrame) -> pd.Series:
    """A 2x2 table has patients in both alliance groups (n11 + n12 > 0 and n21 + n22 > 0): with an
    empty group the odds ratio is not defined, and a continuity correction would invent one."""
    n11, n12, n21, n22 = (_column(frame, c) for c in ("n11", "n12", "n21", "n22"))
    applies = n11.notna() & n12.notna() & n21.notna() & n22.notna()
    applies &= (n11 >= 0) & (n12 >= 0) & (n21 >= 0) & (n22 >= 0)  # a negative count is its own problem
    return ~applies | ((n11 + n12 > 0) & (n21 + n22 > 0))


#: the sample sizes a complete 2x2 table gives: column -> the counts that add up to it
COUNT_TOTALS = {"n": ("n11", "n12", "n21", "n22"), "n1": ("n11", "n12"), "n2": ("n21", "n22")}


def _complete_table(frame: pd.DataFrame) -> pd.Series:
    """Rows with all four 2x2 counts (n11, n12, n21, n22) filled."""
    return pd.concat([_column(frame, c) for c in COUNT_TOTALS["n"]], axis=1).notna().all(axis=1)


def _counts_match_sizes(frame: pd.DataFrame) -> pd.Series:
    """A complete 2x2 table agrees with the n, n1 and n2 typed beside it (each its counts' sum): with 115
    dropouts coded in a group of n1 = 100, or counts adding up to 155 patients beside n = 100, one of them is a
    slip, and the counts would silently decide the analysis."""
    counts = {c: _column(frame, c) for c in COUNT_TOTALS["n"]}
    applies = _complete_table(frame)
    agree = pd.Series(True, index=frame.index)
    for size, cells in COUNT_TOTALS.items():
        typed = _column(frame, size)
        agree &= typed.isna() | (typed == sum(counts[c] for c in cells))
    return ~applies | agree


def _count_size_cells(row: pd.Series) -> dict[str, str]:
    """Each typed sample size that its 2x2 counts contradict, with the sum they give."""
    cells = {}
    first = _count_groups(row)[0]
    first += "-alliance group" + (" (reverse = yes)" if first == "weaker" else "")
    for size, counts in COUNT_TOTALS.items():
        typed, values = _as_float(row.get(size)), [_as_float(row.get(c)) for c in counts]
        if math.isnan(typed) or typed == sum(values):
            continue
        total, typed = _as_the_sheet_writes(f"{sum(values):g}"), _cell_as_written(row, size)  # read; as written
        cells[size] = (f"the 2x2 counts give {size} = {' + '.join(counts)} = {total}, not {typed}: check "
                       "the counts (n11, n21: favourable outcome, n12, n22: unfavourable; the first pair the "
                       f"{first}) or {size}, or leave {size} empty (the counts give it)")
    return cells


def _group_size_notes(clean: pd.DataFrame, shown: int = 5) -> list[str]:
    """Rows with n, n1 and n2 where n is not n1 + n2 (and no complete 2x2 table, which counts_disagree_with_n
    checks), as a note: a group comparison (d, g, means, t, F, p between groups) takes its n from n1 + n2 and
    leaves the typed n aside, while a correlation's variance takes n and n1, n2 only convert it to d. A slip, or n
    randomised beside the groups analysed: a note, not a problem, so that such a sheet still runs."""
    if clean.empty:
        return []
    n, n1, n2 = (_column(clean, c) for c in ("n", "n1", "n2"))
    differ = n.notna() & n1.notna() & n2.notna() & ~_complete_table(clean) & (n != n1 + n2)
    if not differ.any():
        return []
    rows = [f"row {row} (n = {a:g}, n1 + n2 = {b:g})" for row, a, b in
            zip(clean.loc[differ, SHEET_ROW].iloc[:shown], n[differ].iloc[:shown], (n1 + n2)[differ].iloc[:shown])]
    more = f" and {int(differ.sum()) - shown} more" if differ.sum() > shown else ""
    return [f"n is not n1 + n2 in {'; '.join(rows)}{more}: a group comparison (d, g, means, t, F or p between "
            "groups) takes its n from n1 + n2 and leaves n aside, while a correlation's variance takes n and n1, n2 "
            "only convert it to d; check them, or leave out the one the row does not need"]


def _inputs_agree(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(~frame.index.isin(list(disagreeing_rows(frame))), index=frame.index)


# ---------------------------------------------------------------------------
# The two schemas
# ---------------------------------------------------------------------------

TEXT_SCHEMA = pa.DataFrameSchema(
    {
        "study_id": pa.Column(nullable=False, required=True,
                              checks=pa.Check(lambda ids: ~ids.map(is_placeholder), name="study_id_placeholder")),
        **{column: pa.Column(nullable=True, required=False, checks=pa.Check(_is_number, name="number"))
           for column in NUMERIC_COLUMNS},
        **{column: pa.Column(nullable=True, required=False,
                             checks=pa.Check(_in_vocabulary(column), name="vocabulary"))
           for column in VOCABULARIES},
    },
    strict=False,
    name="sheet as written",
)
"""Cells as written: identifiers filled, numbers that parse, values in vocabularies."""

VALUE_SCHEMA = pa.DataFrameSchema(
    {column: pa.Column(float, nullable=True, required=False, checks=checks)
     for column, checks in COLUMN_CHECKS.items()},
    checks=[
        pa.Check(_has_complete_input, name="no_complete_input", ignore_na=False),
        pa.Check(_direction_given, name="direction_missing", ignore_na=False),
        pa.Check(_partial_r_degrees_of_freedom, name="partial_r_degrees_of_freedom", ignore_na=False),
        pa.Check(_odds_ratio_inside_ci, name="odds_ratio_outside_ci", ignore_na=False),
        pa.Check(_chi2_within_n, name="chi2_exceeds_n", ignore_na=False),
        pa.Check(_chi2_one_degree_of_freedom, name="chi2_degrees_of_freedom", ignore_na=False),
        pa.Check(_converts_to_an_effect, name="no_finite_effect", ignore_na=False),
        pa.Check(_reverse_of_unsigned, name="reverse_of_unsigned", ignore_na=False),
        pa.Check(_direction_agrees_with_sign, name="direction_contradicts_sign", ignore_na=False),
        pa.Check(_counts_in_both_groups, name="counts_empty_group", ignore_na=False),
        pa.Check(_counts_match_sizes, name="counts_disagree_with_n", ignore_na=False),
        pa.Check(_inputs_agree, name="inputs_disagree", ignore_na=False),
    ],
    strict=False,
    name="sheet values",
)
"""Typed values: ranges, sample sizes, and rules across the columns of a row."""


def text_schema(continuous_moderators=()) -> pa.DataFrameSchema:
    """``TEXT_SCHEMA`` plus a number check on every configured continuous moderator
    (codebook numeric columns such as ``year`` are checked already)."""
    extra = {}
    for name in dict.fromkeys(continuous_moderators):
        if name in NUMERIC_COLUMNS or name == "study_id":
            continue
        existing = TEXT_SCHEMA.columns.get(name)
        checks = list(existing.checks) if existing is not None else []
        extra[name] = pa.Column(nullable=True, required=False,
                                checks=[*checks, pa.Check(_is_number, name="moderator_number")])
    return TEXT_SCHEMA.add_columns(extra) if extra else TEXT_SCHEMA


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """How a failed check is told to the reviewer: group heading, message, and the
    column reported for a row-wise check; ``cells``, when it names any, the cells of the
    row to report instead (column -> message)."""

    heading: str
    message: Callable[[str, str, pd.Series], str]
    column: str = ""
    cells: Callable[[pd.Series], dict[str, str]] | None = None


def _odds_ratio_ci_message(row: pd.Series) -> str:
    lower, upper = row.get("or_ci_lower"), row.get("or_ci_upper")
    low, high = _as_float(lower), _as_float(upper)
    if low > high:
        return f"its confidence interval is written upper limit first ({lower}, {upper}): swap or_ci_lower and or_ci_upper"
    if low == high:
        return f"its confidence interval [{lower}, {upper}] has no width: check or_ci_lower and or_ci_upper"
    return f"must lie inside its confidence interval [{lower}, {upper}]"


def _empty_group_message(row: pd.Series) -> str:
    empty = [f"no patients in the {name} group ({' + '.join(cells)} = 0)"
             for name, cells in zip((f"{group}-alliance" for group in _count_groups(row)),
                                    (("n11", "n12"), ("n21", "n22")))
             if all(_as_float(row.get(cell)) == 0 for cell in cells)]
    what = "every count of the 2x2 table is 0" if len(empty) == 2 else f"the 2x2 table has {empty[0]}"
    return f"{what}: the odds ratio is not defined; check the counts or leave the row out"


def _cell_text(value) -> str:
    """A cell of a row as the problem list shows it ("" when empty)."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _as_float(value) -> float:
    """A cell of a row-wise message as a number (NaN when it is none, as ``1_000`` is, which Python's float reads)."""
    if isinstance(value, str) and "_" in value:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _date_or_time_message(value: str) -> str | None:
    """What a date or a time of day in a numeric cell is (a workbook's date, or one a CSV export wrote as the
    spreadsheet shows it: 02.01.2024, 1/2/24, 2-Jan, Jan-48), whose digits are no number to suggest; else None."""
    text = value.strip()
    if _ISO_DATE.fullmatch(text) or _SHOWN_DATE.fullmatch(text):
        return ("is a date, not a number: the cell is formatted as a date in the spreadsheet (Excel also turns a "
                "typed 1/48 or 3-4 into one); format it as a number and type the value")
    # a number below 1 in a date- or time-formatted cell
    if re.fullmatch(r"[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?", text):
        return ("is a time of day, not a number: the cell is formatted as a date or time in the spreadsheet; "
                "format it as a number and type the value")
    return None


#: the Arabic decimal separator (U+066B), thousands separator (U+066C) and percent sign (U+066A) as 0-9 numbers
#: write them: a point, nothing (a comma would be read as a decimal comma: 4\u066c500 is 4500, not 4.5) and "%"
_ARABIC_SEPARATORS = {"\u066b": ".", "\u066c": "", "\u066a": "%"}
#: minus signs other than the Unicode minus (a cell's own sign, :func:`_read_as_negative`) that are a hyphen-minus:
#: the fullwidth (U+FF0D) and small (U+FE63) hyphen-minus, as typed with fullwidth digits ("\uff0d\uff12": -2)
_OTHER_MINUS_SIGNS = {"\uff0d": "-", "\ufe63": "-"}
#: the one table of the marks of numbers in other scripts as 0-9 numbers write them (the digits are mapped by
#: :func:`_in_ascii_digits`; :func:`suggest_number` maps only these, of a cell in 0-9 such as "\u066b5" or "\uff0d2,5")
_OTHER_MARKS = str.maketrans({**_ARABIC_SEPARATORS, **_OTHER_MINUS_SIGNS})


def _other_digits(text: str) -> str | None:
    """The script of the decimal digits other than 0-9 in ``text`` (``Arabic-Indic``, ``Devanagari``, ``Fullwidth``),
    None where it has none. No cell is read with them (pandas reads no number of them): each is refused, with the
    value in 0-9 to write (:func:`_number_message`)."""
    other = next((character for character in text if character.isdecimal() and not character.isascii()), None)
    return None if other is None else unicodedata.name(other, "other").rsplit(" DIGIT ", 1)[0].title()


def _in_ascii_digits(text: str) -> str:
    """``text`` with each Unicode decimal digit as its 0-9 digit (``unicodedata.decimal``) and the Arabic separators,
    percent sign and other minus signs as :data:`_OTHER_MARKS` has them: ``\u0660\u066b\u0665`` -> ``0.5``,
    ``\uff0d\uff12`` -> ``-2``."""
    return "".join(str(unicodedata.decimal(character)) if character.isdecimal() else character
                   for character in text).translate(_OTHER_MARKS)


#: why the sheet being validated is read with decimal commas (:func:`read_sheet`'s ``attrs["decimal_commas"]``;
#: empty: it is not), for a cell in digits other than 0-9 to be told what its value in 0-9 is told there
_SHEET_DECIMAL_COMMAS: contextvars.ContextVar[str] = contextvars.ContextVar("sheet_decimal_commas", default="")
#: the cells of the sheet being validated that were read other than as written (:func:`read_sheet`'s
#: ``attrs["as_written"]``: ``0,45`` read as 0.45), for a message to quote a cell as the sheet has it
_SHEET_AS_WRITTEN: contextvars.ContextVar[dict] = contextvars.ContextVar("sheet_as_written", default={})


def _cell_as_written(row: pd.Series, column: str, value: object = None) -> str:
    """A cell of ``row`` (its name the sheet row, as :func:`_problems` passes it) that a message quotes, as the sheet
    has it (:data:`_SHEET_AS_WRITTEN`): ``0,45`` read as 0.45 is ``0,45``, and ``20.5`` in a sheet of decimal
    commas, read as it is, ``20.5`` (not ``20,5``: a number read or offered has the sheet's mark,
    :func:`_as_the_sheet_writes`, a cell is as written); ``value``: the cell as read, where it is not ``row``'s."""
    written = _SHEET_AS_WRITTEN.get().get((row.name, column))
    return str(written) if written is not None else _cell_text(row.get(column) if value is None else value)


def _decimal_mark() -> str:
    """The decimal mark of the sheet being validated (:data:`_SHEET_DECIMAL_COMMAS`), as its advice names it."""
    return "decimal comma" if _SHEET_DECIMAL_COMMAS.get() else "decimal point"


def _as_the_sheet_writes(number: str, column: str = "", comma: bool | None = None) -> str:
    """A number a message quotes, as read or to write (``-2.5``, with a decimal point), with the decimal mark of the
    sheet being validated: ``-2,5`` in a sheet read with decimal commas, where every other number is written so
    (:func:`_point_message`); the one place a message gives a number its decimal mark. Only a number with one
    decimal point is rewritten (``1200``, ``1.234,5`` are not). A df (``column``) that the sheet would take for F's
    two df with a comma (``9,75``: :func:`_decimal_point`) is written in the shortest form the sheet reads as meant
    (:func:`_df_read_as`), its comma preferred: ``2,4`` for 2.400, ``9.75`` for 9.75 and 9.750 (``9,75`` is F's two
    df, ``9.750`` a point between thousands), ``9.1230`` for 9.123 (``9,123``, ``9.123``, ``9,1230`` are not it).
    ``comma``: whether the sheet is read with decimal commas, for a message made while it is read
    (:func:`_point_message`)."""
    if not (_SHEET_DECIMAL_COMMAS.get() if comma is None else comma) or not _POINT_DECIMAL.fullmatch(number):
        return number
    written = number.replace(".", ",")
    if column != "df" or not _BOTH_DEGREES_OF_FREEDOM.fullmatch(written):
        return written
    shortest, meant = number.rstrip("0").rstrip("."), float(number)
    return next(form for zeros in range(2) for point in (shortest + "0" * zeros,)
                for form in (point.replace(".", ","), point) if _df_read_as(form) == meant)


def _df_read_as(cell: str) -> float | None:
    """The df a cell of a sheet read with decimal commas is read as (:func:`_decimal_point`), None where it is none:
    F's two df (``9,75``, :data:`_BOTH_DEGREES_OF_FREEDOM`), a point between thousands (``9.123``, a problem of its
    own: :func:`_ambiguous_points`) or no number."""
    if _GROUPED_POINTS.fullmatch(cell):
        return None
    try:
        return float(_decimal_point(cell, "df"))
    except ValueError:
        return None


def _one_number() -> str:
    """How a number is to be written, in the advice to write one: "(decimal point, no text or units)"."""
    return f"({_decimal_mark()}, no text or units)"


_NUMBER_TEXT = r"[-+\u2212]?(?:[0-9]+(?:[.,][0-9]+)*|[.,][0-9]+)(?:[eE][-+\u2212]?[0-9]+)?"
#: two numbers joined by a dash or "to" (``2-4``, ``2\u20134``, ``.2-.3``, ``40 to 45``, ``2001-2002``,
#: ``3e-1-4e-1``), also with a remark in brackets after it (``2 \u2013 4 (range)``): a range, of which neither end is
#: the value of the cell (a date, ``2004-01-02``, is told so before)
_RANGE = re.compile(rf"\s*{_NUMBER_TEXT}\s*(?:[-\u2012\u2013\u2014\u2212~]|to|bis)\s*{_NUMBER_TEXT}\s*"
                    r"(?:\([^()0-9]*[^\W\d_][^()0-9]*\)\s*)?", re.IGNORECASE)
#: two numbers as a paper prints a mean and its SD (``0.3 (0.1)``, ``0.3 \u00b1 0.1``), a statistic and its df
#: (``2.1 (48)``) or a list (``0,3;0,4``, ``20/25``, ``0.3, 0.4``: a comma and a space part two numbers, in a sheet
#: of either decimal mark; ``0.3,0.4`` has mixed marks, no number either)
_TWO_NUMBERS = re.compile(rf"\s*{_NUMBER_TEXT}\s*(?:\(\s*{_NUMBER_TEXT}\s*\)"
                          rf"|(?:[;/\u00b1]|\+/-|,(?=\s))\s*{_NUMBER_TEXT})\s*")

#: a year and two or four digits (``2001-02``, ``2001-2002``): years, or a year and its month; not ``.2-.3``, ``2-4``
_YEARS = re.compile(r"\s*[0-9]{4}\s*(?:[-\u2012\u2013\u2014\u2212~]|to|bis)\s*(?:[0-9]{2}|[0-9]{4})\s*", re.IGNORECASE)


def _range_message(column: str, value: str) -> str | None:
    """What a range (:data:`_RANGE`) or a pair of numbers (:data:`_TWO_NUMBERS`) in a numeric cell is told: that one
    value is needed, with none offered (its first number, "write 2" of "2-4" or "write 0.3" of "0.3 (0.1)" in sd1,
    was taken for the value); None for any other cell."""
    if _RANGE.fullmatch(value):
        if column == "year" and _YEARS.fullmatch(value):  # "2001-02": 2001 to 2002, or February 2001
            return ("looks like a range of years or a date (a year and month), not one year: write the one year of "
                    "publication (e.g. 2004)")
        return ("looks like a range, not a single value: write the one value the study reports for this cell (no "
                "value is taken from a range)")
    if _space_after_comma(value):  # "1, 000": 1000 with a stray space, not two numbers
        return (f"is not a number {_one_number()}: the space after its comma makes it no number; write the one value "
                f"of {column} the study reports")
    if _TWO_NUMBERS.fullmatch(value):
        return f"holds two numbers, not one: write the one value of {column} the study reports"
    return None


def _space_after_comma(value: str) -> bool:
    """Whether ``value`` is digits with a space after a comma that is no list of two numbers (:data:`_TWO_NUMBERS`):
    ``1, 000``, groups of thousands (:func:`_thousands_groups`) with a stray space after a comma, or, in a sheet
    read with decimal commas, ``2, 5``, whose parts would form the sheet's decimal (2,5 and a stray space)."""
    if not re.fullmatch(r"\s*[-+\u2212]?[0-9]+(?:,\s+[0-9]+)+\s*", value):
        return False
    joined = re.sub(r"\s", "", value)
    return bool(re.fullmatch(rf"[-+\u2212]?{_thousands_groups(',')}", joined)
                or _SHEET_DECIMAL_COMMAS.get() and _DECIMAL_COMMA.fullmatch(joined))


def _other_digits_message(value: str, told: str | None, written: str | None = None) -> str:
    """That ``value`` is written in digits other than 0-9 (read by no route): with the value in 0-9 to write where
    ``told`` is None (that is read; ``written``, else its digits in 0-9), else followed by ``told``, what the value in
    0-9 is told, with its connector (``" and is not a number ..."``, ``", which the column does not take: ..."``), in
    the same problem."""
    script, written = _other_digits(value), written or _in_ascii_digits(value).strip()
    if told is None:
        return f'is written in {script} digits, which are not read: write it in the digits 0-9, "{written}"'
    return f'is written in {script} digits ("{written}" in 0-9){told}'


def _in_other_digits_message(column: str, value: str, row: pd.Series,
                             not_a_number: Callable[[str, str, pd.Series], str]) -> str:
    """What a cell of ``column`` in digits other than 0-9 is told (:func:`_other_digits_message`): its value in 0-9,
    read as the sheet reads it (:data:`_SHEET_DECIMAL_COMMAS`: ``0,5`` a number, ``1.200`` a point between thousands
    or a decimal one, :func:`_point_message`; a Unicode minus a minus sign, :func:`_read_as_negative`), is told
    ``not_a_number``'s message where it is no number, else what a cell of it is told of the column's checks it fails
    (:func:`_failed_checks_message`); where it is read, it is the value to write (its minus a hyphen). A date in
    ``year`` is read as its year (:func:`year_of_date`, the serial dates of Excel's 1900 date system)."""
    written, comma = _in_0_to_9(column, value), _SHEET_DECIMAL_COMMAS.get()
    if comma and _GROUPED_POINTS.fullmatch(written):
        return _other_digits_message(
            value, f" and {_point_message(column, written, _because_of_decimal_commas(_automatic(comma)))}")
    if comma and _GROUPED_EXPONENT.fullmatch(written):
        return _other_digits_message(value, f" and {_grouped_exponent_message(column, written)}")
    text = _as_read(column, written)
    if not _is_number(pd.Series([text])).iloc[0]:
        return _other_digits_message(value, f" and {not_a_number(column, text, row)}")
    refusal = _failed_checks_message(column, text, row)
    if refusal is None:  # the value to write, with the sheet's decimal mark (٠٫٣: "0,3" in a sheet of them)
        return _other_digits_message(value, None, _as_the_sheet_writes(written, column))
    return _other_digits_message(value, f", which the column does not take: {refusal}", written)


def _in_0_to_9(column: str, value: str) -> str:
    """A cell in digits other than 0-9 in 0-9 (:func:`_in_ascii_digits`), its Unicode minus a hyphen where the sheet
    reads it as a minus sign (:func:`_read_as_negative`: "\u2212\u0660\u066b\u0663" -> "-0.3"): the value to write."""
    written = _in_ascii_digits(value).strip()
    return written.replace(MINUS, "-") if _read_as_negative(written, column, bool(_SHEET_DECIMAL_COMMAS.get())) \
        else written


def _as_read(column: str, written: str) -> str:
    """A cell's value in 0-9 (:func:`_in_0_to_9`) as the sheet reads it: a decimal comma a point in a sheet of them
    (:func:`_decimal_point`), a date in year its year (:func:`year_of_date`)."""
    text = _decimal_point(written, column) if _SHEET_DECIMAL_COMMAS.get() else written
    return year_of_date(text, EXCEL_EPOCH) if column == "year" else text


def _other_digits_thousands(column: str, value: str) -> bool:
    """Whether the problem of a cell in digits other than 0-9 (:func:`_in_other_digits_message`) gives the advice on
    thousands separators its value in 0-9 would be given, and so counts towards its column's line on them
    (:func:`_column_format`) as that value would: in a sheet of decimal commas a number of a whole-number column with
    points between thousands (:func:`_point_message`); else a number the column refuses as read that passes as
    thousands (:func:`_thousands_to_write`, told by :func:`_broken_rules_message`). Not sd1 =
    "\u0662.\u0665\u0660\u0660", which passes as 2.5 (told to write "2.500"), nor a cell that is no number
    ("\u2212\u0663.\u0664\u0660\u0660" in n)."""
    written = _in_0_to_9(column, value)
    if _SHEET_DECIMAL_COMMAS.get() and _GROUPED_POINTS.fullmatch(written):
        return column in WHOLE_NUMBER_COLUMNS
    text = _as_read(column, written)
    return bool(_is_number(pd.Series([text])).iloc[0]) and not _passes_checks(column, text) \
        and _thousands_to_write(column, text) is not None


def _failed_checks_message(column: str, number: str, row: pd.Series) -> str | None:
    """What the number ``number`` of ``column`` is told of the checks (:data:`COLUMN_CHECKS`) it fails, as a cell of
    it is (:func:`_broken_rules_message`); None where it passes them all."""
    failed = [check.name for check in COLUMN_CHECKS.get(column, []) if not _passes_checks(column, number, [check])]
    return _broken_rules_message(column, number, row, failed) if failed else None


def _number_message(column: str, value: str, row: pd.Series) -> str:
    if _other_digits(value):  # "\u0660.\u0665\u0660\u0660" (0.500): its 0-9 to write, or what that is told
        return _in_other_digits_message(column, value, row, _number_message)
    if column == "year" and re.search(r"\d{4}", value) and re.search(r"[./]", value):  # 4/5/1905: day or month first?
        return "is not a year: write the year of publication (e.g. 2004)"
    if (message := _date_or_time_message(value)) is not None:
        return message
    if is_placeholder(value):
        return PLACEHOLDER_MESSAGE
    if column == "year" and not re.search(r"\d", value):  # "in press", "n.d.", "unpublished"
        return "is not a year: leave the cell empty for a study without one (in press, no date); year is optional"
    if column == "df" and (message := _degrees_of_freedom_message(value, row)):
        return message
    if (message := _range_message(column, value)) is not None:  # sd1 = 2-4: was told to write "2"
        return message
    if column == "r" and (message := _r_squared_message(value)) is not None:  # "R\u00b2 = .09": was told "0.09"
        return message  # before the superscript of "delta R\u00b2 = .04" is told unread
    if (message := _unread_character_message(value)) is not None:  # "1_000", "2\u00b3": were told to write 1, 2
        return message
    if math.isinf(_as_float(value)):  # 1e400, or the text inf, -Infinity
        if not re.search(r"\d", value):
            return "is not a finite number: write the value the study reports"
        return "is not a number: its magnitude is beyond the largest number a computer stores (1.8e308); check the source"
    if column in codebook.INPUT_COLUMNS and column not in SIZE_COLUMNS and (  # "> .30" in r is a bound of r
            _NOT_SIGNIFICANT.fullmatch(value) or column == "p" and _ABOVE_A_P.fullmatch(value)):
        return ("says only that the result was not significant, which gives no value to convert: code the exact "
                f"statistic if the paper reports one (its p, t, F, means and SDs), {UNREPORTED}")
    if column == "p" and re.match(r"\s*p?\s*[<\u2264]", value, re.IGNORECASE) and suggest_number(value):  # p < .001
        bound = suggest_number(value)  # offered where it is a p ("p < 1.5", "<0": was offered 1.5, 0)
        return "is a bound, not a p value: write the exact p if the paper reports it" + (
            f'; "{_as_the_sheet_writes(bound)}", the bound, converts to a smaller effect than the study\'s (a '
            "conservative choice)" if _passes_checks(column, bound) else "")
    if column == "year" and two_digit_year(value):  # '98 as an abbreviated year
        return f'is not a number; read as a two-digit year, write "{two_digit_year(value)}"'
    suggestion = suggest_number(value, whole=column in WHOLE_NUMBER_COLUMNS)
    if suggestion and "%" in value and column in COUNT_CELLS:  # 85% of a group is no count of 85 patients
        return f"is a percentage, not a count: {_proportion_not_count(row)}"
    if suggestion and "%" in value and column in ("n", "n1", "n2"):  # 45% of a sample is no sample of 45
        return f"is a percentage, not a sample size: {_sample_size_to_write(column)}"
    if suggestion and "%" in value and column in (*codebook.RELIABILITY_COLUMNS, "p", *CORRELATION_COLUMNS):
        # 90% of a proportion; 25% of a correlation: a percent-formatted cell saved as CSV
        suggestion = f"{float(suggestion) / 100:g}"
    if suggestion and suggestion.startswith("-") and not _passes_checks(column, suggestion):
        # "\u22121.5" in r, "\u22122" in sd1: a minus sign (not "\u22122,5" in a sheet of decimal points: no number)
        if _UNICODE_MINUS_NUMBER.fullmatch(value.strip()) and ("," not in value or _SHEET_DECIMAL_COMMAS.get()):
            refused = (f"reads as {_as_the_sheet_writes(suggestion)} (its Unicode minus, {MINUS}, as a minus sign), "
                       f"which the column does not take: {_failed_checks_message(column, suggestion, row)}")
            if _passes_checks(column, suggestion[1:]):  # a sign error, or a dash typed as a minus ("\u22122004")
                return (f"{refused}; if the {MINUS} is a dash, not a minus sign, write "
                        f'"{_as_the_sheet_writes(suggestion[1:])}"')
            return refused
        if column not in WHOLE_NUMBER_COLUMNS and _passes_checks(column, suggestion[1:]) \
                or written_with_decimal_comma(column, value):
            # "-2,5" in sd1: was told to write "2.5", its sign silently dropped; the sign is kept, and refused; in r
            # it was told only "is not a number", without the decimal comma "2,5" is told of
            return _refused_number_message(column, value, suggestion, row)
        # a dash before a year or a count is no minus sign ("\u20132004"): the number without it, if that passes
        suggestion = suggestion[1:] if _passes_checks(column, suggestion[1:]) else None
    if suggestion and not _passes_checks(column, suggestion):  # "n=45" in r, "1 200" in r: was told to write "45", "1"
        if written_with_decimal_comma(column, value):  # "0,45" in n: its decimal comma still pointed out
            return _refused_number_message(column, value, suggestion, row)
        suggestion = None
    hint = f'; write "{_as_the_sheet_writes(suggestion)}"' if suggestion else ""
    if not suggestion and _MIXED_MARKS.search(value):  # "0.123,5e2", "1.2,3": were told no more than "not a number"
        return (f"is not a number {_one_number()}: it mixes a point and a comma, which are not read as one number's "
                f"marks here; write the value the study reports with the {_decimal_mark()} alone")
    return f"is not a number{hint} {_one_number()}{_decimal_comma_hint(column, value) if suggestion else ''}"


#: a point and a comma each between digits (``0.123,5e2``, ``1.2,3``, ``0.300,0.600``): a cell of mixed marks, told
#: so where no number is offered from it (:func:`_number_message`); ``2.500,5`` of a sheet of decimal commas is read
_MIXED_MARKS = re.compile(r"(?<=[0-9])\.(?=[0-9]).*(?<=[0-9]),(?=[0-9])|(?<=[0-9]),(?=[0-9]).*(?<=[0-9])\.(?=[0-9])")


def _decimal_comma_hint(column: str, value: str) -> str:
    """The advice to read the sheet's decimal commas, for a cell written with one (:func:`written_with_decimal_comma`);
    empty for any other."""
    return (f", or {DECIMAL_COMMA_SETTING} to read the sheet's decimal commas"
            if written_with_decimal_comma(column, value) else "")


def _refused_number_message(column: str, value: str, number: str, row: pd.Series) -> str:
    """A cell that is no number (``value``) but holds ``number``, which its column refuses (``-2,5`` in sd1, ``0,45``
    in n): that it is no number, the advice on a decimal comma it is written with (:func:`_decimal_comma_hint`), and
    the checks ``number`` fails (:func:`_failed_checks_message`), with no number offered to write."""
    return (f"is not a number {_one_number()}{_decimal_comma_hint(column, value)}; the number in it, "
            f'"{_as_the_sheet_writes(number)}", is one the column does not take: '
            f"{_failed_checks_message(column, number, row)}")


def written_with_decimal_comma(column: str, value: str) -> bool:
    """Whether a cell that is not a number is one with a decimal comma (``0,35``, ``-2,5``, ``- 2,5``: a sign and a
    space, as :func:`suggest_number` reads it), which ``decimal: ","`` reads: not ``1,200`` in a count (1200 with a
    thousands comma), ``1,48`` in df (F(1, 48)'s two df) nor ``2,40`` in df (F(2, 40)'s two df, or a Welch df of
    2.40: either, so no sign of a sheet of decimal commas), nor any cell of a sheet already read with decimal commas
    (:data:`_SHEET_DECIMAL_COMMAS`: "- 2,5" is no number there for its space)."""
    if column == "df" and _BOTH_DEGREES_OF_FREEDOM.fullmatch(value) or _SHEET_DECIMAL_COMMAS.get():
        return False
    if not re.fullmatch(r"\s*(?:[-\u2212]\s*)?\d*,\d+\s*", value):  # a decimal comma, e.g. a text cell of Excel
        return False
    suggestion = suggest_number(value, whole=column in WHOLE_NUMBER_COLUMNS)
    as_decimal = re.sub(r"\s", "", value).replace(MINUS, "-").replace(",", ".")
    return suggestion is not None and _as_float(suggestion) == _as_float(as_decimal)


#: a df cell holding F's two degrees of freedom: "1, 48", "(1,48)", "1/48", "F(1, 48)"; "1,48" (group ``one``: a
#: df of 1.48, read with a decimal comma, would be no study's, n = df + 2 < MINIMUM_N); "2,40" or "9,75" (group
#: ``comma``): F's two df or a Welch df written with a decimal comma (n = 4.4, 11.75: a study's), both readings
#: offered in any sheet; not "48,5" or "2,5" (a decimal comma: a Welch df)
_BOTH_DEGREES_OF_FREEDOM = re.compile(r"\s*(?:(?:F\s*)?\(\s*(\d+)\s*[,/;]\s*(\d+(?:\.\d+)?)\s*\)"
                                      r"|(\d+)\s*(?:,\s+|\s*[/;]\s*)(\d+(?:\.\d+)?)"
                                      r"|(?P<one>1),([1-9]\d*)|(?P<comma>[1-9]),([1-9]\d+))\s*")


#: how printed results name the chi-square, and the degrees of freedom, before their brackets or "="
_CHI_SQUARE_SYMBOLS = frozenset({"\u03c72", "\u03c7", "chi2", "chi", "chisquare", "chisquared", "chisq", "x2"})
_DF_SYMBOLS = frozenset({"df", "dfs", "dferror", "dof"})


def _degrees_of_freedom_message(value: str, row: pd.Series) -> str | None:
    """What a df cell holds instead of one df: a result as printed (``t(48) = 2.10``: its df, 48; ``t = 2.1``: none,
    so the paper's df or n - 2; ``χ²(1, N = 90) = 5.2``: a chi-square, which needs no df), a sample size (``N =
    50``), or F's two df (``1, 48``, ``F(1, 48)``: the second; ``9,75``: F(9, 75)'s or a Welch df of 9.75, both
    readings offered); None for a cell to read as a number (``df = 48``)."""
    text = value.strip().replace(MINUS, "-")
    pasted = _STATISTIC_LABEL.match(text)
    if pasted:
        symbol = re.sub(r"[\s\-\u2019'._]", "", pasted["symbol"].lower().replace("\u00b2", "2"))
        parts = [part.strip() for part in re.split(r"[,;]", pasted["inside"] or "") if part.strip()]
        dfs = [part for part in parts if re.fullmatch(r"\d+(?:\.\d+)?", part)]
        result = text.split(",")[0].strip() if not pasted["inside"] else text
        if symbol in _DF_SYMBOLS:
            return None  # "df = 48": the number after the "=" is suggested
        if symbol in _CHI_SQUARE_SYMBOLS:
            if dfs and float(dfs[0]) != 1:
                return (f"holds a chi-square result with {dfs[0]} df, not a df: only a chi-square with 1 df (of a "
                        "2x2 table) converts to a correlation; leave df empty and code another statistic the study "
                        "reports")
            return ("holds a chi-square result, not a df: a chi2 is taken as chi2(1) of a 2x2 table and needs no df; "
                    "write its value in chi2 and its N in n, and leave df empty")
        if symbol == "n" and not dfs:
            return (f"is a sample size, not a df: write the df the paper reports, or n - 2 for the t or F(1, df) "
                    f"of a correlation{_n_minus_two(pasted, text)}")
        if len(dfs) == 1:
            return f'holds a test result, not its df: write its df, "{dfs[0]}"'
        if not dfs:
            return (f"holds a test result ({result}), not its df, and gives none: write the df the paper reports "
                    f"(t(df) = ..., F(1, df) = ...), or n - 2 for the t or F of a correlation"
                    f"{_n_minus_two(None, str(row.get('n', '')))}")
        text = f"({dfs[0]}, {dfs[1]})"
    both = _BOTH_DEGREES_OF_FREEDOM.fullmatch(text)
    if not both:
        return None
    numerator, error = (group for group in both.groups() if group is not None)
    if float(numerator) == 1:
        decimal_comma = ""
        if both["one"]:  # "1,48": a df of 1.48 would be no study's
            df = f"{numerator}.{error}"
            decimal_comma = (f"; read with a decimal comma, {_as_the_sheet_writes(df)} would be the df of fewer than "
                             f"{MINIMUM_N} cases (n = df + 2 = {_as_the_sheet_writes(f'{float(df) + 2:g}')})")
        return (f'holds both degrees of freedom of F(1, {error}): write the second, "{error}" (df is the '
                f"error df of F(1, df) and of t(df)){decimal_comma}")
    several = (f"an F with {numerator} numerator df compares more than two groups (or tests several terms at once), "
               f"so it is no two-group t({error}) and converts to no correlation; code the alliance's own t or "
               "F(1, df) if the study reports it")
    if both["comma"]:
        # "9,75": F(9, 75)'s two df, or a Welch t's df of 9.75 written with a decimal comma (n = df + 2 = 11.75, a
        # study's as any of at least MINIMUM_N cases): both readings, neither taken for the reviewer
        point_form = f"{numerator}.{error}"
        decimal, write = (_as_the_sheet_writes(point_form, column) for column in ("", "df"))
        point = ""
        if write != decimal:  # "9,75" in df is F's two df: "9.75"; "2,400", "9,123": "2.400", "9.123" are thousands
            also = (f', and "{point_form}" for a point between thousands' if _GROUPED_POINTS.fullmatch(point_form)
                    else "")
            point = f' ({_how_the_df_is_written(write, decimal)}: "{decimal}" in df is taken for F\'s two df{also})'
        return (f"holds F({numerator}, {error})'s two degrees of freedom or, with a decimal comma, a Welch t's df "
                f'of {decimal}: if it is t({decimal}), write "{write}"{point}; if F({numerator}, {error}), {several}')
    return f"holds the degrees of freedom of F({numerator}, {error}): {several}"


def _how_the_df_is_written(write: str, written: str) -> str:
    """How a Welch df offered by :func:`_as_the_sheet_writes` (``write``) differs from the cell ``written``, whose
    decimal comma would be F's two df: ``with a point`` (``9.75`` of ``9,75``), ``without its trailing zeros``
    (``2,4`` of ``2,400``), ``with a point, without its trailing zero`` (``9.75`` of ``9,750``), ``with a point and
    a 0 more`` (``9.1230`` of ``9,123``)."""
    decimals, given = (len(re.split(r"[.,]", cell)[1]) if re.search(r"[.,]", cell) else 0 for cell in (write, written))
    how = ["with a point"] if "." in write else []
    if decimals < given:
        how.append(f"without its trailing zero{'s' if given - decimals > 1 else ''}")
    elif decimals > given:
        how.append(f"and {'a 0' if decimals - given == 1 else f'{decimals - given} zeros'} more")
    return ", ".join(how).replace(", and", " and")


def _n_minus_two(pasted: re.Match | None, text: str) -> str:
    """`` (n - 2 = 48 here)`` for the sample size after a label's "=" (or a cell of n), when it is one."""
    number = _as_float(text[pasted.end():] if pasted else text)
    return f" (n - 2 = {number - 2:g} here)" if np.isfinite(number) and number >= MINIMUM_N and number % 1 == 0 else ""


#: a statistic reported only as not significant: "ns", "n.s.", "not significant", "p > .05" (in p also "> .05")
_NOT_SIGNIFICANT = re.compile(r"\s*(?:n\.?\s?s\.?|not\s+significant|non-?significant|p\s*[>\u2265]\s*0?\.\d+)\s*",
                              re.IGNORECASE)
_ABOVE_A_P = re.compile(r"\s*[>\u2265]\s*0?\.\d+\s*")


#: What a spreadsheet shows for "not reported" but is no missing-value marker (codebook.MISSING_MARKERS): a dash
#: could be a minus sign whose number was lost, so it is a problem, with the way to say "missing".
PLACEHOLDER_MESSAGE = ("is not a number: a dash, \"?\" or \"not reported\" is not read as missing; leave the cell "
                       "empty (or write NA) when the study does not report the value")


def is_placeholder(text: str) -> bool:
    """A dash (-, --, an en or em dash, the minus sign), a question mark, or "NR", "n.r.", "not reported", "unknown",
    "not available", "not stated" alone in a cell."""
    text = text.strip().lower()
    return bool(re.fullmatch(r"[-\u2012\u2013\u2014\u2212]+|\?+|n\.? ?r\.?|not (?:reported|available|stated)|unknown",
                             text))


#: the label of a result as APA prints it, up to its "=": "n =", "t(48) =", "r(98)=", "χ²(1, N = 90) =", "chi2 =",
#: "Chi-square(1) =" (``symbol``: the letters before the brackets; ``inside``: the brackets' text, the df)
_STATISTIC_LABEL = re.compile(r"\s*(?P<symbol>[^\W\d]*(?:-[^\W\d]+)*2?)\s*(?:\((?P<inside>[^()]*)\))?\s*=")


def suggest_number(text: str, whole: bool = False) -> str | None:
    """The number a reviewer probably meant: ``"0,35"`` -> ``"0.35"``, ``"n=45"`` ->
    ``"45"``, ``"t(48) = 2.10"`` -> ``"2.10"`` (the value, not its df), ``"p < .001"`` or ``"<,001"`` -> ``"0.001"``,
    ``"1,200"``, ``"1 200"`` or ``"1'200"`` -> ``"1200"`` in a count, ``"2005a"`` -> ``"2005"``; nothing
    where a letter that looks like a digit (o, O, l, I) touches the digits (``"12o"``: 12, 120 or 12.0?), nor where a
    character the digits are not read with is among them (:func:`_unread_character`: ``"1_000"``, ``"2\u00b3"`` were
    offered 1 and 2, a part of the cell)."""
    text = text.strip().replace(MINUS, "-").replace("\u2013", "-").translate(_OTHER_MARKS)  # "\uff0d2": -2
    label = _STATISTIC_LABEL.match(text)
    text = text[label.end():].strip() if label else text  # "\u03c7\u00b2 = 5.2": its label's 2 is no digit of it
    if _unread_character(text):
        return None
    text = re.sub(r"^([-+])\s+(?=[0-9.,])", r"\1", text)  # "- 2,5": its sign (was "2.5")
    sign, body = re.match(r"(-?)\+?(.*)", text, re.DOTALL).groups()  # "-1 234 567": -1234567 (was "-1")
    # 1,200  1'200  1 200; but for a count a comma alone: "1 200" in sd1 was "1", its 200 dropped
    if _THOUSANDS_SEPARATED.fullmatch(body) and (whole or "," not in body):
        return sign + re.sub(r"\D", "", body)
    # groups of a space or an apostrophe before a decimal mark, "1 200,5" or "1 200.5": 1200.5 (was "1")
    spaced = "|".join(_thousands_groups(separator) for separator in "'\u2019 \u00a0\u202f")
    if grouped := re.fullmatch(rf"({spaced})[.,]([0-9]+)", body):
        return sign + re.sub(r"\D", "", grouped[1]) + "." + grouped[2]
    # separators of thousands beside a decimal mark, "1.234,5" or "1,234.5": 1234.5 (was "1.234" of "1.234.5")
    # ("0.300,0.600", two numbers, is neither: no group starts with 0, and the decimals end the number)
    for separator, mark in ((".", ","), (",", ".")):
        text = re.sub(rf"(?<![\d.,]){_thousands_groups(separator)}(?={re.escape(mark)}\d+(?![\d.,]))",
                      lambda found: found[0].replace(separator, ""), text)
    if any(re.fullmatch(_thousands_groups(separator, least=2), body) for separator in ",.'\u2019 \u00a0\u202f"):
        return sign + re.sub(r"\D", "", body)  # 1,234,567: 1234567
    # marks repeated ("0..3", "1.2.3", "12,5,3") or mixed but not thousands beside a decimal mark ("1.2,3",
    # "0.300,0.600", two numbers): no one number (was "0.", "1.2", "12.5", "1.2", "0.300")
    marks = re.search(r"[.,][0-9]*[.,][0-9]", text)
    text = re.sub(r"(?<=\d),(?=\d)", ".", text)
    text = re.sub(r"(?<![\d.]),(?=\d)", "0.", text)  # "<,001", ",35": a decimal comma without its 0
    match = re.search(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text)
    if match is None or re.search(r"[oOlI]$", text[:match.start()]) or re.match(r"[oOlI]", text[match.end():]) \
            or marks or math.isinf(float(match.group(0))):  # 1e400: no number to suggest
        return None
    if re.match(r"['\u2019 \u00a0\u202f]\d{3}(?!\d)", text[match.end():]):  # "1 234 567 kg": not its first group, 1
        return None
    return re.sub(r"^(-?)\.", r"\g<1>0.", match.group(0))


def _unread_character(text: str) -> str | None:
    """What a character in ``text`` (after a result's label, ``\u03c7\u00b2 =``) that the digits of a number are not
    read with is: ``an underscore ("_")`` of ``1_000`` (no thousands separator in a spreadsheet, whatever Python
    reads), ``a superscript digit ("\u00b3")`` of ``2\u00b3`` (a power or a footnote mark), ``a fraction character
    ("\u00bd")`` of ``2\u00bd``, else its Unicode name, for any numeric character not a decimal digit; None where it
    has none. Such a cell is offered no number (:func:`suggest_number`): neither the digits before it nor a reading
    of it is certain."""
    label = _STATISTIC_LABEL.match(text)
    text = text[label.end():] if label else text
    if re.search(r"[0-9]_+[0-9]", text):
        return 'an underscore ("_")'
    other = next((character for character in text if character.isnumeric() and not character.isdecimal()), None)
    if other is None:
        return None
    name = unicodedata.name(other, "")
    kind = next((kind for word, kind in (("SUPERSCRIPT", "a superscript digit"), ("SUBSCRIPT", "a subscript digit"),
                                         ("FRACTION", "a fraction character")) if word in name),
                f"the character {name.lower() or 'U+%04X' % ord(other)}")
    return f'{kind} ("{other}")'


#: the label of an R\u00b2, or of its change, up to its "=", as papers and coders write it: "R\u00b2 =", "r\u00b2=",
#: "R2 =", "r^2 =", "R-squared =", "R squared =" and "\u0394R\u00b2 =", "\u2206R2 =", "delta R\u00b2 =" (``change``:
#: its delta; ``letter``: r or R, as written)
_R_SQUARED_LABEL = re.compile(r"\s*(?P<change>[\u0394\u2206]\s*|delta[\s-]*)?(?P<letter>r)\s*"
                              r"(?:\u00b2|\^?2|[\s-]*squared)\s*=", re.IGNORECASE)


def _r_squared_message(value: str) -> str | None:
    """What r = ``R\u00b2 = .09`` (also ``R2``, ``r^2``, ``R-squared``: :data:`_R_SQUARED_LABEL`) is told: it holds
    R\u00b2, a share of variance, not r (r would be \u00b10.3, the root, its sign from the direction of the effect),
    with no value offered (it offered 0.09, the R\u00b2 as r); ``\u0394R\u00b2 = .04``, that it holds a change in
    R\u00b2, the variance a term adds to a regression, whose root (for one term) is a semipartial correlation, not r
    (Cohen, Cohen, West & Aiken, 2003, Applied multiple regression/correlation analysis, 3rd ed., ch. 3); None for
    any other cell."""
    label = _R_SQUARED_LABEL.match(value)
    if not label:
        return None
    if label["change"]:
        return ("holds \u0394R\u00b2, a change in R\u00b2 (the share of variance a term adds to a regression), not r: "
                "its root, for one added term, is a semipartial correlation, not the r of alliance and outcome; "
                "code the r the study reports, with its sign")
    symbol = f"{label['letter']}\u00b2"
    squared = _as_float(suggest_number(value[label.end():]))
    root = (f": r would be \u00b1{_as_the_sheet_writes(f'{math.sqrt(squared):.3g}')}, its sign from the direction of "
            "the effect" if 0 <= squared <= 1 else "")
    return (f"holds {symbol}, the share of variance explained, not r{root}; code the r the study reports, "
            "with its sign")


def _unread_character_message(value: str) -> str | None:
    """What a numeric cell with a character its digits are not read with (:func:`_unread_character`) is told, with
    no number offered; None for any other cell."""
    if (what := _unread_character(value)) is None:
        return None
    return (f"is not a number {_one_number()}: it holds {what}, which is not read as part of a number; write the "
            "value the study reports in the digits 0-9 alone")


def two_digit_year(text: object) -> str | None:
    """The year a cell of one or two digits stands for (``98``, ``'98``, ``05``, ``5``: a spreadsheet drops the 0 of a
    typed 05): 20yy up to next year, else 19yy from :data:`ALLIANCE_RESEARCH_BEGAN`; None for any other cell and
    where neither is a year of alliance research (``45``: 1945 or 2045)."""
    found = re.fullmatch(r"\s*['\u2018\u2019]?(\d{1,2})\s*", str(text))
    if found is None:
        return None
    for century in (2000, 1900):
        if ALLIANCE_RESEARCH_BEGAN <= century + int(found[1]) <= datetime.date.today().year + 1:
            return str(century + int(found[1]))
    return None


def _correlation_message(column: str, value: str, row: pd.Series) -> str:
    """Out of (-1, 1): |r| = 1 has no Fisher z; 2 <= |r| < 100 is probably r with its decimal point left
    out or misplaced (38 for .38, 2.2 for .22): the digits read after "0."."""
    message = "must lie strictly between -1 and 1"
    try:
        number = decimal.Decimal(str(value).replace(",", "."))
    except decimal.InvalidOperation:
        return message
    if not number.is_finite():
        return message
    if abs(number) == 1:
        return f"{message}: |r| = 1 has no Fisher z and no sampling variance (check the source)"
    if 2 <= abs(number) < 100:
        digits = number.adjusted() + 1  # before the decimal point: 1 for 2.2, 2 for 22
        return (f"{message}; the {_decimal_mark()} left out or misplaced? write "
                f'"{_as_the_sheet_writes(f"{number.scaleb(-digits).normalize():f}")}"')
    return message


def _reliability_message(column: str, value: str, row: pd.Series) -> str:
    """Out of (0, 1]: a value from 10 to 100 is probably a percentage (85 for alpha .85): divided by 100."""
    message = "a reliability must lie in (0, 1] (e.g. coefficient alpha 0.88)"
    try:
        number = decimal.Decimal(str(value).replace(",", "."))
    except decimal.InvalidOperation:
        return message
    if number.is_finite() and 10 <= number <= 100:
        return f'{message}; a percentage? write "{_as_the_sheet_writes(f"{number.scaleb(-2).normalize():f}")}"'
    return message


#: a whole number in a coded column (modality = 1): a coding manual's code of a value, not the value
_NUMERIC_CODE = re.compile(r"\s*[-+]?[0-9]+\s*")


def _vocabulary_message(column: str, value: str, row: pd.Series) -> str:
    vocabulary = VOCABULARIES[column]
    suggestion = vocabulary.suggestion(value)
    hint = f'; did you mean "{suggestion}"?' if suggestion else ""
    if column == "direction" and re.fullmatch(r"[-\u2012\u2013\u2014]+", value.strip()):  # the minus sign is read
        hint = (': a hyphen or dash is not read as negative (it may stand for "not reported"): write negative '
                'or positive')
    elif is_placeholder(value) and column not in (*codebook.SIGN_COLUMNS, "family"):  # "not reported" is not patient
        hint = (': a dash, "?" or "not reported" is not read as missing; leave the cell empty (or write NA) when the '
                "study does not report it")
    elif not suggestion and _NUMERIC_CODE.fullmatch(value):  # modality = 1: a coding manual's code
        hint = f"; a numeric code? write the value of {column} it stands for, as a word of the vocabulary"
    elif not suggestion and column in OPEN_MODERATORS:  # a category the codebook lacks (a supervisor's rating)
        write = "code it other" if "other" in vocabulary.values else \
            "code the closest of these or leave the cell empty"
        hint = f'; {write}, and keep "{value.strip()}" in a column of your own (e.g. {column}_detail) to analyse it'
    return f"is not in the vocabulary of {column} ({', '.join(vocabulary.values)}){hint}"


#: Coded moderators whose studies may fall outside the codebook's categories (a rater, a measure of their own);
#: a value there with no close vocabulary value gets the advice to keep it in a free column.
OPEN_MODERATORS = ("rater", "modality", "measure", "timing", "format", "population", "design")


#: where a continuous moderator is named, in the messages about its cells (the command line names its option)
CONTINUOUS_KEY = "continuous_moderators in the config"
#: how a sheet of decimal commas is read, and a column of categories analysed, in the messages that say so
DECIMAL_COMMA_SETTING = 'set decimal: "," in the config'
DECIMAL_POINT_SETTING = 'set decimal: "." in the config'
AS_CATEGORIES = "list it under moderators instead"
#: the same advice where the command line's options stand for the config (:func:`main`)
COMMAND_LINE_WORDING = {f"({CONTINUOUS_KEY})": "(--continuous)", DECIMAL_COMMA_SETTING: "give --decimal ,",
                        DECIMAL_POINT_SETTING: "give --decimal .",
                        AS_CATEGORIES: "give it with --moderators instead",
                        # the reader's errors and notes, the report's decimal-comma line
                        "(sheet_name in the config)": "(--sheet-name)",
                        "sheet_name in the config chooses another": "--sheet-name chooses another",
                        "set sheet_name in config/config.yaml to the worksheet to read":
                            "give the worksheet to read with --sheet-name",
                        "name it .csv (and the config's sheet)": "name it .csv",
                        'set decimal: "," in config/config.yaml': "give --decimal ,", "(decimal: ,)": "(--decimal ,)",
                        **{TOOL_SETTING.format(name): f"give --rob-tool {name}" for name in BUILT_IN}}
#: the same for the API (the empty moderator columns' notes too: the command line's say "given with --moderators")
READING_API_WORDING = {"(sheet_name in the config)": "(sheet_name=)",
                       "sheet_name in the config chooses another": "sheet_name= chooses another",
                       "set sheet_name in config/config.yaml to the worksheet to read":
                           "pass the worksheet to read as sheet_name=",
                       "name it .csv (and the config's sheet)": "name it .csv",
                       'set decimal: "," in config/config.yaml': 'pass decimal=","', "(decimal: ,)": '(decimal=",")',
                       "(in the config's moderators)": "(in moderators=)",
                       "(in the config's continuous_moderators)": "(in continuous_moderators=)",
                       "or take it out of moderators": "or leave it out of moderators=",
                       "or take it out of continuous_moderators": "or leave it out of continuous_moderators="}
#: ... and where am.read_sheet's arguments stand for it (:func:`alliance_meta.inputs.reading.read_sheet`)
API_WORDING = {f"({CONTINUOUS_KEY})": "(continuous_moderators=)", DECIMAL_COMMA_SETTING: 'pass decimal=","',
               DECIMAL_POINT_SETTING: 'pass decimal="."', AS_CATEGORIES: "give it in moderators= instead",
               # a column that is not in the sheet (moderator_column_problems): "is named by the config (moderators,
               # meta_regression "~ x")" reads "is named by am.read_sheet(moderators=, meta_regression="~ x")"
               "is named by the config (": "is named by am.read_sheet(", "(moderators)": "(moderators=)",
               "(moderators, ": "(moderators=, ", "continuous_moderators)": "continuous_moderators=)",
               "continuous_moderators, ": "continuous_moderators=, ", 'meta_regression "': 'meta_regression="',
               "or take it out of the config": "or leave it out of am.read_sheet's arguments",
               "and name that in the config": "and name that in am.read_sheet's arguments", **READING_API_WORDING,
               **{TOOL_SETTING.format(name): f'pass risk_of_bias={{"tool": "{name}"}}' for name in BUILT_IN}}


#: a number with a percent sign, as a percent-formatted cell is saved in a CSV: "45%", "45,5 %"
_PERCENTAGE = re.compile(r"\s*[-+\u2212]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)\s*%\s*")


def _moderator_number_message(column: str, value: str, row: pd.Series) -> str:
    return f"is a continuous moderator ({CONTINUOUS_KEY}) but {_not_a_moderator_number(column, value, row)}"


def _not_a_moderator_number(column: str, value: str, row: pd.Series) -> str:
    """What a continuous moderator's cell that is no number is (:func:`_moderator_number_message`)."""
    if is_placeholder(value):
        return PLACEHOLDER_MESSAGE
    if _other_digits(value):  # was: write "\u0664\u0665", the cell again; a date in them: write it in 0-9
        return _in_other_digits_message(column, value, row, _not_a_moderator_number)
    if (message := _date_or_time_message(value)) is not None:  # was: write "2024" for 2024-01-02
        return message
    if (message := _range_message(column, value)) is not None:  # age 20-65: was told to write "20"
        return message
    if (what := _unread_character(value)) is not None:  # age 4\u00bd: was told to write "4"
        return f"not a number {_one_number()}: it holds {what}, which is not read as part of a number"
    suggestion = suggest_number(value)
    hint = f'; write "{_as_the_sheet_writes(suggestion)}"' if suggestion else ""
    return f"not a number{hint} {_one_number()}"


#: Columns that size a statistic (shared by many input kinds): alone they are not an effect size.
SIZE_COLUMNS = ("n", "n1", "n2", "df", "n_covariates")


def _missing_input_cells(row: pd.Series) -> dict[str, str]:
    """The empty cells that would complete the input kinds a row has begun (r without n, d without
    n1 and n2, means without SDs, an unsigned statistic without direction), each with its message."""
    partial: dict[str, list[str]] = {}
    for kind in INPUT_KINDS:
        if not any(pd.notna(row.get(c)) for c in kind.columns if c not in SIZE_COLUMNS):
            continue  # e.g. n alone does not start an r, a rho or a chi2
        missing = [c for c in kind.columns if pd.isna(row.get(c))]
        if kind.needs_direction and not missing and pd.isna(row.get("direction")):
            missing = ["direction"]
        if missing:
            partial[kind.name] = missing
    cells = {}
    for cell in dict.fromkeys(c for missing in partial.values() for c in missing):
        needing: dict[tuple[str, ...], list[str]] = {}  # the kinds that need the cell, by what else they need
        for kind, missing in partial.items():
            if cell in missing:
                needing.setdefault(tuple(c for c in missing if c != cell), []).append(kind)
        needs = ", ".join(f"{' and '.join(kinds)} need{'s' if len(kinds) == 1 else ''} it"
                          + (f" (and {' and '.join(others)})" if others else "") for others, kinds in needing.items())
        alternatives = "".join(f", or fill {' and '.join(missing)} for {kind}"
                               for kind, missing in partial.items() if cell not in missing)
        where = "is empty" if cell in row.index else f"is not a column of the sheet{_renamed_column(cell, row.index)}"
        unreported = f", {UNREPORTED}" if cell in SIZE_COLUMNS and cell in row.index else ""  # an n not reported
        cells[cell] = f"{where}, but {needs} for a complete effect-size input{alternatives}{unreported}"
    return cells


def _renamed_column(cell: str, header) -> str:
    """A note naming the header cell that is probably ``cell`` under another name: close to it
    (:func:`closest_header`: ``sd_1``, ``dfs``) or, for a short name, the one column outside the codebook that has it
    as a word (``sample_n``, ``N total``). Codebook columns (``n_covariates``) are never taken for another, nor
    a moderator with a unit (``N (sessions)``, ``t (weeks)``: :func:`_has_unit_remark`)."""
    others = [str(name) for name in header
              if str(name) not in codebook.CODEBOOK_COLUMNS and name != SHEET_ROW and not _has_unit_remark(name)]
    close = closest_header(cell, others)
    if close is None:
        with_word = [name for name in others if cell.lower() in re.split(r"[^a-z0-9]+", name.lower())]
        close = with_word[0] if len(with_word) == 1 else None
    return f' (the sheet has a column "{close}": rename it {cell}?)' if close else ""


def _stand_in_study_id(sheet_row) -> str:
    """The study_id a row of a sheet without a study_id column is checked under (one study per row)."""
    return f"row {sheet_row}"


#: What to do with a statistic or sample size that the study did not report (a row that cannot be completed).
UNREPORTED = "or, if the study did not report it, delete the row and count the study among the PRISMA exclusions"


def _no_input_message(column: str, value: str, row: pd.Series) -> str:
    """A row without any begun input kind (:func:`_missing_input_cells` names the cells of the others)."""
    sizes = [c for c in SIZE_COLUMNS if pd.notna(row.get(c))]
    if sizes:
        statistic = "d" if {"n1", "n2"} & set(sizes) else ("t" if "df" in sizes else "r")
        given = " and ".join(f"{c} = {_cell_as_written(row, c)}" for c in sizes)
        return (f"has {given} but no effect size: fill e.g. {statistic} beside "
                f"{'it' if len(sizes) == 1 else 'them'} (input kinds: config/README.md), {UNREPORTED}"
                f"{_unnamed_cells_hint(row)}")
    filled = [(str(c), str(v)) for c, v in row.items() if c != "sheet_row" and pd.notna(v) and str(v).strip()
              and not (c == "study_id" and v == _stand_in_study_id(row.get("sheet_row")))]
    if len(filled) == 1 and re.search(r"[^\W\d_]{2,}\W+[^\W\d_]{2,}", filled[0][1]):  # words in one cell
        cell, words = filled[0]
        shown = words if len(words) <= 60 else words[:57] + "..."
        return (f'holds only the text "{shown}" (column {cell}) and no effect-size input: a note? Move notes to '
                "another worksheet or a column of their own (e.g. notes), or delete the row")
    return f"has no effect-size input: fill e.g. r and n (input kinds: config/README.md){_unnamed_cells_hint(row)}"


def _unnamed_cells_hint(row: pd.Series) -> str:
    """The row's cells in columns without a name (row 1 reports each column): the input may be there, unread."""
    from openpyxl.utils import get_column_letter

    cells = [f'"{value}" in column {get_column_letter(int(column.removeprefix("unnamed_")))}'
             for column, value in row.items() if str(column).startswith("unnamed_")
             and str(column).removeprefix("unnamed_").isdigit() and pd.notna(value)]
    return (f"; the row has {', '.join(cells)}, a column without a name in row 1: if it holds an input (r, n, ...), "
            "name the column") if cells else ""


COUNT_CELLS = ("n11", "n12", "n21", "n22")
#: A 2x2 cell given as a share of its group (a proportion or percentage) instead of a number of patients.
def _count_groups(row: pd.Series) -> tuple[str, str]:
    """The alliance groups of the sheet's n11 + n12 and n21 + n22: the stronger and the weaker, swapped where
    ``reverse = yes`` (the analysis swaps the table's rows there: models/counts.py ``table_rows``)."""
    groups = ("stronger", "weaker")
    return groups[::-1] if str(row.get("reverse")) == "yes" else groups


def _proportion_not_count(row: pd.Series) -> str:
    """A 2x2 cell given as a share of its group (a proportion or percentage) instead of a number of patients."""
    first, second = _count_groups(row)
    swapped = " (reverse = yes)" if first == "weaker" else ""
    return ("enter the number of patients in the cell (the share times its group's n, rounded: "
            f"n11 + n12 is the {first}-alliance group{swapped}, n21 + n22 the {second})")


def _whole_number_to_write(column: str, value: str) -> str | None:
    """The whole number a fractional ``value`` of ``column`` probably stands for, where that passes every check of the
    column (:data:`COLUMN_CHECKS`): ``1.200`` without its point between thousands (1200), an n averaged over groups
    or occasions rounded (n = 50.5: 51; not n1 = 0.5: a group of 1 is too small); None otherwise, and for a count
    of a 2x2 table (:func:`_whole_number_message`)."""
    text, number = str(value).strip(), pd.to_numeric(value, errors="coerce")
    if column in COUNT_CELLS:
        return None
    if _GROUPED_POINTS.fullmatch(text):  # 1.200: a point between groups of thousands?
        whole = text.replace(".", "").lstrip("+")
    elif column in ("n", "n1", "n2") and np.isfinite(number) and number >= 0:
        whole = str(math.floor(number + 0.5))
    else:
        return None
    return whole if _passes_checks(column, whole) else None


def _whole_number_message(column: str, value: str, row: pd.Series) -> str:
    """A fractional n is usually a mean over arms or occasions: say what to write (:func:`_whole_number_to_write`),
    unless it lies between 0 and 1, a proportion of the sample (:func:`_proportion_of_the_sample`); a fractional 2x2
    count is usually a count with a continuity correction already added, or a proportion of its group."""
    number = pd.to_numeric(value, errors="coerce")
    if column in COUNT_CELLS and 0 < number < 1 and number != 0.5:  # 0.85: a proportion of the group
        return (f"must be a whole number: {_cell_as_written(row, column, value)} looks like a proportion; "
                f"{_proportion_not_count(row)}")
    if column in COUNT_CELLS:
        return "must be a whole number: enter the raw count (the analysis adds any continuity correction)"
    if _proportion_of_the_sample(column, value):
        return (f"must be a whole number: {_cell_as_written(row, column, value)} looks like a proportion of the "
                "sample; "
                f"{_sample_size_to_write(column)}")
    whole = _whole_number_to_write(column, value)
    if whole is None:
        return "must be a whole number"
    if _GROUPED_POINTS.fullmatch(str(value).strip()):  # as _thousands_to_write
        return f"must be a whole number: {_thousands_advice(value, whole)}"
    return f'must be a whole number (an n averaged over groups or occasions: write "{whole}")'


def _proportion_of_the_sample(column: str, value: str) -> bool:
    """Whether ``value`` of a sample size (n, n1, n2) lies strictly between 0 and 1: a share of the sample (0.45 of
    it in a group), not a number of patients."""
    return column in ("n", "n1", "n2") and 0 < pd.to_numeric(value, errors="coerce") < 1


def _sample_size_to_write(column: str) -> str:
    """What a sample size given as a share of the sample (0.45, 45%) is to be instead."""
    return "write the number of patients" + (" (the share times the study's n, rounded)" if column != "n"
                                             else " the effect size is based on")


def _thousands_to_write(column: str, value: str) -> str | None:
    """The whole number ``value`` as read with a point between groups of thousands (``1.200``: 1200) stands for,
    where that passes every check of ``column`` (:func:`_whole_number_to_write`): its problem is given
    :func:`_thousands_advice` and counted as written with thousands separators (:func:`_column_format`; a cell in
    other digits: :func:`_other_digits_thousands`)."""
    return _whole_number_to_write(column, value) if _GROUPED_POINTS.fullmatch(str(value).strip()) else None


def _thousands_advice(value: str, whole: str) -> str:
    """How ``value``, a number of :data:`_GROUPED_POINTS` as read (``1.200``), was read, and that ``whole`` (1200) is
    to be written if its separator separates thousands: in a sheet read with decimal commas
    (:data:`_SHEET_DECIMAL_COMMAS`) it was written ``1,200`` (a ``1.200`` there is a reading problem of its own,
    :func:`_point_message`), and is told its comma is the decimal mark (1,200 lies between 1 and 2, 2,000 is 2, not
    1200, 2000), as ``1.200`` of a sheet of decimal points is told its point is."""
    if _SHEET_DECIMAL_COMMAS.get():
        reading, below = float(value), math.floor(float(value))
        read = str(below) if reading == below else f"a number between {below} and {below + 1}"
        return (f'"{value.replace(".", ",")}" is read with a decimal comma, the sheet\'s decimal mark, as {read}, '
                f'not {whole}; if the comma separates thousands, write "{whole}"')
    return (f'"{value}" is read with a decimal point; if the point separates thousands, write "{whole}" (or '
            f"{DECIMAL_COMMA_SETTING} for a sheet written with decimal commas)")


def _rules_to_tell(column: str, value: str, checks: list[str]) -> list[str]:
    """Of ``checks`` (names of :data:`COLUMN_CHECKS`, in its order) that a number ``value`` of ``column`` breaks, those
    its one problem tells: all (n = 2.5: a whole number, at least 4), or only the whole-number rule where the whole
    number it gives to write passes them all (n = 1.200: write "1200", not also "must be at least 4") or where it
    tells what to write instead of a proportion (n1 = 0.45: :func:`_proportion_of_the_sample`)."""
    if "whole_number" in checks and (_whole_number_to_write(column, value) is not None
                                     or _proportion_of_the_sample(column, value)):
        return ["whole_number"]
    return checks


def _broken_rules_message(column: str, value: str, row: pd.Series, checks: list[str]) -> str:
    """What a number ``value`` of ``column`` that breaks ``checks`` (names of :data:`COLUMN_CHECKS`, in its order) is
    told in its one problem: the rules of :func:`_rules_to_tell` (n = 2.5: "must be a whole number; and must be at
    least 4 ..."); a whole number with points between thousands that breaks a rule only as read
    (n = 2.000) is told, too, what to write if they separate thousands (:func:`_thousands_advice`)."""
    told = "; and ".join(RULES[check].message(column, value, row) for check in _rules_to_tell(column, value, checks))
    if "whole_number" not in checks and (whole := _thousands_to_write(column, value)) is not None:
        return f"{told}; {_thousands_advice(value, whole)}"
    return told


def _constant(text: str) -> Callable[[str, str, pd.Series], str]:
    return lambda column, value, row: text


RULES: dict[str, Rule] = {
    "no_rows": Rule("empty sheet", _constant("the sheet has no rows below its header: enter one row per effect size "
                                            "(config/README.md)")),
    "column_in_dataframe": Rule("missing columns", _constant("required column is missing from the header")),
    "duplicate_column": Rule("repeated column names", _constant("column name appears more than once in the header")),
    "not_nullable": Rule("empty identifiers", _constant("is required on every row (the study the effect size comes from)")),
    "study_id_placeholder": Rule("empty identifiers", _constant(
        'is no study id: a dash, "?" or "not reported" names no study, and the rows that have it would be analysed as '
        "one study; write the study's id (e.g. its first author and year)")),
    "es_id_repeated": Rule("repeated identifiers", _constant(
        "is the es_id of another row of the same study: give each effect size of a study its own es_id")),
    "moderator_column_missing": Rule("missing columns", _constant(
        "moderator column named in the config is missing from the header")),
    "input_column_alias": Rule("effect-size inputs", _constant("is not a codebook column")),
    "sign_column": Rule("effect-size inputs", _constant("holds only signs, which are not read")),
    "moderator_input_column": Rule("missing columns", _constant(
        "moderator named in the config names an effect-size input column and one with a remark")),
    "moderator_formula": Rule("missing columns", _constant("meta_regression formula cannot be read")),
    "moderator_formula_value": Rule("meta-regression formulas", _constant(
        "a term of a meta_regression formula cannot be evaluated on this row")),
    "summary_row": Rule("summary rows", _constant("looks like a row of totals or means, not a study")),
    "reference_level": Rule("values outside a vocabulary", _constant(
        "reference level named in the config is not a value of its column")),
    "number": Rule("text in numeric columns", _number_message),
    "moderator_number": Rule("text in numeric columns", _moderator_number_message),
    "moderator_text_column": Rule("text in numeric columns", lambda column, value, row: (
        f"is a continuous moderator ({CONTINUOUS_KEY}) but none of its filled cells is a "
        f"number ({value}): if it holds categories, {AS_CATEGORIES}")),
    "vocabulary": Rule("values outside a vocabulary", _vocabulary_message),
    "vocabulary_column": Rule("values outside a vocabulary", lambda column, value, row: (
        f"no filled cell of the column is in the codebook's vocabulary of {column} "
        f"({', '.join(VOCABULARIES[column].values)}): if the column "
        f"records something else, give it a name of its own (e.g. study_{column}; config/README.md lists the "
        "codebook's columns)")),
    "rob_vocabulary": Rule("values outside a vocabulary", _constant("is not a risk-of-bias judgement")),
    "rob_column": Rule("risk-of-bias columns", _constant("is not a domain of the risk-of-bias tool")),
    "rob_inconsistent": Rule("risk of bias", _constant("differs between the rows of one study")),
    "whole_number": Rule("sample sizes and counts", _whole_number_message),
    "n_minimum": Rule("sample sizes and counts", _constant(
        f"must be at least {MINIMUM_N}: Fisher's z has variance 1/(n - 3)")),
    "group_minimum": Rule("sample sizes and counts", _constant(
        f"must be at least {MINIMUM_GROUP_SIZE} cases per group")),
    "non_negative": Rule("numbers out of range", _constant("cannot be negative")),
    "df_minimum": Rule("sample sizes and counts", lambda column, value, row: (
        "is the degrees of freedom of a t or F, and a chi2 is taken as chi2(1) of a 2x2 table: leave df empty"
        if _chi2_without_t_or_f(_numeric_row(row)).iloc[0] else
        "must exceed 1: a correlation from t or F has n = df + 2, and Fisher's z needs n > 3")),
    "positive": Rule("numbers out of range", lambda column, value, row: (
        "standard deviations must be positive" if column.startswith("sd") else
        "standard errors must be positive" if column.endswith("_se") else "odds ratios must be positive")),
    "correlation_range": Rule("numbers out of range", _correlation_message),
    "beta_range": Rule("numbers out of range", _constant(
        "must lie strictly between -1 and 0.95 (r = beta + .05 for beta >= 0, Peterson & Brown 2005)")),
    "p_range": Rule("numbers out of range", lambda column, value, row: "a p value must lie in (0, 1]" + (
        '; SPSS prints a p below .0005 as ".000": write the exact p if the paper reports it, or '
        f'"{_as_the_sheet_writes("0.0005")}", the bound, '
        "which converts to a smaller effect than the study's (a conservative choice)" if _as_float(value) == 0 else "")),
    "reliability_range": Rule("numbers out of range", _reliability_message),
    "u_ratio_positive": Rule("numbers out of range", _constant(
        "the range-restriction ratio u (sample SD / reference SD) must be positive")),
    "year_range": Rule("numbers out of range", lambda column, value, row: (
        f"must be a year between {FIRST_YEAR} and {datetime.date.today().year + 1}"
        + (f'; read as a two-digit year, write "{two_digit_year(value)}"' if two_digit_year(value) else ""))),
    "no_complete_input": Rule("effect-size inputs", _no_input_message, cells=_missing_input_cells),
    "direction_missing": Rule("effect-size inputs", _constant(
        "is required for an unsigned statistic (F, chi2, p): write positive or negative"), column="direction"),
    "partial_r_degrees_of_freedom": Rule("sample sizes and counts", lambda column, value, row: (
        f"must exceed n_covariates + 3 = {row.get('n_covariates')} + 3 for a partial correlation "
        "(variance 1/(n - n_covariates - 3))"), column="n"),
    "odds_ratio_outside_ci": Rule("effect-size inputs", lambda column, value, row: _odds_ratio_ci_message(row),
                                  column="odds_ratio"),
    "chi2_exceeds_n": Rule("effect-size inputs", lambda column, value, row: (
        f"chi2 = {row.get('chi2')} is not smaller than n = {row.get('n')}: phi = sqrt(chi2/n) of a 2x2 table "
        "(1 df) lies below 1; check n, or whether the chi-square has more than 1 df (not convertible)"),
        column="chi2"),
    "no_finite_effect": Rule("effect-size inputs", _constant(""), cells=_no_effect_cells),
    "chi2_degrees_of_freedom": Rule("effect-size inputs", lambda column, value, row: (
        f"is {row.get('df')} beside chi2 = {row.get('chi2')}: only a chi-square with 1 df (of a 2x2 table) converts "
        "to a correlation (phi = sqrt(chi2/n)); one with more df is not convertible (a chi2(1): leave df empty)"),
        column="df"),
    "reverse_of_unsigned": Rule("effect-size inputs", lambda column, value, row: (
        "is yes on a row converted from an unsigned statistic (F, chi2, p), whose sign comes from direction "
        "alone: write in direction how the alliance went with the outcome (positive: stronger alliance, "
        "better outcome or staying) and leave reverse empty"), column="reverse"),
    "direction_contradicts_sign": Rule("effect-size inputs", lambda column, value, row: (
        f"contradicts the sign of {_input_cell_text(row)}"
        f"{' after reverse = yes' if str(row.get('reverse')) == 'yes' else ''}, the statistic the row is converted "
        "from; direction signs only F, chi2 and p: to flip a statistic reported the other way round write "
        "reverse = yes, and leave direction empty or make it agree"), column="direction"),
    "counts_empty_group": Rule("effect-size inputs", lambda column, value, row: _empty_group_message(row),
                               column="n11"),
    "counts_disagree_with_n": Rule("sample sizes and counts", _constant(""), cells=_count_size_cells),
    "inputs_disagree": Rule("effect-size inputs", _constant("two inputs disagree beyond rounding")),
    **{check: Rule("spreadsheet cells that cannot be read as they are", _constant(text))
       for check, text in {
           "formula_without_value": "is a formula whose result was never saved",
           "excel_error": "is an error value of a spreadsheet formula",
           "merged_cells": "is merged over several columns",
           "merged_header": "header cell is merged",
           "hidden_row": "is hidden in the spreadsheet",
           "hidden_column": "is a hidden column",
           "unnamed_column": "has no name in the header row but holds data",
           "header_below": "the column names are below row 1",
           "ambiguous_point": "has a point in a sheet read with decimal commas",
           "grouped_exponent": "has points between thousands and an exponent",
           "second_header": "looks like a second header row",
           "repeated_header": "repeats the header row",
           "percent_cell": "is a percentage in a column of sample sizes or counts",
       }.items()},
    "computed_column": Rule("column names the pipeline writes", _constant(
        "is the name of a column the pipeline computes")),
}
#: Row-wise checks that depend on which input kind a row is converted from (the first complete one), or on its sign:
#: on a row with an input or sign cell that cannot be read they are knock-ons of that cell, not reported
INPUT_KIND_CHECKS = ("no_complete_input", "direction_missing", "chi2_exceeds_n", "chi2_degrees_of_freedom",
                     "no_finite_effect", "reverse_of_unsigned", "direction_contradicts_sign")
READING_CHECKS = ("formula_without_value", "excel_error", "merged_cells", "merged_header", "hidden_row",
                  "hidden_column", "unnamed_column", "header_below", "ambiguous_point", "grouped_exponent",
                  "duplicate_column", "repeated_header", "computed_column", "percent_cell")
"""Problems :func:`read_sheet` finds (in ``frame.attrs["problems"]``); their message is written there."""


def _problems(error: SchemaErrors, text: pd.DataFrame, clean: pd.DataFrame | None = None) -> list[Problem]:
    """Translate pandera's failure cases into problems, with the cell as written.

    A row-wise check comes back once per column of the row: one problem is kept. A cell that fails several checks of
    its column (:data:`COLUMN_CHECKS`; n1 = 1.4: a whole number, at least 2) is one problem naming them
    (:func:`_broken_rules_message`), filed under the last it tells: the column's range (year = 1850.5 under the
    numbers out of range, n1 = 1.4 under the sample sizes), whose heading fits the column, not the whole-number rule's.
    """
    cases = error.failure_cases
    row_wise = cases["schema_context"] == "DataFrameSchema"
    cases = pd.concat([cases[~row_wise], cases[row_wise].drop_duplicates(["check", "index"])])
    flagged = cases.loc[cases["check"] == "inputs_disagree", "index"].tolist()
    details = disagreeing_rows(clean.loc[flagged]) if flagged and clean is not None else {}
    broken: dict[tuple, list[str]] = {}  # (row, column) -> the checks of its column the cell fails, in their order
    for case in cases.itertuples(index=False):
        names = [check.name for check in COLUMN_CHECKS.get(case.column, [])] if isinstance(case.column, str) else []
        if case.schema_context == "Column" and case.check in names:
            broken.setdefault((case.index, case.column), []).append(case.check)
    broken = {cell: sorted(checks, key=[check.name for check in COLUMN_CHECKS[cell[1]]].index)
              for cell, checks in broken.items()}
    problems = []
    for case in cases.itertuples(index=False):
        rule = RULES.get(case.check)
        if (case.index, case.column) in broken:
            checks = broken[(case.index, case.column)]
            if case.check != checks[0]:  # told in the problem of the first
                continue
            row = text.loc[case.index]
            value = _cell_text(row.get(case.column))
            problems.append(Problem(int(case.index), case.column, value,
                                    _broken_rules_message(case.column, value, row, checks),
                                    _rules_to_tell(case.column, value, checks)[-1],
                                    "thousands" if _thousands_to_write(case.column, value) is not None else ""))
            continue
        if case.index is None or pd.isna(case.index):  # a whole-column failure: the header
            column = str(case.failure_case if case.check == "column_in_dataframe" else case.column)
            message = rule.message(column, "", pd.Series()) if rule else str(case.check)
            problems.append(Problem(HEADER_ROW, column, "", message, case.check))
            continue
        row = text.loc[case.index]
        cells = rule.cells(row) if rule and rule.cells else {}
        if cells:  # the cells the rule names (the empty ones that would complete the row...): each a problem
            problems += [Problem(int(case.index), cell, _cell_text(row.get(cell)), message, case.check)
                         for cell, message in cells.items()]
            continue
        column = rule.column if rule and rule.column else (case.column if isinstance(case.column, str) and case.column in text else "")
        if case.check in ("no_complete_input", "inputs_disagree"):
            column = ""
        value = _cell_text(row.get(column)) if column else ""
        message = rule.message(column, value, row) if rule else f"fails the check {case.check}"
        if case.check == "inputs_disagree" and details.get(case.index):
            message += f": {details[case.index]}"
        if case.check == "not_nullable" and column == "study_id":
            message += _continuation_hint(text, case.index)
        # "\u0661.\u0662\u0660\u0660" in n: its value in 0-9 is given the thousands advice (_in_other_digits_message)
        thousands = case.check == "number" and bool(_other_digits(value)) and _other_digits_thousands(column, value)
        comma = case.check == "number" and written_with_decimal_comma(column, value)
        problems.append(Problem(int(case.index), column, value, message, case.check,
                                "thousands" if thousands else DECIMAL_COMMA_WRITTEN if comma else ""))
    return problems


def _continuation_hint(text: pd.DataFrame, index) -> str:
    """For an empty study_id below rows of a study, with only empty study_id cells in between (a study's further
    effect sizes written as continuation rows, as if the cell were merged): the study above to write."""
    above = text.loc[text.index < index, "study_id"] if "study_id" in text else pd.Series(dtype=object)
    named = above[above.notna()]
    if named.empty:
        return ""
    study = str(named.iloc[-1])
    if is_placeholder(study):  # "?" above: a problem of its own, and no study to suggest
        return ""
    return (f'; the rows above belong to study {study}: if this effect size is of that study, write {study} here '
            "(or merge the study_id cells of the study's rows in the spreadsheet)")


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

def _squashed(name) -> str:
    """A header cell in lower-case letters and digits only (``Study ID`` -> ``studyid``, ``Cohen's d`` -> ``cohensd``),
    as :func:`closest_header` and :data:`INPUT_COLUMN_ALIASES` compare them."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _without_remark(name) -> str:
    """A header cell without the remarks in brackets a reviewer adds to it (``Rater (patient/therapist)`` ->
    ``Rater``, ``N [analysed]`` -> ``N``); the cell as it is when it is all remark."""
    bare = re.sub(r"\s*(\([^()]*\)|\[[^\[\]]*\])\s*", " ", str(name)).strip()
    return bare or str(name)


#: a remark giving a unit of time or of treatment ("t (weeks)", "N [sessions]"): the column measures something in it (a
#: moderator), not the statistic its bare name spells, which has no unit; no one-letter unit ("SMD (d)" is Cohen's d)
_UNIT_REMARK = re.compile(r"(?:in\s+)?(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|mos?|"
                          r"years?|yrs?|sessions?|visits?|appointments?|meetings?)\.?", re.IGNORECASE)


def _has_unit_remark(name) -> bool:
    """Whether a header cell's remark in brackets is a unit (:data:`_UNIT_REMARK`): ``t (weeks)``, ``N (sessions)``."""
    remarks = re.findall(r"\(([^()]*)\)|\[([^\[\]]*)\]", str(name))  # (round, square) per remark
    return any(_UNIT_REMARK.fullmatch((round_ or square).strip()) for round_, square in remarks)


def _remarked_twins(column: str, header) -> list[str]:
    """The header cells that are ``column`` with a remark in brackets (``Rater (patient/therapist)`` for rater)."""
    return [str(name) for name in header
            if _without_remark(name) != str(name) and column_key(_without_remark(name)) == column_key(column)]


def _plain_name(name) -> str:
    """A header cell as a column name of letters, digits and underscores (``t (weeks)`` -> ``t_weeks``)."""
    return re.sub(r"\W+", "_", str(name).lower()).strip("_")


def closest_header(column: str, header) -> str | None:
    """The header cell that is ``column`` written without its underscore or in another word order (``StudyID``,
    ``ID study``), or close to it (``Study_Nr``, ``ratr``), or ``column`` with a remark in brackets
    (``Rater (patient/therapist)``); None when no cell is."""
    by_squashed = {_squashed(name): str(name) for name in header if _squashed(name) and str(name) != column}
    target = _squashed(column)
    remarked = [str(name) for name in header
                if _without_remark(name) != str(name) and _squashed(_without_remark(name)) == target]
    if remarked:
        return remarked[0]
    close = [name for name in by_squashed if sorted(name) == sorted(target)]
    close = close or difflib.get_close_matches(target, list(by_squashed), n=1, cutoff=0.7)
    return by_squashed[close[0]] if close else None


def _header_hint(column: str, header) -> str:
    """A did-you-mean for a required column the header lacks (:func:`closest_header`)."""
    close = closest_header(column, header)
    return f'; did you mean "{close}"? (rename it {column})' if close else ""


def _with_the_sheets_decimal_commas(validate):
    """``validate(raw, ...)`` with :data:`_SHEET_DECIMAL_COMMAS` and :data:`_SHEET_AS_WRITTEN` set from
    ``raw.attrs``."""
    @functools.wraps(validate)
    def validating(raw: pd.DataFrame, **settings):
        token = _SHEET_DECIMAL_COMMAS.set(raw.attrs.get("decimal_commas", ""))
        written = _SHEET_AS_WRITTEN.set(raw.attrs.get("as_written", {}))
        try:
            return validate(raw, **settings)
        finally:
            _SHEET_AS_WRITTEN.reset(written)
            _SHEET_DECIMAL_COMMAS.reset(token)
    return validating


@_with_the_sheets_decimal_commas
def validate_sheet(raw: pd.DataFrame, *, moderators=(), continuous_moderators=(), meta_regression=(),
                   subsets=None, risk_of_bias=None, figure_columns=(),
                   reference_levels=None, location_scale=(), psychometric_moderators=(),
                   from_command_line: bool = False) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a sheet read by :func:`read_sheet` (or any frame of cells).

    The keyword arguments are the config's moderator settings (``moderators``,
    ``continuous_moderators``, ``meta_regression`` formulas, ``multiverse.subsets``):
    every column they name must be in the header, and continuous moderators must hold
    numbers. Free categorical moderators are accepted as written. ``risk_of_bias`` is the
    config's block of that name: the tool whose vocabularies the ``rob_*`` columns follow
    (:mod:`alliance_meta.inputs.risk_of_bias`; ``rob_overall`` is derived where empty and the
    clean frame's ``attrs["notes"]`` say how). ``figure_columns`` (``plots.columns``) must be
    in the header too, and each of the config's ``reference_levels`` a value of its column. The variables
    of the ``location_scale`` models must be in the header as well (or be ``yi``, ``vi``, ``n``, ``k_effect_sizes``),
    and the ``psychometric.moderators`` columns. ``from_command_line``: the moderator settings came from the command line's options, which the
    problems then name instead of the config's keys.

    Returns the clean frame (``sheet_row`` first; numeric columns as float, coded
    columns in their canonical spelling, ``family`` filled with ``outcome``,
    ``reverse`` with ``no``; every other column as written) and the problems,
    sorted by row. The clean frame is only meant for use when there are no problems.
    When the header is a few rows down (:func:`read_sheet`'s ``header_below``), that
    is the one problem: the header's columns are not missing, only lower down.
    """
    reading = list(raw.attrs.get("problems", []))
    text = raw.copy()
    if SHEET_ROW not in text:
        text.insert(0, SHEET_ROW, np.arange(FIRST_DATA_ROW, FIRST_DATA_ROW + len(text)))
    duplicated = text.columns[text.columns.duplicated()].unique()
    if len(duplicated) or "study_id" not in text:
        if any(problem.check == "header_below" for problem in reading):  # no column is missing: the header is lower
            return text, reading
        problems = [Problem(HEADER_ROW, str(c), "", RULES["duplicate_column"].message(c, "", pd.Series()), "duplicate_column")
                    for c in duplicated]
        problems += [Problem(HEADER_ROW, c, "", RULES["column_in_dataframe"].message(c, "", pd.Series())
                             + _header_hint(c, [name for name in text.columns if name != SHEET_ROW]),
                             "column_in_dataframe")
                     for c in codebook.REQUIRED_COLUMNS if c not in text]
        options = dict(moderators=moderators, continuous_moderators=continuous_moderators,
                       meta_regression=meta_regression, subsets=subsets, risk_of_bias=risk_of_bias,
                       figure_columns=figure_columns, reference_levels=reference_levels, location_scale=location_scale,
                       psychometric_moderators=psychometric_moderators, from_command_line=from_command_line)
        if not len(duplicated):  # only study_id is missing: every other problem too, so that one round fixes all
            stand_in = text.assign(study_id=[_stand_in_study_id(row) for row in text[SHEET_ROW]])  # one study per row
            stand_in.attrs = {"decimal_commas": raw.attrs.get("decimal_commas", "")}
            rest = validate_sheet(stand_in, **options)[1]
            return text, reading + problems + [p for p in rest if p.column != "study_id"]
        problems += moderator_column_problems(text.columns, moderators=moderators,
                                              continuous_moderators=continuous_moderators,
                                              meta_regression=meta_regression, subsets=subsets,
                                              figure_columns=figure_columns, location_scale=location_scale,
                                              psychometric_moderators=psychometric_moderators,
                                              from_command_line=from_command_line)
        return text, reading + problems
    text = text.set_index(SHEET_ROW, drop=False)
    text.index.name = None
    cells = text.drop(columns=SHEET_ROW).map(_text_cell)
    text = pd.concat([text[[SHEET_ROW]], cells], axis=1)

    # rob_* columns without a judgement are dropped (check_risk_of_bias): no column a moderator can name
    coded = has_risk_of_bias(text)
    empty = [] if coded else rob_columns(text.columns)
    header = [c for c in text.columns if c not in empty] + ([OVERALL] if coded else [])
    problems = moderator_column_problems(header, moderators=moderators,
                                         continuous_moderators=continuous_moderators,
                                         meta_regression=meta_regression, subsets=subsets,
                                         figure_columns=figure_columns, location_scale=location_scale,
                                         psychometric_moderators=psychometric_moderators,
                                         empty_rob_columns=empty, from_command_line=from_command_line)
    try:
        text_schema(continuous_moderators).validate(text, lazy=True, inplace=True)
    except SchemaErrors as error:
        problems += _problems(error, text)

    clean = _typed(text)
    try:
        with _value_checks_of(clean):
            VALUE_SCHEMA.validate(clean, lazy=True, inplace=True)
    except SchemaErrors as error:
        problems += _problems(error, text, clean)
    rob = check_risk_of_bias(clean, risk_of_bias, row_column=SHEET_ROW, header_row=HEADER_ROW)
    clean = rob.frame
    problems += [Problem(*problem) for problem in rob.problems]

    # Row-wise checks come back once per column; a number written as text already
    # explains a missing input on its row.
    # A missing direction or a number written as text already explains a missing input.
    problems = list(dict.fromkeys(reading + problems))
    if text.empty:  # a header only (e.g. the template, not filled in yet): nothing to analyse
        problems.append(Problem(FIRST_DATA_ROW, "", "", RULES["no_rows"].message("", "", pd.Series()), "no_rows"))
    explained = {p.row for p in problems if p.check in ("number", "direction_missing", *READING_CHECKS)}
    # a direction outside the vocabulary ("-") is that one problem, not also "is required ...: write positive or
    # negative"
    misspelt = {p.row for p in problems if p.check == "vocabulary" and p.column == "direction"}
    problems = [p for p in problems if not (p.check == "direction_missing" and p.row in misspelt)]
    problems = [p for p in problems if not (p.check == "no_complete_input" and p.row in explained)]
    # an effect-size or sign cell that cannot be read is its row's one problem of the input where it decides the kind
    # the row is converted from: the checks of that kind saw the row without the cell (r unreadable beside an F:
    # "direction is required"); a cell of a later kind changes nothing ("r = -0.3, direction positive" is wrong
    # whatever an unreadable t says)
    unreadable: dict[int, set[str]] = {}
    for p in problems:
        if p.column in (*codebook.INPUT_COLUMNS, *codebook.SIGN_COLUMNS) and p.check in (
                "number", "vocabulary", *READING_CHECKS):
            unreadable.setdefault(p.row, set()).add(p.column)
    hidden = _kind_deciding_rows(clean, unreadable)
    problems = [p for p in problems if not (p.check in INPUT_KIND_CHECKS and p.row in hidden)]
    # a cell the reader could not take as written (1.088 in a decimal-comma sheet) gets that one message, not
    # also "must be a whole number" and "at least 4" for a value it was never meant to have
    unread = {(p.row, p.column) for p in problems if p.check in READING_CHECKS}
    problems = [p for p in problems if p.check in READING_CHECKS or (p.row, p.column) not in unread]
    problems = _second_header_row(text, problems)
    problems += _input_alias_problems(text, problems, {*(moderators or ()), *(continuous_moderators or ()),
                                                       *(figure_columns or ())})
    problems += _foreign_vocabulary_columns(text, problems)
    problems = _percentage_moderator_problems(text, _text_moderator_columns(text, problems))
    problems += _repeated_es_id_problems(text)
    problems += _reference_level_problems(clean, reference_levels)
    problems += _formula_value_problems(clean, meta_regression, continuous_moderators, problems)
    # a row of totals: "delete the row", not also "fill e.g. r beside n" or, under "Total" in authors, "write the
    # study above in its study_id"
    summaries = _summary_row_problems(text)
    problems = [p for p in problems if not (p.check in ("no_complete_input", "not_nullable")
                                            and p.row in {s.row for s in summaries})]
    problems += summaries
    problems += _sign_column_problems(text, {*(moderators or ()), *(continuous_moderators or ())})
    as_written = raw.attrs.get("as_written", {})  # a problem shows the cell as the sheet has it, not as read
    problems = [_as_written(p, as_written[(p.row, p.column)]) if (p.row, p.column) in as_written else p
                for p in problems]
    order = {name: position for position, name in enumerate(text.columns)}
    problems.sort(key=lambda p: (p.row, order.get(p.column, -1)))
    clean = clean.reset_index(drop=True)
    clean.attrs["notes"] = (list(rob.notes) + _family_notes(text, clean) + _repeated_row_notes(text)
                            + _similar_study_id_notes(text) + _similar_level_notes(text, moderators)
                            + _placeholder_level_notes(text, moderators)
                            + _empty_moderator_notes(text, moderators, continuous_moderators, from_command_line,
                                                     analysed=clean)
                            + _study_citation_notes(text) + _copied_under_another_id_notes(text)
                            + _large_fisher_z_notes(clean) + _group_size_notes(clean))
    return clean, problems


def _kind_deciding_rows(clean: pd.DataFrame, unreadable: dict[int, set[str]]) -> set[int]:
    """The sheet rows of ``unreadable`` (row -> its input and sign columns whose cell cannot be read) where such a
    cell may decide the input kind the row is converted from: a sign column; no complete kind; or a kind before the
    row's first complete one (``INPUT_KINDS`` order) that the cell would complete, its other columns filled."""
    if not unreadable:
        return set()
    kinds = _first_complete_kind(clean.reindex(list(unreadable)))
    order = [kind.name for kind in codebook.INPUT_KINDS]
    rows = set()
    for row, columns in unreadable.items():
        kind = kinds.get(row)
        if columns & set(codebook.SIGN_COLUMNS) or not isinstance(kind, str):
            rows.add(row)
            continue
        cells = clean.loc[row]
        if any(columns & set(earlier.columns) and all(column in columns or pd.notna(cells.get(column))
                                                        for column in earlier.columns)
               for earlier in codebook.INPUT_KINDS[:order.index(kind)]):
            rows.add(row)
    return rows


def _as_written(problem: Problem, written: str) -> Problem:
    """``problem`` showing its cell as the sheet has it (``read_sheet``'s ``as_written``); an empty study_id that
    the sheet has as a missing-value marker (``NA``) says that the marker is read as empty."""
    if problem.check == "not_nullable" and problem.column == "study_id":
        return replace(problem, value=written, rule=f'"{written}" is read as an empty cell (a missing value), and a '
                                                    f"study_id {problem.rule}")
    return replace(problem, value=written)


#: Names reviewers give effect-size columns (as :func:`_squashed`: lower case, letters and digits)
#: that are too far from the codebook's for a did-you-mean: a header cell with one of them is named when rows lack
#: an effect-size input (the column is read only under the codebook's name; the cells are never moved silently)
INPUT_COLUMN_ALIASES = {
    **dict.fromkeys(("correlation", "corr", "pearson", "pearsonr", "pearsonsr", "rxy", "rvalue"), "r"),
    **dict.fromkeys(("samplesize", "ntotal", "totaln", "nobs"), "n"),
    **dict.fromkeys(("spearman", "spearmanrho", "spearmansrho"), "rho"),
    **dict.fromkeys(("kendall", "kendallstau", "taub"), "kendall_tau"),
    **dict.fromkeys(("zr", "fisherz", "fishersz", "zfisher"), "fisher_z"),
    **dict.fromkeys(("cohensd", "cohend", "smd"), "d"),
    **dict.fromkeys(("hedgesg", "hedges"), "g"),
    **dict.fromkeys(("tvalue", "tstat", "tstatistic"), "t"),
    **dict.fromkeys(("fvalue", "fstat", "fstatistic"), "f"),
    **dict.fromkeys(("chisquare", "chisq", "chi", "x2"), "chi2"),
    **dict.fromkeys(("pvalue", "pval"), "p"),
    **dict.fromkeys(("or", "oddsratio"), "odds_ratio"),
    **dict.fromkeys(("cilower", "lowerci", "cilow", "lcl", "lower", "orlower", "orcilow", "lower95"), "or_ci_lower"),
    **dict.fromkeys(("ciupper", "upperci", "cihigh", "ucl", "upper", "orupper", "orcihigh", "upper95"), "or_ci_upper"),
    **dict.fromkeys(("logor", "lnor", "logoddsratio"), "log_or"),
    **dict.fromkeys(("selogor", "selnor", "logorse", "lnorse"), "log_or_se"),
    **dict.fromkeys(("partialcorrelation", "partialr"), "partial_r"),
    **dict.fromkeys(("standardisedbeta", "standardizedbeta", "stdbeta"), "beta"),
}


def _input_alias(name) -> str | None:
    """The effect-size column a header cell names in other words (``Pearson r``, ``Sample size``), or with a remark in
    brackets (``r (Pearson)``, ``Correlation (r)``, ``N [analysed]``); None for any other cell."""
    bare = _without_remark(name)
    if _has_unit_remark(name):  # "t (weeks)", "N (sessions)": a moderator measured in time or sessions, not t or n
        bare = str(name)
    for candidate in (name, bare):
        if _squashed(candidate) in INPUT_COLUMN_ALIASES:
            return INPUT_COLUMN_ALIASES[_squashed(candidate)]
    return column_key(bare) if bare != str(name) and column_key(bare) in codebook.INPUT_COLUMNS else None


def _input_alias_problems(text: pd.DataFrame, problems: list[Problem], configured=()) -> list[Problem]:
    """Header cells named as effect-size columns are elsewhere (``OR``, ``CI_lower``, ``Cohen's d``): one problem
    each, on the header row, where some row has no complete input (the cells under them are not read as one).
    A column the config names (``configured``: a moderator called ``lower``), or whose cells in those rows hold
    text but no number (``or`` ticked with x, ``lower`` = yes/no), is the reviewer's own, not a misnamed input."""
    lacking = {p.row for p in problems if p.check == "no_complete_input"}
    if not lacking:
        return []
    found = []
    for name in text.columns:
        column = _input_alias(name)
        cells = text.loc[text.index.isin(lacking), name].dropna().astype(str)
        numeric = cells.str.match(r"\s*[-+\u2212]?(\d|[.,]\d)").any() or text[name].isna().all()
        if column and column not in text and str(name) not in codebook.CODEBOOK_COLUMNS and numeric \
                and str(name) not in configured:
            found.append(Problem(HEADER_ROW, str(name), "", f"is not a codebook column, so its cells are not read: "
                                 f"did you mean {column}? Rename it {column} (input kinds: config/README.md)",
                                 "input_column_alias"))
    return found


def _second_header_row(text: pd.DataFrame, problems: list[Problem]) -> list[Problem]:
    """The first data row as one problem when it reads as notes under the column names (a second header row:
    "(family)", "e.g. 0.35", "notes on published") rather than a study: at least five of its cells and half of
    its filled cells fail, and none of its effect-size inputs is a number. It was 50 cell problems, some of
    them suggesting to turn the notes into data."""
    if text.empty or FIRST_DATA_ROW not in text.index:
        return problems
    row = text.loc[FIRST_DATA_ROW].drop(SHEET_ROW)
    filled = row.dropna()
    names = _sub_header_names(filled)
    if names:
        second = Problem(FIRST_DATA_ROW, "", "", f"holds column names below the header row ({', '.join(names)}), as "
                         "a header of two rows does (a title merged over the columns it groups): the column names "
                         "must all be in row 1; write them there (unmerge the title) and delete this row",
                         "second_header")
        # the rows below: their inputs are in columns named in this row, unread until the names are in row 1
        return [second] + [p for p in problems if p.row != FIRST_DATA_ROW and p.check != "no_complete_input"]
    failing = {p.column for p in problems if p.row == FIRST_DATA_ROW and p.column}
    inputs = filled[[c for c in filled.index if c in codebook.INPUT_COLUMNS]]
    if (len(failing) < 5 or 2 * len(failing) < len(filled)
            or pd.to_numeric(inputs, errors="coerce").notna().any()):
        return problems
    shown = ", ".join(f'{column} "{filled[column]}"' for column in list(filled.index)[:3])
    second = Problem(FIRST_DATA_ROW, "", "", f"looks like a second header row, notes under the column names "
                     f"({shown}, ...) rather than a study: {len(failing)} of its {len(filled)} cells are not values "
                     "their columns take. Delete the row (keep such notes in the header's cell comments, as the "
                     "template does, or on another worksheet)", "second_header")
    return [second] + [p for p in problems if p.row != FIRST_DATA_ROW]


def _sub_header_names(filled: pd.Series) -> list[str]:
    """A first data row's codebook column names in columns of other names (``r`` and ``n`` under a title "Effect"
    merged over both, the second of them without a name), two or more and half of its filled cells: each as
    ``"r" in column Effect``, a column without a name by its letter; [] for a row of another kind."""
    from openpyxl.utils import get_column_letter

    names = []
    for column, cell in filled.items():
        name = _column_name(cell, 0) if isinstance(cell, str) else None
        if name in codebook.CODEBOOK_COLUMNS and name != column:
            unnamed = str(column).removeprefix("unnamed_")
            where = get_column_letter(int(unnamed)) if str(column).startswith("unnamed_") and unnamed.isdigit() \
                else column
            names.append(f'"{cell}" in column {where}')
    return names if len(names) >= 2 and 2 * len(names) >= len(filled) else []


#: ``study_id`` or ``authors`` cells of a spreadsheet's row of totals or means (English, German, French, Spanish)
SUMMARY_ROW_WORDS = frozenset({"total", "totals", "grand total", "sum", "mean", "means", "average", "averages",
                               "weighted mean", "weighted average", "overall", "pooled", "summary", "gesamt",
                               "summe", "mittelwert", "durchschnitt", "moyenne", "somme", "promedio", "suma"})


def _summary_row_problems(text: pd.DataFrame) -> list[Problem]:
    """A problem on each row whose ``study_id`` or ``authors`` is a word of :data:`SUMMARY_ROW_WORDS` (``Total``,
    ``Mean:``): a spreadsheet's row of totals below the studies. With an r in it, it was analysed as one
    more study without a word."""
    found = []
    for column in ("study_id", "authors"):
        if column not in text:
            continue
        for row, value in zip(text[SHEET_ROW], text[column]):
            if isinstance(value, str) and value.strip().rstrip(":").strip().casefold() in SUMMARY_ROW_WORDS:
                rule = ("looks like a row of totals or means below the studies, not a study: delete the row "
                        "(it would be analysed as one more study)")
                found.append(Problem(int(row), column, value, rule, "summary_row"))
    return list({problem.row: problem for problem in reversed(found)}.values())[::-1]


def _sign_column_problems(text: pd.DataFrame, configured=()) -> list[Problem]:
    """A column outside the codebook whose every filled cell is a sign (``+``, ``-``) or a placeholder (``?``), one of
    them a minus: the sign of a d or r kept apart from it, which is never read (the row's statistic stayed positive).
    One problem on its header cell; a column the config names is the reviewer's own, and a risk-of-bias column's + and
    - are judgements."""
    found = []
    for name in text.columns:
        if name == SHEET_ROW or name in codebook.CODEBOOK_COLUMNS or name in configured or rob_columns([name]):
            continue
        cells = text[name].dropna().astype(str).str.strip()
        keep = [bool(re.fullmatch(r"[-+\u2212\u2013]", cell)) or not is_placeholder(cell) for cell in cells]
        cells = cells[keep]  # "?" or "unknown" beside the signs: a sign not reported
        if len(cells) and cells.str.fullmatch(r"[-+\u2212\u2013]").all() and cells.str.fullmatch(r"[-\u2212\u2013]").any():
            found.append(Problem(HEADER_ROW, str(name), "", (
                "holds only signs (+, -), which are not read: a statistic carries its sign in its own cell (write "
                "d = -0.40), and an unsigned one (F, chi2, p) in direction (positive, negative); move the signs "
                "there and delete the column"), "sign_column"))
    return found


def _reference_level_problems(clean: pd.DataFrame, reference_levels) -> list[Problem]:
    """A header problem for each of the config's ``reference_levels`` that no row of its column has (a level
    renamed in the sheet, ``inpatient`` -> ``in-patient``, or one the sheet never coded): every moderator and
    Bayesian job stopped with 'reference level ... not among its levels'. Columns the sheet lacks are
    the moderator-column problems'."""
    found = []
    for column, level in (reference_levels or {}).items():
        if column not in clean or level is None:
            continue
        values = levels_present(clean[column])
        if str(level).strip() in values:
            continue
        close = difflib.get_close_matches(str(level), values, n=1, cutoff=0.6)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        shown = ", ".join(values[:10]) + (", ..." if len(values) > 10 else "")
        rule = (f"is the config's reference level (reference_levels.{column}) but no row has it "
                f"({column}: {shown or 'no values'}){hint}")
        found.append(Problem(HEADER_ROW, str(column), str(level), rule, "reference_level"))
    return found


def _formula_value_problems(clean: pd.DataFrame, meta_regression, continuous, problems: list[Problem]) -> list[Problem]:
    """The ``meta_regression`` formulas evaluated on the rows that give their variables, as the moderator jobs
    evaluate them (``continuous_moderators`` as numbers, others as levels): a term that cannot be evaluated (R's
    ``factor(x)``, ``^`` in ``I()``, a level that is not one) is a problem of the formula, as is a term that is not a
    finite number on any row; one that is not a finite number on some rows (``log(year - 2005)`` of 2003) is a
    problem of each of those rows, under the term's column. Each stopped the moderator job as a bug of alliance-meta.
    Formulas whose columns already have a problem are left to it."""
    found = []
    for formula in dict.fromkeys(meta_regression or ()):
        try:
            variables = formula_variables(formula)
        except ValueError:  # moderator_column_problems' ("cannot be read")
            continue
        if not variables or any(v not in clean for v in variables) or any(p.column in variables for p in problems):
            continue
        rows = clean.dropna(subset=variables).reset_index(drop=True)
        if rows.empty:
            continue
        try:
            build_design(rows, formula, [v for v in variables if v in (continuous or ())])
        except FormulaTermError as error:
            if not error.rows or len(error.rows) == len(rows):  # the formula's, not a row's
                found.append(Problem(HEADER_ROW, "", formula, str(error), "moderator_formula_value"))
                continue
            blamed = [v for v in term_variables(error.term) if v in variables] or variables
            for position in error.rows:
                row = rows.iloc[position]
                values = (_shown(row[blamed[0]]) if len(blamed) == 1 else
                          "; ".join(f"{v} = {_shown(row[v])}" for v in blamed))
                found.append(Problem(int(row[SHEET_ROW]), blamed[0], values,
                                     f'meta_regression "{formula}": its term {error.term} is not a finite number on '
                                     "this row (log or np.sqrt of a value not above 0, or a division by 0): change the "
                                     "formula, or the value if it is a typo", "moderator_formula_value"))
        except ValueError as error:  # formulaic's (a level named in C(x, Treatment('zzz')) that is not one)
            found.append(Problem(HEADER_ROW, "", formula, f"the formula {formula!r} cannot be evaluated: {error}",
                                 "moderator_formula_value"))
    return found


def _shown(value) -> str:
    """A moderator value as a reviewer typed it: 2003, not 2003.0."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _foreign_vocabulary_columns(text: pd.DataFrame, problems: list[Problem]) -> list[Problem]:
    """A header problem for a coded column none of whose (two or more) filled cells is in its vocabulary,
    and at least half of whose informative values (not placeholders: "?", "unknown", "-") are not even near a value
    of it: most likely a column of the reviewer's own that happens to share a codebook name (e.g. ``design`` holding
    cross-sectional/prospective), which the cell problems alone do not say. (Values that are all misspelt,
    ``atient``, are not flagged; nor is a column of placeholders only.)"""
    outside: dict[str, list[str]] = {}
    for problem in problems:
        # reverse and direction sign the effect (an x or a tick in reverse is a yes or a no, not another variable):
        # renamed, the column would leave every sign as written
        if problem.check == "vocabulary" and problem.column not in codebook.SIGN_COLUMNS:
            outside.setdefault(problem.column, []).append(problem.value)
    found = []
    for column, values in outside.items():
        filled = int(text[column].notna().sum()) if column in text else 0
        informative = [value for value in values if not is_placeholder(value)]  # "?", "not reported": no variable
        distinct = set(informative)
        unlike = sum(VOCABULARIES[column].suggestion(value) is None for value in distinct)
        if len(values) == filled >= 2 and informative and unlike >= len(distinct) / 2:  # design: prospective, ?
            found.append(Problem(HEADER_ROW, column, "", RULES["vocabulary_column"].message(column, "", pd.Series()),
                                 "vocabulary_column"))
    return found


def _text_moderator_columns(text: pd.DataFrame, problems: list[Problem], shown: int = 3) -> list[Problem]:
    """``problems`` with the cell problems of a continuous moderator none of whose (two or more) filled cells is
    a number replaced by one header problem: a column of categories (``rater``) named under
    continuous_moderators gave one line per row of the sheet. Its examples are the informative values (not
    placeholders: "?", "unknown", "-"); a column of placeholders only, or with a percentage (``45%``) or a number in
    digits other than 0-9 (``\u0664\u0665``), each a number of its own problem, is no column of categories."""
    failed: dict[str, list[str]] = {}
    for problem in problems:
        if problem.check == "moderator_number":
            failed.setdefault(problem.column, []).append(problem.value)
    columns = {column: values for column, values in failed.items()  # a column of dashes and "?" is no categories
               if column in text and len(values) == int(text[column].notna().sum()) >= 2
               and any(not is_placeholder(value) for value in values)
               and not any(_PERCENTAGE.fullmatch(written) or _is_number(pd.Series([written])).iloc[0]
                           for written in map(_in_ascii_digits, values))}
    if not columns:
        return problems
    kept = [problem for problem in problems if not (problem.check == "moderator_number" and problem.column in columns)]
    for column, values in columns.items():
        distinct = list(dict.fromkeys(value for value in values if not is_placeholder(value)))
        examples = ", ".join(f'"{value}"' for value in distinct[:shown]) + (", ..." if len(distinct) > shown else "")
        placeholders = [value for value in values if is_placeholder(value)]
        examples += (f" and {len(placeholders)} {plural(len(placeholders), 'placeholder')} ("
                     + ", ".join(f'"{value}"' for value in dict.fromkeys(placeholders)) + ")") if placeholders else ""
        summary = f"{len(values)} cells: {examples}"
        kept.append(Problem(HEADER_ROW, column, "", RULES["moderator_text_column"].message(column, summary, pd.Series()),
                            "moderator_text_column"))
    return kept


def _percentage_moderator_problems(text: pd.DataFrame, problems: list[Problem], shown: int = 3) -> list[Problem]:
    """``problems`` with the rule of a percentage in a continuous moderator (``45%``: a percent-formatted cell saved
    as CSV) saying what to write in the unit of the column's other numbers: ``0.45`` beside proportions (0.45,
    0.6), ``45`` beside percentages without the sign (45, 60), either where the column has no other number. It was
    'not a number; write "45"', a proportion of 45 among proportions."""
    numbers = {column: pd.to_numeric(text[column], errors="coerce") for column in
               {p.column for p in problems if p.check == "moderator_number" and p.column in text}}
    found = []
    for problem in problems:
        written = _in_ascii_digits(problem.value)  # "\u0664\u0665%": 45% in Arabic-Indic digits, told as 45% is
        percent = suggest_number(written) if problem.column in numbers and _PERCENTAGE.fullmatch(written) else None
        if problem.check != "moderator_number" or percent is None:
            found.append(problem)
            continue
        proportion = _as_the_sheet_writes(f"{decimal.Decimal(percent).scaleb(-2).normalize():f}")
        percent = _as_the_sheet_writes(percent)
        values = numbers[problem.column]
        others = values[np.isfinite(values)]
        examples = ", ".join(dict.fromkeys(_cell_as_written(text.loc[index], problem.column)
                                           for index in others.index[:shown]))  # as typed
        if len(others) and others.between(0, 1).all():
            advice = f"the column's other values are proportions ({examples}): write \"{proportion}\""
        elif len(others) and others.between(0, 100).all():
            advice = f"the column's other values are percentages without the sign ({examples}): write \"{percent}\""
        else:
            advice = (f'write "{proportion}" as a proportion or "{percent}" as a percentage, in one unit in every row '
                      "of the column")
        told = f"a percentage, which is not read as a number: {advice}"
        told = _other_digits_message(problem.value, f" and {told}") if _other_digits(problem.value) else told
        found.append(replace(problem, rule=f"is a continuous moderator ({CONTINUOUS_KEY}) but {told}"))
    return found


def _repeated_es_id_problems(text: pd.DataFrame, shown: int = 5) -> list[Problem]:
    """A problem on every row of a study whose ``es_id`` another row of that study has: the second coder's
    comparison refuses the sheet, and ``results/changes.csv`` keys effect sizes by study_id and es_id, so
    that of two such rows it sees only the last (an edit of the first goes unreported, deleting one reads
    as the other edited). A row without ``es_id`` is numbered study_id-k by its place among the study's
    rows (as ``effect_sizes.csv`` and the comparison number it): it repeats a row whose es_id is that.
    Empty es_id cells never repeat each other, and one es_id in two studies is two effect sizes."""
    if "es_id" not in text or "study_id" not in text:
        return []
    rows = text[text["study_id"].notna()]
    study = rows["study_id"].astype(str)
    numbered = study + "-" + (rows.groupby("study_id", sort=False).cumcount() + 1).astype(str)
    key = rows["es_id"].astype(object).where(rows["es_id"].notna(), numbered).astype(str)
    repeated = pd.DataFrame({"study": study, "key": key}).duplicated(keep=False)
    problems = []
    for (study_id, es_id), group in rows[repeated].groupby([study[repeated], key[repeated]], sort=False):
        for row, written in zip(group[SHEET_ROW], group["es_id"]):
            others = group[group[SHEET_ROW] != row]
            blank = others.loc[others["es_id"].isna(), SHEET_ROW].tolist()
            if pd.isna(written):
                where = (f"is empty, so the row is numbered {es_id} by its place among the rows of study {study_id}, "
                         f"the es_id of {rows_phrase(others[SHEET_ROW].tolist(), shown)}")
            else:
                where = f"is also the es_id of {rows_phrase(others[SHEET_ROW].tolist(), shown)} of study {study_id}"
                if blank:  # one row at most: rows without es_id have different places
                    where += f" (row {blank[0]} has no es_id and is numbered {es_id} by its place in the study)"
            problems.append(Problem(int(row), "es_id", "" if pd.isna(written) else str(written),
                                    f"{where}: give each effect size of a study its own es_id (the second coder's "
                                    "comparison and results/changes.csv tell effect sizes apart by study_id and es_id)",
                                    "es_id_repeated"))
    return problems


def _similar_study_id_notes(text: pd.DataFrame, shown: int = 5) -> list[str]:
    """``study_id`` values that differ only in case, spaces, hyphens, underscores, dots or leading
    zeros (``S001``, ``s001``, ``S 001``; ``1``, ``01``, ``1.0``) are different studies to the
    analysis; a reviewer who typed one study two ways would get two independent samples. A note,
    not a problem: the values may be meant to differ."""
    ids = text["study_id"].dropna()
    keys = ids.map(identifier_key)
    spellings = ids.groupby(keys.to_numpy(), sort=False).unique()
    groups = [list(values) for values in spellings if len(values) > 1]
    if not groups:
        return []
    rows = text.groupby("study_id", sort=False)[SHEET_ROW].apply(list)

    def described(values: list) -> str:
        return " vs ".join(f'"{value}" ({rows_phrase(rows[value], shown)})' for value in values)

    more = f" and {len(groups) - shown} more" if len(groups) > shown else ""
    return ["study_id values that differ only in case, spaces, punctuation or how a number is written are analysed "
            f"as different studies: {'; '.join(described(values) for values in groups[:shown])}{more}; write them "
            "alike if they are one sample"]


def _similar_level_notes(text: pd.DataFrame, moderators, shown: int = 5) -> list[str]:
    """Levels of a free categorical moderator (one without a codebook vocabulary, which is normalised) that
    differ only in case, spaces or the dots of an abbreviation (``Inpatient``, ``INPATIENT``, ``in patient``;
    ``T.A.U.``, ``TAU``; :func:`~alliance_meta.inputs.codebook.vocabulary_key`): each is a subgroup of its
    own. A note per moderator, not a problem: the reviewer decides whether they are one level."""
    notes = []
    for column in (c for c in dict.fromkeys(moderators) if c in text and c not in VOCABULARIES):
        values = text[column].dropna().astype(str)
        keys = values.map(codebook.vocabulary_key).str.casefold().str.replace(r"[\s\-_]+", "", regex=True)
        spellings = values.groupby(keys.to_numpy(), sort=False).unique()
        groups = [list(group) for group in spellings if len(group) > 1]
        if not groups:
            continue
        rows = text.loc[values.index].groupby(column, sort=False)[SHEET_ROW].apply(list)
        described = "; ".join(" vs ".join(f'"{value}" ({rows_phrase(rows[value], shown)})' for value in group)
                              for group in groups[:shown])
        more = f" and {len(groups) - shown} more" if len(groups) > shown else ""
        notes.append(f"{column}: values that differ only in case, spaces or dots are different levels (subgroups): "
                     f"{described}{more}; write them alike if they are one level")
    return notes


def _placeholder_level_notes(text: pd.DataFrame, moderators, shown: int = 5) -> list[str]:
    """Placeholders (``?``, ``unknown``, a dash: :func:`is_placeholder`) in a free categorical moderator (one without a
    vocabulary, whose cells are accepted as written): each is a level of its own in the moderator's analyses. A note per
    moderator, not a problem: "unknown" may be a subgroup on purpose; an empty cell (or NA) leaves the row out."""
    notes = []
    for column in (c for c in dict.fromkeys(moderators) if c in text and c not in VOCABULARIES and not rob_columns([c])):
        values = text[column].dropna().astype(str)
        values = values[values.map(is_placeholder)]
        if values.empty:
            continue
        rows = text.loc[values.index].groupby(values.to_numpy(), sort=False)[SHEET_ROW].apply(list)
        described = ", ".join(f'"{value}" ({rows_phrase(rows[value], shown)})' for value in rows.index)
        notes.append(f"{column}: placeholders are levels (subgroups) of their own in the moderator analyses: "
                     f"{described}; leave a cell empty (or write NA) to leave its row out of them")
    return notes


def _empty_moderator_notes(text: pd.DataFrame, moderators=(), continuous_moderators=(),
                           from_command_line: bool = False, analysed: pd.DataFrame | None = None) -> list[str]:
    """The config's moderator columns that are in the header but empty in every row (a column not coded yet):
    a note each, not a problem, as their analyses run and say there is nothing to compare. ``analysed``: the
    checked sheet, whose ``rob_overall`` may be derived from the domains where the sheet leaves it empty (then it is
    analysed, and no note)."""
    keys = dict.fromkeys(moderators or (), "moderators")
    for column in continuous_moderators or ():
        keys.setdefault(column, "continuous_moderators")
    notes = []
    for column, key in keys.items():
        filled = analysed is not None and column in analysed and analysed[column].notna().any()
        if column in text and text[column].isna().all() and not filled:  # cells as _text_cell reads them: None when empty
            named = f"given with {COMMAND_LINE_OPTIONS[key]}" if from_command_line else f"in the config's {key}"
            where = COMMAND_LINE_OPTIONS[key] if from_command_line else key
            notes.append(f"{column} ({named}) is empty in every row: its moderator analysis and figures have "
                         f"nothing to compare; code it, or take it out of {where}")
    return notes


def _study_citation_notes(text: pd.DataFrame, shown: int = 5) -> list[str]:
    """Rows of one ``study_id`` that name different ``authors`` or ``year`` (two studies typed with one
    id?): they are pooled as one sample, and its labels use the first row's citation. A note, not a
    problem: a sample reported in two papers has two citations. Case and spacing do not count."""
    columns = [column for column in ("authors", "year") if column in text]
    if "study_id" not in text or not columns:
        return []
    rows = text.dropna(subset=["study_id"])
    keys = rows[columns].apply(lambda cells: cells.map(codebook.citation_key, na_action="ignore"))
    counts = keys.groupby(rows["study_id"].to_numpy(), sort=False).nunique()
    studies = counts.index[(counts > 1).any(axis=1)]
    if not len(studies):
        return []
    differing = []
    for study in studies[:shown]:
        of_study = rows["study_id"] == study
        details = []
        for column in columns:
            spellings = rows.loc[of_study, column].dropna().groupby(keys.loc[of_study, column].dropna().to_numpy(),
                                                                    sort=False).first()
            if len(spellings) > 1:
                details.append(f"{column} " + " vs ".join(f'"{value}"' for value in spellings.iloc[:3]))
        differing.append(f"study {study}: {', '.join(details)} ({rows_phrase(list(rows.loc[of_study, SHEET_ROW]), shown)})")
    more = f" and {len(studies) - shown} more" if len(studies) > shown else ""
    return ["rows of one study_id with different authors or year are pooled as one sample, labelled with the "
            f"first row's citation: {'; '.join(differing)}{more}; give each study its own study_id if "
            "they are different samples"]


def identifier_key(value: object) -> str:
    """An identifier without case, spaces, hyphens, underscores and dots (``S 001``, ``s-001`` ->
    ``s001``), keeping a separator between two numbers (``S1.2`` is not ``S12``): spellings of one
    identifier that the notes on study_id and on two coders' rows point out. A whole number is
    one identifier however written (``1``, ``01``, ``1.0``). A leading apostrophe (``'S001``: Excel's mark of a
    text cell, typed into a CSV or written by an export that guards against formulas) is left out."""
    value = str(value).strip().lstrip("'")
    whole = re.fullmatch(r"\s*0*(\d+?)(?:\.0+)?\s*", value)
    if whole:
        return whole.group(1)
    text = re.sub(r"(?<=\d)[\s\-_.]+(?=\d)", "|", str(value).casefold())
    return re.sub(r"[\s\-_.]+", "", text)


def _repeated_row_notes(text: pd.DataFrame, shown: int = 5) -> list[str]:
    """Rows that repeat another row in every column (a row pasted twice?): each counts as one more
    dependent effect size of its study, which makes the study look more precise. A note, not a
    problem: two outcomes of one sample can have the same rounded r and n."""
    cells = text.drop(columns=SHEET_ROW)
    repeated = cells.duplicated(keep=False)
    if not repeated.any():
        return []
    keys = cells[repeated].groupby(list(cells.columns), dropna=False, sort=False).ngroup()
    groups = list(text.loc[repeated, SHEET_ROW].groupby(keys.to_numpy(), sort=False).apply(list))
    study = dict(zip(text[SHEET_ROW], text["study_id"])) if "study_id" in text else {}

    def described(rows: list) -> str:
        listed = " = ".join(map(str, rows[:shown])) + (f" = ... ({len(rows)} rows)" if len(rows) > shown else "")
        return listed + (f" (study {study[rows[0]]})" if study else "")

    more = f" and {len(groups) - shown} more" if len(groups) > shown else ""
    return [f"rows with the same cells in every column, each counted as one more effect size of its study: "
            f"{', '.join(described(rows) for rows in groups[:shown])}{more}; delete a row pasted twice, or tell the "
            "effect sizes apart (e.g. es_id, measure)"]


def _copied_under_another_id_notes(text: pd.DataFrame, shown: int = 5) -> list[str]:
    """Rows that repeat a row of another ``study_id`` in every other column, citation included (one
    study entered twice under two ids?): the sample would count twice. A note, not a problem; rows
    without ``authors`` or ``year`` are left out (equal r and n alone can be chance)."""
    citation = [column for column in ("authors", "year") if column in text]
    if "study_id" not in text or not citation:
        return []
    cells = text.drop(columns=[SHEET_ROW, "study_id", *(["es_id"] if "es_id" in text else [])])
    candidates = text[citation].notna().any(axis=1) & text["study_id"].notna()
    repeated = cells.duplicated(keep=False) & candidates
    if not repeated.any():
        return []
    keys = cells[repeated].groupby(list(cells.columns), dropna=False, sort=False).ngroup().to_numpy()
    groups = []
    for _, rows in text.loc[repeated, [SHEET_ROW, "study_id"]].groupby(keys, sort=False):
        if rows["study_id"].nunique() > 1:
            groups.append(" = ".join(f"row {row} (study {study})" for row, study in
                                     zip(rows[SHEET_ROW].iloc[:shown], rows["study_id"].iloc[:shown])))
    if not groups:
        return []
    more = f" and {len(groups) - shown} more" if len(groups) > shown else ""
    return ["rows of different study_ids with the same cells in every other column, citation included (one study "
            f"entered twice?): {'; '.join(groups[:shown])}{more}; delete the copy, or check the effect sizes"]


LARGE_FISHER_Z = 1.5
"""|Fisher's z| from which a note asks whether the cell holds a test statistic: z = 1.5 is r = .905."""


def _large_fisher_z_notes(clean: pd.DataFrame, shown: int = 5) -> list[str]:
    """Rows converted from a Fisher z of 1.5 or more in absolute value (r >= .905), as a note: a correlation
    this strong is rare, while a paper's z test of a correlation (z = atanh(r) sqrt(n - 3), e.g. 3.2) typed
    in ``fisher_z`` reads as r = .997 and passes every check. Where n is known, the note gives the Fisher z such
    a test statistic stands for."""
    if clean.empty or "fisher_z" not in clean:
        return []
    z = _column(clean, "fisher_z")
    large = (_first_complete_kind(clean) == "fisher_z") & (z.abs() >= LARGE_FISHER_Z)
    if not large.any():
        return []
    n = _column(clean, "n")
    rows = [f"row {row} (fisher_z = {value:g}, r = {np.tanh(value):.3f}"
            + (f"; as a test statistic, Fisher's z = {value / math.sqrt(size - 3):.3f}" if size > 3 else "") + ")"
            for row, value, size in zip(clean.loc[large, SHEET_ROW].iloc[:shown], z[large].iloc[:shown],
                                        n[large].fillna(0).iloc[:shown])]
    more = f" and {int(large.sum()) - shown} more" if large.sum() > shown else ""
    return [f"fisher_z is {LARGE_FISHER_Z:g} or more (r >= {np.tanh(LARGE_FISHER_Z):.3f}) in {'; '.join(rows)}{more}: "
            "if the paper reports the z test of the correlation, not Fisher's z, type the correlation's r, or "
            "Fisher's z = z / sqrt(n - 3)"]


TWO_BY_TWO_KINDS = ("counts", "or_ci", "log_or_se")  # 2x2 tables and odds ratios: two groups as well


def _family_notes(text: pd.DataFrame, clean: pd.DataFrame) -> list[str]:
    """Without a ``family`` column every row is an outcome effect size, also a two-group comparison or a 2x2
    table (converted to r): say so, since completer-vs-dropout comparisons need ``family = dropout``."""
    if "family" in text or clean.empty:
        return []
    complete = complete_input_table(clean)
    kinds = [kind.name for kind in codebook.INPUT_KINDS if kind.name in complete]
    first = complete[kinds].idxmax(axis=1).where(complete[kinds].any(axis=1))  # the kind each row is converted from
    groups = {kind.name for kind in codebook.INPUT_KINDS if "n1" in kind.columns or kind.name in TWO_BY_TWO_KINDS}
    found = [kind for kind in kinds if kind in groups and (first == kind).any()]
    if not found:
        return []
    return ["the sheet has no family column, so every row is in the outcome family (alliance-outcome "
            f"association), also the two-group comparisons ({', '.join(found)}; converted to r); write "
            "family = dropout on the rows that compare completers with dropouts"]


#: ``plots.columns`` the conversion gives every analysed row, whether or not the sheet has the column: ``n``
#: (the sample size, also from n1 + n2, df + 2 or the 2x2 counts) and ``k_effect_sizes`` (a study's effect sizes)
DERIVED_FIGURE_COLUMNS = ("n", "k_effect_sizes")
#: Columns of the analysed rows a location-scale formula may use besides the sheet's (``n`` from n1 + n2 too)
LOCATION_SCALE_COLUMNS = ("yi", "vi", "n", "k_effect_sizes")


#: the command line's options for the config keys it has (``python -m alliance_meta.inputs.sheet``)
COMMAND_LINE_OPTIONS = {"moderators": "--moderators", "continuous_moderators": "--continuous"}


def moderator_column_problems(columns, *, moderators=(), continuous_moderators=(), meta_regression=(),
                              subsets=None, figure_columns=(), location_scale=(), psychometric_moderators=(),
                              empty_rob_columns=(), from_command_line: bool = False) -> list[Problem]:
    """Header problems of the config's moderator settings: a formula that cannot be read,
    and every named column missing from the sheet (once, with the config keys that name
    it and the closest sheet column). ``location_scale``: the config's models (a formula, or
    ``{location, scale}``), whose variables may also be the analysed rows' ``yi``, ``vi``, ``n``
    and ``k_effect_sizes``. ``empty_rob_columns``: ``rob_*`` columns of the sheet left out of ``columns``
    for holding no judgement; one named by the config is said to be empty. ``from_command_line``: the
    settings came from the command line's options (:data:`COMMAND_LINE_OPTIONS`), and the messages name those."""
    from alliance_meta.inputs.config_check import formulas  # every formula of a location_scale model

    problems: list[Problem] = []
    wanted: dict[str, list[str]] = {}
    for name in moderators or ():
        wanted.setdefault(name, []).append("moderators")
    for name in continuous_moderators or ():
        wanted.setdefault(name, []).append("continuous_moderators")
    for formula in meta_regression or ():
        try:
            variables = formula_variables(formula)
        except ValueError as error:
            problems.append(Problem(HEADER_ROW, "", formula, f"meta_regression formula cannot be read: {error}",
                                    "moderator_formula"))
            continue
        for name in variables:
            wanted.setdefault(name, []).append(f'meta_regression "{formula}"')
    for _, formula in formulas({"location_scale": list(location_scale or ())}):
        try:  # a formula that cannot be read is the config check's problem
            variables = formula_variables(formula)
        except ValueError:
            continue
        for name in variables:
            wanted.setdefault(name, []).append(f'location_scale "{formula}"')
    for name in subsets or ():
        wanted.setdefault(name, []).append("multiverse.subsets")
    for name in psychometric_moderators or ():
        wanted.setdefault(name, []).append("psychometric.moderators")
    for name in figure_columns or ():
        if name not in DERIVED_FIGURE_COLUMNS:
            wanted.setdefault(name, []).append("plots.columns")
    present = [str(c) for c in columns if c != SHEET_ROW]
    by_key = {c.lower(): c for c in present}
    where = "on the command line" if from_command_line else "in the config"
    for name, keys in wanted.items():
        remarked = _remarked_twins(name, present)  # "Rater (patient/therapist)" for rater: the sheet's to rename
        keys = list(dict.fromkeys(keys))
        if from_command_line:
            named = f"is named by {', '.join(COMMAND_LINE_OPTIONS.get(key, key) for key in keys)}"
        else:
            named = f"is named by the config ({', '.join(keys)})"
        if name in present and remarked and name in codebook.INPUT_COLUMNS:  # t beside "t (weeks)": which is meant?
            problems.append(Problem(HEADER_ROW, name, "", (
                f'{named} and names two columns: {name}, an effect-size input, and "{remarked[0]}": rename '
                f'"{remarked[0]}" (e.g. "{_plain_name(remarked[0])}", and name that {where} to analyse it)'),
                "moderator_input_column"))
            continue
        if name in present or (name in LOCATION_SCALE_COLUMNS and all(k.startswith("location_scale") for k in keys)):
            continue
        close = remarked or [by_key[match] for match in difflib.get_close_matches(name.lower(), list(by_key), n=1,
                                                                                  cutoff=0.6)]
        hint = f'; did you mean "{close[0]}"?' if close else ""
        if remarked and name in codebook.INPUT_COLUMNS:  # renamed t, "t (weeks)" would be read as t statistics
            hint += (f' (rename it, e.g. "{_plain_name(remarked[0])}", and name that {where}: a column named '
                     f"{name} is read as an effect-size input)")
        elif remarked:
            hint += f" (rename it {name})"
        if name in empty_rob_columns or (name == OVERALL and empty_rob_columns):
            rule = (f"{named} but the sheet's risk-of-bias columns ({', '.join(empty_rob_columns)}) are empty: "
                    f"write the judgements, or take it out of {'the command line' if from_command_line else 'the config'}")
        else:
            rule = f"{named} but is not a column of the sheet{hint}"
        problems.append(Problem(HEADER_ROW, name, "", rule, "moderator_column_missing"))
    return problems


def _typed(text: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as float (unparseable cells missing), vocabularies canonical."""
    clean = text.copy()
    for column in clean.columns.intersection(NUMERIC_COLUMNS):
        values = pd.to_numeric(clean[column], errors="coerce").astype(float)
        clean[column] = values.where(np.isfinite(values))
    for column, vocabulary in VOCABULARIES.items():
        if column in clean:
            clean[column] = clean[column].map(codebook.vocabulary_key).map(vocabulary.lookup)
        if vocabulary.default is not None and (column in clean or column == "family"):
            if column not in clean:
                clean.insert(min(2, len(clean.columns)), column, vocabulary.default)
            clean[column] = clean[column].fillna(vocabulary.default)
    return clean


# ---------------------------------------------------------------------------
# Report and command line
# ---------------------------------------------------------------------------

def format_problems(problems: list[Problem], source: str = "the sheet") -> str:
    """A readable report: a count, then one line per problem grouped by kind of rule (:func:`worded` names the
    settings of the command line or the API in it)."""
    if not problems:
        return f"{source}: no problems"
    rows = len({p.row for p in problems})
    noun = "problem" if len(problems) == 1 else "problems"
    lines = [f"{source}: {len(problems)} {noun} in {rows} row{'s' if rows != 1 else ''} "
             "(rows as numbered in a spreadsheet, header = row 1)"]
    commas = sum(p.written == DECIMAL_COMMA_WRITTEN for p in problems)
    if commas >= 3:  # a sheet saved with decimal commas (a tab-separated or comma CSV from a German Excel)
        lines.append(f'{commas} of them are numbers written with a decimal comma: set decimal: "," in '
                     "config/config.yaml to read every decimal comma of the sheet as a decimal point")
    lines += _column_format_lines(problems)
    headings = {p.check: (RULES[p.check].heading if p.check in RULES else "other") for p in problems}
    order = list(dict.fromkeys(rule.heading for rule in RULES.values())) + ["other"]
    for heading in sorted(set(headings.values()), key=order.index):
        group = [p for p in problems if headings[p.check] == heading]
        lines.append("")
        lines.append(f"{heading} ({len(group)}):")
        lines.extend(f"  {line}" for line in _problem_lines(group))
    return "\n".join(lines)


#: how a number of a column is written that is a problem cell by cell, said once for the column (format_problems)
_COLUMN_FORMATS = {"thousands": "written with thousands separators", "percent": "written as percentages"}


def _column_format(problem: Problem) -> str | None:
    """``thousands`` for a count written ``1,200``, ``1.200``, ``1 200`` (and a problem given the thousands advice,
    ``written`` by :func:`_problems`); ``percent`` for ``45%``; else None."""
    value = str(problem.value).strip()
    if problem.written:
        return problem.written if problem.written in _COLUMN_FORMATS else None
    if problem.check == "number" and "%" in value:
        return "percent"
    if problem.column in WHOLE_NUMBER_COLUMNS and (
            problem.check == "number" and _THOUSANDS_SEPARATED.fullmatch(value)
            or problem.check == "ambiguous_point" and _GROUPED_POINTS.fullmatch(value)):
        return "thousands"
    return None


def _column_format_lines(problems: list[Problem], least: int = 3) -> list[str]:
    """One line per column with ``least`` or more cells written alike (thousands separators, percentages):
    "column n: 37 cells written with thousands separators, e.g. row 12 "1,200" (each listed below)"."""
    found: dict[tuple[str, str], list[Problem]] = {}
    for problem in problems:
        if (written := _column_format(problem)) is not None:
            found.setdefault((problem.column, written), []).append(problem)
    return [f'column {column}: {len(cells)} cells {_COLUMN_FORMATS[written]}, e.g. row {cells[0].row} '
            f'"{cells[0].value}" (each listed below)'
            for (column, written), cells in found.items() if len(cells) >= least]


def _problem_lines(problems: list[Problem]) -> list[str]:
    """One line per problem, except that the problems alike in several rows (one column, value and rule: a misspelt
    code, "psychodinamic" in 40 rows of modality, or a numeric code, modality = 1; rows hidden alike, by hand or by
    the worksheet's filter) are one line where the first of them stands, naming all their rows: "rows 4-9, 12, 15,
    column modality, value "psychodinamic": is not in the vocabulary ...", "rows 21-24, 30 are hidden by the
    worksheet's filter: ...". Each row stays a :class:`Problem` of its own (the API's list, the counts)."""
    alike: dict[tuple[str, str, str], list[int]] = {}
    for problem in problems:
        alike.setdefault(_alike(problem), []).append(problem.row)
    lines = []
    for problem in problems:
        rows = alike.pop(_alike(problem), None)
        if rows is None:  # told in the line of the first of them (a row twice in it: once)
            continue
        if len(set(rows)) == 1:
            lines.append(str(problem))
        else:
            lines.append(f"rows {_row_ranges(rows)} {_HIDDEN_ROWS[problem.rule]}" if _alike(problem)[0] is None
                         else _where(f"rows {_row_ranges(rows)}", problem.column, problem.value, problem.rule))
    return lines


def _alike(problem: Problem) -> tuple:
    """What makes problems of several rows one line of the report (:func:`_problem_lines`): their column, value and
    rule; of rows hidden alike, the rule alone (None first)."""
    if problem.check == "hidden_row" and problem.rule in _HIDDEN_ROWS:
        return (None, "", problem.rule)
    return (problem.column, str(problem.value), problem.rule)


#: how many ranges of rows a line of the report names (:func:`_row_ranges`) before it counts the others: a code
#: misspelt in every other row of 5,000 was one line of 14,630 characters
ROW_RANGES_NAMED = 20


def _row_ranges(rows: list[int]) -> str:
    """``21, 22, 23, 24, 30, 31`` as ``21-24, 30, 31``: runs of three or more rows as ranges, each row once; beyond
    :data:`ROW_RANGES_NAMED` ranges (a row alone, or a run) the other rows counted: ``2, 4, ..., 40 and 2480 more
    rows``."""
    runs: list[list[int]] = []
    for row in sorted(set(rows)):
        if runs and row == runs[-1][-1] + 1:
            runs[-1].append(row)
        else:
            runs.append([row])
    ranges = [[run] if len(run) >= 3 else [[row] for row in run] for run in runs]
    ranges = [part for parts in ranges for part in parts]
    named, rest = ranges[:ROW_RANGES_NAMED], ranges[ROW_RANGES_NAMED:]
    text = ", ".join(f"{run[0]}-{run[-1]}" if len(run) >= 3 else str(run[0]) for run in named)
    more = sum(len(run) for run in rest)
    return f"{text} and {more} more {'row' if more == 1 else 'rows'}" if more else text


def summarise(clean: pd.DataFrame, source: str = "the sheet") -> str:
    """One paragraph on a valid sheet: rows, studies, families and input kinds."""
    first_kind = _first_complete_kind(clean)  # order of INPUT_KINDS
    families = clean["family"].value_counts()
    kinds = first_kind.value_counts()
    return (f"{source}: {len(clean)} effect sizes from {clean['study_id'].nunique()} studies, no problems.\n"
            f"  families: {', '.join(f'{name} {count}' for name, count in families.items())}\n"
            f"  input kinds: {', '.join(f'{name} {count}' for name, count in kinds.items())}")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def add_risk_of_bias_arguments(parser: argparse.ArgumentParser) -> None:
    """The command-line form of the config's ``risk_of_bias`` block (``--rob-tool``, ``--rob-domains``)."""
    from alliance_meta.inputs.risk_of_bias import TOOLS

    parser.add_argument("--rob-tool", choices=TOOLS, default="quips",
                        help="the risk-of-bias tool of the rob_* columns (the config's risk_of_bias.tool)")
    parser.add_argument("--rob-domains", type=_names, default=[], metavar="A,B",
                        help="the domains of --rob-tool custom (risk_of_bias.domains)")


def risk_of_bias_options(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    """The config's ``risk_of_bias`` block from :func:`add_risk_of_bias_arguments`' options (a usage
    error, exit 2, for ``custom`` without domains or domains without ``custom``)."""
    if (arguments.rob_tool == "custom") != bool(arguments.rob_domains):
        parser.error("--rob-tool custom needs --rob-domains (e.g. --rob-domains selection,measurement), and "
                     "--rob-domains needs --rob-tool custom")
    return {"tool": arguments.rob_tool, **({"domains": arguments.rob_domains} if arguments.rob_domains else {})}


def worded(text: str, wording: dict[str, str] = COMMAND_LINE_WORDING) -> str:
    """``text`` (a problem's rule, a note, a message) with the config's settings named as the command line's options
    (:data:`COMMAND_LINE_WORDING`) or the API's arguments (:data:`API_WORDING`)."""
    for config_words, own_words in wording.items():
        text = text.replace(config_words, own_words)
    return text


def reworded(problems: list[Problem], wording: dict[str, str] = COMMAND_LINE_WORDING) -> list[Problem]:
    """``problems`` with their rules :func:`worded`."""
    return [replace(problem, rule=worded(problem.rule, wording)) for problem in problems]


def main(argv: list[str] | None = None) -> int:
    """``python -m alliance_meta.inputs.sheet SHEET [--moderators a,b] [--continuous c]
    [--sheet-name NAME] [--decimal ,] [--rob-tool rob2] [--rob-domains a,b]``: report problems (exit 1) or
    summarise (exit 0)."""
    parser = argparse.ArgumentParser(prog="python -m alliance_meta.inputs.sheet", description=main.__doc__)
    parser.add_argument("sheet", help="data sheet (.csv or .xlsx); it is only read, never changed")
    parser.add_argument("--moderators", type=_names, default=[], metavar="A,B",
                        help="categorical moderator columns (the config's moderators) that must be in the header")
    parser.add_argument("--continuous", type=_names, default=[], metavar="C,D",
                        help="continuous moderator columns (continuous_moderators): in the header, numbers only")
    parser.add_argument("--sheet-name", default=None, metavar="NAME",
                        help="worksheet of an .xlsx file (the config's sheet_name)")
    parser.add_argument("--decimal", choices=DECIMALS, default="auto",
                        help="decimal separator of numbers written as text (the config's decimal)")
    add_risk_of_bias_arguments(parser)
    arguments = parser.parse_args(argv)
    risk_of_bias = risk_of_bias_options(arguments, parser)
    try:
        raw = read_sheet(arguments.sheet, sheet_name=arguments.sheet_name, decimal=arguments.decimal)
    except SheetError as error:
        print(f"error: {worded(str(error))}", file=sys.stderr)
        return 1
    for note in raw.attrs.get("notes", []):
        print(f"note: {worded(note)}")
    clean, problems = validate_sheet(raw, moderators=arguments.moderators,
                                     continuous_moderators=arguments.continuous,
                                     risk_of_bias=risk_of_bias, from_command_line=True)
    problems = reworded(problems)
    if problems:
        print(worded(format_problems(problems, arguments.sheet)))
        return 1
    print(summarise(clean, arguments.sheet))
    for note in clean.attrs.get("notes", []):
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
