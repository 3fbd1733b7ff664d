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
from alliance_meta.inputs.risk_of_bias import BUILT_IN, QUIPS, empty_columns_note, has_risk_of_bias
from alliance_meta.inputs.sheet import read_sheet, validate_sheet
from alliance_meta.inputs.template import (
    CODEBOOK_SHEET, DATA_SHEET, LAST_ROW, LISTS_SHEET, NUMBER_RULES, column_rule, main, rob_vocabularies,
    write_template,
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
    assert header == list(codebook.CODEBOOK_COLUMNS) + list(QUIPS.columns)  # then the default tool's rob_* columns
    vocabularies = {**codebook.VOCABULARIES, **rob_vocabularies(QUIPS)}
    for cell in sheet[1]:
        assert cell.comment is not None and cell.comment.text == column_rule(cell.value, vocabularies)
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
    assert set(found) == set(codebook.VOCABULARIES) | set(codebook.NUMERIC_COLUMNS) | set(QUIPS.columns)
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
    found = validations_by_column(workbook[DATA_SHEET])  # the sheet's QUIPS columns get the default tool's drop-down
    assert set(found) == set(codebook.VOCABULARIES) | set(codebook.NUMERIC_COLUMNS) | set(quips)
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
    # Excel calls a workbook with a longer message or title damaged, and drops its drop-downs
    for each in workbook[DATA_SHEET].data_validations.dataValidation:
        assert len(each.error or "") <= 255 and len(each.errorTitle or "") <= 32
    assert validation.error == "measure takes a value of its drop-down list (or a synonym listed in the codebook sheet)."


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


def test_command_line_problems_name_its_own_options_not_the_config(tmp_path, capsys):
    """The template command checks the rows it wrote, but its advice for a decimal comma was the pipeline's
    ('set decimal: "," in the config'), an option this command does not read: it says --decimal , now."""
    from alliance_meta.inputs.template import main

    source = tmp_path / "coded.csv"
    source.write_text('study_id,r,n\nS1,"0,25",80\n', encoding="utf-8")
    assert main([str(tmp_path / "t.xlsx"), "--from", str(source)]) == 1
    out = capsys.readouterr().out
    assert 'write "0.25" (decimal point, no text or units), or give --decimal , to read' in out
    assert "in the config" not in out


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
    assert quips.returncode == 1 and "are not domains of QUIPS" in quips.stdout  # a problem: exit 1
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


# ---------------------------------------------------------------------------
# Risk-of-bias columns of the blank template
# ---------------------------------------------------------------------------

def _list_values(validation) -> list[str]:
    assert validation.type == "list" and validation.formula1.startswith('"')
    return validation.formula1.strip('"').split(",")


def _check_rob_columns(path: Path, tool) -> None:
    """The tool's columns after the codebook's, each with the judgements' drop-down, a header comment
    and a codebook row that name the domain and the tool and say the column may stay empty."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook[DATA_SHEET]
    header = [cell.value for cell in sheet[1]]
    assert header == list(codebook.CODEBOOK_COLUMNS) + list(tool.columns)
    found = validations_by_column(sheet)
    codebook_rows = {row[0]: row for row in workbook[CODEBOOK_SHEET].iter_rows(values_only=True)}
    for column in tool.columns:
        (validation,) = found[column]
        assert _list_values(validation) == list(tool.judgements)
        assert validation.allow_blank and validation.errorStyle == "warning"  # synonyms (L, +, ...) are accepted
        assert validation.showDropDown in (None, False)
        assert len(validation.errorTitle) <= 32  # Excel's limit
        label = "overall" if column == "rob_overall" else tool.label(column)
        comment = sheet.cell(row=1, column=header.index(column) + 1).comment.text
        row = codebook_rows[column]
        for text in (comment, row[3]):
            assert label in text and tool.title in text and "leave empty if you do not rate risk of bias" in text
        assert f"Values: {', '.join(tool.judgements)}." in comment
        assert row[1] == "list" and row[2].startswith(", ".join(tool.judgements))


def test_blank_template_has_the_default_quips_columns_with_their_judgements(tmp_path):
    path = tmp_path / "studies.xlsx"
    assert main([str(path)]) == 0
    _check_rob_columns(path, QUIPS)
    comment = openpyxl.load_workbook(path)[DATA_SHEET].cell(row=1, column=len(codebook.CODEBOOK_COLUMNS) + 3).comment
    assert comment.text.startswith("rob_prognostic_factor: risk of bias in the domain Prognostic factor measurement, "
                                   "rated with QUIPS (Hayden et al., 2013)")


@pytest.mark.parametrize("tool", ["rob2", "robins_i"])
def test_rob_tool_option_chooses_the_columns_and_drop_downs_of_the_blank_template(tmp_path, tool):
    path = tmp_path / "studies.xlsx"
    done = subprocess.run([sys.executable, "-m", "alliance_meta.template", str(path), "--rob-tool", tool],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert f"{len(BUILT_IN[tool].columns)} of them rob_* columns of --rob-tool {tool}" in done.stdout
    _check_rob_columns(path, BUILT_IN[tool])
    values = _list_values(validations_by_column(openpyxl.load_workbook(path)[DATA_SHEET])["rob_overall"][0])
    assert values == (["low", "some concerns", "high"] if tool == "rob2"
                      else ["low", "moderate", "serious", "critical", "no information"])


def test_custom_tool_domains_are_the_columns_of_the_blank_template(tmp_path):
    from alliance_meta.inputs.risk_of_bias import tool_from_config

    path = tmp_path / "studies.xlsx"
    assert main([str(path), "--rob-tool", "custom", "--rob-domains", "blinding,selective_reporting"]) == 0
    tool = tool_from_config({"tool": "custom", "domains": ["blinding", "selective_reporting"]})
    assert tool.columns == ("rob_blinding", "rob_selective_reporting", "rob_overall")
    _check_rob_columns(path, tool)
    sheet = openpyxl.load_workbook(path)[DATA_SHEET]
    assert "domain Selective reporting, rated with custom risk-of-bias tool" in sheet.cell(
        row=1, column=len(codebook.CODEBOOK_COLUMNS) + 2).comment.text


def _fill(path: Path, rows: list[dict]) -> None:
    """Type ``rows`` into the template's data sheet, as a reviewer would (the rest of it unchanged)."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook[DATA_SHEET]
    header = [cell.value for cell in sheet[1]]
    for row_number, row in enumerate(rows, start=2):
        for column, value in row.items():
            sheet.cell(row=row_number, column=header.index(column) + 1, value=value)
    workbook.save(path)


MINIMAL_ROWS = [{"study_id": "S1", "r": 0.3, "n": 80}, {"study_id": "S2", "r": 0.25, "n": 120},
                {"study_id": "S2", "es_id": "2", "r": 0.2, "n": 120}, {"study_id": "S3", "r": 0.4, "n": 60}]


@pytest.mark.parametrize("tool", ["quips", "rob2"])
def test_blank_template_filled_in_validates_with_and_without_risk_of_bias_judgements(tmp_path, tool):
    """Left empty, the rob_* columns are dropped with the "present but empty" note; judgements typed from
    the drop-downs make the sheet one coded for risk of bias (rob_overall derived where left empty)."""
    path = tmp_path / "studies.xlsx"
    options = {"tool": tool}
    assert main([str(path), "--rob-tool", tool]) == 0
    rob = BUILT_IN[tool]
    _fill(path, MINIMAL_ROWS)
    raw = read_sheet(path)
    assert list(raw.columns[-len(rob.columns):]) == list(rob.columns) and not has_risk_of_bias(raw)
    clean, problems = validate_sheet(raw, risk_of_bias=options)
    assert problems == []
    assert len(clean) == 4 and not any(column.startswith("rob_") for column in clean.columns)
    assert empty_columns_note(rob.columns) in clean.attrs["notes"]

    drop_downs = validations_by_column(openpyxl.load_workbook(path)[DATA_SHEET])
    judgements = {column: _list_values(drop_downs[column][0]) for column in rob.columns}
    domains = [column for column in rob.columns if column != "rob_overall"]
    rated = [{column: judgements[column][0] for column in domains},  # S1: all domains best: overall derived
             {column: judgements[column][-1] for column in rob.columns},  # S2 (first row): worst, overall written
             {}, {domains[0]: judgements[domains[0]][1]}]  # S2's second row inherits; S3 one domain only
    _fill(path, rated)
    raw = read_sheet(path)
    assert has_risk_of_bias(raw)
    clean, problems = validate_sheet(raw, risk_of_bias=options)
    assert problems == []
    assert f"risk of bias coded with {rob.title}: columns {', '.join(rob.columns)}" in clean.attrs["notes"]
    assert not any("present but empty" in note for note in clean.attrs["notes"])
    overall = clean["rob_overall"].tolist()
    assert overall[:3] == [rob.levels[0], rob.levels[-1], rob.levels[-1]] and pd.isna(overall[3])
    assert clean[domains[0]].tolist() == [rob.levels[0], rob.levels[-1], rob.levels[-1], rob.levels[1]]


def test_from_sheet_keeps_its_own_rob_columns_and_adds_none(tmp_path):
    """A template filled from a sheet has the sheet's rob_* columns where they are, no others; a sheet without
    them gets the tool's, empty (before: none, so a reviewer moving an older sheet to the template had no column to
    rate risk of bias in); a sheet with another tool's keeps them (without the default tool's drop-down)."""
    plain = write_template(tmp_path / "plain.xlsx", pd.DataFrame({"study_id": ["S1"], "r": ["0.3"], "n": ["50"]}))
    plain_sheet = openpyxl.load_workbook(plain)[DATA_SHEET]
    assert [cell.value for cell in plain_sheet[1]] == list(codebook.CODEBOOK_COLUMNS) + list(QUIPS.columns)
    assert set(validations_by_column(plain_sheet)) >= set(QUIPS.columns)
    assert [plain_sheet.cell(row=2, column=len(codebook.CODEBOOK_COLUMNS) + 1 + i).value
            for i in range(len(QUIPS.columns))] == [None] * len(QUIPS.columns)
    clean, problems = validate_sheet(read_sheet(plain))
    assert problems == [] and not any(str(column).startswith("rob_") for column in clean.columns)
    rob2_columns = list(BUILT_IN["rob2"].columns)
    frame = pd.DataFrame({"study_id": ["S1"], "r": ["0.3"], "n": ["50"], "rob_randomisation": ["L"],
                          "rob_overall": ["Some concerns"]})
    for tool, drop_down in ((None, ["rob_overall"]), ({"tool": "rob2"}, ["rob_randomisation", "rob_overall"])):
        path = write_template(tmp_path / "rob2.xlsx", frame, risk_of_bias=tool)
        sheet = openpyxl.load_workbook(path)[DATA_SHEET]
        header = [cell.value for cell in sheet[1]]
        assert header == list(codebook.CODEBOOK_COLUMNS) + ["rob_randomisation", "rob_overall"]
        assert set(validations_by_column(sheet)) & set(rob2_columns) == set(drop_down)
        _, problems = validate_sheet(read_sheet(path), risk_of_bias=tool)
        if tool is None:  # QUIPS has no rob_randomisation and no "some concerns": reported, as before
            assert {p.check for p in problems} == {"rob_column", "rob_vocabulary"}
        else:
            assert problems == []
            assert [sheet.cell(row=2, column=header.index(c) + 1).value for c in header[-2:]] == ["low", "some concerns"]


def test_a_sheet_with_a_repeated_column_name_fills_no_template(tmp_path):
    """Of two columns named alike (r and R) the sheet is read with the first; a template filled from it would
    leave the other's cells out without a word: the repeated name is the error, as in the sheet's check."""
    source = tmp_path / "sheet.csv"
    source.write_text("study_id,r,n,R\nS1,0.3,50,0.35\nS2,0.2,60,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r'column r: is the name of 2 columns, B \("r"\), D \("R"\)'):
        write_template(tmp_path / "t.xlsx", source)
    assert not (tmp_path / "t.xlsx").exists()
