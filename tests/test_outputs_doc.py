"""docs/outputs.md names every column of the tables the library writes (the pipeline's CSVs).

The tables come from the public API on the demo sheet, as the workflow scripts compute them;
back-transformed columns (`r`, `r_ci_lower`, ..., `or_*`) are covered by the page's general rule.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import alliance_meta as am

ROOT = Path(__file__).resolve().parents[1]
BACK_TRANSFORMED = re.compile(r"^(r|or)(_|$)")
MODERATORS = {"rater", "modality"}  # columns named as the moderators of the run


@pytest.fixture(scope="module")
def fit():
    rows = am.effect_sizes(am.read_sheet(ROOT / "data" / "raw" / "studies.csv"))
    return am.fit(rows[rows["family"] == "outcome"], method="REML", test="knha")


@pytest.fixture(scope="module")
def page():
    return (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")


def _tables(fit):
    moderator = am.moderators(fit, "rater", permutations=20)
    rve = am.rve(fit)
    scale = am.location_scale(fit, "rater")
    comparison = am.model_comparison(fit, ["rater", "rater + modality"])
    multiverse = am.multiverse(fit, {"methods": ["REML"], "tests": ["z"], "outliers": ["none"]})
    psychometric = am.psychometric(fit)
    bma = am.bma(fit, bias=False)
    return {
        "pooled.csv": fit.to_frame(),
        "bias.csv": am.publication_bias(fit).to_frame(),
        "selection_models.csv": am.selection_models(fit, types=("stepfun",)).to_frame(),
        "leave_one_out.csv": am.leave_one_out(fit).to_frame(),
        "influence.csv": am.influence(fit).to_frame(),
        "cumulative.csv": am.cumulative(fit).to_frame(),
        "moderators.csv": moderator.to_frame(),
        "subgroups.csv": moderator.subgroups,
        "meta_regression.csv": am.meta_regression(fit, "~ rater", permutations=20).to_frame(),
        "rve.csv": rve.table,
        "rve_sensitivity.csv": rve.sensitivity,
        "gosh_studies.csv": am.gosh(fit, subsets=200).to_frame(),
        "location_scale.csv": scale.table,
        "location_scale_tau2.csv": scale.tau2,
        "model_comparison.csv": comparison.comparison,
        "meta_regression_predictions.csv": comparison.predictions,
        "multiverse.csv": multiverse.table,
        "multiverse_summary.csv": multiverse.summary,
        "psychometric.csv": psychometric.to_frame(),
        "psychometric_artifacts.csv": psychometric.artifact_table(),
        "bma.csv": bma.table,
        "bma_summary.csv": bma.summary,
        "study_characteristics.csv": am.study_characteristics(fit, moderators=("rater",)).to_frame(),
        "rob_sensitivity.csv": am.risk_of_bias_sensitivity(fit, "quips").to_frame(),
    }


def test_every_column_is_documented(fit, page):
    undocumented = {}
    for name, table in _tables(fit).items():
        assert f"`{name}`" in page, f"{name} has no entry in docs/outputs.md"
        missing = [column for column in table.columns
                   if not BACK_TRANSFORMED.match(str(column)) and column not in MODERATORS
                   and f"`{column}`" not in page]
        if missing:
            undocumented[name] = missing
    assert not undocumented, f"columns not named in docs/outputs.md: {undocumented}"
