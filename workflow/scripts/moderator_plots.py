"""Rule moderator_plots: a subgroup forest plot per categorical moderator and a bubble plot
per continuous moderator, each as PDF, PNG and SVG."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from pathlib import Path

from alliance_meta.engines.transforms import family_metric
from alliance_meta.inputs.planning import moderator_plot_stem
from alliance_meta.io import read_table, setup_logging
from alliance_meta.models.fits import main_row
from alliance_meta.analyses.moderators import analyse_moderator
from alliance_meta.plots.bubble import bubble_plot
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.style import save_figure
from alliance_meta.plots.subgroups import subgroup_forest, without_level_note

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "moderator_plots")
params = snakemake.params


def outputs(kind, moderator):
    return [path for path in snakemake.output if Path(path).stem == moderator_plot_stem(kind, moderator)]


subgroups = read_table(snakemake.input.subgroups)
summaries = read_table(snakemake.input.moderators).set_index("moderator")
pooled = read_table(snakemake.input.pooled)
effect_sizes = read_table(snakemake.input.effect_sizes)
note = figure_note(effect_sizes)
metric = family_metric(params.metric, effect_sizes)
overall = main_row(pooled, params.main_method, test="z")
for name in params.moderators:
    figure = subgroup_forest(subgroups[subgroups["moderator"] == name], {"moderator": name, **summaries.loc[name]},
                             overall, metric, params.level, params.labels,
                             without_level_note(effect_sizes, name, params.labels), **params.colours)
    save_figure(figure, outputs("subgroups", name), note, params.dpi)
for name in params.continuous:
    analysis = analyse_moderator(effect_sizes, name, metric, continuous=True, permutations=0,
                                 aggregate_method=params.aggregate_method, rho=params.rho,
                                 centre=params.centre, level=params.level)
    summary = summaries.loc[name] if name in summaries.index else None
    save_figure(bubble_plot(analysis, metric, params.level, params.labels, summary), outputs("bubble", name), note,
                params.dpi)
    logger.info("bubble plot of %s: k = %d", name, len(analysis.data))
