"""Rule bma: bma.csv, bma_summary.csv and the figure (alliance_meta.bayes.bma)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import alliance_meta as am
from alliance_meta.bayes.bma import bma
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.style import save_figure

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "bma")
output, options = snakemake.output, snakemake.params.bma
result = bma(am.fit(read_table(snakemake.input[0]), **snakemake.params.fit),
             prior_scale=options["prior_scale"], priors=options["priors"], bias=options["bias"],
             prob=snakemake.params.prob)
for row in result.table.itertuples():
    logger.info("effect=%d heterogeneity=%d bias=%s: log ML = %.6f (quadrature error %.2g, %s), posterior %.4g",
                row.effect, row.heterogeneity, row.bias, row.log_marglik, row.log_marglik_error, row.method,
                row.posterior_prob)
write_table(result.table, output.table)
write_table(result.summary, output.summary)
save_figure(result.plot(note=""), [output.pdf, output.png], figure_note(result.studies))
