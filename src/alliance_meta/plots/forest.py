"""Publication forest plots: one family, or its studies grouped by a moderator's levels.

Rows: label, n, estimate [CI] and weight in percent, as metafor's ``forest`` shows ``weights(x)``: each study's
weight in the pooled estimate, 1/(v_i + tau^2), or a GENQ model's own weights (by default 1/sqrt(v_i);
:func:`alliance_meta.models.univariate.model_weights`); for the rows (effect sizes) of a three-level fit, each row's
weight, the diagonal of the inverse of its study's block (metafor's ``weights(rma.mv)``, which ``forest.rma.mv``
shows by default; :func:`alliance_meta.models.multilevel.row_weights`), not the study's share of the estimate
(:func:`alliance_meta.models.multilevel.study_weights`, the ``rowsum`` weights summed by study), which the
diagonal weights of its rows do not add up to;
squares with area proportional to weight; CI whiskers with arrows where they
leave the axis; summary diamonds; the prediction interval (IntHout et al. 2016, BMJ Open 6,
e010247); a reference line at no effect (Lewis & Clarke 2001, BMJ 322, 1479; metafor's
``forest.rma``). The x axis is the analysis metric, labelled on the reader's scale (r for
Fisher z, OR for log OR), so CIs keep their symmetric shape. PDF and SVG keep text as text.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import special  # noqa: E402

from alliance_meta.engines.heterogeneity import one_effect_size, unidentified_sigma2  # noqa: E402
from alliance_meta.engines.transforms import METRIC_NAMES  # noqa: E402
from alliance_meta.wording import ESTIMATOR_NAMES, counted  # noqa: E402
from alliance_meta.models.univariate import COMMON_EFFECT_METHODS, model_weights  # noqa: E402
from alliance_meta.plots import forest_draw  # noqa: E402
from alliance_meta.plots.forest_layout import BOLD, EFFECT_ROW, NBSP, Row, wrap_drawn  # noqa: E402
from alliance_meta.plots.style import (collector_paused, column_name, counts_effect_sizes, format_p,  # noqa: E402
                                       log_wider, metric_name, no_test_between_levels, plain_text, pooled_count,
                                       save_file, save_pdf_pages, symbol, three_level_test, wider_note)
from alliance_meta.inputs.risk_of_bias import tool_from_config  # noqa: E402
from alliance_meta.plots.forest_options import (  # noqa: E402
    ForestOptions,
    cell_text,
    sort_studies,
    study_labels,
    wrap,
)

__all__ = ["forest_plot", "save_forest_plot", "moderator_forest_plot", "save_moderator_forest_plot",
           "study_labels", "ForestOptions"]


#: decimals of the weight column: one, so that the smallest of 150 studies' weights (0.3%) is not 0%, and the total
#: with as many ("100.0%", as RevMan prints it): a column's numbers share their decimals (APA 2020, sec. 7.21)
WEIGHT_DECIMALS = 1


def weight_text(percent: float) -> str:
    """A weight in percent as the weight column writes it, a study's and the total alike (:data:`WEIGHT_DECIMALS`):
    the total's "100%" beside studies' "2.5%" broke the column's alignment on the decimal point."""
    return f"{percent:.{WEIGHT_DECIMALS}f}%"


def _interval_text(options, metric, centre, lower, upper) -> str:
    transform = forest_draw.SCALES[metric][1]
    values = [options.number(float(transform(v)), metric) for v in (centre, lower, upper)]
    return f"{values[0]} [{values[1]}, {values[2]}]"


def study_rows(data: pd.DataFrame, tau2: float, metric: str, level: float, options: ForestOptions,
               pooled: dict | None = None, weights=None, labels: list[str] | None = None) -> list[Row]:
    """One row per study (per effect size of a three-level fit, study by study: :func:`study_blocks`), sorted as
    configured, named ``labels`` (None: :func:`study_labels` of ``data``); weights
    in percent of the rows given: metafor's ``weights`` of the model of ``pooled`` (its ``method``; none:
    1 / (v_i + tau^2)), GENQ's ``weights`` (one per row; None: its default 1/sqrt(v_i)), or, for the rows of a
    three-level fit (``pooled`` has sigma2_between), ``weights(rma.mv)``."""
    yi, vi = data["yi"].to_numpy(float), data["vi"].to_numpy(float)
    critical = special.ndtri(0.5 + level / 200)
    blocks = pooled is not None and _three_level(pooled) and "study_id" in data
    if blocks:
        from alliance_meta.models.multilevel import row_weights

        rho = float(pooled.get("rho", 0.0))
        weights = row_weights(vi, data["study_id"], float(pooled["sigma2_between"]), float(pooled["sigma2_within"]),
                              rho if np.isfinite(rho) else 0.0)
    else:
        weights = model_weights(vi, tau2, (pooled or {}).get("method"), weights)
    percent = 100 * weights / weights.sum()
    labels = study_labels(data, options.labels, font=options.font_family) if labels is None else labels
    n = pd.to_numeric(data["n"], errors="coerce").to_numpy(float) if "n" in data else np.full(len(data), np.nan)
    if "n" in options.columns:  # shown among the configured columns instead
        n = np.full(len(data), np.nan)
    extra, judgements = study_columns(data, options)
    order = sort_studies(data, weights, options.sort)
    if blocks:  # a three-level fit's rows: each study's effect sizes together, its name once
        order, labels = study_blocks(data["study_id"].to_numpy(), order, labels)
    rows = []
    for i in order:
        lower, upper = yi[i] - critical * np.sqrt(vi[i]), yi[i] + critical * np.sqrt(vi[i])
        rows.append(Row("study", wrap(labels[i], options.label_width), f"{n[i]:,.0f}" if np.isfinite(n[i]) else "",
                        _interval_text(options, metric, yi[i], lower, upper), weight_text(percent[i]),
                        yi[i], lower, upper, weights[i] / weights.max(), extra=extra[i], rob=judgements[i]))
    return rows


def study_blocks(studies, order, labels: list[str]) -> tuple[list[int], list[str]]:
    """The rows of a three-level forest plot study by study: ``order`` (row indices) regrouped so that each study's
    effect sizes follow one another, the studies in the order of their first row in ``order`` and each study's rows
    in it; ``labels`` (one per row) with the study's label on the first row of its block only and "· effect 2",
    "· effect 3" (:data:`EFFECT_ROW`) on the others, as a nested layout shows effect sizes within their study
    (the columns beside them, ``plots.columns``, tell the outcome, measure or timing apart). The same label on
    every row of a study read as several studies of one name."""
    studies = np.asarray(studies)
    first: dict = {}
    for position, i in enumerate(order):
        first.setdefault(studies[i], position)
    grouped = sorted(order, key=lambda i: first[studies[i]])  # stable: a study's rows keep their order
    shown, seen = list(labels), {}
    for i in grouped:
        seen[studies[i]] = seen.get(studies[i], 0) + 1
        if seen[studies[i]] > 1:
            shown[i] = EFFECT_ROW.format(seen[studies[i]])
    return grouped, shown


def filled_columns(data: pd.DataFrame, options: ForestOptions) -> ForestOptions:
    """``options`` without the ``plots.columns`` that no row of ``data`` fills: a moderator coded only in the
    other family drew its header over an empty column."""
    kept = [c for c in options.columns
            if c in data and any(cell_text(value, UNCUT)[0] for value in data[c].tolist())]
    return options if kept == options.columns else replace(options, columns=kept)


def study_columns(data: pd.DataFrame, options: ForestOptions) -> tuple[list[list[str]], list[list]]:
    """Per row: the ``plots.columns`` cells, whole (``forest_draw.fit_cells`` cuts them to ``plots.column_width``
    where the figure has no room for them)
    and, with ``plots.rob``, the risk-of-bias judgements of every domain and the overall."""
    # validate_sheet checks that the sheet has every plots.columns column; rows without one
    # (e.g. composites within a moderator's levels) show it empty
    extra = [[cell_text(value, UNCUT, column)[0] for value, column in zip(values, options.columns)]
             for values in zip(*(data[c].tolist() if c in data else [None] * len(data) for c in options.columns))] \
        if options.columns else []
    extra = extra or [[] for _ in range(len(data))]
    judgements = [[] for _ in range(len(data))]
    if options.rob:
        tool = tool_from_config(options.risk_of_bias)
        if not any(c in data for c in tool.columns):  # a sheet without risk of bias: no symbols
            return extra, judgements
        judgements = [list(values) for values in zip(*(
            data[c].tolist() if c in data else [None] * len(data) for c in tool.columns))]
    return extra, judgements


#: width of a summary row's label line, in font sizes: "Random-effects model (REML), k = 1,234 studies" in bold (3.1 in
#: at 8 pt; the label runs on over the empty n cell: forest_layout.SPANNING)
SUMMARY_WIDTH = 28


def pooled_label(name: str, count: str, kind: str = "overall") -> str:
    """A summary row's label, "Random-effects model (REML), k = 125 studies": ``name``, then ``count`` as k, k italic
    (bold italic on a bold row, forest_layout.BOLD: :func:`~alliance_meta.plots.style.symbol`) and kept on one line
    with its "=" and count (:data:`NBSP`)."""
    return f"{name}, {symbol('k', bold=kind in BOLD)}{NBSP}={NBSP}{count}"


def summary_label(label: str, options: ForestOptions) -> list[str]:
    """The lines of a summary row's label, each at most :data:`SUMMARY_WIDTH` font sizes wide as drawn
    (:func:`~alliance_meta.plots.forest_layout.wrap_drawn`, bold): one line, or a longer label ("Three-level model
    (REML), k = 29 effect sizes in 10 studies") broken after the model's name. A count of characters wrapped
    "Random-effects model (REML), k = 125 studies" once its k was mathtext, 14 characters for one letter."""
    width = SUMMARY_WIDTH * options.font_size / 72

    def lines(text):
        return wrap_drawn(text, width, options.font_size, options.font_family, bold=True)

    if len(lines(label)) == 1:
        return [label]
    head, comma, tail = label.partition(", ")
    return lines(head + comma.rstrip()) + lines(tail) if tail else lines(label)


def summary_rows(label: str, estimate: dict, metric: str, options: ForestOptions, kind: str = "overall",
                 interval: bool = True, total: bool | None = None) -> list[Row]:
    """A diamond row (``estimate``, ``ci_lower``, ``ci_upper``) and, when finite, the prediction interval row
    (``label``'s lines: :func:`summary_label`). ``total``: the diamond's weight cell is the total of the study rows
    above it, 100.0% (:func:`weight_text`); None: for the overall diamond only."""
    total = kind == "overall" if total is None else total
    rows = [Row(kind, summary_label(label, options), "", _interval_text(
        options, metric, estimate["estimate"], estimate["ci_lower"], estimate["ci_upper"]),
        weight_text(100) if total else "", estimate["estimate"], estimate["ci_lower"], estimate["ci_upper"])]
    lower, upper = estimate.get("pi_lower", np.nan), estimate.get("pi_upper", np.nan)
    # none for a common-effect model, nor for one effect size (tau^2 set to 0: the interval is the CI)
    if interval and estimate.get("method") != "common" and not one_effect_size(estimate) and np.isfinite(lower) \
            and np.isfinite(upper):
        transform = forest_draw.SCALES[metric][1]
        text = f"[{options.number(float(transform(lower)), metric)}, {options.number(float(transform(upper)), metric)}]"
        rows.append(Row("interval", ["Prediction interval"], "", text, "", estimate["estimate"], lower, upper))
    return rows


def _three_level(pooled: dict) -> bool:
    """A row of a three-level fit (``dependence: multilevel``): it has sigma2_between."""
    try:
        return bool(np.isfinite(float(pooled.get("sigma2_between", np.nan))))
    except (TypeError, ValueError):
        return False


def model_name(pooled: dict) -> str:
    """A summary row's model, its estimator of tau^2 abbreviated ("Random-effects model (REML)"), as the footnote
    defines it (:func:`estimator_key`)."""
    method = pooled.get("method", "REML")
    if method == "common":
        return "Common-effect model"
    kind = "Three-level model" if _three_level(pooled) else "Random-effects model"
    return f"{kind} ({method})"


def estimator_key(pooled: dict) -> str:
    """The footnote's definition of the estimator that :func:`model_name` abbreviates, "REML = restricted maximum
    likelihood." (:data:`~alliance_meta.wording.ESTIMATOR_NAMES`; a figure spells out its abbreviations, APA 2020,
    sec. 7.26); "" for a common-effect model, named in words."""
    method = pooled.get("method", "REML")
    return f"{method} = {ESTIMATOR_NAMES[method]}." if method != "common" and method in ESTIMATOR_NAMES else ""


def test_name(test) -> str:
    """The name of a CI's test (``z``, ``knha``, ``adhoc``, ``t``, ``cr2``) as the footnote gives it
    (:data:`~alliance_meta.models.univariate.CI_TEST_SHORT_NAMES`); Wald for none."""
    from alliance_meta.models.univariate import CI_TEST_SHORT_NAMES

    return CI_TEST_SHORT_NAMES.get(test, CI_TEST_SHORT_NAMES["z"])


def interval_test(pooled: dict) -> str:
    """The name of the test of a pooled row's CI, as the footnote gives it (:func:`~alliance_meta.models.univariate.
    interval_test`: Wald for a knha row of one study, the ad hoc variant under ``pooling.knha_adhoc``)."""
    from alliance_meta.models.univariate import interval_test as test_of

    return test_name(test_of(pooled))


UNCUT = 10**9  # characters: plots.columns cells are cut when drawn, where there is no room (forest_draw.fit_cells)


def footnote(pooled: dict, level: float, extra: str = "", metric: str | None = None, arrows: bool = False) -> str:
    """What the marks mean (the arrows where the page draws one: :func:`forest_draw.draws_arrows`), the summary
    row's estimator (:func:`estimator_key`) and the heterogeneity statistics in mathtext, Q, p and I^2 italic
    (:func:`~alliance_meta.plots.style.symbol`), rounded as the report's tables round them (tau^2 and sigma^2 to three
    decimals, in the analysis ``metric``, its letter italic; I^2 to one)."""
    test = interval_test(pooled)
    studies = float(pooled.get("n_studies", np.nan))
    marks = "effect sizes (rows of the three-level model" + (f", {counted(studies, 'study', 'studies')}"
             if np.isfinite(studies) else "") + "; " \
        if _three_level(pooled) else "study estimates ("
    key = estimator_key(pooled)
    text = (f"Squares: {marks}area proportional to weight) with {level:g}% CIs"
            + ("; arrows: CI beyond the axis" if arrows else "")
            + f". Diamond: pooled estimate with {level:g}% CI ({test})." + (f" {key}" if key else ""))
    if one_effect_size(pooled):  # pooled.csv's Q(0) = 0, p = 1 and tau^2 = 0 are set, not estimated
        text += " Heterogeneity: not estimable from one study."
    elif np.isfinite(pooled.get("q", np.nan)):
        unit = f" ({metric_name(metric)})" if metric in METRIC_NAMES else ""
        variance = _variance_text(pooled, unit)
        statistics = (f"{symbol('Q')}({int(pooled['q_df'])}) = {pooled['q']:.2f}, {format_p(pooled['q_p'])};"
                      f" {variance}; {symbol('I2')} = {pooled['i2']:.1f}%")
        text += " Heterogeneity: " + re.sub(" ([=<>]) ", NBSP + r"\1" + NBSP, statistics) + "."
    return text + (" " + extra if extra else "")


def _variance_text(pooled: dict, unit: str) -> str:
    """The heterogeneity variance(s) of the footnote: tau^2, or a three-level fit's sigma^2 between and within
    studies, each only where the data identify it (:func:`unidentified_sigma2`: with one effect size per study
    only their sum, tau^2; with one study sigma^2 between is fixed at 0)."""
    if pooled.get("method") in COMMON_EFFECT_METHODS:  # assumed, not estimated: no "tau^2 = 0.000"
        return f"{symbol('tau2')} assumed to be 0 (common-effect model)"
    if not _three_level(pooled):
        return f"{symbol('tau2')} = {pooled['tau2']:.3f}{unit}"
    case = unidentified_sigma2(pooled)[0]
    if case == "one_per_study":
        return (f"{symbol('tau2')} = {pooled['tau2']:.3f}{unit}, the sum of {symbol('sigma2')} between and within "
                "studies (one effect size per study: not separately identified)")
    if case == "one_study":
        return (f"{symbol('sigma2')} between studies fixed at 0 (one study), within the study = "
                f"{pooled['sigma2_within']:.3f}{unit}")
    return (f"{symbol('sigma2')} between studies = {pooled['sigma2_between']:.3f}, within studies = "
            f"{pooled['sigma2_within']:.3f}{unit}")


def forest_plot(data: pd.DataFrame, pooled: dict, metric: str, level: float = 95.0,
                options: ForestOptions | None = None, data_note: str | None = None, weights=None):
    """Figure of ``data`` (``yi``, ``vi``, optional ``n``, ``label``, ``authors``, ``year``) with one row of
    ``pooled.csv`` (a mapping); all studies on one page. ``data_note`` ends the footnote. ``weights``: a GENQ
    model's own, one per row of ``data`` (None: its default 1/sqrt(vi); see :func:`study_rows`)."""
    return _figures(data, pooled, metric, level, options or ForestOptions(), False, data_note, weights)[0]


def _figures(data, pooled, metric, level, options, paged, data_note=None, weights=None):
    options = filled_columns(data, options)
    rows = study_rows(data, pooled.get("tau2", 0.0), metric, level, options, pooled, weights)
    # what k counts, as the Results and the moderator plots say it: "k = 125 studies", "k = 20 effect sizes in
    # 10 studies" (a bare "k = 20" of a three-level fit read as 20 studies beside the Results' "k = 10 studies")
    count = pooled_count({**pooled, "k": len(data)})
    rows += summary_rows(pooled_label(model_name(pooled), count), pooled, metric, options)
    return forest_draw.draw_pages(rows, metric, level, options,
                                  lambda arrows: footnote(pooled, level, data_note or "", metric, arrows), paged)


def moderator_forest_plot(data: pd.DataFrame, moderator: str, subgroups: pd.DataFrame, overall: dict, metric: str,
                          level: float = 95.0, options: ForestOptions | None = None, summary: dict | None = None,
                          paged: bool = False, data_note: str | None = None):
    """Studies grouped by the levels of ``moderator`` (rows of ``data`` aggregated within study x level), each
    level's subgroup diamond (``subgroups.csv``) and the overall diamond; list of figures (pages)."""
    options = filled_columns(data, options or ForestOptions())
    rows: list[Row] = []
    # one Smith (2004a) in every level
    names = np.array(study_labels(data, options.labels, font=options.font_family), dtype=object)
    for level_row in subgroups.itertuples():
        member = (data[moderator].astype(str) == str(level_row.level)).to_numpy()
        members = data[member]
        # on lines across its row where the figure is drawn (forest_layout.Layout.heading_lines)
        rows.append(Row("group", [f"{column_name(moderator, options.column_labels)}: {plain_text(level_row.level)}"]))
        rows += study_rows(members, level_row.tau2, metric, level, options, labels=list(names[member]))
        studies = f"{level_row.k} {'study' if level_row.k == 1 else 'studies'}"  # study x level composites
        # the weights are within each level: each subtotal totals its level's, the overall diamond none shown
        rows += summary_rows(pooled_label("Subtotal", studies, "subtotal"), level_row._asdict(), metric, options,
                             "subtotal", interval=False, total=True)
    count = pooled_count({**overall, "k": overall.get("k", len(data))})  # effect sizes in studies, three-level
    rows += summary_rows(pooled_label(model_name(overall), count), overall, metric, options, total=False)
    extra = "Weights in percent within each level."
    if interval_test(overall) != test_name("z"):  # pooling.tests without z: the overall diamond is e.g. knha
        extra += f" Subtotal diamonds: Wald {level:g}% CIs (subgroups.csv)."
    if counts_effect_sizes(overall):
        extra += (" Rows of a level: a study's effect sizes at that level combined, so a subtotal's "
                  f"{symbol('k')} counts studies.")
    if summary and (untested := no_test_between_levels(summary)):
        extra += f" {untested}"
    elif summary and (three_level := three_level_test(summary)):  # the model the report gives
        extra += f" Test between levels, three-level model: {three_level}."
    elif summary:
        extra += (f" Test between levels: {symbol('QM')}({summary['qm_df']:.0f}) = {summary['qm']:.2f}, "
                  f"{format_p(summary['qm_p'])}.")
    if data_note:
        extra += " " + data_note
    return forest_draw.draw_pages(rows, metric, level, options,
                                  lambda arrows: footnote(overall, level, extra, metric, arrows), paged)


def save_pages(figures_of, paths, options: ForestOptions, logger=None, what: str = "forest plot") -> list:
    """Write PNG/SVG/TIFF as one figure, PDF page by page (``figures_of(paged)`` draws them; a PDF of one page is
    that figure, drawn once); ``logger`` gets
    :func:`widened_note` on ``what`` (:func:`~alliance_meta.plots.style.log_wider`). Returns the figures, closed
    in pyplot: the one figure (drawn also for no path), or a PDF's pages when only PDFs are written."""
    single, pages = None, []
    # font types are read when saving; the figures are built and written without the collector's passes
    with plt.rc_context(forest_draw.style(options)), collector_paused():
        # PDFs first: a PDF of one page is the one figure (the same rows and footnote, the same bytes), drawn once
        for path in sorted(map(Path, paths), key=lambda path: path.suffix != ".pdf"):
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".pdf":
                pages = figures_of(True)
                save_pdf_pages(pages, path)
                single = single or (pages[0] if len(pages) == 1 else None)
                continue
            single = single or figures_of(False)[0]
            save_file(single, path, dpi=options.dpi)  # a TIFF as journals want it (style.save_file)
        if not paths:
            single = figures_of(False)[0]
    if single is not None:
        plt.close(single)
    figures = [single] if single is not None else pages
    log_wider(logger, what, widened_note(figures, options), options.width)
    if logger is not None and pages and getattr(pages[0], "pages_note", ""):  # a compact layout's pages, balanced pages
        logger.info("%s: %s", what, pages[0].pages_note)
    return figures


def widened_note(figures, options: ForestOptions) -> str:
    """For the job's log: that a forest plot is wider than ``plots.width`` (a journal's column) because its text
    columns need the room (:func:`~alliance_meta.plots.forest_layout.column_layout` widens the figure rather than
    cut them), and how small its text is when scaled back to that width; which columns are at their narrowest and
    what narrows it (:func:`~alliance_meta.plots.forest_draw.narrowest_columns`); "" when it is as wide as asked."""
    width = max((figure.get_figwidth() for figure in figures), default=0.0)
    columns, remedy = getattr(figures[0], "narrowest", ("", "")) if figures else ("", "")
    return wider_note(width, options.width, options.font_size, "to fit its text columns" + (f"; {columns}" if columns
                                                                                             else ""), remedy)


def save_forest_plot(data: pd.DataFrame, pooled: dict, metric: str, paths, level: float = 95.0,
                     options: ForestOptions | None = None, data_note: str | None = None, weights=None,
                     logger=None) -> list:
    """Draw and write the forest plot to every path (PDF split into pages of ``rows_per_page`` studies, or of the
    studies that fit their height where the columns go under the names: forest_draw.compact_lines);
    ``data_note`` (e.g. that the data are simulated) ends the footnote of every page; ``weights`` as
    :func:`forest_plot`; ``logger`` as :func:`save_pages`. Returns the figures (:func:`save_pages`)."""
    options = options or ForestOptions()
    if len(data) == 0:
        text = f"No effect sizes in this family ({symbol('k')} = 0)."
        return save_pages(lambda paged: [forest_draw.message(text, data_note)], paths, options, logger)
    return save_pages(lambda paged: _figures(data, pooled, metric, level, options, paged, data_note, weights), paths,
                      options, logger)


def save_moderator_forest_plot(data, moderator, subgroups, overall, metric, paths, level=95.0, options=None,
                               summary=None, data_note=None, logger=None) -> list:
    """Draw and write the forest plot of one moderator to every path; ``logger`` as :func:`save_pages`; returns
    the figures (:func:`save_pages`)."""
    options = options or ForestOptions()
    what = f"forest plot of {moderator}"
    if len(data) == 0 or len(subgroups) == 0:
        return save_pages(lambda paged: [forest_draw.message(
            f"No effect sizes with a value of {column_name(moderator, options.column_labels)}.", data_note)],
                          paths, options, logger, what)
    return save_pages(lambda paged: moderator_forest_plot(data, moderator, subgroups, overall, metric, level,
                                                          options, summary, paged, data_note), paths, options,
                      logger, what)
