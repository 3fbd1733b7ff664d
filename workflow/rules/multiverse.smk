# Stage 6: multiverse analysis of each family (alliance_meta.analyses.multiverse). The specifications
# depend on the data (subset levels, subsets with too few studies), so a checkpoint writes
# them; the number of batch jobs is then ceil(count / batch_size), known once it has run.
MULTIVERSE = config["multiverse"]

# Seconds of work each: on a cluster they run where Snakemake runs; only the batches are submitted.
localrules:
    multiverse_specifications,
    multiverse_table,
    multiverse_plot,


# a custom risk-of-bias tool's levels for the risk_of_bias choice: a param only with that tool, so that other
# runs keep their params and rerun nothing
CUSTOM_ROB_TOOL = {"risk_of_bias_tool": block for block in CUSTOM_RISK_OF_BIAS.values()}  # (common.smk)
# the psychometric keys the `individual` correction reads (common.smk); progress_every: the batches' log only (read
# from the config)
MULTIVERSE_PSYCHOMETRIC = multiverse_psychometric()
MULTIVERSE_SETTINGS = {**{key: value for key, value in MULTIVERSE.items() if key != "progress_every"},
                       "moderators": config["moderators"], "psychometric": MULTIVERSE_PSYCHOMETRIC, **CUSTOM_ROB_TOOL}


checkpoint multiverse_specifications:
    # the longest chain of jobs of a family (specifications, batches, table, plot): started first, so
    # that a run on a few cores does not end with it alone (Snakemake runs higher priorities first); then
    # the longest jobs and the manuscript tables' chain (priority 2: the Word tables, a second's job, ran
    # last and alone when their inputs came last), the jobs of a few seconds (1) and last the shortest (0)
    priority: 3
    input:
        family_effect_sizes,
    output:
        "data/processed/{family}/multiverse/specifications.csv",
    params:
        settings=MULTIVERSE_SETTINGS,
    conda:
        CONDA_ENV
    log:
        "logs/multiverse_specifications_{family}.log",
    benchmark:
        "logs/benchmarks/multiverse_specifications_{family}.tsv"
    script:
        "../scripts/multiverse_specifications.py"


rule multiverse_batch:
    priority: 3
    input:
        specifications="data/processed/{family}/multiverse/specifications.csv",
        effect_sizes=family_effect_sizes,
    output:
        temp("data/processed/{family}/multiverse/batch_{batch}.csv"),
    wildcard_constraints:
        batch=r"\d+",
    params:
        batch_size=MULTIVERSE["batch_size"],
        outlier_threshold=MULTIVERSE["outlier_threshold"],
        detection_method=MAIN_METHOD,
        level=config["pooling"]["level"],
        # the prior SD of mu of the Bayesian specifications: a param only when multiverse.priors has any, so that
        # a new bayes.prior.mu_sd reruns no batch of a multiverse without them
        **({"mu_sd": config["bayes"]["prior"]["mu_sd"]} if MULTIVERSE["priors"] else {}),
        metric=lambda wildcards: config["metric"][wildcards.family],
        psychometric=MULTIVERSE_PSYCHOMETRIC,
        # knha specifications as pooled.csv's knha rows (metafor's adhoc): a param only when set, so that
        # runs without it keep their params and rerun nothing
        **({"knha_adhoc": True} if config["pooling"]["knha_adhoc"] else {}),
        **CUSTOM_ROB_TOOL,
    conda:
        CONDA_ENV
    log:
        "logs/multiverse_batch_{family}_{batch}.log",
    benchmark:
        "logs/benchmarks/multiverse_batch_{family}_{batch}.tsv"
    script:
        "../scripts/multiverse_batch.py"


rule multiverse_table:
    priority: 3  # the multiverse chain (see multiverse_specifications)
    input:
        multiverse_batches,
    output:
        table="results/{family}/multiverse.csv",
        summary="results/{family}/multiverse_summary.csv",
    params:
        metric=lambda wildcards: config["metric"][wildcards.family],
    conda:
        CONDA_ENV
    log:
        "logs/multiverse_table_{family}.log",
    benchmark:
        "logs/benchmarks/multiverse_table_{family}.tsv"
    script:
        "../scripts/multiverse_table.py"


rule multiverse_plot:
    priority: 1  # a job of a few seconds: before the shortest (see multiverse_specifications)
    input:
        table=multiverse_table_file,
        effect_sizes=family_effect_sizes,
    output:
        pdf="results/{family}/multiverse.pdf",
        png="results/{family}/multiverse.png",
    params:
        metric=lambda wildcards: config["metric"][wildcards.family],
        level=config["pooling"]["level"],
        main=multiverse_main(),
        labels=config["plots"].get("column_labels") or {},
        dependence=config["dependence"],
        headline_method=HEADLINE_METHOD,  # the three-level model's estimator, named when it is no specification
        dpi=config["plots"]["dpi"],  # the PNG's
    conda:
        CONDA_ENV
    log:
        "logs/multiverse_plot_{family}.log",
    benchmark:
        "logs/benchmarks/multiverse_plot_{family}.tsv"
    script:
        "../scripts/multiverse_plot.py"


MULTIVERSE_TARGETS = expand(
    "results/{family}/{name}",
    family=FAMILIES,
    name=["multiverse.csv", "multiverse_summary.csv", "multiverse.pdf", "multiverse.png"],
)


rule multiverse:
    input:
        MULTIVERSE_TARGETS,


FINAL_TARGETS.extend(MULTIVERSE_TARGETS)
