"""The HTML report and manuscript tables (Markdown, LaTeX, Word) built from the pipeline's outputs.

Names are loaded on first use, so a job that needs one submodule (``report.grade``,
``report.changes``) does not import jinja2, Pillow and python-docx (~0.3 s).
"""

from alliance_meta import _lazy

#: public name -> (module, attribute)
_API = {
    "render_report": ("alliance_meta.report.html", "render_report"),
    "methods_paragraph": ("alliance_meta.report.methods", "methods_paragraph"),
    "family_title": ("alliance_meta.report.tables", "family_title"),
    "manuscript_table": ("alliance_meta.report.tables", "manuscript_table"),
    "to_latex": ("alliance_meta.report.tables", "to_latex"),
    "to_markdown": ("alliance_meta.report.tables", "to_markdown"),
    "write_docx": ("alliance_meta.report.word", "write_docx"),
}

__all__ = list(_API)

__getattr__, __dir__ = _lazy.lazy_names(globals(), _API)
