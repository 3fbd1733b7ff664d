"""Bubble plot of a continuous moderator: effect sizes against the moderator, areas
proportional to the model's weights (metafor's ``weights``: 1/(v_i + tau^2), GENQ's own), with the meta-regression
line and its confidence band (metafor's ``regplot``; Thompson & Higgins 2002,
Stat Med 21, 1559-1573), on the readers' scale (r for Fisher z)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from alliance_meta.analyses.moderators.univariate import not_estimable_reason  # noqa: E402
from alliance_meta.engines.transforms import ByMetric  # noqa: E402
from alliance_meta.models.metareg import r2_not_meaningful  # noqa: E402
from alliance_meta.models.univariate import model_weights  # noqa: E402
from alliance_meta.plots.style import (STYLE, column_name, display_scale, format_p, message_figure,  # noqa: E402
                                       metric_axis, metric_name, symbol, three_level_test)
from alliance_meta.wording import apa_number, interval_decimals  # noqa: E402

#: the unit of a meta-regression slope, by metric code (Cohen's d for an smd family all from odds ratios)
SLOPE_UNITS = ByMetric({"z": metric_name("z"), "smd": "$g$", "log_or": "log OR"}, "$d$")  # "Fisher's $z$"


def bubble_plot(analysis, metric: str, level: float = 95.0, labels: dict | None = None, summary=None):
    """Figure of a :class:`alliance_meta.analyses.moderators.ModeratorAnalysis` of a continuous moderator;
    the moderator named by its ``labels`` entry (the config's ``plots.column_labels``) where it has one.
    ``summary``: the moderator's row of ``moderators.csv``; under dependence: multilevel its three-level test (the
    one the Results give) is written beneath, and the points and line are said to be study composites."""
    label, transform, null = display_scale(metric)
    model, data, name = analysis.model, analysis.data, analysis.moderator
    if model is None:
        # three rows or more and no model: the moderator has one value in every row
        why = (f"{len(data)} rows with a value (at least 3 needed)" if len(data) < 3
               else not_estimable_reason(data, (name,), analysis.k_dropped))
        return message_figure(f"No meta-regression on {column_name(name, labels)}: {why}.")
    x = data[name].to_numpy(float)
    three_level = three_level_test(summary)
    centre = model.design.centres.get(name, 0.0) if model.design else 0.0
    with plt.rc_context({**STYLE, "axes.spines.left": True}):
        figure, axis = plt.subplots(figsize=(5.5, 4.0))
        weights = model_weights(data["vi"].to_numpy(float), model.tau2, model.method, model.weights)
        sizes = 15 + 120 * weights / weights.max()
        axis.scatter(x, transform(data["yi"]), s=sizes, facecolor="#9ecae1", edgecolor="#1f4e79", lw=0.6,
                     alpha=0.7, zorder=2,
                     label=f"{'Study composites' if three_level else 'Studies'} (area \u221d weight)")
        grid = np.linspace(x.min(), x.max(), 200)
        mean, _, lower, upper = model.predict(np.column_stack([np.ones_like(grid), grid - centre]))
        axis.fill_between(grid, transform(lower), transform(upper), color="0.85", lw=0, zorder=1,
                          label=f"{level:g}% CI")
        axis.plot(grid, transform(mean), color="#08306b", lw=1.5, zorder=3, label="Meta-regression")
        axis.axhline(null, color="0.4", lw=0.6, ls=(0, (3, 3)))
        metric_axis(axis, metric, "y")
        axis.set_xlabel(column_name(name, labels))
        if np.array_equal(x, np.round(x)):  # whole numbers (years): matplotlib's ticks, none between two (2000.5)
            axis.xaxis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True))
        axis.set_ylabel(label)
        slope = model.coefficients("z").iloc[1]
        decimals = interval_decimals(slope.ci_lower, slope.ci_upper, 4)
        numbers = [apa_number(value, decimals) for value in (slope.estimate, slope.ci_lower, slope.ci_upper)]
        unit = SLOPE_UNITS[metric]
        # as the reports: where tau^2 without the moderator is 0, metafor's R^2 is 0 by rule and measures nothing
        r2 = (f"$R^2$ not given ({symbol('tau2')} = 0 without the moderator)" if r2_not_meaningful(model.tau2_null)
              else f"$R^2$ = {model.r2:.1f}%")  # one decimal, as the Results and moderator table
        # two lines: one would run past the axes (and the figure) once the numbers are wide
        per = "per year" if name == "year" else f"per unit of {column_name(name, labels)}"
        axis.set_title(f"Slope {numbers[0]} {unit} {per}, {level:g}% CI [{numbers[1]}, {numbers[2]}]\n"
                       f"{format_p(slope.p)}; {symbol('k')} = {model.k}{' composites' if three_level else ''}; {r2}",
                       fontsize=8, loc="left")
        # below the axis, so that no study hides under it
        axis.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8)
        if three_level:  # the slope, line and k above are the composites' (k = 18 beside the Results' p = .014)
            figure.text(0.01, 0.0, "Points, line and slope: meta-regression of the study composites (a study's "
                        f"effect sizes\nat each value combined). Three-level model: {three_level}.", ha="left",
                        va="top", fontsize=7, linespacing=1.6)
        figure.tight_layout()
    return figure

