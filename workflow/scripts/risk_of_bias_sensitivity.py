"""Rule risk_of_bias_sensitivity: the main model refitted without high-risk studies and to low-risk studies
only (rob_sensitivity.csv; alliance_meta.risk_of_bias_sensitivity)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import alliance_meta as am
from alliance_meta.inputs.risk_of_bias import tool_from_config
from alliance_meta.io import log_number, read_table, setup_logging, write_table
from alliance_meta.wording import counted

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], f"risk_of_bias_sensitivity_{snakemake.wildcards.family}")
params = snakemake.params
sensitivity = am.risk_of_bias_sensitivity(am.fit(read_table(snakemake.input[0]), **params.fit),
                                          tool_from_config(params.risk_of_bias)).to_frame()
for row in sensitivity.itertuples():
    logger.info("%s: k = %s, estimate %s %s", row.subset, counted(row.k_studies, "study", "studies"),
                log_number(row.estimate, ".4f"), row.note)
write_table(sensitivity, snakemake.output.sensitivity)
