"""Odd but plausible inputs found by exploratory runs of the pipeline: each gets a clear problem, note or
empty test, not a traceback or a silent mismatch (INVENTED rows, not real studies)."""
from __future__ import annotations

from pathlib import Path

from alliance_meta.inputs.sheet import read_sheet, validate_sheet


def problems_of(folder: Path, text: str):
    path = folder / "sheet.csv"
    path.write_text(text, encoding="utf-8")
    _, problems = validate_sheet(read_sheet(path))
    return problems


def test_a_negative_count_is_listed_not_a_traceback(tmp_path):
    # n11 + n12 = -1: the empty-group check used to flag the row and its message raised IndexError
    problems = problems_of(tmp_path, "study_id,family,n11,n12,n21,n22\n"
                                     "D1,dropout,-2,1,5,5\nD2,dropout,10,5,4,8\n")
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [(2, "n11", "-2", "non_negative")]


def test_three_level_moderator_of_two_studies_has_no_cr2_test_not_a_traceback():
    # dependence: multilevel, two studies, the moderator constant within each: the HTZ Satterthwaite
    # variance sums to 0 and robust.wald_test divided by it (ZeroDivisionError in the moderators job)
    import warnings

    import numpy as np
    import pandas as pd

    import alliance_meta as am

    frame = pd.DataFrame({"study_id": ["S1", "S1", "S2"], "es_id": ["1", "2", "1"], "family": "outcome",
                          "yi": [0.365, 0.288, 0.203], "vi": [1 / 117, 1 / 117, 1 / 77], "n": [120, 120, 80],
                          "rater": ["patient", "patient", "therapist"]})
    fit = am.fit(frame, dependence="multilevel", rho=0.5, method="REML", test="t", metric="z")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the coefficients' Satterthwaite df divided by 0 too (a warning and inf)
        table = am.moderators(fit, "rater", permutations=0).to_frame()
    row = table.iloc[0]
    assert np.isnan(row.get("multilevel_cr2_p", np.nan))
    # each of the two studies at a level of its own: no three-level model at all (sigma2_between is not identified
    # beside the moderator), so the CR2 test is not reached
    assert "each study is at a level of the moderator of its own" in row["multilevel_note"]


def test_coders_without_es_id_are_told_rows_are_matched_by_position(tmp_path):
    # Neither sheet has es_id and the second coder lists a study's two correlations in the other order:
    # agreement on r drops to 50% with no word that the rows were paired by their position in the study.
    from alliance_meta.analyses.agreement import compare_coders, read_coder_sheets

    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("study_id,r,n,rater\nS1,0.35,120,patient\nS1,0.20,120,therapist\nS2,0.25,80,patient\n")
    second.write_text("study_id,r,n,rater\nS1,0.20,120,therapist\nS1,0.35,120,patient\nS2,0.25,80,patient\n")
    result = compare_coders(*read_coder_sheets(first, second)[:2])
    assert any("matched by their position within the study" in note and "S1" in note for note in result.notes)


def test_an_input_that_reaches_a_correlation_of_one_is_a_sheet_problem(tmp_path):
    # fisher_z = 19.5 (tanh = 1.0 in doubles) and p = 1e-17 with n = 4 reached r = 1: the row was left out of the
    # dropout family's analyses (d infinite) with a log line only; a Fisher z of 19.5 entered the outcome family as is
    problems = problems_of(tmp_path, "study_id,family,fisher_z,p,n,direction\nS1,dropout,19.5,,50,\n"
                                     "S2,outcome,,1e-17,4,positive\nS3,outcome,0.3,,50,\nS4,outcome,,0.03,50,positive\n")
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [(2, "fisher_z", "19.5", "no_finite_effect"),
                                                                       (3, "p", "1e-17", "no_finite_effect")]
    assert "converts to r = 1" in problems[0].rule and "typed as a Fisher z" in problems[0].rule
