"""The API's option dicts (fit.plot_forest's plots options, am.bayes's settings) are checked as the config's
``plots`` and ``bayes`` blocks: a misspelled key or an unknown value raises one ValueError listing every
problem, worded as the config check words it; a valid dict (the pipeline's full blocks) behaves as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import alliance_meta as am
from alliance_meta.bayes import api as bayes_api
from alliance_meta.inputs.config_check import fill_defaults, load_config_file
from alliance_meta.inputs import options as option_checks
from alliance_meta.plots import forest_options
from alliance_meta.plots.forest_options import ForestOptions

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))


@pytest.fixture(params=["schema", "fallback"])
def checker(request, monkeypatch):
    """Both checks: against the config schema (a source checkout) and against the known keys (an
    install without the workflow folder). The loaded schema is kept per file (path, time, size): no cache to empty."""
    if request.param == "fallback":
        monkeypatch.setattr(option_checks, "CONFIG_SCHEMA", ROOT / "no-such-folder" / "config.schema.yaml")
    assert (option_checks._config_schema() is None) == (request.param == "fallback")
    yield request.param


@pytest.fixture
def demo_config():
    """config/config.yaml with the schema's defaults: the blocks the pipeline passes, with every key."""
    return fill_defaults(load_config_file(ROOT / "config" / "config.yaml"), SCHEMA)


def small_fit():
    yi = np.array([0.10, 0.25, 0.32, 0.18, 0.41, 0.05])
    vi = np.array([0.010, 0.020, 0.015, 0.030, 0.012, 0.025])
    return am.fit(yi, vi, metric="z")


def test_plot_forest_names_a_misspelled_key(tmp_path, checker):
    with pytest.raises(ValueError, match=r"plots\.sortt: unknown key; did you mean plots\.sort\?"):
        small_fit().plot_forest(tmp_path / "forest.png", {"sortt": "effect"})
    assert not (tmp_path / "forest.png").exists()


def test_plot_forest_names_an_unknown_preset(tmp_path, checker):
    with pytest.raises(ValueError, match=r"plots\.preset: 'nejm' is not one of apa, plain"):
        small_fit().plot_forest(tmp_path / "forest.png", {"preset": "nejm"})


def test_plot_forest_rejects_a_zero_width(tmp_path):
    with pytest.raises(ValueError, match=r"plots\.width: 0 "):
        small_fit().plot_forest(tmp_path / "forest.png", {"width": 0})


@pytest.mark.parametrize(("metric", "xlim", "why"), [
    ("log_or", [-1, 1.5], r"plots\.xlim \[-1, 1\.5\]: metric log_or is shown as odds ratios, whose axis needs limits "
                          r"above 0$"),
    ("log_or", (0, 2), r"plots\.xlim \[0, 2\]: metric log_or is shown as odds ratios"),
    ("z", [0.1, 3], r"plots\.xlim \[0\.1, 3\]: metric z is shown as correlations, whose axis needs limits "
                    r"within \[-1, 1\]$"),
    ("z", [-1.2, 0.5], r"plots\.xlim \[-1\.2, 0\.5\]: metric z is shown as correlations"),
    ("smd", [1, -1], r"plots\.xlim \[1, -1\]: needs two finite limits, the lower first"),
])
def test_plot_forest_refuses_an_xlim_off_the_metric_s_scale(tmp_path, metric, xlim, why):
    yi = np.array([0.10, 0.25, 0.32, 0.18, 0.41, 0.05])
    vi = np.array([0.010, 0.020, 0.015, 0.030, 0.012, 0.025])
    with pytest.raises(ValueError, match=why):
        am.fit(yi, vi, metric=metric).plot_forest(tmp_path / "forest.png", {"xlim": xlim})
    assert not (tmp_path / "forest.png").exists()


@pytest.mark.parametrize(("metric", "xlim"), [("log_or", [0.5, 2]), ("z", [-1, 1]), ("z", [-0.2, 0.6]),
                                              ("smd", [-1, 1.5])])
def test_plot_forest_takes_an_xlim_on_the_metric_s_scale(tmp_path, metric, xlim):
    yi = np.array([0.10, 0.25, 0.32, 0.18, 0.41, 0.05])
    vi = np.array([0.010, 0.020, 0.015, 0.030, 0.012, 0.025])
    am.fit(yi, vi, metric=metric).plot_forest(tmp_path / "forest.png", {"xlim": xlim})
    assert (tmp_path / "forest.png").stat().st_size > 1000


def test_every_problem_in_one_error(checker):
    with pytest.raises(ValueError) as error:
        ForestOptions.from_config({"sortt": "effect", "preset": "nejm", "labls": "both"})
    message = str(error.value)
    assert message.startswith("forest plot options: 3 problems")
    assert "plots.sortt: unknown key; did you mean plots.sort?" in message
    assert "plots.labls: unknown key; did you mean plots.labels?" in message
    assert "plots.preset: 'nejm' is not one of apa, plain" in message


def test_bayes_names_a_misspelled_key_before_sampling(checker):
    with pytest.raises(ValueError) as error:
        am.bayes(small_fit(), {"draw": 200, "diagnostics": {"rhat_max": 1.05}})
    message = str(error.value)
    assert message.startswith("am.bayes: 2 problems")
    assert "bayes.draw: unknown key; did you mean bayes.draws?" in message
    assert "bayes.diagnostics.rhat_max: unknown key; did you mean bayes.diagnostics.r_hat_max?" in message


def test_bayes_names_an_unknown_sampler(checker):
    with pytest.raises(ValueError, match=r"bayes\.sampler: 'nutpy' is not one of auto, nutpie, pymc; did you mean nutpie\?"):
        am.bayes(small_fit(), {"sampler": "nutpy"})


def test_the_pipelines_full_blocks_are_accepted(demo_config, checker):
    plots, bayes = demo_config["plots"], demo_config["bayes"]
    options = ForestOptions.from_config(plots, demo_config["risk_of_bias"])
    assert options == ForestOptions(**{**plots, "risk_of_bias": demo_config["risk_of_bias"]})
    assert ForestOptions.from_config(plots) == ForestOptions(**plots)
    option_checks.check_options("bayes", bayes, bayes_api.BAYES_KEYS, "am.bayes")  # as am.bayes does


def test_valid_api_values_stay_accepted(tmp_path, checker):
    """Tuples and NumPy numbers, which YAML never gives, are read as before."""
    options = ForestOptions.from_config({"xlim": (-0.5, np.float64(1.0)), "decimals": np.int64(3),
                                         "sort": "effect", "columns": ()})
    assert options.xlim == (-0.5, 1.0) and options.decimals == 3 and options.sort == "effect"
    assert ForestOptions.from_config(None) == ForestOptions() == ForestOptions.from_config({})
    small_fit().plot_forest(tmp_path / "forest.png", {"sort": "effect", "preset": "plain"})
    assert (tmp_path / "forest.png").stat().st_size > 0
    option_checks.check_options("bayes", {"draws": np.int64(500), "thresholds": np.array([0.0, 0.2])},
                                 bayes_api.BAYES_KEYS, "am.bayes")


def test_the_fallback_keys_are_the_schemas():
    """The keys checked without the schema are the schema's own (they cannot drift apart)."""
    plots = SCHEMA["properties"]["plots"]["properties"]
    assert set(forest_options.ForestOptions.__dataclass_fields__) - {"risk_of_bias"} == set(plots)
    assert set(plots["preset"]["enum"]) == set(forest_options.PRESETS)
    assert set(plots["sort"]["enum"]) == set(forest_options.SORT_ORDERS)
    assert set(plots["labels"]["enum"]) == set(forest_options.LABEL_MODES)
    bayes = SCHEMA["properties"]["bayes"]["properties"]
    assert set(bayes_api.BAYES_KEYS) == set(bayes)
    for key, nested in bayes_api.BAYES_KEYS.items():
        if isinstance(nested, dict):
            assert set(nested) == set(bayes[key]["properties"]), key


def test_a_risk_of_bias_block_may_come_with_the_plots_options():
    options = ForestOptions.from_config({"sort": "year", "risk_of_bias": {"tool": "rob2"}})
    assert options.sort == "year" and options.risk_of_bias == {"tool": "rob2"}


def _known_keys_problems(path: str, known: dict, block: dict) -> list[str]:
    """Where a fallback key set (key -> None, or the keys of a nested mapping) differs from the schema's block."""
    schema = block.get("properties", {})
    problems = [f"{path}.{key}: {'not in the schema' if key not in schema else 'not in the fallback keys'}"
                for key in sorted(set(known) ^ set(schema))]
    for key, nested in known.items():
        if isinstance(nested, dict) and key in schema:
            problems += _known_keys_problems(f"{path}.{key}", nested, schema[key])
    return problems


def test_every_fallback_key_set_is_the_schemas():
    """The key sets and values that the API checks without the schema (the core install has no jsonschema) repeat
    the config schema's by hand: the grade, BMA, multiverse, psychometric and risk-of-bias blocks equal it to
    the depth they check, as the plots and bayes blocks do (test above), so they cannot drift apart."""
    from alliance_meta.analyses.multiverse import MULTIVERSE_KEYS
    from alliance_meta.analyses.psychometric import PSYCHOMETRIC_KEYS
    from alliance_meta.bayes.bma import BMA_KEYS, PRIOR_SCALES
    from alliance_meta.bayes.priors import EMPIRICAL_PRIORS
    from alliance_meta.inputs import risk_of_bias
    from alliance_meta.report import grade

    blocks = SCHEMA["properties"]
    problems = []
    for section, known in (("grade", grade.GRADE_KEYS), ("bma", BMA_KEYS), ("multiverse", MULTIVERSE_KEYS),
                           ("psychometric", PSYCHOMETRIC_KEYS), ("bayes", bayes_api.BAYES_KEYS),
                           ("risk_of_bias", dict.fromkeys(risk_of_bias.CONFIG_KEYS))):
        problems += _known_keys_problems(section, known, blocks[section])
    assert problems == []
    # the values checked without the schema (the enums passed to check_options) and the hand-kept vocabularies
    assert blocks["grade"]["properties"]["start"]["enum"] == list(grade.STARTS) == list(grade.START)
    assert set(SCHEMA["$defs"]["grade_overrides"]["propertyNames"]["enum"]) == set(grade.DOMAINS)
    assert set(blocks["grade"]["properties"]["imprecision_width"]["default"].items()) == set(
        grade.IMPRECISION_WIDTH.items())
    assert blocks["bma"]["properties"]["prior_scale"]["enum"] == list(PRIOR_SCALES)
    assert blocks["bayes"]["properties"]["sampler"]["enum"] == list(bayes_api.SAMPLERS)
    assert set(blocks["risk_of_bias"]["properties"]["tool"]["enum"]) == set(risk_of_bias.TOOLS)
    assert set(SCHEMA["$defs"]["tau_prior_or_name"]["anyOf"][0]["enum"]) == set(EMPIRICAL_PRIORS)


def test_the_config_schema_is_read_once_per_version_of_its_file(tmp_path, monkeypatch):
    """Loaded once (the warm server's copy serves every plotting job), and again once the file changes."""
    from alliance_meta.inputs import config_check

    path = tmp_path / "config.schema.yaml"
    path.write_text(option_checks.CONFIG_SCHEMA.read_text(encoding="utf-8"), encoding="utf-8")
    loads = []
    monkeypatch.setattr(option_checks, "CONFIG_SCHEMA", path)
    monkeypatch.setattr(config_check, "load_schema", lambda where: loads.append(where) or yaml.safe_load(
        Path(where).read_text(encoding="utf-8")))
    first = option_checks._config_schema()  # another file than the one loaded before: read, with no cache emptied
    assert option_checks._config_schema() is first and len(loads) == 1
    path.write_text(path.read_text(encoding="utf-8").replace("sort:", "sort:  ", 1), encoding="utf-8")
    assert option_checks._config_schema() is not first and len(loads) == 2  # edited: read again
    assert option_checks._config_schema() is option_checks._config_schema() and len(loads) == 2
