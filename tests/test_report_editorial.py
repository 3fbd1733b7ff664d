"""An editor's reading of the report and manuscript tables: grammar of several tests sharing a reason, one
statement per fact (no interval a table shows where the text says there is none, no reason repeated per model),
titles and notes a reader can use, and a Methods section that describes what the Results report."""

from __future__ import annotations

import math

import pandas as pd

from alliance_meta.report.html import empty_table_reasons, result_tables
from alliance_meta.report.methods import methods_paragraph, stages_run
from alliance_meta.report.tables import manuscript_table
from alliance_meta.report.text import bias_sentence, bma_sentence, results_paragraph, selection_sentence
from conftest import stage_tables

NAN = math.nan
TOO_FEW = "not estimable: k = 2 studies, the test needs at least 3"


def test_several_tests_sharing_a_reason_each_need_it():
    bias = pd.DataFrame({"test": ["egger", "rank", "trim_and_fill", "fail_safe_n"],
                         "statistic": [NAN, NAN, NAN, 11.0], "p": [NAN, NAN, NAN, 0.001], "estimate": NAN,
                         "k_imputed": NAN, "note": [TOO_FEW] * 3 + ["Rosenthal (Stouffer)"]})
    text = bias_sentence(bias, "z")
    assert text.endswith("could not be run (k = 2 studies, each test needs at least 3).")
    assert "the test needs" not in text
    # one test: "the test" is right
    one = bias_sentence(bias.iloc[[0, 3]], "z")
    assert one.endswith("Egger's regression test could not be run (k = 2 studies, the test needs at least 3).")


def _sof(**changes) -> pd.DataFrame:
    row = {"family": "dropout", "outcome": "Alliance of completers versus dropouts", "k": 1, "n": 100,
           "method": "REML", "test": "z", "metric": "smd", "effect_measure": "g", "estimate": 0.159,
           "ci_lower": -0.242, "ci_upper": 0.559, "pi_lower": -0.242, "pi_upper": 0.559, "tau2": 0.0, "i2": 0.0,
           "start": "low", "certainty_points": 1, "certainty": "very low"}
    for domain in ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias"):
        row[f"{domain}_downgrade"], row[f"{domain}_reason"] = 0, "not assessed: test"
    return pd.DataFrame([{**row, **changes}])


def test_summary_of_findings_shows_no_prediction_interval_of_one_study():
    # the Results say "no heterogeneity test or prediction interval" for one study; the pooled table leaves the PI
    # cell empty; summary_of_findings.csv repeats the CI as pooled.csv does: the GRADE table must not print it as a PI
    table = manuscript_table("summary_of_findings", _sof(), "smd")
    assert table.header[3] == "95% PI" and table.rows[0][3] == ""
    assert "PI = prediction interval (none for one study or a common-effect model)" in table.note
    common = manuscript_table("summary_of_findings", _sof(k=25, method="common"), "smd")
    assert common.rows[0][3] == ""
    several = manuscript_table("summary_of_findings", _sof(k=2, pi_lower=0.1, pi_upper=0.3), "smd")
    assert several.rows[0][3] == "[0.10, 0.30]" and "PI = prediction interval." in several.note


def test_selection_models_that_fail_alike_are_named_together_with_the_reason_once():
    poorly = "study composites; poorly identified: the estimate moved 3.25 from the unadjusted 0.448"
    selection = pd.DataFrame({
        "type": ["beta", "halfnorm", "power", "negexppow", "stepfun"],
        "estimate": [2.19, -0.07, -6.6, -2.2, NAN], "se": [1.57, 0.40, 38.4, NAN, NAN],
        "lrt_p": [0.058, 0.034, 0.022, 0.068, NAN], "converged": [True, True, False, True, False],
        "note": [poorly, poorly,
                 "not at a maximum (no stationary point with a positive-definite Hessian); " + poorly,
                 "Hessian not invertible: standard errors not computed", "not computed"]})
    text = selection_sentence(selection, "smd")
    assert text == ("No selection model gave a usable estimate: the beta, half-normal and power models are poorly "
                    "identified (their estimates moved further, or their standard errors are larger, than the "
                    "observed effects spread) and the negative "
                    "exponential power model's Hessian was not invertible. "
                    "Not fitted: the step function (selection-model table).")
    assert text.count("moved further") == 1
    # dropout_only: with no usable estimate the step function not fitted went unmentioned; with one usable, it was
    # named: now in both
    usable = selection.assign(note=[""] + list(selection["note"][1:]))
    assert selection_sentence(usable, "smd").endswith(" Not fitted: the step function (selection-model table).")


def test_tables_without_a_layout_have_a_title_and_a_note_not_the_file_name():
    rve = pd.DataFrame({"model": ["corr", "hier"], "term": ["intercept"] * 2, "estimate": [0.3, 0.31],
                        "omega2": [NAN, 0.0]})
    table = result_tables("rve", rve, "z", 95, "outcome")[0]
    assert table.title == "Robust variance estimation"
    assert "omega2 = variance within studies" in table.note and "hier = hierarchical-effects" in table.note
    titles = {name: result_tables(name, pd.DataFrame({"a": [1.0]}), "z", 95, "outcome")[0].title
              for name in ("gosh_studies", "location_scale_tau2", "rve_sensitivity", "meta_regression_predictions")}
    assert not any(title.lower().startswith(("gosh studies", "location scale", "rve", "meta regression"))
                   for title in titles.values()), titles
    from alliance_meta.analyses.psychometric import TABLE_COLUMNS

    psychometric = pd.DataFrame([{**{column: 0.1 for column in TABLE_COLUMNS}, "method": "bare_bones", "k": 5,
                                  "n": 300, "note": ""}])
    every = result_tables("psychometric", psychometric, "z", 95, "outcome")[1]
    assert every.title == "Psychometric meta-analysis: every column of results/outcome/psychometric.csv"


def test_an_empty_model_comparison_says_why():
    moderators = pd.DataFrame({"moderator": ["rater"], "qm": [NAN],
                               "note": ["no mixed-effects model: rater has one value (patient) in every row: "
                                        "nothing to compare"]})
    empty = pd.DataFrame()
    tables = {"moderators": moderators, "meta_regression": empty, "model_comparison": empty}
    reasons = empty_table_reasons(tables, pd.DataFrame({"study_id": ["D01"]}), {"moderators": ["rater"]})
    assert reasons["model_comparison"] == reasons["meta_regression"]
    assert reasons["model_comparison"].startswith("No meta-regression could be fitted: rater has one value")


def test_methods_name_the_software_once_and_describe_the_psychometric_analysis():
    versions = {"python": "3.11.7", "alliance-meta": "0.1.0 (code abc)", "numpy": "2.4.6"}
    text = methods_paragraph({"psychometric": {"credibility_level": 90}}, {"moderators", "psychometric"}, versions,
                             ["outcome"])
    assert text.count("alliance-meta") == 1
    assert text.endswith("Analyses ran in alliance-meta 0.1.0 (code abc); software: python 3.11.7, numpy 2.4.6.")
    assert "permutation tests of 1,000 random permutations" in text
    assert "psychometric (Hunter\u2013Schmidt) meta-analysis (Schmidt & Hunter, 2015" in text
    assert "with 90% credibility intervals" in text
    assert "psychometric" in stages_run(stage_tables("pooled", "psychometric"))
    assert "Hunter\u2013Schmidt" not in methods_paragraph({}, {"moderators"}, versions, ["outcome"])


def test_posterior_probabilities_have_no_leading_zero():
    summary = pd.DataFrame({"quantity": ["component"] * 2, "name": ["effect", "bias"],
                            "prior_prob": [0.5, 0.5], "posterior_prob": [0.702, 0.138],
                            "inclusion_bf": [2.36, 0.16], "type": NAN, "scale": NAN})
    text = bma_sentence(summary, "z")
    assert "posterior probability .70)" in text and "posterior probability .14)" in text
    assert "0.70" not in text and "0.14" not in text


def test_posterior_probabilities_that_round_to_0_or_1_are_bounded():
    """The demo's Results read "evidence for an effect (inclusion BF > 10⁶, posterior probability 1.00)": a
    posterior probability of .9999999998 is not 1 (APA 2020, sec. 6.36, writes such a p as "p < .001")."""
    summary = pd.DataFrame({"quantity": ["component"] * 3, "name": ["effect", "heterogeneity", "bias"],
                            "prior_prob": [0.5] * 3, "posterior_prob": [0.9999999998, 0.0049, 0.138],
                            "inclusion_bf": [4.4e9, 0.005, 0.16], "type": NAN, "scale": NAN})
    text = bma_sentence(summary, "z")
    assert "posterior probability > .99)" in text and "posterior probability < .01)" in text
    assert "posterior probability .14)" in text and "1.00" not in text and ".00)" not in text


def test_a_preview_keeps_the_light_grey_areas_its_legend_names():
    """The report's preview of the bubble plot lost its 95% CI band (grey 0.85 on white) and the funnel plot its
    contours beyond p = .05 (grey 0.75): 16 octree colours merged them into the white, the legends still named them."""
    import base64
    import io

    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    from alliance_meta.plots import previews

    figure, axis = plt.subplots(figsize=(5.5, 4.0), dpi=300)
    years = np.linspace(1985, 2017, 200)
    axis.fill_between(years, 0.25, 0.35, color="0.85", lw=0, label="95% CI")  # as plots/bubble.py
    axis.fill_betweenx(np.linspace(0.0, 1.0, 50), 1985, 1987, color="0.75", lw=0)  # a funnel contour
    rng = np.random.default_rng(1)
    axis.scatter(rng.uniform(1985, 2017, 125), rng.uniform(-0.1, 0.7, 125), s=60, facecolor="#9ecae1",
                 edgecolor="#1f4e79", alpha=0.7)
    axis.plot(years, np.full_like(years, 0.3), color="#08306b")
    axis.set_title("Slope \u22120.0004 Fisher z per year, 95% CI [\u22120.0032, 0.0024]")
    figure.canvas.draw()
    image = Image.frombuffer("RGBA", figure.canvas.get_width_height(), figure.canvas.buffer_rgba())
    plt.close(figure)
    uri = previews.preview_uri(image)
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))
    pixels = pixels.reshape(-1, 3).astype(int)
    for grey in (217, 191):
        assert np.abs(pixels - grey).max(axis=1).min() <= 8, grey


def test_a_preview_stored_with_another_palette_is_not_used(tmp_path, monkeypatch):
    """A preview stored by an earlier version (16 colours) is made again, not reused for the same PNG."""
    import json

    import matplotlib.pyplot as plt

    from alliance_meta.plots import previews
    from alliance_meta.plots.style import save_file

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(previews.PREVIEWS_ENV, "previews")
    figure, axis = plt.subplots(figsize=(3.0, 2.0))
    axis.plot([0, 1], [0, 1])
    save_file(figure, "funnel.png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    assert previews.stored_preview("funnel.png") is not None
    stored = tmp_path / "previews" / "funnel.png.json"
    record = json.loads(stored.read_text())
    stored.write_text(json.dumps({"png_sha256": record["png_sha256"], "uri": record["uri"]}))  # as 16 colours wrote it
    assert previews.stored_preview("funnel.png") is None


def test_the_bayesian_mean_of_g_is_given_once_not_as_itself_in_brackets():
    """and mu says the metric it is on, in the same place for every family: the outcome family's "mu = 0.303;" named
    none (Fisher's z) where the dropout family's said "(Hedges' g)" after the HDI."""
    from alliance_meta.report.text import bayes_sentence

    bayes = pd.DataFrame({"parameter": ["mu", "tau", "r"], "mean": [0.523, 0.103, 0.25],
                          "hdi_lower": [0.411, 0.0, 0.2], "hdi_upper": [0.613, 0.22, 0.3]})
    text = bayes_sentence(bayes, "smd")
    assert "\u03bc = 0.523 (Hedges' g), 95% HDI [0.411, 0.613]; \u03c4 = 0.103" in text
    assert "(g = " not in text and "on the g scale" not in text
    assert "\u03bc = 0.303 (Fisher's z); posterior mean of r = .29, 95% HDI [.27, .32]; \u03c4" in bayes_sentence(
        bayes.assign(mean=[0.303, 0.108, 0.294], hdi_lower=[0.278, 0.08, 0.271], hdi_upper=[0.33, 0.13, 0.32]), "z")


def test_the_bayesian_r_is_called_the_posterior_mean_of_r_not_paired_with_mu():
    """.test/one_study read "\u03bc = 0.297 (r = .27)", though tanh(0.297) = .29: right (the posterior mean of r is
    not tanh of the posterior mean of \u03bc) but read as a wrong back-transform. The sentence and the Bayes table's
    note say whose mean the r is."""
    from alliance_meta.report.tables import manuscript_table
    from alliance_meta.report.text import bayes_sentence

    bayes = pd.DataFrame({"parameter": ["mu", "tau", "r"], "mean": [0.297, 0.2, 0.27], "sd": [0.1, 0.1, 0.1],
                          "hdi_lower": [0.1, 0.0, 0.1], "hdi_upper": [0.5, 0.4, 0.46]})
    text = bayes_sentence(bayes, "z")
    assert "posterior mean of r = .27, 95% HDI [.10, .46]" in text and "(r = .27)" not in text
    note = manuscript_table("bayes", bayes, "z").note
    assert "its mean is the posterior mean of r, not the transformed posterior mean of \u03bc" in note


def test_psychometric_sds_of_correlations_have_no_leading_zero_as_in_the_results():
    from alliance_meta.analyses.psychometric import TABLE_COLUMNS

    row = {**{column: NAN for column in TABLE_COLUMNS}, "method": "bare_bones", "k": 125, "n": 10895.2,
           "r_bar": 0.2924, "sd_res": 0.0830, "rho": 0.2924, "sd_rho": 0.0830, "ci_lower": 0.2695, "ci_upper": 0.3152,
           "cr_lower": 0.1854, "cr_upper": 0.3993, "percent_artifact_variance": 58.63}
    table = manuscript_table("psychometric", pd.DataFrame([row]), "z")
    assert table.rows[0][3:7] == [".29", ".083", ".29", ".083"]
    assert "Blank at k = 1" not in table.note


def test_psychometric_blanks_of_one_study_are_explained():
    """one_study: the bare-bones row had SD_res, SD_rho, the credibility interval and % artifact variance blank
    (psychometric.csv: no variance of r across one study) with no word on why."""
    from alliance_meta.analyses.psychometric import TABLE_COLUMNS

    row = {**{column: NAN for column in TABLE_COLUMNS}, "method": "bare_bones", "k": 1, "n": 102.0, "r_bar": 0.264,
           "rho": 0.264, "ci_lower": 0.083, "ci_upper": 0.446, "var_e": 0.009, "se": 0.093}
    table = manuscript_table("psychometric", pd.DataFrame([row]), "z")
    assert table.rows[0][4] == table.rows[0][6] == table.rows[0][8] == table.rows[0][9] == ""
    assert table.note.endswith(" Blank at k = 1: the variance of the observed correlations across studies, and the "
                               "SDs, credibility interval and % artifact variance that rest on it, need at least two "
                               "studies.")


def test_bias_table_marks_tests_that_could_not_run_and_says_why():
    frame = pd.DataFrame({"test": ["egger", "rank", "fail_safe_n", "selection_model", "henmi_copas"],
                          "statistic": [NAN, NAN, 11.0, NAN, NAN], "p": [NAN, NAN, 2.6e-5, NAN, NAN],
                          "estimate": [NAN, NAN, NAN, NAN, 0.30], "k_imputed": NAN,
                          "note": [TOO_FEW, TOO_FEW, "Rosenthal (Stouffer)",
                                   "not estimable: k = 2 studies, the test needs at least 4", "interval"]})
    table = manuscript_table("bias", frame, "z")
    cells = {row[0]: row[1] for row in table.rows}
    assert cells["Egger's regression test"] == cells["Rank correlation test"] == cells["Selection model"] == "\u2013"
    assert cells["Rosenthal's fail-safe N"] == "11" and cells["Henmi\u2013Copas interval"] == ""  # no statistic
    assert table.note.endswith("\u2013 = not estimable: k = 2 studies, each test needs at least 3 "
                               "(Selection model: 4).")


def test_methods_describe_every_analysis_the_results_report():
    # the Results showed robust variance estimation, location-scale models, model comparisons, a prior
    # sensitivity analysis under the priors of Turner et al. and Rhodes et al., and a GRADE rating; the Methods
    # named none of them (a reviewer asks where each comes from)
    config = {"location_scale": ["rater"], "aggregate_rho": 0.5, "grade": {"start": "low"}}
    stages = stages_run(stage_tables("pooled", "rve", "location_scale", "model_comparison", "bayes",
                                     "bayes_prior_sensitivity", "summary_of_findings"))
    text = methods_paragraph(config, stages, {})
    assert ("Robust variance estimation (Hedges, Tipton & Johnson, 2010; small-sample corrections, Tipton, 2015; "
            "as robumeta) pooled the effect sizes themselves in a correlated-effects model (a correlation of .50 "
            "assumed between the effect sizes of a study; 0 to 1 as a sensitivity analysis)") in text
    assert "Location-scale models (Viechtbauer & L\u00f3pez-L\u00f3pez, 2022;" in text and "depend on rater," in text
    assert ("Nested meta-regressions were compared by likelihood-ratio tests and by the Akaike information criterion "
            "(AIC; Akaike, 1974), the Bayesian information criterion (BIC; Schwarz, 1978) and the AIC corrected for "
            "small samples (AICc; Hurvich & Tsai, 1989)") in text
    assert ("under other priors on heterogeneity: half-normal(0.2) on \u03c4, half-Cauchy(0.1) on \u03c4, the prior on "
            "\u03c4\u00b2 of Turner et al. (2015) for mental-health outcomes and the prior on \u03c4\u00b2 of Rhodes "
            "et al. (2015) for mental-health outcomes (rescaled to the analysis metric).") in text
    assert ("rated with the Grading of Recommendations Assessment, Development and Evaluation (GRADE; Guyatt et al., "
            "2011) approach, starting at low certainty") in text
    # analyses that did not run are not described
    plain = methods_paragraph(config, stages_run(stage_tables("pooled", "bayes")), {})
    assert not any(word in plain for word in ("Robust variance", "Location-scale", "Nested", "sensitivity analysis,",
                                              "GRADE"))


def test_agreement_coefficients_are_written_without_a_leading_zero():
    # the double-coding table printed kappa 0.977 and ICC 0.993 beside r .29: Cohen's kappa, Gwet's AC1 and the
    # ICC cannot exceed 1, so APA writes them as correlations are written
    from alliance_meta.report.formatting import readable_frame

    agreement = pd.DataFrame({"column": ["rater", "yi"], "kind": ["categorical", "numeric"], "n_compared": [394, 394],
                              "percent_agreement": [98.48, 98.73], "kappa": [0.9743, NAN], "ac1": [-0.0512, NAN],
                              "icc": [NAN, 0.9625]})
    rows = readable_frame(agreement).values.tolist()
    assert rows[0][4:6] == [".97", "\u2212.05"] and rows[1][6] == ".96"
    assert rows[0][3] == "98.48" and rows[0][2] == "394"


def test_cumulative_table_note_says_what_position_and_k_are():
    # the cumulative table opened with "S119, position 119, k 1": a reader took position for the study's rank
    from alliance_meta.report.html import refit_notes

    note = refit_notes({})["cumulative"]
    assert note.endswith("position = the added study's row in the analysed data; k = studies pooled so far.")
    three_level = refit_notes({"dependence": "multilevel"})["cumulative"]
    assert "position = the row of the analysed data where the added study first appears; step = studies" in three_level


def test_data_section_tables_are_headed_in_words_not_by_variable_names():
    # the first tables of the report were headed "effect_sizes", "studies_without_n", "sign_reversed": names of
    # variables, in tables that have no CSV behind them
    import re

    from alliance_meta.report.html import render_report

    sheet = pd.DataFrame({"study_id": ["a", "a", "b", "c"], "family": "outcome", "yi": [0.2, 0.3, 0.25, 0.4],
                          "vi": [0.01, 0.02, 0.015, 0.03], "n": [100, 100, 70, math.nan], "input_kind": "r",
                          "conversion": "r -> Fisher z", "rater": ["patient", "therapist", "patient", "observer"]})
    html = render_report(sheet=sheet, effect_sizes=sheet, families={"outcome": {"metric": "z", "tables": {},
                                                                              "images": []}},
                         config={"moderators": ["rater"]}, methods="",
                         provenance={"sheet": "s", "sheet_sha256": "0", "run_date": "d",
                                     "versions": {"alliance-meta": "0"}, "config_yaml": ""})
    data = html[html.index('<section id="data">'):html.index("</section>", html.index('<section id="data">'))]
    headers = re.findall(r'<th scope="col">(.*?)</th>', data)
    assert headers[:5] == ["Family", "Studies", "Effect sizes", "<i>N</i>", "Studies without <i>n</i>"], headers
    assert "Statistic reported" in headers and "Sign reversed" in headers and "Level" in headers
    assert not [header for header in headers if "_" in header]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", data)
    assert cells[:5] == ["outcome", "3", "4", "170", "1"], cells  # formatted as before, by the columns' names


def test_the_bayes_factor_is_spelled_out_where_the_results_first_use_it():
    # "evidence for an effect (inclusion BF > 10⁶, ...)": BF was defined nowhere in the Results or the Methods
    summary = pd.DataFrame({"quantity": ["component"] * 3, "name": ["effect", "heterogeneity", "bias"],
                            "prior_prob": [0.5] * 3, "posterior_prob": [0.9999999998, 0.34, 0.138],
                            "inclusion_bf": [4.4e9, 0.51, 0.16], "type": NAN, "scale": NAN})
    text = results_paragraph("outcome", "z", {"bma_summary": summary}, {}, "REML", ["z"])
    # within parentheses, the abbreviation in brackets (APA 2020, sec. 6.54)
    assert "evidence for an effect (inclusion Bayes factor [BF] > 10\u2076, posterior probability > .99)" in text
    assert text.count("Bayes factor") == 1 and "(inclusion BF = 0.51," in text and "(inclusion BF = 0.16," in text


def test_methods_leave_out_an_analysis_whose_table_has_no_row():
    # a review of one study: rve.csv, gosh_studies.csv and model_comparison.csv have a header alone, yet the
    # Methods said that robust variance estimation pooled the effect sizes and nested meta-regressions were compared
    stages = stages_run(stage_tables("pooled", "bias", "summary_of_findings",
                                     empty=("moderators", "rve", "model_comparison", "gosh_studies")))
    assert stages == {"moderators", "bias", "grade"}
    text = methods_paragraph({"moderators": []}, stages, {})
    assert "Robust variance" not in text and "Nested meta-regressions" not in text and "GOSH" not in text
    assert "No moderator was analysed." in text and "GRADE" in text  # moderators.csv counts empty too


def test_methods_describe_only_the_location_scale_models_that_were_fitted():
    # location_scale: [rater, country] on a sheet whose country column is empty: location_scale.csv's country row
    # says "not fitted: country has no value in any row", yet the Methods said that location-scale models let log
    # tau^2 depend on rater and country; with [country] alone they described models of which none was fitted. So
    # did they nested meta-regressions when every row of model_comparison.csv was "not estimable".
    from alliance_meta.report.methods import run_facts

    country = pd.DataFrame({"model": ["country"], "scale_formula": ["country"], "estimate": [NAN],
                            "note": ["not fitted: country has no value in any row"]})
    rater = pd.DataFrame({"model": ["rater"] * 2, "scale_formula": ["rater"] * 2, "estimate": [0.1, -0.5],
                          "note": [NAN, NAN]})
    # as model_comparison.csv is written when no model was fitted: no loglik column
    comparison = pd.DataFrame({"comparison": ["setting vs 1"], "model": ["full"], "note": ["not estimable: ..."]})
    effect_sizes = pd.DataFrame({"study_id": ["a", "b"], "family": ["outcome"] * 2, "yi": [0.1, 0.2],
                                 "vi": [0.01, 0.02]})

    def methods(config, **tables):
        families = {"outcome": {"tables": {"pooled": pd.DataFrame({"method": ["REML"]}), **tables}}}
        return methods_paragraph(config, stages_run(families), {}, ["outcome"], **run_facts(families, effect_sizes))

    text = methods({"location_scale": ["country"]}, location_scale=country, model_comparison=comparison)
    assert "Location-scale" not in text and "Nested meta-regressions" not in text
    text = methods({"location_scale": ["rater", {"location": "1", "scale": "country"}]},
                   location_scale=pd.concat([rater, country]))
    assert "let log \u03c4\u00b2 depend on rater, tested against one" in text


def test_methods_name_the_prior_sensitivity_priors_the_analysis_ran():
    # under bayes.prior.tau turner2015_mental_health the analysis leaves that prior out of the default sensitivity
    # priors (it is the main one), but the Methods named it among the "other priors" and left out half-normal(0.5)
    from alliance_meta.bayes.analysis import BayesConfig, prior_sensitivity
    from alliance_meta.report.methods import prior_sensitivity_sentence

    bayes = {"prior": {"tau": {"family": "turner2015_mental_health"}}}
    text = prior_sensitivity_sentence({"bayes": bayes})
    assert ("under other priors on heterogeneity: half-normal(0.5) on \u03c4, half-normal(0.2) on \u03c4, "
            "half-Cauchy(0.1) on \u03c4 and the prior on \u03c4\u00b2 of Rhodes et al. (2015)") in text
    assert "Turner" not in text
    data = pd.DataFrame({"yi": [0.2, 0.3, 0.4], "vi": [0.01, 0.02, 0.03]})
    table, _ = prior_sensitivity(data, "z", BayesConfig.from_config(bayes, "z"))
    assert len(table) == 5 and table["prior"].str.startswith("turner2015_mental_health").sum() == 1
    # two priors that differ beyond the two decimals printed are both run, and both named
    close = {"prior": {"tau": {"family": "log_normal", "mu": -4.921, "sigma": 1.72}},
             "sensitivity_priors": [{"family": "log_normal", "mu": -4.92, "sigma": 1.72}]}
    assert "log \u03c4\u00b2" in prior_sensitivity_sentence({"bayes": close})


def test_a_prior_on_tau_is_named_alike_in_the_methods_and_the_prior_sensitivity_figure():
    # "the prior on tau^2 of Turner et al. (2015) ..." was built in three places (the main prior's sentence, the
    # sensitivity sentence, the figure's legend); the sensitivity sentence wrote a log-normal prior
    # "N(-4.92, 1.72^2) on log tau^2" where the main prior's sentence and the figure's legend write
    # "log tau^2 ~ N(-4.92, 1.72^2)"
    from alliance_meta.bayes.priors import TauPrior
    from alliance_meta.report.methods import prior_sensitivity_sentence, tau_prior_text

    custom = {"family": "log_normal", "mu": -4.92, "sigma": 1.72}
    other = prior_sensitivity_sentence({"bayes": {"sensitivity_priors": [custom, "turner2015_dropout"]}})
    main = tau_prior_text(custom, {"outcome": "z"})
    formula = "log \u03c4\u00b2 ~ N(\u22124.92, 1.72\u00b2)"
    assert formula in other and formula in main and TauPrior.from_config(custom).legend() == formula
    assert "on log \u03c4\u00b2" not in other
    turner = TauPrior.from_config("turner2015_dropout")
    named = "the prior on \u03c4\u00b2 of Turner et al. (2015) for withdrawals and dropouts"
    assert turner.words() == named and named in other
    assert turner.words(kind=True) == named.replace("the prior", "the log-normal prior")
    assert turner.words(kind=True) in tau_prior_text("turner2015_dropout", {"outcome": "z"})
    assert turner.legend() == "Turner et al. (2015): " + turner.formula()


def test_methods_quote_the_correlation_robust_variance_estimation_used():
    # aggregate_rho -0.2 (allowed for the composites) is outside robumeta's [0, 1]: RVE uses 0, the Methods said -.20
    text = methods_paragraph({"aggregate_rho": -0.2}, stages_run(stage_tables("rve")), {})
    assert "a correlation of 0 assumed between the effect sizes of a study" in text
