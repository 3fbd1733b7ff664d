# Stage 4: moderator analyses of each family: subgroups per level, mixed-effects
# meta-regressions with permutation tests, subgroup forest and bubble plots.

MODERATORS = config["moderators"]
CONTINUOUS_MODERATORS = config["continuous_moderators"]
# the moderators as their plots' file names write them: results/{family}/bubble_dose_level.png for "dose level"
MODERATOR_FILES = [file_part(name) for name in MODERATORS]
CONTINUOUS_FILES = [file_part(name) for name in CONTINUOUS_MODERATORS]
MODERATOR_OPTIONS = dict(
    aggregate_method=config["aggregate_method"],
    rho=config["aggregate_rho"],
    centre=config["centre_continuous"],
    level=config["pooling"]["level"],
)
PLOT_FORMATS = ["pdf", "png", "svg"]


rule moderators:
    priority: 3  # short, and the moderator forest plots wait for it (see multiverse_specifications)
    input:
        effect_sizes=family_effect_sizes,
    output:
        moderators=report("results/{family}/moderators.csv", caption="../report/moderators.rst", category="Moderators", subcategory="{family}"),
        subgroups=report("results/{family}/subgroups.csv", caption="../report/subgroups.rst", category="Moderators", subcategory="{family}"),
        meta_regression="results/{family}/meta_regression.csv",
    params:
        moderators=MODERATORS,
        continuous=CONTINUOUS_MODERATORS,
        meta_regression=config["meta_regression"],
        reference_levels=config["reference_levels"],
        permutations=config["permutations"],
        seed=config["permutation_seed"],
        centre=config["centre_continuous"],
        fit=moderator_fit_options,
        **CUSTOM_RISK_OF_BIAS,  # a custom tool's levels order a rob_* moderator's subgroups
        **KNHA_ADHOC,  # the models' Knapp-Hartung F and knha columns as metafor's adhoc
    conda:
        CONDA_ENV
    log:
        "logs/moderators_{family}.log",
    benchmark:
        "logs/benchmarks/moderators_{family}.tsv"
    script:
        "../scripts/moderators.py"


rule moderator_plots:
    priority: 1  # a job of a few seconds: before the shortest (see multiverse_specifications)
    input:
        effect_sizes=family_effect_sizes,
        moderators="results/{family}/moderators.csv",
        subgroups="results/{family}/subgroups.csv",
        pooled="results/{family}/pooled.csv",
    output:
        expand("results/{{family}}/subgroups_{moderator}.{ext}", moderator=MODERATOR_FILES, ext=PLOT_FORMATS),
        expand("results/{{family}}/bubble_{moderator}.{ext}", moderator=CONTINUOUS_FILES, ext=PLOT_FORMATS),
    params:
        moderators=MODERATORS,
        continuous=CONTINUOUS_MODERATORS,
        main_method=HEADLINE_METHOD,
        metric=lambda wildcards: config["metric"][wildcards.family],
        labels=config["plots"].get("column_labels") or {},  # the moderators' names (a new label reruns the plots)
        colours={key: config["plots"][key] for key in ("subgroup_colour", "summary_colour")},  # the forest plots' diamonds
        dpi=config["plots"]["dpi"],  # the PNGs'
        **MODERATOR_OPTIONS,
    conda:
        CONDA_ENV
    log:
        "logs/moderator_plots_{family}.log",
    benchmark:
        "logs/benchmarks/moderator_plots_{family}.tsv"
    script:
        "../scripts/moderator_plots.py"


FINAL_TARGETS.extend(
    expand(
        "results/{family}/{name}",
        family=FAMILIES,
        name=["moderators.csv", "subgroups.csv", "meta_regression.csv"]
        + expand("subgroups_{moderator}.{ext}", moderator=MODERATOR_FILES, ext=PLOT_FORMATS)
        + expand("bubble_{moderator}.{ext}", moderator=CONTINUOUS_FILES, ext=PLOT_FORMATS),
    )
)
