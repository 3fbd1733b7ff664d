# Stage 5b: selection models (every type of metafor's selmodel) with their figures: the adjusted
# estimates beside the unadjusted one, and the fitted weight functions. Fitted to the studies of
# the main random-effects model (under dependence: multilevel to the study composites).


rule selection_models:
    priority: 2  # among the longest jobs: started early (see multiverse_specifications)
    input:
        family_effects,
    output:
        table=report("results/{family}/selection_models.csv", caption="../report/selection_models.rst", category="Publication bias", subcategory="{family}"),
        estimates_pdf="results/{family}/selection_models.pdf",
        estimates_png=report("results/{family}/selection_models.png", caption="../report/selection_models_plot.rst", category="Publication bias", subcategory="{family}"),
        weights_pdf="results/{family}/weight_functions.pdf",
        weights_png=report("results/{family}/weight_functions.png", caption="../report/weight_functions.rst", category="Publication bias", subcategory="{family}"),
    params:
        selection=config["bias"]["selection"],
        fit=untested_fit_options,
    conda:
        CONDA_ENV
    log:
        "logs/selection_models_{family}.log",
    benchmark:
        "logs/benchmarks/selection_models_{family}.tsv"
    script:
        "../scripts/selection_models.py"


FINAL_TARGETS.extend(
    expand(
        "results/{family}/{name}",
        family=FAMILIES,
        name=["selection_models.csv", "selection_models.pdf", "selection_models.png", "weight_functions.pdf",
              "weight_functions.png"],
    )
)
