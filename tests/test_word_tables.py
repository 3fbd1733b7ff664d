"""Word (APA 7) manuscript tables: python-docx reads back the Markdown table's cells, title and note;
horizontal rules only; numbered captions in order; the same tables give the same bytes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn

import alliance_meta as am
from alliance_meta.report.tables import family_title, manuscript_table, to_markdown
from alliance_meta.report.word import read_docx_tables, title_case, write_docx, write_docx_each

# dat.bcg (metadat): log risk ratios of the 13 BCG trials, as escalc("RR") gives them
BCG_YI = np.array([-0.8893113, -1.5853887, -1.3480731, -1.4415512, -0.2175357, -0.7861566, -1.6208982, 0.0119523,
                   -0.4694176, -1.3713448, -0.3393229, 0.4459134, -0.0173139])
BCG_VI = np.array([0.3255848, 0.1945811, 0.4153680, 0.0200100, 0.0512102, 0.0069049, 0.2230172, 0.0039253,
                   0.0564425, 0.0730139, 0.0124068, 0.5325947, 0.0714054])


def markdown_cells(text: str) -> tuple[str, list[str], list[list[str]], str]:
    """Title, header, rows and note of a table written by ``to_markdown``."""
    lines = text.splitlines()
    title = lines[0].strip("*")
    table = [line for line in lines if line.startswith("| ")]
    split = [[cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in table]
    notes = [line.removeprefix("*Note.* ") for line in lines if line.startswith("*Note.*")]
    return title, split[0], split[2:], notes[0] if notes else ""


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    pooled, _ = am.pooled_table(pd.DataFrame({"study_id": [f"s{i}" for i in range(13)], "yi": BCG_YI, "vi": BCG_VI}),
                                methods=("REML", "DL"), tests=("z", "knha"), metric="smd")
    fit = am.fit(BCG_YI, BCG_VI)
    bias = am.publication_bias(fit).to_frame()
    moderators = pd.DataFrame({"moderator": ["alloc", "era|x"], "k": [13, 13], "qm": [1.27, 0.5], "qm_df": [2, 1],
                               "qm_p": [0.53, 0.48], "f": [0.6, 0.5], "f_df1": [2, 1], "f_df2": [10, 11],
                               "f_p": [0.57, 0.49], "tau2": [0.32, 0.30], "r2": [0.0, 2.5]})
    subgroups = pd.DataFrame({"moderator": ["alloc", "alloc"], "level": ["random", "alternate"], "k": [7, 2],
                              "estimate": [-0.97, -0.47], "se": [0.3, 0.4], "ci_lower": [-1.5, -1.2],
                              "ci_upper": [-0.4, 0.3], "tau2": [0.39, 0.0]})
    from alliance_meta.models.fits import main_row
    from alliance_meta.report.grade import summary_of_findings

    studies = pd.DataFrame({"study_id": [f"s{i}" for i in range(13)], "vi": BCG_VI, "n": 100})
    sof = summary_of_findings("dropout", "smd", main_row(pooled, "REML", ["z"]), studies, studies[["study_id"]], bias)
    psychometric = pd.DataFrame({"method": ["bare_bones", "individual"], "k": [13, 12], "n": [1300.4, 1200.0],
                                 "r_bar": [0.29, 0.291], "sd_res": [0.083, 0.084], "rho": [0.29, 0.337],
                                 "sd_rho": [0.083, 0.097], "ci_lower": [0.27, 0.31], "ci_upper": [0.32, 0.37],
                                 "cr_lower": [0.19, 0.21], "cr_upper": [0.40, 0.46],
                                 "percent_artifact_variance": [58.6, 57.8]})
    return {"pooled": pooled, "bias": bias, "moderators": moderators, "subgroups": subgroups,
            "summary_of_findings": sof, "psychometric": psychometric}


@pytest.mark.parametrize("name", ["pooled", "bias", "moderators", "subgroups", "summary_of_findings", "psychometric"])
def test_word_table_reads_back_as_the_markdown_table(name, frames, tmp_path):
    table = manuscript_table(name, frames[name], "smd")
    write_docx([table], tmp_path / "table.docx")
    title, header, rows, note = markdown_cells(to_markdown(table))
    (word,) = read_docx_tables(tmp_path / "table.docx")
    assert word["label"] == "Table 1"
    assert word["title"] == title_case(title)
    assert word["header"] == header
    assert word["rows"] == rows and len(rows) == len(frames[name])
    assert word["note"] == note


def test_only_horizontal_rules_and_numbers_right_aligned(frames, tmp_path):
    table = manuscript_table("pooled", frames["pooled"], "smd")
    write_docx([table], tmp_path / "pooled.docx")
    grid = Document(str(tmp_path / "pooled.docx")).tables[0]
    table_borders = grid._tbl.tblPr.find(qn("w:tblBorders"))
    assert {element.get(qn("w:val")) for element in table_borders} == {"nil"}

    def sides(cell) -> dict[str, str]:
        borders = cell._tc.tcPr.find(qn("w:tcBorders"))
        return {element.tag.split("}")[1]: element.get(qn("w:val")) for element in borders}

    for i, row in enumerate(grid.rows):
        for cell in row.cells:
            drawn = {side for side, kind in sides(cell).items() if kind != "nil"}
            expected = {"top", "bottom"} if i == 0 else ({"bottom"} if i == len(grid.rows) - 1 else set())
            assert drawn == expected, (i, cell.text, drawn)
    alignments = [cell.paragraphs[0].alignment for cell in grid.rows[1].cells]
    assert str(alignments[0]).startswith("LEFT") and all(str(a).startswith("RIGHT") for a in alignments[2:])


def test_tables_docx_numbers_every_table_in_order(frames, tmp_path):
    tables = [family_title(manuscript_table(name, frames[name], "smd"), family)
              for family in ("outcome", "dropout") for name in ("pooled", "moderators", "bias")]
    write_docx(tables, tmp_path / "tables.docx")
    read = read_docx_tables(tmp_path / "tables.docx")
    assert [t["label"] for t in read] == [f"Table {i}" for i in range(1, 7)]
    assert [t["title"] for t in read] == [title_case(t.title) for t in tables]
    assert read[3]["title"] == "Pooled Estimates: Dropout Family"
    assert all(t["rows"] == markdown_cells(to_markdown(s))[2] for t, s in zip(read, tables))


def test_same_tables_same_bytes(frames, tmp_path):
    table = manuscript_table("bias", frames["bias"], "smd")
    write_docx([table], tmp_path / "a.docx")
    write_docx([table], tmp_path / "b.docx")
    assert (tmp_path / "a.docx").read_bytes() == (tmp_path / "b.docx").read_bytes()


def test_each_and_all_built_once_are_the_documents_of_write_docx(frames, tmp_path):
    """write_docx_each (the pipeline's word_tables) copies each table into the document of all: the bytes
    of write_docx([table]) for each and of write_docx(tables) for all (a note, none, an empty table)."""
    tables = [family_title(manuscript_table(name, frames[name], "smd"), family)
              for family in ("outcome", "dropout") for name in ("pooled", "moderators", "bias", "subgroups")]
    tables.append(manuscript_table("moderators", frames["moderators"].iloc[:0], "smd"))
    paths = [tmp_path / f"each{i}.docx" for i in range(len(tables))]
    write_docx_each(tables, paths, tmp_path / "all.docx")
    for i, table in enumerate(tables):
        write_docx([table], tmp_path / "one.docx")
        assert paths[i].read_bytes() == (tmp_path / "one.docx").read_bytes(), i
    write_docx(tables, tmp_path / "tables.docx")
    assert (tmp_path / "all.docx").read_bytes() == (tmp_path / "tables.docx").read_bytes()


def test_apa_title_case():
    assert title_case("Publication bias and small-study effects") == "Publication Bias and Small-Study Effects"
    assert title_case("Pooled estimates (every estimator and test)") == "Pooled Estimates (Every Estimator and Test)"
    assert title_case("Summary of findings (GRADE): outcome family") == "Summary of Findings (GRADE): Outcome Family"


def test_table_notes_name_the_analysis_metric_in_words():
    """The notes said "tau2 in the analysis metric (smd)" or "(z)", the config's codes, and that Hedges' g
    estimates were "back-transformed to Hedges' g (g)", which they never are."""
    from alliance_meta.report.tables import manuscript_table

    row = {"method": "REML", "test": "z", "k": 10, "estimate": 0.3, "se": 0.05, "ci_lower": 0.2, "ci_upper": 0.4,
           "pi_lower": 0.1, "pi_upper": 0.5, "tau2": 0.01, "i2": 40.0, "q": 15.0, "q_df": 9, "q_p": 0.09}
    notes = {metric: manuscript_table("pooled", pd.DataFrame([row]), metric).note for metric in ("z", "smd", "log_or")}
    assert notes["z"].startswith("Estimates back-transformed to correlation (r); \u03c4\u00b2 in the analysis metric "
                                 "(Fisher's z). ")
    assert notes["smd"].startswith("Estimates and \u03c4\u00b2 in the analysis metric (Hedges' g). ")
    assert "(log odds ratio)" in notes["log_or"]
    bayes = pd.DataFrame([{"parameter": "mu", "mean": 0.5, "sd": 0.1, "hdi_lower": 0.3, "hdi_upper": 0.7,
                           "r_hat": 1.0, "ess_bulk": 4000, "ess_tail": 3000}])
    assert "analysis metric (Hedges' g)" in manuscript_table("bayes", bayes, "smd").note
