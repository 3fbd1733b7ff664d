"""nutpie's compiled model of a PyMC model whose data are fixed-shape ``pm.Data``, with lean C callbacks.

``nutpie.compile_pymc_model`` compiles the model's log density and gradient with PyTensor's numba
backend (cached on disk by PyTensor) and wraps them in two ``numba.cfunc`` callbacks that read the
data through a generic record of pointers, sizes and shapes and catch exceptions. Typing that
generic code takes numba about 15 s in every process, and the callbacks cannot be cached ("uses
dynamic globals"). The data of :class:`~alliance_meta.bayes.mcmc.HierarchicalSampler` have fixed,
known shapes, so here they live in one float64 buffer at fixed offsets and the callbacks only slice
it: they compile in about 4 s. The PyTensor functions, the initial points (PyMC's support point with
jitter, nutpie's default) and the sampler are nutpie's own, so the draws are bit for bit those of
``nutpie.compile_pymc_model`` (``tests/test_bayes_compiled.py``).

The callbacks are cached on disk by numba, next to PyTensor's numba cache (:class:`CallbackCache`), under a
key made of their source and the cache keys of the PyTensor functions they call (which cover the model's graph,
its priors and shapes): a model compiled once before, in any process, loads in a few hundredths of a second
instead of 1.5-2.5 s. The loaded machine code is the code that was compiled, so the draws are the same.

The PyTensor functions themselves (the log density with its gradient, and the expansion to the traced variables)
are pickled next to them (:func:`cached_functions`), under a key of the model's whole graph, the libraries' versions
and this module (:func:`model_key`): a model built once before loads them instead of building the gradient graph
and running PyTensor's rewrites (about 1 s per model), and links the same rewritten graph to the same numba code.

The callbacks have no ``try``/``except`` (that alone costs numba about 15 s to compile). They return
nutpie's status codes for a non-finite gradient (3) or log density (4). numba would swallow an
exception and return 0, so the outputs are set to NaN before each call; and a model whose graphs have
an operation outside ``VETTED_OPERATIONS`` (which cannot raise when the data have the compiled shapes,
as the buffer ensures), or data that are not float64, is handed to ``nutpie.compile_pymc_model``.

Written against nutpie 0.16.8 (pinned in environment.yml); it uses nutpie's ``_make_functions`` and
``CompiledPyMCModel``, as its own ``compile_pymc_model`` does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import pickle
import tempfile
import warnings
import weakref
from pathlib import Path

import numba
import numpy as np
from numba.core.caching import CacheImpl, _CacheLocator
from nutpie import compile_pymc as nutpie_pymc
from pytensor.compile.function.types import Function

log = logging.getLogger("alliance_meta")

# The callbacks return nutpie's status codes (nutpie.compile_pymc._make_c_logp_func, _make_c_expand_func).
# Module-level functions of the names below (no closure), so that numba's cache can store them: numba keys a cache
# entry on the bytecode and the closure, not on globals, which the key of CallbackCache covers instead.
_CALLBACK_SOURCE = '''
def logp_callback(dim, x_, out_, logp_, user_data):
    if dim != n_dim:
        return -1
    buffer = numba.carray(user_data, (size,), np.float64)
    data = ({views})
    x = numba.carray(x_, (n_dim,))
    out = numba.carray(out_, (n_dim,))
    logp = numba.carray(logp_, ())
    logp[()] = np.nan  # an exception would be swallowed by numba (status 0): leave NaN, not stale values
    out[:] = np.nan
    value, grad = logp_fn(x, {logp_args})
    logp[()] = value
    for i in range(n_dim):
        out[i] = grad[i]
    for i in range(n_dim):
        if not np.isfinite(out[i]):
            return 3
    if not np.isfinite(value):
        return 4
    return 0


def expand_callback(dim, expanded, x_, out_, user_data):
    if dim != n_dim or expanded != n_expanded:
        return -1
    buffer = numba.carray(user_data, (size,), np.float64)
    data = ({views})
    x = numba.carray(x_, (n_dim,))
    out = numba.carray(out_, (n_expanded,))
    out[:] = np.nan
    (values,) = expand_fn(x, {expand_args})
    for i in range(n_expanded):
        out[i] = values[i]
    return 0
'''


class CallbackCache(_CacheLocator):
    """Where numba caches the callbacks: PyTensor's numba cache directory (``pytensor-cache clear`` empties it),
    one entry per :meth:`key`. numba itself checks its version and the CPU before loading an entry."""

    keys: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # callback function -> key

    def __init__(self, py_func, py_file, key: str):
        self._key = key

    @staticmethod
    def key(source: str, logp_pt, expand_pt, constants: tuple) -> str | None:
        """The generated source, its global ``constants`` and PyTensor's cache keys of the functions the callbacks
        call; None if PyTensor does not cache them (then neither are the callbacks)."""
        from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

        keys = [CACHED_SRC_FUNCTIONS.get(getattr(function.vm.jit_fn, "py_func", None)) for function in (logp_pt, expand_pt)]
        if None in keys:
            return None
        return "alliance_meta_" + hashlib.sha256(repr((source, constants, *keys)).encode()).hexdigest()[:40]

    def ensure_cache_path(self):
        pass  # PyTensor made it when it was imported

    def get_cache_path(self):
        from pytensor.link.numba.cache import NUMBA_CACHE_PATH

        return str(NUMBA_CACHE_PATH)

    def get_source_stamp(self):
        return 0  # the key covers the source

    def get_disambiguator(self):
        return self._key

    @classmethod
    def from_function(cls, py_func, py_file):
        key = cls.keys.get(py_func)
        return None if key is None else cls(py_func, py_file, key)


CacheImpl._locator_classes.insert(0, CallbackCache)


def _cfunc(signature, function, cache_key: str | None):
    """``numba.cfunc(signature)(function)``, from numba's cache when ``cache_key`` is given (compiled and stored
    the first time). An entry that cannot be read is emptied and stored again; if that fails too, the callback
    is compiled without the cache."""
    if cache_key is None:
        return numba.cfunc(signature)(function)
    from numba.core.caching import FunctionCache

    CallbackCache.keys[function] = cache_key
    try:
        return numba.cfunc(signature, cache=True)(function)
    except Exception as error:  # noqa: BLE001 - a damaged cache entry must not stop the analysis
        log.warning("numba's cache entry of %s (%s) could not be read (%s); compiling it again",
                    function.__name__, cache_key, error)
    try:
        FunctionCache(function).flush()
        return numba.cfunc(signature, cache=True)(function)
    except Exception as error:  # noqa: BLE001
        log.warning("numba's cache of %s could not be written (%s); compiled without it", function.__name__, error)
        return numba.cfunc(signature)(function)


def compile_fixed_data_model(model, var_names):
    """nutpie's compiled model of ``model`` whose ``with_data`` takes arrays of the shapes its ``pm.Data`` have
    now (the shapes are compiled in). Same PyTensor functions, initial points (PyMC's support
    point with jitter, as nutpie's default) and draws as ``nutpie.compile_pymc_model(model, var_names=...)``."""
    from pymc.initial_point import make_initial_point_fn

    initial_point = nutpie_pymc._wrap_with_lock(make_initial_point_fn(
        model=model, overrides=None, default_strategy="support_point", jitter_rvs=set(model.free_RVs),
        return_transformed=True))
    n_dim, n_expanded, logp_pt, expand_pt, initial_point_fn, shape_info = cached_functions(
        model, var_names, initial_point)

    problems = unvetted(logp_pt, expand_pt)
    if problems:
        log.info("compiling the model with nutpie.compile_pymc_model (%s)", problems)
        import nutpie

        return nutpie.compile_pymc_model(model, var_names=var_names)
    shared = {variable.name: np.array(variable.get_value(), order="C", copy=True)
              for variable in [*logp_pt.get_shared(), *expand_pt.get_shared()]}
    layout = DataLayout({name: value.shape for name, value in shared.items()})
    logp_names = [variable.name for variable in logp_pt.get_shared()]
    expand_names = [variable.name for variable in expand_pt.get_shared()]
    source = _CALLBACK_SOURCE.format(
        views=", ".join(f"buffer[{start}:{stop}].reshape({shape})" for start, stop, shape in layout.slots) + ",",
        logp_args=", ".join(f"data[{layout.index[name]}]" for name in logp_names),
        expand_args=", ".join(f"data[{layout.index[name]}]" for name in expand_names))
    # __name__: numba rebuilds a cached function's environment from its module
    namespace = {"__name__": __name__, "numba": numba, "np": np, "logp_fn": logp_pt.vm.jit_fn,
                 "expand_fn": expand_pt.vm.jit_fn, "n_dim": n_dim, "n_expanded": n_expanded, "size": layout.size}
    exec(compile(source, "<alliance_meta_callbacks>", "exec"), namespace)  # noqa: S102 - our own names
    cache_key = CallbackCache.key(source, logp_pt, expand_pt, (n_dim, n_expanded, layout.size))

    types = numba.types
    pointer = types.CPointer(types.double)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Cannot cache compiled function", category=numba.NumbaWarning)
        compiled_logp = _cfunc(types.int64(types.uint64, pointer, pointer, pointer, types.voidptr),
                               namespace["logp_callback"], cache_key)
        compiled_expand = _cfunc(types.int64(types.uint64, types.uint64, pointer, pointer, types.voidptr),
                                 namespace["expand_callback"], cache_key)

    dims, coords = nutpie_pymc._prepare_dims_and_coords(model, shape_info)
    user_data = layout.pack(shared)
    user_data.flags.writeable = False  # as nutpie's data: the sampler threads read it
    return FixedDataModel(
        _n_dim=n_dim, dims=dims, _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info)},
        compiled_logp_func=compiled_logp, compiled_expand_func=compiled_expand,
        initial_point_func=initial_point_fn, shared_data=shared, user_data=user_data,
        n_expanded=n_expanded, shape_info=shape_info, logp_func=logp_pt, expand_func=expand_pt, layout=layout)


def cached_functions(model, var_names, initial_point):
    """``nutpie_pymc._make_functions(model, mode="NUMBA", ...)``, its PyTensor functions loaded from a pickle in
    PyTensor's numba cache directory when one was stored for the same :func:`model_key`: unpickling skips building
    the log density's gradient graph and PyTensor's rewrites (about 1.5 s per model) and links the stored rewritten
    graph, whose numba code is the same (PyTensor's cache key of it is equal), so the draws are the same. An entry
    that cannot be read or does not fit the model is logged, compiled again and stored again; entries are written to
    a temporary file and renamed, so concurrent jobs never read half an entry."""
    key = model_key(model, var_names)
    path = _function_cache_path() / f"alliance_meta_functions_{key}.pkl"
    free = [model.rvs_to_values[variable].name for variable in model.free_RVs]
    if path.exists():
        try:
            with open(path, "rb") as file:
                entry = pickle.load(file)
            with contextlib.suppress(OSError):  # recently used: kept by prune_functions
                os.utime(path)
            n_dim, n_expanded, logp_pt, expand_pt, (names, slices, shapes) = entry["functions"]
            if entry["key"] != key or names[:len(free)] != free or not all(
                    isinstance(function, Function) for function in (logp_pt, expand_pt)):
                raise ValueError("the entry does not fit the model")
            point = nutpie_pymc._rv_dict_to_flat_array_wrapper(initial_point, names=free, shapes=shapes[:len(free)])
            return n_dim, n_expanded, logp_pt, expand_pt, point, (names, slices, shapes)
        except Exception as error:  # noqa: BLE001 - a damaged or stale entry must not stop the analysis
            log.warning("the compiled model in %s could not be used (%s); compiling it again", path, error)
    functions = nutpie_pymc._make_functions(model, mode="NUMBA", compute_grad=True, join_expanded=True,
                                            pymc_initial_point_fn=initial_point, var_names=var_names)
    n_dim, n_expanded, logp_pt, expand_pt, _, shape_info = functions
    temporary = None
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp", delete=False) as temporary:
            pickle.dump({"key": key, "functions": (n_dim, n_expanded, logp_pt, expand_pt, shape_info)}, temporary,
                        protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary.name, path)
    except Exception as error:  # noqa: BLE001 - the cache only saves time
        log.warning("the compiled model could not be stored in %s (%s)", path, error)
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary.name)
    prune_functions(path.parent)
    return functions


#: Most entries :func:`cached_functions` keeps (about 0.75 MB each, 75 MB in all): every update of a review with another number of
#: studies stores new ones, so the least recently used beyond these are deleted.
MOST_FUNCTION_ENTRIES = 100


def prune_functions(folder: Path, keep: int = MOST_FUNCTION_ENTRIES) -> None:
    """Delete the least recently used entries of :func:`cached_functions` in ``folder`` beyond ``keep`` (a loaded
    entry's time is renewed). An entry deleted while another job reads it only makes that job compile again."""
    entries = []
    for entry in folder.glob("alliance_meta_functions_*.pkl"):
        with contextlib.suppress(OSError):  # deleted by a concurrent job meanwhile
            entries.append((entry.stat().st_mtime, entry))
    for _, entry in sorted(entries, reverse=True)[keep:]:
        with contextlib.suppress(OSError):
            entry.unlink()


def _function_cache_path() -> Path:
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    return Path(NUMBA_CACHE_PATH)


def model_key(model, var_names) -> str:
    """A hash of everything the compiled functions depend on: the model's graph (every node's operation and its
    properties, every variable's type, constants and shared data by value; so the priors and the data's shapes),
    its transforms, ``var_names``, the libraries' versions, PyTensor's settings that choose rewrites, and this
    module's source (which decides what is stored)."""
    import platform
    import sys
    from importlib.metadata import version

    import pytensor
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import toposort

    def variable(var):
        data = var.data if isinstance(var, Constant) else getattr(var, "get_value", lambda: None)()
        value = (np.asarray(data).dtype.str, np.asarray(data).shape, hashlib.sha256(np.asarray(data).tobytes()).hexdigest()
                 ) if isinstance(data, np.ndarray | np.generic | int | float) else type(data).__name__
        return (ids.setdefault(var, len(ids)), var.name, str(var.type), type(var).__name__, value)

    ids: dict = {}
    outputs = [*model.free_RVs, *model.observed_RVs, *model.potentials, *model.deterministics]
    nodes = [(type(node.op).__module__, type(node.op).__qualname__,
              repr(node.op._props_dict()) if getattr(node.op, "__props__", None) is not None else str(node.op),
              [variable(var) for var in node.inputs], [variable(var) for var in node.outputs])
             for node in toposort(outputs)]
    named = [(name, variable(var)) for name, var in model.named_vars.items()]
    transforms = [(rv.name, type(transform).__qualname__ if transform is not None else None,
                   repr(transform.__props__) if hasattr(transform, "__props__") else None)
                  for rv, transform in model.rvs_to_transforms.items()]
    settings = {name: str(getattr(pytensor.config, name, None)) for name in (
        "floatX", "optimizer_excluding", "optimizer_including", "optimizer_requiring", "numba__fastmath",
        "numba__vectorize_target", "compute_test_value")}
    versions = (sys.version, platform.machine(), FUNCTION_CACHE_VERSION,
                *(version(package) for package in ("numpy", "scipy", "pytensor", "pymc", "numba", "llvmlite", "nutpie")))
    with open(__file__, "rb") as file:
        source = hashlib.sha256(file.read()).hexdigest()
    text = repr((nodes, named, transforms, model.check_bounds, list(var_names or []), settings, versions, source))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


# Raise when what the function cache stores or how its key is made changes meaning
FUNCTION_CACHE_VERSION = 1


# Operations of the hierarchical model's graphs (every tau prior) that cannot raise once the data have the
# compiled shapes (which DataLayout.pack enforces); PyMC's parameter checks are already -inf switches there.
VETTED_OPERATIONS = frozenset({"All", "DimShuffle", "Dot", "Elemwise", "Join", "SpecifyShape", "Subtensor", "Sum"})


def unvetted(logp_pt, expand_pt) -> str:
    """Why the lean callbacks cannot stand in for nutpie's (which catch exceptions) for these compiled PyTensor
    functions: operations outside VETTED_OPERATIONS, data that are not float64, two data with one name."""
    functions = (logp_pt, expand_pt)
    operations = {type(node.op).__name__ for function in functions for node in function.maker.fgraph.apply_nodes}
    shared = [variable for function in functions for variable in function.get_shared()]
    problems = []
    if operations - VETTED_OPERATIONS:
        problems.append(f"operations {sorted(operations - VETTED_OPERATIONS)}")
    if any(variable.type.dtype != "float64" for variable in shared):
        problems.append("data that are not float64")
    if len({variable.name for variable in shared}) != len(set(shared)):
        problems.append("two data variables with one name")
    return "; ".join(problems)


class DataLayout:
    """Where each data array lives in the one float64 buffer the callbacks read (C order, fixed shapes)."""

    def __init__(self, shapes: dict[str, tuple[int, ...]]):
        self.shapes = {name: tuple(int(n) for n in shape) for name, shape in shapes.items()}
        self.index = {name: i for i, name in enumerate(self.shapes)}
        self.slots, start = [], 0
        for shape in self.shapes.values():
            stop = start + int(np.prod(shape, dtype=int))
            self.slots.append((start, stop, shape))
            start = stop
        self.size = start

    def pack(self, data: dict[str, np.ndarray], into: np.ndarray | None = None) -> np.ndarray:
        buffer = np.zeros(self.size) if into is None else into
        for name, value in data.items():
            if name not in self.index:
                raise KeyError(f"Unknown data variable: {name}")
            value = np.asarray(value, dtype=np.float64)
            if value.shape != self.shapes[name]:
                raise ValueError(f"data {name!r} has shape {value.shape}; the model was compiled for {self.shapes[name]}")
            start, stop, _ = self.slots[self.index[name]]
            buffer[start:stop] = value.ravel()
        return buffer


@dataclasses.dataclass(frozen=True)
class FixedDataModel(nutpie_pymc.CompiledPyMCModel):
    """nutpie's compiled model whose ``with_data`` writes the one data buffer of ``layout``."""

    layout: DataLayout | None = None

    def with_data(self, **updates):
        shared = {**self.shared_data, **{name: np.array(value, dtype=np.float64, order="C", copy=True)
                                         for name, value in updates.items()}}
        user_data = self.layout.pack(updates, self.user_data.copy())
        user_data.flags.writeable = False
        return dataclasses.replace(self, shared_data=shared, user_data=user_data)
