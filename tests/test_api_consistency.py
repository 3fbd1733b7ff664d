"""The notebook API gives what the pipeline gives and says plainly what it does not take (found by an audit
of docs/python-api.md): defaults as the config's, one-line errors, full table headers at k = 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import alliance_meta as am
from alliance_meta.analyses.bias.selection_models import DEFAULT_STEPS
from alliance_meta.engines.design import build_design


def simulated(k: int = 24, seed: int = 3) -> pd.DataFrame:
    """Simulated effect sizes (Fisher z) with a categorical moderator and a year."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(k)], "vi": rng.uniform(0.005, 0.05, k),
                          "rater": rng.choice(["patient", "therapist"], k), "year": rng.integers(1990, 2020, k)})
    frame["yi"] = 0.25 + 0.004 * (frame["year"] - 2005) + rng.normal(0, np.sqrt(frame["vi"] + 0.01))
    return frame


def test_api_defaults_are_the_configs():
    """am.selection_models' step function has bias.selection.steps' default; moderators are centred as the
    config's centre_continuous (the intercept is the effect at the mean year, the slope unchanged)."""
    import inspect

    assert inspect.signature(am.selection_models).parameters["steps"].default == DEFAULT_STEPS
    fit = am.fit(simulated(), metric="z")
    centred = am.meta_regression(fit, "~ year", permutations=0).to_frame().set_index("term")
    raw = am.meta_regression(fit, "~ year", permutations=0, centre=False).to_frame().set_index("term")
    assert centred.loc["year", "estimate"] == pytest.approx(raw.loc["year", "estimate"], rel=1e-9)
    mean_year = fit.effect_sizes["year"].mean()
    assert centred.loc["intercept", "estimate"] == pytest.approx(
        raw.loc["intercept", "estimate"] + mean_year * raw.loc["year", "estimate"], rel=1e-9)


@pytest.mark.parametrize("formula", ["~ I(year**2)", "~ I(year - 1990)", "~ log(year)", "~ rater * I(year - 1990)",
                                     "~ year + I(year**2)", "~ np.sqrt(year)"])
def test_a_variable_inside_an_expression_is_not_centred_first(formula):
    """Centring year before I(year**2) fitted (year - mean)^2, another model (a helper's notebook walkthrough:
    QM 0.13 instead of 21.5 on metafor's dat.bcg); log(year - mean) failed on negative values. The default
    (centre=True) now gives the uncentred model for a variable inside an expression."""
    fit = am.fit(simulated(), metric="z")
    centred = am.meta_regression(fit, formula, permutations=0)
    raw = am.meta_regression(fit, formula, permutations=0, centre=False)
    pd.testing.assert_frame_equal(centred.to_frame(), raw.to_frame())


def test_a_polynomial_of_raw_years_keeps_every_term():
    """year + I(year**3) of raw years (about 8e9 beside the intercept's 1) lost its cubic as 'redundant': the rank
    check now judges columns of unit length, as metafor keeps the term."""
    fit = am.fit(simulated(k=30), metric="z")
    table = am.meta_regression(fit, "~ year + I(year**3)", permutations=0).to_frame()
    assert list(table["term"]) == ["intercept", "year", "I(year ** 3)"] and not table["note"].astype(str).str.contains(
        "redundant").any()


def test_a_bare_variable_beside_another_in_an_expression_is_still_centred():
    design = build_design(simulated(), "~ year + I(vi * 100) + rater:I(year - 1990)", continuous=("year", "vi"),
                          centre=True)
    assert design.centres == {}  # year also inside an expression
    design = build_design(simulated(), "~ year + rater:year + I(vi * 100) + Q('year')", continuous=("year", "vi"),
                          centre=True)
    assert list(design.centres) == ["year"]


def test_meta_regression_takes_continuous_true_or_false_as_am_moderators_does():
    fit = am.fit(simulated(), metric="z")
    levels = am.meta_regression(fit, "~ year", permutations=0, continuous=False).to_frame()
    slope = am.meta_regression(fit, "~ year", permutations=0, continuous=True).to_frame()
    assert len(levels) > 3 and list(slope["term"]) == ["intercept", "year"]
    pd.testing.assert_frame_equal(levels, am.meta_regression(fit, "~ year", permutations=0, continuous=()).to_frame())


def test_a_category_entered_as_a_slope_is_one_short_line():
    fit = am.fit(simulated(k=300), metric="z")
    with pytest.raises(ValueError) as error:
        am.moderators(fit, "rater", continuous=True, permutations=0)
    message = str(error.value)
    assert "holds no numbers (300 cells: \"patient\", \"therapist\")" in message or \
        "holds no numbers (300 cells: \"therapist\", \"patient\")" in message
    assert len(message) < 300 and "continuous=False" in message


def test_control_is_refused_for_a_three_level_fit():
    rows = simulated().assign(study_id=[f"S{i // 2}" for i in range(24)])
    with pytest.raises(ValueError, match="does not read it, so it would be ignored"):
        am.fit(rows, dependence="multilevel", control={"max_iterations": 1})
    with pytest.warns(UserWarning, match="did not converge in 1 iterations"):  # the univariate fit reads it
        assert not am.fit(rows, control={"max_iterations": 1}, method="REML").converged
    # a value no iteration can use is an error, not an all-NaN "not converged" fit
    for key, value in (("max_iterations", -1), ("max_iterations", 2.5), ("threshold", 0), ("tau2_max", -1.0)):
        with pytest.raises(ValueError, match=f"control {key} must be a "):
            am.fit(rows, control={key: value}, method="REML")
    assert am.fit(rows, control={"max_iterations": np.int64(100), "threshold": np.float32(1e-5)}).converged


@pytest.mark.parametrize("dependence", ["aggregate", "multilevel"])
def test_one_study_tables_have_the_headers_of_many(dependence):
    many = simulated(k=6).assign(study_id=["A", "A", "B", "B", "C", "C"])
    one = many[many["study_id"] == "A"]
    for name in ("leave_one_out", "influence", "cumulative"):
        columns = list(getattr(am, name)(am.fit(many, dependence=dependence, metric="z")).to_frame().columns)
        single = getattr(am, name)(am.fit(one, dependence=dependence, metric="z")).to_frame()
        assert list(single.columns) == columns, name


def test_dir_lists_the_public_api_not_the_packages_own_imports():
    names = [name for name in dir(am) if not name.startswith("__")]
    assert names == sorted(am.__all__)
    assert {"gosh", "rve", "location_scale", "model_comparison", "multiverse", "psychometric", "bma"} <= set(names)


def test_a_reference_level_of_a_variable_the_formula_does_not_use_is_an_error():
    """reference_levels={"ratr": "therapist"} was ignored and the default reference used without a word."""
    fit = am.fit(simulated(), metric="z")
    with pytest.raises(ValueError, match=r"reference_levels names 'ratr', not a variable the analysis uses \(its "
                                         r"variables: rater, year\); did you mean 'rater'\?"):
        am.meta_regression(fit, "~ rater + year", reference_levels={"ratr": "therapist"}, permutations=0)
    chosen = am.meta_regression(fit, "~ rater", reference_levels={"rater": "therapist"}, permutations=0).to_frame()
    assert "rater[patient]" in set(chosen["term"])


def test_a_fit_without_moderator_columns_says_so():
    fit = am.fit(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.01, 0.02, 0.01, 0.03]))
    with pytest.raises(ValueError, match=r"'year' is not a column of the fit's rows; the fit has no moderator columns"):
        am.meta_regression(fit, "~ year")
