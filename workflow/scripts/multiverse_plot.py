"""Rule multiverse_plot: the specification curve of multiverse.csv."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from alliance_meta.engines.transforms import family_metric
from alliance_meta.io import read_table, setup_logging
from alliance_meta.analyses.multiverse import read_specifications, unplotted_reason
from alliance_meta.plots.style import message_figure
from alliance_meta.plots.multiverse import specification_curve, unmarked_warning
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.style import save_figure

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], f"multiverse_plot_{snakemake.wildcards.family}")
table = read_specifications(snakemake.input.table)
effect_sizes = read_table(snakemake.input.effect_sizes)
placeholder = unplotted_reason(table)  # no specification (see the checkpoint's log), or none fitted
if placeholder:
    logger.warning("%s: placeholder figure", placeholder)
    figure = message_figure(placeholder)
else:
    warning = unmarked_warning(table, snakemake.params.main, snakemake.params.dependence,
                               snakemake.params.headline_method)
    if warning:
        logger.warning("%s", warning)
    figure = specification_curve(table, family_metric(snakemake.params.metric, effect_sizes), snakemake.params.level,
                                 snakemake.params.main,
                                 labels=snakemake.params.labels, dependence=snakemake.params.dependence)
save_figure(figure, [snakemake.output.pdf, snakemake.output.png], figure_note(effect_sizes), snakemake.params.dpi)
