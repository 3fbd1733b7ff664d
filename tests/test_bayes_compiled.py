"""The lean nutpie callbacks of alliance_meta.bayes.compiled: the same draws as nutpie.compile_pymc_model."""
import dataclasses

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
VAR_NAMES = ["beta", "tau", "eta_new", "theta"]


def draws_of(sampler, settings):
    """A pooled fit and a meta-regression with a scale matrix, as the analyses run them."""
    rng = np.random.default_rng(20261201)
    out = []
    for k, regression in ((9, False), (11, True)):
        y, v = rng.normal(0.3, 0.2, k), rng.uniform(0.01, 0.05, k)
        X = np.column_stack([np.ones(k), rng.normal(size=k)]) if regression else None
        scale = np.array([[0.1, 0.0], [-0.02, 0.05]]) if regression else None
        draws = sampler.sample(y, v, X, settings, scale=scale)
        out += [draws.beta, draws.tau, draws.theta, draws.eta_new, np.array(draws.divergences)]
    return out


@pytest.mark.parametrize("tau_prior, cores", [(None, 1), ({"family": "log_t", "mu": -3.0, "sigma": 1.5, "df": 5}, 2)])
def test_draws_are_those_of_nutpie_compile_pymc_model(tau_prior, cores):
    """The default half-normal prior on one thread; the log-t prior (tau a deterministic of log tau) on two."""
    priors = Priors.from_config(None if tau_prior is None else {"tau": tau_prior}, "z")
    settings = dataclasses.replace(SETTINGS, cores=cores)
    lean = HierarchicalSampler(priors, 12, 2)
    assert isinstance(lean._compiled, compiled.FixedDataModel)
    reference = HierarchicalSampler(priors, 12, 2, backend="pymc")
    reference.backend = "nutpie"
    reference._compiled = nutpie.compile_pymc_model(reference.model, var_names=VAR_NAMES)
    assert not isinstance(reference._compiled, compiled.FixedDataModel)
    for ours, theirs in zip(draws_of(lean, settings), draws_of(reference, settings), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # with_data copies: the compiled model's buffer is unchanged, the other data are kept
    before = lean._compiled.user_data.copy()
    updated = lean._compiled.with_data(y=np.arange(12.0))
    np.testing.assert_array_equal(lean._compiled.user_data, before)
    layout = lean._compiled.layout
    y_slot = slice(*layout.slots[layout.index["y"]][:2])
    np.testing.assert_array_equal(updated.user_data[y_slot], np.arange(12.0))
    others = np.ones(layout.size, dtype=bool)
    others[y_slot] = False
    np.testing.assert_array_equal(updated.user_data[others], before[others])
    assert not updated.user_data.flags.writeable


def test_layout_packs_in_c_order_and_rejects_other_shapes():
    layout = compiled.DataLayout({"y": (3,), "X": (3, 2)})
    X = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(layout.pack({"y": [1.0, 2.0, 3.0], "X": X}), [1, 2, 3, 0, 1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="compiled for"):
        layout.pack({"y": np.zeros(4)})
    with pytest.raises(KeyError, match="Unknown data variable"):
        layout.pack({"z": np.zeros(3)})


def test_models_the_lean_callbacks_cannot_stand_in_for_go_to_nutpie():
    x = pt.dvector("x")
    y = pytensor.shared(np.ones(3), name="y")
    counts = pytensor.shared(np.ones(3, dtype="int64"), name="counts")
    plain = pytensor.function([x], pt.sum(x * y))
    checked = pytensor.function([x], Assert("x must be positive")(x * y, pt.all(x > 0)))
    integer = pytensor.function([x], pt.sum(x * counts))
    renamed = pytensor.shared(np.ones(3), name="y")
    other = pytensor.function([x], pt.sum(x * renamed))
    assert compiled.unvetted(plain, plain) == ""
    assert "Assert" in compiled.unvetted(checked, plain)
    assert "not float64" in compiled.unvetted(integer, plain)
    assert "two data variables with one name" in compiled.unvetted(plain, other)


def test_callbacks_are_loaded_from_numba_cache_with_the_same_draws(tmp_path, monkeypatch, caplog):
    """The first model compiles and stores its callbacks; a model of the same graph loads them (numba's cache
    hit) and samples the same draws; a damaged entry is compiled and stored again, with a warning."""
    monkeypatch.setattr(compiled.CallbackCache, "get_cache_path", lambda self: str(tmp_path))
    priors = Priors.from_config({"tau": {"family": "half_normal", "scale": 0.3}}, "z")
    settings = dataclasses.replace(SETTINGS, draws=100, tune=100)

    def build():
        sampler = HierarchicalSampler(priors, 7, 1)
        functions = (sampler._compiled.compiled_logp_func, sampler._compiled.compiled_expand_func)
        return [function._cache_hits for function in functions], draws_of_pooled(sampler, settings)

    def draws_of_pooled(sampler, settings):
        draws = sampler.sample(np.linspace(0.1, 0.5, 7), np.full(7, 0.02), settings=settings)
        return [draws.beta, draws.tau, draws.theta, draws.eta_new]

    hits, first = build()
    assert hits == [0, 0]
    entries = sorted(path.name for path in tmp_path.iterdir())
    assert any(name.startswith("alliance_meta_callbacks.logp_callback-alliance_meta_") for name in entries)
    assert any(name.startswith("alliance_meta_callbacks.expand_callback-alliance_meta_") for name in entries)
    hits, again = build()
    assert hits == [1, 1]
    for ours, theirs in zip(again, first, strict=True):
        np.testing.assert_array_equal(ours, theirs)

    for path in tmp_path.glob("alliance_meta_callbacks.*.nbi"):
        path.write_text("damaged")
    with caplog.at_level("WARNING", logger="alliance_meta"):
        hits, repaired = build()
    assert hits == [0, 0]
    assert "could not be read" in caplog.text
    for ours, theirs in zip(repaired, first, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    hits, _ = build()
    assert hits == [1, 1]


def test_cache_key_follows_the_graph():
    """Another prior is another PyTensor function, so another cache entry."""
    keys = set()
    for scale in (0.5, 0.2):
        sampler = HierarchicalSampler(Priors.from_config({"tau": {"family": "half_normal", "scale": scale}}, "z"), 5, 1)
        keys.add(compiled.CallbackCache.keys[sampler._compiled.compiled_logp_func._pyfunc])
    assert len(keys) == 2


def test_compiled_functions_are_loaded_from_disk_with_the_same_draws(tmp_path, monkeypatch, caplog):
    """The first model stores its PyTensor functions; a model of the same graph loads them (no gradient graph, no
    rewrites) and samples the same draws; a damaged or stale entry is compiled and stored again, with a warning;
    another prior or number of studies is another entry."""
    monkeypatch.setattr(compiled, "_function_cache_path", lambda: tmp_path)
    priors = Priors.from_config({"tau": {"family": "half_normal", "scale": 0.4}}, "z")
    settings = dataclasses.replace(SETTINGS, draws=100, tune=100)
    make_functions = compiled.nutpie_pymc._make_functions

    def build(compiles: bool, k: int = 6, priors: Priors = priors):
        calls = []
        monkeypatch.setattr(compiled.nutpie_pymc, "_make_functions", lambda *a, **kw: calls.append(1) or make_functions(*a, **kw))
        sampler = HierarchicalSampler(priors, k, 2)
        assert bool(calls) == compiles
        draws = sampler.sample(np.linspace(0.1, 0.5, 5), np.full(5, 0.02), np.column_stack([np.ones(5), np.arange(5.0)]),
                               settings=settings)
        return [draws.beta, draws.tau, draws.theta, draws.eta_new]

    first = build(compiles=True)
    entries = list(tmp_path.glob("alliance_meta_functions_*.pkl"))
    assert len(entries) == 1 and not list(tmp_path.glob("*.tmp"))
    for ours, theirs in zip(build(compiles=False), first, strict=True):
        np.testing.assert_array_equal(ours, theirs)

    for damage in (b"damaged", compiled.pickle.dumps({"key": "another model", "functions": None})):
        entries[0].write_bytes(damage)
        with caplog.at_level("WARNING", logger="alliance_meta"):
            repaired = build(compiles=True)
        assert "could not be used" in caplog.text
        caplog.clear()
        for ours, theirs in zip(repaired, first, strict=True):
            np.testing.assert_array_equal(ours, theirs)
        build(compiles=False)

    build(compiles=True, k=7)
    build(compiles=True, priors=Priors.from_config({"tau": {"family": "half_normal", "scale": 0.3}}, "z"))
    assert len(list(tmp_path.glob("alliance_meta_functions_*.pkl"))) == 3


def test_the_stored_functions_keep_only_the_most_recently_used_entries(tmp_path):
    """Each update of a review with another number of studies stores new entries (0.75 MB each); the store kept
    them all. Beyond MOST_FUNCTION_ENTRIES the least recently used go; other files of the folder stay."""
    import os

    entries = [tmp_path / f"alliance_meta_functions_{n}.pkl" for n in range(5)]
    for age, entry in enumerate(entries):
        entry.write_bytes(b"entry")
        os.utime(entry, (1_000_000 + age, 1_000_000 + age))  # entries[4] the most recently used
    other = tmp_path / "callback.nbi"
    other.write_bytes(b"numba's own")
    os.utime(other, (1, 1))
    compiled.prune_functions(tmp_path, keep=2)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "alliance_meta_functions_3.pkl", "alliance_meta_functions_4.pkl", "callback.nbi"]
    assert compiled.MOST_FUNCTION_ENTRIES >= 50  # a review's priors and families, with room for several updates
