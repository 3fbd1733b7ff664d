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
    assert list(signature.parameters)[:2] == ["fit", "config"]
    assert {"moderators", "continuous", "reference_levels", "centre", "cores"} <= set(signature.parameters)


def test_help_on_bayes_shows_the_functions_usage_and_docstring():
    """help(am.bayes) was the package page of alliance_meta.bayes, without the function's parameters."""
    page = pydoc.render_doc(am.bayes, renderer=pydoc.plaintext)
    assert "am.bayes(fit, config=None, *, moderators=()" in page
    assert inspect.getdoc(bayes_api.bayes) in inspect.getdoc(am.bayes)
    assert "config : the ``bayes`` section of the config" in page
    assert "Bayesian normal-normal hierarchical meta-analysis" in page  # the package's description follows
    assert inspect.getdoc(am.bayes).startswith("am.bayes(fit, config=None")


def test_bayes_is_still_the_package():
    """The submodules stay importable as attributes and with ``from alliance_meta.bayes import``."""
    from alliance_meta.bayes import exact, plots, priors

    assert am.bayes.exact is exact and am.bayes.plots is plots
    assert am.bayes.TauPrior is priors.TauPrior
    assert inspect.ismodule(am.bayes) and callable(am.bayes)
    am.bayes.__doc__ = am.bayes.__dict__["__doc__"]  # assignable, as a module's docstring is
