"""The posterior summaries of MCMC draws are ArviZ's, bit for bit, without its per-variable loop
(alliance_meta.bayes.diagnostics; issue #21)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

arviz = pytest.importorskip("arviz")

from alliance_meta.bayes.diagnostics import posterior_summary  # noqa: E402
from alliance_meta.bayes.summaries import draws_hdi, summarise_draws  # noqa: E402

COLUMNS = ["mean", "sd", "hdi_lower", "hdi_upper", "mcse_mean", "ess_bulk", "ess_tail", "r_hat", "eti_lower", "median",
           "eti_upper"]


def arviz_summary(draws: dict, prob: float):
    """What summarise_draws computed before issue #21: az.summary of every variable, the median and ETI by
    numpy's inverted-CDF quantiles of each variable's draws."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer draws than chains; NaN R-hat of constant draws
        dataset = arviz.convert_to_dataset({name: np.asarray(value, dtype=float) for name, value in draws.items()})
        table = arviz.summary(dataset, hdi_prob=prob, round_to="none", kind="all")
    table = table.rename(columns={f"hdi_{(1 - prob) / 2 * 100:g}%": "hdi_lower",
                                  f"hdi_{(1 + prob) / 2 * 100:g}%": "hdi_upper"})
    for name, value in draws.items():
        table.loc[name, ["eti_lower", "median", "eti_upper"]] = np.quantile(
            np.ravel(value), [(1 - prob) / 2, 0.5, (1 + prob) / 2], method="inverted_cdf")
    return table


def assert_same_bits(actual, expected, what: str) -> None:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(actual), nan, err_msg=f"{what}: NaN where ArviZ has none, or the reverse")
    differ = actual[~nan].view(np.uint64) != expected[~nan].view(np.uint64)
    assert not differ.any(), f"{what}: {actual[~nan][differ]} where ArviZ has {expected[~nan][differ]}"


def random_draws(rng, chains: int, draws: int, variables: int, phi: float) -> dict:
    """AR(1) chains (autocorrelation ``phi``: long sums of autocorrelations), the last chain shifted when they mix
    slowly (R-hat above 1), as views of one chain x draw x variable array (as the study effects are passed); and
    the awkward ones: constant 0 and 1 indicators (no R-hat), a rare indicator, ties, an infinite and a NaN draw."""
    noise = rng.normal(size=(chains, draws, variables))
    x = np.empty_like(noise)
    x[:, 0] = noise[:, 0]
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    x = x * rng.lognormal(size=variables) + rng.normal(size=variables)
    x[-1] += 0.5 * (phi > 0.9)
    out = {f"theta[{i}]": x[..., i] for i in range(variables)}
    rare = np.zeros((chains, draws))
    rare[0, 0] = 1.0
    out |= {"p_r_gt_0": (x[..., 0] > np.quantile(x[..., 0], 0.97)).astype(float),
            "p_r_gt_0.1": np.zeros((chains, draws)), "p_r_gt_0.3": np.ones((chains, draws)), "rare": rare,
            "ties": np.round(2 * x[..., 0]), "constant": np.full((chains, draws), 0.3)}
    if draws >= 4:
        out["inf"], out["nan"] = x[..., 0].copy(), x[..., 0].copy()
        out["inf"][0, 1], out["nan"][0, 1] = np.inf, np.nan
    return out


@pytest.mark.parametrize("chains, draws, variables, phi", [
    (4, 1000, 6, 0.3),  # the demo's chains and draws
    (4, 1000, 3, 0.995),  # slow mixing: Geyer's sequences run long; R-hat > 1
    (4, 2000, 2, 0.9),  # a retry's draws
    (4, 501, 3, 0.7),  # odd draws: split chains drop the middle draw
    (8, 130, 3, -0.6),  # 16 split chains; negative autocorrelation ends the sums at once
    (2, 37, 3, 0.2),
    (1, 200, 3, 0.5),  # one chain: no R-hat
    (3, 4, 2, 0.0),  # the fewest draws with diagnostics
    (4, 3, 2, 0.0),  # too few: NaN
])
def test_the_summary_is_arviz_bit_for_bit(chains, draws, variables, phi):
    rng = np.random.default_rng(chains * 10_000 + draws)
    values = random_draws(rng, chains, draws, variables, phi)
    for prob in (0.95, 0.8):
        expected = arviz_summary(values, prob)
        table = summarise_draws(values, prob).set_index("parameter")
        assert list(table.index) == list(values)
        assert list(table.columns) == COLUMNS
        indicator = table.index.str.startswith("p_")
        for column in COLUMNS:
            nulled = column not in ("mean", "sd", "mcse_mean", "ess_bulk", "ess_tail", "r_hat")
            keep = ~indicator if nulled else np.ones(len(table), bool)  # summarise_draws leaves these empty
            assert_same_bits(table.loc[keep, column], expected.loc[keep, column], f"{column} at {prob}")
            assert table.loc[indicator, column].isna().all() or not nulled


def test_posterior_summary_of_an_array_is_arviz_bit_for_bit():
    rng = np.random.default_rng(21)
    x = rng.standard_t(3, size=(4, 1000, 5)).cumsum(axis=1) * 0.01 + rng.normal(size=(4, 1000, 5))
    summary = posterior_summary(np.moveaxis(x, -1, 0), 0.9)
    expected = arviz_summary({f"x{i}": x[..., i] for i in range(5)}, 0.9)
    for column in COLUMNS:
        assert_same_bits(summary[column], expected[column], column)


@pytest.mark.parametrize("shape", [(4, 1000, 7), (2, 301, 3, 2), (1, 50, 4)])
def test_draws_hdi_is_arviz_hdi_bit_for_bit(shape):
    rng = np.random.default_rng(len(shape))
    values = np.tanh(rng.normal(size=shape))
    values[..., 0] = np.round(values[..., 0], 1)  # ties
    for prob in (0.95, 0.5):
        lower, upper = draws_hdi(values, prob)
        limits = np.asarray(arviz.hdi(values, hdi_prob=prob))
        assert_same_bits(lower, limits[..., 0], "lower")
        assert_same_bits(upper, limits[..., 1], "upper")


def test_the_summary_does_not_loop_over_variables_in_arviz(monkeypatch):
    """az.summary and az.hdi loop in Python over the variables (about 6 s for the demo's 125 study effects): the
    summaries compute the same numbers for all variables at once instead."""
    def refuse(*args, **kwargs):
        raise AssertionError("az.summary / az.hdi called")

    monkeypatch.setattr(arviz, "summary", refuse)
    monkeypatch.setattr(arviz, "hdi", refuse)
    x = np.random.default_rng(1).normal(size=(4, 100, 3))
    assert len(summarise_draws({f"theta[{i}]": x[..., i] for i in range(3)})) == 3
    assert draws_hdi(x)[0].shape == (3,)
