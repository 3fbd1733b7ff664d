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
