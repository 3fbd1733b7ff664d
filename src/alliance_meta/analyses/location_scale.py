"""Location-scale analyses of a family: does a moderator change the *variability* of the effects?

Each configured model is a formula of moderators of log tau^2 (and of the mean: by default
the same formula enters both parts, so that a difference in means is not mistaken for one in
heterogeneity; Viechtbauer & López-López 2022, Res Synth Methods 13, sec. 2), or a mapping
``{location: ..., scale: ...}``. Rows enter as in the moderator analyses
(:func:`alliance_meta.analyses.moderators.aggregate_within`: one per study x combination of
the model's variables), and the model is fitted by
:func:`alliance_meta.models.location_scale.fit_formula` (REML, log link).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.analyses.moderators import aggregate_within
from alliance_meta.analyses.moderators.univariate import not_estimable_reason
from alliance_meta.engines.design import formula_variables
from alliance_meta.inputs.options import keywords_checked
from alliance_meta.models import location_scale

COLUMNS = ["model", "location_formula", "scale_formula", "part", "term", "estimate", "se", "statistic", "pval",
           "ci_lower", "ci_upper"]
TAU2_COLUMNS = ["model", "variable", "level", "k", "log_tau2", "log_tau2_se", "tau2", "tau2_ci_lower",
                "tau2_ci_upper"]


def model_spec(entry) -> tuple[str, str, str]:
    """``(name, location formula, scale formula)`` of a config entry: a formula (both parts) or
    a mapping with ``scale`` and optionally ``location`` (default: the scale formula)."""
    if isinstance(entry, str):
        return entry, entry, entry
    unknown = [key for key in entry if key not in ("location", "scale")] if isinstance(entry, dict) else []
    if not isinstance(entry, dict) or "scale" not in entry or unknown:
        raise ValueError(f"a location_scale entry is a formula or a mapping with 'scale' (and 'location'): {entry!r}"
                         + (f"; unknown key {', '.join(map(repr, unknown))}" if unknown else ""))
    scale = str(entry["scale"])
    location = str(entry.get("location", scale))
    return (scale if location == scale else f"{location} | {scale}"), location, scale


def _variables(formula: str) -> tuple[str, ...]:
    return () if formula.strip() in ("", "1") else formula_variables(formula)


def location_scale_tables(effect_sizes: pd.DataFrame, models, *, method: str = "REML", continuous=(),
                          aggregate_method: str = "gls", rho: float = 0.5, reference_levels=None,
                          centre: bool = False, level: float = 95.0, values=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``location_scale.csv`` rows (coefficients of both parts with the model's fit statistics and
    LRT, ``n_studies``, ``k_dropped``) and tau^2 per level of each scale moderator. A model that
    cannot be fitted (too few rows, rank-deficient) gets one row with its ``note``."""
    tables, levels = [], []
    for entry in models:
        name, location, scale = model_spec(entry)
        variables = tuple(dict.fromkeys(_variables(location) + _variables(scale)))
        numeric = tuple(v for v in variables if v in continuous)
        data, dropped = aggregate_within(effect_sizes, variables, aggregate_method, rho, numeric)
        extra = {"n_studies": data["study_id"].nunique() if len(data) else 0, "k_dropped": dropped}
        try:
            scale_variables = _variables(scale)
            if variables and not len(data):  # no row codes them all (a moderator coded only in the other family)
                raise ValueError(not_estimable_reason(data, variables))
            if scale_variables and all(data[name].nunique() <= 1 for name in scale_variables):
                raise ValueError(not_estimable_reason(data, scale_variables, dropped))  # no moderator of tau^2 left
            fit = location_scale.fit_formula(data, location, scale, method, level, numeric, reference_levels, centre)
        except (ValueError, KeyError, np.linalg.LinAlgError) as error:
            tables.append(pd.DataFrame([{"model": name, "location_formula": location, "scale_formula": scale,
                                         "k": len(data), **extra, "converged": False,
                                         "note": f"not fitted: {error}"}]))
            continue
        table = fit.to_frame().assign(**extra)
        table.insert(0, "scale_formula", scale)
        table.insert(0, "location_formula", location)
        table.insert(0, "model", name)
        tables.append(table)
        per_level = location_scale.tau2_by_level(fit, data, numeric, values)
        per_level.insert(0, "model", name)
        levels.append(per_level)
    coefficients = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COLUMNS)
    per_level = pd.concat(levels, ignore_index=True) if levels else pd.DataFrame(columns=TAU2_COLUMNS)
    return coefficients.reindex(columns=list(dict.fromkeys(COLUMNS + list(coefficients.columns)))), per_level


@dataclass(frozen=True, repr=False, eq=False)
class LocationScaleAnalysis:
    """``location_scale.csv`` (``table``: both parts' coefficients, fit statistics and the LRT of the
    scale part per model) and ``location_scale_tau2.csv`` (``tau2``: tau^2 per level of each scale moderator)."""

    table: pd.DataFrame
    tau2: pd.DataFrame
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:  # "1 model" did not answer the doc's "does rater change tau^2?": each model's LRT
        notes = f"; {'; '.join(self.notes)}" if self.notes else ""
        models = self.table.drop_duplicates("model").to_dict("records")
        tests = "; ".join(f"{row['model']}: LRT({row['lrt_df']}) = {row['lrt']:.3f}, p = {row['lrt_p']:.4g}"
                          if pd.notna(row.get("lrt_p")) else
                          f"{row['model']}: no LRT ({row.get('note') or 'not estimable'})" for row in models)
        return (f"<LocationScaleAnalysis: {len(models)} model{'' if len(models) == 1 else 's'}"
                f"{' (scale part against constant tau^2: ' + tests + ')' if tests else ''}{notes}>")


@keywords_checked
def location_scale_analysis(fit, models, *, continuous=None, reference_levels=None, centre: bool = True,
                            values=None) -> LocationScaleAnalysis:
    """metafor's ``rma(yi, vi, mods = location, scale = scale)`` of each of ``models`` on a fit's rows
    (``am.location_scale``), by the fit's estimator (ML or REML), with its level, ``rho`` and aggregation.

    ``models``: a formula (both parts) or a mapping ``{"location": ..., "scale": ...}``, or a list of them.
    ``continuous``: the variables that are slopes (default: those whose column holds numbers). Rows enter as
    in the moderator analyses (one per study x combination of the model's variables), also for a
    three-level fit (metafor's location-scale models are ``rma.uni`` models).
    """
    from alliance_meta.analyses.moderators.dispatch import checked_reference_levels, checked_values, slope_variables
    from alliance_meta.analyses.results import univariate_model_note
    from alliance_meta.models.fits import require_fit

    require_fit(fit, "am.location_scale")
    if fit.method not in ("ML", "REML"):
        raise ValueError(f"am.location_scale: location-scale models are fitted by ML or REML (metafor's "
                         f"rma(..., scale =)), not {fit.method}: am.fit(..., method='REML')")
    if not isinstance(models, (str, dict, list, tuple)):
        raise TypeError(f"am.location_scale: models is a formula, a mapping {{'location': ..., 'scale': ...}} or a "
                        f"list of them, not {type(models).__name__}")
    models = [models] if isinstance(models, (str, dict)) else list(models)
    variables = list(dict.fromkeys(name for entry in models for part in model_spec(entry)[1:]
                                   for name in _variables(part)))
    fit.moderator_columns(variables, "am.location_scale: the formula's variable")
    continuous = slope_variables(fit, continuous, variables, "am.location_scale")
    reference_levels = checked_reference_levels(fit, reference_levels, variables, continuous, "am.location_scale")
    values = checked_values(values, variables, continuous, "am.location_scale")
    table, per_level = location_scale_tables(
        fit.effect_sizes, models, method=fit.method, continuous=continuous, aggregate_method=fit.aggregate_method,
        rho=fit.rho, reference_levels=reference_levels, centre=centre, level=fit.level, values=values)
    return LocationScaleAnalysis(table, per_level, univariate_model_note(fit, "am.location_scale"))
