"""The methods paragraph: estimator, tests, dependence handling, priors and software."""

from __future__ import annotations

from alliance_meta.report.text import METRIC_NAMES, TEST_NAMES

ESTIMATORS = {"REML": "restricted maximum likelihood (REML)", "ML": "maximum likelihood", "DL": "DerSimonian\u2013Laird",
              "PM": "Paule\u2013Mandel", "EB": "empirical Bayes", "HE": "Hedges", "HS": "Hunter\u2013Schmidt",
              "SJ": "Sidik\u2013Jonkman", "HSk": "Hunter\u2013Schmidt (small-sample corrected)",
              "PMM": "median-unbiased Paule\u2013Mandel", "GENQ": "generalised Q", "common": "common-effect"}


def dependence_sentence(config: dict) -> str:
    """How several effect sizes of one study were handled."""
    rho = config.get("aggregate_rho", 0.5)
    if config.get("dependence") == "multilevel":
        composite = ("composites (Borenstein et al., 2009, ch. 24)" if config.get("aggregate_method") == "mean"
                     else "inverse-variance (GLS) composites under compound symmetry")
        return ("Dependent effect sizes were modelled with a three-level random-effects model (effect sizes within "
                f"studies); the analyses that take one effect size per study (moderator subgroups and "
                f"meta-regressions, small-study tests other than the three-level Egger test, selection models and "
                f"the Bayesian models) used {composite} "
                f"within each study, assuming a correlation of {rho:g} between sampling errors.")
    if config.get("aggregate_method") == "mean":
        return (f"Dependent effect sizes within a study were combined into one composite (Borenstein et al., 2009, "
                f"ch. 24) assuming a correlation of {rho:g} between them.")
    return (f"Dependent effect sizes within a study were combined into one inverse-variance (GLS) composite under "
            f"compound symmetry with an assumed correlation of {rho:g} between sampling errors.")


def prior_sentence(config: dict) -> str:
    """The priors of the Bayesian model."""
    prior = config.get("bayes", {}).get("prior", {})
    tau = prior.get("tau", {"family": "half_normal", "scale": 0.5})
    tau_text = (f"log-normal prior on \u03c4\u00b2 (\u03bc = {tau.get('mu')}, \u03c3 = {tau.get('sigma')})"
                if tau.get("family") == "log_normal"
                else f"{tau.get('family', 'half_normal').replace('_', '-')}({tau.get('scale', 0.5):g}) prior on \u03c4")
    return (f"The Bayesian normal\u2013normal hierarchical model used \u03bc ~ Normal(0, {prior.get('mu_sd', 1.0):g}) "
            f"and a {tau_text} (seed {config.get('bayes', {}).get('seed', '')}).")


def risk_of_bias_methods(config: dict) -> str:
    """Which tool rated risk of bias, how an empty overall judgement was derived, how it was used."""
    from alliance_meta.inputs.risk_of_bias import tool_from_config

    tool = tool_from_config(config.get("risk_of_bias"))
    return (f"Risk of bias was rated with {tool.title}; an empty overall judgement was derived from the domains "
            f"({tool.overall_rule}). The main model was refitted without studies at high risk of bias and to "
            "studies at low risk only.")


def metric_sentence(config: dict, families=("outcome", "dropout")) -> str:
    """The analysis metric of each family analysed."""
    metrics = config.get("metric", {})
    parts = {"outcome": f"correlations were analysed as {METRIC_NAMES.get(metrics.get('outcome', 'z'))} and "
                        "back-transformed to r",
             "dropout": f"the dropout family was analysed as {METRIC_NAMES.get(metrics.get('dropout', 'smd'))}"}
    sentence = "; ".join(text for family, text in parts.items() if family in families) or "; ".join(parts.values())
    return sentence[0].upper() + sentence[1:] + "."


def methods_paragraph(config: dict, stages: set[str], versions: dict[str, str],
                      families=("outcome", "dropout")) -> str:
    """Methods text naming the metrics, estimator, tests, dependence handling, priors and software
    (``families``: those analysed, i.e. with rows in the sheet)."""
    pooling = config.get("pooling", {})
    method = pooling.get("main_method", "REML")
    tests = pooling.get("tests", ["z", "knha"])
    level = pooling.get("level", 95)
    sentences = [metric_sentence(config, families), dependence_sentence(config)]
    if config.get("dependence") == "multilevel":
        multilevel = config.get("multilevel", {})
        estimator = multilevel.get("method", "REML")
        tests_text = "Wald-type z tests and t tests with k \u2212 1 degrees of freedom (k effect sizes)"
        if multilevel.get("robust", True):
            tests_text += (", and cluster-robust (CR2) standard errors with Satterthwaite t tests "
                           "(Pustejovsky & Tipton, 2018)")
        sentences.append(
            f"The three-level model was fitted by {ESTIMATORS.get(estimator, estimator)}; {level:g}% confidence "
            f"intervals used {tests_text}"
            + ("; the variance components have profile-likelihood intervals." if multilevel.get("profile", True)
               else "."))
    else:
        sentences.append(
            f"Random-effects models were fitted with the {ESTIMATORS.get(method, method)} estimator of "
            f"\u03c4\u00b2 (other estimators as sensitivity analyses); {level:g}% confidence intervals used "
            + " and ".join(TEST_NAMES.get(t, t) for t in tests)
            + "; the \u03c4\u00b2 interval is the Q-profile interval and the prediction interval follows "
            "Higgins et al. (2009).")
    analysed = config.get("moderators", True) or config.get("continuous_moderators") or config.get("meta_regression")
    if "moderators" in stages and not analysed:
        sentences.append("No moderator was analysed.")
    elif "moderators" in stages:
        sentence = (f"Moderators were tested in mixed-effects meta-regressions (REML) with omnibus QM and "
                    f"Knapp\u2013Hartung F tests and {config.get('permutations', 1000)} permutations")
        if config.get("dependence") == "multilevel":
            sentence += (", and in three-level mixed-effects models with Wald QM and cluster-robust (CR2) F tests "
                         "(Pustejovsky & Tipton, 2018)")
        sentences.append(sentence + ".")
    if "bias" in stages:
        sentences.append("Small-study effects were examined with the funnel plot, Egger's regression test, the rank "
                         "correlation test, trim and fill, fail-safe N, PET-PEESE and a step-function selection "
                         "model; influence with leave-one-out, influence diagnostics and cumulative analysis.")
    if "bayes" in stages:
        sentences.append(prior_sentence(config))
    if "risk_of_bias" in stages:
        sentences.append(risk_of_bias_methods(config))
    software = ", ".join(f"{name} {version}" for name, version in versions.items() if version != "not installed")
    sentences.append(f"Analyses ran in alliance-meta {versions.get('alliance-meta', '')} (software: {software}).")
    return " ".join(sentences)
