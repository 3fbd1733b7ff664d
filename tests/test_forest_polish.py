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


def test_compact_pages_keep_a_heading_with_its_studies_and_a_subtotal_with_its_last_study():
    """The moderator forest plot's compact pages: no taller than a page of rows_per_page one-line studies, a level's
    heading never the last row of a page, its subtotal on the page of its last study."""
    from alliance_meta.plots.forest_layout import Row, pages_by_height, row_positions

    rows = []
    for level in range(3):
        rows.append(Row("group", [f"Level {level}"]))
        rows += [Row("study", [f"S{level}{i}"], details=["n \u00b7 rater"]) for i in range(4)]
        rows.append(Row("subtotal", ["Subtotal, k = 4 studies"]))
    rows += [Row("overall", ["Random-effects model"]), Row("interval", ["Prediction interval"])]
    assert rows[1].lines == 1.75  # a study and its detail line, 7 pt under the name
    chunks = pages_by_height(rows, 9.0)
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
    chunks = pages(rows, 3, lambda heading: Row("group", [heading.label[0] + " (continued)"]))
    assert [[row.label[0] for row in chunk] for chunk in chunks] == [
        ["A", "A0", "A1", "A2", "Subtotal"], ["B", "B0", "B1", "B2"], ["B (continued)", "B3", "Subtotal"]]


@pytest.mark.parametrize("columns", [False, True])  # the one-line layout / the compact one (columns under the names)
def test_a_three_level_study_split_across_pdf_pages_is_named_where_it_runs_on(columns):
    """A three-level forest plot names a study on its first effect size's row only, the others "· effect 2", "· effect
    3": a page break inside a study's block began the next page with "· effect 3", nobody's. That page now names the
    study atop its rows, "Lee (2003) (continued)"."""
    import alliance_meta as am
    from alliance_meta.plots.forest import _figures

    sizes = {"Smith": 3, "Lee": 6, "Jones": 2}
    frame = pd.DataFrame({"study_id": [name for name, k in sizes.items() for _ in range(k)],
                          "authors": [name for name, k in sizes.items() for _ in range(k)],
                          "year": [2003] * 11, "n": [80] * 11, "rater": ["patient"] * 11,
                          "yi": np.linspace(0.05, 0.6, 11), "vi": np.linspace(0.01, 0.02, 11)})  # SIMULATED
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


def test_a_heading_not_marked_continued_leaves_the_panels_lines_whole():
    """A level's own heading stays within the label column; its lines were shortened below it where it ended within
    GAP of the line at no effect (7 pt, the panel starting at r = 0 by plots.xlim, the heading the widest label):
    a figure without a continued heading changed. Only a heading marked continued, which runs across its row, shortens
    them."""
    data = rated(family(30).assign(authors=[f"Simulated study {i:03d}" for i in range(30)]))
    data = data.assign(modality=data.modality.map({"CBT": "cognitive behavioural", "other": "other"}))
    asked = {**DEMO_COLUMNS, "font_size": 7, "xlim": [0, 0.8]}
    figure, = moderator_forest_plot(data, "modality", _levels(data), fit(data.yi, data.vi, "REML", "z").as_row(), "z",
                                    options=ForestOptions.from_config(asked, {"tool": "quips"}))
    axis = figure.axes[0]
    null = next(line for line in axis.lines if list(line.get_xdata()) == [0, 0])
    assert null.get_ydata()[1] == 1  # axvline's ymax: the panel's top
    plt.close(figure)
