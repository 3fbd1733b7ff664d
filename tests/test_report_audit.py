"""Regressions found by the audit on real published data (metadat): the report's and manuscript tables'
formatting and wording."""

import math

import numpy as np
import pandas as pd
import pytest

from alliance_meta.report.tables import manuscript_table, to_latex


def _bayes_frame():
    nan = math.nan
    return pd.DataFrame({
        "parameter": ["mu", "or_new", "bf_mu", "bf_tau"],
        "mean": [0.712, 2.519, nan, nan], "sd": [0.188, 2.621, nan, nan],
        "hdi_lower": [0.357, 0.239, nan, nan], "hdi_upper": [1.099, 5.908, nan, nan],
        "r_hat": [1.0, 1.0, nan, nan], "ess_bulk": [988.0, 6902.0, nan, nan], "ess_tail": [1737.0, 5153.0, nan, nan],
        "exact_mean": [0.716, 2.516, 40.0213, 2.2485e27], "exact_sd": [0.188, np.inf, nan, nan]})


def test_bayes_table_shows_the_exact_bayes_factors_and_an_infinite_sd():
    table = manuscript_table("bayes", _bayes_frame(), "log_or")
    rows = {row[0]: row for row in table.rows}
    assert rows["BF\u2081\u2080 (\u03bc \u2260 0)"][1] == "40.02"
    assert rows["BF\u2081\u2080 (\u03c4 > 0)"][1] == "2.25 \u00d7 10\u00b2\u2077"
    assert rows["OR (new study)"][2] == "\u221e" and rows["\u03bc"][2] == "0.188"
    assert "Bayes factor" in table.note and "infinite" in table.note
    assert "\\infty" in to_latex(table) and "\\times" in to_latex(table)


def test_bias_table_prints_counts_whole_and_readable_test_names():
    nan = math.nan
    frame = pd.DataFrame({"test": ["trim_and_fill", "fail_safe_n", "fail_safe_n_orwin", "egger", "tes", "svalue"],
                          "statistic": [2.0, 316.0, 13.0, 0.774, nan, np.inf], "p": [nan, 1e-30, nan, 0.44, 0.605, nan],
                          "estimate": [0.2, nan, 0.77, 0.54, nan, 0.13], "k_imputed": [2.0, nan, nan, nan, nan, nan]})
    rows = {row[0]: row for row in manuscript_table("bias", frame, "z").rows}
    assert rows["Trim and fill"][1] == "2" and rows["Trim and fill"][4] == "2"
    assert rows["Rosenthal's fail-safe N"][1] == "316" and rows["Orwin's fail-safe N"][1] == "13"
    assert rows["Egger's regression test"][1] == "0.77"
    assert "Test of excess significance" in rows and rows["S-value"][1] == "\u221e"


def test_bias_names_in_prose_come_from_the_same_mapping():
    from alliance_meta.report.tables import BIAS_TEST_NAMES, bias_test_name
    from alliance_meta.report.text import bias_sentence

    assert bias_test_name("rank", prose=True) == "the rank correlation test"
    assert bias_test_name("trim_and_fill", prose=True) == "trim and fill"
    assert bias_test_name("svalue", prose=True) == "S-value" == BIAS_TEST_NAMES["svalue"]
    assert bias_test_name("egger_multilevel", prose=True) == "three-level Egger's test (CR2)"
    from alliance_meta.analyses.bias.results import TEST_ORDER

    assert set(TEST_ORDER) | {"egger_multilevel"} <= set(BIAS_TEST_NAMES)  # every row of bias.csv has a name
    frame = pd.DataFrame({"test": ["egger", "rank"], "statistic": [1.2, math.nan], "p": [0.2, math.nan],
                          "estimate": [math.nan] * 2, "k_imputed": [math.nan] * 2,
                          "note": ["", "not estimable: k = 2 studies, the test needs at least 3"]})
    assert "The rank correlation test could not be run" in bias_sentence(frame, "z")


def test_a_centre_has_no_thousands_separator_and_negative_integers_a_minus_sign():
    from alliance_meta.report.formatting import apa_integer, format_cell, readable_frame

    assert format_cell("centre", 2004.8125) == "2004.81" and format_cell("centre", 50.1651) == "50.17"
    assert apa_integer(-5180125) == "\u22125,180,125" and format_cell("aicc", -5180125.4) == "\u22125,180,125"
    frame = readable_frame(pd.DataFrame({"position": [-1, 2], "centre": [1966.23, np.nan]}))
    assert list(frame["position"]) == ["\u22121", "2"] and frame["centre"][0] == "1966.23"


def _pooled_row(method, test="z", estimate=0.47, pi=(0.39, 0.55), tau2=0.0):
    return {"method": method, "test": test, "k": 13, "estimate": estimate, "ci_lower": 0.39, "ci_upper": 0.55,
            "pi_lower": pi[0], "pi_upper": pi[1], "tau2": tau2, "i2": 92.7, "q": 163.9, "q_df": 12, "q_p": 1e-20,
            "note": "", "sigma2_between": math.nan, "n_studies": 13}


def test_mh_and_peto_rows_have_no_prediction_interval_and_the_methods_name_them():
    from alliance_meta.report.methods import methods_paragraph
    from alliance_meta.report.text import pooled_sentence

    frame = pd.DataFrame([_pooled_row("common"), _pooled_row("REML", estimate=0.75, pi=(-0.45, 1.94), tau2=0.34),
                          _pooled_row("MH"), _pooled_row("Peto"),
                          _pooled_row("GLMM", estimate=0.75, pi=(-0.37, 1.86), tau2=0.29)])
    table = manuscript_table("pooled", frame, "log_or")
    rows = {row[0]: row for row in table.rows}
    assert rows["MH"][4] == rows["Peto"][4] == rows["common"][4] == "" and rows["GLMM"][4] and rows["REML"][4]
    assert "none for the common-effect models: common, MH, Peto" in table.note and "Mantel" in table.note
    assert "prediction interval" not in pooled_sentence("dropout", "log_or", frame.iloc[2], {"n": 100})
    config = {"pooling": {"main_method": "REML", "tests": ["z"]}}
    text = methods_paragraph(config, set(), {}, ["dropout"], pooled_methods=set(frame["method"]))
    for reference in ("Mantel & Haenszel, 1959", "Yusuf et al., 1985", "Stijnen, Hamza & \u00d6zdemir, 2010"):
        assert reference in text
    assert "Mantel" not in methods_paragraph(config, set(), {}, ["dropout"], pooled_methods={"REML", "common"})


def test_methods_describe_composites_only_when_a_study_has_several_effect_sizes():
    from alliance_meta.report.methods import methods_paragraph

    config = {"pooling": {"main_method": "REML", "tests": ["z"]}, "dependence": "aggregate"}
    one = methods_paragraph(config, set(), {}, ["outcome"], several_per_study=False)
    assert "Each study contributed one effect size." in one and "composite" not in one
    several = methods_paragraph(config, set(), {}, ["outcome"], several_per_study=True)
    assert "Dependent effect sizes within a study were combined into one" in several
    assert "composite" in methods_paragraph(config, set(), {}, ["outcome"])  # not known: described


def test_notes_of_composites_and_rve_s_correlation_only_when_a_study_has_several_effect_sizes():
    """With one effect size per study, the pooled and subgroup tables' notes said k counted studies "each one
    composite of its effect sizes", and the Methods' robust variance estimation assumed a correlation "between the
    effect sizes of a study" of the study composites: none was combined, none correlated. The demo keeps them."""
    from pathlib import Path

    import alliance_meta as am
    from alliance_meta.report.methods import methods_paragraph, run_facts
    from alliance_meta.report.settings import TableSettings
    from alliance_meta.report.summary import several_per_study

    demo = am.effect_sizes(am.read_sheet(Path(__file__).resolve().parents[1] / "data" / "raw" / "studies.csv"))
    one_each = demo.drop_duplicates(["family", "study_id"])  # the demo's first effect size of each study
    pooled = pd.DataFrame([_pooled_row("REML")])
    subgroups = pd.DataFrame({"moderator": ["rater"], "level": ["patient"], "k": [5], "estimate": [0.3],
                              "se": [0.05], "ci_lower": [0.2], "ci_upper": [0.4], "tau2": [0.01]})
    moderators = pd.DataFrame({"moderator": ["rater"], "k": [5], "qm": [1.2], "qm_df": [2], "qm_p": [0.5], "f": [0.6],
                               "f_df1": [2], "f_df2": [3], "f_p": [0.6], "tau2": [0.01], "r2": [10.0]})
    families = {"outcome": {"tables": {}}, "dropout": {"tables": {}}}
    for rows, several in ((demo, True), (one_each, False)):
        assert several_per_study(rows, ["outcome"]) is several
        settings = TableSettings(several_per_study=several)
        for name, frame in (("pooled", pooled), ("subgroups", subgroups)):
            assert ("one composite of its effect sizes" in manuscript_table(name, frame, "z", 95, settings).note) \
                is several
        assert ("one composite at each" in manuscript_table("moderators", moderators, "z", 95, settings).note) \
            is several
        methods = methods_paragraph({}, {"rve"}, {}, list(families), **run_facts(families, rows))
        assert ("assumed between the effect sizes of a study" in methods) is several
        assert ("composite" in methods) is several
    assert "k = studies pooled (one effect size each); " in manuscript_table("pooled", pooled, "z", 95, settings).note
    assert ("k = studies at the level, one effect size each. "
            in manuscript_table("subgroups", subgroups, "z", 95, settings).note)
    assert "the random-effects model of the effect sizes was refitted with cluster-robust" in methods


def _png(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(2, 1))
    axis.plot([0, 1], [0, 1])
    figure.savefig(path, dpi=40)
    plt.close(figure)
    return path


def test_placeholder_plots_are_shown_as_their_sentence_not_as_an_image(tmp_path):
    from alliance_meta.report.html import NO_CORRECTED_CORRELATIONS, NO_THREE_LEVEL_BAUJAT, family_section, render_report

    paths = [_png(tmp_path / f"{name}.png") for name in ("funnel", "baujat", "psychometric_forest")]
    from alliance_meta.analyses.psychometric import TABLE_COLUMNS

    bare = pd.DataFrame([{**{column: 0.1 for column in TABLE_COLUMNS}, "method": "bare_bones", "k": 16, "n": 3509,
                          "note": ""}])
    influence = pd.DataFrame({"study_id": ["a", "b"], "rstudent": [0.1, -0.2]})
    tables = {"psychometric": bare, "influence": influence}
    section = family_section("outcome", "z", tables, None, paths, {}, {"dependence": "multilevel"})
    figures = {figure.title: figure for figure in section.figures}
    assert figures["Baujat plot"].text == NO_THREE_LEVEL_BAUJAT and not figures["Baujat plot"].data_uri
    assert figures["Psychometric meta-analysis: corrected correlations"].text == NO_CORRECTED_CORRELATIONS
    assert figures["Funnel plot"].data_uri and not figures["Funnel plot"].text
    # with corrected correlations and one level, both are plots
    corrected = pd.concat([bare, bare.assign(method="individual")], ignore_index=True)
    section = family_section("outcome", "z", {"psychometric": corrected, "influence": influence}, None, paths, {},
                             {"dependence": "aggregate"})
    assert all(figure.data_uri and not figure.text for figure in section.figures)
    # one study: influence.csv has no rows, the Baujat and influence plots are messages
    one = family_section("outcome", "z", {"influence": influence.iloc[:0], "leave_one_out": influence.iloc[:0]},
                         pd.DataFrame({"study_id": ["a"]}), [_png(tmp_path / "influence.png"), paths[1]], {}, {})
    # one wording beside the tables' ("at least two studies; one study in this family"), not "at least 2 studies"
    reason = "Leave-one-out and influence diagnostics need at least two studies; one study in this family."
    assert [figure.text for figure in one.figures] == [reason, reason]
    assert [table.empty for table in one.tables if table.name in ("influence", "leave_one_out")] == [reason, reason]
    html = render_report(sheet=pd.DataFrame({"study_id": ["a"]}), effect_sizes=pd.DataFrame(
        {"study_id": ["a"], "family": ["outcome"], "n": [10]}), families={"outcome": {
            "metric": "z", "tables": {"influence": influence}, "images": paths}}, config={"dependence": "multilevel"},
        methods="",
        provenance={"sheet": "s", "sheet_sha256": "0", "run_date": "d", "versions": {"alliance-meta": "0"},
                    "config_yaml": ""})
    assert NO_THREE_LEVEL_BAUJAT.replace("'", "&#39;") in html and html.count("<img") == 2  # funnel, psychometric


def _craft_moderators():
    """moderators.csv of dat.craft2003 under dependence: multilevel (subscale: the composites' QM p = .056, the
    three-level model's p = .037)."""
    return pd.DataFrame([
        {"moderator": "subscale", "k": 29, "qm": 5.778, "qm_df": 2, "qm_p": 0.0556, "f": 2.958, "f_df1": 2,
         "f_df2": 26, "f_p": 0.0696, "tau2": 0.098, "r2": 16.6, "qm_p_permutation": 0.076, "multilevel_k": 29,
         "multilevel_n_studies": 10, "multilevel_qm": 6.575, "multilevel_qm_df": 2, "multilevel_qm_p": 0.0373,
         "multilevel_r2": 18.85, "multilevel_sigma2_between": 0.0, "multilevel_sigma2_within": 0.0963,
         "multilevel_cr2_f": 2.11, "multilevel_cr2_df1": 2, "multilevel_cr2_df2": 7.6, "multilevel_cr2_p": 0.1867}])


def test_under_multilevel_the_three_level_moderator_test_is_the_headline():
    from alliance_meta.report.methods import methods_paragraph
    from alliance_meta.report.text import moderators_sentence

    frame = _craft_moderators()
    text = moderators_sentence(frame)
    assert text.startswith("Moderator tests (three-level mixed-effects models): subscale, QM(2) = 6.58, p = .037")
    assert text.index("p = .037") < text.index("p = .056")  # the composites' test follows, in brackets
    assert "[composites within study and level, k = 29: QM(2) = 5.78, p = .056" in text
    table = manuscript_table("moderators", frame, "z")
    assert table.header[:5] == ["Moderator", "k", "Studies", "QM (df)", "p"]
    assert table.rows[0][:7] == ["subscale", "29", "10", "6.58 (2)", ".037", "2.11 (2, 7.60)", ".187"]
    assert table.rows[0][-3:] == ["5.78 (2)", ".056", ".076"] and "Three-level" in table.note
    config = {"dependence": "multilevel", "moderators": ["subscale"], "pooling": {"tests": ["z"]}}
    methods = methods_paragraph(config, {"moderators"}, {})
    assert "moderator subgroups and univariate meta-regressions used such composites within each study and " \
           "moderator level" in methods
    assert "take one effect size per study (moderator" not in methods
    assert methods.index("three-level mixed-effects models with Wald QM") < methods.index("Knapp\u2013Hartung F")
    # one level: the univariate test as before
    single = moderators_sentence(frame[["moderator", "k", "qm", "qm_df", "qm_p", "r2"]])
    assert single.startswith("Moderator tests (mixed-effects meta-regression, REML): subscale, QM(2) = 5.78")


def test_numbers_beyond_a_doubles_precision_are_shown_in_scientific_notation():
    from alliance_meta.report.formatting import format_cell

    assert format_cell("exact_mean", 2.2485240550687876e27) == "2.25 \u00d7 10\u00b2\u2077"
    assert format_cell("exact_mean", -3.3e26) == "\u22123.30 \u00d7 10\u00b2\u2076"
    assert format_cell("loglik", -5180125.0) == "\u22125,180,125"  # still whole below 10^15


def test_run_facts_read_the_pooled_methods_and_whether_any_study_has_several_effect_sizes():
    import pandas as pd

    from alliance_meta.report.methods import run_facts

    families = {"dropout": {"tables": {"pooled": pd.DataFrame({"method": ["REML", "MH", "Peto"]})}}}
    one_each = pd.DataFrame({"family": ["dropout", "dropout"], "study_id": ["A", "B"], "yi": [0.1, 0.2]})
    facts = run_facts(families, one_each)
    assert facts == {"pooled_methods": {"REML", "MH", "Peto"}, "several_per_study": False, "input_kinds": {},
                     "ux_coded": False, "fitted_scales": set(),  # no location_scale.csv: no scale model fitted
                     "samplers": {"dropout": ""}, "gosh_studies": {}}  # no bayes_sampler.json, no gosh_studies.csv
    assert run_facts(families, one_each.assign(study_id=["A", "A"]))["several_per_study"] is True


def test_latex_tables_of_a_three_level_fit_and_of_grade_are_plain_ascii():
    """The three-level moderator table's σ² header and the summary of findings' "width 0.05 ≤ 0.2, N ≥ 400" (and an
    odds ratio's "log OR × √3/π") went into the .tex files as raw Unicode, which pdflatex stops on."""
    from alliance_meta.report.grade import summary_of_findings

    nan = math.nan
    moderators = pd.DataFrame([{"moderator": "rater", "k": 12, "n_studies": 5, "multilevel_qm": 3.1,
                                "multilevel_qm_df": 2, "multilevel_qm_p": 0.2, "multilevel_cr2_f": 1.2,
                                "multilevel_cr2_df1": 2, "multilevel_cr2_df2": 3.5, "multilevel_cr2_p": 0.4,
                                "sigma2_between": 0.01, "sigma2_within": 0.02, "multilevel_r2": 5.0, "qm": nan,
                                "qm_df": nan, "qm_p": nan}])
    analysis = pd.DataFrame({"study_id": [f"s{i}" for i in range(12)], "vi": [0.01] * 12, "n": [100] * 12})
    row = dict(method="REML", test="z", k=12, estimate=1.0, ci_lower=0.8, ci_upper=1.2, pi_lower=0.5, pi_upper=1.5,
               tau2=0.0, i2=40.0)
    grade = summary_of_findings("dropout", "log_or", row, analysis, analysis[["study_id"]], None, None,
                                {"imprecision_width": {"dropout": 0.5}})
    for table in (manuscript_table("moderators", moderators, "z"), manuscript_table("summary_of_findings", grade,
                                                                                     "log_or")):
        latex = to_latex(table)
        assert latex.isascii(), sorted({c for c in latex if not c.isascii()})
    # the table, as the Results, says that a CR2 F on 3.5 df is not to be trusted (Tipton, 2015)
    assert manuscript_table("moderators", moderators, "z").note.endswith(
        "CR2 F with df2 below 4 (rater): the robust test is not to be trusted (Tipton, 2015).")
    assert "below 4" not in manuscript_table("moderators", moderators.assign(multilevel_cr2_df2=7.6), "z").note


@pytest.mark.parametrize("several", [True, False])
def test_the_word_tables_job_and_the_report_speak_of_composites_only_where_a_study_has_several(tmp_path, several):
    """The jobs know the effect sizes: the pooled table's note of a family whose studies have one effect size each
    (in Markdown, LaTeX, Word and the HTML report alike) does not call k 'one composite of its effect sizes'."""
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    from alliance_meta.io import write_table
    from alliance_meta.report.html import render_report
    from alliance_meta.report.settings import TableSettings
    from alliance_meta.report.word import read_docx_tables

    root = Path(__file__).resolve().parents[1]
    folder = tmp_path / "results" / "outcome"
    (folder / "tables").mkdir(parents=True)
    pooled = pd.DataFrame([_pooled_row("REML")])
    write_table(pooled, folder / "pooled.csv")
    rows = pd.DataFrame({"family": "outcome", "study_id": ["A", "A" if several else "B", "C"], "yi": [0.1, 0.2, 0.3],
                         "vi": 0.02, "simulated": "no"})
    write_table(rows, tmp_path / "effect_sizes.csv")
    (tmp_path / "sheet_notes.txt").write_text("", encoding="utf-8")
    snakemake = SimpleNamespace(
        input=SimpleNamespace(tables=[str(folder / "pooled.csv")], effect_sizes=str(tmp_path / "effect_sizes.csv"),
                              sheet_notes=str(tmp_path / "sheet_notes.txt")),
        output=SimpleNamespace(docx=str(tmp_path / "tables.docx"),
                               tables=[str(folder / "tables" / f"pooled.{ext}") for ext in ("md", "tex", "docx")]),
        params=SimpleNamespace(metrics={"outcome": "z"}, level=95, settings=TableSettings().as_params()),
        log=[str(tmp_path / "word_tables.log")])
    runpy.run_path(str(root / "workflow" / "scripts" / "word_tables.py"), init_globals={"snakemake": snakemake})
    [word] = read_docx_tables(tmp_path / "tables.docx")
    markdown = (folder / "tables" / "pooled.md").read_text(encoding="utf-8")
    provenance = {"sheet": "studies.csv", "sheet_sha256": "ab" * 32, "run_date": "2026-01-01 00:00 UTC",
                  "versions": {"alliance-meta": "0.1.0"}, "config_yaml": "sheet: x\n"}
    html = render_report(sheet=rows, effect_sizes=rows, config={}, provenance=provenance, methods="",
                         families={"outcome": {"metric": "z", "tables": {"pooled": pooled}, "images": []}})
    for text in (word["note"], markdown, html):
        assert ("one composite of its effect sizes" in text) is several
        assert "= studies pooled" in text  # the report sets k in italics


def test_plots_of_analyses_not_run_are_their_sentence_not_an_image_of_it(tmp_path):
    """one_study and two_studies: the GOSH, model-averaging, multiverse and weight-function plots were images of a
    sentence ("1 study: too few for a GOSH plot"), shown as figures beside the tables that said why in text. The
    selection models' estimates are a plot even when no model was fitted (the unadjusted estimate, each model's
    reason): two_studies showed it as "No selection model could be fitted"."""
    from alliance_meta.analyses.multiverse import unplotted_reason
    from alliance_meta.report.html import NO_SELECTION_MODEL, family_section

    paths = [_png(tmp_path / f"{name}.png")
             for name in ("funnel", "gosh", "bma", "multiverse", "selection_models", "weight_functions")]
    empty = pd.DataFrame()
    columns = ("steps", "estimate", "se", "ci_lower", "ci_upper", "pval", "tau2", "delta", "loglik", "lrt", "lrt_p")
    unfitted = pd.DataFrame({"type": ["beta", "halfnorm"], **{column: [np.nan] * 2 for column in columns},
                             "converged": [False] * 2, "note": ["not computed: k = 1 is too small"] * 2})
    tables = {"gosh_studies": empty, "bma": empty, "multiverse": empty, "selection_models": unfitted}
    section = family_section("outcome", "z", tables, pd.DataFrame({"study_id": ["S01"]}), paths, {}, {})
    figures = {figure.title: figure for figure in section.figures}
    assert figures["GOSH plot"].text == "A GOSH plot needs at least three studies; one study in this family."
    assert figures["GOSH plot"].data_uri == ""
    assert figures["Selection models: fitted weight functions"].text == NO_SELECTION_MODEL
    assert figures["Selection models: adjusted estimates"].data_uri and not figures[
        "Selection models: adjusted estimates"].text
    assert [title for title, figure in figures.items() if figure.data_uri] == [
        "Funnel plot", "Selection models: adjusted estimates"]
    assert all(figure.text.endswith(".") for figure in section.figures if figure.text)
    # enough studies and a fitted model: every one is a plot
    # a weight function read back from selection_models.csv as a number (one parameter): a panel, so a plot
    fitted = unfitted.assign(estimate=[0.2, np.nan], delta=[0.83, np.nan])
    many = pd.DataFrame({"study_id": [f"S{i}" for i in range(5)]})
    filled = {"gosh_studies": pd.DataFrame({"study_id": ["S0"]}), "bma": pd.DataFrame({"effect": [1]}),
              "multiverse": pd.DataFrame({"k": [5], "estimate": [0.2]}), "selection_models": fitted}
    section = family_section("outcome", "z", filled, many, paths, {}, {})
    assert all(figure.data_uri and not figure.text for figure in section.figures)
    # specifications none of which could be fitted: the specification curve is its message, as the plot's own rule
    unfitted_multiverse = {**filled, "multiverse": pd.DataFrame({"k": [5], "estimate": [np.nan]})}
    section = family_section("outcome", "z", unfitted_multiverse, many, paths, {}, {})
    figures = {figure.title: figure for figure in section.figures}
    assert figures["Multiverse: specification curve"].text == f"{unplotted_reason(unfitted_multiverse['multiverse'])}."
    assert [title for title, figure in figures.items() if figure.text] == ["Multiverse: specification curve"]


def test_the_report_reads_the_weight_function_figure_s_own_rule(tmp_path):
    """The report gives the weight functions as a sentence exactly where weight_functions_plot draws only a message
    (no model with a fitted weight function), by one rule: two_studies' seven "not fitted" rows."""
    import matplotlib.pyplot as plt

    from alliance_meta.analyses.bias.results import no_weight_function
    from alliance_meta.plots.selection import weight_functions_plot

    columns = ("steps", "estimate", "se", "ci_lower", "ci_upper", "pval", "tau2", "loglik", "lrt", "lrt_p")
    unfitted = pd.DataFrame({"type": ["beta", "stepfun"], **{column: [np.nan] * 2 for column in columns},
                             "delta": [np.nan, ""], "converged": [False] * 2,
                             "note": ["not computed: k = 2 is too small"] * 2})
    fitted = unfitted.assign(estimate=[0.2, np.nan], delta=["0.5;1.2", ""], steps=[np.nan, "0.025;1"])
    assert no_weight_function(unfitted) and not no_weight_function(fitted)
    for table in (unfitted, fitted):  # a message figure has no axes drawn
        figure = weight_functions_plot(table)
        assert any(axis.axison for axis in figure.axes) is not no_weight_function(table)
        plt.close(figure)


def test_leave_one_out_of_two_has_no_heterogeneity_p():
    """two_studies: each leave-one-out refit is one study, whose Q has 0 df, but the table gave its p (metafor's QEp
    of 1 in leave_one_out.csv) as "> .999" while the cumulative table's row of one study had a dash."""
    from alliance_meta.report.html import family_section

    loo = pd.DataFrame({"study_id": ["S01", "S02"], "estimate": [0.22, 0.24], "se": [0.09, 0.08],
                        "ci_lower": [0.05, 0.10], "ci_upper": [0.40, 0.39], "tau2": [0.0, 0.0], "i2": [0.0, 0.0],
                        "h2": [1.0, 1.0], "q": [0.0, 0.0], "q_p": [1.0, 1.0], "statistic": [2.5, 3.3],
                        "p": [0.014, 0.001]})

    def q_p_cells(analysis):
        section = family_section("outcome", "z", {"leave_one_out": loo}, analysis, [], {}, {})
        table = next(table for table in section.tables if table.name == "leave_one_out")
        return [row[table.columns.index("q_p")] for row in table.rows]

    assert q_p_cells(pd.DataFrame({"study_id": ["S01", "S02"]})) == ["\u2013", "\u2013"]
    # three-level: without S01, S02's two effect sizes are left (Q on 1 df); without S02, one
    assert q_p_cells(pd.DataFrame({"study_id": ["S01", "S02", "S02"]})) == ["> .999", "\u2013"]
    assert q_p_cells(pd.DataFrame({"study_id": ["S01", "S02", "S03"]})) == ["> .999", "> .999"]


def test_infinite_moments_of_the_prior_sensitivity_table_are_explained():
    """one_study: the prior-sensitivity table showed \u221e for the SD of \u03c4 under the half-Cauchy prior (one
    study: the posterior's tail falls as \u03c4^-3, so its variance is infinite) with no note saying what it is; the
    posterior summaries' table had one."""
    from alliance_meta.report.html import family_section

    sensitivity = pd.DataFrame({"prior": ["main: half_normal(0.5)", "half_cauchy(0.1)"], "k": [1, 1],
                                "mu_mean": [0.28, 0.31], "tau_mean": [0.37, 0.21], "tau_sd": [0.28, np.inf],
                                "tau_hdi_lower": [0.0, 0.0], "tau_hdi_upper": [0.92, 0.71]})

    def table(frame):
        section = family_section("outcome", "z", {"bayes_prior_sensitivity": frame}, None, [], {}, {})
        return next(table for table in section.tables if table.name == "bayes_prior_sensitivity")

    shown = table(sensitivity)
    assert shown.rows[1][shown.columns.index("tau_sd")] == "\u221e"
    assert shown.note.startswith("\u221e (tau_sd under half_cauchy(0.1)): a moment of \u03c4 that does not exist "
                                 "under a heavy-tailed prior")
    assert table(sensitivity.assign(tau_sd=[0.28, 0.3])).note == ""  # finite: no note, as before
    # the demo's dropout family: the SD of a new study's odds ratio under the half-normal(0.5) prior is infinite
    # because exp of a normal mixture over tau has moments growing like exp(c tau^2), not because of a slowly
    # falling tail of the posterior of tau; said of the odds ratio, and each cause of its own columns
    odds = sensitivity.assign(k=[30, 30], tau_sd=[0.05, 0.06], or_new_sd=[np.inf, 0.9], or_mean=[1.2, 1.3])
    note = table(odds).note
    assert note.startswith("\u221e (or_new_sd under main: half_normal(0.5)): the odds ratio is exp of a normal "
                           "mixture over \u03c4"), note
    assert "heavy-tailed" not in note and "falls too slowly" not in note and "half_cauchy" not in note
    both = table(odds.assign(tau_sd=[0.05, np.inf])).note
    assert "\u221e (or_new_sd under main: half_normal(0.5)): the odds ratio" in both
    assert "\u221e (tau_sd under half_cauchy(0.1)): a moment of \u03c4" in both
    assert "(or_new_sd; tau_sd under every prior)" not in both
    assert "(or_new_sd under every prior)" in table(odds.assign(or_new_sd=[np.inf] * 2)).note


def test_plots_of_a_moderator_without_values_are_its_sentence(tmp_path):
    """single_level_moderator: country, empty in every row, had a forest plot and a subgroup plot that were images
    of "No effect sizes with a value of Country."; setting, one level, keeps its plots."""
    from alliance_meta.report.html import family_section

    empty = ("qm", "qm_df", "qm_p", "f", "f_df1", "f_df2", "f_p", "tau2", "r2", "qe", "qe_p")
    moderators = pd.DataFrame({"moderator": ["setting", "country"], "k": [9, 0], **{c: [np.nan] * 2 for c in empty},
                               "n_levels": [1, 0],
                               "note": ["no mixed-effects model: setting has one value (outpatient) in every row: "
                                        "nothing to compare",
                                        "no mixed-effects model: country has no value in any row"]})
    paths = [_png(tmp_path / f"{kind}_{name}.png")
             for kind in ("forest", "subgroups") for name in ("setting", "country")]
    section = family_section("outcome", "z", {"moderators": moderators}, None, paths, {},
                             {"moderators": ["setting", "country"]})
    figures = {figure.title: figure for figure in section.figures}
    assert figures["Forest plot: country"].text == "No plot: country has no value in any row."
    assert figures["Subgroup forest plot: country"].text == figures["Forest plot: country"].text
    assert figures["Forest plot: setting"].data_uri and figures["Subgroup forest plot: setting"].data_uri
