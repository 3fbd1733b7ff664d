"""The rows of ``bias.csv``: one :class:`BiasTest` per test, in a fixed order.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from alliance_meta.analyses.results import with_back_transform


CONTRACT_COLUMNS = ("test", "statistic", "p", "estimate", "k_imputed")
EXTRA_COLUMNS = ("se", "ci_lower", "ci_upper", "df", "side", "note", "observed", "expected", "svalue_ci")
TEST_ORDER = ("egger", "egger_lm", "rank", "trim_and_fill", "fail_safe_n", "fail_safe_n_orwin",
              "fail_safe_n_rosenberg", "pet", "peese", "pet_peese", "selection_model", "tes", "henmi_copas",
              "svalue")


@dataclass(frozen=True)
class BiasTest:
    """One row of ``bias.csv``: a test statistic, its p-value and an (adjusted) estimate."""

    test: str
    statistic: float
    p: float = math.nan
    estimate: float = math.nan
    k_imputed: float = math.nan
    se: float = math.nan
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    df: float = math.nan
    side: str = ""
    note: str = ""
    observed: float = math.nan  # tes: observed number of significant studies
    expected: float = math.nan  # tes: expected number
    svalue_ci: float = math.nan  # svalue: the S-value of the confidence limit (statistic: of the estimate)


def bias_frame(rows: list[BiasTest], metric: str | None = None) -> pd.DataFrame:
    """The contract's ``bias.csv`` columns, extras, and back-transformed estimates."""
    frame = pd.DataFrame([asdict(row) for row in rows], columns=list(CONTRACT_COLUMNS + EXTRA_COLUMNS))
    return with_back_transform(frame, metric)


POORLY_IDENTIFIED = "poorly identified"
"""The note of a selection model whose estimate its flat likelihood carried away (selection_models.csv)."""

NO_POSITIVE_EFFECT = ("no effect fitted is positive (study composites under dependence: multilevel), but one-sided "
                      "p-values model selection for positive effects: under the sign convention a positive effect is "
                      "a stronger alliance with a better outcome or with staying (config/README.md); set reverse = "
                      "yes on rows reported the other way round, or use two-sided p-values (bias.selection.sided: two)")
"""The note of every selection model fitted to one-sided p-values (metafor's ``alternative = "greater"``) when no
study (study composite of a three-level review) has a positive effect and some a negative one
(:func:`no_positive_effect`): the weights favour significant positive effects, of which there are none, so the step
function's first interval is empty and the continuous models adjust for a selection of positive effects in a
review that has none."""


def without_sign_advice(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (selection_models.csv) without :data:`NO_POSITIVE_EFFECT` in its ``note``s: the report's Results and
    its table's note give it once; repeated in every row and every panel of a figure, it hid the rows' own reasons
    and overran the figure's title."""
    if "note" not in table:
        return table
    return table.assign(note=table["note"].map(lambda note: note.replace(f"; {NO_POSITIVE_EFFECT}", "").replace(
        NO_POSITIVE_EFFECT, "") if isinstance(note, str) else note))


def fitted_weight_function(delta) -> bool:
    """Whether a ``delta`` cell of selection_models.csv holds a fitted weight function's parameters: text
    (``0.52;1``, as the fit writes it) or a number (one parameter, as the file read back gives it)."""
    if isinstance(delta, str):
        return bool(delta)
    return isinstance(delta, (int, float, np.number)) and bool(np.isfinite(delta))


def no_weight_function(table: pd.DataFrame) -> bool:
    """Whether no model of ``table`` (selection_models.csv) has a fitted weight function: the weight functions'
    figure (:func:`alliance_meta.plots.selection.weight_functions_plot`) is then only a message, which the report
    gives as its sentence. The estimates' figure always draws the unadjusted estimate: never only a message."""
    return "delta" not in table or not table["delta"].map(fitted_weight_function).any()


def no_positive_effect(yi) -> bool:
    """Whether no effect of ``yi`` is positive and at least one is negative (an r of 0 is as far from a significant
    positive effect as a negative one; every effect 0 is another matter: :data:`POORLY_IDENTIFIED`)."""
    yi = np.asarray(yi, float)
    return bool(np.all(yi <= 0) and np.any(yi < 0))


def all_equal(values) -> bool:
    """Whether the values are one and the same up to rounding (a spread of at most 1e-12 of the largest):
    effects converted from other statistics, or variances from equal sample sizes, differ in their last bits."""
    values = np.asarray(values, dtype=float)
    return values.size > 0 and bool(np.ptp(values) <= 1e-12 * np.max(np.abs(values)))


def _arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)


def independent_studies(fit) -> pd.DataFrame:
    """The independent studies univariate bias methods assume: the rows of a univariate fit,
    one composite per study of a three-level fit."""
    from alliance_meta.models.fits import MultilevelFit

    return fit.composites() if isinstance(fit, MultilevelFit) else fit.data
