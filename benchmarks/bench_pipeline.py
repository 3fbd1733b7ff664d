"""The everyday loop, timed: the default pipeline on the (SIMULATED) demo sheet, a rerun after
adding one outcome study, a no-op rerun, a rerun after correcting one moderator code, the pooled
estimate and forest plot alone after adding another study, and pooling alone at k = 3,000 beside a
metafor script.

Run after ``make setup``: ``make benchmark`` or ``.venv/bin/python benchmarks/bench_pipeline.py``
(``--skip-demo`` or ``--skip-pooling`` for one half, ``--metafor-confint``, ``--cores N`` (default 2), ``--config
KEY=VALUE ...`` for the demo runs, ``--empty-compile-cache`` to compile every Bayesian model's shapes as on a new
machine; by default PyTensor's cache, which outlives runs, is used and each run prints how many entries it added). Each review folder
is a fresh temporary copy of ``config/`` and the demo sheet, run with this checkout's Snakefile.

Printed: wall time of each run against its target, the jobs that ran (from Snakemake's output)
and, per rule, the number of jobs and their summed run time from the ``benchmark:`` files
(``logs/benchmarks/*.tsv``) written by that run. Targets (issue "The everyday loop in seconds"):
cold run <= 40 s, rerun after one outcome study <= 20 s with no job of the dropout family,
pooling-only at k = 3,000 at least 1.5x faster than the metafor script, report < 3 MB.
Wall times depend on the machine and its load (the same commit's cold run took 40 s on one day and 72 s on
another); the ratio of the last part is measured in one run. To compare runs made on different days, a machine
check times a fixed workload of the kinds the jobs do (array arithmetic over a large matrix, as GOSH and the
multiverse; a tall figure drawn and written as a 300-dpi PNG, as the plotting jobs) in a fresh process before and
after the demo runs: wall times scale roughly with it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
#: what a reviewer looks at while coding: Snakemake runs only the jobs these need (docs/performance.md)
QUICK_TARGETS = ("results/outcome/pooled.csv", "results/outcome/forest.pdf")


def snakemake(folder: Path, cores: int, *targets: str, config: Sequence[str] = ()) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run([str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(folder),
                             "--cores", str(cores), *targets, *(["--config", *config] if config else [])],
                            capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"snakemake failed in {folder}:\n{result.stderr[-4000:]}")
    return wall, result.stderr + result.stdout


def jobs_run(output: str) -> list[str]:
    """'rule' or 'rule[family]' for every job Snakemake started (the aggregate rule ``all`` left out)."""
    jobs = []
    for block in re.split(r"\n(?=\[)", output):
        rule = re.search(r"^(?:local)?(?:rule|checkpoint) (\w+):", block, re.M)
        if not rule or rule.group(1) == "all":
            continue
        family = re.search(r"wildcards:.*family=(\w+)", block)
        jobs.append(f"{rule.group(1)}[{family.group(1)}]" if family else rule.group(1))
    return jobs


def job_times(folder: Path, since: float) -> dict[str, list[float]]:
    """Run time (s) of each job of this run, by rule, from the benchmark files written since ``since``."""
    times: dict[str, list[float]] = defaultdict(list)
    for path in sorted((folder / "logs" / "benchmarks").glob("*.tsv")):
        if path.stat().st_mtime >= since:
            rule = re.sub(r"_(outcome|dropout)(_.*)?$", "", path.stem)
            times[rule].append(float(pd.read_csv(path, sep="\t")["s"].iloc[0]))
    return times


def compile_cache_entries() -> int | None:
    """Files in PyTensor's compile cache (its C modules and the numba cache of the Bayesian models' functions and
    callbacks, docs/bayes.md), which outlives a run: a run that adds none compiled no model shape for the first
    time on this machine. None without PyTensor."""
    try:
        from pytensor.configdefaults import config as pytensor_config
    except ImportError:
        return None
    return sum(1 for path in Path(pytensor_config.base_compiledir).rglob("*") if path.is_file())


def report_run(title: str, wall: float, target: float | None, jobs: list[str], times: dict[str, list[float]],
               cache_before: int | None = None):
    goal = f"   (target <= {target:.0f} s: {'met' if wall <= target else 'NOT met'})" if target else ""
    print(f"\n## {title}: {wall:.1f} s wall, {len(jobs)} jobs, {sum(map(sum, times.values())):.1f} s of job time{goal}")
    for rule, values in sorted(times.items(), key=lambda item: -sum(item[1])):
        print(f"   {sum(values):7.1f} s  {len(values):3d} x {rule}")
    after = compile_cache_entries()
    if cache_before is not None and after is not None:
        print(f"   new entries in PyTensor's compile cache: {after - cache_before}"
              + (" (model shapes compiled before on this machine, by an earlier run, were loaded)" if after == cache_before
                 else " (shapes compiled for the first time on this machine)"))


def demo_folder(parent: Path) -> Path:
    folder = parent / "demo"
    (folder / "data" / "raw").mkdir(parents=True)
    shutil.copytree(ROOT / "config", folder / "config")
    for name in ("studies.csv", "studies_coder2.csv"):
        shutil.copy(ROOT / "data" / "raw" / name, folder / "data" / "raw" / name)
    return folder


def add_outcome_study(folder: Path) -> None:
    """One new outcome study (a copy of a correlation row under a new id), as a reviewer adds it, and
    the PRISMA counts that go with it (found by citation searching)."""
    path = folder / "data" / "raw" / "studies.csv"
    sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = sheet[(sheet["family"] == "outcome") & (sheet["r"] != "")].iloc[[0]].copy()
    number = 1 + max(int(s[1:]) for s in sheet["study_id"])
    row["study_id"], row["es_id"] = f"S{number:03d}", f"S{number:03d}-1"
    row["authors"], row["year"], row["r"], row["n"] = f"Simulated study {number:03d}", "2026", "0.27", "118"
    pd.concat([sheet, row]).to_csv(path, index=False)
    config_path = folder / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    prisma = config.get("prisma")
    if prisma:
        other = prisma["other_methods"]
        other["sources"]["Citation searching"] += 1
        other["sought"] += 1
        other["assessed"] += 1
        for key in ("included_studies", "included_reports", "included_effect_sizes"):
            prisma[key] += 1
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def correct_a_moderator(folder: Path) -> None:
    """A moderator code corrected after the coders' consensus: the first outcome row's modality."""
    path = folder / "data" / "raw" / "studies.csv"
    sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = sheet.index[sheet["family"] == "outcome"][0]
    sheet.loc[row, "modality"] = "psychodynamic" if sheet.loc[row, "modality"] != "psychodynamic" else "CBT"
    sheet.to_csv(path, index=False)


#: the analyses of the effects alone (they read data/processed/{family}/effects.csv, without moderators)
EFFECT_ONLY_RULES = ("pool", "publication_bias", "selection_models", "sensitivity", "gosh", "rve", "bma",
                     "bayes_prior_sensitivity")


#: run by :func:`machine_check` in a fresh interpreter; prints the seconds of each part
MACHINE_CHECK = """
import io, time
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rng = np.random.default_rng(20261204)
mask = (rng.random((32_000, 125)) < 0.5).astype(float)
v, y = rng.uniform(0.01, 0.1, 125), rng.normal(0.2, 0.2, 125)
moments = np.column_stack([np.ones(125), y, y * y])
start = time.perf_counter()
for _ in range(3):
    tau2 = np.full(mask.shape[0], 0.05)
    for _ in range(10):  # Fisher-scoring-like passes over a 32 MB matrix
        w = mask / (v[None, :] + tau2[:, None])
        sums, sums2 = w @ moments, (w * w) @ moments
        tau2 = np.maximum(tau2 + 0.01 * (sums2[:, 0] / sums[:, 0] - 0.5 * tau2), 0.0)
arrays = time.perf_counter() - start
start = time.perf_counter()
for _ in range(2):
    figure, ax = plt.subplots(figsize=(7, 18))
    for row in range(150):
        ax.plot([row % 7, row % 7 + 1], [row, row], color="C0")
        ax.text(-2, row, f"Study {row:03d}, {1990 + row % 30}", fontsize=7, va="center")
    ax.set_xlim(-3, 9)
    figure.savefig(io.BytesIO(), format="png", dpi=300)
    plt.close(figure)
figure_time = time.perf_counter() - start
print(f"{arrays:.2f} {figure_time:.2f}")
"""


def machine_check() -> str:
    """The machine check (module docstring): its seconds in all, and of each part."""
    result = subprocess.run([sys.executable, "-c", MACHINE_CHECK], capture_output=True, text=True, check=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    arrays, figure = map(float, result.stdout.split())
    return f"{arrays + figure:.2f} s (array arithmetic {arrays:.2f} s, a tall figure as PNG {figure:.2f} s)"


def bench_demo(parent: Path, cores: int, config: Sequence[str] = ()) -> None:
    folder = demo_folder(parent)
    since, cache = time.time(), compile_cache_entries()
    wall, output = snakemake(folder, cores, config=config)
    report_run("Cold default run (demo sheet)", wall, 40, jobs_run(output), job_times(folder, since), cache)
    size = (folder / "results" / "report.html").stat().st_size / 1e6
    print(f"   report.html: {size:.1f} MB (target < 3 MB: {'met' if size < 3 else 'NOT met'})")

    add_outcome_study(folder)
    since, cache = time.time(), compile_cache_entries()
    wall, output = snakemake(folder, cores, config=config)
    jobs = jobs_run(output)
    report_run("Rerun after adding one outcome study", wall, 20, jobs, job_times(folder, since), cache)
    dropout = [job for job in jobs if job.endswith("[dropout]")]
    print(f"   jobs of the dropout family: {len(dropout)} (target 0){': ' + ', '.join(dropout) if dropout else ''}")
    print(f"   jobs that ran: {', '.join(jobs)}")

    wall, output = snakemake(folder, cores, config=config)
    print(f"\n## No-op rerun: {wall:.1f} s wall, {len(jobs_run(output))} jobs")

    correct_a_moderator(folder)
    since, cache = time.time(), compile_cache_entries()
    wall, output = snakemake(folder, cores, config=config)
    jobs = jobs_run(output)
    report_run("Rerun after correcting one moderator code (outcome family)", wall, None, jobs, job_times(folder, since),
               cache)
    rerun = [job for job in jobs if job.split("[")[0] in EFFECT_ONLY_RULES or job.endswith("[dropout]")]
    print(f"   analyses of the effects alone or dropout jobs that ran: {len(rerun)} (expected 0)"
          f"{': ' + ', '.join(rerun) if rerun else ''}")
    print(f"   jobs that ran: {', '.join(jobs)}")

    add_outcome_study(folder)
    since = time.time()
    wall, output = snakemake(folder, cores, *QUICK_TARGETS, config=config)
    jobs = jobs_run(output)
    report_run(f"Only {' and '.join(QUICK_TARGETS)}, after adding another outcome study", wall, None, jobs,
               job_times(folder, since))
    print(f"   jobs that ran: {', '.join(jobs)} (the next full run brings the other outputs up to date)")


def pooling_sheet(k: int, seed: int = 20261130) -> pd.DataFrame:
    """A SIMULATED correlation sheet of k studies (one row each)."""
    rng = np.random.default_rng(seed)
    n = rng.integers(40, 400, k)
    z = rng.normal(0.25, np.sqrt(0.02 + 1 / (n - 3)))
    ids = [f"S{i:05d}" for i in range(1, k + 1)]
    return pd.DataFrame({"study_id": ids, "es_id": [f"{i}-1" for i in ids], "authors": [f"Simulated study {i}" for i in ids],
                         "year": 2000 + np.arange(k) % 25, "r": np.round(np.tanh(z), 4), "n": n, "simulated": "yes"})


METAFOR_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
confint_too <- commandArgs(trailingOnly = TRUE)[1] == "confint"
sheet <- read.csv("data/raw/studies.csv")
dat <- escalc(measure = "ZCOR", ri = r, ni = n, data = sheet)
num <- function(x) if (length(x)) x[1] else NA
rows <- list()
for (test in c("z", "knha")) {
  res <- rma(yi, vi, data = dat, method = "REML", test = test)
  pred <- predict(res)
  ci <- if (confint_too) confint(res)$random else matrix(NA, 3, 3)
  rows[[length(rows) + 1]] <- data.frame(method = "REML", test, estimate = res$b[1], se = res$se, tau2 = res$tau2,
    pi_lower = num(pred$pi.lb), pi_upper = num(pred$pi.ub), tau2_lower = ci[1, 2], tau2_upper = ci[1, 3],
    q = res$QE, i2 = res$I2)
}
write.csv(do.call(rbind, rows), "pooled_metafor.csv", row.names = FALSE)
"""


def bench_pooling(parent: Path, cores: int, confint: bool, k: int = 3_000) -> None:
    folder = parent / "pooling"
    (folder / "data" / "raw").mkdir(parents=True)
    (folder / "config").mkdir()
    pooling_sheet(k).to_csv(folder / "data" / "raw" / "studies.csv", index=False)
    (folder / "config" / "config.yaml").write_text("families: [outcome]\nmetric: {outcome: z}\nmoderators: []\ncontinuous_moderators: []\n"
        "meta_regression: []\nlocation_scale: []\npooling: {methods: [REML], tests: [z, knha]}\n")
    since = time.time()
    ours, output = snakemake(folder, cores, "results/outcome/pooled.csv")
    report_run(f"Pooling only, k = {k:,} (validate, convert and split the families, pool; REML, z and "
               "Knapp-Hartung)", ours, None, jobs_run(output), job_times(folder, since))
    if not shutil.which("Rscript"):
        print("   Rscript not found: the metafor side is not measured")
        return
    (folder / "metafor.R").write_text(METAFOR_SCRIPT)
    for what, argument in (("rma + predict", "plain"), ("rma + predict + confint", "confint"))[: 1 + confint]:
        start = time.perf_counter()
        subprocess.run(["Rscript", "metafor.R", argument], cwd=folder, check=True, capture_output=True)
        theirs = time.perf_counter() - start
        ratio = theirs / ours
        print(f"   metafor script (read.csv, escalc, {what}; REML, z and knha): {theirs:.1f} s, "
              f"ratio metafor / pipeline {ratio:.2f}x (target >= 1.5x: {'met' if ratio >= 1.5 else 'NOT met'})")
    if not confint:
        print("   (the pipeline also computes the Q-profile interval of tau^2; --metafor-confint times metafor's "
              "confint() too, which takes minutes at this k)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-pooling", action="store_true")
    parser.add_argument("--metafor-confint", action="store_true", help="also time metafor with confint()")
    parser.add_argument("--config", nargs="+", default=[], metavar="KEY=VALUE",
                        help="passed to Snakemake's --config in the demo part, e.g. 'gosh={subsets: 100000}'")
    parser.add_argument("--empty-compile-cache", action="store_true",
                        help="run with an empty PyTensor compile cache (a new machine): every model shape compiles")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as parent:
        if args.empty_compile_cache:  # read by PyTensor in this process (compile_cache_entries) and in Snakemake's jobs
            os.environ["PYTENSOR_FLAGS"] = ",".join(filter(None, [os.environ.get("PYTENSOR_FLAGS"),
                                                                   f"base_compiledir={parent}/pytensor"]))
            print(f"PyTensor compile cache: empty, in {parent}/pytensor")
        if not args.skip_demo:
            print(f"Machine check before the demo runs: {machine_check()}")
            bench_demo(Path(parent), args.cores, args.config)
            print(f"\nMachine check after the demo runs: {machine_check()}")
        if not args.skip_pooling:
            bench_pooling(Path(parent), args.cores, args.metafor_confint)


if __name__ == "__main__":
    main()
