"""Texts reused while figures are written (plots.text_cache): the same bytes, fewer layouts.

The figure has what the pipeline's figures have and more: repeated labels, bold and italic,
several sizes, rotated and multi-line text, text without antialiasing, math text, a minus sign,
a multiplication sign and a glyph no bundled font has, colours with alpha, two dpi. Each format
is written without the cache and then twice with it (the second time from the kept layouts and
bitmaps) under a series of rcParams (hinting, antialiasing, last-resort font, kerning factor,
families, math fonts, the PDF core fonts, SVG text as text), the cache kept from one to the next; the bytes
must be the same.
"""

import collections
import functools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends import backend_agg, backend_pdf  # noqa: E402
from matplotlib.mathtext import MathTextParser  # noqa: E402

from alliance_meta.plots import text_cache  # noqa: E402
from alliance_meta.plots.style import file_metadata  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # the CJK label, on purpose

LABELS = ["Smith et al. (2011)", "Jones & Brown (2019)", "0.31 [0.12, 0.45]", "−0.08 [−0.21, 0.05]", "k × n",
          "Wang 中 (2020)"]


def _figure():
    figure, axis = plt.subplots(figsize=(4, 3))
    for row in range(12):
        label = LABELS[row % len(LABELS)]
        axis.text(0.02, row / 12, label, fontsize=6 + row % 3, weight="bold" if row % 4 == 0 else "normal",
                  style="italic" if row % 5 == 1 else "normal", color=(0.1, 0.2, 0.6, 0.5 + row / 30))
    axis.text(0.6, 0.5, "rotated label", rotation=90)
    axis.text(0.7, 0.3, "at 33 degrees", rotation=33.0)
    axis.text(0.5, 0.9, "two\nlines", ha="center")
    axis.text(0.5, 0.1, "aliased text", antialiased=False)
    axis.set_title(r"$\hat\tau^2$ and $I^2$ = 35%")
    axis.set_xlabel("Correlation (r)")
    return figure


def _write(path, dpi):
    figure = _figure()
    figure.savefig(path, dpi=dpi, metadata=file_metadata(path), bbox_inches="tight")
    plt.close(figure)


# Settings that change how matplotlib measures, shapes or draws a text, applied one after the other
# with the cache kept from one to the next: a setting missing from a cache key makes a file differ.
SETTINGS = [
    {},
    {"text.hinting": "none"},
    {"text.antialiased": False},
    {"font.enable_last_resort": False},  # the CJK glyph: last-resort box, or missing
    {"text.kerning_factor": 6},
    {"font.family": "serif"},
    {"mathtext.fontset": "custom"},  # the title's math text in the custom math fonts...
    {"mathtext.fontset": "custom", "mathtext.it": "serif:italic", "mathtext.rm": "serif"},  # ...and in others
    {"mathtext.fontset": "stix"},
    {"pdf.use14corefonts": True, "font.family": "serif"},  # PDF core fonts, measured from AFM files
    {"pdf.use14corefonts": True, "font.family": "monospace"},
    {"svg.fonttype": "none"},  # as the pipeline writes SVGs
]


@pytest.mark.filterwarnings("ignore:.*kerning_factor")
@pytest.mark.parametrize("ext", ["png", "pdf", "svg"])
def test_files_are_byte_identical_with_the_cache(tmp_path, ext):
    text_cache.clear()
    for setting in SETTINGS:
        with plt.rc_context({"svg.hashsalt": "test", **setting}):
            for dpi in (150, 300):
                _write(tmp_path / f"plain.{ext}", dpi)
                for run in ("first", "second"):
                    with text_cache.reused_text():
                        _write(tmp_path / f"{run}.{ext}", dpi)
                    assert (tmp_path / f"{run}.{ext}").read_bytes() == (tmp_path / f"plain.{ext}").read_bytes(), \
                        f"{ext.upper()} at {dpi} dpi with {setting}, {run} run with the cache, differs from matplotlib's"


def test_each_string_is_laid_out_once_per_font_size_and_dpi(tmp_path):
    """The second PNG, PDF and the repeated labels come from the cache: no new layout, no new bitmap."""
    text_cache.clear()
    with text_cache.reused_text():
        _write(tmp_path / "a.png", 300)
        _write(tmp_path / "a.pdf", 300)
        kept = (len(text_cache._LAYOUTS), len(text_cache._SIZES), len(text_cache._BITMAPS))
        _write(tmp_path / "b.png", 300)
        _write(tmp_path / "b.pdf", 300)
        assert (len(text_cache._LAYOUTS), len(text_cache._SIZES), len(text_cache._BITMAPS)) == kept
    agg_layouts = [key for key in text_cache._LAYOUTS if key[0] != "pdf"]
    # five labels in three sizes, two weights and two styles: far fewer layouts than the 12 rows drawn
    assert len({key[3] for key in agg_layouts if key[3] in LABELS}) == len(LABELS)
    assert kept[2] > 0 and any(key[0] == "pdf" for key in text_cache._LAYOUTS)
    measured = {key[0].__qualname__ for key in text_cache._SIZES}
    assert {"RendererAgg.get_text_width_height_descent", "RendererPDFPSBase.get_text_width_height_descent"} <= measured


def _swapped():
    from matplotlib import font_manager, text, textpath
    from matplotlib.backends import _backend_pdf_ps

    return (backend_agg.RendererAgg.draw_text, backend_agg.RendererAgg.draw_mathtext,
            backend_agg.RendererAgg.get_text_width_height_descent,
            _backend_pdf_ps.RendererPDFPSBase.get_text_width_height_descent,
            textpath.TextToPath.get_text_width_height_descent, backend_pdf.RendererPdf.draw_text,
            backend_pdf._text_helpers, vars(MathTextParser)["_parse_cached"],
            font_manager.FontManager._find_fonts_by_props, text.get_font)


def test_matplotlib_is_restored_after_the_block():
    before = _swapped()
    with text_cache.reused_text():
        inside = _swapped()
        assert all(a is not b for a, b in zip(inside, before)), "every method is swapped inside the block"
        with text_cache.reused_text():  # nested: swapped once
            assert _swapped() == inside
        assert _swapped() == inside
    assert _swapped() == before
    with pytest.raises(RuntimeError), text_cache.reused_text():
        raise RuntimeError("a figure that fails to draw")
    assert _swapped() == before


def test_caches_are_bounded(monkeypatch, tmp_path):
    monkeypatch.setattr(text_cache, "MAX_ENTRIES", 5)
    monkeypatch.setattr(text_cache, "MATH_ENTRIES", 1)
    text_cache.clear()
    with text_cache.reused_text():
        _write(tmp_path / "a.png", 100)
    assert all(len(cache) <= 5 for cache in (text_cache._LAYOUTS, text_cache._SIZES, text_cache._BITMAPS))
    assert len(text_cache._PARSES) == 1


# more math texts than matplotlib keeps parses (50), as a job's figures have: statistics, headers, axis labels
MATH_TEXTS = [rf"$\hat\tau^2_{{{i}}}$ = 0.0{i}" if i % 2 else rf"$Q_\mathrm{{M}}({i})$, $I^2$" for i in range(60)]


def _math_figure():
    figure = plt.figure(figsize=(4, 6))
    for row, text in enumerate(MATH_TEXTS):
        figure.text(0.05 + 0.5 * (row % 2), row / 62, text, fontsize=7)
    return figure


def test_math_texts_are_parsed_once_per_dpi_with_the_same_bytes(tmp_path, monkeypatch):
    """The figure written as PNG (measured and drawn by one Agg renderer), PDF and SVG (one renderer each; the SVG
    draws with the PDF's parses at 72 dpi and measures at 100 points, as ``TextToPath``), then again: each of the 60
    texts is parsed once per dpi and size (matplotlib, keeping 50 parses per renderer, parses each again for each
    pass and file), and the files are matplotlib's."""
    parsed = collections.Counter()
    parse = vars(MathTextParser)["_parse_cached"].__wrapped__

    def counted(self, s, dpi, prop, *args):
        parsed[s, dpi, prop.get_size_in_points()] += 1
        return parse(self, s, dpi, prop, *args)

    monkeypatch.setattr(MathTextParser, "_parse_cached", functools.lru_cache(50)(counted))  # as matplotlib's
    formats = ["png", "pdf", "svg"]
    with plt.rc_context({"svg.hashsalt": "test", "svg.fonttype": "none"}):
        for ext in formats:  # plain matplotlib
            figure = _math_figure()
            figure.savefig(tmp_path / f"plain.{ext}", dpi=150, metadata=file_metadata(f"plain.{ext}"))
            plt.close(figure)
        assert max(parsed.values()) > 1
        parsed.clear()
        text_cache.clear()
        with text_cache.reused_text():
            for run in ("first", "second"):
                for ext in formats:
                    figure = _math_figure()
                    figure.savefig(tmp_path / f"{run}.{ext}", dpi=150, metadata=file_metadata(f"{run}.{ext}"))
                    plt.close(figure)
                    assert (tmp_path / f"{run}.{ext}").read_bytes() == (tmp_path / f"plain.{ext}").read_bytes(), \
                        f"{run} {ext.upper()} with the cache differs from matplotlib's"
    assert parsed == {(text, dpi, size): 1 for text in MATH_TEXTS for dpi, size in [(150, 7), (72, 7), (72, 100)]}


_JOB = """
import sys
from alliance_meta.plots import text_cache
from alliance_meta.plots.style import save_figure
from matplotlib.backends import backend_agg
import matplotlib.pyplot as plt
print(backend_agg.RendererAgg.draw_text is text_cache._agg_draw_text)
figure, axis = plt.subplots(figsize=(4, 3), constrained_layout=True)
axis.set_yticks(range(6), ["Smith et al. (2011)", "Jones & Brown (2019)", "0.31 [0.12, 0.45]", "k × n", "a", "b"])
axis.set_title("Subgroups: rater")
save_figure(figure, [sys.argv[1] + ".png", sys.argv[1] + ".pdf", sys.argv[1] + ".svg"], note="A note beneath")
"""


def test_a_pipeline_job_keeps_texts_for_its_whole_process_with_the_same_bytes(tmp_path):
    # the Snakefile sets ALLIANCE_META_REUSE_TEXT for the jobs: the swap is made when plots.style is imported
    # and the figures (laid out, with a note measured beneath them, before they are written) keep their bytes
    import os
    import subprocess
    import sys

    printed = {}
    for value in ("0", "1"):
        env = {**os.environ, text_cache.PROCESS_ENV: value}
        result = subprocess.run([sys.executable, "-c", _JOB, str(tmp_path / value)], env=env, capture_output=True,
                                text=True, check=True)
        printed[value] = result.stdout.strip()
    assert printed == {"0": "False", "1": "True"}
    for suffix in (".png", ".pdf", ".svg"):
        assert (tmp_path / f"0{suffix}").read_bytes() == (tmp_path / f"1{suffix}").read_bytes(), suffix


def test_a_process_that_keeps_texts_ends_without_a_message(tmp_path):
    """The process-wide block is left at exit, not in the interpreter's clean-up (where, after gc.freeze, the
    generator was finalised without its module's globals and printed "Exception ignored ... TypeError")."""
    import os
    import subprocess
    import sys

    code = ("import gc\nimport alliance_meta.plots.style\ngc.freeze()\nimport matplotlib.pyplot as plt\n"
            f"fig, ax = plt.subplots()\nax.set_title('x')\nfig.savefig({str(tmp_path / 'x.png')!r})\n")
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, text_cache.PROCESS_ENV: "1"},
                            capture_output=True, text=True, check=True)
    assert result.stderr == ""


# math text with rules (a fraction bar, a root) as well as glyphs: drawn by Agg from kept glyph bitmaps
RULED_MATH = [r"$\frac{1}{k}\sum w_i$", r"$\sqrt{\tau^2}$ = 0.12", r"$\hat\mu \pm 1.96\,SE$"]


def _ruled_figure(size):
    figure = plt.figure(figsize=(3, 2))
    for row, text in enumerate(RULED_MATH * 2):
        figure.text(0.05 + 0.013 * row, 0.1 + row / 7, text, fontsize=size, rotation=30 if row == 4 else 0)
    return figure


def test_math_glyph_bitmaps_are_not_shared_across_dpi_or_size(tmp_path):
    """Agg draws a math text's glyphs from kept bitmaps: written at 100 and 200 dpi and in 7 and 9 points, one after
    the other with the cache kept, each PNG is matplotlib's; a bitmap kept for another dpi or size would differ."""
    text_cache.clear()
    for dpi in (100, 200):
        for size in (7, 9):
            figure = _ruled_figure(size)
            figure.savefig(tmp_path / "plain.png", dpi=dpi)
            with text_cache.reused_text():
                figure.savefig(tmp_path / "kept.png", dpi=dpi)
            plt.close(figure)
            assert (tmp_path / "kept.png").read_bytes() == (tmp_path / "plain.png").read_bytes(), (dpi, size)
    math_bitmaps = {key for key in text_cache._BITMAPS if not float(key[1]).is_integer()}  # sub- and superscripts
    assert math_bitmaps and {key[2] for key in text_cache._BITMAPS} == {100, 200}


def test_font_files_and_tables_follow_the_font_settings():
    """The font files of a ``FontProperties`` are kept per rcParams: another family list (``font.sans-serif``), a
    family, weight or size gives matplotlib's files, and ``Text``'s line heights come from each font's own tables."""
    from matplotlib import font_manager, text

    props = [font_manager.FontProperties(**kwargs) for kwargs in
             ({}, {"weight": "bold"}, {"family": "serif"}, {"family": "monospace", "size": 7})]
    settings = [{}, {"font.sans-serif": ["DejaVu Serif"]}, {"font.family": "monospace"}]
    find = font_manager.FontManager._find_fonts_by_props
    expected = []
    for setting in settings:
        with plt.rc_context(setting):
            expected.append([find(font_manager.fontManager, prop) for prop in props])
    text_cache.clear()
    with text_cache.reused_text():
        for _ in range(2):  # the second time from the cache
            for setting, paths in zip(settings, expected):
                with plt.rc_context(setting):
                    assert [font_manager.fontManager._find_fonts_by_props(prop) for prop in props] == paths
        assert len({tuple(paths) for group in expected for paths in group}) > 2  # the settings differ
        for paths in {tuple(paths) for group in expected for paths in group}:
            font = font_manager.get_font(list(paths))
            for table in ("OS/2", "hhea", "head"):
                assert text.get_font(list(paths)).get_sfnt_table(table) == font.get_sfnt_table(table)


def test_rc_key_holds_the_validated_values_with_lists_as_tuples():
    """_rc reads each rcParam as rcParams[key] gives it, a list as a tuple (a cache key must be hashable)."""
    import matplotlib as mpl

    from alliance_meta.plots.text_cache import _rc

    keys = ("font.family", "font.size", "font.sans-serif", "text.kerning_factor")
    with mpl.rc_context({"font.size": 9.5, "font.sans-serif": ["DejaVu Sans", "Arial"]}):
        key = _rc(keys)
        assert key == tuple(tuple(mpl.rcParams[k]) if isinstance(mpl.rcParams[k], list) else mpl.rcParams[k]
                            for k in keys)
        assert key[1] == 9.5 and key[2] == ("DejaVu Sans", "Arial")
        hash(key)
    assert _rc(()) == ()
