"""Subgroup forest plot: one diamond per moderator level, and the overall diamond.

Estimates are drawn on the scale readers know: r for Fisher z (back-transformed
with tanh), Hedges' g for ``smd``, odds ratios (log axis) for ``log_or``.
"""

from __future__ import annotations


import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from alliance_meta.engines.transforms import ByMetric  # noqa: E402
from alliance_meta.plots.forest_layout import text_width  # noqa: E402
from alliance_meta.plots.style import (COLOURS, HEADER_SYMBOLS, SCALES, STYLE, column_name, counts_effect_sizes, display_scale,  # noqa: E402,F401
                                       format_number, format_p, math_fonts, message_figure, metric_axis,
                                       no_test_between_levels, plain_text, pooled_count, symbol,
                                       three_level_test)
from alliance_meta.wording import ESTIMATOR_NAMES, plural  # noqa: E402

MIN_PANEL = 3.0  # inches of the panel at the least


SYMBOLS = HEADER_SYMBOLS  # the estimate's header symbol (style.HEADER_SYMBOLS)


def _diamond(axis, centre, lower, upper, y, colour, height=0.32):
    axis.fill([lower, centre, upper, centre], [y, y + height, y, y - height], color=colour, lw=0)


def without_level_note(effect_sizes: pd.DataFrame, moderator: str, labels: dict | None = None) -> str:
    """The sentence under a moderator's figures for the effect sizes without a value of it: in the overall estimate,
    in no level, so that the levels' k need not add up to the overall k unexplained ("" when every row has one)."""
    if moderator not in effect_sizes.columns:
        return ""
    missing = effect_sizes[moderator].isna()
    if not missing.any():
        return ""
    rows = int(missing.sum())
    studies = int(effect_sizes.loc[missing, "study_id"].nunique()) if "study_id" in effect_sizes else rows
    return (f"Not in any level: {rows} effect {plural(rows, 'size')} ({studies} {plural(studies, 'study', 'studies')}) "
            f"without a value of {column_name(moderator, labels)}, in the overall estimate.")


def subgroup_forest(subgroups: pd.DataFrame, summary: dict, overall: dict, metric: str, level: float = 95.0,
                    labels: dict | None = None, without_level: str = "", subgroup_colour: str = COLOURS["subgroup"],
                    summary_colour: str = COLOURS["summary"]):
    """Figure of the levels of one moderator (rows of ``subgroups.csv``), with ``overall``
    (``estimate``, ``ci_lower``, ``ci_upper``, ``k``) and the tests of ``summary``
    (a row of ``moderators.csv``); the moderator named by its ``labels`` entry (``plots.column_labels``).
    The note names the test of each CI (:func:`alliance_meta.plots.forest.interval_test` of ``overall``) and ends
    with ``without_level`` (:func:`without_level_note`). The diamonds take the forest plots' colours
    (``plots.subgroup_colour``, ``plots.summary_colour``), so a level's diamond looks the same in both figures."""
    from alliance_meta.models.univariate import ADHOC_NOTE, CI_TEST_NAMES
    from alliance_meta.plots.forest import interval_test, test_name

    label, transform, null = display_scale(metric)
    levels = subgroups.reset_index(drop=True)
    n = len(levels)
    if n == 0:
        return message_figure(f"No effect sizes with a value of {column_name(summary['moderator'], labels)}.")
    # mathtext (k, the tests' statistics) in the text's font, as text_width measures it
    with plt.rc_context({**STYLE, **math_fonts(plt.rcParams["font.family"])}):
        k = symbol("k")
        rows = [(f"{plain_text(row.level)} ({k} = {row.k})", row.estimate, row.ci_lower, row.ci_upper, n - i + 1.2,
                 subgroup_colour) for i, row in enumerate(levels.itertuples(), start=1)]
        rows.append((f"Overall ({k} = {pooled_count(overall)})", overall["estimate"], overall["ci_lower"],
                     overall["ci_upper"], 0, summary_colour))
        # wider than 6.5 inches where the level names need it: a long name squeezed the panel to a sliver
        names = text_width([row[0] for row in rows], plt.rcParams["font.size"], plt.rcParams["font.family"])
        figure, axis = plt.subplots(figsize=(max(6.5, names + 1.2 + MIN_PANEL + 0.5), 1.35 + 0.34 * (n + 2)))
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
        metric_axis(axis, metric)
        axis.set_yticks([])
        axis.set_ylim(-0.6, n + 1.2)
        axis.set_xlabel(label)
        axis.text(1.02, n + 0.9, f"{SYMBOLS[metric]} [{level:g}% CI]", transform=axis.get_yaxis_transform(),
                  ha="left", va="center", fontweight="bold")
        axis.text(-0.02, n + 0.9, column_name(summary["moderator"], labels, bold=True),
                  transform=axis.get_yaxis_transform(), ha="right", va="center", fontweight="bold")
        # k of a level counts studies (composites of a study's effect sizes within the level); that of a
        # three-level overall counts effect sizes: said, so that the two k are not read as the same count
        three_level = three_level_test(summary)
        # the F test's variant under pooling.knha_adhoc, which moderators.csv's note says (metafor's test = "adhoc"),
        # on a line of its own (the line of the tests is long already)
        adhoc = ADHOC_NOTE in str(summary.get("note", "")).split("; ") and not no_test_between_levels(summary)
        per_level = ((f"{k} of a level: studies (a study's effect sizes within the level combined); "
                      f"{k} overall: effect sizes of the three-level model.",) if counts_effect_sizes(overall) else ())
        # the tests of the CIs, named as the forest plot's footnote names them: subgroups.csv's are Wald; the
        # overall diamond is a row of pooled.csv (Knapp-Hartung where pooling.tests has no z)
        lines = (f"Diamonds: random-effects estimate ({ESTIMATOR_NAMES['REML']}) and {level:g}% CI per level; "
                 "dashed line: overall.",
                 (f"{level:g}% CIs: {test_name('z')}." if interval_test(overall) == test_name("z") else
                  f"{level:g}% CIs per level: {test_name('z')}; overall: {interval_test(overall)}."),
                 no_test_between_levels(summary) or
                 f"Differences between levels{', study composites' if three_level else ''}, common {symbol('tau2')}: "
                 f"{symbol('QM')}({summary['qm_df']:.0f}) = "
                 f"{summary['qm']:.2f}, {format_p(summary['qm_p'])}; {symbol('F')}({summary['f_df1']:.0f}, "
                 f"{summary['f_df2']:.0f}) = {summary['f']:.2f}, {format_p(summary['f_p'])}; separate "
                 f"{symbol('tau2')}: {symbol('Q_between')}({summary['q_between_separate_df']:.0f}) = "
                 f"{summary['q_between_separate']:.2f}, {format_p(summary['q_between_separate_p'])}.") + per_level
        lines += (f"{symbol('F')}: {CI_TEST_NAMES['adhoc']}.",) if adhoc else ()
        if three_level:  # dependence: multilevel: the test the report gives
            lines += (f"Differences between levels, three-level model: {three_level}.",)
        lines += (without_level,) if without_level else ()
        figure.text(0.01, 0.0, "\n".join(lines), ha="left", va="top", fontsize=7, linespacing=1.6)
        figure.tight_layout()
    return figure
