"""Location-scale tables, model comparisons and predictions of a family, and their workflow rules.

The numbers of the models are checked against metafor in test_location_scale_reference.py and
test_model_comparison_reference.py; here: which rows enter (aggregated as the moderator
analyses aggregate them, so k matches moderators.csv), how models that cannot be fitted are
reported, and that the rules write the tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance_meta.analyses import location_scale as ls_analysis
from alliance_meta.analyses import model_comparison, moderators
from alliance_meta.models import location_scale, metareg

from test_workflow import snakemake, tiny_sheet  # noqa: F401  (the review_folder fixture is redefined below)


def effect_sizes(seed: int = 3, studies: int = 40) -> pd.DataFrame:
    """Two effect sizes in some studies (dependent rows), rater-dependent heterogeneity."""
    rng = np.random.default_rng(seed)
    rows = []
    for study in range(studies):
        n_rows = 2 if study % 4 == 0 else 1
        for j in range(n_rows):
            rater = ["patient", "observer", "therapist"][(study + j) % 3]
            vi = 1 / rng.integers(40, 300)
            tau = 0.25 if rater == "observer" else 0.08
            rows.append({"study_id": f"s{study:02d}", "rater": rater, "modality": ["CBT", "PDT"][study % 2],
                         "year": 1990 + study % 25, "yi": 0.3 + rng.normal(0, tau) + rng.normal(0, np.sqrt(vi)),
                         "vi": vi})
    return pd.DataFrame(rows)


def test_rows_are_aggregated_as_in_the_moderator_analyses():
    data = effect_sizes()
    table, per_level = ls_analysis.location_scale_tables(data, ["rater"])
    expected_k = moderators.analyse_moderator(data, "rater", "z", permutations=0).summary()["k"]
    assert set(table["k"]) == {expected_k} and expected_k > data["study_id"].nunique()
    assert list(table.part) == ["location"] * 3 + ["scale"] * 3
    assert list(per_level.level) == ["observer", "patient", "therapist"]
    observer = per_level.set_index("level").loc["observer", "tau2"]
    assert observer > per_level.set_index("level").loc["patient", "tau2"]  # the simulated difference is found
    aggregated, _ = moderators.aggregate_within(data, ("rater",))
    direct = location_scale.location_scale_table(aggregated, "rater")
    np.testing.assert_allclose(table.estimate, direct.estimate, rtol=1e-12)


def test_separate_location_and_scale_formulas_and_unfittable_models():
    data = effect_sizes()
    entry = {"location": "modality + rater", "scale": "rater"}
    assert ls_analysis.model_spec(entry) == ("modality + rater | rater", "modality + rater", "rater")
    assert ls_analysis.model_spec("rater") == ("rater", "rater", "rater")
    with pytest.raises(ValueError, match="mapping"):
        ls_analysis.model_spec({"location": "rater"})
    table, _ = ls_analysis.location_scale_tables(data.iloc[:5], [entry, "rater"])
    assert set(table.model) == {"modality + rater | rater", "rater"}
    failed = table[table.converged.eq(False)]
    assert len(failed) and failed.note.str.startswith("not fitted").all()


def test_a_scale_moderator_no_row_of_the_family_codes_is_a_note_not_a_traceback():
    """location_scale: [design] with design coded only in the outcome family stopped the dropout family's run
    with an IndexError (no level to take as the reference); now its row says why it was not fitted."""
    data = effect_sizes().assign(design=np.nan)
    table, per_level = ls_analysis.location_scale_tables(data, ["design", "design + rater"])
    assert list(table.model) == ["design", "design + rater"] and table.converged.eq(False).all()
    assert list(table.note) == ["not fitted: design has no value in any row",
                                "not fitted: no row has a value for all of design, rater"]
    assert set(table.k) == {0} and per_level.empty
    # a location moderator no row codes, with the intercept or a coded moderator as the scale part
    table, _ = ls_analysis.location_scale_tables(data, [{"location": "design", "scale": "1"},
                                                        {"location": "design", "scale": "rater"}])
    assert list(table.note) == ["not fitted: design has no value in any row",
                                "not fitted: no row has a value for all of design, rater"]


def test_comparisons_fit_both_models_to_the_full_models_rows():
    data = effect_sizes()
    table = model_comparison.model_comparison_table(data, ["rater", "modality", "modality + rater", "year"],
                                                    continuous=("year",), centre=True)
    pairs = table.drop_duplicates("comparison")["comparison"].tolist()
    assert pairs == ["rater vs 1", "modality vs 1", "modality + rater vs rater", "modality + rater vs modality",
                     "modality + rater vs 1", "year vs 1"]
    for _, pair in table.groupby("comparison"):
        assert pair["k"].nunique() == 1 and list(pair.model) == ["full", "reduced"]
        assert pair.lrt.iloc[0] >= 0 and pair.lrt.iloc[1:].isna().all()
    rater_k = moderators.analyse_moderator(data, "rater", "z", permutations=0).summary()["k"]
    assert table.set_index("comparison").loc["rater vs 1", "k"].tolist() == [rater_k, rater_k]


def test_a_moderator_coded_in_no_row_is_left_out_of_comparisons_and_predictions():
    data = effect_sizes().assign(setting=np.nan)
    table = model_comparison.model_comparison_table(data, ["rater", "setting"])
    assert table.drop_duplicates("comparison")["comparison"].tolist() == ["rater vs 1"]
    predictions = model_comparison.prediction_table(data, ["rater", "setting"], "z")
    assert set(predictions.model) == {"rater"}


def test_a_comparison_of_two_forms_of_one_model_says_why():
    """A moderator with one value, or one that is a combination of the others, is left out of the full
    model: the pair is one model (metafor's anova: "LRT not meaningful"), and the note says which term."""
    data = effect_sizes().assign(setting="clinic", rater="patient")
    data["year2"] = 2 * data["year"] + 1
    table = model_comparison.model_comparison_table(data, ["rater + setting", "year + year2", "year"],
                                                    continuous=("year", "year2")).set_index("comparison")
    redundant = "left out as redundant (no variation, or a combination of the other terms; as metafor)"
    assert table.loc["year + year2 vs 1", "lrt"].iloc[0] == table.loc["year vs 1", "lrt"].iloc[0]
    assert table.loc["rater + setting vs 1", "note"] == (
        f"not estimable: rater + setting and 1 are the same model in these rows, nothing to test; {redundant}: "
        "rater, setting")
    assert table.loc["year + year2 vs year", "note"] == (
        f"not estimable: year + year2 and year are the same model in these rows, nothing to test; {redundant}: year2")


def test_a_comparison_whose_models_lose_a_redundant_term_says_which():
    """``rater + setting vs setting`` with one setting in every row is rater against the intercept: the test
    is run, and both rows name the term left out (without it the row read as a test against setting)."""
    data = effect_sizes().assign(setting="clinic")
    table = model_comparison.model_comparison_table(data, ["rater + setting", "setting"])
    pair = table[table.comparison == "rater + setting vs setting"]
    redundant = "left out as redundant (no variation, or a combination of the other terms; as metafor): setting"
    assert pair.lrt.iloc[0] >= 0 and list(pair.note) == [redundant, redundant]
    assert table.loc[(table.comparison == "rater + setting vs 1") & (table.model == "reduced"), "note"].eq("").all()


def test_predictions_have_the_moderator_tables_k():
    data = effect_sizes()
    table = model_comparison.prediction_table(data, ["rater", "year"], "z", continuous=("year",), centre=True,
                                              values={"year": [1995, 2005]})
    regression = moderators.meta_regression_table(data, ["rater"], permutations=0)
    rater = table[(table.model == "rater") & (table.test == "z")]
    assert rater.k.sum() == regression.k.iloc[0]
    subgroups = moderators.analyse_moderator(data, "rater", "z", permutations=0).subgroups
    assert rater.set_index("value").k.to_dict() == subgroups.set_index("level").k.to_dict()
    years = table[table.model == "year"]
    assert sorted(set(years.value)) == ["1995", "2005"] and set(years.test) == {"z", "knha"}
    assert years.k.isna().all()
    assert (table.pi_lower <= table.ci_lower).all() and np.allclose(table.r, np.tanh(table.estimate))


def test_vif_column_aligns_with_the_coefficients():
    data = effect_sizes()
    aggregated, _ = moderators.aggregate_within(data, ("modality", "rater", "year"), continuous=("year",))
    fit = metareg.fit_formula(aggregated, "modality + rater + year", continuous=("year",))
    column = model_comparison.vif_column(fit)
    assert column.shape == (len(fit.columns),) and np.isnan(column[0]) and (column[1:] >= 1).all()
    grouped = model_comparison.vif(fit, model_comparison.term_groups(fit.design))
    assert list(grouped.term) == ["modality", "rater", "year"] and list(grouped.m) == [1, 2, 1]


def test_a_nearly_collinear_moderator_is_dropped_as_metafor_drops_it():
    """year2 = year + 1e-9 noise: R's lm (qr tol 1e-7), with which metafor finds redundant predictors, drops
    it ("Redundant predictors dropped from the model"); it was kept, and X'WX was singular (LinAlgError)."""
    data = effect_sizes()
    noise = dict(zip(data.study_id.unique(), np.random.default_rng(1).normal(size=data.study_id.nunique())))
    data["year2"] = data["year"] + 1e-9 * data.study_id.map(noise)  # a study-level variable, as year
    options = dict(continuous=("year", "year2"), permutations=0)
    table = moderators.meta_regression_table(data, ["year + year2", "year"], **options)
    both, year = table[table.model == "year + year2"], table[table.model == "year"]
    assert list(both.term) == ["intercept", "year"] and both.note.iloc[0].endswith("as metafor): year2")
    np.testing.assert_allclose(both.estimate, year.estimate, rtol=1e-12)
    assert model_comparison.vif_column(metareg.fit_formula(data, "year + year2", continuous=("year", "year2"))
                                       ).shape == (2,)


def test_empty_family_gives_header_only_tables():
    empty = effect_sizes().iloc[:0]
    table, per_level = ls_analysis.location_scale_tables(empty, [])
    assert table.empty and list(table.columns[:4]) == ["model", "location_formula", "scale_formula", "part"]
    assert model_comparison.model_comparison_table(empty, []).empty
    assert model_comparison.prediction_table(empty, [], "z").empty


@pytest.fixture()
def review_folder(tmp_path):
    (tmp_path / "data" / "raw").mkdir(parents=True)
    tiny_sheet().to_csv(tmp_path / "data" / "raw" / "studies.csv", index=False)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(
        "location_scale: [rater, {location: '1', scale: modality}]\ncontinuous_moderators: [year]\n")
    return tmp_path


def test_rules_write_the_tables(review_folder):
    targets = [f"results/{family}/{name}" for family in ("outcome", "dropout")
               for name in ("location_scale.csv", "location_scale_tau2.csv", "model_comparison.csv",
                            "meta_regression_predictions.csv")]
    snakemake(review_folder, *targets)
    location = pd.read_csv(review_folder / "results/outcome/location_scale.csv")
    assert list(location.columns[:11]) == ["model", "location_formula", "scale_formula", "part", "term",
                                           "estimate", "se", "statistic", "pval", "ci_lower", "ci_upper"]
    assert set(location.model) == {"rater", "1 | modality"}
    comparison = pd.read_csv(review_folder / "results/outcome/model_comparison.csv")
    assert {"comparison", "model", "formula", "parameters", "loglik", "aic", "bic", "aicc", "lrt", "lrt_p",
            "r2"} <= set(comparison.columns)
    assert "year vs 1" in set(comparison.comparison)
    predictions = pd.read_csv(review_folder / "results/outcome/meta_regression_predictions.csv")
    assert {"modality", "rater", "year"} <= set(predictions.model)


@pytest.mark.parametrize("dependence", ["aggregate", "multilevel"])
def test_without_moderators_the_tables_keep_their_columns(dependence):
    import alliance_meta as am

    fit = am.fit(effect_sizes(), metric="z", dependence=dependence)
    analysed = moderators.moderator_tables(fit, ["rater"], permutations=0)
    none = moderators.moderator_tables(fit, [], permutations=0)
    (summary, subgroups, _), (no_summary, no_subgroups, no_regressions) = analysed, none
    assert len(no_summary) == len(no_subgroups) == len(no_regressions) == 0
    # the three-level model adds multilevel_* columns beside each analysed moderator
    assert list(no_summary.columns) == [c for c in summary.columns if not c.startswith("multilevel_")]
    assert list(no_subgroups.columns) == list(subgroups.columns)
    assert list(no_regressions.columns) == ["model", "term"]
    # a family without effect sizes (rule moderators) writes the same headers
    empty = moderators.empty_moderator_tables("z")
    assert [list(table.columns) for table in empty] == [list(no_summary.columns), list(no_subgroups.columns),
                                                        ["model", "term"]] and not any(len(t) for t in empty)


def test_moderators_csv_has_one_column_order_with_and_without_a_model():
    import alliance_meta as am
    from alliance_meta.analyses.moderators.univariate import SUMMARY_COLUMNS

    data = effect_sizes().assign(setting="outpatient")  # one level: no mixed-effects model
    summary = moderators.moderator_tables(am.fit(data, metric="z"), ["rater", "setting"], permutations=0)[0]
    assert summary.set_index("moderator")["note"]["setting"].startswith("no mixed-effects model")
    fitted, unfitted = (moderators.analyse_moderator(data, name, "z", permutations=0).summary()
                        for name in ("rater", "setting"))
    assert list(fitted) == list(unfitted) == list(SUMMARY_COLUMNS) == list(summary.columns)


def test_a_scale_moderator_with_one_level_is_no_location_scale_model():
    # one rater in every row: the 'rater' model would be intercept-only in both parts, its QS a test of
    # log tau^2 = 0 reported under the name of a rater model; it gets a 'not fitted' row with the reason instead
    data = effect_sizes().assign(rater="patient")
    table, per_level = ls_analysis.location_scale_tables(data, ["rater", {"location": "modality", "scale": "rater"}])
    assert table.model.tolist() == ["rater", "modality | rater"]
    assert (table.converged == False).all()  # noqa: E712
    assert (table.note == "not fitted: rater has one value (patient) in every row: nothing to compare").all()
    assert per_level.empty


def test_a_one_level_factor_beside_a_varying_one_is_named_in_the_location_scale_note():
    # rater has one value, modality two: the model is fitted on modality alone; its note says that rater was
    # left out (before, the rows read as a rater + modality model with nothing said)
    data = effect_sizes().assign(rater="patient")
    both, location_only = (ls_analysis.location_scale_tables(data, [model])[0]
                           for model in ("rater + modality", {"location": "rater + modality", "scale": "modality"}))
    assert not both.term.str.startswith("rater").any()
    left_out = "left out as redundant (no variation, or a combination of the other terms; as metafor): rater"
    assert (both.note == f"{left_out} (location and scale parts)").all()
    assert (location_only.note == f"{left_out} (location part)").all()


def test_a_one_level_factor_kept_in_an_interaction_is_not_named_as_left_out():
    # rater:year with one rater still has a column rater[patient]:year: rater is in the model, not left out
    from alliance_meta.engines.design import build_design, dropped_note

    data = effect_sizes().assign(rater="patient")
    interaction = build_design(data, "rater:year", continuous=("year",))
    assert "rater[patient]:year" in interaction.columns and dropped_note(interaction) == ""
    assert build_design(data, "rater + modality").dropped == ("rater",)


def test_the_prediction_grid_lists_levels_as_subgroups_csv_does():
    """A categorical variable's predictions list its levels in display_order, as subgroups.csv: the codebook's
    order (rater: patient, therapist, observer), a rob_* column's judgements best first (a custom tool's as
    listed), other columns' sorted; they were sorted alphabetically (observer, patient, therapist)."""
    data = pd.DataFrame({"rater": ["therapist", "observer", "patient"], "rob_overall": ["poor", "good", "fair"],
                         "country": ["US", "DE", "UK"], "year": [2000.0, 2005.0, 2010.0]})
    custom = {"tool": "custom", "domains": ["a"], "levels": ["good", "fair", "poor"]}
    grid = model_comparison.prediction_grid(data, ["rater", "rob_overall", "country"], risk_of_bias=custom)
    assert [value for _, value in grid] == ["patient", "therapist", "observer", "good", "fair", "poor",
                                            "DE", "UK", "US"]


def test_a_prediction_value_where_a_term_is_no_number_is_a_row_with_a_note():
    """log(year - 2000) predicted at the grid's mean - SD (1995) stopped the model-comparison job with formulaic's
    'null values' error (reported as a bug of alliance-meta); that value's rows now say why they have no estimate."""
    years = [2001, 2001.5, 2001.2, 2001.1, 2001.3, 2002, 2030, 2040, 2050, 2060]  # SIMULATED
    data = pd.DataFrame({"study_id": [f"s{i}" for i in range(10)], "yi": np.linspace(0.1, 0.5, 10),
                         "vi": np.full(10, 0.01), "year": years})
    table = model_comparison.prediction_table(data, ["log(year - 2000)"], "z", continuous=("year",))
    missing = table[table["estimate"].isna()]
    assert len(missing) == 2 and set(missing["test"]) == {"z", "knha"}
    assert missing["note"].str.fullmatch(r"no prediction at year = 1995\.07: the term log\(year - 2000\) is not a "
                                         r"number there").all()
    assert table["estimate"].notna().sum() == 4 and (table.loc[table["estimate"].notna(), "note"] == "").all()
