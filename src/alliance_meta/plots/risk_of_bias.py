"""Risk-of-bias figures in the style of robvis (McGuinness & Higgins 2021, Res Synth Methods 12:55).

- :func:`traffic_light`: one row per study, one symbol per domain and the overall judgement.
- :func:`summary_plot`: one stacked horizontal bar per domain, the share of studies (or of the
  main model's weight) at each judgement.

Every judgement has its own colour (robvis' palette), marker shape, glyph and (in the summary)
hatching, so the figures stay readable in greyscale. :func:`judgement_style` is the one
definition, also used by the forest plot's risk-of-bias columns.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from weakref import WeakSet

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.font_manager import FontProperties, findfont  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.markers import MarkerStyle  # noqa: E402
from matplotlib.textpath import TextPath  # noqa: E402
from matplotlib.transforms import Affine2D  # noqa: E402

from alliance_meta.inputs.risk_of_bias import OVERALL, RobTool  # noqa: E402
from alliance_meta.plots.forest_layout import text_width  # noqa: E402
from alliance_meta.plots.forest_options import study_labels  # noqa: E402
from alliance_meta.plots.provenance import add_note  # noqa: E402
from alliance_meta.plots.style import STYLE, drawn_once, save_file, save_pdf_pages, symbol  # noqa: E402

# robvis colours: low, some concerns / moderate, high, critical; no information
_COLOURS = ("#02C100", "#E2DF07", "#BF0000", "#820000")
_MARKERS = ("o", "D", "s", "^")
_GLYPHS = ("+", "\u2212", "\u00d7", "!")
_HATCHES = ("", "///", "xxx", "...")
_UNRATED = ("#4EA1F7", "h", "?", "ooo")
ROW_INCHES = 0.24
"""Height of a study row of the traffic light; compact layouts shrink it to 0.12."""
NOT_RATED_COLOUR = "#555555"  # the dash of a cell without a judgement


@dataclass(frozen=True)
class JudgementStyle:
    """How one judgement is drawn: fill colour, marker, glyph (text inside), glyph colour, hatching."""

    colour: str
    marker: str
    glyph: str
    glyph_colour: str
    hatch: str


def judgement_style(tool: RobTool) -> dict[str, JudgementStyle]:
    """Style of every judgement of ``tool``: best level green ``+`` circle, middle levels yellow
    ``−`` diamond, worst red ``×`` square (ROBINS-I: critical dark red ``!`` triangle), no
    information blue ``?`` hexagon. Levels of a custom tool are spread over the palette."""
    n = len(tool.levels)
    if n == 4:
        slots = [0, 1, 2, 3]
    else:
        slots = [0] + [1] * (n - 2) + [2] if n >= 2 else [0]
    styles = {}
    for level, slot in zip(tool.levels, slots):
        styles[level] = JudgementStyle(_COLOURS[slot], _MARKERS[slot], _GLYPHS[slot],
                                       "white" if slot >= 2 else "black", _HATCHES[slot])
    if tool.unrated:
        styles[tool.unrated] = JudgementStyle(_UNRATED[0], _UNRATED[1], _UNRATED[2], "black", _UNRATED[3])
    return styles


GLYPH_OUTLINE = 0.04
"""Width of the outline drawn around each judgement glyph, in font sizes."""


@lru_cache(maxsize=None)
def _glyph_outline(glyph: str, font_file: str) -> tuple[MarkerStyle, float]:
    """``glyph`` of ``font_file`` as a marker centred on its ink, and the marker size (in font sizes) at
    which the glyph is as large as in text (a custom marker is scaled so that its largest coordinate is
    half the marker size; matplotlib.markers)."""
    path = TextPath((0, 0), glyph, size=1.0, prop=FontProperties(fname=font_file))
    box = path.get_extents()
    centred = path.transformed(Affine2D().translate(-(box.x0 + box.x1) / 2, -(box.y0 + box.y1) / 2))
    return MarkerStyle(centred), 2 * float(np.abs(centred.vertices).max())


def draw_glyphs(axis, x, y, glyph: str, font_size: float, colour: str, **scatter) -> None:
    """The judgement glyph (``+``, ``−``, ``×``, ``!``, ``?``) at every point (x, y), bold at ``font_size``
    points: one marker collection, where a text per cell would be laid out and drawn again for every
    cell of every page and format (docs/performance.md)."""
    marker, size = _glyph_outline(glyph, findfont(FontProperties(weight="bold")))  # the font the text had
    # a thin outline in the glyph's colour: filled outlines draw lighter than the hinted text they replace
    axis.scatter(x, y, marker=marker, s=(size * font_size) ** 2, c=colour, edgecolors=colour,
                 linewidths=GLYPH_OUTLINE * font_size, **scatter)


def _legend_handles(tool: RobTool, styles, present, not_rated: bool = False, size: float = 8) -> list:
    """One entry per judgement in ``present``, and ``Not rated`` (the cells' dash) when ``not_rated``; markers
    of ``size`` points."""
    handles = [Line2D([], [], linestyle="", marker=styles[j].marker, markersize=size, markerfacecolor=styles[j].colour,
                      markeredgecolor="black", markeredgewidth=0.6, label=j.capitalize())
               for j in tool.judgements if j in present]
    if not_rated:
        handles.append(Line2D([], [], linestyle="", marker="_", markersize=5, markeredgecolor=NOT_RATED_COLOUR,
                              markeredgewidth=0.9, label="Not rated"))
    return handles


def domain_code(tool: RobTool, column: str) -> str:
    """``D1`` ... in the tool's order of domains (the same in every figure), ``Overall``."""
    return "Overall" if column == OVERALL else f"D{tool.domains.index(column.removeprefix('rob_')) + 1}"


def _domain_key(tool: RobTool, columns) -> str:
    parts = [f"{domain_code(tool, c)}: {tool.label(c)}" for c in columns if c != OVERALL]
    return "; ".join(parts) + "."


def study_names(studies: pd.DataFrame) -> list[str]:
    """``authors (year)`` when the sheet has them, else ``label``, else ``study_id``
    (:func:`alliance_meta.plots.forest_options.study_labels`)."""
    return study_labels(studies, "authors_year")


def traffic_light(judgements: pd.DataFrame, tool: RobTool, *, rows_per_page: int | None = None,
                  note: str | None = None) -> list:
    """Traffic-light plot(s) of :func:`alliance_meta.inputs.risk_of_bias.study_judgements`: one
    figure, or one per page of ``rows_per_page`` studies. Beyond 60 studies on one figure the
    rows shrink and the glyphs are left out (shape and colour still tell the judgements apart)."""
    columns = [c for c in tool.columns if c in judgements]
    if not columns:
        raise ValueError("no risk-of-bias columns to plot")
    names = study_names(judgements)
    k = len(judgements)
    size = rows_per_page or max(k, 1)
    starts = range(0, max(k, 1), size)
    figures = []
    for page, start in enumerate(starts):
        block = judgements.iloc[start:start + size]
        page_text = f" (page {page + 1} of {len(starts)})" if len(starts) > 1 else ""
        figures.append(_traffic_light_page(block, names[start:start + size], tool, columns, note, page_text))
    return figures


def _traffic_light_page(block, names, tool, columns, note, page_text):
    styles = judgement_style(tool)
    k = len(block)
    compact = k > 60
    row = 0.12 if compact else ROW_INCHES
    font = 5.5 if compact else 8
    label_chars = max((len(n) for n in names), default=10)
    label_inches = min(3.2, 0.4 + label_chars * font / 72 * 0.55)
    col_inches = 0.34 if not compact else 0.2
    codes = [domain_code(tool, c) for c in columns]
    xs = np.arange(len(columns), dtype=float)  # column centres; the overall column moved right if its header
    if OVERALL in columns and len(columns) > 1:  # would touch the last domain's (compact rows: "D6Overall")
        family = plt.rcParams["font.family"]
        needed = (text_width([codes[-1]], font, family) + text_width([codes[-2]], font, family)) / 2 + 0.06
        xs[-1] += max(0.0, needed / col_inches - 1)
    span = xs[-1] + 1  # axis width in columns
    width = max(4.0, label_inches + col_inches * span + 0.4)
    height = 0.75 + row * k + 0.9
    with plt.rc_context({**STYLE, "font.size": font}):
        figure = plt.figure(figsize=(width, height))
        left = label_inches / width
        axis = figure.add_axes((left, 0.9 / height, col_inches * span / width, row * k / height))
        axis.set_xlim(-0.5, span - 0.5)
        axis.set_ylim(k - 0.5, -0.5)
        marker_size = (row * 72 * (0.68 if compact else 0.72)) ** 2
        not_rated = False
        for x, column in zip(xs, columns):
            values = block[column].tolist()
            for judgement, style in styles.items():
                y = [i for i, v in enumerate(values) if v == judgement]
                if not y:
                    continue
                axis.scatter([x] * len(y), y, s=marker_size, marker=style.marker, c=style.colour,
                             edgecolors="black", linewidths=0.5, zorder=3)
                if not compact:
                    draw_glyphs(axis, [x] * len(y), y, style.glyph, font - 1, style.glyph_colour, zorder=4)
            missing = [i for i, v in enumerate(values) if not isinstance(v, str)]
            not_rated = not_rated or bool(missing)
            for i in missing:
                axis.text(x, i, "\u2013", ha="center", va="center", fontsize=font, color=NOT_RATED_COLOUR)
        axis.set_xticks(xs)
        axis.set_xticklabels(codes)
        axis.xaxis.tick_top()
        axis.set_yticks(range(k))
        axis.set_yticklabels(names)
        axis.tick_params(length=0)
        for spine in axis.spines.values():
            spine.set_visible(False)
        if OVERALL in columns and len(columns) > 1:
            axis.axvline((xs[-2] + xs[-1]) / 2, color="#999999", linewidth=0.6)
        axis.set_axisbelow(True)
        axis.grid(True, color="#e6e6e6", linewidth=0.5)
        figure.text(0.02, 1 - 0.25 / height, f"Risk of bias: {tool.title}{page_text}", fontsize=font + 1,
                    fontweight="bold", va="top")
        present = set(pd.unique(block[columns].to_numpy().ravel()))
        # compact rows: smaller markers, else the 8-point symbols of neighbouring entries touch at the small font
        legend = axis.legend(handles=_legend_handles(tool, styles, present, not_rated, 6 if compact else 8),
                             title="Judgement", loc="upper left",
                             bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=font, title_fontsize=font)
        legend._legend_box.align = "left"
        figure.text(0.02, 0.55 / height, _wrap(_domain_key(tool, columns), int(width * 72 / font * 1.6)),
                    fontsize=font, va="top")
        _laid_out(figure, note)
    return figure


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, max(width, 30)))


def summary_table(judgements: pd.DataFrame, tool: RobTool, weights=None) -> pd.DataFrame:
    """Percent of studies (or of ``weights``, one per row of ``judgements``) at each judgement,
    one row per domain (rows: ``column``, ``domain``, one column per judgement); studies
    without a judgement of a domain are left out of that domain's bar."""
    columns = [c for c in tool.columns if c in judgements]
    w = np.ones(len(judgements)) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (len(judgements),) or not np.all(np.isfinite(w) & (w >= 0)):
        raise ValueError("weights must be one finite non-negative number per study")
    rows = []
    for column in columns:
        values = judgements[column]
        rated = values.notna().to_numpy()
        total = w[rated].sum()
        shares = {j: (100 * w[(values == j).to_numpy()].sum() / total if total > 0 else np.nan)
                  for j in tool.judgements}
        rows.append({"column": column, "domain": tool.label(column), "k": int(rated.sum()), **shares})
    return pd.DataFrame(rows)


def whole_percentages(shares: np.ndarray) -> np.ndarray:
    """Each row's percentages (summing to 100) as whole numbers that sum to 100 too: floored, and the points left
    given to the largest remainders (Hamilton's method; a tie to the earlier column). A bar of 8 studies at 1, 1
    and 6 reads 13, 12 and 75%, not 12, 12 and 75% (99) as each share rounded. A row without shares stays 0."""
    shares = np.nan_to_num(np.asarray(shares, dtype=float))
    floors = np.floor(shares)
    left = np.where(shares.sum(axis=1) > 0, 100 - floors.sum(axis=1), 0).round().astype(int)
    order = np.argsort(-(shares - floors), axis=1, kind="stable")
    for row, points in enumerate(left):
        floors[row, order[row, :points]] += 1
    return floors


def summary_plot(judgements: pd.DataFrame, tool: RobTool, weights=None, note: str | None = None):
    """Stacked horizontal bars per domain (robvis ``rob_summary``): share of studies at each
    judgement, or share of the main model's weight when ``weights`` are given."""
    table = summary_table(judgements, tool, weights)
    styles = judgement_style(tool)
    n = len(table)
    height = 1.3 + 0.36 * n
    with plt.rc_context({**STYLE, "font.size": 8, "hatch.linewidth": 0.6}):
        figure, axis = plt.subplots(figsize=(7.0, height))
        y = np.arange(n)[::-1]
        left = np.zeros(n)
        present = []
        shown = whole_percentages(table[list(tool.judgements)].to_numpy(float))  # labels that add up to 100
        for column, judgement in enumerate(tool.judgements):
            share = np.nan_to_num(table[judgement].to_numpy(float))
            if not share.any():
                continue
            present.append(judgement)
            style = styles[judgement]
            axis.barh(y, share, left=left, height=0.7, color=style.colour, edgecolor="black", linewidth=0.5,
                      hatch=style.hatch, label=judgement.capitalize())
            for yi, l, s, label in zip(y, left, share, shown[:, column]):
                if s >= 8:
                    axis.text(l + s / 2, yi, f"{label:.0f}%", ha="center", va="center", fontsize=7,
                              color=style.glyph_colour,
                              bbox={"boxstyle": "round,pad=0.1", "facecolor": style.colour, "linewidth": 0})
            left += share
        axis.set_yticks(y)
        axis.set_yticklabels([f"{d if c != OVERALL else 'Overall risk of bias'} ({symbol('k')} = {k})"
                              for c, d, k in zip(table["column"], table["domain"], table["k"])])
        axis.set_xlim(0, 100)
        axis.set_xlabel("Percent of the main model's weight" if weights is not None else "Percent of studies")
        axis.tick_params(axis="y", length=0)
        axis.set_title(f"Risk of bias: {tool.title}", fontsize=9, fontweight="bold", loc="left")
        if present:
            figure.legend(loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=len(present), frameon=False)
        else:  # e.g. a family whose studies have empty rob_* cells while the other family's are rated
            axis.text(50, (n - 1) / 2, "No study has a judgement in any domain (not rated)", ha="center",
                      va="center", fontsize=8, color=NOT_RATED_COLOUR)
        figure.tight_layout(rect=(0, 0.35 / height, 1, 1))
        _laid_out(figure, note)
    return figure


#: figures laid out (:func:`_laid_out`: as :func:`traffic_light` and :func:`summary_plot` return them)
_LAID_OUT: WeakSet = WeakSet()


def _laid_out(figure, note: str | None) -> None:
    """``note`` beneath ``figure`` (:func:`add_note`, which lays the figure out), or the figure laid out without
    one: :func:`save_rob_figures` writes its files without laying it out again."""
    add_note(figure, note)
    if not note:
        figure.draw_without_rendering()
    _LAID_OUT.add(figure)


def _drawn(figure):
    """``figure``, laid out unless :func:`_laid_out` did (another ``figures_of``'s), and :func:`drawn_once`
    while in the block."""
    if figure not in _LAID_OUT:
        figure.draw_without_rendering()
        _LAID_OUT.add(figure)
    return drawn_once(figure)


def save_rob_figures(figures_of, paths) -> None:
    """Write one figure to PNG/SVG and every page (``figures_of(paged=True)``) to a PDF. A PDF of one page is the
    figure itself (``figures_of`` gives the same figure either way then: :func:`traffic_light` with every study on
    one page), built once for every file; each figure is laid out once (:func:`_laid_out`), and no file lays it
    out again for its tight box (:func:`~alliance_meta.plots.style.drawn_once`; the same bytes)."""
    single = None
    with plt.rc_context(STYLE):
        for path in map(Path, paths):
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".pdf":
                pages = figures_of(True)
                with ExitStack() as stack:
                    for page in pages:
                        stack.enter_context(_drawn(page))
                    save_pdf_pages(pages, path, bbox_inches="tight")
                if len(pages) == 1 and single is None:  # (a PNG written first keeps its figure, closed below)
                    single = pages[0]
                continue
            single = single or figures_of(False)[0]
            with _drawn(single):
                save_file(single, path, dpi=300, bbox_inches="tight")
    if single is not None:
        plt.close(single)


__all__ = ["judgement_style", "traffic_light", "summary_plot", "summary_table", "save_rob_figures"]
