"""Word (APA 7) manuscript tables: python-docx reads back the Markdown table's cells, title and note;
horizontal rules only; numbered captions in order; the same tables give the same bytes."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn

import alliance_meta as am
from alliance_meta.report.tables import ManuscriptTable, family_title, manuscript_table, to_markdown
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
    if table.label_rows:  # each row's label a row of its own above its other cells
        header, rows = header[1:], [part for row in rows for part in ([row[0]], row[1:])]
    assert word["header"] == header
    assert word["rows"] == rows and len(rows) == len(frames[name]) * (1 + table.label_rows)
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


def _twips(element, tag: str) -> int:
    return int(element.get(qn(tag)))


def test_column_widths_are_in_the_grid_too(frames, tmp_path):
    """LibreOffice and Google Docs lay a table out by its grid (w:gridCol), Word by its cells' widths (w:tcW): the
    grid had python-docx's equal columns, so there a study's name broke over two lines and "Inconsistency" inside
    the word. Both now say the same widths, as wide as the cells' text needs."""
    table = manuscript_table("summary_of_findings", frames["summary_of_findings"], "smd")
    write_docx([table], tmp_path / "sof.docx")
    grid = Document(str(tmp_path / "sof.docx")).tables[0]
    columns = [_twips(col, "w:w") for col in grid._tbl.tblGrid.findall(qn("w:gridCol"))]
    for index, row in enumerate(grid.rows):
        widths = [_twips(cell._tc.tcPr.find(qn("w:tcW")), "w:w") for cell in row.cells]
        # the outcome's row across the table (label_rows): one cell as wide as the columns it spans
        assert widths == ([sum(columns)] * len(columns) if index % 2 else columns), index
    assert len(set(columns)) > 1
    assert sum(columns) <= 9 * 1440 + len(columns)  # the landscape page's 9 in of text width
    # no heading word ("Inconsistency", "Publication") narrower than its letters
    from alliance_meta.report.word import text_inches

    for heading, width in zip(table.header[1:], columns):
        assert width >= max(text_inches(word) for word in heading.split(" ")) * 1440 - 1, heading


def test_column_widths_keep_numbers_and_words_whole():
    """A table that fits is as wide as its cells; one that does not gives up room down to its longest words,
    an estimate and its interval each on one line."""
    from alliance_meta.report.tables import ManuscriptTable
    from alliance_meta.report.word import column_widths, text_inches

    narrow = ManuscriptTable("t", ["Study", "g [95% CI]"], [["Simulated study 119", "0.49 [0.38, 0.59]"]])
    assert column_widths(narrow) == [text_inches("Simulated study 119"), text_inches("0.49 [0.38, 0.59]")]
    # as LibreOffice sets them in Liberation Serif (Times's metrics), 1.24 in and 0.49 in, and the margins
    assert 1.39 < text_inches("Simulated study 119") < 1.6 and 0.64 < text_inches("common") < 0.8
    wide = ManuscriptTable("t", ["Outcome", "g [95% CI]", "Certainty"],
                           [["Alliance and treatment outcome " * 6, "0.49 [0.38, 0.59]", "Very low (suggested)"]])
    widths = column_widths(wide)
    assert sum(widths) == pytest.approx(9.0)
    assert widths[1] >= text_inches("[0.38, 0.59]")  # the interval whole
    assert widths[2] >= text_inches("(suggested)")


def test_heading_row_repeats_on_each_page_and_rows_do_not_split(frames, tmp_path):
    """A long table (the study characteristics of 125 studies run over four pages) repeats its column headings on
    each page, and no row breaks over two pages."""
    write_docx([manuscript_table("pooled", frames["pooled"], "smd")], tmp_path / "pooled.docx")
    grid = Document(str(tmp_path / "pooled.docx")).tables[0]
    for index, row in enumerate(grid.rows):
        properties = row._tr.trPr
        assert properties is not None and properties.find(qn("w:cantSplit")) is not None, index
        assert (properties.find(qn("w:tblHeader")) is not None) == (index == 0), index


def test_an_empty_cell_is_a_line_of_the_table_size(frames, tmp_path):
    """An empty cell's paragraph mark is 10 pt like the text: the common-effect rows (no prediction interval) were
    taller than the others, their empty cell a 12-pt line."""
    table = manuscript_table("pooled", frames["pooled"].assign(method="common"), "smd")
    assert table.rows[0][4] == ""
    write_docx([table], tmp_path / "pooled.docx")
    grid = Document(str(tmp_path / "pooled.docx")).tables[0]
    for row in grid.rows:
        for cell in row.cells:
            mark = cell.paragraphs[0]._p.pPr.find(qn("w:rPr"))
            assert mark is not None and mark.find(qn("w:sz")).get(qn("w:val")) == "20", cell.text


def test_a_moderator_not_estimable_has_one_dash_per_test():
    """A moderator with one value in every row has no model: its QM and F cells read "–", not "– (–)",
    and its permutation p a dash like the other tests' (it was blank, as where permutations are not run); with
    permutations: 0 the table has no permutation column."""
    row = {"moderator": "rater", "k": 1, "qm": np.nan, "qm_df": np.nan, "qm_p": np.nan, "f": np.nan,
           "f_df1": np.nan, "f_df2": np.nan, "f_p": np.nan, "tau2": np.nan, "r2": np.nan, "qm_p_permutation": np.nan,
           "note": "no mixed-effects model: rater has one value (patient) in every row: nothing to compare"}
    estimable = {**row, "moderator": "modality", "qm": 9.25, "qm_df": 5, "qm_p": 0.099, "f": 1.875, "f_df1": 5,
                 "f_df2": 119, "f_p": 0.104, "qm_p_permutation": 0.12, "note": ""}
    table = manuscript_table("moderators", pd.DataFrame([row, estimable]), "z")
    assert table.header[6] == "p (permutation)" and "no mixed-effects model" in table.note
    assert table.rows[0][2] == table.rows[0][4] == table.rows[0][6] == "\u2013"
    assert table.rows[1][2:7] == ["9.25 (5)", ".099", "1.88 (5, 119)", ".104", ".120"]
    (cells,) = manuscript_table("moderators", pd.DataFrame([{**estimable, "qm_p_permutation": np.nan}]), "z").rows
    assert cells[2:6] == ["9.25 (5)", ".099", "1.88 (5, 119)", ".104"] and len(cells) == 8  # permutations: 0


def test_kendalls_tau_of_the_rank_test_has_no_leading_zero(frames):
    """Kendall's tau is a correlation, bounded by 1: APA writes it without a leading zero (\u2212.15), as every
    generic table's kendall_tau column; the bias table wrote \u22120.15."""
    bias = frames["bias"]
    rank = bias.loc[bias["test"] == "rank"].iloc[0]
    cells = {row[0]: row[1] for row in manuscript_table("bias", bias, "smd").rows}
    assert cells["Rank correlation test"] == f"{rank['statistic']:.2f}".replace("-0.", "\u2212.").replace("0.", ".")
    assert cells["Egger's regression test"].lstrip("\u2212").startswith(("0.", "1.", "2.", "3.", "4."))
    from alliance_meta.report.text import bias_sentence

    assert f"Kendall's \u03c4 = {cells['Rank correlation test']}," in bias_sentence(bias, "smd")  # the Results too


def test_the_pooled_tables_test_column_is_text_left_aligned(frames):
    table = manuscript_table("pooled", frames["pooled"], "smd")
    assert table.alignment()[:3] == ["l", "l", "r"]


def test_numbers_stay_whole_where_the_words_can_wrap_instead():
    """The summary of findings (ten columns) is wider than the page: its words wrap, its ".29 [.27, .32]" stays
    on one line; only a table that does not fit so puts the interval on a line of its own."""
    from alliance_meta.report.tables import ManuscriptTable
    from alliance_meta.report.word import column_widths, text_inches

    header = ["Outcome", "r [95% CI]", *(f"Domain number {i}" for i in range(7))]
    table = ManuscriptTable("t", header, [["Alliance and treatment outcome (correlation)", ".29 [.27, .32]",
                                           *(["Not serious"] * 7)]])
    widths = column_widths(table)
    assert sum(widths) == pytest.approx(9.0) and widths[1] >= text_inches(".29 [.27, .32]")
    crowded = ManuscriptTable("t", ["Outcome", *(f"r{i}" for i in range(10))], [["x", *([".29 [.27, .32]"] * 10)]])
    widths = column_widths(crowded)
    assert sum(widths) == pytest.approx(9.0)
    assert text_inches("[.27, .32]") <= widths[1] < text_inches(".29 [.27, .32]")


def test_numbers_and_intervals_cannot_break_where_the_widths_keep_them_whole(frames, tmp_path):
    """The widths keep ".29 [.27, .32]" and "125 (11,021)" on one line only by Times's reckoned letters: a renderer
    with wider ones (another font) broke them at any space ("[.27," / ".32]"). Their spaces are now non-breaking,
    but the one before the interval, the only place column_widths lets a number break; text cells wrap as before.
    LibreOffice broke the note's "LRT p = .774" after the p: a relation's spaces are non-breaking there too."""
    table = manuscript_table("summary_of_findings", frames["summary_of_findings"], "smd")
    write_docx([table], tmp_path / "sof.docx")
    grid = Document(str(tmp_path / "sof.docx")).tables[0]
    written = {heading: cell.text for heading, cell in zip(table.header[1:], grid.rows[2].cells)}
    assert written["k (N)"] == "13\u00a0(1,300)"
    assert re.fullmatch(r"\u2212\d\.\d\d \[\u2212\d\.\d\d,\u00a0\u2212\d\.\d\d\]", written["g [95% CI]"])
    assert written["Certainty"] == "Very low (suggested)"  # words wrap
    # nor does a line of the note end in "p" and the next begin "= .774"
    note = next(p.text for p in Document(str(tmp_path / "sof.docx")).paragraphs if p.text.startswith("Note."))
    assert "\u00a0=\u00a0" in note and not re.search(r" [=<>\u2264\u2265] ", note)
    read = read_docx_tables(tmp_path / "sof.docx")[0]
    assert read["rows"] == [[table.rows[0][0]], table.rows[0][1:]] and read["note"] == table.note


def test_statistical_symbols_are_italic_in_headings_and_notes(frames, tmp_path):
    """APA 7 sets statistical symbols (k, N, p, r, g, Q, I², df ...) in italics, Greek letters and abbreviations
    (CI, PI) upright: in Word the headings and the note say so; the cells of the body stay as they are."""
    table = manuscript_table("pooled", frames["pooled"], "smd")
    write_docx([table], tmp_path / "pooled.docx")
    document = Document(str(tmp_path / "pooled.docx"))
    heading = {cell.text: [run.text for run in cell.paragraphs[0].runs if run.italic]
               for cell in document.tables[0].rows[0].cells}
    assert heading["k"] == ["k"] and heading["I\u00b2 (%)"] == ["I\u00b2"] and heading["Q (df)"] == ["Q", "df"]
    assert heading["g [95% CI]"] == ["g"] and heading["\u03c4\u00b2"] == [] and heading["95% PI"] == []
    note = next(p for p in document.paragraphs if p.text.startswith("Note."))
    italic = [run.text for run in note.runs if run.italic]
    assert italic[0] == "Note." and {"k", "Q", "I\u00b2"} <= set(italic)
    assert not {"CI", "PI", "REML", "knha", "Hedges'"} & set(italic)
    assert all(not run.italic for row in document.tables[0].rows[1:] for cell in row.cells
               for run in cell.paragraphs[0].runs)
    assert read_docx_tables(tmp_path / "pooled.docx")[0]["note"] == table.note  # the words as they were


def test_no_letter_of_an_abbreviation_with_periods_is_italic(tmp_path):
    """The note of separated 2x2 tables says "e.g. no dropout in ...": its g was set as Hedges' g in italics (and
    the n of "n.s." as a sample size); a symbol at a sentence's end stays italic."""
    n11, n12, n21, n22 = np.array([10, 12, 8, 15]), np.zeros(4, int), np.array([5, 7, 4, 6]), np.array([9, 8, 10, 7])
    a, b, c, d = n11 + 0.5, n12 + 0.5, n21 + 0.5, n22 + 0.5
    rows = pd.DataFrame({"study_id": [f"s{i}" for i in range(4)], "yi": np.log(a * d / (b * c)),
                         "vi": 1 / a + 1 / b + 1 / c + 1 / d, "n11": n11, "n12": n12, "n21": n21, "n22": n22,
                         "metric": "log_or"})
    pooled, _ = am.pooled_table(rows, metric="log_or")
    table = manuscript_table("pooled", pooled, "log_or")
    table = dataclasses.replace(table, note=table.note + " Differences n.s. at larger k.")
    assert "e.g. no dropout" in table.note
    write_docx([table], tmp_path / "pooled.docx")
    note = next(p for p in Document(str(tmp_path / "pooled.docx")).paragraphs if p.text.startswith("Note."))
    runs = [(run.text, bool(run.italic)) for run in note.runs]
    assert not any(italic and text in ("g", "n") for text, italic in runs)
    assert ("e.g. no dropout" in "".join(text for text, _ in runs)) and runs[-2:] == [("k", True), (".", False)]


def test_every_statistical_symbol_of_the_tables_is_italic_the_odds_ratio_too(tmp_path):
    """The figures set OR in italics (APA 2020, 6.46); Word left it upright in "OR [95% CI]" of an odds-ratio
    family's tables and in the Bayesian table's note ("OR = \u03bc as an odds ratio"), and the bias table's k0 too."""
    rows = pd.DataFrame({"study_id": ["s0", "s1", "s2"], "yi": [0.4, 0.2, 0.6], "vi": [0.05, 0.08, 0.04],
                         "metric": "log_or"})  # SIMULATED
    pooled, _ = am.pooled_table(rows, metric="log_or")
    note = "OR = \u03bc as an odds ratio; OR (new study); trim and fill, k0 = studies estimated missing; or, for OR."
    table = dataclasses.replace(manuscript_table("pooled", pooled, "log_or"), note=note)
    write_docx([table], tmp_path / "pooled.docx")
    document = Document(str(tmp_path / "pooled.docx"))
    heading = {cell.text: [run.text for run in cell.paragraphs[0].runs if run.italic]
               for cell in document.tables[0].rows[0].cells}
    assert heading["OR [95% CI]"] == ["OR"]
    assert [text for text, italic in note_runs(tmp_path / "pooled.docx") if italic] == ["Note.", "OR", "OR", "k0", "OR"]


def note_runs(path) -> list[tuple[str, bool]]:
    note = next(p for p in Document(str(path)).paragraphs if p.text.startswith("Note."))
    return [(run.text, bool(run.italic)) for run in note.runs]


def test_initials_of_a_name_are_no_statistical_symbols(tmp_path):
    """"J. F. Smith" set its F as the F test in italics (and Q. Wang's Q as Cochran's Q): a capital with a period
    before another initial or a name, or after a surname and comma, is an initial; F, N and Q used as symbols in the
    same note stay italic."""
    note = ("Coded by J. F. Smith, F. Smith, J.-F. Martin, Q. Wang and Smith, F., & Jones. F (df1, df2) = "
            "Knapp\u2013Hartung test; N = patients; Q = Cochran's test.")
    write_docx([ManuscriptTable("t", ["Study", "N"], [["a", "1"]], note)], tmp_path / "t.docx")
    runs = note_runs(tmp_path / "t.docx")
    assert "".join(text for text, _ in runs).replace("\u00a0", " ") == f"Note. {note}"  # RELATION's spaces
    assert [text for text, italic in runs if italic] == ["Note.", "F", "df1", "df2", "N", "Q"]


def test_text_from_the_data_is_never_a_statistical_symbol(tmp_path):
    """A moderator's level named in its note ("sex has one value (F) in every row") and a moderator column named
    like a symbol were set in italics as statistical symbols: the tables mark the text that comes from the data
    (ManuscriptTable.verbatim) and Word sets it as written; the table's own F, k and p stay italic."""
    row = {"moderator": "sex", "k": 9, "qm": np.nan, "qm_df": np.nan, "qm_p": np.nan, "f": np.nan, "f_df1": np.nan,
           "f_df2": np.nan, "f_p": np.nan, "tau2": np.nan, "r2": np.nan,
           "note": "no mixed-effects model: sex has one value (F) in every row: nothing to compare"}
    table = manuscript_table("moderators", pd.DataFrame([row]), "z")
    assert "sex has one value (F) in every row" in table.note
    write_docx([table], tmp_path / "moderators.docx")
    runs = note_runs(tmp_path / "moderators.docx")
    italic = [text for text, italic in runs if italic]
    assert italic.count("F") == 1 and "(F)" in "".join(text for text, italic in runs if not italic)
    assert {"k", "Q"} <= set(italic)  # Q_M: an italic Q with an upright subscript M
    characteristics = pd.DataFrame({"study_id": ["s1", "s2"], "authors": ["J. F. Smith", "Q. Wang"],
                                    "year": [2001, 2003], "n": [50, 60], "k_effect_sizes": [1, 2],
                                    "q": ["yes", "no"], "estimate": [0.3, 0.2], "ci_lower": [0.1, 0.0],
                                    "ci_upper": [0.5, 0.4]})
    table = manuscript_table("study_characteristics", characteristics, "smd")
    assert "Q" in table.header
    write_docx([table], tmp_path / "characteristics.docx")
    heading = {cell.text: [run.text for run in cell.paragraphs[0].runs if run.italic]
               for cell in Document(str(tmp_path / "characteristics.docx")).tables[0].rows[0].cells}
    assert heading["Q"] == [] and heading["N"] == ["N"] and heading["k"] == ["k"]


def test_text_from_the_data_with_a_relation_in_it_is_still_set_as_written(tmp_path):
    """The note's relations got non-breaking spaces ("k\u00a0=\u00a01") after the data's passages were marked:
    a passage with a relation in it ("level F has k = 1 study") no longer matched, and its level F was set in
    italics as the F test."""
    note = "Mixed-effects meta-regression. dose: level F has k = 1 study"
    write_docx([ManuscriptTable("t", ["Moderator", "k"], [["dose", "3"]], note,
                                verbatim=("level F has k = 1 study",))], tmp_path / "t.docx")
    runs = note_runs(tmp_path / "t.docx")
    assert [text for text, italic in runs if italic] == ["Note."]
    assert "".join(text for text, _ in runs) == "Note. " + note.replace(" = ", "\u00a0=\u00a0")


@pytest.mark.parametrize("metric, scale", [("z", "Fisher's z"), ("log_or", "log odds ratio"), ("smd", "Hedges' g")])
def test_every_note_says_what_its_abbreviations_mean_and_on_which_scale(frames, metric, scale):
    """APA: a table's note explains each abbreviation of its own. The moderator table named neither QM, R\u00b2 nor
    \u03c4\u00b2 (nor its scale, Fisher's z or log odds ratio under r and OR); the subgroup table neither CI nor
    \u03c4\u00b2; the bias table not "k imputed"."""
    moderators = manuscript_table("moderators", frames["moderators"], metric).note
    assert "QM = omnibus Wald test" in moderators and "R\u00b2 = share of \u03c4\u00b2" in moderators
    assert f"\u03c4\u00b2 = residual variance of the true effects, in the analysis metric ({scale})" in moderators
    subgroups = manuscript_table("subgroups", frames["subgroups"], metric).note
    assert "CI = confidence interval" in subgroups and "\u03c4\u00b2 = variance of the true effects" in subgroups
    assert f"\u03c4\u00b2 in the analysis metric ({scale})" in subgroups
    assert subgroups.count("analysis metric") == manuscript_table("pooled", frames["pooled"], metric).note.count(
        "analysis metric") == 1
    bias = manuscript_table("bias", frames["bias"], metric)
    assert ("k imputed = studies imputed by trim and fill" in bias.note) == any(row[4] for row in bias.rows)
    three_level = frames["moderators"].assign(multilevel_k=13, multilevel_n_studies=10, multilevel_qm=1.0,
                                              multilevel_qm_df=1, multilevel_qm_p=0.3)
    note = manuscript_table("moderators", three_level, metric).note
    assert f"\u03c3\u00b2 = variance of the true effects between and within studies, in the analysis metric ({scale})" \
        in note and "R\u00b2 = share of their sum" in note


#: The order of the properties the tables use, as the schema has them (ECMA-376 part 1, CT_TblPr, CT_TcPr, CT_PPr).
SCHEMA_ORDER = {
    "tblPr": ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize", "tblW",
              "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook"],
    "tcPr": ["cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap", "tcMar", "textDirection",
             "tcFitText", "vAlign", "hideMark"],
    "pPr": ["pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
            "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
            "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid",
            "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection",
            "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange"],
}


def test_the_word_xml_keeps_the_schemas_order_and_each_property_once(frames, tmp_path):
    """Word refuses a document whose XML breaks the schema ("unreadable content"): the table's borders came after
    its layout and look, and a table without rows had its heading cells' borders twice."""
    tables = [manuscript_table(name, frames[name], "smd") for name in frames]
    tables.append(manuscript_table("moderators", frames["moderators"].iloc[:0], "smd"))  # a heading row alone
    write_docx(tables, tmp_path / "tables.docx")
    body = Document(str(tmp_path / "tables.docx")).element.body
    checked = 0
    for kind, order in SCHEMA_ORDER.items():
        for properties in body.iter(qn(f"w:{kind}")):
            tags = [child.tag.split("}")[1] for child in properties]
            assert len(tags) == len(set(tags)), (kind, tags)
            assert tags == sorted(tags, key=order.index), (kind, tags)
            checked += 1
    assert checked > 100


def test_artifact_variance_above_100_percent_is_explained(frames):
    """Two studies whose correlations vary less than sampling error predicts: psychmeta's uncapped 1356.5% stood in
    the table without a word (and without its thousands separator), as an error would."""
    two = frames["psychometric"].iloc[:1].assign(k=2, percent_artifact_variance=1356.5427, sd_res=0.0)
    table = manuscript_table("psychometric", two, "z")
    assert table.rows[0][-1] == "1,356.5"
    assert "Over 100% (bare bones): the correlations vary less than sampling error alone would make them" in table.note
    assert "Over 100%" not in manuscript_table("psychometric", frames["psychometric"], "z").note


def test_artifact_variance_above_1000_percent_reads_alike_in_the_text_and_the_table(frames):
    """The table wrote 1,356.5 and the report's sentence 1356.5% (no thousands separator, APA 6.38)."""
    from alliance_meta.report.psychometric import psychometric_sentence

    two = frames["psychometric"].iloc[:1].assign(k=2, percent_artifact_variance=1356.5427, sd_res=0.0)
    assert "sampling error accounted for 1,356.5% (over 100%: " in psychometric_sentence(two)


def test_a_pooled_row_without_an_estimate_is_one_dash():
    """dropout_counts: no dropout in the stronger-alliance row of any 2x2 table makes the Mantel-Haenszel and GLMM
    odds ratios infinite (pooled.csv: no estimate, the reason in its note): their cells read "– [–, –]" and
    "– (3)"; now one dash each, the note saying why."""
    nan = np.nan
    rows = [{"method": "Peto", "test": "z", "k": 4, "estimate": 2.184, "ci_lower": 1.125, "ci_upper": 3.241,
             "pi_lower": 1.125, "pi_upper": 3.241, "tau2": 0.0, "i2": 0.0, "q": 0.01, "q_df": 3, "q_p": 0.9997,
             "note": "5 tables from 5 studies"},
            {"method": "MH", "test": "z", "k": 4, "estimate": nan, "ci_lower": nan, "ci_upper": nan, "pi_lower": nan,
             "pi_upper": nan, "tau2": 0.0, "i2": nan, "q": nan, "q_df": 3, "q_p": nan,
             "note": "5 tables from 5 studies; MH odds ratio undefined: the pooled odds ratio is infinite"}]
    table = manuscript_table("pooled", pd.DataFrame(rows), "log_or")
    peto, mh = table.rows
    assert peto[3] == "8.88 [3.08, 25.56]" and peto[7] == "0.01 (3)"
    assert mh[3] == "\u2013" and mh[7] == "\u2013" and mh[8] == "\u2013"
    assert "MH odds ratio undefined" in table.note


def test_the_three_level_table_says_why_its_cr2_test_is_missing(frames):
    """xlsx_quirks: the three-level model's CR2 test of rater was not estimable (moderators.csv's multilevel_note);
    its cells were blank and the note silent. Non-convergence keeps its own sentence, said once."""
    from alliance_meta.analyses.moderators.multilevel import NOT_CONVERGED

    three_level = frames["moderators"].iloc[:1].assign(
        multilevel_k=6, multilevel_n_studies=4, multilevel_qm=2.09, multilevel_qm_df=2, multilevel_qm_p=0.35,
        multilevel_converged=False,
        multilevel_note=f"{NOT_CONVERGED}; CR2 test not estimable: the cluster-robust covariance is singular")
    note = manuscript_table("moderators", three_level, "z").note
    assert "alloc: CR2 test not estimable: the cluster-robust covariance is singular." in note
    assert NOT_CONVERGED not in note and note.count("did not converge") == 1


def test_a_huge_odds_ratio_reads_as_a_number():
    """A t CI of two studies (1 df) on the log odds ratio scale reached 128716144.85: thousands separators from
    1,000 on, and from 10\u2076 on (every digit noise) 1.29 \u00d7 10\u2078, as the tables' Bayes factors."""
    from alliance_meta.report.effects import display

    show = display("log_or")
    assert show.interval(np.log(0.0034), np.log(128716144.85)) == "[0.00, 1.29 \u00d7 10\u2078]"
    assert show.number(np.log(1234.5)) == "1,234.50" and show.number(np.log(27.99)) == "27.99"
    assert display("z").number(np.arctanh(-0.05)) == "\u2212.05"


def test_sd_res_is_sd_with_a_subscript_in_word(frames, tmp_path):
    """The psychometric table's headings and note wrote SD_res and SD_\u03c1 with the plain text's underscore."""
    table = manuscript_table("psychometric", frames["psychometric"], "z")
    write_docx([table], tmp_path / "psychometric.docx")
    document = Document(str(tmp_path / "psychometric.docx"))
    cells = {cell.text: cell.paragraphs[0].runs for cell in document.tables[0].rows[0].cells}
    assert "SD_res" not in cells and "SDres" in cells and "SD\u03c1" in cells
    sd, res = cells["SDres"]
    assert sd.text == "SD" and sd.italic and res.text == "res" and res.font.subscript and not res.italic
    note = next(p for p in document.paragraphs if p.text.startswith("Note."))
    assert "SD_" not in note.text and "SDres\u00a0=\u00a0standard deviation" in note.text


def test_the_statistics_named_in_the_first_column_are_italic_as_in_the_note(frames, tmp_path):
    """The bias table's "Rosenthal's fail-safe N" and the Bayesian table's "r", "P(r > .10)", "I² (%)" and "ORᵃ"
    were upright in Word where their headings and notes set the same symbols in italics; the other cells, numbers
    and text from the data, stay as written."""
    bayes = pd.DataFrame({"parameter": ["mu", "i2", "r", "p_r_gt_0.1", "or"], "mean": [0.3, 50.0, 0.29, 0.99, 1.7],
                          "sd": [0.05, 5.0, 0.05, 0.01, 0.2], "median": [0.3, 50.0, 0.29, 1.0, 1.6],
                          "hdi_lower": [0.2, 40.0, 0.2, np.nan, 1.2], "hdi_upper": [0.4, 60.0, 0.38, np.nan, 2.1],
                          "eti_lower": [0.2, 40.0, 0.2, np.nan, 1.2], "eti_upper": [0.4, 60.0, 0.38, np.nan, 2.1],
                          "r_hat": 1.0, "ess_bulk": 2000.0, "ess_tail": 2000.0})  # SIMULATED summaries
    tables = [manuscript_table("bias", frames["bias"], "smd"), manuscript_table("bayes", bayes, "z")]
    write_docx(tables, tmp_path / "t.docx")
    document = Document(str(tmp_path / "t.docx"))
    stubs = [{row.cells[0].text: [run.text for run in row.cells[0].paragraphs[0].runs if run.italic]
              for row in table.rows[1:]} for table in document.tables]
    assert stubs[0]["Rosenthal's fail-safe N"] == ["N"] and stubs[0]["Rank correlation test"] == []
    assert stubs[1]["r"] == ["r"] and stubs[1]["P(r > .10)"] == ["r"] and stubs[1]["I\u00b2 (%)"] == ["I\u00b2"]
    assert stubs[1]["\u03bc"] == []
    assert all(not run.italic for table in document.tables for row in table.rows[1:] for cell in row.cells[1:]
               for run in cell.paragraphs[0].runs)
    from alliance_meta.report.formatting import STATISTICAL_SYMBOL

    assert STATISTICAL_SYMBOL.split("OR\u1d43") == ["", "OR", "\u1d43"]  # the Bayes table's note mark after it


def test_q_m_r_hat_and_the_n_of_the_sample_size_mean_are_typeset_in_word(frames, tmp_path):
    """The last review: the moderator table's "QM" was one italic word (APA 2020, 6.46: Q italic, the subscript M
    upright below the line), the Bayes table's "R-hat" upright (ArviZ and Stan's R\u0302: an italic R with a
    circumflex) and the n of the psychometric note's "\u03a3n\u00b2/\u03a3n" upright beside its italic "mean n". The
    tables read back in the plain text's words (QM, R-hat)."""
    bayes = pd.DataFrame({"parameter": ["mu", "tau"], "mean": [0.3, 0.1], "sd": [0.05, 0.04],
                          "hdi_lower": [0.2, 0.02], "hdi_upper": [0.4, 0.2], "r_hat": 1.0, "ess_bulk": 2000.0,
                          "ess_tail": 2000.0})  # SIMULATED summaries
    tables = [manuscript_table("moderators", frames["moderators"], "smd"), manuscript_table("bayes", bayes, "z"),
              manuscript_table("psychometric", frames["psychometric"], "z")]
    write_docx(tables, tmp_path / "t.docx")
    document = Document(str(tmp_path / "t.docx"))

    def runs(paragraph):
        return [(run.text, bool(run.italic), bool(run.font.subscript)) for run in paragraph.runs]

    headings = [{cell.text: runs(cell.paragraphs[0]) for cell in table.rows[0].cells} for table in document.tables]
    notes = [runs(p) for p in document.paragraphs if p.text.startswith("Note.")]
    assert headings[0]["QM (df)"][:2] == [("Q", True, False), ("M", False, True)]
    assert ("Q", True, False) in notes[0] and ("M", False, True) in notes[0]
    assert not any("QM" in text for text, _, _ in notes[0])
    assert headings[1]["R\u0302"] == [("R\u0302", True, False)]
    assert ("R\u0302", True, False) in notes[1] and not any("R-hat" in text for text, _, _ in notes[1])
    note = "".join(f"<{text}>" if italic else text for text, italic, _ in notes[2])
    assert "<n>, \u03a3<n>\u00b2/\u03a3<n>)" in note
    read = read_docx_tables(tmp_path / "t.docx")
    assert [table["header"] for table in read] == [table.header for table in tables]
    assert [table["note"] for table in read] == [table.note for table in tables]


def test_the_summary_of_findings_gives_its_outcome_a_row_across_the_table(frames, tmp_path):
    """The last review: the ten columns of the summary of findings left its first column an inch, and "Alliance and
    treatment outcome (correlation)" ran over four lines. As GRADE's evidence profiles (Guyatt et al., 2011), each
    outcome is a row across the table above its numbers and judgements, which keep their columns; the Markdown
    table keeps its Outcome column."""
    frame = frames["summary_of_findings"].assign(outcome="Alliance and treatment outcome (correlation)")
    table = manuscript_table("summary_of_findings", frame, "z")
    assert table.header[0] == "Outcome" and "| Alliance and treatment outcome (correlation) |" in to_markdown(table)
    write_docx([table], tmp_path / "sof.docx")
    grid = Document(str(tmp_path / "sof.docx")).tables[0]
    columns = [_twips(col, "w:w") / 1440 for col in grid._tbl.tblGrid.findall(qn("w:gridCol"))]
    label = grid.rows[1].cells[0]
    assert [cell.text for cell in grid.rows[0].cells] == table.header[1:] and len(columns) == 9
    assert label._tc.grid_span == 9 and label.text == "Alliance and treatment outcome (correlation)"
    assert label.paragraphs[0].paragraph_format.keep_with_next  # on the page of its numbers
    from alliance_meta.report.word import text_inches

    # the label on one line; the columns within the landscape page's 9 in, no word and no number broken
    assert sum(columns) <= 9.0 + 1e-3 and text_inches(label.text) < sum(columns)
    align = table.alignment()
    for j, width in enumerate(columns, start=1):
        parts = [*table.header[j].split(" "), *(part for row in table.rows
                                                for part in (row[j].split(" ") if align[j] == "l" else [row[j]]))]
        assert width >= max(map(text_inches, parts)) - 1e-3, parts
