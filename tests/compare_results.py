"""Compare the pipeline's CSVs of two runs: same files, same columns, numbers equal to a relative tolerance.

Used to show that a refactoring keeps every number (``--rel 1e-12``)::

    .venv/bin/python tests/compare_results.py --ref <commit>      # run <commit> and HEAD on the demo sheet
    .venv/bin/python tests/compare_results.py OLD_DIR NEW_DIR     # compare two finished runs

With ``--ref`` the demo pipeline runs at ``<commit>`` in a temporary git worktree and at the
working tree in a temporary copy (each with this venv's Python and its own ``src/``), then every
CSV under ``results/`` and ``data/processed/`` is compared. Text cells must be equal; numbers
must satisfy ``|a - b| <= rel * max(|a|, |b|)`` (NaN equals NaN); files or columns present in
only one run are listed (``--allow-new`` accepts new files and columns of the new run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TABLE_DIRS = ("results", "data/processed")


def csv_files(root: Path) -> dict[str, Path]:
    return {str(path.relative_to(root)): path for folder in TABLE_DIRS for path in sorted((root / folder).rglob("*.csv"))}


def compare_tables(old: pd.DataFrame, new: pd.DataFrame, rel: float, allow_new: bool = False) -> list[str]:
    """Differences between two tables, one line each (empty when they agree)."""
    problems = []
    missing = [c for c in old.columns if c not in new.columns]
    added = [c for c in new.columns if c not in old.columns]
    if missing:
        problems.append(f"columns only in the old run: {missing}")
    if added and not allow_new:
        problems.append(f"columns only in the new run: {added}")
    if len(old) != len(new):
        return problems + [f"{len(old)} rows before, {len(new)} now"]
    for column in (c for c in old.columns if c in new.columns):
        a, b = old[column], new[column]
        numeric = pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b)
        if numeric and not (pd.api.types.is_bool_dtype(a) or pd.api.types.is_bool_dtype(b)):
            x, y = a.to_numpy(float), b.to_numpy(float)
            same_nan = np.isnan(x) == np.isnan(y)
            with np.errstate(invalid="ignore"):
                close = (x == y) | (np.abs(x - y) <= rel * np.maximum(np.abs(x), np.abs(y)))
            bad = ~same_nan | (~close & ~np.isnan(x) & ~np.isnan(y))
        else:
            bad = ~((a.astype(str) == b.astype(str)) | (a.isna() & b.isna())).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            problems.append(f"column {column}: {int(bad.sum())} value(s) differ, first at row {row}: "
                            f"{a.iloc[row]!r} vs {b.iloc[row]!r}")
    return problems


def compare_runs(old_root: Path, new_root: Path, rel: float = 1e-12, allow_new: bool = False) -> list[str]:
    """Every difference between the CSVs of two run folders."""
    old, new = csv_files(old_root), csv_files(new_root)
    problems = [f"{name}: only in the old run" for name in old if name not in new]
    if not allow_new:
        problems += [f"{name}: only in the new run" for name in new if name not in old]
    for name in (n for n in old if n in new):
        a, b = (pd.read_csv(path, dtype={"study_id": str}) for path in (old[name], new[name]))
        problems += [f"{name}: {problem}" for problem in compare_tables(a, b, rel, allow_new)]
    return problems


def run_demo(folder: Path, src: Path) -> None:
    """The default target of the demo sheet in ``folder`` with ``src`` first on the path."""
    environment = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([str(ROOT / ".venv/bin/snakemake"), "--cores", "2", "--quiet", "all"], cwd=folder,
                   env=environment, check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", nargs="?", type=Path)
    parser.add_argument("new", nargs="?", type=Path)
    parser.add_argument("--ref", help="commit to run and compare with the working tree")
    parser.add_argument("--rel", type=float, default=1e-12)
    parser.add_argument("--allow-new", action="store_true", help="accept files and columns the new run adds")
    arguments = parser.parse_args(argv)
    if arguments.ref:
        work = Path(tempfile.mkdtemp(prefix="compare-"))
        old, new = work / "old", work / "new"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), arguments.ref], cwd=ROOT, check=True)
        try:
            shutil.copytree(ROOT, new, ignore=shutil.ignore_patterns(".venv", ".git", ".snakemake", "results",
                                                                      "processed", "logs", "__pycache__"))
            (new / "data/processed").mkdir(exist_ok=True)
            run_demo(old, old / "src")
            run_demo(new, new / "src")
            problems = compare_runs(old, new, arguments.rel, arguments.allow_new)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    elif arguments.old and arguments.new:
        problems = compare_runs(arguments.old, arguments.new, arguments.rel, arguments.allow_new)
    else:
        parser.error("give OLD_DIR NEW_DIR or --ref COMMIT")
    count = len(csv_files(arguments.old or old))
    for problem in problems:
        print(problem)
    print(f"{count} CSV files compared at rel = {arguments.rel:g}: "
          f"{'no differences' if not problems else f'{len(problems)} difference(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
