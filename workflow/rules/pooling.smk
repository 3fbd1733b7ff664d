# Stage 3: random-effects pooling of each family, and a first forest plot.

# The pooling keys that pooled_table reads: knha_adhoc only under aggregate (rma.mv has no Knapp-Hartung test, so
# the three-level rows do not read it) and main_method through fit_options (the headline's estimator), so that a
# key the rows do not read reruns nothing
POOLED_OPTIONS = {**{key: config["pooling"][key] for key in ("methods", "tests", "level")},
                  **({"knha_adhoc": config["pooling"]["knha_adhoc"]} if config["dependence"] == "aggregate" else {})}


rule pool:
    priority: 3  # short, and the forest and moderator plots wait for it (see multiverse_specifications)
    input:
        family_effects,
    output:
        report("results/{family}/pooled.csv", caption="../report/pooled.rst", category="Pooling", subcategory="{family}"),
    params:
        pooling=POOLED_OPTIONS,
        fit=fit_options,
        multilevel=MULTILEVEL_OPTIONS,
    conda:
        CONDA_ENV
    log:
        "logs/pool_{family}.log",
    benchmark:
        "logs/benchmarks/pool_{family}.tsv"
    script:
        "../scripts/pool.py"


rule forest_plot:
    priority: 1  # a job of a few seconds: before the shortest (see multiverse_specifications)
    input:
        data=family_analysis_data,
        effects=family_effects,  # the input kinds: Hedges' g or Cohen's d (transforms.family_metric)
        pooled="results/{family}/pooled.csv",
    output:
        pdf="results/{family}/forest.pdf",
        png=report("results/{family}/forest.png", caption="../report/forest.rst", category="Forest plots", subcategory="{family}"),
        svg="results/{family}/forest.svg",
        **({"tiff": "results/{family}/forest.tiff"} if config["plots"]["tiff"] else {}),
    params:
        main_method=HEADLINE_METHOD,
        tests=config["pooling"]["tests"],  # the headline row's test, the first (models.fits.main_row)
        metric=lambda wildcards: config["metric"][wildcards.family],
        level=config["pooling"]["level"],
        plots=FOREST_PLOTS,
        risk_of_bias=RISK_OF_BIAS_TOOL,
    conda:
        CONDA_ENV
    log:
        "logs/forest_plot_{family}.log",
    benchmark:
        "logs/benchmarks/forest_plot_{family}.tsv"
    script:
        "../scripts/forest_plot.py"


FINAL_TARGETS.extend(
    expand(
        "results/{family}/{name}",
        family=FAMILIES,
        # forest.tiff a target too: plots.tiff set after a run asks for it (the rule's params do not hold the key)
        name=["pooled.csv", "forest.pdf", "forest.png", "forest.svg"] + (["forest.tiff"] if config["plots"]["tiff"] else []),
    )
)
