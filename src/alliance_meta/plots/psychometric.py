"""Forest plot of a psychometric meta-analysis: correlations corrected for artifacts.

One row per study with its individually corrected correlation r_c (Schmidt & Hunter 2015,
ch. 3) and the CI r_c -/+ z sqrt(v_c) from its corrected sampling-error variance (square
area proportional to the weight n A^2); then the bare-bones mean of the observed
correlations and the mean corrected correlations of the individual-correction and
artifact-distribution analyses, each with its CI (diamond) and credibility interval (bar).
Drawn with the publication forest plot's layout and style (:mod:`alliance_meta.plots.forest`)
on the correlation scale itself, where the Hunter-Schmidt intervals are symmetric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from alliance_meta.plots import forest_draw
from alliance_meta.plots.forest import pooled_label, save_pages, summary_label, weight_text
from alliance_meta.plots.forest_layout import Row
from alliance_meta.plots.forest_options import (
    ForestOptions,
    sort_studies,
    study_labels,
    wrap,
)
from alliance_meta.plots.style import symbol

SCALE = "r"
SUMMARIES = (("individual", "Individual corrections, mean \u03c1", "overall"),
             ("artifact_distribution", "Artifact distributions, mean \u03c1", "subtotal"),
             ("bare_bones", f"Bare-bones, mean observed {symbol('r')}", "subtotal"))


def _interval(options: ForestOptions, centre: float, lower: float, upper: float) -> str:
    values = [options.number(v, SCALE) for v in (centre, lower, upper)]
    return f"{values[0]} [{values[1]}, {values[2]}]"


def study_rows(studies: pd.DataFrame, level: float, options: ForestOptions) -> list[Row]:
    """One row per study: corrected r (``r_corrected``) -/+ z sqrt(``var_e_c``); weight n A^2 in percent."""
    rho, variance = studies["r_corrected"].to_numpy(float), studies["var_e_c"].to_numpy(float)
    weights = studies["weight"].to_numpy(float)
    critical = special.ndtri(0.5 + level / 200)
    labels = study_labels(studies, options.labels, font=options.font_family)
    n = studies["n"].to_numpy(float)
    order = sort_studies(studies.assign(yi=rho), weights, options.sort)
    rows = []
    for i in order:
        lower, upper = rho[i] - critical * np.sqrt(variance[i]), rho[i] + critical * np.sqrt(variance[i])
        rows.append(Row("study", wrap(labels[i], options.label_width), f"{n[i]:,.0f}",
                        _interval(options, rho[i], lower, upper), weight_text(100 * weights[i] / weights.sum()),
                        rho[i], lower, upper, weights[i] / weights.max()))
    return rows


def summary_rows(table: pd.DataFrame, cred_level: float, options: ForestOptions) -> list[Row]:
    """A diamond (mean with its CI) and a credibility-interval bar for each method in ``table``."""
    rows = []
    for method, label, kind in SUMMARIES:
        found = table[table["method"] == method]
        if found.empty or not np.isfinite(found.iloc[0]["rho"]):
            continue
        row = found.iloc[0]
        rows.append(Row(kind, summary_label(pooled_label(label, str(int(row['k'])), kind), options), "",
                        _interval(options, row["rho"], row["ci_lower"], row["ci_upper"]), "",
                        row["rho"], row["ci_lower"], row["ci_upper"]))
        if np.isfinite(row["cr_lower"]) and np.isfinite(row["cr_upper"]):
            text = f"[{options.number(row['cr_lower'], SCALE)}, {options.number(row['cr_upper'], SCALE)}]"
            rows.append(Row("interval", [f"{cred_level:g}% credibility interval"], "", text, "", row["rho"],
                            row["cr_lower"], row["cr_upper"]))
    return rows


def footnote(table: pd.DataFrame, level: float, cred_level: float) -> str:
    """What the marks mean, what was corrected, and what the n column gives: a study's n as
    :func:`alliance_meta.analyses.psychometric.collapse_within_study` pools it (23 for a study of 24 patients
    whose four effect sizes have n of 22 to 24, where the study-characteristics table says 24)."""
    individual = table[table["method"] == "individual"]
    corrected = individual.iloc[0]["note"].split(";")[0] if len(individual) else "artifacts"
    n = symbol("n")  # statistics italic (APA 2020, 6.46), as in the other forest plots' footnotes
    return (f"Hunter\u2013Schmidt psychometric meta-analysis. Squares: correlations {corrected} (area "
            f"proportional to the weight {n}\u00b7{symbol('A')}\u00b2) with {level:g}% CIs from their corrected "
            f"sampling-error variances. Diamonds: means with {level:g}% CIs; bars: {cred_level:g}% credibility "
            f"intervals of the true correlations (bare-bones: of the observed correlations, not corrected). {n}: a "
            f"study's {n} as psychmeta pools the {n} of its effect sizes, \u03a3{n}\u00b2/\u03a3{n}, which can "
            "differ from its sample size.")


def beyond_note(rows: list[Row], options: ForestOptions, arrows: bool) -> str:
    """What the arrows mean, on a page of the figure of ``rows`` that draws one (``arrows``: an interval reaches
    beyond the axis), and where the axis ends when that is a limit of a correlation (the t intervals of a few
    studies, or a corrected r, can pass ±1)."""
    if not arrows:
        return ""
    low, high = forest_draw.x_limits(rows, SCALE, options)
    ends = [end for end, value in (("−1", low), ("1", high)) if abs(abs(value) - 1) < 1e-12]
    limit = ("±1, the limits of a correlation" if len(ends) == 2 else f"{ends[0]}, a limit of a correlation"
             if ends else "")
    return ((f" The axis ends at {limit}." if limit else "")
            + " Arrows mark intervals that reach beyond the axis; their bounds are given at the right as computed.")


def psychometric_forest(studies: pd.DataFrame, table: pd.DataFrame, level: float = 95.0, cred_level: float = 80.0,
                        options: ForestOptions | None = None, paged: bool = False, data_note: str | None = None):
    """Figures (pages) of the corrected correlations (``PsychometricAnalysis.studies``) and the
    rows of ``psychometric.csv``."""
    options = options or ForestOptions()
    rows = study_rows(studies, level, options) + summary_rows(table, cred_level, options)
    end = " " + data_note if data_note else ""
    return forest_draw.draw_pages(rows, SCALE, level, options,
                                  lambda arrows: footnote(table, level, cred_level) + beyond_note(rows, options, arrows)
                                  + end, paged)


def save_psychometric_forest(studies: pd.DataFrame | None, table: pd.DataFrame, paths, level: float = 95.0,
                             cred_level: float = 80.0, options: ForestOptions | None = None,
                             data_note: str | None = None, logger=None) -> list:
    """Draw and write the forest plot to every path (PDF in pages of ``rows_per_page`` studies); a short
    message figure when no correlation could be corrected (no reliabilities). ``logger`` and the figures returned
    as :func:`~alliance_meta.plots.forest.save_pages`'s."""
    options = options or ForestOptions()
    if studies is None or len(studies) == 0:
        text = "No reliabilities (rxx, ryy) in the sheet or the config: no corrected correlations to plot."
        return save_pages(lambda paged: [forest_draw.message(text, data_note)], paths, options, logger,
                          "psychometric forest plot")
    return save_pages(lambda paged: psychometric_forest(studies, table, level, cred_level, options, paged, data_note),
                      paths, options, logger, "psychometric forest plot")
