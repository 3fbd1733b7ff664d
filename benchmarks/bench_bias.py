"""Leave-one-out + influence diagnostics at k = 300 (REML): alliance_meta against metafor.

metafor's leave1out() and influence() are timed inside R (Rscript, when present) on
the same data; the ratios are printed. Also compares the blocked deletion fits with
one deletion at a time (block_size=1) and reports k = 3,000.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from alliance_meta.analyses.sensitivity import univariate as influence
R_SCRIPT = """
suppressPackageStartupMessages(library(metafor))
d <- read.csv("{path}")
fit <- rma(yi, vi, data = d, method = "REML")
t1 <- system.time(l <- leave1out(fit))[["elapsed"]]
t2 <- system.time(i <- influence(fit))[["elapsed"]]
cat(sprintf('{{"leave1out": %.6f, "influence": %.6f, "tau2": %.17g}}', t1, t2, fit$tau2))
"""


def data(k: int, seed: int = 2018):
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 400, k)
    vi = 1.0 / (n - 3)
    yi = rng.normal(0.28, np.sqrt(vi + 0.02))
    return yi, vi


def best_of(function, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    yi, vi = data(300)
    ours = best_of(lambda: influence.influence(yi, vi, "REML"))
    loo_blocked = best_of(lambda: influence.leave_one_out(yi, vi, "REML"))
    loo_single = best_of(lambda: influence.leave_one_out(yi, vi, "REML", block_size=1))
    print(f"k = 300, REML: leave-one-out + influence {ours * 1e3:.1f} ms "
          f"(leave-one-out alone: blocked {loo_blocked * 1e3:.1f} ms, one deletion at a time {loo_single * 1e3:.1f} ms)")
    big_y, big_v = data(3000)
    big = best_of(lambda: influence.influence(big_y, big_v, "REML"), repeats=1)
    print(f"k = 3000, REML: leave-one-out + influence {big:.2f} s "
          f"(block arrays of at most {influence.MAX_BLOCK_ELEMENTS * 8 / 2**20:.0f} MB)")
    if shutil.which("Rscript") is None:
        print("Rscript not found: no comparison with metafor")
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        np.savetxt(path, np.column_stack([yi, vi]), delimiter=",", header="yi,vi", comments="", fmt="%.17g")
        output = subprocess.run(["Rscript", "-e", R_SCRIPT.format(path=path)], capture_output=True, text=True,
                                check=True).stdout
    r = json.loads(output[output.index("{"):])
    total = r["leave1out"] + r["influence"]
    print(f"metafor: leave1out {r['leave1out']:.2f} s + influence {r['influence']:.2f} s = {total:.2f} s")
    print(f"ratio metafor / alliance_meta: {total / ours:.0f}x "
          f"(leave-one-out alone: {r['leave1out'] / loo_blocked:.0f}x)")


if __name__ == "__main__":
    sys.exit(main())
