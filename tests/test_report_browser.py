"""Headless Chromium opens a rendered report: every table and image renders, no console errors,
sheet text shows as text. Skipped only when chromium is not installed (.ci/run installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance_meta.plots.forest import ForestOptions, save_forest_plot
from alliance_meta.models.univariate import pool_all
from alliance_meta.report import methods_paragraph, render_report
from alliance_meta.wording import SIMULATED_DATA

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0"]
HOSTILE = "<script>console.error('injected')</script>"
# Appended to a copy of the report: after load, records what rendered in the DOM for --dump-dom.
PROBE = """<script>window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).length;
  var rows = document.querySelectorAll('table tbody tr').length;
  document.body.setAttribute('data-probe', 'images=' + images.length + ';broken=' + broken + ';rows=' + rows);
});</script>"""

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def chromium(*arguments: str) -> subprocess.CompletedProcess:
    """Run headless Chromium with a fresh profile and no network services."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *arguments], capture_output=True,
                              text=True, timeout=120, env={**os.environ, "HOME": profile})


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(7)
    n = rng.integers(30, 300, 12)
    effect_sizes = pd.DataFrame({
        "study_id": [f"S{i:02d}" for i in range(12)], "family": "outcome", "yi": rng.normal(0.3, 0.1, 12),
        "vi": 1 / (n - 3), "n": n, "authors": [HOSTILE] + [f"Author {i}" for i in range(1, 12)],
        "year": 1990 + np.arange(12), "label": "", "modality": rng.choice(["CBT", "psychodynamic"], 12),
        "simulated": "yes"})
    pooled = pool_all(effect_sizes.yi, effect_sizes.vi, ["DL", "REML"], ["z", "knha"], metric="z")
    images = [folder / "forest.png", folder / "funnel.png"]
    for image in images:
        save_forest_plot(effect_sizes, pooled.iloc[2].to_dict(), "z", [image], options=ForestOptions(dpi=80))
    config = {"moderators": ["modality"], "pooling": {"main_method": "REML", "tests": ["z"], "level": 95}}
    provenance = {"sheet": "studies.csv", "sheet_sha256": "0" * 64, "run_date": "2026-01-01 00:00 UTC",
                  "versions": {"alliance-meta": "0.1.0"}, "config_yaml": "moderators: [modality]\n"}
    html = render_report(sheet=effect_sizes, effect_sizes=effect_sizes, config=config, provenance=provenance,
                         families={"outcome": {"metric": "z", "tables": {"pooled": pooled}, "images": images,
                                               "analysis": effect_sizes}},
                         methods=methods_paragraph(config, set(), provenance["versions"]))
    path = folder / "report.html"
    path.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return path


def test_tables_and_images_render_without_console_errors(report):
    result = chromium("--virtual-time-budget=5000", "--dump-dom", report.as_uri())
    assert 'data-probe="images=' in result.stdout, result.stderr[-2000:]
    probe = dict(item.split("=") for item in result.stdout.split('data-probe="')[1].split('"')[0].split(";"))
    assert probe == {"images": "2", "broken": "0", "rows": probe["rows"]} and int(probe["rows"]) >= 12 + 8
    assert not console_lines(result.stderr), console_lines(result.stderr)
    assert f"{SIMULATED_DATA}." in result.stdout and "&lt;script&gt;console.error" in result.stdout


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def test_console_messages_are_detected(tmp_path):
    page = tmp_path / "error.html"
    page.write_text("<html><body><script>console.error('detected')</script></body></html>")
    assert any("detected" in line for line in console_lines(chromium("--dump-dom", page.as_uri()).stderr))


def test_screenshot(report):
    screenshot = report.with_suffix(".png")
    chromium("--window-size=1200,1600", f"--screenshot={screenshot}", report.as_uri())
    assert screenshot.stat().st_size > 10_000
    shutil.copy(screenshot, Path(tempfile.gettempdir()) / "alliance_meta_report_screenshot.png")
