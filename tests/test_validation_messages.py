"""Cells as reviewers paste them: what validation says of each (row, column, value, rule), and what it reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alliance_meta.bayes.summaries import summarise_draws
from alliance_meta.inputs.sheet import format_problems, read_sheet, validate_sheet


def checked(folder: Path, data: str | bytes, **options):
    path = folder / "sheet.csv"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    raw = read_sheet(path, **options)
    clean, problems = validate_sheet(raw)
    return raw, clean, problems


def test_a_df_of_f_with_more_than_one_numerator_df_written_with_a_comma_offers_both_readings(tmp_path):
    """"2,40" in df of a sheet of decimal points was told only 'write "2.40"': it may be F(2, 40)'s two df, and an F
    with 2 numerator df converts to no correlation (no error df to suggest), or a Welch df of 2.40 (n = 4.4)."""
    _, _, problems = checked(tmp_path, 'study_id,f,df,direction\nS1,4.2,"2,40",positive\nS2,4.2,"1,48",positive\n'
                                       'S3,0.3,"2,5",positive\n')
    two = next(p for p in problems if p.row == 2)
    assert (two.column, two.value, two.check) == ("df", "2,40", "number")
    assert two.rule.startswith("holds F(2, 40)'s two degrees of freedom or, with a decimal comma, a Welch t's df of "
                               '2.40: if it is t(2.40), write "2.40"; if F(2, 40), an F with 2 numerator df compares '
                               "more than two groups")
    assert "no study's" not in two.rule  # n = 4.4 is at least MINIMUM_N: a study's
    one = next(p for p in problems if p.row == 3)
    assert 'write the second, "48"' in one.rule
    welch = next(p for p in problems if p.row == 4 and p.column == "df")  # 2,5: a Welch df with a decimal comma
    assert 'write "2.5"' in welch.rule


def test_a_welch_df_written_with_a_comma_is_offered_as_a_df_not_only_as_f(tmp_path):
    """"9,75" in df of a sheet of decimal points (a Welch t's df, SPSS's 9.753 rounded, with a decimal comma) was told
    it holds F(9, 75) and that 9.75 'would be the df of 11.75 cases (n = df + 2), no study's': 11.75 cases are a
    study's (MINIMUM_N is 4), so both readings are offered, the df's first."""
    _, _, problems = checked(tmp_path, 'study_id,t,df,direction\nS1,2.1,"9,75",positive\nS2,2.1,"4,25",positive\n')
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [(2, "df", "9,75", "number"),
                                                                        (3, "df", "4,25", "number")]
    for problem, (df, numerator, error) in zip(problems, (("9.75", 9, 75), ("4.25", 4, 25))):
        assert f'if it is t({df}), write "{df}"; if F({numerator}, {error}), an F with' in problem.rule
        assert "no study's" not in problem.rule


def test_a_df_of_f_s_two_df_with_a_comma_is_no_silent_decimal_in_a_decimal_comma_sheet(tmp_path):
    """"2,40" or "9,75" in df of a semicolon sheet (decimal commas) was read as a df of 2.40 or 9.75 without a word,
    although it may as well be F(2, 40)'s or F(9, 75)'s two df pasted into one cell (a df of 2.40 is a study's: n =
    df + 2 = 4.4 is at least MINIMUM_N): both readings are offered, as in a sheet of decimal points; "48,5" is a
    decimal comma (a Welch df) and read."""
    raw, clean, problems = checked(tmp_path, "study_id;t;df\nS1;2,1;2,40\nS2;2,1;9,75\nS3;2,1;48,5\n")
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [(2, "df", "2,40", "number"),
                                                                        (3, "df", "9,75", "number")]
    for problem, (df, write, how, numerator, error) in zip(problems, (
            ("2,40", "2,4", "without its trailing zero", 2, 40), ("9,75", "9.75", "with a point", 9, 75))):
        # the df quoted with the sheet's decimal comma; the one to write in the shortest form df reads as meant
        assert problem.rule.startswith(f"holds F({numerator}, {error})'s two degrees of freedom or, with a decimal "
                                       f'comma, a Welch t\'s df of {df}: if it is t({df}), write "{write}" '
                                       f'({how}: "{df}" in df is taken for F\'s two df); if '
                                       f"F({numerator}, {error}), an F with {numerator} numerator df")
    assert str(problems[0]).startswith('row 2, column df, value "2,40": holds F(2, 40)')
    assert raw["df"].tolist() == ["2,40", "9,75", "48.5"]
    clean, problems = validate_sheet(read_sheet(_written(tmp_path, "study_id;t;df\nS1;2,1;2,4\nS2;2,1;9.75\n"
                                                                   "S3;2,1;2.40\nS4;2,1;48,5\n")))
    assert not problems and clean["df"].tolist() == [2.4, 9.75, 2.4, 48.5]  # written as the problem says: read


@pytest.mark.parametrize("minus", ["-", "\u2212"])
def test_a_unicode_minus_before_thousands_points_and_a_decimal_comma_is_read_as_a_hyphen_is(tmp_path, minus):
    """"\u22121.234,5" (a Unicode minus, points between thousands, a decimal comma) in a decimal-comma sheet was not
    a number although "-1.234,5" is read as -1234.5: it is read alike, with the note of the Unicode minus signs, and
    kept as written for the messages."""
    raw, clean, problems = checked(tmp_path, f"study_id;r;n;age_gap\nA;0,3;50;{minus}1.234,5\nB;0,2;40;2,5\n")
    assert problems == []
    assert raw["age_gap"].tolist() == ["-1234.5", "2.5"]
    assert raw.attrs["as_written"].get((2, "age_gap")) == f"{minus}1.234,5"
    assert any("Unicode minus" in note and "age_gap" in note for note in raw.attrs["notes"]) == (minus != "-")


def _written(folder: Path, text: str) -> Path:
    path = folder / "written.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_f_degrees_of_freedom_are_not_counted_as_decimal_commas(tmp_path):
    """Three F df pairs ("2,40") and a count with a thousands comma were counted as 'numbers written with a decimal
    comma', with the advice to set decimal: "," (which would read them as 2.4 and 1.2)."""
    rows = "".join(f'S{i},4.2,"{df}",positive,\n' for i, df in enumerate(("2,40", "3,60", "1,48")))
    rows += "".join(f'T{i},0.3,,,"1,2{i}0"\n' for i in range(3))
    _, _, problems = checked(tmp_path, "study_id,f,df,direction,n\n" + rows)
    assert "written with a decimal comma" not in format_problems(problems)


@pytest.mark.parametrize("decimal_comma", [False, True])
def test_a_unicode_minus_is_read_as_a_minus_in_every_numeric_column(tmp_path, decimal_comma):
    """"\u22120.2" (U+2212, as Word and PDFs paste it) was rejected with 'write "-0.2"': a number read unambiguously
    is read, in every numeric column, with a note; a problem shows the cell as written."""
    r, d = ("\u22120,2", "\u22120,4") if decimal_comma else ("\u22120.2", "\u22120.4")
    separator = ";" if decimal_comma else ","
    text = "\n".join(separator.join(row) for row in (
        ("study_id", "r", "n", "d", "n1", "n2", "age"), ("A", r, "50", "", "", "", "\u22121"),
        ("B", "", "", d, "20", "20", "30"), ("C", "0.1" if not decimal_comma else "0,1", "\u221250", "", "", "", "40")))
    raw, clean, problems = checked(tmp_path, text + "\n")
    assert clean.loc[0, "r"] == -0.2 and clean.loc[1, "d"] == -0.4
    assert raw["age"].tolist()[0] == "-1"  # a numeric column outside the codebook, alike
    # no n is negative: a dash before it, which the cell's problem leaves out of its suggestion
    [problem] = problems
    assert (problem.row, problem.column, problem.value, problem.check) == (4, "n", "\u221250", "number")
    assert 'write "50"' in problem.rule
    note = next(note for note in raw.attrs["notes"] if "Unicode minus" in note)
    assert "column(s) r, d, age (rows 2, 3)" in note


def test_a_unicode_minus_number_out_of_the_column_range_says_so(tmp_path):
    """"\u22121.5" in r (out of r's range, so not read) was told 'is not a number (decimal point, no text or units)',
    though it is one: the reviewer is told what it reads as and what the column takes ("-1.5" is told the same)."""
    _, _, problems = checked(tmp_path, "study_id,r,n,p\nS1,\u22121.5,50,\nS2,-1.5,50,\nS3,0.2,50,\u22120.5\n")
    unicode, ascii_minus, p_value = problems
    assert 'write "0.5"' in p_value.rule  # a dash before a number the column takes without it: that number
    assert (unicode.row, unicode.column, unicode.value, unicode.check) == (2, "r", "\u22121.5", "number")
    assert unicode.rule == ("reads as -1.5 (its Unicode minus, \u2212, as a minus sign), which the column does not "
                            "take: must lie strictly between -1 and 1")
    assert ascii_minus.rule == "must lie strictly between -1 and 1"


def test_a_workbook_note_counts_only_the_decimal_commas_it_read(tmp_path):
    """A workbook read with decimal commas said 'decimal commas read as decimal points in 3 text cell(s)' of one
    "0,2" and two Unicode minus signs ("\u22121", "\u22120.5"), which have no decimal comma: they have a note of
    their own."""
    import openpyxl

    workbook = openpyxl.Workbook()
    for row in (["study_id", "r", "n", "d", "n1", "n2"], ["A", "0,2", "50", None, None, None],
                ["B", None, None, "\u22121", 20, 20], ["C", None, None, "\u22120.5", 20, 20]):
        workbook.active.append(row)
    workbook.save(tmp_path / "sheet.xlsx")
    raw = read_sheet(tmp_path / "sheet.xlsx", decimal=",")
    assert raw.attrs["notes"] == [
        "Unicode minus signs (\u2212, as Word and PDFs paste them) read as minus signs in column(s) d (rows 3, 4)",
        "decimal commas read as decimal points in 1 text cell(s) (decimal: ,)"]
    assert raw["r"].tolist()[0] == "0.2" and raw["d"].tolist()[1:] == ["-1", "-0.5"]


def test_a_unicode_minus_in_a_text_column_is_left_as_written(tmp_path):
    raw, _, _ = checked(tmp_path, "study_id,r,n\n\u22121,0.3,50\n")
    assert raw["study_id"].tolist() == ["\u22121"]


def test_a_count_with_a_thousands_point_in_a_decimal_comma_sheet_is_asked_for_as_the_count(tmp_path):
    """n = "1.200" in a sheet of decimal commas offered '"1,200" if it is a decimal point': an n of 1.2 is none, so
    the cell is 1200; "10.000" (ten thousand, or an n of ten) keeps both readings."""
    _, _, problems = checked(tmp_path, "study_id;r;n\nA;0,2;1.200\nB;0,3;10.000\nC;0,1;55\n")
    found = {p.value: p for p in problems}
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "n", "ambiguous_point"), (3, "n", "ambiguous_point")]
    assert found["1.200"].rule == 'is 1200 written with a point between thousands (n = 1,2 is impossible): write "1200"'
    assert 'write "10000" if the point separates thousands, or "10,000" if it is a decimal point' in found["10.000"].rule


def test_a_negative_count_with_a_thousands_point_and_a_unicode_minus_is_a_problem_not_a_traceback(tmp_path):
    """n = "\u22121.200" in a sheet of decimal commas (its minus left as written: no n is negative) stopped reading the
    sheet with "could not convert string to float: '\u22121200'" while its message was being written; then it was
    told to write "\u22121200" or "\u22121,200", neither of which n takes: no reading is offered."""
    _, _, problems = checked(tmp_path, "study_id;r;n\nA;0,2;\u22121.200\nB;0,3;55\n")
    [problem] = [p for p in problems if p.check == "ambiguous_point"]
    assert (problem.row, problem.column, problem.value) == (2, "n", "\u22121.200")
    assert problem.rule.startswith("has a point in a sheet read with decimal commas, and the column takes neither "
                                   "reading: -1200 (the point between thousands) or -1,200 (a decimal point): ")
    assert 'write "' not in problem.rule


def test_many_cells_of_a_column_with_thousands_separators_or_percentages_get_a_column_line(tmp_path):
    """37 counts written "1,2xx" were 37 lines and, wrongly, '37 of them are numbers written with a decimal comma:
    set decimal: ","'; now one line says it of the column, ahead of the cells. A percentage in n is no n of 40."""
    rows = [f'S{i},0.{i % 9 + 1},"1,{200 + i}"' for i in range(37)] + [f"T{i},0.2,{40 + i}%" for i in range(3)]
    _, _, problems = checked(tmp_path, "study_id,r,n\n" + "\n".join(rows) + "\n")
    report = format_problems(problems, "sheet.csv").splitlines()
    assert report[1:3] == ['column n: 37 cells written with thousands separators, e.g. row 2 "1,200" (each listed '
                           'below)', 'column n: 3 cells written as percentages, e.g. row 39 "40%" (each listed below)']
    assert not any("decimal comma" in line for line in report)
    percent = next(p for p in problems if p.value == "40%")
    assert percent.rule == ("is a percentage, not a sample size: write the number of patients the effect size is "
                            "based on")
    few = format_problems([p for p in problems if p.row in (2, 3, 39)])  # two alike: no column line
    assert "column n:" not in few


def test_summarise_draws_of_unequal_shapes_names_the_variables():
    with pytest.raises(ValueError, match=r"one shape .* got mu \(4, 100\), tau \(4, 99\)"):
        summarise_draws({"mu": np.zeros((4, 100)), "tau": np.zeros((4, 99))})
    with pytest.raises(ValueError, match="at least one variable"):
        summarise_draws({})


def test_n_a_is_a_missing_value_like_na(tmp_path):
    """"n.a." (the European spelling of NA) in r was 'is not a number (decimal point, no text or units)', which
    says nothing of how to write a missing value; it is missing, as NA and N/A are."""
    raw, clean, problems = checked(tmp_path, "study_id,r,n,d,n1,n2,year\nS1,n.a.,50,0.3,20,20,N.A.\n"
                                             "S2,0.2,n. a.,,,,2001\n")
    assert clean["r"].isna().tolist() == [True, False] and clean["year"].isna().tolist() == [True, False]
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [(3, "n", "", "no_complete_input")]


def test_a_row_whose_input_is_in_a_column_without_a_name_says_so(tmp_path):
    """r in a column without a header name: each row was told 'has n = 50 but no effect size: fill e.g. r beside it',
    though its r was there; the row's problem now names the unnamed cell (row 1's problem names the column)."""
    _, _, problems = checked(tmp_path, "study_id,,n\nS1,0.3,50\nS2,0.2,60\n")
    assert [(p.row, p.column, p.check) for p in problems] == [
        (1, "B", "unnamed_column"), (2, "", "no_complete_input"), (3, "", "no_complete_input")]
    assert problems[1].rule.endswith('; the row has "0.3" in column B, a column without a name in row 1: if it holds '
                                     "an input (r, n, ...), name the column")
    _, _, named = checked(tmp_path, "study_id,r,n\nS1,,50\n")  # no such column: no such words
    assert "without a name" not in named[0].rule


@pytest.mark.parametrize("separator", [",", ";"])
def test_a_unicode_minus_before_thousands_points_a_decimal_comma_and_an_exponent_is_a_problem_not_a_traceback(
        tmp_path, separator):
    """"\u22121.234,5e2" matched the Unicode-minus number (its thousands points and decimal comma, then an exponent)
    but read as "-1.234.5e2", which float() refused: read_sheet raised ValueError in any sheet. It is a cell's
    problem, as before the thousands points were read."""
    quoted = '"\u22121.234,5e2"' if separator == "," else "\u22121.234,5e2"
    _, _, problems = checked(tmp_path, f"study_id{separator}r{separator}n\nA{separator}{quoted}{separator}50\n")
    assert [(p.row, p.column, p.value) for p in problems] == [(2, "r", "\u22121.234,5e2")]


def test_a_unicode_minus_before_thousands_points_and_a_decimal_comma_in_a_decimal_point_sheet_is_no_number(tmp_path):
    """In a sheet of decimal points "\u22121.234,5" is no number: it was read as a minus sign (with the note saying
    so) and, in r, told 'reads as -1.234 (its Unicode minus ...)', a reading the cell does not have."""
    raw, _, problems = checked(tmp_path, 'study_id,r,n,m1\nA,"\u22121.234,5",50,"\u22121.234,5"\n')
    assert not any("Unicode minus" in note for note in raw.attrs["notes"])
    r = next(p for p in problems if p.column == "r")
    assert "reads as -1.234 " not in r.rule and r.rule.startswith("is not a number")


@pytest.mark.parametrize("minus", ["-", "\u2212"])
def test_thousands_points_a_decimal_comma_and_an_exponent_are_told_what_they_are_in_a_decimal_comma_sheet(
        tmp_path, minus):
    """"\u22121.234,5e2" (a minus, points between thousands, a decimal comma, an exponent) in a sheet of decimal commas
    was told 'is not a number (decimal point, no text or units)', which is wrong advice in that sheet and says not what
    is wrong: it is told that points between thousands and an exponent are not read together, what it reads as
    without the points, and that to write, or the column's rule where the column does not take it; a continuous
    moderator outside the codebook alike (it was 'write "-1.234"')."""
    _, _, problems = checked(tmp_path, f"study_id;r;n;age;m1\nA;{minus}1.234,5e2;50;{minus}1.234,5e2;\n"
                                       "B;0,2;1.234,5e-1;30;1.234,5e2\n")
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [
        (2, "r", f"{minus}1.234,5e2", "grouped_exponent"), (2, "age", f"{minus}1.234,5e2", "grouped_exponent"),
        (3, "n", "1.234,5e-1", "grouped_exponent"), (3, "m1", "1.234,5e2", "grouped_exponent")]
    r, age, n, m1 = (p.rule for p in problems)
    told = "has both points between thousands and an exponent, which are not read together: without the points it is "
    assert r == (f'{told}"{minus}1234,5e2" (-123450), which the column does not take: must lie strictly between -1 '
                 "and 1")
    assert age == f'{told}"{minus}1234,5e2" (-123450): write "{minus}1234,5e2"'
    assert n.startswith(f'{told}"1234,5e-1" (123,45), which the column does not take: must be a whole number')
    assert m1 == f'{told}"1234,5e2" (123450): write "1234,5e2"'
    from alliance_meta.inputs.sheet import _grouped_exponent_message

    assert '"1234,567e0" (1234,567)' in _grouped_exponent_message("m1", "1.234,567e0")  # not rounded to 1234,57
    _, clean, written = checked(tmp_path, f"study_id;r;n;age;m1\nA;0,2;50;{minus}1234,5e2;1234,5e2\n")
    assert written == [] and clean.loc[0, "m1"] == 123450.0  # written as told: read


def test_a_date_a_csv_export_wrote_in_a_numeric_cell_is_named_a_date_not_given_its_digits(tmp_path):
    """A CSV writes a date as the spreadsheet shows it ("02.01.2024", "1/2/2024", "2-Jan", "Jan-48": Excel's dates of
    a typed 1.2 in a German locale, 1/2, 2-1, 1/48). Each was told 'is not a number; write "02.01"' (or "1", "2",
    "48"): digits of the date, not the value typed. A date is named so, in a continuous moderator too (a workbook's
    date there was told 'write "2024"')."""
    rows = [("S1", "02.01.2024", "", "30"), ("S2", "1/2/2024", "", "30"), ("S3", "2-Jan", "", "30"),
            ("S4", "50", "Jan-48", "30"), ("S5", "50", "2024-01-02 00:00:00", "2024-01-02T00:00:00"),
            ("S6", "50", "48", "Mar-45")]
    text = "study_id,r,n,t,df,direction,age\n" + "".join(
        f"{study},{'0.3' if not df else ''},{n},{'2.1' if df else ''},{df},{'positive' if df else ''},{age}\n"
        for study, n, df, age in rows)
    path = tmp_path / "sheet.csv"
    path.write_text(text, encoding="utf-8")
    _, problems = validate_sheet(read_sheet(path), continuous_moderators=["age"])
    assert [(p.row, p.column, p.value) for p in problems] == [
        (2, "n", "02.01.2024"), (3, "n", "1/2/2024"), (4, "n", "2-Jan"), (5, "df", "Jan-48"),
        (6, "df", "2024-01-02 00:00:00"), (6, "age", "2024-01-02T00:00:00"), (7, "age", "Mar-45")]
    date = ("is a date, not a number: the cell is formatted as a date in the spreadsheet (Excel also turns a typed "
            "1/48 or 3-4 into one); format it as a number and type the value")
    assert [p.rule for p in problems if p.column != "age"] == [date] * 5
    assert [p.rule for p in problems if p.column == "age"] == [
        f"is a continuous moderator (continuous_moderators in the config) but {date}"] * 2


def test_question_marks_and_not_reported_are_told_how_to_write_a_missing_value_in_every_kind_of_cell(tmp_path):
    """"?" in r was 'is not a number (decimal point, no text or units)'; "not reported" in rater 'did you mean
    "patient"?', and a rater column of "?", "not reported" and "NR" was called a column of the reviewer's own; an age
    (a continuous moderator) of dashes and "?" a column of categories. Each cell now says how to write a value the study
    does not report; a study_id of "?" or a dash (rows sharing it were one study) is a problem, and no empty study_id
    below one is told to copy it."""
    text = ("study_id,r,n,rater,age\nS1,?,50,?,\u2013\nS2,0.2,?,not reported,?\nS3,0.3,40,NR,not reported\n"
            "?,0.1,45,patient,30\n,0.1,46,patient,31\n\u2013,0.2,47,patient,32\n")
    path = tmp_path / "sheet.csv"
    path.write_text(text, encoding="utf-8")
    _, problems = validate_sheet(read_sheet(path), moderators=["rater"], continuous_moderators=["age"])
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [
        (2, "r", "?", "number"), (2, "rater", "?", "vocabulary"), (2, "age", "\u2013", "moderator_number"),
        (3, "n", "?", "number"), (3, "rater", "not reported", "vocabulary"), (3, "age", "?", "moderator_number"),
        (4, "rater", "NR", "vocabulary"), (4, "age", "not reported", "moderator_number"),
        (5, "study_id", "?", "study_id_placeholder"), (6, "study_id", "", "not_nullable"),
        (7, "study_id", "\u2013", "study_id_placeholder")]
    missing = 'a dash, "?" or "not reported" is not read as missing; leave the cell empty (or write NA) when the study'
    assert all(missing in p.rule for p in problems if p.column in ("r", "n", "rater", "age"))
    assert not any("did you mean" in p.rule for p in problems)
    assert problems[-1].rule.startswith('is no study id: a dash, "?" or "not reported" names no study, and the rows '
                                        "that have it would be analysed as one study")
    assert problems[-2].rule == "is required on every row (the study the effect size comes from)"


@pytest.mark.parametrize("written, suggested", [("1.234,5", "1234.5"), ("1,234.5", "1234.5"),
                                                ("\u22121.234,5e2", "-1234.5e2"), ("1.234.567,8", "1234567.8"),
                                                ("12,345,678.9", "12345678.9"),
                                                # two numbers in one cell (a CI), not thousands: no one number
                                                # is offered (the first was, as "1.2,3" was offered "1.2")
                                                ("0.300,0.600", None), ("(0.123,0.456)", None), ("0,456.7", None)])
def test_a_number_with_thousands_separators_and_a_decimal_mark_is_suggested_whole(tmp_path, written, suggested):
    """"1.234,5" and "1,234.5" were suggested as "1.234" (the separators read as decimal marks, the number cut at the
    second): 1234.5 is suggested, in a continuous moderator of a sheet of decimal commas that is read as text (one of
    its cells "ca. 30") too, where "\u22121.234,5e2" was told 'write "-1.234"'; there it is written with the sheet's
    decimal comma, as every other piece of advice in such a sheet."""
    from alliance_meta.inputs.sheet import suggest_number

    assert suggest_number(written) == suggested
    path = tmp_path / "sheet.csv"
    path.write_text(f"study_id;r;n;age\nA;0,3;50;{written}\nB;0,2;40;ca. 30\nC;0,1;45;30\n", encoding="utf-8")
    _, problems = validate_sheet(read_sheet(path), continuous_moderators=["age"])
    assert [(p.row, p.column, p.value) for p in problems] == [(2, "age", written), (3, "age", "ca. 30")]
    if suggested is None:
        assert 'write "' not in problems[0].rule
    else:
        assert f'write "{suggested.replace(".", ",")}"' in problems[0].rule


def test_a_dash_or_a_date_in_a_moderator_of_a_decimal_comma_sheet_leaves_its_decimal_commas_read(tmp_path):
    """In a sheet of decimal commas one "?" or "Jan-48" in a column outside the codebook (a continuous moderator) left
    all its decimal commas unread: "34,5" was told 'write "34.5" (decimal point, ...)' in a sheet whose r of "0,3" was
    read. The cells that hold no value are problems of their own; the numbers are read."""
    path = tmp_path / "sheet.csv"
    path.write_text("study_id;r;n;age\nA;0,3;50;34,5\nB;0,2;40;Jan-48\nC;0,1;45;?\nD;0,2;60;41\n", encoding="utf-8")
    raw = read_sheet(path)
    _, problems = validate_sheet(raw, continuous_moderators=["age"])
    assert raw["age"].tolist() == ["34.5", "Jan-48", "?", "41"]
    assert [(p.row, p.column, p.value) for p in problems] == [(3, "age", "Jan-48"), (4, "age", "?")]
