"""Subgroup forest plot: one diamond per moderator level, and the overall diamond.

Estimates are drawn on the scale readers know: r for Fisher z (back-transformed
with tanh), Hedges' g for ``smd``, odds ratios (log axis) for ``log_or``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from alliance_meta.plots.provenance import add_note  # noqa: E402

SCALES = {"z": ("Correlation $r$", np.tanh, 0.0), "smd": ("Hedges' $g$", lambda x: np.asarray(x, float), 0.0),
          "log_or": ("Odds ratio", np.exp, 1.0)}
SYMBOLS = {"z": "$r$", "smd": "$g$", "log_or": "OR"}
STYLE = {"font.size": 9, "axes.spines.top": False, "axes.spines.right": False, "axes.spines.left": False,
         "svg.fonttype": "none", "pdf.fonttype": 42}


def display_scale(metric: str):
    """``(axis label, transform from the analysis metric, null value)`` of a metric."""
    return SCALES[metric]


def format_p(p: float) -> str:
    """APA-style p: three decimals, ``< .001`` below."""
    if not np.isfinite(p):
        return "$p$ = n/a"
    return "$p$ < .001" if p < 0.001 else f"$p$ = {p:.3f}".replace("0.", ".", 1)


def save_figure(figure, paths, note: str | None = None) -> None:
    """Write one figure to every path (format from the suffix; PNG at 300 dpi), ``note`` beneath it."""
    add_note(figure, note)
    for path in paths:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=300, bbox_inches="tight")
    plt.close(figure)


def format_number(value: float, metric: str) -> str:
    """Two decimals with a typographic minus; no leading zero for correlations (APA)."""
    text = f"{value:.2f}"
    if metric == "z":
        text = text.replace("0.", ".", 1)
    return text.replace("-", "\u2212")


def _diamond(axis, centre, lower, upper, y, colour, height=0.32):
    axis.fill([lower, centre, upper, centre], [y, y + height, y, y - height], color=colour, lw=0)


def subgroup_forest(subgroups: pd.DataFrame, summary: dict, overall: dict, metric: str, level: float = 95.0):
    """Figure of the levels of one moderator (rows of ``subgroups.csv``), with ``overall``
    (``estimate``, ``ci_lower``, ``ci_upper``, ``k``) and the tests of ``summary``
    (a row of ``moderators.csv``)."""
    label, transform, null = display_scale(metric)
    levels = subgroups.reset_index(drop=True)
    n = len(levels)
    if n == 0:
        return _message(f"No effect sizes with a value of {summary['moderator']}.")
    with plt.rc_context(STYLE):
        figure, axis = plt.subplots(figsize=(6.5, 1.35 + 0.34 * (n + 2)))
        rows = [(f"{row.level} (k = {row.k})", row.estimate, row.ci_lower, row.ci_upper, n - i + 1.2, "#1f4e79")
                for i, row in enumerate(levels.itertuples(), start=1)]
        rows.append((f"Overall (k = {overall['k']} studies)", overall["estimate"], overall["ci_lower"],
                     overall["ci_upper"], 0, "#000000"))
        for text, estimate, lower, upper, y, colour in rows:
            centre, low, high = transform([estimate, lower, upper])
            axis.text(-0.02, y, text, transform=axis.get_yaxis_transform(), ha="right", va="center")
            if not np.all(np.isfinite([centre, low, high])):  # a level whose fit did not converge
                axis.text(1.02, y, "not estimated", transform=axis.get_yaxis_transform(), ha="left", va="center",
                          style="italic")
                continue
            _diamond(axis, centre, low, high, y, colour)
            numbers = [format_number(value, metric) for value in (centre, low, high)]
            axis.text(1.02, y, f"{numbers[0]} [{numbers[1]}, {numbers[2]}]",
                      transform=axis.get_yaxis_transform(), ha="left", va="center")
        axis.axhline(0.6, color="0.6", lw=0.6)
        axis.axvline(null, color="0.3", lw=0.8)
        axis.axvline(transform(overall["estimate"]), color="0.3", lw=0.6, ls=(0, (3, 3)))
        if metric == "log_or":
            axis.set_xscale("log")
        axis.set_yticks([])
        axis.set_ylim(-0.6, n + 1.2)
        axis.set_xlabel(label)
        axis.text(1.02, n + 0.9, f"{SYMBOLS[metric]} [{level:g}% CI]", transform=axis.get_yaxis_transform(),
                  ha="left", va="center", fontweight="bold")
        axis.text(-0.02, n + 0.9, str(summary["moderator"]).replace("_", " ").capitalize(),
                  transform=axis.get_yaxis_transform(), ha="right", va="center", fontweight="bold")
        lines = (rf"Diamonds: random-effects (REML) estimate and {level:g}% CI per level; dashed line: overall.",
                 rf"Differences between levels, common $\tau^2$: $Q_\mathrm{{M}}$({summary['qm_df']:.0f}) = "
                 rf"{summary['qm']:.2f}, {format_p(summary['qm_p'])}; $F$({summary['f_df1']:.0f}, "
                 rf"{summary['f_df2']:.0f}) = {summary['f']:.2f}, {format_p(summary['f_p'])}; separate "
                 rf"$\tau^2$: $Q_\mathrm{{between}}$({summary['q_between_separate_df']:.0f}) = "
                 rf"{summary['q_between_separate']:.2f}, {format_p(summary['q_between_separate_p'])}.")
        figure.text(0.01, 0.0, "\n".join(lines), ha="left", va="top", fontsize=7, linespacing=1.6)
        figure.tight_layout()
    return figure


def _message(text: str):
    """A small figure that says why there is no plot (keeps the workflow's outputs complete)."""
    figure, axis = plt.subplots(figsize=(5.5, 1.2))
    axis.axis("off")
    axis.text(0.5, 0.5, text, ha="center", va="center", transform=axis.transAxes)
    return figure
