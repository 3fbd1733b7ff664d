"""The ``selection_model`` row of ``bias.csv``: the Vevea & Hedges (1995) step-function selection
model with one-sided p-value steps, metafor's ``selmodel(type = "stepfun", steps)``.

Vevea, J. L. & Hedges, L. V. (1995). A general linear model for estimating effect
size in the presence of publication bias. *Psychometrika* 60, 419-435.

The model and its fit live in :mod:`.selection_models` (every type of metafor's
``selmodel``); this module keeps the three-parameter default of the bias battery.
"""

from __future__ import annotations

from alliance_meta.analyses.bias.selection_models import SelectionModel, fit_selection_model

__all__ = ["SelectionModel", "selection_model"]


def selection_model(yi, vi, steps=(0.025, 1.0), level: float = 95) -> SelectionModel:
    """Fit the step-function selection model (one-sided p-value steps, 1 added) by maximum likelihood."""
    return fit_selection_model(yi, vi, "stepfun", steps, "greater", level)
