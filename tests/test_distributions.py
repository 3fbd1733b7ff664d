"""engines/distributions.py returns exactly what scipy.stats returns, bit for bit.

Every method the library uses is compared with scipy.stats on dense random grids and on edge
cases (zeros of both signs, negative values, +-inf, nan, tiny and huge values, q at 0 and 1,
df at 0, negative, fractional, large and infinite), as arrays (broadcast against arrays of
parameters) and one scalar at a time. "Identical" means the same type, shape and dtype and
the same 64 bits in every element (so the sign of a zero and a nan's bits count too).
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from alliance_meta.engines import distributions

#: Both implementations warn alike on extreme or invalid arguments (overflow, inf * 0, x / 0).
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

RNG = np.random.default_rng(20261130)

EDGE_X = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e-300, -1e-300, 5e-324, 1e-8, 37.5, -37.5, 40.0,
                   1e10, -1e10, 1e300, -1e300, np.inf, -np.inf, np.nan])
#: x on every scale from 1e-6 to 1e6, both signs, and the edge cases.
X = np.concatenate([RNG.standard_normal(300) * 10.0 ** RNG.uniform(-6, 6, 300),
                    RNG.standard_normal(200) * 3, EDGE_X])
EDGE_Q = np.array([0.0, 1.0, 0.5, 1e-300, 5e-324, 1e-16, 1 - 1e-16, 0.025, 0.975, -0.0, -0.1, 1.1,
                   np.inf, -np.inf, np.nan])
#: probabilities in (0, 1) (uniform, and small ones down to 1e-300) and the edge cases.
Q = np.concatenate([RNG.uniform(0, 1, 300), 10.0 ** -RNG.uniform(0, 300, 150),
                    1 - 10.0 ** -RNG.uniform(0, 16, 50), EDGE_Q])
EDGE_DF = np.array([0.5, 1.0, 2.5, 30.0, 1e6, np.inf, 0.0, -1.0, 1e-300, 1e300, np.nan, -np.inf])
DF = np.concatenate([10.0 ** RNG.uniform(-2, 4, 40), RNG.integers(1, 200, 10).astype(float), EDGE_DF])
#: (loc, scale) pairs, including a zero, a negative and a nan scale and a nan loc.
LOC_SCALE = [(0.0, 1.0), (0.3, 0.2), (-1.5, 4.0), (1e-3, 1e-8), (0.0, 0.0), (0.0, -1.0), (0.0, np.nan),
             (np.nan, 1.0), (0.0, np.inf)]

#: (distribution, method, number of shape parameters): every method the library calls.
METHODS = [("norm", "pdf", 0), ("norm", "logpdf", 0), ("norm", "cdf", 0), ("norm", "sf", 0),
           ("norm", "ppf", 0), ("norm", "isf", 0),
           ("t", "logpdf", 1), ("t", "cdf", 1), ("t", "sf", 1), ("t", "ppf", 1), ("t", "isf", 1),
           ("chi2", "cdf", 1), ("chi2", "sf", 1), ("chi2", "ppf", 1), ("chi2", "isf", 1),
           ("f", "sf", 2)]
IDS = [f"{name}.{method}" for name, method, _ in METHODS]


def assert_identical(ours, theirs):
    assert type(ours) is type(theirs)
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.float64
    assert np.array_equal(ours, theirs, equal_nan=True)
    assert np.array_equal(np.signbit(ours), np.signbit(theirs))
    different = ours.view(np.uint64) != theirs.view(np.uint64)
    assert not different.any(), f"{ours[different][:5]} != {theirs[different][:5]}"


def both(name, method, *args, **kwds):
    return (getattr(getattr(distributions, name), method)(*args, **kwds),
            getattr(getattr(stats, name), method)(*args, **kwds))


def points(method):
    return Q if method in ("ppf", "isf") else X


def shape_grid(nshapes):
    """Parameter arrays broadcasting against a column of points."""
    if nshapes == 0:
        return ()
    if nshapes == 1:
        return (DF[None, :],)
    dfn, dfd = np.meshgrid(EDGE_DF[:9], np.concatenate([EDGE_DF, [3.0, 7.0, 120.0]]))
    return (dfn.ravel()[None, :], dfd.ravel()[None, :])


@pytest.mark.parametrize(("name", "method", "nshapes"), METHODS, ids=IDS)
def test_arrays(name, method, nshapes):
    assert_identical(*both(name, method, points(method)[:, None], *shape_grid(nshapes)))


@pytest.mark.parametrize(("name", "method", "nshapes"), METHODS, ids=IDS)
def test_one_dimensional(name, method, nshapes):
    """A 1-d array against scalar parameters (the library's commonest call)."""
    for shapes in itertools.product([1, 2.5, 30, np.inf, 0, -1], repeat=nshapes):
        assert_identical(*both(name, method, points(method), *shapes))


@pytest.mark.parametrize(("name", "method", "nshapes"), METHODS, ids=IDS)
def test_scalars(name, method, nshapes):
    """Python floats and ints, numpy float64 and 0-d arrays give numpy float64, as scipy's."""
    values = np.concatenate([EDGE_Q if method in ("ppf", "isf") else EDGE_X, points(method)[::25]])
    for value in values:
        for shapes in itertools.product(EDGE_DF[::2], repeat=nshapes):
            assert_identical(*both(name, method, float(value), *map(float, shapes)))
    for value, df in [(np.float64(0.3), 4), (np.array(0.7), np.array(5.0)), (1, 3), (0, 2)]:
        assert_identical(*both(name, method, value, *[df] * nshapes))


@pytest.mark.parametrize(("name", "method", "nshapes"), METHODS, ids=IDS)
def test_loc_scale(name, method, nshapes):
    """loc and scale, positional and as keywords, scalars and arrays, valid or not."""
    shapes = (7.5,) * nshapes
    column = points(method)[::7][:, None]
    for loc, scale in LOC_SCALE:
        assert_identical(*both(name, method, column, *shapes, loc, scale))
        assert_identical(*both(name, method, column, *shapes, loc=loc, scale=scale))
        assert_identical(*both(name, method, 0.2, *shapes, scale=scale))
    locs, scales = map(np.array, zip(*LOC_SCALE))
    assert_identical(*both(name, method, column, *shapes, locs, scales))
    # norm.logpdf(y, y, sqrt(v)) as in models/location_scale.py: loc varies with x
    assert_identical(*both(name, method, column[:, 0], *shapes, column[:, 0], 0.5))


def test_library_calls():
    """The calls of the library with their own argument shapes."""
    tail = np.array([0.025, 0.05, 0.5])
    df, se = np.array([1.0, 4.0, np.inf]), np.array([0.1, 0.2, 0.3])
    assert_identical(*both("t", "isf", tail[None, :], df[:, None]))  # bayes/bma.py
    assert_identical(*both("norm", "isf", tail))
    for k in range(1, 6):  # integer df: chi2.ppf(0.5, k - p), t.isf(alpha / 2, k - 1)
        assert_identical(*both("chi2", "ppf", 0.5, k - 1))
        assert_identical(*both("t", "isf", 0.025, k - 1))
        assert_identical(*both("chi2", "sf", 3.2, k))
        assert_identical(*both("f", "sf", 2.1, k, 10))
    assert_identical(*both("t", "sf", np.abs(np.array([1.0, -2.0])), np.array([3, 4])))
    assert_identical(*both("chi2", "cdf", np.array([0.0, 0.3, np.nan]), 1))
    assert_identical(*both("t", "logpdf", np.log(se), 3.0, -0.5, 0.25))


def test_wrong_arguments_fail_like_scipy():
    for name, method, args in [("t", "sf", (1.0,)), ("f", "sf", (1.0, 2.0)), ("norm", "cdf", (1.0, 0, 1, 2))]:
        with pytest.raises(TypeError):
            getattr(getattr(distributions, name), method)(*args)
        with pytest.raises(TypeError):
            getattr(getattr(stats, name), method)(*args)


def test_does_not_import_scipy_stats():
    """The point of the module: importing it leaves scipy.stats unloaded."""
    code = "import sys, alliance_meta.engines.distributions; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name, method", [("t", "pdf"), ("chi2", "logpdf"), ("f", "cdf"), ("f", "ppf")])
def test_untranscribed_methods_say_so(name, method):
    """A method the library does not use is not transcribed: it raises instead of returning nan or 0."""
    with pytest.raises(NotImplementedError, match=f"scipy.stats.{name}"):
        getattr(getattr(distributions, name), method)(0.5, 3.0, *((4.0,) if name == "f" else ()))
