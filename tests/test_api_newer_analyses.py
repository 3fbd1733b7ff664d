"""A notebook user's wrong arguments to the newer analyses (am.multiverse, am.bma, am.location_scale,
am.model_comparison, am.selection_models, count methods in am.fit): each one is refused with one line
naming the argument and what it takes, never ignored and never a traceback from inside a library."""

import numpy as np
import pandas as pd
import pytest

import alliance_meta as am


def simulated(seed: int = 3, k: int = 12) -> pd.DataFrame:
    """Simulated effect sizes (Fisher z) of k studies with a moderator."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(k)], "grp": rng.choice(["a", "b"], k),
                          "vi": rng.uniform(0.005, 0.05, k), "metric": "z"})
    frame["yi"] = 0.25 + rng.normal(0, np.sqrt(frame["vi"] + 0.01))
    return frame


@pytest.fixture(scope="module")
def fit():
    return am.fit(simulated(), metric="z")


def test_multiverse_takes_bayesian_priors_as_the_config_writes_them(fit):
    """The check of the settings resolved the schema's $ref of a prior into the bayes block, which it had
    dropped: every `priors` setting ended in jsonschema's PointerToNowhere."""
    prior = {"family": "half_normal", "scale": 0.5}
    settings = {"methods": ["REML"], "tests": ["z"], "outliers": ["none"], "publication": ["all"],
                "minimum_n": [0], "aggregate_methods": ["gls"], "aggregate_rhos": [0.5]}
    result = am.multiverse(fit, {**settings, "priors": [prior]})
    assert len(result.table) == 2  # REML/z and the Bayesian specification
    with pytest.raises(ValueError, match=r"multiverse.priors\[0\].family: 'half_normall' is not one of .*"
                                         r"did you mean half_normal"):
        am.multiverse(fit, {**settings, "priors": [{**prior, "family": "half_normall"}]})


def test_bma_checks_its_options_as_the_config_does(fit):
    """A misspelt prior was ignored (the defaults were used), and bias="no" (a true string) kept the bias models."""
    with pytest.raises(ValueError, match=r"bma.priors.muu: unknown key; did you mean bma.priors.mu\?"):
        am.bma(fit, priors={"muu": {"family": "normal", "mean": 0, "sd": 0.5}})
    with pytest.raises(ValueError, match=r"bma.priors.tau.scal: unknown key; did you mean bma.priors.tau.scale\?"):
        am.bma(fit, priors={"tau": {"scal": 0.3}})
    with pytest.raises(ValueError, match="bma.prior_scale: 'cohen_d' is not one of cohens_d, analysis"):
        am.bma(fit, prior_scale="cohen_d")
    with pytest.raises(TypeError, match="am.bma: bias is True or False, not 'no'"):
        am.bma(fit, bias="no")
    assert len(am.bma(fit, priors={"mu": {"sd": 0.5}}, bias=np.bool_(False)).table) == 4


def test_bma_on_cohens_d_priors_needs_the_fits_metric():
    """A fit without a metric was taken as an SMD: Fisher z data got priors twice too wide."""
    frame = simulated().drop(columns="metric")
    with pytest.raises(ValueError, match="am.bma needs the analysis metric .* or prior_scale='analysis'"):
        am.bma(am.fit(frame["yi"], frame["vi"]))
    assert len(am.bma(am.fit(frame["yi"], frame["vi"]), prior_scale="analysis", bias=False).table) == 4


def test_location_scale_refuses_a_misspelt_part_and_a_model_that_is_no_formula(fit):
    """{"locaton": ...} was ignored: the scale formula silently became the location formula too."""
    with pytest.raises(ValueError, match="unknown key 'locaton'"):
        am.location_scale(fit, {"locaton": "1", "scale": "grp"})
    with pytest.raises(TypeError, match="am.location_scale: models is a formula, .* not int"):
        am.location_scale(fit, 3)
    table = am.location_scale(fit, {"location": "1", "scale": "grp"}).table
    assert set(table.loc[table["part"] == "location", "term"]) == {"intercept"}


def test_model_comparison_refuses_an_unknown_test(fit):
    """tests=("kn",) gave Wald z predictions labelled 'kn'."""
    with pytest.raises(ValueError, match=r"am.model_comparison: tests \['kn'\] \(did you mean 'knha'\?\): each one of z, knha"):
        am.model_comparison(fit, ["grp"], tests=("kn",))
    one = am.model_comparison(fit, ["grp"], tests="knha").predictions
    assert set(one["test"]) == {"knha"}


def test_selection_model_types_that_are_no_names_are_a_type_error(fit):
    with pytest.raises(TypeError, match="selection model types: a name or a list of beta, .* not int"):
        am.selection_models(fit, types=3)


@pytest.mark.parametrize("method", ["MH", "Peto", "GLMM"])
def test_count_methods_as_an_estimator_point_to_the_count_rows(fit, method):
    """am.fit(method="MH") said only 'unknown method': the count methods are reached through pooled_table."""
    pointer = r"MH, Peto and GLMM pool 2x2 counts.*am.pooled_table\(rows, metric='log_or'\)"
    with pytest.raises(ValueError, match=pointer):
        am.fit(simulated(), method=method)
    with pytest.raises(ValueError, match="MH, Peto and GLMM pool 2x2 counts"):
        am.pooled_table(simulated(), methods=(method,))


def test_summary_of_findings_takes_a_fit_as_the_pipeline_rule_takes_its_tables(fit):
    """GRADE's summary of findings was reachable only from the pipeline's tables; am.summary_of_findings(fit)
    is the rule's call on the fit's pooled row, rows, bias tests and selection models."""
    from alliance_meta.report.grade import summary_of_findings

    options = {"imprecision_width": {"outcome": 0.1}}
    ours = am.summary_of_findings(fit, options, family="outcome")
    expected = summary_of_findings("outcome", "z", fit.to_frame().iloc[0].to_dict(), fit.data, fit.effect_sizes,
                                   am.publication_bias(fit).to_frame(), am.selection_models(fit).to_frame(), options)
    pd.testing.assert_frame_equal(ours, expected)
    assert ours["k"].iloc[0] == fit.k and ours["certainty"].iloc[0] in ("high", "moderate", "low", "very low")
    # counts are integers, as summary_of_findings.csv shows them: k was 8.0 (a first-review walkthrough)
    assert all(pd.api.types.is_integer_dtype(ours[count]) for count in ("k", "n"))
    assert str(ours["k"].iloc[0]) == str(fit.k)
    with pytest.raises(ValueError, match="say which family the fit is of: family='outcome' or 'dropout'"):
        am.summary_of_findings(fit)
    with pytest.raises(TypeError, match="am.summary_of_findings takes a fitted model"):
        am.summary_of_findings(simulated())
    with pytest.raises(TypeError, match="settings is a dict of the config's grade keys, not str"):
        am.summary_of_findings(fit, "high", family="outcome")


def test_results_of_too_few_studies_say_why_in_their_one_line():
    """k = 1: am.bma printed '0 models on k = 1' and am.multiverse '0 specifications' without a reason, and a fit
    without rob_overall printed 'exclude_high: 1 studies' for a subset that is undefined."""
    one = am.fit([0.3], [0.01], metric="z")
    assert repr(am.bma(one)) == "<BmaResult: 0 models on k = 1; model averaging needs at least 2 studies>"
    assert repr(am.multiverse(one)).endswith(
        "0 specifications, 0 fitted; no specification: every subset has fewer than minimum_k = 2 studies>")
    assert repr(am.risk_of_bias_sensitivity(one, "quips")) == (
        "<RiskOfBiasSensitivity: all: 1 study, exclude_high: undefined (no rob_overall), "
        "low_only: undefined (no rob_overall)>")


def test_a_multiverse_of_empty_lists_says_so_in_the_api_s_words():
    """am.multiverse(fit, {"methods": [], "priors": []}) blamed "every subset has fewer than minimum_k = 2 studies"
    (of 12 studies): the reason is the settings, as the pipeline's log says (analyses.multiverse.
    no_specification_note), named by the argument's keys rather than the config's."""
    rng = np.random.default_rng(5)
    fit = am.fit(rng.normal(0.3, 0.1, 12), rng.uniform(0.01, 0.03, 12), metric="z")  # SIMULATED
    result = am.multiverse(fit, {"methods": [], "priors": []})
    assert result.notes[-1] == ('settings["methods"] and settings["priors"] are empty: the multiverse has no '
                                "specification (frequentist ones need methods and tests, Bayesian ones priors)")
    assert "minimum_k" not in repr(result) and "multiverse.csv" not in repr(result)


def test_risk_of_bias_result_draws_the_fits_summary_and_traffic_light(tmp_path):
    """The robvis figures were reachable only through the pipeline; the result of a fit draws them, with the
    simulated-data note of the demo sheet (docs/python-api.md)."""
    from pathlib import Path

    sheet = am.read_sheet(Path(__file__).resolve().parents[1] / "data" / "raw" / "studies.csv")  # SIMULATED
    rows = am.effect_sizes(sheet)
    fit = am.fit(rows[rows["family"] == "dropout"].dropna(subset=["yi", "vi"]), metric="smd")
    result = am.risk_of_bias_sensitivity(fit, "quips")
    summary = result.plot(weighted=True)
    texts = [text.get_text() for text in summary.texts]
    assert any("Simulated" in text for text in texts)
    summary.savefig(tmp_path / "summary.png")
    lights = result.plot("traffic_light")
    assert any("Simulated" in text.get_text() for text in lights.texts)
    lights.savefig(tmp_path / "traffic_light.png")
    assert (tmp_path / "summary.png").stat().st_size > 10_000
    assert (tmp_path / "traffic_light.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="kind 'traffic': 'summary' or 'traffic_light'"):
        result.plot("traffic")


def test_gosh_of_a_three_level_fit_says_it_took_the_study_composites():
    """The GOSH result's repr left out its note (the other analyses print theirs) and it had no ``notes``."""
    frame = pd.concat([simulated(seed=4, k=6).assign(es_id=lambda f: f["study_id"] + "-1"),
                       simulated(seed=5, k=6).assign(es_id=lambda f: f["study_id"] + "-2")], ignore_index=True)
    result = am.gosh(am.fit(frame, dependence="multilevel", metric="z"), subsets=20)
    assert result.notes == ("multilevel: GOSH of 6 study composites of 12 rows",)
    assert repr(result).endswith("; multilevel: GOSH of 6 study composites of 12 rows>")


def test_reference_levels_and_values_are_checked_against_the_model(fit):
    """am.location_scale and am.model_comparison ignored a misspelt reference_levels name, a misspelt level
    gave only a 'not fitted' note (location-scale) and values='abc' failed inside pandas or was ignored."""
    frame = simulated().assign(year=lambda f: 1990 + np.arange(len(f)))
    fit = am.fit(frame, metric="z", method="REML")
    for call in (lambda **kw: am.location_scale(fit, "grp + year", **kw),
                 lambda **kw: am.model_comparison(fit, ["grp + year"], **kw)):
        with pytest.raises(ValueError, match=r"reference_levels names 'gpr', not a variable the analysis uses"):
            call(reference_levels={"gpr": "b"})
        with pytest.raises(ValueError, match=r"reference level 'bb' of 'grp' is not one of its levels in the fit's "
                                             r"rows \(a, b\); did you mean 'b'\?"):
            call(reference_levels={"grp": "bb"})
        with pytest.raises(TypeError, match=r"values is a dict of a continuous moderator -> numbers"):
            call(values="abc")
        with pytest.raises(ValueError, match=r"values names 'grp', not a continuous moderator of the model \(year\)"):
            call(values={"grp": ["a"]})
        with pytest.raises(ValueError, match=r"values\['year'\] are numbers, not \['x'\]"):
            call(values={"year": ["x"]})
    tau2 = am.location_scale(fit, "year", values={"year": [1990, 2000]}).tau2
    assert list(tau2["level"].astype(float)) == [1990.0, 2000.0]
    with pytest.raises(TypeError, match="am.model_comparison: formulas is a formula or a list of formulas, not 3"):
        am.model_comparison(fit, 3)


def test_multiverse_checks_mu_sd_progress_and_the_psychometric_block(fit):
    """mu_sd=-1 ended in a FloatingPointError of the exact posterior, progress=3 in 'int is not callable'
    after fitting, and a misspelt psychometric key was ignored."""
    with pytest.raises(ValueError, match="am.multiverse: mu_sd is the prior SD of mu .* not -1"):
        am.multiverse(fit, mu_sd=-1)
    with pytest.raises(TypeError, match=r"am.multiverse: progress is a function progress\(done, total\) or None"):
        am.multiverse(fit, progress=3)
    with pytest.raises(ValueError, match=r"psychometric.correction_methd: unknown key; did you mean "
                                         r"psychometric.correction_method\?"):
        am.multiverse(fit, psychometric={"correction_methd": "meas"})


def test_multiverse_reads_the_default_reliabilities_of_psychometric_and_says_why_it_cannot_correct():
    """am.multiverse(correction: [none, individual], psychometric={"reliability": ..., ...}) on a sheet without rxx
    and ryy had no individual specification and no word why: the defaults passed as psychometric= were not read
    when the specifications were made. Without them, the note names the argument, not the config's keys."""
    sheet = pd.DataFrame({"study_id": [f"S{i}" for i in range(8)], "r": np.linspace(0.1, 0.4, 8),
                          "n": np.arange(50, 130, 10), "measure": "WAI"})
    fit = am.fit(am.effect_sizes(sheet))
    settings = {"correction": ["none", "individual"], "methods": ["REML"], "tests": ["z"], "outliers": ["none"],
                "aggregate_methods": ["gls"], "publication": ["all"], "priors": []}
    result = am.multiverse(fit, settings, psychometric={"reliability": {"WAI": 0.8}, "outcome_reliability": 0.7})
    assert result.table["correction"].tolist() == ["none", "individual"] and result.notes == ()
    assert result.table["r"].iloc[1] > result.table["r"].iloc[0]  # corrected for unreliability: larger
    assert am.multiverse(fit, settings).notes == (
        "correction: individual is not a choice of these effect sizes: no row gives a reliability (rxx, ryy), nor "
        'does psychometric= give a "reliability" or an "outcome_reliability"',)
    bare = am.fit(fit.effect_sizes["yi"].to_numpy(), fit.effect_sizes["vi"].to_numpy(), metric="z")
    assert am.multiverse(bare, settings).notes == (
        "correction: individual is not a choice of these effect sizes: its rows are yi and vi alone: the correction "
        "needs the correlations of am.effect_sizes (r, n)",)


def test_a_misspelt_risk_of_bias_key_is_an_error_not_quips(fit):
    """{"tol": "rob2"} gave the QUIPS tool without a word."""
    with pytest.raises(ValueError, match=r"risk_of_bias.tol: unknown key; did you mean risk_of_bias.tool\?"):
        am.risk_of_bias_sensitivity(fit, {"tol": "rob2"})


def test_summary_of_findings_has_the_configs_grade_defaults_and_checks_its_options():
    """Without options a dropout fit was rated on the outcome family's imprecision width (0.2, the config's
    default for dropout is 0.5), and a misspelt grade key was ignored."""
    frame = simulated().assign(family="dropout", metric="smd")
    fit = am.fit(frame, metric="smd")
    assert "not wider than 0.5" in am.summary_of_findings(fit)["imprecision_reason"].iloc[0]
    pd.testing.assert_frame_equal(am.summary_of_findings(fit),
                                  am.summary_of_findings(fit, {"imprecision_width": {"outcome": 0.2, "dropout": 0.5}}))
    with pytest.raises(ValueError, match=r"grade.imprecision_widht: unknown key; did you mean "
                                         r"grade.imprecision_width\?"):
        am.summary_of_findings(fit, {"imprecision_widht": {"dropout": 0.1}})
    with pytest.raises(ValueError, match="risk_of_bias.tool must be one of quips, rob2, robins_i, custom"):
        am.summary_of_findings(fit, risk_of_bias={"tool": "quipz"})


def test_psychometric_of_one_correlation_prints_it_in_the_singular():
    frame = pd.DataFrame({"study_id": ["s1"], "yi": [np.arctanh(0.3)], "vi": [1 / 97], "n": [100]})
    assert repr(am.psychometric(am.fit(frame, metric="z"))).startswith(
        "<PsychometricFitAnalysis: 1 correlation of 1 study; bare_bones")


def test_bma_takes_the_mass_of_its_credible_intervals(fit):
    """am.bma's intervals were 95% ones whatever the review's Bayesian level; ``prob`` sets it (the pipeline passes
    bayes.hdi_prob) and a percentage or a non-number is refused in one line."""
    default, narrow = am.bma(fit, bias=False), am.bma(fit, bias=False, prob=0.5)
    assert narrow.prob == 0.5
    width = lambda result: (result.summary["ci_upper"] - result.summary["ci_lower"]).dropna()  # noqa: E731
    assert (width(narrow) < width(default)).all()
    for bad in (95, 0, 1, True, "0.9"):
        with pytest.raises(ValueError, match=r"am.bma: prob is the mass of the credible interval, a number between "
                                             r"0 and 1 \(e.g. 0.95, as bayes.hdi_prob\), not "):
            am.bma(fit, prob=bad)


def test_a_location_scale_result_prints_the_test_of_its_scale_part(fit):
    """print(am.location_scale(fit, "rater")), the doc's "does rater change tau^2?", printed "<LocationScaleAnalysis:
    1 model>": the answer, the LRT against a constant tau^2, is now on that line (or why there is none)."""
    result = am.location_scale(fit, "grp")
    row = result.table.iloc[0]
    assert repr(result) == (f"<LocationScaleAnalysis: 1 model (scale part against constant tau^2: grp: "
                            f"LRT(1) = {row['lrt']:.3f}, p = {row['lrt_p']:.4g})>")
    few = am.location_scale(am.fit(simulated(k=2), metric="z"), "grp")
    assert repr(few).endswith(f"grp: no LRT ({few.table['note'].iloc[0]}))>")
