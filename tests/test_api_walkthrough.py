"""A reviewer's walk through the API in a notebook: what the one-line results say and what is said, not done
silently (numbers written as text, rows a moderator left out, a three-level model whose variance split is not
identified), and analyses that leak no numpy warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import alliance_meta as am


def rows(k: int = 8) -> pd.DataFrame:
    """k independent effect sizes (simulated), a categorical moderator ``mod`` and a slope ``x``."""
    rng = np.random.default_rng(1)
    return pd.DataFrame({"yi": rng.normal(0.25, 0.15, k), "vi": rng.uniform(0.005, 0.03, k),
                         "study_id": [f"S{i}" for i in range(k)], "mod": list("aabbabab")[:k],
                         "x": rng.normal(size=k)})


def test_numbers_written_as_text_are_read_with_a_warning_naming_the_column():
    """yi, vi or GENQ weights held as text ('0.3', a spreadsheet's text cells) were read as numbers without a word."""
    data = rows()
    as_text = data.assign(vi=data["vi"].map(repr))
    with pytest.warns(UserWarning, match=r"numbers written as text are read as numbers: vi on 8 rows \(e\.g\. row 0: "
                                         r"'0\.0187.*frame\['vi'\] = pd\.to_numeric\(frame\['vi'\]\)"):
        fitted = am.fit(as_text)
    assert fitted.estimate == am.fit(data).estimate  # read as the numbers they are
    with pytest.warns(UserWarning, match=r"yi on 8 rows .*; vi on 8 rows .*yi = pd\.to_numeric\(yi\)"):
        am.fit([str(y) for y in data["yi"]], [str(v) for v in data["vi"]])
    with pytest.warns(UserWarning, match="weights on 8 rows"):
        am.fit(data, method="GENQ", weights=["1"] * 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numbers, nullable floats, None: nothing to say
        am.fit(data)
        am.fit(data.assign(vi=pd.array(data["vi"], dtype="Float64")))
        am.fit(data["yi"].to_numpy(), data["vi"].tolist())


def test_numbers_written_as_text_warn_once_per_fit_and_not_from_pooled_table():
    """The warning lived in as_frame, which pooled_table calls once for the metric, once for the composites and
    once per method of a three-level table: one table warned up to three times, each naming am.fit, at a line
    two frames above the caller."""
    as_text = rows().assign(yi=lambda frame: frame["yi"].map(repr), study_id=list("AABBCCDD"))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        am.fit(as_text, dependence="multilevel")
        assert len(said) == 1 and said[0].filename == __file__
        am.pooled_table(as_text, methods=["REML", "DL"])
        am.pooled_table(as_text, methods=["REML", "ML"], dependence="multilevel")
    assert len(said) == 1, [str(warning.message) for warning in said]


def test_selection_models_leak_no_numpy_overflow_warning():
    """negexppow's p ** (1 / delta2) overflowed where the optimiser tried delta2 just below 0: numpy's
    'overflow encountered in power' reached the notebook (four times), for a result that is fine."""
    fitted = am.fit(rows(), metric="z")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table = am.selection_models(fitted, types=["negexppow"]).to_frame()
    assert bool(table["converged"].iloc[0]) and np.isfinite(table["estimate"].iloc[0])


def test_moderator_results_say_how_many_effect_sizes_they_left_out():
    """A row without the moderator's value was left out with only k_dropped in the table: the one line said
    k = 7 of a fit of 8 without a word."""
    data = rows().assign(mod=["a", None, "b", "b", "a", "b", "a", "b"], x=[1.0, np.nan, 2, 3, 4, 5, 6, 7])
    fitted = am.fit(data)
    assert repr(am.moderators(fitted, "mod", permutations=0)).startswith(
        "<ModeratorResult mod: k = 7 (1 effect size without a value of mod left out), QM(1) = ")
    assert am.meta_regression(fitted, "~ x", permutations=0).notes == ("1 effect size without a value of x left out",)
    both = am.meta_regression(fitted, "~ mod + x", permutations=0)
    assert both.notes == ("1 effect size without a value of mod or x left out",)
    assert repr(both) == "<meta_regression: 3 rows; 1 effect size without a value of mod or x left out>"
    complete = rows()
    assert "left out" not in repr(am.moderators(am.fit(complete), "mod", permutations=0))
    assert am.meta_regression(am.fit(complete), "~ x", permutations=0).notes == ()


def test_a_three_level_fit_says_in_its_one_line_what_it_could_not_estimate():
    """repr of a three-level fit showed k and tau2 only: a model of one effect size per study (its sigma2 split not
    identified), of one study (sigma2_between fixed at 0) or of rows without study_id looked like any other."""
    data = rows()
    one_each = am.fit(data, dependence="multilevel")
    assert repr(one_each).startswith("<MultilevelFit REML/z: k = 8 in 8 studies, estimate = ")
    assert f"sigma2 = ({one_each.sigma2[0]:.4g}, {one_each.sigma2[1]:.4g})" in repr(one_each)
    assert repr(one_each).endswith("; one effect size per study: sigma2 split not identified, see .note>")
    unnamed = am.fit(data.drop(columns="study_id"), dependence="multilevel")
    assert repr(unnamed).endswith("; no study_id: each row a study: sigma2 split not identified, see .note>")
    one_study = am.fit(data.assign(study_id="A"), dependence="multilevel")
    assert repr(one_study).startswith("<MultilevelFit REML/z: k = 8 in 1 study, ")
    assert repr(one_study).endswith("; a variance component fixed at 0, see .note>")
    nested = data.assign(study_id=["A", "A", "B", "B", "C", "C", "D", "D"])
    assert repr(am.fit(nested, dependence="multilevel")).endswith("%>")  # identified: nothing to point to
    # the univariate fit: the composites it pooled, and a pointer to its note
    assert repr(am.fit(nested)).startswith("<UnivariateFit REML/z: k = 4 study composites of 8 effect sizes, ")
    assert repr(am.fit(data.assign(study_id="A"))).startswith("<UnivariateFit REML/z: k = 1 study composite of 8 ")
    assert repr(am.fit(data.iloc[:1])).endswith("; see .note>") and am.fit(data.iloc[:1]).note
    assert repr(am.fit(data)).endswith("%>")


def test_a_result_of_one_row_says_row():
    assert repr(am.cumulative(am.fit(rows().iloc[:1]))).startswith("<cumulative: 1 row;")


def test_gosh_of_few_subsets_says_which_studies_have_no_shift():
    """With a few random subsets some studies are in all or none of them: their shift was NaN in the table with
    nothing in the one line or the log saying why."""
    fitted = am.fit(rows())
    few = am.gosh(fitted, subsets=2)
    undefined = few.to_frame().loc[few.to_frame()["estimate_shift"].isna(), "study_id"].tolist()
    assert undefined  # S0 is in neither subset, S1 and S5 in both
    said = (f"{len(undefined)} studies in every or in no fitted subset of the 2 ({', '.join(undefined)}): their "
            "shift is undefined (NaN); more subsets (subsets=) give each study some subsets with it and some without")
    assert few.notes == (said,) and repr(few).endswith(f"; {said}>") and said in few.messages()
    assert am.gosh(fitted, subsets=50).notes == ()


def test_refits_of_a_three_level_fit_of_one_effect_size_per_study_say_their_split_is_arbitrary():
    """am.leave_one_out of such a fit listed sigma2_between and sigma2_within per refit (an arbitrary split of
    tau2) with nothing saying they are not identified."""
    data = rows()
    one_each = am.fit(data, dependence="multilevel")
    said = f"in the fit and its refits, {one_each.one_level_note}"
    for result in (am.leave_one_out(one_each), am.sensitivity(one_each)):
        assert said in result.notes
    assert "sigma2_between" in am.leave_one_out(one_each).to_frame()
    nested = am.fit(data.assign(study_id=["A", "A", "B", "B", "C", "C", "D", "D"]), dependence="multilevel")
    assert not any("not separately identified" in note for note in am.leave_one_out(nested).notes)
