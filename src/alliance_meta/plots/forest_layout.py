"""Rows and page layout of the publication forest plot: text columns measured, not guessed.

A forest plot is a table with a plot panel in the middle (Lewis & Clarke 2001, BMJ 322,
1479): label | n | panel | estimate [CI] | weight. Column widths come from the widest
text in the font used; row heights from the number of wrapped label lines, so nothing
overlaps or is cut; the figure grows with the number of rows.
"""

from __future__ import annotations

import math
import re
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
    #: of the label column, as wide as the studies' names (a group heading takes its whole row: :attr:`heading_width`)
    label_width: float = 0.0

    @property
    def heading_width(self) -> float:
        """The width a group heading takes, a level's first and one repeated atop a page (``continued`` of
        :func:`pages`) alike: its whole row, from the label column to the right margin. Its row has no n,
        plots.columns, estimate, weight or risk-of-bias cell; the panel's vertical lines break at its row where it
        reaches them (forest_draw.line_spans)."""
        return self.width - MARGIN - self.label_left

    def heading_lines(self, text: str, font_size: float, family: str) -> list[str]:
        """A group heading's lines (bold): one, wrapped only where ``text`` is wider than :attr:`heading_width` as
        printed (:data:`UNHINTED_SCALE`: at 72 dpi a 9-pt bold line is 4% narrower than drawn, and a heading wrapped
        at the figure's width ran off its right edge); a word wider than that broken, each line filled as far as it
        fits (:func:`wrap_breaking`: the label column is as wide as the studies' names, not the headings, so it ran
        off the figure)."""
        width, size = UNHINTED_SCALE * self.heading_width, UNHINTED_SCALE * font_size
        return wrap_breaking(text, width, size, family, bold=True)


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


def wrap_breaking(text: str, width: float, font_size: float, family: str, bold: bool = False) -> list[str]:
    """``text`` as :func:`wrap_drawn` wraps it where each word fits a line; else (a word wider than a line) each line
    filled in turn, as a typesetter does, with the words and the parts of such a word that fit it: the word broken
    after its hyphens, a part still too wide between its characters ("Modality: psycho-" over "dynamic-...", not
    "Modality:" alone above the word)."""
    def fits(line: str) -> bool:
        return text_width([line], font_size, family, bold) <= width

    lines = wrap_drawn(text, width, font_size, family, bold)
    if all(map(fits, lines)):
        return lines
    lines = [""]
    for word in filter(None, text.split(" ")):
        parts = [word] if fits(word) else [piece for part in re.findall(r"[^-]*-|[^-]+", word)  # "non-", "directive"
                                           for piece in ([part] if fits(part) else list(part))]
        for index, part in enumerate(parts):
            joined = lines[-1] + (" " if index == 0 and lines[-1] else "") + part  # a space before a word, not a part
            if fits(joined) or not lines[-1]:
                lines[-1] = joined
            else:
                lines.append(part)
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
    # the studies' names: a group heading takes its whole row (Layout.heading_width), a summary runs on (below)
    label = measure([line for row in rows if row.kind == "study" for line in row.label], header[0])
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
        y = _row_top(y, row, index == 0)
        tops.append(y)
        y += row.lines
    return tops, y


def _row_top(y: float, row: Row, first: bool) -> float:
    """The top (lines) of ``row`` after rows ending at ``y``: half a line lower before a group heading or the overall
    summary that is not the ``first`` row."""
    return y + 0.5 if row.kind in ("group", "overall") and not first else y


def _height(y: float, rows: list[Row], first: bool) -> float:
    """The height (lines) of a page of rows ending at ``y`` once ``rows`` are added (``first``: the page had none),
    summed as :func:`row_positions` sums it."""
    for row in rows:
        y = _row_top(y, row, first) + row.lines
        first = False
    return y


#: a page's first row where a group's studies run on from the page before (:func:`pages`, :func:`pages_by_height`):
#: its heading, as ``continued`` of those functions words it
Continued = Callable[[Row], Row]


#: a page's first row where it continues a study's block of effect sizes (:data:`EFFECT_ROW`) from the page before,
#: given the block's first row and that row: the study named on it, as ``resumed`` of :func:`pages` words it
Resumed = Callable[[Row, Row], Row]


def _block_row(row: Row) -> bool:
    """Whether ``row`` is a second or later effect size of a three-level study's block (:data:`EFFECT_ROW`), also
    where a page resumes the block with the study's name above it (:data:`Resumed`)."""
    prefix = EFFECT_ROW.split("{")[0]
    return row.kind == "study" and any(line.startswith(prefix) for line in row.label)


def starts_study(row: Row) -> bool:
    """Whether ``row`` is a study's first row: a study of its own, or the first effect size of a three-level study's
    block; the unit that ``plots.rows_per_page`` counts and that a page break keeps whole where it fits."""
    return row.kind == "study" and not _block_row(row)


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


def study_count(rows: list[Row]) -> int:
    """The studies among ``rows`` (a page's, a plot's): a three-level study's block of effect sizes is one
    (:func:`starts_study`)."""
    return sum(map(starts_study, rows))


def effect_count(rows: list[Row]) -> int:
    """The rows of effect sizes (or studies, one row each) among ``rows``."""
    return sum(row.kind == "study" for row in rows)


def tallest_studies(rows: list[Row], per_page: int) -> int:
    """The most rows of effect sizes that ``per_page`` consecutive studies among ``rows`` have (all of them where
    there are fewer), at least ``per_page``: the rows of the tallest one-line page of ``per_page`` studies, a
    three-level study with all its effect sizes (:func:`starts_study`); ``per_page`` where each study is a row."""
    sizes = []
    for row in rows:
        if starts_study(row):
            sizes.append(1)
        elif row.kind == "study" and sizes:
            sizes[-1] += 1
    sums = np.concatenate([[0], np.cumsum(sizes)])
    window = min(per_page, len(sizes))
    return max(per_page, int((sums[window:] - sums[:-window]).max()) if window else 0)


@dataclass
class Paged:
    """Rows on pages (:func:`pages`, :func:`pages_by_height`)."""

    pages: list[list[Row]]
    #: where ``pages`` are balanced (:func:`_balanced`), the pages filled in turn, each as full as it fits (their last
    #: a widow); None where they are not
    filled: list[list[Row]] | None = None


#: the most studies a page may take (None: as many as fit), given the studies on the pages before it and how many
#: pages they take
Most = Callable[[int, int], int] | None

#: rows on pages, given ``most``: the pages and the index in the rows of the first study of each page after the
#: first (:func:`_split`)
Split = Callable[[Most], tuple[list[list[Row]], list[int]]]


def _opens_level(rows: list[Row], start: int) -> bool:
    """Whether the page whose first study is ``rows[start]`` starts with that study's level's own heading."""
    return start > 0 and rows[start - 1].kind == "group"


def _continued_headings(rows: list[Row], breaks: list[int]) -> int:
    """The pages (after the first; first studies ``rows[start]`` for each start in ``breaks``) that start within a
    level begun on the page before, under its heading marked continued (:func:`_page_start`)."""
    return sum(_runs_on(rows, breaks))


def _runs_on(rows: list[Row], breaks: list[int]) -> list[bool]:
    """For each page of :func:`_continued_headings`, whether it starts under a heading marked continued."""
    first = next((index for index, row in enumerate(rows) if row.kind == "group"), len(rows))
    return [not _opens_level(rows, start) and start > first for start in breaks]


def _widowed(rows: list[Row], pages: list[list[Row]], breaks: list[int]) -> bool:
    """Whether the last of ``pages`` is a widow: it holds fewer than half the studies of the fullest, and it does
    not start a level of its own (a lone study above the summaries kept with it, not a whole level's studies)."""
    return (len(pages) > 1 and not _opens_level(rows, breaks[-1])
            and 2 * study_count(pages[-1]) < max(map(study_count, pages)))


def _balanced(rows: list[Row], split: Split, continued: Continued | None, resumed: Resumed | None,
              lines: float | None = None, per_page: int | None = None) -> Paged:
    """The pages ``split(most)`` makes, filled in turn (``most`` None), unless the last is a widow (:func:`_widowed`);
    then the first fit of: each page at most its share of the studies left (rounded up); each page as full as it fits
    but leaving ``least`` studies to each page after it, ``least`` from the even share down (where headings and
    subtotals leave pages short of their share); where the rules refuse every such cap, the split that keeps them
    with the fewest studies on its fullest page (:func:`_fewest`: levels of 6, 2 and 5 compact studies on pages of 10
    lines are 5, 3, 2 and 3, where every cap left 5, 3, 4 and 1); else (no split keeps them) the pages filled in
    turn. Fit: no more pages, no widow, no more pages under a heading marked continued (:func:`_continued_headings`),
    and, for pages of ``lines`` lines (:func:`pages_by_height`; None: pages of at most ``per_page`` studies,
    :func:`pages`), none taller (:func:`row_positions`) than ``lines`` or the tallest page filled in turn
    (:func:`pages_by_height` gives a page two studies even where they are taller)."""
    filled, breaks = split(None)
    if not _widowed(rows, filled, breaks):
        return Paged(filled)
    total, count = sum(map(study_count, filled)), len(filled)
    headed = _continued_headings(rows, breaks)
    tallest = math.inf if lines is None else max(lines, *(row_positions(page)[1] for page in filled))

    def share(placed: int, done: int) -> int:
        return -(-(total - placed) // max(1, count - done))

    def leaving(least: int) -> Most:
        return lambda placed, done: total - placed - least * (count - done - 1)

    def fits(pages: list[list[Row]], breaks: list[int]) -> bool:
        return (len(pages) <= count and not _widowed(rows, pages, breaks)
                and _continued_headings(rows, breaks) <= headed
                and all(row_positions(page)[1] <= tallest + 1e-9 for page in pages))

    for most in [share, *map(leaving, range(total // count, 0, -1))]:
        balanced, breaks = split(most)
        if fits(balanced, breaks):
            return Paged(balanced, filled)
    sizes = _fewest(rows, count, headed, tallest, lines, per_page, continued, resumed)
    if sizes:
        balanced, breaks = split(lambda placed, done: sizes[min(done, len(sizes) - 1)])
        if fits(balanced, breaks):
            return Paged(balanced, filled)
    return Paged(filled)


#: the bound on :func:`_fewest`'s search, in steps of its dynamic programme (the studies times the square of the most
#: studies a page can hold, for each number of headings marked continued), about a second where no split fits: two
#: levels of 500 and 501 studies on pages of 500 would take minutes; beyond it the widow stays
SEARCH_BUDGET = 10 ** 6


def _fewest(rows: list[Row], count: int, headed: int, tallest: float, lines: float | None, per_page: int | None,
            continued: Continued | None, resumed: Resumed | None) -> list[int] | None:
    """The studies on each page of the split of ``rows`` that fits :func:`_balanced`'s rules (at most ``count`` pages
    and ``headed`` pages under a heading marked continued; no widow; pages no taller than ``tallest`` lines, and for
    pages of ``lines`` lines at least two studies on each but the last and no more than fit ``lines`` beyond two; at
    most ``per_page`` studies) with the fewest studies on its fullest page; None where none fits, or where a page
    could hold more studies than :data:`SEARCH_BUDGET` searches (the studies times their square). For each cap
    ``most`` from the even share up, a dynamic programme over the page breaks (before a study) finds the fewest pages
    that end at each break with each number of continued headings, pages of at most ``most`` studies and a last
    page of at least half of ``most`` (or one that starts its level): the first cap that fits holds no more studies a
    page than any split that fits (whose last page holds at least half its fullest). Pages as :func:`_split` makes
    them: a page opens with the headings before its first study, else the heading of its level marked continued
    (:func:`_page_start`), its first study ``resumed`` (:func:`_resumed`); the headings that end it go to the next."""
    starts = [index for index, row in enumerate(rows) if starts_study(row)]
    studies = len(starts)
    limit = min(studies, per_page or studies)
    budget = math.isqrt(SEARCH_BUDGET // studies)  # the longest page searched within SEARCH_BUDGET
    heights = []  # heights[a][b - a - 1]: the lines of the page of studies a to b - 1, up to ``limit`` studies
    heading = block = None
    for a, start in enumerate(starts):
        before = starts[a - 1] if a else 0
        for row in rows[before:start]:
            heading = row if row.kind == "group" else heading
            block = row if row.kind == "study" and not _block_row(row) else block
        if a:
            trailing = start
            while rows[trailing - 1].kind == "group":
                trailing -= 1
            opening = _page_start(list(rows[trailing:start]), heading, continued)
        else:
            opening = list(rows[:start])
        y = _height(0.0, opening + [_resumed(rows[start], block, resumed)], True)
        closed, ends = y, []
        for index in range(start + 1, len(rows)):
            row = rows[index]
            if starts_study(row):
                ends.append(closed)
                if len(ends) == limit or closed > tallest + 1e-9:  # no page of more studies fits
                    break
            y = _height(y, [row], False)
            closed = closed if row.kind == "group" else y
        else:
            ends.append(y)
        if len(ends) > budget:
            return None
        heights.append(ends)
    opens = [a > 0 and _opens_level(rows, start) for a, start in enumerate(starts)]
    runs_on = [False] + _runs_on(rows, starts[1:])

    def page_fits(a: int, b: int) -> bool:
        height, size = heights[a][b - a - 1], b - a
        return height <= tallest + 1e-9 and (lines is None or (
            (size >= 2 or b == studies) and (size <= 2 or height <= lines + 1e-9)))

    for most in range(-(-studies // count), max(map(len, heights)) + 1):
        fewest: list[dict[int, int]] = [{} for _ in range(studies + 1)]  # continued headings: pages before study a
        came: list[dict[int, tuple[int, int]]] = [{} for _ in range(studies + 1)]
        fewest[0][0] = 0
        for a in range(studies):
            for c, used in fewest[a].items():
                after = c + runs_on[a]
                if used >= count or after > headed:
                    continue
                for b in range(a + 1, min(studies, a + most, a + len(heights[a])) + 1):
                    if not page_fits(a, b) or (b == studies and 2 * (b - a) < most and not opens[a]):
                        continue
                    if used + 1 < fewest[b].get(after, math.inf):
                        fewest[b][after], came[b][after] = used + 1, (a, c)
        if fewest[studies]:
            sizes, b, c = [], studies, min(fewest[studies])
            while b:
                a, c = came[b][c]
                sizes.insert(0, b - a)
                b = a
            return sizes
    return None


def pages(rows: list[Row], per_page: int, continued: Continued | None = None,
          resumed: Resumed | None = None) -> Paged:
    """Split the rows into pages of at most ``per_page`` studies, balanced where the last would hold fewer than half
    the studies of the fullest and start no level of its own (:func:`_balanced`: 51 studies at 50 a page are pages of
    26 and 25, not 50 and 1); summaries stay on the last page, a group's heading on the page of its first study; a
    page whose first study continues the group of the page before starts with ``continued(heading)`` (the heading
    marked as continued), and one whose first row continues a three-level study's effect sizes (:data:`EFFECT_ROW`)
    has that row as ``resumed(block's first row, row)``. A three-level study counts once, its effect sizes kept on
    one page (:func:`study_count`)."""
    if study_count(rows) <= per_page:
        return Paged([rows])

    def split(most: Most) -> tuple[list[list[Row]], list[int]]:
        return _split(rows, lambda studies, height, index, limit: studies >= min(limit or per_page, per_page),
                      most, continued, resumed)

    return _balanced(rows, split, continued, resumed, per_page=per_page)


def pages_by_height(rows: list[Row], lines: float, continued: Continued | None = None,
                    resumed: Resumed | None = None, per_page: int | None = None) -> Paged:
    """Split the rows into pages whose rows take at most ``lines`` lines (:func:`row_positions`), but at least two
    studies a page (a heading marked continued can leave room for one alone: at rows_per_page 5 a PDF page of each
    study), balanced as :func:`pages` (:func:`_balanced`: the demo's moderator forest plot of modality had a last
    page of one study above its subtotal and the overall rows): the pages of a compact layout, whose studies take
    more than a line each. A study goes on the next page where it and the summaries after it (a subtotal; the
    overall rows) would not fit; the heading of its group goes with it, or where the group runs on,
    ``continued(heading)``, and a study's effect size ``resumed`` as in :func:`pages`; with ``per_page``, at most
    that many studies a page too (one-line pages capped in height: style.MAX_PAGE_HEIGHT)."""
    def full(studies: int, height: float, index: int, limit: int | None) -> bool:
        if studies < 2:
            return False
        if limit is not None and studies >= limit:
            return True
        if per_page is not None and studies >= per_page:
            return True
        end = index + 1  # the study with its effect sizes and the summaries after it
        while end < len(rows) and not starts_study(rows[end]) and rows[end].kind != "group":
            end += 1
        return _height(height, rows[index:end], False) > lines + 1e-9

    def overflows(height: float, index: int) -> bool:  # a study's effect sizes taller than a page run on
        return _height(height, [rows[index]], False) > lines + 1e-9

    def split(most: Most) -> tuple[list[list[Row]], list[int]]:
        return _split(rows, full, most, continued, resumed, overflows)

    return _balanced(rows, split, continued, resumed, lines, per_page)


def _split(rows: list[Row], full: Callable[[int, float, int, int | None], bool], most: Most,
           continued: Continued | None, resumed: Resumed | None,
           overflows: Callable[[float, int], bool] | None = None) -> tuple[list[list[Row]], list[int]]:
    """The rows on pages, a new page before each study ``rows[index]`` where ``full(studies, height, index, limit)``,
    given the page's studies and height so far (:func:`row_positions`, kept as the rows are added: one pass over the
    rows) and ``limit``, the page's ``most`` (None without); a three-level study's effect sizes stay on its page,
    unless ``overflows(height, index)`` (the block is taller than a page); the page after starts as
    :func:`_page_start` says, its first study ``resumed`` (:func:`_resumed`); and the index in ``rows`` of each
    page's first study but the first page's."""
    result, breaks, current, heading, block, placed = [], [], [], None, None, 0
    studies, height = 0, 0.0
    limit = most(0, 0) if most else None
    for index, given in enumerate(rows):
        row = given
        if (full(studies, height, index, limit) if starts_study(row) else
                _block_row(row) and overflows is not None and studies and overflows(height, index)):
            start = _page_start(current, heading, continued)
            result.append(current)
            breaks.append(index)
            placed += studies
            limit = most(placed, len(result)) if most else None
            current, studies, height = start, 0, _height(0.0, start, True)
            row = _resumed(row, block, resumed)
        heading = row if row.kind == "group" else heading
        block = given if given.kind == "study" and not _block_row(given) else block
        height = _height(height, [row], not current)
        studies += starts_study(given)
        current.append(row)
    result.append(current)
    return result, breaks
