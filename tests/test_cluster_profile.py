"""profiles/slurm without a cluster: the jobs of seconds stay where Snakemake runs, each rule's threads reach
SLURM, and GOSH asks for the memory its subsets x studies matrix needs (tests/test_slurm.py runs a real one)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from alliance_meta.analyses.gosh import memory_mb

ROOT = Path(__file__).resolve().parents[1]
PROFILE = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
#: jobs of seconds (docs/performance.md): a cluster job each would wait in the queue for longer than it runs
BOOKKEEPING = {"validate_sheet", "convert_effect_sizes", "coder_agreement", "prisma", "changes", "study_characteristics",
               "summary_of_findings", "report_figures", "word_tables", "report", "multiverse_specifications",
               "multiverse_table", "multiverse_plot"}
HEAVY = {"gosh", "bayes", "multiverse_batch", "selection_models", "sensitivity", "bma", "psychometric", "moderators"}


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """The demo's workflow as Snakemake reads it (no job runs; no warm-start server)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import OutputSettings, ResourceSettings

    folder = tmp_path_factory.mktemp("review")
    for name in ("config", "data"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("processed"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALLIANCE_META_WARM_START", "0")
        with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
            yield api.workflow(resource_settings=ResourceSettings(), snakefile=ROOT / "Snakefile",
                               workdir=folder)._workflow


def test_the_jobs_of_seconds_are_local_rules_and_the_analyses_cluster_jobs(workflow):
    """Only the multiverse's three bookkeeping rules were local: a run through profiles/slurm submitted the sheet
    checks, the conversion, PRISMA, the tables and the report as SLURM jobs of a second or two each."""
    local = {rule.name for rule in workflow.rules if rule.name in workflow._localrules and rule.group is None}
    assert BOOKKEEPING <= local
    assert not HEAVY & local and HEAVY <= {rule.name for rule in workflow.rules}


def test_threads_reach_slurm_and_every_set_resource_names_a_rule(workflow):
    """default-resources: cpus_per_task: 1 overrode every rule's threads (snakemake-executor-plugin-slurm takes
    that resource before the threads): bayes with set-threads 4 ran its 4 chains on one allocated core."""
    assert "cpus_per_task" not in PROFILE["default-resources"]
    assert PROFILE["set-threads"] == {"bayes": 4}  # its 4 chains in parallel (nutpie: the same draws on 1 core)
    rules = {rule.name for rule in workflow.rules}
    assert set(PROFILE["set-resources"]) <= rules and set(PROFILE.get("set-threads") or {}) <= rules


def test_gosh_asks_for_the_memory_of_its_subset_matrix(workflow, tmp_path):
    """GOSH ran with the profile's 2,000 MB whatever k: at k = 375 it needs 4.1 GB (docs/performance.md), and
    SLURM ends a job that exceeds its memory (OUT_OF_MEMORY)."""
    assert memory_mb(375) >= 4100 and memory_mb(125) >= 1500  # the demo's outcome family: 1,500 MB resident
    assert memory_mb(10) == 1000 + 1  # 1,023 subsets: all of them
    gosh = next(rule for rule in workflow.rules if rule.name == "gosh")
    mem_mb = gosh.resources["mem_mb"]._value  # the rule's function (common.smk: gosh_mem_mb)
    effects = tmp_path / "effects.csv"
    effects.write_text("study_id,yi\n" + "".join(f"S{i // 2},0.1\n" for i in range(750)), encoding="utf-8")
    assert mem_mb(None, input=[str(effects)]) == memory_mb(375) > 4500
