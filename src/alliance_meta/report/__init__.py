"""The HTML report and manuscript tables (Markdown, LaTeX, Word) built from the pipeline's outputs."""

from alliance_meta.report.html import render_report
from alliance_meta.report.methods import methods_paragraph
from alliance_meta.report.tables import family_title, manuscript_table, to_latex, to_markdown
from alliance_meta.report.word import write_docx

__all__ = ["render_report", "methods_paragraph", "family_title", "manuscript_table", "to_latex", "to_markdown",
           "write_docx"]
