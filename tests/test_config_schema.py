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


NO_DEFAULT = {f"bayes.prior.tau.{key}" for key in ("mu", "sigma", "df", "source_metric", "label")}
"""Keys of the log-scale tau priors: each family needs some of them only (TauPrior), so
none is filled in."""


def _objects(schema, path="$"):
    """Every subschema that describes a mapping of keys (not an `if` condition), with its
    place in the schema."""
    if isinstance(schema, dict):
        if (schema.get("type") == "object" or "properties" in schema) and not path.endswith("/if"):
            yield path, schema
        for key, value in schema.items():
            yield from _objects(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _objects(value, f"{path}/{index}")


def test_every_key_has_a_description_and_a_default():
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    undocumented = [key for key, spec in _properties(schema) if "description" not in spec]
    undefaulted = [key for key, spec in _properties(schema) if "default" not in spec and key not in NO_DEFAULT]
    assert not undocumented, f"keys without description: {undocumented}"
    assert not undefaulted, f"keys without default: {undefaulted}"


def test_every_object_of_the_schema_rejects_unknown_keys():
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    objects = list(_objects(schema))
    open_objects = [path for path, spec in objects if "properties" in spec and spec.get("additionalProperties") is not False]
    assert len(objects) > 10 and not open_objects, f"objects that accept any key: {open_objects}"
    # free mappings: moderator names to reference levels or prediction values (keys checked by
    # alliance_meta.inputs.config_check), measure names to reliabilities, PRISMA sources and
    # reasons to counts, GRADE domains (propertyNames) to judgements, forest-plot columns to headers
    maps = {path for path, spec in objects if "properties" not in spec}
    prisma = "$/$defs/prisma/properties"
    assert maps == {"$/properties/reference_levels", "$/properties/prediction_values",
                    "$/properties/psychometric/properties/reliability", f"{prisma}/databases",
                    f"{prisma}/registers", f"{prisma}/excluded_reasons", "$/$defs/prisma_other_methods/properties/sources",
                    "$/$defs/prisma_other_methods/properties/excluded_reasons", "$/$defs/grade_overrides",
                    "$/properties/plots/properties/column_labels"}


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
        {"bayes": {"draw": 4000}},
        {"bayes": {"prior": {"mu_sdd": 2}}},
        {"bayes": {"prior": {"tau": {"family": "log_normal", "mu": -2.0}}}},
        {"bayes": {"diagnostics": {"rhat_max": 1.05}}},
        {"bayes": {"sensitivity_priors": [{"family": "half_normal", "scal": 0.3}]}},
        {"multiverse": {"priors": ["turner2015"]}},
        {"pooling": {"main_method": "reml"}},
        {"decimal": ";"},
    ],
)
def test_invalid_config_is_rejected(change):
    config = copy.deepcopy(change)
    with pytest.raises(Exception):
        validate(config, str(SCHEMA_PATH), set_default=True)


def test_enums_name_what_the_library_knows():
    from alliance_meta.bayes.priors import EMPIRICAL_PRIORS, TAU_FAMILIES
    from alliance_meta.engines.heterogeneity import METHODS

    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    pooling = schema["properties"]["pooling"]["properties"]
    assert pooling["main_method"]["enum"] == pooling["methods"]["items"]["enum"] == ["common", *METHODS]
    names = schema["$defs"]["tau_prior_or_name"]["anyOf"][0]["enum"]
    families = schema["properties"]["bayes"]["properties"]["prior"]["properties"]["tau"]["properties"]["family"]["enum"]
    assert set(names) == set(EMPIRICAL_PRIORS) and set(families) == set(TAU_FAMILIES) | set(EMPIRICAL_PRIORS)


def test_snakemake_fills_no_defaults_into_the_prior_lists():
    config = {"bayes": {"sensitivity_priors": [{"family": "turner2015_mental_health"}, "rhodes2015_general"]}}
    validate(config, str(SCHEMA_PATH), set_default=True)
    assert config["bayes"]["sensitivity_priors"] == [{"family": "turner2015_mental_health"}, "rhodes2015_general"]
    assert config["bayes"]["prior"]["tau"] == {"family": "half_normal", "scale": 0.5}
