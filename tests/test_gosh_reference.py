"""alliance_meta.analyses.gosh against metafor 3.8-1's gosh() (tests/reference/gosh.R -> gosh.json).

All subsets are enumerated, so metafor's results are deterministic: dat.normand1999 (511
subsets) is compared row by row (the subsets themselves too) for EE, DL, HE, SJ, ML and REML;
dat.bcg (8191 subsets) and dat.molloy2014 (65535) by their summary statistics and the mean
estimate with and without each study, for EE, DL and REML. PM, PMM and GENQ (the same script
-> gosh_pm.json): dat.normand1999 row by row, dat.molloy2014 and dat.bcg scaled by 10 (so that many
subsets' root-finding bracket is 10 mad(yi)^2, not 100) by their summaries. All within 1e-6 relative. Random
subsets (when 2^k - 1 exceeds ``subsets``) cannot be compared with R's generator: their
distribution and reproducibility are tested instead. Effects of very different magnitudes (constructed: two in the
millions, five below 1; tests/reference/gosh_magnitudes.R -> gosh_magnitudes.json): every subset, row by row.
"""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from pathlib import Path

import warnings

import numpy as np
import pytest

import alliance_meta as am

from alliance_meta.analyses import gosh as gosh_module
from alliance_meta.analyses.gosh import gosh

REFERENCE = Path(__file__).parent / "reference" / "gosh.json"
REFERENCE_PM = Path(__file__).parent / "reference" / "gosh_pm.json"
REFERENCE_MAGNITUDES = Path(__file__).parent / "reference" / "gosh_magnitudes.json"
RELATIVE, ABSOLUTE = 1e-6, 1e-10
METHODS = {"EE": "common"}
FIGURES = {"k": "k", "QE": "q", "I2": "i2", "H2": "h2", "tau2": "tau2", "estimate": "estimate"}


@lru_cache(maxsize=1)
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


@lru_cache(maxsize=1)
def reference_pm() -> dict:
    return json.loads(REFERENCE_PM.read_text())


def inputs(entry: dict):
    return np.array(entry["yi"], dtype=float), np.array(entry["vi"], dtype=float)


def references() -> dict:
    return {"gosh": reference(), "gosh_pm": reference_pm()}


@lru_cache(maxsize=None)
def ours(name: str, method: str, source: str = "gosh"):
    data = references()[source]
    entry = data["full"] if name == data["full"]["name"] else next(
        s for s in data["summaries"] if s["name"] == name)
    return gosh(*inputs(entry), METHODS.get(method, method))


def full_cases():
    for source, data in references().items():
        for fit in data["full"]["fits"]:
            yield pytest.param(source, fit["method"], id=f"{source}-{fit['method']}")


@pytest.mark.parametrize(("source", "method"), list(full_cases()))
def test_every_subset(source, method):
    data = references()[source]
    theirs = next(fit for fit in data["full"]["fits"] if fit["method"] == method)
    result = ours(data["full"]["name"], method, source)
    assert result.exact and result.n_subsets == 2**9 - 1
    np.testing.assert_array_equal(result.included.astype(int), np.column_stack(theirs["included"]))
    for key, attribute in FIGURES.items():
        np.testing.assert_allclose(getattr(result, attribute), np.array(theirs[key], dtype=float),
                                   rtol=RELATIVE, atol=ABSOLUTE, err_msg=f"{method} {key}")


def summary_cases():
    for source, data in references().items():
        for dataset in data["summaries"]:
            for fit in dataset["fits"]:
                yield pytest.param(source, dataset["name"], fit["method"],
                                   id=f"{source}-{dataset['name']}-{fit['method']}")


@pytest.mark.parametrize(("source", "name", "method"), list(summary_cases()))
def test_summary_statistics(source, name, method):
    dataset = next(s for s in references()[source]["summaries"] if s["name"] == name)
    theirs = next(fit for fit in dataset["fits"] if fit["method"] == method)
    result = ours(name, method, source)
    assert result.n_subsets == theirs["n"] and int(result.fitted.sum()) == theirs["n_fitted"]
    ok = result.fitted
    for key, attribute in list(FIGURES.items())[1:]:
        values = getattr(result, attribute)[ok]
        ours_stats = {"mean": values.mean(), "sd": values.std(ddof=1), "min": values.min(),
                      "median": np.median(values), "max": values.max()}
        for statistic, value in ours_stats.items():
            assert value == pytest.approx(theirs["stats"][key][statistic], rel=RELATIVE, abs=ABSOLUTE), \
                (key, statistic)
    if "n_tau2_positive" in theirs:  # the root was searched (not tau^2 = 0 at once) in these subsets
        assert int((result.tau2[ok] > 0).sum()) == theirs["n_tau2_positive"]
    shift = result.study_shift()
    np.testing.assert_allclose(shift["estimate_with"], theirs["estimate_with"], rtol=RELATIVE)
    np.testing.assert_allclose(shift["estimate_without"], theirs["estimate_without"], rtol=RELATIVE)


MAGNITUDES = json.loads(REFERENCE_MAGNITUDES.read_text())


@pytest.mark.parametrize("theirs", MAGNITUDES["fits"], ids=lambda fit: fit["method"])
def test_subsets_far_from_the_mean_of_all_keep_their_precision(theirs):
    """Two effects in the millions, five below 1: centred on the mean of all (about 3e5), the subsets of small
    effects lost up to 1.6% of Q to cancellation (I^2 by 1.2 points, DL tau^2 10%, REML 22%, ML 69-fold where tau^2
    is small, the DL estimate by 4e-4); fitted centred on one of their studies, every subset is metafor's. Left out:
    the subsets whose Fisher scoring metafor does not converge (NA: the effects in the millions, tau^2 near 1e11),
    where ours stops as a fit does (test_fit_control_reference)."""
    method = theirs["method"]
    result = gosh(*inputs(MAGNITUDES), METHODS.get(method, method))
    np.testing.assert_array_equal(result.included.astype(int), np.column_stack(theirs["included"]))
    fitted = np.isfinite(np.array(theirs["tau2"], dtype=float))
    assert result.included[~fitted, :2].any(axis=1).all()
    for key, attribute in FIGURES.items():
        np.testing.assert_allclose(getattr(result, attribute)[fitted], np.array(theirs[key], dtype=float)[fitted],
                                   rtol=RELATIVE, atol=ABSOLUTE, err_msg=f"{method} {key}")


TINY_VARIANCES = MAGNITUDES["tiny_variances"]


@pytest.mark.parametrize("theirs", TINY_VARIANCES["fits"], ids=lambda fit: fit["method"])
def test_sampling_variances_near_1e300_give_each_subset_its_fit(theirs):
    """Weights 1/vi near 1e300, whose squares overflow doubles: every subset's k, Q, I^2, H^2, tau^2 and estimate
    are metafor's rma() of that subset and am.fit's, and metafor's gosh() rows but where its EE / DL fast path
    overflows (DL tau^2 0); no overflow warnings. Before, Q was 0 in every subset, DL, HS, ML, REML, PM and PMM
    gave tau^2 = 0 and I^2 NaN for all studies."""
    method = METHODS.get(theirs["method"], theirs["method"])
    y, v = inputs(TINY_VARIANCES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning: overflow
        result = gosh(y, v, method)
    np.testing.assert_array_equal(result.included.astype(int), np.column_stack(theirs["included"]))
    sources = {"rma": theirs["rma"]} if method in ("common", "DL") else {"rma": theirs["rma"], "gosh": theirs["gosh"]}
    for source, figures in sources.items():
        for key, attribute in FIGURES.items():
            np.testing.assert_allclose(getattr(result, attribute), np.array(figures[key], dtype=float),
                                       rtol=RELATIVE, atol=ABSOLUTE, err_msg=f"{method} {key} ({source})")
    for row, inside in enumerate(result.included):
        fit = am.fit(y[inside], v[inside], method=method, tau2_interval=False).result
        for attribute in FIGURES.values():
            assert getattr(result, attribute)[row] == pytest.approx(getattr(fit, attribute), rel=1e-12, abs=1e-14), \
                (row, attribute)


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


@pytest.mark.parametrize("method", ["PM", "PMM", "GENQ"])
@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_root_finding_and_genq_subsets_are_the_single_fits(method, scale):
    """Each subset's PM / PMM / GENQ fit is the pipeline's own single fit of that subset (the
    same uniroot iterates, so to rounding); at scale 10 many brackets are 10 mad(yi)^2 > 100."""
    from alliance_meta.models.univariate import fit

    rng = np.random.default_rng(3)
    y, v = rng.normal(0.3, 0.4, 10) * scale, rng.uniform(0.01, 0.1, 10) * scale**2
    result = gosh(y, v, method)
    assert (result.tau2 > 0).sum() > 100
    for i in range(0, result.n_subsets, 7):
        inside = result.included[i]
        single = fit(y[inside], v[inside], method, tau2_interval=False)
        if not single.converged:  # Q(tau2_max) above its target (here at scale 10): no fit, as metafor
            assert not result.fitted[i] and np.isnan(result.tau2[i])
            continue
        for attribute in ("tau2", "estimate", "i2", "h2", "q"):
            assert getattr(result, attribute)[i] == pytest.approx(getattr(single, attribute), rel=1e-12, abs=1e-14), \
                (i, attribute)
    assert result.fitted.sum() > 0.9 * result.n_subsets
    batched = gosh(y, v, method, batch_size=37)
    np.testing.assert_allclose(batched.tau2, result.tau2, rtol=1e-13, atol=1e-15)


def test_a_bracket_too_low_is_a_failed_subset_fit_as_in_metafor():
    """Q(tau2_max) above its target: metafor's rma.uni stops ('tau2.max too low'), gosh records NA."""
    from alliance_meta.engines.heterogeneity import Control

    y, v = np.array([0.0, 2.0, 4.0, 1.0]), np.full(4, 0.01)
    result = gosh(y, v, "PM", control=Control(tau2_max=0.5))
    failed = ~result.fitted
    assert failed.any() and np.isnan(result.estimate[failed]).all() and np.isnan(result.tau2[failed]).all()
    assert np.isnan(result.q[failed]).all() and np.isfinite(result.q[~failed]).all()  # metafor: QE NA too


def test_bad_input():
    with pytest.raises(ValueError, match="estimators"):
        gosh([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], "MLE")
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


def test_study_shift_allocates_without_huge_pages_and_restores_numpys_setting():
    """The 1 GB-scale indicator of study_shift is allocated with numpy's huge-page advice off (a page fault
    that compacts memory cost 2-3 s there); the setting is restored afterwards, also after an error."""
    from numpy._core import multiarray

    from alliance_meta.analyses.gosh import _small_pages

    before = multiarray._set_madvise_hugepage(True)
    try:
        with _small_pages():
            assert multiarray._set_madvise_hugepage(False) is False  # off inside
        assert multiarray._set_madvise_hugepage(True) is True  # restored
        with pytest.raises(RuntimeError), _small_pages():
            raise RuntimeError
        assert multiarray._set_madvise_hugepage(True) is True
    finally:
        multiarray._set_madvise_hugepage(before)


def test_subsets_are_drawn_without_huge_pages(monkeypatch):
    """The random subsets (10^6 x 125 booleans and their sorted copy for the demo's outcome family) are
    allocated with numpy's huge-page advice off: the page faults that compacted memory took 1.0-2.9 s of the
    draw instead of 0.5 s. The advice is back on for the fits."""
    from numpy._core import multiarray

    from alliance_meta.analyses import gosh as module

    advice = []
    draw = module.choose_subsets

    def recording(*args, **kwargs):
        advice.append(multiarray._set_madvise_hugepage(False))
        multiarray._set_madvise_hugepage(advice[-1])
        return draw(*args, **kwargs)

    monkeypatch.setattr(module, "choose_subsets", recording)
    before = multiarray._set_madvise_hugepage(True)
    try:
        module.gosh([0.1, 0.3, 0.2, 0.5], [0.01, 0.02, 0.03, 0.04], "REML", subsets=10, seed=1)
        assert advice == [False]
        assert multiarray._set_madvise_hugepage(True) is True  # restored after the draw
    finally:
        multiarray._set_madvise_hugepage(before)


def test_subsets_with_and_without_the_study_differ_in_greyscale():
    """The red of subsets with the study and the dark grey of those without printed as the same grey (relative
    luminance 0.10 and 0.07): in a greyscale print the panels could not be read. The grey is light now, and the
    share colours darken steadily from 0 to 1."""
    from matplotlib.colors import to_rgb

    from alliance_meta.plots.gosh import SHARE_COLOURS, WITH_COLOUR, WITHOUT_COLOUR

    def luminance(colour):
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    assert luminance(WITHOUT_COLOUR) > 2.5 * luminance(WITH_COLOUR)
    shares = [luminance(SHARE_COLOURS(value)[:3]) for value in np.linspace(0, 1, 21)]
    assert all(a > b for a, b in zip(shares, shares[1:]))


def test_a_long_study_label_wraps_within_its_panel():
    """A 90-character label in the panel's title made the image 13 inches wide for a 3.8-inch figure."""
    from alliance_meta.plots.gosh import gosh_plot

    result = ours(reference()["full"]["name"], "REML")
    label = ("Very-Long-Surname, Another Surname, Third Author and Colleagues 010 (1995), Working Alliance "
             "Inventory short form")
    figure = gosh_plot(result, [0], [label] * result.included.shape[1], metric="smd")
    figure.canvas.draw()
    assert figure.get_tightbbox(figure.canvas.get_renderer()).width <= figure.get_figwidth() + 0.5


@pytest.mark.parametrize("subsets, seed, named", [(100, "x", "seed"), (100, 1.5, "seed"), (100, -1, "seed"),
                                                  (100, True, "seed"), ("all", 1, "subsets")])
def test_a_seed_or_number_of_subsets_that_is_not_one_is_named(subsets, seed, named):
    """am.gosh(fit, seed="x") failed inside numpy ("SeedSequence expects int or sequence of ints for entropy
    not x") and subsets="all" inside float(), neither naming the argument."""
    import alliance_meta as am

    fit = am.fit([0.1, 0.3, 0.2, 0.5, 0.4, 0.0, 0.25, 0.35], [0.01, 0.02, 0.015, 0.03, 0.02, 0.01, 0.02, 0.025])
    with pytest.raises(ValueError, match=named):
        am.gosh(fit, subsets=subsets, seed=seed)
    assert am.gosh(fit, subsets=100, seed=np.int64(3)).result.seed == 3  # a numpy integer is a whole number


def test_study_shift_counts_the_subsets_from_the_booleans_with_the_same_figures():
    """The subsets with and without each study are counted from the boolean matrix, not by two column sums of its
    n x k copy as doubles (two passes over 1 GB in the demo's outcome family; docs/performance.md): the same
    table, bit for bit, as the float sums gave, failed subsets left out."""
    class Floats(np.ndarray):
        sums = 0

        def sum(self, *args, **kwargs):
            Floats.sums += 1
            return np.asarray(self).sum(*args, **kwargs)

    class Bools(np.ndarray):
        def astype(self, dtype, *args, **kwargs):
            converted = np.asarray(self).astype(dtype, *args, **kwargs)
            return converted.view(Floats) if converted.dtype == float else converted

    y, v = inputs(reference()["full"])
    result = gosh(y, v, "REML", subsets=3000, seed=4)
    failed = ~result.fitted
    result = dataclasses.replace(result, estimate=np.where(np.arange(result.n_subsets) % 7 == 0, np.nan,
                                                           result.estimate))  # failed fits: left out
    shift = dataclasses.replace(result, included=result.included.view(Bools)).study_shift()
    assert Floats.sums == 0
    ok = result.fitted
    assert failed.sum() < (~ok).sum()
    indicator = result.included[ok].astype(float)
    n_with, n_without = indicator.sum(axis=0), (1.0 - indicator).sum(axis=0)
    np.testing.assert_array_equal(shift["n_with"], n_with.astype(int))
    for name in ("estimate", "i2"):
        values = getattr(result, name)[ok]
        with_ = values @ indicator / n_with
        without = values @ (1.0 - indicator) / n_without
        for column, expected in ((f"{name}_with", with_), (f"{name}_without", without),
                                 (f"{name}_shift", with_ - without)):
            assert shift[column].to_numpy().tobytes() == expected.tobytes(), column


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_the_estimates_take_the_ll0checks_sums_once_bit_for_bit(monkeypatch, method):
    """Where the ll0check keeps every subset's tau^2 > 0, it has computed ``_weights(mask, v, tau2) @ moments``,
    the estimate's sums: taken from it, not computed again (one n x k division and product per batch), the
    estimates bit for bit those of the product computed anew; a batch with a subset at tau^2 = 0 (one study)
    computes them anew."""
    y, v = np.linspace(-2.0, 2.0, 12), np.linspace(0.005, 0.02, 12)  # every two studies apart: tau^2 > 0
    weights, calls = gosh_module._weights, []

    def counted(mask, v_, tau2):
        calls.append((mask.shape, np.array(tau2, dtype=float, ndmin=1).copy()))
        return weights(mask, v_, tau2)

    monkeypatch.setattr(gosh_module, "_weights", counted)
    result = gosh(y, v, method, subsets=4000, seed=5, batch_size=250)
    single = result.k == 1
    batches = [slice(start, start + 250) for start in range(0, result.n_subsets, 250)]
    assert 0 < sum(single[batch].any() for batch in batches) < len(batches)  # both kinds of batch
    assert np.all(result.tau2[~single] > 0)
    repeated = [n for n, (shape, tau2) in enumerate(calls) if tau2.size > 1  # not the common-effect weights (0)
                and any(shape == other and np.array_equal(tau2, previous) for other, previous in calls[:n])]
    assert not repeated  # each batch's weights at its final tau^2 once
    centred = y - y.mean()
    expected = np.concatenate([
        (lambda sums: sums[:, 1] / sums[:, 0])(weights(result.included[batch].astype(float), v, result.tau2[batch])
                                               @ gosh_module._moments(centred)) for batch in batches]) + y.mean()
    assert np.array_equal(result.estimate, expected)
