"""Rule multiverse_batch: fit one slice of the specifications (alliance_meta.analyses.multiverse.run_batch)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import time

from alliance_meta.analyses import multiverse
from alliance_meta.io import read_table, setup_logging, write_table

snakemake = globals()["snakemake"]
params, batch = snakemake.params, int(snakemake.wildcards.batch)
logger = setup_logging(snakemake.log[0], f"multiverse_batch_{snakemake.wildcards.family}_{batch}")
specifications = multiverse.read_specifications(snakemake.input.specifications)
rows = multiverse.batch_slice(len(specifications), params.batch_size, batch)
if len(specifications):
    logger.info("batch %d: specifications %d to %d of %d", batch, rows.start + 1, rows.stop, len(specifications))
else:
    logger.info("batch %d: no specification to fit (logs/multiverse_specifications_%s.log says why)", batch,
                snakemake.wildcards.family)
started = time.perf_counter()


def progress(done: int, total: int) -> None:
    logger.info("%d of %d specifications fitted (%.1f s)", done, total, time.perf_counter() - started)


table = multiverse.run_batch(specifications.iloc[rows], read_table(snakemake.input.effect_sizes), params.metric,
                             params.level, getattr(params, "mu_sd", 1.0), params.outlier_threshold, params.detection_method,
                             progress, snakemake.config["multiverse"]["progress_every"], params.psychometric,
                             knha_adhoc=getattr(params, "knha_adhoc", False),
                             rob_tool=getattr(params, "risk_of_bias_tool", None))
write_table(table, snakemake.output[0])
