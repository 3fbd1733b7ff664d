"""Posterior summaries of MCMC draws (ArviZ) beside the exact quadrature, and the
agreement check between them.

Rows of the pooled table (analysis metric unless stated): ``mu``, ``tau``, ``tau2``,
``i2`` (100 tau^2 / (tau^2 + s^2), s^2 metafor's typical within-study variance;
Higgins & Thompson 2002, eq. 9), the pooled effect back-transformed (``r``; ``or``
for SMD and log OR), ``theta_new`` and ``r_new`` (effect of a new study, the
predictive distribution; Higgins, Thompson & Spiegelhalter 2009, JRSS A 172(1)),
``p_r_gt_<t>`` (posterior probability that the pooled r exceeds t) and the Bayes
factors ``bf_mu`` (mu != 0) and ``bf_tau`` (tau > 0), which exist only exactly.

MCMC and exact means agree when |mean - exact_mean| <= 4 mcse_mean (+ 1/draws for
probabilities, whose MCSE is 0 when every draw is on one side): 4 MCSE is exceeded
with probability 6e-5 per parameter when the CLT for MCMC holds (Vehtari et al.
2021, Bayesian Analysis 16(2), on MCSE and ESS).
Where the exact SD is infinite (the CLT does not hold) the means are not compared.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd

from alliance_meta.engines.transforms import LOGIT_SCALE, back_transform
from .diagnostics import hdi_rows, posterior_summary
from .exact import ExactPosterior, NormalMixture, exp_or_inf

CONTRACT_COLUMNS = ["parameter", "mean", "sd", "hdi_lower", "hdi_upper", "r_hat", "ess_bulk", "ess_tail"]
#: after the contract's columns: MCMC then exact; ``median``, ``eti_*`` the median and equal-tailed interval of mass
#: ``bayes.hdi_prob`` (the summary of an odds ratio on a log-OR family: :data:`CENTRAL_ROWS`)
EXTRA_COLUMNS = ["mcse_mean", "median", "eti_lower", "eti_upper", "exact_mean", "exact_sd", "exact_hdi_lower",
                 "exact_hdi_upper", "exact_median", "exact_eti_lower", "exact_eti_upper", "agrees_with_exact", "warning"]
#: the rows that the Results, the Bayes table and the shrinkage forest plot of a log-odds-ratio family summarise by
#: their posterior median and equal-tailed interval (``median``, ``eti_lower``, ``eti_upper``), not mean and HDI: these
#: are exp of log OR's (an HDI is not invariant under exp), and they exist where the mean of a new study's odds ratio
#: does not (docs/bayes.md)
CENTRAL_ROWS = ("or", "or_new")
AGREEMENT_MCSE = 4.0


def is_central(parameter: str, metric: str | None, exact_sd: float = math.nan) -> bool:
    """Whether the outputs summarise row ``parameter`` by its median and equal-tailed interval, not by its mean and
    HDI: the odds ratios of a log-OR family (:data:`CENTRAL_ROWS`), and a power of tau (:data:`POWER_MOMENTS`:
    ``tau``, ``tau2``, ``theta_new``) whose posterior SD does not exist (``exact_sd`` inf; one study under a
    half-Cauchy or log-t prior, :meth:`TauPrior.tau_moment_finite`): the mean of its draws then has no CLT and no
    MCSE (one run of .test/one_study under half-Cauchy(0.5): tau 0.581, exact 0.641), its median always exists."""
    return ((metric == "log_or" and parameter in CENTRAL_ROWS)
            or (parameter in POWER_MOMENTS and exact_sd == math.inf))


#: where the outputs give a central row (:func:`is_central`; the others: the Bayes table only)
CENTRAL_OUTPUTS = {"or": "as the Bayes table and the forest plot give them",
                   "or_new": "as the Bayes table and the forest plot give them",
                   "tau": "as the Results and the Bayes table give them"}


def missing_moment_note(missing: str, parameter: str, cause: str, metric: str | None = None) -> str:
    """The ``warning`` of a row whose mean and SD (``missing``: "the mean and SD", "the SD") do not exist, and what
    describes it instead: the summaries the outputs give it (:func:`is_central`), which always exist."""
    where = CENTRAL_OUTPUTS.get(parameter, "as the Bayes table gives them")
    instead = (f"its median and equal-tailed interval (median, eti_lower, eti_upper) describe it, {where}"
               if is_central(parameter, metric, math.inf) else
               "its median and intervals (median, eti_lower, eti_upper; hdi_lower, hdi_upper) describe it")
    verb = "does" if missing == "the SD" else "do"
    return f"{missing} of {parameter} {verb} not exist: {cause}; {instead}"


THRESHOLD_PREFIX = "p_r_gt_"  # the row of P(r > t): p_r_gt_0.1


def threshold_name(threshold: float) -> str:
    return f"{THRESHOLD_PREFIX}{threshold:g}"


def threshold_of(parameter: str) -> float | None:
    """The threshold t of the row ``p_r_gt_<t>`` (:func:`threshold_name`); None for any other row."""
    try:
        return float(parameter.removeprefix(THRESHOLD_PREFIX)) if parameter.startswith(THRESHOLD_PREFIX) else None
    except ValueError:
        return None


def draws_hdi(values: np.ndarray, prob: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits of the HDI of mass ``prob`` of each variable of ``values`` (chain x draw x variable),
    as :func:`summarise_draws` computes them (ArviZ's ``hdi``, bit for bit: :func:`~.diagnostics.hdi_rows`): of r's
    own draws, not tanh of theta's limits, which hold the same mass but are not r's shortest interval."""
    values = np.asarray(values, dtype=float)
    lower, upper = hdi_rows(values.reshape(values.shape[0] * values.shape[1], -1).T, prob)
    return lower.reshape(values.shape[2:]), upper.reshape(values.shape[2:])


def summarise_draws(draws: dict[str, np.ndarray], prob: float = 0.95) -> pd.DataFrame:
    """ArviZ's summary of (chain, draw) arrays (``az.summary``, kind "all": mean, sd, HDI, MCSE of the mean,
    bulk/tail ESS, rank-normalised R-hat; Vehtari et al. 2021), bit for bit but computed for all of them at once,
    then their median and equal-tailed interval (:func:`~.diagnostics.posterior_summary`); HDI, median and interval
    left empty for probabilities (0/1 indicators)."""
    arrays = {name: np.atleast_2d(np.asarray(value, dtype=float)) for name, value in draws.items()}
    shapes = {name: array.shape for name, array in arrays.items()}
    if not shapes:
        raise ValueError("summarise_draws needs the draws of at least one variable; got none")
    if len(set(shapes.values())) > 1:  # np.stack's "all input arrays must have the same shape" named none
        raise ValueError("summarise_draws needs draws of one shape (chains, draws) for every variable; got "
                         + ", ".join(f"{name} {shape}" for name, shape in shapes.items()))
    values = np.stack(list(arrays.values()))
    table = pd.DataFrame({"parameter": list(draws), **posterior_summary(values, prob)})
    indicator = table["parameter"].str.startswith("p_")
    table.loc[indicator, ["hdi_lower", "hdi_upper", "median", "eti_lower", "eti_upper"]] = np.nan
    return table


def _inverse(func, target: float, center: float) -> float:
    """x with func(x) = target for an increasing func."""
    from scipy import optimize  # here, not at module level: jobs that never need it start faster

    lo, hi = center - 1.0, center + 1.0
    while func(lo) > target:
        lo -= 2 * (hi - lo)
    while func(hi) < target:
        hi += 2 * (hi - lo)
    return optimize.brentq(lambda x: func(x) - target, lo, hi, xtol=1e-14)


def derived_draws(beta0, tau, eta_new, metric: str, s2: float, thresholds) -> dict[str, np.ndarray]:
    """Draws of every row of the pooled table from draws of mu, tau and eta_new."""
    out = {"mu": beta0, "tau": tau, "tau2": tau**2}
    if np.isfinite(s2):
        out["i2"] = 100 * tau**2 / (tau**2 + s2)
    pooled, theta_new = back_transform(beta0, metric), beta0 + tau * eta_new
    out.update(pooled)
    out["theta_new"] = theta_new
    out.update({f"{key}_new": value for key, value in back_transform(theta_new, metric).items()})
    for threshold in thresholds:
        out[threshold_name(threshold)] = (pooled["r"] > threshold).astype(float)
    return out


def back_transformation(metric: str, key: str):
    """The map from the analysis metric to the back-transformed row ``key`` (``r``; ``or``) of the pooled table."""
    return lambda x: back_transform(x, metric)[key]


def reported_centres(mixture: NormalMixture, metric: str, quantile=None) -> dict[str, float]:
    """The exact posterior centre of each back-transformed row (``r``; ``or``) of ``mixture`` (mu) as bayes.csv has it
    and the Results, the table and the forest plot report it: the posterior mean of the transform (``exact_mean``,
    as :meth:`NormalMixture.summary`; not the transform of mu's mean), for a log-OR family's odds ratio
    (:func:`is_central`) the median (``exact_median``: the transform of mu's, from ``quantile``, default the
    mixture's)."""
    quantile = mixture.quantile if quantile is None else quantile
    return {key: float(back_transformation(metric, key)(quantile(0.5))) if is_central(key, metric)
            else mixture.expect(back_transformation(metric, key)) for key in back_transform(0.0, metric)}


def exact_rows(post: ExactPosterior, metric: str, s2: float, thresholds, prob: float = 0.95) -> pd.DataFrame:
    """The same rows computed from the exact posterior."""
    mu, new = post.coefficient(0), post.predictive()
    rows = {"mu": mu.summary(prob=prob), "tau": post.tau_summary(prob=prob), "tau2": post.tau_summary(np.square, prob)}
    if np.isfinite(s2):
        rows["i2"] = post.tau_summary(lambda t: 100 * t**2 / (t**2 + s2), prob)
    keys = list(back_transform(0.0, metric))
    for key in keys:
        rows[key] = mu.summary(back_transformation(metric, key), prob)
    rows["theta_new"] = new.summary(prob=prob)
    for key in keys:
        rows[f"{key}_new"] = new.summary(back_transformation(metric, key), prob)
    for name, orders in POWER_MOMENTS.items():
        rows[name].update(_power_moments(post, name, orders))
    if "or" in keys:
        rows["or_new"].update(_odds_ratio_moments(post, metric))
    to_r = lambda x: float(back_transform(x, metric)["r"])
    for threshold in thresholds:
        p = mu.probability_above(_inverse(to_r, threshold, mu.mean()))
        rows[threshold_name(threshold)] = {"mean": p, "sd": math.sqrt(max(p * (1 - p), 0.0)), "hdi_lower": np.nan, "hdi_upper": np.nan}
    if post.X.shape[1] == 1:
        log_bfs = post.log_bayes_factors()
        for name in ("mu", "tau"):  # beyond the largest double: inf, its log in the warning
            log_bf = log_bfs[name]
            bf = exp_or_inf(log_bf)
            rows[f"bf_{name}"] = {"mean": bf, "sd": np.nan, "hdi_lower": np.nan, "hdi_upper": np.nan,
                                  "note": f"log BF10 = {log_bf:.6g}" if bf == math.inf else np.nan}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "parameter"
    return table.add_prefix("exact_").reset_index()


#: log OR per unit of the analysis metric: the odds ratio is exp(OR_RATE * x)
OR_RATE = {"log_or": 1.0, "smd": float(LOGIT_SCALE)}


#: the rows whose mean and SD are moments of powers of tau: E[tau^m] for the mean, E[tau^2m] for the SD
#: (theta_new = mu + tau eta: its mean needs E[tau], its SD E[tau^2])
POWER_MOMENTS = {"tau": (1, 2), "tau2": (2, 4), "theta_new": (1, 2)}


def _power_moments(post: ExactPosterior, name: str, orders: tuple[int, int]) -> dict:
    """Infinite mean and/or SD of ``name`` where the prior's tail leaves the moment undefined
    (:meth:`TauPrior.tau_moment_finite`; e.g. tau^2 of one study under a half-Cauchy prior). Quadrature over the
    truncated tau grid would give a finite number that estimates nothing."""
    prior, k = post.tau_prior, post.k
    mean_order, sd_order = orders
    cause = f"under the {prior.describe()} prior on tau with k = {k} the tail of its posterior falls too slowly"
    if not prior.tau_moment_finite(mean_order, k):
        return {"mean": math.inf, "sd": math.inf, "note": missing_moment_note("the mean and SD", name, cause)}
    if not prior.tau_moment_finite(sd_order, k):
        return {"sd": math.inf, "note": missing_moment_note("the SD", name, cause)}
    return {}


def _odds_ratio_moments(post: ExactPosterior, metric: str) -> dict:
    """Infinite mean and/or SD of the odds ratio of a new study where they do not exist.

    OR_new = exp(a theta_new) with theta_new ~ N(mu, tau^2): E[OR_new] involves E[exp(a^2 tau^2 / 2)] and
    E[OR_new^2] E[exp(2 a^2 tau^2)], finite only under a light-tailed prior on tau
    (:meth:`TauPrior.exp_tau2_moment_finite`). Where they are infinite, quadrature over a truncated tau grid
    (and the mean of draws) still gives finite numbers, which estimate nothing."""
    a = OR_RATE[metric]
    prior = post.tau_prior
    for missing, c in (("the mean and SD", a * a / 2), ("the SD", 2 * a * a)):  # E[exp(c tau^2)]
        if not prior.exp_tau2_moment_finite(c):
            cause = (f"E[exp({c:.3g} tau^2)] is infinite under the {prior.describe()} prior on tau "
                     "(its tail is too heavy)")
            moments = {"mean": math.inf, "sd": math.inf} if missing == "the mean and SD" else {"sd": math.inf}
            return moments | {"note": missing_moment_note(missing, "or_new", cause, metric)}
    return {}


def diagnostics_warning(row, divergences: int, r_hat_max: float, ess_min: float, chains: int | None = None) -> str:
    """Text for the ``warning`` column: divergences, R-hat and ESS beyond the policy; with one chain
    (``chains``), that there is no R-hat."""
    notes = []
    if divergences:
        notes.append(f"{divergences} divergent transitions")
    if pd.notna(row.get("r_hat")) and row["r_hat"] > r_hat_max:
        notes.append(f"r_hat {row['r_hat']:.3f} > {r_hat_max:g}")
    elif chains == 1 and pd.isna(row.get("r_hat")):  # ArviZ's R-hat compares chains
        notes.append("no r_hat: it needs at least 2 chains (bayes.chains)")
    for column in ("ess_bulk", "ess_tail"):
        if pd.notna(row.get(column)) and row[column] < ess_min:
            notes.append(f"{column} {row[column]:.0f} < {ess_min:g}")
    return "; ".join(notes)


def agreement(table: pd.DataFrame, n_draws: int, multiplier: float = AGREEMENT_MCSE) -> pd.Series:
    """|mean - exact_mean| <= multiplier * MCSE (+ 1/n_draws for probabilities). A probability's MCSE is at
    least that of ``n_draws`` independent draws at the exact probability, sqrt(p (1 - p) / n_draws): when
    every draw falls on one side its own MCSE is 0, and an exact P(r > 0) of 0.00044 (1.8 draws of 4,000
    expected, none in 17% of runs) was flagged as a disagreement."""
    probability = table["parameter"].str.startswith("p_").to_numpy()
    exact = table["exact_mean"].astype(float).clip(0.0, 1.0).fillna(0.0).to_numpy()
    binomial = np.where(probability, np.sqrt(exact * (1.0 - exact) / n_draws), 0.0)
    mcse = np.maximum(table["mcse_mean"].fillna(0).to_numpy(dtype=float), binomial)
    slack = np.where(probability, 1.0 / n_draws, 0.0)
    tolerance = multiplier * mcse + slack + 1e-9 * (1 + table["exact_mean"].abs())
    agrees = (table["mean"] - table["exact_mean"]).abs() <= tolerance
    # an infinite exact SD (tau of one study under a half-Cauchy or log-t prior: TauPrior.tau_moment_finite) leaves
    # the MCSE, a CLT quantity, without meaning: the mean is not checked against 4 MCSE there
    finite_sd = ~np.isinf(table["exact_sd"].astype(float)) if "exact_sd" in table else True
    return agrees.where(table["mean"].notna() & np.isfinite(table["exact_mean"].astype(float)) & finite_sd)


def combine(mcmc: pd.DataFrame, exact: pd.DataFrame, divergences: int, n_draws: int, r_hat_max: float, ess_min: float,
            chains: int | None = None) -> pd.DataFrame:
    """The contract columns, then MCSE, the exact values, agreement and warnings."""
    table = mcmc.merge(exact, on="parameter", how="outer", sort=False)
    order = list(mcmc["parameter"]) + [p for p in exact["parameter"] if p not in set(mcmc["parameter"])]
    table = table.set_index("parameter").loc[order].reset_index()
    table["agrees_with_exact"] = agreement(table, n_draws)
    warnings = []
    for _, row in table.iterrows():
        if pd.isna(row.get("mean")):
            note = "exact only: Bayes factor BF10 from the marginal likelihood" if row["parameter"].startswith("bf_") else ""
            if note and row["exact_mean"] == math.inf:
                note += f"; larger than the largest double ({sys.float_info.max:.3g}): {row['exact_note']}"
            warnings.append(note)
            continue
        note = (diagnostics_warning(row, divergences, r_hat_max, ess_min, chains)
                if not row["parameter"].startswith("p_") else "")
        if isinstance(row.get("exact_note"), str) and row["exact_note"]:  # e.g. a moment that does not exist
            note = "; ".join(filter(None, [note, row["exact_note"]]))
        if row["agrees_with_exact"] is False or row["agrees_with_exact"] == 0:
            note = "; ".join(filter(None, [note, f"MCMC mean differs from exact by more than {AGREEMENT_MCSE:g} MCSE"]))
        warnings.append(note)
    table["warning"] = warnings
    return table.reindex(columns=CONTRACT_COLUMNS + EXTRA_COLUMNS)
