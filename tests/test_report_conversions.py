"""The report says how the reported statistics became effect sizes: a table in the Data section and a
Methods sentence citing the conversions that occurred."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import alliance_meta as am
from alliance_meta.report.html import render_report
from alliance_meta.report.methods import conversion_sentence, methods_paragraph, run_facts
from alliance_meta.report.summary import conversion_counts

SHEET = """study_id,family,r,rho,n,t,df,reverse,d,n1,n2,odds_ratio,or_ci_lower,or_ci_upper,g
A,outcome,0.30,,100,,,,,,,,,,
A,outcome,0.20,,100,,,yes,,,,,,,
B,outcome,,0.25,80,,,,,,,,,,
C,outcome,,,,2.5,60,yes,,,,,,,
D,dropout,,,,,,,0.4,30,35,,,,
E,dropout,,,,,,,,,,1.8,1.1,2.9,
F,dropout,,,,,,,,40,42,,,,0.3
"""


def effect_sizes(tmp_path, text=SHEET):
    path = tmp_path / "studies.csv"
    path.write_text(text, encoding="utf-8")
    return am.effect_sizes(am.read_sheet(path))


def test_the_conversion_table_counts_each_kind_and_conversion_with_its_reversed_rows(tmp_path):
    table = conversion_counts(effect_sizes(tmp_path), ["outcome", "dropout"])
    assert table["input"].tolist() == ["r", "rho", "t_df", "g", "d", "or_ci"]  # codebook order within family
    r_row = table.iloc[0]
    assert (r_row.effect_sizes, r_row.studies, r_row.sign_reversed) == (2, 1, 1)
    assert r_row.conversion == "r -> Fisher z (z = atanh(r), v = 1/(n - 3))"  # without "; sign reversed"
    assert table.set_index("input").loc["t_df", "sign_reversed"] == 1
    assert "Hasselblad & Hedges" in table.set_index("input").loc["or_ci", "conversion"]
    assert table["effect_sizes"].sum() == 7
    assert conversion_counts(effect_sizes(tmp_path), ["dropout"])["family"].unique().tolist() == ["dropout"]


def test_the_methods_cite_the_conversions_that_occurred_and_say_when_d_from_odds_ratios_is_not_corrected(tmp_path):
    kinds = run_facts({"outcome": {"tables": {}}, "dropout": {"tables": {}}}, effect_sizes(tmp_path))["input_kinds"]
    assert kinds == {"outcome": {"r", "rho", "t_df"}, "dropout": {"g", "d", "or_ci"}}
    sentence = conversion_sentence(kinds, {})
    assert "Rupinski & Dunlap, 1996" in sentence and "Kendall, 1970" not in sentence
    assert "odds ratios as d = log OR" in sentence and "d as Hedges' g with the exact small-sample correction" in sentence
    assert "In the dropout family the d values from odds ratios were pooled with Hedges' g without a small-sample" in sentence
    assert "r = d/" not in sentence and "correlations as d =" not in sentence  # no d -> r, no r -> d here
    # the same studies analysed on the log odds ratio: the d values become log ORs, nothing is left uncorrected
    as_log_or = conversion_sentence(kinds, {"dropout": "log_or"})
    assert "d as log OR = d \u03c0/\u221a3" in as_log_or and "Hedges' g" not in as_log_or
    assert "odds ratios as d" not in as_log_or
    # odds ratios alone in a smd family: nothing is pooled with g, the d values carry no correction
    assert "the d values from odds ratios carry no small-sample correction" in conversion_sentence(
        {"dropout": {"or_ci"}}, {})
    # correlations only: nothing is converted but r to z, which the metric sentence says
    assert conversion_sentence({"outcome": {"r"}}, {}) == ""
    paragraph = methods_paragraph({}, set(), {"alliance-meta": "x"}, ["outcome", "dropout"], input_kinds=kinds)
    assert sentence in paragraph
    assert "Borenstein" not in methods_paragraph({}, set(), {"alliance-meta": "x"}, ["outcome"],
                                                 input_kinds={"outcome": {"r"}})


def test_each_conversion_is_named_for_the_metric_it_goes_to():
    # means and SDs in the correlation family: d -> r, and no Hedges' g
    outcome = conversion_sentence({"outcome": {"r", "means_sds"}}, {})
    assert "standardized mean differences as r = d/\u221a(d\u00b2 + a)" in outcome and "Hedges' g" not in outcome
    # correlations and partial correlations in the dropout family: r -> d, then g; partial r used as r
    dropout = conversion_sentence({"dropout": {"r", "partial_r"}}, {})
    assert "correlations as d = r\u221a(a/(1 \u2212 r\u00b2))" in dropout and "d as Hedges' g" in dropout
    assert "partial correlations as zero-order correlations" in dropout and "n \u2212 q cases" not in dropout
    assert "n \u2212 q cases" in conversion_sentence({"outcome": {"partial_r"}}, {})
    assert "\u03c6 = \u221a(\u03c7\u00b2/n)" in conversion_sentence({"outcome": {"chi2"}}, {})
    assert "r = \u03b2 otherwise" in conversion_sentence({"outcome": {"beta"}}, {})


def test_the_base_scales_of_the_methods_are_those_the_conversion_uses():
    """BASE_SCALE (what the Methods sentence reads) against the scale base_statistic gives each kind."""
    from alliance_meta.inputs.codebook import INPUT_KINDS
    from alliance_meta.inputs.effect_sizes import BASE_SCALE, base_statistic

    values = {"r": 0.3, "rho": 0.3, "kendall_tau": 0.2, "fisher_z": 0.3, "partial_r": 0.3, "n_covariates": 2,
              "beta": 0.2, "g": 0.4, "d": 0.4, "m1": 10, "sd1": 2, "m2": 9, "sd2": 2, "t": 2.0, "df": 50, "f": 4.0,
              "chi2": 4.0, "p": 0.04, "n": 60, "n1": 30, "n2": 30, "n11": 20, "n12": 10, "n21": 12, "n22": 18,
              "odds_ratio": 2.0, "or_ci_lower": 1.1, "or_ci_upper": 3.6, "log_or": 0.7, "log_or_se": 0.3,
              "direction": "positive"}
    assert set(BASE_SCALE) == {kind.name for kind in INPUT_KINDS}
    for kind in INPUT_KINDS:
        frame = pd.DataFrame([{column: values[column] for column in (*kind.columns, "direction")}])
        assert base_statistic(frame, kind).scale == BASE_SCALE[kind.name], kind.name


def test_rows_without_a_usable_effect_size_are_not_counted(tmp_path):
    frame = effect_sizes(tmp_path)
    frame.loc[frame["input_kind"] == "rho", ["yi", "vi"]] = np.nan  # e.g. |r| >= 1: left out of every analysis
    assert "rho" not in conversion_counts(frame, ["outcome"])["input"].tolist()
    kinds = run_facts({"outcome": {"tables": {}}}, frame)["input_kinds"]
    assert "rho" not in kinds["outcome"]


def test_the_report_shows_the_conversion_table_in_its_data_section(tmp_path):
    frame = effect_sizes(tmp_path)
    families = {family: {"metric": metric, "tables": {}, "analysis": pd.DataFrame(), "images": []}
                for family, metric in (("outcome", "z"), ("dropout", "smd"))}
    html = render_report(sheet=frame, effect_sizes=frame, families=families, config={"moderators": []},
                         provenance={"sheet": "s.csv", "sheet_sha256": "0" * 64, "run_date": "2026-01-01",
                                     "versions": {"alliance-meta": "x"}, "config_yaml": ""},
                         methods="")
    data = html[html.index('<section id="data">'):html.index("</section>", html.index('<section id="data">'))]
    assert "How the effect sizes were computed" in data
    assert "Spearman rho -&gt; r (r = 2 sin(pi rho/6), Rupinski &amp; Dunlap 1996)" in data


def test_the_methods_say_how_zero_cells_and_double_zero_tables_were_handled():
    """The Methods said only that MH, Peto and GLMM ran "without a continuity correction": not that 1/2 was added to
    the tables with a zero cell for the inverse-variance models, nor that a double-zero table was kept there and
    left out of the count methods (a dropout-review walkthrough)."""
    from alliance_meta.report.methods import count_methods_sentence

    sentence = conversion_sentence({"dropout": {"counts"}}, {"dropout": "log_or"})
    assert "2x2 counts as log odds ratios, 1/2 added to every cell of a 2x2 table with a zero cell, " \
           "double-zero tables kept" in sentence
    assert "2x2 counts" not in conversion_sentence({"dropout": {"or_ci"}}, {"dropout": "log_or"})
    assert "double-zero table (no event, or no non-event, in either group)" in count_methods_sentence(["REML", "MH"])


def test_the_methods_say_when_the_multiverse_leaves_out_the_three_level_model():
    """Under dependence: multilevel the default multiverse (aggregate_methods [gls, mean]) pools composites only,
    while the Methods said it refitted 'the pooled model' (a three-level walkthrough)."""
    from alliance_meta.report.methods import methods_paragraph

    versions = {"alliance-meta": "x"}
    three = methods_paragraph({"dependence": "multilevel"}, {"multiverse"}, versions, ["outcome"])
    assert ("Its specifications pool study composites, not the three-level model of the main analysis: "
            "inverse-variance GLS composites under compound symmetry and mean composites (Borenstein et al., 2009, "
            "ch. 24).") in three
    assert "multiverse.aggregate_methods" not in three  # the config's key, which a manuscript would not say
    assert "Its specifications" not in methods_paragraph(
        {"dependence": "multilevel", "multiverse": {"aggregate_methods": ["gls", "multilevel"]}}, {"multiverse"},
        versions, ["outcome"])
    assert "Its specifications" not in methods_paragraph({"dependence": "aggregate"}, {"multiverse"}, versions,
                                                         ["outcome"])


@pytest.mark.parametrize("kind, named", [
    ("t_df", "r = t/\u221a(t\u00b2 + df)"), ("f_df", "t = \u221aF"), ("p_n", "the t of p on n \u2212 2 df"),
    ("t_groups", "d = t\u221a(1/n1 + 1/n2)"), ("f_groups", "t = \u221aF"), ("p_groups", "n1 + n2 \u2212 2 df"),
    ("means_sds", "pooled SD"), ("or_ci", "SE = (log upper \u2212 log lower)/(2 \u00d7 1.96)")])
def test_every_conversion_through_t_or_a_ci_is_named(kind, named):
    """The Methods named only the approximate conversions; t, F and p went through t and an OR's CI gave its SE
    without a word (a walkthrough coding every kind of input)."""
    metrics = {"outcome": "z", "dropout": "smd"}
    family = "outcome" if kind in ("t_df", "f_df", "p_n") else "dropout"
    text = conversion_sentence({family: {kind, "r" if family == "outcome" else "g"}}, metrics)
    assert named in text
    if kind in ("f_df", "p_n", "f_groups", "p_groups"):
        assert "signed by the direction coded" in text
