"""Rule gosh: the GOSH plot of one family (am.gosh: alliance_meta.analyses.gosh.gosh_analysis).

The family's aggregated model (pooling.main_method) is fitted to every subset of the study
composites when 2^k - 1 <= gosh.subsets, otherwise to gosh.subsets random subsets (gosh.seed).
Highlighted: the studies flagged by metafor's influence rules (at most three, those moving the
GOSH estimates most), or, when none is flagged, the study that moves them most.
gosh_studies.csv: per study, the mean estimate and I^2 of the subsets with and without it.
"""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import alliance_meta as am
from alliance_meta.analyses.gosh import too_few_studies
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.style import save_figure

snakemake = globals()["snakemake"]
params, output = snakemake.params, snakemake.output
logger = setup_logging(snakemake.log[0], f"gosh_{snakemake.wildcards.family}")
rows = read_table(snakemake.input[0])
result = (am.gosh(am.fit(rows, **params.fit), subsets=params.subsets, seed=params.seed) if len(rows)
          else too_few_studies(rows))
for message in result.messages():
    (logger.warning if result.result is None else logger.info)("%s", message)
write_table(result.to_frame(), output.studies)
save_figure(result.plot(params.labels, note=""), [output.pdf, output.png], figure_note(rows))
