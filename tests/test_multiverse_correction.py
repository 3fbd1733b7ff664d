"""Multiverse choice ``correction: none | individual`` (psychometric individual corrections)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_reference
from scipy import stats

from alliance_meta.analyses import multiverse, psychometric
from alliance_meta.inputs.dependence import aggregate

CONFIG = {"moderators": ["rater"], "methods": ["common", "DL"], "tests": ["z"], "aggregate_methods": ["gls"],
          "aggregate_rhos": [0.5], "publication": ["all"], "minimum_n": [0], "outliers": ["none", "rstudent"],
          "priors": [], "correction": ["none", "individual"]}
PSYCHOMETRIC = {"reliability": {"CALPAS": 0.83}}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def effect_sizes() -> pd.DataFrame:
    """12 studies (every third with a therapist-rated row too); WAI rows give rxx and ryy,
    CALPAS rows neither (rxx from the config, ryy missing: left out), two WAI rows no ryy."""
    rng = np.random.default_rng(11)
    rows = []
    for study in range(12):
        n = int(rng.integers(30, 250))
        measure = "CALPAS" if study % 4 == 1 else "WAI"
        for rater in (["patient", "therapist"] if study % 3 == 0 else ["patient"]):
            r = float(np.clip(rng.normal(0.28, 0.12), -0.5, 0.8))
            wai = measure == "WAI"
            rows.append({"study_id": f"s{study:02d}", "yi": np.arctanh(r), "vi": 1 / (n - 3), "n": n,
                         "metric": "z", "rater": rater, "measure": measure, "published": "yes",
                         "rxx": round(float(rng.uniform(0.78, 0.95)), 2) if wai else np.nan,
                         "ryy": round(float(rng.uniform(0.7, 0.92)), 2) if wai and study not in (4, 8) else np.nan,
                         "ux": np.nan})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def table(effect_sizes) -> pd.DataFrame:
    specs = multiverse.specifications({**CONFIG, "psychometric": PSYCHOMETRIC}, effect_sizes)
    return multiverse.run_batch(specs, effect_sizes, metric="z", psychometric_settings=PSYCHOMETRIC)


def _pick(table, **choices) -> pd.Series:
    query = " and ".join(f"{name} == {value!r}" for name, value in choices.items())
    chosen = table.query(query)
    assert len(chosen) == 1
    return chosen.iloc[0]


def test_none_rows_are_the_multiverse_without_the_choice(effect_sizes, table):
    plain_specs = multiverse.specifications({**CONFIG, "correction": ["none"]}, effect_sizes)
    assert "correction" not in plain_specs
    plain = multiverse.run_batch(plain_specs, effect_sizes, metric="z")
    none = table.loc[table["correction"] == "none"].drop(columns=["correction", *multiverse.CORRECTION_COLUMNS])
    pd.testing.assert_frame_equal(none.reset_index(drop=True), plain)
    assert table.loc[table["correction"] == "none", list(multiverse.CORRECTION_COLUMNS)].isna().all().all()


def _by_hand(effect_sizes, rows):
    """Individual corrections for unreliability written out (Schmidt & Hunter 2015, ch. 3;
    psychmeta ma_r_ic): bias-corrected r, rho_i = r / sqrt(rxx ryy), v_c = (1 - r_bar^2)^2 / (n - 1) / A^2."""
    data = effect_sizes.loc[rows]
    n = data["n"].to_numpy(float)
    r = np.tanh(data["yi"].to_numpy(float)) * (2 * n - 1) / (2 * n - 2)
    rxx = data["rxx"].fillna(data["measure"].map(PSYCHOMETRIC["reliability"])).to_numpy(float)
    ryy = data["ryy"].to_numpy(float)
    attenuation = np.sqrt(rxx * ryy)
    r_bar = np.sum(n * r) / np.sum(n)
    return r / attenuation, (1 - r_bar**2) ** 2 / (n - 1) / attenuation**2


def test_individual_common_effect_is_the_inverse_variance_mean_of_the_corrected_correlations(effect_sizes, table):
    rows = ((effect_sizes["rater"] == "patient") & effect_sizes["ryy"].notna()).to_numpy()  # one row per study
    rho, v = _by_hand(effect_sizes, rows)
    # the same rows through psychometric.py's own individual-correction function
    data = effect_sizes.loc[rows]
    ic = psychometric.individual_correction(np.tanh(data["yi"]), data["n"],
                                            data["rxx"].fillna(data["measure"].map(PSYCHOMETRIC["reliability"])),
                                            data["ryy"])
    np.testing.assert_allclose(ic.studies["r_corrected"], rho, rtol=1e-12)
    np.testing.assert_allclose(ic.studies["var_e_c"], v, rtol=1e-12)
    w = 1 / v
    estimate, se = np.sum(w * rho) / np.sum(w), np.sqrt(1 / np.sum(w))
    chosen = _pick(table, rater="patient", correction="individual", outliers="none", method="common")
    assert chosen["k"] == rows.sum()
    q = stats.norm.ppf(0.975)
    assert chosen["r"] == pytest.approx(estimate, rel=1e-10)
    assert chosen["se"] == pytest.approx(se, rel=1e-10)
    assert (chosen["r_ci_lower"], chosen["r_ci_upper"]) == pytest.approx((estimate - q * se, estimate + q * se), rel=1e-10)
    assert chosen["estimate"] == pytest.approx(np.arctanh(estimate), rel=1e-10)
    assert chosen["p"] == pytest.approx(2 * stats.norm.sf(estimate / se), rel=1e-8)
    # psychmeta's own pooling weights n A^2 (sample size) differ from 1 / v_c: its rho is close, not equal
    assert ic.result.rho == pytest.approx(estimate, abs=0.01) and ic.result.rho != pytest.approx(estimate, rel=1e-6)


def test_individual_dl_pools_the_corrected_effects(effect_sizes, table):
    rows = ((effect_sizes["rater"] == "patient") & effect_sizes["ryy"].notna()).to_numpy()
    y, v = _by_hand(effect_sizes, rows)
    w = 1 / v
    mean = np.sum(w * y) / np.sum(w)
    q = np.sum(w * (y - mean) ** 2)
    tau2 = max(0.0, (q - (len(y) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))  # DerSimonian & Laird 1986
    w_star = 1 / (v + tau2)
    chosen = _pick(table, rater="patient", correction="individual", outliers="none", method="DL")
    assert chosen["tau2"] == pytest.approx(tau2, rel=1e-10)
    assert chosen["r"] == pytest.approx(np.sum(w_star * y) / np.sum(w_star), rel=1e-10)


def test_rows_without_reliabilities_are_counted_and_left_out(effect_sizes, table):
    chosen = _pick(table, rater="all", correction="individual", outliers="none", method="common")
    calpas = (effect_sizes["measure"] == "CALPAS").sum()
    no_ryy = effect_sizes["ryy"].isna().sum()
    assert chosen["artifact_defaults"] == calpas  # rxx from psychometric.reliability
    assert chosen["artifact_missing"] == no_ryy  # no ryy and no outcome_reliability: dropped
    kept = effect_sizes.loc[effect_sizes["ryy"].notna()]
    assert chosen["k"] == kept["study_id"].nunique() and chosen["k_effect_sizes"] == len(kept)
    assert f"{no_ryy} effect sizes without rxx or ryy left out" in chosen["note"]
    assert "unreliability" in chosen["note"]


def test_outcome_reliability_default_and_imputation_keep_every_row(effect_sizes):
    settings = {**PSYCHOMETRIC, "outcome_reliability": 0.8}
    specs = multiverse.specifications({**CONFIG, "psychometric": settings, "subsets": []}, effect_sizes)
    result = multiverse.run_batch(specs, effect_sizes, metric="z", psychometric_settings=settings)
    chosen = _pick(result, correction="individual", outliers="none", method="common")
    assert chosen["artifact_missing"] == 0 and chosen["k_effect_sizes"] == len(effect_sizes)
    assert chosen["artifact_defaults"] == effect_sizes[["rxx", "ryy"]].isna().any(axis=1).sum()
    mean = {**PSYCHOMETRIC, "missing_artifacts": "mean"}
    specs = multiverse.specifications({**CONFIG, "psychometric": mean, "subsets": []}, effect_sizes)
    imputed = _pick(multiverse.run_batch(specs, effect_sizes, metric="z", psychometric_settings=mean),
                    correction="individual", outliers="none", method="common")
    assert imputed["k_effect_sizes"] == len(effect_sizes) and "n-weighted mean" in imputed["note"]


def test_range_restriction_follows_the_psychometric_correction_method(effect_sizes):
    restricted = effect_sizes.assign(ux=np.where(np.arange(len(effect_sizes)) % 2 == 0, 0.8, np.nan))
    settings = {**PSYCHOMETRIC, "correction_method": "uvdrr"}
    specs = multiverse.specifications({**CONFIG, "psychometric": settings, "subsets": []}, restricted)
    chosen = _pick(multiverse.run_batch(specs, restricted, metric="z", psychometric_settings=settings),
                   correction="individual", outliers="none", method="common")
    assert "direct range restriction" in chosen["note"]
    rows = restricted["ryy"].notna().to_numpy()
    data = restricted.loc[rows]
    ic = psychometric.individual_correction(np.tanh(data["yi"]), data["n"],
                                            data["rxx"].fillna(data["measure"].map(PSYCHOMETRIC["reliability"])),
                                            data["ryy"], data["ux"], psychometric.PsychometricOptions(correction_method="uvdrr"))
    composite = aggregate(pd.DataFrame({"study_id": data["study_id"], "yi": ic.studies["r_corrected"].to_numpy(),
                                                   "vi": ic.studies["var_e_c"].to_numpy()}), "gls", 0.5)
    w = 1 / composite["vi"]
    assert chosen["r"] == pytest.approx(np.sum(w * composite["yi"]) / np.sum(w), rel=1e-10)


def test_the_choice_is_skipped_where_it_does_not_apply(effect_sizes):
    dropout = effect_sizes.assign(metric="smd")
    assert "correction" not in multiverse.specifications({**CONFIG, "psychometric": PSYCHOMETRIC}, dropout)
    bare = effect_sizes.drop(columns=["rxx", "ryy"])
    assert "correction" not in multiverse.specifications({**CONFIG, "psychometric": {}}, bare)
    # rxx from the config for CALPAS rows only (studies 1, 5, 9): ryy is not corrected for, other rows are left out
    with_default = multiverse.specifications({**CONFIG, "psychometric": PSYCHOMETRIC}, bare)
    individual = with_default.loc[with_default["correction"] == "individual"]
    assert set(individual["rater"]) == {"all", "patient"}  # one CALPAS study rated by therapists: k < minimum_k
    assert set(individual["outliers"]) == {"none", "rstudent"}  # k = 3 allows the outlier rules
    chosen = _pick(multiverse.run_batch(with_default, bare, metric="z", psychometric_settings=PSYCHOMETRIC),
                   rater="all", correction="individual", outliers="none", method="common")
    assert chosen["k"] == 3 and chosen["artifact_missing"] == (bare["measure"] == "WAI").sum()


@pytest.mark.parametrize("correction_method", ["uvirr", "meas"])
def test_individual_specifications_agree_with_psychmeta_and_metafor(correction_method):
    """Gonzalez-Mule et al. (2014) as an outcome family: the ``individual`` specifications equal
    metafor's rma on psychmeta's individually corrected correlations and variances."""
    reference = load_reference("psychometric")
    data = pd.DataFrame(reference["datasets"]["gonzalezmule_2014"])
    frame = pd.DataFrame({"study_id": [f"row{i:02d}" for i in range(len(data))], "yi": np.arctanh(data["r"]),
                          "vi": 1 / (data["n"] - 3), "n": data["n"], "metric": "z", "rxx": data["rxx"],
                          "ryy": data["ryy"], "ux": data["ux"] if correction_method == "uvirr" else np.nan})
    config = {"methods": ["common", "DL", "REML"], "tests": ["z", "knha"], "aggregate_methods": ["gls"],
              "aggregate_rhos": [0.5], "publication": ["all"], "minimum_n": [0], "outliers": ["none"],
              "priors": [], "subsets": [], "correction": ["individual"]}
    settings = {"correction_method": correction_method}
    table = multiverse.run_batch(multiverse.specifications({**config, "psychometric": settings}, frame), frame,
                                 metric="z", psychometric_settings=settings)
    expected = reference["multiverse_individual"]["gonzalezmule_2014"][correction_method]
    for name, (method, test) in {"common_z": ("common", "z"), "DL_z": ("DL", "z"),
                                 "REML_knha": ("REML", "knha")}.items():
        chosen = _pick(table, method=method, test=test)
        assert chosen["k"] == len(frame) and chosen["artifact_missing"] == 0
        actual = {"estimate": chosen["r"], "se": chosen["se"], "ci_lower": chosen["r_ci_lower"],
                  "ci_upper": chosen["r_ci_upper"], "p": chosen["p"], "tau2": chosen["tau2"]}
        for key, value in expected[name].items():
            assert actual[key] == pytest.approx(value, rel=1e-6, abs=1e-12), f"{name} {key}"


def test_rows_without_n_cannot_be_corrected(effect_sizes):
    no_n = effect_sizes.copy()
    no_n.loc[0, "n"] = np.nan  # s00's patient row: WAI with rxx and ryy
    specs = multiverse.specifications({**CONFIG, "psychometric": PSYCHOMETRIC, "subsets": []}, no_n)
    table = multiverse.run_batch(specs, no_n, metric="z", psychometric_settings=PSYCHOMETRIC)
    corrected = _pick(table, correction="individual", outliers="none", method="common")
    uncorrected = _pick(table, correction="none", outliers="none", method="common")
    assert "1 effect sizes without n left out" in corrected["note"]
    assert corrected["k_effect_sizes"] == len(no_n) - no_n["ryy"].isna().sum() - 1
    assert uncorrected["k_effect_sizes"] == len(no_n)


def test_corrected_correlations_outside_minus_one_one_are_named_in_the_individual_notes(effect_sizes):
    """A reliability typed wrongly (0.09 for 0.9) gives a corrected r beyond 1: psychometric.csv's individual row
    named the study, the multiverse's individual specifications pooled it without a word."""
    single = effect_sizes.groupby("study_id").filter(lambda rows: len(rows) == 1).dropna(subset=["rxx", "ryy"])
    study = single.loc[single["yi"].idxmax(), "study_id"]  # the largest r with both reliabilities
    wrong = effect_sizes.assign(rxx=np.where(effect_sizes["study_id"] == study, 0.09, effect_sizes["rxx"]))
    specs = multiverse.specifications({**CONFIG, "psychometric": PSYCHOMETRIC, "subsets": []}, wrong)
    result = multiverse.run_batch(specs, wrong, metric="z", psychometric_settings=PSYCHOMETRIC)
    individual = result.loc[result["correction"] == "individual", "note"]
    corrected = psychometric.individual_correction(
        np.tanh(wrong.loc[wrong.study_id == study, "yi"]), wrong.loc[wrong.study_id == study, "n"], 0.09,
        wrong.loc[wrong.study_id == study, "ryy"]).studies["r_corrected"].iloc[0]
    assert corrected > 1  # the case the note is about
    assert individual.str.contains(f"corrected correlations outside (-1, 1) in {study} ({corrected:.2f}): check "
                                   "these studies' rxx, ryy and ux (pooled as they are unless the outlier rule "
                                   "removes them)", regex=False).all()
    assert not result.loc[result["correction"] == "none", "note"].fillna("").str.contains("outside").any()
    fine = multiverse.run_batch(multiverse.specifications({**CONFIG, "psychometric": PSYCHOMETRIC, "subsets": []},
                                                          effect_sizes), effect_sizes, metric="z",
                                psychometric_settings=PSYCHOMETRIC)
    assert not fine["note"].fillna("").str.contains("outside").any()


def test_corrected_correlations_that_are_not_defined_are_said_to_be_left_out(effect_sizes):
    """A ux far above 1 (5 at rxx = .5) leaves the corrected r of a study undefined: the multiverse left the study out
    (one study fewer) while the note said it was 'pooled as they are', and named a study of two rows twice."""
    study = effect_sizes.groupby("study_id").filter(lambda rows: len(rows) == 2)["study_id"].iloc[0]
    mine = effect_sizes["study_id"] == study
    wrong = effect_sizes.assign(ux=np.where(mine, 5.0, np.nan), rxx=np.where(mine, 0.5, effect_sizes["rxx"]))
    config = {**CONFIG, "psychometric": PSYCHOMETRIC, "subsets": [], "outliers": ["none"]}
    with np.errstate(invalid="ignore"):
        result = multiverse.run_batch(multiverse.specifications(config, wrong), wrong, metric="z",
                                      psychometric_settings=PSYCHOMETRIC)
    base = multiverse.run_batch(multiverse.specifications(config, effect_sizes.assign(ux=np.nan)),
                                effect_sizes.assign(ux=np.nan), metric="z", psychometric_settings=PSYCHOMETRIC)
    individual = result["correction"] == "individual"
    assert (result.loc[individual, "k"].to_numpy() == base.loc[base["correction"] == "individual", "k"].to_numpy() - 1).all()
    assert result.loc[individual, "note"].str.contains(
        f"corrected correlations outside (-1, 1) in {study} (not defined, not defined): check these studies' rxx, "
        "ryy and ux (left out)", regex=False).all()


def test_the_workflow_s_log_names_the_config_keys_of_the_default_reliabilities(tmp_path):
    """The log of rule multiverse_specifications says why correction: individual is no choice in the config's words
    (am.multiverse's note names its argument psychometric= instead: test_api_newer_analyses)."""
    import subprocess

    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    rows = "\n".join(f"S{i},0.{i + 1},{50 + 10 * i}" for i in range(6))
    (tmp_path / "data" / "raw" / "studies.csv").write_text(f"study_id,r,n\n{rows}\n")
    (tmp_path / "config" / "config.yaml").write_text("multiverse:\n  correction: [none, individual]\n")
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "snakemake"), "--snakefile", str(ROOT / "Snakefile"),
                             "--directory", str(tmp_path), "--cores", "1",
                             "data/processed/outcome/multiverse/specifications.csv"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / "logs" / "multiverse_specifications_outcome.log").read_text()
    assert ("correction: individual is not a choice of this family: no row gives a reliability (rxx, ryy), nor do "
            "psychometric.reliability and psychometric.outcome_reliability in the config") in log
