"""The lean nutpie callbacks of alliance_meta.bayes.compiled: the same draws as nutpie.compile_pymc_model."""
import numpy as np
import pytest

pytest.importorskip("nutpie")

import nutpie  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402
from pytensor.raise_op import Assert  # noqa: E402

from alliance_meta.bayes import compiled  # noqa: E402
from alliance_meta.bayes.mcmc import HierarchicalSampler, SamplerSettings  # noqa: E402
from alliance_meta.bayes.priors import Priors  # noqa: E402

SETTINGS = SamplerSettings(draws=300, tune=300, chains=2, cores=1)


def draws_of(sampler):
    """A pooled fit and a meta-regression with a scale matrix, as the analyses run them."""
    rng = np.random.default_rng(20261201)
    out = []
    for k, regression in ((9, False), (11, True)):
        y, v = rng.normal(0.3, 0.2, k), rng.uniform(0.01, 0.05, k)
        X = np.column_stack([np.ones(k), rng.normal(size=k)]) if regression else None
        scale = np.array([[0.1, 0.0], [-0.02, 0.05]]) if regression else None
        draws = sampler.sample(y, v, X, SETTINGS, scale=scale)
        out += [draws.beta, draws.tau, draws.theta, draws.eta_new, np.array(draws.divergences)]
    return out


def test_draws_are_those_of_nutpie_compile_pymc_model():
    lean = HierarchicalSampler(Priors.from_config(None, "z"), 12, 2)
    assert isinstance(lean._compiled, compiled.FixedDataModel)
    reference = HierarchicalSampler(Priors.from_config(None, "z"), 12, 2, backend="pymc")
    reference.backend = "nutpie"
    reference._compiled = nutpie.compile_pymc_model(reference.model, var_names=["beta", "tau", "eta_new", "theta"])
    assert not isinstance(reference._compiled, compiled.FixedDataModel)
    for ours, theirs in zip(draws_of(lean), draws_of(reference), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_layout_packs_in_c_order_and_rejects_other_shapes():
    layout = compiled.DataLayout({"y": (3,), "X": (3, 2)})
    X = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(layout.pack({"y": [1.0, 2.0, 3.0], "X": X}), [1, 2, 3, 0, 1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="compiled for"):
        layout.pack({"y": np.zeros(4)})
    with pytest.raises(KeyError, match="Unknown data variable"):
        layout.pack({"z": np.zeros(3)})


def test_operations_that_raise_are_found():
    x = pt.dvector("x")
    checked = pytensor.function([x], Assert("x must be positive")(x, pt.all(x > 0)))
    plain = pytensor.function([x], pt.exp(x))
    assert compiled.raising_operations(checked) == ["Assert"]
    assert compiled.raising_operations(plain) == []
