"""Generate the SIMULATED second coder's sheet data/raw/studies_coder2.csv (seeded, NumPy only).

It demonstrates double coding (config key ``second_coder``): the first coder's sheet is the
simulated demo sheet ``studies.csv``; this script copies it and plants the kinds of
disagreement two coders of alliance studies really have, so that ``results/agreement.csv``
and ``results/disagreements.csv`` have something to show. Every row stays ``simulated =
yes``; none of it is a real study or a real coder.

Deliberate disagreements (rows drawn with seed 20181202):

* ``rater``: 6 effect sizes coded with another rater;
* ``timing``: 5 effect sizes coded one step later (early -> mid -> late);
* ``measure``: 2 effect sizes coded ``other``;
* ``modality``: every row of 2 studies coded with another treatment approach;
* ``year``: one study a year later (all its rows);
* ``r``: 2 correlations with their two decimals transposed (0.24 -> 0.42), ``n``: 2 sample
  sizes 10 larger (typing slips);
* ``reverse``: 2 correlations with the sign convention flipped (``yes`` <-> ``no``);
* one effect size reported as t with df that the second coder entered as r and n instead
  (r = t / sqrt(t^2 + df) rounded to 2 decimals, n = df + 2): different cells, nearly the same yi;
* one effect size the second coder missed, and one (``S002-2``) only the second coder coded.

Spelling that is *not* a disagreement (the codebook's synonyms): ``client`` for ``patient``
on 10 rows and ``cognitive-behavioral`` for ``CBT`` on 5 rows.

Run: ``python data/raw/make_second_coder.py`` (reads studies.csv, writes studies_coder2.csv).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

SEED = 20181202
HERE = Path(__file__).resolve().parent
RATERS = ("patient", "therapist", "observer")
MODALITIES = ("CBT", "psychodynamic", "humanistic", "interpersonal", "integrative", "other")
LATER = {"early": "mid", "mid": "late", "late": "averaged", "averaged": "early"}
EXTRA_ROW = {"study_id": "S002", "es_id": "S002-2", "r": "0.19", "n": "88", "reverse": "no",
             "label": "WAI, therapist, late", "rater": "therapist", "timing": "late", "measure": "WAI"}


def _pick(rng, candidates, size: int, taken: set[int]) -> list[int]:
    """``size`` row positions from ``candidates`` not used by an earlier change."""
    free = [i for i in candidates if i not in taken]
    chosen = [int(i) for i in rng.choice(free, size=size, replace=False)]
    taken.update(chosen)
    return chosen


def make_second_coder(rows: list[dict[str, str]], seed: int = SEED) -> list[dict[str, str]]:
    """The second coder's rows: a copy of ``rows`` (the first coder's) with the planted changes."""
    rng = np.random.default_rng(seed)
    rows = [dict(row) for row in rows]
    taken: set[int] = set()
    every = range(len(rows))
    for i in _pick(rng, every, 6, taken):
        rows[i]["rater"] = str(rng.choice([v for v in RATERS if v != rows[i]["rater"]]))
    for i in _pick(rng, every, 5, taken):
        rows[i]["timing"] = LATER[rows[i]["timing"]]
    for i in _pick(rng, [i for i in every if rows[i]["measure"] != "other"], 2, taken):
        rows[i]["measure"] = "other"
    studies = sorted({row["study_id"] for row in rows})
    for study in rng.choice(studies, size=2, replace=False):
        other = str(rng.choice([m for m in MODALITIES if m != next(r["modality"] for r in rows if r["study_id"] == study)]))
        for row in rows:
            if row["study_id"] == study:
                row["modality"] = other
    year_study = str(rng.choice(studies))
    for row in rows:
        if row["study_id"] == year_study:
            row["year"] = str(int(row["year"]) + 1)
    transposable = [i for i in every if len(rows[i]["r"].lstrip("-")) == 4 and rows[i]["r"][-1] != rows[i]["r"][-2]
                    and "0" not in rows[i]["r"][-2:] and not rows[i]["p"]]
    for i in _pick(rng, transposable, 2, taken):
        text = rows[i]["r"]
        rows[i]["r"] = text[:-2] + text[-1] + text[-2]
    for i in _pick(rng, [i for i in every if rows[i]["r"] and rows[i]["n"]], 2, taken):
        rows[i]["n"] = str(int(rows[i]["n"]) + 10)
    for i in _pick(rng, [i for i in every if rows[i]["r"] and not rows[i]["p"]], 2, taken):
        rows[i]["reverse"] = "no" if rows[i]["reverse"] == "yes" else "yes"
    (i,) = _pick(rng, [i for i in every if rows[i]["t"] and rows[i]["df"] and rows[i]["family"] == "outcome"], 1, taken)
    t, df = float(rows[i]["t"]), float(rows[i]["df"])
    rows[i].update(r=f"{t / math.sqrt(t * t + df):.2f}", n=str(int(df) + 2), t="", df="")
    for i in _pick(rng, [i for i in every if rows[i]["rater"] == "patient"], 10, taken):
        rows[i]["rater"] = "client"
    for i in _pick(rng, [i for i in every if rows[i]["modality"] == "CBT"], 5, taken):
        rows[i]["modality"] = "cognitive-behavioral"
    (missed,) = _pick(rng, every, 1, taken)
    first_of_s002 = next(position for position, row in enumerate(rows) if row["study_id"] == "S002")
    extra = {**{column: "" for column in rows[0]}, **{k: v for k, v in rows[first_of_s002].items()
                                                      if k in ("authors", "year", "family", "modality", "format",
                                                               "population", "published", "design", "country",
                                                               "setting", "internet", "simulated")}, **EXTRA_ROW}
    assert not any(row["es_id"] == extra["es_id"] for row in rows)
    rows.insert(first_of_s002 + 1, extra)
    return [row for position, row in enumerate(rows) if position != (missed if missed <= first_of_s002 else missed + 1)]


def main() -> None:
    with open(HERE / "studies.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns, first = reader.fieldnames, list(reader)
    rows = make_second_coder(first)
    path = HERE / "studies_coder2.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}: {len(rows)} effect sizes, the second coder of the SIMULATED demo sheet")


if __name__ == "__main__":
    main()
