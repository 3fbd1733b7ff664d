"""Sensitivity figures: Baujat plot (Baujat et al. 2002, Stat Med 21, 2641-2652), influence
panels as metafor's ``plot.infl.rma.uni`` (Viechtbauer & Cheung 2010), and the
cumulative forest plot (Lau et al. 1992)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from alliance_meta.analyses.sensitivity.univariate import added_rows  # noqa: E402
from alliance_meta.plots.forest_options import wrap  # noqa: E402
from alliance_meta.plots.style import (STYLE, bounded_axis, display_scale, message_figure, metric_axis,  # noqa: E402
                                      plain_text, symbol)

FLAGGED = "#b2182b"
LABEL_CHARS = 45  # characters per line of a study label beside a plot's rows


def baujat_plot(result, labels, n_labels: int = 3):
    """Contribution to heterogeneity (squared Pearson residual) against influence on the estimate; the
    ``n_labels`` most extreme studies numbered beside their points and named in a key below the axis
    (names beside the points ran into each other and over the points when two studies lay close)."""
    import textwrap

    labels = np.asarray([plain_text(label) for label in labels], dtype=str)
    x, y = np.asarray(result.baujat_x, float), np.asarray(result.baujat_y, float)
    # nan-aware: one study without a leave-one-out value (NaN) made every score NaN, and the first three studies
    # in the sheet were numbered as the most extreme while the outlying points went unnumbered
    drawn = np.isfinite(x) & np.isfinite(y)
    score = np.where(drawn, x / max(np.nanmax(x, initial=0.0), 1e-300) + y / max(np.nanmax(y, initial=0.0), 1e-300),
                     -np.inf)
    marked = np.argsort(-score)[: min(n_labels, int(drawn.sum()))]
    key = "; ".join(f"{number} {labels[index]}" for number, index in enumerate(marked, start=1))
    key_text = f"Numbered: {key}." if marked.size else ""
    if not drawn.all():
        key_text += f" Not drawn (no leave-one-out value): {'; '.join(labels[~drawn])}."
    key_lines = textwrap.wrap(key_text.strip(), 95)
    with plt.rc_context({**STYLE, "axes.spines.left": True}):
        height = 4.0 + 0.13 * len(key_lines)
        figure, axis = plt.subplots(figsize=(5.0, height))
        axis.scatter(x, y, s=14, color="black", zorder=3)
        axis.set_xlabel("Squared Pearson residual (contribution to heterogeneity)")
        axis.set_ylabel("Influence on the pooled estimate")
        figure.tight_layout(rect=(0, (0.1 + 0.13 * len(key_lines)) / height, 1, 1))
        _number_points(axis, x[marked], y[marked])
        if key_lines:
            figure.text(0.02, 0.06 / height, "\n".join(key_lines), fontsize=7, ha="left", va="bottom",
                        linespacing=1.3)
    return figure


def _number_points(axis, x, y) -> None:
    """Number the points (x, y) 1, 2, ... at the first of four corners beside each point where the number
    does not cover a number already placed."""
    to_pixels = axis.transData.transform
    placed: list[np.ndarray] = []
    size = 7 * axis.figure.dpi / 72  # the numbers' height in pixels
    for number, point in enumerate(zip(x, y), start=1):
        centre = to_pixels(point)
        for dx, dy in ((5, 4), (5, -11), (-11, 4), (-11, -11)):
            corner = centre + np.array([dx, dy]) * axis.figure.dpi / 72
            if all(np.abs(corner - other).max() > 1.2 * size for other in placed):
                break
        placed.append(corner)
        axis.annotate(str(number), point, xytext=(dx, dy), textcoords="offset points", fontsize=7,
                      ha="left", va="bottom", fontweight="bold")


#: panel titles of the influence diagnostics (metafor's plot.infl.rma.uni names them by its variables: rstudent,
#: cook.d, cov.r, tau2.del, QE.del, ...)
PANEL_TITLES = {"rstudent": "Externally standardised residual", "dffits": "DFFITS", "cook.d": "Cook's distance",
                "cov.r": "Covariance ratio", "tau2.del": f"{symbol('tau2')} without the study",
                "QE.del": f"{symbol('Q')} without the study", "hat": "Hat value", "weight": "Weight (%)",
                "dfbetas": "DFBETAS",
                "sigma2.between.del": f"{symbol('sigma2')} between studies without the study",
                "sigma2.within.del": f"{symbol('sigma2')} within studies without the study"}
#: panels whose values cannot exceed 1: ticks without the leading zero (APA), as every bounded axis
BOUNDED_PANELS = {"hat"}
STUDY_LABEL_CHARS = 28  # longest study label written along the x axis (rotated); longer: numbers and a key
TICK_FONT = 6.5  # points


def influence_plot(result, k_parameters: int = 1, labels=None):
    """Eight panels by study: externally standardised residual, DFFITS, Cook's distance, covariance ratio,
    tau^2 and Q without the study, hat value and weight; influential studies (metafor's rules) in red.
    ``labels``: the studies' names, written along the x axis where they fit, else keyed to numbers below."""
    k = result.hat.size
    index = np.arange(1, k + 1)
    colours = np.where(result.influential, FLAGGED, "black")
    panels = [
        ("rstudent", result.rstudent, [-1.96, 1.96]),
        ("dffits", result.dffits, [3 * math.sqrt(k_parameters / (k - k_parameters))]),
        ("cook.d", result.cook_distance, []),
        ("cov.r", result.covariance_ratio, [1.0]),
        ("tau2.del", result.tau2_deleted, [result.tau2]),
        ("QE.del", result.q_deleted, [result.q]),
        ("hat", result.hat, [3 * k_parameters / k]),
        ("weight", result.weight, [100 / k]),
    ]
    # mathtext without spaces (the key is wrapped at spaces; the no-break space holds "p = 1" together)
    lines = ("Dashed lines: \u00b11.96 (residual); $3\\sqrt{p/(k-p)}$ (DFFITS) and $3p/k$ (hat), metafor's cut-offs, "
             f"{symbol('p')}\u00a0=\u00a0{k_parameters}; 1 (covariance ratio); {symbol('tau2')} and {symbol('Q')} with "
             "every study; $100/k$, equal weights (weight). DFFITS: standardised change in the study's fitted value "
             "when it is left out.")
    return _panel_figure(panels, index, colours, (4, 2), (7.0, 8.0), "Study", labels, lines=lines)


def cumulative_order_note(years) -> str:
    """How the studies of a cumulative analysis by year are ordered when years are missing ("" when
    every study has one): the analysis adds them in sheet order, studies without a year last."""
    missing = pd.isna(pd.Series(np.asarray(years if years is not None else [np.nan], dtype=object), dtype=float))
    if not missing.any():
        return ""
    return ("in sheet order (no year in the sheet)" if missing.all()
            else f"by year; {int(missing.sum())} without a year last, in sheet order")


def cumulative_ci_label(table: pd.DataFrame, test: str | None, level: float = 95.0) -> str:
    """The CIs of a cumulative plot, named after their test as the forest plot's footnote names the diamond's
    (:func:`alliance_meta.plots.forest.test_name`): the refits have the main model's ``test``, but a univariate
    Knapp-Hartung step of one study a Wald CI (metafor's rma: no residual df); ``test=None``: "95% CI"."""
    from alliance_meta.models.univariate import refit_test
    from alliance_meta.plots.forest import test_name

    if test is None:
        return f"{level:g}% CI"
    steps = pd.to_numeric(table["k"], errors="coerce") if "k" in table else pd.Series(dtype=float)
    single = refit_test(test, 1) != test and bool((steps == 1).any())
    if single and bool((steps == 1).all()):  # a family of one study: its only step is a Wald CI
        return f"{level:g}% CI: {test_name(refit_test(test, 1))}"
    return f"{level:g}% CI: {test_name(test)}" + (f"; one study: {test_name(refit_test(test, 1))}" if single else "")


def cumulative_forest(table: pd.DataFrame, labels, metric: str, level: float = 95.0, order_note: str = "",
                      test: str | None = None):
    """Cumulative forest plot: the estimate and CI after adding each study (rows of
    :func:`alliance_meta.analyses.sensitivity.univariate.cumulative`), on the readers' scale;
    ``order_note`` (:func:`cumulative_order_note`) is added to the axis label, and the test of the CIs
    (the fit's ``test``: :func:`cumulative_ci_label`) where it is given."""
    label, transform, null = display_scale(metric)
    # long labels wrap (rows as tall as the longest needs): unwrapped, a 90-character label left the panel an inch
    labels = ["\n".join(wrap(f"+ {plain_text(text)}", LABEL_CHARS))
              for text in np.asarray(labels, dtype=str)[added_rows(table)]]
    k = len(table)
    y = np.arange(k)[::-1]
    row = max(0.22, 0.16 * max((label.count("\n") + 1 for label in labels), default=1) + 0.06)
    with plt.rc_context(STYLE):
        figure, axis = plt.subplots(figsize=(6.0, 1.2 + row * k))
        axis.hlines(y, transform(table["ci_lower"]), transform(table["ci_upper"]), color="black", lw=0.9)
        axis.scatter(transform(table["estimate"]), y, marker="s", s=14, color="black", zorder=3)
        _not_fitted_rows(axis, table, y)
        axis.axvline(null, color="0.4", lw=0.6, ls=(0, (3, 3)))
        axis.set_yticks(y, labels)
        axis.tick_params(axis="y", length=0)
        metric_axis(axis, metric)
        axis.set_xlabel(f"{label} ({cumulative_ci_label(table, test, level)}), cumulative"
                        + (f"\n{order_note}" if order_note else ""))
        axis.set_ylim(-0.8, k - 0.2)
        figure.tight_layout()
    return figure


def _not_fitted_rows(axis, table: pd.DataFrame, y) -> None:
    """Say so on a step without a fit (a three-level step with one effect size), which has no CI to draw."""
    missing = np.flatnonzero(pd.isna(table["estimate"]).to_numpy())
    notes = table["note"].fillna("").astype(str).to_numpy() if "note" in table else np.full(len(table), "")
    for row in missing:
        axis.text(0.5, y[row], notes[row] or "not fitted", transform=axis.get_yaxis_transform(), ha="center",
                  va="center", fontsize=7, color="0.35")


def multilevel_influence_plot(result, labels=None):
    """Study-deletion diagnostics of the three-level model
    (:class:`alliance_meta.analyses.sensitivity.multilevel.MultilevelInfluence`): Cook's distance,
    DFBETAS, and sigma2_between and sigma2_within without each study (full fit dashed);
    flagged studies in red; ``labels`` as for :func:`influence_plot` (default: the study ids)."""
    index = np.arange(1, result.study_id.size + 1)
    labels = np.asarray(result.study_id, dtype=str) if labels is None else labels
    colours = np.where(result.influential, FLAGGED, "black")
    deletions = result.deletions
    panels = [
        ("cook.d", result.cook_distance, []),
        ("dfbetas", result.dfbetas, [-1.0, 1.0]),
        ("sigma2.between.del", deletions["sigma2_between"].to_numpy(float), [result.full.sigma2[0]]),
        ("sigma2.within.del", deletions["sigma2_within"].to_numpy(float), [result.full.sigma2[1]]),
    ]
    return _panel_figure(panels, index, colours, (2, 2), (7.0, 4.6), "Study", labels,
                         "deleted with all its effect sizes",
                         f"Dashed lines: \u00b11 (DFBETAS); {symbol('sigma2')} with every study. DFBETAS: standardised "
                         "change in the pooled estimate when the study is left out.")


def _panel_figure(panels, index, colours, shape, size, xlabel, labels=None, detail="", lines=""):
    """One small panel per diagnostic (title, values, reference lines) against the study: its name along the
    x axis (rotated) where every name fits, else its number with a key below the panels; ``detail`` (what a
    study's deletion removes) is added to the axis label, or to the key's head; ``lines``: what the dashed
    reference lines are, said below the panels with the red points."""
    import textwrap

    names = [plain_text(label) for label in labels] if labels is not None else []
    column_width = size[0] / shape[1] - 0.6  # inches of one panel's axis, about
    named = bool(names) and max(len(name) for name in names) <= STUDY_LABEL_CHARS and \
        index.size * 1.25 * TICK_FONT / 72 <= column_width
    head = f"Studies ({detail})" if detail else "Studies"
    keyed = bool(names) and not named
    # the red points were not explained anywhere in the figure (the docstrings said "influential in red")
    flagged = "Red: influential (metafor's rules; influence.csv)." if (np.asarray(colours) == FLAGGED).any() else ""
    studies = f"{head}: " + "; ".join(f"{i} {name}" for i, name in zip(index, names)) + "." if keyed else ""
    key = textwrap.wrap(f"{flagged} {lines}".strip(), 120) + textwrap.wrap(studies, 120)
    extra = (max(len(name) for name in names) * 0.55 * TICK_FONT / 72 if named else 0.0) + 0.13 * len(key)
    with plt.rc_context({**STYLE, "axes.spines.left": True}):
        figure, axes = plt.subplots(*shape, figsize=(size[0], size[1] + extra), sharex=True)
        for axis, (name, values, lines) in zip(axes.ravel(), panels):
            axis.plot(index, values, color="0.6", lw=0.6, zorder=1)
            axis.scatter(index, values, s=10, c=colours, zorder=2)
            for value in lines:
                axis.axhline(value, color="0.4", lw=0.6, ls=(0, (3, 3)))
            axis.set_title(PANEL_TITLES.get(name, name), fontsize=8, loc="left")
            if name in BOUNDED_PANELS:
                bounded_axis(axis, "y")
            _not_fitted_points(axis, index, values)
        if named:  # every study named under its point
            axes[-1][0].set_xticks(index)
            axes[-1][0].set_xlim(0.5, index.size + 0.5)
            for axis in axes[-1]:
                axis.set_xticklabels(names, rotation=90, fontsize=TICK_FONT)
        elif index.size < 3:  # a tick per study (matplotlib's default ticks fall between 1 and 2)
            axes[-1][0].set_xticks(index)
            axes[-1][0].set_xlim(0.5, index.size + 0.5)
        else:  # studies are counted: no tick at 2.5
            axes[-1][0].xaxis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True))
        for axis in axes[-1]:
            axis.set_xlabel(f"{xlabel} number (key below)" if keyed else f"{xlabel} ({detail})" if detail else xlabel)
        height = figure.get_figheight()
        figure.tight_layout(rect=(0, (0.1 + 0.13 * len(key)) / height if key else 0, 1, 1))
        if key:
            figure.text(0.02, 0.06 / height, "\n".join(key), fontsize=7, ha="left", va="bottom", linespacing=1.3)
    return figure


def _not_fitted_points(axis, index, values) -> None:
    """A study whose deletion fit did not run (three-level: the other study has one effect size; NaN in
    the table) is marked "not fitted" in each panel, not left out without a word."""
    for position in np.flatnonzero(np.isnan(np.asarray(values, float))):
        axis.text(index[position], 0.5, "not fitted", transform=axis.get_xaxis_transform(), ha="center",
                  va="center", fontsize=7, color="0.35", zorder=4,
                  bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})


def sensitivity_figures(sensitivity, label_mode: str = "authors_year") -> dict:
    """The Baujat, influence and cumulative figures of a
    :class:`alliance_meta.analyses.sensitivity.Sensitivity` (a message where one is not defined); studies
    named as in the forest plot (``label_mode``: the config's ``plots.labels``)."""
    from alliance_meta.plots.forest_options import study_labels

    fit, details = sensitivity.fit, sensitivity.details
    if details is None:  # one study: no deletions (metafor's leave1out, influence, baujat stop at k = 1)
        n = sensitivity.n_studies
        text = (f"{n} {'study' if n == 1 else 'studies'}: leave-one-out and influence diagnostics\n"
                "need at least 2 studies")
        figures = {name: message_figure(text) for name in ("baujat", "influence", "cumulative")}
        if len(sensitivity.cumulative) and "ci_lower" in sensitivity.cumulative:
            labels = fit.data["study_id"].to_numpy(str)
            if fit.kind != "multilevel":
                labels = np.asarray(study_labels(fit.data, label_mode, escape=False), dtype=str)
            figures["cumulative"] = cumulative_forest(sensitivity.cumulative, labels, fit.metric, fit.level,
                                                      order_note(fit.data), fit.test)
        return figures
    if fit.kind == "multilevel":
        return {"baujat": message_figure("Baujat plot: not defined for the three-level model\n"
                                         "(metafor's baujat refuses rma.mv); see influence.csv"),
                "influence": multilevel_influence_plot(details, _study_names(fit.data, details.study_id, label_mode)),
                # a label per row (the cumulative table's position is a row of the study): its study's name
                "cumulative": cumulative_forest(sensitivity.cumulative,
                                                _study_names(fit.data, fit.data["study_id"], label_mode),
                                                fit.metric, fit.level, order_note(fit.data), fit.test)}
    data = fit.data
    labels = np.asarray(study_labels(data, label_mode, escape=False), dtype=str)
    return {"baujat": baujat_plot(details, labels), "influence": influence_plot(details, labels=labels),
            "cumulative": cumulative_forest(sensitivity.cumulative, labels, fit.metric, fit.level,
                                            order_note(data), fit.test)}


def _study_names(data: pd.DataFrame, study_ids, label_mode: str = "authors_year") -> list[str]:
    """Names of whole studies (a three-level fit's rows are effect sizes), as the forest plot names them
    (``label_mode``: the config's ``plots.labels``) from a study's first row, else its study id."""
    from alliance_meta.plots.forest_options import study_labels

    first = data.drop_duplicates("study_id").drop(columns=["label"], errors="ignore")
    names = dict(zip(first["study_id"].astype(str), study_labels(first, label_mode, escape=False)))
    return [names.get(str(study), str(study)) for study in study_ids]


def order_note(data: pd.DataFrame) -> str:
    """The order note of a fit's rows (per study: a study with a year on any row has one)."""
    if "year" not in data:
        return cumulative_order_note(None)
    years = pd.to_numeric(data["year"], errors="coerce").groupby(data["study_id"], sort=False).max()
    return cumulative_order_note(years.to_numpy())
