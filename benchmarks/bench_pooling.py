"""Speed of one REML random-effects fit: alliance_meta vs metafor, PyMARE and statsmodels.

Run: ``.venv/bin/python benchmarks/bench_pooling.py [--quick]``. Simulated data (seeded):
vi ~ U(0.005, 0.05), yi ~ N(0.3, vi + 0.02). What is timed:

* ``alliance_meta fit``: ``fit(yi, vi, "REML", "z", tau2_interval=False)`` -- tau^2 by Fisher
  scoring, estimate, se, z, p, CI, prediction interval, Q, df, p, I^2, H^2.
* ``+ tau2 CI``: the same with the Q-profile interval of tau^2 (and I^2/H^2 intervals).
* ``metafor rma()``: ``rma(yi, vi, method = "REML")`` timed inside R over repeated fits
  (R start-up and data loading excluded); k = 300 and 3,000 only.
* ``PyMARE``: ``VarianceBasedLikelihoodEstimator("REML").fit_dataset`` (k <= 3,000).
* ``statsmodels``: ``combine_effects(method_re="iterated")`` (Paule-Mandel; statsmodels
  has no REML), for reference.
Times are the median of repeated runs (wall clock, seconds per fit). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from alliance_meta.models.univariate import fit

SIZES = (300, 3_000, 1_000_000)


def simulate(k: int, seed: int = 20240601) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + k)
    vi = rng.uniform(0.005, 0.05, k)
    return rng.normal(0.3, np.sqrt(vi + 0.02)), vi


def median_time(function, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_metafor(yi: np.ndarray, vi: np.ndarray, repeats: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data.csv"
        np.savetxt(data, np.column_stack([yi, vi]), delimiter=",", header="yi,vi", comments="", fmt="%.17g")
        script = (
            "suppressPackageStartupMessages(library(metafor));"
            f"d <- read.csv('{data}'); invisible(rma(d$yi, d$vi, method = 'REML'));"
            f"t <- system.time(for (i in seq_len({repeats})) rma(d$yi, d$vi, method = 'REML'))[['elapsed']];"
            f"cat(t / {repeats})"
        )
        output = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=False)
        try:
            return float(output.stdout.strip().split()[-1])
        except (ValueError, IndexError):
            print(f"metafor failed: {output.stderr.strip()[:200]}", file=sys.stderr)
            return None


def time_pymare(yi: np.ndarray, vi: np.ndarray, repeats: int) -> float | None:
    try:
        import pymare
        from pymare.estimators import VarianceBasedLikelihoodEstimator
    except ImportError:
        return None
    return median_time(lambda: VarianceBasedLikelihoodEstimator(method="REML").fit_dataset(
        pymare.Dataset(y=yi, v=vi)), repeats)


def time_statsmodels(yi: np.ndarray, vi: np.ndarray, repeats: int) -> float | None:
    try:
        from statsmodels.stats.meta_analysis import combine_effects
    except ImportError:
        return None
    return median_time(lambda: combine_effects(yi, vi, method_re="iterated"), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no metafor at k = 3,000")
    arguments = parser.parse_args()
    rows = []
    for k in SIZES:
        yi, vi = simulate(k)
        small = k <= 3_000
        repeats = (20 if arguments.quick else 200) if small else (3 if arguments.quick else 7)
        ours = median_time(lambda: fit(yi, vi, "REML", "z", tau2_interval=False), repeats)
        with_interval = median_time(lambda: fit(yi, vi, "REML", "z"), repeats)
        result = fit(yi, vi, "REML", "z")
        metafor_repeats = {300: 20, 3_000: 1}.get(k, 0)
        metafor = time_metafor(yi, vi, metafor_repeats) if metafor_repeats and not (
            arguments.quick and k > 300) else None
        pymare_time = time_pymare(yi, vi, 5 if k == 3_000 else 20) if small else None
        statsmodels_time = time_statsmodels(yi, vi, repeats)
        rows.append((k, ours, with_interval, metafor, pymare_time, statsmodels_time, result))

    def show(value: float | None) -> str:
        return "-" if value is None else f"{value * 1e3:10.3f}"

    def ratio(other: float | None, ours: float) -> str:
        return "-" if other is None else f"{other / ours:8.0f}x"

    print(f"{'k':>9} | {'ours ms':>10} | {'+tau2 CI ms':>11} | {'metafor ms':>10} | {'PyMARE ms':>10} | "
          f"{'statsm. ms':>10} | {'metafor/ours':>12} | {'PyMARE/ours':>11} | {'statsm./ours':>12}")
    for k, ours, with_interval, metafor, pymare_time, statsmodels_time, _ in rows:
        print(f"{k:>9} | {show(ours)} | {show(with_interval):>11} | {show(metafor)} | {show(pymare_time)} | "
              f"{show(statsmodels_time)} | {ratio(metafor, ours):>12} | {ratio(pymare_time, ours):>11} | "
              f"{ratio(statsmodels_time, ours):>12}")
    for k, *_, result in rows:
        print(f"k = {k}: REML tau2 = {result.tau2:.6f} [{result.tau2_ci_lower:.6f}, {result.tau2_ci_upper:.6f}], "
              f"estimate = {result.estimate:.6f}, Fisher scoring iterations = {result.iterations}")


if __name__ == "__main__":
    main()
