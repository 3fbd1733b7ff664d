"""Model comparison, VIFs and predicted effects agree with metafor 3.8.

Reference values: tests/reference/model_comparison.R (metafor's ``anova(full, reduced,
refit = TRUE)``, ``vif()`` and ``predict(fit, newmods =)`` at marginal rows, Wald and
Knapp-Hartung) on metadat's dat.bcg, dat.molloy2014 and dat.mcdaniel1994, committed as
model_comparison.json. Tolerance: 1e-6 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance_meta.analyses import model_comparison
from alliance_meta.models import metareg

REFERENCE = json.loads((Path(__file__).parent / "reference" / "model_comparison.json").read_text())
RTOL, ATOL = 1e-6, 1e-10
CONTINUOUS = tuple(REFERENCE["continuous"])


def close(ours, theirs, what):
    theirs = np.asarray([np.nan if t is None else t for t in np.atleast_1d(theirs)], float)
    np.testing.assert_allclose(np.asarray(ours, float).ravel(), theirs.ravel(), rtol=RTOL, atol=ATOL, err_msg=what)


def data_of(case) -> pd.DataFrame:
    return pd.DataFrame(REFERENCE["data"][case["data"]]).iloc[np.asarray(case["rows"]) - 1].reset_index(drop=True)


@pytest.mark.parametrize("case", REFERENCE["comparisons"], ids=lambda c: f"{c['data']}: {c['full']} vs {c['reduced']}")
def test_likelihood_ratio_test_matches_anova_refit(case):
    result = model_comparison.compare_formulas(data_of(case), case["full"], case["reduced"], CONTINUOUS,
                                               case["reference_levels"] or None)
    assert case["method"] == "ML"
    assert (result.full.k, result.full.parameters, result.reduced.parameters) == (
        case["k"], case["parms_full"], case["parms_reduced"])
    assert result.lrt_df == case["parms_full"] - case["parms_reduced"]
    for model, stats in ((result.full, case["stats_full"]), (result.reduced, case["stats_reduced"])):
        for ours, theirs in (("loglik", "ll"), ("deviance", "dev"), ("aic", "AIC"), ("bic", "BIC"), ("aicc", "AICc")):
            close(getattr(model, ours), stats[theirs], f"{model.formula} {ours}")
    close([result.lrt, result.lrt_p, result.r2], [case["lrt"], case["pval"], case["r2"]], "LRT, p, R2")
    close([result.full.tau2, result.reduced.tau2], [case["tau2_full"], case["tau2_reduced"]], "tau2")
    close([result.full.qe, result.reduced.qe], [case["qe_full"], case["qe_reduced"]], "QE")


def test_comparison_frame_has_one_row_per_model_and_the_test_on_the_full_one():
    case = REFERENCE["comparisons"][0]
    frame = model_comparison.compare_formulas(data_of(case), case["full"], case["reduced"], CONTINUOUS).to_frame()
    assert list(frame.model) == ["full", "reduced"] and list(frame.formula) == [case["full"], case["reduced"]]
    assert {"comparison", "parameters", "loglik", "aic", "bic", "aicc", "lrt", "lrt_df", "lrt_p", "r2"} <= set(frame)
    close(frame.lrt.iloc[0], case["lrt"], "LRT")
    assert frame.lrt.iloc[1:].isna().all()


def test_rejects_models_that_are_not_nested_or_not_ml():
    case = REFERENCE["comparisons"][0]
    with pytest.raises(ValueError, match="not nested"):
        model_comparison.compare_formulas(data_of(case), "ablat", "year", CONTINUOUS)
    with pytest.raises(ValueError, match="ML fits"):
        model_comparison.compare([0.1, 0.2, 0.3], [0.01] * 3, np.ones((3, 2)), np.ones((3, 1)), method="REML")


def test_formulas_of_one_model_are_compared_once():
    # ["~ 1", "~ ablat"] compared each model with "~ 1" and with the automatic "1", and "~ a + b" beside "~b+a"
    # fitted one model twice (a notebook walkthrough)
    assert model_comparison.nested_pairs(["~ 1", "~ a", "~ a + b"]) == [("~ a", "~ 1"), ("~ a + b", "~ 1"),
                                                                      ("~ a + b", "~ a")]
    assert model_comparison.nested_pairs(["~ a", "~a", "~ a + b", "~ b + a"]) == [("~ a", "1"), ("~ a + b", "~ a"),
                                                                                ("~ a + b", "1")]
    # a transform is another term: n and log(n), year and year + I(year**2) are four models (not two)
    assert model_comparison.nested_pairs(["n", "log(n)", "year", "year + I(year**2)"]) == [
        ("n", "1"), ("log(n)", "1"), ("year", "1"), ("year + I(year**2)", "year"), ("year + I(year**2)", "1")]


def test_nested_pairs_follow_the_terms():
    pairs = model_comparison.nested_pairs(["a", "b", "a + b", "a * b", "a:b"])
    assert ("a + b", "a") in pairs and ("a * b", "a + b") in pairs and ("a * b", "a:b") in pairs
    assert ("a", "b") not in pairs and ("a + b", "a:b") not in pairs
    assert ("a", "1") in pairs and not model_comparison.nested_pairs(["a"], null=False)


@pytest.mark.parametrize("case", REFERENCE["vif"], ids=lambda c: f"{c['data']}: {c['formula']}")
def test_vif_matches_metafor(case):
    fit = metareg.fit_formula(data_of(case), case["formula"], continuous=CONTINUOUS,
                              reference_levels=case["reference_levels"] or None)
    assert len(fit.columns) == len(case["columns"])
    column = model_comparison.vif_column(fit)
    assert np.isnan(column[0])
    close(column[1:], case["vif"], "VIF per coefficient")
    groups = model_comparison.term_groups(fit.design)
    assert {name: list(indices) for name, indices in groups.items()} == {
        name: list(np.atleast_1d(indices)) for name, indices in case["groups"].items()}
    table = model_comparison.vif(fit, groups)
    close(table.vif, case["gvif"], "generalised VIF")
    close(table.sif, case["gsif"], "GSIF")


@pytest.mark.parametrize("case", REFERENCE["predictions"], ids=lambda c: f"{c['data']}: {c['formula']}")
@pytest.mark.parametrize("test", ["z", "knha"])
def test_predictions_match_predict_newmods(case, test):
    data = data_of(case)
    fit = metareg.fit_formula(data, case["formula"], continuous=CONTINUOUS,
                              reference_levels=case["reference_levels"] or None, centre=case["centre"])
    table = model_comparison.predictions(fit, data, CONTINUOUS, tests=(test,))
    assert list(table.variable) == list(case["variables"])
    numeric = table.variable.isin(CONTINUOUS)
    close(table.value[numeric].astype(float), np.asarray(case["values"], dtype=object)[numeric.to_numpy()], "values")
    assert list(table.value[~numeric]) == list(np.asarray(case["values"], dtype=object)[~numeric.to_numpy()])
    reference = case["tests"][test]
    for ours, theirs in (("estimate", "pred"), ("se", "se"), ("ci_lower", "ci_lb"), ("ci_upper", "ci_ub"),
                         ("pi_lower", "pi_lb"), ("pi_upper", "pi_ub"), ("tau2", "tau2")):
        close(table[ours], np.broadcast_to(reference[theirs], len(table)), f"{test} {ours}")


def test_prediction_rows_count_the_rows_at_each_level_and_back_transform():
    case = REFERENCE["predictions"][0]
    data = data_of(case)
    fit = metareg.fit_formula(data, case["formula"], continuous=CONTINUOUS)
    table = model_comparison.predictions(fit, data, CONTINUOUS, metric="log_or")
    levels = table[table.variable == "alloc"]
    assert list(levels.k) == [int((data.alloc == level).sum()) for level in levels.value]
    np.testing.assert_allclose(table["or"], np.exp(table.estimate), rtol=1e-15)
    np.testing.assert_allclose(table["or_pi_upper"], np.exp(table.pi_upper), rtol=1e-15)
