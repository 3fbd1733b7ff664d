"""Rule bayes_plots: posterior densities (MCMC, exact, prior) of the pooled effect and tau,
and the forest plot of observed against shrunken study effects (alliance_meta.bayes.plots)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import numpy as np

from alliance_meta.bayes import plots
from alliance_meta.bayes.analysis import BayesConfig
from alliance_meta.engines.transforms import family_metric
from alliance_meta.inputs.dependence import studies_of
from alliance_meta.io import read_table, setup_logging
from alliance_meta.plots.provenance import figure_note

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "alliance_meta")
effect_sizes = read_table(snakemake.input.effect_sizes)
family, metric = snakemake.wildcards.family, family_metric(snakemake.params.metric, effect_sizes)
data = studies_of(effect_sizes, snakemake.params.fit)
if len(data) == 0:
    logger.info("no studies in this family (k = 0): empty plots")
settings = BayesConfig.from_config(snakemake.params.bayes, metric)
post_fig, forest_fig = plots.family_figures(
    data, read_table(snakemake.input.studies), read_table(snakemake.input.table), dict(np.load(snakemake.input.draws)),
    metric, settings.priors, family, snakemake.params.labels, settings.hdi_prob, snakemake.params.level)
plots.save(post_fig, snakemake.output.posterior_pdf, snakemake.output.posterior_png, note=figure_note(data),
           dpi=snakemake.params.dpi)
plots.save(forest_fig, snakemake.output.forest_pdf, snakemake.output.forest_png, note=figure_note(data),
           dpi=snakemake.params.dpi)
