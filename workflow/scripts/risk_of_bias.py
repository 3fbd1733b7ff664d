"""Rule risk_of_bias: traffic-light and summary plots (robvis style) of one family's studies (rule
risk_of_bias_sensitivity refits the main model without high-risk studies)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import alliance_meta as am
from alliance_meta.analyses.risk_of_bias import high_risk_sentence, study_weights
from alliance_meta.inputs.risk_of_bias import study_judgements, tool_from_config
from alliance_meta.io import read_table, setup_logging
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.risk_of_bias import save_rob_figures, summary_plot, traffic_light

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], f"risk_of_bias_{snakemake.wildcards.family}")
output, params = snakemake.output, snakemake.params
rows = read_table(snakemake.input[0])
tool = tool_from_config(params.risk_of_bias)
judgements = study_judgements(rows, tool)
note = figure_note(rows)
weights = None
if params.risk_of_bias.get("weighted"):
    fit = am.fit(rows, **params.fit)
    weights = study_weights(fit).reindex(judgements["study_id"].astype(str)).fillna(0).to_numpy()
    logger.info("summary bars weighted by the main model's study weights (%s)", fit.method)
logger.info("%s", high_risk_sentence(judgements, tool))
save_rob_figures(lambda paged: traffic_light(judgements, tool, rows_per_page=params.rows_per_page if paged else None,
                                             note=note),
                 [output.traffic_pdf, output.traffic_png, output.traffic_svg], logger)
save_rob_figures(lambda paged: [summary_plot(judgements, tool, weights, note=note)],
                 [output.summary_pdf, output.summary_png, output.summary_svg])
