"""The report's previews of the PNG figures, made from the pixels while the PNG is written.

The HTML report shows each PNG plot right-sized for the screen (:func:`preview_uri`): at most
:data:`MAX_IMAGE_WIDTH` pixels wide and :data:`MAX_IMAGE_PIXELS` in all (tall forest plots keep at least
:data:`MIN_IMAGE_WIDTH`), reduced to a :data:`PALETTE_COLOURS`-colour palette (octree: the few pixels of a colour keep it) and stored as lossless WebP
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
    palette.convert("RGB").save(buffer, format=webp, lossless=True, method=4)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


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
    partial.write_text(json.dumps({"png_sha256": _file_hash(png_path), "colours": PALETTE_COLOURS, "uri": uri}),
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
            or stored.get("colours") != PALETTE_COLOURS:  # made with another palette (an earlier version)
        return None
    uri = stored.get("uri")
    return uri if isinstance(uri, str) else None
