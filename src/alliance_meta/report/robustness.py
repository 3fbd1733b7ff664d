"""The Results' sentences on the analyses beyond the main model that the Methods describe: robust variance estimation
(rve.csv), location-scale models (location_scale.csv, location_scale_tau2.csv), the comparison of nested
meta-regressions (model_comparison.csv), GOSH (gosh_studies.csv), the multiverse (multiverse_summary.csv) and the
suggested certainty of the evidence (summary_of_findings.csv). Each
gives the estimate, its interval or test and what a reader needs to judge it, from the CSV's numbers; "" without a
table or a fitted row."""

from __future__ import annotations

import pandas as pd

from alliance_meta.engines.robust import SMALL_DF
from alliance_meta.engines.transforms import METRIC_NAMES
from alliance_meta.report.effects import display
from alliance_meta.report.formatting import (apa_count, apa_df, apa_integer, apa_number, apa_p_clause, apa_setting,
                                             counted, format_cell, is_finite, listed)

#: rve.csv's models in the Results' words (Hedges, Tipton & Johnson, 2010; Pustejovsky & Tipton, 2018)
RVE_MODELS = {"corr": "correlated effects", "hier": "hierarchical effects", "cr2": "the study composites with CR2 "
              "standard errors"}

#: the same models named in a list ("the df of the correlated-effects and CR2 models are below 4")
RVE_SHORT_NAMES = {"corr": "correlated-effects", "hier": "hierarchical-effects", "cr2": "CR2"}


def _empty(frame: pd.DataFrame | None, *columns: str) -> bool:
    return frame is None or frame.empty or not set(columns) <= set(frame)


def rve_sentence(rve: pd.DataFrame | None, metric: str, level: float = 95,
                 sensitivity: pd.DataFrame | None = None) -> str:
    """``Robust variance estimation gave r = .29, 95% CI [.27, .32] (correlated effects, df = 111.40; ...); ...``: each
    model's intercept with its CI and small-sample df, and, with rve_sensitivity.csv, the range of the correlated-
    effects estimate over the assumed correlations."""
    if _empty(rve, "model", "estimate", "ci_lower", "ci_upper"):
        return ""
    show = display(metric)
    rows = rve[rve["estimate"].map(is_finite)]
    if "term" in rows:
        rows = rows[rows["term"].astype(str).eq("intercept")]
    parts, small = [], []  # the models whose small-sample df is below 4
    for row in rows.itertuples():
        k, studies = getattr(row, "k", None), getattr(row, "n_studies", None)
        counts = ([f"k = {counted(k, 'composite' if row.model == 'cr2' else 'effect size')}"] if is_finite(k)
                  else []) + ([counted(studies, "study", "studies", words=True, compared=(k,))]
                              if is_finite(studies) and row.model != "cr2" else [])
        df = getattr(row, "df", None)
        if is_finite(df) and float(df) < SMALL_DF:
            small.append(row.model)
        parts.append(f"{show.symbol} = {show.number(row.estimate)}, {level:g}% CI "
                     f"{show.interval(row.ci_lower, row.ci_upper)} ({RVE_MODELS.get(row.model, row.model)}"
                     + (f", df = {apa_df(df)}" if is_finite(df) else "")
                     + (f"; {', '.join(counts)}" if counts else "") + ")")
    if not parts:
        return ""
    sentence = f"Robust variance estimation gave {listed(parts, '; ')}"
    # what qualifies the models' intervals, in one bracket straight after them (not after the sensitivity clause,
    # where it read as a note on that estimate)
    qualifiers = []
    flat = [row.model for row in rows.itertuples()  # homogeneous: residuals of 0, an SE of 1e-17, a CI of no width
            if is_finite(getattr(row, "se", None)) and abs(float(row.se)) <= 1e-12 * max(1.0, abs(float(row.estimate)))]
    if flat:
        which = ("every interval has" if len(flat) == len(parts) else
                 f"the {listed([RVE_SHORT_NAMES.get(model, model) for model in flat])} "
                 f"interval{' has' if len(flat) == 1 else 's have'}")
        qualifiers.append(f"{which} no width: the effect sizes do not vary about the estimate, so the robust "
                          "standard error is 0")
    if small:  # a df below 4: the robust test is not to be trusted (Tipton, 2015), as the CR2 tests say; said once
        named = [RVE_SHORT_NAMES.get(model, model) for model in small]  # not rve.csv's codes ("corr")
        which = ("every df is" if len(small) == len(parts) else
                 f"the df of the {listed(named)} model{' is' if len(named) == 1 else 's are'}")
        qualifiers.append(f"{which} below {SMALL_DF}: these robust intervals are not to be trusted; Tipton, 2015")
    if qualifiers:
        sentence += f" ({'; '.join(qualifiers)})"
    if not _empty(sensitivity, "rho", "estimate") and sensitivity["estimate"].map(is_finite).any():
        fitted = sensitivity[sensitivity["estimate"].map(is_finite)]
        low, high = fitted["estimate"].min(), fitted["estimate"].max()
        rho = pd.to_numeric(fitted["rho"], errors="coerce")
        values = (f"{show.symbol} = {show.number(low)}" if show.number(low) == show.number(high)
                  else f"{show.symbol} = {show.number(low)} to {show.number(high)}")
        sentence += (f"; with an assumed correlation from {_setting(rho.min())} to {_setting(rho.max())} "
                     f"between the effect sizes of a study the correlated-effects estimate was {values}")
    return sentence + "."


def _setting(value: float) -> str:
    """An assumed correlation as the Methods write it: ``0``, ``1``, ``.50``."""
    return str(int(value)) if float(value).is_integer() else apa_setting(value)


def location_scale_sentence(models: pd.DataFrame | None, tau2: pd.DataFrame | None, metric: str) -> str:
    """``A location-scale model of τ² by rater (k = 214) gave τ² = 0.024 (observer), 0.012 (patient) and 0.012
    (therapist; Fisher's z); likelihood-ratio test against one τ², χ²(2) = 2.29, p = .319.``: per fitted model
    (location_scale.csv) τ² at each level (location_scale_tau2.csv) and its test against one τ²."""
    if _empty(models, "model", "estimate", "lrt", "lrt_p"):
        return ""
    sentences = []
    for name, rows in models[models["estimate"].map(is_finite)].groupby("model", sort=False):
        row = rows.iloc[0]
        if not is_finite(row["lrt"]):
            continue
        k = f" (k = {apa_integer(row['k'])})" if is_finite(row.get("k")) else ""
        levels = (tau2[tau2["model"].astype(str).eq(str(name)) & tau2["tau2"].map(is_finite)]
                  if not _empty(tau2, "model", "level", "tau2") else pd.DataFrame())
        # a continuous moderator's levels are numbers (its mean and mean -+ SD, as Python writes them), and a model
        # of several moderators lists each one's levels: each named with its moderator there ("year = 1997.88")
        several = levels.get("variable", pd.Series(dtype=object)).nunique() > 1
        values = [f"{apa_number(value, 3)} ({_level_text(level, variable, several)})"
                  for level, value, variable in zip(levels.get("level", []), levels.get("tau2", []),
                                                    levels.get("variable", [""] * len(levels)))]
        if values:
            values[-1] = values[-1][:-1] + f"; {METRIC_NAMES[metric]})"
        gave = f" gave \u03c4\u00b2 = {listed(values)}" if values else ""
        df = f"({apa_df(row['lrt_df'])})" if is_finite(row.get("lrt_df")) else ""
        sentences.append(f"A location-scale model of \u03c4\u00b2 by {row.get('scale_formula', name)}{k}{gave}; "
                         f"likelihood-ratio test against one \u03c4\u00b2, \u03c7\u00b2{df} = "
                         f"{apa_number(row['lrt'], 2)}, {apa_p_clause(row['lrt_p'])}.")
    return " ".join(sentences)


def _level_text(level, variable, several: bool) -> str:
    """A level of location_scale_tau2.csv as the Results name it: ``patient``; ``year = 1997.88`` (a number, a
    continuous moderator's value, written as the tables write a moderator's values); ``rater: patient`` among the
    levels of several moderators."""
    if is_finite(level):
        return f"{variable} = {format_cell('value', float(level))}" if variable else format_cell("value", float(level))
    return f"{variable}: {level}" if several and variable else str(level)


def model_comparison_sentence(comparison: pd.DataFrame | None) -> str:
    """``Nested meta-regressions (maximum likelihood): modality vs intercept only χ²(5) = 9.39, p = .094, ΔAIC =
    0.61; ...``: each comparison's likelihood-ratio test and the AIC of the fuller model minus the reduced one's
    (negative: the fuller model is preferred)."""
    if _empty(comparison, "comparison", "model", "lrt", "lrt_p", "aic"):
        return ""
    clauses = []
    for name, rows in comparison.groupby("comparison", sort=False):
        full, reduced = rows[rows["model"].eq("full")], rows[rows["model"].eq("reduced")]
        if full.empty or reduced.empty or not is_finite(full["lrt"].iloc[0]):
            continue
        full, reduced = full.iloc[0], reduced.iloc[0]
        df = f"({apa_df(full['lrt_df'])})" if is_finite(full.get("lrt_df")) else ""
        delta = float(full["aic"]) - float(reduced["aic"])
        named = str(name).replace(" vs 1", " vs intercept only")
        clauses.append(f"{named} \u03c7\u00b2{df} = {apa_number(full['lrt'], 2)}, {apa_p_clause(full['lrt_p'])}, "
                       f"\u0394AIC = {apa_number(delta, 2)}")
    if not clauses:
        return ""
    # ΔAIC defined where it stands: "AIC" inside it is no use that spelled_out would define (Δ is a letter)
    return ("Nested meta-regressions, compared by likelihood-ratio tests (maximum likelihood; \u0394AIC = Akaike "
            "information criterion of the fuller minus the reduced model, negative favouring the fuller): "
            f"{'; '.join(clauses)}.")


def gosh_sentence(studies: pd.DataFrame | None, metric: str) -> str:
    """``In the GOSH analysis of 125 studies, the inclusion of a single study shifted the subsets' mean estimate by at
    most 0.007 (Fisher's z; S117) and their mean I² by at most 5.5 percentage points (S071)``: the largest shift of
    each (with minus without, gosh_studies.csv), the studies a reader would look at in the GOSH plot."""
    if _empty(studies, "study_id", "estimate_shift", "i2_shift"):
        return ""
    shifts = studies[studies["estimate_shift"].map(is_finite) & studies["i2_shift"].map(is_finite)]
    if shifts.empty:
        return ""
    estimate = shifts.loc[shifts["estimate_shift"].abs().idxmax()]
    i2 = shifts.loc[shifts["i2_shift"].abs().idxmax()]
    largest = apa_number(abs(estimate["estimate_shift"]), 3), apa_number(abs(i2["i2_shift"]), 1)
    # a shift that rounds to 0 is named by no study (homogeneous studies: every subset's I² is 0)
    unit = METRIC_NAMES[metric]
    moved = (f"the subsets' mean estimate by at most {largest[0]} ({unit}; {estimate['study_id']})"
             if largest[0] != apa_number(0, 3) else f"the subsets' mean estimate by less than 0.0005 ({unit})")
    moved += (f" and their mean I\u00b2 by at most {largest[1]} percentage points ({i2['study_id']})"
              if largest[1] != apa_number(0, 1) else " and their mean I\u00b2 by less than 0.05 percentage points")
    return (f"In the GOSH analysis of {counted(len(studies), 'study', 'studies', words=True)}, the inclusion of a "
            f"single study shifted {moved}.")


def multiverse_sentence(summary: pd.DataFrame | None, metric: str) -> str:
    """``Across the 11,124 specifications of the multiverse (10,980 fitted), the median estimate was r = .30 (range
    .02 to .62); of the fitted, 90.9% had a CI excluding no effect and 100.0% a positive estimate``: the ``all`` row
    of multiverse_summary.csv (``significant``: the specification's CI excludes 0, analyses.multiverse)."""
    if _empty(summary, "choice", "specifications", "fitted", "median_estimate", "min_estimate", "max_estimate"):
        return ""
    rows = summary[summary["choice"].astype(str).eq("all")]
    if rows.empty or not is_finite(rows["median_estimate"].iloc[0]):
        return ""
    row, show = rows.iloc[0], display(metric)
    # share_positive: an estimate above 0 on the analysis metric, an odds ratio above 1 as the sentence shows it
    positive = "a positive estimate" if show.null == 0 else f"an estimate above {show.null:g}"
    shares = [f"{_percent(row.get(column))} {words}" for column, words in
              (("share_significant", "had a CI excluding no effect"), ("share_positive", positive))
              if is_finite(row.get(column))]
    low, high = show.number(row["min_estimate"]), show.number(row["max_estimate"])
    spread = f"range {low} to {high}" if low != high else "the same in each when rounded"
    specifications = counted(row["specifications"], "specification", words=True, compared=(row["fitted"],))
    return (f"Across the {specifications} of the multiverse "
            f"({apa_count(row['fitted'], (row['specifications'],))} fitted), the median estimate was {show.symbol} = "
            f"{show.number(row['median_estimate'])} ({spread})"
            + (f"; of the fitted, {listed(shares)}" if shares else "") + ".")


def _percent(share) -> str:
    """``90.9%`` of a share of specifications (0-1)."""
    return f"{apa_number(100 * float(share), 1)}%"


#: the GRADE domains of summary_of_findings.csv (``<domain>_downgrade``) in the Results' words
GRADE_DOMAINS = {"risk_of_bias": "risk of bias", "inconsistency": "inconsistency", "indirectness": "indirectness",
                 "imprecision": "imprecision", "publication_bias": "publication bias"}


def certainty_sentence(summary: pd.DataFrame | None) -> str:
    """``The certainty of the evidence suggested by the GRADE rules, for the reviewers to confirm, was low (starting at
    low; not downgraded; summary-of-findings table).``: summary_of_findings.csv's ``certainty``, its ``start`` and the
    domains that downgraded it (``<domain>_downgrade``), so that the Methods' GRADE rating is reported; the domains
    the reviewers judged (grade.overrides) named as theirs."""
    if _empty(summary, "certainty"):
        return ""
    row = summary.iloc[0]
    downgraded = [f"{GRADE_DOMAINS[domain]} by {counted(-int(row[f'{domain}_downgrade']), 'level', words=True)}"
                  for domain in GRADE_DOMAINS
                  if is_finite(row.get(f"{domain}_downgrade")) and float(row[f"{domain}_downgrade"]) < 0]
    how = [f"starting at {row['start']}"] if isinstance(row.get("start"), str) else []
    how.append(f"downgraded for {listed(downgraded)}" if downgraded else "not downgraded")
    # a domain the reviewers judged (grade.overrides: its reason starts "reviewers:") is theirs, not a suggestion
    judged = [words for domain, words in GRADE_DOMAINS.items()
              if str(row.get(f"{domain}_reason", "")).startswith("reviewers:")]
    whose = (f"by the GRADE rules and the reviewers' judgement of {listed(judged)}" if judged
             else "suggested by the GRADE rules, for the reviewers to confirm,")
    return (f"The certainty of the evidence {whose} was {row['certainty']} ({'; '.join(how)}; summary-of-findings "
            "table).")
