"""Rule bayes: MCMC pooling, study estimates and meta-regressions of the family's studies, each checked
against the exact posterior (alliance_meta.bayes); fails on disagreement. The meta-regressions use the
moderators rule's rows (effect sizes aggregated within study x level) and coding."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals(), stack="bayes")  # runs the job in a process with PyMC imported (docs/performance.md)

import json
from pathlib import Path

import numpy as np

import alliance_meta as am
from alliance_meta.bayes.analysis import run_stage, sampler_record
from alliance_meta.inputs.planning import family_reference_levels
from alliance_meta.io import read_table, setup_logging, write_table

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "alliance_meta")
params = snakemake.params
effect_sizes = read_table(snakemake.input.effect_sizes)
reference_levels, notes = family_reference_levels(effect_sizes, params.reference_levels)
for note in notes:
    logger.info("%s", note)
options = dict(moderators=params.moderators, continuous=params.continuous,
               reference_levels=reference_levels, centre=params.centre, cores=snakemake.threads)
if len(effect_sizes):
    result = am.bayes(am.fit(effect_sizes, **params.fit), params.bayes, **options)
else:  # headers only
    result = run_stage(effect_sizes, params.fit["metric"], params.bayes, (), effect_sizes=effect_sizes)
write_table(result.table, snakemake.output.table)
write_table(result.studies, snakemake.output.studies)
write_table(result.moderators, snakemake.output.moderators)
Path(snakemake.output.sampler).write_text(json.dumps(sampler_record(result)), encoding="utf-8")  # the report's Methods
keep = ("mu", "tau", "theta_new")
np.savez_compressed(snakemake.output.draws, **{name: result.draws[name] for name in keep if name in result.draws})
