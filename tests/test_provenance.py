"""Figures drawn from the simulated demo sheet say so beneath them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from alliance_meta.plots.forest import save_forest_plot  # noqa: E402
from alliance_meta.plots.provenance import SIMULATED_NOTE, figure_note, is_simulated  # noqa: E402
from alliance_meta.plots.subgroups import save_figure  # noqa: E402
from alliance_meta.pooling import pool_all  # noqa: E402


def _studies(simulated: str | None) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"study_id": [f"s{i}" for i in range(6)], "yi": rng.normal(0.3, 0.1, 6),
                          "vi": rng.uniform(0.005, 0.02, 6), "n": 100, "authors": "Simulated study", "year": 2000})
    if simulated is not None:
        frame["simulated"] = simulated
    return frame


def test_is_simulated_reads_the_codebook_column():
    assert is_simulated(_studies("yes"))
    assert is_simulated(_studies("Yes "))
    assert not is_simulated(_studies("no"))
    assert not is_simulated(_studies(None))
    assert figure_note(_studies("yes")) == SIMULATED_NOTE
    assert figure_note(_studies(None)) is None


def test_saved_figure_carries_the_note_only_for_simulated_data(tmp_path):
    texts = {}
    for name, frame in {"demo": _studies("yes"), "real": _studies(None)}.items():
        figure = plt.figure()
        figure.add_subplot().plot([0, 1], [0, 1])
        save_figure(figure, [tmp_path / f"{name}.png"], figure_note(frame))
        texts[name] = [text.get_text() for text in figure.texts]
    assert SIMULATED_NOTE in texts["demo"]
    assert SIMULATED_NOTE not in texts["real"]


def test_forest_plot_svg_states_simulated_data(tmp_path):
    data = _studies("yes")
    pooled = pool_all(data["yi"], data["vi"], methods=("REML",), tests=("z",), metric="z").iloc[0].to_dict()
    path = tmp_path / "forest.svg"
    save_forest_plot(data, pooled, "z", [path], data_note=figure_note(data))
    assert "Simulated demo data" in path.read_text()
