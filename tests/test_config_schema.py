"""The config schema documents and defaults every key, and the shipped config is valid."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def _properties(schema, path=""):
    for name, spec in schema.get("properties", {}).items():
        yield f"{path}{name}", spec
        yield from _properties(spec, f"{path}{name}.")


def test_every_key_has_a_description_and_a_default():
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    undocumented = [key for key, spec in _properties(schema) if "description" not in spec]
    undefaulted = [key for key, spec in _properties(schema) if "default" not in spec]
    assert not undocumented, f"keys without description: {undocumented}"
    assert not undefaulted, f"keys without default: {undefaulted}"


def test_empty_config_gets_the_contract_defaults():
    config: dict = {}
    validate(config, str(SCHEMA_PATH), set_default=True)
    assert config["sheet"] == "data/raw/studies.csv"
    assert config["moderators"] == ["modality", "rater"]
    assert config["dependence"] == "aggregate"
    assert config["aggregate_method"] == "gls"
    assert config["aggregate_rho"] == 0.5
    assert config["metric"] == {"outcome": "z", "dropout": "smd"}
    assert config["pooling"]["tests"] == ["z", "knha"]
    assert {"common", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"} <= set(config["pooling"]["methods"])
    assert config["bayes"]["prior"]["mu_sd"] == 1.0
    assert config["bayes"]["prior"]["tau"] == {"family": "half_normal", "scale": 0.5}
    assert isinstance(config["bayes"]["seed"], int)


def test_shipped_config_is_valid():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    validate(config, str(SCHEMA_PATH), set_default=True)


@pytest.mark.parametrize(
    "change",
    [
        {"dependence": "nested"},
        {"aggregate_rho": 1.5},
        {"pooling": {"methods": ["REML", "XYZ"]}},
        {"metric": {"dropout": "risk_ratio"}},
        {"unknown_key": 1},
    ],
)
def test_invalid_config_is_rejected(change):
    config = copy.deepcopy(change)
    with pytest.raises(Exception):
        validate(config, str(SCHEMA_PATH), set_default=True)
