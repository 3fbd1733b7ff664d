"""Rule multiverse_plot: the specification curve of multiverse.csv."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from alliance_meta.engines.transforms import family_metric
from alliance_meta.io import read_table, setup_logging
from alliance_meta.analyses.multiverse import read_specifications
from alliance_meta.plots.style import message_figure
from alliance_meta.plots.multiverse import specification_curve, unmarked_warning
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.style import save_figure

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], f"multiverse_plot_{snakemake.wildcards.family}")
table = read_specifications(snakemake.input.table)
effect_sizes = read_table(snakemake.input.effect_sizes)
if table.empty:  # e.g. the config lists none (analyses.multiverse.no_specification_note, in the checkpoint's log)
    logger.warning("no specification (multiverse.methods, tests, priors, aggregate_methods; minimum_k): "
                   "placeholder figure")
    figure = message_figure("No specification (see multiverse.methods, tests, priors, aggregate_methods and minimum_k)")
elif table["estimate"].notna().sum() == 0:
    logger.warning("no fitted specification: placeholder figure")
    figure = message_figure("No specification could be fitted (too few studies)")
else:
    warning = unmarked_warning(table, snakemake.params.main, snakemake.params.dependence,
                               snakemake.params.headline_method)
    if warning:
        logger.warning("%s", warning)
    figure = specification_curve(table, family_metric(snakemake.params.metric, effect_sizes), snakemake.params.level,
                                 snakemake.params.main,
                                 labels=snakemake.params.labels, dependence=snakemake.params.dependence)
save_figure(figure, [snakemake.output.pdf, snakemake.output.png], figure_note(effect_sizes))
