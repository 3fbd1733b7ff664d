"""One run per review folder, and a clean restart after a run was killed.

Snakemake locks a working directory while it runs, but after SIGKILL (or a power cut) its
lock files stay and the next run stops with "Directory cannot be locked" until the reviewer
types ``--unlock``. :func:`claim_folder` tells the two cases apart: the run records its process
id in ``.snakemake/alliance-meta-run.json``; a later run finds that process alive (another run
is in progress: refused with one sentence) or gone (the lock is stale: removed, and the new run
proceeds; ``--rerun-incomplete`` in the workflow profile redoes the interrupted jobs). A run is
recorded only once its jobs start; a run killed before that (while Snakemake checks what to do)
leaves locks without a record, and those are stale when no Snakemake process works in the folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

RUN_FILE = "alliance-meta-run.json"
#: Locks without a run record are taken for a killed run's only when older than this (seconds): a run on
#: another machine of a shared filesystem, between taking its locks and recording itself, is not seen in
#: this machine's /proc, and its fresh locks are left to Snakemake's own check.
UNRECORDED_LOCKS_STALE_AFTER = 60.0


class RunInProgress(RuntimeError):
    """Another run of the pipeline is working in this folder."""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine and is a Snakemake (or Python) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return True  # no /proc: trust kill(0)
    return "snakemake" in command or "python" in command


def _ancestors() -> set[int]:
    """This process and the processes that started it (a ``make`` or shell that runs snakemake)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def _is_snakemake(command: list[str]) -> bool:
    """Whether an argv runs Snakemake (its script or ``python -m snakemake``), not a tool opening its files."""
    return any(Path(arg).name == "snakemake" for arg in command[:2]) or "-m snakemake" in " ".join(command[:3])


def snakemake_processes_in(folder: str | Path) -> list[int] | None:
    """Process ids of other Snakemake runs working in ``folder`` (None where /proc is not there to tell)."""
    proc = Path("/proc")
    if not (proc / "self" / "cwd").exists():
        return None
    here, mine, found = os.path.realpath(folder), _ancestors(), []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if _is_snakemake(command) and os.path.realpath(entry / "cwd") == here:
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or another user's
            continue
    return sorted(found)


def claim_folder(folder: str | Path = ".", pid: int | None = None, record: bool = True) -> list[str]:
    """Record this run in ``folder/.snakemake`` (``record``); remove a killed run's stale locks and
    record. Returns notes.

    Raises :class:`RunInProgress` when a live run (this machine) or a run on another machine
    holds the folder. The pipeline checks with ``record=False`` while the Snakefile is read
    (before Snakemake looks at its locks) and records when jobs start (``onstart``), so a dry run
    or a run with nothing to do leaves no record behind. The check also removes locks left without a
    record when no other Snakemake process works in the folder (where /proc can tell).
    """
    state = Path(folder) / ".snakemake"
    record_file, locks = state / RUN_FILE, state / "locks"
    pid = os.getpid() if pid is None else pid
    host = socket.gethostname()
    notes = []
    if record_file.exists():
        try:
            holder = json.loads(record_file.read_text())
        except (OSError, ValueError):
            holder = {}
        other_pid, other_host = int(holder.get("pid", -1)), holder.get("host", host)
        if other_pid != pid and other_pid > 0:
            if other_host != host:
                raise RunInProgress(
                    f"Another run (process {other_pid} on {other_host}) is working in this folder; wait for it to "
                    f"finish, or if it was stopped, delete {record_file} and run again.")
            if _alive(other_pid):
                raise RunInProgress(f"Another run (process {other_pid}) is working in this folder; wait for it "
                                    "to finish or stop it, then run again.")
            held = locks.is_dir() and any(locks.iterdir())
            notes.append(f"the previous run (process {other_pid}) was interrupted: "
                         f"{'its locks are removed and ' if held else ''}unfinished jobs run again")
            if locks.exists():
                shutil.rmtree(locks, ignore_errors=True)
            record_file.unlink(missing_ok=True)
    elif not record and locks.is_dir() and any(locks.iterdir()):  # before Snakemake takes its own locks
        others = snakemake_processes_in(folder)
        if others:
            raise RunInProgress(f"Another run (process {others[0]}) is working in this folder; wait for it "
                                "to finish or stop it, then run again.")
        try:
            newest = max((entry.stat().st_mtime for entry in locks.iterdir()), default=0.0)
        except OSError:  # released meanwhile: a live run
            newest = time.time()
        if others is not None and time.time() - newest > UNRECORDED_LOCKS_STALE_AFTER:
            # locks without a record, no run here, not fresh: a run killed before its jobs started
            notes.append("a previous run was stopped before its jobs started: its locks are removed")
            shutil.rmtree(locks, ignore_errors=True)
    if record:
        state.mkdir(parents=True, exist_ok=True)
        record_file.write_text(json.dumps({"pid": pid, "host": host}))
    return notes


def release_folder(folder: str | Path = ".", pid: int | None = None) -> None:
    """Forget this run's record (at the end of a run, successful or not)."""
    record = Path(folder) / ".snakemake" / RUN_FILE
    pid = os.getpid() if pid is None else pid
    try:
        if json.loads(record.read_text()).get("pid") == pid:
            record.unlink()
    except (OSError, ValueError):
        pass


def cancel_rescheduling_timers() -> int:
    """Cancel the timers Snakemake's scheduler left running, at the end of a run; return how many.

    With its default ``--max-jobs-per-timespan 100/1s`` Snakemake (9.x) starts a timer of one second
    (``threading.Timer``, not a daemon) each time its scheduler waits for running jobs, to look again once
    the rate limit allows. Python waits for the last of them before the process exits, so every run ended
    up to a second after its last job (docs/performance.md). Once the run is over (``onsuccess``,
    ``onerror``) they have nothing left to wake; other timers of the process are left alone."""
    cancelled = 0
    for thread in threading.enumerate():
        function = getattr(thread, "function", None)
        if isinstance(thread, threading.Timer) and "_schedule_reevalutation" in getattr(function, "__qualname__", ""):
            thread.cancel()
            cancelled += 1
    return cancelled


def failed_jobs(snakemake_log: str | Path | None, folder: str | Path = ".", since: float | None = None) -> list[str]:
    """One line per job that failed in a run: the rule (with its wildcards) or the job's log, what that log says
    went wrong (the first line of its ERROR message), and the log's path. Said last by ``onerror``, after
    Snakemake's error block (``RuleException``, ``CalledProcessError``, ``WorkflowError``), so the reviewer's
    terminal ends with what to fix rather than with Snakemake's internals. A job that died with a Python
    traceback is an error of the pipeline, not of the sheet: its line says to report it.

    The failed jobs are read from Snakemake's log of the run (its ``Error in rule`` blocks); a quiet run
    (``-q``) does not write those, and then they are the job logs under ``logs/`` written at or after
    ``since`` (the time the jobs started) that hold an ERROR message or a traceback (the pipeline's steps log
    ERROR only when they stop)."""
    folder = Path(folder)
    try:
        text = Path(snakemake_log).read_text(errors="replace") if snakemake_log else ""
    except OSError:
        text = ""
    jobs = []  # (name, log path relative to the folder, or "")
    for block in re.split(r"^Error in rule ", text, flags=re.M)[1:]:
        rule = block.split(":", 1)[0].strip()
        fields = dict(re.findall(r"^ {4}(\w+): (.*)$", block.split("\n\n", 1)[0], flags=re.M))
        log = fields.get("log", "").split(" (check log file", 1)[0].split(", ")[0].strip()
        jobs.append((f"{rule} ({fields['wildcards']})" if fields.get("wildcards") else rule, log))
    if not jobs and since is not None:
        for path in sorted((folder / "logs").glob("*.log")):
            try:
                fresh, content = path.stat().st_mtime >= since, path.read_text(errors="replace")
            except OSError:
                continue
            if fresh and (_error_line(content) or TRACEBACK in content):
                jobs.append((path.stem, str(path.relative_to(folder))))
    lines = []
    for name, log in jobs:
        if not log:
            lines.append(f"{name}: failed; see the messages above")
            continue
        try:
            job_log = (folder / log).read_text(errors="replace")
        except OSError:
            lines.append(f"{name}: failed before writing {log}; see the messages above")
            continue
        if TRACEBACK in job_log:
            lines.append(f"{name}: an unexpected error, a bug of alliance-meta: please report it with {log}")
            continue
        error = _error_line(job_log)
        lines.append(f"{name}: {error} ({log})" if error else f"{name}: failed; see {log}")
    return lines


TRACEBACK = "Traceback (most recent call last)"


def _error_line(job_log: str) -> str:
    """The first line of the first ERROR (or CRITICAL) message of a job log (``alliance_meta.io.setup_logging``)."""
    error = re.search(r"^\S+ \S+ (?:ERROR|CRITICAL) (.+)$", job_log, flags=re.M)
    return error.group(1).strip().rstrip(":") if error else ""  # "...; fix it first:" introduces the list below it
