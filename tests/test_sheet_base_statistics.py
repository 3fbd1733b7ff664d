"""The base statistics the value checks share, computed once per validation, and the signs of ``direction``
(INVENTED rows, not real studies)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance_meta.inputs import effect_sizes as es
from alliance_meta.inputs import sheet as sheet_module
from alliance_meta.inputs.sheet import read_sheet, validate_sheet

TEXT = ("study_id,r,fisher_z,n,f,df,direction,reverse\n"
        "S1,0.3,,50,,,negative,\n"  # direction against the sign of r
        "S2,,19,40,,,,\n"           # tanh 19 = 1 in doubles: converts to no effect size
        "S3,,,60,4.9,58,positive,\n"
        "S4,-0.2,,80,,,positive,yes\n")


def test_a_validation_computes_what_its_value_checks_share_once_and_they_still_fail(tmp_path, monkeypatch):
    path = tmp_path / "sheet.csv"
    path.write_text(TEXT, encoding="utf-8")
    during_checks = {"complete inputs": [], "base statistics": []}
    for name, (module, function) in {"complete inputs": (es, "complete_inputs"),
                                     "base statistics": (es, "base_statistic")}.items():
        original = getattr(module, function)

        def counting(frame, *args, _original=original, _name=name):
            if sheet_module._CHECKED_FRAME.get() is not None:
                during_checks[_name].append(frame)
            return _original(frame, *args)
        monkeypatch.setattr(module, function, counting)
    problems = validate_sheet(read_sheet(path))[1]
    # seven checks start from the checked frame's complete inputs, two from its base statistics: each computed
    # once (the base statistics once per input kind, r and Fisher z and F here)
    assert len(during_checks["complete inputs"]) == 1 and len(during_checks["base statistics"]) == 3
    assert [(p.row, p.column, p.check) for p in problems] == [(2, "direction", "direction_contradicts_sign"),
                                                              (3, "fisher_z", "no_finite_effect")]


def test_what_the_value_checks_share_belongs_to_the_frame_being_checked_only():
    one = pd.DataFrame({"r": [0.3, -0.4], "n": [50.0, 60.0]}, index=[2, 3])
    other = pd.DataFrame({"r": [0.5], "n": [30.0]}, index=[2])
    with sheet_module._value_checks_of(one):
        assert sheet_module._base_statistics(one) is sheet_module._base_statistics(one)
        assert sheet_module.complete_input_table(one) is sheet_module.complete_input_table(one)
        assert sheet_module._base_statistics(other) == {2: ("r", 0.5, "r")}  # another frame: its own
        assert sheet_module._base_statistics(one) == {2: ("r", 0.3, "r"), 3: ("r", -0.4, "r")}
        assert list(sheet_module._first_complete_kind(other)) == ["r"]
    assert sheet_module._base_statistics(one) == {2: ("r", 0.3, "r"), 3: ("r", -0.4, "r")}
    one.loc[2, "r"] = 0.1  # outside the checks nothing is kept: a changed frame gets its new statistics
    assert sheet_module._base_statistics(one)[2] == ("r", 0.1, "r")
    one.loc[2, "r"] = np.nan
    assert not sheet_module.complete_input_table(one).loc[2].any()


@pytest.mark.parametrize("values, expected", [
    (["positive", "neg", "+", "\u2212", " POS ", "Negative"], [1, -1, 1, -1, 1, -1]),
    (["", "  ", None, np.nan, pd.NA, "up", "-", 1, True], [np.nan] * 9),
    (pd.Series(["pos", np.nan, "negative"], dtype="str", index=[7, 3, 5]), [1, np.nan, -1]),
    ([], []),
])
def test_direction_signs_of_each_spelling_blank_and_unknown(values, expected):
    np.testing.assert_array_equal(es.parse_direction(values), np.asarray(expected, dtype=float))
