"""Forest plot of one family: studies with CIs, squares sized by weight, pooled diamond and
prediction interval (Lewis & Clarke 2001, BMJ 322, 1479-1480; metafor's ``forest.rma``;
IntHout et al. 2016, BMJ Open 6, e010247 for showing the prediction interval).

Drawn on the scale readers know (r for Fisher z); weights are the random-effects
weights 1/(v_i + tau^2) of the pooled model, in percent.
"""

from __future__ import annotations

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402
from scipy import special  # noqa: E402

from alliance_meta.plots.subgroups import (  # noqa: E402
    STYLE,
    SYMBOLS,
    display_scale,
    format_number,
    format_p,
    save_figure,
)

STUDY_COLOUR = "#1f4e79"
# Columns in figure coordinates: labels end, plot panel, CI text start, weights end.
LABEL_RIGHT, PANEL_LEFT, PANEL_RIGHT, NUMBERS_LEFT, WEIGHT_RIGHT = 0.37, 0.39, 0.70, 0.72, 0.98
METHOD_NAMES = {"common": "Common effect", "DL": "DerSimonian-Laird", "REML": "REML", "ML": "ML",
                "PM": "Paule-Mandel", "PMM": "median-unbiased Paule-Mandel", "HE": "Hedges",
                "HS": "Hunter-Schmidt", "HSk": "Hunter-Schmidt (k-corrected)", "SJ": "Sidik-Jonkman",
                "EB": "empirical Bayes", "GENQ": "generalised Q"}


def study_labels(data: pd.DataFrame) -> list[str]:
    """``label``, else ``authors (year)``, else ``study_id``."""
    labels = []
    for row in data.itertuples(index=False):
        label = getattr(row, "label", None)
        if isinstance(label, str) and label.strip():
            labels.append(label)
            continue
        authors, year = getattr(row, "authors", None), getattr(row, "year", None)
        if isinstance(authors, str) and authors.strip():
            labels.append(f"{authors} ({int(year)})" if pd.notna(year) else authors)
        else:
            labels.append(str(row.study_id))
    return labels


def forest_plot(data: pd.DataFrame, pooled: dict, metric: str, level: float = 95.0):
    """Figure of ``data`` (``study_id``, ``yi``, ``vi``, optional ``label``/``authors``/``year``)
    and one row of ``pooled.csv`` (``pooled``, a mapping)."""
    label, transform, null = display_scale(metric)
    k = len(data)
    yi, vi = data["yi"].to_numpy(float), data["vi"].to_numpy(float)
    critical = special.ndtri(0.5 + level / 200)
    lower, upper = transform(yi - critical * np.sqrt(vi)), transform(yi + critical * np.sqrt(vi))
    centre = transform(yi)
    tau2 = pooled["tau2"] if np.isfinite(pooled["tau2"]) else 0.0
    weights = 1.0 / (vi + tau2)
    percent = 100 * weights / weights.sum()
    pooled_values = transform([pooled["estimate"], pooled["ci_lower"], pooled["ci_upper"],
                               pooled["pi_lower"], pooled["pi_upper"]])
    with plt.rc_context(STYLE):
        figure, axis = plt.subplots(figsize=(7.2, 1.5 + 0.2 * (k + 3)))
        rows = np.arange(k, 0, -1) + 1.5
        axis.hlines(rows, lower, upper, color=STUDY_COLOUR, lw=0.8, zorder=2)
        axis.scatter(centre, rows, marker="s", s=8 + 90 * percent / percent.max(), color=STUDY_COLOUR,
                     lw=0, zorder=3)
        axis.fill([pooled_values[1], pooled_values[0], pooled_values[2], pooled_values[0]],
                  [0.5, 0.82, 0.5, 0.18], color="black", lw=0, zorder=3)
        if pooled["method"] != "common" and np.all(np.isfinite(pooled_values[3:])):
            axis.hlines(0.5, pooled_values[3], pooled_values[1], color="black", lw=1.2, zorder=2)
            axis.hlines(0.5, pooled_values[2], pooled_values[4], color="black", lw=1.2, zorder=2)
            axis.vlines(pooled_values[3:], 0.3, 0.7, color="black", lw=1.2, zorder=2)
        axis.axvline(null, color="0.35", lw=0.7, zorder=1)
        axis.axhline(1.05, color="0.6", lw=0.6)
        bounds = np.concatenate([lower, upper, pooled_values[np.isfinite(pooled_values)]])
        left, right = np.nanmin(bounds), np.nanmax(bounds)
        margin = 0.04 * (right - left)
        left, right = min(left - margin, null), max(right + margin, null)
        if metric == "z":
            left, right = max(left, -1.0), min(right, 1.0)
        if metric == "log_or":
            axis.set_xscale("log")
            left, right = min(np.nanmin(bounds) / 1.1, null), max(np.nanmax(bounds) * 1.1, null)
            ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20) if left <= t <= right]
            axis.set_xticks(ticks, [f"{t:g}" for t in ticks])
            axis.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        axis.set_xlim(left, right)
        axis.set_ylim(-0.2, k + 2.9)
        axis.set_yticks([])
        texts = study_labels(data)
        method = METHOD_NAMES.get(pooled["method"], pooled["method"])
        model = "Common-effect model" if pooled["method"] == "common" else f"Random-effects model ({method})"
        heading = blended_transform_factory(figure.transFigure, axis.transData)
        for y, text, values, weight in zip(rows, texts, zip(centre, lower, upper), percent):
            _row_text(axis, heading, y, text, [format_number(v, metric) for v in values], f"{weight:.1f}%")
        pi_text = ""
        if pooled["method"] != "common" and np.all(np.isfinite(pooled_values[3:])):
            pi_text = f"PI [{format_number(pooled_values[3], metric)}, {format_number(pooled_values[4], metric)}]"
        _row_text(axis, heading, 0.5, model, [format_number(v, metric) for v in pooled_values[:3]], "100%",
                  bold=True)
        if pi_text:
            axis.text(NUMBERS_LEFT, -0.15, pi_text, transform=heading, ha="left", va="center", fontsize=8)
        _row_text(axis, heading, k + 2.4, "Study", None, "Weight", bold=True,
                  numbers_text=f"{SYMBOLS[metric]} [{level:g}% CI]")
        axis.set_xlabel(label)
        figure.text(0.01, 0.005, _footnote(pooled, level), ha="left", va="bottom", fontsize=7.5, wrap=True)
        height = figure.get_figheight()
        figure.subplots_adjust(left=PANEL_LEFT, right=PANEL_RIGHT, top=1 - 0.1 / height, bottom=0.75 / height)
    return figure


def _row_text(axis, transform, y, label, numbers, weight, bold=False, numbers_text=None):
    weight_style = "bold" if bold else "normal"
    if numbers_text is None:
        numbers_text = f"{numbers[0]} [{numbers[1]}, {numbers[2]}]"
    for x, text, align in ((LABEL_RIGHT, label, "right"), (NUMBERS_LEFT, numbers_text, "left"),
                           (WEIGHT_RIGHT, weight, "right")):
        axis.text(x, y, text, transform=transform, ha=align, va="center", fontweight=weight_style)


def _footnote(pooled: dict, level: float) -> str:
    heterogeneity = (f"Heterogeneity: $Q$({int(pooled['q_df'])}) = {pooled['q']:.2f}, {format_p(pooled['q_p'])}; "
                     f"$\\tau^2$ = {pooled['tau2']:.4f}; $I^2$ = {pooled['i2']:.0f}%.")
    if pooled["method"] == "common":
        return f"Diamond: pooled estimate with {level:g}% CI. " + heterogeneity
    test = "Knapp-Hartung" if pooled["test"] == "knha" else "Wald"
    return (f"Diamond: pooled estimate with {level:g}% CI ({test}); whiskers: {level:g}% prediction interval. "
            + heterogeneity)


def save_forest_plot(data: pd.DataFrame, pooled: dict, metric: str, paths, level: float = 95.0) -> None:
    """Draw and write the forest plot to every path (PDF, PNG at 300 dpi, SVG)."""
    if len(data) == 0:
        figure, axis = plt.subplots(figsize=(5, 1.2))
        axis.axis("off")
        axis.text(0.5, 0.5, "No effect sizes in this family (k = 0).", ha="center", va="center")
    else:
        figure = forest_plot(data, pooled, metric, level)
    save_figure(figure, paths)
