"""Figures drawn from the simulated demo sheet say so beneath them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from alliance_meta.plots.forest import save_forest_plot  # noqa: E402
from alliance_meta.plots.provenance import SIMULATED_NOTE, figure_note, is_simulated  # noqa: E402
from alliance_meta.plots.style import save_figure  # noqa: E402
from alliance_meta.models.univariate import pool_all  # noqa: E402


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
    assert "Simulated data: these are not real studies." in path.read_text()


def test_note_sits_below_existing_footnotes():
    figure = plt.figure(figsize=(4, 3))
    figure.add_subplot().plot([0, 1], [0, 1])
    footnote = figure.text(0.01, 0.0, "line one\nline two", va="top")
    from alliance_meta.plots.provenance import add_note

    add_note(figure, SIMULATED_NOTE)
    renderer = figure.canvas.get_renderer()
    note = next(text for text in figure.texts if text.get_text() == SIMULATED_NOTE)
    assert note.get_window_extent(renderer).y1 < footnote.get_window_extent(renderer).y0
    plt.close(figure)


def test_subgroup_level_without_estimate_is_marked_not_estimated():
    from alliance_meta.plots.subgroups import subgroup_forest

    levels = pd.DataFrame({"level": ["a", "b"], "k": [3, 2], "estimate": [0.3, np.nan],
                           "ci_lower": [0.2, np.nan], "ci_upper": [0.4, np.nan]})
    summary = {"moderator": "m", "qm_df": 1, "qm": 1.0, "qm_p": 0.3, "f_df1": 1, "f_df2": 3, "f": 1.0, "f_p": 0.4,
               "q_between_separate_df": 1, "q_between_separate": np.nan, "q_between_separate_p": np.nan}
    figure = subgroup_forest(levels, summary, {"estimate": 0.3, "ci_lower": 0.2, "ci_upper": 0.4, "k": 5}, "z")
    texts = [text.get_text() for axis in figure.axes for text in axis.texts]
    assert "not estimated" in texts and not any("nan" in text for text in texts)
    plt.close(figure)


def test_the_code_digest_tells_two_versions_of_the_package_apart(tmp_path):
    """Every version reported 'alliance-meta 0.1.0': results of one review folder computed before and after an
    update could not be told apart (found by the living-review audit)."""
    from alliance_meta.report.provenance import code_digest, package_versions

    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "r.html.j2").write_text("{{ x }}\n")
    first = code_digest(tmp_path)
    assert first == code_digest(tmp_path) and len(first) == 12
    (tmp_path / "templates" / "r.html.j2").write_text("{{ y }}\n")
    assert code_digest(tmp_path) != first
    assert package_versions()["alliance-meta"].endswith(f"(code {code_digest()})")


def test_note_stays_below_the_axes_of_a_constrained_layout():
    """The Bayesian forest plot (constrained layout, tall): the note was placed before the axes grew, and sat on
    the data."""
    from alliance_meta.plots.provenance import add_note

    figure, axis = plt.subplots(figsize=(5, 12), constrained_layout=True)
    axis.plot([0, 1], [0, 1])
    axis.set_xlabel("x")
    add_note(figure, SIMULATED_NOTE)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    note = next(text for text in figure.texts if text.get_text() == SIMULATED_NOTE)
    assert note.get_window_extent(renderer).y1 < axis.get_tightbbox(renderer).y0
    plt.close(figure)
