"""Which effect-size families a sheet holds, so that the pipeline analyses only those.

A family with no rows in the sheet is not analysed (no jobs, one line in the log and the
report). Read from the raw sheet when the workflow is parsed; a sheet that cannot be read
yet names every configured family (validation then reports why it cannot be read).
"""

from __future__ import annotations

from pathlib import Path

from alliance_meta.inputs.codebook import VOCABULARIES


def families_in_sheet(path: str | Path, configured=("outcome", "dropout"), **reading) -> tuple[list[str], list[str]]:
    """``(analysed, absent)``: the configured families with at least one row, and those without.

    A missing or empty ``family`` cell means ``outcome`` (the codebook's default); values are
    read with the codebook's synonyms (``drop-out`` -> ``dropout``); values outside the
    vocabulary are left to validation.
    """
    from alliance_meta.inputs.sheet import read_sheet

    try:
        cells = read_sheet(path, **reading)
    except Exception:  # noqa: BLE001 - validation reports an unreadable sheet with its reason
        return list(configured), []
    vocabulary = VOCABULARIES["family"]
    if "family" not in cells:
        present = {vocabulary.default}
    else:
        present = {vocabulary.canonical(value) if isinstance(value, str) else vocabulary.default
                   for value in cells["family"]}
    if not present & set(configured):  # nothing to analyse: let validation and the report say so
        return list(configured), []
    return [f for f in configured if f in present], [f for f in configured if f not in present]
