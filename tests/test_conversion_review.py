"""Inputs that convert to a wrong or missing effect without a sheet problem (review of the conversions;
INVENTED rows, not real studies)."""

from __future__ import annotations

import warnings

import pandas as pd

from alliance_meta.inputs.effect_sizes import convert
from alliance_meta.inputs.sheet import read_sheet, validate_sheet
from alliance_meta.report.summary import family_counts


def problems_of(folder, text):
    path = folder / "sheet.csv"
    path.write_text(text, encoding="utf-8")
    return validate_sheet(read_sheet(path))[1]


def test_a_chi2_not_below_n_is_a_sheet_problem(tmp_path):
    # phi = sqrt(60/50) > 1: converted to yi = NaN and silently left out before
    problems = problems_of(tmp_path, "study_id,chi2,n,direction\nS1,60,50,positive\nS2,4.2,90,positive\n")
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "chi2", "chi2_exceeds_n")]
    assert "not smaller than n = 50" in problems[0].rule


def test_reverse_on_an_unsigned_statistic_is_a_sheet_problem(tmp_path):
    # direction = positive with reverse = yes gave a negative effect (F: yi = -0.259) without a word
    text = ("study_id,f,df,p,n,r,direction,reverse\n"
            "S1,4.1,60,,,,positive,yes\n"
            "S2,,,0.02,70,,negative,yes\n"
            "S3,,,,70,-0.3,,yes\n"        # a signed statistic: reverse is what flips it
            "S4,4.1,60,,,,positive,no\n")
    problems = problems_of(tmp_path, text)
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "reverse", "reverse_of_unsigned"),
                                                              (3, "reverse", "reverse_of_unsigned")]


def test_family_counts_leave_out_rows_without_a_usable_effect_size():
    sheet = pd.DataFrame({"study_id": ["A", "B", "C"], "chi2": [60.0, 4.2, 3.0], "n": [50.0, 90.0, 80.0],
                          "direction": ["positive"] * 3})
    effects = convert(sheet)
    assert effects["yi"].isna().tolist() == [True, False, False]
    counts = family_counts(effects, ["outcome"]).iloc[0]
    # the Results sentence said "k = 2 studies (3 effect sizes), N = 220" for a fit of 2 effect sizes, N = 170
    assert (counts["studies"], counts["effect_sizes"], counts["n"]) == (2, 2, 170)


def test_direction_against_the_sign_of_a_signed_statistic_is_a_sheet_problem(tmp_path):
    # r = 0.3 with direction = negative (a reversed outcome scale coded in direction) entered as z = +0.31
    problems = problems_of(tmp_path, "study_id,r,n,direction,reverse\nS1,0.3,50,negative,\nS2,-0.3,50,positive,yes\n"
                                     "S3,0.3,50,positive,\n")
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "direction", "direction_contradicts_sign")]


def test_a_reversed_r_agrees_with_an_f_signed_by_direction(tmp_path):
    # r = -.30 against a symptom score (reverse = yes) and F(1, 48) = 4.9 with direction = positive are the same
    # result (r = .30 and .304); they were reported as disagreeing (r = -0.300 vs 0.304)
    problems = problems_of(tmp_path, "study_id,r,n,f,df,direction,reverse\nS1,-0.3,50,4.9,48,positive,yes\n")
    assert problems == []


def test_a_df_beside_a_chi2_is_a_sheet_problem(tmp_path):
    # chi2(2) = 6.2 converted as chi2(1) without a word; df = 1 there was told "a correlation from t or F has n = df + 2"
    text = ("study_id,chi2,n,df,t,direction\nS1,6.2,100,2,,positive\nS2,6.2,100,1,,positive\n"
            "S3,6.2,100,,,positive\nS4,6.2,100,60,1.99,positive\n")  # S4: the df is the t's
    problems = problems_of(tmp_path, text)
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "df", "chi2_degrees_of_freedom"),
                                                              (3, "df", "df_minimum")]
    assert "only a chi-square with 1 df" in problems[0].rule and "leave df empty" in problems[1].rule


def test_checks_of_chi2_and_direction_spare_rows_converted_from_another_input(tmp_path):
    """(review) A chi2 beside a complete r or 2x2 table is not what the row is converted from; a direction beside
    r and a p signs the p, and the disagreement check (not the direction check) says whether they agree."""
    text = ("study_id,r,n,chi2,df,t,p,direction\n"
            "S1,0.3,200,250,,,,\n"          # chi2 > n, but the row is converted from r
            "S2,0.3,50,4.5,48,2.18,,\n"     # the df is t's... and r's row: chi2's df check does not apply
            "S3,0.3,50,,,,0.034,positive\n")  # direction signs the p, agreeing with r
    assert problems_of(tmp_path, text) == []
    problems = problems_of(tmp_path, "study_id,r,n,direction\nS1,0.3,50,negative\nS2,0.2,40,\n")
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "direction", "direction_contradicts_sign")]
    assert problems[0].rule.startswith("contradicts the sign of r = 0.3, the statistic the row is converted from")


def test_rows_without_a_finite_effect_convert_to_nan_without_a_numpy_warning():
    # rows that validate_sheet refuses (phi = sqrt(60/50) > 1, phi = 1, r = 1, n = 3) reach convert() through the
    # API: documented to keep yi = vi = NaN; numpy's "invalid value encountered in arctanh" was printed as well
    sheet = pd.DataFrame({"study_id": ["A", "B", "C", "D", "E"], "chi2": [60.0, 50.0, None, None, None],
                          "r": [None, None, 1.0, 0.3, 0.3], "n": [50.0, 50.0, 40.0, 3.0, 40.0],
                          "direction": ["positive", "positive", None, None, None]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        effects = convert(sheet)
    assert effects["yi"].isna().tolist() == [True, True, True, True, False]
    assert effects["vi"].isna().tolist() == [True, True, True, True, False]
