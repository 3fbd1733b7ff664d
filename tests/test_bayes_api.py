"""``am.bayes`` as a caller meets it: without PyMC it says which extra to install before any work, and
``help(am.bayes)`` / ``inspect.signature(am.bayes)`` show the function (am.bayes is the package
alliance_meta.bayes made callable), not the package's ``(fit, *args, **kwargs)``."""

import importlib.util
import inspect
import pydoc

import pytest

import alliance_meta as am
from alliance_meta.bayes import api as bayes_api


@pytest.fixture
def without_pymc(monkeypatch):
    """importlib.util.find_spec as an install without the [bayes] extra answers it; the stage, if reached,
    fails the test (nothing may be sampled)."""
    find_spec = importlib.util.find_spec

    def hidden(name, *args, **kwargs):
        if name.partition(".")[0] in ("pymc", "arviz", "nutpie"):
            return None
        return find_spec(name, *args, **kwargs)

    def sampled(*args, **kwargs):
        raise AssertionError("am.bayes went on to sample without PyMC")

    monkeypatch.setattr(importlib.util, "find_spec", hidden)
    monkeypatch.setattr(bayes_api, "run_stage", sampled)


def test_bayes_without_pymc_names_the_extra_before_any_work(without_pymc):
    """am.bayes got as far as sampling, then stopped with a bare "No module named 'pymc'"."""
    fit = am.fit([0.1, 0.3, 0.2, 0.4], [0.01, 0.02, 0.015, 0.03], metric="z")
    message = r"am.bayes needs PyMC: pip install 'alliance-meta\[bayes\]' \(PyMC, nutpie, ArviZ\)"
    with pytest.raises(ImportError, match=message):
        am.bayes(fit, {"draws": 100, "tune": 100})
    with pytest.raises(ImportError, match=message):  # before the arguments are checked: no work at all
        am.bayes(None, {"draw": 100})
    with pytest.raises(ImportError, match=message):
        bayes_api.bayes(fit)


def test_bayes_finder_that_refuses_pymc_counts_as_not_installed(monkeypatch):
    def refused(name, *args, **kwargs):
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(importlib.util, "find_spec", refused)
    with pytest.raises(ImportError, match=r"alliance-meta\[bayes\].*not installed: pymc, arviz"):
        bayes_api.require_sampler()


def test_bayes_signature_is_the_functions():
    """inspect.signature(am.bayes) was (fit, *args, **kwargs), the package's __call__."""
    signature = inspect.signature(am.bayes)
    assert signature == inspect.signature(bayes_api.bayes)
    assert list(signature.parameters)[:2] == ["fit", "settings"]
    assert {"moderators", "continuous", "reference_levels", "centre", "cores"} <= set(signature.parameters)


def test_help_on_bayes_shows_the_functions_usage_and_docstring():
    """help(am.bayes) was the package page of alliance_meta.bayes, without the function's parameters."""
    page = pydoc.render_doc(am.bayes, renderer=pydoc.plaintext)
    assert "am.bayes(fit, settings=None, *, moderators=()" in page
    assert inspect.getdoc(bayes_api.bayes) in inspect.getdoc(am.bayes)
    assert "settings : the ``bayes`` section of the config" in page
    assert "Bayesian normal-normal hierarchical meta-analysis" in page  # the package's description follows
    assert inspect.getdoc(am.bayes).startswith("am.bayes(fit, settings=None")


def test_bayes_is_still_the_package():
    """The submodules stay importable as attributes and with ``from alliance_meta.bayes import``."""
    from alliance_meta.bayes import exact, plots, priors

    assert am.bayes.exact is exact and am.bayes.plots is plots
    assert am.bayes.TauPrior is priors.TauPrior
    assert inspect.ismodule(am.bayes) and callable(am.bayes)
    am.bayes.__doc__ = am.bayes.__dict__["__doc__"]  # assignable, as a module's docstring is


def test_prior_sensitivity_reads_only_its_keys_of_the_bayes_block():
    """Rule bayes_prior_sensitivity gets only PRIOR_SENSITIVITY_KEYS of the config's bayes block (a change of
    draws must not rerun it): every other key of the schema's bayes block leaves its table unchanged, and each
    of its keys changes it."""
    import numpy as np
    import pandas as pd
    import yaml

    from alliance_meta.bayes.analysis import BayesConfig, prior_sensitivity
    from alliance_meta.inputs.options import CONFIG_SCHEMA, PRIOR_SENSITIVITY_KEYS, prior_sensitivity_settings

    data = pd.DataFrame({"yi": [0.31, 0.12, 0.45, 0.22, 0.05, 0.38], "vi": [0.010, 0.020, 0.015, 0.008, 0.030, 0.012]})
    base = {"prior": {"mu_sd": 1.0, "tau": {"family": "half_normal", "scale": 0.5}}, "seed": 1, "sampler": "auto",
            "draws": 1000, "tune": 1000, "chains": 4, "target_accept": 0.9, "hdi_prob": 0.95,
            "thresholds": [0.0, 0.1, 0.3], "diagnostics": {"r_hat_max": 1.01, "ess_min": 400},
            "retry": {"target_accept": 0.99, "draws_factor": 2},
            "sensitivity_priors": [{"family": "half_cauchy", "scale": 0.3}]}
    other = {"prior": {"mu_sd": 0.5, "tau": {"family": "half_normal", "scale": 0.2}}, "seed": 7, "sampler": "pymc",
             "draws": 300, "tune": 200, "chains": 2, "target_accept": 0.8, "hdi_prob": 0.9, "thresholds": [0.2],
             "diagnostics": {"r_hat_max": 1.1, "ess_min": 100}, "retry": {"target_accept": 0.95, "draws_factor": 3},
             "sensitivity_priors": [{"family": "half_normal", "scale": 1.0}]}
    keys = list(yaml.safe_load(CONFIG_SCHEMA.read_text())["properties"]["bayes"]["properties"])
    assert sorted(base) == sorted(keys) == sorted(other), "a key of the schema's bayes block is missing here"

    def table(bayes):
        return prior_sensitivity(data, "z", BayesConfig.from_config(bayes, "z"))[0]

    reference = table(base)
    for key in keys:
        changed = table({**base, key: other[key]})
        if key in PRIOR_SENSITIVITY_KEYS:
            assert not changed.equals(reference), f"bayes.{key} is passed but changes nothing"
        else:
            pd.testing.assert_frame_equal(changed, reference, obj=f"table with another bayes.{key}")
    subset = prior_sensitivity_settings(base)  # what the rule gets
    assert sorted(subset) == sorted(PRIOR_SENSITIVITY_KEYS)
    pd.testing.assert_frame_equal(table(subset), reference)
    assert np.isfinite(reference.select_dtypes("number").to_numpy(dtype=float)).any()


def test_the_stage_result_prints_as_one_line():
    """repr(am.bayes(fit)) was the dataclass' repr: every table and every posterior draw (100,000 characters for
    two chains of 1,000 draws); the other analyses' results print one line."""
    import numpy as np
    import pandas as pd

    from alliance_meta.bayes.analysis import StageResult

    table = pd.DataFrame({"parameter": ["mu", "tau"], "mean": [0.15, 0.1], "hdi_lower": [0.08, 0.04],
                          "hdi_upper": [0.22, 0.17]})
    result = StageResult(table, pd.DataFrame({"study_id": list("abc")}), pd.DataFrame(columns=["moderator", "term"]),
                         {"mu": np.zeros((2, 1000)), "theta": np.zeros((2, 1000, 3))})
    assert repr(result) == ("<StageResult: 2 parameters on k = 3 studies; mu = 0.1500, HDI [0.0800, 0.2200]; "
                            "0 moderator models>")
    empty = StageResult(table.iloc[:0], table.iloc[:0], pd.DataFrame(columns=["moderator", "term"]), {})
    assert repr(empty) == "<StageResult: 0 parameters on k = 0 studies; 0 moderator models>"
    one = StageResult(table, pd.DataFrame({"study_id": ["a"]}), pd.DataFrame(columns=["moderator", "term"]), {})
    assert repr(one).startswith("<StageResult: 2 parameters on k = 1 study; mu = ")  # was "k = 1 studies"
