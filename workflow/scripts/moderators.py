"""Rule moderators: subgroups, mixed-effects models and permutation tests of each moderator, and the
configured meta-regressions, of the family's main model (alliance_meta.moderator_tables)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import alliance_meta as am
from alliance_meta.analyses.moderators import convergence_messages, empty_moderator_tables, table_variables
from alliance_meta.inputs.planning import family_reference_levels
from alliance_meta.io import fit_log_line, log_number, read_table, setup_logging, write_table

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "moderators")
params = snakemake.params
effect_sizes = read_table(snakemake.input.effect_sizes)
reference_levels, notes = family_reference_levels(
    effect_sizes, params.reference_levels, table_variables(params.moderators, params.continuous, params.meta_regression))
for note in notes:
    logger.info("%s", note)
if len(effect_sizes):
    summary, subgroups, regressions = am.moderator_tables(
        am.fit(effect_sizes, **params.fit), params.moderators, continuous=params.continuous,
        formulas=params.meta_regression, reference_levels=reference_levels, centre=params.centre,
        permutations=params.permutations, seed=params.seed, risk_of_bias=getattr(params, "risk_of_bias", None),
        knha_adhoc=getattr(params, "knha", None) == "adhoc")
else:
    logger.warning("no effect sizes in this family: tables with headers only")
    summary, subgroups, regressions = empty_moderator_tables(params.fit["metric"])
for row in summary.to_dict("records"):
    dropped = int(row["k_dropped"])
    logger.info("%s", fit_log_line(
        f"{row['moderator']} (k = {int(row['k'])}, {dropped} effect size{'' if dropped == 1 else 's'} without a value)",
        row["qm"], f"QM = {log_number(row['qm'], '.3f')}, p = {log_number(row['qm_p'], '.4f')}, "
        f"permutation p = {log_number(row['qm_p_permutation'], '.4f')}", row["note"]))
for note in regressions.attrs.get("notes", []):  # formulas without a model, and why
    logger.warning("meta-regression %s", note)
for message in convergence_messages(subgroups, regressions, summary):  # never a crash, never another estimator
    logger.warning("%s", message)
write_table(summary, snakemake.output.moderators)
write_table(subgroups, snakemake.output.subgroups)
write_table(regressions, snakemake.output.meta_regression)
