"""Rule moderators: subgroups, mixed-effects models and permutation tests of each moderator,
and the configured meta-regressions (alliance_meta.analyses.moderators)."""
import pandas as pd

from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.analyses.moderators import analyse_moderator, convergence_messages, meta_regression_table

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "moderators")
params = snakemake.params
effect_sizes = read_table(snakemake.input.effect_sizes)
options = dict(aggregate_method=params.aggregate_method, rho=params.rho, centre=params.centre,
               level=params.level, permutations=params.permutations, seed=params.seed)
analyses = [analyse_moderator(effect_sizes, name, params.metric, continuous=name in params.continuous,
                              reference_level=params.reference_levels.get(name), **options)
            for name in dict.fromkeys([*params.moderators, *params.continuous])]
for row in (analysis.summary() for analysis in analyses):
    logger.info("%s: k = %d (%d effect sizes without a value), QM = %.3f, p = %.4f, permutation p = %.4f",
                row["moderator"], row["k"], row["k_dropped"], row["qm"], row["qm_p"], row["qm_p_permutation"])
extra = [formula for formula in params.meta_regression if formula not in {a.moderator for a in analyses}]
tables = [a.coefficient_table() for a in analyses] + [meta_regression_table(
    effect_sizes, extra, continuous=params.continuous, reference_levels=params.reference_levels, **options)]
tables = [table for table in tables if table is not None and len(table)]
summary = pd.DataFrame([a.summary() for a in analyses])
if params.dependence == "multilevel":  # three-level models beside them (alliance_meta.analyses.multilevel_tables)
    from alliance_meta.analyses.multilevel_tables import add_moderator_columns, coefficient_rows

    multilevel_options = dict(rho=params.rho, method=params.multilevel["method"], level=params.level,
                              reference_levels=params.reference_levels, centre=params.centre)
    summary = add_moderator_columns(summary, effect_sizes, params.continuous, **multilevel_options)
    tables.append(coefficient_rows(effect_sizes, list(summary.get("moderator", [])), params.continuous,
                                   **multilevel_options))
    tables = [table for table in tables if len(table)]
subgroups = pd.concat([a.subgroups for a in analyses], ignore_index=True)
regressions = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["model", "term"])
for message in convergence_messages(subgroups, regressions):  # never a crash, never another estimator
    logger.warning("%s", message)
write_table(summary, snakemake.output.moderators)
write_table(subgroups, snakemake.output.subgroups)
write_table(regressions, snakemake.output.meta_regression)
