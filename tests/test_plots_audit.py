"""Figure problems found by the audit on published data (molloy, craft, bcg, bakdash): each test fails
without its fix."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from alliance_meta.plots.forest import ForestOptions, moderator_forest_plot  # noqa: E402
from alliance_meta.plots.style import column_name  # noqa: E402
from alliance_meta.plots.subgroups import subgroup_forest  # noqa: E402

SUMMARY = {"qm_df": 1, "qm": 1.0, "qm_p": 0.3, "f_df1": 1, "f_df2": 15, "f": 1.0, "f_p": 0.4,
           "q_between_separate_df": 1, "q_between_separate": 1.1, "q_between_separate_p": 0.3}


def texts_of(figure) -> list[str]:
    figure.canvas.draw()
    return [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text")) if t.get_text().strip()]


def studies(k: int = 12, seed: int = 5) -> pd.DataFrame:
    """``k`` studies with an allocation moderator; every third with two effect sizes (another measure)."""
    rng = np.random.default_rng(seed)
    rows = []
    for study in range(k):
        n = int(rng.integers(40, 300))
        measures = ["SAGAT", "Explicit Recall"] if study % 3 == 0 else ["SAGAT"]
        for measure in measures:
            rows.append({"study_id": f"S{study:02d}", "yi": rng.normal(0.3, 0.1), "vi": 1 / (n - 3), "n": n,
                         "authors": f"Author{study}", "year": 1990 + study,
                         "alloc": ["random", "alternate"][study % 2], "sa_measure": measure})
    return pd.DataFrame(rows)


def subgroup_levels(k=(6, 4)) -> pd.DataFrame:
    return pd.DataFrame({"level": ["alternate", "random"][: len(k)], "k": list(k), "estimate": [0.27, 0.32][: len(k)],
                         "ci_lower": [0.17, 0.27][: len(k)], "ci_upper": [0.36, 0.37][: len(k)],
                         "tau2": [0.01, 0.02][: len(k)]})


# --------------------------------------------------------------------------------------
# 3. plots.column_labels name a moderator wherever the figures show it
# --------------------------------------------------------------------------------------

def test_column_name_is_the_configured_label_else_the_name_readable():
    labels = {"alloc": "Allocation", "sa_measure": "SA measure"}
    assert column_name("alloc", labels) == "Allocation"
    assert column_name("sa_measure", labels) == "SA measure"
    assert column_name("study_design", labels) == "Study design"
    assert column_name("year", labels, title=False) == "year"  # a plots.columns header without a label: as before


def test_a_column_named_by_a_statistical_symbol_is_headed_by_the_symbol_in_italics():
    """APA 2020, 6.46: the forest plots' sample-size header was an upright "n" (its own column and the demo's
    plots.columns); a column named by a symbol is headed by the symbol, italic (bold italic in a bold header),
    unless plots.column_labels names it."""
    assert column_name("n", title=False) == "$n$" and column_name("n", title=False, bold=True) == r"$\mathbfit{n}$"
    assert column_name("f", title=False) == "$F$" and column_name("n1") == "$n_1$"
    assert column_name("n", {"n": "Patients"}, title=False, bold=True) == "Patients"
    data = studies(6).assign(rater="patient")
    for options in (ForestOptions(), ForestOptions(columns=["n", "rater"])):  # its own column, among plots.columns
        assert r"$\mathbfit{n}$" in _forest_texts(data, options)[1]


def test_subgroup_plot_title_is_the_configured_label():
    figure = subgroup_forest(subgroup_levels(), {"moderator": "sa_measure", **SUMMARY},
                             {"estimate": 0.3, "ci_lower": 0.25, "ci_upper": 0.34, "k": 10}, "z",
                             labels={"sa_measure": "SA measure"})
    texts = texts_of(figure)
    assert "SA measure" in texts and "Sa measure" not in texts
    plt.close(figure)


def test_subgroup_diamonds_have_the_colours_of_the_forest_plots_subtotals():
    """The levels' diamonds were navy in subgroups_<moderator> and orange (plots.subgroup_colour) in
    forest_<moderator>; a configured colour reached only the forest plot."""
    from matplotlib.colors import to_hex

    def fills(**colours):
        figure = subgroup_forest(subgroup_levels(), {"moderator": "alloc", **SUMMARY},
                                 {"estimate": 0.3, "ci_lower": 0.25, "ci_upper": 0.34, "k": 10}, "z", **colours)
        found = [to_hex(patch.get_facecolor()) for patch in figure.axes[0].patches]
        plt.close(figure)
        return found

    options = ForestOptions()
    assert fills() == [options.subgroup_colour.lower()] * 2 + [options.summary_colour]
    assert fills(subgroup_colour="#009e73", summary_colour="#333333") == ["#009e73"] * 2 + ["#333333"]


def test_moderator_forest_group_headers_use_the_configured_label():
    from alliance_meta.analyses.moderators import subgroup_fits
    from alliance_meta.models.univariate import fit

    data = studies().drop_duplicates("study_id")
    subgroups = subgroup_fits(data, "alloc", "z")
    options = ForestOptions(columns=["alloc"], column_labels={"alloc": "Allocation"})
    overall = fit(data.yi, data.vi, "REML", "z", metric="z").as_row()
    figure = moderator_forest_plot(data, "alloc", subgroups, overall, "z", options=options)[0]
    texts = texts_of(figure)
    assert "Allocation: alternate" in texts and "Allocation: random" in texts
    assert not any(text.startswith("alloc:") for text in texts)
    plt.close(figure)


def test_multiverse_rows_of_a_subset_choice_use_the_configured_label():
    from alliance_meta.plots.multiverse import specification_curve

    rng = np.random.default_rng(1)
    table = pd.DataFrame({"sa_measure": ["all", "SAGAT", "Explicit Recall"] * 4,
                          "method": ["REML"] * 6 + ["DL"] * 6, "k": 10})
    table["estimate"] = rng.normal(0.3, 0.05, len(table))
    table["ci_lower"], table["ci_upper"] = table["estimate"] - 0.1, table["estimate"] + 0.1
    table["significant"] = True
    figure = specification_curve(table, "z", 95, {"method": "REML"}, labels={"sa_measure": "SA measure"})
    rows = [tick.get_text() for tick in figure.axes[1].get_yticklabels()]
    assert "SA measure: SAGAT" in rows and not any(row.startswith("Sa measure") for row in rows)
    plt.close(figure)


def test_bubble_plot_axis_is_the_configured_label():
    from alliance_meta.analyses.moderators import analyse_moderator
    from alliance_meta.plots.bubble import bubble_plot

    data = studies().drop_duplicates("study_id").assign(ablat=lambda d: np.linspace(10, 55, len(d)))
    analysis = analyse_moderator(data, "ablat", "z", continuous=True, permutations=0)
    figure = bubble_plot(analysis, "z", labels={"ablat": "Latitude"})
    assert figure.axes[0].get_xlabel() == "Latitude"
    # the slope's unit is the moderator's ("per unit" alone left the reader to guess)
    assert " Fisher's $z$ per unit of Latitude, 95% CI" in figure.axes[0].get_title(loc="left")
    plt.close(figure)
    year = analyse_moderator(data.assign(year=np.arange(1990, 1990 + len(data))), "year", "z", continuous=True,
                             permutations=0)
    figure = bubble_plot(year, "z")
    assert " per year, 95% CI" in figure.axes[0].get_title(loc="left")
    plt.close(figure)


# --------------------------------------------------------------------------------------
# 2. k says what it counts: effect sizes of a three-level fit, studies of a level
# --------------------------------------------------------------------------------------

THREE_LEVEL = {"estimate": 0.27, "ci_lower": 0.22, "ci_upper": 0.32, "k": 29, "n_studies": 10,
               "sigma2_between": 0.01, "sigma2_within": 0.02, "method": "REML"}


def test_subgroup_plot_overall_of_a_three_level_fit_counts_effect_sizes_and_studies():
    """craft (multilevel): "Overall (k = 29 studies)" where 29 counted effect sizes in 10 studies."""
    figure = subgroup_forest(subgroup_levels(), {"moderator": "sport", **SUMMARY}, THREE_LEVEL, "z")
    texts = texts_of(figure)
    assert "Overall ($k$ = 29 effect sizes in 10 studies)" in texts
    assert not any("29 studies" in text for text in texts)
    assert any("$k$ of a level: studies" in text for text in texts)
    plt.close(figure)
    aggregated = {key: THREE_LEVEL[key] for key in ("estimate", "ci_lower", "ci_upper")} | {"k": 10}
    figure = subgroup_forest(subgroup_levels(), {"moderator": "sport", **SUMMARY}, aggregated, "z")
    assert "Overall ($k$ = 10 studies)" in texts_of(figure)  # one composite per study: as before
    plt.close(figure)


def test_moderator_forest_subtotals_count_studies_and_the_three_level_overall_effect_sizes():
    """bakdash: subtotals counted study x level composites (sum 109), the overall row k = 678 effect sizes,
    both as a bare "k"."""
    from alliance_meta.analyses.moderators import aggregate_within, subgroup_fits

    data = studies()
    composites = aggregate_within(data, ("sa_measure",), "gls", 0.5)[0]
    subgroups = subgroup_fits(composites, "sa_measure", "z")
    overall = THREE_LEVEL | {"k": len(data), "n_studies": data["study_id"].nunique()}
    figure = moderator_forest_plot(composites, "sa_measure", subgroups, overall, "z")[0]
    texts = [text.replace("\u00a0", " ") for text in texts_of(figure)]
    subtotals = [text for text in texts if text.startswith("Subtotal")]
    assert subtotals == [f"Subtotal, $k$ = {k} studies" for k in subgroups["k"]]
    assert (f"Three-level model (REML), $\\mathbfit{{k}}$ = {len(data)} effect sizes in 12 studies"
            in " ".join(texts))  # wrapped
    assert "subtotal's $k$ counts studies" in " ".join(" ".join(texts).split())
    plt.close(figure)


def test_moderator_figures_say_why_there_is_no_test_between_levels():
    """A moderator with one value (one study, or one level coded): moderators.csv has no QM but a note; the
    footnote said "QM(nan) = nan, p = n/a"."""
    from alliance_meta.analyses.moderators import aggregate_within, subgroup_fits

    data = studies().assign(sa_measure="accuracy")
    composites = aggregate_within(data, ("sa_measure",), "gls", 0.5)[0]
    subgroups = subgroup_fits(composites, "sa_measure", "z")
    note = "no mixed-effects model: sa_measure has one value (accuracy) in every row: nothing to compare"
    summary = {key: np.nan for key in SUMMARY} | {"note": note}
    overall = {"estimate": 0.27, "ci_lower": 0.22, "ci_upper": 0.32, "k": len(composites), "method": "REML"}
    figure = moderator_forest_plot(composites, "sa_measure", subgroups, overall, "z", summary=summary)[0]
    text = " ".join(" ".join(texts_of(figure)).split())  # the footnote's lines joined
    assert "QM(nan)" not in text and "p = n/a" not in text
    assert "No test between levels (no mixed-effects model: sa_measure has one value" in text
    # the subgroup plot of the same moderator: the same sentence (it printed "Q_M(nan) = nan, p = n/a; F(nan, nan)")
    figure = subgroup_forest(subgroups, {"moderator": "sa_measure", **summary}, overall, "z")
    text = " ".join(" ".join(texts_of(figure)).split())
    assert "= nan" not in text and "No test between levels (no mixed-effects model" in text
    plt.close("all")


# --------------------------------------------------------------------------------------
# 1. Multiverse: under dependence multilevel the marked specification is not the main analysis
# --------------------------------------------------------------------------------------

def _multiverse_table() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    table = pd.DataFrame({"aggregate_method": ["gls", "mean"] * 6, "method": ["REML"] * 6 + ["DL"] * 6, "k": 10})
    table["estimate"] = rng.normal(0.3, 0.05, len(table))
    table["ci_lower"], table["ci_upper"] = table["estimate"] - 0.1, table["estimate"] + 0.1
    table["significant"] = True
    return table


@pytest.mark.parametrize("dependence", ["aggregate", "multilevel"])
def test_multiverse_marks_the_main_analysis_only_when_it_is_a_specification(dependence):
    """bakdash (multilevel): the diamond labelled "Main analysis" was the composite REML specification
    (r = .275) while the review's main analysis is the three-level model (r = .263)."""
    from alliance_meta.plots.multiverse import specification_curve

    figure = specification_curve(_multiverse_table(), "z", 95, {"aggregate_method": "gls", "method": "REML"},
                                 dependence=dependence)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    if dependence == "aggregate":
        assert "Main analysis" in legend
    else:
        assert "Main analysis" not in legend
        assert "Aggregated model (the main analysis is three-level)" in legend
    plt.close(figure)


def test_the_multiverse_rule_passes_the_dependence():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert 'dependence=config["dependence"]' in (root / "workflow/rules/multiverse.smk").read_text()
    assert "dependence=snakemake.params.dependence" in (root / "workflow/scripts/multiverse_plot.py").read_text()


# --------------------------------------------------------------------------------------
# 4. plots.columns values whole where the figure has room
# --------------------------------------------------------------------------------------

def _forest_texts(data, options):
    from alliance_meta.plots.forest import forest_plot

    pooled = {"estimate": 0.25, "ci_lower": 0.17, "ci_upper": 0.33, "tau2": 0.0, "method": "REML", "k": len(data)}
    figure = forest_plot(data, pooled, "z", options=options)
    width, texts = figure.get_figwidth(), texts_of(figure)
    plt.close(figure)
    return width, texts


def test_a_column_value_a_little_longer_than_column_width_is_whole_where_there_is_room():
    """molloy: "cross-sectional" was cut to "cross-section…" (plots.column_width 14) beside an empty gap;
    bakdash: "Explicit Recall" to "Explicit Reca…"."""
    data = studies(8).assign(design=["cross-sectional", "prospective"] * 5 + ["prospective"])
    options = ForestOptions(columns=["n", "design", "sa_measure"], column_labels={"design": "Design"})
    width, texts = _forest_texts(data, options)
    assert "cross-sectional" in texts and "Explicit Recall" in texts
    assert not any(text.endswith("\u2026") for text in texts)
    assert not any("text cut at" in text for text in texts)
    cut = data.replace({"cross-sectional": "cross-section\u2026", "Explicit Recall": "Explicit Reca\u2026"})
    assert width <= _forest_texts(cut, options)[0]  # no wider than with the values cut


def test_a_column_value_without_room_is_still_cut_and_the_figure_not_widened():
    long = "Working Alliance Inventory, short revised, observer version, German translation"
    data = studies(8).assign(measure=[long] + ["WAI"] * 10)
    options = ForestOptions(columns=["n", "alloc", "measure"])
    width, texts = _forest_texts(data, options)
    assert long not in texts and any(text.endswith("\u2026") for text in texts)
    assert "text cut at 14 characters" in " ".join(" ".join(texts).split())  # the footnote may wrap anywhere
    assert width == _forest_texts(data.assign(measure="Working Allia\u2026"), options)[0]


# --------------------------------------------------------------------------------------
# 5. Influence panels: readable titles; studies named on the axis, or numbered with a key
# --------------------------------------------------------------------------------------

def _influence_figure(k: int, authors=None):
    import alliance_meta as am
    from alliance_meta.plots.influence import sensitivity_figures

    data = studies(k).drop_duplicates("study_id")
    if authors is not None:
        data = data.assign(authors=authors(data))
    return sensitivity_figures(am.sensitivity(am.fit(data, metric="z")))["influence"], data


def test_influence_panels_have_readable_titles_and_the_studies_named():
    """molloy: panels labelled cook.d, cov.r, tau2.del, QE.del (metafor's variables) over an axis 1-16."""
    figure, data = _influence_figure(10)
    titles = [axis.get_title(loc="left") for axis in figure.axes]
    assert titles == ["Externally standardised residual", "DFFITS", "Cook's distance", "Covariance ratio",
                      "$\\mathrm{\\tau}^2$ without the study", "$Q$ without the study", "Hat value", "Weight (%)"]
    assert not any(axis.get_ylabel() in ("cook.d", "cov.r", "tau2.del", "QE.del") for axis in figure.axes)
    ticks = [tick.get_text() for tick in figure.axes[-1].get_xticklabels()]
    assert ticks == [f"Author{i} ({1990 + i})" for i in range(10)]
    plt.close(figure)


def test_influence_plot_of_many_studies_numbers_them_with_a_key():
    figure, data = _influence_figure(60, lambda d: [f"A rather long list of authors {i} et al." for i in range(len(d))])
    texts = " ".join(texts_of(figure)).replace("\n", " ")
    assert "Studies: 1 A rather long list of authors 0 et al. (1990); 2 " in texts
    assert figure.axes[-1].get_xlabel() == "Study number (key below)"
    plt.close(figure)


def test_bubble_plot_says_why_r2_is_not_given_where_tau2_without_the_moderator_is_0():
    """As the report and tables: metafor's R^2 is 0 by rule when tau^2 of the null model is 0, and measures nothing."""
    from alliance_meta.analyses.moderators import analyse_moderator
    from alliance_meta.plots.bubble import bubble_plot
    from alliance_meta.report.formatting import apa_number

    k = 10
    homogeneous = pd.DataFrame({"study_id": [f"S{i}" for i in range(k)], "yi": 0.3 + 0.001 * np.arange(k),
                                "vi": np.full(k, 0.02), "year": 1990 + np.arange(k)})
    analysis = analyse_moderator(homogeneous, "year", "z", continuous=True, permutations=0)
    title = bubble_plot(analysis, "z").axes[0].get_title(loc="left")
    assert "not given" in title and "R^2$ =" not in title
    plt.close("all")
    analysis = analyse_moderator(studies().drop_duplicates("study_id"), "year", "z", continuous=True, permutations=0)
    title = bubble_plot(analysis, "z").axes[0].get_title(loc="left")
    # one decimal, as the Results and the moderator table give it (the figure said 72% beside their 72.2%)
    assert f"$R^2$ = {apa_number(analysis.model.r2, 1)}%" in title
    plt.close("all")


def test_moderator_figures_name_the_effect_sizes_without_a_level():
    """A study without a value of the moderator is in the overall estimate but in no level: the subgroup plot's
    note says so (the levels' k would otherwise fall short of the overall k unexplained)."""
    from alliance_meta.plots.subgroups import without_level_note

    data = studies()
    data.loc[data["study_id"] == "S00", "alloc"] = np.nan  # two effect sizes of one study
    note = without_level_note(data, "alloc", {"alloc": "Allocation"})
    assert note == ("Not in any level: 2 effect sizes (1 study) without a value of Allocation, in the overall "
                    "estimate.")
    assert without_level_note(studies(), "alloc") == "" and without_level_note(data, "absent") == ""
    figure = subgroup_forest(subgroup_levels(), {"moderator": "alloc", **SUMMARY},
                             {"estimate": 0.3, "ci_lower": 0.25, "ci_upper": 0.34, "k": 12}, "z",
                             labels={"alloc": "Allocation"}, without_level=note)
    assert note in "\n".join(texts_of(figure))
    plt.close(figure)


def test_moderator_forest_pooled_label_is_one_line_beside_the_panel():
    """The overall row of a moderator's forest plot, "Random-effects model (REML), k = 12 studies", is one line
    (wrapped at plots.label_width, "studies" was a line of its own; wrapped by characters, its k in mathtext broke
    it) and ends left of the panel."""
    from alliance_meta.analyses.moderators import subgroup_fits
    from alliance_meta.models.univariate import fit

    data = studies().drop_duplicates("study_id")
    subgroups = subgroup_fits(data, "alloc", "z")
    overall = fit(data.yi, data.vi, "REML", "z", metric="z").as_row()
    figure = moderator_forest_plot(data, "alloc", subgroups, overall, "z")[0]
    texts = texts_of(figure)
    label = "Random-effects model (REML), $\\mathbfit{k}$\u00a0=\u00a012 studies"  # mathtext: 14 characters for k
    assert label in texts and "studies" not in texts
    renderer = figure.canvas.get_renderer()
    [drawn] = [t for t in figure.findobj(lambda a: hasattr(a, "get_text")) if t.get_text() == label]
    panel = max(figure.axes, key=lambda axis: axis.get_window_extent(renderer).width)
    assert drawn.get_window_extent(renderer).x1 < panel.get_window_extent(renderer).x0
    # it runs on over its row's empty n cell, clear of every other text (the n column's numbers included)
    others = [t for t in figure.texts + [t for axis in figure.axes for t in axis.texts]
              if t.get_text().strip() and t is not drawn]
    assert others and not any(drawn.get_window_extent(renderer).overlaps(t.get_window_extent(renderer))
                              for t in others)
    plt.close(figure)


def test_placeholder_figures_carry_the_simulated_data_note(monkeypatch):
    """The message figures that stand for a forest plot (no effect sizes, no level of a moderator, no
    reliabilities) say the data are simulated, as every other figure of the data, inside the figure."""
    from alliance_meta.plots import forest, forest_draw, psychometric
    from alliance_meta.plots.provenance import NOTE_STYLE, SIMULATED_NOTE

    drawn = []
    monkeypatch.setattr(forest, "save_pages", lambda figures_of, *_: drawn.append(figures_of(False)[0]))
    monkeypatch.setattr(psychometric, "save_pages", lambda figures_of, *_: drawn.append(figures_of(False)[0]))
    forest.save_forest_plot(studies().iloc[:0], {}, "z", [], data_note=SIMULATED_NOTE)
    forest.save_moderator_forest_plot(studies().iloc[:0], "alloc", pd.DataFrame(), {}, "z", [],
                                      data_note=SIMULATED_NOTE)
    psychometric.save_psychometric_forest(None, pd.DataFrame(), [], data_note=SIMULATED_NOTE)
    assert len(drawn) == 3
    for figure in drawn:
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        [note] = [t for t in figure.findobj(lambda a: hasattr(a, "get_text")) if t.get_text() == SIMULATED_NOTE]
        assert note.get_color() == NOTE_STYLE["color"] and note.get_style() == NOTE_STYLE["style"]
        box, inside = note.get_window_extent(renderer), figure.bbox
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
        plt.close(figure)
    assert SIMULATED_NOTE not in texts_of(forest_draw.message("No effect sizes in this family ($k$ = 0)."))
    plt.close("all")


@pytest.mark.parametrize("named", [True, False])
def test_influence_plot_says_what_the_red_points_are(named):
    """dropout_counts: two studies drawn in red in all eight panels, nothing in the figure saying why."""
    from types import SimpleNamespace

    from alliance_meta.plots.influence import influence_plot

    k = 6
    values = np.linspace(0.1, 0.6, k)
    result = SimpleNamespace(hat=values, influential=np.array([False] * (k - 1) + [True]), rstudent=values,
                             dffits=values, cook_distance=values, covariance_ratio=values, tau2_deleted=values,
                             tau2=0.1, q_deleted=values, q=3.0, weight=values * 100)
    labels = [f"S{i}" for i in range(k)] if named else [f"A rather long list of authors {i} et al." for i in range(k)]
    texts = " ".join(text.get_text() for text in influence_plot(result, labels=labels).texts).replace("\n", " ")
    assert texts.startswith("Red: influential (metafor's rules; influence.csv).")
    plain = influence_plot(SimpleNamespace(**{**vars(result), "influential": np.zeros(k, bool)}), labels=labels)
    assert not any("Red" in text.get_text() for text in plain.texts)
    plt.close("all")


def test_a_blank_n_is_explained_in_the_footnote():
    """A study coded as an odds ratio with its CI has no n: its n cell was blank, and nothing said why."""
    data = studies(6)
    options = ForestOptions()
    assert not any("Blank $n$" in text for text in _forest_texts(data, options)[1])
    texts = _forest_texts(data.assign(n=[np.nan] + list(data["n"][1:])), options)[1]
    assert "Blank $n$: the sheet gives no sample size." in " ".join(" ".join(texts).split())


def test_a_blank_n_among_the_configured_columns_is_explained_too():
    """The demo's config shows n among plots.columns: a blank n cell there was left unexplained."""
    data = studies(6).assign(rater="patient")
    options = ForestOptions(columns=["n", "rater"])
    assert not any("Blank $n$" in text for text in _forest_texts(data, options)[1])
    texts = _forest_texts(data.assign(n=[np.nan] + list(data["n"][1:])), options)[1]
    assert "Blank $n$: the sheet gives no sample size." in " ".join(" ".join(texts).split())


# --------------------------------------------------------------------------------------
# Statistical symbols in italics (APA 2020, 6.46) in the forest plots' summary rows
# --------------------------------------------------------------------------------------

def test_a_summary_rows_label_is_wrapped_by_its_drawn_width():
    """A summary row's label was wrapped at 46 characters, not at its drawn width: 45 characters of wide letters
    ran on one line far past the 3.1 inches (at 8 pt) that "Random-effects model (REML), k = 1,234 studies"
    takes; a label that fits stays on one line, its bold italic k drawn as one letter, not 14 characters."""
    from alliance_meta.plots.forest import summary_label
    from alliance_meta.plots.forest_layout import text_width

    options = ForestOptions()
    lines = summary_label("Random-effects model (WWWWWW), WWWW WWWW WWWW", options)
    assert len(lines) > 1 and all(text_width([line], 8, options.font_family, bold=True) <= 3.12 for line in lines)
    assert lines[0] == "Random-effects model (WWWWWW),"  # broken after the model's name, as before
    label = "Random-effects model (REML), $\\mathbfit{k}$\u00a0=\u00a01,234 studies"
    assert summary_label(label, options) == [label]


def test_the_forest_plots_summary_rows_set_k_in_italics():
    """The summary rows read "Random-effects model (REML), k = 12 studies" and "Subtotal, k = 6 studies" with an
    upright k, beside the italic k of the footnotes and of the subgroup plot: bold italic on the bold overall row."""
    from alliance_meta.analyses.moderators import subgroup_fits
    from alliance_meta.models.univariate import fit

    data = studies().drop_duplicates("study_id")
    overall = fit(data.yi, data.vi, "REML", "z", metric="z").as_row()
    figure = moderator_forest_plot(data, "alloc", subgroup_fits(data, "alloc", "z"), overall, "z")[0]
    texts = [text.replace("\u00a0", " ") for text in texts_of(figure)]
    assert "Random-effects model (REML), $\\mathbfit{k}$ = 12 studies" in texts
    assert "Subtotal, $k$ = 6 studies" in texts
    assert not any(" k = " in text for text in texts)
    plt.close(figure)
