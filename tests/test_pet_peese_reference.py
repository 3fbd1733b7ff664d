"""PET, PEESE and PET-PEESE (bias.csv's pet, peese, pet_peese rows) against R's lm
(tests/reference/pet_peese.R -> pet_peese.json): the intercept, its SE, t, p, df and confint() of
lm(yi ~ sqrt(vi), weights = 1/vi) and lm(yi ~ vi, weights = 1/vi), at 95% and 90%, to 1e-6 relative."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close, load_reference

from alliance_meta.analyses import bias

DATASETS = load_reference("pet_peese")["datasets"]
CASES = [(name, level) for name in DATASETS for level in DATASETS[name]["levels"]]


def data(name):
    return np.array(DATASETS[name]["yi"], float), np.array(DATASETS[name]["vi"], float)


@pytest.mark.parametrize("name,level", CASES)
def test_pet_and_peese_match_lm(name, level):
    rows = {row.test: row for row in bias.pet_peese(*data(name), level=float(level))}
    for test in ("pet", "peese"):
        expected = DATASETS[name]["levels"][level][test]
        row = rows[test]
        assert row.df == expected["df"]
        assert_close([row.estimate, row.se, row.statistic, row.p, row.ci_lower, row.ci_upper],
                     [expected[key] for key in ("estimate", "se", "t", "p", "ci_lower", "ci_upper")],
                     err_msg=f"{name} {test} {level}%")


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("sided", ["one", "two"])
def test_pet_peese_reports_the_row_the_rule_chooses(name, sided):
    pet, peese, chosen = bias.pet_peese(*data(name), sided=sided)
    expected = {"pet": pet, "peese": peese}[DATASETS[name]["chosen"][sided]]
    assert (chosen.estimate, chosen.p, chosen.ci_lower) == (expected.estimate, expected.p, expected.ci_lower)


@pytest.mark.parametrize("largest", [1e-300, 1e-200, 1e-20, 1e300])
@pytest.mark.parametrize("name", DATASETS)
def test_pet_and_peese_at_every_vi_tiny_or_huge_are_lm_at_their_scale(name, largest):
    """Every vi times c (the largest 1e-300, ..., no one dominant): weighted least squares is invariant to scaling the
    weights, and the intercepts with their t tests to scaling the predictor (sqrt(vi) by sqrt(c), vi by c), so the
    rows are lm's at vi. Unscaled, lstsq's rcond dropped the slope (molloy2014 at 1e-20: PEESE's intercept the
    common-effect mean 0.125 where it is 0.096)."""
    yi, vi = data(name)
    rows = {row.test: row for row in bias.pet_peese(yi, vi * (largest / vi.max()))}
    for test in ("pet", "peese"):
        expected = DATASETS[name]["levels"]["95"][test]
        row = rows[test]
        assert_close([row.estimate, row.se, row.statistic, row.p, row.ci_lower, row.ci_upper],
                     [expected[key] for key in ("estimate", "se", "t", "p", "ci_lower", "ci_upper")],
                     err_msg=f"{name} {test} x{largest:g}")
