# alliance-meta: meta-analysis of therapeutic alliance-outcome and alliance-dropout studies.
# Orchestration only; the statistics live in src/alliance_meta/. See README.md.
import sys
from pathlib import Path

# The config checker ships with this Snakefile (src/alliance_meta/inputs/config_check.py).
if (Path(workflow.basedir) / "src" / "alliance_meta").is_dir():
    sys.path.insert(0, str(Path(workflow.basedir) / "src"))


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
