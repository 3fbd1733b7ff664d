"""Rule forest_plot: forest plot of one family with the main method's pooled row."""
from alliance_meta.io import read_table, setup_logging
from alliance_meta.plots.forest import ForestOptions, save_forest_plot
from alliance_meta.plots.provenance import figure_note

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "forest_plot")
data = read_table(snakemake.input.data)
pooled = read_table(snakemake.input.pooled)
rows = pooled[pooled["method"] == snakemake.params.main_method]
if len(rows) == 0 and len(pooled):
    logger.warning("main method %s not in pooled.csv; using %s", snakemake.params.main_method, pooled["method"].iloc[0])
    rows = pooled
row = rows.iloc[0].to_dict() if len(rows) else {}
logger.info("forest plot: k = %d, %s (%s test)", len(data), row.get("method"), row.get("test"))
options = ForestOptions.from_config(getattr(snakemake.params, "plots", None))
save_forest_plot(data, row, snakemake.params.metric, list(snakemake.output), level=snakemake.params.level,
                 options=options, data_note=figure_note(data))
