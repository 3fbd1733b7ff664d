"""The template workbook: columns, drop-downs, number validation, comments, and the round trip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from alliance_meta.inputs import codebook
from alliance_meta.inputs.sheet import read_sheet, validate_sheet
from alliance_meta.inputs.template import (
    CODEBOOK_SHEET, DATA_SHEET, LAST_ROW, LISTS_SHEET, NUMBER_RULES, column_rule, write_template,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "raw" / "studies.csv"


def validations_by_column(sheet) -> dict[str, list]:
    """Data validations of the data sheet, keyed by the header of the column they cover."""
    header = {get_column_letter(i): cell.value for i, cell in enumerate(sheet[1], start=1)}
    found: dict[str, list] = {}
    for validation in sheet.data_validations.dataValidation:
        for cell_range in validation.sqref.ranges:
            assert cell_range.min_col == cell_range.max_col
            assert (cell_range.min_row, cell_range.max_row) == (2, LAST_ROW)
            found.setdefault(header[get_column_letter(cell_range.min_col)], []).append(validation)
    return found


@pytest.fixture(scope="module")
def empty_template(tmp_path_factory):
    path = write_template(tmp_path_factory.mktemp("template") / "studies.xlsx")
    return openpyxl.load_workbook(path)


def test_every_codebook_column_in_order_with_its_rule_as_header_comment(empty_template):
    sheet = empty_template[DATA_SHEET]
    assert empty_template.sheetnames[:2] == [DATA_SHEET, CODEBOOK_SHEET]
    header = [cell.value for cell in sheet[1]]
    assert header == list(codebook.CODEBOOK_COLUMNS)
    for cell in sheet[1]:
        assert cell.comment is not None and cell.comment.text == column_rule(cell.value)
    assert sheet.freeze_panes == "C2"  # header row (and study_id, es_id) frozen
    assert sheet.max_row == 1
    assert "Values: patient, therapist, observer" in sheet["A1"].parent.cell(
        row=1, column=header.index("rater") + 1).comment.text
    assert "strictly between -1 and 1" in column_rule("r") and "input kinds: r" in column_rule("r")
    free = [column for column in codebook.CODEBOOK_COLUMNS if "outside the codebook" in column_rule(column)]
    assert free == []  # rxx, ryy and ux were described as free moderators
    assert column_rule("ux").startswith("ux: range restriction of the alliance")


def test_drop_down_on_every_vocabulary_and_number_validation_on_every_numeric_column(empty_template):
    found = validations_by_column(empty_template[DATA_SHEET])
    assert set(found) == set(codebook.VOCABULARIES) | set(codebook.NUMERIC_COLUMNS)
    for column, vocabulary in codebook.VOCABULARIES.items():
        (validation,) = found[column]
        assert validation.type == "list" and validation.allow_blank
        assert validation.formula1 == '"' + ",".join(vocabulary.values) + '"'
        assert validation.showDropDown in (None, False)  # True would hide the arrow in Excel
        assert validation.errorStyle == "warning"  # synonyms are accepted by the codebook
    for column in codebook.NUMERIC_COLUMNS:
        (validation,) = found[column]
        assert validation.type == ("whole" if NUMBER_RULES[column].whole else "decimal")
        assert validation.errorStyle == "stop"
    assert (found["r"][0].operator, found["r"][0].formula1, found["r"][0].formula2) == ("between", "-1", "1")
    assert (found["n"][0].type, found["n"][0].operator, found["n"][0].formula1) == ("whole", "greaterThanOrEqual", "4")
    assert (found["sd1"][0].operator, found["sd1"][0].formula1) == ("greaterThan", "0")


def test_codebook_worksheet_lists_every_column_and_input_kind(empty_template):
    rows = list(empty_template[CODEBOOK_SHEET].iter_rows(values_only=True))
    assert rows[0] == ("column", "type", "allowed values", "meaning and rule", "input kinds")
    columns = [row[0] for row in rows[1:len(codebook.CODEBOOK_COLUMNS) + 1]]
    assert columns == list(codebook.CODEBOOK_COLUMNS)
    kinds_header = rows.index(("input kind", "columns", "direction needed", "description", None))
    assert [row[0] for row in rows[kinds_header + 1:]] == [kind.name for kind in codebook.INPUT_KINDS]
    by_column = {row[0]: row for row in rows[1:len(codebook.CODEBOOK_COLUMNS) + 1]}
    assert by_column["modality"][1] == "list" and "cognitive behavioral -> CBT" in by_column["modality"][2]
    assert by_column["n"][1] == "whole number" and "t_df" not in by_column["n"][4]


def test_every_numeric_column_has_a_range():
    assert set(NUMBER_RULES) == set(codebook.NUMERIC_COLUMNS)


def _probe_values(rule) -> list[float]:
    points = [-1e6, -1.0, 0.0, 1.0, 1e6, 4.5]
    for bound in (rule.minimum, rule.maximum):
        if bound is not None:
            points += [bound - 1, bound - 0.01, bound, bound + 0.01, bound + 1]
    return sorted(set(points))


def test_number_ranges_are_the_ranges_the_sheet_validation_checks():
    """Each column's NumberRule accepts exactly the values validate_sheet accepts in that column."""
    rows, expected = [], []
    for column, rule in NUMBER_RULES.items():
        for value in _probe_values(rule):
            rows.append({"study_id": f"{column}={value}", column: repr(value)})
            expected.append((column, value, rule.accepts(value)))
    frame = pd.DataFrame(rows)
    _, problems = validate_sheet(frame)
    failing = {(p.row, p.column) for p in problems if p.check not in ("no_complete_input",)}
    for row_number, (column, value, accepts) in enumerate(expected, start=2):
        assert ((row_number, column) not in failing) == accepts, (column, value, accepts)


def test_round_trip_of_the_demo_sheet_validates_and_keeps_every_value(tmp_path):
    path = write_template(tmp_path / "studies.xlsx", DEMO)
    workbook = openpyxl.load_workbook(path)
    header = [cell.value for cell in workbook[DATA_SHEET][1]]
    quips = ["rob_participation", "rob_attrition", "rob_prognostic_factor", "rob_outcome", "rob_confounding",
             "rob_analysis", "rob_overall"]
    assert header == list(codebook.CODEBOOK_COLUMNS) + ["setting", "internet", *quips]  # free columns follow
    assert len(validations_by_column(workbook[DATA_SHEET])) == len(codebook.VOCABULARIES) + len(codebook.NUMERIC_COLUMNS)
    round_trip, problems = validate_sheet(read_sheet(path))
    assert problems == []
    original, _ = validate_sheet(read_sheet(DEMO))
    assert len(round_trip) == len(original) == 395
    pd.testing.assert_frame_equal(round_trip[original.columns], original, check_dtype=False)
    number_cell = workbook[DATA_SHEET].cell(row=3, column=header.index("r") + 1)
    assert isinstance(number_cell.value, float) and number_cell.value == -0.2  # numbers stay numbers


def test_existing_cells_canonical_where_known_and_kept_as_written_otherwise(tmp_path):
    frame = pd.DataFrame({"study_id": ["001", "S2"], "rater": ["Client", "patiant"], "r": ["0.3", "0,35"],
                          "n": ["50", "60"], "label": ["=SUM(A1:A3)", "plain"], "informant": ["parent", None]})
    path = write_template(tmp_path / "coded.xlsx", frame)
    sheet = openpyxl.load_workbook(path)[DATA_SHEET]
    header = [cell.value for cell in sheet[1]]
    assert header[-1] == "informant"
    cell = {column: [sheet.cell(row=row, column=header.index(column) + 1) for row in (2, 3)]
            for column in ("study_id", "rater", "r", "n", "label")}
    assert [c.value for c in cell["study_id"]] == ["001", "S2"]
    assert [c.value for c in cell["rater"]] == ["patient", "patiant"]
    assert [c.value for c in cell["r"]] == [0.3, "0,35"]
    assert [c.value for c in cell["n"]] == [50, 60]
    assert cell["label"][0].data_type == "s" and cell["label"][0].value == "=SUM(A1:A3)"  # text, never a formula
    _, problems = validate_sheet(read_sheet(path))
    assert sorted((p.row, p.column, p.check) for p in problems) == [
        (3, "r", "number"), (3, "rater", "vocabulary")]


def test_a_long_vocabulary_goes_to_a_hidden_lists_sheet(tmp_path):
    long = codebook.Vocabulary("measure", tuple(f"measure number {i}" for i in range(40)), "alliance measure")
    path = write_template(tmp_path / "long.xlsx", vocabularies={**codebook.VOCABULARIES, "measure": long})
    workbook = openpyxl.load_workbook(path)
    assert workbook[LISTS_SHEET].sheet_state == "hidden"
    (validation,) = validations_by_column(workbook[DATA_SHEET])["measure"]
    assert validation.formula1 == f"{LISTS_SHEET}!$A$2:$A$41"
    values = [row[0] for row in workbook[LISTS_SHEET].iter_rows(min_row=2, values_only=True)]
    assert values == list(long.values)


def test_template_rejects_a_path_that_is_not_xlsx(tmp_path):
    with pytest.raises(ValueError, match="ending in .xlsx"):
        write_template(tmp_path / "studies.csv")


def test_command_line_writes_and_never_overwrites_without_force(tmp_path):
    path = tmp_path / "review" / "studies.xlsx"
    command = [sys.executable, "-m", "alliance_meta.template", str(path), "--from", str(DEMO)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "no problems" in done.stdout and path.is_file()
    before = path.read_bytes()
    again = subprocess.run(command[:4], capture_output=True, text=True, check=False)
    assert again.returncode == 1 and "--force" in again.stderr and path.read_bytes() == before
    forced = subprocess.run(command[:4] + ["--force"], capture_output=True, text=True, check=False)
    assert forced.returncode == 0 and openpyxl.load_workbook(path)[DATA_SHEET].max_row == 1
    assert not np.any([cell.value for cell in openpyxl.load_workbook(path)[DATA_SHEET][2]])


def test_command_line_reads_and_checks_with_the_review_s_settings(tmp_path):
    """--rob-tool, --sheet-name and --decimal as the config's risk_of_bias.tool, sheet_name and decimal."""
    source = tmp_path / "rob2_SIMULATED.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "Old draft"
    workbook.active.append(["study_id", "r", "n"])
    coding = workbook.create_sheet("Coding")
    coding.append(["study_id", "r", "n", "rob_randomisation", "rob_deviations", "rob_missing_data",
                   "rob_measurement", "rob_selection"])
    coding.append(["S1", "0,30", "80", "low", "some concerns", "low", "high", "low"])
    workbook.save(source)
    command = [sys.executable, "-m", "alliance_meta.template", str(tmp_path / "t.xlsx"), "--from", str(source)]
    refused = subprocess.run(command, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "2 worksheets" in refused.stderr
    quips = subprocess.run(command + ["--sheet-name", "Coding", "--decimal", ","], capture_output=True, text=True,
                           check=False)
    assert quips.returncode == 1 and "is not a domain of QUIPS" in quips.stdout  # a problem: exit 1
    rob2 = subprocess.run(command + ["--sheet-name", "Coding", "--decimal", ",", "--rob-tool", "rob2", "--force"],
                          capture_output=True, text=True, check=False)
    assert rob2.returncode == 0 and "no problems" in rob2.stdout, rob2.stdout + rob2.stderr
    from alliance_meta.inputs.sheet import main as check

    assert check([str(source), "--sheet-name", "Coding", "--decimal", ",", "--rob-tool", "rob2"]) == 0
    assert check([str(source), "--sheet-name", "Coding", "--decimal", ","]) == 1
    with pytest.raises(SystemExit) as usage:  # a usage error, not a traceback
        check([str(source), "--rob-tool", "custom"])
    assert usage.value.code == 2


def test_a_whole_number_cell_is_not_asked_for_a_decimal_point(empty_template):
    found = validations_by_column(empty_template[DATA_SHEET])
    assert "decimal point" not in found["n"][0].error and "whole number" in found["n"][0].error
    assert "with a decimal point" in found["r"][0].error
