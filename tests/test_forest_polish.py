"""A journal's art editor on the forest plots and the PRISMA diagram: the weight column's decimals, enough ticks on an
odds-ratio axis, r ticks that stand apart on a short axis, and no text below 7 pt at print size."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.text import Text

from alliance_meta.inputs.prisma import prisma_counts
from alliance_meta.models.univariate import fit
from alliance_meta.plots.forest import ForestOptions, forest_plot, moderator_forest_plot
from alliance_meta.plots.forest_draw import ticks
from alliance_meta.plots.prisma import prisma_figure
from alliance_meta.plots.style import PAGE_WIDTH, SMALLEST_FONT

ROOT = Path(__file__).resolve().parents[1]
DEMO_PRISMA = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))["prisma"]


def family(k: int = 12, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = rng.integers(30, 300, k)
    yi = rng.normal(0.28, 0.1, k) + rng.normal(0, 1 / np.sqrt(n - 3))
    return pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(k)], "yi": yi, "vi": 1 / (n - 3), "n": n,
                         "authors": [f"Author{i}" for i in range(k)], "year": 2000 + np.arange(k),
                         "modality": np.where(np.arange(k) % 3 == 0, "CBT", "other")})


def drawn_texts(figure) -> list[Text]:
    figure.draw_without_rendering()
    return [text for text in figure.findobj(Text) if text.get_visible() and text.get_text().strip()]


def print_size(figure, tight: bool = False, page: float = PAGE_WIDTH) -> float:
    """The smallest font of ``figure`` in points once it is scaled to fit ``page`` inches as saved: the figure, or
    with ``tight`` its tight box and savefig's 0.1-in pads (the PRISMA diagram)."""
    figure.draw_without_rendering()
    saved = figure.get_tightbbox().width + 0.2 if tight else figure.get_figwidth()
    return min(text.get_fontsize() for text in drawn_texts(figure)) * min(1.0, page / saved)


def weight_cells(figure) -> list[str]:
    return [text.get_text() for text in drawn_texts(figure) if re.fullmatch(r"[\d.]+%", text.get_text())]


def test_the_weight_column_gives_the_total_with_the_studies_decimals():
    """Studies' weights had one decimal ("8.3%") and the total none ("100%"): a column's numbers share their decimals
    (APA 2020, 7.21), the total as RevMan prints it, "100.0%"."""
    data = family()
    figure = forest_plot(data, fit(data.yi, data.vi, "REML", "z").as_row(), "z")
    cells = weight_cells(figure)
    plt.close(figure)
    assert len(cells) == len(data) + 1 and cells[-1] == "100.0%"
    assert all(re.fullmatch(r"\d+\.\d%", cell) for cell in cells), cells


def test_a_moderator_forest_plot_totals_the_weights_of_each_level_where_they_add_up():
    """Its weights are percentages within each level: each subtotal now says "100.0%"; the overall diamond, whose
    "100%" was no total of the column above it, none."""
    data = family()
    levels = pd.DataFrame([{"moderator": "modality", "level": level, "k": len(rows),
                            **{key: value for key, value in fit(rows.yi, rows.vi, "REML", "z").as_row().items()
                               if key in ("estimate", "se", "ci_lower", "ci_upper", "tau2")}}
                           for level, rows in data.groupby("modality")])
    figure = moderator_forest_plot(data, "modality", levels, fit(data.yi, data.vi, "REML", "z").as_row(), "z")[0]
    cells = weight_cells(figure)
    plt.close(figure)
    assert cells.count("100.0%") == 2 and "100%" not in cells  # one per level, none for the overall diamond
    assert len(cells) == len(data) + 2 and all(re.fullmatch(r"\d+\.\d%", cell) for cell in cells)


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.6, 2.2, ["0.7", "1", "1.5", "2"]),  # 1-2-5 ticks: 1 and 2 only
    (0.45, 1.1, ["0.5", "0.7", "1"]),
    (0.25, 1.02, ["0.25", "0.5", "1"]),  # powers of two first
    (0.7, 1.6, ["0.7", "1", "1.5"]),  # 0.8 ... 1.6 do not fit 1.8 in: 1 alone before
])
def test_an_odds_ratio_axis_has_at_least_three_ticks(low, high, expected):
    """An axis whose 1-2-5 ticks are two (1 and 2 from 0.6 to 2.2) labelled one end only and did not show its scale
    to be logarithmic; now the first denser set of round odds ratios with three or more that fit."""
    options = ForestOptions()
    assert ticks(np.log(low), np.log(high), "log_or", options, panel=1.8)[1] == expected


def test_odds_ratio_axes_with_three_or_more_1_2_5_ticks_keep_them():
    options = ForestOptions()
    assert ticks(np.log(0.3), np.log(3), "log_or", options, panel=1.8)[1] == ["0.5", "1", "2"]
    assert ticks(np.log(0.05), np.log(20), "log_or", options, panel=1.8)[1] == ["0.1", "1", "10"]


def test_a_drawn_odds_ratio_forest_plot_labels_at_least_three_ticks():
    data = pd.DataFrame({"study_id": ["A", "B", "C"], "yi": np.log([1.3, 1.4, 1.5]), "vi": [0.04, 0.05, 0.03],
                         "n": [200, 180, 240]})
    figure = forest_plot(data, fit(data.yi, data.vi, "REML", "z").as_row(), "log_or")
    figure.draw_without_rendering()
    axis = figure.axes[0]
    low, high = axis.get_xlim()
    labelled = [label.get_text() for label, value in zip(axis.get_xticklabels(), axis.get_xticks())
                if label.get_text() and low <= value <= high]
    plt.close(figure)
    assert len(labelled) >= 3, labelled


def test_no_forest_plot_text_is_below_7_pt():
    """The footnote was drawn at 0.85 of the 8-pt font, 6.8 pt, on a plot within the 7-in page."""
    data = family()
    figure = forest_plot(data, fit(data.yi, data.vi, "REML", "z").as_row(), "z")
    assert figure.get_figwidth() <= PAGE_WIDTH
    assert print_size(figure) >= SMALLEST_FONT
    plt.close(figure)


def updated(other: bool) -> dict:
    block = {**copy.deepcopy(DEMO_PRISMA), "previous": {"studies": 120, "reports": 121}}
    if not other:
        block["other_methods"] = None
    block["included_reports"] = (152 if other else 136) + 121
    return block


@pytest.mark.parametrize("block", [DEMO_PRISMA, updated(other=False)], ids=["both_routes", "update_one_route"])
def test_the_prisma_diagram_keeps_7_pt_on_the_page(block):
    """Both routes were 10.15 in wide (an update of one route 7.75): scaled to the 7-in page, their 7-pt text
    printed at 4.8 (6.3) pt. The boxes now narrow to the page and their text wraps, the rows growing."""
    figure = prisma_figure(prisma_counts(block))
    figure.draw_without_rendering()
    assert figure.get_tightbbox().width + 0.2 <= PAGE_WIDTH + 0.01
    assert print_size(figure, tight=True) >= SMALLEST_FONT
    plt.close(figure)


def test_the_narrowed_prisma_diagram_keeps_every_text_in_its_box():
    from matplotlib.patches import FancyBboxPatch

    figure = prisma_figure(prisma_counts(DEMO_PRISMA))
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    axis = figure.axes[0]
    boxes = [patch.get_window_extent(renderer) for patch in axis.patches if isinstance(patch, FancyBboxPatch)]
    for text in axis.texts:
        if not text.get_text():
            continue
        extent = text.get_window_extent(renderer)
        centre = ((extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2)
        box = min((box for box in boxes if box.contains(*centre)), key=lambda box: box.width * box.height)
        assert box.x0 < extent.x0 and extent.x1 < box.x1 and box.y0 < extent.y0 and extent.y1 < box.y1, \
            text.get_text()
    plt.close(figure)


def label_gaps(positions, labels, low, high, panel, options) -> list[float]:
    """Inches between neighbouring tick labels as drawn on a panel ``panel`` inches wide."""
    from alliance_meta.plots.forest_layout import text_width

    where = (np.asarray(positions) - low) / (high - low) * panel
    widths = [text_width([label], options.font_size, options.font_family) for label in labels]
    return [where[i + 1] - where[i] - (widths[i] + widths[i + 1]) / 2 for i in range(len(labels) - 1)]


@pytest.mark.parametrize(("r_low", "r_high", "panel"), [(-0.47, 0.75, 1.8), (-0.99, 0.99, 2.5), (-0.8, 0.95, 1.8)])
def test_r_ticks_of_a_short_axis_stand_a_font_size_apart(r_low, r_high, panel):
    """Two studies with a Knapp-Hartung (ad hoc) t(1) interval make an r axis of -.5 to .75 on a 1.8-in panel
    (.test/two_studies): "\u2212.50 \u2212.25 0 .25 .50 .75" stood 0.07 in apart, 0.6 of a font size. Every label now
    stands at least a font size from the next, and the null and three or more ticks are kept."""
    from alliance_meta.plots.forest_draw import round_ends

    options = ForestOptions()
    low, high = round_ends(np.arctanh(r_low), np.arctanh(r_high), "z")
    positions, labels = ticks(low, high, "z", options, panel)
    assert "0" in labels and len(labels) >= 3, labels
    assert min(label_gaps(positions, labels, low, high, panel, options)) >= options.font_size / 72 - 1e-9, labels


def test_r_ticks_with_room_are_unchanged():
    options = ForestOptions()
    low, high = np.arctanh(-0.25), np.arctanh(0.5)
    assert ticks(low, high, "z", options, 1.8)[1] == ["\u2212.2", "0", ".2", ".4"]
    low, high = np.arctanh(-0.5), np.arctanh(0.75)
    assert ticks(low, high, "z", options, 2.2)[1] == ["\u2212.50", "\u2212.25", "0", ".25", ".50", ".75"]
