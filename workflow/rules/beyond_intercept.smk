# Stage 4b: beyond one mean and one tau^2: location-scale models (moderators of tau^2),
# likelihood-ratio comparisons of the nested meta-regressions and their predicted effects.
# Rows enter as in the moderators stage (aggregated within study x moderator level).

BEYOND_OPTIONS = dict(
    continuous=config["continuous_moderators"],
    reference_levels=config["reference_levels"],
    aggregate_method=config["aggregate_method"],
    rho=config["aggregate_rho"],
    centre=config["centre_continuous"],
    level=config["pooling"]["level"],
    values=config["prediction_values"],
)


rule location_scale:
    input:
        effect_sizes=family_effect_sizes,
    output:
        table="results/{family}/location_scale.csv",
        tau2="results/{family}/location_scale_tau2.csv",
    params:
        models=config["location_scale"],
        **BEYOND_OPTIONS,
    conda:
        CONDA_ENV
    log:
        "logs/location_scale_{family}.log",
    benchmark:
        "logs/benchmarks/location_scale_{family}.tsv"
    script:
        "../scripts/location_scale.py"


rule model_comparison:
    input:
        effect_sizes=family_effect_sizes,
    output:
        comparison="results/{family}/model_comparison.csv",
        predictions="results/{family}/meta_regression_predictions.csv",
    params:
        moderators=config["moderators"],
        meta_regression=config["meta_regression"],
        metric=lambda wildcards: config["metric"][wildcards.family],
        tests=config["pooling"]["tests"],
        **KNHA_ADHOC,  # the knha predictions as metafor's adhoc
        **CUSTOM_RISK_OF_BIAS,  # a custom tool's levels order a rob_* variable's predictions
        **BEYOND_OPTIONS,
    conda:
        CONDA_ENV
    log:
        "logs/model_comparison_{family}.log",
    benchmark:
        "logs/benchmarks/model_comparison_{family}.tsv"
    script:
        "../scripts/model_comparison.py"


FINAL_TARGETS.extend(
    expand(
        "results/{family}/{name}",
        family=FAMILIES,
        name=[
            "location_scale.csv",
            "location_scale_tau2.csv",
            "model_comparison.csv",
            "meta_regression_predictions.csv",
        ],
    )
)
