"""alliance_meta.models.counts against metafor 3.8-1 and lme4 (tests/reference/counts.R -> counts.json).

Mantel-Haenszel and Peto: every figure within 1e-6 relative. GLMM ("UM.FS"): the estimates
within 1e-4 relative (the issue's tolerance for GLMMs) of glmer run to convergence
("tight"), and of metafor's defaults where glmer's default optimiser reaches the maximum;
where it stops short (it warns on dat.nielweise2007), our maximum must have the higher
likelihood, measured by lme4's own deviance function. The likelihood itself must equal
lme4's deviance function at two points per fit, within 1e-9 relative for the 7-node
quadrature and 1e-6 for Laplace (lme4 evaluates the Laplace deviance at conditional modes
found only to its PIRLS tolerance, and the Laplace value is first-order in that error).
With 7 nodes, z and p are compared with those from an accurate Hessian of lme4's deviance
(see assert_glmm_figures).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance_meta.models import counts

REFERENCE = Path(__file__).parent / "reference" / "counts.json"
RELATIVE, ABSOLUTE = 1e-6, 1e-10
GLMM_RELATIVE = 1e-4
# metafor defaults where glmer's default optimiser stops short of the maximum (see module doc)
DEFAULT_SHORT = {("nielweise2007", 7), ("nielweise2007", 1), ("bcg", 1)}


@lru_cache(maxsize=1)
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


def dataset(name: str) -> dict:
    return next(d for d in reference()["datasets"] if d["name"] == name)


def cells(name: str):
    data = dataset(name)
    return [np.asarray(data[c], dtype=float) for c in ("ai", "bi", "ci", "di")]


def close(ours: float, theirs: float, relative: float = RELATIVE) -> bool:
    if theirs is None or (isinstance(theirs, str) and theirs == "NA"):
        return math.isnan(ours)
    return math.isclose(ours, float(theirs), rel_tol=relative, abs_tol=ABSOLUTE)


NAMES = ("bcg", "nielweise2007", "yusuf1985")
COMMON = {"estimate": "estimate", "se": "se", "statistic": "zval", "p": "pval", "ci_lower": "ci_lower",
          "ci_upper": "ci_upper", "q": "q", "q_p": "q_p", "i2": "i2", "h2": "h2"}


@pytest.mark.parametrize("name", NAMES)
def test_mantel_haenszel(name):
    ours = counts.mantel_haenszel(*cells(name))
    theirs = dataset(name)["mh"]
    for attribute, key in COMMON.items():
        assert close(getattr(ours, attribute), theirs[key]), (attribute, getattr(ours, attribute), theirs[key])
    for key in ("cmh", "cmh_p", "breslow_day", "breslow_day_p", "tarone", "tarone_p", "k_pos"):
        assert close(ours.tests[key], theirs[key]), (key, ours.tests[key], theirs[key])
    assert ours.k == theirs["k_yi"]  # double-zero tables left out, as metafor's Q does
    assert ours.pi_lower == ours.ci_lower and ours.tau2 == 0


@pytest.mark.parametrize("name", NAMES)
def test_peto(name):
    ours = counts.peto(*cells(name))
    theirs = dataset(name)["peto"]
    for attribute, key in COMMON.items():
        assert close(getattr(ours, attribute), theirs[key]), (attribute, getattr(ours, attribute), theirs[key])
    assert ours.k == theirs["k_yi"]


@lru_cache(maxsize=None)
def our_glmm(name: str, nagq: int):
    return counts.glmm(*cells(name), nagq=nagq)


def glmm_cases(optimiser: str):
    for name in NAMES:
        for entry in dataset(name)["glmm"]:
            if entry["optimiser"] == optimiser:
                yield pytest.param(name, entry, id=f"{name}-nAGQ{entry['nagq']}-{optimiser}")


LIMITS = ("ci_lower", "ci_upper", "pi_lower", "pi_upper")
GLMM_FIGURES = {"estimate": "estimate", "se": "se", "statistic": "zval", "p": "pval", "ci_lower": "ci_lower",
                "ci_upper": "ci_upper", "pi_lower": "pi_lower", "pi_upper": "pi_upper", "tau2": "tau2",
                "i2": "i2", "h2": "h2", "q": "q_wald", "q_p": "q_wald_p", "q_df": "q_df"}


def assert_glmm_figures(ours, theirs):
    figures = dict(GLMM_FIGURES)
    if theirs["nagq"] > 1:
        # lme4's se comes from one-step central differences (delta 1e-4) of its deviance; p
        # magnifies that error by about z^2. With quadrature the deviance is smooth, so the
        # reference also has se from numDeriv's Richardson Hessian of lme4's deviance at
        # glmer's estimates, and z and p from it: those are compared, se against both.
        figures.update(statistic="zval_accurate", p="pval_accurate", se_accurate="se_accurate")
    for attribute, key in figures.items():
        attribute = "se" if attribute == "se_accurate" else attribute
        value = getattr(ours, attribute)
        # interval limits are estimate +- half-width: their error is relative to those parts
        scale = abs(ours.estimate) + abs(value - ours.estimate) if attribute in LIMITS else abs(float(theirs[key]))
        assert abs(value - float(theirs[key])) <= GLMM_RELATIVE * scale + ABSOLUTE, (attribute, value, theirs[key])
    for key in ("q_lrt", "q_lrt_p"):
        assert close(ours.tests[key], theirs[key], GLMM_RELATIVE), (key, ours.tests[key], theirs[key])
    assert ours.k == theirs["k"] and ours.converged


@pytest.mark.parametrize(("name", "entry"), list(glmm_cases("tight")))
def test_glmm_against_converged_glmer(name, entry):
    assert_glmm_figures(our_glmm(name, entry["nagq"]), entry)


@pytest.mark.parametrize(("name", "entry"), list(glmm_cases("default")))
def test_glmm_against_metafor_defaults(name, entry):
    ours = our_glmm(name, entry["nagq"])
    if (name, entry["nagq"]) not in DEFAULT_SHORT:
        assert_glmm_figures(ours, entry)
        return
    # glmer's default stopped short: the likelihood (equal to lme4's, test below) is higher at
    # our maximum than at glmer's estimates, and the gap in the estimate is real, not rounding
    point = entry["deviance_points"][0]
    model = counts.GlmmLikelihood.of(counts.tables(*cells(name)), entry["nagq"])
    at_glmer = model.loglik(np.concatenate([point["alpha"], [point["beta"], point["theta"]]]))
    assert ours.tests["loglik"] > at_glmer + 1e-8
    assert not close(ours.estimate, entry["estimate"], 1e-5)


@pytest.mark.parametrize(("name", "entry"), list(glmm_cases("default")) + list(glmm_cases("tight")))
def test_glmm_likelihood_is_lme4s(name, entry):
    """Our quadrature of the marginal likelihood equals lme4's deviance function."""
    table = counts.tables(*cells(name))
    model = counts.GlmmLikelihood.of(table, entry["nagq"])
    offset = 0.0 if entry["nagq"] == 1 else -2 * counts.saturated_loglik(table)
    tolerance = 1e-6 if entry["nagq"] == 1 else 1e-9
    for point in entry["deviance_points"]:
        theta = np.concatenate([point["alpha"], [point["beta"], point["theta"]]])
        ours = -2 * model.loglik(theta) - offset
        assert math.isclose(ours, point["deviance"], rel_tol=tolerance), (ours, point["deviance"])


def test_double_zero_tables_are_dropped_and_noted():
    ai, bi, ci, di = cells("nielweise2007")
    for fitter in (counts.mantel_haenszel, counts.peto):
        result = fitter(ai, bi, ci, di)
        assert result.double_zero == 1 and result.k == ai.size - 1 and "double-zero" in result.note
    kept = ~((ai == 0) & (ci == 0))
    assert counts.mantel_haenszel(ai[kept], bi[kept], ci[kept], di[kept]).estimate == pytest.approx(
        counts.mantel_haenszel(ai, bi, ci, di).estimate, rel=1e-15)


def test_count_rows_of_double_zero_tables_only_have_k_0():
    """Double-zero tables are left out of k (as metafor's rma.mh, which stops at k = 0): a family whose every
    table is double-zero gets rows of NaN with k = 0, not k = the number of tables, and the note says why."""
    frame = pd.DataFrame({"study_id": ["D1", "D2"], "yi": 0.0, "vi": 1.0, "n11": [20, 30], "n12": [0, 0],
                          "n21": [15, 28], "n22": [0, 0], "reverse": "no"})
    rows = counts.count_rows(frame)
    assert list(rows["method"]) == ["MH", "Peto", "GLMM"] and (rows["k"] == 0).all()
    assert rows["estimate"].isna().all() and rows["note"].str.contains("every table is a double-zero table").all()


def test_tables_are_validated():
    with pytest.raises(ValueError, match="whole numbers"):
        counts.tables([1.5], [2], [3], [4])
    with pytest.raises(ValueError, match="same length"):
        counts.tables([1, 2], [2], [3], [4])
    with pytest.raises(ValueError, match="double-zero"):
        counts.tables([0], [5], [0], [7])


def test_count_rows_in_pooled_layout():
    ai, bi, ci, di = cells("bcg")
    frame = pd.DataFrame({"study_id": [f"S{i}" for i in range(ai.size)], "yi": 0.0, "vi": 1.0,
                          "n11": ai, "n12": bi, "n21": ci, "n22": di, "reverse": "no"})
    extra = pd.DataFrame({"study_id": ["X1"], "yi": [0.1], "vi": [0.2]})  # a row without counts
    rows = counts.count_rows(pd.concat([frame, extra], ignore_index=True))
    assert list(rows["method"]) == ["MH", "Peto", "GLMM"]
    assert (rows["test"] == "z").all() and (rows["k"] == 13).all()
    assert rows["note"].str.startswith("13 of 14 rows had 2x2 counts").all()
    assert rows.loc[0, "estimate"] == pytest.approx(dataset("bcg")["mh"]["estimate"], rel=RELATIVE)
    assert rows.loc[0, "or"] == pytest.approx(math.exp(rows.loc[0, "estimate"]), rel=1e-12)
    assert {"or_ci_lower", "r", "r_pi_upper", "tau2", "q_p"} <= set(rows.columns)
    assert counts.count_rows(frame, metric="smd").empty


def test_pooled_table_reads_the_metric_column_for_the_count_rows():
    """am.pooled_table without metric= took no metric at all: rows coded log_or got no MH/Peto/GLMM rows."""
    import alliance_meta as am

    ai, bi, ci, di = cells("bcg")
    sheet = pd.DataFrame({"study_id": [f"S{i}" for i in range(ai.size)], "n11": ai, "n12": bi, "n21": ci,
                          "n22": di, "reverse": "no"})
    rows = sheet.assign(**{name: values for name, values in _log_or(ai, bi, ci, di).items()}, metric="log_or")
    stated, _ = am.pooled_table(rows, "REML", "z", metric="log_or")
    read, _ = am.pooled_table(rows, "REML", "z")
    assert list(read["method"]) == ["REML", "MH", "Peto", "GLMM"]
    pd.testing.assert_frame_equal(read, stated)
    with pytest.raises(ValueError, match="contradicts the rows' metric column"):
        am.pooled_table(rows, "REML", "z", metric="z")


def test_counts_under_metafors_names_are_pointed_to_the_codebooks():
    """dat.bcg's cells named as escalc names them (ai, bi, ci, di) gave 'no rows with 2x2 counts', without saying
    that the codebook calls them n11, n12, n21, n22."""
    import alliance_meta as am

    ai, bi, ci, di = cells("bcg")
    rows = pd.DataFrame({"study_id": [f"S{i}" for i in range(ai.size)], "ai": ai, "bi": bi, "ci": ci, "di": di,
                         **_log_or(ai, bi, ci, di)})
    table, notes = am.pooled_table(rows, "REML", "z", metric="log_or")
    assert list(table["method"]) == ["REML"]
    assert notes[-1].endswith("(columns ai, bi, ci, di: metafor's names of the cells are n11, n12, n21, n22 here)")
    renamed = rows.rename(columns={"ai": "n11", "bi": "n12", "ci": "n21", "di": "n22"})
    assert list(am.pooled_table(renamed, "REML", "z", metric="log_or")[0]["method"]) == ["REML", "MH", "Peto", "GLMM"]


def _log_or(ai, bi, ci, di) -> dict:
    """Log odds ratios and their variances (Woolf), as escalc(measure = "OR") without zero cells."""
    a, b, c, d = (np.asarray(x, float) for x in (ai, bi, ci, di))
    return {"yi": np.log(a * d / (b * c)), "vi": 1 / a + 1 / b + 1 / c + 1 / d}


def test_count_rows_reverse_and_one_table_per_study():
    ai, bi, ci, di = cells("bcg")
    frame = pd.DataFrame({"study_id": [f"S{i}" for i in range(ai.size)],
                          "n11": ci, "n12": di, "n21": ai, "n22": bi, "reverse": "yes"})
    doubled = pd.concat([frame, frame.assign(n11=frame["n11"] + 1)], ignore_index=True)
    rows = counts.count_rows(doubled, methods=("MH",))
    # rows swapped back by reverse = yes; the second table of each study set aside
    assert rows.loc[0, "estimate"] == pytest.approx(dataset("bcg")["mh"]["estimate"], rel=RELATIVE)
    assert "13 further tables" in rows.loc[0, "note"]
    everything = counts.count_rows(doubled, methods=("MH",), duplicates="all")
    assert everything.loc[0, "k"] == 26


def test_count_notes_count_in_the_singular_and_plural():
    """The notes read "6 of 9 row(s) ..., 1 double-zero table(s) left out"."""
    frame = pd.DataFrame({"study_id": ["S1", "S1", "S2"], "n11": [10, 11, 0], "n12": [5, 5, 20],
                          "n21": [8, 8, 0], "n22": [9, 9, 15], "reverse": "no"})
    note = counts.count_rows(frame, methods=("MH",)).loc[0, "note"]
    assert note.startswith("3 of 3 rows had 2x2 counts; 2 tables from 2 studies; no continuity correction; "
                           "1 further table of studies with several set aside")
    assert "; 1 double-zero table left out" in note
    one = counts.count_rows(frame.iloc[[0]], methods=("MH",)).loc[0, "note"]
    assert one.startswith("1 of 1 row had 2x2 counts; 1 table from 1 study;")


def test_glmm_one_table_is_the_table_odds_ratio():
    """With one table tau^2 = 0 (as metafor) and the model is saturated: the sample log OR, Woolf's SE."""
    result = counts.glmm([5], [20], [10], [15])
    assert result.tau2 == 0 and result.k == 1
    assert result.estimate == pytest.approx(math.log(5 * 15 / (20 * 10)), rel=1e-9)
    assert result.se == pytest.approx(math.sqrt(1 / 5 + 1 / 20 + 1 / 10 + 1 / 15), rel=1e-7)


def test_glmm_separation_is_reported_not_estimated():
    result = counts.glmm([0, 0, 0], [20, 30, 12], [10, 7, 3], [15, 25, 9])
    assert not result.converged and math.isnan(result.estimate) and "diverges" in result.note
    assert math.isnan(counts.mantel_haenszel([0, 0, 0], [20, 30, 12], [10, 7, 3], [15, 25, 9]).estimate)


@pytest.mark.parametrize("side", ("infinite", "zero"))
def test_separation_as_metafor(side):
    """Every table with a zero cell on the same diagonal (no dropout in one alliance row of any table): the MH
    odds ratio is 0 or infinite and metafor gives NA for it and for Q, I^2 and H^2 (our Q was 0, p = 1); Peto's
    is finite; the GLMM has no maximum (rma.glmm stops; ours divided by zero and stopped the pooling job)."""
    data = reference()["separation"][side]
    tables = [np.asarray(data[c], dtype=float) for c in ("ai", "bi", "ci", "di")]
    mh = counts.mantel_haenszel(*tables)
    for key in ("estimate", "q", "q_p", "i2", "h2", "cmh", "cmh_p"):
        assert close(getattr(mh, key) if key in COMMON else mh.tests[key], data["mh"][key]), key
    assert {"infinite": "odds ratio is infinite (", "zero": "odds ratio is 0 ("}[side] in mh.note
    peto = counts.peto(*tables)
    for key in ("estimate", "se", "ci_lower", "ci_upper", "q", "q_p", "i2", "h2"):
        assert close(getattr(peto, key), data["peto"][key]), key
    assert data["glmm_error"].startswith("Cannot fit ML model")
    glmm = counts.glmm(*tables)
    assert not glmm.converged and math.isnan(glmm.estimate) and "diverges (separation" in glmm.note
    frame = pd.DataFrame({"study_id": [f"S{i}" for i in range(5)], "yi": 0.0, "vi": 1.0, "n11": tables[0],
                          "n12": tables[1], "n21": tables[2], "n22": tables[3], "reverse": "no"})
    rows = counts.count_rows(frame).set_index("method")
    assert (rows["k"] == 5).all() and rows.loc[["MH", "GLMM"], "estimate"].isna().all()
    assert rows.loc["Peto", "estimate"] == pytest.approx(data["peto"]["estimate"], rel=RELATIVE)


def test_glmm_note_names_its_model_and_test_in_words():
    """The pooled table's note read "UM.FS by ML ... (LRT 0.16)": metafor's model name and an abbreviation the
    report's notes never defined."""
    note = counts.glmm([5, 8, 3], [20, 25, 30], [10, 12, 9], [15, 18, 22]).note
    assert ("unconditional model with fixed study effects (UM.FS; Stijnen, Hamza & \u00d6zdemir, 2010) by ML"
            in note)
    assert "likelihood-ratio statistic" in note and "LRT" not in note
