"""Rule rve: robust variance estimation of one family's effect sizes (am.rve: alliance_meta.analyses.rve).

rve.csv: the overall effect under robumeta's correlated (rho = aggregate_rho) and hierarchical
weights, small-sample corrected, and a `cr2` row: the aggregated model (one composite per
study, pooling.main_method) with its CR2 standard error and Satterthwaite df (clubSandwich).
rve_sensitivity.csv: the correlated-effects fit at rho = 0, .2, ..., 1 (robumeta's sensitivity()).
"""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import alliance_meta as am
from alliance_meta.analyses.rve import too_few_studies
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.wording import counted

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], f"rve_{snakemake.wildcards.family}")
rows = read_table(snakemake.input[0])
options = snakemake.params.fit
result = am.rve(am.fit(rows, **options)) if len(rows) else too_few_studies(0, options["metric"])
for note in result.notes:
    logger.warning("%s", note)
table = result.table[["model", "estimate", "se", "df", "pval", "tau2", "omega2"]]
logger.info("%s in %s%s", counted(len(rows), "effect size"), counted(rows["study_id"].nunique(), "study", "studies"),
            f"\n{table.to_string(index=False)}" if len(table) else ": no model fitted")
write_table(result.table, snakemake.output.table)
write_table(result.sensitivity, snakemake.output.sensitivity)
