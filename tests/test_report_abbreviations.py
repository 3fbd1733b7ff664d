"""The report's abbreviations spelled out at their first use in its reading order, the tables' notes defining their
own, and names from the data never set as statistical symbols (APA 2020, sec. 6.25, 6.46, 6.54 and 7.14)."""

import math
import re

import pandas as pd

from alliance_meta.report.formatting import ABBREVIATIONS, defined_in_order, is_defined, note_defined, spelled_out

NAN = math.nan
PROVENANCE = {"sheet": "s", "sheet_sha256": "0", "run_date": "d", "versions": {"alliance-meta": "0"},
              "config_yaml": ""}


def sheet() -> pd.DataFrame:
    return pd.DataFrame({"study_id": ["a", "a", "b", "c"], "family": "outcome", "yi": [0.2, 0.3, 0.25, 0.4],
                         "vi": [0.01, 0.02, 0.015, 0.03], "n": [100, 100, 70, 90], "input_kind": "r",
                         "conversion": "r -> Fisher z", "d": ["x", "y", "x", "y"]})


def paragraphs(html: str) -> list[str]:
    """The report's running texts in reading order, without tags: the paragraphs, then the Methods."""
    texts = re.findall(r'<p class="paragraph">(.*?)</p>', html, flags=re.S)
    texts += re.findall(r'<section id="methods">\s*<h2>Methods[^<]*</h2>\s*<p>(.*?)</p>', html, flags=re.S)
    return [re.sub(r"<[^>]+>", "", text) for text in texts]


def test_the_report_spells_out_each_abbreviation_once_at_its_first_use_in_reading_order():
    """The Results come before the Methods in the report and used REML, HDI and BF undefined; the Methods then
    defined REML as if for the first time. Each is spelled out where the report first uses it, and only there."""
    from alliance_meta.report.html import render_report
    from alliance_meta.report.methods import methods_paragraph

    moderators = pd.DataFrame({"moderator": ["rater"], "k": [12], "qm": [5.21], "qm_df": [2], "qm_p": [0.074],
                               "f": [2.6], "f_df1": [2], "f_df2": [9], "f_p": [0.1], "tau2": [0.01], "r2": [2.9]})
    bayes = pd.DataFrame({"parameter": ["mu", "tau"], "mean": [0.3, 0.1], "hdi_lower": [0.2, 0.0],
                          "hdi_upper": [0.4, 0.2]})
    tables = {"moderators": moderators, "bayes": bayes}
    config = {"moderators": ["rater"], "pooling": {"main_method": "REML"}}
    methods = methods_paragraph(config, {"moderators", "bayes"}, {})
    assert "restricted maximum likelihood (REML)" in methods  # the Methods alone define it
    html = render_report(sheet=sheet(), effect_sizes=sheet(), config=config, methods=methods, provenance=PROVENANCE,
                         families={"outcome": {"metric": "z", "tables": tables, "images": []},
                                   "dropout": {"metric": "z", "tables": tables, "images": []}})
    text = " ".join(paragraphs(html))
    for abbreviation in ("REML", "HDI"):
        words = ABBREVIATIONS[abbreviation]
        first = re.search(rf"(?<![\w-]){abbreviation}(?![\w-])", text)
        assert text[:first.end() + 1].endswith(f"{words} [{abbreviation}]") or \
            text[:first.end() + 1].endswith(f"{words} ({abbreviation})"), (abbreviation, text[:first.end() + 1])
        assert text.count(f"{words} ") == 1, abbreviation  # not again in the second family nor in the Methods
    assert "fitted with the REML estimator" in text and "means and 95% HDIs" in text


def test_a_tool_defined_before_keeps_its_noun():
    """A definition shortened once defined read "risk of bias was rated with the RoB 2 (Sterne et al., 2019)"."""
    from alliance_meta.report.methods import risk_of_bias_methods

    before = spelled_out("RoB 2, QUIPS")
    assert spelled_out("rated with the Quality in Prognosis Studies tool (QUIPS; Hayden et al., 2013)", before) == \
        "rated with the QUIPS tool (Hayden et al., 2013)"
    assert risk_of_bias_methods({"risk_of_bias": {"tool": "rob2"}}, before).startswith(
        "Risk of bias was rated with the RoB 2 tool (Sterne et al., 2019);")
    assert spelled_out("the Akaike information criterion (AIC; Akaike, 1974)", spelled_out("AIC")) == \
        "the AIC (Akaike, 1974)"


def test_spelled_out_abbreviates_a_later_definition_and_leaves_data_as_written():
    before = "the restricted maximum likelihood (REML) estimator"
    assert spelled_out("the Akaike information criterion (AIC; Akaike, 1974), REML", before) == \
        "the Akaike information criterion (AIC; Akaike, 1974), REML"
    assert spelled_out("fitted by restricted maximum likelihood (REML); the AIC (Akaike, 1974)",
                       "the Akaike information criterion (AIC; Akaike, 1974) and " + before) == \
        "fitted by REML; the AIC (Akaike, 1974)"
    # a config's value is no use of the abbreviation: the next use defines it
    changed = "The config changed: pooling.main_method REML \u2192 DL. Moderators by REML."
    assert spelled_out(changed, verbatim=("pooling.main_method REML \u2192 DL",)) == (
        "The config changed: pooling.main_method REML \u2192 DL. Moderators by restricted maximum likelihood (REML).")
    # "RoBMA's" names the software (as "metafor's"); "RoBMA-PSMA" and "AICc" are other names
    assert spelled_out("as RoBMA's, RoBMA-PSMA and AICc") == (
        "as RoBMA's, robust Bayesian meta-analysis with publication selection model averaging (RoBMA-PSMA) and AIC "
        "corrected for small samples (AICc)")


def test_table_notes_define_the_abbreviations_of_their_table():
    """"Mixed-effects meta-regression (REML) per moderator": a table's note defines its abbreviations (APA 2020,
    sec. 7.14), the note's at their first use, the table's own after the note."""
    from alliance_meta.report.html import TABLE_NOTES, html_table
    from alliance_meta.report.tables import manuscript_table

    assert note_defined("Mixed-effects meta-regression (REML) per moderator.", "Summary of findings (GRADE)") == (
        "Mixed-effects meta-regression (restricted maximum likelihood [REML]) per moderator. GRADE = Grading of "
        "Recommendations Assessment, Development and Evaluation.")
    moderators = pd.DataFrame({"moderator": ["rater"], "k": [12], "qm": [5.21], "qm_df": [2], "qm_p": [0.074],
                               "f": [2.6], "f_df1": [2], "f_df2": [9], "f_p": [0.1], "tau2": [0.01], "r2": [2.9]})
    for name, frame in (("moderators", moderators),
                        ("subgroups", pd.DataFrame({"moderator": ["rater"], "level": ["x"], "k": [3],
                                                    "estimate": [0.3], "ci_lower": [0.2], "ci_upper": [0.4],
                                                    "tau2": [0.01]}))):
        note = manuscript_table(name, frame, "z").note
        assert "(REML)" not in note and "restricted maximum likelihood" in note, note
    bias = pd.DataFrame({"test": ["egger", "pet_peese"], "statistic": [1.2, 2.0], "p": [0.2, 0.05],
                         "estimate": [0.3, 0.25], "ci_lower": [0.2, 0.1], "ci_upper": [0.4, 0.4], "k_imputed": NAN,
                         "note": ""})
    table = manuscript_table("bias", bias, "z")
    assert ["PET-PEESE"] == [row[0] for row in table.rows if "PEESE" in row[0]]
    assert is_defined("PET-PEESE", table.note), table.note  # its row named, the note defined it nowhere
    gosh = html_table("gosh_studies", pd.DataFrame({"study_id": ["a"], "n_with": [3]}),
                      note=TABLE_NOTES["gosh_studies"])
    assert gosh.note.endswith("GOSH = graphical display of study heterogeneity.") and is_defined("GOSH", gosh.note)


def test_names_from_the_data_are_set_as_written_in_every_paragraph_and_heading():
    """A study "N", a sheet column "d" and the config's "REML" in the changes paragraph, a moderator column "d" in a
    CSV table's heading, and the second coder's sheet "t.csv" in the double-coding paragraph were set as
    statistical symbols (or spelled out) where the report typeset them without the data's names."""
    from alliance_meta.report.changes import _row
    from alliance_meta.report.html import CodingSection, changes_section, render_report

    changes = pd.DataFrame([_row("newly_influential", "outcome", "N", note="flagged influential (influence.csv)"),
                            _row("column_added", quantity="d", note="d filled in on 4 rows"),
                            _row("config_changed", quantity="pooling.main_method",
                                 note="pooling.main_method: REML -> DL")])
    section = changes_section(changes, {"outcome": "z"})
    assert "Newly influential: N (outcome)." in section.paragraph and "Column d is new" in section.paragraph
    characteristics = pd.DataFrame({"study_id": ["a", "b"], "authors": ["A", "B"], "year": [2001, 2002],
                                    "citation_year": ["2001", "2002"], "n": [100, 70], "k_effect_sizes": [2, 1],
                                    "d": ["x", "y"], "estimate": [0.2, 0.3], "se": [0.1, 0.1],
                                    "ci_lower": [0.0, 0.1], "ci_upper": [0.4, 0.5], "r": [0.2, 0.29],
                                    "r_ci_lower": [0.0, 0.1], "r_ci_upper": [0.38, 0.46]})
    coding = CodingSection("The second coder's sheet (t.csv) was compared.", verbatim=("t.csv",))
    html = render_report(sheet=sheet(), effect_sizes=sheet(), config={"moderators": ["d"]}, methods="",
                         provenance=PROVENANCE, extra_sections=[section], coding=coding,
                         families={"outcome": {"metric": "z", "tables": {"study_characteristics": characteristics},
                                               "images": []}})
    changed = html[html.index('<section id="changes">'):html.index("</section>", html.index('<section id="changes">'))]
    assert "Newly influential: N (outcome)." in changed and "Column d is new" in changed
    assert "<i>N</i>" not in changed and "<i>d</i>" not in changed
    assert "pooling.main_method REML \u2192 DL" in changed and "restricted maximum" not in changed
    table = html[html.index('id="table-study_characteristics-csv"'):]
    headings = re.findall(r'<th scope="col">(.*?)</th>', table[:table.index("</thead>")])
    assert "d" in headings and "<i>d</i>" not in headings and "<i>n</i>" in headings  # n is the sample size
    coded = html[html.index('<section id="double-coding">'):]
    assert "(t.csv)" in coded[:coded.index("</p>")]


def test_the_double_coding_paragraph_is_typeset_as_the_others():
    # its n, kappa and ICC(2,1) stood upright while every other paragraph set its statistics in italics
    from alliance_meta.report.html import CodingSection, render_report

    coding = CodingSection("On 394 effect sizes coded by both (k = 3 columns).")
    html = render_report(sheet=sheet(), effect_sizes=sheet(), config={}, methods="", provenance=PROVENANCE,
                         coding=coding, families={})
    coded = html[html.index('<section id="double-coding">'):]
    assert "(<i>k</i> = 3 columns)" in coded[:coded.index("</p>")]


def test_aicc_is_defined_once_by_its_own_definition():
    # defined("AICc", <the AIC phrase>) checked whether the AIC phrase defined AICc: never, so AICc was spelled out
    # again whatever the text before had defined
    from alliance_meta.report.methods import model_comparison_sentence

    first = model_comparison_sentence()
    assert "the AIC corrected for small samples (AICc; Hurvich & Tsai, 1989)" in first
    before = "an AIC corrected for small samples (AICc) and the Akaike information criterion (AIC; Akaike, 1974)"
    again = model_comparison_sentence(before)
    assert "the AICc (Hurvich & Tsai, 1989)" in again and "corrected for small samples" not in again
    assert "by the AIC (Akaike, 1974), the Bayesian information criterion (BIC; Schwarz, 1978)" in again


def test_a_subscript_stays_with_its_abbreviation_and_its_definition_counts():
    """"BF\u2081\u2080" at its first use read "Bayes factor (BF)\u2081\u2080", the subscript outside the brackets, and
    the next text spelled BF out again (its definition "(BF)\u2081\u2080" was none)."""
    first, second = defined_in_order(["Inclusion BF\u2081\u2080 = 4.2.", "The BF of each model."])
    assert first == "Inclusion Bayes factor (BF\u2081\u2080) = 4.2."
    assert second == "The BF of each model." and is_defined("BF", first)


def test_an_abbreviation_after_e_g_is_not_a_sentence_s_first_word():
    """"e.g. REML" read "e.g. Restricted maximum likelihood (REML)": the point of "e.g." ends no sentence."""
    assert spelled_out("the estimators, e.g. REML, agree") == \
        "the estimators, e.g. restricted maximum likelihood (REML), agree"
    assert spelled_out("as Smith et al. GLMM did") == "as Smith et al. generalised linear mixed model (GLMM) did"
    assert spelled_out("Done. REML was used.") == "Done. Restricted maximum likelihood (REML) was used."


def test_a_moderator_named_like_an_abbreviation_is_neither_spelled_out_nor_defined_in_its_table_s_note():
    """A moderator column "HDI": the moderator table's note read "Highest-density interval (HDI): HDI has one value
    ...", the data's name spelled out as the interval's."""
    from alliance_meta.report.tables import manuscript_table

    frame = pd.DataFrame({"moderator": ["HDI"], "k": [12], "qm": [5.21], "qm_df": [2], "qm_p": [0.074], "f": [2.6],
                          "f_df1": [2], "f_df2": [9], "f_p": [0.1], "tau2": [0.01], "r2": [2.9],
                          "note": ["HDI has one value in a study"]})
    note = manuscript_table("moderators", frame, "z", 95).note
    assert note.endswith(" HDI: HDI has one value in a study.") and "highest-density" not in note.lower()


def test_the_results_leave_a_moderator_named_like_an_abbreviation_as_written():
    """A moderator "HDI" in the Results read "highest-density interval (HDI), QM(2) = 5.21": the data's name
    spelled out as the interval's."""
    from alliance_meta.report.text import results_paragraph

    moderators = pd.DataFrame({"moderator": ["HDI"], "k": [12], "qm": [5.21], "qm_df": [2], "qm_p": [0.074],
                               "f": [2.6], "f_df1": [2], "f_df2": [9], "f_p": [0.01], "tau2": [0.01], "r2": [2.9]})
    text = results_paragraph("outcome", "z", {"moderators": moderators}, {}, "REML", ["z"], 95, {"moderators": ["HDI"]})
    assert "restricted maximum likelihood [REML]): HDI, QM(2) = 5.21" in text and "highest" not in text


def test_the_bias_table_defines_pet_peese_once_by_its_parts():
    """The bias table's note defined PET and PEESE, then spelled PET-PEESE out again as "precision-effect test and
    precision-effect estimate with standard errors (PET-PEESE)" (its words, plural, matched neither definition);
    one definition of each, and PET-PEESE alone in words that need neither."""
    from alliance_meta.report.tables import manuscript_table

    tests = ["egger", "pet", "peese", "pet_peese"]
    bias = pd.DataFrame({"test": tests, "statistic": [1.2, 2.0, 1.5, 1.5], "p": [0.2, 0.05, 0.1, 0.1],
                         "estimate": [0.3, 0.25, 0.2, 0.2], "ci_lower": NAN, "ci_upper": NAN, "k_imputed": NAN,
                         "note": ""})
    note = manuscript_table("bias", bias, "z").note
    assert note.count("precision-effect test") == 1 and note.count("precision-effect estimate") == 1, note
    assert ("precision-effect test (PET), t of the intercept" in note
            and "precision-effect estimate with standard error (PEESE), t of" in note
            and "; PET-PEESE, the PEESE row when PET's intercept is significant, else the PET row." in note), note
    assert is_defined("PET-PEESE", note) and ABBREVIATIONS["PET-PEESE"] == (
        f"{ABBREVIATIONS['PET']} and {ABBREVIATIONS['PEESE']}")  # one definition: the parts' words
    alone = manuscript_table("bias", bias.iloc[[0, 3]], "z").note
    assert ("precision-effect test and precision-effect estimate with standard error (PET-PEESE), the intercept of "
            "the regression on the variances when that of the regression on the standard errors is significant, "
            "else the latter.") in alone, alone
    assert "(PET)" not in alone and "(PEESE)" not in alone


def test_an_interval_in_parentheses_is_not_set_beside_a_bracketed_definition():
    """Within parentheses a definition takes brackets, so a first HDI there gave "(posterior mean r = .27, 95%
    highest-density interval [HDI] [.24, .30])": brackets beside brackets within parentheses. Its words alone there
    (APA 2020, sec. 6.54), the abbreviation defined at its next use; outside parentheses as before."""
    text = "A model (posterior mean r = .27, 95% HDI [.24, .30]); the HDI of \u03c4 was wide."
    assert spelled_out(text) == ("A model (posterior mean r = .27, 95% highest-density interval [.24, .30]); the "
                                 "highest-density interval (HDI) of \u03c4 was wide.")
    assert spelled_out("Posterior mean r = .27, 95% HDI [.24, .30].") == (
        "Posterior mean r = .27, 95% highest-density interval (HDI) [.24, .30].")
    assert spelled_out("(mixed-effects meta-regression, REML)") == (
        "(mixed-effects meta-regression, restricted maximum likelihood [REML])")


def test_a_note_that_spells_out_an_interval_in_any_case_or_number_is_not_keyed_again():
    """note_defined's NOTE_KEYED: "Confidence interval (CI)" at a sentence's start, or "confidence intervals (CIs)",
    define CI; a second "CI = confidence interval" after them defined it twice."""
    from alliance_meta.report.formatting import note_defined

    for note in ("Confidence interval (CI) bounds are shown.", "Values are 95% confidence intervals (CIs).",
                 "Values are 95% confidence intervals (CI; Wald)."):
        assert "CI = " not in note_defined(note, "Estimate [95% CI]"), note
    assert note_defined("Values are shown.", "Estimate [95% CI]").endswith("CI = confidence interval.")
