# Stage: from results to the manuscript and the next update: what changed since the previous
# run (results/history/, results/changes.csv). Word tables are written in report.smk.
import hashlib


def _sheet_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


SHEET_SHA256 = _sheet_sha256(config["sheet"])
CHANGES_ANALYSES = {"moderators": "moderators.csv", "influence": "influence.csv", "bayes": "bayes.csv"}


def changes_tables(wildcards):
    """pooled.csv of every family, and the moderators, influence and Bayes tables that
    `changes.analyses` names and the run produces (FINAL_TARGETS)."""
    wanted = ["pooled.csv"] + [CHANGES_ANALYSES[name] for name in config["changes"]["analyses"]]
    produced = set(FINAL_TARGETS)
    return [f"results/{family}/{name}" for family in FAMILIES for name in wanted
            if name == "pooled.csv" or f"results/{family}/{name}" in produced]


# The previous run's snapshot is read from results/history/ inside the job, before this run's
# snapshot is written; snapshots of other sheets are never outputs, so Snakemake never deletes them.
rule changes:
    input:
        effect_sizes="data/processed/effect_sizes.csv",
        tables=changes_tables,
    output:
        snapshot=f"results/history/{SHEET_SHA256}.json",
        changes="results/changes.csv",
    params:
        sheet=config["sheet"],
        sheet_sha256=SHEET_SHA256,
        history="results/history",
        families=FAMILIES,
        metrics=config["metric"],
        main_method=MAIN_METHOD,
        tests=config["pooling"]["tests"],
    conda:
        CONDA_ENV
    log:
        "logs/changes.log",
    script:
        "../scripts/changes.py"


FINAL_TARGETS.append("results/changes.csv")


# PRISMA 2020 flow diagram, only when the config has a `prisma:` block.
if config["prisma"]:

    rule prisma:
        input:
            sheet="data/processed/sheet.csv",
        output:
            expand("results/prisma.{ext}", ext=["pdf", "png", "svg"]),
        params:
            prisma=config["prisma"],
        conda:
            CONDA_ENV
        log:
            "logs/prisma.log",
        script:
            "../scripts/prisma.py"

    FINAL_TARGETS.extend(expand("results/prisma.{ext}", ext=["pdf", "png", "svg"]))


def grade_inputs(wildcards):
    """bias.csv and selection_models.csv of the family when the run produces them."""
    produced = set(FINAL_TARGETS)
    return {name: f"results/{wildcards.family}/{name}.csv" for name in ("bias", "selection_models")
            if f"results/{wildcards.family}/{name}.csv" in produced}


rule summary_of_findings:
    input:
        unpack(grade_inputs),
        pooled="results/{family}/pooled.csv",
        analysis="data/processed/{family}/analysis.csv",
        effect_sizes=family_effect_sizes,
    output:
        "results/{family}/summary_of_findings.csv",
    params:
        grade=config["grade"],
        metric=lambda wildcards: config["metric"][wildcards.family],
        main_method=MAIN_METHOD,
        tests=config["pooling"]["tests"],
    conda:
        CONDA_ENV
    log:
        "logs/summary_of_findings_{family}.log",
    script:
        "../scripts/summary_of_findings.py"


FINAL_TARGETS.extend(expand("results/{family}/summary_of_findings.csv", family=FAMILIES))
