"""One style for every figure: the display scale of a metric, the colours, and the figure saver.

Estimates are analysed on the metric's scale (Fisher z, Hedges' g, log odds ratio) and shown on
the scale readers know (r, g, OR): :data:`SCALES` is the one definition of that mapping
(label, symbol, transform and its inverse, the null). :func:`save_figure` writes one figure to
every path (format from the suffix) with the provenance note beneath it.
"""

from __future__ import annotations

import io
import logging
import os
import re
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from alliance_meta.engines.transforms import METRIC_NAMES, ByMetric, back_transform  # noqa: E402
from alliance_meta.plots import previews, text_cache  # noqa: E402
from alliance_meta.plots.provenance import add_note  # noqa: E402
from alliance_meta.plots.text_cache import reused_text  # noqa: E402
from alliance_meta.wording import apa_df, apa_number, apa_p_clause, without_leading_zero  # noqa: E402

if os.environ.get(text_cache.PROCESS_ENV, "0") != "0":  # a pipeline job (the Snakefile sets it): texts kept while figures are built too
    text_cache.reuse_for_process()

#: Okabe-Ito colours (readable with colour-vision deficiencies) and the project's blues.
COLOURS = {"study": "#0072B2", "subgroup": "#D55E00", "summary": "#000000", "highlight": "#b2182b",
           "muted": "#b0b0b0", "dark": "#1f4e79", "light": "#9ecae1", "note": "#7f0000"}
#: fonts of every figure file, read when it is saved: :data:`STYLE` set them only while a figure was drawn, and
#: half the PDFs (funnel, Baujat, GOSH, multiverse, PRISMA...) were saved after, with Type 3 fonts that journals'
#: preflight checks reject, and SVGs with their text as outlines (not searchable, not editable)
EMBEDDED_TEXT = {"pdf.fonttype": 42, "svg.fonttype": "none"}
STYLE = {"font.size": 9, "axes.spines.top": False, "axes.spines.right": False, "axes.spines.left": False,
         **EMBEDDED_TEXT}
DPI = 300  # plots.dpi's default
#: the smallest text of a figure, in points at the size it is drawn (journals' artwork rules ask 6-8 pt at print
#: size; a figure drawn within :data:`PAGE_WIDTH` prints at its size): no label, key or colour bar below it
SMALLEST_FONT = 7.0
#: plots.width's default, in inches: a journal's two-column page
PAGE_WIDTH = 7.0
#: the tallest PDF page (inches): 14,400 pt, the largest page size of Adobe's implementation limits (PDF Reference
#: 1.7, Appendix C; ISO 32000-1:2008, Annex C), beyond which Acrobat and journals' submission systems refuse a page
MAX_PAGE_HEIGHT = 200.0


def taller_pages_note(rows_per_page: int) -> str:
    """Why a PDF has more pages than ``plots.rows_per_page`` asks (for the job's log): its pages would be taller
    than :data:`MAX_PAGE_HEIGHT`. The forest plots' (:func:`~alliance_meta.plots.forest_draw.draw_pages`) and the
    traffic light's (:func:`~alliance_meta.plots.risk_of_bias.traffic_light`)."""
    return (f"more pages than plots.rows_per_page ({rows_per_page}) asks, as its pages would be taller than "
            f"{MAX_PAGE_HEIGHT:g} in ({MAX_PAGE_HEIGHT * 72:,.0f} pt), the largest PDF page Acrobat and journals "
            "accept")


#: zlib level of the PNGs: level 3 writes the figures in about 60% of the time of Pillow's default (6), and the
#: files are within 1% of the same size (docs/performance.md).
PNG_COMPRESS_LEVEL = 3
#: TIFF as journals' artwork checks (PLOS's PACE, Elsevier's) want it: RGB flattened on white, without the alpha
#: channel that matplotlib writes (an RGBA TIFF is flagged), LZW-compressed, with its resolution in the file.
TIFF_SUFFIXES = (".tif", ".tiff")
#: OpenType layout tables that a PDF never reads (its text is placed glyph by glyph): left out of the fonts
#: embedded in the PDFs, which spares fontTools decompiling them for every font of every PDF (docs/performance.md).
UNUSED_PDF_FONT_TABLES = ("GDEF", "GPOS", "GSUB", "kern", "MATH")
#: SVG ids are hashed from their content with this salt instead of drawn at random (matplotlib's
#: ``svg.hashsalt``), so that the same figure gives the same SVG bytes.
SVG_HASH_SALT = "alliance-meta"
LOGGER = logging.getLogger(__name__)


def _in_math(symbol: str, command: str) -> str:
    """The letters of ``symbol`` that are a statistic (one letter, or capitals such as OR) in mathtext ``command``
    (``mathit``, ``mathbfit``); a word (``estimate``) as it is."""
    return re.sub(r"\b([A-Za-z]|[A-Z]{2,})\b", lambda match: rf"$\{command}{{{match[1]}}}$", symbol)


@dataclass(frozen=True)
class Scale:
    """How a metric is shown: axis label (mathtext: the statistic's symbol in italics, APA 2020, 6.46; every
    figure's axis of the metric), symbol, transform, inverse, null."""

    label: str
    symbol: str
    to_display: Callable
    from_display: Callable
    null: float  # no effect, in the analysis metric
    log_axis: bool = False
    bounded: bool = False  # shown values cannot exceed 1 (a correlation): written without the leading zero (APA)

    @property
    def null_display(self) -> float:
        return float(self.to_display(self.null))

    @property
    def header_symbol(self) -> str:
        """The symbol as the figures' bold column headers write it ("r [95% CI]"): mathtext, the statistic in
        bold italics as :attr:`label` writes it in italics (APA 2020, 6.46): ``$\\mathbfit{r}$``,
        ``$\\mathbfit{OR}$``, ``Corrected $\\mathbfit{r}$``; a word (``estimate``) as it is."""
        return _in_math(self.symbol, "mathbfit")

    @property
    def italic_symbol(self) -> str:
        """The symbol in a figure's text, in mathtext italics as :attr:`label` writes it (APA 2020, 6.46):
        ``$\\mathit{r}$``, ``$\\mathit{OR}$`` (the model-averaging figure's "P(r = 0)" had it upright)."""
        return _in_math(self.symbol, "mathit")

    @property
    def inline_label(self) -> str:
        """:attr:`label` inside a longer label ("Pooled effect, correlation $r$", "Overall effect (odds ratio)"): a
        common noun in lower case, a name (Hedges' $g$, Cohen's $d$) as it is."""
        return self.label if self.label.startswith(("Hedges", "Cohen")) else self.label[:1].lower() + self.label[1:]


def math_fonts(family) -> dict:
    """rcParams of matplotlib's custom math fonts in ``family`` (a name, or a list as ``font.family``), so that
    mathtext (an axis label's or a header's italic symbol) is set in the text's font: every face, none looked up in
    vain (cursive)."""
    faces = {"rm": "", "sf": "", "cal": "", "it": ":italic", "bf": ":bold", "bfit": ":italic:bold"}
    # a fontconfig pattern, which read "sans-serif:italic" as family sans, size serif (ParseException): escaped
    names = [family] if isinstance(family, str) else list(family)
    pattern = ",".join(re.sub(r"([-\\,:])", r"\\\1", name) for name in names)
    return {"mathtext.fontset": "custom", **{f"mathtext.{face}": pattern + style for face, style in faces.items()}}


def plain_text(text: object) -> str:
    """Text from the sheet drawn as written: a ``$`` would start matplotlib's mathtext ("$5 to $10"
    drawn as italic "5to10", or a parse error); matplotlib draws ``\\$`` as ``$``."""
    return str(text).replace("$", r"\$")


#: Statistical symbols as the figures write them, in mathtext (:func:`symbol`): Latin letters italic, their
#: subscripts upright (APA 2020, 6.46); the heterogeneity parameters' Greek letters (\u03c4, \u03c4\u00b2, \u03c3\u00b2)
#: upright, as APA sets Greek letters, but in mathtext (\mathrm) like $I^2$, so that every figure writes them the
#: same way (the Bayesian axes had an italic $\tau$ beside the other figures' upright text "\u03c4")
STATISTICS = {"k": "k", "n": "n", "n1": "n_1", "n2": "n_2", "N": "N", "p": "p", "Q": "Q", "QM": r"Q_\mathrm{M}",
              "Q_between": r"Q_\mathrm{between}", "F": "F", "I2": "I^2", "H2": "H^2", "r": "r", "g": "g", "d": "d",
              "t": "t", "z": "z", "df": "df", "A": "A", "tau": r"\mathrm{\tau}", "tau2": r"\mathrm{\tau}^2",
              "sigma2": r"\mathrm{\sigma}^2"}
#: the heterogeneity symbols as plain text writes them (the Methods, a prior's formula: TauPrior.legend) and their
#: :data:`STATISTICS` key, squares first: :func:`math_statistics` sets them in a figure as :func:`symbol` does
UNICODE_STATISTICS = {"\u03c4\u00b2": "tau2", "\u03c3\u00b2": "sigma2", "I\u00b2": "I2", "H\u00b2": "H2",
                      "\u03c4": "tau"}
#: sheet columns whose name is a statistical symbol (a key of :data:`STATISTICS`): a figure's header of the
#: column writes the symbol (:func:`column_name`), "n" as an italic *n*
SYMBOL_COLUMNS = {"n": "n", "n1": "n1", "n2": "n2", "r": "r", "g": "g", "d": "d", "t": "t", "df": "df", "f": "F",
                  "p": "p"}


def symbol(name: str, bold: bool = False) -> str:
    """A statistic of :data:`STATISTICS` in mathtext, italic (``$Q$``, ``$I^2$``, ``$Q_\\mathrm{M}$``), or bold
    italic for a bold header (``$\\mathbfit{n}$``)."""
    return rf"$\mathbfit{{{STATISTICS[name]}}}$" if bold else f"${STATISTICS[name]}$"


#: a number squared in plain text ("1.72\u00b2", a prior's SD): set as mathtext by :func:`math_statistics`
SQUARED_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\u00b2")


def math_statistics(text: str) -> str:
    """Plain ``text`` (a prior's formula, "log \u03c4\u00b2 ~ N(\u22124.92, 1.72\u00b2)") with its heterogeneity symbols
    (:data:`UNICODE_STATISTICS`) in a figure's mathtext, as :func:`symbol` writes them, and its squared numbers
    with the same mathtext square: "log $\\mathrm{\\tau}^2$ ~ N(\u22124.92, $1.72^2$)" (a plain "\u00b2" beside
    a mathtext one was set smaller and lower)."""
    pattern = "|".join(re.escape(key) for key in UNICODE_STATISTICS)
    text = SQUARED_NUMBER.sub(lambda match: f"${match[1]}^2$", text)
    return re.sub(pattern, lambda match: symbol(UNICODE_STATISTICS[match[0]]), text)


def column_name(column: object, labels: dict | None = None, title: bool = True, bold: bool = False) -> str:
    """How a sheet column (a moderator, a ``plots.columns`` column) is named in a figure: its label in the
    config's ``plots.column_labels``; else a statistical symbol's column (:data:`SYMBOL_COLUMNS`) its symbol
    (:func:`symbol`; ``bold`` for a bold header); else the column's name, with ``title`` its underscores as spaces
    and its first letter upper-cased (``sa_measure`` -> "Sa measure"). Escaped for matplotlib (:func:`plain_text`)."""
    label = (labels or {}).get(column) if isinstance(labels, dict) else None
    if label is not None and str(label).strip():
        return plain_text(str(label).strip())
    if column in SYMBOL_COLUMNS:
        return symbol(SYMBOL_COLUMNS[column], bold)
    text = str(column)
    if title:
        text = text.replace("_", " ")
        text = text[:1].upper() + text[1:]
    return plain_text(text)


def _number(row, name) -> float:
    try:
        return float(row.get(name, np.nan))
    except (TypeError, ValueError):
        return np.nan


def counts_effect_sizes(row) -> bool:
    """Whether ``k`` of a pooled row counts effect sizes: a three-level fit's row (finite ``sigma2_between``
    and ``n_studies``); an aggregated fit's ``k`` counts studies (one composite each)."""
    return bool(np.isfinite(_number(row, "sigma2_between")) and np.isfinite(_number(row, "n_studies")))


def pooled_count(row) -> str:
    """What ``k`` of a pooled row counts: "29 effect sizes in 10 studies" for a three-level fit, else
    "10 studies" (:func:`counts_effect_sizes`)."""
    k, studies = _number(row, "k"), _number(row, "n_studies")
    if counts_effect_sizes(row):
        return (f"{k:,.0f} effect {'size' if k == 1 else 'sizes'} in {studies:,.0f} "
                f"{'study' if studies == 1 else 'studies'}")
    return f"{k:,.0f} {'study' if k == 1 else 'studies'}"


def _identity(x):
    return np.asarray(x, dtype=float)


#: keyed by metric code; an ``smd`` family whose every row comes from an odds ratio (transforms.family_metric) is
#: labelled Cohen's d
SCALES = ByMetric({
    "z": Scale("Correlation $r$", "r", np.tanh, lambda r: np.arctanh(np.clip(r, -0.999, 0.999)), 0.0, bounded=True),
    "smd": Scale("Hedges' $g$", "g", _identity, _identity, 0.0),
    "log_or": Scale("Odds ratio", "OR", np.exp, np.log, 0.0, log_axis=True),
    # correlations on their own scale (psychometric meta-analysis works on r, not Fisher z)
    "r": Scale("Correlation $r$", "Corrected r", _identity, _identity, 0.0, bounded=True),
}, Scale("Cohen's $d$", "d", _identity, _identity, 0.0))


#: a fit without a metric (am.fit(yi, vi) with no metric=): its estimates as they are
UNNAMED_SCALE = Scale("Estimate", "estimate", _identity, _identity, 0.0)


#: the estimate column's header symbol per metric, bold italic in the bold headers (:attr:`Scale.header_symbol`):
#: the forest, subgroup and selection-model plots' "r [95% CI]"
HEADER_SYMBOLS = ByMetric({metric: scale.header_symbol for metric, scale in SCALES.items()},
                          SCALES.odds_ratio_d.header_symbol)


def metric_name(metric: str, names: ByMetric = METRIC_NAMES) -> str:
    """The analysis metric in a figure's words (``names``: :data:`~alliance_meta.engines.transforms.METRIC_NAMES`, or
    a shorter set such as the Bayesian tau axis's), its statistic in mathtext italics as the axes write it: "Fisher's
    $z$", "Hedges' $g$", "log odds ratio", "Cohen's $d$ from log odds ratios" (the footnotes' "(Fisher's z)" stood
    upright beside the axis's "Correlation $r$")."""
    return re.sub(r"(?<= )([a-z])\b", r"$\1$", names[metric])


def display_scale(metric: str | None):
    """``(axis label, transform from the analysis metric, null on the display scale)`` of a metric (None: the
    estimates as they are, of a fit without a metric)."""
    scale = UNNAMED_SCALE if metric is None else SCALES[metric]
    return scale.label, scale.to_display, scale.null_display


def displayed_prefix(metric: str | None) -> str | None:
    """The prefix of a table's back-transformed columns (:func:`back_transform`'s key, e.g. multiverse.csv's ``r``,
    ``r_ci_lower``) that holds the scale the figures show (:data:`SCALES`' symbol): ``r`` of Fisher z, ``or`` of a
    log odds ratio; None where they show the analysis metric itself (g, d of an SMD family) or have no metric."""
    if metric is None:
        return None
    symbol = SCALES[metric].symbol.lower()
    try:
        return symbol if symbol in back_transform(0.0, metric) else None
    except ValueError:  # a metric without back-transformations (psychometric r)
        return None


class _PlainLogFormatter(matplotlib.ticker.LogFormatter):
    """matplotlib's choice of which log-axis ticks to label, written as plain numbers (0.3, not 3e-01)."""

    def _num_to_string(self, x, vmin, vmax):
        return f"{x:g}"


#: Widest axis (in decades) whose odds-ratio ticks are 1, 2 and 5 times a power of ten; wider: powers of ten only.
ONE_TWO_FIVE_DECADES = 2.5


def narrow_odds_ticks(low: float, high: float):
    """Round odds ratios (0.6, 0.8, 1, 1.2, ...; matplotlib's MaxNLocator) from ``low`` to ``high`` (odds ratios)
    where at most one of 1, 2 and 5 times a power of ten lies there, else None: an axis from 0.7 to 1.6 had
    only 1 labelled (the forest plot) or 0.8 0.9 1 and nothing above (the model-averaging figure)."""
    low, high = sorted((float(low), float(high)))
    if not (low > 0 and np.isfinite(high)):
        return None
    decades = np.arange(np.floor(np.log10(low)), np.ceil(np.log10(high)) + 1)
    one_two_five = np.outer(10.0 ** decades, (1.0, 2.0, 5.0)).ravel()
    if ((one_two_five >= low) & (one_two_five <= high)).sum() >= 2:
        return None
    values = matplotlib.ticker.MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    return np.round(values[(values >= low - 1e-12) & (values <= high + 1e-12)], 12)


class OddsLocator(matplotlib.ticker.LogLocator):
    """LogLocator at 1, 2 and 5 times a power of ten on an axis of up to :data:`ONE_TWO_FIVE_DECADES` decades, at
    powers of ten on a wider one (0.01, 0.02, 0.05, 0.1, ... ran into each other over five decades), at round odds
    ratios on a narrow one (:func:`narrow_odds_ticks`)."""

    def tick_values(self, vmin, vmax):
        low, high = sorted((vmin, vmax))
        if (narrow := narrow_odds_ticks(low, high)) is not None:
            return narrow
        if low > 0 and np.isfinite(high):
            self.set_params(subs=(1.0, 2.0, 5.0) if np.log10(high / low) <= ONE_TWO_FIVE_DECADES else (1.0,))
        return super().tick_values(vmin, vmax)


class _OddsMinorFormatter(_PlainLogFormatter):
    """The minor ticks' labels of an odds-ratio axis, none where its major ticks are the round odds ratios of a
    narrow axis (:func:`narrow_odds_ticks`), which the minor ones' 0.8, 0.9 would crowd."""

    def __call__(self, x, pos=None):
        if self.axis is not None and narrow_odds_ticks(*self.axis.get_view_interval()) is not None:
            return ""
        return super().__call__(x, pos)


def log_metric_axis(axis, which: str = "x") -> None:
    """A log axis for odds ratios: major ticks at 1, 2 and 5 times a power of ten, labelled as plain
    numbers, and, where these leave the axis nearly bare (a range within one decade), labelled minor ticks."""
    from matplotlib import ticker

    target = axis.xaxis if which == "x" else axis.yaxis
    (axis.set_xscale if which == "x" else axis.set_yscale)("log")
    target.set_major_locator(OddsLocator(subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    target.set_minor_formatter(_OddsMinorFormatter(labelOnlyBase=False))


class BoundedFormatter(matplotlib.ticker.ScalarFormatter):
    """matplotlib's tick labels of an axis whose values cannot exceed 1 (a correlation, a probability, a p value)
    written as APA writes such numbers, without the leading zero (:func:`alliance_meta.wording.without_leading_zero`):
    ``\u2212.5``, ``.25``, ``1.0``, and 0 as ``0``, as the forest plot's axis writes them."""

    def __call__(self, x, pos=None):
        text = without_leading_zero(super().__call__(x, pos))
        return "0" if text and set(text) <= set("0.-\u2212") else text


def bounded_axis(axis, which: str = "x") -> None:
    """Tick labels of ``axis`` without the leading zero (:class:`BoundedFormatter`): correlations, probabilities."""
    (axis.xaxis if which == "x" else axis.yaxis).set_major_formatter(BoundedFormatter())


def metric_axis(axis, metric: str | None, which: str = "x") -> None:
    """The ticks of an axis on a metric's display scale: a log axis for odds ratios (:func:`log_metric_axis`),
    correlations without the leading zero (:func:`bounded_axis`), any other scale as matplotlib writes it."""
    scale = UNNAMED_SCALE if metric is None else SCALES[metric]
    if scale.log_axis:
        log_metric_axis(axis, which)
    elif scale.bounded:
        bounded_axis(axis, which)


def keep_inside(figure, pad: float = 0.05) -> None:
    """Widen (or heighten) ``figure`` where its labels reach beyond its edges, every axes keeping its size in
    inches and its place beside the others: a figure that an analysis returns (``am.gosh(fit).plot()``) then keeps
    its axis titles and tick labels when saved as it is, ``figure.savefig(path)``, as the pipeline's figures do
    with ``bbox_inches="tight"`` (:func:`save_figure`), whose plots this leaves as they were (only a note beneath
    one is centred on the wider figure); texts placed on the figure itself (a note beneath it) keep their place
    in inches too. ``pad`` in inches. Measured as drawn now: call it last."""
    figure.draw_without_rendering()
    box = figure.get_tightbbox()  # inches
    width, height = figure.get_size_inches()
    left, bottom = max(0.0, pad - box.x0), max(0.0, pad - box.y0)
    right, top = max(0.0, box.x1 - width + pad), max(0.0, box.y1 - height + pad)
    if not (left or bottom or right or top):
        return
    wider, higher = width + left + right, height + bottom + top
    positions = [axis.get_position().bounds for axis in figure.axes]
    figure.set_size_inches(wider, higher)
    for axis, (x0, y0, w, h) in zip(figure.axes, positions):
        axis.set_position([(x0 * width + left) / wider, (y0 * height + bottom) / higher, w * width / wider,
                           h * height / higher])
    for text in figure.texts:
        if text.get_transform() == figure.transFigure:
            x, y = text.get_position()
            text.set_position(((x * width + left) / wider, (y * height + bottom) / higher))


def fit_width(figure, width: float = PAGE_WIDTH, pad: float = 0.1, what: str = "figure") -> None:
    """Narrow the axes of ``figure`` (their heights and the room of their labels kept) so that the figure, labels
    and all, is at most ``width`` inches wide as ``savefig(bbox_inches="tight")`` writes it (``pad``: its
    ``pad_inches``); then :func:`keep_inside`. Measured as drawn now: call it last. A legend, title or label that is
    not narrowed with its axes can stick out further once they are: measured again (:data:`NARROWING_ROUNDS`). A title
    wider than the page is broken into lines that fit (:func:`wrap_titles`; narrowing the axes never narrowed it);
    what still does not fit is logged on ``what`` (the figure's name; :func:`wider_note`), at the level
    :func:`log_wider` gives it (INFO at the default :data:`PAGE_WIDTH`, WARNING at a reviewer's ``plots.width``)."""
    _narrow_axes(figure, width, pad)
    figure.draw_without_rendering()
    box = figure.get_tightbbox()
    if box.width + 2 * pad > width + 0.005 and wrap_titles(figure, box.x0 + width - 2 * pad):
        _narrow_axes(figure, width, pad)
    keep_inside(figure, pad)
    figure.draw_without_rendering()
    smallest = min((text.get_fontsize() for text in figure.findobj(matplotlib.text.Text) if text.get_text().strip()),
                   default=plt.rcParams["font.size"])
    page = None if width == PAGE_WIDTH else width  # plots.width not set: the default page
    log_wider(LOGGER, what, wider_note(figure.get_tightbbox().width + 2 * pad, page, smallest,
                                       "after narrowing its axes and breaking its titles into lines"), page)


#: rounds of :func:`fit_width`'s narrowing: an axis label wider than its axes (the specification curve's), centred,
#: takes back half of each narrowing, so the excess only halves each round (three left the figure 7.06 in wide)
NARROWING_ROUNDS = 8


def _narrow_axes(figure, width: float, pad: float) -> None:
    """:func:`fit_width`'s narrowing of the axes, measured again up to :data:`NARROWING_ROUNDS` times."""
    for _ in range(NARROWING_ROUNDS):
        figure.draw_without_rendering()
        box, old = figure.get_tightbbox(), figure.get_figwidth()
        positions = [axis.get_position().bounds for axis in figure.axes]
        left, right = (min(x0 for x0, *_ in positions) * old, max(x0 + w for x0, _, w, _ in positions) * old)
        span = width - 2 * pad - (left - box.x0) - (box.x1 - right)  # what the labels leave to the axes
        if box.width + 2 * pad <= width + 0.005 or span <= 0:
            break
        scale, start = span / (right - left), pad + left - box.x0
        figure.set_size_inches(width, figure.get_figheight())
        for axis, (x0, y0, w, h) in zip(figure.axes, positions):
            axis.set_position([(start + (x0 * old - left) * scale) / width, y0, w * old * scale / width, h])


def _titles(figure) -> list:
    """The titles of ``figure``: its suptitle and each axes' left, centre and right titles (matplotlib's Text)."""
    texts = [figure._suptitle] + [text for axis in figure.axes for text in (axis._left_title, axis.title,
                                                                             axis._right_title)]
    return [text for text in texts if text is not None and text.get_visible() and text.get_text().strip()]


def wrap_titles(figure, right: float) -> bool:
    """Break each title of ``figure`` (:func:`_titles`) that reaches beyond ``right`` (inches from the figure's left
    edge) at its spaces into lines that end before it (:func:`~alliance_meta.plots.forest_layout.wrap_drawn`, as
    drawn); a centred title to the width it can have centred there. Measured as drawn now; whether any was
    broken."""
    from alliance_meta.plots.forest_layout import wrap_drawn

    renderer, changed = figure.canvas.get_renderer(), False
    for text in _titles(figure):
        extent = text.get_window_extent(renderer)
        left, end = extent.x0 / figure.dpi, extent.x1 / figure.dpi
        if end <= right + 0.005:
            continue
        room = 2 * (right - (left + end) / 2) if text.get_horizontalalignment() == "center" else right - left
        room *= 0.98  # wrap_drawn measures at 72 dpi: a line of the whole room was drawn up to 0.5% wider
        bold = text.get_fontweight() in ("bold", "heavy", "black", 700, 800, 900)
        lines = [line for part in text.get_text().split("\n")
                 for line in wrap_drawn(part, room, text.get_fontsize(), text.get_fontfamily(), bold)]
        if any(line.replace(r"\$", "").count("$") % 2 for line in lines):  # a break inside mathtext: left whole
            continue
        if "\n".join(lines) != text.get_text():
            text.set_text("\n".join(lines))
            changed = True
    return changed


def wider_note(figure_width: float, width: float | None, font_size: float, reason: str, remedy: str = "") -> str:
    """For a job's log: that a figure of ``figure_width`` inches is wider than ``plots.width`` (``width``; None:
    :data:`PAGE_WIDTH`) and why (``reason``), how small its ``font_size``-pt text is when scaled back to that width,
    and what narrows it (``remedy``); "" when it fits."""
    page = PAGE_WIDTH if width is None else width
    if figure_width <= page + 0.005:
        return ""
    scaled = font_size * page / figure_width
    than = f"the {page:g}-in page (plots.width not set)" if width is None else f"plots.width ({page:g} in)"
    return (f"{figure_width:.2f} in wide, wider than {than} {reason}; scaled to {page:g} in its "
            f"{font_size:g}-pt text is {scaled:.1f} pt" + (f" ({remedy})" if remedy else ""))


def log_wider(logger, what: str, note: str, width: float | None) -> None:
    """Log :func:`wider_note`'s ``note`` on ``what`` once: a WARNING when the reviewer set ``plots.width``
    (``width``) and the figure cannot keep to it, INFO when the figure widens the default page by design."""
    if note and logger is not None:
        logger.log(logging.INFO if width is None else logging.WARNING, "%s: %s", what, note)


def save_figure(figure, paths, note: str | None = None, dpi: int = DPI) -> None:
    """Write one figure to every path (format from the suffix; PNG at ``dpi``), ``note`` beneath it, and close it.
    Laid out once (:func:`add_note`'s draw, or a draw here) and not again before each file's tight box
    (:func:`drawn_once`). Drawn with the math fonts of :func:`math_fonts` in the figure's font: a text made inside
    them (the subgroup plot's ``$k$``) keeps matplotlib's custom math fontset, whose faces are read when it is
    drawn, and outside them its calligraphic face, the generic family ``cursive`` that no installed font has, was
    looked up ("findfont: Font family ['cursive'] not found"); its other faces are the same fonts."""
    with plt.rc_context(math_fonts(plt.rcParams["font.family"])):
        add_note(figure, note)
        if not note:
            figure.draw_without_rendering()
        for path in paths:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with drawn_once(figure):
                save_file(figure, path, dpi=dpi, bbox_inches="tight")
    plt.close(figure)


@contextmanager
def collector_paused():
    """While in the block, Python's cyclic garbage collector does not run (``gc.disable``, enabled again after it
    unless it was off before): drawing a figure allocates many short-lived objects, and the collections they set
    off (hundreds in a moderator's forest plot) search the figure's thousands of artists for cycles that are not
    there; what the block leaves is collected after it as before. Nothing drawn depends on it."""
    import gc

    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def drawn_once(figure):
    """While in the block, ``savefig(bbox_inches="tight")`` of ``figure``, already drawn and not changed since but
    for texts added, measures its tight box without the layout draw that ``print_figure`` does first (a draw with
    the format's renderer whose drawing calls do nothing: an eighth to a tenth of a file's time). Without a layout
    engine that moves the axes as the figure is drawn (``tight_layout`` leaves a placeholder, which does nothing),
    that draw changes nothing that ``get_tightbbox`` reads: the ticks, tick labels, offset texts, titles and aspect
    it sets are set again by ``get_tightbbox`` with the same renderer, a legend's place is found anew
    (``tests/test_figure_bytes.py`` compares the bytes). A constrained layout is left to matplotlib."""

    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    engine = figure.get_layout_engine()
    if (engine is not None and not isinstance(engine, PlaceHolderLayoutEngine)) or "draw" in vars(figure):
        yield
        return
    pending = [True]

    def draw(renderer):
        # print_figure's first draw after _get_renderer (which swaps draw itself) is the layout draw, with the
        # renderer's drawing calls disabled; a draw that paints (a savefig without a tight box has no layout draw)
        # is never left out: it would write an empty file
        if pending[0] and _drawing_disabled(renderer):
            pending[0] = False
            return
        type(figure).draw(figure, renderer)

    figure.draw = draw
    try:
        yield
    finally:
        del figure.draw


def _drawing_disabled(renderer) -> bool:
    """Whether ``renderer``'s drawing calls are the no-ops of ``RendererBase._draw_disabled`` (print_figure's layout
    draw, ``draw_without_rendering``); a PDF's ``MixedModeRenderer`` passes the question to its vector renderer."""
    from matplotlib.backend_bases import RendererBase

    return getattr(getattr(renderer, "draw_path", None), "__wrapped__", None) is RendererBase.draw_path


def file_metadata(path) -> dict | None:
    """savefig's ``metadata`` without a creation date (PDF, SVG): the same figure, the same bytes."""
    return {".pdf": {"CreationDate": None}, ".svg": {"Date": None}}.get(Path(path).suffix.lower())


def save_file(figure, path, **kwargs) -> None:
    """``figure.savefig(path, **kwargs)`` with reproducible bytes: no date, SVG ids from content; PNG at
    :data:`PNG_COMPRESS_LEVEL`, a TIFF in RGB and LZW-compressed (:data:`TIFF_SUFFIXES`), PDF fonts without
    :data:`UNUSED_PDF_FONT_TABLES`; without the garbage collector's passes (:func:`collector_paused`); texts
    measured and shaped once per process
    (:func:`alliance_meta.plots.text_cache.reused_text`). A PNG's report preview is stored from its pixels where
    the pipeline asks for previews (:mod:`alliance_meta.plots.previews`)."""
    if Path(path).suffix.lower() in TIFF_SUFFIXES:
        _save_tiff(figure, path, **kwargs)
        return
    png = Path(path).suffix.lower() == ".png"
    if png:
        kwargs["pil_kwargs"] = {"compress_level": PNG_COMPRESS_LEVEL, **(kwargs.get("pil_kwargs") or {})}
    with (plt.rc_context({"svg.hashsalt": SVG_HASH_SALT, **EMBEDDED_TEXT}), lean_pdf_fonts(), reused_text(),
          stored_previews() if png and previews.wanted(path) else nullcontext(), collector_paused()):
        figure.savefig(path, metadata=file_metadata(path), **kwargs)


def _save_tiff(figure, path, dpi=DPI, pil_kwargs=None, **kwargs) -> None:
    """``figure`` as a TIFF (:data:`TIFF_SUFFIXES`): drawn as a PNG in memory, flattened on white to RGB and
    written LZW-compressed at ``dpi``."""
    from PIL import Image

    buffer = io.BytesIO()
    with reused_text():
        figure.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 0}, **kwargs)
    with Image.open(buffer) as image:
        flat = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA")).convert("RGB")
    flat.save(path, format="TIFF", **{"compression": "tiff_lzw", "dpi": (dpi, dpi), **(pil_kwargs or {})})


@contextmanager
def stored_previews():
    """While in the block, each PNG that matplotlib's Agg backend writes to a file also gets its report preview
    (:func:`alliance_meta.plots.previews.store_preview`), made from the pixels it was written from: the backend
    hands them to ``matplotlib.image.imsave``, which is wrapped here and restored after the block."""
    import matplotlib.image

    original = matplotlib.image.imsave

    def imsave(fname, arr, **kwargs):
        result = original(fname, arr, **kwargs)
        if isinstance(fname, (str, os.PathLike)) and str(fname).lower().endswith(".png"):
            previews.store_preview(fname, arr)  # the file is closed; arr is still the renderer's buffer
        return result

    matplotlib.image.imsave = imsave
    try:
        yield
    finally:
        matplotlib.image.imsave = original


def save_pdf_pages(figures, path, **kwargs) -> None:
    """Write ``figures`` as the pages of one PDF (``savefig`` keywords ``kwargs``) and close them: no date,
    fonts without :data:`UNUSED_PDF_FONT_TABLES`, texts reused and no collector's passes as in :func:`save_file`."""
    from matplotlib.backends.backend_pdf import PdfPages

    # the fonts are written when PdfPages closes: inside lean_pdf_fonts
    with plt.rc_context(EMBEDDED_TEXT), lean_pdf_fonts(), reused_text(), collector_paused(), \
            PdfPages(path, metadata=file_metadata(path)) as pdf:
        for figure in figures:
            pdf.savefig(figure, **kwargs)
            plt.close(figure)


class _LeanFontSubsetting:
    """``fontTools.subset`` as matplotlib's PDF backend uses it, with options that drop the layout tables."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)

    def Options(self, **kwargs):  # noqa: N802 (fontTools' name)
        options = self._module.Options(**kwargs)
        options.drop_tables += [tag for tag in UNUSED_PDF_FONT_TABLES if tag not in options.drop_tables]
        return options

    def load_font(self, *args, **kwargs):
        """The font with :data:`UNUSED_PDF_FONT_TABLES` left out as it is read: fontTools 4.68 reads the lookups of
        GSUB and GPOS before it drops them (``_compact_layout_tables``, about a third of a font's subsetting)."""
        font = self._module.load_font(*args, **kwargs)
        for tag in UNUSED_PDF_FONT_TABLES:
            if tag in font:
                del font[tag]
        return font


@contextmanager
def lean_pdf_fonts():
    """While in the block, the fonts that matplotlib embeds in PDFs (TrueType subsets, ``pdf.fonttype`` 42)
    leave out :data:`UNUSED_PDF_FONT_TABLES`: a PDF positions every glyph itself and reads only the
    outlines and metrics (PDF 32000-1:2008, 9.9), and fontTools no longer decompiles the large kerning and
    substitution tables of DejaVu Sans for each font of each PDF (about 0.1 s each). Only inside the
    block, so that a notebook's own PDFs are left alone (the switch is process-wide while the block runs:
    a PDF that another thread writes meanwhile gets the lean fonts too, which are as valid)."""
    from matplotlib.backends import _backend_pdf_ps as pdf_ps

    original = getattr(pdf_ps, "subset", None)
    if original is None or isinstance(original, _LeanFontSubsetting):  # another matplotlib, or already lean
        yield
        return
    pdf_ps.subset = _LeanFontSubsetting(original)
    try:
        yield
    finally:
        pdf_ps.subset = original


def format_number(value: float, metric: str) -> str:
    """Two decimals with a typographic minus; no leading zero for correlations (APA)."""
    return apa_number(value, 2, leading_zero=not (metric is not None and SCALES[metric].bounded))


def format_p(p: float) -> str:
    """An APA p clause in a figure's mathtext (``$p$ = .042``, ``$p$ < .001``, ``$p$ > .999``: the text's
    :func:`alliance_meta.wording.apa_p_clause`); ``$p$ = n/a`` without one."""
    return apa_p_clause(p, symbol("p"), "n/a")


def three_level_test(summary) -> str | None:
    """The test between a moderator's levels in the three-level model (``multilevel_*`` columns of
    ``moderators.csv``, dependence: multilevel) in a figure's mathtext, its statistics italic (:func:`symbol`):
    ``$Q_\\mathrm{M}$(2) = 0.27, $p$ = .872; CR2 cluster-robust $F$(2, 10.70) = 0.15, $p$ = .863`` (CR2 named as the
    forest plots' footnotes name it); None without one. The model the report gives, where the levels' own diamonds
    are fits to study composites."""
    from alliance_meta.models.univariate import CI_TEST_SHORT_NAMES

    if summary is None or not np.isfinite(_number(summary, "multilevel_qm")):
        return None
    text = (f"{symbol('QM')}({_number(summary, 'multilevel_qm_df'):.0f}) = {_number(summary, 'multilevel_qm'):.2f}, "
            f"{format_p(_number(summary, 'multilevel_qm_p'))}")
    if np.isfinite(_number(summary, "multilevel_cr2_f")):
        # the df as the report's text and tables write them (wording.apa_df: "10.70", not "10.7")
        text += (f"; {CI_TEST_SHORT_NAMES['cr2']} {symbol('F')}({apa_df(_number(summary, 'multilevel_cr2_df1'))}, "
                 f"{apa_df(_number(summary, 'multilevel_cr2_df2'))}) = {_number(summary, 'multilevel_cr2_f'):.2f}, "
                 f"{format_p(_number(summary, 'multilevel_cr2_p'))}")
    return text


def no_test_between_levels(summary) -> str | None:
    """The sentence of a moderator's figure when its row of ``moderators.csv`` has no test between levels (one
    level coded, one study: no QM), with the row's ``note`` saying why; None when there is a test to report."""
    if summary is None:
        return None
    try:
        if np.isfinite(float(summary.get("qm"))):
            return None
    except (TypeError, ValueError):  # missing: no test
        pass
    note = summary.get("note")
    return f"No test between levels ({note})." if isinstance(note, str) and note else "No test between levels."


def message_figure(text: str, size=(6.0, 1.2)):
    """A small figure that says why there is no plot (k too small, no levels...)."""
    figure, axis = plt.subplots(figsize=size)
    axis.axis("off")
    axis.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, wrap=True)
    return figure


#: families whose fonts often hold the CJK and other characters DejaVu Sans lacks, suggested in the log where one is
#: installed (matplotlib draws a text in one family; a list in ``font.family`` falls back per character)
FALLBACK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "Droid Sans Fallback",
                     "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Arial Unicode MS")


def _font_paths(family) -> list[str]:
    """The font files matplotlib draws ``family`` (a name, a generic family, or a list as ``font.family``) with;
    none for a name not installed."""
    from matplotlib.font_manager import FontProperties, findfont

    paths = []
    for name in [family] if isinstance(family, str) else list(family):
        try:
            paths.append(findfont(FontProperties(family=[name]), fallback_to_default=False))
        except ValueError:
            continue
    return paths


def missing_characters(text: str, family) -> str:
    """The characters of ``text`` (spaces and control characters aside: no font draws them) that no font of
    ``family`` has, in order, each once: matplotlib draws them as empty boxes."""
    import unicodedata

    maps = [_cached_charmap(path) for path in _font_paths(family)]
    missing = []
    for character in dict.fromkeys(str(text)):
        if character.isspace() or unicodedata.category(character).startswith("C"):
            continue
        if not any(ord(character) in charmap for charmap in maps):
            missing.append(character)
    return "".join(missing)


_CHARMAPS: dict = {}


def _cached_charmap(path: str) -> frozenset:
    """The code points a font file has (read once a process)."""
    if path not in _CHARMAPS:
        from matplotlib.ft2font import FT2Font

        _CHARMAPS[path] = frozenset(FT2Font(path).get_charmap())
    return _CHARMAPS[path]


def fonts_with(characters: str) -> list[str]:
    """The installed families of :data:`FALLBACK_FAMILIES` whose font has every one of ``characters``."""
    from matplotlib.font_manager import fontManager

    installed = {font.name: font.fname for font in fontManager.ttflist}
    return [name for name in FALLBACK_FAMILIES if name in installed
            and all(ord(character) in _cached_charmap(installed[name]) for character in characters)]


#: Noto families by script, from the first word of a character's Unicode name (``unicodedata.name``): one family for
#: Chinese, Japanese and Korean, else "Noto Sans <Script>"; other characters get no name but "a font with them"
CJK_NAMES = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC")
NOTO_SCRIPTS = ("ARABIC", "ARMENIAN", "BENGALI", "DEVANAGARI", "ETHIOPIC", "GEORGIAN", "GUJARATI", "GURMUKHI",
                "HEBREW", "KANNADA", "KHMER", "LAO", "MALAYALAM", "MYANMAR", "ORIYA", "SINHALA", "SYRIAC", "TAMIL",
                "TELUGU", "THAANA", "THAI")

#: what the log advises for study names a figure cannot draw where its caller does not say
#: (:func:`~alliance_meta.plots.forest_options.study_labels`)
LABEL_REMEDY = ("give the studies a label in letters the font has (transliterated: the sheet's label column, "
                "plots.labels: label)")


def script_fonts(characters: str) -> str:
    """Fonts to suggest for ``characters`` by their script (:data:`CJK_NAMES`, :data:`NOTO_SCRIPTS`): "e.g. Noto Sans
    CJK", "e.g. Noto Sans Devanagari", or "a font with these characters" where a character is of no script named."""
    import unicodedata

    fonts = []
    for character in characters:
        word = unicodedata.name(character, "").split(" ")[0]
        if word in CJK_NAMES:
            fonts.append("Noto Sans CJK")
        elif word in NOTO_SCRIPTS:
            fonts.append(f"Noto Sans {word.title()}")
        else:
            return "a font with these characters"
    return "e.g. " + ", ".join(dict.fromkeys(fonts))


def log_undrawable_names(study_ids, labels, family=None, logger: logging.Logger | None = None,
                         remedy: str = LABEL_REMEDY, font_key: str | None = None) -> dict:
    """Say once in the job's log (WARNING) which studies' names (``labels``, one per id of ``study_ids``) have
    characters that no font of ``family`` (default: matplotlib's ``font.family`` now) has, drawn as empty boxes, and
    what to do: ``remedy``, what the figure names studies by (default :data:`LABEL_REMEDY`), and where the figure
    reads its font from the config key ``font_key`` (forest plots: ``plots.font_family``), a font that has them:
    one matplotlib finds installed (:func:`fonts_with`), else one of their script (:func:`script_fonts`).
    matplotlib's own warning named a glyph number, not the study. Returns {study id: its missing characters} of the
    studies not named before in this job; the characters go to :data:`alliance_meta.io.NAMED_GLYPHS`, which the
    job's per-character line then leaves out (:data:`alliance_meta.io.NAMED_STUDIES`: the studies named)."""
    from alliance_meta import io as job_io

    family = plt.rcParams["font.family"] if family is None else family
    found = {}
    for study, label in zip(study_ids, labels):
        missing = missing_characters(label, family)
        if missing and str(study) not in job_io.NAMED_STUDIES:
            found[str(study)] = missing
    if not found:
        return found
    job_io.NAMED_STUDIES.update(found)
    characters = "".join(dict.fromkeys("".join(found.values())))
    from matplotlib.ft2font import FT2Font

    shown = ", ".join(dict.fromkeys(FT2Font(path).family_name for path in _font_paths(family)))
    named = ", ".join(list(found)[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
    one = len(found) == 1
    advice = remedy
    if font_key:
        fonts = fonts_with(characters)
        advice += (f", or set {font_key} to a font that has them ("
                   + (f"matplotlib finds here: {', '.join(fonts)})" if fonts
                      else f"matplotlib finds none here; {script_fonts(characters)})"))
    (logger or LOGGER).warning(
        "figure text: the %s of %s %s %s characters the font %s lacks (%s), drawn as empty boxes; %s",
        "name" if one else "names", "study" if one else "studies", named, "has" if one else "have", shown,
        " ".join(characters), advice)
    job_io.NAMED_GLYPHS.update(characters)
    return found
