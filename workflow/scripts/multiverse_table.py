"""Rule multiverse_table: the batches joined into multiverse.csv, and its summary table."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import pandas as pd

from alliance_meta.analyses import multiverse
from alliance_meta.io import setup_logging, write_table
from alliance_meta.wording import counted

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], f"multiverse_table_{snakemake.wildcards.family}")
table = pd.concat([multiverse.read_specifications(path) for path in snakemake.input], ignore_index=True)
summary = multiverse.summarise(table, snakemake.params.metric)
logger.info("%s from %s; %d fitted", counted(len(table), "specification"),
            counted(len(snakemake.input), "batch", "batches"), table["estimate"].notna().sum())
write_table(table, snakemake.output.table)
write_table(summary, snakemake.output.summary)
