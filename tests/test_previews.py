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
