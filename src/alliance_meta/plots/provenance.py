"""A note on every figure drawn from a simulated sheet.

The bundled demo sheet marks each row ``simulated = yes`` (codebook), as may a reviewer's own
simulated sheet. Figures made from such rows carry :data:`SIMULATED_NOTE` beneath them, so that a
plot copied out of the results folder cannot pass for one of real studies.
"""

from __future__ import annotations

import pandas as pd

from alliance_meta.wording import SIMULATED_DATA_NOTE as SIMULATED_NOTE  # the tables' note, beneath the figures

SIMULATED_VALUES = ("yes", "y", "true", "1")


def is_simulated(frame: pd.DataFrame) -> bool:
    """Whether any row is marked ``simulated = yes`` (the bundled demo data, or a reviewer's simulated sheet)."""
    if "simulated" not in frame:
        return False
    values = frame["simulated"].astype("string").str.strip().str.lower()
    return bool(values.isin(SIMULATED_VALUES).any())


def figure_note(frame: pd.DataFrame) -> str | None:
    """The note to print beneath figures drawn from ``frame`` (None for real data)."""
    return SIMULATED_NOTE if is_simulated(frame) else None


#: how the note looks wherever it is written (:func:`add_note`; the message figures that stand for a plot)
NOTE_STYLE = {"fontsize": 8, "style": "italic", "color": "#7f0000"}
NOTE_GAP = 0.08  # inches between a figure and the note beneath it (:func:`add_note`)


def note_height(note: str | None) -> float:
    """The inches :func:`add_note` writes beneath a figure: the gap and ``note`` as drawn (0 without a note)."""
    if not note:
        return 0.0
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(dpi=72)
    canvas = FigureCanvasAgg(figure)
    text = figure.text(0, 0, note, va="top", **NOTE_STYLE)
    return NOTE_GAP + text.get_window_extent(canvas.get_renderer()).height / 72


def add_note(figure, note: str | None) -> None:
    """Write ``note`` centred below everything already drawn (footnotes included); save with a tight box."""
    if not note:
        return
    # lay the figure out first: under constrained layout the axes move only when drawn, so a note placed beneath
    # the undrawn layout landed on the data once the axes grew to fill the figure (the Bayesian forest plot)
    figure.draw_without_rendering()
    bottom_inches = figure.get_tightbbox().y0  # also of a figure closed in pyplot (returned_figure)
    figure.text(0.5, (bottom_inches - NOTE_GAP) / figure.get_figheight(), note, ha="center", va="top", **NOTE_STYLE)


def returned_figure(figure, note: str | None):
    """A figure as the library's plot methods return it: ``note`` beneath it, inside the figure, so that
    ``figure.savefig(path)`` keeps it; closed in pyplot, so that a notebook shows it once (as the cell's value,
    not a second time as an open figure) and a loop of plots leaves no figure open."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.style import keep_inside

    if note:
        add_note(figure, note)
        keep_inside(figure)
    plt.close(figure)
    return figure
