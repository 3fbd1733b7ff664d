"""pooled.csv's three-level rows (dependence: multilevel; tests z, t for knha, and cr2) against metafor's rma.mv,
its test = "t" and robust(..., clubSandwich = TRUE), with predict()'s intervals (tests/reference/multilevel_pooled.R
-> multilevel_pooled.json): estimate, se, statistic, p, df, CI and PI, to 1e-6 relative."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import assert_close, load_reference, reference_number

from alliance_meta.models.fits import pooled_table

CASES = load_reference("multilevel_pooled")["cases"]
QUANTITIES = ("estimate", "se", "statistic", "p", "df", "ci_lower", "ci_upper", "pi_lower", "pi_upper")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_three_level_pooled_rows_match_rma_mv_and_robust(case):
    frame = pd.DataFrame({"yi": [float(v) for v in case["data"]["yi"]], "vi": [float(v) for v in case["data"]["vi"]],
                          "study_id": case["data"]["study"]})
    table, _ = pooled_table(frame, methods=(case["method"],), tests=("z", "knha"), dependence="multilevel",
                            rho=case["rho"], metric="smd")
    assert table["test"].tolist() == ["z", "t", "cr2"]
    assert_close(table[["sigma2_between", "sigma2_within"]].iloc[0], case["sigma2"], err_msg="sigma2")
    for _, row in table.iterrows():
        expected = case["tests"][row["test"]]
        assert_close([row[q] for q in QUANTITIES], [reference_number(expected[q]) for q in QUANTITIES],
                     err_msg=f"{case['name']} {row['test']}")
