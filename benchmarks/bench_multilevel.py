"""Three-level REML fit and CR2 tests: alliance_meta vs metafor's rma.mv / clubSandwich.

Simulated data (seeded): 1,000 studies x 5 effect sizes (three-level model, sigma2_between
= 0.04, sigma2_within = 0.02). metafor is timed inside R (``system.time``) in the same run
with ``sparse = TRUE`` (its default dense k x k algebra did not finish within 17 minutes at
k = 5,000 on the 2-core machine; ``--dense`` tries it too); the ratio is printed. Then
10,000 studies x 5 effect sizes for alliance_meta alone (a dense 50,000 x 50,000 matrix
would need 20 GB). Run: ``.venv/bin/python benchmarks/bench_multilevel.py [--dense]``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from alliance_meta.models import multilevel

from alliance_meta.engines import robust
R_SCRIPT = r"""
suppressPackageStartupMessages({library(metafor); library(clubSandwich)})
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
sparse <- args[2] == "sparse"
fit_time <- system.time(res <- rma.mv(yi, vi, random = ~ 1 | study / es, data = dat, sparse = sparse))[["elapsed"]]
cr2_time <- NA
if (sparse) cr2_time <- system.time(ct <- coef_test(res, vcov = "CR2", cluster = dat$study))[["elapsed"]]
cat(jsonlite::toJSON(list(fit = fit_time, cr2 = cr2_time, sigma2 = res$sigma2, beta = as.numeric(res$beta)),
                     digits = NA, auto_unbox = TRUE))
"""


def simulate(n_studies: int, per_study: int, seed: int = 20240601) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    study = np.repeat(np.arange(n_studies), per_study)
    n = np.repeat(rng.integers(30, 300, n_studies), per_study)
    vi = 1.0 / (n - 3)
    yi = 0.3 + rng.normal(0, 0.2, n_studies)[study] + rng.normal(0, np.sqrt(0.02), study.size) + rng.normal(0, np.sqrt(vi))
    return pd.DataFrame({"study": study, "es": np.tile(np.arange(per_study), n_studies), "yi": yi, "vi": vi})


def time_python(frame: pd.DataFrame, repeats: int = 3):
    best_fit = best_cr2 = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fit = multilevel.fit(frame.yi, frame.vi, frame.study, profile=False, likelihood_ratio=False)
        middle = time.perf_counter()
        robust.cr2(fit).coef_test()
        end = time.perf_counter()
        best_fit, best_cr2 = min(best_fit, middle - start), min(best_cr2, end - middle)
    return fit, best_fit, best_cr2


def time_r(frame: pd.DataFrame, mode: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        data, script = Path(folder) / "data.csv", Path(folder) / "bench.R"
        frame.to_csv(data, index=False)
        script.write_text(R_SCRIPT)
        output = subprocess.run(["Rscript", str(script), str(data), mode], capture_output=True, text=True, check=True)
    return json.loads(output.stdout)


def main() -> None:
    frame = simulate(1000, 5)
    fit, python_fit, python_cr2 = time_python(frame)
    print(f"k = {len(frame)} effect sizes in 1,000 studies")
    print(f"  alliance_meta REML fit {python_fit:.3f} s, CR2 coef_test {python_cr2:.3f} s; sigma2 = {fit.sigma2}")
    for mode in ("sparse", "dense") if "--dense" in sys.argv else ("sparse",):
        try:
            r = time_r(frame, mode)
        except (subprocess.CalledProcessError, FileNotFoundError) as error:
            print(f"  metafor ({mode}) not run: {error}", file=sys.stderr)
            continue
        print(f"  metafor rma.mv ({mode}) {r['fit']:.3f} s; sigma2 = {r['sigma2']}; "
              f"ratio metafor / alliance_meta = {r['fit'] / python_fit:.1f}")
        if r["cr2"] is not None:
            print(f"  clubSandwich coef_test CR2 {r['cr2']:.3f} s; ratio = {r['cr2'] / python_cr2:.1f}")
    large = simulate(10_000, 5)
    fit, python_fit, python_cr2 = time_python(large, repeats=3)
    print(f"k = {len(large)} effect sizes in 10,000 studies")
    print(f"  alliance_meta REML fit {python_fit:.3f} s, CR2 coef_test {python_cr2:.3f} s; sigma2 = {fit.sigma2}")


if __name__ == "__main__":
    main()
