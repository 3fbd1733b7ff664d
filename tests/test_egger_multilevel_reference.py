"""bias.csv's egger_multilevel row (alliance_meta.analyses.bias.multilevel.egger_row) against metafor's rma.mv with
sqrt(vi) as moderator and clubSandwich's CR2 coef_test / conf_int (tests/reference/egger_multilevel.R ->
egger_multilevel.json): the slope's t, df and p, the intercept with its CR2 SE and interval, to 1e-6 relative."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import assert_close, load_reference

from alliance_meta.analyses.bias.multilevel import egger_row

CASES = load_reference("egger_multilevel")["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_three_level_egger_matches_rma_mv_and_clubsandwich(case):
    data = pd.DataFrame({"yi": [float(v) for v in case["data"]["yi"]], "vi": [float(v) for v in case["data"]["vi"]],
                         "study_id": case["data"]["study"]})
    row = egger_row(data, rho=case["rho"], method=case["method"], level=case["level"])
    assert_close([row["statistic"], row["df"], row["p"]], [case["t"][1], case["df"][1], case["p"][1]],
                 err_msg=f"{case['name']}: slope")
    assert_close([row["estimate"], row["se"], row["ci_lower"], row["ci_upper"]],
                 [case["beta"][0], case["se"][0], case["ci_lower"][0], case["ci_upper"][0]],
                 err_msg=f"{case['name']}: intercept")
