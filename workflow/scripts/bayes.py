"""Rule bayes: MCMC pooling, study estimates and meta-regressions, each checked against
the exact posterior (alliance_meta.bayes.analysis.run_stage); fails on disagreement.
The meta-regressions use the moderators rule's rows (effect sizes aggregated within
study x moderator level) and coding (reference levels, centring)."""
import numpy as np

from alliance_meta.bayes.analysis import ModeratorOptions, run_stage
from alliance_meta.io import read_table, setup_logging, write_table

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0], "alliance_meta")
params = snakemake.params
data = read_table(snakemake.input.data)
effect_sizes = read_table(snakemake.input.effect_sizes)
options = ModeratorOptions(continuous=tuple(params.continuous), aggregate_method=params.aggregate_method,
                           rho=params.rho, reference_levels=dict(params.reference_levels), centre=params.centre)
result = run_stage(data, params.metric, params.bayes, params.moderators, snakemake.threads,
                   effect_sizes=effect_sizes, options=options)
write_table(result.table, snakemake.output.table)
write_table(result.studies, snakemake.output.studies)
write_table(result.moderators, snakemake.output.moderators)
keep = ("mu", "tau", "theta_new")
np.savez_compressed(snakemake.output.draws, **{name: result.draws[name] for name in keep if name in result.draws})
