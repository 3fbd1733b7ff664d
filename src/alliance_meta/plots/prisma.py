"""The PRISMA 2020 flow diagram (Page et al. 2021, BMJ 372:n71, Figure 1, and its template for updated reviews).

Layout of the template for new systematic reviews: a header over the databases-and-registers route
(and over the other-methods route when there is one), the phases Identification, Screening and
Included as vertical bars on the left, the main boxes in the left column with the exclusion boxes to
their right, and both routes ending in the box of included studies and reports. An updated review
(``prisma.previous``) has the template's "Previous studies" column on the left, headers that speak of
new studies, and the new studies' box followed by the total (previous and new). As in the template, the
header and boxes of the optional columns (other methods, previous studies) are grey.

Boxes are :data:`BOX_WIDTH` wide with text wrapped at :data:`WRAP` characters, so that the diagram of both
routes is about 10 inches wide at 7 pt (an A4 landscape page without scaling the text below legibility; one
route, 5 inches, a portrait page). A wrapped item keeps a hanging indent, so its continuation never reads as
the next item.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from alliance_meta.inputs.prisma import SIMULATED_LABEL, PrismaCounts
from alliance_meta.plots.style import wider_note

HEADER, PHASE, BOX, EDGE = "#fde9a9", "#a9c8e8", "#ffffff", "#000000"
#: the optional columns (other methods, previous studies): grey, as in the template (PRISMA2020's 'Gainsboro')
GREY_HEADER, GREY_BOX = "#dcdcdc", "#f0f0f0"
FONT = 7.0
BOX_WIDTH = 2.05  # inches: WRAP characters of FONT-point text (capitals, wide digits) and the padding
WRAP = 36
INDENT = " " * 4  # an item's indent; its wrapped lines hang one more


def _n(value: int) -> str:
    return f"(n\u00a0=\u00a0{value:,})"  # no-break spaces: wrapping never splits "(n = 12)"


def _item(text: str, level: int = 1) -> str:
    """One item of a box, indented ``level`` times and wrapped with a hanging indent."""
    return textwrap.fill(text, WRAP, initial_indent=INDENT * level, subsequent_indent=INDENT * (level + 1))


def _lines(title: str, items: dict[str, int]) -> str:
    return "\n".join([title] + [_item(f"{name} {_n(count)}") for name, count in items.items()])


def _identified(databases: dict[str, int], registers: dict[str, int]) -> str:
    """The template's "Databases (n = ) / Registers (n = )", each source below its total (the template's
    footnote asks for the records of each database and register where feasible); a kind with no source in the
    config (none searched) is left out."""
    lines = ["Records identified from:"]
    for kind, sources in (("Databases", databases), ("Registers", registers)):
        if sources:
            lines.append(_item(f"{kind} {_n(sum(sources.values()))}"))
            lines += [_item(f"{name} {_n(count)}", 2) for name, count in sources.items()]
    return "\n".join(lines if len(lines) > 1 else lines + [_item(f"Databases and registers {_n(0)}")])


def _excluded(reasons: dict[str, int]) -> str:
    return _lines("Reports excluded:", reasons) if reasons else f"Reports excluded {_n(0)}"


def _box(ax, x, y, w, h, text, colour=BOX, align="left", bold=False, rotate=False, rounded=False):
    style = "round,pad=0,rounding_size=0.12" if rounded else "square,pad=0"
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle=style, facecolor=colour, edgecolor=EDGE, linewidth=0.8))
    if rotate:
        ax.text(x + w / 2, y + h / 2, text, rotation=90, ha="center", va="center", fontsize=FONT + 0.5,
                fontweight="bold")
    elif align == "center":
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=FONT, fontweight="bold" if bold else None,
                linespacing=1.3)
    else:
        ax.text(x + 0.12, y + h / 2, text, ha="left", va="center", fontsize=FONT, linespacing=1.3)


def _arrow(ax, start, end):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=EDGE, lw=0.8, shrinkA=0,
                                                          shrinkB=0, mutation_scale=9))


def width_note(figure, width: float | None) -> str:
    """For the job's log (:func:`~alliance_meta.plots.style.log_wider`): that the diagram is wider than
    ``plots.width`` (``width``), as the template's columns of :data:`BOX_WIDTH` boxes are; "" when it fits."""
    figure.draw_without_rendering()
    saved = figure.get_tightbbox().width + 0.2  # as saved with bbox_inches="tight" (pad_inches 0.1)
    return wider_note(saved, width, FONT, "as the PRISMA 2020 template's columns of boxes are "
                      "(both routes: an A4 landscape page)", "")


def prisma_figure(counts: PrismaCounts):
    """The flow diagram of ``counts`` as a matplotlib figure (inches as data units)."""
    other, previous = counts.other_methods, counts.previous
    box_w, gap, route_gap, phase_w = BOX_WIDTH, 0.35, 0.4, 0.35
    x_previous = phase_w + 0.2
    x_main = x_previous + (box_w + route_gap if previous else 0)
    new = "new studies" if previous else "studies"
    x_excl = x_main + box_w + gap
    x_other = x_excl + box_w + route_gap
    x_other_excl = x_other + box_w + gap
    width = (x_other_excl + box_w if other else x_excl + box_w) + 0.1

    def text_height(text: str) -> float:
        return 0.35 + 0.155 * text.count("\n")

    identified = _identified(counts.databases, counts.registers)
    removed = _lines("Records removed before screening:", {
        "Duplicate records removed": counts.duplicates_removed,
        "Records marked as ineligible by automation tools": counts.automation_removed,
        "Records removed for other reasons": counts.other_removed})
    reasons = _excluded(counts.excluded_reasons)
    other_identified = _lines("Records identified from:", other.sources) if other else ""
    other_reasons = _excluded(other.excluded_reasons) if other else ""
    previous_text = ""
    if previous:
        previous_text = "\n\n".join(
            [textwrap.fill(f"Studies included in previous version of review {_n(previous.studies)}", WRAP),
             textwrap.fill(f"Reports of studies included in previous version of review {_n(previous.reports)}", WRAP)]
            + ([textwrap.fill(f"Of these, no longer included {_n(previous.removed_studies)}, with their reports "
                              f"{_n(previous.removed_reports)}", WRAP)] if previous.removes else []))
    id_h = max(text_height(text) for text in (identified, removed, other_identified, previous_text))
    reason_h = max(0.5, text_height(reasons), text_height(other_reasons))
    row_h, step = 0.5, 0.35
    # rows from the top (y of each box's bottom edge)
    header_h = 0.45
    top = 0.0
    y_header = top - header_h
    y_id = y_header - 0.3 - id_h
    y_screen = y_id - step - row_h
    y_sought = y_screen - step - row_h
    y_assessed = y_sought - step - reason_h
    included_h = 0.65 if counts.included_effect_sizes is None or previous else 0.95
    y_included = y_assessed - step - included_h
    total_h = 0.65 if counts.included_effect_sizes is None else 0.95
    y_total = y_included - step - total_h if previous else y_included
    bottom = y_total - 0.1
    height = top - bottom

    label_h = 0.3 if counts.simulated else 0.0  # a strip beneath the diagram for the SIMULATED label
    figure = plt.figure(figsize=(width, height + label_h))
    ax = figure.add_axes([0, label_h / (height + label_h), 1, height / (height + label_h)])
    ax.set_xlim(0, width)
    ax.set_ylim(bottom, top)
    ax.axis("off")

    _box(ax, x_main, y_header, x_excl + box_w - x_main, header_h,
         f"Identification of {new} via databases and registers", HEADER, "center", bold=True, rounded=True)
    if other:
        _box(ax, x_other, y_header, x_other_excl + box_w - x_other, header_h,
             f"Identification of {new} via other methods", GREY_HEADER, "center", bold=True, rounded=True)
    if previous:
        _box(ax, x_previous, y_header, box_w, header_h, "Previous studies", GREY_HEADER, "center", bold=True,
             rounded=True)
    for label, upper, lower in (("Identification", y_header - 0.15, y_id), ("Screening", y_id - 0.2, y_assessed),
                                ("Included", y_assessed - 0.2, y_total)):
        _box(ax, 0.05, lower, phase_w, upper - lower, label, PHASE, rotate=True, rounded=True)

    def pair(y, h, left, right, x_left=x_main, x_right=x_excl, colour=BOX):
        _box(ax, x_left, y, box_w, h, left, colour)
        if right is not None:
            _box(ax, x_right, y, box_w, h, right, colour)
            _arrow(ax, (x_left + box_w, y + h / 2), (x_right, y + h / 2))

    pair(y_id, id_h, identified, removed)
    pair(y_screen, row_h, f"Records screened\n{_n(counts.screened)}",
         f"Records excluded\n{_n(counts.excluded_screening)}")
    pair(y_sought, row_h, f"Reports sought for retrieval\n{_n(counts.sought)}",
         f"Reports not retrieved\n{_n(counts.not_retrieved)}")
    pair(y_assessed, reason_h, f"Reports assessed for eligibility\n{_n(counts.assessed)}", reasons)
    effect_sizes = "" if counts.included_effect_sizes is None else f"\nEffect sizes\n{_n(counts.included_effect_sizes)}"
    if previous:
        _box(ax, x_main, y_included, box_w, included_h, f"New studies included in review\n{_n(counts.new_studies)}\n"
             f"Reports of new included studies\n{_n(counts.new_reports)}")
        _box(ax, x_main, y_total, box_w, total_h, f"Total studies included in review\n{_n(counts.included_studies)}\n"
             f"Reports of total included studies\n{_n(counts.included_reports)}" + effect_sizes)
        _box(ax, x_previous, y_id, box_w, id_h, previous_text, GREY_BOX)
        _arrow(ax, (x_main + box_w / 2, y_included), (x_main + box_w / 2, y_total + total_h))
        pcentre = x_previous + box_w / 2
        ax.plot([pcentre, pcentre], [y_id, y_total + total_h / 2], color=EDGE, lw=0.8)
        _arrow(ax, (pcentre, y_total + total_h / 2), (x_main, y_total + total_h / 2))
    else:
        _box(ax, x_main, y_included, box_w, included_h, f"Studies included in review\n{_n(counts.included_studies)}\n"
             f"Reports of included studies\n{_n(counts.included_reports)}" + effect_sizes)
    centre = x_main + box_w / 2
    for upper, lower in ((y_id, y_screen + row_h), (y_screen, y_sought + row_h), (y_sought, y_assessed + reason_h),
                         (y_assessed, y_assessed - step)):
        _arrow(ax, (centre, upper), (centre, lower))
    if other:
        pair(y_id, id_h, other_identified, None, x_other, colour=GREY_BOX)
        pair(y_sought, row_h, f"Reports sought for retrieval\n{_n(other.sought)}",
             f"Reports not retrieved\n{_n(other.not_retrieved)}", x_other, x_other_excl, GREY_BOX)
        pair(y_assessed, reason_h, f"Reports assessed for eligibility\n{_n(other.assessed)}", other_reasons,
             x_other, x_other_excl, GREY_BOX)
        ocentre = x_other + box_w / 2
        _arrow(ax, (ocentre, y_id), (ocentre, y_sought + row_h))
        _arrow(ax, (ocentre, y_sought), (ocentre, y_assessed + reason_h))
        # from the other route's assessed box down and left into the included box
        corner_y = y_assessed - step - 0.25
        ax.plot([ocentre, ocentre, ], [y_assessed, corner_y], color=EDGE, lw=0.8)
        _arrow(ax, (ocentre, corner_y), (x_main + box_w, corner_y))
    if counts.simulated:
        figure.text(0.5, 0.05 / (height + label_h), SIMULATED_LABEL, ha="center", va="bottom", fontsize=FONT + 1,
                    color="#7f0000", fontweight="bold")
    return figure
