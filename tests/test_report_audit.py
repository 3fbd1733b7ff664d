"""Regressions found by the audit on real published data (metadat): the report's and manuscript tables'
formatting and wording."""

import math

import numpy as np
import pandas as pd

from alliance_meta.report.tables import manuscript_table, to_latex


def _bayes_frame():
    nan = math.nan
    return pd.DataFrame({
        "parameter": ["mu", "or_new", "bf_mu", "bf_tau"],
        "mean": [0.712, 2.519, nan, nan], "sd": [0.188, 2.621, nan, nan],
        "hdi_lower": [0.357, 0.239, nan, nan], "hdi_upper": [1.099, 5.908, nan, nan],
        "r_hat": [1.0, 1.0, nan, nan], "ess_bulk": [988.0, 6902.0, nan, nan], "ess_tail": [1737.0, 5153.0, nan, nan],
        "exact_mean": [0.716, 2.516, 40.0213, 2.2485e27], "exact_sd": [0.188, np.inf, nan, nan]})


def test_bayes_table_shows_the_exact_bayes_factors_and_an_infinite_sd():
    table = manuscript_table("bayes", _bayes_frame(), "log_or")
    rows = {row[0]: row for row in table.rows}
    assert rows["bf_mu"][1] == "40.02" and rows["bf_tau"][1] == "2.25 \u00d7 10\u00b2\u2077"
    assert rows["or_new"][2] == "\u221e" and rows["mu"][2] == "0.188"
    assert "Bayes factors" in table.note and "infinite" in table.note
    assert "\\infty" in to_latex(table) and "\\times" in to_latex(table)
