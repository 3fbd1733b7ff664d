"""Frames a reviewer has in a notebook, read by pandas rather than am.read_sheet: dates in year, a header of two rows,
study_id as the index, column names with spaces, nullable, pyarrow and categorical dtypes. Each gave a traceback, a
misleading error or other numbers than the same sheet read plainly."""

import datetime
import io
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


def test_a_sample_size_written_as_text_is_read_as_a_number(outcome):
    """n held as text (pd.read_excel of cells typed as text, '120 ') stopped am.fit with pandas' "agg function failed
    [how->max,dtype->object]" from aggregating the study composites; it is read as yi and vi are, with a warning."""
    texts = outcome.astype({"n": object})
    shown = texts.index[texts["n"].notna()][:3]
    texts.loc[shown, "n"] = [f" {value:.0f} " for value in outcome.loc[shown, "n"]]
    with pytest.warns(UserWarning, match=r"numbers written as text are read as numbers: n on 3 rows"):
        fitted = am.fit(texts, metric="z")
    plain = am.fit(outcome, metric="z")
    assert fitted.data["n"].dtype == float
    pd.testing.assert_series_equal(fitted.data["n"], plain.data["n"])
    pd.testing.assert_frame_equal(am.psychometric(fitted, {}).to_frame(), am.psychometric(plain, {}).to_frame())


def test_a_sample_size_that_is_no_number_is_named_with_its_row(outcome):
    """'1,200' or 'n/a' in n gave the same pandas TypeError; now one line naming the row and the cell."""
    texts = outcome.astype({"n": object})
    row = texts.index[texts["n"].notna()][1]
    texts.loc[row, "n"] = "1,200"
    with pytest.raises(ValueError, match=rf"n \(the sample size\) is not a number on row {row} \('1,200'\)"):
        am.fit(texts)


@pytest.mark.parametrize("written, name", [("YI", "yi"), ("Vi", "vi"), ("Study ID", "study_id")])
def test_yi_vi_and_study_id_in_other_case_are_named(outcome, written, name):
    """'YI' was "missing: yi, vi" without naming the column there; 'Study ID' was not read, and each effect size
    pooled as a study of its own (337 'studies' of the demo's 125) without a word."""
    with pytest.raises(ValueError, match=rf"rename '{written}', frame.rename\(columns=\{{'{written}': '{name}'\}}\)"):
        am.fit(outcome.rename(columns={name: written}))


def test_the_levels_of_a_groupby_index_are_the_rows_variables(outcome):
    """After rows.groupby(["study_id", "rater"]).agg(...), study_id was read from the index but rater was dropped:
    am.moderators(fit, "rater") said rater is no column of the fit's rows."""
    grouped = outcome.groupby(["study_id", "rater"]).agg(yi=("yi", "mean"), vi=("vi", "mean"))
    fitted, flat = am.fit(grouped), am.fit(grouped.reset_index())
    assert repr(fitted) == repr(flat)
    pd.testing.assert_frame_equal(am.moderators(fitted, "rater", permutations=0).subgroups,
                                  am.moderators(flat, "rater", permutations=0).subgroups)


def test_genq_weights_as_a_series_are_paired_by_label(outcome):
    """GENQ weights given as a Series were paired by position: sorted (w.sort_values()) or indexed by study_id in
    another order, each study got another study's weight without a word (yi and vi Series are paired by label)."""
    one = outcome.groupby("study_id").head(1)
    weights = 1 / np.sqrt(one["vi"]) * np.linspace(0.5, 2, len(one))
    plain = am.fit(one, method="GENQ", weights=weights.to_numpy())
    by_study = pd.Series(weights.to_numpy(), index=one["study_id"]).iloc[::-1]
    for given in (weights.sort_values(), by_study):
        fitted = am.fit(one, method="GENQ", weights=given)
        assert fitted.estimate == plain.estimate and np.array_equal(fitted.weights, plain.weights)
    studies = pd.unique(outcome["study_id"])  # several effect sizes per study: one weight per study composite
    per_study = pd.Series(np.linspace(1, 3, studies.size), index=studies)
    assert (am.fit(outcome, method="GENQ", weights=per_study.iloc[::-1]).estimate
            == am.fit(outcome, method="GENQ", weights=per_study.to_numpy()).estimate)


def test_2x2_counts_written_as_text_that_is_no_number_are_named():
    """'three' in n11 (a frame of the notebook) left that study's table out of the MH, Peto and GLMM rows of
    am.pooled_table, whose note only counted the rows with counts; text numbers still read as numbers."""
    counts = pd.DataFrame({"n11": [20, 12, 9, 30], "n12": [5, 3, 4, 6], "n21": [15, 10, 6, 25], "n22": [9, 4, 7, 8]})
    log_or = np.log(counts["n11"] * counts["n22"] / (counts["n12"] * counts["n21"]))
    rows = counts.assign(study_id=["C1", "C2", "C3", "C4"], yi=log_or, vi=(1 / counts).sum(axis=1))
    plain = am.pooled_table(rows, metric="log_or")[0]
    texts = rows.astype({"n11": object, "n22": object})
    texts.loc[1, "n11"], texts.loc[2, "n22"] = "three", " 7 "
    with pytest.raises(ValueError, match=r"2x2 counts that are no number: n11 of study C2 \('three'\); write each"):
        am.pooled_table(texts, metric="log_or")
    texts.loc[1, "n11"] = "12"
    pd.testing.assert_frame_equal(am.pooled_table(texts, metric="log_or")[0], plain)


def _studies(ids) -> pd.DataFrame:
    """Six studies of one effect size each (simulated), GENQ weights 1..6 in the rows' order in ``w``."""
    rng = np.random.default_rng(1)
    return pd.DataFrame({"study_id": ids, "yi": rng.normal(0.3, 0.2, 6), "vi": rng.uniform(0.01, 0.05, 6),
                         "w": [1.0, 2, 3, 4, 5, 6]})


def test_genq_weights_indexed_by_numeric_study_ids_are_paired_by_label():
    """Numeric study ids: rows.groupby("study_id")["w"].first() (its index the ids, sorted) was paired by position,
    each study given another's weight without a word (estimate 0.3224 for the rows' 0.3474)."""
    rows = _studies([13, 11, 16, 12, 15, 14])
    by_position = am.fit(rows, method="GENQ", weights=rows["w"].to_numpy())
    for given in (rows.groupby("study_id")["w"].first(), rows.set_index(rows["study_id"] * 1.0)["w"].sort_index()):
        fitted = am.fit(rows, method="GENQ", weights=given)
        assert np.array_equal(fitted.weights, by_position.weights) and fitted.estimate == by_position.estimate


def test_genq_weights_that_name_some_other_study_are_refused():
    """A Series indexed by the study ids with one label wrong (S7 for S6) was paired by position, silently."""
    rows = _studies(["S3", "S1", "S6", "S2", "S5", "S4"])
    typo = rows.set_index("study_id")["w"].rename(index={"S6": "S7"}).sort_index()
    with pytest.raises(ValueError, match=r"weights is a pandas Series with labels that name only some of the studies "
                                         r"\(not a study: S7; studies without a weight: S6\)"):
        am.fit(rows, method="GENQ", weights=typo)


def test_genq_weights_of_a_default_index_pair_by_position():
    """pd.Series(w) (index 0..k-1) pairs by position, as documented, also with the rows sorted (their index labels
    then a permutation of 0..k-1, by which the weights were reordered)."""
    rows = _studies(["S3", "S1", "S6", "S2", "S5", "S4"]).sort_values("yi")
    weights = np.linspace(1, 3, 6)
    assert (am.fit(rows, method="GENQ", weights=pd.Series(weights)).estimate
            == am.fit(rows, method="GENQ", weights=weights).estimate)


def test_genq_weights_without_study_ids_are_not_paired_with_the_numbers_given_to_the_studies():
    """Without study ids the studies are numbered 1..k by position; weights whose index labels are those numbers in
    another order (a re-sorted subset of a frame) were paired with them, each study given another's weight."""
    rng = np.random.default_rng(5)
    rows = pd.DataFrame({"yi": rng.normal(.3, .2, 4), "vi": rng.uniform(.01, .05, 4), "w": [1., 5., 2., 9.]})
    rows = rows.iloc[[0, 3, 1, 2]]
    rows = rows[rows.index != 0]  # index labels 3, 1, 2
    expected = am.fit(rows, method="GENQ", weights=rows["w"].to_numpy())
    for fitted in (am.fit(rows, method="GENQ", weights=rows["w"]),
                   am.fit(rows["yi"].to_numpy(), rows["vi"].to_numpy(), method="GENQ", weights=rows["w"])):
        assert np.array_equal(fitted.weights, [9., 5., 2.]) and fitted.estimate == expected.estimate
    shifted = rows.set_axis([1, 2, 4])  # labels that are partly "study numbers": by position, not an error
    assert am.fit(shifted["yi"].to_numpy(), shifted["vi"].to_numpy(), method="GENQ",
                  weights=shifted["w"]).estimate == expected.estimate


def test_genq_weights_of_a_column_of_the_rows_are_theirs_whatever_the_ids_they_would_name():
    """Integer study ids that are the same set as the rows' labels (a filtered frame): rows["w"] was paired by the
    ids its labels would name, each study given another's weight (0.3909 for the weighted mean's 0.4818)."""
    rows = pd.DataFrame({"study_id": [2, 0, 1, 9, 4], "yi": [.1, .5, .3, .2, .7], "vi": [.01, .02, .05, .1, .03],
                         "w": [1., 5, 2, 7, 3]})
    rows = rows[rows["study_id"] != 9]
    fitted = am.fit(rows, method="GENQ", weights=rows["w"])
    assert np.array_equal(fitted.weights, rows["w"].to_numpy())
    assert fitted.estimate == am.fit(rows, method="GENQ", weights=rows["w"].to_numpy()).estimate
    assert np.isclose(fitted.estimate, np.average(rows["yi"], weights=rows["w"]), rtol=1e-12)


@pytest.mark.parametrize("marker", ["n/a", "NA", " . "])
def test_the_sheets_missing_markers_in_year_are_empty(marker):
    """year = 'n/a' in a notebook frame was "a column of numbers but holds 'n/a'", though am.read_sheet reads it as
    empty; it is left out of the slope as an empty cell is."""
    rows = _studies([f"S{i}" for i in range(6)]).assign(year=["2001", "2003", "2002", "2006", "2004", "2005"])
    marked, empty = rows.copy(), rows.copy()
    marked.loc[3, "year"], empty.loc[3, "year"] = marker, None
    expected = am.moderators(am.fit(empty), "year", permutations=0)
    result = am.moderators(am.fit(marked), "year", permutations=0)
    assert result.row["k_dropped"] == 1 and result.analysis.continuous
    pd.testing.assert_frame_equal(result.coefficients, expected.coefficients)


def _arrow(column: str, value) -> pd.DataFrame:
    """A simulated frame with ``value`` in ``column`` of its third row, read by pd.read_csv(dtype_backend="pyarrow")."""
    rng = np.random.default_rng(3)
    rows = pd.DataFrame({"study_id": [f"S{i}" for i in range(8)], "yi": np.tanh(rng.normal(0.25, 0.1, 8)).round(3),
                         "vi": rng.uniform(0.01, 0.03, 8).round(4), "n": rng.integers(40, 200, 8),
                         "year": 2000 + np.arange(8), "rxx": 0.8, "n11": 10, "n12": 20, "n21": 12, "n22": 18})
    rows = rows.astype(object)
    rows.loc[2, column] = value
    return pd.read_csv(io.StringIO(rows.to_csv(index=False)), dtype_backend="pyarrow")


@pytest.mark.parametrize("column, value, call, message", [
    ("n", "x", lambda rows: am.fit(rows), r"n \(the sample size\) is not a number on row 2 \('x'\)"),
    ("rxx", "85%", lambda rows: am.psychometric(am.fit(rows, metric="z")), r"rxx on S2 \('85%'\)"),
    ("year", "in press", lambda rows: am.moderators(am.fit(rows), "year", permutations=0),
     r"year is a column of numbers .* holds 'in press' \(study S2\)"),
    ("n11", "three", lambda rows: am.pooled_table(rows, metric="log_or"), r"n11 of study S2 \('three'\)")])
def test_text_that_is_no_number_is_named_in_a_pyarrow_frame(column, value, call, message):
    """pyarrow's to_numeric makes text that is no number NaN, not missing: 'x' in n, '85%' in rxx, 'in press' in
    year and 'three' in n11 passed these checks, each read as not reported (or year as levels) without a word."""
    rows = _arrow(column, value)
    assert str(rows[column].dtype) == "string[pyarrow]"
    with pytest.raises(ValueError, match=message):
        call(rows)


def test_two_n_columns_and_a_mis_cased_index_are_named(outcome):
    """pd.concat([rows, rows[["n"]]], axis=1) gave a pandas error; an index named 'Study ID' was told
    frame.rename(columns=...), which does not rename an index; the advice given works."""
    with pytest.raises(ValueError, match="more than one column named n: keep one of each"):
        am.fit(pd.concat([outcome, outcome[["n"]]], axis=1))
    indexed = outcome.rename(columns={"study_id": "Study ID"}).set_index("Study ID")
    with pytest.raises(ValueError, match=r"rename the index 'Study ID', "
                                         r"frame.rename_axis\(index=\{'Study ID': 'study_id'\}\)"):
        am.fit(indexed)
    assert repr(am.fit(indexed.rename_axis(index={"Study ID": "study_id"}))) == repr(am.fit(outcome))


def test_2x2_counts_of_a_frame_without_study_id_are_named_by_row():
    """Without study_id, 'three' at index label 1 was named "study 1", which the fit calls study 2: "row 1", as
    am.fit names rows."""
    rows = pd.DataFrame({"n11": [20, 12, 9, 30], "n12": [5, 3, 4, 6], "n21": [15, 10, 6, 25], "n22": [9, 4, 7, 8],
                         "yi": [0.1, 0.2, 0.3, 0.4], "vi": 0.05}).astype({"n11": object})
    rows.loc[1, "n11"] = "three"
    with pytest.raises(ValueError, match=r"n11 of row 1 \('three'\)"):
        am.pooled_table(rows, metric="log_or")
