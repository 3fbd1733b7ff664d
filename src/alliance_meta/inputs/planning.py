"""What the raw sheet holds when the workflow is planned: which file it is, its families and its
default moderators.

A family with no rows in the sheet is not analysed (no jobs, one line in the log and the
report), and a default moderator (config without a ``moderators`` key) that the sheet does not
code is left out. The sheet is read once, when the workflow is parsed; a sheet that cannot be
read yet keeps every configured family and moderator (validation then reports why it cannot be
read).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from alliance_meta.inputs.codebook import VOCABULARIES


def sheet_path(configured: str, named: bool) -> tuple[str, str | None]:
    """The sheet to read and a note for the log (or None). A sheet the config names is used as named;
    otherwise the default ``data/raw/studies.csv``, or ``studies.xlsx`` beside it when only that exists."""
    csv, workbook = Path(configured), Path(configured).with_suffix(".xlsx")
    if named or not workbook.exists():
        return configured, None
    if csv.exists():
        return configured, f"the sheet is {csv}; {workbook} is not read (set `sheet` in the config to analyse it)"
    return str(workbook), f"the sheet is {workbook} (no key `sheet` in the config, no {csv.name})"


def unusable_files(paths: dict, named=()) -> list[str]:
    """Config problems for the files the config names (``sheet``, ``second_coder``: key -> path, None
    when not used) that do not exist or are of a type no sheet can have; ``named``: the keys the
    reviewer wrote (others are defaults). Paths are relative to the review folder."""
    from alliance_meta.inputs.sheet import unsupported_type

    problems = []
    for key, path in paths.items():
        if not path:
            continue
        if Path(path).is_file():
            if (reason := unsupported_type(path)) is not None:
                problems.append(f"{key}: {path}: {reason}")
            continue
        what = "is a folder, not a file" if Path(path).is_dir() else "does not exist"
        if key not in named:  # the default sheet, data/raw/studies.csv or .xlsx
            what += f", nor does {Path(path).with_suffix('.xlsx')} (the default sheet; or set {key} in the config)"
        relative = "" if Path(path).is_absolute() else f" (paths are relative to the review folder {Path.cwd()})"
        problems.append(f"{key}: {path} {what}{relative}")
    return problems


def planning_cells(path: str | Path, **reading) -> pd.DataFrame | None:
    """The sheet's cells as :func:`~alliance_meta.inputs.sheet.read_sheet` reads them (``reading``:
    its ``sheet_name`` and ``decimal``), or None when it cannot be read."""
    from alliance_meta.inputs.sheet import read_sheet

    try:
        return read_sheet(path, **reading)
    except Exception:  # noqa: BLE001 - validation reports an unreadable sheet with its reason
        return None


def families_in_sheet(cells: pd.DataFrame | None, configured=("outcome", "dropout")) -> tuple[list[str], list[str]]:
    """``(analysed, absent)``: the configured families with at least one row, and those without.

    A missing or empty ``family`` cell means ``outcome`` (the codebook's default); values are
    read with the codebook's synonyms (``drop-out`` -> ``dropout``); values outside the
    vocabulary are left to validation.
    """
    if cells is None:
        return list(configured), []
    present = set(_family_of_rows(cells)) if "family" in cells else {VOCABULARIES["family"].default}
    if not present & set(configured):  # nothing to analyse: let validation and the report say so
        return list(configured), []
    return [f for f in configured if f in present], [f for f in configured if f not in present]


def families_left_out(cells: pd.DataFrame | None, configured) -> dict[str, int]:
    """Families with rows in the sheet that the config's ``families`` does not list, with their
    numbers of rows: they are validated and converted but not analysed, which the log and the
    report say (:func:`family_left_out_sentence`)."""
    if cells is None:
        return {}
    vocabulary = VOCABULARIES["family"]
    values = _family_of_rows(cells)
    counts = values[values.isin(vocabulary.values) & ~values.isin(list(configured))].value_counts()
    return {family: int(counts[family]) for family in vocabulary.values if family in counts}


def _family_of_rows(cells: pd.DataFrame) -> pd.Series:
    """Each row's family as the codebook reads it: an empty cell or no column is ``outcome``, synonyms
    canonical (``drop-out`` -> ``dropout``), values outside the vocabulary None (validation reports them)."""
    vocabulary = VOCABULARIES["family"]
    if "family" not in cells:
        return pd.Series(vocabulary.default, index=cells.index, dtype=object)
    return cells["family"].map(lambda value: vocabulary.canonical(value) if isinstance(value, str)
                               else vocabulary.default)


def family_left_out_sentence(family: str, rows: int) -> str:
    return (f"The sheet has {rows} {family} row{'s' if rows != 1 else ''}, but families in config/config.yaml does not "
            f"include {family}: the {family} family is not analysed (add {family} to families to analyse "
            f"{'them' if rows != 1 else 'it'}).")


def coded_moderators(cells: pd.DataFrame | None, names) -> tuple[list[str], list[str]]:
    """``(coded, left_out)``: the moderators among ``names`` with a value in at least one row, and the
    others (no column, or an empty one, as in a sheet made from the template). Codebook columns
    match in any case, as :func:`~alliance_meta.inputs.sheet.read_sheet` names them."""
    if cells is None:
        return list(names), []
    coded = [name for name in names if name in cells and cells[name].notna().any()]
    return coded, [name for name in names if name not in coded]


def moderators_left_out_note(names, reference_levels=()) -> str:
    """The log line for default moderators the sheet does not code (``reference_levels``: the
    config's keys, so that a reference level set for a moderator left out is said to be unused)."""
    names = list(names)
    plural = len(names) > 1
    unused = [name for name in names if name in set(reference_levels)]
    unused_note = (f"; reference_levels.{', reference_levels.'.join(unused)} {'are' if len(unused) > 1 else 'is'} "
                   "not used" if unused else "")
    return (f"the default moderator{'s' if plural else ''} {', '.join(names)} {'have' if plural else 'has'} no "
            f"values in the sheet and {'are' if plural else 'is'} left out{unused_note}; name the moderators in "
            "config/config.yaml (moderators: [...]) to choose them")
