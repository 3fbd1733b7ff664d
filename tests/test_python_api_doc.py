"""docs/python-api.md is a worked example: its Python blocks run, in order, on the demo sheet."""

import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "python-api.md"


@pytest.mark.slow
def test_python_api_doc_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace = {"SHEET": str(ROOT / "data" / "raw" / "studies.csv")}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert (tmp_path / "forest.png").stat().st_size > 10_000
    assert (tmp_path / "funnel.png").stat().st_size > 10_000
    assert namespace["fit"].k == namespace["outcome"]["study_id"].nunique()
    assert namespace["three"].k == len(namespace["outcome"])
    assert os.path.exists(tmp_path / "forest.png")
