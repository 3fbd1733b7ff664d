"""Meta-regression, subgroups and permutation tests agree with metafor 3.8.

Reference values: tests/reference/moderators.R (metafor's rma with mods, test =
"knha", subgroup fits, permutest with exact = TRUE) on metadat's
dat.mcdaniel1994 and dat.molloy2014, committed as moderators.json.
Tolerance: 1e-6 relative, 1e-8 absolute (for values near zero).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_reference

from alliance_meta.models import metareg

from alliance_meta.analyses import moderators

from alliance_meta.analyses import permutation
REFERENCE = load_reference("moderators")
RTOL, ATOL = 1e-6, 1e-8


def frame_of(name: str) -> pd.DataFrame:
    return pd.DataFrame(REFERENCE["data"][name])


def close(ours, theirs, what: str):
    assert_close(np.ravel(ours), theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def model_id(entry):
    return f"{entry['name']}-{entry['method']}"


@pytest.mark.parametrize("entry", REFERENCE["models"], ids=model_id)
def test_meta_regression_matches_metafor(entry):
    frame = frame_of(entry["data"])
    variables = [v for v in ("type", "struct", "controls", "design", "a_measure", "meanage")
                 if v in entry["formula"].replace("*", "+").split(" ")]
    frame = frame.dropna(subset=variables)
    fit = metareg.fit_formula(frame, entry["formula"], method=entry["method"], continuous=("meanage",),
                              reference_levels=entry["reference_levels"] or None, centre=entry["centre"])
    assert fit.k == entry["k"]
    columns = [entry["columns"]] if isinstance(entry["columns"], str) else entry["columns"]  # JSON unboxes one
    assert len(fit.columns) == len(columns)
    wald, knha = fit.coefficients("z"), fit.coefficients("knha")
    close(fit.tau2, entry["tau2"], "tau2")
    close(wald.estimate, entry["beta"], "beta")
    for ours, theirs in [("se", "se"), ("statistic", "zval"), ("p", "pval"),
                         ("ci_lower", "ci_lb"), ("ci_upper", "ci_ub")]:
        close(wald[ours], entry[theirs], f"wald {ours}")
    for ours, theirs in [("se", "se_knha"), ("statistic", "tval"), ("p", "pval_knha"),
                         ("ci_lower", "ci_lb_knha"), ("ci_upper", "ci_ub_knha")]:
        close(knha[ours], entry[theirs], f"knha {ours}")
    summary = fit.summary()
    assert summary["qm_df"] == entry["qm_df"] and summary["f_df1"] == entry["f_df1"]
    assert summary["f_df2"] == entry["f_df2"]
    for name in ("qm", "qm_p", "f", "f_p", "qe", "qe_p", "i2", "h2", "r2"):
        close(summary[name], entry[name], name)


@pytest.mark.parametrize("case", REFERENCE["permutations"], ids=lambda case: case["name"])
def test_exact_permutation_test_matches_metafor_permutest(case):
    frame = frame_of("molloy").iloc[np.asarray(case["rows"]) - 1]
    references = {name: sorted(set(frame[name]))[0] for name in ("design", "controls")}  # R's coding
    fit = metareg.fit_formula(frame, case["formula"], continuous=("meanage",), reference_levels=references)
    design = fit.design
    result = permutation.permutation_test(fit, frame.yi, frame.vi, design.matrix, iterations=1000)
    assert result.exact and result.iterations == case["iterations"]
    p, qm_p = (result.p, result.qm_p) if case["test"] == "z" else (result.p_knha, result.f_p)
    close(p, case["pval"], "coefficient p")
    close(qm_p, case["qm_p"], "omnibus p")


@pytest.mark.parametrize("case", REFERENCE["subgroups"], ids=lambda case: case["name"])
def test_subgroups_and_tests_between_levels_match_metafor(case):
    frame = frame_of(case["data"]).dropna(subset=[case["moderator"]])
    table = moderators.subgroup_fits(frame, case["moderator"], "z")
    levels = pd.DataFrame(case["levels"])
    assert table["level"].tolist() == levels["level"].tolist()
    assert table["k"].tolist() == levels["k"].tolist()
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_lower", "ci_lb"),
                         ("ci_upper", "ci_ub"), ("tau2", "tau2"), ("i2", "i2")]:
        close(table[ours], levels[theirs], ours)
    close(table["r"], np.tanh(levels["estimate"]), "r")
    q, df, p = moderators.q_between(table["estimate"], table["se"])
    assert df == case["q_between_separate_df"]
    close([q, p], [case["q_between_separate"], case["q_between_separate_p"]], "Q-between, separate tau^2")
    fit, _ = moderators.fit_model(frame, case["moderator"], permutations=0)
    close([fit.qm, fit.qm_p, fit.tau2], [case["qm_common"], case["qm_common_p"], case["tau2_common"]],
          "mixed-effects model, common tau^2")


COMMON_EFFECT_R2 = load_reference("common_effect_r2")


@pytest.mark.parametrize("case", COMMON_EFFECT_R2["cases"], ids=lambda case: f"{case['method']}-{case['formula']}")
def test_common_effect_r2_is_metafors_adjusted_weighted_r2(case):
    """metafor's R^2 of a common-effect meta-regression is max(0, 100 adjusted R^2 of lm(yi ~ X, weights = 1/vi))
    (reference/common_effect_r2.R); ours was 0 for every common-effect fit (tau^2_RE = 0 taken as the denominator)."""
    frame = pd.DataFrame(COMMON_EFFECT_R2["data"])
    fit = metareg.fit_formula(frame, case["formula"], method=case["method"], continuous=("meanage",))
    assert fit.k == case["k"]
    assert fit.r2 == pytest.approx(case["r2"], rel=1e-6)
    assert np.isnan(fit.tau2_null)


COMMON_EFFECT_METAREG = load_reference("common_effect_metareg")


@pytest.mark.parametrize("entry", COMMON_EFFECT_METAREG["models"], ids=lambda e: f"{e['data']}-{e['formula']}")
def test_common_effect_meta_regression_matches_metafor(entry):
    """rma(mods =, method = "EE") (reference/common_effect_metareg.R), z and Knapp-Hartung; its residual I^2 and
    H^2 come from Q_E (100 (Q_E - (k - p)) / Q_E and Q_E / (k - p)): ours were 0 and 1 (from tau^2 = 0)."""
    frame = pd.DataFrame(COMMON_EFFECT_METAREG["data"][entry["data"]]).astype({"yi": float, "vi": float})
    frame = frame.dropna(subset=[v for v in frame if v in entry["formula"].split(" ")])
    fit = metareg.fit_formula(frame, entry["formula"], method="common", continuous=COMMON_EFFECT_METAREG["continuous"],
                              reference_levels=entry["reference_levels"] or None)
    assert fit.k == entry["k"] and len(fit.columns) == len(entry["columns"])
    wald, knha = fit.coefficients("z"), fit.coefficients("knha")
    close(wald.estimate, entry["beta"], "beta")
    for table, pairs in ((wald, [("se", "se"), ("statistic", "zval"), ("p", "pval"), ("ci_lower", "ci_lb"),
                                 ("ci_upper", "ci_ub")]),
                         (knha, [("se", "se_knha"), ("statistic", "tval"), ("p", "pval_knha"),
                                 ("ci_lower", "ci_lb_knha"), ("ci_upper", "ci_ub_knha")])):
        for ours, theirs in pairs:
            close(table[ours], entry[theirs], ours)
    summary = fit.summary()
    assert (summary["qm_df"], summary["f_df1"], summary["f_df2"]) == (entry["qm_df"], entry["f_df1"], entry["f_df2"])
    for name in ("qm", "qm_p", "f", "f_p", "qe", "qe_p", "i2", "h2", "r2", "tau2"):
        close(summary[name], entry[name], name)


def test_r2_of_a_model_whose_null_tau2_is_zero_is_zero_and_says_so_in_tau2_null():
    """metafor: R2 <- 0 when identical(tau2.RE, 0); tau2_null carries tau2.RE so that reports can say why."""
    rng = np.random.default_rng(5)
    vi = rng.uniform(0.01, 0.04, 12)
    frame = pd.DataFrame({"yi": 0.3 + rng.normal(0, 0.2, 12) * np.sqrt(vi), "vi": vi,
                          "x": rng.normal(size=12)})
    fit = metareg.fit_formula(frame, "x", method="REML", continuous=("x",))
    null = metareg.fit(frame.yi, frame.vi, np.ones((12, 1)), method="REML")
    assert null.tau2 == 0 and fit.tau2_null == null.tau2 and fit.r2 == 0
    heterogeneous = frame.assign(yi=frame.yi + rng.normal(0, 0.3, 12))
    fit = metareg.fit_formula(heterogeneous, "x", method="REML", continuous=("x",))
    null = metareg.fit(heterogeneous.yi, heterogeneous.vi, np.ones((12, 1)), method="REML")
    assert fit.tau2_null == pytest.approx(null.tau2) and fit.tau2_null > 0
    assert fit.r2 == pytest.approx(max(0.0, 100 * (null.tau2 - fit.tau2) / null.tau2))


ADHOC_SLOPES = ("year", "weeks_capped")


def adhoc_frame(name: str) -> pd.DataFrame:
    frame = frame_of(name)
    return frame.assign(study_id=frame.get("study_id", pd.Series(range(1, len(frame) + 1)).astype(str)))


@pytest.mark.parametrize("entry", REFERENCE["adhoc"], ids=model_id)
def test_adhoc_meta_regression_matches_metafor(entry):
    """pooling.knha_adhoc (metafor's test = "adhoc": s2w not below 1) reaches the meta-regression: its coefficients'
    t tests, F and predict() (reference/moderators.R, models whose knha s2w is below 1); they were plain knha."""
    assert entry["s2w_knha"] >= 1 or entry["f"] != pytest.approx(entry["f_knha"], rel=1e-3)  # the floor matters
    frame = adhoc_frame(entry["data"])
    fit = metareg.fit_formula(frame, entry["formula"], method=entry["method"], continuous=ADHOC_SLOPES,
                              reference_levels=entry["reference_levels"] or None, knha_adhoc=True)
    assert fit.k == entry["k"] and fit.knha_adhoc
    close(fit.tau2, entry["tau2"], "tau2")
    close(fit.knha_scale, entry["s2w"], "s2w")
    knha = fit.coefficients("knha")
    for ours, theirs in [("estimate", "beta"), ("se", "se"), ("statistic", "tval"), ("p", "pval"),
                         ("ci_lower", "ci_lb"), ("ci_upper", "ci_ub")]:
        close(knha[ours], entry[theirs], f"adhoc {ours}")
    summary = fit.summary()
    assert (summary["f_df1"], summary["f_df2"]) == (entry["f_df1"], entry["f_df2"])
    close([summary["f"], summary["f_p"]], [entry["f"], entry["f_p"]], "adhoc F")
    newmods = np.asarray(entry["newmods"], float).reshape(len(entry["pred"]), -1)
    mean, se, lower, upper = fit.predict(np.column_stack([np.ones(len(newmods)), newmods]), "knha")
    for ours, theirs in [(mean, "pred"), (se, "pred_se"), (lower, "pred_ci_lb"), (upper, "pred_ci_ub")]:
        close(ours, entry[theirs], f"adhoc predict {theirs}")


def adhoc_case(name: str = "bcg_alloc", method: str = "REML") -> dict:
    return next(e for e in REFERENCE["adhoc"] if e["name"] == name and e["method"] == method)


def test_adhoc_reaches_the_moderator_tables_through_the_api():
    """am.moderators, am.meta_regression and am.moderator_tables take knha_adhoc (None: as the fit, whose test
    "adhoc" carries it): moderators.csv's F and meta_regression.csv's knha columns are metafor's adhoc."""
    import alliance_meta as am

    entry = adhoc_case()
    frame = adhoc_frame("bcg")
    expected = {"f": entry["f"], "f_p": entry["f_p"]}
    coefficients = {"se_knha": entry["se"], "t": entry["tval"], "p_knha": entry["pval"],
                    "ci_lower_knha": entry["ci_lb"], "ci_upper_knha": entry["ci_ub"]}
    plain, adhoc = am.fit(frame, test="knha"), am.fit(frame, test="adhoc")
    reference = entry["reference_levels"]  # R's first level, not the most frequent one
    for fit, option in ((adhoc, None), (plain, True), (am.fit(frame), True)):
        summary, _, regressions = am.moderator_tables(fit, ["alloc"], permutations=0, knha_adhoc=option,
                                                      reference_levels=reference)
        row = am.moderators(fit, "alloc", permutations=0, knha_adhoc=option, reference_level=reference["alloc"]).row
        model = am.meta_regression(fit, "~ alloc", permutations=0, knha_adhoc=option,
                                   reference_levels=reference).to_frame()
        for name, value in expected.items():
            close([summary[name].iloc[0], row[name], model[f"model_{name}"].iloc[0]], [value] * 3, name)
        for table in (regressions, model):
            for name, value in coefficients.items():
                close(table[name], value, name)
        assert "ad hoc" in summary["note"].iloc[0] and "ad hoc" in model["note"].iloc[0]
    for fit, option in ((plain, None), (adhoc, False)):  # plain Knapp-Hartung
        summary, _, _ = am.moderator_tables(fit, ["alloc"], permutations=0, knha_adhoc=option)
        close(summary["f"], entry["f_knha"], "plain knha F")
    with pytest.raises(TypeError, match="knha_adhoc"):
        am.moderator_tables(plain, ["alloc"], permutations=0, knha_adhoc="yes")


def test_adhoc_predictions_table_matches_metafor_predict():
    """meta_regression_predictions.csv's knha rows under pooling.knha_adhoc: metafor's predict() of the adhoc model
    at each level (CI and prediction interval)."""
    from alliance_meta.analyses.model_comparison import prediction_table

    entry = adhoc_case()
    table = prediction_table(adhoc_frame("bcg"), ["alloc"], None, tests=("knha",), knha_adhoc=True)
    levels = {(0, 0): "alternate", (1, 0): "random", (0, 1): "systematic"}  # R's columns allocrandom, allocsystematic
    order = [levels[tuple(int(x) for x in row)] for row in entry["newmods"]]
    table = table.set_index("value").loc[order]
    for ours, theirs in [("estimate", "pred"), ("se", "pred_se"), ("ci_lower", "pred_ci_lb"),
                         ("ci_upper", "pred_ci_ub"), ("pi_lower", "pred_pi_lb"), ("pi_upper", "pred_pi_ub")]:
        close(table[ours], entry[theirs], ours)


def test_adhoc_predictions_say_so_in_their_note():
    """The knha rows of meta_regression_predictions.csv under pooling.knha_adhoc were metafor's adhoc predictions
    without a word (meta_regression.csv's and moderators.csv's note say it): a last column note says it on them,
    blank on the Wald rows; without knha_adhoc the table keeps its columns (no note)."""
    from alliance_meta.analyses.model_comparison import prediction_table
    from alliance_meta.models.univariate import ADHOC_NOTE

    frame = adhoc_frame("bcg")
    table = prediction_table(frame, ["alloc"], None, tests=("z", "knha"), knha_adhoc=True)
    assert table.columns[-1] == "note"
    assert (table.loc[table["test"] == "knha", "note"] == ADHOC_NOTE).all()
    assert (table.loc[table["test"] == "z", "note"] == "").all()
    plain = prediction_table(frame, ["alloc"], None, tests=("z", "knha"))
    assert list(plain.columns) == list(table.columns[:-1])


def test_adhoc_exact_permutation_test_matches_metafor_permutest():
    """permutest of an adhoc model refits every permutation with test = "adhoc" (its t and F floored too)."""
    case = REFERENCE["adhoc_permutation"]
    assert case["s2w_knha"] < 1 and case["f_p"] != case["f_p_knha"]
    frame = adhoc_frame("bcg").iloc[np.asarray(case["rows"]) - 1]
    fit = metareg.fit_formula(frame, case["formula"], reference_levels={"alloc": sorted(set(frame.alloc))[0]},
                              knha_adhoc=True)
    result = permutation.permutation_test(fit, frame.yi, frame.vi, fit.design.matrix, iterations=1000)
    assert result.exact and result.iterations == case["iterations"]
    close(result.p_knha, case["pval"], "coefficient p")
    close(result.f_p, case["f_p"], "F p")
