# Input functions and constants of the manuscript stage (manuscript.smk).
import hashlib

from alliance_meta.report.changes import compared_config, config_defaults


def _sheet_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


SHEET_SHA256 = _sheet_sha256(config["sheet"])
# The compared config keys at this workflow's schema defaults (common.smk loads workflow/schemas/config.schema.yaml):
# the keys an earlier snapshot did not record and this run has at them are one row of changes.csv
CONFIG_DEFAULTS = config_defaults(_schema)
CHANGES_ANALYSES = {"moderators": "moderators.csv", "influence": "influence.csv", "bayes": "bayes.csv"}


def changes_tables(wildcards):
    """pooled.csv of every family, and the moderators, influence and Bayes tables that
    `changes.analyses` names and the run produces (FINAL_TARGETS)."""
    wanted = ["pooled.csv"] + [CHANGES_ANALYSES[name] for name in config["changes"]["analyses"]]
    produced = set(FINAL_TARGETS)
    return [f"results/{family}/{name}" for family in FAMILIES for name in wanted
            if name == "pooled.csv" or f"results/{family}/{name}" in produced]


def grade_inputs(wildcards):
    """bias.csv and selection_models.csv of the family when the run produces them."""
    produced = set(FINAL_TARGETS)
    return {name: f"results/{wildcards.family}/{name}.csv" for name in ("bias", "selection_models")
            if f"results/{wildcards.family}/{name}.csv" in produced}
