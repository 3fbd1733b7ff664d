"""GOSH plot (Olkin, Dahabreh & Trikalinos 2012): I^2 against the pooled estimate of every subset.

As metafor's ``plot.gosh.rma(x, out = study)``: one panel per highlighted study, the subsets
that contain it in red and the others in grey, with the distributions of the estimates above
and of I^2 to the right. Estimates are drawn on the readers' scale (r for Fisher z, g for
SMD, odds ratios on a log axis for log OR). Few subsets are drawn as translucent points in
random order (neither group hides the other). Many (more than ``hexbin_above``) are drawn as
hexagonal bins, so a million subsets stay legible and the PDF small: a light grey layer
shaded by the log of the count shows where subsets fall, and hexagons with at least five
subsets are coloured by the share of them that contain the study (grey 0, red 1).
"""

from __future__ import annotations

import math
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib import transforms as mtransforms  # noqa: E402

from alliance_meta.plots import forest_draw  # noqa: E402
from alliance_meta.plots.style import (SCALES as STYLE_SCALES, SMALLEST_FONT, STYLE, display_scale,  # noqa: E402
                                     keep_inside, metric_axis, plain_text, symbol)
from alliance_meta.wording import ESTIMATOR_NAMES  # noqa: E402

# Red and a light grey: in greyscale the red is the darker of the two (a dark grey, #4d4d4d, printed as light
# as the red, and subsets with and without the study could not be told apart); one panel of all subsets: dark grey.
WITH_COLOUR = "#b2182b"
WITHOUT_COLOUR = "#a3a3a3"
ALL_COLOUR = "#4d4d4d"
HEXBIN_ABOVE = 20_000


def _panel(figure, spec, x, i2, with_study, title, metric, hexbin, x_label, bins_x, bins_y, show_y_label):
    grid = spec.subgridspec(2, 2, width_ratios=(4.0, 1.0), height_ratios=(1.0, 4.0), wspace=0.05, hspace=0.05)
    main = figure.add_subplot(grid[1, 0])
    top = figure.add_subplot(grid[0, 0], sharex=main)
    right = figure.add_subplot(grid[1, 1], sharey=main)
    split = with_study.any() and not with_study.all()
    log_x = metric == "log_or"
    scale = "log" if log_x else "linear"
    if hexbin:
        extent = _hexbin_extent(x, i2, log_x)
        # every subset as a light count background; where a hexagon holds enough subsets, its
        # colour is the share that contain the study (grey 0 -> red 1), so neither group hides the other
        main.hexbin(x, i2, gridsize=60, bins="log", cmap=_ramp("#e3e3e3", "#9e9e9e"), mincnt=1, linewidths=0,
                    xscale=scale, extent=extent)
        if split:
            shares = _share_hexbin(main, x, i2, with_study, extent, log_x, gridsize=60, cmap=SHARE_COLOURS,
                                   vmin=0, vmax=1, mincnt=5, linewidths=0)
            corner = figure.add_subplot(grid[0, 1])
            corner.axis("off")
            bar = figure.colorbar(shares, cax=corner.inset_axes([0.08, 0.45, 0.84, 0.14]),
                                  orientation="horizontal", ticks=[0, 0.5, 1])
            bar.ax.tick_params(labelsize=SMALLEST_FONT, length=2, pad=1)  # 6 pt: below it
            bar.ax.set_xticklabels(["0", ".5", "1"])
            bar.ax.set_title("share with it", fontsize=SMALLEST_FONT, pad=2)
    else:
        order = np.random.default_rng(0).permutation(x.size)  # neither group drawn on top of the other
        colours = np.where(with_study[order], WITH_COLOUR, WITHOUT_COLOUR if split else ALL_COLOUR)
        main.scatter(x[order], i2[order], s=4, c=colours, alpha=0.35, linewidths=0, rasterized=True)
    groups = [(~with_study, WITHOUT_COLOUR), (with_study, WITH_COLOUR)] if split else [(np.ones_like(with_study), ALL_COLOUR)]
    for rows, colour in groups:
        top.hist(x[rows], bins=bins_x, color=colour, alpha=0.55, density=True)
        right.hist(i2[rows], bins=bins_y, color=colour, alpha=0.55, density=True, orientation="horizontal")
    metric_axis(main, metric)
    low, high = (np.log(x.min()), np.log(x.max())) if log_x else (x.min(), x.max())
    pad = 0.04 * (high - low) if high > low else 0.05
    main.set_xlim(*((np.exp(low - pad), np.exp(high + pad)) if log_x else (low - pad, high + pad)))
    if log_x:
        forest_draw.spread_odds_ticks(figure, main)
    elif metric is not None and STYLE_SCALES[metric].bounded:  # r as the forest plots write it, one style an axis
        main.xaxis.set_major_formatter(forest_draw.TickLabels(metric))
    main.set_xlabel(x_label)
    if show_y_label:
        main.set_ylabel(f"{symbol('I2')} (%)")
    main.set_ylim(-2, 102)
    for axis in (top, right):
        axis.tick_params(which="both", labelleft=False, labelbottom=False, left=False, bottom=False)
        for side in ("left", "bottom", "top", "right"):
            axis.spines[side].set_visible(False)
    main.spines["left"].set_visible(True)
    top.set_title(title, fontsize=9, loc="left")
    return main


def _hexbin_extent(x, i2, log_x: bool):
    """None (hexbin's own extent, the data's range) unless the estimates or the I^2 values do not vary (every I^2
    at 0 in homogeneous data): hexbin's grid then has no height or width and draws nothing, so that side spans
    the I^2 axis (0-100) or 0.05 around the estimate (in log10 units for odds ratios, as hexbin's xscale)."""
    xs = np.log10(x) if log_x else x
    if xs.max() > xs.min() and i2.max() > i2.min():
        return None
    x_range = (xs.min(), xs.max()) if xs.max() > xs.min() else (xs.min() - 0.05, xs.max() + 0.05)
    y_range = (i2.min(), i2.max()) if i2.max() > i2.min() else (0.0, 100.0)
    return (*x_range, *y_range)


def _share_hexbin(axis, x, i2, with_study, extent, log_x: bool, gridsize: int, mincnt: int, **style):
    """``axis.hexbin(x, i2, C=with_study, reduce_C_function=np.mean, mincnt=mincnt, extent=extent, ...)``, the same
    collection, without hexbin's Python loop over every point (1.5-2 s per panel for 10^6 subsets).

    Each point's hexagon is found as hexbin finds it (matplotlib 3.11's ``Axes.hexbin``, copied arithmetic), the
    share of each hexagon with ``mincnt`` or more points is counted (the mean of 0s and 1s: the count with the study
    over the count, one division, as ``np.mean`` of the list), and hexbin is handed one point at each such hexagon's
    centre with its share as C, on the same grid (the extent hexbin would take from the data). In hexbin's index
    units a centre is 0 (squared distance) from its own lattice point and 1 from the other lattice's nearest, so
    rounding cannot move it. tests/test_gosh_plot.py compares the collection with hexbin's C path."""
    tx = np.log10(x) if log_x else np.asarray(x, float)
    ty = np.asarray(i2, float)
    if extent is None:  # hexbin's own: the data's range, widened where it is (nearly) a point
        extent = (*mtransforms._nonsingular(tx.min(), tx.max(), expander=0.1),
                  *mtransforms._nonsingular(ty.min(), ty.max(), expander=0.1))
    xmin, xmax, ymin, ymax = extent
    nx, ny = gridsize, int(gridsize / math.sqrt(3))
    nx1, ny1 = nx + 1, ny + 1
    padding = 1.e-9 * (xmax - xmin)
    xmin, xmax = xmin - padding, xmax + padding
    sx, sy = (xmax - xmin) / nx, (ymax - ymin) / ny
    ix, iy = (tx - xmin) / sx, (ty - ymin) / sy
    ix1, iy1 = np.round(ix).astype(int), np.round(iy).astype(int)
    ix2, iy2 = np.floor(ix).astype(int), np.floor(iy).astype(int)
    # one index over both lattices, as hexbin's accum: nx1 * ny1 cells, then nx * ny; out of range: -1
    i1 = np.where((0 <= ix1) & (ix1 < nx1) & (0 <= iy1) & (iy1 < ny1), ix1 * ny1 + iy1, -1)
    i2_ = np.where((0 <= ix2) & (ix2 < nx) & (0 <= iy2) & (iy2 < ny), nx1 * ny1 + ix2 * ny + iy2, -1)
    first = (ix - ix1) ** 2 + 3.0 * (iy - iy1) ** 2 < (ix - ix2 - 0.5) ** 2 + 3.0 * (iy - iy2 - 0.5) ** 2
    cell = np.where(first, i1, i2_)
    inside = cell >= 0
    cells = nx1 * ny1 + nx * ny
    total = np.bincount(cell[inside], minlength=cells)
    held = np.bincount(cell[inside & np.asarray(with_study, bool)], minlength=cells)
    shown = np.flatnonzero(total >= mincnt)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = held[shown] / total[shown].astype(float)
    lattice2 = shown >= nx1 * ny1
    local = np.where(lattice2, shown - nx1 * ny1, shown)
    column, row = np.where(lattice2, local // ny, local // ny1), np.where(lattice2, local % ny, local % ny1)
    centre_x = xmin + (column + np.where(lattice2, 0.5, 0.0)) * sx
    centre_y = ymin + (row + np.where(lattice2, 0.5, 0.0)) * sy
    return axis.hexbin(10.0 ** centre_x if log_x else centre_x, centre_y, C=share, reduce_C_function=np.mean,
                       gridsize=gridsize, mincnt=1, xscale="log" if log_x else "linear", extent=extent, **style)


def _ramp(*colours):
    return mcolors.LinearSegmentedColormap.from_list("ramp", list(colours))


SHARE_COLOURS = _ramp(WITHOUT_COLOUR, WITH_COLOUR)  # darker with the share: ordered in greyscale too


def gosh_plot(result, highlight=(), labels=None, metric: str = "smd", hexbin_above: int = HEXBIN_ABOVE):
    """The GOSH figure of a :class:`~alliance_meta.analyses.gosh.GoshResult`.

    ``highlight``: study positions (0-based) to show one panel each (at most 3), e.g. the
    influential studies; none gives one panel with all subsets. ``labels``: study labels
    (default the result's ``study_id``).
    """
    ok = result.fitted
    label_text, transform, _ = display_scale(metric)
    x = np.asarray(transform(result.estimate[ok]), dtype=float)
    i2 = result.i2[ok]
    included = result.included[ok]
    labels = [plain_text(label) for label in (labels if labels is not None else result.study_id)]
    highlight = list(highlight)[:3]
    log_x = metric == "log_or"
    hexbin = x.size > hexbin_above
    span = np.log(x) if log_x else x
    # 40 bins over the estimates' range; estimates that do not vary (identical effects): one bin, a 40th of the
    # panel's 0.1 (_panel), centred on them (numpy's 40 bins over +-0.5 drew it beside them)
    edges = np.linspace(span.min(), span.max(), 41) if span.max() > span.min() else span.min() + np.array([-1, 1]) / 800
    bins_x = np.exp(edges) if log_x else edges
    bins_y = np.linspace(0, 100, 41)
    panels = highlight or [None]
    how = "all" if result.exact else f"{result.n_subsets:,} random"
    # the estimator in words ("Correlation r (REML)" defined REML nowhere in the figure, APA 2020, 7.26)
    estimator = ESTIMATOR_NAMES.get(result.method, result.method)
    x_label = f"{label_text}\n({estimator}{'' if metric is None else ' estimate'})"  # without a metric: "Estimate"
    with plt.rc_context({**STYLE, "axes.spines.left": True}):
        figure = plt.figure(figsize=(3.4 * len(panels) + 0.4, 3.9))
        outer = figure.add_gridspec(1, len(panels), wspace=0.28)
        for n, study in enumerate(panels):
            if study is None:
                with_study = np.zeros(x.size, dtype=bool)
                title = f"{how} subsets of {included.shape[1]} studies"
            else:
                with_study = included[:, study]
                name = "\n".join(textwrap.wrap(labels[study], 48, break_long_words=False))  # within its panel
                title = f"{name}\nsubsets with it (red), without (grey)"
            _panel(figure, outer[0, n], x, i2, with_study, title, metric, hexbin, x_label, bins_x, bins_y, n == 0)
    keep_inside(figure)  # the default margin cut the I^2 axis title off figure.savefig(path)
    return figure
