"""Aggregation of dependent effect sizes against metafor's aggregate.escalc and by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import load_reference

from alliance_meta.inputs.dependence import MIXED, aggregate, composite_effects

REFERENCE = load_reference("effect_sizes")["aggregations"]


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_aggregate_matches_metafor(name):
    case = REFERENCE[name]
    rows = pd.DataFrame(case["rows"])
    result = aggregate(rows, method=case["method"], rho=case["rho"])
    # metafor sorts clusters; ours keep the order of first appearance
    expected = pd.DataFrame({"study_id": case["study_id"], "yi": case["yi"], "vi": case["vi"]})
    merged = result.merge(expected, on="study_id", suffixes=("", "_metafor"), validate="one_to_one")
    assert len(merged) == len(expected) == rows["study_id"].nunique()
    np.testing.assert_allclose(merged["yi"], merged["yi_metafor"], rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(merged["vi"], merged["vi_metafor"], rtol=1e-8, atol=1e-14)
    assert list(result["study_id"]) == list(dict.fromkeys(rows["study_id"]))
    counts = rows["study_id"].value_counts()
    assert (result["k_effect_sizes"].to_numpy() == counts[result["study_id"]].to_numpy()).all()


def test_gls_two_rows_by_hand():
    # V = [[0.04, 0.5*0.2*0.1], [0.01, 0.01]] -> V^-1 by the 2x2 formula
    rows = pd.DataFrame({"study_id": ["a", "a"], "yi": [0.3, 0.1], "vi": [0.04, 0.01]})
    v11, v22, v12 = 0.04, 0.01, 0.5 * 0.2 * 0.1
    det = v11 * v22 - v12**2
    inverse = np.array([[v22, -v12], [-v12, v11]]) / det
    weights = inverse.sum(axis=1)
    result = aggregate(rows, "gls", 0.5)
    assert result["yi"][0] == pytest.approx(weights @ [0.3, 0.1] / weights.sum(), rel=1e-12)
    assert result["vi"][0] == pytest.approx(1 / weights.sum(), rel=1e-12)


def test_mean_composite_by_hand():
    # Borenstein et al. (2009), ch. 24: three outcomes, rho = 0.5
    rows = pd.DataFrame({"study_id": ["s"] * 3, "yi": [0.2, 0.4, 0.9], "vi": [0.01, 0.04, 0.09]})
    result = aggregate(rows, "mean", 0.5)
    off_diagonal = 2 * 0.5 * (0.1 * 0.2 + 0.1 * 0.3 + 0.2 * 0.3)
    assert result["yi"][0] == pytest.approx(0.5, rel=1e-12)
    assert result["vi"][0] == pytest.approx((0.14 + off_diagonal) / 9, rel=1e-12)


def test_single_rows_pass_through_and_columns():
    rows = pd.DataFrame({
        "es_id": ["a-1", "a-2", "b-1", "c-1", "c-2"],
        "study_id": ["a", "a", "b", "c", "c"],
        "yi": [0.3, 0.1, 0.25, 0.2, 0.4], "vi": [0.02, 0.03, 0.05, 0.01, 0.01],
        "n": [50, 60, 20, 100, 100],
        "authors": ["Ames", "Ames", "Bo", "Cy", "Cy"], "year": [2001, 2001, 2003, 2009, 2009],
        "label": ["Ames (2001)"] * 2 + ["Bo (2003)"] + ["Cy (2009)"] * 2,
        "rater": ["patient", "therapist", "patient", "observer", None],
        "modality": ["CBT", "CBT", None, None, None],
    })
    result = aggregate(rows, "gls", 0.5)
    assert list(result.columns[:8]) == ["study_id", "yi", "vi", "n", "k_effect_sizes", "authors", "year", "label"]
    assert "es_id" not in result.columns
    assert list(result["n"]) == [60, 20, 100]
    assert list(result["k_effect_sizes"]) == [2, 1, 2]
    assert result["yi"][1] == 0.25 and result["vi"][1] == 0.05
    assert list(result["rater"]) == [MIXED, "patient", "observer"]
    assert result["modality"][0] == "CBT" and pd.isna(result["modality"][1])


def test_aggregate_by_study_and_moderator_and_missing_rows():
    rows = pd.DataFrame({"study_id": ["a", "a", "a", "b"], "rater": ["patient", "patient", "therapist", "patient"],
                         "yi": [0.2, 0.4, 0.1, np.nan], "vi": [0.02, 0.02, 0.03, 0.02]})
    result = aggregate(rows, "mean", 0.0, by=("study_id", "rater"))
    assert list(zip(result["study_id"], result["rater"])) == [("a", "patient"), ("a", "therapist")]
    assert result["yi"][0] == pytest.approx(0.3) and result["vi"][0] == pytest.approx(0.01)


def test_impossible_rho_is_rejected():
    rows = pd.DataFrame({"study_id": ["a"] * 3, "yi": [0.1, 0.2, 0.3], "vi": [0.01] * 3})
    with pytest.raises(ValueError, match="rho"):
        aggregate(rows, "gls", -0.6)
    with pytest.raises(ValueError, match="rho"):
        aggregate(rows, "gls", 1.0)
    with pytest.raises(ValueError, match="method"):
        aggregate(rows, "median")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-1, 1), st.floats(0.001, 1.0)), min_size=1, max_size=6),
       st.floats(-0.15, 0.95))
def test_gls_closed_form_equals_dense_generalised_least_squares(effects, rho):
    yi = np.array([e[0] for e in effects])
    vi = np.array([e[1] for e in effects])
    sd = np.sqrt(vi)
    covariance = rho * np.outer(sd, sd)
    np.fill_diagonal(covariance, vi)
    weights = np.linalg.solve(covariance, np.ones(len(yi)))
    result = aggregate(pd.DataFrame({"study_id": "s", "yi": yi, "vi": vi}), "gls", rho)
    assert result["vi"][0] == pytest.approx(1 / weights.sum(), rel=1e-7)
    assert result["yi"][0] == pytest.approx(weights @ yi / weights.sum(), rel=1e-7, abs=1e-9)
    assert math.isfinite(result["yi"][0])


def test_study_label_when_row_labels_differ():
    rows = pd.DataFrame({"study_id": ["a", "a", "b"], "authors": ["Ames", "Ames", None], "year": [2001, 2001, 2004],
                         "label": ["WAI, patient", "WAI, therapist", "CALPAS"],
                         "rater": ["patient", "therapist", "patient"],
                         "yi": [0.2, 0.3, 0.1], "vi": [0.01, 0.02, 0.03]})
    assert list(aggregate(rows)["label"]) == ["Ames (2001)", "CALPAS"]
    by_rater = aggregate(rows, by=("study_id", "rater"))
    assert list(by_rater["label"]) == ["WAI, patient", "WAI, therapist", "CALPAS"]
    rows["label"] = ["x", "y", "z"]
    assert list(aggregate(rows.drop(columns="authors"))["label"]) == ["a", "z"]


def test_a_composite_keeps_the_citation_year_of_the_sheet():
    """The composite of a study (or of a study x moderator level) keeps the year as the whole sheet cites it
    (its first non-missing), and a label it makes cites that year: it worked the letters out over the composites
    (Ames (2001) for a study the sheet calls 2001b, its namesake being in another family)."""
    rows = pd.DataFrame({"study_id": ["b", "b", "c"], "authors": ["Ames", "Ames", "Cy"], "year": [2001, 2001, 2009],
                         "citation_year": [None, "2001b", 2009], "rater": ["patient", "patient", "observer"],
                         "yi": [0.2, 0.3, 0.1], "vi": [0.01, 0.02, 0.03]})  # SIMULATED
    assert aggregate(rows)["citation_year"].tolist() == ["2001b", 2009]
    labels = aggregate(rows, by=("study_id", "rater"))["label"].tolist()
    assert labels == ["Ames (2001b), patient", "Cy (2009), observer"]


def test_prepare_family_splits_drops_unusable_rows_and_handles_empty_families():
    from alliance_meta.inputs.dependence import prepare_family
    effect_sizes = pd.DataFrame({"es_id": ["a-1", "a-2", "b-1", "c-1"], "sheet_row": [2, 3, 4, 5],
                                 "study_id": ["a", "a", "b", "c"], "family": ["outcome", "outcome", "outcome", "dropout"],
                                 "yi": [0.2, 0.3, np.nan, 0.5], "vi": [0.01, 0.02, np.nan, 0.04], "n": [50, 50, 30, 40]})
    rows, analysis, notes = prepare_family(effect_sizes, "outcome", "aggregate", "mean", 0.5)
    assert list(rows["es_id"]) == ["a-1", "a-2"] and list(analysis["study_id"]) == ["a"]
    assert "1 row of family outcome without a usable effect size left out (sheet row 4)" in notes  # not "rows 4"
    assert "family outcome: 2 effect sizes aggregated into 1 study composite (mean, rho = 0.5)" in notes  # no "(s)"
    rows, analysis, _ = prepare_family(effect_sizes, "outcome", "multilevel")
    assert list(analysis["es_id"]) == ["a-1", "a-2"] and analysis["yi"].tolist() == [0.2, 0.3]
    rows, analysis, notes = prepare_family(effect_sizes.iloc[:3], "dropout")
    assert rows.empty and analysis.empty and {"study_id", "yi", "vi", "k_effect_sizes"} <= set(analysis.columns)
    assert any("no effect sizes" in note for note in notes)


@pytest.mark.parametrize("name", sorted(REFERENCE))
@pytest.mark.parametrize("method", ["gls", "mean"])
def test_composite_effects_are_aggregate_bit_for_bit(name, method):
    """The multiverse's lean composites: metafor's clusters, and exactly aggregate()'s numbers and order."""
    case = REFERENCE[name]
    rows = pd.DataFrame(case["rows"])
    expected = aggregate(rows, method=method, rho=case["rho"])
    yi, vi, counts = composite_effects(rows["study_id"], rows["yi"], rows["vi"], method, case["rho"])
    np.testing.assert_array_equal(yi, expected["yi"].to_numpy())
    np.testing.assert_array_equal(vi, expected["vi"].to_numpy())
    np.testing.assert_array_equal(counts, expected["k_effect_sizes"].to_numpy())
    if method == case["method"]:  # and metafor's composites, in the order of first appearance
        order = {study: i for i, study in enumerate(case["study_id"])}
        first_seen = list(dict.fromkeys(rows["study_id"]))
        np.testing.assert_allclose(yi, [case["yi"][order[s]] for s in first_seen], rtol=1e-8, atol=1e-14)


def test_composite_columns_are_the_grouped_pandas_definition():
    """Each other column of a composite, taken in one pass over the rows, is what pandas' grouped ``nunique`` and
    ``first`` make of it: the first non-missing value where the group's values agree (equal as pandas counts
    them: 0.0 and -0.0, 1 and 1.0), ``mixed`` where they differ, NaN where all are missing; values as objects."""
    rows = pd.DataFrame({
        "study_id": ["a", "a", "a", "b", "b", "c", "c", "d", "d", "d"],
        "level": ["x", "x", None, "y", "y", None, None, "x", "x", "z"],
        "yi": np.linspace(0.1, 0.5, 10), "vi": np.full(10, 0.02),
        "number": [np.nan, 0.0, -0.0, 1.5, 1.5, np.nan, np.nan, 2.0, 3.0, 4.0],
        "count": pd.array([1, pd.NA, 2, 3, 3, pd.NA, pd.NA, 4, 4, 5], dtype="Int64"),
        "text": pd.array(["p", np.nan, "p", "q", "r", np.nan, "s", "t", "t", np.nan], dtype="str"),
        "objects": pd.Series([1, 1.0, None, "1", "1", None, None, True, 1, "u"], dtype=object),
        "flag": [True, True, False, False, False, True, True, False, True, True],
        "kind": pd.Categorical(["m", "m", "n", None, None, "m", "n", "n", "n", None]),
        "empty": pd.array([np.nan] * 10, dtype="str"),
    })
    by = ["study_id", "level"]
    result = aggregate(rows, "gls", 0.5, by=by)
    groups = rows.groupby(by, sort=False, dropna=False)
    for column in ("number", "count", "text", "objects", "flag", "kind", "empty"):
        distinct = groups[column].nunique(dropna=True).to_numpy()
        expected = groups[column].first().reset_index(drop=True).astype(object).where(distinct <= 1, MIXED)
        expected = expected.where(distinct > 0, np.nan)
        assert result[column].dtype == object, column
        assert [type(value) for value in result[column]] == [type(value) for value in expected], column
        pd.testing.assert_series_equal(result[column], expected, check_names=False)
