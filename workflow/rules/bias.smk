# Stage 5: publication bias (small-study tests, trim and fill, fail-safe N, PET-PEESE,
# selection model) with the funnel plot, and sensitivity analyses (leave-one-out,
# influence, cumulative) with their plots, each family fitted by the main estimator (under
# dependence: multilevel by multilevel.method, deleting and adding whole studies).



rule publication_bias:
    priority: 2  # the Word tables wait for it (see multiverse_specifications)
    input:
        family_effects,
    output:
        table=report("results/{family}/bias.csv", caption="../report/bias.rst", category="Publication bias", subcategory="{family}"),
        pdf="results/{family}/funnel.pdf",
        png=report("results/{family}/funnel.png", caption="../report/funnel.rst", category="Publication bias", subcategory="{family}"),
        svg="results/{family}/funnel.svg",
    params:
        # bias.selection is rule selection_models's: a new one does not rerun these tests
        bias={key: value for key, value in config["bias"].items() if key != "selection"},
        fit=untested_fit_options,
    conda:
        CONDA_ENV
    log:
        "logs/publication_bias_{family}.log",
    benchmark:
        "logs/benchmarks/publication_bias_{family}.tsv"
    script:
        "../scripts/publication_bias.py"


rule sensitivity:
    priority: 1  # a job of a few seconds: before the shortest (see multiverse_specifications)
    input:
        family_effects,
    output:
        leave_one_out=report("results/{family}/leave_one_out.csv", caption="../report/leave_one_out.rst", category="Sensitivity", subcategory="{family}"),
        influence="results/{family}/influence.csv",
        cumulative="results/{family}/cumulative.csv",
        baujat_pdf="results/{family}/baujat.pdf",
        baujat_png="results/{family}/baujat.png",
        influence_pdf="results/{family}/influence.pdf",
        influence_png="results/{family}/influence.png",
        cumulative_pdf="results/{family}/cumulative.pdf",
        cumulative_png="results/{family}/cumulative.png",
    params:
        fit=fit_options,
        labels=config["plots"]["labels"],  # studies named as in the forest plot
    conda:
        CONDA_ENV
    log:
        "logs/sensitivity_{family}.log",
    benchmark:
        "logs/benchmarks/sensitivity_{family}.tsv"
    script:
        "../scripts/sensitivity.py"


FINAL_TARGETS.extend(
    expand(
        "results/{family}/{name}",
        family=FAMILIES,
        name=[
            "bias.csv",
            "funnel.pdf",
            "funnel.png",
            "funnel.svg",
            "leave_one_out.csv",
            "influence.csv",
            "cumulative.csv",
            "baujat.pdf",
            "influence.pdf",
            "cumulative.pdf",
        ],
    )
)
