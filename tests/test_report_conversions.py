"""The report says how the reported statistics became effect sizes: a table in the Data section and a
Methods sentence citing the conversions that occurred."""

from __future__ import annotations

import pandas as pd

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
    assert "odds ratios as d = log OR" in sentence and "Hedges, 1981" in sentence
    assert "In the dropout family, the d values from odds ratios were pooled with Hedges' g as they are" in sentence
    # the same studies analysed on the log odds ratio: the d values become log ORs, nothing is left uncorrected
    as_log_or = conversion_sentence(kinds, {"dropout": "log_or"})
    assert "log OR = d \u03c0/\u221a3" in as_log_or and "pooled with Hedges' g" not in as_log_or
    assert "odds ratios as d" not in as_log_or
    # correlations only: nothing is converted but r to z, which the metric sentence says
    assert conversion_sentence({"outcome": {"r"}}, {}) == ""
    paragraph = methods_paragraph({}, set(), {"alliance-meta": "x"}, ["outcome", "dropout"], input_kinds=kinds)
    assert sentence in paragraph
    assert "Borenstein" not in methods_paragraph({}, set(), {"alliance-meta": "x"}, ["outcome"],
                                                 input_kinds={"outcome": {"r"}})


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
