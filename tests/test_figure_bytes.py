"""Reproducible figure files: the same figure written twice gives the same bytes in PDF, SVG and PNG.

matplotlib writes the creation time into PDF and SVG files and draws SVG ids at random unless told
otherwise (``plots.style.save_file``); each writer of the pipeline's figures is checked.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from alliance_meta.plots.forest import save_forest_plot  # noqa: E402
from alliance_meta.plots.risk_of_bias import save_rob_figures  # noqa: E402
from alliance_meta.plots.style import save_figure  # noqa: E402

FORMATS = ("pdf", "svg", "png")


def _figure():
    figure, axis = plt.subplots(figsize=(3, 2))
    axis.plot([0, 1, 2], [0, 1, 0.5], marker="s")  # markers and a clipped axes: SVG ids
    axis.set_xlim(0, 1.5)
    return figure


def _written_twice(tmp_path, write):
    for run in ("first", "second"):
        write([tmp_path / f"{run}.{ext}" for ext in FORMATS])
    return {ext: ((tmp_path / f"first.{ext}").read_bytes(), (tmp_path / f"second.{ext}").read_bytes())
            for ext in FORMATS}


@pytest.mark.parametrize("writer", ["save_figure", "forest", "risk_of_bias"])
def test_the_same_figure_gives_the_same_bytes(tmp_path, writer):
    write = {
        "save_figure": lambda paths: save_figure(_figure(), paths, note="SIMULATED data."),
        "forest": lambda paths: save_forest_plot(pd.DataFrame({"yi": [], "vi": []}), {}, "z", paths),
        "risk_of_bias": lambda paths: save_rob_figures(lambda paged: [_figure()], paths),
    }[writer]
    files = _written_twice(tmp_path, write)
    for ext, (first, second) in files.items():
        assert first == second, f"{writer}: the two {ext.upper()} files differ"
    assert b"CreationDate" not in files["pdf"][0]
    assert b"<dc:date>" not in files["svg"][0]


# --------------------------------------------------------------------------------------
# Faster writing, the same figure (docs/performance.md)
# --------------------------------------------------------------------------------------

def _png_chunks(data: bytes):
    """(type, payload) of every chunk of a PNG file (PNG spec, section 5.3)."""
    position = 8
    while position < len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        yield data[position + 4:position + 8], data[position + 8:position + 8 + length]
        position += 12 + length


def test_png_is_written_at_the_fast_zlib_level_with_the_same_pixels(tmp_path):
    import numpy as np
    from PIL import Image

    from alliance_meta.plots.style import PNG_COMPRESS_LEVEL, save_file

    figure = _figure()
    save_file(figure, tmp_path / "fast.png", dpi=100)
    figure.savefig(tmp_path / "default.png", dpi=100)  # Pillow's default level (6)
    plt.close(figure)
    idat = b"".join(payload for kind, payload in _png_chunks((tmp_path / "fast.png").read_bytes()) if kind == b"IDAT")
    # the zlib header's FLEVEL (RFC 1950, 2.2): 1 for levels 2-5, 2 for the default level 6
    assert idat[1] >> 6 == {1: 0, 2: 1, 3: 1, 4: 1, 5: 1, 6: 2}[PNG_COMPRESS_LEVEL] == 1
    with Image.open(tmp_path / "fast.png") as fast, Image.open(tmp_path / "default.png") as default:
        assert fast.size == default.size
        assert np.array_equal(np.asarray(fast), np.asarray(default))


def _embedded_fonts(pdf: bytes):
    """The TrueType programs (``/FontFile2`` streams) embedded in a PDF written by matplotlib."""
    import io
    import re
    import zlib

    from fontTools.ttLib import TTFont

    fonts = []
    for match in re.finditer(rb"/Length1 \d+.*?stream\r?\n", pdf, re.S):
        header = pdf[pdf.rfind(b"<<", 0, match.start()):match.end()]
        length = int(re.search(rb"/Length (\d+)", header).group(1))
        data = pdf[match.end():match.end() + length]
        fonts.append(TTFont(io.BytesIO(zlib.decompress(data) if b"FlateDecode" in header else data)))
    return fonts


def test_pdf_fonts_leave_out_the_layout_tables_only_inside_the_pipelines_writers(tmp_path):
    from matplotlib.backends import _backend_pdf_ps

    from alliance_meta.plots.style import UNUSED_PDF_FONT_TABLES, save_file

    original = _backend_pdf_ps.subset
    with plt.rc_context({"pdf.fonttype": 42}):
        figure = _figure()
        figure.suptitle("Fit \u2212 weight")  # a second font subset for the minus sign
        save_file(figure, tmp_path / "lean.pdf")
        figure.savefig(tmp_path / "plain.pdf")  # a notebook's own savefig: matplotlib's full fonts
        plt.close(figure)
    assert _backend_pdf_ps.subset is original
    lean, plain = (_embedded_fonts((tmp_path / name).read_bytes()) for name in ("lean.pdf", "plain.pdf"))
    assert lean and len(lean) == len(plain)
    for font in lean:
        assert {"glyf", "head", "hhea", "hmtx", "loca", "maxp"} <= set(font.keys())
        assert not set(UNUSED_PDF_FONT_TABLES) & set(font.keys())
        assert "GPOS" not in font and "GSUB" not in font  # DejaVu Sans's kerning and substitutions
    assert any("GPOS" in font for font in plain)
    # the same glyphs at the same advance widths: the text is drawn as before
    for lean_font, plain_font in zip(lean, plain):
        assert lean_font.getGlyphOrder() == plain_font.getGlyphOrder()
        assert lean_font["hmtx"].metrics == plain_font["hmtx"].metrics


def test_saved_pdfs_embed_truetype_fonts_and_svgs_keep_their_text(tmp_path):
    """The funnel, Baujat, GOSH, multiverse, PRISMA... PDFs had Type 3 fonts (rejected by journals' preflight) and
    their SVGs text drawn as outlines: the style's fonttypes held only while the figure was drawn, not when saved."""
    figure = _figure()
    figure.suptitle("Funnel plot")
    save_figure(figure, [tmp_path / "figure.pdf", tmp_path / "figure.svg"])
    pdf = (tmp_path / "figure.pdf").read_bytes()
    assert b"/Type3" not in pdf and b"/FontFile2" in pdf
    assert "Funnel plot" in (tmp_path / "figure.svg").read_text()


# --------------------------------------------------------------------------------------
# What journals' artwork checks read from a figure file
# --------------------------------------------------------------------------------------

def test_tiff_is_rgb_lzw_at_its_resolution_with_the_pngs_pixels(tmp_path):
    """plots.tiff wrote forest.tiff as matplotlib does, RGBA: an alpha channel, which journals' artwork checks
    (PLOS's PACE) flag; the TIFF is RGB, LZW-compressed, with its dpi, and shows what the PNG shows."""
    import numpy as np
    from PIL import Image

    data = pd.DataFrame({"study_id": ["A", "B", "C"], "yi": [0.2, 0.3, 0.25], "vi": [0.01, 0.02, 0.015]})
    pooled = {"estimate": 0.25, "ci_lower": 0.15, "ci_upper": 0.35, "pi_lower": 0.15, "pi_upper": 0.35,
              "tau2": 0.0, "i2": 0.0, "q": 0.5, "q_df": 2, "q_p": 0.78, "k": 3, "method": "REML", "test": "z"}
    from alliance_meta.plots.forest_options import ForestOptions

    paths = [tmp_path / "forest.tiff", tmp_path / "forest.png"]
    save_forest_plot(data, pooled, "z", paths, options=ForestOptions(dpi=150))
    with Image.open(paths[0]) as tiff, Image.open(paths[1]) as png:
        assert tiff.mode == "RGB"
        assert tiff.info["compression"] == "tiff_lzw"
        assert tuple(round(value) for value in tiff.info["dpi"]) == (150, 150)
        assert tiff.size == png.size
        assert np.array_equal(np.asarray(tiff), np.asarray(png.convert("RGB")))


def test_bayes_figures_are_written_at_the_resolution_of_the_others(tmp_path):
    """The Bayes figures' PNGs were 200 dpi, every other figure's 300 (plots.style.DPI), below what journals ask."""
    from PIL import Image

    from alliance_meta.bayes.plots import save
    from alliance_meta.plots.style import DPI

    save(_figure(), tmp_path / "bayes_posterior.png", note="SIMULATED data.")
    with Image.open(tmp_path / "bayes_posterior.png") as image:
        assert tuple(round(value) for value in image.info["dpi"]) == (DPI, DPI)


# --------------------------------------------------------------------------------------
# One layout draw per figure, not one per file (style.drawn_once; docs/performance.md)
# --------------------------------------------------------------------------------------

def _laid_out_figures():
    """Figures whose layout a draw could move: a legend placed "best", log and offset ticks, an equal aspect,
    rotated labels, titles, tight_layout, a figure text; and one under constrained layout."""
    import numpy as np

    figure, (left, right) = plt.subplots(1, 2, figsize=(5, 2.5))
    left.plot(np.arange(10), 1e5 + np.arange(10) ** 2, label="offset ticks")
    left.legend(loc="best")
    left.set_title("A title", loc="left")
    right.loglog([0.1, 3, 40], [2, 30, 500], marker="o")
    right.set_aspect("equal", adjustable="box")
    right.tick_params(axis="x", labelrotation=45)
    figure.suptitle("Overall $\\mathit{r}$")
    figure.tight_layout()
    constrained, axis = plt.subplots(figsize=(3, 2), layout="constrained")
    axis.bar(["long level name", "another"], [3, 4])
    axis.set_xlabel("Level")
    return {"tight": figure, "constrained": constrained}


def test_the_layout_draw_is_left_out_with_the_same_bytes(tmp_path):
    """drawn_once leaves out print_figure's layout draw before each file's tight box: the files are those of
    matplotlib's savefig, and a figure drawn once is not drawn again before each file."""
    from matplotlib.figure import Figure

    from alliance_meta.plots.style import drawn_once, save_file

    for name, figure in _laid_out_figures().items():
        figure.draw_without_rendering()  # as add_note does before the files are written
        for ext in FORMATS:
            save_file(figure, tmp_path / f"{name}_matplotlib.{ext}", dpi=150, bbox_inches="tight")
            with drawn_once(figure):
                save_file(figure, tmp_path / f"{name}_once.{ext}", dpi=150, bbox_inches="tight")
            assert (tmp_path / f"{name}_once.{ext}").read_bytes() == \
                (tmp_path / f"{name}_matplotlib.{ext}").read_bytes(), f"{name} {ext}"
        plt.close(figure)
    draws = []
    original = Figure.draw
    Figure.draw = lambda self, renderer: draws.append(self) or original(self, renderer)
    try:
        figures = _laid_out_figures()
        save_figure(figures["tight"], [tmp_path / f"counted.{ext}" for ext in FORMATS], note="Simulated data.")
        assert len(draws) == 1 + len(FORMATS)  # add_note's, then each file's own
        draws.clear()
        save_figure(figures["constrained"], [tmp_path / f"constrained.{ext}" for ext in FORMATS])
        assert len(draws) == 1 + 2 * len(FORMATS)  # constrained layout: matplotlib's layout draw kept
    finally:
        Figure.draw = original


def test_figures_are_built_and_written_without_the_collectors_passes(tmp_path):
    """style.collector_paused: no cyclic garbage collection while the forest plots are built and written, nor while
    save_figure writes a figure; the collector is on again after, and stays off where it was off."""
    import gc

    from alliance_meta.plots.forest import save_pages
    from alliance_meta.plots.forest_options import ForestOptions
    from alliance_meta.plots.style import collector_paused

    enabled = []

    def figures_of(paged):
        enabled.append(gc.isenabled())
        figure = _figure()
        figure.canvas.mpl_connect("draw_event", lambda event: enabled.append(gc.isenabled()))
        return [figure]

    save_pages(figures_of, [tmp_path / "forest.pdf", tmp_path / "forest.png"], ForestOptions())
    figure = _figure()
    figure.canvas.mpl_connect("draw_event", lambda event: enabled.append(gc.isenabled()))
    save_figure(figure, [tmp_path / "figure.pdf", tmp_path / "figure.png"], note="Simulated data.")
    assert len(enabled) >= 6 and enabled.count(True) == 1  # only add_note's draw, before the files are written
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_drawn_once_never_leaves_out_a_draw_that_paints(tmp_path):
    """drawn_once left out the first draw in its block, whichever it was: a savefig without a tight box (no layout
    draw) lost the figure's one real draw and wrote an empty image. Only the layout draw, whose drawing calls do
    nothing, is left out."""
    import numpy as np
    from PIL import Image

    from alliance_meta.plots.style import drawn_once, save_file

    figure = _figure()
    figure.draw_without_rendering()
    with drawn_once(figure):
        save_file(figure, tmp_path / "once.png", dpi=50)
    save_file(figure, tmp_path / "plain.png", dpi=50)
    plt.close(figure)
    with Image.open(tmp_path / "once.png") as once, Image.open(tmp_path / "plain.png") as plain:
        assert np.array_equal(np.asarray(once), np.asarray(plain))


def _other_figure_kinds():
    """Figures whose parts a layout draw could place (colorbar, twin axes and their 'best' legends, inset axes,
    aligned labels under a suptitle, an equal aspect by data limits, a secondary axis, subfigures, a figure legend
    and wrapped text, sup-labels and rotated ticks), each with a text and an annotation added after its last draw."""
    import numpy as np
    from mpl_toolkits.axes_grid1.inset_locator import inset_axes

    kinds = {}
    figure, axis = plt.subplots(figsize=(3, 2))
    figure.colorbar(axis.imshow(np.arange(20).reshape(4, 5)), ax=axis, extend="both", label="scale")
    kinds["colorbar"] = figure
    figure, axis = plt.subplots(figsize=(3, 2))
    axis.plot([0, 1, 2], [1, 2, 0], label="a")
    twin = axis.twinx()
    twin.plot([0, 1, 2], [1e4, 3e4, 2e4], "r", label="b")
    axis.legend(loc="best")
    twin.legend(loc="best")
    kinds["twin"] = figure
    figure, axis = plt.subplots(figsize=(3, 2))
    axis.inset_axes([0.6, 0.6, 0.5, 0.5]).set_title("inset")
    inset_axes(axis, width="40%", height="40%", loc="lower right", borderpad=-2).plot([1, 2], [3, 1])
    kinds["insets"] = figure
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(3, 3))
    top.plot([0, 1], [0, 1000])
    top.set_ylabel("long")
    bottom.set_ylabel("short")
    figure.align_labels()
    figure.suptitle("Sup")
    kinds["aligned"] = figure
    figure, axis = plt.subplots(figsize=(3, 2))
    axis.plot(range(4))
    axis.set_aspect("equal", adjustable="datalim")
    axis.secondary_xaxis("top").set_xlabel("secondary")
    kinds["datalim_secondary"] = figure
    figure = plt.figure(figsize=(4, 2))
    left, right = figure.subfigures(1, 2)
    left.subplots().plot([1, 2])
    right.subplots().bar(["x", "y"], [1, 2])
    right.suptitle("sub")
    kinds["subfigures"] = figure
    figure, axis = plt.subplots(figsize=(3, 2))
    axis.plot([1, 2, 3], label="line")
    figure.legend(loc="lower center", bbox_to_anchor=(0.5, -0.2))
    axis.text(0.1, 0.5, "wrapped long text " * 6, wrap=True)
    axis.set_xticks([1, 2, 3], ["a very long label", "b", "c"], rotation=30, ha="right")
    figure.supxlabel("supx")
    figure.supylabel("supy")
    kinds["legend_wrap_suplabels"] = figure
    return kinds


@pytest.mark.parametrize("name", ["colorbar", "twin", "insets", "aligned", "datalim_secondary", "subfigures",
                                  "legend_wrap_suplabels"])
def test_the_layout_draw_is_left_out_with_the_same_bytes_for_other_figure_kinds(tmp_path, name):
    """drawn_once on figure kinds the package may draw next: the bytes of matplotlib's own savefig, also with a
    text and an annotation added after the figure's last draw."""
    from alliance_meta.plots.style import drawn_once, save_file

    figure = _other_figure_kinds()[name]
    figure.draw_without_rendering()
    axis = figure.axes[0]
    axis.text(1.05, -0.3, "a text added late, far out", transform=axis.transAxes)
    axis.annotate("annotation", xy=(0.5, 0.5), xytext=(1.3, 1.2), textcoords="axes fraction", arrowprops={})
    for ext in FORMATS:
        save_file(figure, tmp_path / f"matplotlib.{ext}", dpi=100, bbox_inches="tight")
        with drawn_once(figure):
            save_file(figure, tmp_path / f"once.{ext}", dpi=100, bbox_inches="tight")
        assert (tmp_path / f"once.{ext}").read_bytes() == (tmp_path / f"matplotlib.{ext}").read_bytes(), ext
    plt.close("all")
