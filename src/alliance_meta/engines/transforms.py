"""Transformations between effect-size metrics.

References: Borenstein, Hedges, Higgins & Rothstein (2009), *Introduction to
Meta-Analysis*, ch. 6-7; metafor's ``transf.ztor``, ``transf.rtoz``.
"""

from __future__ import annotations

import math

import numpy as np

from alliance_meta.wording import did_you_mean

LOGIT_SCALE = np.pi / np.sqrt(3.0)


class OddsRatioD(str):
    """The metric code ``smd`` of a family whose every effect size is d = log OR sqrt(3)/pi from an odds ratio
    (Hasselblad & Hedges 1995), which carries no small-sample correction: its pooled effects are Cohen's d, not
    Hedges' g. It equals ``"smd"`` (every computation treats it as ``smd``); only the labels of :class:`ByMetric`
    tell it apart. Made by :func:`family_metric`."""

    def __new__(cls, value: str = "smd"):
        return super().__new__(cls, value)

    def __reduce__(self):
        return OddsRatioD, (str(self),)


class ByMetric(dict):
    """Labels keyed by metric code, with the label of an odds-ratio-only ``smd`` family (:class:`OddsRatioD`)
    beside them: ``labels[metric]`` is the one switch between Hedges' g and Cohen's d."""

    def __init__(self, labels: dict, odds_ratio_d):
        super().__init__(labels)
        self.odds_ratio_d = odds_ratio_d

    def __getitem__(self, metric):
        return self.odds_ratio_d if isinstance(metric, OddsRatioD) else super().__getitem__(metric)

    def get(self, metric, default=None):
        return self[metric] if metric in self else default


#: the analysis metrics in words, for axis labels and notes (not the config's codes "z", "smd", "log_or")
METRIC_NAMES = ByMetric({"z": "Fisher's z", "smd": "Hedges' g", "log_or": "log odds ratio"},
                        "Cohen's d from log odds ratios")


def odds_ratio_kinds() -> frozenset[str]:
    """The input kinds converted through a log odds ratio (``effect_sizes.BASE_SCALE``: counts, or_ci, log_or_se)."""
    from alliance_meta.inputs.effect_sizes import BASE_SCALE

    return frozenset(kind for kind, scale in BASE_SCALE.items() if scale == "log_or")


def family_metric(metric: str, kinds, family: str | None = None) -> str:
    """A family's metric code as its labels need it: :class:`OddsRatioD` (Cohen's d) when the metric is ``smd`` and
    every one of the family's effect sizes comes from an odds ratio (``kinds``: the ``input_kind`` of each row, as
    in ``data/processed/{family}/effects.csv``), else ``metric`` itself (Hedges' g when at least one row is a
    bias-corrected SMD; the Methods explain the odds-ratio rows of a mixed family).

    ``kinds`` may be a frame with an ``input_kind`` column (and with ``family``, that family's rows of a frame
    with a ``family`` column, as ``data/processed/effect_sizes.csv``)."""
    if metric != "smd":
        return metric
    if hasattr(kinds, "columns"):
        if family is not None and "family" in kinds.columns:
            kinds = kinds[kinds["family"] == family]
        kinds = kinds["input_kind"] if "input_kind" in kinds.columns else ()
    present = {kind for kind in kinds if isinstance(kind, str) and kind}
    if not present:  # no input kinds to go by (a frame without the column): the metric as it was given
        return metric
    return OddsRatioD(metric) if present <= odds_ratio_kinds() else str(metric)


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


#: metafor's names of the back-transformations (``predict(x, transf = exp)``), per analysis metric, and the scale of
#: :func:`back_transform` each gives: tanh (``transf.ztor``) of Fisher's z is r; ``transf.dtorpb`` of an SMD without
#: group sizes is r with equal groups; exp of a log odds ratio is the odds ratio
METAFOR_TRANSFORMS = {"z": {"transf.ztor": "r", "ztor": "r", "tanh": "r"},
                      "smd": {"transf.dtorpb": "r"},
                      "log_or": {"exp": "or"}}
#: the functions themselves, as ``transform=np.exp`` writes R's ``transf = exp``
_FUNCTIONS = {np.exp: "exp", math.exp: "exp", np.tanh: "tanh", math.tanh: "tanh"}


def transform_scale(transform, metric: str) -> str | None:
    """The scale of :func:`back_transform` of ``metric`` that ``transform`` names: a prefix of its columns (``r``,
    ``or``) or metafor's name of the function (:data:`METAFOR_TRANSFORMS`: ``exp`` of ``log_or``, ``transf.ztor``,
    ``ztor`` or ``tanh`` of ``z``; ``np.exp``, ``np.tanh`` too); None for ``metric`` itself (nothing to transform).
    ValueError naming the choices otherwise, with a did-you-mean."""
    if isinstance(transform, str) and transform == metric:
        return None
    name = _FUNCTIONS.get(transform, transform) if callable(transform) else transform
    scales = list(back_transform([0.0], metric))
    aliases = METAFOR_TRANSFORMS.get(str(metric), {})
    if isinstance(name, str) and (name in scales or name in aliases):
        return aliases.get(name, name)
    others = [other for other, names in METAFOR_TRANSFORMS.items()
              if isinstance(name, str) and (name in names or name in back_transform([0.0], other))]
    expected = ", ".join(scales) + (f" (or metafor's {', '.join(aliases)})" if aliases else "")
    hint = (f" (it back-transforms {' and '.join(others)})" if others else
            did_you_mean(name, [*scales, *aliases]) if isinstance(name, str) else "")
    raise ValueError(f"transform={transform!r} is not a scale of metric {str(metric)!r}{hint}; expected one of "
                     f"{expected}")
