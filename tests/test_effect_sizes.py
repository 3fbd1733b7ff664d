"""Conversions of every input kind against metafor (tests/reference/effect_sizes.json and effect_sizes_more.json)
and by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import load_reference

from alliance_meta.inputs import effect_sizes as es
from alliance_meta.inputs.codebook import INPUT_KINDS
from alliance_meta.engines.transforms import fisher_z, inverse_fisher_z

REFERENCE = load_reference("effect_sizes")
CASES = REFERENCE["cases"] | load_reference("effect_sizes_more")["cases"]  # effect_sizes_more.R: the other input kinds


def case_frame(case: dict) -> pd.DataFrame:
    sheet = pd.DataFrame(case["sheet"])
    return sheet.assign(study_id=[f"s{i}" for i in range(len(sheet))], family=case["family"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_conversion_matches_reference(name):
    case = CASES[name]
    converted = es.convert(case_frame(case), {case["family"]: case["metric"]})
    assert (converted["input_kind"] == case["input_kind"]).all()
    assert (converted["metric"] == case["metric"]).all()
    np.testing.assert_allclose(converted["yi"], case["yi"], rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(converted["vi"], case["vi"], rtol=1e-8, atol=1e-13)


def test_partial_correlation_variance_is_one_df_below_metafor_3_8():
    case = CASES["zpcor_partial_r"]
    converted = es.convert(case_frame(case))
    # metafor 3.8 ZPCOR: 1/(n - mi - 1) with mi = q + 1 predictors; ours 1/(n - q - 3)
    np.testing.assert_allclose(1 / converted["vi"], 1 / np.array(case["metafor_vi"]) - 1, rtol=1e-12)


def test_zero_cell_tables_get_half_added_only_there():
    case = CASES["log_or_counts"]
    converted = es.convert(case_frame(case), {"dropout": "log_or"})
    zero = (pd.DataFrame(case["sheet"]) == 0).any(axis=1).to_numpy()
    assert zero.any() and not zero.all()
    assert converted["conversion"][zero].str.contains("1/2 added").all()
    assert not converted["conversion"][~zero].str.contains("1/2 added").any()


def test_hedges_correction_exact_values():
    # J(2) = Gamma(1) / (1 * Gamma(1/2)) = 1/sqrt(pi); J(3) = Gamma(3/2)/(sqrt(3/2) Gamma(1)) = sqrt(pi)/2/sqrt(1.5)
    assert es.hedges_correction(2) == pytest.approx(1 / math.sqrt(math.pi), rel=1e-14)
    assert es.hedges_correction(3) == pytest.approx(math.sqrt(math.pi) / 2 / math.sqrt(1.5), rel=1e-14)
    m = np.array([10.0, 48.0, 300.0])
    np.testing.assert_allclose(es.hedges_correction(m), 1 - 3 / (4 * m - 1), rtol=4e-4)  # Borenstein eq. 4.22


def test_hand_calculations_of_single_rows():
    rows = pd.DataFrame({
        "study_id": ["a", "b", "c", "d"],
        "family": ["outcome"] * 4,
        "rho": [0.6, None, None, None], "n": [30, 62, None, None],
        "p": [None, 0.05, None, None], "direction": [None, "negative", None, None],
        "d": [None, None, 0.5, None], "n1": [None, None, 40, None], "n2": [None, None, 10, None],
        "log_or": [None, None, None, 1.0], "log_or_se": [None, None, None, 0.4],
    })
    out = es.convert(rows)
    r_rho = 2 * math.sin(math.pi * 0.6 / 6)  # 0.618034 (Rupinski & Dunlap)
    assert out["yi"][0] == pytest.approx(0.5 * math.log((1 + r_rho) / (1 - r_rho)), rel=1e-12)
    assert out["vi"][0] == pytest.approx(1 / 27, rel=1e-12)
    # p = .05, df = 60: t = 2.00029782201426 (qt(0.975, 60) in R 4), negative
    r_p = -2.00029782201426 / math.sqrt(2.00029782201426**2 + 60)
    assert out["yi"][1] == pytest.approx(math.atanh(r_p), rel=1e-12)
    # d = 0.5 with groups 40 and 10: a = 50^2/400 = 6.25, r = 0.5/sqrt(6.5)
    assert out["yi"][2] == pytest.approx(math.atanh(0.5 / math.sqrt(6.5)), rel=1e-12)
    assert out["vi"][2] == pytest.approx(1 / 47, rel=1e-12)
    # log OR 1 with SE 0.4, no n: delta method; d = sqrt(3)/pi
    d = math.sqrt(3) / math.pi
    r = d / math.sqrt(d * d + 4)
    var_r = 16 * (0.16 * 3 / math.pi**2) / (d * d + 4) ** 3
    assert out["yi"][3] == pytest.approx(math.atanh(r), rel=1e-12)
    assert out["vi"][3] == pytest.approx(var_r / (1 - r * r) ** 2, rel=1e-12)
    assert math.isnan(out["n"][3])


def test_kendall_tau_and_beta_by_hand_with_beta_flagged():
    rows = pd.DataFrame({
        "study_id": ["a", "b", "c", "d", "e"],
        "kendall_tau": [0.5, None, None, None, None],
        "beta": [None, 0.3, -0.3, 0.62, 0.3], "n": [40, 50, 50, 50, 50],
        "reverse": ["no", "no", "no", "no", "yes"],
    })
    out = es.convert(rows)
    assert list(out["input_kind"]) == ["kendall_tau", "beta", "beta", "beta", "beta"]
    # tau = .5: r = sin(pi/4) = 0.7071067811865476 (Kendall 1970)
    assert out["yi"][0] == pytest.approx(math.atanh(math.sqrt(0.5)), rel=1e-12)
    # Peterson & Brown: beta .3 -> r = .35; beta -.3 -> r = -.3; applied before reverse
    np.testing.assert_allclose(out["yi"][1:], np.arctanh([0.35, -0.3, 0.67, -0.35]), rtol=1e-12)
    np.testing.assert_allclose(out["vi"], 1 / (np.array([40, 50, 50, 50, 50]) - 3), rtol=1e-12)
    assert out["conversion"].str.contains("Peterson & Brown 2005").sum() == 4
    assert list(out["conversion"].str.contains("outside the range")) == [False, False, False, True, False]


def test_convert_layout_and_first_complete_kind():
    sheet = pd.DataFrame({
        "study_id": ["s1", "s1", "s2", "s3"],
        "sheet_row": [2, 3, 4, 5],
        "r": [0.3, None, 0.2, None], "n": [50, None, 40, None],
        "t": [2.18, 2.0, None, None], "df": [48, 30, None, None],
        "f": [None, None, None, 4.0],
        "modality": ["CBT", "CBT", "psychodynamic", "CBT"],
        "authors": ["Ames", "Ames", "Bo", None], "year": [2001, 2001, 2005, 2010],
    })
    out = es.convert(sheet)
    assert list(out.columns[:10]) == list(es.LEADING_COLUMNS)
    assert list(out.columns[10:14]) == ["authors", "year", "citation_year", "label"]
    assert list(out["citation_year"]) == ["2001", "2001", "2005", "2010"]
    assert {"r", "t", "df", "f", "modality"} <= set(out.columns)
    assert list(out["es_id"]) == ["s1-1", "s1-2", "s2-1", "s3-1"]
    assert list(out["input_kind"].fillna("none")) == ["r", "t_df", "r", "none"]  # F lacks df and direction
    assert list(out["label"]) == ["Ames (2001)", "Ames (2001)", "Bo (2005)", "s3"]
    assert list(out["n"][:3]) == [50, 32, 40]
    assert np.isnan(out["yi"][3]) and out["conversion"][3] == "no complete input"
    assert (out["family"] == "outcome").all()


def test_complete_inputs_require_direction_for_unsigned_statistics():
    sheet = pd.DataFrame({"f": [4.0, 4.0, 4.0], "df": [30, 30, 30], "direction": [None, "Positive", "sideways"]})
    complete = es.complete_inputs(sheet)
    assert list(complete.columns) == [kind.name for kind in INPUT_KINDS]
    assert list(complete["f_df"]) == [False, True, False]
    assert not complete.drop(columns="f_df").any().any()


def test_reverse_vocabulary():
    assert list(es.parse_reverse(["yes", "No", True, 0, 1.0, None, "TRUE", "n", "", float("nan")])) == \
        [True, False, True, False, True, False, True, False, False, False]
    np.testing.assert_array_equal(es.parse_direction(["pos", "+", "Negative", "\u2212", "up", None]),
                                  [1, 1, -1, -1, np.nan, np.nan])
    with pytest.raises(ValueError, match="reverse"):
        es.parse_reverse(["maybe"])


def test_unknown_metric_is_rejected():
    with pytest.raises(ValueError, match="metric"):
        es.convert(pd.DataFrame({"study_id": ["a"], "r": [0.2], "n": [30]}), {"outcome": "smd_typo"})


def test_disagreements_respect_rounding_to_two_decimals():
    r, n = 0.30, 50
    t = r * math.sqrt(n - 2) / math.sqrt(1 - r * r)  # 2.1788...
    sheet = pd.DataFrame({
        "sheet_row": [2, 3, 4],
        "r": [0.30, 0.30, 0.30], "n": [50, 50, 50],
        "t": [round(t, 2), 2.50, round(t, 2)], "df": [48, 48, 48],
        "p": [None, None, 0.30], "direction": [None, None, "positive"],
    })
    found = es.input_disagreements(sheet, tolerance=0.0)
    assert [(item.sheet_row, item.kind, item.other_kind) for item in found] == [(3, "r", "t_df"), (4, "r", "p_n")]
    assert found[0].difference == pytest.approx(abs(0.30 - 2.5 / math.sqrt(2.5**2 + 48)), rel=1e-12)
    assert found[0].allowed > 0.005  # r's own rounding plus t's


def test_rounding_slack_of_r_is_half_a_unit():
    sheet = pd.DataFrame({"r": [0.3, -0.6], "n": [50, 80]})
    np.testing.assert_allclose(es.rounding_slack(sheet, "r"), [0.005, 0.005], rtol=1e-9)


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------

correlation = st.floats(-0.95, 0.95)
group = st.integers(5, 400)
statistic = st.floats(0.0, 8.0)
count = st.integers(0, 200)


def valid_inputs():
    """One valid sheet row for every input kind, the direction of unsigned kinds included."""
    return st.fixed_dictionaries({
        "r": correlation, "rho": correlation, "kendall_tau": correlation, "beta": st.floats(-0.9, 0.85),
        "fisher_z": st.floats(-1.8, 1.8),
        "partial_r": correlation, "g": st.floats(-3, 3), "d": st.floats(-3, 3),
        "n": st.integers(30, 2000), "n_covariates": st.integers(0, 10),
        "n1": group, "n2": group,
        "m1": st.floats(-50, 50), "m2": st.floats(-50, 50), "sd1": st.floats(0.5, 30), "sd2": st.floats(0.5, 30),
        "t": st.floats(-8, 8), "df": st.integers(5, 2000), "f": statistic,
        "chi2": st.floats(0.0, 20.0), "p": st.floats(1e-8, 1.0),
        "n11": count, "n12": count, "n21": count, "n22": count,
        "odds_ratio": st.floats(0.1, 10), "ci_half_width": st.floats(0.01, 2.0),
        "log_or": st.floats(-3, 3), "log_or_se": st.floats(0.01, 2.0),
        "direction": st.sampled_from(["positive", "negative"]),
    })


def single_kind_frame(values: dict) -> pd.DataFrame:
    """One row per input kind and per family, each row holding only that kind's columns."""
    values = dict(values)
    half = values.pop("ci_half_width")
    values["or_ci_lower"] = values["odds_ratio"] * math.exp(-half)
    values["or_ci_upper"] = values["odds_ratio"] * math.exp(half)
    values["n"] = max(values["n"], values["n_covariates"] + 10, int(math.ceil(values["chi2"])) + 5)
    values["n11"] += 2  # two cases per group at least (n > 3 for Fisher's z); n12, n21 may be 0
    values["n22"] += 2
    rows = []
    for family in ("outcome", "dropout"):
        for kind in INPUT_KINDS:
            row = {column: values[column] for column in kind.columns}
            row.update(study_id=kind.name, family=family, direction=values["direction"])
            rows.append(row)
    return pd.DataFrame(rows)


@settings(max_examples=25, deadline=None)
@given(valid_inputs(), st.sampled_from(["smd", "log_or"]))
def test_valid_inputs_give_finite_effects_and_positive_variances(values, dropout_metric):
    frame = single_kind_frame(values)
    converted = es.convert(frame, {"dropout": dropout_metric})
    assert list(converted["input_kind"]) == [kind.name for kind in INPUT_KINDS] * 2
    assert np.isfinite(converted["yi"]).all(), converted.loc[~np.isfinite(converted["yi"]), "input_kind"]
    assert (converted["vi"] > 0).all() and np.isfinite(converted["vi"]).all()


@settings(max_examples=15, deadline=None)
@given(valid_inputs())
def test_reverse_flips_and_direction_signs(values):
    frame = single_kind_frame(values)
    plain = es.convert(frame)
    reversed_ = es.convert(frame.assign(reverse="yes"))
    np.testing.assert_allclose(reversed_["yi"], -plain["yi"], rtol=0, atol=0)
    np.testing.assert_allclose(reversed_["vi"], plain["vi"], rtol=0, atol=0)
    other = {"positive": "negative", "negative": "positive"}[values["direction"]]
    flipped = es.convert(frame.assign(direction=other))
    unsigned = frame["study_id"].isin([kind.name for kind in INPUT_KINDS if kind.needs_direction]).to_numpy()
    np.testing.assert_allclose(flipped["yi"][unsigned], -plain["yi"][unsigned], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(flipped["yi"][~unsigned], plain["yi"][~unsigned], rtol=0, atol=0)


@given(st.floats(-0.999, 0.999))
def test_r_z_r_round_trip(r):
    assert inverse_fisher_z(fisher_z(r)) == pytest.approx(r, abs=1e-12)


@given(st.floats(-0.99, 0.99), st.integers(2, 500), st.integers(2, 500))
def test_r_d_r_round_trip(r, n1, n2):
    from alliance_meta.engines.transforms import d_to_r
    assert d_to_r(es.r_to_d(r, n1, n2), n1, n2) == pytest.approx(r, abs=1e-12)


@given(st.floats(-0.99, 0.99), st.integers(10, 500))
def test_t_of_a_correlation_round_trips(r, n):
    t = r * math.sqrt(n - 2) / math.sqrt(1 - r * r)
    assert es.t_to_r(t, n - 2) == pytest.approx(r, abs=1e-12)
    p = 2 * __import__("scipy.stats").stats.t.sf(abs(t), n - 2)
    if p > 1e-12:
        assert math.copysign(1, r) * es.p_to_t(p, n - 2) == pytest.approx(t, rel=1e-6, abs=1e-9)


def test_sheet_es_id_is_kept_and_blanks_are_filled():
    sheet = pd.DataFrame({"study_id": ["s1", "s1"], "es_id": ["S1-a", None], "r": [0.1, 0.2], "n": [40, 40]})
    assert list(es.convert(sheet)["es_id"]) == ["S1-a", "s1-2"]


def test_psychometric_artifacts_are_carried_into_the_family_effect_sizes(tmp_path):
    """rxx, ryy and ux survive validation, conversion and the family split, row by row."""
    from alliance_meta.inputs.dependence import prepare_family
    from alliance_meta.inputs.sheet import validate_sheet
    from alliance_meta.io import read_table, write_table

    raw = pd.DataFrame({"study_id": ["s1", "s1", "s2", "s3"], "family": ["outcome", "outcome", "dropout", "outcome"],
                        "r": ["0.3", "", "", "0.25"], "n": ["50", "", "", "60"], "t": ["", "2.1", "", ""],
                        "df": ["", "40", "", ""], "d": ["", "", "0.4", ""], "n1": ["", "", "20", ""],
                        "n2": ["", "", "22", ""], "rxx": ["0.91", "", "0.8", "0.85"], "ryy": ["0.8", "0.75", "", ""],
                        "ux": ["", "0.9", "", ""]})
    clean, problems = validate_sheet(raw)
    assert problems == []
    write_table(es.convert(clean), tmp_path / "effect_sizes.csv")
    rows, _, _ = prepare_family(read_table(tmp_path / "effect_sizes.csv"), "outcome")
    assert list(rows["study_id"]) == ["s1", "s1", "s3"]
    np.testing.assert_array_equal(rows["rxx"], [0.91, np.nan, 0.85])
    np.testing.assert_array_equal(rows["ryy"], [0.8, 0.75, np.nan])
    np.testing.assert_array_equal(rows["ux"], [np.nan, 0.9, np.nan])


def test_reverse_and_direction_read_their_spellings_alike():
    """parse_reverse and parse_direction share one vocabulary lookup (_canonical): every spelling of the codebook,
    in any case and with spaces or tabs around it, is read by each as its canonical value; blank cells as none."""
    from alliance_meta.inputs.codebook import VOCABULARIES

    def cells(column):
        vocabulary = VOCABULARIES[column]
        spellings = [*vocabulary.values, *vocabulary.synonyms]
        assert len(spellings) > len(vocabulary.values)  # synonyms too
        variants = [variant for spelling in spellings for variant in
                    (spelling, spelling.upper(), spelling.title(), f"  {spelling}\t", f" {spelling.upper()} ")]
        return variants, [vocabulary.canonical(variant) for variant in variants]

    written, canonical = cells("reverse")
    assert set(canonical) == {"yes", "no"}
    assert es.parse_reverse([*written, " ", None]).tolist() == [value == "yes" for value in canonical] + [False, False]
    written, canonical = cells("direction")
    assert set(canonical) == {"positive", "negative"}
    np.testing.assert_array_equal(es.parse_direction([*written, " ", None]),
                                  [es.DIRECTION_SIGN[value] for value in canonical] + [np.nan, np.nan])
