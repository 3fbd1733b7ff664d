"""Reading and validating the reviewer's data sheet (one row per effect size).

``read_sheet`` reads a CSV (as text, so ``0,35`` is seen as written) or the first
worksheet of an XLSX file, read-only. ``validate_sheet`` checks it against the
codebook (:mod:`alliance_meta.inputs.codebook`, ``config/README.md``) with two
declarative pandera schemas, collected lazily so that every failure is reported at
once:

1. ``TEXT_SCHEMA`` on the cells as written: ``study_id`` filled, numbers in numeric
   columns (and in the configured continuous moderators, :func:`text_schema`), coded
   values inside their vocabularies;
2. ``VALUE_SCHEMA`` on the typed sheet: ranges (r in (-1, 1), p in (0, 1], ...),
   sample sizes large enough for the metric, and row-wise rules (a complete
   effect-size input, ``direction`` for unsigned statistics, the odds ratio inside
   its CI, inputs that agree).

The moderator columns the config names (``moderators``, ``continuous_moderators``,
the variables of the ``meta_regression`` formulas and ``multiverse.subsets``) must be
in the header; a missing one is a problem of the header row naming the config key and
the closest sheet column.

Each failure becomes a :class:`Problem` with the row number the reviewer sees in a
spreadsheet (header = row 1, first data row = 2). ``python -m alliance_meta.inputs.sheet
SHEET [--moderators a,b] [--continuous c]`` prints the report and exits 1, or a
summary and exits 0.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import difflib
import importlib.util
import io
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from alliance_meta.inputs import codebook
from alliance_meta.inputs.codebook import INPUT_KINDS, NUMERIC_COLUMNS, VOCABULARIES, WHOLE_NUMBER_COLUMNS
from alliance_meta.engines.design import formula_variables

SHEET_ROW = "sheet_row"
HEADER_ROW = 1
FIRST_DATA_ROW = 2
MINIMUM_N = 4
"""Fisher's z has sampling variance 1/(n - 3) (Borenstein et al. 2009, eq. 6.3): n > 3."""
MINIMUM_GROUP_SIZE = 2
"""Each group needs two cases for an SD of its own; d's variance needs n1, n2 > 0
and Hedges' correction needs n1 + n2 > 2 (Borenstein et al. 2009, eq. 4.18-4.23)."""
FIRST_YEAR = 1900


class SheetError(Exception):
    """The sheet cannot be read at all (missing file, wrong format, broken CSV/XLSX)."""


@dataclass(frozen=True)
class Problem:
    """One failure of one cell (or row) of the sheet.

    ``row`` is the spreadsheet row (header = 1, first data row = 2), ``column`` the
    sheet column (empty for a whole-row rule), ``value`` the cell as written,
    ``rule`` the reviewer-facing explanation and ``check`` the rule's short name.
    """

    row: int
    column: str
    value: str
    rule: str
    check: str = ""

    def __str__(self) -> str:
        where = f"row {self.row}"
        if self.column:
            where += f", column {self.column}"
        if self.value:
            where += f', value "{self.value}"'
        return f"{where}: {self.rule}"


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def read_sheet(path: str | Path) -> pd.DataFrame:
    """Read a ``.csv`` or ``.xlsx`` sheet as text, never modifying the file.

    Every cell is a ``str`` (or missing); header names are stripped and codebook
    columns matched case-insensitively (``Study_ID`` -> ``study_id``). A
    ``sheet_row`` column holds each row's spreadsheet row number; completely empty
    rows and unnamed empty columns are dropped. CSV: UTF-8 (with or without BOM),
    else Windows-1252; the delimiter (``,``, ``;`` or tab) is sniffed from the
    header line. Raises :class:`SheetError` when the file cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise SheetError(f"cannot read {path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            rows = _csv_rows(path)
        elif suffix in (".xlsx", ".xlsm"):
            rows = _xlsx_rows(path)
        else:
            raise SheetError(f"cannot read {path}: expected a .csv or .xlsx file, not {suffix or 'no suffix'}")
    except SheetError:
        raise
    except Exception as error:  # every parser failure becomes one readable message
        raise SheetError(f"cannot read {path}: {type(error).__name__}: {error}") from error
    if rows.empty:
        raise SheetError(f"cannot read {path}: the file is empty")
    header = [_column_name(cell, position) for position, cell in enumerate(rows.iloc[0])]
    frame = rows.iloc[1:].copy()
    frame.columns = header
    frame = frame.map(_text_cell)
    frame.insert(0, SHEET_ROW, np.arange(FIRST_DATA_ROW, FIRST_DATA_ROW + len(frame)))
    unnamed_empty = [name for name in header if name.startswith("unnamed_") and frame[name].isna().all()]
    frame = frame.drop(columns=unnamed_empty)
    filled = frame.drop(columns=SHEET_ROW).notna().any(axis=1)
    return frame[filled].reset_index(drop=True)


def _csv_rows(path: Path) -> pd.DataFrame:
    with open(path, "rb") as handle:  # read-only
        data = handle.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if not text.strip():
        raise SheetError(f"cannot read {path}: the file is empty")
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first_line.count)
    return pd.read_csv(io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False,
                       skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL)


def _xlsx_rows(path: Path) -> pd.DataFrame:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(workbook.worksheets[0].iter_rows(min_row=1, values_only=True))
    finally:
        workbook.close()
    width = max((len(row) for row in rows), default=0)
    return pd.DataFrame([list(row) + [None] * (width - len(row)) for row in rows], dtype=object)


def _column_name(cell: object, position: int) -> str:
    name = _text_cell(cell)
    if name is None:
        return f"unnamed_{position + 1}"
    return _CODEBOOK_NAMES.get(name.lower(), name)


_CODEBOOK_NAMES = {column.lower(): column for column in codebook.CODEBOOK_COLUMNS}


def _text_cell(value: object) -> str | None:
    """A cell as the reviewer wrote it; None when empty or a missing-value marker."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, (datetime.date, datetime.datetime)):
        text = value.isoformat()
    else:
        text = str(value).strip()
    return None if text.lower() in codebook.MISSING_MARKERS else text


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
_add(("r", "rho", "kendall_tau", "partial_r"), "correlation_range", lambda v: (v > -1) & (v < 1))
_add("beta", "beta_range", lambda v: (v > -1) & (v < 0.95))  # r = beta + .05 (beta >= 0) inside (-1, 1)
_add("n", "n_minimum", lambda v: v >= MINIMUM_N)
_add(("n1", "n2"), "group_minimum", lambda v: v >= MINIMUM_GROUP_SIZE)
_add(("n11", "n12", "n21", "n22", "n_covariates"), "non_negative", lambda v: v >= 0)
_add(("f", "chi2"), "non_negative", lambda v: v >= 0)
_add("df", "df_minimum", lambda v: v > MINIMUM_N - 3)
_add(("sd1", "sd2", "log_or_se", "odds_ratio", "or_ci_lower", "or_ci_upper"), "positive", lambda v: v > 0)
_add("p", "p_range", lambda v: (v > 0) & (v <= 1))
_add("year", "year_range", lambda v: (v >= FIRST_YEAR) & (v <= datetime.date.today().year + 1))


def _rows_with_valid_values(frame: pd.DataFrame) -> pd.Series:
    """Rows whose every numeric value passes its column checks."""
    valid = pd.Series(True, index=frame.index)
    for column, checks in COLUMN_CHECKS.items():
        if column in frame:
            values = frame[column]
            for check in checks:
                valid &= values.isna() | check._check_fn(values).fillna(False).astype(bool)
    return valid


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


def _inputs_agree(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(~frame.index.isin(list(disagreeing_rows(frame))), index=frame.index)


# ---------------------------------------------------------------------------
# The two schemas
# ---------------------------------------------------------------------------

TEXT_SCHEMA = pa.DataFrameSchema(
    {
        "study_id": pa.Column(nullable=False, required=True),
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
    column reported for a row-wise check."""

    heading: str
    message: Callable[[str, str, pd.Series], str]
    column: str = ""


def _number_message(column: str, value: str, row: pd.Series) -> str:
    suggestion = suggest_number(value, whole=column in WHOLE_NUMBER_COLUMNS)
    hint = f'; write "{suggestion}"' if suggestion else ""
    return f"is not a number{hint} (decimal point, no text or units)"


def suggest_number(text: str, whole: bool = False) -> str | None:
    """The number a reviewer probably meant: ``"0,35"`` -> ``"0.35"``, ``"n=45"`` ->
    ``"45"``, ``"p < .001"`` -> ``"0.001"``, ``"1,200"`` -> ``"1200"`` in a count."""
    text = text.strip().replace("\u2212", "-").replace("\u2013", "-")
    if whole and re.fullmatch(r"\d{1,3}(,\d{3})+", text):
        return text.replace(",", "")
    text = re.sub(r"(?<=\d),(?=\d)", ".", text)
    match = re.search(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text)
    if match is None:
        return None
    return re.sub(r"^(-?)\.", r"\g<1>0.", match.group(0))


def _vocabulary_message(column: str, value: str, row: pd.Series) -> str:
    vocabulary = VOCABULARIES[column]
    suggestion = vocabulary.suggestion(value)
    hint = f'; did you mean "{suggestion}"?' if suggestion else ""
    return f"is not in the vocabulary of {column} ({', '.join(vocabulary.values)}){hint}"


def _moderator_number_message(column: str, value: str, row: pd.Series) -> str:
    suggestion = suggest_number(value)
    hint = f'; write "{suggestion}"' if suggestion else ""
    return f"is a continuous moderator (continuous_moderators in the config) but not a number{hint} " \
           "(decimal point, no text or units)"


def _no_input_message(column: str, value: str, row: pd.Series) -> str:
    partial = []
    for kind in INPUT_KINDS:
        filled = [c for c in kind.columns if pd.notna(row.get(c))]
        if kind.needs_direction and len(filled) == len(kind.columns) and pd.isna(row.get("direction")):
            partial.append(f"{kind.name} also needs direction")
        missing = [c for c in kind.columns if pd.isna(row.get(c))]
        if filled and missing:
            partial.append(f"{kind.name} also needs {' and '.join(missing)}")
    if partial:
        return "has no complete effect-size input: " + "; ".join(dict.fromkeys(partial))
    return "has no effect-size input: fill e.g. r and n (input kinds: config/README.md)"


def _constant(text: str) -> Callable[[str, str, pd.Series], str]:
    return lambda column, value, row: text


RULES: dict[str, Rule] = {
    "column_in_dataframe": Rule("missing columns", _constant("required column is missing from the header")),
    "duplicate_column": Rule("missing columns", _constant("column name appears more than once in the header")),
    "not_nullable": Rule("empty identifiers", _constant("is required on every row (the study the effect size comes from)")),
    "moderator_column_missing": Rule("missing columns", _constant(
        "moderator column named in the config is missing from the header")),
    "moderator_formula": Rule("missing columns", _constant("meta_regression formula cannot be read")),
    "number": Rule("text in numeric columns", _number_message),
    "moderator_number": Rule("text in numeric columns", _moderator_number_message),
    "vocabulary": Rule("values outside a vocabulary", _vocabulary_message),
    "whole_number": Rule("sample sizes and counts", _constant("must be a whole number")),
    "n_minimum": Rule("sample sizes and counts", _constant(
        f"must be at least {MINIMUM_N}: Fisher's z has variance 1/(n - 3)")),
    "group_minimum": Rule("sample sizes and counts", _constant(
        f"must be at least {MINIMUM_GROUP_SIZE} cases per group")),
    "non_negative": Rule("numbers out of range", _constant("cannot be negative")),
    "df_minimum": Rule("sample sizes and counts", _constant(
        "must exceed 1: a correlation from t or F has n = df + 2, and Fisher's z needs n > 3")),
    "positive": Rule("numbers out of range", lambda column, value, row: (
        "standard deviations must be positive" if column.startswith("sd") else
        "standard errors must be positive" if column.endswith("_se") else "odds ratios must be positive")),
    "correlation_range": Rule("numbers out of range", _constant("must lie strictly between -1 and 1")),
    "beta_range": Rule("numbers out of range", _constant(
        "must lie strictly between -1 and 0.95 (r = beta + .05 for beta >= 0, Peterson & Brown 2005)")),
    "p_range": Rule("numbers out of range", _constant("a p value must lie in (0, 1]")),
    "year_range": Rule("numbers out of range", _constant(
        f"must be a year between {FIRST_YEAR} and {datetime.date.today().year + 1}")),
    "no_complete_input": Rule("effect-size inputs", _no_input_message),
    "direction_missing": Rule("effect-size inputs", _constant(
        "is required for an unsigned statistic (F, chi2, p): write positive or negative"), column="direction"),
    "partial_r_degrees_of_freedom": Rule("sample sizes and counts", lambda column, value, row: (
        f"must exceed n_covariates + 3 = {row.get('n_covariates')} + 3 for a partial correlation "
        "(variance 1/(n - n_covariates - 3))"), column="n"),
    "odds_ratio_outside_ci": Rule("effect-size inputs", lambda column, value, row: (
        f"must lie inside its confidence interval [{row.get('or_ci_lower')}, {row.get('or_ci_upper')}]"),
        column="odds_ratio"),
    "inputs_disagree": Rule("effect-size inputs", _constant("two inputs disagree beyond rounding")),
}


def _problems(error: SchemaErrors, text: pd.DataFrame, clean: pd.DataFrame | None = None) -> list[Problem]:
    """Translate pandera's failure cases into problems, with the cell as written.

    A row-wise check comes back once per column of the row: one problem is kept.
    """
    cases = error.failure_cases
    row_wise = cases["schema_context"] == "DataFrameSchema"
    cases = pd.concat([cases[~row_wise], cases[row_wise].drop_duplicates(["check", "index"])])
    flagged = cases.loc[cases["check"] == "inputs_disagree", "index"].tolist()
    details = disagreeing_rows(clean.loc[flagged]) if flagged and clean is not None else {}
    problems = []
    for case in cases.itertuples(index=False):
        rule = RULES.get(case.check)
        if case.index is None or pd.isna(case.index):  # a whole-column failure: the header
            column = str(case.failure_case if case.check == "column_in_dataframe" else case.column)
            message = rule.message(column, "", pd.Series()) if rule else str(case.check)
            problems.append(Problem(HEADER_ROW, column, "", message, case.check))
            continue
        row = text.loc[case.index]
        column = rule.column if rule and rule.column else (case.column if isinstance(case.column, str) and case.column in text else "")
        if case.check in ("no_complete_input", "inputs_disagree"):
            column = ""
        value = row.get(column) if column else None
        value = "" if value is None or pd.isna(value) else str(value)
        message = rule.message(column, value, row) if rule else f"fails the check {case.check}"
        if case.check == "inputs_disagree" and details.get(case.index):
            message += f": {details[case.index]}"
        problems.append(Problem(int(case.index), column, value, message, case.check))
    return problems


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

def validate_sheet(raw: pd.DataFrame, *, moderators=(), continuous_moderators=(), meta_regression=(),
                   subsets=None) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a sheet read by :func:`read_sheet` (or any frame of cells).

    The keyword arguments are the config's moderator settings (``moderators``,
    ``continuous_moderators``, ``meta_regression`` formulas, ``multiverse.subsets``):
    every column they name must be in the header, and continuous moderators must hold
    numbers. Free categorical moderators are accepted as written.

    Returns the clean frame (``sheet_row`` first; numeric columns as float, coded
    columns in their canonical spelling, ``family`` filled with ``outcome``,
    ``reverse`` with ``no``; every other column as written) and the problems,
    sorted by row. The clean frame is only meant for use when there are no problems.
    """
    text = raw.copy()
    if SHEET_ROW not in text:
        text.insert(0, SHEET_ROW, np.arange(FIRST_DATA_ROW, FIRST_DATA_ROW + len(text)))
    duplicated = text.columns[text.columns.duplicated()].unique()
    if len(duplicated) or "study_id" not in text:
        problems = [Problem(HEADER_ROW, str(c), "", RULES["duplicate_column"].message(c, "", pd.Series()), "duplicate_column")
                    for c in duplicated]
        problems += [Problem(HEADER_ROW, c, "", RULES["column_in_dataframe"].message(c, "", pd.Series()), "column_in_dataframe")
                     for c in codebook.REQUIRED_COLUMNS if c not in text]
        problems += moderator_column_problems(text.columns, moderators=moderators,
                                              continuous_moderators=continuous_moderators,
                                              meta_regression=meta_regression, subsets=subsets)
        return text, problems
    text = text.set_index(SHEET_ROW, drop=False)
    text.index.name = None
    cells = text.drop(columns=SHEET_ROW).map(_text_cell)
    text = pd.concat([text[[SHEET_ROW]], cells], axis=1)

    problems = moderator_column_problems(text.columns, moderators=moderators,
                                         continuous_moderators=continuous_moderators,
                                         meta_regression=meta_regression, subsets=subsets)
    try:
        text_schema(continuous_moderators).validate(text, lazy=True, inplace=True)
    except SchemaErrors as error:
        problems += _problems(error, text)

    clean = _typed(text)
    try:
        VALUE_SCHEMA.validate(clean, lazy=True, inplace=True)
    except SchemaErrors as error:
        problems += _problems(error, text, clean)

    # Row-wise checks come back once per column; a number written as text already
    # explains a missing input on its row.
    # A missing direction or a number written as text already explains a missing input.
    problems = list(dict.fromkeys(problems))
    explained = {p.row for p in problems if p.check in ("number", "direction_missing")}
    problems = [p for p in problems if not (p.check == "no_complete_input" and p.row in explained)]
    order = {name: position for position, name in enumerate(text.columns)}
    problems.sort(key=lambda p: (p.row, order.get(p.column, -1)))
    return clean.reset_index(drop=True), problems


def moderator_column_problems(columns, *, moderators=(), continuous_moderators=(), meta_regression=(),
                              subsets=None) -> list[Problem]:
    """Header problems of the config's moderator settings: a formula that cannot be read,
    and every named column missing from the sheet (once, with the config keys that name
    it and the closest sheet column)."""
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
    for name in subsets or ():
        wanted.setdefault(name, []).append("multiverse.subsets")
    present = [str(c) for c in columns if c != SHEET_ROW]
    by_key = {c.lower(): c for c in present}
    for name, keys in wanted.items():
        if name in present:
            continue
        close = difflib.get_close_matches(name.lower(), list(by_key), n=1, cutoff=0.6)
        hint = f'; did you mean "{by_key[close[0]]}"?' if close else ""
        rule = (f"is named by the config ({', '.join(dict.fromkeys(keys))}) but is not a column of the sheet"
                f"{hint}")
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
    """A readable report: a count, then one line per problem grouped by kind of rule."""
    if not problems:
        return f"{source}: no problems"
    rows = len({p.row for p in problems})
    noun = "problem" if len(problems) == 1 else "problems"
    lines = [f"{source}: {len(problems)} {noun} in {rows} row{'s' if rows != 1 else ''} "
             "(rows as numbered in a spreadsheet, header = row 1)"]
    headings = {p.check: (RULES[p.check].heading if p.check in RULES else "other") for p in problems}
    order = list(dict.fromkeys(rule.heading for rule in RULES.values())) + ["other"]
    for heading in sorted(set(headings.values()), key=order.index):
        group = [p for p in problems if headings[p.check] == heading]
        lines.append("")
        lines.append(f"{heading} ({len(group)}):")
        lines.extend(f"  {problem}" for problem in group)
    return "\n".join(lines)


def summarise(clean: pd.DataFrame, source: str = "the sheet") -> str:
    """One paragraph on a valid sheet: rows, studies, families and input kinds."""
    complete = complete_input_table(clean)
    first_kind = complete.idxmax(axis=1).where(complete.any(axis=1))  # order of INPUT_KINDS
    families = clean["family"].value_counts()
    kinds = first_kind.value_counts()
    return (f"{source}: {len(clean)} effect sizes from {clean['study_id'].nunique()} studies, no problems.\n"
            f"  families: {', '.join(f'{name} {count}' for name, count in families.items())}\n"
            f"  input kinds: {', '.join(f'{name} {count}' for name, count in kinds.items())}")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def main(argv: list[str] | None = None) -> int:
    """``python -m alliance_meta.inputs.sheet SHEET [--moderators a,b] [--continuous c]``: report
    problems (exit 1) or summarise (exit 0)."""
    parser = argparse.ArgumentParser(prog="python -m alliance_meta.inputs.sheet", description=main.__doc__)
    parser.add_argument("sheet", help="data sheet (.csv or .xlsx); it is only read, never changed")
    parser.add_argument("--moderators", type=_names, default=[], metavar="A,B",
                        help="categorical moderator columns (the config's moderators) that must be in the header")
    parser.add_argument("--continuous", type=_names, default=[], metavar="C,D",
                        help="continuous moderator columns (continuous_moderators): in the header, numbers only")
    arguments = parser.parse_args(argv)
    try:
        raw = read_sheet(arguments.sheet)
    except SheetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    clean, problems = validate_sheet(raw, moderators=arguments.moderators,
                                     continuous_moderators=arguments.continuous)
    if problems:
        print(format_problems(problems, arguments.sheet))
        return 1
    print(summarise(clean, arguments.sheet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
