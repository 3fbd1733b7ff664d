"""The HTML report and manuscript tables (Markdown, LaTeX) built from the pipeline's outputs."""

from alliance_meta.report.html import render_report
from alliance_meta.report.methods import methods_paragraph
from alliance_meta.report.tables import manuscript_table, to_latex, to_markdown

__all__ = ["render_report", "methods_paragraph", "manuscript_table", "to_latex", "to_markdown"]
