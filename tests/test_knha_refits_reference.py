"""The refits of the main model have the headline's test: under ``pooling.tests: [knha]`` the leave-one-out,
influence, cumulative and risk-of-bias refits are Knapp-Hartung refits, as metafor's ``leave1out``,
``influence``, ``cumul`` and ``update(x, subset = ...)`` refit an ``rma(..., test = "knha")`` model
(tests/reference/knha_refits.R -> knha_refits.json, metafor 3.8-1, to 1e-6 relative): REML on
dat.molloy2014 and dat.bcg with ``knha`` and ``adhoc`` (``pooling.knha_adhoc``), and the three-level
model's ``t`` test (rma.mv's, in place of Knapp-Hartung) on dat.konstantopoulos2011.

What metafor does not refit with the model's test stays at z: trim and fill (``trimfill.rma.uni`` refits
the filled data without ``test``) and the selection models (``selmodel`` has Wald z tests).

The model is built as the pipeline builds it, from the config (``alliance_meta.models.fits.fit_options``);
the last test runs the workflow on dat.molloy2014 with ``pooling.tests: [knha]`` and reads its tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import assert_close as close, load_reference

import alliance_meta as am
from alliance_meta.models.fits import fit_options, main_row
from alliance_meta.models.univariate import interval_test

from test_workflow import snakemake

REFERENCE = load_reference("knha_refits")
DATASETS = REFERENCE["datasets"]
METRICS = {"molloy2014": "z", "bcg": "log_or"}  # log risk ratios: back-transformed by exp, as log odds ratios
CASES = [pytest.param(name, fit["test"], id=f"{name}-{fit['test']}") for name, dataset in DATASETS.items()
         for fit in dataset["fits"]]


def config(tests=("knha",), adhoc=False, dependence="aggregate", metric="z", rho=0.5) -> dict:
    """A validated config's keys that fit_options reads."""
    return {"dependence": dependence, "multilevel": {"method": "REML"}, "aggregate_rho": rho,
            "aggregate_method": "gls", "metric": {"outcome": metric},
            "pooling": {"main_method": "REML", "level": 95, "tests": list(tests), "knha_adhoc": adhoc}}


def frame(name) -> pd.DataFrame:
    dataset = DATASETS[name]
    return pd.DataFrame({"study_id": [f"s{i + 1:02d}" for i in range(len(dataset["yi"]))],
                         "yi": np.array(dataset["yi"], float), "vi": np.array(dataset["vi"], float),
                         "year": dataset["year"], "rob_overall": dataset["rob_overall"]})


def reference_fit(name, test) -> dict:
    return next(fit for fit in DATASETS[name]["fits"] if fit["test"] == test)


def main_model(name, test):
    """The family's main model as the pipeline fits it under pooling.tests [knha] (and knha_adhoc for adhoc)."""
    return am.fit(frame(name), **fit_options(config(adhoc=test == "adhoc", metric=METRICS[name]), "outcome"))


def test_headline_test_is_the_test_of_the_row_main_row_quotes():
    from alliance_meta.models.fits import headline_test

    assert headline_test(config(("z", "knha"))) == headline_test({}) == "z"  # the default: nothing changes
    assert headline_test(config(("knha", "z"))) == "knha"
    assert headline_test(config(("knha",), adhoc=True)) == "adhoc"  # pooled.csv's knha row is metafor's adhoc
    assert headline_test(config(("z", "knha"), adhoc=True)) == "z"
    # three-level: the first too, knha as rma.mv's t (pooled.csv's t row, which main_row finds for knha); before,
    # z whenever listed, the row main_row found when it looked for a knha row only
    assert headline_test(config(("knha", "z"), dependence="multilevel")) == "knha"
    assert headline_test(config(("knha",), adhoc=True, dependence="multilevel")) == "knha"
    assert headline_test(config(("z", "knha"), dependence="multilevel")) == "z"
    rows = frame("molloy2014")
    for tests, adhoc, dependence in [(("z", "knha"), False, "aggregate"), (("knha", "z"), False, "aggregate"),
                                     (("knha",), True, "aggregate"), (("knha", "z"), False, "multilevel"),
                                     (("knha",), False, "multilevel")]:
        settings = config(tests, adhoc, dependence, rho=0.0)
        table, _ = am.pooled_table(rows, ["REML"], tests, dependence=dependence, rho=0.0, metric="z",
                                   knha_adhoc=adhoc, cluster_robust=False, profile=False)
        quoted = main_row(table, "REML", list(tests))
        fit = am.fit(rows, **fit_options(settings, "outcome"))
        np.testing.assert_allclose([fit.conf_int()[0], fit.conf_int()[1]], [quoted["ci_lower"], quoted["ci_upper"]],
                                   rtol=1e-12)


@pytest.mark.parametrize("name,test", CASES)
def test_main_model_matches_rma(name, test):
    expected, fit = reference_fit(name, test)["full"], main_model(name, test)
    assert fit.test == expected["test"] == test
    close([fit.estimate, fit.se, *fit.conf_int(), fit.pvalue, fit.tau2],
          [expected[key] for key in ("estimate", "se", "ci_lower", "ci_upper", "p", "tau2")])


@pytest.mark.parametrize("name,test", CASES)
def test_leave_one_out_matches_leave1out(name, test):
    expected = reference_fit(name, test)["leave1out"]
    table = am.leave_one_out(main_model(name, test)).to_frame()
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("statistic", "tval"), ("p", "pval"),
                         ("ci_lower", "ci.lb"), ("ci_upper", "ci.ub"), ("q", "Q"), ("q_p", "Qp"), ("tau2", "tau2"),
                         ("i2", "I2"), ("h2", "H2")]:
        close(table[ours], expected[theirs], atol=1e-300 if ours in ("p", "q_p") else 1e-12, err_msg=ours)


@pytest.mark.parametrize("name,test", CASES)
def test_influence_matches_metafor(name, test):
    expected = reference_fit(name, test)["influence"]
    table = am.influence(main_model(name, test)).to_frame()
    for ours, theirs in [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook.d"), ("cov_r", "cov.r"),
                         ("tau2_del", "tau2.del"), ("qe_del", "QE.del"), ("hat", "hat"), ("weight", "weight"),
                         ("dfbetas", "dfbetas")]:
        close(table[ours], expected[theirs], err_msg=ours)
    assert table["influential"].tolist() == expected["is_influential"]


@pytest.mark.parametrize("name,test", CASES)
def test_cumulative_matches_cumul(name, test):
    expected = reference_fit(name, test)["cumulative"]
    table = am.cumulative(main_model(name, test)).to_frame()
    assert table["position"].tolist() == expected["order"]  # counted from 1, as cumul's order
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("p", "pvals"), ("ci_lower", "ci.lb"),
                         ("ci_upper", "ci.ub"), ("q", "Q"), ("q_p", "Qp"), ("tau2", "tau2"), ("i2", "I2"),
                         ("h2", "H2")]:
        close(table[ours], expected[theirs], atol=1e-300 if ours in ("p", "q_p") else 1e-10, err_msg=ours)


@pytest.mark.parametrize("name,test", CASES)
def test_risk_of_bias_subsets_match_update_subset(name, test):
    expected = reference_fit(name, test)["rob_sensitivity"]
    table = am.risk_of_bias_sensitivity(main_model(name, test), "quips").to_frame().set_index("subset")
    for subset in ("exclude_high", "low_only"):
        row, theirs = table.loc[subset], expected[subset]
        assert theirs["test"] == test and row["k"] == theirs["k"]
        # named as pooled.csv names the row: knha, the ad hoc variant said in the note (interval_test reads it)
        assert row["test"] == "knha" and interval_test(row) == test
        close([row[key] for key in ("estimate", "se", "ci_lower", "ci_upper", "p", "tau2")],
              [theirs[key] for key in ("estimate", "se", "ci_lower", "ci_upper", "p", "tau2")], err_msg=subset)


@pytest.mark.parametrize("name,test", CASES)
def test_trim_and_fill_and_selection_models_keep_z_as_metafor(name, test):
    """metafor's trimfill refits the filled data without the model's test (z), and selmodel has Wald z tests
    whatever the model's: bias.csv is the same for the knha model as for the z model."""
    expected = reference_fit(name, test)["trimfill"]
    assert expected["k0"] > 0 and expected["test"] == "z"
    fit = main_model(name, test)
    table = am.publication_bias(fit).to_frame().set_index("test")
    row = table.loc["trim_and_fill"]
    assert row["k_imputed"] == expected["k0"] and row["side"] == expected["side"]
    close([row[key] for key in ("estimate", "se", "ci_lower", "ci_upper")],
          [expected[key] for key in ("estimate", "se", "ci_lower", "ci_upper")])
    if test == "knha":
        assert reference_fit(name, test)["selmodel"]["test"] == "z"
    pd.testing.assert_frame_equal(table, am.publication_bias(fit.refit(test="z")).to_frame().set_index("test"))


THREE_LEVEL = REFERENCE["three_level"]


@pytest.fixture(scope="module")
def three_level():
    data = THREE_LEVEL["data"]
    rows = pd.DataFrame({"study_id": data["study"], "yi": np.array(data["yi"], float),
                         "vi": np.array(data["vi"], float), "year": data["year"]})
    fit = am.fit(rows, **fit_options(config(("knha",), dependence="multilevel", rho=0.0), "outcome"))
    return fit, am.sensitivity(fit)


def _compare_three_level(table: pd.DataFrame, expected: list[dict]):
    """1e-6 relative; an estimate or bound near 0 (the leave-one-out CIs cross it) to 1e-6 of its SE."""
    assert table["study_id"].astype(str).tolist() == [str(row["study"]) for row in expected]
    assert table["k"].tolist() == [row["k"] for row in expected] and {row["test"] for row in expected} == {"t"}
    se = np.array([row["se"] for row in expected])
    for column in ("estimate", "se", "ci_lower", "ci_upper", "p"):
        theirs = np.array([row[column] for row in expected])
        if column in ("se", "p"):
            np.testing.assert_allclose(table[column], theirs, rtol=1e-6, atol=0, err_msg=column)
        else:
            np.testing.assert_array_less(np.abs(table[column] - theirs), 1e-6 * np.maximum(np.abs(theirs), se),
                                         err_msg=column)


def test_three_level_main_model_has_rma_mv_t(three_level):
    fit, _ = three_level
    expected = THREE_LEVEL["full"]
    assert fit.test == "t" and expected["test"] == "t"
    close([fit.estimate, fit.se, *fit.conf_int(), fit.pvalue], [expected[key] for key in
                                                               ("estimate", "se", "ci_lower", "ci_upper", "p")])


def test_three_level_leave_one_study_out_has_t(three_level):
    _compare_three_level(three_level[1].leave_one_out, THREE_LEVEL["leave_one_out"])


def test_three_level_cumulative_has_t(three_level):
    _compare_three_level(three_level[1].cumulative, THREE_LEVEL["cumulative"])


def test_three_level_headline_follows_the_order_of_pooling_tests():
    """dependence multilevel, pooling.tests [knha, z]: the headline is rma.mv(test = "t") (konstantopoulos2011,
    REML, to 1e-6) in the row quoted, the Results paragraph and the Methods' order, as the first test is the headline
    under aggregate. Before, z was quoted whenever listed (main_row looked for a knha row the three-level table lacks)."""
    from alliance_meta.report.methods import methods_paragraph
    from alliance_meta.report.text import results_paragraph

    data, expected = THREE_LEVEL["data"], THREE_LEVEL["full"]
    rows = pd.DataFrame({"study_id": data["study"], "yi": np.array(data["yi"], float),
                         "vi": np.array(data["vi"], float)})
    settings = config(("knha", "z"), dependence="multilevel", rho=0.0)
    table, _ = am.pooled_table(rows, ["REML"], ["knha", "z"], dependence="multilevel", rho=0.0, metric="z",
                               cluster_robust=False, profile=False)
    headline = main_row(table, "REML", ["knha", "z"])
    assert headline["test"] == "t" == expected["test"]
    close([headline[key] for key in ("estimate", "se", "ci_lower", "ci_upper")],
          [expected[key] for key in ("estimate", "se", "ci_lower", "ci_upper")])
    fit = am.fit(rows, **fit_options(settings, "outcome"))  # the refits' model: the same test
    close(fit.conf_int(), [expected["ci_lower"], expected["ci_upper"]])
    # the z and t intervals agree to two decimals here: a z row made wider shows which one the Results quote
    wide = table.copy()
    wide.loc[wide["test"] == "z", ["ci_lower", "ci_upper", "r_ci_lower", "r_ci_upper"]] = [-0.5, 0.9, -0.46, 0.72]
    paragraph = results_paragraph("outcome", "z", {"pooled": wide}, {}, "REML", ["knha", "z"], config=settings)
    assert "95% CI [.02, .34]" in paragraph and "[\u2212.46, .72]" not in paragraph
    methods = methods_paragraph({**settings, "multilevel": {"robust": False}}, set(), {})
    assert "intervals used t tests with k \u2212 1 degrees of freedom (k effect sizes) and Wald-type z tests" in methods


def test_three_level_knha_first_is_the_headline_of_the_forest_plot_and_summary_of_findings(tmp_path):
    """The workflow's quotes of the headline under dependence multilevel and pooling.tests [knha, z]: the summary of
    findings and the forest plot have rma.mv's t row (konstantopoulos2011 as log odds ratios with their SE)."""
    data, expected = THREE_LEVEL["data"], THREE_LEVEL["full"]
    (tmp_path / "data" / "raw").mkdir(parents=True)
    pd.DataFrame({"study_id": [f"s{study}" for study in data["study"]], "family": "dropout",
                  "log_or": np.array(data["yi"], float), "log_or_se": np.sqrt(np.array(data["vi"], float))}).to_csv(
        tmp_path / "data" / "raw" / "studies.csv", index=False, float_format="%.17g")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(
        {"dependence": "multilevel", "aggregate_rho": 0.0, "metric": {"dropout": "log_or"}, "moderators": [],
         "continuous_moderators": [], "meta_regression": [], "pooling": {"methods": ["REML"], "tests": ["knha", "z"]}}))
    snakemake(tmp_path, "results/dropout/summary_of_findings.csv", "results/dropout/forest.png")
    summary = pd.read_csv(tmp_path / "results" / "dropout" / "summary_of_findings.csv").iloc[0]
    assert summary["test"] == "t"
    close([summary["ci_lower"], summary["ci_upper"]], [expected["ci_lower"], expected["ci_upper"]])
    assert "REML (t test)" in (tmp_path / "logs" / "forest_plot_dropout.log").read_text()


def test_knha_config_gives_knha_refits_in_the_workflow_outputs(tmp_path):
    """A review of dat.molloy2014 (r, n, year, rob_overall) with pooling.tests [knha]: leave_one_out.csv,
    influence.csv, cumulative.csv and rob_sensitivity.csv are metafor's refits of rma(..., test = "knha"); the
    trim-and-fill row of bias.csv keeps metafor's z refit. (Before: z refits under a Knapp-Hartung headline.)"""
    dataset, reference = DATASETS["molloy2014"], reference_fit("molloy2014", "knha")
    sheet = pd.DataFrame({"study_id": [f"s{i + 1:02d}" for i in range(len(dataset["r"]))],
                          "year": dataset["year"], "r": np.array(dataset["r"], float), "n": dataset["n"],
                          "rob_overall": dataset["rob_overall"], "family": "outcome"})
    (tmp_path / "data" / "raw").mkdir(parents=True)
    sheet.to_csv(tmp_path / "data" / "raw" / "studies.csv", index=False, float_format="%.17g")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({"pooling": {"tests": ["knha"]}}))
    names = ["pooled", "leave_one_out", "influence", "cumulative", "rob_sensitivity", "bias"]
    snakemake(tmp_path, *[f"results/outcome/{name}.csv" for name in names])
    tables = {name: pd.read_csv(tmp_path / "results" / "outcome" / f"{name}.csv") for name in names}
    effects = pd.read_csv(tmp_path / "data" / "processed" / "outcome" / "effect_sizes.csv")
    close(effects["yi"], np.array(dataset["yi"], float), rtol=1e-12)

    headline = main_row(tables["pooled"], "REML", ["knha"])
    assert headline["test"] == "knha"
    close([headline["ci_lower"], headline["ci_upper"]], [reference["full"]["ci_lower"], reference["full"]["ci_upper"]])
    loo = tables["leave_one_out"]
    for ours, theirs in [("ci_lower", "ci.lb"), ("ci_upper", "ci.ub"), ("se", "se"), ("p", "pval")]:
        close(loo[ours], reference["leave1out"][theirs], err_msg=f"leave_one_out {ours}")
    close(tables["influence"]["rstudent"], reference["influence"]["rstudent"])
    close(tables["influence"]["cov_r"], reference["influence"]["cov.r"])
    cumulative = tables["cumulative"]
    for ours, theirs in [("ci_lower", "ci.lb"), ("ci_upper", "ci.ub"), ("p", "pvals")]:
        close(cumulative[ours], reference["cumulative"][theirs], err_msg=f"cumulative {ours}")
    rob = tables["rob_sensitivity"].set_index("subset")
    assert set(rob["test"]) == {"knha"}
    close(rob.loc["all", ["ci_lower", "ci_upper"]], [headline["ci_lower"], headline["ci_upper"]])
    for subset in ("exclude_high", "low_only"):
        close(rob.loc[subset, ["ci_lower", "ci_upper"]],
              [reference["rob_sensitivity"][subset][key] for key in ("ci_lower", "ci_upper")], err_msg=subset)
    trim = tables["bias"].set_index("test").loc["trim_and_fill"]
    close(trim[["ci_lower", "ci_upper"]], [reference["trimfill"]["ci_lower"], reference["trimfill"]["ci_upper"]])
