"""am.gosh and am.rve: the robustness analyses of a fit, against metafor's gosh() and influence()
(tests/reference/gosh.json, influence.json), robumeta's robu() and sensitivity() and clubSandwich's
coef_test() (tests/reference/rve.json). All within 1e-6 relative, as the array-level reference tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alliance_meta as am
from alliance_meta.analyses.gosh import GoshAnalysis

REFERENCE = Path(__file__).parent / "reference"
RELATIVE = 1e-6


def reference(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text())


def molloy() -> tuple[np.ndarray, np.ndarray, dict]:
    """dat.molloy2014 (k = 16 correlations as Fisher z) and metafor's gosh() of it by REML."""
    summary = next(s for s in reference("gosh.json")["summaries"] if s["name"] == "molloy2014")
    fit = next(f for f in summary["fits"] if f["method"] == "REML")
    return np.array(summary["yi"], float), np.array(summary["vi"], float), fit


def test_gosh_of_a_fit_matches_metafor_and_highlights_the_study_moving_it_most():
    yi, vi, theirs = molloy()
    result = am.gosh(am.fit(yi, vi, method="REML", metric="z"))
    assert isinstance(result, GoshAnalysis) and result.result.exact and result.result.n_subsets == 2**16 - 1
    table = result.to_frame()
    np.testing.assert_allclose(table["estimate_with"], theirs["estimate_with"], rtol=RELATIVE)
    np.testing.assert_allclose(table["estimate_without"], theirs["estimate_without"], rtol=RELATIVE)
    # metafor's influence() flags no study of molloy2014 under REML: the study moving the estimates most
    flags = next(f for f in reference("influence.json")["datasets"]["molloy2014"]["fits"]
                 if f["method"] == "REML" and f["test"] == "z")["influence"]["is_influential"]
    assert not any(flags) and result.influential == ()
    shift = np.array(theirs["estimate_with"]) - np.array(theirs["estimate_without"])
    assert result.highlight == (int(np.argmax(np.abs(shift))),)
    assert "no influential study" in result.messages()[-1]
    figure = result.plot()
    titles = [axis.get_title(loc="left") for axis in figure.axes if axis.get_title(loc="left")]
    assert len(titles) == 1 and titles[0].startswith(f"{result.highlight[0] + 1}\n")  # one panel: that study's


def test_gosh_highlights_at_most_three_influential_studies_by_their_shift():
    yi, vi, _ = molloy()
    yi = yi.copy()
    yi[[2, 5]] += (1.5, -1.2)  # two outlying studies that metafor's rules flag
    fit = am.fit(yi, vi, method="REML", metric="z")
    flagged = am.influence(fit).to_frame()
    flagged = set(np.flatnonzero(flagged["influential"].to_numpy(bool)))
    assert {2, 5} <= flagged
    result = am.gosh(fit, subsets=2000, seed=7)
    assert not result.result.exact and result.result.n_subsets == 2000
    shift = np.abs(result.to_frame()["estimate_shift"].to_numpy())
    expected = sorted(flagged, key=lambda i: -shift[i])[:3]
    assert list(result.highlight) == expected
    assert result.influential == tuple(str(i + 1) for i in sorted(flagged))
    assert "highlighted (influential by metafor's rules)" in result.messages()[-1]
    with pytest.raises(TypeError, match=r"labels: 'label', 'authors_year' or 'both', or one name per study, not True"):
        result.plot(labels=True)  # was "'bool' object is not iterable"
    with pytest.raises(ValueError, match=r"labels: one name per study \("):
        result.plot(labels=["a", "b"])


def test_gosh_of_a_three_level_fit_uses_its_study_composites_and_says_so():
    data = reference("rve.json")["datasets"]
    dataset = next(d for d in data if d["name"] == "assink2016")
    frame = pd.DataFrame({"yi": np.array(dataset["yi"], float), "vi": np.array(dataset["vi"], float),
                          "study_id": [str(s) for s in dataset["study"]]})
    three = am.fit(frame, dependence="multilevel", rho=0.6)
    result = am.gosh(three, subsets=500)
    assert len(result.studies) == frame["study_id"].nunique()
    assert result.result.method == "REML" and "study composites" in result.note
    aggregated = am.gosh(am.fit(frame, rho=0.6, method="REML"), subsets=500)
    np.testing.assert_array_equal(result.result.estimate, aggregated.result.estimate)


def test_gosh_of_fewer_than_three_studies_says_so_instead_of_plotting():
    result = am.gosh(am.fit([0.2, 0.4], [0.01, 0.02], metric="z"))
    assert result.result is None and "2 studies: too few for a GOSH plot" in result.note
    assert result.to_frame().empty and list(result.to_frame().columns) == ["study_id"]
    assert result.messages() == [result.note]
    assert result.plot().texts or result.plot().axes[0].texts  # a figure with the note, not an error


def test_gosh_needs_a_fit():
    with pytest.raises(TypeError, match="am.gosh"):
        am.gosh(np.array([0.1, 0.2, 0.3]))


def rve_frame(name: str) -> tuple[pd.DataFrame, dict]:
    dataset = next(d for d in reference("rve.json")["datasets"] if d["name"] == name)
    frame = pd.DataFrame({"yi": np.array(dataset["yi"], float), "vi": np.array(dataset["vi"], float),
                          "study_id": [str(s) for s in dataset["study"]]})
    return frame, dataset


@pytest.mark.parametrize("name", ["corrdat", "hierdat", "assink2016"])
@pytest.mark.parametrize("dependence", ["aggregate", "multilevel"])
def test_rve_of_a_fit_matches_robumeta(name, dependence):
    frame, dataset = rve_frame(name)
    result = am.rve(am.fit(frame, dependence=dependence, rho=0.8, metric="smd"))
    table = result.to_frame().set_index("model")
    corr = next(f for f in dataset["fits"] if f["weights"] == "CORR" and f["rho"] == 0.8 and f["small"]
                and not f["moderators"])
    hier = next(f for f in dataset["fits"] if f["weights"] == "HIER" and f["small"] and not f["moderators"])
    for model, theirs in (("corr", corr), ("hier", hier)):
        for ours, key in (("estimate", "estimate"), ("se", "se"), ("df", "df"), ("pval", "p"), ("tau2", "tau2")):
            np.testing.assert_allclose(table.loc[model, ours], theirs[key][0] if isinstance(theirs[key], list)
                                       else theirs[key], rtol=RELATIVE, err_msg=f"{model} {ours}")
    assert {"r", "or"} <= set(table.columns)  # back-transformed for the metric smd, as rve.csv
    sensitivity = result.sensitivity
    for rho, theirs in zip(sorted(sensitivity["rho"].unique()), dataset["sensitivity"][0]["fits"]):
        rows = sensitivity.loc[np.isclose(sensitivity["rho"], rho)]
        np.testing.assert_allclose(rows["estimate"], theirs["estimate"], rtol=RELATIVE)
        np.testing.assert_allclose(rows["se"], theirs["se"], rtol=RELATIVE)


@pytest.mark.parametrize("method", ["REML", "DL"])
def test_rve_cr2_row_matches_clubsandwich(method):
    data = reference("rve.json")["cr2"]
    theirs = next(f for f in data["fits"] if f["method"] == method and f["formula"] == "~ 1")
    fit = am.fit(np.array(data["yi"], float), np.array(data["vi"], float), method=method)
    np.testing.assert_allclose(fit.tau2, theirs["tau2"], rtol=RELATIVE)
    row = am.rve(fit).to_frame().set_index("model").loc["cr2"]
    for ours, key in (("estimate", "estimate"), ("se", "se"), ("df", "df"), ("pval", "p")):
        np.testing.assert_allclose(row[ours], theirs[key][0] if isinstance(theirs[key], list) else theirs[key],
                                   rtol=RELATIVE, err_msg=ours)
    assert method in row["note"]


def test_rve_of_one_study_gives_the_headers_and_a_note():
    result = am.rve(am.fit(pd.DataFrame({"yi": [0.2, 0.3], "vi": [0.01, 0.02], "study_id": ["A", "A"]}),
                           metric="z"))
    assert result.table.empty and {"model", "estimate", "r", "r_ci_lower"} <= set(result.table.columns)
    assert result.sensitivity.empty and any("1 study: robust variance estimation needs at least 2" in note
                                            for note in result.notes)


# -- am.location_scale and am.model_comparison: the beyond-intercept analyses of a fit -----------------

def reference_frame(source: str, name: str, rows=None) -> pd.DataFrame:
    """A metadat data set of a reference JSON as a fit's rows: one study per row (ids 1, 2, ...)."""
    frame = pd.DataFrame(reference(source)["data"][name])
    if rows is not None:
        frame = frame.iloc[np.asarray(rows) - 1].reset_index(drop=True)
    return frame.assign(study_id=[str(i + 1) for i in range(len(frame))])


LOCATION_SCALE_CASES = [("bcg_alloc", "REML", "alloc"), ("bcg_alloc", "ML", "alloc"),
                        ("molloy_ameasure_by_ameasure_meanage", "REML", {"location": "a_measure",
                                                                         "scale": "a_measure + meanage"})]


@pytest.mark.parametrize(("name", "method", "model"), LOCATION_SCALE_CASES)
def test_location_scale_of_a_fit_matches_metafor(name, method, model):
    case = next(c for c in reference("location_scale.json")["cases"] if c["name"] == name and c["method"] == method)
    frame = reference_frame("location_scale.json", case["data"], case["rows"])
    result = am.location_scale(am.fit(frame, method=method, metric="log_or"), model,  # metafor does not centre
                               reference_levels=case["reference_levels"] or None, centre=False)
    table, polished = result.to_frame(), case["polished"]
    np.testing.assert_allclose(table.loc[table.part == "scale", "estimate"], polished["alpha"], rtol=RELATIVE)
    np.testing.assert_allclose(table.loc[table.part == "scale", "se"], polished["se_alpha"], rtol=RELATIVE)
    np.testing.assert_allclose(table.loc[table.part == "location", "estimate"], polished["beta"], rtol=RELATIVE)
    np.testing.assert_allclose(table.loc[table.part == "location", "se"], polished["se"], rtol=RELATIVE)
    assert set(result.tau2["variable"]) <= {"alloc", "a_measure", "meanage"} and len(result.tau2)


def test_location_scale_needs_ml_or_reml_and_columns_of_the_fit():
    fit = am.fit(reference_frame("location_scale.json", "bcg"), method="DL", metric="log_or")
    with pytest.raises(ValueError, match="fitted by ML or REML"):
        am.location_scale(fit, "alloc")
    with pytest.raises(ValueError, match="did you mean 'alloc'"):
        am.location_scale(am.fit(reference_frame("location_scale.json", "bcg"), metric="log_or"), "aloc")


def test_model_comparison_of_a_fit_matches_anova_and_predict():
    data = reference("model_comparison.json")
    frame = reference_frame("model_comparison.json", "bcg")
    fit = am.fit(frame, method="REML", metric="log_or")
    result = am.model_comparison(fit, ["ablat + year", "ablat", "alloc + ablat"],
                                 reference_levels={"alloc": "alternate"})
    full = result.comparison[result.comparison["model"] == "full"].set_index("comparison")
    for case in data["comparisons"][:3]:
        row = full.loc[f"{case['full']} vs {case['reduced']}"]
        np.testing.assert_allclose([row["lrt"], row["lrt_p"], row["loglik"]],
                                   [case["lrt"], case["pval"], case["stats_full"]["ll"]], rtol=RELATIVE)
    case = next(c for c in data["predictions"] if c["data"] == "bcg")
    for test in ("z", "knha"):
        rows = result.predictions[(result.predictions["model"] == case["formula"]) & (result.predictions["test"] == test)]
        assert list(rows["variable"]) == case["variables"]
        np.testing.assert_allclose(rows["estimate"], case["tests"][test]["pred"], rtol=RELATIVE)
        np.testing.assert_allclose(rows["ci_upper"], case["tests"][test]["ci_ub"], rtol=RELATIVE)
    assert "or" in result.predictions  # back-transformed for the fit's metric


def test_model_comparison_needs_the_metric():
    with pytest.raises(ValueError, match="needs the analysis metric"):
        am.model_comparison(am.fit(reference_frame("model_comparison.json", "bcg")), ["ablat"])


def test_bma_of_a_fit_matches_robma_inclusion_probabilities():
    """am.bma on dat.molloy2014 (Fisher z; RoBMA's Cohen's d priors): RoBMA 3.6.1's posterior inclusion
    probabilities within 0.02 (tests/test_bma_reference.py, robma.json)."""
    from conftest import load_reference

    ref = load_reference("robma")["molloy"]
    y, se = np.asarray(ref["yi"], float), np.asarray(ref["sei"], float)
    result = am.bma(am.fit(y, se**2, metric="z"))
    ours = result.summary.set_index("name")
    for label, post in zip(ref["components"]["names"], ref["components"]["post_prob"]):
        assert ours.loc[label.lower(), "posterior_prob"] == pytest.approx(post, abs=0.02), label
    with pytest.raises(TypeError, match="am.bma"):
        am.bma(y)
    # one line in a notebook, not every model's grids (the dataclass's repr: about 24,000 characters)
    assert repr(result).startswith(f"<BmaResult: 36 models on k = {y.size}; inclusion BF effect ")
    assert len(repr(result)) < 150


def test_multiverse_of_a_fit_fits_every_specification_and_marks_the_fits_own():
    """am.multiverse on dat.molloy2014: each specification of every row without outlier removal is metafor's
    rma(yi, vi, method =, test =) (pooling.json); a subset by a_measure fits only those rows."""
    frame = reference_frame("model_comparison.json", "molloy")
    fit = am.fit(frame, method="REML", metric="z")
    settings = {"methods": ["DL", "REML"], "tests": ["z", "knha"], "aggregate_methods": ["gls"], "priors": [],
                "outliers": ["none", "rstudent"], "subsets": ["a_measure"], "publication": ["all"]}
    result = am.multiverse(fit, settings)
    table = result.to_frame()
    levels = ["all", *sorted(frame["a_measure"].unique())]
    assert sorted(table["a_measure"].unique()) == sorted(levels)
    assert len(table) == len(levels) * 2 * 2 * 2  # subsets x outlier rules x estimators x tests
    molloy2014 = next(d for d in reference("pooling.json")["datasets"] if d["name"] == "molloy2014")
    for method in ("DL", "REML"):
        for test in ("z", "knha"):
            row = table[(table["a_measure"] == "all") & (table["outliers"] == "none") & (table["method"] == method)
                        & (table["test"] == test)]
            theirs = next(f for f in molloy2014["fits"] if f["method"] == method and f["test"] == test)
            assert len(row) == 1 and row["k"].iloc[0] == 16
            for name in ("estimate", "se", "ci_lower", "ci_upper", "p", "tau2"):
                np.testing.assert_allclose(row[name].iloc[0], float(theirs[name]), rtol=RELATIVE, atol=1e-12,
                                           err_msg=f"{method} {test} {name}")
    self_report = table[(table["a_measure"] == "self-report") & (table["outliers"] == "none")]
    assert (self_report["k"] == int((frame["a_measure"] == "self-report").sum())).all()
    assert set(result.summary["choice"]) >= {"all", "a_measure", "method"}
    assert result.plot() is not None


def test_multiverse_settings_are_checked_as_the_config_is():
    fit = am.fit(reference_frame("model_comparison.json", "molloy"), metric="z")
    with pytest.raises(ValueError, match="did you mean multiverse.methods"):
        am.multiverse(fit, {"methds": ["DL"]})
    with pytest.raises(ValueError, match="did you mean 'a_measure'"):
        am.multiverse(fit, {"subsets": ["a_measur"]})


# -- am.psychometric: Hunter-Schmidt corrections of a fit's correlations ------------------------------

def gonzalezmule() -> pd.DataFrame:
    """psychmeta's data_r_gonzalezmule_2014 as a fit's rows: Fisher z, its variance, n and the artifacts."""
    data = pd.DataFrame(reference("psychometric.json")["datasets"]["gonzalezmule_2014"])
    for column in ("r", "n", "rxx", "ryy", "ux"):
        data[column] = pd.to_numeric(data[column], errors="coerce")
    return data.assign(yi=np.arctanh(data["r"]), vi=1.0 / (data["n"] - 3),
                       study_id=[str(i + 1) for i in range(len(data))]).drop(columns="r")


@pytest.mark.parametrize(("case_name", "settings"), [("gm_bb_default", {}), ("gm_ic_uvirr", {"correction_method": "uvirr"}),
                                                     ("gm_ad_meas", {"correction_method": "meas"})])
def test_psychometric_of_a_fit_matches_psychmeta(case_name, settings):
    data = reference("psychometric.json")
    case = next(c for c in data["cases"] if c["name"] == case_name)
    result = am.psychometric(am.fit(gonzalezmule(), metric="z"), settings, moderators=["rating_source"])
    row = result.to_frame().set_index("method").loc[case["method"]]
    for column, value in case["expected"].items():
        if value is not None:
            assert row[column] == pytest.approx(value, rel=RELATIVE, abs=1e-12), column
    if not settings:
        for expected in (c for c in data["moderator_cases"] if c["method"] == "bare_bones"):
            level = result.moderators[(result.moderators["level"] == expected["level"])
                                      & (result.moderators["method"] == "bare_bones")].iloc[0]
            assert level["rho"] == pytest.approx(expected["expected"]["rho"], rel=RELATIVE)


def test_psychometric_needs_correlations_with_their_sample_size():
    frame = gonzalezmule()
    with pytest.raises(ValueError, match="corrects correlations"):
        am.psychometric(am.fit(frame, metric="smd"))
    with pytest.raises(ValueError, match="a column n"):
        am.psychometric(am.fit(frame.drop(columns="n"), metric="z"))
    with pytest.raises(ValueError, match="did you mean psychometric.correction_method"):
        am.psychometric(am.fit(frame, metric="z"), {"correction_methd": "meas"})


def test_psychometric_names_the_rows_whose_artifacts_are_out_of_range():
    """A reliability typed as a percentage stopped with 'rxx must lie in (0, 1]', naming neither row nor value."""
    frame = gonzalezmule()
    frame.loc[2, "rxx"] = 85
    with pytest.raises(ValueError, match=r"rxx must lie in \(0, 1\] \(a reliability of 80% is 0.8\): rxx on 3 \(85.0\)"):
        am.psychometric(am.fit(frame, metric="z"))
    with pytest.raises(ValueError, match=r"\(a reliability of 80% is 0.8\): rxx on 3 \(85.0\)"):  # another not given
        am.psychometric(am.fit(frame.assign(rxx=frame["rxx"].mask(frame.index == 0)), metric="z"))
    frame.loc[2, "rxx"] = 0.0
    with pytest.raises(ValueError, match=r"rxx must lie in \(0, 1\]: rxx on 3 \(0.0\)$"):
        am.psychometric(am.fit(frame, metric="z"))
    with pytest.raises(ValueError, match=r"ux must be positive: ux on 1 \(-0.6\)$"):
        am.psychometric(am.fit(gonzalezmule().assign(ux=lambda data: data["ux"].mask(data.index == 0, -0.6)),
                               metric="z"))


def test_psychometric_names_artifacts_written_as_text_that_is_no_number():
    """'85%' in rxx (a frame typed or pasted in the notebook) was read as not reported, without a word, and the
    correlation corrected with the other rows' mean; text numbers and the sheet's 'n/a' read as the sheet reads them."""
    frame = gonzalezmule().astype({"rxx": object})
    plain = am.psychometric(am.fit(frame, metric="z")).to_frame()
    frame.loc[2, "rxx"] = "85%"
    with pytest.raises(ValueError, match=r"artifacts that are no number: rxx on 3 \('85%'\); write each as a number"):
        am.psychometric(am.fit(frame, metric="z"))
    frame["rxx"] = [f" {value} " for value in gonzalezmule()["rxx"]]
    pd.testing.assert_frame_equal(am.psychometric(am.fit(frame, metric="z")).to_frame(), plain)


def test_psychometric_forest_plot_is_written(tmp_path):
    result = am.psychometric(am.fit(gonzalezmule(), metric="z"))
    result.plot_forest(tmp_path / "psychometric.png")
    assert (tmp_path / "psychometric.png").stat().st_size > 10_000
