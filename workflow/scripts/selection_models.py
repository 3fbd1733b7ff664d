"""Rule selection_models: selection_models.csv (alliance_meta.selection_models) and its two figures."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import alliance_meta as am
from alliance_meta.io import fit_log_line, log_number, read_table, setup_logging, write_table
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.style import save_figure

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "selection_models")
output, options = snakemake.output, snakemake.params.selection
result = am.selection_models(am.fit(read_table(snakemake.input[0]), **snakemake.params.fit),
                             steps=options["steps"], sided=options["sided"])
for note in result.notes:
    logger.info("%s", note)
for row in result.table.itertuples():
    logger.info("%s", fit_log_line(row.type, row.estimate, "estimate = {}, se = {}, tau2 = {}, delta = {}, loglik = {}, "
                                   "LRT p = {}".format(*(log_number(v) for v in (row.estimate, row.se, row.tau2)),
                                                       row.delta, log_number(row.loglik, ".6f"), log_number(row.lrt_p)),
                                   row.note))
write_table(result.table, output.table)
note = figure_note(result.studies)
save_figure(result.estimates_plot(note=""), [output.estimates_pdf, output.estimates_png], note)
save_figure(result.weight_functions_plot(note=""), [output.weights_pdf, output.weights_png], note)
