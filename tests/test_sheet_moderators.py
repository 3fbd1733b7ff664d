"""Validation of the moderator columns the config names: present in the header, and
numbers in continuous moderators, reported with row, column, value and rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from snakemake.utils import validate

from alliance_meta.inputs import sheet
from alliance_meta.inputs.sheet import format_problems, main, read_sheet, validate_sheet

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "raw" / "studies.csv"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
SHEET = ("study_id,r,n,modality,Mean_Age,year,setting\n"
         "S1,0.30,50,CBT,about 30,2005,outpatient\n"
         "S2,0.20,60,CBT,31.5,2006,Inpatient ward\n"
         "S3,0.10,70,CBT,,2007,\n"
         "S4,0.25,80,CBT,\"40,5\",2008,day clinic\n")


def problems_of(folder: Path, text: str = SHEET, **settings):
    path = folder / "sheet.csv"
    path.write_text(text, encoding="utf-8")
    return validate_sheet(read_sheet(path), **settings)[1]


def summary(problems):
    return [(p.row, p.column, p.value, p.check) for p in problems]


def test_without_moderator_settings_nothing_changes(tmp_path):
    assert problems_of(tmp_path) == []


def test_a_moderator_column_with_a_remark_in_its_header_is_named(tmp_path):
    """A header "Rater (patient/therapist)" for moderators: [rater] got 'is not a column of the sheet' and no
    hint: the reviewer saw the column there. It is named, with the name to give it."""
    sheet = "study_id,r,n,Rater (patient/therapist),Modality [CBT etc.],Year\nS1,0.3,50,patient,CBT,2001\n"
    problems = problems_of(tmp_path, sheet, moderators=["rater", "modality"])
    assert [(p.row, p.column, p.rule) for p in problems] == [
        (1, "rater", 'is named by the config (moderators) but is not a column of the sheet; did you mean '
                     '"Rater (patient/therapist)"? (rename it rater)'),
        (1, "modality", 'is named by the config (moderators) but is not a column of the sheet; did you mean '
                        '"Modality [CBT etc.]"? (rename it modality)')]


def test_a_moderator_with_a_unit_in_its_header_is_never_taken_for_an_input_column(tmp_path):
    """"t (weeks)" (treatment length) was named as the t statistic's column ('did you mean t? Rename it t') where a row
    lacked an input, and "N (sessions)" as n; moderators: [t] got 'rename it t', which would read the weeks as t
    statistics; beside a t column, moderators: [t] analysed the t statistics without a word."""
    without = "study_id,r,n,t (weeks),N (sessions)\nS1,0.3,50,12,20\nS2,,,4,16\n"
    assert summary(problems_of(tmp_path, without)) == [(3, "", "", "no_complete_input")]
    problems = problems_of(tmp_path, "study_id,r,N (sessions)\nS1,0.3,20\n")
    assert [(p.row, p.column, p.rule) for p in problems] == [
        (2, "n", "is not a column of the sheet, but r needs it for a complete effect-size input")]
    problems = problems_of(tmp_path, without.replace("S2,,,", "S2,0.2,40,"), moderators=["t"])
    assert [(p.row, p.column, p.rule) for p in problems] == [
        (1, "t", 'is named by the config (moderators) but is not a column of the sheet; did you mean "t (weeks)"? '
                 '(rename it, e.g. "t_weeks", and name that in the config: a column named t is read as an '
                 "effect-size input)")]
    beside = "study_id,r,n,t,df,t (weeks)\nS1,0.3,50,,,12\nS2,,,2.1,48,4\n"
    assert summary(problems_of(tmp_path, beside)) == []
    problems = problems_of(tmp_path, beside, continuous_moderators=["t"])
    assert [(p.row, p.column, p.check, p.rule) for p in problems] == [
        (1, "t", "moderator_input_column", 'is named by the config (continuous_moderators) and names two columns: t, '
         'an effect-size input, and "t (weeks)": rename "t (weeks)" (e.g. "t_weeks", and name that in the config to '
         "analyse it)")]
    assert summary(problems_of(tmp_path, "study_id,r (Pearson),N (patients)\nS1,0.3,50\n")) == [
        (1, "r (Pearson)", "", "input_column_alias"), (1, "N (patients)", "", "input_column_alias"),
        (2, "", "", "no_complete_input")]  # a remark that is no unit: still the input it names


def test_configured_moderator_missing_from_the_header(tmp_path):
    problems = problems_of(tmp_path, moderators=["modality", "rater", "setting"],
                           continuous_moderators=["mean_age"])
    missing = [p for p in problems if p.check == "moderator_column_missing"]
    assert summary(missing) == [(1, "rater", "", "moderator_column_missing"),
                                (1, "mean_age", "", "moderator_column_missing")]
    rater, age = missing
    assert "config (moderators)" in rater.rule and "did you mean" not in rater.rule
    assert "config (continuous_moderators)" in age.rule and 'did you mean "Mean_Age"?' in age.rule
    assert str(age).startswith("row 1, column mean_age: ")


def test_formula_variables_and_subsets_must_be_columns_named_once(tmp_path):
    problems = problems_of(tmp_path, moderators=["timing"], meta_regression=["modality * timing", "timing + Mean_Age"],
                           subsets=["timing", "format"])
    assert summary(problems) == [(1, "timing", "", "moderator_column_missing"),
                                 (1, "format", "", "moderator_column_missing")]
    timing = problems[0].rule
    assert 'moderators, meta_regression "modality * timing", meta_regression "timing + Mean_Age", ' \
           "multiverse.subsets" in timing


def test_psychometric_moderators_must_be_columns(tmp_path):
    """psychometric.moderators naming no column of the sheet gave an empty psychometric_moderators.csv without a word."""
    problems = problems_of(tmp_path, moderators=["modality"], psychometric_moderators=["setting", "settng"])
    assert summary(problems) == [(1, "settng", "", "moderator_column_missing")]
    assert problems[0].rule == ('is named by the config (psychometric.moderators) but is not a column of the sheet; '
                                'did you mean "setting"?')


def test_a_formula_that_cannot_be_read_is_reported(tmp_path):
    problems = problems_of(tmp_path, meta_regression=["modality + ", "modality + year"])
    assert summary(problems) == [(1, "", "modality + ", "moderator_formula")]
    assert "meta_regression formula cannot be read" in problems[0].rule


def test_a_formula_term_that_is_no_number_on_a_row_is_a_problem_of_that_row(tmp_path):
    """'log(year - 2006)' (-inf at 2006, NaN at 2005) and R's 'factor(setting)' passed validation and stopped the
    moderator job with a traceback, reported as a bug of alliance-meta."""
    problems = problems_of(tmp_path, continuous_moderators=["year"],
                           meta_regression=["log(year - 2006)", "factor(setting)", "I(1 / (year - 2000))"])
    assert summary(problems) == [(1, "", "factor(setting)", "moderator_formula_value"),
                                 (2, "year", "2005", "moderator_formula_value"),
                                 (3, "year", "2006", "moderator_formula_value")]
    assert "R's factor(x) is C(x) here" in problems[0].rule
    assert problems[1].rule.startswith('meta_regression "log(year - 2006)": its term log(year - 2006) is not a finite '
                                       "number on this row")
    assert problems_of(tmp_path, continuous_moderators=["year"], meta_regression=["log(year - 2000)"]) == []
    # the term's column, not the formula's first; a term no row has a number for, a level that is not one and a
    # number read as levels are problems of the formula
    problems = problems_of(tmp_path, continuous_moderators=["year"],
                           meta_regression=["modality + log(year - 2006)", "I(year / 0)", "C(setting, Treatment('zzz'))"])
    assert summary(problems) == [(1, "", "I(year / 0)", "moderator_formula_value"),
                                 (1, "", "C(setting, Treatment('zzz'))", "moderator_formula_value"),
                                 (2, "year", "2005", "moderator_formula_value"),
                                 (3, "year", "2006", "moderator_formula_value")]
    (levels,) = problems_of(tmp_path, meta_regression=["log(year)"])
    assert "year is read as levels, not numbers: list it in continuous_moderators" in levels.rule


def test_text_in_a_continuous_moderator(tmp_path):
    problems = problems_of(tmp_path, moderators=["setting"], continuous_moderators=["Mean_Age", "year"])
    assert summary(problems) == [(2, "Mean_Age", "about 30", "moderator_number"),
                                 (5, "Mean_Age", "40,5", "moderator_number")]
    assert 'write "30"' in problems[0].rule and 'write "40.5"' in problems[1].rule
    assert "continuous_moderators" in problems[0].rule
    assert str(problems[0]).startswith('row 2, column Mean_Age, value "about 30": ')
    report = format_problems(problems)
    assert "text in numeric columns (2):" in report


def test_a_column_of_categories_named_as_continuous_is_one_problem(tmp_path):
    """continuous_moderators: [setting] (categories) gave one identical line per row of the sheet (395 for the
    demo's rater); a column with some numbers still gets its cells named."""
    problems = problems_of(tmp_path, continuous_moderators=["setting", "Mean_Age"])
    assert summary(problems) == [(1, "setting", "", "moderator_text_column"),
                                 (2, "Mean_Age", "about 30", "moderator_number"),
                                 (5, "Mean_Age", "40,5", "moderator_number")]
    assert problems[0].rule == ('is a continuous moderator (continuous_moderators in the config) but none of its '
                                'filled cells is a number (3 cells: "outpatient", "Inpatient ward", "day clinic"): '
                                'if it holds categories, list it under moderators instead')
    four = SHEET.replace("S4,0.25,80,CBT,\"40,5\",2008,day clinic", "S4,0.25,80,CBT,40,2008,day clinic\nS5,0.3,90,"
                         "CBT,41,2009,home")
    assert '(4 cells: "outpatient", "Inpatient ward", "day clinic", ...)' in problems_of(
        tmp_path, four, continuous_moderators=["setting"])[0].rule


def test_year_as_continuous_moderator_is_reported_once(tmp_path):
    text = "study_id,r,n,year\nS1,0.3,50,2005a\nS2,0.2,60,2006\n"
    problems = problems_of(tmp_path, text, continuous_moderators=["year"], meta_regression=["year"])
    assert summary(problems) == [(2, "year", "2005a", "number")]


def test_free_categorical_moderators_stay_text_and_the_clean_sheet_keeps_cells(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text(SHEET.replace("about 30", "30").replace('"40,5"', "40.5"), encoding="utf-8")
    clean, problems = validate_sheet(read_sheet(path), moderators=["setting"], continuous_moderators=["Mean_Age"])
    assert problems == []
    assert clean["setting"].tolist()[:2] == ["outpatient", "Inpatient ward"]
    assert clean["Mean_Age"].tolist()[:2] == ["30", "31.5"]


def test_every_problem_at_once_even_without_study_id(tmp_path):
    problems = problems_of(tmp_path, SHEET.replace("study_id", "study"), moderators=["rater"])
    assert summary(problems) == [(1, "study_id", "", "column_in_dataframe"),
                                 (1, "rater", "", "moderator_column_missing")]
    problems = problems_of(tmp_path, SHEET.replace("0.30", "1.3"), moderators=["rater"],
                           continuous_moderators=["Mean_Age"])
    assert {p.check for p in problems} == {"moderator_column_missing", "correlation_range", "moderator_number"}


def test_location_scale_variables_must_be_columns():
    """location_scale: [ratr] passed validate_sheet and stopped the location_scale job with KeyError."""
    raw = read_sheet(DEMO)
    models = ["ratr", {"location": "modality", "scale": "n + mod_ality"}, {"scale": "vi"}, "rater + k_effect_sizes"]
    _, problems = validate_sheet(raw, location_scale=models)
    assert [(p.column, p.rule) for p in problems] == [
        ("ratr", 'is named by the config (location_scale "ratr") but is not a column of the sheet; did you mean '
                 '"rater"?'),
        ("mod_ality", 'is named by the config (location_scale "n + mod_ality") but is not a column of the sheet; '
                      'did you mean "modality"?')]
    from alliance_meta.inputs.sheet import moderator_column_problems

    assert moderator_column_problems(["study_id", "d", "n1", "n2"], location_scale=["n"]) == []  # every row's n
    assert [p.column for p in validate_sheet(raw, moderators=["k_effect_sizes"])[1]] == ["k_effect_sizes"]


def test_demo_sheet_validates_with_the_shipped_config():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    validate(config, str(SCHEMA), set_default=True)
    clean, problems = validate_sheet(
        read_sheet(DEMO), moderators=config["moderators"], continuous_moderators=config["continuous_moderators"],
        meta_regression=config["meta_regression"], subsets=config["multiverse"]["subsets"])
    assert problems == [], format_problems(problems)


def test_cli_moderator_flags(tmp_path, capsys):
    path = tmp_path / "sheet.csv"
    path.write_text(SHEET, encoding="utf-8")
    assert main([str(path)]) == 0
    capsys.readouterr()
    assert main([str(path), "--moderators", "modality, rater", "--continuous", "Mean_Age"]) == 1
    output = capsys.readouterr().out
    # the command line's options, not a config the command line never read
    assert "row 1, column rater: is named by --moderators but is not a column of the sheet" in output
    assert "config" not in output
    assert 'row 2, column Mean_Age, value "about 30"' in output
    result = subprocess.run([sys.executable, "-m", "alliance_meta.inputs.sheet", str(path), "--continuous", "mean_age"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and 'did you mean "Mean_Age"?' in result.stdout
    assert "mean_age: is named by --continuous" in result.stdout
    empty = tmp_path / "empty.csv"
    empty.write_text("study_id,r,n,therapy_setting\nS1,0.30,50,\nS2,0.20,60,\n", encoding="utf-8")
    assert main([str(empty), "--moderators", "therapy_setting"]) == 0
    output = capsys.readouterr().out
    assert "therapy_setting (given with --moderators) is empty in every row" in output and "config" not in output
    advice = tmp_path / "advice.csv"
    advice.write_text('study_id,r,n,therapy_setting\nS1,"0,30",50,outpatient\nS2,0.20,60,inpatient\n', encoding="utf-8")
    assert main([str(advice), "--continuous", "therapy_setting"]) == 1
    output = capsys.readouterr().out
    assert "if it holds categories, give it with --moderators instead" in output
    assert "or give --decimal , to read the sheet's decimal commas" in output and "config" not in output
    assert "Traceback" not in result.stdout + result.stderr


def test_cli_file_errors_and_notes_name_its_options_not_the_config(tmp_path, capsys):
    """The command line said "set sheet_name in config/config.yaml", "sheet_name in the config chooses another",
    'set decimal: "," in config/config.yaml' and "(decimal: ,)" of a config it never read."""
    workbook = tmp_path / "two.xlsx"
    with pd.ExcelWriter(workbook) as writer:
        pd.DataFrame({"text": ["read me"]}).to_excel(writer, sheet_name="notes", index=False)
        pd.DataFrame({"study": ["S1"], "r": [0.3], "n": [50]}).to_excel(writer, sheet_name="data", index=False)
    assert main([str(workbook)]) == 1
    assert capsys.readouterr().err.endswith("none has a study_id column in row 1; give the worksheet to read with "
                                            "--sheet-name\n")
    assert main([str(workbook), "--sheet-name", "dat"]) == 1
    assert 'no worksheet "dat" (--sheet-name); did you mean "data"?' in capsys.readouterr().err
    commas = tmp_path / "commas.csv"
    commas.write_text('study_id,r,n\nS1,"0,25",100\nS2,"0,2",80\nS3,"0,3",90\n', encoding="utf-8")
    assert main([str(commas)]) == 1
    assert "3 of them are numbers written with a decimal comma: give --decimal , to read every" in capsys.readouterr().out
    assert main([str(commas), "--decimal", ","]) == 0
    output = capsys.readouterr().out
    assert "note: decimal commas read as decimal points (--decimal ,)" in output and "config" not in output


def test_workflow_stops_at_validate_sheet_on_text_in_continuous_moderators(tmp_path):
    from test_workflow import snakemake, tiny_sheet

    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    sheet = tiny_sheet().astype(str)
    sheet["mean_age"] = "35"
    sheet.loc[0, "year"] = "2005a"
    sheet.loc[2, "mean_age"] = "about 30"
    sheet_path = tmp_path / "data" / "raw" / "studies.csv"
    sheet.to_csv(sheet_path, index=False)
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(
        {"moderators": ["modality", "rater", "setting"], "continuous_moderators": ["year", "mean_age"]}))
    before = sheet_path.read_bytes()
    result = snakemake(tmp_path, "results/outcome/moderators.csv", check=False)
    assert result.returncode != 0
    log = (tmp_path / "logs" / "validate_sheet.log").read_text()
    assert 'row 2, column year, value "2005a": is not a number; write "2005"' in log
    assert 'row 4, column mean_age, value "about 30": is a continuous moderator' in log
    assert "row 1, column setting: is named by the config (moderators)" in log
    assert "Traceback" not in log
    assert not (tmp_path / "data" / "processed" / "sheet.csv").exists()
    assert not (tmp_path / "logs" / "convert_effect_sizes.log").exists()
    assert sheet_path.read_bytes() == before


def test_default_moderators_are_narrowed_to_those_the_sheet_codes(tmp_path):
    from alliance_meta.inputs.planning import coded_moderators, families_in_sheet, planning_cells

    path = tmp_path / "sheet.csv"
    path.write_text("study_id,r,n,Rater\nS1,0.3,50,patient\n", encoding="utf-8")
    cells = planning_cells(path)
    assert coded_moderators(cells, ["modality", "rater"]) == (["rater"], ["modality"])  # codebook names in any case
    assert families_in_sheet(cells) == (["outcome"], ["dropout"])
    path.write_text("study_id,r,n\nS1,0.3,50\n", encoding="utf-8")
    assert coded_moderators(planning_cells(path), ["modality", "rater"]) == ([], ["modality", "rater"])
    # a sheet made from the template has the columns, empty
    path.write_text("study_id,family,r,n,modality,rater\nS1,dropout,0.3,50,, \n", encoding="utf-8")
    cells = planning_cells(path)
    assert coded_moderators(cells, ["modality", "rater"]) == ([], ["modality", "rater"])
    assert families_in_sheet(cells) == (["dropout"], ["outcome"])
    # a sheet that cannot be read keeps the names and the families: validate_sheet reports why it cannot
    assert planning_cells(tmp_path / "absent.csv") is None
    assert coded_moderators(None, ["modality"]) == (["modality"], [])
    assert families_in_sheet(None) == (["outcome", "dropout"], [])


def test_files_the_config_names_must_exist(tmp_path, monkeypatch):
    from alliance_meta.inputs.planning import unusable_files

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sheet.csv").write_text("study_id,r,n\nS1,0.3,50\n")
    assert unusable_files({"sheet": "sheet.csv", "second_coder": None}) == []
    assert unusable_files({"sheet": "data/raw/studies.csv", "second_coder": "coder2.csv"}, named={"second_coder"}) == [
        "sheet: data/raw/studies.csv does not exist, nor does data/raw/studies.xlsx (the default sheet; or set sheet in "
        f"the config) (paths are relative to the review folder {tmp_path})",
        f"second_coder: coder2.csv does not exist (paths are relative to the review folder {tmp_path})"]
    (tmp_path / "folder.csv").mkdir()
    assert unusable_files({"sheet": str(tmp_path / "folder.csv")}, named={"sheet"}) == [
        f"sheet: {tmp_path / 'folder.csv'} is a folder, not a file"]
    for name in ("sheet.ods", "coder2.xls", "sheet.json"):
        (tmp_path / name).write_text("study_id,r,n\nS1,0.3,50\n")
    assert unusable_files({"sheet": "sheet.ods", "second_coder": "coder2.xls"}, named={"sheet", "second_coder"}) == [
        "sheet: sheet.ods: save it as .xlsx (Excel workbook) or .csv first (.ods files are not read)",
        "second_coder: coder2.xls: save it as .xlsx (Excel workbook) or .csv first (.xls files are not read)"]
    assert unusable_files({"sheet": "sheet.json"}, named={"sheet"}) == [
        "sheet: sheet.json: expected a .csv or .xlsx file (or tab-separated .tsv or .txt), not .json"]
    # the sheet as its own second coder: agreement.csv said 100% agreement and kappa 1 in every column
    (tmp_path / "data").mkdir()
    for second in ("sheet.csv", "./sheet.csv", str(tmp_path / "sheet.csv"), "data/../sheet.csv"):
        assert unusable_files({"sheet": "sheet.csv", "second_coder": second}, named={"sheet", "second_coder"}) == [
            f"second_coder: {second} is the sheet itself (sheet: sheet.csv), which agrees with itself in every cell; "
            "give the second coder's own sheet, or delete the second_coder line"], second
    (tmp_path / "coder2.csv").write_text("study_id,r,n\nS1,0.3,50\n")  # the same cells in another file: allowed
    assert unusable_files({"sheet": "sheet.csv", "second_coder": "coder2.csv"}) == []


def test_families_with_rows_that_the_config_leaves_out_are_named(tmp_path):
    from alliance_meta.inputs.planning import families_left_out, family_left_out_sentence, planning_cells

    path = tmp_path / "sheet.csv"
    path.write_text("study_id,family,r,n,d,n1,n2\nS1,,0.3,50,,,\nS2,Drop-out,,,0.2,30,20\nS3,dropout,,,0.4,30,20\n"
                    "S4,relapse,0.1,40,,,\n", encoding="utf-8")
    cells = planning_cells(path)
    assert families_left_out(cells, ["outcome"]) == {"dropout": 2}  # synonyms counted, unknown values left to validation
    assert families_left_out(cells, ["dropout"]) == {"outcome": 1}
    assert families_left_out(cells, ["outcome", "dropout"]) == {}
    assert families_left_out(None, ["outcome"]) == {}
    assert family_left_out_sentence("dropout", 1) == (
        "The sheet has 1 dropout row, but families in config/config.yaml does not include dropout: the dropout family "
        "is not analysed (add dropout to families to analyse it).")


def test_a_sheet_without_rows_of_any_configured_family_is_a_config_problem(tmp_path):
    """families: [dropout] on a sheet of outcome rows ran every dropout job on no effect sizes and
    stopped with tracebacks ("no effect sizes to pool (k = 0)"); now the run stops before any job."""
    from alliance_meta.inputs.planning import no_configured_family_problem, planning_cells

    path = tmp_path / "sheet.csv"
    path.write_text("study_id,family,r,n\nS1,,0.3,50\nS2,outcome,0.2,40\n", encoding="utf-8")
    cells = planning_cells(path)
    assert no_configured_family_problem(cells, ["dropout"]) == (
        "families: [dropout], but the sheet has no row of that family (it has 2 outcome rows): nothing would be "
        "analysed; add outcome to families")
    assert no_configured_family_problem(cells, ["outcome"]) is None
    assert no_configured_family_problem(cells, ["outcome", "dropout"]) is None
    path.write_text("study_id,family,r,n\nS1,dropuot,0.3,50\nS2,outcome,0.2,40\n", encoding="utf-8")
    assert no_configured_family_problem(planning_cells(path), ["dropout"]) is None  # the typo: validation's
    path.write_text("study_id,r,n\n", encoding="utf-8")
    assert no_configured_family_problem(planning_cells(path), ["dropout"]) is None  # header only: validation's
    assert no_configured_family_problem(None, ["dropout"]) is None


def test_an_aggregate_rho_gls_cannot_use_is_a_config_problem(tmp_path):
    """aggregate_rho: 1 ("perfectly correlated") with the default gls composite stopped convert_effect_sizes with a
    ValueError traceback; now the run stops before any job and names the studies. Per family, as aggregated."""
    from alliance_meta.inputs.planning import aggregate_rho_problem, planning_cells

    path = tmp_path / "sheet.csv"
    path.write_text("study_id,family,r,n,d,n1,n2\nS1,,0.3,50,,,\nS1,,0.2,50,,,\nS2,,0.1,40,,,\nS3,,0.2,40,,,\n"
                    "S3,,0.1,40,,,\nS3,,0.3,40,,,\nS2,dropout,,,0.3,20,20\n", encoding="utf-8")
    cells = planning_cells(path)
    assert aggregate_rho_problem(cells, "gls", 1.0) == (
        "aggregate_rho: 1 with aggregate_method: gls makes the covariance of the effect sizes of studies with several "
        "rows (S1 (2 rows), S3 (3 rows)) singular or indefinite, so no composite can be computed; GLS needs "
        "-0.5 < aggregate_rho < 1: choose e.g. 0.99, or aggregate_method: mean (Borenstein's composite, which "
        "allows 1)")
    assert "(S3 (3 rows))" in aggregate_rho_problem(cells, "gls", -0.5)
    for method, rho in (("gls", 0.5), ("gls", -0.49), ("gls", 0.0), ("mean", 1.0)):
        assert aggregate_rho_problem(cells, method, rho) is None
    single = tmp_path / "single.csv"  # one effect size per study (S2 is in both families): any rho is fine
    single.write_text("study_id,family,r,n,d,n1,n2\nS1,,0.3,50,,,\nS2,,0.1,40,,,\nS2,dropout,,,0.3,20,20\n",
                      encoding="utf-8")
    assert aggregate_rho_problem(planning_cells(single), "gls", 1.0) is None
    assert aggregate_rho_problem(None, "gls", 1.0) is None


def test_an_aggregate_rho_the_three_level_model_cannot_use_is_a_config_problem(tmp_path):
    """dependence: multilevel with aggregate_rho: 1 and aggregate_method: mean (which allows 1 for the
    composites) stopped the three-level model's jobs (pooling, rve, selection_models, ...) with a ValueError
    traceback: its working covariance is compound symmetric whatever the composite. Now a config problem."""
    from alliance_meta.inputs.planning import aggregate_rho_problem, planning_cells

    path = tmp_path / "sheet.csv"
    path.write_text("study_id,r,n\nS1,0.3,50\nS1,0.2,50\nS2,0.1,40\nS3,0.2,40\nS3,0.1,40\nS3,0.3,40\n",
                    encoding="utf-8")
    cells = planning_cells(path)
    assert aggregate_rho_problem(cells, "mean", 1.0, "multilevel") == (
        "aggregate_rho: 1 with dependence: multilevel: the three-level model's working covariance (compound "
        "symmetry, as metafor's vcalc) needs -1 < aggregate_rho < 1; choose e.g. 0.99")
    assert aggregate_rho_problem(cells, "mean", -0.5, "multilevel") == (
        "aggregate_rho: -0.5 with dependence: multilevel makes the working covariance of the effect sizes of a study "
        "with several rows (S3 (3 rows)) singular or indefinite, so the three-level model cannot be fitted; it needs "
        "-0.5 < aggregate_rho < 1: choose e.g. 0")
    for method in ("mean", "gls"):
        assert aggregate_rho_problem(cells, method, 0.6, "multilevel") is None
    assert aggregate_rho_problem(cells, "mean", 1.0) is None  # the composites alone allow 1
    single = tmp_path / "single.csv"  # one effect size per study: the model still rejects rho = 1
    single.write_text("study_id,r,n\nS1,0.3,50\nS2,0.1,40\n", encoding="utf-8")
    assert aggregate_rho_problem(planning_cells(single), "mean", 1.0, "multilevel").startswith("aggregate_rho: 1 with")
    assert aggregate_rho_problem(planning_cells(single), "mean", -0.9, "multilevel") is None


def test_a_reference_level_no_row_has_is_a_sheet_problem():
    """reference_levels: {setting: inpatient} after the sheet's level was renamed in-patient: the moderator and
    Bayesian jobs stopped with "reference level 'inpatient' of 'setting' not among its levels" tracebacks."""
    import pandas as pd

    from alliance_meta.inputs.sheet import validate_sheet

    sheet = pd.DataFrame({"study_id": ["S1", "S2", "S3"], "r": ["0.3", "0.2", "0.1"], "n": ["50", "60", "70"],
                          "setting": ["in-patient", "outpatient", None], "dose": ["1", "2", None],
                          "rater": ["Client", "therapist", "patient"]})
    _, problems = validate_sheet(sheet, moderators=["setting", "dose", "rater"],
                                 reference_levels={"setting": "inpatient", "dose": "2", "rater": "patient"})
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [(1, "setting", "inpatient", "reference_level")]
    assert problems[0].rule == ("is the config's reference level (reference_levels.setting) but no row has it "
                                '(setting: in-patient, outpatient); did you mean "in-patient"?')
    _, problems = validate_sheet(sheet, reference_levels={"rater": "observer", "absent": "x"})
    assert [(p.column, p.value) for p in problems] == [("rater", "observer")]  # 'absent': not this check's


def test_a_reference_level_one_family_lacks_is_left_to_the_default_there():
    """reference_levels: {rater: therapist} where the dropout studies are all patient-rated: the dropout family's
    moderator jobs stopped with "reference level 'therapist' of 'rater' not among its levels"."""
    import pandas as pd

    from alliance_meta.inputs.planning import family_reference_levels

    dropout = pd.DataFrame({"rater": ["patient", "patient"], "dose": ["1", None]})
    kept, notes = family_reference_levels(dropout, {"rater": "therapist", "dose": "1", "other": "x"})
    assert kept == {"dose": "1", "other": "x"}
    assert notes == ["reference_levels.rater: therapist is not a level of rater in this family's rows (patient); "
                     "rater takes its most frequent level as the reference here"]
    assert family_reference_levels(dropout, {}) == ({}, [])
    # a job's own variables only (the moderators job: not location_scale's), the notes unchanged
    assert family_reference_levels(dropout, {"rater": "therapist", "dose": "1", "other": "x"}, ["dose"]) == (
        {"dose": "1"}, notes)


def test_a_reference_level_of_a_left_out_default_moderator_is_said_to_be_unused():
    from alliance_meta.inputs.planning import moderators_left_out_note

    assert "not used" not in moderators_left_out_note(["modality"], {"rater": "patient"})
    assert "left out; reference_levels.modality is not used;" in moderators_left_out_note(
        ["modality", "rater"], {"modality": "CBT"})
    assert "reference_levels.modality, reference_levels.rater are not used" in moderators_left_out_note(
        ["modality", "rater"], {"modality": "CBT", "rater": "patient"})


def test_a_left_out_default_moderator_under_a_misspelt_header_is_named():
    from alliance_meta.inputs.planning import moderators_left_out_note

    note = moderators_left_out_note(["rater", "modality"], {}, ["study_id", "r", "n", "ratr", "Modality"])
    assert "; the sheet has no rater column but a column ratr: rename it rater to analyse it;" in note
    assert "; the sheet has no modality column but a column Modality: rename it modality" in note
    assert "the sheet has no" not in moderators_left_out_note(["rater"], {}, ["study_id", "r", "n", "rater"])  # empty
    assert "the sheet has no" not in moderators_left_out_note(["rater"], {}, ["study_id", "r", "n", "setting"])


def test_workflow_leaves_out_default_moderators_but_checks_named_ones(tmp_path):
    from test_workflow import snakemake

    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "data" / "raw" / "studies.csv").write_text(
        "study_id,r,n,rater\nS1,0.3,50,patient\nS2,0.2,60,therapist\nS3,0.25,70,patient\n")
    (tmp_path / "config" / "config.yaml").write_text("# every key but one a default\nreference_levels: {modality: CBT}\n")
    plan = snakemake(tmp_path, "-n", check=False)
    output = plan.stdout + plan.stderr
    assert plan.returncode == 0, output[-3000:]
    assert ("the default moderator modality has no values in the sheet and is left out; "
            "reference_levels.modality is not used") in output
    assert "subgroups_rater" in output and "subgroups_modality" not in output
    # named by the reviewer: a missing column is a problem of the sheet, as always
    result = snakemake(tmp_path, "data/processed/sheet.csv", "--config", "moderators=[modality,rater]", check=False)
    assert result.returncode != 0
    assert "row 1, column modality: is named by the config (moderators)" in (
        tmp_path / "logs" / "validate_sheet.log").read_text()


def test_without_a_sheet_key_a_workbook_named_studies_xlsx_is_the_sheet(tmp_path):
    import pandas as pd
    from test_workflow import snakemake

    (tmp_path / "data" / "raw").mkdir(parents=True)
    pd.DataFrame({"study_id": ["S1", "S2", "S3"], "r": [0.3, 0.2, 0.25], "n": [50, 60, 70]}).to_excel(
        tmp_path / "data" / "raw" / "studies.xlsx", index=False)
    result = snakemake(tmp_path, "data/processed/sheet.csv", check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "the sheet is data/raw/studies.xlsx (no key `sheet`" in result.stdout + result.stderr
    assert len(pd.read_csv(tmp_path / "data" / "processed" / "sheet.csv")) == 3
    # a sheet the config names is used as named, even when it does not exist
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("sheet: data/raw/studies.csv\n")
    named = snakemake(tmp_path, "-n", check=False)
    assert named.returncode != 0 and "data/raw/studies.csv" in named.stdout + named.stderr


def test_the_default_sheet_may_be_a_workbook(tmp_path, monkeypatch):
    from alliance_meta.inputs.planning import sheet_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    default = "data/raw/studies.csv"
    assert sheet_path(default, named=False) == (default, None)  # neither file: validation names studies.csv
    (tmp_path / default).with_suffix(".xlsx").write_bytes(b"")
    path, note = sheet_path(default, named=False)
    assert path == "data/raw/studies.xlsx" and "no studies.csv" in note
    assert sheet_path(default, named=True) == (default, None)  # named by the config: used as named
    (tmp_path / default).write_text("study_id,r,n\n")
    path, note = sheet_path(default, named=False)
    assert path == default and "data/raw/studies.xlsx is not read" in note


def test_a_newer_workbook_beside_the_named_sheet_is_noted(tmp_path, monkeypatch):
    """The config names studies.csv; the reviewer edited it in Excel and saved studies.xlsx beside it: the rerun
    said "Nothing to be done" and the edits were silently not analysed."""
    import os

    from alliance_meta.inputs.planning import sheet_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    sheet, workbook = tmp_path / "data" / "raw" / "studies.csv", tmp_path / "data" / "raw" / "studies.xlsx"
    sheet.write_text("study_id,r,n\n")
    workbook.write_bytes(b"")
    os.utime(sheet, (1_000_000, 1_000_000))
    path, note = sheet_path("data/raw/studies.csv", named=True)
    assert path == "data/raw/studies.csv"
    assert note and "data/raw/studies.xlsx, saved after it, is not read" in note
    os.utime(workbook, (1_000, 1_000))  # an older workbook: the CSV is the one being edited
    assert sheet_path("data/raw/studies.csv", named=True) == ("data/raw/studies.csv", None)


def test_a_fresh_clone_of_both_sheets_gives_no_newer_sibling_note(tmp_path, monkeypatch):
    """A fresh git clone (or cp -r, unzip) of a review folder holding studies.csv and studies.xlsx writes them in that
    order, the workbook a fraction of a millisecond later: every run of the clone said the workbook was "saved after
    it" and told the reviewer to switch the sheet to it."""
    import os
    import subprocess

    from alliance_meta.inputs.planning import sheet_path

    source = tmp_path / "source"
    (source / "data" / "raw").mkdir(parents=True)
    (source / "data" / "raw" / "studies.csv").write_text("study_id,r,n\n")
    (source / "data" / "raw" / "studies.xlsx").write_bytes(b"PK")
    author = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b",
              "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}
    for command in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "review"]):
        subprocess.run(command, cwd=source, check=True, env={**os.environ, **author})
    subprocess.run(["git", "clone", "-q", str(source), str(tmp_path / "clone")], check=True)
    monkeypatch.chdir(tmp_path / "clone")
    assert sheet_path("data/raw/studies.csv", named=True) == ("data/raw/studies.csv", None)


def test_levels_of_a_free_moderator_that_differ_only_in_case_are_noted():
    """Inpatient, INPATIENT and inpatient were three subgroups (one study spread over all three) without a word;
    coded columns such as rater are normalised and get no note."""
    raw = pd.DataFrame({"study_id": ["S1", "S2", "S3", "S4"], "r": ["0.3", "0.2", "0.1", "0.2"],
                        "n": ["40", "50", "60", "70"], "setting": ["Inpatient", "INPATIENT", "in patient", "outpatient"],
                        "rater": ["Patient", "patient", "observer", "therapist"]})
    clean, problems = validate_sheet(raw, moderators=["setting", "rater"])
    assert problems == [] and clean["setting"].tolist() == ["Inpatient", "INPATIENT", "in patient", "outpatient"]
    assert [note for note in clean.attrs["notes"] if "differ only in case" in note] == [
        'setting: values that differ only in case, spaces or dots are different levels (subgroups): "Inpatient" '
        '(row 2) vs "INPATIENT" (row 3) vs "in patient" (row 4); write them alike if they are one level']
    assert not [note for note in validate_sheet(raw, moderators=["rater"])[0].attrs["notes"]
                if "differ only in case" in note]


def test_the_moderators_job_takes_only_the_reference_levels_of_its_variables(tmp_path):
    """am.moderator_tables refuses a reference level of a variable it does not analyse; the config's reference_levels
    also serve location_scale (and may name a default moderator the sheet does not code), so the moderators job
    passes on those of its own variables: reference_levels: {rater: therapist} of location_scale: [rater] must not
    stop it."""
    from test_workflow import snakemake, tiny_sheet

    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    tiny_sheet().to_csv(tmp_path / "data" / "raw" / "studies.csv", index=False)  # simulated
    (tmp_path / "config" / "config.yaml").write_text(
        "moderators: [modality]\nlocation_scale: [rater]\nreference_levels: {rater: therapist, modality: humanistic}\n")
    snakemake(tmp_path, "results/outcome/meta_regression.csv")
    terms = set(pd.read_csv(tmp_path / "results" / "outcome" / "meta_regression.csv")["term"])
    assert "modality[CBT]" in terms and "modality[humanistic]" not in terms


@pytest.mark.parametrize("header, column", [("SMD (d)", "d"), ("Cohen d (d)", "d"), ("d (Cohen)", "d"),
                                            ("Sample size (N)", "n"), ("r (Pearson)", "r")])
def test_a_one_letter_remark_naming_the_statistic_is_no_unit(header, column):
    """A remark of one letter is the statistic's symbol, not a unit of time (d for days would make "SMD (d)" a
    moderator, whose d values were never read)."""
    assert sheet._input_alias(header) == column
