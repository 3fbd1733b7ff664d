"""Report wording under configurations other than the demo's (review of the HTML report): the sentences
say what was run, with the configured levels, without placeholders for tests that could not run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alliance_meta.report.methods import methods_paragraph, prior_sentence
from alliance_meta.report.text import (bayes_sentence, bias_sentence, bma_sentence, moderators_sentence,
                                       pooled_sentence, results_paragraph, risk_of_bias_sentence, selection_sentence)

NAN = math.nan


def pooled_row(**changes) -> pd.Series:
    row = {"method": "REML", "test": "z", "k": 5, "estimate": 0.30, "se": 0.05, "ci_lower": 0.20, "ci_upper": 0.40,
           "pi_lower": 0.05, "pi_upper": 0.55, "tau2": 0.01, "i2": 50.0, "q": 8.0, "q_df": 4, "q_p": 0.09,
           "note": ""}
    return pd.Series({**row, **changes})


# 1. three-level Methods name only the tests pooled.csv has
def test_three_level_methods_name_only_the_tests_run():
    config = {"dependence": "multilevel", "pooling": {"tests": ["z"]}, "multilevel": {"robust": False}}
    text = methods_paragraph(config, set(), {})
    assert "intervals used Wald-type z tests" in text
    assert "t tests with k" not in text and "CR2" not in text
    only_t = methods_paragraph({**config, "pooling": {"tests": ["knha"]}, "multilevel": {}}, set(), {})
    assert "Wald-type z tests" not in only_t
    assert "intervals used t tests with k \u2212 1 degrees of freedom (k effect sizes), and cluster-robust (CR2)" in only_t
    both = methods_paragraph({"dependence": "multilevel"}, set(), {})  # defaults: [z, knha], robust
    assert ("Wald-type z tests and t tests with k \u2212 1 degrees of freedom (k effect sizes), and "
            "cluster-robust (CR2)") in both


# 2. a common-effect main model is not called a random-effects model
def test_common_effect_main_model_is_described_as_such():
    text = methods_paragraph({"pooling": {"main_method": "common", "tests": ["z"]}}, set(), {})
    assert "Random-effects models were fitted with the common-effect estimator" not in text
    assert "The main model was a common-effect (fixed-effect, inverse-variance) model" in text
    assert "random-effects models with the other estimators of \u03c4\u00b2 were sensitivity analyses" in text


def test_methods_name_sensitivity_estimators_only_when_fitted():
    """pooling.methods: [common] (or only the main estimator) gave 'random-effects models with the other estimators of
    tau^2 were sensitivity analyses' although no other model was fitted."""
    only_common = methods_paragraph({"pooling": {"methods": ["common"], "main_method": "common", "tests": ["knha"]}},
                                    set(), {})
    assert "The model was a common-effect (fixed-effect, inverse-variance) model (no random-effects model" in only_common
    assert "sensitivity analyses" not in only_common and "Q-profile" not in only_common
    only_reml = methods_paragraph({"pooling": {"methods": ["REML"], "main_method": "REML"}}, set(), {})
    assert "sensitivity analyses" not in only_reml and "estimator of \u03c4\u00b2; 95% confidence" in only_reml
    several = methods_paragraph({"pooling": {"methods": ["DL", "REML"], "main_method": "REML"}}, set(), {})
    assert "(other estimators as sensitivity analyses)" in several


# 3. no prediction interval for the common-effect model (sentence and manuscript table)
def test_common_effect_model_has_no_prediction_interval():
    from alliance_meta.report.tables import pooled_table

    common = pooled_row(method="common", pi_lower=0.20, pi_upper=0.40, tau2=0.0)
    assert "prediction interval" not in pooled_sentence("outcome", "z", common, {"n": 500, "effect_sizes": 5})
    assert "95% prediction interval" in pooled_sentence("outcome", "z", pooled_row(), {"n": 500, "effect_sizes": 5})
    table = pooled_table(pd.DataFrame([common, pooled_row()]), "z")
    pi = table.header.index("95% PI")
    assert table.rows[0][pi] == "" and table.rows[1][pi] == "[.05, .50]"
    assert "none for the common-effect model" in table.note


# 4. the ad hoc Knapp-Hartung variant is named as such
def test_knha_adhoc_is_named():
    from alliance_meta.report.tables import pooled_table

    text = methods_paragraph({"pooling": {"tests": ["z", "knha"], "knha_adhoc": True}}, set(), {})
    assert "the Knapp\u2013Hartung adjustment (ad hoc variant: scale factor not below 1)" in text
    plain = methods_paragraph({"pooling": {"tests": ["z", "knha"]}}, set(), {})
    assert "ad hoc" not in plain and "Wald-type z tests and the Knapp\u2013Hartung adjustment;" in plain
    rows = pd.DataFrame([pooled_row(test="knha", note="Knapp-Hartung ad hoc: scale factor not below 1")])
    assert "knha = Knapp\u2013Hartung (ad hoc variant: scale factor not below 1)." in pooled_table(rows, "z").note
    assert pooled_table(pd.DataFrame([pooled_row(test="knha")]), "z").note.endswith("knha = Knapp\u2013Hartung.")


def test_knha_adhoc_is_named_for_the_moderator_models():
    """pooling.knha_adhoc reaches the moderator models (their F is metafor's adhoc): the Methods and the moderator
    table's note name the variant (once, not in each moderator's note), and say nothing of it without the key."""
    from alliance_meta.models.univariate import ADHOC_NOTE
    from alliance_meta.report.tables import moderators_table

    config = {"pooling": {"tests": ["z", "knha"], "knha_adhoc": True}, "moderators": ["rater"]}
    text = methods_paragraph(config, {"moderators"}, {})
    assert "Knapp\u2013Hartung F tests (ad hoc variant: scale factor not below 1)" in text
    plain = methods_paragraph({**config, "pooling": {"tests": ["z", "knha"]}}, {"moderators"}, {})
    assert "Knapp\u2013Hartung F tests and permutation" in plain
    row = {"moderator": "rater", "k": 10, "qm": 3.0, "qm_df": 1, "qm_p": 0.08, "f": 2.5, "f_df1": 1, "f_df2": 8,
           "f_p": 0.15, "tau2": 0.01, "r2": 20.0, "tau2_null": 0.02, "qm_p_permutation": 0.1}
    note = moderators_table(pd.DataFrame([{**row, "note": f"8 composites of 6 studies; {ADHOC_NOTE}"}]), "z").note
    assert "F with Knapp\u2013Hartung adjustment (ad hoc variant: scale factor not below 1)." in note
    assert ADHOC_NOTE not in note and "rater: 8 composites of 6 studies." in note
    note = moderators_table(pd.DataFrame([{**row, "note": ADHOC_NOTE}]), "z").note
    assert "rater:" not in note
    assert "ad hoc" not in moderators_table(pd.DataFrame([{**row, "note": ""}]), "z").note


def test_pooled_table_note_names_the_tests_it_has():
    """The note read "test z = Wald, knha = Knapp-Hartung" under a three-level fit's z, t and cr2 rows (t and cr2
    unexplained, knha absent) and under pooling.tests [knha] (no z row); a three-level fit's k (effect sizes) and
    tau^2 (sigma^2 between + within) were not said to be such."""
    from alliance_meta.report.tables import pooled_table

    three_level = dict(sigma2_between=0.006, sigma2_within=0.004, tau2=0.01, n_studies=3, k=7)
    rows = pd.DataFrame([pooled_row(test=test, **three_level) for test in ("z", "t", "cr2")])
    note = pooled_table(rows, "z").note
    assert "test z = Wald, t = t with k \u2212 1 df, cr2 = cluster-robust (CR2)" in note and "knha" not in note
    assert "Three-level model (REML): k counts effect sizes (of 3 studies)" in note
    assert "sum of \u03c3\u00b2 between and within" in note
    one = pd.DataFrame([pooled_row(test="z", **{**three_level, "n_studies": 1, "k": 3})])
    assert "k counts effect sizes (of 1 study);" in pooled_table(one, "z").note
    only_knha = pooled_table(pd.DataFrame([pooled_row(test="knha")]), "z").note
    assert "z = Wald" not in only_knha and "Three-level" not in only_knha


def test_pooled_table_shows_sigma2_between_and_within_of_a_three_level_fit():
    """A three-level row showed only tau^2 (the sum): the table gives sigma^2 between and within, with their
    profile-likelihood CIs where pooled.csv has them, a dash where one effect size per study leaves the split
    unidentified; a univariate table keeps its columns."""
    from alliance_meta.report.tables import pooled_table

    three_level = dict(sigma2_between=0.0936, sigma2_within=0.1457, tau2=0.2393, n_studies=17, k=100,
                       sigma2_between_ci_lower=0.0221, sigma2_between_ci_upper=0.3018,
                       sigma2_within_ci_lower=0.0991, sigma2_within_ci_upper=0.2159)
    no_ci = {**three_level, "sigma2_within_ci_lower": math.nan}
    table = pooled_table(pd.DataFrame([pooled_row(**three_level), pooled_row(method="ML", **no_ci)]), "z")
    between, within = table.header.index("\u03c3\u00b2 between"), table.header.index("\u03c3\u00b2 within")
    assert table.header[between - 1] == "\u03c4\u00b2" and len(table.alignment()) == len(table.rows[0])
    assert table.rows[0][between] == "0.094 [0.022, 0.302]" and table.rows[0][within] == "0.146 [0.099, 0.216]"
    assert table.rows[1][within] == "0.146"  # no CI in pooled.csv (multilevel.profile: false): the value alone
    assert "\u03c3\u00b2 in brackets: 95% profile-likelihood CI." in table.note
    unidentified = pooled_table(pd.DataFrame([pooled_row(**{**three_level, "n_studies": 100})]), "z")
    assert unidentified.rows[0][between] == unidentified.rows[0][within] == "\u2013"
    assert "one effect size per study: \u03c3\u00b2 between and within are not identified" in unidentified.note
    univariate = pooled_table(pd.DataFrame([pooled_row()]), "z")
    assert "\u03c3\u00b2 between" not in univariate.header and len(univariate.rows[0]) == 9
    assert "\u03c3\u00b2" not in univariate.note


def test_pooled_table_dashes_the_sigma2_one_study_cannot_identify():
    """One study under dependence: multilevel (.test/one_study): sigma^2 between, which metafor's rma.mv fixes at 0
    for a factor with one level, read 0.000 beside sigma^2 within, and one effect size read 0.000 for both, with no
    word: a dash and the reason in the note, as for one effect size per study."""
    import alliance_meta as am
    from alliance_meta.report.tables import pooled_table

    rows = pd.DataFrame({"study_id": ["S01"] * 3, "es_id": ["a", "b", "c"], "yi": [0.47, 0.11, 0.14],  # SIMULATED
                         "vi": [0.008, 0.0137, 0.0116]})
    one_study = am.fit(rows, dependence="multilevel", rho=0.5, metric="z").to_frame()
    assert one_study.loc[0, "n_studies"] == 1 and one_study.loc[0, "sigma2_between"] == 0
    table = pooled_table(one_study, "z")
    between, within = table.header.index("\u03c3\u00b2 between"), table.header.index("\u03c3\u00b2 within")
    assert table.rows[0][between] == "\u2013" and table.rows[0][within].startswith("0.")
    assert table.rows[0][within] != "\u2013"
    assert "one study: \u03c3\u00b2 between is not identified (set to 0" in table.note
    one = pooled_table(am.fit(rows.iloc[:1], dependence="multilevel", rho=0.5, metric="z").to_frame(), "z")
    assert one.rows[0][between] == one.rows[0][within] == "\u2013"
    assert "one effect size: neither \u03c3\u00b2 is identified (both set to 0)" in one.note
    assert "one study:" not in one.note and "one effect size per study" not in one.note


def test_pooled_table_note_says_what_k_of_the_count_rows_counts():
    """Under metric.dropout log_or the MH, Peto and GLMM rows pool only the 2x2 tables (k 4 beside the other rows'
    7: rows with an odds ratio only, a double-zero table), or have no estimate (separation); the table's note said
    only "k = studies pooled (each one composite of its effect sizes)": the reason was in pooled.csv's note alone."""
    from alliance_meta.models import counts
    from alliance_meta.report.tables import pooled_table

    sheet = pd.DataFrame({"study_id": ["S1", "S2", "S3", "S4", "S5", "S6"], "yi": 0.5, "vi": 0.2,
                          "n11": [40, 25, 15, 8, 50, NAN], "n12": [2, 0, 0, 1, 5, NAN],
                          "n21": [30, 20, 12, 5, 45, NAN], "n22": [10, 5, 0, 3, 12, NAN], "reverse": "no"})
    rows = pd.concat([pd.DataFrame([pooled_row(k=6)]), counts.count_rows(sheet)], ignore_index=True)
    note = pooled_table(rows, "log_or").note
    assert ("k of MH, Peto and GLMM = the 2x2 tables pooled: 5 of 6 rows had 2x2 counts; 5 tables from 5 "
            "studies; no continuity correction; 1 double-zero table left out (no information on the odds ratio; "
            "metafor's drop00).") in note
    assert " MH: Q from log odds ratios with 1/2 added to tables with a zero cell (as metafor)." in note
    assert (" GLMM: unconditional model with fixed study effects (UM.FS; Stijnen, Hamza & \u00d6zdemir, 2010) by ML"
            in note)
    assert "Peto:" not in note
    separated = sheet.assign(n12=[0, 0, 0, 0, 0, NAN])
    note = pooled_table(pd.concat([pd.DataFrame([pooled_row(k=6)]), counts.count_rows(separated)]), "log_or").note
    assert " MH: MH odds ratio undefined: the pooled odds ratio is infinite (every table, its rows swapped where reverse = yes, has a zero cell" in note
    assert " GLMM: GLMM estimate diverges (separation: the pooled odds ratio is infinite" in note
    assert "k of MH" not in pooled_table(pd.DataFrame([pooled_row()]), "z").note


# 5. the configured credibility level reaches the psychometric sentence
def test_psychometric_credibility_level_is_the_configured_one():
    psychometric = pd.DataFrame([{"method": "bare_bones", "k": 6, "n": 573, "r_bar": 0.28, "ci_lower": 0.21,
                                  "ci_upper": 0.35, "percent_artifact_variance": 60.0, "sd_res": 0.05,
                                  "cr_lower": 0.20, "cr_upper": 0.36, "rho": NAN, "sd_rho": NAN, "note": ""}])
    text = results_paragraph("outcome", "z", {"psychometric": psychometric}, {}, "REML", ["z"],
                             config={"psychometric": {"credibility_level": 90}})
    assert "90% credibility interval [.20, .36]" in text and "80%" not in text
    assert "80% credibility interval" in results_paragraph("outcome", "z", {"psychometric": psychometric}, {},
                                                           "REML", ["z"])


# 6. the prior sentence describes the prior actually used
def test_prior_sentence_describes_each_tau_prior_family():
    def sentence(tau, families=("outcome", "dropout")):
        return prior_sentence({"bayes": {"prior": {"tau": tau}, "seed": 1},
                               "metric": {"outcome": "z", "dropout": "smd"}}, families)

    turner = sentence({"family": "turner2015_mental_health"})
    assert ("the log-normal prior on \u03c4\u00b2 of Turner et al. (2015) for mental-health outcomes, "
            "log \u03c4\u00b2 ~ N(\u22122.34, 1.72\u00b2) for log odds ratios, rescaled to the analysis metric "
            "(outcome, Fisher's z: N(\u22124.92, 1.72\u00b2); dropout, Hedges' g: N(\u22123.53, 1.72\u00b2))") in turner
    assert "(0.5)" not in turner and "turner2015" not in turner
    assert "Turner et al. (2015) for withdrawals and dropouts" in sentence({"family": "turner2015_dropout"})
    rhodes = sentence({"family": "rhodes2015_mental_health"}, ["dropout"])
    assert ("the log-t prior on \u03c4\u00b2 of Rhodes et al. (2015) for mental-health outcomes (location and "
            "scale of log \u03c4\u00b2, 5 df), log \u03c4\u00b2 ~ t5(\u22123.85, 1.93) for standardised mean "
            "differences") in rhodes and "rescaled" not in rhodes
    assert "Rhodes et al. (2015) for any outcome" in sentence({"family": "rhodes2015_general"})
    assert "a log-normal prior on \u03c4\u00b2, log \u03c4\u00b2 ~ N(\u22123.00, 1.50\u00b2)" in sentence(
        {"family": "log_normal", "mu": -3.0, "sigma": 1.5})
    assert "log \u03c4\u00b2 ~ t4(\u22123.00, 1.50)" in sentence({"family": "log_t", "mu": -3.0, "sigma": 1.5, "df": 4})
    assert "a half-Cauchy(0.1) prior on \u03c4" in sentence({"family": "half_cauchy", "scale": 0.1})
    assert "a half-normal(0.5) prior on \u03c4 (seed 1)" in sentence({"family": "half_normal", "scale": 0.5})
    # how the posteriors are summarised: the Results' "posterior mean of r" is the mean of tanh(mu), not tanh of mu's
    assert sentence({"family": "half_normal", "scale": 0.5}).endswith(
        "posteriors were summarised by their means and 95% highest-density intervals (HDIs), a back-transformed "
        "effect (r, OR) by its own posterior, not by back-transforming \u03bc's.")


# 7. no permutations: no permutation tests in the Methods
def test_no_permutations_are_not_mentioned():
    text = methods_paragraph({"permutations": 0}, {"moderators"}, {})
    assert "permutation" not in text and "Knapp\u2013Hartung F tests." in text
    # craft2003's sport has 210 permutations in all: exact, not 1000 random ones
    assert ("Knapp\u2013Hartung F tests and permutation tests of 1,000 random permutations (every permutation, an "
            "exact test, where there are fewer).") in methods_paragraph({}, {"moderators"}, {})


# 8. model averaging without the bias models is not called RoBMA-PSMA
def test_bma_without_bias_models_is_not_called_robma_psma():
    def summary(bias_prior):
        return pd.DataFrame({"quantity": ["component"] * 3, "name": ["effect", "heterogeneity", "bias"],
                             "type": "", "scale": "", "prior_prob": [0.5, 0.5, bias_prior],
                             "posterior_prob": [0.9, 0.4, bias_prior], "inclusion_bf": [9.0, 0.67, NAN],
                             "mean": NAN, "median": NAN, "ci_lower": NAN, "ci_upper": NAN})
    plain = bma_sentence(summary(0.0), "z")
    assert "RoBMA" not in plain and plain.startswith(
        "Bayesian model averaging over effect and heterogeneity (Gronau et al., 2021; no publication-bias models) gave")
    assert bma_sentence(summary(0.5), "z").startswith(
        "Robust Bayesian meta-analysis with publication selection model averaging (RoBMA-PSMA; Barto\u0161 et al., "
        "2023) gave")


def test_robma_psma_is_spelled_out_at_its_first_use_in_the_report():
    """The Results wrote "Robust Bayesian model averaging (RoBMA-PSMA)" and never said what PSMA stands for
    (Barto\u0161 et al., 2023: publication selection model averaging); spelled out at the first use, as RoBMA,
    abbreviated in the next family's paragraph and in the Methods after it."""
    from alliance_meta.report.formatting import defined_in_order
    from alliance_meta.report.methods import methods_paragraph

    summary = pd.DataFrame({"quantity": ["component"] * 3, "name": ["effect", "heterogeneity", "bias"], "type": "",
                            "scale": "", "prior_prob": 0.5, "posterior_prob": [0.9, 0.4, 0.3],
                            "inclusion_bf": [9.0, 0.67, 0.43], "mean": NAN, "median": NAN, "ci_lower": NAN,
                            "ci_upper": NAN})
    methods = methods_paragraph({}, {"bma"}, {})
    assert ("Robust Bayesian meta-analysis with publication selection model averaging (RoBMA-PSMA; Barto\u0161 et "
            "al., 2023) averaged models") in methods
    outcome, dropout, after = defined_in_order([bma_sentence(summary, "z"), bma_sentence(summary, "log_or"), methods])
    assert "publication selection model averaging (RoBMA-PSMA; Barto\u0161 et al., 2023) gave" in outcome
    for text in (dropout, after):
        assert "publication selection" not in text and "RoBMA-PSMA (Barto\u0161 et al., 2023)" in text


def bma_tables(bias: bool) -> dict[str, pd.DataFrame]:
    """bma.csv and bma_summary.csv of an ensemble with (bma.bias true) or without the publication-bias models."""
    summary = pd.DataFrame({"quantity": ["component"] * 3 + ["estimate"], "name": ["effect", "heterogeneity", "bias",
                                                                                  "mu"],
                            "type": ["", "", "", "averaged"], "scale": ["", "", "", "analysis"],
                            "prior_prob": [0.5, 0.5, 0.5 if bias else 0.0, NAN],
                            "posterior_prob": [0.9, 0.4, 0.3 if bias else 0.0, NAN],
                            "inclusion_bf": [9.0, 0.67, 0.43 if bias else NAN, NAN], "mean": [NAN] * 3 + [0.3],
                            "median": [NAN] * 3 + [0.3], "ci_lower": [NAN] * 3 + [0.2], "ci_upper": [NAN] * 3 + [0.4]})
    models = pd.DataFrame({"effect": [0, 1], "heterogeneity": [0, 1], "bias": ["none", "none"],
                           "prior_prob": [0.25, 0.25], "log_marglik": [-3.0, -1.0], "posterior_prob": [0.1, 0.9],
                           "log_marglik_error": [0.0, 0.0], "method": ["exact", "exact"]})
    return {"bma": models, "bma_summary": summary}


@pytest.mark.parametrize("bias", [True, False])
def test_model_averaging_is_named_by_what_it_fitted_in_headings_results_and_methods(bias):
    """The headings said "Robust Bayesian model averaging" (RoBMA is robust Bayesian meta-analysis; Maier, Barto\u0161
    & Wagenmakers, 2023), also of bma.bias false, whose four normal models are plain Bayesian model averaging (the
    Methods called them "Robust Bayesian meta-analysis (RoBMA ...)"). One name from one definition: RoBMA-PSMA in
    the words of the report's abbreviations with the bias models, no "robust" without them."""
    from alliance_meta.report.formatting import ABBREVIATIONS
    from alliance_meta.report.html import family_section

    section = family_section("outcome", "z", bma_tables(bias), None, ["results/outcome/bma.png"], {},
                             {"bma": {"bias": bias}}, inlined={"bma.png": "data:image/webp;base64,AA"})
    titles = [table.title for table in section.tables] + [figure.title for figure in section.figures]
    methods = methods_paragraph({"bma": {"bias": bias}}, {"bma"}, {})
    sentence = [part for part in methods.split(". ") if "model averaging" in part][0]
    texts = [*titles, section.paragraph, sentence]
    assert not any("Robust Bayesian model averaging" in text for text in texts), texts
    words = ABBREVIATIONS["RoBMA-PSMA"]
    if bias:
        assert titles == [f"{words[0].upper()}{words[1:]}: {part}" for part in ("models", "summary")] + [
            f"{words[0].upper()}{words[1:]}"]
        assert section.paragraph.startswith(f"{words[0].upper()}{words[1:]} (RoBMA-PSMA; Barto\u0161 et al., "
                                            "2023) gave")
        assert sentence.startswith(f"{words[0].upper()}{words[1:]} (RoBMA-PSMA")
    else:
        plain = "Bayesian model averaging over effect and heterogeneity"
        assert titles == [f"{plain}: models", f"{plain}: summary", plain]
        assert section.paragraph.startswith(f"{plain} (Gronau et al., 2021; no publication-bias models) gave")
        assert sentence.startswith(f"{plain} (Gronau et al., 2021; no publication-bias models)")
        assert not any("robust" in text.lower() or "RoBMA" in text or "PSMA" in text for text in texts), texts


def test_the_model_averaging_has_one_name_across_code_config_and_docs():
    """bayes/bma.py, the config schema, config/README.md and docs/bayes.md called RoBMA-PSMA "robust Bayesian model
    averaging"; RoBMA is robust Bayesian meta-analysis (Maier, Barto\u0161 & Wagenmakers, 2023), as the report's
    abbreviations spell it out."""
    from pathlib import Path

    import alliance_meta

    root = Path(alliance_meta.__file__).parents[2]
    package = Path(alliance_meta.__file__).parent
    paths = [*sorted((package / "report").rglob("*.py")), *sorted((package / "report" / "templates").glob("*")),
             package / "bayes" / "bma.py", package / "bayes" / "bma_plot.py",
             root / "workflow" / "schemas" / "config.schema.yaml", root / "config" / "README.md",
             root / "docs" / "bayes.md", root / "docs" / "architecture.md", root / "README.md"]
    misnamed = [str(path.relative_to(root)) for path in paths
                if "robust bayesian model averaging" in " ".join(path.read_text(encoding="utf-8").lower().split())
                or "robust bayesian model-averaging" in path.read_text(encoding="utf-8").lower()]
    assert misnamed == []


# 9. the dropout direction note on the odds-ratio scale
def test_dropout_direction_note_on_the_odds_ratio_scale():
    counts = {"n": 200, "effect_sizes": 5}
    odds = pooled_sentence("dropout", "log_or", pooled_row(), counts)
    assert "(OR > 1: a stronger alliance among patients who stayed in treatment)" in odds
    assert "positive values" not in odds
    assert "(positive values: a stronger alliance" in pooled_sentence("dropout", "smd", pooled_row(), counts)


# 10. tests that could not run are named once with the reason, not printed as dashes
def test_tests_that_could_not_run_have_no_placeholders():
    moderators = pd.DataFrame({"moderator": ["modality", "rater", "year"], "qm": NAN, "qm_df": NAN, "qm_p": NAN,
                               "r2": NAN, "note": ["no mixed-effects model: too few rows for its coefficients"] * 2
                               + ["no mixed-effects model: year has one value (1988) in every row"]})
    text = moderators_sentence(moderators)
    assert "\u2013" not in text
    assert text == ("Moderator tests were not estimable: modality, rater (no mixed-effects model: too few rows for "
                    "its coefficients); year (no mixed-effects model: year has one value [1988] in every row).")
    mixed = moderators_sentence(pd.concat([pd.DataFrame({"moderator": ["setting"], "qm": [3.2], "qm_df": [1],
                                                         "qm_p": [0.07], "r2": [5.0], "note": [""]}), moderators]))
    assert mixed.startswith("Moderator tests (mixed-effects meta-regression, REML): setting, QM(1) = 3.20, p = .070")
    within = moderators_sentence(pd.DataFrame({"moderator": ["rater"], "qm": [6.458], "qm_df": [2], "qm_p": [0.0396],
                                               "r2": [NAN], "k": [12], "n_studies": [8], "note": [""]}))
    assert within == ("Moderator tests (mixed-effects meta-regression, REML): rater, QM(2) = 6.46, p = .040 (12 "
                      "study \u00d7 level composites of 8 studies, treated as independent).")
    assert "Not estimable: modality, rater (" in mixed
    missing = moderators_sentence(pd.DataFrame({"moderator": ["year", "rater"], "qm": [2.69, 1.0], "qm_df": [1, 1],
                                                "qm_p": [0.101, 0.3], "r2": [100.0, 0.0], "k": [7, 9],
                                                "n_studies": [7, 9], "k_dropped": [2, 0], "note": ["", ""]}))
    assert ("year, QM(1) = 2.69, p = .101, R\u00b2 = 100.0% (2 effect sizes without a value of year left out); "
            "rater, QM(1) = 1.00, p = .300, R\u00b2 = 0.0%.") in missing
    both = moderators_sentence(pd.DataFrame({"moderator": ["rater"], "qm": [6.458], "qm_df": [2], "qm_p": [0.0396],
                                             "r2": [NAN], "k": [12], "n_studies": [8], "k_dropped": [1], "note": [""]}))
    assert both.endswith("(12 study \u00d7 level composites of 8 studies, treated as independent; 1 effect size "
                         "without a value of rater left out).")
    note = "not estimable: k = 2 studies, the test needs at least 3"
    bias = pd.DataFrame({"test": ["egger", "rank", "trim_and_fill", "fail_safe_n"],
                         "statistic": [NAN, NAN, NAN, 2.0], "p": [NAN, NAN, NAN, 0.01], "estimate": NAN,
                         "k_imputed": NAN, "note": [note] * 3 + ["Rosenthal (Stouffer)"]})
    text = bias_sentence(bias, "smd")
    assert text == ("Small-study effects: Rosenthal's fail-safe N = 2. Egger's regression test, the rank correlation "
                    "test and trim and fill could not be run (k = 2 studies, each test needs at least 3).")
    assert bias_sentence(bias.iloc[:3], "smd") == (
        "Small-study effects were not tested (k = 2 studies, each test needs at least 3).")


# 11. selection fits without standard errors or convergence stay out of the range
def test_selection_range_leaves_out_failed_fits():
    selection = pd.DataFrame({
        "type": ["beta", "halfnorm", "negexp", "stepfun"],
        "estimate": [0.372, 0.273, 0.277, NAN], "se": [NAN, 0.068, 0.067, NAN],
        "lrt_p": [0.016, 0.156, 0.280, NAN], "converged": [True, True, True, False],
        "note": ["Hessian not invertible: standard errors not computed; tau2 = 0", "", "", "not computed"]})
    text = selection_sentence(selection, "z")
    assert "(beta)" not in text and ".36" not in text and "p = .016" not in text
    assert "by two selection models" in text and "p = .156 to p = .280" in text
    assert "(two of four models; the beta model's Hessian was not invertible)." in text
    assert text.endswith("Not fitted: the step function (selection-model table).")
    selection.loc[1, "converged"] = False
    assert "the half-normal model did not converge" in selection_sentence(selection, "z")


def test_no_study_with_an_n_is_not_n_of_zero():
    """A dropout family of odds ratios with their CI only (no n in any row): the sentence read
    "N = 0 (n unknown for 5 studies)"; the GRADE table already said "N unknown (no study gave its n)"."""
    unknown = pooled_sentence("dropout", "log_or", pooled_row(), {"n": 0, "effect_sizes": 5, "studies_without_n": 5})
    assert "(5 effect sizes), N unknown (no study gave its n);" in unknown and "N = 0" not in unknown
    some = pooled_sentence("dropout", "log_or", pooled_row(), {"n": 90, "effect_sizes": 5, "studies_without_n": 3})
    assert "N = 90 (n unknown for three studies)" in some


def test_trim_and_fill_that_imputed_nothing_names_no_adjusted_estimate():
    """"trim and fill imputed 0 studies (adjusted r = .28)": with nothing imputed the estimate is the pooled one."""
    bias = pd.DataFrame({"test": ["trim_and_fill"], "statistic": [0.0], "p": [NAN], "estimate": [0.3],
                         "k_imputed": [0.0], "note": [""]})
    text = bias_sentence(bias, "z")
    assert "trim and fill imputed no studies" in text and "adjusted" not in text and "0 studies" not in text


def test_the_results_give_the_odds_ratios_of_the_2x2_tables_themselves():
    """Under metric.dropout: log_or, pooled.csv has MH, Peto and GLMM rows that only the Methods and the table
    named; the Results now give them, name those without an estimate, and caution when Peto's is the only one."""
    from alliance_meta.report.text import count_models_sentence

    def rows(mh, peto, glmm):
        return pd.DataFrame({"method": ["REML", "MH", "Peto", "GLMM"], "test": "z", "k": [7, 4, 4, 4],
                             "estimate": [0.9, mh, peto, glmm], "ci_lower": [0.4, mh - 0.3, peto - 0.3, glmm - 0.3],
                             "ci_upper": [1.4, mh + 0.3, peto + 0.3, glmm + 0.3]})

    every = count_models_sentence(rows(math.log(1.5), math.log(1.6), math.log(1.55)))
    assert every == ("Pooled from the 2x2 tables themselves (k = 4 tables), the odds ratio was OR = 1.50, 95% CI "
                     "[1.11, 2.02], by Mantel\u2013Haenszel; OR = 1.60, 95% CI [1.19, 2.16], by Peto's one-step "
                     "method; and OR = 1.55, 95% CI [1.15, 2.09], by a binomial GLMM.")
    assert count_models_sentence(rows(math.log(1.5), NAN, math.log(1.55))).startswith(
        "Pooled from the 2x2 tables themselves (k = 4 tables), the odds ratio was OR = 1.50, 95% CI [1.11, 2.02], by "
        "Mantel\u2013Haenszel and OR = 1.55, 95% CI [1.15, 2.09], by a binomial GLMM; Peto's one-step method gave no "
        "estimate")
    separated = count_models_sentence(rows(NAN, 2.18, NAN))
    assert "Mantel\u2013Haenszel and a binomial GLMM gave no estimate" in separated
    assert "the only finite one, is biased when the odds ratio is far from 1 (Bradburn et al., 2007)" in separated
    assert count_models_sentence(rows(NAN, NAN, NAN)).startswith("No odds ratio could be pooled")
    assert count_models_sentence(rows(0.4, 0.4, 0.4).iloc[:1]) == "" and count_models_sentence(None) == ""


# 13. singular for one
def test_one_is_singular():
    from alliance_meta.report.formatting import counted
    from alliance_meta.report.html import environment

    one = pooled_sentence("outcome", "z", pooled_row(k=1), {"n": 80, "effect_sizes": 1, "studies_without_n": 1})
    assert "k = 1 study (1 effect size)" in one and "(n unknown for one study)" in one
    assert "k = 5 studies (7 effect sizes)" in pooled_sentence("outcome", "z", pooled_row(), {"effect_sizes": 7})
    bias = pd.DataFrame({"test": ["trim_and_fill"], "statistic": [1.0], "p": [NAN], "estimate": [0.3],
                         "k_imputed": [1.0], "note": [""]})
    assert "trim and fill imputed one study (adjusted r = .29)" in bias_sentence(bias, "z")
    assert counted(1, "row") == "1 row" and counted(2, "row") == "2 rows" and counted(1234, "row") == "1,234 rows"
    template = environment().from_string('{{ rows | length | counted("row") }}')
    assert template.render(rows=[1]) == "1 row" and template.render(rows=[1, 2]) == "2 rows"


# 14. the HDI's level when bayes.hdi_prob is not 0.95
def test_hdi_level_is_printed():
    bayes = pd.DataFrame({"parameter": ["mu", "tau"], "mean": [0.3, 0.1], "hdi_lower": [0.2, 0.0],
                          "hdi_upper": [0.4, 0.2]})
    text = results_paragraph("outcome", "z", {"bayes": bayes}, {}, "REML", ["z"], config={"bayes": {"hdi_prob": 0.9}})
    # the first HDI spelled out (APA 2020, sec. 6.25), the next abbreviated
    assert "90% highest-density interval (HDI) [.20, .38]" in text and "\u03c4 = 0.100, 90% HDI [0.000, 0.200]" in text
    assert "), 95% HDI [.20, .38]" in bayes_sentence(bayes, "z")


def test_bias_sentence_reports_the_three_level_egger_test_first():
    """Under dependence: multilevel the Results gave only the composite Egger test (z = -1.91, p = .056) beside
    bias.csv's egger_multilevel t = -3.52, p = .028 (a three-level walkthrough)."""
    bias = pd.DataFrame({"test": ["egger", "egger_multilevel"], "statistic": [-1.91, -3.52], "p": [0.056, 0.028],
                         "estimate": [np.nan, 0.48], "k_imputed": [np.nan] * 2, "df": [np.nan, 3.71],
                         "note": ["", ""]})
    text = bias_sentence(bias.assign(df=[np.nan, 4.71]), "z")
    assert text.startswith("Small-study effects: Egger's test in the three-level model (CR2) t(4.71) = \u22123.52, "
                           "p = .028; Egger's regression test on the study composites z = \u22121.91, p = .056")
    # with df below 4 the clause says, as the moderator tests' do, that the robust test is not to be trusted
    # (it read "t(1.65) = 5.39, p = .049" without a word in a three-level walkthrough)
    assert ("t(3.71) = \u22123.52, p = .028 (df below 4: the robust test is not to be trusted; Tipton, 2015); "
            "Egger's regression test on the study composites" in bias_sentence(bias, "z"))
    assert "composites" not in bias_sentence(bias[bias["test"] == "egger"], "z")


def test_bayes_sentence_gives_the_back_transformed_posterior_of_the_table():
    """The sentence gave exp of mu's posterior mean and HDI limits (OR = 2.09, HDI [1.58, 2.80]) beside a table whose
    OR row, the posterior of exp(mu), reads 2.11 [1.52, 2.71] (a dropout walkthrough)."""
    bayes = pd.DataFrame({"parameter": ["mu", "tau", "or"], "mean": [0.737, 0.1, 2.111],
                          "hdi_lower": [0.457, 0.0, 1.523], "hdi_upper": [1.030, 0.2, 2.707]})
    text = bayes_sentence(bayes, "log_or")
    assert "\u03bc = 0.737 (log odds ratio); posterior mean of OR = 2.11, 95% HDI [1.52, 2.71]" in text
    # without the row (a table of an older run), the transform of mu's summaries, as before
    assert "\u03bc = 0.737 (log odds ratio; OR = 2.09), 95% HDI [1.58, 2.80]" in bayes_sentence(
        bayes[bayes["parameter"] != "or"], "log_or")


# 15. one remaining study gives its estimate, not a pooled one
def test_single_study_estimate_is_not_called_pooled():
    analysis = pd.DataFrame({"study_id": ["a", "b"], "rob_participation": ["high", "low"],
                             "rob_overall": ["high", "low"]})
    sensitivity = pd.DataFrame({"subset": ["exclude_high"], "k_studies": [1], "estimate": [0.4],
                                "ci_lower": [0.12], "ci_upper": [0.69]})
    text = risk_of_bias_sentence(analysis, {"tool": "quips"}, sensitivity, "smd")
    assert "Without the high-risk studies the estimate of the single remaining study was g = 0.40" in text
    assert "pooled" not in text and "(k = 1)" not in text
    sensitivity.loc[0, "k_studies"] = 3
    assert "the pooled estimate was g = 0.40, 95% CI [0.12, 0.69] (k = 3)." in risk_of_bias_sentence(
        analysis, {"tool": "quips"}, sensitivity, "smd")


def test_risk_of_bias_ci_names_its_test_when_the_headline_uses_another():
    """rob_sensitivity.csv had Wald z refits whatever the headline's test; with pooling.tests [knha] the headline
    CI is Knapp-Hartung, so the sentence must say which CI it gives (it claimed none and read as Knapp-Hartung).
    The refits now have the headline's test (nothing to add), ad hoc Knapp-Hartung too (pooled.csv calls it knha)."""
    analysis = pd.DataFrame({"study_id": ["a", "b", "c", "d"], "rob_participation": ["high", "low", "low", "low"],
                             "rob_overall": ["high", "low", "low", "low"]})
    sensitivity = pd.DataFrame({"subset": ["exclude_high"], "k_studies": [3], "estimate": [0.4], "ci_lower": [0.12],
                                "ci_upper": [0.69], "test": ["z"]})
    knha = risk_of_bias_sentence(analysis, {"tool": "quips"}, sensitivity, "smd", main_test="knha")
    assert knha.endswith("95% CI [0.12, 0.69] (k = 3; Wald z CI).")
    for main_test in ("z", None):  # the same test, or unknown: nothing added (the demo's sentence)
        assert risk_of_bias_sentence(analysis, {"tool": "quips"}, sensitivity, "smd",
                                     main_test=main_test).endswith("95% CI [0.12, 0.69] (k = 3).")
    for test in ("knha", "adhoc"):
        sensitivity.loc[0, "test"] = test
        assert risk_of_bias_sentence(analysis, {"tool": "quips"}, sensitivity, "smd",
                                     main_test="knha").endswith("95% CI [0.12, 0.69] (k = 3).")
    sensitivity.loc[0, "test"] = "z"
    sensitivity.loc[0, "k_studies"] = 1
    assert risk_of_bias_sentence(analysis, {"tool": "quips"}, sensitivity, "smd",
                                 main_test="knha").endswith("95% CI [0.12, 0.69] (Wald z CI).")


def test_psychometric_n_says_why_it_differs_from_the_pooled_n():
    """The pooled sentence sums each study's largest n; the psychometric one each study's mean n over its
    correlations (psychmeta's collapse): the demo gave N = 11,021 and N = 10,895 for the same 125 studies."""
    from alliance_meta.report.psychometric import psychometric_sentence

    table = pd.DataFrame({"method": ["bare_bones"], "k": [3], "n": [100.0], "r_bar": [0.3], "ci_lower": [0.2],
                          "ci_upper": [0.4], "percent_artifact_variance": [float("nan")]})
    why = "a study with several correlations counts with their mean n"
    assert why in psychometric_sentence(table, counts={"studies": 3, "n": 120})
    for counts in ({"studies": 3, "n": 100}, {"studies": 4, "n": 120}, None):  # same N; other studies; unknown
        assert why not in psychometric_sentence(table, counts=counts)


def test_methods_say_which_interval_the_results_give():
    """With two or more kinds of CI (z and Knapp-Hartung; z, t and CR2) the Methods say the Results quote
    the first (main_row's choice); with one kind they say nothing more."""
    from alliance_meta.report.methods import methods_paragraph

    which = "The Results give the interval of the first of these tests"
    assert which in methods_paragraph({"pooling": {"tests": ["z", "knha"]}}, set(), {})
    assert which not in methods_paragraph({"pooling": {"tests": ["knha"]}}, set(), {})
    three_level = {"dependence": "multilevel", "pooling": {"tests": ["z"]}}
    assert which in methods_paragraph(three_level, set(), {})  # z and CR2
    assert which not in methods_paragraph({**three_level, "multilevel": {"robust": False}}, set(), {})


def test_psychometric_variance_share_over_100_percent_is_explained():
    from alliance_meta.report.psychometric import psychometric_sentence

    table = pd.DataFrame({"method": ["bare_bones"], "k": [6], "n": [573.0], "r_bar": [0.28], "ci_lower": [0.21],
                          "ci_upper": [0.35], "percent_artifact_variance": [200.5], "sd_res": [0.0],
                          "cr_lower": [0.28], "cr_upper": [0.28]})
    text = psychometric_sentence(table)
    assert "accounted for 200.5% (over 100%: the correlations vary less than sampling error alone" in text
    table.loc[0, "percent_artifact_variance"] = 58.6
    assert "accounted for 58.6% of the variance" in psychometric_sentence(table)


def test_bayes_factors_are_written_for_reading():
    """The Results wrote "inclusion BF = 3890.92" (no thousands separator, unlike every other number there) and
    "BF > 10^6" with the caret of code."""
    from alliance_meta.report.text import _bf_text

    assert _bf_text(3890.9213) == "BF = 3,890.92" and _bf_text(2.1249) == "BF = 2.12"
    assert _bf_text(2e7) == _bf_text(float("inf")) == "BF > 10\u2076"
    assert _bf_text(0.001) == "BF < 0.01" and _bf_text(float("nan")) == "BF not defined"


# one study: no heterogeneity to estimate, no prediction interval, tau's posterior from its prior
def test_one_study_says_heterogeneity_cannot_be_estimated():
    """With one study the Results gave "tau^2 = 0.000 (Fisher's z), I^2 = 0.0%; 95% prediction interval [.09, .49]"
    though pooled.csv sets tau^2 to 0 (no heterogeneity test) and the interval is the CI; the Bayesian sentence gave
    tau's posterior as if the data had informed it."""
    one = pooled_row(k=1, tau2=0.0, i2=0.0, q=0.0, q_df=0, q_p=1.0, pi_lower=0.20, pi_upper=0.40,
                     note="k = 1: tau^2 set to 0, no heterogeneity test")
    text = pooled_sentence("outcome", "z", one, {"n": 80, "effect_sizes": 1})
    assert "heterogeneity cannot be estimated from one study" in text
    assert "prediction interval [" not in text and "I\u00b2" not in text and "Q(" not in text
    assert "95% prediction interval [.05, .50]" in pooled_sentence("outcome", "z", pooled_row(), {"effect_sizes": 5})
    bayes = pd.DataFrame({"parameter": ["mu", "tau"], "mean": [0.27, 0.37], "hdi_lower": [-0.6, 0.0],
                          "hdi_upper": [1.0, 0.9]})
    paragraph = results_paragraph("outcome", "z", {"pooled": pd.DataFrame([one]), "bayes": bayes},
                                  {"n": 80, "effect_sizes": 1, "studies": 1}, "REML", ["z"])
    assert "the posterior of \u03c4 comes from its prior alone" in paragraph
    assert "prior alone" not in bayes_sentence(bayes, "z", studies=5)


def test_one_study_pooled_table_has_no_prediction_interval_or_heterogeneity_test():
    from alliance_meta.report.tables import manuscript_table

    one = pooled_row(k=1, tau2=0.0, i2=0.0, q=0.0, q_df=0, q_p=1.0, pi_lower=0.20, pi_upper=0.40)
    table = manuscript_table("pooled", pd.DataFrame([one]), "z")
    row = dict(zip(table.header, table.rows[0]))
    assert row["95% PI"] == "" and row["Q (df)"] == "" and row["p (Q)"] == ""
    assert "k = 1: heterogeneity cannot be estimated from one study" in table.note
    many = dict(zip(table.header, manuscript_table("pooled", pd.DataFrame([pooled_row()]), "z").rows[0]))
    assert many["95% PI"] == "[.05, .50]" and many["Q (df)"] == "8.00 (4)"


# the model-averaged estimate is named: the posterior median (bma_summary.csv and RoBMA's summary lead with the mean)
def test_model_averaged_estimate_is_named_the_posterior_median():
    """"the model-averaged estimate was r = .00, 95% CrI [-.07, .21]" was the posterior median, unnamed, beside a
    table whose first estimate column is the mean (.03)."""
    summary = pd.DataFrame({"quantity": ["component", "estimate"], "name": ["effect", "mu"],
                            "type": ["", "averaged"], "scale": ["", "analysis"], "prior_prob": [0.5, NAN],
                            "posterior_prob": [0.35, NAN], "inclusion_bf": [0.55, NAN],
                            "mean": [NAN, 0.0349], "median": [NAN, 0.0], "ci_lower": [NAN, -0.075],
                            "ci_upper": [NAN, 0.2123]})
    text = bma_sentence(summary, "z")
    assert text.endswith("; the model-averaged estimate (posterior median) was r = .00, 95% CrI [\u2212.07, .21].")


def test_credible_interval_is_spelled_out_at_its_first_use_in_the_results():
    """"CrI" was never defined in the Results (the model-averaged "95% CrI [.26, .32]"), though "Bayes factor" is
    spelled out at its first use: the first CrI of a family's paragraph is "credible interval (CrI)", whichever
    sentence has it (a log-OR family's Bayesian model gives the odds ratio's equal-tailed CrI before the averaging)."""
    summary = pd.DataFrame({"quantity": ["component", "estimate"], "name": ["effect", "mu"],
                            "type": ["", "averaged"], "scale": ["", "analysis"], "prior_prob": [0.5, NAN],
                            "posterior_prob": [0.99, NAN], "inclusion_bf": [99.0, NAN], "mean": [NAN, 0.3],
                            "median": [NAN, 0.3], "ci_lower": [NAN, 0.27], "ci_upper": [NAN, 0.33]})
    bayes = pd.DataFrame({"parameter": ["mu", "tau"], "mean": [0.3, 0.1], "hdi_lower": [0.2, 0.0],
                          "hdi_upper": [0.4, 0.2]})
    text = results_paragraph("outcome", "z", {"bayes": bayes, "bma_summary": summary}, {}, "REML", ["z"])
    assert "(posterior median) was r = .29, 95% credible interval (CrI) [.26, .32]." in text
    assert text.count("CrI") == 1
    odds = bayes.assign(median=[0.3, 0.1], eti_lower=[0.2, 0.0], eti_upper=[0.4, 0.2])
    odds = pd.concat([odds, pd.DataFrame({"parameter": ["or"], "mean": [1.4], "median": [1.35], "eti_lower": [1.2],
                                          "eti_upper": [1.5], "hdi_lower": [1.2], "hdi_upper": [1.5]})])
    text = results_paragraph("dropout", "log_or", {"bayes": odds, "bma_summary": summary}, {}, "REML", ["z"])
    assert "95% equal-tailed credible interval (CrI) [1.20, 1.50]" in text
    assert "OR = 1.35, 95% CrI [1.31, 1.39]." in text and text.count("credible interval") == 1


# two step functions: the one-step model of bias.csv and the step function of selection_models.csv, told apart
def test_step_function_not_fitted_is_told_apart_from_the_one_step_model():
    """The bias table had 'Selection model' (a one-step model at p = .025: r = .10, p = .073) while the Results
    said 'Not fitted: step function' of the selection-model table (steps .025, .10, .50): they looked contradictory."""
    from alliance_meta.report.tables import manuscript_table

    selection = pd.DataFrame({
        "type": ["halfnorm", "stepfun"], "steps": ["", "0.025;0.1;0.5;1.0"], "estimate": [0.143, NAN],
        "se": [0.057, NAN], "lrt_p": [0.217, NAN], "converged": [True, False],
        "note": ["tau2 = 0", "not computed: the p-value interval (0.5, 1] has no studies (studies per interval: "
                             "5, 2, 1, 0)"]})
    bias = pd.DataFrame({"test": ["egger", "selection_model"], "statistic": [2.13, 3.21], "p": [0.034, 0.073],
                         "estimate": [NAN, 0.1022], "k_imputed": [NAN, NAN],
                         "note": ["", "step function at one-sided p = 0.025; statistic = LRT; delta = 0.1193"]})
    text = selection_sentence(selection, "z", bias)
    assert text.endswith(
        "Not fitted: the step function with steps at one-sided p = .025, .10 and .50 (selection-model table; the "
        "p-value interval (0.5, 1] has no studies [studies per interval: 5, 2, 1, 0]); the one-step selection model "
        "at one-sided p = .025 (publication-bias table) gave r = .10, likelihood-ratio test p = .073, a different model.")
    assert "publication-bias table" not in selection_sentence(selection.iloc[:1], "z", bias)  # nothing to tell apart
    paragraph = results_paragraph("outcome", "z", {"selection_models": selection, "bias": bias}, {}, "REML", ["z"])
    assert "(publication-bias table) gave r = .10" in paragraph
    names = [row[0] for row in manuscript_table("bias", bias, "z").rows]
    assert names == ["Egger's regression test", "Selection model, one step at one-sided p = .025"]


def test_methods_name_a_custom_risk_of_bias_tool_with_its_article():
    from alliance_meta.report.methods import risk_of_bias_methods

    custom = risk_of_bias_methods({"risk_of_bias": {"tool": "custom", "domains": ["selection", "attrition"]}})
    assert custom.startswith("Risk of bias was rated with a custom risk-of-bias tool;")
    assert "with a " not in risk_of_bias_methods({"risk_of_bias": {"tool": "quips"}}).split(";")[0]


def test_r2_is_not_given_where_tau2_of_the_model_without_the_moderator_is_0():
    """metafor's R^2 is 0 by rule when tau^2_RE is 0; the report printed "R² = 0.0%" as if measured."""
    from alliance_meta.report.tables import moderators_table
    frame = pd.DataFrame({"moderator": ["modality", "year"], "k": [20, 20], "qm": [3.1, 0.2], "qm_df": [2, 1],
                          "qm_p": [0.21, 0.65], "f": [1.5, 0.2], "f_df1": [2, 1], "f_df2": [17, 18],
                          "f_p": [0.25, 0.66], "tau2": [0.004, 0.0], "r2": [41.5, 0.0], "tau2_null": [0.0071, 0.0]})
    sentence = moderators_sentence(frame)
    assert "modality, QM(2) = 3.10, p = .210, R\u00b2 = 41.5%" in sentence
    assert ("year, QM(1) = 0.20, p = .650, R\u00b2 not given (\u03c4\u00b2 of the model without the moderator is 0, "
            "so there is no heterogeneity for it to account for)") in sentence
    assert "R\u00b2 = 0.0%" not in sentence
    table = moderators_table(frame, "z")
    assert [row[-1] for row in table.rows] == ["41.5", "\u2013"]
    assert "R\u00b2 not given for year: \u03c4\u00b2 of the model without the moderator is 0" in table.note
    # an R^2 of 0 with heterogeneity left to account for is a result, and is given
    measured = frame.assign(tau2_null=[0.0071, 0.003], tau2=[0.004, 0.0035])
    assert "year, QM(1) = 0.20, p = .650, R\u00b2 = 0.0%" in moderators_sentence(measured)
    assert "not given" not in moderators_table(measured, "z").note


def test_the_moderator_table_has_no_permutation_column_without_permutation_tests():
    """permutations: 0 left an empty "p (permutation)" column, and the note defined it."""
    from alliance_meta.report.tables import moderators_table

    row = {"moderator": "rater", "k": 10, "qm": 3.0, "qm_df": 1, "qm_p": 0.08, "f": 2.5, "f_df1": 1, "f_df2": 8,
           "f_p": 0.15, "tau2": 0.01, "r2": 20.0, "tau2_null": 0.02}
    for permutation, shown in ((0.1, True), (float("nan"), False), (None, False)):
        frame = pd.DataFrame([row if permutation is None else {**row, "qm_p_permutation": permutation}])
        table = moderators_table(frame, "z")
        assert ("p (permutation)" in table.header) == shown and ("p (permutation) =" in table.note) == shown
        assert all(len(cells) == len(table.header) for cells in table.rows)
        three_level = moderators_table(frame.assign(multilevel_qm=2.0, multilevel_qm_df=1, multilevel_qm_p=0.16,
                                                    multilevel_k=14), "z")  # dependence: multilevel's table
        assert ("p (permutation)" in three_level.header) == shown and ("permutation test" in three_level.note) == shown
        assert all(len(cells) == len(three_level.header) for cells in three_level.rows)


def test_the_moderator_table_says_what_k_counts_where_studies_have_several_levels():
    """k of a moderator coded within studies (rater) counts study x level composites, more than the studies;
    moderators.csv's note says so, and the manuscript table left it out."""
    from alliance_meta.report.tables import moderators_table
    note = ("214 composites of 125 studies: the composites of a study at different levels are treated as "
            "independent (a three-level model respects their nesting in studies)")
    frame = pd.DataFrame({"moderator": ["modality", "rater"], "k": [125, 214], "qm": [9.3, 5.2], "qm_df": [5, 2],
                          "qm_p": [0.1, 0.07], "f": [1.9, 2.6], "f_df1": [5, 2], "f_df2": [119, 211],
                          "f_p": [0.1, 0.08], "tau2": [0.011, 0.014], "r2": [5.2, 2.9],
                          "tau2_null": [0.0113, 0.0145], "note": [float("nan"), note]})
    table = moderators_table(frame, "z")
    assert table.note.endswith(f" rater: {note}.")
    assert "modality:" not in table.note


def test_pooled_table_note_says_when_the_cr2_row_has_df_below_4():
    """Two studies under dependence: multilevel: the pooled table's cr2 row is t(1.01), CI [-.05, .51], and its note
    said nothing of the df (the moderator table says df2 below 4 is not to be trusted)."""
    from alliance_meta.report.tables import pooled_table

    three = dict(sigma2_between=0.0, sigma2_within=0.0026, n_studies=2, k=7)
    rows = pd.DataFrame([pooled_row(test="z", df=np.inf, **three), pooled_row(test="cr2", df=1.006, **three)])
    assert ("cr2 with df below 4 (REML): the robust test is not to be trusted (Tipton, 2015)."
            in pooled_table(rows, "z").note)
    assert "df below" not in pooled_table(rows.assign(df=[np.inf, 9.6]), "z").note


def test_a_permutation_p_of_1_read_as_an_integer_is_in_the_results_as_in_the_moderator_table():
    """two_studies: every permutation gave p = 1, the CSV column read back as integers, and the Results left the
    permutation p out ("QM(1) = 0.01, p = .932,") while the moderator table gave 1.000 (now both "> .999")."""
    from io import StringIO

    csv = ("moderator,k,qm,qm_df,qm_p,r2,tau2_null,qm_p_permutation\n"
           "rater,3,0.0072,1,0.9324,0,0,1\n")  # SIMULATED
    moderators = pd.read_csv(StringIO(csv))
    assert "QM(1) = 0.01, p = .932 (permutation p > .999)" in moderators_sentence(moderators)


def test_methods_say_which_reliabilities_were_assumed():
    """psychometric.outcome_reliability (and reliability by measure) filled the reliabilities studies did not
    report, but the Methods did not say so: a reader took every corrected correlation for one of reported values."""
    from alliance_meta.report.methods import methods_paragraph

    config = {"psychometric": {"reliability": {"WAI": 0.9, "CALPAS": 0.855}, "outcome_reliability": 0.8}}
    text = methods_paragraph(config, {"psychometric"}, {}, families=["outcome"])
    assert ("Where a study reported no reliability, an assumed one was used (alliance measures: WAI .90 and "
            "CALPAS .855; outcome measures: .80).") in text
    assert "assumed one" not in methods_paragraph({"psychometric": {}}, {"psychometric"}, {}, families=["outcome"])


def test_moderators_coded_only_in_the_other_family_are_named_once_as_not_coded():
    """The dropout family's Results listed each outcome-only moderator as "not estimable" with the same reason
    repeated: "study_design (no mixed-effects model: study_design has no value in any row); controls (...)"."""
    moderators = pd.DataFrame({"moderator": ["design", "controls", "year"], "qm": [NAN, NAN, 3.49],
                               "qm_df": [NAN, NAN, 1], "qm_p": [NAN, NAN, 0.062], "r2": [NAN, NAN, 21.8],
                               "k": [0, 0, 13], "note": ["no mixed-effects model: design has no value in any row",
                                                         "no mixed-effects model: controls has no value in any row",
                                                         ""]})
    assert moderators_sentence(moderators) == (
        "Moderator tests (mixed-effects meta-regression, REML): year, QM(1) = 3.49, p = .062, R\u00b2 = 21.8%. "
        "Not coded in any study of this family: design and controls.")


def test_the_results_give_the_level_of_every_hdi_as_of_every_ci():
    """The demo's Results read "95% CI [.27, .32]" and "95% CrI [.26, .32]" but "highest-density interval (HDI)
    [.27, .32]": an interval without its level (APA 2020, sec. 6.43), at the default 0.95 only."""
    bayes = pd.DataFrame({"parameter": ["mu", "tau", "r"], "mean": [0.303, 0.108, 0.294],
                          "hdi_lower": [0.278, 0.08, 0.271], "hdi_upper": [0.33, 0.13, 0.32]})
    text = results_paragraph("outcome", "z", {"bayes": bayes}, {}, "REML", ["z"])
    assert ("posterior mean of r = .29, 95% highest-density interval (HDI) [.27, .32]; \u03c4 = 0.108, 95% HDI "
            "[0.080, 0.130]") in text, text


def test_listed_joins_with_commas_or_with_semicolons_for_items_that_hold_commas():
    """One helper for both lists: commas without a serial comma; semicolons with one before the last "and" (APA 2020,
    sec. 6.4), as the count models' sentence joined them by hand."""
    from alliance_meta.report.formatting import listed

    assert [listed(["a", "b", "c"][:n]) for n in range(4)] == ["", "a", "a and b", "a, b and c"]
    assert [listed(["a, 1", "b, 2", "c, 3"][:n], "; ") for n in range(4)] == [
        "", "a, 1", "a, 1 and b, 2", "a, 1; b, 2; and c, 3"]
