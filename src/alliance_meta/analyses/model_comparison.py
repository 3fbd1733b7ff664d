"""Comparing nested meta-regressions, collinearity of moderators, and predicted effects.

* **Likelihood-ratio tests** as metafor 3.8's ``anova(full, reduced, refit = TRUE)``: models
  with different fixed effects are compared on their ML fits (REML likelihoods of different
  fixed effects are not comparable; Viechtbauer 2010, J Stat Softw 36(3), sec. 3.4). Both
  models are fitted by ML to the same rows; LRT = -2 (ll_reduced - ll_full) (0 when negative)
  on chi^2 with the difference in parameters (p + 1 each: coefficients and tau^2). Each model's
  fit statistics are metafor's ``fit.stats`` of ML: log-likelihood, deviance (against the
  saturated model), AIC = -2 ll + 2 m, BIC = -2 ll + m log k, AICc = -2 ll + 2 m k' / (k' - m - 1)
  with k' = max(k, m + 2) (Burnham & Anderson 2002, eq. 2.14 for AICc). The pseudo-R^2 is
  anova's: 100 max(0, (tau^2_reduced - tau^2_full) / tau^2_reduced) of the ML fits (Raudenbush
  2009), 0 when tau^2_reduced = 0.
* **Variance inflation factors** as metafor's ``vif()`` (default ``reestimate = FALSE``): from
  the correlation matrix R of the coefficients without the intercept, the (generalised) VIF of
  a set of coefficients S is det(R_SS) det(R_-S-S) / det(R) (Fox & Monette 1992, JASA 87,
  178-183, eq. 10), for one coefficient (R^-1)_jj; GSIF = GVIF^(1 / (2 |S|)).
* **Predicted effects** as metafor's ``predict(fit, newmods = x)``: x'b with
  se = sqrt(x' V x), CI x'b -+ crit se and prediction interval x'b -+ crit sqrt(se^2 + tau^2)
  (crit: normal, or t on k - p df with the Knapp-Hartung scaled V, ad hoc under ``knha_adhoc``). At each level of a
  categorical moderator, or chosen values of a continuous one, x is the marginal row
  (:func:`alliance_meta.engines.design.marginal_rows`): the other moderators as observed and
  averaged, i.e. the marginal mean.

Rows enter as the moderator analyses enter them (:func:`alliance_meta.analyses.moderators.aggregate_within`):
one per study x combination of the model's variables, so ``k`` of a prediction matches
``meta_regression.csv``. A comparison uses the rows of its full model for both models.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from alliance_meta.engines import distributions as dist
from alliance_meta.engines.design import (Design, build_design, column_variables, design_variables, dropped_note,
                                          formula_terms, formula_variables, FormulaTermError, marginal_rows)
from alliance_meta.engines.heterogeneity import level_alpha
from alliance_meta.engines.transforms import back_transform
from alliance_meta.inputs.options import keywords_checked
from alliance_meta.models import metareg
from alliance_meta.models.location_scale import fit_statistics, log_likelihood
from alliance_meta.models.univariate import ADHOC_NOTE
from alliance_meta.wording import did_you_mean

INTERCEPT_ONLY = "1"


def _intercept_only(formula: str) -> bool:
    """``"1"``, ``"~ 1"``, ``"~1"`` or empty: the model without moderators."""
    return formula.strip().removeprefix("~").strip() in ("", INTERCEPT_ONLY)


def _terms(formula: str) -> frozenset:
    return frozenset() if _intercept_only(formula) else formula_terms(formula)


def _variables(formula: str) -> tuple[str, ...]:
    return () if _intercept_only(formula) else formula_variables(formula)


def _design(data, formula, continuous, reference_levels, centre) -> Design:
    if _intercept_only(formula):
        return Design(np.ones((len(data), 1)), ("intercept",))
    return build_design(data, formula, continuous, reference_levels, centre)


@dataclass(frozen=True)
class ModelStatistics:
    """One model of a comparison: metafor's ``fit.stats`` (of its method) and tau^2, Q_E."""

    formula: str
    k: int
    method: str
    parameters: int
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    tau2: float
    qe: float
    qe_p: float
    converged: bool
    note: str

    @classmethod
    def of(cls, formula: str, fit: metareg.MetaRegression, yi, vi, X) -> ModelStatistics:
        parameters = fit.p + 1  # the coefficients and tau^2
        if fit.converged:
            loglik = log_likelihood(yi, vi, X, fit.tau2, fit.method)
            statistics = fit_statistics(loglik, np.asarray(yi, float), np.asarray(vi, float), fit.k, fit.p,
                                        parameters, fit.method)
        else:
            statistics = dict.fromkeys(("loglik", "deviance", "aic", "bic", "aicc"), np.nan)
        return cls(formula, fit.k, fit.method, parameters, **statistics, tau2=fit.tau2, qe=fit.qe, qe_p=fit.qe_p,
                   converged=fit.converged, note=fit.note)


@dataclass(frozen=True)
class Comparison:
    """A likelihood-ratio test of a reduced model nested in a full one (metafor's ``anova``)."""

    full: ModelStatistics
    reduced: ModelStatistics
    lrt: float
    lrt_df: int
    lrt_p: float
    r2: float

    @property
    def name(self) -> str:
        return f"{self.full.formula} vs {self.reduced.formula}"

    def to_frame(self) -> pd.DataFrame:
        """Two rows, ``model`` full then reduced (as metafor prints them); the test and the
        pseudo-R^2 on the full model's row."""
        rows = []
        for role, model in (("full", self.full), ("reduced", self.reduced)):
            row = {"comparison": self.name, "model": role, **model.__dict__}
            tested = role == "full"
            row.update(lrt=self.lrt if tested else np.nan, lrt_df=self.lrt_df if tested else np.nan,
                       lrt_p=self.lrt_p if tested else np.nan, r2=self.r2 if tested else np.nan)
            rows.append(row)
        frame = pd.DataFrame(rows).astype({"lrt_df": "Int64"})
        order = ["comparison", "model", "formula", "k", "method", "parameters", "loglik", "deviance", "aic", "bic",
                 "aicc", "lrt", "lrt_df", "lrt_p", "tau2", "r2", "qe", "qe_p", "converged", "note"]
        return frame[order]


def compare(yi, vi, X_full, X_reduced, full_formula: str = "full", reduced_formula: str = "reduced",
            method: str = "ML", control=None) -> Comparison:
    """LRT of ``X_reduced`` nested in ``X_full`` on the same rows, both fitted by ``method``
    (``ML``: metafor's ``anova(..., refit = TRUE)``; ``REML`` only compares models with the
    same fixed effects, so it is refused here, where they differ)."""
    if method != "ML":
        raise ValueError("models with different moderators are compared on ML fits (metafor's anova with "
                         f"refit = TRUE); method {method!r} is not comparable")
    X_full, X_reduced = np.asarray(X_full, float), np.asarray(X_reduced, float)
    if X_reduced.shape[1] >= X_full.shape[1]:
        raise ValueError("the reduced model must have fewer coefficients than the full model")
    fits = [metareg.fit(yi, vi, X, method=method, control=control) for X in (X_full, X_reduced)]
    full, reduced = (ModelStatistics.of(formula, fit, yi, vi, X)
                     for formula, fit, X in zip((full_formula, reduced_formula), fits, (X_full, X_reduced)))
    df = full.parameters - reduced.parameters
    lrt = max(0.0, reduced.deviance - full.deviance) if full.converged and reduced.converged else np.nan
    lrt_p = float(dist.chi2.sf(lrt, df)) if np.isfinite(lrt) else np.nan
    if not np.isfinite(reduced.tau2) or not np.isfinite(full.tau2):
        r2 = np.nan
    else:
        r2 = 0.0 if reduced.tau2 == 0 else 100 * max(0.0, (reduced.tau2 - full.tau2) / reduced.tau2)
    return Comparison(full, reduced, lrt, df, lrt_p, r2)


def compare_formulas(data: pd.DataFrame, full: str, reduced: str, continuous=(), reference_levels=None,
                     centre: bool = False, control=None) -> Comparison:
    """:func:`compare` of two formulas on the rows of ``data`` (``yi``, ``vi``, the moderators)."""
    if not _terms(reduced) < _terms(full):
        raise ValueError(f"{reduced!r} is not nested in {full!r}")
    designs = [_design(data, formula, continuous, reference_levels, centre) for formula in (full, reduced)]
    if designs[0].matrix.shape[1] <= designs[1].matrix.shape[1]:  # metafor's anova: "LRT not meaningful"
        raise ValueError(f"{full} and {reduced} are the same model in these rows, nothing to test; "
                         f"{dropped_note(designs[0]) or 'the further terms of ' + full + ' are redundant'}")
    comparison = compare(data["yi"], data["vi"], designs[0].matrix, designs[1].matrix, full, reduced, control=control)
    # a redundant term left out of either model (in ``a + b vs b`` with b constant, the reduced model is ``1``)
    full_model, reduced_model = (replace(model, note="; ".join(filter(None, (model.note, dropped_note(design)))))
                                 for model, design in zip((comparison.full, comparison.reduced), designs))
    return replace(comparison, full=full_model, reduced=reduced_model)


def nested_pairs(formulas, null: bool = True) -> list[tuple[str, str]]:
    """(full, reduced) pairs whose reduced model's terms are a proper subset of the full
    model's (``a * b`` expanded), in the order given; ``null``: each model also against the
    intercept-only model ``"1"``. Formulas of the same model (``~ a + b`` and ``~b+a``, ``~ 1`` and ``1``) count
    once, as first written."""
    unique: dict[frozenset, str] = {}
    for formula in formulas:
        unique.setdefault(_terms(formula), formula)
    formulas = list(unique.values())
    candidates = formulas + ([INTERCEPT_ONLY] if null and not any(_intercept_only(f) for f in formulas) else [])
    return [(full, reduced) for full, reduced in itertools.product(formulas, candidates)
            if _terms(reduced) < _terms(full)]


def model_comparison_table(effect_sizes: pd.DataFrame, formulas, *, continuous=(), aggregate_method="gls",
                           rho=0.5, reference_levels=None, centre=False, null: bool = True,
                           control=None) -> pd.DataFrame:
    """Rows of ``model_comparison.csv``: every nested pair of ``formulas`` (:func:`nested_pairs`),
    both models fitted by ML to the full model's rows (aggregated as the moderator analyses
    aggregate them); a pair whose full model is not estimable is one row with a ``note`` saying why (a pair
    with fewer than 3 rows coded, e.g. a moderator coded in no row, is left out: moderators.csv says why)."""
    from alliance_meta.analyses.moderators import aggregate_within  # here: moderators may import vif_column

    tables = []
    for full, reduced in nested_pairs(formulas, null):
        variables = _variables(full)
        numeric = tuple(name for name in variables if name in continuous)
        data, dropped = aggregate_within(effect_sizes, variables, aggregate_method, rho, numeric)

        def not_estimable(why: str) -> pd.DataFrame:
            return pd.DataFrame([{"comparison": f"{full} vs {reduced}", "model": "full", "formula": full,
                                  "k": len(data), "note": f"not estimable: {why}"}])

        if len(data) < 3:  # e.g. a moderator coded in no row: left out (moderators.csv says why)
            continue
        if len(data) <= (parameters := _design(data, full, numeric, reference_levels, centre).matrix.shape[1]) + 1:
            table = not_estimable(f"k = {len(data)} rows for {parameters} coefficients and tau^2 of the full model "
                                  f"(k > {parameters + 1} needed)")
        else:
            try:
                table = compare_formulas(data, full, reduced, numeric, reference_levels, centre, control).to_frame()
            except ValueError as error:  # e.g. a moderator with one level in these rows: nothing to compare
                table = not_estimable(str(error))
        tables.append(table.assign(n_studies=data["study_id"].nunique(), k_dropped=dropped))
    if not tables:
        return pd.DataFrame(columns=["comparison", "model", "formula", "k", "parameters", "loglik", "aic", "bic",
                                     "aicc", "lrt", "lrt_df", "lrt_p", "r2"])
    return pd.concat(tables, ignore_index=True)


# --- variance inflation -------------------------------------------------------------------

def term_groups(design: Design) -> dict[str, list[int]]:
    """Indices of the columns of each term of a design (e.g. all dummies of one moderator),
    intercept excluded: the sets whose generalised VIF is meaningful."""
    groups: dict[str, list[int]] = {}
    for index, column in enumerate(design.columns):
        if column == "intercept":
            continue
        groups.setdefault(":".join(column_variables(design, column)), []).append(index)
    return groups


def vif_table(covariance, columns, intercept: bool = True, groups=None) -> pd.DataFrame:
    """metafor's ``vif()`` from a coefficient covariance (any model: ``rma.uni``, ``rma.mv``):
    ``groups`` None gives one row per coefficient but the intercept (``intercept=True``: the
    first column is one and is left out, as metafor); a dict name -> column indices gives
    ``vif(fit, btt = groups)``. Columns ``term``, ``coefficients``, ``m``, ``vif`` (generalised
    for m > 1) and ``sif`` = vif^(1/(2m))."""
    covariance, columns = np.asarray(covariance, float), list(columns)
    keep = list(range(1, len(columns))) if intercept else list(range(len(columns)))
    if not keep:
        raise ValueError("VIFs are not defined for an intercept-only model")
    block = covariance[np.ix_(keep, keep)]
    scale = np.sqrt(np.diag(block))
    correlation = block / np.outer(scale, scale)
    position = {j: i for i, j in enumerate(keep)}
    groups = {columns[j]: [j] for j in keep} if groups is None else groups
    full, rows = np.linalg.det(correlation), []
    for name, indices in groups.items():
        inside = [position[j] for j in indices]
        outside = [i for i in range(len(keep)) if i not in inside]
        rest = np.linalg.det(correlation[np.ix_(outside, outside)]) if outside else 1.0
        value = np.linalg.det(correlation[np.ix_(inside, inside)]) * rest / full
        rows.append({"term": name, "coefficients": ", ".join(columns[j] for j in indices), "m": len(indices),
                     "vif": value, "sif": value ** (1 / (2 * len(indices)))})
    return pd.DataFrame(rows)


def vif(fit: metareg.MetaRegression, groups=None) -> pd.DataFrame:
    """:func:`vif_table` of a fitted meta-regression (its intercept detected by ``metareg.fit``)."""
    return vif_table(fit.covariance, fit.columns, intercept=0 not in fit.btt, groups=groups)


def vif_column(fit: metareg.MetaRegression) -> np.ndarray:
    """One VIF per coefficient of ``fit`` in its order, NaN for the intercept: the ``vif``
    column of ``meta_regression.csv``. NaN throughout for an intercept-only model or one that
    did not converge."""
    column = np.full(fit.p, np.nan)
    if not fit.converged or fit.p < 2:
        return column
    table = vif(fit)
    column[[fit.columns.index(term) for term in table["term"]]] = table["vif"].to_numpy()
    return column


# --- predicted effects --------------------------------------------------------------------

def prediction_grid(data: pd.DataFrame, variables, continuous=(), values=None,
                    risk_of_bias=None) -> list[tuple[str, object]]:
    """(variable, value) pairs: each level of a categorical variable in subgroups.csv's order
    (:func:`~alliance_meta.analyses.moderators.univariate.display_order` of ``risk_of_bias``); ``values[name]``
    of a continuous one, default mean - SD, mean, mean + SD of the rows."""
    from alliance_meta.analyses.moderators.univariate import display_order

    values = values or {}
    grid = []
    for name in variables:
        if name in values:
            chosen = list(values[name])
        elif name in continuous:
            numbers = pd.to_numeric(data[name]).to_numpy(float)
            mean, sd = numbers.mean(), numbers.std(ddof=1) if len(numbers) > 1 else 0.0
            chosen = [mean - sd, mean, mean + sd]
        else:
            levels = sorted(set(data[name].astype(str)))
            chosen = [levels[i] for i in display_order(name, levels, risk_of_bias)]
        grid += [(name, value) for value in chosen]
    return grid


PREDICTION_TESTS = ("z", "knha")
"""The tests of the marginal means: Wald z or Knapp-Hartung t (metafor's ``test = "knha"``)."""


def predictions(fit: metareg.MetaRegression, data: pd.DataFrame, continuous=(), values=None,
                tests=("z",), metric: str | None = None, risk_of_bias=None) -> pd.DataFrame:
    """Marginal means of a fitted meta-regression at :func:`prediction_grid`, one row per
    (variable, value, test): ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``pi_lower``,
    ``pi_upper`` (metafor's ``predict(fit, newmods =)``), ``k`` rows at a categorical level,
    and back-transformed columns of ``metric`` (e.g. ``r``, ``r_ci_lower``, ...); for a fit with ad hoc
    Knapp-Hartung tests (``knha_adhoc``) a last column ``note``, which says so on the ``knha`` rows (as
    meta_regression.csv's note)."""
    if fit.design is None:
        raise ValueError("predictions need the fit's design (fit it with metareg.fit_formula or pass design=)")
    variables = design_variables(fit.design)
    grid = prediction_grid(data, variables, continuous, values, risk_of_bias)
    rows = []
    for test in tests:
        for name, value in grid:
            try:
                x = marginal_rows(fit.design, data, name, [value])
            except FormulaTermError as error:  # log(year - 2000) at the grid's mean - SD, 1999: no prediction there
                rows.append({"variable": name, "value": value, "test": test, "note": f"no prediction at {name} = "
                             f"{value:g}: the term {error.term} is not a number there" if isinstance(value, float) else
                             f"{value}: the term {error.term} is not a number there"})
                continue
            mean, se, lower, upper = (float(part[0]) for part in fit.predict(x, test))
            if test == "knha":
                critical = dist.t.isf(level_alpha(fit.level) / 2, fit.residual_df)
            else:
                critical = dist.norm.isf(level_alpha(fit.level) / 2)
            half = critical * np.sqrt(se**2 + fit.tau2)
            count = int((data[name].astype(str) == str(value)).sum()) if name not in continuous else pd.NA
            rows.append({"variable": name, "value": value, "k": count, "test": test, "estimate": mean, "se": se,
                         "ci_lower": lower, "ci_upper": upper, "pi_lower": mean - half, "pi_upper": mean + half,
                         "tau2": fit.tau2})
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["k"] = frame["k"].astype("Int64")
    if metric is not None and len(frame):
        for prefix in back_transform([], metric):
            for column, suffix in (("estimate", ""), ("ci_lower", "_ci_lower"), ("ci_upper", "_ci_upper"),
                                   ("pi_lower", "_pi_lower"), ("pi_upper", "_pi_upper")):
                frame[prefix + suffix] = back_transform(frame[column].to_numpy(float), metric)[prefix]
    if fit.knha_adhoc and len(frame):
        adhoc = pd.Series(np.where(frame["test"] == "knha", ADHOC_NOTE, ""), index=frame.index)
        frame["note"] = frame["note"].fillna(adhoc) if "note" in frame else adhoc
    elif "note" in frame:
        frame["note"] = frame["note"].fillna("")
    return frame


def prediction_table(effect_sizes: pd.DataFrame, formulas, metric: str, *, continuous=(), values=None,
                     tests=("z", "knha"), aggregate_method="gls", rho=0.5, reference_levels=None, centre=False,
                     level=95.0, control=None, knha_adhoc: bool = False, risk_of_bias=None) -> pd.DataFrame:
    """Rows of ``meta_regression_predictions.csv``: for each formula, the REML meta-regression on
    the rows the moderator analyses use (same k as ``meta_regression.csv``) and its marginal means
    (:func:`predictions`); models not estimable or not converged are left out. ``knha_adhoc``: the ``knha``
    rows are metafor's ``test = "adhoc"`` (as ``meta_regression.csv``'s). ``risk_of_bias``: the config's block,
    whose custom tool orders a ``rob_*`` column's levels (:func:`prediction_grid`)."""
    from alliance_meta.analyses.moderators import aggregate_within
    from alliance_meta.analyses.moderators.univariate import estimable

    tables = []
    for formula in dict.fromkeys(formulas):
        variables = _variables(formula)
        numeric = tuple(name for name in variables if name in continuous)
        data, _ = aggregate_within(effect_sizes, variables, aggregate_method, rho, numeric)
        if len(data) < 3:
            continue
        design = build_design(data, formula, numeric, reference_levels, centre)
        if not estimable(design, len(data)):
            continue
        fit = metareg.fit(data["yi"], data["vi"], design.matrix, design.columns, "REML", level, design=design,
                          control=control, knha_adhoc=knha_adhoc)
        if not fit.converged:
            continue
        table = predictions(fit, data, numeric, values, tests, metric, risk_of_bias)
        table.insert(0, "model", formula)
        tables.append(table.assign(value=table["value"].astype(str)))
    if not tables:
        return pd.DataFrame(columns=["model", "variable", "value", "k", "test", "estimate", "se", "ci_lower",
                                     "ci_upper", "pi_lower", "pi_upper", "tau2"])
    return pd.concat(tables, ignore_index=True)


@dataclass(frozen=True, repr=False, eq=False)
class ModelComparisonAnalysis:
    """``model_comparison.csv`` (``comparison``: likelihood-ratio tests of the nested pairs of formulas, ML
    refits) and ``meta_regression_predictions.csv`` (``predictions``: the marginal means of each formula)."""

    comparison: pd.DataFrame
    predictions: pd.DataFrame
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.comparison.copy()

    def __repr__(self) -> str:
        notes = f"; {'; '.join(self.notes)}" if self.notes else ""
        comparisons, predictions = self.comparison["comparison"].nunique(), len(self.predictions)
        return (f"<ModelComparisonAnalysis: {comparisons} comparison{'' if comparisons == 1 else 's'}, "
                f"{predictions} prediction{'' if predictions == 1 else 's'}{notes}>")


@keywords_checked
def model_comparison_analysis(fit, formulas, *, continuous=None, reference_levels=None, centre: bool = True,
                              values=None, tests=("z", "knha"),
                              knha_adhoc: bool | None = None) -> ModelComparisonAnalysis:
    """metafor's ``anova(full, reduced, refit = TRUE)`` of every nested pair of ``formulas`` (and each against
    the intercept-only model) and ``predict(fit, newmods =)`` marginal means of each formula
    (``am.model_comparison``), on a fit's rows with its level, ``rho`` and aggregation, as the moderator
    analyses enter them. ``continuous``: the variables that are slopes (default: those whose column
    holds numbers); ``values``: the values of a continuous moderator to predict at; ``tests``: ``z``, ``knha``;
    ``knha_adhoc``: ``knha`` as metafor's ad hoc variant (None: as the fit,
    :func:`~alliance_meta.models.fits.knha_adhoc`).
    """
    from alliance_meta.analyses.moderators.dispatch import checked_reference_levels, checked_values, slope_variables
    from alliance_meta.analyses.results import univariate_model_note
    from alliance_meta.models.fits import knha_adhoc as adhoc_of, require_fit

    require_fit(fit, "am.model_comparison")
    if fit.metric is None:
        raise ValueError("am.model_comparison needs the analysis metric for the predictions' back-transformed "
                         "columns: am.fit(..., metric='z') (or 'smd', 'log_or')")
    if not isinstance(formulas, (str, list, tuple)):
        raise TypeError(f"am.model_comparison: formulas is a formula or a list of formulas, not {formulas!r}")
    formulas = [formulas] if isinstance(formulas, str) else list(formulas)
    tests = (tests,) if isinstance(tests, str) else tuple(tests)
    if not tests or any(test not in PREDICTION_TESTS for test in tests):
        spelt = "".join(did_you_mean(test, PREDICTION_TESTS) for test in tests if test not in PREDICTION_TESTS)
        raise ValueError(f"am.model_comparison: tests {list(tests)!r}{spelt}: each one of "
                         f"{', '.join(PREDICTION_TESTS)}")
    variables = list(dict.fromkeys(name for formula in formulas for name in _variables(formula)))
    fit.moderator_columns(variables, "am.model_comparison: the formula's variable")
    continuous = slope_variables(fit, continuous, variables, "am.model_comparison")
    reference_levels = checked_reference_levels(fit, reference_levels, variables, continuous, "am.model_comparison")
    values = checked_values(values, variables, continuous, "am.model_comparison")
    options = dict(continuous=continuous, aggregate_method=fit.aggregate_method, rho=fit.rho,
                   reference_levels=reference_levels, centre=centre, control=fit.control)
    return ModelComparisonAnalysis(
        model_comparison_table(fit.effect_sizes, formulas, **options),
        prediction_table(fit.effect_sizes, formulas, fit.metric, values=values, tests=tests, level=fit.level,
                         knha_adhoc=adhoc_of(fit, knha_adhoc, "am.model_comparison"), **options),
        univariate_model_note(fit, "am.model_comparison"))
