"""Warm start (alliance_meta.warm_start): job scripts run in processes forked from a server that
has the imports done, with the job's directory, environment, streams and exit status, and the
same results as in a process of their own."""

from __future__ import annotations

import json
import os
import pickle
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alliance_meta import warm_start

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"

# A job script as the pipeline's: the warm-start line first, then the work.
JOB_SCRIPT = '''
from alliance_meta.warm_start import run_in_warm_process

run_in_warm_process(globals(){stack})

import gc, json, os, sys, time
snakemake = globals()["snakemake"]
warm = "pandas" in sys.modules  # this script never imports pandas; the server does, soon after it starts
json.dump({{"pid": os.getpid(), "ppid": os.getppid(), "warm": warm, "pymc": "pymc" in sys.modules, "cwd": os.getcwd(),
           "mark": os.environ.get("WARM_TEST_MARK"), "value": snakemake["value"],
           "frozen": gc.get_freeze_count(),
           "schema": getattr(sys.modules.get("alliance_meta.inputs.options"), "_loaded_schema", None) is not None
           and sys.modules["alliance_meta.inputs.options"]._loaded_schema.cache_info().currsize == 1}},
          open(snakemake["output"], "w"))
print("job says hello")
print("job warns", file=sys.stderr)
if snakemake.get("sleep"):
    time.sleep(snakemake["sleep"])
if snakemake.get("log"):
    from alliance_meta.io import setup_logging
    setup_logging(snakemake["log"], "job").info("job logs")
if snakemake.get("fail"):
    raise ValueError("the job failed")
if snakemake.get("exit"):
    sys.exit(snakemake["exit"])
'''

# What Snakemake's script preamble does: a `snakemake` object in the globals, __file__ the script.
LAUNCHER = '''
import pickle, sys
path, job = sys.argv[1], pickle.loads(bytes.fromhex(sys.argv[2]))
code = compile(open(path).read(), path, "exec")
exec(code, {"__name__": "__main__", "__file__": path, "snakemake": job})
'''


@pytest.fixture()
def server(monkeypatch):
    monkeypatch.delenv(warm_start.SOCKET_ENV, raising=False)
    process = warm_start.start_server()
    sockets = os.environ[warm_start.SOCKET_ENV]
    yield process
    warm_start.stop_server(process)
    assert not Path(sockets).exists()


def run_job(tmp_path: Path, env: dict | None = None, wait: bool = True, stack: str | None = None,
            linear_algebra: bool = True, **job):
    script = tmp_path / "job.py"
    arguments = (f", stack={stack!r}" if stack else "") + ("" if linear_algebra else ", linear_algebra=False")
    script.write_text(JOB_SCRIPT.format(stack=arguments))
    output = tmp_path / "out.json"
    job = {"value": 42, "output": str(output), **job}
    environment = {**os.environ, **dict.fromkeys(warm_start.THREAD_VARIABLES, "1"), "WARM_TEST_MARK": "seen",
                   **(env or {})}
    command = [sys.executable, "-c", LAUNCHER, str(script), pickle.dumps(job).hex()]
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    if not wait:
        return subprocess.Popen(command, cwd=work, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE), output
    result = subprocess.run(command, cwd=work, env=environment, capture_output=True, text=True, timeout=120)
    return result, (json.loads(output.read_text()) if output.exists() else None)


def test_a_job_runs_forked_from_the_server_with_its_directory_environment_and_streams(server, tmp_path):
    result, seen = run_job(tmp_path)
    assert result.returncode == 0, result.stderr
    assert seen["ppid"] == server.pid and not seen["pymc"]
    assert seen["cwd"] == str(tmp_path / "work")
    assert seen["mark"] == "seen" and seen["value"] == 42
    assert "job says hello" in result.stdout
    assert "job warns" in result.stderr


def test_a_process_that_the_servers_starter_did_not_start_runs_in_place(server, tmp_path):
    """A cluster job on the machine that runs Snakemake finds the servers' sockets in the environment it
    inherited; forked from the server it would run outside its allocation. A job process that is no
    descendant of the process that started the server (here: left by a shell that has ended) runs in place."""
    _until(lambda seen: seen["warm"], tmp_path)  # the server serves this process's descendants (job.py written)
    (tmp_path / "out.json").unlink()
    script, job = tmp_path / "job.py", {"value": 42, "output": str(tmp_path / "out.json")}
    environment = {**os.environ, **dict.fromkeys(warm_start.THREAD_VARIABLES, "1")}
    command = " ".join([sys.executable, "-c", shlex.quote(LAUNCHER), str(script), pickle.dumps(job).hex()])
    subprocess.run(["sh", "-c", f"{command} > /dev/null 2>&1 &"], cwd=tmp_path, env=environment, check=True)
    deadline, seen = time.monotonic() + 120, None
    while seen is None and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            seen = json.loads((tmp_path / "out.json").read_text())
        except (OSError, ValueError):  # not written (completely) yet
            pass
    assert seen["ppid"] != server.pid and not seen["warm"]  # its own process, which never imported pandas


def test_started_by_follows_the_parents():
    assert warm_start._started_by(os.getpid(), os.getpid())
    assert warm_start._started_by(os.getpid(), os.getppid())
    assert not warm_start._started_by(os.getppid(), os.getpid())
    assert warm_start._started_by(None, os.getpid())  # a system that cannot tell: served, as before


def _until(condition, tmp_path, seconds=60, **job):
    """Run the job until what it saw satisfies ``condition`` (the servers import between jobs)."""
    deadline = time.monotonic() + seconds
    while True:
        result, seen = run_job(tmp_path, **job)
        assert result.returncode == 0, result.stderr
        if condition(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.5)


def test_jobs_started_later_find_the_imports_done(server, tmp_path):
    seen = _until(lambda seen: seen["warm"], tmp_path)
    assert seen["warm"] and seen["ppid"] == server.pid and not seen["pymc"]


def test_the_servers_objects_are_frozen_for_the_jobs_garbage_collector(server, tmp_path):
    """gc.freeze in the child: the job's collections leave the inherited modules' objects alone."""
    seen = _until(lambda seen: seen["warm"], tmp_path)
    assert seen["ppid"] == server.pid
    assert seen["frozen"] > 100_000  # numpy, pandas and matplotlib's objects at least


def test_jobs_started_later_find_the_config_schema_loaded(server, tmp_path):
    """The plotting jobs check their options against the config schema: loaded by the server (LATER), not by each."""
    seen = _until(lambda seen: seen["schema"], tmp_path)
    assert seen["schema"] and seen["ppid"] == server.pid


def test_a_job_naming_the_bayes_stack_runs_where_pymc_is_imported(server, tmp_path):
    seen = _until(lambda seen: seen["pymc"], tmp_path, stack="bayes")
    assert seen["warm"] and seen["pymc"]
    stack_server = seen["ppid"]
    assert stack_server != server.pid
    assert int(Path(f"/proc/{stack_server}/stat").read_text().rsplit(")", 1)[1].split()[1]) == server.pid


def test_the_job_process_exits_with_the_scripts_status(server, tmp_path):
    failed, _ = run_job(tmp_path, fail=True)
    assert failed.returncode == 1
    assert "ValueError: the job failed" in failed.stderr
    assert f"{tmp_path / 'job.py'}" in failed.stderr  # the traceback names the script
    stopped, _ = run_job(tmp_path, exit=3)
    assert stopped.returncode == 3


@pytest.mark.parametrize("warm", [True, False])
def test_a_job_that_stops_with_a_traceback_writes_it_to_its_log(warm, tmp_path, monkeypatch, request):
    """An uncaught exception went to stderr only: the job's log (logs/pool_dropout.log after a crash of the count
    models) stayed empty, and the run's closing line said "pool: failed; see logs/pool_dropout.log" instead of
    naming a bug to report with that log."""
    from alliance_meta import runs

    if warm:
        request.getfixturevalue("server")
    else:
        monkeypatch.setenv(warm_start.SOCKET_ENV, str(tmp_path / "no-server"))
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "job.log"
    failed, _ = run_job(tmp_path, fail=True, log=str(log))
    assert failed.returncode == 1
    assert failed.stderr.count("Traceback (most recent call last)") == 1
    assert "ValueError: the job failed" in failed.stderr
    text = log.read_text()
    assert "INFO job logs" in text and "Traceback (most recent call last)" in text
    assert "ValueError: the job failed" in text
    assert runs.failed_jobs(None, tmp_path, since=0) == [
        "job: an unexpected error, a bug of alliance-meta: please report it with logs/job.log"]


def test_a_job_with_other_thread_settings_runs_in_place(server, tmp_path):
    # Snakemake sets OPENBLAS_NUM_THREADS & co. to a rule's threads; the server loaded BLAS with 1.
    result, seen = run_job(tmp_path, env={"OPENBLAS_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr
    assert seen["ppid"] != server.pid and not seen["warm"]
    assert seen["value"] == 42


def test_a_job_started_after_the_package_changed_runs_in_place_with_the_new_code(server, tmp_path):
    """A `git pull` or `make setup` during a run: the server holds the old modules, the job's script is new."""
    run_job(tmp_path)  # the server is up
    module = Path(warm_start.__file__).resolve().parent / "io.py"
    before = module.stat()
    try:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9 * 3600))  # as if edited
        result, seen = run_job(tmp_path)
    finally:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert result.returncode == 0, result.stderr
    assert seen["ppid"] != server.pid and not seen["warm"] and seen["value"] == 42


def test_a_job_without_linear_algebra_runs_warm_whatever_its_threads(server, tmp_path):
    # e.g. the report's figure previews: Pillow on two threads, no BLAS
    seen = _until(lambda seen: seen["warm"], tmp_path, env={"OPENBLAS_NUM_THREADS": "2"}, linear_algebra=False)
    assert seen["ppid"] == server.pid and seen["warm"]
    result, seen = run_job(tmp_path, env={"OPENBLAS_NUM_THREADS": "2"})  # a job that does linear algebra
    assert result.returncode == 0 and not seen["warm"]


def test_without_a_server_the_job_runs_in_place(tmp_path, monkeypatch):
    monkeypatch.setenv(warm_start.SOCKET_ENV, str(tmp_path / "no-server"))
    result, seen = run_job(tmp_path)
    assert result.returncode == 0, result.stderr
    assert not seen["warm"]
    monkeypatch.delenv(warm_start.SOCKET_ENV)
    result, seen = run_job(tmp_path, exit=4)
    assert result.returncode == 4 and not seen["warm"]


def _gone(pid: int, seconds: float) -> bool:
    """Whether process ``pid`` ends within ``seconds`` (a zombie nobody reaps has ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_killing_the_jobs_process_stops_its_script(server, tmp_path):
    process, output = run_job(tmp_path, wait=False, sleep=60)
    deadline = time.monotonic() + 30
    # the script creates the file, then writes it: on a loaded machine it was read empty in between
    while not (output.exists() and output.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    script_pid = json.loads(output.read_text())["pid"]
    assert script_pid != process.pid
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _gone(script_pid, 10)
    assert server.poll() is None  # the server goes on serving


@pytest.mark.parametrize("lifetime", [0.0, 2.0, 15.0])  # while importing, while the stack imports, serving
def test_the_servers_end_with_the_process_that_started_them(tmp_path, lifetime):
    # The starting process prints the server's session (the server and, once forked, its stack
    # server) just before it ends.
    code = ("import os, sys, time; sys.path.insert(0, sys.argv[2]); from test_warm_start import _session; "
            "from alliance_meta import warm_start; server = warm_start.start_server().pid; "
            "time.sleep(float(sys.argv[1])); print(os.environ[warm_start.SOCKET_ENV], *_session(server))")
    sockets, *session = subprocess.run([sys.executable, "-c", code, str(lifetime), str(Path(__file__).parent)],
                                       capture_output=True, text=True, check=True).stdout.split()
    assert len(session) == (2 if lifetime > 10 else len(session)) and session
    for member in map(int, session):
        assert _gone(member, 30)
    assert not Path(sockets).exists()


def _session(leader: int) -> list[int]:
    """The processes of session ``leader``."""
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
            and _session_of(int(entry.name)) == leader]


def _session_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def test_pipeline_outputs_are_byte_identical_with_and_without_warm_start(tmp_path):
    # The dropout family's selection models are the demo's most sensitive fit: with the server's
    # BLAS threads left at the machine's default their last digits changed.
    targets = ["results/dropout/selection_models.csv", "results/dropout/pooled.csv",
               "results/dropout/forest.svg"]
    outputs = {}
    for mode in ("0", "1"):
        folder = tmp_path / f"warm{mode}"
        (folder / "data" / "raw").mkdir(parents=True)
        for sheet in (ROOT / "data" / "raw").iterdir():
            (folder / "data" / "raw" / sheet.name).write_bytes(sheet.read_bytes())
        (folder / "config").mkdir()
        for name in (ROOT / "config").iterdir():
            (folder / "config" / name.name).write_bytes(name.read_bytes())
        result = subprocess.run([str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(folder),
                                 "--cores", "2", *targets], capture_output=True, text=True,
                                env={**os.environ, "ALLIANCE_META_WARM_START": mode})
        assert result.returncode == 0, result.stderr
        outputs[mode] = {target: (folder / target).read_bytes() for target in targets}
    for target in targets:
        assert outputs["0"][target] == outputs["1"][target], target


def test_every_job_script_starts_with_the_warm_start_line():
    import ast

    for script in sorted((ROOT / "workflow" / "scripts").glob("*.py")):
        body = ast.parse(script.read_text()).body
        statements = [node for node in body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
        first_call = ast.unparse(statements[1]) if len(statements) > 1 else None
        assert ast.unparse(statements[0]) == "from alliance_meta.warm_start import run_in_warm_process", script.name
        expected = {"bayes.py": "run_in_warm_process(globals(), stack='bayes')",
                    "report_figures.py": "run_in_warm_process(globals(), linear_algebra=False)",  # Pillow only
                    }.get(script.name, "run_in_warm_process(globals())")
        assert first_call == expected, script.name


def test_no_warm_start_where_the_server_cannot_start(tmp_path, monkeypatch):
    monkeypatch.delenv(warm_start.SOCKET_ENV, raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path / ("x" * 120)))  # longer than a Unix socket path may be
    (tmp_path / ("x" * 120)).mkdir()
    monkeypatch.setattr(warm_start.tempfile, "tempdir", None)
    assert warm_start.start_server() is None
    assert warm_start.SOCKET_ENV not in os.environ
    assert list((tmp_path / ("x" * 120)).iterdir()) == []
    warm_start.stop_server(None)  # what the Snakefile's onsuccess then does
    monkeypatch.delattr(warm_start.socket, "send_fds")
    assert warm_start.start_server() is None


def test_the_server_goes_on_when_a_job_leaves_before_its_answer(server, tmp_path):
    # A job's process that dies right after sending its job must not stop the server.
    for _ in range(3):
        job = pickle.dumps({"identity": None, "script": "gone.py", "snakemake": {}, "cwd": str(tmp_path),
                            "environ": {}, "path": []})
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(os.path.join(os.environ[warm_start.SOCKET_ENV], "jobs.sock"))
        socket.send_fds(connection, [warm_start._HEADER.pack(len(job))], [0, 1, 2])
        connection.sendall(job)
        connection.close()
    time.sleep(0.5)
    assert server.poll() is None
    result, seen = run_job(tmp_path)
    assert result.returncode == 0, result.stderr
    assert seen["ppid"] == server.pid


@pytest.mark.parametrize("argv, no_job", [
    (["snakemake", "--cores", "2"], False),
    (["snakemake", "-n"], True),
    (["snakemake", "--dry-run", "--cores", "2"], True),
    (["snakemake", "--dryrun"], True),
    (["snakemake", "--dry-ru"], True),  # an abbreviation, as argparse takes it
    (["snakemake", "-np", "--cores", "2"], True),
    (["snakemake", "-pn"], True),
    (["snakemake", "-p", "-c2", "results/report.html"], False),
    (["snakemake", "--cores", "2", "--config", "families=[outcome]"], False),
    (["snakemake", "-F", "--snakefile", "Snakefile"], False),
    (["snakemake", "-sSnakefile", "-c2"], False),  # an n in an option's value, not a flag
    (["snakemake", "-c2", "-Rpool"], False),
    (["snakemake", "-c2", "--forcerun", "gosh", "bayes"], False),
    (["snakemake", "--touch", "-c1"], True),
    (["snakemake", "--lint"], True),
    (["snakemake", "--dag"], True),
    (["snakemake", "--rulegraph", "mermaid-js"], True),
    (["snakemake", "--summary"], True),
    (["snakemake", "--list-changes", "code"], True),
    (["snakemake", "--unlock"], True),
    (["snakemake", "--report", "snakemake-report.html"], True),
    (["snakemake", "-c2", "--report", "snakemake-report.zip", "--report-after-run"], False),
    (["pytest", "-n", "2", "--dist", "loadscope"], False),  # not Snakemake's command line (its Python API)
])
def test_command_lines_that_run_no_job_are_told_apart_from_runs(argv, no_job):
    assert warm_start.runs_no_job(argv) is no_job


def test_a_profile_that_asks_for_a_dry_run_is_read(tmp_path, monkeypatch):
    (tmp_path / "dry").mkdir()
    (tmp_path / "dry" / "config.yaml").write_text("dryrun: true\ncores: 1\n")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("cores: 1\n")
    monkeypatch.chdir(tmp_path)
    assert warm_start.runs_no_job(["snakemake", "--profile", "dry"]) is True
    assert warm_start.runs_no_job(["snakemake", "--profile", "run"]) is False


def test_every_option_that_runs_no_job_is_one_of_snakemake_s():
    # A renamed option would silently count as a run: each name must be an attribute of Snakemake's parsed line.
    from snakemake import cli

    _, args = cli.parse_args([])
    assert [name for name in warm_start.NO_JOB_OPTIONS if not hasattr(args, name)] == []
