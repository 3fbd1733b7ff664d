"""Checkpoint multiverse_specifications: every possible specification of one family."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from alliance_meta.analyses import multiverse
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.wording import counted

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], f"multiverse_specifications_{snakemake.wildcards.family}")
settings = snakemake.params.settings
rows = read_table(snakemake.input[0])
specifications = multiverse.specifications(settings, rows)
# why there is none: lists of no specification (how a review leaves it out) or too few studies (a retraction)
empty = multiverse.empty_note(settings, specifications, rows) if specifications.empty else ""
if empty:
    logger.warning("%s", empty)
if settings.get("priors") and multiverse.exact_posterior is None:
    logger.warning("alliance_meta.bayes is not installed: Bayesian specifications skipped")
if multiverse.INDIVIDUAL in settings.get("correction", []) and "correction" not in specifications:
    logger.info("correction: individual is not a choice of this family: %s", multiverse.no_correction_reason(rows))
for note in specifications.attrs.get("notes", []):
    logger.info("%s", note)
batches = multiverse.batch_count(len(specifications), settings["batch_size"])
logger.info("%s in %s of up to %d", counted(len(specifications), "specification"), counted(batches, "batch", "batches"),
            settings["batch_size"])
for column in specifications.columns if len(specifications) else ():  # the choices taken
    logger.info("%s: %s", column, ", ".join(map(str, specifications[column].unique())))
write_table(specifications, snakemake.output[0])
