# alliance-meta: meta-analysis of therapeutic alliance-outcome and alliance-dropout studies.
# Orchestration only; the statistics live in src/alliance_meta/. See README.md.
import os
import sys
from pathlib import Path

# glibc's malloc in every job (the jobs inherit this environment; other C libraries ignore it):
# by default a freed block over 128 kB goes back to the system, so each of NumPy's large
# temporaries faults its pages in again (a third of the selection models' time). Blocks up to
# 32 MB come from the heap and freed memory stays with the job until it ends (mallopt(3):
# M_MMAP_THRESHOLD, M_TRIM_THRESHOLD). The numbers do not change. A value set outside wins.
os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(32 * 2**20))
os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(4 * 2**30))
# Each job keeps the texts it measures and draws for its whole process, not only while it writes
# (src/alliance_meta/plots/text_cache.py: ALLIANCE_META_REUSE_TEXT); the figures are the same bytes.
os.environ.setdefault("ALLIANCE_META_REUSE_TEXT", "1")

# The package ships with this Snakefile (src/alliance_meta/; the config checker is read from it). The
# jobs import it from there too (they inherit PYTHONPATH): else a job would import whatever
# alliance_meta its Python has installed (another checkout, an older release) while this process
# plans the run with this one, and the warm start (alliance_meta/warm_start.py) would decline them.
if (Path(workflow.basedir) / "src" / "alliance_meta").is_dir():
    sys.path.insert(0, str(Path(workflow.basedir) / "src"))
    os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [str(Path(workflow.basedir) / "src"),
                                                               os.environ.get("PYTHONPATH")])))


# config/config.yaml (optional; empty = all defaults) is read and checked in common.smk.
include: "workflow/rules/common.smk"
include: "workflow/rules/sheet.smk"
include: "workflow/rules/pooling.smk"
include: "workflow/rules/moderators.smk"
include: "workflow/rules/bias.smk"
include: "workflow/rules/selection.smk"
include: "workflow/rules/bayes.smk"
include: "workflow/rules/bma.smk"
include: "workflow/rules/multiverse.smk"
include: "workflow/rules/beyond_intercept.smk"
include: "workflow/rules/psychometric.smk"
include: "workflow/rules/coding.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/manuscript.smk"
include: "workflow/rules/risk_of_bias.smk"
include: "workflow/rules/report.smk"  # keep last: the report collects every stage's outputs


rule all:
    default_target: True
    input:
        FINAL_TARGETS,


# What the config leaves out (needs every rule): a note on an earlier run's outputs it no longer makes.
include: "workflow/rules/left_out.smk"
