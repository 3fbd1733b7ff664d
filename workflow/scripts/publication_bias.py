"""Rule publication_bias: bias.csv (alliance_meta.analyses.bias) and the contour-enhanced funnel plot."""
import numpy as np
import pandas as pd

from alliance_meta.models import univariate as pooling
from alliance_meta.analyses.bias import bias_frame, publication_bias
from alliance_meta.inputs.dependence import aggregate
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.plots.funnel import funnel_plot
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.subgroups import save_figure

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "publication_bias")
params, options = snakemake.params, snakemake.params.bias
rows = read_table(snakemake.input[0])
data = rows  # under multilevel the univariate tests see one composite per study, as under aggregate
if params.dependence == "multilevel" and len(rows):
    data = aggregate(rows, params.aggregate_method, params.rho)
    logger.info("multilevel: univariate tests on %d study composites; egger_multilevel on all %d rows",
                len(data), len(rows))
yi, vi = data["yi"].to_numpy(float), data["vi"].to_numpy(float)
filled = None
if len(data):
    table, filled = publication_bias(
        yi, vi, params.main_method, params.metric, params.level, options["trimfill_estimator"],
        None if options["trimfill_side"] == "auto" else options["trimfill_side"], options["selection_steps"],
        options["pet_peese_alpha"], options["pet_peese_sided"], options["fail_safe_alpha"])
else:
    logger.warning("no studies in this family: empty bias table and funnel plot")
    table = bias_frame([], params.metric)
for row in table.itertuples():
    logger.info("%s: statistic = %.4g, p = %.4g, estimate = %.4g %s", row.test, row.statistic, row.p,
                row.estimate, row.note)
if params.dependence == "multilevel" and len(rows):
    from alliance_meta.analyses.multilevel_tables import bias_rows

    table = pd.concat([table, bias_rows(rows, params.metric, rho=params.rho, method=params.multilevel["method"],
                                        level=params.level)], ignore_index=True)
write_table(table, snakemake.output.table)
estimate = pooling.fit(yi, vi, params.main_method, tau2_interval=False).estimate if len(data) else None
figure = funnel_plot(yi, vi, params.metric, estimate,
                     filled.filled_yi if filled else np.empty(0), filled.filled_vi if filled else np.empty(0),
                     filled.fit.estimate if filled else None)
save_figure(figure, [snakemake.output.pdf, snakemake.output.png, snakemake.output.svg], figure_note(data))
