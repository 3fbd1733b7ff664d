"""Odd cells of real sheets, read and checked as the validate job does (read_sheet + validate_sheet): placeholders
beside one real value, tab-separated text with decimal commas, percentages, knock-on problems of an unreadable
cell, a study_id typed NA, and sheets as LibreOffice and Excel save them. Every sheet is written here."""

from __future__ import annotations

import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from alliance_meta.inputs.sheet import format_problems, read_sheet, validate_sheet


def checked(path: Path, **settings):
    """The clean sheet, its problems and the reader's notes, as the validate job gets them."""
    raw = read_sheet(path)
    clean, problems = validate_sheet(raw, **settings)
    return clean, problems, raw.attrs["notes"]


def csv(folder: Path, text: str, name: str = "sheet.csv", encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def where(problems) -> list[tuple[int, str, str, str]]:
    return [(p.row, p.column, p.value, p.check) for p in problems]


# ---------------------------------------------------------------------------
# 1. Column-level hints look at the informative values
# ---------------------------------------------------------------------------

def test_a_coded_column_of_one_value_and_placeholders_is_named_in_the_header(tmp_path):
    """design = prospective, ?, unknown, - (and NA): the reviewer's own design column, named as one with several
    values is; the placeholders had hidden it (one informative value)."""
    text = "study_id,r,n,design\nS1,0.3,50,prospective\nS2,0.2,60,NA\nS3,0.1,70,?\nS4,0.2,50,unknown\nS5,0.2,50,-\n"
    problems = checked(csv(tmp_path, text))[1]
    assert [(p.row, p.column, p.check) for p in problems if p.row == 1] == [(1, "design", "vocabulary_column")]
    assert sum(p.check == "vocabulary" for p in problems) == 4  # each cell still named
    # placeholders alone are no variable, and one filled cell is a typo
    only_placeholders = checked(csv(tmp_path, "study_id,r,n,design\nS1,0.3,50,?\nS2,0.2,60,unknown\n"))[1]
    single = checked(csv(tmp_path, "study_id,r,n,design\nS1,0.3,50,prospective\nS2,0.2,60,\n"))[1]
    assert not [p for p in only_placeholders + single if p.check == "vocabulary_column"]


def test_a_column_of_categories_and_placeholders_named_as_continuous_is_one_problem(tmp_path):
    """continuous_moderators: [setting] holding outpatient, ?, unknown: one header problem saying to list it under
    moderators (its examples the categories), not three "not a number" lines."""
    text = "study_id,r,n,setting\nS1,0.3,50,outpatient\nS2,0.2,60,?\nS3,0.1,70,unknown\n"
    problems = checked(csv(tmp_path, text), continuous_moderators=["setting"])[1]
    assert where(problems) == [(1, "setting", "", "moderator_text_column")]
    assert problems[0].rule == ('is a continuous moderator (continuous_moderators in the config) but none of its '
                                'filled cells is a number (3 cells: "outpatient" and 2 placeholders ("?", '
                                '"unknown")): if it holds categories, list it under moderators instead')
    dashes = checked(csv(tmp_path, "study_id,r,n,setting\nS1,0.3,50,?\nS2,0.2,60,-\n"),
                     continuous_moderators=["setting"])[1]
    assert [p.check for p in dashes] == ["moderator_number", "moderator_number"]  # no categories to list


def test_a_column_of_signs_with_a_question_mark_is_named(tmp_path):
    text = "study_id,d,n1,n2,sign\nS1,0.4,20,20,-\nS2,0.3,20,20,+\nS3,0.2,20,20,?\n"
    assert [p.check for p in checked(csv(tmp_path, text))[1]] == ["sign_column"]


# ---------------------------------------------------------------------------
# 2. Tab-separated text with decimal commas (Excel's "Unicode text" and "Text (Tab delimited)", a Word paste)
# ---------------------------------------------------------------------------

def test_unicode_text_with_decimal_commas_is_read_with_decimal_commas(tmp_path):
    """A German Excel's "Unicode text" export: tabs, UTF-16 and decimal commas; it said to set decimal: ","."""
    text = "study_id\tr\tn\trxx\tage\r\nS1\t0,35\t50\t0,8\t34,5\r\nS2\t\u22120,2\t60\t0,9\t40\r\n"
    clean, problems, notes = checked(csv(tmp_path, text, "unicode.txt", "utf-16"))
    assert problems == []
    assert clean["r"].tolist() == [0.35, -0.2] and clean["rxx"].tolist() == [0.8, 0.9]
    assert clean["age"].tolist() == ["34.5", "40"]
    assert ("decimal commas read as decimal points (tab-separated Unicode text (UTF-16) whose numbers have decimal "
            "commas)") in notes


def test_tab_separated_windows_1252_text_with_decimal_commas_is_read_with_decimal_commas(tmp_path):
    """A German Excel's "Text (Tab delimited)" export (Windows-1252, a Müller and a Dupré among the authors) and a
    table pasted from Word (UTF-8): only the UTF-16 "Unicode text" was read with decimal commas under decimal: auto;
    these gave one "is not a number" per cell."""
    text = ("study_id\tauthors\tr\tn\trxx\tage\r\nS1\tM\u00fcller\t0,35\t1.200\t0,8\t34,5\r\n"
            "S2\tDupr\u00e9\t\u22120,2\t60\t0,9\t40\r\n")
    for encoding, name in (("cp1252", "tabbed.txt"), ("utf-8", "pasted.tsv")):
        path = csv(tmp_path, text.replace("\u2212", "-" if encoding == "cp1252" else "\u2212"), name, encoding)
        assert path.read_bytes().count(b"M\xfcller") == (encoding == "cp1252")  # the bytes Windows-1252 writes
        clean, problems, notes = checked(path)
        assert where(problems) == [(2, "n", "1.200", "ambiguous_point")]
        assert problems[0].rule.startswith('is 1200 written with a point between thousands')
        assert clean["r"].tolist() == [0.35, -0.2] and clean["rxx"].tolist() == [0.8, 0.9]
        assert clean["authors"].tolist() == ["M\u00fcller", "Dupr\u00e9"] and clean["age"].tolist() == ["34.5", "40"]
        assert ("decimal commas read as decimal points (tab-separated text whose numbers have decimal commas)"
                in notes)


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "utf-8"])
@pytest.mark.parametrize("text", [
    "study_id\tr\tn\r\nS1\t0.35\t1,200\r\nS2\t0.2\t2,500\r\n",  # points: commas between thousands
    "study_id\tn11\tn12\tn21\tn22\r\nS1\t1,200\t300\t400\t500\r\n",  # a thousands comma alone: no decimal
    "study_id\tf\tdf\tdirection\tr\tn\r\nS1\t4.2\t1,48\tpositive\t\t\r\nS2\t\t\t\t0.3\t50\r\n",  # F(1, 48) in df
    "study_id\tr\tn\r\nS1\t0,35\t50\r\nS2\t0.2\t60\r\n",  # both marks: neither is guessed
])
def test_unicode_text_with_points_or_list_commas_is_not_read_with_decimal_commas(tmp_path, text, encoding):
    clean, problems, notes = checked(csv(tmp_path, text, "unicode.txt", encoding))
    assert not any(note.startswith("decimal commas") for note in notes)
    assert {p.check for p in problems} == {"number"}  # each comma cell told as before, nothing read with a comma


def test_unicode_text_with_decimal_commas_and_a_point_between_thousands_asks(tmp_path):
    """1.200 in n beside decimal commas: 1200 (as an n of 1.2 is none), said with the reason commas are read."""
    text = "study_id\tr\tn\tm\r\nS1\t0,35\t1.200\t10.000\r\nS2\t0,2\t60\t3,5\r\n"
    problems = checked(csv(tmp_path, text, "unicode.txt", "utf-16"))[1]
    assert where(problems) == [(2, "n", "1.200", "ambiguous_point"), (2, "m", "10.000", "ambiguous_point")]
    assert problems[1].rule.endswith('(the sheet is read with decimal commas as it is tab-separated Unicode text '
                                     '(UTF-16) whose numbers have decimal commas: set decimal: "." in the config if '
                                     "it writes decimal points)")


def test_tab_separated_text_with_a_point_between_thousands_says_why_commas_are_read(tmp_path):
    text = "study_id\tauthors\tr\tn\tm\r\nS1\tG\u00f6th\t0,35\t60\t10.000\r\nS2\tB\u00fcrgi\t0,2\t60\t3,5\r\n"
    problems = checked(csv(tmp_path, text, "tabbed.txt", "cp1252"))[1]
    assert where(problems) == [(2, "m", "10.000", "ambiguous_point")]
    assert problems[0].rule.endswith('(the sheet is read with decimal commas as it is tab-separated text whose '
                                     'numbers have decimal commas: set decimal: "." in the config if it writes '
                                     "decimal points)")


def test_points_and_commas_between_thousands_are_read_alike():
    """One pattern for both separators, of the digits 0-9: the comma's had [1-9] for the first digit where the point's
    had (?!0)\\d, which differ for a first digit that is no ASCII digit (Arabic-Indic \u0663 = 3); such digits are
    no grouped number at all (test_digits_other_than_0_to_9_are_refused_with_the_number_to_write)."""
    from alliance_meta.inputs.sheet import _GROUPED_COMMAS, _GROUPED_POINTS

    grouped = {"1.200": True, "12.500": True, "\u22121.200.000": True, "+999.999": True, "10.000": True,
               "\u0663.\u0665\u0660\u0660": False,  # Arabic-Indic 3.500: no digits 0-9
               "0.971": False, "0.500": False,  # a 0 first: a decimal mark
               "1.20": False, "1234.567": False, "1.2": False, "1.200.00": False}
    for written, expected in grouped.items():
        comma = written.replace(".", ",")
        assert bool(_GROUPED_POINTS.fullmatch(written)) is expected, written
        assert bool(_GROUPED_COMMAS.fullmatch(comma)) is expected, comma
    cells = ("1,200", "12,500", "0,500", "1,20", "\u0663,\u0665\u0660\u0660")
    assert [bool(_GROUPED_COMMAS.fullmatch(cell)) for cell in cells] == [True, True, False, False, False]


@pytest.mark.parametrize("separator", [",", ";"])
def test_digits_other_than_0_to_9_are_refused_with_the_number_to_write(tmp_path, separator):
    """0.500 in Arabic-Indic digits (\u0660.\u0665\u0660\u0660) was taken for 500 with a point between thousands in
    a sheet of decimal commas (the thousands pattern's "no leading 0" knew the ASCII 0 only), and elsewhere was "not a
    number; write" the same cell again. pandas reads no number of such digits: each cell is refused, in any sheet,
    with its value in 0-9."""
    cells = {"r": "\u0660.\u0665\u0660\u0660", "n": "\u0661\u0662\u0660", "n1": "\u0660.\u0665\u0660\u0660",
             "year": "\u0968\u0966\u0966\u096a"}  # Devanagari 2004
    rows = [["study_id", *cells, "n2"], ["S1", *cells.values(), "60"], ["S2", "0.3", "80", "40", "2001", "40"]]
    path = csv(tmp_path, "".join(separator.join(row) + "\n" for row in rows))
    problems = checked(path)[1]
    written = {"r": "0.500" if separator == "," else "0,500", "n": "120", "year": "2004"}  # the sheet's decimal mark
    assert where(problems) == [(2, column, cells[column], "number") for column in ("r", "n", "n1", "year")]
    for problem in problems[:2] + problems[3:]:
        script = "Devanagari" if problem.column == "year" else "Arabic-Indic"
        assert problem.rule == (f"is written in {script} digits, which are not read: write it in the digits 0-9, "
                                f'"{written[problem.column]}"')
    # an n1 of 0.500 is no group size: written in 0-9 it is refused too, which the same problem says
    assert problems[2].rule.startswith('is written in Arabic-Indic digits ("0.500" in 0-9), which the column does not '
                                       "take: must be a whole number")


ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + digit) for digit in range(10)))


@pytest.mark.parametrize("date", ["2004-01-02", "2004-01-02 10:00:00", "02.01.2004", "13/01/2004"])
def test_a_date_in_the_year_column_in_digits_other_than_0_to_9_is_refused_as_a_number_is(tmp_path, date):
    """A date as text in the year column gives its year; written in Arabic-Indic digits it was read so too (the date
    patterns' \\d took any digit), where a number in them is refused: it is refused alike, with the value in 0-9."""
    written = date.translate(ARABIC_INDIC)
    clean, problems, notes = checked(csv(tmp_path, f"study_id,r,n,year\nS1,0.3,50,{written}\nS2,0.2,60,2001\n"))
    assert [str(problem) for problem in problems] == [
        f'row 2, column year, value "{written}": is written in Arabic-Indic digits, which are not read: write it in '
        f'the digits 0-9, "{date}"']
    assert not any("dates in the year column" in note for note in notes)


MODERATOR = "is a continuous moderator (continuous_moderators in the config) but "


@pytest.mark.parametrize(("value", "told"), [
    ("45", 'is written in Arabic-Indic digits, which are not read: write it in the digits 0-9, "45"'),
    ("45%", 'is written in Arabic-Indic digits ("45%" in 0-9) and a percentage, which is not read as a number: the '
            'column\'s other values are percentages without the sign (30, 41): write "45"'),
    ("2004-01-02", 'is written in Arabic-Indic digits ("2004-01-02" in 0-9) and is a date, not a number: the cell is '
                   "formatted as a date in the spreadsheet (Excel also turns a typed 1/48 or 3-4 into one); format it "
                   "as a number and type the value")])
def test_a_continuous_moderator_in_digits_other_than_0_to_9_is_refused_with_the_number_to_write(tmp_path, value,
                                                                                                 told):
    """A continuous moderator of Arabic-Indic digits was 'not a number; write' the same cell again (45): it is refused
    with its value in 0-9, as a number of the codebook's columns is. A percentage or a date of them was told to be
    written in 0-9 ("45%", "2004-01-02"), which was refused in turn: the problem says what that is at once."""
    written = value.translate(ARABIC_INDIC)
    text = f"study_id,r,n,age\nS1,0.3,50,{written}\nS2,0.2,60,30\nS3,0.1,70,41\n"
    problems = checked(csv(tmp_path, text), continuous_moderators=["age"])[1]
    assert [str(problem) for problem in problems] == [f'row 2, column age, value "{written}": {MODERATOR}{told}']


@pytest.mark.parametrize("separator", [",", ";"])
@pytest.mark.parametrize(("column", "value"), [
    ("r", "45%"), ("r", "1.5"), ("r", "10:00:00"), ("n", "45%"), ("n", "45.5"), ("n", "2"),
    ("year", "2-Jan-2004"), ("year", "4/5/1905"), ("year", "1850"), ("year", "98"), ("year", "1850-01-02"),
    ("age", "2004-01-02"), ("age", "10:00:00"), ("age", "45 years"), ("age", "45%"), ("age", "45.5 %"),
    ("p", "12"), ("r", "0,5"), ("year", "2004,0"), ("n", "1.200"), ("age", "45,5"), ("n", "1.234,5e2")])
def test_a_value_in_other_digits_is_told_in_one_problem_what_its_value_in_0_to_9_is_told(tmp_path, separator,
                                                                                         column, value):
    """A value in Arabic-Indic digits whose value in 0-9 is refused (a date, a time of day, a percentage, out of the
    column's range, text beside the number) was told to be written in 0-9, and refused again when it was: one problem
    now names the digits, the value in 0-9 and what that would be told, as a sheet of it in 0-9 tells it, with the
    sheet's decimal mark: in a semicolon-separated sheet (read with decimal commas) "0,5" was told it is no number
    ('write "0.5", or set decimal: ","'), which is read there as written. A refused check's message, a sentence of its
    own ("a p value must lie in (0, 1]"), follows "which the column does not take:", not "and"."""
    def told(cell: str):  # the one problem of column, or None
        cells = {"r": "0.3", "n": "50", "year": "2001", "age": "30", column: cell}
        quoted = [f'"{written}"' for written in cells.values()]  # "0,5" in a comma-separated sheet is one cell
        text = "".join(separator.join(row) + "\n" for row in [["study_id", *cells], ["S1", *quoted],
                                                                ["S2", "0.2", "60", "2002", "41"]])
        problems = [problem for problem in checked(csv(tmp_path, text), continuous_moderators=["age"])[1]
                    if problem.column == column]
        assert len(problems) <= 1, problems
        return problems[0] if problems else None
    prefix = MODERATOR if column == "age" else ""
    in_0_to_9, in_arabic_indic = told(value), told(value.translate(ARABIC_INDIC))
    if in_0_to_9 is None:  # read as written: that is the value to write
        expected = f'is written in Arabic-Indic digits, which are not read: write it in the digits 0-9, "{value}"'
    else:
        assert in_0_to_9.rule.startswith(prefix)
        not_read = in_0_to_9.check in ("number", "moderator_number", "ambiguous_point", "grouped_exponent")
        expected = (f'is written in Arabic-Indic digits ("{value}" in 0-9)'
                    f'{" and " if not_read else ", which the column does not take: "}'
                    f"{in_0_to_9.rule.removeprefix(prefix)}")
    assert in_arabic_indic.rule == prefix + expected


WHOLE_NUMBER = "must be a whole number"
AT_LEAST_4 = "must be at least 4: Fisher's z has variance 1/(n - 3)"


YEARS = f"must be a year between 1900 and {datetime.date.today().year + 1}"
POINT_SHEET = 'or set decimal: "," in the config for a sheet written with decimal commas'


@pytest.mark.parametrize(("separator", "column", "value", "told"), [
    (",", "n1", "1.4", f"{WHOLE_NUMBER}; and must be at least 2 cases per group"),  # was: write "1", too small itself
    (",", "n", "2.5", f"{WHOLE_NUMBER}; and {AT_LEAST_4}"),
    (",", "n", "-1.200", f"{WHOLE_NUMBER}; and {AT_LEAST_4}"),  # was: write "-1200" if the point separates thousands
    (",", "n11", "-0.5", f"{WHOLE_NUMBER}: enter the raw count (the analysis adds any continuity correction); and "
                         "cannot be negative"),
    (",", "n_covariates", "-1.5", f"{WHOLE_NUMBER}; and cannot be negative"),
    (",", "year", "1850.5", f"{WHOLE_NUMBER}; and {YEARS}"),
    # in a sheet of decimal commas, 1,850 (1.85) and -1,200 (-1.2): the thousands reading breaks a rule too
    (";", "year", "1,850", f"{WHOLE_NUMBER}; and {YEARS}"),  # was: write "1850" if the comma separates thousands
    (";", "n", "-1,200", f"{WHOLE_NUMBER}; and {AT_LEAST_4}"),  # was: write "-1200"
    # the whole number to write passes every rule: that is the one that matters
    (",", "n", "3.6", f'{WHOLE_NUMBER} (an n averaged over groups or occasions: write "4")'),
    (",", "n", "1.200", f'{WHOLE_NUMBER}: "1.200" is read with a decimal point; if the point separates thousands, '
                        f'write "1200" ({POINT_SHEET})'),
    # in other digits too ("\u0661,\u0662\u0660\u0660" was told of a decimal point and to set decimal: ",")
    (";", "n", "1,200", f'{WHOLE_NUMBER}: "1,200" is read with a decimal comma, the sheet\'s decimal mark, as a '
                        'number between 1 and 2, not 1200; if the comma separates thousands, write "1200"'),
    # a whole number breaking a rule only as read (n = 2): told, too, what its thousands reading is
    (",", "n", "2.000", f'{AT_LEAST_4}; "2.000" is read with a decimal point; if the point separates thousands, write '
                        f'"2000" ({POINT_SHEET})'),
    (";", "n", "2,000", f'{AT_LEAST_4}; "2,000" is read with a decimal comma, the sheet\'s decimal mark, as 2, not '
                        '2000; if the comma separates thousands, write "2000"')])
def test_a_number_breaking_two_rules_of_its_column_is_one_problem_naming_both_in_any_digits(tmp_path, separator,
                                                                                          column, value, told):
    """n1 = 1.4 was two problems ("must be a whole number ...: write "1"", a group too small as well, and "must be
    at least 2 cases per group"); in Arabic-Indic digits it was told only the first rule, and its advice, which the
    second refuses. A cell breaking two rules of its column is one problem naming both, in 0-9 digits and in others,
    or, where the whole number it is told to write passes every rule, that one, as the sheet reads it (a point, or
    in a semicolon-separated sheet a decimal comma)."""
    def problems_of(cell: str):
        cells = {"study_id": "S1", "r": "0.3".replace(".", "," if separator == ";" else "."), "n": "50", column: cell}
        rows = [dict(zip(cells, cells)), cells, {"study_id": "S2", "r": cells["r"], "n": "60"}]
        text = "".join(separator.join(f'"{row.get(name, "")}"' for name in cells) + "\n" for row in rows)
        return [problem for problem in checked(csv(tmp_path, text))[1] if problem.column == column]

    assert [(problem.row, problem.value, problem.rule) for problem in problems_of(value)] == [(2, value, told)]
    written = value.translate(ARABIC_INDIC).replace(".", "\u066b")
    assert [problem.rule for problem in problems_of(written)] == [
        f'is written in Arabic-Indic digits ("{value}" in 0-9), which the column does not take: {told}']


@pytest.mark.parametrize(("sheet", "value"), [
    ('study_id;r;n\n{rows}', "1,200"),  # decimal commas: "1,200" is read as 1.2, not a whole number
    ("study_id,r,n\n{rows}", "2.000"),  # decimal points: "2.000" is read as 2, too few (n_minimum)
    ("study_id,d,n1,n2\n{rows}", "1.000")])  # a group of 1 (group_minimum)
def test_every_cell_told_of_thousands_separators_counts_towards_the_column_line(tmp_path, sheet, value):
    """The column line counted only whole-number problems written "1.200": a decimal-comma sheet's "1,200" (shown as
    written) and "2.000" filed under n_minimum or group_minimum, told the same thousands advice, were left out."""
    separator = ";" if ";" in sheet else ","
    column = "n" if sheet.endswith("n\n{rows}") else "n1"
    cells = ["0,2", value] if separator == ";" else (["0.2", value] if column == "n" else ["0.2", value, "30"])
    rows = "".join(separator.join([f"S{i}", *cells]) + "\n" for i in range(3))
    problems = checked(csv(tmp_path, sheet.format(rows=rows)))[1]
    assert [(p.row, p.column, p.value) for p in problems] == [(row, column, value) for row in (2, 3, 4)]
    assert all("separates thousands, write" in p.rule for p in problems)
    assert format_problems(problems).splitlines()[1] == (
        f'column {column}: 3 cells written with thousands separators, e.g. row 2 "{value}" (each listed below)')


@pytest.mark.parametrize(("column", "value"), [("n1", "0.45"), ("n2", "0.5"), ("n", "0.3")])
def test_a_sample_size_between_0_and_1_is_told_it_looks_like_a_proportion(tmp_path, column, value):
    """n1 = 0.45 (a share of the sample) was told "must be a whole number; and must be at least 2 cases per group",
    which does not say what to write: it is told, in one problem, to enter the number of patients."""
    cells = {"study_id": "S1", "d": "0.3", "n1": "20", "n2": "20", "n": "", column: value}
    if column == "n":
        cells.update(d="", n1="", n2="", r="0.2")
    problems = checked(csv(tmp_path, ",".join(cells) + "\n" + ",".join(cells.values()) + "\n"))[1]
    [problem] = problems
    assert (problem.row, problem.column, problem.value, problem.check) == (2, column, value, "whole_number")
    assert problem.rule == (f"must be a whole number: {value} looks like a proportion of the sample; write the number "
                            "of patients " + ("the effect size is based on" if column == "n"
                                              else "(the share times the study's n, rounded)"))


@pytest.mark.parametrize(("column", "value", "refused", "to_write"), [
    ("sd1", "\u22122", "standard deviations must be positive", "2"),
    ("n", "\u221245", "must be at least 4: Fisher's z has variance 1/(n - 3)", "45")])
def test_a_unicode_minus_where_the_column_cannot_be_negative_is_not_silently_a_dash(tmp_path, column, value, refused,
                                                                                   to_write):
    """sd1 = "\u22122" (U+2212, a minus sign) was told 'is not a number; write "2"', taking the minus for a dash
    without a word: a sign error would pass unseen. It is told how it reads, that the column refuses that, and what
    to write if the minus is a dash."""
    cells = {"study_id": "S1", "m1": "3", "m2": "4", "sd1": "2", "sd2": "2", "n1": "20", "n2": "20", "n": "",
             column: value}
    problems = checked(csv(tmp_path, ",".join(cells) + "\n" + ",".join(cells.values()) + "\n"))[1]
    [problem] = problems
    assert (problem.row, problem.column, problem.value, problem.check) == (2, column, value, "number")
    assert problem.rule == (f"reads as -{to_write} (its Unicode minus, \u2212, as a minus sign), which the column "
                            f'does not take: {refused}; if the \u2212 is a dash, not a minus sign, write "{to_write}"')


@pytest.mark.parametrize(("column", "value", "heading"), [("year", "1850.5", "numbers out of range"),
                                                          ("n_covariates", "-1.5", "numbers out of range"),
                                                          ("n1", "1.4", "sample sizes and counts")])
def test_a_number_breaking_two_rules_is_listed_under_its_columns_range(tmp_path, column, value, heading):
    """year = 1850.5 was listed under "sample sizes and counts", the heading of its first rule (a whole number): a
    problem naming two rules of its column is listed under the last, the column's range."""
    text = f"study_id,r,n,{column}\nS1,0.3,50,{value}\nS2,0.2,60,\n"
    problems = checked(csv(tmp_path, text))[1]
    assert len(problems) == 1
    assert f"\n\n{heading} (1):\n  {problems[0]}" in format_problems(problems)


@pytest.mark.parametrize("separator", [",", ";"])
@pytest.mark.parametrize(("column", "value"), [("r", "\u22120.3"), ("age", "\u22123"), ("age", "\u22123.5"),
                                               ("d", "\u22121e\u22122")])
def test_a_unicode_minus_before_other_digits_is_told_the_whole_value_to_write(tmp_path, separator, column, value):
    """"\u2212\u0660\u066b\u0663" in r was told 'is not a number; write "-0.3"' after its value in 0-9, "\u22120.3", which the
    sheet reads as -0.3: it is told that value to write, its minus a hyphen and its digits 0-9, and that is read."""
    def problems_of(cell: str):
        cells = {"study_id": "S1", "r": "0.3", "n": "50", "age": "30", "d": "", "n1": "", "n2": "", column: cell}
        rows = [cells, {"study_id": "S2", "r": "0.2", "n": "60", "age": "40", "d": "0.4", "n1": "20", "n2": "20"}]
        text = "".join(separator.join(f'"{cell}"' for cell in row.values()) + "\n" for row in [dict(zip(cells, cells)),
                                                                                               *rows])
        return checked(csv(tmp_path, text), continuous_moderators=["age"])[1]

    assert problems_of(value) == []  # read as the sheet reads a Unicode minus
    [problem] = problems_of(value.translate(ARABIC_INDIC).replace(".", "\u066b"))
    to_write = value.replace("\u2212", "-")
    if separator == ";":  # offered with the sheet's decimal comma, which it reads
        to_write = to_write.replace(".", ",")
    assert problem.rule.endswith(f'is written in Arabic-Indic digits, which are not read: write it in the digits 0-9, '
                                 f'"{to_write}"'), problem.rule
    assert problems_of(to_write) == []  # one round of fixes


@pytest.mark.parametrize(("column", "value", "told"), [
    ("age", "\u0664\u066c\u0665\u0660\u0660", 'write it in the digits 0-9, "4500"'),  # was "4,500", read as 4.5
    ("n", "\u0661\u066c\u0662\u0660\u0660", 'write it in the digits 0-9, "1200"'),
    ("r", "\u0664\u0665\u066a", 'write "0.45"'),  # the Arabic percent sign: 45%, r = 0.45
    ("age", "\u0664\u0665\u066a", "a percentage, which is not read as a number")])
def test_the_arabic_thousands_separator_and_percent_sign_are_read_as_0_to_9_numbers_write_them(tmp_path, column,
                                                                                             value, told):
    """The Arabic thousands separator (U+066C) was written as a comma, then read as a decimal comma (4\u066c500:
    'write "4.500"'); it separates thousands, so is left out. The Arabic percent sign (U+066A) was kept as it is, so
    45\u066a was no percentage: it is "%", with a percentage's advice."""
    cells = {"r": "0.3", "n": "50", "age": "41", column: value}
    text = f"study_id,{','.join(cells)}\nS1,{','.join(cells.values())}\nS2,0.2,60,30\n"
    problems = checked(csv(tmp_path, text), continuous_moderators=["age"])[1]
    assert [(problem.row, problem.column) for problem in problems] == [(2, column)]
    assert told in problems[0].rule, problems[0].rule


@pytest.mark.parametrize("value", ["45", "45%"])
def test_a_continuous_moderator_all_in_other_digits_is_no_column_of_categories(tmp_path, value):
    """A continuous moderator whose every cell is a number or a percentage in Arabic-Indic digits was named a column
    of categories ('none of its filled cells is a number: if it holds categories, list it under moderators'): its
    cells are numbers in other digits, each told what to write."""
    cells = [value.translate(ARABIC_INDIC), value.replace("45", "30").translate(ARABIC_INDIC)]
    text = f"study_id,r,n,age\nS1,0.3,50,{cells[0]}\nS2,0.2,60,{cells[1]}\n"
    problems = checked(csv(tmp_path, text), continuous_moderators=["age"])[1]
    assert where(problems) == [(2, "age", cells[0], "moderator_number"), (3, "age", cells[1], "moderator_number")]
    assert all(problem.rule.startswith(f"{MODERATOR}is written in Arabic-Indic digits") for problem in problems)


# ---------------------------------------------------------------------------
# 3. Percentages
# ---------------------------------------------------------------------------

def test_every_whole_number_column_but_year_is_no_percentage():
    """The percent-cell check named its columns beside codebook.WHOLE_NUMBER_COLUMNS: a column added there (a count
    of sessions, say) was forgotten. Built from it now, each with what it holds."""
    from alliance_meta.inputs import codebook
    from alliance_meta.inputs.sheet import _COUNTED, _counted_columns

    assert set(_COUNTED) == {*codebook.WHOLE_NUMBER_COLUMNS, "df"} - {"year"}
    assert _COUNTED["n1"] == "sample size" and _COUNTED["n21"] == "count" and _COUNTED["df"] == (
        "number of degrees of freedom")
    assert _counted_columns((*codebook.WHOLE_NUMBER_COLUMNS, "n_sessions"))["n_sessions"] == "whole number"

@pytest.mark.parametrize(("others", "advice"), [
    ("0.45,0.6", 'the column\'s other values are proportions (0.45, 0.6): write "0.45"'),
    ("45,60", 'the column\'s other values are percentages without the sign (45, 60): write "45"'),
    (",", 'write "0.45" as a proportion or "45" as a percentage, in one unit in every row of the column'),
])
def test_a_percentage_in_a_continuous_moderator_is_told_in_the_unit_of_its_column(tmp_path, others, advice):
    first, second = others.split(",")
    text = f"study_id,r,n,female\nS1,0.3,50,{first}\nS2,0.2,60,45%\nS3,0.1,70,{second}\n"
    problems = checked(csv(tmp_path, text), continuous_moderators=["female"])[1]
    assert [str(p) for p in problems] == [
        'row 3, column female, value "45%": is a continuous moderator (continuous_moderators in the config) but a '
        f"percentage, which is not read as a number: {advice}"]


def test_every_cell_a_percentage_is_no_column_of_categories(tmp_path):
    text = "study_id,r,n,female\nS1,0.3,50,45%\nS2,0.2,60,60%\n"
    problems = checked(csv(tmp_path, text), continuous_moderators=["female"])[1]
    assert where(problems) == [(2, "female", "45%", "moderator_number"), (3, "female", "60%", "moderator_number")]
    assert problems[0].rule.endswith('write "0.45" as a proportion or "45" as a percentage, in one unit in every '
                                     "row of the column")


def test_a_sample_size_in_a_percent_formatted_cell_is_a_typing_error(tmp_path):
    """Excel stores a 45 typed into a percent-formatted cell as 0.45 (shown 45%): it was "must be a whole number
    (...: write "0")" and "must be at least 4"."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in (["study_id", "r", "n", "n11", "n12", "n21", "n22", "female"], ["S1", 0.3, 50, None, None, None, None,
                                                                               0.45],
                ["S2", 0.2, 0.45, None, None, None, None, 0.6], ["S3", None, None, 0.85, 5, 6, 9, None],
                ["S4", 0.1, 40, None, None, None, None, None]):
        sheet.append(row)
    for cell in ("C3", "D4", "H2", "H3", "C5"):
        sheet[cell].number_format = "0%"  # C5 holds 40, shown 4000%: a whole n, read as it is
    path = tmp_path / "sheet.xlsx"
    workbook.save(path)
    clean, problems, _ = checked(path, continuous_moderators=["female"])
    assert where(problems) == [(3, "n", "45%", "percent_cell"), (4, "n11", "85%", "percent_cell")]
    assert problems[0].rule == (
        "is a percentage (the cell is formatted as one, and holds 0.45): a sample size is no percentage, so this is "
        "a typing error (a number typed into a percent-formatted cell becomes a percentage); format the cell as a "
        'number and type the sample size ("45" if that is what was typed)')
    assert problems[1].rule.startswith("is a percentage (the cell is formatted as one, and holds 0.85), not a count: ")
    assert "spreadsheet cells that cannot be read as they are (2):" in format_problems(problems)
    assert clean["female"].tolist()[:2] == ["0.45", "0.6"] and clean["n"].tolist()[3] == 40


# ---------------------------------------------------------------------------
# 4. An unreadable cell is its row's one problem of the input
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(("cells", "bad"), [
    ("r=abc,n=50,p=0.04", "r"),  # p_n would need direction
    ("r=0.3,n=50,f=4.2,df=48", "r"),  # f_df would need direction
    ("t=2.1x,df=48,chi2=3.9,n=60", "t"),  # chi2's df: "only a chi-square with 1 df"
    ("r=abc,n=5,chi2=9", "r"),  # chi2 >= n
    ("d=0.4,n1=20,n2=20,direction=negative,reverse=ja", "reverse"),  # read as no: d contradicts direction
])
def test_an_unreadable_effect_size_cell_gets_no_knock_on_problems(tmp_path, cells, bad):
    row = dict(cell.split("=") for cell in cells.split(","))
    if bad == "r" and row["r"] != "abc":
        row["r"] = "0,3x"
    frame = pd.DataFrame([{"study_id": "S1", **row}, {"study_id": "S2", "r": "0.2", "n": "60"}])
    path = tmp_path / "sheet.csv"
    frame.to_csv(path, index=False)
    problems = checked(path)[1]
    assert [(p.row, p.column) for p in problems] == [(2, bad)], problems
    # they were the rules of the row without that cell
    frame.loc[0, bad] = None
    frame.to_csv(path, index=False)
    assert {p.check for p in checked(path)[1]} & {"direction_missing", "chi2_degrees_of_freedom", "chi2_exceeds_n",
                                                  "direction_contradicts_sign"}


# ---------------------------------------------------------------------------
# 5. A study_id typed as a missing-value marker
# ---------------------------------------------------------------------------

def test_a_study_id_typed_na_shows_what_was_typed(tmp_path):
    text = "study_id,r,n\nS1,0.3,50\nNA,0.2,60\nn/a,0.1,40\n,0.2,30\n"
    problems = checked(csv(tmp_path, text))[1]
    assert where(problems) == [(3, "study_id", "NA", "not_nullable"), (4, "study_id", "n/a", "not_nullable"),
                               (5, "study_id", "", "not_nullable")]
    assert str(problems[0]).startswith('row 3, column study_id, value "NA": "NA" is read as an empty cell (a missing '
                                       "value), and a study_id is required on every row")
    assert problems[2].rule.startswith("is required on every row")
    workbook = openpyxl.Workbook()
    for row in (["study_id", "r", "n"], ["S1", 0.3, 50], ["N/A ", 0.2, 60]):
        workbook.active.append(row)
    workbook.save(tmp_path / "sheet.xlsx")
    assert where(checked(tmp_path / "sheet.xlsx")[1]) == [(3, "study_id", "N/A", "not_nullable")]


# ---------------------------------------------------------------------------
# Sheets as LibreOffice and Excel save them
# ---------------------------------------------------------------------------

def test_a_libreoffice_csv_with_semicolons_and_every_cell_quoted(tmp_path):
    text = ('"study_id";"authors";"year";"family";"r";"n";"d";"n1";"n2"\n'
            '"S1";"M\u00fcller, A.; Wei\u00df, B.";"2004";"outcome";"0,35";"50";"";"";""\n'
            '"S2";"Dupont";"2010";"outcome";"-0,12";"80";;;\n'
            '"S3";"Z\u00fcrcher";2012;"dropout";;;"0,61";"40";"18"\n')
    clean, problems, _ = checked(csv(tmp_path, text))
    assert problems == []
    assert clean["r"].tolist()[:2] == [0.35, -0.12] and clean["d"].tolist()[2] == 0.61
    assert clean["authors"].tolist()[0] == "M\u00fcller, A.; Wei\u00df, B."


def test_a_bom_crlf_csv_with_trailing_spaces_and_empty_columns(tmp_path):
    text = ("\ufeffstudy_id,family,authors,r,n,d,n1,n2,,\r\nS1 ,outcome ,\u00d6degaard,0.3,50,,,,,\r\n"
            "S2, Dropout  ,\u00d1\u00fa\u00f1ez,,,0.4,20,20,,\r\n,,,,,,,,,\r\n\r\n")
    clean, problems, _ = checked(csv(tmp_path, text))
    assert problems == []
    assert clean["study_id"].tolist() == ["S1", "S2"] and clean["family"].tolist() == ["outcome", "dropout"]
    assert "unnamed_9" not in clean


def test_a_row_of_totals_without_a_study_id_is_told_to_go_not_to_take_the_study_above(tmp_path):
    """Total in authors, study_id empty: it said also "the rows above belong to study S2: write S2 here"."""
    workbook = openpyxl.Workbook()
    for row in (["study_id", "authors", "r", "n"], ["S1", "A", 0.3, 50], ["S2", "B", 0.2, 60],
                [None, "Total", None, 110]):
        workbook.active.append(row)
    workbook.save(tmp_path / "sheet.xlsx")
    assert where(checked(tmp_path / "sheet.xlsx")[1]) == [(4, "authors", "Total", "summary_row")]


def test_a_header_of_two_rows_under_a_merged_title_is_one_problem(tmp_path):
    """"Effect" merged over B1:C1 with r and n below it in row 2: row 2 was "study_id is required" and "no
    effect-size input", and every study row "no effect-size input" as well."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in (["study_id", "Effect", None, "rater"], [None, "r", "n", None], ["S1", 0.3, 50, "patient"],
                ["S2", 0.2, 60, "therapist"]):
        sheet.append(row)
    sheet.merge_cells("B1:C1")
    workbook.save(tmp_path / "sheet.xlsx")
    problems = checked(tmp_path / "sheet.xlsx", moderators=["rater"])[1]
    assert where(problems) == [(1, "C", "", "merged_header"), (2, "", "", "second_header")]
    assert problems[1].rule.startswith('holds column names below the header row ("r" in column Effect, "n" in '
                                       "column C), as a header of two rows does")


def test_placeholders_in_a_free_moderator_are_named_as_levels_of_their_own(tmp_path):
    """A free categorical moderator's "?" and "unknown" were accepted silently, and each became a subgroup of the
    moderator analyses; a note names them (not a problem: "unknown" can be a subgroup on purpose)."""
    path = csv(tmp_path, "study_id,r,n,setting,rater\nA,.3,50,outpatient,patient\nB,.2,60,?,patient\n"
                         "C,.1,70,unknown,therapist\nD,.4,80,?,patient\nE,.2,40,inpatient,?\n")
    clean, problems, _ = checked(path, moderators=["setting", "rater"])
    notes = [note for note in clean.attrs["notes"] if "placeholders are levels" in note]
    assert notes == ['setting: placeholders are levels (subgroups) of their own in the moderator analyses: "?" '
                     '(rows 3, 5), "unknown" (row 4); leave a cell empty (or write NA) to leave its row out of them']
    assert [(p.row, p.column) for p in problems] == [(6, "rater")]  # a coded column's placeholder is a problem
    assert not [note for note in checked(path, moderators=["rater"])[0].attrs["notes"] if "placeholders" in note]


def test_an_unreadable_cell_of_a_later_input_kind_hides_no_problem_of_the_rows_kind(tmp_path):
    """The knock-on rule hid every input-kind check of a row with any unreadable input cell: r = -0.3 with
    direction positive lost its contradiction because t said "sig", and chi2 = 80 > n = 50 its problem because
    odds_ratio said "high". Only a cell that may decide the row's kind (r unreadable beside an F) hides them."""
    path = csv(tmp_path, "study_id,r,n,direction,t,chi2,odds_ratio,f,df\nA,-0.3,50,positive,sig,,,,\n"
                         "B,,50,positive,,80,high,,\nC,x,50,,,,,4.2,48\n")
    _, problems, _ = checked(path)
    assert [(p.row, p.column, p.check) for p in problems] == [
        (2, "direction", "direction_contradicts_sign"), (2, "t", "number"), (3, "chi2", "chi2_exceeds_n"),
        (3, "odds_ratio", "number"), (4, "r", "number")]


@pytest.mark.parametrize("separator, encoding", [("\t", "cp1252"), (";", "utf-8")])
def test_a_comma_between_thousands_in_a_decimal_comma_sheet_is_told_as_written(tmp_path, separator, encoding):
    """1,200 in n of a sheet read with decimal commas said: '"1.200" is read with a decimal point; ... (or set
    decimal: ",")': a value the sheet does not have, and a setting already in effect."""
    path = tmp_path / "sheet.csv"
    path.write_bytes(separator.join(["study_id", "r", "n"]).encode(encoding) + b"\n"
                     + separator.join(["A", "0,35", "1,200"]).encode(encoding) + b"\n"
                     + separator.join(["B", "0,2", "80"]).encode(encoding) + b"\n")
    _, problems = validate_sheet(read_sheet(path))
    assert [(p.row, p.column, p.value, p.rule) for p in problems] == [
        (2, "n", "1,200", 'must be a whole number: "1,200" is read with a decimal comma, the sheet\'s decimal mark, '
                          'as a number between 1 and 2, not 1200; if the comma separates thousands, write "1200"')]
