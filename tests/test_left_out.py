"""Outputs of an earlier run that the config no longer makes (a family not analysed, a moderator no longer
listed, an option switched off): found when the workflow is planned, named in one log note and in the report,
never deleted; one of them asked for by name stops the run with the reason (alliance_meta.inputs.planning,
workflow/rules/left_out.smk). The whole-workflow checks are in test_edge_sheets.py (TestAggregate)."""

from __future__ import annotations

import re

from alliance_meta.inputs.planning import (KEPT_FOLDERS, NOT_MADE, PREVIEWS_FOLDER, earlier_outputs,
                                           earlier_outputs_lines, earlier_outputs_note, left_out, left_out_pattern,
                                           left_out_target, output_files)

PLAN = dict(families=["outcome"], configured_families=["outcome"], moderators=["rater"],
            continuous_moderators=["year"], uncoded_moderators=())
DROPOUT = [f"results/dropout/{name}" for name in ("pooled.csv", "forest.pdf", "forest.png", "tables/pooled.md")]
PATHS = [*DROPOUT, "data/processed/dropout/analysis.csv", "data/processed/outcome/analysis.csv",
         "results/outcome/pooled.csv", "results/outcome/psychometric.csv",
         "results/outcome/forest_rater.pdf", "results/outcome/forest_rater.png",
         "results/outcome/forest_setting.pdf", "results/outcome/forest_setting.png", "results/outcome/forest_setting.svg",
         "results/outcome/subgroups_setting.pdf", "results/outcome/bubble_year.pdf", "results/outcome/bubble_age.pdf",
         "results/outcome/forest.tiff", "results/notes.txt", "results/report.html"]
#: what the rules of this plan make: the outcome family's files but a switched-off TIFF and the moderators left out
MADE = {"data/processed/outcome/analysis.csv", "results/outcome/pooled.csv", "results/outcome/psychometric.csv",
        "results/outcome/forest_rater.pdf", "results/outcome/forest_rater.png", "results/outcome/bubble_year.pdf",
        "results/report.html"}


def test_the_files_under_results_and_data_processed_but_the_history(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for path in ["results/outcome/pooled.csv", "results/history/abc.json", "results/.snakemake_timestamp",
                 "results/~$tables.docx", "results/.~lock.tables.docx#", "results/dropout/tables/pooled.md",
                 "data/processed/sheet.csv", "data/raw/studies.csv", "logs/pool_outcome.log"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    assert output_files() == ["data/processed/sheet.csv", "results/dropout/tables/pooled.md",
                              "results/outcome/pooled.csv"]
    assert output_files(folders=("results", "data/processed", "nothing")) == output_files()  # a missing folder


def test_the_plots_report_previews_are_kept_across_runs(tmp_path, monkeypatch):
    # made by the plotting jobs beside no rule's outputs, and used only for the PNG they were made from: never
    # named as an earlier run's outputs (a moderator's preview stays when the moderator is dropped)
    from alliance_meta.plots import previews

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(previews.PREVIEWS_ENV, PREVIEWS_FOLDER)
    for path in ["results/outcome/forest_rater.png", previews._store_path("results/outcome/forest_rater.png")]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    assert PREVIEWS_FOLDER in KEPT_FOLDERS
    assert output_files() == ["results/outcome/forest_rater.png"]


def test_an_earlier_run_s_files_are_named_by_reason_families_first():
    groups = earlier_outputs(PATHS, MADE.__contains__, **PLAN)
    assert [(group.kind, group.reason) for group in groups] == [
        ("family", "the dropout family is not analysed (not in the config's families)"),
        ("moderator", "age is not in the config's continuous_moderators"),
        ("moderator", "setting is not in the config's moderators"),
        ("other", NOT_MADE)]
    assert set(groups[0].paths) == {*DROPOUT, "data/processed/dropout/analysis.csv"}
    assert groups[3].paths == ("results/notes.txt", "results/outcome/forest.tiff")
    lines = earlier_outputs_lines(groups)
    assert lines == [
        "results/dropout/ (4 files), data/processed/dropout/ (1 file): the dropout family is not analysed (not in the "
        "config's families)",
        "results/outcome/bubble_age.pdf: age is not in the config's continuous_moderators",
        "results/outcome/forest_setting (.pdf, .png, .svg), results/outcome/subgroups_setting.pdf: setting is not in "
        "the config's moderators",
        f"results/notes.txt, results/outcome/forest.tiff: {NOT_MADE}"]
    assert earlier_outputs_lines(groups, folders=("results",))[0].startswith("results/dropout/ (4 files): the dropout")
    note = earlier_outputs_note(lines)
    assert note.count("\n") == len(lines) and "Delete them" in note and "results/history/ is kept" in note
    assert earlier_outputs(PATHS, lambda path: True, **PLAN)[0].kind == "family"  # a rule that could: not analysed
    assert earlier_outputs(MADE, MADE.__contains__, **PLAN) == []


def test_the_reasons_name_the_sheet_or_the_config():
    absent = dict(PLAN, configured_families=["outcome", "dropout"])
    assert left_out("results/dropout/pooled.csv", **absent) == (
        "family", "the dropout family is not analysed (the sheet has no dropout rows)")
    uncoded = dict(PLAN, moderators=[], uncoded_moderators=["rater"])
    assert left_out("results/outcome/subgroups_rater.png", **uncoded) == (
        "moderator", "the default moderator rater has no values in the sheet")
    for other in ["results/outcome/pooled.csv", "results/outcome/tables/forest_setting.md", "results/relapse/x.csv",
                  "results/prisma.pdf", "logs/dropout/x.log", "results/outcome/bayes_forest.pdf",
                  "results/outcome/rob_summary.pdf"]:
        assert left_out(other, **PLAN) is None, other
    no_rob = dict(PLAN, risk_of_bias=False)
    for rob in ["results/outcome/rob_summary.pdf", "results/outcome/rob_traffic_light.svg",
                "results/outcome/rob_sensitivity.csv"]:
        assert left_out(rob, **no_rob) == ("other", "the sheet has no risk-of-bias judgements (no rob_* column filled in)"), rob
    assert left_out("results/dropout/rob_summary.pdf", **no_rob)[0] == "family"  # the family explains it first
    assert left_out("results/outcome/tables/rob_summary.csv", **no_rob) is None
    steps_off = dict(PLAN, steps_off=("second_coder", "prisma"))
    assert left_out("results/agreement.csv", **steps_off) == ("other", "second_coder is not set in the config")
    assert left_out("results/prisma.svg", **steps_off) == ("other", "prisma is not set in the config")
    assert left_out("results/prisma.svg", **PLAN) is None and left_out("results/tables.docx", **steps_off) is None


def test_the_rule_s_pattern_matches_exactly_what_the_reasons_explain():
    candidates = PATHS + ["results/outcome/forest_rater.tiff", "results/outcome/forest_rater.x.pdf",
                          "results/outcome/forest_mean.age.pdf", "results/outcome/bubble_year.svg",
                          "results/history/abc.json", "data/processed/effect_sizes.csv",
                          "results/outcome/rob_summary.png", "results/dropout/rob_sensitivity.csv",
                          "results/outcome/rob_overall.pdf", "results/rob_summary.pdf", "results/agreement.csv",
                          "results/prisma.png", "results/prisma.pngx", "results/report.html"]
    for plan in (PLAN, dict(PLAN, moderators=[], continuous_moderators=[]),
                 dict(PLAN, families=["outcome", "dropout"], moderators=["mean.age", "rater"]),
                 dict(PLAN, families=["dropout"], configured_families=["dropout"]),
                 dict(PLAN, risk_of_bias=False), dict(PLAN, families=["outcome", "dropout"], risk_of_bias=False),
                 dict(PLAN, steps_off=("prisma",)), dict(PLAN, families=[], steps_off=("second_coder", "prisma"))):
        pattern = re.compile(left_out_pattern(plan["families"], plan["moderators"], plan["continuous_moderators"],
                                              risk_of_bias=plan.get("risk_of_bias", True),
                                              steps_off=plan.get("steps_off", ())))
        for path in candidates:
            assert bool(pattern.fullmatch(path)) == (left_out(path, **plan) is not None), (plan, path)


def test_a_left_out_file_asked_for_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert left_out_target("results/dropout/forest.pdf", **PLAN) == (
        "results/dropout/forest.pdf is not made with this config: the dropout family is not analysed (not in the "
        "config's families).")
    (tmp_path / "results" / "outcome").mkdir(parents=True)
    (tmp_path / "results" / "outcome" / "forest_setting.pdf").write_text("old")
    assert left_out_target("results/outcome/forest_setting.pdf", **PLAN) == (
        "results/outcome/forest_setting.pdf is not made with this config: setting is not in the config's moderators. "
        "The file there is an earlier run's, with that run's numbers (delete it so that no one takes it for this "
        "run's).")


def test_the_report_names_them_in_the_data_section():
    from test_report import effect_sizes_frame

    from alliance_meta.report import render_report

    sheet = effect_sizes_frame()
    common = dict(sheet=sheet, effect_sizes=sheet, families={}, config={}, methods="",
                  provenance={"sheet": "s", "sheet_sha256": "0", "run_date": "d", "versions": {"alliance-meta": "0"},
                              "config_yaml": ""})
    html = render_report(**common, earlier_outputs=["results/outcome/forest_setting (.pdf, .png): setting is not in "
                                                    "the config's moderators"])
    data = html[html.index('<section id="data">'):html.index("</section>", html.index('<section id="data">'))]
    assert 'id="earlier-outputs"' in data and "results/outcome/forest_setting (.pdf, .png): setting" in data
    assert 'id="earlier-outputs"' not in render_report(**common)


def test_a_plot_named_as_before_file_part_is_not_said_to_be_of_a_moderator_left_out():
    # "care setting" drew forest_care setting.png until its plots were named by planning.file_part
    # (forest_care_setting.png); a rerun of that review listed the old files as "care setting is not in the
    # config's moderators", of a moderator the config lists
    plan = dict(PLAN, moderators=["care setting"], continuous_moderators=["mean age"])
    assert left_out("results/outcome/forest_care_setting.png", **plan) is None
    assert left_out("results/outcome/forest_care setting.png", **plan) == (
        "moderator", "an earlier run's name for the plot of care setting, which this run writes as forest_care_setting")
    assert left_out("results/outcome/bubble_mean age.pdf", **plan) == (
        "moderator", "an earlier run's name for the plot of mean age, which this run writes as bubble_mean_age")
    assert left_out("results/outcome/bubble_care setting.pdf", **plan)[1] == (
        "care setting is not in the config's continuous_moderators")
