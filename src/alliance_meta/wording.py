"""Small wording helpers shared by the notes of every stage."""
from __future__ import annotations

import math
from collections.abc import Sequence


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
