"""Report table cells. Tables of selection_models.csv, location_scale.csv and rve.csv print their p values (column
``pval``, a contract name) in APA style, and r columns named ``*_r`` (multiverse_summary.csv) without a
leading zero; ';'-joined parameter vectors (``delta`` of selection_models.csv) are rounded, not dumped."""

import pandas as pd

from alliance_meta.report.formatting import format_cell, readable_frame


def test_pval_column_is_an_apa_p_value():
    assert format_cell("pval", 4.66e-10) == "< .001"   # was "0.000"
    assert format_cell("pval", 0.7854) == ".785"        # was "0.785"
    assert format_cell("pval", 1.0) == "> .999"         # was "1.000": APA, as "< .001" at the other end


def test_probabilities_of_the_csv_tables_never_read_0_or_1_where_they_are_not():
    """bma.csv's posterior model probabilities read "0.000" (1.4e-299) and the effect component's "1.000"; P(r > 0)
    of bayes_prior_sensitivity.csv, every one 1.0 and read back as integers, "1"; a prior probability or a share of
    specifications can be exactly 0 or 1 and says so."""
    assert format_cell("posterior_prob", 1.4e-299) == "< .001" and format_cell("posterior_prob", 0.862) == ".862"
    assert format_cell("posterior_prob", 0.9999999997) == "> .999"
    assert format_cell("prior_prob", 0.0) == ".000" and format_cell("prior_prob", 0.0104) == ".010"
    assert format_cell("share_significant", 1.0) == "1.000" and format_cell("share_significant", 0.9996) == "> .999"
    frame = pd.DataFrame({"p_r_gt_0": [1, 1], "share_positive": [1, 1], "k": [125, 25]})
    assert readable_frame(frame).values.tolist() == [["> .999", "1.000", "125"], ["> .999", "1.000", "25"]]


def test_r_summaries_of_the_multiverse_have_no_leading_zero():
    assert format_cell("median_r", 0.300) == ".30"
    assert format_cell("min_r", 0.0149) == ".01"
    assert format_cell("max_r", -0.618) == "\u2212.62"


def test_selection_model_table_has_no_zero_p_and_no_full_precision_vectors():
    frame = pd.DataFrame({"type": ["beta", "stepfun"], "steps": [float("nan"), "0.025;0.1;0.5;1.0"],
                          "pval": [4.66e-10, 0.3],
                          "delta": ["0.9848323199195439;1.053590239488501",
                                    "1.0;0.9240038190441329;1.1933274737209076;1.787898398269014"]})
    text = readable_frame(frame)
    assert list(text["pval"]) == ["< .001", ".300"]
    assert list(text["delta"]) == ["0.985; 1.054", "1.000; 0.924; 1.193; 1.788"]
    assert text["steps"].iloc[1] == "0.025; 0.100; 0.500; 1.000"
    assert format_cell("delta", "0.013988885000804769") == "0.014"


def test_bayes_table_note_defines_every_parameter_and_column_abbreviation():
    from alliance_meta.report.tables import bayes_table

    frame = pd.DataFrame({"parameter": ["mu", "or", "or_new", "r_new"], "mean": [0.52, 2.59, 2.65, 0.25],
                          "sd": [0.05, 0.24, 0.65, 0.06], "hdi_lower": [0.41, 2.11, 1.42, 0.13],
                          "hdi_upper": [0.61, 3.04, 3.97, 0.37], "r_hat": [1.0] * 4, "ess_bulk": [2730.0] * 4,
                          "ess_tail": [2317.0] * 4})
    note = bayes_table(frame, "smd").note
    assert "OR = \u03bc as an odds ratio" in note and "OR (new study)" in note and "r (new study)" in note
    assert "R-hat =" in note and "ESS =" in note


def test_forest_footnote_of_a_three_level_fit_calls_the_rows_effect_sizes():
    from alliance_meta.plots.forest import footnote

    pooled = {"method": "REML", "test": "z", "k": 58, "n_studies": 25, "q": 84.15, "q_df": 57, "q_p": 0.011,
              "tau2": 0.022, "sigma2_between": 0.0, "sigma2_within": 0.022, "i2": 33.3}
    text = footnote(pooled, 95, metric="smd")
    assert "study estimates" not in text and "effect sizes (rows of the three-level model, 25 studies" in text
    two_level = {k: v for k, v in pooled.items() if not k.startswith("sigma2")}
    assert footnote(two_level, 95, metric="smd").startswith("Squares: study estimates (area proportional")


def test_a_moderator_value_keeps_its_own_scale():
    """meta_regression_predictions.csv's value of year read "2,001" (a thousands separator in a year)."""
    assert format_cell("value", 2001.0) == "2001" and format_cell("centre", 2004.81) == "2004.81"
    assert format_cell("value", -3.0) == "\u22123" and format_cell("value", 0.5) == "0.500"
    assert readable_frame(pd.DataFrame({"value": [2001.0, 2003.0]}))["value"].tolist() == ["2001", "2003"]


def test_a_moderator_value_read_back_as_whole_numbers_keeps_its_own_scale():
    """prediction_values: {year: [2001, 2010]} is written as "2001", "2010": read back, the column is of integer
    dtype, which readable_frame gave thousands separators ("2,001")."""
    import io

    from alliance_meta.io import read_table

    frame = read_table(io.StringIO("model,variable,value,estimate\nyear,year,2001,0.3\nyear,year,2010,0.2\n"))
    assert readable_frame(frame)["value"].tolist() == ["2001", "2010"]
    assert readable_frame(pd.DataFrame({"centre": [2004, 2005]}))["centre"].tolist() == ["2004", "2005"]


def test_exact_zeros_ones_and_undefined_p_values_read_as_they_are():
    """With bma.bias false the bias component's posterior probability is exactly 0 (its prior is 0) and read
    "< .001" beside its prior ".000"; Q's p of one study (0 df: metafor's QEp of 1) read "> .999" where it is
    undefined; a selection model at the bound where it is the unadjusted model (LRT statistic 0, up to noise) has
    p = 1 and read "> .999"."""
    summary = pd.DataFrame({"quantity": ["component"] * 3, "name": ["effect", "heterogeneity", "bias"],
                            "prior_prob": [0.5, 0.5, 0.0], "posterior_prob": [0.62, 1e-5, 0.0]})
    assert readable_frame(summary)["posterior_prob"].tolist() == [".620", "< .001", ".000"]
    pooled = pd.DataFrame({"k": [1, 5], "q": [0.0, 3.2], "q_df": [0, 4], "q_p": [1.0, 0.52]})
    assert readable_frame(pooled)["q_p"].tolist() == ["\u2013", ".520"]
    cumulative = pd.DataFrame({"k": [1, 2, 3], "q": [0.0, 1e-9, 2.0], "q_p": [1.0, 1.0 - 1e-9, 0.37]})
    assert readable_frame(cumulative)["q_p"].tolist() == ["\u2013", "> .999", ".370"]
    # the demo's half-normal model at its bound: a statistic of 2.8e-14 (noise of equal log-likelihoods), p 0.9999999
    selection = pd.DataFrame({"lrt": [0.0, 2.842171e-14, 1e-7, 4.5], "lrt_p": [1.0, 0.99999987, 0.99975, 0.034]})
    assert readable_frame(selection)["lrt_p"].tolist() == ["1.000", "1.000", "> .999", ".034"]


def test_selection_text_and_figure_give_an_lrt_p_of_exactly_one_as_1():
    import matplotlib.pyplot as plt

    from alliance_meta.plots.selection import selection_estimates_plot
    from alliance_meta.report.text import selection_sentence

    selection = pd.DataFrame({"type": ["halfnorm", "negexp"], "estimate": [0.27, 0.25], "se": [0.07, 0.06],
                              "ci_lower": [0.13, 0.13], "ci_upper": [0.41, 0.37], "lrt": [2.842171e-14, 4.5],
                              "lrt_p": [0.99999987, 0.034], "converged": [True, True], "note": ["", ""],
                              "steps": ["", ""], "delta": ["1", "0"]})
    assert "likelihood-ratio tests of selection p = .034 to p = 1.000" in selection_sentence(selection, "z")
    at_bound = selection.assign(lrt=[2.842171e-14, 0.0], lrt_p=[0.99999987, 1.0])  # both: one p, not "> .999 to 1.000"
    assert "likelihood-ratio tests of selection p = 1.000" in selection_sentence(at_bound, "z")
    assert "> .999" not in selection_sentence(at_bound, "z")
    figure = selection_estimates_plot(selection, {"estimate": 0.3, "ci_lower": 0.2, "ci_upper": 0.4}, "z")
    texts = [text.get_text() for text in figure.texts]
    assert "$p$ = 1.000" in texts and "$p$ = .034" in texts and not any(">" in text for text in texts)
    plt.close("all")


def test_a_citation_year_reads_as_a_year():
    """The report's full table of study_characteristics.csv showed citation_year 1985 as "1,985" beside year 1985
    (citation_year is text like "2004a" in a sheet that needs a letter, a whole number read back otherwise)."""
    frame = pd.DataFrame({"year": [1985, 2004], "citation_year": [1985, 2004]})
    assert readable_frame(frame)["citation_year"].tolist() == ["1985", "2004"]
    assert format_cell("citation_year", 1985.0) == "1985" and format_cell("citation_year", "2004a") == "2004a"


def test_tables_of_one_effect_size_per_study_speak_of_no_composites():
    """A dropout sheet of one 2x2 table per study: the pooled, moderator and subgroup notes said "k = studies pooled
    (each one composite of its effect sizes)" while the Methods said "Each study contributed one effect size"."""
    from dataclasses import replace

    from alliance_meta.report.html import family_section
    from alliance_meta.report.settings import TableSettings
    from alliance_meta.report.summary import several_per_study
    from alliance_meta.report.tables import manuscript_table

    pooled = pd.DataFrame({"method": ["REML"], "test": ["z"], "k": [3], "estimate": [0.5], "se": [0.1],
                           "ci_lower": [0.3], "ci_upper": [0.7], "pi_lower": [0.2], "pi_upper": [0.8], "tau2": [0.01],
                           "i2": [20.0], "q": [2.5], "q_df": [2], "q_p": [0.3]})
    subgroups = pd.DataFrame({"moderator": ["rater"] * 2, "level": ["patient", "observer"], "k": [2, 1],
                              "estimate": [0.5, 0.4], "se": [0.1, 0.2], "ci_lower": [0.3, 0.0],
                              "ci_upper": [0.7, 0.8], "tau2": [0.0, 0.0]})
    moderators = pd.DataFrame({"moderator": ["rater"], "k": [3], "qm": [0.2], "qm_df": [1], "qm_p": [0.6],
                               "f": [0.2], "f_df1": [1], "f_df2": [1], "f_p": [0.7], "tau2": [0.0], "r2": [0.0]})
    one_each = pd.DataFrame({"study_id": ["A", "B", "C"], "family": "dropout", "yi": [0.5, 0.4, 0.6],
                             "vi": [0.04, 0.05, 0.06]})
    assert not several_per_study(one_each, ["dropout"])
    assert several_per_study(pd.concat([one_each, one_each.iloc[[0]]]), ["dropout"])
    single = replace(TableSettings(), several_per_study=several_per_study(one_each, ["dropout"]))
    notes = {name: manuscript_table(name, frame, "log_or", 95, single).note
             for name, frame in (("pooled", pooled), ("subgroups", subgroups), ("moderators", moderators))}
    assert "k = studies pooled (one effect size each)" in notes["pooled"]
    assert "k = studies at the level, one effect size each." in notes["subgroups"]
    assert "k = studies (one effect size each);" in notes["moderators"]
    assert not any("composite" in note for note in notes.values())
    # the default (and a family with several effect sizes in a study) keeps the composites
    assert "each one composite of its effect sizes" in manuscript_table("pooled", pooled, "log_or", 95).note
    # the report takes it from the family's counts
    section = family_section("dropout", "log_or", {"pooled": pooled}, None, [],
                             {"studies": 3, "effect_sizes": 3, "n": 0, "studies_without_n": 3}, {})
    assert not any("composite" in table.note for table in section.tables)


def test_every_table_that_abbreviates_an_interval_defines_it():
    """The summary of findings ("95% CI: Wald."), study characteristics ("its Wald 95% CI") and publication-bias
    tables used CI without defining it in their notes (APA 2020, sec. 7.14); the pooled table's note defined it."""
    from alliance_meta.report.tables import manuscript_table

    studies = pd.DataFrame({"study_id": ["A", "B"], "authors": ["Ann", "Bo"], "year": [2001, 2002], "n": [50, 60],
                            "k_effect_sizes": [1, 1], "estimate": [0.3, 0.2], "se": [0.1, 0.1],
                            "ci_lower": [0.1, 0.0], "ci_upper": [0.5, 0.4]})
    note = manuscript_table("study_characteristics", studies, "smd", 95).note
    assert "95% CI" in note and note.endswith("CI = confidence interval.")
    pooled = pd.DataFrame({"method": ["REML"], "test": ["z"], "k": [2], "estimate": [0.25], "se": [0.07],
                           "ci_lower": [0.1], "ci_upper": [0.4], "pi_lower": [0.1], "pi_upper": [0.4], "tau2": [0.0],
                           "i2": [0.0], "q": [0.5], "q_df": [1], "q_p": [0.48]})
    note = manuscript_table("pooled", pooled, "smd", 95).note
    assert note.count("CI = confidence interval") == 1 and note.count("PI = prediction interval") == 1


def test_a_moderator_named_like_an_interval_is_not_defined_as_one():
    """A moderator "PI" (principal investigator) named in the moderator table's note ("R² not given for PI: ...") had
    "PI = prediction interval" added to the note, a table without any prediction interval: the moderator's name is
    the data's (the table's verbatim), as note_defined already treats it."""
    from alliance_meta.report.tables import manuscript_table

    moderators = pd.DataFrame({"moderator": ["PI"], "k": [5], "qm": [1.2], "qm_df": [2], "qm_p": [0.5], "f": [0.6],
                               "f_df1": [2], "f_df2": [3], "f_p": [0.6], "tau2": [0.01], "r2": [10.0],
                               "tau2_null": [0.0]})
    note = manuscript_table("moderators", moderators, "z").note
    assert "R\u00b2 not given for PI:" in note and "prediction interval" not in note


def test_a_cell_named_like_an_interval_is_not_defined_as_one():
    """The CI/PI keys joined note_defined, which reads the table's cells: a moderator level "PI" (principal
    investigator) in the study characteristics table had "PI = prediction interval" added to a note of a table with
    no prediction interval; the intervals are looked for in the title and headings, as before."""
    import alliance_meta as am
    from alliance_meta.report.summary import study_characteristics
    from alliance_meta.report.tables import manuscript_table

    sheet = pd.DataFrame({"study_id": ["a", "b", "c"], "r": [0.2, 0.3, 0.25], "n": [40, 50, 60],
                          "lead": ["PI", "other", "PI"]})
    note = manuscript_table("study_characteristics", study_characteristics(am.effect_sizes(sheet), ["lead"], "z"),
                            "z").note
    assert "CI = confidence interval" in note and "prediction interval" not in note, note
