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
from alliance_meta.plots.forest_layout import text_width, wrap_breaking  # noqa: E402
from alliance_meta.plots.forest_options import study_labels  # noqa: E402
from alliance_meta.plots import style as plot_style  # noqa: E402
from alliance_meta.plots.provenance import add_note, note_height  # noqa: E402
from alliance_meta.plots.style import STYLE, drawn_once, save_file, save_pdf_pages, symbol  # noqa: E402
from alliance_meta.wording import counted  # noqa: E402

# robvis colours: low, some concerns / moderate, high, critical; no information
_COLOURS = ("#02C100", "#E2DF07", "#BF0000", "#820000")
_MARKERS = ("o", "D", "s", "^")
_GLYPHS = ("+", "\u2212", "\u00d7", "!")
_HATCHES = ("", "///", "xxx", "...")
_UNRATED = ("#4EA1F7", "h", "?", "ooo")
ROW_INCHES = 0.24
"""Height of a study row of the traffic light; compact layouts shrink it to :data:`COMPACT_ROW_INCHES`."""
COMPACT_ROW_INCHES = 0.12
LABEL_INCHES = 3.2  # the widest column of study names of the traffic light
LABEL_PAD = 0.1  # inches between the names and the symbols' axis (the tick labels' pad and a margin)
LINE_SPACING = 1.2  # matplotlib's line spacing of a name broken over lines, in font sizes
TRAFFIC_LIGHT_TOP = 0.75  # inches of a traffic-light page above its rows: the title and the domains' headers
TRAFFIC_LIGHT_BOTTOM = 0.9  # inches of a traffic-light page beneath its rows: the domain key
NOT_RATED_COLOUR = "#555555"  # the dash of a cell without a judgement
NOT_RATED_FILL = "#BDBDBD"  # the summary's band of the studies without a judgement (a blank cell)
NOT_RATED = "Not rated"  # a cell without a judgement, in both figures' legends


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
                              markeredgewidth=0.9, label=NOT_RATED))
    return handles


def domain_code(tool: RobTool, column: str) -> str:
    """``D1`` ... in the tool's order of domains (the same in every figure), ``Overall``."""
    return "Overall" if column == OVERALL else f"D{tool.domains.index(column.removeprefix('rob_')) + 1}"


def _domain_key(tool: RobTool, columns) -> str:
    parts = [f"{domain_code(tool, c)}: {tool.label(c)}" for c in columns if c != OVERALL]
    return "; ".join(parts) + "."


#: what the log advises for study names the traffic light cannot draw: it names studies by authors and year and
#: reads neither plots.labels nor plots.font_family (:func:`~alliance_meta.plots.style.log_undrawable_names`)
NAMES_REMEDY = ("transliterate the sheet's authors (the traffic-light plot names a study by its authors and year, "
                "else its label, else its study_id)")


def study_names(studies: pd.DataFrame) -> list[str]:
    """``authors (year)`` when the sheet has them, else ``label``, else ``study_id``
    (:func:`alliance_meta.plots.forest_options.study_labels`); names with characters the font lacks are logged
    with :data:`NAMES_REMEDY`."""
    return study_labels(studies, "authors_year", remedy=NAMES_REMEDY)


def traffic_light(judgements: pd.DataFrame, tool: RobTool, *, rows_per_page: int | None = None,
                  note: str | None = None) -> list:
    """Traffic-light plot(s) of :func:`alliance_meta.inputs.risk_of_bias.study_judgements`: one
    figure, or one per page of ``rows_per_page`` studies; where such a page would be taller than
    :data:`~alliance_meta.plots.style.MAX_PAGE_HEIGHT`, an equal share of the studies on each of the fewest pages
    that are not with ``note`` beneath, all in one layout (the names' column and rows of all the studies; the first
    figure's ``pages_note`` says so, for the job's log). Beyond 60 studies on one figure the rows shrink and the
    glyphs are left out (shape and colour still tell the judgements apart)."""
    columns = [c for c in tool.columns if c in judgements]
    if not columns:
        raise ValueError("no risk-of-bias columns to plot")
    names = study_names(judgements)
    k = len(judgements)
    size = rows_per_page or max(k, 1)
    bounds = list(range(0, max(k, 1), size)) + [k]
    layout = None  # each page's own (:func:`_traffic_light_page`)
    beneath = note_height(note) if rows_per_page is not None else 0.0
    if rows_per_page is not None and any(_page_inches(names[start:end], end - start > 60) + beneath
                                         > plot_style.MAX_PAGE_HEIGHT for start, end in zip(bounds, bounds[1:])):
        # pages of an equal share of the studies in one layout, the names' column and rows' pitch of all the names
        # (wrapped: :func:`_names_column`), each within MAX_PAGE_HEIGHT with the note beneath
        compact = min(size, k) > 60
        names, label_inches, pitch = _names_column(names, compact)
        layout = (compact, label_inches, pitch)
        room = plot_style.MAX_PAGE_HEIGHT - TRAFFIC_LIGHT_TOP - TRAFFIC_LIGHT_BOTTOM - beneath
        count = -(-k // min(size, max(1, int(room / pitch))))
        bounds = [k * page // count for page in range(count + 1)]
    figures = []
    for page, (start, end) in enumerate(zip(bounds, bounds[1:])):
        page_text = f" (page {page + 1} of {len(bounds) - 1})" if len(bounds) > 2 else ""
        figures.append(_traffic_light_page(judgements.iloc[start:end], names[start:end], tool, columns, note,
                                           page_text, layout))
    if layout is not None:
        figures[0].pages_note = (f"{counted(len(figures), 'page')} of "
                                 f"{', '.join(str(end - start) for start, end in zip(bounds, bounds[1:]))} studies, "
                                 f"{plot_style.taller_pages_note(rows_per_page)}")
    return figures


def _traffic_light_page(block, names, tool, columns, note, page_text, layout=None):
    """One page of :func:`traffic_light`: compact (small rows, no glyphs) beyond 60 studies, its names' column of
    its own names (:func:`_names_column`); or ``layout`` (compact, the column's width, the rows' pitch) of all
    the pages, ``names`` as :func:`_names_column` gave them."""
    styles = judgement_style(tool)
    k = len(block)
    if layout is None:
        compact = k > 60
        names, label_inches, pitch = _names_column(names, compact)
    else:
        compact, label_inches, pitch = layout
    row, font = _row_and_font(compact)
    col_inches = 0.34 if not compact else 0.2
    codes = [domain_code(tool, c) for c in columns]
    xs = np.arange(len(columns), dtype=float)  # column centres; the overall column moved right if its header
    if OVERALL in columns and len(columns) > 1:  # would touch the last domain's (compact rows: "D6Overall")
        family = plt.rcParams["font.family"]
        needed = (text_width([codes[-1]], font, family) + text_width([codes[-2]], font, family)) / 2 + 0.06
        xs[-1] += max(0.0, needed / col_inches - 1)
    span = xs[-1] + 1  # axis width in columns
    width = max(4.0, label_inches + col_inches * span + 0.4)
    height = TRAFFIC_LIGHT_TOP + pitch * k + TRAFFIC_LIGHT_BOTTOM
    with plt.rc_context({**STYLE, "font.size": font}):
        figure = plt.figure(figsize=(width, height))
        left = label_inches / width
        axis = figure.add_axes((left, TRAFFIC_LIGHT_BOTTOM / height, col_inches * span / width, pitch * k / height))
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


def _row_and_font(compact: bool) -> tuple[float, float]:
    """The row height (inches) and font size (points) of a traffic-light page, compact or not."""
    return (COMPACT_ROW_INCHES, 5.5) if compact else (ROW_INCHES, 8)


def _page_inches(names: list[str], compact: bool) -> float:
    """The height (inches) of a traffic-light page of these studies' names (:func:`_traffic_light_page`), without
    a note beneath."""
    return TRAFFIC_LIGHT_TOP + _names_column(names, compact)[2] * len(names) + TRAFFIC_LIGHT_BOTTOM


def _names_column(names: list[str], compact: bool) -> tuple[list[str], float, float]:
    """The study names of a traffic-light page, the width (inches) of their column and the rows' pitch (inches).
    The column is estimated from the names' length, at most :data:`LABEL_INCHES`; a name wider as drawn than that
    (less the tick labels' pad) is broken over lines at its spaces, a word wider than the column after its hyphens
    or between its characters (:func:`~alliance_meta.plots.forest_layout.wrap_breaking`: a one-word name of 60
    letters had widened the figure as the long names had), the column is then the widest and the rows as tall as
    the most lines need. The names had run out of the column to the left and widened the figure (the saved box is
    tight): a 10.5-in figure of names of 110 characters, its 8-pt text printed at 5.3 pt at 7 in. Where every name
    fits, the names, column and rows are as before."""
    row, font = _row_and_font(compact)
    label_chars = max((len(n) for n in names), default=10)
    label_inches = min(LABEL_INCHES, 0.4 + label_chars * font / 72 * 0.55)
    family = plt.rcParams["font.family"]
    room = LABEL_INCHES - LABEL_PAD
    if all(text_width([name], font, family) <= room for name in names):
        return names, label_inches, row
    wrapped = [name if text_width([name], font, family) <= room else "\n".join(wrap_breaking(name, room, font, family))
               for name in names]
    lines = max(name.count("\n") + 1 for name in wrapped)
    return wrapped, LABEL_INCHES, max(row, lines * font * LINE_SPACING / 72 + 0.04)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, max(width, 30)))


def summary_table(judgements: pd.DataFrame, tool: RobTool, weights=None) -> pd.DataFrame:
    """Percent of studies (or of ``weights``, one per row of ``judgements``) at each judgement,
    one row per domain (rows: ``column``, ``domain``, ``k`` rated, one column per judgement); studies
    without a judgement of a domain are left out of those shares, and ``not_rated`` is their percent of all
    the studies (or of all the weight)."""
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
        everything = w.sum()
        not_rated = 100 * w[~rated].sum() / everything if everything > 0 else np.nan
        rows.append({"column": column, "domain": tool.label(column), "k": int(rated.sum()), **shares,
                     "not_rated": not_rated})
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
    judgement, or share of the main model's weight when ``weights`` are given. Where some studies have
    judgements and some lack one of a domain, every bar is of all the studies, as robvis's bars count every
    study (McGuinness & Higgins 2021), and reaches 100%: those without a judgement (a blank cell) in a grey band
    of their own (:data:`NOT_RATED`), apart from a tool's "no information" judgement (ROBINS-I's blue band, which
    can be beside it); otherwise of the studies rated."""
    table = summary_table(judgements, tool, weights)
    styles = judgement_style(tool)
    judged = table[list(tool.judgements)].to_numpy(float)
    not_rated = np.nan_to_num(table["not_rated"].to_numpy(float))
    banded = bool(not_rated.any()) and bool(np.nan_to_num(judged).any())
    bands = list(tool.judgements)
    if banded:  # the shares of all the studies, and the band of those without a judgement
        judged = np.column_stack([np.nan_to_num(judged) * (100 - not_rated[:, None]) / 100, not_rated])
        styles = {**styles, NOT_RATED: JudgementStyle(NOT_RATED_FILL, "", "", "black", "")}
        bands.append(NOT_RATED)
    n = len(table)
    height = 1.3 + 0.36 * n
    with plt.rc_context({**STYLE, "font.size": 8, "hatch.linewidth": 0.6}):
        figure, axis = plt.subplots(figsize=(7.0, height))
        y = np.arange(n)[::-1]
        left = np.zeros(n)
        present = []
        shown = whole_percentages(judged)  # labels that add up to 100
        for column, judgement in enumerate(bands):
            share = np.nan_to_num(judged[:, column])
            if not share.any():
                continue
            present.append(judgement)
            style = styles[judgement]
            axis.barh(y, share, left=left, height=0.7, color=style.colour, edgecolor="black", linewidth=0.5,
                      hatch=style.hatch, label=judgement if judgement == NOT_RATED else judgement.capitalize())
            for yi, l, s, label in zip(y, left, share, shown[:, column]):
                if s >= 8:
                    axis.text(l + s / 2, yi, f"{label:.0f}%", ha="center", va="center", fontsize=7,
                              color=style.glyph_colour,
                              bbox={"boxstyle": "round,pad=0.1", "facecolor": style.colour, "linewidth": 0})
            left += share
        axis.set_yticks(y)
        counts = [len(judgements)] * n if banded else table["k"]  # the studies in each bar
        axis.set_yticklabels([f"{d if c != OVERALL else 'Overall risk of bias'} ({symbol('k')} = {k})"
                              for c, d, k in zip(table["column"], table["domain"], counts)])
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


def save_rob_figures(figures_of, paths, logger=None) -> None:
    """Write one figure to PNG/SVG and every page (``figures_of(paged=True)``) to a PDF. A PDF of one page is the
    figure itself (``figures_of`` gives the same figure either way then: :func:`traffic_light` with every study on
    one page), built once for every file; each figure is laid out once (:func:`_laid_out`), and no file lays it
    out again for its tight box (:func:`~alliance_meta.plots.style.drawn_once`; the same bytes). ``logger`` gets the
    PDF's ``pages_note`` (:func:`traffic_light`), where it has one."""
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
                if logger is not None and getattr(pages[0], "pages_note", ""):
                    logger.info("%s: %s", path.name, pages[0].pages_note)
                if len(pages) == 1 and single is None:  # (a PNG written first keeps its figure, closed below)
                    single = pages[0]
                continue
            single = single or figures_of(False)[0]
            with _drawn(single):
                save_file(single, path, dpi=300, bbox_inches="tight")
    if single is not None:
        plt.close(single)


__all__ = ["judgement_style", "traffic_light", "summary_plot", "summary_table", "save_rob_figures"]
