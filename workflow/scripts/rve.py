"""Rule rve: robust variance estimation of one family's effect sizes (alliance_meta.analyses.rve).

rve.csv: the overall effect under robumeta's correlated (rho = aggregate_rho) and hierarchical
weights, small-sample corrected, and a `cr2` row: the aggregated model (one composite per
study, pooling.main_method) with its CR2 standard error and Satterthwaite df (clubSandwich).
rve_sensitivity.csv: the correlated-effects fit at rho = 0, .2, ..., 1 (robumeta's sensitivity()).
"""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import pandas as pd

from alliance_meta.analyses import rve
from alliance_meta.engines.transforms import back_transform
from alliance_meta.inputs.dependence import aggregate
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.models.univariate import fit

snakemake = globals()["snakemake"]
family = snakemake.wildcards.family
params = snakemake.params
logger = setup_logging(snakemake.log[0], f"rve_{family}")
rows = read_table(snakemake.input[0])
rows = rows.loc[rows["yi"].notna() & rows["vi"].notna()] if len(rows) else rows
rho = float(params.rho)
if not 0 <= rho <= 1:
    logger.warning("aggregate_rho = %s is outside [0, 1], robumeta's range for rho: 0 used for the "
                   "correlated-effects weights", rho)
    rho = min(max(rho, 0.0), 1.0)


def with_back_transform(frame: pd.DataFrame) -> pd.DataFrame:
    for name in ("estimate", "ci_lower", "ci_upper"):
        for prefix, values in back_transform(frame[name].to_numpy(float), params.metric).items():
            frame[prefix if name == "estimate" else f"{prefix}_{name}"] = values
    return frame


n_studies = rows["study_id"].nunique() if len(rows) else 0
if n_studies < 2:
    logger.warning("family %s: %d studies, robust variance estimation needs at least 2", family, n_studies)
    table = pd.DataFrame(columns=list(rve.RVE_COLUMNS))
    sensitivity = pd.DataFrame(columns=["rho", "term", "estimate", "se", "df", "tau2"])
else:
    table = rve.rve_table(rows, rho=rho, level=params.level)
    composites = aggregate(rows, method=params.aggregate_method, rho=float(params.rho))
    model = fit(composites["yi"], composites["vi"], params.main_method, "z", params.level)
    table = pd.concat([table, rve.cr2_frame(composites["yi"], composites["vi"], model.tau2, params.level,
                                            params.main_method)], ignore_index=True)
    ids = rows["study_id"].astype(str).to_numpy()
    sensitivity = rve.sensitivity(rows["yi"].to_numpy(float), rows["vi"].to_numpy(float), ids, level=params.level)
    logger.info("family %s: %d effect sizes in %d studies\n%s", family, len(rows), n_studies,
                table[["model", "estimate", "se", "df", "pval", "tau2", "omega2"]].to_string(index=False))
    if (table["df"] < 4).any():
        logger.warning("small-sample df below 4 in %s: Tipton (2015) advises not to trust these p values",
                       ", ".join(table.loc[table["df"] < 4, "model"]))
write_table(with_back_transform(table), snakemake.output.table)
write_table(sensitivity, snakemake.output.sensitivity)
