"""Shared helpers of the reference tests: the metafor figures of tests/reference/*.json and
the comparison with them.

Test modules import these directly (``from conftest import load_reference, assert_close``):
parametrisation needs the reference values at collection time, before fixtures exist.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

#: Property tests draw the same examples on every run (a CI result does not depend on luck);
#: ``HYPOTHESIS_PROFILE=explore pytest ...`` draws new, more examples to look for bugs.
#: No deadline: an example's time is not a test's result (the first one of a test imports what it uses, which
#: took 2 s on a loaded machine); speed is measured in benchmarks/.
settings.register_profile("repeatable", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("explore", derandomize=False, print_blob=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

REFERENCE_DIR = Path(__file__).parent / "reference"


#: How R's special values reach the JSON files: jsonlite writes NA as null (na = "null")
#: or, with na = "string", NA, NaN and +-Inf as strings.
R_SPECIAL = {"NA": math.nan, "NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}


@functools.cache
def load_reference(name: str) -> dict:
    """``tests/reference/<name>.json`` (written by ``<name>.R``), parsed once per session.

    The same object is shared by every caller: read it, never modify it.
    """
    return json.loads((REFERENCE_DIR / f"{name}.json").read_text())


def fit_cases(reference: dict) -> list:
    """``pytest.param(name, method, test)`` of every fit of every data set of a reference whose ``datasets`` each
    hold ``yi``, ``vi`` and ``fits`` (influence.R, leave_one_out_dominant.R)."""
    return [pytest.param(name, fit["method"], fit["test"], id=f"{name}-{fit['method']}-{fit['test']}")
            for name, dataset in reference["datasets"].items() for fit in dataset["fits"]]


def dataset_arrays(reference: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(yi, vi)`` of the reference's data set ``name`` at full precision (written as text at 17 digits)."""
    dataset = reference["datasets"][name]
    return np.array(dataset["yi"], float), np.array(dataset["vi"], float)


def dataset_fit(reference: dict, name: str, method: str, test: str) -> dict:
    """The reference's fit of data set ``name`` by ``method`` and ``test`` (:func:`fit_cases`)."""
    return next(fit for fit in reference["datasets"][name]["fits"] if fit["method"] == method and fit["test"] == test)


def reference_number(value) -> float:
    """One reference figure as a float: None and R's NA/NaN become NaN, "Inf"/"-Inf" +-inf."""
    if value is None:
        return math.nan
    if isinstance(value, str) and value in R_SPECIAL:
        return R_SPECIAL[value]
    return float(value)


def reference_array(values) -> np.ndarray:
    """Reference figures (a number, list or Series) as a float array of at least one dimension."""
    return np.array([reference_number(value) for value in np.atleast_1d(values)], float)


def assert_close(actual, expected, rtol: float = 1e-6, atol: float = 1e-12, err_msg: str = "") -> None:
    """``np.testing.assert_allclose(actual, expected, rtol, atol)`` with the reference
    side read by :func:`reference_array`: NaN must be NaN on both sides (NaN positions agree),
    +-inf must match exactly, shapes must agree.
    """
    np.testing.assert_allclose(np.atleast_1d(np.asarray(actual, float)), reference_array(expected),
                               rtol=rtol, atol=atol, err_msg=err_msg)


def stage_tables(*names, empty=()) -> dict:
    """A one-family run's results tables as workflow/scripts/report.py hands them to report.methods.stages_run:
    one row with a fitted model in each table of ``names``, a header alone in those of ``empty``."""
    import pandas as pd

    row = {"estimate": [0.1], "loglik": [1.0], "scale_formula": ["rater"], "qm": [1.0]}
    return {"outcome": {"tables": {name: pd.DataFrame(row).iloc[:0 if name in empty else 1]
                                   for name in (*names, *empty)}}}


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the pyplot figures a test leaves open (the notebook API returns open figures).

    Without it a worker's open figures pile up across tests, and once there are more than 20
    matplotlib warns, which reaches whichever test happens to collect warnings next.
    """
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


@pytest.fixture(scope="session")
def molloy():
    """metadat's dat.molloy2014 as pooling.json has it: yi, vi and metafor's fits by (method, test)."""
    case = next(d for d in load_reference("pooling")["datasets"] if d["name"] == "molloy2014")
    yi = np.array([float(v) for v in case["yi"]])
    vi = np.array([float(v) for v in case["vi"]])
    return yi, vi, {(f["method"], f["test"]): f for f in case["fits"]}
