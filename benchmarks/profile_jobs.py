"""Profile every job of a finished pipeline run, as the warm server runs them, and sum the profiles over the jobs.

Run the pipeline first with its job scripts kept (``snakemake --cores 1 --skip-script-cleanup``), then, in the
same folder::

    .venv/bin/python benchmarks/profile_jobs.py profiles/          # every kept script, in the order they ran
    .venv/bin/python benchmarks/profile_jobs.py profiles/ --top 40 forest_plot sensitivity   # some rules only

One process imports what the warm server imports (``warm_start.PRELOAD``, alliance_meta, ``LATER`` and the Bayes
stack), then forks one child per kept script (oldest first: the order the jobs started, so a checkpoint's temporary
files are made again before the job that reads them) with the jobs' environment (the Snakefile's and common.smk's
variables, one BLAS thread) and runs it under cProfile, as ``warm_start._run_child`` runs a job. The jobs rewrite
their outputs (the same bytes). Prints each job's CPU seconds, then the top functions by cumulative and by own time
summed over the jobs (cProfile times wall clock: on a loaded machine compare shares, not seconds).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import runpy
import sys
import time
import traceback
from pathlib import Path


def job_environment(script: Path) -> dict:
    """The variables the Snakefile and common.smk give every job (glibc's malloc, the text cache, the previews,
    the categorical columns from the job's own config) and one BLAS thread (a single-threaded job's)."""
    from alliance_meta import warm_start
    from alliance_meta.inputs.planning import PREVIEWS_FOLDER, categorical_columns
    from alliance_meta.io import TEXT_COLUMNS_ENV

    preamble = script.read_text().split("######## snakemake preamble end #########")[0]
    names = {"__file__": str(script)}
    exec(preamble, names)  # noqa: S102 - Snakemake's own preamble: unpickles the job's `snakemake` object
    return {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(4 * 2**30),
            "ALLIANCE_META_REUSE_TEXT": "1", "ALLIANCE_META_PREVIEWS": PREVIEWS_FOLDER,
            TEXT_COLUMNS_ENV: json.dumps(categorical_columns(names["snakemake"].config)),
            **dict.fromkeys(warm_start.THREAD_VARIABLES, warm_start.SERVER_THREADS)}


def profile_job(script: Path, out: Path) -> float:
    """Run ``script`` in a forked child under cProfile (stats to ``out/<script>.prof``); its CPU seconds."""
    cpu = out / f"{script.stem}.cpu"
    pid = os.fork()
    if pid == 0:
        gc.freeze()  # as warm_start._run_child
        os.environ["ALLIANCE_META_WARM_CHILD"] = "1"  # the script runs here, not handed to a server
        profile, code, start = cProfile.Profile(), 0, time.process_time()
        try:
            profile.enable()
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 0
        except BaseException:  # noqa: BLE001 - reported, and the other jobs still run
            traceback.print_exc()
            code = 1
        finally:
            profile.disable()
            profile.dump_stats(str(out / f"{script.stem}.prof"))
            cpu.write_text(str(time.process_time() - start))
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status:
        print(f"{script.name}: exit status {status}", file=sys.stderr)
    return float(cpu.read_text()) if cpu.exists() else float("nan")


def summed(out: Path) -> pstats.Stats:
    files = sorted(str(path) for path in out.glob("*.prof"))
    stats = pstats.Stats(files[0])
    for path in files[1:]:
        stats.add(path)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the profiles")
    parser.add_argument("rules", nargs="*", help="profile only the scripts whose name contains one of these")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    scripts = sorted(Path(".snakemake/scripts").glob("*.py"), key=lambda path: path.stat().st_mtime)
    scripts = [path for path in scripts if not args.rules or any(rule in path.name for rule in args.rules)]
    if not scripts:
        sys.exit("no kept job scripts: run snakemake with --skip-script-cleanup in this folder first")
    from alliance_meta import warm_start  # imports no linear algebra: the threads are set before numpy loads

    os.environ.update(dict.fromkeys(warm_start.THREAD_VARIABLES, warm_start.SERVER_THREADS))
    os.environ.update(job_environment(scripts[0]))

    for name in [*warm_start.PRELOAD, *warm_start._package_modules(), *warm_start.LATER,
                 *warm_start.STACKS["bayes"]]:
        warm_start._import(name)
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for script in scripts:
        seconds = profile_job(script, args.out)
        total += seconds
        print(f"{script.name.split('.', 1)[1].removesuffix('.py'):30s} {seconds:7.2f} s CPU", flush=True)
    print(f"{len(scripts)} jobs, {total:.1f} s CPU (profiled)")
    stats = summed(args.out)
    for column, title in ((3, "cumulative"), (2, "own")):
        print(f"\ntop {args.top} by {title} time, summed over the jobs: cumulative, own, calls, function")
        for key, row in sorted(stats.stats.items(), key=lambda item: -item[1][column])[:args.top]:
            print(f"{row[3]:9.1f} {row[2]:9.1f} {row[1]:10d}  {Path(key[0]).name}:{key[1]}({key[2]})")


if __name__ == "__main__":
    main()
