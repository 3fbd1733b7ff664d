"""Selection models with tau^2 on its boundary: standard errors as metafor >= 4.6 computes them
(tests/reference/selection_models_boundary.R -> selection_models_boundary.json: dat.kalaian1996, whose ML tau^2 is
0, every type; dat.baskerville2012's beta model, tau^2 about 5e-6).

metafor holds tau^2 at its estimate in the Hessian below ``tau2tol = min(vi/10, 1e-4)`` (since 4.2-0) and a
step-function delta below ``deltatol = 1e-4`` (since 4.6): with tau^2 on its boundary the whole Hessian is singular
or indefinite, and alliance-meta, like metafor 3.8, reported no standard error at all ("Hessian not invertible"; a
dropout family with tau^2 = 0 got no CI from any selection model) or one from the singular direction. metafor's
optimiser stops at tau^2 of about 1e-6 rather than at 0, where the likelihood is flat in tau^2, so the comparison is
made at metafor's own optimum (our Hessian there, the same parameters held) and, for our fit, to the 1e-3 that the
numerical Hessians of integrals allow (as tests/test_selection_models_reference.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from alliance_meta.analyses.bias.selection_models import (_cholesky_inverse, _estimated_in_hessian, _hessian,
                                                          _Problem, fit_selection_model)

REFERENCE = json.loads((Path(__file__).parent / "reference" / "selection_models_boundary.json").read_text())
DATASETS = REFERENCE["datasets"]
STEPS = tuple(REFERENCE["steps"])
FITTED = [(name, type_, run) for name, entry in DATASETS.items() for type_, runs in entry["selmodel"].items()
          for run in ("default", "tight") if "error" not in runs[run]]
#: the runs to compare standard errors with: metafor inverted its Hessian and warned of nothing (negexp and
#: logistic, tight: delta at its bound of 0, where numDeriv's steps cross the bound), and its integrals are
#: accurate enough for a numerical Hessian (not a beta model's default run: integrate() at rel.tol 1.2e-4 of a
#: weight with a singularity at p = 0, as in tests/test_selection_models_reference.py)
RUNS = [(name, type_, run) for name, type_, run in FITTED
        if DATASETS[name]["selmodel"][type_][run]["se"] is not None
        and not DATASETS[name]["selmodel"][type_][run]["warnings"] and (type_, run) != ("beta", "default")]


def data(name):
    return np.array(DATASETS[name]["yi"], float), np.array(DATASETS[name]["vi"], float)


def test_the_data_have_tau2_at_its_boundary_and_metafor_held_it():
    assert DATASETS["kalaian1996"]["tau2"] == 0 and len(FITTED) >= 11 and len(RUNS) >= 6
    for name, type_, run in FITTED:
        result = DATASETS[name]["selmodel"][type_][run]
        assert result["tau2"] < DATASETS[name]["tau2tol"] and result["hessian_covers"][1] is False, (name, type_, run)
        assert result["se_tau2"] is None


def theta(type_, result):
    delta = np.atleast_1d(np.asarray(result["delta"], float))
    return np.concatenate([[result["estimate"], result["tau2"]], delta[1:] if type_ == "stepfun" else delta])


@pytest.mark.parametrize("name,type_,run", RUNS)
def test_standard_errors_at_metafors_optimum(name, type_, run):
    result = DATASETS[name]["selmodel"][type_][run]
    point = theta(type_, result)
    yi, vi = data(name)
    problem = _Problem(yi, vi, type_, "greater", np.array(STEPS) if type_ == "stepfun" else None)
    estimated = _estimated_in_hessian(point, vi, type_)
    covers = np.array(result["hessian_covers"], bool)
    # metafor's hest: (beta, tau2, every delta; the step function's first delta is fixed at 1)
    assert estimated.tolist() == (covers[[0, 1, *range(3, covers.size)]] if type_ == "stepfun" else covers).tolist()
    covariance = _cholesky_inverse(_hessian(problem, point)[np.ix_(estimated, estimated)])
    assert math.sqrt(covariance[0, 0]) == pytest.approx(result["se"], rel=1e-3)


@pytest.mark.parametrize("name,type_", sorted({(name, type_) for name, type_, _ in FITTED}))
def test_our_fit_has_standard_errors_where_metafor_has(name, type_):
    ours = fit_selection_model(*data(name), type_, STEPS)
    assert "Hessian not invertible" not in ours.note and math.isnan(ours.se_tau2) and math.isfinite(ours.se)
    if (name, type_, "tight") in RUNS:  # metafor's optimum to 1e-12 (reltol): ours, where the likelihood is flat in tau^2
        assert ours.se == pytest.approx(DATASETS[name]["selmodel"][type_]["tight"]["se"], rel=1e-3)
