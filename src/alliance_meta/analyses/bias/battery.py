"""Every publication-bias test on one set of independent studies, as the rows of ``bias.csv``."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from alliance_meta.analyses.bias.excess_significance import excess_significance
from alliance_meta.analyses.bias.fail_safe import fail_safe_n
from alliance_meta.analyses.bias.henmi_copas import henmi_copas
from alliance_meta.analyses.bias.rank import rank_test
from alliance_meta.analyses.bias.regression import egger_lm_test, egger_test, pet_peese
from alliance_meta.analyses.bias.results import TEST_ORDER, BiasTest, _arrays, all_equal, bias_frame
from alliance_meta.analyses.bias.selection import selection_model
from alliance_meta.analyses.bias.svalue import s_values
from alliance_meta.analyses.bias.trim_and_fill import TrimFillResult, trim_and_fill

EQUAL_VARIANCES = ("not estimable: every study has the same sampling variance, so a regression on the "
                   "standard error (or their rank correlation) is undefined")


def bias_tests(yi, vi, method: str = "REML", metric: str | None = None, level: float = 95,
               trimfill_estimator: str = "L0", trimfill_side: str | None = None,
               selection_steps=(0.025,), pet_peese_alpha: float = 0.05, pet_peese_sided: str = "one",
               fail_safe_alpha: float = 0.05, tes_alpha: float = 0.05,
               svalue_alpha: float = 0.05, weights=None, control=None) -> tuple[pd.DataFrame, TrimFillResult | None]:
    """Every test of this module as the rows of ``bias.csv``, and the trim-and-fill result.

    ``weights``: the GENQ model's weights, one per study (default 1/sqrt(vi)), and ``control``: the model's
    iteration control (None: metafor's defaults), which Egger's test and trim and fill refit with and the test of
    excess significance takes the model's estimate from (as metafor's ``regtest``, ``trimfill`` and ``tes``); the
    other tests do not use the model.

    A test that cannot be computed (e.g. too few studies) gives a row of NaN with the
    reason in ``note``.
    """

    yi, vi = _arrays(yi, vi)
    rows: list[BiasTest] = []
    filled: TrimFillResult | None = None

    def attempt(name, compute, names=None):
        """``compute()``'s rows; where it fails, a row of NaN with the reason for ``name`` (or each of ``names``)."""
        try:
            result = compute()
        except (ValueError, RuntimeError, np.linalg.LinAlgError, ZeroDivisionError) as error:
            rows.extend(BiasTest(test=n, statistic=math.nan, note=f"not estimable: {error}") for n in names or [name])
            return None
        rows.extend(result if isinstance(result, list) else [result])
        return result

    minimum = {"egger": 3, "egger_lm": 3, "rank": 3, "trim_and_fill": 3, "fail_safe_n": 1, "pet": 3,
               "selection_model": 4, "tes": 3, "henmi_copas": 3, "svalue": 3}
    for name, needed in minimum.items():
        if yi.size < needed:
            names = {"pet": ["pet", "peese", "pet_peese"],
                     "fail_safe_n": ["fail_safe_n", "fail_safe_n_orwin", "fail_safe_n_rosenberg"]}.get(name, [name])
            studies = "1 study" if yi.size == 1 else f"{yi.size} studies"
            rows.extend(BiasTest(test=n, statistic=math.nan, note=f"not estimable: k = {studies}, the test needs at "
                                 f"least {needed}") for n in names)
    equal_variances = yi.size >= 3 and all_equal(vi)
    if equal_variances:  # the predictor of the regressions and the rank test is constant
        rows.extend(BiasTest(test=n, statistic=math.nan, note=EQUAL_VARIANCES)
                    for n in ("egger", "egger_lm", "rank", "pet", "peese", "pet_peese"))
    if yi.size >= 3 and not equal_variances:
        attempt("egger", lambda: egger_test(yi, vi, method, level, weights, control))
        attempt("egger_lm", lambda: egger_lm_test(yi, vi, level))
        attempt("rank", lambda: rank_test(yi, vi))
    if yi.size >= 3 and equal_variances and trimfill_side is None:  # metafor stops here too
        rows.append(BiasTest(test="trim_and_fill", statistic=math.nan, note=(
            "not estimable: the side of the missing studies comes from a regression on the standard error, "
            "undefined when every study has the same sampling variance; set bias.trimfill_side")))
    elif yi.size >= 3:
        result = attempt("trim_and_fill", lambda: trim_and_fill(
            yi, vi, method, trimfill_estimator, trimfill_side, level=level, control=control, weights=weights))
        if result is not None:
            rows[-1] = result.as_test()
            filled = result
    if yi.size >= 1:
        for kind in ("Rosenthal", "Orwin", "Rosenberg"):
            attempt("fail_safe_n" if kind == "Rosenthal" else f"fail_safe_n_{kind.lower()}", lambda kind=kind: fail_safe_n(yi, vi, kind, fail_safe_alpha))
    if yi.size >= 3 and not equal_variances:
        attempt("pet_peese", lambda: pet_peese(yi, vi, level, pet_peese_alpha, pet_peese_sided),
                names=("pet", "peese", "pet_peese"))
    if yi.size >= 4:
        result = attempt("selection_model", lambda: selection_model(yi, vi, tuple(selection_steps) + (1.0,), level))
        if result is not None:
            rows[-1] = result.as_test()
    if yi.size >= 3:
        for name, compute in (("tes", lambda: excess_significance(yi, vi, method=method, alpha=tes_alpha,
                                                                  weights=weights, control=control)),
                              ("henmi_copas", lambda: henmi_copas(yi, vi, level)),
                              ("svalue", lambda: s_values(yi, vi, level=level, alpha_select=svalue_alpha))):
            result = attempt(name, compute)
            if result is not None:
                rows[-1] = result.as_test()
    # a test without its statistic and p says so (e.g. a regression with a perfect fit); Henmi-Copas has no
    # statistic, and the exact test of excess significance a p without one
    rows = [row if not (math.isnan(row.statistic) and math.isnan(row.p)) or row.test == "henmi_copas"
            or row.note.startswith("not estimable")
            else replace(row, note="; ".join(filter(None, ["not estimable: undefined for these data", row.note])))
            for row in rows]
    rows.sort(key=lambda row: TEST_ORDER.index(row.test))
    return bias_frame(rows, metric), filled
