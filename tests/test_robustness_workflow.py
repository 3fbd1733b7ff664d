"""Rules rve and gosh (workflow/rules/robustness.smk) on a tiny sheet in a reviewer's folder."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance_meta.analyses import rve
from alliance_meta.inputs.dependence import aggregate

from test_workflow import review_folder, snakemake  # noqa: F401  (fixture)


def test_rve_and_gosh_outputs(review_folder):  # noqa: F811
    targets = [f"results/{family}/{name}" for family in ("outcome", "dropout")
               for name in ("rve.csv", "rve_sensitivity.csv", "gosh.png", "gosh.pdf", "gosh_studies.csv")]
    snakemake(review_folder, *targets)
    rows = pd.read_csv(review_folder / "data" / "processed" / "outcome" / "effect_sizes.csv")
    table = pd.read_csv(review_folder / "results" / "outcome" / "rve.csv")
    assert list(table["model"]) == ["corr", "hier", "cr2"]
    assert {"estimate", "se", "df", "ci_lower", "ci_upper", "pval", "tau2", "omega2", "r"} <= set(table.columns)
    corr = rve.robu(rows["yi"], rows["vi"], rows["study_id"].astype(str), modelweights="CORR", rho=0.5)
    assert table.loc[0, "estimate"] == corr.beta[0] and table.loc[0, "df"] == corr.df[0]
    assert table.loc[0, "rho"] == 0.5  # aggregate_rho
    sensitivity = pd.read_csv(review_folder / "results" / "outcome" / "rve_sensitivity.csv")
    assert np.allclose(sensitivity["rho"], [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    studies = pd.read_csv(review_folder / "results" / "outcome" / "gosh_studies.csv")
    composites = aggregate(rows, method="gls", rho=0.5)
    assert list(studies["study_id"].astype(str)) == list(composites["study_id"].astype(str))
    assert (studies["n_with"] == 2 ** (len(composites) - 1)).all()  # every subset enumerated
    for family in ("outcome", "dropout"):
        assert (review_folder / "results" / family / "gosh.png").stat().st_size > 5_000
