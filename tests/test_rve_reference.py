"""alliance_meta.analyses.rve against robumeta 2.0 and clubSandwich 0.5.8 (tests/reference/rve.R -> rve.json).

robu() with correlated (rho .8, .5) and hierarchical weights, with and without moderators
and the small-sample correction, on robumeta's corrdat and hierdat, on dat.assink2016 and on
typed-in data (four single-effect studies; one study with six of ten effect sizes);
the rho sensitivity table (robumeta's sensitivity(), checked in R against the full-precision
fits); CR2 tests of rma.uni fits (coef_test, Wald_test HTZ) on dat.bcg. All within 1e-6
relative.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance_meta.analyses import rve

REFERENCE = Path(__file__).parent / "reference" / "rve.json"
RELATIVE, ABSOLUTE = 1e-6, 1e-12


@lru_cache(maxsize=1)
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


def arrays(dataset: dict, moderators):
    y = np.array(dataset["yi"], dtype=float)
    v = np.array(dataset["vi"], dtype=float)
    X = np.column_stack([np.ones(y.size)] + [np.array(dataset["covariates"][m], dtype=float) for m in moderators])
    return y, v, np.array(dataset["study"]), X


def assert_close(ours, theirs, what):
    ours, theirs = np.atleast_1d(np.asarray(ours, dtype=float)), np.atleast_1d(np.asarray(theirs, dtype=float))
    assert ours.shape == theirs.shape, what
    assert np.allclose(ours, theirs, rtol=RELATIVE, atol=ABSOLUTE), (what, ours, theirs)


def fit_cases():
    for dataset in reference()["datasets"]:
        for n, entry in enumerate(dataset["fits"]):
            label = f"{dataset['name']}-{entry['weights']}-rho{entry['rho']}-small{entry['small']}-p{len(entry['moderators'])}"
            yield pytest.param(dataset["name"], n, id=label)


def dataset_named(name: str) -> dict:
    return next(d for d in reference()["datasets"] if d["name"] == name)


@pytest.mark.parametrize(("name", "index"), list(fit_cases()))
def test_robu(name, index):
    dataset = dataset_named(name)
    entry = dataset["fits"][index]
    y, v, study, X = arrays(dataset, entry["moderators"])
    rho = entry["rho"] if isinstance(entry["rho"], (int, float)) else 0.8
    ours = rve.robu(y, v, study, X, names=entry["terms"], modelweights=entry["weights"], rho=rho, small=entry["small"])
    for attribute, key in (("beta", "estimate"), ("se", "se"), ("statistic", "t"), ("df", "df"), ("p", "p"),
                           ("ci_lower", "ci_lower"), ("ci_upper", "ci_upper"), ("tau2", "tau2")):
        assert_close(getattr(ours, attribute), entry[key], attribute)
    if entry["weights"] == "HIER":
        assert_close(ours.omega2, entry["omega2"], "omega2")
        assert math.isnan(ours.i2) and math.isnan(ours.rho)
    else:
        assert_close(ours.i2, entry["i2"], "i2")
        assert math.isnan(ours.omega2)


def test_row_order_does_not_matter():
    dataset = dataset_named("hierdat")
    y, v, study, X = arrays(dataset, [])
    order = np.random.default_rng(1).permutation(y.size)
    for weights in rve.MODEL_WEIGHTS:
        first = rve.robu(y, v, study, modelweights=weights)
        shuffled = rve.robu(y[order], v[order], study[order], modelweights=weights)
        assert np.allclose([first.beta[0], first.se[0], first.df[0]],
                           [shuffled.beta[0], shuffled.se[0], shuffled.df[0]], rtol=1e-12)


@pytest.mark.parametrize("name", ["corrdat", "hierdat", "assink2016"])
@pytest.mark.parametrize("which", [0, 1], ids=["intercept", "moderators"])
def test_sensitivity(name, which):
    dataset = dataset_named(name)
    entry = dataset["sensitivity"][which]
    y, v, study, X = arrays(dataset, entry["moderators"])
    table = rve.sensitivity(y, v, study, X)
    assert list(table["rho"].unique()) == list(rve.SENSITIVITY_RHOS)
    for rho, fit in zip(rve.SENSITIVITY_RHOS, entry["fits"]):
        rows = table.loc[np.isclose(table["rho"], rho)]
        assert_close(rows["estimate"], fit["estimate"], f"estimate at rho {rho}")
        assert_close(rows["se"], fit["se"], f"se at rho {rho}")
        assert_close(rows["df"], fit["df"], f"df at rho {rho}")
        assert_close(rows["tau2"].iloc[0], fit["tau2"], f"tau2 at rho {rho}")


def cr2_cases():
    for n, entry in enumerate(reference()["cr2"]["fits"]):
        yield pytest.param(n, id=f"{entry['method']}-{entry['formula'].replace(' ', '')}")


@pytest.mark.parametrize("index", list(cr2_cases()))
def test_univariate_cr2(index):
    data = reference()["cr2"]
    entry = data["fits"][index]
    y, v = np.array(data["yi"], dtype=float), np.array(data["vi"], dtype=float)
    X = np.column_stack([np.array(column, dtype=float) for column in entry["X"]])
    result = rve.univariate_cr2(y, v, entry["tau2"], X, names=entry["terms"])
    table = result.coef_test()
    assert_close(table["estimate"], entry["estimate"], "estimate")
    for column, key in (("se", "se"), ("statistic", "t"), ("df", "df"), ("p", "p")):
        assert_close(table[column], entry[key], column)
    assert_close(result.vcov, np.array(entry["vcov"], dtype=float), "vcov")
    if "wald" in entry:
        wald = result.wald_test()
        for key in ("f", "df_num", "df_denom", "p"):
            assert_close(wald[key], entry["wald"][key], key)


def test_rve_table_layout():
    dataset = dataset_named("assink2016")
    frame = pd.DataFrame({"study_id": dataset["study"], "yi": np.array(dataset["yi"], float),
                          "vi": np.array(dataset["vi"], float)})
    table = rve.rve_table(frame, rho=0.5)
    assert list(table.columns) == list(rve.RVE_COLUMNS)
    assert list(table["model"]) == ["corr", "hier"]
    corr = next(f for f in dataset["fits"] if f["weights"] == "CORR" and f["rho"] == 0.5 and f["small"]
                and not f["moderators"])
    assert_close(table.loc[0, ["estimate", "se", "df", "pval", "tau2"]].to_numpy(float),
                 [corr["estimate"], corr["se"], corr["df"], corr["p"], corr["tau2"]], "corr row")
    assert rve.rve_table(frame.iloc[:3].assign(study_id="one")).empty
    with pytest.raises(ValueError, match="rho"):
        rve.robu(frame["yi"], frame["vi"], frame["study_id"], rho=1.5)


def test_hierarchical_weights_with_one_effect_size_per_study():
    """omega^2 is not identified: 0, and tau^2 the DL estimate (robumeta divides by ~0 here and,
    on dat.bcg, stops with a singular matrix; on the typed-in 'single' data set it reports this)."""
    from alliance_meta.models.univariate import fit

    data = reference()["cr2"]
    y, v = np.array(data["yi"], dtype=float), np.array(data["vi"], dtype=float)
    result = rve.robu(y, v, np.arange(y.size), modelweights="HIER")
    dl = fit(y, v, "DL")
    assert result.omega2 == 0 and "not identified" in result.note
    assert result.tau2 == pytest.approx(dl.tau2, rel=1e-12)
    assert result.beta[0] == pytest.approx(dl.estimate, rel=1e-12)


def test_the_log_of_a_family_of_one_study(tmp_path):
    """A retraction leaves a family one study: the rve job logged "1 effect sizes in 1 studies" and pandas'
    "Empty DataFrame / Columns: [...] / Index: []" in place of its table."""
    import runpy
    from types import SimpleNamespace

    from alliance_meta.io import write_table

    rows = tmp_path / "effects.csv"
    write_table(pd.DataFrame({"study_id": ["D02"], "es_id": ["D02-1"], "yi": [0.54], "vi": [0.09]}), rows)
    log = tmp_path / "rve.log"
    runpy.run_path(str(Path(__file__).resolve().parents[1] / "workflow" / "scripts" / "rve.py"), init_globals={
        "snakemake": SimpleNamespace(
            input=[str(rows)], output=SimpleNamespace(table=str(tmp_path / "rve.csv"),
                                                      sensitivity=str(tmp_path / "rve_sensitivity.csv")),
            log=[str(log)], wildcards=SimpleNamespace(family="dropout"),
            params=SimpleNamespace(fit={"method": "REML", "dependence": "aggregate", "rho": 0.5,
                                        "aggregate_method": "gls", "metric": "smd"}))})
    text = log.read_text()
    assert "1 effect size in 1 study: no model fitted" in text and "Empty DataFrame" not in text
