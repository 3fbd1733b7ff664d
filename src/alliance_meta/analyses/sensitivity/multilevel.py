"""Sensitivity analyses of the three-level model: leave-one-study-out, Cook's distance and
DFBETAS by study, cumulative meta-analysis by study.

The unit of deletion and of addition is the **study** (all its effect sizes), the cluster of
``rma.mv(yi, V, random = ~ 1 | study_id / es_id)``: deleting one effect size of a study would
leave its other, dependent rows in the model. Each refit re-estimates sigma2_between and
sigma2_within by the same method with the same sampling correlation ``rho``
(:func:`alliance_meta.models.multilevel.fit_prepared`), warm-started at the full fit's variance
components (metafor's ``control$sigma2.init``, as ``cooks.distance.rma.mv`` does); a warm
start that fails falls back to metafor's default start. Rows stay sorted by study, so a
subset is a slice of the prepared arrays (no re-sorting), and each refit is O(k).

* Leave-one-out: metafor has no ``leave1out`` for ``rma.mv``; the reference is the loop
  ``rma.mv(..., subset = study != s)`` (``tests/reference/multilevel_sensitivity.R``).
* Cook's distance as ``cooks.distance.rma.mv(x, cluster = study)`` (Viechtbauer & Cheung
  2010, *Res Synth Methods* 1, 112-125): (b - b_(-j))' V_b^-1 (b - b_(-j)) with V_b of the
  full fit; DFBETAS as ``dfbetas.rma.mv(x, cluster = study)``: (b - b_(-j)) / sqrt(V_b) with
  V_b of the full data at the variance components of the fit without study j. A study is
  flagged ``influential`` by the ``influence.rma.uni`` rules for these two measures
  (P(chi^2_1 <= D) > .5 or |DFBETAS| > 1); metafor defines no flag for ``rma.mv``.
* Cumulative: studies ordered by their earliest ``year`` (ties: order of first appearance,
  missing years last, as R's ``order``), step j fits the first j studies. A step with one
  study fixes sigma2_between = 0 (metafor: "single-level factor ... fixed to 0"); a first step of
  one effect size (where ``rma.mv`` stops: "k <= 1"; metafor has no ``cumul`` for ``rma.mv``) is
  fitted as ``am.fit`` fits one effect size: both sigma^2 fixed to 0, the effect size with its
  sampling variance, as the univariate cumulative table's first step.

The Baujat plot is not defined for three-level models (metafor's ``baujat`` refuses
``rma.mv``: its x-axis is a per-row contribution to Q under independent errors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_meta.engines import distributions as dist
from alliance_meta.models import multilevel
from alliance_meta.models.fits import multilevel_inference
from alliance_meta.engines.study_blocks import StudyBlocks
from alliance_meta.analyses.results import with_back_transform

NOT_FITTED = "one effect size: the three-level model cannot be fitted (k <= 1)"


def keep_studies(data: multilevel.MultilevelData, keep: np.ndarray) -> multilevel.MultilevelData:
    """The prepared data restricted to the studies where ``keep`` (one flag per study) is True."""
    keep = np.asarray(keep, bool)
    rows = keep[data.blocks.study_of_row]
    sizes = data.blocks.sizes[keep]
    blocks = StudyBlocks(np.arange(int(sizes.sum())), np.concatenate(([0], np.cumsum(sizes)[:-1])), sizes,
                         np.repeat(np.arange(sizes.size), sizes), data.blocks.study_ids[keep])
    return multilevel.MultilevelData(data.yi[rows], data.vi[rows], data.X[rows], blocks, data.rho, data.names)


def _warm_start(sigma2):
    """The full fit's components as start; None (metafor's start) when both are 0."""
    sigma2 = np.asarray(sigma2, float)
    return sigma2.copy() if np.any(sigma2 > 0) else None


def refit(data: multilevel.MultilevelData, method: str, level: float, start=None, test: str = "z",
          one_effect_size: bool = False) -> dict:
    """One intercept-only refit on a subset: the row of leave_one_out.csv / cumulative.csv, its interval and test
    under ``test`` (z, t or cr2, as the fit's: :func:`alliance_meta.models.fits.multilevel_inference`).
    One effect size: not fitted (:data:`NOT_FITTED`, as ``rma.mv``), or with ``one_effect_size`` fitted as
    ``am.fit`` fits it (both sigma^2 fixed to 0: the effect size with its sampling variance, and its note)."""
    row = {"k": data.k, "n_studies": data.blocks.n_studies}
    if data.k <= 1 and not one_effect_size:
        return row | {"converged": False, "note": NOT_FITTED}
    single = data.blocks.n_studies == 1 and data.k > 1
    fixed = (0.0, None) if single else (None, None)
    if data.k <= 1:  # fit_prepared fixes both single-level components
        start = None
    elif single and start is not None:
        start = np.array([0.0, start[1] if start[1] > 0 else max(start[0], 1e-4)])
    fit = multilevel.fit_prepared(data, method=method, level=level, sigma2=fixed, profile=False,
                                  likelihood_ratio=False, start=start)
    estimate = float(fit.beta[0])
    se, df = multilevel_inference(fit, test)
    alpha = 1.0 - level / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = float(np.divide(estimate, se))
    if math.isinf(df):
        critical, p = dist.norm.isf(alpha / 2), float(2 * dist.norm.sf(abs(statistic)))
    elif df > 0:
        critical, p = dist.t.isf(alpha / 2, df), float(2 * dist.t.sf(abs(statistic), df))
    else:  # no df: CR2 of one study, or t with k - p = 0
        critical, p = math.nan, math.nan
    total = float(np.sum(fit.sigma2))
    i2 = float(fit.i2[0])
    return row | {
        "estimate": estimate, "se": se, "ci_lower": estimate - critical * se, "ci_upper": estimate + critical * se,
        "tau2": total, "i2": i2, "h2": 100.0 / (100.0 - i2) if i2 < 100 else math.inf,
        "q": fit.qe, "q_p": fit.qe_p, "statistic": statistic, "p": p,
        "sigma2_between": float(fit.sigma2[0]), "sigma2_within": float(fit.sigma2[1]),
        "i2_between": float(fit.i2[1]), "i2_within": float(fit.i2[2]), "converged": fit.converged,
        "note": "sigma2_between fixed to 0 (one study)" if single else fit.note if data.k <= 1 else "",
    }


def _first_rows(study_id) -> tuple[np.ndarray, np.ndarray]:
    """Study labels in order of first appearance and the data row where each first appears."""
    labels = pd.Series(np.asarray(study_id).astype(str))
    first = labels.drop_duplicates()
    return first.to_numpy(), first.index.to_numpy()


@dataclass(frozen=True)
class MultilevelInfluence:
    """The full three-level fit and its study-deletion diagnostics (studies in order of first appearance)."""

    full: multilevel.MultilevelResult
    study_id: np.ndarray
    k_effect_sizes: np.ndarray
    deletions: pd.DataFrame  # leave-one-study-out fits
    cook_distance: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray

    @property
    def tau2(self) -> float:
        return float(np.sum(self.full.sigma2))

    def to_frame(self) -> pd.DataFrame:
        """``influence.csv`` under multilevel: one row per study."""
        d = self.deletions
        return pd.DataFrame({
            "study_id": self.study_id, "k_effect_sizes": self.k_effect_sizes, "cook_d": self.cook_distance,
            "dfbetas": self.dfbetas, "estimate_del": d["estimate"].to_numpy(), "tau2_del": d["tau2"].to_numpy(),
            "sigma2_between_del": d["sigma2_between"].to_numpy(), "sigma2_within_del": d["sigma2_within"].to_numpy(),
            "qe_del": d["q"].to_numpy(), "influential": self.influential, "converged": d["converged"].to_numpy()},
            columns=list(INFLUENCE_COLUMNS))


INFLUENCE_COLUMNS = ("study_id", "k_effect_sizes", "cook_d", "dfbetas", "estimate_del", "tau2_del",
                     "sigma2_between_del", "sigma2_within_del", "qe_del", "influential", "converged")


def leave_one_study_out(yi, vi, study_id, *, method: str = "REML", rho: float = 0.0, level: float = 95.0,
                        metric: str | None = None, test: str = "z") -> MultilevelInfluence:
    """Refit the three-level model without each study in turn (intervals and tests under ``test``: z, t or
    cr2); Cook's distance and DFBETAS (model-based, as metafor's, whatever the test)."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    labels = np.asarray(study_id).astype(str)
    data = multilevel.prepare(yi, vi, labels, rho=rho)
    reml = method == "REML"
    full = multilevel.fit_prepared(data, method=method, level=level, profile=False, likelihood_ratio=False)
    start = _warm_start(full.sigma2)
    ids, _ = _first_rows(labels)
    index = {label: j for j, label in enumerate(data.blocks.study_ids.astype(str))}
    rows, cook, dfbetas = [], np.full(ids.size, np.nan), np.full(ids.size, np.nan)
    variance = float(full.vcov[0, 0])
    for position, label in enumerate(ids):
        keep = np.ones(data.blocks.n_studies, bool)
        keep[index[label]] = False
        row = refit(keep_studies(data, keep), method, level, start, test)
        rows.append({"study_id": label} | row)
        if "estimate" in row:
            difference = float(full.beta[0]) - row["estimate"]
            cook[position] = difference**2 / variance
            at_deleted = multilevel.evaluate(data, (row["sigma2_between"], row["sigma2_within"]), reml)
            dfbetas[position] = difference / math.sqrt(at_deleted.vcov[0, 0])
    deletions = with_back_transform(_order_columns(pd.DataFrame(rows)), metric)
    influential = (dist.chi2.cdf(np.nan_to_num(cook), 1) > 0.5) | (np.abs(np.nan_to_num(dfbetas)) > 1)
    sizes = data.blocks.sizes[[index[label] for label in ids]]
    return MultilevelInfluence(full, ids, sizes, deletions, cook, dfbetas, influential)


def cumulative(yi, vi, study_id, year=None, *, method: str = "REML", rho: float = 0.0, level: float = 95.0,
               metric: str | None = None, test: str = "z") -> pd.DataFrame:
    """Cumulative three-level meta-analysis: add studies (all their rows) by earliest year; intervals and tests
    under ``test`` (z, t or cr2).

    ``position`` is the data row where the added study first appears, counted from 1 (for labels:
    :func:`~alliance_meta.analyses.sensitivity.univariate.added_rows`).
    """
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    labels = np.asarray(study_id).astype(str)
    data = multilevel.prepare(yi, vi, labels, rho=rho)
    full = multilevel.fit_prepared(data, method=method, level=level, profile=False, likelihood_ratio=False)
    start = _warm_start(full.sigma2)
    ids, first = _first_rows(labels)
    years = (pd.Series(np.asarray(year, float) if year is not None else np.full(labels.size, np.nan))
             .groupby(labels, sort=False).min().reindex(ids).to_numpy())
    order = np.asarray(pd.Series(years).sort_values(kind="stable", na_position="last").index)
    index = {label: j for j, label in enumerate(data.blocks.study_ids.astype(str))}
    keep = np.zeros(data.blocks.n_studies, bool)
    rows = []
    for step, position in enumerate(order, start=1):
        keep[index[ids[position]]] = True
        row = refit(keep_studies(data, keep), method, level, start, test, one_effect_size=True)
        rows.append({"study_id": ids[position], "position": int(first[position]) + 1, "step": step,
                     "year": years[position]} | row)
    return with_back_transform(_order_columns(pd.DataFrame(rows)), metric)


def _order_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Contract columns first; NaN for fits that did not run (k <= 1)."""
    front = [c for c in ("study_id", "position", "step", "year") if c in frame]
    rest = ["estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q", "q_p", "statistic", "p",
            "sigma2_between", "sigma2_within", "i2_between", "i2_within", "k", "n_studies", "converged", "note"]
    frame = frame.reindex(columns=front + rest)
    frame["note"] = frame["note"].fillna("")
    return frame


def sensitivity_tables(data: pd.DataFrame, method: str = "REML", metric: str | None = None, level: float = 95.0,
                       rho: float = 0.0, test: str = "z"):
    """``leave_one_out``, ``influence`` and ``cumulative`` tables of a family's effect sizes
    under ``dependence: multilevel`` (``study_id``, ``yi``, ``vi``, optional ``year``) and the
    :class:`MultilevelInfluence` result.

    With 2 studies each deletion leaves one study: its effect sizes are fitted with sigma2_between
    fixed to 0, or, when it has a single effect size, not at all (a row of NaN with a note; metafor's
    ``cooks.distance`` / ``dfbetas.rma.mv`` give NA). With one study the leave-one-out and influence
    tables are empty (their full headers) and the result None (deleting it leaves no data; metafor's
    ``leave1out`` and ``influence`` stop at k = 1); the cumulative table has its one row. No rows:
    every table empty."""
    leave_one_out_header = with_back_transform(_order_columns(pd.DataFrame(columns=["study_id"])), metric)
    no_influence = pd.DataFrame(columns=list(INFLUENCE_COLUMNS))
    if not len(data):
        return (leave_one_out_header, no_influence,
                pd.DataFrame(columns=["study_id", "k", "estimate"]), None)
    yi, vi, ids = data["yi"].to_numpy(float), data["vi"].to_numpy(float), data["study_id"].to_numpy()
    result = (leave_one_study_out(yi, vi, ids, method=method, rho=rho, level=level, metric=metric, test=test)
              if data["study_id"].nunique() > 1 else None)
    table = cumulative(yi, vi, ids, data["year"] if "year" in data else None, method=method, rho=rho,
                       level=level, metric=metric, test=test)
    if result is None:
        return leave_one_out_header, no_influence, table, None
    return result.deletions, result.to_frame(), table, result
