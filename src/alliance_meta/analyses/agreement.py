"""Agreement between two coders of the same studies (double coding).

Systematic reviews code every study twice, independently, and report the agreement
of the coders before they resolve their disagreements (PRISMA 2020 item 9; Cochrane
Handbook ch. 5). :func:`compare_coders` takes the two coders' sheets, validates both
against the codebook, matches their rows on ``study_id`` and ``es_id`` and returns,
for every coded column and for the converted effect size ``yi``, the agreement of the
cells both coders filled in the studies both coded (not the cells the pipeline fills or derives):

- ``percent_agreement``: the share of those cells with the same value (0-100);
- categorical columns: Cohen's kappa (:func:`cohen_kappa`) and Gwet's AC1
  (:func:`gwet_ac1`, over the column's vocabulary when it has one);
- numeric columns and the converted ``yi`` and ``vi``: ICC(2,1), absolute agreement of
  single ratings (:func:`icc_agreement`).

Risk-of-bias columns (``rob_*``) are compared once per study, as they are judged
(:func:`_per_study`); their AC1 counts every judgement of the config's tool. A column one coder's
sheet lacks or leaves empty throughout was not double-coded and lists no disagreements. A study both
coders coded with no ``es_id`` in common (another numbering) is matched by the rows' position in it.

Coded values are compared in their canonical spelling (``client`` and ``patient``
agree), numbers as numbers (``0.30`` and ``0.3`` agree). A cell filled by one coder
only is a disagreement too (counted in ``n_one_coder``, listed, left out of the
coefficients), and so is an effect size one coder missed in a study both coded. A study in
one sheet only (a living review whose second coder coded only the new studies) was not
double-coded: it is counted in a note that names the first few, and listed in
``one_coder_studies``; it is not compared. The first coder's sheet is
the one the analysis uses; nothing here changes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alliance_meta.inputs import codebook
from alliance_meta.inputs.effect_sizes import convert
from alliance_meta.inputs.risk_of_bias import OVERALL, PREFIX, tool_from_config
from alliance_meta.inputs.sheet import (
    FIRST_DATA_ROW,
    HEADER_ROW,
    SHEET_ROW,
    column_key,
    format_problems,
    identifier_key,
    read_sheet,
    validate_sheet,
    worksheet_names,
)
from alliance_meta.wording import plural

KEYS = ("study_id", "es_id")
CODERS = ("coder1", "coder2")
AGREEMENT_COLUMNS = ("column", "kind", "n_compared", "percent_agreement", "kappa", "ac1", "icc", "n_one_coder", "note")
DISAGREEMENT_COLUMNS = ("study_id", "es_id", "column", "coder1", "coder2", "sheet_row_coder1", "sheet_row_coder2",
                        "yi_coder1", "yi_coder2")
CONVERTED = ("yi", "vi")
"""The converted effect size and its sampling variance, compared like numeric columns."""
EFFECT_SIZE_COLUMNS = frozenset(codebook.INPUT_COLUMNS + codebook.SIGN_COLUMNS + ("family",) + CONVERTED)
"""Columns whose disagreements change the converted effect size: listed with both coders' yi."""
WHOLE_ROW = "(row)"
"""The ``column`` of a disagreement row naming a row that only one coder has (in a study both coded)."""
ONE_CODER_NOTE_END = ("only the double-coded studies are compared (an effect size one coder missed in one of them is a "
                      "disagreement); the studies in one sheet only are not listed as disagreements")
"""How :func:`one_coder_note` ends: the report reads from it that some study is in one sheet only."""
ONE_CODER_COLUMNS = ("study_id", "coder", "n_rows", "sheet_row")
"""Columns of :attr:`CoderAgreement.one_coder_studies`: a study in one coder's sheet only, its rows and first row."""
ONE_CODER_SHOWN = 10
"""How many studies of one coder :func:`one_coder_note` names (the first in sheet order); the others it counts."""
ONE_CODER_LIST = "CoderAgreement.one_coder_studies"
"""Where :func:`one_coder_note` says the studies it does not name are listed (the workflow names its CSV instead)."""


# ---------------------------------------------------------------------------
# Coefficients (complete ratings: one row per unit, one column per rater)
# ---------------------------------------------------------------------------

def cohen_kappa(first, second) -> float:
    """Cohen's kappa of two raters: (p_o - p_e) / (1 - p_e), p_e = sum_k p_k. p_.k.

    Cohen (1960), *Educ Psychol Meas* 20(1), 37-46, eq. 1; mirrors R irr's ``kappa2``
    (unweighted). NaN when p_e = 1 (both raters used one and the same category) or no units.
    """
    first, second = np.asarray(first, dtype=object), np.asarray(second, dtype=object)
    if first.shape != second.shape or first.ndim != 1:
        raise ValueError("cohen_kappa needs two ratings of the same units (two vectors of equal length)")
    if first.size == 0:
        return float("nan")
    categories, codes = np.unique(np.concatenate([first, second]).astype(str), return_inverse=True)
    a, b = codes[: first.size], codes[first.size:]
    observed = np.mean(a == b)
    expected = np.bincount(a, minlength=categories.size) @ np.bincount(b, minlength=categories.size) / first.size**2
    return float("nan") if expected == 1 else float((observed - expected) / (1 - expected))


def gwet_ac1(ratings, categories: Sequence[str] | None = None) -> float:
    """Gwet's AC1 of r >= 2 raters with complete ratings (units x raters).

    AC1 = (p_a - p_e) / (1 - p_e) with p_a = mean over units of
    sum_k r_ik (r_ik - 1) / (r (r - 1)), p_e = sum_k pi_k (1 - pi_k) / (q - 1) and
    pi_k = mean over units of r_ik / r, where r_ik raters put unit i in category k and q is
    the number of categories (Gwet 2008, *Br J Math Stat Psychol* 61(1), 29-48; Gwet 2014,
    *Handbook of Inter-Rater Reliability*, 4th ed., ch. 4). ``categories`` are the possible
    categories (q counts them, used or not); by default those used. Mirrors
    ``irrCAC::gwet.ac1.raw`` (pe with q < 2 set to 1 - 1e-15, as there).
    """
    table = np.asarray(ratings, dtype=object)
    if table.ndim != 2 or table.shape[1] < 2:
        raise ValueError("gwet_ac1 needs a units x raters table with at least two raters")
    if table.shape[0] == 0:
        return float("nan")
    labels = table.astype(str)
    used = np.unique(labels)
    categories = used if categories is None else np.asarray(list(dict.fromkeys(map(str, categories))))
    unknown = np.setdiff1d(used, categories)
    if unknown.size:
        raise ValueError(f"ratings outside the categories: {sorted(unknown)}")
    counts = (labels[:, :, None] == categories[None, None, :]).sum(axis=1)  # units x categories
    raters, q = table.shape[1], categories.size
    agreement = np.mean((counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1)))
    pi = counts.mean(axis=0) / raters
    expected = (pi * (1 - pi)).sum() / (q - 1) if q >= 2 else 1 - 1e-15
    return float((agreement - expected) / (1 - expected))


def icc_agreement(ratings) -> float:
    """ICC(2,1): two-way random effects, absolute agreement, single rater (units x raters).

    ICC = (MS_R - MS_E) / (MS_R + (k - 1) MS_E + k (MS_C - MS_E) / n), with the mean
    squares of rows (units), columns (raters) and error of the two-way ANOVA without
    interaction, n units and k raters (Shrout & Fleiss 1979, *Psychol Bull* 86(2), 420-428,
    ICC(2,1); McGraw & Wong 1996, *Psychol Methods* 1(1), 30-46, ICC(A,1), Table 4);
    mirrors R irr's ``icc(model = "twoway", type = "agreement", unit = "single")``.
    NaN with fewer than two units or when every rating is the same.
    """
    try:
        table = np.asarray(ratings, dtype=float)
    except (TypeError, ValueError):  # pd.NA of a nullable column (numpy cannot make it a float), or text
        try:
            table = pd.DataFrame(ratings).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            raise ValueError("icc_agreement needs numeric ratings; some are text") from None
    if table.ndim != 2 or table.shape[1] < 2:
        raise ValueError("icc_agreement needs a units x raters table with at least two raters")
    if not np.isfinite(table).all():
        raise ValueError("icc_agreement needs complete, finite ratings")
    n, k = table.shape
    if n < 2:
        return float("nan")
    grand = table.mean()
    ss_rows = k * ((table.mean(axis=1) - grand) ** 2).sum()
    ss_columns = n * ((table.mean(axis=0) - grand) ** 2).sum()
    residuals = table - table.mean(axis=1, keepdims=True) - table.mean(axis=0, keepdims=True) + grand
    ss_error = (residuals ** 2).sum()  # directly, not total - rows - columns: 0 (ICC 1) for identical ratings
    ms_rows, ms_columns = ss_rows / (n - 1), ss_columns / (k - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    denominator = ms_rows + (k - 1) * ms_error + k * (ms_columns - ms_error) / n
    return float("nan") if denominator == 0 else float((ms_rows - ms_error) / denominator)


# ---------------------------------------------------------------------------
# Two coders' sheets
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CoderAgreement:
    """Agreement of two coders: one row per compared column, every disagreeing cell, unmatched rows.

    ``agreement``: ``column``, ``kind`` (categorical / numeric), ``n_compared`` (cells both
    coders filled), ``percent_agreement`` (0-100), ``kappa``, ``ac1`` (categorical), ``icc``
    (numeric), ``n_one_coder`` (cells only one coder filled), ``note`` (why ``kappa`` or ``icc`` is blank:
    :func:`undefined_note`). ``disagreements``: ``study_id``,
    ``es_id``, ``column``, ``coder1``, ``coder2`` (the cells; empty when not filled),
    ``sheet_row_coder1``, ``sheet_row_coder2`` (spreadsheet rows, header = 1), ``yi_coder1``,
    ``yi_coder2`` (for effect-size inputs); rows that only one coder has in a study both coded come
    first, with ``column`` = ``(row)``. ``unmatched``: those rows, ``study_id``, ``es_id``, ``coder``
    (who has the row), ``sheet_row``. ``one_coder_studies``: the studies in one sheet only (not
    double-coded, not compared): ``study_id``, ``coder``, ``n_rows``, ``sheet_row`` (its first);
    ``n_double_coded``: the studies in both sheets.
    """

    agreement: pd.DataFrame
    disagreements: pd.DataFrame
    unmatched: pd.DataFrame
    n_matched: int
    notes: tuple[str, ...] = ()  # e.g. rows left unmatched by the spelling of their identifiers
    one_coder_studies: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ONE_CODER_COLUMNS)))
    n_double_coded: int = 0

    def to_frame(self) -> pd.DataFrame:
        """The agreement table (``results/agreement.csv``)."""
        return self.agreement.copy()

    def summary(self) -> str:
        """The counts the log gives: studies double-coded or in one sheet only, rows and disagreeing cells (as the
        report counts them, :func:`disagreement_counts`)."""
        counts = disagreement_counts(self.disagreements)
        first, second = (int((self.one_coder_studies["coder"] == coder).sum()) for coder in CODERS)
        converted = (f" (the converted effect size or its variance differs in {counts.converted} "
                     f"{plural(counts.converted, 'row')})" if counts.converted else "")
        one_coder = (f"{first} coded by the first coder only and {second} by the second only (not compared)"
                     if first or second else "none in one sheet only")
        return (f"{self.n_double_coded} {plural(self.n_double_coded, 'study', 'studies')} double-coded, {one_coder}; "
                f"{self.n_matched} {plural(self.n_matched, 'row')} coded by both coders, {len(self.unmatched)} by one "
                f"only; {counts.cells} disagreeing {plural(counts.cells, 'cell')}{converted}")


def read_coder_sheets(first, second, *, sheet_name: str | None = None,
                      decimal: str = "auto") -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """The two coders' sheets, read as the config reads the sheet (:func:`alliance_meta.inputs.sheet.read_sheet`),
    and notes. ``sheet_name`` (the config's) names the worksheet of the first coder's (the consensus) workbook; a
    second coder's workbook without a worksheet of that name is read as with ``sheet_name: null`` (its only
    worksheet, or the one with a ``study_id`` column), with a note."""
    names = worksheet_names(second)
    own = sheet_name if sheet_name is None or not names or sheet_name in names else None
    sheets = read_sheet(first, sheet_name=sheet_name, decimal=decimal), read_sheet(second, sheet_name=own, decimal=decimal)
    notes = () if own == sheet_name else (
        f'the second coder\'s workbook {second} has no worksheet "{sheet_name}" (sheet_name in the config, the '
        f"sheet's worksheet): read as without sheet_name ({', '.join(names)})",)
    return *sheets, notes + tuple(sheets[1].attrs.get("notes", ()))


def _validated(sheet: pd.DataFrame, name: str, risk_of_bias=None) -> pd.DataFrame:
    clean, problems = validate_sheet(sheet, risk_of_bias=risk_of_bias)
    if problems:
        raise ValueError(f"the {name} does not pass the codebook's checks; fix it first:\n"
                         + format_problems(problems, name))
    return clean


#: Problems of the second coder's sheet that stop the comparison: its header, and identifiers that leave rows
#: without a study or with the key of another row (the rows could not be matched).
MATCHING_CHECKS = frozenset({"no_rows", "column_in_dataframe", "duplicate_column", "not_nullable", "es_id_repeated"})


def _validated_as_coded(sheet: pd.DataFrame, risk_of_bias=None) -> tuple[pd.DataFrame, dict, str]:
    """The second coder's sheet, validated, and its cells that fail a check as written (:func:`_put_back`).

    That sheet is a record of an independent coding: a value that breaks a rule (r = 1.2, a level outside the
    vocabulary) is a coding error the consensus resolves, so it is compared as written and counted, not fixed
    first (which would raise the agreement). Problems of the header and of the identifiers
    (:data:`MATCHING_CHECKS`) still stop the comparison. Returns the clean frame (for the conversion of the
    effect sizes), ``{(sheet_row, column): the cell as written}`` of the failing cells, and a note listing every
    problem (empty when there is none)."""
    clean, problems = validate_sheet(sheet, risk_of_bias=risk_of_bias)
    blocking = [p for p in problems if p.check in MATCHING_CHECKS or p.row == HEADER_ROW]
    if blocking:
        raise ValueError("the second coder's sheet cannot be matched with the first's; fix it first:\n"
                         + format_problems(blocking, "second coder's sheet"))
    written = {(problem.row, problem.column): problem.value for problem in problems
               if problem.column in clean.columns and str(problem.value).strip()}
    # format_problems' count and its hints for the whole sheet (decimal commas, a column's thousands or percentages),
    # then each problem: one line, as the report lists the notes as items
    counted = format_problems(problems, "").split("\n\n")[0].removeprefix(": ").replace("\n", "; ")
    note = ("the second coder's sheet has cells that fail the codebook's checks; they are compared as written "
            "(a coding error is a disagreement for the consensus to resolve, not a cell to fix in that sheet); "
            f"{counted}: " + "; ".join(map(str, problems))) if problems else ""
    return clean, written, note


def _put_back(frame: pd.DataFrame, written: dict) -> pd.DataFrame:
    """``frame`` (a validated sheet with ``sheet_row``) with the cells of ``written`` as written (text)."""
    if not written:
        return frame
    frame = frame.copy()
    position = {row: i for i, row in enumerate(frame[SHEET_ROW].to_numpy())}
    for (row, column), value in written.items():
        if row in position and column in frame.columns:  # (a column renamed as the first coder's keeps its value)
            if frame[column].dtype != object:
                frame[column] = frame[column].astype(object)
            frame.iloc[position[row], frame.columns.get_loc(column)] = value
    return frame


def _typed_cells(sheet: pd.DataFrame) -> pd.DataFrame:
    """Which cells of a sheet as read (:func:`alliance_meta.inputs.sheet.read_sheet`) the coder filled, indexed by
    ``sheet_row``: a cell the pipeline fills or derives (``family``, ``rob_overall``) was not typed."""
    frame = sheet.set_index(SHEET_ROW) if SHEET_ROW in sheet else sheet.set_axis(
        np.arange(FIRST_DATA_ROW, FIRST_DATA_ROW + len(sheet)))
    return frame.apply(lambda column: column.map(lambda value: pd.notna(value) and str(value).strip() != ""))


def _named_as_first(first: pd.DataFrame, second: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The second coder's sheet with a column the first coder named in another case or spacing (``Setting``,
    ``setting``; free columns keep the header as written) renamed as the first's, and a note naming them."""
    by_key = {column_key(str(column)): column for column in first.columns}
    renamed = {column: by_key[column_key(str(column))] for column in second.columns
               if column not in first.columns and column_key(str(column)) in by_key
               and by_key[column_key(str(column))] not in second.columns}
    if not renamed:
        return second, ""
    pairs = ", ".join(f"{theirs} with {ours}" for theirs, ours in renamed.items())
    return second.rename(columns=renamed), (f"column names that differ only in case or spacing compared as one "
                                            f"column (second coder's with first coder's): {pairs}")


def _has_es_id(clean: pd.DataFrame) -> bool:
    return "es_id" in clean and bool(clean["es_id"].notna().any())


def _keyed(clean: pd.DataFrame, by_position: bool = False) -> pd.DataFrame:
    """The validated sheet indexed by (study_id, es_id); a missing es_id (every es_id with ``by_position``)
    is study_id-k, the k-th row of the study. The keys are unique: the sheet check refuses an es_id
    that two rows of a study share, a blank one's study_id-k included (rule ``es_id_repeated``)."""
    frame = clean.copy()
    frame["study_id"] = frame["study_id"].astype(str)
    position = frame.groupby("study_id", sort=False).cumcount() + 1
    fallback = frame["study_id"] + "-" + position.astype(str)
    given = frame["es_id"].notna() if "es_id" in frame and not by_position else pd.Series(False, index=frame.index)
    frame["es_id"] = (frame["es_id"].astype(object).where(given, fallback) if given.any() else fallback).astype(str)
    return frame.set_index(list(KEYS))


def _matched_by_position(one: pd.DataFrame, two: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``two`` (the second coder's keyed sheet, :func:`_keyed`) with the rows of each study both coders coded
    but with no ``es_id`` in common (``1, 2`` beside ``S001-1, S001-2``: another numbering of the same effect
    sizes) given the first coder's ``es_id`` of the row at the same position within the study; rows beyond the
    first coder's count keep their own (none is one of the first coder's). And those studies, in the first
    coder's order."""
    first = one.index.to_frame(index=False).groupby("study_id", sort=False)["es_id"].agg(list)
    second = two.index.to_frame(index=False).groupby("study_id", sort=False)["es_id"].agg(list)
    renumbered = [study for study in first.index if study in second.index
                  and not set(first[study]) & set(second[study])]
    if not renumbered:
        return two, []
    keys = two.index.to_frame(index=False)
    position = keys.groupby("study_id", sort=False).cumcount().to_numpy()
    es_id = keys["es_id"].to_numpy(dtype=object).copy()
    for i, (study, _) in enumerate(zip(keys["study_id"], es_id)):
        if study in renumbered and position[i] < len(first[study]):
            es_id[i] = first[study][position[i]]
    return two.set_axis(pd.MultiIndex.from_arrays([keys["study_id"], es_id], names=list(KEYS))), renumbered


def _renumbered_note(renumbered: Sequence[str], one: pd.DataFrame, two: pd.DataFrame, shown: int = 5) -> str:
    """The note on studies matched by position (:func:`_matched_by_position`), with the counts of rows that differ."""
    if not renumbered:
        return ""
    counts = {coder: frame.index.get_level_values("study_id").value_counts() for coder, frame in
              (("first", one), ("second", two))}
    named = [study + ("" if counts["first"][study] == counts["second"][study] else
                      f" ({counts['first'][study]} rows vs {counts['second'][study]})") for study in renumbered]
    listed = ", ".join(named[:shown]) + (f" and {len(named) - shown} more" if len(named) > shown else "")
    one_study = len(renumbered) == 1
    return (f"{len(renumbered)} {plural(len(renumbered), 'study', 'studies')} coded by both coders with no es_id in "
            f"common ({listed}): {'its' if one_study else 'their'} rows are matched by their position within the "
            "study and shown with the first coder's es_id; give both sheets the same es_id to match them by name")


def _per_study(column: str, matched: pd.MultiIndex, keyed: Mapping[str, pd.DataFrame],
               typed: Mapping[str, pd.DataFrame], tool) -> tuple[pd.Series, pd.Series]:
    """The two coders' cells of a ``rob_*`` column, judged once per study (config/README.md, "Risk of bias"): the
    study's judgement (validation copies it to the study's other rows; judgements that differ between its rows,
    a problem of the second coder's sheet, joined as ``low / high``) on the first matched row of each study that
    either coder judged in any row, missing on every other row. So a study counts once however many effect sizes
    it has and whichever of its rows the coders wrote the judgement on."""
    vocabulary = tool.vocabulary(column) if column in tool.columns else None

    def judgements(cells: pd.Series, studies: pd.Index) -> pd.Series:
        """Each study's judgements as spelled in the codebook, in order of first appearance, joined."""
        filled = cells.notna().to_numpy()
        spelled = pd.Series([(vocabulary.canonical(v) if vocabulary else None) or str(v)
                             for v in cells.to_numpy()[filled]], dtype=object)
        written = pd.DataFrame({"study": np.asarray(studies)[filled], "spelled": spelled}).drop_duplicates()
        return written.groupby("study", sort=False)["spelled"].agg(" / ".join)

    study = matched.get_level_values("study_id")
    first_row = ~study.duplicated()
    values, judged = {}, np.zeros(len(matched), dtype=bool)
    for coder in CODERS:
        frame = keyed[coder]
        if column not in frame:
            values[coder] = pd.Series(np.nan, index=matched, dtype=object)
            continue
        studies = frame.index.get_level_values("study_id")
        values[coder] = pd.Series(judgements(frame[column], studies).reindex(study).to_numpy(), index=matched,
                                  dtype=object)
        if column in typed[coder]:
            cells = typed[coder][column].reindex(frame[SHEET_ROW].to_numpy(), fill_value=False).to_numpy(dtype=bool)
            judged |= pd.Series(cells).groupby(np.asarray(studies)).any().reindex(study, fill_value=False).to_numpy()
    keep = first_row & judged
    return values["coder1"].where(keep), values["coder2"].where(keep)


def _display(values: pd.Series, numeric: bool) -> pd.Series:
    """Cells as text for the disagreements table: numbers with 15 significant digits, blanks empty."""
    if numeric:
        return values.map(lambda x: "" if pd.isna(x) else f"{float(x):.15g}")
    return values.map(lambda x: "" if pd.isna(x) else str(x))


def _same(first: pd.Series, second: pd.Series, numeric: bool, tolerance: float) -> np.ndarray:
    if numeric:
        a, b = first.to_numpy(dtype=float), second.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            return np.abs(a - b) <= tolerance * np.fmax(np.abs(a), np.abs(b))
    return (first.astype(str) == second.astype(str)).to_numpy()


def _all_numbers(column: str, first: pd.Series, second: pd.Series) -> bool:
    """A column outside the codebook is numeric when every filled cell of both coders is a number."""
    if column in codebook.CODEBOOK_COLUMNS:
        return False
    values = pd.concat([first, second]).dropna()
    return len(values) > 0 and bool(pd.to_numeric(values, errors="coerce").notna().all())


def compare_coders(first: pd.DataFrame, second: pd.DataFrame, metric_by_family: Mapping[str, str] | None = None,
                   columns: Sequence[str] | None = None, tolerance: float = 1e-9,
                   risk_of_bias: Mapping | None = None) -> CoderAgreement:
    """Agreement of two coders' sheets (frames as :func:`alliance_meta.inputs.sheet.read_sheet` returns).

    The first coder's sheet must pass the codebook's checks (a ValueError lists its problems). The second's is
    compared as coded: cells that fail a check are compared as written, and the notes list them; only problems
    of its header and identifiers stop the comparison (:func:`_validated_as_coded`). Both are converted
    with :func:`alliance_meta.inputs.effect_sizes.convert` (``metric_by_family`` as the
    config's ``metric``). Rows are matched on ``study_id`` and ``es_id`` (by their position within the
    study when only one sheet has ``es_id``, with a note). ``columns``
    limits the comparison (default: every column of either sheet as read but the keys, codebook
    columns first; not ``family`` when neither has it); a cell neither coder filled (filled or derived by the
    pipeline in both, as an empty ``rob_overall``) is not compared; ``yi`` and ``vi`` are always compared, on
    rows whose effect sizes both coders converted to the same metric. A free column whose cells are all numbers is
    numeric. Numbers agree when they differ by at most ``tolerance`` relative. ``risk_of_bias``:
    the config's block of that name (the tool whose ``rob_*`` columns both sheets follow).
    """
    tool = tool_from_config(risk_of_bias)  # its judgements are the categories of the rob_* columns' AC1
    coder2, written, problems_note = _validated_as_coded(second, risk_of_bias)
    clean = {"coder1": _validated(first, "first coder's sheet", risk_of_bias), "coder2": coder2}
    clean["coder2"], renamed_note = _named_as_first(clean["coder1"], clean["coder2"])
    typed = {"coder1": _typed_cells(first), "coder2": _named_as_first(clean["coder1"], _typed_cells(second))[0]}
    by_position = _has_es_id(clean["coder1"]) != _has_es_id(clean["coder2"])
    keyed = {coder: _keyed(frame, by_position) for coder, frame in clean.items()}
    keyed["coder2"], renumbered = _matched_by_position(keyed["coder1"], keyed["coder2"])
    effects = {}
    for coder, frame in clean.items():
        with np.errstate(all="ignore"):
            converted = convert(frame, dict(metric_by_family or {}))
        converted.index = keyed[coder].index
        effects[coder] = converted[["yi", "vi", "metric"]]
    one, two = keyed["coder1"], keyed["coder2"]
    two_as_coded = _put_back(two, written)
    matched = one.index.intersection(two.index, sort=False)
    unmatched = pd.concat([
        pd.DataFrame({"coder": "coder1", SHEET_ROW: one.loc[one.index.difference(two.index, sort=False), SHEET_ROW]}),
        pd.DataFrame({"coder": "coder2", SHEET_ROW: two.loc[two.index.difference(one.index, sort=False), SHEET_ROW]}),
    ]).reset_index()
    # Only the studies both coders coded are compared: a row one coder missed there is a disagreement, a study in
    # one sheet only (an earlier review's studies beside a second coder who coded only the new ones) is not.
    double_coded = set(one.index.get_level_values("study_id")) & set(two.index.get_level_values("study_id"))
    near_key = near_key_note(unmatched)  # identifiers spelled differently make studies of one coder too
    one_study = ~unmatched["study_id"].isin(double_coded)
    one_coder_studies = (unmatched[one_study].groupby(["coder", "study_id"], sort=False)
                         .agg(n_rows=(SHEET_ROW, "size"), sheet_row=(SHEET_ROW, "min")).reset_index()
                         .sort_values(["coder", "sheet_row"], kind="stable")[list(ONE_CODER_COLUMNS)]
                         .reset_index(drop=True))
    unmatched = unmatched[~one_study].reset_index(drop=True)

    if columns is None:
        present = [c for c in dict.fromkeys(list(one.columns) + list(two.columns))
                   if c != SHEET_ROW and any(c in typed[coder] for coder in CODERS)]  # not one the pipeline adds
        order = {name: position for position, name in enumerate(codebook.CODEBOOK_COLUMNS)}
        columns = sorted(present, key=lambda c: (order.get(c, len(order)), present.index(c)))
    rows, listed = [], []
    yi = {coder: effects[coder].loc[matched] for coder in CODERS}
    same_metric = (yi["coder1"]["metric"] == yi["coder2"]["metric"]).to_numpy()
    one_matched, two_matched = one.reindex(matched), two_as_coded.reindex(matched)  # once, not once per column
    cells = {column: (one_matched[column] if column in one else pd.Series(np.nan, index=matched),
                      two_matched[column] if column in two else pd.Series(np.nan, index=matched))
             for column in columns if column not in KEYS}
    # a cell neither coder typed (a family or rob_overall the pipeline filled in both sheets) is not compared
    rows_of = {"coder1": one.loc[matched, SHEET_ROW].to_numpy(), "coder2": two.loc[matched, SHEET_ROW].to_numpy()}
    for column, (a, b) in cells.items():
        filled = np.zeros(len(matched), dtype=bool)
        for coder in CODERS:
            if column in typed[coder]:
                filled |= typed[coder][column].reindex(rows_of[coder], fill_value=False).to_numpy(dtype=bool)
        cells[column] = (a.where(filled), b.where(filled))
    for column in cells:
        if column.startswith(PREFIX):  # judged once per study: one cell per study, not one per effect size
            cells[column] = _per_study(column, matched, {"coder1": one, "coder2": two_as_coded}, typed, tool)
    for name in CONVERTED:
        cells[name] = (yi["coder1"][name].where(same_metric), yi["coder2"][name].where(same_metric))
    # A column one sheet lacks or leaves empty (a second coder who coded the effect sizes but not the labels or
    # risk of bias) was not double-coded: its cells are no disagreements to resolve. An effect-size input column
    # is an exception: a coder without it chose another kind of input, and its cells show which. An empty
    # rob_overall that validation derives from the domains is that coder's overall judgement all the same.
    coded = {coder: {column for column in cells if column in typed[coder] and typed[coder][column].any()
                     or column == OVERALL and column in clean[coder] and clean[coder][column].notna().any()}
             for coder in CODERS}
    single = {name: [column for column in cells if column not in EFFECT_SIZE_COLUMNS
                     and column in coded[coder] and column not in coded[other]]
              for name, coder, other in (("first", "coder1", "coder2"), ("second", "coder2", "coder1"))}
    absent = {name: {column for column in columns if column not in typed[coder]}
              for name, coder in (("first", "coder1"), ("second", "coder2"))}
    for column, (a, b) in cells.items():
        numeric = column in codebook.NUMERIC_COLUMNS or column in CONVERTED or _all_numbers(column, a, b)
        as_written = b.copy()  # the second coder's cells, "n = 95" and all, for the disagreements table
        if numeric:
            a, b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
        both = (a.notna() & b.notna()).to_numpy()
        only_one = (a.notna() ^ b.notna()).to_numpy()
        if column in CONVERTED:
            only_one = only_one & same_metric
        same = _same(a, b, numeric, tolerance) & both
        row = {"column": column, "kind": "numeric" if numeric else "categorical", "n_compared": int(both.sum()),
               "percent_agreement": 100 * same.sum() / both.sum() if both.any() else np.nan,
               "kappa": np.nan, "ac1": np.nan, "icc": np.nan, "n_one_coder": int(only_one.sum())}
        pair = np.column_stack([a.to_numpy()[both], b.to_numpy()[both]])
        if numeric:
            row["icc"] = icc_agreement(pair.astype(float))
        elif both.any():
            scale = tool.judgements if column in tool.columns else getattr(codebook.VOCABULARIES.get(column), "values", None)
            categories = None if scale is None else list(dict.fromkeys([*scale, *pair.ravel()]))
            row["kappa"] = cohen_kappa(pair[:, 0], pair[:, 1])
            row["ac1"] = gwet_ac1(pair, categories)  # over the vocabulary and any level outside it a coder wrote
        blank = np.isnan(row["icc" if numeric else "kappa"])
        row["note"] = undefined_note(pair, numeric, int(same.sum())) if blank else ""
        rows.append(row)
        differ = (both & ~same) | only_one
        if differ.any() and column not in single["first"] + single["second"]:
            index = matched[differ]
            listed.append(pd.DataFrame({
                "column": column, "coder1": _display(a[differ], numeric).to_numpy(),
                "coder2": np.where([(row, column) in written for row in two.loc[index, SHEET_ROW]],
                                   as_written[differ].astype(str), _display(b[differ], numeric)),
                "sheet_row_coder1": one.loc[index, SHEET_ROW].to_numpy(),
                "sheet_row_coder2": two.loc[index, SHEET_ROW].to_numpy(),
                "yi_coder1": effects["coder1"].loc[index, "yi"].to_numpy() if column in EFFECT_SIZE_COLUMNS else np.nan,
                "yi_coder2": effects["coder2"].loc[index, "yi"].to_numpy() if column in EFFECT_SIZE_COLUMNS else np.nan,
            }, index=index))
    whole_rows = pd.DataFrame({
        "study_id": unmatched["study_id"], "es_id": unmatched["es_id"], "column": WHOLE_ROW,
        "coder1": np.where(unmatched["coder"] == "coder1", "present", "absent"),
        "coder2": np.where(unmatched["coder"] == "coder2", "present", "absent"),
        "sheet_row_coder1": unmatched[SHEET_ROW].where(unmatched["coder"] == "coder1"),
        "sheet_row_coder2": unmatched[SHEET_ROW].where(unmatched["coder"] == "coder2"),
        "yi_coder1": [effects[c].loc[(s, e), "yi"] if c == "coder1" else np.nan
                      for c, s, e in zip(unmatched["coder"], unmatched["study_id"], unmatched["es_id"])],
        "yi_coder2": [effects[c].loc[(s, e), "yi"] if c == "coder2" else np.nan
                      for c, s, e in zip(unmatched["coder"], unmatched["study_id"], unmatched["es_id"])],
    })
    cell_rows = (pd.concat(listed).reset_index() if listed
                 else pd.DataFrame(columns=list(DISAGREEMENT_COLUMNS)))
    position = {key: i for i, key in enumerate(matched)}
    if len(cell_rows):  # in the first coder's row order, then by column
        cell_rows = cell_rows.assign(_order=[position[(s, e)] for s, e in zip(cell_rows["study_id"], cell_rows["es_id"])])
        cell_rows = cell_rows.sort_values("_order", kind="stable").drop(columns="_order")
    disagreements = pd.concat([whole_rows, cell_rows], ignore_index=True)[list(DISAGREEMENT_COLUMNS)]
    for column in ("sheet_row_coder1", "sheet_row_coder2"):
        disagreements[column] = disagreements[column].astype("Int64")
    unmatched = unmatched[["study_id", "es_id", "coder", SHEET_ROW]]
    position_note = (f"the {'second' if _has_es_id(clean['coder1']) else 'first'} coder's sheet has no es_id: rows "
                     "are matched by their position within each study (study_id-1, -2, ...); give both sheets the "
                     "same es_id to match them by name" if by_position else "")
    if not by_position and not _has_es_id(clean["coder1"]) and not _has_es_id(clean["coder2"]):
        several = list(dict.fromkeys(
            study for frame in (clean["coder1"], clean["coder2"])
            for study in frame["study_id"].astype(str)[frame["study_id"].astype(str).duplicated()]))
        if several:
            shown = ", ".join(several[:3]) + (f" and {len(several) - 3} more" if len(several) > 3 else "")
            position_note = ("neither coder's sheet has es_id: the effect sizes of studies with several rows ("
                             f"{shown}) are matched by their position within the study (study_id-1, -2, ...), so "
                             "rows coded in another order count as disagreements; give both sheets the same es_id "
                             "to match them by name")
    other_coder = {"first": "second", "second": "first"}
    single_note = "; ".join(
        f"column{'s' if len(names) > 1 else ''} {', '.join(names)} only in the {coder} coder's sheet"
        + ("" if all(name in absent[other_coder[coder]] for name in names) else
           f" (empty or absent in the {other_coder[coder]} coder's)")
        + ": not double-coded, so not listed as disagreements (agreement.csv counts the filled cells in n_one_coder)"
        for coder, names in single.items() if names)
    notes = tuple(filter(None, [one_coder_note(one_coder_studies, len(double_coded)), problems_note, renamed_note,
                                position_note, _renumbered_note(renumbered, one, two), single_note, near_key]))
    return CoderAgreement(pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS)), disagreements, unmatched,
                          len(matched), notes, one_coder_studies, len(double_coded))


def undefined_note(pair: np.ndarray, numeric: bool, n_agreeing: int) -> str:
    """Why the ICC (``numeric``) or kappa of a column is blank, for ``agreement.csv``'s ``note``: ``pair`` holds the
    cells both coders filled (one row per cell, one column per coder), ``n_agreeing`` of them alike. Both
    coefficients are 0/0 when the cells do not vary between studies (:func:`icc_agreement`, :func:`cohen_kappa`),
    as when both coders wrote one value in every cell (a column left at 0, the same n everywhere); the ICC also
    needs two cells."""
    name = "ICC" if numeric else "kappa"
    if len(pair) == 0:
        return f"no cell filled by both coders: {name} not computed"
    if numeric and len(pair) == 1:
        return "one cell filled by both coders: the ICC needs two or more"
    values = _display(pd.Series(pair.ravel()), numeric).unique()
    if len(values) == 1:
        return (f"constant across studies ({values[0]} in every cell both coders filled): {name} undefined; the "
                "coders agree on every value")
    return (f"no variance between studies: {name} undefined; the coders disagree on {len(pair) - n_agreeing} of "
            f"{len(pair)} {plural(len(pair), 'cell')}")


def one_coder_note(one_coder_studies: pd.DataFrame, n_double_coded: int) -> str:
    """``12 studies double-coded (in both sheets); 40 coded by the first coder only (S001, S002, ..., S010 and 30 more
    in CoderAgreement.one_coder_studies): ...``, naming the first :data:`ONE_CODER_SHOWN` studies of each coder in
    sheet order; empty when every study is in both."""
    if one_coder_studies.empty:
        return ""
    parts = []
    for coder, name in zip(CODERS, ("first", "second")):
        studies = one_coder_studies.loc[one_coder_studies["coder"] == coder, "study_id"].astype(str).tolist()
        if studies:
            rest = len(studies) - ONE_CODER_SHOWN
            named = ", ".join(studies[:ONE_CODER_SHOWN]) + (f" and {rest} more in {ONE_CODER_LIST}" if rest > 0 else "")
            parts.append(f"{len(studies)} coded by the {name} coder only ({named})")
    return (f"{n_double_coded} {plural(n_double_coded, 'study', 'studies')} double-coded (in both sheets); "
            + "; ".join(parts) + f": {ONE_CODER_NOTE_END}")


@dataclass(frozen=True)
class DisagreementCounts:
    """What ``disagreements.csv`` holds, as the log and the report count it: ``cells`` coded differently (not the
    converted yi and vi, which follow from them), ``rows`` coded by one coder only, and the ``converted`` rows whose
    effect size or variance differs."""

    cells: int
    rows: int
    converted: int


def disagreement_counts(disagreements: pd.DataFrame) -> DisagreementCounts:
    """:class:`DisagreementCounts` of ``results/disagreements.csv``."""
    columns = disagreements["column"].astype(str)
    whole, converted = columns == WHOLE_ROW, columns.isin(CONVERTED)
    differ = disagreements.loc[converted, ["study_id", "es_id"]].astype(str).drop_duplicates()
    return DisagreementCounts(int((~whole & ~converted).sum()), int(whole.sum()), len(differ))


def near_key_note(unmatched: pd.DataFrame, shown: int = 3) -> str:
    """Unmatched rows of the two coders whose ``study_id`` and ``es_id`` differ only in case, spaces,
    hyphens, underscores or dots (``S001`` vs ``s001``): they are probably the same effect size,
    but rows are matched on the identifiers as written, so the note asks for one spelling."""
    first = unmatched[unmatched["coder"] == "coder1"]
    by_key = {(identifier_key(s), identifier_key(e)): (s, e) for s, e in zip(first["study_id"], first["es_id"])}
    second = unmatched[unmatched["coder"] == "coder2"]
    pairs = [(by_key[(identifier_key(s), identifier_key(e))], (s, e))
             for s, e in zip(second["study_id"], second["es_id"]) if (identifier_key(s), identifier_key(e)) in by_key]
    order = {ids: position for position, ids in enumerate(by_key.values())}  # the first coder's row order
    pairs.sort(key=lambda pair: order[pair[0]])
    if not pairs:
        return ""
    examples = "; ".join(f"{a[0]} / {a[1]} vs {b[0]} / {b[1]}" for a, b in pairs[:shown])
    return (f"{len(pairs)} row{'s' if len(pairs) != 1 else ''} of the second coder match{'' if len(pairs) != 1 else 'es'} "
            f"a row of the first only when case, spaces and punctuation of study_id and es_id are ignored "
            f"({examples}{'; ...' if len(pairs) > shown else ''}): rows are compared on the identifiers as "
            "written, so write them alike in both sheets")
