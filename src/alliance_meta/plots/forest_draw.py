"""Drawing the forest plot's rows (see ``forest_layout``) onto one figure per page."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import Formatter, MaxNLocator, NullFormatter  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from alliance_meta.engines.transforms import ByMetric  # noqa: E402
from alliance_meta.inputs.risk_of_bias import tool_from_config  # noqa: E402
from alliance_meta.plots.forest_layout import (BOLD, DETAIL_PITCH, GAP, MARGIN, NBSP, SPANNING, Paged,  # noqa: E402
                                               Row, column_layout, pages, pages_by_height, print_width, row_positions,
                                               study_count, effect_count, tallest_studies, UNHINTED_SCALE,
                                               text_width, wrap_drawn)
from alliance_meta.plots.forest_options import ForestOptions, check_xlim  # noqa: E402
from alliance_meta.plots.risk_of_bias import draw_glyphs, judgement_style  # noqa: E402
from alliance_meta.plots import style as style_module  # noqa: E402
from alliance_meta.plots.style import (HEADER_SYMBOLS, SCALES as STYLE_SCALES, SMALLEST_FONT, column_name,  # noqa: E402
                                       math_fonts, narrow_odds_ticks, plain_text, symbol)
from alliance_meta.wording import counted, plural, without_leading_zero  # noqa: E402

#: axis label, analysis metric -> display scale, display -> analysis metric, null (analysis metric); the label as
#: the subgroup and bubble plots write it (style.display_scale: the statistic's symbol in italics, APA 2020, 6.46)

def _drawn(scale):
    return scale.label, scale.to_display, scale.from_display, scale.null


SCALES = ByMetric({metric: _drawn(scale) for metric, scale in STYLE_SCALES.items()}, _drawn(STYLE_SCALES.odds_ratio_d))
SYMBOLS = HEADER_SYMBOLS  # the estimate's header symbol (style.HEADER_SYMBOLS)
ODDS_TICKS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)
#: Sparser odds-ratio ticks, tried in turn when the ticks of ODDS_TICKS would not fit side by side (a wide axis).
SPARSE_ODDS_TICKS = ((0.01, 0.1, 1, 10, 100), (0.001, 0.01, 0.1, 1, 10, 100, 1000), (0.001, 1, 1000))
#: The fewest labelled ticks an axis is given where it can: with two (1 and 2 on an odds-ratio axis from 0.6 to 2.2,
#: or 0 and .50 left of r ticks thinned) a reader cannot tell the scale, and one end of the axis is unlabelled.
MIN_TICKS = 3
#: Odds-ratio ticks tried in turn where those above give fewer than :data:`MIN_TICKS` (:func:`denser_odds_ticks`):
#: powers of two (0.25 0.5 1 2 4: each as far from 1 as its reciprocal), then 1, 1.5, 2, 3, 5, 7 times a power of ten
#: (RevMan's narrowest scale, 0.5 0.7 1 1.5 2, continued), each with labels that fit on the panel.
DENSER_ODDS_TICKS = (tuple(2.0 ** k for k in range(-3, 4)),
                     tuple(float(np.round(m * 10.0 ** e, 6)) for e in range(-3, 4) for m in (1, 1.5, 2, 3, 5, 7)))
FOOTER_LINES, AXIS_LINES = 3.2, 3.0
NOTE_SIZE = 0.85  # the footnote's font size, in font sizes, at least SMALLEST_FONT (note_size)
NOTE_SCALE = UNHINTED_SCALE  # the footnote is wrapped as measured at this many times its size (draw_page)
#: the largest magnitude (display scale) of an axis of correlations: Fisher z shown as r, and r itself (the
#: psychometric plot), whose t intervals can reach beyond +/-1
AXIS_BOUNDS = {"z": 0.99, "r": 1.0}
#: the longest stretch of an axis beyond its outermost tick, in tick steps: more reads as a missing tick (0, .2,
#: .4 on an axis ending at .59), less as the margin round the intervals (the demo's forest: \u2212.38 below \u2212.25)
BARE_END = 0.75
KEEP_PANEL = 2.5  # inches of the plot panel that a whole (uncut) plots.columns column may not take


def style(options) -> dict:
    """rcParams: fonts embedded as text (SVG text, PDF TrueType), the configured font and size, also of the axis
    label's italic symbol (mathtext: ``Correlation $r$``) and the header's bold italic one."""
    return {"font.size": options.font_size, "font.family": options.font_family, "svg.fonttype": "none",
            "pdf.fonttype": 42, "axes.spines.top": False, "axes.spines.right": False, "axes.spines.left": False,
            **math_fonts(options.font_family)}


def note_size(options) -> float:
    """The footnote's font size (points): :data:`NOTE_SIZE` of the font size, but not below
    :data:`~alliance_meta.plots.style.SMALLEST_FONT` (journals' least at print size; 0.85 of the default 8 pt was 6.8
    pt) unless the figure's own font is smaller."""
    return max(options.font_size * NOTE_SIZE, min(options.font_size, SMALLEST_FONT))


def rob_legend(tool, not_rated: bool = False, overall: str = "") -> str:
    """Footnote of the risk-of-bias symbols: the domains and what each symbol means (and that a blank
    cell is not rated, when ``not_rated``); ``overall``: the overall column's abbreviated header
    (:data:`OVERALL_CODE`), defined after the domains."""
    styles = judgement_style(tool)
    domains = "; ".join(f"D{i + 1} {tool.label('rob_' + d).lower()}" for i, d in enumerate(tool.domains)
                        ) + (f"; {overall} overall" if overall else "")
    symbols = ", ".join(f"{styles[j].glyph} {j}" for j in tool.judgements)
    blank = "; blank: not rated" if not_rated else ""
    return f"Risk of bias, {tool.title}: {domains}; symbols: {symbols}{blank}."


def message(text: str, note: str | None = None):
    """A small figure saying why there is no plot (keeps the workflow's outputs complete), ``note`` (the data
    note: simulated data) beneath the message as on every other figure of the data
    (:data:`alliance_meta.plots.provenance.NOTE_STYLE`). Saved in its own box (``save_pages``), not a tight
    one: the note is drawn inside the figure, its lines kept within the width."""
    from alliance_meta.plots.provenance import NOTE_STYLE

    lines = textwrap.wrap(note, 90) if note else []
    extra = 0.16 * len(lines)
    figure, axis = plt.subplots(figsize=(5.5, 1.2 + extra))
    axis.set_position((0, 0, 1, 1))
    axis.axis("off")
    axis.text(0.5, 1 - 0.6 / (1.2 + extra), text, ha="center", va="center", transform=axis.transAxes)
    if lines:
        axis.text(0.5, 0.25 / (1.2 + extra), "\n".join(lines), ha="center", va="bottom", transform=axis.transAxes,
                  **NOTE_STYLE)
    return figure


def x_limits(rows: list[Row], metric: str, options) -> tuple[float, float]:
    """Axis range (analysis metric): configured, or the summaries, null and the central 96% of study CIs."""
    inverse = SCALES[metric][2]
    if options.xlim:
        check_xlim(options.xlim, metric)
        return tuple(float(v) for v in inverse(np.asarray(options.xlim, dtype=float)))
    studies = [row for row in rows if row.kind == "study"]
    lowers = np.array([row.lower for row in studies])
    uppers = np.array([row.upper for row in studies])
    trim = 0.02 if len(studies) >= 20 else 0.0
    summary = [v for row in rows if row.kind != "study" for v in (row.lower, row.upper) if np.isfinite(v)]
    low = min([np.quantile(lowers, trim) if len(studies) else 0.0, SCALES[metric][3], *summary])
    high = max([np.quantile(uppers, 1 - trim) if len(studies) else 0.0, SCALES[metric][3], *summary])
    pad = 0.04 * (high - low or 1.0)
    low, high = low - pad, high + pad
    if metric in AXIS_BOUNDS:
        bound = AXIS_BOUNDS[metric]
        low, high = max(low, float(inverse(-bound))), min(high, float(inverse(bound)))
    return round_ends(low, high, metric)


def round_ticks(low: float, high: float, metric: str):
    """Round values (display scale) of an axis from ``low`` to ``high`` (analysis metric), one step beyond each
    end included (matplotlib's MaxNLocator); not for odds ratios (:data:`ODDS_TICKS`)."""
    _, transform, _, _ = SCALES[metric]
    return MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(transform(low), transform(high))


def axis_ticks(low: float, high: float, metric: str):
    """The round values (display scale) on an axis from ``low`` to ``high`` (:func:`round_ticks`), with a Fisher-z
    axis's ticks of the tails (:func:`correlation_tail_ticks`), before any are thinned."""
    inverse = SCALES[metric][2]
    values = round_ticks(low, high, metric)
    values = values[(inverse(values) >= low - 1e-9) & (inverse(values) <= high + 1e-9)]
    return correlation_tail_ticks(values, low, high) if metric == "z" else values


def round_ends(low: float, high: float, metric: str) -> tuple[float, float]:
    """The axis ends moved out to the next round tick (:func:`round_ticks`) within :data:`AXIS_BOUNDS` where the
    outermost tick on the axis (:func:`axis_ticks`) lies more than :data:`BARE_END` of a step from the end: ticks
    0, .2, .4 on an axis ending at .59 left .4 to .59 unlabelled."""
    if metric == "log_or":
        return low, high
    _, transform, inverse, _ = SCALES[metric]
    bound = AXIS_BOUNDS.get(metric, np.inf)
    for _ in range(3):  # a wider axis can take a longer step (.2 to .25), which can leave an end bare again
        values, inner = round_ticks(low, high, metric), axis_ticks(low, high, metric)
        if not len(inner):
            break
        bare = BARE_END * (values[1] - values[0])
        start, end = float(transform(low)), float(transform(high))
        moved = low, high
        outer_low, outer_high = values[values <= start + 1e-9].max(), values[values >= end - 1e-9].min()
        if inner.min() - start > bare + 1e-9 and -outer_low <= bound + 1e-9:
            low = float(inverse(outer_low))
        if end - inner.max() > bare + 1e-9 and outer_high <= bound + 1e-9:
            high = float(inverse(outer_high))
        if (low, high) == moved:
            break
    return low, high


def clipped_diamond(lower: float, centre: float, upper: float, y: float, low: float, high: float,
                    half_height: float = 0.36) -> tuple[list[float], list[float]]:
    """The diamond of a summary (CI lower to upper, widest at the centre) cut at the axis limits low and high,
    so that a CI wider than the axis (two studies with a t test) stays inside the panel instead of running
    over the text columns; the corners of the cut polygon (Sutherland-Hodgman clipping to the band)."""
    if not np.all(np.isfinite([lower, centre, upper])):  # no interval (a summary of one study): no diamond
        return [], []
    points = [(lower, y), (centre, y - half_height), (upper, y), (centre, y + half_height)]
    for edge, inside in ((low, lambda x: x >= edge), (high, lambda x: x <= edge)):
        kept = []
        for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
            if inside(x1):
                kept.append((x1, y1))
            if inside(x1) != inside(x2):
                kept.append((edge, y1 + (y2 - y1) * (edge - x1) / (x2 - x1)))
        points = kept
    return [x for x, _ in points], [y for _, y in points]


#: r ticks of a Fisher-z axis beyond the round ones, outermost first: r = .9 lies at z = 1.47, .99 at 2.65, so the
#: round r ticks (MaxNLocator's +-.5, +-1) left the stretch beyond .5 of an axis reaching .99 without a label
CORRELATION_TAIL_TICKS = (0.99, 0.95, 0.9, 0.8)
#: the |r| beyond which a side of a Fisher-z axis gets them
CORRELATION_TAIL_FROM = 0.9
#: least distance between two ticks of a Fisher-z axis, as a share of its width (their labels must not touch)
TAIL_TICK_SPACING = 0.12


def correlation_tail_ticks(values, low: float, high: float):
    """The r ticks ``values`` of a Fisher-z axis from ``low`` to ``high`` (analysis metric) with those of
    :data:`CORRELATION_TAIL_TICKS` (each sign, outermost first) that lie on the axis beyond the outermost tick
    and at least :data:`TAIL_TICK_SPACING` of the axis from every tick kept, on a side of the axis that reaches
    beyond |r| = :data:`CORRELATION_TAIL_FROM`, so that an interval reaching r = .95 has labelled ticks under it;
    a side within |r| = .9 keeps its ticks unchanged."""
    values = np.asarray(values, dtype=float)
    kept = list(values)
    spacing = TAIL_TICK_SPACING * (high - low)
    for sign, end in ((1.0, high), (-1.0, low)):
        if sign * np.tanh(end) <= CORRELATION_TAIL_FROM:  # this side's round ticks are left as they are
            continue
        outermost = max((sign * value for value in values), default=0.0)
        for tail in CORRELATION_TAIL_TICKS:
            position = float(np.arctanh(sign * tail))
            if (tail > outermost + 1e-9 and low - 1e-9 <= position <= high + 1e-9
                    and all(abs(position - np.arctanh(value)) >= spacing for value in kept)):
                kept.append(sign * tail)
    return np.sort(np.array(kept)) if len(kept) > len(values) else values


def labels_fit(positions, widths, low: float, high: float, panel: float, gap: float) -> bool:
    """Whether tick labels ``widths`` inches wide at ``positions`` (analysis metric) of an axis from ``low`` to
    ``high`` stand side by side on a panel ``panel`` inches wide: neighbours at least their half labels and ``gap``
    inches apart."""
    if len(positions) < 2:
        return True
    where = (np.asarray(positions, dtype=float) - low) / (high - low) * panel
    widths = np.asarray(widths, dtype=float)
    return bool(np.all(np.diff(where) >= (widths[:-1] + widths[1:]) / 2 + gap))


def odds_ticks_fit(values, low: float, high: float, panel: float, options) -> bool:
    """Whether odds-ratio tick labels ``values`` stand side by side on a panel ``panel`` inches wide
    (:func:`labels_fit`), with a gap of 1.5 characters (a character ~0.6 of the font size)."""
    char = 0.6 * options.font_size / 72
    return labels_fit(np.log(values), [len(f"{value:g}") * char for value in values], low, high, panel, 1.5 * char)


#: least gap between the drawn widths of two tick labels of a forest axis, in font sizes: "\u2212.50 0" 0.27 apart
#: (an r axis of \u2212.99 to .99) read as one number, "\u2212.4 \u2212.2" 0.34 apart (the demo's forest by rater) as two
TICK_GAP = 0.3


#: least gap between the tick labels of a forest plot's own axis, in font sizes: labels :data:`TICK_GAP` apart do not
#: run together, but ".80 .90 .95" 0.4 font sizes apart (a two-study t interval reaching r = .95 on a 1.8-in panel)
#: crowded; a font size apart they read as a scale
READABLE_GAP = 1.0


def tick_labels_fit(positions, labels, low: float, high: float, panel: float, options, gap: float = TICK_GAP) -> bool:
    """Whether tick ``labels`` at ``positions`` stand side by side on a panel ``panel`` inches wide, measured as
    drawn (:func:`alliance_meta.plots.forest_layout.text_width`), at least ``gap`` font sizes apart."""
    widths = [text_width([label], options.font_size, options.font_family) for label in labels]
    return labels_fit(positions, widths, low, high, panel, gap * options.font_size / 72)


def spaced_ticks(positions, labels, null: float, low: float, high: float, panel: float, options,
                 gap: float = TICK_GAP) -> list[int]:
    """The ticks kept (indices, in order) where the labels of all would overlap (:func:`tick_labels_fit`): the null's,
    then from the outermost in, the ticks as far from the null (both of \u2212.5 and .5, or neither: an axis stays
    symmetric) whose labels stand clear of those kept. An r axis from \u2212.99 to .99 on a Fisher-z scale drew
    "\u2212.50 0 .50" and "\u2212.99 \u2212.95" into each other."""
    distances = np.round(np.abs(np.asarray(positions, dtype=float) - null), 9)
    kept: list[int] = []
    for distance in sorted(set(distances), key=lambda d: (d > 0, -d)):
        trial = sorted(kept + [int(i) for i in np.flatnonzero(distances == distance)])
        if tick_labels_fit([positions[j] for j in trial], [labels[j] for j in trial], low, high, panel, options, gap):
            kept = trial
    return kept


def regular_ticks(values, labels, null: float, low: float, high: float, panel: float, options,
                  gap: float = TICK_GAP) -> list[int]:
    """The ticks kept (indices, in order) of evenly spaced ``values`` (analysis metric) of a linear axis where the
    labels of all would overlap: every second (third, ...) from the one nearest the null, the fewest left out whose
    labels fit, so that the labels stay evenly spaced (:func:`spaced_ticks` kept the outermost: "−1.0 0 1.0 1.5")."""
    values = np.asarray(values, dtype=float)
    anchor = int(np.argmin(np.abs(values - null)))
    for every in range(2, len(values) + 1):
        kept = [i for i in range(len(values)) if (i - anchor) % every == 0]
        if tick_labels_fit(values[kept], [labels[i] for i in kept], low, high, panel, options, gap):
            return kept
    return [anchor]


def ticks(low: float, high: float, metric: str, options, panel: float | None = None):
    """Tick positions (analysis metric) at round values of the display scale, with their labels. Odds ratios
    at 1-2-5 values (at round odds ratios, 0.8 1 1.2, where at most one of those lies on the axis:
    :func:`~alliance_meta.plots.style.narrow_odds_ticks`), or, when their labels would overlap on a panel ``panel``
    inches wide, at the first of
    :data:`SPARSE_ODDS_TICKS` whose labels fit (ticks of 0.05 to 50 ran into each other on a wide axis); the
    ticks of another scale thinned where their labels would overlap (:func:`spaced_ticks`)."""
    _, _, inverse, _ = SCALES[metric]
    narrow = narrow_odds_ticks(np.exp(low), np.exp(high)) if metric == "log_or" else None
    if narrow is not None and (panel is None or odds_ticks_fit(narrow, low, high, panel, options)):
        values = narrow
    elif metric == "log_or":
        values = np.array([t for t in ODDS_TICKS if low <= np.log(t) <= high])
        if panel is not None and not odds_ticks_fit(values, low, high, panel, options):
            for sparse in SPARSE_ODDS_TICKS:
                values = np.array([t for t in sparse if low <= np.log(t) <= high])
                if odds_ticks_fit(values, low, high, panel, options):
                    break
    else:
        values = axis_ticks(low, high, metric)
    if metric == "log_or" and len(values) < MIN_TICKS:
        values = denser_odds_ticks(values, low, high, panel, options)
    labels = tick_labels(values, metric, options)
    if metric != "log_or" and panel is not None:
        # labels a font size apart (READABLE_GAP) where that keeps MIN_TICKS of them, else at least TICK_GAP apart
        for gap, even in ((READABLE_GAP, True), (TICK_GAP, False)):
            if tick_labels_fit(inverse(values), labels, low, high, panel, options, gap):
                break
            thinned = thinned_ticks(values, low, high, metric, panel, options, gap, even)
            if len(thinned[0]) >= MIN_TICKS or gap == TICK_GAP:
                values, labels = thinned
                break
    return inverse(values), labels


def thinned_ticks(values, low: float, high: float, metric: str, panel: float, options, gap: float, even: bool):
    """The round ``values`` (display scale) of an axis other than odds ratios thinned so that their labels stand
    ``gap`` font sizes apart on a panel ``panel`` inches wide, with their labels: a Fisher-z axis with the r of its
    tails (:data:`CORRELATION_TAIL_TICKS`, where it reaches beyond :data:`CORRELATION_TAIL_FROM` or not ``even``) by
    distance from the null (:func:`spaced_ticks`), others evenly (:func:`regular_ticks`: "\u2212.50 0 .50", not
    "\u2212.50 0 .50 .75")."""
    inverse, null = SCALES[metric][2], SCALES[metric][3]
    if metric == "z" and (not even or max(abs(np.tanh(low)), abs(np.tanh(high))) > CORRELATION_TAIL_FROM):
        tails = np.array([sign * tail for tail in CORRELATION_TAIL_TICKS for sign in (-1.0, 1.0)])
        values = np.union1d(values, tails[(inverse(tails) >= low - 1e-9) & (inverse(tails) <= high + 1e-9)])
        labels = tick_labels(values, metric, options)
        kept = spaced_ticks(inverse(values), labels, null, low, high, panel, options, gap)
    else:
        labels = tick_labels(values, metric, options)
        kept = regular_ticks(inverse(values), labels, null, low, high, panel, options, gap)
    return values[kept], [labels[i] for i in kept]


def _labelled_ticks(figure, axis) -> list[tuple[float, str]]:
    """The x tick values that log_metric_axis labels within the limits (1-2-5 majors and, on a narrow axis,
    labelled minor ticks), with their labels, as they will be drawn (the figure is laid out, not rendered)."""
    figure.draw_without_rendering()
    low, high = sorted(axis.get_xlim())
    labelled = [(label.get_position()[0], label.get_text()) for label in axis.get_xticklabels(which="both")]
    return sorted((value, text) for value, text in labelled if text and low <= value <= high)


def spread_odds_ticks(figure, axis) -> None:
    """Odds-ratio ticks that stand apart on the panel: log_metric_axis' ticks where their labels fit side by side,
    else the forest plot's (:func:`ticks` with the panel's width: 1-2-5 odds ratios, or the first of its
    sparser sets whose labels fit). On a panel 2.6 inches wide (GOSH, model averaging), 0.2 0.3 0.4 0.5 0.6 ran into each other."""
    low, high = np.log(sorted(axis.get_xlim()))
    panel = axis.get_position().width * figure.get_figwidth()
    size = FontProperties(size=plt.rcParams["xtick.labelsize"]).get_size_in_points()
    options = ForestOptions(font_size=size, preset="plain")  # what ticks reads of it
    values = np.array([value for value, _ in _labelled_ticks(figure, axis)])
    if odds_ticks_fit(values, low, high, panel, options):
        return
    positions, labels = ticks(low, high, "log_or", options, panel)
    axis.set_xticks(np.exp(positions), labels)
    axis.xaxis.set_minor_formatter(NullFormatter())


def denser_odds_ticks(values, low: float, high: float, panel: float | None, options):
    """Odds-ratio ticks for an axis from ``low`` to ``high`` (log odds ratios) where ``values`` (1-2-5 ticks) are
    fewer than :data:`MIN_TICKS`: the first of :data:`DENSER_ODDS_TICKS` that puts at least that many on the
    axis with labels that stand apart on a panel ``panel`` inches wide (:func:`odds_ticks_fit`), else ``values``."""
    for candidates in DENSER_ODDS_TICKS:
        trial = np.array([t for t in candidates if low <= np.log(t) <= high])
        if len(trial) >= MIN_TICKS and (panel is None or odds_ticks_fit(trial, low, high, panel, options)):
            return trial
    return values


#: the most decimals a tick label is written with (:func:`tick_labels`); ticks that need more are matplotlib's
MOST_DECIMALS = 6


def tick_labels(values, metric: str, options) -> list[str]:
    """The labels of ticks at ``values`` (display scale): odds ratios as written (``0.5``, ``2``), others with
    the decimals the roundest of them need (up to :data:`MOST_DECIMALS`; exactly, to 1e-9, at no relative
    tolerance), correlations without the leading zero (APA preset), 0 as ``0``. Ticks that need more decimals, or
    whose labels would repeat, are written as matplotlib's ScalarFormatter writes them without an offset
    (:func:`_scalar_labels`): ticks of r .2999995, .3, .3000005 had all read ".3"."""
    values = np.asarray(values, dtype=float)
    if metric == "log_or":
        texts = [f"{value:g}" for value in values]
    else:
        decimals = next((d for d in range(MOST_DECIMALS + 1)
                         if np.allclose(np.round(values, d), values, rtol=0, atol=1e-9)), None)
        texts = None if decimals is None else [f"{value:.{decimals}f}" for value in values]
    if texts is None or len(set(texts)) < len(set(values.tolist())):
        texts = _scalar_labels(values)
    labels = []
    for value, text in zip(values, texts):
        if options.preset == "apa" and STYLE_SCALES[metric].bounded:
            text = without_leading_zero(text)
        labels.append("0" if abs(value) < 1e-12 else text.replace("-", "\u2212"))
    return labels


def _scalar_labels(values: np.ndarray) -> list[str]:
    """``values`` as matplotlib's ScalarFormatter writes ticks, without an offset or a power of ten: one number of
    decimals, as many as the ticks' range needs for them to differ; one value alone in the fewest digits that
    are the value (``numpy.format_float_positional``)."""
    from matplotlib.ticker import ScalarFormatter

    if len(values) < 2:
        return [np.format_float_positional(value, trim="-") for value in values]
    formatter = ScalarFormatter(useOffset=False, useMathText=False)
    formatter.set_scientific(False)
    return [text.replace("\u2212", "-") for text in formatter.format_ticks(values)]


class TickLabels(Formatter):
    """A matplotlib formatter writing an axis's ticks as the forest plots do (:func:`tick_labels`): one number of
    decimals for all of them, distinct, and no offset (matplotlib's ScalarFormatter wrote a GOSH axis of r near .3 as
    ``−1.0 ... 1.0`` under ``1e−5+3e−1``)."""

    def __init__(self, metric: str, options=None):
        self.metric, self.options = metric, options or ForestOptions()

    def format_ticks(self, values):
        return tick_labels(np.asarray(values, dtype=float), self.metric, self.options) if len(values) else []

    def __call__(self, x, pos=None):  # one value alone (the cursor's readout)
        return tick_labels(np.array([float(x)]), self.metric, self.options)[0]


def cut_cell(text: str, width: int) -> str:
    """A ``plots.columns`` cell (escaped by ``plain_text``) cut to ``width`` characters with an ellipsis, as
    ``forest_options.cell_text`` cuts."""
    raw = text.replace("\\$", "$")
    return text if len(raw) <= width else plain_text(raw[: width - 1].rstrip()) + "\u2026"


def fit_cells(rows: list[Row], layout_of, options) -> list[Row]:
    """The rows with each ``plots.columns`` column whole where the figure has room for it, else cut at
    ``plots.column_width`` characters: a column stays whole when, measured (``layout_of(rows)``), it neither
    widens the figure nor narrows the panel below ``KEEP_PANEL`` inches (or below the panel of the cut texts,
    if that is less). "cross-sectional" was cut to "cross-section…" beside an empty gap."""
    width = options.column_width
    columns = max((len(row.extra) for row in rows), default=0)
    long = [any(len(row.extra) > j and cut_cell(row.extra[j], width) != row.extra[j] for row in rows)
            for j in range(columns)]
    if not any(long):
        return rows

    def cells(whole):
        return [replace(row, extra=[text if whole[j] else cut_cell(text, width) for j, text in enumerate(row.extra)])
                if row.extra else row for row in rows]

    def panel(layout):
        return layout.panel[1] - layout.panel[0]

    whole = [not flag for flag in long]
    base = layout_of(cells(whole))
    for j in (j for j in range(columns) if long[j]):
        trial = whole[:j] + [True] + whole[j + 1:]
        layout = layout_of(cells(trial))
        if layout.width <= base.width + 1e-9 and panel(layout) >= min(panel(base), KEEP_PANEL) - 1e-9:
            whole = trial
    return cells(whole)


#: the overall risk-of-bias column's header where the figure has no room for "Overall" (:func:`compact`), as robvis's
#: ``rob_blobbogram`` heads it ("D1 ... D5 O" under "Risk of Bias"); the footnote defines it (:func:`rob_legend`)
OVERALL_CODE = "O"
#: between the plots.columns cells of a detail line (:func:`compact`): the no-break space keeps the dot at the end of
#: a cell when the line wraps
DETAIL_SEPARATOR = "\u00a0\u00b7 "
#: a detail line's cell that the sheet leaves empty (its place kept, so that the cells follow the header's order)
MISSING_CELL = "\u2013"
DETAIL_COLOUR = "0.25"  # a detail line's text: dark grey, below its study's name
#: the narrowest (inches) a compact layout wraps the studies' names to, where the page is still too narrow for them
NARROWEST_NAMES = 1.2
#: lines a study's name is moved down and its detail lines up (each :data:`~alliance_meta.plots.forest_layout.
#: DETAIL_PITCH` high), so that the detail line reads as its study's, not as the next one's: 0.75 lines (8.7 pt at
#: 8 pt) from the name's centre to the detail line's, 1 line from there to the next study's name
DETAIL_PULL = 0.05, 0.125


#: a group's heading atop a page that its studies run on to (:func:`draw_pages`): "Rater: patient (continued)"
CONTINUED = " (continued)"


@dataclass(frozen=True)
class Header:
    """The headings of a forest plot's columns (:func:`draw_pages`): ``titles`` of the label, n, estimate and weight
    columns; ``columns`` of the plots.columns beside the names; ``rob`` of the risk-of-bias symbols, whose judgements
    ``styles`` draws; and of a compact layout (:func:`compact`), ``details``: the lines naming the plots.columns of
    the rows' detail lines under "Study" (none without plots.columns). ``details`` None: the one-line layout."""

    titles: list[str]
    columns: list[str] = field(default_factory=list)
    rob: list[str] = field(default_factory=list)
    styles: dict = field(default_factory=dict)
    details: list[str] | None = None

    @property
    def compact(self) -> bool:
        """Whether the columns go under the names (:func:`compact`)."""
        return self.details is not None

    @property
    def extra_lines(self) -> float:
        """The lines the header takes above its one line (:func:`draw_text`): of a compact layout, "Study" over the
        lines of the detail lines' header (a line, then :data:`~alliance_meta.plots.forest_layout.DETAIL_PITCH`
        each), or "Risk of bias" over the symbols' codes (a line); none for the one-line layout."""
        if not self.compact:
            return 0.0
        study = 1.0 + DETAIL_PITCH * (len(self.details) - 1) if self.details else 0.0
        return max(study, 1.0 if self.rob else 0.0)


def detail_size(options) -> float:
    """The font size of the detail lines and their header (:func:`compact`): the footnote's (:func:`note_size`)."""
    return note_size(options)


def compact(rows: list[Row], header: Header, options) -> tuple[list[Row], object, Header]:
    """The rows, their layout and header where the columns do not fit ``plots.width`` side by side: each study's
    ``plots.columns`` cells on a line of their own under its name (at :func:`detail_size`, wrapped at the names'
    width, an empty cell as :data:`MISSING_CELL`), their column names in that order under the "Study" header; the
    overall risk-of-bias column headed :data:`OVERALL_CODE` under a "Risk of bias" heading; a summary row's label
    wrapped to the label and n columns; the panel down to :data:`~alliance_meta.plots.forest_layout.COMPACT_PANEL`;
    where that is still too wide, the names, the detail lines and their header wrapped at what the page leaves (down
    to :data:`NARROWEST_NAMES`; the header between the columns' names: :func:`detail_header_lines`). The figure's
    text keeps its size at print size, where a figure scaled down to the page printed its 8-pt text at 5.6 pt. Cells
    whole, as the sheet gives them (nothing is cut: the line wraps)."""
    size, family = options.font_size, options.font_family
    rob_header = header.rob[:-1] + [OVERALL_CODE] if header.rob else header.rob
    names = [line for row in rows if row.kind == "study" for line in row.label]  # a heading takes its whole row
    detail_header = DETAIL_SEPARATOR.join(header.columns)
    # the label column is at least as wide as the detail lines' header (column_layout): the details and the summary
    # labels wrap at that width, not at the names' (where the header is wider, they took lines the column had room for)
    widest = max(text_width(names, size, family), text_width([header.titles[0]], size, family, bold=True),
                 text_width([detail_header], detail_size(options), family, bold=True) if header.columns else 0.0)
    # a summary's label runs on over the empty n cells (forest_layout.SPANNING), as in the wider layout
    n_cells = [row.n for row in rows if row.n]
    n_room = (max(text_width(n_cells, size, family), text_width([header.titles[1]], size, family, bold=True)) + GAP
              if n_cells else 0.0)

    def shaped(room: float, rewrap: bool) -> tuple[list[Row], Header]:
        result = []
        for row in rows:
            if rewrap and row.kind == "study":  # the names too, at the room left (a long name on lines)
                row = replace(row, label=wrap_drawn(" ".join(row.label), room, size, family))
            if row.kind == "study" and row.extra:
                cells = [text if text.strip() else MISSING_CELL for text in row.extra]
                row = replace(row, details=wrap_drawn(DETAIL_SEPARATOR.join(cells), room, detail_size(options), family))
            elif row.kind in SPANNING:
                row = replace(row, label=[line for text in row.label for line in
                                          _summary_lines(text, room + n_room, size, family, row.kind in BOLD)])
            result.append(row)
        details = (detail_header_lines(header.columns, room, options) if rewrap else [detail_header]) \
            if header.columns else []
        return result, Header(header.titles, [], rob_header, header.styles, details)

    def laid_out(shape: list[Row], shape_header: Header):
        return column_layout(shape, shape_header.titles, options.page_width, size, family, [], rob_header,
                             detail_size(options), shape_header.details)

    shape, compact_header = shaped(widest, False)
    layout = laid_out(shape, compact_header)
    excess = layout.width - options.page_width
    if excess > 0.005 and widest > NARROWEST_NAMES:  # still too wide: the names wrapped at what the page leaves
        shape, compact_header = shaped(max(NARROWEST_NAMES, widest - excess), True)
        layout = laid_out(shape, compact_header)
    return shape, layout, compact_header


def detail_header_lines(columns: list[str], room: float, options) -> list[str]:
    """The detail lines' header (:func:`compact`), the names of the plots.columns joined by
    :data:`DETAIL_SEPARATOR`, on lines of at most ``room`` inches (as :func:`compact` wraps the details), broken
    between the names: a name of words that fits on a line is not broken (no-break spaces; mathtext as it is).
    Unwrapped, ten plots.columns made a 7-in figure 7.5 in wide."""
    size, family = detail_size(options), options.font_family
    whole = [name.replace(" ", NBSP) if "$" not in name and text_width([name], size, family, bold=True) <= room
             else name for name in columns]
    return wrap_drawn(DETAIL_SEPARATOR.join(whole), room, size, family, bold=True)


def _summary_lines(text: str, width: float, size: float, family, bold: bool) -> list[str]:
    """A summary row's label line within ``width`` inches: whole, else broken after its name ("Subtotal," over
    "k = 4 studies", not "Subtotal, k = 4" over "studies") where both parts fit, else at the spaces that fit."""
    if text_width([text], size, family, bold) <= width:
        return [text]
    head, comma, tail = text.partition(", ")
    if tail and all(text_width([part], size, family, bold) <= width for part in (head + ",", tail)):
        return [head + ",", tail]
    return wrap_drawn(text, width, size, family, bold)


def arrows(row: Row, low: float, high: float) -> list[tuple[float, str]]:
    """The arrows of a row whose interval the axis ``low`` to ``high`` cuts: (edge, marker) per end beyond it
    (studies, summaries and the prediction interval; a heading has none)."""
    if row.kind not in ("study", "overall", "subtotal", "interval"):
        return []
    return [(edge, marker) for edge, beyond, marker in ((low, row.lower < low, "<"), (high, row.upper > high, ">"))
            if beyond]


def draws_arrows(rows: list[Row], limits: tuple[float, float]) -> bool:
    """Whether :func:`draw_rows` draws an arrow on an axis of ``limits`` (what a footnote says of arrows)."""
    return any(arrows(row, *limits) for row in rows)


def draw_rows(axis, rows: list[Row], tops: list[float], low: float, high: float, options) -> None:
    """Squares, whiskers with arrows, diamonds and the prediction interval."""
    squares = []  # (x, y, area): drawn as one collection (one scatter per study is slow at large k)
    for row, top in zip(rows, tops):
        y = top + row.lines / 2
        if row.kind == "study":
            colour = options.study_colour
            axis.hlines(y, max(row.lower, low), min(row.upper, high), color=colour, lw=0.8, zorder=2)
            for edge, marker in arrows(row, low, high):
                axis.plot([edge], [y], marker=marker, ms=4, color=colour, clip_on=False, zorder=3)
            if low <= row.centre <= high:
                area = max(4.0, (0.8 * options.font_size * 1.45) ** 2 * row.size)  # points^2, area ~ weight
                squares.append((row.centre, y, area))
        elif row.kind in ("overall", "subtotal"):
            colour = options.summary_colour if row.kind == "overall" else options.subgroup_colour
            xs, ys = clipped_diamond(row.lower, row.centre, row.upper, y, low, high)
            if xs:
                axis.fill(xs, ys, color=colour, lw=0, zorder=3, clip_on=False)
            for edge, marker in arrows(row, low, high):
                axis.plot([edge], [y], marker=marker, ms=4, color=colour, clip_on=False, zorder=3)
        elif row.kind == "interval":
            left, right = max(row.lower, low), min(row.upper, high)
            axis.hlines(y, left, right, color=options.summary_colour, lw=1.2, zorder=2)
            axis.vlines([v for v in (row.lower, row.upper) if low <= v <= high], y - 0.25, y + 0.25,
                        color=options.summary_colour, lw=1.2, zorder=2)
            for edge, marker in arrows(row, low, high):
                axis.plot([edge], [y], marker=marker, ms=4, color=options.summary_colour, clip_on=False, zorder=3)
    if squares:
        x, y, area = zip(*squares)
        axis.scatter(x, y, marker="s", s=area, color=options.study_colour, lw=0, zorder=3)


def draw_text(figure, axis, rows, tops, layout, header: Header, options) -> None:
    """The text columns, in inches from the left, and the rules above and below the rows."""
    inches = blended_transform_factory(figure.dpi_scale_trans, axis.transData)
    columns = [(layout.label_left, "left"), (layout.n_right, "right"), (layout.effect_right, "right"),
               (layout.weight_right, "right")]
    columns_header, rob_header, styles, details = header.columns, header.rob, header.styles, header.details or []
    # "Study" over the detail lines' header (:func:`compact`), its last line where the other headers are
    study = -0.75 - (1.0 + DETAIL_PITCH * (len(details) - 1) if details else 0.0)
    for index, ((x, align), text) in enumerate(zip(columns, header.titles)):
        axis.text(x, study if index == 0 else -0.75, text, transform=inches, ha=align, va="center",
                  fontweight="bold", clip_on=False)
    if header.compact:  # the plots.columns of the rows' detail lines under the label's header, the symbols' heading
        for index, line in enumerate(details):
            axis.text(layout.label_left, -0.75 - DETAIL_PITCH * (len(details) - 1 - index), line, transform=inches,
                      ha="left", va="center", fontweight="bold", fontsize=detail_size(options), color=DETAIL_COLOUR,
                      clip_on=False)
        if layout.rob_centres:
            axis.text((layout.rob_centres[0] + layout.rob_centres[-1]) / 2, -1.75, "Risk of bias", transform=inches,
                      ha="center", va="center", fontweight="bold", clip_on=False)
    numeric = [all(re.fullmatch(r"[\d,.\u2212-]+", row.extra[j]) for row in rows if len(row.extra) > j and
                   row.extra[j]) for j in range(len(columns_header))]
    extra_x = [(right, "right") if number else (left, "left")
               for left, right, number in zip(layout.extra_left, layout.extra_right, numeric)]
    for (x, align), text in zip(extra_x, columns_header):
        axis.text(x, -0.75, text, transform=inches, ha=align, va="center", fontweight="bold", clip_on=False)
    for x, text in zip(layout.rob_centres, rob_header):
        axis.text(x, -0.75, text, transform=inches, ha="center", va="center", fontweight="bold", clip_on=False)
    right = layout.rob_centres[-1] + 0.5 * layout.line if layout.rob_centres else layout.weight_right
    for y in (-0.15,):
        figure.add_artist(Line2D([layout.label_left, right], [y, y], transform=inches,
                                 color="0.2", lw=0.8))
    symbols: dict[str, list] = {}  # judgement -> (x, y) of its RoB symbols, one collection each
    for row, top in zip(rows, tops):
        bold = "bold" if row.kind in BOLD else "normal"
        down, up = DETAIL_PULL if row.details else (0.0, 0.0)  # a study's name and its detail lines closer
        for line_index, line in enumerate(row.label):
            axis.text(layout.label_left, top + line_index + 0.5 + down, line, transform=inches, ha="left",
                      va="center", fontweight=bold, clip_on=False)
        for line_index, line in enumerate(row.details):
            axis.text(layout.label_left, top + len(row.label) + (line_index + 0.5) * DETAIL_PITCH - up, line,
                      transform=inches, ha="left", va="center", fontsize=detail_size(options), color=DETAIL_COLOUR,
                      clip_on=False)
        y = top + row.lines / 2
        for (x, align), text in zip(columns[1:], (row.n, row.effect, row.weight)):
            if text:
                axis.text(x, y, text, transform=inches, ha=align, va="center", fontweight=bold, clip_on=False)
        for (x, align), text in zip(extra_x, row.extra):
            if text:
                axis.text(x, y, text, transform=inches, ha=align, va="center", clip_on=False)
        for x, judgement in zip(layout.rob_centres, row.rob):
            style = styles.get(judgement)
            if style is None:
                continue
            symbols.setdefault(judgement, []).append((x, y))
    for judgement, points in symbols.items():
        style = styles[judgement]
        x, y = zip(*points)
        axis.scatter(x, y, transform=inches, marker=style.marker, s=(0.95 * options.font_size) ** 2,
                     c=style.colour, edgecolors="black", linewidths=0.4, clip_on=False, zorder=4)
        draw_glyphs(axis, x, y, style.glyph, options.font_size * 0.75, style.glyph_colour, transform=inches,
                    clip_on=False, zorder=5)


def footnote_lines(note: str, continued: bool, layout, options) -> list[str]:
    """A page's footnote in lines at the width of its ``layout``."""
    return wrap_drawn(note + (" Continued on the next page." if continued else ""),
                      NOTE_SCALE * (layout.width - 2 * MARGIN), NOTE_SCALE * note_size(options), options.font_family)


def line_spans(rows: list[Row], tops: list[float], total: float, x: float, limits: tuple[float, float], layout,
               options) -> list[tuple[float, float]]:
    """The stretches (axes fractions: ymin, ymax) of the panel's vertical line at ``x`` (analysis metric) on a page of
    ``rows`` (``tops``, ``total`` lines: :func:`~alliance_meta.plots.forest_layout.row_positions`): the panel's height
    less the rows of the group headings, which take their whole row
    (:attr:`~alliance_meta.plots.forest_layout.Layout.heading_width`), whose text, drawn
    (:func:`~alliance_meta.plots.forest_layout.print_width`), runs on to within
    :data:`~alliance_meta.plots.forest_layout.GAP` of the line; one stretch, the whole height, where none does."""
    low, high = limits
    left, right = layout.panel
    at = left + (x - low) / (high - low) * (right - left)
    spans, start = [], 0.0  # in lines from the panel's top
    for row, top in zip(rows, tops):
        if row.kind != "group":  # only a heading's row can break the line: no other row's text is measured
            continue
        reach = layout.label_left + print_width(row.label, options.font_size, options.font_family, bold=True)
        if reach > at - GAP + 1e-9:
            if top > start:
                spans.append((1.0 - top / total, 1.0 - start / total))
            start = top + row.lines
    if start < total:
        spans.append((0.0, 1.0 - start / total))
    return spans


def page_height(total: float, note_lines: int, layout, header: Header, options) -> float:
    """The height (inches) of a page (:func:`draw_page`) of rows taking ``total`` lines (:func:`row_positions`)
    and a footnote of ``note_lines`` lines: header, rows, axis and footnote."""
    line = layout.line
    note_line = line * note_size(options) / options.font_size
    return (1.6 + header.extra_lines) * line + total * line + AXIS_LINES * line + (note_lines + 0.6) * note_line + 0.1


def page_room(note_lines: int, layout, header: Header, options) -> float:
    """The lines of rows that fit a page of :data:`~alliance_meta.plots.style.MAX_PAGE_HEIGHT` with a footnote of
    ``note_lines`` lines (the inverse of :func:`page_height`)."""
    return (style_module.MAX_PAGE_HEIGHT - page_height(0.0, note_lines, layout, header, options)) / layout.line


def draw_page(rows: list[Row], metric: str, options, note: str, limits, continued: bool, layout, header: Header):
    """One figure: header, rows, axis and footnote; its height follows the rows."""
    tops, total = row_positions(rows)
    # measured at ten times the size: at 7 pt the 72-dpi measure's hinted glyphs were 4% narrower than drawn, and
    # the footnote's lines ran out of the figure
    note_lines = footnote_lines(note, continued, layout, options)
    line = layout.line
    top_space = (1.6 + header.extra_lines) * line
    height = page_height(total, len(note_lines), layout, header, options)
    figure = plt.figure(figsize=(layout.width, height))
    panel_left, panel_right = layout.panel
    axis = figure.add_axes([panel_left / layout.width, (height - top_space - total * line) / height,
                            (panel_right - panel_left) / layout.width, total * line / height])
    low, high = limits
    axis.set_xlim(low, high)
    axis.set_ylim(total, 0)
    axis.set_yticks([])
    positions, labels = ticks(low, high, metric, options, panel_right - panel_left)
    axis.set_xticks(positions, labels)
    axis.set_xlabel(SCALES[metric][0])
    null = SCALES[metric][3]
    for ymin, ymax in line_spans(rows, tops, total, null, limits, layout, options):
        axis.axvline(null, ymin, ymax, color="0.3", lw=0.8, zorder=1)
    overall = [row for row in rows if row.kind == "overall"]
    if overall and low <= overall[0].centre <= high:
        for ymin, ymax in line_spans(rows, tops, total, overall[0].centre, limits, layout, options):
            axis.axvline(overall[0].centre, ymin, ymax, color="0.55", lw=0.6, ls=(0, (2, 2)), zorder=1)
    draw_rows(axis, rows, tops, low, high, options)
    draw_text(figure, axis, rows, tops, layout, header, options)
    figure.text(layout.label_left / layout.width, 0.05 / height, "\n".join(note_lines), ha="left", va="bottom",
                fontsize=note_size(options), linespacing=1.3)
    return figure


def draw_pages(rows: list[Row], metric: str, level: float, options, note: Callable[[bool], str],
               paged: bool) -> list:
    """Figures of the rows: one, or one per page of ``options.rows_per_page`` studies (same axis on each); of a
    compact layout (:func:`compact`), one per page of the studies that fit the height of ``rows_per_page`` one-line
    studies (:func:`compact_lines`), which the first figure's ``pages_note`` says for the job's log (as it says
    where the pages are balanced: :func:`~alliance_meta.plots.forest_layout.pages`).
    ``note(arrows)`` is the footnote of a page that draws an arrow (:func:`draws_arrows`) or none; each page's
    footnote explains the marks that page draws (arrows, blank risk-of-bias or n cells, cut text), not another's."""
    limits = x_limits(rows, metric, options)
    n_header = symbol("n", bold=True) if any(row.n for row in rows) else ""  # the sample size, bold italic n
    titles = ["Study", n_header, f"{SYMBOLS[metric]} [{level:g}% CI]", "Weight"]
    extra_header = ([column_name(c, options.column_labels, title=False, bold=True) for c in options.columns]
                    if any(row.extra for row in rows) else [])
    rob_header, styles, tool = [], {}, None
    if any(row.rob for row in rows):
        tool = tool_from_config(options.risk_of_bias)
        styles = judgement_style(tool)
        rob_header = [f"D{i + 1}" for i in range(len(tool.domains))] + ["Overall"]
    whole = rows
    header = Header(titles, extra_header, rob_header, styles)
    if extra_header:
        rows = fit_cells(rows, lambda trial: column_layout(trial, titles, options.page_width, options.font_size,
                                                           options.font_family, extra_header, rob_header), options)
    layout = column_layout(rows, titles, options.page_width, options.font_size, options.font_family,
                           extra_header, rob_header)
    one_line = layout  # the columns beside the names (wider than the page where compacted)
    if layout.width > options.page_width + 0.005:
        rows, layout, header = compact(whole, header, options)
    compacted = header.compact

    # n in its own column, or among the plots.columns cells (the demo's config): a blank cell there is explained
    n_cell = options.columns.index("n") if "n" in options.columns and extra_header else None

    def blank_n(row: Row) -> bool:
        if header.titles[1]:
            return not row.n
        return n_cell is not None and n_cell < len(row.extra) and not row.extra[n_cell].strip()

    def heading(row: Row, suffix: str = "") -> Row:  # a group's heading across its row (Layout.heading_width)
        return replace(row, label=layout.heading_lines(" ".join(row.label) + suffix, options.font_size,
                                                       options.font_family))

    def continued(row: Row) -> Row:  # a group's heading atop a page its studies run on to
        return heading(row, CONTINUED)

    rows = [heading(row) if row.kind == "group" else row for row in rows]

    def resumed(study: Row, row: Row) -> Row:  # a study's effect sizes run on to a page: its name atop them
        text = " ".join(study.label) + CONTINUED
        return replace(row, label=wrap_drawn(text, layout.label_width, options.font_size, options.font_family)
                       + row.label)

    def page_note(page: list[Row], compacted: bool = compacted) -> str:
        not_rated = any(judgement not in styles for row in page if row.rob for judgement in row.rob)
        cut = any(text.endswith("\u2026") for row in page for text in row.extra) and not compacted
        no_n = any(blank_n(row) for row in page if row.kind == "study")
        missing = compacted and any(not cell.strip() for row in page if row.details for cell in row.extra)
        return " ".join(filter(None, [
            note(draws_arrows(page, limits)),
            rob_legend(tool, not_rated, OVERALL_CODE if compacted else "") if tool else "",
            f"\u2026 text cut at {options.column_width} characters (plots.column_width)." if cut else "",
            f"Blank {symbol('n')}: the sheet gives no sample size." if no_n and not compacted else "",
            f"{MISSING_CELL}: not given in the sheet." if missing else ""]))

    if paged and compacted:  # no taller than a page of rows_per_page one-line studies (:func:`compact_lines`)
        # the footnote of all the rows (every mark), at 7 in on more lines than beside the one-line layout's columns
        longer = (len(footnote_lines(page_note(rows), True, layout, options))
                  - len(footnote_lines(page_note(whole, False), True, one_line, options)))
        # a three-level plot's one-line page of rows_per_page studies has their effect sizes' lines: no compact page
        # is taller than its tallest (not the mean's: one study of 80 effect sizes made a page of 3 studies 26 in)
        one_line_rows = tallest_studies(rows, options.rows_per_page)
        lines = compact_lines(one_line_rows, max(0, longer) * note_size(options) / options.font_size,
                              header.extra_lines)
    capped = False
    if not paged:
        paging = Paged([rows])
    else:
        paging = (pages_by_height(rows, lines, continued, resumed) if compacted
                  else pages(rows, options.rows_per_page, continued, resumed))
        # no page taller than style.MAX_PAGE_HEIGHT: where one is, the rows that fit it under the footnote of all the
        # rows (every mark) and "Continued on the next page."
        room = page_room(len(footnote_lines(page_note(rows), True, layout, options)), layout, header, options)
        if any(row_positions(chunk)[1] > room for chunk in paging.pages):
            capped = True
            paging = pages_by_height(rows, room, continued, resumed, None if compacted else options.rows_per_page)
    chunks = paging.pages
    with plt.rc_context(style(options)):
        figures = [draw_page(chunk, metric, options, page_note(chunk), limits, index < len(chunks) - 1, layout,
                             header) for index, chunk in enumerate(chunks)]
    studies = [study_count(chunk) for chunk in chunks]
    counts = (f"{counted(len(chunks), 'page')} of {', '.join(map(str, studies))} "
              f"{plural(sum(studies), 'study', 'studies')}")
    effects = [effect_count(chunk) for chunk in chunks]
    if effects != studies:  # a three-level plot: its rows are effect sizes, rows_per_page counts their studies
        counts += f" ({', '.join(map(str, effects))} effect sizes)"
    if paging.filled:  # balanced (forest_layout.pages): filled in turn, the last page held a widow
        counts += (f", balanced over the pages (filled in turn, the last page would have held "
                   f"{counted(study_count(paging.filled[-1]), 'study', 'studies')})")
    if paged and compacted:
        # risk of bias without plots.columns is compacted too (the overall column's header): no detail lines to name
        what = ("plots.columns on a line under each study's name" if extra_header else
                f"the overall risk-of-bias column headed {OVERALL_CODE}")
        figures[0].pages_note = (
            f"{what} (side by side they do not fit plots.width, "
            f"{options.page_width:g} in); a PDF page holds as many studies as fit the height of "
            f"{options.rows_per_page} one-line studies (plots.rows_per_page): {counts}")
    elif paging.filled or capped:
        figures[0].pages_note = (f"a PDF page holds at most {options.rows_per_page} studies (plots.rows_per_page): "
                                 f"{counts}")
    if capped:
        figures[0].pages_note = f"{figures[0].pages_note}; {style_module.taller_pages_note(options.rows_per_page)}"
    if layout.width > options.page_width + 0.005:  # compact and still too wide: what is at its narrowest, for the log
        figures[0].narrowest = narrowest_columns(layout, options.page_width)
    return figures


def narrowest_columns(layout, page_width: float) -> tuple[str, str]:
    """Why a compact layout (:func:`compact`) is wider than plots.width (``page_width``), for the job's log
    (``forest.widened_note``): each of its columns at its narrowest, in inches (the study column at most
    :data:`NARROWEST_NAMES`, or as wide as a word that does not break; the panel at
    :data:`~alliance_meta.plots.forest_layout.COMPACT_PANEL`; the n (where it is a column of its own, not among
    plots.columns), estimate, weight and risk-of-bias columns as wide as their text, which does not wrap); and what
    narrows it."""
    panel_left, panel_right = layout.panel
    n = max(0.0, layout.n_right - layout.label_left - layout.label_width - GAP)  # the n column, where there is one
    effect = layout.effect_right - panel_right - 2 * GAP
    weight = layout.weight_right - GAP - layout.effect_right
    rob = layout.width - MARGIN - layout.weight_right  # the symbols' columns and the gap before them
    unbroken = layout.label_width > NARROWEST_NAMES + 0.005
    study = "as wide as a word that does not break" if unbroken else \
        f"names and the lines under them at most {NARROWEST_NAMES:g} in wide, the narrowest they wrap to"
    widths = [layout.label_width, n, panel_right - panel_left, effect, weight] + ([rob] if layout.rob_centres else [])
    parts = [f"study {layout.label_width:.2f} in ({study})"] + ([f"n {n:.2f} in"] if n > 0.005 else []) + \
        [f"plot panel {panel_right - panel_left:.2f} in", f"estimate [CI] {effect:.2f} in",
         f"weight {weight:.2f} in"] + \
        ([f"risk of bias {rob:.2f} in ({len(layout.rob_centres)} symbol columns)"] if layout.rob_centres else []) + \
        [f"margins and gaps {layout.width - sum(widths):.2f} in"]
    without_rob = "makes it fit" if layout.width - rob <= page_width + 0.005 else f"narrows it by {rob:.2f} in"
    remedies = ([f"plots.rob false {without_rob}"] if layout.rob_centres else []) + \
        (["a shorter study label narrows it"] if unbroken else []) + ["a smaller plots.font_size narrows every column"]
    return f"its columns at their narrowest: {', '.join(parts)}", "; ".join(remedies)


def compact_lines(rows_per_page: int, footnote: float = 0.0, header: float = 1.0) -> float:
    """The lines a PDF page of a compact layout (:func:`compact`) gives its rows: those of ``rows_per_page``
    one-line studies, less the ``header`` lines the compact header takes beyond one (:attr:`Header.extra_lines`: "Study"
    over the detail lines' header, "Risk of bias" over the symbols' codes) and ``footnote``, the lines
    its footnote takes beyond the one-line layout's (wrapped at plots.width, not at the wider figure). A page is then
    no taller than one of ``rows_per_page`` studies with their columns beside them, and holds a little over half as
    many (a study and its detail line take 1.75 lines), so that at ``plots.width`` it prints on one journal page at
    its size."""
    # at least two studies with their detail lines: at rows_per_page 5 the footnote's extra line left 3.1 lines, a page
    # of one study each (a PDF of 14 pages for 14 studies, the one-line layout's 3)
    return max(rows_per_page - header - footnote, 2 * (1 + DETAIL_PITCH))
