"""Rule psychometric: Hunter-Schmidt psychometric meta-analysis of the outcome family, overall and
by moderator, with its artifact distributions and the studies of its forest plot (rule
psychometric_forest_plot draws it; alliance_meta.analyses.psychometric)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from alliance_meta.analyses.psychometric import (
    PsychometricOptions,
    correlations,
    fill_reliabilities,
    left_out_note,
    psychometric_analysis,
    psychometric_moderators,
)
from alliance_meta.io import fit_log_line, log_number, read_table, setup_logging, write_table

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "psychometric")
params, output = snakemake.params, snakemake.output
settings = dict(params.settings)
options = PsychometricOptions.from_config(settings, level=params.level)
effect_sizes = read_table(snakemake.input.effect_sizes)
rows = correlations(effect_sizes)
if note := left_out_note(effect_sizes):
    logger.warning("%s", note)
data = fill_reliabilities(rows, settings.get("reliability"), settings.get("outcome_reliability"))
for column in ("rxx", "ryy", "ux"):
    logger.info("%s: %d of %d effect sizes report it, %d more from the config's defaults", column,
                rows[column].notna().sum(), len(rows), data[column].notna().sum() - rows[column].notna().sum())
analysis = psychometric_analysis(data, options)
table = analysis.to_frame()
for row in table.itertuples():
    logger.info("%s", fit_log_line(f"{row.method} (k = {row.k})", row.rho, "rho = {} [{}, {}], SD_rho = {}".format(
        *(log_number(v, ".4f") for v in (row.rho, row.ci_lower, row.ci_upper, row.sd_rho))), row.note))
write_table(table, output.table)
write_table(psychometric_moderators(data, params.moderators, options,  # a custom tool's levels in its order
                                   risk_of_bias=getattr(params, "risk_of_bias", None)), output.moderators)
write_table(analysis.artifact_table(), output.artifacts)
write_table(analysis.studies_table(), output.studies)  # no corrected correlation: no rows (the plot says so)
