"""The sheets reviewers really start with, through the whole default target (.test/<case>/).

Each folder under ``.test/`` is a review folder: ``config/config.yaml``, a simulated sheet in
``data/raw/``, and ``expected.yaml``: ``report`` (the run reaches results/report.html with no
traceback anywhere) or ``problems`` followed by the lines validation must print. Also here: a
run killed with SIGKILL and restarted with the same command gives the results of an
uninterrupted run; two runs give byte-identical CSVs; a second run in a busy folder is refused.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted(path.name for path in (ROOT / ".test").iterdir() if (path / "expected.yaml").exists())
SNAKEMAKE = [str(ROOT / ".venv" / "bin" / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--cores", "2"]

pytestmark = pytest.mark.slow


def review_folder(case: str, tmp_path: Path) -> Path:
    folder = tmp_path / case
    shutil.copytree(ROOT / ".test" / case, folder)
    return folder


def run(folder: Path, *extra: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "--directory", str(folder), *extra], capture_output=True, text=True,
                          timeout=timeout)


def tracebacks(folder: Path, result: subprocess.CompletedProcess) -> list[str]:
    texts = {"stderr": result.stderr, "stdout": result.stdout}
    texts.update({str(path): path.read_text(errors="replace") for path in (folder / "logs").rglob("*.log")})
    return [name for name, text in texts.items() if "Traceback" in text]


def csv_bytes(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for top in ("results", "data/processed") for path in sorted((folder / top).rglob("*.csv"))}


@pytest.mark.parametrize("case", CASES)
def test_case_runs_to_its_expected_outcome(case, tmp_path):
    folder = review_folder(case, tmp_path)
    expected = (folder / "expected.yaml").read_text().split("\n", 1)
    raw = folder / "data" / "raw" / "studies.csv"
    before = raw.read_bytes()
    result = run(folder)
    assert raw.read_bytes() == before, "the raw sheet was written to"
    assert not tracebacks(folder, result), f"traceback in {tracebacks(folder, result)}\n{result.stderr[-3000:]}"
    if expected[0].strip() == "report":
        assert result.returncode == 0, result.stderr[-4000:]
        assert (folder / "results" / "report.html").stat().st_size > 10_000
        again = run(folder)
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    else:
        assert result.returncode != 0
        log = (folder / "logs" / "validate_sheet.log").read_text()
        for line in filter(None, (line.strip() for line in expected[1].splitlines())):
            assert line in log, f"expected problem line missing: {line}\n{log}"
        assert not (folder / "results" / "report.html").exists()


def test_families_without_rows_are_not_analysed(tmp_path):
    folder = review_folder("outcome_only", tmp_path)
    result = run(folder, "-n")
    assert result.returncode == 0
    assert "The sheet has no dropout rows: the dropout family is not analysed." in result.stdout + result.stderr
    assert "results/dropout" not in result.stdout


def test_two_runs_give_byte_identical_csvs(tmp_path):
    first, second = review_folder("two_studies", tmp_path / "a"), review_folder("two_studies", tmp_path / "b")
    assert run(first).returncode == 0
    assert run(second).returncode == 0
    assert csv_bytes(first) == csv_bytes(second)


def test_killed_run_restarts_with_the_same_command(tmp_path):
    reference, killed = review_folder("one_study", tmp_path / "a"), review_folder("one_study", tmp_path / "b")
    assert run(reference).returncode == 0
    command = [*SNAKEMAKE, "--directory", str(killed)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and not list((killed / "results").rglob("pooled.csv")):
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)  # snakemake and the job it was running, mid-run
    process.wait()
    assert not (killed / "results" / "report.html").exists(), "the run finished before it could be killed"
    restarted = run(killed)
    assert restarted.returncode == 0, restarted.stderr[-4000:]
    assert "was interrupted" in restarted.stderr + restarted.stdout
    assert csv_bytes(killed).keys() == csv_bytes(reference).keys()
    assert csv_bytes(killed) == csv_bytes(reference)


def test_a_second_run_in_a_busy_folder_is_refused(tmp_path):
    folder = review_folder("one_study", tmp_path)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        # a live process recorded as holding the folder (as a running snakemake would be)
        (folder / ".snakemake").mkdir()
        (folder / ".snakemake" / "alliance-meta-run.json").write_text(
            '{"pid": %d, "host": "%s"}' % (sleeper.pid, os.uname().nodename))
        result = run(folder)
    finally:
        sleeper.kill()
    assert result.returncode != 0
    assert "Another run" in result.stderr and "is working in this folder" in result.stderr
    assert "Traceback" not in result.stderr
