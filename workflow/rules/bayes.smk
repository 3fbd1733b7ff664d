# Stage: Bayesian hierarchical pooling (PyMC/nutpie), checked against the exact posterior
# (quadrature over tau, as bayesmeta); meta-regressions, prior sensitivity and plots.
# The pooled model uses the family's study composites (as the analysis rows); each moderator's
# model the effect sizes aggregated within study x level and coded as in the moderators rule.


rule bayes:
    priority: 2  # among the longest jobs: started early (see multiverse_specifications)
    input:
        effect_sizes=family_effect_sizes,
    output:
        table=report("results/{family}/bayes.csv", caption="../report/bayes.rst", category="Bayesian model", subcategory="{family}"),
        studies="results/{family}/bayes_studies.csv",
        moderators="results/{family}/bayes_moderators.csv",
        draws="results/{family}/bayes_draws.npz",
        sampler="results/{family}/bayes_sampler.json",  # the sampler used (nutpie or pymc), named in the Methods
    params:
        # sensitivity_priors is rule bayes_prior_sensitivity's: a new one does not rerun the sampler
        bayes={key: value for key, value in config["bayes"].items() if key != "sensitivity_priors"},
        moderators=config["moderators"],
        continuous=config["continuous_moderators"],
        reference_levels=config["reference_levels"],
        aggregate_method=config["aggregate_method"],
        rho=config["aggregate_rho"],
        centre=config["centre_continuous"],
        fit=composite_options,
    threads: 1
    conda:
        CONDA_ENV
    log:
        "logs/bayes_{family}.log",
    benchmark:
        "logs/benchmarks/bayes_{family}.tsv"
    script:
        "../scripts/bayes.py"


rule bayes_prior_sensitivity:
    input:
        family_effects,
    output:
        table="results/{family}/bayes_prior_sensitivity.csv",
        pdf="results/{family}/bayes_prior_sensitivity.pdf",
        png="results/{family}/bayes_prior_sensitivity.png",
    params:
        bayes=prior_sensitivity_settings(config["bayes"]),
        metric=lambda wildcards: config["metric"][wildcards.family],
        fit=composite_options,
    conda:
        CONDA_ENV
    log:
        "logs/bayes_prior_sensitivity_{family}.log",
    benchmark:
        "logs/benchmarks/bayes_prior_sensitivity_{family}.tsv"
    script:
        "../scripts/bayes_prior_sensitivity.py"


rule bayes_plots:
    priority: 1  # a job of a few seconds: before the shortest (see multiverse_specifications)
    input:
        effect_sizes=family_effect_sizes,
        table="results/{family}/bayes.csv",
        studies="results/{family}/bayes_studies.csv",
        draws="results/{family}/bayes_draws.npz",
    output:
        posterior_pdf="results/{family}/bayes_posterior.pdf",
        posterior_png=report("results/{family}/bayes_posterior.png", caption="../report/bayes_posterior.rst", category="Bayesian model", subcategory="{family}"),
        forest_pdf="results/{family}/bayes_forest.pdf",
        forest_png="results/{family}/bayes_forest.png",
    params:
        # the priors drawn beside the posteriors and the HDIs' mass in the labels (the rest is bayes.csv's)
        bayes={key: config["bayes"][key] for key in ("prior", "hdi_prob")},
        metric=lambda wildcards: config["metric"][wildcards.family],
        fit=composite_options,
        labels=config["plots"]["labels"],  # studies named as in the forest plot
        level=config["pooling"]["level"],  # the observed CIs' level
        dpi=config["plots"]["dpi"],  # the PNGs'
    conda:
        CONDA_ENV
    log:
        "logs/bayes_plots_{family}.log",
    benchmark:
        "logs/benchmarks/bayes_plots_{family}.tsv"
    script:
        "../scripts/bayes_plots.py"


FINAL_TARGETS.extend(
    expand(
        "results/{family}/{name}",
        family=FAMILIES,
        name=[
            "bayes.csv",
            "bayes_studies.csv",
            "bayes_moderators.csv",
            "bayes_sampler.json",
            "bayes_prior_sensitivity.csv",
            "bayes_prior_sensitivity.pdf",
            "bayes_prior_sensitivity.png",
            "bayes_posterior.pdf",
            "bayes_posterior.png",
            "bayes_forest.pdf",
            "bayes_forest.png",
        ],
    )
)
