"""The manuscript's table of included studies (results/{family}/study_characteristics.csv and its Word,
Markdown and LaTeX tables), and the SIMULATED mark on every manuscript table of simulated data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from alliance_meta.report.tables import ManuscriptTable, manuscript_table, marked_simulated, to_markdown
from alliance_meta.report.summary import study_characteristics

Z_975 = 1.959963984540054


def rows() -> pd.DataFrame:
    """Study B has two effect sizes of equal variance that differ in modality; A and C have one each."""
    return pd.DataFrame({
        "study_id": ["B", "B", "A", "C"], "es_id": ["B-1", "B-2", "A-1", "C-1"],
        "yi": [0.2, 0.4, 0.3, -0.1], "vi": [0.01, 0.01, 0.02, 0.04], "n": [100, 103, 53, np.nan],
        "authors": ["Brown", "Brown", "Adams", None], "year": [2001, 2001, 1999, np.nan],
        "modality": ["CBT", "psychodynamic", "CBT", "CBT"], "rater": ["patient"] * 4,
        "rob_overall": ["low", "low", "high", "moderate"], "simulated": "no"})


def test_one_row_per_study_with_its_composite_and_wald_interval():
    table = study_characteristics(rows(), ["modality", "rater"], "z", rho=0.5)
    assert table["study_id"].tolist() == ["A", "B", "C"]  # by year; a study without one last
    b = table.set_index("study_id").loc["B"]
    # two effects of equal variance v under compound symmetry: their mean, with variance v (1 + rho) / 2
    assert math.isclose(b.estimate, 0.3, rel_tol=1e-12)
    assert math.isclose(b.se, math.sqrt(0.01 * 1.5 / 2), rel_tol=1e-12)
    assert math.isclose(b.ci_upper, 0.3 + Z_975 * b.se, rel_tol=1e-9)
    assert (b.n, b.k_effect_sizes, b.modality, b.rater, b.rob_overall) == (103, 2, "mixed", "patient", "low")
    assert math.isclose(b.r, math.tanh(0.3), rel_tol=1e-12) and math.isclose(b.r_ci_lower, math.tanh(b.ci_lower))
    a = table.set_index("study_id").loc["A"]
    assert math.isclose(a.estimate, 0.3) and math.isclose(a.se, math.sqrt(0.02))
    ninety = study_characteristics(rows(), [], "z", level=90).set_index("study_id").loc["A"]
    assert math.isclose(ninety.ci_lower, 0.3 - 1.6448536269514722 * math.sqrt(0.02), rel_tol=1e-9)
    assert "modality" not in ninety.index and "rob_overall" in ninety.index
    # rob_overall as a moderator (the config allows it) is still one column
    assert study_characteristics(rows(), ["rob_overall"], "z").columns.tolist().count("rob_overall") == 1


def test_the_manuscript_table_lists_study_year_n_k_moderators_risk_of_bias_and_effect():
    table = manuscript_table("study_characteristics", study_characteristics(rows(), ["modality"], "z"), "z")
    assert table.header == ["Study", "Year", "N", "k", "Modality", "Risk of bias", "r [95% CI]"]
    assert table.rows[0][:6] == ["Adams", "1999", "53", "1", "CBT", "high"]
    assert table.rows[1][4] == "mixed" and table.rows[1][6].startswith(".29 [")
    assert table.rows[2][:3] == ["C", "", ""]  # no authors: the study_id; no year, no n: empty
    assert "back-transformed from Fisher's z" in table.note and "mixed = " in table.note
    as_g = manuscript_table("study_characteristics", study_characteristics(rows(), [], "smd"), "smd")
    assert as_g.header[-1] == "g [95% CI]" and "back-transformed" not in as_g.note and "in this moderator" not in as_g.note


def test_tables_of_simulated_data_say_so_in_title_and_note():
    marked = marked_simulated(ManuscriptTable("Pooled estimates", ["a"], [["1"]], "CI = confidence interval."))
    text = to_markdown(marked)
    # rows marked simulated = yes: the demo's or a reviewer's own simulated sheet, so not called the demo
    assert text.startswith("**Pooled estimates (SIMULATED data)**")
    assert "*Note.* Simulated data: these are not real studies. CI = confidence interval." in text
    assert "demo" not in text.lower()


def test_the_api_lists_a_fits_studies_with_its_level_and_checks_the_moderators():
    import alliance_meta as am
    import pytest

    fit = am.fit(rows(), metric="z", level=90, rho=0.5)
    table = am.study_characteristics(fit, ["modality"]).to_frame().set_index("study_id")
    assert math.isclose(table.loc["A", "ci_upper"], 0.3 + 1.6448536269514722 * math.sqrt(0.02), rel_tol=1e-9)
    assert table.loc["B", "modality"] == "mixed" and "rater" not in table
    with pytest.raises(ValueError, match="did you mean 'modality'"):
        am.study_characteristics(fit, ["modalty"])


def test_year_and_n_columns_only_where_some_study_has_them():
    plain = rows().drop(columns=["year", "n"])
    table = manuscript_table("study_characteristics", study_characteristics(plain, [], "z"), "z")
    assert table.header == ["Study", "k", "Risk of bias", "r [95% CI]"] and len(table.align) == 4


def test_the_note_says_why_a_study_has_no_n():
    """Study C gives no n: its N cell is blank, and the note says so (it did not); without a blank, no word."""
    table = manuscript_table("study_characteristics", study_characteristics(rows(), [], "z"), "z")
    assert [row[2] for row in table.rows] == ["53", "103", ""]
    assert "N = the study's sample size (its largest n; blank where the sheet gives none)" in table.note
    complete = rows().assign(n=100)
    assert "blank where" not in manuscript_table("study_characteristics",
                                                 study_characteristics(complete, [], "z"), "z").note


def test_moderators_and_risk_of_bias_no_study_of_the_family_codes_are_no_columns():
    """A moderator coded only in the other family (a dropout family without the outcome family's design) stood
    as an empty column of this family's table; likewise an overall risk of bias rated in no study of it."""
    uncoded = rows().assign(design=np.nan, rob_overall=None)
    table = manuscript_table("study_characteristics", study_characteristics(uncoded, ["modality", "design"], "z"),
                             "z")
    assert table.header == ["Study", "Year", "N", "k", "Modality", "r [95% CI]"] and len(table.align) == 6
    assert all(len(row) == 6 for row in table.rows)


def test_the_note_says_that_half_was_added_to_the_cells_of_a_2x2_table_with_a_zero_cell():
    """A dropout review of 2x2 tables: the Methods said that 1/2 was added to every cell of a table with a zero
    cell, the table of the studies whose odds ratios it lists did not. Its note says so, in the Methods' words,
    where the family has such a table (and names the double-zero tables kept where it has one); the demo, with no
    zero cell, keeps its note."""
    from pathlib import Path

    import alliance_meta as am
    from alliance_meta.report.html import render_report
    from alliance_meta.report.methods import methods_paragraph
    from alliance_meta.report.settings import TableSettings
    from alliance_meta.report.summary import zero_cell_tables

    sheet = pd.DataFrame({"study_id": ["a", "b", "c"], "family": "dropout", "n11": [10, 0, 0], "n12": [5, 20, 20],
                          "n21": [8, 3, 0], "n22": [9, 15, 18], "year": [2001, 2002, 2003]})
    effect_sizes = am.effect_sizes(sheet)
    assert zero_cell_tables(effect_sizes, ["dropout"]) == (2, 1)  # b and c; c double-zero (no dropout in either)
    assert zero_cell_tables(effect_sizes.iloc[:2], ["dropout"]) == (1, 0)
    assert zero_cell_tables(effect_sizes, ["outcome"]) == (0, 0)
    frame = study_characteristics(effect_sizes, [], "log_or")
    rule = "1/2 added to every cell of a 2x2 table with a zero cell"
    assert f"2x2 counts as log odds ratios, {rule}, double-zero tables kept (metafor's" in methods_paragraph(
        {}, set(), {}, ["dropout"], input_kinds={"dropout": {"counts"}})
    for (zero, double), clause in (((2, 1), f"; {rule} (double-zero tables kept)."), ((1, 0), f"; {rule}."),
                                   ((0, 0), None)):
        settings = TableSettings(zero_cell_tables=zero, double_zero_tables=double)
        note = manuscript_table("study_characteristics", frame, "log_or", 95, settings).note
        assert (clause in note) if clause else "1/2" not in note, note
    # the report counts them from the effect sizes, as the Word tables' job
    provenance = {"sheet": "studies.csv", "sheet_sha256": "0" * 64, "run_date": "2026-01-01 00:00 UTC",
                  "versions": {"alliance-meta": "0.1.0"}, "config_yaml": ""}
    html = render_report(sheet=sheet, effect_sizes=effect_sizes, config={}, provenance=provenance, methods="",
                         families={"dropout": {"metric": "log_or", "tables": {"study_characteristics": frame},
                                               "images": []}})
    assert f"{rule} (double-zero tables kept)." in html
    demo = am.effect_sizes(am.read_sheet(Path(__file__).resolve().parents[1] / "data" / "raw" / "studies.csv"))
    assert "counts" in set(demo["input_kind"]) and zero_cell_tables(demo, ["outcome", "dropout"]) == (0, 0)


def test_the_job_log_of_a_family_of_one_study(tmp_path):
    """A retraction leaves a family one study: the job logged "1 studies (1 effect sizes)"."""
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    from alliance_meta.io import write_table

    effect_sizes, log = tmp_path / "effect_sizes.csv", tmp_path / "study_characteristics.log"
    write_table(rows().iloc[:1], effect_sizes)
    runpy.run_path(str(Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "study_characteristics.py"),
                   init_globals={"snakemake": SimpleNamespace(
                       input=SimpleNamespace(effect_sizes=str(effect_sizes)), output=[str(tmp_path / "table.csv")],
                       log=[str(log)], params=SimpleNamespace(moderators=[], metric="z", level=95,
                                                              aggregate_method="gls", rho=0.5))})
    assert "1 study (1 effect size)" in log.read_text()
