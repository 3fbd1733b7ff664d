"""Small-study effects and publication bias, one module per method family.

:mod:`.regression` (Egger, PET-PEESE), :mod:`.rank` (Begg-Mazumdar),
:mod:`.trim_and_fill`, :mod:`.fail_safe`, :mod:`.selection` (the step-function
selection model of the battery), :mod:`.selection_models` (every selection model of
metafor's ``selmodel``), :mod:`.excess_significance` (``tes``), :mod:`.henmi_copas` (``hc``),
:mod:`.svalue` (S-values), :mod:`.multilevel` (Egger's test in the three-level model);
:mod:`.results` holds the row type of ``bias.csv`` and :mod:`.battery` runs the
univariate tests on one set of independent studies. :func:`publication_bias` takes a fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.analyses.bias.battery import bias_tests
from alliance_meta.analyses.bias.excess_significance import ExcessSignificance, excess_significance
from alliance_meta.analyses.bias.fail_safe import fail_safe_n
from alliance_meta.analyses.bias.henmi_copas import HenmiCopas, henmi_copas
from alliance_meta.analyses.bias.multilevel import bias_rows as multilevel_bias_rows
from alliance_meta.analyses.bias.rank import kendall_permutation_cdf, kendall_test, rank_test
from alliance_meta.analyses.bias.regression import egger_lm_test, egger_test, pet_peese, sei_regression
from alliance_meta.analyses.bias.results import BiasTest, bias_frame, independent_studies
from alliance_meta.analyses.bias.selection import selection_model
from alliance_meta.analyses.bias.selection_models import (SelectionModel, check_steps, fit_selection_model,
                                                          fit_selection_models, selection_models_table)
from alliance_meta.analyses.bias.svalue import SValue, s_values
from alliance_meta.analyses.bias.trim_and_fill import TrimFillResult, trim_and_fill, trimfill_side
from alliance_meta.inputs.options import keywords_checked
from alliance_meta.models import univariate
from alliance_meta.models.fits import Fit, MultilevelFit, require_fit
from alliance_meta.wording import did_you_mean

__all__ = ["BiasResult", "BiasTest", "ExcessSignificance", "HenmiCopas", "SValue", "SelectionModel",
           "TrimFillResult", "bias_frame", "bias_tests", "egger_lm_test", "egger_test", "excess_significance",
           "fail_safe_n", "fit_selection_model", "fit_selection_models", "henmi_copas", "kendall_permutation_cdf",
           "kendall_test", "pet_peese", "publication_bias", "rank_test", "s_values", "selection_model",
           "selection_models_table", "independent_studies", "sei_regression", "trim_and_fill", "trimfill_side"]

TRIMFILL_SIDES = (None, "left", "right")
TRIMFILL_ESTIMATORS = ("L0", "R0")  # as bias.trim_and_fill fits them
PET_PEESE_SIDES = ("one", "two")  # as bias.regression.pet_peese tests them


@dataclass(frozen=True, repr=False, eq=False)
class BiasResult:
    """``bias.csv`` of a fit, the studies the univariate tests saw, and trim and fill's result."""

    table: pd.DataFrame
    studies: pd.DataFrame  # yi, vi of the independent studies (the composites of a three-level fit)
    filled: TrimFillResult | None
    estimate: float | None  # the studies' pooled estimate by the fit's method (the funnel's centre)
    metric: str | None
    notes: tuple[str, ...] = ()
    method: str | None = None  # the fit's estimator, which gave ``estimate``
    composites: bool = False  # ``studies`` are the study composites of a three-level fit

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @keywords_checked
    def funnel(self, note: str | None = None):
        """The contour-enhanced funnel plot (:func:`alliance_meta.plots.funnel.funnel_plot`) of these studies.
        ``note``: beneath it (default: that the rows are simulated, when they are; ``""`` leaves it out)."""
        from alliance_meta.plots.funnel import funnel_plot
        from alliance_meta.plots.provenance import figure_note, returned_figure

        filled = self.filled
        figure = funnel_plot(self.studies["yi"].to_numpy(float), self.studies["vi"].to_numpy(float), self.metric,
                             self.estimate, filled.filled_yi if filled else np.empty(0),
                             filled.filled_vi if filled else np.empty(0), filled.fit.estimate if filled else None,
                             method=self.method, composites=self.composites)
        return returned_figure(figure, figure_note(self.studies) if note is None else note)

    def __repr__(self) -> str:
        return f"<BiasResult: {len(self.table)} tests on k = {len(self.studies)}>"


@keywords_checked
def publication_bias(fit: Fit, *, trimfill_estimator: str = "L0", trimfill_side: str | None = None,
                     selection_steps=(0.025,), pet_peese_alpha: float = 0.05, pet_peese_sided: str = "one",
                     fail_safe_alpha: float = 0.05, tes_alpha: float = 0.05,
                     svalue_alpha: float = 0.05) -> BiasResult:
    """Every bias test of ``fit`` as the rows of ``bias.csv``.

    A univariate fit is tested as it is. A three-level fit is tested on one composite per study
    (the univariate tests assume independent studies) and adds ``egger_multilevel``: Egger's
    test in the three-level model with a CR2 t test. A test that cannot be computed (too few
    studies...) gives a row with the reason in ``note``.
    """
    require_fit(fit, "am.publication_bias")
    if trimfill_side not in TRIMFILL_SIDES:
        raise ValueError(f"unknown trimfill_side {trimfill_side!r}; expected None (metafor's default side), "
                         "'left' or 'right' (metafor's side)")
    if trimfill_estimator not in TRIMFILL_ESTIMATORS:  # else a not-estimable row
        raise ValueError(f"unknown trimfill_estimator {trimfill_estimator!r}"
                         f"{did_you_mean(trimfill_estimator, TRIMFILL_ESTIMATORS)}; expected one of "
                         f"{', '.join(TRIMFILL_ESTIMATORS)} (metafor's estimator)")
    if pet_peese_sided not in PET_PEESE_SIDES:  # else pet and peese left out and a not-estimable pet_peese row
        raise ValueError(f"unknown pet_peese_sided {pet_peese_sided!r}"
                         f"{did_you_mean(pet_peese_sided, PET_PEESE_SIDES)}; expected one of "
                         f"{', '.join(PET_PEESE_SIDES)}")
    for name, alpha in (("pet_peese_alpha", pet_peese_alpha), ("fail_safe_alpha", fail_safe_alpha),
                        ("tes_alpha", tes_alpha), ("svalue_alpha", svalue_alpha)):
        if not (isinstance(alpha, (int, float, np.number)) and 0 < alpha < 1):
            raise ValueError(f"{name} must be a number between 0 and 1 (exclusive), not {alpha!r}")
    try:  # as am.selection_models checks its steps (else a not-estimable row, or with [1] a model of no selection)
        selection_steps = check_steps(selection_steps)  # one cut-point as a number too, as am.selection_models
    except ValueError as error:
        raise ValueError(f"selection_steps: {error}") from None
    multilevel = isinstance(fit, MultilevelFit)
    studies = independent_studies(fit)
    notes = ((f"multilevel: univariate tests on {len(studies)} study composites; egger_multilevel on all "
              f"{len(fit.data)} rows"),) if multilevel else ()
    yi, vi = studies["yi"].to_numpy(float), studies["vi"].to_numpy(float)
    weights = None if multilevel else fit.weights  # a univariate GENQ fit's own weights, one per study
    table, filled = bias_tests(yi, vi, fit.method, fit.metric, fit.level, trimfill_estimator, trimfill_side,
                               selection_steps, pet_peese_alpha, pet_peese_sided, fail_safe_alpha, tes_alpha,
                               svalue_alpha, weights, fit.control)
    if multilevel:
        table = pd.concat([table, multilevel_bias_rows(fit.data, fit.metric, rho=fit.rho, method=fit.method,
                                                       level=fit.level)], ignore_index=True)
    estimate = univariate.fit(yi, vi, fit.method, tau2_interval=False, weights=weights, control=fit.control).estimate
    return BiasResult(table, studies, filled, estimate, fit.metric, notes, fit.method, multilevel)

