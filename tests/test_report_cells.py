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
