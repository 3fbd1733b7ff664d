# Stage 6: forest plots per moderator, manuscript tables (Markdown, LaTeX, Word; all in
# results/tables.docx) and the
# self-contained HTML report.
# The report's inputs are read from FINAL_TARGETS when the DAG is built, so it depends
# on every table and plot of whichever stages are included, in any include order.

include: "report_inputs.smk"

from alliance_meta.report.settings import TableSettings

FOREST_FORMATS = ["pdf", "png", "svg"] + (["tiff"] if config["plots"]["tiff"] else [])


rule moderator_forest_plot:
    priority: 2  # among the longest jobs: started early (see multiverse_specifications)
    input:
        effect_sizes=family_effect_sizes,
        subgroups="results/{family}/subgroups.csv",
        moderators="results/{family}/moderators.csv",
        pooled="results/{family}/pooled.csv",
    output:
        [
            report(path, caption="../report/forest_moderator.rst", category="Forest plots", subcategory="{family}")
            if path.endswith(".png")
            else path
            for path in expand(
                "results/{{family}}/forest_{moderator}.{ext}", moderator=MODERATOR_FILES, ext=FOREST_FORMATS
            )
        ],
    params:
        moderators=config["moderators"],
        main_method=HEADLINE_METHOD,
        metric=lambda wildcards: config["metric"][wildcards.family],
        level=config["pooling"]["level"],
        aggregate_method=config["aggregate_method"],
        rho=config["aggregate_rho"],
        plots=MODERATOR_FOREST_PLOTS,
        risk_of_bias=RISK_OF_BIAS_TOOL,
    conda:
        CONDA_ENV
    log:
        "logs/moderator_forest_plot_{family}.log",
    benchmark:
        "logs/benchmarks/moderator_forest_plot_{family}.tsv"
    script:
        "../scripts/moderator_forest_plot.py"


# One job for every manuscript table (each in well under a second): Markdown, LaTeX and Word
# beside its CSV, and all of them numbered in results/tables.docx.
rule word_tables:
    localrule: True  # seconds of bookkeeping: runs where Snakemake runs, never a cluster job
    priority: 2  # a second's job, then only the report waits for it (see multiverse_specifications)
    input:
        tables=word_table_sources,
        effect_sizes="data/processed/effect_sizes.csv",  # whether the data are simulated (said in every table)
        sheet_notes="data/processed/sheet_notes.txt",  # whether some overall risk of bias was derived
    output:
        docx=WORD_TABLES,
        tables=manuscript_table_files(),
    params:
        metrics=config["metric"],
        level=config["pooling"]["level"],
        settings=TableSettings.from_config(config).as_params(),  # the few values the notes say (report/settings.py)
    conda:
        CONDA_ENV
    log:
        "logs/word_tables.log",
    benchmark:
        "logs/benchmarks/word_tables.tsv"
    script:
        "../scripts/word_tables.py"


# Each family's plots right-sized for the report (WebP data URIs, results/{family}/report_figures.json),
# collected from the previews that the plotting jobs stored beside their PNGs (a preview is made here only
# for a PNG without one); a rerun after a change in one family remakes only that family's.
rule report_figures:
    localrule: True  # seconds of bookkeeping: runs where Snakemake runs, never a cluster job
    input:
        family_report_images,
    output:
        "results/{family}/report_figures.json",
    conda:
        CONDA_ENV
    log:
        "logs/report_figures_{family}.log",
    benchmark:
        "logs/benchmarks/report_figures_{family}.tsv"
    script:
        "../scripts/report_figures.py"


rule report:
    localrule: True  # seconds of bookkeeping: runs where Snakemake runs, never a cluster job
    input:
        sheet=config["sheet"],
        validated_sheet="data/processed/sheet.csv",
        sheet_notes="data/processed/sheet_notes.txt",
        effect_sizes="data/processed/effect_sizes.csv",
        analysis=expand("data/processed/{family}/analysis.csv", family=FAMILIES),
        tables=report_tables,
        records=report_records,  # results/{family}/*.json: e.g. the sampler the bayes job used
        images=run_report_images,
        figures=expand("results/{family}/report_figures.json", family=FAMILIES),
        manuscript_tables=manuscript_table_files,
        snapshot=f"results/history/{SHEET_SHA256}.json",  # rule changes: which sheet versions changes.csv compares
        coding_notes=["data/processed/agreement_notes.txt"] if config.get("second_coder") else [],
    output:
        report(REPORT_HTML, caption="../report/report.rst", category="Report"),
    params:
        families=FAMILIES,
        absent_families=ABSENT_FAMILIES,
        families_left_out=FAMILIES_LEFT_OUT,
        earlier_outputs=earlier_results,  # common.smk: results/ files this config no longer makes
        config_defaults=CONFIG_DEFAULTS,  # manuscript_inputs.smk: for the config rows of the changes section
        # every key: the report shows the whole config (provenance) and its methods read it, so a key that reruns no
        # other job (multiverse.progress_every) reruns the report alone, not leaving it to show the old value
        config=dict(config),
    conda:
        CONDA_ENV
    log:
        "logs/report.log",
    benchmark:
        "logs/benchmarks/report.tsv"
    script:
        "../scripts/report.py"


FINAL_TARGETS.extend(
    expand(
        "results/{family}/forest_{moderator}.{ext}",
        family=FAMILIES,
        moderator=MODERATOR_FILES,
        ext=FOREST_FORMATS,
    )
)
FINAL_TARGETS.append(WORD_TABLES)
FINAL_TARGETS.append(REPORT_HTML)
