"""The figures the analyses return to a notebook (``bias.funnel()``, ``gosh.plot()``, ``bma.plot()``,
``multiverse.plot()``, ``risk_of_bias_sensitivity.plot()``): drawn from simulated rows they say so, as the
pipeline's figures and ``fit.plot_forest`` do, inside the figure that ``figure.savefig(path)`` writes; and they
come back closed in pyplot, so that a notebook shows each once (as the cell's value) and none stays open."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

import alliance_meta as am
from alliance_meta.plots.provenance import SIMULATED_NOTE


def simulated_rows(k: int = 10) -> pd.DataFrame:
    """Simulated correlations (Fisher z) of k studies, marked ``simulated = yes`` as the demo sheet's rows."""
    rng = np.random.default_rng(11)
    n = rng.integers(40, 200, k)
    frame = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(k)], "vi": 1 / (n - 3), "n": n, "metric": "z",
                          "rob_overall": rng.choice(["low", "high"], k), "simulated": "yes"})
    frame["yi"] = 0.28 + rng.normal(0, np.sqrt(frame["vi"] + 0.005))
    return frame


@pytest.fixture(scope="module")
def fit():
    return am.fit(simulated_rows(), metric="z")


FIGURES = {
    "funnel": lambda fit, **note: am.publication_bias(fit).funnel(**note),
    "gosh": lambda fit, **note: am.gosh(fit, subsets=50).plot(**note),
    "bma": lambda fit, **note: am.bma(fit, bias=False).plot(**note),
    "multiverse": lambda fit, **note: am.multiverse(fit, {"methods": ["DL", "REML"], "tests": ["z"]}).plot(**note),
}


@pytest.mark.parametrize("name", FIGURES)
def test_a_returned_figure_of_simulated_rows_says_so_inside_and_is_not_left_open(fit, name):
    """funnel(), gosh's, bma's and multiverse's plot() of the demo sheet had no simulated-data note (the pipeline
    added it only when saving), and stayed open in pyplot: a notebook cell ending in one showed it twice."""
    plt.close("all")
    figure = FIGURES[name](fit)
    notes = [text for text in figure.texts if text.get_text() == SIMULATED_NOTE]
    assert len(notes) == 1
    box = notes[0].get_window_extent()
    assert box.y0 >= 0 and box.x0 >= 0 and box.x1 <= figure.bbox.width  # savefig(path) without a tight box keeps it
    assert plt.get_fignums() == []
    assert not [text for text in FIGURES[name](fit, note="").texts if text.get_text() == SIMULATED_NOTE]


def test_the_risk_of_bias_figures_are_not_left_open(fit):
    plt.close("all")
    result = am.risk_of_bias_sensitivity(fit, "quips")
    for kind in ("summary", "traffic_light"):
        result.plot(kind)
    assert plt.get_fignums() == []


def texts(figure) -> str:
    """The figure's texts, lines joined (a footnote is wrapped)."""
    return " ".join(" ".join(text.get_text().split()) for text in figure.findobj(Text))


@pytest.mark.parametrize("kind", ["fit", "psychometric"])
def test_the_forest_plots_return_their_figure(tmp_path, kind):
    """fit.plot_forest(path) and the psychometric plot_forest(path) only wrote the file and returned None, so that
    a notebook could not show the plot; the psychometric one also left out the simulated-data note the pipeline's
    plot has. Now each returns its figure (the PDF's pages where only a PDF of several pages is written)."""
    plt.close("all")
    fit = am.fit(simulated_rows().assign(rxx=0.8, ryy=0.85), metric="z")
    plot = fit.plot_forest if kind == "fit" else am.psychometric(fit).plot_forest
    figure = plot(tmp_path / "forest.png")
    assert (tmp_path / "forest.png").is_file()
    assert isinstance(figure, Figure) and plt.get_fignums() == []
    assert SIMULATED_NOTE in texts(figure)
    assert SIMULATED_NOTE not in texts(plot(note=""))  # and no path: not written
    pages = plot(tmp_path / "forest.pdf", {"rows_per_page": 5})  # 10 studies
    assert len(pages) > 1 and all(isinstance(page, Figure) for page in pages) and plt.get_fignums() == []
