"""A GENQ fit is weighted by its own weights where metafor weighs it so: the CR2 row of ``am.rve`` (clubSandwich 0.5.8's
``coef_test(x, vcov = "CR2")`` and metafor 3.8-1's ``robust(x, cluster, clubSandwich = TRUE)`` of
``rma(yi, vi, weights = a, method = "GENQ")``) and the forest plot's weights (``weights(x)``, which ``forest(x)``
shows). (``am.multiverse`` carries the weights and the iteration control: test_genq_custom_weights_reference.py
and test_fit_control_reference.py.)

Reference values: tests/reference/genq_model_weights.R (dat.molloy2014 with a = ni and a = 1/sqrt(vi), the
pipeline's GENQ; dat.bcg with a = total n, also with moderators), committed as genq_model_weights.json.
Tolerance: 1e-6 relative, 1e-8 absolute.
"""

from __future__ import annotations

import matplotlib.text
import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_reference

import alliance_meta as am
from alliance_meta.analyses import rve
from alliance_meta.plots.forest import ForestOptions, study_rows

REFERENCE = load_reference("genq_model_weights")
CASES = [pytest.param(case, id=case["name"]) for case in REFERENCE["cases"]]
INTERCEPT_ONLY = [pytest.param(case, id=case["name"]) for case in REFERENCE["cases"] if case["terms"] == "intrcpt"]
RTOL, ATOL = 1e-6, 1e-8


def close(ours, theirs, what: str):
    assert_close(np.ravel(np.asarray(ours, float)), np.ravel(theirs), rtol=RTOL, atol=ATOL, err_msg=what)


def fitted(case):
    """The GENQ fit of the case; the default weights (a = 1/sqrt(vi), the pipeline's) left to am.fit."""
    rows = pd.DataFrame({"study_id": [f"s{i + 1}" for i in range(len(case["yi"]))], "yi": case["yi"],
                         "vi": case["vi"]})
    weights = None if case["name"] == "molloy_default" else case["weights"]
    return am.fit(rows, method="GENQ", weights=weights, metric="z")


@pytest.mark.parametrize("case", CASES)
def test_cr2_of_a_model_with_weights_of_its_own(case):
    X = np.asarray(case["X"], float)
    names = np.atleast_1d(case["terms"]).tolist()
    result = rve.univariate_cr2(case["yi"], case["vi"], case["tau2"], X, names=names, weights=case["weights"])
    table = result.coef_test()
    close(table["estimate"], case["estimate"], "the GENQ estimate, not the 1/(v + tau^2)-weighted one")
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("statistic", "t"), ("df", "df"), ("p", "p"),
                         ("ci_lower", "ci_lb"), ("ci_upper", "ci_ub")]:
        close(table[ours], case["cr2"][theirs], f"coef_test {ours}")
        close(table[ours], case["robust"][theirs], f"robust {ours}")
    close(result.vcov, case["cr2"]["vcov"], "vcovCR")
    if "wald" in case:
        wald = result.wald_test()
        close([wald[key] for key in ("f", "df_num", "df_denom", "p")],
              [case["wald"][key] for key in ("f", "df_num", "df_denom", "p")], "Wald_test HTZ")


@pytest.mark.parametrize("case", INTERCEPT_ONLY)
def test_rve_cr2_row_of_a_genq_fit(case):
    fit = fitted(case)
    close([fit.estimate, fit.tau2], [case["estimate"], case["tau2"]], "the fit")
    row = am.rve(fit).table.set_index("model").loc["cr2"]
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("df", "df"), ("pval", "p"),
                         ("ci_lower", "ci_lb"), ("ci_upper", "ci_ub")]:
        close(row[ours], case["robust"][theirs], f"rve.csv cr2 {ours}")
    close(row["tau2"], case["tau2"], "rve.csv cr2 tau2")


@pytest.mark.parametrize("case", INTERCEPT_ONLY)
def test_forest_plot_shows_the_models_weights(case):
    """The Weight column and the squares: weights(x) in percent, as forest(x); the pipeline's forest plot (a row of
    pooled.csv with method GENQ, no weights) and fit.plot_forest (the fit's own)."""
    fit = fitted(case)
    expected = np.asarray(case["model_weights"], float)
    pooled = fit.to_frame().iloc[0].to_dict()
    rows = study_rows(fit.data, fit.tau2, "z", 95, ForestOptions(), pooled, fit.weights)  # sheet order
    assert [" ".join(row.label) for row in rows] == list(fit.data["study_id"])  # wrapped lines
    close([row.size for row in rows], expected / expected.max(), "square sizes, study by study")
    assert [row.weight for row in rows] == [f"{value:.1f}%" for value in expected]
    figure = fit.plot_forest()
    shown = sorted((text for text in figure.findobj(matplotlib.text.Text)
                    if text.get_text().endswith("%") and text.get_text() != "100.0%"),  # the diamond's: 100.0%
                   key=lambda text: -text.get_transform().transform(text.get_position())[1])  # top down
    assert [text.get_text() for text in shown] == [f"{value:.1f}%" for value in expected]
