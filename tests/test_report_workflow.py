"""The whole pipeline on a tiny sheet whose text cells look like formulas or HTML: every CSV
under results/ and data/processed/ neutralises them and the report shows them as text.
(Runs every stage, MCMC included: about two minutes on two busy cores.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
FORMULA_STARTS = ("=", "+", "-", "@", "\u2212")
HOSTILE_LABEL = "<script>alert('label')</script>"
#: the report shows authors (study tables), not a row's label (the Bayes study table names studies by authors and
#: year since stop 64): the text a reviewer types that the report must show as text, not run
HOSTILE_AUTHORS = "<script>alert('authors')</script>"
ROWS = [  # study_id, authors, label, family, r, n, d, n1, n2, rater, site
    ("s01", "=HYPERLINK(\"http://example.org\")", HOSTILE_LABEL, "outcome", 0.31, 60, None, None, None, "patient", "=A1"),
    ("s02", "+Cmd|' /C calc'!A0", "@SUM(1+1)", "outcome", 0.12, 85, None, None, None, "therapist", "@home"),
    ("s03", "-2+3", "WAI, patient", "outcome", 0.40, 40, None, None, None, "patient", "+clinic"),
    ("s03", "-2+3", "WAI, observer", "outcome", 0.22, 40, None, None, None, "observer", "+clinic"),
    ("s04", "\u2212Minus", "=1/0", "outcome", 0.05, 120, None, None, None, "patient", "=A1"),
    ("s05", "Plain & Co", "<b>bold</b>", "outcome", 0.35, 75, None, None, None, "observer", "@home"),
    ("s06", "@Author", "plain", "dropout", None, None, 0.61, 40, 18, "patient", "=A1"),
    ("s07", HOSTILE_AUTHORS, "-x", "dropout", None, None, 0.35, 55, 25, "therapist", "@home"),
    ("s08", "Tiny I", "+y", "dropout", None, None, 0.72, 30, 12, "patient", "+clinic"),
    ("s09", "Tiny J", "z", "dropout", None, None, 0.48, 70, 30, "patient", "=A1"),
]
CONFIG = {"moderators": ["rater", "site"], "permutations": 20,
          "bayes": {"draws": 200, "tune": 200, "chains": 2, "sensitivity_priors": [{"family": "half_normal", "scale": 0.5}]},
          "multiverse": {"methods": ["REML"], "tests": ["z"], "aggregate_methods": ["gls"], "aggregate_rhos": [0.5],
                         "outliers": ["none"], "publication": ["all"], "minimum_n": [0]},
          "plots": {"dpi": 72, "columns": ["n", "rater", "site"], "column_labels": {"site": "Site"}, "rob": True}}
ROB = {"rob_participation": ["low", "L", "high", "high", "moderate", "low", "low", "high risk", "low", "low"],
       "rob_confounding": ["moderate", "low", "moderate", "moderate", "low", "low", "moderate", "low", "low", "low"]}
"""QUIPS judgements of two domains (the others absent, so rob_overall stays empty)."""


@pytest.fixture(scope="module")
def review(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile_review")
    (folder / "data" / "raw").mkdir(parents=True)
    (folder / "config").mkdir()
    columns = ["study_id", "authors", "label", "family", "r", "n", "d", "n1", "n2", "rater", "site"]
    sheet = pd.DataFrame(ROWS, columns=columns).assign(year=range(2001, 2001 + len(ROWS)), simulated="yes", **ROB)
    sheet.to_csv(folder / "data" / "raw" / "studies.csv", index=False)
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    command = [str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(folder), "--cores", "2"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return folder


def test_every_csv_neutralises_formula_cells(review):
    tables = sorted((review / "results").rglob("*.csv")) + sorted((review / "data" / "processed").rglob("*.csv"))
    assert len(tables) > 10
    offenders = []
    for path in tables:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            for value in [column, *frame[column]]:
                if value.startswith(FORMULA_STARTS) and not _is_number(value):
                    offenders.append((path.relative_to(review), column, value))
    assert not offenders, offenders[:10]
    analysis = pd.read_csv(review / "data/processed/outcome/analysis.csv", dtype=str)
    assert "'=HYPERLINK(\"http://example.org\")" in set(analysis["authors"])


def _is_number(text: str) -> bool:
    try:
        float(text.replace("\u2212", "-"))
    except ValueError:
        return False
    return True


def test_report_shows_sheet_text_as_text(review):
    html = (review / "results" / "report.html").read_text()
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#39;authors&#39;)&lt;/script&gt;" in html
    assert 'id="simulated-banner"' in html
    assert (review / "results" / "outcome" / "tables" / "pooled.tex").read_text().count(r"\toprule") == 1
    assert (review / "results" / "outcome" / "forest_site.svg").exists()


def test_the_manuscript_tables_of_simulated_data_say_so_and_list_the_included_studies(review):
    from docx import Document

    results = review / "results"
    tables = sorted(results.glob("*/tables/*.md"))
    assert len(tables) >= 8
    for path in tables:
        text = path.read_text(encoding="utf-8")
        assert re.search(r"[(;] ?SIMULATED data\)\*\*$", text.splitlines()[0]), path
        assert ") (" not in text.splitlines()[0], path  # "Summary of findings (GRADE; SIMULATED data)"
        assert "*Note.* Simulated data: these are not real studies." in text, path
    word = [paragraph.text for paragraph in Document(results / "tables.docx").paragraphs]
    assert word[1] == "Characteristics of the Included Studies: Outcome Family (SIMULATED Data)"
    studies = pd.read_csv(results / "outcome" / "study_characteristics.csv")
    assert studies["study_id"].tolist() == ["s01", "s02", "s03", "s04", "s05"]  # by year
    assert studies.set_index("study_id").loc["s03", ["k_effect_sizes", "rater"]].tolist() == [2, "mixed"]
    assert "Characteristics of the included studies" in (results / "report.html").read_text()


def test_risk_of_bias_figures_and_forest_columns(review):
    results = review / "results"
    for family in ("outcome", "dropout"):
        for name in ("rob_traffic_light", "rob_summary"):
            for suffix in ("pdf", "png", "svg"):
                assert (results / family / f"{name}.{suffix}").stat().st_size > 1000
        assert (results / family / "rob_sensitivity.csv").exists()
    drawn = (results / "outcome" / "forest.svg").read_text()
    # a line with mathtext (italic Q, p, z) is one <text> of a <tspan> per glyph, its spaces no-break spaces
    glyphs = ["".join(re.findall(r">([^<>]*)</tspan>", block))
              for block in re.findall(r"<text>(.*?)</text>", drawn, re.S)]
    svg = " ".join(re.findall(r">([^<>]+)</text>", drawn) + glyphs).replace("\u00a0", " ")
    for text in ("Site", "rater", "D1", "Risk of bias, QUIPS", "D1 study participation"):
        assert text in svg, text
    # the overall column: "Overall", or "O" where the columns do not fit 7 in side by side (defined in the footnote)
    assert "Overall" in svg or "O overall" in svg
    html = (results / "report.html").read_text()
    assert "Risk of bias: judgements per study and domain" in html and "Risk of bias: summary per domain" in html


def _note_rows_and_ink_below(path: Path) -> tuple[range, int]:
    """The pixel rows of the provenance note (the lowest band of the note's dark red, #7f0000; empty for a
    figure without it: a message that there is nothing to plot, or a forest plot, whose note is in its black
    footnote) and how many other dark pixels lie in or below those rows."""
    from PIL import Image

    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    note = (red >= 100) & (red <= 150) & (green < 30) & (blue < 30)
    ink = (pixels.max(axis=2) < 110) & (np.abs(red - green) < 40) & (np.abs(green - blue) < 40)
    rows = np.flatnonzero(note.any(axis=1))
    if not rows.size or rows[-1] < 0.9 * len(pixels):  # none, or red marks in the figure (a risk-of-bias cross)
        return range(0), 0
    top = rows[-1]
    while top - 1 in set(rows) or top - 2 in set(rows):
        top -= 1 if top - 1 in set(rows) else 2
    return range(top, rows[-1] + 1), int(ink[top:].sum())


def test_the_simulated_note_lies_below_everything_in_every_figure(review):
    """The provenance note's rows hold nothing else: the prior-sensitivity figure's legend, placed again by
    constrained layout in the tight box that includes the note, had its last row on the note."""
    figures = sorted((review / "results").rglob("*.png"))
    assert len(figures) > 20
    crowded, noted = {}, 0
    for path in figures:
        band, other = _note_rows_and_ink_below(path)
        noted += len(band) > 3
        if other:
            crowded[path.relative_to(review).as_posix()] = other
    assert noted > 20 and "bayes_prior_sensitivity" in str(figures), noted
    assert not crowded, crowded


def test_a_key_no_analysis_reads_reruns_the_report_that_shows_it(review):
    """The report shows the whole config (its provenance section) and reads it for its methods: a key that reruns
    no other job (multiverse.progress_every, a batch's log only) reruns the report alone; it was left showing the
    old value."""
    assert "progress_every: 500" in (review / "results" / "report.html").read_text(encoding="utf-8")
    command = [str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(review), "--cores", "1",
               "--dry-run", "--config", "multiverse={progress_every: 100}"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    planned = set(re.findall(r"^(?:local)?rule (\w+):", result.stdout, flags=re.M))
    assert planned - {"all"} == {"report"}, result.stdout
