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


def multiverse_batches(wildcards):
    """A family's multiverse batch files: ceil(specifications / multiverse.batch_size), read
    once the checkpoint multiverse_specifications has written the specifications."""
    import csv

    path = checkpoints.multiverse_specifications.get(family=wildcards.family).output[0]
    with open(path, newline="") as handle:
        count = sum(1 for _ in csv.reader(handle)) - 1
    batches = max(1, -(-count // config["multiverse"]["batch_size"]))
    return expand(
        "data/processed/{family}/multiverse/batch_{batch:04d}.csv",
        family=wildcards.family,
        batch=range(batches),
    )
