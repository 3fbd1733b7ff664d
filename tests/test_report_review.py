"""A reviewer's read of the report and the manuscript tables of odd but real reviews (a few studies of one family,
a dropout review of odds ratios, the simulated demo): each sentence or note that a journal would send back."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pandas as pd

from alliance_meta.report.formatting import is_defined


def _nested(text: str) -> list[str]:
    """The passages of ``text`` where a parenthesis opens inside parentheses (APA 2020, sec. 6.54: brackets)."""
    depth, found = 0, []
    for index, char in enumerate(text):
        if char == "(":
            if depth and not text[index - 1].isalnum():  # not a function's or a statistic's: atanh(r), Q(2)
                found.append(text[max(0, index - 40):index + 40])
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
    return found


def test_the_summary_of_findings_note_uses_no_undefined_abbreviation():
    """The summary-of-findings note read "step-function selection model LRT p = .774": LRT is defined nowhere in the
    table or the report (APA 2020, sec. 7.14: a table's note defines its abbreviations). In words."""
    from alliance_meta.report.grade import summary_of_findings
    from alliance_meta.report.tables import manuscript_table

    analysis = pd.DataFrame({"study_id": [f"s{i}" for i in range(12)], "vi": [0.01] * 12, "n": [100] * 12})
    row = dict(method="REML", test="z", k=12, estimate=math.atanh(0.3), ci_lower=math.atanh(0.25),
               ci_upper=math.atanh(0.35), pi_lower=math.atanh(0.1), pi_upper=math.atanh(0.5), tau2=0.0, i2=40.0)
    bias = pd.DataFrame({"test": ["egger", "rank"], "p": [0.5, 0.3]})
    selection = pd.DataFrame({"type": ["stepfun"], "lrt_p": [0.774], "ci_lower": [0.2], "ci_upper": [0.4]})
    frame = summary_of_findings("outcome", "z", row, analysis, analysis[["study_id"]], bias, selection, {})
    note = manuscript_table("summary_of_findings", frame, "z").note
    assert "step-function selection model likelihood-ratio test p = .774, adjusted CI excludes the null" in note
    assert not re.search(r"\bLRT\b", note), note


def test_the_methods_nest_no_parentheses_in_parentheses():
    """The Methods' GOSH sentence read "(Olkin et al., 2012; every subset of the studies, or 1,000,000 random subsets
    (seed 20120901) where there are more)": parentheses within parentheses, which APA sets as brackets."""
    from alliance_meta.report.methods import methods_paragraph

    text = methods_paragraph({}, {"bias", "gosh"}, {})
    gosh = text[text.index("(Olkin et al., 2012;"):]
    gosh = gosh[:gosh.index(")") + 1]
    assert gosh == ("(Olkin et al., 2012; every subset of the studies, or 1,000,000 random subsets [seed 20120901] "
                    "where there are more)")
    assert not _nested(text), _nested(text)


def test_the_study_selection_paragraph_cites_prisma_as_apa_does():
    """"Flow diagram ... (Page et al. 2021)": an APA citation has a comma before the year, as every other one of
    the report."""
    from alliance_meta.inputs.prisma import prisma_counts
    from alliance_meta.report.html import prisma_section

    counts = prisma_counts({"databases": {"PsycINFO": 100}, "duplicates_removed": 10, "screened": 90,
                            "excluded_screening": 70, "sought": 20, "not_retrieved": 2, "assessed": 18,
                            "excluded_reasons": {"No alliance measure": 13}, "included_studies": 5,
                            "included_reports": 5, "included_effect_sizes": 7})
    paragraph = prisma_section(counts, "").paragraph
    assert "Page et al., 2021)" in paragraph and "et al. 2021" not in paragraph, paragraph
    # named as a paper names it, not by the config's key ("Flow diagram of the config's prisma: counts")
    # and PRISMA spelled out at its only use in the report's text (APA 2020, sec. 6.25)
    assert ("Flow diagram of the Preferred Reporting Items for Systematic Reviews and Meta-Analyses (PRISMA 2020; "
            "Page et al., 2021): 5 studies in 5 reports included;") in paragraph, paragraph
    assert "config" not in paragraph, paragraph


def test_a_simulated_table_title_has_one_parenthesis():
    """The demo's "Summary of findings (GRADE) (SIMULATED demo data)": two parentheses side by side; one (and no
    "demo", which a reviewer's own simulated sheet is not)."""
    from alliance_meta.report.tables import ManuscriptTable, marked_simulated

    table = ManuscriptTable("Summary of findings (GRADE)", ["Outcome"], [["x"]], "GRADE = words.")
    assert marked_simulated(table).title == "Summary of findings (GRADE; SIMULATED data)"
    assert marked_simulated(replace(table, title="Pooled estimates")).title == "Pooled estimates (SIMULATED data)"


def test_a_half_open_interval_of_a_note_does_not_leave_the_rest_of_the_results_in_parentheses():
    """A review of five studies: the step function's note "(0.025, 0.1], (0.5, 1]" opened two parentheses that
    brackets closed, so every later abbreviation was taken to stand in parentheses: HDI and CrI were never defined
    (set in words, or "[HDI]" in running text). The first HDI defines it, in parentheses, as in any review."""
    from alliance_meta.report.text import results_paragraph

    note = ("not computed: the p-value intervals (0.025, 0.1], (0.5, 1] have no studies (studies per interval: "
            "4, 0, 1, 0)")
    selection = pd.DataFrame({"type": ["beta", "stepfun"], "steps": ["", "0.025;0.1;0.5;1"],
                              "estimate": [0.35, math.nan], "se": [0.1, math.nan], "lrt_p": [0.3, math.nan],
                              "converged": [True, False], "note": ["", note]})
    bayes = pd.DataFrame({"parameter": ["mu", "tau", "r"], "mean": [0.226, 0.128, 0.22],
                          "hdi_lower": [0.06, 0.001, 0.06], "hdi_upper": [0.4, 0.32, 0.38]})
    text = results_paragraph("outcome", "z", {"selection_models": selection, "bayes": bayes}, {}, "REML", ["z"])
    assert "(0.025, 0.1], (0.5, 1] have no studies" in text, text
    assert "posterior mean of r = .22, 95% highest-density interval (HDI) [.06, .38]; \u03c4 = 0.128, 95% HDI" in text
    assert is_defined("HDI", text) and "[HDI]" not in text


def test_the_methods_of_a_review_of_correlations_alone_have_no_empty_sentence():
    """A review coding only correlations: nothing to convert but r to z, and the Methods read "... back-transformed
    to r.  Dependent effect sizes" (an empty sentence, two spaces)."""
    from alliance_meta.report.methods import methods_paragraph

    text = methods_paragraph({}, set(), {}, families=("outcome",), input_kinds={"outcome": {"r"}})
    assert text.startswith("Correlations were analysed as Fisher's z and back-transformed to r. Dependent"), text
    assert "  " not in text


def test_the_selection_sentence_nests_no_parentheses_in_parentheses():
    """The dropout review's Results: "(4 of 7 models; the beta and negative exponential power models are poorly
    identified (their estimates moved further ...))" and "(selection-model table; the p-value interval (0.5, 1] has no
    studies (studies per interval: 3, 3, 1, 0))": parentheses in parentheses, brackets in APA (sec. 6.54); the
    half-open interval (0.5, 1] is notation and stays."""
    from alliance_meta.report.text import selection_sentence

    poorly = "poorly identified: the estimate moved 3.25 from the unadjusted 0.448"
    selection = pd.DataFrame({
        "type": ["halfnorm", "negexp", "beta", "stepfun"], "steps": ["", "", "", "0.025;0.1;0.5;1.0"],
        "estimate": [0.33, 0.01, 2.2, math.nan], "se": [0.2, 0.3, 1.5, math.nan],
        "lrt_p": [0.035, 0.062, 0.05, math.nan], "converged": [True, True, True, False],
        "note": ["", "", poorly, "not computed: the p-value interval (0.5, 1] has no studies (studies per interval: "
                                 "3, 3, 1, 0)"]})
    text = selection_sentence(selection, "log_or")
    assert ("(two of four models; the beta model is poorly identified [its estimate moved further, or its standard error "
            "is larger, than the observed effects spread])") in text, text
    assert "(selection-model table; the p-value interval (0.5, 1] has no studies [studies per interval: 3, 3, 1, 0])" \
        in text, text
    assert not _nested(text.replace("(0.5, 1]", "")), _nested(text)


def test_the_methods_of_a_review_of_2x2_tables_use_no_undefined_abbreviation():
    """The dropout review's Methods: "... by the Mantel–Haenszel method (Mantel & Haenszel, 1959), ...; MH and Peto are
    common-effect models": MH is defined nowhere in the report. In words."""
    from alliance_meta.report.methods import methods_paragraph

    config = {"pooling": {"main_method": "REML", "tests": ["z"]}}
    text = methods_paragraph(config, set(), {}, ["dropout"], pooled_methods={"REML", "MH", "Peto", "GLMM"})
    assert "; the Mantel\u2013Haenszel and Peto methods are common-effect models (no prediction interval);" in text
    assert not re.search(r"\bMH\b", text), text
    one = methods_paragraph(config, set(), {}, ["dropout"], pooled_methods={"REML", "Peto"})
    assert "; the Peto method is a common-effect model (no prediction interval);" in one


def test_the_study_table_of_a_review_of_one_effect_size_per_study_describes_no_composite():
    """The dropout review (one odds ratio per study) had a study table whose note read "OR = the study's effect sizes
    combined into one inverse-variance generalised least squares (GLS) composite ... mixed = the study's effect sizes
    differ in this moderator": composites that were never made, a level no cell can show."""
    from alliance_meta.report.tables import manuscript_table

    frame = pd.DataFrame({"study_id": ["A", "B"], "authors": ["Tryon & Kane", "Sharf et al."], "year": [1993, 2010],
                          "n": [math.nan, 58], "k_effect_sizes": [1, 1], "rater": ["patient", "observer"],
                          "estimate": [0.74, 0.47], "ci_lower": [0.05, -0.22], "ci_upper": [1.44, 1.16]})
    note = manuscript_table("study_characteristics", frame, "log_or").note
    assert "OR = the study's effect size, with its Wald 95% CI, back-transformed from log odds ratio." in note, note
    assert "composite" not in note and "GLS" not in note and "mixed" not in note
    several = manuscript_table("study_characteristics", frame.assign(k_effect_sizes=[2, 1]), "log_or").note
    assert "combined into one inverse-variance generalised least squares (GLS) composite" in several
    assert "mixed = the study's effect sizes differ in this moderator" in several


def test_the_trim_and_fill_estimate_comes_with_its_ci():
    """"trim and fill imputed 9 studies (adjusted r = .31)": an estimate without the CI bias.csv gives it (every other
    estimate of the Results has one)."""
    from alliance_meta.report.text import bias_sentence

    bias = pd.DataFrame({"test": ["trim_and_fill"], "statistic": [9.0], "p": [math.nan], "estimate": [0.3239],
                         "ci_lower": [0.295], "ci_upper": [0.351], "k_imputed": [9.0], "note": [""]})
    assert "trim and fill imputed nine studies (adjusted r = .31, 95% CI [.29, .34])" in bias_sentence(bias, "z")
    assert "(adjusted r = .31, 90% CI [.29, .34])" in bias_sentence(bias, "z", 90)
    assert "(adjusted r = .31)" in bias_sentence(bias.drop(columns=["ci_lower", "ci_upper"]), "z")
