"""The self-contained HTML report: Jinja2 template (autoescaped), inline CSS, images as base64 WebP.

Nothing is loaded from the network: no scripts, fonts or style sheets from elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from alliance_meta.analyses.bias.results import NO_POSITIVE_EFFECT, without_sign_advice
from alliance_meta.models.fits import headline_method, headline_test, main_row
from alliance_meta.models.univariate import CI_TEST_NAMES, refit_test
from alliance_meta.report.formatting import (apa_integer, apa_p, counted, data_names, defined_in_order, format_cell,
                                             is_finite, note_defined, probability_percent, readable_frame, told_apart,
                                             typeset_parts)
from alliance_meta.plots.previews import preview_of_png
from alliance_meta.plots.provenance import is_simulated
from alliance_meta.report.settings import TableSettings
from alliance_meta.report.summary import (conversion_counts, family_counts, family_facts, moderator_counts,
                                          several_in_counts)
from alliance_meta.report.tables import BUILDERS, manuscript_table
from alliance_meta.report.robustness import certainty_sentence
from alliance_meta.report.text import bma_bias, bma_words, results_paragraph, risk_of_bias_sentence
from alliance_meta.wording import SIMULATED_DATA

#: Order and titles of the tables a family can have; others follow alphabetically.
TABLE_TITLES = {
    "studies": "Studies included", "study_characteristics": "Characteristics of the included studies", "pooled": "Pooled estimates (every estimator and test)",
    "summary_of_findings": "Summary of findings (GRADE): suggested certainty for the reviewers to confirm",
    "moderators": "Moderator tests", "subgroups": "Subgroup estimates", "meta_regression": "Meta-regression coefficients",
    "bias": "Publication bias and small-study effects", "leave_one_out": "Leave-one-out analysis",
    "influence": "Influence diagnostics", "cumulative": "Cumulative meta-analysis (by year)",
    "bayes": "Bayesian model: posterior summaries", "bayes_studies": "Bayesian model: shrunken study estimates",
    "bayes_moderators": "Bayesian model: moderators", "bayes_prior_sensitivity": "Bayesian model: prior sensitivity",
    "multiverse": "Multiverse of specifications", "selection_models": "Selection models (metafor's selmodel)",
    "bma": f"{bma_words()}: models", "bma_summary": f"{bma_words()}: summary",  # bma.bias false: bma_titles
    "rob_sensitivity": "Risk of bias: pooled estimate of all studies, without high-risk studies, low-risk only",
    # the tables below keep the alphabetical place they had untitled; the title is what a reader is told, not the
    # file's stem ("Rve", "Gosh studies", "Location scale tau2")
    "gosh_studies": "GOSH: mean estimate and I\u00b2 of the subsets with and without each study",
    "location_scale": "Location-scale model: coefficients of the mean (location) and of log \u03c4\u00b2 (scale)",
    "location_scale_tau2": "Location-scale model: \u03c4\u00b2 per moderator level",
    "meta_regression_predictions": "Meta-regression: predicted effects",
    "model_comparison": "Meta-regression: model comparison (likelihood-ratio tests, ML)",
    "multiverse_summary": "Multiverse of specifications: summary per choice",
    "psychometric": "Psychometric meta-analysis",
    "psychometric_artifacts": "Psychometric meta-analysis: artifact distributions",
    "psychometric_moderators": "Psychometric meta-analysis: per moderator level",
    "rve": "Robust variance estimation",
    "rve_sensitivity": "Robust variance estimation: sensitivity to the assumed correlation (\u03c1)",
}
#: Notes of the tables printed with every column of their CSV (no manuscript layout): what their abbreviations mean.
TABLE_NOTES = {
    "rve": ("corr = correlated-effects and hier = hierarchical-effects robust variance estimation (Hedges, Tipton & "
            "Johnson, 2010; as robumeta) of the effect sizes, with small-sample corrected df (Tipton, 2015); cr2 = "
            "the random-effects model of the study composites with cluster-robust (CR2) standard errors and "
            "Satterthwaite df (as clubSandwich). tau2 = variance between studies; omega2 = variance within studies "
            "(hier); rho = assumed correlation between the effect sizes of a study (corr); k = effect sizes pooled "
            "(cr2: study composites)."),
    "rve_sensitivity": ("The correlated-effects model (corr) refitted with each assumed correlation rho between "
                        "the effect sizes of a study (as robumeta's sensitivity)."),
    "location_scale": ("part: location = the model of the mean effect, scale = the model of log \u03c4\u00b2; qm, "
                       "qs = omnibus tests of the location and scale terms; tau2_constant, loglik_constant = the "
                       "model with one \u03c4\u00b2; lrt = likelihood-ratio test of the scale terms against it."),
    "model_comparison": ("Each comparison (full vs reduced) of two nested meta-regressions (1 = intercept only), "
                         "both fitted by maximum likelihood: lrt = likelihood-ratio test of the terms the reduced "
                         "model lacks; aic, bic, aicc = information criteria."),
    "gosh_studies": ("n_with = subsets of studies that contain the study; estimate and I\u00b2 (i2) averaged over the "
                     "subsets with and without it; shift = with \u2212 without (Olkin et al., 2012)."),
}
PLOT_TITLES = {"forest": "Forest plot", "funnel": "Funnel plot", "baujat": "Baujat plot", "influence": "Influence plot",
               "cumulative": "Cumulative forest plot", "subgroups": "Subgroup forest plot", "bubble": "Bubble plot",
               "selection_models": "Selection models: adjusted estimates",
               "weight_functions": "Selection models: fitted weight functions",
               "bma": bma_words(),  # bma.bias false: bma_titles
               "rob_traffic_light": "Risk of bias: judgements per study and domain",
               "rob_summary": "Risk of bias: summary per domain",
               "bayes_forest": "Bayesian model: observed and shrunken study estimates",
               "bayes_posterior": "Bayesian model: posterior of the pooled effect and \u03c4",
               "bayes_prior_sensitivity": "Bayesian model: prior sensitivity", "gosh": "GOSH plot",
               "multiverse": "Multiverse: specification curve",
               "psychometric_forest": "Psychometric meta-analysis: corrected correlations"}
STUDY_COLUMNS = ["study_id", "authors", "year", "label", "n", "k_effect_sizes", "yi", "vi"]


def bma_titles(bias: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Titles of the model-averaging tables and figure, ``({table: title}, {plot: title})``, by whether the
    ensemble had the publication-bias models (:func:`~alliance_meta.report.text.bma_bias`): RoBMA-PSMA in words,
    or without them plain Bayesian model averaging (:func:`~alliance_meta.report.text.bma_words`)."""
    words = bma_words(bias)
    return {"bma": f"{words}: models", "bma_summary": f"{words}: summary"}, {"bma": words}


#: Headers of the Data section's tables (no CSV behind them: they are read as a manuscript's, not as a file's columns).
DATA_HEADERS = {"family": "Family", "studies": "Studies", "effect_sizes": "Effect sizes", "n": "N",
                "studies_without_n": "Studies without n", "input": "Statistic reported", "conversion": "Conversion",
                "sign_reversed": "Sign reversed", "moderator": "Moderator", "level": "Level"}
COLLAPSE_ROWS = 25
MAX_SHOWN_ROWS = 100  # longer tables (a multiverse of thousands of specifications) stay in their CSV


@dataclass
class HtmlTable:
    """A table for the template: title, header and formatted rows (escaped by the template)."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    collapsed: bool = False
    note: str = ""
    empty: str = "No rows."  # what the report says instead of a table without rows (:func:`empty_table_reasons`)
    verbatim: tuple[str, ...] = ()  # text of the headings and note from the data, as written (ManuscriptTable's)


@dataclass
class Figure:
    """An image inlined as a data URI; or, for a plot that is only a one-line message (:func:`placeholder_plots`),
    that message as ``text`` and no image."""

    title: str
    data_uri: str = ""
    text: str = ""


#: What a plot drawn as a one-line message says instead (the report shows the sentence, not the image).
NO_CORRECTED_CORRELATIONS = "No reliabilities (rxx, ryy) in the sheet or the config: no corrected correlations to plot."
NO_THREE_LEVEL_BAUJAT = ("Not defined for the three-level model (metafor's baujat refuses rma.mv); "
                         "the influence diagnostics are in influence.csv.")
#: Plots drawn as a message exactly when the table that feeds them has no rows (GOSH: fewer than three studies, the
#: GoshAnalysis without a result; model averaging: no model fitted, fewer than two studies), given as the table's
#: reason (:func:`empty_table_reasons`): ``{PNG stem: table name}``.
PLOTS_OF_EMPTY_TABLES = {"gosh": "gosh_studies", "bma": "bma"}
NO_SELECTION_MODEL = "No selection model could be fitted; the selection-model table gives each model's reason."


def placeholder_plots(tables: dict[str, pd.DataFrame], config: dict,
                      reasons: dict[str, str] | None = None) -> dict[str, str]:
    """``{PNG stem: sentence}`` of a family's plots that the pipeline draws as a one-line message, known from the
    tables that feed them by the plotting code's own condition, not from the pixels: the psychometric forest plot
    when psychometric.csv has no individually corrected correlations (no ``individual`` row with k > 0: no
    reliabilities); the Baujat and influence plots when influence.csv has no rows (one study, metafor's influence
    stops at k = 1: the leave-one-out table's reason); the Baujat plot of a three-level model (dependence:
    multilevel), which metafor does not define; the GOSH and model-averaging plots when their table is empty
    (:data:`PLOTS_OF_EMPTY_TABLES`; ``reasons``, :func:`empty_table_reasons`: the table's sentence); the multiverse's
    when :func:`~alliance_meta.analyses.multiverse.unplotted_reason` says so; the weight functions when no model has
    one (:func:`~alliance_meta.analyses.bias.results.no_weight_function`; the estimates' figure is always a plot);
    the forest and subgroup plots of a moderator with no value in any row (moderators.csv: ``n_levels`` 0)."""
    from alliance_meta.analyses.bias.results import no_weight_function
    from alliance_meta.analyses.multiverse import unplotted_reason

    reasons = reasons or {}
    out = {stem: reasons[name] for stem, name in PLOTS_OF_EMPTY_TABLES.items()
           if tables.get(name) is not None and tables[name].empty and name in reasons}
    multiverse = tables.get("multiverse")
    if multiverse is not None and (multiverse.empty or "estimate" in multiverse) \
            and (unplotted := unplotted_reason(multiverse)):
        out["multiverse"] = reasons.get("multiverse") or f"{unplotted}."
    moderators = tables.get("moderators")
    if moderators is not None and {"moderator", "n_levels", "note"} <= set(moderators):
        from alliance_meta.inputs.planning import moderator_plot_stem

        uncoded = moderators[pd.to_numeric(moderators["n_levels"], errors="coerce").eq(0)]
        for name, why in _unfitted(uncoded, "moderator", "qm", "no mixed-effects model: ").items():
            out.update(dict.fromkeys((moderator_plot_stem("forest", name), moderator_plot_stem("subgroups", name)),
                                     f"No plot: {why}."))
    selection = tables.get("selection_models")
    if selection is not None and len(selection) and no_weight_function(selection):
        out["weight_functions"] = NO_SELECTION_MODEL  # every panel "not fitted": the plot's own condition
    psychometric = tables.get("psychometric")
    if psychometric is not None and "method" in psychometric:
        individual = psychometric.loc[psychometric["method"] == "individual", "k"]
        if not (len(individual) and is_finite(individual.iloc[0]) and float(individual.iloc[0]) > 0):
            out["psychometric_forest"] = NO_CORRECTED_CORRELATIONS
    influence = tables.get("influence")
    if influence is not None and len(influence) == 0:  # one study: the leave-one-out table's reason, one wording
        out.update(dict.fromkeys(("baujat", "influence"), reasons["influence"]) if "influence" in reasons else {})
    elif config.get("dependence") == "multilevel":
        out["baujat"] = NO_THREE_LEVEL_BAUJAT
    return out


#: The tables of the moderator analyses (categorical moderators, continuous ones and formulas).
MODERATOR_TABLES = ("moderators", "subgroups", "bayes_moderators", "meta_regression", "meta_regression_predictions",
                    "psychometric_moderators", "model_comparison")
NO_MODERATORS = "Not run: no moderator to analyse (none named in the config, or the default ones are not in the sheet)."
NO_LOCATION_SCALE = "Not run: the config's location_scale names no moderator of \u03c4\u00b2."
NO_ARTIFACTS = ("No reliabilities or range-restriction ratios (rxx, ryy, ux) in the sheet or the config: the bare-bones "
                "analysis only, no artifact distributions.")


def empty_table_reasons(tables: dict[str, pd.DataFrame], analysis: pd.DataFrame | None,
                        config: dict) -> dict[str, str]:
    """``{table name: sentence}`` for a family's tables without rows whose reason is known from the config and the
    other tables, said instead of a bare "No rows.": an analysis the config does not ask for (no moderators, no
    location_scale models), no artifacts for the psychometric distributions (psychometric.csv has no
    ``artifact_distribution`` row), fewer studies than an analysis needs (leave-one-out, influence, robust variance
    estimation and model averaging 2, GOSH 3, the multiverse ``multiverse.minimum_k``), meta-regressions none of
    which could be fitted (the notes of moderators.csv and meta_regression.csv), subgroups of categorical moderators
    none of which is coded, location-scale models none of which could be fitted (location_scale.csv's notes), and a
    multiverse the config's lists leave out (:func:`alliance_meta.analyses.multiverse.no_specification_note`).
    Any other empty table keeps "No rows."."""
    empty = {name for name, frame in tables.items() if frame is not None and frame.empty}
    out = {}
    categorical = list(config.get("moderators") or [])
    others = list(config.get("continuous_moderators") or []) + list(config.get("meta_regression") or [])
    unfitted = _unfitted(tables.get("moderators"), "moderator", "qm", "no mixed-effects model: ")
    formulas = _unfitted(tables.get("meta_regression"), "model", "estimate", "")
    if not categorical and not others:
        out.update(dict.fromkeys(set(MODERATOR_TABLES) & empty, NO_MODERATORS))
    elif set(categorical + list(config.get("continuous_moderators") or [])) <= set(unfitted) and (
            not _fitted(tables.get("meta_regression"), "estimate")) and (formulas or not config.get("meta_regression")):
        why = "; ".join(dict.fromkeys([*unfitted.values(), *formulas.values()]))
        out.update(dict.fromkeys({"meta_regression", "meta_regression_predictions", "model_comparison"} & empty,
                                 f"No meta-regression could be fitted: {why}."))
    if categorical and set(categorical) <= set(unfitted):  # no categorical moderator has a value: no level to pool
        why = "; ".join(unfitted[name] for name in categorical)
        out.update(dict.fromkeys({"subgroups", "psychometric_moderators"} & empty, f"No subgroup estimates: {why}."))
    if not config.get("location_scale"):
        out.update(dict.fromkeys({"location_scale", "location_scale_tau2"} & empty, NO_LOCATION_SCALE))
    elif "location_scale_tau2" in empty and not _fitted(tables.get("location_scale"), "estimate") and (
            models := _unfitted(tables.get("location_scale"), "model", "estimate", "not fitted: ")):
        out["location_scale_tau2"] = f"No location-scale model could be fitted: {'; '.join(models.values())}."
    psychometric = tables.get("psychometric")
    if "psychometric_artifacts" in empty and psychometric is not None and "method" in psychometric \
            and not psychometric["method"].eq("artifact_distribution").any():
        out["psychometric_artifacts"] = NO_ARTIFACTS
    studies = analysis["study_id"].nunique() if analysis is not None and "study_id" in analysis else None
    if studies is not None:
        from alliance_meta.analyses.gosh import MINIMUM_STUDIES as GOSH_MINIMUM
        from alliance_meta.analyses.sensitivity import MINIMUM_STUDIES as LEAVE_ONE_OUT_MINIMUM

        minimum_k = int((config.get("multiverse") or {}).get("minimum_k", 2))

        def at_least(least: int, key: str) -> str:  # "at least three studies; two studies in this family": compared
            return (f"at least {counted(least, 'study', 'studies', words=True, compared=(studies,))}{key}; "
                    f"{counted(studies, 'study', 'studies', words=True, compared=(least,))} in this family")

        too_few = {name: f"{what} {at_least(least, key)}."
                   for least, what, key, names in (
                       (LEAVE_ONE_OUT_MINIMUM, "Leave-one-out and influence diagnostics need", "",
                        ("leave_one_out", "influence")),
                       (2, "Robust variance estimation needs", "", ("rve", "rve_sensitivity")),
                       (2, "Model averaging needs", "", ("bma", "bma_summary")),
                       (GOSH_MINIMUM, "A GOSH plot needs", "", ("gosh_studies",)),
                       (minimum_k, "Each specification of the multiverse needs", " (multiverse.minimum_k)",
                        ("multiverse", "multiverse_summary")))
                   for name in names if studies < least}
        out.update({name: reason for name, reason in too_few.items() if name in empty})
    from alliance_meta.analyses.multiverse import no_specification_note

    if left_out := no_specification_note(config.get("multiverse") or {}):  # the config's lists, whatever the studies
        out.update(dict.fromkeys({"multiverse", "multiverse_summary"} & empty,
                                 f"Not run: the config leaves the multiverse out; {left_out}."))
    return out


def _unfitted(frame: pd.DataFrame | None, name: str, value: str, prefix: str) -> dict[str, str]:
    """``{name: reason}`` of a table's rows without a model (``value`` empty or not a column, the reason in ``note``),
    the reason without ``prefix`` and led by the name where it does not name it."""
    if frame is None or frame.empty or not {name, "note"} <= set(frame):
        return {}
    rows = frame[frame["note"].notna() & (frame[value].isna() if value in frame else True)]
    reasons = {}
    for key, note in zip(rows[name].astype(str), rows["note"].astype(str)):
        note = note.removeprefix(prefix)
        reasons[key] = note if note.startswith(key) else f"{key}: {note}"
    return reasons


def _fitted(frame: pd.DataFrame | None, value: str) -> bool:
    """Whether a row of the table has a model (a value in column ``value``)."""
    return frame is not None and value in frame and bool(frame[value].notna().any())


def cumulative_order(analysis: pd.DataFrame | None) -> str:
    """How the cumulative meta-analysis added the studies when not every study has a year ("" otherwise, or
    without the analysed rows): in sheet order, or by year with the studies without one last
    (:func:`alliance_meta.plots.influence.order_note`, the note of the cumulative forest plot's axis)."""
    if analysis is None or "study_id" not in analysis or analysis.empty:
        return ""
    from alliance_meta.plots.influence import order_note

    return order_note(analysis)


@dataclass
class FamilySection:
    name: str
    metric: str
    paragraph: str
    tables: list[HtmlTable] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)

    @property
    def verbatim(self) -> tuple[str, ...]:
        """The text from the data its tables' notes name (moderators ...), which the paragraph names too."""
        return tuple(dict.fromkeys(text for table in self.tables for text in table.verbatim))


def html_table(name: str, frame: pd.DataFrame, title: str | None = None, note: str = "",
               collapsed: bool | None = None, source: str | None = None, verbatim=()) -> HtmlTable:
    """Format ``frame`` for reading (APA rounding); long tables start collapsed, very long ones are cut
    to their first :data:`MAX_SHOWN_ROWS` rows with a note naming ``source``, the file that holds every
    row (a path relative to the run's folder; without one the note says only that rows were cut). ``verbatim``:
    the names from the data among its headings (a moderator column "d"), set as written; the note defines the
    abbreviations it and the title use (:func:`~alliance_meta.report.formatting.note_defined`)."""
    if len(frame) > MAX_SHOWN_ROWS:
        where = f"; every row is in {source}" if source else ""
        note = (note + " " if note else "") + f"First {MAX_SHOWN_ROWS} of {len(frame):,} rows{where}."
        frame = frame.head(MAX_SHOWN_ROWS)
    readable = readable_frame(frame.reset_index(drop=True))
    title = title or TABLE_TITLES.get(name, name.replace("_", " ").capitalize())
    columns, names = [str(c) for c in frame.columns], set(map(str, verbatim))
    return HtmlTable(name, title, columns, readable.astype(str).values.tolist(),
                     collapsed=len(frame) > COLLAPSE_ROWS if collapsed is None else collapsed,
                     note=note_defined(note, title) if note else "",
                     verbatim=tuple(column for column in columns if column in names))


def result_tables(name: str, frame: pd.DataFrame, metric: str, level: float,
                  family: str | None = None, note: str = "",
                  settings: TableSettings = TableSettings(), names=(), title: str | None = None) -> list[HtmlTable]:
    """The manuscript layout of a table (when there is one; ``settings``: the run's, as its note says them), then
    every column of the CSV (``results/{family}/{name}.csv``), collapsed; ``note`` for a table without a layout;
    ``names``: the data's names (moderators) that a CSV's headings may be, set as written (:func:`html_table`);
    ``title``: the table's, of this run (default :data:`TABLE_TITLES`'s)."""
    source = f"results/{family}/{name}.csv" if family else f"{name}.csv"
    if name not in BUILDERS:
        note = note or (TABLE_NOTES.get(name, "") if len(frame) else "")
        return [html_table(name, frame, title, note=note, source=source, verbatim=names)]
    table = manuscript_table(name, frame, metric, level, settings)
    layout = HtmlTable(name, title or TABLE_TITLES.get(name, table.title), table.header, table.rows, note=table.note,
                       verbatim=table.verbatim)
    if frame.empty:  # "No rows." once, not again for the CSV's columns
        return [layout]
    return [layout, html_table(f"{name}-csv", frame,
                               f"{title or TABLE_TITLES.get(name, name)}: every column of {source}",
                               collapsed=True, source=source, verbatim=names)]


def inline_image(path: str | Path) -> str:
    """A ``data:image/webp;base64,...`` URI of a PNG plot, right-sized for the screen
    (:func:`alliance_meta.plots.previews.preview_uri`); the preview stored when the PNG was written, if any
    (:func:`~alliance_meta.plots.previews.preview_of_png`). The full-resolution PNG, PDF and SVG stay beside
    the report."""
    return preview_of_png(path)


def inline_figures(paths, workers: int = 1) -> dict[str, str]:
    """``{file name: data URI}`` of the PNG plots ``paths`` (:func:`inline_images`): the previews that a
    pipeline job writes to ``results/{family}/report_figures.json`` for the report to inline."""
    paths = list(paths)
    return {Path(path).name: uri for path, uri in zip(paths, inline_images(paths, workers))}


def inline_images(paths, workers: int = 1) -> list[str]:
    """:func:`inline_image` of every path, in order; ``workers`` threads at once (Pillow decodes, resizes
    and encodes without holding the GIL, so the report's dozens of figures take half the time on 2 cores)."""
    paths = list(paths)
    if workers <= 1 or len(paths) < 2:
        return [inline_image(path) for path in paths]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(inline_image, paths))


def plot_title(path: str | Path) -> str:
    """``forest_rater.png`` -> ``Forest plot: rater``."""
    stem = Path(path).stem
    if stem in PLOT_TITLES:
        return PLOT_TITLES[stem]
    kind, _, detail = stem.partition("_")
    if kind not in PLOT_TITLES:  # the whole name once (not "Bayes forest: forest")
        return stem.replace("_", " ").capitalize()
    return f"{PLOT_TITLES[kind]}: {detail.replace('_', ' ')}" if detail else PLOT_TITLES[kind]


def refit_notes(config: dict, level: float = 95) -> dict[str, str]:
    """Notes of the leave-one-out and cumulative tables, whose CSVs have no test column: the refits of the main
    model have its test, the headline's (:func:`~alliance_meta.models.fits.headline_test`), but a fit of one
    study a Wald interval (metafor's rma has no residual df for Knapp-Hartung there). The tests are named as in the
    other tables' notes (:data:`~alliance_meta.models.univariate.CI_TEST_NAMES`)."""
    test = headline_test(config)
    multilevel = config.get("dependence", "aggregate") == "multilevel"
    test = "t" if multilevel and test == "knha" else test
    interval = f"{level:g}% CIs: {CI_TEST_NAMES.get(test, test)}, the test of the headline estimate"
    single = ("" if multilevel or refit_test(test, 1) == test else
              f"; a fit of one study has a {CI_TEST_NAMES[refit_test(test, 1)]} CI (as metafor)")
    what = "each study (all its effect sizes)" if multilevel else "each study"
    # the cumulative table's first rows read "S119, position 119, k 1": position is no rank, k no study count there
    position = ("position = the row of the analysed data where the added study first appears; step = studies "
                "pooled so far" if multilevel else
                "position = the added study's row in the analysed data; k = studies pooled so far")
    return {"leave_one_out": f"The main model refitted without {what} in turn; {interval}{single}.",
            "cumulative": f"The main model refitted as studies are added; {interval}{single}. {position}."}


def bma_summary_note(hdi_prob: float) -> str:
    """The note of bma_summary.csv's table: the level of its credible intervals (``bayes.hdi_prob``, as every
    Bayesian interval of the run) and what its ``type`` means."""
    return (f"mean, median, ci_lower, ci_upper: the model-averaged posterior and its central "
            f"{probability_percent(hdi_prob)}% credible interval (equal-tailed, as RoBMA's); averaged = over all "
            "models (those without the parameter at 0), conditional = over the models with it.")


def selection_models_note(selection: pd.DataFrame | None) -> str:
    """The selection-model table's note: the sign-convention advice (:data:`NO_POSITIVE_EFFECT`) where its rows
    (selection_models.csv) have it; the table shows them without it (:func:`without_sign_advice`)."""
    if selection is None or "note" not in selection or not selection["note"].fillna("").astype(str).str.contains(
            NO_POSITIVE_EFFECT, regex=False).any():
        return ""
    return f"{NO_POSITIVE_EFFECT[0].upper()}{NO_POSITIVE_EFFECT[1:]}."


def infinite_moments_note(frame: pd.DataFrame | None) -> str:
    """The note of the prior-sensitivity table (bayes_prior_sensitivity.csv) where a cell is infinite, which it
    shows as ∞: which columns under which priors, and why, from the column's parameter as the exact posterior
    set it (:mod:`alliance_meta.bayes.summaries`): an odds ratio (``or``, ``or_new``: exp of a normal mixture over
    τ, whose moment E[exp(cτ²)] exists only where the prior's tail on τ falls faster, e.g. not
    the SD under a half-normal(0.5) prior on a log odds ratio) or a power of τ (``tau``, ``tau2``,
    ``theta_new``: a heavy-tailed prior, half-Cauchy or log-t, with few studies; :meth:`TauPrior.tau_moment_finite`);
    "" where every cell is finite."""
    from alliance_meta.bayes.summaries import CENTRAL_ROWS, POWER_MOMENTS

    if frame is None or frame.empty:
        return ""
    causes = {"or": ("the odds ratio is exp of a normal mixture over \u03c4, whose moment grows like "
                     "exp(c\u00b7\u03c4\u00b2), faster than the prior's tail on \u03c4 falls: it does not exist"),
              "tau": ("a moment of \u03c4 that does not exist under a heavy-tailed prior with so few studies (the "
                      "posterior's tail falls too slowly)"),
              "": "a posterior moment that is infinite under the row's prior"}
    found: dict[str, dict[str, list[str]]] = {}  # cause -> {" under every prior": ["or_new_sd"], ...}
    priors = frame["prior"].astype(str) if "prior" in frame else None
    for column in frame.select_dtypes("number"):
        infinite = np.isinf(frame[column].to_numpy(dtype=float))
        if not infinite.any():
            continue
        parameter = str(column).rpartition("_")[0]
        cause = "or" if parameter in CENTRAL_ROWS else "tau" if parameter in POWER_MOMENTS else ""
        under = ("" if priors is None else " under every prior" if infinite.all()
                 else f" under {', '.join(dict.fromkeys(priors[infinite]))}")
        found.setdefault(cause, {}).setdefault(under, []).append(str(column))
    if not found:
        return ""
    return " ".join(f"\u221e ({'; '.join(', '.join(columns) + under for under, columns in groups.items())}): "
                    f"{causes[cause]}." for cause, groups in found.items()) + " The intervals describe these posteriors."


def ordered(names) -> list[str]:
    known = [name for name in TABLE_TITLES if name in names]
    return known + sorted(set(names) - set(known))


def family_section(family: str, metric: str, tables: dict[str, pd.DataFrame], analysis: pd.DataFrame | None,
                   images: list[str | Path], counts: dict, config: dict, image_workers: int = 1,
                   inlined: dict[str, str] | None = None, sheet_notes=(), facts: dict | None = None) -> FamilySection:
    """Paragraph, tables and figures of one family. ``inlined`` maps an image's file name to its data URI
    (:func:`inline_figures`, made beforehand); the other images are inlined here by ``image_workers`` threads;
    ``sheet_notes``: the notes of reading the sheet (:meth:`TableSettings.from_config`); ``facts``: those of the
    family's effect sizes (:func:`~alliance_meta.report.summary.family_facts`; without them, whether a study has
    several effect sizes from ``counts``)."""
    pooling = config.get("pooling", {})
    method, tests = headline_method(config), pooling.get("tests", ["z", "knha"])
    paragraph = results_paragraph(family, metric, tables, counts, method, tests, pooling.get("level", 95), config)
    headline = main_row(tables.get("pooled"), method, tests)
    rob = risk_of_bias_sentence(analysis, config.get("risk_of_bias"), tables.get("rob_sensitivity"), metric,
                                pooling.get("level", 95), main_test=headline.get("test"))
    certainty = certainty_sentence(tables.get("summary_of_findings"))  # the suggested GRADE rating, last
    section = FamilySection(family, metric, " ".join(p for p in (paragraph, rob, certainty) if p))
    # study_characteristics lists the studies; a three-level model's analysis.csv lists its effect sizes: kept
    if analysis is not None and ("study_characteristics" not in tables or config.get("dependence") == "multilevel"):
        columns = [c for c in STUDY_COLUMNS if c in analysis]
        section.tables.append(html_table("studies", analysis[columns],
                                         note=f"yi and vi in the analysis metric ({metric}).",
                                         source=f"data/processed/{family}/analysis.csv"))
    level = pooling.get("level", 95)
    # one effect size per study (the family's counts): the notes do not speak of composites
    settings = replace(TableSettings.from_config(config, sheet_notes),
                       **{"several_per_study": several_in_counts(counts), **(facts or {})})
    notes = {**refit_notes(config, level), "bma_summary": bma_summary_note(settings.hdi_prob),
             "selection_models": selection_models_note(tables.get("selection_models")),
             "bayes_prior_sensitivity": infinite_moments_note(tables.get("bayes_prior_sensitivity"))}
    if tables.get("selection_models") is not None:  # the advice in the note, once, not beside each row's reasons
        tables = {**tables, "selection_models": without_sign_advice(tables["selection_models"])}
    # the model averaging named by what it fitted: without the bias models no "robust" (bma.bias false)
    titles, plot_titles = bma_titles(bma_bias(tables.get("bma_summary"), config))
    section.tables += [table for name in ordered(tables)
                       for table in result_tables(name, tables[name], metric, level, family,
                                                  notes.get(name, "") if len(tables[name]) else "", settings,
                                                  data_names(config), titles.get(name))]
    reasons = empty_table_reasons(tables, analysis, config)
    undefined_refit_heterogeneity(section.tables, tables.get("leave_one_out"), analysis)
    order = cumulative_order(analysis)
    for table in section.tables:
        if not table.rows and table.name in reasons:
            table.empty = reasons[table.name]
        if order and table.name in ("cumulative", "cumulative-csv"):  # as the cumulative forest plot's axis says
            table.title = table.title.replace(" (by year)", f": {order}")
    paths = sorted(images, key=_figure_order)
    placeholders = placeholder_plots(tables, config, reasons)  # a one-line message: its sentence, not its image
    inlined = dict(inlined or {})
    missing = [path for path in paths if Path(path).name not in inlined and Path(path).stem not in placeholders]
    inlined.update(inline_figures(missing, image_workers))
    section.figures = [Figure(plot_titles.get(Path(path).stem) or plot_title(path), **(
        {"text": placeholders[Path(path).stem]} if Path(path).stem in placeholders
        else {"data_uri": inlined[Path(path).name]})) for path in paths]
    return section


def undefined_refit_heterogeneity(tables: list[HtmlTable], leave_one_out: pd.DataFrame | None,
                                  analysis: pd.DataFrame | None) -> None:
    """A dash, not ``> .999``, for the heterogeneity p of a leave-one-out refit of one row of the analysed data (two
    studies: Q on 0 df is undefined; leave_one_out.csv has metafor's QEp of 1 and no df, so the df is counted from
    analysis.csv, one row per study composite or, three-level, per effect size), as
    :func:`~alliance_meta.report.formatting.exact_cells` writes it where a table has its df."""
    if leave_one_out is None or leave_one_out.empty or analysis is None or "study_id" not in analysis \
            or "study_id" not in leave_one_out:
        return
    rows_of = analysis["study_id"].astype(str).value_counts()
    left = len(analysis) - leave_one_out["study_id"].astype(str).map(rows_of).fillna(0)
    for table in tables:
        if table.name in ("leave_one_out", "leave_one_out-csv") and "q_p" in table.columns:
            column = table.columns.index("q_p")
            for row, rows_left in zip(table.rows, left):
                if rows_left == 1:
                    row[column] = apa_p(math.nan)


def _figure_order(path) -> tuple[int, str]:
    kinds = list(PLOT_TITLES)
    kind = Path(path).stem.partition("_")[0]
    return (kinds.index(kind) if kind in kinds else len(kinds), Path(path).stem)


#: How the report sets the parts of :func:`~alliance_meta.report.formatting.typeset_parts`, as the Word tables do.
TYPESET_TAGS = {"symbol": "<i>{}</i>", "italic": "<i>{}</i>", "subscript": "<sub>{}</sub>"}


def typeset(text: object, verbatim=()) -> Markup:
    """``text`` escaped, its statistical symbols (formatting.STATISTICAL_SYMBOL) italic and its Q_M, SD_res, SD_\u03c1
    and R\u0302 (formatting.TYPESET_SYMBOLS) typeset as in the Word tables: ``<i>k</i>``, ``<i>Q</i><sub>M</sub>``,
    ``<i>R\u0302</i>``; initials and ``verbatim`` (text from the data) as written."""
    return Markup("".join(TYPESET_TAGS.get(kind, "{}").format(escape(passage))
                          for passage, kind in typeset_parts(str(text), verbatim)))


def environment() -> jinja2.Environment:
    """Jinja2 environment over the package's templates, with HTML autoescaping always on."""
    loader = jinja2.FileSystemLoader(Path(__file__).parent / "templates")
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["counted"] = counted  # {{ rows | length | counted("row") }}: "1 row", "2 rows"
    env.filters["typeset"] = typeset  # {{ table.note | typeset(table.verbatim) }}: <i>k</i>, <i>Q</i><sub>M</sub>
    return env


@dataclass
class CodingSection:
    """Double coding: a sentence, the notes of reading and matching the sheets, and the agreement and
    disagreement tables."""

    paragraph: str
    tables: list[HtmlTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verbatim: tuple[str, ...] = ()  # the paragraph's text from the data (the second coder's sheet), as written


def coding_section(agreement: pd.DataFrame, disagreements: pd.DataFrame, second_coder: str,
                   notes=()) -> CodingSection:
    """The report's double-coding section from ``results/agreement.csv``, ``results/disagreements.csv`` and the
    ``notes`` of reading and matching the two sheets (:func:`alliance_meta.analyses.agreement.compare_coders`'s,
    in ``data/processed/agreement_notes.txt``: rows matched by position, columns of one coder only, identifiers
    spelled differently, ...); the paragraph tells of studies in one sheet only when a note names them."""
    disagreements = disagreements.astype({column: float for column in ("sheet_row_coder1", "sheet_row_coder2")
                                          if column in disagreements})  # a missing row is NaN, not pd.NA
    from alliance_meta.analyses.agreement import CONVERTED, ONE_CODER_NOTE_END, disagreement_counts

    counts = disagreement_counts(disagreements)
    compared = agreement.loc[agreement["column"] == "yi", "n_compared"]
    # the counts of the sentence are set beside one another: numerals for all where one is 10 or more (APA 6.33)
    beside = (*compared.iloc[:1], counts.cells, counts.converted, counts.rows)
    consequence = (" (changing the converted effect size or its variance in "
                   f"{counted(counts.converted, 'row', words=True, compared=beside)})" if counts.converted else "")
    both = (f", on {counted(compared.iloc[0], 'effect size', words=True, compared=beside)} coded by both"
            if len(compared) else "")
    cells = counted(counts.cells, "cell was", "cells were", words=True, compared=beside)
    one_coder = counted(counts.rows, "effect size of those studies was", "effect sizes of those studies were",
                        words=True, compared=beside)
    explained = "note" in agreement and agreement["note"].fillna("").astype(str).str.strip().ne("").any()
    once_per_study = (" (for the risk-of-bias columns, which hold one judgement per study, of the studies both judged)"
                      if agreement["column"].astype(str).str.startswith("rob_").any() else "")
    one_sheet_only = (" (a study in one sheet only was not double-coded and is not compared)"
                      if any(ONE_CODER_NOTE_END in note for note in notes) else "")
    paragraph = (f"A second coder's sheet ({second_coder}) was compared with the data sheet in the studies both "
                 f"coders coded{one_sheet_only}, row by row on "
                 f"study_id and es_id{both}: {cells} coded differently{consequence} and {one_coder} coded by one "
                 "coder only. Agreement per column: percent agreement of the cells both coders filled"
                 f"{once_per_study}, Cohen's kappa and Gwet's AC1 for categorical columns, the intraclass correlation "
                 "ICC(2,1) (absolute agreement, single rater) for numeric columns and for the converted effect sizes (yi) and variances "
                 "(vi)"
                 f"{'; the note says why a coefficient is blank' if explained else ''}. The analysis uses the data "
                 "sheet alone.")

    shown = disagreements.astype(object)  # the converted numbers rounded for reading; the CSV keeps every digit
    for pair, rows in ((["coder1", "coder2"], shown["column"].isin(CONVERTED).to_numpy()),
                       (["yi_coder1", "yi_coder2"], np.ones(len(shown), dtype=bool))):
        if rows.any():
            shown.loc[rows, pair] = np.array([told_apart(*values) for values in shown.loc[rows, pair].to_numpy()],
                                             dtype=object)
    notes = [note for note in notes if note.strip()]
    return CodingSection(paragraph, notes=notes, verbatim=(str(second_coder),), tables=[
        html_table("agreement", agreement, "Agreement of the two coders per column", collapsed=False,
                   source="results/agreement.csv"),
        html_table("disagreements", shown, "Disagreements to resolve (spreadsheet rows of both sheets)",
                   note="Rows with column (row) are effect sizes one coder missed in a study both coded. The converted "
                        "yi and vi have the fewest decimals (at least 3) that tell the two values apart; "
                        "results/disagreements.csv has every digit.",
                   source="results/disagreements.csv"),
    ])


@dataclass
class ExtraSection:
    """A report section of its own: an id, a heading, a paragraph, tables and figures."""

    id: str
    title: str
    paragraph: str
    tables: list[HtmlTable] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    verbatim: tuple[str, ...] = ()  # the paragraph's text from the data and the config (study ids ...), as written


def changes_section(changes: pd.DataFrame, metrics: dict[str, str], snapshot: dict | None = None,
                    level: float = 95, defaults: dict | None = None) -> ExtraSection:
    """"Changes since the previous sheet version" from ``results/changes.csv``, naming the sheet versions compared
    from this sheet's ``snapshot`` in results/history/ (:func:`alliance_meta.report.changes.compared_sentence`); ``level``:
    pooling.level, of the pooled CI; ``defaults``: the compared config's defaults (changes.config_defaults)."""
    from alliance_meta.report.changes import changes_paragraph, changes_verbatim, compared_sentence, numbers_read_back

    changes = numbers_read_back(changes)  # a recoded cell's codes make previous and current text columns
    tables = []
    if not changes["change"].isin(["no_previous_run", "no_change"]).all():
        shown = changes.astype({column: object for column in ("previous", "current", "difference")})
        # k whole as in the paragraph, a k that fell with a typographic minus; the studies of rob_overall_rederived
        counts = shown["quantity"].eq("k") | shown["change"].eq("rob_overall_rederived")
        for column in ("previous", "current", "difference"):
            shown.loc[counts, column] = [apa_integer(value) if value == value else ""
                                         for value in changes.loc[counts, column]]
        compared = ["previous", "current", "difference"]
        numbers = changes[compared].apply(pd.to_numeric, errors="coerce")
        # a moderator test's p that crossed .05 as every p of the report (not 0.000 for p < .001); a flip of the
        # CI or HDI (1 = excludes 0) as no / yes; neither has a difference in changes.csv (changes.COLUMNS)
        p_values = changes["change"].eq("moderator_test_flip")
        flips = changes["change"].isin(["significance_flip", "credible_interval_flip"])
        for column in ("previous", "current"):
            shown.loc[p_values, column] = [apa_p(value) if is_finite(value) else ""
                                           for value in numbers.loc[p_values, column]]
            shown.loc[flips, column] = [("yes" if value else "no") if is_finite(value) else ""
                                        for value in numbers.loc[flips, column]]
        shown.loc[flips | p_values, "difference"] = ""  # none in changes.csv; a changes.csv of an earlier version had
        for index in shown.index[~counts & ~p_values & ~flips & numbers.notna().all(axis=1)]:
            values = numbers.loc[index].tolist()
            usual = [format_cell(column, value) for column, value in zip(compared, values)]
            if usual[0] == usual[1] or usual[2] == format_cell("difference", 0.0):  # not 0.006, 0.007, 0.000
                shown.loc[index, compared] = told_apart(values[0], values[1], difference=values[2])
        for column in ("sheet_row", "sheet_row_previous"):  # spreadsheet rows, whole (a column with blanks is float)
            shown[column] = [f"{value:.0f}" if pd.notna(value) else "" for value in changes[column]]
        tables.append(html_table("changes", shown,
                                 "What changed since the last run of the previous sheet version (results/changes.csv)",
                                 note="Sheet rows as a spreadsheet shows them (header = row 1); pooled rows in the "
                                      "analysis metric; snapshots of every run in results/history/.",
                                 source="results/changes.csv"))
    paragraph = " ".join(filter(None, [compared_sentence(snapshot, defaults),
                                       changes_paragraph(changes, metrics, level)]))
    return ExtraSection("changes", "Changes since the previous sheet version", paragraph, tables,
                        verbatim=changes_verbatim(changes))


def prisma_section(counts, image: str) -> ExtraSection:
    """"Study selection (PRISMA 2020)": the flow of the config's ``prisma:`` counts
    (:class:`~alliance_meta.inputs.prisma.PrismaCounts`) and the diagram (``image``: the inlined PNG), simulated
    counts labelled as the diagram labels them."""
    from alliance_meta.inputs.prisma import SIMULATED_LABEL, flow_sentences, included_sentence

    simulated = f"{SIMULATED_LABEL} (prisma: simulated: true in the config). " if counts.simulated else ""
    return ExtraSection("prisma", "Study selection (PRISMA 2020)",
                        f"{simulated}{flow_sentences(counts)} Flow diagram of the Preferred Reporting Items for "
                        "Systematic Reviews and Meta-Analyses (PRISMA 2020; Page et al., 2021): "
                        f"{included_sentence(counts)}; results/prisma.pdf, .png and .svg.",
                        figures=[Figure("PRISMA 2020 flow diagram", image)])


def render_report(*, sheet: pd.DataFrame, effect_sizes: pd.DataFrame, families: dict[str, dict],
                  config: dict, provenance: dict, methods: str, absent_families=(),
                  families_left_out=(), earlier_outputs=(), sheet_notes=(), coding: CodingSection | None = None,
                  extra_sections=(), image_workers: int = 1) -> str:
    """The report's HTML. ``families`` maps a family to ``metric``, ``tables``, ``analysis``, ``images`` and
    optionally ``inlined`` (file name -> data URI of images inlined beforehand, :func:`inline_figures`);
    ``absent_families`` are configured families without rows in the sheet (one sentence each);
    ``families_left_out`` are sentences on families with rows that the config does not list;
    ``earlier_outputs``: files under results/ of an earlier run that this config no longer makes, one line per
    reason (alliance_meta.inputs.planning.earlier_outputs_lines);
    ``sheet_notes`` are the notes of reading and validating the sheet (listed in the Data section); ``coding``
    is the double-coding section (:func:`coding_section`), when there is a second coder; ``extra_sections``
    (:class:`ExtraSection`: study selection, certainty of evidence, changes) follow the results;
    ``image_workers``: threads that inline the figures."""
    counts = family_counts(effect_sizes, list(families))
    count_of = {row["family"]: row for row in counts.to_dict("records")}
    sections = [family_section(name, part["metric"], part["tables"], part.get("analysis"), part["images"],
                               count_of.get(name, {}), config, image_workers, part.get("inlined"), sheet_notes,
                               family_facts(effect_sizes, name))
                for name, part in families.items()]
    no_n = (counts["n"] == 0) & (counts["studies_without_n"] > 0)  # a sum over no study is no N of 0 patients
    summary_tables = [html_table("families", counts.assign(n=counts["n"].where(~no_n)),
                                 "Studies, effect sizes and patients per family",
                                 note="N sums the largest n of each study's effect sizes"
                                 + ("; blank where no study gave its n." if no_n.any() else "."))]
    conversions = conversion_counts(effect_sizes, list(families))
    if len(conversions):
        summary_tables.append(html_table(
            "conversions", conversions, "How the effect sizes were computed",
            note="Each statistic as the sheet reports it, converted to the family's analysis metric; sign reversed: "
                 "rows with reverse = yes. Every row's conversion is in data/processed/effect_sizes.csv."))
    analysed = effect_sizes[effect_sizes["family"].isin(list(families))] if "family" in effect_sizes else effect_sizes
    # not of a family the config leaves out; a rob_* moderator's levels in the tool's order, as subgroups.csv
    levels = moderator_counts(analysed, config.get("moderators", []), config.get("risk_of_bias"))
    if len(levels):  # no categorical moderator coded: no empty table
        summary_tables.append(html_table("moderator_levels", levels, "Studies and effect sizes per moderator level"))
    for table in summary_tables:  # formatted by their column names, then headed in words
        table.columns = [DATA_HEADERS.get(column, column) for column in table.columns]
    # each abbreviation spelled out at its first use in the report's reading order, as the Methods alone do
    extra_sections = list(extra_sections)
    texts = [(section.paragraph, section.verbatim) for section in [*sections, *extra_sections]]
    texts += ([(coding.paragraph, coding.verbatim)] if coding is not None else []) + [(methods, ())]
    spelled = defined_in_order([text for text, _ in texts], [kept for _, kept in texts])
    for section, paragraph in zip(sections, spelled):
        section.paragraph = paragraph
    extra_sections = [replace(extra, paragraph=paragraph)
                      for extra, paragraph in zip(extra_sections, spelled[len(sections):])]
    coding = replace(coding, paragraph=spelled[-2]) if coding is not None else None
    methods = spelled[-1]
    return environment().get_template("report.html.j2").render(
        simulated=is_simulated(sheet), simulated_data=SIMULATED_DATA, sections=sections,
        summary_tables=summary_tables, methods=methods, provenance=provenance, coding=coding,
        title="Therapeutic alliance meta-analysis",
        absent_families=list(absent_families), families_left_out=list(families_left_out),
        earlier_outputs=list(earlier_outputs),
        sheet_notes=list(sheet_notes), extra_sections=list(extra_sections))
