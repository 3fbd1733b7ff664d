# Stage: Bayesian model averaging (alliance_meta.bayes.bma): RoBMA-PSMA, 36 models (effect x
# heterogeneity x publication bias; the 4 without publication bias under bma.bias false) weighed by marginal likelihoods computed by
# quadrature. Fitted to the independent studies of the main model (study composites under
# dependence: multilevel).


rule bma:
    priority: 1  # a job of a few seconds: before the shortest (see multiverse_specifications)
    input:
        family_effects,
    output:
        table=report("results/{family}/bma.csv", caption="../report/bma.rst", category="Bayesian model", subcategory="{family}"),
        summary="results/{family}/bma_summary.csv",
        pdf="results/{family}/bma.pdf",
        png=report("results/{family}/bma.png", caption="../report/bma.rst", category="Bayesian model", subcategory="{family}"),
    params:
        bma=config["bma"],
        fit=composite_options,
        prob=config["bayes"]["hdi_prob"],  # the mass of the credible intervals, as of every Bayesian interval
    threads: 1
    conda:
        CONDA_ENV
    log:
        "logs/bma_{family}.log",
    benchmark:
        "logs/benchmarks/bma_{family}.tsv"
    script:
        "../scripts/bma.py"


FINAL_TARGETS.extend(
    expand("results/{family}/{name}", family=FAMILIES, name=["bma.csv", "bma_summary.csv", "bma.pdf", "bma.png"])
)
