"""The PRISMA 2020 flow diagram (Page et al. 2021, BMJ 372:n71, Figure 1, and its template for updated reviews).

Layout of the template for new systematic reviews: a header over the databases-and-registers route
(and over the other-methods route when there is one), the phases Identification, Screening and
Included as vertical bars on the left, the main boxes in the left column with the exclusion boxes to
their right, and both routes ending in the box of included studies and reports. An updated review
(``prisma.previous``) has the template's "Previous studies" column on the left, headers that speak of
new studies, and the new studies' box followed by the total (previous and new).
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from alliance_meta.inputs.prisma import PrismaCounts

HEADER, PHASE, BOX, EDGE = "#fde9a9", "#a9c8e8", "#ffffff", "#000000"
SIMULATED_LABEL = "SIMULATED counts (demo configuration): not the result of a real search"
FONT = 7.5


def _n(value: int) -> str:
    return f"(n\u00a0=\u00a0{value:,})"  # no-break spaces: wrapping never splits "(n = 12)"


def _lines(title: str, items: dict[str, int]) -> str:
    return title + "\n" + "\n".join(f"    {name} {_n(count)}" for name, count in items.items())


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


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(line, width, subsequent_indent="    " if line.startswith("    ") else "")
                     for line in text.split("\n"))


def prisma_figure(counts: PrismaCounts):
    """The flow diagram of ``counts`` as a matplotlib figure (inches as data units)."""
    other, previous = counts.other_methods, counts.previous
    box_w, gap, phase_w, previous_w = 2.7, 0.45, 0.35, 2.1
    x_previous = phase_w + 0.2
    x_main = x_previous + (previous_w + 0.5 if previous else 0)
    new = "new studies" if previous else "studies"
    x_excl = x_main + box_w + gap
    x_other = x_excl + box_w + 0.5
    x_other_excl = x_other + box_w + gap
    width = (x_other_excl + box_w if other else x_excl + box_w) + 0.1

    identified = _lines("Records identified from:", {**{f"{k}": v for k, v in counts.databases.items()},
                                                     **{f"{k} (register)": v for k, v in counts.registers.items()}})
    removed = _lines("Records removed before screening:", {
        "Duplicate records removed": counts.duplicates_removed,
        "Records marked as ineligible by automation tools": counts.automation_removed,
        "Records removed for other reasons": counts.other_removed})
    reasons = _lines("Reports excluded:", counts.excluded_reasons) if counts.excluded_reasons \
        else "Reports excluded (n = 0)"
    texts = [_wrap(identified, 44), _wrap(removed, 44)]
    previous_text = None
    if previous:
        no_longer = (f"\n\nOf these, no longer included {_n(previous.removed_studies)}, with their reports "
                     f"{_n(previous.removed_reports)}" if previous.removes else "")
        previous_text = _wrap(f"Studies included in previous version of review {_n(previous.studies)}\n\n"
                              f"Reports of studies included in previous version of review {_n(previous.reports)}"
                              + no_longer, 32)
    id_h = max(0.35 + 0.155 * t.count("\n") for t in texts + ([_wrap(_lines("Records identified from:", other.sources),
                                                                        44)] if other else [])
               + ([previous_text] if previous_text else []))
    reason_h = max(0.5, 0.35 + 0.155 * max(_wrap(reasons, 44).count("\n"),
                                           _wrap(_lines("Reports excluded:", other.excluded_reasons), 44).count("\n")
                                           if other else 0))
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
             f"Identification of {new} via other methods", HEADER, "center", bold=True, rounded=True)
    if previous:
        _box(ax, x_previous, y_header, previous_w, header_h, "Previous studies", HEADER, "center", bold=True,
             rounded=True)
    for label, upper, lower in (("Identification", y_header - 0.15, y_id), ("Screening", y_id - 0.2, y_assessed),
                                ("Included", y_assessed - 0.2, y_total)):
        _box(ax, 0.05, lower, phase_w, upper - lower, label, PHASE, rotate=True, rounded=True)

    def pair(y, h, left, right, x_left=x_main, x_right=x_excl):
        _box(ax, x_left, y, box_w, h, left)
        if right is not None:
            _box(ax, x_right, y, box_w, h, right)
            _arrow(ax, (x_left + box_w, y + h / 2), (x_right, y + h / 2))

    pair(y_id, id_h, texts[0], texts[1])
    pair(y_screen, row_h, f"Records screened\n{_n(counts.screened)}",
         f"Records excluded\n{_n(counts.excluded_screening)}")
    pair(y_sought, row_h, f"Reports sought for retrieval\n{_n(counts.sought)}",
         f"Reports not retrieved\n{_n(counts.not_retrieved)}")
    pair(y_assessed, reason_h, f"Reports assessed for eligibility\n{_n(counts.assessed)}", _wrap(reasons, 44))
    effect_sizes = "" if counts.included_effect_sizes is None else f"\nEffect sizes\n{_n(counts.included_effect_sizes)}"
    if previous:
        _box(ax, x_main, y_included, box_w, included_h, f"New studies included in review\n{_n(counts.new_studies)}\n"
             f"Reports of new included studies\n{_n(counts.new_reports)}")
        _box(ax, x_main, y_total, box_w, total_h, f"Total studies included in review\n{_n(counts.included_studies)}\n"
             f"Reports of total included studies\n{_n(counts.included_reports)}" + effect_sizes)
        _box(ax, x_previous, y_id, previous_w, id_h, previous_text)
        _arrow(ax, (x_main + box_w / 2, y_included), (x_main + box_w / 2, y_total + total_h))
        pcentre = x_previous + previous_w / 2
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
        pair(y_id, id_h, _wrap(_lines("Records identified from:", other.sources), 44), None, x_other)
        pair(y_sought, row_h, f"Reports sought for retrieval\n{_n(other.sought)}",
             f"Reports not retrieved\n{_n(other.not_retrieved)}", x_other, x_other_excl)
        other_reasons = (_lines("Reports excluded:", other.excluded_reasons) if other.excluded_reasons
                         else "Reports excluded (n = 0)")
        pair(y_assessed, reason_h, f"Reports assessed for eligibility\n{_n(other.assessed)}",
             _wrap(other_reasons, 44), x_other, x_other_excl)
        ocentre = x_other + box_w / 2
        _arrow(ax, (ocentre, y_id), (ocentre, y_sought + row_h))
        _arrow(ax, (ocentre, y_sought), (ocentre, y_assessed + reason_h))
        # from the other route's assessed box down and left into the included box
        corner_y = y_assessed - step - 0.25
        ax.plot([ocentre, ocentre, ], [y_assessed, corner_y], color=EDGE, lw=0.8)
        _arrow(ax, (ocentre, corner_y), (x_main + box_w, corner_y))
    if counts.simulated:
        figure.text(0.5, 0.05 / (height + label_h), SIMULATED_LABEL, ha="center", va="bottom", fontsize=FONT + 1, color="#7f0000",
                    fontweight="bold")
    return figure
