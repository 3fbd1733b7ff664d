# alliance-meta: meta-analysis of therapeutic alliance-outcome and alliance-dropout studies.
# Orchestration only; the statistics live in src/alliance_meta/. See README.md.
from pathlib import Path


if Path("config/config.yaml").exists():

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/sheet.smk"
include: "workflow/rules/pooling.smk"
include: "workflow/rules/moderators.smk"
include: "workflow/rules/bias.smk"
include: "workflow/rules/selection.smk"
include: "workflow/rules/bayes.smk"
include: "workflow/rules/multiverse.smk"
include: "workflow/rules/report.smk"  # keep last: the report collects every stage's outputs


rule all:
    default_target: True
    input:
        FINAL_TARGETS,
