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
