"""Rule prepare_family: one family's effect sizes, and the rows it pools (composites or all rows)."""
from alliance_meta.inputs.dependence import prepare_family
from alliance_meta.io import read_table, setup_logging, write_table

snakemake = globals()["snakemake"]
family = snakemake.wildcards.family
logger = setup_logging(snakemake.log[0], f"prepare_family_{family}")
rows, analysis, notes = prepare_family(read_table(snakemake.input[0]), family,
                                       dependence=snakemake.params.dependence,
                                       method=snakemake.params.method, rho=float(snakemake.params.rho))
for note in notes:
    logger.info("%s", note)
write_table(rows, snakemake.output.effect_sizes)
write_table(analysis, snakemake.output.analysis)
