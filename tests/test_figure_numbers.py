"""Numbers in the figures written as the report's text and tables write them (APA 7, sec. 6.36): a correlation, a
probability or a p value, which cannot exceed 1, without the leading zero (".5", not "0.5"), on every axis and in
every title; selection-model steps alike in the figure and the text; a forest axis whose labels never overlap."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import alliance_meta as am

LEADING_ZERO = re.compile(r"(?<![\d.])0\.\d")


def simulated_rows(k: int = 10) -> pd.DataFrame:
    """Simulated correlations (Fisher z) of k studies with a year and a modality."""
    rng = np.random.default_rng(11)
    n = rng.integers(40, 200, k)
    frame = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(k)], "vi": 1 / (n - 3), "n": n, "metric": "z",
                          "year": 1990 + np.arange(k), "modality": np.resize(["CBT", "other"], k)})
    frame["yi"] = 0.28 + rng.normal(0, np.sqrt(frame["vi"] + 0.005))
    return frame


@pytest.fixture(scope="module")
def fit():
    return am.fit(simulated_rows(), metric="z")


def tick_texts(axis, which: str = "x") -> list[str]:
    axis.figure.draw_without_rendering()
    labels = axis.get_xticklabels() if which == "x" else axis.get_yticklabels()
    return [label.get_text() for label in labels if label.get_text()]


def assert_bounded(texts) -> None:
    """Labels there are, and none with a leading zero."""
    assert texts and not [text for text in texts if LEADING_ZERO.search(text)], texts


def axis_labelled(figure, start: str):
    return next(axis for axis in figure.axes if axis.get_xlabel().startswith(start))


def test_bounded_ticks_drop_the_leading_zero_and_write_zero_as_0():
    from alliance_meta.plots.style import bounded_axis

    figure, axis = plt.subplots()
    axis.set_xlim(-0.6, 0.6)
    bounded_axis(axis)
    texts = tick_texts(axis)
    plt.close(figure)
    assert {"\u2212.4", "0", ".4"} <= set(texts) and "1.0" not in texts
    assert_bounded(texts)


def test_funnel_r_axis_has_no_leading_zero_and_fisher_z_keeps_its(fit):
    """The top r axis read "−0.5 0 0.5" beside forest plots reading ".5"; Fisher's z can exceed 1 and keeps it."""
    figure = am.publication_bias(fit).funnel(note="")
    main = figure.axes[0]
    assert_bounded(tick_texts(main.child_axes[0]))
    assert any(LEADING_ZERO.search(text) for text in tick_texts(main))


def test_cumulative_multiverse_and_gosh_write_r_without_leading_zero(fit):
    from alliance_meta.plots.influence import sensitivity_figures

    cumulative = sensitivity_figures(am.sensitivity(fit))["cumulative"]
    assert_bounded(tick_texts(cumulative.axes[0]))
    multiverse = am.multiverse(fit, {"methods": ["DL", "REML"], "tests": ["z"]}).plot(note="")
    top = next(axis for axis in multiverse.axes if axis.get_ylabel().startswith("Correlation"))
    assert_bounded(tick_texts(top, "y"))
    gosh = am.gosh(fit, subsets=50).plot(note="")
    assert_bounded(tick_texts(axis_labelled(gosh, "Correlation")))
    plt.close("all")


def test_moderator_figures_write_r_without_leading_zero():
    from alliance_meta.analyses import moderators
    from alliance_meta.plots.bubble import bubble_plot
    from alliance_meta.plots.subgroups import subgroup_forest

    data = simulated_rows(12)
    analysis = moderators.analyse_moderator(data, "modality", "z", permutations=0)
    overall = {"estimate": 0.3, "ci_lower": 0.2, "ci_upper": 0.4, "k": 12}
    subgroups = subgroup_forest(analysis.subgroups, analysis.summary(), overall, "z")
    assert_bounded(tick_texts(axis_labelled(subgroups, "Correlation")))
    bubble = bubble_plot(moderators.analyse_moderator(data, "year", "z", continuous=True, permutations=0), "z")
    assert_bounded(tick_texts(bubble.axes[0], "y"))
    plt.close("all")


def test_a_slope_that_rounds_to_zero_is_never_minus_zero():
    """One function (apa_number) rounds for reading: the bubble plot's title read "Slope −0.0000 ... [−0.0000, ...]"
    for a moderator on a large scale, then "0.0000 [0.0000, 0.0000]": its decimals now show the CI's width to two
    significant digits (:func:`alliance_meta.wording.interval_decimals`); the report's tables show a true-zero ICC
    of −8.7e-17 as .00 (no leading zero: an ICC is at most 1), never −.00."""
    from alliance_meta.analyses import moderators
    from alliance_meta.analyses.agreement import icc_agreement
    from alliance_meta.plots.bubble import bubble_plot
    from alliance_meta.report.formatting import readable_frame

    data = simulated_rows(12).assign(year=lambda frame: frame["year"] * 1000)
    bubble = bubble_plot(moderators.analyse_moderator(data, "year", "z", continuous=True, permutations=0), "z")
    assert bubble.axes[0].get_title(loc="left").startswith(
        "Slope \u22120.000001 Fisher's $z$ per year, 95% CI [\u22120.000020, 0.000018]")
    from alliance_meta.wording import interval_decimals

    assert [interval_decimals(*ci, 4) for ci in [(-0.00009, 0.00001), (-0.0032, 0.0024), (5.1, 19.5)]] == [5, 4, 4]
    icc = icc_agreement([[0.1, 0.1], [0.1, 0.5]])
    assert -1e-15 < icc < 0
    shown = readable_frame(pd.DataFrame({"icc": [icc], "kappa": [-1e-9], "estimate": [-4e-4], "r": [-0.001]}))
    assert shown.iloc[0].tolist() == [".00", ".00", "0.000", ".00"]  # ICC and kappa at most 1: no leading zero
    plt.close("all")


def test_model_averaging_figure_writes_probabilities_and_r_without_leading_zero(fit):
    """"P(r = 0) = 0.00" in the title, 0.2 ... 1.0 on the probability axes."""
    figure = am.bma(fit, bias=False).plot(note="")
    models, effect = figure.axes[:2]
    assert re.search(r"P\(\$\\mathit\{r\}\$ = 0\) (= \.\d\d|< \.01|> \.99)$", effect.get_title(loc="left"))
    assert_bounded(tick_texts(models))
    assert_bounded(tick_texts(effect))
    assert_bounded(tick_texts(effect, "y"))
    plt.close("all")


def test_model_averaging_figure_writes_a_probability_below_01_as_the_text_does():
    """"P(r = 0) = .00" for a posterior probability of 2e-10 (demo, outcome): "< .01", as the Results write it."""
    result = am.bma(am.fit(simulated_rows(14), metric="z"), bias=False)
    assert 0 < result.table.loc[result.table["effect"] == 0, "posterior_prob"].sum() < 0.005  # about 5e-7
    figure = result.plot(note="")
    assert figure.axes[1].get_title(loc="left") == r"Model-averaged effect: P($\mathit{r}$ = 0) < .01"
    plt.close("all")


def test_figures_write_p_values_as_the_text():
    """The selection-model figure's "p = 1.000" (demo, LRT of the half-normal model), as the text's p clause."""
    from alliance_meta.plots.style import format_p
    from alliance_meta.wording import apa_p_clause

    for p in (0.0004, 0.0424, 0.9996, 1.0):
        assert format_p(p) == apa_p_clause(p).replace("p", "$p$", 1)
    assert format_p(1.0) == "$p$ > .999" and format_p(float("nan")) == "$p$ = n/a"


def test_influence_hat_axis_has_no_leading_zero(fit):
    """Hat values cannot exceed 1: ".010", as every other bounded axis (the demo's read "0.010")."""
    from alliance_meta.plots.influence import sensitivity_figures

    figure = sensitivity_figures(am.sensitivity(fit))["influence"]
    hat = next(axis for axis in figure.axes if axis.get_title(loc="left") == "Hat value")
    assert_bounded(tick_texts(hat, "y"))
    plt.close("all")


def test_model_averaging_bias_models_name_their_steps_as_apa_writes_them():
    """bma.csv's bias column read "one-sided (0.025, 0.05, 0.5)" while the figure wrote "(.025, .05, .50)": both
    write the cut-offs as APA does (as RoBMA prints them, "omega[one-sided: .05, .025]"), from one label."""
    from alliance_meta.bayes.bma import BIAS_SPECS, robma

    labels = [spec.label for spec in BIAS_SPECS]
    assert "one-sided (.025, .05, .50)" in labels and "two-sided (.05, .10)" in labels and "PET" in labels
    y, v = np.array([0.1, 0.3, 0.25, 0.5, 0.2]), np.array([0.02, 0.03, 0.01, 0.04, 0.02])
    table = robma(y, v, metric="z").table
    assert set(table["bias"]) == set(labels)


def test_bayesian_figures_write_r_without_leading_zero():
    from alliance_meta.bayes import plots
    from alliance_meta.bayes.exact import exact_posterior
    from alliance_meta.bayes.priors import TauPrior

    data = simulated_rows()
    y, v = data["yi"].to_numpy(), data["vi"].to_numpy()
    prior = TauPrior("half_normal", 0.5)
    post = exact_posterior(y, v, prior, mu_sd=1.0)
    draws = {"mu": np.random.default_rng(1).normal(0.3, 0.05, 400),
             "tau": np.abs(np.random.default_rng(2).normal(0.1, 0.03, 400))}
    studies = data[["study_id", "yi"]].assign(ci_lower=y - 0.2, ci_upper=y + 0.2, mean=y, hdi_lower=y - 0.1,
                                              hdi_upper=y + 0.1)
    table = pd.DataFrame({"parameter": ["mu", "theta_new"], "mean": [0.3, 0.3], "hdi_lower": [0.2, 0.0],
                          "hdi_upper": [0.4, 0.6]})
    for figure in (plots.posterior_figure(draws, post, "z"), plots.sensitivity_figure({"main": (prior, post)}, "z"),
                   plots.forest_figure(studies, table, "z")):
        assert_bounded(tick_texts(figure.axes[0]))
    plt.close("all")


def test_bayesian_forest_draws_the_posterior_mean_and_hdi_of_r_that_the_text_gives():
    """The pooled diamond stood at tanh of mu's posterior mean, the Results give the posterior mean of r (the mean
    of tanh(mu)): the diamonds, the dashed line and the shrunken points are bayes.csv's r rows and
    bayes_studies.csv's r_ columns, as the text and tables; without them (an earlier run) the transform of mu's."""
    from alliance_meta.bayes import plots

    y = np.array([0.1, 0.3, 0.5])
    studies = pd.DataFrame({"study_id": ["a", "b", "c"], "yi": y, "ci_lower": y - 0.2, "ci_upper": y + 0.2,
                            "mean": y, "hdi_lower": y - 0.1, "hdi_upper": y + 0.1, "r_mean": [0.09, 0.28, 0.44],
                            "r_hdi_lower": [0.0, 0.19, 0.36], "r_hdi_upper": [0.18, 0.37, 0.52]})
    table = pd.DataFrame({"parameter": ["mu", "theta_new", "r", "r_new"], "mean": [0.30, 0.30, 0.27, 0.25],
                          "hdi_lower": [0.20, 0.00, 0.19, 0.02], "hdi_upper": [0.40, 0.60, 0.37, 0.50]})
    axis = plots.forest_figure(studies, table, "z").axes[0]
    pooled, new = (patch.get_xy()[:4, 0] for patch in axis.patches)
    assert pooled.tolist() == [0.19, 0.27, 0.37, 0.27] and new.tolist() == [0.02, 0.25, 0.50, 0.25]
    assert [line.get_xdata()[0] for line in axis.lines if line.get_linestyle() == "--"] == [0.27]
    shrunken = next(line for line in axis.lines if line.get_marker() == "o")
    assert shrunken.get_xdata().tolist() == [0.09, 0.28, 0.44]
    assert "posterior mean" in shrunken.get_label()
    older = plots.forest_figure(studies.drop(columns=["r_mean", "r_hdi_lower", "r_hdi_upper"]),
                                table.iloc[:2], "z").axes[0]
    assert np.allclose(older.patches[0].get_xy()[:4, 0], np.tanh([0.20, 0.30, 0.40, 0.30]))
    plt.close("all")


def test_selection_figure_writes_r_and_steps_as_the_text():
    """The figure's steps read ".025, .10, .50", the text's ".025, .1 and .5"."""
    from alliance_meta.plots.selection import model_label, selection_estimates_plot
    from alliance_meta.report.formatting import step_list

    steps = "0.025;0.1;0.5;1.0"
    assert step_list(steps) == ".025, .10 and .50"
    row = pd.Series({"type": "stepfun", "steps": steps})
    assert model_label(row) == "Step function (.025, .10, .50)"
    table = pd.DataFrame({"type": ["stepfun"], "steps": [steps], "estimate": [0.3], "se": [0.05], "ci_lower": [0.2],
                          "ci_upper": [0.4], "pval": [0.001], "tau2": [0.01], "delta": ["1;0.9;0.8;0.7"],
                          "loglik": [-3.0], "lrt": [1.0], "lrt_p": [0.6], "converged": [True], "note": [""]})
    figure = selection_estimates_plot(table, {"estimate": 0.3, "ci_lower": 0.2, "ci_upper": 0.4}, "z")
    assert_bounded(tick_texts(axis_labelled(figure, "Correlation")))
    plt.close("all")


def test_psychometric_forest_says_what_its_n_is():
    from alliance_meta.plots.psychometric import footnote

    table = pd.DataFrame({"method": ["individual"], "note": ["corrected for unreliability; x"]})
    assert "\u03a3$n$\u00b2/\u03a3$n$" in footnote(table, 95, 80)  # n italic (a299059)


def test_a_forest_axis_from_r_of_minus_99_to_99_has_labels_that_stand_apart():
    """"\u2212.50 0 .50" and "\u2212.99 \u2212.95" ran into each other on a Fisher-z axis spanning r = \u2212.99 to .99
    (a panel of 1.96 inches, as fit.plot_forest draws it). Drawn, neighbouring labels stand 0.3 font sizes apart."""
    from alliance_meta.plots.forest_draw import ticks
    from alliance_meta.plots.forest_options import ForestOptions

    options = ForestOptions()
    low, high, panel = np.arctanh(-0.99), np.arctanh(0.99), 1.96
    positions, labels = ticks(low, high, "z", options, panel=panel)
    figure = plt.figure(figsize=(panel + 1.0, 1.0), dpi=72)  # a pixel a point
    axis = figure.add_axes([0.5 / (panel + 1.0), 0.5, panel / (panel + 1.0), 0.4])
    axis.set_xlim(low, high)
    axis.set_xticks(positions, labels, fontsize=options.font_size, family=options.font_family)
    figure.draw_without_rendering()
    boxes = [label.get_window_extent() for label in axis.get_xticklabels()]
    plt.close(figure)
    assert all(right.x0 - left.x1 >= 0.3 * options.font_size for left, right in zip(boxes, boxes[1:])), labels
    assert labels == ["\u2212.99", "\u2212.90", "0", ".90", ".99"]
    # an axis whose labels stand apart keeps its ticks as they were
    assert ticks(np.arctanh(-0.2), np.arctanh(0.6), "z", options, panel=panel)[1] == \
        ticks(np.arctanh(-0.2), np.arctanh(0.6), "z", options)[1]


def test_log_odds_ratio_forest_text_and_table_give_the_odds_ratio_s_median_and_equal_tailed_interval():
    """On a log-OR family the forest plot drew exp of mu's posterior mean and HDI (log OR 0.95 [0.24, 1.61]) where the
    Results gave the posterior mean and HDI of the OR (2.75 [1.07, 4.58]). Now the diamonds, the dashed line, the
    Results and the Bayes table's OR rows all give bayes.csv's median and equal-tailed interval of ``or``/``or_new``,
    on an odds-ratio axis (log scale); the study points are exp of their log ORs' medians and intervals."""
    from alliance_meta.bayes import plots
    from alliance_meta.bayes.exact import exact_posterior, typical_within_variance
    from alliance_meta.bayes.priors import TauPrior
    from alliance_meta.bayes.summaries import exact_rows
    from alliance_meta.report.tables import bayes_table
    from alliance_meta.report.text import bayes_sentence

    y, v = np.array([0.4, 1.1, 0.9, 1.6]), np.array([0.2, 0.3, 0.1, 0.5])
    exact = exact_rows(exact_posterior(y, v, TauPrior("half_normal", 0.5)), "log_or", typical_within_variance(v), [])
    # the MCMC columns a little off the exact ones, so that reading one for the other fails
    table = exact.assign(**{column: exact["exact_" + column] * 1.01 for column in
                            ("mean", "sd", "hdi_lower", "hdi_upper", "median", "eti_lower", "eti_upper")})
    central = table.set_index("parameter").loc[["or", "or_new"], ["eti_lower", "median", "eti_upper"]].to_numpy()
    studies = pd.DataFrame({"study_id": list("abcd"), "yi": y, "ci_lower": y - 1, "ci_upper": y + 1, "mean": y,
                            "hdi_lower": y - 0.5, "hdi_upper": y + 0.5, "median": y - 0.01, "eti_lower": y - 0.4,
                            "eti_upper": y + 0.6})
    axis = plots.forest_figure(studies, table, "log_or").axes[0]
    pooled, new = (patch.get_xy()[:3, 0] for patch in axis.patches)
    assert np.allclose([pooled, new], central, rtol=1e-12)
    assert [line.get_xdata()[0] for line in axis.lines if line.get_linestyle() == "--"] == [central[0, 1]]
    assert axis.get_xscale() == "log" and axis.get_xlabel() == "Odds ratio"  # as every log-OR axis
    shrunken = next(line for line in axis.lines if line.get_marker() == "o")
    assert np.allclose(sorted(shrunken.get_xdata()), np.exp(np.sort(y) - 0.01)) and "median" in shrunken.get_label()
    shown = lambda value: f"{value:.2f}"  # noqa: E731
    assert (f"posterior median of OR = {shown(central[0, 1])}, 95% equal-tailed CrI [{shown(central[0, 0])}, "
            f"{shown(central[0, 2])}]") in bayes_sentence(table, "log_or")
    rows = {row[0]: row for row in bayes_table(table, "log_or").rows}
    assert rows["ORᵃ"][1] == f"{central[0, 1]:.3f}" and rows["ORᵃ"][3] == f"[{central[0, 0]:.3f}, {central[0, 2]:.3f}]"
    assert rows["OR (new study)ᵃ"][1] == f"{central[1, 1]:.3f}"
    plt.close("all")
