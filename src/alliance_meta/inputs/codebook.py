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

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property


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
    InputKind("kendall_tau", ("kendall_tau", "n"), "Kendall's rank correlation tau with sample size n"),
    InputKind("fisher_z", ("fisher_z", "n"), "Fisher's z of a correlation with sample size n"),
    InputKind("partial_r", ("partial_r", "n", "n_covariates"),
              "partial correlation controlling for n_covariates covariates, sample size n"),
    InputKind("beta", ("beta", "n"),
              "standardized regression coefficient beta with sample size n (Peterson & Brown 2005 "
              "approximation of r, validated for |beta| < .5)"),
    InputKind("g", ("g", "n1", "n2"), "Hedges' g (bias-corrected SMD) with group sizes n1, n2"),
    InputKind("d", ("d", "n1", "n2"), "Cohen's d (uncorrected SMD) with group sizes n1, n2"),
    InputKind("means_sds", ("m1", "sd1", "m2", "sd2", "n1", "n2"),
              "means and SDs of two groups (group 1 = the positive side, e.g. completers)"),
    InputKind("t_groups", ("t", "n1", "n2"), "independent-groups t statistic with group sizes n1, n2"),
    InputKind("t_df", ("t", "df"),
              "t statistic of a correlation or regression slope (also a two-level/HLM slope) with its df"),
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

INPUT_KIND_BY_NAME: dict[str, InputKind] = {kind.name: kind for kind in INPUT_KINDS}

INPUT_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(c for kind in INPUT_KINDS for c in kind.columns))
"""Every numeric column that can hold part of an effect-size input."""

FAMILIES = ("outcome", "dropout")

# ---------------------------------------------------------------------------
# Columns of the sheet
# ---------------------------------------------------------------------------

REQUIRED_COLUMNS: tuple[str, ...] = ("study_id",)
"""Columns every sheet must have (``study_id`` must also be filled on every row)."""

IDENTIFIER_COLUMNS: tuple[str, ...] = ("study_id", "es_id", "authors", "year", "label")
"""Identify a row: independent sample, effect size, citation, year and a free label."""

SIGN_COLUMNS: tuple[str, ...] = ("reverse", "direction")
"""``reverse`` flips a signed statistic; ``direction`` signs an unsigned one (F, chi², p)."""

WHOLE_NUMBER_COLUMNS: tuple[str, ...] = ("n", "n1", "n2", "n11", "n12", "n21", "n22", "n_covariates", "year")
"""Numeric columns that must hold whole numbers (sample sizes, counts, the year)."""

ARTIFACT_COLUMNS: tuple[str, ...] = ("rxx", "ryy", "ux")
"""Optional psychometric artifacts of an outcome row (``alliance_meta.analyses.psychometric``):
``rxx`` reliability of the alliance measure in that sample, ``ryy`` reliability of the outcome
measure, ``ux`` range-restriction ratio of the alliance SD (sample SD / reference-population SD)."""

RELIABILITY_COLUMNS: tuple[str, ...] = ("rxx", "ryy")
"""Reliabilities: in (0, 1]."""

NUMERIC_COLUMNS: tuple[str, ...] = INPUT_COLUMNS + ("year",) + ARTIFACT_COLUMNS
"""Every column read as a number; anything else in these cells is a problem."""

COMPUTED_COLUMNS: tuple[str, ...] = ("sheet_row", "yi", "vi", "metric", "input_kind", "conversion", "citation_year",
                                     "k_effect_sizes")
"""Columns the pipeline writes beside the sheet's (``data/processed/``): a sheet column of one of these names
would be replaced by them, so none may have it."""

MISSING_MARKERS: tuple[str, ...] = ("", "na", "n/a", "n.a.", "n. a.", "nan", "null", ".")
"""Cell texts read as empty (case-insensitive), besides a truly empty cell."""


def citation_key(value: object) -> str:
    """An ``authors`` or ``year`` cell as two citations of one study are compared: case and spacing do not count."""
    return " ".join(str(value).casefold().split())


#: an abbreviation of single letters, each followed by a dot (the last one's may be left out): ``C.B.T.``,
#: ``c.b.t``, ``I. P. T.``; not ``Dr.``, ``1.5`` nor a lone ``C.``
_DOTTED_ABBREVIATION = re.compile(r"(?<![\w.])[^\W\d_](?:\.\s?[^\W\d_])+\.?(?![\w.])")


def vocabulary_key(text: str) -> str:
    """Comparison key of a vocabulary entry: lower case, the dots of an abbreviation of single letters left out
    (``C.B.T.`` -> ``cbt``), and hyphens, underscores and runs of white space between words made one space
    (``Cognitive-Behavioral`` -> ``cognitive behavioral``)."""
    key = _DOTTED_ABBREVIATION.sub(lambda match: re.sub(r"[.\s]", "", match[0]), str(text).strip().lower())
    return re.sub(r"(?<=\w)[\s_\-]+(?=\w)", " ", key)


@dataclass(frozen=True)
class Vocabulary:
    """The allowed values of a coded column and the synonyms normalised to them.

    Values are matched case-insensitively through :func:`vocabulary_key`; the
    validated sheet holds the canonical spelling (``client`` -> ``patient``).
    """

    column: str
    values: tuple[str, ...]
    description: str
    synonyms: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None

    @cached_property
    def lookup(self) -> dict[str, str]:
        """Key of every accepted spelling -> canonical value."""
        table = {vocabulary_key(synonym): value for synonym, value in self.synonyms.items()}
        table.update({vocabulary_key(value): value for value in self.values})
        return table

    def canonical(self, text: object) -> str | None:
        """The canonical value for ``text``, or None when it is outside the vocabulary."""
        return self.lookup.get(vocabulary_key(text))

    def suggestion(self, text: object) -> str | None:
        """The closest canonical value (difflib ratio >= 0.6), for a did-you-mean."""
        matches = difflib.get_close_matches(vocabulary_key(text), list(self.lookup), n=1, cutoff=0.6)
        return self.lookup[matches[0]] if matches else None


YES_NO_SYNONYMS = {"y": "yes", "true": "yes", "1": "yes", "n": "no", "false": "no", "0": "no"}

VOCABULARY_LIST: tuple[Vocabulary, ...] = (
    Vocabulary("family", FAMILIES,
               "effect-size family: alliance-outcome association or alliance of completers vs dropouts",
               {"alliance outcome": "outcome", "drop out": "dropout", "drop-out": "dropout",
                "attrition": "dropout", "retention": "dropout"},
               default="outcome"),
    Vocabulary("reverse", ("yes", "no"),
               "yes = the statistic was reported the other way round (e.g. correlation with a "
               "symptom score): its sign is flipped", YES_NO_SYNONYMS, default="no"),
    Vocabulary("direction", ("positive", "negative"),
               "sign of an unsigned statistic (F, chi², p): positive = stronger alliance, better "
               "outcome or staying in treatment",
               {"pos": "positive", "+": "positive", "neg": "negative", "\u2212": "negative"}),
    Vocabulary("rater", ("patient", "therapist", "observer"), "who rated the alliance",
               {"client": "patient", "self": "patient", "self report": "patient",
                "patient rated": "patient", "client rated": "patient", "child": "patient",
                "adolescent": "patient", "youth": "patient",
                "clinician": "therapist", "counselor": "therapist", "counsellor": "therapist",
                "therapist rated": "therapist",
                "judge": "observer", "independent": "observer", "independent rater": "observer",
                "external": "observer", "observer rated": "observer"}),
    Vocabulary("modality", ("CBT", "psychodynamic", "humanistic", "interpersonal", "integrative", "other"),
               "treatment approach",
               {"cognitive behavioral": "CBT", "cognitive behavioural": "CBT",
                "cognitive behavioral therapy": "CBT", "cognitive behavioural therapy": "CBT",
                "cognitive": "CBT", "cognitive therapy": "CBT", "behavioral": "CBT",
                "behavioural": "CBT", "behavior therapy": "CBT", "behaviour therapy": "CBT",
                "DBT": "CBT", "ACT": "CBT",
                # French, Spanish, Italian, Portuguese (thérapie cognitivo-comportementale, terapia cognitivo-
                # conductual, ...) and German (kognitive Verhaltenstherapie) abbreviations: too far from CBT for a
                # did-you-mean, unlike psychodynamique or interpersonnelle
                "TCC": "CBT", "KVT": "CBT",
                "psychoanalytic": "psychodynamic", "dynamic": "psychodynamic", "PDT": "psychodynamic",
                "psychodynamic therapy": "psychodynamic",
                "client centered": "humanistic", "client centred": "humanistic",
                "person centered": "humanistic", "person centred": "humanistic",
                "experiential": "humanistic", "emotion focused": "humanistic", "EFT": "humanistic",
                "gestalt": "humanistic",
                "IPT": "interpersonal", "interpersonal therapy": "interpersonal",
                "interpersonal psychotherapy": "interpersonal",
                "eclectic": "integrative", "integrated": "integrative"}),
    Vocabulary("measure", ("WAI", "CALPAS", "HAq", "VTAS", "Penn", "TARS", "other"),
               "alliance measure",
               {"working alliance inventory": "WAI", "WAI S": "WAI", "WAI SR": "WAI",
                "WAI O": "WAI", "WAI T": "WAI", "CALTARS": "CALPAS", "CALPAS P": "CALPAS",
                "CALPAS T": "CALPAS", "HAq II": "HAq", "HAQ-2": "HAq",
                "helping alliance questionnaire": "HAq", "VPPS": "VTAS",
                "Vanderbilt": "VTAS", "HAr": "Penn", "HAcs": "Penn",
                "Penn helping alliance rating": "Penn",
                "therapeutic alliance rating system": "TARS"}),
    Vocabulary("timing", ("early", "mid", "late", "averaged"), "when the alliance was measured",
               {"middle": "mid", "midpoint": "mid", "mid treatment": "mid", "end": "late",
                "final": "late", "average": "averaged", "mean": "averaged",
                "across sessions": "averaged", "beginning": "early", "start": "early"}),
    Vocabulary("format", ("individual", "group", "couple", "family"), "treatment format",
               {"couples": "couple", "marital": "couple", "families": "family",
                "individual therapy": "individual", "group therapy": "group"}),
    Vocabulary("population", ("adult", "youth"), "age group treated",
               {"adults": "adult", "child": "youth", "children": "youth", "adolescent": "youth",
                "adolescents": "youth", "young people": "youth", "minors": "youth"}),
    Vocabulary("published", ("yes", "no"),
               "published in a journal or book (yes) or not (thesis, dissertation, unpublished)",
               {**YES_NO_SYNONYMS, "published": "yes", "journal": "yes", "book": "yes",
                "unpublished": "no", "thesis": "no", "dissertation": "no"}),
    Vocabulary("design", ("RCT", "naturalistic"), "study design",
               {"randomized": "RCT", "randomised": "RCT", "randomized controlled trial": "RCT",
                "randomised controlled trial": "RCT", "trial": "RCT", "observational": "naturalistic",
                "uncontrolled": "naturalistic", "effectiveness": "naturalistic"}),
    Vocabulary("simulated", ("yes", "no"),
               "yes on rows of the simulated demo sheet: invented data, not a real study",
               YES_NO_SYNONYMS, default="no"),
)

VOCABULARIES: dict[str, Vocabulary] = {vocabulary.column: vocabulary for vocabulary in VOCABULARY_LIST}
"""Coded columns by name."""

MODERATOR_COLUMNS: tuple[str, ...] = (
    "rater", "modality", "measure", "timing", "format", "population", "published", "design",
    "year", "country", "simulated",
)
"""Coded moderators of the codebook; any other column is accepted as a free moderator."""

CODEBOOK_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(
    IDENTIFIER_COLUMNS + ("family",) + INPUT_COLUMNS + SIGN_COLUMNS + ARTIFACT_COLUMNS + MODERATOR_COLUMNS
))
"""Every column the codebook defines, in the order of config/README.md."""

COLUMN_DESCRIPTIONS: dict[str, str] = {
    "study_id": "independent sample, required on every row; rows sharing it are dependent effect sizes",
    "es_id": "identifier of the effect size (unique within its study; double coding and the changes since "
             "the previous sheet version match rows on study_id and es_id)",
    "authors": "citation label, e.g. Smith & Jones",
    "year": "publication year, a whole number from 1900 to next year; also a moderator",
    "label": "free text shown in plots (e.g. measure, rater, timing)",
    "rxx": "reliability of the alliance measure in that sample (e.g. coefficient alpha), for the psychometric "
           "correction of an outcome row",
    "ryy": "reliability of the outcome measure in that sample, for the psychometric correction of an outcome row",
    "ux": "range restriction of the alliance: its SD in the sample divided by its SD in the reference population, "
          "for the psychometric correction of an outcome row",
    "r": "Pearson correlation between alliance and outcome (or staying in treatment)",
    "n": "sample size (whole number, at least 4)",
    "rho": "Spearman rank correlation; converted by r = 2 sin(pi rho / 6)",
    "kendall_tau": "Kendall's rank correlation tau; converted by r = sin(pi tau / 2)",
    "fisher_z": "Fisher's z of a correlation, as reported",
    "partial_r": "partial correlation controlling for n_covariates covariates",
    "n_covariates": "number of covariates partialled out of partial_r (whole number)",
    "beta": "standardized regression coefficient of the alliance; converted by r = beta + .05 "
            "(beta >= 0) or r = beta (beta < 0), Peterson & Brown 2005, validated for |beta| < .5",
    "g": "Hedges' g (bias-corrected standardized mean difference)",
    "d": "Cohen's d (uncorrected standardized mean difference)",
    "n1": "size of group 1, the positive side (e.g. completers); whole number, at least 2",
    "n2": "size of group 2 (e.g. dropouts); whole number, at least 2",
    "m1": "mean alliance (or outcome) of group 1",
    "sd1": "standard deviation of group 1 (positive)",
    "m2": "mean of group 2",
    "sd2": "standard deviation of group 2 (positive)",
    "t": "t statistic: with n1, n2 an independent-groups t; with df the t of a correlation or of a "
         "regression or two-level (HLM) slope, r = t / sqrt(t^2 + df)",
    "df": "degrees of freedom of t or F (more than 1)",
    "f": "F(1, df) statistic (non-negative; needs direction)",
    "chi2": "chi-square with 1 df of a 2x2 table of n cases (non-negative; needs direction)",
    "p": "two-sided p value in (0, 1] (needs direction)",
    "n11": "2x2 count: stronger alliance, favourable (improved or stayed)",
    "n12": "2x2 count: stronger alliance, unfavourable (not improved or dropped out)",
    "n21": "2x2 count: weaker alliance, favourable",
    "n22": "2x2 count: weaker alliance, unfavourable",
    "odds_ratio": "odds ratio (favourable outcome, stronger vs weaker alliance), positive",
    "or_ci_lower": "lower limit of the odds ratio's 95% CI",
    "or_ci_upper": "upper limit of the odds ratio's 95% CI",
    "log_or": "log odds ratio",
    "log_or_se": "standard error of the log odds ratio (positive)",
    "country": "country of the sample (free text)",
}
"""What each codebook column without a vocabulary holds (the vocabularies describe themselves)."""
