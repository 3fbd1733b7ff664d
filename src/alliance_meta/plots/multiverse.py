"""Specification-curve plot of a multiverse analysis.

Top: every fitted specification's estimate with its interval, sorted by the estimate (a Bayesian
specification's r or odds ratio is the centre bayes.csv gives, multiverse.csv's ``r``, ``or``);
below: which option of each choice the specification used (Simonsohn, Simmons & Nelson
2020, *Nat Hum Behav* 4, "Specification curve analysis"; Voracek, Kossmeier & Tran 2019,
*Z Psychol* 227(1), Fig. 2). Estimates on the scale readers know (r for Fisher z).
"""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from alliance_meta.bayes.priors import EMPIRICAL_SOURCES  # noqa: E402
from alliance_meta.plots.forest_layout import wrap_drawn  # noqa: E402
from alliance_meta.plots.style import (STYLE, column_name, display_scale, displayed_prefix, format_number,  # noqa: E402
                                     fit_width, metric_axis, plain_text, symbol)
from alliance_meta.wording import ESTIMATOR_NAMES, PRIOR_FAMILY_NAMES, apa_setting  # noqa: E402

IMPLIED = {("test", "posterior"), ("prior", "none")}  # the same rows as "Estimator: Bayes" and its negation
SIGNIFICANT, NOT_SIGNIFICANT, MAIN = "#1f4e79", "#b0b0b0", "#b2182b"
#: the legend of the marked specification: the main analysis, except under ``dependence: multilevel``, whose main
#: analysis (the three-level model) is not among the specifications
MAIN_LABELS = {"multilevel": "Aggregated model (the main analysis is three-level)"}
CHOICE_NAMES = {"aggregate_method": "Study composite", "aggregate_rho": "Assumed \u03c1", "publication": "Publication",
                "minimum_n": f"Minimum {symbol('n')}", "beta_rows": "Rows from \u03b2",
                "correction": "Artifact correction", "outliers": "Outliers",
                "method": "Estimator", "test": "Inference", "prior": f"Prior on {symbol('tau')}"}
#: lower case after the choice's name ("Outliers: large residual", as "Outliers: none" and "Modality: all"), names and
#: abbreviations as written, statistics in italics (mathtext, :func:`alliance_meta.plots.style.symbol`)
OPTION_NAMES = {"gls": "GLS", "mean": "mean (Borenstein)", "multilevel": "none, three-level model",
                "z": f"Wald {symbol('z')}", "knha": "Knapp\u2013Hartung",
                "posterior": "posterior", "bayes": "Bayes (exact)", "common": "common effect",
                "rstudent": "large residual", "influential": "influential", "published": "published only",
                "include": "included", "exclude": "left out", "individual": "individual (\u03c1)",
                "exclude_high": "high risk left out", "low_only": "low risk only"}
#: the options that the panel abbreviates, besides the estimators of tau^2 (wording.ESTIMATOR_NAMES), in words for
#: the figure's key (:func:`abbreviations_key`)
OPTION_ABBREVIATIONS = {"gls": "GLS\u00a0=\u00a0generalised least squares (inverse-variance composite)"}


def _option_name(choice: str, option) -> str:
    if choice == "minimum_n":
        return "none" if float(option) == 0 else f"\u2265 {int(float(option))}"
    if choice == "prior" and option == "none":
        return "none (frequentist)"
    if choice == "prior" and option in EMPIRICAL_SOURCES:  # a named prior by its source, as the prior-sensitivity
        return EMPIRICAL_SOURCES[option][0]  # figure names it (TauPrior.legend)
    if choice == "prior":  # half_normal(0.5), as the prior column holds it: half-normal(0.5), as the Methods
        family, _, rest = str(option).partition("(")
        return f"{PRIOR_FAMILY_NAMES.get(family, family)}({rest}" if rest else str(option)
    if choice == "aggregate_rho" and np.isfinite(pd.to_numeric(option, errors="coerce")):
        return apa_setting(float(option))  # a correlation, as the Methods write it: .50, not 0.5
    return OPTION_NAMES.get(str(option), plain_text(option))  # a level of the sheet as written ("$5 to $10")


def _decides(table: pd.DataFrame, column: str) -> bool:
    """Whether ``column`` of ``table`` decides which specification is the main analysis: a data choice with one
    option (minimum_n, or the composite or rho left out where they cannot change the data,
    analyses.multiverse._distinct_choices) holds for the main analysis whatever its config says."""
    return column in table and (column in ("method", "test", "prior") or table[column].nunique(dropna=False) > 1)


def main_specification(table: pd.DataFrame, main: dict) -> pd.Series:
    """True for the main analysis: ``main``'s choices, every subset ``all``, no filters, the Wald test unless
    ``main`` names another (the headline's, e.g. ``knha`` under ``pooling.tests: [knha]``)."""
    choices = list(table.columns[: list(table.columns).index("k")])
    wanted = {c: "all" for c in choices if c not in ("aggregate_method", "aggregate_rho", "minimum_n", "correction",
                                                    "outliers", "method", "test", "prior")}
    wanted.update({"minimum_n": 0, "correction": "none", "outliers": "none", "test": "z", "prior": "none", **main})
    mask = pd.Series(True, index=table.index)
    for column, value in wanted.items():
        if _decides(table, column):
            mask &= table[column].astype(str) == str(value) if not isinstance(value, (int, float)) \
                else pd.to_numeric(table[column]) == value
    return mask


#: the config key that lists the options of each choice of the main analysis
MAIN_CHOICE_KEYS = {"aggregate_method": "multiverse.aggregate_methods", "aggregate_rho": "multiverse.aggregate_rhos",
                    "method": "multiverse.methods", "test": "multiverse.tests"}


def missing_main_choices(table: pd.DataFrame, main: dict) -> list[str]:
    """The choices of ``main`` (the main analysis's composite, rho, estimator and test) that no specification of
    ``table`` has, each with the config key that would add it (e.g. ``"method PM (multiverse.methods)"``): then no
    specification is the main analysis. A choice that does not decide it (:func:`_decides`: one composite or rho
    where they cannot change the data, as :func:`main_specification` reads the table) is not missing."""
    missing = []
    for choice, key in MAIN_CHOICE_KEYS.items():
        if choice not in main or not _decides(table, choice):
            continue
        value = main[choice]
        options = table[choice]
        found = ((pd.to_numeric(options, errors="coerce") == value).any() if isinstance(value, (int, float))
                 else (options.astype(str) == str(value)).any())
        if not found:
            name = _option_name(choice, value).replace("$", "") if choice == "test" else value  # no mathtext in a log
            missing.append(f"{choice} {name} ({key})")
    return missing


def unmarked_warning(table: pd.DataFrame, main: dict, dependence: str = "aggregate",
                     three_level_method: str = "REML") -> str:
    """The log's warning when no specification of ``table`` has ``main``'s choices (:func:`missing_main_choices`),
    ``""`` otherwise. Under ``dependence: multilevel`` without three-level specifications ``main`` is the aggregated
    model, marked in place of the main analysis, the three-level model (``three_level_method``: multilevel.method),
    and the warning says so (it called the aggregated model the main analysis)."""
    missing = "; ".join(missing_main_choices(table, main))
    if not missing:
        return ""
    if dependence == "multilevel" and main.get("aggregate_method") != "multilevel":
        return (f"the main analysis is the three-level {three_level_method} model, which is no specification (add "
                f"multilevel to multiverse.aggregate_methods for one); the aggregated model marked in its place has "
                f"{missing}, which no specification has: not marked")
    return f"no specification is the main analysis, which has {missing}: not marked"


def specification_curve(table: pd.DataFrame, metric: str, level: float = 95.0, main: dict | None = None,
                        labels: dict | None = None, dependence: str = "aggregate"):
    """The figure: sorted estimates with intervals over a panel of the choices (one row per option); a subset
    choice named by its ``labels`` entry (the config's ``plots.column_labels``) where it has one.

    ``dependence``: the config's key. Under ``multilevel`` the review's main analysis is the three-level model,
    which is no specification of the multiverse unless its ``aggregate_methods`` include ``multilevel`` (then
    ``main`` names that one, marked as the main analysis): otherwise the specification with ``main``'s choices
    is marked as the aggregated model, not as the main analysis."""
    if (main or {}).get("aggregate_method") == "multilevel":  # the three-level main analysis is a specification
        dependence = "aggregate"
    label, transform, null = display_scale(metric)
    # multiverse.csv's columns on the scale shown: a Bayesian specification's centre there is bayes.csv's (the
    # posterior mean of r), not the transform of its estimate (tanh of mu's mean)
    prefix = displayed_prefix(metric)
    shown = [f"{prefix}{suffix}" for suffix in ("", "_ci_lower", "_ci_upper")] if prefix is not None else []
    if not shown or not all(column in table for column in shown):  # g of an SMD family, or a table without them
        shown = ["estimate", "ci_lower", "ci_upper"]  # the analysis metric, transformed below
    fitted = table.loc[table["estimate"].notna()].sort_values(shown[0], kind="stable").reset_index(drop=True)
    choices = [c for c in table.columns[: list(table.columns).index("k")] if fitted[c].nunique() > 1]
    options = [(c, o) for c in choices for o in pd.unique(table[c]) if (c, o) not in IMPLIED]
    rank = np.arange(1, len(fitted) + 1)
    estimate, lower, upper = (fitted[column].to_numpy(float) for column in shown)
    if shown[0] == "estimate":
        estimate, lower, upper = transform(estimate), transform(lower), transform(upper)
    significant = fitted["significant"].to_numpy(bool)
    is_main = main_specification(fitted, main or {}).to_numpy()
    # no mark, and the axis says so, when the main analysis's choices are not all options of the multiverse
    # (missing_main_choices) or its specification was not fitted
    marked = bool(is_main.any()) or not main
    with plt.rc_context({**STYLE, "axes.spines.left": True}):
        figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7.0, 2.8 + 0.16 * len(options)),
                                             gridspec_kw={"height_ratios": [2.8, 0.16 * len(options) + 0.2],
                                                          "hspace": 0.06})
        colours = np.where(significant, SIGNIFICANT, NOT_SIGNIFICANT)
        few = _fewness(len(rank))
        segments = np.stack([np.column_stack([rank, lower]), np.column_stack([rank, upper])], axis=1)
        top.add_collection(LineCollection(segments, colors=colours, linewidths=0.5 + 1.0 * few, alpha=0.18 + 0.62 * few,
                                          rasterized=True))
        top.scatter(rank, estimate, c="black", s=2 + 10 * few, lw=0, rasterized=True, zorder=2)
        top.scatter(rank[is_main], estimate[is_main], marker="D", s=22, facecolor=MAIN, edgecolor="white", lw=0.6,
                    zorder=3)
        top.axhline(null, color="black", lw=0.7)
        top.axhline(np.median(estimate), color="black", lw=0.7, ls=":")
        low, high = _robust_limits(estimate, lower, upper, null, metric)
        top.set_ylim(low, high)
        cut = "; intervals cut at the axis" if (lower < low).any() or (upper > high).any() else ""
        # the intervals in words (a figure stands alone), on lines of their own within the panel's height
        bayesian = "test" in fitted and bool(fitted["test"].eq("posterior").any())
        intervals = f"({level:g}% confidence{' or credible' if bayesian else ''} interval)"
        top.set_ylabel("\n".join([label, *textwrap.wrap(intervals, 20)]))
        metric_axis(top, metric, "y")
        handles = [Line2D([], [], marker="o", ls="", color="black", markersize=3, label="Estimate"),
                   Line2D([], [], lw=3, solid_capstyle="butt", color=SIGNIFICANT,
                          label=f"Interval excludes {null:g}"),
                   Line2D([], [], lw=3, solid_capstyle="butt", color=NOT_SIGNIFICANT,
                          label=f"Interval includes {null:g}"),
                   *([Line2D([], [], marker="D", ls="", color=MAIN,
                             label=MAIN_LABELS.get(dependence, "Main analysis"))] if marked else []),
                   Line2D([], [], ls=":", color="black", label=f"Median = {format_number(np.median(estimate), metric)}")]
        top.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.01), frameon=False, fontsize=8,
                   ncol=3,  # two rows within the axes' width (five in a row took the figure to 8 in)
                   handletextpad=0.5, columnspacing=1.2, borderaxespad=0)  # 0.3: the bars touched their text
        _choice_panel(bottom, fitted, options, rank, colours, labels, few)
        bottom.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # ranks: no tick at 1.5
        unmarked = ("" if marked else "; no specification is the "
                    + ("aggregated model" if dependence in MAIN_LABELS else "main analysis"))
        bottom.set_xlabel(f"Specification, ranked by estimate ({len(fitted):,} of {len(table):,} fitted{cut}"
                          f"{unmarked})")
        bottom.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
        bottom.set_xlim(0.5 - 0.005 * len(rank), len(rank) + 0.5 + 0.005 * len(rank))
    # the options' names reached half an inch beyond the left edge of figure.savefig(path), then widened it to 8 in
    fit_width(figure, what="specification curve")
    key = abbreviations_key(options)
    if key:  # beneath the x axis's label, from the options' left edge
        box = figure.get_tightbbox()  # inches, as fit_width last drew the figure (unchanged since: no draw again)
        lines = wrap_drawn(key, box.width, 7, plt.rcParams["font.family"])
        figure.text(box.x0 / figure.get_figwidth(), (box.y0 - 0.05) / figure.get_figheight(), "\n".join(lines),
                    ha="left", va="top", fontsize=7)
    return figure


def abbreviations_key(options) -> str:
    """The figure's key of the abbreviated options among ``options`` ((choice, option) pairs), in the order drawn:
    "DL = DerSimonian\u2013Laird; REML = restricted maximum likelihood; GLS = generalised least squares
    (inverse-variance composite)." (a figure spells out its abbreviations, APA 2020, 7.26; a no-break space keeps
    each abbreviation with its "="); "" without one."""
    named = [f"{option}\u00a0=\u00a0{ESTIMATOR_NAMES[option]}" if choice == "method" else OPTION_ABBREVIATIONS[option]
             for choice, option in options
             if (choice == "method" and option in ESTIMATOR_NAMES and option != "common")
             or (choice != "method" and option in OPTION_ABBREVIATIONS)]
    return "; ".join(dict.fromkeys(named)) + "." if named else ""


def _fewness(count: int) -> float:
    """1 for a multiverse of up to 50 specifications, 0 from 500: the marks are drawn faint and thin for
    thousands of overlapping specifications, and stronger where a few of them would otherwise hardly show."""
    return float(np.clip((500 - count) / 450, 0.0, 1.0))


def _robust_limits(estimate, lower, upper, null, metric):
    """Axis range showing every estimate and the null and 90% of the interval ends, so that a few
    very wide intervals (e.g. Knapp-Hartung with k = 2) do not flatten the curve."""
    scale = np.log if metric == "log_or" else (lambda values: values)
    inverse = np.exp if metric == "log_or" else (lambda values: values)
    low = min(np.quantile(scale(lower), 0.05), scale(estimate).min(), scale(null))
    high = max(np.quantile(scale(upper), 0.95), scale(estimate).max(), scale(null))
    pad = 0.05 * (high - low)
    return inverse(low - pad), inverse(high + pad)


def _choice_panel(axis, fitted, options, rank, colours, labels=None, few: float = 0.0) -> None:
    """One row per option; a tick where a specification uses it (larger for a few specifications,
    :func:`_fewness`); choices separated by rules."""
    y_positions, names, previous = [], [], None
    for row, (choice, option) in enumerate(options):
        y = len(options) - 1 - row
        used = (fitted[choice].astype(str) == str(option)).to_numpy()
        axis.scatter(rank[used], np.full(used.sum(), y), c=colours[used], marker="|", s=12 + 28 * few,
                     lw=0.6 + 0.6 * few, rasterized=True)
        if choice != previous and row > 0:
            axis.axhline(y + 0.5, color="0.75", lw=0.5)
        name = CHOICE_NAMES.get(choice) or column_name(choice, labels)
        names.append(f"{name}: {_option_name(choice, option)}")
        y_positions.append(y)
        previous = choice
    # two named priors of one source (Turner et al.'s for mental health and for dropout): their outcomes too
    shared = {name for name in names if names.count(name) > 1}
    names = [f"{name}, {EMPIRICAL_SOURCES[option][1]}" if name in shared and option in EMPIRICAL_SOURCES else name
             for name, (_, option) in zip(names, options)]
    axis.set_yticks(y_positions, names, fontsize=7)
    axis.set_ylim(-0.6, len(options) - 0.4)
    axis.tick_params(axis="y", length=0)
    for side in ("left", "right", "top"):
        axis.spines[side].set_visible(False)
