"""The codebook of the data sheet: columns, effect-size input kinds and vocabularies.

One row of the sheet is one effect size. ``config/README.md`` is the reviewer's
version of this module; keep the two in step.

Sign convention: a positive effect means that a stronger alliance goes with a
better outcome (``family = outcome``) or with staying in treatment
(``family = dropout``). Signed statistics (r, rho, z, partial r, d, g, t, log OR,
OR, counts, means) are entered as reported and flipped with ``reverse = yes`` when
the study reported them the other way round (e.g. a correlation with a symptom
score, where a higher score is worse). Unsigned statistics (F, chi², p) need
``direction`` (``positive`` or ``negative``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputKind:
    """One way a study can report its effect size: the columns it needs, all filled."""

    name: str
    columns: tuple[str, ...]
    description: str
    needs_direction: bool = False


# In order of preference: the first complete kind on a row is the one converted;
# every other complete kind on the same row must agree with it (beyond rounding).
INPUT_KINDS: tuple[InputKind, ...] = (
    InputKind("r", ("r", "n"), "Pearson correlation r with sample size n"),
    InputKind("rho", ("rho", "n"), "Spearman rank correlation rho with sample size n"),
    InputKind("fisher_z", ("fisher_z", "n"), "Fisher's z of a correlation with sample size n"),
    InputKind("partial_r", ("partial_r", "n", "n_covariates"),
              "partial correlation controlling for n_covariates covariates, sample size n"),
    InputKind("g", ("g", "n1", "n2"), "Hedges' g (bias-corrected SMD) with group sizes n1, n2"),
    InputKind("d", ("d", "n1", "n2"), "Cohen's d (uncorrected SMD) with group sizes n1, n2"),
    InputKind("means_sds", ("m1", "sd1", "m2", "sd2", "n1", "n2"),
              "means and SDs of two groups (group 1 = the positive side, e.g. completers)"),
    InputKind("t_groups", ("t", "n1", "n2"), "independent-groups t statistic with group sizes n1, n2"),
    InputKind("t_df", ("t", "df"), "t statistic of a correlation (or regression slope) with its df"),
    InputKind("f_groups", ("f", "n1", "n2"), "F(1, n1 + n2 - 2) of a two-group comparison",
              needs_direction=True),
    InputKind("f_df", ("f", "df"), "F(1, df) of a correlation or slope", needs_direction=True),
    InputKind("chi2", ("chi2", "n"), "chi-square with 1 df from a 2x2 table of n cases",
              needs_direction=True),
    InputKind("p_groups", ("p", "n1", "n2"), "two-sided p of a two-group comparison",
              needs_direction=True),
    InputKind("p_n", ("p", "n"), "two-sided p of a correlation with sample size n",
              needs_direction=True),
    InputKind("counts", ("n11", "n12", "n21", "n22"),
              "2x2 counts: rows stronger/weaker alliance, columns favourable/unfavourable "
              "(improved or stayed / not improved or dropped out)"),
    InputKind("or_ci", ("odds_ratio", "or_ci_lower", "or_ci_upper"),
              "odds ratio with its 95% CI (favourable outcome, stronger vs weaker alliance)"),
    InputKind("log_or_se", ("log_or", "log_or_se"), "log odds ratio with its standard error"),
)

INPUT_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(c for kind in INPUT_KINDS for c in kind.columns))
"""Every numeric column that can hold part of an effect-size input."""

FAMILIES = ("outcome", "dropout")
