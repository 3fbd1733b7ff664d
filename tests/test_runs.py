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


SNAKEMAKE_LOG = """\
[Fri Dec  4 09:41:40 2026]
localrule validate_sheet:
    input: data/raw/studies.csv
    log: logs/validate_sheet.log
    jobid: 2
Error in rule validate_sheet:
    message: None
    jobid: 2
    input: data/raw/studies.csv
    output: data/processed/sheet.csv, data/processed/sheet_notes.txt
    log: logs/validate_sheet.log (check log file(s) for error details)
Error in rule gosh:
    message: None
    jobid: 7
    input: data/processed/outcome/effects.csv
    output: results/outcome/gosh.pdf, results/outcome/gosh.png
    log: logs/gosh_outcome.log (check log file(s) for error details)
    wildcards: family=outcome
Error in rule prisma:
    message: None
    jobid: 9
    output: results/prisma.pdf
    log: logs/prisma.log (check log file(s) for error details)
Shutting down, this might take some time.
Exiting because a job execution failed. Look above for error messages
"""


def test_failed_jobs_say_what_each_failed_job_s_log_says_and_where(tmp_path):
    """The run's last lines after a failure (onerror): each failed job with the first line of its ERROR message and
    its log; a Python traceback is named a bug to report; a job that wrote no log points above. Before, the run
    ended with Snakemake's RuleException, CalledProcessError and WorkflowError blocks."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "validate_sheet.log").write_text(
        "2026-12-04 09:41:41 ERROR the data sheet needs fixing before the analysis can run\n"
        "data/raw/studies.csv: 1 problem in 1 row\n")
    (tmp_path / "logs" / "gosh_outcome.log").write_text(
        "2026-12-04 09:41:41 INFO starting\nTraceback (most recent call last):\n  File ...\nValueError: x\n")
    log = tmp_path / "snakemake.log"
    log.write_text(SNAKEMAKE_LOG)
    assert runs.failed_jobs(log, tmp_path) == [
        "validate_sheet: the data sheet needs fixing before the analysis can run (logs/validate_sheet.log)",
        "gosh (family=outcome): an unexpected error, a bug of alliance-meta: please report it with logs/gosh_outcome.log",
        "prisma: failed before writing logs/prisma.log; see the messages above"]
    assert runs.failed_jobs(tmp_path / "missing.log", tmp_path) == []


def test_failed_jobs_of_a_quiet_run_are_the_fresh_job_logs_with_an_error(tmp_path):
    """Snakemake -q writes no 'Error in rule' block to its log: the failed jobs are then the job logs written since
    the jobs started that hold an ERROR message or a traceback; an older log with an ERROR (an earlier run) and a
    fresh one without are not named."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "coder_agreement.log").write_text("2026-12-04 09:44:05 ERROR the second coder's sheet does not pass the "
                                              "codebook's checks; fix it first:\nsecond coder's sheet: 2 problems\n")
    (logs / "prisma.log").write_text("2026-12-04 09:44:06 INFO PRISMA flow diagram: 5,443 records identified\n")
    old = logs / "validate_sheet.log"
    old.write_text("2026-12-01 10:00:00 ERROR the data sheet needs fixing before the analysis can run\n")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    quiet = tmp_path / "snakemake.log"
    quiet.write_text("Building DAG of jobs...\nExiting because a job execution failed. Look above for error messages\n")
    assert runs.failed_jobs(quiet, tmp_path, since=time.time() - 60) == [
        "coder_agreement: the second coder's sheet does not pass the codebook's checks; fix it first "
        "(logs/coder_agreement.log)"]
    assert runs.failed_jobs(quiet, tmp_path) == []  # no jobs started: nothing to name


def test_the_scheduler_s_pending_timers_are_cancelled_at_the_end_of_a_run_and_no_other_timer():
    """Snakemake's scheduler leaves a one-second, non-daemon timer each time it waits (its default
    --max-jobs-per-timespan); the process would wait for it before exiting. Here with 30 s, so a timer that
    was not cancelled is still alive after the join."""
    import threading
    from types import SimpleNamespace

    from snakemake.scheduling.job_scheduler import JobScheduler

    scheduler = SimpleNamespace(_open_jobs=threading.Semaphore(0))
    before = set(threading.enumerate())
    JobScheduler._schedule_reevalutation(scheduler, 30)
    (snakemake_timer,) = set(threading.enumerate()) - before
    other = threading.Timer(30, lambda: None)
    other.start()
    try:
        assert runs.cancel_rescheduling_timers() == 1
        snakemake_timer.join(5)
        assert not snakemake_timer.is_alive()
        assert other.is_alive()
    finally:
        other.cancel()
        snakemake_timer.cancel()
