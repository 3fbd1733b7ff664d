"""How each analysis metric is shown to readers: symbol, transform, null value."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from alliance_meta.engines.transforms import ByMetric
from alliance_meta.report.formatting import MINUS, apa_number, apa_scientific


@dataclass(frozen=True)
class Display:
    """A metric as printed: ``r`` from Fisher z, ``g`` from smd, ``OR`` from log OR."""

    symbol: str
    name: str
    transform: Callable
    null: float
    leading_zero: bool

    def number(self, value: float, decimals: int = 2) -> str:
        """A transformed value, APA-rounded (``decimals``, two by default; no leading zero for r); an odds ratio from
        1,000 on with thousands separators, from 10⁶ on as ``1.29 × 10⁸`` (the upper bound of a t CI on 1 df read
        128716144.85)."""
        shown = float(self.transform(value))
        if math.isfinite(shown) and abs(shown) >= 1e6:
            return apa_scientific(shown)
        if math.isfinite(shown) and abs(shown) >= 1000:
            return f"{shown:,.{decimals}f}".replace("-", MINUS)
        return apa_number(shown, decimals, self.leading_zero)

    def interval(self, lower: float, upper: float, decimals: int = 2) -> str:
        """``[.25, .30]`` of two analysis-metric bounds (``decimals`` as :meth:`number`)."""
        return f"[{self.number(lower, decimals)}, {self.number(upper, decimals)}]"

    def with_interval(self, estimate: float, lower: float, upper: float) -> str:
        """``.28 [.25, .30]``; one dash where there is no estimate (an infinite Mantel-Haenszel odds ratio), not
        ``– [–, –]``."""
        if not np.isfinite(self.transform(float(estimate))):
            return "\u2013"
        return f"{self.number(estimate)} {self.interval(lower, upper)}"


#: keyed by metric code; an ``smd`` family whose every row comes from an odds ratio (transforms.family_metric) shows d
DISPLAYS = ByMetric({
    "z": Display("r", "correlation", np.tanh, 0.0, False),
    "smd": Display("g", "Hedges' g", lambda x: np.asarray(x, dtype=float), 0.0, True),
    "log_or": Display("OR", "odds ratio", np.exp, 1.0, True),
}, Display("d", "Cohen's d", lambda x: np.asarray(x, dtype=float), 0.0, True))


def display(metric: str) -> Display:
    """The :class:`Display` of an analysis metric (``z``, ``smd``, ``log_or``)."""
    try:
        return DISPLAYS[metric]
    except KeyError:
        raise ValueError(f"unknown analysis metric {metric!r}; expected one of {sorted(DISPLAYS)}") from None
