"""The codebook's matching of coded values (codebook.vocabulary_key): the sheet check, the second coder's sheet and
the notes on free moderators all read a value through it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance_meta.analyses.agreement import compare_coders
from alliance_meta.inputs import codebook
from alliance_meta.inputs.risk_of_bias import BUILT_IN
from alliance_meta.inputs.sheet import validate_sheet


@pytest.mark.parametrize(("written", "key"), [
    ("cbt", "cbt"), ("CBT ", "cbt"), ("C.B.T.", "cbt"), ("c.b.t", "cbt"), ("C. B. T.", "cbt"),
    ("C-B-T", "c b t"),  # hyphens between letters are separators, as in WAI-S: no abbreviation, a did-you-mean
    ("W.A.I.-S.R.", "wai sr"), ("Cognitive-Behavioral", "cognitive behavioral"),
    ("1.5", "1.5"), ("Dr.", "dr."), ("C.", "c."), ("cbt.", "cbt."),  # no abbreviation of single letters
])
def test_the_dots_of_an_abbreviation_of_single_letters_do_not_count(written, key):
    assert codebook.vocabulary_key(written) == key


def test_dotted_abbreviations_are_their_vocabulary_level():
    """C.B.T. was outside the vocabulary of modality ("did you mean CBT?"), I.P.T. and D.B.T. too."""
    modality, measure = codebook.VOCABULARIES["modality"], codebook.VOCABULARIES["measure"]
    assert [modality.canonical(value) for value in ("C.B.T.", "c.b.t", "CBT ", "I.P.T.", "D.B.T.", "P.D.T.")] == [
        "CBT", "CBT", "CBT", "interpersonal", "CBT", "psychodynamic"]
    assert measure.canonical("W.A.I.") == "WAI" and modality.canonical("C-B-T") is None
    assert modality.suggestion("C-B-T") == "CBT"


def test_french_and_german_abbreviations_of_cbt_are_cbt():
    """T.C.C. (thérapie cognitivo-comportementale; TCC in Spanish, Italian and Portuguese too) and KVT (kognitive
    Verhaltenstherapie) were outside the vocabulary, with no did-you-mean; spelled-out non-English levels get one."""
    modality = codebook.VOCABULARIES["modality"]
    assert [modality.canonical(value) for value in ("T.C.C.", "tcc", "TCC ", "K.V.T.", "kvt")] == ["CBT"] * 5
    assert [modality.suggestion(value) for value in ("psychodynamique", "psicodinámica", "interpersonnelle",
                                                     "humaniste", "intégrative")] == [
        "psychodynamic", "psychodynamic", "interpersonal", "humanistic", "integrative"]
    rows = [{**row, "modality": "T.C.C."} if row["study_id"] == "S3" else row for row in ROWS]
    clean, problems = validate_sheet(sheet(rows), moderators=["modality"])
    assert problems == [] and clean["modality"].tolist() == ["CBT", "psychodynamic", "CBT"]


def written_entries(module) -> list[tuple[int, list[tuple[str, object]]]]:
    """Every dict display at the top level of ``module``'s source (synonym tables among them) with its entries as
    written, in order: a key written twice (the last one wins in the dict) and the entries of each ``**table`` merged
    in (a later table's entry replaces an earlier one's) all kept, as the dicts the modules build do not keep them."""
    import ast
    import inspect

    namespace = vars(module)
    displays = []
    for statement in ast.parse(inspect.getsource(module)).body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # dicts of local names, built when called
        for node in ast.walk(statement):
            if isinstance(node, ast.Dict):
                entries = []
                for key, value in zip(node.keys, node.values):
                    evaluated = eval(compile(ast.Expression(value), module.__file__, "eval"), namespace)  # noqa: S307
                    if key is None:  # **table
                        entries += list(evaluated.items())
                    elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                        entries.append((key.value, evaluated))
                displays.append((node.lineno, entries))
    return displays


def test_no_two_spellings_of_different_levels_share_a_key():
    """Unambiguous: no value or synonym of the codebook's vocabularies (and the risk-of-bias tools') is another
    level's once its dots, case and separators are left out. Read from the modules' source too: a synonym written
    twice in one table ("DBT": "CBT", ..., "DBT": "psychodynamic") or given two levels by two tables merged into one
    ({**_LOW, **_HIGH}) leaves one entry in the dict the module builds, the last, which a check of that dict cannot
    see."""
    from alliance_meta.inputs import risk_of_bias

    vocabularies = [*codebook.VOCABULARIES.values(),
                    *(tool.vocabulary(tool.columns[0]) for tool in BUILT_IN.values())]
    for vocabulary in vocabularies:
        levels: dict[str, set[str]] = {}
        for spelling, value in [*vocabulary.synonyms.items(), *((value, value) for value in vocabulary.values)]:
            levels.setdefault(codebook.vocabulary_key(spelling), set()).add(value)
        assert {key: values for key, values in levels.items() if len(values) > 1} == {}, vocabulary.column
    tables = [*written_entries(codebook), *written_entries(risk_of_bias)]
    assert len(tables) > 10 and any(("TCC", "CBT") in entries for _, entries in tables)  # the tables are read
    for line, entries in tables:
        meanings: dict[str, set] = {}
        for spelling, value in entries:
            meanings.setdefault(codebook.vocabulary_key(spelling), set()).add(repr(value))
        assert {key: values for key, values in meanings.items() if len(values) > 1} == {}, f"the dict of line {line}"


def sheet(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).astype(object)
    frame.insert(0, "sheet_row", np.arange(2, 2 + len(frame)))
    return frame


ROWS = [{"study_id": "S1", "es_id": "S1-1", "r": "0.3", "n": "50", "modality": "CBT", "setting": "TAU"},
        {"study_id": "S2", "es_id": "S2-1", "r": "0.2", "n": "60", "modality": "psychodynamic", "setting": "T.A.U."},
        {"study_id": "S3", "es_id": "S3-1", "r": "0.1", "n": "70", "modality": "C.B.T.", "setting": "group"}]


def test_a_sheet_with_a_dotted_level_passes_and_holds_the_canonical_one():
    clean, problems = validate_sheet(sheet(ROWS), moderators=["modality", "setting"])
    assert problems == []
    assert clean["modality"].tolist() == ["CBT", "psychodynamic", "CBT"]
    assert clean["setting"].tolist() == ["TAU", "T.A.U.", "group"]  # a free moderator is as written, and noted:
    assert [note for note in clean.attrs["notes"] if note.startswith("setting:")] == [
        'setting: values that differ only in case, spaces or dots are different levels (subgroups): "TAU" (row 2) vs '
        '"T.A.U." (row 3); write them alike if they are one level']


def test_a_second_coder_writing_a_dotted_level_agrees():
    """The second coder's C.B.T. was a cell outside the vocabulary, compared as written: a disagreement with CBT."""
    second = [{**row, "modality": "C.B.T."} if row["modality"] == "CBT" else row for row in ROWS]
    result = compare_coders(sheet(ROWS), sheet(second))
    table = result.agreement.set_index("column")
    assert table.loc["modality", "percent_agreement"] == 100
    assert result.disagreements.empty and not any("C.B.T." in note for note in result.notes)
