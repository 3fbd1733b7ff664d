# Config validation (defaults from the schema) and small helpers shared by the rules.
from snakemake.utils import min_version, validate

min_version("9.0")


validate(config, "../schemas/config.schema.yaml", set_default=True)

FAMILIES = config["families"]
MAIN_METHOD = config["pooling"]["main_method"]

wildcard_constraints:
    family="|".join(FAMILIES),


# The software of every rule, for `--sdm conda` (relative to workflow/rules/).
CONDA_ENV = "../../environment.yml"

# Each stage's .smk appends the files it contributes to `make`'s default target.
FINAL_TARGETS = []


def family_effect_sizes(wildcards):
    """Per-family effect sizes, one row per effect size (before aggregation)."""
    return f"data/processed/{wildcards.family}/effect_sizes.csv"


def family_analysis_data(wildcards):
    """Per-family analysis rows: one composite per study under `dependence: aggregate`."""
    return f"data/processed/{wildcards.family}/analysis.csv"
