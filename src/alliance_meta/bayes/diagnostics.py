"""ArviZ's posterior summary of MCMC draws, computed for many variables at once.

``az.summary(kind="all")`` loops in Python over the variables, and within its effective sample size over the lags
(Geyer's initial positive and monotone sequences): 125 study effects took about 6 s. These functions repeat its
arithmetic step by step on arrays of variables x chains x draws, so that every number is bit-for-bit ArviZ's
(tests/test_bayes_diagnostics.py compares them with ``az.summary`` and ``az.hdi`` on random draws):

* mean and SD (ddof 1) of all draws (``az.summary``, ``skipna=False``);
* the HDI, the shortest interval holding ``floor(prob n)`` + 1 sorted draws (``arviz.stats.stats._hdi``);
* bulk and tail ESS, MCSE of the mean and rank-normalised split R-hat (``arviz.stats.diagnostics``:
  ``_multichain_statistics``, ``_ess``, ``_rhat``, ``_z_scale``, ``_split_chains``; ``stats_utils.autocov``,
  ``stats_variance_2d`` and ``quantile``, scipy's ``mquantiles`` with alphap = betap = 1), following
  Vehtari, Gelman, Simpson, Carpenter & Buerkner (2021), Rank-normalization, folding, and localization: an improved
  R-hat for assessing convergence of MCMC, Bayesian Analysis 16(2), 667-718, and Geyer (1992), Statistical
  Science 7(4), for the autocorrelation sums.

Where ArviZ sums with numpy, so do these, over the same elements along a contiguous last axis (numpy's pairwise
summation then groups them the same way); where it sums in order (``stats_variance_1d``, its variance when numba is
installed, as the sampler needs), these use a cumulative sum. Passing the study effects to ``az.summary`` as one
variable with a study dimension halves its time but changes the last bits of most means and SDs (xarray sums the
three-dimensional array in another order).
"""

from __future__ import annotations

import numpy as np

from alliance_meta.engines.distributions import norm

#: Blom's (1958) offset of the rank normalisation (ArviZ's ``_backtransform_ranks``)
BLOM_OFFSET = 3 / 8
#: the tail ESS is the smaller of the ESS of the indicators of these quantiles (ArviZ's ``_ess_tail``)
TAIL_QUANTILES = (0.05, 0.95)
#: fewer draws per chain leave every diagnostic undefined (ArviZ's ``not_valid``, ``min_draws``)
MIN_DRAWS = 4


def hdi_rows(rows: np.ndarray, prob: float, ordered: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits of the HDI of mass ``prob`` of each row of ``rows`` (variables x draws; ``ordered``:
    already sorted), as ArviZ's ``_hdi`` (unimodal, NaN kept): of the sorted draws, the narrowest window of
    ``floor(prob n)`` steps, the first where several are as narrow."""
    ordered = rows if ordered else np.sort(rows, axis=-1)
    n = ordered.shape[-1]
    step = int(np.floor(prob * n))
    widths = np.subtract(ordered[:, step:], ordered[:, :n - step], dtype=np.float64)
    start = np.argmin(widths, axis=-1)
    index = np.arange(len(ordered))
    return ordered[index, start], ordered[index, start + step]


def _split_chains(x: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as chains of their own (variables x 2 chains x half the draws)."""
    half = x.shape[-1] // 2
    return np.concatenate((x[..., :half], x[..., -half:]), axis=1)


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Normal scores of the average ranks of each variable's draws (rank normalisation; ArviZ's ``_z_scale``):
    ``norm.ppf((rank - 3/8) / (n + 1/4))``. The average rank of a run of ties among the sorted draws is
    (first + last position + 2) / 2, whatever order the sort left them in, so a half-integer: the scores of the
    2n - 1 possible ranks are computed once."""
    rows = x.reshape(len(x), -1)
    n_row, n = rows.shape
    order = np.argsort(rows, axis=-1)
    ordered = np.take_along_axis(rows, order, axis=-1)
    scores = norm.ppf(((np.arange(2 * n - 1) + 2) / 2 - BLOM_OFFSET) / (n - 2 * BLOM_OFFSET + 1))
    sorted_scores = np.repeat(scores[None, ::2], n_row, axis=0)  # no ties: rank = position + 1
    starts = np.ones(rows.shape, bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(rows.shape, bool)
    ends[:, :-1] = starts[:, 1:]
    row, position = np.nonzero(~(starts & ends))  # in a run of ties; runs are consecutive here
    if len(row):
        flat = row * n + position
        first = np.maximum.accumulate(np.where(starts[row, position], flat, 0))
        last = np.minimum.accumulate(np.where(ends[row, position], flat, n_row * n)[::-1])[::-1]
        sorted_scores[row, position] = scores[first + last - 2 * row * n]
    z = np.empty(rows.shape)
    z[np.arange(n_row)[:, None], order] = sorted_scores
    return z.reshape(x.shape)


def _ordered_variance(x: np.ndarray) -> np.ndarray:
    """Sample variance (ddof 1) along the last axis from sums taken in order, as ArviZ's ``stats_variance_1d``."""
    n = x.shape[-1]
    total, squares = np.cumsum(x, axis=-1)[..., -1], np.cumsum(x * x, axis=-1)[..., -1]
    return (squares / n - (total / n) ** 2) * (n / (n - 1))


def _mean_last(x: np.ndarray) -> np.ndarray:
    """Mean along the last axis, made contiguous: numpy sums each row as it sums that row alone."""
    return np.ascontiguousarray(x).mean(axis=-1)


def _ess(x: np.ndarray) -> np.ndarray:
    """Effective sample size of each variable of ``x`` (variables x chains x draws; ArviZ's ``_ess``): the
    autocorrelations averaged over chains, summed over Geyer's initial positive sequence of pairs made monotone."""
    from arviz import autocov

    n_var, n_chain, n_draw = x.shape
    x = np.ascontiguousarray(x, dtype=float)  # numpy then sums each variable as ArviZ sums it alone
    ess = np.full(n_var, np.nan)
    finite = ~np.isnan(x).any(axis=(1, 2))
    constant = finite & ((x.max(axis=(1, 2)) - x.min(axis=(1, 2))) < np.finfo(float).resolution)
    ess[constant] = x[0].size
    rows = finite & ~constant
    if not rows.any():
        return ess
    x = x[rows]
    acov = autocov(x.reshape(-1, n_draw), axis=-1).reshape(x.shape)
    lag_mean = _mean_last(acov.transpose(0, 2, 1))  # variables x lags: the mean over chains
    mean_var = lag_mean[:, 0] * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus = var_plus + _ordered_variance(x.mean(axis=-1))
    rho = 1.0 - (mean_var[:, None] - lag_mean) / var_plus[:, None]

    # pair k = (rho[2k], rho[2k + 1]), pair 0 = (1, rho[1]); pairs 1..K are read while the one before sums > 0
    n_pairs = len(range(1, n_draw - 3, 2))
    even = np.concatenate((np.ones((len(x), 1)), rho[:, 2:2 * n_pairs + 1:2]), axis=1)
    odd = rho[:, 1:2 * n_pairs + 2:2]
    pair_sum = even + odd
    stop = np.concatenate((~(pair_sum[:, :n_pairs] > 0), np.ones((len(x), 1), bool)), axis=1)
    last = stop.argmax(axis=1)  # K, the last pair read: at the first sum <= 0 (or NaN), at most n_pairs
    index = np.arange(len(x))
    rho_hat = np.zeros((len(x), n_draw))
    rho_hat[:, 0], rho_hat[:, 1] = 1.0, rho[:, 1]
    pair = np.arange(1, n_pairs + 1)
    kept = (pair < last[:, None]) | ((pair == last[:, None]) & (pair_sum[:, 1:] >= 0))
    rho_hat[:, 2:2 * n_pairs + 1:2] = np.where(kept, even[:, 1:], 0.0)
    rho_hat[:, 3:2 * n_pairs + 2:2] = np.where(kept, odd[:, 1:], 0.0)
    last_even = even[index, last]
    positive = last_even > 0
    rho_hat[index[positive], 2 * last[positive]] = last_even[positive]
    for k in range(1, int(last.max(initial=0))):  # initial monotone sequence, pairs 1..K-1 in order
        previous = rho_hat[:, 2 * k - 2] + rho_hat[:, 2 * k - 1]
        lower = (k < last) & ((rho_hat[:, 2 * k] + rho_hat[:, 2 * k + 1]) > previous)
        rho_hat[lower, 2 * k] = previous[lower] / 2.0
        rho_hat[lower, 2 * k + 1] = rho_hat[lower, 2 * k]

    head = np.empty(len(x))  # the sum of rho_hat[:2K], row by row as numpy sums 2K numbers
    for length in np.unique(2 * last):
        same = 2 * last == length
        head[same] = rho_hat[same, :length].sum(axis=-1)
    total = x[0].size
    tau_hat = -1.0 + 2.0 * head + rho_hat[index, 2 * last]
    floor = 1 / np.log10(total)
    tau_hat = np.where(floor > tau_hat, floor, tau_hat)
    ess[rows] = np.where(np.isnan(rho_hat).any(axis=1), np.nan, total / tau_hat)
    return ess


def _rhat(x: np.ndarray) -> np.ndarray:
    """Potential scale reduction of each variable of ``x`` (variables x chains x draws; ArviZ's ``_rhat``)."""
    n_draw = x.shape[-1]
    between = n_draw * _ordered_variance(x.mean(axis=-1))
    within = _ordered_variance(x).mean(axis=-1)
    return np.sqrt((between / within + n_draw - 1) / n_draw)


def _type7_quantiles(ordered: np.ndarray, probs) -> list[np.ndarray]:
    """Quantiles of each row of ``ordered`` (sorted; R's type 7: scipy's ``mquantiles`` with alphap = betap = 1, as
    ArviZ's ``quantile``)."""
    n = ordered.shape[-1]
    p = np.atleast_1d(np.asarray(probs))
    aleph = n * p + (1 + p * (1.0 - 1 - 1))
    k = np.floor(aleph.clip(1, n - 1)).astype(int)
    gamma = (aleph - k).clip(0, 1)
    return [(1.0 - gamma[j]) * ordered[:, k[j] - 1] + gamma[j] * ordered[:, k[j]] for j in range(len(p))]


def chain_diagnostics(x: np.ndarray, ordered: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """MCSE of the mean, bulk and tail ESS and rank-normalised split R-hat (the larger of those of the draws and of
    their distances from the median) of each variable of ``x`` (variables x chains x draws; ``ordered``: each
    variable's draws sorted, if at hand), as ArviZ's ``_multichain_statistics``: all NaN for a variable with a NaN
    draw or fewer than 4 draws per chain, R-hat NaN with one chain."""
    x = np.ascontiguousarray(x, dtype=float)  # numpy then sums each variable as ArviZ sums it alone
    n_var, n_chain, n_draw = x.shape
    out = {name: np.full(n_var, np.nan) for name in ("mcse_mean", "ess_bulk", "ess_tail", "r_hat")}
    rows = ~np.isnan(x).any(axis=(1, 2)) if n_draw >= MIN_DRAWS else np.zeros(n_var, bool)
    if not rows.any():
        return out
    x = x[rows]
    flat = x.reshape(len(x), -1)
    ordered = np.sort(flat, axis=-1) if ordered is None else ordered[rows]
    z_split = _z_scale(_split_chains(x))
    low, high = (_ess(_split_chains(x <= q[:, None, None])) for q in _type7_quantiles(ordered, TAIL_QUANTILES))
    out["ess_tail"][rows] = np.where(high < low, high, low)
    if n_chain >= 2:
        bulk = _rhat(z_split)
        tail = _rhat(_z_scale(_split_chains(np.abs(x - np.median(ordered, axis=-1)[:, None, None]))))
        out["r_hat"][rows] = np.where(tail > bulk, tail, bulk)
    squares = ((x - flat.mean(axis=-1)[:, None, None]) ** 2).reshape(len(x), -1)
    out["mcse_mean"][rows] = np.sqrt(squares.sum(axis=-1) / (squares.shape[-1] - 1) / _ess(_split_chains(x)))
    out["ess_bulk"][rows] = _ess(z_split)
    return out


def posterior_summary(x: np.ndarray, prob: float) -> dict[str, np.ndarray]:
    """Summary of each variable of ``x`` (variables x chains x draws): ``az.summary(kind="all", round_to="none")``
    but ``mcse_sd``, which nothing reads (mean, sd, hdi_lower, hdi_upper, mcse_mean, ess_bulk, ess_tail, r_hat), then
    the median and the equal-tailed interval of mass ``prob`` (eti_lower, median, eti_upper) as quantiles that are
    draws (inverted CDF), so that those of exp(mu) are exactly exp of mu's."""
    x = np.ascontiguousarray(x, dtype=float)  # numpy then sums each variable as ArviZ sums it alone
    flat = x.reshape(len(x), -1)
    ordered = np.sort(flat, axis=-1)
    lower, upper = hdi_rows(ordered, prob, ordered=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # as ArviZ's: NaN where undefined (constant draws)
        table = {"mean": flat.mean(axis=-1), "sd": flat.std(axis=-1, ddof=1), "hdi_lower": lower, "hdi_upper": upper,
                 **chain_diagnostics(x, ordered)}
    # of the draws as they come, not sorted: which of the tied draws -0.0 and 0.0 is picked depends on the order
    quantiles = np.quantile(flat, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=-1, method="inverted_cdf")
    return table | dict(zip(("eti_lower", "median", "eti_upper"), quantiles))
