"""Small wording helpers shared by the notes of every stage, and the APA numbers that the report
(``report.formatting``) and the figures (``plots``) both write (APA 2020, sec. 6.36: no leading zero for a number that
cannot exceed 1)."""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

MINUS = "\u2212"


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """``singular`` for a count of one (a float that rounds to 1 too), else ``plural_form`` (default
    ``singular + "s"``)."""
    one = count is not None and math.isfinite(float(count)) and round(float(count)) == 1
    return singular if one else (plural_form if plural_form is not None else singular + "s")


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


def family_name(family: str, capital: bool = False) -> str:
    """A family as the report names it ("outcome family": section headings, table titles), with a capital
    letter to begin a figure's title (``capital``: "Outcome family"). The family key alone ("outcome") read as
    a word of the title."""
    name = f"{family} family"
    return name[:1].upper() + name[1:] if capital else name


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


def apa_setting(value: float, decimals: int = 2) -> str:
    """A configured correlation or threshold as APA prints one, without the leading zero, with at least
    ``decimals`` decimals and every further one it has (an assumed correlation of .333 is not .33): ``.50``,
    ``.333``, ``−.10``, ``1.00``; 0 as ``0``."""
    if float(value) == 0:
        return "0"
    places = len(f"{float(value):.12f}".rstrip("0").partition(".")[2])
    return apa_number(value, max(places, decimals), leading_zero=False)
