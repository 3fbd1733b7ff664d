"""The fonts embedded in the pipeline's PDFs are read without the layout tables a PDF never uses (plots.style)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from fontTools.ttLib import getTableClass  # noqa: E402

from alliance_meta.plots.style import file_metadata, lean_pdf_fonts  # noqa: E402


def test_layout_tables_are_not_read_and_the_pdf_is_the_same(tmp_path, monkeypatch):
    """fontTools read GSUB's and GPOS's lookups for every font of every PDF before dropping them: now they are
    left out as the font is read (none decompiled), and the PDF has the bytes of the lean fonts before."""
    decompiled = []
    for tag in ("GSUB", "GPOS", "GDEF"):
        table = getTableClass(tag)
        original = table.decompile
        monkeypatch.setattr(table, "decompile", lambda self, data, font, _tag=tag, _original=original: (
            decompiled.append(_tag), _original(self, data, font))[1])

    def write(path):
        figure, axis = plt.subplots(figsize=(3, 2))
        axis.set_title("Smith et al. (2011): r = .31, $\\tau^2$ = 0.02", fontweight="bold")
        axis.set_xlabel("Correlation $r$")
        with plt.rc_context({"pdf.fonttype": 42}):
            figure.savefig(path, metadata=file_metadata(path))
        plt.close(figure)

    with lean_pdf_fonts():
        write(tmp_path / "lean.pdf")
    assert decompiled == []
    from alliance_meta.plots import style

    monkeypatch.delattr(style._LeanFontSubsetting, "load_font")  # the tables dropped by fontTools, after reading
    with lean_pdf_fonts():
        write(tmp_path / "dropped_later.pdf")
    assert decompiled, "fontTools reads the layout tables when they are in the font"
    assert (tmp_path / "lean.pdf").read_bytes() == (tmp_path / "dropped_later.pdf").read_bytes()
