"""The report's previews of the PNG figures, made from the pixels while the PNG is written.

The HTML report shows each PNG plot right-sized for the screen (:func:`preview_uri`): at most
:data:`MAX_IMAGE_WIDTH` pixels wide and :data:`MAX_IMAGE_PIXELS` in all (tall forest plots keep at least
:data:`MIN_IMAGE_WIDTH`), reduced to a :data:`PALETTE_COLOURS`-colour palette (octree: the few pixels of a colour
keep it; a tall plot beyond the pixel budget to :data:`TALL_PALETTE_COLOURS`) and stored as lossless WebP
(a third smaller than PNG); the full-resolution PNG, PDF and SVG stay beside the report. Made from the
PNG file, a preview first decodes the 300-dpi image (a third of its time), and the pipeline made all of a
family's previews at the end of the run, when the other core had nothing left to do.

Where the environment variable :data:`PREVIEWS_ENV` names a folder (``workflow/rules/common.smk`` sets it
for the pipeline's jobs: ``data/processed/previews``, a folder kept across runs),
:func:`alliance_meta.plots.style.save_file` hands the pixels it has just written to a PNG to
:func:`store_preview`, which stores the preview there with the SHA-256 of the PNG file. :func:`preview_of_png` uses a stored preview only for the PNG with that hash, and makes the others
from the file: a PNG is lossless, so both give the same bytes (``tests/test_previews.py``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
from pathlib import Path

import numpy as np

#: environment variable naming the folder of the stored previews (unset: none are stored)
PREVIEWS_ENV = "ALLIANCE_META_PREVIEWS"
#: sharp enough on the screen, and a report small enough to e-mail (the demo report: under 3 MB). With 16 colours
#: the octree merged the light greys of large areas into the white: the bubble plot's 95% CI band (grey 0.85) and the
#: funnel plot's contours beyond p = .05 vanished from the report while their legends still named them
MAX_IMAGE_WIDTH, MIN_IMAGE_WIDTH, MAX_IMAGE_PIXELS, PALETTE_COLOURS = 800, 700, 900_000, 32
#: the palette of a preview that keeps MIN_IMAGE_WIDTH beyond MAX_IMAGE_PIXELS (the forest plot of 125 studies, 700 x
#: 3,760 pixels; :func:`tall_palette`): with at most 16 colours lossless WebP packs two pixels a byte, where the demo
#: report's three outcome forest plots took 610 kB at 32 colours (issue #21: the report must stay under 3 MB)
TALL_PALETTE_COLOURS = 16
#: weight of the chroma against the luma where a colour of a tall preview goes to the nearest kept
#: (:func:`tall_palette`): in plain RGB the light grey of the dashed line at the pooled estimate went to the light blue
#: of the CI whiskers
CHROMA_WEIGHT = 2.0
#: lossless WebP's compression effort (Pillow's ``quality`` of a lossless image: the bytes, not the pixels): at 100,
#: 3% smaller than Pillow's default 80 in about the same time (``method`` 6 took 20 s a forest plot)
WEBP_EFFORT = 100
#: what a stored preview was made with (:func:`store_preview`): one made with other settings is made again
SETTINGS = {"max_width": MAX_IMAGE_WIDTH, "min_width": MIN_IMAGE_WIDTH, "max_pixels": MAX_IMAGE_PIXELS,
            "colours": PALETTE_COLOURS, "tall_colours": TALL_PALETTE_COLOURS, "chroma": CHROMA_WEIGHT,
            "effort": WEBP_EFFORT}
#: WebP's largest side in pixels: the forest plot of a review of some 400 studies is taller than this at
#: MIN_IMAGE_WIDTH, so such a preview is narrower
WEBP_MAX_SIDE = 16383


def preview_uri(image) -> str:
    """A ``data:image/webp;base64,...`` URI of the PIL image of a plot, right-sized (module docstring)."""
    from PIL import Image, WebPImagePlugin  # imported, WebP is registered: the save loads no other plugin

    area_scale = math.sqrt(MAX_IMAGE_PIXELS / (image.width * image.height))
    scale = min(1.0, MAX_IMAGE_WIDTH / image.width, max(MIN_IMAGE_WIDTH / image.width, area_scale),
                WEBP_MAX_SIDE / image.height)
    image = image.convert("RGB")  # the plots are opaque: three channels to resize, not four
    if scale < 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    buffer = io.BytesIO()
    webp = WebPImagePlugin.WebPImageFile.format
    # octree, not Pillow's default median cut: median cut spends the colours on the white and the greys of the
    # text, and the few pixels of blue squares and green, yellow and red risk-of-bias symbols became grey-green
    palette = image.quantize(colors=PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE)
    if image.width * image.height > MAX_IMAGE_PIXELS * (1 + 1e-3):  # kept at MIN_IMAGE_WIDTH beyond the budget
        palette = tall_palette(palette)
    palette.convert("RGB").save(buffer, format=webp, lossless=True, method=4, quality=WEBP_EFFORT)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def tall_palette(octree):
    """The octree-quantized ``octree`` (a "P" image) in :data:`TALL_PALETTE_COLOURS` of its colours: the two closest
    (RGB) merged until that many are left, the one of more pixels kept as it is, and each colour drawn as the nearest
    kept in luma and chroma (:data:`CHROMA_WEIGHT`). An octree of 16 colours merged its rare colours into its common
    ones: a study's CI whisker (light blue at 700 pixels) went white, a subgroup's orange diamond (138 pixels) red."""
    colours = np.asarray(octree.getpalette(), dtype=float).reshape(-1, 3)
    counts = np.bincount(np.asarray(octree).ravel(), minlength=len(colours)).astype(float)
    kept = [int(i) for i in np.flatnonzero(counts)]
    while len(kept) > TALL_PALETTE_COLOURS:
        distance = ((colours[kept][:, None] - colours[kept][None]) ** 2).sum(axis=-1)
        np.fill_diagonal(distance, np.inf)
        first, second = np.unravel_index(np.argmin(distance), distance.shape)
        rare, common = sorted((kept[first], kept[second]), key=lambda i: counts[i])
        counts[common] += counts[rare]
        kept.remove(rare)

    def luma_chroma(rgb):
        luma = rgb @ np.array([0.299, 0.587, 0.114])  # ITU-R BT.601
        return np.column_stack([luma, CHROMA_WEIGHT * (rgb[:, 2] - luma), CHROMA_WEIGHT * (rgb[:, 0] - luma)])

    nearest = ((luma_chroma(colours)[:, None] - luma_chroma(colours[kept])[None]) ** 2).sum(axis=-1).argmin(axis=1)
    reduced = octree.copy()
    reduced.putpalette(colours[kept][nearest].astype(np.uint8).ravel().tolist())
    return reduced


def preview_of_png(path: str | Path) -> str:
    """The preview URI of the PNG file ``path``: the stored one if it was made from this file, else made now."""
    stored = stored_preview(path)
    if stored is not None:
        return stored
    from PIL import Image

    with Image.open(path) as image:
        return preview_uri(image)


def _file_hash(path: str | Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _store_path(png_path: str | Path) -> Path | None:
    """Where the preview of ``png_path`` is stored: its path below the working directory, under the folder
    of :data:`PREVIEWS_ENV`; None where that is unset or the PNG lies outside the working directory."""
    folder = os.environ.get(PREVIEWS_ENV)
    if not folder:
        return None
    try:
        relative = Path(png_path).resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return None
    return Path(folder) / f"{relative}.json"


def wanted(png_path: str | Path) -> bool:
    """Whether :func:`store_preview` would store a preview of ``png_path``."""
    return _store_path(png_path) is not None


def store_preview(png_path: str | Path, rgba) -> None:
    """Store the preview of the PNG file ``png_path``, just written from the (height, width, 4) uint8 pixels
    ``rgba``, with the file's hash (written to a temporary name and renamed: a reader never sees half)."""
    target = _store_path(png_path)
    if target is None:
        return
    from PIL import Image

    uri = preview_uri(Image.fromarray(np.asarray(rgba), mode="RGBA"))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    partial.write_text(json.dumps({"png_sha256": _file_hash(png_path), "settings": SETTINGS, "uri": uri}),
                       encoding="utf-8")
    os.replace(partial, target)


def stored_preview(png_path: str | Path) -> str | None:
    """The stored preview URI of ``png_path`` if one was made from the file as it is now, else None."""
    target = _store_path(png_path)
    if target is None or not target.is_file():
        return None
    try:
        stored = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("png_sha256") != _file_hash(png_path) \
            or stored.get("settings") != SETTINGS:  # made with other settings (an earlier version)
        return None
    uri = stored.get("uri")
    return uri if isinstance(uri, str) else None
