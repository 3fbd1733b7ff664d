"""The Bayesian stage at demo size (150 outcome studies, 25 dropout studies).

1. In-process: compile and sampling time of the normal-normal model (k = 150) with
   nutpie and with PyMC's NUTS (4 chains x 1,000 + 1,000), and the exact quadrature.
2. The whole stage through Snakemake (rules bayes, bayes_prior_sensitivity, bayes_plots
   for both families) on 2 cores, from analysis.csv files of simulated studies.
Run: .venv/bin/python benchmarks/bench_bayes.py [--no-backends]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def simulate(k: int, mu: float, tau: float, metric: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 300, k)
    theta = rng.normal(mu, tau, k)
    v = 1 / (n - 3) if metric == "z" else 4 / n + theta**2 / (2 * n)
    return pd.DataFrame({
        "study_id": [f"S{i:03d}" for i in range(k)], "yi": theta + rng.normal(0, np.sqrt(v)), "vi": v, "n": n,
        "k_effect_sizes": 1, "label": [f"Study {i}" for i in range(k)],
        "modality": rng.choice(["CBT", "psychodynamic", "humanistic", "mixed"], k, p=[0.5, 0.25, 0.2, 0.05]),
        "rater": rng.choice(["patient", "therapist", "observer"], k, p=[0.6, 0.25, 0.15]),
    })


def backends(data: pd.DataFrame) -> None:
    from alliance_meta.bayes import Priors, exact_posterior
    from alliance_meta.bayes.mcmc import HierarchicalSampler, SamplerSettings

    priors = Priors()
    start = time.perf_counter()
    for _ in range(10):
        exact_posterior(data["yi"], data["vi"], priors.tau, priors.mu_sd)
    print(f"exact quadrature, k = {len(data)}: {(time.perf_counter() - start) / 10 * 1000:.1f} ms")
    for backend in ("nutpie", "pymc"):
        start = time.perf_counter()
        sampler = HierarchicalSampler(priors, len(data), 1, backend)
        compiled = time.perf_counter()
        sampler.sample(data["yi"], data["vi"], settings=SamplerSettings(cores=2, backend=backend))
        print(f"{backend}: model/compile {compiled - start:.1f} s, sampling {time.perf_counter() - compiled:.1f} s")


def stage() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for family, (k, mu, tau, metric, seed) in {"outcome": (150, 0.28, 0.12, "z", 1), "dropout": (25, 0.5, 0.2, "smd", 2)}.items():
            (root / "data/processed" / family).mkdir(parents=True)
            simulate(k, mu, tau, metric, seed).to_csv(root / "data/processed" / family / "analysis.csv", index=False)
        targets = [f"results/{f}/{name}" for f in ("outcome", "dropout")
                   for name in ("bayes_forest.png", "bayes_prior_sensitivity.png", "bayes_moderators.csv")]
        command = [str(ROOT / ".venv/bin/snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--directory", folder,
                   "--cores", "2", "--quiet", "all", "--", *targets]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            sys.exit(done.stderr[-3000:])
        print(f"whole Bayesian stage, both families, 2 cores (Snakemake): {time.perf_counter() - start:.1f} s")
        for family in ("outcome", "dropout"):
            log = (root / "logs" / f"bayes_{family}.log").read_text().splitlines()
            print(f"  {family}: rule bayes {log[0][:19]} -> {log[-1][:19]}")


if __name__ == "__main__":
    if "--no-backends" not in sys.argv:
        backends(simulate(150, 0.28, 0.12, "z", 1))
    stage()
