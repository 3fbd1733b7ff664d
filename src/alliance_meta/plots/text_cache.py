"""Text measured, shaped and rasterised once per process while the pipeline writes its figures.

matplotlib 3.11 shapes a string with HarfBuzz (libraqm) every time it measures or draws it, about
2 ms for a forest-plot label, and the Agg renderer then rasterises each glyph again, with a small
NumPy matrix product per glyph. The pipeline's figures repeat their texts: a moderator's forest
plot lists the studies of every other moderator's plot, a paged PDF repeats the column heads, and
each figure is written as PDF, PNG and SVG, each format measuring and drawing every text again.

While in :func:`reused_text`, matplotlib's own results are kept and reused for the same inputs:

* the size of a string (``get_text_width_height_descent`` of the Agg, PDF/PS and SVG text-to-path
  renderers), keyed by the renderer's method, the font files, size, dpi, string and hinting;
* the Agg renderer's glyph layout of a string and each glyph's rasterised bitmap (of plain and math text), keyed
  by the font object, size, dpi, glyph, angle, slant, extension and the position's fraction of a pixel (FreeType
  renders an outline moved by whole pixels to the same bitmap, moved), drawn by the same Agg call;
* the font files of a ``FontProperties`` (``FontManager._find_fonts_by_props``, keyed as ``findfont`` keys its own
  cache) and the font tables ``Text._get_layout`` reads for a line's height (``matplotlib.text.get_font``);
* the PDF renderer's glyph layout of a string (``_text_helpers.layout``);
* the parse of a math text (``MathTextParser._parse_cached``): matplotlib keeps the last 50 parses and keys them
  by the parser, which each renderer makes anew, so a PDF, SVG or PNG parsed again what the figure's layout or
  another file had parsed. Kept here are up to :data:`MATH_ENTRIES` parses of every renderer, keyed by what a
  parse reads (:func:`_kept_parse`). Its users (the Agg, PDF, PS, SVG and Cairo renderers and ``TextToPath``)
  only read the namedtuple's glyph and rectangle lists, as they read a parse matplotlib kept.

Where the environment variable :data:`PROCESS_ENV` is set and not ``0`` (the ``Snakefile`` sets it for the pipeline's
jobs), the block lasts the whole process (:func:`reuse_for_process`, called by :mod:`alliance_meta.plots.style`
when imported): the texts measured while a figure is built and laid out (column widths, the note beneath it,
constrained layout) are then kept as well as those of the writers.

Nothing else of the drawing changes, so the files are byte-identical with and without the block
(``tests/test_text_cache.py`` compares PNG, PDF and SVG bytes of a figure with rotated, bold,
aliased, multi-line and math text). Math text is drawn and TeX is set by matplotlib unchanged. The
methods are swapped only inside the block and restored after it, so a notebook's own figures
are left alone; with another matplotlib whose internals differ, the block changes nothing.
Written for matplotlib 3.11's ``backend_agg``, ``backend_pdf``, ``textpath`` and ``mathtext``.
"""

from __future__ import annotations

import atexit
import math
import threading
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np

#: environment variable: where set, texts are reused for the whole process (:func:`reuse_for_process`)
PROCESS_ENV = "ALLIANCE_META_REUSE_TEXT"
#: Entries per cache before it is emptied (a process writing many different figures stays small).
MAX_ENTRIES = 100_000
#: Math text parses kept before they are forgotten (a job's figures parse a few hundred; each is a list of glyphs).
MATH_ENTRIES = 2_000

_SIZES: dict = {}
_LAYOUTS: dict = {}
_BITMAPS: dict = {}
_MATRICES: dict = {}
_PARSES: dict = {}
_FONTS: dict = {}
#: rcParams ``font_manager.get_font`` makes a font object with besides its files
_FONT_RC = ("text.kerning_factor", "font.enable_last_resort")
_lock = threading.Lock()
_depth = 0


def clear() -> None:
    """Forget every kept measurement, layout and bitmap."""
    for cache in (_SIZES, _LAYOUTS, _BITMAPS, _MATRICES, _PARSES, _FONTS):
        cache.clear()


def _remember(cache: dict, key, value, limit: int | None = None):
    if len(cache) >= (MAX_ENTRIES if limit is None else limit):
        cache.clear()
    cache[key] = value
    return value


def _rc(keys: tuple) -> tuple:
    """The values of the rcParams ``keys`` as a key (lists as tuples), read as ``RcParams._get`` reads them (the
    validated values; none of these keys is deprecated or ``backend``, the only ones ``rcParams[key]`` treats apart)."""
    params, values = mpl.rcParams, []
    for key in keys:
        value = dict.__getitem__(params, key)
        values.append(tuple(value) if type(value) is list else value)
    return tuple(values)


def _font_key(prop) -> tuple:
    """What ``font_manager.get_font`` makes the font object of ``prop`` from (its ``_get_font`` cache key)."""
    from matplotlib import font_manager

    return (tuple(font_manager.fontManager._find_fonts_by_props(prop)), *_rc(_FONT_RC), threading.get_ident())


def _kept_size(original):
    """``get_text_width_height_descent`` that reuses ``original``'s result for the same inputs."""

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath or (hasattr(self, "_use_afm_rc_name") and mpl.rcParams[self._use_afm_rc_name]):
            return original(self, s, prop, ismath)  # math text, or the PDF/PS core fonts (AFM): not kept
        from matplotlib.backends.backend_agg import get_hinting_flag

        key = (original, type(self), _font_key(prop), prop.get_size_in_points(), getattr(self, "dpi", None), s,
               get_hinting_flag())
        size = _SIZES.get(key)
        return size if size is not None else _remember(_SIZES, key, original(self, s, prop, ismath))

    get_text_width_height_descent.__wrapped__ = original
    return get_text_width_height_descent


def _agg_draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
    """``RendererAgg.draw_text`` of matplotlib 3.11 with its layout and glyph bitmaps kept."""
    if ismath:
        return self.draw_mathtext(gc, x, y, s, prop, angle)
    from matplotlib.backends.backend_agg import get_hinting_flag

    features = mtext.get_fontfeatures() if mtext is not None else None
    language = mtext.get_language() if mtext is not None else None
    flags = get_hinting_flag()
    size = prop.get_size_in_points()
    key = (_font_key(prop), size, self.dpi, s, flags, features, language)
    items = _LAYOUTS.get(key)
    if items is None:
        font = self._prepare_font(prop)
        items = _remember(_LAYOUTS, key, tuple(
            (item.ft_object, size, item.glyph_index, 0, 1, item.x, item.y)
            for item in font._layout(s, flags=flags, features=features, language=language)))
    _draw_kept_glyphs(self, gc, x, y, angle, items)


def _agg_draw_mathtext(self, gc, x, y, s, prop, angle):
    """``RendererAgg.draw_mathtext`` of matplotlib 3.11 with the glyph bitmaps kept (the parse is kept by
    :func:`_kept_parse`); its rules (fraction bars, roots) are drawn by matplotlib's own code."""
    parse = self.mathtext_parser.parse(s, self.dpi, prop, antialiased=gc.get_antialiased())
    _draw_kept_glyphs(self, gc, x, y, angle, [(font, size, glyph_index, 0, 1, dx, dy)
                                              for font, size, _char, glyph_index, dx, dy in parse.glyphs])
    if parse.rects:
        self._draw_text_glyphs_and_boxes(gc, x, y, angle, (), parse.rects)


def _draw_kept_glyphs(self, gc, x, y, angle, glyphs):
    """The glyph part of ``RendererAgg._draw_text_glyphs_and_boxes`` (``glyphs``: its ``(font, size, glyph index,
    slant, extension, dx, dy)``) with each glyph's bitmap kept, keyed by the font object, size, dpi, glyph, angle,
    slant, extension, the position's fraction of a pixel, hinting and antialiasing: rendered at that fraction and
    moved by the whole pixels, as FreeType itself moves an outline's bitmap."""
    from matplotlib.backends.backend_agg import get_hinting_flag
    from matplotlib.ft2font import RenderMode

    flags = get_hinting_flag()
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    antialiased = gc.get_antialiased()
    height, dpi = self.height, self.dpi
    for font, size, glyph_index, slant, extend, dx, dy in glyphs:  # dy is upwards
        x64 = round(0x40 * (x + dx * cos - dy * sin))
        y64 = round(0x40 * (height - y + dx * sin + dy * cos))  # FreeType's y is upwards
        glyph_key = (font, size, dpi, glyph_index, angle, slant, extend, x64 & 63, y64 & 63, flags, antialiased)
        bitmap = _BITMAPS.get(glyph_key)
        if bitmap is None:  # rendered at the fraction of a pixel; the whole pixels are added below
            matrix = _MATRICES.get((angle, slant, extend))
            if matrix is None:
                matrix = _remember(_MATRICES, (angle, slant, extend), (
                    0x10000 * np.array([[cos, -sin], [sin, cos]]) @ [[extend, extend * slant], [0, 1]]
                ).round().astype(int))
            font.set_size(size, dpi)
            font._set_transform(matrix, [x64 & 63, y64 & 63])
            rendered = font._render_glyph(glyph_index, flags, RenderMode.NORMAL if antialiased else RenderMode.MONO)
            buffer = rendered.buffer if antialiased else rendered.buffer * 0xff
            bitmap = _remember(_BITMAPS, glyph_key, (buffer, rendered.left, rendered.top))
        buffer, left, top = bitmap
        # draw_text_image's y is downwards and the bitmap's bottom side
        self._renderer.draw_text_image(buffer, left + (x64 >> 6), int(height) - (top + (y64 >> 6)) + buffer.shape[0],
                                       0, gc)


#: rcParams a math text parse reads besides its arguments: the math fonts, default face and fallback (``mathtext.*``,
#: matplotlib._mathtext), the families ``findfont`` resolves them in, a default ``FontProperties()`` and the
#: last-resort font (``font.*``), and the kerning factor of ``get_font``
_MATH_RC = tuple(sorted(key for key in mpl.rcParams if key.startswith(("mathtext.", "font.")))) + ("text.kerning_factor",)


def _kept_parse(original):
    """``MathTextParser._parse_cached`` keeping up to :data:`MATH_ENTRIES` parses for every parser of its output
    type (``original``'s result depends on the parser only through ``_output_type``), keyed by its arguments,
    :data:`_MATH_RC` and the thread (a parse holds the thread's font objects, as ``font_manager.get_font``)."""
    from matplotlib.mathtext import MathTextParser

    parse = original.__wrapped__  # matplotlib's function, without its cache of 50

    def _parse_cached(self, s, dpi, prop, antialiased, load_glyph_flags):
        if type(self) is not MathTextParser:
            return original(self, s, dpi, prop, antialiased, load_glyph_flags)
        rc = _rc(_MATH_RC)
        key = (self._output_type, s, dpi, prop, antialiased, load_glyph_flags, rc, threading.get_ident())
        kept = _PARSES.get(key)
        if kept is None:
            kept = _remember(_PARSES, key, parse(self, s, dpi, prop, antialiased, load_glyph_flags), MATH_ENTRIES)
        return kept

    _parse_cached.__wrapped__ = original
    return _parse_cached


#: rcParams ``FontManager.findfont`` reads (its own cache key, with the properties)
_FINDFONT_RC = tuple(f"font.{key}" for key in ("family", "style", "variant", "weight", "stretch", "size", "serif",
                                               "sans-serif", "cursive", "fantasy", "monospace"))


def _kept_font_paths(original):
    """``FontManager._find_fonts_by_props`` (the font files of a ``FontProperties``, one ``findfont`` per family)
    keeping its result, keyed as ``findfont`` keys its own cache (the properties' values, the arguments and
    :data:`_FINDFONT_RC`), with the font manager, its number of fonts (``addfont`` adds one) and its default
    family. A family found in no font is logged once, not at every lookup."""
    import os

    from matplotlib.font_manager import FontProperties

    def _find_fonts_by_props(self, prop, fontext="ttf", directory=None, fallback_to_default=True,
                             rebuild_if_missing=True):
        if type(prop) is not FontProperties:  # a pattern or a path: as matplotlib
            return original(self, prop, fontext, directory, fallback_to_default, rebuild_if_missing)
        rc = _rc(_FINDFONT_RC)
        key = ("fonts", self, len(self.ttflist), len(self.afmlist), self.defaultFamily.get(fontext),
               tuple(prop.__dict__.values()), fontext, directory, fallback_to_default, rebuild_if_missing, rc,
               os.environ.get("MPL_IGNORE_SYSTEM_FONTS"))
        paths = _FONTS.get(key)
        if paths is None:
            paths = _remember(_FONTS, key, tuple(original(self, prop, fontext, directory, fallback_to_default,
                                                          rebuild_if_missing)))
        return list(paths)

    _find_fonts_by_props.__wrapped__ = original
    return _find_fonts_by_props


class _KeptTables:
    """What ``Text._get_layout`` reads of the font ``matplotlib.text.get_font`` gives it (the line height from the
    first font's ``OS/2``, ``hhea`` and ``head`` tables): each table read once per process and font files."""

    __slots__ = ("_paths",)

    def __init__(self, paths: tuple):
        self._paths = paths

    def get_sfnt_table(self, name):
        from matplotlib.font_manager import get_font

        key = ("table", self._paths, name)
        table = _FONTS.get(key, _FONTS)  # the cache itself: not yet read (a font may lack a table: None)
        if table is _FONTS:
            table = _remember(_FONTS, key, get_font(list(self._paths)).get_sfnt_table(name))
        return table


def _text_get_font(font_filepaths, *args, **kwargs):
    """``get_font`` as ``matplotlib.text`` calls it (with a list of font files): the font's tables kept."""
    if args or kwargs or not isinstance(font_filepaths, list):
        from matplotlib.font_manager import get_font

        return get_font(font_filepaths, *args, **kwargs)
    return _KeptTables(tuple(font_filepaths))


class _KeptPdfLayout:
    """``matplotlib._text_helpers`` as the PDF backend uses it, with ``layout`` kept per string.

    :meth:`RendererPdf.draw_text` asks for the layout of its string with the font it has just
    sized from ``prop``; the wrapper around it (:func:`_pdf_draw_text`) tells this object which
    font files and size that font has, and only that font's layouts are kept.
    """

    def __init__(self, module):
        self._module = module
        self._drawing = threading.local()  # .current: (font key, size) of the text RendererPdf.draw_text draws

    def __getattr__(self, name):
        return getattr(self._module, name)

    @property
    def current(self):
        return getattr(self._drawing, "current", None)

    @current.setter
    def current(self, value):
        self._drawing.current = value

    def layout(self, string, font, *, features=None, language=None):
        if self.current is None:
            return self._module.layout(string, font, features=features, language=language)
        key = ("pdf", font, *self.current, string, features, language)
        items = _LAYOUTS.get(key)
        if items is None:
            items = _remember(_LAYOUTS, key, tuple(self._module.layout(string, font, features=features,
                                                                       language=language)))
        return iter(items)


def _pdf_draw_text(original, helpers: _KeptPdfLayout):
    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        helpers.current = None if ismath else (_font_key(prop), prop.get_size_in_points())
        try:
            return original(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
        finally:
            helpers.current = None

    draw_text.__wrapped__ = original
    return draw_text


def _swaps():
    """``[(owner, name, replacement)]`` for this matplotlib, or ``[]`` when its internals differ."""
    try:
        from matplotlib import _text_helpers, font_manager, text, textpath
        from matplotlib.backends import _backend_pdf_ps, backend_agg, backend_pdf
        from matplotlib.mathtext import MathTextParser
    except ImportError:  # pragma: no cover - matplotlib without these modules
        return []
    agg, pdf_ps = backend_agg.RendererAgg, _backend_pdf_ps.RendererPDFPSBase
    needed = [(agg, "draw_text"), (agg, "draw_mathtext"), (agg, "_prepare_font"), (agg, "_draw_text_glyphs_and_boxes"),
              (agg, "get_text_width_height_descent"), (pdf_ps, "get_text_width_height_descent"),
              (pdf_ps, "_get_font_ttf"), (backend_pdf.RendererPdf, "draw_text"),
              (textpath.TextToPath, "get_text_width_height_descent"), (_text_helpers, "layout"),
              (MathTextParser, "_parse_cached"), (font_manager.FontManager, "_find_fonts_by_props"),
              (text, "get_font")]
    present = (all(name in vars(owner) for owner, name in needed) and hasattr(backend_pdf, "_text_helpers")
               and hasattr(MathTextParser._parse_cached, "__wrapped__"))
    if mpl.__version__.split(".")[:2] != ["3", "11"] or not present:
        return []
    helpers = _KeptPdfLayout(backend_pdf._text_helpers)
    return [
        (agg, "get_text_width_height_descent", _kept_size(agg.get_text_width_height_descent)),
        (pdf_ps, "get_text_width_height_descent", _kept_size(pdf_ps.get_text_width_height_descent)),
        (textpath.TextToPath, "get_text_width_height_descent",
         _kept_size(textpath.TextToPath.get_text_width_height_descent)),
        (agg, "draw_text", _agg_draw_text),
        (agg, "draw_mathtext", _agg_draw_mathtext),
        (backend_pdf.RendererPdf, "draw_text", _pdf_draw_text(backend_pdf.RendererPdf.draw_text, helpers)),
        (backend_pdf, "_text_helpers", helpers),
        (MathTextParser, "_parse_cached", _kept_parse(vars(MathTextParser)["_parse_cached"])),
        (font_manager.FontManager, "_find_fonts_by_props",
         _kept_font_paths(font_manager.FontManager._find_fonts_by_props)),
        (text, "get_font", _text_get_font),
    ]


@contextmanager
def reused_text():
    """While in the block, matplotlib's text sizes, layouts and Agg glyph bitmaps are reused (module doc).

    The swap is process-wide while the block runs: text drawn by another thread meanwhile is
    reused as well (every key holds the thread, as matplotlib's fonts are per thread), and when
    blocks of several threads overlap, the first to leave restores matplotlib for all. Nested
    blocks swap once. A kept layout does not repeat matplotlib's warning about a glyph missing
    from every font: it comes once per process.
    """
    global _depth
    with _lock:
        swaps = _swaps() if _depth == 0 else []
        originals = [(owner, name, vars(owner)[name]) for owner, name, _ in swaps]
        for owner, name, replacement in swaps:
            setattr(owner, name, replacement)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            for owner, name, original in originals:
                setattr(owner, name, original)


_process_block = None


def reuse_for_process() -> None:
    """Enter :func:`reused_text` for the rest of the process (once): the pipeline's jobs, each a process that
    draws only the pipeline's own figures."""
    global _process_block
    if _process_block is None:
        _process_block = reused_text()
        _process_block.__enter__()
        # left at exit, while the module's globals are still there: a block finalised later, in the interpreter's
        # clean-up (e.g. where gc.freeze kept it from the collector), would print "Exception ignored"
        atexit.register(_process_block.__exit__, None, None, None)
