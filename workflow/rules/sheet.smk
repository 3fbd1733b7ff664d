# Stage 1-2: validate the raw sheet, convert every statistic to the family's metric,
# split by family and handle dependent effect sizes.


rule validate_sheet:
    localrule: True  # seconds of bookkeeping: runs where Snakemake runs, never a cluster job
    priority: 5  # every analysis waits for it and the conversion (see multiverse_specifications)
    input:
        config["sheet"],
    output:
        sheet="data/processed/sheet.csv",
        notes="data/processed/sheet_notes.txt",
    params:
        sheet_name=config["sheet_name"],
        decimal=config["decimal"],
        moderators=config["moderators"],
        continuous_moderators=config["continuous_moderators"],
        meta_regression=config["meta_regression"],
        location_scale=config["location_scale"],  # a variable not in the sheet: else a traceback of location_scale
        subsets=config["multiverse"]["subsets"],
        risk_of_bias=RISK_OF_BIAS_TOOL,
        figure_columns=config["plots"]["columns"],
        reference_levels=config["reference_levels"],
        # only when set (null: the moderators above), so that other runs keep their params and rerun nothing
        **({"psychometric_moderators": config["psychometric"]["moderators"]}
           if config["psychometric"]["moderators"] is not None else {}),
    conda:
        CONDA_ENV
    log:
        "logs/validate_sheet.log",
    benchmark:
        "logs/benchmarks/validate_sheet.tsv"
    script:
        "../scripts/validate_sheet.py"


# A checkpoint: after it runs, Snakemake re-evaluates the jobs downstream and, by the checksums
# it stores of small inputs, skips every family whose rows did not change. Conversion and the
# split by family are one job (each alone is mostly start-up), and it belongs to no family, so a
# newly coded outcome study runs no job of the dropout family.
checkpoint convert_effect_sizes:
    localrule: True  # seconds of bookkeeping: runs where Snakemake runs, never a cluster job
    # before the PRISMA diagram and the coder agreement, which nothing waits for (the conversion waited
    # for both cores to be free of them: it ended about a second later)
    priority: 5
    input:
        "data/processed/sheet.csv",
    output:
        converted="data/processed/effect_sizes.csv",
        effect_sizes=expand("data/processed/{family}/effect_sizes.csv", family=FAMILIES),
        effects=expand("data/processed/{family}/effects.csv", family=FAMILIES),
        analysis=expand("data/processed/{family}/analysis.csv", family=FAMILIES),
    params:
        metric=config["metric"],
        families=FAMILIES,
        dependence=config["dependence"],
        method=config["aggregate_method"],
        rho=config["aggregate_rho"],
        text_columns=TEXT_COLUMNS,  # read as text (common.smk): a rerun when they change
    conda:
        CONDA_ENV
    log:
        "logs/convert_effect_sizes.log",
    benchmark:
        "logs/benchmarks/convert_effect_sizes.tsv"
    script:
        "../scripts/convert_effect_sizes.py"


FINAL_TARGETS.append("data/processed/effect_sizes.csv")
