"""Hunter-Schmidt psychometric meta-analysis against psychmeta 2.x (tests/reference/psychometric.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance_meta.analyses import psychometric as pm

REFERENCE = json.loads((Path(__file__).parent / "reference" / "psychometric.json").read_text())
RTOL = 1e-6
NUMBERS = [c for c in pm.TABLE_COLUMNS if c not in ("method", "note", "k_left_out", "left_out_lacking")]  # psychmeta's


def dataset(name: str) -> pd.DataFrame:
    """A reference data set as a frame with r, n and its artifacts (JSON null -> NaN)."""
    frame = pd.DataFrame(REFERENCE["datasets"][name])
    for column in ("r", "n", "rxx", "ryy", "ux"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def options_of(case: dict) -> pm.PsychometricOptions:
    settings = dict(case["options"])
    if settings.pop("hunter_schmidt", False):
        return pm.PsychometricOptions.hunter_schmidt(**settings)
    return pm.PsychometricOptions(**settings)


def rows_of(case: dict) -> tuple[pd.DataFrame, str]:
    frame = dataset(case["data"])
    if case["rows"] == "rxx":
        frame = frame[frame["rxx"].notna()]
    if case.get("ryy") is not None:  # a constant outcome reliability on every row (psychometric.R)
        frame = frame.assign(ryy=case["ryy"])
    study = "sample" if case["rows"] == "collapse" else "no_such_column"
    return frame, study


def compare(actual: dict, expected: dict, label: str) -> None:
    for column, value in expected.items():
        if value is None:
            assert not np.isfinite(actual[column]), f"{label} {column}: expected undefined, got {actual[column]}"
            continue
        assert actual[column] == pytest.approx(value, rel=RTOL, abs=1e-12), f"{label} {column}"


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=[c["name"] for c in REFERENCE["cases"]])
def test_agrees_with_psychmeta(case):
    frame, study = rows_of(case)
    table = pm.psychometric_table(frame, options_of(case), study=study).set_index("method")
    assert case["method"] in table.index
    compare(table.loc[case["method"]].to_dict(), case["expected"], case["name"])


@pytest.mark.parametrize("case", REFERENCE["moderator_cases"],
                         ids=[f"{c['level']}-{c['method']}" for c in REFERENCE["moderator_cases"]])
def test_moderator_levels_agree_with_psychmeta(case):
    frame = dataset(case["data"])
    table = pm.psychometric_moderators(frame, [case["moderator"]], options_of(case), study="no_such_column")
    row = table[(table["level"] == case["level"]) & (table["method"] == case["method"])]
    assert len(row) == 1
    compare(row.iloc[0].to_dict(), case["expected"], f"{case['level']} {case['method']}")


def test_individual_corrections_per_study_agree_with_psychmeta():
    expected = REFERENCE["studies"]["gonzalezmule_2014_uvirr"]
    analysis = pm.psychometric_analysis(dataset("gonzalezmule_2014"),
                                        pm.PsychometricOptions(correction_method="uvirr"), study="none")
    studies = analysis.studies
    for column, name in (("r_corrected", "rho"), ("var_e_c", "var_e_c"), ("weight", "weight"), ("A", "A"),
                         ("a", "a")):
        np.testing.assert_allclose(studies[column], expected[name], rtol=RTOL, err_msg=column)


@pytest.mark.parametrize("data", sorted(REFERENCE["distributions"]))
def test_artifact_distributions_agree_with_psychmeta(data):
    analysis = pm.psychometric_analysis(dataset(data), study="none")
    summaries = analysis.artifact_table().set_index("artifact")
    for artifact, expected in REFERENCE["distributions"][data].items():
        compare(summaries.loc[artifact].to_dict(), expected, f"{data} {artifact}")


def test_case_ii_distributions_agree_with_psychmeta():
    options = pm.PsychometricOptions(correction_method="uvdrr")
    summaries = pm.psychometric_analysis(dataset("psychmeta_uvdrr"), options, study="none").artifact_table()
    summaries = summaries.set_index("artifact")
    for artifact, expected in REFERENCE["direct_distributions"]["psychmeta_uvdrr"].items():
        compare(summaries.loc[artifact].to_dict(), expected, f"Case II {artifact}")


def test_range_restriction_reaches_the_artifact_distribution_row_only_with_rxx():
    frame = dataset("roth_2015")
    analysis = pm.psychometric_analysis(frame, study="none")
    assert "indirect range restriction" in analysis.artifact_distribution.note
    assert list(analysis.artifact_table()["artifact"]) == ["rxx", "ut"]
    meas = pm.psychometric_analysis(frame, pm.PsychometricOptions(correction_method="meas"), study="none")
    assert meas.artifact_distribution.rho < analysis.artifact_distribution.rho  # ux < 1 on average: larger rho
    no_rxx = frame.drop(columns="rxx").assign(ryy=0.8)
    only_y = pm.psychometric_analysis(no_rxx, study="none").artifact_distribution
    assert "unreliability only" in only_y.note and "no rxx" in only_y.note


def test_sheet_without_reliabilities_gives_bare_bones_only():
    frame = dataset("mcleod_2007")
    table = pm.psychometric_table(frame)
    assert list(table["method"]) == ["bare_bones"]
    assert list(table.columns) == list(pm.TABLE_COLUMNS)
    assert "no reliabilities" in table.loc[0, "note"]
    # empty reliability columns are the same as none
    table = pm.psychometric_table(frame.assign(rxx=np.nan, ryy=np.nan, ux=np.nan))
    assert list(table["method"]) == ["bare_bones"]


def test_table_has_the_contract_columns_and_three_rows():
    table = pm.psychometric_table(dataset("gonzalezmule_2014"))
    assert list(table.columns) == list(pm.TABLE_COLUMNS)
    assert list(table["method"]) == list(pm.METHODS)
    moderators = pm.psychometric_moderators(dataset("gonzalezmule_2014"), ["rating_source"])
    assert list(moderators.columns) == ["moderator", "level", *pm.TABLE_COLUMNS]
    assert sorted(moderators["level"].unique()) == ["Self", "Supervisor"]


def test_dropped_rows_are_counted_in_the_note():
    table = pm.psychometric_table(dataset("roth_2015"), study="none").set_index("method")
    assert table.loc["individual", "k"] == 161
    assert "79 of 240 studies without rxx left out" in table.loc["individual", "note"]
    assert table.loc["artifact_distribution", "k"] == 240


def test_moderator_levels_are_listed_as_subgroups_csv_lists_them():
    """psychometric_moderators.csv listed levels alphabetically (timing: averaged, early, late, mid)."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"r": rng.uniform(0.1, 0.4, 12), "n": rng.integers(40, 200, 12),
                          "rxx": 0.85, "ryy": 0.8, "timing": ["late", "early", "averaged", "mid"] * 3})
    table = pm.psychometric_moderators(frame, ["timing"], study="none")
    assert list(dict.fromkeys(table["level"])) == ["early", "mid", "late", "averaged"]


def test_the_note_names_only_the_reliability_that_is_missing():
    """With rxx and ryy corrected, studies without rxx alone were "without rxx or ryy"."""
    frame = pd.DataFrame({"r": [0.2, 0.3, 0.25, 0.35], "n": [60, 80, 100, 120],
                          "rxx": [0.8, np.nan, 0.85, np.nan], "ryy": [0.9, 0.85, 0.8, 0.75]})
    note = pm.psychometric_table(frame, study="none").set_index("method").loc["individual", "note"]
    assert "2 of 4 studies without rxx left out" in note
    both = pm.psychometric_table(frame.assign(ryy=[0.9, 0.85, np.nan, 0.75]), study="none")
    assert "3 of 4 studies without rxx or ryy left out" in both.set_index("method").loc["individual", "note"]


def test_rows_without_a_sample_size_are_named_by_sheet_row():
    """The log said "30 effect sizes without a sample size left out": not which rows, nor why."""
    rows = pd.DataFrame({"yi": [0.2, 0.3, 0.1, 0.25], "n": [50, np.nan, 80, np.nan], "sheet_row": [2, 5, 6, 9]})
    assert len(pm.correlations(rows)) == 2
    assert pm.left_out_note(rows) == ("2 of 4 effect sizes have no sample size (n) above 1 and are left out "
                                      "of the psychometric corrections, which weight by n (sheet rows 5, 9); code an n "
                                      "above 1 to include them")
    assert pm.left_out_note(rows.iloc[[0, 2]]) == ""
    assert "(sheet row 5);" in pm.left_out_note(rows.iloc[:3])  # one row: not "sheet rows 5"
    assert pm.left_out_note(rows.iloc[:3]).startswith("1 of 3 effect sizes has no sample size (n) above 1 and is left")
    no_effect = pd.DataFrame({"yi": [0.2, np.nan], "n": [50, 60], "sheet_row": [2, 3]})  # has n: not this note's
    assert len(pm.correlations(no_effect)) == 1 and pm.left_out_note(no_effect) == ""
    assert pm.left_out_note(rows.drop(columns="sheet_row")).startswith("2 of 4 effect sizes have no sample size (n) "
                                                                       "above 1 and are left out of the psychometric "
                                                                       "corrections, which weight by n; code an n")
    many = pd.DataFrame({"yi": [0.2] * 25, "n": [np.nan] * 25, "sheet_row": range(2, 27)})
    assert pm.left_out_note(many).endswith("(sheet rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, "
                                           "19, 20, 21 and 5 more); code an n above 1 to include them")


def test_hand_computed_two_studies():
    """Two studies, r = .2 and .4, n = 50 and 150, rxx = .81 and .64, ryy = 1, textbook options."""
    frame = pd.DataFrame({"r": [0.2, 0.4], "n": [50, 150], "rxx": [0.81, 0.64]})
    options = pm.PsychometricOptions(correct_bias=False, intervals="normal", unbiased_variances=False)
    table = pm.psychometric_table(frame, options).set_index("method")
    r_bar = (50 * 0.2 + 150 * 0.4) / 200
    var_r = (50 * (0.2 - r_bar) ** 2 + 150 * (0.4 - r_bar) ** 2) / 200
    var_e = (50 * (1 - r_bar**2) ** 2 / 49 + 150 * (1 - r_bar**2) ** 2 / 149) / 200
    assert table.loc["bare_bones", "r_bar"] == pytest.approx(r_bar)
    assert table.loc["bare_bones", "var_r"] == pytest.approx(var_r)
    assert table.loc["bare_bones", "var_e"] == pytest.approx(var_e)
    rho = np.array([0.2 / 0.9, 0.4 / 0.8])
    weights = np.array([50 * 0.81, 150 * 0.64])
    assert table.loc["individual", "rho"] == pytest.approx(np.sum(weights * rho) / weights.sum())
    assert table.loc["individual", "ci_upper"] - table.loc["individual", "rho"] == pytest.approx(
        1.959963984540054 * table.loc["individual", "se"])


def test_config_defaults_fill_only_missing_reliabilities():
    frame = pd.DataFrame({"r": [0.3, 0.2, 0.25], "n": [80, 60, 40], "measure": ["WAI", "HAq", "WAI"],
                          "rxx": [0.85, np.nan, np.nan]})
    filled = pm.fill_reliabilities(frame, {"WAI": 0.9}, outcome_reliability=0.8)
    assert filled["rxx"].tolist()[0] == 0.85 and filled["rxx"].tolist()[2] == 0.9
    assert np.isnan(filled["rxx"].tolist()[1])
    assert filled["ryy"].tolist() == [0.8, 0.8, 0.8]


def test_reliability_defaults_are_keyed_by_measure_as_the_sheet_reads_it():
    frame = pd.DataFrame({"r": [0.3, 0.2, 0.25], "n": [80, 60, 40], "measure": ["WAI", "CALPAS", "Penn"]})
    filled = pm.fill_reliabilities(frame, {"WAI-SR": 0.91, "calpas": 0.85})  # a synonym and another case
    assert filled["rxx"].tolist()[:2] == [0.91, 0.85] and np.isnan(filled["rxx"].tolist()[2])


def test_collapse_averages_within_study():
    frame = pd.DataFrame({"study_id": ["a", "a", "b"], "r": [0.1, 0.3, 0.2], "n": [100, 300, 50],
                          "rxx": [0.8, np.nan, 0.9]})
    collapsed = pm.collapse_within_study(frame)
    assert collapsed["r"].tolist() == pytest.approx([0.25, 0.2])
    assert collapsed["n"].tolist() == pytest.approx([(100**2 + 300**2) / 400, 50])
    assert collapsed["rxx"].tolist() == pytest.approx([0.8, 0.9])


COLLAPSED_MISSING = [c for c in REFERENCE["cases"] if c["rows"] == "collapse" and c["method"] == "individual"]


@pytest.mark.parametrize("case", COLLAPSED_MISSING, ids=[c["name"] for c in COLLAPSED_MISSING])
def test_studies_with_some_rows_missing_artifacts_agree_with_psychmeta(case):
    """Roth et al. (2015) collapsed within publications: one publication gives rxx on 11 of its 12 rows,
    others on none. The cases are among test_agrees_with_psychmeta's; here every column is checked to
    be there and finite, and the missing rxx is seen to be imputed after collapsing (psychmeta's order)."""
    frame, study = rows_of(case)
    assert frame.groupby(study)["rxx"].agg(lambda x: 0 < x.isna().sum() < len(x)).any()
    assert frame.groupby(study)["rxx"].agg(lambda x: x.isna().all()).any()
    table = pm.psychometric_table(frame, options_of(case), study=study).set_index("method")
    row = table.loc["individual"].to_dict()
    assert set(case["expected"]) == set(NUMBERS)
    assert all(np.isfinite(case["expected"][c]) for c in NUMBERS)
    compare(row, case["expected"], case["name"])


@pytest.mark.parametrize("how", ["drop", "mean", "unity"])
def test_a_row_without_a_reliability_takes_its_studys(how):
    """A row without rxx in a study whose other rows give one takes the study's value (whatever
    missing_artifacts says); missing_artifacts is for the studies without any: with ``mean`` the
    n-weighted mean of the studies (collapsed n = sum(n^2) / sum(n)), not of the rows."""
    frame = pd.DataFrame({"study_id": ["a", "a", "b", "c"], "r": [0.3, 0.2, 0.25, 0.35], "n": [100, 300, 80, 60],
                          "rxx": [0.8, np.nan, 0.6, np.nan]})
    options = pm.PsychometricOptions(correction_method="meas", missing_artifacts=how)
    studies = pm.psychometric_analysis(frame, options).studies.set_index("study_id")
    assert studies.loc["a", "A"] ** 2 == pytest.approx(0.8)
    assert studies.loc["a", "n"] == pytest.approx((100**2 + 300**2) / 400)
    if how == "drop":
        assert "c" not in studies.index
    else:
        expected = {"mean": (250 * 0.8 + 80 * 0.6) / 330, "unity": 1.0}[how]
        assert studies.loc["c", "A"] ** 2 == pytest.approx(expected)


@pytest.mark.parametrize("column,value", [("rxx", 1.2), ("ryy", 0.0), ("ux", -0.5)])
def test_invalid_artifacts_raise(column, value):
    frame = pd.DataFrame({"r": [0.3, 0.2], "n": [80, 60], column: [value, 0.8]})
    with pytest.raises(ValueError, match=column):
        pm.psychometric_table(frame)


def test_options_from_config():
    options = pm.PsychometricOptions.from_config({"correction_method": "uvdrr", "credibility_level": 90,
                                                  "intervals": "normal", "reliability": {"WAI": 0.9}}, level=99)
    assert (options.correction_method, options.cred_level, options.conf_level) == ("uvdrr", 0.9, 0.99)
    with pytest.raises(ValueError, match="missing_artifacts"):
        pm.PsychometricOptions(missing_artifacts="impute")


def test_apa_sentence_reports_each_row():
    from alliance_meta.report.psychometric import psychometric_sentence

    table = pm.psychometric_table(dataset("roth_2015"), study="none")
    text = psychometric_sentence(table)
    bare, individual, distribution = (table.set_index("method").loc[m] for m in pm.METHODS)
    assert "k = 240 studies (N = 105,151)" in text
    assert f"r\u0304 = .{round(bare['r_bar'] * 100):02d}" in text
    assert "Correcting the correlations of each of k = 161 studies individually for unreliability" in text
    assert f"\u03c1\u0304 = .{round(individual['rho'] * 100):02d}" in text
    assert f"\u03c1\u0304 = .{round(distribution['rho'] * 100):02d}" in text
    assert "80% credibility interval" in text and "95% CI" in text
    assert "distributions of the reliabilities and of range restriction (interactive method, Case IV)" in text
    meas = psychometric_sentence(pm.psychometric_table(dataset("roth_2015"), pm.PsychometricOptions(
        correction_method="meas"), study="none"))
    assert "distributions of the reliabilities (interactive method)" in meas
    only_bare = psychometric_sentence(pm.psychometric_table(dataset("mcleod_2007")))
    assert "not corrected for unreliability" in only_bare and "\u03c1" not in only_bare
    assert psychometric_sentence(pd.DataFrame(columns=pm.TABLE_COLUMNS)) == ""
    one = psychometric_sentence(pm.psychometric_table(dataset("mcleod_2007").iloc[:1]))
    assert "k = 1 study (N = " in one and "1 studies" not in one


def test_forest_plot_is_written(tmp_path):
    from alliance_meta.plots.psychometric import save_psychometric_forest

    analysis = pm.psychometric_analysis(dataset("gonzalezmule_2014").assign(label=lambda d: d["sample"]),
                                        study="none")
    paths = [tmp_path / "psychometric_forest.png", tmp_path / "psychometric_forest.pdf"]
    save_psychometric_forest(analysis.studies, analysis.to_frame(), paths)
    assert all(path.stat().st_size > 10_000 for path in paths)
    empty = [tmp_path / "empty.png"]
    save_psychometric_forest(None, pm.psychometric_table(dataset("mcleod_2007")), empty)
    assert empty[0].stat().st_size > 1_000


def two_studies_with_reliabilities() -> pd.DataFrame:
    """Two correlations: with t(1) the confidence intervals of the means reach far beyond +/-1."""
    return pd.DataFrame({"sample": ["a", "b"], "r": [0.10, 0.55], "n": [40, 60], "rxx": [0.7, 0.8],
                         "ryy": [0.75, 0.85]})


def test_intervals_beyond_a_correlations_limits_are_said_so_in_the_text():
    from alliance_meta.report.psychometric import psychometric_sentence

    table = pm.psychometric_table(two_studies_with_reliabilities(), study="none")
    assert (table["ci_upper"] > 1).all()  # psychmeta's mean +/- t(k - 1) SE, kept as computed
    text = psychometric_sentence(table)
    assert ("Bounds beyond \u00b11 are given as computed (the mean \u00b1 a quantile times its standard error or SD, "
            "as in psychmeta): with k = 2 studies the confidence intervals say little.") in text
    assert "A corrected mean beyond" not in text
    within = pm.psychometric_table(dataset("gonzalezmule_2014"), study="none")
    assert "beyond \u00b11" not in psychometric_sentence(within)
    # 30 studies of r = .72 with reliabilities of .6-.7: the corrected mean itself passes 1, its CI is narrow
    rng = np.random.default_rng(3)
    low_reliability = pd.DataFrame({"sample": [f"s{i}" for i in range(30)], "r": rng.uniform(0.70, 0.74, 30),
                                    "n": rng.integers(200, 400, 30), "rxx": rng.uniform(0.6, 0.7, 30),
                                    "ryy": rng.uniform(0.6, 0.7, 30)})
    table = pm.psychometric_table(low_reliability, study="none").set_index("method")
    assert table.loc["individual", "rho"] > 1 and table.loc["individual", "ci_upper"] - table.loc[
        "individual", "ci_lower"] < 0.2
    text = psychometric_sentence(table.reset_index())
    assert "A corrected mean beyond \u00b11, the limits of a correlation, means that the reliabilities" in text
    assert "Bounds beyond \u00b11 are given as computed (the mean \u00b1 a quantile times its standard error or SD, " \
           "as in psychmeta)." in text and "say little" not in text


def test_forest_plot_axis_ends_at_the_limits_of_a_correlation():
    import matplotlib.pyplot as plt

    from alliance_meta.plots.forest_options import ForestOptions
    from alliance_meta.plots.psychometric import psychometric_forest

    analysis = pm.psychometric_analysis(two_studies_with_reliabilities().assign(label=lambda d: d["sample"]),
                                        study="none")
    (figure,) = psychometric_forest(analysis.studies, analysis.to_frame())
    axis = figure.axes[0]
    low, high = axis.get_xlim()
    assert -1 <= low < 0 and 0.9 < high <= 1
    diamonds = [patch.get_xy()[:, 0] for patch in axis.patches]
    assert len(diamonds) == 3 and all(x.min() >= low - 1e-12 and x.max() <= high + 1e-12 for x in diamonds)
    texts = " ".join(text.get_text() for text in figure.findobj(plt.Text))
    assert ("The axis ends at ±1, the limits of a correlation. Arrows mark intervals that reach beyond the axis"
            in " ".join(texts.split()))
    plt.close(figure)
    # configured limits (plots.xlim) end the axis elsewhere: the note does not say it ends at the limits of r
    narrow = ForestOptions(xlim=[-0.5, 0.9])
    (figure,) = psychometric_forest(analysis.studies, analysis.to_frame(), options=narrow)
    texts = " ".join(" ".join(text.get_text() for text in figure.findobj(plt.Text)).split())
    assert "Arrows mark intervals that reach beyond the axis" in texts and "The axis ends at" not in texts
    plt.close(figure)


def test_forest_plot_sets_its_statistics_in_italics():
    """APA 2020, 6.46: the summary rows ("Bare-bones, mean observed r, k = 2") and the footnote ("weight
    n\u00b7A\u00b2", "\u03a3n\u00b2/\u03a3n") had their Latin statistics upright, beside the italic ones of the other
    forest plots; k bold italic on the bold row, Greek \u03c1 upright as APA writes it."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.psychometric import psychometric_forest

    analysis = pm.psychometric_analysis(two_studies_with_reliabilities().assign(label=lambda d: d["sample"]),
                                        study="none")
    (figure,) = psychometric_forest(analysis.studies, analysis.to_frame())
    texts = " ".join(" ".join(text.get_text() for text in figure.findobj(plt.Text)).split())
    assert "Individual corrections, mean \u03c1, $\\mathbfit{k}$ = 2" in texts
    assert "Bare-bones, mean observed $r$, $k$ = 2" in texts
    assert "weight $n$\u00b7$A$\u00b2)" in texts and "\u03a3$n$\u00b2/\u03a3$n$" in texts
    assert " k = " not in texts and "n\u00b7A" not in texts
    plt.close(figure)


def test_each_page_of_the_forest_plot_says_arrows_only_where_it_draws_one():
    """A paged PDF: the page of nine studies of r = .30 drew no arrow but its footnote said "Arrows mark intervals
    that reach beyond the axis", because the last page has one (a small study whose corrected r passes 1)."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.forest_options import ForestOptions
    from alliance_meta.plots.psychometric import psychometric_forest

    studies = pd.DataFrame({"sample": [f"s{i}" for i in range(10)], "r": [0.3] * 9 + [0.7], "n": [200] * 9 + [10],
                            "rxx": [0.8] * 9 + [0.6], "ryy": [0.8] * 9 + [0.6]})
    analysis = pm.psychometric_analysis(studies.assign(label=lambda d: d["sample"]), study="none")
    pages = psychometric_forest(analysis.studies, analysis.to_frame(), options=ForestOptions(rows_per_page=5),
                                paged=True)
    drawn = []
    for figure in pages:
        words = " ".join(" ".join(text.get_text() for text in figure.findobj(plt.Text)).split())
        drawn.append((any(line.get_marker() in ("<", ">") for line in figure.axes[0].get_lines()),
                      "Arrows mark intervals that reach beyond the axis" in words))
        plt.close(figure)
    assert drawn == [(False, False), (True, True)]


def test_effect_sizes_frame_with_sheet_columns_of_the_same_names(tmp_path):
    """effect_sizes.csv carries the sheet's inputs (r, n, Spearman rho, ...): the analysis uses r = tanh(yi)
    and the converted n, and its per-study columns do not clash with the sheet's."""
    from alliance_meta.plots.psychometric import save_psychometric_forest

    effect_sizes = pd.DataFrame({"study_id": ["a", "a", "b", "c"], "yi": np.arctanh([0.3, 0.2, 0.25, 0.4]),
                                 "vi": [0.01] * 4, "n": [100, 100, 80, 60], "r": [0.3, np.nan, np.nan, 0.4],
                                 "rho": [np.nan, 0.19, np.nan, np.nan], "weight": ["x"] * 4,
                                 "rxx": [0.9, 0.8, 0.85, np.nan], "ryy": [0.8, 0.8, np.nan, 0.9]})
    data = pm.correlations(effect_sizes)
    analysis = pm.psychometric_analysis(data)
    studies = analysis.studies
    assert list(studies["study_id"]) == ["a"] and studies.columns.is_unique
    assert studies["r_corrected"].iloc[0] == pytest.approx(pm.correct_r_bias(0.25, 100) / np.sqrt(0.85 * 0.8))
    save_psychometric_forest(studies, analysis.to_frame(), [tmp_path / "forest.png"])


def test_workflow_writes_the_psychometric_outputs(tmp_path):
    """The rule on a small sheet (two studies without reliabilities), with a configured default."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    rows = pd.DataFrame({
        "study_id": ["s1", "s2", "s3", "s3", "s4", "s5", "s6"],
        "r": [0.31, 0.12, 0.40, 0.22, 0.05, 0.35, 0.28], "n": [60, 85, 40, 40, 120, 75, 150],
        "modality": ["CBT", "psychodynamic", "CBT", "CBT", "humanistic", "psychodynamic", "CBT"],
        "rater": ["patient", "therapist", "patient", "observer", "patient", "patient", "therapist"],
        "measure": ["WAI", "CALPAS", "WAI", "WAI", "HAq", "WAI", "WAI"],
        "rxx": [0.9, 0.85, np.nan, 0.88, np.nan, np.nan, 0.91], "ryy": [0.8, 0.85, 0.9, 0.9, np.nan, 0.82, 0.87],
    })
    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    rows.to_csv(tmp_path / "data" / "raw" / "studies.csv", index=False)
    (tmp_path / "config" / "config.yaml").write_text("families: [outcome]\npsychometric:\n  reliability: {WAI: 0.9}\n")
    targets = [f"results/outcome/{name}" for name in ("psychometric.csv", "psychometric_moderators.csv",
                                                      "psychometric_artifacts.csv", "psychometric_forest.png")]
    command = [str(Path(sys.executable).parent / "snakemake"), "--snakefile", str(root / "Snakefile"),
               "--directory", str(tmp_path), "--cores", "1", *targets]
    path = os.pathsep.join([str(root / "src"), os.environ.get("PYTHONPATH", "")])  # this checkout's library
    result = subprocess.run(command, capture_output=True, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": path})
    assert result.returncode == 0, result.stdout + result.stderr
    table = pd.read_csv(tmp_path / targets[0])
    assert list(table["method"]) == list(pm.METHODS) and list(table.columns) == list(pm.TABLE_COLUMNS)
    # s3's two rows are averaged; s5 gets WAI's default; s4 (HAq, no rxx, no ryy) is left out
    assert table["k"].tolist() == [6, 5, 6]
    expected = pm.psychometric_table(pm.fill_reliabilities(rows, {"WAI": 0.9}))
    np.testing.assert_allclose(table[NUMBERS].to_numpy(float), expected[NUMBERS].to_numpy(float), rtol=1e-12)
    moderators = pd.read_csv(tmp_path / targets[1])
    assert set(moderators["moderator"]) == {"modality", "rater"}
    assert pd.read_csv(tmp_path / targets[2])["artifact"].tolist() == ["rxx", "ryy"]
    assert (tmp_path / targets[3]).stat().st_size > 10_000


def test_corrected_correlations_that_are_no_correlations_and_an_undefined_ut_are_named():
    """A reliability typed wrongly (0.09 for 0.9) or too low gives corrected correlations beyond 1, and a ux far above 1
    an undefined true-score u ratio: the individual row's note named nothing (the mean silently included 2.46), and
    the artifact-distribution row was NaN with "ut: mean = nan" as its only trace."""
    from alliance_meta.analyses.psychometric import psychometric_analysis

    frame = pd.DataFrame({"study_id": [f"S{i}" for i in range(1, 8)],
                          "r": [0.6, 0.45, 0.3, 0.25, -0.7, 0.2, 0.33], "n": [80, 120, 60, 200, 50, 90, 150],
                          "rxx": [0.2, 0.09, 0.9, 0.88, 0.3, np.nan, 0.91],
                          "ryy": [0.3, 0.85, 0.88, np.nan, 0.3, np.nan, 0.9],
                          "ux": [np.nan, np.nan, 0.1, 0.5, np.nan, np.nan, 2.5]})
    with np.errstate(invalid="ignore"):
        table = psychometric_analysis(frame).to_frame().set_index("method")
    assert ("corrected correlations outside (-1, 1) in S1 (2.46), S2 (1.63), S5 (-2.36): check these studies' rxx, "
            "ryy and ux") in table.loc["individual", "note"]
    assert np.isnan(table.loc["artifact_distribution", "rho"])
    assert ("not estimable: the true-score u ratio is not defined at the mean rxx = 0.619 for S7 (ux = 2.5)"
            in table.loc["artifact_distribution", "note"])
    fine = psychometric_analysis(frame.assign(rxx=0.9, ryy=0.85, ux=np.nan)).to_frame()
    assert not fine["note"].str.contains("outside|not estimable").any()


def test_an_undefined_corrected_correlation_does_not_say_the_mean_includes_it():
    """ux = 5 at rxx = .5 (1 + rxx ux^2 - ux^2 < 0): the study's corrected correlation is not defined and the
    individual row's mean is NaN; its note said "(the mean includes them)"."""
    from alliance_meta.analyses.psychometric import psychometric_analysis

    frame = pd.DataFrame({"study_id": [f"S{i}" for i in range(1, 6)], "r": [0.3, 0.2, 0.25, 0.4, 0.1],
                          "n": [100, 80, 120, 60, 90], "rxx": [0.5, 0.8, 0.9, 0.7, 0.8],
                          "ux": [5, np.nan, np.nan, np.nan, np.nan]})
    with np.errstate(invalid="ignore"):
        row = psychometric_analysis(frame).to_frame().set_index("method").loc["individual"]
    assert np.isnan(row["rho"]) and "S1 (not defined)" in row["note"]
    assert "the mean includes them" not in row["note"] and "the mean is not defined" in row["note"]


def test_an_undefined_ut_is_explained_in_every_moderator_level_by_the_whole_data_set():
    """The Case IV ut distribution comes from all rows (psychmeta's moderated_ads = FALSE), so a level's NaN has
    the whole data set's reason: level b (no ux beyond 1) said "at the mean rxx = 0.888 for  (...)", naming no
    study and a mean rxx the distribution does not use (0.792)."""
    from alliance_meta.analyses.psychometric import psychometric_moderators

    frame = pd.DataFrame({"study_id": [f"S{i}" for i in range(1, 9)], "r": [0.3, 0.2, 0.25, 0.4, 0.1, 0.3, 0.2, 0.35],
                          "n": [100, 80, 120, 60, 90, 70, 110, 50], "rxx": [0.5, 0.6, 0.9, 0.85, 0.88, 0.9, 0.86, 0.9],
                          "ux": [2.5, np.nan, 0.9, np.nan, 0.95, np.nan, np.nan, 0.8],
                          "modality": ["a", "a", "b", "b", "b", "b", "a", "b"]})
    with np.errstate(invalid="ignore"):
        table = psychometric_moderators(frame, ["modality"])
    notes = table.loc[table["method"] == "artifact_distribution", "note"].tolist()
    assert len(notes) == 2
    for note in notes:
        assert "not defined at the mean rxx = 0.792 for S1 (ux = 2.5)" in note, note


def test_the_fit_analysis_prints_correlations_and_studies():
    """repr said "k = 6 correlations" where the table's k counts the 3 studies (each one mean correlation)."""
    import alliance_meta as am

    rows = pd.DataFrame({"study_id": ["a", "a", "b", "c", "c", "c"], "yi": np.arctanh([0.3, 0.2, 0.25, 0.1, 0.4, 0.3]),
                         "n": [50, 50, 80, 120, 120, 120]})
    rows["vi"] = 1 / (rows["n"] - 3)
    analysis = am.psychometric(am.fit(rows, metric="z"), {})
    assert analysis.to_frame()["k"].iloc[0] == 3
    assert repr(analysis) == "<PsychometricFitAnalysis: 6 correlations of 3 studies; bare_bones>"


def test_ux_above_1_is_named_in_the_rows_that_correct_for_it():
    """ux is sample SD / reference SD; a ratio typed the other way round (1.5 for 0.67) was taken silently as range
    enhancement, and the corrections lowered the correlations it should have raised. The rows that use ux name
    the studies; a Case I analysis (correction_method: meas) does not use ux and says nothing."""
    from alliance_meta.analyses.psychometric import PsychometricOptions, psychometric_analysis

    frame = pd.DataFrame({"study_id": ["S1", "S1", "S2", "S3", "S4", "S5"], "r": [0.3, 0.2, 0.25, 0.4, 0.1, 0.3],
                          "n": [100, 80, 120, 60, 90, 70], "rxx": [0.85, 0.85, 0.9, 0.8, 0.88, 0.9],
                          "ux": [1.5, 1.5, 0.8, np.nan, 1.3, np.nan]})
    table = psychometric_analysis(frame).to_frame().set_index("method")
    for method in ("individual", "artifact_distribution"):
        assert "ux above 1 in S1 (1.5), S4 (1.3)" in table.loc[method, "note"], table.loc[method, "note"]
    assert "ux above" not in table.loc["bare_bones", "note"]
    meas = psychometric_analysis(frame, PsychometricOptions(correction_method="meas")).to_frame()
    assert not meas["note"].str.contains("ux above").any()
    assert not psychometric_analysis(frame.assign(ux=0.8)).to_frame()["note"].str.contains("ux above").any()


def test_the_report_names_studies_to_check_beside_the_individual_row():
    """A corrected correlation of 1.28 (r = .95, rxx = .7, ryy = .8) entered the mean and a ux of 1.5 lowered the
    correlations, and the report's paragraph said neither: only the table's note column did."""
    from alliance_meta.report.psychometric import psychometric_sentence

    frame = pd.DataFrame({"study_id": ["S1", "S2", "S3", "S4", "S5"], "r": [0.95, 0.2, 0.25, 0.3, 0.1],
                          "n": [100, 80, 120, 60, 90], "rxx": [0.7, 0.85, 0.9, 0.8, 0.88], "ryy": 0.8,
                          "ux": [np.nan, 1.5, np.nan, 0.8, np.nan]})
    text = psychometric_sentence(pm.psychometric_table(frame))
    assert "Corrected correlations outside (\u22121, 1) in S1 (1.28)" in text and "the mean includes them" in text
    assert "The range-restriction ratio ux is above 1 in S2 (1.5)" in text
    plain = psychometric_sentence(pm.psychometric_table(frame.assign(r=0.3, ux=0.8)))
    assert "outside" not in plain and "above 1" not in plain


def test_an_artifact_distribution_sd_rho_that_is_not_defined_has_no_credibility_interval():
    """ut above 1 (ux = 1.5) makes the Case IV correction undefined for large r within r_bar -/+ 4 SD_res (psychmeta's
    integrate() stops with "non-finite function value"): SD_rho was NaN but the credibility interval was
    [rho, rho], a width of 0 as if the true correlations did not vary, with no note, and the report printed
    "SD_rho = -, 80% credibility interval [-, -]; ... accounted for -% of the observed variance"."""
    from alliance_meta.report.psychometric import psychometric_sentence

    frame = pd.DataFrame({"study_id": ["S1", "S2", "S3", "S4", "S5"], "r": [0.95, 0.2, 0.25, 0.3, 0.1],
                          "n": [100, 80, 120, 60, 90], "rxx": [0.7, 0.85, 0.9, 0.8, 0.88], "ryy": 0.8,
                          "ux": [np.nan, 1.5, np.nan, 0.8, np.nan]})
    table = pm.psychometric_table(frame)
    row = table.set_index("method").loc["artifact_distribution"]
    assert np.isfinite(row["rho"]) and np.isnan(row["sd_rho"])
    assert np.isnan(row["cr_lower"]) and np.isnan(row["cr_upper"])
    assert "SD_rho not estimable: the range-restriction correction (ut above 1) is not defined" in row["note"]
    text = psychometric_sentence(table)
    assert "[\u2013, \u2013]" not in text and "\u2013%" not in text and "SD_\u03c1 = \u2013" not in text
    assert "SD_\u03c1 and its credibility interval were not estimable" in text


def test_a_custom_risk_of_bias_tool_orders_rob_levels_as_subgroups_csv():
    """With a custom tool (good, fair, poor), psychometric_moderators.csv listed rob_overall's levels sorted
    (fair, good, poor) while subgroups.csv lists them in the tool's order."""
    tool = {"tool": "custom", "domains": ["selection"], "levels": ["good", "fair", "poor"]}
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"r": rng.uniform(0.1, 0.4, 9), "n": rng.integers(40, 200, 9), "rxx": 0.85, "ryy": 0.8,
                          "rob_overall": ["poor", "fair", "good"] * 3})
    table = pm.psychometric_moderators(frame, ["rob_overall"], study="none", risk_of_bias=tool)
    assert list(dict.fromkeys(table["level"])) == ["good", "fair", "poor"]


def test_results_and_word_table_say_why_the_individual_row_has_fewer_studies():
    """k = 14 individually corrected beside k = 16 bare-bones studies was left unexplained in the Results and
    the Word table (only psychometric.csv's note said that 2 studies without rxx were left out)."""
    from alliance_meta.report.psychometric import psychometric_sentence
    from alliance_meta.report.tables import manuscript_table

    sheet = pd.DataFrame({"study_id": list("abcdef"), "r": [0.2, 0.3, 0.1, 0.25, 0.15, 0.05],  # SIMULATED
                          "n": [100, 80, 120, 60, 90, 150], "rxx": [0.8, 0.9, np.nan, 0.85, 0.9, np.nan], "ryy": 0.8})
    table = pm.psychometric_table(sheet)
    assert "individually for unreliability (2 of 6 studies without rxx left out), the mean" in \
        psychometric_sentence(table)
    assert "Individual corrections: 2 of 6 studies without rxx left out." in manuscript_table(
        "psychometric", table, "z").note
    complete = pm.psychometric_table(sheet.assign(rxx=0.85))
    assert "left out" not in psychometric_sentence(complete) + manuscript_table("psychometric", complete, "z").note


def test_a_constant_reliability_has_an_sd_of_exactly_0():
    """psychometric_artifacts.csv gave sd_reliability 1.36e-16 for rxx .83 in every row (n 127, 132, 273): the
    n-weighted mean of equal values differs from them in the last bit. Other values' variances are unchanged."""
    n = np.array([127.0, 132.0, 273.0])
    constant = pm.artifact_distribution(np.full(3, 0.83), n, "rxx")
    assert constant.sd_reliability == 0.0 and constant.var_q == 0.0
    assert pm.weighted_variance([0.83], [127.0]) == 0.0
    values = np.array([0.83, 0.9, 0.75])
    mean = np.sum(n * values) / n.sum()
    assert pm.weighted_variance(values, n) == np.sum(n * (values - mean) ** 2) / n.sum() * 3 / 2


def test_the_studies_left_out_are_columns_the_report_reads_not_a_note_it_parses(tmp_path):
    """The report found the studies the individual corrections left out by the note's "left out" wording: the
    table carries them as data (k_left_out, left_out_lacking), read back from the CSV, and the Results and the
    Word table's note say what those columns say, whatever the note's wording."""
    from alliance_meta.io import read_table, write_table
    from alliance_meta.report.psychometric import psychometric_sentence
    from alliance_meta.report.tables import manuscript_table

    sheet = pd.DataFrame({"study_id": list("abcdef"), "r": [0.2, 0.3, 0.1, 0.25, 0.15, 0.05],  # SIMULATED
                          "n": [100, 80, 120, 60, 90, 150], "rxx": [0.8, 0.9, np.nan, 0.85, 0.9, np.nan],
                          "ryy": [0.8, 0.8, 0.8, np.nan, 0.8, 0.8]})
    write_table(pm.psychometric_table(sheet), tmp_path / "psychometric.csv")
    table = read_table(tmp_path / "psychometric.csv")
    rows = table.set_index("method")
    assert rows.loc["individual", "k_left_out"] == 3 and rows.loc["individual", "left_out_lacking"] == "rxx ryy"
    assert rows.loc["bare_bones", "k_left_out"] == rows.loc["artifact_distribution", "k_left_out"] == 0
    assert "3 of 6 studies without rxx or ryy left out" in rows.loc["individual", "note"]  # the same words
    reworded = table.assign(note=table["note"].str.replace("left out", "not corrected"))
    assert "(3 of 6 studies without rxx or ryy left out)" in psychometric_sentence(reworded)
    assert "Individual corrections: 3 of 6 studies without rxx or ryy left out." in manuscript_table(
        "psychometric", reworded, "z").note
    none = table.assign(k_left_out=0)  # the note's wording alone says nothing
    assert "left out)" not in psychometric_sentence(none)
    assert "Individual corrections" not in manuscript_table("psychometric", none, "z").note
    earlier = table.drop(columns=["k_left_out", "left_out_lacking"])  # an earlier run's table
    assert "left out)" not in psychometric_sentence(earlier)


def test_the_studies_table_is_the_corrected_studies_or_an_empty_table_with_a_study_id():
    corrected = pm.psychometric_analysis(dataset("gonzalezmule_2014"),
                                         pm.PsychometricOptions(correction_method="uvirr"), study="none")
    assert corrected.studies_table() is corrected.studies and len(corrected.studies) > 0
    bare = pm.psychometric_analysis(dataset("gonzalezmule_2014").drop(columns=["rxx", "ryy", "ux"], errors="ignore"),
                                    study="none")
    assert bare.studies is None
    table = bare.studies_table()
    assert list(table.columns) == ["study_id"] and table.empty
