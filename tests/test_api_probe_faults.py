"""Faults a probe of the notebook API found: each call below gave a silent or misleading answer before."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alliance_meta as am
from alliance_meta.models import fits, multilevel

DEMO_SHEET = Path(__file__).resolve().parents[1] / "data" / "raw" / "studies.csv"


@pytest.fixture(scope="module")
def outcome():
    rows = am.effect_sizes(am.read_sheet(DEMO_SHEET))
    return rows[rows["family"] == "outcome"].dropna(subset=["yi", "vi"])


def test_effect_sizes_of_an_unchecked_frame_warns_of_complete_inputs_without_an_effect():
    """r = 1.5 and n = 2 on rows of pd.read_csv gave yi = vi = NaN without a word; the next step dropped them."""
    sheet = pd.read_csv(DEMO_SHEET)
    plain = sheet.index[sheet["r"].notna() & sheet["odds_ratio"].isna() & sheet["d"].isna() & sheet["n11"].isna()]
    first, second = plain[:2]
    sheet.loc[first, "r"], sheet.loc[second, "n"] = 1.5, 2
    with pytest.warns(UserWarning) as caught:
        rows = am.effect_sizes(sheet)
    assert len(caught) == 1  # one message for every such row
    message = str(caught[0].message)
    assert rows.loc[[first, second], "yi"].isna().all()
    es_first, es_second = sheet.loc[first, "es_id"], sheet.loc[second, "es_id"]
    assert "2 rows have a complete effect-size input but no effect size" in message
    assert f'index {first} (es_id {es_first}), column r, value "1.5": must lie strictly between -1 and 1' in message
    assert (f'index {second} (es_id {es_second}), column n, value "2": must be at least 4: Fisher\'s z has '
            "variance 1/(n - 3)") in message  # the sheet check's own rule (inputs/sheet.py)
    with warnings.catch_warnings():  # a checked sheet, and rows merely without an input, say nothing
        warnings.simplefilter("error")
        am.effect_sizes(am.read_sheet(DEMO_SHEET))
        am.effect_sizes(pd.read_csv(DEMO_SHEET).assign(r=np.nan))


def test_effect_sizes_names_the_rows_of_a_misspelt_family():
    sheet = pd.read_csv(DEMO_SHEET)
    sheet.loc[[1, 4], "family"] = "outcom"
    with pytest.raises(ValueError, match=r"family is one of outcome, dropout \(a missing one: outcome\), not 'outcom' "
                                         r"\(did you mean 'outcome'\?\) on index 1 \(es_id S001-2\), index 4 "):
        am.effect_sizes(sheet)


#: fit_control.json's SIMULATED reml_maxiter data: REML needs more than metafor's default 100 Fisher scoring iterations
SLOW_REML = {"yi": [-0.706005, 0.591975, 0.792609, -0.0649787, -2.40715, 0.0546002, -0.181678],
             "vi": [0.240235, 0.0634908, 1.37637, 0.00297933, 0.981282, 0.00139767, 0.0382067]}


def test_a_fit_that_does_not_converge_warns_with_the_remedies():
    with pytest.warns(fits.ConvergenceWarning, match=r"REML: Fisher scoring did not converge in 100 iterations, "
                                                     r"so estimate, se, CI and tau2 are NaN .*control=\{'max_"
                                                     r"iterations': 1000, 'step_adjustment': 0.5\}"):
        fitted = am.fit(SLOW_REML["yi"], SLOW_REML["vi"])
    assert not fitted.converged and np.isnan(fitted.estimate)  # returned, not raised
    with pytest.warns(fits.ConvergenceWarning, match=r"tau2_max"):
        am.fit([1e8, .5, .1], [.01, .02, .03], method="PM")
    with warnings.catch_warnings():  # refits and tables report it in their rows, without a warning each
        warnings.simplefilter("error")
        table, _ = am.pooled_table(pd.DataFrame(SLOW_REML), ["REML"], ["z"])
        assert table["converged"].tolist() == [False]
        fitted.refit(test="knha")
        am.fit([.1, .3, .2], [.01, .02, .03])


def test_a_three_level_fit_that_does_not_converge_warns(outcome, monkeypatch):
    monkeypatch.setattr(multilevel, "_projected_newton", lambda objective, x, max_steps=100, descend=False: (x, False, max_steps))
    with pytest.warns(fits.ConvergenceWarning, match=r"did not converge .* Try method='ML'"):
        assert not am.fit(outcome, dependence="multilevel", profile=False).converged


def test_adhoc_of_a_three_level_fit_says_that_its_floor_is_not_applied(outcome):
    """rma.mv refuses test = "adhoc" (and "knha"); the fit read it as t without a word."""
    adhoc = am.fit(outcome, dependence="multilevel", test="adhoc", profile=False)
    t = am.fit(outcome, dependence="multilevel", test="t", profile=False)
    assert adhoc.test == "t" and adhoc.se == t.se
    assert fits.ADHOC_THREE_LEVEL_NOTE in adhoc.note and fits.ADHOC_THREE_LEVEL_NOTE in adhoc.to_frame()["note"][0]
    assert fits.ADHOC_THREE_LEVEL_NOTE not in t.note and fits.ADHOC_THREE_LEVEL_NOTE not in adhoc.with_test("z").note
    assert fits.ADHOC_THREE_LEVEL_NOTE in t.with_test("adhoc").note


def test_a_three_level_fit_without_study_id_says_so(outcome):
    """Each row silently became its own study, and the note said 'every study has one effect size'."""
    fitted = am.fit(outcome.drop(columns="study_id"), dependence="multilevel", profile=False)
    assert fits.NO_STUDY_ID_NOTE in fitted.note and fits.ONE_LEVEL_NOTE not in fitted.note
    assert fits.NO_STUDY_ID_NOTE in fitted.refit().note  # a refit of its rows too
    table, notes = am.pooled_table(outcome.drop(columns="study_id"), ["REML"], ["z"], dependence="multilevel",
                                   profile=False)
    assert all(fits.NO_STUDY_ID_NOTE in note and fits.ONE_LEVEL_NOTE not in note for note in table["note"])
    one_each = outcome.drop_duplicates("study_id")  # studies named, one effect size each: as before
    assert fits.ONE_LEVEL_NOTE in am.fit(one_each, dependence="multilevel", profile=False).note


def test_rows_given_study_ids_after_a_fit_numbered_them_are_named(outcome):
    """The fit's rows keep a mark that their study_id was numbered; names given to those rows later (the mark goes
    with copies) were still taken for no study_id, and the note said the rows had none."""
    one_each = outcome.drop_duplicates("study_id")
    rows = am.fit(one_each.drop(columns="study_id"), dependence="multilevel", profile=False).data.copy()
    rows["study_id"] = list(one_each["study_id"])
    named = am.fit(rows, dependence="multilevel", profile=False)
    assert fits.ONE_LEVEL_NOTE in named.note and fits.NO_STUDY_ID_NOTE not in named.note
    assert fits.NO_STUDY_ID_NOTE in am.fit(rows.assign(study_id=[str(i + 1) for i in range(len(rows))]),
                                           dependence="multilevel", profile=False).note  # the numbers kept
    unnamed = am.fit(outcome.drop(columns="study_id"), dependence="multilevel", profile=False).data
    for rows in (unnamed.iloc[:6], unnamed.iloc[::-1]):  # a subset, or re-sorted, of numbered rows: still unnamed
        assert fits.NO_STUDY_ID_NOTE in am.fit(rows, dependence="multilevel", profile=False).note


@pytest.mark.parametrize("level", [1, 20, 49.9])
def test_a_level_below_50_is_refused_as_a_percentage_slip(level):
    fitted = am.fit([.1, .3, .2], [.01, .02, .03])
    message = rf"level is a percentage, got {level:g} \(a {level:g}% interval\): write e.g. level=95"
    with pytest.raises(ValueError, match=message):
        fitted.conf_int(level)
    with pytest.raises(ValueError, match=message):
        am.fit([.1, .3, .2], [.01, .02, .03], level=level)
    assert fitted.conf_int(50)[0] < fitted.estimate < fitted.conf_int(50)[1]


def test_a_pipeline_job_does_not_repeat_the_notebook_convergence_warning(tmp_path):
    """Each of a family's jobs fits the model with am.fit: a model that did not converge printed the notebook's
    ConvergenceWarning, with control= remedies no config key has, once per job on Snakemake's console; the jobs'
    tables and logs say it. A notebook, without setup_logging, still gets it."""
    import warnings

    import alliance_meta as am
    from alliance_meta.io import setup_logging

    with warnings.catch_warnings(record=True) as caught:  # the filters are restored on leaving
        warnings.simplefilter("always")
        am.fit(SLOW_REML["yi"], SLOW_REML["vi"])
        assert [w.category for w in caught] == [am.ConvergenceWarning]
        setup_logging(tmp_path / "job.log", "job")
        am.fit(SLOW_REML["yi"], SLOW_REML["vi"])
        assert [w.category for w in caught] == [am.ConvergenceWarning]


def test_effect_sizes_of_an_unchecked_frame_warns_of_cells_that_make_no_complete_input():
    """r = "0,3" (a decimal comma in a frame of pd.read_csv) gave yi = vi = NaN and no word: unlike r = 1.5, the row
    has no complete input, which the warning above did not cover. A row merely without an input (r without n)
    still says nothing, as above."""
    sheet = pd.DataFrame({"study_id": ["a", "b", "c", "d"], "r": ["0,3", "0.2", "< .05", 0.2],
                          "n": [50, 60, 70, None]})
    with pytest.warns(UserWarning) as caught:
        rows = am.effect_sizes(sheet)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert rows["yi"].isna().tolist() == [True, False, True, True]
    assert message.startswith("am.effect_sizes: 2 rows have effect-size cells but no complete input")
    assert 'index 0 (es_id a-1), column r, value "0,3": is not a number; write "0.3"' in message
    assert 'index 2 (es_id c-1), column r, value "< .05"' in message
    assert "d-1" not in message


def test_effect_sizes_names_columns_written_in_other_case_and_a_missing_study_id():
    """Columns R and N (as a spreadsheet titles them) were not read, so every row had yi = vi = NaN without a word; a
    frame without study_id raised a bare KeyError."""
    sheet = pd.DataFrame({"Study ID": ["a", "b"], "R": [0.3, 0.2], "N": [50, 60]})
    with pytest.raises(ValueError, match=r"needs a study_id column .*rename 'Study ID'"):
        am.effect_sizes(sheet)
    with pytest.warns(UserWarning, match=r"'R', 'N' are not read; rename them: frame.rename\(columns=\{'R': 'r', "
                                         r"'N': 'n'\}\)"):
        am.effect_sizes(sheet.rename(columns={"Study ID": "study_id"}))
    with warnings.catch_warnings():  # the columns as written: no word
        warnings.simplefilter("error")
        am.effect_sizes(sheet.rename(columns={"Study ID": "study_id", "R": "r", "N": "n"}))


def test_effect_sizes_takes_a_blank_text_cell_for_an_empty_one():
    """A frame built by hand with "" (or " ") for an empty r and n: the row has no input, not "effect-size cells but
    no complete input" (the warning of text that is no number, such as "0,3")."""
    sheet = pd.DataFrame({"study_id": ["a", "b", "c"], "r": [0.3, 0.2, ""], "n": [50, 60, " "]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = am.effect_sizes(sheet)
    assert rows["yi"].isna().tolist() == [False, False, True]


def test_effect_sizes_of_an_unchecked_frame_refuses_a_cell_the_sheet_check_refuses_as_it_refuses_r_of_1_5():
    """n = 50.5 gave an effect size (vi = 1/(n - 3) of a fractional n) without a word, as n1 = 1 and df = 1 did, where
    read_sheet refuses each row (codebook.WHOLE_NUMBER_COLUMNS and the other rules of a column): now yi = vi = NaN
    with the warning of r = 1.5, naming the row, column, value and the sheet check's rule."""
    sheet = pd.DataFrame({"study_id": ["a", "b", "c", "d", "e"], "r": [0.3, None, None, None, 0.2],
                          "n": [50.5, None, None, None, 51], "d": [None, 0.4, None, 0.4, None],
                          "n1": [None, 1, None, 20, None], "n2": [None, 30, None, 30, None],
                          "t": [None, None, 2.5, None, None], "df": [None, None, 1, None, None]})
    with pytest.warns(UserWarning) as caught:
        rows = am.effect_sizes(sheet)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert rows["yi"].isna().tolist() == [True, True, True, False, False]
    assert rows["vi"].isna().tolist() == [True, True, True, False, False]
    assert message.startswith("am.effect_sizes: 3 rows have a complete effect-size input but no effect size")
    assert 'index 0 (es_id a-1), column n, value "50.5": must be a whole number' in message
    assert 'index 1 (es_id b-1), column n1, value "1"' in message
    assert 'index 2 (es_id c-1), column df, value "1"' in message
    assert "d-1" not in message and "e-1" not in message


def test_a_risk_of_bias_judgement_that_is_none_names_its_studies(outcome):
    """'lw' in rob_overall (a typo in a frame edited in the notebook) was named without the study holding it."""
    rows = outcome.copy()
    first = rows["study_id"].iloc[0]
    rows.loc[rows["study_id"] == first, "rob_overall"] = "lw"
    with pytest.raises(ValueError, match=rf"rob_overall holds 'lw' \(study {first}\) \(did you mean 'low'\?\): not a "
                                         r"QUIPS"):
        am.risk_of_bias_sensitivity(am.fit(rows), "quips")


def test_a_year_holding_text_is_not_silently_a_model_of_one_dummy_per_year(outcome):
    """One 'in press' in year (a frame typed in the notebook) made year a factor: am.meta_regression(fit, '~ year')
    fitted one dummy per year instead of the slope, without a word; continuous=() still asks for levels."""
    rows = outcome.astype({"year": object})
    first = rows["study_id"].iloc[0]
    rows.loc[rows["study_id"] == first, "year"] = "in press"
    fitted = am.fit(rows)
    with pytest.raises(ValueError, match=rf"year is a column of numbers \(as am.read_sheet reads it\) but holds "
                                         rf"'in press' \(study {first}\): write a number"):
        am.meta_regression(fitted, "~ year", permutations=0)
    with pytest.raises(ValueError, match="but holds 'in press'"):
        am.moderators(fitted, "year", permutations=0)
    levels = am.meta_regression(fitted, "~ year", permutations=0, continuous=()).to_frame()
    assert "year[in press]" in set(levels["term"])
