"""Reading and validating the data sheet (alliance_meta.inputs.sheet), the codebook page and
the simulated demo sheet."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance_meta.inputs import codebook
from alliance_meta.inputs.sheet import (
    Problem, SheetError, format_problems, main, read_sheet, suggest_number, validate_sheet,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "raw" / "studies.csv"


def write_csv(folder: Path, text: str, name: str = "sheet.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(folder: Path, text: str) -> list[Problem]:
    return validate_sheet(read_sheet(write_csv(folder, text)))[1]


def only(problems: list[Problem], check: str) -> Problem:
    found = [p for p in problems if p.check == check]
    assert len(found) == 1, problems
    return found[0]


HEADER = "study_id,family,r,n,rater\n"


# ---------------------------------------------------------------------------
# Codebook page
# ---------------------------------------------------------------------------

def test_codebook_page_lists_every_vocabulary_value_input_kind_and_column():
    page = (ROOT / "config" / "README.md").read_text(encoding="utf-8")
    page = re.sub(r"```.*?```", "", page, flags=re.DOTALL)
    quoted = set(re.findall(r"`([^`]+)`", page))
    for vocabulary in codebook.VOCABULARIES.values():
        assert vocabulary.column in quoted
        missing = set(vocabulary.values) - quoted
        assert not missing, f"{vocabulary.column}: {missing}"
    for kind in codebook.INPUT_KINDS:
        assert kind.name in quoted
    assert not set(codebook.INPUT_COLUMNS) - quoted
    assert not set(codebook.CODEBOOK_COLUMNS) - quoted


def test_every_synonym_maps_into_its_vocabulary_and_keys_do_not_collide():
    for vocabulary in codebook.VOCABULARIES.values():
        assert set(vocabulary.lookup.values()) <= set(vocabulary.values)
        for synonym, value in vocabulary.synonyms.items():
            assert vocabulary.canonical(synonym) == value
            assert vocabulary.canonical(synonym.upper()) == value


# ---------------------------------------------------------------------------
# One rule at a time
# ---------------------------------------------------------------------------

def test_a_valid_sheet_is_typed_normalised_and_numbered(tmp_path):
    text = ("Study_ID,r,n,Rater,modality,measure,timing,published\n"
            "S1,0.30,50,Client,cognitive-behavioral,wai-sr,Middle,TRUE\n"
            "\n"
            "S2,-0.1,80,clinician,PDT,HAq-II,end,0\n")
    clean, problems = validate_sheet(read_sheet(write_csv(tmp_path, text)))
    assert problems == []
    assert clean["sheet_row"].tolist() == [2, 4]  # the blank row 3 still counts
    assert clean["family"].tolist() == ["outcome", "outcome"]
    assert clean["rater"].tolist() == ["patient", "therapist"]
    assert clean["modality"].tolist() == ["CBT", "psychodynamic"]
    assert clean["measure"].tolist() == ["WAI", "HAq"]
    assert clean["timing"].tolist() == ["mid", "late"]
    assert clean["published"].tolist() == ["yes", "no"]
    assert clean["r"].dtype == float and clean["n"].tolist() == [50.0, 80.0]


def test_missing_study_id(tmp_path):
    problem = only(problems_of(tmp_path, HEADER + "S1,outcome,0.3,50,patient\n,outcome,0.2,40,patient\n"),
                   "not_nullable")
    assert (problem.row, problem.column, problem.value) == (3, "study_id", "")
    assert "required" in problem.rule
    # a continuation row (the study's id left blank below its first row, as if merged): the study above is named
    assert problem.rule.endswith("; the rows above belong to study S1: if this effect size is of that study, write "
                                 "S1 here (or merge the study_id cells of the study's rows in the spreadsheet)")
    first = only(problems_of(tmp_path, HEADER + ",outcome,0.2,40,patient\nS1,outcome,0.3,50,patient\n"),
                 "not_nullable")
    assert first.rule == "is required on every row (the study the effect size comes from)"


ONE = ": |r| = 1 has no Fisher z and no sampling variance (check the source)"
POINT = "; the decimal point left out or misplaced? write "


# 2.2 was read as written times 100 ("0.022"); a point left out or misplaced (.22) is the likelier typo: the
# digits are kept, read after "0."
@pytest.mark.parametrize("column, value, detail", [
    ("r", "1.3", ""), ("r", "-1", ONE), ("rho", "1", ONE), ("kendall_tau", "-1.0", ONE), ("partial_r", "-1.2", ""),
    ("r", "38", POINT + '"0.38"'), ("r", "-7", POINT + '"-0.7"'), ("r", "2.2", POINT + '"0.22"'),
    ("r", "22", POINT + '"0.22"'), ("rho", "45", POINT + '"0.45"'), ("r", "-3.25", POINT + '"-0.325"'),
    ("r", "250", "")])
def test_correlation_outside_minus_one_one(tmp_path, column, value, detail):
    extra = ",n_covariates" if column == "partial_r" else ""
    text = f"study_id,{column},n{extra}\nS1,{value},50{',2' if extra else ''}\n"
    problem = only(problems_of(tmp_path, text), "correlation_range")
    assert (problem.row, problem.column, problem.value) == (2, column, value)
    assert problem.rule == "must lie strictly between -1 and 1" + detail
    assert str(problem) == f'row 2, column {column}, value "{value}": must lie strictly between -1 and 1{detail}'


@pytest.mark.parametrize("value, fails", [("0.95", True), ("-1", True), ("0.94", False), ("-0.99", False)])
def test_beta_range_keeps_the_imputed_r_inside_minus_one_one(tmp_path, value, fails):
    problems = problems_of(tmp_path, f"study_id,beta,n\nS1,{value},50\n")
    assert [p.check for p in problems] == (["beta_range"] if fails else [])


def test_sample_sizes_too_small_for_the_metric(tmp_path):
    text = ("study_id,r,n,partial_r,n_covariates,d,n1,n2,t,df\n"
            "S1,0.3,3,,,,,,,\n"
            "S2,,8,0.3,5,,,,,\n"
            "S3,,,,,0.5,1,20,,\n"
            "S4,,,,,,,,2.0,1\n"
            "S5,0.3,45.5,,,,,,,\n")
    problems = problems_of(tmp_path, text)
    found = {(p.row, p.column, p.check) for p in problems}
    assert found == {(2, "n", "n_minimum"), (3, "n", "partial_r_degrees_of_freedom"), (4, "n1", "group_minimum"),
                     (5, "df", "df_minimum"), (6, "n", "whole_number")}
    assert "n_covariates + 3" in only(problems, "partial_r_degrees_of_freedom").rule


def test_negative_variances_standard_errors_and_counts(tmp_path):
    text = ("study_id,family,m1,sd1,m2,sd2,n1,n2,log_or,log_or_se,n11,n12,n21,n22\n"
            "S1,dropout,5,-0.9,4.5,0.8,30,20,,,,,,\n"
            "S2,dropout,,,,,,,0.8,0,,,,\n"
            "S3,dropout,,,,,,,,,10,-2,5,8\n")
    problems = problems_of(tmp_path, text)
    assert {(p.row, p.column, p.value, p.check) for p in problems} == {
        (2, "sd1", "-0.9", "positive"), (3, "log_or_se", "0", "positive"), (4, "n12", "-2", "non_negative")}
    assert "standard deviations must be positive" in problems[0].rule


def test_psychometric_artifacts_out_of_range(tmp_path):
    text = ("study_id,r,n,rxx,ryy,ux\n"
            "S1,0.3,50,0.88,0.9,0.8\n"
            "S2,0.3,50,1.2,0,\n"
            "S3,0.3,50,,1,-0.5\n"
            "S4,0.3,50,0,85,0\n")
    problems = problems_of(tmp_path, text)
    assert {(p.row, p.column, p.value, p.check) for p in problems} == {
        (3, "rxx", "1.2", "reliability_range"), (3, "ryy", "0", "reliability_range"),
        (4, "ux", "-0.5", "u_ratio_positive"), (5, "rxx", "0", "reliability_range"),
        (5, "ryy", "85", "reliability_range"), (5, "ux", "0", "u_ratio_positive")}
    assert str([p for p in problems if p.row == 3 and p.column == "rxx"][0]) == (
        'row 3, column rxx, value "1.2": a reliability must lie in (0, 1] (e.g. coefficient alpha 0.88)')
    # alpha typed as a percentage (85 for .85): the message said only that it must lie in (0, 1]
    assert str([p for p in problems if p.row == 5 and p.column == "ryy"][0]).endswith(
        'a reliability must lie in (0, 1] (e.g. coefficient alpha 0.88); a percentage? write "0.85"')
    clean, problems = validate_sheet(read_sheet(write_csv(tmp_path, "study_id,r,n,rxx\nS1,0.3,50,\"0,9\"\n")))
    assert [(p.column, p.value, p.check) for p in problems] == [("rxx", "0,9", "number")]
    assert 'write "0.9"' in problems[0].rule


def test_no_complete_input_says_what_is_missing(tmp_path):
    problems = problems_of(tmp_path, "study_id,r,n,t,df\nS1,0.3,,,\nS2,,,,\n")
    first, second = problems
    assert (first.row, first.column, first.value, first.check) == (2, "n", "", "no_complete_input")
    assert str(first) == ("row 2, column n: is empty, but r needs it for a complete effect-size input, or, if the "
                          "study did not report it, delete the row and count the study among the PRISMA exclusions")
    assert (second.row, second.column, second.check) == (3, "", "no_complete_input")


def test_each_empty_cell_of_a_begun_input_is_a_problem_of_its_own(tmp_path):
    """"row 2: has no complete effect-size input: r also needs n" was the one problem without a column:
    every begun input kind names the empty cells it needs, each in the row, column, value form."""
    problems = problems_of(tmp_path, "study_id,r,rho,d,m1,m2,sd1,n,n1,n2,t,df\nA,0.3,0.2,,,,,,,,,\nB,,,0.4,,,,,,,,\n"
                                     "C,,,,10,12,3,,30,30,,\nD,,,,,,,,,,2.1,\n")
    need = "for a complete effect-size input"
    unreported = ", or, if the study did not report it, delete the row and count the study among the PRISMA exclusions"
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [
        (2, "n", "", "no_complete_input"), (3, "n1", "", "no_complete_input"), (3, "n2", "", "no_complete_input"),
        (4, "sd2", "", "no_complete_input"), (5, "n1", "", "no_complete_input"), (5, "n2", "", "no_complete_input"),
        (5, "df", "", "no_complete_input")]
    assert [p.rule for p in problems] == [
        f"is empty, but r and rho need it {need}{unreported}", f"is empty, but d needs it (and n2) {need}{unreported}",
        f"is empty, but d needs it (and n1) {need}{unreported}",
        f"is not a column of the sheet, but means_sds needs it {need}",
        f"is empty, but t_groups needs it (and n2) {need}, or fill df for t_df{unreported}",
        f"is empty, but t_groups needs it (and n1) {need}, or fill df for t_df{unreported}",
        f"is empty, but t_df needs it {need}, or fill n1 and n2 for t_groups{unreported}"]


@pytest.mark.parametrize("header, cells, column, renamed", [
    ("study_id,r,smple_n", "0.3,50", "n", "smple_n"),  # n as a word of a column outside the codebook
    ("study_id,d,n_1,n2", "0.4,20,22", "n1", "n_1"),  # close to the codebook's name
    ("study_id,r,n_covariates", "0.3,2", "n", None),  # a codebook column is never taken for another
    ("study_id,r,sample_n,n_total", "0.3,50,50", "n", None),  # two candidates: none named
])
def test_a_missing_input_column_names_the_column_it_is_probably_under(tmp_path, header, cells, column, renamed):
    problems = problems_of(tmp_path, f"{header}\nS1,{cells}\n")
    rule = only(problems, "no_complete_input").rule
    assert only(problems, "no_complete_input").column == column
    assert rule.startswith("is not a column of the sheet" + (f' (the sheet has a column "{renamed}": rename it '
                                                              f'{column}?), but' if renamed else ", but")), rule


def test_two_inputs_that_disagree(tmp_path):
    pytest.importorskip("alliance_meta.inputs.effect_sizes")
    problems = problems_of(tmp_path, "study_id,r,n,p,direction\nS1,0.30,50,0.035,positive\nS2,0.30,50,0.9,positive\n")
    problem = only(problems, "inputs_disagree")
    assert problem.row == 3
    assert "disagree beyond rounding" in problem.rule and "p_n" in problem.rule


def test_unknown_family_and_moderator_values_with_did_you_mean(tmp_path):
    text = ("study_id,family,r,n,rater,modality,timing\n"
            "S1,dropuot,0.3,50,patient,CBT,early\n"
            "S2,outcome,0.3,50,pateint,CBT,early\n"
            "S3,outcome,0.3,50,patient,psychodinamic,early\n"
            "S4,outcome,0.3,50,patient,CBT,sometimes\n")
    problems = problems_of(tmp_path, text)
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [
        (2, "family", "dropuot", "vocabulary"), (3, "rater", "pateint", "vocabulary"),
        (4, "modality", "psychodinamic", "vocabulary"), (5, "timing", "sometimes", "vocabulary")]
    assert problems[0].rule.endswith('did you mean "dropout"?')
    assert 'did you mean "patient"?' in problems[1].rule
    assert 'did you mean "psychodynamic"?' in problems[2].rule
    assert "did you mean" not in problems[3].rule and "early, mid, late, averaged" in problems[3].rule


def test_a_moderator_value_the_codebook_lacks_says_what_to_write(tmp_path):
    """A supervisor's alliance rating got only "is not in the vocabulary of rater (...)": nothing said how to code
    a rater the codebook does not list (a first-review walkthrough). Without a did-you-mean the message now says."""
    problems = problems_of(tmp_path, "study_id,r,n,rater,measure,family\nS1,0.3,50,supervisor,WAI,outcome\n"
                                     "S2,0.3,50,patient,Session Rating Scale,outcome\nS3,0.3,50,patient,WAI,adherence\n")
    rules = {p.column: p.rule for p in problems}
    assert rules["rater"].endswith('; code the closest of these or leave the cell empty, and keep "supervisor" in '
                                   'a column of your own (e.g. rater_detail) to analyse it')
    assert rules["measure"].endswith('; code it other, and keep "Session Rating Scale" in a column of your own '
                                     '(e.g. measure_detail) to analyse it')
    assert "column of your own" not in rules["family"]  # not a moderator: no category of one's own


@pytest.mark.parametrize("written, column, suggestion", [
    ("0,35", "r", "0.35"), ("n=45", "n", "45"), ("1,200", "n", "1200"), ("1 200", "n", "1200"),
    ("1'200", "n", "1200"), ("abc", "r", None)])
def test_text_in_numeric_columns(tmp_path, written, column, suggestion):
    row = {"r": f'S1,"{written}",50\n', "n": f'S1,0.3,"{written}"\n'}[column]
    problems = problems_of(tmp_path, "study_id,r,n\n" + row)
    problem = only(problems, "number")
    assert (problem.row, problem.column, problem.value) == (2, column, written)
    if suggestion:
        assert f'write "{suggestion}"' in problem.rule
    else:
        assert "write" not in problem.rule
    assert [p.check for p in problems] == ["number"]  # no second message about the missing input


@pytest.mark.parametrize("column, written, suggestion", [
    ("year", "\u20132004", "2004"), ("year", "\u22122004", "2004"), ("n", "\u201345", "45"),
    ("year", "\u20131850", None), ("r", "\u2013.3", "-0.3")])
def test_a_dash_before_a_number_that_cannot_be_negative_is_no_minus_sign(tmp_path, column, written, suggestion):
    """A year typed "\u20132004" (an en dash) got 'write "-2004"', which its year check refuses in turn: a dash before
    a year or a count is now left out of the suggestion, and there is none where the number still fails its
    column's checks (1850: no year of the alliance literature); an r keeps its sign."""
    cells = {"r": "0.3", "n": "50", "year": "2004", column: f'"{written}"'}
    sheet = f"study_id,r,n,year\nS1,{cells['r']},{cells['n']},{cells['year']}\n"
    problem = only(problems_of(tmp_path, sheet), "number")
    assert (problem.column, problem.value) == (column, written)
    assert (f'write "{suggestion}"' in problem.rule) if suggestion else ("write" not in problem.rule)


@pytest.mark.parametrize("column, written, suggestion", [
    ("t", "t(48) = 2.10", "2.10"), ("t", "t(48)=-2.1", "-2.1"), ("f", "F(1, 48) = 4.20", "4.20"),
    ("r", "r(98) = .32, p < .01", "0.32"), ("chi2", "\u03c7\u00b2(1, N = 90) = 4.2", "4.2")])
def test_a_result_copied_as_printed_suggests_its_value_not_its_degrees_of_freedom(tmp_path, column, written, suggestion):
    """A result pasted as a paper prints it (APA: "t(48) = 2.10") got 'write "48"', the df in parentheses: a
    reviewer following it coded t = 48 (r = .99). The suggestion is the value after the "="."""
    cells = {"t": "", "df": "48", "f": "", "r": "", "chi2": "", "n": "", "direction": "positive", column: f'"{written}"'}
    if column == "r":
        cells.update(n="100", df="")
    if column == "chi2":
        cells.update(n="90", df="")
    header = "study_id,t,df,f,r,chi2,n,direction"
    problem = only(problems_of(tmp_path, f"{header}\nS1,{','.join(cells[c] for c in header.split(',')[1:])}\n"),
                   "number")
    assert (problem.column, problem.value) == (column, written)
    assert f'write "{suggestion}"' in problem.rule


@pytest.mark.parametrize("written, rule", [
    ("1, 48", 'holds both degrees of freedom of F(1, 48): write the second, "48" (df is the error df of F(1, df) '
              "and of t(df))"),
    ("(1, 40.5)", 'holds both degrees of freedom of F(1, 40.5): write the second, "40.5"'),
    ("1/48", 'holds both degrees of freedom of F(1, 48): write the second, "48"'),
    ("F(3, 120)", "holds the degrees of freedom of F(3, 120): an F with 3 numerator df compares more than two "
                  "groups (or tests several terms at once), so it is no two-group t(120) and converts to no "
                  "correlation; code the alliance's own t or F(1, df) if the study reports it")])
def test_a_df_cell_holding_both_degrees_of_freedom_of_f_asks_for_the_error_df(tmp_path, written, rule):
    """F(1, 48) copied into df as "1, 48" got 'write "1"', its numerator df: the row would have been F(1, 1)."""
    problem = only(problems_of(tmp_path, f'study_id,f,df,direction\nS1,4.2,"{written}",positive\n'), "number")
    assert (problem.row, problem.column, problem.value) == (2, "df", written)
    assert problem.rule.startswith(rule)
    welch = only(problems_of(tmp_path, 'study_id,t,df\nS1,2.1,"48,5"\n'), "number")  # a decimal comma: no two df
    assert welch.rule.startswith('is not a number; write "48.5"')


@pytest.mark.parametrize("written, rule", [
    ("t(48) = 2.10", 'holds a test result, not its df: write its df, "48"'),
    ("r(98) = .32", 'holds a test result, not its df: write its df, "98"'),
    ("F(1, 48) = 4.20", 'holds both degrees of freedom of F(1, 48): write the second, "48"'),
    ("F(2, 40) = 4.20", "holds the degrees of freedom of F(2, 40): an F with 2 numerator df"),
    ("df = 48", 'is not a number; write "48"')])
def test_a_result_copied_as_printed_into_df_suggests_its_degrees_of_freedom(tmp_path, written, rule):
    """The suggestion of the value after a result's "=" reached the df column: "t(48) = 2.10" in df got 'write
    "2.10"', the t, where the df in its brackets, 48, is the cell's value."""
    problem = only(problems_of(tmp_path, f'study_id,t,df,direction\nS1,2.1,"{written}",positive\n'), "number")
    assert (problem.row, problem.column, problem.value) == (2, "df", written)
    assert problem.rule.startswith(rule)


@pytest.mark.parametrize("written, n, rule", [
    ("t = 2.1", "", "holds a test result (t = 2.1), not its df, and gives none: write the df the paper reports "
                    "(t(df) = ..., F(1, df) = ...), or n - 2 for the t or F of a correlation"),
    ("t = 2.1, p = .04", "50", "holds a test result (t = 2.1), not its df, and gives none: write the df the paper "
                               "reports (t(df) = ..., F(1, df) = ...), or n - 2 for the t or F of a correlation "
                               "(n - 2 = 48 here)"),
    ("\u03c7\u00b2(1, N = 90) = 5.2", "90", "holds a chi-square result, not a df: a chi2 is taken as chi2(1) of a 2x2 "
                                          "table and needs no df; write its value in chi2 and its N in n, and leave "
                                          "df empty"),
    ("chi2 = 5.2", "", "holds a chi-square result, not a df"),
    ("Chi-square(2, N = 90) = 6.1", "", "holds a chi-square result with 2 df, not a df: only a chi-square with 1 df "
                                        "(of a 2x2 table) converts to a correlation"),
    ("N = 50", "", "is a sample size, not a df: write the df the paper reports, or n - 2 for the t or F(1, df) of a "
                   "correlation (n - 2 = 48 here)")])
def test_a_df_cell_holding_a_result_without_its_df_says_what_it_holds(tmp_path, written, n, rule):
    """A df cell of "t = 2.1" or "χ²(1, N = 90) = 5.2" got 'write "2.1"' / 'write "5.2"', the statistic as its df
    (a t of 2.1 on 2.1 df is r = .83); "N = 50" got 'write "50"'. Each says what the cell holds and what df to
    write: the paper's (or n - 2), none for a chi-square."""
    problem = only(problems_of(tmp_path, f'study_id,t,df,n,direction\nS1,2.1,"{written}",{n},positive\n'), "number")
    assert (problem.row, problem.column, problem.value) == (2, "df", written)
    assert problem.rule.startswith(rule)
    assert "2.1\"" not in problem.rule and "5.2\"" not in problem.rule


@pytest.mark.parametrize("sheet", ['study_id,t,df,direction\nS1,2.1,"1,48",positive\nS2,2.1,"48,5",positive\n',
                                   "study_id;t;df;direction\nS1;2,1;1,48;positive\nS2;2,1;48,5;positive\n"])
def test_a_df_of_1_comma_48_is_f_s_two_df_whatever_the_decimal_mark(tmp_path, sheet):
    """"1,48" in df was read as a df of 1.48 without a word in a semicolon sheet (decimal commas), and got 'write
    "1.48"' in a sheet of decimal points: it is F(1, 48)'s two df (a df between 1 and 2 would be a study of fewer
    than 4 cases). "48,5" stays a decimal comma (a Welch df). The numbers it quotes as read are written with the
    sheet's decimal mark (1,48 in a sheet of decimal commas: was 1.48)."""
    problems = problems_of(tmp_path, sheet)
    problem = problems[0]
    assert (problem.row, problem.column, problem.value, problem.check) == (2, "df", "1,48", "number")
    df, n = ("1,48", "3,48") if ";" in sheet else ("1.48", "3.48")
    assert problem.rule == ('holds both degrees of freedom of F(1, 48): write the second, "48" (df is the error df of '
                            f"F(1, df) and of t(df)); read with a decimal comma, {df} would be the df of fewer than 4 "
                            f"cases (n = df + 2 = {n})")
    if ";" in sheet:  # read as 48.5, and the t's decimal comma as ever
        clean = validate_sheet(read_sheet(tmp_path / "sheet.csv"))[0]
        assert len(problems) == 1
        assert clean["df"].tolist()[1] == 48.5 and clean["t"].tolist() == [2.1, 2.1]
    else:
        assert [p.row for p in problems] == [2, 3]  # 48,5: the decimal comma's own advice
        assert problems[1].rule.startswith('is not a number; write "48.5"')


@pytest.mark.parametrize("column, written, rule", [
    ("p", "<.001", 'is a bound, not a p value: write the exact p if the paper reports it; "0.001", the bound, converts '
                   "to a smaller effect than the study's (a conservative choice)"),
    ("p", "p \u2264 .05", 'is a bound, not a p value: write the exact p if the paper reports it; "0.05"'),
    ("p", "<,001", 'is a bound, not a p value: write the exact p if the paper reports it; "0.001"'),  # it was "001"
    ("p", "ns", "says only that the result was not significant, which gives no value to convert: code the exact "
                "statistic if the paper reports one (its p, t, F, means and SDs), or, if the study did not report it, "
                "delete the row and count the study among the PRISMA exclusions"),
    ("p", "p > .05", "says only that the result was not significant"),
    ("p", "> .05", "says only that the result was not significant"),
    ("r", "n.s.", "says only that the result was not significant"),
    ("r", "> .30", 'is not a number; write "0.30"')])  # a bound of r, "r > .30", not "p > .30"
def test_a_p_bound_or_not_significant_says_what_the_suggestion_means(tmp_path, column, written, rule):
    """"p < .001" got 'is not a number; write "0.001"' as if .001 were the study's p, and "ns" 'is not a number' with
    nothing to do. The bound is named as one (a conservative value), "ns" as no value at all."""
    quoted = f'"{written}"'
    problems = problems_of(tmp_path, f"study_id,r,p,n,direction\nS1,{'' if column == 'p' else quoted},"
                                     f"{quoted if column == 'p' else ''},50,positive\n")
    problem = only(problems, "number")
    assert (problem.row, problem.column, problem.value) == (2, column, written)
    assert problem.rule.startswith(rule)


def test_a_p_of_zero_as_spss_prints_it_suggests_its_bound(tmp_path):
    """SPSS's "p = .000" got 'a p value must lie in (0, 1]' with nothing to write."""
    problems = problems_of(tmp_path, "study_id,p,n,direction\nS1,.000,50,positive\nS2,1.2,50,positive\n")
    assert [(p.row, p.column, p.value, p.rule) for p in problems] == [
        (2, "p", ".000", 'a p value must lie in (0, 1]; SPSS prints a p below .0005 as ".000": write the exact p if '
                         'the paper reports it, or "0.0005", the bound, which converts to a smaller effect than the '
                         "study's (a conservative choice)"),
        (3, "p", "1.2", "a p value must lie in (0, 1]")]


def test_a_point_between_thousands_of_an_n_is_one_problem(tmp_path):
    """n = "1.200" (twelve hundred, a point between thousands) in a sheet of decimal points was also told 'must be at
    least 4', as if the study had 1.2 patients."""
    problems = problems_of(tmp_path, "study_id,r,n,d,n1,n2\nS1,0.3,1.200,,,\nS2,,,0.4,1.500,1.100\nS3,0.2,2,,,\n")
    assert [(p.row, p.column, p.check) for p in problems] == [
        (2, "n", "whole_number"), (3, "n1", "whole_number"), (3, "n2", "whole_number"), (4, "n", "n_minimum")]
    assert problems[0].rule.startswith('must be a whole number: "1.200" is read with a decimal point; if the point '
                                       'separates thousands, write "1200"')


def test_a_column_of_signs_beside_the_statistics_is_a_problem(tmp_path):
    """A d whose sign a reviewer kept in a column "sign" (-, +) was read as positive without a word."""
    problems = problems_of(tmp_path, "study_id,d,n1,n2,sign,flag,rob_custom\nS1,0.4,20,20,-,+,-\nS2,0.5,20,20,+,+,+\n")
    assert [(p.row, p.column, p.check) for p in problems if not p.check.startswith("rob_")] == [
        (1, "sign", "sign_column")]  # flag: no minus; rob_custom: judgements (+ is low), the tool's to check
    assert problems[0].rule.startswith("holds only signs (+, -), which are not read: a statistic carries its sign in "
                                       "its own cell (write d = -0.40)")


@pytest.mark.parametrize("written, rule", [
    ("98", 'must be a year between 1900 and {next}; read as a two-digit year, write "1998"'),
    ("05", 'must be a year between 1900 and {next}; read as a two-digit year, write "2005"'),
    ("5", 'must be a year between 1900 and {next}; read as a two-digit year, write "2005"'),  # 05 typed in Excel
    ("'98", 'is not a number; read as a two-digit year, write "1998"'),
    ("45", "must be a year between 1900 and {next}")])  # 1945 or 2045: neither is a year of alliance research
def test_a_two_digit_year_suggests_its_four_digits_where_only_one_century_fits(tmp_path, written, rule):
    """"98" and "05" in year got 'must be a year between 1900 and ...' with nothing to write."""
    import datetime
    problems = problems_of(tmp_path, f"study_id,r,n,year\nS1,0.3,50,2001\nS2,0.2,40,{written}\n")
    assert [(p.row, p.column, p.value) for p in problems] == [(3, "year", written)]
    assert problems[0].rule == rule.format(next=datetime.date.today().year + 1)


@pytest.mark.parametrize("written", ["in press", "n.d.", "unpublished"])
def test_a_year_in_press_or_without_a_date_says_to_leave_the_cell_empty(tmp_path, written):
    """"in press" in year was 'is not a number (decimal point, no text or units)', with nothing to do."""
    problem = only(problems_of(tmp_path, f"study_id,r,n,year\nS1,0.3,50,{written}\nS2,0.2,40,\n"), "number")
    assert (problem.row, problem.column, problem.value) == (2, "year", written)
    assert problem.rule == ("is not a year: leave the cell empty for a study without one (in press, no date); "
                            "year is optional")


@pytest.mark.parametrize("written", ["-", "\u2013", "--", "NR", "n.r.", "not reported"])
def test_a_dash_or_not_reported_says_how_to_write_a_missing_value(tmp_path, written):
    """A reviewer's "not reported" marker is no missing value (codebook.MISSING_MARKERS): the problem says to
    leave the cell empty, not that it is text with units (a lone "-" was 'is not a number (decimal point, no text
    or units)')."""
    problems = problems_of(tmp_path, f'study_id,r,n,d,n1,n2\nS1,0.3,50,"{written}",,\n')
    problem = only(problems, "number")
    assert (problem.row, problem.column, problem.value) == (2, "d", written)
    assert "leave the cell empty (or write NA)" in problem.rule and "units" not in problem.rule
    assert [p.check for p in problems] == ["number"]


@pytest.mark.parametrize("header, named", [("StudyID", "StudyID"), ("Study Nr", "Study Nr"), ("ID study", "ID study"),
                                           ("Autor", None)])
def test_a_study_id_column_written_otherwise_is_named(tmp_path, header, named):
    problem = only(problems_of(tmp_path, f"{header},r,n\nS1,0.3,50\n"), "column_in_dataframe")
    assert (problem.row, problem.column) == (1, "study_id")
    if named:
        assert problem.rule.endswith(f'; did you mean "{named}"? (rename it study_id)')
    else:
        assert problem.rule == "required column is missing from the header"


def test_a_missing_study_id_column_still_lists_every_other_problem(tmp_path):
    """Without study_id the check stopped at the header: the reviewer renamed the column and only then learnt of the
    rows' problems. Now one round lists them all (each row checked as a study of its own)."""
    clean, problems = validate_sheet(read_sheet(write_csv(tmp_path, "StudyID,r,n,rater\nS1,0.3,50,patinet\n"
                                                                    "S2,1.3,40,patient\nS2,-,40,patient\n")),
                                     moderators=["rater", "modality"])
    assert [(p.row, p.column, p.check) for p in problems] == [
        (1, "study_id", "column_in_dataframe"), (1, "modality", "moderator_column_missing"), (2, "rater", "vocabulary"),
        (3, "r", "correlation_range"), (4, "r", "number")]
    assert 'did you mean "StudyID"?' in problems[0].rule
    assert "row 2" not in " ".join(p.rule for p in problems)  # the stand-in study names appear nowhere
    # a note row below the data is named as a note, as in a sheet with study_id (the stand-in id is no filled cell)
    _, problems = validate_sheet(read_sheet(write_csv(tmp_path, "StudyID,r,n,authors\nS1,0.3,50,Lee\n"
                                                                ",,,Source: coded from the published tables\n")))
    assert [(p.row, p.column) for p in problems] == [(1, "study_id"), (3, "")]
    assert 'holds only the text "Source: coded from the published tables" (column authors)' in problems[1].rule


def test_a_point_between_thousands_and_a_decimal_comma_say_how_to_read_them(tmp_path):
    """n = "1.200" was 'must be a whole number (an n averaged over groups or occasions: write "1")'; r = "0,31" in a
    sheet read with decimal points did not say that decimal: "," reads the sheet's decimal commas."""
    problems = problems_of(tmp_path, 'study_id,r,n\nS1,"0,31","1.200"\n')
    whole = only(problems, "whole_number")
    assert whole.rule.startswith('must be a whole number: "1.200" is read with a decimal point; if the point '
                                 'separates thousands, write "1200"') and 'write "1")' not in whole.rule
    number = only(problems, "number")
    assert number.rule == ('is not a number; write "0.31" (decimal point, no text or units), or set decimal: "," in '
                           "the config to read the sheet's decimal commas")
    # a 0 before the point is a decimal mark, no group of thousands: n = "0.500" was told to write "0500"
    [zero] = [p for p in problems_of(tmp_path, "study_id,r,n\nS1,0.3,0.500\n") if p.column == "n"]
    assert "thousands" not in zero.rule and "0500" not in zero.rule
    # a sign before it is none of the number's thousands: n = "+1.200" (the thousands pattern took no sign) was told
    # to write "1", an n averaged over groups, and also that it must be at least 4
    signed = problems_of(tmp_path, 'study_id,r,n\nS1,0.3,"+1.200"\n')
    assert [p.check for p in signed] == ["whole_number"]
    assert signed[0].rule.startswith('must be a whole number: "+1.200" is read with a decimal point; if the point '
                                     'separates thousands, write "1200"')


def test_a_comma_between_thousands_is_not_offered_as_a_decimal_comma(tmp_path):
    """n = "1,200" suggests 1200 (a thousands separator): setting decimal: "," would read it as 1.2, so the message
    does not offer that; r = "0,31" (a decimal comma) still does."""
    problems = problems_of(tmp_path, 'study_id,r,n\nS1,0.3,"1,200"\nS2,"0,31",50\n')
    by_column = {p.column: p.rule for p in problems}
    assert 'write "1200"' in by_column["n"] and 'decimal: ","' not in by_column["n"]
    assert 'set decimal: ","' in by_column["r"]


def test_a_note_below_the_data_is_named_as_a_note(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["study_id", "r", "n"])
    sheet.append(["S1", 0.3, 50])
    sheet["A5"] = "Note: correlations from Table 2 of each paper"  # below an empty row
    sheet["A6"] = "S9"  # an identifier alone is a row not filled in yet, not a note
    path = tmp_path / "sheet.xlsx"
    workbook.save(path)
    problems = validate_sheet(read_sheet(path))[1]
    assert [(p.row, p.check) for p in problems] == [(5, "no_complete_input"), (6, "no_complete_input")]
    assert problems[0].rule.startswith('holds only the text "Note: correlations from Table 2 of each paper" '
                                       "(column study_id) and no effect-size input: a note?")
    assert problems[1].rule.startswith("has no effect-size input")


def test_no_guess_where_a_letter_touches_the_digits_and_percent_reliabilities_as_proportions(tmp_path):
    problems = problems_of(tmp_path, 'study_id,r,n,ryy\nS1,0.3,12o,0.8\nS2,0.3,50,90%\n')
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "n", "number"), (3, "ryy", "number")]
    assert "write" not in problems[0].rule  # 12, 120 or 12.0?
    assert 'write "0.9"' in problems[1].rule  # not "90", which is out of range for a reliability


def test_a_percent_correlation_from_a_percent_formatted_cell_is_suggested_as_a_proportion(tmp_path):
    """An r cell formatted as percent in Excel is saved in a CSV as 25%: the suggestion was "25" (out of range)."""
    problems = problems_of(tmp_path, "study_id,r,n\nS1,25%,50\nS2,-12 %,60\n")
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "r", "number"), (3, "r", "number")]
    assert 'write "0.25"' in problems[0].rule and 'write "-0.12"' in problems[1].rule


def test_unsigned_statistic_without_direction(tmp_path):
    problems = problems_of(tmp_path, "study_id,f,df,chi2,n,direction\nS1,4.2,48,,,\nS2,,,3.1,60,\nS3,4.2,48,,,positive\n")
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "direction", "direction_missing"),
                                                              (3, "direction", "direction_missing")]
    assert "positive or negative" in problems[0].rule


def test_p_outside_zero_one(tmp_path):
    problems = problems_of(tmp_path, "study_id,p,n,direction\nS1,0,50,positive\nS2,1.5,50,positive\nS3,1,50,negative\n")
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [(2, "p", "0", "p_range"), (3, "p", "1.5", "p_range")]


def test_odds_ratio_outside_its_ci(tmp_path):
    problems = problems_of(tmp_path, "study_id,family,odds_ratio,or_ci_lower,or_ci_upper\n"
                                     "S1,dropout,2.5,1.1,2.2\nS2,dropout,1.8,1.1,2.9\n")
    problem = only(problems, "odds_ratio_outside_ci")
    assert (problem.row, problem.column, problem.value) == (2, "odds_ratio", "2.5")
    assert "[1.1, 2.2]" in problem.rule


def test_odds_ratio_ci_without_width_or_written_upper_limit_first(tmp_path):
    problems = problems_of(tmp_path, "study_id,family,odds_ratio,or_ci_lower,or_ci_upper\n"
                                     "S1,dropout,1.0,1.0,1.0\nS2,dropout,2.0,2.5,1.5\n")
    assert [(p.row, p.check) for p in problems] == [(2, "odds_ratio_outside_ci"), (3, "odds_ratio_outside_ci")]
    assert problems[0].rule == "its confidence interval [1.0, 1.0] has no width: check or_ci_lower and or_ci_upper"
    assert problems[1].rule == ("its confidence interval is written upper limit first (2.5, 1.5): swap or_ci_lower "
                                "and or_ci_upper")


def test_2x2_counts_that_contradict_the_typed_sample_sizes_are_problems(tmp_path):
    # found by a dropout-review walkthrough: these passed, and the counts silently decided the analysis
    problems = problems_of(tmp_path, "study_id,family,n,n1,n2,n11,n12,n21,n22\n"
                                     "S1,dropout,,50,40,45,15,30,10\n"      # n1 = 60 by the counts
                                     "S2,dropout,100,,,60,20,50,25\n"       # n = 155
                                     "S3,dropout,90,50,40,40,10,30,10\n"    # agrees
                                     "S4,dropout,,100,,0,115,30,10\n"       # 115 dropouts of 100 patients
                                     "S5,dropout,200,60,45,45,15,30,10\n")  # n and n2 both contradicted
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [
        (2, "n1", "50", "counts_disagree_with_n"), (3, "n", "100", "counts_disagree_with_n"),
        (5, "n1", "100", "counts_disagree_with_n"), (6, "n", "200", "counts_disagree_with_n"),
        (6, "n2", "45", "counts_disagree_with_n")]
    assert problems[0].rule.startswith("the 2x2 counts give n1 = n11 + n12 = 60, not 50: check the counts")
    assert "n = n11 + n12 + n21 + n22 = 155, not 100" in problems[1].rule


def test_a_2x2_table_with_an_empty_group_is_a_problem(tmp_path):
    problems = problems_of(tmp_path, "study_id,family,n11,n12,n21,n22\n"
                                     "S1,dropout,0,0,10,5\nS2,dropout,0,0,0,0\nS3,dropout,12,0,0,9\n"
                                     "S4,dropout,3,4,0,0\n")
    assert [(p.row, p.column, p.check) for p in problems] == [
        (2, "n11", "counts_empty_group"), (3, "n11", "counts_empty_group"), (5, "n11", "counts_empty_group")]
    assert problems[0].rule.startswith("the 2x2 table has no patients in the stronger-alliance group (n11 + n12 = 0): "
                                       "the odds ratio is not defined")
    assert problems[1].rule.startswith("every count of the 2x2 table is 0")
    assert "weaker-alliance group (n21 + n22 = 0)" in problems[2].rule  # row 4 (two zero cells, one per group) is fine


def test_missing_required_column_and_duplicate_column(tmp_path):
    assert [(p.row, p.column, p.check) for p in problems_of(tmp_path, "r,n\n0.3,50\n")] == [
        (1, "study_id", "column_in_dataframe")]
    assert [(p.row, p.column, p.check) for p in problems_of(tmp_path, "study_id,r,n,r\nS1,0.3,50,0.3\n")] == [
        (1, "r", "duplicate_column")]


def test_tab_separated_text_as_excel_saves_it(tmp_path):
    """Excel's "Text (Tab delimited) (*.txt)" (Windows code page) and "Unicode Text (*.txt)" (UTF-16)."""
    text = "study_id\tauthors\tr\tn\r\nS1\tM\u00fcller\t0.3\t50\r\nS2\tNu\u00f1ez\t0.2\t80\r\n"
    for name, encoding in (("sheet.txt", "cp1252"), ("unicode.txt", "utf-16"), ("sheet.tsv", "utf-8")):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        frame = read_sheet(path)
        assert list(frame["authors"]) == ["M\u00fcller", "Nu\u00f1ez"] and list(frame["n"]) == ["50", "80"], name


def test_unreadable_files(tmp_path):
    with pytest.raises(SheetError, match="no such file"):
        read_sheet(tmp_path / "absent.csv")
    with pytest.raises(SheetError, match=r"expected a .csv or .xlsx file \(or tab-separated .tsv or .txt\), not .json"):
        read_sheet(write_csv(tmp_path, "x", "sheet.json"))
    with pytest.raises(SheetError, match=r"save it as .xlsx \(Excel workbook\) or .csv first \(.ods files are not read\)"):
        read_sheet(write_csv(tmp_path, "x", "sheet.ods"))
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(SheetError, match="cannot read .*a text file \\(a CSV\\?\\) with an .xlsx name; name it .csv"):
        read_sheet(broken)
    broken.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))  # the start of an Excel 97-2003 file
    with pytest.raises(SheetError, match=r"an Excel 97-2003 workbook \(.xls\) with an .xlsx name; open it and save"):
        read_sheet(broken)
    broken.write_bytes(bytes(range(256)))
    with pytest.raises(SheetError, match=r"not an Excel workbook \(.xlsx files are zip archives\)"):
        read_sheet(broken)
    broken.write_bytes(b"")
    with pytest.raises(SheetError, match="the file is empty"):
        read_sheet(broken)
    broken.write_bytes(b"PK\x03\x04" + bytes(100))  # a zip cut short
    with pytest.raises(SheetError, match="damaged or incomplete"):
        read_sheet(broken)
    broken.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600) + "EncryptedPackage".encode("utf-16-le"))
    with pytest.raises(SheetError, match="protected by a password"):
        read_sheet(broken)
    with pytest.raises(SheetError, match="empty"):
        read_sheet(write_csv(tmp_path, ""))


def test_semicolon_csv_from_a_european_spreadsheet(tmp_path):
    clean, problems = validate_sheet(read_sheet(write_csv(tmp_path, "study_id;r;n\nS1;0,35;50\n")))
    assert problems == [] and clean["r"].item() == 0.35  # more dialects: tests/test_sheet_reading.py


def test_xlsx_first_sheet_with_row_numbers(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["study_id", "r", "n", "rater"])
    sheet.append(["S1", 0.3, 50, "patient"])
    sheet.append(["S2", 1.3, 50, "patient"])
    sheet.append(["S3", "0,2", 40, "judge"])
    workbook.create_sheet("notes").append(["ignored"])
    path = tmp_path / "sheet.xlsx"
    workbook.save(path)
    clean, problems = validate_sheet(read_sheet(path))
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [
        (3, "r", "1.3", "correlation_range"), (4, "r", "0,2", "number")]
    assert clean.loc[clean["study_id"] == "S3", "rater"].item() == "observer"


def test_a_number_beyond_a_double_is_a_problem_without_a_suggestion_to_write_it():
    """1e400 was reported as 'is not a number; write "1e400"', the value the cell holds."""
    raw = pd.DataFrame({"sheet_row": [2, 3], "study_id": ["S1", "S2"], "r": ["1e400", "0.2"], "n": ["40", "-1E999"],
                        "age": ["1e400", "35"]})
    assert suggest_number("1e400") is None and suggest_number("about 30") == "30"
    _, problems = validate_sheet(raw, continuous_moderators=["age"])
    assert [(p.row, p.column, p.value) for p in problems if p.column == "age"] == [(2, "age", "1e400")]
    assert "write" not in [p for p in problems if p.column == "age"][0].rule
    problems = [p for p in problems if p.column != "age"]
    assert [(p.row, p.column, p.value, p.rule) for p in problems] == [
        (2, "r", "1e400", "is not a number: its magnitude is beyond the largest number a computer stores (1.8e308); "
                          "check the source"),
        (3, "n", "-1E999", "is not a number: its magnitude is beyond the largest number a computer stores (1.8e308); "
                           "check the source")]


def test_the_text_inf_is_not_said_to_be_too_large_a_number():
    """"inf" was said to have "its magnitude beyond the largest number a computer stores"."""
    raw = pd.DataFrame({"sheet_row": [2, 3, 4], "study_id": ["S1", "S2", "S3"], "r": ["inf", "0.2", "-Infinity"],
                        "n": ["40", " INF ", "50"]})
    _, problems = validate_sheet(raw)
    assert [(p.row, p.column, p.value, p.rule) for p in problems] == [
        (row, column, value, "is not a finite number: write the value the study reports")
        for row, column, value in [(2, "r", "inf"), (3, "n", "INF"), (4, "r", "-Infinity")]]


def test_format_problems_groups_and_counts():
    problems = [Problem(7, "r", "1.3", "must lie strictly between -1 and 1", "correlation_range"),
                Problem(3, "r", "0,35", 'is not a number; write "0.35"', "number"),
                Problem(9, "", "", "has no complete effect-size input", "no_complete_input")]
    report = format_problems(problems, "studies.csv")
    assert report.splitlines()[0].startswith("studies.csv: 3 problems in 3 rows")
    assert '  row 7, column r, value "1.3": must lie strictly between -1 and 1' in report.splitlines()
    assert "text in numeric columns (1):" in report and "row 9: has no complete" in report
    assert format_problems([]) == "the sheet: no problems"


def test_suggest_number():
    assert suggest_number("p < .001") == "0.001"
    assert suggest_number("35 %") == "35"
    assert suggest_number("none") is None
    assert suggest_number("12 000 000", whole=True) == "12000000"
    # a space separates no decimals: 1200 in any column (was "1", its 200 dropped, outside counts); a comma may be
    # a decimal comma outside counts
    assert suggest_number("1 200") == "1200" and suggest_number("1,200") == "1.200"
    assert suggest_number("- 2,5") == "-2.5"  # the sign kept (was "2.5")
    assert suggest_number("0..3") is None  # was "0.", the 3 dropped


def test_fractional_sample_size_names_the_rounded_value(tmp_path):
    problems = problems_of(tmp_path, "study_id,r,n,year,n11,n12,n21,n22\nS1,0.3,45.5,2001,,,,\nS2,0.3,45,2001.5,,,,\n"
                                     "S3,,,,3.5,20,4,18\n")
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [(2, "n", "45.5", "whole_number"),
                                                                      (3, "year", "2001.5", "whole_number"),
                                                                      (4, "n11", "3.5", "whole_number")]
    assert problems[0].rule.endswith('write "46")')
    assert problems[1].rule == "must be a whole number"
    assert problems[2].rule == "must be a whole number: enter the raw count (the analysis adds any continuity correction)"


def test_2x2_cells_given_as_shares_ask_for_patients(tmp_path):
    """A table coded as percentages ("85%") was told 'write "85"' (a count of 85 patients, not 85% of the group), and
    as proportions (0.85) to enter the raw count 'without a continuity correction'."""
    problems = problems_of(tmp_path, "study_id,family,n11,n12,n21,n22\nS1,dropout,85%,15%,60%,40%\n"
                                     "S2,dropout,0.85,0.15,0.6,0.4\nS3,dropout,3.5,20,4,18\n")
    rules = {(p.row, p.column): p.rule for p in problems}
    assert rules[(2, "n11")].startswith("is a percentage, not a count: enter the number of patients in the cell")
    assert 'write "85"' not in rules[(2, "n11")]
    assert rules[(3, "n12")].startswith("must be a whole number: 0.15 looks like a proportion; enter the number of "
                                        "patients in the cell (the share times its group's n")
    assert rules[(4, "n11")] == ("must be a whole number: enter the raw count (the analysis adds any continuity "
                                 "correction)")


def test_a_sample_size_without_a_statistic_asks_for_one(tmp_path):
    problems = problems_of(tmp_path, "study_id,r,n,n1,n2,df,t\nA,,150,,,,\nB,,,30,20,,\nC,,,,,48,\nD,0.3,,,,,\n")
    unreported = (", or, if the study did not report it, delete the row and count the study among the PRISMA "
                  "exclusions")
    assert [p.rule for p in problems] == [
        "has n = 150 but no effect size: fill e.g. r beside it (input kinds: config/README.md)" + unreported,
        "has n1 = 30 and n2 = 20 but no effect size: fill e.g. d beside them (input kinds: config/README.md)"
        + unreported,
        "has df = 48 but no effect size: fill e.g. t beside it (input kinds: config/README.md)" + unreported,
        # an r whose n the study did not report: the same way out (it said only that r needs n)
        "is empty, but r needs it for a complete effect-size input" + unreported]


def test_a_header_without_rows_is_a_problem(tmp_path):
    problems = problems_of(tmp_path, "study_id,r,n\n")
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "", "no_rows")]
    assert "no rows below its header" in problems[0].rule


def test_study_ids_that_differ_only_in_case_or_spacing_are_noted(tmp_path):
    path = write_csv(tmp_path, "study_id,r,n\nS001,0.1,50\nS001 ,0.2,60\ns001,0.3,70\nS 001,0.2,90\n"
                               "S002,0.3,100\nS-002,0.1,40\nS003,0.2,50\n")
    clean, problems = validate_sheet(read_sheet(path))
    assert problems == []
    assert [note for note in clean.attrs["notes"] if note.startswith("study_id values")] == [
        'study_id values that differ only in case, spaces, punctuation or how a number is written are analysed as different studies: '
        '"S001" (rows 2, 3) vs "s001" (row 4) vs "S 001" (row 5); "S002" (row 6) vs "S-002" (row 7); '
        'write them alike if they are one sample']
    from alliance_meta.inputs.sheet import identifier_key

    assert identifier_key("S 001") == identifier_key("s-001") == identifier_key("S_001") != identifier_key("S1.2")
    assert identifier_key("S1.2") != identifier_key("S12") and identifier_key("E-1") == identifier_key("e 1")
    # whole numbers however written; other numbers keep their digits apart
    assert identifier_key("1") == identifier_key("01") == identifier_key("1.0") != identifier_key("10")
    assert identifier_key("1.5") != identifier_key("15") and identifier_key("0") == identifier_key("00")
    numbers = validate_sheet(read_sheet(write_csv(tmp_path, "study_id,r,n\n1,0.1,50\n1.0,0.2,60\n02,0.3,70\n2,0.1,40\n",
                                                  "numbers.csv")))[0]
    assert [note for note in numbers.attrs["notes"] if note.startswith("study_id values")] == [
        'study_id values that differ only in case, spaces, punctuation or how a number is written are analysed as different studies: '
        '"1" (row 2) vs "1.0" (row 3); "02" (row 4) vs "2" (row 5); write them alike if they are one sample']
    alike = validate_sheet(read_sheet(write_csv(tmp_path, "study_id,r,n\nS1,0.1,50\nS1,0.2,60\nS2,0.3,70\n", "alike.csv")))[0]
    assert not any(note.startswith("study_id values") for note in alike.attrs["notes"])


def test_cli_reports_and_exits(tmp_path):
    bad = write_csv(tmp_path, HEADER + "S1,outcome,1.3,50,patient\n")
    good = write_csv(tmp_path, HEADER + "S1,outcome,0.3,50,patient\n", "good.csv")
    for path, code in ((bad, 1), (good, 0), (tmp_path / "absent.csv", 1)):
        result = subprocess.run([sys.executable, "-m", "alliance_meta.inputs.sheet", str(path)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stdout + result.stderr
    assert 'row 2, column r, value "1.3"' in subprocess.run(
        [sys.executable, "-m", "alliance_meta.inputs.sheet", str(bad)], capture_output=True, text=True).stdout


# ---------------------------------------------------------------------------
# The simulated demo sheet
# ---------------------------------------------------------------------------

def test_demo_sheet_is_valid_simulated_and_covers_the_codebook():
    raw_bytes = DEMO.read_bytes()
    clean, problems = validate_sheet(read_sheet(DEMO))
    assert problems == [], format_problems(problems)
    assert DEMO.read_bytes() == raw_bytes
    assert (clean["simulated"] == "yes").all()
    assert clean["authors"].str.fullmatch(r"Simulated study \d{3}").all()
    studies = clean.groupby("family")["study_id"].nunique()
    assert 140 <= clean["study_id"].nunique() <= 160 and 370 <= len(clean) <= 430
    assert 20 <= studies["dropout"] <= 30
    assert set(codebook.CODEBOOK_COLUMNS) <= set(clean.columns)
    for column, vocabulary in codebook.VOCABULARIES.items():
        if column not in ("reverse", "direction", "simulated"):
            assert set(clean[column].dropna()) == set(vocabulary.values), column
    filled = pd.DataFrame({kind.name: clean[list(kind.columns)].notna().all(axis=1) for kind in codebook.INPUT_KINDS})
    assert (filled.sum() >= 4).all(), filled.sum()
    assert (clean["reverse"] == "yes").sum() >= 10 and clean["direction"].notna().sum() >= 10


def test_demo_sheet_is_reproduced_by_its_generator():
    sys.path.insert(0, str(DEMO.parent))
    try:
        import make_demo_sheet
    finally:
        sys.path.pop(0)
    rows = make_demo_sheet.make_demo_sheet()
    with open(DEMO, newline="", encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == rows


def test_demo_effects_look_like_the_published_figures():
    effect_sizes = pytest.importorskip("alliance_meta.inputs.effect_sizes")
    clean, _ = validate_sheet(read_sheet(DEMO))
    with np.errstate(all="ignore"):
        converted = effect_sizes.convert(clean)
    assert converted[["yi", "vi"]].notna().all().all() and (converted["vi"] > 0).all()
    outcome = converted[converted["family"] == "outcome"]
    dropout = converted[converted["family"] == "dropout"]
    assert 0.22 < np.tanh(np.average(outcome["yi"], weights=1 / outcome["vi"])) < 0.34
    assert 0.35 < np.average(dropout["yi"], weights=1 / dropout["vi"]) < 0.75


# ---------------------------------------------------------------------------
# Property tests: malformed sheets (CSV and XLSX) never crash, never change the
# file, and every planted problem is reported at its row and column.
# ---------------------------------------------------------------------------

def _misspell(word: str) -> st.SearchStrategy[str]:
    return st.integers(0, len(word) - 1).map(lambda i: word[:i] + word[i + 1:] + "x")


DEFECTS = {
    # name: (column, strategy of the written cell, expected check)
    "decimal_comma": ("r", st.tuples(st.integers(0, 0), st.integers(1, 99)).map(lambda t: f"{t[0]},{t[1]:02d}"), "number"),
    "text_in_n": ("n", st.integers(10, 999).map(lambda n: f"n={n}"), "number"),
    "r_out_of_range": ("r", st.floats(1.0, 9.0).map(lambda x: f"{x:.2f}") | st.floats(-9.0, -1.0).map(lambda x: f"{x:.2f}"),
                       "correlation_range"),
    "n_too_small": ("n", st.integers(-5, 3).map(str), "n_minimum"),
    "rater_typo": ("rater", st.sampled_from(["patient", "therapist", "observer"]).flatmap(_misspell), "vocabulary"),
    "unknown_family": ("family", st.sampled_from(["outcomes", "drop", "adherence", "remission"]), "vocabulary"),
    "missing_study_id": ("study_id", st.just(""), "not_nullable"),
    "no_input": ("", st.just(""), "no_complete_input"),
}


@st.composite
def malformed_sheets(draw):
    """(header, rows of cells, planted defects as (data-row index, column, written, check))."""
    size = draw(st.integers(2, 6))
    rows = [{"study_id": f"S{i + 1}", "family": draw(st.sampled_from(["outcome", "dropout", "Outcome"])),
             "r": f"{draw(st.floats(-0.9, 0.9)):.2f}", "n": str(draw(st.integers(4, 900))),
             "rater": draw(st.sampled_from(["patient", "therapist", "observer", "client", "Judge"]))}
            for i in range(size)]
    names = draw(st.lists(st.sampled_from(sorted(DEFECTS)), min_size=1, max_size=min(3, size)))
    targets = draw(st.permutations(range(size)))[: len(names)]
    planted = []
    for name, index in zip(names, targets):
        column, cell, check = DEFECTS[name]
        written = draw(cell)
        if name == "no_input":
            rows[index]["r"] = rows[index]["n"] = ""
        else:
            rows[index][column] = written
        planted.append((index, column, written, check))
    blank_after = draw(st.none() | st.integers(0, size - 1))
    return rows, planted, blank_after


def _write(folder: Path, rows: list[dict], blank_after: int | None, kind: str) -> tuple[Path, list[int]]:
    """Write the sheet; return its path and the spreadsheet row of every data row."""
    columns = list(rows[0])
    sheet_rows, row_number = [], 2
    if kind == "csv":
        lines = [",".join(columns)]
        for index, row in enumerate(rows):
            lines.append(",".join(f'"{row[c]}"' if "," in row[c] else row[c] for c in columns))
            sheet_rows.append(row_number)
            row_number += 1
            if blank_after == index:
                lines.append("")
                row_number += 1
        path = folder / "sheet.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path, sheet_rows
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(columns)
    for row in rows:
        cells = []
        for column in columns:
            value = row[column]
            try:
                cells.append(float(value) if column in ("r", "n") else value or None)
            except ValueError:
                cells.append(value)
        sheet.append([c if c != "" else None for c in cells])
    path = folder / "sheet.xlsx"
    workbook.save(path)
    return path, list(range(2, 2 + len(rows)))


def _check_report(path: Path, sheet_rows: list[int], planted: list, problems: list[Problem]) -> None:
    expected_rows = {sheet_rows[index] for index, *_ in planted}
    assert problems, "a malformed sheet passed"
    # nothing reported on clean rows, except the header problem of a coded column none of whose cells fits
    # its vocabulary: then every cell of that column holds a planted vocabulary problem
    on_rows = [p for p in problems if p.check != "vocabulary_column"]
    assert {p.row for p in on_rows} <= expected_rows, problems
    for header in (p for p in problems if p.check == "vocabulary_column"):
        assert header.row == 1
        planted_cells = {sheet_rows[index] for index, column, _, check in planted
                         if column == header.column and check == "vocabulary"}
        assert len(planted_cells) >= 2 and planted_cells == {p.row for p in on_rows if p.column == header.column
                                                             and p.check == "vocabulary"}, problems
    for index, column, written, check in planted:
        matches = [p for p in problems if p.row == sheet_rows[index] and p.check == check and p.column == column]
        assert matches, (index, column, written, check, problems)
        problem = matches[0]
        assert problem.rule and len(problem.rule) > 10
        if column and check != "not_nullable":  # XLSX stores 1.00 as the number 1
            assert problem.value == written or float(problem.value) == float(written)
        if check == "number" and column == "r":
            assert f'write "{written.replace(",", ".")}"' in problem.rule
    report = format_problems(problems, str(path))
    assert f"{len(problems)} problem" in report.splitlines()[0]
    assert all(_reported(p, report) for p in problems)


def _reported(problem: Problem, report: str) -> bool:
    """Whether ``problem`` has its line in ``report``: its own, or one naming its row among those of problems alike
    (same column, value and rule: ``rows 2-4, 7, column r, value "x": ...``)."""
    if str(problem) in report:
        return True
    tail = str(Problem(0, problem.column, problem.value, problem.rule)).removeprefix("row 0")
    for line in report.splitlines():
        found = re.fullmatch(r"\s*rows ((?:\d+(?:-\d+)?(?:, )?)+)" + re.escape(tail), line)
        if found and problem.row in _expanded(found[1]):
            return True
    return False


def _expanded(ranges: str) -> set[int]:
    """``2-4, 7`` as {2, 3, 4, 7}."""
    rows = set()
    for part in ranges.rstrip(", ").split(", "):
        first, _, last = part.partition("-")
        rows |= set(range(int(first), int(last or first) + 1))
    return rows


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@settings(max_examples=650, **SETTINGS)
@given(sheet=malformed_sheets(), kind=st.sampled_from(["csv", "csv", "csv", "xlsx"]))
def test_property_every_planted_problem_is_reported(tmp_path_factory, sheet, kind):
    rows, planted, blank_after = sheet
    folder = tmp_path_factory.mktemp("sheet")
    path, sheet_rows = _write(folder, rows, blank_after, kind)
    before = _digest(path)
    clean, problems = validate_sheet(read_sheet(path))
    assert _digest(path) == before
    _check_report(path, sheet_rows, planted, problems)


@settings(max_examples=350, **SETTINGS)
@given(sheet=malformed_sheets(), kind=st.sampled_from(["csv", "csv", "xlsx"]))
def test_property_cli_exits_one_with_a_report(tmp_path_factory, sheet, kind):
    rows, planted, blank_after = sheet
    folder = tmp_path_factory.mktemp("cli")
    path, sheet_rows = _write(folder, rows, blank_after, kind)
    before = _digest(path)
    output, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(errors):
        code = main([str(path)])
    assert code == 1
    assert _digest(path) == before
    report = output.getvalue()
    assert "Traceback" not in report + errors.getvalue()
    named = set().union(*(_expanded(found) for found in
                          re.findall(r"^  rows? ((?:\d+(?:-\d+)?(?:, (?=\d))?)+)", report, re.MULTILINE)))
    for index, column, written, check in planted:
        assert sheet_rows[index] in named, report


@settings(max_examples=3, **SETTINGS)
@given(sheet=malformed_sheets(), kind=st.sampled_from(["csv", "xlsx"]))
def test_property_cli_subprocess(tmp_path_factory, sheet, kind):
    rows, planted, blank_after = sheet
    folder = tmp_path_factory.mktemp("subprocess")
    path, sheet_rows = _write(folder, rows, blank_after, kind)
    before = _digest(path)
    result = subprocess.run([sys.executable, "-m", "alliance_meta.inputs.sheet", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert _digest(path) == before
    for index, *_ in planted:
        assert f"row {sheet_rows[index]}" in result.stdout


def test_group_comparisons_without_a_family_column_are_noted(tmp_path):
    clean, problems = validate_sheet(read_sheet(write_csv(tmp_path, "study_id,d,n1,n2\nS1,0.3,40,20\n")))
    assert problems == [] and clean["family"].tolist() == ["outcome"]
    assert any("no family column" in note and "comparisons (d;" in note and "family = dropout" in note
               for note in clean.attrs["notes"])
    # 2x2 counts too (dat.bcg without a family column went to the outcome family without a word)
    counts = validate_sheet(read_sheet(write_csv(tmp_path, "study_id,n11,n12,n21,n22\nS1,4,119,11,128\n")))[0]
    assert any("no family column" in note and "comparisons (counts;" in note for note in counts.attrs["notes"])
    with_family = validate_sheet(read_sheet(write_csv(tmp_path, "study_id,family,d,n1,n2\nS1,dropout,0.3,40,20\n")))[0]
    # correlations, also with the group sizes noted beside them
    correlations = validate_sheet(read_sheet(write_csv(tmp_path, "study_id,r,n,n1,n2\nS1,0.3,40,25,15\n")))[0]
    assert not any("family" in note for note in with_family.attrs["notes"] + correlations.attrs["notes"])


def test_rows_of_one_study_with_different_citations_are_noted(tmp_path):
    # S1: two authors and two years (a different study typed with its id?); S2: the same citation
    # in other case and spacing, and a row without authors; S3: one row
    path = write_csv(tmp_path, "study_id,authors,year,r,n\nS1,Smith & Lee,2004,0.3,50\nS2,Park,2010,0.2,40\n"
                               "S1,Ortiz,2009,0.1,80\nS2,park ,2010,0.25,40\nS2,,2010,0.3,40\nS3,Ng,2001,0.2,60\n")
    clean, problems = validate_sheet(read_sheet(path))
    assert problems == []
    notes = [note for note in clean.attrs["notes"] if note.startswith("rows of one study_id")]
    assert notes == ['rows of one study_id with different authors or year are pooled as one sample, labelled with the '
                     'first row\'s citation: study S1: authors "Smith & Lee" vs "Ortiz", year "2004" vs "2009" (rows 2, '
                     '4); give each study its own study_id if they are different samples']
    same = write_csv(tmp_path, "study_id,authors,year,r,n\nS1,Smith,2004,0.3,50\nS1,Smith,2004,0.2,50\n", "same.csv")
    assert not any(note.startswith("rows of one study_id") for note in validate_sheet(read_sheet(same))[0].attrs["notes"])


def test_a_configured_moderator_left_empty_is_noted(tmp_path):
    # modality: blank or spaces in every row; rater coded; age_mean (continuous) empty: one note each, no problem
    path = write_csv(tmp_path, "study_id,r,n,modality,rater,age_mean\nS1,0.3,50,,patient,\nS2,0.2,40, ,therapist,\n")
    clean, problems = validate_sheet(read_sheet(path), moderators=["modality", "rater"],
                                     continuous_moderators=["age_mean"])
    assert problems == []
    notes = [note for note in clean.attrs["notes"] if "empty in every row" in note]
    assert notes == ["modality (in the config's moderators) is empty in every row: its moderator analysis and figures "
                     "have nothing to compare; code it, or take it out of moderators",
                     "age_mean (in the config's continuous_moderators) is empty in every row: its moderator analysis "
                     "and figures have nothing to compare; code it, or take it out of continuous_moderators"]


def test_a_rob_overall_moderator_derived_from_the_domains_is_not_noted_as_empty(tmp_path):
    # rob_overall empty in the sheet but derived from the RoB 2 domains of both studies: analysed, so no "empty" note;
    # with no domain rated either it is empty, and noted
    path = write_csv(tmp_path, "study_id,r,n,rob_randomisation,rob_deviations,rob_missing_data,rob_measurement,"
                               "rob_selection,rob_overall\nS1,0.3,50,low,low,low,low,low,\n"
                               "S2,0.2,40,low,high,low,low,low,\n")
    clean, problems = validate_sheet(read_sheet(path), moderators=["rob_overall"], risk_of_bias={"tool": "rob2"})
    assert problems == [] and clean["rob_overall"].tolist() == ["low", "high"]
    assert not [note for note in clean.attrs["notes"] if "empty in every row" in note]
    unrated = write_csv(tmp_path, "study_id,r,n,rob_randomisation,rob_overall\nS1,0.3,50,,\nS2,0.2,40,,\n", "u.csv")
    notes = validate_sheet(read_sheet(unrated), moderators=["rob_overall"], risk_of_bias={"tool": "rob2"})[0].attrs
    assert [n for n in notes["notes"] if n.startswith("rob_overall (in the config's moderators) is empty in every")]


def test_a_study_copied_under_another_id_is_noted(tmp_path):
    # S9 copies S2 (citation, r, n); S3 and S4 share r and n only, without a citation: not noted
    path = write_csv(tmp_path, "study_id,authors,year,r,n\nS1,Ng,2001,0.3,50\nS2,Park,2010,0.2,40\n"
                               "S3,,,0.25,60\nS4,,,0.25,60\nS9,Park,2010,0.2,40\n")
    clean, problems = validate_sheet(read_sheet(path))
    assert problems == []
    assert [note for note in clean.attrs["notes"] if "entered twice" in note] == [
        "rows of different study_ids with the same cells in every other column, citation included (one study "
        "entered twice?): row 3 (study S2) = row 6 (study S9); delete the copy, or check the effect sizes"]


def test_rows_repeated_in_every_column_are_noted(tmp_path):
    # "S2 " is S2 once its space is trimmed: rows 3 and 4 repeat each other, as do 5, 6 and 7
    path = write_csv(tmp_path, "study_id,r,n,measure\nS1,0.3,50,WAI\nS2,0.2,40,WAI\nS2 ,0.2,40,WAI\n"
                               "S3,0.25,60,\nS3,0.25,60,\nS3,0.25,60,\nS3,0.25,60,CALPAS\n")
    clean, problems = validate_sheet(read_sheet(path))
    assert problems == []
    notes = [note for note in clean.attrs["notes"] if note.startswith("rows with the same cells")]
    assert notes == ["rows with the same cells in every column, each counted as one more effect size of its "
                     "study: 3 = 4 (study S2), 5 = 6 = 7 (study S3); delete a row pasted twice, or tell the effect "
                     "sizes apart (e.g. es_id, measure)"]
    result = subprocess.run([sys.executable, "-m", "alliance_meta.inputs.sheet", str(path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "note: rows with the same cells in every column" in result.stdout
    many = validate_sheet(read_sheet(write_csv(tmp_path, "study_id,r,n\n" + "S1,0.3,50\n" * 7, "many.csv")))[0]
    assert "2 = 3 = 4 = 5 = 6 = ... (7 rows) (study S1);" in many.attrs["notes"][-1]
    # rows that differ in any column (here measure) are not repeats
    distinct = validate_sheet(read_sheet(write_csv(tmp_path, "study_id,r,n,measure\nS1,0.3,50,WAI\nS1,0.3,50,HAq\n",
                                                   "distinct.csv")))[0]
    assert not any(note.startswith("rows with the same") for note in distinct.attrs["notes"])


def test_a_coded_column_with_no_value_of_its_vocabulary_is_named_once_in_the_header(tmp_path):
    """A reviewer's own `design` column (cross-sectional, prospective) shares a codebook name: besides
    one problem per cell, one header problem says the column looks like another variable."""
    foreign = problems_of(tmp_path, "study_id,r,n,design\nS1,0.3,50,cross-sectional\nS2,0.2,60,prospective\n"
                                    "S3,0.1,70,retrospective\n")
    header = only(foreign, "vocabulary_column")
    assert (header.row, header.column) == (1, "design")
    assert "RCT, naturalistic" in header.rule and "study_design" in header.rule
    assert sum(p.check == "vocabulary" for p in foreign) == 3
    # dat.molloy2014's own design column: cross-sectional is near naturalistic, prospective near nothing
    molloy = problems_of(tmp_path, "study_id,r,n,design\nS1,0.3,50,cross-sectional\nS2,0.2,60,prospective\n")
    assert only(molloy, "vocabulary_column").column == "design"
    # one value of the vocabulary (or a single filled cell) is a typo, not another variable
    mixed = problems_of(tmp_path, "study_id,r,n,design\nS1,0.3,50,RCT\nS2,0.2,60,prospective\n")
    single = problems_of(tmp_path, "study_id,r,n,design\nS1,0.3,50,prospective\nS2,0.2,60,\n")
    assert not [p for p in mixed + single if p.check == "vocabulary_column"]
    assert [p.check for p in mixed] == [p.check for p in single] == ["vocabulary"]
    # every cell misspelt alike is a typo too
    misspelt = problems_of(tmp_path, "study_id,r,n,design\nS1,0.3,50,randomised controled\nS2,0.2,60,RTC\n")
    assert [p.check for p in misspelt] == ["vocabulary", "vocabulary"]


def test_an_es_id_repeated_within_a_study_is_a_problem_on_each_of_its_rows(tmp_path):
    """Two rows of S1 with es_id S1-1: the second coder's comparison refuses the sheet and
    results/changes.csv would see one effect size; every row of the pair is reported."""
    path = write_csv(tmp_path, "study_id,es_id,r,n\nS1,S1-1,0.3,50\nS1,S1-2,0.2,60\nS1,S1-1,0.25,70\n"
                               "S2,S2-1,0.1,40\n")
    problems = [p for p in validate_sheet(read_sheet(path))[1] if p.check == "es_id_repeated"]
    assert [(p.row, p.column, p.value) for p in problems] == [(2, "es_id", "S1-1"), (4, "es_id", "S1-1")]
    assert problems[0].rule.startswith("is also the es_id of row 4 of study S1: give each effect size of a "
                                       "study its own es_id")
    report = format_problems(validate_sheet(read_sheet(path))[1])
    assert "repeated identifiers (2):" in report and 'row 4, column es_id, value "S1-1": is also the es_id of row 2' in report
    result = subprocess.run([sys.executable, "-m", "alliance_meta.inputs.sheet", str(path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout


def test_the_same_es_id_in_two_studies_and_empty_es_ids_are_not_repeats(tmp_path):
    # es_id 1 in S1 and in S2 (two effect sizes); S3's two rows without es_id; S4's blank row is S4-2, unused
    path = write_csv(tmp_path, "study_id,es_id,r,n\nS1,1,0.3,50\nS2,1,0.2,60\nS3,,0.25,70\nS3,,0.1,40\n"
                               "S4,S4-1,0.2,50\nS4,,0.3,50\n")
    clean, problems = validate_sheet(read_sheet(path))
    assert problems == []
    # a row without es_id is numbered study_id-k by its place (effect_sizes.csv, the coder comparison):
    # here S1-2, which row 2 has as its es_id
    taken = problems_of(tmp_path, "study_id,es_id,r,n\nS1,S1-2,0.3,50\nS1,,0.2,60\n")
    assert [(p.row, p.value, p.check) for p in taken] == [(2, "S1-2", "es_id_repeated"), (3, "", "es_id_repeated")]
    assert "is empty, so the row is numbered S1-2 by its place among the rows of study S1" in taken[1].rule


def test_a_row_of_totals_below_the_studies_is_a_problem():
    """A spreadsheet's 'Total' row with the mean r and the summed n was analysed as one more study, silently."""
    sheet = pd.DataFrame({"study_id": ["S1", "S2", "Total", None, "S3"], "authors": ["Smith", "Jones", None, "Mean:",
                                                                                   "Total Care Group"],
                          "r": ["0.3", "0.2", "0.25", "0.25", "0.1"], "n": ["100", "80", "180", "90", "50"]})
    _, problems = validate_sheet(sheet)
    summary = [(p.row, p.column, p.value) for p in problems if p.check == "summary_row"]
    assert summary == [(4, "study_id", "Total"), (5, "authors", "Mean:")]  # a real author's name is not one
    assert "delete the row (it would be analysed as one more study)" in format_problems(problems)


def test_a_row_of_totals_without_an_effect_size_is_one_problem(tmp_path):
    """A 'Total' row summing n (no r) was also told 'has n = 110 but no effect size: fill e.g. r beside it', advice
    to make it a study."""
    problems = problems_of(tmp_path, "study_id,r,n\nS1,0.3,50\nS2,0.2,60\nTotal,,110\n")
    assert [(p.row, p.check) for p in problems] == [(4, "summary_row")]


def test_a_line_break_in_a_header_cell_is_a_space(tmp_path):
    """A header wrapped with Alt+Enter ("Rater\\n(patient/therapist)") was printed across two lines of the problem list,
    and a moderator named "Rater (patient/therapist)" in the config was not found."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["study_id", "r\n(Pearson)", "n", "Rater\r\n(patient/therapist)"])
    workbook.active.append(["S1", 0.3, 50, "patient"])
    workbook.save(tmp_path / "wrapped.xlsx")
    raw = read_sheet(tmp_path / "wrapped.xlsx")
    assert list(raw.columns) == ["sheet_row", "study_id", "r (Pearson)", "n", "Rater (patient/therapist)"]
    problems = validate_sheet(raw, moderators=["Rater (patient/therapist)"])[1]
    assert [(p.row, p.column, p.check) for p in problems] == [(1, "r (Pearson)", "input_column_alias"),
                                                             (2, "", "no_complete_input")]
    assert "row 1, column r (Pearson): is not a codebook column" in format_problems(problems)


def test_an_n_that_is_not_n1_plus_n2_gets_a_note(tmp_path):
    # r with n = 120 beside n1 + n2 = 90 passed without a word: the variance took n, the r-d conversion n1 and n2;
    # a note, not a problem (n randomised beside the groups analysed is a sheet that should still run)
    sheet = tmp_path / "s.csv"
    sheet.write_text("study_id,family,r,d,n,n1,n2,n11,n12,n21,n22\n"
                     "S1,outcome,0.3,,120,45,45,,,,\n"     # differs
                     "S2,outcome,0.3,,90,45,45,,,,\n"      # agrees
                     "S3,dropout,,0.4,100,45,50,,,,\n"     # differs
                     "S4,outcome,0.3,,100,,,,,,\n"         # no group sizes
                     "S5,dropout,,,60,30,30,20,10,20,10\n")  # a 2x2 table: its own check
    clean, problems = validate_sheet(read_sheet(sheet))
    assert problems == []
    assert [note for note in clean.attrs["notes"] if note.startswith("n is not")] == [
        "n is not n1 + n2 in row 2 (n = 120, n1 + n2 = 90); row 4 (n = 100, n1 + n2 = 95): a group comparison (d, g, "
        "means, t, F or p between groups) takes its n from n1 + n2 and leaves n aside, while a correlation's "
        "variance takes n and n1, n2 only convert it to d; check them, or leave out the one the row does not need"]


def test_a_large_fisher_z_gets_a_note_asking_whether_it_is_a_test_statistic(tmp_path):
    # a z test of a correlation (3.2) typed as Fisher's z read as r = .997 without a word
    sheet = tmp_path / "s.csv"
    sheet.write_text("study_id,fisher_z,r,n\nS1,3.2,,103\nS2,1.49,,50\nS3,-1.6,,\nS4,,0.95,80\n")
    clean, problems = validate_sheet(read_sheet(sheet))
    notes = [note for note in clean.attrs["notes"] if note.startswith("fisher_z")]
    assert [(p.row, p.column) for p in problems] == [(4, "n")]  # S3 has no n: no complete input, no note
    assert notes == ["fisher_z is 1.5 or more (r >= 0.905) in row 2 (fisher_z = 3.2, r = 0.997; as a test statistic, "
                     "Fisher's z = 0.320): if the paper reports the z test of the correlation, not Fisher's z, type "
                     "the correlation's r, or Fisher's z = z / sqrt(n - 3)"]


def test_effect_size_columns_under_other_names_are_named_where_rows_lack_an_input(tmp_path):
    # OR, CI_lower, CI_upper were ignored without a word: each row 'has n = 120 but no effect size'
    problems = problems_of(tmp_path, "study_id,family,OR,CI_lower,CI_upper,Cohen's d,N\n"
                                     "S1,dropout,1.8,1.1,2.9,,120\nS2,dropout,2.1,1.2,3.5,,90\n")
    assert [(p.row, p.column, p.check) for p in problems] == [
        (1, "OR", "input_column_alias"), (1, "CI_lower", "input_column_alias"), (1, "CI_upper", "input_column_alias"),
        (1, "Cohen's d", "input_column_alias"), (2, "", "no_complete_input"), (3, "", "no_complete_input")]
    assert problems[0].rule == ("is not a codebook column, so its cells are not read: did you mean odds_ratio? "
                                "Rename it odds_ratio (input kinds: config/README.md)")
    # beside complete inputs the same names are the reviewer's own columns
    assert problems_of(tmp_path, "study_id,r,n,OR,lower\nS1,0.3,120,1.8,1.1\n") == []


def test_effect_size_columns_with_a_remark_in_brackets_are_named_where_rows_lack_an_input(tmp_path):
    """"r (Pearson)" and "Pearson's r" were ignored without a word ("N (total)" was named): each row was told to 'fill
    e.g. r and n' although the sheet has them, under a name with a remark."""
    problems = problems_of(tmp_path, "study_id,r (Pearson),Sample size (N),Pearson's r,d [Cohen]\nS1,0.3,120,0.3,\n")
    assert [(p.row, p.column, p.check) for p in problems] == [
        (1, "r (Pearson)", "input_column_alias"), (1, "Sample size (N)", "input_column_alias"),
        (1, "Pearson's r", "input_column_alias"), (1, "d [Cohen]", "input_column_alias"), (2, "", "no_complete_input")]
    assert [p.rule.split("did you mean ")[1][:2] for p in problems[:4]] == ["r?", "n?", "r?", "d?"]
    assert problems_of(tmp_path, "study_id,r,n,r (Pearson)\nS1,0.3,120,0.3\n") == []  # beside r: the reviewer's own


def test_a_folder_is_not_called_missing(tmp_path):
    """am.read_sheet("data/raw") said "no such file" of a folder that is there."""
    import alliance_meta as am

    with pytest.raises(SheetError, match="it is a folder, not a file"):
        read_sheet(tmp_path)
    with pytest.raises(am.SheetProblems, match="it is a folder, not a file"):
        am.read_sheet(tmp_path)


def test_a_missing_sheet_names_a_file_of_a_near_name(tmp_path, monkeypatch):
    """am.read_sheet("mine.xlsx") said only "no such file" where mine.csv (or Mine.xlsx, mine.xls) was there; the
    config check of the sheet's path suggests the near name, and so does the reader now."""
    import re

    import alliance_meta as am

    monkeypatch.chdir(tmp_path)
    for present, given in (("mine.csv", "mine.xlsx"), ("Mine.xlsx", "mine.xlsx"), ("mine.xls", "mine.xlsx"),
                           ("a.csv", "a.xlsx"), ("AB.CSV", "ab.csv")):
        (tmp_path / present).write_text("study_id,r,n\nS1,0.3,50\n")
        with pytest.raises(am.SheetProblems, match=re.escape(f"cannot read {given}: no such file; did you mean "
                                                             f"{present}?")):
            am.read_sheet(given)
        (tmp_path / present).unlink()
    with pytest.raises(SheetError, match=r"no such file$"):  # nothing near it
        read_sheet("other.xlsx")


def test_a_repeated_column_name_names_its_columns_and_the_other_problems_are_reported_too(tmp_path):
    """Two header cells that are one codebook column ("R" and "r"): one problem naming both columns as written,
    and every problem of the rows in the same round (not only the header's)."""
    problems = problems_of(tmp_path, "study_id,R,n,r\nS1,0.3,50,\nS2,0.2,n=40,\n,0.1,30,\n")
    assert [(p.row, p.column, p.check) for p in problems] == [
        (1, "r", "duplicate_column"), (3, "n", "number"), (4, "study_id", "not_nullable")]
    assert problems[0].rule.startswith('is the name of 2 columns, B ("R"), D ("r") (column names are matched '
                                       "without case and spaces): rename or delete all but one")
    assert "repeated column names (1):" in format_problems(problems)


def test_reverse_ticked_with_x_is_not_called_another_variable_to_rename(tmp_path):
    """x or a tick in every filled reverse cell: each cell is a problem (yes or no?), but no header problem
    advising to give the column a name of its own, which would drop the sign flips without a word."""
    problems = problems_of(tmp_path, "study_id,r,n,reverse\nS1,0.3,50,x\nS2,-0.2,60,\u2713\nS3,0.1,70,\n")
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "reverse", "vocabulary"),
                                                              (3, "reverse", "vocabulary")]
    assert not any("name of its own" in p.rule for p in problems)


def test_a_study_id_with_a_leading_apostrophe_is_noted_as_a_spelling_of_another(tmp_path):
    """'S01 (Excel's text mark typed into a CSV) and S01 are two studies to the analysis: the note on study_id
    values that differ only in punctuation names them, as it does S01 and s01."""
    clean, problems = validate_sheet(read_sheet(write_csv(
        tmp_path, "study_id,r,n\nS01,0.3,50\n'S01,0.2,50\n'7,0.1,40\n07,0.2,40\nS02,0.25,60\n")))
    assert problems == []
    note = next(note for note in clean.attrs["notes"] if note.startswith("study_id values that differ only"))
    assert '"S01" (row 2) vs "\'S01" (row 3)' in note and '"\'7" (row 4) vs "07" (row 5)' in note


def test_a_hyphen_as_the_direction_of_an_f_is_one_problem_that_says_why(tmp_path):
    """direction "-" (typed for negative) on a row converted from F: one problem, saying that a hyphen is not read
    as negative, not also "is required ...: write positive or negative" for a cell that is filled."""
    problems = problems_of(tmp_path, "study_id,f,df,direction\nS1,4.2,48,-\nS2,3.1,40,\u2212\nS3,2.5,30,posittive\n")
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [(2, "direction", "-", "vocabulary"),
                                                                       (4, "direction", "posittive", "vocabulary")]
    assert problems[0].rule.endswith('a hyphen or dash is not read as negative (it may stand for "not reported"): '
                                     "write negative or positive")
    assert 'did you mean "positive"?' in problems[1].rule


def test_a_column_of_the_reviewers_own_named_like_an_input_is_not_called_a_misnamed_input(tmp_path):
    """A moderator "lower" (yes/no) or a column "or" ticked with x, on a sheet where one row lacks its n, was named
    as "did you mean or_ci_lower?" / "odds_ratio?" beside the row's own problem: it holds no number, or the config
    names it."""
    problems = problems_of(tmp_path, "study_id,r,n,lower,or\nS1,0.3,50,yes,x\nS2,0.2,,no,x\n")
    assert [(p.row, p.column, p.check) for p in problems] == [(3, "n", "no_complete_input")]
    sheet = write_csv(tmp_path, "study_id,r,n,lower\nS1,0.3,50,12\nS2,0.2,,18\n")  # numbers: named unless configured
    assert [(p.column, p.check) for p in validate_sheet(read_sheet(sheet))[1]] == [
        ("lower", "input_column_alias"), ("n", "no_complete_input")]
    assert [(p.column, p.check) for p in validate_sheet(read_sheet(sheet), moderators=["lower"])[1]] == [
        ("n", "no_complete_input")]


def test_2x2_messages_name_the_groups_of_a_reversed_row():
    """reverse = yes swaps the table's rows (models/counts.py table_rows): the sheet's n11 + n12 is then the
    weaker-alliance group, but the messages for a share in a cell, an empty group and counts that contradict n1
    called it the stronger-alliance group."""
    import tempfile

    def rules(text):
        with tempfile.TemporaryDirectory() as folder:
            return {(p.row, p.column): p.rule for p in problems_of(Path(folder), text)}

    shares = rules("study_id,family,n11,n12,n21,n22,reverse\nS1,dropout,85%,15,60,40,yes\n"
                   "S2,dropout,0.85,15,60,40,yes\nS3,dropout,85%,15,60,40,no\n")
    for cell in ((2, "n11"), (3, "n11")):
        assert "n11 + n12 is the weaker-alliance group (reverse = yes), n21 + n22 the stronger" in shares[cell]
    assert "n11 + n12 is the stronger-alliance group, n21 + n22 the weaker" in shares[(4, "n11")]
    empty = rules("study_id,family,n11,n12,n21,n22,reverse\nS1,dropout,0,0,6,4,yes\nS2,dropout,0,0,6,4,\n")
    assert "no patients in the weaker-alliance group (n11 + n12 = 0)" in " ".join(empty.values())
    assert "no patients in the stronger-alliance group (n11 + n12 = 0)" in " ".join(empty.values())
    sizes = rules("study_id,family,n11,n12,n21,n22,n1,reverse\nS1,dropout,8,2,6,4,12,yes\n")
    assert "the first pair the weaker-alliance group (reverse = yes)" in " ".join(sizes.values())


# ---------------------------------------------------------------------------
# Odd numeric cells: ranges, signs beside decimal commas, other digits' thousands, numeric codes
# ---------------------------------------------------------------------------

NUMERIC_CELLS = {"r": "", "n": "", "n1": "20", "n2": "20", "m1": "1", "sd1": "2", "m2": "2", "sd2": "3",
                 "year": "2001"}


def number_problem(folder: Path, column: str, written: str, separator: str = ",") -> Problem:
    """The one problem of ``written`` in ``column`` of a one-row sheet whose other cells are a complete input (means
    and SDs; r and n for r), in a comma-separated sheet (decimal points) or a semicolon-separated one (commas)."""
    cells = dict(NUMERIC_CELLS, **({"r": "0.3", "n": "50", "m1": "", "sd1": "", "m2": "", "sd2": ""}
                                   if column in ("r", "n") else {}))
    cells[column] = written
    if separator == ";":
        cells = {name: value if name == column else value.replace(".", ",") for name, value in cells.items()}
    text = separator.join(["study_id", *cells]) + "\n" + separator.join(["S1", *(f'"{v}"' for v in cells.values())])
    problems = [p for p in problems_of(folder, text + "\n") if p.column == column]
    assert len(problems) == 1 and problems[0].value == written, problems
    return problems[0]


@pytest.mark.parametrize("column, written", [("sd1", "2-4"), ("sd1", "2\u20134"), ("n1", "40-45"), ("r", ".2-.3"),
                                             ("year", "2001-2002"), ("m1", "1 to 2"),
                                             ("sd1", "2 \u2013 4 (range)"), ("n1", "40-45 (approx.)")])
def test_a_range_in_a_numeric_cell_asks_for_one_value_and_offers_none(tmp_path, column, written):
    """sd1 = "2-4" was told 'is not a number; write "2"', the range's first end taken for the value (n1 = "40-45":
    40, year 2001-2002: 2001): a range is told it is one, and that a single value is needed, with none offered."""
    problem = number_problem(tmp_path, column, written)
    assert "looks like a range" in problem.rule
    assert "single value" in problem.rule or "not one year" in problem.rule
    assert '"' not in problem.rule  # no value to write


@pytest.mark.parametrize("separator, column, written, told, not_told", [
    # decimal commas (a semicolon-separated sheet): the advice writes commas, as its other advice does
    (";", "m1", "- 2,5", 'write "-2,5" (decimal comma, no text or units)', '"2.5"'),  # was: write "2.5"
    (";", "m1", "\u22122,5x", 'write "-2,5" (decimal comma, no text or units)', "decimal point"),
    (";", "r", "2,5", 'the decimal comma left out or misplaced? write "0,25"', '"0.25"'),
    (";", "sd1", "\u22122,5", 'if the \u2212 is a dash, not a minus sign, write "2,5"', '"2.5"'),
    (";", "sd1", "-2,5x", '"-2,5", is one the column does not take: standard deviations must be positive', 'write "'),
    # decimal points: "-2,5" in sd1 was told to write "2.5", its sign dropped; "\u22122,5" that it reads as -2.5
    (",", "sd1", "-2,5", '"-2.5", is one the column does not take: standard deviations must be positive', 'write "'),
    (",", "sd1", "\u22122,5", '"-2.5", is one the column does not take: standard deviations must be positive',
     "reads as"),
    (",", "m1", "- 2.5", 'write "-2.5" (decimal point, no text or units)', '"2.5"'),
    # was told the number in it, "-1", is refused
    (",", "sd1", "-1 234 567", '"-1234567", is one the column does not take', '"-1"')])
def test_a_negative_number_keeps_its_sign_and_the_sheets_decimal_mark(tmp_path, separator, column, written, told,
                                                                      not_told):
    """In a sheet of decimal commas "\u22122,5" and "-2,5" with text were told to write "-2.5" or "2.5": a decimal
    point where every other piece of advice writes commas, or the sign lost; the advice keeps both."""
    problem = number_problem(tmp_path, column, written, separator)
    assert told in problem.rule
    assert not_told not in problem.rule


ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "".join(chr(0x0660 + digit) for digit in range(10)))


def test_thousands_in_other_digits_count_towards_the_columns_thousands_line(tmp_path):
    """n = 2.500 in Arabic-Indic digits is given the thousands advice (write "2500" if the point separates
    thousands), but was left out of the column's one-line count of such cells: it is counted as its 0-9 twin is."""
    text = "study_id,r,n\nS1,0.3,1.200\nS2,0.3,{}\nS3,0.3,{}\nS4,0.2,50\n".format(
        "2.500".translate(ARABIC_INDIC_DIGITS), "3.400".translate(ARABIC_INDIC_DIGITS))
    problems = problems_of(tmp_path, text)
    assert [(p.row, p.written) for p in problems] == [(2, "thousands"), (3, "thousands"), (4, "thousands")]
    assert 'if the point separates thousands, write "2500"' in problems[1].rule
    assert 'column n: 3 cells written with thousands separators, e.g. row 2 "1.200"' in format_problems(problems)


def test_numeric_codes_in_a_vocabulary_column_are_one_line_per_column_and_value(tmp_path):
    """modality = 1, 2, 3 (a coding manual's codes) gave one line per row: the rows of one code are one line naming
    them all, as hidden rows are; each row is still a problem of its own."""
    text = ("study_id,r,n,modality,rater\nS1,0.3,50,1,patient\nS2,0.3,60,2,patient\nS3,0.2,70,1,1\n"
            "S4,0.1,80,1,patient\nS5,0.1,80,CBT,patient\n")
    problems = problems_of(tmp_path, text)
    assert [(p.row, p.column, p.value) for p in problems] == [
        (2, "modality", "1"), (3, "modality", "2"), (4, "modality", "1"), (4, "rater", "1"), (5, "modality", "1")]
    lines = format_problems(problems).splitlines()
    grouped = [line for line in lines if 'column modality, value "1"' in line]
    assert len(grouped) == 1 and grouped[0].startswith("  rows 2, 4, 5, column modality, value \"1\": is not in the "
                                                       "vocabulary of modality")
    assert any(line.startswith('  row 3, column modality, value "2": ') for line in lines)
    assert any(line.startswith('  row 4, column rater, value "1": ') for line in lines)
    assert "a numeric code? write the value of modality it stands for" in grouped[0]


@pytest.mark.parametrize("column, written, told", [
    ("r", "n=45", None),  # was: write "45", an r the column refuses
    ("sd1", "1\u00a0200", "1200"),  # a space between thousands: was "1", the 200 dropped
    ("sd1", "0.3 (0.1)", None),  # a mean and its SD: was "0.3", the mean, for an SD
    ("m1", "0.3 \u00b1 0.1", None),
    ("m1", "1 200,5", "1200.5"), ("m1", "1 200.5", "1200.5"),  # groups of a space and a decimal tail: were "1"
    ("m1", "1 234 567 kg", None),  # its first group alone: was "1"
    ("m1", "\uff0d2,5", "-2.5"), ("m1", "\u066b5", "0.5"),  # a fullwidth minus, the Arabic decimal mark: were "2.5", "5"
    ("year", "45%", None)])
def test_an_odd_cell_is_offered_no_value_its_column_refuses_or_that_is_half_of_it(tmp_path, column, written, told):
    problem = number_problem(tmp_path, column, written)
    if told:
        assert f'write "{told}"' in problem.rule
    else:
        assert 'write "' not in problem.rule


@pytest.mark.parametrize("column", ["n", "sd1"])
@pytest.mark.parametrize("kind", ["points", "commas", "xlsx"])
def test_a_unicode_minus_before_thousands_in_other_digits_is_told_not_a_traceback(tmp_path, column, kind):
    """n = "\u2212\u0663.\u0664\u0660\u0660" (-3.400 in Arabic-Indic digits, a negative the column refuses) raised
    ValueError (float("\u22123400")) while its cell was counted for the thousands line: it is told as its 0-9 twin
    is."""
    written = "\u22123.400".translate(ARABIC_INDIC_DIGITS)
    if kind == "xlsx":
        workbook = openpyxl.Workbook()
        workbook.active.append(["study_id", *NUMERIC_CELLS])
        cells = dict(NUMERIC_CELLS, **({"r": 0.3, "n": written, "m1": None, "sd1": None, "m2": None, "sd2": None}
                                       if column == "n" else {column: written}))
        workbook.active.append(["S1", *(float(v) if isinstance(v, str) and v.isascii() and v else v or None
                                        for v in cells.values())])
        path = tmp_path / "sheet.xlsx"
        workbook.save(path)
        [problem] = [p for p in validate_sheet(read_sheet(path))[1] if p.column == column]
    else:
        problem = number_problem(tmp_path, column, written, "," if kind != "commas" else ";")
    assert problem.written == ("thousands" if column == "n" and kind == "commas" else "")  # as its 0-9 twin
    told = "has a point in a sheet read with decimal commas" if kind == "commas" else "reads as -3.400"
    assert told in problem.rule


def test_other_digits_count_as_thousands_only_where_their_message_says_so(tmp_path):
    """sd1 = 2.500, 1.250, 3.125 in Arabic-Indic digits (each told to write "2.500": it passes as 2.5) and
    1.234.567 (no number as read) were counted in "column sd1: 3 cells written with thousands separators"."""
    cells = [v.translate(ARABIC_INDIC_DIGITS) for v in ("2.500", "1.250", "3.125", "1.234.567")]
    text = "study_id,m1,sd1,n1,m2,sd2,n2\n" + "".join(f"S{i},1,{v},20,1,2,20\n" for i, v in enumerate(cells))
    problems = problems_of(tmp_path, text)
    assert [(p.column, p.written) for p in problems] == [("sd1", "")] * 4
    assert 'write it in the digits 0-9, "2.500"' in problems[0].rule
    assert "thousands" not in format_problems(problems)


@pytest.mark.parametrize("column, written, told", [
    ("n", "0,45", "must be a whole number: 0.45 looks like a proportion of the sample"),
    ("p", "0,000", 'SPSS prints a p below .0005 as ".000"'),
    ("rxx", "8,5", "a reliability must lie in (0, 1]"),
    ("r", "4,5", 'the decimal point left out or misplaced? write "0.45"'),
    ("r", "-2,5", 'the decimal point left out or misplaced? write "-0.25"')])  # was told only "is not a number"
def test_a_decimal_comma_the_column_refuses_is_still_pointed_out(tmp_path, column, written, told):
    """n = "0,45" in a sheet of decimal points was told 'write "0.45" ..., or set decimal: ","'; with 0.45 no longer
    offered (the column refuses it) it was told only "is not a number": the decimal comma and the refusal are told."""
    problem = number_problem(tmp_path, column, written)
    assert 'or set decimal: "," in the config to read the sheet\'s decimal commas' in problem.rule
    assert f'"{written.replace(",", ".")}", is one the column does not take' in problem.rule
    assert told in problem.rule


@pytest.mark.parametrize("written, offered", [("<0", None), ("p < 1.5", None), ("p < .001", "0.001")])
def test_a_p_bound_is_offered_only_where_it_is_a_p(tmp_path, written, offered):
    """p = "<0" was offered "0", "p < 1.5" "1.5": bounds the column refuses."""
    problem = number_problem(tmp_path, "p", written)
    assert problem.rule.startswith("is a bound, not a p value")
    assert (f'"{offered}", the bound' in problem.rule) if offered else ('"' not in problem.rule)


@pytest.mark.parametrize("separator", [",", ";"])
@pytest.mark.parametrize("written, offered", [
    ("1,234,567", "1234567"), ("12,5,3", None), ("1.2.3", None), ("1 234 567", "1234567"),
    # signed: "-1 234 567" was offered "-1", "-1,234,567", "+1.234.567" and "\u22121.234.567" nothing (or, in a sheet
    # of decimal commas, "\u22121234567" with its Unicode minus)
    ("-1 234 567", "-1234567"), ("-1,234,567", "-1234567"), ("+1.234.567", "1234567"), ("\u22121.234.567", "-1234567"),
    ("1.2,3", None), ("1,2.3", None)])  # marks mixed, no thousands: were offered "1.2" ("1,2") and "1,2" ("1.2")
def test_repeated_or_mixed_decimal_marks_are_not_cut_off(tmp_path, separator, written, offered):
    """m1 = "1,234,567" was offered "1.234" ("1,234" in a sheet of decimal commas) and "12,5,3" "12.5": the number
    cut at its second mark. Groups of three are one whole number; other repeated marks offer none."""
    assert suggest_number(written) == offered
    problem = number_problem(tmp_path, "m1", written, separator)
    assert (f'write "{offered}"' in problem.rule) if offered else ('"' not in problem.rule)


@pytest.mark.parametrize("column, written, told", [
    ("m1", "1.234.567", 'is 1234567 written with points between thousands: write "1234567"'),
    ("m1", "\u22121.234.567", 'is -1234567 written with points between thousands: write "-1234567"'),  # was "\u2212..."
    ("r", "1.234.567", "is 1234567 written with points between thousands, which the column does not take: must lie "
                       "strictly between -1 and 1")])
def test_two_points_in_a_sheet_of_decimal_commas_are_read_not_a_traceback(tmp_path, column, written, told):
    """A semicolon-separated sheet with "1.234.567" in a numeric column raised ValueError in read_sheet (its decimal
    reading, float("1.234.567")): two points have no decimal reading, and the cell is told what it is."""
    problem = number_problem(tmp_path, column, written, ";")
    assert problem.check == "ambiguous_point" and problem.rule == told


@pytest.mark.parametrize("column, written, told", [
    ("n1", "20/25", "holds two numbers, not one: write the one value of n1"),
    ("t", "2.1 (48)", "holds two numbers, not one: write the one value of t"),
    ("r", "3e-1-4e-1", "looks like a range, not a single value"),  # was offered "3e-1"
    ("year", "2001-02", "looks like a range of years or a date (a year and month), not one year")])
def test_two_numbers_ranges_with_exponents_and_year_ranges_are_told_what_they_may_be(tmp_path, column, written, told):
    """n1 = "20/25" and t = "2.1 (48)" were told they hold "a mean and its SD"; "3e-1-4e-1" was offered "3e-1";
    year "2001-02" (2001 to 2002, or February 2001) was told only it is a range of years."""
    problem = number_problem(tmp_path, column, written)
    assert told in problem.rule
    assert "mean" not in problem.rule and 'write "' not in problem.rule


@pytest.mark.parametrize("column, written, told", [
    ("n", "-3.400", "and the column takes neither reading: -3400 (the point between thousands) or -3,400"),
    ("n", "\u22123.400", "and the column takes neither reading: -3400 (the point between thousands) or -3,400"),
    ("rxx", "1.000", 'write "1,000" if it is a decimal point, as rxx = 1000 (the point between thousands) is impossible'),
    ("m1", "\u22123.400", 'write "-3400" if the point separates thousands, or "-3,400" if it is a decimal point')])
def test_one_point_in_a_sheet_of_decimal_commas_offers_only_readings_the_column_takes(tmp_path, column, written, told):
    """n = "-3.400" in a sheet of decimal commas was told to write "-3,400" (or "\u22123400"), which n refuses, and
    m1 = "\u22123.400" kept its Unicode minus in the advice: a refused reading is not offered, a minus is a hyphen."""
    cells = {"n": "50", "r": "0,3", "rxx": "0,8"} if column in ("n", "rxx") else {
        "m1": "1", "sd1": "2", "n1": "20", "m2": "2", "sd2": "3", "n2": "20"}
    cells[column] = written
    text = "study_id;" + ";".join(cells) + "\nS1;" + ";".join(cells.values()) + "\n"
    [problem] = [p for p in problems_of(tmp_path, text) if p.column == column]
    assert problem.check == "ambiguous_point" and told in problem.rule
    assert "\u2212" not in problem.rule
    if column != "m1":
        assert not re.search(r'write "-?3,?400"|write "1000"', problem.rule)


@pytest.mark.parametrize("written, years", [("2001-02", True), ("2001 - 2002", True), (".2-.3", False),
                                            ("3e-1-4e-1", False), ("2-4", False), ("200-300", False)])
def test_only_a_year_and_two_or_four_digits_is_told_it_may_be_a_range_of_years(tmp_path, written, years):
    """year = ".2-.3", "3e-1-4e-1" and "2-4" were told they look like a range of years or a date."""
    rule = number_problem(tmp_path, "year", written).rule
    assert ("a range of years or a date" in rule) is years
    assert ("looks like a range, not a single value" in rule) is not years


@pytest.mark.parametrize("column, written, told", [
    ("m1", "\uff0d\uff12", 'write it in the digits 0-9, "-2"'),  # was told to write "2", its sign dropped
    ("sd1", "\uff0d\uff12", '("-2" in 0-9), which the column does not take: standard deviations must be positive')])
def test_a_fullwidth_minus_is_a_minus_sign(tmp_path, column, written, told):
    assert told in number_problem(tmp_path, column, written).rule


@pytest.mark.parametrize("column, written, separator", [
    ("r", "0.3, 0.4", ","), ("r", "0,3, 0,4", ";"), ("sd1", "2.1, 3.4", ","), ("year", "2001, 2002", ","),
    ("sd1", "2, 5", ","), ("n", "20, 25", ",")])  # not a decimal comma where the sheet reads decimal points
def test_a_comma_and_a_space_between_two_numbers_is_two_numbers(tmp_path, column, written, separator):
    """r = "0.3, 0.4" in a sheet of decimal points was offered 0.3, its first number: a comma and a space part two
    numbers, told as "0.3 (0.1)" and "20/25" are, with none offered."""
    rule = number_problem(tmp_path, column, written, separator).rule
    assert rule.startswith("holds two numbers, not one") and 'write "' not in rule


@pytest.mark.parametrize("column, written, separator", [
    ("n", "1, 000", ","), ("n", "1, 000", ";"), ("m1", "-12, 345, 678", ","), ("sd1", "2, 5", ";"), ("r", "0, 3", ";")])
def test_a_space_after_a_comma_of_one_number_is_no_two_numbers(tmp_path, column, written, separator):
    """n = "1, 000" (1000 with a stray space) and, in a sheet of decimal commas, sd1 = "2, 5" (2,5) were told they
    hold "two numbers, not one": the space after the comma makes them no number, and none is offered."""
    rule = number_problem(tmp_path, column, written, separator).rule
    assert "the space after its comma makes it no number" in rule and "two numbers" not in rule, rule
    assert 'write "' not in rule


@pytest.mark.parametrize("column, written, told", [
    ("n", "1,200", 'is read with a decimal comma, the sheet\'s decimal mark, as a number between 1 and 2, not 1200; '
                   'if the comma separates thousands, write "1200"'),
    ("n1", "0,45", "must be a whole number: 0,45 looks like a proportion of the sample"),
    ("r", "\u0660\u066b\u0663", 'write it in the digits 0-9, "0,3"'),  # Arabic-Indic 0.3
    ("n", "1.200", "(n = 1,2 is impossible)")])
def test_a_sheet_of_decimal_commas_is_told_its_numbers_with_decimal_commas(tmp_path, column, written, told):
    """In a sheet read with decimal commas "1,200" in n was told it "is read as 1.2", n1 = "0,45" that "0.45 looks
    like a proportion" and Arabic-Indic 0.3 to write "0.3": a number a message quotes as read or to write has the
    sheet's own decimal mark (one helper, _as_the_sheet_writes)."""
    rule = number_problem(tmp_path, column, written, ";").rule
    assert told in rule
    assert not re.search(r"\d\.\d", rule), rule


def test_a_sheet_of_decimal_commas_is_told_the_numbers_of_a_row_with_decimal_commas(tmp_path):
    """The row-wise messages quoted the cells as read: "has n1 = 0.45 and n2 = 20", "= 30.85, not 50"."""
    problems = problems_of(tmp_path, "study_id;n1;n2;n;n11;n12;n21;n22\nS1;0,45;20;;;;;\nS2;;;50;0,85;10;10;10\n")
    rules = {(p.row, p.column): p.rule for p in problems}
    assert rules[(2, "")].startswith("has n1 = 0,45 and n2 = 20 but no effect size")
    assert "n = n11 + n12 + n21 + n22 = 30,85, not 50" in rules[(3, "n")]
    assert not any(re.search(r"\d\.\d", rule) for rule in rules.values()), rules


@pytest.mark.parametrize("written, offered, how", [
    ("9,75", "9.75", "with a point"), ("9,123", "9.1230", "with a point and a 0 more"),
    ("2,400", "2,4", "without its trailing zeros"), ("9,750", "9.75", "with a point, without its trailing zero"),
    ("9,120", "9.12", "with a point, without its trailing zero"), ("2,100", "2,1", "without its trailing zeros")])
def test_a_welch_df_in_a_sheet_of_decimal_commas_is_offered_as_the_sheet_reads_it(tmp_path, written, offered, how):
    """df = "9,75" in a sheet of decimal commas (F(9, 75)'s two df, or a Welch df): the df is quoted with its comma,
    and the value offered to write is one the sheet reads as 9.75 ("9,75" in df is taken for F's two df). "9,123" was
    offered "9.123", which that sheet refuses as a point between thousands, offering "9,123" back (a loop): the cell
    offered, and the one offered for a point written so, are validated in the same sheet."""
    sheet = "study_id;t;df;direction\nS1;2,1;{};positive\n"
    problem = only(problems_of(tmp_path, sheet.format(written)), "number")
    assert (f"a Welch t's df of {written}: if it is t({written}), write \"{offered}\" ({how}: \"{written}\" in df is "
            "taken for F's two df") in problem.rule
    clean, problems = validate_sheet(read_sheet(write_csv(tmp_path, sheet.format(offered))))
    assert not problems and clean["df"].tolist() == [float(written.replace(",", "."))]
    point = written.replace(",", ".")
    if point != offered:  # "9.123" written with a point, refused as thousands, is offered the same cell to write
        told = only(problems_of(tmp_path, sheet.format(point)), "ambiguous_point").rule
        assert f'or "{offered}" if it is a decimal point' in told, told


@pytest.mark.parametrize("column, written", [("sd1", "-2,5"), ("sd1", "- 2,5"), ("r", "- 0,5"), ("r", "\u2212 0,5")])
def test_a_sign_and_a_space_before_a_decimal_comma_gets_the_decimal_comma_advice(tmp_path, column, written):
    """sd1 = "- 2,5" in a sheet of decimal points had no word of its decimal comma where "-2,5" had: a sign and a
    space are read as the sign (as suggest_number reads them), and three such cells are the sheet's line too; in a
    sheet read with decimal commas neither is told to set decimal: ","."""
    advice = 'set decimal: "," in the config to read the sheet\'s decimal commas'
    assert advice in number_problem(tmp_path, column, written).rule
    rows = "".join(f'S{i},"{written}",50,\n' if column == "r" else f'S{i},0.3,50,"{written}"\n' for i in range(3))
    report = format_problems(problems_of(tmp_path, "study_id,r,n,sd1\n" + rows))
    assert '3 of them are numbers written with a decimal comma: set decimal: ","' in report
    rows = "".join(f"S{i};{written};50;\n" if column == "r" else f"S{i};0,3;50;{written}\n" for i in range(3))
    commas = problems_of(tmp_path, "study_id;r;n;sd1\n" + rows)
    assert len(commas) == 3 and "decimal: " not in format_problems(commas)


@pytest.mark.parametrize("column, written, what", [
    ("sd1", "1_000", 'an underscore ("_")'), ("n", "1_000", 'an underscore ("_")'), ("m1", "2_5", 'an underscore ("_")'),
    ("sd1", "2\u00b3", 'a superscript digit ("\u00b3")'), ("m1", "2\u00bd", 'a fraction character ("\u00bd")'),
    ("r", "0.3\u00b9", 'a superscript digit ("\u00b9")')])
def test_a_character_no_number_is_read_with_is_named_and_no_prefix_offered(tmp_path, column, written, what):
    """sd1 = "1_000" was offered 1 and "2\u00b3" 2, a prefix of the cell: the character is named, and no number
    offered (an underscore is no thousands separator anywhere in the project; a superscript a power or a note)."""
    rule = number_problem(tmp_path, column, written).rule
    assert f"it holds {what}, which is not read as part of a number" in rule
    assert 'write "' not in rule
    assert suggest_number(written) is None
    assert suggest_number("\u03c7\u00b2 = 5.2") == "5.2"  # a label's superscript is no digit of the value


def test_a_value_alike_in_many_rows_is_one_line_naming_its_rows(tmp_path):
    """"psychodinamic" in 8 rows of modality was 8 lines: the problems alike (column, value, rule) are one line
    naming their rows in ranges, as numeric codes and hidden rows were; each row is still a problem of its own."""
    misspelt = {4, 5, 6, 7, 8, 9, 12, 15}
    rows = "".join(f"S{row},0.2,50,{'psychodinamic' if row in misspelt else 'CBT'},{'coach' if row == 13 else ''}\n"
                   for row in range(2, 17))
    problems = validate_sheet(read_sheet(write_csv(tmp_path, "study_id,r,n,modality,rater\n" + rows)),
                              moderators=["modality"])[1]
    assert sorted(p.row for p in problems if p.column == "modality") == sorted(misspelt)
    report = format_problems(problems)
    assert report.splitlines()[0].startswith("the sheet: 9 problems in 9 rows")
    lines = [line for line in report.splitlines() if "psychodinamic" in line]
    assert lines == ['  rows 4-9, 12, 15, column modality, value "psychodinamic": is not in the vocabulary of modality '
                     '(CBT, psychodynamic, humanistic, interpersonal, integrative, other); did you mean "psychodynamic"?']
    assert any(line.startswith('  row 13, column rater, value "coach": ') for line in report.splitlines())


def test_a_number_beginning_with_0_before_a_comma_is_no_thousands_grouping(tmp_path):
    """Three rows of n = "0,500" were told to write "0500" and counted as "3 cells written with thousands separators":
    no number begins with 0 before its thousands (one definition, _thousands_groups); in a sheet of decimal points it
    is a decimal comma (0.5, which n refuses). What a sheet reads is unchanged: "0.500,5" of a sheet of decimal commas
    is 500.5 as before."""
    problems = problems_of(tmp_path, "study_id,r,n\n" + "".join(f'S{i},0.3,"0,500"\n' for i in range(3)))
    report = format_problems(problems)
    assert len(problems) == 3 and "thousands" not in report and '"0500"' not in report, report
    assert '3 of them are numbers written with a decimal comma: set decimal: ","' in report
    assert "0.500 looks like a proportion of the sample" in problems[0].rule
    assert suggest_number("0,500", whole=True) == "0.500" and suggest_number("1,500", whole=True) == "1500"
    assert suggest_number("0 500,5") is None and suggest_number("1 500,5") == "1500.5"
    clean, problems = validate_sheet(read_sheet(write_csv(tmp_path, "study_id;r;n;m1\nS1;0,3;50;0.500,5\n")))
    assert not problems and clean["m1"].tolist() == [500.5]


def test_a_line_of_problems_alike_names_twenty_ranges_and_counts_the_other_rows():
    """A code misspelt in every other row of 5,000 was one line of 14,630 characters: the line names its first 20
    ranges of rows and counts the others; a row twice among problems alike is named once, in one line."""
    rule = "is not in the vocabulary of modality"
    problems = [Problem(row, "modality", "psychodinamic", rule, "vocabulary") for row in range(2, 5002, 2)]
    [line] = [line for line in format_problems(problems).splitlines() if "psychodinamic" in line]
    named = ", ".join(str(row) for row in range(2, 42, 2))
    assert line == f'  rows {named} and {2500 - 20} more rows, column modality, value "psychodinamic": {rule}'
    runs = [Problem(row, "modality", "x", rule, "vocabulary") for row in [*range(2, 7), 9, 10, 10, *range(12, 100, 2)]]
    [line] = [line for line in format_problems(runs).splitlines() if '"x"' in line]
    evens = ", ".join(str(row) for row in range(12, 46, 2))  # 20 named: 2-6, 9, 10 and 17 rows; 46-98 counted
    assert line.startswith(f"  rows 2-6, 9, 10, {evens} and 27 more rows, column modality"), line
    twice = [Problem(3, "r", "x", "is not a number", "number")] * 2 + [Problem(5, "r", "x", "is not a number", "number")]
    assert [line for line in format_problems(twice).splitlines() if '"x"' in line] == [
        '  rows 3, 5, column r, value "x": is not a number']


def test_a_sheet_of_decimal_commas_quotes_a_cell_as_written_and_a_number_read_with_its_comma(tmp_path):
    """n1 written "20.5" in a sheet of decimal commas was quoted "has n1 = 20,5", a cell it does not have: a cell is
    quoted as written ("0,45", "0.85" as typed), a number read or offered with the sheet's comma (30,85)."""
    problems = problems_of(tmp_path, "study_id;n1;n2;n;n11;n12;n21;n22\nS1;20.5;20;;;;;\nS2;0,45;20;;;;;\n"
                                     "S3;;;50.5;0.85;10;10;10\n")
    rules = {(p.row, p.column): p.rule for p in problems}
    assert rules[(2, "")].startswith("has n1 = 20.5 and n2 = 20 but no effect size")
    assert rules[(3, "")].startswith("has n1 = 0,45 and n2 = 20 but no effect size")
    assert rules[(4, "n11")].startswith("must be a whole number: 0.85 looks like a proportion")
    assert [rule for (row, column), rule in rules.items() if row == 4 and "2x2" in rule] == [
        "the 2x2 counts give n = n11 + n12 + n21 + n22 = 30,85, not 50.5: check the counts (n11, n21: favourable "
        "outcome, n12, n22: unfavourable; the first pair the stronger-alliance group) or n, or leave n empty (the "
        "counts give it)"]


@pytest.mark.parametrize("written, separator, told", [
    ("R\u00b2 = .09", ",", "holds R\u00b2, the share of variance explained, not r: r would be \u00b10.3, its sign from"),
    ("r\u00b2 = 0.25", ",", "holds r\u00b2, the share of variance explained, not r: r would be \u00b10.5, its sign"),
    ("R\u00b2 = 0,09", ";", "not r: r would be \u00b10,3, its sign from the direction of the effect"),
    ("R\u00b2 = 4", ",", "holds R\u00b2, the share of variance explained, not r; code the r the study reports"),
    *[(f"{label} = .09", separator, f"holds {label[0]}\u00b2, the share of variance explained, not r: r would be \u00b1"
       f"{'0.3' if separator == ',' else '0,3'}, its sign from") for separator in ",;"
      for label in ("R2", "R^2", "r2", "r^2", "R-squared", "r squared", "R SQUARED")],
    *[(f"{label} = .04", separator, "holds \u0394R\u00b2, a change in R\u00b2 (the share of variance a term adds to a "
       "regression), not r: its root, for one added term, is a semipartial correlation") for separator in ",;"
      for label in ("\u0394R\u00b2", "\u0394R2", "\u2206R\u00b2", "delta R\u00b2", "Delta-R2")]])
def test_an_r_squared_in_r_is_told_it_is_no_r_and_offered_nothing(tmp_path, written, separator, told):
    """r = "R\u00b2 = .09" was offered to write "0.09": R\u00b2 is not r (r would be \u00b10.3, its sign from the
    direction), and no value is offered. "R2 = .09" and "\u0394R\u00b2 = .04" were still offered "0.09" and "0.04",
    "R^2 = .09" was told only it is no number: R\u00b2 is known as R2, R^2, R-squared, and \u0394R\u00b2, a change in
    R\u00b2, is told so (its root is a semipartial correlation, not r)."""
    rule = number_problem(tmp_path, "r", written, separator).rule
    assert told in rule and 'write "' not in rule, rule


@pytest.mark.parametrize("separator", [",", ";"])
@pytest.mark.parametrize("column, written", [("r", "0.123,5e2"), ("n", "0.123,5e2"), ("t", "\u22120.123,5e2"),
                                             ("m1", "1.2,3"), ("df", "0.300,0.600")])
def test_a_cell_mixing_a_point_and_a_comma_is_told_so(tmp_path, separator, column, written):
    """"0.123,5e2" was told no more than "is not a number" (in a sheet of decimal commas it had been told of points
    between thousands, "0123,5e2", which 0.123 is not): a cell of a point and a comma, offered no number, is told
    it mixes them and to write the value with the sheet's one decimal mark. What the sheet reads is unchanged."""
    rule = number_problem(tmp_path, column, written, separator).rule
    mark = "decimal point" if separator == "," else "decimal comma"
    assert rule == (f"is not a number ({mark}, no text or units): it mixes a point and a comma, which are not read as "
                    f"one number's marks here; write the value the study reports with the {mark} alone"), rule


@pytest.mark.parametrize("written, between", [("9,123", "a number between 9 and 10, not 9123"),
                                              ("2,000", "2, not 2000")])
def test_a_count_with_a_comma_in_a_sheet_of_decimal_commas_is_told_the_comma_is_its_decimal_mark(tmp_path, written,
                                                                                                  between):
    """n = "9,123" in a sheet of decimal commas was told it "is read as 9,123 with decimal commas", which says
    nothing: it is told, as "9.123" of a sheet of decimal points is, that its comma is the sheet's decimal mark,
    so it is a number between 9 and 10, not nine thousand."""
    problems = problems_of(tmp_path, f'study_id;r;n\nS1;0,3;"{written}"\n')
    [rule] = [p.rule for p in problems if p.column == "n"]
    whole = written.replace(",", "")
    assert (f'"{written}" is read with a decimal comma, the sheet\'s decimal mark, as {between}; if the comma '
            f'separates thousands, write "{whole}"') in rule, rule
