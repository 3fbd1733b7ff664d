"""Rows and page layout of the publication forest plot: text columns measured, not guessed.

A forest plot is a table with a plot panel in the middle (Lewis & Clarke 2001, BMJ 322,
1479): label | n | panel | estimate [CI] | weight. Column widths come from the widest
text in the font used; row heights from the number of wrapped label lines, so nothing
overlaps or is cut; the figure grows with the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.cbook import is_math_text
from matplotlib.font_manager import FontProperties

from alliance_meta.plots.style import math_fonts

GAP, MARGIN, MIN_PANEL = 0.14, 0.08, 1.8  # inches
#: the narrowest panel (inches) of a compact layout (``detail_size``: forest_draw.compact), which keeps the figure
#: within plots.width where the text beside it leaves less than MIN_PANEL
COMPACT_PANEL = 1.3
#: the height (in lines) of each detail line of a compact layout (7 pt under an 8-pt name: forest_draw.compact), so
#: that a study with its detail line takes 1.75 lines, not 2
DETAIL_PITCH = 0.75
#: rows whose label may run on over the n and plots.columns cells (theirs are empty): the summaries
SPANNING = ("overall", "subtotal", "interval")
#: rows whose text is bold: a group heading and the overall summary
BOLD = ("group", "overall")
LINE = 1.45  # row line height in font sizes
#: a no-break space: :func:`wrap_drawn` never breaks a line at it (between a statistic, its "=" and its value; the words
#: of a plots.columns name in the detail lines' header)
NBSP = "\u00a0"
#: the label of a three-level forest plot's second and later rows of a study (:func:`alliance_meta.plots.forest.
#: study_blocks`): indented, the effect size's place in its study's block
EFFECT_ROW = "\u2003\u00b7 effect {}"


@dataclass
class Row:
    """One line group of the plot: a study, a group heading, a summary diamond or the prediction interval."""

    kind: str  # study | group | subtotal | overall | interval
    label: list[str]
    n: str = ""
    effect: str = ""
    weight: str = ""
    centre: float = np.nan  # analysis metric
    lower: float = np.nan
    upper: float = np.nan
    size: float = 0.0  # weight relative to the largest (studies)
    extra: list[str] = field(default_factory=list)  # plots.columns cells (studies)
    rob: list = field(default_factory=list)  # risk-of-bias judgements per domain, then overall (studies)
    #: the plots.columns cells on lines of their own under the label, where they do not fit as columns
    #: (:func:`alliance_meta.plots.forest_draw.compact`), drawn at the detail size
    details: list[str] = field(default_factory=list)
    #: a group heading repeated atop a page its studies run on to (``continued`` of :func:`pages`), which may take its
    #: whole row (:attr:`Layout.heading_width`)
    continued: bool = False

    @property
    def lines(self) -> float:
        return max(1, len(self.label) + (DETAIL_PITCH * len(self.details) if self.details else 0))


@dataclass
class Layout:
    """Column edges (inches from the left), line height (inches) and the figure's width."""

    width: float
    line: float
    label_left: float
    n_right: float
    panel: tuple[float, float]
    effect_right: float
    weight_right: float
    positions: list[float] = field(default_factory=list)
    extra_left: list[float] = field(default_factory=list)  # left edge of each plots.columns column
    extra_right: list[float] = field(default_factory=list)  # right edge (numbers are right-aligned)
    rob_centres: list[float] = field(default_factory=list)  # centre of each risk-of-bias symbol column
    #: of the label column: a group heading's lines stay within it, but one marked continued (:attr:`heading_width`)
    label_width: float = 0.0

    @property
    def heading_width(self) -> float:
        """The width a group heading marked continued may take (``continued`` of :func:`pages`): its whole row, from
        the label column to the right margin. Its row has no n, plots.columns, estimate, weight or risk-of-bias cell;
        the panel's vertical lines start below it where it reaches them (forest_draw.line_top)."""
        return self.width - MARGIN - self.label_left


def text_width(texts, font_size: float, family: str, bold: bool = False) -> float:
    """Width in inches of the widest text when drawn (Agg renderer at 72 dpi: pixels = points)."""
    family = family if isinstance(family, str) else tuple(family)  # hashable for the cache
    return max((_width_points(t, font_size, family, bold) for t in set(texts) if t), default=0.0) / 72.0


#: how many times its size a text is measured at where its width must hold at print resolution: at 72 dpi the
#: glyphs are hinted to whole pixels, and 7-pt text measured so ran about 4% wider when drawn at 300 dpi
UNHINTED_SCALE = 10


def print_width(texts, font_size: float, family: str, bold: bool = False) -> float:
    """:func:`text_width` measured at :data:`UNHINTED_SCALE` times the size (the width as printed, unhinted)."""
    return text_width(texts, font_size * UNHINTED_SCALE, family, bold) / UNHINTED_SCALE


@lru_cache(maxsize=None)
def _width_points(text: str, font_size: float, family: str, bold: bool) -> float:
    """Drawn width of one text in points; each distinct text is measured once per process (a forest
    plot measures its columns for every page layout, and most cells repeat)."""
    prop = FontProperties(family=family if isinstance(family, str) else list(family), size=font_size,
                          weight="bold" if bold else "normal")
    if not is_math_text(text):
        return _renderer().get_text_width_height_descent(text, prop, ismath=False)[0]
    with rc_context(math_fonts(family)):  # a header's italic symbol, in the math fonts the figure draws it with
        return _renderer().get_text_width_height_descent(text, prop, ismath=True)[0]


def wrap_drawn(text: str, width: float, font_size: float, family: str, bold: bool = False) -> list[str]:
    """``text`` broken at its spaces into lines each at most ``width`` inches wide as drawn (:func:`text_width`, a
    line's mathtext as it is drawn: ``$Q$`` is one letter wide, not three characters; ``bold`` text); a word wider
    than a line on a line of its own. A no-break space (between a statistic, its "=" and its value) never breaks."""
    words = [word for word in text.split(" ") if word]
    space = text_width(["a a"], font_size, family, bold) - 2 * text_width(["a"], font_size, family, bold)
    lines = []

    def fits(count):
        return text_width([" ".join(words[:count])], font_size, family, bold) <= width

    while words:
        # the most words that fit on the line (at least one): first guessed from the words' own widths (each
        # measured once per process: they repeat from note to note), then the lines at and after the guess measured
        # (mostly two: the same lines a note with the same start measured, unlike a bisection over the whole rest)
        fit, used = 0, -space
        for word in words:
            used += space + text_width([word], font_size, family, bold)
            if used > width:
                break
            fit += 1
        fit = min(max(fit, 1), len(words))
        while fit > 1 and not fits(fit):
            fit -= 1
        while fit < len(words) and fits(fit + 1):
            fit += 1
        lines.append(" ".join(words[:fit]))
        words = words[fit:]
    return lines


@lru_cache(maxsize=1)
def _renderer() -> RendererAgg:
    return RendererAgg(10, 10, 72)


def column_layout(rows: list[Row], header: list[str], width: float, font_size: float, family: str,
                  extra_header: list[str] = (), rob_header: list[str] = (), detail_size: float | None = None,
                  detail_header: Sequence[str] = ()) -> Layout:
    """Measure every column; the panel takes what is left of ``width`` (the figure widens if it must).

    Label | n | ``extra_header`` text columns | panel | estimate | weight | ``rob_header`` symbols; the rows'
    ``details`` lines and the lines of their ``detail_header`` (under the label's header) at ``detail_size`` points
    in the label column."""
    def measure(values, title):
        return max(text_width(values, font_size, family), text_width([title], font_size, family, bold=True))

    spanning = [row for row in rows if row.kind in SPANNING]
    label = measure([line for row in rows if row.kind not in SPANNING for line in row.label], header[0])
    bold_labels = text_width([line for row in rows if row.kind == "group" for line in row.label], font_size,
                             family, bold=True)
    label = max(label, bold_labels)
    if detail_size is not None:
        label = max(label, text_width([line for row in rows for line in row.details], detail_size, family),
                    text_width(list(detail_header), detail_size, family, bold=True))
    n = measure([row.n for row in rows], header[1]) if any(row.n for row in rows) else 0.0
    effect = measure([row.effect for row in rows], header[2])
    weight = measure([row.weight for row in rows], header[3])
    extra = [measure([row.extra[j] for row in rows if len(row.extra) > j], title)
             for j, title in enumerate(extra_header)]
    # a summary row's label (one line: "Random-effects model (REML), k = 125 studies") runs on over its empty n
    # and plots.columns cells, as in a journal's forest plot; the label column widens only for what is left
    room = (n + GAP if n else 0.0) + sum(w + GAP for w in extra)
    summary = text_width([line for row in spanning for line in row.label], font_size, family, bold=True)
    label = max(label, summary - room)
    cell = LINE * font_size / 72.0 * 1.15
    rob = [max(cell, text_width([title], font_size, family, bold=True) + 0.04) for title in rob_header]
    rob_total = sum(rob) + (GAP if rob else 0.0)
    fixed = (2 * MARGIN + label + (n + GAP if n else 0.0) + sum(w + GAP for w in extra) + effect + weight + 4 * GAP
             + rob_total)
    compact = detail_size is not None
    width = max(width, fixed + (COMPACT_PANEL if compact else MIN_PANEL))
    label_left = MARGIN
    n_right = label_left + label + GAP + n
    extra_left, x = [], n_right + GAP
    for w in extra:
        extra_left.append(x)
        x += w + GAP
    # one gap between the label and the panel of a compact layout without n (fixed counts one); two otherwise
    panel_left = x if extra else n_right + (0.0 if compact and not n else GAP)
    weight_right = width - MARGIN - rob_total
    panel_right = weight_right - weight - GAP - effect - 2 * GAP
    effect_right = panel_right + 2 * GAP + effect
    centres, x = [], weight_right + GAP
    for w in rob:
        centres.append(x + w / 2)
        x += w
    return Layout(width, LINE * font_size / 72.0, label_left, n_right, (panel_left, panel_right), effect_right,
                  weight_right, extra_left=extra_left, extra_right=[x + w for x, w in zip(extra_left, extra)],
                  rob_centres=centres, label_width=label)


def row_positions(rows: list[Row]) -> tuple[list[float], float]:
    """Top of each row in line units (0 at the top) and the total height in lines; gaps before summaries."""
    tops, y = [], 0.0
    for index, row in enumerate(rows):
        if row.kind in ("group", "overall") and index > 0:
            y += 0.5
        tops.append(y)
        y += row.lines
    return tops, y


#: a page's first row where a group's studies run on from the page before (:func:`pages`, :func:`pages_by_height`):
#: its heading, as ``continued`` of those functions words it
Continued = Callable[[Row], Row]


#: a page's first row where it continues a study's block of effect sizes (:data:`EFFECT_ROW`) from the page before,
#: given the block's first row and that row: the study named on it, as ``resumed`` of :func:`pages` words it
Resumed = Callable[[Row, Row], Row]


def _block_row(row: Row) -> bool:
    """Whether ``row`` is a second or later effect size of a three-level study's block (:data:`EFFECT_ROW`)."""
    return row.kind == "study" and bool(row.label) and row.label[0].startswith(EFFECT_ROW.split("{")[0])


def _resumed(row: Row, block: Row | None, resumed: Resumed | None) -> Row:
    """``row`` as the first study of a page: ``resumed(block, row)`` where it continues ``block``'s effect sizes
    (its label "· effect 3" alone did not say whose)."""
    return resumed(block, row) if resumed is not None and block is not None and _block_row(row) else row


def _page_start(page: list[Row], heading: Row | None, continued: Continued | None) -> list[Row]:
    """The rows that start the page after ``page``, taken off its end: the group headings that end it (a heading
    goes with its studies), else where its group runs on, ``continued(heading)`` (none without ``continued``)."""
    carried = []
    while page and page[-1].kind == "group":
        carried.insert(0, page.pop())
    if not carried and heading is not None and continued is not None:
        carried = [continued(heading)]
    return carried


def pages(rows: list[Row], per_page: int, continued: Continued | None = None,
          resumed: Resumed | None = None) -> list[list[Row]]:
    """Split the rows into pages of at most ``per_page`` studies; summaries stay on the last page, a group's heading
    on the page of its first study; a page whose first study continues the group of the page before starts with
    ``continued(heading)`` (the heading marked as continued), and one whose first row continues a three-level study's
    effect sizes (:data:`EFFECT_ROW`) has that row as ``resumed(block's first row, row)``."""
    if sum(row.kind == "study" for row in rows) <= per_page:
        return [rows]
    result, current, studies, heading, block = [], [], 0, None, None
    for given in rows:
        row = given
        if row.kind == "study" and studies == per_page:
            start = _page_start(current, heading, continued)
            result.append(current)
            current, studies = start, 0
            row = _resumed(row, block, resumed)
        heading = row if row.kind == "group" else heading
        block = given if given.kind == "study" and not _block_row(given) else block
        current.append(row)
        studies += row.kind == "study"
    result.append(current)
    return result


def pages_by_height(rows: list[Row], lines: float, continued: Continued | None = None,
                    resumed: Resumed | None = None) -> list[list[Row]]:
    """Split the rows into pages whose rows take at most ``lines`` lines (:func:`row_positions`), but at least two
    studies a page (a heading marked continued can leave room for one alone: at rows_per_page 5 a PDF page of each
    study): the pages of a compact layout, whose studies take more than a line each. A study goes on the next page
    where it and the summaries after it (a subtotal; the overall rows) would not fit; the heading of its group goes
    with it, or where the group runs on, ``continued(heading)``, and a study's effect size ``resumed`` as in
    :func:`pages`."""
    result, current, heading, block = [], [], None, None
    for index, given in enumerate(rows):
        row = given
        if row.kind == "study" and sum(kept.kind == "study" for kept in current) >= 2:
            following = []
            for after in rows[index + 1:]:
                if after.kind in ("study", "group"):
                    break
                following.append(after)
            if row_positions(current + [row] + following)[1] > lines + 1e-9:
                start = _page_start(current, heading, continued)
                result.append(current)
                current = start
                row = _resumed(row, block, resumed)
        heading = row if row.kind == "group" else heading
        block = given if given.kind == "study" and not _block_row(given) else block
        current.append(row)
    result.append(current)
    return result
