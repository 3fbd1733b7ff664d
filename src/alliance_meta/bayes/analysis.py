"""The Bayesian stage: pooled model, study estimates, meta-regressions and prior
sensitivity, every MCMC result next to the exact posterior.

Diagnostics policy: divergent transitions, R-hat > ``r_hat_max`` (1.01) or bulk/tail
ESS < ``ess_min`` (400) are written into the ``warning`` column and logged; the fit is
then repeated once with ``retry.target_accept`` and ``retry.draws_factor`` times the
draws (and tuning). If the MCMC means of mu or tau still differ from the exact
posterior by more than 4 MCSE, :class:`ExactCheckError` is raised (the rule fails).

The meta-regressions use the frequentist moderator models' rows and coding
(:func:`moderator_data`: :func:`alliance_meta.analyses.moderators.aggregate_within` and
:func:`alliance_meta.engines.design.build_design`), one model per moderator.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from alliance_meta.engines.transforms import back_transform
from alliance_meta.wording import counted
from .exact import exact_posterior, typical_within_variance
from .priors import Priors, TauPrior
from .summaries import CENTRAL_ROWS, combine, derived_draws, draws_hdi, exact_rows, summarise_draws

log = logging.getLogger("alliance_meta")

DEFAULT_SENSITIVITY_PRIORS = [
    {"family": "half_normal", "scale": 0.5},
    {"family": "half_normal", "scale": 0.2},
    {"family": "half_cauchy", "scale": 0.1},
    {"family": "turner2015_mental_health"},
    {"family": "rhodes2015_mental_health"},
]


class ExactCheckError(RuntimeError):
    """MCMC and the exact posterior disagree beyond Monte Carlo error."""


@dataclass(frozen=True)
class BayesConfig:
    """The ``bayes`` section of the config (see workflow/schemas/config.schema.yaml)."""

    priors: Priors = Priors()
    seed: int = 20181201
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.9
    sampler: str = "auto"
    cores: int = 2
    thresholds: tuple = (0.0, 0.1, 0.3)
    r_hat_max: float = 1.01
    ess_min: float = 400
    retry_target_accept: float = 0.99
    retry_draws_factor: int = 2
    hdi_prob: float = 0.95
    sensitivity_priors: tuple = field(default_factory=lambda: tuple(DEFAULT_SENSITIVITY_PRIORS))

    @classmethod
    def from_config(cls, bayes: dict | None, metric: str, cores: int = 2) -> "BayesConfig":
        bayes = bayes or {}
        retry = bayes.get("retry", {})
        diagnostics = bayes.get("diagnostics", {})
        return cls(
            priors=Priors.from_config(bayes.get("prior"), metric),
            seed=int(bayes.get("seed", 20181201)),
            draws=int(bayes.get("draws", 1000)),
            tune=int(bayes.get("tune", 1000)),
            chains=int(bayes.get("chains", 4)),
            target_accept=float(bayes.get("target_accept", 0.9)),
            sampler=bayes.get("sampler", "auto"),
            cores=int(cores),
            thresholds=tuple(float(t) for t in bayes.get("thresholds", (0.0, 0.1, 0.3))),
            r_hat_max=float(diagnostics.get("r_hat_max", 1.01)),
            ess_min=float(diagnostics.get("ess_min", 400)),
            retry_target_accept=float(retry.get("target_accept", 0.99)),
            retry_draws_factor=int(retry.get("draws_factor", 2)),
            hdi_prob=float(bayes.get("hdi_prob", 0.95)),
            sensitivity_priors=tuple(bayes.get("sensitivity_priors", DEFAULT_SENSITIVITY_PRIORS)),
        )

    def settings(self, retry: bool = False):
        from .mcmc import SamplerSettings

        factor = self.retry_draws_factor if retry else 1
        return SamplerSettings(
            draws=self.draws * factor,
            tune=self.tune * factor,
            chains=self.chains,
            target_accept=self.retry_target_accept if retry else self.target_accept,
            seed=self.seed,
            cores=self.cores,
            backend=self.sampler,
        )


@dataclass
class PooledFit:
    table: pd.DataFrame  # bayes.csv
    studies: pd.DataFrame  # bayes_studies.csv
    draws: dict  # (chain, draw) arrays for the plots
    retried: bool


#: Warnings a retry with more draws and a higher target acceptance can cure (not "no r_hat" of one chain),
#: by the diagnostic the log names
RETRY_DIAGNOSTICS = {"divergent transitions": "divergent", "R-hat": r"r_hat \d", "ESS": "ess_"}
RETRY_WARNINGS = "|".join(RETRY_DIAGNOSTICS.values())


def _needs_retry(table: pd.DataFrame, check: list[str]) -> bool:
    bad_warning = table["warning"].fillna("").str.contains(RETRY_WARNINGS)
    disagrees = table["parameter"].isin(check) & (table["agrees_with_exact"] == False)  # noqa: E712
    return bool(bad_warning.any() or disagrees.any())


def _shortfalls(table: pd.DataFrame, check: list[str], studies: pd.DataFrame | None = None,
                checked: list[str] | None = None) -> str:
    """What made a run be repeated, for the log: the diagnostics of :data:`RETRY_DIAGNOSTICS` in its warnings
    (and its ``studies``'), and the exact check of the ``check`` parameters (``checked``: their names in words)."""
    warnings = " ".join(pd.concat([table["warning"], *([] if studies is None else [studies["warning"]])]).fillna(""))
    found = [name for name, pattern in RETRY_DIAGNOSTICS.items() if re.search(pattern, warnings)]
    if (table["parameter"].isin(check) & (table["agrees_with_exact"] == False)).any():  # noqa: E712
        found.append(f"the agreement of {' or '.join(checked or check)} with the exact posterior")
    return ", ".join(found[:-1]) + " and " + found[-1] if len(found) > 1 else "".join(found)


def _log_retry(what: str, shortfalls: str, passed: bool, checked: list[str], cfg: BayesConfig) -> None:
    """The one log line of the diagnostics policy's repeat (bayes.retry): INFO where the repeat passes (routine),
    else a WARNING. ``shortfalls``: the first run's (:func:`_shortfalls`); ``checked``: the parameters of the
    exact check in words."""
    (log.info if passed else log.warning)(
        "%s: the first run fell short on %s, so it was repeated once with target_accept=%g and %d draws "
        "(bayes.retry); %s", what, shortfalls, cfg.retry_target_accept, cfg.draws * cfg.retry_draws_factor,
        "the repeat passes: no divergent transitions, R-hat and ESS within bayes.diagnostics, "
        f"{' and '.join(checked)} agree with the exact posterior" if passed
        else "the repeat still falls short (the warnings below)")


def _check_exact(table: pd.DataFrame, check: list[str], what: str) -> None:
    bad = table[table["parameter"].isin(check) & (table["agrees_with_exact"] == False)]  # noqa: E712
    if len(bad):
        details = "; ".join(f"{r.parameter}: MCMC {r.mean:.6g} (MCSE {r.mcse_mean:.2g}) vs exact {r.exact_mean:.6g}" for r in bad.itertuples())
        raise ExactCheckError(f"{what}: MCMC disagrees with the exact posterior by more than 4 MCSE after a retry ({details})")


def _study_table(data: pd.DataFrame, draws, post, metric: str, cfg: BayesConfig, divergences: int,
                 labels: str = "authors_year") -> pd.DataFrame:
    """bayes_studies.csv: each study named as the forest plots name it (``labels``: a mode of
    :func:`~alliance_meta.plots.forest_options.study_labels`, authors and year by default)."""
    from alliance_meta.plots.forest_options import study_labels

    y, v = data["yi"].to_numpy(float), data["vi"].to_numpy(float)
    theta = {f"theta[{i}]": draws.theta[..., i] for i in range(len(y))}
    summary = summarise_draws(theta, cfg.hdi_prob)
    exact_mean, exact_sd = post.studies()
    out = pd.DataFrame({"study_id": data["study_id"].astype(str).to_numpy()})
    # not the composites' own label: the rows' label where they all agree (one effect size), else "authors (year)"
    out["label"] = study_labels(data, labels, escape=False, font=False)  # a table's column, not drawn
    half = 1.959963984540054 * np.sqrt(v)
    out["yi"], out["vi"], out["ci_lower"], out["ci_upper"] = y, v, y - half, y + half
    for column in ["mean", "sd", "hdi_lower", "hdi_upper", "r_hat", "ess_bulk", "ess_tail", "mcse_mean", "median",
                   "eti_lower", "eti_upper"]:
        out[column] = summary[column].to_numpy()
    out["exact_mean"], out["exact_sd"] = exact_mean, exact_sd
    out["agrees_with_exact"] = (out["mean"] - out["exact_mean"]).abs() <= 4 * out["mcse_mean"] + 1e-9
    out["warning"] = [diagnostics_note(row, divergences, cfg) for _, row in out.iterrows()]
    for key, values in back_transform(y, metric).items():
        out[f"{key}_observed"] = values
        out[f"{key}_ci_lower"] = back_transform(out["ci_lower"], metric)[key]
        out[f"{key}_ci_upper"] = back_transform(out["ci_upper"], metric)[key]
        shown = back_transform(draws.theta, metric)[key]  # the draws of r (or OR) itself: their mean and HDI
        out[f"{key}_mean"] = shown.mean(axis=(0, 1))
        out[f"{key}_hdi_lower"], out[f"{key}_hdi_upper"] = draws_hdi(shown, cfg.hdi_prob)
    return out


def diagnostics_note(row, divergences, cfg: BayesConfig) -> str:
    from .summaries import diagnostics_warning

    note = diagnostics_warning(row, divergences, cfg.r_hat_max, cfg.ess_min, cfg.chains)
    if not row["agrees_with_exact"]:
        note = "; ".join(filter(None, [note, "MCMC mean differs from exact by more than 4 MCSE"]))
    return note


def fit_pooled(sampler, data: pd.DataFrame, metric: str, cfg: BayesConfig, labels: str = "authors_year") -> PooledFit:
    """Random-effects pooling by MCMC, summarised beside the exact posterior, with the
    retry-once diagnostics policy and the exact check of mu and tau; ``labels`` as :func:`run_stage`."""
    y, v = data["yi"].to_numpy(float), data["vi"].to_numpy(float)
    s2 = typical_within_variance(v)
    post = exact_posterior(y, v, cfg.priors.tau, cfg.priors.mu_sd)
    exact = exact_rows(post, metric, s2, cfg.thresholds, cfg.hdi_prob)
    for retry in (False, True):
        settings = cfg.settings(retry)
        draws = sampler.sample(y, v, settings=settings)
        derived = derived_draws(draws.beta[..., 0], draws.tau, draws.eta_new, metric, s2, cfg.thresholds)
        table = combine(summarise_draws(derived, cfg.hdi_prob), exact, draws.divergences,
                        settings.draws * settings.chains, cfg.r_hat_max, cfg.ess_min, settings.chains)
        studies = _study_table(data, draws, post, metric, cfg, draws.divergences, labels)
        passed = not (_needs_retry(table, ["mu", "tau"]) or studies["warning"].str.contains(RETRY_WARNINGS).any())
        if passed:
            break
        if not retry:
            shortfalls = _shortfalls(table, ["mu", "tau"], studies)
    if retry:
        _log_retry("Bayesian pooling", shortfalls, passed, ["mu", "tau"], cfg)
    for row in table.itertuples():
        if row.warning and not str(row.warning).startswith("exact only"):
            log.warning("bayes %s: %s", row.parameter, row.warning)
    _check_exact(table, ["mu", "tau"], "Bayesian pooling")
    return PooledFit(table, studies, {**derived, "theta": draws.theta}, retried=retry)


@dataclass(frozen=True)
class ModeratorOptions:
    """How the moderator rows are formed and coded: as the frequentist moderator analysis
    (config ``continuous_moderators``, ``aggregate_method``, ``aggregate_rho``,
    ``reference_levels``, ``centre_continuous``)."""

    continuous: tuple = ()
    aggregate_method: str = "gls"
    rho: float = 0.5
    reference_levels: dict = field(default_factory=dict)
    centre: bool = False


@dataclass
class ModeratorData:
    """One moderator's model rows (effect sizes aggregated within study x level), its
    design and how many effect sizes had no value; ``note`` says why it is not fitted."""

    moderator: str
    data: pd.DataFrame | None = None
    design: object = None  # alliance_meta.engines.design.Design
    k_dropped: int = 0
    note: str = ""

    @property
    def k(self) -> int:
        return 0 if self.data is None else len(self.data)


def moderator_data(effect_sizes: pd.DataFrame, moderator: str, options: ModeratorOptions = ModeratorOptions()) -> ModeratorData:
    """The rows and design matrix of the frequentist model of ``moderator``
    (:func:`alliance_meta.analyses.moderators.aggregate_within`, :func:`alliance_meta.engines.design.build_design`):
    one row per study x level, the configured or most frequent level as reference, and
    the model left out under the conditions of :func:`alliance_meta.analyses.moderators.fit_model`."""
    from alliance_meta.engines.design import build_design, column_term
    from alliance_meta.analyses.moderators import aggregate_within
    from alliance_meta.analyses.moderators.univariate import estimable, not_estimable_reason

    if moderator not in effect_sizes:
        return ModeratorData(moderator, note="not a column of the effect sizes")
    numeric = (moderator,) if moderator in options.continuous else ()
    data, dropped = aggregate_within(effect_sizes, (moderator,), options.aggregate_method, options.rho, numeric)
    if len(data) < 3:  # no row coded: the frequentist model's reason, not "fewer than 3 rows" beside k rows
        return ModeratorData(moderator, data, None, dropped,
                             not_estimable_reason(data, [moderator]) if data.empty else "fewer than 3 rows")
    reference = options.reference_levels.get(moderator)
    design = build_design(data, column_term(moderator), numeric, {moderator: reference} if reference is not None else None,
                          options.centre)
    if not estimable(design, len(data)):
        return ModeratorData(moderator, data, design, dropped, not_estimable_reason(data, [moderator], dropped))
    return ModeratorData(moderator, data, design, dropped)


def _posterior_scale(post) -> np.ndarray:
    """Cholesky factor of the exact posterior covariance of beta (sampling preconditioner)."""
    mean = post.weights @ post.coef_mean
    second = np.einsum("g,gpq->pq", post.weights, post.coef_cov + np.einsum("gp,gq->gpq", post.coef_mean, post.coef_mean))
    cov = second - np.outer(mean, mean)
    return np.linalg.cholesky(0.5 * (cov + cov.T))


def fit_moderators(sampler, models: list[ModeratorData], cfg: BayesConfig) -> pd.DataFrame:
    """Bayesian meta-regression per moderator on the frequentist model's rows and design
    (:func:`moderator_data`): coefficient posteriors (MCMC and exact), named as in
    ``meta_regression.csv`` (``intercept``, ``rater[observer]``, ``year``)."""
    frames = []
    for model in models:
        moderator = model.moderator
        if model.note:
            log.warning("bayes moderator %s: not fitted (%s)", moderator, model.note)
            frames.append(pd.DataFrame({"moderator": [moderator], "k": [model.k], "k_dropped": [model.k_dropped],
                                        "warning": [model.note]}))
            continue
        data, design = model.data, model.design
        y, v, X = data["yi"].to_numpy(float), data["vi"].to_numpy(float), design.matrix
        post = exact_posterior(y, v, cfg.priors.tau, cfg.priors.mu_sd, X)
        exact = {"tau": post.tau_summary(prob=cfg.hdi_prob)}
        exact.update({f"beta[{j}]": post.coefficient(j).summary(prob=cfg.hdi_prob) for j in range(X.shape[1])})
        exact = pd.DataFrame.from_dict(exact, orient="index").add_prefix("exact_").rename_axis("parameter").reset_index()
        scale = _posterior_scale(post)
        for retry in (False, True):
            settings = cfg.settings(retry)
            draws = sampler.sample(y, v, X, settings, scale=scale)
            named = {f"beta[{j}]": draws.beta[..., j] for j in range(X.shape[1])} | {"tau": draws.tau}
            table = combine(summarise_draws(named, cfg.hdi_prob), exact, draws.divergences,
                            settings.draws * settings.chains, cfg.r_hat_max, cfg.ess_min, settings.chains)
            passed = not _needs_retry(table, list(named))
            if passed:
                break
            if not retry:
                shortfalls = _shortfalls(table, list(named), checked=["the coefficients", "tau"])
        if retry:
            _log_retry(f"Bayesian meta-regression on {moderator}", shortfalls, passed, ["the coefficients", "tau"], cfg)
        table.insert(0, "term", list(design.columns) + ["tau"])
        table.insert(0, "centre", design.centres.get(moderator, np.nan))
        table.insert(0, "reference", design.reference_levels.get(moderator, ""))
        table.insert(0, "n_studies", data["study_id"].nunique())
        table.insert(0, "k_dropped", model.k_dropped)
        table.insert(0, "k", model.k)
        table.insert(0, "moderator", moderator)
        for row in table.itertuples():
            if row.warning:
                log.warning("bayes moderator %s, %s: %s", moderator, row.term, row.warning)
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=["moderator", "k", "k_dropped", "n_studies", "reference", "centre", "term", "parameter", "warning"])
    table = pd.concat(frames, ignore_index=True)
    table[["k", "k_dropped"]] = table[["k", "k_dropped"]].astype("Int64")
    if "n_studies" in table:
        table["n_studies"] = table["n_studies"].astype("Int64")
    return table


def other_priors(main: TauPrior, specs, metric: str | None = None) -> list[TauPrior]:
    """The priors of ``specs`` (bayes.sensitivity_priors) that :func:`prior_sensitivity` adds to the ``main`` one:
    those that differ from it (the Methods name the same)."""
    priors = [TauPrior.from_config(spec, metric) for spec in specs]
    return [prior for prior in priors if replace(prior, label=None) != replace(main, label=None)]


def prior_sensitivity(data: pd.DataFrame, metric: str, cfg: BayesConfig) -> tuple[pd.DataFrame, dict]:
    """Pooled effect, r, tau and the predictive r under the main and every sensitivity
    prior of tau, by the exact quadrature: each row's mean, SD and HDI; the odds ratios
    (:data:`~alliance_meta.bayes.summaries.CENTRAL_ROWS`) also their median and equal-tailed
    interval, a log-OR family's summary of them (docs/bayes.md). Returns the table and the posteriors."""
    y, v = data["yi"].to_numpy(float), data["vi"].to_numpy(float)
    s2 = typical_within_variance(v)
    priors = [replace(cfg.priors.tau, label=cfg.priors.tau.label or "main"),
              *other_priors(cfg.priors.tau, cfg.sensitivity_priors, metric)]
    rows, posts = [], {}
    for prior in priors:
        post = exact_posterior(y, v, prior, cfg.priors.mu_sd)
        exact = exact_rows(post, metric, s2, cfg.thresholds, cfg.hdi_prob).set_index("parameter")
        row = {"prior": prior.describe(), "tau_prior_family": prior.family, "tau_prior_scale": prior.scale,
               "tau_prior_mu": prior.mu, "tau_prior_sigma": prior.sigma, "prior_mu_sd": cfg.priors.mu_sd, "k": len(y)}
        for parameter in exact.index:
            central = ("median", "eti_lower", "eti_upper") if parameter in CENTRAL_ROWS else ()
            for stat in ("mean", "sd", "hdi_lower", "hdi_upper", *central):
                value = exact.loc[parameter, f"exact_{stat}"]
                if not (parameter.startswith(("p_", "bf_")) and stat != "mean"):
                    row[f"{parameter}_{stat}" if stat != "mean" or not parameter.startswith(("p_", "bf_")) else parameter] = value
        rows.append(row)
        posts[prior.describe()] = (prior, post)
    return pd.DataFrame(rows), posts


@dataclass(eq=False)  # identity: its frames do not compare (and it can be a dict key)
class StageResult:
    """The Bayesian stage of one family: ``bayes.csv``, study estimates, moderator models, draws, and the
    ``sampler`` that drew them (``nutpie`` or ``pymc``, :func:`~alliance_meta.bayes.mcmc.available_backend`; "" when
    nothing was sampled)."""

    table: pd.DataFrame
    studies: pd.DataFrame
    moderators: pd.DataFrame
    draws: dict
    sampler: str = ""

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:  # one line, as the other analyses' results: the dataclass' repr printed every draw
        mu = self.table[self.table["parameter"] == "mu"] if "parameter" in self.table else self.table.iloc[:0]
        headline = (f"; mu = {mu['mean'].iloc[0]:.4f}, HDI [{mu['hdi_lower'].iloc[0]:.4f}, "
                    f"{mu['hdi_upper'].iloc[0]:.4f}]" if len(mu) else "")
        models = self.moderators["moderator"].nunique() if "moderator" in self.moderators else 0
        k = len(self.studies)
        return (f"<StageResult: {len(self.table)} parameters on k = {k} {'study' if k == 1 else 'studies'}{headline}; "
                f"{models} moderator model{'' if models == 1 else 's'}>")


def sampler_record(result: StageResult) -> dict:
    """``results/{family}/bayes_sampler.json``: the sampler the stage used and its version (``{}`` when nothing was
    sampled), which the report's Methods name (bayes.sampler auto picks nutpie where it is installed: the report's
    own environment need not be the job's)."""
    from importlib import metadata

    return {"sampler": result.sampler, "version": metadata.version(result.sampler)} if result.sampler else {}


def run_stage(data: pd.DataFrame, metric: str, bayes_config: dict | None, moderators, cores: int = 1, *,
              effect_sizes: pd.DataFrame, options: ModeratorOptions = ModeratorOptions(),
              labels: str = "authors_year") -> StageResult:
    """The whole MCMC part of the stage for one family: the pooled model (``data``, one row per study) and
    every meta-regression (``effect_sizes`` aggregated within study x moderator level, as the frequentist
    moderator analysis; one model per moderator and continuous moderator). ``labels``: how the study table
    names the studies (a mode of the forest plots' ``plots.labels``; the pipeline keeps the default). The pooled model has a compiled
    model of its own size, so that its draws do not depend on the moderators (padding adds sampled
    dimensions, which change NUTS's random stream); one more, sized for the largest data set and design,
    serves the meta-regressions."""
    from .mcmc import HierarchicalSampler

    cfg = BayesConfig.from_config(bayes_config, metric, cores)
    if len(data) == 0:
        log.info("no studies in this family (k = 0): writing empty tables")
        empty = pd.DataFrame(columns=["parameter", "mean", "sd", "hdi_lower", "hdi_upper", "r_hat", "ess_bulk", "ess_tail"])
        return StageResult(empty, pd.DataFrame(columns=["study_id", "yi", "vi", "mean"]), pd.DataFrame(columns=["moderator", "term"]), {})
    names = list(dict.fromkeys([*moderators, *options.continuous]))
    models = [moderator_data(effect_sizes, name, options) for name in names]
    fitted = [model for model in models if not model.note]
    sampler = HierarchicalSampler(cfg.priors, len(data), 1, cfg.sampler)
    log.info("sampler %s; prior mu ~ N(0, %g), tau ~ %s", sampler.backend, cfg.priors.mu_sd, cfg.priors.tau.describe())
    fit = fit_pooled(sampler, data, metric, cfg, labels)
    for row in fit.table.itertuples():
        log.info("%s: MCMC %.5g [%.5g, %.5g], exact %.5g; R-hat %.4f, ESS %.0f", row.parameter, row.mean,
                 row.hdi_lower, row.hdi_upper, row.exact_mean, row.r_hat, row.ess_bulk)
    for model in models:
        log.info("moderator %s: k = %d rows (study x level), %s without a value", model.moderator, model.k,
                 counted(model.k_dropped, "effect size"))
    if fitted:  # every meta-regression has two coefficients or more: a model of its own size
        rows = max([len(data)] + [model.k for model in fitted])
        sampler = HierarchicalSampler(cfg.priors, rows, max(model.design.matrix.shape[1] for model in fitted),
                                      cfg.sampler)
    return StageResult(fit.table, fit.studies, fit_moderators(sampler, models, cfg), fit.draws, sampler.backend)
