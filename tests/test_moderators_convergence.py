"""A fit that does not converge is flagged, never raised and never replaced by another estimator.

The data below make metafor 3.8.1's Fisher scoring fail too (``rma`` stops with "Fisher
scoring algorithm did not converge"); the numbers of the fits that do converge come from

    y <- c(-0.03, -3.53, -0.06, -0.56, -0.07, 0.09); v <- c(0.099, 1.441, 0.03, 0.123, 10.402, 0.01)
    g <- rep(c("A", "B"), each = 3); rater <- rep(c("x", "y"), 3)
    rma(y, v, mods = ~ g)                                  # error: did not converge
    r <- rma(y, v, mods = ~ rater); permutest(r, exact = TRUE)  # 4 of 20 refits fail: pval = QMp = 0.75
    rma(y, v, mods = ~ g, method = "FE")$QE                # 11.4424879939506
    rma(c(-0.03, -3.53, -0.06), c(0.099, 1.441, 0.03))     # level A: converges
    rma(c(0.2, 0.35, 0.1, 0.5), c(0.02, 0.03, 0.05, 0.01))
    rma(c(2.6423, -0.601, 0.2014, -0.0194, -0.079),
        c(0.523539, 4.427489, 7.585266, 19.867608, 13.455466))  # error: did not converge
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alliance_meta.analyses import bias

from alliance_meta.models import metareg

from alliance_meta.analyses import moderators

from alliance_meta.analyses import permutation
from alliance_meta.engines.heterogeneity import Control

RTOL = 1e-6


def model_data() -> pd.DataFrame:
    """REML of ``~ modality`` does not converge; ``~ rater`` and every subgroup level do."""
    return pd.DataFrame({"study_id": list("abcdef"), "yi": [-0.03, -3.53, -0.06, -0.56, -0.07, 0.09],
                         "vi": [0.099, 1.441, 0.03, 0.123, 10.402, 0.01], "modality": list("AAABBB"),
                         "rater": list("xyxyxy"), "n": 50})


def subgroup_data() -> pd.DataFrame:
    """REML of level ``B`` does not converge; level ``A`` does."""
    a = pd.DataFrame({"yi": [0.2, 0.35, 0.1, 0.5], "vi": [0.02, 0.03, 0.05, 0.01], "modality": "A"})
    b = pd.DataFrame({"yi": [2.6423, -0.601, 0.2014, -0.0194, -0.079],
                      "vi": [0.523539, 4.427489, 7.585266, 19.867608, 13.455466], "modality": "B"})
    frame = pd.concat([a, b], ignore_index=True)
    return frame.assign(study_id=[f"S{i}" for i in range(len(frame))], n=50)


def test_fit_flags_non_convergence_and_strict_raises():
    data = model_data()
    fit = metareg.fit_formula(data, "modality")
    assert not fit.converged and "did not converge" in fit.note
    for name in ("tau2", "qm", "qm_p", "f", "f_p", "i2", "h2", "r2", "knha_scale"):
        assert math.isnan(getattr(fit, name)), name
    assert np.isnan(fit.estimate).all() and np.isnan(fit.covariance).all()
    assert fit.qe == pytest.approx(11.4424879939506, rel=RTOL)  # fixed-effects weights: still defined
    with pytest.raises(RuntimeError, match="did not converge"):
        metareg.fit_formula(data, "modality", strict=True)
    with pytest.raises(ValueError, match="did not converge"):
        permutation.permutation_test(fit, data.yi, data.vi, fit.design.matrix, 100)


def test_egger_keeps_reporting_a_failed_fit_as_not_computed(monkeypatch):
    data = subgroup_data()
    monkeypatch.setattr(metareg.tau2_mods, "estimate_tau2", lambda *args: (np.array([np.nan]), np.array([101])))
    with pytest.raises(RuntimeError, match="did not converge"):
        bias.sei_regression(data.yi, data.vi)
    table, _ = bias.bias_tests(data.yi, data.vi)
    note = table.set_index("test").loc["egger", "note"]
    assert note.startswith("not estimable: tau^2 estimator REML did not converge")


def test_subgroup_level_that_does_not_converge_is_flagged_and_the_others_are_unaffected():
    analysis = moderators.analyse_moderator(subgroup_data(), "modality", "z", permutations=0)
    table = analysis.subgroups.set_index("level")
    assert list(analysis.subgroups.columns[-2:]) == ["converged", "note"]
    assert table.loc["A", "converged"] and table.loc["A", "note"] == ""
    assert table.loc["A", ["estimate", "se", "ci_lower", "ci_upper", "tau2", "i2"]].tolist() == pytest.approx(
        [0.331562319827427, 0.0950427709369769, 0.145281911800062, 0.517842727854791, 0.0136261390931182,
         37.9101873062769], rel=RTOL)
    assert not table.loc["B", "converged"] and "did not converge" in table.loc["B", "note"]
    assert table.loc["B", "k"] == 5
    assert table.loc["B", ["estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "r"]].isna().all()
    row = analysis.summary()
    assert math.isnan(row["q_between_separate"]) and "level(s) B did not converge" in row["note"]
    messages = moderators.convergence_messages(analysis.subgroups, pd.DataFrame(columns=["model", "term"]))
    assert len(messages) == 1 and messages[0].startswith("subgroup modality = B (k = 5): REML did not converge")


def test_control_forces_non_convergence_in_one_level_only():
    rows = [("hetero", y, 0.01 * (i + 1)) for i, y in enumerate([0.05, 0.6, 0.1, 0.8, 0.3, -0.2])]
    rows += [("homo", y, 0.02) for y in [0.30, 0.31, 0.29, 0.30, 0.32]]
    data = pd.DataFrame(rows, columns=["modality", "yi", "vi"])
    forced = moderators.subgroup_fits(data, "modality", "z", control=Control(max_iterations=1)).set_index("level")
    default = moderators.subgroup_fits(data, "modality", "z").set_index("level")
    assert default.converged.all()
    assert not forced.loc["hetero", "converged"] and "after 1 iterations" in forced.loc["hetero", "note"]
    pd.testing.assert_series_equal(forced.loc["homo"], default.loc["homo"])


def test_model_that_does_not_converge_is_flagged_and_the_others_are_unaffected():
    data = model_data()
    failed = moderators.analyse_moderator(data, "modality", "z", permutations=100)
    row = failed.summary()
    assert list(row)[13:18] == ["qe_df", "i2", "tau2_null", "converged", "note"]
    assert row["converged"] is False and "did not converge" in row["note"] and "no permutation test" in row["note"]
    assert all(math.isnan(row[name]) for name in ("qm", "qm_p", "f", "f_p", "tau2", "r2", "i2",
                                                 "qm_p_permutation"))
    assert failed.permutation is None and row["permutations"] == 0
    assert failed.subgroups.converged.all()  # the levels themselves converge

    fine = moderators.analyse_moderator(data, "rater", "z", permutations=100)
    row = fine.summary()
    assert row["converged"] is True
    assert [row["tau2"], row["qm"], row["qm_p"], row["qe"]] == pytest.approx(
        [0.39528839417209, 0.624990230882812, 0.429198907149391, 11.9773319980807], rel=RTOL)
    assert row["r2"] == 0
    # metafor's permutest: the 4 refits that fail are left out of the exact test
    assert fine.permutation.exact and fine.permutation.iterations == 20 and fine.permutation.failed == 4
    assert row["qm_p_permutation"] == 0.75 and row["f_p_permutation"] == 0.75
    assert "4 permutation fit(s) did not converge (left out" in row["note"]

    table = moderators.meta_regression_table(data, ["modality", "rater"], permutations=0)
    assert list(table.columns[-2:]) == ["converged", "note"]
    by_model = table.groupby("model")
    assert by_model.converged.all().to_dict() == {"modality": False, "rater": True}
    assert table.query("model == 'modality'")[["estimate", "se", "model_qm", "model_tau2"]].isna().all().all()
    rater = table.query("model == 'rater'")
    assert rater.estimate.tolist() == pytest.approx([-0.046620507632499, -0.516131104341973], rel=RTOL)
    messages = moderators.convergence_messages(pd.concat([failed.subgroups, fine.subgroups]), table)
    assert messages == [m for m in messages if m.startswith("meta-regression modality (k = 6)")] and len(messages) == 1


def test_random_permutations_redraw_failed_fits_as_metafor():
    data = model_data()
    fit = metareg.fit_formula(data, "rater")
    test = permutation.permutation_test(fit, data.yi, data.vi, fit.design.matrix, iterations=12, seed=2)
    again = permutation.permutation_test(fit, data.yi, data.vi, fit.design.matrix, iterations=12, seed=2)
    assert not test.exact and test.failed > 0 and test.iterations == 12
    assert test.qm_p == again.qm_p and test.failed == again.failed
    assert (test.qm_p * 12) == pytest.approx(round(test.qm_p * 12))  # every one of the 12 draws is a valid fit
    assert fit.converged and fit.note == ""
