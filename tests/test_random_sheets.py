"""Small random valid sheets (1-6 studies, one or both families, random moderator levels) through
every stage of the library: no exception, and a note wherever a statistic is not estimable. The
degenerate sheets hypothesis found (one study, identical effects) also give no RuntimeWarning: their
undefined statistics are NaN without numpy's 0/0 and overflow warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import alliance_meta as am
from alliance_meta.bayes.analysis import BayesConfig, prior_sensitivity
from alliance_meta.inputs.dependence import studies_of
from alliance_meta.inputs.sheet import validate_sheet

RATERS = ("patient", "therapist", "observer")


@st.composite
def sheets(draw):
    families = draw(st.sampled_from([("outcome",), ("dropout",), ("outcome", "dropout")]))
    rows = []
    for study in range(draw(st.integers(1, 6))):
        family = draw(st.sampled_from(families))
        for j in range(draw(st.integers(1, 3))):
            row = {"study_id": f"S{study}", "es_id": f"S{study}-{j}", "year": str(2000 + study),
                   "family": family, "rater": draw(st.sampled_from(RATERS)), "simulated": "yes"}
            if family == "outcome":
                row |= {"r": f"{draw(st.floats(-0.6, 0.8)):.3f}", "n": str(draw(st.integers(10, 400)))}
            else:
                row |= {"d": f"{draw(st.floats(-0.5, 1.2)):.3f}", "n1": str(draw(st.integers(5, 200))),
                        "n2": str(draw(st.integers(5, 200)))}
            rows.append(row)
    return pd.DataFrame(rows)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets(), st.sampled_from(["aggregate", "multilevel"]))
def test_every_stage_runs_on_small_random_sheets(raw, dependence):
    run_every_stage(raw, dependence)


def _sheet(effects, family="outcome", raters=None):
    """Rows (study, effect) with the same n: identical effects where ``effects`` repeat."""
    raters, rows = raters or RATERS, []
    for number, (study, value) in enumerate(effects):
        row = {"study_id": study, "es_id": f"{study}-{number}", "year": "2001", "family": family,
               "rater": raters[number % len(raters)], "simulated": "yes"}
        row |= {"r": f"{value:.3f}", "n": "10"} if family == "outcome" else {"d": f"{value:.3f}", "n1": "5", "n2": "5"}
        rows.append(row)
    return pd.DataFrame(rows)


# Sheets that hypothesis found: one study, identical effects (every se and Q is 0), a multilevel
# moderator model whose CR2 variance rounds below 0. Their undefined statistics are NaN (as in
# metafor and clubSandwich) and must come without numpy's division and overflow warnings.
DEGENERATE = {
    "one outcome study": (_sheet([("S0", 0.0)]), "aggregate"),
    "one dropout study": (_sheet([("S0", 0.0)], family="dropout"), "aggregate"),
    "one study, multilevel": (_sheet([("S0", 0.0)]), "multilevel"),
    "three identical effects": (_sheet([("S0", 0.0), ("S1", 0.0), ("S2", 0.0)], raters=["patient"]), "aggregate"),
    "identical effects, multilevel": (_sheet([("S0", 0.0), ("S1", 0.0), ("S1", 0.0), ("S2", 0.0), ("S3", 0.582)],
                                             raters=["therapist", "therapist", "therapist", "patient", "patient"]),
                                      "multilevel"),
}


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("name", DEGENERATE)
def test_degenerate_sheets_give_no_runtime_warning(name):
    raw, dependence = DEGENERATE[name]
    run_every_stage(raw.copy(), dependence)


def run_every_stage(raw, dependence):
    raw.insert(0, "sheet_row", np.arange(2, len(raw) + 2))
    sheet, problems = validate_sheet(raw, moderators=["rater"])
    assert not problems, problems
    rows = am.effect_sizes(sheet).dropna(subset=["yi", "vi"])
    for family, metric in (("outcome", "z"), ("dropout", "smd")):
        data = rows[rows["family"] == family]
        if data.empty:
            continue
        options = dict(dependence=dependence, rho=0.5, metric=metric)
        table, _ = am.pooled_table(data, ["common", "DL", "REML", "PM"], ["z", "knha"], **options)
        assert len(table) and table["k"].min() >= 1
        fit = am.fit(data, method="REML", **options)
        assert np.isfinite(fit.estimate) or not fit.converged
        fit.summary()
        bias = am.publication_bias(fit).to_frame()
        assert ((bias["note"].str.len() > 0) | bias["statistic"].notna()).all()  # a value, or why not
        sensitivity = am.sensitivity(fit)
        assert sensitivity.details is not None or sensitivity.notes
        summary, subgroups, regressions = am.moderator_tables(fit, ["rater"], permutations=20)
        assert len(summary) == 1 and len(subgroups) >= 1
        posterior, _ = prior_sensitivity(studies_of(data, options | {"aggregate_method": "gls"}), metric,
                                         BayesConfig.from_config({}, metric))
        assert len(posterior)
