"""Rule selection_models: selection_models.csv (alliance_meta.analyses.bias.selection_models) and its
two figures (alliance_meta.plots.selection)."""
from alliance_meta.analyses.bias.selection_models import TYPES, selection_models_table
from alliance_meta.inputs.dependence import aggregate
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.models import univariate as pooling
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.selection import selection_estimates_plot, weight_functions_plot
from alliance_meta.plots.subgroups import save_figure

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "selection_models")
params, output = snakemake.params, snakemake.output
options = params.selection
alternative = "two.sided" if options["sided"] == "two" else "greater"
rows = read_table(snakemake.input[0])
data = rows
composites = params.dependence == "multilevel" and len(rows) > 0
if composites:  # one composite per study, as the univariate bias tests
    data = aggregate(rows, params.aggregate_method, params.rho)
    logger.info("multilevel: selection models fitted to %d study composites of %d rows", len(data), len(rows))
yi, vi = data["yi"].to_numpy(float), data["vi"].to_numpy(float)
table = selection_models_table(yi, vi, TYPES, options["steps"], params.level, params.metric, alternative)
if composites:
    table["note"] = [f"{note}; study composites (dependence: multilevel)".lstrip("; ") for note in table["note"]]
for row in table.itertuples():
    logger.info("%s: estimate = %.4g, se = %.4g, tau2 = %.4g, delta = %s, loglik = %.6f, LRT p = %.4g %s",
                row.type, row.estimate, row.se, row.tau2, row.delta, row.loglik, row.lrt_p, row.note)
write_table(table, output.table)

unit = "study composites" if composites else "studies"
if len(data):
    fit = pooling.fit(yi, vi, params.main_method, level=params.level, tau2_interval=False)
    unadjusted = {"estimate": fit.estimate, "ci_lower": fit.ci_lower, "ci_upper": fit.ci_upper,
                  "label": f"Unadjusted, {params.main_method} (k = {len(data)} {unit})"}
else:
    logger.warning("no studies in this family: selection models not fitted")
    unadjusted = {"estimate": float("nan"), "ci_lower": float("nan"), "ci_upper": float("nan"),
                  "label": "Unadjusted (k = 0)"}
note = figure_note(data)
save_figure(selection_estimates_plot(table, unadjusted, params.metric, params.level),
            [output.estimates_pdf, output.estimates_png], note)
save_figure(weight_functions_plot(table, yi, vi, alternative), [output.weights_pdf, output.weights_png], note)
