"""Snapshot this run's main results in results/history/ and compare them with the last run of the previous sheet
version (report.changes.COMPARED_RUN)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)


from pathlib import Path

import pandas as pd

from alliance_meta.io import read_table, restore_formulas, setup_logging, write_table
from alliance_meta.report.changes import chain, compare, previous_snapshot, read_snapshot, snapshot, write_snapshot
from alliance_meta.wording import counted

log = setup_logging(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
effect_sizes = restore_formulas(pd.read_csv(snakemake.input.effect_sizes, dtype=str, keep_default_na=False))  # noqa: F821
families = {family: {"metric": params.metrics[family]} for family in params.families}
for path in map(Path, snakemake.input.tables):  # noqa: F821
    families[path.parent.name][path.stem] = read_table(path)
current = snapshot(effect_sizes, families, sheet=params.sheet, sheet_sha256=params.sheet_sha256,
                   main_method=params.main_method, tests=params.tests, config=params.config)
previous = previous_snapshot(params.history, params.sheet_sha256)  # read before this run's snapshot is written
# this sheet's own snapshot (kept by the update flag) tells with which config it was last run
current = chain(current, previous, read_snapshot(snakemake.output.snapshot))  # noqa: F821
changes = compare(previous, current, params.defaults)
write_table(changes, snakemake.output.changes)  # noqa: F821
write_snapshot(current, snakemake.output.snapshot)  # noqa: F821
log.info("snapshot %s (run %d); compared with %s: %s in changes.csv", params.sheet_sha256, current["sequence"],
         current["previous"] or "no run of another sheet", counted(len(changes), "row"))
