"""Rule bayes: MCMC pooling, study estimates and meta-regressions, each checked against
the exact posterior (alliance_meta.bayes.analysis.run_stage); fails on disagreement."""
import numpy as np

from alliance_meta.bayes.analysis import run_stage
from alliance_meta.io import read_table, setup_logging, write_table

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0], "alliance_meta")
data = read_table(snakemake.input[0])
result = run_stage(data, snakemake.params.metric, snakemake.params.bayes, snakemake.params.moderators, snakemake.threads)
write_table(result.table, snakemake.output.table)
write_table(result.studies, snakemake.output.studies)
write_table(result.moderators, snakemake.output.moderators)
keep = ("mu", "tau", "theta_new")
np.savez_compressed(snakemake.output.draws, **{name: result.draws[name] for name in keep if name in result.draws})
