"""A methods reviewer's read of the demo report: the Methods say what each job actually did (the sampler the bayes job
used, the GOSH subsets each family got, the selection model's cut points), every analysis the Methods describe is
reported, and degrees of freedom follow one rounding rule."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from alliance_meta.report.methods import methods_paragraph, run_facts, sampler_sentence


def test_the_methods_name_the_sampler_the_bayes_job_recorded_not_the_reports_environment(monkeypatch):
    """The sampler sentence named nutpie or PyMC by what the report's own Python could import: a report rendered where
    nutpie is installed said "nutpie" of posteriors PyMC drew (and the reverse). It now names the sampler the bayes job
    recorded in results/{family}/bayes_sampler.json, whatever the report's environment has."""
    import alliance_meta.bayes.mcmc as mcmc

    monkeypatch.setattr(mcmc, "available_backend", lambda requested="auto": "nutpie")  # the report's environment
    assert "(Hoffman & Gelman, 2014; PyMC)" in sampler_sentence({}, {"outcome": "pymc", "dropout": "pymc"})
    monkeypatch.setattr(mcmc, "available_backend", lambda requested="auto": "pymc")
    assert "(Hoffman & Gelman, 2014; nutpie)" in sampler_sentence({}, {"outcome": "nutpie"})
    # families that differ are each named; none recorded (an earlier run): no sampler named rather than a guess
    assert "(Hoffman & Gelman, 2014; nutpie for outcome and PyMC for dropout)" in sampler_sentence(
        {}, {"outcome": "nutpie", "dropout": "pymc"})
    assert "(Hoffman & Gelman, 2014) in four chains" in sampler_sentence({}, {})


def test_the_bayes_job_records_its_sampler_and_the_report_reads_it():
    """results/{family}/bayes_sampler.json holds the sampler the stage used (StageResult.sampler) and its version; the
    report's run_facts read it into the Methods."""
    from importlib import metadata

    from alliance_meta.bayes.analysis import StageResult, sampler_record

    result = StageResult(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {}, "pymc")
    record = sampler_record(result)
    assert record == {"sampler": "pymc", "version": metadata.version("pymc")}
    assert sampler_record(StageResult(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {})) == {}  # nothing sampled
    families = {"outcome": {"tables": {}, "records": {"bayes_sampler": json.loads(json.dumps(record))}}}
    effect_sizes = pd.DataFrame({"study_id": ["a"], "family": ["outcome"], "yi": [0.1], "vi": [0.01]})
    facts = run_facts(families, effect_sizes)
    assert facts["samplers"] == {"outcome": "pymc"}
    assert "(Hoffman & Gelman, 2014; PyMC)" in methods_paragraph({}, {"bayes"}, {}, ["outcome"], **facts)


def test_the_gosh_methods_say_the_subsets_each_family_got():
    """The Methods stated GOSH's subsets as the rule ("every subset of the studies, or 1,000,000 random subsets where
    there are more"), not what each family got: all 2^k - 1 subsets of its k studies, or N random ones, read from the
    family's gosh_studies.csv (one row per study)."""
    families = {"outcome": {"tables": {"gosh_studies": pd.DataFrame({"study_id": [f"s{i}" for i in range(125)]})}},
                "dropout": {"tables": {"gosh_studies": pd.DataFrame({"study_id": [f"d{i}" for i in range(10)]})}}}
    effect_sizes = pd.DataFrame({"study_id": ["s0"], "family": ["outcome"], "yi": [0.1], "vi": [0.01]})
    facts = run_facts(families, effect_sizes)
    text = methods_paragraph({"gosh": {"subsets": 1_000_000, "seed": 7}}, {"bias", "gosh"}, {},
                             ["outcome", "dropout"], **facts)
    assert ("(Olkin et al., 2012; outcome: 1,000,000 random subsets of 125 studies [seed 7]; dropout: all 1,023 "
            "subsets of 10 studies)") in text
    assert "every subset of the studies" not in text
    one = methods_paragraph({"gosh": {"subsets": 511}}, {"bias", "gosh"}, {}, ["dropout"], gosh_studies={"dropout": 9})
    assert "(Olkin et al., 2012; all 511 subsets of nine studies)" in one
    # two families in one parenthesis: their counts of studies are set beside one another (APA 2020, sec. 6.32),
    # not "all 511 subsets of nine studies" beside "random subsets of 30 studies"
    both = methods_paragraph({"gosh": {"subsets": 1_000}}, {"bias", "gosh"}, {}, ["outcome", "dropout"],
                             gosh_studies={"outcome": 30, "dropout": 9})
    assert "outcome: 1,000 random subsets of 30 studies [seed" in both
    assert "dropout: all 511 subsets of 9 studies" in both
    few = methods_paragraph({"gosh": {"subsets": 1_000}}, {"bias", "gosh"}, {}, ["outcome", "dropout"],
                            gosh_studies={"outcome": 30, "dropout": 2})
    assert "dropout: none, fewer than 3 studies" in few
    small = methods_paragraph({}, {"bias", "gosh"}, {}, ["outcome", "dropout"],
                              gosh_studies={"outcome": 4, "dropout": 2})
    assert "outcome: all 15 subsets of four studies; dropout: none, fewer than three studies" in small


def test_gosh_chooses_its_subsets_by_the_rule_the_methods_state():
    """The Methods' count and the GOSH job's come from one rule (analyses.gosh.subset_plan)."""
    from alliance_meta.analyses.gosh import choose_subsets, subset_plan

    for k, subsets in ((4, 15), (4, 14), (10, 1000)):
        matrix, exact = choose_subsets(k, subsets)
        assert (len(matrix), exact) == subset_plan(k, subsets)


def test_the_selection_models_are_named_with_their_cut_points():
    """The summary of findings (and the Methods) named "the step-function selection model" without its p-value cut
    points (bias.selection.steps), which a reader needs to know which model it was."""
    from alliance_meta.report.grade import publication_bias

    row = dict(k=12, ci_lower=0.2, ci_upper=0.4)
    bias = pd.DataFrame({"test": ["egger"], "p": [0.5]})
    selection = pd.DataFrame({"type": ["stepfun"], "steps": ["0.025;0.1;0.5;1.0"], "lrt_p": [0.774],
                              "ci_lower": [0.2], "ci_upper": [0.4]})
    _, reason = publication_bias(row, bias, selection)
    assert ("step-function selection model (p-value cut points .025, .10 and .50) likelihood-ratio test p = .774"
            in reason), reason
    text = methods_paragraph({"bias": {"selection": {"steps": [0.025, 0.1, 0.5, 1], "sided": "one"}}},
                             {"bias", "selection_models"}, {}, ["outcome"])
    assert "a step function (cut points at one-sided p = .025, .10 and .50)" in text
    two = methods_paragraph({"bias": {"selection": {"steps": [0.05, 1], "sided": "two"}}},
                            {"bias", "selection_models"}, {}, ["outcome"])
    assert "a step function (cut point at two-sided p = .05)" in two


@pytest.fixture
def demo_like_tables() -> dict[str, pd.DataFrame]:
    """Rows as the demo's results/outcome/ CSVs hold them (rounded here; the sentences read the columns)."""
    return {
        "rve": pd.DataFrame({"model": ["corr", "hier", "cr2"], "term": ["intercept"] * 3,
                             "estimate": [0.30198, 0.30955, 0.30348], "df": [111.3954, 90.5544, 112.50398],
                             "ci_lower": [0.27561, 0.27950, 0.27692], "ci_upper": [0.32834, 0.33960, 0.33005],
                             "k": [337, 337, 125], "n_studies": [125, 125, 125]}),
        "rve_sensitivity": pd.DataFrame({"rho": [0, 0.5, 1], "estimate": [0.30198, 0.30198, 0.30198]}),
        "location_scale": pd.DataFrame({"model": ["rater", "rater"], "scale_formula": ["rater", "rater"],
                                        "estimate": [0.319, -4.4], "k": [214, 214], "lrt": [2.285917, 2.285917],
                                        "lrt_df": [2, 2], "lrt_p": [0.318874, 0.318874]}),
        "location_scale_tau2": pd.DataFrame({"model": ["rater"] * 3, "level": ["observer", "patient", "therapist"],
                                             "tau2": [0.023637, 0.012214, 0.012036]}),
        "model_comparison": pd.DataFrame({"comparison": ["modality vs 1"] * 2, "model": ["full", "reduced"],
                                          "aic": [-109.43218, -110.03835], "lrt": [9.393828, float("nan")],
                                          "lrt_df": [5, float("nan")], "lrt_p": [0.09435, float("nan")]}),
        "gosh_studies": pd.DataFrame({"study_id": ["S001", "S117", "S071"], "estimate_shift": [-0.0018, 0.0067, 0.001],
                                      "i2_shift": [-0.36, 0.2, 5.519]}),
        "multiverse_summary": pd.DataFrame({"choice": ["all"], "option": ["all"], "specifications": [11124],
                                            "fitted": [10980], "share_significant": [0.909472], "share_positive": [1.0],
                                            "median_estimate": [0.309562], "min_estimate": [0.015233],
                                            "max_estimate": [0.722318]}),
    }


def test_every_analysis_the_methods_describe_is_reported_in_the_results(demo_like_tables):
    """RVE, the location-scale model, the model comparison, GOSH and the multiverse were described in the Methods and
    never mentioned in the Results: each now has a sentence with its numbers from its CSV."""
    from alliance_meta.report.text import results_paragraph

    text = results_paragraph("outcome", "z", demo_like_tables, {}, "REML", ["z"], 95, {})
    assert ("Robust variance estimation gave r = .29, 95% CI [.27, .32] (correlated effects, df = 111.40; k = 337 "
            "effect sizes, 125 studies)") in text
    assert "r = .30, 95% CI [.27, .33] (hierarchical effects, df = 90.55;" in text
    assert ("with an assumed correlation from 0 to 1 between the effect sizes of a study the correlated-effects "
            "estimate was r = .29") in text
    assert ("A location-scale model of \u03c4\u00b2 by rater (k = 214) gave \u03c4\u00b2 = 0.024 (observer), 0.012 "
            "(patient) and 0.012 (therapist; Fisher's z); likelihood-ratio test against one \u03c4\u00b2, "
            "\u03c7\u00b2(2) = 2.29, p = .319.") in text
    assert "\u0394AIC = Akaike information criterion of the fuller minus the reduced model" in text
    assert "modality vs intercept only \u03c7\u00b2(5) = 9.39, p = .094, \u0394AIC = 0.61" in text
    assert ("the inclusion of a single study shifted the subsets' mean estimate by at most 0.007 (Fisher's z; S117) "
            "and their mean I\u00b2 by at most "
            "5.5 percentage points (S071)") in text
    assert ("Across the 11,124 specifications of the multiverse (10,980 fitted), the median estimate was r = .30 "
            "(range .02 to .62); of the fitted, 90.9% had a CI excluding no effect and 100.0% a positive estimate."
            ) in text


def test_the_methods_say_where_the_analyses_the_results_do_not_quote_are():
    """The Methods described leave-one-out, influence and cumulative analyses, PET-PEESE, the test of excess
    significance, the Henmi-Copas interval, S-values, the prior sensitivity analysis and the refit to low-risk studies,
    which the Results never mention: the Methods now say where each is reported."""
    config = {"risk_of_bias": {"tool": "quips"}}
    text = methods_paragraph(config, {"bias", "gosh", "selection_models", "bayes", "prior_sensitivity",
                                      "risk_of_bias"}, {}, ["outcome"])
    assert ("The Results report Egger's and the rank correlation test, trim and fill, fail-safe N, the selection "
            "models and GOSH (each, or why it could not be run); the other small-study tests are in each family's publication-bias table, and the "
            "leave-one-out, influence and cumulative analyses in their tables and figures.") in text
    assert "Its posteriors are in each family's prior-sensitivity table and figure." in text
    assert "The Results quote the refit without high-risk studies; the risk-of-bias table gives both." in text
    assert "and GOSH;" not in methods_paragraph(config, {"bias"}, {}, ["outcome"])  # GOSH not run: not claimed


def test_degrees_of_freedom_follow_one_rule_in_the_text_and_tables():
    """The Results wrote the three-level Egger test's df to two decimals ("t(4.55)") beside a CR2 F test's to one
    ("F(2, 4.9)"), and the tables a df below 10 to three: fractional df now have two decimals everywhere
    (wording.apa_df), whole ones none."""
    from alliance_meta.report.formatting import apa_df, format_cell
    from alliance_meta.report.text import bias_sentence, moderators_sentence

    assert (apa_df(4.5512), apa_df(4.9), apa_df(124.0), apa_df(1234.0)) == ("4.55", "4.90", "124", "1,234")
    assert format_cell("df", 4.5512) == "4.55" and format_cell("f_df2", 119.0) == "119"
    bias = pd.DataFrame({"test": ["egger_multilevel"], "statistic": [1.2], "p": [0.3], "df": [4.5512],
                         "estimate": [0.1], "k_imputed": [float("nan")]})
    assert "t(4.55) = 1.20" in bias_sentence(bias, "z")
    moderators = pd.DataFrame({"moderator": ["rater"], "qm": [float("nan")], "qm_df": [2], "qm_p": [0.1],
                               "multilevel_qm": [6.58], "multilevel_qm_df": [2], "multilevel_qm_p": [0.037],
                               "multilevel_cr2_f": [2.11], "multilevel_cr2_df1": [2.0], "multilevel_cr2_df2": [4.9],
                               "multilevel_cr2_p": [0.187]})
    assert "CR2 F(2, 4.90) = 2.11" in moderators_sentence(moderators)


def test_the_robustness_sentences_of_two_studies_say_what_their_numbers_cannot_bear():
    """.test/two_studies: robust variance estimation on 2 studies has df = 1, which the Results quoted as any other
    interval (the CR2 tests elsewhere say that df below 4 is not to be trusted; Tipton, 2015); its 4 multiverse
    specifications read "range .23 to .23". .test/multilevel: homogeneous dropout studies, the GOSH sentence said that
    D01 shifted the subsets' mean I\u00b2 "by at most 0.0 percentage points"."""
    from alliance_meta.report.robustness import multiverse_sentence, rve_sentence

    rve = pd.DataFrame({"model": ["corr"], "term": ["intercept"], "estimate": [0.231], "df": [1.0],
                        "ci_lower": [-0.03], "ci_upper": [0.5], "k": [3], "n_studies": [2]})
    text = rve_sentence(rve, "z")
    assert "(correlated effects, df = 1; k = 3" in text
    assert text.endswith("(every df is below 4: these robust intervals are not to be trusted; Tipton, 2015).")
    summary = pd.DataFrame({"choice": ["all"], "specifications": [4], "fitted": [4], "median_estimate": [0.2312],
                            "min_estimate": [0.2308], "max_estimate": [0.2316], "share_significant": [0.5]})
    text = multiverse_sentence(summary, "z")
    assert "the median estimate was r = .23 (the same in each when rounded)" in text and "range" not in text
    from alliance_meta.report.robustness import gosh_sentence

    gosh = gosh_sentence(pd.DataFrame({"study_id": ["D01", "D02"], "estimate_shift": [0.09, -0.01],
                                       "i2_shift": [0.0, 0.0]}), "smd")
    assert gosh.endswith("shifted the subsets' mean estimate by at most 0.090 (Hedges' g; D01) and their mean I\u00b2 "
                         "by less than 0.05 percentage points."), gosh


def test_the_results_report_the_certainty_the_methods_say_was_rated():
    """The Methods said that the certainty of the evidence was rated with GRADE, and the Results never said what it
    was: the family's paragraph now ends with the suggested certainty and the domains that downgraded it."""
    import math

    from alliance_meta.report.grade import summary_of_findings
    from alliance_meta.report.html import family_section

    analysis = pd.DataFrame({"study_id": [f"s{i}" for i in range(12)], "vi": [0.01] * 12, "n": [20] * 12})
    row = dict(method="REML", test="z", k=12, estimate=math.atanh(0.3), ci_lower=math.atanh(0.05),
               ci_upper=math.atanh(0.5), pi_lower=math.atanh(-0.2), pi_upper=math.atanh(0.7), tau2=0.05, i2=80.0)
    frame = summary_of_findings("outcome", "z", row, analysis, analysis[["study_id"]], None, None, {})
    section = family_section("outcome", "z", {"summary_of_findings": frame}, None, [], {}, {})
    assert section.paragraph.endswith(
        "The certainty of the evidence suggested by the GRADE rules, for the reviewers to confirm, was very low "
        "(starting at low; downgraded for inconsistency by two levels and imprecision by two levels; summary-of-findings "
        "table)."), section.paragraph
    overridden = summary_of_findings("outcome", "z", row, analysis, analysis[["study_id"]], None, None, {
        "overrides": {"outcome": {"indirectness": {"downgrade": 1, "reason": "adolescents only"}}}})
    from alliance_meta.report.robustness import certainty_sentence

    assert certainty_sentence(overridden).startswith(
        "The certainty of the evidence by the GRADE rules and the reviewers' judgement of indirectness was very low")


def test_the_methods_describe_the_bayesian_meta_regressions_the_report_tabulates():
    """The report showed a "Bayesian model: moderators" table that the Methods never described (their priors on the
    coefficients included): the Methods now say how they were fitted, where a family's bayes_moderators.csv has a
    fitted row."""
    fitted = pd.DataFrame({"moderator": ["rater", "rater"], "term": ["intercept", "rater[observer]"],
                           "mean": [0.29, 0.03]})
    unfitted = pd.DataFrame({"moderator": ["rater"], "mean": [float("nan")], "warning": ["one level"]})
    from alliance_meta.report.methods import stages_run

    assert "bayes_moderators" in stages_run({"outcome": {"tables": {"bayes_moderators": fitted}}})
    assert "bayes_moderators" not in stages_run({"outcome": {"tables": {"bayes_moderators": unfitted}}})
    text = methods_paragraph({"bayes": {"prior": {"mu_sd": 0.5}}}, {"bayes", "bayes_moderators"}, {}, ["outcome"])
    assert ("Each moderator was also fitted as a Bayesian meta-regression on the rows of its frequentist model, each "
            "coefficient ~ Normal(0, 0.5) with the same prior on \u03c4; the Bayesian moderator table gives the "
            "coefficients.") in text


def test_a_location_scale_model_of_a_continuous_moderator_names_its_values_readably():
    """location_scale_tau2.csv gives a continuous scale moderator's tau^2 at its mean and mean -+ SD, the level as
    Python writes the number: the Results read "τ² = 0.006 (1997.8793189822966)", unnamed, and a model of rater + year
    listed the raters' and the years' tau^2 as one moderator's levels."""
    from alliance_meta.report.robustness import location_scale_sentence

    models = pd.DataFrame({"model": ["year", "rater + year"], "scale_formula": ["year", "rater + year"],
                           "estimate": [0.3, 0.3], "k": [30, 30], "lrt": [1.62, 6.63], "lrt_df": [1, 2],
                           "lrt_p": [0.203, 0.036]})
    tau2 = pd.DataFrame({"model": ["year"] * 3 + ["rater + year"] * 3,
                         "variable": ["year"] * 3 + ["rater", "rater", "year"],
                         "level": ["1997.8793189822966", "2007.1333333333334", "2016.3873476843703", "patient",
                                   "therapist", "2007.1333333333334"],
                         "tau2": [0.006, 0.013, 0.032, 0.03, 0.0001, 0.0002]})
    text = location_scale_sentence(models, tau2, "z")
    assert "gave \u03c4\u00b2 = 0.006 (year = 1997.88), 0.013 (year = 2007.13) and 0.032 (year = 2016.39; " in text
    assert "1997.879" not in text
    assert "0.030 (rater: patient), 0.000 (rater: therapist) and 0.000 (year = 2007.13; Fisher's z)" in text
    # one categorical moderator: its levels as they are
    assert "0.024 (observer) and 0.012 (patient; Fisher" in location_scale_sentence(
        models.iloc[:1].assign(model="rater", scale_formula="rater"),
        pd.DataFrame({"model": ["rater"] * 2, "variable": ["rater"] * 2, "level": ["observer", "patient"],
                      "tau2": [0.0236, 0.0122]}), "z")


def test_the_rve_df_warning_names_the_models_in_words():
    """A small-sample df below 4 in some of rve.csv's models read "the df of corr and cr2 is below 4": the CSV's
    codes, in the singular."""
    from alliance_meta.report.robustness import rve_sentence

    rve = pd.DataFrame({"model": ["corr", "hier", "cr2"], "term": "intercept", "estimate": [0.3] * 3,
                        "ci_lower": [0.1] * 3, "ci_upper": [0.5] * 3, "df": [3.2, 12.0, 2.5], "k": [20, 20, 8],
                        "n_studies": [8, 8, 8]})
    text = rve_sentence(rve, "z")
    assert "(the df of the correlated-effects and CR2 models are below 4: " in text, text
    assert "corr and" not in text and "cr2 is" not in text
    assert "(the df of the hierarchical-effects model is below 4: " in rve_sentence(
        rve.assign(df=[12.0, 3.0, 12.0]), "z")


def test_the_rve_counts_agree_with_their_noun():
    """rve.csv's CR2 row of one study composite read "k = 1 composites" (and one effect size "k = 1 effect sizes")."""
    from alliance_meta.report.robustness import rve_sentence

    rve = pd.DataFrame({"model": ["corr", "cr2"], "term": "intercept", "estimate": [0.3] * 2, "ci_lower": [0.1] * 2,
                        "ci_upper": [0.5] * 2, "df": [12.0] * 2, "k": [1, 1], "n_studies": [1, 1]})
    text = rve_sentence(rve, "z")
    assert "; k = 1 effect size, one study)" in text and "; k = 1 composite)" in text, text
    text = rve_sentence(rve.assign(k=[20, 8], n_studies=[8, 8]), "z")
    assert "; k = 20 effect sizes, 8 studies)" in text and "; k = 8 composites)" in text, text


def test_the_multiverse_sentence_of_odds_ratios_says_above_1_not_positive():
    """multiverse_summary.csv's share_positive counts log odds ratios above 0: beside "the median estimate was OR =
    1.40 (range 0.80 to 2.10)" the Results read "100.0% a positive estimate", which every odds ratio is."""
    from alliance_meta.report.robustness import multiverse_sentence

    summary = pd.DataFrame({"choice": ["all"], "specifications": [8], "fitted": [8], "median_estimate": [0.3365],
                            "min_estimate": [-0.2231], "max_estimate": [0.7419], "share_significant": [0.5],
                            "share_positive": [0.875]})
    text = multiverse_sentence(summary, "log_or")
    assert "OR = 1.40 (range 0.80 to 2.10)" in text and "87.5% an estimate above 1." in text, text
    assert "87.5% a positive estimate." in multiverse_sentence(summary, "z")
    # one specification (every choice single): "Across the one specifications" read as a plural
    one = multiverse_sentence(summary.assign(specifications=[1], fitted=[1]), "z")
    assert one.startswith("Across the one specification of the multiverse (one fitted),"), one
    assert multiverse_sentence(summary.assign(specifications=[12], fitted=[3]), "z").startswith(
        "Across the 12 specifications of the multiverse (3 fitted),")


def test_a_whole_df_off_by_floating_point_rounding_is_whole():
    """two_studies: the Results gave robumeta's correlated-effects df as "df = 1" and clubSandwich's CR2 df of two
    equal clusters, 1.0000000000000002 in rve.csv, as "df = 1.00" beside it."""
    from alliance_meta.report.formatting import apa_df, format_cell
    from alliance_meta.report.robustness import rve_sentence

    assert (apa_df(1.0000000000000002), apa_df(4.999999999999999), apa_df(1.0024)) == ("1", "5", "1.00")
    assert format_cell("df", 1.0000000000000002) == "1"
    rve = pd.DataFrame({"model": ["corr", "cr2"], "term": ["intercept"] * 2, "estimate": [0.23, 0.24],
                        "ci_lower": [-0.03, 0.11], "ci_upper": [0.50, 0.36], "df": [1.0, 1.0000000000000002],
                        "k": [3, 2], "n_studies": [2, 2]})
    sentence = rve_sentence(rve, "z")
    assert sentence.count("df = 1;") == 2 and "1.00" not in sentence


def test_moderators_none_of_which_could_be_tested_are_not_said_to_be_tested():
    """one_study: rater has one value, no model was fitted, yet the Methods said "Moderators were tested in
    mixed-effects meta-regressions ... and permutation tests of 50 random permutations"."""
    from alliance_meta.report.methods import stages_run

    unfitted = pd.DataFrame({"moderator": ["rater"], "k": [1], "qm": [float("nan")],
                             "note": ["no mixed-effects model: rater has one value (patient) in every row"]})
    config = {"moderators": ["rater"], "permutations": 50}
    stages = stages_run({"outcome": {"tables": {"moderators": unfitted}}})
    text = methods_paragraph(config, stages, {}, ["outcome"])
    assert "No moderator could be tested (the Results give each moderator's reason)." in text
    assert "Moderators were tested" not in text and "permutation" not in text
    # one family with a fitted model: the methods of the fitted ones, as before
    fitted = unfitted.assign(qm=[2.1])
    stages = stages_run({"outcome": {"tables": {"moderators": unfitted}}, "dropout": {"tables": {"moderators": fitted}}})
    text = methods_paragraph(config, stages, {}, ["outcome", "dropout"])
    assert "Moderators were tested in mixed-effects meta-regressions" in text and "No moderator could" not in text


def test_robust_intervals_of_no_width_say_why():
    """homogeneous: every effect size the same, so rve.csv has SEs of 1e-17 and the Results gave "95% CI [.25, .25]"
    three times without a word; the pooled table's note says it of the Knapp-Hartung rows."""
    from alliance_meta.report.robustness import rve_sentence

    rve = pd.DataFrame({"model": ["corr", "cr2"], "term": ["intercept"] * 2, "estimate": [0.2554] * 2,
                        "se": [2.48e-17, 0.05], "ci_lower": [0.2554, 0.15], "ci_upper": [0.2554, 0.36],
                        "df": [5.0, 4.999999999999998], "k": [6, 6], "n_studies": [6, 6]})
    assert rve_sentence(rve, "z").endswith("(the correlated-effects interval has no width: the effect sizes do not "
                                           "vary about the estimate, so the robust standard error is 0).")
    assert "no width" in rve_sentence(rve.assign(se=[2.48e-17] * 2), "z").split("(every interval has")[1]
    assert "no width" not in rve_sentence(rve.assign(se=[0.01, 0.05]), "z")
    # with the sensitivity clause and small df: one bracket straight after the models, not two after the sensitivity
    # estimate, which they read as qualifying
    sensitivity = pd.DataFrame({"rho": [0.0, 0.8], "estimate": [0.2554, 0.2554]})
    text = rve_sentence(rve.assign(se=[2.48e-17] * 2, df=[3.0, 2.5]), "z", sensitivity=sensitivity)
    models, _, rest = text.partition(" (every interval has no width")
    assert rest.startswith(": the effect sizes do not vary about the estimate, so the robust standard error is 0; "
                           "every df is below 4: these robust intervals are not to be trusted; Tipton, 2015); "
                           "with an assumed correlation from 0 to .80"), text
    assert text.endswith("the correlated-effects estimate was r = .25.") and text.count("(every") == 1
