"""Rule location_scale: location-scale models of each configured formula (moderators of log tau^2)
and tau^2 per level of their scale moderators (alliance_meta.analyses.location_scale)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from alliance_meta.analyses.location_scale import location_scale_tables
from alliance_meta.inputs.planning import family_reference_levels
from alliance_meta.io import log_number, read_table, setup_logging, write_table

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "location_scale")
params = snakemake.params
effect_sizes = read_table(snakemake.input.effect_sizes)
reference_levels, notes = family_reference_levels(effect_sizes, params.reference_levels)
for note in notes:
    logger.info("%s", note)
coefficients, per_level = location_scale_tables(
    effect_sizes, params.models, continuous=params.continuous, aggregate_method=params.aggregate_method,
    rho=params.rho, reference_levels=reference_levels, centre=params.centre, level=params.level,
    values=params.values)
for model in coefficients.drop_duplicates("model").itertuples():
    if model.note:
        logger.warning("location-scale model %s: %s", model.model, model.note)
    if "lrt" in coefficients and model.converged is not False:
        logger.info("location-scale model %s: k = %d, LRT of the scale part = %s on %s df, p = %s",
                    model.model, model.k, log_number(model.lrt, ".3f"), model.lrt_df, log_number(model.lrt_p, ".4f"))
write_table(coefficients, snakemake.output.table)
write_table(per_level, snakemake.output.tau2)
