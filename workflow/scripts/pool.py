"""Rule pool: every configured estimator x test of one family (alliance_meta.pooled_table)."""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import math

import alliance_meta as am
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.models.fits import pooled_methods

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "pool")
options, fit = snakemake.params.pooling, snakemake.params.fit
table, notes = am.pooled_table(read_table(snakemake.input[0]), pooled_methods(options["methods"], fit["method"]),
                               options["tests"],
                               dependence=fit["dependence"], rho=fit["rho"], aggregate_method=fit["aggregate_method"],
                               level=options["level"], metric=fit["metric"],
                               knha_adhoc=options.get("knha_adhoc", False),  # aggregate only (pooling.smk)
                               cluster_robust=snakemake.params.multilevel.get("robust", True),
                               profile=snakemake.params.multilevel.get("profile", True))
for note in notes:
    logger.info("%s", note)
for row in table.itertuples():
    if math.isnan(row.estimate):  # not fitted (e.g. no information in the tables; MH of separated tables)
        logger.warning("%s (%s) not estimated: %s", row.method, row.test, row.note)
    elif not row.converged:
        logger.warning("%s (%s) did not converge: %s", row.method, row.test, row.note)
    else:
        logger.info("%s (%s): k = %d, estimate = %.4f [%.4f, %.4f], tau2 = %.4f", row.method, row.test,
                    row.k, row.estimate, row.ci_lower, row.ci_upper, row.tau2)
write_table(table, snakemake.output[0])
