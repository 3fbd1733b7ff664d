"""Smoke tests of the forest plot and of the pool / forest_plot workflow scripts."""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib import image
from matplotlib.text import Text

from alliance_meta.io import read_table, write_table
from alliance_meta.models.univariate import CONTRACT_COLUMNS, fit
from alliance_meta.plots.forest import save_forest_plot, study_labels

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


def simulated_family(k: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = rng.integers(25, 400, k)
    yi = rng.normal(0.28, 0.12, k) + rng.normal(0, 1 / np.sqrt(n - 3))
    return pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(k)], "yi": yi, "vi": 1 / (n - 3), "n": n,
                         "authors": [f"Author{i} et al." for i in range(k)], "year": rng.integers(1985, 2020, k),
                         "label": [""] * k})


@pytest.mark.parametrize("metric", ["z", "smd", "log_or"])
def test_forest_plot_writes_pdf_png_svg(tmp_path, metric):
    data = simulated_family()
    pooled = fit(data.yi, data.vi, "REML", "knha", metric=metric).as_row()
    suffixes = ("png", "pdf", "svg") if metric == "z" else ("png",)
    paths = [tmp_path / f"forest.{suffix}" for suffix in suffixes]
    save_forest_plot(data, pooled, metric, paths)
    assert all(path.stat().st_size > 1000 for path in paths)
    height, width = image.imread(paths[0]).shape[:2]
    assert height > width  # one row per study: a tall figure at k = 40
    if metric == "z":
        assert "Correlation" in paths[2].read_text()  # SVG keeps text as text


def test_forest_plot_of_an_empty_family(tmp_path):
    path = tmp_path / "forest.png"
    save_forest_plot(simulated_family().iloc[:0], {}, "z", [path])
    assert path.stat().st_size > 0


def test_study_labels_fall_back_to_authors_and_id():
    data = pd.DataFrame({"study_id": ["a", "b", "c"], "label": ["Smith 2001", "", np.nan],
                         "authors": ["x", "Jones", np.nan], "year": [2001, 2005, np.nan]})
    assert study_labels(data) == ["Smith 2001", "Jones (2005)", "c"]


def run_script(name: str, **namespace) -> None:
    runpy.run_path(str(SCRIPTS / name), init_globals={"snakemake": SimpleNamespace(**namespace)})


@pytest.mark.parametrize("k", [40, 0])
def test_pool_and_forest_scripts(tmp_path, k):
    analysis = tmp_path / "analysis.csv"
    write_table(simulated_family()[:k], analysis)
    pooled = tmp_path / "pooled.csv"
    pooling = {"methods": ["common", "DL", "REML"], "tests": ["z", "knha"], "knha_adhoc": False, "level": 95}
    run_script("pool.py", input=[str(analysis)], output=[str(pooled)], log=[str(tmp_path / "pool.log")],
               params=SimpleNamespace(pooling=pooling, multilevel={"robust": True, "profile": True},
                                      fit={"method": "REML", "dependence": "aggregate", "rho": 0.5,
                                           "aggregate_method": "gls", "metric": "z"}))
    table = read_table(pooled)
    assert list(table.columns[: len(CONTRACT_COLUMNS)]) == list(CONTRACT_COLUMNS)
    assert len(table) == (6 if k else 0)
    outputs = [str(tmp_path / f"forest.{suffix}") for suffix in ("pdf", "png", "svg")]
    run_script("forest_plot.py", input=SimpleNamespace(data=str(analysis), effects=str(analysis), pooled=str(pooled)),
               output=outputs,
               log=[str(tmp_path / "forest.log")], params=SimpleNamespace(main_method="REML", metric="z", level=95))
    assert all(Path(path).stat().st_size > 0 for path in outputs)
    if k == 0:
        assert "k = 0" in (tmp_path / "pool.log").read_text()


def test_a_three_level_fit_is_named_as_one_with_its_test_and_variances():
    import alliance_meta as am
    from alliance_meta.plots.forest import footnote, model_name

    frame = pd.DataFrame({"study_id": ["a", "a", "b", "c", "c", "d"], "yi": [0.2, 0.3, 0.1, 0.4, 0.35, 0.25],
                          "vi": [0.01, 0.012, 0.02, 0.015, 0.01, 0.02]})  # SIMULATED
    row = am.fit(frame, dependence="multilevel", test="cr2", metric="z").to_frame().iloc[0].to_dict()
    assert model_name(row) == "Three-level model (REML)"
    note = footnote(row, 95).replace("\u00a0", " ")
    assert "(CR2 cluster-robust)" in note and "$\\mathrm{\\sigma}^2$ between studies = " in note and "tau" not in note
    univariate = am.fit(frame, test="knha", metric="z").to_frame().iloc[0].to_dict()
    assert model_name(univariate) == "Random-effects model (REML)" and "(Knapp\u2013Hartung)" in footnote(univariate, 95)



def test_the_summary_rows_estimator_is_defined_in_the_footnote():
    """"Random-effects model (REML)" had REML defined nowhere in the figure (a figure stands alone, APA 2020, sec.
    7.26), and another estimator was named in words of the forest plot's own (METHOD_NAMES) beside the report's: the
    row abbreviates every estimator and the footnote defines it, in the words of the Methods and the pooled table."""
    import alliance_meta as am
    from alliance_meta.engines.heterogeneity import METHODS
    from alliance_meta.plots.forest import footnote, forest_plot, model_name
    from alliance_meta.report.tables import pooled_table
    from alliance_meta.wording import ESTIMATOR_NAMES

    frame = pd.DataFrame({"study_id": list("abcd"), "yi": [0.2, 0.3, 0.1, 0.4],
                          "vi": [0.01, 0.012, 0.02, 0.015]})  # SIMULATED
    for method in METHODS:
        row = {"method": method, "test": "z"}
        assert model_name(row) == f"Random-effects model ({method})"
        assert f" {method} = {ESTIMATOR_NAMES[method]}." in footnote(row, 95)
    assert "common" not in footnote({"method": "common", "test": "z"}, 95)  # "Common-effect model": words
    figure = forest_plot(frame, am.fit(frame, method="DL", metric="z").to_frame().iloc[0].to_dict(), "z")
    texts = " ".join(" ".join(text.get_text().split()) for text in figure.findobj(Text))
    plt.close(figure)
    assert "Random-effects model (DL)," in texts and "DL = DerSimonian\u2013Laird." in texts
    pooled = am.fit(frame, method="REML", metric="z").to_frame()
    assert "REML = restricted maximum likelihood (estimator" in pooled_table(pooled, "z").note  # the same words


def test_a_three_level_footnote_gives_only_the_variances_the_data_identify():
    """With one effect size per study under dependence: multilevel, the footnote read "sigma^2 between studies =
    0.002, within studies = 0.002" (REML's arbitrary even split) where the Results and the pooled table say the two
    are not separately identified; with one study of several effect sizes, sigma^2 between fixed at 0 read as an
    estimate."""
    import alliance_meta as am
    from alliance_meta.plots.forest import footnote

    one_each = pd.DataFrame({"study_id": list("abcde"), "yi": [0.2, 0.45, 0.1, 0.4, 0.25],
                             "vi": [0.01, 0.012, 0.02, 0.015, 0.01]})  # SIMULATED
    row = am.fit(one_each, dependence="multilevel", metric="z").to_frame().iloc[0].to_dict()
    note = footnote(row, 95, metric="z").replace("\u00a0", " ")
    assert f"$\\mathrm{{\\tau}}^2$ = {row['tau2']:.3f} (Fisher's $z$), the sum of $\\mathrm{{\\sigma}}^2$ between and within " \
           "studies (one " \
           "effect size per study: not separately identified)" in note
    assert "$\\mathrm{\\sigma}^2$ between studies =" not in note
    one_study = pd.DataFrame({"study_id": ["a"] * 4, "yi": [0.2, 0.45, 0.1, 0.4], "vi": [0.01, 0.012, 0.02, 0.015]})
    row = am.fit(one_study, dependence="multilevel", metric="z").to_frame().iloc[0].to_dict()
    note = footnote(row, 95, metric="z").replace("\u00a0", " ")
    assert (f"$\\mathrm{{\\sigma}}^2$ between studies fixed at 0 (one study), within the study = {row['sigma2_within']:.3f} "
            "(Fisher's $z$)") in note
    assert "(rows of the three-level model, 1 study;" in note  # not "1 studies"

def test_the_pooled_row_says_what_k_counts_as_the_results_do():
    """A three-level forest plot's diamond read "Three-level model (REML), k = 6" (effect sizes) beside the Results'
    "k = 4 studies (6 effect sizes)"; an aggregated one "k = 4" where the moderator plots say "k = 4 studies"."""
    import alliance_meta as am
    from alliance_meta.plots.forest import forest_plot

    frame = pd.DataFrame({"study_id": ["a", "a", "b", "c", "c", "d"], "yi": [0.2, 0.3, 0.1, 0.4, 0.35, 0.25],
                          "vi": [0.01, 0.012, 0.02, 0.015, 0.01, 0.02]})  # SIMULATED
    three_level = am.fit(frame, dependence="multilevel", metric="z")
    univariate = am.fit(frame, metric="z")
    k = "$\\mathbfit{k}$"  # italic as every statistic, bold as the row
    for fitted, label in [(three_level, f"Three-level model (REML), {k} = 6 effect sizes in 4 studies"),
                          (univariate, f"Random-effects model (REML), {k} = 4 studies")]:
        data = frame if fitted is three_level else fitted.composites()
        figure = forest_plot(data, fitted.to_frame().iloc[0].to_dict(), "z")
        texts = " ".join(" ".join(text.get_text().split()) for text in figure.findobj(Text))
        assert label in texts
        plt.close(figure)


def test_footnote_rounds_heterogeneity_as_the_report_and_keeps_each_statistic_on_one_line():
    """The footnote gave tau^2 = 0.0113 and I^2 = 56% where the report's table and Results give 0.011 (Fisher's z)
    and 56.2%; and the wrapped footnote broke "tau^2 / = 0.0077" across lines."""
    from alliance_meta.plots.forest import footnote
    from alliance_meta.report.tables import manuscript_table

    row = {"method": "REML", "test": "z", "k": 125, "estimate": 0.3, "se": 0.01, "ci_lower": 0.28, "ci_upper": 0.32,
           "pi_lower": 0.1, "pi_upper": 0.5, "tau2": 0.011349, "i2": 56.2189, "q": 273.36, "q_df": 124, "q_p": 1e-9}
    note = footnote(row, 95, metric="z")  # z in italics, as the axis labels write it (it was upright)
    assert "$\\mathrm{\\tau}^2$\u00a0=\u00a00.011 (Fisher's $z$)" in note and "$I^2$\u00a0=\u00a056.2%" in note
    table = manuscript_table("pooled", pd.DataFrame([{**row, "h2": 2.3, "tau2_ci_lower": 0.0, "tau2_ci_upper": 0.1}]), "z")
    cells = " ".join(cell for row in table.rows for cell in row)
    assert "0.011" in cells and "56.2" in cells


def test_a_common_effect_footnote_gives_no_tau2_estimate():
    """pooling.main_method: common wrote "tau^2 = 0.000 (Hedges' g)" in the footnote: what the model assumes to be 0."""
    from alliance_meta.plots.forest import footnote

    row = {"test": "z", "k": 5, "estimate": 0.3, "se": 0.01, "ci_lower": 0.28, "ci_upper": 0.32, "pi_lower": 0.28,
           "pi_upper": 0.32, "tau2": 0.0, "i2": 28.5, "q": 5.6, "q_df": 4, "q_p": 0.23}
    for method in ("common", "MH", "Peto"):
        note = footnote({**row, "method": method}, 95, metric="log_or").replace("\u00a0", " ")
        assert "$\\mathrm{\\tau}^2$ assumed to be 0 (common-effect model)" in note and "0.000" not in note
        assert "$I^2$ = 28.5%" in note
    assert "$\\mathrm{\\tau}^2$ = 0.000" in footnote({**row, "method": "DL"}, 95, metric="log_or").replace("\u00a0", " ")


def test_one_study_has_no_prediction_interval_or_heterogeneity_test():
    """With one study the forest plot drew a prediction interval (the CI again) and "Q(0) = 0.00, p = 1.000"."""
    from alliance_meta.plots.forest import footnote, summary_rows, ForestOptions

    row = {"method": "REML", "test": "z", "k": 1, "estimate": 0.31, "se": 0.11, "ci_lower": 0.09, "ci_upper": 0.53,
           "pi_lower": 0.09, "pi_upper": 0.53, "tau2": 0.0, "i2": 0.0, "q": 0.0, "q_df": 0, "q_p": 1.0}
    assert [r.kind for r in summary_rows("Random-effects model (REML), k = 1", row, "z", ForestOptions())] == ["overall"]
    note = footnote(row, 95, metric="z")
    assert "Heterogeneity: not estimable from one study." in note and "Q(" not in note and "tau" not in note
    two = {**row, "k": 2, "q_df": 1, "q": 1.5, "q_p": 0.22, "pi_lower": -0.2, "pi_upper": 0.8}
    assert [r.kind for r in summary_rows("x", two, "z", ForestOptions())] == ["overall", "interval"]
    assert "$Q$(1)" in footnote(two, 95, metric="z").replace("\u00a0", " ")


def test_the_footnote_names_the_test_the_diamond_really_has():
    """pooling.tests: [knha] with one study: pooled.csv's row is knha, but metafor (and the pipeline) switch to a
    Wald z interval at k = 1 (the row's note says so); the footnote and the pooled table's note said
    Knapp-Hartung. Under pooling.knha_adhoc the knha row is the ad hoc variant, which the table's note names."""
    import alliance_meta as am
    from alliance_meta.plots.forest import footnote
    from alliance_meta.report.tables import manuscript_table

    one = am.fit([0.33], [0.0068], test="knha").to_frame().iloc[0].to_dict()
    assert one["test"] == "knha" and "Wald (z) test used" in one["note"]
    assert "95% CI (Wald)" in footnote(one, 95) and "Knapp" not in footnote(one, 95)
    table = manuscript_table("pooled", pd.DataFrame([one]), "z")
    assert "With k = 1 the knha rows have Wald (z) CIs" in table.note
    two = am.fit([0.2, 0.3], [0.01, 0.02], test="knha").to_frame().iloc[0].to_dict()
    assert "95% CI (Knapp\u2013Hartung)." in footnote(two, 95)
    assert "Wald (z) CIs" not in manuscript_table("pooled", pd.DataFrame([two]), "z").note
    adhoc = {**two, "note": "Knapp-Hartung ad hoc: scale factor not below 1"}  # pooled.csv's knha row, knha_adhoc
    assert "95% CI (Knapp\u2013Hartung, ad hoc variant)." in footnote(adhoc, 95)


@pytest.mark.parametrize("r_low,r_high", [(-0.7, 0.99), (-0.99, 0.99), (0.0, 0.97), (-0.97, 0.3)])
def test_fisher_z_axis_reaching_beyond_r_of_09_has_ticks_over_its_whole_range(r_low, r_high):
    """r ticks on the Fisher-z axis: r = .9 lies at z = 1.47 and .99 at 2.65, so the round r ticks (+-.5, +-1: 1
    is off the axis) left everything beyond .5 unlabelled. Now the axis has a labelled tick beyond .9 where it
    reaches there, no stretch without a tick of more than about a third of the axis, and no two labels touching."""
    from alliance_meta.plots.forest_draw import ticks
    from alliance_meta.plots.forest_options import ForestOptions

    low, high = np.arctanh(r_low) - 0.05, np.arctanh(r_high) + 0.05
    positions, labels = ticks(low, high, "z", ForestOptions())
    values = np.tanh(positions)
    width = high - low
    edges = np.concatenate([[low], positions, [high]])
    assert np.max(np.diff(edges)) <= 0.36 * width, (labels, np.diff(edges) / width)
    assert np.min(np.diff(positions)) >= 0.08 * width, labels
    for side, end in ((1, r_high), (-1, r_low)):
        if abs(end) > 0.9:
            assert (side * values > 0.9 - 1e-9).any(), labels


def test_fisher_z_ticks_within_r_of_09_are_unchanged():
    """An axis within |r| = .9 on a side (every demo forest plot) keeps MaxNLocator's round r ticks there."""
    from matplotlib.ticker import MaxNLocator

    from alliance_meta.plots.forest_draw import ticks
    from alliance_meta.plots.forest_options import ForestOptions

    for r_low, r_high in ((-0.2, 0.6), (-0.5, 0.85), (-0.3, 0.9), (-0.89, 0.7), (-0.6, 0.97)):
        low, high = np.arctanh(r_low), np.arctanh(r_high)
        positions, _ = ticks(low, high, "z", ForestOptions())
        # of the axis's ends as the plot has them: tanh(arctanh(.9)) is .9 give or take the last bit, which decides
        # between steps of .2 and .25 for -.3 to .9, and differs between CPUs (numpy's SIMD tanh, arctanh)
        round_ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(np.tanh(low), np.tanh(high))
        round_ticks = round_ticks[(np.arctanh(np.clip(round_ticks, -0.999, 0.999)) >= low - 1e-9)
                                  & (np.arctanh(np.clip(round_ticks, -0.999, 0.999)) <= high + 1e-9)]
        values = np.tanh(positions)
        if r_high <= 0.9:
            np.testing.assert_allclose(values, round_ticks, atol=1e-9)
        else:  # the upper side gains ticks beyond the round ones; the lower side keeps its own
            np.testing.assert_allclose(values[: len(round_ticks)], round_ticks, atol=1e-9)
            assert values.max() > 0.9


def test_labels_have_one_space_between_words():
    """A double space typed in ``authors`` or ``label`` stayed in the plots' labels, the analysis' ``label``
    column and the Word table of study characteristics; the sheet's cells keep it."""
    from alliance_meta.inputs.effect_sizes import default_labels
    from alliance_meta.plots.risk_of_bias import study_names
    from alliance_meta.report.tables import study_characteristics_table

    data = pd.DataFrame({"study_id": ["a", "b"], "authors": ["Simulated study  Jones", " Simulated\tLee "],
                         "year": [2005, np.nan], "label": ["", "Lee  trial"]})  # SIMULATED
    assert study_labels(data) == ["Simulated study Jones (2005)", "Lee trial"]
    assert study_labels(data, "authors_year") == study_names(data) == ["Simulated study Jones (2005)", "Simulated Lee"]
    assert list(default_labels(data)) == ["Simulated study Jones (2005)", "Simulated Lee"]
    table = study_characteristics_table(data.assign(k_effect_sizes=1, estimate=0.3, ci_lower=0.1, ci_upper=0.5),
                                        "z")
    assert [row[0] for row in table.rows] == ["Simulated study Jones", "Simulated Lee"]


def test_studies_of_the_same_authors_and_year_are_told_apart():
    """Two studies (ids "1" and "01") of the same authors and year were both "Smith et al. (2004)" in every forest
    plot and the study characteristics table: now 2004a and 2004b (APA 2020, 8.19) in the order of their study_id,
    whatever the order of the rows (the table sorts by year), the same in each level of a moderator forest plot;
    the rows of one study keep one name."""
    from alliance_meta.analyses.moderators import subgroup_fits
    from alliance_meta.inputs.effect_sizes import default_labels
    from alliance_meta.plots.forest import moderator_forest_plot
    from alliance_meta.report.tables import study_characteristics_table

    data = pd.DataFrame({"study_id": ["1", "01", "2", "1", "3", "4"],  # SIMULATED
                         "authors": ["Simulated Smith et al.", "Simulated  Smith et al.", "Simulated Lee",
                                     "Simulated Smith et al.", "Simulated Lee", "Simulated Lee"],
                         "year": [2004, 2004, 2010, 2004, np.nan, np.nan],
                         "yi": [0.3, 0.1, 0.25, 0.2, 0.35, 0.15], "vi": [0.01, 0.012, 0.011, 0.009, 0.01, 0.013],
                         "modality": ["CBT", "other", "CBT", "CBT", "other", "CBT"]})
    names = ["Simulated Smith et al. (2004b)", "Simulated Smith et al. (2004a)", "Simulated Lee (2010)",
             "Simulated Smith et al. (2004b)", "Simulated Lee (n.d.-a)", "Simulated Lee (n.d.-b)"]
    assert study_labels(data, "authors_year") == study_labels(data) == list(default_labels(data)) == names
    overall = fit(data.yi, data.vi, "REML", "z").as_row()
    figure = moderator_forest_plot(data, "modality", subgroup_fits(data, "modality", "z"), overall, "z")[0]
    drawn = [t.get_text() for t in figure.findobj(Text) if "Smith" in t.get_text()]
    plt.close(figure)
    assert sorted(drawn) == sorted(name for name in names if "Smith" in name)  # 2004b in the level "other"
    assert study_labels(data[::-1], "authors_year") == names[::-1]
    studies = data.drop_duplicates("study_id").assign(k_effect_sizes=1, estimate=0.3, ci_lower=0.1, ci_upper=0.5)
    table = study_characteristics_table(studies, "z")
    assert [row[:2] for row in table.rows] == [["Simulated Smith et al.", "2004b"], ["Simulated Smith et al.", "2004a"],
                                              ["Simulated Lee", "2010"], ["Simulated Lee", "n.d.-a"],
                                              ["Simulated Lee", "n.d.-b"]]


def test_namesakes_are_found_as_the_sheet_compares_two_citations():
    """The sheet takes "SMITH et al." and "Smith et al." for one citation (codebook.citation_key: case and spacing
    do not count), but the letters compared them as written: the study's "SMITH et al." row was "(2004)" beside its
    "Smith et al. (2004a)" row, and two studies of "Smith" and "smith" (2004) were both "(2004)"."""
    data = pd.DataFrame({"study_id": ["1", "1", "2", "3", "4"],  # SIMULATED
                         "authors": ["Simulated Smith et al.", "SIMULATED SMITH et al.", "Simulated Smith et al.",
                                     "Simulated Lee", "simulated lee"], "year": [2004, 2004, 2004, 2010, 2010]})
    assert study_labels(data, "authors_year") == [
        "Simulated Smith et al. (2004a)", "SIMULATED SMITH et al. (2004a)", "Simulated Smith et al. (2004b)",
        "Simulated Lee (2010a)", "simulated lee (2010b)"]


def converted_namesakes(tmp_path) -> dict[str, dict[str, pd.DataFrame]]:
    """The files convert_effect_sizes.py writes for a sheet with three studies of "Simulated Smith et al." (2004):
    ids 1 and 2 in the outcome family (2 without a modality and a reliability), 3 in the dropout family; and
    "Simulated Lee" (2010, no namesake). SIMULATED. {family: {"effect_sizes" | "effects" | "analysis": frame}}."""
    sheet = pd.DataFrame({"study_id": ["1", "1", "2", "3", "4"],
                          "family": ["outcome", "outcome", "outcome", "dropout", "outcome"],
                          "authors": ["Simulated Smith et al."] * 4 + ["Simulated Lee"],
                          "year": [2004, 2004, 2004, 2004, 2010], "r": [0.3, 0.2, 0.25, None, 0.1],
                          "n": [80, 80, 60, None, 70], "d": [None, None, None, 0.3, None],
                          "n1": [None, None, None, 25, None], "n2": [None, None, None, 25, None],
                          "rxx": [0.8, 0.8, None, None, 0.85], "modality": ["CBT", "CBT", None, "CBT", "other"]})
    write_table(sheet, tmp_path / "sheet.csv")
    families = ("outcome", "dropout")
    paths = {family: {name: tmp_path / f"{family}_{name}.csv" for name in ("effect_sizes", "effects", "analysis")}
             for family in families}
    run_script("convert_effect_sizes.py", input=[str(tmp_path / "sheet.csv")],
               output=SimpleNamespace(converted=str(tmp_path / "converted.csv"),
                                      **{name: [str(paths[family][name]) for family in families]
                                         for name in ("effect_sizes", "effects", "analysis")}),
               log=[str(tmp_path / "convert.log")],
               params=SimpleNamespace(metric={"outcome": "z", "dropout": "smd"}, families=list(families),
                                      dependence="aggregate", method="gls", rho=0.5))
    return {family: {name: read_table(path) for name, path in files.items()} for family, files in paths.items()}


def test_conversion_writes_each_row_s_citation_year_for_every_family_file(tmp_path):
    """data/processed/effect_sizes.csv and each family's effect_sizes, effects and analysis files carry the year
    as the whole sheet cites it; the family files leave out sheet_row, as before."""
    files = converted_namesakes(tmp_path)
    assert read_table(tmp_path / "converted.csv")["citation_year"].tolist() == ["2004a", "2004a", "2004b", "2004c",
                                                                                 "2010"]
    assert files["outcome"]["analysis"]["citation_year"].tolist() == ["2004a", "2004b", "2010"]
    assert files["outcome"]["effects"]["citation_year"].tolist() == ["2004a", "2004a", "2004b", "2010"]
    assert all(frame["citation_year"].tolist() == ["2004c"] and "sheet_row" not in frame
               for frame in files["dropout"].values())


def test_a_moderator_forest_plot_cites_a_study_as_the_sheet_does(tmp_path):
    """The moderator forest plot leaves out the studies without a value of the moderator, and worked out the
    letters of those it kept: Smith et al.'s study 1 was "(2004)" there, its namesake 2 having no modality, and
    "(2004a)" in the main forest plot. The letters are decided once, over the whole sheet, at conversion."""
    from alliance_meta.analyses.moderators import aggregate_within, subgroup_fits
    from alliance_meta.plots.forest import ForestOptions, moderator_forest_plot

    outcome = converted_namesakes(tmp_path)["outcome"]
    assert study_labels(outcome["analysis"], "authors_year") == [
        "Simulated Smith et al. (2004a)", "Simulated Smith et al. (2004b)", "Simulated Lee (2010)"]
    data = aggregate_within(outcome["effect_sizes"], ("modality",))[0]
    assert data["study_id"].tolist() == ["1", "4"]
    overall = fit(data.yi, data.vi, "REML", "z").as_row()
    figure = moderator_forest_plot(data, "modality", subgroup_fits(data, "modality", "z"), overall, "z",
                                   options=ForestOptions(labels="authors_year"))[0]
    drawn = [t.get_text() for t in figure.findobj(Text) if "Simulated" in t.get_text()]
    plt.close(figure)
    assert sorted(drawn) == ["Simulated Lee (2010)", "Simulated Smith et al. (2004a)"]


def test_namesakes_of_two_families_are_told_apart_in_each(tmp_path):
    """Each family's figures and tables worked out the letters of its own studies: Smith et al.'s dropout study 3
    was "(2004)" in the dropout family's forest plot and study table, where the paper's reference list says 2004c
    beside the outcome family's 2004a and 2004b. Every consumer now reads the column convert wrote."""
    from alliance_meta.analyses.psychometric import psychometric_analysis
    from alliance_meta.inputs.dependence import studies_of
    from alliance_meta.report.summary import study_characteristics
    from alliance_meta.report.tables import study_characteristics_table

    files = converted_namesakes(tmp_path)
    dropout = files["dropout"]
    for frame in (dropout["analysis"], dropout["effect_sizes"], studies_of(dropout["effects"], {
            "aggregate_method": "gls", "rho": 0.5})):  # the main forest plot's, the three-level one's, the Bayes'
        assert study_labels(frame, "authors_year") == ["Simulated Smith et al. (2004c)"]
    table = study_characteristics_table(study_characteristics(dropout["effect_sizes"], [], "smd"), "smd")
    assert [row[:2] for row in table.rows] == [["Simulated Smith et al.", "2004c"]]
    table = study_characteristics_table(study_characteristics(files["outcome"]["effect_sizes"], [], "z"), "z")
    assert [row[1] for row in table.rows] == ["2004a", "2004b", "2010"]
    studies = psychometric_analysis(files["outcome"]["effect_sizes"]).studies  # study 2 has no reliability
    assert study_labels(studies, "authors_year") == ["Simulated Smith et al. (2004a)", "Simulated Lee (2010)"]


def test_the_default_label_and_authors_year_cite_a_study_alike(tmp_path):
    """``plots.labels: label`` shows the default label, made at conversion over the whole sheet ("Smith et al.
    (2004c)"), and ``authors_year`` a citation worked out over the figure's rows ("Smith et al. (2004)"): one
    study, two names, as the config's choice went."""
    for family, files in converted_namesakes(tmp_path).items():
        for frame in files.values():
            assert study_labels(frame, "label") == study_labels(frame, "authors_year"), family


def test_both_labels_do_not_repeat_the_citation(tmp_path):
    """``plots.labels: both`` gave "Smith et al. (2004), Smith et al. (2004c)": the default label (whole sheet)
    did not start with the citation (the figure's rows), so the study was cited twice."""
    dropout = converted_namesakes(tmp_path)["dropout"]["analysis"]
    assert study_labels(dropout, "both") == ["Simulated Smith et al. (2004c)"]
    lee = pd.DataFrame({"study_id": ["4"], "authors": ["Simulated Lee"], "year": [2010],  # SIMULATED
                        "citation_year": [2010], "label": ["Lee trial"]})
    assert study_labels(lee, "both") == ["Simulated Lee (2010), Lee trial"]


def test_the_footnote_is_wrapped_by_its_width_as_drawn_with_its_italic_statistics():
    """The footnote was wrapped at a count of characters, in which "$Q$" counts three and "$I^2$" five though each
    is drawn as one italic letter: now each line is as wide as it is drawn, no wider than the figure's text."""
    from alliance_meta.plots.forest import forest_plot
    from alliance_meta.plots.forest_layout import MARGIN, text_width, wrap_drawn

    statistic = "$Q$(9)\u00a0=\u00a01.00, $p$\u00a0=\u00a0.500; $I^2$\u00a0=\u00a010.0%."  # SIMULATED values
    text = " ".join([statistic, "and"] * 12)
    lines = wrap_drawn(text, 4.0, 7.65, "sans-serif")
    assert " ".join(lines) == text and len(lines) > 1
    for line, after in zip(lines, lines[1:]):  # each line full: its next word would not fit
        assert text_width([line], 7.65, "sans-serif") <= 4.0 < text_width([f"{line} {after.split(' ')[0]}"], 7.65,
                                                                              "sans-serif")
    data = simulated_family(8)
    figure = forest_plot(data, fit(data.yi, data.vi, "REML", "z", metric="z").as_row(), "z",
                         data_note="Simulated data: " + "these are not real studies. " * 6)
    note = next(text for text in figure.texts if text.get_text().startswith("Squares:"))
    assert "$Q$(7)\u00a0=" in note.get_text() and "$I^2$\u00a0=" in note.get_text()
    figure.canvas.draw()
    drawn = note.get_window_extent().width / figure.dpi
    assert figure.get_figwidth() - 2 * MARGIN - 0.5 < drawn <= figure.get_figwidth() - 2 * MARGIN + 1e-6
    plt.close(figure)


def _bisected_lines(text, width, font_size, family, bold=False):
    """The lines of ``wrap_drawn`` found by a bisection over the rest of the words (its earlier algorithm): the most
    words that fit as drawn, at least one per line."""
    from alliance_meta.plots.forest_layout import text_width

    words, lines = [word for word in text.split(" ") if word], []
    while words:
        fits, wider = 1, len(words) + 1
        while wider - fits > 1:
            middle = (fits + wider) // 2
            if text_width([" ".join(words[:middle])], font_size, family, bold) <= width:
                fits = middle
            else:
                wider = middle
        lines.append(" ".join(words[:fits]))
        words = words[fits:]
    return lines


def test_wrap_drawn_measures_about_two_lines_per_line_and_wraps_as_a_bisection(monkeypatch):
    """The footnotes were wrapped by a bisection over all the words left, so each line measured some six trial
    lines, each of them new to the next footnote (whose length differs): with mathtext, most of the footnote's
    wrapping time in the moderator forest plots. Now a line is guessed from its words' widths and the lines at and
    after the guess measured: the same lines as the bisection, about two measured per line."""
    from alliance_meta.plots import forest_layout

    statistic = "$Q$(124)\u00a0=\u00a0273.36, $p$\u00a0<\u00a0.001; $I^2$\u00a0=\u00a056.2%."  # SIMULATED values
    note = ("Squares: study estimates (area proportional to weight) with 95% CIs. Diamond: pooled estimate with 95% "
            f"CI (Wald). Heterogeneity: {statistic} Weights in percent within each level. SIMULATED data. "
            "Averyveryverylongwordthatisnarrowernowherethanthewholeline end.")
    rng = np.random.default_rng(7)
    for width, size, bold in zip(rng.uniform(0.3, 9.0, 40), rng.choice([6.8, 8.0, 9.0], 40), rng.random(40) < 0.3):
        assert forest_layout.wrap_drawn(note, width, size, "sans-serif", bold) == \
            _bisected_lines(note, width, size, "sans-serif", bold)
    measured = []
    original = forest_layout.text_width
    monkeypatch.setattr(forest_layout, "text_width",
                        lambda texts, *args, **kwargs: measured.extend(texts) or original(texts, *args, **kwargs))
    lines = forest_layout.wrap_drawn(note, 4.0, 6.8, "sans-serif")
    trials = [text for text in measured if " " in text and text != "a a"]  # lines of more than one word
    assert len(lines) >= 4 and len(trials) <= 2 * len(lines) + 1, (len(lines), len(trials))


def test_a_one_page_pdf_is_the_figure_of_the_png_and_svg(tmp_path, monkeypatch):
    """A forest plot of at most rows_per_page studies was drawn twice, as the PDF's one page and as the figure of
    the PNG and SVG, though both are the same rows and footnote (a third of the moderator forest plots' figures
    in the demo): now drawn once, and every file has the bytes of the figures drawn apart."""
    from alliance_meta.plots import forest_draw

    data = simulated_family(12)
    pooled = fit(data.yi, data.vi, "REML", "z", metric="z").as_row()
    calls = []
    original = forest_draw.draw_pages
    monkeypatch.setattr(forest_draw, "draw_pages", lambda *args: calls.append(args[-1]) or original(*args))
    together = [tmp_path / f"forest.{suffix}" for suffix in ("png", "pdf", "svg")]
    save_forest_plot(data, pooled, "z", together)
    assert calls == [True]  # the PDF's pages, also the PNG's and SVG's figure
    for path in together:
        alone = tmp_path / "alone" / path.name
        save_forest_plot(data, pooled, "z", [alone])
        assert alone.read_bytes() == path.read_bytes(), path.name
    calls.clear()
    save_forest_plot(simulated_family(60), pooled, "z", [tmp_path / "long.pdf", tmp_path / "long.png"])
    assert calls == [True, False]  # two pages: the PNG's one tall figure is drawn of its own


def test_study_names_the_font_cannot_draw_are_named_once_in_the_job_s_log(tmp_path, monkeypatch):
    """Chinese study ids ("王 2019") in DejaVu Sans are drawn as empty boxes; the job's log said only, per character,
    that a glyph was missing. It now says once which studies' names hold characters the font lacks, which
    characters, and what to do (a transliterated label, plots.font_family), and no more per character."""
    import warnings

    import alliance_meta as am
    from alliance_meta import io as job_io
    from alliance_meta.io import setup_logging
    from alliance_meta.plots.forest import save_forest_plot

    monkeypatch.setattr(job_io, "NAMED_GLYPHS", set())
    monkeypatch.setattr(job_io, "NAMED_STUDIES", set())
    frame = pd.DataFrame({"study_id": ["王 2019", "李 2020", "Smith 2001", "Jones 2003"],  # SIMULATED
                          "yi": [0.2, 0.3, 0.25, 0.1], "vi": [0.01, 0.02, 0.015, 0.01]})
    fit = am.fit(frame, metric="z")
    log = tmp_path / "job.log"
    with warnings.catch_warnings():  # restores warnings.showwarning afterwards
        warnings.simplefilter("always")
        logger = setup_logging(log, "glyph_job_test")
        save_forest_plot(fit.data, fit.to_frame().iloc[0].to_dict(), "z",
                         [str(tmp_path / "forest.png"), str(tmp_path / "forest.pdf")], logger=logger)
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if "figure text" in line]
    assert len(lines) == 1, lines
    assert all(part in lines[0] for part in ("王 2019", "李 2020", "(王 李)", "DejaVu Sans", "plots.font_family",
                                             "label")), lines[0]
    assert "Smith" not in lines[0]
    plt.close("all")


def _glyph_job(tmp_path, name: str, study_ids) -> list[str]:
    """The lines of the log of a job drawing the forest plot of SIMULATED studies named ``study_ids`` that
    say which names hold characters the font lacks."""
    import warnings

    import alliance_meta as am
    from alliance_meta.io import setup_logging
    from alliance_meta.plots.forest import save_forest_plot

    frame = pd.DataFrame({"study_id": study_ids, "yi": np.linspace(0.1, 0.3, len(study_ids)),
                          "vi": np.full(len(study_ids), 0.01)})  # SIMULATED
    fit = am.fit(frame, metric="z")
    log = tmp_path / f"{name}.log"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logger = setup_logging(log, f"glyph_{name}")
        save_forest_plot(fit.data, fit.to_frame().iloc[0].to_dict(), "z", [str(tmp_path / f"{name}.png")],
                         logger=logger)
    plt.close("all")
    return [line for line in log.read_text(encoding="utf-8").splitlines() if "figure text" in line]


def test_a_second_job_in_one_process_names_the_undrawable_study_names_again(tmp_path, monkeypatch):
    """The studies and characters already named were kept for the process, so a second job in it (tests, a
    notebook) said nothing of them in its own log: each job starts afresh (io.setup_logging). One study: "the name
    of study ... has" (it read "the names of study ... have"); a Devanagari name is pointed to a Devanagari font,
    not to Noto Sans CJK."""
    from alliance_meta import io as job_io

    monkeypatch.setattr(job_io, "NAMED_GLYPHS", set())
    monkeypatch.setattr(job_io, "NAMED_STUDIES", set())
    ids = ["\u0936\u0930\u094d\u092e\u093e 2019", "Smith 2001", "Jones 2003"]  # Sharma in Devanagari
    first, second = _glyph_job(tmp_path, "first", ids), _glyph_job(tmp_path, "second", ids)
    for lines in (first, second):
        assert len(lines) == 1, lines
        assert f"the name of study {ids[0]} has characters" in lines[0], lines[0]
        assert "Noto Sans Devanagari" in lines[0] and "CJK" not in lines[0], lines[0]
        assert "plots.font_family" in lines[0], lines[0]
