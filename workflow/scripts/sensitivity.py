"""Rule sensitivity: leave-one-out, influence diagnostics, cumulative meta-analysis by year
(alliance_meta.influence) and their figures."""
from alliance_meta.influence import sensitivity_tables
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.plots.influence import baujat_plot, cumulative_forest, influence_plot, message_figure
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.subgroups import save_figure

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "sensitivity")
params, output = snakemake.params, snakemake.output
data = read_table(snakemake.input[0])
leave_one_out, influence, cumulative, result = sensitivity_tables(data, params.main_method, params.metric,
                                                                 params.level)
write_table(leave_one_out, output.leave_one_out)
write_table(influence, output.influence)
write_table(cumulative, output.cumulative)
figures = {"baujat": None, "influence": None, "cumulative": None}
if result is None:
    logger.warning("k = %d: sensitivity analyses need at least 3 studies", len(data))
    figures = {name: message_figure(f"k = {len(data)}: too few studies") for name in figures}
else:
    labels = (data["label"].fillna(data["study_id"]) if "label" in data else data["study_id"]).to_numpy(str)
    logger.info("influential (metafor's rules): %s", ", ".join(labels[result.influential]) or "none")
    figures = {"baujat": baujat_plot(result, labels), "influence": influence_plot(result),
               "cumulative": cumulative_forest(cumulative, labels, params.metric, params.level)}
for name, figure in figures.items():
    save_figure(figure, [output[f"{name}_pdf"], output[f"{name}_png"]], figure_note(data))
