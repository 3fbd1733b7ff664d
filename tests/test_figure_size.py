"""Figure sizes and resolution: every figure within plots.width's default page (7 in) unless its log says why, and
plots.dpi read by every figure job. Each test fails without its fix."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alliance_meta.plots.style import save_figure

ROOT = Path(__file__).resolve().parents[1]
PAGE_WIDTH = 7.0  # plots.width's default (alliance_meta.plots.style.PAGE_WIDTH)


def saved_width(figure, tmp_path: Path, dpi: int = 100) -> float:
    """Inches across the PNG that the pipeline writes (``bbox_inches="tight"``, :func:`save_figure`)."""
    path = tmp_path / "figure.png"
    save_figure(figure, [path], dpi=dpi)
    with Image.open(path) as image:
        return image.size[0] / dpi


def test_the_figures_of_analysis_jobs_are_drawn_within_the_default_page(tmp_path):
    """The model-averaging figure was 8.9 in, the selection models' estimates 8.0 in and weight functions 8.8 in,
    the specification curve 8.1 in and the Bayesian posterior 7.1 in on the demo, wider than plots.width's 7 in
    with no word in any log (their jobs do not read plots.width: an analysis's own job draws most of them)."""
    import pandas as pd

    from alliance_meta.analyses.bias import selection_models as sm
    from alliance_meta.bayes import bma, plots
    from alliance_meta.bayes.exact import exact_posterior
    from alliance_meta.bayes.priors import TauPrior
    from alliance_meta.plots.multiverse import specification_curve
    from alliance_meta.plots.selection import selection_estimates_plot, weight_functions_plot

    r = np.array([0.187, 0.162, 0.34, 0.32, 0.1, 0.05, 0.064, 0.1, 0.37, 0.07, 0.19, 0.26, 0.0, 0.149, 0.14, 0.35])
    n = np.array([109, 749, 55, 107, 72, 65, 135, 108, 58, 1034, 116, 162, 60, 110, 186, 64], dtype=float)
    yi, vi = np.arctanh(r), 1 / (n - 3)
    table = sm.selection_models_table(yi, vi, metric="z")
    rng = np.random.default_rng(2)
    specifications = pd.DataFrame({"aggregate_method": ["gls", "mean"] * 6, "method": ["REML"] * 6 + ["DL"] * 6,
                                   "k": 10, "estimate": rng.normal(0.3, 0.05, 12), "significant": True})
    specifications["ci_lower"], specifications["ci_upper"] = (specifications["estimate"] - 0.1,
                                                              specifications["estimate"] + 0.1)
    prior = TauPrior("half_normal", 0.5)
    draws = {"mu": rng.normal(0.2, 0.03, 2000), "tau": np.abs(rng.normal(0.1, 0.03, 2000))}
    figures = {
        "bma": bma.robma(yi, vi, metric="z", bias=False).plot(),
        "selection_models": selection_estimates_plot(table, {"estimate": 0.15, "ci_lower": 0.09, "ci_upper": 0.21},
                                                     "z"),
        "weight_functions": weight_functions_plot(table, yi, vi),
        "multiverse": specification_curve(specifications, "z", 95, {"aggregate_method": "gls", "method": "REML"}),
        "bayes_posterior": plots.posterior_figure(draws, exact_posterior(yi, vi, prior), "z", "Outcome"),
    }
    widths = {name: saved_width(figure, tmp_path) for name, figure in figures.items()}
    assert all(width <= PAGE_WIDTH + 0.02 for width in widths.values()), widths


def test_the_prisma_diagram_says_once_why_it_is_wider_than_the_page(caplog):
    """An update's PRISMA diagram of both routes was 8.35 in wide and no log said so: its job logs a diagram wider
    than plots.width, a WARNING for a width the reviewer set. The diagram now fits the 7-in page (test_forest_polish);
    a 6-in plots.width is narrower than its five columns of boxes can be at 7 pt."""
    import yaml

    from alliance_meta.inputs.prisma import prisma_counts
    from alliance_meta.plots.prisma import prisma_figure, width_note
    from alliance_meta.plots.style import log_wider

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    update = prisma_counts({**config["prisma"], "previous": {"studies": 120, "reports": 121},
                            "included_reports": 152 + 121})
    assert width_note(prisma_figure(prisma_counts(config["prisma"])), None) == ""
    assert width_note(prisma_figure(update), None) == ""
    figure = prisma_figure(update, 6.0)
    note = width_note(figure, 6.0)
    assert re.match(r"6\.95 in wide, wider than plots\.width \(6 in\) as the PRISMA 2020 template's columns of boxes "
                    r"are at their narrowest; scaled to 6 in its 7-pt text is 6\.0 pt$", note)
    assert width_note(figure, 12.0) == ""
    logger = logging.getLogger("test_prisma_width")
    caplog.set_level(logging.INFO, logger="test_prisma_width")
    log_wider(logger, "PRISMA flow diagram", note, 6.0)
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.WARNING, f"PRISMA flow diagram: {note}")]


def test_the_bayesian_plots_are_written_at_plots_dpi(tmp_path):
    """bayes.plots.save wrote every PNG at a fixed 300 dpi whatever plots.dpi."""
    import matplotlib.pyplot as plt

    from alliance_meta.bayes import plots

    figure, _ = plt.subplots(figsize=(2, 1))
    plots.save(figure, tmp_path / "posterior.png", dpi=150)
    with Image.open(tmp_path / "posterior.png") as image:
        assert round(image.info["dpi"][0]) == 150


def test_the_bayesian_forest_plot_s_title_stays_over_its_panel(tmp_path):
    """A log-OR family's labels ("Pooled effect: posterior median (95% CrI, equal-tailed)") narrow the panel, and its
    title, on one line from the panel's left edge, ran past the figure: saved without a note (real data:
    bayes.plots.save writes the figure as it is) its end was cut off. It wraps to the panel's width."""
    import pandas as pd

    from alliance_meta.bayes import plots
    from alliance_meta.bayes.exact import exact_posterior, typical_within_variance
    from alliance_meta.bayes.priors import TauPrior
    from alliance_meta.bayes.summaries import exact_rows

    y, v = np.array([0.4, 1.1, 0.9, 1.6]), np.array([0.2, 0.3, 0.1, 0.5])  # SIMULATED
    table = exact_rows(exact_posterior(y, v, TauPrior("half_normal", 0.5)), "log_or", typical_within_variance(v), [])
    table = table.assign(**{column: table["exact_" + column] for column in
                            ("mean", "sd", "hdi_lower", "hdi_upper", "median", "eti_lower", "eti_upper")})
    studies = pd.DataFrame({"study_id": ["Simulated dropout study 01 (2001)", "b", "c", "d"], "yi": y,
                            "ci_lower": y - 1, "ci_upper": y + 1, "median": y, "eti_lower": y - 0.4,
                            "eti_upper": y + 0.6})
    title = "Dropout family: observed and shrunken study effects"
    figure = plots.forest_figure(studies, table, "log_or", title)
    figure.draw_without_rendering()
    axis = figure.axes[0]
    drawn = axis.get_title(loc="left")
    assert " ".join(drawn.split()) == title and "\n" in drawn  # the words kept, on two lines
    assert axis._left_title.get_window_extent().x1 <= axis.get_window_extent().x1 + 1
    assert figure.get_tightbbox().x1 <= figure.get_figwidth() + 0.01  # nothing beyond the figure as it is saved
    plots.save(figure, tmp_path / "forest.png")


@pytest.mark.parametrize(("rules", "rule", "script"), [
    ("moderators.smk", "moderator_plots", "moderator_plots.py"),
    ("multiverse.smk", "multiverse_plot", "multiverse_plot.py"),
    ("bayes.smk", "bayes_plots", "bayes_plots.py"),
    ("manuscript.smk", "prisma", "prisma.py")])
def test_every_figure_job_takes_plots_dpi_as_a_param_and_writes_its_pngs_at_it(rules, rule, script):
    """These figure jobs wrote their PNGs at 300 dpi whatever plots.dpi (only the forest plots read it); each rule
    now holds the key among its params, so that a new plots.dpi reruns it (and no analysis job), and its script
    passes it to the saver."""
    text = (ROOT / "workflow" / "rules" / rules).read_text(encoding="utf-8")
    body = text[text.index(f"rule {rule}:"):]
    body = body[:body.index("script:")]
    assert re.search(r'config\["plots"\]\["dpi"\]|for key in \("width", "dpi"\)', body), body
    code = (ROOT / "workflow" / "scripts" / script).read_text(encoding="utf-8")
    assert "dpi=300" not in code and re.search(r"params\.dpi|\[\"dpi\"\]", code), code
