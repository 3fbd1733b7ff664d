"""Model matrices for meta-regression from a small formula grammar.

A formula is a sum of terms: ``"modality + rater"``, ``"year"``,
``"modality * timing"`` (= ``modality + timing + modality:timing``),
``"modality:year"``. An intercept is always included. Variable names are
sheet columns (letters, digits, ``_`` and ``.``).

Categorical variables become treatment dummies named ``variable[level]``
against a reference level: the configured one, else the most frequent level
among the rows of the model, ties broken alphabetically (metafor/R would take
the first level alphabetically; the most frequent level gives the most precise
contrasts). Continuous variables enter as numbers, optionally centred at their
(unweighted) mean over the rows of the model. Interactions are products of the
columns of their variables. Columns that are linearly dependent on earlier ones
are dropped, as metafor drops redundant predictors.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


def parse_formula(formula: str) -> tuple[tuple[str, ...], ...]:
    """Terms of a formula as tuples of variable names, in order, without duplicates."""
    terms: list[tuple[str, ...]] = []
    for chunk in formula.split("+"):
        if "*" in chunk and ":" in chunk:
            raise ValueError(f"mixing '*' and ':' in one term is not supported: {chunk.strip()!r}")
        names = [name.strip() for name in re.split(r"[*:]", chunk)]
        for name in names:
            if not NAME.match(name):
                raise ValueError(f"not a variable name in formula {formula!r}: {name!r}")
        if "*" in chunk:
            expanded = [combo for size in range(1, len(names) + 1)
                        for combo in itertools.combinations(names, size)]
        else:
            expanded = [tuple(names)]
        for term in expanded:
            if term not in terms:
                terms.append(term)
    return tuple(terms)


def formula_variables(formula: str) -> tuple[str, ...]:
    """The distinct variables a formula uses, in order of appearance."""
    return tuple(dict.fromkeys(name for term in parse_formula(formula) for name in term))


def default_reference(values: pd.Series) -> str:
    """The most frequent level; ties go to the first alphabetically."""
    counts = values.astype(str).value_counts()
    return sorted(counts.index[counts == counts.max()])[0]


@dataclass(frozen=True)
class Design:
    """A model matrix with its column names and how each variable was coded."""

    matrix: np.ndarray
    columns: tuple[str, ...]
    reference_levels: dict = field(default_factory=dict)
    centres: dict = field(default_factory=dict)
    dropped: tuple[str, ...] = ()


def _variable_columns(values: pd.Series, name, continuous, reference, centre):
    if continuous:
        numbers = pd.to_numeric(values, errors="raise").to_numpy(float)
        offset = float(numbers.mean()) if centre else 0.0
        return {name: numbers - offset}, None, (offset if centre else None)
    text = values.astype(str)
    reference = default_reference(text) if reference is None else str(reference)
    levels = sorted(set(text))
    if reference not in levels:
        raise ValueError(f"reference level {reference!r} of {name!r} not among its levels {levels}")
    columns = {f"{name}[{level}]": (text == level).to_numpy(float) for level in levels if level != reference}
    return columns, reference, None


def build_design(frame: pd.DataFrame, formula: str, continuous=(), reference_levels=None,
                 centre: bool = False) -> Design:
    """The intercept-plus-terms model matrix of ``formula`` for the rows of ``frame``."""
    reference_levels = reference_levels or {}
    coded, references, centres = {}, {}, {}
    for name in formula_variables(formula):
        columns, reference, offset = _variable_columns(
            frame[name], name, name in continuous, reference_levels.get(name), centre)
        coded[name] = columns
        if reference is not None:
            references[name] = reference
        if offset is not None:
            centres[name] = offset
    names, vectors = ["intercept"], [np.ones(len(frame))]
    for term in parse_formula(formula):
        for combination in itertools.product(*(coded[name].items() for name in term)):
            names.append(":".join(label for label, _ in combination))
            vectors.append(np.prod([vector for _, vector in combination], axis=0))
    kept, dropped = [], []
    for index, vector in enumerate(vectors):
        candidate = np.column_stack([vectors[i] for i in kept] + [vector])
        if np.linalg.matrix_rank(candidate) > len(kept):
            kept.append(index)
        else:
            dropped.append(names[index])
    matrix = np.column_stack([vectors[i] for i in kept])
    return Design(matrix, tuple(names[i] for i in kept), references, centres, tuple(dropped))


LABEL = re.compile(r"([A-Za-z_.][A-Za-z0-9_.]*)(?:\[(.*?)\])?(?::|$)")


def _labels(column: str) -> list[tuple[str, str | None]]:
    """``"a[x]:b"`` -> ``[("a", "x"), ("b", None)]``: the variables (and dummy levels) of a column."""
    return [(match.group(1), match.group(2)) for match in LABEL.finditer(column) if match.group(1)]


def column_variables(column: str) -> tuple[str, ...]:
    """The variables of one model-matrix column: ``"a[x]:b"`` -> ``("a", "b")``."""
    return () if column == "intercept" else tuple(name for name, _ in _labels(column))


def design_variables(design: Design) -> tuple[str, ...]:
    """The variables a design's columns use, in order of appearance."""
    return tuple(dict.fromkeys(name for column in design.columns for name in column_variables(column)))


def code_rows(design: Design, frame: pd.DataFrame) -> np.ndarray:
    """Rows of ``frame`` coded exactly as ``design`` was (same columns, reference levels and
    centres), e.g. new moderator values for a prediction (metafor's ``newmods``)."""
    matrix = np.ones((len(frame), len(design.columns)))
    for j, column in enumerate(design.columns):
        if column == "intercept":
            continue
        for name, level in _labels(column):
            if level is None:
                values = pd.to_numeric(frame[name], errors="raise").to_numpy(float) - design.centres.get(name, 0.0)
            else:
                values = (frame[name].astype(str) == level).to_numpy(float)
            matrix[:, j] *= values
    return matrix


def marginal_rows(design: Design, frame: pd.DataFrame, variable: str, values) -> np.ndarray:
    """One coded row per value: the mean over ``frame``'s rows of the design row with
    ``variable`` set to that value and every other variable as observed. ``row @ beta`` is
    the marginal mean at that value (the prediction averaged over the observed covariates;
    for an additive model, metafor's ``predict(fit, newmods = ...)`` with the other columns
    at their means, i.e. dummies at their proportions: Viechtbauer, "Computing adjusted
    effects based on meta-regression models", metafor website)."""
    return np.vstack([code_rows(design, frame.assign(**{variable: [value] * len(frame)})).mean(axis=0)
                      for value in values])
