"""Arguments of the public API: a wrong value is refused with one line saying what is expected,
and spellings that mean the same (metafor's, a single name for a list) give the same result.

Where numbers are compared, they are compared to metafor's value (pooling.json) or to an
equivalent call, never to the library's own output of the same call.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_reference

import alliance_meta as am
from alliance_meta.inputs.risk_of_bias import ROB2

DEMO_SHEET = Path(__file__).resolve().parents[1] / "data" / "raw" / "studies.csv"  # SIMULATED


def simulated(seed: int = 5, k: int = 18) -> pd.DataFrame:
    """Simulated effect sizes (Fisher z) with a text moderator, a column with a dot and labels."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(k)],
                          "grp": rng.choice(["a", "b", "c"], k), "vi": rng.uniform(0.005, 0.05, k),
                          "label": [f"Study {chr(ord('A') + (7 * i) % k)}" for i in range(k)], "metric": "z"})
    frame["yi"] = 0.2 + 0.15 * (frame["grp"] == "b") + rng.normal(0, np.sqrt(frame["vi"] + 0.01))
    frame["a.b"] = frame["grp"]
    return frame


# 1. metric ----------------------------------------------------------------------------------------
def test_metric_that_contradicts_the_rows_is_refused(molloy):
    yi, vi, fits = molloy
    rows = pd.DataFrame({"yi": yi, "vi": vi, "metric": "smd"})
    with pytest.raises(ValueError, match=r"metric='z'.*'smd'"):
        am.fit(rows, metric="z")
    same = am.fit(rows.assign(metric="z"), metric="z")
    assert same.estimate == pytest.approx(float(fits[("REML", "z")]["estimate"]), rel=1e-6)
    assert am.fit(rows).metric == "smd"


@pytest.mark.parametrize("metric", ["bogus", "SMD", ""])
def test_unknown_metric_is_refused_listing_the_metrics(molloy, metric):
    yi, vi, _ = molloy
    with pytest.raises(ValueError, match=r"unknown analysis metric.*'z', 'smd', 'log_or'"):
        am.fit(yi, vi, metric=metric)


# 2. selection models ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def molloy_fit(molloy):
    yi, vi, _ = molloy
    return am.fit(yi, vi, metric="z")


def test_sided_takes_metafors_spellings(molloy, molloy_fit):
    yi, vi, _ = molloy
    for ours, theirs in (("two", "two.sided"), ("one", "greater")):
        a = am.selection_models(molloy_fit, types="halfnorm", sided=ours).to_frame()
        b = am.selection_models(molloy_fit, types="halfnorm", sided=theirs).to_frame()
        pd.testing.assert_frame_equal(a, b)
    # "less": one-sided p-values for negative effects, i.e. "greater" on the negated effects
    less = am.selection_models(molloy_fit, types="halfnorm", sided="less").to_frame()
    mirrored = am.selection_models(am.fit(-yi, vi, metric="z"), types="halfnorm").to_frame()
    assert less["estimate"].iloc[0] == pytest.approx(-mirrored["estimate"].iloc[0], rel=1e-6)
    assert less["estimate"].iloc[0] != pytest.approx(
        am.selection_models(molloy_fit, types="halfnorm").to_frame()["estimate"].iloc[0], rel=1e-6)


@pytest.mark.parametrize("sided", ["both", "two-sided", "One", None, 1])
def test_unknown_sided_is_refused(molloy_fit, sided):
    with pytest.raises(ValueError, match="unknown sided"):
        am.selection_models(molloy_fit, types="halfnorm", sided=sided)


def test_types_as_one_name_and_unknown_types(molloy_fit):
    table = am.selection_models(molloy_fit, types="negexp").to_frame()
    assert list(table["type"]) == ["negexp"]
    pd.testing.assert_frame_equal(table, am.selection_models(molloy_fit, types=["negexp"]).to_frame())
    with pytest.raises(ValueError, match="expected one or more of beta, halfnorm"):
        am.selection_models(molloy_fit, types=["beta", "bogus"])
    with pytest.raises(ValueError, match="expected one or more of"):
        am.selection_models(molloy_fit, types=[])


@pytest.mark.parametrize("steps,message", [([0.025, np.nan], "No missing values allowed in 'steps'"),
                                           ([1.5], "must be between 0 and 1"), ([-0.1, 0.5], "between 0 and 1"),
                                           ([0, 0.5], "Lowest 'steps' value must be > 0"), ([], "empty")])
def test_bad_steps_are_refused_as_metafor_does(molloy_fit, steps, message):
    with pytest.raises(ValueError, match=message):
        am.selection_models(molloy_fit, types="stepfun", steps=steps)


# 3. permutations ----------------------------------------------------------------------------------
def test_negative_permutations_are_refused():
    fit = am.fit(simulated())
    with pytest.raises(ValueError, match="permutations must be 0"):
        am.moderators(fit, "grp", permutations=-1)
    with pytest.raises(ValueError, match="permutations must be 0"):
        am.meta_regression(fit, "~ grp", permutations=-5)


# 4. publication bias ------------------------------------------------------------------------------
def test_trimfill_side_and_alphas_are_checked(molloy_fit):
    with pytest.raises(ValueError, match="trimfill_side"):
        am.publication_bias(molloy_fit, trimfill_side="up")
    for name in ("fail_safe_alpha", "svalue_alpha"):
        for alpha in (0, 1, 1.5, -0.05):
            with pytest.raises(ValueError, match=name):
                am.publication_bias(molloy_fit, **{name: alpha})


# 5. risk of bias ----------------------------------------------------------------------------------
def _rob_frame(judgements):
    frame = simulated(k=len(judgements))
    return frame.assign(rob_overall=judgements)


def test_rob_overall_is_matched_as_the_sheet_reader_matches_it():
    spelled = ["High", "HIGH", "Low", "Some concerns", " low ", None, "high", "some concerns", "LOW"]
    canonical = ["high", "high", "low", "some concerns", "low", None, "high", "some concerns", "low"]
    ours = am.risk_of_bias_sensitivity(am.fit(_rob_frame(spelled)), ROB2).to_frame()
    reference = am.risk_of_bias_sensitivity(am.fit(_rob_frame(canonical)), ROB2).to_frame()
    pd.testing.assert_frame_equal(ours, reference)
    assert list(ours["k_studies"]) == [9, 6, 3]


def test_rob_overall_outside_the_tool_is_refused_and_tool_names_are_accepted():
    with pytest.raises(ValueError, match=r"'unclear'.*not a RoB 2"):
        am.risk_of_bias_sensitivity(am.fit(_rob_frame(["low", "unclear", "high"])), ROB2)
    frame = _rob_frame(["low", "high", "some concerns", "low"])
    by_name = am.risk_of_bias_sensitivity(am.fit(frame), "rob2").to_frame()
    pd.testing.assert_frame_equal(by_name, am.risk_of_bias_sensitivity(am.fit(frame), ROB2).to_frame())
    with pytest.raises(ValueError, match="risk_of_bias.tool must be one of"):
        am.risk_of_bias_sensitivity(am.fit(frame), "rob3")


def test_the_risk_of_bias_result_prints_as_one_line():
    """repr() of the result was the dataclass' repr with the whole table in it (35 columns cut by pandas); the
    other analyses' results print one line."""
    result = am.risk_of_bias_sensitivity(am.fit(_rob_frame(["low", "high", "some concerns", "low"])), ROB2)
    assert repr(result) == "<RiskOfBiasSensitivity: all: 4 studies, exclude_high: 3 studies, low_only: 2 studies>"


# 6. cumulative ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dependence", ["aggregate", "multilevel"])
def test_cumulative_sorts_text_as_r_order(dependence):
    frame = simulated(k=8)
    texts = ["delta", "alpha", None, "charlie", "alpha", "bravo", np.nan, "echo"]
    ranks = [3, 0, np.nan, 2, 0, 1, np.nan, 4]  # ties keep data order, missing last
    fit = am.fit(frame.assign(label=[t if isinstance(t, str) else "zulu" for t in texts]), dependence=dependence)
    by_text = am.cumulative(fit, texts).to_frame()
    by_number = am.cumulative(fit, ranks).to_frame()
    assert list(by_text["study_id"]) == ["S01", "S04", "S05", "S03", "S00", "S07", "S02", "S06"]
    columns = [c for c in by_number.columns if c != "order"]  # the order's values: texts, and numbers
    pd.testing.assert_frame_equal(by_text[columns], by_number[columns])
    by_label = am.cumulative(fit, "label").to_frame()  # a text column: "zulu" sorts last, ties in data order
    assert list(by_label["study_id"]) == ["S01", "S04", "S05", "S03", "S00", "S07", "S02", "S06"]
    if dependence == "multilevel":  # the three-level table shows the order's values under the order's name
        assert "year" not in by_label and by_label["label"].iloc[0] == "alpha"
        assert list(by_text["order"].iloc[:6]) == ["alpha", "alpha", "bravo", "charlie", "delta", "echo"]
        assert "year" not in by_text


@pytest.mark.parametrize("dependence", ["aggregate", "multilevel"])
def test_a_year_of_texts_orders_the_cumulative_fit_as_r_order(dependence):
    """A notebook frame's year with text ("in press"; am.read_sheet refuses it, am.effect_sizes keeps it for the
    labels): am.cumulative(fit) stopped with numpy's "could not convert string to float". The default order is the
    year sorted as order="year" sorts it (R's order: numbers as text, texts in code-point order, missing last)."""
    years = ["in press", "2004", None, "2001", "2004", "1999", "2010", "2002"]
    fit = am.fit(simulated(k=8).assign(year=years), dependence=dependence)
    by_default = am.cumulative(fit).to_frame()
    assert list(by_default["study_id"]) == ["S05", "S03", "S07", "S01", "S04", "S06", "S00", "S02"]
    pd.testing.assert_frame_equal(by_default, am.cumulative(fit, "year").to_frame())


# 7. argument types --------------------------------------------------------------------------------
def test_wrong_argument_types_give_one_line_type_errors(tmp_path):
    fit = am.fit(simulated())
    with pytest.raises(TypeError, match="formula is a string"):
        am.meta_regression(fit, ["grp"])
    with pytest.raises(TypeError, match="settings is a dict"):
        am.bayes(fit, 200)
    with pytest.raises(TypeError, match="settings is a dict"):
        fit.plot_forest(tmp_path / "forest.png", ["sort"])
    with pytest.raises(TypeError, match="one column name"):
        am.moderators(fit, ["grp"])


def test_moderator_tables_takes_one_name_as_one_moderator():
    fit = am.fit(simulated())
    one = am.moderator_tables(fit, "grp", permutations=0)
    listed = am.moderator_tables(fit, ["grp"], permutations=0)
    for a, b in zip(one, listed):
        pd.testing.assert_frame_equal(a, b)
    assert list(one[0]["moderator"]) == ["grp"]


# 8. moderator names -------------------------------------------------------------------------------
@pytest.mark.parametrize("dependence", ["aggregate", "multilevel"])
def test_a_column_with_a_dot_is_that_column(dependence):
    frame = simulated()
    fit = am.fit(frame, dependence=dependence)
    dotted = am.moderators(fit, "a.b", permutations=20)
    plain = am.moderators(fit, "grp", permutations=20)
    assert dotted.moderator == "a.b" and dotted.row["moderator"] == "a.b"
    for name in ("k", "qm", "qm_p", "qm_p_permutation"):
        assert dotted.row[name] == pytest.approx(plain.row[name], rel=1e-10), name
    assert list(dotted.subgroups["moderator"].unique()) == ["a.b"]
    pd.testing.assert_frame_equal(dotted.subgroups.drop(columns="moderator"),
                                  plain.subgroups.drop(columns="moderator"))
    renamed = plain.coefficients.replace({"grp": "a.b"}, regex=True)
    pd.testing.assert_frame_equal(dotted.coefficients[["model", "term", "estimate"]],
                                  renamed[["model", "term", "estimate"]])


@pytest.mark.parametrize("dependence", ["aggregate", "multilevel"])
@pytest.mark.parametrize("name", ["a.b", "my var", "class"])
def test_moderator_tables_read_a_column_the_formula_engine_cannot_name(dependence, name):
    """A dot, a space or a Python keyword in a moderator's name: the column of that name, with the
    numbers of the same column under a plain name (formulas quote it, terms read ``<name>[level]``)."""
    frame = simulated().assign(**{name: lambda f: f["grp"], "my.year": lambda f: np.arange(len(f), dtype=float)})
    fit = am.fit(frame, dependence=dependence)
    odd = am.moderator_tables(fit, [name], continuous=["my.year"], permutations=0)
    plain = am.moderator_tables(fit, ["grp"], continuous=["my.year"], permutations=0)
    assert list(odd[0]["moderator"]) == [name, "my.year"]
    numbers = odd[0].select_dtypes("number").columns
    pd.testing.assert_frame_equal(odd[0][numbers], plain[0][numbers])
    assert set(odd[2]["term"]) == {"intercept", f"{name}[b]", f"{name}[c]", "my.year"}
    pd.testing.assert_series_equal(odd[2]["estimate"], plain[2]["estimate"])
    assert list(odd[1]["moderator"].unique()) == [name]


def test_a_moderator_name_with_a_backtick_is_refused_with_the_reason():
    frame = simulated().assign(**{"a`b": lambda f: f["grp"]})
    with pytest.raises(ValueError, match="backtick"):
        am.moderator_tables(am.fit(frame), ["a`b"], permutations=0)


def test_study_id_and_missing_columns_are_refused():
    fit = am.fit(simulated())
    with pytest.raises(ValueError, match="study_id cannot be a moderator"):
        am.moderators(fit, "study_id")
    with pytest.raises(ValueError, match=r"'nope' is not a column.*available: grp"):
        am.moderators(fit, "nope")
    with pytest.raises(ValueError, match="'nope' is not a column"):
        am.moderator_tables(fit, ["grp", "nope"], permutations=0)


def test_unchanged_calls_still_agree_with_metafor(molloy):
    yi, vi, fits = molloy
    fit = am.fit(pd.DataFrame({"yi": yi, "vi": vi, "metric": "z"}))
    assert fit.predict(transform="r").estimate == pytest.approx(math.tanh(float(fits[("REML", "z")]["estimate"])),
                                                              rel=1e-6)


def test_numbers_read_as_text_are_a_slope_by_default_and_many_numeric_categories_are_noted():
    """am.read_sheet reads free columns as text: 'sessions' written as '12' was fitted as one dummy per
    number (QM on 24 df) with no word. As text or as numbers it is now the same slope; listed as a
    categorical moderator, the row says it holds numbers."""
    frame = simulated(k=40)
    rng = np.random.default_rng(11)
    numbers = rng.integers(8, 40, len(frame))
    as_text, as_numbers = frame.assign(sessions=[str(n) for n in numbers]), frame.assign(sessions=numbers)
    text_fit, number_fit = am.fit(as_text), am.fit(as_numbers)
    slope = am.moderators(number_fit, "sessions", permutations=0)
    assert slope.row["qm_df"] == 1
    assert am.moderators(text_fit, "sessions", permutations=0).row["qm"] == pytest.approx(slope.row["qm"], rel=1e-12)
    pd.testing.assert_frame_equal(am.meta_regression(text_fit, "~ sessions", permutations=0).to_frame(),
                                  am.meta_regression(number_fit, "~ sessions", permutations=0).to_frame())
    summary, _, regressions = am.moderator_tables(text_fit, ["sessions", "grp"], permutations=0)
    notes = dict(zip(summary["moderator"], summary["note"]))
    assert "sessions holds numbers but was entered as" in notes["sessions"] and "holds numbers" not in notes["grp"]
    assert regressions.loc[regressions["model"] == "sessions", "note"].str.contains("holds numbers").all()


def test_a_misspelt_variable_is_named_with_a_did_you_mean():
    """am.meta_regression(fit, '~ gpr') raised a bare KeyError('gpr')."""
    fit = am.fit(simulated())
    with pytest.raises(ValueError, match=r"formula's variable 'gpr' is not a column.*did you mean 'grp'\?"):
        am.meta_regression(fit, "~ gpr")
    with pytest.raises(ValueError, match=r"moderator 'gpr' is not a column.*did you mean 'grp'\?"):
        am.moderators(fit, "gpr")


def test_a_reference_level_in_a_synonym_is_the_codebook_level(molloy):
    """reference_levels={'rater': 'client'} stopped with 'not among its levels': the rows hold 'patient',
    as the sheet reader writes every synonym."""
    rows = am.effect_sizes(am.read_sheet(DEMO_SHEET))
    fit = am.fit(rows[rows["family"] == "outcome"], metric="z")
    for synonym in ("client", "Client rated"):
        pd.testing.assert_frame_equal(am.moderators(fit, "rater", reference_level=synonym, permutations=0).coefficients,
                                      am.moderators(fit, "rater", reference_level="patient", permutations=0).coefficients)
        table = am.meta_regression(fit, "~ rater", reference_levels={"rater": synonym}, permutations=0).to_frame()
        assert list(table["term"]) == ["intercept", "rater[observer]", "rater[therapist]"]


def test_a_forest_plot_path_without_a_figure_suffix_is_refused(tmp_path):
    """fit.plot_forest('forest') wrote forest.png beside it without a word."""
    fit = am.fit(simulated())
    with pytest.raises(ValueError, match=r"'.*forest' has no figure suffix; end the name in one of \.png"):
        fit.plot_forest(tmp_path / "forest")
    assert not list(tmp_path.iterdir())
    fit.plot_forest([tmp_path / "forest.PNG", tmp_path / "forest.pdf"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forest.PNG", "forest.pdf"]


# 6. robustness sweep of am.fit and the analyses ----------------------------------------------------
def test_series_yi_and_vi_are_paired_by_label_not_position(molloy):
    """am.fit(rows['yi'], other['vi']) with the same labels in another order paired one study's effect
    with another's variance by position: a wrong estimate without a word."""
    yi, vi, fits = molloy
    labels = [f"s{i}" for i in range(len(yi))]
    y = pd.Series(yi, index=labels)
    v = pd.Series(vi, index=labels).iloc[::-1]
    assert am.fit(y, v).estimate == pytest.approx(float(fits[("REML", "z")]["estimate"]), rel=1e-6)
    filtered = pd.DataFrame({"yi": yi, "vi": vi}).iloc[3:]  # a default index after filtering: labels 3..k-1
    assert am.fit(filtered["yi"], filtered["vi"]).estimate == am.fit(filtered).estimate
    with pytest.raises(ValueError, match=r"yi and vi are pandas Series with different index labels "
                                         r"\(only in yi: \d+, \d+, \d+; only in vi: 0, 1, 2\)"):
        am.fit(filtered["yi"], filtered["vi"].reset_index(drop=True))
    repeated = pd.Series(yi[:4], index=["a", "a", "b", "b"])
    with pytest.raises(ValueError, match=r"with repeated index labels in a different order"):
        am.fit(repeated, pd.Series(vi[:4], index=["a", "b", "a", "b"]))
    # repeated names were renumbered 1..k (independent studies) without a word: one study's effects or a slip?
    with pytest.raises(ValueError, match=r"yi is indexed by study names, some repeated \(a, b\): for several "
                                         r"effect sizes of one study pass a frame with yi, vi and study_id"):
        am.fit(repeated, pd.Series(vi[:4], index=repeated.index))
    rows = pd.DataFrame({"yi": yi[:4], "vi": vi[:4], "study_id": ["a", "a", "b", "b"], "es_id": ["1", "1", "1", "2"]})
    with pytest.raises(ValueError, match=r"es_id names each effect size of a study once; used more than once "
                                         r"\(study_id/es_id\): a/1"):
        am.fit(rows, dependence="multilevel")
    # numbers read back from effects.csv fold "01" and "1", which the sheet check told apart; empty names nothing
    assert am.fit(rows.assign(es_id=[1, 1, 1, 2]), dependence="multilevel").k == 4
    assert am.fit(rows.assign(es_id=[None, None, "1", "2"]), dependence="multilevel").k == 4


def test_weights_are_refused_where_they_would_be_ignored(molloy):
    """am.fit(yi, vi, weights=w) with method='REML' (or a three-level fit) dropped the weights silently
    (metafor's rma would use them); only GENQ reads them."""
    yi, vi, _ = molloy
    with pytest.raises(ValueError, match=r"weights are used by the GENQ estimator only.*method='REML'"):
        am.fit(yi, vi, weights=np.ones(len(yi)))
    rows = simulated()
    rows["study_id"] = [f"S{i // 2}" for i in range(len(rows))]
    with pytest.raises(ValueError, match=r"dependence='multilevel'"):
        am.fit(rows, dependence="multilevel", weights=np.ones(len(rows)))
    with pytest.raises(ValueError, match=r"weights: one per study composite .*\(9 from 18 rows\), got 18"):
        am.fit(rows, method="GENQ", weights=np.ones(len(rows)))
    default = am.fit(yi, vi, method="GENQ")
    assert am.fit(yi, vi, method="GENQ", weights=1 / np.sqrt(vi)).estimate == pytest.approx(default.estimate, rel=1e-12)


@pytest.mark.parametrize("rho", [2, -1.5, "a", float("nan"), None])
def test_rho_outside_minus_one_to_one_is_refused(rho):
    """rho = 2 passed when every study had one row; rho = 'a' stopped with float()'s bare message."""
    with pytest.raises(ValueError, match=r"rho must be a number between -1 and 1"):
        am.fit(simulated(), rho=rho)


def test_bad_effect_sizes_are_named_with_where_they_are():
    with pytest.raises(ValueError, match=r"yi must be numbers, one per effect size.*'a'"):
        am.fit(["a", 0.1], [0.01, 0.02])
    with pytest.raises(ValueError, match=r"vi must be finite and positive, but 2 values are not: indexes "
                                         r"1 \(0\), 2 \(-0.1\) \(counted from 0\)"):
        am.fit([0.1, 0.2, 0.3], [0.01, 0.0, -0.1])
    with pytest.raises(ValueError, match=r"vi must be finite and positive, but 1 value is not: index 1 \(0\) "):
        am.fit([0.1, 0.2], [0.01, 0.0])
    with pytest.raises(ValueError, match=r"yi has 1 missing or infinite value: index 0 \(nan\) \(counted from 0\)"):
        am.fit([np.nan, 0.2], [0.01, 0.02])


@pytest.mark.parametrize("call", [
    lambda x: am.publication_bias(x), lambda x: am.selection_models(x), lambda x: am.sensitivity(x),
    lambda x: am.leave_one_out(x), lambda x: am.influence(x), lambda x: am.cumulative(x),
    lambda x: am.moderators(x, "grp"), lambda x: am.meta_regression(x, "~ grp"), lambda x: am.moderator_tables(x),
    lambda x: am.risk_of_bias_sensitivity(x, "rob2"), lambda x: am.bayes(x)])
def test_analyses_refuse_what_is_not_a_fit(call):
    """am.publication_bias(rows) stopped with pandas' "'DataFrame' object has no attribute 'data'"."""
    with pytest.raises(TypeError, match=r"takes a fitted model from am.fit \(UnivariateFit or MultilevelFit\), "
                                        r"not DataFrame \(fit the rows first"):
        call(simulated())
    with pytest.raises(TypeError, match=r"not NoneType"):
        call(None)


def test_steps_without_a_cut_point_below_one_are_refused(molloy_fit):
    """steps=[1] fitted a 'selection model' of one interval (no selection: the random-effects model)
    reported as converged with an LRT p of nan; metafor's selmodel stops. publication_bias wrote a
    selection_model row 'step function at one-sided p = ; delta = ;' for () or (1,)."""
    with pytest.raises(ValueError, match=r"no p-value cut-point below 1"):
        am.selection_models(molloy_fit, types="stepfun", steps=[1])
    for steps, message in (((1,), "no p-value cut-point below 1"), ((), "empty"), ((2,), "between 0 and 1")):
        with pytest.raises(ValueError, match=rf"selection_steps: .*{message}"):
            am.publication_bias(molloy_fit, selection_steps=steps)


def test_a_three_level_fit_of_one_effect_size_per_study_says_its_split_is_not_identified():
    """am.fit(yi, vi, dependence='multilevel') reported sigma2_between and sigma2_within (any split of
    their sum fits equally) without the note pooled.csv gives them."""
    rows = simulated()
    three = am.fit(rows, dependence="multilevel")
    assert "not separately identified" in three.note and "not separately identified" in three.summary()
    assert three.to_frame()["note"].iloc[0] == three.note
    table, _ = am.pooled_table(rows, methods=["REML"], tests=["z"], dependence="multilevel")
    assert all(note.count("not separately identified") == 1 for note in table["note"])
    rows["study_id"] = [f"S{i // 2}" for i in range(len(rows))]
    assert "not separately identified" not in am.fit(rows, dependence="multilevel").note


def test_pooled_table_takes_one_method_and_test_name():
    """am.pooled_table(rows, methods='REML') iterated the letters: unknown method 'R'."""
    rows = simulated()
    one, _ = am.pooled_table(rows, methods="REML", tests="knha")
    listed, _ = am.pooled_table(rows, methods=["REML"], tests=["knha"])
    pd.testing.assert_frame_equal(one, listed)
    with pytest.raises(TypeError, match=r"pooled_table: effect_sizes is a DataFrame"):
        am.pooled_table(rows["yi"].to_numpy())


def test_bayes_refuses_study_id_as_a_moderator_before_sampling():
    """am.bayes(fit, moderators=['study_id']) sampled the pooled model, then stopped with pandas' 'Cannot set
    a DataFrame with multiple columns to the single column label'; am.moderators refuses it up front."""
    fit = am.fit(simulated(), metric="z")
    for keyword in ("moderators", "continuous"):
        with pytest.raises(ValueError, match=r"am.bayes: study_id cannot be a moderator"):
            am.bayes(fit, {"draws": 100, "tune": 100}, **{keyword: ["study_id"]})


def test_a_column_name_with_a_space_unquoted_in_a_formula_is_told_to_use_backticks():
    """'~ my mod' stopped with formulaic's 'Missing operator between `my` and `mod`' and no way out."""
    fit = am.fit(simulated().assign(**{"my mod": lambda frame: frame["grp"]}))
    with pytest.raises(ValueError, match=r"cannot read the formula 'my mod'.*goes in backticks: ~ `mean age`"):
        am.meta_regression(fit, "~ my mod", permutations=0)
    quoted = am.meta_regression(fit, "~ `my mod`", permutations=0).to_frame()
    plain = am.meta_regression(fit, "~ grp", permutations=0).to_frame()
    np.testing.assert_allclose(quoted["estimate"], plain["estimate"], rtol=1e-12)


@pytest.mark.parametrize("formula, message", [
    ("~ factor(grp)", r"term factor\(grp\).*'factor' is not a function or column here \(R's factor\(x\) is C\(x\)"),
    ("~ sqrt(n)", r"term sqrt\(n\).*R's sqrt\(x\) is np.sqrt\(x\)"),
    ("~ I(n^2)", r"term I\(n \^ 2\).*not a power: write \*\* \(I\(n\*\*2\)\)"),
    ("~ spline(n)", r"'spline' is not a function or column here \(a formula calls C, I, Q"),
    ("~ log(n - 30)", r"term log\(n - 30\) .*not a finite number on 1 of 18 rows \(study_id S00;"),
    ("~ log(n - 20)", r"term log\(n - 20\) .*not a finite number on 1 of 18 rows \(study_id S00;"),
    ("~ as.factor(grp)", r"R's as.factor\(x\) is C\(x\) here"),
])
def test_a_formula_written_as_in_r_is_told_what_to_write(formula, message):
    """'~ factor(grp)' (R's) stopped with formulaic's FactorEvaluationError; 'I(n^2)' with pandas' "Cannot perform
    'xor'"; 'log(n - 20)', infinite on a row, gave a row 'not estimable (too few rows for its coefficients)'."""
    rows = simulated().assign(n=lambda frame: 25.0 + 10 * np.arange(len(frame)))
    rows.loc[0, "n"] = 20.0
    fit = am.fit(rows)
    with pytest.raises(ValueError, match=message):
        am.meta_regression(fit, formula, permutations=0)
    np.testing.assert_allclose(am.meta_regression(fit, "~ C(grp)", permutations=0).to_frame()["estimate"],
                               am.meta_regression(fit, "~ grp", permutations=0).to_frame()["estimate"], rtol=1e-12)


def test_bias_tests_of_a_genq_fit_agree_with_metafor(molloy):
    """egger and trim_and_fill of a GENQ fit were 'not estimable' (GENQ was not implemented with moderators);
    now they are metafor's regtest and trimfill of rma(weights = 1/sqrt(vi), method = "GENQ")."""
    yi, vi, _ = molloy
    table = am.publication_bias(am.fit(yi, vi, method="GENQ")).to_frame().set_index("test")
    expected = next(fit for fit in load_reference("bias_estimators")["datasets"]["molloy2014"]["fits"]
                    if fit["method"] == "GENQ")
    assert_close([table.loc["egger", "statistic"], table.loc["egger", "p"], table.loc["egger", "estimate"]],
                 [expected["egger"][key] for key in ("statistic", "p", "estimate")], rtol=1e-6)
    assert table.loc["trim_and_fill", "k_imputed"] == expected["trimfill"]["L0"]["k0"]
    assert_close(table.loc["trim_and_fill", "estimate"], expected["trimfill"]["L0"]["estimate"], rtol=1e-6)


def test_bias_options_outside_their_choices_are_refused(molloy_fit):
    """pet_peese_sided='both' left out pet and peese and wrote a not-estimable pet_peese row, and
    trimfill_estimator='Q1' a not-estimable trim_and_fill row, without an error."""
    with pytest.raises(ValueError, match=r"unknown pet_peese_sided 'both'; expected one of one, two"):
        am.publication_bias(molloy_fit, pet_peese_sided="both")
    with pytest.raises(ValueError, match=r"unknown trimfill_estimator 'Q1'; expected one of L0, R0"):
        am.publication_bias(molloy_fit, trimfill_estimator="Q1")
    table = am.publication_bias(molloy_fit, pet_peese_sided="two", trimfill_estimator="R0").to_frame()
    assert {"pet", "peese", "pet_peese", "trim_and_fill"} <= set(table["test"])


def test_three_level_members_of_a_univariate_fit_say_why_and_levels_are_checked(molloy):
    """fit.sigma2, fit.sigma2_conf_int() and fit.with_test('t') of a univariate fit were AttributeErrors;
    level='x' stopped with float()'s message; a frame with two yi columns inside pandas."""
    yi, vi, _ = molloy
    fit = am.fit(yi, vi)
    with pytest.raises(am.NotApplicable, match=r"sigma2: defined for a three-level fit"):
        fit.sigma2
    with pytest.raises(am.NotApplicable, match=r"sigma2_conf_int: defined for a three-level fit.*tau2_conf_int"):
        fit.sigma2_conf_int()
    with pytest.raises(am.NotApplicable, match=r"with_test\('t'\): defined for a three-level fit.*refit\(test="):
        fit.with_test("t")
    assert fit.refit(test="knha").test == "knha"
    for call in (lambda: am.fit(yi, vi, level="x"), lambda: fit.conf_int("x"), lambda: fit.predict(level=None or "x")):
        with pytest.raises(ValueError, match=r"level must be a percentage strictly between 0 and 100, got 'x'"):
            call()
    rows = pd.DataFrame({"yi": yi, "vi": vi})
    with pytest.raises(ValueError, match=r"more than one column named yi"):
        am.fit(pd.concat([rows, rows[["yi"]]], axis=1))


def test_read_sheet_says_what_it_takes(tmp_path):
    """A frame gave pathlib's "expected str, bytes or os.PathLike object, not DataFrame", moderators=5 "'int' object
    is not iterable" (a notebook walkthrough)."""
    with pytest.raises(TypeError, match=r"reads the sheet's file: give its path .* not a DataFrame \(a frame in hand"):
        am.read_sheet(pd.read_csv(DEMO_SHEET))
    for value in (5, ["rater", 3], None):
        with pytest.raises(TypeError, match=r"moderators takes column names \(a name or a list of names\), not "):
            am.read_sheet(DEMO_SHEET, moderators=value)


def test_read_sheet_takes_one_moderator_name_as_one_column(tmp_path):
    """am.read_sheet(path, moderators='rater') checked the columns r, a, t, e: four 'not a column' problems."""
    path = tmp_path / "sheet.csv"
    path.write_text("study_id,r,n,rater,year\nS1,0.3,100,client,2001\nS2,0.2,80,therapist,2003\n", encoding="utf-8")
    one = am.read_sheet(path, moderators="rater", continuous_moderators="year", meta_regression="~ rater + year")
    listed = am.read_sheet(path, moderators=["rater"], continuous_moderators=["year"],
                           meta_regression=["~ rater + year"])
    pd.testing.assert_frame_equal(one, listed)
    # named as the call names it, not "by the config (moderators)" (a first-review walkthrough)
    with pytest.raises(am.SheetProblems, match=r"1 problem in 1 row[\s\S]*column modality: is named by "
                                               r"am.read_sheet\(moderators=\) but is not a column of the sheet"):
        am.read_sheet(path, moderators="modality")
    with pytest.raises(am.SheetProblems) as raised:
        am.read_sheet(path, moderators="modality", continuous_moderators="yeer", meta_regression="~ modality")
    assert ('column modality: is named by am.read_sheet(moderators=, meta_regression="~ modality") but'
            in str(raised.value))
    assert 'column yeer: is named by am.read_sheet(continuous_moderators=) but is not a column of the sheet; did ' \
           'you mean "year"?' in str(raised.value) and "config" not in str(raised.value)


def test_read_sheet_problems_name_its_arguments_not_the_config(tmp_path):
    """am.read_sheet of a sheet with "0,25" said 'set decimal: "," in the config', which a notebook has not:
    its advice names the argument that reads decimal commas (a first-review walkthrough)."""
    path = tmp_path / "sheet.csv"
    path.write_text('study_id,r,n,rater\nS1,"0,25",100,patient\nS2,0.2,80,therapist\n', encoding="utf-8")
    with pytest.raises(am.SheetProblems) as raised:
        am.read_sheet(path, continuous_moderators="rater")
    message = str(raised.value)
    assert 'write "0.25" (decimal point, no text or units), or pass decimal="," to read' in message
    assert "is a continuous moderator (continuous_moderators=) but" in message
    assert "if it holds categories, give it in moderators= instead" in message
    assert "in the config" not in message and "list it under moderators" not in message
    assert am.read_sheet(path, decimal=",")["r"].tolist() == [0.25, 0.2]


READ_SHEET_ROWS = pd.DataFrame({"study_id": ["S1", "S2"], "r": [0.25, 0.2], "n": [100, 80],
                                "rater": ["patient", None]})


def two_worksheets(path: Path, second: pd.DataFrame = READ_SHEET_ROWS) -> Path:
    """A workbook of a worksheet "notes" and the sheet ``second`` as "data"."""
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"text": ["read me"]}).to_excel(writer, sheet_name="notes", index=False)
        second.to_excel(writer, sheet_name="data", index=False)
    return path


def test_read_sheet_file_errors_name_its_arguments_not_the_config(tmp_path):
    """am.read_sheet's file errors said "(sheet_name in the config)", "set sheet_name in config/config.yaml" and
    "name it .csv (and the config's sheet)"."""
    workbook = two_worksheets(tmp_path / "two.xlsx")
    with pytest.raises(am.SheetProblems, match=r'it has no worksheet "dat" \(sheet_name=\); did you mean "data"\?'):
        am.read_sheet(workbook, sheet_name="dat")
    without_ids = two_worksheets(tmp_path / "without_ids.xlsx", READ_SHEET_ROWS.rename(columns={"study_id": "id"}))
    with pytest.raises(am.SheetProblems, match=r"none has a study_id column in row 1; pass the worksheet to read as "
                                               r"sheet_name=$"):
        am.read_sheet(without_ids)
    text = tmp_path / "text.xlsx"
    READ_SHEET_ROWS.to_csv(text, index=False)
    with pytest.raises(am.SheetProblems, match=r"it is a text file \(a CSV\?\) with an .xlsx name; name it .csv$"):
        am.read_sheet(text)


def test_read_sheet_report_of_decimal_commas_names_its_argument(tmp_path):
    """The report's line on a sheet of decimal commas said 'set decimal: "," in config/config.yaml'."""
    commas = tmp_path / "commas.csv"
    commas.write_text('study_id,r,n\nS1,"0,25",100\nS2,"0,2",80\nS3,"0,3",90\n', encoding="utf-8")
    with pytest.raises(am.SheetProblems) as raised:
        am.read_sheet(commas)
    assert '3 of them are numbers written with a decimal comma: pass decimal="," to read every' in str(raised.value)
    assert "config" not in str(raised.value)


def test_read_sheet_notes_name_its_arguments_not_the_config(tmp_path):
    """The note on an empty moderator column said "(in the config's moderators) ... take it out of moderators";
    the reader's notes (the worksheet it chose, decimal commas read) were dropped: the sheet's notes have them,
    in the call's words."""
    notes = am.read_sheet(two_worksheets(tmp_path / "two.xlsx")).attrs["notes"]
    assert notes[0] == ('worksheet "data" read (the one with a study_id column; the workbook has notes, data); '
                        "sheet_name= chooses another")
    commas = tmp_path / "commas.csv"
    commas.write_text('study_id;r;n\nS1;0,25;100\nS2;0,2;80\n', encoding="utf-8")
    assert "decimal commas read as decimal points (semicolon-separated CSV)" in am.read_sheet(commas).attrs["notes"]
    commas.write_text('study_id,r,n\nS1,"0,25",100\nS2,"0,2",80\n', encoding="utf-8")
    assert 'decimal commas read as decimal points (decimal=",")' in am.read_sheet(commas, decimal=",").attrs["notes"]
    empty = tmp_path / "empty_column.csv"
    READ_SHEET_ROWS.assign(format=None).to_csv(empty, index=False)
    notes = am.read_sheet(empty, moderators="format").attrs["notes"]
    assert ("format (in moderators=) is empty in every row: its moderator analysis and figures have nothing to "
            "compare; code it, or leave it out of moderators=") in notes
    assert not [note for note in notes if "config" in note]


def test_read_sheet_and_the_command_line_name_their_own_settings_in_every_advice(tmp_path, capsys):
    """The summary line of many decimal commas said 'set decimal: "," in config/config.yaml' under rows saying
    'pass decimal=","' (or 'give --decimal ,'), and RoB 2 columns under QUIPS 'set risk_of_bias.tool: rob2'."""
    from alliance_meta.inputs.sheet import main

    path = tmp_path / "sheet.csv"
    path.write_text('study_id,r,n,rxx\nS1,"0,25",100,"0,8"\nS2,"0,2",80,"0,9"\n', encoding="utf-8")
    with pytest.raises(am.SheetProblems) as raised:
        am.read_sheet(path)
    assert 'decimal comma: pass decimal="," to read every' in str(raised.value)
    assert main([str(path)]) == 1
    assert "decimal comma: give --decimal , to read every" in capsys.readouterr().out
    rob2 = ("rob_randomisation", "rob_deviations", "rob_missing_data", "rob_measurement", "rob_selection",
            "rob_overall")
    path.write_text(f"study_id,r,n,{','.join(rob2)}\nS1,0.25,100{',low' * 6}\nS2,0.2,80{',low' * 6}\n",
                    encoding="utf-8")
    with pytest.raises(am.SheetProblems) as raised:
        am.read_sheet(path)
    assert 'are those of RoB 2 (Sterne et al., 2019): pass risk_of_bias={"tool": "rob2"}' in str(raised.value)
    assert "risk_of_bias.tool" not in str(raised.value) and "config" not in str(raised.value)
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "are those of RoB 2 (Sterne et al., 2019): give --rob-tool rob2" in out and "config" not in out


def test_effect_sizes_refuses_a_path_and_a_metric_it_would_not_use(tmp_path):
    """am.effect_sizes('studies.csv') was an AttributeError from inside; metric='z' "'str' object is not a
    mapping"; metric={'outcomes': 'smd'} was ignored and the outcome rows converted to Fisher z."""
    sheet = pd.DataFrame({"study_id": ["a", "b"], "r": [0.3, 0.2], "n": [50, 60]})
    with pytest.raises(TypeError, match=r"am.effect_sizes takes the sheet as a DataFrame \(am.read_sheet\(path\)\), "
                                        r"not str"):
        am.effect_sizes(str(DEMO_SHEET))
    with pytest.raises(TypeError, match=r"metric maps each family to its metric.*not 'z'"):
        am.effect_sizes(sheet, metric="z")
    with pytest.raises(ValueError, match=r"unknown family 'outcomes'; the families are outcome, dropout"):
        am.effect_sizes(sheet, metric={"outcomes": "smd"})
    assert list(am.effect_sizes(sheet, metric={"outcome": "z"})["metric"]) == ["z", "z"]


def test_pooled_table_checks_dependence_rho_methods_and_tests_as_fit_does():
    """pooled_table(dependence='multi') was fitted as aggregate, rho=2 used as it was, methods=[] stopped in
    pandas ('No objects to concatenate'), and under multilevel methods=['reml'] gave a table without rows."""
    rows = simulated()
    with pytest.raises(ValueError, match=r"unknown dependence 'multi' \(did you mean 'multilevel'\?\); expected one "
                                         r"of aggregate, multilevel"):
        am.pooled_table(rows, dependence="multi")
    with pytest.raises(ValueError, match=r"rho must be a number between -1 and 1.*not 2"):
        am.pooled_table(rows, rho=2)
    with pytest.raises(ValueError, match=r"pooled_table: no method given; expected one or more of common, DL"):
        am.pooled_table(rows, methods=[])
    with pytest.raises(ValueError, match=r"pooled_table: unknown method 'reml' \(did you mean 'REML'\?\); "
                                         r"expected one or more of .*REML"):
        am.pooled_table(rows, methods=["reml"], dependence="multilevel")
    with pytest.raises(ValueError, match=r"pooled_table: unknown test 'Z' \(did you mean 'z'\?\); "
                                         r"expected one or more of z, knha, adhoc, t, cr2"):
        am.pooled_table(rows, tests=["Z"], dependence="multilevel")
    table, notes = am.pooled_table(rows, methods=["REML", "DL"], tests=["z", "knha"], dependence="multilevel")
    assert list(zip(table["method"], table["test"])) == [("REML", "z"), ("REML", "t"), ("REML", "cr2")]
    assert any("DL not defined for three-level models" in note for note in notes)


def test_publication_bias_takes_one_selection_step_as_a_number(molloy_fit):
    """selection_steps=0.025 stopped with "'float' object is not iterable"; am.selection_models takes steps=0.025."""
    one = am.publication_bias(molloy_fit, selection_steps=0.025).to_frame()
    listed = am.publication_bias(molloy_fit, selection_steps=[0.025]).to_frame()
    pd.testing.assert_frame_equal(one, listed)


def test_reference_levels_that_are_not_a_dict_are_refused():
    """reference_levels='b' stopped with dict()'s 'dictionary update sequence element #0 has length 1'."""
    fit = am.fit(simulated(), metric="z")
    for call in (lambda: am.meta_regression(fit, "~ grp", reference_levels="b", permutations=0),
                 lambda: am.moderator_tables(fit, "grp", reference_levels="b", permutations=0)):
        with pytest.raises(TypeError, match=r"reference_levels: a dict of column -> reference level.*not 'b'"):
            call()
    terms = am.meta_regression(fit, "~ grp", reference_levels={"grp": "b"}, permutations=0).to_frame()["term"]
    assert list(terms) == ["intercept", "grp[a]", "grp[c]"]


def test_bayes_refuses_a_moderator_that_is_not_a_column_before_sampling():
    """am.bayes(fit, moderators=['gpr']) sampled the pooled model and left the moderator out with a log line
    ('not a column of the effect sizes'); am.moderators refuses it up front with a did-you-mean."""
    fit = am.fit(simulated(), metric="z")
    with pytest.raises(ValueError, match=r"am.bayes: moderator 'gpr' is not a column.*did you mean 'grp'"):
        am.bayes(fit, {"draws": 100, "tune": 100}, moderators=["gpr"])
    with pytest.raises(ValueError, match=r"am.bayes: continuous moderator 'yr' is not a column"):
        am.bayes(fit, {"draws": 100, "tune": 100}, continuous="yr")


def test_figures_of_a_fit_without_a_metric_ask_for_it(molloy, tmp_path):
    """A fit without metric= drew its forest plot with the axis 'Hedges' g' and the column 'g [95% CI]',
    whatever its yi were; the selection models' estimates plot stopped with KeyError: None."""
    yi, vi, _ = molloy
    fit = am.fit(yi, vi)
    with pytest.raises(ValueError, match=r"plot_forest needs the analysis metric.*metric='z'"):
        fit.plot_forest(tmp_path / "forest.svg")
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match=r"estimates_plot needs the analysis metric.*metric='z'"):
        am.selection_models(fit, types="halfnorm").estimates_plot()
    am.fit(yi, vi, metric="z").plot_forest(tmp_path / "forest.svg")
    assert "Hedges" not in (tmp_path / "forest.svg").read_text()


def test_a_fit_without_a_metric_is_told_every_metric_not_only_fisher_z(molloy):
    """predict(transform=...) and am.bayes told a fit without metric= to take metric='z' alone: a reviewer of log
    odds ratios who followed it got their tanh as 'r'."""
    yi, vi, _ = molloy
    fit = am.fit(yi, vi)
    with pytest.raises(ValueError, match=r"transform='or' needs the analysis metric.*metric='z'.*'smd', 'log_or'"):
        fit.predict(transform="or")
    with pytest.raises(ValueError, match=r"am.bayes needs the analysis metric.*metric='z'.*'smd', 'log_or'"):
        am.bayes(fit, {"draws": 100, "tune": 100})


def test_the_sensitivity_repr_counts_the_influential_studies_before_naming_them():
    """With numbered studies '<Sensitivity (univariate): 48 studies, influential: 46>' read as 46 influential
    studies; it was one, study 46 (dat.bangertdrowns2004)."""
    rows = simulated()
    rows.loc[3, "yi"] = 2.5  # an outlier
    result = am.sensitivity(am.fit(rows.assign(study_id=[str(i + 1) for i in range(len(rows))])))
    assert list(result.influential) == ["4"]
    assert repr(result) == "<Sensitivity (univariate): 18 studies, influential: 1 (4)>"
    assert repr(am.sensitivity(am.fit([0.1, 0.2, 0.15, 0.12, 0.18], [0.01] * 5))).endswith("influential: none>")


@pytest.mark.parametrize("test", ["cr2", "t"])
def test_a_three_level_test_asked_of_a_univariate_fit_says_whose_test_it_is(test):
    """am.fit(rows, test='cr2') said only "unknown test 'cr2'; expected one of z, knha, adhoc"."""
    with pytest.raises(ValueError, match=rf"test '{test}' is a test of the three-level model "
                                         r"\(dependence='multilevel'\); a univariate fit takes z, knha"):
        am.fit(simulated(), test=test)
    assert am.fit(simulated(), dependence="multilevel", test=test).test == test


def test_column_names_given_as_metafor_takes_them_are_refused_with_how_to_pass_the_rows():
    """am.fit('yi', 'vi') (rma(yi, vi, data = dat)) was told 'not a path ('yi')'; am.fit(frame, 'vi') 'give either a
    DataFrame ... or arrays'; a frame of standard errors only that it has no vi."""
    rows = simulated()
    for call in (lambda: am.fit("yi", "vi"), lambda: am.fit(rows, "vi")):
        with pytest.raises(TypeError, match=r"takes the effect sizes, not column names \('vi'\): am.fit\(frame\)"):
            call()
    with pytest.raises(ValueError, match=r"missing: vi; the rows have standard errors sei: vi = sei\*\*2"):
        am.fit(rows.assign(sei=np.sqrt(rows["vi"])).drop(columns="vi"))


def test_whole_number_study_ids_held_as_floats_are_named_as_the_sheet_shows_them():
    """A hand-built frame whose study_id pandas holds as floats (1.0, 2.0) named the studies "1.0", "2.0"."""
    frame = pd.DataFrame({"yi": [0.2, 0.3, 0.25, 0.4], "vi": [0.01, 0.02, 0.015, 0.03], "study_id": [1.0, 2.0, 2.0, 3.0]})
    fit = am.fit(frame, metric="z")
    assert list(fit.effect_sizes["study_id"]) == ["1", "2", "2", "3"]
    assert am.fit(frame.assign(study_id=[1.5, 2.0, 2.0, 3.0]), metric="z").effect_sizes["study_id"].tolist()[0] == "1.5"
    assert am.fit(frame.assign(study_id=["S1", "S2", "S2", "S3"]), metric="z").effect_sizes["study_id"].tolist()[0] == "S1"


def test_fit_of_coded_rows_without_yi_and_vi_points_to_effect_sizes():
    """A notebook user who passes the coded rows (r and n) to am.fit is told how to get yi and vi."""
    coded = pd.DataFrame({"study_id": ["a", "b", "c"], "r": [0.2, 0.3, 0.25], "n": [50, 80, 120]})
    with pytest.raises(ValueError, match=r"missing: yi, vi; these rows look like a coded sheet: am\.effect_sizes"):
        am.fit(coded)
    with pytest.raises(ValueError, match=r"missing: vi$"):  # not coded rows: no hint
        am.fit(pd.DataFrame({"yi": [0.1, 0.2], "n": [10, 20]}))
    assert am.fit(am.effect_sizes(coded)).k == 3


def test_plot_forest_of_simulated_rows_says_so_unless_told_otherwise(tmp_path):
    """As every figure of the pipeline: rows marked simulated = yes put the simulated-data line under the plot."""
    rows = am.effect_sizes(pd.DataFrame({"study_id": ["a", "b", "c"], "r": [0.2, 0.3, 0.25], "n": [50, 80, 120],
                                         "simulated": ["yes"] * 3}))
    fit = am.fit(rows)
    fit.plot_forest(tmp_path / "forest.svg")
    assert "Simulated" in (tmp_path / "forest.svg").read_text(encoding="utf-8")
    fit.plot_forest(tmp_path / "plain.svg", note="")
    assert "Simulated" not in (tmp_path / "plain.svg").read_text(encoding="utf-8")


def test_a_sorted_series_orders_the_cumulative_fit_by_its_labels():
    """am.cumulative(fit, frame["year"].sort_values()) paired the values with the rows by position: silently the
    wrong order."""
    frame = pd.DataFrame({"study_id": list("abcdef"), "yi": [0.1, 0.3, 0.35, 0.2, 0.5, 0.12],
                          "vi": [0.01, 0.02, 0.015, 0.03, 0.02, 0.01], "year": [2001, 1999, 2005, 2003, 2000, 2002]})
    fit = am.fit(frame)
    expected = am.cumulative(fit, "year").to_frame()
    for order in (frame["year"], frame["year"].sort_values(), frame["year"].sample(frac=1, random_state=1)):
        pd.testing.assert_frame_equal(am.cumulative(fit, order).to_frame().drop(columns="order", errors="ignore"),
                                      expected.drop(columns="order", errors="ignore"))
    positional = am.cumulative(fit, frame["year"].to_numpy()[::-1].tolist()).to_frame()  # a list: by position
    assert positional["study_id"].tolist() == ["e", "b", "f", "a", "c", "d"]


def test_a_series_of_a_frame_sorted_before_fitting_keeps_the_fits_row_order():
    """rows = frame.sort_values("year"); am.cumulative(am.fit(rows), rows["year"]): the fit numbers its rows 0, 1, ...
    afresh, so the Series' labels (1, 3, 5, 0, 4, 2) are not its rows'; matched by label, the years went to the wrong
    studies (D, 2002, first instead of B, 2001). A Series that neither pairing explains is refused."""
    frame = pd.DataFrame({"study_id": list("ABCDEF"), "yi": [0.1, 0.5, 0.2, 0.4, 0.3, 0.6],
                          "vi": [0.01, 0.02, 0.015, 0.01, 0.02, 0.03], "year": [2004, 2001, 2006, 2002, 2005, 2003]})
    rows = frame.sort_values("year")
    fit = am.fit(rows)
    assert am.cumulative(fit, rows["year"]).to_frame()["study_id"].tolist() == list("BDFAEC")
    with pytest.raises(ValueError, match="numbers its rows 0, 1, ... afresh"):
        am.cumulative(fit, (rows["year"] * -1).rename("later first"))


@pytest.mark.parametrize("options, message", [
    ({"method": "reml"}, r"unknown method 'reml' \(did you mean 'REML'\?\); expected common or one of DL"),
    ({"method": "DL "}, r"unknown method 'DL ' \(did you mean 'DL'\?\)"),
    ({"test": "KNHA"}, r"unknown test 'KNHA' \(did you mean 'knha'\?\); expected one of z, knha, adhoc"),
    ({"method": "ml", "dependence": "multilevel"},
     r"fitted by REML or ML \(rma.mv\), not 'ml' \(did you mean 'ML'\?\)"),
    ({"test": "CR2", "dependence": "multilevel"},
     r"unknown test 'CR2' for a three-level model \(did you mean 'cr2'\?\)"),
])
def test_a_method_or_test_spelt_in_another_case_or_with_a_space_is_pointed_to_its_name(options, message):
    """method='reml', 'DL ' (a space copied from a table) and test='KNHA' were refused without saying that only
    the case or the space was wrong."""
    with pytest.raises(ValueError, match=message):
        am.fit(simulated(), **options)


def test_a_misspelt_or_listed_order_column_of_cumulative_says_what_was_meant():
    """am.cumulative(fit, "yaer") said only "no column"; order=["year"] said "order has 1 values for 18 rows"."""
    fit = am.fit(simulated().assign(year=lambda frame: 2000 + np.arange(len(frame))))
    with pytest.raises(ValueError, match=r"cumulative: no column 'yaer' to order by; did you mean 'year'\?"):
        am.cumulative(fit, "yaer")
    with pytest.raises(ValueError, match=r"order has 1 values for 18 rows \(a column is named on its own: "
                                         r"order='year'\)"):
        am.cumulative(fit, ["year"])


@pytest.mark.parametrize("call, message", [
    (lambda rows: am.fit(rows, test="khna"), r"unknown test 'khna' \(did you mean 'knha'\?\)"),
    (lambda rows: am.fit(rows, method="RMEL"), r"unknown method 'RMEL' \(did you mean 'REML'\?\)"),
    (lambda rows: am.fit(rows, test="khna", dependence="multilevel"),
     r"unknown test 'khna' for a three-level model \(did you mean 'knha'\?\)"),
    (lambda rows: am.fit(rows, aggregate_method="gsl"), r"unknown aggregation method 'gsl' \(did you mean 'gls'\?\)"),
    (lambda rows: am.fit(rows, dependence="multilevle"), r"unknown dependence 'multilevle' \(did you mean 'multilevel'"),
    (lambda rows: am.pooled_table(rows, tests=["z", "khna"]), r"unknown test 'khna' \(did you mean 'knha'\?\)"),
    (lambda rows: am.model_comparison(am.fit(rows), "~ grp", tests="khna"), r"tests \['khna'\] \(did you mean 'knha'"),
    (lambda rows: am.selection_models(am.fit(rows), types="stepfn"), r"'stepfn' \(did you mean 'stepfun'\?\)"),
    (lambda rows: am.fit(rows, metric="z").predict(transform="tahn"),
     r"transform='tahn' is not a scale of metric 'z' \(did you mean 'tanh'\?\)"),
])
def test_a_misspelt_test_method_or_transform_gets_a_did_you_mean(call, message):
    """am.fit(..., test='khna') said only "unknown test 'khna'": the did-you-mean of a test, method or transform
    caught a change of case or a space, not a slip of the keys, as the config check's did-you-mean does."""
    with pytest.raises(ValueError, match=message):
        call(simulated())


def test_predict_takes_metafors_names_of_the_back_transformations():
    """predict(transform='exp') was refused: metafor's users write predict(x, transf = exp), transf.ztor or tanh.
    The transformations are those of R (tanh, exp; metafor's transf.dtorpb without group sizes: d / sqrt(d^2 + 4))."""
    rows = simulated()
    fit = am.fit(rows)
    z = am.fit(rows, metric="z").predict()
    bounds = lambda p: [p.estimate, p.ci_lower, p.ci_upper, p.pi_lower, p.pi_upper]  # noqa: E731
    for name in ("transf.ztor", "ztor", "tanh", np.tanh):
        prediction = am.fit(rows, metric="z").predict(transform=name)
        assert prediction.transform == "r" and bounds(prediction) == pytest.approx(np.tanh(bounds(z)), rel=1e-12)
    log_or = am.fit(rows.assign(metric="log_or"))
    for name in ("exp", np.exp):
        prediction = log_or.predict(transform=name)
        assert prediction.transform == "or" and bounds(prediction) == pytest.approx(np.exp(bounds(z)), rel=1e-12)
    smd = am.fit(rows.assign(metric="smd")).predict(transform="transf.dtorpb")
    assert bounds(smd) == pytest.approx([d / math.sqrt(d * d + 4) for d in bounds(z)], rel=1e-12)
    with pytest.raises(ValueError, match=r"transform='exp' is not a scale of metric 'z' \(it back-transforms log_or\); "
                                         r"expected one of r \(or metafor's transf.ztor, ztor, tanh\)"):
        am.fit(rows, metric="z").predict(transform="exp")
    with pytest.raises(ValueError, match=r"'tanh' is not a scale of metric 'smd' \(it back-transforms z\)"):
        am.fit(rows.assign(metric="smd")).predict(transform="tanh")
    assert fit.metric == "z"


def test_every_dict_of_a_config_block_is_settings_and_its_old_names_still_work(tmp_path):
    """am.multiverse and am.psychometric took settings=, am.bayes config=, am.summary_of_findings and the forest plots
    options=: each takes settings= now, and the old names as before."""
    import inspect

    from alliance_meta.analyses.psychometric import PsychometricFitAnalysis
    from alliance_meta.bayes.api import bayes

    for function in (am.multiverse, am.psychometric, am.summary_of_findings, bayes, am.UnivariateFit.plot_forest,
                     PsychometricFitAnalysis.plot_forest):
        assert "settings" in inspect.signature(function).parameters, function.__qualname__
    fit = am.fit(simulated())
    grade = {"imprecision_width": {"outcome": 0.1}}
    expected = am.summary_of_findings(fit, grade, family="outcome")
    for name in ("settings", "options"):
        pd.testing.assert_frame_equal(am.summary_of_findings(fit, **{name: grade}, family="outcome"), expected)
    with pytest.raises(ValueError, match=r"grade.imprecision_widht: unknown key"):
        am.summary_of_findings(fit, settings={"imprecision_widht": {"outcome": 0.1}}, family="outcome")
    with pytest.raises(TypeError, match=r"options= is the old name of settings=; give one of them"):
        am.summary_of_findings(fit, settings=grade, options=grade, family="outcome")
    plots = {"sort": "effect"}
    for name in ("settings", "options"):
        assert fit.plot_forest(tmp_path / f"{name}.png", **{name: plots}) is not None
    with pytest.raises(ValueError, match=r"plots.sortt: unknown key"):
        fit.plot_forest(settings={"sortt": "year"})
    with pytest.raises(ValueError, match=r"multiverse.methodz: unknown key"):
        am.multiverse(fit, config={"methodz": ["REML"]})
