# Stage 5b: robustness of each family's result to dependence and to single studies:
# robust variance estimation (robumeta's correlated and hierarchical weights, the rho
# sensitivity table, and CR2 tests of the aggregated model) and the GOSH plot.

rule rve:
    input:
        family_effects,
    output:
        table="results/{family}/rve.csv",
        sensitivity="results/{family}/rve_sensitivity.csv",
    params:
        fit=aggregated_fit_options,
    conda:
        CONDA_ENV
    log:
        "logs/rve_{family}.log",
    benchmark:
        "logs/benchmarks/rve_{family}.tsv"
    script:
        "../scripts/rve.py"


rule gosh:
    priority: 2  # among the longest jobs: started early (see multiverse_specifications)
    input:
        family_effects,
    output:
        pdf="results/{family}/gosh.pdf",
        png="results/{family}/gosh.png",
        studies="results/{family}/gosh_studies.csv",
    params:
        subsets=config["gosh"]["subsets"],
        seed=config["gosh"]["seed"],
        labels=config["plots"]["labels"],  # studies named as in the forest plot
        fit=gosh_fit_options,  # no interval: a change of level does not rerun it
    resources:
        mem_mb=gosh_mem_mb,  # grows with studies x subsets: a cluster job asks for what it needs
    conda:
        CONDA_ENV
    log:
        "logs/gosh_{family}.log",
    benchmark:
        "logs/benchmarks/gosh_{family}.tsv"
    script:
        "../scripts/gosh.py"


FINAL_TARGETS.extend(
    expand(
        "results/{family}/{name}",
        family=FAMILIES,
        name=["rve.csv", "rve_sensitivity.csv", "gosh.pdf", "gosh.png", "gosh_studies.csv"],
    )
)
