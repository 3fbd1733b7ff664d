"""Small wording helpers shared by the notes of every stage, and the APA numbers that the report
(``report.formatting``) and the figures (``plots``) both write (APA 2020, sec. 6.36: no leading zero for a number that
cannot exceed 1)."""
from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence

MINUS = "\u2212"

#: What the manuscript tables (``report.tables.marked_simulated``) and the report's banner say of a sheet with rows
#: marked ``simulated = yes``: the demo's, or a reviewer's own simulated sheet; the data cannot tell which, so
#: neither is named (as ``inputs.prisma.SIMULATED_LABEL`` of simulated PRISMA counts)
SIMULATED_DATA = "SIMULATED data"
SIMULATED_DATA_NOTE = "Simulated data: these are not real studies."

#: the intervals' abbreviations in words, for a text or figure that spells one out at its first use (APA 2020,
#: sec. 6.25)
INTERVAL_NAMES = {"CrI": "credible interval", "HDI": "highest-density interval", "CI": "confidence interval",
                  "PI": "prediction interval"}
#: the small-study models' abbreviations in words, for the bias table's note and the model-averaging figure
BIAS_MODEL_NAMES = {"PET": "precision-effect test", "PEESE": "precision-effect estimate with standard error"}

#: the estimators of tau^2 (``pooling.methods``, metafor's abbreviations) in words: the Methods, the pooled table's
#: note and the figures that abbreviate one (a forest plot's summary row, the specification curve's choices) define
#: it from here (APA 2020, sec. 6.25 and 7.26)
ESTIMATOR_NAMES = {"common": "common-effect", "DL": "DerSimonian\u2013Laird", "HE": "Hedges",
                   "HS": "Hunter\u2013Schmidt", "HSk": "Hunter\u2013Schmidt (small-sample corrected)",
                   "SJ": "Sidik\u2013Jonkman", "ML": "maximum likelihood", "REML": "restricted maximum likelihood",
                   "EB": "empirical Bayes", "PM": "Paule\u2013Mandel", "PMM": "median-unbiased Paule\u2013Mandel",
                   "GENQ": "generalised Q"}

#: the prior families of the config (bayes.priors) as the text writes them
PRIOR_FAMILY_NAMES = {"half_normal": "half-normal", "half_cauchy": "half-Cauchy", "log_normal": "log-normal",
                      "log_t": "log-t"}


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """``singular`` for a count of one (a float that rounds to 1 too), else ``plural_form`` (default
    ``singular + "s"``)."""
    one = count is not None and math.isfinite(float(count)) and round(float(count)) == 1
    return singular if one else (plural_form if plural_form is not None else singular + "s")


def is_finite(value) -> bool:
    """A finite number (also from a CSV cell: text, None, NaN and pandas' ``<NA>`` are not)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def apa_integer(value: float) -> str:
    """Whole numbers with thousands separators (``12,345``) and a typographic minus (``\u22125,180,125``); a missing
    count (None, NaN, pandas' ``<NA>``) as a dash."""
    if not is_finite(value):
        return "\u2013"
    return f"{int(round(float(value))):,}".replace("-", MINUS)


#: the counts below ten as the report's prose writes them (:func:`apa_count`)
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def apa_count(count: float, compared: Sequence = ()) -> str:
    """A count as the report's prose writes it (APA 2020, sec. 6.32-6.33): below ten in words ("three studies"),
    from ten in numerals (:func:`apa_integer`), and in numerals too where its sentence compares it with a count of
    ten or more (``compared``, the counts of the same sentence that it is set beside: "3 of 12 studies", "15 cells
    in 7 rows"); a missing count as a dash. A statistic and its symbol (k = 3, df = 2, N = 7), a percentage, a value
    or a setting keeps its numerals (:func:`apa_integer`); no sentence of the report begins with a count."""
    if not is_finite(count):
        return apa_integer(count)
    number = int(round(float(count)))
    if 0 <= number < len(NUMBER_WORDS) and not any(is_finite(other) and abs(float(other)) >= 10 for other in compared):
        return NUMBER_WORDS[number]
    return apa_integer(number)


def counted(count: float, singular: str, plural_form: str | None = None, *, words: bool = False,
            compared: Sequence = ()) -> str:
    """``1 study``, ``2 studies``, ``1,234 rows``: the count (:func:`apa_integer`) and the noun, singular for 1
    (``plural_form`` defaults to ``singular + "s"``); ``words``: the count as the report's prose writes it,
    ``three studies`` (:func:`apa_count`, with the sentence's ``compared`` counts), and none as ``no cells were``
    (not "zero cells were")."""
    if words and is_finite(count) and round(float(count)) == 0:
        return f"no {plural(count, singular, plural_form)}"
    number = apa_count(count, compared) if words else apa_integer(count)
    return f"{number} {plural(count, singular, plural_form)}"


def times(factor: int) -> str:
    """A multiplier as the report's prose writes it: ``twice`` for 2, else in numerals (APA 2020, sec. 6.32),
    ``3 times`` (:func:`apa_integer`)."""
    return "twice" if factor == 2 else f"{apa_integer(factor)} times"


def probability_percent(prob: float) -> str:
    """The mass of a Bayesian interval as its label's percent: 0.95 -> ``95``, 0.895 -> ``89.5`` (rounded past the
    float's noise: 100 x 0.57 is 56.99999999999999)."""
    return f"{round(100 * float(prob), 6):g}"


def rows_phrase(rows: Sequence, shown: int | None = None, *, rest: str = "count", word: str = "row") -> str:
    """The rows of a sheet named in a note: ``row 5`` for one row, ``rows 5, 9`` for more (not "rows 5").
    Beyond the first ``shown`` rows (all when None) the others are counted, as ``rows 2, 3, ... (25 rows)``
    (``rest="count"``) or as ``rows 2, 3 and 23 more`` (``rest="more"``)."""
    rows = [str(row) for row in rows]
    listed = rows if shown is None else rows[:shown]
    text = ", ".join(listed)
    if len(rows) > len(listed):
        if rest == "more":
            text += f" and {len(rows) - len(listed)} more"
        else:
            text += f", ... ({len(rows)} {plural(len(rows), word)})"
    return f"{plural(len(rows), word)} {text}"


def did_you_mean(value, choices) -> str:
    """``" (did you mean 'knha'?)"``: the clause that an error message of an unknown name adds when ``value`` is one
    of ``choices`` but for case or surrounding spaces (``"reml"``, ``"DL "``) or a near spelling of one (``"khna"``,
    ``"RMEL"``: difflib's ratio of the lower-case names at least 0.6, the cutoff of the config check's
    did-you-mean); else ``""``."""
    text = str(value).strip().lower()
    by_key: dict[str, object] = {}
    for choice in choices:
        by_key.setdefault(str(choice).lower(), choice)
    close = [text] if text in by_key else difflib.get_close_matches(text, list(by_key), n=1, cutoff=0.6)
    return f" (did you mean {by_key[close[0]]!r}?)" if close else ""


def family_name(family: str, capital: bool = False) -> str:
    """A family as the report names it ("outcome family": section headings, table titles), with a capital
    letter to begin a figure's title (``capital``: "Outcome family"). The family key alone ("outcome") read as
    a word of the title."""
    name = f"{family} family"
    return name[:1].upper() + name[1:] if capital else name


def single_spaced(text: str) -> str:
    """``text`` with each run of spaces, tabs or line breaks one space, none at either end: labels built from
    a cell typed "Simulated study  Jones" kept its double space."""
    return " ".join(text.split())


def without_leading_zero(text: str) -> str:
    """``text`` with the leading zero of each number below 1 in magnitude left out, as APA writes a number that
    cannot exceed 1 (a correlation, a probability, a p value): ``0.25`` -> ``.25``, ``\u22120.5`` -> ``\u2212.5``,
    ``(0.025, 0.05)`` -> ``(.025, .05)``; ``10.5`` and ``1.0`` as they are."""
    return re.sub(r"(?<![\d.])0\.(?=\d)", ".", text)


def apa_number(value: float, decimals: int = 2, leading_zero: bool = True) -> str:
    """``value`` rounded to ``decimals``, a typographic minus, optionally without the leading zero."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2013"
    text = f"{float(value):.{decimals}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    if not leading_zero:
        text = without_leading_zero(text)
    return text.replace("-", MINUS)


#: Decimals of degrees of freedom that are not whole (Satterthwaite's of CR2 and RVE tests, Tipton's small-sample
#: corrected df): two, as the test statistics beside them (APA 2020, sec. 6.36), in the report's text and tables alike.
DF_DECIMALS = 2

#: Calendar years: whole, without a thousands separator (study_characteristics.csv's citation_year of 1985 read
#: back as a number is 1985, not "1,985"; a year among the forest plots' plots.columns is 2016, not "2,016").
YEAR_COLUMNS = {"year", "citation_year"}


def apa_df(value) -> str:
    """Degrees of freedom, one rule for the report's text and tables and the figures: whole numbers whole ("t(124)",
    "F(2, 119)"), others with :data:`DF_DECIMALS` decimals ("t(4.55)", "F(2, 4.90)"), never one test's df to one
    decimal beside another's to two; "" for a missing value. A whole number off by floating-point rounding is whole
    (a Satterthwaite df of 1.0000000000000002, clubSandwich's exact 1 at two equal clusters: "1", as robumeta's
    df = 1 beside it, not "1.00")."""
    if not is_finite(value):
        return ""
    number = float(value)
    whole = round(number)
    if abs(number - whole) <= 1e-9 * max(1.0, abs(number)):
        return apa_integer(whole)
    return apa_number(number, DF_DECIMALS)


def interval_decimals(lower: float, upper: float, least: int = 2) -> int:
    """Decimals that show an interval's width to two significant digits, at least ``least``: a slope per patient
    of \u22120.00004 [\u22120.00009, 0.00001] read "0.0000 [0.0000, 0.0000]" with four."""
    width = abs(float(upper) - float(lower))
    return max(least, 1 - math.floor(math.log10(width))) if math.isfinite(width) and width > 0 else least


def apa_probability(value: float, decimals: int = 2, exact_ends: bool = False) -> str:
    """A probability, a p value or a share as APA writes one (APA 2020, sec. 6.36): ``decimals`` places without the
    leading zero, and one below the smallest of them or above the largest as ``< .01`` / ``> .99`` (``< .001`` /
    ``> .999`` with three): rounding would print 0 or 1, which a posterior probability or a p value is not (a
    posterior probability of 1 is every MCMC draw, or a double, rounded). ``exact_ends``: a 0 or 1 that can be
    exact (a share of specifications) written as such (``.00``, ``1.00``). A missing value as a dash."""
    if value is None or not math.isfinite(float(value)):
        return "\u2013"
    value, step = float(value), 10.0 ** -decimals
    if exact_ends and value in (0.0, 1.0):
        return apa_number(value, decimals, leading_zero=False)
    if value < step:
        return "< " + apa_number(step, decimals, leading_zero=False)
    if value > 1 - step:
        return "> " + apa_number(1 - step, decimals, leading_zero=False)
    return apa_number(value, decimals, leading_zero=False)


#: a test statistic below this is 0 up to floating-point noise: a selection model at the bound where it is the
#: unadjusted model has a likelihood-ratio statistic of 1e-14, not 0 (the difference of two equal log-likelihoods)
NULL_STATISTIC = 1e-8


def at_null(statistic) -> bool:
    """Whether a test statistic is 0 up to floating-point noise (:data:`NULL_STATISTIC`): its p value is then 1."""
    try:
        return abs(float(statistic)) < NULL_STATISTIC
    except (TypeError, ValueError):
        return False


def apa_p(p: float, null_statistic: bool = False) -> str:
    """An APA p value without ``p =``: three decimals without the leading zero, ``< .001`` and ``> .999`` at the ends
    (:func:`apa_probability`); a missing p as a dash. ``null_statistic``: the p is that of a statistic of 0
    (:func:`at_null`; a likelihood-ratio test whose fit stayed at the null), which is exactly 1: ``1.000`` (the
    caller says so; ``p`` itself is then only checked to be there)."""
    if null_statistic and p is not None and math.isfinite(float(p)):
        return apa_number(1.0, 3, leading_zero=False)
    return apa_probability(p, 3)


def apa_p_clause(p: float, symbol: str = "p", missing: str = "\u2013", null_statistic: bool = False) -> str:
    """``p = .042``, ``p < .001`` or ``p > .999`` (:func:`apa_p`; ``null_statistic`` as there), ``symbol`` as the
    text sets it (a figure's ``$p$``); ``missing`` after ``p =`` where there is no p value."""
    if p is None or not math.isfinite(float(p)):
        return f"{symbol} = {missing}"
    text = apa_p(p, null_statistic)
    return f"{symbol} {text}" if text[0] in "<>" else f"{symbol} = {text}"


def apa_setting(value: float, decimals: int = 2) -> str:
    """A configured correlation or threshold as APA prints one, without the leading zero, with at least
    ``decimals`` decimals and every further one it has (an assumed correlation of .333 is not .33): ``.50``,
    ``.333``, ``−.10``, ``1.00``; 0 as ``0``."""
    if float(value) == 0:
        return "0"
    places = len(f"{float(value):.12f}".rstrip("0").partition(".")[2])
    return apa_number(value, max(places, decimals), leading_zero=False)
