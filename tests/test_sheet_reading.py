"""Spreadsheets as they arrive: CSV dialects and encodings, and Excel workbooks with
formulas, dates, merged cells, hidden rows and several worksheets
(alliance_meta.inputs.sheet.read_sheet). Each case gives the right data or a problem
with row and column; the file is never written to. Every workbook is built here."""

from __future__ import annotations

import datetime
import hashlib
import re
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.datetime import from_excel

from alliance_meta.inputs.sheet import (
    SheetError,
    format_problems,
    read_sheet,
    validate_sheet,
)


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def read(path: Path, **options):
    """read_sheet + validate_sheet, asserting that the file did not change."""
    before = fingerprint(path)
    raw = read_sheet(path, **options)
    clean, problems = validate_sheet(raw)
    assert fingerprint(path) == before
    return raw, clean, problems


def where(problems) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.check) for p in problems]


def write_bytes(folder: Path, data: bytes, name: str = "sheet.csv") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def save(workbook: openpyxl.Workbook, folder: Path, name: str = "sheet.xlsx") -> Path:
    path = folder / name
    workbook.save(path)
    return path


def edit_sheet_xml(path: Path, edit, part: str = "xl/worksheets/sheet1.xml") -> None:
    """Rewrite one worksheet's XML inside the .xlsx (to store what Excel stores and
    openpyxl cannot write: the saved results of formulas)."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts[part] = edit(parts[part].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


# ---------------------------------------------------------------------------
# CSV dialects and encodings
# ---------------------------------------------------------------------------

GERMAN_EXCEL = ("study_id;authors;year;family;r;n;d;n1;n2\r\n"
                "S1;Müller & Weiß;2004;outcome;0,35;50;;;\r\n"
                "S2;Dupont;2010;outcome;-0,12;80;;;\r\n"
                "S3;Zürcher;2012;dropout;;;0,61;40;18\r\n"
                ";;;;;;;;\r\n")


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-8"])
def test_semicolon_csv_with_decimal_commas_in_any_excel_encoding(tmp_path, encoding):
    raw, clean, problems = read(write_bytes(tmp_path, GERMAN_EXCEL.encode(encoding)))
    assert problems == []
    assert list(clean["r"].iloc[:2]) == [0.35, -0.12]
    assert clean["d"].iloc[2] == 0.61 and list(clean["n"].iloc[:2]) == [50, 80]
    assert list(clean["authors"]) == ["Müller & Weiß", "Dupont", "Zürcher"]
    assert list(clean["sheet_row"]) == [2, 3, 4]  # the trailing empty row is dropped
    assert any("decimal commas" in note for note in raw.attrs["notes"])


def test_latin1_bytes_undefined_in_windows_1252_are_still_read(tmp_path):
    data = "study_id,authors,r,n\nS1,Gro\u00df,0.3,50\n".encode("latin-1") + b"S2,A\x81B,0.2,60\n"
    _, clean, problems = read(write_bytes(tmp_path, data))
    assert problems == []
    assert list(clean["authors"]) == ["Groß", "A\x81B"]


def test_utf8_bom_before_the_first_header_name(tmp_path):
    path = write_bytes(tmp_path, "\ufeffStudy_ID,r,n\nS1,0.3,50\n".encode("utf-8"))
    _, clean, problems = read(path)
    assert problems == [] and list(clean.columns[:2]) == ["sheet_row", "study_id"]


def test_utf16_tab_separated_text_as_excel_saves_unicode_text(tmp_path):
    path = write_bytes(tmp_path, "study_id\tauthors\tr\tn\r\nS1\tŁukasz\t0.3\t50\r\n".encode("utf-16"))
    _, clean, problems = read(path)
    assert problems == [] and clean["authors"].item() == "Łukasz" and clean["r"].item() == 0.3


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read_as_utf16(tmp_path, encoding):
    """UTF-16 without a BOM (PowerShell's and some exports' Unicode) was read as Windows-1252, a 0 byte between the
    letters: the header was "s\x00t\x00u\x00...", study_id 'missing; did you mean "s t u d y _ i d"?' and every row
    without an effect size."""
    text = "study_id;authors;r;n\r\nS1;\u0141ukasz & M\u00fcller;0,3;50\r\nS2;G\u00f6th;\u22120,2;60\r\n"
    path = write_bytes(tmp_path, text.encode(encoding))
    _, clean, problems = read(path)
    assert problems == []
    assert clean["authors"].tolist() == ["\u0141ukasz & M\u00fcller", "G\u00f6th"]
    assert clean["r"].tolist() == [0.3, -0.2] and clean["n"].tolist() == [50, 60]


def test_a_utf8_sheet_padded_with_zero_bytes_is_not_taken_for_utf16():
    """A file whose end a crash or a sync left as NUL bytes has zeros at odd positions too; its text is UTF-8, which
    the UTF-16 detection read as CJK characters ("required column is missing" and nothing else). UTF-16 without a
    BOM and a stray last byte is still UTF-16."""
    from alliance_meta.inputs.sheet import decode_text

    text = "study_id,r,n\nS1,0.3,50\nS2,0.2,60\n"
    assert decode_text(text.encode("utf-8") + b"\x00" * 201).rstrip("\x00") == text
    assert decode_text(text.encode("utf-16-le") + b"\n") == text


def test_decimal_key_reads_commas_in_a_comma_or_tab_separated_sheet(tmp_path):
    quoted = write_bytes(tmp_path, b'study_id,r,n\nS1,"0,35",50\n')
    _, clean, problems = read(quoted, decimal=",")
    assert problems == [] and clean["r"].item() == 0.35
    tabbed = write_bytes(tmp_path, b"study_id\tr\tn\nS1\t0,35\t50\nS2\t0.2\t60\n", "tabbed.csv")
    assert read(tabbed, decimal=",")[1]["r"].tolist() == [0.35, 0.2]
    _, _, problems = read(tabbed)  # auto: a comma beside a decimal point in a tab-separated sheet is not guessed
    assert [(p.row, p.column, p.value) for p in problems] == [(2, "r", "0,35")]
    assert 'write "0.35"' in problems[0].rule
    _, _, problems = read(quoted)  # nor in a comma-separated one
    assert [(p.row, p.column, p.value) for p in problems] == [(2, "r", "0,35")]


def test_decimal_commas_are_read_in_numbers_only_not_in_ids_labels_or_categories(tmp_path):
    """es_id "2,1" became "2.1" (the key changes.csv and the second coder's sheet are matched on)."""
    path = write_bytes(tmp_path, "study_id;es_id;label;r;n;age;setting\nS1;2,1;3,5;0,31;45;34,5;in,patient\n"
                                 "S2;2,2;x;0,2;50;40;out\n".encode())
    raw, clean, problems = read(path)
    assert problems == []
    assert raw["es_id"].tolist() == ["2,1", "2,2"] and raw["label"].tolist() == ["3,5", "x"]
    assert raw["setting"].tolist() == ["in,patient", "out"]
    assert clean["r"].tolist() == [0.31, 0.2] and raw["age"].tolist() == ["34.5", "40"]


def test_decimal_point_setting_keeps_commas_as_written(tmp_path):
    path = write_bytes(tmp_path, b"study_id;r;n\nS1;0,35;50\n")
    _, _, problems = read(path, decimal=".")
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [(2, "r", "0,35", "number")]
    assert 'write "0.35"' in problems[0].rule
    with pytest.raises(ValueError, match="decimal"):
        read_sheet(path, decimal=";")


def test_a_point_between_thousands_in_a_decimal_comma_sheet_is_a_problem_not_a_decimal_point(tmp_path):
    """German Excel writes ten thousand as 10.000: read as 10 before (n = 10, with no problem). Such a
    cell of a numeric column is now a problem naming both readings; 2.500,5 (points between thousands and
    a decimal comma) is unambiguous: 2500.5. Text columns (es_id 1.001) and 0.35 are left alone."""
    path = write_bytes(tmp_path, "study_id;es_id;r;n;sessions\nA;1.001;0,35;10.000;12\n"
                                 "B;1.002;0.25;2.500,0;1.500\nC;2;-0,1;85;8\n".encode("utf-8"))
    raw, clean, problems = read(path)
    found = [(p.row, p.column, p.value, p.check) for p in problems if p.check == "ambiguous_point"]
    assert found == [(2, "n", "10.000", "ambiguous_point"), (3, "sessions", "1.500", "ambiguous_point")]
    message = next(p.rule for p in problems if p.value == "10.000")
    assert 'write "10000" if the point separates thousands, or "10,000" if it is a decimal point' in message
    assert raw["n"].tolist()[1:] == ["2500.0", "85"] and raw["r"].tolist()[1] == "0.25"
    assert raw["es_id"].tolist()[:2] == ["1.001", "1.002"]
    # the one message of the cell: not also "must be a whole number" or "at least 4" for 1.088 read as 1.088
    small = write_bytes(tmp_path, b"study_id;r;n\nS1;0,31;1.088\nS2;0,2;50\n", "small.csv")
    assert [(p.row, p.column, p.check) for p in read(small)[2]] == [(2, "n", "ambiguous_point")]


def test_excel_separator_line_is_not_a_row(tmp_path):
    path = write_bytes(tmp_path, b"sep=;\r\nstudy_id;r;n\r\nS1;0,3;50\r\nS2;1,3;50\r\n")
    _, clean, problems = read(path)
    assert list(clean["study_id"]) == ["S1", "S2"]
    assert where(problems) == [(3, "r", "correlation_range")]


def test_a_double_quote_never_closed_stops_the_reading_instead_of_swallowing_the_rows_after_it(tmp_path):
    """A stray quote opening an authors cell: rows 4 and 5 were read into that cell and the sheet passed with
    2 studies, no problems. Quotes as a spreadsheet writes them, a cell of two lines among them, still read."""
    text = 'study_id,r,n,authors\nS1,0.3,40,Smith\nS2,0.2,50,"Jones et al.\nS3,0.25,60,Miller\nS4,0.1,70,Brown\n'
    with pytest.raises(SheetError, match=r'row 3, column authors, value "Jones et al\.": a double quote opens this '
                                         r"cell and is never closed, so the rows after it were read into this one cell"):
        read_sheet(write_bytes(tmp_path, text.encode()))
    fine = 'study_id,r,n,authors\nS1,0.3,40,"Smith, J.\nand Jones"\nS2,0.2,50,Jones "the younger"\n' \
           'S3,0.25,60,"Miller" Jr\n'
    _, clean, problems = read(write_bytes(tmp_path, fine.encode(), "fine.csv"))
    assert problems == [] and list(clean["authors"]) == ["Smith, J.\nand Jones", 'Jones "the younger"', "Miller Jr"]


def test_a_double_quote_never_closed_after_a_quote_out_of_place_still_stops_the_reading(tmp_path):
    """The strict reader stopped at the first odd quote, row 2's '"Miller" Jr', found no line break in it and let the
    sheet pass: rows 4 and 5 were read into row 3's authors cell, 2 studies and no problem."""
    text = ('study_id,r,n,authors\nS1,0.3,40,"Miller" Jr\nS2,0.2,50,"Jones et al.\nS3,0.25,60,Lee\n'
            'S4,0.1,70,Brown\n')
    with pytest.raises(SheetError, match=r'row 3, column authors, value "Jones et al\.": a double quote opens'):
        read_sheet(write_bytes(tmp_path, text.encode()))


def test_a_quote_out_of_place_beside_a_cell_of_two_lines_in_one_row_is_no_unclosed_quote(tmp_path):
    """The strict reader stopped at row 2's '"Miller" Jr' and, the row holding a cell of two lines (its note), the
    sheet was refused as if that note's quote were never closed. The note's quote closes; only the field where the
    strict reader stops counts."""
    text = ('study_id,r,n,authors,note\nS1,0.3,40,"Miller" Jr,"first line\nsecond line"\nS2,0.2,50,Lee,\n'
            'S3,0.25,60,"Brown, A",ok\n')
    _, clean, problems = read(write_bytes(tmp_path, text.encode()))
    assert problems == [] and list(clean["study_id"]) == ["S1", "S2", "S3"]
    assert list(clean["authors"]) == ["Miller Jr", "Lee", "Brown, A"]
    assert clean["note"].iloc[0] == "first line\nsecond line"
    stray = text.replace('"Brown, A"', '"Brown, A')  # the last cell's quote never closes: the rows after it are gone
    stray += "S4,0.1,70,Green,\nS5,0.1,70,White,\n"
    with pytest.raises(SheetError, match=r'row 4, column authors, value "Brown, A,ok": a double quote opens'):
        read_sheet(write_bytes(tmp_path, stray.encode(), "stray.csv"))
    # the quote out of place and, later in the same row, a quote never closed: rows 3 and 4 were read into the note
    hidden = 'study_id,r,n,authors,note\nS1,0.3,40,"Miller" Jr,"first line never closed\nS2,0.2,50,Lee,\nS3,0.25,60,Brown,\n'
    with pytest.raises(SheetError, match=r'row 2, column note, value "first line never closed": a double quote opens'):
        read_sheet(write_bytes(tmp_path, hidden.encode(), "hidden.csv"))


def test_trailing_empty_rows_and_columns_and_a_value_beyond_the_header(tmp_path):
    text = "study_id,r,n,,\nS1,0.3,50,,\nS2,0.2,60,,\n,,,,\n , , ,,\n,,,,\n"
    raw, clean, problems = read(write_bytes(tmp_path, text.encode()))
    assert problems == [] and list(raw.columns) == ["sheet_row", "study_id", "r", "n"] and len(clean) == 2
    ragged = "study_id,r,n\nS1,0.3,50\nS2,0.2,60,oops\n"
    _, _, problems = read(write_bytes(tmp_path, ragged.encode(), "ragged.csv"))
    assert where(problems) == [(1, "D", "unnamed_column")]
    assert "holds data (row 3)" in problems[0].rule  # one row: "row", not "rows 3"


def test_dates_written_as_text_in_the_year_column(tmp_path):
    text = ("study_id,year,r,n\nS1,2004-03-15,0.3,50\nS2,15.03.2010,0.2,60\nS3,3/15/2011,0.2,60\n"
            "S4,26.06.1905,0.2,60\nS5,4/5/1905,0.2,60\nS6,1999,0.1,70\n")
    raw, clean, problems = read(write_bytes(tmp_path, text.encode()))
    # 26.06.1905 is the year 2004 typed into a date-formatted cell (serial 2004); 4/5/1905
    # reads as two different serials (day/month or month/day) and is left to the reviewer
    assert list(clean["year"].iloc[:4]) == [2004, 2010, 2011, 2004] and clean["year"].iloc[5] == 1999
    assert [(p.row, p.column, p.value) for p in problems] == [(6, "year", "4/5/1905")]
    assert "write the year of publication" in problems[0].rule
    assert any("rows 2, 3, 4, 5" in note for note in raw.attrs["notes"])


# ---------------------------------------------------------------------------
# Excel workbooks
# ---------------------------------------------------------------------------

def workbook_with(rows, title: str = "Data") -> openpyxl.Workbook:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    return workbook


def test_formulas_give_their_saved_results(tmp_path):
    workbook = workbook_with([["study_id", "r", "n", "note"],
                              ["S1", "=0.6/2", 50, '=IF(1=1,"","x")'],
                              ["S2", "=1/0", 60, None],
                              ["S3", "=0.4/2", "=30+30", None]])
    path = save(workbook, tmp_path)

    def as_excel_saves_it(xml: str) -> str:  # Excel stores each formula's last result
        xml = re.sub(r"<v ?/>|<v></v>", "<v />", xml)  # openpyxl writes either, with or without lxml
        xml = xml.replace('<c r="B2"><f>0.6/2</f><v /></c>', '<c r="B2"><f>0.6/2</f><v>0.3</v></c>')
        xml = xml.replace('<c r="D2"><f>IF(1=1,"","x")</f><v /></c>',
                          '<c r="D2" t="str"><f>IF(1=1,"","x")</f><v></v></c>')
        xml = xml.replace('<c r="B3"><f>1/0</f><v /></c>', '<c r="B3" t="e"><f>1/0</f><v>#DIV/0!</v></c>')
        return xml

    edit_sheet_xml(path, as_excel_saves_it)
    raw, clean, problems = read(path)
    assert clean.loc[0, "r"] == 0.3 and clean.loc[0, "n"] == 50 and raw.loc[0, "note"] is None
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [
        (3, "r", "#DIV/0!", "excel_error"),
        (4, "r", "=0.4/2", "formula_without_value"), (4, "n", "=30+30", "formula_without_value")]
    assert "never saved" in problems[1].rule
    report = format_problems(problems, "sheet.xlsx")
    assert "spreadsheet cells that cannot be read as they are (3):" in report
    assert "has no effect-size input" not in report  # the formula explains the empty r


def test_dates_in_the_year_column_of_a_workbook(tmp_path):
    workbook = workbook_with([["study_id", "year", "r", "n"],
                              ["S1", datetime.datetime(2004, 3, 15), 0.3, 50],
                              ["S2", from_excel(2011), 0.2, 60],  # 2011 typed into a date-formatted cell
                              ["S3", 2015, 0.1, 70],
                              ["S4", 2016, datetime.datetime(1900, 1, 30), 70]])
    workbook.active["B3"].number_format = "dd.mm.yyyy"
    _, clean, problems = read(save(workbook, tmp_path))
    assert list(clean["year"]) == [2004, 2011, 2015, 2016]
    assert where(problems) == [(5, "r", "number")]
    assert "is a date, not a number" in problems[0].rule


def test_the_note_on_dates_in_the_year_column_names_only_the_dates_when_a_year_is_blank(tmp_path):
    """One blank year made the column float, and the note named every row as a date read as a year."""
    workbook = workbook_with([["study_id", "year", "r", "n"], ["S1", 1992, 0.3, 40], ["S2", None, 0.2, 50],
                              ["S3", datetime.datetime(2004, 3, 1), 0.1, 60]])
    raw = read_sheet(save(workbook, tmp_path))
    assert [note for note in raw.attrs["notes"] if "year" in note] == [
        "dates in the year column read as years (row 4)"]  # one row: not "rows 4"
    plain = read_sheet(save(workbook_with([["study_id", "year", "r", "n"], ["S1", 1992, 0.3, 40],
                                           ["S2", None, 0.2, 50]]), tmp_path))
    assert not [note for note in plain.attrs["notes"] if "year" in note]


def test_a_number_below_1_in_a_date_formatted_cell_is_named_a_time_not_given_a_wrong_suggestion(tmp_path):
    workbook = workbook_with([["study_id", "r", "n"], ["S1", 0.25, 50], ["S2", 0.3, 60]])
    workbook.active["B2"].number_format = "dd.mm.yyyy"  # Excel shows 30.12.1899, openpyxl reads 06:00:00
    _, _, problems = read(save(workbook, tmp_path))
    assert where(problems) == [(2, "r", "number")]
    assert problems[0].value == "06:00:00"
    assert "is a time of day, not a number: the cell is formatted as a date or time" in problems[0].rule
    assert 'write "06"' not in problems[0].rule  # was: is not a number; write "06"


def test_numbers_of_a_workbook_are_read_as_the_spreadsheet_shows_them(tmp_path):
    """A formula's result keeps the binary rounding Excel does not show: =7%*100 is stored as
    7.0000000000000009, shown as 7. It was read as 7.000000000000001, an n1 that is not a whole number."""
    workbook = workbook_with([["study_id", "family", "d", "n1", "n2", "r", "n"],
                              ["D1", "dropout", 0.3, 0.07 * 100, 40, None, None],
                              ["D2", "dropout", 0.2, 0.57 * 100, 31, None, None],
                              ["S1", "outcome", None, None, None, 0.1 + 0.2, 50]])
    assert 0.07 * 100 != 7 and 0.57 * 100 != 57 and 0.1 + 0.2 != 0.3
    _, clean, problems = read(save(workbook, tmp_path))
    assert problems == []
    assert clean["n1"].tolist()[:2] == [7, 57] and clean["r"].tolist()[2] == 0.3


def test_a_workbook_in_the_1904_date_system(tmp_path):
    workbook = workbook_with([["study_id", "year", "r", "n"]])
    workbook.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    workbook.active.append(["S1", from_excel(2008, epoch=workbook.epoch), 0.3, 50])
    workbook.active["B2"].number_format = "yyyy-mm-dd"
    _, clean, problems = read(save(workbook, tmp_path))
    assert problems == [] and clean["year"].item() == 2008


def test_merged_cells(tmp_path):
    workbook = workbook_with([["study_id", "authors", "r", "n", "note", None],
                              ["S1", "Smith", 0.3, 50, "first", "second"],
                              [None, None, 0.2, 50],
                              [None, None, 0.25, 50],
                              ["S2", "Jones", 0.1, None]])
    sheet = workbook.active
    sheet.merge_cells("A2:A4")  # one study over its three effect sizes: every row gets S1
    sheet.merge_cells("B2:B4")
    sheet.merge_cells("E1:F1")  # "note" over two columns: the second has no name
    sheet.merge_cells("D5:E5")  # which column does 45 belong to?
    sheet["D5"] = 45
    _, clean, problems = read(save(workbook, tmp_path))
    assert list(clean["study_id"]) == ["S1", "S1", "S1", "S2"]
    assert list(clean["authors"]) == ["Smith"] * 3 + ["Jones"]
    assert where(problems) == [(1, "F", "merged_header"), (5, "n", "merged_cells")]
    assert "E1:F1" in problems[0].rule and "D5:E5" in problems[1].rule and problems[1].value == "45"


def test_a_header_cell_merged_into_the_data(tmp_path):
    workbook = workbook_with([["study_id", "r", "n"], [None, 0.3, 50]])
    workbook.active.merge_cells("A1:A2")
    _, _, problems = read(save(workbook, tmp_path))
    assert (1, "study_id", "merged_header") in where(problems)


def test_hidden_rows_and_columns_holding_data_are_problems(tmp_path):
    workbook = workbook_with([["study_id", "r", "n", "helper"],
                              ["S1", 0.3, 50, 1], ["S2", 0.2, 60, 2], [None, None, None, None], ["S3", 0.1, 70, 3]])
    sheet = workbook.active
    sheet.row_dimensions[3].hidden = True
    sheet.row_dimensions[4].hidden = True  # empty: nothing to decide
    sheet.column_dimensions["D"].hidden = True
    _, _, problems = read(save(workbook, tmp_path))
    assert where(problems) == [(1, "helper", "hidden_column"), (3, "", "hidden_row")]
    assert "unhide it" in problems[1].rule and "delete it" in problems[1].rule


def test_a_hidden_column_with_a_header_and_no_data_is_a_note(tmp_path):
    # README: only a hidden row or column *holding data* is a problem; a header alone holds nothing
    workbook = workbook_with([["study_id", "r", "n", "hidden_empty", "helper"],
                              ["S1", 0.3, 50, None, 1], ["S2", 0.2, 60, None, None]])
    workbook.active.column_dimensions["D"].hidden = True
    workbook.active.column_dimensions["E"].hidden = True  # holds data: still a problem
    raw, _, problems = read(save(workbook, tmp_path))
    assert where(problems) == [(1, "helper", "hidden_column")]
    assert "hidden column D (hidden_empty) has a header and no data: read as an empty column" in raw.attrs["notes"]
    workbook.active.column_dimensions["E"].hidden = False
    raw, clean, problems = read(save(workbook, tmp_path))
    assert problems == [] and list(clean["study_id"]) == ["S1", "S2"]


def test_hidden_rows_are_named_in_one_line_per_cause(tmp_path):
    from openpyxl.worksheet.filters import FilterColumn, Filters

    rows = [["study_id", "r", "n", "rater"]] + [[f"S{i}", 0.3, 50, "patient" if i % 2 else "therapist"]
                                               for i in range(1, 11)]
    workbook = workbook_with(rows)
    sheet = workbook.active
    sheet.auto_filter.ref = "A1:D11"
    sheet.auto_filter.filterColumn.append(FilterColumn(colId=3, filters=Filters(filter=["patient"])))
    for row in (3, 5, 7, 8, 9, 11):  # what Excel hides for "therapist" (and rows 8, 9 as well)
        sheet.row_dimensions[row].hidden = True
    path = save(workbook, tmp_path)
    _, _, problems = read(path)
    assert [p.row for p in problems] == [3, 5, 7, 8, 9, 11]  # one problem per row, as before
    report = format_problems(problems, "sheet.xlsx")
    assert report.splitlines()[0] == "sheet.xlsx: 6 problems in 6 rows (rows as numbered in a spreadsheet, header = row 1)"
    lines = [line.strip() for line in report.splitlines()[3:]]
    assert lines == ["rows 3, 5, 7-9, 11 are hidden by the worksheet's filter: clear the filter (Data > Filter) to "
                     "have them analysed, or delete the rows to leave them out"]
    sheet.auto_filter.filterColumn.clear()  # no criteria: rows hidden by hand, also in one line
    sheet.row_dimensions[11].hidden = False
    report = format_problems(read(save(workbook, tmp_path))[2], "sheet.xlsx")
    assert [line.strip() for line in report.splitlines()[3:]] == [
        "rows 3, 5, 7-9 are hidden in the spreadsheet: unhide them to have them analysed, or delete them to leave "
        "them out"]


def test_rows_hidden_by_a_filter_say_to_clear_the_filter(tmp_path):
    from openpyxl.worksheet.filters import FilterColumn, Filters

    workbook = workbook_with([["study_id", "r", "n", "rater"], ["S1", 0.3, 50, "patient"],
                              ["S2", 0.2, 60, "therapist"], ["S3", 0.1, 70, "patient"]])
    sheet = workbook.active
    sheet.auto_filter.ref = "A1:D4"
    sheet.auto_filter.filterColumn.append(FilterColumn(colId=3, filters=Filters(filter=["patient"])))
    sheet.row_dimensions[3].hidden = True  # what Excel does for S2
    _, _, problems = read(save(workbook, tmp_path))
    assert where(problems) == [(3, "", "hidden_row")]
    assert problems[0].rule.startswith("is hidden by the worksheet's filter: clear the filter")
    sheet.auto_filter.filterColumn.clear()  # filter buttons without criteria: a row hidden by hand
    _, _, problems = read(save(workbook, tmp_path))
    assert problems[0].rule.startswith("is hidden in the spreadsheet: unhide it")
    # the filter of an Excel table (Insert > Table) rather than the worksheet's: the same advice
    from openpyxl.worksheet.filters import AutoFilter
    from openpyxl.worksheet.table import Table

    table = Table(displayName="Studies", ref="A1:D4")
    table.autoFilter = AutoFilter(ref="A1:D4", filterColumn=[FilterColumn(colId=3, filters=Filters(filter=["patient"]))])
    sheet.add_table(table)
    _, _, problems = read(save(workbook, tmp_path, "table.xlsx"))
    assert where(problems) == [(3, "", "hidden_row")]
    assert problems[0].rule.startswith("is hidden by the worksheet's filter: clear the filter")


def test_trailing_empty_and_blank_cells_of_a_workbook(tmp_path):
    workbook = workbook_with([["study_id", "r", "n", None, " "], ["S1", 0.3, 50, None, None], ["S2", 0.2, 60, "", " "]])
    sheet = workbook.active
    for row in range(4, 40):  # formatted but empty rows and columns, as a spreadsheet leaves them
        sheet.cell(row=row, column=8).number_format = "0.00"
        sheet.cell(row=row, column=1).value = "  "
    raw, clean, problems = read(save(workbook, tmp_path))
    assert problems == [] and list(raw.columns) == ["sheet_row", "study_id", "r", "n"]
    assert list(clean["study_id"]) == ["S1", "S2"]


def test_several_worksheets(tmp_path):
    workbook = workbook_with([["Codebook: one row per effect size"]], title="Read me")
    data = workbook.create_sheet("Data")
    for row in (["study_id", "r", "n"], ["S1", 0.3, 50], ["S2", 0.2, 60]):
        data.append(row)
    hidden = workbook.create_sheet("Old")
    hidden.append(["study_id", "r", "n"])
    hidden.sheet_state = "hidden"
    path = save(workbook, tmp_path)
    raw, clean, problems = read(path)
    assert problems == [] and list(clean["study_id"]) == ["S1", "S2"]
    assert any('worksheet "Data"' in note for note in raw.attrs["notes"])
    assert len(read(path, sheet_name="Old")[1]) == 0
    with pytest.raises(SheetError, match='no worksheet "data2".*did you mean "Data"'):
        read_sheet(path, sheet_name="data2")
    workbook.create_sheet("Data (2)").append(["Study_ID", "r", "n"])
    path = save(workbook, tmp_path, "two.xlsx")
    with pytest.raises(SheetError, match=r"4 worksheets .*Data, Data \(2\) have a study_id column.*sheet_name"):
        read_sheet(path)
    assert list(read(path, sheet_name="Data (2)")[0].columns) == ["sheet_row", "study_id", "r", "n"]


def test_other_spreadsheet_formats_are_named(tmp_path):
    with pytest.raises(SheetError, match="save it as .xlsx"):
        read_sheet(write_bytes(tmp_path, b"\xd0\xcf\x11\xe0", "sheet.xls"))


def test_cli_takes_the_worksheet_and_the_decimal_separator(tmp_path):
    workbook = workbook_with([["notes"]], title="Notes")
    workbook.create_sheet("Main").append(["study_id", "r", "n"])
    workbook["Main"].append(["S1", "0,3", 50])
    path = save(workbook, tmp_path)
    result = subprocess.run([sys.executable, "-m", "alliance_meta.inputs.sheet", str(path), "--sheet-name", "Main",
                             "--decimal", ","], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 effect sizes from 1 studies" in result.stdout
    result = subprocess.run([sys.executable, "-m", "alliance_meta.inputs.sheet", str(path), "--sheet-name", "Mian"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1 and re.search(r'did you mean "Main"', result.stderr)
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------
# Through the workflow: the config's sheet_name and decimal reach the reader
# ---------------------------------------------------------------------------

def test_workflow_reads_a_german_csv_and_a_chosen_worksheet(tmp_path):
    import pandas as pd
    import yaml
    from test_workflow import snakemake, tiny_sheet

    sheet = tiny_sheet()
    german = tmp_path / "german"
    (german / "data" / "raw").mkdir(parents=True)
    csv_path = german / "data" / "raw" / "studies.csv"
    csv_path.write_bytes(sheet.to_csv(index=False, sep=";", decimal=",").encode("cp1252"))
    before = fingerprint(csv_path)
    snakemake(german, "data/processed/sheet.csv")
    assert fingerprint(csv_path) == before
    read_back = pd.read_csv(german / "data" / "processed" / "sheet.csv")
    assert list(read_back["r"].dropna()) == list(sheet["r"].dropna())
    assert list(read_back["d"].dropna()) == list(sheet["d"].dropna())
    assert "decimal commas read" in (german / "logs" / "validate_sheet.log").read_text()

    workbook = workbook_with([["study_id", "r", "n"], ["OLD", 0.9, 10]], title="Old")
    current = workbook.create_sheet("Studies")
    current.append(list(sheet.columns))
    for row in sheet.itertuples(index=False):
        current.append([None if pd.isna(value) else value for value in row])
    excel = tmp_path / "excel"
    (excel / "data" / "raw").mkdir(parents=True)
    (excel / "config").mkdir()
    xlsx_path = save(workbook, excel / "data" / "raw", "studies.xlsx")
    (excel / "config" / "config.yaml").write_text(yaml.safe_dump({"sheet": "data/raw/studies.xlsx"}))
    result = snakemake(excel, "data/processed/sheet.csv", check=False)
    assert result.returncode != 0 and "set sheet_name" in (excel / "logs" / "validate_sheet.log").read_text()
    (excel / "config" / "config.yaml").write_text(yaml.safe_dump({"sheet": "data/raw/studies.xlsx",
                                                                  "sheet_name": "Studies"}))
    before = fingerprint(xlsx_path)
    snakemake(excel, "data/processed/sheet.csv")
    assert fingerprint(xlsx_path) == before
    assert list(pd.read_csv(excel / "data" / "processed" / "sheet.csv")["study_id"]) == list(sheet["study_id"])


def test_a_title_above_the_header_names_the_header_row(tmp_path):
    workbook = workbook_with([["Alliance coding sheet (SIMULATED)"], ["study_id", "r", "n"], ["S1", 0.3, 50]])
    _, _, problems = read(save(workbook, tmp_path))
    assert where(problems) == [(1, "", "header_below")]  # study_id is not missing, only lower down
    assert problems[0].rule == "the column names must be row 1, but row 2 has study_id: delete the row above it"
    csv_path = write_bytes(tmp_path, b"Alliance coding sheet\n\nstudy_id,r,n\nS1,0.3,50\n")
    assert read(csv_path)[2][0].rule.endswith("row 3 has study_id: delete the 2 rows above it")
    # no unnamed-column problems for the cells below the title: the header is lower down
    assert not any(p.check == "unnamed_column" for p in problems)


def test_a_title_merged_over_the_header_is_the_one_problem(tmp_path):
    """A title merged across A1:G1 above the header gave 11 problems: six "has no name of its own: header
    cell A1:G1 is merged", four missing columns (study_id, the config's moderators), and last the one fix,
    "delete the row above it". The others are consequences of it: they go once the header is row 1."""
    header = ["study_id", "authors", "year", "r", "n", "modality", "rater"]
    workbook = workbook_with([["Alliance-outcome review: coding sheet v3"], header,
                              ["S1", "Adams", 2001, 0.25, 60, "CBT", "patient"],
                              ["S2", "Baker", 2005, "#N/A", 120, "CBT", "patient"]])
    workbook.active.merge_cells("A1:G1")
    raw = read_sheet(save(workbook, tmp_path))
    _, problems = validate_sheet(raw, moderators=["modality", "rater"], continuous_moderators=["year"],
                                 meta_regression=["modality + rater"])
    assert [(p.row, p.column, p.value, p.rule) for p in problems] == [
        (1, "", "", "the column names must be row 1, but row 2 has study_id: delete the row above it")]
    workbook.active.unmerge_cells("A1:G1")
    workbook.active.delete_rows(1)  # the fix it asks for: the other problems are named from the right header
    _, problems = validate_sheet(read_sheet(save(workbook, tmp_path, "fixed.xlsx")), moderators=["modality", "rater"])
    assert where(problems) == [(3, "r", "excel_error")]


def test_codebook_columns_with_spaces_or_hyphens_between_words(tmp_path):
    path = write_bytes(tmp_path, b"Study ID,ES-ID,R,N,Rater ,Treatment Modality\nS1,S1-1,0.3,50,patient,CBT\n")
    raw, clean, problems = read(path)
    assert problems == []
    assert list(raw.columns[1:]) == ["study_id", "es_id", "r", "n", "rater", "Treatment Modality"]  # free columns as written
    workbook = workbook_with([["Notes"], ["coded 2026"]], title="Readme")  # the worksheet with "Study ID" is chosen
    data = workbook.create_sheet("Data")
    for row in (["Study ID", "r", "n"], ["S1", 0.3, 50]):
        data.append(row)
    raw, _, problems = read(save(workbook, tmp_path))
    assert problems == [] and raw["study_id"].tolist() == ["S1"]


def test_decimal_commas_leave_numbers_an_xlsx_stores_as_numbers_alone(tmp_path):
    """Under decimal: "," only cells written as text are read with decimal commas. A number the
    workbook stores as a number (log_or 0.971, n 10000) has no separator to read: it was reported
    as an ambiguous point ('write "0971" if the point separates thousands')."""
    workbook = workbook_with([["study_id", "r", "n", "log_or", "log_or_se", "family"],
                              ["S1", "0,35", 10000, None, None, None],
                              ["S2", None, None, 0.971, 0.386, "dropout"],
                              ["S3", "0,2", "1.500", None, None, None]])
    raw, clean, problems = read(save(workbook, tmp_path), decimal=",")
    assert [(p.row, p.column, p.value) for p in problems if p.check == "ambiguous_point"] == [(4, "n", "1.500")]
    assert raw["log_or"].tolist()[1] == "0.971" and raw["n"].tolist()[0] == "10000"
    assert raw["r"].tolist()[::2] == ["0.35", "0.2"]


def test_a_problem_of_a_number_read_with_a_decimal_comma_shows_the_cell_as_written(tmp_path):
    """n typed as 1.234,5 is read as 1234.5: its problem names the cell as the sheet has it (the reviewer
    searches the sheet for that text), and an .xlsx read with decimal commas gets the note a CSV gets."""
    path = write_bytes(tmp_path, b'study_id,r,n\nS1,"0,35","1.234,5"\nS2,"0,2",50\n')
    raw, clean, problems = read(path, decimal=",")
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [(2, "n", "1.234,5", "whole_number")]
    assert clean["n"].tolist()[1] == 50 and raw.attrs["as_written"] == {(2, "r"): "0,35", (3, "r"): "0,2",
                                                                         (2, "n"): "1.234,5"}
    # shared, not copied, by the deep copy of attrs pandas makes in every operation (one entry per number)
    assert raw.iloc[:1].attrs["as_written"] is raw.attrs["as_written"]
    workbook = workbook_with([["study_id", "r", "n"], ["S1", "0,35", 50], ["S2", 0.2, 60]])
    raw = read_sheet(save(workbook, tmp_path), decimal=",")
    assert raw.attrs["notes"] == ["decimal commas read as decimal points in 1 text cell(s) (decimal: ,)"]
    assert read_sheet(save(workbook, tmp_path, "other.xlsx")).attrs["notes"] == []  # decimal auto: points only


def test_a_point_after_a_leading_zero_is_a_decimal_point_in_a_decimal_comma_sheet(tmp_path):
    """0.971 in a semicolon CSV has no reading with a point between thousands (no number is written
    with a leading zero group): it was a problem suggesting "0971"."""
    path = write_bytes(tmp_path, "study_id;family;log_or;log_or_se;n\nA;dropout;0.971;0,386;\nB;;;;-0.500\n"
                       "C;outcome;;;10.000\n".encode())
    raw, _, problems = read(path)
    assert [(p.row, p.column, p.value) for p in problems if p.check == "ambiguous_point"] == [(4, "n", "10.000")]
    assert raw["log_or"].tolist()[0] == "0.971" and raw["log_or_se"].tolist()[0] == "0.386"


def test_row_names_written_by_r_are_named_as_such(tmp_path):
    """R's write.csv writes the row names 1, 2, ... as a first column with an empty header: the problem
    says so instead of only asking to name the column."""
    path = write_bytes(tmp_path, b'"","study_id","r","n"\n"1","A",0.3,50\n"2","B",0.2,40\n"3","C",NA,NA\n')
    _, _, problems = read(path)
    assert [(p.row, p.column, p.check) for p in problems if p.check == "unnamed_column"] == [(1, "A", "unnamed_column")]
    rule = next(p.rule for p in problems if p.check == "unnamed_column")
    assert rule.endswith("(rows 2, 3, 4): it numbers the rows 1, 2, ..., as the row names R's write.csv writes: "
                         "delete the column (write.csv(..., row.names = FALSE) leaves it out)")
    other = write_bytes(tmp_path, b',study_id,r,n\nx,A,0.3,50\n,B,0.2,40\n', "other.csv")
    assert next(p.rule for p in read(other)[2] if p.check == "unnamed_column").endswith(
        "name the column, or delete its cells")


def test_ids_that_look_alike_are_one_study_whatever_invisible_characters_they_carry(tmp_path):
    """A zero-width space after S4, or an O with a combining diaeresis, made another study (151 instead of 150),
    pooled as an independent sample, without a note."""
    decomposed = unicodedata.normalize("NFD", "S\u00d61")
    path = write_bytes(tmp_path, (f"study_id,r,n,rater\nS4\u200b,0.3,40,patient\nS4,0.2,50,patient\u200b\n"
                                  f"{decomposed},0.1,30,patient\nS\u00d61,0.2,30,patient\n").encode())
    raw, clean, problems = read(path)
    assert problems == [] and clean["study_id"].tolist() == ["S4", "S4", "S\u00d61", "S\u00d61"]
    assert clean["rater"].tolist() == ["patient"] * 4
    assert [note for note in raw.attrs["notes"] if note.startswith("invisible")] == [
        "invisible characters (zero-width spaces, direction marks, byte-order marks) removed and accents composed "
        "(Unicode NFC) in 3 cell(s) of column(s) study_id, rater (rows 2, 3, 4): two spellings of one study_id or "
        "category that look alike are one"]


def test_a_second_header_row_of_notes_is_one_problem(tmp_path):
    """Notes under the column names were 50 cell problems, some suggesting to turn a note into data."""
    header = ["study_id", "es_id", "family", "r", "n", "rater", "modality", "year"]
    notes = ["notes on study_id", "(es_id)", "(family)", "e.g. 0.35", "sample size", "(rater)", "(modality)", "(year)"]
    workbook = workbook_with([header, notes, ["S1", "S1-1", "outcome", 0.3, 40, "patient", "CBT", 2001],
                              ["S2", "S2-1", "outcome", 0.2, "forty", "patient", "CBT", 2003]])
    _, _, problems = read(save(workbook, tmp_path))
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "", "second_header"), (4, "n", "number")]
    assert problems[0].rule.startswith('looks like a second header row, notes under the column names (study_id '
                                       '"notes on study_id", es_id "(es_id)", family "(family)", ...) rather than a '
                                       'study: ')
    # a study row with a few wrong cells stays a study row, each cell its own problem
    workbook = workbook_with([header, ["S1", "S1-1", "outcome", 0.3, "forty", "Patient?", "CBT", "2001a"]])
    assert {p.check for p in read(save(workbook, tmp_path, "study.xlsx"))[2]} != {"second_header"}


def test_a_header_repeated_below_is_one_problem_and_its_cells_are_not_checked(tmp_path):
    """Two blocks of rows pasted one under the other, each with its column names (as Excel writes them: "Study ID",
    "N"): the repeated header was twelve cell problems, among them 'value "n1": write "1"'. It is one problem of the
    row now, in a workbook and a CSV; a study row with a cell that happens to be its column's name stays a study."""
    header = ["Study ID", "r", "N", "n1", "n2", "d", "Rater", "year"]
    rows = [header, ["S1", 0.3, 40, None, None, None, "patient", 2001], header,
            ["S2", None, None, 20, 25, 0.4, "therapist", 2003], ["S3", 0.2, 50, None, None, None, "rater", 2005]]
    csv = tmp_path / "pasted.csv"
    csv.write_text("\n".join(",".join("" if cell is None else str(cell) for cell in row) for row in rows) + "\n")
    for path in (save(workbook_with(rows), tmp_path), csv):
        _, _, problems = read(path)
        assert where(problems) == [(3, "", "repeated_header"), (5, "rater", "vocabulary")]
        assert problems[0].rule == ("repeats the header row (a block of rows pasted with its column names, or two "
                                    "sheets joined): delete the row")


def test_many_decimal_commas_in_a_sheet_read_with_points_get_one_hint_to_set_decimal(tmp_path):
    """A tab-separated "Text (Tab delimited)" export of a German Excel (Windows-1252) whose numbers have both marks
    (one pasted from another sheet with a point; with decimal commas alone it is read with them:
    tests/test_sheet_odd_cells.py): one problem per cell and no word of decimal."""
    path = write_bytes(tmp_path, "study_id\tr\tn\trxx\nS1\t0,35\t50\t0,8\nS2\t0,2\t60\t0,9\nS3\t0.1\t70\t\n"
                       .encode("cp1252"), "tabbed.txt")
    _, _, problems = read(path)
    assert len(problems) == 4
    assert format_problems(problems).splitlines()[1] == (
        '4 of them are numbers written with a decimal comma: set decimal: "," in config/config.yaml to read every '
        "decimal comma of the sheet as a decimal point")
    assert problems == read(path, decimal=",")[2] + problems and not read(path, decimal=",")[2]


def test_a_title_above_the_header_of_a_workbook_with_a_codebook_sheet_is_named(tmp_path):
    """With the template's second worksheet, a title row above the header gave "no worksheet has study_id in
    row 1; set sheet_name", which does not say what is wrong; with one worksheet it said "delete the row above"."""
    workbook = workbook_with([["My review, coded 2026"], ["study_id", "r", "n"], ["S1", 0.3, 40]], title="studies")
    workbook.create_sheet("codebook").append(["column", "rule"])
    raw, _, problems = read(save(workbook, tmp_path))
    assert any(note.startswith('worksheet "studies" read') for note in raw.attrs["notes"])
    assert [p.rule for p in problems if p.check == "header_below"] == [
        "the column names must be row 1, but row 2 has study_id: delete the row above it"]
    workbook.create_sheet("copy").append(["title"])
    workbook["copy"].append(["study_id", "r", "n"])  # two worksheets with study_id lower down: ask for sheet_name
    with pytest.raises(SheetError, match="set sheet_name"):
        read_sheet(save(workbook, tmp_path, "two.xlsx"))


def test_decimal_commas_without_quotes_in_a_comma_separated_csv_are_named_as_the_cause(tmp_path):
    """0,43 written without quotes in a comma-separated file is two cells (r = 0, n = 43, and 120 past the
    header): the problem says why, instead of "delete its cells", which would leave r = 0 and n = 43."""
    text = "study_id,authors,year,r,n\nS1,A,2001,0,43,120\nS2,B,2002,0.21,80\nS3,C,2003,-0,05,60\n"
    _, _, problems = read(write_bytes(tmp_path, text.encode()))
    assert where(problems) == [(1, "F", "unnamed_column")]
    assert "holds data (rows 2, 4): the header line ends before this column: a comma or semicolon inside a " \
           "cell without double quotes around it (a decimal comma as in 0,43" in problems[0].rule
    assert "delete its cells" not in problems[0].rule
    # a header cell left empty ("n," ends the header line with an empty name): the column has no name, as before
    _, _, problems = read(write_bytes(tmp_path, b"study_id,r,n,\nS1,0.3,50,x\n", "named.csv"))
    assert problems[0].rule.endswith("holds data (row 2): name the column, or delete its cells")


def test_excel_separator_line_of_a_csv_with_carriage_returns_alone(tmp_path):
    """Excel for Mac's "CSV (Macintosh)" ends lines with a carriage return alone: its sep= line is still not a
    row (it was taken as a title above the header: "delete the row above it")."""
    path = write_bytes(tmp_path, b"sep=;\rstudy_id;r;n\rS1;0,3;50\rS2;-0,2;60\r")
    _, clean, problems = read(path)
    assert problems == []
    assert list(clean["study_id"]) == ["S1", "S2"] and list(clean["r"]) == [0.3, -0.2]
    assert list(clean["sheet_row"]) == [2, 3]


def test_a_point_in_a_semicolon_csv_read_with_decimal_commas_by_default_names_the_setting_for_points(tmp_path):
    """A semicolon-separated CSV of decimal points (Excel in a Swiss locale): decimal: auto reads it with
    decimal commas, so 2.345 is ambiguous; the problem says how to read the sheet's points, not only how to
    rewrite the cell with a comma."""
    text = "study_id;t;df;d;n1;n2;family\nS1;2.345;48;;;;outcome\nS2;;;0.512;20;25;dropout\n"
    _, _, problems = read(write_bytes(tmp_path, text.encode()))
    assert where(problems) == [(2, "t", "ambiguous_point")]
    assert problems[0].rule.endswith('(the sheet is read with decimal commas as it is semicolon-separated: set '
                                     'decimal: "." in the config if it writes decimal points)')
    _, clean, problems = read(tmp_path / "sheet.csv", decimal=".")
    assert problems == [] and list(clean["t"].dropna()) == [2.345]
    # decimal: "," chosen in the config: the sheet's commas are meant, no such hint
    _, _, problems = read(tmp_path / "sheet.csv", decimal=",")
    assert "semicolon-separated" not in problems[0].rule


def test_a_workbook_whose_only_sheet_with_study_id_is_hidden_names_it(tmp_path):
    """The data worksheet hidden behind a visible notes sheet: "none has a study_id column" named no sheet to read."""
    workbook = workbook_with([["Read me first"]], title="Notes")
    data = workbook.create_sheet("Data")
    for row in (["study_id", "r", "n"], ["S1", 0.3, 50]):
        data.append(row)
    data.sheet_state = "hidden"
    path = save(workbook, tmp_path)
    with pytest.raises(SheetError, match=r"2 worksheets \(Notes, Data\) and none has a study_id column in row 1 but "
                                         r"the hidden worksheet Data; unhide it, or set sheet_name"):
        read_sheet(path)
    assert read(path, sheet_name="Data")[2] == []


def test_a_repeated_column_name_in_a_workbook_and_the_problems_of_its_other_column(tmp_path):
    """Study ID in A and a hidden copy study_id in D: one problem names both columns, and the hidden column's
    problem names E, not study_id (the name of the column that is read)."""
    workbook = workbook_with([["Study ID", "r", "n", "study_id"], ["S1", 0.3, 50, "S1"], ["S2", 0.2, "n=60", "S2"]])
    workbook.active.column_dimensions["D"].hidden = True
    _, _, problems = read(save(workbook, tmp_path))
    assert sorted(where(problems)) == [(1, "D", "hidden_column"), (1, "study_id", "duplicate_column"),
                                       (3, "n", "number")]
    assert 'A ("Study ID"), D ("study_id")' in next(p.rule for p in problems if p.check == "duplicate_column")


def test_two_hidden_worksheets_with_study_id_are_not_called_it(tmp_path):
    """Two hidden data worksheets: "the hidden worksheets Data1, Data2; unhide it" named no sheet to unhide."""
    workbook = workbook_with([["Read me first"]], title="Notes")
    for title in ("Data1", "Data2"):
        data = workbook.create_sheet(title)
        data.append(["study_id", "r", "n"])
        data.sheet_state = "hidden"
    with pytest.raises(SheetError, match=r"but the hidden worksheets Data1, Data2; unhide the one to read, or set "):
        read_sheet(save(workbook, tmp_path))


def test_a_csv_row_with_a_cell_left_out_is_named_with_the_shift_it_causes(tmp_path):
    """A living review's new row pasted without its family cell (one comma fewer) moved d, n1, n2 and rater one column
    left: the problems named n = 0.41 and n2 = observer, and nothing said the row was a cell short. A row with fewer
    cells than the header line (while other rows have them all) is a note naming it; rows as long as the header, or
    a sheet whose every row ends early, are not."""
    header = "study_id,authors,year,family,r,n,d,n1,n2,rater\n"
    full = "S1,A,2001,outcome,0.3,80,,,,patient\nD1,B,2002,dropout,,,0.3,40,40,patient\n"
    raw, _, problems = read(write_bytes(tmp_path, (header + full + "D2,C,2024,,,0.41,70,30,observer\n").encode()))
    assert ("row 4 has 9 cells where the header line has 10: if a cell was left out (a delimiter deleted, a row pasted "
            "from a sheet with a column fewer), every cell after it is in the column to its left; check the row's "
            "values against the header") in raw.attrs["notes"]
    assert {p.row for p in problems} == {4}
    raw, _, _ = read(write_bytes(tmp_path, (header + full).encode(), "full.csv"))
    assert not [note for note in raw.attrs["notes"] if "cells where the header" in note]
    raw, _, _ = read(write_bytes(tmp_path, b"study_id,r,n,rater\nS1,0.3,80\nS2,0.2,90\n", "trimmed.csv"))
    assert not [note for note in raw.attrs["notes"] if "cells where the header" in note]


def test_a_column_named_as_one_the_pipeline_computes_is_a_problem_not_a_traceback(tmp_path):
    """A sheet with a sheet_row column (data/processed/sheet.csv opened, edited and saved as the sheet) stopped with
    'ValueError: cannot insert sheet_row, already exists'; yi, vi (metafor's escalc) or a moderator called metric were
    replaced by the computed columns without a word. Each is a problem of the header, with the others of the sheet."""
    path = write_bytes(tmp_path, b"sheet_row,study_id,r,n,yi,vi,metric\n2,S1,0.3,50,0.31,0.02,BDI\n3,S2,,,0.2,0.01,"
                                 b"BDI\n")
    _, clean, problems = read(path)
    assert where(problems) == [(1, "yi", "computed_column"), (1, "vi", "computed_column"),
                               (1, "metric", "computed_column"), (1, "sheet_row", "computed_column"),
                               (3, "", "no_complete_input")]
    assert problems[0].rule == (
        'is the name of a column the pipeline computes (data/processed/effect_sizes.csv), which would replace this '
        'one\'s cells: rename it (e.g. "reported_yi") or delete it; the pipeline computes yi and vi from the statistic '
        "each row reports (e.g. r and n; a Fisher z: fisher_z and n; input kinds: config/README.md)")
    result = subprocess.run([sys.executable, "-m", "alliance_meta.inputs.sheet", str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    assert 'row 1, column sheet_row: is the name of a column the pipeline computes' in result.stdout


def test_a_sheet_read_as_windows_1252_says_so_with_a_name_to_check(tmp_path):
    """Bytes do not say their code page: Windows-1250's "Łukasz" reads as Windows-1252's "£ukasz" without an error,
    so the note names the code page and the first cell beyond ASCII; a UTF-8 sheet (or one of ASCII only) has none."""
    text = "study_id;authors;r;n\r\nS1;Smith;0,3;50\r\nS2;\u0141ukasz;0,2;60\r\n"
    raw, clean, _ = read(write_bytes(tmp_path, text.encode("cp1250")))
    assert clean["authors"].tolist() == ["Smith", "\u00a3ukasz"]  # what the bytes give in Windows-1252
    assert ('not UTF-8: read as Windows-1252 (Western European), e.g. "\u00a3ukasz" ("\u00a3": U+00A3 POUND SIGN) on '
            'row 3; if its letters look wrong, save the sheet as "CSV UTF-8" and run again') in raw.attrs["notes"]
    for data in (text.encode("utf-8"), text.encode("utf-8-sig"), text.replace("\u0141", "L").encode("cp1252")):
        raw, clean, _ = read(write_bytes(tmp_path, data))
        assert not any("UTF-8" in note for note in raw.attrs["notes"])


def test_the_code_page_note_quotes_a_cell_that_shows_what_to_check(tmp_path):
    """The note quoted the first cell beyond ASCII as it was: "M\u00fcller" on row 2 (which reads right) in a file whose
    row 3, pasted from a UTF-8 file, reads "\u00c5\\x81ukasz M\u00c3\u00bcller"; "0.3\u00a0" (a no-break space that
    shows nothing); an invisible \\x81; a line break into the log; a 300-character cell in full. Now: a cell holding
    UTF-8 bytes first (the file then mixes two code pages), else a letter before any other character, that
    character named, escapes for what shows nothing, at most 40 characters of the cell."""
    def note(data: bytes) -> str:
        [found] = [note for note in read(write_bytes(tmp_path, data))[0].attrs["notes"] if "UTF-8" in note]
        return found

    header = "study_id,authors,r,n\r\n"
    mixed = (header + "S1,M\u00fcller,0.3,50\r\n").encode("cp1252") + "S2,\u0141ukasz M\u00fcller,0.2,60\r\n".encode()
    assert note(mixed) == ('the file mixes UTF-8 and another code page (rows pasted from another file?): read as '
                           'Latin-1, "\u00c5\\x81ukasz M\u00c3\u00bcller" ("\u00c5": U+00C5 LATIN CAPITAL LETTER A '
                           'WITH RING ABOVE) on row 3 holds UTF-8 bytes; correct the cells that read wrong and save '
                           'the sheet again as "CSV UTF-8"')
    spaced = note((header + "S1,Smith,0.3\u00a0,50\r\nS2,Sch\u00f6n,0.2,60\r\n").encode("cp1252"))
    assert '"Sch\u00f6n" ("\u00f6": U+00F6 LATIN SMALL LETTER O WITH DIAERESIS) on row 3' in spaced  # the letter
    assert '"0.3\\xa0" ("\\xa0": U+00A0 NO-BREAK SPACE) on row 2' in note((header + "S1,Smith,0.3\u00a0,50\r\n").encode(
        "cp1252"))
    assert '"Ab\\x81c" ("\\x81": U+0081) on row 2;' in note(header.encode() + b"S1,Ab\x81c,0.3,50\r\n")
    assert '"Smith\\nJon\u00e9s" (' in note((header + 'S1,"Smith\nJon\u00e9s",0.3,50\r\n').encode("cp1252"))
    long = note((header + "S1," + "x" * 200 + "\u00e9" + "y" * 100 + ",0.3,50\r\n").encode("cp1252"))
    assert f'"\u2026{"x" * 20}\u00e9{"y" * 19}\u2026" (' in long


def test_a_windows_1252_cell_that_is_valid_utf_8_by_chance_is_no_mixed_file(tmp_path):
    """"Strau\u00df\\xa0et al." in Windows-1252 holds bytes DF A0, valid UTF-8 (N'Ko U+07E0, between Latin
    letters): the note said the file mixes UTF-8 and another code page. UTF-8 bytes count only as a letter of the
    script beside them: a pasted Cyrillic name (each letter two bytes, beside another) still makes a mixed file."""
    def notes(data: bytes) -> list[str]:
        return [note for note in read(write_bytes(tmp_path, data))[0].attrs["notes"] if "UTF-8" in note]

    header = "study_id,authors,r,n\r\n"
    pure = (header + "S1,Strau\u00df\u00a0et al.,0.3,50\r\nS2,M\u00fcller,0.2,40\r\n").encode("cp1252")
    assert notes(pure) == ['not UTF-8: read as Windows-1252 (Western European), e.g. "Strau\u00df\\xa0et al." '
                           '("\u00df": U+00DF LATIN SMALL LETTER SHARP S) on row 2; if its letters look wrong, '
                           'save the sheet as "CSV UTF-8" and run again']
    cyrillic = ((header + "S1,M\u00fcller,0.3,50\r\n").encode("cp1252")
                + "S2,\u0418\u0432\u0430\u043d\u043e\u0432,0.2,40\r\n".encode())
    [mixed] = notes(cyrillic)
    assert mixed.startswith("the file mixes UTF-8 and another code page") and " on row 3 holds UTF-8 bytes" in mixed
