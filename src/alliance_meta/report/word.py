"""Manuscript tables as Word documents in APA 7 style (python-docx).

APA Publication Manual, 7th ed. (2020), sec. 7.8-7.14 and Table 7.1: the table number in bold
("Table 1"), the title on the next line in italic title case, horizontal rules only (above and
below the column headings and below the last row; no vertical rules), column headings centred,
numbers right-aligned (every number of a column has the same decimals, so the decimals line
up), and the note below the table starting with *Note.* in italics; statistical symbols (k, N, p, r, Q, I²
...) italic in the headings and the note, Q_M and SD_res with an upright subscript, R̂ with its circumflex. A long
table repeats its headings on each page and splits no row; its columns are as wide as their text (in the grid, which
LibreOffice and Google Docs use, and in each cell, which Word uses); a table of labels too long for a column (the
summary of findings) gives each a row across the table (``ManuscriptTable.label_rows``).

The table number is a Word ``SEQ Table`` field whose shown value is the number given here: a
table pasted into a manuscript renumbers itself when Word updates its fields. The documents are
written byte for byte the same for the same tables (fixed document dates and zip timestamps).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt

from alliance_meta.report.formatting import TYPESET_SYMBOLS, typeset_parts
from alliance_meta.report.tables import ManuscriptTable

FONT = "Times New Roman"
TEXT_SIZE, TABLE_SIZE = Pt(12), Pt(10)
RULE_WIDTH = "8"  # eighths of a point: 1-pt rules
FIXED_DATE = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
MINOR_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "nor", "of", "on", "or", "per", "so", "the",
               "to", "up", "vs", "with", "yet"}


def title_case(text: str) -> str:
    """APA title case: major words (and every part of a hyphenated word) capitalised, minor words of
    three letters or fewer lower case except the first; words with capitals or symbols kept as written."""
    words = text.split(" ")
    out = []
    for position, word in enumerate(words):
        parts = re.split(r"([-\u2013])", word)
        fixed = []
        for part in parts:
            lead = len(part) - len(part.lstrip("([\"'"))
            core = part[lead:]
            if not core or not core[0].isalpha() or core != core.lower() or (position > 0 and core in MINOR_WORDS):
                fixed.append(part)
            else:
                fixed.append(part[:lead] + core[0].upper() + core[1:])
        out.append("".join(fixed))
    return " ".join(out)


def _font(run, size=TEXT_SIZE, bold=False, italic=False):
    run.font.name, run.font.size, run.bold, run.italic = FONT, size, bold, italic
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    return run


def _field_run(paragraph, instruction: str, shown: str):
    """A Word field (``SEQ Table``) whose result reads ``shown`` until Word updates it."""
    def char(kind):
        run = _font(paragraph.add_run(), bold=True)
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        run._element.append(element)

    char("begin")
    run = _font(paragraph.add_run(), bold=True)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run._element.append(instr)
    char("separate")
    _font(paragraph.add_run(shown), bold=True)
    char("end")


def _borders(cell, **sides):
    """Set the cell's borders: ``top="single"`` etc.; sides not named get no border."""
    properties = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{side}")
        kind = sides.get(side, "nil")
        element.set(qn("w:val"), kind)
        if kind != "nil":
            element.set(qn("w:sz"), RULE_WIDTH)
            element.set(qn("w:space"), "0")
            element.set(qn("w:color"), "000000")
        borders.append(element)
    properties.append(borders)


def _no_table_borders(table):
    """The table itself draws no border at all (the cells draw the horizontal rules). ``w:tblBorders`` goes where
    the schema (ECMA-376 CT_TblPr) has it, before the layout and look: appended after them, it broke the order."""
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.insert_element_before(borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption",
                                     "w:tblDescription", "w:tblPrChange")


def add_text(paragraph, text: str, size=TEXT_SIZE, symbols: bool = True, verbatim=()) -> None:
    """``text`` as runs of ``paragraph``, its statistical symbols italic and Q_M, SD_res, SD_\u03c1 and R\u0302 as
    italic symbols with an upright subscript; initials and the passages ``verbatim`` (text from the data) as written
    (:func:`~alliance_meta.report.formatting.typeset_parts`, as the HTML report sets them)."""
    if not symbols:
        _font(paragraph.add_run(text), size)
        return
    runs = []  # (text, italic, subscript), the upright passages joined to the plain text beside them (one run)
    for part, kind in typeset_parts(text, verbatim):
        style = (kind in ("symbol", "italic"), kind == "subscript")
        if runs and style == (False, False) and runs[-1][1:] == style:
            runs[-1] = (runs[-1][0] + part, *style)
        else:
            runs.append((part, *style))
    for part, italic, subscript in runs:
        _font(paragraph.add_run(part), size, italic=italic).font.subscript = subscript or None


def _cell_text(cell, text: str, align: str, symbols: bool = False, verbatim=()):
    paragraph = cell.paragraphs[0]
    paragraph.alignment = {"l": WD_ALIGN_PARAGRAPH.LEFT, "r": WD_ALIGN_PARAGRAPH.RIGHT,
                           "c": WD_ALIGN_PARAGRAPH.CENTER}[align]
    paragraph.paragraph_format.space_before = paragraph.paragraph_format.space_after = Pt(0)
    add_text(paragraph, text, TABLE_SIZE, symbols, verbatim)
    # the paragraph mark in the table's size too: a row with an empty cell was a 12-pt line, taller than the others
    mark = OxmlElement("w:rPr")
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), str(int(TABLE_SIZE.pt * 2)))
    mark.append(size)
    paragraph._p.get_or_add_pPr().append(mark)


#: Times's narrow and wide characters (about 0.3 and 0.75 em; most others, digits among them, 0.5 em).
NARROW, WIDE = set(" .,;:'!|()[]-ijlrtfI"), set("ABCDEFGHJKLMNOPQRSTUVWXYZmw%\u2014")


def text_inches(text: str) -> float:
    """How wide ``text`` is set in 10-pt Times, with the cell's margins (0.15 in in Word and LibreOffice): "common"
    is 0.49 in of text."""
    ems = sum(0.3 if char in NARROW else 0.75 if char in WIDE else 0.5 for char in text)
    return max(0.45, ems * TABLE_SIZE.pt / 72 + 0.2)


def _unbroken(cell: str, align: str, split_numbers: bool) -> list[str]:
    """The parts of a cell that stay on one line: its words; in a right-aligned column of numbers the whole cell,
    or with ``split_numbers`` the estimate and its interval (``.29``, ``[.27, .32]``)."""
    if align != "r":
        return cell.split(" ")
    return cell.replace(" [", "\n[").split("\n") if split_numbers else [cell]


def kept_whole(cell: str, align: str) -> str:
    """A cell as written into Word: in a right-aligned column of numbers, non-breaking spaces inside each part
    that :func:`column_widths` keeps on one line (``125\u00a0(11,021)``, ``[.27,\u00a0.32]``), so that a renderer
    whose letters are wider than :func:`text_inches` reckons breaks a number nowhere but before its interval."""
    return " ".join(part.replace(" ", "\u00a0") for part in _unbroken(cell, align, split_numbers=True)) \
        if align == "r" else cell


#: A relation between a statistic and its value in a note ("p = .774", "N = 11,021 \u2265 400"): its spaces are
#: non-breaking, so that no line ends in "p" and the next begins "= .774".
RELATION = re.compile(r"(?<=\S) ([=<>\u2264\u2265\u2248]) (?=\S)")


def column_widths(table: ManuscriptTable, text_width: float = 9.0) -> list[float]:
    """Each column's width in inches: as wide as its longest cell; when the table is wider than the page's text
    width, narrower, down to its longest word, the room beyond that shared out in proportion. The cells of a
    right-aligned column of numbers (``.29 [.27, .32]``) stay whole; only where they do not fit so does an estimate
    go on one line and its interval on the next; a table whose words do not fit even then is scaled down."""
    columns = [(heading, [row[j] for row in table.rows], align)
               for j, (heading, align) in enumerate(zip(table.header, table.alignment()))]
    natural = [max(map(text_inches, [heading, *cells])) for heading, cells, _ in columns]
    if sum(natural) <= text_width:
        return natural

    def shortest(split_numbers: bool) -> list[float]:
        return [max(map(text_inches, heading.split(" ") + [part for cell in cells
                                                          for part in _unbroken(cell, align, split_numbers)]))
                for heading, cells, align in columns]

    least = shortest(split_numbers=False)
    if sum(least) > text_width:
        least = shortest(split_numbers=True)
    if sum(least) >= text_width:
        return [width * text_width / sum(least) for width in least]
    room = (text_width - sum(least)) / (sum(natural) - sum(least))
    return [low + (high - low) * room for low, high in zip(least, natural)]


def _column_widths(grid, grid_rows, table: ManuscriptTable) -> None:
    """Set :func:`column_widths` on the table's grid (``w:gridCol``, which LibreOffice and Google Docs use) and on
    each cell (``w:tcW``, which Word uses): with the grid's equal columns by default, a study's name broke over two
    lines and a heading inside a word ("Inconsistenc-y") in all but Word. ``grid_rows``: each row's cells."""
    grid.autofit = False
    widths = [Inches(width) for width in column_widths(table)]
    for column, width in zip(grid.columns, widths):
        column.width = width
    for cells in grid_rows:
        for cell, width in zip(cells, widths):
            cell.width = width


def _table_rows(grid) -> None:
    """The heading row repeated on each page a long table runs over (APA 7) and no row split over two
    pages (the study characteristics' hundred rows ran over pages with the headings on the first only)."""
    for index, row in enumerate(grid.rows):
        properties = row._tr.get_or_add_trPr()
        properties.append(OxmlElement("w:cantSplit"))
        if index == 0:
            properties.append(OxmlElement("w:tblHeader"))


def add_table(document, table: ManuscriptTable, number: int) -> None:
    """Append one APA table (number, title, table, note) to ``document``."""
    _add_label(document, number)
    title = document.add_paragraph()
    title.paragraph_format.keep_with_next = True
    _font(title.add_run(title_case(table.title)), italic=True)

    labels, label_symbols = [row[0] for row in table.rows] if table.label_rows else [], table.stub_symbols
    if labels:  # each row's label a row of its own across the table, above the row's other cells
        table = replace(table, header=table.header[1:], rows=[row[1:] for row in table.rows],
                        align=table.alignment()[1:], stub_symbols=False)
    align = table.alignment()
    grid = document.add_table(rows=1 + (1 + bool(labels)) * len(table.rows), cols=len(table.header))
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_table_borders(grid)
    # each row's cells taken once: python-docx's grid.cell(i, j) re-reads the whole table (quadratic)
    grid_rows = [row.cells for row in grid.rows]
    label_rows, body = grid_rows[1::2] if labels else [], grid_rows[2::2] if labels else grid_rows[1:]
    for j, heading in enumerate(table.header):
        cell = grid_rows[0][j]
        _cell_text(cell, heading, "l" if align[j] == "l" else "c", symbols=True, verbatim=table.verbatim)
        _borders(cell, top="single", bottom="single")
    for i, (row, cells) in enumerate(zip(table.rows, body), start=1):
        for j, text in enumerate(row):
            _cell_text(cells[j], kept_whole(text, align[j]), align[j], symbols=table.stub_symbols and j == 0,
                       verbatim=table.verbatim)
            _borders(cells[j], bottom="single" if i == len(table.rows) else "nil")
    _column_widths(grid, grid_rows, table)
    for label, cells in zip(labels, label_rows):
        cell = cells[0].merge(cells[-1])  # as wide as the columns it spans (python-docx sums their widths)
        _cell_text(cell, label, "l", symbols=label_symbols, verbatim=table.verbatim)
        cell.paragraphs[0].paragraph_format.keep_with_next = True  # on the page of its row
        _borders(cell)
    _table_rows(grid)
    if table.note:
        note = document.add_paragraph()
        note.paragraph_format.space_before = Pt(6)
        _font(note.add_run("Note."), italic=True)
        joined = functools.partial(RELATION.sub, "\u00a0\\1\u00a0")  # the data's passages alike: still set as written
        add_text(note, " " + joined(table.note), verbatim=tuple(map(joined, table.verbatim)))


def _add_label(document, number: int) -> None:
    """The table's number in bold ("Table 1", a ``SEQ Table`` field)."""
    label = document.add_paragraph()
    label.paragraph_format.keep_with_next = True
    _font(label.add_run("Table "), bold=True)
    _field_run(label, "SEQ Table \\* ARABIC", str(number))


def _document():
    document = Document()
    style = document.styles["Normal"]
    style.font.name, style.font.size = FONT, TEXT_SIZE
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Inches(11), Inches(8.5)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Inches(1))
    properties = document.core_properties
    properties.author = properties.last_modified_by = "alliance-meta"
    properties.created = properties.modified = FIXED_DATE.replace(tzinfo=None)
    properties.revision = 1
    return document


def save_deterministic(document, path: str | Path) -> None:
    """Save ``document`` with every zip member dated 1980-01-01, so equal tables give equal bytes."""
    buffer = io.BytesIO()
    document.save(buffer)
    buffer.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(item.filename))
    Path(path).write_bytes(out.getvalue())


def write_docx(tables: Sequence[ManuscriptTable], path: str | Path, title: str | None = None) -> None:
    """Write ``tables`` to one Word document, numbered Table 1, 2, ... in order, each from a new page;
    ``title`` (optional) is a heading above the first."""
    document = _document()
    if title:
        heading = document.add_paragraph()
        _font(heading.add_run(title), bold=True)
    for number, table in enumerate(tables, start=1):
        if number > 1:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        add_table(document, table, number)
    save_deterministic(document, path)


def write_docx_each(tables: Sequence[ManuscriptTable], paths: Sequence[str | Path], path: str | Path) -> None:
    """Each table in a document of its own (``paths``, each as Table 1) and all of them in ``path``, numbered
    in order: the documents of ``write_docx([table], ...)`` for each and ``write_docx(tables, path)``. Each
    table is built once (python-docx builds a table cell by cell, most of the time here) and copied into the
    document of all."""
    document = _document()
    body = document.element.body
    for number, (table, own_path) in enumerate(zip(tables, paths, strict=True), start=1):
        own = _document()
        add_table(own, table, 1)
        save_deterministic(own, own_path)
        if number > 1:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        _add_label(document, number)
        for element in own.element.body[1:]:  # after its label: title, table, note
            if element.tag != qn("w:sectPr"):
                body.sectPr.addprevious(copy.deepcopy(element))
    save_deterministic(document, path)


def _spans_row(row) -> bool:
    """Whether the row is one cell across the table (a label row of :attr:`ManuscriptTable.label_rows`)."""
    cells = row.cells
    return len(cells) > 1 and cells[0]._tc.grid_span == len(cells)


def read_docx_tables(path: str | Path) -> list[dict]:
    """Each table of a document written by :func:`write_docx`: ``label`` ("Table 1"), ``title``, ``header``,
    ``rows`` (a label row across the table as one cell) and ``note`` as text (for checks and tests; the non-breaking
    spaces of :func:`kept_whole` and :data:`RELATION` as spaces, the symbols of
    :data:`~alliance_meta.report.formatting.TYPESET_SYMBOLS` as the plain text writes them: QM, SD_res, R-hat)."""
    typeset = {symbol + ("_" + subscript if subscript else ""): plain
               for plain, (symbol, subscript) in TYPESET_SYMBOLS.items()}
    written = re.compile("|".join(map(re.escape, typeset)))

    def text(paragraph) -> str:  # a subscript marked as the plain text marks SD_res
        joined = "".join(("_" if run.font.subscript else "") + run.text for run in paragraph.runs)
        return written.sub(lambda match: typeset[match.group()], joined).replace("\u00a0", " ")

    document = Document(str(path))
    paragraphs = [text(p) for p in document.paragraphs]
    labels = [i for i, label in enumerate(paragraphs) if re.fullmatch(r"Table \d+", label)]
    out = []
    for index, grid in zip(labels, document.tables):
        # a label row across the table (ManuscriptTable.label_rows) as one cell
        cells = [["\n".join(map(text, cell.paragraphs)) for cell in row.cells[:1 if _spans_row(row) else None]]
                 for row in grid.rows]
        following = [text for text in paragraphs[index + 2:] if text.strip()]
        note = following[0] if following and following[0].startswith("Note.") else ""
        out.append({"label": paragraphs[index], "title": paragraphs[index + 1], "header": cells[0],
                    "rows": cells[1:], "note": note.removeprefix("Note. ")})
    return out
