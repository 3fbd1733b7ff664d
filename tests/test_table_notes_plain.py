"""The manuscript tables a reviewer pastes (results/tables.docx, results/{family}/tables/*): notes in plain words
with the values this run used, never a config key, file name or code name ("aggregate_method and aggregate_rho",
"psychometric.credibility_level, 80% by default", "(rob_overall)", "each in pooled.csv"), and the Bayes table's
rows as a manuscript writes them (μ, τ, P(r > .10), BF₁₀; bayes.csv keeps its names)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

import alliance_meta as am
from alliance_meta.analyses.moderators.univariate import shared_studies_note
from alliance_meta.io import write_table
from alliance_meta.report.settings import TableSettings
from alliance_meta.report.summary import study_characteristics
from alliance_meta.report.tables import BUILDERS, manuscript_table, to_latex
from alliance_meta.report.word import read_docx_tables

ROOT = Path(__file__).resolve().parents[1]
YI = np.array([-0.889, -1.585, -1.348, -1.442, -0.218, -0.786, -1.621, 0.012, -0.469, -1.371, -0.339, 0.446, -0.017])
VI = np.array([0.326, 0.195, 0.415, 0.020, 0.051, 0.007, 0.223, 0.004, 0.056, 0.073, 0.012, 0.533, 0.071])
#: a config key (psychometric.correct_bias, aggregate_rho), a column or parameter name (rob_overall, p_r_gt_0.1,
#: bf_mu, theta_new), a file (pooled.csv), "dependence: multilevel", "by default" (which this run's value is?), an R
#: function (regtest, ma_r) or a sheet column (n12)
JARGON = re.compile(r"\w_\w|\.csv\b|\b[a-z]{3,}\.[a-z_]{3,}\b|\bdependence:|by default|regtest|\bn12\b")
SUBSCRIPTS = ("SD_res", "SD_\u03c1")  # the psychometric table's SD with a subscript (set as one in Word)
BAYES_PARAMETERS = ["mu", "tau", "tau2", "i2", "r", "or", "theta_new", "r_new", "or_new", "p_r_gt_0", "p_r_gt_0.1",
                    "bf_mu", "bf_tau"]


def bayes_frame() -> pd.DataFrame:
    """bayes.csv's rows of an SMD family (the demo's dropout family), with its parameter names."""
    k = len(BAYES_PARAMETERS)
    frame = pd.DataFrame({"parameter": BAYES_PARAMETERS, "mean": np.linspace(0.1, 0.9, k), "sd": 0.05,
                          "hdi_lower": 0.05, "hdi_upper": 0.95, "r_hat": 1.0, "ess_bulk": 3000.0, "ess_tail": 2000.0,
                          "exact_mean": np.nan, "exact_sd": np.nan})
    bayes_factors = frame["parameter"].str.startswith("bf_")
    frame.loc[bayes_factors, ["mean", "sd", "hdi_lower", "hdi_upper", "r_hat", "ess_bulk", "ess_tail"]] = np.nan
    frame.loc[bayes_factors, "exact_mean"] = [7.5e7, 0.33]
    frame.loc[frame["parameter"] == "or_new", "exact_sd"] = np.inf
    return frame


def effect_sizes() -> pd.DataFrame:
    """Study s1 has two effect sizes that differ in rater; none has an overall risk-of-bias judgement."""
    return pd.DataFrame({"study_id": ["s1", *(f"s{i}" for i in range(1, 14))], "yi": [0.1, *YI], "vi": [0.02, *VI],
                         "n": 100, "authors": "Author", "year": 2001, "rater": ["patient", "observer", *["patient"] * 12],
                         "simulated": "no"})


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    """A frame of every manuscript table's CSV, as the pipeline writes it."""
    from alliance_meta.models.fits import main_row
    from alliance_meta.report.grade import summary_of_findings

    rows = effect_sizes()
    studies = pd.DataFrame({"study_id": [f"s{i}" for i in range(1, 14)], "yi": YI, "vi": VI})
    pooled, _ = am.pooled_table(studies, methods=("REML", "DL"), tests=("z", "knha"), metric="smd")
    three_level = pooled.assign(sigma2_between=0.2, sigma2_within=0.1, n_studies=13, k=14)
    composites = rows.groupby(["study_id", "rater"], as_index=False).first()
    moderators = pd.DataFrame({"moderator": ["rater"], "k": [14], "qm": [1.27], "qm_df": [1], "qm_p": [0.26],
                               "f": [1.27], "f_df1": [1], "f_df2": [12], "f_p": [0.28], "tau2": [0.32], "r2": [2.5],
                               "tau2_null": [0.33], "note": [shared_studies_note(composites)]})
    subgroups = pd.DataFrame({"moderator": ["rater"] * 2, "level": ["patient", "observer"], "k": [13, 1],
                              "estimate": [-0.7, -1.5], "se": [0.2, 0.4], "ci_lower": [-1.1, -2.3],
                              "ci_upper": [-0.3, -0.7], "tau2": [0.3, 0.0]})
    bias = am.publication_bias(am.fit(YI, VI)).to_frame()
    analysis = studies.assign(n=100)
    sof = summary_of_findings("outcome", "smd", main_row(pooled, "REML", ["z"]), analysis, analysis[["study_id"]],
                              bias)
    psychometric = pd.DataFrame({"method": ["bare_bones", "individual"], "k": [13, 12], "n": [1300.4, 1200.0],
                                 "r_bar": [0.29, 0.291], "sd_res": [0.083, 0.084], "rho": [0.29, 0.337],
                                 "sd_rho": [0.083, 0.097], "ci_lower": [0.27, 0.31], "ci_upper": [0.32, 0.37],
                                 "cr_lower": [0.19, 0.21], "cr_upper": [0.40, 0.46],
                                 "percent_artifact_variance": [58.6, 157.8]})
    return {"pooled": pooled, "three_level_pooled": three_level, "moderators": moderators, "subgroups": subgroups,
            "bias": bias, "bayes": bayes_frame(), "summary_of_findings": sof, "psychometric": psychometric,
            "study_characteristics": study_characteristics(rows, ["rater"], "smd")}


MULTILEVEL = TableSettings(dependence="multilevel", aggregate_method="mean", aggregate_rho=0.3, correct_bias=False,
                           credibility_level=90, hdi_prob=0.9)


@pytest.mark.parametrize("settings", [TableSettings(), MULTILEVEL], ids=["defaults", "multilevel"])
@pytest.mark.parametrize("name", ["pooled", "three_level_pooled", "moderators", "subgroups", "bias", "bayes",
                                  "summary_of_findings", "psychometric", "study_characteristics"])
def test_no_table_says_a_config_key_a_file_or_a_code_name(frames, name, settings):
    table = manuscript_table(name.removeprefix("three_level_"), frames[name], "smd", 95, settings)
    assert table.note
    for text in (table.title, table.note, *table.header, *(row[0] for row in table.rows)):
        for subscript in SUBSCRIPTS:
            text = text.replace(subscript, "SD")
        assert not JARGON.search(text), (JARGON.search(text).group(), text)


def test_every_manuscript_table_is_checked():
    assert set(BUILDERS) == {"pooled", "moderators", "subgroups", "bias", "bayes", "summary_of_findings",
                             "psychometric", "study_characteristics"}


def test_the_notes_say_the_values_this_run_used(frames):
    """"combined as aggregate_method and aggregate_rho say", "psychometric.credibility_level, 80% by default",
    "where psychometric.correct_bias, the default": the reviewer had to look the values up in the config."""
    def table(name, settings=TableSettings()):
        return manuscript_table(name, frames[name], "smd", 95, settings)

    assert ("g = the study's effect sizes combined into one inverse-variance generalised least squares (GLS) "
            "composite under compound symmetry, assuming a correlation of .50 between sampling errors, with its Wald "
            "95% CI") in table(
        "study_characteristics").note
    assert ("combined into one mean composite (Borenstein et al., 2009, ch. 24), assuming a correlation of .30 "
            "between sampling errors") in table("study_characteristics", MULTILEVEL).note
    psychometric, corrected = table("psychometric", MULTILEVEL), table("psychometric")
    assert "90% CR" in psychometric.header and "80% CR" in corrected.header
    assert "mean correlation (not corrected for small-sample bias)" in psychometric.note
    assert "(each corrected for its small-sample bias first)" in corrected.note
    assert "90% HDI" in table("bayes", MULTILEVEL).header and "95% HDI" in table("bayes").header
    assert "three-level" in table("subgroups", MULTILEVEL).note and "three-level" not in table("subgroups").note
    assert "three-level" in table("summary_of_findings", MULTILEVEL).note
    assert "three-level" not in table("summary_of_findings").note


def test_the_bayes_table_writes_its_parameters_as_a_manuscript_does(frames):
    frame = frames["bayes"]
    before = frame.copy()
    table = manuscript_table("bayes", frame, "smd")
    assert [row[0] for row in table.rows] == [
        "\u03bc", "\u03c4", "\u03c4\u00b2", "I\u00b2 (%)", "r", "OR", "\u03b8 (new study)", "r (new study)",
        "OR (new study)", "P(r > 0)", "P(r > .10)", "BF\u2081\u2080 (\u03bc \u2260 0)", "BF\u2081\u2080 (\u03c4 > 0)"]
    pd.testing.assert_frame_equal(frame, before)  # bayes.csv keeps its names
    for defined in ("\u03bc = mean of the true effects", "\u03c4 = their standard deviation",
                    "\u03b8 (new study) = the true effect of a new study", "P(r > t) = posterior probability",
                    "BF\u2081\u2080 = Bayes factor", "OR (new study) = \u03b8 (new study) as an odds ratio",
                    "\u221e: the exact posterior moment of OR (new study) is infinite"):
        assert defined in table.note, defined
    latex = to_latex(table)
    assert r"BF\textsubscript{10} ($\mu$ $\neq$ 0)" in latex and r"$\theta$ (new study)" in latex
    assert "P(r $>$ .10)" in latex


def test_the_word_tables_job_writes_the_runs_values(frames, tmp_path):
    """The word_tables job takes the settings as its params and every table of it says them (Markdown, LaTeX and
    Word alike)."""
    folder = tmp_path / "results" / "outcome"
    folder.mkdir(parents=True)
    names = ["study_characteristics", "bayes", "psychometric"]
    for name in names:
        write_table(frames[name], folder / f"{name}.csv")
    write_table(effect_sizes().assign(family="outcome"), tmp_path / "effect_sizes.csv")
    outputs = [str(folder / "tables" / f"{name}.{ext}") for name in names for ext in ("md", "tex", "docx")]
    (folder / "tables").mkdir()
    config = {"aggregate_method": "mean", "aggregate_rho": 0.3, "psychometric": {"credibility_level": 90},
              "bayes": {"hdi_prob": 0.9}}
    (tmp_path / "sheet_notes.txt").write_text("risk of bias coded with QUIPS\n", encoding="utf-8")
    snakemake = SimpleNamespace(
        input=SimpleNamespace(tables=[str(folder / f"{name}.csv") for name in names],
                              effect_sizes=str(tmp_path / "effect_sizes.csv"),
                              sheet_notes=str(tmp_path / "sheet_notes.txt")),
        output=SimpleNamespace(docx=str(tmp_path / "tables.docx"), tables=outputs),
        params=SimpleNamespace(metrics={"outcome": "z"}, level=95,
                               settings=TableSettings.from_config(config).as_params()),
        log=[str(tmp_path / "word_tables.log")])
    runpy.run_path(str(ROOT / "workflow" / "scripts" / "word_tables.py"), init_globals={"snakemake": snakemake})
    study, bayes, psychometric = read_docx_tables(tmp_path / "tables.docx")
    assert "mean composite (Borenstein et al., 2009, ch. 24), assuming a correlation of .30" in study["note"]
    assert "90% HDI" in bayes["header"] and bayes["rows"][0][0] == "\u03bc"
    assert "90% CR" in psychometric["header"]
    markdown = (folder / "tables" / "study_characteristics.md").read_text()
    assert "assuming a correlation of .30" in markdown and "aggregate_" not in markdown
    assert r"BF\textsubscript{10}" in (folder / "tables" / "bayes.tex").read_text()


def test_the_word_tables_rule_reruns_only_for_the_settings_its_notes_say():
    """The rule's params are the few values the notes say: a change of any other key (the permutations, the
    draws, a plot's columns) leaves the tables as they are."""
    text = (ROOT / "workflow" / "rules" / "report.smk").read_text()
    rule = text.split("rule word_tables:")[1].split("\nrule ")[0]
    assert "settings=TableSettings.from_config(config).as_params()" in rule
    demo = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    other = {**demo, "permutations": 50, "bayes": {**demo["bayes"], "draws": 200}, "plots": {"rob": False}}
    assert TableSettings.from_config(demo).as_params() == TableSettings.from_config(other).as_params()
    assert TableSettings.from_config(demo).as_params() == {
        "dependence": "aggregate", "aggregate_method": "gls", "aggregate_rho": 0.5, "correct_bias": True,
        "credibility_level": 80, "hdi_prob": 0.95}
    assert TableSettings.from_config({**demo, "aggregate_rho": 0.3}).aggregate_rho == 0.3


def test_the_reports_tables_say_the_runs_values_too():
    """The HTML report shows the same tables (html.result_tables): with the run's config, not the defaults."""
    from alliance_meta.report.html import family_section

    tables = {"study_characteristics": study_characteristics(effect_sizes(), ["rater"], "z", method="mean", rho=0.3)}
    section = family_section("outcome", "z", tables, None, [], {}, {"aggregate_method": "mean", "aggregate_rho": 0.3})
    note = next(table.note for table in section.tables if table.name == "study_characteristics")
    assert "mean composite (Borenstein et al., 2009, ch. 24), assuming a correlation of .30" in note


def test_the_methods_and_the_tables_say_the_composites_in_the_same_words():
    from alliance_meta.report.methods import dependence_sentence

    sentence = dependence_sentence({"aggregate_method": "gls", "aggregate_rho": 0.333})
    assert sentence == ("Dependent effect sizes within a study were combined into one inverse-variance generalised "
                        "least squares (GLS) composite "
                        "under compound symmetry, assuming a correlation of .333 between sampling errors.")


def test_the_settings_default_to_the_schemas_defaults():
    """A table built without the run's settings (am.* users, older callers) says the schema's defaults."""
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())["properties"]
    psychometric, bayes = schema["psychometric"]["properties"], schema["bayes"]["properties"]
    assert TableSettings().as_params() == {
        "dependence": schema["dependence"]["default"], "aggregate_method": schema["aggregate_method"]["default"],
        "aggregate_rho": schema["aggregate_rho"]["default"], "correct_bias": psychometric["correct_bias"]["default"],
        "credibility_level": psychometric["credibility_level"]["default"], "hdi_prob": bayes["hdi_prob"]["default"]}


def test_the_bias_table_says_why_the_excess_significance_statistic_is_blank():
    # metafor's exact test of excess significance has no statistic: the cell was blank and the note said only that
    # the p may come from the exact test
    def note(statistic, p):
        frame = pd.DataFrame({"test": ["egger", "tes"], "statistic": [0.77, statistic], "p": [0.44, p],
                              "estimate": [0.5, np.nan], "k_imputed": [np.nan, np.nan]})
        table = manuscript_table("bias", frame, "z")
        assert table.rows[1][1] == ("" if np.isnan(statistic) else "3.10")
        return table.note

    exact, chi2 = note(np.nan, 0.605), note(3.1, 0.04)
    assert ("test of excess significance, blank: its p is from the exact test of the observed against the expected "
            "number of significant studies (metafor's test for these k), which has no statistic") in exact
    assert "blank" not in chi2 and "\u03c7\u00b2 of the observed against the expected number" in chi2
    assert "\u03c7\u00b2 of the observed" not in exact


def test_the_study_table_says_when_risk_of_bias_was_derived_from_the_domains(tmp_path):
    # every demo study's overall risk of bias was derived from its domains (rob_overall left empty), and the note
    # called the column "the overall judgement" as if the sheet gave it
    from alliance_meta.inputs.risk_of_bias import check_risk_of_bias, overall_derived

    sheet = pd.DataFrame({"sheet_row": [2, 3], "study_id": ["s1", "s2"],
                          **{f"rob_{domain}": ["low", "moderate"] for domain in
                             ("participation", "attrition", "prognostic_factor", "outcome", "confounding", "analysis")}})
    notes = check_risk_of_bias(sheet.astype(object)).notes
    assert overall_derived(notes) and not overall_derived(notes[:1])
    rows = effect_sizes().assign(rob_overall="low")
    frame = study_characteristics(rows, ["rater"], "z")
    written = manuscript_table("study_characteristics", frame, "z", settings=TableSettings.from_config({})).note
    derived = manuscript_table("study_characteristics", frame, "z",
                               settings=TableSettings.from_config({}, notes)).note
    assert "risk of bias = the overall judgement (mixed: " in written and "derived" not in written
    assert ("risk of bias = the overall judgement, derived from the domains where the sheet leaves it empty (mixed: "
            in derived)
    from alliance_meta.report.html import family_section

    section = family_section("outcome", "z", {"study_characteristics": frame}, None, [], {}, {}, sheet_notes=notes)
    assert "derived from the domains" in next(table.note for table in section.tables
                                              if table.name == "study_characteristics")


def test_every_latex_table_is_plain_ascii(frames):
    """The psychometric table's LaTeX wrote the note's "\u03a3n\u00b2/\u03a3n" with a raw \u03a3, and the bias table's
    a raw \u03c7, which pdfLaTeX's Latin fonts lack: every character of every manuscript table is LaTeX."""
    for name in BUILDERS:
        if name in frames:
            latex = to_latex(manuscript_table(name, frames[name], "smd"))
            assert latex.isascii(), (name, sorted({character for character in latex if not character.isascii()}))
