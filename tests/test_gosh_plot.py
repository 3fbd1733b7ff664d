"""The GOSH plot's odds-ratio axis: tick labels that stand apart."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from alliance_meta.analyses.gosh import gosh
from alliance_meta.plots.gosh import gosh_plot

# 2x2 dropout tables (dropouts, completers in each arm) with zero cells, 0.5 added to every cell
TABLES = [(0, 20, 3, 17), (2, 30, 0, 25), (3, 40, 8, 35), (1, 12, 5, 10), (9, 20, 2, 28), (4, 50, 4, 46),
          (6, 18, 1, 30), (2, 25, 7, 20), (1, 40, 3, 37), (8, 15, 1, 22)]


def log_odds_ratios(tables):
    a, b, c, d = (np.array(cells, float) + 0.5 for cells in zip(*tables))
    return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d


def drawn_labels(figure):
    """Per panel with an x label: the visible x tick labels (text, display extent), left to right."""
    figure.canvas.draw()
    panels = []
    for axis in figure.axes:
        if not axis.get_xlabel():
            continue
        low, high = sorted(axis.get_xlim())
        labels = [label for label in axis.get_xticklabels(which="both")
                  if label.get_visible() and label.get_text() and low <= label.get_position()[0] <= high]
        panels.append(sorted(((label.get_text(), label.get_window_extent()) for label in labels),
                             key=lambda item: item[1].x0))
    return panels


def test_odds_ratio_tick_labels_of_the_gosh_plot_do_not_overlap():
    """Over two decades on a 2.6-inch panel, log_metric_axis labelled 0.2, 0.3, 0.4, 0.5, 0.6 into one smear."""
    yi, vi = log_odds_ratios(TABLES)
    figure = gosh_plot(gosh(yi, vi, method="DL"), highlight=(0, 4, 9), metric="log_or")
    try:
        for labels in drawn_labels(figure):
            assert len(labels) >= 3
            assert "1" in [text for text, _ in labels]
            for (_, left), (_, right) in zip(labels, labels[1:]):
                assert left.x1 < right.x0, [text for text, _ in labels]
    finally:
        plt.close(figure)


def test_gosh_tick_labels_that_stand_apart_are_kept():
    """A narrow odds-ratio axis keeps log_metric_axis' labels (1, 2, 3 with a labelled minor tick)."""
    rng = np.random.default_rng(3)
    rng.normal(0, 0.25, 9), rng.uniform(0.02, 0.1, 9)  # the draws of a first, narrower data set
    yi, vi = rng.normal(0, 0.6, 9), rng.uniform(0.02, 0.1, 9)
    figure = gosh_plot(gosh(yi, vi, method="DL"), highlight=(0,), metric="log_or")
    try:
        (labels,) = drawn_labels(figure)
        assert [text for text, _ in labels] == ["1", "2", "3"]
    finally:
        plt.close(figure)


def inside(figure) -> bool:
    """Whether everything drawn lies within the figure: what figure.savefig(path) keeps."""
    figure.draw_without_rendering()
    box = figure.get_tightbbox()
    width, height = figure.get_size_inches()
    return box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height


def test_the_gosh_figure_keeps_its_axis_titles_when_saved_as_it_is():
    """am.gosh(fit).plot().savefig(path) cut the I^2 axis title off at the left edge (matplotlib's default
    margin; the pipeline saves with bbox_inches="tight", a notebook's savefig does not)."""
    yi, vi = log_odds_ratios(TABLES)
    for metric, highlight in (("smd", (0,)), ("log_or", (0, 4, 9)), ("z", ())):
        figure = gosh_plot(gosh(yi, vi, method="DL"), highlight=highlight, metric=metric)
        try:
            assert inside(figure), metric
        finally:
            plt.close(figure)


def test_subsets_that_all_have_an_i2_of_zero_are_drawn():
    """Homogeneous studies (every subset's I^2 at 0): hexbin's grid had no height, so its hexagons were 0.004
    points of I^2 tall and the panel looked empty."""
    from matplotlib.collections import PolyCollection

    yi = 0.3 + np.random.default_rng(2).normal(0, 0.01, 12)
    for metric, values in (("z", yi), ("log_or", yi * 3)):
        result = gosh(values, np.full(12, 0.02), method="REML")
        assert np.all(result.i2[result.fitted] == 0)
        figure = gosh_plot(result, highlight=(0,), metric=metric, hexbin_above=100)
        try:
            hexagons = [c for c in figure.axes[0].collections if isinstance(c, PolyCollection)]
            assert hexagons and all(len(c.get_array()) > 0 for c in hexagons)
            assert all(np.ptp(c.get_paths()[0].vertices[:, 1]) > 1 for c in hexagons)  # I^2 points: visible
            figure.canvas.draw()
        finally:
            plt.close(figure)


def test_the_gosh_plot_names_its_estimator_in_words():
    """The x axis read "Correlation r (REML)", REML defined nowhere in the figure (APA 2020, 7.26): the estimator in
    the words of the Methods (wording.ESTIMATOR_NAMES)."""
    yi, vi = log_odds_ratios(TABLES)
    for method, words in (("REML", "restricted maximum likelihood"), ("DL", "DerSimonian\u2013Laird")):
        figure = gosh_plot(gosh(yi[:6], vi[:6], method=method), metric="z")
        assert [axis.get_xlabel() for axis in figure.axes if axis.get_xlabel()] == [
            f"Correlation $r$\n({words} estimate)"]
        plt.close(figure)


def test_the_share_of_each_hexagon_is_hexbins_own_without_its_loop_over_every_subset(monkeypatch):
    """The panel's share layer was ``hexbin(x, i2, C=with_study, reduce_C_function=np.mean)``, whose C path runs a
    Python loop over every subset (1.5-2 s per panel for the demo's 10^6; docs/performance.md). Hexbin now gets one
    point per hexagon shown, and the collection is the one it made from all the subsets: the same hexagons,
    shares, grid and data limits, on linear and log axes, with a degenerate I^2 or estimate range."""
    from matplotlib.axes import Axes

    from alliance_meta.plots import gosh as plot_module

    rng = np.random.default_rng(11)
    n = 30_000
    for log_x, flat in ((False, None), (True, None), (False, "i2"), (True, "i2"), (False, "x")):
        x = np.exp(rng.normal(0, 0.4, n)) if log_x else rng.normal(0.5, 0.05, n)
        i2 = np.zeros(n) if flat == "i2" else np.clip(rng.normal(17, 17, n), 0, 100)
        if flat == "x":
            x = np.full(n, 0.3)
        with_study = rng.random(n) < 0.4
        extent = plot_module._hexbin_extent(x, i2, log_x)
        style = dict(gridsize=60, cmap=plot_module.SHARE_COLOURS, vmin=0, vmax=1, mincnt=5, linewidths=0)
        figure, (plain, shared) = plt.subplots(1, 2)
        try:
            expected = plain.hexbin(x, i2, C=with_study.astype(float), reduce_C_function=np.mean,
                                    xscale="log" if log_x else "linear", extent=extent, **style)
            collection = plot_module._share_hexbin(shared, x, i2, with_study, extent, log_x, **style)
            assert collection.get_array().tobytes() == expected.get_array().tobytes()
            np.testing.assert_array_equal(collection.get_offsets(), expected.get_offsets())
            np.testing.assert_array_equal(collection.get_paths()[0].vertices, expected.get_paths()[0].vertices)
            np.testing.assert_array_equal(shared.dataLim.get_points(), plain.dataLim.get_points())
            assert shared.get_xscale() == plain.get_xscale()
            assert 0 < len(expected.get_array()) < n
        finally:
            plt.close(figure)

    calls = []
    hexbin = Axes.hexbin

    def recording(self, x, y, C=None, **kwargs):
        calls.append((len(x), C is not None))
        return hexbin(self, x, y, C=C, **kwargs)

    monkeypatch.setattr(Axes, "hexbin", recording)
    result = gosh(rng.normal(0.3, 0.2, 16), rng.uniform(0.01, 0.05, 16), method="DL")  # all 65,535 subsets
    figure = gosh_plot(result, highlight=(0, 3), metric="smd")
    plt.close(figure)
    fitted = int(result.fitted.sum())
    assert [shares for _, shares in calls] == [False, True, False, True]
    assert all(points == fitted for points, shares in calls if not shares)  # the count layer: every subset
    assert all(points < 4_000 for points, shares in calls if shares)  # the share layer: one point per hexagon


def test_the_histogram_of_identical_estimates_is_centred_on_them():
    """Eight studies of r = .25, n = 80: every subset's estimate is r = .25, and numpy's 40 bins over +-0.5 drew its
    bar from .25 to .275, beside the points it counts."""
    for metric, yi in (("z", np.arctanh(0.25)), ("log_or", np.log(2.0))):
        result = gosh(np.full(8, yi), np.full(8, 1 / 77), method="REML")
        figure = gosh_plot(result, highlight=(0,), metric=metric)
        try:
            estimate = result.estimate[result.fitted][0]
            shown = np.tanh(estimate) if metric == "z" else np.exp(estimate)
            bars = [bar for bar in figure.axes[1].patches if bar.get_height() > 0]
            assert bars
            for bar in bars:
                left, right = bar.get_x(), bar.get_x() + bar.get_width()
                centre = np.sqrt(left * right) if metric == "log_or" else (left + right) / 2
                assert centre == pytest.approx(shown, rel=1e-9)
                assert right - left < 0.05 * shown  # one bin among 40 over the panel, not a block beside it
        finally:
            plt.close(figure)


@pytest.mark.parametrize("spread", [1e-7, 1e-6, 1e-5, 1e-4, 0.02])
def test_the_r_axis_writes_its_ticks_in_one_style_as_the_forest_plots(tmp_path, spread):
    """The r axis (Fisher z back-transformed) was matplotlib's ScalarFormatter without the leading zero: estimates
    that barely vary (simulated r of .3 +- 1e-5) read "−1.0 −.5 0 .5 1.0" under an offset "1e−5+3e−1", and
    "−.00010 ... .00005" beside "+5e−1". Its ticks are now written as the forest plots write r ticks
    (forest_draw.tick_labels): the values themselves, one number of decimals, no offset. Ticks a millionth apart
    (a spread of 1e-6, 1e-7) had all read ".3" (decimals chosen at numpy's default relative tolerance): they are
    distinct and true."""
    import re

    from alliance_meta.plots.forest_draw import tick_labels
    from alliance_meta.plots.forest_options import ForestOptions

    rng = np.random.default_rng(1)
    yi = np.arctanh(rng.normal(0.3, spread, 10))  # SIMULATED
    figure = gosh_plot(gosh(yi, np.full(10, 1e-5), "REML", subsets=300), metric="z")
    figure.savefig(tmp_path / "gosh_r.png", dpi=80)
    axis = figure.axes[0]
    low, high = axis.get_xlim()
    ticks = [(tick, label.get_text()) for tick, label in zip(axis.get_xticks(), axis.get_xticklabels())
             if low <= tick <= high]
    texts = [text for _, text in ticks]
    assert axis.xaxis.get_offset_text().get_text() == "", axis.xaxis.get_offset_text().get_text()
    assert all(re.fullmatch(r"\u2212?\.\d+|0|\u2212?1\.\d+", text) for text in texts), texts
    assert len({len(text.lstrip("\u2212").partition(".")[2]) for text in texts if text != "0"}) == 1, texts
    assert texts == tick_labels(np.array([tick for tick, _ in ticks]), "z", ForestOptions()), texts
    assert len(set(texts)) == len(texts) > 1, texts  # no tick's label repeats another's
    step = np.diff([tick for tick, _ in ticks]).min()
    assert all(abs(float(text.replace("\u2212", "-")) - tick) < 0.01 * step for tick, text in ticks if text != "0")
    plt.close(figure)


def test_tick_labels_a_millionth_apart_are_distinct_and_true():
    """np.allclose's default rtol (1e-5) counted ticks millionths apart as round: .2999995, .3, .3000005 read
    ".3", ".3", ".3". Round ticks keep their fewest decimals."""
    from alliance_meta.plots.forest_draw import tick_labels
    from alliance_meta.plots.forest_options import ForestOptions

    options = ForestOptions()
    assert tick_labels(np.array([0.2999995, 0.3, 0.3000005]), "z", options) == [".2999995", ".3000000", ".3000005"]
    assert tick_labels(np.array([0.2999999, 0.3, 0.3000001]), "smd", options) == [
        "0.2999999", "0.3000000", "0.3000001"]
    assert tick_labels(np.array([-0.5, 0.0, 0.5, 1.0]), "z", options) == ["\u2212.5", "0", ".5", "1.0"]
    assert tick_labels(np.array([0.1, 0.2, 0.1 + 0.2]), "smd", options) == ["0.1", "0.2", "0.3"]
