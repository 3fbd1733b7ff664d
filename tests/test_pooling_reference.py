"""alliance_meta.models.univariate against metafor 3.8-1 (tests/reference/pooling.R -> pooling.json).

Every figure of every data set x estimator x test must agree within 1e-6 relative
(1e-8 absolute near zero), GENQ's generalised-Q interval of tau^2 (and the I^2 and H^2
intervals from it) included: the reference computes it with metafor's confint() on a
base-R stand-in for CompQuadForm (tests/reference/shims/CompQuadForm). Where metafor
stops with an error (confint() of an EE model or of k = 1) the reference is NA and ours
must be NaN too.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pytest
from conftest import load_reference, reference_number as number

from alliance_meta.models.univariate import fit

METHOD_NAMES = {"EE": "common"}
QUANTITIES = ("estimate", "se", "statistic", "p", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
              "tau2", "tau2_ci_lower", "tau2_ci_upper", "i2", "i2_ci_lower", "i2_ci_upper",
              "h2", "h2_ci_lower", "h2_ci_upper", "q", "q_df", "q_p")
RELATIVE, ABSOLUTE = 1e-6, 1e-8


def reference() -> dict:
    return load_reference("pooling")  # R's NA, NaN and +-Inf are strings there: read them with number()


def cases():
    for dataset in reference()["datasets"]:
        for entry in dataset["fits"]:
            yield pytest.param(dataset["name"], entry["method"], entry["test"],
                               id=f"{dataset['name']}-{entry['method']}-{entry['test']}")


@lru_cache(maxsize=None)
def ours(name: str, method: str, test: str):
    dataset = next(d for d in reference()["datasets"] if d["name"] == name)
    yi = [float(v) for v in dataset["yi"]]
    vi = [float(v) for v in dataset["vi"]]
    return fit(yi, vi, METHOD_NAMES.get(method, method), test, level=reference()["level"])


def entry_for(name: str, method: str, test: str) -> dict:
    dataset = next(d for d in reference()["datasets"] if d["name"] == name)
    return next(e for e in dataset["fits"] if e["method"] == method and e["test"] == test)


def test_reference_file_covers_all_estimators_and_tests():
    data = reference()
    assert len(data["datasets"]) >= 10
    for dataset in data["datasets"]:
        pairs = {(e["method"], e["test"]) for e in dataset["fits"]}
        assert len(pairs) == 12 * 3


@pytest.mark.parametrize(("name", "method", "test"), list(cases()))
@pytest.mark.parametrize("quantity", QUANTITIES)
def test_agrees_with_metafor(name, method, test, quantity):
    expected_entry = entry_for(name, method, test)
    assert expected_entry["error"] == "NA", f"metafor failed: {expected_entry['error']}"
    result = ours(name, method, test)
    assert result.converged, result.note
    expected = number(expected_entry[quantity])
    actual = float(getattr(result, quantity))
    if math.isnan(expected):
        assert math.isnan(actual), f"{name}/{method}/{test}/{quantity}: metafor NA " \
            f"({expected_entry['confint_error']}), ours {actual!r}"
        return
    if math.isinf(expected):
        assert actual == expected, f"{name}/{method}/{test}/{quantity}: {actual!r} != {expected!r}"
        return
    assert actual == pytest.approx(expected, rel=RELATIVE, abs=ABSOLUTE), \
        f"{name}/{method}/{test}/{quantity}: ours {actual!r}, metafor {expected!r}"


def test_generalised_q_interval_is_in_the_reference():
    """The GENQ rows carry metafor's generalised-Q interval, not NA (k > 1)."""
    for dataset in reference()["datasets"]:
        for entry in dataset["fits"]:
            if entry["method"] == "GENQ" and len(dataset["yi"]) > 1:
                assert entry["confint_error"] == "NA"
                assert not math.isnan(number(entry["tau2_ci_upper"])), dataset["name"]
