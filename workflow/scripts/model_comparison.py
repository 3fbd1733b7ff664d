"""Rule model_comparison: likelihood-ratio tests of the nested meta-regressions (ML refits, as
metafor's anova) and the predicted effects of each model (alliance_meta.analyses.model_comparison)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from alliance_meta.analyses.model_comparison import model_comparison_table, prediction_table
from alliance_meta.engines.design import column_term
from alliance_meta.inputs.planning import family_reference_levels
from alliance_meta.io import read_table, setup_logging, write_table

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "model_comparison")
params = snakemake.params
effect_sizes = read_table(snakemake.input.effect_sizes)
reference_levels, notes = family_reference_levels(effect_sizes, params.reference_levels)
for note in notes:
    logger.info("%s", note)
# a moderator is the formula of its one column, quoted where its name is not a formula ("mean age")
formulas = list(dict.fromkeys([*map(column_term, [*params.moderators, *params.continuous]), *params.meta_regression]))
options = dict(continuous=params.continuous, aggregate_method=params.aggregate_method, rho=params.rho,
               reference_levels=reference_levels, centre=params.centre)
comparison = model_comparison_table(effect_sizes, formulas, **options) if len(effect_sizes) else None
predictions = prediction_table(effect_sizes, formulas, params.metric, values=params.values, tests=params.tests,
                               level=params.level, knha_adhoc=getattr(params, "knha", None) == "adhoc",
                               risk_of_bias=getattr(params, "risk_of_bias", None),
                               **options) if len(effect_sizes) else None
if comparison is None:
    logger.info("no effect sizes in this family (k = 0): writing headers only")
    comparison = model_comparison_table(effect_sizes.iloc[:0], [])
    predictions = prediction_table(effect_sizes.iloc[:0], [], params.metric)
for row in comparison[comparison["model"] == "full"].to_dict("records"):
    if "lrt" in row and row["lrt"] == row["lrt"]:  # NaN: not estimable, said in the note
        logger.info("%s: k = %d, LRT = %.3f on %d df, p = %.4f", row["comparison"], row["k"], row["lrt"],
                    row["lrt_df"], row["lrt_p"])
    else:
        logger.info("%s: %s", row["comparison"], row.get("note", "not estimable"))
write_table(comparison, snakemake.output.comparison)
write_table(predictions, snakemake.output.predictions)
