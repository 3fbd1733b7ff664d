"""A journal editor's reading of the demo's figures: legends and labels in words, not the config's keys; every
line of a figure explained in the figure. Each test fails without its fix."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from alliance_meta.bayes.priors import TauPrior  # noqa: E402


def texts_of(figure) -> list[str]:
    figure.canvas.draw()
    return [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text")) if t.get_text().strip()]


def test_prior_sensitivity_legend_names_priors_in_words_with_their_sources():
    # the legend read "main: half_normal(0.5)" and "turner2015_mental_health: log_normal(τ²; -4.92, 1.72)": the
    # config's keys and a hyphen for a minus, where the Methods write "half-normal(0.5)" and cite Turner et al.
    from alliance_meta.bayes import plots
    from alliance_meta.bayes.exact import exact_posterior

    yi, vi = np.array([0.1, 0.3, 0.45, 0.2, 0.6]), np.array([0.02, 0.03, 0.01, 0.04, 0.02])
    priors = [TauPrior("half_normal", 0.5, label="main"), TauPrior.from_config({"family": "half_cauchy", "scale": 0.1}),
              TauPrior.from_config("turner2015_mental_health", "z"),
              TauPrior.from_config("rhodes2015_mental_health", "z")]
    figure = plots.sensitivity_figure({prior.describe(): (prior, exact_posterior(yi, vi, prior)) for prior in priors},
                                      "z")
    legend = [text.get_text() for axis in figure.axes if axis.get_legend() for text in axis.get_legend().get_texts()]
    assert legend[:2] == ["main: half-normal(0.5) on $\\mathrm{\\tau}$", "half-Cauchy(0.1) on $\\mathrm{\\tau}$"]
    # the SD's square as mathtext beside tau's (a plain "\u00b2" was set smaller and lower)
    assert legend[2] == "Turner et al. (2015): log $\\mathrm{\\tau}^2$ ~ N(\u22124.92, $1.72^2$)"
    assert legend[3].startswith("Rhodes et al. (2015): log $\\mathrm{\\tau}^2$ ~ t5(\u2212")
    assert not any("_" in text or re.search(r"-\d", text) for text in legend)
    plt.close("all")


def test_specification_curve_options_are_lower_case_after_their_choice():
    # "Outliers: none" but "Outliers: Large residual", "Publication: all" but "Publication: Published only",
    # "Estimator: DL" but "Estimator: Common effect": one capitalisation for the options of every choice
    from alliance_meta.plots.multiverse import _option_name

    names = {option: _option_name(choice, option) for choice, option in
             (("aggregate_method", "mean"), ("outliers", "rstudent"), ("outliers", "influential"),
              ("publication", "published"), ("method", "common"), ("test", "posterior"))}
    assert names == {"mean": "mean (Borenstein)", "rstudent": "large residual", "influential": "influential",
                     "published": "published only", "common": "common effect", "posterior": "posterior"}
    assert [_option_name("test", "z"), _option_name("method", "bayes"), _option_name("aggregate_method", "gls")] == [
        "Wald $z$", "Bayes (exact)", "GLS"]  # names and abbreviations as written, z italic


def test_influence_panels_say_what_their_dashed_lines_are():
    # eight panels with dashed reference lines (±1.96, metafor's cut-offs, 1, the full model's τ² and Q, 100/k) and
    # not a word on them in the figure: a reader took the weight panel's line for a cut-off
    import alliance_meta as am
    from alliance_meta.plots.influence import sensitivity_figures

    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.05, 12)
    fit = am.fit(rng.normal(0.3, 0.15, 12), v, method="REML")
    text = " ".join(texts_of(sensitivity_figures(am.sensitivity(fit))["influence"])).replace("\n", " ")
    assert ("Dashed lines: \u00b11.96 (residual); $3\\sqrt{p/(k-p)}$ (DFFITS) and $3p/k$ (hat), metafor's cut-offs, "
            "$p$\u00a0=\u00a01;") in text
    # the symbols in italics, as mathtext (they were upright: "3\u221a(p/(k \u2212 p)) ... p = 1 ... Q ... 100/k")
    assert "$Q$ with every study; $100/k$, equal weights (weight)." in text
    assert "DFFITS: standardised change in the study's fitted value" in text  # the abbreviation defined
    plt.close("all")


def test_every_figure_names_its_scale_as_the_forest_plots_do():
    # the funnel plot read "Standardized mean difference (g)" where the others read "Hedges' g" (and its r axis a bare
    # "r"), the model-averaging figure "Overall effect (Correlation r)", the psychometric forest plot "Correlation":
    # each label now comes from plots.style.SCALES
    from types import SimpleNamespace

    import pandas as pd

    from alliance_meta.analyses import psychometric as pm
    from alliance_meta.bayes.bma_plot import bma_figure
    from alliance_meta.engines.transforms import OddsRatioD
    from alliance_meta.plots.funnel import funnel_plot
    from alliance_meta.plots.psychometric import psychometric_forest
    from alliance_meta.plots.style import SCALES

    def labels(figure):
        return [axis.get_xlabel() for axis in (*figure.axes, *figure.axes[0].child_axes)]

    yi, vi = [0.1, 0.3, 0.5], [0.04, 0.05, 0.06]
    assert labels(funnel_plot(yi, vi, "z", 0.3)) == ["Fisher's $z$", "Correlation $r$"]
    assert labels(funnel_plot(yi, vi, "smd", 0.3)) == ["Hedges' $g$"]
    assert labels(funnel_plot(yi, vi, OddsRatioD(), 0.3)) == ["Cohen's $d$"]
    assert labels(funnel_plot(yi, vi, "log_or", 0.3)) == ["Log odds ratio", "Odds ratio"]
    table = pd.DataFrame({"effect": [0, 1, 0, 1], "heterogeneity": [0, 0, 1, 1], "bias": ["none"] * 4,
                          "prior_prob": [0.25] * 4, "posterior_prob": [0.1, 0.4, 0.1, 0.4]})
    values = np.r_[np.zeros(50), np.random.default_rng(1).normal(0.3, 0.05, 150)]  # SIMULATED draws
    for metric, words in (("z", "correlation $r$"), ("smd", "Hedges' $g$"), ("log_or", "odds ratio")):
        result = SimpleNamespace(table=table, metric=metric, draws=lambda _: (values, np.full(200, 1 / 200)))
        assert bma_figure(result).axes[1].get_xlabel() == f"Overall effect ({words})"
    rows = pd.DataFrame({"sample": ["a", "b", "c"], "r": [0.10, 0.55, 0.3], "n": [40, 60, 80], "rxx": [0.7, 0.8, 0.75],
                         "ryy": [0.75, 0.85, 0.8]})  # SIMULATED
    analysis = pm.psychometric_analysis(rows.assign(label=rows["sample"]), study="none")
    (figure,) = psychometric_forest(analysis.studies, analysis.to_frame())
    assert figure.axes[0].get_xlabel() == SCALES["z"].label == "Correlation $r$"
    plt.close("all")


def test_specification_curve_names_an_empirical_prior_by_its_source():
    # the option row read "Prior on τ: turner2015_mental_health", the config's key, where the prior-sensitivity
    # figure names it "Turner et al. (2015)"; two of one source are told apart by their outcomes
    import pandas as pd

    from alliance_meta.plots.multiverse import _choice_panel, _option_name

    assert _option_name("prior", "turner2015_mental_health") == "Turner et al. (2015)"
    assert _option_name("prior", "rhodes2015_general") == "Rhodes et al. (2015)"
    options = [("prior", "none"), ("prior", "turner2015_mental_health"), ("prior", "turner2015_dropout"),
               ("prior", "rhodes2015_general")]
    fitted = pd.DataFrame({"prior": [option for _, option in options]})
    figure, axis = plt.subplots()
    _choice_panel(axis, fitted, options, np.arange(4), np.array(["k"] * 4))
    assert [text.get_text() for text in axis.get_yticklabels()] == [
        "Prior on $\\mathrm{\\tau}$: none (frequentist)",
        "Prior on $\\mathrm{\\tau}$: Turner et al. (2015), mental-health outcomes",
        "Prior on $\\mathrm{\\tau}$: Turner et al. (2015), withdrawals and dropouts",
        "Prior on $\\mathrm{\\tau}$: Rhodes et al. (2015)"]
    plt.close(figure)


def test_funnel_legend_names_the_dotted_funnel_and_counts_imputed_studies_with_k():
    # the dotted lines (estimate ± 1.96 SE) were drawn and nowhere explained; "Studies (k = 125)" stood beside
    # "Imputed studies (9)"
    from alliance_meta.plots.funnel import funnel_plot

    rng = np.random.default_rng(5)
    vi = rng.uniform(0.01, 0.05, 10)  # SIMULATED
    figure = funnel_plot(rng.normal(0.3, 0.2, 10), vi, "z", estimate=0.3, filled_yi=[0.1, 0.05],
                         filled_vi=[0.03, 0.04], adjusted_estimate=0.25)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert "95% pseudo-confidence region" in legend and "Imputed studies ($k$ = 2)" in legend
    assert legend.index("Random-effects estimate") < legend.index("95% pseudo-confidence region")
    plt.close(figure)


def test_weight_functions_italicise_p_and_use_no_undefined_symbol():
    # "One-sided p-value" and "the studies' p-values" set p upright; the clipped beta weight was marked "w → 1.19",
    # a symbol the figure nowhere defines
    import pandas as pd

    from alliance_meta.plots.selection import weight_functions_plot

    table = pd.DataFrame({"type": ["beta"], "steps": [""], "estimate": [0.3], "delta": ["0.5;1.0"],
                          "converged": [True], "note": [""]})  # SIMULATED fit: the weight rises steeply at p = 0
    rng = np.random.default_rng(2)
    figure = weight_functions_plot(table, rng.normal(0.3, 0.1, 12), np.full(12, 0.02))
    texts = texts_of(figure)
    assert figure.axes[0].get_xlabel() == "One-sided $p$ value"
    assert any("the studies' $p$ values" in text for text in texts)
    assert any(text.startswith("up to ") for text in texts) and not any(text.startswith("w ") for text in texts)
    assert not any("p-value" in text for text in texts)
    plt.close(figure)


def test_model_averaging_title_and_specification_options_set_statistics_in_italics():
    # "P(r = 0)", "P(OR = 1)", "Minimum n: ≥ 50" and "Inference: Wald z" were upright where the axes write $r$
    from types import SimpleNamespace

    import pandas as pd

    from alliance_meta.bayes.bma_plot import bma_figure
    from alliance_meta.plots.multiverse import _choice_panel, _option_name

    table = pd.DataFrame({"effect": [0, 1], "heterogeneity": [1, 1], "bias": ["none", "none"],
                          "prior_prob": [0.5, 0.5], "posterior_prob": [0.2, 0.8]})
    values = np.r_[np.zeros(50), np.random.default_rng(1).normal(0.3, 0.05, 150)]  # SIMULATED draws
    for metric, symbol in (("z", r"$\mathit{r}$"), ("log_or", r"$\mathit{OR}$")):
        result = SimpleNamespace(table=table, metric=metric, draws=lambda _: (values, np.full(200, 1 / 200)))
        figure = bma_figure(result)
        assert figure.axes[1].get_title(loc="left").startswith(f"Model-averaged effect: P({symbol} = ")
        plt.close(figure)
    options = [("minimum_n", 50), ("test", "z"), ("rater", "$5 to $10")]
    fitted = pd.DataFrame({"minimum_n": [50, 0, 0], "test": ["z", "z", "z"], "rater": ["$5 to $10", "a", "a"]})
    figure, axis = plt.subplots()
    _choice_panel(axis, fitted, options, np.arange(3), np.array(["k"] * 3))
    assert [text.get_text() for text in axis.get_yticklabels()] == [
        "Minimum $n$: \u2265 50", "Inference: Wald $z$", r"Rater: \$5 to \$10"]  # a level of the sheet as written
    assert _option_name("test", "z") == "Wald $z$"
    plt.close(figure)


def test_no_text_of_the_gosh_or_bayesian_forest_plot_is_below_7_pt():
    # the GOSH colour bar's title and ticks were 6 pt, and so were the study labels of a Bayesian forest plot of
    # more than 40 studies: illegible at print size (both figures print at their drawn size, within 7 in)
    import pandas as pd

    from alliance_meta.bayes.plots import forest_figure

    rng = np.random.default_rng(4)
    k = 45
    yi, vi = rng.normal(0.3, 0.1, k), rng.uniform(0.01, 0.03, k)  # SIMULATED
    studies = pd.DataFrame({"study_id": [f"s{i}" for i in range(k)], "yi": yi, "ci_lower": yi - 0.2,
                            "ci_upper": yi + 0.2, "mean": yi, "hdi_lower": yi - 0.15, "hdi_upper": yi + 0.15})
    table = pd.DataFrame({"parameter": ["mu", "theta_new"], "mean": [0.3, 0.3], "hdi_lower": [0.25, 0.1],
                          "hdi_upper": [0.35, 0.5]})
    figure = forest_figure(studies, table, "smd")
    sizes = [label.get_fontsize() for label in figure.axes[0].get_yticklabels()]
    assert min(sizes) >= 7
    plt.close(figure)
    from alliance_meta.analyses.gosh import gosh
    from alliance_meta.plots.gosh import gosh_plot

    figure = gosh_plot(gosh(yi[:9], vi[:9], method="DL"), highlight=(0,), metric="smd", hexbin_above=10)
    figure.canvas.draw()
    texts = [text for text in figure.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
             if text.get_text().strip() and text.get_visible()]
    assert "share with it" in {text.get_text() for text in texts}  # the colour bar is drawn
    assert min(text.get_fontsize() for text in texts) >= 7
    plt.close(figure)


def test_model_averaging_figure_spells_out_pet_and_peese():
    # bars labelled "Bias: PET" and "Bias: PEESE" and not a word on what they are (the bias table's note says it)
    from types import SimpleNamespace

    import pandas as pd

    from alliance_meta.bayes.bma_plot import bma_figure

    table = pd.DataFrame({"effect": [1, 1, 1], "heterogeneity": [1, 1, 1], "bias": ["none", "PET", "PEESE"],
                          "prior_prob": [0.5, 0.25, 0.25], "posterior_prob": [0.6, 0.3, 0.1]})
    values = np.random.default_rng(1).normal(0.3, 0.05, 200)  # SIMULATED draws
    result = SimpleNamespace(table=table, metric="z", draws=lambda _: (values, np.full(200, 1 / 200)))
    figure = bma_figure(result)
    assert ("PET: precision-effect test; PEESE: precision-effect estimate with standard error."
            in [text.get_text() for text in figure.texts])
    plt.close(figure)
    result = SimpleNamespace(table=table.iloc[:1], metric="z", draws=lambda _: (values, np.full(200, 1 / 200)))
    assert not bma_figure(result).texts  # no bias models, nothing to spell out
    plt.close("all")


def test_the_bayesian_and_model_averaging_figures_spell_out_their_abbreviations():
    # the posterior figure's title and legend read "MCMC", defined nowhere in the figure (APA 2020, 7.26); the
    # model-averaging figure's message of one study an upright "(k = 1)"; its key of PET and PEESE (above) is drawn
    # by robma's own figure, and only with bias models
    from types import SimpleNamespace

    import pandas as pd

    import alliance_meta as am
    from alliance_meta.bayes import bma, plots
    from alliance_meta.bayes.exact import exact_posterior

    yi, vi = np.array([0.1, 0.3, 0.45, 0.2, 0.6, 0.25]), np.array([0.02, 0.03, 0.01, 0.04, 0.02, 0.03])  # SIMULATED
    rng = np.random.default_rng(4)
    draws = {"mu": rng.normal(0.3, 0.05, 400), "tau": np.abs(rng.normal(0.1, 0.03, 400))}
    posterior = plots.posterior_figure(draws, exact_posterior(yi, vi, TauPrior("half_normal", 0.5)), "z", "Title")
    text = " ".join(texts_of(posterior))
    assert "MCMC" not in text and "Markov chain Monte Carlo draws" in text
    data = pd.DataFrame({"study_id": list("abcdef"), "yi": yi, "vi": vi})
    studies = data.assign(ci_lower=yi - 0.3, ci_upper=yi + 0.3, mean=yi, hdi_lower=yi - 0.2, hdi_upper=yi + 0.2)
    table = pd.DataFrame({"parameter": ["mu", "theta_new"], "mean": [0.3, 0.3], "hdi_lower": [0.2, 0.0],
                          "hdi_upper": [0.4, 0.6]})
    titles = [figure._suptitle.get_text() if figure._suptitle else figure.axes[0].get_title(loc="left")
              for figure in plots.family_figures(data, studies, table, draws, "z",
                                                 SimpleNamespace(tau=TauPrior("half_normal", 0.5), mu_sd=1.0),
                                                 "outcome")]
    assert "MCMC" not in " ".join(titles)
    averaged = " ".join(texts_of(bma.robma(yi, vi, metric="z").plot(note="")))
    assert ("PET: precision-effect test; PEESE: precision-effect estimate with standard error." in averaged
            and r"P($\mathit{r}$ = 0)" in averaged)
    assert "PET:" not in " ".join(texts_of(bma.robma(yi, vi, metric="z", bias=False).plot(note="")))
    one = am.bma(am.fit(pd.DataFrame({"study_id": ["a"], "yi": [0.2], "vi": [0.01]}), metric="z")).plot(note="")
    assert texts_of(one) == ["Model averaging needs at least two studies ($k$ = 1)."]
    plt.close("all")


def test_the_specification_curve_spells_out_the_abbreviated_options():
    # the choice panel read "Estimator: DL", "Estimator: REML" and "Study composite: GLS", defined nowhere in the
    # figure (APA 2020, 7.26), and "Minimum n" and "Wald z" upright
    import pandas as pd

    from alliance_meta.plots.multiverse import specification_curve

    rng = np.random.default_rng(2)
    table = pd.DataFrame({"aggregate_method": ["gls", "mean"] * 6, "minimum_n": [0] * 6 + [50] * 6,
                          "method": ["REML", "DL", "common"] * 4, "test": ["z", "knha"] * 6, "k": 10,
                          "estimate": rng.normal(0.3, 0.05, 12), "significant": True})  # SIMULATED
    table["ci_lower"], table["ci_upper"] = table["estimate"] - 0.1, table["estimate"] + 0.1
    figure = specification_curve(table, "z", 95, {"aggregate_method": "gls", "method": "REML"})
    texts = [" ".join(text.split()) for text in texts_of(figure)]  # the key's lines and no-break spaces as spaces
    key = " ".join(text for text in texts if "=" in text and "Median" not in text)
    assert key == ("GLS = generalised least squares (inverse-variance composite); REML = restricted maximum "
                   "likelihood; DL = DerSimonian\u2013Laird.")  # "common effect" is written in words
    assert {"Minimum $n$: none", "Inference: Wald $z$"} <= set(texts)


def test_every_figure_sets_tau_and_sigma_one_way_upright():
    # APA 2020, 6.46: Greek letters upright. The Bayesian axes wrote an italic $\tau$ (mathtext) while the forest
    # footnote ("τ² = 0.011" beside its italic $I^2$), the influence panels, the subgroup and bubble notes, the
    # prior-sensitivity legend, the posterior figure's title and the specification curve's "Prior on τ" set it as
    # text: one helper (plots.style.symbol) now sets them all, upright in mathtext
    import pandas as pd

    import alliance_meta as am
    from alliance_meta.bayes import plots
    from alliance_meta.bayes.exact import exact_posterior
    from alliance_meta.plots.forest import forest_plot
    from alliance_meta.plots.influence import sensitivity_figures
    from alliance_meta.plots.multiverse import CHOICE_NAMES
    from alliance_meta.plots.style import symbol

    yi, vi = np.array([0.1, 0.3, 0.45, 0.2, 0.6, 0.25]), np.array([0.02, 0.03, 0.01, 0.04, 0.02, 0.03])  # SIMULATED
    frame = pd.DataFrame({"study_id": ["a", "a", "b", "c", "c", "d"], "yi": yi, "vi": vi})
    rng = np.random.default_rng(4)
    draws = {"mu": rng.normal(0.3, 0.05, 400), "tau": np.abs(rng.normal(0.1, 0.03, 400))}
    prior = TauPrior.from_config("turner2015_mental_health", "z")
    studies = frame.assign(ci_lower=yi - 0.3, ci_upper=yi + 0.3, mean=yi, hdi_lower=yi - 0.2, hdi_upper=yi + 0.2)
    table = pd.DataFrame({"parameter": ["mu", "theta_new"], "mean": [0.3, 0.3], "hdi_lower": [0.2, 0.0],
                          "hdi_upper": [0.4, 0.6]})
    from types import SimpleNamespace

    posterior, _ = plots.family_figures(frame, studies, table, draws, "z",
                                        SimpleNamespace(tau=TauPrior("half_normal", 0.5), mu_sd=1.0), "outcome")
    figures = {
        "forest": forest_plot(frame, am.fit(yi, vi, metric="z").to_frame().iloc[0].to_dict(), "z"),
        "three-level forest": forest_plot(frame, am.fit(frame, dependence="multilevel", metric="z").to_frame()
                                          .iloc[0].to_dict(), "z"),
        "posterior": posterior,
        "prior sensitivity": plots.sensitivity_figure({"turner": (prior, exact_posterior(yi, vi, prior))}, "z"),
        "influence": sensitivity_figures(am.sensitivity(am.fit(yi, vi, method="REML")))["influence"],
    }
    for name, figure in figures.items():
        text = " ".join(texts_of(figure))
        assert "\u03c4" not in text and "\u03c3" not in text, name
        assert "$\\mathrm{\\tau}" in text or "$\\mathrm{\\sigma}^2$" in text, name
    assert CHOICE_NAMES["prior"] == f"Prior on {symbol('tau')}" == "Prior on $\\mathrm{\\tau}$"
    from alliance_meta.plots.style import math_statistics  # the prior's formula, set as symbol() sets it

    assert math_statistics("log \u03c4\u00b2 ~ N(0, 1) on \u03c4; \u03c3\u00b2, I\u00b2, H\u00b2") == \
        f"log {symbol('tau2')} ~ N(0, 1) on {symbol('tau')}; {symbol('sigma2')}, {symbol('I2')}, {symbol('H2')}"
    plt.close("all")


def test_the_bayesian_forest_plot_keys_its_dotted_and_dashed_lines():
    # a dotted line (no effect) and a dashed one (the pooled posterior mean) ran down the panel, in no legend
    import pandas as pd

    from alliance_meta.bayes.plots import forest_figure

    yi = np.array([0.1, 0.3, 0.45, 0.2])  # SIMULATED
    studies = pd.DataFrame({"study_id": list("abcd"), "yi": yi, "ci_lower": yi - 0.3, "ci_upper": yi + 0.3,
                            "mean": yi, "hdi_lower": yi - 0.2, "hdi_upper": yi + 0.2})
    table = pd.DataFrame({"parameter": ["mu", "theta_new"], "mean": [0.3, 0.3], "hdi_lower": [0.2, 0.0],
                          "hdi_upper": [0.4, 0.6]})
    for metric, null in (("z", "$\\mathit{r}$ = 0"), ("smd", "$\\mathit{g}$ = 0")):
        axis = forest_figure(studies, table, metric).axes[0]
        keyed = dict(zip([text.get_text() for text in axis.get_legend().get_texts()],
                         axis.get_legend().legend_handles))
        styled = [line for line in axis.get_lines() if line.get_linestyle() in (":", "--")]
        assert len(styled) == 2 and all(line.get_label() in keyed for line in styled)
        assert keyed[f"no effect ({null})"].get_linestyle() == ":"
        assert keyed["pooled effect: posterior mean"].get_linestyle() == "--"
    plt.close("all")


def test_a_three_level_forest_plot_names_each_study_once_above_its_effect_sizes():
    # .test/multilevel: "Simulated study 01 (2001)" on both of its rows read as two studies of one name; its rows
    # now follow one another (also when sorted by effect), the name on the first, "· effect 2" beneath
    import pandas as pd

    import alliance_meta as am
    from alliance_meta.plots.forest import ForestOptions, study_rows

    frame = pd.DataFrame({"study_id": ["S01", "S01", "S02", "S03", "S03", "S03"],
                          "authors": ["Smith", "Smith", "Jones", "Lee", "Lee", "Lee"], "year": [2001] * 6,
                          "yi": [0.5, 0.1, 0.3, 0.2, 0.6, 0.05],
                          "vi": [0.01, 0.012, 0.02, 0.015, 0.01, 0.02]})  # SIMULATED
    pooled = am.fit(frame, dependence="multilevel", metric="z").to_frame().iloc[0].to_dict()
    for sort in ("sheet", "effect"):
        rows = study_rows(frame, pooled["tau2"], "z", 95, ForestOptions(sort=sort), pooled)
        labels = [" ".join(row.label) for row in rows]
        named = [label for label in labels if not label.startswith("\u2003")]
        assert sorted(named) == ["Jones (2001)", "Lee (2001)", "Smith (2001)"], sort  # each study once
        from alliance_meta.plots.forest import EFFECT_ROW

        blocks = {"Smith (2001)": 2, "Jones (2001)": 1, "Lee (2001)": 3}
        for label in named:  # the study's other effect sizes right beneath it
            start = labels.index(label)
            assert labels[start + 1:start + blocks[label]] == [EFFECT_ROW.format(j)
                                                               for j in range(2, blocks[label] + 1)]
        assert sorted(row.centre for row in rows) == sorted(frame["yi"])  # every effect size keeps its row
    univariate = study_rows(frame, 0.01, "z", 95, ForestOptions())  # one row per study elsewhere: as before
    assert [" ".join(row.label) for row in univariate][:2] == ["Smith (2001)", "Smith (2001)"]


def test_fit_width_breaks_a_title_wider_than_the_page_and_logs_what_it_cannot_narrow(caplog):
    # a title wider than the page kept the figure wide (only the axes were narrowed), and nothing said so
    import io
    import logging

    from PIL import Image

    from alliance_meta.plots.style import PAGE_WIDTH, fit_width

    for loc in ("left", "center"):
        figure, axis = plt.subplots(figsize=(6.0, 3.0))
        axis.plot([0, 1], [0, 1])
        axis.set_title("Outcome: a title that runs on " * 6 + "with $\\mathit{r}$ = 0", loc=loc)
        fit_width(figure)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", pad_inches=0.1)
        assert Image.open(buffer).size[0] <= PAGE_WIDTH * 100 + 1, loc
        assert "\n" in axis.get_title(loc=loc) and "$\\mathit{r}$" in axis.get_title(loc=loc)
        plt.close(figure)
    # the specification curve: a centred x label wider than its axes took back half of each narrowing, and three
    # rounds left the figure 7.06 in wide
    figure, axis = plt.subplots(figsize=(8.0, 3.0))
    axis.set_yticks([0.5], ["Study composite: mean (Borenstein)"])
    axis.set_xlabel("Specification, ranked by estimate (10,980 of 11,124 fitted; intervals cut at the axis)")
    fit_width(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", pad_inches=0.1)
    assert Image.open(buffer).size[0] <= PAGE_WIDTH * 100 + 1
    plt.close(figure)
    # what still does not fit is logged at log_wider's level: INFO at the default page (the figure widens it by
    # design), WARNING when the reviewer's plots.width cannot be kept (fit_width warned at the default page too)
    for width, level in ((PAGE_WIDTH, logging.INFO), (5.0, logging.WARNING)):
        figure, axis = plt.subplots(figsize=(6.0, 3.0))
        axis.set_yticks([0.5], ["a tick label that no narrowing of the axes can shorten " * 3])
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="alliance_meta"):
            fit_width(figure, width, what="the test's figure")
        notes = [record for record in caplog.records if record.getMessage().startswith("the test's figure: ")]
        assert len(notes) == 1 and "wider than" in notes[0].getMessage() and notes[0].levelno == level, width
        plt.close(figure)


def test_the_tau_axis_ticks_of_the_posterior_figures_stand_apart():
    # the demo's posterior figure labelled its tau axis 0.000 0.025 0.050 ... 0.150 (8 ticks on a 3-in panel), the
    # labels nearly touching; the prior-sensitivity figure's tau axis the same
    from alliance_meta.bayes import plots
    from alliance_meta.bayes.exact import exact_posterior

    rng = np.random.default_rng(7)
    vi = rng.uniform(0.005, 0.02, 120)
    yi = rng.normal(0.3, 0.1, 120) + rng.normal(0, np.sqrt(vi))  # SIMULATED: tau about 0.1, as the demo's
    prior = TauPrior("half_normal", 0.5)
    post = exact_posterior(yi, vi, prior)
    draws = {"mu": rng.normal(0.3, 0.01, 400), "tau": np.abs(rng.normal(0.1, 0.012, 400))}
    for figure in (plots.posterior_figure(draws, post, "z", "Title"), plots.sensitivity_figure({"main": (prior, post)},
                                                                                                 "z")):
        figure.canvas.draw()
        axis = next(axis for axis in figure.axes if axis.get_xlabel().startswith("Between-study SD"))
        boxes = sorted((label.get_window_extent() for label in axis.get_xticklabels()
                        if label.get_text() and axis.get_xlim()[0] <= label.get_position()[0] <= axis.get_xlim()[1]),
                       key=lambda box: box.x0)
        gaps = [(right.x0 - left.x1) * 72 / figure.dpi for left, right in zip(boxes, boxes[1:])]  # points
        # two ems of the 9-pt labels between them (they were 10 pt apart: 0.000 0.025 0.050 read as one run)
        assert len(boxes) >= 3 and min(gaps) >= 18, gaps
    plt.close("all")
