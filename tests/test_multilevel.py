"""Unit tests of the block algebra, the three-level fit's edge cases and the workflow tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import alliance_meta as am
from alliance_meta.models import multilevel

from alliance_meta.analyses.moderators import multilevel as multilevel_moderators
from alliance_meta.models.fits import pooled_table

from alliance_meta.engines import robust
from alliance_meta.engines.design import build_design
from alliance_meta.engines.study_blocks import BlockCovariance, dense_blocks, group_by_study


def _dense(vi, blocks, rho, between, within):
    matrix = np.zeros((vi.size, vi.size))
    for _, rows in blocks.by_size():
        stack = dense_blocks(vi, rows, rho, between, within)
        for block, index in zip(stack, rows):
            matrix[np.ix_(index, index)] = block
    return matrix


@pytest.mark.parametrize("rho", [0.0, 0.6, -0.1])
def test_woodbury_blocks_match_the_dense_matrix(rho):
    rng = np.random.default_rng(7)
    blocks = group_by_study(rng.integers(0, 8, 40))
    vi = rng.uniform(0.01, 0.1, 40)
    covariance = BlockCovariance(vi, blocks, rho, 0.05, 0.02)
    dense = _dense(vi, blocks, rho, 0.05, 0.02)
    values = rng.normal(size=(40, 3))
    np.testing.assert_allclose(covariance.solve(values), np.linalg.solve(dense, values), rtol=1e-10)
    np.testing.assert_allclose(covariance.solve(values[:, 0]), np.linalg.solve(dense, values[:, 0]), rtol=1e-10)
    np.testing.assert_allclose(covariance.logdet, np.linalg.slogdet(dense)[1], rtol=1e-12)
    np.testing.assert_allclose(covariance.inverse_diagonal(), np.diag(np.linalg.inv(dense)), rtol=1e-10)


def test_gradient_is_the_derivative_of_the_likelihood():
    rng = np.random.default_rng(3)
    study = np.repeat(np.arange(15), 3)
    vi = rng.uniform(0.02, 0.08, study.size)
    yi = 0.3 + rng.normal(0, 0.2, 15)[study] + rng.normal(0, 0.25, study.size)
    data = multilevel.prepare(yi, vi, study, np.column_stack([np.ones(yi.size), rng.normal(size=yi.size)]), rho=0.4)
    for reml in (True, False):
        point = np.array([0.03, 0.05])
        gradient = multilevel.evaluate(data, point, reml).gradient
        for j in range(2):
            step = np.zeros(2)
            step[j] = 1e-6
            difference = (multilevel.evaluate(data, point + step, reml).loglik
                          - multilevel.evaluate(data, point - step, reml).loglik) / 2e-6
            np.testing.assert_allclose(gradient[j], difference, rtol=1e-6)


def test_independent_effect_sizes_put_sigma2_between_on_the_boundary():
    rng = np.random.default_rng(11)
    study = np.repeat(np.arange(30), 4)
    vi = np.full(study.size, 0.02)
    yi = 0.2 + rng.normal(0, np.sqrt(0.02 + 0.03), study.size)  # no study-level variation
    fit = multilevel.fit(yi, vi, study)
    if fit.sigma2[0] == 0.0:  # the optimum is on the boundary: exactly 0, LRT statistic 0
        assert fit.lrt["statistic"] == pytest.approx(0.0, abs=1e-9)
        assert fit.sigma2_ci[0, 0] == 0.0
    assert fit.sigma2[1] > 0


def test_single_effect_size_studies_are_fine_and_cr2_runs():
    rng = np.random.default_rng(5)
    study = np.concatenate([np.arange(20), np.repeat(np.arange(20, 30), 3)])
    vi = rng.uniform(0.01, 0.05, study.size)
    yi = rng.normal(0.3, 0.2, study.size)
    fit = multilevel.fit(yi, vi, study.astype(str))
    table = robust.cr2(fit).coef_test()
    assert fit.n_studies == 30 and np.isfinite(table.df[0]) and table.df[0] > 0


def test_pooled_table_rows_and_columns():
    rng = np.random.default_rng(2)
    study = np.repeat([f"s{j}" for j in range(12)], 3)
    data = pd.DataFrame({"study_id": study, "yi": rng.normal(0.3, 0.2, study.size),
                         "vi": rng.uniform(0.01, 0.05, study.size)})
    table, notes = pooled_table(data, ["common", "REML", "ML"], ["z", "knha"], dependence="multilevel", rho=0.5,
                                 metric="z")
    assert list(zip(table.method, table.test)) == [("REML", "z"), ("REML", "t"), ("REML", "cr2"),
                                                   ("ML", "z"), ("ML", "t"), ("ML", "cr2")]
    assert {"sigma2_between", "sigma2_within", "r", "tau2", "i2", "pi_lower"} <= set(table.columns)
    np.testing.assert_allclose(table.tau2, table.sigma2_between + table.sigma2_within)
    assert any("common" in note for note in notes)
    empty, _ = pooled_table(data.iloc[:0], dependence="multilevel", metric="z")
    assert len(empty) == 0 and "sigma2_between" in empty.columns
    assert not any("one effect size" in note for note in notes) and not table["note"].fillna("").str.contains(
        "not separately identified").any()
    # one effect size per study: the split of tau2 into the two levels is arbitrary, and the table says so
    one_level, notes = pooled_table(data.drop_duplicates("study_id"), ["REML"], ["z"], dependence="multilevel",
                                    metric="z")
    assert one_level["note"].str.contains("sigma2_between and sigma2_within are not separately identified").all()
    assert one_level.set_index("test").loc["cr2", "note"].startswith("CR2 (clubSandwich) standard error")
    assert any(note.startswith("dependence = multilevel: every study has one effect size") for note in notes)


def test_rho_outside_the_open_interval_is_refused():
    with pytest.raises(ValueError):
        multilevel.prepare([0.1, 0.2], [0.01, 0.02], [1, 1], rho=1.0)


def test_multilevel_moderator_terms_code_levels_as_the_aggregated_analysis():
    # meta_regression.csv holds both analyses: same reference level (configured, else the most
    # frequent), term names and centring, or the rows of one moderator contradict each other
    rng = np.random.default_rng(11)
    study = np.repeat([f"s{j}" for j in range(16)], 2)
    rater = np.where(np.arange(study.size) % 4 == 0, "observer", np.where(np.arange(study.size) % 4 == 1,
                     "therapist", "patient"))
    data = pd.DataFrame({"study_id": study, "yi": rng.normal(0.3, 0.2, study.size),
                         "vi": rng.uniform(0.01, 0.05, study.size), "rater": rater,
                         "year": rng.integers(1990, 2020, study.size).astype(float)})
    table = multilevel_moderators.moderator_coefficients(data, "rater", rho=0.5)
    aggregated = build_design(data, "rater")
    assert list(table.term) == list(aggregated.columns) == ["intercept", "rater[observer]", "rater[therapist]"]
    # as the other rows of meta_regression.csv: Wald z in z (it was in "statistic"), k effect sizes in n_studies
    assert {"z", "k", "n_studies"} <= set(table.columns) and "statistic" not in table.columns
    assert set(table["k"]) == {32} and set(table["n_studies"]) == {16}
    np.testing.assert_allclose(table["z"], table["estimate"] / table["se"])
    chosen = multilevel_moderators.moderator_coefficients(data, "rater", rho=0.5, reference_level="observer")
    assert list(chosen.term) == ["intercept", "rater[patient]", "rater[therapist]"]
    raw = multilevel_moderators.moderator_coefficients(data, "year", continuous=True, rho=0.5)
    centred = multilevel_moderators.moderator_coefficients(data, "year", continuous=True, rho=0.5, centre=True)
    assert raw.estimate[1] == pytest.approx(centred.estimate[1], rel=1e-6)
    assert abs(raw.estimate[0] - centred.estimate[0]) > 1e-3  # intercept at year 0 vs at the mean year
    row = multilevel_moderators.moderator_row(data, "rater", rho=0.5, reference_level="observer")
    assert row["qm"] == pytest.approx(multilevel_moderators.moderator_row(data, "rater", rho=0.5)["qm"], rel=1e-6)


def test_a_maximisation_that_does_not_converge_is_reported_in_the_pooled_table(monkeypatch):
    rng = np.random.default_rng(3)
    study = np.repeat([f"s{j}" for j in range(10)], 2)
    data = pd.DataFrame({"study_id": study, "yi": rng.normal(0.3, 0.2, study.size),
                         "vi": rng.uniform(0.01, 0.05, study.size)})
    table, _ = pooled_table(data, ["REML"], ["z"], dependence="multilevel", rho=0.0, metric="z", profile=False)
    assert table.converged.tolist() == [True, True]
    monkeypatch.setattr(multilevel, "_projected_newton", lambda objective, x, max_steps=100, descend=False: (x, False, max_steps))
    assert not multilevel.fit(data.yi, data.vi, data.study_id, profile=False).converged
    table, _ = pooled_table(data, ["REML"], ["z"], dependence="multilevel", rho=0.0, metric="z", profile=False)
    assert table.converged.tolist() == [False, False]
    assert all("did not converge" in note for note in table.note)
    assert multilevel_moderators.moderator_row(data.assign(x=np.arange(study.size) % 2), "x")["converged"] is False


def test_the_pooled_table_counts_the_three_level_maximisation_s_steps():
    """pooled.csv's `iterations` of a three-level row are the likelihood maximisation's steps (it said 0 for every
    row, as of a model that does not iterate); 0 only when no variance component is estimated."""
    rng = np.random.default_rng(3)
    study = np.repeat([f"s{j}" for j in range(10)], 2)
    data = pd.DataFrame({"study_id": study, "yi": rng.normal(0.3, 0.2, study.size),
                         "vi": rng.uniform(0.01, 0.05, study.size)})
    steps = []
    newton = multilevel._projected_newton

    def counted(*args, **kwargs):
        result = newton(*args, **kwargs)
        steps.append(result[2])
        return result

    fit = am.fit(data, dependence="multilevel")
    assert fit.to_frame()["iterations"].iloc[0] > 0
    import unittest.mock
    with unittest.mock.patch.object(multilevel, "_projected_newton", counted):
        refit = multilevel.fit(data.yi, data.vi, data.study_id, profile=False, likelihood_ratio=False)
    assert refit.iterations >= sum(steps) > 0  # with the L-BFGS-B run's iterations where the first steps failed
    fixed = multilevel.fit(data.yi, data.vi, data.study_id, sigma2=(0.01, 0.02), profile=False)
    assert fixed.iterations == 0


def test_a_moderator_without_values_or_variation_gives_its_reason_not_a_crash():
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"study_id": np.repeat(list("ABCDEF"), 2), "yi": rng.normal(0.2, 0.1, 12), "vi": 0.02,
                         "year": np.nan, "rater": "patient"})
    empty = multilevel_moderators.moderator_row(data, "year", continuous=True)
    assert (empty["k"], empty["note"]) == (0, "year has no value in any row")
    constant = multilevel_moderators.moderator_row(data, "rater")
    assert constant["note"] == "rater has one value (patient) in every row: nothing to compare"
    assert multilevel_moderators.moderator_coefficients(data, "year", continuous=True).empty


def _one_study(k: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    return pd.DataFrame({"study_id": "S1", "yi": rng.normal(0.3, 0.15, k), "vi": rng.uniform(0.004, 0.012, k)})


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_one_study_fixes_sigma2_between_to_zero_in_the_table_and_its_notes():
    # rma.mv: "Single-level factor(s) found in 'random' argument. Corresponding 'sigma2' value(s) fixed to 0."
    data = _one_study()
    table, notes = pooled_table(data, ["REML", "ML"], ["z", "knha"], dependence="multilevel", rho=0.5, metric="z")
    assert list(zip(table.method, table.test)) == [("REML", "z"), ("REML", "t"), ("ML", "z"), ("ML", "t")]
    assert (table.sigma2_between == 0).all() and (table.sigma2_within > 0).all()
    np.testing.assert_allclose(table.tau2, table.sigma2_within)
    assert table.sigma2_between_ci_lower.isna().all() and table.lrt_between.isna().all()
    assert table.note.str.contains("sigma2_between is not estimable and is fixed to 0").all()
    assert not table.note.str.contains("not separately identified").any()
    assert f"dependence = multilevel: {multilevel.ONE_STUDY_NOTE}" in notes
    assert ("REML: CR2 (cluster-robust) inference needs at least 2 studies (clubSandwich stops with one "
            "cluster); no cr2 row") in notes
    # REML and ML now differ only as rma.mv's do: no arbitrary sigma2_between left at its start
    fit = multilevel.fit(data.yi, data.vi, data.study_id, rho=0.5)
    assert fit.single_level == ("between",) and fit.sigma2_fixed == (True, False) and fit.lrt is None
    assert fit.fit_statistics()["aic"] == pytest.approx(-2 * fit.loglik + 2 * 2)  # p + 1 estimated variance


def test_a_sigma2_the_caller_fixed_is_kept_with_one_study():
    data = _one_study()
    fit = multilevel.fit(data.yi, data.vi, data.study_id, sigma2=(0.01, None))  # rma.mv keeps it too
    assert fit.sigma2[0] == 0.01 and fit.single_level == () and fit.note == ""


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_one_study_cr2_is_nan_with_a_note_and_the_engine_refuses():
    fit = am.fit(_one_study(), dependence="multilevel", rho=0.5)
    robust_fit = fit.with_test("cr2")
    assert all(np.isnan(value) for value in (robust_fit.se, robust_fit.df, robust_fit.pvalue, *robust_fit.conf_int()))
    assert robust_fit.note.startswith("CR2 (cluster-robust) inference needs at least 2 studies")
    row = robust_fit.to_frame().iloc[0]
    assert np.isnan([row.se, row.df, row.ci_lower, row.ci_upper, row.p, row.statistic]).all()
    assert "NA" in robust_fit.summary()
    with pytest.raises(ValueError, match="at least 2 studies .*this fit has 1"):
        robust.cr2(fit.result)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_one_effect_size_fixes_both_sigma2_and_says_so():
    # rma.mv stops at k <= 1; here both factors have one level, so both sigma2 are 0: the effect
    # size with its sampling variance, as the univariate fit with k = 1
    data = _one_study(1)
    fit = am.fit(data, dependence="multilevel")
    assert fit.sigma2 == (0.0, 0.0) and fit.result.single_level == ("between", "within")
    assert fit.estimate == pytest.approx(data.yi[0]) and fit.se == pytest.approx(np.sqrt(data.vi[0]))
    assert fit.i2 == 0.0 and fit.note == multilevel.ONE_EFFECT_SIZE_NOTE
    assert np.isnan(fit.with_test("t").conf_int()).all() and np.isnan(fit.with_test("t").pvalue)
    table, notes = pooled_table(data, ["REML"], ["z", "knha"], dependence="multilevel", metric="z")
    assert list(table.test) == ["z", "t"] and (table.note == multilevel.ONE_EFFECT_SIZE_NOTE).all()
    assert not any("not separately identified" in note for note in notes)
    assert np.isnan(table.sigma2_within_ci_lower).all()


def test_the_three_level_moderator_table_says_when_the_variance_split_is_not_identified():
    """With one effect size per study the three-level table printed sigma^2 between and within as estimates
    (pooled.csv's note says they are not identified; the table said nothing)."""
    from alliance_meta.report.tables import manuscript_table

    row = {"moderator": "rater", "multilevel_k": 20, "multilevel_n_studies": 20, "multilevel_qm": 0.3,
           "multilevel_qm_df": 2, "multilevel_qm_p": 0.86, "multilevel_sigma2_between": 0.006,
           "multilevel_sigma2_within": 0.006, "k": 20, "qm": 0.3, "qm_df": 2, "qm_p": 0.86}
    note = manuscript_table("moderators", pd.DataFrame([row]), "z").note
    assert "rater: one effect size per study, so \u03c3\u00b2 between and within are not identified separately" in note
    nested = manuscript_table("moderators", pd.DataFrame([{**row, "multilevel_k": 35}]), "z").note
    assert "not identified" not in nested


def test_a_moderator_that_only_tells_the_studies_apart_is_not_estimable():
    """Two studies at two levels of a study-level moderator (a three-level walkthrough): the model matrix spans
    both studies' indicators, so the REML likelihood is flat in sigma2_between and QM moved from 0.21 (sigma2_between
    0) to 0.03 (0.05) with it (metafor's rma.mv with sigma2 fixed); moderators.csv gave one arbitrary value's QM."""
    yi = np.array([0.266, 0.192, 0.234, 0.377, 0.121, 0.320, 0.050])
    vi = 1 / (np.array([129, 110, 172, 55, 41, 147, 54]) - 3)
    data = pd.DataFrame({"study_id": ["S1"] * 3 + ["S2"] * 4, "yi": yi, "vi": vi,
                         "setting": ["in"] * 3 + ["out"] * 4, "rater": list("pto") + list("ptop")})
    row = multilevel_moderators.moderator_row(data, "setting", rho=0.5)
    assert "qm" not in row and row["note"] == multilevel_moderators.CONFOUNDED and row["k"] == 7
    assert multilevel_moderators.moderator_coefficients(data, "setting", rho=0.5).empty
    # a moderator varying within the studies is still fitted (rma.mv: QM(2) = 0.94 for these rows' rater)
    assert np.isfinite(multilevel_moderators.moderator_row(data, "rater", rho=0.5)["qm"])
    # three studies at two levels: sigma2_between is identified again
    three = pd.concat([data, data.assign(study_id=data.study_id + "b", setting="in")], ignore_index=True)
    assert np.isfinite(multilevel_moderators.moderator_row(three, "setting", rho=0.5)["qm"])


def test_a_cr2_row_with_df_below_4_says_so_in_its_note():
    """Two studies of 3 and 4 effect sizes: the cr2 row of pooled.csv is t(1.01) (clubSandwich: df 1.01, p = .0603)
    and its note said only "CR2 (clubSandwich) standard error, Satterthwaite t df" (rve.csv says df < 4)."""
    yi = np.arctanh([0.26, 0.19, 0.23, 0.36, 0.12, 0.31, 0.05])
    vi = 1 / (np.array([129, 110, 172, 55, 41, 147, 54]) - 3)
    data = pd.DataFrame({"study_id": ["S1"] * 3 + ["S2"] * 4, "yi": yi, "vi": vi})
    fit = am.fit(data, dependence="multilevel", rho=0.5).with_test("cr2")
    assert fit.df == pytest.approx(1.006, abs=1e-3) and fit.pvalue == pytest.approx(0.0603, abs=1e-4)
    assert fit.note.startswith("CR2 (clubSandwich) standard error, Satterthwaite t df; "
                               "df < 4: do not trust the p value")
    many = am.fit(pd.concat([data.assign(study_id=data.study_id + s) for s in "abcd"]), dependence="multilevel",
                  rho=0.5).with_test("cr2")
    assert many.df > 4 and "df < 4" not in many.note


def test_a_three_level_moderator_model_that_does_not_converge_says_so(monkeypatch):
    """moderators.csv had multilevel_converged False and nothing else: no note, no log line, and the report gave its
    QM and CR2 F as any other (pooled.csv's rows say "did not converge" in their note)."""
    from alliance_meta.analyses.moderators import convergence_messages
    from alliance_meta.report.tables import manuscript_table
    from alliance_meta.report.text import moderators_sentence

    rng = np.random.default_rng(3)
    study = np.repeat([f"s{j}" for j in range(10)], 2)
    data = pd.DataFrame({"study_id": study, "yi": rng.normal(0.3, 0.2, study.size),
                         "vi": rng.uniform(0.01, 0.05, study.size), "x": np.arange(study.size) % 2})
    assert "note" not in multilevel_moderators.moderator_row(data, "x")
    monkeypatch.setattr(multilevel, "_projected_newton", lambda objective, x, max_steps=100, descend=False: (x, False, max_steps))
    row = multilevel_moderators.moderator_row(data, "x")
    assert row["converged"] is False and row["note"] == multilevel_moderators.NOT_CONVERGED
    summary = pd.DataFrame([{"moderator": "x", "k": 20, "qm": 1.0, "qm_df": 1, "qm_p": 0.3, "note": "",
                             **{f"multilevel_{key}": value for key, value in row.items() if key != "moderator"}}])
    assert convergence_messages(pd.DataFrame(), pd.DataFrame(), summary) == [
        "three-level moderator model x (k = 20 effect sizes): REML did not converge; its QM, CR2 F, sigma2 and R2 "
        "are those of the last iteration"]
    assert "(the three-level model did not converge: estimates of its last iteration)" in moderators_sentence(summary)
    assert "The three-level model of x did not converge" in manuscript_table("moderators", summary, "z").note


def test_the_report_gives_the_three_level_reason_of_a_moderator_without_a_model():
    """Two studies at two levels of setting: the Results said "Not estimable: setting (no mixed-effects model: too
    few rows for its coefficients)", the composites' reason, not why the three-level model has no test."""
    from alliance_meta.report.text import moderators_sentence

    row = {"moderator": "setting", "k": 2, "qm": np.nan, "note": "no mixed-effects model: too few rows for its "
           "coefficients", "multilevel_k": 7, "multilevel_qm": np.nan,
           "multilevel_note": multilevel_moderators.CONFOUNDED}
    text = moderators_sentence(pd.DataFrame([row]))
    assert text.startswith("Moderator tests were not estimable: setting (each study is at a level of the moderator "
                           "of its own, so the between-study variance cannot be told apart")
    composites = moderators_sentence(pd.DataFrame([{**row, "k": 7, "qm": 1.2, "qm_df": 1, "qm_p": 0.27, "r2": 0.0,
                                                          "tau2_null": 0.01, "note": ""}]))
    assert ("the three-level model could not be fitted: each study is at a level of the moderator of its own"
            in composites)


def test_the_subgroup_table_says_what_its_k_counts():
    """A three-level walkthrough: pooled k = 30 effect sizes of 12 studies, and the subgroup table's k of rater
    (7 + 4 + 5 = 16, composites of study x level) had only "Random-effects (REML) estimate within each level"."""
    from alliance_meta.report.tables import manuscript_table

    rows = pd.DataFrame({"moderator": "rater", "level": ["patient", "therapist"], "k": [7, 4], "estimate": [0.19, 0.16],
                         "ci_lower": [0.10, 0.05], "ci_upper": [0.27, 0.26], "tau2": [0.004, 0.006]})
    assert "k = studies at the level, each one composite of its effect sizes there" in manuscript_table(
        "subgroups", rows, "z").note
