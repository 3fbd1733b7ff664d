"""Selection-model figures: (a) each model's adjusted estimate beside the unadjusted
random-effects estimate, (b) the fitted weight functions, relative probability of
selection against the p-value (metafor's ``plot.rma.uni.selmodel``), one panel per model.

Both take the rows of ``selection_models.csv``
(:func:`alliance_meta.analyses.bias.selection_models.selection_models_table`).
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import transforms  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from alliance_meta.analyses.bias.results import (POORLY_IDENTIFIED, fitted_weight_function,  # noqa: E402
                                               no_weight_function, without_sign_advice)
from alliance_meta.analyses.bias.selection_models import p_values, weight_function  # noqa: E402
from alliance_meta.plots.style import STYLE, display_scale, format_number, metric_axis, symbol  # noqa: E402
from alliance_meta.plots.subgroups import SYMBOLS  # noqa: E402
from alliance_meta.wording import apa_p_clause, apa_setting, at_null  # noqa: E402

NAMES = {"beta": "Beta", "halfnorm": "Half-normal", "negexp": "Negative exponential", "logistic": "Logistic",
         "power": "Power", "negexppow": "Negative exponential power", "stepfun": "Step function"}
UNADJUSTED = "#000000"
ADJUSTED = "#1f4e79"
NOT_CONVERGED = "#9e9e9e"


def _values(text) -> np.ndarray:
    """A ``;``-separated column of ``selection_models.csv`` as numbers."""
    if not isinstance(text, str) or not text:
        return np.empty(0)
    return np.array([float(value) for value in text.split(";")])


def model_label(row) -> str:
    """``Step function (.025, .10, .50)`` and the like: the steps as the report's text writes them
    (:func:`alliance_meta.wording.apa_setting`)."""
    name = NAMES.get(row.type, str(row.type))
    if row.type == "stepfun":
        name += f" ({', '.join(apa_setting(value) for value in _values(row.steps)[:-1])})"
    return name


# layout of the estimates figure, in inches from the left edge: within plots.width's default page (style.PAGE_WIDTH)
LABEL_RIGHT, AXIS_LEFT, AXIS_WIDTH, INTERVAL_LEFT, LRT_LEFT, WIDTH = 2.6, 2.75, 2.1, 5.05, 6.25, 7.0
NOTE_CHARS = 128  # characters to a line of the note beneath (7 pt across the figure's width)
NOTE_LINE = 7 * 1.5 / 72  # inches of a line of the note (7 pt, line spacing 1.5)


def _not_adjusted(row) -> str:
    """Why a fitted model's estimate is not an adjusted one, drawn in grey: "not converged" (``converged`` False in
    ``selection_models.csv``) or "poorly identified" (its note says so; the report and GRADE leave it out too);
    "" for an adjusted estimate or a model not fitted."""
    if not math.isfinite(float(row.estimate)):
        return ""
    if str(getattr(row, "converged", True)).lower() in ("false", "0"):
        return "not converged"
    return POORLY_IDENTIFIED if POORLY_IDENTIFIED in str(getattr(row, "note", "")) else ""


def _not_fitted_reason(note: str) -> str:
    """Why a model has no estimate, from its ``note`` in ``selection_models.csv``."""
    if not note or note == "nan":
        return "not fitted"
    return note.removeprefix("not computed: ").replace("; study composites (dependence: multilevel)", "")


def selection_estimates_plot(table: pd.DataFrame, unadjusted: dict, metric: str, level: float = 95.0):
    """One row per selection model: its estimate and CI (open marker without a CI when the
    Hessian could not be inverted; the reason when the model could not be fitted), below the
    unadjusted random-effects estimate (``unadjusted``: ``estimate``, ``ci_lower``, ``ci_upper``,
    optional ``label``)."""
    label, transform, null = display_scale(metric)
    table = without_sign_advice(table)  # the report gives it once
    rows = [(unadjusted.get("label", "Random effects, unadjusted"), unadjusted["estimate"], unadjusted["ci_lower"],
             unadjusted["ci_upper"], "", "", UNADJUSTED)]
    grey, whys = {}, set()  # why each grey model is not an adjusted estimate -> the models, named once for several
    for row in table.itertuples():  # a model that did not converge or is poorly identified in grey, why in the note
        # a fit at the bound where it is the unadjusted model: p = 1 (as the text and the table write it)
        lrt = (apa_p_clause(row.lrt_p, "$p$", null_statistic=at_null(getattr(row, "lrt", math.nan)))
               if math.isfinite(row.lrt_p) else "")
        why, note = _not_adjusted(row), str(row.note)
        if why:  # a poorly identified fit's warning alone (its other notes, delta at a bound, are not why)
            whys.add(why)
            grey.setdefault(note[note.index(POORLY_IDENTIFIED):] if why == POORLY_IDENTIFIED else note,
                            []).append(model_label(row))
        rows.append((model_label(row), row.estimate, row.ci_lower, row.ci_upper, lrt, note,
                     NOT_CONVERGED if why else ADJUSTED))
    n = len(rows)
    # why a model was not fitted goes in the note beneath (written on its row, it ran across the axes, its lines
    # and the null line); the row says "not fitted" in the estimate column, where its numbers would be
    reasons = [f"{text}: {_not_fitted_reason(note)}" for text, estimate, *_, note, _colour in rows[1:]
               if not math.isfinite(float(estimate))]
    footnote = _wrap("Squares: estimate adjusted by each selection model (open: Hessian not invertible, no CI); diamond "
                     "and dashed line: unadjusted estimate. LRT: likelihood-ratio test of the selection parameters "
                     "against the unadjusted model fitted by maximum likelihood.", NOTE_CHARS)
    if grey:
        heading = "did not converge, not" if whys == {"not converged"} else "not"  # else each reason says why
        footnote += "\n" + _wrap(f"Grey: {heading} an adjusted estimate: " +
                                 "; ".join(f"{', '.join(names)}: {reason}" for reason, names in grey.items()) + ".",
                                 NOTE_CHARS)
    if reasons:
        footnote += "\n" + _wrap("Not fitted: " + "; ".join(reasons) + ".", NOTE_CHARS)
    extra = NOTE_LINE * (footnote.count("\n") - 1)  # the note's lines beyond its usual two
    height = 1.5 + 0.3 * n + extra
    with plt.rc_context(STYLE):
        figure = plt.figure(figsize=(WIDTH, height))
        axis = figure.add_axes((AXIS_LEFT / WIDTH, (0.95 + extra) / height, AXIS_WIDTH / WIDTH,
                                (0.3 * n + 0.2) / height))
        column = lambda inches: transforms.blended_transform_factory(figure.dpi_scale_trans, axis.transData)  # noqa: E731
        at = {name: (inches, column(inches)) for name, inches in
              (("label", LABEL_RIGHT), ("interval", INTERVAL_LEFT), ("lrt", LRT_LEFT), ("axis", AXIS_LEFT))}
        finite, intervals, lrts, loose, wide = [], [], [], [], []
        for i, (text, estimate, lower, upper, lrt_p, note, colour) in enumerate(rows):
            y = n - 1 - i + (0.3 if i == 0 else 0.0)
            figure.text(at["label"][0], y, text, transform=at["label"][1], ha="right", va="center",
                        fontweight="bold" if i == 0 else "normal")
            centre, low, high = (float(value) for value in transform(np.array([estimate, lower, upper], float)))
            if not math.isfinite(centre):
                figure.text(at["interval"][0], y, "not fitted", transform=at["interval"][1], ha="left",
                            va="center", style="italic", color="0.35")
                continue
            # a model that did not converge does not set the axis: its interval (-81.83 to 68.59 on a g axis of the
            # multilevel test folder) squeezed every other model into the middle; cut at the axis, arrow-headed
            bounds = loose if colour == NOT_CONVERGED else finite
            bounds.append(centre)
            if math.isfinite(low) and math.isfinite(high):
                axis.hlines(y, low, high, color=colour, lw=1.1)
                bounds += [low, high]
                if colour == NOT_CONVERGED:
                    wide.append((y, low, high))
                axis.scatter(centre, y, marker="D" if i == 0 else "s", s=26 if i == 0 else 20, color=colour,
                             zorder=3)
                interval = (f"{format_number(centre, metric)} [{format_number(low, metric)}, "
                            f"{format_number(high, metric)}]")
            else:
                axis.scatter(centre, y, marker="s", s=20, facecolor="white", edgecolor=colour, zorder=3)
                interval = f"{format_number(centre, metric)} (no CI)"
            intervals.append(figure.text(at["interval"][0], y, interval, transform=at["interval"][1], ha="left",
                                         va="center", color="0.45" if colour == NOT_CONVERGED else "black"))
            if lrt_p:
                lrts.append(figure.text(at["lrt"][0], y, lrt_p, transform=at["lrt"][1], ha="left",
                                        va="center", color="0.45" if colour == NOT_CONVERGED else "black"))
        axis.axhline(n - 1 - 0.35, color="0.6", lw=0.6)
        axis.axvline(null, color="0.3", lw=0.8)
        if math.isfinite(float(unadjusted["estimate"])):
            axis.axvline(float(transform(np.array([unadjusted["estimate"]], float))[0]), color="0.3", lw=0.6,
                         ls=(0, (3, 3)))
        metric_axis(axis, metric)
        finite = finite or loose
        if finite:
            low, high = min(finite + [null]), max(finite + [null])
            if metric == "log_or":
                axis.set_xlim(low / 1.12, high * 1.12)
            else:
                pad = 0.06 * (high - low or 1.0)
                axis.set_xlim(low - pad, high + pad)
            left, right = axis.get_xlim()
            for y, low, high in wide:
                for end, beyond, marker in ((left, low < left, "<"), (right, high > right, ">")):
                    if beyond:
                        axis.plot(end, y, marker=marker, ms=4, color=NOT_CONVERGED, clip_on=False, zorder=3)
        axis.set_yticks([])
        axis.set_ylim(-0.6, n - 0.3)
        axis.set_xlabel(label)
        header = n - 0.05
        for name, text, align in (("label", "Model", "right"), ("interval", f"{SYMBOLS[metric]} [{level:g}% CI]",
                                                                  "left"), ("lrt", "LRT", "left")):
            heading = figure.text(at[name][0], header, text, transform=at[name][1], ha=align, va="bottom",
                                  fontweight="bold")
            if name == "lrt":
                lrts.append(heading)
        # a wide interval ("-6.62 [-81.83, 68.59]") ran into the LRT column: move that column right of the widest
        renderer = figure.canvas.get_renderer()
        widest = max((text.get_window_extent(renderer).x1 / figure.dpi for text in intervals), default=0.0)
        if widest + 0.15 > LRT_LEFT:
            for text in lrts:
                text.set_x(widest + 0.15)
        figure.text(0.12 / WIDTH, 0.12 / height, footnote, ha="left", va="bottom", fontsize=7, linespacing=1.5)
    return figure


def weight_functions_plot(table: pd.DataFrame, yi=None, vi=None, alternative: str = "greater"):
    """The fitted weight function w(p) of every model, one panel each (the reason in the panel when
    the model could not be fitted), with the studies' p-values as ticks (``yi``, ``vi``)."""
    rows = list(without_sign_advice(table).itertuples())
    if not rows:
        return _message("No selection model was fitted.")
    if no_weight_function(table):  # the report gives this figure as its sentence (report.html.placeholder_plots)
        # a grid of empty panels, each with a sentence in small italics, and a footnote on ticks that were not there
        from alliance_meta.plots.style import message_figure

        reasons = [f"{model_label(row)}: {_not_fitted_reason(str(row.note))}" for row in rows]
        return message_figure("No selection model was fitted.\n\n" + "\n".join(reasons),
                              size=(WIDTH, 0.6 + 0.2 * (len(reasons) + 2)))
    columns = min(3, len(rows))  # 2.1 in each: within plots.width's default page (style.PAGE_WIDTH)
    n_rows = math.ceil(len(rows) / columns)
    grid = np.linspace(0.0, 1.0, 2001)
    observed = p_values(yi, vi, alternative) if yi is not None and len(yi) else np.empty(0)
    side = "Two-sided" if alternative == "two.sided" else "One-sided"
    with plt.rc_context({**STYLE, "axes.spines.left": True}):
        figure, axes = plt.subplots(n_rows, columns, figsize=(2.1 * columns + 0.4, 2.0 * n_rows + 0.5),
                                    squeeze=False)
        for axis, row in zip(axes.ravel(), rows):
            label, why = model_label(row), _not_adjusted(row)
            # "Negative exponential power (poorly identified)" ran beyond its 2.1 in panel: the reason beneath
            title = label + ("" if not why else f" ({why})" if len(label) + len(why) <= 30 else f"\n({why})")
            axis.set_title(title, fontsize=8.5, loc="left", color="0.45" if why else "black")
            axis.tick_params(labelsize=7.5)
            axis.set_xlim(0, 1)
            axis.set_xticks([0, 0.5, 1], ["0", ".5", "1"])
            if not fitted_weight_function(row.delta):
                reason = str(row.note).removeprefix("not computed: ")
                axis.text(0.5, 0.5, "not fitted:\n" + _wrap(reason, 28), transform=axis.transAxes, ha="center",
                          va="center", fontsize=7, style="italic", color="0.35")
                axis.set_axis_off()
                continue
            delta, steps = _values(row.delta), _values(row.steps)
            weights = weight_function(row.type, delta, grid, steps, alternative)
            colour = NOT_CONVERGED if why else ADJUSTED
            if row.type == "stepfun":
                axis.stairs(delta, np.concatenate([[0.0], steps]), color=colour, lw=1.3, baseline=None)
            else:
                axis.plot(grid, weights, color=colour, lw=1.3)
            shown = weights[(grid >= 0.01) & (grid <= 0.99)]
            top = max(1.0, float(np.nanmax(shown))) * 1.1
            peak_at = int(np.nanargmax(weights))
            peak = float(weights[peak_at])
            if peak > top:  # the beta weight can rise steeply towards p = 0 or 1: clip and say how far
                end = grid[peak_at]
                # "w \u2192 1.19" named the weight by a symbol the figure nowhere defines (and set it upright)
                axis.annotate(f"up to {peak:.3g}", (end, top), xytext=(abs(end - 0.08), 0.93 * top), fontsize=7,
                              va="top", ha="left" if end < 0.5 else "right",
                              arrowprops={"arrowstyle": "-|>", "lw": 0.6, "color": "0.3"})
            if observed.size:
                axis.plot(observed, np.full(observed.size, -0.035 * top), "|", color="0.25", ms=5, mew=0.6,
                          clip_on=False)
            axis.axhline(1.0, color="0.6", lw=0.5, ls=(0, (3, 3)))
            axis.set_ylim(0, top)
        for axis in axes.ravel()[len(rows):]:
            axis.axis("off")
        for axis in axes[:, 0]:
            axis.set_ylabel("Relative probability\nof selection", fontsize=8)
        for index in range(max(0, len(rows) - columns), len(rows)):  # the lowest panel of every column
            axes.ravel()[index].set_xlabel(f"{side} {symbol('p')} value", fontsize=8)  # italic p (APA 2020, 6.46)
        figure.tight_layout()
        figure.text(0.01, 0.0, f"Ticks below each axis: the studies' {symbol('p')} values. Only ratios of weights "
                    "matter (step function: relative to the first interval).", ha="left", va="top", fontsize=7)
    return figure


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _message(text: str):
    figure, axis = plt.subplots(figsize=(5.5, 1.2))
    axis.axis("off")
    axis.text(0.5, 0.5, text, ha="center", va="center", transform=axis.transAxes)
    return figure
