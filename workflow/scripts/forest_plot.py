"""Rule forest_plot: forest plot of one family with the main method's pooled row."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from alliance_meta.engines.transforms import family_metric
from alliance_meta.io import read_table, setup_logging
from alliance_meta.models.fits import main_row
from alliance_meta.plots.forest import ForestOptions, save_forest_plot
from alliance_meta.plots.provenance import figure_note

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "forest_plot")
data = read_table(snakemake.input.data)
row = main_row(read_table(snakemake.input.pooled), snakemake.params.main_method,
               getattr(snakemake.params, "tests", None))  # the first of pooling.tests that the table has
logger.info("forest plot: k = %d, %s (%s test)", len(data), row.get("method"), row.get("test"))
options = ForestOptions.from_config(getattr(snakemake.params, "plots", None),
                                    getattr(snakemake.params, "risk_of_bias", None))
metric = family_metric(snakemake.params.metric, read_table(snakemake.input.effects))
save_forest_plot(data, row, metric, list(snakemake.output), level=snakemake.params.level, options=options,
                 data_note=figure_note(data), logger=logger)  # logs a width beyond plots.width
