"""Rule sensitivity: leave-one-out, influence diagnostics and cumulative meta-analysis by year of the
family's main model (alliance_meta.sensitivity; whole studies for a three-level fit), and their figures."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import alliance_meta as am
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.plots.influence import sensitivity_figures
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.style import message_figure, save_figure

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "sensitivity")
output = snakemake.output
rows = read_table(snakemake.input[0])
if len(rows):
    result = am.sensitivity(am.fit(rows, **snakemake.params.fit))
    tables, figures = (result.leave_one_out, result.influence, result.cumulative), sensitivity_figures(result, snakemake.params.labels)
    for note in result.notes:
        logger.info("%s", note)
    logger.info("influential (metafor's rules): %s", ", ".join(result.influential) or "none")
    for level, message in result.deletion_messages():
        getattr(logger, level)("%s", message)
else:
    logger.warning("no studies in this family: empty tables")
    tables = (rows.iloc[:0][["study_id"]],) * 3
    figures = {name: message_figure("0 studies: too few for sensitivity analyses")
               for name in ("baujat", "influence", "cumulative")}
for table, path in zip(tables, (output.leave_one_out, output.influence, output.cumulative)):
    write_table(table, path)
for name, figure in figures.items():
    save_figure(figure, [output[f"{name}_pdf"], output[f"{name}_png"]], figure_note(rows))
