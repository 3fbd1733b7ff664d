"""Permutation test of a meta-regression: alliance_meta against metafor's permutest.

k = 300 simulated Fisher-z effect sizes, model ``modality (4 levels) + year``
(p = 5), 1,000 permutations, REML. Prints our time (best of 3), metafor's time
for the same test in the same run (when Rscript with metafor is installed), the
ratio, and both sets of p-values (random permutations: they agree within Monte
Carlo error, not digit for digit).

Run: .venv/bin/python benchmarks/bench_permutation.py [--k 300] [--iterations 1000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from alliance_meta.models import metareg

from alliance_meta.analyses import permutation
R_SCRIPT = """
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
fit <- rma(yi, vi, mods = ~ relevel(factor(modality), ref = "CBT") + year, data = d, method = "REML")
elapsed <- system.time(perm <- permutest(fit, iter = as.integer(args[2]), progbar = FALSE, seed = 1))[["elapsed"]]
cat(jsonlite::toJSON(list(seconds = elapsed, qm_p = perm$QMp, p = perm$pval, tau2 = fit$tau2),
                     auto_unbox = TRUE, digits = NA))
"""


def simulate(k: int, seed: int = 2018) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 400, k)
    frame = pd.DataFrame({"modality": rng.choice(["CBT", "psychodynamic", "humanistic", "other"], k),
                          "year": rng.integers(1985, 2020, k).astype(float), "vi": 1.0 / (n - 3)})
    effect = 0.27 + 0.05 * (frame.modality == "psychodynamic") - 0.002 * (frame.year - 2000)
    frame["yi"] = effect + rng.normal(0.0, np.sqrt(frame.vi + 0.015))
    return frame


def time_ours(frame: pd.DataFrame, iterations: int, repeats: int = 3):
    fit = metareg.fit_formula(frame, "modality + year", continuous=("year",), reference_levels={"modality": "CBT"})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = permutation.permutation_test(fit, frame.yi, frame.vi, fit.design.matrix, iterations, seed=1)
        times.append(time.perf_counter() - start)
    return min(times), fit, result


def time_metafor(frame: pd.DataFrame, iterations: int):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        data, script = Path(folder) / "data.csv", Path(folder) / "bench.R"
        frame.to_csv(data, index=False)
        script.write_text(R_SCRIPT)
        run = subprocess.run(["Rscript", str(script), str(data), str(iterations)], capture_output=True, text=True)
    if run.returncode != 0:
        print(f"metafor run failed: {run.stderr.strip()[-300:]}")
        return None
    return json.loads(run.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=300)
    parser.add_argument("--iterations", type=int, default=1000)
    arguments = parser.parse_args()
    frame = simulate(arguments.k)
    seconds, fit, result = time_ours(frame, arguments.iterations)
    print(f"permutation test, k = {arguments.k}, p = {fit.p}, {arguments.iterations} permutations, REML")
    print(f"alliance_meta: {seconds:8.3f} s   QM p = {result.qm_p:.3f}   coefficient p = {np.round(result.p, 3)}")
    reference = time_metafor(frame, arguments.iterations)
    if reference is None:
        print("metafor: not run (Rscript with metafor not found)")
        return
    print(f"metafor:       {reference['seconds']:8.3f} s   QM p = {reference['qm_p']:.3f}   "
          f"coefficient p = {np.round(reference['p'], 3)}   (tau2 {reference['tau2']:.6g} vs ours {fit.tau2:.6g})")
    print(f"ratio metafor / alliance_meta: {reference['seconds'] / seconds:.1f}x")


if __name__ == "__main__":
    main()
