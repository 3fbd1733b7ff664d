"""Rule bayes_plots: posterior densities (MCMC, exact, prior) of the pooled effect and tau,
and the forest plot of observed against shrunken study effects (alliance_meta.bayes.plots)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import numpy as np

from alliance_meta.bayes import exact_posterior, plots
from alliance_meta.bayes.analysis import BayesConfig
from alliance_meta.inputs.dependence import studies_of
from alliance_meta.io import read_table, setup_logging
from alliance_meta.plots.forest_options import study_labels
from alliance_meta.plots.provenance import figure_note

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "alliance_meta")
family, metric = snakemake.wildcards.family, snakemake.params.metric
data = studies_of(read_table(snakemake.input.effect_sizes), snakemake.params.fit)
studies, table = read_table(snakemake.input.studies), read_table(snakemake.input.table)
draws = dict(np.load(snakemake.input.draws))
config = BayesConfig.from_config(snakemake.params.bayes, metric)
if len(data) == 0:
    logger.info("no studies in this family (k = 0): empty plots")
    import matplotlib.pyplot as plt

    empty = plt.figure(figsize=(4, 1))
    empty.text(0.5, 0.5, f"{family}: no studies", ha="center")
    post_fig, forest_fig = empty, empty
else:
    names = dict(zip(data["study_id"], study_labels(data, snakemake.params.labels, escape=False)))
    studies = studies.assign(label=studies["study_id"].map(names).fillna(studies["study_id"]))  # as in the forest plot
    post = exact_posterior(data["yi"], data["vi"], config.priors.tau, config.priors.mu_sd)
    post_fig = plots.posterior_figure(draws, post, metric, f"{family}: posterior (histogram MCMC, line exact, dashed prior)")
    forest_fig = plots.forest_figure(studies, table, metric, f"{family}: observed and shrunken study effects")
plots.save(post_fig, snakemake.output.posterior_pdf, snakemake.output.posterior_png, note=figure_note(data))
plots.save(forest_fig, snakemake.output.forest_pdf, snakemake.output.forest_png, note=figure_note(data))
