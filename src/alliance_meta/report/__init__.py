"""The HTML report and manuscript tables (Markdown, LaTeX, Word) built from the pipeline's outputs.

Names are loaded on first use, so a job that needs one submodule (``report.grade``,
``report.changes``) does not import jinja2, Pillow and python-docx (~0.3 s).
"""

from __future__ import annotations

import importlib

#: public name -> module
_API = {
    "render_report": "alliance_meta.report.html",
    "methods_paragraph": "alliance_meta.report.methods",
    "family_title": "alliance_meta.report.tables",
    "manuscript_table": "alliance_meta.report.tables",
    "to_latex": "alliance_meta.report.tables",
    "to_markdown": "alliance_meta.report.tables",
    "write_docx": "alliance_meta.report.word",
}

__all__ = list(_API)


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'alliance_meta.report' has no attribute {name!r}")
