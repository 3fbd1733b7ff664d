"""alliance_meta.analyses.gosh against metafor 3.8-1's gosh() (tests/reference/gosh.R -> gosh.json).

All subsets are enumerated, so metafor's results are deterministic: dat.normand1999 (511
subsets) is compared row by row (the subsets themselves too) for EE, DL, HE, SJ, ML and REML;
dat.bcg (8191 subsets) and dat.molloy2014 (65535) by their summary statistics and the mean
estimate with and without each study, for EE, DL and REML. All within 1e-6 relative. Random
subsets (when 2^k - 1 exceeds ``subsets``) cannot be compared with R's generator: their
distribution and reproducibility are tested instead.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from alliance_meta.analyses import gosh as gosh_module
from alliance_meta.analyses.gosh import gosh

REFERENCE = Path(__file__).parent / "reference" / "gosh.json"
RELATIVE, ABSOLUTE = 1e-6, 1e-10
METHODS = {"EE": "common"}
FIGURES = {"k": "k", "QE": "q", "I2": "i2", "H2": "h2", "tau2": "tau2", "estimate": "estimate"}


@lru_cache(maxsize=1)
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


def inputs(entry: dict):
    return np.array(entry["yi"], dtype=float), np.array(entry["vi"], dtype=float)


@lru_cache(maxsize=None)
def ours(name: str, method: str):
    entry = reference()["full"] if name == reference()["full"]["name"] else next(
        s for s in reference()["summaries"] if s["name"] == name)
    return gosh(*inputs(entry), METHODS.get(method, method))


@pytest.mark.parametrize("method", [fit["method"] for fit in reference()["full"]["fits"]])
def test_every_subset(method):
    theirs = next(fit for fit in reference()["full"]["fits"] if fit["method"] == method)
    result = ours(reference()["full"]["name"], method)
    assert result.exact and result.n_subsets == 2**9 - 1
    np.testing.assert_array_equal(result.included.astype(int), np.column_stack(theirs["included"]))
    for key, attribute in FIGURES.items():
        np.testing.assert_allclose(getattr(result, attribute), np.array(theirs[key], dtype=float),
                                   rtol=RELATIVE, atol=ABSOLUTE, err_msg=f"{method} {key}")


def summary_cases():
    for dataset in reference()["summaries"]:
        for fit in dataset["fits"]:
            yield pytest.param(dataset["name"], fit["method"], id=f"{dataset['name']}-{fit['method']}")


@pytest.mark.parametrize(("name", "method"), list(summary_cases()))
def test_summary_statistics(name, method):
    dataset = next(s for s in reference()["summaries"] if s["name"] == name)
    theirs = next(fit for fit in dataset["fits"] if fit["method"] == method)
    result = ours(name, method)
    assert result.n_subsets == theirs["n"] and int(result.fitted.sum()) == theirs["n_fitted"]
    ok = result.fitted
    for key, attribute in list(FIGURES.items())[1:]:
        values = getattr(result, attribute)[ok]
        ours_stats = {"mean": values.mean(), "sd": values.std(ddof=1), "min": values.min(),
                      "median": np.median(values), "max": values.max()}
        for statistic, value in ours_stats.items():
            assert value == pytest.approx(theirs["stats"][key][statistic], rel=RELATIVE, abs=ABSOLUTE), \
                (key, statistic)
    shift = result.study_shift()
    np.testing.assert_allclose(shift["estimate_with"], theirs["estimate_with"], rtol=RELATIVE)
    np.testing.assert_allclose(shift["estimate_without"], theirs["estimate_without"], rtol=RELATIVE)


def test_random_subsets_are_seeded_and_fair():
    k, n = 30, 40_000
    first = gosh_module.random_subsets(k, n, seed=5)
    np.testing.assert_array_equal(first, gosh_module.random_subsets(k, n, seed=5))
    assert not np.array_equal(first, gosh_module.random_subsets(k, n, seed=6))
    assert first.any(axis=1).all()
    assert np.all(np.diff(first.sum(axis=1)) >= 0)  # ordered by size, as metafor
    # each study in about half the subsets (binomial SD 0.0025 at n = 40,000)
    assert np.abs(first.mean(axis=0) - 0.5).max() < 0.015


def test_random_subsets_drawn_in_chunks_are_one_stream(monkeypatch):
    """Chunked drawing gives the subsets of one n x k draw (the published GOSH results stay reproducible)."""
    k, n, seed = 3, 1_001, 9  # with k = 3, about 1 in 8 draws is empty and redrawn
    generator = np.random.default_rng(seed)
    one_draw = generator.random((n, k)) < 0.5
    while (empty := ~one_draw.any(axis=1)).any():
        one_draw[empty] = generator.random((int(empty.sum()), k)) < 0.5
    one_draw = one_draw[np.argsort(one_draw.sum(axis=1), kind="stable")]
    monkeypatch.setattr(gosh_module, "RANDOM_CHUNK_CELLS", 100)  # 33 rows per chunk, the last one partial
    np.testing.assert_array_equal(gosh_module.random_subsets(k, n, seed), one_draw)


def test_study_shift_means_over_subsets_with_and_without():
    y, v = inputs(reference()["full"])
    result = gosh(y, v, "DL", subsets=300, seed=4)
    shift = result.study_shift()
    for j in (0, 5):
        inside = result.included[:, j]
        assert shift["n_with"][j] == inside.sum()
        np.testing.assert_allclose(shift["estimate_with"][j], result.estimate[inside].mean(), rtol=1e-12)
        np.testing.assert_allclose(shift["i2_without"][j], result.i2[~inside].mean(), rtol=1e-12)
        np.testing.assert_allclose(shift["estimate_shift"][j],
                                   result.estimate[inside].mean() - result.estimate[~inside].mean(), rtol=1e-10)


def test_random_mode_above_the_limit():
    y, v = inputs(reference()["full"])
    exact = gosh(y, v, "DL")
    sampled = gosh(y, v, "DL", subsets=200, seed=11)
    assert exact.exact and not sampled.exact and sampled.n_subsets == 200 and sampled.seed == 11
    # a random subset's fit equals the fit of the same subset among all subsets
    codes = {tuple(row): i for i, row in enumerate(exact.included)}
    rows = np.array([codes[tuple(row)] for row in sampled.included])
    np.testing.assert_allclose(sampled.estimate, exact.estimate[rows], rtol=1e-12)
    np.testing.assert_allclose(sampled.i2, exact.i2[rows], rtol=1e-12, atol=1e-12)


def test_batches_do_not_change_results():
    y, v = inputs(reference()["full"])
    whole = gosh(y, v, "REML")
    batched = gosh(y, v, "REML", batch_size=37)
    np.testing.assert_allclose(batched.tau2, whole.tau2, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(batched.estimate, whole.estimate, rtol=1e-13)


def test_bad_input():
    with pytest.raises(ValueError, match="estimators"):
        gosh([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], "GENQ")
    with pytest.raises(ValueError, match="two studies"):
        gosh([0.1], [0.01])


def test_plot_draws(tmp_path):
    from alliance_meta.plots.gosh import gosh_plot
    from alliance_meta.plots.style import save_figure

    result = ours(reference()["full"]["name"], "REML")
    for highlight in ([], [0, 3]):
        figure = gosh_plot(result, highlight, metric="smd")
        assert len(figure.axes) == 3 * max(1, len(highlight))
        save_figure(figure, [tmp_path / "gosh.png"])
    assert (tmp_path / "gosh.png").stat().st_size > 10_000
