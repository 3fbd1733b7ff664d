"""Moderator analyses that take a fit and dispatch on its type.

Every fit gets the analyses of aggregated data (:mod:`.univariate`: the effect sizes aggregated
within study x moderator level, subgroups, the REML mixed-effects model, its permutation test);
a three-level fit adds the three-level mixed-effects model of the same moderator
(:mod:`.multilevel`) beside them (``multilevel_*`` columns and ``multilevel: <name>`` rows).
``knha_adhoc`` (None: as the fit, :func:`~alliance_meta.models.fits.knha_adhoc`) makes the Knapp-Hartung
tests of the aggregated models metafor's ad hoc variant (``pooling.knha_adhoc``).
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.analyses.moderators import multilevel as three_level
from alliance_meta.analyses.moderators.univariate import (SUMMARY_COLUMNS, ModeratorAnalysis, aggregate_within,
                                                          analyse_moderator, fit_model, holds_numbers, left_out_note,
                                                          level_text, meta_regression_table, model_table,
                                                          no_coefficients, no_subgroups, not_estimable_note,
                                                          not_estimable_row)
from alliance_meta.analyses.results import AnalysisResult, univariate_model_note
from alliance_meta.engines.design import formula_variables
from alliance_meta.inputs.codebook import NUMERIC_COLUMNS
from alliance_meta.inputs.effect_sizes import notebook_numbers
from alliance_meta.inputs.options import keywords_checked
from alliance_meta.inputs.risk_of_bias import as_tool
from alliance_meta.models.fits import Fit, MultilevelFit, knha_adhoc as adhoc_of, require_fit
from alliance_meta.wording import plural


@dataclass(frozen=True, repr=False, eq=False)
class ModeratorResult:
    """One moderator of a fit: its ``moderators.csv`` row, ``subgroups.csv`` rows and coefficients."""

    analysis: ModeratorAnalysis
    row: dict
    coefficients: pd.DataFrame

    @property
    def moderator(self) -> str:
        return self.analysis.moderator

    @property
    def subgroups(self) -> pd.DataFrame:
        return self.analysis.subgroups

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.row])

    def __repr__(self) -> str:  # a moderator without a test said "QM(nan) = nan, p = nan, 1 levels", not why
        row, levels = self.row, len(self.subgroups)
        qm = float(row.get("qm", np.nan))
        test = (f"QM({row['qm_df']:.0f}) = {qm:.3f}, p = {row['qm_p']:.4g}" if np.isfinite(qm) else
                f"no test ({row.get('note') or 'not estimable'})")
        left_out = left_out_note(self.analysis.k_dropped, (self.moderator,))  # else k read as the fit's rows
        return (f"<ModeratorResult {self.moderator}: k = {row['k']}{f' ({left_out})' if left_out else ''}, {test}, "
                f"{f'{levels} ' + plural(levels, 'level') if levels else 'a slope'}>")


def _options(fit: Fit, permutations: int, seed: int, centre: bool, knha_adhoc: bool | None, caller: str) -> dict:
    if isinstance(permutations, bool) or not isinstance(permutations, numbers.Integral):
        raise TypeError(f"permutations: a whole number (0 for none), not {type(permutations).__name__}")
    if permutations < 0:
        raise ValueError(f"permutations must be 0 (no permutation test) or more, not {permutations}")
    return dict(aggregate_method=fit.aggregate_method, rho=fit.rho, centre=centre, level=fit.level,
                permutations=permutations, seed=seed, knha_adhoc=adhoc_of(fit, knha_adhoc, caller),
                control=fit.control)  # the fit's iteration control (None: metafor's defaults)


def _tool(risk_of_bias):
    """The risk-of-bias tool of the analyses' ``risk_of_bias`` argument (None: none given), checked before any fit."""
    return None if risk_of_bias is None else as_tool(risk_of_bias)


def codebook_levels(references):
    """Reference levels in the codebook's spelling where the column has a vocabulary (``rater: client`` is
    ``patient`` in the analysed rows, as the sheet reader writes it)."""
    from alliance_meta.inputs.codebook import VOCABULARIES

    if references is None:
        return None
    if not isinstance(references, Mapping):  # dict("therapist") failed with "dictionary update sequence element"
        raise TypeError(f"reference_levels: a dict of column -> reference level, e.g. {{'rater': 'therapist'}}, "
                        f"not {references!r}")
    return {name: (VOCABULARIES[name].canonical(level) or level) if name in VOCABULARIES and isinstance(level, str)
            else level for name, level in dict(references).items()}


def checked_reference_levels(fit: Fit, references, variables, continuous, what: str):
    """:func:`codebook_levels` of ``references``, each naming a categorical variable of the model (``variables``
    not in ``continuous``) and one of its levels in the fit's rows: a misspelt name or level is a ValueError
    (it was ignored, or a model that could not be fitted said so only in its note)."""
    references = codebook_levels(references)
    unused = [name for name in (references or {}) if name not in variables]
    if unused:  # a misspelt name ({"aloc": ...}) was ignored, and the default reference used without a word
        close = difflib.get_close_matches(str(unused[0]), list(variables), n=1, cutoff=0.6)
        raise ValueError(f"{what}: reference_levels names {', '.join(map(repr, unused))}, not a variable the "
                         f"analysis uses (its variables: {', '.join(variables) or 'none'})"
                         + (f"; did you mean {close[0]!r}?" if close else ""))
    for name, level in list((references or {}).items()):
        levels = sorted(set(level_text(fit.effect_sizes[name]).dropna()))
        if name not in continuous and level is not None and str(level) not in levels:  # not a slope's
            same = [text for text in levels if _same_number(text, level)]
            if same:  # 2001.0 of a column of numbers, whose levels read "2001"
                references[name] = same[0]
                continue
            close = difflib.get_close_matches(str(level), levels, n=1, cutoff=0.6)
            raise ValueError(f"{what}: reference level {level!r} of {name!r} is not one of its levels in the fit's "
                             f"rows ({', '.join(levels)})" + (f"; did you mean {close[0]!r}?" if close else ""))
    return references


def _same_number(text: str, level) -> bool:
    """Whether the level ``text`` and the given ``level`` are the same number (``"2001"`` and ``2001.0``)."""
    try:
        return float(text) == float(level)
    except (TypeError, ValueError):
        return False


def checked_values(values, variables, continuous, what: str) -> dict | None:
    """``values``: None, or a dict of a continuous variable of the model -> the numbers to predict at
    (``{"year": [1990, 2010]}``); anything else is an error that says so (a string was read letter by letter)."""
    if values is None:
        return None
    if not isinstance(values, Mapping):
        raise TypeError(f"{what}: values is a dict of a continuous moderator -> numbers, e.g. "
                        f"{{'year': [1990, 2010]}}, not {values!r}")
    slopes = [name for name in variables if name in continuous]
    checked = {}
    for name, given in values.items():
        if name not in slopes:
            raise ValueError(f"{what}: values names {name!r}, not a continuous moderator of the model "
                             f"({', '.join(slopes) or 'it has none'})")
        try:
            checked[name] = [float(number) for number in ([given] if np.isscalar(given) else given)]
        except (TypeError, ValueError):
            raise ValueError(f"{what}: values[{name!r}] are numbers, not {given!r}") from None
    return checked


def numeric_columns(effect_sizes: pd.DataFrame, names) -> tuple[str, ...]:
    """The ``names`` whose column holds numbers, also as text (as in metafor's ``mods =``, where a numeric
    variable is a slope unless made a factor): the default of the analyses' ``continuous``; the sheet's missing
    markers (``n/a``) are empty (:func:`~alliance_meta.inputs.effect_sizes.notebook_numbers`). A column the sheet
    reads as numbers (``year``, ``n``: the codebook's) holding text that is no number (``'in press'``) is a ValueError
    naming it: entered as levels, it was a model of one dummy per year, without a word."""
    for name in (name for name in names if name in NUMERIC_COLUMNS and name in effect_sizes):
        cells = effect_sizes[name]
        if (bad := notebook_numbers(cells)[1]).any():
            named = {}
            for value, study in zip(cells[bad], effect_sizes.loc[bad, "study_id"].astype(str)):
                named.setdefault(repr(value), []).append(study)
            listed = "; ".join(f"{value} (study {', '.join(dict.fromkeys(studies))})"
                               for value, studies in list(named.items())[:5])
            raise ValueError(f"{name} is a column of numbers (as am.read_sheet reads it) but holds {listed}: write "
                             "a number or leave the cell empty for a slope, or give continuous=() "
                             "(am.moderators: continuous=False) to analyse its values as levels")
    return tuple(name for name in names if name in effect_sizes and holds_numbers(effect_sizes[name]))


def slope_variables(fit: Fit, continuous, variables, what: str) -> tuple[str, ...]:
    """The ``variables`` of a model entered as slopes: ``continuous`` None, those whose column holds numbers
    (:func:`numeric_columns`); True or False, all or none of them; else the names given, checked against
    the fit's rows."""
    if continuous is None:
        return numeric_columns(fit.effect_sizes, variables)
    if isinstance(continuous, bool):  # as am.moderators' continuous=True / False
        return tuple(variables) if continuous else ()
    return tuple(fit.moderator_columns(continuous, f"{what}: continuous"))


@keywords_checked
def moderators(fit: Fit, moderator: str, *, continuous: bool | None = None, reference_level=None,
               centre: bool = True, permutations: int = 1000, seed: int = 1, risk_of_bias=None,
               knha_adhoc: bool | None = None) -> ModeratorResult:
    """Subgroups, the mixed-effects model and its permutation test for one moderator of ``fit``
    (and, for a three-level fit, the three-level mixed-effects model beside them). ``continuous``:
    a slope (True) or levels (False); None: a slope when the column holds numbers. ``risk_of_bias``: the
    config's ``risk_of_bias`` block (or the tool), whose judgements order a ``rob_*`` moderator's subgroups
    (a custom tool's levels; None: the built-in tools' judgements best first)."""
    require_fit(fit, "am.moderators")  # no metric: subgroups without back-transformed columns (as meta_regression)
    if not isinstance(moderator, str):
        raise TypeError(f"am.moderators: moderator is one column name, not {moderator!r} "
                        "(several: am.moderator_tables or am.meta_regression)")
    name = fit.moderator_columns(moderator)[0]
    options = _options(fit, permutations, seed, centre, knha_adhoc, "am.moderators")
    if continuous is None:
        continuous = bool(numeric_columns(fit.effect_sizes, [name]))
    # checked as am.meta_regression checks its reference_levels (a misspelt level: did-you-mean)
    reference_level = (checked_reference_levels(fit, None if reference_level is None else {name: reference_level},
                                                 [name], [name] if continuous else [], "am.moderators") or {}).get(name)
    analysis = analyse_moderator(fit.effect_sizes, name, fit.metric, continuous=continuous,
                                 reference_level=reference_level, risk_of_bias=_tool(risk_of_bias), **options)
    row = analysis.summary()
    tables = [analysis.coefficient_table()]
    if isinstance(fit, MultilevelFit):
        summary = three_level.add_moderator_columns(
            pd.DataFrame([row]), fit.effect_sizes, (name,) if continuous else (), rho=fit.rho,
            method=fit.method, level=fit.level, reference_levels={name: reference_level} if reference_level
            is not None else None, centre=centre)
        row = summary.iloc[0].to_dict()
        tables.append(three_level.moderator_coefficients(
            fit.effect_sizes, name, continuous=continuous, rho=fit.rho, method=fit.method, level=fit.level,
            reference_level=reference_level, centre=centre))
    tables = [table for table in tables if table is not None and len(table)]
    coefficients = pd.concat(tables, ignore_index=True) if tables else no_coefficients()
    return ModeratorResult(analysis, row, coefficients)


@keywords_checked
def meta_regression(fit: Fit, formula: str, *, continuous=None, reference_levels=None, centre: bool = True,
                    permutations: int = 1000, seed: int = 1, knha_adhoc: bool | None = None) -> AnalysisResult:
    """A REML meta-regression on ``formula`` (e.g. ``"~ rater + year"``) of the effect sizes
    aggregated within study x the formula's variables, with its permutation test
    (``meta_regression.csv`` rows); not estimable: the row that says why, and a note. ``continuous``: the
    variables entered as slopes, or True / False for all / none; None: those whose column holds numbers (``year``)."""
    require_fit(fit, "am.meta_regression")
    if not isinstance(formula, str):
        raise TypeError(f"am.meta_regression: formula is a string such as '~ rater + year', not {formula!r}")
    formula = formula.strip().removeprefix("~").strip()
    variables = formula_variables(formula)
    fit.moderator_columns(variables, "am.meta_regression: the formula's variable")
    continuous = slope_variables(fit, continuous, variables, "am.meta_regression")
    numeric = tuple(name for name in variables if name in continuous)
    reference_levels = checked_reference_levels(fit, reference_levels, variables, numeric, "am.meta_regression")
    options = _options(fit, permutations, seed, centre, knha_adhoc, "am.meta_regression")
    data, dropped = aggregate_within(fit.effect_sizes, variables, options["aggregate_method"], options["rho"],
                                     numeric)
    model, test = fit_model(data, formula, "REML", fit.level, numeric, reference_levels, centre, permutations,
                            seed, control=options["control"], knha_adhoc=options["knha_adhoc"])
    three_level = univariate_model_note(fit, "am.meta_regression")
    if model is None:
        return AnalysisResult("meta_regression", not_estimable_row(formula, data, dropped, variables),
                              (not_estimable_note(formula, data, variables, dropped), *three_level))
    left_out = left_out_note(dropped, variables)  # in the table's k_dropped; said, so that k is not read as the fit's
    return AnalysisResult("meta_regression", model_table(formula, data, dropped, model, test),
                          (*filter(None, [left_out]), *three_level), model)


def empty_moderator_tables(metric: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``moderators.csv``, ``subgroups.csv`` and ``meta_regression.csv`` without rows (a family with no
    effect sizes), with the columns :func:`moderator_tables` gives them when nothing is analysed."""
    return pd.DataFrame(columns=SUMMARY_COLUMNS), no_subgroups(metric), no_coefficients()


def table_variables(moderators, continuous, formulas) -> list[str]:
    """The variables :func:`moderator_tables` analyses: its ``moderators``, the ``continuous`` ones and those of
    its ``formulas``; the ``reference_levels`` it takes name some of them."""
    return list(dict.fromkeys([*moderators, *continuous, *(name for formula in formulas
                                                           for name in formula_variables(formula))]))


@keywords_checked
def moderator_tables(fit: Fit, moderators=(), *, continuous=(), formulas=(), reference_levels=None,
                     centre: bool = True, permutations: int = 1000, seed: int = 1, risk_of_bias=None,
                     knha_adhoc: bool | None = None):
    """``moderators.csv``, ``subgroups.csv`` and ``meta_regression.csv`` of every configured
    moderator (categorical ``moderators`` and ``continuous`` ones) and meta-regression formula; a
    formula without a model has a line in the last table's ``attrs["notes"]`` (a moderator's
    reason is in its ``note``). ``risk_of_bias``: as :func:`moderators`."""
    require_fit(fit, "am.moderator_tables")
    moderators = fit.moderator_columns(moderators, "moderators")
    continuous = fit.moderator_columns(continuous, "continuous")
    formulas = [formulas] if isinstance(formulas, str) else list(formulas)
    variables = table_variables(moderators, continuous, formulas)
    fit.moderator_columns(variables, "am.moderator_tables: the formula's variable")
    # checked as am.meta_regression checks them: a misspelt name or level was ignored without a word
    references = checked_reference_levels(fit, reference_levels, variables, continuous, "am.moderator_tables") or {}
    options = _options(fit, permutations, seed, centre, knha_adhoc, "am.moderator_tables")
    tool = _tool(risk_of_bias)
    analyses = [analyse_moderator(fit.effect_sizes, name, fit.metric, continuous=name in continuous,
                                  reference_level=references.get(name), risk_of_bias=tool, **options)
                for name in dict.fromkeys([*moderators, *continuous])]
    extra = [formula for formula in formulas if formula not in {a.moderator for a in analyses}]
    formula_table = meta_regression_table(fit.effect_sizes, extra, continuous=continuous, reference_levels=references,
                                          **options)
    tables = [a.coefficient_table() for a in analyses] + [formula_table]
    tables = [table for table in tables if table is not None and len(table)]
    summary = pd.DataFrame([a.summary() for a in analyses]) if analyses else pd.DataFrame(columns=SUMMARY_COLUMNS)
    if isinstance(fit, MultilevelFit):
        three = dict(rho=fit.rho, method=fit.method, level=fit.level, reference_levels=references, centre=centre)
        summary = three_level.add_moderator_columns(summary, fit.effect_sizes, continuous, **three)
        tables.append(three_level.coefficient_rows(fit.effect_sizes, list(summary.get("moderator", [])),
                                                   continuous, **three))
        tables = [table for table in tables if len(table)]
    subgroups = (pd.concat([a.subgroups for a in analyses], ignore_index=True) if analyses
                 else no_subgroups(fit.metric))
    regressions = pd.concat(tables, ignore_index=True) if tables else no_coefficients()
    regressions.attrs["notes"] = formula_table.attrs["notes"]
    return summary, subgroups, regressions
