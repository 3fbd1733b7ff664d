"""Robust Bayesian meta-analysis (RoBMA-PSMA, 36 models): alliance_meta's quadrature
against RoBMA 3.6.1 (JAGS + bridge sampling) on the same data sets, side by side.

RoBMA's times are those recorded by tests/reference/robma.R (``seconds`` in
tests/reference/robma.json, RoBMA's defaults: 3 chains x 5,000 draws per model, one
process); ``--run-robma`` also runs robma.R on each set now (minutes each) and prints the
wall-clock time measured here. The two demo families are timed when
data/processed/{family}/effect_sizes.csv exist (``snakemake data/processed/outcome/effect_sizes.csv
data/processed/dropout/effect_sizes.csv``), with the pipeline's fit options.

    PYTHONPATH=src python benchmarks/bench_bma.py [--run-robma] [--sets molloy6 bcg]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from alliance_meta.bayes.bma import robma

ROOT = Path(__file__).resolve().parents[1]


def time_ours(ref: dict) -> tuple[float, float]:
    y, se = np.asarray(ref["yi"], float), np.asarray(ref["sei"], float)
    metric, scale = ("z", "cohens_d") if ref["scale"] == "cohens_d" else ("log_rr", "analysis")
    start = time.perf_counter()
    result = robma(y, se**2, metric=metric, prior_scale=scale)
    return time.perf_counter() - start, float(result.table["log_marglik_error"].max())


def time_robma(name: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(["Rscript", "tests/reference/robma.R", name, str(Path(tmp) / f"{name}.json")],
                       cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - start


def demo_families() -> None:
    import yaml
    from snakemake.utils import validate

    import alliance_meta as am
    from alliance_meta.bayes.bma import bma
    from alliance_meta.io import read_table
    from alliance_meta.models.fits import fit_options

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    validate(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    total = 0.0
    for family in ("outcome", "dropout"):
        path = ROOT / f"data/processed/{family}/effect_sizes.csv"
        if not path.exists():
            print(f"demo {family}: {path} missing (run the pipeline's prepare step first)")
            continue
        fit = am.fit(read_table(path), **fit_options(config, family))
        options = config["bma"]
        start = time.perf_counter()
        result = bma(fit, prior_scale=options["prior_scale"], priors=options["priors"], bias=options["bias"])
        seconds = time.perf_counter() - start
        total += seconds
        print(f"demo {family:8s} k = {len(result.studies):3d}: {seconds:6.1f} s "
              f"(largest stated log-evidence error {result.table['log_marglik_error'].max():.1e})")
    print(f"demo families together: {total:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-robma", action="store_true", help="also run RoBMA (tests/reference/robma.R) now")
    parser.add_argument("--sets", nargs="*", default=["molloy", "molloy6", "bcg"])
    args = parser.parse_args()
    reference = json.loads((ROOT / "tests/reference/robma.json").read_text())
    for name in args.sets:
        if name not in reference:
            print(f"{name}: not in tests/reference/robma.json")
            continue
        ref = reference[name]
        ours, error = time_ours(ref)
        line = (f"{name:8s} k = {len(ref['yi']):3d}: alliance_meta {ours:6.2f} s (stated error {error:.1e}), "
                f"RoBMA recorded {ref['seconds']:7.1f} s ({ref['seconds'] / ours:6.0f}x)")
        if args.run_robma:
            now = time_robma(name)
            line += f", RoBMA now {now:7.1f} s ({now / ours:6.0f}x)"
        print(line, flush=True)
    demo_families()


if __name__ == "__main__":
    main()
