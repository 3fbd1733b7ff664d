"""The PRISMA 2020 flow diagram (Page et al. 2021, BMJ 372:n71, Figure 1, and its template for updated reviews).

Layout of the template for new systematic reviews: a header over the databases-and-registers route
(and over the other-methods route when there is one), the phases Identification, Screening and
Included as vertical bars on the left, the main boxes in the left column with the exclusion boxes to
their right, and both routes ending in the box of included studies and reports. An updated review
(``prisma.previous``) has the template's "Previous studies" column on the left, headers that speak of
new studies, and the new studies' box followed by the total (previous and new). As in the template, the
header and boxes of the optional columns (other methods, previous studies) are grey.

Boxes are :data:`BOX_WIDTH` wide with text wrapped at :data:`WRAP` characters where the diagram fits the page
(one route: 5 inches). Where it would not (both routes, or an update's previous studies beside them: 7.5 to 13
inches), the boxes narrow to fit the page and their text wraps at their width as drawn, the rows growing in height:
a diagram scaled down to the page had its 7-pt text at 4.8 pt, below the 6-7 pt journals accept at print size. The
five columns of an update with both routes, 8.35 in wide at the narrowest boxes, fit the 7-in page with tighter
gaps, padding and phase bars (:data:`TIGHT`). A wrapped item keeps a hanging indent, so its continuation never reads
as the next item.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from alliance_meta.inputs.prisma import SIMULATED_LABEL, PrismaCounts
from alliance_meta.plots.forest_layout import print_width
from alliance_meta.plots.style import PAGE_WIDTH, wider_note

HEADER, PHASE, BOX, EDGE = "#fde9a9", "#a9c8e8", "#ffffff", "#000000"
#: the optional columns (other methods, previous studies): grey, as in the template (PRISMA2020's 'Gainsboro')
GREY_HEADER, GREY_BOX = "#dcdcdc", "#f0f0f0"
FONT = 7.0
BOX_WIDTH = 2.05  # inches: WRAP characters of FONT-point text (capitals, wide digits) and the padding
WRAP = 36
INDENT = " " * 4  # an item's indent in the template; its wrapped lines hang one more
LINE = 0.155  # inches a box grows by for each line its text wraps to beyond the template's
PHASE_WIDTH = 0.35  # the phase bars on the left
SAVED_PAD = 0.2  # the saved width beyond the figure's: savefig's tight box (the whole axes) and its 0.1-in pads
TOP_MARGIN = 0.05  # inches above the headers: at 0 the axes clipped the upper half of their edge line


@dataclass(frozen=True)
class Layout:
    """The box width, gaps and margins of a diagram (inches): ``gap`` between a main box and its exclusion box,
    ``route_gap`` between the routes (and after a previous version's column), ``pad`` between a box's edge and its
    text, ``phase`` the phase bars' width, ``left`` and ``right`` the figure's blank edges, ``margin`` the space
    between the phase bars and the boxes, ``indent`` an item's (:func:`_fill`) and ``least_room`` the narrowest text of
    a box: a register's name of 18 characters ("ClinicalTrials.gov") fits it beside two levels of the indent."""

    box: float = BOX_WIDTH
    gap: float = 0.35
    route_gap: float = 0.4
    pad: float = 0.12  # the template's
    phase: float = PHASE_WIDTH
    left: float = 0.05
    margin: float = 0.15
    right: float = 0.1
    indent: str = INDENT
    least_room: float = 1.06

    @property
    def room(self) -> float:
        """The width of a box's text."""
        return self.box - 2 * self.pad


#: The template's layout; the narrower gaps of a diagram narrowed to the page; the tightest, for the five columns of
#: an update with both routes (:func:`layout`): figure edges only as wide as half a box's 0.8-pt edge line needs
#: (at 0 the axes cut the outer half of the phase bars' and the last boxes' edges; savefig's pads remain), thinner
#: phase bars and a three-space indent (with four, the boxes that fit the register's name left other text 0.04 in
#: from their edge).
TEMPLATE = Layout()
NARROW = Layout(gap=0.25, route_gap=0.25)
TIGHT = Layout(gap=0.15, route_gap=0.1, pad=0.09, phase=0.25, left=0.01, margin=0.08, right=0.01, indent=" " * 3,
               least_room=1.0)


def layout(columns: int, width: float = PAGE_WIDTH) -> Layout:
    """The template's boxes where ``columns`` of them (the main and exclusion boxes of each route, and a previous
    version's) fit ``width`` inches as saved; else the boxes narrowed so that they do at :data:`FONT` (their text
    wrapped at their width and the rows taller: :func:`_fill`), with :data:`NARROW` gaps, or with the :data:`TIGHT`
    ones where the narrow gaps leave less text than their ``least_room``; never below the tight ``least_room``."""
    if _width(columns, TEMPLATE) + SAVED_PAD <= width + 0.005:
        return TEMPLATE
    for shape in (NARROW, TIGHT):
        fixed = _width(columns, replace(shape, box=0.0))
        narrowed = replace(shape, box=(width - SAVED_PAD - fixed) / columns)
        if narrowed.room >= shape.least_room:
            return narrowed
    return replace(TIGHT, box=TIGHT.least_room + 2 * TIGHT.pad)


def _width(columns: int, shape: Layout) -> float:
    """The figure width of ``columns`` boxes: the left edge, phase bars and margin, boxes, a gap within each route
    (its main and exclusion box), a route gap between routes (and after a previous version's column), the right
    edge."""
    routes = columns // 2
    between = (routes - 1) + columns % 2  # route gaps: between routes, and after the previous studies' column
    return (shape.left + shape.phase + shape.margin + columns * shape.box + routes * shape.gap
            + between * shape.route_gap + shape.right)


def _n(value: int) -> str:
    return f"(n\u00a0=\u00a0{value:,})"  # no-break spaces: wrapping never splits "(n = 12)"


def _fill(text: str, room: float, level: int = 0, bold: bool = False, chars: int = WRAP,
          balanced: bool = False, indent: str = INDENT) -> str:
    """``text`` indented ``level`` times and wrapped, its wrapped lines hanging one indent more (an item's; a title's,
    at level 0, do not), at the most characters up to ``chars`` whose lines are at most ``room`` inches wide as
    drawn at :data:`FONT` (a word wider than that on its own line); ``balanced``: at the fewest characters that keep
    as few lines (a centred header's lines alike, not "... databases and" over "registers")."""
    family = plt.rcParams["font.family"]
    indent, hang = indent * level, indent * (level + 1) if level else ""

    def wrapped(width):
        return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=hang, break_long_words=False)

    for chars in range(chars, 0, -1):
        lines = wrapped(chars)
        if all(print_width([line], FONT, family, bold) <= room for line in lines):
            break
    while balanced and chars > 1 and len(wrapped(chars - 1)) == len(lines):
        chars -= 1
        lines = wrapped(chars)
    return "\n".join(lines)


def _item(text: str, shape: Layout, level: int = 1) -> str:
    """One item of a box, indented ``level`` times and wrapped with a hanging indent (:func:`_fill`)."""
    return _fill(text, shape.room, level, indent=shape.indent)


def _lines(title: str, items: dict[str, int], shape: Layout) -> str:
    return "\n".join([_fill(title, shape.room)] + [_item(f"{name} {_n(count)}", shape)
                                                  for name, count in items.items()])


def _counted(room: float, *parts: tuple[str, int]) -> str:
    """A box of names each above its count, "Records screened" / "(n = 3,528)", the names wrapped to ``room``."""
    return "\n".join(f"{_fill(name, room)}\n{_n(count)}" for name, count in parts)


def _identified(databases: dict[str, int], registers: dict[str, int], shape: Layout) -> str:
    """The template's "Databases (n = ) / Registers (n = )", each source below its total (the template's
    footnote asks for the records of each database and register where feasible); a kind with no source in the
    config (none searched) is left out."""
    lines = [_fill("Records identified from:", shape.room)]
    for kind, sources in (("Databases", databases), ("Registers", registers)):
        if sources:
            lines.append(_item(f"{kind} {_n(sum(sources.values()))}", shape))
            lines += [_item(f"{name} {_n(count)}", shape, 2) for name, count in sources.items()]
    return "\n".join(lines if len(lines) > 1 else lines + [_item(f"Databases and registers {_n(0)}", shape)])


def _excluded(reasons: dict[str, int], shape: Layout) -> str:
    return _lines("Reports excluded:", reasons, shape) if reasons else _fill(f"Reports excluded {_n(0)}", shape.room)


def _grown(height: float, lines: int, *texts: str) -> float:
    """``height`` (the template's for text of ``lines`` lines) grown by :data:`LINE` for each line of the longest of
    ``texts`` beyond them."""
    return height + LINE * max(0, max(text.count("\n") + 1 for text in texts) - lines)


def _box(ax, x, y, w, h, text, colour=BOX, align="left", bold=False, rotate=False, rounded=False, pad=0.0):
    """A box with ``text`` centred, rotated (a phase bar's) or left-aligned ``pad`` inches from its left edge."""
    style = "round,pad=0,rounding_size=0.12" if rounded else "square,pad=0"
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle=style, facecolor=colour, edgecolor=EDGE, linewidth=0.8))
    if rotate:
        ax.text(x + w / 2, y + h / 2, text, rotation=90, ha="center", va="center", fontsize=FONT + 0.5,
                fontweight="bold")
    elif align == "center":
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=FONT, fontweight="bold" if bold else None,
                linespacing=1.3)
    else:
        ax.text(x + pad, y + h / 2, text, ha="left", va="center", fontsize=FONT, linespacing=1.3)


def _arrow(ax, start, end):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=EDGE, lw=0.8, shrinkA=0,
                                                          shrinkB=0, mutation_scale=9))


def width_note(figure, width: float | None) -> str:
    """For the job's log (:func:`~alliance_meta.plots.style.log_wider`): that the diagram is wider than
    ``plots.width`` (``width``), as its boxes are even at their narrowest (:data:`TIGHT`: five columns, an update's
    of both routes, need 6.95 in); "" when it fits."""
    figure.draw_without_rendering()
    saved = figure.get_tightbbox().width + SAVED_PAD  # as saved with bbox_inches="tight"
    return wider_note(saved, width, FONT, "as the PRISMA 2020 template's columns of boxes "
                      "are at their narrowest", "")


def prisma_figure(counts: PrismaCounts, width: float | None = None):
    """The flow diagram of ``counts`` as a matplotlib figure (inches as data units), at most ``width`` inches wide
    as saved (None: :data:`~alliance_meta.plots.style.PAGE_WIDTH`; :func:`layout`)."""
    other, previous = counts.other_methods, counts.previous
    shape = layout(2 * (1 + bool(other)) + bool(previous), PAGE_WIDTH if width is None else width)
    box_w, gap, route_gap, phase_w, room = shape.box, shape.gap, shape.route_gap, shape.phase, shape.room
    x_previous = shape.left + phase_w + shape.margin
    x_main = x_previous + (box_w + route_gap if previous else 0)
    new = "new studies" if previous else "studies"
    x_excl = x_main + box_w + gap
    x_other = x_excl + box_w + route_gap
    x_other_excl = x_other + box_w + gap
    width = (x_other_excl + box_w if other else x_excl + box_w) + shape.right

    def text_height(text: str) -> float:
        return 0.35 + LINE * text.count("\n")

    identified = _identified(counts.databases, counts.registers, shape)
    removed = _lines("Records removed before screening:", {
        "Duplicate records removed": counts.duplicates_removed,
        "Records marked as ineligible by automation tools": counts.automation_removed,
        "Records removed for other reasons": counts.other_removed}, shape)
    reasons = _excluded(counts.excluded_reasons, shape)
    other_identified = _lines("Records identified from:", other.sources, shape) if other else ""
    other_reasons = _excluded(other.excluded_reasons, shape) if other else ""
    previous_text = ""
    if previous:
        previous_text = "\n\n".join(
            [_fill(f"Studies included in previous version of review {_n(previous.studies)}", room),
             _fill(f"Reports of studies included in previous version of review {_n(previous.reports)}", room)]
            + ([_fill(f"Of these, no longer included {_n(previous.removed_studies)}, with their reports "
                      f"{_n(previous.removed_reports)}", room)] if previous.removes else []))
    screened = _counted(room, ("Records screened", counts.screened))
    excluded = _counted(room, ("Records excluded", counts.excluded_screening))
    sought = [_counted(room, ("Reports sought for retrieval", route.sought)) for route in (counts, other) if route]
    not_retrieved = [_counted(room, ("Reports not retrieved", route.not_retrieved)) for route in (counts, other)
                     if route]
    assessed = [_counted(room, ("Reports assessed for eligibility", route.assessed)) for route in (counts, other)
                if route]
    effect_sizes = () if counts.included_effect_sizes is None else (("Effect sizes", counts.included_effect_sizes),)
    if previous:
        included = _counted(room, ("New studies included in review", counts.new_studies),
                            ("Reports of new included studies", counts.new_reports))
        total = _counted(room, ("Total studies included in review", counts.included_studies),
                         ("Reports of total included studies", counts.included_reports), *effect_sizes)
    else:
        included = _counted(room, ("Studies included in review", counts.included_studies),
                            ("Reports of included studies", counts.included_reports), *effect_sizes)
        total = included
    headers = {key: _fill(text, room if key == "previous" else 2 * box_w + gap - 2 * shape.pad, bold=True,
                          chars=len(text), balanced=True)
               for key, text in (("main", f"Identification of {new} via databases and registers"),
                                 ("other", f"Identification of {new} via other methods"),
                                 ("previous", "Previous studies"))}
    id_h = max(text_height(text) for text in (identified, removed, other_identified, previous_text))
    reason_h = max(text_height(reasons), text_height(other_reasons), _grown(0.5, 2, *assessed))
    row_h, step = 0.5, 0.35
    screen_h = _grown(row_h, 2, screened, excluded)
    sought_h = _grown(row_h, 2, *sought, *not_retrieved)
    # rows from the top (y of each box's bottom edge)
    header_h = _grown(0.45, 1, headers["main"], headers["other"] if other else "", headers["previous"])
    top = 0.0
    y_header = top - TOP_MARGIN - header_h
    y_id = y_header - 0.3 - id_h
    y_screen = y_id - step - screen_h
    y_sought = y_screen - step - sought_h
    y_assessed = y_sought - step - reason_h
    included_h = _grown(0.65 if counts.included_effect_sizes is None or previous else 0.95,
                        4 if counts.included_effect_sizes is None or previous else 6, included)
    y_included = y_assessed - step - included_h
    total_h = _grown(0.65 if counts.included_effect_sizes is None else 0.95,
                     4 if counts.included_effect_sizes is None else 6, total)
    y_total = y_included - step - total_h if previous else y_included
    bottom = y_total - 0.1
    height = top - bottom

    label_h = 0.3 if counts.simulated else 0.0  # a strip beneath the diagram for the SIMULATED label
    figure = plt.figure(figsize=(width, height + label_h))
    ax = figure.add_axes([0, label_h / (height + label_h), 1, height / (height + label_h)])
    ax.set_xlim(0, width)
    ax.set_ylim(bottom, top)
    ax.axis("off")

    _box(ax, x_main, y_header, x_excl + box_w - x_main, header_h, headers["main"], HEADER, "center", bold=True,
         rounded=True)
    if other:
        _box(ax, x_other, y_header, x_other_excl + box_w - x_other, header_h, headers["other"], GREY_HEADER,
             "center", bold=True, rounded=True)
    if previous:
        _box(ax, x_previous, y_header, box_w, header_h, headers["previous"], GREY_HEADER, "center", bold=True,
             rounded=True)
    for label, upper, lower in (("Identification", y_header - 0.15, y_id), ("Screening", y_id - 0.2, y_assessed),
                                ("Included", y_assessed - 0.2, y_total)):
        _box(ax, shape.left, lower, phase_w, upper - lower, label, PHASE, rotate=True, rounded=True)

    def pair(y, h, left, right, x_left=x_main, x_right=x_excl, colour=BOX):
        _box(ax, x_left, y, box_w, h, left, colour, pad=shape.pad)
        if right is not None:
            _box(ax, x_right, y, box_w, h, right, colour, pad=shape.pad)
            _arrow(ax, (x_left + box_w, y + h / 2), (x_right, y + h / 2))

    pair(y_id, id_h, identified, removed)
    pair(y_screen, screen_h, screened, excluded)
    pair(y_sought, sought_h, sought[0], not_retrieved[0])
    pair(y_assessed, reason_h, assessed[0], reasons)
    if previous:
        _box(ax, x_main, y_included, box_w, included_h, included, pad=shape.pad)
        _box(ax, x_main, y_total, box_w, total_h, total, pad=shape.pad)
        _box(ax, x_previous, y_id, box_w, id_h, previous_text, GREY_BOX, pad=shape.pad)
        _arrow(ax, (x_main + box_w / 2, y_included), (x_main + box_w / 2, y_total + total_h))
        pcentre = x_previous + box_w / 2
        ax.plot([pcentre, pcentre], [y_id, y_total + total_h / 2], color=EDGE, lw=0.8)
        _arrow(ax, (pcentre, y_total + total_h / 2), (x_main, y_total + total_h / 2))
    else:
        _box(ax, x_main, y_included, box_w, included_h, included, pad=shape.pad)
    centre = x_main + box_w / 2
    for upper, lower in ((y_id, y_screen + screen_h), (y_screen, y_sought + sought_h), (y_sought, y_assessed + reason_h),
                         (y_assessed, y_assessed - step)):
        _arrow(ax, (centre, upper), (centre, lower))
    if other:
        pair(y_id, id_h, other_identified, None, x_other, colour=GREY_BOX)
        pair(y_sought, sought_h, sought[1], not_retrieved[1], x_other, x_other_excl, GREY_BOX)
        pair(y_assessed, reason_h, assessed[1], other_reasons, x_other, x_other_excl, GREY_BOX)
        ocentre = x_other + box_w / 2
        _arrow(ax, (ocentre, y_id), (ocentre, y_sought + sought_h))
        _arrow(ax, (ocentre, y_sought), (ocentre, y_assessed + reason_h))
        # from the other route's assessed box down and left into the included box
        corner_y = y_assessed - step - 0.25
        ax.plot([ocentre, ocentre, ], [y_assessed, corner_y], color=EDGE, lw=0.8)
        _arrow(ax, (ocentre, corner_y), (x_main + box_w, corner_y))
    if counts.simulated:
        figure.text(0.5, 0.05 / (height + label_h), SIMULATED_LABEL, ha="center", va="bottom", fontsize=FONT + 1,
                    color="#7f0000", fontweight="bold")
    return figure
