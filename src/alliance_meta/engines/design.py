"""Model matrices for meta-regression from Wilkinson formulas (formulaic).

Formulas are written as in R: ``"modality + rater"``, ``"year"``, ``"modality * timing"``
(= ``modality + timing + modality:timing``), ``"modality:year"``, ``"I(year - 2000)"``,
``"center(year)"``, ``"C(rater, Treatment('patient'))"``; a leading ``~`` is optional. They are
parsed and expanded by the maintained formulaic library (Wilkinson & Rogers 1973 notation,
with R's rules for coding a factor in an interaction without its main effect). An intercept is
always included.

Plain categorical variables become treatment dummies named ``variable[level]`` against a
reference level: the configured one, else the most frequent level among the rows of the model,
ties broken alphabetically (R would take the first level alphabetically; the most frequent
level gives the most precise contrasts). Variables listed as continuous enter as numbers,
optionally centred at their (unweighted) mean over the rows of the model, unless the formula also uses
them inside an expression (``I(year**2)`` of a centred year would be another model). Columns that are
linearly dependent on earlier ones are dropped, as metafor drops redundant predictors: with R's ``lm``
tolerance (``qr(tol = 1e-7)``: a column whose part orthogonal to the kept ones has less than 1e-7 of its
length), so that nearly collinear moderators are dropped, not left to a singular X'WX.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: R's ``qr()`` tolerance, with which metafor's ``lm(yi ~ X - 1)`` finds the redundant predictors it drops
REDUNDANT_TOLERANCE = 1e-7


def _right_hand_side(formula: str) -> str:
    text = formula.strip()
    text = text.split("~", 1)[1] if "~" in text else text
    if not text.strip():
        raise ValueError(f"empty formula {formula!r}")
    return text.strip()


def _parsed(formula: str):
    from formulaic import Formula

    if "|" in formula:  # formulaic reads it as a formula of several parts, which no model here takes
        raise ValueError(f"cannot read the formula {formula!r}: one part, as '~ rater + year' (a location-scale "
                         "model takes its parts as {'location': '~ rater', 'scale': '~ year'})")
    try:
        return Formula(_right_hand_side(formula))
    except Exception as error:  # formulaic's parser errors, reworded once
        message = str(error).splitlines()[0]
        if "Missing operator between" in message:  # "~ mean age": two names, or one column name with a space
            message += " (a column name with spaces or other signs goes in backticks: ~ `mean age`)"
        elif re.search(r"(?<![\w.])as\.factor\(", formula):  # R's, which Python reads as the keyword "as"
            message += " (R's as.factor(x) is C(x) here)"
        raise ValueError(f"cannot read the formula {formula!r}: {message}") from None


def formula_variables(formula: str) -> tuple[str, ...]:
    """The distinct data columns a formula uses, in order of appearance.

    Every name in the formula's factors that is not called as a function (``C``, ``I``,
    ``center``, ``log``, ...) and not a keyword argument is a column; so are a quoted name
    (`` `mean age` ``, ``Q("mean.age")``, for columns that are not Python names).
    """
    text = _right_hand_side(formula)
    quoted = set(re.findall(r"`([^`]+)`", text))
    names = [name for term in _parsed(formula) for name in _term_variables(term, quoted, formula)]
    position = {name: (match.start() if (match := re.search(rf"(?<![\w.]){re.escape(name)}(?![\w.])", text))
                       else len(text)) for name in names}
    return tuple(sorted(dict.fromkeys(names), key=lambda name: (position[name], name)))


def column_term(name: str) -> str:
    """The formula term of the one column ``name``: the name itself when the formula engine reads it
    as that column (``rater``), else quoted (`` `a.b` ``, `` `mean age` ``), which gives the same
    term names (``a.b[level]``)."""
    try:
        if formula_variables(name) == (name,):
            return name
    except ValueError:
        pass
    if "`" in name:
        raise ValueError(f"column {name!r}: a name with a backtick cannot be written in a formula; rename the column")
    return f"`{name}`"


def _term_variables(term, quoted: set[str], formula: str) -> list[str]:
    """The data columns of one formulaic term: the names of its factors that are not called as
    functions, the argument of ``Q("...")``, and a factor that was a `` `quoted name` ``."""
    return [name for factor in term.factors for name in _factor_variables(factor, quoted, formula)]


def transformed_variables(formula: str) -> tuple[str, ...]:
    """The data columns the formula uses inside an expression (``I(year - 2000)``, ``log(n)``,
    ``C(year)``, ``center(year)``) rather than as a bare name (``year``, ``year:rater``)."""
    quoted = set(re.findall(r"`([^`]+)`", _right_hand_side(formula)))
    return tuple(dict.fromkeys(name for term in _parsed(formula) for factor in term.factors
                               for name in _factor_variables(factor, quoted, formula)
                               if str(factor.expr) not in (name, f"`{name}`", f'Q("{name}")', f"Q('{name}')")))


def _factor_variables(factor, quoted: set[str], formula: str) -> list[str]:
    """The data columns of one factor of a term (see :func:`_term_variables`)."""
    import ast

    expression = str(factor.expr)
    if expression in quoted:
        return [expression]
    names = re.findall(r"`([^`]+)`", expression)  # C(`a.b`): the quoted column, then the rest
    expression = re.sub(r"`[^`]+`", "0", expression)
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ValueError(f"cannot read the term {factor.expr!r} of formula {formula!r}") from None
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    called = {id(node.func) for node in calls}
    modules = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}  # np of np.log(n)
    names += [node.id for node in ast.walk(tree)
              if isinstance(node, ast.Name) and id(node) not in called and id(node) not in modules]
    names += [node.args[0].value for node in calls
              if isinstance(node.func, ast.Name) and node.func.id == "Q" and len(node.args) == 1
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)]
    return names


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
    variables: dict = field(default_factory=dict, repr=False)  # column -> the data columns it uses
    spec: object = field(default=None, repr=False)  # formulaic ModelSpec: codes new rows the same way
    kept: tuple[int, ...] = field(default=(), repr=False)  # the spec's columns kept (full rank)
    formula: str = ""
    levels: dict = field(default_factory=dict, repr=False)  # categorical variable -> its levels, reference first


def dropped_note(design: Design | None) -> str:
    """The terms left out of a design because they are redundant (metafor drops them too), or ""."""
    dropped = design.dropped if design is not None else ()
    if not dropped:
        return ""
    return (f"left out as redundant (no variation, or a combination of the other terms; as metafor): "
            f"{', '.join(dropped)}")


def _display_name(column: str) -> str:
    """formulaic's ``x[T.level]`` as ``x[level]``; ``Intercept`` as ``intercept``."""
    return "intercept" if column == "Intercept" else column.replace("[T.", "[")


def build_design(frame: pd.DataFrame, formula: str, continuous=(), reference_levels=None,
                 centre: bool = False) -> Design:
    """The intercept-plus-terms model matrix of ``formula`` for the rows of ``frame``."""
    from formulaic import model_matrix

    reference_levels = reference_levels or {}
    references, centres = {}, {}
    transformed = transformed_variables(formula)
    for name in formula_variables(formula):
        if name in continuous:
            # a variable inside an expression keeps its values: centred first, I(year**2) or log(n) would be
            # another model, and I(year - 2000) would not give the effect at 2000
            if centre and name not in transformed:
                centres[name] = float(pd.to_numeric(frame[name], errors="raise").to_numpy(float).mean())
            continue
        text = frame[name].astype(str)
        reference = default_reference(text) if reference_levels.get(name) is None else str(reference_levels[name])
        levels = sorted(set(text))
        if reference not in levels:
            raise ValueError(f"reference level {reference!r} of {name!r} not among its levels {levels}")
        references[name] = reference
    data = _prepared(frame, formula, continuous, references, centres)
    with _evaluation_errors(formula, continuous), np.errstate(divide="ignore", invalid="ignore"):
        # a term missing on a row (log of a number below 0) is named with its rows by _check_finite
        matrix = model_matrix(_right_hand_side(formula), data, na_action="ignore", ensure_full_rank=True)
    spec = matrix.model_spec
    term_of = {column: term for term, _, columns in spec.structure for column in columns}
    names = [_display_name(str(column)) for column in matrix.columns]
    quoted = set(re.findall(r"`([^`]+)`", _right_hand_side(formula)))
    variables = {name: (() if str(term_of[column]) == "1"
                        else tuple(dict.fromkeys(_term_variables(term_of[column], quoted, formula))))
                 for name, column in zip(names, matrix.columns)}
    vectors = [np.asarray(matrix.iloc[:, j], dtype=float) for j in range(matrix.shape[1])]
    _check_finite(frame, formula, names, vectors)
    # the rank is judged on columns of unit length, so that a term's scale (year**3 of raw years, about 8e9, beside
    # the intercept's 1) does not make it look redundant
    units = [vector / norm if (norm := np.linalg.norm(vector)) > 0 else vector for vector in vectors]
    kept, dropped = [], []
    for index, vector in enumerate(units):
        residual = vector
        if kept:
            basis = np.column_stack([units[i] for i in kept])
            residual = vector - basis @ np.linalg.lstsq(basis, vector, rcond=None)[0]
        if np.linalg.norm(residual) > REDUNDANT_TOLERANCE:
            kept.append(index)
        else:
            dropped.append(names[index])
    # a factor with one level gets no column of its own from formulaic: named among the dropped terms (metafor stops
    # there), unless a kept column (an interaction such as rater:year) still uses it
    used = {name for index in kept for name in variables[names[index]]}
    dropped = [name for name in references if frame[name].astype(str).nunique() == 1 and name not in used] + dropped
    return Design(np.column_stack([vectors[i] for i in kept]), tuple(names[i] for i in kept), references, centres,
                  tuple(dropped), {names[i]: variables[names[i]] for i in kept}, spec, tuple(kept), formula,
                  {name: [references[name]] + [v for v in sorted(set(frame[name].astype(str))) if v != references[name]]
                   for name in references})


class FormulaTermError(ValueError):
    """A term of a formula that cannot be evaluated on the rows (an unknown function, ``^`` in ``I()``) or is not
    a finite number on some of them (``rows``: their positions in the frame; empty when no row is to blame)."""

    def __init__(self, message: str, term: str = "", rows=()):
        super().__init__(message)
        self.term, self.rows = term, tuple(int(row) for row in rows)


#: the functions a formula may call (formulaic's), and R's that a formula written for metafor may call instead
FORMULA_FUNCTIONS = "C, I, Q, center, scale, poly, bs, log, exp and numpy's as np (np.sqrt(n))"
R_FUNCTIONS = {"factor": "C(x)", "as.factor": "C(x)", "relevel": "C(x, Treatment('level')) or reference_levels=",
               "sqrt": "np.sqrt(x)", "ns": "bs(x, df=3)"}


@contextmanager
def _evaluation_errors(formula: str, continuous=None):
    """formulaic's errors in evaluating a formula's terms (an unknown function such as R's ``factor``, ``^`` in
    ``I()``, ``log`` of a number <= 0) as one ValueError naming the term and saying what to write."""
    from formulaic.errors import FactorEvaluationError

    try:
        yield
    except FactorEvaluationError as error:
        cause, term = error.__cause__, re.search(r"`(.+?)`", str(error))
        term = term.group(1) if term else formula
        if isinstance(cause, NameError) and cause.name is not None:
            hint = (f"R's {cause.name}(x) is {R_FUNCTIONS[cause.name]} here" if cause.name in R_FUNCTIONS else
                    f"a formula calls {FORMULA_FUNCTIONS}")
            why = f"{cause.name!r} is not a function or column here ({hint})"
        elif "xor" in str(cause) or "^" in term:
            why = f"^ inside I() is Python's exclusive or, not a power: write ** (I({_inside_call(term)}))"
        elif isinstance(cause, TypeError) and "category" in str(cause):  # log(year) of year read as levels
            levels = [v for v in term_variables(term) if v not in (continuous or ())]
            why = (f"{' and '.join(levels) or 'a variable of it'} is read as levels, not numbers: list it in "
                   "continuous_moderators (continuous= in the Python API)")
        else:
            why = f"{type(cause).__name__}: {cause}" if cause is not None else str(error)
        raise FormulaTermError(f"cannot evaluate the term {term} of the formula {formula!r}: {why}", term) from None
    except ValueError as error:
        if "contains null values after evaluation" not in str(error):
            raise
        term = re.search(r"`(.+?)`", str(error))
        term = term.group(1) if term else "?"
        raise FormulaTermError(f"the term {term} of the formula {formula!r} is not a number on some rows (e.g. log "
                               "or np.sqrt of a value not above 0): transform the column so that every row has a "
                               "value", term) from None


def term_variables(term: str) -> list[str]:
    """The variables of one term of a formula as an error names it (``log(year - 2006)``: ``year``); none where the
    term cannot be read on its own."""
    try:
        return list(formula_variables(term))
    except ValueError:
        return []


def _check_finite(frame: pd.DataFrame, formula: str, names, vectors) -> None:
    """FormulaTermError naming the rows (their study_id) where a term is not a finite number (``log(n - 1)`` at n = 1,
    ``I(1/x)`` at x = 0, ``log(x)`` of x < 0): no model has such a row; formulaic said only that the term "contains
    null values", and an infinite one made the fit "not estimable" without saying why."""
    for name, vector in zip(names, vectors):
        if not np.isfinite(vector).all():
            where = ~np.isfinite(vector)
            ids = frame["study_id"].astype(str).to_numpy()[where] if "study_id" in frame else np.flatnonzero(where)
            named = list(dict.fromkeys(map(str, ids)))
            shown = ", ".join(named[:10]) + (", ..." if len(named) > 10 else "")
            raise FormulaTermError(f"the term {name} of the formula {formula!r} is not a finite number on "
                                   f"{where.sum()} of {len(vector)} rows (study_id {shown}; e.g. log or np.sqrt of a "
                                   "value not above 0): transform the column so that every row has a finite value",
                                   name, np.flatnonzero(where))


def _inside_call(term: str) -> str:
    """``I(length ^ 2)`` as ``length**2``: the argument of ``I()`` with ``^`` written as a power."""
    inner = term[2:-1] if term.startswith("I(") and term.endswith(")") else term
    return re.sub(r"\s*\^\s*", "**", inner)


def _prepared(frame: pd.DataFrame, formula: str, continuous, references: dict, centres: dict) -> pd.DataFrame:
    """The formula's variables coded for formulaic: continuous ones as (centred) numbers, categorical
    ones as categoricals with the reference level first (treatment coding against it)."""
    data = frame.reset_index(drop=True).copy()
    for name in formula_variables(formula):
        if name in continuous:
            data[name] = pd.to_numeric(data[name], errors="raise").to_numpy(float) - centres.get(name, 0.0)
        else:
            text, reference = data[name].astype(str), references[name]
            data[name] = pd.Categorical(text, categories=[reference] + [v for v in sorted(set(text)) if v != reference])
    return data


def formula_terms(formula: str) -> frozenset[str]:
    """The terms of a formula as formulaic expands and writes them (``a*b``: ``a``, ``b``, ``a:b``; ``log(n)``
    is not ``n``), intercept left out: two formulas of the same model have the same terms."""
    return frozenset(str(term) for term in _parsed(formula) if str(term) != "1")


def parse_formula(formula: str) -> tuple[tuple[str, ...], ...]:
    """The terms of a formula (intercept left out), each as the tuple of data columns it uses."""
    quoted = set(re.findall(r"`([^`]+)`", _right_hand_side(formula)))
    return tuple(dict.fromkeys(tuple(dict.fromkeys(_term_variables(term, quoted, formula)))
                               for term in _parsed(formula) if str(term) != "1"))


def column_variables(design: Design, column: str) -> tuple[str, ...]:
    """The data columns one model-matrix column uses (``()`` for the intercept)."""
    return design.variables.get(column, ())


def design_variables(design: Design) -> tuple[str, ...]:
    """The data columns a design's columns use, in order of appearance."""
    return tuple(dict.fromkeys(name for column in design.columns for name in column_variables(design, column)))


def code_rows(design: Design, frame: pd.DataFrame) -> np.ndarray:
    """Rows of ``frame`` coded exactly as ``design`` was (same columns, reference levels and
    centres), e.g. new moderator values for a prediction (metafor's ``newmods``)."""
    continuous = tuple(name for name in formula_variables(design.formula) if name not in design.reference_levels)
    data = frame.reset_index(drop=True).copy()
    for name in continuous:
        data[name] = pd.to_numeric(data[name], errors="raise").to_numpy(float) - design.centres.get(name, 0.0)
    for name, levels in design.levels.items():
        data[name] = pd.Categorical(data[name].astype(str), categories=levels)
    with _evaluation_errors(design.formula), np.errstate(divide="ignore", invalid="ignore"):
        matrix = design.spec.get_model_matrix(data, na_action="raise")
    return np.asarray(matrix, dtype=float)[:, list(design.kept)]


def marginal_rows(design: Design, frame: pd.DataFrame, variable: str, values) -> np.ndarray:
    """One coded row per value: the mean over ``frame``'s rows of the design row with
    ``variable`` set to that value and every other variable as observed. ``row @ beta`` is
    the marginal mean at that value (the prediction averaged over the observed covariates;
    for an additive model, metafor's ``predict(fit, newmods = ...)`` with the other columns
    at their means, i.e. dummies at their proportions: Viechtbauer, "Computing adjusted
    effects based on meta-regression models", metafor website)."""
    return np.vstack([code_rows(design, frame.assign(**{variable: [value] * len(frame)})).mean(axis=0)
                      for value in values])

