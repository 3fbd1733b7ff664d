"""Rule publication_bias: bias.csv (alliance_meta.publication_bias) and the contour-enhanced funnel plot."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import alliance_meta as am
from alliance_meta.analyses.bias import bias_frame
from alliance_meta.io import log_number, read_table, setup_logging, write_table
from alliance_meta.plots.funnel import funnel_plot
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.style import save_figure

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "publication_bias")
options, output = snakemake.params.bias, snakemake.output
rows = read_table(snakemake.input[0])
if len(rows):
    result = am.publication_bias(
        am.fit(rows, **snakemake.params.fit), trimfill_estimator=options["trimfill_estimator"],
        trimfill_side=None if options["trimfill_side"] == "auto" else options["trimfill_side"],
        selection_steps=options["selection_steps"], pet_peese_alpha=options["pet_peese_alpha"],
        pet_peese_sided=options["pet_peese_sided"], fail_safe_alpha=options["fail_safe_alpha"])
    table, figure, studies = result.table, result.funnel(note=""), result.studies
    for note in result.notes:
        logger.info("%s", note)
else:
    logger.warning("no studies in this family: empty bias table and funnel plot")
    table, studies = bias_frame([], snakemake.params.fit["metric"]), rows
    figure = funnel_plot(rows["yi"].to_numpy(float), rows["vi"].to_numpy(float), snakemake.params.fit["metric"], None)
for row in table.itertuples():
    logger.info("%s: statistic = %s, p = %s, estimate = %s %s", row.test, log_number(row.statistic),
                log_number(row.p), log_number(row.estimate), row.note)
write_table(table, output.table)
save_figure(figure, [output.pdf, output.png, output.svg], figure_note(studies))
