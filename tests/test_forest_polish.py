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
from hypothesis import given, settings
from hypothesis import strategies as st
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
    with ``tight`` its tight box and savefig's 0.1-in pads (the PRISMA diagram), to the micro-inch (a width of 7 plus
    floating-point noise is the page's)."""
    figure.draw_without_rendering()
    saved = round(figure.get_tightbbox().width + 0.2 if tight else figure.get_figwidth(), 6)
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


@pytest.mark.parametrize("block", [DEMO_PRISMA, updated(other=False), updated(other=True)],
                         ids=["both_routes", "update_one_route", "update_both_routes"])
def test_the_prisma_diagram_keeps_7_pt_on_the_page(block):
    """Both routes were 10.15 in wide (an update of one route 7.75): scaled to the 7-in page, their 7-pt text
    printed at 4.8 (6.3) pt. The boxes now narrow to the page and their text wraps, the rows growing. An update with
    both routes stayed 8.35 in wide at the narrowest boxes; its gaps, padding and indent now tighten."""
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


def rated(data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with the demo's study columns and QUIPS judgements (every domain and the overall)."""
    from alliance_meta.inputs.risk_of_bias import tool_from_config

    tool = tool_from_config({"tool": "quips"})
    levels = np.resize(tool.judgements, len(data))
    return data.assign(rater=np.resize(["patient", "therapist", "observer"], len(data)),
                       measure=np.resize(["WAI", "CALPAS", "HAq"], len(data)),
                       timing=np.resize(["early", "mixed", "averaged"], len(data)),
                       **{column: levels for column in tool.columns})


DEMO_COLUMNS = {"columns": ["n", "rater", "measure", "timing"], "rob": True,
                "column_labels": {"rater": "Rater", "measure": "Measure", "timing": "Timing"}}


def test_text_columns_and_risk_of_bias_fit_the_page_at_7_pt():
    """The demo's forest plots (plots.columns n, rater, measure, timing and seven risk-of-bias columns) were drawn 9.7
    to 9.9 in wide: placed at plots.width, 7 in, their 8-pt text printed at 5.7 pt and the footnote at 5.0. The
    columns now go on a line under each study's name, the overall column is headed "O": 7 in, nothing below 7 pt."""
    data = rated(family(30).assign(authors=[f"Simulated study {i:03d}" for i in range(30)]))
    options = ForestOptions.from_config(DEMO_COLUMNS, {"tool": "quips"})
    pooled = fit(data.yi, data.vi, "REML", "z").as_row()
    levels = pd.DataFrame([{"moderator": "modality", "level": level, "k": len(rows),
                            **{key: value for key, value in fit(rows.yi, rows.vi, "REML", "z").as_row().items()
                               if key in ("estimate", "se", "ci_lower", "ci_upper", "tau2")}}
                           for level, rows in data.groupby("modality")])
    for figure in (forest_plot(data, pooled, "z", options=options),
                   moderator_forest_plot(data, "modality", levels, pooled, "z", options=options)[0]):
        texts = [text.get_text() for text in drawn_texts(figure)]
        assert figure.get_figwidth() <= PAGE_WIDTH + 1e-9
        assert print_size(figure) >= SMALLEST_FONT
        # every cell of the first study under its name, in the header's order; the overall column's code defined
        first = data.iloc[0]
        assert f"{first.n}\u00a0\u00b7 {first.rater}\u00a0\u00b7 {first.measure}\u00a0\u00b7 {first.timing}" in texts
        assert "Rater\u00a0\u00b7 Measure\u00a0\u00b7 Timing" in " ".join(texts)
        assert "O" in texts and "Overall" not in texts and "Risk of bias" in texts
        assert "; O overall; symbols:" in " ".join(" ".join(texts).split())
        plt.close(figure)


def test_a_study_s_detail_line_sits_closer_to_its_name_than_to_the_next_study():
    data = rated(family(6))
    figure = forest_plot(data, fit(data.yi, data.vi, "REML", "z").as_row(), "z",
                         options=ForestOptions.from_config(DEMO_COLUMNS, {"tool": "quips"}))
    lines = {text.get_text(): text.get_position()[1] for text in drawn_texts(figure)}
    plt.close(figure)
    name, detail, following = (lines["Author0 (2000)"], next(y for text, y in lines.items() if text.startswith(
        f"{data.n[0]}\u00a0\u00b7")), lines["Author1 (2001)"])
    assert 0 < detail - name < following - detail


def test_columns_that_fit_stay_beside_the_names():
    """A figure whose columns fit plots.width keeps its layout: the columns beside the names, "Overall"."""
    data = rated(family(6))
    options = ForestOptions.from_config({**DEMO_COLUMNS, "width": 11}, {"tool": "quips"})
    figure = forest_plot(data, fit(data.yi, data.vi, "REML", "z").as_row(), "z", options=options)
    drawn = drawn_texts(figure)
    texts = [text.get_text() for text in drawn]
    plt.close(figure)
    assert figure.get_figwidth() == 11 and "Overall" in texts and "Risk of bias" not in texts
    assert {"Rater", "Measure", "Timing", str(data.rater[0]), str(data.timing[0])} <= set(texts)
    name_x, name_y = next(text.get_position() for text in drawn if text.get_text() == "Author0 (2000)")
    beside = {text.get_text() for text in drawn if text.get_position()[0] > name_x
              and text.get_position()[1] == pytest.approx(name_y)}  # on the name's line, right of it
    assert {str(data.n[0]), data.rater[0], data.measure[0], data.timing[0]} <= beside


def test_the_subgroup_plot_is_saved_without_looking_up_a_cursive_font(tmp_path, caplog):
    """The moderator_plots job printed "findfont: Font family ['cursive'] not found": the subgroup plot's texts, made
    inside the math fonts of its font (custom math fontset), were drawn after them, where the fontset's calligraphic
    face is the rcParams default, the generic family cursive, which no installed font has."""
    import logging

    from matplotlib import font_manager
    from matplotlib.mathtext import MathTextParser

    from alliance_meta.plots.style import save_figure
    from alliance_meta.plots.subgroups import subgroup_forest

    data = family()
    levels = pd.DataFrame([{"moderator": "modality", "level": level, "k": len(rows),
                            **{key: value for key, value in fit(rows.yi, rows.vi, "REML", "z").as_row().items()
                               if key in ("estimate", "se", "ci_lower", "ci_upper", "tau2")}}
                           for level, rows in data.groupby("modality")])
    summary = {"moderator": "modality", "qm": 1.0, "qm_df": 1, "qm_p": 0.3, "f": 1.0, "f_df1": 1, "f_df2": 10,
               "f_p": 0.3, "q_between_separate": 1.0, "q_between_separate_df": 1, "q_between_separate_p": 0.3}
    figure = subgroup_forest(levels, summary, fit(data.yi, data.vi, "REML", "z").as_row(), "z")
    # matplotlib looks a family up once per process: forget the lookups and parses of the tests before
    font_manager.fontManager._findfont_cached.cache_clear()
    MathTextParser._parse_cached.cache_clear()
    caplog.set_level(logging.WARNING, logger="matplotlib.font_manager")
    save_figure(figure, [tmp_path / "subgroups.png", tmp_path / "subgroups.pdf", tmp_path / "subgroups.svg"])
    assert not [record for record in caplog.records if "cursive" in record.getMessage()]


def test_a_narrow_plots_width_wraps_the_names_and_the_summary_label_to_fit():
    """.test/two_studies (plots.width 5.5, no text columns): its forest plots were 6.6 and 6.7 in wide, the
    summary label "Random-effects model (REML), k = 1 study" on one line beside a long name: scaled to 5.5 in, the
    footnote printed at 5.7 pt. The summary label breaks after the model, the names wrap, the panel narrows."""
    data = family(2).assign(authors=["Simulated dropout study 01", "Simulated dropout study 02"])
    options = ForestOptions(width=5.5)
    figure = forest_plot(data, fit(data.yi, data.vi, "REML", "z").as_row(), "z", options=options)
    assert figure.get_figwidth() <= 5.5 + 1e-9
    assert print_size(figure, page=5.5) >= SMALLEST_FONT
    plt.close(figure)



def test_a_compact_pdf_page_is_no_taller_than_a_page_of_rows_per_page_one_line_studies(tmp_path, caplog):
    """The compact layout (a study's plots.columns on a line under its name) took about two lines a study and its PDF
    pages still held plots.rows_per_page studies: the demo's outcome pages were 7 x 17.9 in, printed on a 9.5-in
    journal page at about half size. A compact page now holds the studies that fit the height of rows_per_page
    one-line studies (here 10: the same rows with the columns beside them, at 11 in), and the job's log says so."""
    import logging

    from alliance_meta.plots import forest as forest_module

    data = rated(family(30).assign(authors=[f"Simulated study {i:03d}" for i in range(30)]))
    pooled = fit(data.yi, data.vi, "REML", "z").as_row()
    one_line = forest_module._figures(data, pooled, "z", 95.0, ForestOptions.from_config(
        {**DEMO_COLUMNS, "rows_per_page": 10, "width": 11}, {"tool": "quips"}), True)
    logger = logging.getLogger("test_compact_pages")
    caplog.set_level(logging.INFO, logger="test_compact_pages")
    compact = forest_module.save_forest_plot(data, pooled, "z", [tmp_path / "forest.pdf"], logger=logger,
                                             options=ForestOptions.from_config({**DEMO_COLUMNS, "rows_per_page": 10},
                                                                               {"tool": "quips"}))
    assert one_line[0].get_figwidth() == 11 and compact[0].get_figwidth() <= PAGE_WIDTH + 1e-9
    tallest = max(figure.get_figheight() for figure in one_line[:-1])  # a full page of 10 one-line studies
    assert max(figure.get_figheight() for figure in compact) <= tallest + 1e-9
    # every study on one of the pages, once, in order
    studies = [text.get_text().split(" (")[0] for figure in compact for text in drawn_texts(figure)
               if text.get_text().startswith("Simulated study")]
    assert studies == [f"Simulated study {i:03d}" for i in range(30)]
    assert any("a PDF page holds as many studies as fit the height of 10 one-line studies" in record.getMessage()
               for record in caplog.records)
    for figure in one_line + compact:
        plt.close(figure)


def _three_compact_levels():
    """Three levels of four studies, each with a detail line (1.75 lines), their subtotals and the overall rows."""
    from alliance_meta.plots.forest_layout import Row

    rows = []
    for level in range(3):
        rows.append(Row("group", [f"Level {level}"]))
        rows += [Row("study", [f"S{level}{i}"], details=["n \u00b7 rater"]) for i in range(4)]
        rows.append(Row("subtotal", ["Subtotal, k = 4 studies"]))
    return rows + [Row("overall", ["Random-effects model"]), Row("interval", ["Prediction interval"])]


def test_compact_pages_keep_a_heading_with_its_studies_and_a_subtotal_with_its_last_study():
    """The moderator forest plot's compact pages: no taller than a page of rows_per_page one-line studies, a level's
    heading never the last row of a page, its subtotal on the page of its last study."""
    from alliance_meta.plots.forest_layout import pages_by_height, row_positions

    rows = _three_compact_levels()
    assert rows[1].lines == 1.75  # a study and its detail line, 7 pt under the name
    chunks = pages_by_height(rows, 9.0).pages
    assert [row for chunk in chunks for row in chunk] == rows and len(chunks) > 1
    for chunk in chunks:
        assert row_positions(chunk)[1] <= 9.0 and chunk[-1].kind != "group"
    page_of = [number for number, chunk in enumerate(chunks) for _ in chunk]  # the page of each row, in order
    for index, row in enumerate(rows):
        if row.kind == "subtotal":  # on the page of the study before it
            assert page_of[index] == page_of[index - 1]
    data = rated(family(30))
    pooled = fit(data.yi, data.vi, "REML", "z").as_row()
    levels = pd.DataFrame([{"moderator": "modality", "level": level, "k": len(members),
                            **{key: value for key, value in fit(members.yi, members.vi, "REML", "z").as_row().items()
                               if key in ("estimate", "se", "ci_lower", "ci_upper", "tau2")}}
                           for level, members in data.groupby("modality")])
    heights = {}
    for width in (None, 11):
        asked = {**DEMO_COLUMNS, "rows_per_page": 10, **({"width": width} if width else {})}
        options = ForestOptions.from_config(asked, {"tool": "quips"})
        figures = moderator_forest_plot(data, "modality", levels, pooled, "z", paged=True, options=options)
        heights[width] = [figure.get_figheight() for figure in figures]
        for figure in figures:
            plt.close(figure)
    assert max(heights[None]) <= max(heights[11][:-1]) + 1e-9


def test_a_compact_pdf_page_at_a_small_rows_per_page_holds_more_than_one_study():
    """plots.rows_per_page 5 with the demo's columns and risk of bias: the page's lines less the header's second
    line and the footnote's extra line left 3.1 lines, under two studies with their detail lines (3.5): a PDF of 14
    pages of one study each for 14 studies, where the one-line layout had 3."""
    from alliance_meta.plots.forest_draw import compact_lines
    from alliance_meta.plots.forest_layout import DETAIL_PITCH

    assert compact_lines(5, 0.875) >= 2 * (1 + DETAIL_PITCH)
    assert compact_lines(50, 0.875) == 50 - 1.0 - 0.875  # the default's pages unchanged


def test_compact_details_and_summary_wrap_at_the_label_column_not_the_names():
    """The label column of a compact layout is as wide as its detail header ("n · Rater · Measure · Timing"); the
    details ("211 · patient ·" over "WAI · early") and the summary label (four lines: "Random-effects", "model",
    "(REML),", "k = 6 studies") wrapped at the narrower names' width."""
    data = rated(family(6))
    figure = forest_plot(data, fit(data.yi, data.vi, "REML", "z").as_row(), "z",
                         options=ForestOptions.from_config(DEMO_COLUMNS, {"tool": "quips"}))
    texts = [text.get_text() for text in drawn_texts(figure)]
    plt.close(figure)
    first = data.iloc[0]
    assert f"{first.n}\u00a0\u00b7 {first.rater}\u00a0\u00b7 {first.measure}\u00a0\u00b7 {first.timing}" in texts
    assert "model" not in texts and "Prediction interval" in texts


def test_the_log_of_a_compact_layout_without_plots_columns_names_no_plots_columns(tmp_path, caplog):
    """plots.rob without plots.columns, too wide side by side at 7 in: the job's log said "plots.columns on a line
    under each study's name" of a figure that has none."""
    import logging

    from alliance_meta.plots.forest import save_forest_plot

    data = rated(family(8))
    logger = logging.getLogger("test_compact_rob_only")
    caplog.set_level(logging.INFO, logger="test_compact_rob_only")
    save_forest_plot(data, fit(data.yi, data.vi, "REML", "z").as_row(), "z", [tmp_path / "forest.pdf"],
                     options=ForestOptions.from_config({"rob": True}, {"tool": "quips"}), logger=logger)
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "overall risk-of-bias column headed O" in messages and "plots.columns" not in messages


def test_ten_plots_columns_fit_plots_width_with_their_header_wrapped():
    """With ten plots.columns the compact forest plot was 7.5 in wide at plots.width 7 (10.2 in with these names):
    the detail lines' header ("n · Rater · ... · Column 5") stayed on one line and kept the label column as wide.
    It now wraps between the columns' names, as the details wrap, and the figure keeps plots.width."""
    from alliance_meta.plots.forest_layout import NBSP

    data = rated(family(12))
    labels = dict(DEMO_COLUMNS["column_labels"])
    for i in range(6):
        data[f"extra{i}"] = np.resize([f"value {i}", "x", "a longer value"], len(data))
        labels[f"extra{i}"] = f"Column {i}"
    columns = DEMO_COLUMNS["columns"] + [f"extra{i}" for i in range(6)]
    assert len(columns) == 10
    options = ForestOptions.from_config({**DEMO_COLUMNS, "columns": columns, "column_labels": labels, "width": 7},
                                        {"tool": "quips"})
    figure = forest_plot(data, fit(data.yi, data.vi, "REML", "z").as_row(), "z", options=options)
    texts = [text.get_text() for text in drawn_texts(figure)]
    assert figure.get_figwidth() <= 7 + 1e-9
    assert print_size(figure, page=7) >= SMALLEST_FONT
    header = [text for text in texts if "Rater" in text or "Column" in text]
    assert len(header) > 1  # on lines, in the columns' order, each name whole
    assert " ".join(header).replace(NBSP, " ").replace(" \u00b7", "") == (
        "$\\mathbfit{n}$ Rater Measure Timing " + " ".join(f"Column {i}" for i in range(6)))
    assert all(any(f"Column{NBSP}{i}" in line for line in header) for i in range(6))
    plt.close(figure)


def _levels(data: pd.DataFrame, moderator: str = "modality") -> pd.DataFrame:
    return pd.DataFrame([{"moderator": moderator, "level": level, "k": len(members),
                          **{key: value for key, value in fit(members.yi, members.vi, "REML", "z").as_row().items()
                             if key in ("estimate", "se", "ci_lower", "ci_upper", "tau2")}}
                         for level, members in data.groupby(moderator)])


@pytest.mark.parametrize("width", [None, 11])  # studies' columns under their names (compact) / beside them
def test_a_subgroup_split_across_pdf_pages_repeats_its_heading(width):
    """A level's studies that ran on to the next PDF page stood there under no heading: a reader of that page could
    not tell their subgroup. The page now starts with "Modality: other (continued)"."""
    data = rated(family(30).assign(authors=[f"Simulated study {i:03d}" for i in range(30)]))
    asked = {**DEMO_COLUMNS, "rows_per_page": 10, **({"width": width} if width else {})}
    figures = moderator_forest_plot(data, "modality", _levels(data), fit(data.yi, data.vi, "REML", "z").as_row(), "z",
                                    paged=True, options=ForestOptions.from_config(asked, {"tool": "quips"}))
    level_of = dict(zip(data.authors, data.modality))
    previous = None  # the level of the last study of the page before
    continued = 0
    for figure in figures:
        rows = sorted((text.get_position()[1], text.get_text(), text.get_fontweight() == "bold")
                      for text in drawn_texts(figure) if text.get_position()[1] > 0)  # the rows, top to bottom
        studies = [(y, text.split(" (")[0]) for y, text, _ in rows if text.startswith("Simulated study")]
        # the bold lines above the page's first study: a level's heading
        headings = " ".join(text for y, text, bold in rows if bold and y < studies[0][0])
        first = level_of[studies[0][1]]
        if first == previous:  # the page runs on with the level of the page before
            assert headings.startswith(f"Modality: {first} (continued)"), headings
            continued += 1
        else:
            assert "continued" not in headings, headings
        previous = level_of[studies[-1][1]]
        plt.close(figure)
    assert continued >= 1


@pytest.mark.parametrize("rows_per_page", [5, 8])
def test_a_compact_page_with_a_continued_heading_still_holds_two_studies(rows_per_page):
    """The "(continued)" heading of a level that runs on took the room of the page's second study: at rows_per_page
    5 or 8 the moderator forest plot of 30 studies came as a PDF of up to 30 pages of one study each."""
    data = rated(family(30).assign(authors=[f"Simulated study {i:03d}" for i in range(30)]))
    asked = {**DEMO_COLUMNS, "rows_per_page": rows_per_page}
    figures = moderator_forest_plot(data, "modality", _levels(data), fit(data.yi, data.vi, "REML", "z").as_row(), "z",
                                    paged=True, options=ForestOptions.from_config(asked, {"tool": "quips"}))
    studies = [sum(text.get_text().startswith("Simulated study") for text in drawn_texts(figure)) for figure in figures]
    for figure in figures:
        plt.close(figure)
    assert sum(studies) == 30 and min(studies[:-1]) >= 2, studies


def test_a_group_heading_at_a_page_break_goes_with_its_studies():
    """Pages of rows_per_page studies (the columns beside the names): a level's heading after the page's last study
    ended that page, its studies on the next."""
    from alliance_meta.plots.forest_layout import Row, pages

    rows = [Row("group", ["A"]), *[Row("study", [f"A{i}"]) for i in range(3)], Row("subtotal", ["Subtotal"]),
            Row("group", ["B"]), *[Row("study", [f"B{i}"]) for i in range(4)], Row("subtotal", ["Subtotal"])]
    chunks = pages(rows, 3, lambda heading: Row("group", [heading.label[0] + " (continued)"])).pages
    # (balanced: pages of three studies as full as they fit left B3 alone on the last; forest_layout._balanced)
    assert [[row.label[0] for row in chunk] for chunk in chunks] == [
        ["A", "A0", "A1", "A2", "Subtotal"], ["B", "B0", "B1"], ["B (continued)", "B2", "B3", "Subtotal"]]


# the compact layout (columns under the names): a study's block taller than its page runs on; the one-line layout's
# pages count studies and keep each block whole (test_a_three_level_pdf_page_holds_rows_per_page_studies_...)
@pytest.mark.parametrize("columns", [True])
def test_a_three_level_study_split_across_pdf_pages_is_named_where_it_runs_on(columns):
    """A three-level forest plot names a study on its first effect size's row only, the others "· effect 2", "· effect
    3": a page break inside a study's block began the next page with "· effect 3", nobody's. That page now names the
    study atop its rows, "Lee (2003) (continued)"."""
    import alliance_meta as am
    from alliance_meta.plots.forest import _figures

    # Lee's 12 effect sizes (21 compact lines) are taller than a page of 5 one-line studies of 3.2 rows (16 lines)
    sizes = {"Smith": 1, "Lee": 12, "Jones": 1, "Brown": 1, "Green": 1}
    frame = pd.DataFrame({"study_id": [name for name, k in sizes.items() for _ in range(k)],
                          "authors": [name for name, k in sizes.items() for _ in range(k)],
                          "year": [2003] * 16, "n": [80] * 16, "rater": ["patient"] * 16,
                          "yi": np.linspace(0.05, 0.6, 16), "vi": np.linspace(0.01, 0.02, 16)})  # SIMULATED
    pooled = am.fit(frame, dependence="multilevel", metric="z").to_frame().iloc[0].to_dict()
    asked = {"rows_per_page": 5, **({"columns": ["n", "rater"], "width": 3.5} if columns else {})}
    figures = _figures(frame, pooled, "z", 95, ForestOptions.from_config(asked), True)
    assert len(figures) > 1
    for figure in figures:
        rows = sorted((-text.get_position()[1], text.get_text()) for text in drawn_texts(figure)
                      if text.get_position()[1] > 0)
        first = next(text for _, text in reversed(rows) if "(2003)" in text or "\u00b7 effect" in text)
        assert "\u00b7 effect" not in first, [text for _, text in rows]  # the page's first row names its study
        assert sum(text.endswith("(continued)") for _, text in rows) <= 1, rows  # once, not again at each page
        plt.close(figure)
    continued = [text.get_text() for figure in figures for text in drawn_texts(figure)
                 if "(continued)" in text.get_text()]
    assert continued and all(text.endswith("(continued)") for text in continued), continued


@pytest.mark.parametrize("columns", [False, True])  # the one-line layout / the compact one (columns under the names)
def test_a_three_level_pdf_page_holds_rows_per_page_studies_with_their_effect_sizes(columns):
    """plots.rows_per_page counts studies: a three-level forest plot of 18 studies of 4 effect sizes each at
    rows_per_page 8 made 9 pages of 8 effect-size rows (the compact layout 32 pages), studies cut between pages, and
    the log called the rows "studies". Its pages now hold at most 8 studies (the compact ones those that fit the
    height of 8 one-line studies: their 32 rows), each with all its effect sizes, and the log counts both."""
    import alliance_meta as am
    from alliance_meta.plots.forest import _figures

    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"study_id": np.repeat([f"S{i:02d}" for i in range(18)], 4),
                          "authors": np.repeat([f"Author{i}" for i in range(18)], 4), "year": 2003, "n": 80,
                          "rater": "patient", "yi": rng.normal(0.25, 0.1, 72), "vi": 0.01})  # SIMULATED
    pooled = am.fit(frame, dependence="multilevel", metric="z").to_frame().iloc[0].to_dict()
    asked = {"rows_per_page": 8, **({"columns": ["n", "rater"], "width": 3.5} if columns else {})}
    figures = _figures(frame, pooled, "z", 95, ForestOptions.from_config(asked), True)
    named = []  # per page, the studies whose first effect size it shows
    for figure in figures:
        texts = [text.get_text() for text in drawn_texts(figure)]
        named.append([text for text in texts if text.startswith("Author") and "continued" not in text])
        assert not any("(continued)" in text for text in texts if text.startswith("Author")), texts  # none cut
    assert all(0 < len(page) <= 8 for page in named), named
    assert sum(map(len, named)) == 18
    assert len(figures) == 3 if not columns else len(figures) <= 6, len(figures)  # 6, 6, 6 studies (balanced)
    note = getattr(figures[0], "pages_note", "")
    assert re.search(r"of [\d, ]+ studies \([\d, ]+ effect sizes\)", note), note
    plt.close("all")


@pytest.mark.parametrize("sizes", [[1, 80, 1], [2, 30, 3, 1, 2]])
def test_a_three_level_compact_page_is_no_taller_than_its_one_line_page(sizes):
    """The compact layout's pages were sized by the mean number of effect sizes per study, so one big study made
    every page tall: studies of 1, 80 and 1 effect sizes at rows_per_page 8 made one compact page of 26 in against
    the one-line layout's 15.1 in, and of 2, 30, 3, 1, 2 a page of 10.8 in holding 2 studies against 8.0 in for the
    whole one-line plot. No compact page is now taller than the one-line layout's tallest page; a study taller
    than that runs on to the next page."""
    import alliance_meta as am
    from alliance_meta.plots.forest import _figures

    ids = [f"S{index}" for index, k in enumerate(sizes) for _ in range(k)]
    frame = pd.DataFrame({"study_id": ids, "authors": [f"Author{name[1:]}" for name in ids], "year": 2003, "n": 80,
                          "rater": "patient", "yi": np.linspace(0.05, 0.6, len(ids)),
                          "vi": np.linspace(0.01, 0.02, len(ids))})  # SIMULATED
    pooled = am.fit(frame, dependence="multilevel", metric="z").to_frame().iloc[0].to_dict()
    heights = {}
    for columns in (False, True):
        asked = {"rows_per_page": 8, **({"columns": ["n", "rater"], "width": 3.5} if columns else {})}
        figures = _figures(frame, pooled, "z", 95, ForestOptions.from_config(asked), True)
        heights[columns] = [figure.get_figheight() for figure in figures]
        named = [text.get_text() for figure in figures for text in drawn_texts(figure)
                 if text.get_text().startswith("Author") and "continued" not in text.get_text()]
        assert set(named) == {f"Author{index} (2003)" for index in range(len(sizes))}, named  # every study drawn
        plt.close("all")
    assert max(heights[True]) <= max(heights[False]) + 1e-9, heights


def _continued_pages(width, modality=None, rows_per_page: int = 10) -> list:
    """The PDF pages of the moderator forest plot of 30 simulated studies (SIMULATED: ``rated(family(30))``), paged at
    ``rows_per_page``; ``modality``: the levels' names instead of CBT and other."""
    data = rated(family(30).assign(authors=[f"Simulated study {i:03d}" for i in range(30)]))
    if modality is not None:
        data = data.assign(modality=data.modality.map(modality))
    asked = {**DEMO_COLUMNS, "rows_per_page": rows_per_page, **({"width": width} if width else {})}
    return moderator_forest_plot(data, "modality", _levels(data), fit(data.yi, data.vi, "REML", "z").as_row(), "z",
                                 paged=True, options=ForestOptions.from_config(asked, {"tool": "quips"}))


def _inches(figure, text: Text):
    """The drawn box of ``text`` in inches from the figure's bottom left."""
    return text.get_window_extent(figure.canvas.get_renderer()).transformed(figure.dpi_scale_trans.inverted())


def _null_line_top(figure, axis) -> tuple[float, float]:
    """x and the top (inches from the figure's bottom) of the panel's line at no effect (r = 0)."""
    line = next(line for line in axis.lines if list(line.get_xdata()) == [0, 0])
    (x, top), = line.get_transform().transform([(0, max(line.get_ydata()))])
    return figure.dpi_scale_trans.inverted().transform((x, top))


@pytest.mark.parametrize("width", [None, 11])  # studies' columns under their names (compact) / beside them
def test_a_continued_heading_runs_across_its_empty_row_on_one_line(width):
    """Wrapped at the label column, "Modality: other (continued)" took two lines (1.79 in bold against the names'
    1.56-in column), a line of its page's room for studies (the demo's moderator forest plot of rater: PDF pages of
    26, 25, 25, 25, ... studies). Its row has nothing else on it: the heading runs across it on one line, the study
    under it one line lower, and the panel's line at no effect starts below it where the heading reaches it."""
    from alliance_meta.plots.forest_layout import LINE

    line = LINE * 8 / 72  # inches, at the default 8 pt
    headings = 0
    for figure in _continued_pages(width):
        texts = drawn_texts(figure)
        continued = [text for text in texts if "continued" in text.get_text()]
        if continued:
            heading, = continued  # one line
            assert re.fullmatch(r"Modality: (CBT|other) \(continued\)", heading.get_text())
            box = _inches(figure, heading)
            study = max((_inches(figure, text) for text in texts if text.get_text().startswith("Simulated study")),
                        key=lambda found: found.y1)  # the page's first study
            assert (box.y0 + box.y1) / 2 - (study.y0 + study.y1) / 2 == pytest.approx(line, abs=0.15 * line)
            x, top = _null_line_top(figure, figure.axes[0])
            assert box.x1 < x or top < box.y0  # the heading clear of the line, or the line below it
            headings += 1
        plt.close(figure)
    assert headings >= 1


def test_a_continued_heading_wider_than_the_figure_wraps_within_it():
    """A heading that does not fit even across its whole row wraps, at the figure's width less its margins (its first
    line wider than the label column, at which it wrapped before); the line at no effect starts below it."""
    from alliance_meta.plots.forest_layout import MARGIN

    name = " ".join(["a very long level name of a moderator"] * 4)
    headings = 0
    for figure in _continued_pages(None, {"CBT": "CBT", "other": name}):
        texts = drawn_texts(figure)
        heading = [text for text in texts if text.get_text().startswith(f"Modality: {name[:20]}")
                   or text.get_text().endswith("moderator (continued)")]
        if len(heading) > 1:  # the level's heading marked continued: its first and last lines
            boxes = sorted((_inches(figure, text) for text in heading), key=lambda box: -box.y1)
            names = max(_inches(figure, text).x1 for text in texts if text.get_text().startswith("Simulated study"))
            assert len(boxes) >= 2 and boxes[0].x1 > names + 0.5  # wrapped, across more than the label column
            assert all(box.x1 <= figure.get_figwidth() - MARGIN + 0.02 for box in boxes)
            x, top = _null_line_top(figure, figure.axes[0])
            assert top < min(box.y0 for box in boxes)
            headings += 1
        plt.close(figure)
    assert headings >= 1


@pytest.mark.parametrize("font_size", [7, 9])
def test_a_continued_heading_wrapped_across_its_row_stays_within_the_figure_as_printed(font_size):
    """Wrapped at the figure's width as measured at 72 dpi, a long continued heading at 9 pt was drawn 4% wider
    (hinting): "...a very l" ran off the 7-in figure's right edge (7.08 in at 600 dpi), at 7 pt into its margin.
    It is wrapped as printed (forest_layout.UNHINTED_SCALE)."""
    from alliance_meta.plots.forest_layout import MARGIN

    name = " ".join(["a very long level name of a moderator"] * 4)
    data = rated(family(30).assign(authors=[f"Simulated study {i:03d}" for i in range(30)]))
    data = data.assign(modality=data.modality.map({"CBT": "CBT", "other": name}))
    asked = {**DEMO_COLUMNS, "rows_per_page": 10, "font_size": font_size}
    figures = moderator_forest_plot(data, "modality", _levels(data), fit(data.yi, data.vi, "REML", "z").as_row(), "z",
                                    paged=True, options=ForestOptions.from_config(asked, {"tool": "quips"}))
    headings = 0
    for figure in figures:
        figure.set_dpi(600)  # as printed, not hinted to the screen's pixels
        for text in drawn_texts(figure):
            if text.get_text().startswith(f"Modality: {name[:20]}") or text.get_text().endswith("(continued)"):
                assert _inches(figure, text).x1 <= figure.get_figwidth() - MARGIN + 0.005, text.get_text()
                headings += 1
        plt.close(figure)
    assert headings >= 2


def _line_stretches(figure, x: float = 0.0) -> list[tuple[float, float]]:
    """The stretches (bottom, top, inches from the figure's bottom) of the panel's vertical line at ``x``."""
    axis = figure.axes[0]
    stretches = []
    for line in axis.lines:
        if list(line.get_xdata()) == [x, x]:
            ends = line.get_transform().transform([(x, y) for y in line.get_ydata()])
            (_, bottom), (_, top) = figure.dpi_scale_trans.inverted().transform(ends)
            stretches.append((bottom, top))
    return sorted(stretches)


@pytest.mark.parametrize("other, reaching, stretches", [
    ("other", 1, 1),  # the first heading reaches the line at the panel's top: the line starts below it
    ("other: eclectic and integrative", 2, 2),  # and the second, in mid-panel: the line breaks at its row
])
def test_a_levels_heading_that_reaches_the_panels_line_breaks_it_at_its_row(other, reaching, stretches):
    """A level's first heading takes its whole row, as one repeated atop a page does (Layout.heading_width): where it
    reaches the line at no effect (7 pt, the panel from r = 0 by plots.xlim), the line breaks at its row; a heading
    short of the line ("Modality: other") does not break it. Before, only a heading marked continued atop a page
    broke the line, and a level's own heading widened the label column to keep clear of it."""
    from alliance_meta.plots.forest_layout import GAP, LINE

    data = rated(family(30).assign(authors=[f"Simulated study {i:03d}" for i in range(30)]))
    data = data.assign(modality=data.modality.map({"CBT": "cognitive behavioural", "other": other}))
    asked = {**DEMO_COLUMNS, "font_size": 7, "xlim": [0, 0.8]}  # compact: the panel 1.75 in from the left
    figure, = moderator_forest_plot(data, "modality", _levels(data), fit(data.yi, data.vi, "REML", "z").as_row(), "z",
                                    options=ForestOptions.from_config(asked, {"tool": "quips"}))
    axis = figure.axes[0]
    panel = axis.get_position().transformed(figure.transFigure).transformed(figure.dpi_scale_trans.inverted())
    headings = [_inches(figure, text) for text in drawn_texts(figure) if text.get_text().startswith("Modality")]
    crossed = [box for box in headings if box.x1 > panel.x0 - GAP]  # the line at r = 0: the panel's left edge
    found = _line_stretches(figure)
    assert len(found) == stretches and len(crossed) == reaching, (found, crossed)
    assert found[0][0] == pytest.approx(panel.y0)
    for bottom, top in found:  # clear of every heading that reaches the line, and of nothing else
        assert all(top < box.y0 or bottom > box.y1 for box in crossed)
    row = LINE * 7 / 72  # a heading's row, inches
    assert sum(top - bottom for bottom, top in found) == pytest.approx(panel.height - row * reaching, abs=1e-6)
    plt.close(figure)


@pytest.mark.parametrize("width, columns, rob", [(None, True, True), (None, True, False), (11, True, True),
                                                 (11, False, True), (11, False, False)])
def test_a_levels_first_heading_spans_its_row_and_leaves_the_label_column_to_the_names(width, columns, rob):
    """A long level's heading ("Modality: ..." of 60 characters) widened the label column of every layout (wrapped at
    plots.label_width, 40 characters, its bold lines still wider than the names), narrowing the panel, although
    nothing else is drawn on a heading's row. It takes its whole row, on one line where it fits the figure, as a
    heading repeated atop a page does, and the label column is as wide as the names make it."""
    data = rated(family(12).assign(authors=[f"Simulated study {i:03d}" for i in range(12)]))
    name = "an integrative relational psychotherapy of long duration"
    asked = {**({"columns": DEMO_COLUMNS["columns"], "column_labels": DEMO_COLUMNS["column_labels"]} if columns
                else {}), "rob": rob, **({"width": width} if width else {})}
    options = ForestOptions.from_config(asked, {"tool": "quips"})
    figures = []
    for level in ("other", name):
        shown = data.assign(modality=data.modality.replace("other", level))
        pooled = fit(shown.yi, shown.vi, "REML", "z").as_row()
        figures += moderator_forest_plot(shown, "modality", _levels(shown), pooled, "z", options=options)
    # the same label column, panel and figure width
    short, long = [(figure.get_figwidth(), figure.axes[0].get_position().x0 * figure.get_figwidth())
                   for figure in figures]
    assert long == pytest.approx(short)
    texts = drawn_texts(figures[1])
    heading, = [text for text in texts if "integrative" in text.get_text()]  # one line
    assert heading.get_text() == f"Modality: {name}"
    names = max(_inches(figures[1], text).x1 for text in texts if text.get_text().startswith("Simulated study"))
    assert _inches(figures[1], heading).x1 > names + 0.3  # across more than the label column
    for figure in figures:
        plt.close(figure)


def test_a_last_page_of_one_study_is_balanced_over_as_many_pages():
    """A page break left the last page of the compact layout with one study above the summaries kept with it (the
    demo's moderator forest plot of modality: six pages of 26, 25, 25, 24, 24 and 1 studies). The studies now spread
    over as many pages, each still within the page's lines, its headings and summaries in place."""
    from alliance_meta.plots.forest_layout import Row, pages, pages_by_height, row_positions, study_count

    def studies(chunks):
        return [study_count(chunk) for chunk in chunks]

    rows = _three_compact_levels()
    continued = lambda heading: Row("group", [heading.label[0] + " (continued)"])  # noqa: E731
    paging = pages_by_height(rows, 9.0, continued)
    assert studies(paging.filled) == [4, 4, 3, 1]  # as full as they fit
    chunks = paging.pages
    assert studies(chunks) == [4, 4, 2, 2]  # as many pages, none less than half as full as the fullest
    # three a page, which the lines allow, would repeat every level's heading "(continued)", the full pages one
    assert studies(pages_by_height(rows, 10.0, continued).pages) == [4, 4, 2, 2]
    assert [row for chunk in chunks for row in chunk if "continued" not in row.label[0]] == rows
    for chunk in chunks:
        assert row_positions(chunk)[1] <= 9.0 and chunk[-1].kind != "group"
    assert chunks[-1][-3:] == rows[-3:]  # the last study's subtotal and the overall rows with it
    # pages of rows_per_page studies (the columns beside the names): 51 studies at 50 a page
    one_line = [Row("study", [f"S{i}"]) for i in range(51)] + [Row("overall", ["Random-effects model"])]
    assert studies(pages(one_line, 50).pages) == [26, 25]
    assert studies(pages(one_line + [Row("study", ["S51"])] * 49, 50).pages) == [50, 50]  # no widow: as before


def test_a_compact_pdf_without_a_widowed_last_page_says_so_in_the_log(tmp_path, caplog):
    """The moderator forest plot of 14 simulated studies at plots.rows_per_page 12 (compact): as full as they fit,
    its pages left one study on the last; the studies now spread over the five pages, and the job's log gives the
    studies on each page and why."""
    import logging

    from alliance_meta.plots.forest import save_moderator_forest_plot

    data = rated(family(14).assign(authors=[f"Simulated study {i:03d}" for i in range(14)]))
    asked = {**DEMO_COLUMNS, "rows_per_page": 12}
    logger = logging.getLogger("test_widow")
    caplog.set_level(logging.INFO, logger="test_widow")
    figures = save_moderator_forest_plot(data, "modality", _levels(data), fit(data.yi, data.vi, "REML", "z").as_row(),
                                         "z", [tmp_path / "forest_modality.pdf"],
                                         options=ForestOptions.from_config(asked, {"tool": "quips"}), logger=logger)
    studies = [sum(text.get_text().startswith("Simulated study") for text in drawn_texts(figure))
               for figure in figures]
    assert studies == [3, 3, 3, 3, 2]
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert ("5 pages of 3, 3, 3, 3, 2 studies, balanced over the pages (filled in turn, the last page would "
            "have held 1 study)") in messages, messages
    for figure in figures:
        plt.close(figure)


def test_one_line_pdf_pages_spread_a_lone_last_study_and_the_log_says_so(tmp_path, caplog):
    """Pages of plots.rows_per_page studies beside their columns: 11 simulated studies at 10 a page made a PDF of 10
    studies and a page of one (with the overall rows). They are now pages of 6 and 5, which the job's log gives."""
    import logging

    from alliance_meta.plots.forest import save_forest_plot

    data = family(11)
    logger = logging.getLogger("test_one_line_widow")
    caplog.set_level(logging.INFO, logger="test_one_line_widow")
    figures = save_forest_plot(data, fit(data.yi, data.vi, "REML", "z").as_row(), "z", [tmp_path / "forest.pdf"],
                               options=ForestOptions(rows_per_page=10), logger=logger)
    studies = [sum(text.get_text().startswith("Author") for text in drawn_texts(figure)) for figure in figures]
    for figure in figures:
        plt.close(figure)
    assert studies == [6, 5]
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert ("a PDF page holds at most 10 studies (plots.rows_per_page): 2 pages of 6, 5 studies, balanced over the "
            "pages (filled in turn, the last page would have held 1 study)") in messages, \
        messages


def _continued(heading):
    from alliance_meta.plots.forest_layout import Row

    return Row("group", [heading.label[0] + " (continued)"])


@st.composite
def _forest_rows(draw):
    """Rows of a forest plot: a moderator's levels of 1 to 30 studies each, or studies without levels; a heading or
    a study's name on one or two lines, a study with its detail line (a compact layout's) or none."""
    from alliance_meta.plots.forest_layout import Row

    def study(name):
        return Row("study", [name] * draw(st.integers(1, 2)), details=["n \u00b7 rater"] * draw(st.integers(0, 1)))

    sizes = draw(st.lists(st.one_of(st.integers(1, 8), st.sampled_from([10, 30])), max_size=8))
    rows = [study(f"S{i}") for i in range(draw(st.integers(1, 60)))] if not sizes else []
    for level, size in enumerate(sizes):
        rows += [Row("group", [f"Level {level}"] * draw(st.integers(1, 2))),
                 *[study(f"S{level}.{i}") for i in range(size)], Row("subtotal", ["Subtotal"])]
    return rows + [Row("overall", ["Random-effects model"]), Row("interval", ["Prediction interval"])]


def _paged(rows, by_height, limit):
    from alliance_meta.plots.forest_layout import pages, pages_by_height

    return pages_by_height(rows, limit, _continued) if by_height else pages(rows, int(limit), _continued)


def _headed_continued(chunks) -> int:
    return sum(row.label[0].endswith("(continued)") for chunk in chunks for row in chunk)


@settings(max_examples=400)
@given(rows=_forest_rows(), lines=st.sampled_from([3.5, 4, 5, 8, 10, 12, 20, 27, 50]))
def test_balanced_compact_pages_are_no_taller_than_the_pages_filled_in_turn(rows, lines):
    """Balancing a widowed last page (forest_layout._balanced) capped a page, which carried a study to the next page;
    that page, allowed two studies whatever their height, then took the next level's heading, study and every
    summary: a page of 10.5 lines where 8 were allowed. No balanced page is taller than the page's lines or, where
    two studies with their summaries do not fit them, the tallest page filled in turn."""
    from alliance_meta.plots.forest_layout import row_positions

    paging = _paged(rows, True, lines)
    filled = paging.filled or paging.pages
    tallest = max(lines, *(row_positions(chunk)[1] for chunk in filled))
    assert [row for chunk in paging.pages for row in chunk if not row.label[0].endswith("(continued)")] == rows
    assert len(paging.pages) <= len(filled)
    assert max(row_positions(chunk)[1] for chunk in paging.pages) <= tallest + 1e-9


@settings(max_examples=400)
@given(rows=_forest_rows(), by_height=st.booleans(), limit=st.sampled_from([2, 3, 4, 5, 8, 10, 12, 27, 50]))
def test_balancing_splits_no_level_that_pages_filled_in_turn_keep_whole(rows, by_height, limit):
    """A last page that starts with a level's own heading is not a widow, however few its studies, and balanced
    pages repeat no more headings marked continued than the pages filled in turn: levels of 10 and 3 studies at 10 a
    page were balanced to pages of 7 and 6, level A's subtotal away from most of its studies."""
    paging = _paged(rows, by_height, limit)
    if paging.filled is None:  # not balanced
        return
    last = paging.filled[-1][0]
    assert not (last.kind == "group" and not last.label[0].endswith("(continued)"))
    assert _headed_continued(paging.pages) <= _headed_continued(paging.filled)


def test_balanced_pages_keep_the_levels_that_pages_filled_in_turn_keep_whole():
    """Levels of 10 and 3 studies at 10 a page keep a page each, whole (the last starts with its level's heading: no
    widow). Levels of 1, 3 and 5 at 4 a page, filled in turn 4, 4 and a widow of 1 (level C continued), were balanced
    to 4, 3 and 2 with level B continued too; they are 4, 3 and 2 with B whole."""
    from alliance_meta.plots.forest_layout import Row, pages

    def levels(*sizes):
        rows = []
        for name, size in zip("ABC", sizes):
            rows += [Row("group", [name]), *[Row("study", [f"{name}{i}"]) for i in range(size)],
                     Row("subtotal", [f"Sub {name}"])]
        return rows + [Row("overall", ["RE"])]

    rows = levels(10, 3)
    paging = pages(rows, 10, _continued)
    assert paging.filled is None and paging.pages == [rows[:12], rows[12:]]
    paging = pages(levels(1, 3, 5), 4, _continued)
    assert [[row.label[0] for row in chunk] for chunk in paging.pages] == [
        ["A", "A0", "Sub A", "B", "B0", "B1", "B2", "Sub B"], ["C", "C0", "C1", "C2"],
        ["C (continued)", "C3", "C4", "Sub C", "RE"]]
    assert _headed_continued(paging.filled) == 1


def test_one_line_pages_balance_a_widow_though_the_last_page_is_taller():
    """Pages of a number of studies (plots.rows_per_page beside their columns) were held to the height of the pages
    filled in turn, which the last page, carrying the summaries, exceeds as soon as it takes more studies than the
    widow: 12 studies at 5 a page stayed 5, 5 and 2, and levels of 10 and 11 ended on a lone study under its heading
    marked continued. The number of studies is what bounds such a page."""
    from alliance_meta.plots.forest_layout import Row, pages, study_count

    rows = [Row("study", [f"S{i}"]) for i in range(12)] + [Row("overall", ["RE"]), Row("interval", ["PI"])]
    assert [study_count(page) for page in pages(rows, 5).pages] == [4, 4, 4]
    rows = []
    for name, size in (("A", 10), ("B", 11)):
        rows += [Row("group", [name]), *[Row("study", [f"{name}{i}"]) for i in range(size)],
                 Row("subtotal", [f"Sub {name}"])]
    paging = pages(rows + [Row("overall", ["RE"])], 5, _continued)
    assert [study_count(page) for page in paging.filled] == [5, 5, 5, 5, 1]
    assert [study_count(page) for page in paging.pages] == [5, 5, 5, 3, 3]


def _levels_of(*sizes, details: int = 1):
    """Levels A, B, ... of ``sizes`` studies (each with ``details`` detail lines), their subtotals, the overall row."""
    from alliance_meta.plots.forest_layout import Row

    rows = []
    for name, size in zip("ABCDEFGH", sizes):
        rows += [Row("group", [name]), *[Row("study", [f"{name}{i}"], details=["n"] * details) for i in range(size)],
                 Row("subtotal", [f"Sub {name}"])]
    return rows + [Row("overall", ["RE"])]


def test_a_widow_that_every_capped_split_leaves_is_balanced_where_another_split_fits():
    """Levels of 6, 2 and 5 compact studies on pages of 10 lines, filled in turn: 5, 3, 4 and a widow of 1 (level C's
    last study under its heading marked continued). Every cap of forest_layout._balanced (each page its share; as full
    as it fits, leaving studies to the pages after it) put more pages under a heading marked continued or left a
    widow, and the widow stayed. A split whose fullest page holds the fewest studies keeps the rules: 5, 3, 2 and 3,
    as many pages and headings marked continued, none taller than 10 lines, levels and summaries in order."""
    from alliance_meta.plots.forest_layout import pages_by_height, row_positions, study_count

    rows = _levels_of(6, 2, 5)
    paging = pages_by_height(rows, 10.0, _continued)
    assert [study_count(chunk) for chunk in paging.filled] == [5, 3, 4, 1]
    assert [study_count(chunk) for chunk in paging.pages] == [5, 3, 2, 3]
    assert [row for chunk in paging.pages for row in chunk if not row.label[0].endswith("(continued)")] == rows
    assert _headed_continued(paging.pages) <= _headed_continued(paging.filled)
    assert all(row_positions(chunk)[1] <= 10.0 and chunk[-1].kind != "group" for chunk in paging.pages)


def test_balancing_measures_each_row_a_few_times_a_split(monkeypatch):
    """Two compact levels of 500 and 501 studies at a page of 880 lines (a very large plots.rows_per_page) took 6.5 s
    to page, against 0.1 s at other heights: each of the 84 caps tried before one fit (forest_layout._balanced) split
    the rows measuring every page again for each study it took (its studies and height), a split's cost the studies
    times a page's. A split now keeps its page's studies and height as it goes: each row measured a few times."""
    import alliance_meta.plots.forest_layout as forest_layout

    rows = _levels_of(500, 501)
    measured, splits = [0], [0]
    for name in ("study_count", "row_positions", "_height"):  # what measures rows (their studies, their height)
        real = getattr(forest_layout, name, None)
        if real is not None:
            monkeypatch.setattr(forest_layout, name, lambda *args, real=real: measured.__setitem__(
                0, measured[0] + len(next(arg for arg in args if isinstance(arg, list)))) or real(*args))
    real_split = forest_layout._split
    monkeypatch.setattr(forest_layout, "_split", lambda *args: splits.__setitem__(0, splits[0] + 1) or
                        real_split(*args))
    paging = forest_layout.pages_by_height(rows, 880.0, _continued)
    assert [sum(row.kind == "study" for row in chunk) for chunk in paging.pages] == [500, 251, 250]
    assert measured[0] <= 5 * len(rows) * splits[0], (measured[0], splits[0])


@pytest.mark.parametrize("word", [("therapeutic-alliance-rupture-repair-" * 4)[:124], "supercalifragilistic" * 6])
def test_a_heading_of_one_word_wider_than_the_figure_breaks_within_it(word):
    """A level named with one word wider than the figure (no space to wrap at: 124 characters) ran its heading off the
    page, to 8.44 in of a 7-in figure: the label column is as wide as the studies' names, not the headings. It breaks
    after a hyphen, or where it has none between characters; no text is drawn beyond the figure."""
    data = rated(family(12).assign(authors=[f"Simulated study {i:03d}" for i in range(12)]))
    data = data.assign(modality=data.modality.replace("other", word))
    figure, = moderator_forest_plot(data, "modality", _levels(data), fit(data.yi, data.vi, "REML", "z").as_row(), "z",
                                    options=ForestOptions.from_config(DEMO_COLUMNS, {"tool": "quips"}))
    texts = drawn_texts(figure)
    pieces = [text.get_text() for text in texts if text.get_text() in f"Modality: {word}"]  # the heading's lines
    assert len(pieces) > 1 and "".join(pieces) == f"Modality: {word}", pieces
    if "-" in word:  # broken after its hyphens
        assert all(piece.endswith("-") for piece in pieces[:-1]), pieces
    assert figure.get_figwidth() == pytest.approx(PAGE_WIDTH)
    for text in texts:
        box = _inches(figure, text)
        assert 0 <= box.x0 and box.x1 <= figure.get_figwidth() + 1e-6, (text.get_text()[:40], box.x1)
    plt.close(figure)


@pytest.mark.parametrize("level, parts", [("psycho-dynamic-interpersonal-" * 5, r"[^-]*-|[^-]+"),
                                          ("supercalifragilistic" * 6, ".")])
def test_a_broken_heading_fills_each_line_before_it_breaks_the_word(level, parts):
    """A level's one-word name wider than the figure was broken on lines of its own: "Modality:" alone on the first
    line, the word's parts under it. Each line now takes as much as fits, as a typesetter fills it: "Modality: psycho-
    dynamic-..." over the rest, the heading's first line as wide as the row allows (the next part would not fit)."""
    from alliance_meta.plots.forest_layout import MARGIN, UNHINTED_SCALE, text_width

    data = rated(family(12).assign(authors=[f"Simulated study {i:03d}" for i in range(12)]))
    data = data.assign(modality=data.modality.replace("other", level))
    options = ForestOptions.from_config(DEMO_COLUMNS, {"tool": "quips"})
    figure, = moderator_forest_plot(data, "modality", _levels(data), fit(data.yi, data.vi, "REML", "z").as_row(), "z",
                                    options=options)
    heading = f"Modality: {level}"
    lines = [text.get_text() for text in drawn_texts(figure) if text.get_text() in heading and len(text.get_text()) > 2]
    assert len(lines) > 1 and "".join(lines) == heading and lines[0] != "Modality:", lines
    room = UNHINTED_SCALE * (figure.get_figwidth() - 2 * MARGIN)  # the heading's row, as printed (10 x the size)
    for line, after in zip(lines, lines[1:]):  # each line but the last: the next line's first part does not fit
        part = re.match(parts, after).group()
        assert text_width([line + part], UNHINTED_SCALE * options.font_size, options.font_family, bold=True) > room, \
            (line, part)
    plt.close(figure)


def test_the_panels_lines_measure_the_headings_rows_alone(monkeypatch):
    """forest_draw.line_spans measured every row's text as printed (print_width, at ten times its size) to learn
    which rows break the panel's lines, though only a heading's does: it measures the headings alone."""
    import alliance_meta.plots.forest_draw as forest_draw
    from alliance_meta.plots.forest_layout import Row, column_layout, row_positions

    rows = [Row("group", ["Modality: CBT"]), Row("study", ["Simulated study 000 (2000)"]),
            Row("subtotal", ["Subtotal, k = 1 study"]), Row("overall", ["Random-effects model"])]
    options = ForestOptions()
    layout = column_layout(rows, ["Study", "", "r [95% CI]", "Weight"], 7.0, options.font_size, options.font_family)
    measured = []
    real = forest_draw.print_width
    monkeypatch.setattr(forest_draw, "print_width", lambda texts, *args, **kwargs: measured.append(texts) or
                        real(texts, *args, **kwargs))
    tops, total = row_positions(rows)
    spans = forest_draw.line_spans(rows, tops, total, 0.0, (-0.5, 0.5), layout, options)
    assert measured == [["Modality: CBT"]] and spans


@pytest.mark.parametrize("columns", [False, True])
def test_a_huge_rows_per_page_is_capped_at_the_tallest_pdf_page(monkeypatch, tmp_path, caplog, columns):
    """plots.rows_per_page 2000 put every study on one PDF page, beyond 200 in (14,400 pt) for a long family: Acrobat
    and journals refuse such a page. Pages stop at style.MAX_PAGE_HEIGHT (here lowered to 20 in, so that 150
    SIMULATED studies reach it), one-line and compact pages alike, every study once and in order, and the job's log
    says why there are more pages than asked."""
    import logging

    from alliance_meta.plots import forest as forest_module
    from alliance_meta.plots import style

    monkeypatch.setattr(style, "MAX_PAGE_HEIGHT", 20.0, raising=False)  # fails on the pages, not here
    data = family(150).assign(authors=[f"Simulated study {i:03d}" for i in range(150)])
    data = rated(data) if columns else data
    pooled = fit(data.yi, data.vi, "REML", "z").as_row()
    asked = {**(DEMO_COLUMNS if columns else {"rob": False}), "rows_per_page": 2000}
    logger = logging.getLogger("test_capped_pages")
    caplog.set_level(logging.INFO, logger="test_capped_pages")
    figures = forest_module.save_forest_plot(data, pooled, "z", [tmp_path / "forest.pdf"], logger=logger,
                                             options=ForestOptions.from_config(asked, {"tool": "quips"}))
    assert len(figures) > 1 and max(figure.get_figheight() for figure in figures) <= 20.0 + 1e-9
    studies = [text.get_text().split(" (")[0] for figure in figures for text in drawn_texts(figure)
               if text.get_text().startswith("Simulated study")]
    assert studies == [f"Simulated study {i:03d}" for i in range(150)]
    assert any("more pages than plots.rows_per_page (2000) asks, as its pages would be taller than 20 in"
               in record.getMessage() for record in caplog.records)
    for figure in figures:
        plt.close(figure)


@pytest.mark.slow
def test_a_pdf_page_of_900_compact_studies_at_rows_per_page_2000_is_at_most_14400_pt(tmp_path):
    """The real cap: 900 SIMULATED studies with the demo's columns under their names at plots.rows_per_page 2000 took
    one page of about 255 in; the PDF's pages (MediaBox, points) are now at most 14,400 pt tall."""
    from alliance_meta.plots import forest as forest_module

    data = rated(family(900))
    pooled = fit(data.yi, data.vi, "REML", "z").as_row()
    path = tmp_path / "forest.pdf"
    forest_module.save_forest_plot(data, pooled, "z", [path], options=ForestOptions.from_config(
        {**DEMO_COLUMNS, "rows_per_page": 2000}, {"tool": "quips"}))
    boxes = [float(height) for height in re.findall(rb"/MediaBox \[ 0 0 [\d.]+ ([\d.]+) \]", path.read_bytes())]
    assert len(boxes) > 1 and max(boxes) <= 14400


def test_a_compact_plot_that_fits_one_page_says_nothing_of_the_page_cap(tmp_path, caplog):
    """30 SIMULATED studies with the demo's columns under their names at plots.rows_per_page 2000 take one page of
    about 11 in, yet the log said "more pages than plots.rows_per_page (2000) asks": the cap was taken as applied
    wherever a page of 2000 one-line studies would be taller than 200 in, not where a page of these rows would be."""
    import logging

    from alliance_meta.plots import forest as forest_module

    data = rated(family(30))
    pooled = fit(data.yi, data.vi, "REML", "z").as_row()
    logger = logging.getLogger("test_uncapped_pages")
    caplog.set_level(logging.INFO, logger="test_uncapped_pages")
    figures = forest_module.save_forest_plot(data, pooled, "z", [tmp_path / "forest.pdf"], logger=logger,
                                             options=ForestOptions.from_config({**DEMO_COLUMNS, "rows_per_page": 2000},
                                                                               {"tool": "quips"}))
    assert len(figures) == 1 and figures[0].get_figheight() < 20
    assert any("1 page of 30 studies" in record.getMessage() for record in caplog.records)  # the log was written
    assert not any("more pages than" in record.getMessage() for record in caplog.records)
    plt.close(figures[0])
