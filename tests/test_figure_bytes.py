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
