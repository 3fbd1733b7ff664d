"""The multiverse through profiles/slurm on a real single-node SLURM cluster equals the local run.

The fixture starts munged (when no munge daemon answers), slurmctld and slurmd on this machine
(Debian's slurm-wlm and munge; as root), with accounting off, so job states come from squeue
as the profile says. The compute steps inside a job find the configuration at its compiled-in
path, so /etc/slurm/slurm.conf is written for the test and removed afterwards; a configuration
that was already there is never touched (the test is skipped).
Skipped when the SLURM or munge programs are missing or the tests do not run as root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from test_workflow import tiny_sheet

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
SLURM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by alliance-meta tests/test_slurm.py"
PROGRAMS = ("slurmctld", "slurmd", "sbatch", "squeue", "srun", "sinfo", "munged", "munge", "unmunge")
CONFIG = """families: [outcome]
multiverse:
  methods: [DL, REML]
  minimum_n: [0]
  batch_size: 60
"""

pytestmark = pytest.mark.slow


def _skip_reason() -> str | None:
    missing = [program for program in PROGRAMS if shutil.which(program) is None]
    if missing:
        return f"SLURM/munge programs missing: {', '.join(missing)} (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "starting slurmctld, slurmd and munged needs root"
    if SLURM_CONF.exists() and MARKER not in SLURM_CONF.read_text():
        return f"{SLURM_CONF} exists (a configured cluster); not overwritten"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _munge_works() -> bool:
    encoded = subprocess.run(["munge", "-n"], capture_output=True)
    return encoded.returncode == 0 and subprocess.run(["unmunge"], input=encoded.stdout,
                                                      capture_output=True).returncode == 0


def _start_munge() -> int | None:
    """Start munged as the munge user unless one answers; its pid when started here."""
    if _munge_works():
        return None
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        subprocess.run(["mungekey", "--create"], check=True)
        shutil.chown(key, "munge", "munge")
    run = Path("/run/munge")
    run.mkdir(parents=True, exist_ok=True)
    shutil.chown(run, "munge", "munge")
    subprocess.run(["runuser", "-u", "munge", "--", shutil.which("munged")], check=True)
    for _ in range(50):
        if _munge_works():
            return int((run / "munged.pid").read_text())
        time.sleep(0.1)
    raise RuntimeError("munged did not start")


def _node_line(host: str) -> str:
    """``NodeName=... CPUs=... RealMemory=...`` of this machine, as slurmd -C reports it."""
    report = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    fields = dict(item.split("=", 1) for item in report.split()[:8] if "=" in item)
    return f"NodeName={host} CPUs={fields['CPUs']} RealMemory={fields['RealMemory']} State=UNKNOWN"


def _write_config(folder: Path, host: str) -> None:
    for name in ("state", "spool"):
        (folder / name).mkdir()
    SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SLURM_CONF.write_text("\n".join([
        MARKER, "ClusterName=alliance-test", f"SlurmctldHost={host}",
        f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}", "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", "ProctrackType=proctrack/pgid", "TaskPlugin=task/none",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory",
        "AccountingStorageType=accounting_storage/none", "JobAcctGatherType=jobacct_gather/none",
        "JobCompType=jobcomp/none", "MpiDefault=none", "ReturnToService=2", "MinJobAge=300",
        f"StateSaveLocation={folder / 'state'}", f"SlurmdSpoolDir={folder / 'spool'}",
        f"SlurmctldPidFile={folder / 'slurmctld.pid'}", f"SlurmdPidFile={folder / 'slurmd.pid'}",
        f"SlurmctldLogFile={folder / 'slurmctld.log'}", f"SlurmdLogFile={folder / 'slurmd.log'}",
        _node_line(host), f"PartitionName=main Nodes={host} Default=YES MaxTime=INFINITE State=UP", ""]))


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("slurm")
    host = socket.gethostname().split(".")[0]
    munged = _start_munge()
    _write_config(folder, host)
    daemons = []
    try:
        daemons.append(subprocess.Popen(["slurmctld", "-D"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        daemons.append(subprocess.Popen(["slurmd", "-D", "-N", host], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT))
        for _ in range(120):
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.strip()
            if state == "idle":
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"the SLURM node did not become idle: {state!r}")
        yield host
    finally:
        for daemon in reversed(daemons):
            daemon.terminate()
            daemon.wait(timeout=30)
        SLURM_CONF.unlink(missing_ok=True)
        if munged is not None:
            os.kill(munged, 15)


def _review(folder: Path) -> Path:
    (folder / "data" / "raw").mkdir(parents=True)
    (folder / "config").mkdir()
    tiny_sheet().to_csv(folder / "data" / "raw" / "studies.csv", index=False)
    (folder / "config" / "config.yaml").write_text(CONFIG)
    return folder


def _snakemake(folder: Path, *args: str) -> str:
    command = [str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(folder), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONHASHSEED": "0"})
    if result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


def test_multiverse_through_the_slurm_profile_equals_the_local_run(slurm_cluster, tmp_path):
    local, cluster = _review(tmp_path / "local"), _review(tmp_path / "cluster")
    _snakemake(local, "--cores", "2", "multiverse")
    _snakemake(cluster, "--cores", "2", "data/processed/outcome/effect_sizes.csv")  # the cheap steps, locally
    log = _snakemake(cluster, "--profile", str(ROOT / "profiles" / "slurm"),
                     "--slurm-init-seconds-before-status-checks", "1", "multiverse")
    submitted = [line for line in log.splitlines() if "has been submitted with SLURM jobid" in line]
    specifications = pd.read_csv(cluster / "data/processed/outcome/multiverse/specifications.csv")
    assert len(submitted) == -(-len(specifications) // 60) > 1  # one SLURM job per batch, nothing else
    assert all("multiverse_batch" in line for line in submitted)
    for name in ("multiverse.csv", "multiverse_summary.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(cluster / "results/outcome" / name),
                                      pd.read_csv(local / "results/outcome" / name))
    assert (cluster / "results/outcome/multiverse.png").stat().st_size > 0
