"""Rule bayes_prior_sensitivity: pooled effect and tau under several tau priors, by the
exact quadrature (alliance_meta.bayes.analysis.prior_sensitivity), table and plot."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

from alliance_meta.bayes import plots
from alliance_meta.bayes.analysis import BayesConfig, prior_sensitivity
from alliance_meta.engines.transforms import family_metric
from alliance_meta.inputs.dependence import studies_of
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.plots.provenance import figure_note

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "alliance_meta")
effects = read_table(snakemake.input[0])
data = studies_of(effects, snakemake.params.fit)
metric = family_metric(snakemake.params.metric, effects)
config = BayesConfig.from_config(snakemake.params.bayes, metric)
if len(data) == 0:
    logger.info("no studies in this family (k = 0): empty table and an empty plot")
    import pandas as pd

    table, posteriors = pd.DataFrame(columns=["prior", "k"]), {}
else:
    table, posteriors = prior_sensitivity(data, metric, config)
write_table(table, snakemake.output.table)
figure = plots.sensitivity_figure(posteriors, metric, plots.sensitivity_title(snakemake.wildcards.family))
plots.save(figure, snakemake.output.pdf, snakemake.output.png, note=figure_note(data))
