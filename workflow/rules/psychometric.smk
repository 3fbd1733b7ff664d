# Stage 7: psychometric (Hunter-Schmidt) meta-analysis of the outcome family: correlations
# corrected for unreliability (and range restriction), individually and with artifact
# distributions, overall and by moderator (alliance_meta.analyses.psychometric; psychmeta's ma_r).
PSYCHOMETRIC = config["psychometric"]
PSYCHOMETRIC_MODERATORS = (
    config["moderators"] if PSYCHOMETRIC["moderators"] is None else PSYCHOMETRIC["moderators"]
)


rule psychometric:
    priority: 2  # the Word tables wait for it (see multiverse_specifications)
    input:
        effect_sizes=family_effect_sizes,
    output:
        table=report("results/{family}/psychometric.csv", caption="../report/psychometric.rst", category="Psychometric", subcategory="{family}"),
        moderators="results/{family}/psychometric_moderators.csv",
        artifacts="results/{family}/psychometric_artifacts.csv",
        studies="data/processed/{family}/psychometric_studies.csv",  # the forest plot's rows
    wildcard_constraints:
        family="outcome",  # correlations only
    params:
        settings=PSYCHOMETRIC,
        moderators=PSYCHOMETRIC_MODERATORS,
        level=config["pooling"]["level"],
        **CUSTOM_RISK_OF_BIAS,  # a custom tool's levels order a rob_* moderator's levels, as subgroups.csv
    conda:
        CONDA_ENV
    log:
        "logs/psychometric_{family}.log",
    benchmark:
        "logs/benchmarks/psychometric_{family}.tsv"
    script:
        "../scripts/psychometric.py"


rule psychometric_forest_plot:
    """The forest plot of the corrected correlations: its own job, so that the plots options redraw it without
    refitting the psychometric analysis."""
    priority: 1  # a job of a few seconds: before the shortest (see multiverse_specifications)
    input:
        effect_sizes=family_effect_sizes,
        table="results/{family}/psychometric.csv",
        studies="data/processed/{family}/psychometric_studies.csv",
    output:
        pdf="results/{family}/psychometric_forest.pdf",
        png=report("results/{family}/psychometric_forest.png", caption="../report/psychometric_forest.rst", category="Psychometric", subcategory="{family}"),
    wildcard_constraints:
        family="outcome",
    params:
        settings=PSYCHOMETRIC,
        level=config["pooling"]["level"],
        plots=PSYCHOMETRIC_FOREST_PLOTS,
    conda:
        CONDA_ENV
    log:
        "logs/psychometric_forest_plot_{family}.log",
    benchmark:
        "logs/benchmarks/psychometric_forest_plot_{family}.tsv"
    script:
        "../scripts/psychometric_forest_plot.py"


if "outcome" in FAMILIES:
    FINAL_TARGETS.extend(
        expand(
            "results/outcome/{name}",
            name=["psychometric.csv", "psychometric_moderators.csv", "psychometric_artifacts.csv",
                  "psychometric_forest.pdf", "psychometric_forest.png"],
        )
    )
