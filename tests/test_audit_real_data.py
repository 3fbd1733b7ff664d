"""Problems an audit found running the default target on real published data (metadat's dat.molloy2014,
dat.craft2003, dat.bcg, dat.bakdash2021), each checked here on the data or on a small frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alliance_meta as am

REFERENCE = Path(__file__).parent / "reference"


def molloy() -> tuple[np.ndarray, np.ndarray]:
    data = next(d for d in json.loads((REFERENCE / "pooling.json").read_text())["datasets"] if d["name"] == "molloy2014")
    return np.array(data["yi"], float), np.array(data["vi"], float)


def test_the_exact_test_of_excess_significance_is_not_called_not_estimable():
    """metafor's tes() uses the exact test here: a p-value without a statistic, which the battery stamped
    'not estimable: undefined for these data' (molloy2014: p = .2110, as metafor)."""
    table = am.publication_bias(am.fit(*molloy(), metric="z")).to_frame().set_index("test")
    assert np.isnan(table.loc["tes", "statistic"]) and np.isfinite(table.loc["tes", "p"])
    assert "not estimable" not in table.loc["tes", "note"]


def test_a_selection_model_carried_away_by_a_flat_likelihood_is_flagged_and_left_out_of_the_range():
    """dat.bakdash2021's beta and power models put Fisher z at -7.7 and -8.5 beside an unadjusted 0.27
    (metafor as degenerate): the row says so and the report's range leaves them out."""
    from alliance_meta.analyses.bias.selection_models import _poorly_identified
    from alliance_meta.report.text import selection_sentence

    yi = np.array([-0.2, 0.1, 0.3, 0.5, 1.1])  # spread 1.3
    assert _poorly_identified("", 0.1, 0.3, yi) == ""
    flagged = _poorly_identified("", -7.75, 0.27, yi)
    assert flagged.startswith("poorly identified: the estimate moved 8.02 from the unadjusted 0.27")
    assert _poorly_identified("a note", -7.75, 0.27, yi).startswith("a note; poorly identified")
    table = pd.DataFrame({"type": ["beta", "halfnorm", "stepfun"], "estimate": [-7.75, 0.001, 0.26],
                          "se": [4.95, 0.32, 0.08], "lrt_p": [0.01, 0.2, 0.3], "converged": [True, True, True],
                          "note": [flagged, "", ""]})
    sentence = selection_sentence(table, "z")
    assert "r = −1.00" not in sentence and "two selection models" in sentence
    assert "the beta model is poorly identified" in sentence


def test_a_selection_model_whose_standard_error_exceeds_the_spread_is_flagged_and_left_out_of_the_range():
    """The demo's 16 outcome studies with measure "other" (SIMULATED, rounded to 4 decimals): the beta model puts
    Fisher z at -0.39 with SE 1.15 (metafor: -0.401, 1.159 unrounded), a 95% CI from r = -.99 to .95, beside an
    unadjusted 0.26. It moved less than the effects spread (0.66), so the check let it widen the Results' range to
    r = -.37 ... .34; a standard error above the spread is the same flat likelihood, and is flagged alike."""
    from alliance_meta.analyses.bias.selection_models import _poorly_identified
    from alliance_meta.report.text import selection_sentence

    yi = np.array([0.2613, 0.4634, -0.0085, 0.5604, 0.05, 0.2749, 0.3523, 0.1086, 0.3654, 0.1327, 0.5602, 0.248,
                   0.1893, 0.4609, -0.0992, 0.109])
    vi = np.array([0.0312, 0.0062, 0.0125, 0.0053, 0.0125, 0.0037, 0.0106, 0.0109, 0.0078, 0.011, 0.0438, 0.0132,
                   0.0065, 0.0083, 0.0182, 0.0217])
    table = am.selection_models(am.fit(yi, vi, metric="z")).to_frame().set_index("type")
    assert table.loc["beta", "estimate"] == pytest.approx(-0.393, abs=1e-3)
    assert table.loc["beta", "se"] == pytest.approx(1.151, abs=1e-3)
    assert table.loc["beta", "note"] == ("poorly identified: its standard error 1.15 is larger than the observed "
                                         "effects spread (0.66); not a bias-corrected effect")
    flagged = table.index[table["note"].fillna("").str.contains("poorly identified")]
    assert list(flagged) == ["beta"]  # the others' SEs (0.05 to 0.14) are far below the spread
    sentence = selection_sentence(table.reset_index(), "z")
    assert "ranged from r = .22 (negative exponential power) to .34 (step function)" in sentence
    assert "\u2212.37" not in sentence and "the beta model is poorly identified" in sentence
    assert _poorly_identified("", 0.25, 0.26, yi, se=0.5) == ""  # below the spread: as it was
    assert _poorly_identified("", 0.25, 0.26, yi) == ""  # no standard error (Hessian not invertible)


def test_selection_models_of_a_fit_keep_well_identified_rows_unflagged():
    table = am.selection_models(am.fit(*molloy(), metric="z")).to_frame()
    assert not table["note"].str.contains("poorly identified").any()


def weight_cases():
    return json.loads((REFERENCE / "multilevel_weights.json").read_text())["cases"]


@pytest.mark.parametrize("case", weight_cases(), ids=lambda case: case["name"])
def test_three_level_row_weights_are_metafors(case):
    """metafor's weights(rma.mv) of the CHE model (tests/reference/multilevel_weights.R) at its sigma2."""
    from alliance_meta.models.multilevel import row_weights

    vi = np.array(case["vi"], float)
    ours = row_weights(vi, case["study"], *case["sigma2"], rho=case["rho"])
    np.testing.assert_allclose(ours, case["weights"], rtol=1e-9)


def test_the_forest_plot_of_a_three_level_fit_shows_those_weights():
    """The forest plot gave 1 / (v_i + sigma2_between + sigma2_within), ignoring the study blocks (on
    dat.bakdash2021 0.83 to 1.44 times metafor's weights)."""
    from alliance_meta.models.multilevel import row_weights
    from alliance_meta.plots.forest import study_rows
    from alliance_meta.plots.forest_options import ForestOptions

    case = next(c for c in weight_cases() if c["name"] == "assink2016_rho0.5")
    frame = pd.DataFrame({"yi": np.array(case["yi"], float), "vi": np.array(case["vi"], float),
                          "study_id": case["study"], "es_id": [str(i) for i in range(len(case["vi"]))]})
    fit = am.fit(frame, dependence="multilevel", rho=0.5, metric="smd")
    pooled = fit.to_frame().iloc[0].to_dict()
    expected = row_weights(frame["vi"], frame["study_id"], *fit.sigma2, rho=0.5)
    shown = sorted(float(row.weight.rstrip("%")) for row in study_rows(fit.data, fit.tau2, "smd", 95, ForestOptions(),
                                                                        pooled))
    np.testing.assert_allclose(shown, np.round(sorted(expected), 1), atol=1e-9)
    np.testing.assert_allclose(np.sort(expected), np.sort(case["weights"]), rtol=1e-6)  # our REML sigma2 vs metafor's


def test_the_multiverse_leaves_out_options_that_cannot_change_the_data():
    """On dat.molloy2014 (one effect size per study, every n >= 55) the 4 ways of combining effect sizes and
    minimum_n 50 gave 8,856 specifications, of which 1,107 distinct."""
    from alliance_meta.analyses import multiverse

    rng = np.random.default_rng(4)
    k = 12
    rows = pd.DataFrame({"study_id": [f"S{i}" for i in range(k)], "yi": rng.normal(0.2, 0.1, k),
                         "vi": rng.uniform(0.005, 0.03, k), "n": rng.integers(55, 400, k)})
    settings = {"aggregate_methods": ["gls", "mean"], "aggregate_rhos": [0.5, 0.8], "minimum_n": [0, 50],
                "publication": ["all"], "priors": [], "methods": ["REML"], "tests": ["z"], "outliers": ["none"]}
    specs = multiverse.specifications(settings, rows)
    assert len(specs) == 1 and list(specs["minimum_n"]) == [0] and list(specs["aggregate_method"]) == ["gls"]
    notes = specs.attrs["notes"]
    assert any("minimum_n 50 left out: it keeps the same rows as minimum_n 0" in note for note in notes)
    assert any("every study has one effect size" in note for note in notes)
    # a study with two effect sizes and an n below 50: every option changes the data
    rows.loc[0, "n"], rows.loc[1, "study_id"] = 30, "S0"
    assert len(multiverse.specifications(settings, rows)) == 2 * 2 * 2


def test_why_a_family_has_no_correction_choice_is_said_plainly():
    from alliance_meta.analyses.multiverse import no_correction_reason

    rows = pd.DataFrame({"study_id": ["A"], "yi": [0.4], "vi": [0.1], "metric": ["log_or"]})
    assert "not correlations (metric log_or)" in no_correction_reason(rows)
    assert no_correction_reason(rows.assign(metric="z")) == (  # the workflow's log names the config's keys
        "no row gives a reliability (rxx, ryy), nor do psychometric.reliability and psychometric.outcome_reliability "
        "in the config")


def test_the_prior_sensitivity_legend_writes_tau_squared_as_the_text_does():
    from alliance_meta.bayes import plots
    from alliance_meta.bayes.exact import exact_posterior
    from alliance_meta.bayes.priors import TauPrior

    yi, vi = molloy()
    prior = TauPrior("log_normal", mu=-3.0, sigma=1.5)
    figure = plots.sensitivity_figure({prior.describe() if hasattr(prior, "describe") else str(prior):
                                       (prior, exact_posterior(yi, vi, prior))}, "z")
    texts = [text.get_text() for axis in figure.axes for legend in [axis.get_legend()] if legend
             for text in legend.get_texts()]
    # the symbol as the figures set it (mathtext, plots.style.symbol), not the CSV's code-like "tau^2"
    assert texts and all("tau^2" not in text.replace("$\\mathrm{\\tau}^2$", "") for text in texts) \
        and any("$\\mathrm{\\tau}^2$" in text for text in texts)


def test_the_main_specification_is_found_when_its_composite_choice_was_left_out():
    """With one effect size per study the multiverse keeps only the first aggregate_method (gls); a review
    whose composites are 'mean' still has its main analysis marked."""
    from alliance_meta.plots.multiverse import main_specification

    table = pd.DataFrame({"aggregate_method": ["gls", "gls"], "aggregate_rho": [0.5, 0.5], "minimum_n": [0, 0],
                          "outliers": ["none", "none"], "method": ["REML", "DL"], "test": ["z", "z"],
                          "prior": ["none", "none"], "k": [10, 10]})
    marked = main_specification(table, {"aggregate_method": "mean", "aggregate_rho": 0.8, "method": "REML"})
    assert marked.tolist() == [True, False]


def test_one_effect_size_per_study_keeps_a_composite_not_the_three_level_model():
    """With one effect size per study every aggregate method gives the same data and one is kept. The first was
    kept, so aggregate_methods [multilevel, gls] kept multilevel, which pairs with REML and ML only and with no
    prior: the DL, PM and Bayesian specifications vanished without a word. A composite is kept instead."""
    from alliance_meta.analyses import multiverse

    rng = np.random.default_rng(5)
    k = 8
    rows = pd.DataFrame({"study_id": [f"S{i}" for i in range(k)], "yi": rng.normal(0.2, 0.1, k),
                         "vi": rng.uniform(0.005, 0.03, k), "n": rng.integers(55, 400, k)})
    settings = {"aggregate_methods": ["multilevel", "gls"], "aggregate_rhos": [0.5], "minimum_n": [0],
                "publication": ["all"], "priors": [], "methods": ["DL", "REML"], "tests": ["z"],
                "outliers": ["none"]}
    specs = multiverse.specifications(settings, rows)
    assert list(specs["aggregate_method"].unique()) == ["gls"] and sorted(specs["method"]) == ["DL", "REML"]
    assert any("so only gls with rho 0.5 is specified (multilevel would take REML and ML alone" in note
               for note in specs.attrs["notes"])
