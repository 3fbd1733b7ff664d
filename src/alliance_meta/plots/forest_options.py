"""Options of the publication forest plot (the config's ``plots`` keys) and the rows it draws.

Journal preset ``apa``: correlations without a leading zero, two decimals (APA 2020,
sec. 6.36); ``plain``: leading zeros everywhere. Colours default to the Okabe-Ito
palette, which stays distinct under the common colour-vision deficiencies
(Okabe & Ito 2008, "Color Universal Design").
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from alliance_meta.inputs.config_check import xlim_problem
from alliance_meta.inputs.effect_sizes import citations
from alliance_meta.inputs.options import check_options
from alliance_meta.plots.style import LABEL_REMEDY, PAGE_WIDTH, SCALES, log_undrawable_names, plain_text
from alliance_meta.wording import YEAR_COLUMNS, apa_number, single_spaced

SORT_ORDERS = ("sheet", "effect", "year", "weight")
LABEL_MODES = ("authors_year", "label", "both")
PRESETS = ("apa", "plain")


@dataclass(frozen=True)
class ForestOptions:
    """Size, font, journal preset, sorting, colours and export settings of forest plots."""

    width: float | None = None
    """``plots.width``: the width asked for, in inches; None: :data:`PAGE_WIDTH`, widened as the text columns need."""
    font_size: float = 8.0
    font_family: str = "DejaVu Sans"
    preset: str = "apa"
    decimals: int = 2
    sort: str = "sheet"
    labels: str = "authors_year"
    label_width: int = 40
    dpi: int = 300
    tiff: bool = False
    rows_per_page: int = 50
    study_colour: str = "#0072B2"
    subgroup_colour: str = "#D55E00"
    summary_colour: str = "#000000"
    xlim: list[float] | None = field(default=None)
    columns: list[str] = field(default_factory=list)
    column_labels: dict[str, str] = field(default_factory=dict)
    column_width: int = 14
    rob: bool = False
    risk_of_bias: dict = field(default_factory=dict)
    """The config's ``risk_of_bias`` block (the tool of the ``rob`` symbols)."""

    @classmethod
    def from_config(cls, plots: dict | None, risk_of_bias: dict | None = None) -> "ForestOptions":
        """Options from the config's ``plots`` mapping and its ``risk_of_bias`` block (the tool of
        ``plots.rob``; an API caller may also put ``risk_of_bias`` in the mapping). The mapping is checked as
        the config's ``plots`` block: an unknown key (``sortt``) or value (``preset: nejm``) raises one
        ValueError listing every problem."""
        plots = dict(plots or {})
        if "risk_of_bias" in plots:
            given = plots.pop("risk_of_bias")
            risk_of_bias = given if risk_of_bias is None else risk_of_bias
        names = {f.name: None for f in fields(cls) if f.name != "risk_of_bias"}
        check_options("plots", plots, names, "forest plot options",
                      enums={"sort": SORT_ORDERS, "labels": LABEL_MODES, "preset": PRESETS})
        values = {key: value for key, value in plots.items() if key in names}
        if risk_of_bias is not None:
            values["risk_of_bias"] = dict(risk_of_bias)
        options = cls(**values)
        if options.sort not in SORT_ORDERS or options.labels not in LABEL_MODES:
            raise ValueError(f"plots.sort must be one of {SORT_ORDERS}, plots.labels one of {LABEL_MODES}")
        return options

    @property
    def page_width(self) -> float:
        """The width the layout starts from: ``width``, or :data:`PAGE_WIDTH` when none was asked for."""
        return PAGE_WIDTH if self.width is None else self.width

    def number(self, value: float, metric: str) -> str:
        """A value on the display scale: APA drops the leading zero of correlations; typographic minus."""
        return apa_number(value, self.decimals, leading_zero=not (self.preset == "apa" and SCALES[metric].bounded))


def check_xlim(xlim, metric: str) -> None:
    """Refuse an axis range the metric's display scale cannot have, with one line naming the key, the
    value and why: odds ratios (``log_or``) need limits above 0 (a log axis), correlations (``z``
    shown as r, ``r``) limits within [-1, 1]; the lower limit first (as the config check words it)."""
    problem = xlim_problem(_plain_list(xlim), metric)
    if problem:
        raise ValueError(problem)


def _plain_list(xlim):
    try:
        return [float(v) for v in xlim] if xlim is not None and len(xlim) == 2 else xlim
    except (TypeError, ValueError):
        return xlim


def study_labels(data: pd.DataFrame, mode: str = "label", escape: bool = True, font=None,
                 remedy: str = LABEL_REMEDY) -> list[str]:
    """Row labels: ``label`` (mode ``label``, the default), ``authors (year)`` (``authors_year``; studies of the
    same authors and year told apart by a, b, ...: :func:`~alliance_meta.inputs.effect_sizes.citations`) or both;
    each falls back to the other and finally to ``study_id``. ``escape``: ready for matplotlib
    (:func:`~alliance_meta.plots.style.plain_text`); else as written, for a plot that escapes them itself. Studies
    whose labels have characters the font lacks are named once in the job's log with ``remedy``, what to do
    (:func:`~alliance_meta.plots.style.log_undrawable_names`; ``font``: the figure's family, ``plots.font_family``,
    which the log then suggests setting; None matplotlib's ``font.family``; False for labels written to a table,
    not drawn)."""
    labels = []
    for row, citation in zip(data.itertuples(index=False), citations(data)):
        label = getattr(row, "label", None)
        label = single_spaced(label) if isinstance(label, str) else ""
        if mode == "both" and citation and label and not label.startswith(citation):
            labels.append(f"{citation}, {label}")
        elif mode == "authors_year":
            labels.append(citation or label or str(row.study_id))
        else:
            labels.append(label or citation or str(row.study_id))
    if font is not False:  # once a job: the studies whose names the font cannot draw
        log_undrawable_names(data["study_id"] if "study_id" in data else labels, labels, font, remedy=remedy,
                             font_key=None if font is None else "plots.font_family")
    return [plain_text(label) for label in labels] if escape else labels


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters, breaking at spaces (a longer word stays whole)."""
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def sort_studies(data: pd.DataFrame, weights: np.ndarray, order: str) -> np.ndarray:
    """Row order: ``sheet`` (as given), ``effect`` (ascending), ``year`` (then effect) or ``weight`` (descending)."""
    if order == "effect":
        return np.argsort(data["yi"].to_numpy(float), kind="stable")
    if order == "year" and "year" in data:
        year = pd.to_numeric(data["year"], errors="coerce").to_numpy(float)
        return np.lexsort((data["yi"].to_numpy(float), np.nan_to_num(year, nan=np.inf)))
    if order == "weight":
        return np.argsort(-np.asarray(weights), kind="stable")
    return np.arange(len(data))


def cell_text(value, width: int, column: str = "") -> tuple[str, bool]:
    """A ``plots.columns`` cell of ``column``: whole numbers with thousands separators (a year without:
    ``wording.YEAR_COLUMNS``), other numbers with up to two decimals, text cut to ``width`` characters with an
    ellipsis; ``(text, was_cut)``."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
        return "", False
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        if number.is_integer():
            return (f"{number:.0f}" if column in YEAR_COLUMNS else f"{number:,.0f}"), False
        return f"{number:.2f}".rstrip("0"), False
    text = str(value).strip()
    if len(text) > width:
        return plain_text(text[: width - 1].rstrip()) + "\u2026", True
    return plain_text(text), False
