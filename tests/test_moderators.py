"""Moderator analyses on small hand-made data: formulas, coding, missing values, k = 1 levels,
permutation bookkeeping and plot smoke tests (agreement with metafor: test_moderators_reference)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance_meta.models import metareg

from alliance_meta.analyses import moderators

from alliance_meta.analyses import permutation
from alliance_meta.engines.design import build_design, default_reference, formula_variables

DEMO_SHEET = Path(__file__).resolve().parents[1] / "data" / "raw" / "studies.csv"  # SIMULATED


def effect_sizes(seed: int = 3, k: int = 24) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "study_id": [f"S{i:02d}" for i in range(k)],
        "modality": rng.choice(["CBT", "psychodynamic", "humanistic"], k),
        "year": rng.integers(1990, 2020, k).astype(float),
        "vi": rng.uniform(0.005, 0.05, k), "n": 100})
    frame["yi"] = 0.25 + 0.1 * (frame.modality == "CBT") + rng.normal(0, np.sqrt(frame.vi + 0.01))
    return frame


def test_formulas_are_read_as_in_r():
    assert formula_variables("modality + rater") == ("modality", "rater")
    assert formula_variables("~ modality * timing") == ("modality", "timing")
    assert formula_variables("year + modality:year + year") == ("year", "modality")
    assert formula_variables("C(rater, Treatment('patient')) + I(year - 2000) + center(age)") == ("rater", "year", "age")
    for bad in ("modality + ", "~", "a * (b"):
        with pytest.raises(ValueError):
            formula_variables(bad)
    # quoted names, for columns that are not Python names (Q() was read as no column at all)
    assert formula_variables("Q('rater') + `mean age`:`a.b`") == ("rater", "mean age", "a.b")
    assert formula_variables("C(`a.b`) + center(`mean age`)") == ("a.b", "mean age")


def test_a_quoted_moderator_is_the_same_model_as_the_bare_name():
    import alliance_meta as am

    rows = am.effect_sizes(am.read_sheet(DEMO_SHEET))
    outcome = rows[rows["family"] == "outcome"].assign(**{"rater code": lambda f: f["rater"]})
    fit = am.fit(outcome, metric="z")
    tables = {formula: am.meta_regression(fit, formula, permutations=0).to_frame()
              for formula in ("~ rater", "~ Q('rater')", "~ `rater code`")}
    bare = tables["~ rater"]
    for formula, table in tables.items():
        assert table["k"].iloc[0] == bare["k"].iloc[0] == 214, formula  # effect sizes aggregated by rater level
        np.testing.assert_array_equal(table["estimate"], bare["estimate"])
        assert table["model_qm"].iloc[0] == bare["model_qm"].iloc[0]


def test_formulaic_terms_match_r_model_matrix():
    """R: model.matrix(~ m * year) has the m dummies, year and their products; ~ m:year alone codes m
    in full (one slope per level), as R does for a factor in an interaction without its main effect."""
    frame = pd.DataFrame({"m": ["x", "y", "x", "z", "y", "z", "x"], "year": [0.0, 1, 2, 3, 4, 5, 7]})
    design = build_design(frame, "m * year", continuous=("year",), reference_levels={"m": "x"})
    assert design.columns == ("intercept", "m[y]", "m[z]", "year", "m[y]:year", "m[z]:year")
    np.testing.assert_array_equal(design.matrix[:, 4], [0, 1, 0, 0, 4, 0, 0])
    slopes = build_design(frame, "m:year", continuous=("year",), reference_levels={"m": "x"})
    assert slopes.columns == ("intercept", "m[x]:year", "m[y]:year", "m[z]:year")
    shifted = build_design(frame, "I(year - 2000) + C(m, Treatment('z'))", continuous=("year",))
    assert shifted.columns[1] == "I(year - 2000)" and shifted.columns[2].endswith("[x]")
    np.testing.assert_array_equal(shifted.matrix[:, 1], frame["year"] - 2000)


def test_reference_level_is_most_frequent_then_alphabetical():
    assert default_reference(pd.Series(["b", "a", "b", "c"])) == "b"
    assert default_reference(pd.Series(["c", "a", "c", "a"])) == "a"


def test_design_codes_dummies_centres_and_drops_redundant_columns():
    frame = pd.DataFrame({"m": ["x", "y", "x", "z"], "year": [2000.0, 2002, 2004, 2006], "same": ["q"] * 4})
    design = build_design(frame, "m + year + same", continuous=("year",), centre=True)
    assert design.columns == ("intercept", "m[y]", "m[z]", "year")
    assert design.reference_levels == {"m": "x", "same": "q"}
    assert design.centres == {"year": 2003.0}
    np.testing.assert_allclose(design.matrix[:, 3], [-3, -1, 1, 3])
    twin = build_design(frame.assign(copy=frame.year), "year + copy", continuous=("year", "copy"))
    assert twin.columns == ("intercept", "year") and twin.dropped == ("copy",)


def test_reference_level_changes_coding_not_the_tests():
    data = effect_sizes()
    default = metareg.fit_formula(data, "modality")
    other = metareg.fit_formula(data, "modality", reference_levels={"modality": "humanistic"})
    assert default.columns != other.columns
    for name in ("qm", "f", "tau2", "qe", "r2"):
        assert getattr(default, name) == pytest.approx(getattr(other, name), rel=1e-10)


def test_missing_values_leave_only_that_moderator_and_are_counted():
    data = effect_sizes()
    data.loc[:3, "modality"] = [np.nan, "", " ", None]
    analysis = moderators.analyse_moderator(data, "modality", "z", permutations=0)
    assert analysis.k_dropped == 4 and len(analysis.data) == len(data) - 4
    assert analysis.summary()["k"] == len(data) - 4
    year = moderators.analyse_moderator(data, "year", "z", continuous=True, permutations=0)
    assert year.k_dropped == 0 and year.model.k == len(data)


def test_rows_are_aggregated_within_study_and_level():
    data = effect_sizes(k=6).assign(study_id=["A", "A", "B", "B", "C", "D"],
                                    modality=["CBT", "CBT", "CBT", "other", "other", "CBT"])
    analysis = moderators.analyse_moderator(data, "modality", "z", permutations=0)
    assert sorted(zip(analysis.data.study_id, analysis.data.modality)) == [
        ("A", "CBT"), ("B", "CBT"), ("B", "other"), ("C", "other"), ("D", "CBT")]
    row = analysis.summary()
    assert (row["k"], row["n_studies"]) == (5, 4)
    assert ("5 composites of 4 studies: the composites of a study at different levels are treated as independent"
            in row["note"])
    between = moderators.analyse_moderator(data.assign(modality=["CBT"] * 4 + ["other"] * 2), "modality", "z",
                                           permutations=0)
    assert "composites of" not in between.summary()["note"]  # levels that do not vary within studies


def test_single_study_level_is_pooled_as_metafor_with_k_one():
    data = effect_sizes(k=8).assign(modality=["solo"] + ["CBT"] * 7)
    table = moderators.analyse_moderator(data, "modality", "z", permutations=0).subgroups.set_index("level")
    assert table.loc["solo", "k"] == 1 and table.loc["solo", "tau2"] == 0 and table.loc["solo", "i2"] == 0
    assert table.loc["solo", "estimate"] == pytest.approx(data.yi.iloc[0])
    assert table.loc["solo", "se"] == pytest.approx(math.sqrt(data.vi.iloc[0]))
    assert table.loc["solo", "note"] == moderators.univariate.SINGLE_STUDY_LEVEL and table.loc["CBT", "note"] == ""


def test_permutations_are_exact_when_few_and_reproducible_when_random():
    labels, count = permutation.distinct_permutations(np.array([[1, 0], [1, 0], [1, 1], [1, 1], [1, 1]]))
    assert count == 10 and len(permutation.multiset_permutations(labels)) == 10
    data = effect_sizes()
    fit = metareg.fit_formula(data, "modality")
    first = permutation.permutation_test(fit, data.yi, data.vi, fit.design.matrix, 200, seed=7)
    again = permutation.permutation_test(fit, data.yi, data.vi, fit.design.matrix, 200, seed=7)
    assert not first.exact and first.iterations == 200
    assert first.qm_p == again.qm_p and np.array_equal(first.p, again.p)
    assert 1 / 200 <= first.qm_p <= 1


def test_tables_have_the_contract_columns():
    data = effect_sizes()
    analysis = moderators.analyse_moderator(data, "modality", "z", permutations=50)
    assert list(analysis.summary())[:13] == ["moderator", "k", "qm", "qm_df", "qm_p", "f", "f_df1", "f_df2",
                                             "f_p", "tau2", "r2", "qe", "qe_p"]
    assert list(analysis.subgroups.columns) == ["moderator", "level", "k", "estimate", "se", "ci_lower",
                                                "ci_upper", "tau2", "i2", "r", "r_ci_lower", "r_ci_upper",
                                                "converged", "note"]
    assert analysis.subgroups.converged.all() and analysis.summary()["converged"] is True
    table = moderators.meta_regression_table(data, ["modality + year"], continuous=("year",), permutations=0)
    assert table.term.tolist() == ["intercept", "modality[humanistic]", "modality[psychodynamic]", "year"]
    assert table.converged.all() and (table.note == "").all()



def test_a_moderator_with_one_value_and_uncoded_rows_does_not_say_every_row():
    """modality coded CBT in some rows and empty in the others: the note read "modality has one value (CBT) in every
    row" beside the subgroup plot's "Not in any level: 3 effect sizes without a value of Modality"; it names the rows
    left out (moderators.csv, meta_regression.csv, the three-level model and the Bayesian moderator's)."""
    import alliance_meta as am
    from alliance_meta.bayes.analysis import moderator_data

    data = effect_sizes()
    data = data.assign(modality=np.where(data["study_id"].isin(data["study_id"].unique()[::2]), "CBT", None))
    left_out = int(data["modality"].isna().sum())
    reason = (f"modality has one value (CBT) in every row analysed ({left_out} effect sizes without a value left "
              "out): nothing to compare")
    assert moderators.analyse_moderator(data, "modality", "z", permutations=0).summary()["note"] == \
        f"no mixed-effects model: {reason}"
    assert am.meta_regression(am.fit(data), "modality", permutations=0).notes == (f"modality: not estimable ({reason})",)
    assert am.moderators(am.fit(data, dependence="multilevel"), "modality").to_frame()["note"].iloc[0].endswith(reason)
    assert moderator_data(data, "modality").note == reason

def test_a_moderator_without_variation_and_a_redundant_term_are_explained():
    import alliance_meta as am

    data = effect_sizes().assign(year=2020.0)  # every study from one year
    analysis = moderators.analyse_moderator(data, "year", "z", continuous=True, permutations=0)
    assert analysis.model is None
    assert analysis.summary()["note"] == "no mixed-effects model: year has one value (2020) in every row: nothing to compare"
    # in a model with other terms the constant is left out, as metafor drops redundant predictors
    table = moderators.meta_regression_table(data, ["modality + year"], continuous=("year",), permutations=0)
    assert table.term.tolist() == ["intercept", "modality[humanistic]", "modality[psychodynamic]"]
    assert (table.note == "left out as redundant (no variation, or a combination of the other terms; as metafor): "
                          "year").all()
    result = am.meta_regression(am.fit(data), "year", continuous=("year",), permutations=0)
    assert result.to_frame()[["model", "term", "k", "note"]].values.tolist() == [  # as in meta_regression.csv
        ["year", "", len(data), "not estimable (year has one value (2020) in every row: nothing to compare)"]]
    assert result.notes == ("year: not estimable (year has one value (2020) in every row: nothing to compare)",)
    # the pipeline's tables: a formula without a model has a row without coefficients in meta_regression.csv,
    # with its reason (the report shows the CSV), and a line in the log
    _, _, regressions = am.moderator_tables(am.fit(data, metric="z"), ["modality"], formulas=["year", "modality"], permutations=0)
    assert regressions.model.tolist() == ["modality"] * 3 + ["year"]
    unfitted = regressions.iloc[-1]
    assert unfitted.term == "" and np.isnan(unfitted.estimate) and unfitted.k == len(data) and unfitted.permutations == 0
    assert unfitted.note == "not estimable (year has one value (2020) in every row: nothing to compare)"
    assert moderators.convergence_messages(pd.DataFrame(), regressions) == []  # not a fit that failed to converge
    assert regressions.attrs["notes"] == ["year: not estimable (year has one value (2020) in every row: nothing to "
                                          "compare)"]
    too_few = am.meta_regression(am.fit(data.iloc[:2]), "modality", permutations=0)
    assert too_few.notes == ("modality: not estimable (too few rows for its coefficients)",)
    # a column with no value in any row (a template column left empty)
    empty = moderators.analyse_moderator(data.assign(setting=np.nan), "setting", "z", permutations=0)
    assert empty.summary()["note"] == "no mixed-effects model: setting has no value in any row"
    both = am.meta_regression(am.fit(data.assign(setting=np.nan)), "modality + setting", permutations=0)
    assert both.notes == ("modality + setting: not estimable (no row has a value for all of modality, setting)",)


def test_plots_are_written_in_three_formats(tmp_path):
    from alliance_meta.plots.bubble import bubble_plot
    from alliance_meta.plots.style import save_figure
    from alliance_meta.plots.subgroups import subgroup_forest

    data = effect_sizes()
    analysis = moderators.analyse_moderator(data, "modality", "z", permutations=0)
    overall = {"estimate": 0.3, "ci_lower": 0.2, "ci_upper": 0.4, "k": 24}
    paths = [tmp_path / f"subgroups.{ext}" for ext in ("pdf", "png", "svg")]
    save_figure(subgroup_forest(analysis.subgroups, analysis.summary(), overall, "z"), paths)
    year = moderators.analyse_moderator(data, "year", "smd", continuous=True, permutations=0)
    save_figure(bubble_plot(year, "smd"), [tmp_path / "bubble.png"])
    assert all(path.stat().st_size > 1000 for path in [*paths, tmp_path / "bubble.png"])


def test_bubble_plot_under_a_three_level_model_says_its_points_are_composites_and_gives_the_three_level_test():
    """dat.assink2016 as a sheet (dependence: multilevel): the bubble plot of year read "p = .016; k = 18; R^2 = 28.0%"
    (the composites' meta-regression) beside the Results' three-level "year, QM(1) = 6.09, p = .014, R^2 = 17.0%",
    nothing saying that the figure's k, p and line were another model's."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.bubble import bubble_plot

    year = moderators.analyse_moderator(effect_sizes(), "year", "z", continuous=True, permutations=0)
    summary = {"moderator": "year", "multilevel_qm": 6.09, "multilevel_qm_df": 1, "multilevel_qm_p": 0.0136,
               "multilevel_cr2_f": 2.776, "multilevel_cr2_df1": 1, "multilevel_cr2_df2": 7.614,
               "multilevel_cr2_p": 0.136}
    figure = bubble_plot(year, "z", summary=summary)
    assert f"$k$ = {year.model.k} composites;" in figure.axes[0].get_title(loc="left")
    assert figure.axes[0].get_legend().get_texts()[0].get_text() == "Study composites (area \u221d weight)"
    note = " ".join(text.get_text() for text in figure.texts)
    assert "meta-regression of the study composites" in note
    assert (r"Three-level model: $Q_\mathrm{M}$(1) = 6.09, $p$ = .014; CR2 cluster-robust $F$(1, 7.61) = 2.78, "
            r"$p$ = .136.") in note  # CR2 named (it was a bare "CR2 F", defined nowhere in the figure)
    plain = bubble_plot(year, "z", summary={"moderator": "year", "multilevel_qm": float("nan")})  # aggregate run
    assert " composites" not in plain.axes[0].get_title(loc="left") and not plain.texts
    plt.close("all")


def test_bubble_plot_of_a_moderator_with_one_value_says_so():
    """Every study of one year: the figure said "3 rows with a value (at least 3 needed)"."""
    from alliance_meta.plots.bubble import bubble_plot

    data = effect_sizes(k=3).assign(year=2010.0)
    analysis = moderators.analyse_moderator(data, "year", "z", continuous=True, permutations=0)
    texts = [text.get_text() for text in bubble_plot(analysis, "z").axes[0].texts]
    assert texts == ["No meta-regression on Year: year has one value (2010) in every row: nothing to compare."]
    too_few = moderators.analyse_moderator(data.iloc[:2], "year", "z", continuous=True, permutations=0)
    assert [text.get_text() for text in bubble_plot(too_few, "z").axes[0].texts] == [
        "No meta-regression on Year: 2 rows with a value (at least 3 needed)."]


def test_bubble_plot_of_years_a_few_apart_has_whole_years_on_its_axis():
    """Studies of 2000 to 2004: the axis was labelled 2000.0, 2000.5, 2001.0, ..."""
    from alliance_meta.plots.bubble import bubble_plot

    data = effect_sizes(k=5).assign(year=[2000.0, 2001.0, 2002.0, 2003.0, 2004.0])
    analysis = moderators.analyse_moderator(data, "year", "z", continuous=True, permutations=0)
    figure = bubble_plot(analysis, "z")
    figure.canvas.draw()
    ticks = [tick for tick in figure.axes[0].get_xticks() if 2000 <= tick <= 2004]
    assert ticks == [2000, 2001, 2002, 2003, 2004]


def test_subgroup_plot_names_the_test_of_its_cis():
    """As the forest plot's footnote: the levels' CIs are subgroups.csv's Wald CIs, the overall diamond's is that of
    its pooled.csv row (plots.forest.interval_test: Knapp-Hartung where pooling.tests has no z)."""
    import matplotlib.pyplot as plt

    from alliance_meta.models.univariate import ADHOC_NOTE
    from alliance_meta.plots.subgroups import subgroup_forest

    levels = pd.DataFrame({"level": ["a", "b"], "k": [8, 9], "estimate": [0.27, 0.32], "ci_lower": [0.17, 0.27],
                           "ci_upper": [0.36, 0.37]})
    summary = {"moderator": "country", "qm_df": 1, "qm": 1.0, "qm_p": 0.3, "f_df1": 1, "f_df2": 15, "f": 1.0,
               "f_p": 0.4, "q_between_separate_df": 1, "q_between_separate": 1.1, "q_between_separate_p": 0.3}
    overall = {"method": "REML", "estimate": 0.3, "ci_lower": 0.25, "ci_upper": 0.34, "k": 17}
    for row, said in (({"test": "z"}, "95% CIs: Wald."),
                      ({"test": "knha"}, "95% CIs per level: Wald; overall: Knapp\u2013Hartung."),
                      ({"test": "knha", "note": ADHOC_NOTE},
                       "95% CIs per level: Wald; overall: Knapp\u2013Hartung, ad hoc variant."),
                      ({"test": "knha", "k": 1}, "95% CIs: Wald.")):  # one study: metafor's rma has z
        figure = subgroup_forest(levels, summary, {**overall, **row}, "z")
        texts = " ".join(text.get_text() for text in figure.texts)
        assert said in texts, texts
        plt.close(figure)


def test_subgroup_plot_names_its_estimator_in_words(tmp_path):
    """The note said "random-effects (REML) estimate", REML defined nowhere in the figure (APA 2020, sec. 7.26)."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.subgroups import subgroup_forest

    levels = pd.DataFrame({"level": ["a", "b"], "k": [8, 9], "estimate": [0.27, 0.32], "ci_lower": [0.17, 0.27],
                           "ci_upper": [0.36, 0.37]})
    summary = {"moderator": "country", "qm_df": 1, "qm": 1.0, "qm_p": 0.3, "f_df1": 1, "f_df2": 15, "f": 1.0,
               "f_p": 0.4, "q_between_separate_df": 1, "q_between_separate": 1.1, "q_between_separate_p": 0.3}
    figure = subgroup_forest(levels, summary, {"method": "REML", "estimate": 0.3, "ci_lower": 0.25, "ci_upper": 0.34,
                                               "k": 17, "test": "z"}, "z")
    texts = " ".join(text.get_text() for text in figure.texts)
    assert "random-effects estimate (restricted maximum likelihood)" in texts and "REML" not in texts
    figure.savefig(tmp_path / "subgroups.png", dpi=100, bbox_inches="tight")
    plt.close(figure)


def test_subgroup_plot_says_when_its_f_test_is_the_ad_hoc_knapp_hartung(tmp_path):
    """Under pooling.knha_adhoc moderators.csv's F is metafor's test = "adhoc" (its note says so), and the footnote
    gave it as plain F; it names the variant now, and the footnote of a plain F is as it was."""
    import matplotlib.pyplot as plt

    from alliance_meta.models.univariate import ADHOC_NOTE
    from alliance_meta.plots.style import save_figure
    from alliance_meta.plots.subgroups import subgroup_forest

    levels = pd.DataFrame({"level": ["a", "b"], "k": [8, 9], "estimate": [0.27, 0.32], "ci_lower": [0.17, 0.27],
                           "ci_upper": [0.36, 0.37]})
    summary = {"moderator": "country", "qm_df": 1, "qm": 1.0, "qm_p": 0.3, "f_df1": 1, "f_df2": 15, "f": 1.0,
               "f_p": 0.4, "q_between_separate_df": 1, "q_between_separate": 1.1, "q_between_separate_p": 0.3}
    overall = {"method": "REML", "estimate": 0.3, "ci_lower": 0.25, "ci_upper": 0.34, "k": 17, "test": "knha",
               "note": ADHOC_NOTE}
    texts = {}
    for name, note in (("plain", ""), ("adhoc", f"2 composites of 1 studies; {ADHOC_NOTE}")):
        figure = subgroup_forest(levels, {**summary, "note": note}, overall, "z")
        texts[name] = " ".join(text.get_text() for text in figure.texts)
        save_figure(figure, [tmp_path / f"subgroups_{name}.png"])
        plt.close(figure)
    assert "$F$: Knapp\u2013Hartung (ad hoc variant: scale factor not below 1)." in texts["adhoc"]
    assert "ad hoc" not in texts["plain"].replace("overall: Knapp\u2013Hartung, ad hoc variant.", "")


def test_a_three_level_fit_s_moderator_plots_give_the_three_level_test():
    """Under dependence: multilevel the figures gave only the test of the study composites (QM(2) = 0.72,
    p = .697) where the report's headline is the three-level model's (QM(2) = 0.27, CR2 F(2, 10.7)): both said."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.style import three_level_test
    from alliance_meta.plots.subgroups import subgroup_forest

    levels = pd.DataFrame({"level": ["a", "b"], "k": [8, 9], "estimate": [0.27, 0.32], "ci_lower": [0.17, 0.27],
                           "ci_upper": [0.36, 0.37]})
    summary = {"moderator": "rater", "qm_df": 1, "qm": 0.72, "qm_p": 0.697, "f_df1": 1, "f_df2": 31, "f": 0.36,
               "f_p": 0.702, "q_between_separate_df": 1, "q_between_separate": 0.71, "q_between_separate_p": 0.7}
    three = {"multilevel_qm": 0.27, "multilevel_qm_df": 1, "multilevel_qm_p": 0.872, "multilevel_cr2_f": 0.23,
             "multilevel_cr2_df1": 1, "multilevel_cr2_df2": 10.7, "multilevel_cr2_p": 0.802}
    assert three_level_test(summary) is None
    assert three_level_test({**summary, **three}) == \
        r"$Q_\mathrm{M}$(1) = 0.27, $p$ = .872; CR2 cluster-robust $F$(1, 10.70) = 0.23, $p$ = .802"
    overall = {"method": "REML", "estimate": 0.3, "ci_lower": 0.25, "ci_upper": 0.34, "k": 35, "test": "z",
               "sigma2_between": 0.01, "n_studies": 20}
    figure = subgroup_forest(levels, {**summary, **three}, overall, "z")
    texts = " ".join(text.get_text() for text in figure.texts)
    plt.close(figure)
    assert "Differences between levels, study composites, common" in texts
    assert ("Differences between levels, three-level model: $Q_\\mathrm{M}$(1) = 0.27, $p$ = .872; CR2 cluster-robust "
            "$F$(1, 10.70)") in texts, texts


def test_subgroup_plot_keeps_its_panel_beside_a_long_level_name():
    """A level named "United Kingdom of Great Britain and Northern Ireland" took the 6.5-inch figure's width from
    the panel, which shrank to about an inch with two ticks; the figure widens instead."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.subgroups import subgroup_forest

    levels = pd.DataFrame({"level": ["Germany", "United Kingdom of Great Britain and Northern Ireland"],
                           "k": [8, 9], "estimate": [0.27, 0.32], "ci_lower": [0.17, 0.27], "ci_upper": [0.36, 0.37]})
    summary = {"moderator": "country", "qm_df": 1, "qm": 1.0, "qm_p": 0.3, "f_df1": 1, "f_df2": 15, "f": 1.0,
               "f_p": 0.4, "q_between_separate_df": 1, "q_between_separate": 1.1, "q_between_separate_p": 0.3}
    overall = {"estimate": 0.3, "ci_lower": 0.25, "ci_upper": 0.34, "k": 17}
    for names, width in ((levels, None), (levels.assign(level=["a", "b"]), 6.5)):
        figure = subgroup_forest(names, summary, overall, "z")
        figure.canvas.draw()
        panel = figure.axes[0].get_window_extent(figure.canvas.get_renderer()).width / figure.dpi
        assert panel >= 2.8, panel
        if width:  # short names: the figure as before
            assert figure.get_figwidth() == width
        plt.close(figure)


def test_text_in_a_continuous_moderator_is_reported_by_sheet_row_and_value():
    frame = pd.DataFrame({"study_id": list("abcdef"), "yi": [0.1, 0.2, 0.3, 0.2, 0.4, 0.1], "vi": [0.01] * 6,
                          "dose": ["1", "2", "high", "3", " ", "5"], "sheet_row": range(2, 8)})
    with pytest.raises(ValueError, match=r"'dose' must hold numbers.*row 4: \"high\"$"):
        moderators.analyse_moderator(frame, "dose", "z", continuous=True, permutations=0)
    usable = moderators.usable_rows(frame.assign(dose=["1", "2", "2.5", "3", " ", "5"]), ["dose"], ["dose"])
    assert usable["dose"].tolist() == [1.0, 2.0, 2.5, 3.0, 5.0]


def test_a_model_without_intercept_is_fitted_and_an_intercept_only_formula_is_explained():
    import alliance_meta as am

    rows = am.effect_sizes(am.read_sheet(DEMO_SHEET))
    fit = am.fit(rows[rows["family"] == "outcome"], metric="z")
    slope = am.meta_regression(fit, "~ year - 1", permutations=0).to_frame()  # metafor: mods = ~ year - 1
    assert slope["term"].tolist() == ["year"] and slope["model_qm_df"].iloc[0] == 1
    only = am.meta_regression(fit, "~ 1", permutations=0)
    assert only.to_frame()[["term", "note"]].values.tolist() == [["", "not estimable (no moderator in the formula: "
                                                                      "the intercept-only model is the pooled model itself)"]]
    assert only.notes == ("1: not estimable (no moderator in the formula: the intercept-only model is the pooled "
                          "model itself)",)


def test_levels_are_listed_in_the_order_of_their_vocabulary():
    """timing: early, mid, late, averaged; a risk-of-bias judgement best first; other columns as
    sorted. Only the listing changes: Q-between is that of the levels in any order."""
    frame = effect_sizes(k=30)
    frame["timing"] = np.resize(["averaged", "early", "late", "mid"], 30)
    frame["rob_overall"] = np.resize(["high", "low", "some concerns"], 30)
    frame["site"] = np.resize(["b", "c", "a"], 30)
    expected = {"timing": ["early", "mid", "late", "averaged"], "rob_overall": ["low", "some concerns", "high"],
                "site": ["a", "b", "c"], "modality": ["CBT", "psychodynamic", "humanistic"]}
    for name, levels in expected.items():
        analysis = moderators.analyse_moderator(frame, name, "z", permutations=0)
        assert list(analysis.subgroups["level"]) == levels, name
        by_name = analysis.subgroups.sort_values("level")
        q = moderators.q_between(by_name["estimate"], by_name["se"])[0]
        assert analysis.q_between_separate == pytest.approx(q, rel=1e-12)


def test_terms_of_a_formula_with_quoted_names():
    """parse_formula (the model comparison's nesting) read a quoted name such as `mean age` as two names."""
    from alliance_meta.engines.design import parse_formula

    assert parse_formula("`Thérapie dauer`") == (("Thérapie dauer",),)
    assert set(parse_formula("rater * `mean age`")) == {("rater",), ("mean age",), ("rater", "mean age")}
    assert parse_formula("modality + I(year - 2000) + rater:year") == (("modality",), ("year",), ("rater", "year"))


def test_a_factor_with_one_level_in_a_model_with_other_terms_is_named_as_left_out():
    # a family whose studies all have one rater: formulaic gives the factor no column at all, so without a note
    # the 'rater + year' row would be the year-only model under the name 'rater + year' (metafor stops there)
    data = effect_sizes().assign(rater="patient")
    table = moderators.meta_regression_table(data, ["rater + year"], continuous=("year",), permutations=0)
    assert table.term.tolist() == ["intercept", "year"]
    assert (table.note == "left out as redundant (no variation, or a combination of the other terms; as metafor): "
                          "rater").all()


def test_the_result_s_line_says_why_there_is_no_test_and_names_a_slope():
    """am.moderators' one line read "QM(nan) = nan, p = nan, 1 levels" for a moderator with one level, and
    "0 levels" for a slope."""
    import alliance_meta as am

    rows = effect_sizes()
    one_level = repr(am.moderators(am.fit(rows.assign(grp="a")), "grp", permutations=0))  # simulated rows
    assert "nan" not in one_level and "levels" not in one_level
    assert one_level.endswith("no test (no mixed-effects model: grp has one value (a) in every row: nothing to "
                              "compare), 1 level>")
    assert repr(am.moderators(am.fit(rows), "year", permutations=0)).endswith(", a slope>")


def test_a_reference_level_of_a_column_of_numbers_is_given_as_the_number():
    """Numbers analysed as levels read "12.0" (the sheet's numbers are floats): reference_level=12 was refused
    ("not among its levels ['12.0', '16.0', '8.0']"), and am.moderators did not say did-you-mean for a misspelt
    level as am.meta_regression did."""
    import alliance_meta as am

    rows = effect_sizes().assign(sessions=lambda frame: np.resize([8.0, 12.0, 16.0], len(frame)))  # simulated
    fit = am.fit(rows)
    by_number = am.moderators(fit, "sessions", continuous=False, reference_level=12, permutations=0)
    by_text = am.moderators(fit, "sessions", continuous=False, reference_level="12.0", permutations=0)
    assert list(by_number.coefficients["term"]) == list(by_text.coefficients["term"]) == [
        "intercept", "sessions[16]", "sessions[8]"]  # named as the sheet's reader names them, not 16.0
    regression = am.meta_regression(fit, "~ sessions", continuous=(), reference_levels={"sessions": 12},
                                    permutations=0).to_frame()
    assert list(regression["term"]) == ["intercept", "sessions[16]", "sessions[8]"]
    with pytest.raises(ValueError, match=r"am.moderators: reference level 'CTB' of 'modality' is not one of its "
                                         r"levels in the fit's rows \(CBT, humanistic, psychodynamic\); did you "
                                         r"mean 'CBT'\?"):
        am.moderators(fit, "modality", reference_level="CTB", permutations=0)


def test_moderator_tables_check_their_reference_levels_as_meta_regression_does():
    """am.moderator_tables used the default reference without a word where reference_levels misspelt a name or a
    level; am.meta_regression and am.moderators refuse them with a did-you-mean."""
    import alliance_meta as am

    fit = am.fit(effect_sizes())  # simulated
    with pytest.raises(ValueError, match=r"am.moderator_tables: reference_levels names 'modalty', not a variable the "
                                         r"analysis uses \(its variables: modality, year\); did you mean 'modality'\?"):
        am.moderator_tables(fit, ["modality"], continuous=["year"], reference_levels={"modalty": "humanistic"},
                            permutations=0)
    with pytest.raises(ValueError, match=r"am.moderator_tables: reference level 'humanstic' of 'modality' is not one "
                                         r"of its levels in the fit's rows \(CBT, humanistic, psychodynamic\); did you "
                                         r"mean 'humanistic'\?"):
        am.moderator_tables(fit, [], formulas=["modality + year"], continuous=["year"],
                            reference_levels={"modality": "humanstic"}, permutations=0)
    _, _, regressions = am.moderator_tables(fit, ["modality"], formulas=["modality + year"], continuous=["year"],
                                            reference_levels={"modality": "humanistic"}, permutations=0)
    assert {"modality[CBT]", "modality[psychodynamic]"} <= set(regressions["term"])
    assert "modality[humanistic]" not in set(regressions["term"])
    with pytest.raises(ValueError, match=r"am.moderator_tables: the formula's variable 'modalty' is not a column of "
                                         r"the fit's rows; did you mean 'modality'\?"):  # was a KeyError
        am.moderator_tables(fit, [], formulas=["modalty + year"], permutations=0)


def test_numbers_analysed_as_levels_are_named_as_the_sheet_names_them():
    """A column of numbers analysed as levels named its subgroups and terms 16.0 (am.moderators(..., continuous=False),
    am.moderator_tables); the pipeline, whose jobs read such columns as text, names them 16. The subgroups keep the
    numbers' order (8, 12, 16; as text 12 sorts before 8)."""
    import alliance_meta as am

    rows = effect_sizes().assign(sessions=lambda frame: np.resize([8.0, 12.0, 16.0], len(frame)))  # simulated
    result = am.moderators(am.fit(rows), "sessions", continuous=False, permutations=0)
    assert list(result.subgroups["level"]) == ["8", "12", "16"]
    assert list(result.coefficients["term"]) == ["intercept", "sessions[16]", "sessions[8]"]
    tables = am.moderator_tables(am.fit(rows), ["sessions"], permutations=0)
    as_text = am.moderator_tables(am.fit(rows.assign(sessions=rows["sessions"].map("{:g}".format))), ["sessions"],
                                  permutations=0)
    for numbers, text in zip(tables, as_text):
        pd.testing.assert_frame_equal(numbers, text)


def test_the_log_says_why_a_moderator_model_was_not_fitted(tmp_path):
    """The log read "QM = nan, p = nan, permutation p = nan (one level)" where the tables give the reason."""
    import runpy
    from types import SimpleNamespace

    from alliance_meta.io import write_table

    rows = pd.DataFrame({"study_id": list("abcdef"), "yi": [0.2, 0.3, 0.1, 0.4, 0.35, 0.25],
                         "vi": [0.01, 0.012, 0.02, 0.015, 0.01, 0.02], "modality": ["CBT"] * 6,
                         "rater": ["patient", "therapist"] * 3})  # SIMULATED
    write_table(rows, tmp_path / "effect_sizes.csv")
    log = tmp_path / "moderators.log"
    snakemake = SimpleNamespace(
        input=SimpleNamespace(effect_sizes=str(tmp_path / "effect_sizes.csv")), log=[str(log)],
        output=SimpleNamespace(**{name: str(tmp_path / f"{name}.csv")
                                  for name in ("moderators", "subgroups", "meta_regression")}),
        params=SimpleNamespace(moderators=["modality", "rater"], continuous=[], meta_regression=[],
                               reference_levels={}, permutations=0, seed=1, centre=True,
                               fit={"metric": "z", "dependence": "aggregate", "rho": 0.5, "aggregate_method": "gls"}))
    script = Path(__file__).parents[1] / "workflow" / "scripts" / "moderators.py"
    runpy.run_path(str(script), init_globals={"snakemake": snakemake})
    text = log.read_text()
    assert "nan" not in text
    assert "modality (k = 6, 0 effect sizes without a value): not fitted: " in text
    assert "rater (k = 6, 0 effect sizes without a value): QM = " in text and "permutation p = n/a" in text


def test_the_moderator_forest_log_counts_in_words(tmp_path):
    """The log read "forest plot of modality: 6 rows in 1 levels"."""
    import runpy
    from types import SimpleNamespace

    import alliance_meta as am
    from alliance_meta.io import write_table

    rows = pd.DataFrame({"study_id": list("abcdef"), "yi": [0.2, 0.3, 0.1, 0.4, 0.35, 0.25],
                         "vi": [0.01, 0.012, 0.02, 0.015, 0.01, 0.02], "modality": ["CBT"] * 6,
                         "rater": ["patient", "therapist"] * 3})  # SIMULATED
    write_table(rows, tmp_path / "effect_sizes.csv")
    write_table(am.pooled_table(rows, methods=("REML",), tests=("z",), metric="z")[0], tmp_path / "pooled.csv")
    scripts = Path(__file__).parents[1] / "workflow" / "scripts"
    tables = SimpleNamespace(**{name: str(tmp_path / f"{name}.csv") for name in ("moderators", "subgroups",
                                                                                 "meta_regression")})
    fit = {"metric": "z", "dependence": "aggregate", "rho": 0.5, "aggregate_method": "gls"}
    runpy.run_path(str(scripts / "moderators.py"), init_globals={"snakemake": SimpleNamespace(
        input=SimpleNamespace(effect_sizes=str(tmp_path / "effect_sizes.csv")), log=[str(tmp_path / "m.log")],
        output=tables, params=SimpleNamespace(moderators=["modality", "rater"], continuous=[], meta_regression=[],
                                              reference_levels={}, permutations=0, seed=1, centre=True, fit=fit))})
    log = tmp_path / "forest.log"
    runpy.run_path(str(scripts / "moderator_forest_plot.py"), init_globals={"snakemake": SimpleNamespace(
        input=SimpleNamespace(effect_sizes=str(tmp_path / "effect_sizes.csv"), subgroups=tables.subgroups,
                              moderators=tables.moderators, pooled=str(tmp_path / "pooled.csv")), log=[str(log)],
        output=[str(tmp_path / f"forest_{name}.png") for name in ("modality", "rater")],
        params=SimpleNamespace(plots={}, metric="z", main_method="REML", moderators=["modality", "rater"],
                               aggregate_method="gls", rho=0.5, level=95))})
    text = log.read_text()
    assert "forest plot of modality: 6 rows in 1 level\n" in text and "forest plot of rater: 6 rows in 2 levels" in text


def test_levels_with_numbers_in_them_are_listed_as_a_reader_counts():
    """25 measures named "Measure 1" ... "Measure 25" (SIMULATED): subgroups.csv and the subgroup plots listed
    Measure 1, 10, 11, ..., 19, 2, 20, ...; numbers in a level's text now count by value."""
    from alliance_meta.analyses.moderators.univariate import display_order

    names = [f"Measure {i}" for i in range(1, 26)]
    levels = sorted(names)  # as the subgroup fits, the multiverse's subsets and the report give them: 1, 10, 11, ...
    assert [levels[i] for i in display_order("measure_name", levels)] == names
    levels = ["WAI-12", "WAI-36", "WAI-S", "site 10b", "site 2", "site 2a"]
    assert [levels[i] for i in display_order("measure_name", levels)] == [
        "WAI-12", "WAI-36", "WAI-S", "site 2", "site 2a", "site 10b"]
    doses = ["Dose 0.75", "Dose 1.25", "Dose 1.5", "Dose 2", "Wave -3", "Wave -1", "Wave 0", "Wave 2"]
    assert [sorted(doses)[i] for i in display_order("dose", sorted(doses))] == doses  # decimals, a minus after a space
    levels = ["A1", "A1x", "A1x2", "Measure 05", "Measure 5", "Measure-10", "Measure-2"]  # a hyphen is no minus
    assert [levels[::-1][i] for i in display_order("dose", levels[::-1])] == [
        "A1", "A1x", "A1x2", "Measure 05", "Measure 5", "Measure-2", "Measure-10"]  # no text compared with a number
