"""Speed of the multiverse: 10,000 specifications on a simulated review of k = 300 studies.

Two workloads on the same sheet (300 studies, 1-3 effect sizes each, rater/modality/published/n):
- ``full``: every data set has all 300 studies before the outlier rules (composite gls/mean x
  84 assumed correlations x 3 outlier rules = 504 data sets, each with 9 tau^2 estimators x
  z/knha + 2 priors = 20 models): 10,080 specifications, the worst case for k;
- ``subsets``: the default choices with rater x modality subsets, publication and minimum n.
Each is cut into batches of ``batch_size`` and run on 2 worker processes, as ``snakemake
--cores 2`` runs the multiverse_batch jobs. ``--snakemake`` also times the real workflow
(rule multiverse) in a temporary folder. Progress is printed every 1,000 specifications.

    .venv/bin/python benchmarks/bench_multiverse.py [--snakemake]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from alliance_meta.analyses import multiverse
ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZE = 2000
WORKERS = 2
METHODS = ["common", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"]
PRIORS = [{"family": "half_normal", "scale": 0.5}, "turner2015_mental_health"]
WORKLOADS = {
    "full": {"methods": METHODS, "tests": ["z", "knha"], "priors": PRIORS, "subsets": [],
             "aggregate_methods": ["gls", "mean"], "aggregate_rhos": [round(float(rho), 2) for rho in np.linspace(0.0, 0.83, 84)],
             "publication": ["all"], "minimum_n": [0]},
    "subsets": {"methods": METHODS, "tests": ["z", "knha"], "priors": PRIORS, "subsets": ["rater", "modality"],
                "aggregate_rhos": [0.5, 0.8], "minimum_n": [0, 50]},
}


def simulated_effect_sizes(k: int = 300, seed: int = 20190101) -> pd.DataFrame:
    """k studies around r = .28 (tau = .1 on the z scale), 1-3 correlated effect sizes each."""
    rng = np.random.default_rng(seed)
    rows = []
    for study in range(k):
        n = int(rng.integers(20, 400))
        theta = rng.normal(np.arctanh(0.28), 0.1)
        modality = rng.choice(["CBT", "psychodynamic", "humanistic", "interpersonal", "integrative", "other"])
        published = "yes" if rng.random() < 0.85 else "no"
        for rater in rng.choice(["patient", "therapist", "observer"], size=rng.integers(1, 4), replace=False):
            rows.append({"study_id": f"S{study:03d}", "yi": rng.normal(theta, 1 / np.sqrt(n - 3)), "vi": 1 / (n - 3),
                         "n": n, "rater": rater, "modality": modality, "published": published})
    return pd.DataFrame(rows)


def _run(arguments) -> pd.DataFrame:
    specifications, effect_sizes, batch = arguments
    started = time.perf_counter()

    def progress(done, total):
        print(f"  batch {batch}: {done:,} of {total:,} ({time.perf_counter() - started:.1f} s)", flush=True)

    return multiverse.run_batch(specifications, effect_sizes, "z", progress=progress, progress_every=1000)


def library_run(name: str, effect_sizes: pd.DataFrame) -> None:
    started = time.perf_counter()
    specifications = multiverse.specifications(WORKLOADS[name], effect_sizes)
    enumerated = time.perf_counter() - started
    batches = [(specifications.iloc[multiverse.batch_slice(len(specifications), BATCH_SIZE, b)], effect_sizes, b)
               for b in range(multiverse.batch_count(len(specifications), BATCH_SIZE))]
    with ProcessPoolExecutor(WORKERS) as pool:
        table = pd.concat(pool.map(_run, batches), ignore_index=True)
    elapsed = time.perf_counter() - started
    print(f"{name}: {len(table):,} specifications (k: median {table['k'].median():.0f}, "
          f"range {table['k'].min()}-{table['k'].max()}) in {elapsed:.1f} s on {WORKERS} processes "
          f"({enumerated:.1f} s enumeration; {1000 * elapsed * WORKERS / len(table):.2f} core-ms each)")


def snakemake_run(effect_sizes: pd.DataFrame) -> None:
    """The workflow from the effect sizes on: checkpoint, batch jobs, table, plot (both families off but one)."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        sheet = effect_sizes.rename(columns={"yi": "fisher_z"}).drop(columns="vi")
        sheet["authors"], sheet["year"], sheet["family"] = "Simulated", 2000, "outcome"
        (folder / "data/raw").mkdir(parents=True)
        (folder / "config").mkdir()
        sheet.to_csv(folder / "data/raw/studies.csv", index=False)
        (folder / "config/config.yaml").write_text(yaml.safe_dump({"families": ["outcome"],
                                                                   "multiverse": WORKLOADS["full"]}))
        command = [str(Path(sys.executable).parent / "snakemake"), "--snakefile", str(ROOT / "Snakefile"),
                   "--directory", str(folder), "--cores", str(WORKERS)]
        subprocess.run(command + ["data/processed/outcome/effect_sizes.csv"], check=True, capture_output=True)
        started = time.perf_counter()
        subprocess.run(command + ["multiverse"], check=True, capture_output=True)
        elapsed = time.perf_counter() - started
        print((folder / "logs/multiverse_batch_outcome_0000.log").read_text().strip())
        count = len(pd.read_csv(folder / "results/outcome/multiverse.csv"))
        print(f"snakemake --cores {WORKERS} multiverse: {count:,} specifications in {elapsed:.1f} s "
              "(job start-up, table and plot included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snakemake", action="store_true", help="also time the workflow (rule multiverse)")
    arguments = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    effect_sizes = simulated_effect_sizes()
    print(f"sheet: {effect_sizes['study_id'].nunique()} studies, {len(effect_sizes)} effect sizes")
    for name in WORKLOADS:
        library_run(name, effect_sizes)
    if arguments.snakemake:
        snakemake_run(effect_sizes)


if __name__ == "__main__":
    main()
