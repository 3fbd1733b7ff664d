"""One run per review folder (alliance_meta.runs): records, stale locks, live runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from alliance_meta import runs


def _locks(folder, age: float = 0.0):
    locks = folder / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    lock = locks / "0.output.lock"
    lock.write_text(str(folder / "results" / "report.html"))
    os.utime(lock, (time.time() - age, time.time() - age))
    return locks


def _pretend_snakemake(folder):
    """A process whose argv runs 'snakemake' in ``folder``, as a run building its job graph is."""
    script = folder / "snakemake"
    script.write_text("import time\ntime.sleep(60)\n")
    process = subprocess.Popen([sys.executable, str(script)], cwd=folder)
    deadline = time.time() + 10
    while time.time() < deadline and process.pid not in (runs.snakemake_processes_in(folder) or []):
        time.sleep(0.05)
    return process


@pytest.mark.skipif(not os.path.exists("/proc/self/cwd"), reason="needs /proc")
def test_locks_left_without_a_record_by_a_killed_run_are_removed_before_snakemake_looks(tmp_path):
    locks = _locks(tmp_path, age=runs.UNRECORDED_LOCKS_STALE_AFTER + 5)
    notes = runs.claim_folder(tmp_path, record=False)
    assert notes == ["a previous run was stopped before its jobs started: its locks are removed"]
    assert not locks.exists() and not (tmp_path / ".snakemake" / runs.RUN_FILE).exists()


@pytest.mark.skipif(not os.path.exists("/proc/self/cwd"), reason="needs /proc")
def test_fresh_unrecorded_locks_are_left_to_snakemake(tmp_path):
    """A run on another machine, between taking its locks and recording itself, is not in this /proc."""
    locks = _locks(tmp_path, age=1.0)
    assert runs.claim_folder(tmp_path, record=False) == []
    assert locks.exists()


@pytest.mark.skipif(not os.path.exists("/proc/self/cwd"), reason="needs /proc")
def test_locks_of_a_live_run_without_a_record_are_kept_and_the_second_run_refused(tmp_path):
    locks = _locks(tmp_path)
    other = _pretend_snakemake(tmp_path)
    try:
        assert runs.snakemake_processes_in(tmp_path) == [other.pid]
        with pytest.raises(runs.RunInProgress, match=f"Another run \\(process {other.pid}\\) is working"):
            runs.claim_folder(tmp_path, record=False)
    finally:
        other.kill()
        other.wait()
    assert locks.exists()


def test_a_run_recording_itself_keeps_its_own_locks(tmp_path):
    locks = _locks(tmp_path)  # onstart: Snakemake has locked the folder for this run
    assert runs.claim_folder(tmp_path) == []
    assert locks.exists()
    assert json.loads((tmp_path / ".snakemake" / runs.RUN_FILE).read_text())["pid"] == os.getpid()
    runs.release_folder(tmp_path)
    assert not (tmp_path / ".snakemake" / runs.RUN_FILE).exists()


def test_tools_that_open_the_folder_s_files_are_not_runs(tmp_path):
    assert not runs._is_snakemake(["tail", "-f", ".snakemake/log/2026-12-02T080000.snakemake.log"])
    assert not runs._is_snakemake(["python", ".snakemake/scripts/tmpab12.pool.py"])
    assert runs._is_snakemake(["/repo/.venv/bin/python", "/repo/.venv/bin/snakemake", "--cores", "2"])
    assert runs._is_snakemake(["python3", "-m", "snakemake", "-n"])
    assert runs._is_snakemake(["snakemake", "--cores", "all"])


def test_a_killed_run_s_record_and_locks_are_removed(tmp_path):
    locks = _locks(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / ".snakemake" / runs.RUN_FILE).write_text(json.dumps({"pid": gone.pid, "host": os.uname().nodename}))
    notes = runs.claim_folder(tmp_path, record=False)
    assert notes == [f"the previous run (process {gone.pid}) was interrupted: its locks are removed and unfinished "
                     "jobs run again"]
    assert not locks.exists() and not (tmp_path / ".snakemake" / runs.RUN_FILE).exists()


def test_a_run_that_ended_without_releasing_its_record_is_not_said_to_hold_locks(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # an error Snakemake ends without onerror
    gone.wait()
    (tmp_path / ".snakemake").mkdir()
    (tmp_path / ".snakemake" / runs.RUN_FILE).write_text(json.dumps({"pid": gone.pid, "host": os.uname().nodename}))
    assert runs.claim_folder(tmp_path, record=False) == [
        f"the previous run (process {gone.pid}) was interrupted: unfinished jobs run again"]
