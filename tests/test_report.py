"""The report library: APA numbers, manuscript tables, escaping of sheet text, banner, self-containment."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from alliance_meta.models.univariate import pool_all  # noqa: E402
from alliance_meta.report import manuscript_table, methods_paragraph, render_report, to_latex, to_markdown  # noqa: E402
from alliance_meta.report.formatting import apa_number, apa_p, format_cell  # noqa: E402
from alliance_meta.report.summary import family_counts, moderator_counts  # noqa: E402
from alliance_meta.report.text import pooled_sentence  # noqa: E402

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_apa_numbers():
    assert apa_number(0.2784, 2, leading_zero=False) == ".28"
    assert apa_number(-0.0549, 2, leading_zero=False) == "\u2212.05"
    assert apa_number(-0.001, 2) == "0.00"
    assert apa_p(0.0004) == "< .001" and apa_p(0.04249) == ".042"
    assert apa_p(1.0) == "> .999" and apa_p(0.9996) == "> .999" and apa_p(0.999) == ".999"  # "1.000" before
    assert format_cell("k", 125.0) == "125" and format_cell("q_p", 0.5) == ".500"
    assert format_cell("r_ci_lower", 0.251) == ".25" and format_cell("tau2", 0.011248) == "0.011"


def effect_sizes_frame(label: str = "plain") -> pd.DataFrame:
    rng = np.random.default_rng(3)
    k = 8
    return pd.DataFrame({
        "study_id": [f"S{i // 2}" for i in range(k)], "family": "outcome", "yi": rng.normal(0.3, 0.1, k),
        "vi": rng.uniform(0.005, 0.02, k), "n": [100, 100, 80, 80, 60, 60, np.nan, np.nan],
        "authors": [label] * k, "year": 2000 + np.arange(k), "label": [label] * k,
        "modality": ["CBT", "CBT", "psychodynamic", "psychodynamic", "CBT", "CBT", None, None],
        "simulated": "yes"})


def test_identifier_columns_are_shown_as_written():
    """An es_id of 1 (a float, read back from a column with blanks) was shown as 1.000; a numeric study_id of 1234
    would have been 1,234."""
    from alliance_meta.report.formatting import readable_frame

    assert format_cell("es_id", 1.0) == "1" and format_cell("study_id", 1234) == "1234"
    assert format_cell("label", 2.5) == "2.5" and format_cell("es_id", "A-1") == "A-1"
    frame = pd.DataFrame({"study_id": [1234, 7], "es_id": [1.0, float("nan")], "report_id": [3.0, 4.0],
                          "yi": [1.0, 2.0]})
    assert readable_frame(frame).values.tolist() == [["1234", "1", "3", "1.000"], ["7", "", "4", "2.000"]]


def test_counts_and_degrees_of_freedom_in_a_column_with_blanks_stay_whole():
    """A column of counts with an empty cell is read back as floats: model_comparison.csv's parameters of a model
    that was not estimable showed the others' as 4.000, rob_sensitivity.csv's k_studies as 3.000, an F test's
    df2 as 3.000."""
    from alliance_meta.report.formatting import readable_frame

    frame = pd.DataFrame({"parameters": [4.0, float("nan")], "k_studies": [3.0, 0.0], "f_df2": [3.0, 2.5],
                          "df": [12.0, float("inf")], "imprecision_downgrade": [-2.0, 0.0], "aic": [4.0, 5.0]})
    assert readable_frame(frame).values.tolist() == [["4", "3", "3", "12", "\u22122", "4.000"],
                                                     ["", "0", "2.50", "\u221e", "0", "5.000"]]  # df: wording.apa_df


def test_numbers_of_a_column_of_levels_and_numbers_are_written_as_numbers():
    """meta_regression_predictions.csv's value holds the levels of categorical moderators and the mean -/+ SD of a
    continuous one; read back, the column is text, and the report showed year 1995.925279160195 and 2006.0."""
    import io
    from alliance_meta.report.formatting import readable_frame

    frame = pd.read_csv(io.StringIO("variable,value\nmodality,CBT\nyear,1995.925279160195\nyear,2006.0\n"
                                    "rater,1.50\nrater,2005\n"))
    assert readable_frame(frame)["value"].tolist() == ["CBT", "1995.93", "2006", "1.50", "2005"]


def test_counts_per_family_and_level():
    counts = family_counts(effect_sizes_frame(), ["outcome"]).iloc[0]
    assert (counts.studies, counts.effect_sizes, counts.n, counts.studies_without_n) == (4, 8, 240, 1)
    levels = moderator_counts(effect_sizes_frame(), ["modality"]).set_index("level")
    assert levels.loc["CBT", "studies"] == 2 and levels.loc["(not coded)", "effect_sizes"] == 2


def test_the_data_table_lists_levels_as_subgroups_csv_does():
    """The report's levels per family were alphabetical (rater: observer, patient, therapist; risk of bias: high,
    low, moderate) while subgroups.csv and the plots list them in the codebook's or the tool's order."""
    frame = pd.DataFrame({"family": "outcome", "study_id": list("ABCDEF"),
                          "rater": ["observer", "therapist", "patient", None, "observer", "patient"],
                          "rob_overall": ["high", "low", "moderate", "low", None, "high"]})
    counts = moderator_counts(frame, ["rater", "rob_overall"])
    assert counts.loc[counts["moderator"] == "rater", "level"].tolist() == ["patient", "therapist", "observer",
                                                                           "(not coded)"]
    assert counts.loc[counts["moderator"] == "rob_overall", "level"].tolist() == ["low", "moderate", "high",
                                                                                 "(not coded)"]


def test_the_data_table_lists_a_custom_tools_levels_in_its_order():
    """With risk_of_bias.tool custom (good, fair, poor), the report's levels per family were sorted (fair, good,
    poor) while subgroups.csv lists them in the tool's order; the report passes the config's block."""
    frame = pd.DataFrame({"family": "outcome", "study_id": list("ABCDE"),
                          "rob_overall": ["poor", "good", "fair", None, "good"]})
    tool = {"tool": "custom", "domains": ["selection"], "levels": ["good", "fair", "poor"]}
    counts = moderator_counts(frame, ["rob_overall"], tool)
    assert counts["level"].tolist() == ["good", "fair", "poor", "(not coded)"]


def test_pooled_sentence_is_apa():
    pooled = pool_all(np.arctanh([0.2, 0.3, 0.35, 0.25, 0.4]), np.full(5, 0.01), ["REML"], ["z"], metric="z")
    text = pooled_sentence("outcome", "z", pooled.iloc[0], {"n": 1234, "effect_sizes": 7})
    assert re.search(r"r = \.\d\d, 95% CI \[\.\d\d, \.\d\d\], k = 5 studies \(7 effect sizes\), N = 1,234", text)
    assert "prediction interval [" in text and "I\u00b2 = " in text


def test_pooled_sentence_of_a_common_effect_model_gives_no_tau2_estimate():
    """pooling.main_method: common read "τ² = 0.000 (Hedges' g), I² = 28.5%": an estimate of what the model
    assumes to be 0."""
    yi = np.arctanh([0.2, 0.3, 0.35, 0.25, 0.4])
    for method in ("common", "REML"):
        row = pool_all(yi, np.full(5, 0.01), [method], ["z"], metric="z").iloc[0]
        text = pooled_sentence("outcome", "z", row, {"n": 1234, "effect_sizes": 5})
        assert ("τ² = " in text) == (method == "REML")
        assert ("common-effect model (τ² assumed to be 0), I² = " in text) == (method == "common")
        assert f"I² = {apa_number(row['i2'], 1)}%" in text
    one = pool_all(yi[:1], np.full(1, 0.01), ["common"], ["z"], metric="z").iloc[0]  # one study: no "I² = 0.0%"
    text = pooled_sentence("outcome", "z", one, {"n": 50, "effect_sizes": 1})
    assert "heterogeneity cannot be estimated from one study" in text and "I²" not in text


def test_manuscript_tables_markdown_and_latex():
    pooled = pool_all(np.arctanh([0.2, 0.3, 0.35]), np.full(3, 0.01), ["REML"], ["z", "knha"], metric="z")
    table = manuscript_table("pooled", pooled, "z")
    markdown, latex = to_markdown(table), to_latex(table)
    assert markdown.count("\n| REML |") == 2 and "r [95% CI]" in markdown
    assert r"\toprule" in latex and r"\bottomrule" in latex
    hostile = manuscript_table("subgroups", pd.DataFrame(
        {"moderator": ["a_b"], "level": ["50% & $x$"], "k": [3], "estimate": [0.3], "se": [0.1], "ci_lower": [0.1],
         "ci_upper": [0.5], "tau2": [0.0]}), "z")
    assert r"50\% \& \$x\$" in to_latex(hostile) and r"a\_b" in to_latex(hostile)


def test_latex_tables_write_q_m_as_the_word_tables_set_it():
    """The LaTeX tables wrote "QM (df)" and "QM = omnibus Wald test" in plain letters beside their $\\hat{R}$: Q_M is
    $Q_{\\mathrm{M}}$ (italic Q, upright subscript M; APA 2020, sec. 6.46), by the Word tables' definition
    (formatting.TYPESET_SYMBOLS)."""
    moderators = pd.DataFrame({"moderator": ["modality"], "k": 3, "qm": 1.0, "qm_df": 1, "qm_p": 0.3, "f": 0.9,
                               "f_df1": 1, "f_df2": 1, "f_p": 0.4, "tau2": 0.01, "r2": 20.0, "tau2_null": 0.02})
    latex = to_latex(manuscript_table("moderators", moderators, "z"))
    assert r"$Q_{\mathrm{M}}$ (df)" in latex and r"$Q_{\mathrm{M}}$ = omnibus Wald test" in latex
    assert not re.search(r"\bQM\b", latex)
    bayes = pd.DataFrame({"parameter": ["mu", "tau"], "mean": [0.3, 0.1], "sd": [0.05, 0.04],
                          "hdi_lower": [0.2, 0.02], "hdi_upper": [0.4, 0.2], "r_hat": 1.0, "ess_bulk": 2000.0,
                          "ess_tail": 2000.0})  # SIMULATED summaries
    assert r"$\hat{R}$ & ESS bulk" in to_latex(manuscript_table("bayes", bayes, "z"))


@pytest.fixture()
def report_html(tmp_path) -> str:
    effect_sizes = effect_sizes_frame(HOSTILE)
    analysis = effect_sizes.groupby("study_id", as_index=False).first()
    pooled = pool_all(analysis.yi, analysis.vi, ["REML"], ["z"], metric="z")
    figure, axis = plt.subplots(figsize=(2, 1))
    axis.plot([0, 1], [0, 1])
    figure.savefig(tmp_path / "forest.png", dpi=50)
    plt.close(figure)
    config = {"moderators": ["modality"], "pooling": {"main_method": "REML", "tests": ["z"], "level": 95}}
    provenance = {"sheet": "data/raw/studies.csv", "sheet_sha256": "ab" * 32, "run_date": "2026-01-01 00:00 UTC",
                  "versions": {"alliance-meta": "0.1.0", "numpy": "2"}, "config_yaml": "sheet: x\n"}
    return render_report(sheet=effect_sizes, effect_sizes=effect_sizes, config=config, provenance=provenance,
                         families={"outcome": {"metric": "z", "tables": {"pooled": pooled}, "analysis": analysis,
                                               "images": [tmp_path / "forest.png"]}},
                         methods=methods_paragraph(config, set(), provenance["versions"]))


def test_the_report_typesets_q_m_and_r_hat_as_the_word_tables_do():
    """The last review: the report wrote "QM (df)", "QM(2) = 3.00" and "R-hat" in plain letters where the Word
    tables set Q_M (an italic Q, the M a subscript) and R\u0302 (an italic R with a circumflex); sheet text is
    escaped as ever."""
    effect_sizes = effect_sizes_frame(HOSTILE)
    analysis = effect_sizes.groupby("study_id", as_index=False).first()
    pooled = pool_all(analysis.yi, analysis.vi, ["REML"], ["z"], metric="z")
    moderators = pd.DataFrame({"moderator": ["modality"], "k": 3, "qm": 1.0, "qm_df": 1, "qm_p": 0.3, "f": 0.9,
                               "f_df1": 1, "f_df2": 1, "f_p": 0.4, "tau2": 0.01, "r2": 20.0, "tau2_null": 0.02})
    bayes = pd.DataFrame({"parameter": ["mu", "tau"], "mean": [0.3, 0.1], "sd": [0.05, 0.04],
                          "hdi_lower": [0.2, 0.02], "hdi_upper": [0.4, 0.2], "r_hat": 1.0, "ess_bulk": 2000.0,
                          "ess_tail": 2000.0})  # SIMULATED summaries
    config = {"moderators": ["modality"], "pooling": {"main_method": "REML", "tests": ["z"], "level": 95}}
    provenance = {"sheet": "data/raw/studies.csv", "sheet_sha256": "ab" * 32, "run_date": "2026-01-01 00:00 UTC",
                  "versions": {"alliance-meta": "0.1.0"}, "config_yaml": "sheet: x\n"}
    html = render_report(sheet=effect_sizes, effect_sizes=effect_sizes, config=config, provenance=provenance,
                         families={"outcome": {"metric": "z", "analysis": analysis, "images": [], "tables": {
                             "pooled": pooled, "moderators": moderators, "bayes": bayes}}},
                         methods=methods_paragraph(config, {"moderators"}, provenance["versions"]))
    q_m, r_hat = "<i>Q</i><sub>M</sub>", "<i>R\u0302</i>"
    assert f'<th scope="col">{q_m} (<i>df</i>)</th>' in html and f'<th scope="col">{r_hat}</th>' in html
    assert f"{q_m} = omnibus Wald test" in html and f"{r_hat} = potential scale reduction factor" in html
    assert f"modality, {q_m}(1) = 1.00" in html  # the Results
    assert f"with omnibus {q_m} and" in html  # the Methods
    assert "R-hat" not in html and not re.search(r"\bQM\b", html)
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_a_letter_joined_by_a_slash_to_a_letter_is_no_statistical_symbol():
    """Letting a symbol stand beside a division's slash (t/\u221a(t\u00b2 + df)) set the d of a unit "mg/d", the n of
    "n/a" and the OR of "AND/OR" in italics in the Word tables' notes and the report (the slash had kept them upright
    before): a slash that joins the letter to another letter makes a unit or an abbreviation, not a division."""
    from alliance_meta.report.formatting import typeset_parts

    for text in ("Dose (mg/d)", "S-value n/a", "coded y/n", "AND/OR"):
        assert [part for part, kind in typeset_parts(text) if kind == "italic"] == [], text
    assert [part for part, kind in typeset_parts("r = t/\u221a(t\u00b2 + df), \u221a(\u03c7\u00b2/n), 100/k, "
                                                 "\u03a3n\u00b2/\u03a3n")
            if kind == "italic"] == ["r", "t", "t", "df", "n", "k", "n", "n"]


def test_the_report_sets_statistical_symbols_in_italics_as_the_word_tables_do():
    """A copy editor's reading of the HTML report: k, p, r, n, z, F, t, Q and I\u00b2 were upright in its paragraphs and
    table headings and notes, italic in the Word tables (APA 2020, sec. 6.46). They are italic there now by the Word
    tables' definition (formatting.STATISTICAL_SYMBOL), never in a word, an abbreviation with periods, initials or a
    name from the data (a moderator called F), nor in the table cells, which are data."""
    from alliance_meta.report.html import typeset

    effect_sizes = effect_sizes_frame().rename(columns={"modality": "F"})  # a moderator column called F
    analysis = effect_sizes.groupby("study_id", as_index=False).first()
    pooled = pool_all(analysis.yi, analysis.vi, ["REML"], ["z"], metric="z")
    moderators = pd.DataFrame({"moderator": ["F"], "k": 3, "qm": 1.0, "qm_df": 1, "qm_p": 0.3, "f": 0.9,
                               "f_df1": 1, "f_df2": 1, "f_p": 0.4, "tau2": 0.01, "r2": 20.0, "tau2_null": 0.02})
    config = {"moderators": ["F"], "pooling": {"main_method": "REML", "tests": ["z"], "level": 95}}
    provenance = {"sheet": "data/raw/studies.csv", "sheet_sha256": "ab" * 32, "run_date": "2026-01-01 00:00 UTC",
                  "versions": {"alliance-meta": "0.1.0"}, "config_yaml": "sheet: x\n"}
    html = render_report(sheet=effect_sizes, effect_sizes=effect_sizes, config=config, provenance=provenance,
                         families={"outcome": {"metric": "z", "analysis": analysis, "images": [], "tables": {
                             "pooled": pooled, "moderators": moderators}}},
                         methods=methods_paragraph(config, {"moderators"}, provenance["versions"]))
    results = re.search(r'<section id="family-outcome">.*?<p class="paragraph">(.*?)</p>', html, re.S).group(1)
    assert re.search(r"<i>r</i> = \.\d\d, 95% CI \[.*, <i>k</i> = 4 studies \(8 effect sizes\), <i>N</i> = ", results)
    assert "<i>I\u00b2</i> = " in results and "\u03c4\u00b2 = " in results  # a Greek letter upright
    assert "F, <i>Q</i><sub>M</sub>(1) = 1.00" in results  # the moderator F as written, its test's symbols italic
    assert '<th scope="col"><i>k</i></th>' in html and '<th scope="col"><i>p</i> (<i>Q</i>)</th>' in html
    assert "<td>F</td>" in html and "<td><i>" not in html  # cells are data
    assert "<i>k</i> = studies" in html  # the moderator table's note
    assert "<i>F</i> tests" in html.split('<section id="methods">')[1]
    assert str(typeset("J. F. Smith, e.g. n.s. (k = 3, p = .04, t tests)")) == \
        "J. F. Smith, e.g. n.s. (<i>k</i> = 3, <i>p</i> = .04, <i>t</i> tests)"
    # the Methods' conversions: each t of "r = t/\u221a(t\u00b2 + df)" italic, not the first upright before its slash
    assert str(typeset("r = t/\u221a(t\u00b2 + df), \u221a(\u03c7\u00b2/n), 1/n1")) == \
        "<i>r</i> = <i>t</i>/\u221a(<i>t</i>\u00b2 + <i>df</i>), \u221a(\u03c7\u00b2/<i>n</i>), 1/n1"


def test_sheet_text_is_escaped(report_html):
    assert "Studies and effect sizes per moderator level" in report_html  # config moderators: [modality]
    assert "<script>" not in report_html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in report_html
    assert "<img src=x" not in report_html


def test_report_is_self_contained_and_flags_simulated_data(report_html):
    from alliance_meta.wording import SIMULATED_DATA

    # the banner and the title say what the manuscript tables' titles say (wording.SIMULATED_DATA), not words of the
    # template's own ("Simulated data."), which another label would leave behind
    assert 'id="simulated-banner"' in report_html and f"<strong>{SIMULATED_DATA}.</strong>" in report_html
    # a reviewer's own simulated sheet is no demo: the banner and the title say simulated data, not whose
    assert "demo data" not in report_html.lower() and f"({SIMULATED_DATA})</title>" in report_html
    template = (Path(render_report.__code__.co_filename).parent / "templates" / "report.html.j2").read_text()
    assert "simulated data" not in template.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", report_html)
    assert "data:image/webp;base64," in report_html
    assert "<i>r</i> = ." in report_html and "ab" * 32 in report_html


def test_sheet_notes_and_left_out_families_are_in_the_data_section(tmp_path):
    sheet = effect_sizes_frame()
    html = render_report(sheet=sheet, effect_sizes=sheet, families={}, config={}, methods="",
                         provenance={"sheet": "s", "sheet_sha256": "0", "run_date": "d",
                                     "versions": {"alliance-meta": "0"}, "config_yaml": ""},
                         sheet_notes=['rows with the same cells in every column: 3 = 4 (study <S2>)'],
                         families_left_out=["The sheet has 8 dropout rows, but families in config/config.yaml does not "
                                            "include dropout: the dropout family is not analysed."])
    data = html[html.index('<section id="data">'):html.index("</section>", html.index('<section id="data">'))]
    assert '<ul id="sheet-notes"><li>rows with the same cells in every column: 3 = 4 (study &lt;S2&gt;)</li></ul>' in data
    assert "The sheet has 8 dropout rows" in data
    plain = render_report(sheet=sheet, effect_sizes=sheet, families={}, config={}, methods="",
                          provenance={"sheet": "s", "sheet_sha256": "0", "run_date": "d",
                                      "versions": {"alliance-meta": "0"}, "config_yaml": ""})
    assert 'id="sheet-notes"' not in plain
    assert "per moderator level" not in plain  # no moderators analysed: no empty table


def test_a_family_where_no_study_gave_its_n_has_no_n_of_zero_patients():
    """Odds ratios with their CI only: the Data section's table of families printed N = 0 beside the count of
    studies without an n; the cell is blank and the note says why (the Results say "N unknown")."""
    sheet = effect_sizes_frame().assign(n=np.nan)
    provenance = {"sheet": "s", "sheet_sha256": "0", "run_date": "d", "versions": {"alliance-meta": "0"},
                  "config_yaml": ""}
    html = render_report(sheet=sheet, effect_sizes=sheet, families={"outcome": {"metric": "z", "tables": {},
                                                                              "images": []}},
                         config={}, methods="", provenance=provenance)
    start = html.index("Studies, effect sizes and patients per family")
    table = html[start:html.index("</table>", start) + 200]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table)
    assert cells[:5] == ["outcome", "4", "8", "", "4"], cells
    assert "blank where no study gave its <i>n</i>" in table


def test_no_banner_without_simulated_rows(tmp_path):
    sheet = effect_sizes_frame().assign(simulated="no")
    html = render_report(sheet=sheet, effect_sizes=sheet, families={}, config={}, methods="",
                         provenance={"sheet": "s", "sheet_sha256": "0", "run_date": "d",
                                     "versions": {"alliance-meta": "0"}, "config_yaml": ""})
    assert 'id="simulated-banner"' not in html


def test_bayes_table_formats_by_parameter():
    frame = pd.DataFrame({"parameter": ["mu", "r", "i2", "bf_mu"], "mean": [0.3031, 0.2941, 56.43, np.nan],
                          "sd": [0.013, 0.012, 6.0, np.nan], "hdi_lower": [0.277, 0.27, 44.6, np.nan],
                          "hdi_upper": [0.328, 0.317, 68.2, np.nan], "r_hat": [1.001, 1.0, 1.0, np.nan],
                          "ess_bulk": [3003.0, 3003.0, 1625.0, np.nan], "ess_tail": [3106.0, 3106.0, 2549.0, np.nan]})
    rows = manuscript_table("bayes", frame, "z").rows
    assert rows[0][:4] == ["\u03bc", "0.303", "0.013", "[0.277, 0.328]"]  # bayes.csv's mu, as a manuscript writes it
    assert rows[1][1] == ".29" and rows[1][3] == "[.27, .32]" and rows[2][1] == "56.4"
    assert rows[3] == ["BF\u2081\u2080 (\u03bc \u2260 0)", "", "", "", "", "", ""] and rows[0][5] == "3,003"


def test_bayes_table_bounds_posterior_probabilities_that_round_to_0_or_1():
    """The demo's table read "P(r > 0) | 1.000 | .000": every draw above 0 estimates a probability below 1, as the
    exact .99999999986 is; the SD of the draws stays as it is."""
    frame = pd.DataFrame({"parameter": ["p_r_gt_0", "p_r_gt_0.3", "p_r_gt_0.5"], "mean": [1.0, 0.321, 0.0],
                          "sd": [0.0, 0.467, 0.0], "hdi_lower": np.nan, "hdi_upper": np.nan, "r_hat": np.nan,
                          "ess_bulk": 4000.0, "ess_tail": 4000.0})
    rows = manuscript_table("bayes", frame, "z").rows
    assert [row[:3] for row in rows] == [["P(r > 0)", "> .999", ".000"], ["P(r > .30)", ".321", ".467"],
                                         ["P(r > .50)", "< .001", ".000"]]


def test_very_long_tables_are_cut_with_a_pointer_to_their_csv():
    from alliance_meta.report.html import MAX_SHOWN_ROWS, html_table

    frame = pd.DataFrame({"estimate": np.linspace(0, 1, MAX_SHOWN_ROWS + 50)})
    table = html_table("multiverse", frame, source="results/outcome/multiverse.csv")
    assert len(table.rows) == MAX_SHOWN_ROWS
    assert table.note == f"First {MAX_SHOWN_ROWS} of {MAX_SHOWN_ROWS + 50:,} rows; every row is in " \
        "results/outcome/multiverse.csv."
    assert html_table("multiverse", frame).note == f"First {MAX_SHOWN_ROWS} of {MAX_SHOWN_ROWS + 50:,} rows."
    assert len(html_table("pooled", frame.head(10)).rows) == 10


def test_a_cut_table_names_the_file_that_really_holds_every_row():
    # the studies table is data/processed/{family}/analysis.csv (there is no studies.csv); result
    # tables are results/{family}/{name}.csv
    from alliance_meta.report.html import MAX_SHOWN_ROWS, family_section

    k = MAX_SHOWN_ROWS + 103
    analysis = pd.DataFrame({"study_id": [f"S{i}" for i in range(k)], "yi": np.linspace(-1, 1, k), "vi": 0.01})
    multiverse = pd.DataFrame({"estimate": np.linspace(0, 1, k), "k": 5})
    section = family_section("dropout", "smd", {"multiverse": multiverse}, analysis, [], {}, {})
    notes = {table.name: table.note for table in section.tables}
    assert notes["studies"].endswith(f"First {MAX_SHOWN_ROWS} of {k} rows; every row is in "
                                     "data/processed/dropout/analysis.csv.")
    assert "studies.csv" not in " ".join(notes.values())
    cut = [note for name, note in notes.items() if name.startswith("multiverse")]
    assert cut and all(note.endswith("every row is in results/dropout/multiverse.csv.") for note in cut), notes


def test_pooled_sentence_of_a_three_level_model_counts_studies_and_splits_the_variance():
    from alliance_meta.report.text import pooled_sentence

    row = pd.Series({"estimate": 0.30, "ci_lower": 0.27, "ci_upper": 0.33, "pi_lower": 0.06, "pi_upper": 0.54,
                     "k": 337, "n_studies": 125, "tau2": 0.0148, "sigma2_between": 0.0090,
                     "sigma2_within": 0.0058, "i2": 65.0, "q": 691.5, "q_df": 336, "q_p": 1e-27})
    sentence = pooled_sentence("outcome", "z", row, {"effect_sizes": 337, "n": 11021})
    assert "k = 125 studies (337 effect sizes)" in sentence
    assert "between studies = 0.009" in sentence and "within studies = 0.006" in sentence
    aggregated = pooled_sentence("outcome", "z", row.drop(["n_studies", "sigma2_between", "sigma2_within"]),
                                 {"effect_sizes": 337, "n": 11021})
    assert "k = 337 studies" in aggregated and "\u03c4\u00b2 = 0.015" in aggregated


def test_pooled_sentence_of_a_three_level_model_gives_the_i2_of_each_level():
    """The Results gave I^2 = 94.8% 'in all' only (dat.assink2016 as a sheet), where three-level reviews report
    its split by level (Cheung 2014; metafor's I^2 per sigma^2), which pooled.csv has (i2_between, i2_within)."""
    from alliance_meta.report.text import pooled_sentence

    row = pd.Series({"estimate": 0.377, "ci_lower": 0.183, "ci_upper": 0.571, "pi_lower": -0.60, "pi_upper": 1.36,
                     "k": 100, "n_studies": 17, "tau2": 0.2393, "sigma2_between": 0.0936, "sigma2_within": 0.1457,
                     "i2": 94.797, "i2_between": 37.087, "i2_within": 57.709, "q": 627.0, "q_df": 99, "q_p": 1e-77})
    sentence = pooled_sentence("outcome", "z", row, {"effect_sizes": 100, "n": 1381})
    assert "I\u00b2 = 94.8% in all (37.1% between and 57.7% within studies)" in sentence


def test_results_say_the_selection_and_bayesian_models_of_a_three_level_review_pool_study_composites():
    """dat.assink2016 as a sheet: the Results gave the three-level r = .36 and then "Bayesian random-effects model
    (posterior means): mu = 0.310" and selection-model estimates, with no word that these pool one composite per
    study (the Egger clause beside them said so); under dependence: aggregate nothing changes."""
    from alliance_meta.report.text import results_paragraph

    pooled = pd.DataFrame([{"method": "REML", "test": "z", "k": 100, "n_studies": 17, "estimate": 0.377,
                            "ci_lower": 0.183, "ci_upper": 0.571, "pi_lower": -0.6, "pi_upper": 1.36,
                            "tau2": 0.239, "sigma2_between": 0.094, "sigma2_within": 0.146, "i2": 94.8,
                            "q": 627.0, "q_df": 99, "q_p": 1e-77}])
    bayes = pd.DataFrame({"parameter": ["mu", "tau"], "mean": [0.31, 0.328], "hdi_lower": [0.11, 0.18],
                          "hdi_upper": [0.48, 0.52]})
    selection = pd.DataFrame({"type": ["halfnorm", "stepfun"], "estimate": [-0.08, 0.40], "se": [0.47, 0.14],
                              "lrt_p": [0.094, 0.573], "converged": [True, True], "note": ["", ""]})
    tables = {"pooled": pooled, "bayes": bayes, "selection_models": selection}
    text = results_paragraph("outcome", "z", tables, {"n": 1381}, "REML", ["z"])
    assert "Bayesian random-effects model of the study composites (posterior means): \u03bc = 0.310" in text
    assert "Adjusted for publication bias by two selection models of the study composites (maximum" in text
    aggregated = results_paragraph("outcome", "z", {**tables, "pooled": pooled.drop(
        columns=["n_studies", "sigma2_between", "sigma2_within"])}, {"n": 1381}, "REML", ["z"])
    assert "composites" not in aggregated and "Bayesian random-effects model (posterior means)" in aggregated


def test_results_speak_of_study_composites_only_when_a_study_has_several_effect_sizes():
    """A dropout-only review of 2x2 tables, one effect size per study, fitted three-level: the Results said
    "Bayesian random-effects model of the study composites" (and "Egger's regression test on the study
    composites"), of composites never made. The demo's counts (studies
    with several effect sizes) keep them; the counts of its first effect size of each study drop them."""
    from pathlib import Path

    import alliance_meta as am
    from alliance_meta.report.summary import family_counts
    from alliance_meta.report.text import results_paragraph

    demo = am.effect_sizes(am.read_sheet(Path(__file__).resolve().parents[1] / "data" / "raw" / "studies.csv"))
    pooled = pd.DataFrame([{"method": "REML", "test": "z", "k": 20, "n_studies": 20, "estimate": 0.3,
                            "ci_lower": 0.2, "ci_upper": 0.4, "pi_lower": 0.1, "pi_upper": 0.5, "tau2": 0.01,
                            "sigma2_between": 0.005,
                            "sigma2_within": 0.005, "i2": 50.0, "q": 40.0, "q_df": 19, "q_p": 0.003}])
    bayes = pd.DataFrame({"parameter": ["mu", "tau"], "mean": [0.31, 0.1], "hdi_lower": [0.11, 0.02],
                          "hdi_upper": [0.48, 0.2]})
    bias = pd.DataFrame({"test": ["egger_multilevel", "egger"], "statistic": [-1.2, -1.3], "p": [0.25, 0.19],
                         "df": [12.0, float("nan")], "note": ["", ""]})
    for rows, several in ((demo, True), (demo.drop_duplicates(["family", "study_id"]), False)):
        counts = family_counts(rows, ["outcome"]).iloc[0].to_dict()
        text = results_paragraph("outcome", "z", {"pooled": pooled, "bayes": bayes, "bias": bias}, counts, "REML",
                                 ["z"])
        assert ("Bayesian random-effects model of the study composites (posterior means)" in text) is several
        assert ("Egger's regression test on the study composites z = \u22121.30" in text) is several
        assert ("composites" in text) is several


def test_figures_inlined_beforehand_are_used_as_they_are(tmp_path):
    # rule report_figures writes the data URIs; the report inlines only the images not among them
    from alliance_meta.report.html import family_section, inline_figures

    for name in ("forest.png", "funnel.png"):
        figure, axis = plt.subplots(figsize=(2, 1))
        axis.plot([0, 1], [0, 1])
        figure.savefig(tmp_path / name, dpi=50)
        plt.close(figure)
    inlined = inline_figures([tmp_path / "forest.png"])
    assert list(inlined) == ["forest.png"] and inlined["forest.png"].startswith("data:image/webp;base64,")
    marked = {"forest.png": "data:image/webp;base64,UHJldmlldw=="}  # not what inlining the file gives
    section = family_section("outcome", "z", {}, None, [tmp_path / "funnel.png", tmp_path / "forest.png"], {}, {},
                             inlined=marked)
    uris = {figure.title: figure.data_uri for figure in section.figures}
    assert uris["Forest plot"] == marked["forest.png"]
    assert uris["Funnel plot"] == inline_figures([tmp_path / "funnel.png"])["funnel.png"]


def test_methods_name_the_metric_of_the_families_analysed_only():
    config = {"metric": {"outcome": "z", "dropout": "smd"}}
    both = methods_paragraph(config, set(), {})
    assert both.startswith("Correlations were analysed as Fisher's z and back-transformed to r; the dropout family "
                           "was analysed as Hedges' g. ")
    outcome = methods_paragraph(config, set(), {}, families=["outcome"])
    assert outcome.startswith("Correlations were analysed as Fisher's z and back-transformed to r. ")
    assert "dropout" not in outcome
    assert methods_paragraph(config, set(), {}, families=["dropout"]).startswith(
        "The dropout family was analysed as Hedges' g. ")
    # a common noun takes its article (one list of metric names: engines.transforms.METRIC_NAMES)
    assert methods_paragraph({"metric": {"dropout": "log_or"}}, set(), {}, families=["dropout"]).startswith(
        "The dropout family was analysed as the log odds ratio. ")


def test_methods_name_range_restriction_only_where_a_row_codes_ux():
    """The Methods said the psychometric corrections included range restriction "(where ux was coded)" when no row
    coded ux (the demo): they name it only where a row of a family with a psychometric analysis codes ux, and not
    under psychometric.correction_method: meas, which corrects for unreliability only."""
    from alliance_meta.report.methods import run_facts

    rows = pd.DataFrame({"study_id": ["a", "b", "c"], "family": ["outcome", "outcome", "dropout"],
                         "yi": [0.3, 0.2, 0.4], "vi": [0.01, 0.02, 0.03], "ux": [np.nan, np.nan, 0.8]})
    families = {"outcome": {"tables": {"psychometric": pd.DataFrame()}}, "dropout": {"tables": {}}}
    facts = run_facts(families, rows)
    assert facts["ux_coded"] is False  # the dropout row's ux is of no psychometric analysis
    without = methods_paragraph({}, {"psychometric"}, {}, **facts)
    assert "corrected for unreliability study by study" in without and "range restriction" not in without
    facts = run_facts(families, rows.assign(ux=[0.8, np.nan, np.nan]))
    assert facts["ux_coded"] is True
    coded = methods_paragraph({}, {"psychometric"}, {}, **facts)
    assert "corrected for unreliability (and range restriction, where ux was coded) study by study" in coded
    meas = methods_paragraph({"psychometric": {"correction_method": "meas"}}, {"psychometric"}, {}, **facts)
    assert "range restriction" not in meas


def test_methods_say_when_no_moderator_was_analysed():
    analysed = methods_paragraph({"moderators": ["rater"]}, {"moderators"}, {})
    assert "Moderators were tested in mixed-effects meta-regressions" in analysed
    for config in ({"moderators": []}, {"moderators": [], "continuous_moderators": [], "meta_regression": []}):
        text = methods_paragraph(config, {"moderators"}, {})
        assert "No moderator was analysed" in text and "Moderators were tested" not in text
    assert "Moderators were tested" in methods_paragraph({"continuous_moderators": ["year"]}, {"moderators"}, {})
    assert "Moderators were tested" in methods_paragraph({}, {"moderators"}, {})  # no key: the default moderators


def test_methods_name_the_bias_and_sensitivity_analyses_the_run_made():
    """The Methods named 'a step-function selection model' beside a Results section of seven selection models, and
    left out the test of excess significance, the Henmi-Copas interval, S-values, GOSH, model averaging and the
    multiverse."""
    bias_only = methods_paragraph({}, {"bias"}, {})
    assert "(PET-PEESE; Stanley & Doucouliagos, 2014), the test of excess significance, the Henmi\u2013Copas " \
           "interval, " \
           "S-values and a step-function " \
           "selection model; influence with leave-one-out, influence diagnostics and cumulative analysis." in bias_only
    assert "model averaging" not in bias_only and "multiverse" not in bias_only
    everything = methods_paragraph({}, {"bias", "selection_models", "gosh", "bma", "multiverse"}, {})
    assert ("S-values and selection models with a step function (cut points at one-sided p = .025, .10 and .50) and six "
            "continuous weight functions") in everything
    assert ("cumulative analysis and graphical display of study heterogeneity (GOSH) plots (Olkin et al., 2012; every "
            "subset of the studies, or 1,000,000 "
            "random subsets [seed 20120901] where there are more).") in everything
    gosh = methods_paragraph({"gosh": {"subsets": 2000, "seed": 1}}, {"bias", "gosh"}, {})  # the reader can tell
    assert "(GOSH) plots (Olkin et al., 2012; every subset of the studies, or 2,000 random subsets [seed 1]" in gosh
    assert "(RoBMA-PSMA; Barto\u0161 et al., 2023) averaged models with and without an effect, heterogeneity and " \
           "publication bias, the last by six weight functions and the PET-PEESE regressions" in everything
    assert "A multiverse analysis (Voracek et al., 2019)" in everything
    no_bias = methods_paragraph({"bma": {"bias": False}}, {"bma"}, {})
    # four normal models are Bayesian model averaging, not robust Bayesian meta-analysis (RoBMA)
    assert ("Bayesian model averaging over effect and heterogeneity (Gronau et al., 2021; no publication-bias models) "
            "weighted the models with and without an effect and with and without heterogeneity by their posterior "
            "probabilities.") in no_bias
    assert "PSMA" not in no_bias and "RoBMA" not in no_bias and "robust Bayesian" not in no_bias.lower()


def test_a_table_without_rows_says_so(tmp_path):
    from alliance_meta.analyses.moderators.univariate import SUMMARY_COLUMNS

    effect_sizes = effect_sizes_frame()
    analysis = effect_sizes.groupby("study_id", as_index=False).first()
    pooled = pool_all(analysis.yi, analysis.vi, ["REML"], ["z"], metric="z")
    config = {"moderators": [], "pooling": {"main_method": "REML", "tests": ["z"], "level": 95}}
    provenance = {"sheet": "data/raw/studies.csv", "sheet_sha256": "ab" * 32, "run_date": "2026-01-01 00:00 UTC",
                  "versions": {"alliance-meta": "0.1.0"}, "config_yaml": "{}\n"}
    html = render_report(sheet=effect_sizes, effect_sizes=effect_sizes, config=config, provenance=provenance,
                         families={"outcome": {"metric": "z", "analysis": analysis, "images": [], "tables": {
                             "pooled": pooled, "moderators": pd.DataFrame(columns=SUMMARY_COLUMNS)}}},
                         methods=methods_paragraph(config, {"moderators"}, provenance["versions"]))
    tables = re.findall(r'<figure class="table" id="table-([^"]+)">(.*?)</figure>', html, flags=re.S)
    empty = [body for name, body in tables if "moderators" in name]
    # moderators: [] -- the reason, not a bare "No rows."
    assert len(empty) == 1 and "Not run: no moderator to analyse" in empty[0] and "<table>" not in empty[0]
    assert "Mixed-effects meta-regression" not in empty[0]  # no note on how the absent rows were made
    from alliance_meta.report.tables import manuscript_table  # nor in the Word, Markdown and LaTeX tables

    assert manuscript_table("moderators", pd.DataFrame(columns=SUMMARY_COLUMNS), "z").note == ""
    assert all("No rows." not in body and "Not run" not in body for name, body in tables if "pooled" in name)
    # a configured moderator whose table is empty for a reason the report cannot tell: "No rows."
    html = render_report(sheet=effect_sizes, effect_sizes=effect_sizes, config={**config, "moderators": ["rater"]},
                         provenance=provenance,
                         families={"outcome": {"metric": "z", "analysis": analysis, "images": [], "tables": {
                             "pooled": pooled, "moderators": pd.DataFrame(columns=SUMMARY_COLUMNS)}}},
                         methods="")
    empty = [body for name, body in re.findall(r'<figure class="table" id="table-([^"]+)">(.*?)</figure>', html,
                                               flags=re.S) if "moderators" in name]
    assert len(empty) == 1 and "No rows." in empty[0] and "Not run" not in empty[0]


@pytest.mark.parametrize("years, title", [
    (2000 + np.arange(8), "Cumulative meta-analysis (by year)"),
    ([2001, 2001, np.nan, np.nan, 2003, 2003, 2004, 2004], "Cumulative meta-analysis: by year; 1 without a year last, "
                                                             "in sheet order"),
    ([np.nan] * 8, "Cumulative meta-analysis: in sheet order (no year in the sheet)")])
def test_the_cumulative_table_says_its_order_when_years_are_missing(years, title):
    """The table was titled "(by year)" for a sheet without any year, which the analysis adds in sheet order (as
    the cumulative forest plot's axis said)."""
    import alliance_meta as am
    from alliance_meta.analyses.sensitivity import sensitivity
    from alliance_meta.report.html import family_section

    effect_sizes = effect_sizes_frame().assign(year=years)
    analysis = effect_sizes.groupby("study_id", as_index=False).first()
    fit = am.fit(analysis, method="REML", metric="z")
    cumulative = sensitivity(fit).cumulative
    config = {"moderators": [], "pooling": {"main_method": "REML", "tests": ["z"], "level": 95}}
    section = family_section("outcome", "z", {"cumulative": cumulative}, analysis, [], {}, config)
    assert [table.title for table in section.tables if table.name.startswith("cumulative")] == [title]


def test_a_multiverse_the_config_leaves_out_says_so():
    """Empty multiverse.methods and priors leave the multiverse out: its tables said a bare "No rows." (while the
    case of too few studies gave its reason), whatever the number of studies."""
    from alliance_meta.report.html import empty_table_reasons

    tables = {"multiverse": pd.DataFrame(), "multiverse_summary": pd.DataFrame()}
    for studies in (["S1"], ["S1", "S2", "S3"]):
        reasons = empty_table_reasons(tables, pd.DataFrame({"study_id": studies}),
                                      {"multiverse": {"methods": [], "priors": []}})
        assert reasons == dict.fromkeys(tables, (
            "Not run: the config leaves the multiverse out; multiverse.methods and multiverse.priors are empty: the "
            "multiverse has no specification (frequentist ones need methods and tests, Bayesian ones priors), so "
            "multiverse.csv is empty."))
    # the schema's lists (or the demo's) keep the multiverse: no reason beside the number of studies
    assert empty_table_reasons(tables, pd.DataFrame({"study_id": ["S1", "S2"]}), {"multiverse": {}}) == {}


def test_empty_tables_say_why_where_the_config_or_the_other_tables_tell():
    """An analysis not configured (location_scale, moderators), no artifacts for the psychometric distributions,
    too few studies for an analysis, and meta-regressions of moderators that all have one level: a
    sentence each instead of a bare "No rows."; an empty table of an analysis that was asked for and whose
    reason is unknown keeps "No rows." (absent from the reasons)."""
    from alliance_meta.report.html import NO_ARTIFACTS, NO_LOCATION_SCALE, NO_MODERATORS, empty_table_reasons

    empty = pd.DataFrame()
    one_level = pd.DataFrame({"moderator": ["rater"], "qm": [float("nan")],
                              "note": ["no mixed-effects model: rater has one value (patient) in every row: nothing "
                                       "to compare"]})
    tables = {"moderators": one_level, "meta_regression": empty, "location_scale": empty,
              "location_scale_tau2": empty, "psychometric": pd.DataFrame({"method": ["bare_bones"]}),
              "psychometric_artifacts": empty, "leave_one_out": empty, "influence": empty, "selection_models": empty}
    analysis = pd.DataFrame({"study_id": ["S1", "S1"]})
    reasons = empty_table_reasons(tables, analysis, {"moderators": ["rater"], "location_scale": []})
    assert reasons == {
        "meta_regression": "No meta-regression could be fitted: rater has one value (patient) in every row: nothing "
                           "to compare.",
        "location_scale": NO_LOCATION_SCALE, "location_scale_tau2": NO_LOCATION_SCALE,
        "psychometric_artifacts": NO_ARTIFACTS,
        "leave_one_out": "Leave-one-out and influence diagnostics need at least two studies; one study in this family.",
        "influence": "Leave-one-out and influence diagnostics need at least two studies; one study in this family."}
    tables.update(bma=empty, gosh_studies=empty, multiverse=empty, model_comparison=empty)
    reasons = empty_table_reasons(tables, pd.DataFrame({"study_id": ["S1", "S2"]}), {"moderators": ["rater"]})
    assert reasons["gosh_studies"] == "A GOSH plot needs at least three studies; two studies in this family."
    assert "leave_one_out" not in reasons and "bma" not in reasons and "multiverse" not in reasons
    # moderators configured but none could be fitted (one level): no meta-regression, so none to compare either
    assert reasons["model_comparison"] == reasons["meta_regression"]
    reasons = empty_table_reasons(tables, pd.DataFrame({"study_id": ["S1", "S2"]}), {"multiverse": {"minimum_k": 3}})
    assert reasons["multiverse"] == ("Each specification of the multiverse needs at least three studies "
                                     "(multiverse.minimum_k); two studies in this family.")
    assert reasons["model_comparison"] == NO_MODERATORS
    # configured and possible: no reason given (the tables have their own empty-table logic)
    tables.update(psychometric=pd.DataFrame({"method": ["bare_bones", "artifact_distribution"]}))
    reasons = empty_table_reasons(tables, pd.DataFrame({"study_id": ["S1", "S2", "S3"]}),
                                  {"moderators": ["rater"], "continuous_moderators": ["year"],
                                   "location_scale": ["rater"]})
    assert reasons == {}
    assert set(empty_table_reasons({"moderators": empty, "subgroups": empty, "pooled": pd.DataFrame({"k": [3]})},
                                   None, {"moderators": []}).items()) == {("moderators", NO_MODERATORS),
                                                                          ("subgroups", NO_MODERATORS)}



def test_empty_tables_of_moderators_no_row_codes_or_too_few_rows_say_why():
    """A reviewer who has not coded the moderators yet (modality, rater empty in every row), with year too few rows
    for a meta-regression and location_scale: [rater]: the subgroup, meta-regression prediction, model comparison,
    psychometric per-level and location-scale tau^2 tables said a bare "No rows."."""
    from alliance_meta.report.html import empty_table_reasons

    empty = pd.DataFrame()
    moderators = pd.DataFrame({"moderator": ["modality", "rater", "year"], "qm": [float("nan")] * 3,
                               "note": ["no mixed-effects model: modality has no value in any row",
                                        "no mixed-effects model: rater has no value in any row",
                                        "no mixed-effects model: too few rows for its coefficients"]})
    formulas = pd.DataFrame({"model": ["modality + rater"], "term": [None], "note": [
        "not estimable (no row has a value for all of modality, rater)"]})
    location_scale = pd.DataFrame({"model": ["rater"], "estimate": [float("nan")],
                                   "note": ["not fitted: rater has no value in any row"]})
    tables = {"moderators": moderators, "meta_regression": formulas, "subgroups": empty,
              "meta_regression_predictions": empty, "model_comparison": empty, "psychometric_moderators": empty,
              "location_scale": location_scale, "location_scale_tau2": empty}
    config = {"moderators": ["modality", "rater"], "continuous_moderators": ["year"],
              "meta_regression": ["modality + rater"], "location_scale": ["rater"]}
    reasons = empty_table_reasons(tables, None, config)
    subgroups = "No subgroup estimates: modality has no value in any row; rater has no value in any row."
    regression = ("No meta-regression could be fitted: modality has no value in any row; rater has no value in any "
                  "row; year: too few rows for its coefficients; modality + rater: not estimable (no row has a value "
                  "for all of modality, rater).")
    assert reasons == {"subgroups": subgroups, "psychometric_moderators": subgroups,
                       "meta_regression_predictions": regression, "model_comparison": regression,
                       "location_scale_tau2": "No location-scale model could be fitted: rater has no value in any row."}
    # year fitted (the outcome family of that sheet): the categorical moderators still have no subgroups
    year = moderators.assign(qm=[float("nan"), float("nan"), 0.7], note=[*moderators["note"][:2], None])
    reasons = empty_table_reasons({**tables, "moderators": year}, None, config)
    assert reasons["subgroups"] == subgroups and "meta_regression_predictions" not in reasons
    # a categorical moderator with a model, or a fitted location-scale model: the empty tables' reasons are not known
    rater = moderators.assign(qm=[float("nan"), 3.2, float("nan")], note=[moderators["note"][0], None,
                                                                           moderators["note"][2]])
    reasons = empty_table_reasons({**tables, "moderators": rater, "location_scale": location_scale.assign(
        estimate=0.1, note=None)}, None, config)
    assert reasons == {}

def test_methods_name_the_moderator_estimator_and_the_three_level_model_as_run():
    """Moderators are REML whatever the main estimator (it said '(SJ)'); under dependence: multilevel the
    text names the three-level model's estimator and tests (not Knapp-Hartung, which rma.mv lacks), the
    composites the one-per-study analyses use, and the three-level moderator tests."""
    single = methods_paragraph({"pooling": {"main_method": "SJ"}, "moderators": ["rater"]}, {"moderators"}, {})
    assert "Sidik\u2013Jonkman estimator" in single and "(SJ)" not in single
    # REML spelled out at its first use where the main estimator is another (it said "meta-regressions (REML)")
    assert "meta-regressions fitted by restricted maximum likelihood (REML) with omnibus QM" in single
    three = methods_paragraph({"dependence": "multilevel", "multilevel": {"method": "ML"}, "aggregate_rho": 0.6,
                               "moderators": ["rater"]}, {"moderators"}, {})
    assert "three-level model was fitted by maximum likelihood" in three
    assert "cluster-robust (CR2) standard errors" in three and "Knapp\u2013Hartung adjustment" not in three
    assert "used inverse-variance generalised least squares (GLS) composites" in three
    assert "correlation of .60" in three  # APA: no leading zero
    assert "in three-level mixed-effects models with Wald QM and CR2 F tests" in three  # CR2 defined before
    assert "composites within study and moderator level in mixed-effects meta-regressions fitted by restricted " \
           "maximum likelihood (REML)" in three  # the three-level model's maximum likelihood defined no REML


@pytest.mark.parametrize("config", [{"pooling": {"main_method": "REML"}}, {"pooling": {"main_method": "DL"}},
                                    {"dependence": "multilevel"}, {"dependence": "multilevel",
                                                                   "multilevel": {"method": "ML"}}],
                         ids=["REML", "DL", "three-level REML", "three-level ML"])
def test_methods_spell_out_reml_once_before_they_abbreviate_it(config):
    """The Methods wrote "meta-regressions (REML)" with REML defined nowhere when the main estimator was another
    (pooling.main_method: DL), and under dependence: multilevel spelled it out twice: an abbreviation is defined at
    its first use and only there (APA 2020, sec. 6.25), in the words of wording.ESTIMATOR_NAMES."""
    from alliance_meta.wording import ESTIMATOR_NAMES

    text = methods_paragraph({**config, "moderators": ["rater"]}, {"moderators"}, {})
    defined = f"{ESTIMATOR_NAMES['REML']} (REML)"
    assert text.count(defined) == 1 and text.count("(REML)") == 1
    assert text.index("REML") == text.index(defined) + len(defined) - len("REML)")  # its first use


def demo_config() -> dict:
    """The demo's config (config/config.yaml), as the report's Methods read it."""
    import yaml
    from pathlib import Path

    return yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text(encoding="utf-8"))


#: Abbreviations that stand undefined: statistical symbols and abbreviations (APA 2020, sec. 6.44 and Table 6.5: CI,
#: SD, OR; Q_M written QM).
UNDEFINED_ABBREVIATIONS = {"CI", "SD", "SDs", "OR", "QM"}


def methods_variants():
    from alliance_meta.report.methods import STAGE_TABLES

    demo, every = demo_config(), set(STAGE_TABLES)
    no_moderators = {**demo, "moderators": [], "continuous_moderators": [], "meta_regression": [],
                     "location_scale": []}
    return {"demo": (demo, every),
            "three-level": ({**demo, "dependence": "multilevel"}, every),
            "DL": ({**demo, "pooling": {**demo["pooling"], "main_method": "DL"}}, every),
            "no Bayes": (demo, every - {"bayes", "prior_sensitivity", "bma"}),
            "no moderators": (no_moderators, every - {"model_comparison", "location_scale"}),
            "no bias": (demo, every - {"bias", "selection_models", "gosh"}),
            "RoB 2": ({**demo, "risk_of_bias": {"tool": "rob2"}}, every)}


@pytest.mark.parametrize("name", list(methods_variants()))
def test_methods_spell_out_every_abbreviation_at_its_first_use(name):
    """A copy editor's reading of the demo's Methods: AIC, BIC, AICc, GOSH, PET-PEESE, RoBMA-PSMA, GRADE, QUIPS and
    GLS were used without their words, and CR2 was spelled out three times under dependence: multilevel. APA 2020,
    sec. 6.25: spelled out at the first use with the abbreviation in parentheses, abbreviated after; the first use
    moves with the sentences a config switches on and off."""
    config, stages = methods_variants()[name]
    text = methods_paragraph(config, stages, {"alliance-meta": "0.1.0"}, several_per_study=True)
    first = {}
    # a word with two capitals in a row or a capital and a digit (GLS, AICc, CR2, RoBMA), not a name (L\u00f3pez)
    for match in re.finditer(r"(?<![\w-])(?=[\w-]*(?:[A-Z]{2}|[A-Z]\d))[\w-]+", text):
        first.setdefault(match.group(), match.start())
    assert {"REML", "GLS", "AIC" if "model_comparison" in stages else "REML"} <= set(first)
    if "(RoB 2" in text:  # "RoB 2" has no two capitals in a row
        first["RoB 2"] = text.index("RoB 2")
    for abbreviation, start in first.items():
        if abbreviation in UNDEFINED_ABBREVIATIONS:
            continue
        definitions = re.findall(rf"\w \({re.escape(abbreviation)}[;)]", text)  # "words (ABBR)", "words (ABBR; cite)"
        assert text[start - 1] == "(" and len(definitions) == 1, (abbreviation, text[max(start - 80, 0):start + 20])


def test_methods_say_what_the_three_level_model_is_and_its_sampling_error_correlation():
    """A reviewer of a three-level review (dat.assink2016 as a sheet) read only 'a three-level random-effects model
    (effect sizes within studies)': not the variances the Results name (sigma^2 between and within), nor that the
    sampling errors of a study were correlated at aggregate_rho (metafor's vcalc), without which rma.mv(yi, vi)
    refits another model; the sentence's '.50' read as the composites' alone."""
    three = methods_paragraph({"dependence": "multilevel", "aggregate_rho": 0.5}, set(), {})
    assert ("variance of the true effect sizes within studies (\u03c3\u00b2 within, level 2) and between studies "
            "(\u03c3\u00b2 between, level 3)") in three
    assert "sampling errors of one study's effect sizes correlated at .50 (the correlated and hierarchical" in three
    independent = methods_paragraph({"dependence": "multilevel", "aggregate_rho": 0}, set(), {})
    assert "sampling errors of one study's effect sizes independent." in independent


def test_moderator_sentence_gives_the_composite_test_beside_the_three_level_one():
    from alliance_meta.report.text import moderators_sentence

    row = {"moderator": "measure", "qm": 7.07, "qm_df": 6, "qm_p": 0.314, "qm_p_permutation": float("nan"),
           "r2": 12.0}
    aggregated = moderators_sentence(pd.DataFrame([row]))
    assert aggregated.startswith("Moderator tests (mixed-effects meta-regression, REML): measure, QM(6) = 7.07")
    three = moderators_sentence(pd.DataFrame([{**row, "multilevel_qm": 13.54, "multilevel_qm_df": 6,
                                               "multilevel_qm_p": 0.035, "multilevel_cr2_f": 2.1,
                                               "multilevel_cr2_df1": 6, "multilevel_cr2_df2": 14.3,
                                               "multilevel_cr2_p": 0.12}]))
    # under dependence: multilevel the three-level test (it respects the nesting) leads, the composites' beside it
    assert three.startswith("Moderator tests (three-level mixed-effects models): measure, QM(6) = 13.54, p = .035; "
                            "CR2 F(6, 14.30) = 2.10, p = .120 [composites within study and level: QM(6) = 7.07, "
                            "p = .314]")
    # one study with many effect sizes beside single ones: CR2 F(2, 0.3) is no test to read (Tipton, 2015)
    few = moderators_sentence(pd.DataFrame([{**row, "multilevel_qm": 13.54, "multilevel_qm_df": 2,
                                             "multilevel_qm_p": 0.001, "multilevel_cr2_f": 9.1,
                                             "multilevel_cr2_df1": 2, "multilevel_cr2_df2": 0.3,
                                             "multilevel_cr2_p": 0.4}]))
    assert ("CR2 F(2, 0.30) = 9.10, p = .400 (denominator df below 4: the robust test is not to be trusted; "
            "Tipton, 2015)") in few
    assert "below 4" not in three


def test_every_figure_of_a_family_has_a_caption_that_names_it_once():
    """Figures without an entry of their own were captioned from their file name twice over: "Bayes forest:
    forest", "Bayes prior sensitivity: prior sensitivity", "Psychometric forest: forest", "Gosh"."""
    from alliance_meta.report.html import plot_title

    assert plot_title("results/outcome/forest_rater.png") == "Forest plot: rater"
    assert plot_title("subgroups_modality.png") == "Subgroup forest plot: modality"
    assert plot_title("bayes_forest.png") == "Bayesian model: observed and shrunken study estimates"
    assert plot_title("bayes_prior_sensitivity.png") == "Bayesian model: prior sensitivity"
    assert plot_title("psychometric_forest.png") == "Psychometric meta-analysis: corrected correlations"
    assert plot_title("gosh.png") == "GOSH plot"
    assert plot_title("some_new_plot.png") == "Some new plot"


def test_the_stages_of_the_methods_are_read_from_the_tables_the_run_made():
    """workflow/scripts/report.py derives the stages it describes from the families' results tables."""
    from conftest import stage_tables

    from alliance_meta.report.methods import stages_run

    assert stages_run(stage_tables("pooled", "moderators", "rob_sensitivity", "gosh_studies")) == {
        "moderators", "risk_of_bias", "gosh"}
    assert stages_run(stage_tables("pooled", "gosh", "rob_summary")) == set()  # gosh.csv is not GOSH's study table
    assert stages_run(stage_tables("bias", "bayes", "selection_models", "bma", "multiverse")) == {
        "bias", "bayes", "selection_models", "bma", "multiverse"}


def test_the_moderator_level_counts_leave_out_a_family_the_config_does_not_analyse(tmp_path):
    """families: [outcome] listed the dropout rows in "Studies and effect sizes per moderator level"."""
    effect_sizes = pd.concat([effect_sizes_frame(), effect_sizes_frame().assign(family="dropout", study_id="D1",
                                                                                 modality="humanistic")])
    analysis = effect_sizes[effect_sizes["family"] == "outcome"].groupby("study_id", as_index=False).first()
    pooled = pool_all(analysis.yi, analysis.vi, ["REML"], ["z"], metric="z")
    config = {"moderators": ["modality"], "pooling": {"main_method": "REML", "tests": ["z"], "level": 95}}
    provenance = {"sheet": "data/raw/studies.csv", "sheet_sha256": "ab" * 32, "run_date": "2026-01-01 00:00 UTC",
                  "versions": {"alliance-meta": "0.1.0"}, "config_yaml": "sheet: x\n"}
    html = render_report(sheet=effect_sizes, effect_sizes=effect_sizes, config=config, provenance=provenance,
                         families={"outcome": {"metric": "z", "tables": {"pooled": pooled}, "analysis": analysis,
                                               "images": []}}, methods="")
    levels = html[html.index("Studies and effect sizes per moderator level"):]
    assert "CBT" in levels and "humanistic" not in levels and "dropout" not in levels


def test_three_level_model_of_one_effect_size_per_study_does_not_split_the_variance():
    # every study has one effect size: pooled.csv's note says sigma2_between and sigma2_within are not separately
    # identified; the Results gave 'sigma2 between studies = 0.002 and within studies = 0.001' all the same
    from alliance_meta.report.text import pooled_sentence

    row = pd.Series({"estimate": 0.28, "ci_lower": 0.23, "ci_upper": 0.34, "pi_lower": 0.16, "pi_upper": 0.40,
                     "k": 10, "n_studies": 10, "tau2": 0.0029, "sigma2_between": 0.0016,
                     "sigma2_within": 0.0013, "i2": 34.6, "q": 13.5, "q_df": 9, "q_p": 0.14})
    sentence = pooled_sentence("outcome", "z", row, {"effect_sizes": 10, "n": 1838})
    assert "between studies =" not in sentence and "within studies =" not in sentence
    assert "not separately identified (their sum \u03c4\u00b2 = 0.003, Fisher's z)" in sentence
    assert "k = 10 studies (10 effect sizes)" in sentence


def test_a_knapp_hartung_refit_of_one_study_has_a_wald_interval():
    """models.univariate.refit_test, which the leave-one-out and cumulative notes and the cumulative plot's axis use:
    metafor's rma switches a Knapp-Hartung fit of one study to z (no residual df); other tests and k stay."""
    from alliance_meta.models.univariate import refit_test

    assert [refit_test("knha", 1), refit_test("adhoc", 1), refit_test("knha", 2), refit_test("adhoc", 5)] == [
        "z", "z", "knha", "adhoc"]
    assert [refit_test("z", 1), refit_test("t", 1), refit_test("cr2", 1)] == ["z", "t", "cr2"]


def test_leave_one_out_and_cumulative_tables_name_the_test_of_their_refits():
    """Their CSVs have no test column: under pooling.tests: [knha] the report's tables showed Knapp-Hartung refits
    (the headline's test) without a word, and under the default [z, knha] Wald ones."""
    from alliance_meta.report.html import family_section

    frame = pd.DataFrame({"study_id": ["S1", "S2", "S3"], "estimate": [0.3, 0.31, 0.29], "ci_lower": [0.2, 0.21, 0.19],
                          "ci_upper": [0.4, 0.41, 0.39]})
    tables = {"leave_one_out": frame, "cumulative": frame.assign(k=[1, 2, 3])}

    def notes(config):
        section = family_section("outcome", "z", tables, None, [], {}, config)
        return {table.name: table.note for table in section.tables}

    default = notes({})
    assert "95% CIs: Wald, the test of the headline estimate." in default["leave_one_out"]
    knha = notes({"pooling": {"tests": ["knha", "z"]}})
    assert "95% CIs: Knapp\u2013Hartung, the test of the headline estimate; a fit of one study has a Wald CI" \
        in knha["leave_one_out"] and "Knapp\u2013Hartung" in knha["cumulative"]
    assert "ad hoc variant" in notes({"pooling": {"tests": ["knha"], "knha_adhoc": True}})["cumulative"]
    three = notes({"dependence": "multilevel", "pooling": {"tests": ["knha"]}})
    assert "95% CIs: t with k \u2212 1 df" in three["leave_one_out"] and "one study" not in three["leave_one_out"]
    # the first test is the headline's under multilevel too (was Wald whenever z was listed)
    assert "95% CIs: t with k \u2212 1 df" in notes({"dependence": "multilevel",
                                                    "pooling": {"tests": ["knha", "z"]}})["cumulative"]
    assert "95% CIs: Wald," in notes({"dependence": "multilevel", "pooling": {"tests": ["z", "knha"]}})["cumulative"]
    # one study: no leave-one-out rows (metafor's leave1out stops at k = 1), so nothing to say of their CIs
    empty = family_section("outcome", "z", {"leave_one_out": frame.iloc[:0]}, None, [], {}, {"pooling": {"tests": ["knha"]}})
    assert "refitted" not in " ".join(table.note for table in empty.tables)
