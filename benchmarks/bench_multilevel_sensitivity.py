"""Leave-one-study-out (with Cook's distance and DFBETAS) and cumulative three-level fits:
warm-started refits vs refits from metafor's default start.

Simulated data (seeded, as bench_multilevel.py): a demo-sized set (100 studies x 4 effect
sizes) and 1,000 studies x 5 effect sizes (three-level model, sigma2_between = 0.04,
sigma2_within = 0.02), REML, rho = 0.5. Run:
``.venv/bin/python benchmarks/bench_multilevel_sensitivity.py``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from alliance_meta.analyses.sensitivity import multilevel as mls
def simulate(n_studies: int, per_study: int, seed: int = 20240601) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    study = np.repeat(np.arange(n_studies), per_study)
    vi = rng.uniform(0.005, 0.05, study.size)
    yi = (0.25 + rng.normal(0, 0.2, n_studies)[study] + rng.normal(0, np.sqrt(0.02), study.size)
          + rng.normal(0, np.sqrt(vi)))
    return pd.DataFrame({"study_id": [f"S{j:04d}" for j in study], "yi": yi, "vi": vi,
                         "year": 1980 + study % 40})


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def main():
    for n_studies, per_study in ((100, 4), (1000, 5)):
        data = simulate(n_studies, per_study)
        arrays = (data["yi"], data["vi"], data["study_id"])
        warm, t_loo = timed(mls.leave_one_study_out, *arrays, rho=0.5)
        cumulative, t_cum = timed(mls.cumulative, *arrays, data["year"], rho=0.5)
        original = mls._warm_start
        mls._warm_start = lambda sigma2: None  # metafor's default start for every refit
        try:
            cold, t_cold = timed(mls.leave_one_study_out, *arrays, rho=0.5)
        finally:
            mls._warm_start = original
        difference = np.max(np.abs(warm.deletions["estimate"] - cold.deletions["estimate"]))
        print(f"{n_studies} studies x {per_study}: leave-one-study-out {t_loo:.2f} s warm-started "
              f"({t_cold:.2f} s from the default start; max |difference| {difference:.1e}), "
              f"cumulative {t_cum:.2f} s; all converged: "
              f"{bool(warm.deletions['converged'].all() and cumulative['converged'].all())}")


if __name__ == "__main__":
    main()
