# Stage: from results to the manuscript and the next update: what changed since the previous
# sheet version (results/history/, results/changes.csv), the PRISMA 2020 flow diagram and the suggested
# GRADE summary of findings. Word tables are written in report.smk.
include: "manuscript_inputs.smk"


# The compared snapshot (the last run of the previous sheet version) is read from results/history/ inside the job, before this run's
# snapshot is written; snapshots of other sheets are never outputs, so Snakemake never deletes them.
# This sheet's own snapshot is kept until the job replaces it (update) for the config it was run with.
# params.config holds only the config keys that decide the compared results (compared_config):
# another key, e.g. of the plots, does not rerun this job and the report after it.
rule changes:
    localrule: True  # seconds of bookkeeping: runs where Snakemake runs, never a cluster job
    input:
        effect_sizes="data/processed/effect_sizes.csv",
        tables=changes_tables,
    output:
        snapshot=update(f"results/history/{SHEET_SHA256}.json"),
        changes="results/changes.csv",
    params:
        sheet=config["sheet"],
        sheet_sha256=SHEET_SHA256,
        history=lambda wildcards, output: str(Path(output.snapshot).parent),
        families=FAMILIES,
        metrics=config["metric"],
        main_method=HEADLINE_METHOD,
        tests=config["pooling"]["tests"],
        config=compared_config(config, moderators_from_sheet=MODERATORS_FROM_SHEET),
        defaults=CONFIG_DEFAULTS,
    conda:
        CONDA_ENV
    log:
        "logs/changes.log",
    benchmark:
        "logs/benchmarks/changes.tsv"
    script:
        "../scripts/changes.py"


# The snapshot is a target of its own: Snakemake does not remake a missing file that only the report (up to
# date) reads, so a deleted results/history/ was not written again and the report named snapshots that were gone.
FINAL_TARGETS.extend(["results/changes.csv", f"results/history/{SHEET_SHA256}.json"])


# PRISMA 2020 flow diagram, only when the config has a `prisma:` block.
if config["prisma"]:

    rule prisma:
        localrule: True  # seconds of bookkeeping: runs where Snakemake runs, never a cluster job
        # first of the ready jobs but the conversion: counts that disagree with the sheet (the example config's kept with a reviewer's
        # own sheet) stop a run among its first jobs, not after half of them (see multiverse_specifications)
        priority: 4
        input:
            sheet="data/processed/sheet.csv",
        output:
            expand("results/prisma.{ext}", ext=["pdf", "png", "svg"]),
        params:
            prisma=config["prisma"],
            figure={key: config["plots"][key] for key in ("width", "dpi")},  # the diagram's width, the PNG's dpi
        conda:
            CONDA_ENV
        log:
            "logs/prisma.log",
        benchmark:
            "logs/benchmarks/prisma.tsv"
        script:
            "../scripts/prisma.py"

    FINAL_TARGETS.extend(expand("results/prisma.{ext}", ext=["pdf", "png", "svg"]))


rule summary_of_findings:
    localrule: True  # seconds of bookkeeping: runs where Snakemake runs, never a cluster job
    priority: 2  # the Word tables wait for it (see multiverse_specifications)
    input:
        unpack(grade_inputs),
        pooled="results/{family}/pooled.csv",
        analysis="data/processed/{family}/analysis.csv",
        effect_sizes=family_effect_sizes,
    output:
        "results/{family}/summary_of_findings.csv",
    params:
        grade=grade_options,
        **CUSTOM_RISK_OF_BIAS,  # a custom tool's worst level is high risk
        metric=lambda wildcards: config["metric"][wildcards.family],
        main_method=HEADLINE_METHOD,
        tests=config["pooling"]["tests"],
    conda:
        CONDA_ENV
    log:
        "logs/summary_of_findings_{family}.log",
    benchmark:
        "logs/benchmarks/summary_of_findings_{family}.tsv"
    script:
        "../scripts/summary_of_findings.py"


FINAL_TARGETS.extend(expand("results/{family}/summary_of_findings.csv", family=FAMILIES))


# A manuscript's table of the included studies: N, effect sizes, moderators, overall risk of bias and the study's
# composite effect with its CI (alliance_meta.report.summary.study_characteristics).
rule study_characteristics:
    localrule: True  # seconds of bookkeeping: runs where Snakemake runs, never a cluster job
    priority: 2  # the Word tables wait for it (see multiverse_specifications)
    input:
        effect_sizes=family_effect_sizes,
    output:
        "results/{family}/study_characteristics.csv",
    params:
        moderators=config["moderators"],
        metric=lambda wildcards: config["metric"][wildcards.family],
        level=config["pooling"]["level"],
        aggregate_method=config["aggregate_method"],
        rho=config["aggregate_rho"],
    conda:
        CONDA_ENV
    log:
        "logs/study_characteristics_{family}.log",
    benchmark:
        "logs/benchmarks/study_characteristics_{family}.tsv"
    script:
        "../scripts/study_characteristics.py"


FINAL_TARGETS.extend(expand("results/{family}/study_characteristics.csv", family=FAMILIES))
