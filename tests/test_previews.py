"""The report's previews made while a PNG is written (alliance_meta.plots.previews): the same bytes as a preview
made from the file, used only for the file they were made from."""

import json

import matplotlib.pyplot as plt
import pytest
from PIL import Image

from alliance_meta.plots import previews
from alliance_meta.plots.style import save_figure, save_file
from alliance_meta.report.html import inline_image


def _figure(height=3.0, label="forest"):
    figure, axis = plt.subplots(figsize=(4.0, height))
    axis.plot([0, 1, 2], [1, 0, 2], color="#0072B2")
    axis.set_title(f"{label}: r = 0.28 [0.21, 0.34]")
    return figure


@pytest.fixture
def review(tmp_path, monkeypatch):
    """A review folder as the working directory, with the pipeline's previews folder set."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(previews.PREVIEWS_ENV, "data/processed/previews")
    (tmp_path / "results" / "outcome").mkdir(parents=True)
    return tmp_path


def _made_from_file(path):
    with Image.open(path) as image:
        return previews.preview_uri(image)


@pytest.mark.parametrize("height", [3.0, 40.0])  # kept at full size / resized (a tall forest plot)
def test_a_stored_preview_has_the_bytes_of_one_made_from_the_file(review, height):
    png = "results/outcome/forest.png"
    figure = _figure(height)
    save_file(figure, png, dpi=300, bbox_inches="tight")
    plt.close(figure)
    stored = review / "data/processed/previews/results/outcome/forest.png.json"
    assert stored.is_file()
    uri = previews.stored_preview(png)
    assert uri is not None and uri.startswith("data:image/webp;base64,")
    assert uri == _made_from_file(png)
    assert inline_image(png) == uri


def test_a_preview_of_a_forest_plot_taller_than_webp_allows():
    """The forest plot of 400 studies: at the preview's minimum width it was taller than WebP's 16383 pixels, and
    saving the preview raised 'Image size exceeds WebP limit' and stopped the forest_plot job."""
    import base64
    import io

    tall = Image.new("RGB", (2400, 80_000), "white")  # a 300-dpi PNG of 8 x 267 inches
    uri = previews.preview_uri(tall)
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as preview:
        assert preview.height <= previews.WEBP_MAX_SIDE and preview.width == round(2400 * 16383 / 80_000)


def test_the_report_uses_the_stored_preview(review):
    png = "results/outcome/funnel.png"
    save_figure(_figure(), [png], note="Simulated data: these are not real studies.")
    stored = review / "data/processed/previews/results/outcome/funnel.png.json"
    content = json.loads(stored.read_text())
    content["uri"] = "data:image/webp;base64,stored"
    stored.write_text(json.dumps(content))
    assert inline_image(png) == "data:image/webp;base64,stored"


def test_a_preview_of_another_version_of_the_png_is_not_used(review, monkeypatch):
    png = "results/outcome/forest.png"
    first = _figure(label="first")
    save_file(first, png, dpi=300)
    plt.close(first)
    monkeypatch.delenv(previews.PREVIEWS_ENV)  # the PNG rewritten outside the pipeline: no preview stored
    second = _figure(label="second")
    save_file(second, png, dpi=300)
    plt.close(second)
    monkeypatch.setenv(previews.PREVIEWS_ENV, "data/processed/previews")
    assert (review / "data/processed/previews/results/outcome/forest.png.json").is_file()
    assert previews.stored_preview(png) is None
    assert inline_image(png) == _made_from_file(png)
    (review / "data/processed/previews/results/outcome/forest.png.json").write_text("{not json")
    assert previews.stored_preview(png) is None


def test_no_preview_outside_the_pipeline_or_the_working_directory(review, tmp_path_factory, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "forest.png"
    figure = _figure()
    save_file(figure, elsewhere, dpi=100)
    monkeypatch.delenv(previews.PREVIEWS_ENV)
    save_file(figure, "results/outcome/forest.png", dpi=100)
    save_file(figure, "results/outcome/forest.pdf")
    plt.close(figure)
    assert not (review / "data").exists()
    assert inline_image("results/outcome/forest.png") == _made_from_file("results/outcome/forest.png")


def test_a_preview_keeps_the_colours_of_a_few_pixels():
    """Median cut, Pillow's default, spent the 16 colours on the white and the greys of the text: in the report,
    the forest plot's blue squares and its green, yellow and red risk-of-bias symbols came out grey-green."""
    import base64
    import io

    import numpy as np

    colours = {"study": "#0072B2", "subgroup": "#D55E00", "low": "#02C100", "moderate": "#E2DF07", "high": "#BF0000"}
    figure, axis = plt.subplots(figsize=(8.0, 10.0))
    for row in range(60):  # mostly text, as a forest plot
        axis.text(0.0, row, f"Simulated study {row:03d} ({1980 + row})   n = {100 + row}   .28 [.21, .34]", fontsize=7)
        for column, colour in enumerate(colours.values()):
            axis.plot([0.8 + 0.03 * column], [row], marker="s", markersize=4, color=colour)
    axis.set_xlim(0, 1)
    axis.set_ylim(-1, 60)
    figure.canvas.draw()
    image = Image.frombuffer("RGBA", figure.canvas.get_width_height(), figure.canvas.buffer_rgba())
    plt.close(figure)
    uri = previews.preview_uri(image)
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")).reshape(-1, 3)
    for name, colour in colours.items():
        target = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert np.abs(pixels.astype(int) - target).max(axis=1).min() <= 30, name


def _pixels(uri):
    import base64
    import io

    import numpy as np

    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as preview:
        return np.asarray(preview.convert("RGB")).reshape(-1, 3).astype(int)


def test_the_preview_of_a_tall_forest_plot_stays_under_its_budget_and_keeps_its_colours(monkeypatch):
    """Issue #21: the compact forest plots (each study's plots.columns on a line under its name) grew taller and the
    demo report to 2.96 MB of its 3. A preview beyond the pixel budget (kept 700 pixels wide) now has 16 colours, two
    pixels a byte in WebP: the 32-colour preview of 100 studies took 117 kB. An octree of 16 colours turned the
    subgroups' orange diamonds red and the CI whiskers white: every colour of the 32 stays, as many blue pixels."""
    import numpy as np
    import pandas as pd

    from alliance_meta.models.univariate import fit
    from alliance_meta.plots.forest import ForestOptions, moderator_forest_plot
    from test_forest_polish import DEMO_COLUMNS, family, rated

    data = rated(family(100)).assign(authors=[f"Simulated study {i:03d}" for i in range(100)])
    levels = pd.DataFrame([{"moderator": "modality", "level": level, "k": len(rows),
                            **{key: value for key, value in fit(rows.yi, rows.vi, "REML", "z").as_row().items()
                               if key in ("estimate", "se", "ci_lower", "ci_upper", "tau2")}}
                           for level, rows in data.groupby("modality")])
    figure = moderator_forest_plot(data, "modality", levels, fit(data.yi, data.vi, "REML", "z").as_row(), "z",
                                   options=ForestOptions.from_config(DEMO_COLUMNS, {"tool": "quips"}))[0]
    figure.set_dpi(300)  # as the pipeline writes the PNG
    figure.canvas.draw()
    image = Image.frombuffer("RGBA", figure.canvas.get_width_height(), figure.canvas.buffer_rgba()).copy()
    plt.close(figure)
    assert image.height > 4 * image.width  # beyond the pixel budget at the preview's least width
    uri = previews.preview_uri(image)
    budget = 100_000  # characters of the data URI (kB of the report)
    assert len(uri) <= budget
    monkeypatch.setattr(previews, "tall_palette", lambda octree: octree)  # the 32 colours of the other previews
    octree = previews.preview_uri(image)
    assert len(octree) > budget
    pixels, full = _pixels(uri), _pixels(octree)
    assert len(np.unique(pixels, axis=0)) <= previews.TALL_PALETTE_COLOURS
    for name, colour in {"study": (0, 114, 178), "subgroup": (213, 94, 0), "low": (2, 193, 0),
                         "moderate": (226, 223, 7), "high": (191, 0, 0)}.items():
        assert np.abs(pixels - colour).max(axis=1).min() <= 30, name

    def blue(rgb):  # the squares and CI whiskers (#0072B2 and its blends with the white)
        return int(((rgb[:, 2] - rgb[:, 0] > 40) & (rgb[:, 2] > rgb[:, 1])).sum())

    assert blue(pixels) >= 0.95 * blue(full)


def test_a_preview_stored_with_other_settings_is_not_used(review, monkeypatch):
    """The previews of the forest plots, unchanged PNGs, kept the 32 colours stored with them before the tall ones
    had 16: a stored preview is used only where it was made with the settings of :func:`previews.preview_uri`."""
    png = "results/outcome/forest.png"
    figure = _figure()
    save_file(figure, png, dpi=100)
    plt.close(figure)
    assert previews.stored_preview(png) is not None
    monkeypatch.setattr(previews, "SETTINGS", {**previews.SETTINGS, "tall_colours": 32})
    assert previews.stored_preview(png) is None
