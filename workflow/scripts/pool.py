"""Rule pool: every configured estimator x test on one family (alliance_meta.models.univariate.pool_all)."""
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.models.univariate import pool_all

snakemake = globals()["snakemake"]
logger = setup_logging(snakemake.log[0], "pool")
options = snakemake.params.pooling
data = read_table(snakemake.input[0])
if len(data) == 0:
    logger.info("no effect sizes in this family (k = 0): writing the header only")
if snakemake.params.dependence == "multilevel":  # three-level models (alliance_meta.analyses.multilevel_tables)
    from alliance_meta.analyses.multilevel_tables import pooled_table

    table, notes = pooled_table(data, options["methods"], options["tests"], rho=float(snakemake.params.rho),
                                level=options["level"], metric=snakemake.params.metric,
                                cluster_robust=snakemake.params.multilevel["robust"],
                                profile=snakemake.params.multilevel["profile"])
    for note in notes:
        logger.info("%s", note)
    for row in table.itertuples():
        if not row.converged:
            logger.warning("%s (%s) did not converge: %s", row.method, row.test, row.note)
    write_table(table, snakemake.output[0])
    raise SystemExit(0)
table = pool_all(data["yi"].to_numpy(float), data["vi"].to_numpy(float), options["methods"], options["tests"],
                 metric=snakemake.params.metric, level=options["level"], adhoc=options["knha_adhoc"])
for row in table.itertuples():
    if not row.converged:
        logger.warning("%s (%s) did not converge: %s", row.method, row.test, row.note)
    else:
        logger.info("%s (%s): k = %d, estimate = %.4f [%.4f, %.4f], tau2 = %.4f", row.method, row.test,
                    row.k, row.estimate, row.ci_lower, row.ci_upper, row.tau2)
write_table(table, snakemake.output[0])
