"""The methods paragraph: estimator, tests, dependence handling, priors and software."""

from __future__ import annotations

from alliance_meta.engines.transforms import family_metric
from alliance_meta.inputs.effect_sizes import DEFAULT_METRIC_BY_FAMILY, DOUBLE_ZERO_KEPT, ZERO_CELL_RULE
from alliance_meta.report.settings import TableSettings
from alliance_meta.report.tables import assumed_correlation, composite_text
from alliance_meta.report.formatting import (ABBREVIATIONS, apa_integer, apa_number, defined, listed as join_words,
                                             probability_percent, step_list)
from alliance_meta.report.text import bma_bias, bma_name, metric_in_prose, test_names
from alliance_meta.wording import ESTIMATOR_NAMES, PRIOR_FAMILY_NAMES, apa_setting, counted, times


def estimator_text(method: str, before: str = "") -> str:
    """An estimator of tau^2 as the Methods name it (:data:`~alliance_meta.wording.ESTIMATOR_NAMES`); REML, whose
    abbreviation the moderators' sentence uses, :func:`defined` at its first use."""
    return defined(method, before) if method in ABBREVIATIONS else ESTIMATOR_NAMES.get(method, method)


def assumed_reliabilities(psychometric: dict) -> str:
    """The sentence on the config's default reliabilities (``psychometric.reliability`` by measure,
    ``outcome_reliability``), "" without any: a reader must know that some were assumed, not reported."""

    def value(number) -> str:  # as configured: .90, and .905 not rounded to .91
        number = float(number)
        return apa_number(number, 2 if abs(round(number, 2) - number) < 1e-12 else 3, leading_zero=False)

    by_measure = psychometric.get("reliability") or {}
    parts = [f"alliance measures: {join_words([f'{name} {value(number)}' for name, number in by_measure.items()])}"
             ] if by_measure else []
    if psychometric.get("outcome_reliability") is not None:
        parts.append(f"outcome measures: {value(psychometric['outcome_reliability'])}")
    return f" Where a study reported no reliability, an assumed one was used ({'; '.join(parts)})." if parts else ""


def dependence_sentence(config: dict, several_per_study: bool | None = None) -> str:
    """How several effect sizes of one study were handled; ``several_per_study`` False (no study of the
    analysed families has more than one effect size) says so instead of describing composites that were not
    made (None: not known, the handling is described; a three-level model is described either way)."""
    settings = TableSettings.from_config(config)
    if several_per_study is False and settings.dependence != "multilevel":
        return "Each study contributed one effect size."
    if settings.dependence == "multilevel":
        # the levels and their variances by the names the Results and tables use, and the sampling errors'
        # correlation (aggregate_rho, metafor's vcalc): without it the model cannot be refitted (rma.mv with vi alone
        # assumes independent errors, a different model unless rho is 0)
        errors = ("independent" if settings.aggregate_rho == 0 else
                  f"correlated at {apa_setting(settings.aggregate_rho)} (the correlated and hierarchical effects "
                  "model; Pustejovsky & Tipton, 2022)")
        return ("Dependent effect sizes were modelled with a three-level random-effects model (Cheung, 2014): "
                "sampling error of each effect size (level 1), variance of the true effect sizes within studies "
                "(\u03c3\u00b2 within, level 2) and between studies (\u03c3\u00b2 between, level 3), the sampling "
                f"errors of one study's effect sizes {errors}. The analyses that take one effect size per study "
                "(small-study tests other than the three-level Egger test, selection models and the Bayesian models) "
                f"used {composite_text(settings.aggregate_method, None, plural=True)} within each study, and the "
                "moderator subgroups and univariate meta-regressions used such composites within each study and "
                f"moderator level, {assumed_correlation(settings.aggregate_rho)}.")
    return ("Dependent effect sizes within a study were combined into one "
            f"{composite_text(settings.aggregate_method, settings.aggregate_rho)}.")


SOURCE_METRIC_NAMES = {"smd": "standardised mean differences", "log_or": "log odds ratios", "z": "Fisher's z"}


def tau_prior_text(tau: dict | str, metrics: dict[str, str]) -> str:
    """What the prior on tau (bayes.prior.tau) is, as used: an empirical prior (EMPIRICAL_PRIORS) or a
    log-normal/log-t prior on log tau² with its parameters, rescaled from its ``source_metric`` to each
    family's metric (``metrics``: family -> metric of the families analysed)."""
    from alliance_meta.bayes.priors import EMPIRICAL_PRIORS, EMPIRICAL_SOURCES, TauPrior

    spec = {"family": tau} if isinstance(tau, str) else dict(tau or {"family": "half_normal", "scale": 0.5})
    name = spec.get("family", "half_normal")
    spec.setdefault("family", name)
    if name in ("half_normal", "half_cauchy"):
        spec.setdefault("scale", 0.5)
    published = TauPrior.from_config(spec)  # as given (or published), not rescaled
    source = spec.get("source_metric", EMPIRICAL_PRIORS.get(name, {}).get("source_metric"))
    half = published.family in ("half_normal", "half_cauchy")
    on = "\u03c4" if half else "\u03c4\u00b2"
    text = (published.words(kind=True) if name in EMPIRICAL_SOURCES
            else f"a {PRIOR_FAMILY_NAMES[published.family]} prior on {on}")
    if half and not source:
        return f"a {published.distribution()} prior on \u03c4"  # "a half-normal(0.5) prior on τ"
    if published.family == "log_t":
        text += f" (location and scale of log \u03c4\u00b2, {published.df:g} df)"
    shown = published.distribution() if half else published.formula()
    if not source:
        return f"{text}, {shown}"
    rescaled = {family: TauPrior.from_config(spec, metric) for family, metric in metrics.items()}
    published_text = f"{shown} for {SOURCE_METRIC_NAMES.get(source, source)}"
    if all(metric == source for metric in metrics.values()):
        return f"{text}, {published_text}"
    parts = "; ".join(f"{family}, {metric_in_prose(metrics[family])}: {prior.distribution()}"
                      for family, prior in rescaled.items())
    return f"{text}, {published_text}, rescaled to the analysis metric ({parts})"


def prior_sentence(config: dict, families=("outcome", "dropout")) -> str:
    """The priors of the Bayesian model, as used in each family's metric."""
    prior = config.get("bayes", {}).get("prior", {})
    tau = prior.get("tau", {"family": "half_normal", "scale": 0.5})
    configured = config.get("metric", {})
    metrics = {family: configured.get(family, DEFAULT_METRIC_BY_FAMILY.get(family, "smd")) for family in families}
    hdi = probability_percent(TableSettings.from_config(config).hdi_prob)
    # the back-transformed rows of the families' Bayes tables (bayes.summaries.back_transform): r of every metric,
    # the OR of a standardised mean difference by its mean; a log-odds-ratio family's OR by its median (below)
    smd = "smd" in metrics.values()
    effects = ("r" if not smd else "r, and the OR of a standardised mean difference" if "log_or" in metrics.values()
               else "r, OR")
    # as the Results, the Bayes table and the shrinkage forest plot give them (docs/bayes.md)
    return (f"The Bayesian normal\u2013normal hierarchical model used \u03bc ~ Normal(0, {prior.get('mu_sd', 1.0):g}) "
            f"and {tau_prior_text(tau, metrics)} (seed {config.get('bayes', {}).get('seed', '')}); posteriors were "
            f"summarised by their means and {hdi}% highest-density intervals (HDIs), a back-transformed effect "
            f"({effects}) by its own posterior, not by back-transforming \u03bc's"
            + (f"; the odds ratios of a log-odds-ratio family by their posterior medians and {hdi}% equal-tailed "
               "intervals, which are the exponentials of the log odds ratio's (an HDI is not; and the mean of a new "
               "study's odds ratio may not exist)." if "log_or" in metrics.values() else "."))


#: the samplers as the Methods name them (bayes_sampler.json's ``sampler``)
SAMPLER_NAMES = {"nutpie": "nutpie", "pymc": "PyMC"}


def sampler_names(samplers: dict[str, str] | None) -> str:
    """``"; nutpie"``: the sampler each family's bayes job recorded (``samplers``: family -> bayes_sampler.json's
    ``sampler``), one name when they agree, else each family's ("; nutpie for outcome, PyMC for dropout"); "" when
    none was recorded (a run of an earlier version), rather than guessed from the report's own environment."""
    used = {family: SAMPLER_NAMES.get(name, name) for family, name in (samplers or {}).items() if name}
    if not used:
        return ""
    if len(set(used.values())) == 1:
        return f"; {next(iter(used.values()))}"
    return "; " + join_words([f"{name} for {family}" for family, name in used.items()])


def sampler_sentence(config: dict, samplers: dict[str, str] | None = None) -> str:
    """How the posteriors were sampled (bayes.sampler, chains, draws, tune, target_accept) and the diagnostics policy
    of :mod:`alliance_meta.bayes.analysis` (bayes.diagnostics, bayes.retry; the check against the exact posterior):
    a reader cannot judge MCMC summaries without them (Depaoli & van de Schoot, 2017, WAMBS checklist). The sampler is
    the one the bayes jobs recorded (``samplers``, :func:`sampler_names`), not the report's environment's."""
    from alliance_meta.bayes.analysis import BayesConfig

    cfg = BayesConfig.from_config(config.get("bayes"), "z")
    # one chain: no R-hat (diagnostics_warning says so); the repeat multiplies tuning as well (BayesConfig.settings)
    return ("The posteriors were sampled with the No-U-Turn sampler (Hoffman & Gelman, 2014"
            f"{sampler_names(samplers)}) in "
            f"{counted(cfg.chains, 'chain', words=True)} of {apa_integer(cfg.draws)} draws after "
            f"{apa_integer(cfg.tune)} tuning iterations (target acceptance rate {apa_setting(cfg.target_accept)}); a "
            "fit with divergent transitions"
            + (f", a potential scale reduction factor above {apa_number(cfg.r_hat_max, 2)}" if cfg.chains > 1 else "")
            + f" or a bulk or tail effective sample size below {apa_integer(cfg.ess_min)} was repeated once with "
            + ("the same numbers of draws and tuning iterations" if cfg.retry_draws_factor == 1 else
               f"{times(cfg.retry_draws_factor)} the draws and tuning iterations")
            + " and a target acceptance rate "
            f"of {apa_setting(cfg.retry_target_accept)}, and the sampled "
            "means of \u03bc and \u03c4 had to agree with the exact posterior (quadrature over \u03c4) within four "
            "Monte Carlo standard errors.")


def prior_sensitivity_sentence(config: dict) -> str:
    """The other priors on tau under which the posterior was recomputed (bayes.sensitivity_priors without the main
    one, :func:`~alliance_meta.bayes.analysis.other_priors`), as :func:`tau_prior_text` names them; "" when there is
    none."""
    from alliance_meta.bayes.analysis import DEFAULT_SENSITIVITY_PRIORS, other_priors
    from alliance_meta.bayes.priors import EMPIRICAL_SOURCES, Priors

    bayes = config.get("bayes", {})
    priors = other_priors(Priors.from_config(bayes.get("prior")).tau,
                          bayes.get("sensitivity_priors", DEFAULT_SENSITIVITY_PRIORS))
    named = [prior.words() for prior in priors]
    if not named:
        return ""
    rescaled = any(prior.label in EMPIRICAL_SOURCES for prior in priors)
    return ("As a sensitivity analysis, the posterior was computed exactly (by quadrature) under other priors on "
            f"heterogeneity: {join_words(named)}" + (" (rescaled to the analysis metric)." if rescaled else "."))


def risk_of_bias_methods(config: dict, before: str = "") -> str:
    """Which tool rated risk of bias (its abbreviation :func:`defined`, ``before``: the Methods so far), how an empty
    overall judgement was derived, how it was used."""
    from alliance_meta.inputs.risk_of_bias import tool_from_config

    tool = tool_from_config(config.get("risk_of_bias"))
    name, _, cite = tool.source.partition("; ")  # "QUIPS; Hayden et al., 2013"
    named = (f"a {tool.title}" if tool.name == "custom" else  # "custom risk-of-bias tool" is no name
             f"the {defined(name, before, cite)}" if name in ABBREVIATIONS else tool.title)
    return (f"Risk of bias was rated with {named}; an overall judgement left empty is derived from the domains "
            f"({tool.overall_rule}). The main model was refitted without studies at high risk of bias and to "
            "studies at low risk only.")


def metric_sentence(config: dict, families=("outcome", "dropout")) -> str:
    """The analysis metric of each family analysed."""
    metrics = config.get("metric", {})
    parts = {"outcome": f"correlations were analysed as {metric_in_prose(metrics.get('outcome', 'z'))} and "
                        "back-transformed to r",
             "dropout": f"the dropout family was analysed as {metric_in_prose(metrics.get('dropout', 'smd'))}"}
    sentence = "; ".join(text for family, text in parts.items() if family in families) or "; ".join(parts.values())
    return sentence[0].upper() + sentence[1:] + "."


#: the kinds each metric analyses as reported (r with its Fisher z, which the metric sentence names)
AS_ANALYSED = {"z": {"r", "fisher_z"}, "smd": {"g"}, "log_or": {"log_or_se"}}


def conversion_sentence(kinds: dict[str, set[str]], metrics: dict[str, str]) -> str:
    """The Methods sentences on how the reported statistics became effect sizes (``kinds``: family -> the input
    kinds of its usable rows; ``metrics``: family -> analysis metric), naming each conversion that occurred as
    :mod:`alliance_meta.inputs.effect_sizes` makes it; the Data section's table counts them."""
    from alliance_meta.inputs.effect_sizes import BASE_SCALE

    metric_of = {family: metrics.get(family, DEFAULT_METRIC_BY_FAMILY.get(family, "z")) for family in kinds}
    if all(kinds[family] <= AS_ANALYSED.get(metric_of[family], set()) for family in kinds):
        return ""  # nothing to convert but r to z (the metric sentence says so)

    def occurs(scale: str, metrics_: tuple[str, ...]) -> bool:
        """Whether a family analysed in one of ``metrics_`` has rows of base ``scale``."""
        return any(metric_of[family] in metrics_ and any(BASE_SCALE.get(kind) == scale for kind in kinds[family])
                   for family in kinds)

    present = set().union(*kinds.values())
    partial_in_z = any("partial_r" in kinds[family] and metric_of[family] == "z" for family in kinds)
    clauses = [text for condition, text in (
        ("rho" in present, "Spearman's \u03c1 as r = 2 sin(\u03c0\u03c1/6) (Rupinski & Dunlap, 1996)"),
        ("kendall_tau" in present, "Kendall's \u03c4 as r = sin(\u03c0\u03c4/2) (Kendall, 1970)"),
        ("beta" in present, "standardized regression coefficients as r = \u03b2 + .05 for \u03b2 \u2265 0 and r = "
                            "\u03b2 otherwise (Peterson & Brown, 2005)"),
        ("chi2" in present, "\u03c7\u00b2 with 1 df as \u03c6 = \u221a(\u03c7\u00b2/n)"),
        (bool(present & {"t_df", "f_df", "p_n"}), "t, F(1, df) and two-sided p of a correlation as r = "
                                                   "t/\u221a(t\u00b2 + df), with t = \u221aF and the t of p on n "
                                                   "\u2212 2 df"),
        (bool(present & {"t_groups", "f_groups", "p_groups", "means_sds"}),
         "group comparisons (means and SDs, t, F(1, df), two-sided p) as d = t\u221a(1/n1 + 1/n2), with t = "
         "\u221aF and the t of p on n1 + n2 \u2212 2 df (means: d with the pooled SD)"),
        (bool(present & {"f_df", "p_n", "f_groups", "p_groups", "chi2"}),
         "the unsigned statistics (F, \u03c7\u00b2, p) signed by the direction coded"),
        ("or_ci" in present, "odds ratios with a 95% CI as log OR with SE = (log upper \u2212 log lower)/(2 \u00d7 1.96)"),
        (partial_in_z, "partial correlations as correlations of n \u2212 q cases for q covariates (Fisher, 1924)"),
        (any("partial_r" in kinds[family] and metric_of[family] != "z" for family in kinds),
         "partial correlations as zero-order correlations in the families analysed as standardized mean "
         "differences or odds ratios"),
        (occurs("r", ("smd", "log_or")), "correlations as d = r\u221a(a/(1 \u2212 r\u00b2)), a = (n1 + n2)\u00b2/"
                                          "(n1 n2), or 4 with group sizes unknown"),
        (occurs("d", ("z",)) or occurs("g", ("z",)) or occurs("log_or", ("z",)),
         "standardized mean differences as r = d/\u221a(d\u00b2 + a)"),
        ("counts" in present, f"2x2 counts as log odds ratios, {ZERO_CELL_RULE}, {DOUBLE_ZERO_KEPT} (metafor's escalc "
                              "defaults: add = 1/2, to = "
                              "\"only0\", drop00 = FALSE)"),
        (occurs("log_or", ("z", "smd")), "odds ratios as d = log OR \u221a3/\u03c0 (Hasselblad & Hedges, 1995)"),
        (occurs("r", ("log_or",)) or occurs("d", ("log_or",)) or occurs("g", ("log_or",)),
         "d as log OR = d \u03c0/\u221a3 (Hasselblad & Hedges, 1995)"),
        (occurs("r", ("smd",)) or occurs("d", ("smd",)),
         "d as Hedges' g with the exact small-sample correction (Hedges, 1981)"),
    ) if condition]
    sentence = ("Effect sizes were computed from the statistics each study reported (Borenstein et al., 2009, "
                "ch. 4\u20137)" + (", converting " + "; ".join(clauses) if clauses else "")
                + "; the Data section counts the effect sizes of each conversion.")
    for family in (f for f in kinds if metric_of[f] == "smd"):
        odds_ratios = {kind for kind in kinds[family] if BASE_SCALE.get(kind) == "log_or"}
        if odds_ratios:
            sentence += (f" In the {family} family the d values from odds ratios "
                         + ("were pooled with Hedges' g without a" if kinds[family] - odds_ratios else "carry no")
                         + " small-sample correction (as metafor's OR2DL).")
    return sentence


#: the stage the Methods describe -> the results table (``results/{family}/<table>.csv``) that shows it ran
STAGE_TABLES = {"moderators": "moderators", "bias": "bias", "bayes": "bayes", "risk_of_bias": "rob_sensitivity",
                "selection_models": "selection_models", "bma": "bma", "gosh": "gosh_studies",
                "multiverse": "multiverse", "psychometric": "psychometric", "rve": "rve",
                "location_scale": "location_scale", "model_comparison": "model_comparison",
                "prior_sensitivity": "bayes_prior_sensitivity", "grade": "summary_of_findings",
                "bayes_moderators": "bayes_moderators"}
#: the column whose value marks a row of a fitted model, for the stages whose table also has a row (with its
#: ``note``) for a model that could not be fitted
FITTED_COLUMNS = {"location_scale": "estimate", "model_comparison": "loglik", "bayes_moderators": "mean"}


def result_rows(stage: str, table):
    """The rows of a stage's table that hold a result: those with a value in its :data:`FITTED_COLUMNS` column
    (none without that column), every row for the other stages."""
    column = FITTED_COLUMNS.get(stage)
    if column is None:
        return table
    return table[table[column].notna()] if column in table else table.iloc[:0]


def stages_run(families: dict) -> set[str]:
    """The stages of :func:`methods_paragraph` that produced a result in some family (``families``: family ->
    ``{"tables": {stem: frame}}`` of its results tables): their table has a :func:`result_rows` row there (not so
    rve.csv, gosh_studies.csv or model_comparison.csv of a review of one study, nor a location_scale.csv whose
    every model is "not fitted"); moderators.csv counts as soon as it exists, as its sentence then says that no
    moderator was analysed, and ``moderators_unfitted`` is added where no family has a fitted moderator model."""
    tables = [part["tables"] for part in families.values()]
    stages = {stage for stage, name in STAGE_TABLES.items()
              if any(name in found and (stage == "moderators" or len(result_rows(stage, found[name])))
                     for found in tables)}
    if any(len(found.get("moderators", ())) for found in tables) and not any(map(_moderator_fitted, tables)):
        stages.add("moderators_unfitted")  # one_study: rater in moderators.csv, no model fitted to test it
    return stages


def _moderator_fitted(tables: dict) -> bool:
    """Whether a family's moderators.csv (QM, or the three-level QM) or meta_regression.csv (an estimate) has a
    fitted model."""
    return any(column in frame and frame[column].notna().any()
               for name, columns in (("moderators", ("qm", "multilevel_qm")), ("meta_regression", ("estimate",)))
               if (frame := tables.get(name)) is not None for column in columns)


#: The rows of pooled.csv pooled from 2x2 counts (metric log_or), as the Methods name and cite them.
COUNT_METHODS = {"MH": "the Mantel\u2013Haenszel method (Mantel & Haenszel, 1959)",
                 "Peto": "Peto's one-step method (Yusuf et al., 1985)",
                 "GLMM": "a binomial\u2013normal generalised linear mixed model (Stijnen, Hamza & \u00d6zdemir, 2010)"}


def count_methods_sentence(methods) -> str:
    """The Methods sentence on the MH, Peto and GLMM rows of the pooled table (``methods``: those in it)."""
    present = [name for name in COUNT_METHODS if name in set(methods)]
    if not present:
        return ""
    named = [COUNT_METHODS[name] for name in present]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + f" and {named[-1]}"
    # in words: "MH" was defined nowhere in the report
    common = [{"MH": "Mantel\u2013Haenszel", "Peto": "Peto"}[name] for name in present if name in ("MH", "Peto")]
    models = "method is a common-effect model" if len(common) == 1 else "methods are common-effect models"
    kind = f"; the {' and '.join(common)} {models} (no prediction interval)" if common else ""
    return (f"The 2x2 counts were also pooled on the log odds ratio, without a continuity correction, by {listed}"
            f"{kind}; a double-zero table (no event, or no non-event, in either group) holds no information on the "
            "odds ratio there and was left out (as metafor's drop00).")


def model_comparison_sentence(before: str = "") -> str:
    """The Methods' sentence on the comparison of nested meta-regressions, each information criterion defined unless
    ``before`` (the Methods so far) has defined it (:func:`~alliance_meta.report.formatting.defined`); AICc's words
    name AIC, which the sentence defines first."""
    aic = defined("AIC", before, "Akaike, 1974")
    bic = defined("BIC", before, "Schwarz, 1978")
    aicc = defined("AICc", before, "Hurvich & Tsai, 1989")
    return (f"Nested meta-regressions were compared by likelihood-ratio tests and by the {aic}, the {bic} and the "
            f"{aicc}, both models fitted by maximum likelihood.")


def bias_reported(stages: set[str]) -> str:
    """Where the Methods' small-study and influence analyses that the Results do not quote are reported: the Results
    give Egger's and the rank test, trim and fill, fail-safe N, the selection models and GOSH (those of ``stages``;
    text.results_paragraph), the tables and figures the rest."""
    quoted = ["Egger's and the rank correlation test", "trim and fill", "fail-safe N"] + (
        ["the selection models"] if "selection_models" in stages else []) + (["GOSH"] if "gosh" in stages else [])
    # "or why": a review of one or two studies has the Results say why a test or the selection models could not be run
    return (f" The Results report {join_words(quoted)} (each, or why it could not be run); the other small-study tests "
            "are in each family's "
            "publication-bias table, and the leave-one-out, influence and cumulative analyses in their tables and "
            "figures.")


#: Where the prior sensitivity analysis is reported (the Results quote the main prior's posterior only)
PRIOR_SENSITIVITY_REPORTED = " Its posteriors are in each family's prior-sensitivity table and figure."
#: Where the refit to studies at low risk of bias is reported (the Results quote the refit without high-risk ones)
LOW_RISK_REPORTED = " The Results quote the refit without high-risk studies; the risk-of-bias table gives both."


def step_cuts_text(config: dict) -> str:
    """``cut points at one-sided p = .025, .10 and .50``: the step function's p-value cut points
    (bias.selection.steps, the upper bound 1 left out; :func:`~alliance_meta.report.formatting.step_list`) and their
    sidedness (bias.selection.sided), as the selection models were fitted."""
    from alliance_meta.analyses.bias.selection_models import DEFAULT_STEPS

    selection = (config.get("bias") or {}).get("selection") or {}
    sided = "two-sided" if selection.get("sided", "one") == "two" else "one-sided"
    cuts = [step for step in selection.get("steps", DEFAULT_STEPS) if float(step) < 1]
    return f"{'cut point' if len(cuts) == 1 else 'cut points'} at {sided} p = {step_list(cuts)}"


def gosh_subsets_text(studies: dict[str, int], gosh: dict) -> str:
    """The subsets each family's GOSH plot fitted, to stand within parentheses (``studies``: family -> the studies
    of its gosh_studies.csv, the independent studies GOSH drew from; ``gosh``: the config's gosh block), by the rule
    of :func:`~alliance_meta.analyses.gosh.subset_plan`: "all 1,023 subsets of 10 studies" or "1,000,000 random
    subsets of 125 studies [seed 20120901]"; a family of fewer studies than GOSH needs is said to have none."""
    from alliance_meta.analyses.gosh import DEFAULT_SEED, DEFAULT_SUBSETS, MINIMUM_STUDIES, subset_plan

    # the families' counts of studies are set beside one another: numerals for all where one is 10 or more (APA 6.33)
    beside = tuple(studies.values())

    def text(k: int) -> str:
        if k < MINIMUM_STUDIES:  # gosh_studies.csv without rows
            return f"none, fewer than {counted(MINIMUM_STUDIES, 'study', 'studies', words=True, compared=beside)}"
        n, exact = subset_plan(k, gosh.get("subsets", DEFAULT_SUBSETS))
        studies = counted(k, "study", "studies", words=True, compared=beside)
        return (f"all {apa_integer(n)} subsets of {studies}" if exact else
                f"{apa_integer(n)} random subsets of {studies} [seed {gosh.get('seed', DEFAULT_SEED)}]")

    if len(studies) == 1:
        return text(next(iter(studies.values())))
    return "; ".join(f"{family}: {text(k)}" for family, k in studies.items())


def run_facts(families: dict, effect_sizes) -> dict:
    """The facts of a run the Methods depend on besides the config, as :func:`methods_paragraph`'s keywords:
    ``pooled_methods``, the estimators of the families' pooled tables (``families``: family -> {"tables": ...}),
    ``several_per_study``, whether some study of those families has more than one effect size, and
    ``input_kinds``, family -> the input kinds of its rows (:func:`conversion_sentence`), ``ux_coded``, whether
    a row of a family with a psychometric analysis codes the range-restriction ratio ux, and ``fitted_scales``, the
    scale formulas of the location-scale models fitted in some family (:func:`result_rows`)."""
    import pandas as pd

    from alliance_meta.inputs.dependence import usable_effects
    from alliance_meta.report.summary import several_per_study

    pooled = {method for part in families.values() if "pooled" in part["tables"]
              and "method" in part["tables"]["pooled"] for method in part["tables"]["pooled"]["method"]}
    usable = effect_sizes[usable_effects(effect_sizes)]
    kinds = ({family: set(usable.loc[usable["family"] == family, "input_kind"].dropna().astype(str))
              for family in families} if {"family", "input_kind"} <= set(effect_sizes) else {})
    psychometric = [family for family, part in families.items() if "psychometric" in part["tables"]]
    ux = (pd.to_numeric(effect_sizes.loc[effect_sizes["family"].isin(psychometric), "ux"], errors="coerce")
          if {"family", "ux"} <= set(effect_sizes) else pd.Series(dtype=float))
    scales = {str(formula) for part in families.values() if "location_scale" in part["tables"]
              for formula in result_rows("location_scale", part["tables"]["location_scale"]).get("scale_formula", ())}
    samplers = {family: part.get("records", {}).get("bayes_sampler", {}).get("sampler", "")
                for family, part in families.items()}
    gosh = {family: len(part["tables"]["gosh_studies"]) for family, part in families.items()
            if "gosh_studies" in part["tables"]}
    return {"pooled_methods": pooled, "several_per_study": several_per_study(effect_sizes, families),
            "input_kinds": kinds, "ux_coded": bool(ux.notna().any()), "fitted_scales": scales,
            "samplers": samplers, "gosh_studies": gosh}


def methods_paragraph(config: dict, stages: set[str], versions: dict[str, str],
                      families=("outcome", "dropout"), pooled_methods=(), several_per_study: bool | None = None,
                      input_kinds: dict[str, set[str]] | None = None, ux_coded: bool = False,
                      fitted_scales=None, samplers: dict[str, str] | None = None,
                      gosh_studies: dict[str, int] | None = None) -> str:
    """Methods text naming the metrics, estimator, tests, dependence handling, priors and software
    (``families``: those analysed, i.e. with rows in the sheet; ``pooled_methods``: the methods of the
    pooled tables, so that the rows pooled from 2x2 counts, MH, Peto and GLMM, are described when present;
    ``several_per_study``: whether some study has more than one effect size, :func:`dependence_sentence`;
    ``input_kinds``: family -> the input kinds of its rows, :func:`conversion_sentence`, which also name the
    metric of an smd family (Cohen's d when every row comes from an odds ratio, transforms.family_metric));
    ``ux_coded``: whether a row codes ux, so that the psychometric corrections include range restriction;
    ``fitted_scales``: the scale formulas of the location-scale models that were fitted (None: every one the config
    names), so that a model that could not be fitted is not described; ``samplers``: family -> the sampler its bayes
    job recorded (:func:`sampler_sentence`); ``gosh_studies``: family -> the studies of its GOSH plot
    (:func:`gosh_subsets_text`; None: the rule of the config)."""
    if input_kinds and config.get("metric"):
        config = {**config, "metric": {family: family_metric(metric, input_kinds.get(family, ()))
                                       for family, metric in config["metric"].items()}}
    pooling = config.get("pooling", {})
    method = pooling.get("main_method", "REML")
    tests = pooling.get("tests", ["z", "knha"])
    level = pooling.get("level", 95)
    # the other estimators fitted beside the main one (pooling.methods; without the key: all of them)
    others = [name for name in pooling.get("methods") or ("common", "REML") if name != method]
    sentences = [metric_sentence(config, families)]

    def define(abbreviation: str, cite: str = "") -> str:  # at its first use in the Methods so far
        return defined(abbreviation, " ".join(sentences), cite)

    if input_kinds and conversion_sentence(input_kinds, config.get("metric", {})):  # none: r to z alone
        sentences.append(conversion_sentence(input_kinds, config.get("metric", {})))
    sentences.append(dependence_sentence(config, several_per_study))
    if config.get("dependence") == "multilevel":
        multilevel = config.get("multilevel", {})
        estimator = multilevel.get("method", "REML")
        # pooled.csv's rows in the order of pooling.tests (the first is the headline's): z, rma.mv's t in place of
        # Knapp-Hartung; CR2 with multilevel.robust
        t_tests = "t tests with k \u2212 1 degrees of freedom (k effect sizes)"
        names = {"z": "Wald-type z tests", "knha": t_tests, "t": t_tests}
        named = list(dict.fromkeys(names[test] for test in tests if test in names))
        tests_text = " and ".join(named)
        if multilevel.get("robust", True):
            tests_text += ((", and " if named else "") + f"{define('CR2')} standard errors with Satterthwaite "
                           "t tests (Pustejovsky & Tipton, 2018)")
        sentences.append(
            f"The three-level model was fitted by {estimator_text(estimator, ' '.join(sentences))}; {level:g}% "
            f"confidence intervals used {tests_text}"
            + ("; the variance components have profile-likelihood intervals." if multilevel.get("profile", True)
               else "."))
    elif method == "common" and not others:
        sentences.append(
            "The model was a common-effect (fixed-effect, inverse-variance) model (no random-effects model was "
            f"fitted); {level:g}% confidence intervals used {test_names(tests, pooling.get('knha_adhoc', False))}.")
    elif method == "common":
        sentences.append(
            "The main model was a common-effect (fixed-effect, inverse-variance) model; random-effects models "
            "with the other estimators of \u03c4\u00b2 were sensitivity analyses; "
            f"{level:g}% confidence intervals used {test_names(tests, pooling.get('knha_adhoc', False))}; for the "
            "random-effects models the \u03c4\u00b2 interval is the Q-profile interval and the prediction interval "
            "follows Higgins et al. (2009).")
    else:
        sentences.append(
            f"Random-effects models were fitted with the {estimator_text(method)} estimator of "
            f"\u03c4\u00b2{' (other estimators as sensitivity analyses)' if others else ''}; {level:g}% confidence "
            "intervals used "
            + test_names(tests, pooling.get("knha_adhoc", False))
            + "; the \u03c4\u00b2 interval is the Q-profile interval and the prediction interval follows "
            "Higgins et al. (2009).")
    intervals = (len(named) + bool(multilevel.get("robust", True)) if config.get("dependence") == "multilevel"
                 else len(tests))
    if intervals > 1:  # the Results quote main_row's: the first test of pooling.tests that was fitted
        sentences.append("The Results give the interval of the first of these tests; the pooled table gives all.")
    counts = count_methods_sentence(pooled_methods)
    if counts:
        sentences.append(counts)
    analysed = config.get("moderators", True) or config.get("continuous_moderators") or config.get("meta_regression")
    if "moderators" in stages and not analysed:
        sentences.append("No moderator was analysed.")
    elif "moderators_unfitted" in stages:  # not "were tested ... permutation tests" where none was
        sentences.append("No moderator could be tested (the Results give each moderator's reason).")
    elif "moderators" in stages:
        permutations = config.get("permutations", 1000)
        # fitted by REML whatever pooling.main_method is: defined here where the main estimator is another
        reml = estimator_text("REML", " ".join(sentences))
        univariate = (f"mixed-effects meta-regressions fitted by {reml} with omnibus QM and Knapp\u2013Hartung F tests"
                      + (" (ad hoc variant: scale factor not below 1)" if pooling.get("knha_adhoc", False) else "")
                      + (f" and permutation tests of {apa_integer(permutations)} random permutations (every "
                         f"permutation, an exact test, where there are fewer)" if permutations else ""))
        if config.get("dependence") == "multilevel":
            estimator = estimator_text(config.get("multilevel", {}).get("method", "REML"), " ".join(sentences))
            sentence = (f"Moderators were tested in three-level mixed-effects models with Wald QM and {define('CR2')} "
                        f"F tests (Pustejovsky & Tipton, 2018), fitted by {estimator}, the tests the Results "
                        f"report, and on the composites within study and moderator level in {univariate}")
        else:
            sentence = f"Moderators were tested in {univariate}"
        sentences.append(sentence + ".")
    if "model_comparison" in stages:
        sentences.append(model_comparison_sentence(" ".join(sentences)))
    from alliance_meta.analyses.location_scale import model_spec

    scales = [scale for _, _, scale in map(model_spec, config.get("location_scale") or ())
              if fitted_scales is None or scale in fitted_scales]
    if "location_scale" in stages and scales:
        sentences.append("Location-scale models (Viechtbauer & L\u00f3pez-L\u00f3pez, 2022; as metafor's rma with a "
                         f"scale formula) let log \u03c4\u00b2 depend on {join_words(scales)}, tested against one "
                         "\u03c4\u00b2 by a likelihood-ratio test.")
    if "rve" in stages:
        from alliance_meta.analyses.rve import correlated_rho

        rho = apa_setting(correlated_rho(config.get("aggregate_rho", 0.5)))
        # one effect size per study: no composites beside the effect sizes, no correlation between them to assume
        several = several_per_study is not False
        assumed = (f" (a correlation of {rho} assumed between the effect sizes of a study; 0 to 1 as a sensitivity "
                   "analysis)" if several else "")
        refitted = "the model of the study composites" if several else "the random-effects model of the effect sizes"
        sentences.append("Robust variance estimation (Hedges, Tipton & Johnson, 2010; small-sample corrections, "
                         f"Tipton, 2015; as robumeta) pooled the effect sizes{' themselves' if several else ''} in a "
                         f"correlated-effects model{assumed} and a hierarchical-effects model; {refitted} was refitted "
                         f"with {define('CR2')} standard errors (Pustejovsky & Tipton, 2018).")
    if "bias" in stages:
        selection = (f"selection models with a step function ({step_cuts_text(config)}) and six continuous weight "
                     "functions (Vevea & Hedges, 1995; Citkowicz & Vevea, 2017; as metafor's selmodel)"
                     if "selection_models" in stages else "a step-function selection model")
        from alliance_meta.analyses.gosh import DEFAULT_SEED, DEFAULT_SUBSETS

        gosh = config.get("gosh") or {}
        subsets = (gosh_subsets_text(gosh_studies, gosh) if gosh_studies else  # within parentheses
                   f"every subset of the studies, or {apa_integer(int(gosh.get('subsets', DEFAULT_SUBSETS)))} random "
                   f"subsets [seed {gosh.get('seed', DEFAULT_SEED)}] where there are more")
        influence = (f"leave-one-out, influence diagnostics, cumulative analysis and "
                     f"{define('GOSH')} plots (Olkin et al., 2012; {subsets})" if "gosh" in stages
                     else "leave-one-out, influence diagnostics and cumulative analysis")
        sentences.append("Small-study effects were examined with the funnel plot, Egger's regression test, the rank "
                         f"correlation test, trim and fill, fail-safe N, the "
                         f"{define('PET-PEESE', 'Stanley & Doucouliagos, 2014')}, the test of excess significance, "
                         f"the Henmi\u2013Copas interval, S-values and {selection}; influence with {influence}."
                         + bias_reported(stages))
    if "bma" in stages:
        # with the bias models the RoBMA-PSMA ensemble, PSMA spelled out as RoBMA is; without them plain Bayesian
        # model averaging, not "robust" (text.bma_name, as the Results and the headings name it)
        bias = bma_bias(None, config)
        name = bma_name(bias, " ".join(sentences))
        if bias:
            sentences.append(f"{name} averaged models with and without an effect, heterogeneity and publication bias, "
                             f"the last by six weight functions and the {define('PET-PEESE')} regressions, weighted "
                             "by their posterior probabilities.")
        else:
            sentences.append(f"{name} weighted the models with and without an effect and with and without "
                             "heterogeneity by their posterior probabilities.")
    from alliance_meta.analyses.multiverse import no_specification_note

    # multiverse lists of no specification (methods and priors empty) leave the multiverse out: no sentence
    if "multiverse" in stages and not no_specification_note(config.get("multiverse") or {}):
        sentences.append("A multiverse analysis (Voracek et al., 2019) refitted the pooled model under every "
                         "combination of the specification choices.")
        composites = config.get("multiverse", {}).get("aggregate_methods", ["gls", "mean"])
        if config.get("dependence") == "multilevel" and "multilevel" not in composites:
            kinds = join_words([composite_text(method, None, plural=True, before=" ".join(sentences))
                                for method in composites])
            sentences[-1] += (" Its specifications pool study composites, not the three-level model of the main "
                              f"analysis: {kinds}.")
    if "psychometric" in stages:  # the Results report it: the Methods say what it is
        psychometric = config.get("psychometric") or {}
        credibility = psychometric.get("credibility_level", 80)
        # psychometric.correction_method meas corrects for unreliability only, whatever ux the sheet codes
        restriction = (" (and range restriction, where ux was coded)"
                       if ux_coded and psychometric.get("correction_method", "auto") != "meas" else "")
        sentences.append("The correlations were also pooled in a psychometric (Hunter\u2013Schmidt) meta-analysis "
                         "(Schmidt & Hunter, 2015; as psychmeta's ma_r, Dahlke & Wiernik, 2019): bare-bones and, "
                         f"where reliabilities were coded, corrected for unreliability{restriction} study by study "
                         f"and with artifact distributions, with {credibility:g}% credibility intervals."
                         + assumed_reliabilities(psychometric))
    if "bayes" in stages:
        sentences.append(prior_sentence(config, families))
        sentences.append(sampler_sentence(config, samplers))
        if "bayes_moderators" in stages:  # the Bayesian moderators table: described, with the priors it used
            sentences.append("Each moderator was also fitted as a Bayesian meta-regression on the rows of its "
                             "frequentist model, each coefficient ~ Normal(0, "
                             f"{(config.get('bayes', {}).get('prior') or {}).get('mu_sd', 1.0):g}) with the same prior "
                             "on \u03c4; the Bayesian moderator table gives the coefficients.")
    if "prior_sensitivity" in stages and prior_sensitivity_sentence(config):
        sentences.append(prior_sensitivity_sentence(config) + PRIOR_SENSITIVITY_REPORTED)
    if "risk_of_bias" in stages:
        sentences.append(risk_of_bias_methods(config, " ".join(sentences)) + LOW_RISK_REPORTED)
    if "grade" in stages:
        start = (config.get("grade") or {}).get("start", "low")
        sentences.append(f"The certainty of the evidence was rated with the {define('GRADE', 'Guyatt et al., 2011')} "
                         f"approach, starting at {start} certainty; each domain's rating was suggested from the "
                         "results by a rule of thumb, for the reviewers to confirm, and indirectness was left to them.")
    # alliance-meta is named once, before the list of the software it ran on (not again inside the list)
    software = ", ".join(f"{name} {version}" for name, version in versions.items()
                         if version != "not installed" and name != "alliance-meta")
    sentences.append(f"Analyses ran in alliance-meta {versions.get('alliance-meta', '')}"
                     + (f"; software: {software}." if software else "."))
    return " ".join(sentences)
