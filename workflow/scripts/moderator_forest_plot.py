"""Rule moderator_forest_plot: per categorical moderator, the studies grouped by level with subgroup diamonds."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from pathlib import Path

from alliance_meta.engines.transforms import family_metric
from alliance_meta.inputs.planning import moderator_plot_stem
from alliance_meta.io import read_table, setup_logging
from alliance_meta.models.fits import main_row
from alliance_meta.analyses.moderators import aggregate_within
from alliance_meta.plots.forest import ForestOptions, save_moderator_forest_plot
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.subgroups import without_level_note
from alliance_meta.wording import counted

snakemake = globals()["snakemake"]
params = snakemake.params
logger = setup_logging(snakemake.log[0], "moderator_forest_plot")
options = ForestOptions.from_config(params.plots, getattr(params, "risk_of_bias", None))
effect_sizes = read_table(snakemake.input.effect_sizes)
subgroups, summaries = read_table(snakemake.input.subgroups), read_table(snakemake.input.moderators)
pooled = read_table(snakemake.input.pooled)
metric = family_metric(params.metric, effect_sizes)
overall = main_row(pooled, params.main_method, test="z")
for name in params.moderators:
    paths = [path for path in snakemake.output if Path(path).stem == moderator_plot_stem("forest", name)]
    data = aggregate_within(effect_sizes, (name,), params.aggregate_method, params.rho)[0] if len(effect_sizes) else \
        effect_sizes.assign(**{name: []})
    levels = subgroups[subgroups["moderator"] == name]
    summary = summaries.set_index("moderator").loc[name].to_dict() if name in set(summaries["moderator"]) else None
    notes = [without_level_note(effect_sizes, name, options.column_labels), figure_note(effect_sizes)]
    logger.info("forest plot of %s: %s in %s", name, counted(len(data), "row"), counted(len(levels), "level"))
    save_moderator_forest_plot(data, name, levels, overall, metric, paths, params.level, options, summary,
                               " ".join(filter(None, notes)) or None, logger)  # logs a width beyond plots.width
