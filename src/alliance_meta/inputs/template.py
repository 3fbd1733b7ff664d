"""A template workbook for coding studies: the codebook's columns with Excel's own checks.

:func:`write_template` writes an ``.xlsx`` workbook whose first worksheet (``studies``)
has every codebook column in the order of :data:`codebook.CODEBOOK_COLUMNS`, then,
in the blank template, the risk-of-bias tool's columns (``rob_<domain>`` ..., ``rob_overall``;
the config's ``risk_of_bias`` block, QUIPS by default; also when filled from a sheet without
``rob_*`` columns), and, when filled from a sheet, any extra column of that sheet (its own ``rob_*``
columns included, where they are, and then no others), and

- a drop-down list (Excel data validation of type *list*) on every column with a
  vocabulary (``family``, ``reverse``, ``direction``, ``rater``, ``modality``, ...; every
  vocabulary of :data:`codebook.VOCABULARIES`, so columns added there get one too, and
  the judgements of the risk-of-bias tool on its ``rob_*`` columns, :func:`rob_vocabularies`);
  a value outside the list brings a warning, not a refusal, because the codebook also
  accepts synonyms (``client`` for ``patient``, ``L`` for ``low``);
- number validation (types *decimal* and *whole*) on every numeric column, with the
  range of :data:`NUMBER_RULES` (the ranges ``inputs.sheet`` checks); text in a number
  cell is refused;
- each column's rule as a comment on its header cell, and a frozen header row (and the
  two identifier columns);
- a second worksheet, ``codebook``, with one row per column (type, allowed values or
  range, meaning, input kinds) and the table of input kinds.

Excel and LibreOffice apply data validation to cells typed in, not to pasted cells;
``python -m alliance_meta.inputs.sheet`` remains the check of a filled-in sheet (the
first worksheet is the one the pipeline reads).

The ``rob_*`` columns of the blank template may stay empty: validation drops ``rob_*``
columns without a judgement (with a note) and the sheet is analysed as one without risk of
bias.

``python -m alliance_meta.template PATH.xlsx [--from SHEET] [--force] [--rob-tool TOOL]``
runs :func:`main`.
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from alliance_meta.inputs import codebook
from alliance_meta.inputs.risk_of_bias import OVERALL, RobTool, rob_columns, tool_from_config
from alliance_meta.inputs.sheet import (
    FIRST_YEAR,
    MINIMUM_GROUP_SIZE,
    MINIMUM_N,
    SHEET_ROW,
    format_problems,
    read_sheet,
)

DATA_SHEET = "studies"
CODEBOOK_SHEET = "codebook"
LISTS_SHEET = "lists"
LAST_ROW = 1_048_576
"""Validations cover each column from row 2 to the last row of a worksheet."""
FREEZE_AT = "C2"
"""The header row and the two identifier columns (study_id, es_id) stay in view."""
EXCEL_LIST_LIMIT = 255
"""Excel's limit on an inline list (``"a,b,c"``); longer vocabularies go to the ``lists`` sheet."""
EXCEL_TITLE_LIMIT = 32
"""Excel's limit on the title of a data validation's error message (``rob_prognostic_factor``'s would exceed it)."""
EXCEL_MESSAGE_LIMIT = 255
"""Excel's limit on a data validation's error message: over it, Excel reports the workbook as damaged and
drops the drop-down (a vocabulary long enough for the ``lists`` sheet cannot be listed in its message)."""
COMMENT_AUTHOR = "alliance-meta codebook"
ANY_NUMBER = 1e15


@dataclass(frozen=True)
class NumberRule:
    """The range of a numeric column as ``inputs.sheet`` checks it.

    ``whole`` columns hold whole numbers. Bounds are ``None`` when open; ``strict``
    bounds exclude the bound itself. Excel's validation cannot exclude both ends of a
    range, so a two-sided strict range is entered as the closed range in Excel and the
    comment says that the ends are excluded.
    """

    whole: bool = False
    minimum: float | None = None
    maximum: float | None = None
    strict_minimum: bool = False
    strict_maximum: bool = False

    def accepts(self, value: float) -> bool:
        """Whether ``inputs.sheet`` accepts ``value`` in this column."""
        if not math.isfinite(value) or (self.whole and value != round(value)):
            return False
        if self.minimum is not None and (value <= self.minimum if self.strict_minimum else value < self.minimum):
            return False
        return self.maximum is None or (value < self.maximum if self.strict_maximum else value <= self.maximum)

    def text(self) -> str:
        """The range in words, e.g. ``a number strictly between -1 and 1``."""
        noun = "a whole number" if self.whole else "a number"
        low, high = _number_text(self.minimum), _number_text(self.maximum)
        if self.minimum is not None and self.maximum is not None:
            ends = "strictly " if self.strict_minimum and self.strict_maximum else ""
            closed = "" if self.strict_minimum or self.strict_maximum else " (both included)"
            if self.strict_minimum != self.strict_maximum:
                closed = f" ({'above' if self.strict_minimum else 'from'} {low}, " \
                         f"{'below' if self.strict_maximum else 'up to'} {high})"
            return f"{noun} {ends}between {low} and {high}{closed}"
        if self.minimum is not None:
            return f"{noun} {'above' if self.strict_minimum else 'of at least'} {low}"
        if self.maximum is not None:
            return f"{noun} {'below' if self.strict_maximum else 'of at most'} {high}"
        return noun

    def validation(self) -> DataValidation:
        """The Excel data validation of this range (text in the cell is refused)."""
        kind = "whole" if self.whole else "decimal"
        if self.minimum is not None and self.maximum is not None:
            operator, first, second = "between", self.minimum, self.maximum
        elif self.minimum is not None:
            operator, first, second = ("greaterThan" if self.strict_minimum else "greaterThanOrEqual"), self.minimum, None
        elif self.maximum is not None:
            operator, first, second = ("lessThan" if self.strict_maximum else "lessThanOrEqual"), self.maximum, None
        else:
            operator, first, second = "between", -ANY_NUMBER, ANY_NUMBER
        validation = DataValidation(type=kind, operator=operator, formula1=_number_text(first),
                                    formula2=None if second is None else _number_text(second), allow_blank=True,
                                    showErrorMessage=True, errorStyle="stop", errorTitle="Not a valid number",
                                    error=f"Enter {self.text()}{'' if self.whole else ', with a decimal point'} "
                                          f"and nothing else in the cell.")
        return validation


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) < ANY_NUMBER * 10 else repr(float(value))


_CORRELATION = NumberRule(minimum=-1, maximum=1, strict_minimum=True, strict_maximum=True)
_POSITIVE = NumberRule(minimum=0, strict_minimum=True)
_NON_NEGATIVE = NumberRule(minimum=0)
_COUNT = NumberRule(whole=True, minimum=0)

NUMBER_RULES: dict[str, NumberRule] = {
    "year": NumberRule(whole=True, minimum=FIRST_YEAR, maximum=datetime.date.today().year + 1),
    "r": _CORRELATION, "rho": _CORRELATION, "kendall_tau": _CORRELATION, "partial_r": _CORRELATION,
    "n": NumberRule(whole=True, minimum=MINIMUM_N),
    "fisher_z": NumberRule(), "n_covariates": _COUNT,
    "beta": NumberRule(minimum=-1, maximum=0.95, strict_minimum=True, strict_maximum=True),
    "g": NumberRule(), "d": NumberRule(),
    "n1": NumberRule(whole=True, minimum=MINIMUM_GROUP_SIZE), "n2": NumberRule(whole=True, minimum=MINIMUM_GROUP_SIZE),
    "m1": NumberRule(), "sd1": _POSITIVE, "m2": NumberRule(), "sd2": _POSITIVE,
    "t": NumberRule(), "df": NumberRule(minimum=MINIMUM_N - 3, strict_minimum=True),
    "f": _NON_NEGATIVE, "chi2": _NON_NEGATIVE,
    "p": NumberRule(minimum=0, maximum=1, strict_minimum=True),
    "n11": _COUNT, "n12": _COUNT, "n21": _COUNT, "n22": _COUNT,
    "odds_ratio": _POSITIVE, "or_ci_lower": _POSITIVE, "or_ci_upper": _POSITIVE,
    "log_or": NumberRule(), "log_or_se": _POSITIVE,
    "rxx": NumberRule(minimum=0, maximum=1, strict_minimum=True), "ryy": NumberRule(minimum=0, maximum=1, strict_minimum=True),
    "ux": _POSITIVE,
}
"""The range of every numeric codebook column, as ``inputs.sheet`` checks it (a test compares them)."""


def column_kinds(column: str) -> list[str]:
    """The input kinds (``codebook.INPUT_KINDS``) that use ``column``."""
    return [kind.name for kind in codebook.INPUT_KINDS if column in kind.columns]


def rob_vocabularies(tool: RobTool) -> dict[str, codebook.Vocabulary]:
    """The vocabulary of each of ``tool``'s columns (domains, then ``rob_overall``) as the template
    describes it: the tool's judgements and synonyms, a description naming the domain and the tool and
    saying that the column may stay empty."""
    vocabularies = {}
    for column in tool.columns:
        vocabulary = tool.vocabulary(column)
        what = ("overall risk of bias of the study (derived from the domains when left empty and every domain "
                "is rated, or one already gives the worst level)" if column == OVERALL
                else f"risk of bias in the domain {tool.label(column)}")
        vocabularies[column] = codebook.Vocabulary(
            column, vocabulary.values, f"{what}, rated with {tool.title}, judged once per study; "
                                       f"leave empty if you do not rate risk of bias",
            dict(vocabulary.synonyms))
    return vocabularies


def column_rule(column: str, vocabularies: Mapping[str, codebook.Vocabulary] | None = None) -> str:
    """The rule of a codebook column in words (the header comment); a free column gets a generic rule.

    ``vocabularies`` are the coded columns' vocabularies (default :data:`codebook.VOCABULARIES`; the
    template adds the risk-of-bias tool's, :func:`rob_vocabularies`)."""
    vocabulary = (codebook.VOCABULARIES if vocabularies is None else vocabularies).get(column)
    if vocabulary is not None:
        lines = [f"{column}: {vocabulary.description}.", f"Values: {', '.join(vocabulary.values)}."]
        if vocabulary.default is not None:
            lines.append(f"Empty means {vocabulary.default}.")
        if vocabulary.synonyms:
            lines.append("Synonyms are accepted (see the codebook sheet).")
        return "\n".join(lines)
    if column not in codebook.COLUMN_DESCRIPTIONS:
        return f"{column}: a column outside the codebook, kept as a free moderator (any text)."
    lines = [f"{column}: {codebook.COLUMN_DESCRIPTIONS[column]}."]
    if column in codebook.REQUIRED_COLUMNS:
        lines.append("Required on every row.")
    if column in NUMBER_RULES:
        lines.append(f"Enter {NUMBER_RULES[column].text()}; empty when not reported.")
    kinds = column_kinds(column)
    if kinds:
        lines.append(f"Part of the input kinds: {', '.join(kinds)}.")
    return "\n".join(lines)


def _allowed(column: str, vocabularies: Mapping[str, codebook.Vocabulary]) -> tuple[str, str]:
    """(type, allowed values or range) of a column for the codebook sheet."""
    if column in vocabularies:
        vocabulary = vocabularies[column]
        synonyms = "; ".join(f"{synonym} -> {value}" for synonym, value in vocabulary.synonyms.items())
        allowed = ", ".join(vocabulary.values) + (f" (synonyms: {synonyms})" if synonyms else "")
        return "list", allowed
    if column in NUMBER_RULES:
        rule = NUMBER_RULES[column]
        return ("whole number" if rule.whole else "number"), rule.text()
    return "text", "any text" + (" (required)" if column in codebook.REQUIRED_COLUMNS else "")


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def template_columns(extra: list[str] | tuple[str, ...] = (), rob: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Every codebook column in order, then the ``rob`` columns (a risk-of-bias tool's), then the
    ``extra`` columns not among them."""
    columns = list(codebook.CODEBOOK_COLUMNS)
    columns += [c for c in dict.fromkeys(rob) if c not in columns]
    return columns + [c for c in dict.fromkeys(extra) if c not in columns and c != SHEET_ROW]


def _template_rob_columns(tool: RobTool, frame: pd.DataFrame | None) -> tuple[str, ...]:
    """The risk-of-bias columns the template adds: the tool's in the blank template and in one filled from a
    sheet without ``rob_*`` columns (empty, to be rated); none when the sheet has its own, which stay as they
    are, where they are (a sheet rated with another tool does not get a second set)."""
    own = frame is not None and bool(rob_columns(frame.columns))
    return () if own else tool.columns


def write_template(path: str | Path, from_sheet: str | Path | pd.DataFrame | None = None, *,
                   vocabularies: Mapping[str, codebook.Vocabulary] | None = None,
                   risk_of_bias: Mapping | None = None) -> Path:
    """Write the template workbook to ``path`` (``.xlsx``) and return the path.

    ``from_sheet`` (a ``.csv``/``.xlsx`` path or a frame as :func:`read_sheet` returns it)
    fills the data rows: numbers in numeric columns are written as numbers, coded values in
    their canonical spelling (``client`` -> ``patient``), and every cell that is neither
    (a typo, a decimal comma) as written, so that validation still reports it. Extra
    columns of the sheet follow the codebook columns. ``vocabularies`` replaces the
    codebook's vocabularies (for tests). An existing file at ``path`` is overwritten.

    ``risk_of_bias`` is the config's block of that name (None: QUIPS): the blank template has
    the tool's columns (``tool.columns``: domains, then ``rob_overall``) after the codebook's,
    each with a drop-down of the tool's judgements, a header comment and a codebook row, as the
    vocabularies' columns; so has a template filled from a sheet without ``rob_*`` columns (empty). A
    template filled from a sheet with ``rob_*`` columns keeps them (none added); those that are the tool's
    get its drop-down.
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"the template is an Excel workbook: give a path ending in .xlsx, not {path.name!r}")
    tool = tool_from_config(risk_of_bias)
    vocabularies = {**(codebook.VOCABULARIES if vocabularies is None else vocabularies), **rob_vocabularies(tool)}
    frame = _source_frame(from_sheet)
    columns = template_columns(list(frame.columns) if frame is not None else (), _template_rob_columns(tool, frame))

    workbook = Workbook()
    data = workbook.active
    data.title = DATA_SHEET
    _write_header(data, columns, vocabularies)
    if frame is not None:
        _write_rows(data, columns, frame, vocabularies)
    data.freeze_panes = FREEZE_AT
    _write_codebook(workbook.create_sheet(CODEBOOK_SHEET), columns, vocabularies)
    _add_validations(workbook, data, columns, vocabularies)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def _source_frame(from_sheet) -> pd.DataFrame | None:
    if from_sheet is None:
        return None
    frame = read_sheet(from_sheet) if isinstance(from_sheet, (str, Path)) else from_sheet.copy()
    repeated = [problem for problem in frame.attrs.get("problems", []) if problem.check == "duplicate_column"]
    if repeated:  # read_sheet keeps the first of the columns: the template would leave the others' cells out
        raise ValueError(format_problems(repeated, str(from_sheet) if isinstance(from_sheet, (str, Path))
                                         else "the sheet the template is filled from"))
    return frame.drop(columns=[SHEET_ROW], errors="ignore").reset_index(drop=True)


HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def _write_header(sheet, columns: list[str], vocabularies) -> None:
    for position, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=position, value=column)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        comment = Comment(column_rule(column, vocabularies), COMMENT_AUTHOR)
        comment.width, comment.height = 320, 160
        cell.comment = comment
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = max(10, min(28, len(column) + 4))
        if column not in NUMBER_RULES:
            sheet.column_dimensions[letter].number_format = "@"  # "001" stays text


def _write_rows(sheet, columns: list[str], frame: pd.DataFrame, vocabularies) -> None:
    for row_number, (_, row) in enumerate(frame.iterrows(), start=2):
        for position, column in enumerate(columns, start=1):
            value = row.get(column)
            if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
                continue
            cell = sheet.cell(row=row_number, column=position)
            cell.value, text = _cell_value(column, value, vocabularies)
            if text:  # never a formula, whatever the text starts with
                cell.data_type = "s"
                cell.number_format = "@"


def _cell_value(column: str, value, vocabularies) -> tuple[object, bool]:
    """The value to write and whether it is text."""
    if column in NUMBER_RULES:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value), True
        if math.isfinite(number):
            return (int(number) if number.is_integer() else number), False
        return str(value), True
    if column in vocabularies:
        canonical = vocabularies[column].canonical(value)
        return (canonical if canonical is not None else str(value)), True
    return str(value), True


def _error_title(title: str, short: str) -> str:
    """``title``, or ``short`` when ``title`` is longer than Excel's limit on an error title."""
    return title if len(title) <= EXCEL_TITLE_LIMIT else short


def _error_message(column: str, values) -> str:
    """What a value outside ``column``'s drop-down is told: the values, or where they are when the list is
    longer than Excel's limit on the message."""
    listed = f"{column} takes {', '.join(values)} (or a synonym listed in the codebook sheet)."
    if len(listed) <= EXCEL_MESSAGE_LIMIT:
        return listed
    return f"{column} takes a value of its drop-down list (or a synonym listed in the codebook sheet)."


def _add_validations(workbook, sheet, columns: list[str], vocabularies) -> None:
    """Drop-down lists and number ranges on every data row (long lists on a hidden ``lists`` sheet)."""
    lists = None
    for position, column in enumerate(columns, start=1):
        letter = get_column_letter(position)
        cells = f"{letter}2:{letter}{LAST_ROW}"
        if column in vocabularies:
            values = vocabularies[column].values
            inline = '"' + ",".join(values) + '"'
            if len(inline) - 2 <= EXCEL_LIST_LIMIT and not any("," in value or '"' in value for value in values):
                formula = inline
            else:
                if lists is None:
                    lists = workbook.create_sheet(LISTS_SHEET)
                    lists.sheet_state = "hidden"
                    list_column = 0
                list_column += 1
                list_letter = get_column_letter(list_column)
                lists.cell(row=1, column=list_column, value=column)
                for offset, value in enumerate(values, start=2):
                    lists.cell(row=offset, column=list_column, value=value).data_type = "s"
                formula = f"{LISTS_SHEET}!${list_letter}$2:${list_letter}${len(values) + 1}"
            validation = DataValidation(
                type="list", formula1=formula, allow_blank=True, showErrorMessage=True, errorStyle="warning",
                errorTitle=_error_title(f"Not a {column} of the codebook", "Not in the drop-down list"),
                error=_error_message(column, values))
        elif column in NUMBER_RULES:
            validation = NUMBER_RULES[column].validation()
        else:
            continue
        validation.add(cells)
        sheet.add_data_validation(validation)


def _write_codebook(sheet, columns: list[str], vocabularies) -> None:
    header = ["column", "type", "allowed values", "meaning and rule", "input kinds"]
    sheet.append(header)
    for column in columns:
        kind, allowed = _allowed(column, vocabularies)
        sheet.append([column, kind, allowed, column_rule(column, vocabularies).split("\n", 1)[0].split(": ", 1)[1],
                      ", ".join(column_kinds(column))])
    sheet.append([])
    first_kind_row = sheet.max_row + 1
    sheet.append(["input kind", "columns", "direction needed", "description"])
    for kind in codebook.INPUT_KINDS:
        sheet.append([kind.name, ", ".join(kind.columns), "yes" if kind.needs_direction else "no", kind.description])
    for row in (1, first_kind_row):
        for cell in sheet[row]:
            cell.font = Font(bold=True)
            cell.fill = HEADER_FILL
    for letter, width in zip("ABCDE", (16, 14, 60, 70, 24)):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if cell.value is not None:
                cell.data_type = "s"
    sheet.freeze_panes = "A2"


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """``python -m alliance_meta.template PATH.xlsx [--from SHEET] [--force] [--rob-tool TOOL]``: write the
    template workbook, filled from SHEET when given, and check the filled sheet against the codebook (exit 1
    when it has problems). The blank template has the risk-of-bias columns of --rob-tool (default quips)."""
    from alliance_meta.inputs.sheet import (DECIMALS, SheetError, add_risk_of_bias_arguments, format_problems,
                                            reworded, risk_of_bias_options, summarise, validate_sheet, worded)

    parser = argparse.ArgumentParser(prog="python -m alliance_meta.template", description=main.__doc__)
    parser.add_argument("path", help="the workbook to write (.xlsx)")
    parser.add_argument("--from", dest="from_sheet", metavar="SHEET",
                        help="a data sheet (.csv or .xlsx) whose rows are written into the template")
    parser.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    parser.add_argument("--sheet-name", default=None, metavar="NAME",
                        help="worksheet of an .xlsx SHEET (the config's sheet_name)")
    parser.add_argument("--decimal", choices=DECIMALS, default="auto",
                        help="decimal separator of SHEET's numbers written as text (the config's decimal)")
    add_risk_of_bias_arguments(parser)
    arguments = parser.parse_args(argv)
    risk_of_bias = risk_of_bias_options(arguments, parser)
    path = Path(arguments.path)
    if path.exists() and not arguments.force:
        print(f"error: {path} exists; add --force to overwrite it", file=sys.stderr)
        return 1
    try:
        source = (read_sheet(arguments.from_sheet, sheet_name=arguments.sheet_name, decimal=arguments.decimal)
                  if arguments.from_sheet else None)
        write_template(path, source, risk_of_bias=risk_of_bias)
    except (SheetError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    rows = 0 if source is None else len(source)
    tool = tool_from_config(risk_of_bias)
    rob = _template_rob_columns(tool, source)
    columns = template_columns(list(source.columns) if source is not None else (), rob)
    added = f" ({len(rob)} of them rob_* columns of --rob-tool {tool.name}, empty unless you rate risk of bias)" \
        if rob else ""
    print(f"wrote {path}: {len(columns)} columns{added}, {rows} rows; codebook in the '{CODEBOOK_SHEET}' worksheet")
    if source is not None:
        clean, problems = validate_sheet(read_sheet(path), risk_of_bias=risk_of_bias)
        problems = reworded(problems)
        print(worded(format_problems(problems, str(path))) if problems else summarise(clean, str(path)))
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
