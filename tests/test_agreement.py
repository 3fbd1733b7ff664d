"""Double coding: kappa, AC1 and ICC(2,1) against R (irr, irrCAC; tests/reference/agreement.json),
and the comparison of two coders' sheets."""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance_meta.analyses.agreement import (
    AGREEMENT_COLUMNS, DISAGREEMENT_COLUMNS, WHOLE_ROW, cohen_kappa, compare_coders, gwet_ac1, icc_agreement,
)
from alliance_meta.inputs.sheet import read_sheet

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = json.loads((ROOT / "tests" / "reference" / "agreement.json").read_text())
FIRST, SECOND = ROOT / "data" / "raw" / "studies.csv", ROOT / "data" / "raw" / "studies_coder2.csv"
RTOL = 1e-9


@pytest.mark.parametrize("name", sorted(REFERENCE["kappa"]))
def test_cohen_kappa_matches_irr_kappa2(name):
    case = REFERENCE["kappa"][name]
    assert cohen_kappa(case["first"], case["second"]) == pytest.approx(case["kappa"], rel=RTOL)


@pytest.mark.parametrize("name", sorted(REFERENCE["ac1"]))
def test_gwet_ac1_matches_irrcac(name):
    case = REFERENCE["ac1"][name]
    ratings = np.column_stack(list(case["ratings"].values()))
    assert gwet_ac1(ratings, case["categories"]) == pytest.approx(case["ac1"], rel=RTOL)


@pytest.mark.parametrize("name", sorted(REFERENCE["icc"]))
def test_icc_agreement_matches_irr_icc(name):
    case = REFERENCE["icc"][name]
    value = icc_agreement(np.column_stack(list(case["ratings"].values())))
    assert value == pytest.approx(case["icc"], rel=RTOL)
    if "published" in case:  # Shrout & Fleiss (1979): ICC(2,1) = .29
        assert round(value, 2) == case["published"]


def test_ac1_counts_unused_categories_and_differs_from_kappa_under_skew():
    """With all units in one category kappa is undefined and AC1 is 1 (Gwet 2008's paradox);
    q counts the possible categories: AC1 over 5 diagnoses differs from AC1 over the 3 used."""
    assert math.isnan(cohen_kappa(["yes"] * 5, ["yes"] * 5))
    assert gwet_ac1(np.array([["yes", "yes"]] * 5), ["yes", "no"]) == 1.0
    case = REFERENCE["ac1"]["diagnoses_1_2_all_categories"]
    ratings = np.column_stack(list(case["ratings"].values()))
    assert gwet_ac1(ratings, case["categories"] + ["6. Something else"]) != pytest.approx(case["ac1"], rel=1e-3)
    with pytest.raises(ValueError, match="outside the categories"):
        gwet_ac1(ratings, case["categories"][:2])


def test_icc_of_identical_ratings_is_exactly_one():
    ratings = np.array([0.79, 0.3, 0.45, 0.13, 0.4, 0.2, 0.26])
    assert icc_agreement(np.column_stack([ratings, ratings])) == 1.0  # was 1.0000000000000002 on such data


def test_icc_needs_two_units_and_complete_ratings():
    assert math.isnan(icc_agreement([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="complete"):
        icc_agreement([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(ValueError, match="two raters"):
        icc_agreement([1.0, 2.0])


def test_icc_agreement_of_a_nullable_frame_says_what_it_needs():
    """A frame of nullable columns (Float64, Int64) gave the ICC of its numbers, but with a pd.NA it raised numpy's
    "float() argument must be ... not 'NAType'"; now the message about missing ratings, and one for text."""
    rows = pd.DataFrame({"a": [3.0, 4.0, 2.0, 5.0], "b": [3.0, 5.0, 2.0, 4.0]})
    nullable = rows.astype("Float64")
    assert icc_agreement(nullable) == icc_agreement(rows.to_numpy())
    nullable.loc[1, "b"] = pd.NA
    with pytest.raises(ValueError, match="icc_agreement needs complete, finite ratings"):
        icc_agreement(nullable)
    with pytest.raises(ValueError, match="icc_agreement needs numeric ratings; some are text"):
        icc_agreement(rows.astype(object).assign(b=["3", "x", "2", "4"]))


def test_demo_coders_agree_with_r_on_the_same_columns():
    result = compare_coders(read_sheet(FIRST), read_sheet(SECOND))
    demo = REFERENCE["demo"]
    assert result.n_matched == demo["n_matched"]
    table = result.agreement.set_index("column")
    for column, expected in demo["columns"].items():
        row = table.loc[column]
        assert row["kind"] == expected["kind"] and row["n_compared"] == expected["n_compared"]
        assert row["percent_agreement"] == pytest.approx(expected["percent_agreement"], rel=RTOL)
        for coefficient in ("kappa", "ac1", "icc", "n_one_coder"):
            if coefficient in expected:
                assert row[coefficient] == pytest.approx(expected[coefficient], rel=RTOL), (column, coefficient)
    assert list(result.agreement.columns) == list(AGREEMENT_COLUMNS)
    assert list(result.disagreements.columns) == list(DISAGREEMENT_COLUMNS)
    assert {"yi", "vi"} <= set(table.index) and table.loc["yi", "kind"] == "numeric"


def test_second_coder_sheet_is_reproduced_by_its_generator():
    sys.path.insert(0, str(FIRST.parent))
    try:
        import make_second_coder
    finally:
        sys.path.pop(0)
    with open(FIRST, newline="", encoding="utf-8") as handle:
        first = list(csv.DictReader(handle))
    with open(SECOND, newline="", encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == make_second_coder.make_second_coder(first)


def sheet(rows: list[dict]) -> pd.DataFrame:
    """A sheet as read_sheet returns it: text cells and the spreadsheet row."""
    frame = pd.DataFrame(rows).astype(object).where(lambda f: f.notna(), None)
    frame = frame.map(lambda v: None if v is None else str(v))
    frame.insert(0, "sheet_row", np.arange(2, 2 + len(frame)))
    return frame


CODER1 = [
    {"study_id": "A", "es_id": "A-1", "r": "0.30", "n": "50", "rater": "patient", "setting": "outpatient"},
    {"study_id": "A", "es_id": "A-2", "r": "0.20", "n": "50", "rater": "therapist", "setting": "outpatient"},
    {"study_id": "B", "es_id": "B-1", "r": "0.25", "n": "80", "rater": "patient", "setting": "inpatient"},
    {"study_id": "C", "es_id": "C-1", "t": "2.5", "df": "60", "rater": "observer", "setting": "inpatient"},
    {"study_id": "B", "es_id": "B-2", "r": "0.10", "n": "40", "rater": "patient", "setting": "inpatient"},
]
CODER2 = [
    {"study_id": "B", "es_id": "B-1", "r": "0.25", "n": "80", "rater": "Client", "setting": "inpatient"},  # synonym
    {"study_id": "A", "es_id": "A-1", "r": "0.3", "n": "50", "rater": "patient", "setting": "outpatient"},  # 0.3 = 0.30
    {"study_id": "A", "es_id": "A-2", "r": "-0.20", "n": "50", "rater": "observer", "setting": "outpatient"},
    {"study_id": "C", "es_id": "C-1", "r": "0.31", "n": "62", "rater": "observer", "setting": "inpatient"},
    {"study_id": "A", "es_id": "A-3", "r": "0.40", "n": "30", "rater": "patient", "setting": "inpatient"},
]


def test_rows_are_matched_on_keys_and_every_disagreement_listed():
    result = compare_coders(sheet(CODER1), sheet(CODER2))
    assert result.n_matched == 4
    assert result.unmatched[["study_id", "es_id", "coder", "sheet_row"]].values.tolist() == [
        ["B", "B-2", "coder1", 6], ["A", "A-3", "coder2", 6]]
    listed = result.disagreements
    whole = listed[listed["column"] == WHOLE_ROW]
    assert whole[["es_id", "coder1", "coder2"]].values.tolist() == [["B-2", "present", "absent"],
                                                                    ["A-3", "absent", "present"]]
    assert whole["yi_coder1"].iloc[0] == pytest.approx(math.atanh(0.10)) and math.isnan(whole["yi_coder2"].iloc[0])
    cells = listed[listed["column"] != WHOLE_ROW].set_index(["es_id", "column"])
    assert sorted(cells.index) == sorted([("A-2", "r"), ("A-2", "rater"), ("A-2", "yi"), ("C-1", "r"), ("C-1", "n"),
                                          ("C-1", "t"), ("C-1", "df"), ("C-1", "yi")])  # n = df + 2: same vi
    assert cells.loc[("A-2", "r"), ["coder1", "coder2"]].tolist() == ["0.2", "-0.2"]
    assert cells.loc[("A-2", "r"), ["sheet_row_coder1", "sheet_row_coder2"]].tolist() == [3, 4]
    assert cells.loc[("A-2", "r"), ["yi_coder1", "yi_coder2"]].tolist() == pytest.approx(
        [math.atanh(0.2), math.atanh(-0.2)])
    assert math.isnan(cells.loc[("A-2", "rater"), "yi_coder1"])  # not an effect-size input
    assert cells.loc[("C-1", "t"), ["coder1", "coder2"]].tolist() == ["2.5", ""]
    r_t = 2.5 / math.sqrt(2.5**2 + 60)
    assert cells.loc[("C-1", "yi"), ["yi_coder1", "yi_coder2"]].tolist() == pytest.approx(
        [math.atanh(r_t), math.atanh(0.31)])

    table = result.agreement.set_index("column")
    assert table.loc["r", ["n_compared", "n_one_coder"]].tolist() == [3, 1]
    assert table.loc["r", "percent_agreement"] == pytest.approx(200 / 3)
    assert table.loc["rater", ["n_compared", "percent_agreement"]].tolist() == [4, 75.0]  # Client = patient
    assert table.loc["rater", "kappa"] == pytest.approx(cohen_kappa(["patient", "therapist", "patient", "observer"],
                                                                    ["patient", "observer", "patient", "observer"]))
    assert table.loc["rater", "ac1"] == pytest.approx(gwet_ac1(
        [["patient", "patient"], ["therapist", "observer"], ["patient", "patient"], ["observer", "observer"]],
        ["patient", "therapist", "observer"]))
    assert table.loc["setting", "kind"] == "categorical" and table.loc["setting", "percent_agreement"] == 100
    assert table.loc["yi", "n_compared"] == 4 and table.loc["yi", "percent_agreement"] == 50.0
    assert list(table.index[:3]) == ["r", "n", "t"]  # codebook order (no family: neither sheet has it), yi, vi last
    assert list(table.index[-3:]) == ["setting", "yi", "vi"]


def test_a_blank_icc_or_kappa_says_why():
    """Both coders giving every study the same n (or leaving a column at 0) left the ICC blank in agreement.csv
    without a word: it is 0/0 there (no variance between studies), not a missing computation."""
    first = [{**row, "n": "50", "setting": "outpatient"} for row in CODER1[:3]]
    second = [{**row, "n": "50", "setting": "outpatient"} for row in CODER2[1:3] + CODER2[:1]]
    table = compare_coders(sheet(first), sheet(second)).agreement.set_index("column")
    assert list(table.columns[-2:]) == ["n_one_coder", "note"]
    assert math.isnan(table.loc["n", "icc"]) and table.loc["n", "note"] == (
        "constant across studies (50 in every cell both coders filled): ICC undefined; the coders agree on every value")
    assert math.isnan(table.loc["setting", "kappa"]) and table.loc["setting", "note"].startswith(
        "constant across studies (outpatient in every cell both coders filled): kappa undefined")
    assert table.loc["r", "note"] == "" and np.isfinite(table.loc["r", "icc"])  # a coefficient needs no note
    assert table.loc["rater", "note"] == "" and np.isfinite(table.loc["rater", "kappa"])
    one = compare_coders(sheet(first[:1]), sheet(second[:1])).agreement.set_index("column")
    assert one.loc["n", "note"] == "one cell filled by both coders: the ICC needs two or more"
    crossed = compare_coders(sheet([{**first[0], "n": "40"}, {**first[2], "n": "60"}]),
                             sheet([{**second[0], "n": "60"}, {**second[2], "n": "40"}])).agreement.set_index("column")
    assert math.isnan(crossed.loc["n", "icc"]) and crossed.loc["n", "note"] == (
        "no variance between studies: ICC undefined; the coders disagree on 2 of 2 cells")
    from alliance_meta.report.html import coding_section

    written = table.reset_index().assign(note=lambda frame: frame["note"].replace("", np.nan))  # as read back
    assert "; the note says why a coefficient is blank." in coding_section(
        written, compare_coders(sheet(first), sheet(second)).disagreements, "coder2.csv").paragraph


def test_only_the_cells_the_coders_typed_are_compared():
    """A column the pipeline adds (family, filled with outcome) is no row of the agreement table, and cells the
    pipeline derives in both sheets (an empty rob_overall, from the domains) are not compared; a column of the
    sheets stays, as do cells one coder typed (family outcome beside a blank, which means outcome)."""
    domains = {f"rob_{domain}": "low" for domain in ("participation", "attrition", "prognostic_factor", "outcome",
                                                       "confounding", "analysis")}
    first = [{**row, **domains, "rob_overall": None} for row in CODER1[:3]]
    second = [{**row, **domains, "rob_overall": None} for row in CODER2[:3]]
    table = compare_coders(sheet(first), sheet(second)).agreement.set_index("column")
    assert "family" not in table.index
    assert table.loc["rob_overall", ["n_compared", "n_one_coder"]].tolist() == [0, 0]
    assert table.loc["rob_participation", "n_compared"] == 2  # studies A and B: judged once per study
    second[0]["family"] = "outcome"
    table = compare_coders(sheet(first), sheet(second)).agreement.set_index("column")
    assert table.loc["family", ["n_compared", "percent_agreement"]].tolist() == [1, 100]


def test_only_the_studies_both_coders_coded_are_compared():
    """A living review double-codes only its new studies: the second coder's sheet holds N1 and N2 (and N3, which
    the consensus sheet lacks). Every row of the earlier studies O1-O3 was a (row) disagreement, present / absent;
    they are studies of one coder, counted in a note, and the agreement is that of the double-coded studies alone.
    An effect size one coder missed within a double-coded study (N2-2) is still a disagreement."""
    old = [{"study_id": f"O{s}", "es_id": f"O{s}-{e}", "r": f"0.{s}{e}", "n": "60", "rater": "patient"}
           for s in (1, 2, 3) for e in (1, 2)]
    new = [{"study_id": "N1", "es_id": "N1-1", "r": "0.30", "n": "50", "rater": "patient"},
           {"study_id": "N1", "es_id": "N1-2", "r": "0.20", "n": "50", "rater": "therapist"},
           {"study_id": "N2", "es_id": "N2-1", "r": "0.25", "n": "80", "rater": "patient"},
           {"study_id": "N2", "es_id": "N2-2", "r": "0.15", "n": "80", "rater": "observer"}]
    second = [new[0], {**new[1], "rater": "observer"}, new[2],
              {"study_id": "N3", "es_id": "N3-1", "r": "0.40", "n": "30", "rater": "patient"}]
    result = compare_coders(sheet(old + new), sheet(second))
    listed = result.disagreements
    assert listed[["es_id", "column", "coder1", "coder2"]].values.tolist() == [
        ["N2-2", WHOLE_ROW, "present", "absent"], ["N1-2", "rater", "therapist", "observer"]]
    assert result.one_coder_studies.values.tolist() == [["O1", "coder1", 2, 2], ["O2", "coder1", 2, 4],
                                                         ["O3", "coder1", 2, 6], ["N3", "coder2", 1, 5]]
    assert result.n_double_coded == 2 and result.n_matched == 3
    assert result.notes == ("2 studies double-coded (in both sheets); 3 coded by the first coder only (O1, O2, O3); "
                            "1 coded by the second coder only (N3): only the double-coded studies are compared (an "
                            "effect size one coder missed in one of them is a disagreement); the studies in one sheet "
                            "only are not listed as disagreements",)
    assert result.summary() == ("2 studies double-coded, 3 coded by the first coder only and 1 by the second only (not "
                                "compared); 3 rows coded by both coders, 1 by one only; 1 disagreeing cell")
    from alliance_meta.report.html import coding_section

    assert ("in the studies both coders coded (a study in one sheet only was not double-coded and is not compared)"
            in coding_section(result.agreement, listed, "coder2.csv", notes=result.notes).paragraph)
    # kappa, AC1 and ICC over the double-coded studies: as if the sheets held nothing else
    alone = compare_coders(sheet(new), sheet(second[:3]))
    pd.testing.assert_frame_equal(result.agreement, alone.agreement)
    assert alone.notes == () and alone.one_coder_studies.empty


def test_a_long_list_of_one_coder_studies_is_named_in_part_and_listed_in_full():
    """A living review of 300 earlier studies whose second coder coded the 2 new ones: the note named all 300, one
    unreadable paragraph in the log, the report and agreement_notes.txt. It names the first 10 in sheet order and
    counts the rest, which one_coder_studies lists; the report still reads that some study is in one sheet only."""
    from alliance_meta.analyses.agreement import ONE_CODER_NOTE_END
    from alliance_meta.report.html import coding_section

    old = [{"study_id": f"O{s:03d}", "es_id": f"O{s:03d}-1", "r": "0.2", "n": "60"} for s in range(300, 0, -1)]
    new = [{"study_id": f"N{s}", "es_id": f"N{s}-1", "r": "0.3", "n": "50"} for s in (1, 2)]
    second = [*new, *({"study_id": f"X{s:02d}", "es_id": f"X{s:02d}-1", "r": "0.1", "n": "40"} for s in range(1, 12))]
    result = compare_coders(sheet(old + new), sheet(second))
    first_ten = ", ".join(f"O{s:03d}" for s in range(300, 290, -1))  # in sheet order, not sorted
    assert result.notes == (f"2 studies double-coded (in both sheets); 300 coded by the first coder only ({first_ten} "
                            "and 290 more in CoderAgreement.one_coder_studies); 11 coded by the second coder only ("
                            + ", ".join(f"X{s:02d}" for s in range(1, 11)) + " and 1 more in "
                            f"CoderAgreement.one_coder_studies): {ONE_CODER_NOTE_END}",)
    assert len(result.one_coder_studies) == 311 and result.one_coder_studies["study_id"].iloc[-1] == "X11"
    assert "(a study in one sheet only was not double-coded and is not compared)" in coding_section(
        result.agreement, result.disagreements, "coder2.csv", notes=result.notes).paragraph


def test_the_summary_counts_one_row_in_the_singular():
    row = {"study_id": "N1", "es_id": "N1-1", "r": "0.30", "n": "50", "rater": "patient"}
    assert "; 1 row coded by both coders, 0 by one only;" in compare_coders(sheet([row]), sheet([row])).summary()


def test_a_column_only_one_sheet_has_is_not_listed_cell_by_cell():
    """A second coder who coded the effect sizes but not the labels (a column the sheet lacks) has not
    disagreed on every label: those cells were all listed (3583 rows on the demo sheet without rob_*,
    label and simulated). Effect-size inputs one sheet lacks (t, df) are still listed: the coders chose
    different inputs."""
    one = sheet([{**row, "label": f"label {i}"} for i, row in enumerate(CODER1)])
    two = sheet([{**row, "informant": "parent"} for row in CODER2])
    result = compare_coders(one, two)
    cells = result.disagreements[result.disagreements["column"] != WHOLE_ROW]
    assert set(cells["column"]) == {"r", "n", "rater", "t", "df", "yi"}
    assert len(cells) == 8  # as without the extra columns
    table = result.agreement.set_index("column")
    assert table.loc["label", ["n_compared", "n_one_coder"]].tolist() == [0, 4]
    assert table.loc["informant", ["n_compared", "n_one_coder"]].tolist() == [0, 4]
    assert result.notes == (
        "column label only in the first coder's sheet: not double-coded, so not listed as disagreements "
        "(agreement.csv counts the filled cells in n_one_coder); column informant only in the second coder's "
        "sheet: not double-coded, so not listed as disagreements (agreement.csv counts the filled cells in "
        "n_one_coder)",)


def test_a_free_column_of_numbers_is_numeric():
    one = sheet([{**row, "mean_age": "30"} for row in CODER1])
    two = sheet([{**row, "mean_age": "30.0"} for row in CODER2])
    table = compare_coders(one, two).agreement.set_index("column")
    assert table.loc["mean_age", "kind"] == "numeric" and table.loc["mean_age", "percent_agreement"] == 100


def test_invalid_or_ambiguous_sheets_are_refused_with_the_reason():
    bad = sheet([{**CODER1[0], "r": "0,25"}])  # the first coder's (consensus) sheet must pass the checks
    with pytest.raises(ValueError, match=r"first coder's sheet does not pass[\s\S]*row 2, column r"):
        compare_coders(bad, sheet(CODER2))
    twice = sheet([CODER1[0], CODER1[0]])  # one es_id on two rows of a study: a problem of the sheet check
    with pytest.raises(ValueError, match=r"first coder's sheet does not pass[\s\S]*row 3, column es_id, value \"A-1\""):
        compare_coders(twice, sheet(CODER2))
    with pytest.raises(ValueError, match=r"second coder's sheet cannot be matched with the first's[\s\S]*row 3, "
                                         r"column es_id, value \"A-1\""):
        compare_coders(sheet(CODER1), twice)
    nameless = sheet([CODER1[0], {**CODER1[1], "study_id": None}])
    with pytest.raises(ValueError, match=r"second coder's sheet cannot be matched[\s\S]*row 3, column study_id"):
        compare_coders(sheet(CODER1), nameless)


def test_the_second_coder_s_cells_that_fail_a_check_are_compared_as_written():
    """The second coder's sheet records an independent coding: r = 1.2, "0,25", a level outside the vocabulary
    and a missing n are disagreements with the consensus sheet, listed as written, not errors to fix first."""
    two = sheet([{**CODER1[0], "r": "1.2"}, {**CODER1[1], "rater": "therapsit"}, {**CODER1[2], "r": "0,25"},
                 {**CODER1[3]}, {**CODER1[4], "n": None, "setting": "inpatient"}])
    result = compare_coders(sheet(CODER1), two)
    assert result.n_matched == 5 and result.unmatched.empty
    listed = result.disagreements.set_index(["es_id", "column"])
    assert listed.loc[("A-1", "r"), "coder2"] == "1.2" and listed.loc[("A-1", "r"), "coder1"] == "0.3"
    assert listed.loc[("A-2", "rater"), ["coder1", "coder2"]].tolist() == ["therapist", "therapsit"]
    assert listed.loc[("B-1", "r"), ["coder1", "coder2"]].tolist() == ["0.25", "0,25"]
    assert listed.loc[("B-2", "n"), ["coder1", "coder2"]].tolist() == ["40", ""]
    assert listed.loc[("A-1", "r"), "sheet_row_coder2"] == 2 and np.isnan(listed.loc[("A-1", "r"), "yi_coder2"])
    assert ("A-1", "yi") in listed.index and ("C-1", "r") not in listed.index
    table = result.agreement.set_index("column")
    assert table.loc["rater", "n_compared"] == 5 and table.loc["rater", "percent_agreement"] == 80
    assert np.isfinite(table.loc["rater", ["kappa", "ac1"]].astype(float)).all()
    assert table.loc["r", "n_compared"] == 3 and table.loc["r", "n_one_coder"] == 1  # "0,25" is no number
    note = result.notes[0]
    assert note.startswith("the second coder's sheet has cells that fail the codebook's checks; they are compared "
                           "as written")
    for where in ("row 2, column r, value \"1.2\"", "row 3, column rater, value \"therapsit\"",
                  "row 4, column r, value \"0,25\"", "row 6, column n"):
        assert where in note, (where, note)
    # one line, each problem after the other: the report lists the notes as items, and the grouped block of the
    # sheet check ran into one ("... header = row 1) values outside a vocabulary (1): row 3, ...")
    assert "\n" not in note and "header = row 1): row 2, column r, value \"1.2\": " in note
    assert re.search(r"\); \d+ problems in 4 rows \(rows as numbered", note)  # the count, as the sheet check gives it
    assert "; row 3, column rater, value \"therapsit\": is not in the vocabulary of rater" in note


def test_rows_without_es_id_are_matched_by_their_position_in_the_study():
    one = sheet([{k: v for k, v in row.items() if k != "es_id"} for row in CODER1[:2]])
    two = sheet([{k: v for k, v in row.items() if k != "es_id"} for row in CODER2[1:3]])
    result = compare_coders(one, two)
    assert result.n_matched == 2 and result.unmatched.empty
    assert set(result.disagreements["es_id"]) == {"A-2"}


def test_when_one_sheet_has_no_es_id_both_are_matched_by_position_with_a_note():
    one = sheet([{**row, "es_id": f"{row['study_id'].lower()}{i}"} for i, row in enumerate(CODER1[:2])])  # a0, a1
    two = sheet([{k: v for k, v in row.items() if k != "es_id"} for row in CODER2[1:3]])
    result = compare_coders(one, two)
    assert result.n_matched == 2 and result.unmatched.empty
    assert set(result.disagreements["es_id"]) == {"A-2"}
    assert result.notes == ("the second coder's sheet has no es_id: rows are matched by their position within each "
                            "study (study_id-1, -2, ...); give both sheets the same es_id to match them by name",)


def test_a_blank_es_id_that_takes_another_row_s_id_is_explained():
    two = sheet([CODER1[1], {**CODER1[0], "es_id": None}, *CODER1[2:]])  # the blank row is A's 2nd: "A-2"
    with pytest.raises(ValueError, match=r"second coder's sheet cannot be matched[\s\S]*row 3, column es_id: is empty, so "
                                         r"the row is numbered A-2 by its place among the rows of study A, the es_id of "
                                         r"row 2"):
        compare_coders(sheet(CODER1), two)


def test_both_sheets_are_checked_with_the_config_s_risk_of_bias_tool():
    rob2 = {"rob_randomisation": "low", "rob_deviations": "some concerns", "rob_missing_data": "low",
            "rob_measurement": "high", "rob_selection": "low"}
    one = sheet([{**row, **rob2} for row in CODER1])
    two = sheet([{**row, **rob2, "rob_measurement": "low"} for row in CODER1])
    with pytest.raises(ValueError, match="are not domains of QUIPS"):
        compare_coders(one, two)
    table = compare_coders(one, two, risk_of_bias={"tool": "rob2"}).agreement.set_index("column")
    assert table.loc["rob_measurement", "percent_agreement"] == 0 and table.loc["rob_deviations", "percent_agreement"] == 100


def test_identifiers_spelled_differently_are_named():
    """Rows are matched on the identifiers as written; rows that would match ignoring case and spacing are named."""
    two = sheet([{**row, "study_id": row["study_id"].lower(), "es_id": row["es_id"].lower().replace("-", " ")}
                 for row in CODER2])
    result = compare_coders(sheet(CODER1), two)
    assert result.n_matched == 0 and result.n_double_coded == 0
    assert result.notes[0].startswith("0 studies double-coded (in both sheets); 3 coded by the first coder only (A, B, "
                                      "C); 3 coded by the second coder only (b, a, c): ")
    assert result.notes[1:] == ("4 rows of the second coder match a row of the first only when case, spaces and "
                            "punctuation of study_id and es_id are ignored (A / A-1 vs a / a 1; A / A-2 vs a / a 2; "
                            "B / B-1 vs b / b 1; ...): rows are compared on the identifiers as written, so write "
                            "them alike in both sheets",)
    assert compare_coders(sheet(CODER1), sheet(CODER2)).notes == ()  # B-2 and A-3 are different rows
    from alliance_meta.report.html import coding_section

    section = coding_section(result.agreement, result.disagreements, "coder2.csv", notes=result.notes)
    assert section.notes == list(result.notes)


def test_report_has_a_double_coding_section():
    from alliance_meta.report import render_report
    from alliance_meta.report.html import coding_section

    result = compare_coders(sheet(CODER1), sheet(CODER2))
    section = coding_section(result.agreement, result.disagreements, "data/raw/coder2.csv",
                             notes=["the second coder's sheet has no es_id: rows are matched by position", ""])
    assert "in the studies both coders coded, row by row" in section.paragraph  # every study is in both sheets
    assert ("on four effect sizes coded by both: six cells were coded differently (changing the converted effect "
            "size or its variance in two rows) and two effect sizes of those studies were coded by one coder only"
            in section.paragraph)
    agreed = coding_section(result.agreement, result.disagreements.iloc[:0], "data/raw/coder2.csv").paragraph
    assert ("on four effect sizes coded by both: no cells were coded differently and no effect sizes of those studies "
            "were coded by one coder only") in agreed  # not "zero cells were"
    one_cell = result.disagreements.iloc[[0, 1, 3]]  # the two rows of one coder and a rater coded differently
    assert ("one cell was coded differently and two effect sizes of those studies were coded by one coder only" in
            coding_section(result.agreement, one_cell, "data/raw/coder2.csv").paragraph)
    html = render_report(sheet=pd.DataFrame({"study_id": ["A"]}), effect_sizes=pd.DataFrame(
        {"study_id": ["A"], "family": ["outcome"], "yi": [0.1], "vi": [0.01]}), families={}, config={}, methods="",
        provenance={"sheet": "s", "sheet_sha256": "0", "run_date": "d", "versions": {"alliance-meta": "0"},
                    "config_yaml": ""}, coding=section)
    assert 'id="double-coding"' in html and 'href="#double-coding"' in html
    assert 'id="table-agreement"' in html and 'id="table-disagreements"' in html
    assert "data/raw/coder2.csv" in html
    assert ('<ul id="coding-notes"><li>the second coder&#39;s sheet has no es_id: rows are matched by position</li>'
            '</ul>' in html)  # the notes were in logs/coder_agreement.log alone


def test_report_rounds_the_converted_numbers_of_the_disagreements_just_enough_to_tell_them_apart():
    from alliance_meta.report.formatting import told_apart
    from alliance_meta.report.html import coding_section

    listed = pd.DataFrame({
        "study_id": ["S", "S", "S"], "es_id": ["S-1"] * 3, "column": ["r", "yi", "vi"],
        "coder1": ["0.2", "0.590258214932175", "0.00854700854700855"],
        "coder2": ["-0.20", "0.590145159841188", "0.0119047619047619"],
        "sheet_row_coder1": [2] * 3, "sheet_row_coder2": [2] * 3,
        "yi_coder1": [0.590258214932175] * 3, "yi_coder2": [0.590145159841188] * 3})
    kept = listed.copy()
    rows = coding_section(pd.DataFrame({"column": ["yi"], "n_compared": [1]}), listed, "c2.csv").tables[1].rows
    assert [row[2:5] for row in rows] == [["r", "0.2", "-0.20"], ["yi", "0.5903", "0.5901"], ["vi", "0.009", "0.012"]]
    assert {tuple(row[7:]) for row in rows} == {("0.5903", "0.5901")}
    pd.testing.assert_frame_equal(listed, kept)  # the CSV's frame keeps every digit
    assert told_apart(-1e-16, 0.25) == ("0.000", "0.250") and told_apart(float("nan"), "0.1") == ("", "0.100")


def test_a_second_coders_workbook_without_the_sheets_worksheet_name_is_read(tmp_path):
    """sheet_name names the consensus workbook's worksheet; the second coder's own workbook has another name
    (the rule stopped with 'it has no worksheet "Studies"'). With that worksheet, it is read."""
    import openpyxl

    from alliance_meta.analyses.agreement import read_coder_sheets

    def workbook(path, title, rows, extra=None):
        book = openpyxl.Workbook()
        book.active.title = title
        columns = list(dict.fromkeys(column for row in rows for column in row))
        book.active.append(columns)
        for row in rows:
            book.active.append([row.get(column) for column in columns])
        if extra:
            book.create_sheet(extra).append(["column", "meaning"])
        book.save(path)
        return path

    first = workbook(tmp_path / "studies.xlsx", "Studies", CODER1, extra="Codebook")
    second = workbook(tmp_path / "coder2.xlsx", "Coding", CODER2)
    one, two, notes = read_coder_sheets(first, second, sheet_name="Studies")
    assert list(two["study_id"]) == [row["study_id"] for row in CODER2]
    assert notes[0].startswith(f'the second coder\'s workbook {second} has no worksheet "Studies"')
    assert compare_coders(one, two).n_matched == 4
    workbook(second, "Studies", CODER2)
    assert read_coder_sheets(first, second, sheet_name="Studies")[2] == ()


def test_a_free_column_headed_in_another_case_by_the_second_coder_is_compared():
    """Coder 1 heads a free column setting, coder 2 Setting (free columns keep their header as written): the
    column was two columns of 0 compared cells, and A-1's outpatient vs inpatient was no disagreement."""
    two = sheet([{("Setting" if key == "setting" else key): value for key, value in row.items()} for row in CODER2])
    result = compare_coders(sheet(CODER1), two)
    table = result.agreement.set_index("column")
    assert "Setting" not in table.index and table.loc["setting", "n_compared"] == 4
    assert result.notes[0] == ("column names that differ only in case or spacing compared as one column (second "
                               "coder's with first coder's): Setting with setting")
    assert compare_coders(sheet(CODER1), sheet(CODER2)).agreement.equals(result.agreement)


def test_the_log_counts_disagreeing_cells_as_the_report_does(tmp_path):
    """logs/coder_agreement.log counted the converted yi (and vi) that differ as disagreeing cells: one r coded
    differently and one rater were "3 disagreeing cells" in the log, "2 cells were coded differently" in the report."""
    import subprocess

    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    first = "study_id,es_id,r,n,rater\nS1,S1-1,0.28,159,patient\nS2,S2-1,0.09,138,therapist\nS3,S3-1,0.2,90,patient\n"
    (tmp_path / "data" / "raw" / "studies.csv").write_text(first)
    (tmp_path / "data" / "raw" / "coder2.csv").write_text(first.replace("0.28", "0.48").replace("therapist", "observer"))
    (tmp_path / "config" / "config.yaml").write_text("second_coder: data/raw/coder2.csv\n")
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "snakemake"), "--snakefile", str(ROOT / "Snakefile"),
                             "--directory", str(tmp_path), "--cores", "1", "results/agreement.csv"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / "logs" / "coder_agreement.log").read_text()
    assert ("3 rows coded by both coders, 0 by one only; 2 disagreeing cells (the converted effect size or its "
            "variance differs in 1 row)") in log


def test_the_workflow_lists_every_one_coder_study_and_names_its_file(tmp_path):
    """The workflow's note (log, agreement_notes.txt, report) names where the studies it does not name are:
    results/one_coder_studies.csv, which lists all 12 with their sheet rows."""
    import subprocess

    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    rows = [f"S{s:02d},S{s:02d}-1,0.2,60" for s in range(1, 15)]
    (tmp_path / "data" / "raw" / "studies.csv").write_text("study_id,es_id,r,n\n" + "\n".join(rows) + "\n")
    (tmp_path / "data" / "raw" / "coder2.csv").write_text("study_id,es_id,r,n\n" + "\n".join(rows[-2:]) + "\n")
    (tmp_path / "config" / "config.yaml").write_text("second_coder: data/raw/coder2.csv\n")
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "snakemake"), "--snakefile", str(ROOT / "Snakefile"),
                             "--directory", str(tmp_path), "--cores", "1", "results/agreement.csv"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    listed = pd.read_csv(tmp_path / "results" / "one_coder_studies.csv")
    assert listed.values.tolist() == [[f"S{s:02d}", "coder1", 1, s + 1] for s in range(1, 13)]
    note = ("12 coded by the first coder only (" + ", ".join(f"S{s:02d}" for s in range(1, 11))
            + " and 2 more in results/one_coder_studies.csv)")
    assert note in (tmp_path / "data" / "processed" / "agreement_notes.txt").read_text()
    assert note in (tmp_path / "logs" / "coder_agreement.log").read_text()


def test_studies_whose_es_ids_the_coders_numbered_differently_are_matched_by_position():
    """A second coder numbering the effect sizes 1, 2 (or a, b) where the first wrote A-1, A-2 coded the same
    rows: each was listed as coded by one coder only and nothing was compared (agreement.csv empty)."""
    two = sheet([{**row, "es_id": str(i + 1)} for i, row in enumerate(CODER1[:2])]  # A: 1, 2
                + [{**CODER1[2], "es_id": "B-1"}, {**CODER1[3], "r": "0.31", "n": "62", "t": None, "df": None}])
    result = compare_coders(sheet(CODER1), two)
    assert result.n_matched == 4 and result.unmatched[["es_id", "coder"]].values.tolist() == [["B-2", "coder1"]]
    cells = result.disagreements[result.disagreements["column"] != WHOLE_ROW]
    assert set(cells["es_id"]) == {"C-1"}  # A's rows agree once matched; B shares B-1 and C C-1, as before
    assert result.agreement.set_index("column").loc["rater", "n_compared"] == 4
    assert result.notes == ("1 study coded by both coders with no es_id in common (A): its rows are matched by their "
                            "position within the study and shown with the first coder's es_id; give both sheets the "
                            "same es_id to match them by name",)
    three = sheet([{**CODER1[0], "es_id": "a"}, {**CODER1[1], "es_id": "b"}, {**CODER1[0], "es_id": "c"}])
    result = compare_coders(sheet(CODER1[:2]), three)  # a third row beyond the first coder's two keeps its es_id
    assert result.unmatched[["es_id", "coder"]].values.tolist() == [["c", "coder2"]]
    assert "(A (2 rows vs 3))" in result.notes[0]


def test_a_column_one_coder_left_empty_is_not_listed_cell_by_cell():
    """A column present in both sheets but left empty by one coder throughout (kept from the template) was not
    double-coded, as a column that sheet lacks: its cells were each listed as a disagreement."""
    one = sheet([{**row, "measure": "WAI"} for row in CODER1])
    two = sheet([{**row, "measure": None} for row in CODER2])
    result = compare_coders(one, two)
    assert "measure" not in set(result.disagreements["column"])
    assert result.agreement.set_index("column").loc["measure", ["n_compared", "n_one_coder"]].tolist() == [0, 4]
    assert result.notes == ("column measure only in the first coder's sheet (empty or absent in the second coder's): "
                            "not double-coded, so not listed as disagreements (agreement.csv counts the filled cells "
                            "in n_one_coder)",)
    half = sheet([{**row, "measure": "WAI" if i == 0 else None} for i, row in enumerate(CODER2)])
    assert set(compare_coders(one, half).disagreements["column"]) >= {"measure"}  # coded in part: compared


ROB2_LOW = {"rob_randomisation": "low", "rob_deviations": "low", "rob_missing_data": "low", "rob_measurement": "low",
            "rob_selection": "low"}


def test_risk_of_bias_is_compared_once_per_study():
    """Risk of bias is judged once per study, written on one or every row of it (config/README.md): the coders'
    agreement on it was counted per effect size, so a study with three rows weighed three times and the same
    judgements gave other kappas when one coder wrote them on the first row only."""
    judged = {"A": {**ROB2_LOW, "rob_deviations": "some concerns", "rob_overall": "some concerns"}, "B": ROB2_LOW,
              "C": {**ROB2_LOW, "rob_overall": "high"}}
    every_row = [{**row, **judged[row["study_id"]]} for row in CODER1[:4]]  # A has two rows
    first_rows = [{**row, **(judged[row["study_id"]] if row["es_id"].endswith("-1") else {})} for row in CODER1[:4]]
    second = {"A": {**ROB2_LOW, "rob_overall": "low"}, "B": ROB2_LOW, "C": {**ROB2_LOW, "rob_overall": "low"}}
    two = sheet([{**row, **second[row["study_id"]]} for row in CODER1[:4]])
    tables = [compare_coders(sheet(one), two, risk_of_bias={"tool": "rob2"}) for one in (every_row, first_rows)]
    for result in tables:
        table = result.agreement.set_index("column")
        assert table.loc["rob_deviations", ["n_compared", "percent_agreement"]].tolist() == [3, pytest.approx(200 / 3)]
        assert table.loc["rob_overall", ["n_compared", "percent_agreement"]].tolist() == [2, 0]  # B's derived in both
        listed = result.disagreements[result.disagreements["column"].str.startswith("rob_")]
        assert listed[["es_id", "column", "coder1", "coder2"]].values.tolist() == [
            ["A-1", "rob_deviations", "some concerns", "low"], ["A-1", "rob_overall", "some concerns", "low"],
            ["C-1", "rob_overall", "high", "low"]]
    assert tables[0].agreement.equals(tables[1].agreement)


def test_ac1_of_a_risk_of_bias_column_counts_every_judgement_of_the_tool():
    """Gwet's q is the number of categories of the scale (Gwet 2008, eq. 5): RoB 2 has three judgements, also when
    the coders used two of them (AC1 was computed with q = 2). By hand: four studies, the coders agree on three
    (p_a = 3/4); pi_low = 7/8, pi_some = 1/8, pi_high = 0; p_e = (7/8 * 1/8 + 1/8 * 7/8 + 0) / (3 - 1) = 7/64."""
    first = ["low", "low", "low", "some concerns"]
    studies = [{"study_id": s, "es_id": f"{s}-1", "r": "0.3", "n": "50"} for s in "ABCD"]
    one = sheet([{**row, **ROB2_LOW, "rob_measurement": j} for row, j in zip(studies, first)])
    two = sheet([{**row, **ROB2_LOW} for row in studies])
    table = compare_coders(one, two, risk_of_bias={"tool": "rob2"}).agreement.set_index("column")
    p_a, p_e = 3 / 4, 7 / 64
    assert table.loc["rob_measurement", "ac1"] == pytest.approx((p_a - p_e) / (1 - p_e), rel=1e-12)
    assert table.loc["rob_measurement", "kappa"] == 0  # p_e = 3/4 * 1 + 1/4 * 0: the kappa paradox


def test_a_second_coders_study_judged_differently_on_its_rows_is_one_disagreement_showing_each_judgement():
    """Judgements that differ between a study's rows (a problem of the second coder's sheet, compared as written)
    were compared row by row, the first row's "Low risk" listed as disagreeing with "low"."""
    one = sheet([{**row, **ROB2_LOW} for row in CODER1[:3]])
    two = sheet([{**CODER1[0], **ROB2_LOW, "rob_deviations": "Low risk"},
                 {**CODER1[1], **ROB2_LOW, "rob_deviations": "High"}, {**CODER1[2], **ROB2_LOW}])
    result = compare_coders(one, two, risk_of_bias={"tool": "rob2"})
    listed = result.disagreements[result.disagreements["column"] == "rob_deviations"]
    assert listed[["study_id", "coder1", "coder2"]].values.tolist() == [["A", "low", "low / high"]]
    assert result.agreement.set_index("column").loc["rob_deviations", "n_compared"] == 2
