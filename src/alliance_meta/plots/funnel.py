"""Contour-enhanced funnel plot (Peters et al. 2008, J Clin Epidemiol 61, 991-996; metafor's
``funnel(level = c(90, 95, 99), refline = 0)``): effect sizes against their standard
errors, shaded where a study's two-sided p-value against 0 is .10-.05, .05-.01 and
< .01; trim-and-fill studies (Duval & Tweedie 2000) as open points; the pooled and
the trim-and-fill estimates as vertical lines. Analysis metric on the x axis, with
r (Fisher z) or the odds ratio (log OR) on a secondary axis.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from alliance_meta.engines import distributions as dist  # noqa: E402
from alliance_meta.plots.style import STYLE, bounded_axis, display_scale, metric_name, symbol  # noqa: E402
from alliance_meta.wording import without_leading_zero  # noqa: E402

#: the x axis of a metric that the other figures show on another scale (r, the odds ratio), which the secondary axis
#: shows as they label it (style.SCALES); a metric they show as it is (g, d) is labelled as they label it
ANALYSIS_LABELS = {"z": metric_name("z"), "log_or": "Log odds ratio"}
SECONDARY_AXES = {"z": (np.tanh, lambda r: np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))),
                  "log_or": (np.exp, lambda odds: np.log(np.maximum(odds, 1e-300)))}
CONTOURS = ((0.10, 0.05, "0.62"), (0.05, 0.01, "0.76"), (0.01, 0.0, "0.90"))


#: Candidate ticks of the secondary axis (display scale), roundest first, when matplotlib's evenly spaced ones would
#: crowd together (r near 0 on a wide Fisher-z axis, odds ratios above 1 on a wide log-OR axis).
SPREAD_TICKS = {"z": (0.0, 0.5, -0.5, 0.9, -0.9, 0.99, -0.99, 0.8, -0.8, 0.2, -0.2, 0.4, -0.4, 0.6, -0.6, 0.95,
                      -0.95),
                "log_or": (1.0, 10.0, 0.1, 100.0, 0.01, 1000.0, 0.001, 2.0, 0.5, 5.0, 0.2, 20.0, 0.05, 50.0, 0.02)}
MIN_TICK_GAP = 0.13  # of the axis width: labels such as "-0.5" and "0.0" closer than this ran into each other


def _labels_crowd(axis, renderer) -> bool:
    """Whether two neighbouring tick labels of ``axis`` (a secondary x axis, drawn) stand less than half their
    height apart: "-0.25 0.00 0.25" on the demo's Fisher-z axis passed the spacing rule and ran together."""
    boxes = sorted((label.get_window_extent(renderer) for label in axis.get_xticklabels()
                    if label.get_visible() and label.get_text()), key=lambda box: box.x0)
    return any(right.x0 - left.x1 < 0.5 * left.height for left, right in zip(boxes, boxes[1:]))


def _spread_ticks(metric: str, default, extent: float, crowded: bool = False):
    """Ticks of the secondary axis (display scale) at least :data:`MIN_TICK_GAP` of the axis apart, taken from
    :data:`SPREAD_TICKS` roundest first, when the ``default`` ticks (evenly spaced on the display scale) are closer
    than that on the analysis axis (-extent, extent); None when the default ones stand apart."""
    forward, inverse = SECONDARY_AXES[metric]
    where = inverse(np.asarray(default, float))
    where = np.sort(where[np.abs(where) <= extent])
    gap = MIN_TICK_GAP * 2 * extent
    if len(where) < 2 or (np.min(np.diff(where)) >= gap and not crowded):
        return None
    kept: list[float] = []
    for position in inverse(np.asarray(SPREAD_TICKS[metric])):
        if abs(position) <= extent and all(abs(position - other) >= gap for other in kept):
            kept.append(float(position))
    return np.sort(forward(np.array(kept)))


def funnel_plot(yi, vi, metric: str, estimate: float | None = None, filled_yi=(), filled_vi=(),
                adjusted_estimate: float | None = None, title: str | None = None, method: str | None = None,
                composites: bool = False):
    """Figure of the contour-enhanced funnel plot; ``filled_*`` are trim-and-fill studies; ``method`` the estimator
    of ``estimate`` (``common``: the common-effect estimate, else a random-effects one). ``composites``: the points
    are study composites of a three-level fit (dependence: multilevel), as the univariate bias tests see them, and
    ``estimate`` theirs: the legend and a line beneath say so (the three-level estimate is the Results')."""
    yi, se = np.asarray(yi, float), np.sqrt(np.asarray(vi, float))
    filled_yi, filled_se = np.asarray(filled_yi, float), np.sqrt(np.asarray(filled_vi, float))
    se_max = 1.08 * max(se.max(initial=0.1), filled_se.max(initial=0.0))
    grid = np.linspace(0, se_max, 200)
    with plt.rc_context({**STYLE, "axes.spines.left": True}):
        figure, axis = plt.subplots(figsize=(5.5, 4.4))
        z_outer = dist.norm.isf(0.0005)
        extent = max(np.abs(np.concatenate([yi, filled_yi])).max(initial=0.1), z_outer * se_max * 0.6) * 1.05
        if estimate is not None:  # the pseudo-confidence funnel whole: with few studies it left the panel at once
            extent = max(extent, (abs(estimate) + 1.96 * se_max) * 1.05)
        axis.fill_betweenx(grid, -extent * 2, extent * 2, color="white", zorder=0)
        for upper_p, lower_p, colour in CONTOURS:
            inner = dist.norm.isf(upper_p / 2) * grid
            outer = dist.norm.isf(lower_p / 2) * grid if lower_p > 0 else np.full_like(grid, extent * 2)
            for sign in (-1, 1):
                axis.fill_betweenx(grid, sign * inner, sign * outer, color=colour, lw=0, zorder=1)
        if estimate is not None:
            axis.axvline(estimate, color="black", lw=1.0, zorder=2,
                         label="Common-effect estimate" if method == "common" else "Random-effects estimate")
            axis.plot(estimate + 1.96 * np.array([-1, 0, 1]) * se_max * np.array([1, 0, 1]),
                      [se_max, 0, se_max], color="0.2", lw=0.7, ls=":", zorder=2,
                      label="95% pseudo-confidence region")  # the dotted lines were in the figure unexplained
        if adjusted_estimate is not None and filled_yi.size:
            axis.axvline(adjusted_estimate, color="#b2182b", lw=1.0, ls="--", zorder=2,
                         label="Trim-and-fill estimate")
        points = "Study composites" if composites else "Studies"
        axis.scatter(yi, se, s=14, color="black", edgecolor="white", lw=0.3, zorder=4,
                     label=f"{points} ({symbol('k')} = {yi.size})")
        if filled_yi.size:
            axis.scatter(filled_yi, filled_se, s=16, facecolor="white", edgecolor="black", lw=0.8, zorder=4,
                         label=f"Imputed studies ({symbol('k')} = {filled_yi.size})")  # as the studies' count
        axis.set_xlim(-extent, extent)
        axis.set_ylim(se_max, 0)
        axis.set_xlabel(ANALYSIS_LABELS.get(metric) or display_scale(metric)[0])
        axis.set_ylabel("Standard error")
        if metric in SECONDARY_AXES:
            top = axis.secondary_xaxis("top", functions=SECONDARY_AXES[metric])
            top.set_xlabel(display_scale(metric)[0])
            if metric == "z":  # r: APA's ".5", not "0.5"
                bounded_axis(top)
        handles, labels = axis.get_legend_handles_labels()
        handles += [Patch(facecolor=c, edgecolor="0.5", lw=0.4) for *_, c in CONTOURS]
        p = symbol("p")  # italic, as every figure's statistics (APA 2020, 6.46)
        labels += [f".10 > {p} > .05", f".05 > {p} > .01", f"{p} < .01"]
        axis.legend(handles, labels, loc="lower left", bbox_to_anchor=(1.02, 0.0), frameon=False, fontsize=8)
        if title:
            axis.set_title(title, loc="left", fontsize=10)
        if composites:  # the line is not the three-level estimate the Results give (nor its funnel)
            figure.text(0.01, 0.0, "Points and lines: the study composites (a study's effect sizes combined) and "
                        "their estimates,\nas the univariate bias tests see them; the three-level estimate of the "
                        "Results is not drawn.",
                        ha="left", va="top", fontsize=7, linespacing=1.6)
        figure.tight_layout()
        if metric in SECONDARY_AXES:  # the ticks matplotlib draws in this style (not the caller's rcParams), spread
            figure.draw_without_rendering()  # if they crowd: the secondary axis takes its limits and ticks as drawn
            spread = _spread_ticks(metric, top.get_xticks(), extent,
                                   crowded=_labels_crowd(top, figure.canvas.get_renderer()))
            if spread is not None:
                texts = [f"{value:g}".replace("-", "\u2212") for value in spread]
                top.set_xticks(spread, [without_leading_zero(text) for text in texts] if metric == "z" else texts)
    return figure
