"""Warm start for the pipeline's jobs: each job script runs in a process forked from a server
that has already imported numpy, pandas, matplotlib and alliance_meta.

Every Snakemake ``script:`` job is a new Python process, and importing the scientific stack
takes 1.3-2 s of each job (more where ``PYTHONDONTWRITEBYTECODE`` keeps the package's bytecode
from being cached), which on the demo is a quarter of the run's job time. The main Snakemake
process starts one :func:`serve` process per run (``workflow/rules/common.smk``); the first line
of every job script calls :func:`run_in_warm_process`, which hands the job (its ``snakemake``
object, working directory, environment and standard streams) to the server over a Unix socket.
The server forks; the child runs the script exactly as Snakemake would have, and the job's
process exits with the child's exit status. This is the preloading fork server of
``multiprocessing`` (``set_forkserver_preload``) applied to whole job scripts.

The job runs in place, as before, whenever the server cannot take it: no server for this run
(a dry run, a script run outside the pipeline, a job of a cluster, even on the machine that runs
Snakemake: only the processes Snakemake started are served, :func:`_started_by`), a
different Python (``--use-conda``, containers), other BLAS thread settings (a rule with more
than one thread, unless its script declares that it does no linear algebra), or the server gone. Results do not depend on
where the job ran. What does differ: Snakemake's ``benchmark:`` files measure the job's own
process, so their wall time ``s`` is right but their memory and CPU columns no longer include
the script's work.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pickle
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: environment variable with the directory of the servers' sockets (set by the main Snakemake process)
SOCKET_ENV = "ALLIANCE_META_WARM_SOCKETS"
_IN_CHILD_ENV = "ALLIANCE_META_WARM_CHILD"
_HEADER = struct.Struct("!Q")
_STATUS = struct.Struct("!i")
#: imported by the server first, then every module of alliance_meta (a failed import is skipped:
#: the job that needs it reports the error itself). The sheet's checks and formulas come before
#: matplotlib: the first jobs (validation, coder agreement) need them and no figure, and arrive
#: about when pandas is in; the server forks no job while it imports these
PRELOAD = ("snakemake.io", "snakemake.iocontainers", "snakemake.logging", "numpy", "pandas",
           "alliance_meta.inputs.sheet", "formulaic", "matplotlib.pyplot", "pyarrow.pandas_compat")
#: imported by the server after alliance_meta's modules: what the package imports only where it is used
#: and several jobs use (scipy.stats, the PDF and SVG backends, the preview's WebP writer, ...); a
#: ``module:function`` is called once imported: the config schema, which the plotting jobs check their options
#: against (read from YAML and its defaults checked: 0.1 s of each such job), loaded once for all of them
LATER = ("scipy.stats", "scipy.ndimage", "jsonschema", "matplotlib.backends.backend_pdf",
         "matplotlib.backends.backend_svg", "pandas.io.formats.csvs", "PIL.WebPImagePlugin",
         "alliance_meta.inputs.options:_config_schema")
#: stacks that only some jobs import, each preloaded by a server of its own (forked from the
#: first once it has its imports): a job script names its stack
#: (PyTensor's numba dispatch and C-linker errors, which import setuptools, are imported when the first model is
#: built: about 0.35 s of each bayes job otherwise)
STACKS = {"bayes": ("pymc", "arviz", "nutpie", "alliance_meta.bayes.compiled", "pytensor.link.numba.dispatch",
                    "pytensor.link.c.exceptions")}
NOT_PRELOADED = ("alliance_meta.bayes.compiled",)  # by the first server: it is in the bayes stack


#: read by the linear-algebra libraries when they load; Snakemake sets them to a job's threads,
#: and the number of BLAS threads changes the order of its sums (and the last bits of results)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
SERVER_THREADS = "1"  # the jobs of single-threaded rules (the rest run in place)


def _package_stamp() -> str:
    """The package's Python files as this process found them: a digest of their paths, sizes and modification
    times (stat only: a job's start pays about a millisecond)."""
    import hashlib

    root = Path(__file__).resolve().parent
    entries = sorted((str(path.relative_to(root)), path.stat()) for path in root.rglob("*.py"))
    text = "\n".join(f"{name} {status.st_size} {status.st_mtime_ns}" for name, status in entries)
    return hashlib.sha256(text.encode()).hexdigest()


#: taken when the module is imported: in a server, the code it imports; in a job, the code on disk now
_STAMP = _package_stamp()


def _identity(linear_algebra: bool = True) -> tuple:
    """Jobs may be forked only from a server with the same interpreter, package (the same files, unchanged
    since the server started: a `git pull` during a run makes the later jobs run in place, with the new code,
    instead of the server's old modules with the new scripts) and (for a job that does linear algebra) BLAS
    threads."""
    threads = tuple(os.environ.get(name) for name in THREAD_VARIABLES) if linear_algebra else None
    return (os.path.realpath(sys.executable), sys.version, os.path.realpath(os.path.dirname(__file__)), _STAMP,
            threads)


# -- the main Snakemake process's side ---------------------------------------------------------

def start_server() -> subprocess.Popen | None:
    """Start this run's servers and point the jobs (which inherit the environment) at them;
    None (every job runs in place) where the system has no fork or Unix sockets, or the
    server cannot be started.

    The listening sockets are bound here, before the servers have imported anything, so a job
    that starts early waits in the backlog instead of missing its server."""
    if not (hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and hasattr(socket, "send_fds")):
        return None
    directory = tempfile.mkdtemp(prefix="alliance-meta-warm-")
    listeners = []
    try:
        for name in ("jobs", *STACKS):
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listeners.append(listener)
            listener.bind(os.path.join(directory, f"{name}.sock"))
            listener.listen(64)
        package_root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
        environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        environment.update(dict.fromkeys(THREAD_VARIABLES, SERVER_THREADS))
        fds = [listener.fileno() for listener in listeners]
        server = subprocess.Popen(
            [sys.executable, "-m", "alliance_meta.warm_start", directory, str(os.getpid()), *map(str, fds)],
            pass_fds=fds, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:  # e.g. a socket path too long for the system: no warm start
        shutil.rmtree(directory, ignore_errors=True)
        return None
    finally:
        for listener in listeners:
            listener.close()
    os.environ[SOCKET_ENV] = directory
    return server


#: Snakemake's options (their ``argparse`` names) with which it runs no job script: it lints, lists, draws,
#: summarises, cleans up or reports what is there, or runs the jobs dry or by touching their outputs
#: (``snakemake.cli.args_to_api``; ``--report`` runs jobs only with ``--report-after-run``)
NO_JOB_OPTIONS = ("dryrun", "touch", "lint", "list_target_rules", "list_rules", "print_compilation", "containerize",
                  "generate_unit_tests", "dag", "rulegraph", "filegraph", "d3dag", "unlock", "cleanup_metadata",
                  "conda_cleanup_envs", "conda_create_envs_only", "list_conda_envs", "cleanup_shadow",
                  "container_cleanup_images", "list_changes", "list_input_changes", "list_params_changes",
                  "list_untracked", "summary", "detailed_summary", "archive", "delete_all_output", "delete_temp_output",
                  "edit_notebook")


def runs_no_job(argv: list[str]) -> bool:
    """Whether a Snakemake command line runs no job script (a dry run, ``--touch``, ``--lint``, ``--dag``, a
    report of the results there, ... :data:`NO_JOB_OPTIONS`), read as Snakemake reads it: its own parser, with
    abbreviations (``--dry-ru``), joined short options (``-np``, ``-sSnakefile``) and the profiles' settings
    (``dryrun: true``). The workflow starts the server while it reads the Snakefile, before Snakemake says
    whether jobs will run; such a command line gets none. A command line that Snakemake's parser does not take
    (the Snakefile read through Snakemake's Python API) counts as a run: the workflow starts a server for it."""
    from snakemake import cli

    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            _, args = cli.parse_args(argv[1:])  # says which profiles it reads, on stderr: Snakemake said it before
    except (Exception, SystemExit):  # noqa: BLE001 - not a command line of Snakemake's
        return False
    if args.report is not None and not args.report_after_run:
        return True
    return any(getattr(args, name, None) not in (None, False) for name in NO_JOB_OPTIONS)


def stop_server(server: subprocess.Popen | None) -> None:
    """Stop the servers (their sockets go with them); jobs started later run in place."""
    directory = os.environ.pop(SOCKET_ENV, None)
    if server is not None and server.poll() is None:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if directory:
        shutil.rmtree(directory, ignore_errors=True)


# -- the job's side ----------------------------------------------------------------------------

def run_in_warm_process(script_globals: dict, stack: str | None = None, linear_algebra: bool = True) -> None:
    """Run the calling job script in a process forked from the run's warm server (the one with
    ``stack`` imported, a key of :data:`STACKS`), and exit with its status; return (and let the
    script go on here) when no server can take it. A script that does no linear algebra
    (``linear_algebra=False``: its results cannot depend on how BLAS splits its sums) is taken
    whatever its rule's thread count; it may start threads of its own."""
    if os.environ.get(_IN_CHILD_ENV) or SOCKET_ENV not in os.environ or "snakemake" not in script_globals:
        return
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(os.path.join(os.environ[SOCKET_ENV], f"{stack or 'jobs'}.sock"))
        job = pickle.dumps({
            "identity": _identity(linear_algebra),
            "linear_algebra": linear_algebra,
            "script": script_globals["__file__"],
            "snakemake": script_globals["snakemake"],
            "cwd": os.getcwd(),
            "environ": dict(os.environ),
            "path": list(sys.path),
        }, protocol=pickle.HIGHEST_PROTOCOL)
        sys.stdout.flush()
        sys.stderr.flush()
        socket.send_fds(connection, [_HEADER.pack(len(job))], [0, 1, 2])
        connection.sendall(job)
    except (OSError, pickle.PicklingError):
        return  # no server (or it left): run here
    if _receive_status(connection) != _ACCEPTED:
        return  # declined (another interpreter or package), or no server after all: run here
    status = _receive_status(connection)
    if status == _RUN_HERE:
        return
    if status is None:
        sys.exit("alliance-meta: the warm-start server ended while this job ran; rerun the pipeline.")
    sys.exit(status)


def _receive_status(connection: socket.socket) -> int | None:
    reply = _receive_exactly(connection, _STATUS.size)
    return None if reply is None else _STATUS.unpack(reply)[0]


def _receive_exactly(connection: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        try:
            chunk = connection.recv(size - len(data))
        except InterruptedError:
            continue
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


#: replies other than an exit status
_ACCEPTED, _DECLINED, _RUN_HERE = -(2**31), -(2**31) + 1, -(2**31) + 2


# -- the server's side -------------------------------------------------------------------------

def _package_modules() -> list[str]:
    """alliance_meta's modules but :data:`NOT_PRELOADED`, found without importing them."""
    root = Path(__file__).resolve().parent
    names = (".".join(("alliance_meta", *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
             for path in sorted(root.rglob("*.py")))
    return [name for name in names if not name.startswith(NOT_PRELOADED)]


def _import(name: str) -> None:
    """Import module ``name``; of a ``module:function`` (:data:`LATER`), call the function too."""
    module, _, function = name.partition(":")
    try:
        imported = importlib.import_module(module)
        if function:
            getattr(imported, function)()
    except Exception:  # noqa: BLE001 - the job that needs it reports the error itself
        pass


def serve(directory: str, parent: int, jobs_fd: int, *stack_fds: int) -> None:
    """Import :data:`PRELOAD`, then fork one child per job that connects to the listening
    socket ``jobs_fd`` while importing alliance_meta's modules and :data:`LATER` one by one between jobs; once
    they are in, fork one server per stack of :data:`STACKS` (listening on ``stack_fds``, in
    order). Serve until SIGTERM or until process ``parent`` (which started the server) ends;
    then remove the sockets' ``directory``."""
    _OWNER[0] = parent
    for name in PRELOAD:  # what nearly every job imports first
        _import(name)
    server, stack_servers = os.getpid(), []

    def start_stack_servers(inherited: list[socket.socket]) -> None:
        for name, fd in zip(STACKS, stack_fds):
            pid = os.fork()
            if pid == 0:
                try:
                    os.setpgid(0, 0)
                    for other in inherited:
                        other.close()
                    for other in stack_fds:
                        if other != fd:
                            os.close(other)
                    _serve_jobs(socket.socket(fileno=fd), server, list(STACKS[name]))
                finally:
                    os._exit(0)
            stack_servers.append(pid)
        for fd in stack_fds:
            os.close(fd)

    try:
        _serve_jobs(socket.socket(fileno=jobs_fd), parent, [*_package_modules(), *LATER], start_stack_servers)
    finally:
        for pid in stack_servers:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        shutil.rmtree(directory, ignore_errors=True)


def _serve_jobs(listener: socket.socket, parent: int, preload: list[str], when_loaded=None) -> None:
    """Fork a child for each job that connects to ``listener``, importing ``preload`` in the
    meantime (then calling ``when_loaded`` with the sockets a further fork must close), until
    SIGTERM or until ``parent`` ends."""
    stopping, pending = [], preload[::-1]
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    children: dict[int, socket.socket] = {}
    try:
        while not stopping and os.getppid() == parent:
            try:
                ready, _, _ = select.select([listener, *children.values()], [], [], 0 if pending else 0.05)
            except InterruptedError:
                continue
            for connection in ready:
                if connection is listener:
                    _accept(listener, children)
                elif _closed(connection):  # the job's process is gone: stop its script too
                    _kill(next(pid for pid, c in children.items() if c is connection))
            _reap(children)
            if pending:
                _import(pending.pop())
                if not pending and when_loaded is not None:
                    when_loaded([listener, *children.values()])
    finally:
        for pid in list(children):
            _kill(pid)
        deadline = time.monotonic() + 5
        while children and time.monotonic() < deadline:
            _reap(children)
            time.sleep(0.01)
        listener.close()


#: the process that started the servers (the main Snakemake process), set by :func:`serve`
_OWNER = [0]


def _peer(connection: socket.socket) -> int | None:
    """The process id of the other end of a Unix socket (Linux's SO_PEERCRED), None where the system cannot tell."""
    try:
        return _PEER_CREDENTIALS.unpack(connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                              _PEER_CREDENTIALS.size))[0]
    except (AttributeError, OSError):
        return None


_PEER_CREDENTIALS = struct.Struct("3i")  # pid, uid, gid


def _started_by(pid: int | None, owner: int) -> bool:
    """Whether process ``pid`` is a descendant of ``owner`` (True where the system cannot tell).

    A cluster job on the machine that runs Snakemake (a one-node cluster, a login node that is also a compute
    node) inherits the socket folder from Snakemake's environment; forked from the server, it would run outside
    its allocation. Only the processes that Snakemake started locally are served."""
    if pid is None or not owner:
        return True
    seen = set()
    while pid > 1 and pid not in seen:
        if pid == owner:
            return True
        seen.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return not Path("/proc/self/stat").exists()  # no /proc: cannot tell
    return False


def _closed(connection: socket.socket) -> bool:
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        pass


def _reap(children: dict[int, socket.socket]) -> None:
    """Send each finished child's exit status to its job's process."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is None:
            continue
        code = os.waitstatus_to_exitcode(status)
        try:
            connection.sendall(_STATUS.pack(code if code >= 0 else 128 - code))
        except OSError:
            pass
        connection.close()


def _accept(listener: socket.socket, children: dict[int, socket.socket]) -> None:
    connection, _ = listener.accept()
    connection.settimeout(30)
    try:
        header, fds, _, _ = socket.recv_fds(connection, _HEADER.size, 3)
        if len(header) < _HEADER.size:
            raise OSError("short header")
        job = pickle.loads(_receive_exactly(connection, _HEADER.unpack(header)[0]) or b"")
    except Exception:  # noqa: BLE001 - a broken request: the job runs in its own process
        connection.close()
        return
    accepted = (job.get("identity") == _identity(job.get("linear_algebra", True)) and len(fds) == 3
                and _started_by(_peer(connection), _OWNER[0]))
    try:
        connection.sendall(_STATUS.pack(_ACCEPTED if accepted else _DECLINED))
    except OSError:  # the job's process is gone already
        accepted = False
    if not accepted:
        for fd in fds:
            os.close(fd)
        connection.close()
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        pid = None
    if pid == 0:
        listener.close()
        for other in children.values():
            other.close()
        connection.close()
        _run_child(job, fds)  # never returns
    for fd in fds:
        os.close(fd)
    if pid is None:
        try:
            connection.sendall(_STATUS.pack(_RUN_HERE))
        except OSError:
            pass
        connection.close()
        return
    connection.settimeout(None)
    children[pid] = connection


def _run_child(job: dict, fds: list[int]) -> None:
    """In the forked child: become the job (streams, directory, environment) and run its script.

    The objects inherited from the server (every imported module) are moved out of the cyclic garbage
    collector's reach first (``gc.freeze``, as Python's documentation advises for a process that forks
    without exec): the job's collections then traverse only the job's own objects, and do not write to
    the shared pages of the server's objects (each such write copies a page). About a sixth of the demo's
    job time (docs/performance.md); nothing the job computes changes."""
    import gc

    gc.freeze()
    code = 1
    try:
        os.setpgid(0, 0)  # the server stops the job's whole group if the job's process dies
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(job["cwd"])
        os.environ.clear()
        os.environ.update(job["environ"])
        os.environ[_IN_CHILD_ENV] = "1"
        sys.path[:] = job["path"]
        sys.argv = [job["script"]]
        tempfile.tempdir = None  # the job's TMPDIR (a Snakemake resource) if it has one
        import runpy

        names = runpy.run_path(job["script"], init_globals={"snakemake": job["snakemake"]}, run_name="__main__")
        names.clear()  # as at the end of a process: the script's objects are finalised (files closed)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if stop.code is not None and not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - reported as Python reports an uncaught exception (its excepthook)
        sys.excepthook(*sys.exc_info())
        code = 1
    finally:
        try:
            import atexit

            gc.collect()
            atexit._run_exitfuncs()  # logging.shutdown() and the like, as at interpreter exit
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)  # not the server's clean-up, which the child inherited


if __name__ == "__main__":
    serve(sys.argv[1], *map(int, sys.argv[2:]))
    # no interpreter shutdown (tearing down every module the server imported took 0.4-0.7 s, which
    # stop_server, and so the end of every run, waited for): the server has no files of its own to flush
    os._exit(0)
