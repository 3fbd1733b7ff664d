"""Reading and writing the pipeline's tables, and logging for the workflow scripts.

CSV output is written at full precision, each double as the shortest decimal that reads back as the
same double (``0.18``, not ``0.17999999999999999``; :func:`shortest_text`), and text cells that a spreadsheet would evaluate as a
formula (leading ``=``, ``+``, ``-``, ``@``, tab or carriage return) are
neutralised with a leading apostrophe (OWASP, "CSV Injection").
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\u2212")


def neutralise_formula(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe.

    Numbers stay numbers: only strings are touched, and a string that parses as a
    number (e.g. ``"-0.35"``) is left alone.
    """
    if not isinstance(value, str) or not value.lstrip("'").startswith(FORMULA_PREFIXES):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value  # "'=x" itself becomes "''=x", so that restore_formula gives it back
    return value


def restore_formula(value: object) -> object:
    """The cell :func:`neutralise_formula` was given: one apostrophe fewer where it added one."""
    if isinstance(value, str) and value.startswith("'") and value.lstrip("'").startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as CSV at full precision with formula-looking text neutralised."""
    safe = frame.copy()
    for j in range(safe.shape[1]):  # by position: a frame may repeat a column name
        column = safe.iloc[:, j]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            column = column.map(neutralise_formula)  # (a column of floats held as objects comes back as floats)
        if pd.api.types.is_float_dtype(column) and column.dtype != np.float32:  # float64, pandas' Float64
            column = pd.Series(shortest_text(column.to_numpy(dtype=float, na_value=np.nan)), index=column.index)
        safe.isetitem(j, column)
    safe.columns = [neutralise_formula(str(c)) for c in safe.columns]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    safe.to_csv(path, index=False, float_format="%.17g")


def shortest_text(values: np.ndarray) -> np.ndarray:
    """Each double as the shortest decimal that reads back as the same double (numpy's Dragon4, the digits of
    ``repr``), integers without ``.0``, missing values as ``None`` (an empty cell).

    ``"%.17g"`` also round-trips but writes a coded r of 0.18 as ``0.17999999999999999``, which a reviewer
    comparing effects.csv with the sheet reads as a changed value.
    """
    digits = values.astype(str)
    whole = np.char.endswith(digits, ".0")
    text = digits.astype(object)
    text[whole] = [cell[:-2] for cell in text[whole]]
    text[np.isnan(values)] = None
    return text


#: environment variable: a JSON list of the columns :func:`read_table` reads as text in a data table (one with a
#: ``yi`` or ``sheet_row`` column). ``workflow/rules/common.smk`` sets it for the jobs to the config's categorical
#: moderators (``alliance_meta.inputs.planning.categorical_columns``): a moderator coded 1, 2, 3 with a blank
#: cell was read as the numbers 1.0, 2.0, 3.0, and its levels were named so in every table, plot and the report.
TEXT_COLUMNS_ENV = "ALLIANCE_META_TEXT_COLUMNS"


def read_table(path: str | Path, text=None) -> pd.DataFrame:
    """Read a table written by :func:`write_table`: the cells as written (identifiers stay text; so do the
    columns ``text`` names in a data table, by default those of :data:`TEXT_COLUMNS_ENV`), an empty cell
    missing and no other text (a moderator level "None" or "NA" stays a level; the sheet's own missing
    markers were emptied when it was read), and the apostrophe before formula-looking text taken off."""
    if text is None:
        text = json.loads(os.environ.get(TEXT_COLUMNS_ENV) or "[]")
    dtype = {"study_id": str}
    if text:
        header = pd.read_csv(path, nrows=0).columns
        if "yi" in header or "sheet_row" in header:
            dtype.update({str(column): str for column in text if column in header})
    return restore_formulas(pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=[""]))


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (read from a file of :func:`write_table`) with :func:`restore_formula` applied to its header
    and text cells."""
    frame.columns = [restore_formula(column) for column in frame.columns]
    for column in frame.columns:
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            quoted = values.astype("string").str.startswith("'").fillna(False).to_numpy(dtype=bool)
            if quoted.any():
                frame[column] = values.where(~quoted, values[quoted].map(restore_formula))
    return frame


def log_number(value: object, spec: str = ".4g") -> str:
    """A number of a log line, formatted with ``spec``, or ``n/a`` when it is missing (NaN or None): logs read
    "QM = nan, p = nan" beside the reason a moderator model was not fitted."""
    return "n/a" if value is None or pd.isna(value) else format(float(value), spec)


def fit_log_line(label: str, estimate: object, results: str, note: object = "") -> str:
    """The log line of one fitted model of a table: ``label: results (note)``, or ``label: not fitted: note`` when
    ``estimate`` is missing (no model; the table's note says why) instead of a line of NaNs."""
    note = note if isinstance(note, str) else ""
    if estimate is None or pd.isna(estimate):
        return f"{label}: not fitted: {note or 'no model'}"
    return f"{label}: {results}" + (f" ({note})" if note else "")


def setup_logging(log_path: str | Path | None, name: str = "alliance_meta") -> logging.Logger:
    """Log to ``log_path`` and to stderr (Snakemake shows stderr), with timestamps; so does the library's own logger
    (``alliance_meta`` and its children, e.g. ``plots.style``'s note on a figure wider than the page) when the job's
    logger has another ``name``, so that what the library logs is in the job's log; matplotlib's warnings about
    characters missing from a figure's font become one line per character (:func:`_log_missing_glyphs`), and what
    an earlier job in the process said of study names a font cannot draw is forgotten (:data:`NAMED_STUDIES`)."""
    logger = logging.getLogger(name)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    for handler in handlers:
        handler.setFormatter(formatter)
    for logged in dict.fromkeys((logger, logging.getLogger("alliance_meta"))):
        logged.setLevel(logging.INFO)
        earlier = list(logged.handlers)
        logged.handlers.clear()
        for handler in earlier:  # a second call in one process (tests, notebooks) closes the first's file, unless
            if not _held(handler):  # an earlier job's logger still writes to it (alliance_meta's were its too)
                handler.close()
        for handler in handlers:
            logged.addHandler(handler)
    np.seterr(all="ignore")
    # am.fit's ConvergenceWarning is for a notebook: a job's tables (converged, note) and log lines say it, and its
    # remedies (control=) are no config key; every job of a family that fits the model would print it again
    warnings.filterwarnings("ignore", message="am.fit: ", category=UserWarning)
    NAMED_GLYPHS.clear()  # a new job's log names the studies and characters again
    NAMED_STUDIES.clear()
    _log_missing_glyphs(logger)
    _log_uncaught_exceptions(logger)
    return logger


def _held(handler: logging.Handler) -> bool:
    """Whether a logger of the process still has ``handler``."""
    loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict.values()
                                      if isinstance(logger, logging.Logger))]
    return any(handler in logger.handlers for logger in loggers)


def _log_uncaught_exceptions(logger: logging.Logger) -> None:
    """An exception that ends the job is written with its traceback to the job's log as well as to stderr (where
    alone Python prints it), so that the run's closing lines (``alliance_meta.runs.failed_jobs``) name the job a
    bug to report with its log; they pointed to the job's empty log before. Not in an interactive session (a
    prompt, ``python -i``): there later errors of the user's own are no failed step, and their hook stays."""
    if hasattr(sys, "ps1") or sys.flags.interactive:
        return

    def hook(kind, value, trace):
        if issubclass(kind, KeyboardInterrupt):
            return sys.__excepthook__(kind, value, trace)
        logger.critical("the step stopped with an unexpected error:", exc_info=(kind, value, trace))
        return None

    sys.excepthook = hook


#: characters a figure job's log has already named with the studies whose names hold them
#: (:func:`alliance_meta.plots.style.log_undrawable_names`): matplotlib's warning about them says nothing more, for
#: any text (a moderator's level holding one gets no line of its own); emptied when a job starts (:func:`setup_logging`)
NAMED_GLYPHS: set[str] = set()

#: the study ids a figure job's log has already named so (a figure drawn in several parts says it once); emptied
#: when a job starts (:func:`setup_logging`), so that a second job in one process says it again in its own log
NAMED_STUDIES: set[str] = set()

MISSING_GLYPH = re.compile(r"Glyph \d+ \((?P<glyph>.+)\) missing from font\(s\) (?P<fonts>.+)\.")
"""matplotlib's warning for a character that no font of a figure's text has (drawn as an empty box)."""


def _log_missing_glyphs(logger: logging.Logger) -> None:
    """Route matplotlib's missing-glyph warnings to ``logger``: one line per character, naming it and
    the fix, instead of two unexplained stderr lines per character and text call. The last call in a
    process takes over (one job script per process); other warnings are shown as before."""
    seen: set[str] = set()
    shown = getattr(warnings.showwarning, "_alliance_meta_shown", warnings.showwarning)

    def show(message, category, filename, lineno, file=None, line=None):
        match = MISSING_GLYPH.fullmatch(str(message))
        if match is None:
            return shown(message, category, filename, lineno, file, line)
        glyph = match["glyph"]
        if glyph in seen:
            return None
        seen.add(glyph)
        try:  # matplotlib writes the character as \N{NAME}
            character = glyph.encode("ascii", "backslashreplace").decode("unicode_escape")
        except UnicodeDecodeError:
            character = glyph
        if character in NAMED_GLYPHS:  # said with the studies whose names hold it
            seen.discard(glyph)
            return None
        if len(character) != 1:
            described, control = glyph, False
        else:
            name = unicodedata.name(character, "")
            control = unicodedata.category(character).startswith("C")
            code = f"U+{ord(character):04X} {name}".strip()
            described = code if control else f"{character} ({code})"
        fonts = match["fonts"]
        if len(seen) > 1:
            logger.warning("figure text: the character %s is not in the font(s) %s either", described, fonts)
        elif control:  # a tab, a private-use character: no font draws it
            logger.warning("figure text: the character %s is not in the font(s) %s and is drawn as an empty box; "
                           "remove it from the sheet's value or the config's label", described, fonts)
        else:
            logger.warning("figure text: the character %s is not in the font(s) %s and is drawn as an empty box; "
                           "install a font that has it and name it in plots.font_family (forest plots), or "
                           "change the sheet's value or the config's label", described, fonts)
        return None

    show._alliance_meta_shown = shown
    warnings.showwarning = show
