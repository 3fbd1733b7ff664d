"""Dependent effect sizes: one composite per study (or per study x moderator level).

Two composites of the m effect sizes y_1..y_m of a group with sampling variances
v_1..v_m and an assumed correlation rho between their sampling errors, i.e. the
compound-symmetric covariance V_ij = rho sqrt(v_i v_j), V_ii = v_i:

- ``gls``: the inverse-variance GLS composite, y = 1'V^-1 y / 1'V^-1 1, v = 1 / 1'V^-1 1,
  as metafor's ``aggregate.escalc(struct = "CS", rho, weighted = TRUE)``.
  With V = S R S, S = diag(sqrt(v)), R = (1 - rho) I + rho 11', the inverse has the closed
  form R^-1 = (I - c 11') / (1 - rho), c = rho / (1 + (m - 1) rho), so with u_i = 1/sqrt(v_i)
  1'V^-1 1 = (sum u_i^2 - c (sum u_i)^2) / (1 - rho),
  1'V^-1 y = (sum u_i^2 y_i - c (sum u_i)(sum u_i y_i)) / (1 - rho):
  group sums only, O(k) time and memory, no matrices.
  Needs -1/(m - 1) < rho < 1 (V positive definite) for groups of m > 1 rows.
- ``mean``: Borenstein, Hedges, Higgins & Rothstein (2009), ch. 24: the simple mean with
  v = (1/m)^2 (sum v_i + sum_{i != j} rho sqrt(v_i v_j)) = (sum v_i + rho ((sum sqrt v_i)^2 - sum v_i)) / m^2
  (metafor's ``weighted = FALSE``; AC Del Re's MAc ``agg``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from alliance_meta.inputs.codebook import ARTIFACT_COLUMNS, IDENTIFIER_COLUMNS, INPUT_COLUMNS, SIGN_COLUMNS
from alliance_meta.inputs.effect_sizes import CITATION_YEAR, default_labels
from alliance_meta.wording import counted, did_you_mean, plural, rows_phrase

METHODS = ("gls", "mean")
MIXED = "mixed"
STUDY_COLUMNS = ("authors", "year", CITATION_YEAR, "label")
ROW_COLUMNS = ("es_id",)
"""Columns that identify single effect sizes and are dropped from the composite."""


def aggregate(frame: pd.DataFrame, method: str = "gls", rho: float = 0.5,
              by: Sequence[str] = ("study_id",)) -> pd.DataFrame:
    """Collapse the rows of ``frame`` (``yi``, ``vi``) into one composite per ``by`` group.

    Columns: the ``by`` columns, ``yi``, ``vi``, ``n`` (the largest n of the group: the
    effect sizes come from one sample, whose size is that of its largest analysis),
    ``k_effect_sizes``, ``authors``, ``year``, ``citation_year`` (the group's first non-missing values),
    ``label`` (the rows' label when they all agree, else ``authors (year)`` or the
    study_id, with the other ``by`` values appended), then every other column except ``es_id``: the group's value when all its
    non-missing values agree, ``mixed`` when they differ, missing when all are missing.
    Rows with a missing yi or vi are left out (metafor's ``na.rm = TRUE``). Groups keep
    the order of their first row.
    """
    if method not in METHODS:
        raise ValueError(f"unknown aggregation method {method!r}{did_you_mean(method, METHODS)}; expected one of "
                         f"{METHODS}")
    by = list(by)
    missing = [c for c in by + ["yi", "vi"] if c not in frame.columns]
    if missing:
        raise KeyError(f"aggregate needs the columns {missing}")
    data = frame.loc[frame["yi"].notna() & frame["vi"].notna()].reset_index(drop=True)
    yi = data["yi"].to_numpy(dtype=float)
    vi = data["vi"].to_numpy(dtype=float)
    groups = data.groupby(by, sort=False, dropna=False)
    codes = groups.ngroup().to_numpy()
    composite_yi, composite_vi, m = _composites(codes, groups.ngroups, yi, vi, method, rho)
    first_rows = groups.head(1).reset_index(drop=True)
    result = first_rows[by].assign(yi=composite_yi, vi=composite_vi)
    result["n"] = groups["n"].max().to_numpy() if "n" in data.columns else np.nan
    result["k_effect_sizes"] = m.astype(int)
    for column in STUDY_COLUMNS[:-1]:  # before the label, which cites them
        if column in data.columns:
            result[column] = groups[column].first().to_numpy()
    if "label" in data.columns:
        common = pd.Series(_common_value(data["label"], codes, groups.ngroups), dtype=object)
        result["label"] = common.where(~common.isin([MIXED]) & common.notna(), _group_labels(result, by))
    else:
        result["label"] = _group_labels(result, by)
    skip = set(by) | {"yi", "vi", "n", "k_effect_sizes"} | set(STUDY_COLUMNS) | set(ROW_COLUMNS)
    others = {column: pd.Series(_common_value(data[column], codes, groups.ngroups), index=result.index, dtype=object)
              for column in data.columns if column not in skip}
    return pd.concat([result, pd.DataFrame(others, index=result.index)], axis=1) if others else result


def composite_effects(study_id, yi, vi, method: str = "gls", rho: float = 0.5):
    """(yi, vi, number of effect sizes) of each study's composite, studies in the order of their first
    row: the numbers of :func:`aggregate` without its table (for the many data sets of a multiverse).
    Rows with a missing yi or vi are left out, as there."""
    if method not in METHODS:
        raise ValueError(f"unknown aggregation method {method!r}{did_you_mean(method, METHODS)}; expected one of "
                         f"{METHODS}")
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    complete = ~(np.isnan(yi) | np.isnan(vi))
    codes, uniques = pd.factorize(np.asarray(study_id)[complete], sort=False)  # in order of first appearance
    composite_yi, composite_vi, m = _composites(codes, uniques.size, yi[complete], vi[complete], method, rho)
    return composite_yi, composite_vi, m.astype(int)


def _composites(codes: np.ndarray, size: int, yi: np.ndarray, vi: np.ndarray, method: str, rho: float):
    """Composite yi and vi and group sizes m from group codes 0..size-1 (group sums in row order)."""
    if (vi <= 0).any():
        raise ValueError("sampling variances must be positive")
    m = np.bincount(codes, minlength=size).astype(float)
    sums = {name: np.bincount(codes, weights=values, minlength=size)
            for name, values in {"v": vi, "s": np.sqrt(vi), "u": 1 / np.sqrt(vi), "w": 1 / vi,
                                 "wy": yi / vi, "uy": yi / np.sqrt(vi), "y": yi}.items()}
    if method == "gls":
        with np.errstate(divide="ignore", invalid="ignore"):
            composite_yi, composite_vi = _gls(sums, m, rho)
    else:
        composite_yi = sums["y"] / m
        composite_vi = (sums["v"] + rho * (sums["s"] ** 2 - sums["v"])) / m**2
    return composite_yi, composite_vi, m


def _group_labels(result: pd.DataFrame, by: list[str]) -> pd.Series:
    """``authors (year)`` of a study (else its study_id), with any other ``by`` values appended."""
    if "study_id" in by:
        labels = default_labels(result).astype(str)
        for column in (c for c in by if c != "study_id"):
            labels = labels + ", " + result[column].astype(str)
        return labels
    return result[by].astype(str).agg(", ".join, axis=1)


def check_rho(rho: float, sizes) -> None:
    """ValueError unless the compound-symmetric covariance of every group of ``sizes`` rows with correlation
    ``rho`` is positive definite: -1/(m - 1) < rho < 1 for each group of m > 1 rows."""
    m = np.asarray(sizes)
    multiple = m > 1
    if multiple.any() and not (rho < 1 and (1 + (m[multiple] - 1) * rho > 0).all()):
        raise ValueError(f"rho = {rho} makes the compound-symmetric covariance of a study's "
                         f"effect sizes singular or indefinite (need -1/(m - 1) < rho < 1; the largest study has "
                         f"m = {int(m.max())} effect sizes)")


def _gls(sums: dict[str, np.ndarray], m: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """GLS composite under compound symmetry from group sums (closed-form inverse of R)."""
    check_rho(rho, m)
    c = rho / (1 + (m - 1) * rho)
    # the common factor 1/(1 - rho) cancels in yi; in vi it stays (and is exact for m = 1: c = rho)
    precision = (sums["w"] - c * sums["u"] ** 2) / (1 - rho) if rho != 1 else sums["w"]
    weighted_sum = (sums["wy"] - c * sums["u"] * sums["uy"]) / (1 - rho) if rho != 1 else sums["wy"]
    single = m == 1  # a study with one effect size keeps it exactly
    return (np.where(single, sums["y"], weighted_sum / precision),
            np.where(single, sums["v"], 1 / precision))


def _common_value(column: pd.Series, codes: np.ndarray, size: int) -> np.ndarray:
    """Each group's value of ``column`` (groups ``codes`` 0..size-1 of its rows), as objects: the group's first
    non-missing value when its non-missing values agree, ``mixed`` when they differ, NaN when all are missing.
    Missing and equal as pandas' ``SeriesGroupBy.nunique`` and ``first`` have them (values equal when
    ``pd.factorize`` gives them one code), in one pass over the rows instead of two grouped calls per column."""
    value_codes = pd.factorize(column, use_na_sentinel=True)[0]
    rows = np.flatnonzero(value_codes >= 0)
    first = np.full(size, len(codes))
    np.minimum.at(first, codes[rows], rows)  # each group's first row with a value (len(codes): none)
    present = first < len(codes)
    differs = np.zeros(size, dtype=bool)
    differs[codes[rows[value_codes[rows] != value_codes[first[codes[rows]]]]]] = True
    values = np.full(size, np.nan, dtype=object)
    values[present] = column.astype(object).to_numpy()[first[present]]
    values[differs] = MIXED
    return values


DEPENDENCE = ("aggregate", "multilevel")

#: The codebook's columns of an effect-size input, its sign and its artifacts, every one of which a family's
#: files have (empty where the sheet has none; :func:`with_every_input_column`).
STATISTIC_COLUMNS = INPUT_COLUMNS + SIGN_COLUMNS + ARTIFACT_COLUMNS

#: What the analyses of the effects alone read (pooling, publication bias, selection models, sensitivity,
#: GOSH, RVE, model averaging, the prior sensitivity): the rows' ids and labels, the effect and the
#: statistics it was computed from, and the ``simulated`` flag of the demo. Not the moderators, the
#: risk of bias or a reviewer's own columns, so that correcting those in the sheet reruns none of them.
EFFECT_COLUMNS = tuple(dict.fromkeys(IDENTIFIER_COLUMNS + (CITATION_YEAR, "family", "yi", "vi", "metric", "input_kind",
                                                           "conversion") + STATISTIC_COLUMNS + ("simulated",)))


def with_every_input_column(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the identifier, ``citation_year`` and ``family`` columns it has, then every
    :data:`STATISTIC_COLUMNS` column in the codebook's order (empty where ``rows`` has none), then its other
    columns in their own order.

    A family's files are then the same when the sheet gains a column only another family's rows use (the d,
    n1 and n2 of the first dropout rows in a review of correlations), so none of that family's jobs rerun."""
    first = [column for column in (*IDENTIFIER_COLUMNS, CITATION_YEAR, "family") if column in rows.columns]
    rest = [column for column in rows.columns if column not in {*first, *STATISTIC_COLUMNS}]
    return rows.reindex(columns=[*first, *STATISTIC_COLUMNS, *rest])


def effects_only(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the :data:`EFFECT_COLUMNS` it has, in its own column order."""
    return rows[[column for column in rows.columns if column in EFFECT_COLUMNS]]


def usable_effects(rows: pd.DataFrame) -> np.ndarray:
    """The rows with a finite yi and vi, those the analyses pool (an |r| of 1 and the like are left out); every
    row when ``rows`` has no yi and vi."""
    if not {"yi", "vi"} <= set(rows.columns):
        return np.ones(len(rows), dtype=bool)
    values = rows[["yi", "vi"]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    return np.isfinite(values).all(axis=1)


def prepare_family(effect_sizes: pd.DataFrame, family: str, dependence: str = "aggregate",
                   method: str = "gls", rho: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The rows of one family and the rows that are pooled, with notes for the log.

    Returns (``effect_sizes``: the family's rows with a finite yi and vi; ``analysis``:
    one :func:`aggregate` composite per study under ``dependence = "aggregate"``, the same
    rows (with ``es_id``) under ``"multilevel"``; notes). Rows without a usable effect
    are left out with a note; a family without rows gives empty tables with headers.
    """
    if dependence not in DEPENDENCE:
        raise ValueError(f"unknown dependence {dependence!r}{did_you_mean(dependence, DEPENDENCE)}; expected one of "
                         f"{DEPENDENCE}")
    notes = []
    family_column = effect_sizes["family"] if "family" in effect_sizes.columns else pd.Series("outcome", index=effect_sizes.index)
    rows = effect_sizes.loc[family_column == family]
    usable = usable_effects(rows)
    if not usable.all():
        left_out = rows.loc[~usable]
        where = rows_phrase(left_out.get("sheet_row", left_out.index))
        notes.append(f"{len(left_out)} {plural(len(left_out), 'row')} of family {family} without a usable effect "
                     f"size left out (sheet {where})")
    rows = rows.loc[usable].reset_index(drop=True)
    if rows.empty:
        notes.append(f"family {family} has no effect sizes: tables with headers only")
    if dependence == "multilevel":
        analysis = rows
    else:
        analysis = aggregate(rows, method=method, rho=rho)
        notes.append(f"family {family}: {counted(len(rows), 'effect size')} aggregated into "
                     f"{counted(len(analysis), 'study composite')} ({method}, rho = {rho})")
    return rows, analysis, notes


def studies_of(effect_sizes: pd.DataFrame, options: dict) -> pd.DataFrame:
    """One composite per study (what univariate analyses of any model see), with the ``aggregate_method``
    and ``rho`` of a fit's ``options`` (:func:`alliance_meta.models.fits.fit_options`)."""
    if len(effect_sizes) == 0:
        return effect_sizes
    return aggregate(effect_sizes, method=options["aggregate_method"], rho=options["rho"])
