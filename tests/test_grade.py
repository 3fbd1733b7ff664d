"""Suggested GRADE ratings: each domain's rule on hand-made results, overrides, the table."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from alliance_meta.report.grade import summary_of_findings
from alliance_meta.report.settings import TableSettings
from alliance_meta.report.tables import manuscript_table, to_markdown

ANALYSIS = pd.DataFrame({"study_id": [f"s{i}" for i in range(12)], "vi": [0.01] * 6 + [0.04] * 6,
                         "n": [100] * 12})
ROW = dict(method="REML", test="z", k=12, estimate=math.atanh(0.3), ci_lower=math.atanh(0.25),
           ci_upper=math.atanh(0.35), pi_lower=math.atanh(0.1), pi_upper=math.atanh(0.5), tau2=0.0, i2=40.0)
BIAS = pd.DataFrame({"test": ["egger", "rank"], "p": [0.5, 0.3]})


def sof(row=None, effect_sizes=None, bias=BIAS, selection=None, **options):
    effect_sizes = ANALYSIS[["study_id"]] if effect_sizes is None else effect_sizes
    return summary_of_findings("outcome", "z", {**ROW, **(row or {})}, ANALYSIS, effect_sizes, bias, selection,
                               options).iloc[0]


def test_clean_evidence_stays_at_its_start():
    row = sof()
    assert row["certainty"] == "low" and row["start"] == "low"
    assert sof(start="high")["certainty"] == "high"
    assert row["risk_of_bias_reason"] == "not assessed: the sheet has no overall risk-of-bias judgements"
    assert row["effect"] == pytest.approx(0.3) and row["effect_pi_upper"] == pytest.approx(0.5)
    assert row["n"] == 1200 and "Suggested" in row["note"]


def test_risk_of_bias_share_of_weight():
    rated = ANALYSIS[["study_id"]].assign(rob_overall=["high"] * 4 + ["low"] * 8)
    # weights 100 (s0-s5) and 25 (s6-s11): 400 of 750 = 53% from high risk
    row = sof(effect_sizes=rated, start="high")
    assert row["risk_of_bias_downgrade"] == -1 and "53% of the weight" in row["risk_of_bias_reason"]
    assert "without an overall judgement" not in row["risk_of_bias_reason"]
    rated["rob_overall"] = ["high"] * 3 + ["some concerns"] * 9
    assert sof(effect_sizes=rated)["risk_of_bias_downgrade"] == 0
    rated["rob_overall"] = ["high"] * 4 + ["low"] * 6 + [None, None]  # s10, s11 not judged: 50 of 750
    assert sof(effect_sizes=rated)["risk_of_bias_reason"] == (
        "serious: 53% of the weight from studies at high risk of bias (2 studies without an overall judgement, "
        "7% of the weight)")


@pytest.mark.parametrize("i2, pi_lower, expected", [(40, -0.1, 0), (60, -0.1, -1), (80, -0.1, -2), (80, 0.05, 0)])
def test_inconsistency(i2, pi_lower, expected):
    assert sof({"i2": i2, "pi_lower": pi_lower})["inconsistency_downgrade"] == expected


def test_inconsistency_reason_gives_i2_as_the_pooled_table_does():
    """I\u00b2 = 49.96% read "I\u00b2 = 50%" beside "not serious", and the tables and the report's text say 50.0%."""
    reason = sof({"i2": 49.96, "pi_lower": -0.1})["inconsistency_reason"]
    assert reason == "not serious: I\u00b2 = 50.0%, prediction interval includes the null"


def test_inconsistency_of_one_study_is_not_assessable():
    """k = 1: tau^2 is set to 0 and the prediction interval is the CI, so neither says anything of consistency."""
    row = sof({"k": 1, "i2": 0.0, "pi_lower": 0.09, "pi_upper": 0.49})
    assert (row["inconsistency_downgrade"], row["inconsistency_reason"]) == (0, "not assessable: one study")
    three_level = sof({"k": 4, "n_studies": 1, "sigma2_between": 0.0, "i2": 60.0, "pi_lower": -0.1, "pi_upper": 0.6})
    assert three_level["inconsistency_reason"] == "not assessable: one study"  # k counts its effect sizes


def test_imprecision_width_null_and_information_size():
    assert sof()["imprecision_downgrade"] == 0
    assert sof(imprecision_width={"outcome": 0.05})["imprecision_downgrade"] == -1
    assert sof({"ci_lower": -0.01})["imprecision_downgrade"] == -1
    both = sof({"ci_lower": -0.01}, optimal_information_size=2000)
    assert both["imprecision_downgrade"] == -2 and "below the optimal information size 2,000" in \
        both["imprecision_reason"]


def test_publication_bias_and_the_floor():
    flagged = sof(bias=BIAS.assign(p=[0.05, 0.3]))
    assert flagged["publication_bias_downgrade"] == -1
    assert flagged["publication_bias_reason"] == "suspected: Egger's test p = .050"
    assert sof({"k": 8})["publication_bias_reason"].startswith("not assessed: fewer than 10")
    selection = pd.DataFrame({"type": ["stepfun"], "lrt_p": [0.01], "ci_lower": [-0.05], "ci_upper": [0.3]})
    assert sof(selection=selection)["publication_bias_downgrade"] == -1
    worst = sof({"i2": 90, "pi_lower": -0.2, "ci_lower": -0.01}, bias=BIAS.assign(p=[0.01, 0.3]))
    assert worst["certainty_points"] == 1 and worst["certainty"] == "very low"
    # under dependence: multilevel the three-level Egger test rates (it was ignored for the composite test's p)
    three = pd.DataFrame({"test": ["egger", "rank", "egger_multilevel"], "p": [0.3, 0.3, 0.028]})
    assert sof(bias=three)["publication_bias_reason"] == "suspected: three-level Egger's test p = .028"
    assert sof(bias=three.assign(p=[0.05, 0.3, np.nan]))["publication_bias_reason"] == "suspected: Egger's test p = .050"
    # tests that ran without an estimate (every study with the same variance, no study in an interval) are named
    unestimable = pd.DataFrame({"type": ["stepfun"], "lrt_p": [np.nan], "ci_lower": [np.nan], "ci_upper": [np.nan]})
    assert (sof(bias=BIAS.assign(p=np.nan), selection=unestimable)["publication_bias_reason"]
            == "not assessed: Egger's test and the step-function selection model not estimable")
    assert sof(bias=BIAS.assign(p=np.nan))["publication_bias_reason"] == "not assessed: Egger's test not estimable"
    assert sof(bias=None)["publication_bias_reason"] == "not assessed: no bias tests"


def test_publication_bias_that_no_test_assessed_is_not_assessed():
    """A step-function model left out as poorly identified beside an Egger's test without an estimate, or a
    three-level Egger's test left out for its small df beside a composite one without an estimate, rated the domain
    "not suspected" (the table's "Not serious"): no test had assessed it."""
    from alliance_meta.report.tables import _judgement

    poorly = pd.DataFrame({"type": ["stepfun"], "lrt_p": [0.2], "ci_lower": [0.1], "ci_upper": [0.3],
                           "note": ["poorly identified: its estimate moved further than the effects spread"]})
    row = sof(bias=BIAS.assign(p=np.nan), selection=poorly)
    assert row["publication_bias_reason"] == ("not assessed: Egger's test not estimable; step-function selection model "
                                              "not used (poorly identified)")
    assert row["publication_bias_downgrade"] == 0 and _judgement(0, row["publication_bias_reason"]) == "Not assessed"
    assert sof(bias=None, selection=poorly)["publication_bias_reason"] == (
        "not assessed: step-function selection model not used (poorly identified)")
    three = pd.DataFrame({"test": ["egger", "rank", "egger_multilevel"], "p": [np.nan, 0.3, 0.2],
                          "df": [np.nan, np.nan, 2.5]})
    assert sof(bias=three)["publication_bias_reason"] == (
        "not assessed: three-level Egger's test not used (CR2 df 2.50 below 4); Egger's test not estimable")
    # only the three-level test, without an estimate: named as such
    alone = pd.DataFrame({"test": ["egger_multilevel"], "p": [np.nan]})
    assert sof(bias=alone)["publication_bias_reason"] == "not assessed: three-level Egger's test not estimable"
    # a test that assessed it keeps the others' reasons beside it
    assert sof(bias=BIAS, selection=poorly)["publication_bias_reason"] == (
        "not suspected: Egger's test p = .500; step-function selection model not used (poorly identified)")


def test_reviewers_override_a_domain():
    row = sof(start="high", overrides={"outcome": {"indirectness": {"downgrade": 1, "reason": "student therapists"}}})
    assert (row["indirectness_downgrade"], row["indirectness_reason"]) == (-1, "reviewers: student therapists")
    assert row["certainty"] == "moderate"


def test_summary_of_findings_table():
    frame = summary_of_findings("outcome", "z", ROW, ANALYSIS, ANALYSIS[["study_id"]], BIAS, None, {})
    table = manuscript_table("summary_of_findings", frame, "z")
    assert table.rows == [["Alliance and treatment outcome (correlation)", "12 (1,200)", ".30 [.25, .35]",
                           "[.10, .50]", "Not assessed", "Not serious", "Not assessed", "Not serious", "Not serious",
                           "Low (suggested)"]]
    assert "starting at low" in table.note and "| Certainty |" in to_markdown(table)
    assert "N = patients summed over the studies (each study's largest n)." in table.note  # as summary.py counts them
    # what k counts, of the run's model (the note said "also of a three-level model" whatever the run fitted)
    assert "k = studies; N" in table.note
    three_level = manuscript_table("summary_of_findings", frame, "z", settings=TableSettings(dependence="multilevel"))
    assert "k = studies (the three-level model's pooled table counts effect sizes); N" in three_level.note


def test_an_odds_ratio_ci_is_measured_in_units_of_d_not_on_the_or_scale():
    """metric.dropout: log_or rated the demo's dropout family down for imprecision (OR CI [2.21, 3.08] is
    0.87 wide, > 0.5) where the same data as g (CI [0.43, 0.62]) were not: the OR scale is not the g scale."""
    lower, upper = math.log(2.21), math.log(3.08)
    row = dict(ROW, estimate=(lower + upper) / 2, ci_lower=lower, ci_upper=upper)
    rated = summary_of_findings("dropout", "log_or", row, ANALYSIS, ANALYSIS[["study_id"]], BIAS, None,
                                {"imprecision_width": {"dropout": 0.5}}).iloc[0]
    d_width = (upper - lower) * math.sqrt(3) / math.pi
    # no parentheses within the parentheses (APA 2020, sec. 6.54): "(width ... in units of d (log OR ...))" before
    assert rated["imprecision_downgrade"] == 0 and (f"(width {d_width:.2f} \u2264 0.5 in units of d, log OR \u00d7 "
                                                    "\u221a3/\u03c0)") in rated["imprecision_reason"]
    # N >= 400 patients is GRADE's rule of thumb for continuous outcomes: for an OR it says that events count
    assert rated["imprecision_reason"].endswith("for an odds ratio GRADE counts events, about 300, which the studies "
                                                "without a 2x2 table do not give: the reviewers check the number of "
                                                "dropouts)")
    assert "events" not in summary_of_findings("dropout", "smd", dict(ROW), ANALYSIS, ANALYSIS[["study_id"]], BIAS,
                                               None).iloc[0]["imprecision_reason"]
    narrow = summary_of_findings("dropout", "log_or", row, ANALYSIS, ANALYSIS[["study_id"]], BIAS, None,
                                 {"imprecision_width": {"dropout": 0.1}}).iloc[0]
    assert narrow["imprecision_downgrade"] == -1 and re.search(r"\(width 0\.\d+ > 0\.1 in units of d",
                                                               narrow["imprecision_reason"])  # stated when wide too


def test_risk_of_bias_of_a_family_without_any_judgement_is_not_assessed():
    # the sheet has rob_* columns, filled for the other family only: 0% of the weight is at high risk because
    # nothing is rated, which is no ground for 'not serious'
    unrated = ANALYSIS[["study_id"]].assign(rob_overall=[None] * 12)
    row = sof(effect_sizes=unrated)
    assert row["risk_of_bias_downgrade"] == 0
    assert row["risk_of_bias_reason"] == "not assessed: no study has an overall risk-of-bias judgement"


def test_a_three_level_fit_counts_studies_and_their_patients_once():
    """dependence: multilevel: analysis.csv has a row per effect size and pooled.csv's k counts them. The demo's
    summary of findings read "337 (26,985)" (the n of every effect size summed) where the Data section reads
    125 studies and N = 11,021; and 12 effect sizes of 4 studies passed the 10-study floor of the bias tests."""
    rows = pd.DataFrame({"study_id": ["a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d", "d"],
                         "vi": [0.01] * 12, "n": [100, 90, None, 50, 50, 50, 80, 70, 60, 40, 40, 40]})
    three_level = {**ROW, "k": 12, "n_studies": 4, "sigma2_between": 0.01, "sigma2_within": 0.005}
    rated = rows[["study_id"]].assign(rob_overall=["high"] * 3 + ["low"] * 3 + [None] * 6)
    row = summary_of_findings("outcome", "z", three_level, rows, rated, BIAS, None, {}).iloc[0]
    assert row["k"] == 4 and row["n"] == 100 + 50 + 80 + 40
    assert row["publication_bias_reason"].startswith("not assessed: fewer than 10")
    assert "(2 studies without an overall judgement" in row["risk_of_bias_reason"]
    table = manuscript_table("summary_of_findings", pd.DataFrame([row]), "z")
    assert table.rows[0][1] == "4 (270)"


def test_unknown_sample_sizes_are_not_read_as_n_of_zero():
    """No study with an n: N was 0 and 'serious: N = 0 below the optimal information size 400'; some studies
    without one: N is a lower bound, said as such and not downgraded for."""
    def judged(n):
        analysis = ANALYSIS.assign(n=n)
        return summary_of_findings("outcome", "z", ROW, analysis, ANALYSIS[["study_id"]], BIAS, None, {}).iloc[0]

    none = judged([None] * 12)
    assert pd.isna(none["n"]) and none["imprecision_downgrade"] == 0
    frame = summary_of_findings("outcome", "z", ROW, ANALYSIS.assign(n=None), ANALYSIS[["study_id"]], BIAS, None, {})
    assert manuscript_table("summary_of_findings", frame, "z").rows[0][1] == "12 (\u2013)"  # N unknown: <NA> (Int64)
    assert none["imprecision_reason"].endswith("not wider than 0.2, N unknown (no study gave its n)")
    some = judged([20] * 6 + [None] * 6)
    assert some["n"] == 120 and some["imprecision_downgrade"] == 0
    assert some["imprecision_reason"].endswith("N = 120 (n unknown for 6 studies): the optimal information size 400 "
                                               "not assessed")
    known = judged([20] * 12)
    assert known["imprecision_downgrade"] == -1 and "N = 240 below the optimal information size 400" in \
        known["imprecision_reason"]


def test_a_three_level_fit_weighs_studies_as_its_gls_estimate_does():
    """Under dependence: multilevel the share of weight at high risk took each effect size as an independent
    study (1/(v + tau^2) per row); a study's weight in the three-level estimate is 1'V^-1 1 of its block."""
    from alliance_meta.report.grade import study_weights

    rows = pd.DataFrame({"study_id": ["a", "a", "a", "b", "c", "c"], "vi": [0.02, 0.03, 0.025, 0.01, 0.04, 0.05]})
    fit = {"sigma2_between": 0.015, "sigma2_within": 0.008, "tau2": 0.023}
    expected = {}
    for study, block in rows.groupby("study_id"):
        n = len(block)
        V = np.diag(block["vi"].to_numpy() + fit["sigma2_within"]) + fit["sigma2_between"] * np.ones((n, n))
        expected[study] = np.ones(n) @ np.linalg.solve(V, np.ones(n))
    weights = study_weights(rows, fit)  # in percent, as metafor's weights()
    total = sum(expected.values())
    assert weights.to_dict() == pytest.approx({study: 100 * w / total for study, w in expected.items()}, rel=1e-12)
    rated = rows[["study_id"]].assign(rob_overall=["high"] * 3 + ["low"] * 3)
    row = summary_of_findings("outcome", "z", {**ROW, **fit, "k": 6, "n_studies": 3}, rows.assign(n=50), rated,
                              BIAS, None, {}).iloc[0]
    share = expected["a"] / sum(expected.values())
    assert f"{share:.0%} of the weight from studies at high risk" in row["risk_of_bias_reason"]
    per_row = 1 / (rows["vi"] + fit["tau2"])
    rows_as_studies = per_row[rows["study_id"] == "a"].sum() / per_row.sum()
    assert share < 0.5 < rows_as_studies  # 42% of the weight, not 51% (which downgraded)
    assert row["risk_of_bias_downgrade"] == 0


def test_summary_of_findings_table_names_the_test_of_its_ci():
    """The note names the test of the CI as the forest plot's footnote does: Wald for a z headline, Knapp-Hartung
    for knha, its ad hoc variant under pooling.knha_adhoc (pooled.csv's knha row with the ad hoc note, which the
    CSV's note carries), and Wald for one study under knha (metafor's rma switches to z)."""
    from alliance_meta.models.univariate import ADHOC_NOTE, SINGLE_STUDY_Z_NOTE
    from alliance_meta.report.grade import SUGGESTION

    def note(**row):
        frame = summary_of_findings("outcome", "z", {**ROW, **row}, ANALYSIS, ANALYSIS[["study_id"]], BIAS, None, {})
        return frame, manuscript_table("summary_of_findings", frame, "z").note

    frame, text = note()
    assert "95% CI: Wald." in text and frame["note"].iloc[0] == SUGGESTION  # the CSV's note: the suggestion alone
    assert "config" not in SUGGESTION and "grade.overrides" not in text  # plain words, not a config key
    assert "95% CI: Knapp\u2013Hartung." in note(test="knha")[1]
    frame, text = note(test="knha", note=ADHOC_NOTE)
    assert frame["test"].iloc[0] == "knha" and ADHOC_NOTE in frame["note"].iloc[0]
    assert "95% CI: Knapp\u2013Hartung (ad hoc variant: scale factor not below 1)." in text
    frame, text = note(test="knha", k=1, note=f"k = 1: tau^2 set to 0, no heterogeneity test; {SINGLE_STUDY_Z_NOTE}")
    assert "95% CI: Wald." in text and SINGLE_STUDY_Z_NOTE in frame["note"].iloc[0]


def test_a_ci_without_width_is_not_assessable_for_imprecision():
    # Knapp-Hartung on identical effect sizes gives SE 0; the zero-width CI was judged "not serious"
    row = sof({"test": "knha", "ci_lower": math.atanh(0.3), "ci_upper": math.atanh(0.3)})
    assert row["imprecision_downgrade"] == 0
    assert row["imprecision_reason"].startswith("not assessable: the confidence interval has no width")


def test_an_odds_ratio_family_with_2x2_tables_is_measured_by_its_events():
    """GRADE's optimal information size of a binary outcome counts events (about 300), not patients: with a table
    in every study the dropouts are counted (the largest of a study's rows), else patients with the rule named."""
    lower, upper = math.log(2.21), math.log(3.08)
    row = dict(ROW, estimate=(lower + upper) / 2, ci_lower=lower, ci_upper=upper)
    tables = ANALYSIS.assign(n12=[10] * 12, n22=[12] * 12)  # 22 dropouts per study: 264 events of 1,200 patients
    rated = summary_of_findings("dropout", "log_or", row, tables, tables[["study_id"]], BIAS, None,
                                {"imprecision_width": {"dropout": 0.5}}).iloc[0]
    assert rated["imprecision_downgrade"] == -1
    assert rated["imprecision_reason"] == ("serious: 264 events (unfavourable outcomes of the 2x2 tables) below the optimal "
                                           "information size of 300 events")
    enough = summary_of_findings("dropout", "log_or", row, tables, tables[["study_id"]], BIAS, None,
                                 {"imprecision_width": {"dropout": 0.5}, "optimal_information_events": 250}).iloc[0]
    assert enough["imprecision_downgrade"] == 0
    assert enough["imprecision_reason"].endswith("264 events (unfavourable outcomes of the 2x2 tables) \u2265 250")
    one_without = tables.assign(n12=[None] + [10] * 11)  # an odds ratio from its CI: events unknown
    patients = summary_of_findings("dropout", "log_or", row, one_without, one_without[["study_id"]], BIAS, None,
                                   {"imprecision_width": {"dropout": 0.5}}).iloc[0]
    assert patients["imprecision_downgrade"] == 0 and "N = 1,200 \u2265 400 patients" in patients["imprecision_reason"]
    smd = summary_of_findings("dropout", "smd", row, tables, tables[["study_id"]], BIAS, None).iloc[0]
    assert "events" not in smd["imprecision_reason"]


def test_a_composite_of_two_different_2x2_tables_counts_its_events_from_its_rows():
    """Aggregated, a study whose two tables differ has n12 = "mixed": the family's events were NaN, so 200 events
    (below 300) were judged as N = 450 patients (above 400), one downgrade too few."""
    from alliance_meta.inputs.dependence import aggregate
    from alliance_meta.report.grade import total_events

    rows = pd.DataFrame({"study_id": ["A", "A", "B", "C"], "yi": [0.5, 0.6, 0.4, 0.3], "vi": [0.05, 0.06, 0.04, 0.05],
                         "n": [200, 200, 150, 100], "n11": [60, 55, 50, 30], "n12": [40, 45, 25, 20],
                         "n21": [50, 50, 40, 25], "n22": [50, 50, 35, 25]})
    analysis = aggregate(rows)
    assert analysis["n12"].tolist() == ["mixed", 25, 20]
    assert total_events(analysis, rows) == 95 + 60 + 45  # study A: the larger of its tables' 90 and 95 events
    assert math.isnan(total_events(analysis))  # without the rows, the composite's counts are unknown
    pooled = {"estimate": 0.45, "ci_lower": 0.2, "ci_upper": 0.7, "pi_lower": 0.1, "pi_upper": 0.8, "i2": 10,
              "k": 3, "tau2": 0.01}
    # a CI width limit of 0.2 (the dropout family's default is 0.5): too wide, and too few events
    narrow = {"imprecision_width": {"dropout": 0.2}}
    reason = summary_of_findings("dropout", "log_or", pooled, analysis, rows, options=narrow)
    reason = reason["imprecision_reason"].iloc[0]
    assert reason.startswith("very serious") and "200 events (unfavourable outcomes of the 2x2 tables) below" in reason


def test_risk_of_bias_of_a_custom_tool_counts_its_worst_level():
    """A custom tool's worst level (good / fair / poor) is high risk, as in rob_sensitivity.csv and the Results
    sentence; GRADE counted only high, serious and critical, so 53% of the weight at poor read 0% at high risk."""
    rated = ANALYSIS[["study_id"]].assign(rob_overall=["poor"] * 4 + ["good"] * 8)
    tool = {"tool": "custom", "domains": ["selection"], "levels": ["good", "fair", "poor"]}
    row = summary_of_findings("outcome", "z", ROW, ANALYSIS, rated, BIAS, None, {"start": "high"}, tool).iloc[0]
    assert row["risk_of_bias_downgrade"] == -1 and "53% of the weight" in row["risk_of_bias_reason"]
    # under a tool without "high" (ROBINS-I) the built-in tools' words still read as before
    rated["rob_overall"] = ["serious"] * 4 + ["low"] * 8
    row = summary_of_findings("outcome", "z", ROW, ANALYSIS, rated, BIAS, None, {}, {"tool": "robins_i"}).iloc[0]
    assert "53% of the weight" in row["risk_of_bias_reason"]


def test_a_three_level_egger_test_with_df_below_4_does_not_rate():
    """A three-level walkthrough (12 studies, one with 15 effect sizes): GRADE downgraded for publication bias on the
    three-level Egger test's CR2 t(1.65), p = .049, a df the report elsewhere calls not to be trusted (Tipton 2015);
    the composite Egger test (p = .158) rates instead, and the reason says why."""
    three = pd.DataFrame({"test": ["egger", "rank", "egger_multilevel"], "p": [0.158, 0.116, 0.049],
                          "df": [np.nan, np.nan, 1.648]})
    row = sof(bias=three)
    assert row["publication_bias_downgrade"] == 0
    assert row["publication_bias_reason"] == ("not suspected: three-level Egger's test not used (CR2 df 1.65 below 4); "
                                              "Egger's test p = .158")
    assert sof(bias=three.assign(df=[np.nan, np.nan, 4.4]))["publication_bias_reason"] == (
        "suspected: three-level Egger's test p = .049")


def test_risk_of_bias_of_a_custom_tool_with_capitalised_levels():
    """levels: [Good, Fair, Poor]: rob_overall holds Poor as the config writes it; GRADE compares lower case, so the
    tool's worst level must be lower-cased too, else 53% of the weight at Poor read 0%."""
    rated = ANALYSIS[["study_id"]].assign(rob_overall=["Poor"] * 4 + ["Good"] * 8)
    tool = {"tool": "custom", "domains": ["selection"], "levels": ["Good", "Fair", "Poor"]}
    row = summary_of_findings("outcome", "z", ROW, ANALYSIS, rated, BIAS, None, {"start": "high"}, tool).iloc[0]
    assert row["risk_of_bias_downgrade"] == -1 and "53% of the weight" in row["risk_of_bias_reason"]


def test_a_poorly_identified_step_function_model_does_not_downgrade_for_publication_bias():
    """A step-function model the Results leave out as poorly identified (selection_models.csv's note) downgraded
    publication bias all the same when its LRT p < .05 and its CI included the null."""
    from alliance_meta.analyses.bias.results import POORLY_IDENTIFIED

    selection = pd.DataFrame({"type": ["stepfun"], "lrt_p": [0.01], "ci_lower": [-0.05], "ci_upper": [0.3],
                              "note": [f"{POORLY_IDENTIFIED}: its standard error 1.2 is larger than the spread"]})
    row = sof(selection=selection)
    assert row["publication_bias_downgrade"] == 0
    assert "step-function selection model not used (poorly identified)" in row["publication_bias_reason"]
    assert sof(selection=selection.assign(note=""))["publication_bias_downgrade"] == -1


@pytest.mark.parametrize("metric, lower, upper, width", [
    ("smd", 0.433682, 0.616388, 0.5),  # the demo's dropout CI: "[0.43, 0.62] (width 0.18 ≤ 0.5)"
    ("smd", 0.4000, 0.6004, 0.2),  # wider than 0.2, which [0.40, 0.60] is not
    ("smd", 0.4000, 0.5996, 0.2),
    ("z", math.atanh(0.2700), math.atanh(0.3204), 0.05),  # r [.27, .32] is no wider than 0.05, [.2700, .3204] is
    ("z", math.atanh(0.2702), math.atanh(0.3183), 0.05),
])
def test_imprecision_text_agrees_with_its_rounded_limits(metric, lower, upper, width):
    """The reason showed a CI width of the unrounded limits beside the rounded ones, "CI [0.43, 0.62] (width 0.18
    ≤ 0.5)": an arithmetic error to a reader (0.62 − 0.43 = 0.19). The judgement stays on the unrounded limits; the
    text shows them to the decimals at which their difference is on the same side of the rule, and states no
    other width."""
    import re

    from alliance_meta.report.effects import display

    show = display(metric)
    row = dict(ROW, estimate=(lower + upper) / 2, ci_lower=lower, ci_upper=upper)
    rated = summary_of_findings("dropout" if metric == "smd" else "outcome", metric, row, ANALYSIS,
                                ANALYSIS[["study_id"]], BIAS, None, {"imprecision_width": {"dropout": width,
                                                                                           "outcome": width}}).iloc[0]
    wide = float(show.transform(upper) - show.transform(lower)) > width
    assert rated["imprecision_downgrade"] == (-1 if wide else 0)
    reason = rated["imprecision_reason"]
    assert "width" not in reason  # the limits say it
    shown = re.search(r"CI \[([^,]+), ([^\]]+)\] (not )?wider than", reason)
    assert shown and (shown[3] is None) == wide, reason
    limits = [float(text.replace("\u2212", "-").replace(".", "0.", 1) if text.lstrip("\u2212").startswith(".")
                    else text.replace("\u2212", "-")) for text in shown.groups()[:2]]
    assert (round(limits[1] - limits[0], 12) > width) == wide, reason
    if not wide:  # the effects as the table shows them, where they tell the judgement (the demo's)
        table = manuscript_table("summary_of_findings", summary_of_findings(
            "dropout", metric, row, ANALYSIS, ANALYSIS[["study_id"]], BIAS, None,
            {"imprecision_width": {"dropout": width}}), metric)
        assert f"Imprecision: not serious: CI {show.interval(lower, upper)} not wider than {width:g}" in table.note \
            or metric == "z"


def test_an_odds_ratio_width_is_stated_on_its_side_of_the_rule():
    """The width in units of d (which the OR limits do not show) is stated, rounded so that it does not read wider
    than a rule it meets: 0.1259 is no wider than 0.126, which "0.13 \u2264 0.126" said."""
    lower = 0.3
    upper = lower + 0.1259 / (math.sqrt(3) / math.pi)
    row = dict(ROW, estimate=(lower + upper) / 2, ci_lower=lower, ci_upper=upper)
    rated = summary_of_findings("dropout", "log_or", row, ANALYSIS, ANALYSIS[["study_id"]], BIAS, None,
                                {"imprecision_width": {"dropout": 0.126}}).iloc[0]
    assert rated["imprecision_downgrade"] == 0
    assert "(width 0.126 \u2264 0.126 in units of d" in rated["imprecision_reason"]


def test_a_ci_as_wide_as_the_rule_but_for_the_last_bit_is_not_wider():
    """0.9 - 0.7 = 0.20000000000000007: such a CI was judged wider than 0.2 and, no rounding of its limits agreeing,
    shown to 12 decimals ("CI [0.700000000000, 0.900000000000] wider than 0.2")."""
    row = dict(ROW, estimate=0.8, ci_lower=0.7, ci_upper=0.9)
    rated = summary_of_findings("dropout", "smd", row, ANALYSIS, ANALYSIS[["study_id"]], BIAS, None,
                                {"imprecision_width": {"dropout": 0.2}}).iloc[0]
    assert rated["imprecision_downgrade"] == 0
    assert "CI [0.70, 0.90] not wider than 0.2" in rated["imprecision_reason"]
