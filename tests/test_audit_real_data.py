"""Problems an audit found running the default target on real published data (metadat's dat.molloy2014,
dat.craft2003, dat.bcg, dat.bakdash2021), each checked here on the data or on a small frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alliance_meta as am

REFERENCE = Path(__file__).parent / "reference"


def molloy() -> tuple[np.ndarray, np.ndarray]:
    data = next(d for d in json.loads((REFERENCE / "pooling.json").read_text())["datasets"] if d["name"] == "molloy2014")
    return np.array(data["yi"], float), np.array(data["vi"], float)


def test_the_exact_test_of_excess_significance_is_not_called_not_estimable():
    """metafor's tes() uses the exact test here: a p-value without a statistic, which the battery stamped
    'not estimable: undefined for these data' (molloy2014: p = .2110, as metafor)."""
    table = am.publication_bias(am.fit(*molloy(), metric="z")).to_frame().set_index("test")
    assert np.isnan(table.loc["tes", "statistic"]) and np.isfinite(table.loc["tes", "p"])
    assert "not estimable" not in table.loc["tes", "note"]
