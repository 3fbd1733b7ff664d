"""Rule gosh: the GOSH plot of one family (alliance_meta.analyses.gosh, alliance_meta.plots.gosh).

The model (pooling.main_method) is fitted to every subset of the study composites when
2^k - 1 <= gosh.subsets, otherwise to gosh.subsets random subsets (gosh.seed). Highlighted:
the studies flagged by metafor's influence rules (at most three, those moving the GOSH
estimates most), or, when none is flagged, the study that moves them most.
gosh_studies.csv: per study, the mean estimate and I^2 of the subsets with and without it.
"""
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals())  # runs the job in a process with the imports done (docs/performance.md)

import numpy as np

from alliance_meta.analyses.gosh import gosh
from alliance_meta.analyses.sensitivity.univariate import influence
from alliance_meta.inputs.dependence import aggregate
from alliance_meta.io import read_table, setup_logging, write_table
from alliance_meta.plots.forest_options import study_labels
from alliance_meta.plots.gosh import gosh_plot
from alliance_meta.plots.style import message_figure
from alliance_meta.plots.provenance import figure_note
from alliance_meta.plots.style import save_figure

snakemake = globals()["snakemake"]
family = snakemake.wildcards.family
params, output = snakemake.params, snakemake.output
logger = setup_logging(snakemake.log[0], f"gosh_{family}")
rows = read_table(snakemake.input[0])
rows = rows.loc[rows["yi"].notna() & rows["vi"].notna()] if len(rows) else rows
studies = aggregate(rows, method=params.aggregate_method, rho=float(params.rho)) if len(rows) else rows
k = len(studies)
if k < 3:
    logger.warning("family %s: %d studies, GOSH needs at least 3", family, k)
    figure = message_figure(f"{k} studies: too few for a GOSH plot")
    write_table(studies.head(0)[["study_id"]] if len(studies.columns) else studies, output.studies)
else:
    yi, vi = studies["yi"].to_numpy(float), studies["vi"].to_numpy(float)
    result = gosh(yi, vi, params.main_method, subsets=params.subsets, seed=params.seed,
                  study_id=studies["study_id"].astype(str).to_numpy())
    logger.info("family %s: %s on %s subsets of %d studies (%d fitted)\n%s", family, params.main_method,
                "all" if result.exact else f"{result.n_subsets} random (seed {params.seed})", k,
                int(result.fitted.sum()), result.summary().to_string())
    shift = result.study_shift()
    write_table(shift, output.studies)
    flagged = np.flatnonzero(influence(yi, vi, params.main_method).influential)
    order = np.argsort(-np.abs(shift["estimate_shift"].to_numpy()))
    if flagged.size:
        highlight = [i for i in order if i in set(flagged)][:3]
        logger.info("highlighted (influential by metafor's rules): %s", ", ".join(studies["study_id"].iloc[highlight]))
    else:
        highlight = list(order[:1])
        logger.info("no influential study by metafor's rules; highlighted the study moving the GOSH "
                    "estimates most: %s", studies["study_id"].iloc[highlight[0]])
    labels = study_labels(studies, params.labels, escape=False)  # as in the forest plot
    figure = gosh_plot(result, highlight, labels, params.metric)
save_figure(figure, [output.pdf, output.png], figure_note(rows))
