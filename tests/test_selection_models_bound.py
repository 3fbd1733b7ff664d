"""Selection models whose weight function reaches its bound: our likelihood is the accurate one, metafor's
``integrate()`` is not (tests/reference/selection_models_bound.R -> selection_models_bound.json).

On 8 correlations metafor 3.8's ``selmodel`` reports a higher log likelihood than our maximum (beta 15.905 at
mu = -0.370, ours 15.793 at -0.368; power 15.053 at -0.106, ours 14.999 at -0.082). The weight then piles up at the
clamped p-value 1e-5 (beta delta = (~0, 100), power delta = 100; both sides have the same bounds and clamp), A_i is
small (down to 3e-12), and ``integrate()``'s absolute tolerance, by default its rel.tol (metafor passes only rel.tol:
1.2e-4), lets it stop at a first estimate up to 14% low (the study of n = 210). Integrated accurately (R
``integrate()`` with abs.tol = 0, rel.tol 1e-12, split at the kinks; mpmath's tanh-sinh at 30 digits agrees to
1e-12), metafor's optimum has log likelihood 15.7923 (beta) and 14.9641 (power), below ours. A smaller rel.tol
(1e-10, the ``tight`` run; abs.tol follows it) does not help: the beta model then reports 15.947 at a point whose log
likelihood is 15.7920. So our A_i and log likelihoods are compared with the accurate ones (1e-10, our quadrature's
accuracy), and our maximum must exceed metafor's optima in the accurate likelihood.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alliance_meta.analyses.bias.selection_models import _Problem, fit_selection_model

REFERENCE = json.loads((Path(__file__).parent / "reference" / "selection_models_bound.json").read_text())
YI, VI = np.array(REFERENCE["yi"]), np.array(REFERENCE["vi"])
TYPES = list(REFERENCE["models"])


def _log_likelihood(type_, parameters):
    return -_Problem(YI, VI, type_, "greater")(np.array(parameters, float))[0]


@pytest.mark.parametrize("type_", TYPES)
def test_our_integrals_at_metafors_optimum_are_the_accurate_ones(type_):
    at = REFERENCE["models"][type_]["at_metafor"]
    mu, tau2, *delta = at["par"]
    log_a = _Problem(YI, VI, type_, "greater")._continuous_a(mu, np.sqrt(VI + tau2), np.array(delta))[0]
    np.testing.assert_allclose(np.exp(log_a), at["a_accurate"], rtol=1e-10)
    # metafor's integrate() at rel.tol 1.2e-4 misses up to 14% of A_i there (too high a likelihood)
    assert np.max(1 - np.array(at["a_default"]) / at["a_accurate"]) > 0.08


POINTS = [(type_, point) for type_, model in REFERENCE["models"].items() for point in ("at_metafor", "at_ours", "tight")
          if "par" in model[point]]  # the power model's tight run did not converge


@pytest.mark.parametrize(("type_", "point"), POINTS)
def test_log_likelihood_is_the_accurate_one(type_, point):
    at = REFERENCE["models"][type_][point]
    np.testing.assert_allclose(_log_likelihood(type_, at["par"]), at["ll_accurate"], rtol=0, atol=1e-10)
    reported = {"at_metafor": at.get("ll_default"), "tight": at.get("ll")}.get(point)
    if reported is not None:  # metafor's own figure at its optimum is too high, whatever integrate()'s rel.tol
        assert reported > at["ll_accurate"] + 0.05


@pytest.mark.parametrize("type_", TYPES)
def test_our_maximum_is_above_metafors_optimum_in_the_accurate_likelihood(type_):
    model = REFERENCE["models"][type_]
    fit = fit_selection_model(YI, VI, type_)
    assert fit.converged and fit.tau2 == 0
    ours = model["at_ours"]["par"]  # (mu, tau^2, delta), rounded to 10 digits
    np.testing.assert_allclose([fit.estimate, *fit.delta], [ours[0], *ours[2:]], rtol=1e-9)
    assert fit.log_likelihood > model["at_metafor"]["ll_accurate"] + 2e-4
    assert fit.log_likelihood > model["tight"].get("ll_accurate", -np.inf) + 2e-4
    assert fit.log_likelihood < model["metafor"]["ll"]  # what metafor reports
