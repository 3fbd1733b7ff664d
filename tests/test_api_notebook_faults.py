"""Faults of the notebook API as reviewers meet them: misspelt keywords, 2x2 counts that are no whole numbers,
numpy's RuntimeWarnings of the bias battery beside near-tied or dominant sampling variances, and figures left open
in pyplot. The data are SIMULATED (tests/reference/bias_dominant.json's cases; small frames made here)."""

from __future__ import annotations

import inspect
import typing
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import load_reference

import alliance_meta as am
from alliance_meta.analyses.bias.fail_safe import fail_safe_n
from alliance_meta.models import counts

YI = np.array([0.12, 0.31, 0.25, 0.48, 0.40, 0.22, 0.35])
VI = np.array([0.010, 0.020, 0.015, 0.030, 0.020, 0.012, 0.040])


@pytest.fixture(scope="module")
def fit():
    return am.fit(YI, VI, metric="z")


# ---------------------------------------------------------------------------------------------------------------
# 1. misspelt keywords
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "message"), [
    (lambda f: am.fit(YI, VI, metod="DL"), "fit() got an unexpected keyword argument 'metod' (did you mean 'method'?)"),
    (lambda f: am.fit(YI, VI, depndence="multilevel"), "'depndence' (did you mean 'dependence'?)"),
    (lambda f: am.publication_bias(f, trimfill_estimater="R0"), "(did you mean 'trimfill_estimator'?)"),
    (lambda f: am.gosh(f, subset=10), "'subset' (did you mean 'subsets'?)"),
    (lambda f: am.bayes(f, setings={}), "'setings' (did you mean 'settings'?)"),
    (lambda f: f.conf_int(levle=90), "Fit.conf_int() got an unexpected keyword argument 'levle' (did you mean 'level'?)"),
    (lambda f: f.predict(transfrom="r"), "'transfrom' (did you mean 'transform'?)"),
    (lambda f: f.refit(metod="DL"), "Fit.refit() got an unexpected keyword argument 'metod' (did you mean 'method'?)"),
    (lambda f: am.read_sheet("studies.csv", moderator=["rater"]), "'moderator' (did you mean 'moderators'?)"),
    (lambda f: am.read_sheet("studies.csv", decimall=","), "'decimall' (did you mean 'decimal'?)"),
])
def test_a_misspelt_keyword_is_named_with_the_keyword_meant(fit, call, message):
    """Python 3.11 said "fit() got an unexpected keyword argument 'metod'" and no more; fit.refit and am.read_sheet
    named an inner function (_fit(), read_sheet() of the reader)."""
    with pytest.raises(TypeError) as error:
        call(fit)
    assert message in str(error.value)


def test_a_keyword_far_from_any_lists_the_keywords_taken(fit):
    with pytest.raises(TypeError) as error:
        am.publication_bias(fit, tets=["egger"])
    text = str(error.value)
    assert "unexpected keyword argument 'tets'; it takes fit, trimfill_estimator" in text and "did you mean" not in text


PUBLIC = sorted(name for name in am.__all__ if callable(getattr(am, name)) and not isinstance(getattr(am, name), type))


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_function_refuses_an_unknown_keyword_with_its_name(fit, name):
    """Before, a bare TypeError of Python (no keyword meant, no list), or the reader's for am.read_sheet."""
    function = getattr(am, name)
    first = "studies.csv" if name == "read_sheet" else (pd.DataFrame({"yi": YI, "vi": VI}) if name in
                                                        ("effect_sizes", "pooled_table") else fit)
    with pytest.raises(TypeError, match=rf"^am\.{name}\(\) got an unexpected keyword argument 'no_such_keyword'; "
                                        "it takes "):  # the name typed, not the inner one (am.gosh: gosh_analysis)
        function(first, no_such_keyword=1)


#: Each result object of the notebook API with a fit-taking call that makes it (rows: the one-or-two-study test's).
RESULTS = {
    "fit": lambda f: f,
    "publication_bias": lambda f: am.publication_bias(f),
    "selection_models": lambda f: am.selection_models(f),
    "gosh": lambda f: am.gosh(f, subsets=20),
    "multiverse": lambda f: am.multiverse(f),
    "bma": lambda f: am.bma(f, prior_scale="analysis"),
    "risk_of_bias_sensitivity": lambda f: am.risk_of_bias_sensitivity(f, "quips"),
    "psychometric": lambda f: am.psychometric(f),
}


@pytest.fixture(scope="module")
def results():
    rows = pd.DataFrame({"study_id": [f"S{i}" for i in range(5)], "yi": YI[:5], "vi": VI[:5], "n": [80, 120, 60, 90, 70],
                         "rob_overall": ["low", "high", "low", "moderate", "low"], "simulated": "yes"})
    fit = am.fit(rows, metric="z")
    return {name: make(fit) for name, make in RESULTS.items()}


def _figure_methods(result) -> list[str]:
    """The public figure methods of a result object: every method whose name says plot, and the funnel."""
    return sorted(name for name in dir(type(result)) if not name.startswith("_") and ("plot" in name or name == "funnel")
                  and callable(getattr(type(result), name)))


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_every_figure_method_of_a_result_refuses_an_unknown_keyword_with_its_name(results, name):
    """Before, GoshAnalysis.plot, MultiverseAnalysis.plot, BmaResult.plot, RiskOfBiasSensitivity.plot and the
    psychometric plot_forest gave Python's bare "got an unexpected keyword argument 'not_e'"."""
    result = results[name]
    methods = _figure_methods(result)
    assert methods, type(result)
    for method in methods:
        with pytest.raises(TypeError) as error:
            getattr(result, method)(not_e="")
        owner, rest = str(error.value).split(".", 1)  # the class that defines it (Fit for a UnivariateFit)
        assert owner in [cls.__name__ for cls in type(result).__mro__], method
        assert rest.startswith(f"{method}() got an unexpected keyword argument 'not_e' (did you mean 'note'?); "
                               "it takes "), method


def test_the_checked_functions_keep_their_signatures_and_old_settings_names(fit):
    assert list(inspect.signature(am.fit).parameters)[:3] == ["data", "vi", "method"]
    assert "settings" in inspect.signature(am.summary_of_findings).parameters
    with pytest.raises(ValueError, match="family"):  # options= is still settings= (then: which family)
        am.summary_of_findings(fit, options={})


# ---------------------------------------------------------------------------------------------------------------
# 2. 2x2 counts from a notebook
# ---------------------------------------------------------------------------------------------------------------

def test_fractional_and_negative_counts_are_named_by_row_study_column_and_value():
    """The note said "2x2 counts must be non-negative whole numbers", naming no row."""
    frame = pd.DataFrame({"study_id": ["A", "B", "C", "D"], "n11": [10, 12.5, 8, 9], "n12": [5, 6, -1, 7],
                          "n21": [8, 9, 7, 6], "n22": [9, 10, 11, 12], "reverse": ["no", "no", "yes", "no"]},
                         index=[10, 11, 12, 13])
    rows = counts.count_rows(frame)
    assert rows["estimate"].isna().all()
    for note in rows["note"]:
        assert note.endswith("2x2 counts must be non-negative whole numbers: row 11 (study B), n11 = 12.5: not a "
                             "whole number; row 12 (study C), n12 = -1: negative")
    table, notes = am.pooled_table(frame.assign(yi=0.1, vi=0.1), "REML", "z", metric="log_or")
    assert "row 11 (study B), n11 = 12.5" in notes[-1]


def test_infinite_counts_are_named_not_a_crash():
    """round(inf) raised OverflowError in the check of whole numbers (count_rows, am.pooled_table); before that check,
    the tables were NaN with an unnamed note. A NaN cell is a missing count: that table is not pooled, not named."""
    frame = pd.DataFrame({"study_id": list("ABCD"), "n11": [10, np.inf, 8, np.nan], "n12": [5, 6, -np.inf, 4],
                          "n21": [8, 9, 7, 6], "n22": [9, 10, 11.5, 12]})
    rows = counts.count_rows(frame)
    assert rows["estimate"].isna().all()
    for note in rows["note"]:
        assert note.endswith("2x2 counts must be non-negative whole numbers: row 1 (study B), n11 = inf: not a finite "
                             "number; row 2 (study C), n12 = -inf: not a finite number; row 2 (study C), n22 = 11.5: "
                             "not a whole number")
    table, notes = am.pooled_table(frame.assign(yi=0.1, vi=0.1), "REML", "z", metric="log_or")
    assert "row 1 (study B), n11 = inf: not a finite number" in notes[-1]


def test_table_rows_returns_what_its_annotation_says():
    frame = pd.DataFrame({"study_id": ["A"], "n11": [10], "n12": [5], "n21": [8], "n22": [9]})
    returned = typing.get_type_hints(counts.table_rows)["return"]
    assert len(typing.get_args(returned)) == len(counts.table_rows(frame)) == 3


def test_whole_counts_and_set_aside_tables_are_not_named():
    """A later table of a study (set aside: one table per study) is not pooled, so not checked either."""
    frame = pd.DataFrame({"study_id": ["A", "A", "B"], "n11": [10, 10.5, 8], "n12": [5, 6, 4],
                          "n21": [8, 9, 7], "n22": [9, 10, 11]})
    rows = counts.count_rows(frame, methods=("MH",))
    assert np.isfinite(rows.loc[0, "estimate"]) and "whole" not in rows.loc[0, "note"]


# ---------------------------------------------------------------------------------------------------------------
# 3. no numpy RuntimeWarnings beside near-tied or dominant sampling variances
# ---------------------------------------------------------------------------------------------------------------

DOMINANT = load_reference("bias_dominant")["cases"]


def _case(name):
    return np.array(DOMINANT[name]["yi"], float), np.array(DOMINANT[name]["vi"], float)


@pytest.mark.parametrize("method", ["REML", "DL", "EB"])  # the regression's tau^2 at 1/vi, and at neither
@pytest.mark.parametrize("name", sorted(DOMINANT))
def test_the_bias_battery_warns_of_nothing_beside_dominant_variances(name, method):
    """Before: overflow in fail_safe_n (Rosenberg), in the trim-and-fill side's meta-regression (tau2_mods) and in
    the selection models' gradient and Hessian, which the pipeline hid with np.seterr(all="ignore")."""
    yi, vi = _case(name)
    fit = am.fit(yi, vi, method=method)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = am.publication_bias(fit).to_frame().set_index("test")
        am.selection_models(fit).to_frame()
        am.publication_bias(fit, trimfill_side="left").funnel()
    assert np.isfinite(table.loc["fail_safe_n_rosenberg", "statistic"])


@pytest.mark.parametrize("name", ["low_v300", "low_v20", "high_v300", "tied", "near_tied"])
def test_trim_and_fill_asks_for_its_side_where_the_side_regression_cancels(name):
    """Its default side is the sign of Egger's meta-regression slope, rounding noise where that regression is not
    computed: before, a side from a slope of exactly 0 (REML) or an unrelated "tau^2 estimator DL did not
    converge" (DL). Given the side, it is computed."""
    yi, vi = _case(name)
    for method in ("REML", "DL"):
        fit = am.fit(yi, vi, method=method)
        row = am.publication_bias(fit).to_frame().set_index("test").loc["trim_and_fill"]
        assert np.isnan(row["estimate"]) and row["note"].startswith("not estimable: the side of the missing studies")
        assert "set the side (bias.trimfill_side" in row["note"]
        given = am.publication_bias(fit, trimfill_side="left").to_frame().set_index("test").loc["trim_and_fill"]
        assert np.isfinite(given["estimate"])


@pytest.mark.parametrize("name", ["spread", "one_heavy"])
def test_trim_and_fill_side_is_taken_where_the_regression_does_not_cancel(name):
    yi, vi = _case(name)
    row = am.publication_bias(am.fit(yi, vi)).to_frame().set_index("test").loc["trim_and_fill"]
    assert np.isfinite(row["estimate"])


@pytest.mark.parametrize("name", ["low_v300", "tied", "near_tied"])
def test_rosenberg_fail_safe_n_beside_vi_1e_300_warns_of_nothing(name):
    """Its (sum w y)^2 overflows there and is taken otherwise (its number: tests/test_bias_dominant_reference.py)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(fail_safe_n(*_case(name), "Rosenberg").statistic)


# ---------------------------------------------------------------------------------------------------------------
# 4. one- and two-study fits in a notebook
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 5])
def test_selection_model_figures_are_closed_in_pyplot_and_say_simulated(k):
    """estimates_plot() and weight_functions_plot() (a message figure at k = 1 or 2) stayed open in pyplot: a notebook
    showed each twice, and a loop warned of more than 20 open figures; nor did they say the rows were simulated."""
    rows = pd.DataFrame({"study_id": [f"S{i}" for i in range(k)], "yi": YI[:k], "vi": VI[:k], "simulated": "yes"})
    result = am.selection_models(am.fit(rows, metric="z"))
    for draw in (result.estimates_plot, result.weight_functions_plot):
        before = plt.get_fignums()
        figure = draw()
        assert plt.get_fignums() == before
        assert any("Simulated" in text.get_text() for text in figure.texts)
        assert not any("Simulated" in text.get_text() for text in draw(note="").texts)


@pytest.mark.parametrize("dependence", ["aggregate", "multilevel"])
@pytest.mark.parametrize("k", [1, 2])
def test_every_analysis_of_a_one_or_two_study_fit_gives_numbers_or_says_why(k, dependence):
    rows = pd.DataFrame({"study_id": [f"S{i}" for i in range(k)], "yi": YI[:k], "vi": VI[:k],
                         "rater": ["patient", "therapist"][:k], "year": [2001, 2005][:k], "n": [80, 120][:k],
                         "family": "outcome", "rob_overall": ["low", "high"][:k]})
    fit = am.fit(rows, dependence=dependence, metric="z")
    bias = am.publication_bias(fit).to_frame()
    for row in bias.itertuples():
        assert np.isfinite(row.statistic) or row.note.startswith("not estimable: "), row
    selection = am.selection_models(fit).to_frame()
    assert selection["note"].str.startswith("not computed: k = ").all()
    results = [am.sensitivity(fit), am.leave_one_out(fit), am.influence(fit), am.cumulative(fit),
               am.moderators(fit, "rater", permutations=0), am.meta_regression(fit, "~ year", permutations=0),
               am.gosh(fit, subsets=20), am.rve(fit), am.location_scale(fit, "rater"),
               am.model_comparison(fit, ["~ 1", "~ year"]), am.multiverse(fit), am.psychometric(fit),
               am.study_characteristics(fit), am.bma(fit, prior_scale="analysis"),
               am.risk_of_bias_sensitivity(fit, "quips")]
    for result in results:
        assert repr(result).startswith("<"), type(result)
        result.to_frame()


def test_warnings_of_checked_functions_still_point_to_the_callers_line():
    """keywords_checked adds a frame: without a stacklevel one higher, am.fit's and am.effect_sizes' warnings named
    the wrapper in inputs/options.py instead of the notebook's cell."""
    with pytest.warns(UserWarning) as fit_warnings:
        am.fit(pd.Series(["0.1", "0.3", "0.2"]), VI[:3])
    with pytest.warns(UserWarning) as sheet_warnings:
        am.effect_sizes(pd.DataFrame({"study_id": ["a", "b"], "r": [1.5, 0.3], "n": [50, 60]}))
    dates = pd.DataFrame({"study_id": list("abc"), "yi": [.1, .2, .3], "vi": [.01, .02, .03],
                          "year": pd.Series([pd.Timestamp("1905-06-21")] * 3, dtype=object)})
    with pytest.warns(UserWarning, match="year holds dates") as date_warnings:  # before: fits.py (one frame short)
        am.fit(dates)
    with pytest.warns(UserWarning, match="year holds dates") as sheet_date_warnings:
        am.effect_sizes(dates.drop(columns=["yi", "vi"]).assign(r=0.3, n=50))
    records = [*fit_warnings, *sheet_warnings, *date_warnings, *sheet_date_warnings]
    assert {record.filename for record in records} == {__file__}
