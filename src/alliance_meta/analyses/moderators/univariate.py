"""Moderator analyses: subgroups per level and mixed-effects meta-regressions.

For each moderator the effect sizes are first aggregated within study x
moderator level (:func:`alliance_meta.inputs.dependence.aggregate`), so a study
contributes one row per level it reports; rows without a value of the
moderator leave that moderator's analyses only (``k_dropped`` counts them).

Differences between levels are tested two ways (Borenstein et al. 2009, ch. 19):

* separate tau^2 per level: each level is pooled by REML on its own and the
  level estimates are compared with a fixed-effects Q-between on L - 1 df (R's
  ``meta::update(..., subgroup =)`` with separate tau^2, or metafor's
  ``rma(estimates, sei = se, method = "FE")``);
* common tau^2: the mixed-effects model with the levels as dummies, Q_M (Wald
  chi^2) and its Knapp-Hartung F (metafor's ``rma(yi, vi, mods = ~ moderator)``; ``knha_adhoc``: its ad hoc
  variant, ``test = "adhoc"``, in F, the coefficients' knha columns and their permutation tests).

Levels are listed in their vocabulary's order (``timing``: early, mid, late, averaged; a
``rob_*`` judgement best first, in the risk-of-bias tool's order), other columns' levels sorted
(:func:`display_order`).

A level with a single study is pooled as metafor does with k = 1: tau^2 = 0,
I^2 = 0, the estimate is that study's value with its own standard error.

A fit whose tau^2 does not converge (a subgroup level or a model) is kept with
``converged = False``, a ``note`` and NaN for what depends on tau^2 (no other
estimator is substituted, :func:`alliance_meta.models.metareg.fit`); the other levels and
models are unaffected. Q-between with separate tau^2 is then NaN, and a model that
did not converge has no permutation test. :func:`convergence_messages` words the
log warnings. ``subgroups.csv``, ``moderators.csv`` and ``meta_regression.csv``
carry ``converged`` and ``note`` after the contract's columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.engines import distributions as dist
from alliance_meta.models import metareg
from alliance_meta.engines.design import build_design, column_term, dropped_note, formula_variables
from alliance_meta.analyses.model_comparison import vif_column
from alliance_meta.analyses.permutation import PermutationTest, permutation_test
from alliance_meta.engines.transforms import back_transform
from alliance_meta.inputs.effect_sizes import notebook_numbers
from alliance_meta.wording import counted

# The columns of moderators.csv, in the order ModeratorAnalysis.summary() gives them (also when no
# moderator is analysed: the table still has its header).
SUMMARY_COLUMNS = ("moderator", "k", "qm", "qm_df", "qm_p", "f", "f_df1", "f_df2", "f_p", "tau2", "r2", "qe",
                   "qe_p", "qe_df", "i2", "tau2_null", "converged", "note", "q_between_separate", "q_between_separate_df",
                   "q_between_separate_p", "n_levels", "n_studies", "k_dropped", "qm_p_permutation",
                   "f_p_permutation", "permutations", "permutation_exact")


#: More distinct numbers than this in a variable entered as categories earns a note (:func:`numbers_as_levels`).
MANY_NUMERIC_LEVELS = 5


def holds_numbers(column: pd.Series) -> bool:
    """Numbers, or text that is numbers in every filled cell (``am.read_sheet`` reads free columns as text; the sheet's
    missing markers, ``n/a``, are empty: :func:`~alliance_meta.inputs.effect_sizes.notebook_numbers`)."""
    if pd.api.types.is_bool_dtype(column):
        return False
    numbers, text = notebook_numbers(column)
    return not text.any() and (pd.api.types.is_numeric_dtype(column) or bool(numbers.notna().any()))


def numbers_as_levels(data: pd.DataFrame, variables) -> str:
    """A note for each categorical variable whose values are all numbers (:func:`holds_numbers`), more than
    :data:`MANY_NUMERIC_LEVELS` of them (``sessions``: one dummy per number of sessions); "" if none."""
    notes = []
    for name in variables:
        numbers = pd.to_numeric(data[name].dropna().astype(str).str.strip(), errors="coerce")
        if holds_numbers(data[name]) and numbers.nunique() > MANY_NUMERIC_LEVELS:
            notes.append(f"{name} holds numbers but was entered as {numbers.nunique()} categories; for a slope, "
                         "list it as continuous (continuous_moderators)")
    return "; ".join(notes)


def no_coefficients() -> pd.DataFrame:
    """``meta_regression.csv`` without a fitted model: its two key columns, no rows."""
    return pd.DataFrame(columns=["model", "term"])


def usable_rows(effect_sizes: pd.DataFrame, variables, continuous=()) -> pd.DataFrame:
    """Rows with a value for every variable (blank text counts as missing)."""
    frame = effect_sizes.copy()
    for name in variables:
        if name not in frame:
            raise KeyError(f"moderator column {name!r} is not in the data")
        frame[name] = _numbers(frame, name) if name in continuous else level_text(frame[name])
    return frame.dropna(subset=list(variables))


def level_text(column: pd.Series) -> pd.Series:
    """A categorical variable's values as its levels' names, as the sheet's reader gives them: trimmed text, blank
    as missing, a number as written (2001, not 2001.0: :func:`~alliance_meta.report.formatting.identifier_text`)."""
    from alliance_meta.report.formatting import identifier_text

    return column.map(identifier_text).astype("string").str.strip().replace("", pd.NA)


def _numbers(frame: pd.DataFrame, name: str) -> pd.Series:
    """A continuous moderator as numbers (the sheet's missing markers, ``n/a``, empty:
    :func:`~alliance_meta.inputs.effect_sizes.notebook_numbers`); ValueError naming each sheet row, value and the
    rule."""
    numbers, bad = notebook_numbers(frame[name])
    if not bad.any():
        return numbers
    text = frame[name].astype("string").str.strip()
    if numbers.notna().sum() == 0:  # a column of categories entered as a slope: one line, not one per row
        distinct = list(dict.fromkeys(text[bad]))
        examples = ", ".join(f'"{value}"' for value in distinct[:SHOWN_CELLS]) + (", ..." if len(distinct) > SHOWN_CELLS else "")
        raise ValueError(f"continuous moderator {name!r} holds no numbers ({int(bad.sum())} cells: {examples}): "
                         "if it holds categories, analyse its levels (not a slope: continuous=False, or leave it "
                         "out of continuous)")
    rows = frame["sheet_row"] if "sheet_row" in frame else frame.index
    cells = [f'row {row}: "{value}"' for row, value in zip(rows[bad], text[bad])]
    more = f" and {len(cells) - SHOWN_CELLS} more" if len(cells) > SHOWN_CELLS else ""
    raise ValueError(f"continuous moderator {name!r} must hold numbers (decimal point, no text); "
                     f"{', '.join(cells[:SHOWN_CELLS])}{more}")


SHOWN_CELLS = 10  # cells a message quotes


def shared_studies_note(composites: pd.DataFrame) -> str:
    """The note of a moderator whose levels vary within studies: ``k`` composites (one per study and level) of
    fewer studies, which the univariate models treat as independent although the composites of one study share
    its participants (the test is then too liberal; a three-level or RVE model respects the nesting)."""
    k, studies = len(composites), composites["study_id"].nunique()
    if studies >= k:
        return ""
    return (f"{k} composites of {studies} studies: the composites of a study at different levels are treated as "
            "independent (a three-level model respects their nesting in studies)")


def aggregate_within(effect_sizes: pd.DataFrame, variables, method: str = "gls", rho: float = 0.5,
                     continuous=()) -> tuple[pd.DataFrame, int]:
    """One row per study x combination of the variables' values, and how many rows lacked a value."""
    from alliance_meta.inputs.dependence import aggregate

    usable = usable_rows(effect_sizes, variables, continuous)
    combined = aggregate(usable, method=method, rho=rho, by=("study_id", *variables))
    return combined.reset_index(drop=True), len(effect_sizes) - len(usable)


@dataclass(frozen=True)
class ModeratorAnalysis:
    """Subgroups, the mixed-effects model and its permutation test for one moderator."""

    moderator: str
    continuous: bool
    data: pd.DataFrame
    k_dropped: int
    model: metareg.MetaRegression | None
    subgroups: pd.DataFrame
    q_between_separate: float
    q_between_separate_df: int
    q_between_separate_p: float
    permutation: PermutationTest | None

    def summary(self) -> dict:
        """The row of ``moderators.csv``."""
        row = {"moderator": self.moderator, "k": len(self.data)}
        empty = dict.fromkeys(SUMMARY_COLUMNS[SUMMARY_COLUMNS.index("qm"):SUMMARY_COLUMNS.index("converged")], np.nan)
        row.update({name: value for name, value in (self.model.summary() if self.model else empty).items()
                    if name not in ("k", "h2", "converged", "note")})
        row.update(converged=self.model.converged if self.model else None, note=self._note())
        row.update(q_between_separate=self.q_between_separate, q_between_separate_df=self.q_between_separate_df,
                   q_between_separate_p=self.q_between_separate_p, n_levels=len(self.subgroups),
                   n_studies=self.data["study_id"].nunique(), k_dropped=self.k_dropped,
                   qm_p_permutation=self.permutation.qm_p if self.permutation else np.nan,
                   f_p_permutation=self.permutation.f_p if self.permutation else np.nan,
                   permutations=self.permutation.iterations if self.permutation else 0,
                   permutation_exact=bool(self.permutation and self.permutation.exact))
        return row

    def _note(self) -> str:
        notes = [self.model.note] if self.model else [
            f"no mixed-effects model: {not_estimable_reason(self.data, (self.moderator,), self.k_dropped)}"]
        if not self.continuous:
            notes.append(numbers_as_levels(self.data, [self.moderator]))
        if self.model is not None:  # said of a test that was made
            notes.append(shared_studies_note(self.data))
        if self.model is not None and not self.model.converged:
            notes.append("no permutation test")
        if self.permutation is not None and self.permutation.failed:
            notes.append(_permutation_note(self.permutation))
        failed = self.subgroups.loc[self.subgroups["converged"].eq(False), "level"]
        if len(failed):
            notes.append(f"subgroup level(s) {', '.join(map(str, failed))} did not converge: "
                         "Q-between (separate tau^2) not computed")
        return "; ".join(filter(None, notes))

    def coefficient_table(self) -> pd.DataFrame | None:
        """This moderator's rows of ``meta_regression.csv`` (None when no model could be fitted)."""
        if self.model is None:
            return None
        return model_table(self.moderator, self.data, self.k_dropped, self.model, self.permutation)


SINGLE_STUDY_LEVEL = "one study: its own estimate and standard error; tau^2 and I^2 are 0 by definition"
"""The note of a subgroup level with one study (pooled as metafor pools k = 1)."""


def subgroup_fits(data: pd.DataFrame, moderator: str, metric: str | None, level: float = 95.0,
                  control=None) -> pd.DataFrame:
    """REML random-effects fit (Wald z) of each level: the rows of ``subgroups.csv``
    (``converged`` and ``note`` last; a level that did not converge has NaN estimates)."""
    rows = []
    for value, group in data.groupby(moderator, sort=True):
        fit = metareg.fit(group["yi"], group["vi"], np.ones((len(group), 1)), ("intercept",), "REML", level,
                          control=control)
        table = fit.coefficients("z").iloc[0]
        rows.append({"moderator": moderator, "level": value, "k": fit.k, "estimate": table.estimate,
                     "se": table.se, "ci_lower": table.ci_lower, "ci_upper": table.ci_upper,
                     "tau2": fit.tau2, "i2": fit.i2, "converged": fit.converged,
                     "note": "; ".join(filter(None, [fit.note, SINGLE_STUDY_LEVEL if fit.k == 1 else ""]))})
    frame = pd.DataFrame(rows, columns=["moderator", "level", "k", "estimate", "se", "ci_lower",
                                        "ci_upper", "tau2", "i2", "converged", "note"])
    for prefix in back_transform([], metric) if metric is not None else ():  # no metric: the estimates as they are
        for column, suffix in (("estimate", ""), ("ci_lower", "_ci_lower"), ("ci_upper", "_ci_upper")):
            frame.insert(frame.columns.get_loc("converged"), prefix + suffix,
                         back_transform(frame[column].to_numpy(float), metric)[prefix])
    return frame


def display_order(moderator: str, levels, risk_of_bias=None) -> list[int]:
    """Positions of ``levels`` in the order a table or plot lists them: a coded column's vocabulary
    order (``timing``: early, mid, late, averaged), a ``rob_*`` column's judgements best first
    (:func:`~alliance_meta.inputs.risk_of_bias.judgement_order` of ``risk_of_bias``, the tool or the config's
    block: a custom tool's levels as listed; None: the built-in tools' low, some concerns, high); levels
    outside them, and other columns' levels, after them by value when all are numbers (2, 10), else by their text
    with the numbers in it by value (``Measure 2`` before ``Measure 10``, where sorted text put 10 first)."""
    from alliance_meta.inputs.codebook import VOCABULARIES
    from alliance_meta.inputs.risk_of_bias import PREFIX, judgement_order

    order = (VOCABULARIES[moderator].values if moderator in VOCABULARIES
             else judgement_order(risk_of_bias) if moderator.startswith(PREFIX) else ())
    rank = {value: position for position, value in enumerate(order)}
    numbers = pd.to_numeric(pd.Series([str(level) for level in levels], dtype=object), errors="coerce")
    value = list(numbers) if numbers.notna().all() else [_numbers_by_value(str(level)) for level in levels]
    return sorted(range(len(levels)), key=lambda i: (rank.get(str(levels[i]), len(rank)), value[i], str(levels[i]), i))


NUMBER_IN_TEXT = re.compile(r"((?:(?<!\S)-)?\d+(?:\.\d+)?)")  # a minus only after a space or at the start


def _numbers_by_value(text: str) -> tuple:
    """A level's sort key with the numbers in it by value: "Dose 1.5" -> ("Dose ", 1.5, ""), so "Measure 2" comes
    before "Measure 10", "Dose 1.25" before "Dose 1.5" and "Wave -3" before "Wave 0"; "Measure-2" is "Measure-" and 2.
    Texts are compared with texts and numbers with numbers: they alternate, a text first."""
    return tuple(float(part) if index % 2 else part for index, part in enumerate(NUMBER_IN_TEXT.split(text)))


def no_subgroups(metric: str) -> pd.DataFrame:
    """``subgroups.csv`` when no moderator is analysed: the columns of :func:`subgroup_fits`, no rows."""
    return subgroup_fits(pd.DataFrame({"level": [], "yi": [], "vi": []}), "level", metric)


def q_between(estimates, se) -> tuple[float, int, float]:
    """Fixed-effects Q of level estimates: sum w (theta - theta_w)^2 on L - 1 df, w = 1/se^2."""
    estimates, weights = np.asarray(estimates, float), 1.0 / np.asarray(se, float) ** 2
    df = len(estimates) - 1
    if df < 1:
        return np.nan, max(df, 0), np.nan
    q = float(np.sum(weights * (estimates - np.sum(weights * estimates) / np.sum(weights)) ** 2))
    return q, df, float(dist.chi2.sf(q, df))


def fit_model(data: pd.DataFrame, formula: str, method="REML", level=95.0, continuous=(),
              reference_levels=None, centre=False, permutations=1000, seed=1, control=None, knha_adhoc=False):
    """Meta-regression on a formula and its permutation test; ``(None, None)`` if not estimable.
    A model that did not converge is returned (``converged=False``) without a permutation test.
    ``knha_adhoc``: Knapp-Hartung as metafor's ``test = "adhoc"`` (:func:`alliance_meta.models.metareg.fit`)."""
    if len(data) < 3:
        return None, None
    design = build_design(data, formula, continuous, reference_levels, centre)
    if not estimable(design, len(data)):
        return None, None
    fit = metareg.fit(data["yi"], data["vi"], design.matrix, design.columns, method, level, design=design,
                      control=control, knha_adhoc=knha_adhoc)
    if not (permutations and fit.converged):
        return fit, None
    return fit, permutation_test(fit, data["yi"], data["vi"], design.matrix, permutations, seed)


def analyse_moderator(effect_sizes: pd.DataFrame, moderator: str, metric: str, *, continuous: bool = False,
                      aggregate_method="gls", rho=0.5, reference_level=None, centre=False, level=95.0,
                      permutations=1000, seed=1, control=None, risk_of_bias=None,
                      knha_adhoc=False) -> ModeratorAnalysis:
    """Subgroups (categorical only), the REML mixed-effects model and its permutation test.
    ``control``: Fisher scoring settings (:class:`alliance_meta.engines.heterogeneity.Control`); ``risk_of_bias``:
    the tool (or the config's block) whose judgements order a ``rob_*`` moderator's subgroups (:func:`display_order`);
    ``knha_adhoc``: the model's Knapp-Hartung tests are metafor's ad hoc variant (the subgroups have Wald z tests)."""
    numeric = (moderator,) if continuous else ()
    data, dropped = aggregate_within(effect_sizes, (moderator,), aggregate_method, rho, numeric)
    subgroups = subgroup_fits(data.iloc[:0] if continuous else data, moderator, metric, level, control)
    references = {moderator: reference_level} if reference_level is not None else None
    model, test = fit_model(data, column_term(moderator), "REML", level, numeric, references, centre, permutations, seed,
                            control, knha_adhoc)
    q, df, p = q_between(subgroups["estimate"], subgroups["se"]) if not continuous else (np.nan, 0, np.nan)
    order = display_order(moderator, list(subgroups["level"]), risk_of_bias)
    subgroups = subgroups.iloc[order].reset_index(drop=True)
    return ModeratorAnalysis(moderator, continuous, data, dropped, model, subgroups, q, df, p, test)


def model_table(formula: str, data: pd.DataFrame, dropped: int, fit, test) -> pd.DataFrame:
    """Rows of ``meta_regression.csv`` for one fitted model: coefficients, then the model's tests."""
    table = fit.to_frame()
    table.insert(table.columns.get_loc("ci_upper") + 1, "vif", vif_column(fit))  # metafor's vif()
    if test is not None:
        table = table.merge(test.to_frame(), on="term", how="left")
    summary = fit.summary()
    model = {**{f"model_{name}": value for name, value in summary.items()
                if name not in ("k", "h2", "converged", "note")},
             "n_studies": data["study_id"].nunique(), "k_dropped": dropped,
             "model_qm_p_permutation": test.qm_p if test else np.nan,
             "model_f_p_permutation": test.f_p if test else np.nan,
             "permutations": test.iterations if test else 0}
    notes = [fit.note, "" if fit.converged else "no permutation test",
             _permutation_note(test) if test is not None and test.failed else "", dropped_note(fit.design),
             numbers_as_levels(data, list(fit.design.reference_levels))]
    table.insert(0, "model", formula)
    return table.assign(**model, converged=fit.converged, note="; ".join(filter(None, notes)))


def estimable(design, rows: int) -> bool:
    """Whether a meta-regression of ``design`` on ``rows`` rows is fitted: it has a moderator term (a model
    without intercept, ``~ x - 1``, has one, as in metafor; ``~ 1`` is the pooled model itself) and more rows
    than coefficients."""
    return list(design.columns) not in ([], ["intercept"]) and rows > design.matrix.shape[1]


def uncoded_reason(moderator: str) -> str:
    """Why a moderator that no row codes has no model (the report names such moderators once, as not coded)."""
    return f"{moderator} has no value in any row"


def not_estimable_reason(data: pd.DataFrame, variables, dropped: int = 0) -> str:
    """Why :func:`fit_model` gave no model: no usable row, a variable with one value in every usable
    row, else too few rows for the coefficients. ``dropped``: effect sizes left out for a missing value (named
    beside "in every row", which are then the rows analysed)."""
    variables = list(variables)
    if not variables:
        return "no moderator in the formula: the intercept-only model is the pooled model itself"
    if len(data) == 0:
        return (uncoded_reason(variables[0]) if len(variables) == 1 else
                f"no row has a value for all of {', '.join(variables)}")
    constant = [name for name in variables if name in data and len(data) and data[name].nunique(dropna=True) <= 1]
    if constant:
        value = data[constant[0]].dropna().iloc[0] if data[constant[0]].notna().any() else ""
        value = f"{value:g}" if isinstance(value, float) else value
        rows = (f"in every row analysed ({counted(dropped, 'effect size')} without a value left out)" if dropped
                else "in every row")
        return (f"{constant[0]} has one value ({value}) {rows}: nothing to compare" if len(constant) == 1 else
                f"{', '.join(constant)} each have one value {rows}: nothing to compare")
    return "too few rows for its coefficients"


def left_out_note(dropped: int, variables) -> str:
    """``2 effect sizes without a value of year left out``: the rows a moderator analysis could not use (its
    ``k_dropped``), so that its k is not read as the fit's; "" when it used every row."""
    if not dropped:
        return ""
    variables = list(variables)
    named = variables[0] if len(variables) == 1 else f"{', '.join(variables[:-1])} or {variables[-1]}"
    return f"{counted(dropped, 'effect size')} without a value of {named} left out"


def not_estimable_note(formula: str, data: pd.DataFrame, variables, dropped: int = 0) -> str:
    """The note of a meta-regression formula without a model: ``<formula>: not estimable (<reason>)``."""
    return f"{formula}: not estimable ({not_estimable_reason(data, variables, dropped)})"


def not_estimable_row(formula: str, data: pd.DataFrame, dropped: int, variables) -> pd.DataFrame:
    """The row of ``meta_regression.csv`` for a formula without a model: no term or coefficient, the rows it
    had (``k``, ``n_studies``, ``k_dropped``) and ``note`` = ``not estimable (<reason>)``."""
    return pd.DataFrame({"model": [formula], "term": [""], "k": [len(data)], "n_studies": [data["study_id"].nunique()],
                         "k_dropped": [dropped], "permutations": [0],
                         "note": [f"not estimable ({not_estimable_reason(data, variables, dropped)})"]})


def _permutation_note(test: PermutationTest) -> str:
    how = "left out" if test.exact else "redrawn"
    return f"{test.failed} permutation fit(s) did not converge ({how}, as metafor's permutest)"


def convergence_messages(subgroups: pd.DataFrame, regressions: pd.DataFrame,
                         summary: pd.DataFrame | None = None) -> list[str]:
    """One log warning per fit that did not converge: each level of ``subgroups.csv``, each
    model of ``meta_regression.csv`` (rows of other analyses, without ``converged``, are skipped) and each
    three-level moderator model of ``summary`` (``moderators.csv``'s ``multilevel_converged``)."""
    messages = []
    if summary is not None and "multilevel_converged" in summary:
        messages += [f"three-level moderator model {row.moderator} (k = {row.multilevel_k} effect sizes): REML did "
                     "not converge; its QM, CR2 F, sigma2 and R2 are those of the last iteration"
                     for row in summary[summary["multilevel_converged"].eq(False)].itertuples()]
    if "converged" in subgroups:
        messages += [f"subgroup {row.moderator} = {row.level} (k = {row.k}): REML did not converge; "
                     f"estimate, se, CI, tau2 and I2 are NaN: {row.note}"
                     for row in subgroups[subgroups["converged"].eq(False)].itertuples()]
    if "converged" in regressions:
        failed = regressions[regressions["converged"].eq(False)].drop_duplicates("model")
        messages += [f"meta-regression {row.model} (k = {row.k}): REML did not converge; coefficients, "
                     f"QM, F, tau2, I2 and R2 are NaN: {row.note}" for row in failed.itertuples()]
    return messages


def meta_regression_table(effect_sizes: pd.DataFrame, formulas, *, continuous=(), aggregate_method="gls",
                          rho=0.5, reference_levels=None, centre=False, level=95.0, permutations=1000,
                          seed=1, control=None, knha_adhoc=False) -> pd.DataFrame:
    """One row per model x coefficient (``meta_regression.csv``); a formula without a model has one row
    without a term, its reason in ``note``, and a line in ``attrs["notes"]`` (:func:`not_estimable_note`).
    ``knha_adhoc``: Knapp-Hartung as metafor's ``test = "adhoc"``."""
    tables, notes = [], []
    for formula in dict.fromkeys(formulas):
        variables = formula_variables(formula)
        numeric = tuple(name for name in variables if name in continuous)
        data, dropped = aggregate_within(effect_sizes, variables, aggregate_method, rho, numeric)
        fit, test = fit_model(data, formula, "REML", level, numeric, reference_levels, centre, permutations, seed,
                              control, knha_adhoc)
        if fit is not None:
            tables.append(model_table(formula, data, dropped, fit, test))
        else:
            notes.append(not_estimable_note(formula, data, variables, dropped))
            tables.append(not_estimable_row(formula, data, dropped, variables))
    table = pd.concat(tables, ignore_index=True) if tables else no_coefficients()
    table.attrs["notes"] = notes
    return table
