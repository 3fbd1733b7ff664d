"""A statistical reviewer's read of the report of odd review folders (.test/one_study, .test/dropout_counts) and of
the demo: what the Methods leave out of what was run, and what the Results say of a fit that fell short."""

from __future__ import annotations

import math

import pandas as pd

from alliance_meta.report.methods import methods_paragraph, prior_sentence
from alliance_meta.report.text import bayes_sentence, moderators_sentence


def test_the_methods_say_how_the_posteriors_were_sampled():
    """The Methods named the priors and the seed but not the sampler, its chains, draws and tuning, nor the
    convergence criteria the stage applies (bayes.diagnostics, bayes.retry): a reviewer cannot judge MCMC
    summaries without them. As configured, here those of .test/one_study."""
    config = {"bayes": {"draws": 300, "tune": 300, "chains": 2, "sampler": "pymc",
                        "diagnostics": {"r_hat_max": 1.01, "ess_min": 400}}}
    text = methods_paragraph(config, {"bayes"}, {}, ["outcome"], samplers={"outcome": "pymc"})  # as the job recorded
    assert ("sampled with the No-U-Turn sampler (Hoffman & Gelman, 2014; PyMC) in two chains of 300 draws after 300 "
            "tuning iterations (target acceptance rate .90)") in text
    assert "a potential scale reduction factor above 1.01 or a bulk or tail effective sample size below 400" in text
    assert "repeated once with twice the draws and tuning iterations and a target acceptance rate of .99" in text
    thrice = {"bayes": {**config["bayes"], "retry": {"draws_factor": 3}}}  # "2 times the draws" read badly
    assert "repeated once with 3 times the draws and" in methods_paragraph(thrice, {"bayes"}, {}, ["outcome"])
    same = {"bayes": {**config["bayes"], "retry": {"draws_factor": 1}}}  # not "1 times the draws"
    assert ("repeated once with the same numbers of draws and tuning iterations and a target acceptance rate of .99"
            in methods_paragraph(same, {"bayes"}, {}, ["outcome"]))
    assert "No-U-Turn" not in methods_paragraph(config, {"pool"}, {}, ["outcome"])  # no Bayesian stage, no sampler


def test_the_software_of_the_methods_names_the_sampler():
    """nutpie samples the Bayesian models where it is installed (bayes.sampler auto), yet the Methods' software list
    named PyMC alone."""
    from importlib import metadata

    from alliance_meta.report.provenance import package_versions

    text = methods_paragraph({}, {"bayes"}, package_versions(), ["outcome"])
    assert f"nutpie {metadata.version('nutpie')}" in text  # the installed version, in the Methods' software list


def test_the_methods_of_a_review_without_standardised_mean_differences_name_no_such_odds_ratio():
    """.test/one_study (correlations only) read "a back-transformed effect (r, OR)": its Bayes table has no OR row;
    .test/dropout_counts (correlations and log odds ratios) read "r, and the OR of a standardised mean difference",
    which neither of its families has."""
    metrics = {"metric": {"outcome": "z", "dropout": "log_or"}}
    assert "a back-transformed effect (r) by its own posterior" in prior_sentence(metrics, ["outcome"])
    both = prior_sentence(metrics, ["outcome", "dropout"])
    assert "a back-transformed effect (r) by its own posterior" in both and "standardised mean difference" not in both
    assert "(r, OR)" in prior_sentence({"metric": {"outcome": "z", "dropout": "smd"}}, ["outcome", "dropout"])
    assert "(r, and the OR of a standardised mean difference)" in prior_sentence(
        {"metric": {"outcome": "smd", "dropout": "log_or"}}, ["outcome", "dropout"])


def test_the_results_say_when_the_sampler_fell_short_of_its_criteria():
    """.test/one_study's bayes.csv flags mu and tau (ESS 224 and 344 < 400 after the stage's repeat), yet the Results
    quoted their means and HDIs as those of a converged sampler."""
    rows = {"parameter": ["mu", "tau", "r"], "mean": [0.297, 0.380, 0.265], "sd": [0.36, 0.28, 0.29],
            "hdi_lower": [-0.415, 0.001, -0.34], "hdi_upper": [1.063, 0.892, 0.82],
            "warning": ["ess_bulk 224 < 400; ess_tail 286 < 400", "3 divergent transitions; r_hat 1.023 > 1.01",
                        "ess_bulk 224 < 400"]}
    text = bayes_sentence(pd.DataFrame(rows), "z", studies=1)
    assert ("The sampler fell short of its convergence criteria even after its repeat (\u03bc: bulk effective sample "
            "size 224 < 400, tail effective sample size 286 < 400; \u03c4: 3 divergent transitions, potential scale "
            "reduction factor 1.023 > 1.01): these posterior summaries are less precise than the criteria "
            "require.") in text
    # a converged fit (empty warnings, read as NaN) and the exact-only rows say nothing of the sampler
    rows["warning"] = [math.nan, math.nan, "exact only: Bayes factor"]
    assert "fell short" not in bayes_sentence(pd.DataFrame(rows), "z", studies=1)


def test_the_reason_a_moderator_was_not_tested_nests_no_parentheses():
    """.test/one_study read "rater (no mixed-effects model: rater has one value (patient) in every row: ...)":
    parentheses within parentheses, which APA sets as brackets (APA 2020, sec. 6.54)."""
    moderators = pd.DataFrame({"moderator": ["rater"], "k": [1], "qm": [math.nan], "qm_df": [math.nan],
                               "qm_p": [math.nan], "r2": [math.nan],
                               "note": ["no mixed-effects model: rater has one value (patient) in every row: "
                                        "nothing to compare"]})
    assert moderators_sentence(moderators) == (
        "Moderator tests were not estimable: rater (no mixed-effects model: rater has one value [patient] in every "
        "row: nothing to compare).")


def test_every_heading_of_simulated_numbers_says_so():
    """The demo's report said SIMULATED in its title and the banner at the top only: a reader sent by the navigation
    to "Results: outcome", "Methods", the Data section, the double coding or the changes since the previous sheet
    version, or copying them into a manuscript, met the numbers with no such mark (the Word tables say it in every
    title). The PRISMA section says so by its own label (prisma: simulated)."""
    from alliance_meta.report import render_report
    from alliance_meta.report.html import CodingSection, ExtraSection
    from alliance_meta.wording import SIMULATED_DATA

    sheet = pd.DataFrame({"study_id": ["S1", "S2"], "family": "outcome", "yi": [0.3, 0.2], "vi": [0.01, 0.02],
                          "n": [100, 50], "simulated": "yes"})
    provenance = {"sheet": "s", "sheet_sha256": "0", "run_date": "d", "versions": {"alliance-meta": "0"},
                  "config_yaml": ""}

    def render(frame):
        return render_report(sheet=frame, effect_sizes=frame, families={"outcome": {"metric": "z", "tables": {},
                                                                                  "images": []}},
                             config={}, methods="Correlations were analysed as Fisher's z.", provenance=provenance,
                             coding=CodingSection("Two coders."),
                             extra_sections=[ExtraSection("changes", "Changes since the previous sheet version", "x")])

    html = render(sheet)
    for heading in ("Results: outcome family", "Methods", "Data", "Double coding",
                    "Changes since the previous sheet version"):
        assert f"<h2>{heading} ({SIMULATED_DATA})</h2>" in html, heading
    plain = render(sheet.assign(simulated="no"))
    for heading in ("Results: outcome family", "Methods", "Data", "Double coding"):
        assert f"<h2>{heading}</h2>" in plain, heading
    assert SIMULATED_DATA not in plain


def test_the_pooled_table_note_of_2x2_tables_nests_no_parentheses():
    """.test/dropout_counts: the pooled table's note read "GLMM estimate diverges (separation: the pooled odds ratio
    is infinite (every table ... of any table))": parentheses within parentheses (APA 2020, sec. 6.54)."""
    from alliance_meta.report.tables import manuscript_table

    nan, infinite = math.nan, "the pooled odds ratio is infinite (every table has a zero cell in n12 or n21)"
    frame = pd.DataFrame({
        "method": ["REML", "MH", "Peto", "GLMM"], "test": "z", "k": [7, 4, 4, 4],
        "estimate": [0.98, nan, 2.18, nan], "se": [0.29, nan, 0.54, nan], "ci_lower": [0.42, nan, 1.12, nan],
        "ci_upper": [1.55, nan, 3.24, nan], "pi_lower": [0.42, nan, 1.12, nan], "pi_upper": [1.55, nan, 3.24, nan],
        "tau2": [0.0, 0.0, 0.0, nan], "i2": [0.0, nan, 0.0, nan], "q": [4.1, nan, 0.01, nan], "q_df": [6, nan, 3, nan],
        "q_p": [0.66, nan, 0.99, nan],
        "note": [nan, f"5 tables from 5 studies; MH odds ratio undefined: {infinite}",
                 "5 tables from 5 studies", f"5 tables from 5 studies; GLMM estimate diverges (separation: {infinite})"]})
    note = manuscript_table("pooled", frame, "log_or").note
    assert ("GLMM: GLMM estimate diverges (separation: the pooled odds ratio is infinite [every table has a zero cell "
            "in n12 or n21]).") in note
    assert "MH: MH odds ratio undefined: the pooled odds ratio is infinite (every table has a zero cell" in note


def test_nested_bracketed_keeps_a_statistic_and_a_single_level():
    from alliance_meta.report.formatting import nested_bracketed

    assert nested_bracketed("a (b (c) d) e (f)") == "a (b [c] d) e (f)"
    assert nested_bracketed("test (Q(2) = 3.1, p = .21)") == "test (Q(2) = 3.1, p = .21)"


def test_nested_bracketed_and_bracketed_keep_half_open_intervals():
    """The interval's "]" closed nothing: in "(0.025, 0.1], (0.5, 1]" the second interval became "[0.5, 1]" (a closed
    interval, another statement), and within parentheses the interval's "(" became "[" while the parenthesis after
    it closed with "]". bracketed (the Results' reasons) was a second rule, which bracketed a statistic's "Q(2)"."""
    from alliance_meta.report.formatting import nested_bracketed
    from alliance_meta.report.text import bracketed

    assert nested_bracketed("intervals (0.025, 0.1], (0.5, 1] here") == "intervals (0.025, 0.1], (0.5, 1] here"
    assert nested_bracketed("note (p in (0.025, 0.1] (one-sided))") == "note (p in (0.025, 0.1] [one-sided])"
    assert nested_bracketed("a) b (c") == "a) b (c"  # unbalanced: as written
    assert bracketed("one value (patient), intervals (0.025, 0.1], (0.5, 1]") == (
        "one value [patient], intervals (0.025, 0.1], (0.5, 1]")
    assert bracketed("test (Q(2) = 3.1)") == nested_bracketed("(test (Q(2) = 3.1))")[1:-1] == "test [Q(2) = 3.1]"


def test_the_sampler_sentence_of_one_chain():
    """chains: 1 read "in 1 chains", with an R-hat criterion one chain has not (diagnostics_warning: no r_hat)."""
    from alliance_meta.report.methods import sampler_sentence

    text = sampler_sentence({"bayes": {"chains": 1, "sampler": "pymc"}})
    assert "in one chain of 1,000 draws" in text and "potential scale reduction" not in text
    assert "a fit with divergent transitions or a bulk or tail effective sample size below 400" in text


def test_the_bayes_table_notes_the_rows_short_of_the_convergence_criteria():
    """.test/one_study's Bayes table printed ESS 224 for mu without a word that it fell short of the criterion of
    400 after the stage's repeat; the Bayes factors' exact-only notes are no shortfall."""
    from alliance_meta.report.tables import manuscript_table

    frame = pd.DataFrame({"parameter": ["mu", "tau", "bf_mu"], "mean": [0.297, 0.380, math.nan],
                          "sd": [0.36, 0.28, math.nan], "hdi_lower": [-0.415, 0.001, math.nan],
                          "hdi_upper": [1.063, 0.892, math.nan], "r_hat": [1.003, 1.002, math.nan],
                          "ess_bulk": [224.0, 2000.0, math.nan], "ess_tail": [286.0, 2100.0, math.nan],
                          "exact_mean": [0.284, 0.371, 0.74],
                          "warning": ["ess_bulk 224 < 400; ess_tail 286 < 400", math.nan,
                                      "exact only: Bayes factor BF10 from the marginal likelihood"]})
    note = manuscript_table("bayes", frame, "z").note
    assert note.endswith("Short of the convergence criteria even after the sampler's repeat (divergent transitions, "
                         "R-hat or ESS; the warning column of bayes.csv): \u03bc.")
    assert "Short of" not in manuscript_table("bayes", frame.assign(warning=math.nan), "z").note


def test_a_moderator_without_r2_and_with_composites_has_one_parenthesis():
    """.test/two_studies read "R² not given (τ² of the model without the moderator is 0, ...) (3 study × level
    composites of 2 studies, treated as independent)": two parentheses in a row; one, its parts by a semicolon."""
    moderators = pd.DataFrame({"moderator": ["rater"], "k": [3], "n_studies": [2], "qm": [0.01], "qm_df": [1],
                               "qm_p": [0.932], "r2": [0.0], "tau2_null": [0.0], "note": [math.nan]})
    text = moderators_sentence(moderators)
    assert ") (" not in text
    assert text.endswith("R\u00b2 not given (\u03c4\u00b2 of the model without the moderator is 0, so there is no "
                         "heterogeneity for it to account for; three study \u00d7 level composites of two studies, treated as "
                         "independent).")
