"""Tables written by alliance_meta.io.write_table read back bit for bit with read_table."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from alliance_meta.io import fit_log_line, read_table, write_table

EDGE_VALUES = [
    1e-9, 1 / 3, 2 / 3, 0.1 + 0.2, 0.1, 1e300, -1e300, sys.float_info.max, -sys.float_info.max,
    sys.float_info.min,                # smallest normal
    sys.float_info.min * (1 - 2**-52),  # largest subnormal
    5e-324, -5e-324,                   # smallest subnormals
    1 + sys.float_info.epsilon, 1 - sys.float_info.epsilon / 2, 2**53 + 2.0, 123456789.123456789,
    np.pi, -np.e, np.tanh(0.3), np.nextafter(0.25, 1), 0.0, -0.0, np.inf, -np.inf, np.nan,
]


def bits(values) -> np.ndarray:
    """The IEEE 754 bit patterns, so that -0.0 != 0.0 and NaN positions count."""
    return np.ascontiguousarray(values, dtype=np.float64).view(np.int64)


def round_trip(frame: pd.DataFrame, tmp_path) -> pd.DataFrame:
    path = tmp_path / "table.csv"
    write_table(frame, path)
    return read_table(path)


def test_edge_values_round_trip_bitwise(tmp_path):
    values = np.array(EDGE_VALUES, dtype=float)
    frame = pd.DataFrame({"study_id": [f"s{i}" for i in range(values.size)], "x": values, "reversed": values[::-1]})
    back = round_trip(frame, tmp_path)
    assert list(back.columns) == ["study_id", "x", "reversed"]
    for column in ("x", "reversed"):
        assert back[column].dtype == np.float64
        mismatch = bits(back[column]) != bits(frame[column])
        assert not mismatch.any(), f"{column}: {frame[column][mismatch].tolist()} read back as {back[column][mismatch].tolist()}"


def test_values_that_six_decimals_would_lose_are_kept(tmp_path):
    values = np.array([1e-9, 1 / 3, 0.1 + 0.2, 1e300, 5e-324, 0.123456789012345])
    back = round_trip(pd.DataFrame({"x": values}), tmp_path)["x"].to_numpy()
    assert back.tolist() == values.tolist()
    assert float("%.6f" % values[0]) != values[0]  # what a fixed-point format would have written


def test_values_are_written_as_the_shortest_decimal_that_reads_back_the_same(tmp_path):
    # a coded r of 0.18 must read 0.18 in effects.csv, not 0.17999999999999999 ("%.17g"), which looks changed
    values = np.array([0.18, -0.2, 2.43, 0.1 + 0.2, 125.0, 3000.0, -0.0, 1e16, 5e-05, 1e-300, np.nan, np.inf, -np.inf])
    path = tmp_path / "table.csv"
    write_table(pd.DataFrame({"x": values, "i": 1}), path)
    assert [line[:-2] for line in path.read_text().split("\n")[1:-1]] == [
        "0.18", "-0.2", "2.43", "0.30000000000000004", "125", "3000", "-0", "1e+16", "5e-05", "1e-300", "", "inf", "-inf"]


def test_nullable_floats_and_a_repeated_column_name_are_written(tmp_path):
    # pandas' Float64 kept "%.17g" (0.17999999999999999); a repeated column name crashed the loop by name
    frame = pd.DataFrame({"a": [0.18, np.nan], "b": pd.array([0.18, None], dtype="Float64"), "c": ["=x", "y"],
                          "d": [1, 2], "e": pd.Series([0.18, None], dtype=object)})  # floats held as objects
    frame.columns = ["a", "b", "c", "a", "e"]
    path = tmp_path / "table.csv"
    write_table(frame, path)
    assert path.read_text().splitlines() == ["a,b,c,a,e", "0.18,0.18,'=x,1,0.18", ",,y,2,"]


def test_nan_positions_and_text_survive(tmp_path):
    x = np.array([np.nan, 0.5, np.nan, -0.0, 1e-300, np.nan])
    frame = pd.DataFrame({"study_id": ["001", "b", "NA-study", "d", "e", "f"], "x": x,
                          "note": ["", "tau^2 set to 0", None, "ok", "x", ""]})
    back = round_trip(frame, tmp_path)
    assert back["study_id"].tolist() == ["001", "b", "NA-study", "d", "e", "f"]
    np.testing.assert_array_equal(np.isnan(back["x"].to_numpy()), np.isnan(x))
    assert (bits(back["x"]) == bits(x))[~np.isnan(x)].all()


def test_categorical_moderators_coded_as_numbers_keep_their_levels(tmp_path, monkeypatch):
    """A moderator coded 1, 2, 3 with a blank cell: a CSV reader makes it floats, and subgroups.csv, the forest
    plots and the report named its levels 1.0, 2.0, 3.0. The pipeline's jobs read the config's categorical
    moderators as text (ALLIANCE_META_TEXT_COLUMNS, set by common.smk) in its data tables only."""
    from alliance_meta.io import TEXT_COLUMNS_ENV

    data = tmp_path / "effect_sizes.csv"
    write_table(pd.DataFrame({"study_id": ["1", "2", "3"], "yi": [0.1, 0.2, 0.3], "n": [40.0, np.nan, 50.0],
                              "dose": ["1", None, "3"], "age": [30.5, np.nan, 41.0]}), data)
    table = tmp_path / "subgroups.csv"
    write_table(pd.DataFrame({"dose": [1, 2], "k": [3, 4]}), table)
    monkeypatch.delenv(TEXT_COLUMNS_ENV, raising=False)
    assert read_table(data)["dose"].tolist()[0] == 1.0  # as before, without the pipeline's setting
    monkeypatch.setenv(TEXT_COLUMNS_ENV, '["dose", "absent"]')
    frame = read_table(data)
    assert frame["dose"].tolist()[0::2] == ["1", "3"] and frame["dose"].isna().tolist() == [False, True, False]
    assert frame["n"].dtype == float and frame["age"].dtype == float and frame["study_id"].tolist() == ["1", "2", "3"]
    assert read_table(table)["dose"].tolist() == [1, 2]  # not a data table: no yi or sheet_row column
    assert read_table(data, text=())["dose"].tolist()[0] == 1.0


def test_categorical_columns_of_the_config():
    from alliance_meta.inputs.planning import categorical_columns

    config = {"moderators": ["rater", "dose level", "year"], "continuous_moderators": ["age"],
              "meta_regression": ["rater + age", "setting * `dose level`"], "location_scale": [{"location": "a",
                                                                                               "scale": "b"}],
              "multiverse": {"subsets": ["rater", "c"]}, "psychometric": {"moderators": None}}
    assert categorical_columns(config) == ["rater", "dose level", "setting", "a", "b", "c"]


@pytest.mark.parametrize("seed", [0, 1])
def test_random_doubles_over_the_whole_range_round_trip(tmp_path, seed):
    rng = np.random.default_rng(seed)
    random_bits = rng.integers(0, 2**63 - 1, 5_000, dtype=np.int64, endpoint=True)
    values = random_bits.view(np.float64)
    values = values[np.isfinite(values)]
    values = values * rng.choice([-1.0, 1.0], values.size)
    frame = pd.DataFrame({"x": values, "scaled": rng.standard_normal(values.size) * 10.0 ** rng.integers(-320, 300, values.size)})
    back = round_trip(frame, tmp_path)
    for column in frame:
        mismatch = bits(back[column]) != bits(frame[column])
        assert not mismatch.any(), f"{column}: {frame[column][mismatch].tolist()[:5]}"


def test_characters_missing_from_the_figure_font_are_logged_once_with_the_fix(tmp_path):
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from alliance_meta.io import setup_logging

    log, shown = tmp_path / "job.log", []
    with warnings.catch_warnings():  # restores warnings.showwarning afterwards
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, *rest, **keywords: shown.append(str(message))
        setup_logging(log, "glyph_test")
        figure, axes = plt.subplots()
        axes.set_title("治疗 (therapy), 治疗 again")
        figure.savefig(tmp_path / "figure.png")
        figure.savefig(tmp_path / "figure.pdf")
        plt.close(figure)
        warnings.warn("an unrelated warning", UserWarning)
        setup_logging(tmp_path / "private.log", "glyph_test")  # a character no font draws
        figure, axes = plt.subplots()
        axes.set_title("label\ue000")
        figure.savefig(tmp_path / "private.png")
        plt.close(figure)
    private = (tmp_path / "private.log").read_text(encoding="utf-8")
    assert "the character U+E000 is not in the font(s) DejaVu Sans" in private and "remove it" in private
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2, lines  # one line per character, however often it is drawn
    assert "the character 治 (U+6CBB CJK UNIFIED IDEOGRAPH-6CBB) is not in the font(s) DejaVu Sans" in lines[0]
    assert "plots.font_family" in lines[0]
    assert lines[1].endswith("the character 疗 (U+7597 CJK UNIFIED IDEOGRAPH-7597) is not in the font(s) DejaVu Sans either")
    assert shown == ["an unrelated warning"]  # other warnings are shown as before


def test_text_that_pandas_would_take_for_missing_stays_text(tmp_path):
    """A moderator level "None" (or "NA", "null", "#N/A") is a level: the sheet's own missing markers are emptied
    when it is read, so the pipeline's tables count only an empty cell as missing."""
    frame = pd.DataFrame({"study_id": ["S1", "S2", "S3", "S4"], "medication": ["None", "SSRI", "NA", None],
                          "yi": [0.1, float("nan"), 0.3, 0.4]})
    path = tmp_path / "t.csv"
    write_table(frame, path)
    back = read_table(path)
    assert back["medication"].tolist()[:3] == ["None", "SSRI", "NA"] and pd.isna(back["medication"][3])
    assert pd.isna(back["yi"][1]) and back["yi"][3] == 0.4


@pytest.mark.parametrize("value", ["+", "-", "=SUM(A1)", "@home", "- patient rated", "'=x", "''+", "'plain"])
def test_formula_looking_text_is_neutralised_in_the_file_and_read_back_as_it_was(tmp_path, value):
    frame = pd.DataFrame({"study_id": ["S1"], "level": [value], value: ["x"]})
    path = tmp_path / "t.csv"
    write_table(frame, path)
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert not any(cell.startswith(("=", "+", "-", "@"))
                   for cell in [*written.columns, *written["level"]])
    back = read_table(path)
    assert back["level"].tolist() == [value] and list(back.columns) == ["study_id", "level", value]


def test_an_interactive_session_keeps_its_own_exception_hook():
    """setup_logging logs a job's uncaught exception to its log; at a prompt (python -i) a later error of the user's
    own is no failed step: their hook stays and nothing is labelled "the step stopped"."""
    import subprocess

    lines = ("import sys\nsys.excepthook = lambda *a: print('USER HOOK')\n"
             "from alliance_meta.io import setup_logging\nsetup_logging(None)\n1/0\n")
    result = subprocess.run([sys.executable, "-i", "-q"], input=lines, capture_output=True, text=True, timeout=120)
    assert "USER HOOK" in result.stdout and "the step stopped" not in result.stderr + result.stdout


@pytest.mark.parametrize("estimate", [np.nan, None, pd.NA])
def test_a_model_without_an_estimate_logs_its_reason_not_its_nans(estimate):
    line = fit_log_line("PET (k = 2)", estimate, "estimate = nan, se = nan", "too few studies")
    assert line == "PET (k = 2): not fitted: too few studies"
    assert fit_log_line("PET", estimate, "estimate = nan", np.nan) == "PET: not fitted: no model"


def test_a_fitted_model_logs_its_results_and_its_note_in_brackets():
    assert fit_log_line("REML", 0.25, "estimate = 0.25", "") == "REML: estimate = 0.25"
    assert fit_log_line("REML", 0.0, "estimate = 0", "boundary") == "REML: estimate = 0 (boundary)"
    assert fit_log_line("REML", 0.25, "estimate = 0.25", np.nan) == "REML: estimate = 0.25"


def test_what_the_library_logs_is_in_the_job_s_log_whatever_the_job_s_logger_is_named(tmp_path):
    """fit_width's warning on a figure still wider than the page (plots.style's logger) reached only stderr in the
    jobs whose logger has the script's name (multiverse_plot_outcome, bma), not their log files."""
    import logging

    from alliance_meta.io import setup_logging

    log = tmp_path / "job.log"
    setup_logging(log, "multiverse_plot_outcome").info("the job's own line")
    logging.getLogger("alliance_meta.plots.style").warning("specification curve: wider than the page")
    logging.getLogger("alliance_meta").info("the library's line")
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "INFO the job's own line", "WARNING specification curve: wider than the page", "INFO the library's line"]
    setup_logging(tmp_path / "next.log", "bma")  # a second job in the process: its own file only
    logging.getLogger("alliance_meta").info("the next job's line")
    assert len(log.read_text(encoding="utf-8").splitlines()) == 3
    assert (tmp_path / "next.log").read_text(encoding="utf-8").endswith("INFO the next job's line\n")


def test_a_second_job_s_logging_leaves_the_first_job_s_logger_writing_to_its_file(tmp_path):
    """setup_logging gave the library's logger the job's handlers and, at the next call, closed them: the first job's
    logger (which has them too) then wrote nothing more to its file. A handler is closed once no logger has it."""
    import logging

    from alliance_meta.io import setup_logging

    first = setup_logging(tmp_path / "first.log", "first_job")
    handler = next(h for h in first.handlers if isinstance(h, logging.FileHandler))
    setup_logging(tmp_path / "second.log", "second_job")
    first.info("the first job's line after the second's set-up")
    logging.getLogger("alliance_meta").info("the library's line")
    assert (tmp_path / "first.log").read_text(encoding="utf-8").endswith(
        "INFO the first job's line after the second's set-up\n")
    assert "the library's line" in (tmp_path / "second.log").read_text(encoding="utf-8")
    assert "the library's line" not in (tmp_path / "first.log").read_text(encoding="utf-8")
    setup_logging(tmp_path / "again.log", "first_job")  # no logger has the first file's handler now: closed
    assert handler.stream is None
