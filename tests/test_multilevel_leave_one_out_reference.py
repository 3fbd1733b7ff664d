"""The three-level leave-one-study-out table (leave_one_out.csv under dependence: multilevel) beyond
test_multilevel_sensitivity_reference.py: I^2 of each level of every deletion fit, and the deletion fits' intervals
and tests under the cr2 test (metafor's robust(..., clubSandwich = TRUE) of rma.mv(..., subset =)), from
tests/reference/multilevel_leave_one_out.R -> multilevel_leave_one_out.json, to 1e-6 relative."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_reference

from alliance_meta.analyses.sensitivity import multilevel as mls

CASES = load_reference("multilevel_leave_one_out")["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_deletion_fits_have_metafors_i2_by_level_and_cr2_inference(case):
    data = case["data"]
    result = mls.leave_one_study_out([float(v) for v in data["yi"]], [float(v) for v in data["vi"]], data["study"],
                                     method=case["method"], rho=case["rho"], test="cr2")
    table, expected = result.deletions, pd.DataFrame(case["deletions"])
    assert table["study_id"].tolist() == expected["study"].astype(str).tolist()
    assert_close(table["estimate"], expected["estimate"], err_msg="estimate")
    for columns, key in ((["sigma2_between", "sigma2_within"], "sigma2"), (["i2_between", "i2_within"], "i2")):
        assert_close(table[columns].to_numpy().ravel(), np.ravel(expected[key].tolist()), err_msg=key)
    robust = pd.DataFrame(expected["cr2"].tolist())
    for column in ("se", "statistic", "p", "ci_lower", "ci_upper"):
        assert_close(table[column], robust[column], err_msg=f"cr2 {column}")
