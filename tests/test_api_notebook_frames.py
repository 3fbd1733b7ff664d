"""Frames a reviewer has in a notebook, read by pandas rather than am.read_sheet: dates in year, a header of two rows,
study_id as the index, column names with spaces, nullable, pyarrow and categorical dtypes. Each gave a traceback, a
misleading error or other numbers than the same sheet read plainly."""

import datetime
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904, from_excel

import alliance_meta as am

DEMO_SHEET = Path(__file__).resolve().parents[1] / "data" / "raw" / "studies.csv"


@pytest.fixture(scope="module")
def plain():
    return pd.read_csv(DEMO_SHEET)


@pytest.fixture(scope="module")
def outcome(plain):
    rows = am.effect_sizes(plain)
    return rows[rows["family"] == "outcome"].dropna(subset=["yi", "vi"])


def test_dates_in_year_are_their_years(plain, outcome):
    """pd.read_excel gives a date-formatted year cell as a date: citations read "(978307200000000)" (nanoseconds since
    1970) and year entered a meta-regression as one level per date, not as a slope. A year typed into a date-formatted
    cell (2004, shown as 1905-06-26 in Excel's 1900 date system) is the year typed, as am.read_sheet reads it."""
    dated = plain.assign(year=pd.to_datetime(plain["year"].astype(str), format="%Y"))
    dated.loc[0, "year"] = pd.Timestamp("1905-06-26")  # 2004 typed into a date-formatted cell
    expected = plain.assign(year=plain["year"].where(plain.index != 0, 2004))
    with pytest.warns(UserWarning, match=r": index 0 \(es_id S001-1\): 1905-06-26 read as 2004 \(in the 1904 date "
                                         r"system 1905\)\. Check these rows"):
        rows = am.effect_sizes(dated)
    plain_rows = am.effect_sizes(expected)
    assert rows["year"].tolist() == plain_rows["year"].tolist() and rows["year"].iloc[0] == 2004
    assert rows["citation_year"].tolist() == plain_rows["citation_year"].tolist()
    with pytest.warns(UserWarning, match="1905-06-26 read as 2004"):
        no_label = am.effect_sizes(dated.drop(columns="label").assign(year=dated["year"].astype(object)))
    assert no_label["label"].iloc[0] == "Simulated study 001 (2004)"
    # am.fit of rows of one's own keeps no date either: year is a slope, as with numbers
    by_date = outcome.assign(year=pd.to_datetime(outcome["year"].astype(str), format="%Y"))
    slope = am.meta_regression(am.fit(by_date), "~ year", permutations=0).to_frame()
    numbers = am.meta_regression(am.fit(outcome), "~ year", permutations=0).to_frame()
    assert slope["term"].tolist() == ["intercept", "year"]
    np.testing.assert_allclose(slope["estimate"], numbers["estimate"], rtol=1e-12)


def test_a_header_of_two_rows_says_which_row_names_the_columns(plain):
    """pd.read_excel(path, header=[0, 1]) of a sheet with a row of groups above its header: am.effect_sizes said the
    sheet had no study_id column, a second level of names raised a bare KeyError, am.fit asked for yi and vi."""
    small = plain[["study_id", "es_id", "r", "n"]].dropna().head(4)
    grouped = small.set_axis(pd.MultiIndex.from_arrays([["Study", "Study", "Effect", "Effect"], small.columns]), axis=1)
    with pytest.raises(ValueError, match=r"^am.effect_sizes: the frame's header has 2 rows \(its columns are tuples "
                                         r"such as \('Study', 'study_id'\).*frame.columns = frame.columns."
                                         r"get_level_values\(1\)$"):
        am.effect_sizes(grouped)
    under = small.set_axis(pd.MultiIndex.from_arrays([small.columns, [""] * 4]), axis=1)
    with pytest.raises(ValueError, match=r"get_level_values\(0\)$"):
        am.effect_sizes(under)
    rows = am.effect_sizes(small)[["study_id", "yi", "vi"]]
    two = rows.set_axis(pd.MultiIndex.from_arrays([["Study", "Effect", "Effect"], rows.columns]), axis=1)
    with pytest.raises(ValueError, match=r"^am.fit: the frame's header has 2 rows .*get_level_values\(1\)$"):
        am.fit(two)


def test_a_year_typed_into_a_date_cell_of_a_1904_workbook_is_named_with_both_readings(tmp_path):
    """A workbook of the 1904 date system (Excel for Mac before 2011) shows 2004 typed into a date-formatted cell as
    1909-06-27: am.read_sheet knows the workbook's date system and reads 2004, but pd.read_excel gives only the date,
    which am.effect_sizes read as 1909 without a word. It cannot know the date system either: the rows whose year
    depends on it are named with both readings (a date of its own, 2001-03-01, is its year in either)."""
    workbook = openpyxl.Workbook()
    workbook.epoch = CALENDAR_MAC_1904
    workbook.active.append(["study_id", "es_id", "year", "r", "n"])
    workbook.active.append(["S1", "S1-1", from_excel(2004, epoch=workbook.epoch), 0.3, 50])
    workbook.active.append(["S2", "S2-1", datetime.datetime(2001, 3, 1), 0.2, 80])
    for cell in ("C2", "C3"):
        workbook.active[cell].number_format = "yyyy-mm-dd"
    workbook.save(path := tmp_path / "mac.xlsx")
    assert am.read_sheet(path)["year"].tolist() == [2004, 2001]
    frame = pd.read_excel(path)
    assert frame["year"].tolist() == [pd.Timestamp("1909-06-27"), pd.Timestamp("2001-03-01")]
    said = (r"^am.effect_sizes: year holds dates \(pd.read_excel of date-formatted cells\), read as years in Excel's "
            r"1900 date system.*: index 0 \(es_id S1-1\): 1909-06-27 read as 1909 \(in the 1904 date system 2004\)\. "
            r"Check these rows, or read the workbook with am.read_sheet\(path\), which knows its date system$")
    with pytest.warns(UserWarning, match=said):
        rows = am.effect_sizes(frame)
    assert rows["year"].tolist() == [1909, 2001]


def test_study_id_as_the_index_is_the_rows_studies(plain, outcome):
    """rows.set_index("study_id"): am.fit took each of 337 effect sizes for a study of its own (k = 337, not the 125
    studies' composites), without a word; am.effect_sizes said the sheet had no study_id column."""
    fitted = am.fit(outcome)
    indexed = am.fit(outcome.set_index("study_id"))
    assert indexed.k == fitted.k == outcome["study_id"].nunique()
    assert indexed.estimate == fitted.estimate and indexed.tau2 == fitted.tau2
    three = am.fit(outcome.set_index(["study_id", "es_id"]), dependence="multilevel", profile=False)
    assert three.estimate == am.fit(outcome, dependence="multilevel", profile=False).estimate
    rows = am.effect_sizes(plain.set_index(["study_id", "es_id"]))
    pd.testing.assert_series_equal(rows["yi"], am.effect_sizes(plain)["yi"])


def test_study_id_as_the_index_is_not_said_to_be_missing():
    """A three-level fit of one effect size per study with study_id as the index said "the rows have no study_id
    column, so each row is taken as its own study" and asked for study_id, which the fit had read from the index."""
    rng = np.random.default_rng(1)
    rows = pd.DataFrame({"study_id": [f"s{i}" for i in range(8)], "yi": rng.normal(0.3, 0.1, 8), "vi": 0.02})
    plain = am.fit(rows, dependence="multilevel", profile=False)
    indexed = am.fit(rows.set_index("study_id"), dependence="multilevel", profile=False)
    assert indexed.note == plain.note and "no study_id" not in indexed.note and repr(indexed) == repr(plain)


def test_column_names_with_spaces_around_them_are_named():
    """" r" and "n " (read_excel of header cells typed with a space) were not read, so every row had no effect size,
    without the warning that names "R" and "N"."""
    sheet = pd.DataFrame({"study_id": ["a", "b"], " r": [0.3, 0.2], "n ": [50, 60]})
    with pytest.warns(UserWarning, match=r"' r', 'n ' are not read; rename them: frame.rename\(columns=\{' r': 'r', "
                                         r"'n ': 'n'\}\)"):
        am.effect_sizes(sheet)


def test_a_header_of_two_rows_matches_names_as_read_sheet_does(plain):
    """The hint for a header of two rows matched the codebook's names exactly, where am.read_sheet reads a header cell
    "Study ID" or " R" as study_id or r (sheet.column_key): a second row of such names was told to be no row of
    column names. Names in the first row below a header of other names (pd.read_excel of a sheet with a title row)
    said only that the sheet had no study_id column."""
    small = plain[["study_id", "es_id", "r", "n"]].dropna().head(4)
    names = ["Study ID", "ES-ID", " R", "N "]
    grouped = small.set_axis(pd.MultiIndex.from_arrays([["Study", "Study", "Effect", "Effect"], names]), axis=1)
    with pytest.raises(ValueError, match=r"frame.columns = frame.columns.get_level_values\(1\)$"):
        am.effect_sizes(grouped)
    titled = pd.DataFrame([names, *small.to_numpy().tolist()], columns=["Study", "Unnamed: 1", "Effect", "Unnamed: 3"])
    said = (r"^am.effect_sizes: the frame's first row holds its column names \('Study ID', 'ES-ID', ' R', 'N '\), as "
            r"pd.read_excel\(path\) reads a header with a row above it: read it with pd.read_excel\(path, header=1\)$")
    with pytest.raises(ValueError, match=said):
        am.effect_sizes(titled)


def test_digits_other_than_0_to_9_are_named_with_the_number_to_write():
    """0.500 and 120 in Arabic-Indic digits: no number to pandas, so no effect size, and the warning said "is not a
    number; write" the same cell again. It names the digits and the value in 0-9, as am.read_sheet does."""
    sheet = pd.DataFrame({"study_id": ["a", "b"], "r": ["\u0660.\u0665\u0660\u0660", "0.2"],
                          "n": ["\u0661\u0662\u0660", "60"]})
    refused = "is written in Arabic-Indic digits, which are not read: write it in the digits 0-9"
    said = (f'index 0 \\(es_id a-1\\), column r, value "\u0660.\u0665\u0660\u0660": {refused}, "0.500"; '
            f'index 0 \\(es_id a-1\\), column n, value "\u0661\u0662\u0660": {refused}, "120"\\.')
    with pytest.warns(UserWarning, match=said):
        rows = am.effect_sizes(sheet)
    assert np.isnan(rows["yi"].iloc[0]) and rows["yi"].iloc[1] == pytest.approx(np.arctanh(0.2))


@pytest.mark.parametrize("variant", ["nullable", "pyarrow", "categorical", "booleans"])
def test_pandas_dtypes_give_the_numbers_of_the_plain_frame(plain, variant):
    """Int64/Float64/string, pyarrow-backed columns, categorical text and numbers, booleans for yes/no: the same
    effect sizes, fit and moderator test as the frame of pd.read_csv (a guard: these passed when checked)."""
    frame = {"nullable": lambda: plain.convert_dtypes(),
             "pyarrow": lambda: pd.read_csv(DEMO_SHEET, dtype_backend="pyarrow"),
             "categorical": lambda: plain.astype({column: "category" for column in ("study_id", "family", "rater", "r",
                                                                                    "n", "reverse")}),
             "booleans": lambda: plain.assign(reverse=plain["reverse"].map({"yes": True, "no": False}),
                                              internet=plain["internet"].map({"yes": True, "no": False}))}[variant]()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows, reference = am.effect_sizes(frame), am.effect_sizes(plain)
    np.testing.assert_array_equal(rows["yi"].to_numpy(dtype=float), reference["yi"].to_numpy(dtype=float))
    np.testing.assert_array_equal(rows["vi"].to_numpy(dtype=float), reference["vi"].to_numpy(dtype=float))
    fits = [am.fit(r[r["family"] == "outcome"].dropna(subset=["yi", "vi"])) for r in (rows, reference)]
    assert fits[0].estimate == fits[1].estimate and fits[0].k == fits[1].k
    tests = [am.moderators(fitted, "internet", permutations=0).to_frame()["qm"].iloc[0] for fitted in fits]
    assert tests[0] == pytest.approx(tests[1], rel=1e-12)


def test_a_column_named_twice_is_a_value_error_naming_it():
    """Two columns named n (a sheet pasted beside another) stopped am.effect_sizes with pandas' error inside the
    conversion."""
    frame = pd.DataFrame([["S1", 0.3, 120, 80], ["S2", 0.2, 90, 60]], columns=["study_id", "r", "n", "n"])
    with pytest.raises(ValueError, match=r"named twice: 'n'; keep one of each"):
        am.effect_sizes(frame)


def test_names_in_the_first_row_of_numbered_columns_are_not_told_to_skip_a_row(plain):
    """A frame of rows given with their header row (pd.DataFrame(rows) of csv.reader's, pd.read_csv(path,
    header=None)) has numbered columns and its names in the first row: pd.read_excel(path, header=1), as the error
    advised, would have taken the first study's row for the header."""
    small = plain[["study_id", "es_id", "r", "n"]].dropna().head(4)
    rows = pd.DataFrame([list(small.columns), *small.to_numpy().tolist()])
    with pytest.raises(ValueError, match=r"first row holds its column names \('study_id', 'es_id', 'r', 'n'\), its "
                                         r"columns are numbered .*frame.columns = frame.iloc\[0\]; "
                                         r"frame = frame.iloc\[1:\]$"):
        am.effect_sizes(rows)
    fixed = rows.iloc[1:].set_axis(rows.iloc[0].tolist(), axis=1)
    assert am.effect_sizes(fixed)["yi"].notna().all()
