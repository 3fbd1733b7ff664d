"""Transformations between effect-size metrics.

References: Borenstein, Hedges, Higgins & Rothstein (2009), *Introduction to
Meta-Analysis*, ch. 6-7; metafor's ``transf.ztor``, ``transf.rtoz``.
"""

from __future__ import annotations

import numpy as np

LOGIT_SCALE = np.pi / np.sqrt(3.0)
#: the analysis metrics in words, for axis labels and notes (not the config's codes "z", "smd", "log_or")
METRIC_NAMES = {"z": "Fisher's z", "smd": "Hedges' g", "log_or": "log odds ratio"}


def fisher_z(r):
    """Fisher's z = atanh(r) (Borenstein et al. 2009, eq. 6.2)."""
    return np.arctanh(np.asarray(r, dtype=float))


def inverse_fisher_z(z):
    """r = tanh(z) (Borenstein et al. 2009, eq. 6.4)."""
    return np.tanh(np.asarray(z, dtype=float))


def d_to_r(d, n1=None, n2=None):
    """r = d / sqrt(d^2 + a), a = (n1 + n2)^2 / (n1 n2); a = 4 without group sizes (eq. 7.5)."""
    d = np.asarray(d, dtype=float)
    a = 4.0 if n1 is None or n2 is None else (np.asarray(n1) + np.asarray(n2)) ** 2 / (np.asarray(n1) * np.asarray(n2))
    return d / np.sqrt(d**2 + a)


def d_to_log_odds_ratio(d):
    """log OR = d * pi / sqrt(3) (Hasselblad & Hedges 1995; Borenstein et al. 2009, eq. 7.3)."""
    return np.asarray(d, dtype=float) * LOGIT_SCALE


def log_odds_ratio_to_d(log_or):
    """d = log OR * sqrt(3) / pi (Borenstein et al. 2009, eq. 7.1)."""
    return np.asarray(log_or, dtype=float) / LOGIT_SCALE


def back_transform(values, metric: str) -> dict[str, np.ndarray]:
    """Equivalents of values in an analysis metric that readers know.

    ``z`` gives ``r``; ``smd`` gives ``r`` (equal groups) and ``or``; ``log_or``
    gives ``or`` and ``r`` (through d). Returns a dict of arrays keyed by the
    prefix used in output columns.
    """
    values = np.asarray(values, dtype=float)
    if metric == "z":
        return {"r": inverse_fisher_z(values)}
    with np.errstate(over="ignore"):  # an odds ratio beyond 1.8e308 (a vague predictive bound) is inf
        if metric == "smd":
            return {"r": d_to_r(values), "or": np.exp(d_to_log_odds_ratio(values))}
        if metric == "log_or":
            return {"or": np.exp(values), "r": d_to_r(log_odds_ratio_to_d(values))}
    raise ValueError(f"unknown analysis metric {metric!r}; expected z, smd or log_or")
