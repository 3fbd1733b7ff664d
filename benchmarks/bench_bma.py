"""Robust Bayesian model averaging (RoBMA-PSMA, 36 models): alliance_meta's quadrature
against RoBMA 3.6.1 (JAGS + bridge sampling) on the same data sets.

RoBMA's times are those recorded by tests/reference/robma.R (``seconds`` in
tests/reference/robma.json, default settings: 3 chains x 5,000 samples); this script times
alliance_meta.bayes.bma.robma on the same yi, se and prints the ratios, and times the two
demo families when data/processed/{family}/analysis.csv exist (run the pipeline first).

    PYTHONPATH=src python benchmarks/bench_bma.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from alliance_meta.bayes.bma import robma

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    reference = json.loads((ROOT / "tests/reference/robma.json").read_text())
    for name in ("molloy", "molloy6", "bcg"):
        ref = reference[name]
        y, se = np.asarray(ref["yi"], float), np.asarray(ref["sei"], float)
        metric = "z" if ref["scale"] == "cohens_d" else "log_or"
        start = time.perf_counter()
        robma(y, se**2, metric=metric, prior_scale=ref["scale"])
        ours = time.perf_counter() - start
        print(f"{name:8s} k = {len(y):3d}: alliance_meta {ours:6.1f} s, RoBMA {ref['seconds']:7.1f} s, "
              f"ratio {ref['seconds'] / ours:5.1f}x")
    import alliance_meta as am
    from alliance_meta.bayes.bma import bma

    for family in ("outcome", "dropout"):
        path = ROOT / f"data/processed/{family}/analysis.csv"
        if not path.exists():
            continue
        from alliance_meta.io import read_table

        start = time.perf_counter()
        bma(am.fit(read_table(path)))
        print(f"demo {family}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
