"""Publication forest plots: legible at k = 5, 40 and 300 (no overlapping or clipped text), vector
exports with text as text, PDF pages, arrows, sorting, APA numbers, moderator subgroups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance_meta.plots.forest import (ForestOptions, forest_plot, moderator_forest_plot, save_forest_plot,
                                        save_moderator_forest_plot)
from alliance_meta.plots.forest_options import sort_studies, study_labels
from alliance_meta.models.univariate import fit

LONG_AUTHORS = "Very-Long-Surname, Another Surname, Third Author, Fourth Author & Fifth Author"


def simulated_family(k: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = rng.integers(25, 400, k)
    yi = rng.normal(0.28, 0.12, k) + rng.normal(0, 1 / np.sqrt(n - 3))
    authors = [f"Author{i} et al." for i in range(k)]
    authors[1] = LONG_AUTHORS
    n[2], yi[2] = 12, 0.95  # a small study whose CI leaves the axis
    return pd.DataFrame({"study_id": [f"S{i:03d}" for i in range(k)], "yi": yi, "vi": 1 / (n - 3), "n": n,
                         "authors": authors, "year": rng.integers(1985, 2020, k),
                         "modality": rng.choice(["CBT", "psychodynamic", "humanistic"], k)})


def pooled_row(data: pd.DataFrame, metric: str = "z") -> dict:
    return fit(data.yi, data.vi, "REML", "z", metric=metric).as_row()


def text_boxes(figure) -> tuple[list[str], np.ndarray]:
    figure.canvas.draw()  # places the axis label and tick labels
    renderer = figure.canvas.get_renderer()
    texts = [t for t in figure.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_window_extent"))
             if t.get_visible() and t.get_text().strip()]
    boxes = np.array([t.get_window_extent(renderer).extents for t in texts])
    return [t.get_text() for t in texts], boxes


def overlapping_texts(figure) -> tuple[list[str], list[tuple[str, str]]]:
    """The figure's texts, and the pairs that overlap or leave the figure."""
    texts, boxes = text_boxes(figure)
    width, height = figure.bbox.width, figure.bbox.height
    outside = [(texts[i], "outside") for i in np.nonzero((boxes[:, 0] < 0) | (boxes[:, 1] < 0) |
                                                          (boxes[:, 2] > width) | (boxes[:, 3] > height))[0]]
    shrink = 0.5  # pixels: touching edges are not overlaps
    x0, y0, x1, y1 = (boxes[:, i][:, None] for i in range(4))
    overlap = (x0 + shrink < boxes[:, 2]) & (boxes[:, 0] + shrink < x1) & (y0 + shrink < boxes[:, 3]) & \
        (boxes[:, 1] + shrink < y1)
    np.fill_diagonal(overlap, False)
    return texts, outside + [(texts[i], texts[j]) for i, j in zip(*np.nonzero(overlap))]


@pytest.mark.parametrize("k", [5, 40, 300])
def test_text_neither_overlaps_nor_leaves_the_figure(k):
    data = simulated_family(k)
    figure = forest_plot(data, pooled_row(data), "z")
    assert not overlapping_texts(figure)[1]
    texts, boxes = text_boxes(figure)
    width, height = figure.bbox.width, figure.bbox.height
    assert boxes[:, 0].min() >= 0 and boxes[:, 1].min() >= 0
    assert boxes[:, 2].max() <= width and boxes[:, 3].max() <= height
    shrink = 0.5  # pixels: touching edges are not overlaps
    x0, y0, x1, y1 = (boxes[:, i][:, None] for i in range(4))
    overlap = (x0 + shrink < boxes[:, 2]) & (boxes[:, 0] + shrink < x1) & (y0 + shrink < boxes[:, 3]) & \
        (boxes[:, 1] + shrink < y1)
    np.fill_diagonal(overlap, False)
    pairs = [(texts[i], texts[j]) for i, j in zip(*np.nonzero(overlap))]
    assert not pairs, pairs[:5]
    assert height / figure.dpi > 0.15 * k  # grows with k: at least 0.15 inch per study
    assert any("Fifth" in text for text in texts)  # the long label is wrapped, not cut
    assert ".95" not in " ".join(texts) and any(text.startswith(".") for text in texts)  # APA: no leading zero


def test_exports_keep_text_as_text_and_split_pdf_pages(tmp_path):
    data = simulated_family(120)
    paths = [tmp_path / f"forest.{suffix}" for suffix in ("pdf", "svg", "png", "tiff")]
    save_forest_plot(data, pooled_row(data), "z", paths, options=ForestOptions(dpi=100, rows_per_page=50))
    pdf = paths[0].read_bytes()
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page>") >= 3
    assert b"/FontFile2" in pdf  # TrueType (pdf.fonttype 42): text stays selectable
    svg = paths[1].read_text()
    assert "<text" in svg and "Author0 et al. (" in svg
    assert paths[2].stat().st_size > 0 and paths[3].read_bytes()[:2] in (b"II", b"MM")


def test_arrows_where_a_ci_leaves_the_axis():
    data = simulated_family(40)
    figure = forest_plot(data, pooled_row(data), "z", options=ForestOptions(xlim=[-0.2, 0.6]))
    markers = [line.get_marker() for line in figure.axes[0].get_lines()]
    assert ">" in markers and "<" in markers


def test_footnote_mentions_arrows_only_where_the_figure_draws_one():
    """The footnote said "arrows: CI beyond the axis" under every forest plot, also where no interval left the
    axis and no arrow was drawn (a first-review walkthrough): forest and moderator forest plots."""
    from alliance_meta.analyses.moderators import subgroup_fits

    narrow = pd.DataFrame({"study_id": [f"S{i}" for i in range(6)], "yi": [0.2, 0.3, 0.25, 0.35, 0.28, 0.22],
                           "vi": [0.01, 0.012, 0.011, 0.009, 0.01, 0.013], "modality": ["CBT", "other"] * 3})
    wide = narrow.assign(vi=[0.01, 0.012, 0.011, 0.009, 0.01, 4.0])  # z 0.22 +/- 3.9: beyond the axis's 2.65

    def drawn(figure):
        markers = [line.get_marker() for line in figure.axes[0].get_lines()]
        words = " ".join(" ".join(text_boxes(figure)[0]).split())  # the footnote's lines joined
        return any(marker in ("<", ">") for marker in markers), "arrows: CI beyond the axis" in words

    summary = {"qm": 1.5, "qm_df": 1, "qm_p": 0.22}
    for data, arrows in ((narrow, False), (wide, True)):
        assert drawn(forest_plot(data, pooled_row(data), "z")) == (arrows, arrows)
        subgroups = subgroup_fits(data, "modality", "z")
        figure = moderator_forest_plot(data, "modality", subgroups, pooled_row(data), "z", summary=summary)[0]
        assert drawn(figure) == (arrows, arrows)


def test_each_page_s_footnote_explains_only_the_marks_that_page_draws():
    """A paged PDF: one footnote for all pages said "arrows: CI beyond the axis", "blank: not rated" and "text cut at
    14 characters" on a page with no arrow, blank cell or cut text because another page had one. The axis is shared
    (the pages read as one figure), each footnote explains its own page: forest and moderator forest plots."""
    import matplotlib.pyplot as plt

    from alliance_meta.analyses.moderators import subgroup_fits
    from alliance_meta.plots.forest import _figures

    long = "Working Alliance Inventory, short revised, observer version, German translation"  # cut, on page 1
    data = pd.DataFrame({"study_id": [f"S{i}" for i in range(10)], "yi": np.linspace(0.2, 0.35, 10),
                         "vi": [0.01] * 9 + [4.0],  # S9's CI leaves the axis, on page 2
                         "modality": "CBT", "measure": [long] + ["WAI"] * 9,  # S1 not rated, on page 1
                         **{f"rob_{d}": ["low", None] + ["low"] * 8 for d in ("participation", "attrition", "overall")}})
    # 9 in: the column beside the names, its long cell cut (at 7 in the cells go whole under the names)
    options = ForestOptions.from_config({"columns": ["measure"], "rob": True, "rows_per_page": 5, "width": 9},
                                        {"tool": "custom", "domains": ["participation", "attrition"]})

    def marks(figure):
        arrows = any(line.get_marker() in ("<", ">") for line in figure.axes[0].get_lines())
        words = " ".join(" ".join(text_boxes(figure)[0]).split())
        return (arrows, "arrows: CI beyond the axis" in words, "blank: not rated" in words, "text cut at" in words)

    pages = _figures(data, pooled_row(data), "z", 95.0, options, True)
    moderator_pages = moderator_forest_plot(data, "modality", subgroup_fits(data, "modality", "z"), pooled_row(data),
                                            "z", options=options, paged=True)
    for figures in (pages, moderator_pages):
        assert [marks(figure) for figure in figures] == [(False, False, True, True), (True, True, False, False)]
    single = _figures(data, pooled_row(data), "z", 95.0, options, False)  # the PNG: one page, every mark
    assert [marks(figure) for figure in single] == [(True, True, True, True)]
    for figure in pages + moderator_pages + single:
        plt.close(figure)


def test_sorting_and_labels():
    data = simulated_family(6)
    assert list(sort_studies(data, np.ones(6), "effect")) == list(np.argsort(data.yi.to_numpy()))
    order = sort_studies(data, np.ones(6), "year")
    assert np.all(np.diff(data.year.to_numpy()[order]) >= 0)
    assert list(sort_studies(data, np.arange(6), "weight")) == [5, 4, 3, 2, 1, 0]
    labelled = data.assign(label=["WAI, patient"] + [""] * 5)
    assert study_labels(labelled, "both")[0].endswith("), WAI, patient")
    assert study_labels(labelled, "authors_year")[0].startswith("Author0 et al. (")


@pytest.mark.parametrize("metric", ["smd", "log_or"])
def test_other_metrics(metric):
    data = simulated_family(10)
    figure = forest_plot(data, pooled_row(data, metric), metric, options=ForestOptions(preset="plain"))
    texts, _ = text_boxes(figure)
    assert any(text.startswith((r"$\mathbfit{g}$ [", r"$\mathbfit{OR}$ [")) for text in texts)


@pytest.mark.parametrize("metric", ["z", "smd", "log_or"])
def test_the_estimate_header_writes_the_statistic_in_italics_as_the_axis_does(metric):
    """The axis label wrote Correlation r with r in italics (APA), the column header above it "r [95% CI]" upright.
    The header takes its symbol from the same scale, bold italic in the bold header, and its column is measured as
    drawn (mathtext), so that the header stays within it."""
    from alliance_meta.plots.forest_layout import text_width
    from alliance_meta.plots.style import SCALES

    data, options = simulated_family(10), ForestOptions(preset="plain")
    figure = forest_plot(data, pooled_row(data, metric), metric, options=options)
    header = next(t for t in figure.axes[0].texts if t.get_text().endswith(" [95% CI]"))
    symbol = {"z": "r", "smd": "g", "log_or": "OR"}[metric]
    assert header.get_text() == rf"$\mathbfit{{{symbol}}}$ [95% CI]" == f"{SCALES[metric].header_symbol} [95% CI]"
    figure.canvas.draw()
    drawn = header.get_window_extent(figure.canvas.get_renderer()).width / figure.dpi
    assert text_width([header.get_text()], options.font_size, options.font_family, bold=True) == pytest.approx(
        drawn, rel=0.02)


def test_moderator_forest_has_a_diamond_per_level(tmp_path):
    from alliance_meta.analyses.moderators import subgroup_fits

    data = simulated_family(30)
    subgroups = subgroup_fits(data, "modality", "z")
    summary = {"qm": 1.5, "qm_df": 2, "qm_p": 0.47}
    figures = moderator_forest_plot(data, "modality", subgroups, pooled_row(data), "z", summary=summary)
    texts, _ = text_boxes(figures[0])
    assert sum(text.startswith("Subtotal") for text in texts) == 3
    assert r"$Q_\mathrm{M}$(2) = 1.50" in " ".join(" ".join(texts).split())  # the footnote's lines joined
    # a three-level fit's moderator row: the figure gives the three-level test, as the report does
    three = {"multilevel_qm": 0.27, "multilevel_qm_df": 2, "multilevel_qm_p": 0.872, "multilevel_cr2_f": 0.23,
             "multilevel_cr2_df1": 2, "multilevel_cr2_df2": 10.7, "multilevel_cr2_p": 0.802}
    texts, _ = text_boxes(moderator_forest_plot(data, "modality", subgroups, pooled_row(data), "z",
                                                summary={**summary, **three})[0])
    note = " ".join(" ".join(texts).split())  # the footnote's lines joined
    assert (r"Test between levels, three-level model: $Q_\mathrm{M}$(2) = 0.27, $p$ = .872; CR2 cluster-robust "
            "$F$(2, 10.70) = 0.23, $p$ = .802." in note) and "(2) = 1.50" not in note
    paths = [tmp_path / "forest_modality.png", tmp_path / "forest_modality.pdf"]
    save_moderator_forest_plot(data, "modality", subgroups, pooled_row(data), "z", paths)
    assert all(path.stat().st_size > 1000 for path in paths)


def test_dollar_signs_from_the_sheet_are_drawn_as_written():
    """'$5 to $10' is sheet text, not mathtext (which would draw an italic '5to10')."""
    from alliance_meta.plots.influence import cumulative_forest
    from alliance_meta.analyses.sensitivity import univariate

    data = simulated_family(6).assign(fee=["$5 to $10", "free", "$5 to $10", "free", "free", "$0"])
    data.loc[0, "authors"] = "Author $x$ & Co"
    pooled = pooled_row(data)
    figures = [forest_plot(data, pooled, "z", options=ForestOptions(columns=["fee"])),
               cumulative_forest(univariate.cumulative(data.yi, data.vi, data.year), ["$a$ b"] * 6, "z")]
    for figure in figures:
        figure.canvas.draw()
        texts = [t for t in figure.findobj(lambda a: hasattr(a, "get_text"))  # the sheet's, not the plot's mathtext
                 if any(sheet in t.get_text() for sheet in ("Author \\$x\\$", "\\$5 to \\$10", "\\$a\\$ b"))]
        assert texts
        for text in texts:
            shown, is_math = text._preprocess_math(text.get_text())
            assert not is_math and "\\" not in shown, shown
    shown = {t._preprocess_math(t.get_text())[0] for t in figures[0].findobj(lambda a: hasattr(a, "get_text"))}
    assert "$5 to $10" in shown and any(s.startswith("Author $x$ & Co") for s in shown)


def test_a_diamond_wider_than_the_axis_is_cut_at_its_limits():
    """A summary CI beyond the axis (two studies with a t test) is cut where the axis ends, at the diamond's
    own height there, instead of running over the text columns."""
    from alliance_meta.plots.forest_draw import clipped_diamond

    lower, centre, upper, y = -3.0, 0.5, 4.0, 2.0
    xs, ys = clipped_diamond(lower, centre, upper, y, -1.0, 1.0)
    assert min(xs) == -1.0 and max(xs) == 1.0
    left = sorted(abs(b - y) for a, b in zip(xs, ys) if a == -1.0)
    right = sorted(abs(b - y) for a, b in zip(xs, ys) if a == 1.0)
    assert left == pytest.approx([0.36 * 2.0 / 3.5] * 2) and right == pytest.approx([0.36 * 3.0 / 3.5] * 2)
    assert (centre, y - 0.36) in zip(xs, ys) and (centre, y + 0.36) in zip(xs, ys)
    assert clipped_diamond(-0.5, 0.1, 0.6, y, -1.0, 1.0) == ([-0.5, 0.1, 0.6, 0.1], [y, y - 0.36, y, y + 0.36])
    assert clipped_diamond(1.5, 2.0, 3.0, y, -1.0, 1.0) == ([], [])
    assert clipped_diamond(np.nan, 0.3, np.nan, y, -1.0, 1.0) == ([], [])  # no CI (one study): no NaN corners


def test_moderator_forest_says_the_subtotals_are_wald_when_the_overall_diamond_is_not():
    """Under pooling.tests: [knha] (no z row) the overall diamond is the Knapp-Hartung row and the footnote said
    'Diamond: pooled estimate with 95% CI (Knapp-Hartung)', but the subtotal diamonds are subgroups.csv's Wald
    intervals. The default (overall z) says nothing more."""
    from alliance_meta.analyses.moderators import subgroup_fits

    data = simulated_family(30)
    subgroups = subgroup_fits(data, "modality", "z")

    def footnote_text(overall):
        texts, _ = text_boxes(moderator_forest_plot(data, "modality", subgroups, overall, "z")[0])
        return " ".join(" ".join(texts).split())

    knha = fit(data.yi, data.vi, "REML", "knha", metric="z").as_row()
    assert "Subtotal diamonds: Wald 95% CIs" in footnote_text(knha)
    assert "Subtotal diamonds" not in footnote_text(pooled_row(data))


def test_odds_ratio_ticks_of_a_wide_axis_do_not_run_into_each_other():
    """Over five decades (2x2 tables with zero cells) the forest plot's ticks 0.05, 0.1, 0.2, ..., 50 and the
    cumulative and subgroup plots' 0.01, 0.02, 0.05, ... overlapped ("0.050.10.2"); a narrow axis keeps 1-2-5."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.forest_draw import ticks
    from alliance_meta.plots.forest_options import ForestOptions
    from alliance_meta.plots.style import log_metric_axis

    options = ForestOptions.from_config({})
    wide = ticks(np.log(0.008), np.log(400), "log_or", options, panel=3.0)[1]
    assert wide == ["0.01", "0.1", "1", "10", "100"]
    assert ticks(np.log(0.3), np.log(8), "log_or", options, panel=3.0)[1] == ["0.5", "1", "2", "5"]
    assert len(ticks(np.log(0.008), np.log(400), "log_or", options)[1]) == 10  # no panel width: as before
    figure, axis = plt.subplots(figsize=(6, 2))
    try:
        log_metric_axis(axis)
        axis.set_xlim(0.006, 500)
        assert [t for t in axis.xaxis.get_majorticklocs() if 0.006 <= t <= 500] == pytest.approx([0.01, 0.1, 1, 10, 100])
        axis.set_xlim(0.3, 8)
        assert [t for t in axis.xaxis.get_majorticklocs() if 0.3 <= t <= 8] == pytest.approx([0.5, 1, 2, 5])
    finally:
        plt.close(figure)


def test_odds_ratio_ticks_of_a_narrow_axis_are_round_odds_ratios_on_both_sides_of_1():
    """An axis from 0.6 to 1.7 (four large studies of dat.hackshaw1998) had one tick, 1, in the forest plot; one from
    0.72 to 1.6 (the model-averaging figure of all 37) labelled 0.8, 0.9 and 1, and nothing above 1."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.forest_draw import ticks
    from alliance_meta.plots.forest_options import ForestOptions
    from alliance_meta.plots.style import log_metric_axis

    options = ForestOptions.from_config({})
    assert ticks(np.log(0.6), np.log(1.7), "log_or", options, panel=3.0)[1] == ["0.75", "1", "1.25", "1.5"]
    assert ticks(np.log(0.45), np.log(2.5), "log_or", options, panel=3.0)[1] == ["0.5", "1", "2"]  # as before
    figure, axis = plt.subplots(figsize=(4, 2))
    try:
        log_metric_axis(axis)
        axis.set_xlim(0.72, 1.6)
        figure.draw_without_rendering()
        labelled = [(label.get_position()[0], label.get_text()) for label in axis.get_xticklabels(which="both")]
        assert [text for value, text in sorted(labelled) if text and 0.72 <= value <= 1.6] == \
            ["0.8", "1", "1.2", "1.4", "1.6"]
    finally:
        plt.close(figure)


@pytest.mark.parametrize("panel", [0.5, 0.8, 1.2, 2.0])
def test_thinned_ticks_of_a_linear_axis_stay_evenly_spaced(panel):
    """A d axis from -1.2 to 1.5 on a narrow panel (a dropout family of 2x2 counts) was labelled "-1.0 0 1.0 1.5":
    the thinning kept the outermost tick, steps of 1, 1 and .5. Every second (third, ...) tick from 0 now."""
    from alliance_meta.plots.forest_draw import ticks, tick_labels_fit

    options = ForestOptions.from_config({})
    positions, labels = ticks(-1.2, 1.5, "smd", options, panel=panel)
    assert "0" in labels and len(labels) >= 2 and tick_labels_fit(positions, labels, -1.2, 1.5, panel, options)
    steps = np.diff(positions)
    np.testing.assert_allclose(steps, steps[0], atol=1e-12)


def test_the_funnel_plot_s_secondary_axis_spreads_ticks_that_would_crowd():
    """r = .97, -.99, 0 and n of 10^6 make a Fisher-z axis of -3.8 to 3.8, where r's ticks -0.5, 0, 0.5 ran into
    each other ("-0.50.00.5"); zero-cell 2x2 tables a log-OR axis where the odds-ratio ticks 20, 40, 60, 80 crowded
    at the right. A funnel whose ticks stand apart keeps matplotlib's."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.funnel import funnel_plot

    def top_labels(*args):
        figure = funnel_plot(*args)
        figure.draw_without_rendering()
        labels = [label.get_text() for label in figure.axes[0].child_axes[0].get_xticklabels()]
        plt.close(figure)
        return labels

    assert top_labels([2.09, -2.65, 0, 1.47, 0.213, 0.266, 3.8], [0.111, 0.333, 0.0213, 1, 1e-6, 4e-6, 0.5], "z",
                      0.699) == ["\u2212.99", "\u2212.9", "0", ".9", ".99"]  # r: no leading zero (APA)
    assert top_labels([2.9, -2.05, -1.67, 0.18, 0.98], [2.4, 2.5, 2.4, 4.07, 0.31], "log_or",
                      0.24) == ["0.01", "0.1", "1", "10", "100"]  # the axis holds the dotted funnel
    rng = np.random.default_rng(5)
    yi, vi = rng.normal(0.3, 0.15, 60), rng.uniform(0.004, 0.05, 60)
    # estimate 0: the dotted funnel inside the studies' extent, the axis theirs
    assert top_labels(yi, vi, "z", 0.0) == ["\u2212.75", "\u2212.50", "\u2212.25", "0", ".25", ".50", ".75"]


@pytest.mark.parametrize("method, label", [("common", "Common-effect estimate"), ("REML", "Random-effects estimate"),
                                           ("DL", "Random-effects estimate")])
def test_the_funnel_plot_names_the_estimate_of_the_fit_s_model(method, label):
    """The funnel of a common-effect fit drew its common-effect estimate as the "Random-effects estimate"."""
    import matplotlib.pyplot as plt

    import alliance_meta as am

    rng = np.random.default_rng(2)
    vi = rng.uniform(0.01, 0.05, 12)
    fit = am.fit(rng.normal(0.3, 0.2, 12), vi, method=method, metric="z")
    bias = am.publication_bias(fit)
    figure = bias.funnel()
    try:
        legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
        assert legend[0] == label
        assert figure.axes[0].lines[0].get_xdata()[0] == pytest.approx(fit.estimate)  # the line is the fit's estimate
    finally:
        plt.close(figure)


def test_funnel_axis_holds_the_pseudo_confidence_funnel_of_a_single_study():
    """k = 1 (one_study): the axis stopped at the study, the estimate on the frame and the dotted funnel cut off."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.funnel import funnel_plot

    figure = funnel_plot([0.33], [0.0059], "z", estimate=0.33)
    lower, upper = figure.axes[0].get_xlim()
    se_max = 1.08 * 0.1  # the floor of the SE axis
    assert upper > 0.33 + 1.96 * se_max and lower < 0.33 - 1.96 * se_max
    plt.close(figure)


def test_funnel_secondary_axis_labels_do_not_run_together():
    """The demo's outcome funnel (k = 125, SE to 0.26, estimate .30) on an axis of +-0.89: r's default ticks
    -0.50, -0.25, 0.00, 0.25, 0.50 passed the spacing rule, and "-0.25 0.00" and "0.25" touched."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.funnel import funnel_plot

    rng = np.random.default_rng(3)
    se = np.concatenate([rng.uniform(0.035, 0.21, 124), [0.258]])
    yi = np.concatenate([rng.normal(0.3, 0.13, 124), [0.82]])
    figure = funnel_plot(yi, se ** 2, "z", 0.3)
    figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()
    boxes = sorted((label.get_window_extent(renderer) for label in figure.axes[0].child_axes[0].get_xticklabels()
                    if label.get_text()), key=lambda box: box.x0)
    assert len(boxes) >= 3
    assert all(right.x0 - left.x1 >= 0.5 * left.height for left, right in zip(boxes, boxes[1:]))
    plt.close(figure)


@pytest.mark.parametrize("metric", ["r", "z"])
def test_axis_ends_near_a_labelled_tick(metric):
    """Ticks 0, .2, .4 on an axis reaching .58 (the psychometric plot) left its end unlabelled: the end moves
    out to the next round tick where the last one lies more than three quarters of a step (BARE_END) inside."""
    from alliance_meta.plots.forest_draw import SCALES, ticks, x_limits
    from alliance_meta.plots.forest_layout import Row

    inverse = SCALES[metric][2]
    rows = [Row("study", ["a"], lower=float(inverse(-0.27)), upper=float(inverse(0.10))),
            Row("study", ["b"], lower=float(inverse(0.05)), upper=float(inverse(0.55)))]
    low, high = x_limits(rows, metric, ForestOptions())
    positions, _ = ticks(low, high, metric, ForestOptions(), panel=3.0)
    transform = SCALES[metric][1]
    step = np.diff(transform(positions)).min()
    assert transform(high) - transform(positions[-1]) <= 0.75 * step + 1e-9
    assert transform(positions[0]) - transform(low) <= 0.75 * step + 1e-9


def test_a_column_no_study_of_the_family_fills_is_left_out():
    """plots.columns named a moderator coded only in the other family (a dropout family without the outcome
    family's design): its header stood over an empty column, in the overall and the moderator forest plots."""
    from alliance_meta.analyses.moderators import subgroup_fits

    data = simulated_family(6).assign(design=np.nan, rater=["patient", "therapist"] * 3)  # SIMULATED
    options = ForestOptions(columns=["design", "rater"], column_labels={"design": "Design", "rater": "Rater"})
    pooled = pooled_row(data)
    figures = [forest_plot(data, pooled, "z", options=options),
               moderator_forest_plot(data, "modality", subgroup_fits(data, "modality", "z"), pooled, "z",
                                     options=options)[0]]
    for figure in figures:
        texts = text_boxes(figure)[0]
        assert "Rater" in texts and "Design" not in texts


@pytest.mark.parametrize("metric", ["z", "smd", "log_or"])
def test_forest_axis_labels_write_the_statistic_in_italics_as_the_other_figures(metric, tmp_path):
    """The forest plots' axes read "Correlation r" with an upright r, where the subgroup and bubble plots (and APA)
    set the statistic's symbol in italics: their label now comes from the same helper (style.display_scale), the
    symbol in the forest's configured font (plots.font_family), also on the moderator forest plots."""
    from alliance_meta.analyses.moderators import subgroup_fits
    from alliance_meta.plots.style import display_scale

    data = simulated_family(12)
    label = display_scale(metric)[0]
    assert label == {"z": "Correlation $r$", "smd": "Hedges' $g$", "log_or": "Odds ratio"}[metric]
    options = ForestOptions(font_family="DejaVu Serif")
    figures = [forest_plot(data, pooled_row(data, metric), metric, options=options),
               *moderator_forest_plot(data, "modality", subgroup_fits(data, "modality", metric),
                                      pooled_row(data, metric), metric, options=options)]
    assert all(figure.axes[0].get_xlabel() == label for figure in figures)
    if metric == "z":
        save_forest_plot(data, pooled_row(data), "z", [tmp_path / "forest.svg"], options=options)
        svg = (tmp_path / "forest.svg").read_text(encoding="utf-8")
        assert "font-style: italic; font-size: 8px; font-family: 'DejaVu Serif'" in svg


@pytest.mark.parametrize("family", ["sans-serif", "serif"])
def test_a_generic_font_family_draws_the_italic_axis_label(family, tmp_path):
    """plots.font_family: sans-serif (the config's documented generic family) stopped every forest plot with a
    ParseException: the math fonts are fontconfig patterns, which read "sans-serif:italic" as family "sans", size
    "serif". The family is escaped there."""
    data = simulated_family(12)
    save_forest_plot(data, pooled_row(data), "z", [tmp_path / "forest.svg"], options=ForestOptions(font_family=family))
    svg = (tmp_path / "forest.svg").read_text(encoding="utf-8")
    assert "font-style: italic" in svg or "font-style: oblique" in svg  # DejaVu Sans's italic is its Oblique


def test_a_forest_plot_wider_than_plots_width_is_said_in_the_log_once_by_the_save_function(caplog):
    """plots.width 7 in (a journal's two columns) gave the demo's forest plots 9.8 in, widened for the text columns
    (plots.columns, rob symbols): scaled back to 7 in their 8-pt text is 5.7 pt. The save function logs it (each
    script computed and logged it itself): at INFO when plots.width is not set (the default page, widened by
    design; the shipped config's six forest plots each WARNed), a WARNING when the reviewer asked for that width."""
    import logging

    data = simulated_family(8)
    data = data.assign(measure="Working Alliance Inventory", timing="averaged over sessions")
    logger = logging.getLogger("test_forest_width")
    caplog.set_level(logging.INFO, logger="test_forest_width")
    save_forest_plot(data, pooled_row(data), "z", [], options=ForestOptions(), logger=logger)
    assert caplog.records == []  # no text columns: it fits
    figures = save_forest_plot(data, pooled_row(data), "z", [], options=ForestOptions(columns=["measure", "timing"]),
                               logger=logger)
    assert caplog.records == [] and figures[0].get_figwidth() <= 7.0  # the columns under the names: it fits
    # a name of one word that no layout fits into 7 in (nor breaks)
    data = data.assign(authors="The-Collaborative-Study-Group-of-the-Alliance-in-Brief-Psychotherapy-Consortium")
    for width, level, than in ((None, logging.INFO, "the 7-in page (plots.width not set)"),
                               (7.0, logging.WARNING, "plots.width (7 in)")):
        caplog.clear()
        options = ForestOptions(width=width, columns=["measure", "timing"], label_width=90)
        figures = save_forest_plot(data, pooled_row(data), "z", [], options=options, logger=logger)
        drawn = figures[0].get_figwidth()
        assert drawn > 7.0
        assert [record.levelno for record in caplog.records] == [level]
        message = caplog.records[0].getMessage()
        # the columns at their narrowest (test_the_log_names_the_columns_at_their_narrowest), the one that the name
        # widens said; fewer plots.columns or a smaller plots.label_width, which the log advised, narrow it no more
        assert message.startswith(f"forest plot: {drawn:.2f} in wide, wider than {than} to fit its text columns; "
                                  "its columns at their narrowest: study ")
        assert "(as wide as a word that does not break)" in message
        assert message.endswith(f"; scaled to 7 in its 8-pt text is {8 * 7 / drawn:.1f} pt (a shorter study label "
                                "narrows it; a smaller plots.font_size narrows every column)")
    from alliance_meta.analyses.moderators import subgroup_fits

    caplog.clear()
    save_moderator_forest_plot(data, "modality", subgroup_fits(data, "modality", "z"), pooled_row(data), "z", [],
                               options=ForestOptions(columns=["measure", "timing"], label_width=90), logger=logger)
    assert [record.getMessage().split(":")[0] for record in caplog.records] == ["forest plot of modality"]


def test_the_log_names_the_columns_at_their_narrowest(caplog):
    """At plots.width 5.5 with the demo's plots.columns (n, rater, measure, timing) and QUIPS risk of bias, the forest
    plot came out 6.26 in wide and the log advised fewer plots.columns or a smaller plots.label_width, neither of which
    narrows it (the columns go under the names, the names wrap at the page). It cannot fit: the study column wraps at
    1.2 in at the narrowest, the panel is at 1.3 in, the estimate, weight and seven risk-of-bias columns at their
    text's width. The log now gives each column's width, which add up to the figure's, and what does narrow it."""
    import logging
    import re

    from alliance_meta.plots.forest_draw import NARROWEST_NAMES
    from alliance_meta.plots.forest_layout import COMPACT_PANEL
    from alliance_meta.inputs.risk_of_bias import tool_from_config

    tool = tool_from_config({"tool": "quips"})
    data = simulated_family(30).assign(authors=[f"Simulated study {i:03d}" for i in range(30)],
                                       rater="therapist", measure="CALPAS", timing="averaged",
                                       **{column: tool.judgements[0] for column in tool.columns})  # SIMULATED
    logger = logging.getLogger("test_forest_narrowest")
    caplog.set_level(logging.INFO, logger="test_forest_narrowest")
    asked = {"width": 5.5, "columns": ["n", "rater", "measure", "timing"], "rob": True}
    figure, = save_forest_plot(data, pooled_row(data), "z", [], options=ForestOptions.from_config(
        asked, {"tool": "quips"}), logger=logger)
    message, = [record.getMessage() for record in caplog.records]
    widths = dict((name, float(value)) for name, value in re.findall(
        r"(study|plot panel|estimate \[CI\]|weight|risk of bias|margins and gaps) (\d+\.\d+) in", message))
    assert set(widths) == {"study", "plot panel", "estimate [CI]", "weight", "risk of bias", "margins and gaps"}
    assert sum(widths.values()) == pytest.approx(figure.get_figwidth(), abs=0.03)
    assert f"{figure.get_figwidth():.2f} in wide" in message and figure.get_figwidth() > 5.5
    assert widths["study"] <= NARROWEST_NAMES and widths["plot panel"] == COMPACT_PANEL
    assert "7 symbol columns" in message and "plots.rob false makes it fit" in message
    assert "plots.columns" not in message and "label_width" not in message
    without = save_forest_plot(data, pooled_row(data), "z", [], options=ForestOptions.from_config(
        {**asked, "rob": False}))[0]
    assert without.get_figwidth() <= 5.5 + 1e-9  # as the log says


def test_the_log_names_the_n_column_at_its_narrowest(caplog):
    """Risk of bias with n a column of its own (not among plots.columns): the log's widths left the n column out, its
    0.21 in counted among "margins and gaps"."""
    import logging
    import re

    from alliance_meta.inputs.risk_of_bias import tool_from_config
    from alliance_meta.plots.forest_layout import GAP, MARGIN, text_width

    tool = tool_from_config({"tool": "quips"})
    data = simulated_family(30).assign(authors=[f"Simulated study {i:03d}" for i in range(30)],
                                       **{column: tool.judgements[0] for column in tool.columns})  # SIMULATED
    logger = logging.getLogger("test_forest_narrowest_n")
    caplog.set_level(logging.INFO, logger="test_forest_narrowest_n")
    figure, = save_forest_plot(data, pooled_row(data), "z", [], options=ForestOptions.from_config(
        {"width": 4.5, "rob": True}, {"tool": "quips"}), logger=logger)
    message, = [record.getMessage() for record in caplog.records]
    widths = dict((name, float(value)) for name, value in re.findall(
        r"(study|n|plot panel|estimate \[CI\]|weight|risk of bias|margins and gaps) (\d+\.\d+) in", message))
    n_cells = [f"{n:,.0f}" for n in data["n"]]
    assert widths["n"] == pytest.approx(max(text_width(n_cells, 8, "DejaVu Sans"),
                                            text_width(["$n$"], 8, "DejaVu Sans", bold=True)), abs=0.06)
    assert sum(widths.values()) == pytest.approx(figure.get_figwidth(), abs=0.03)
    assert widths["margins and gaps"] == pytest.approx(2 * MARGIN + 5 * GAP, abs=0.01)
