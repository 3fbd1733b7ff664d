"""Write results/{family}/study_characteristics.csv: one row per study, as a manuscript's table of included studies."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)


from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.report.summary import study_characteristics
from alliance_meta.wording import counted

log = setup_logging(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
table = study_characteristics(read_table(snakemake.input.effect_sizes), list(params.moderators), params.metric,  # noqa: F821
                              params.level, params.aggregate_method, params.rho)
write_table(table, snakemake.output[0])  # noqa: F821
log.info("%s (%s)", counted(len(table), "study", "studies"),
         counted(int(table["k_effect_sizes"].sum()) if len(table) else 0, "effect size"))
