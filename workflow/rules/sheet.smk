# Stage 1-2: validate the raw sheet, convert every statistic to the family's metric,
# then split by family and handle dependent effect sizes.


rule validate_sheet:
    input:
        config["sheet"],
    output:
        "data/processed/sheet.csv",
    params:
        sheet_name=config["sheet_name"],
        decimal=config["decimal"],
        moderators=config["moderators"],
        continuous_moderators=config["continuous_moderators"],
        meta_regression=config["meta_regression"],
        subsets=config["multiverse"]["subsets"],
        risk_of_bias=config["risk_of_bias"],
        figure_columns=config["plots"]["columns"],
    conda:
        CONDA_ENV
    log:
        "logs/validate_sheet.log",
    benchmark:
        "logs/benchmarks/validate_sheet.tsv"
    script:
        "../scripts/validate_sheet.py"


rule convert_effect_sizes:
    input:
        "data/processed/sheet.csv",
    output:
        "data/processed/effect_sizes.csv",
    params:
        metric=config["metric"],
    conda:
        CONDA_ENV
    log:
        "logs/convert_effect_sizes.log",
    benchmark:
        "logs/benchmarks/convert_effect_sizes.tsv"
    script:
        "../scripts/convert_effect_sizes.py"


# A checkpoint: after it runs, Snakemake re-evaluates the jobs downstream and, by the
# checksums it stores of small inputs, skips a family whose rows did not change.
checkpoint prepare_family:
    input:
        "data/processed/effect_sizes.csv",
    output:
        effect_sizes="data/processed/{family}/effect_sizes.csv",
        analysis="data/processed/{family}/analysis.csv",
    params:
        dependence=config["dependence"],
        method=config["aggregate_method"],
        rho=config["aggregate_rho"],
    conda:
        CONDA_ENV
    log:
        "logs/prepare_family_{family}.log",
    benchmark:
        "logs/benchmarks/prepare_family_{family}.tsv"
    script:
        "../scripts/prepare_family.py"


FINAL_TARGETS.append("data/processed/effect_sizes.csv")
