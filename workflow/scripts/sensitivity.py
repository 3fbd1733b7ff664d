"""Rule sensitivity: leave-one-out, influence diagnostics, cumulative meta-analysis by year
(alliance_meta.analyses.sensitivity.univariate; under dependence = multilevel by study, alliance_meta.analyses.sensitivity.multilevel)
and their figures."""
from alliance_meta.analyses.sensitivity.univariate import sensitivity_tables
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.plots.influence import (baujat_plot, cumulative_forest, influence_plot, message_figure,
                                           multilevel_influence_plot)
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.subgroups import save_figure

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "sensitivity")
params, output = snakemake.params, snakemake.output
data = read_table(snakemake.input[0])
multilevel = params.dependence == "multilevel"
if multilevel:  # whole studies deleted and added; the three-level model refitted each time
    from alliance_meta.analyses.sensitivity.multilevel import sensitivity_tables as multilevel_tables

    method = params.multilevel["method"]
    logger.info("dependence = multilevel: three-level %s refits (rho = %s), one study (all its effect sizes) "
                "deleted or added at a time; influence.csv has Cook's distance and DFBETAS by study "
                "(metafor's cooks.distance/dfbetas.rma.mv, cluster = study)", method, params.rho)
    leave_one_out, influence, cumulative, result = multilevel_tables(data, method, params.metric, params.level,
                                                                     float(params.rho))
    n_units = data["study_id"].nunique() if len(data) else 0
else:
    leave_one_out, influence, cumulative, result = sensitivity_tables(data, params.main_method, params.metric,
                                                                     params.level)
    n_units = len(data)
write_table(leave_one_out, output.leave_one_out)
write_table(influence, output.influence)
write_table(cumulative, output.cumulative)
figures = {"baujat": None, "influence": None, "cumulative": None}
if result is None:
    logger.warning("%d studies: sensitivity analyses need at least 3", n_units)
    figures = {name: message_figure(f"{n_units} studies: too few for sensitivity analyses") for name in figures}
else:
    labels = (data["label"].fillna(data["study_id"]) if "label" in data else data["study_id"]).to_numpy(str)
    flagged = influence["study_id"].astype(str)[influence["influential"]] if multilevel else labels[result.influential]
    logger.info("influential (metafor's rules): %s", ", ".join(flagged) or "none")
    if multilevel:
        for row in leave_one_out[~leave_one_out["converged"].astype(bool)].itertuples():
            logger.warning("leave-one-out without %s did not converge: %s", row.study_id, row.note)
        figures = {"baujat": message_figure("Baujat plot: not defined for the three-level model\n"
                                            "(metafor's baujat refuses rma.mv); see influence.csv"),
                   "influence": multilevel_influence_plot(result),
                   "cumulative": cumulative_forest(cumulative, data["study_id"].to_numpy(str), params.metric,
                                                   params.level)}
    else:
        figures = {"baujat": baujat_plot(result, labels), "influence": influence_plot(result),
                   "cumulative": cumulative_forest(cumulative, labels, params.metric, params.level)}
for name, figure in figures.items():
    save_figure(figure, [output[f"{name}_pdf"], output[f"{name}_png"]], figure_note(data))
