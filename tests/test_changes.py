"""What changed since the previous sheet version: snapshots in results/history/ and results/changes.csv.

The comparison logic is checked on hand-made snapshots; one workflow test runs the demo review
in a temporary folder up to results/changes.csv (and the PRISMA diagram), adds three studies, and
reruns: changes.csv lists them, and the PRISMA counts no longer match the sheet.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alliance_meta.io import read_table
from alliance_meta.models.fits import main_row
from alliance_meta.report.changes import chain, changes_paragraph, compare, previous_snapshot, write_snapshot

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [str(ROOT / ".venv" / "bin" / "snakemake"), "--snakefile", str(ROOT / "Snakefile"), "--cores", "2"]


def es(study, es_id, row, yi, **cells):
    return {"key": f"{study}|{es_id}", "study_id": study, "es_id": es_id, "family": "outcome", "sheet_row": row,
            "yi": yi, "vi": 0.01, "cells": {"study_id": study, "es_id": es_id, **cells}}


def record(sha, effect_sizes, pooled, moderators=None, influential=None, bayes=None):
    family = {"pooled": {"method": "REML", "test": "z", "metric": "z", **pooled}}
    if moderators is not None:
        family["moderators"] = moderators
    if influential is not None:
        family["influential"] = influential
    if bayes is not None:
        family["bayes_mu"] = bayes
    return {"version": 1, "sheet": "s.csv", "sheet_sha256": sha, "effect_sizes": effect_sizes,
            "families": {"outcome": family}}


POOLED_A = dict(k=3, estimate=0.10, se=0.06, ci_lower=-0.02, ci_upper=0.22, pi_lower=-0.3, pi_upper=0.5, tau2=0.02,
                i2=40.0, p=0.1)
POOLED_B = dict(k=3, estimate=0.30, se=0.06, ci_lower=0.18, ci_upper=0.42, pi_lower=0.0, pi_upper=0.6, tau2=0.01,
                i2=30.0, p=0.001)



def test_the_hdi_flip_names_the_level_of_the_run():
    """"the posterior HDI of mu now excludes 0" named no level, though bayes.hdi_prob may be 0.9 and every HDI of the
    Results names its level; the flip names this run's (compared_config records bayes.hdi_prob)."""
    before = record("a", [es("S1", "1", 2, 0.1)], POOLED_A,
                    bayes={"mean": 0.1, "hdi_lower": -0.01, "hdi_upper": 0.2})
    after = record("b", [es("S1", "1", 2, 0.3)], POOLED_A, bayes={"mean": 0.3, "hdi_lower": 0.1, "hdi_upper": 0.5})
    before["config"] = after["config"] = {"bayes.hdi_prob": 0.9}
    changes = compare(before, after)
    [note] = changes.loc[changes["change"] == "credible_interval_flip", "note"]
    assert note == "the posterior 90% HDI of \u03bc now excludes 0"

def test_interval_limits_and_a_ci_flip_compared_across_two_confidence_levels_say_so():
    """pooling.level 95 -> 90 with the data changed: the CI and PI rows compared a 95% limit with a 90% one, and "the
    pooled estimate's CI now excludes 0" may be the level's doing; each names both levels. The same level, or a
    snapshot without it (the schema's default, given as defaults), adds nothing."""
    before = record("a", [es("S1", "1", 2, 0.1)], POOLED_A)
    after = record("b", [es("S1", "1", 2, 0.3)], POOLED_B)
    before["config"], after["config"] = {"pooling.level": 95}, {"pooling.level": 90}
    changes = compare(before, after)
    notes = changes.set_index(["change", "quantity"])["note"]
    said = "the level changed 95% \u2192 90% (pooling.level)"
    for limit in ("ci_lower", "ci_upper", "pi_lower", "pi_upper"):
        assert notes["pooled", limit] == f"REML, test z; z metric; {said}"
    assert notes["pooled", "estimate"] == notes["pooled", "tau2"] == "REML, test z; z metric"
    assert notes["significance_flip", "ci_excludes_0"] == f"the pooled estimate's CI now excludes 0; {said}"
    assert f"In the outcome family, the pooled estimate's CI now excludes 0; {said}." in changes_paragraph(
        changes, {"outcome": "z"})
    for configs in (({"pooling.level": 90}, {"pooling.level": 90}), ({}, {"pooling.level": 95.0})):
        before["config"], after["config"] = configs
        assert not compare(before, after, {"pooling.level": 95})["note"].str.contains("level changed").any()


def test_added_removed_edited_rows_and_result_flips():
    before = record("a", [es("S1", "1", 2, 0.1, r="0.1"), es("S2", "1", 3, 0.2, r="0.2"), es("S3", "1", 4, 0.3)],
                    POOLED_A, {"rater": {"qm_p": 0.20, "f_p": 0.03}}, ["S1"], {"mean": 0.1, "hdi_lower": -0.01,
                                                                               "hdi_upper": 0.2})
    after = record("b", [es("S1", "1", 2, 0.1, r="0.1"), es("S2", "1", 4, 0.25, r="0.25"), es("S4", "1", 3, 0.4),
                         es("S1", "2", 5, 0.5)],
                   POOLED_B, {"rater": {"qm_p": 0.01, "f_p": 0.04}}, ["S1", "S2"], {"mean": 0.3, "hdi_lower": 0.1,
                                                                                    "hdi_upper": 0.5})
    changes = compare(before, after)
    kinds = changes.groupby("change")["study_id"].apply(list).to_dict()
    assert kinds["study_added"] == ["S4"] and kinds["study_removed"] == ["S3"]
    notes = changes.set_index("change")["note"]  # one row is "row 3", not "row(s) 3"
    assert notes["study_added"] == "1 effect size on sheet row 3"
    assert notes["study_removed"] == "1 effect size, previously on sheet row 4"
    assert kinds["effect_size_added"] == ["S4", "S1"]  # by sheet row
    assert kinds["effect_size_removed"] == ["S3"]
    edited = changes[changes["change"] == "effect_size_edited"].iloc[0]
    assert (edited.study_id, edited.sheet_row, edited.sheet_row_previous) == ("S2", 4, 3)
    assert edited.note == "r: 0.2 -> 0.25" and edited.difference == pytest.approx(0.05)
    pooled = changes[changes["change"] == "pooled"].set_index("quantity")
    assert pooled.loc["estimate", ["previous", "current"]].tolist() == [0.10, 0.30]
    assert pooled.loc["estimate", "difference"] == pytest.approx(0.20)
    assert pooled.loc["tau2", "difference"] == pytest.approx(-0.01)
    assert kinds["significance_flip"] == [""] and kinds["credible_interval_flip"] == [""]
    # its symbol, not "mu", and its level, as every HDI of the Results (the schema's default without a config)
    assert notes["credible_interval_flip"] == "the posterior 95% HDI of \u03bc now excludes 0"
    flips = changes[changes["change"] == "moderator_test_flip"]
    assert flips["quantity"].tolist() == ["rater: qm_p"]  # f_p stays below .05
    assert kinds["newly_influential"] == ["S2"]
    text = changes_paragraph(changes, {"outcome": "z"})
    assert "one study added" in text and "now excludes 0" in text and "Newly influential: S2 (outcome)" in text
    # read "significant at 0.05 (p .200 → .010)"; then "outcome: the Wald QM test of rater now significant ...", a
    # sentence in lower case without a verb
    assert ("In the outcome family, the Wald QM test of rater is now significant at .05 (p = .200 \u2192 p = .010)."
            in text)


def test_studies_added_or_removed_are_listed_in_sheet_order_as_their_effect_sizes():
    """study_added rows came sorted by study_id (S10 before S9) while effect_size_added rows follow the sheet."""
    before = record("a", [es("S1", "1", 2, 0.1), es("S9", "1", 3, 0.2), es("S10", "1", 4, 0.3), es("A", "1", 5, 0.3)],
                    POOLED_A)
    after = record("b", [es("S1", "1", 2, 0.1), es("S9b", "1", 3, 0.2, r="0.2"), es("S10b", "1", 4, 0.4),
                         es("B", "1", 5, 0.2), es("B", "2", 6, 0.2)], POOLED_A)
    kinds = compare(before, after).groupby("change", sort=False)["study_id"].apply(list).to_dict()
    assert kinds["study_added"] == ["S9b", "S10b", "B"]
    assert kinds["effect_size_added"] == ["S9b", "S10b", "B", "B"]
    assert kinds["study_removed"] == ["S9", "S10", "A"]


def test_rows_numbered_by_position_are_followed_by_their_cells():
    """Without es_id in the sheet, rows are numbered S1-1, S1-2, ...: removing S1's 2nd row renumbers the
    3rd, which is still the same effect size (it was reported as the 2nd edited and the 3rd removed)."""
    def numbered(study, k, row, yi, **cells):
        return es(study, f"{study}-{k}", row, yi, **cells)

    before = record("a", [numbered("S1", 1, 2, 0.30, r="0.30000000000000004", rater="patient"),
                          numbered("S1", 2, 3, 0.10, r="0.10000000000000001", rater="therapist", timing="mid"),
                          numbered("S1", 3, 4, 0.45, r="0.45000000000000001", rater="observer", timing="late")],
                     POOLED_A)
    after = record("b", [numbered("S1", 1, 2, 0.30, r="0.30000000000000004", rater="patient"),
                         numbered("S1", 2, 3, 0.45, r="0.45000000000000001", rater="observer", timing="late")],
                   POOLED_A)
    changes = compare(before, after).set_index("change")
    assert "effect_size_edited" not in changes.index
    removed = changes.loc[["effect_size_removed"]]
    assert removed[["es_id", "sheet_row_previous", "previous"]].values.tolist() == [["S1-2", 3, 0.10]]
    edit = record("c", [numbered("S1", 1, 2, 0.30, r="0.30000000000000004", rater="patient"),
                        numbered("S1", 2, 3, 0.05, r="0.050000000000000003", rater="observer", timing="late")],
                  POOLED_A)
    edited = compare(after, edit).set_index("change").loc["effect_size_edited"]
    assert edited["note"] == "r: 0.45 -> 0.05"  # shortest form of the numbers, not 0.45000000000000001


def test_a_renamed_study_influential_in_both_runs_is_no_influence_change():
    """Kim2004 renamed Kim2004a, flagged influential before and after: it was listed as newly influential under its
    new name and no longer influential under its old one, though nothing changed but its name (its rows, authors and
    year included, unchanged). A study that lost or gained the flag, renamed or not, is still listed (under its
    current name)."""
    cells = dict(r="0.42", n="120", rater="observer", authors="Kim, J.", year="2004")
    before = record("a", [es("Kim2004", "1", 2, 0.45, **cells), es("Lee", "1", 3, 0.2, r="0.2"),
                          es("Park", "1", 4, 0.1, r="0.1")], POOLED_A, influential=["Kim2004", "Park"])
    after = record("b", [es("Kim2004a", "1", 2, 0.45, **cells), es("Lee", "1", 3, 0.2, r="0.2"),
                         es("Park", "1", 4, 0.1, r="0.1")], POOLED_A, influential=["Kim2004a", "Lee"])
    changes = compare(before, after)
    listed = changes.groupby("change")["study_id"].apply(list).to_dict()
    assert listed["study_renamed"] == ["Kim2004a"]
    assert listed["newly_influential"] == ["Lee"] and listed["no_longer_influential"] == ["Park"]
    assert ("Newly influential: Lee (outcome). No longer influential: Park (outcome)."
            in changes_paragraph(changes, {"outcome": "z"}))
    after["families"]["outcome"]["influential"] = ["Lee"]  # the renamed study lost its flag: said with its new name
    assert compare(before, after).query("change == 'no_longer_influential'")["study_id"].tolist() == [
        "Kim2004a", "Park"]


def test_a_rename_paired_by_numbers_alone_does_not_hide_influence_changes():
    """A sheet of study_id, r and n only: S1 (r .3, n 50) deleted and another study S9 with the same r and n added is
    paired as a rename, though nothing says it is the same study; S1 influential before and S9 now were both hidden.
    Without authors the influence rows stay, each naming the possible rename."""
    before = record("a", [es("S1", "1", 2, 0.3, r="0.3", n="50"), es("S2", "1", 3, 0.2, r="0.2", n="80")], POOLED_A,
                    influential=["S1"])
    after = record("b", [es("S2", "1", 2, 0.2, r="0.2", n="80"), es("S9", "1", 3, 0.3, r="0.3", n="50")], POOLED_A,
                   influential=["S9"])
    changes = compare(before, after).set_index("change")
    assert changes.loc["study_renamed", "study_id"] == "S9"
    possible = "; S9 may be S1 renamed (study_renamed), or another study with the same cells"
    assert changes.loc["newly_influential", "study_id"] == "S9"
    assert changes.loc["newly_influential", "note"] == "flagged influential (influence.csv)" + possible
    assert changes.loc["no_longer_influential", "study_id"] == "S1"
    assert changes.loc["no_longer_influential", "note"].endswith(possible)


def test_a_study_renamed_with_its_effect_sizes_unchanged_is_one_rename():
    """Correcting a study_id ("Smith2010" -> "Smith 2010") was listed as a study removed and a study added, with
    each of its effect sizes removed and added again."""
    def numbered(study, k, row, yi, **cells):
        return es(study, f"{study}-{k}", row, yi, **cells)

    cells = [dict(r="0.3", n="40", rater="patient"), dict(r="0.1", n="40", rater="observer")]
    before = record("a", [numbered("Smith2010", 1, 2, 0.30, **cells[0]), numbered("Smith2010", 2, 3, 0.10, **cells[1]),
                          es("Lee", "1", 4, 0.2, r="0.2")], POOLED_A)
    after = record("b", [es("Lee", "1", 2, 0.2, r="0.2"), numbered("Smith 2010", 1, 3, 0.30, **cells[0]),
                         numbered("Smith 2010", 2, 4, 0.10, **cells[1])], POOLED_A)
    changes = compare(before, after)
    assert changes["change"].tolist() == ["study_renamed"]  # the pooled values are equal: no rows
    renamed = changes.iloc[0]
    assert (renamed.study_id, renamed.sheet_row, renamed.sheet_row_previous) == ("Smith 2010", 3, 2)
    assert renamed.note == "previously Smith2010; its 2 effect sizes are unchanged, on sheet rows 3, 4"
    assert changes_paragraph(changes, {"outcome": "z"}).startswith(
        "Since the last run of the previous sheet version: one study renamed.")
    # es_id typed in the sheet and kept under the new name (S004-1 under "S004 (corrected)")
    kept = record("k", [es("Lee", "1", 2, 0.2, r="0.2"), es("Smith 2010", "Smith2010-1", 3, 0.30, **cells[0]),
                        es("Smith 2010", "Smith2010-2", 4, 0.10, **cells[1])], POOLED_A)
    assert compare(before, kept)["change"].tolist() == ["study_renamed"]
    # a renamed study whose cells changed too, and two candidates with the same cells, stay removed and added
    edited = record("c", [es("Lee", "1", 2, 0.2, r="0.2"), numbered("Smith 2010", 1, 3, 0.30, **cells[0]),
                          numbered("Smith 2010", 2, 4, 0.10, **{**cells[1], "rater": "therapist"})], POOLED_A)
    assert {"study_added", "study_removed"} <= set(compare(before, edited)["change"])
    assert "study_renamed" not in set(compare(record("e", [es("Lee", "1", 2, 0.2, r="0.2"),
                                                          es("Kim", "1", 3, 0.2, r="0.2")], POOLED_A),
                                              record("f", [es("Lee2", "1", 2, 0.2, r="0.2"),
                                                           es("Kim2", "1", 3, 0.2, r="0.2")], POOLED_A))["change"])
    assert "study_renamed" not in set(compare(record("g", [es("Lee", "1", 2, 0.2, r="0.2")], POOLED_A),
                                              record("h", [es("Lee2", "1", 2, 0.2, r="0.2"),
                                                           es("Kim2", "1", 3, 0.2, r="0.2")], POOLED_A))["change"])


def test_an_effect_size_whose_study_id_or_es_id_was_corrected_is_one_row():
    """A row coded under the wrong study (S2's second effect size belongs to S3) was an effect size removed from S2
    and one added to S3; a typo (S12 for S012) was also a study removed. Identical content (family, yi, vi and every
    cell but study_id and es_id) under another id is a corrected id."""
    cells = dict(r="0.25", n="80", rater="patient")
    before = record("a", [es("S1", "1", 2, 0.1, r="0.1"), es("S2", "1", 3, 0.2, r="0.2"),
                          es("S2", "2", 4, 0.25, **cells), es("S3", "1", 5, 0.3, r="0.3"),
                          es("S012", "1", 6, 0.5, r="0.5"), es("S12", "2", 7, 0.4, r="0.4")], POOLED_A)
    after = record("b", [es("S1", "1", 2, 0.1, r="0.1"), es("S2", "1", 3, 0.2, r="0.2"), es("S3", "1", 4, 0.3, r="0.3"),
                         es("S3", "2", 5, 0.25, **cells), es("S012", "1", 6, 0.5, r="0.5"),
                         es("S012", "2", 7, 0.4, r="0.4")], POOLED_A)
    changes = compare(before, after)
    assert changes["change"].tolist() == ["effect_size_id_corrected"] * 2  # no study or effect size added, removed
    assert changes[["study_id", "es_id", "sheet_row", "sheet_row_previous", "quantity", "previous", "current"]
                   ].values.tolist() == [["S3", "2", 5, 4, "study_id", "S2", "S3"],
                                         ["S012", "2", 7, 7, "study_id", "S12", "S012"]]
    assert changes["note"].iloc[0] == "previously S2 / 2; its effect size and cells are unchanged"
    assert changes_paragraph(changes, {"outcome": "z"}).startswith(
        "Since the last run of the previous sheet version: two effect sizes with corrected ids.")
    # an es_id corrected alone
    relabelled = record("c", [{**row, "es_id": "1a", "key": "S1|1a", "cells": {**row["cells"], "es_id": "1a"}}
                              if row["study_id"] == "S1" else row for row in before["effect_sizes"]], POOLED_A)
    changes = compare(before, relabelled)
    assert changes[["change", "quantity", "previous", "current"]].values.tolist() == [
        ["effect_size_id_corrected", "es_id", "1", "1a"]]
    assert changes_paragraph(changes, {"outcome": "z"}).startswith(
        "Since the last run of the previous sheet version: one effect size with a corrected id.")
    # a cell edited besides the id, or two candidates with the same content: removed and added, as before
    edited = record("d", [*after["effect_sizes"][:3], es("S3", "2", 5, 0.25, **{**cells, "rater": "observer"}),
                          *after["effect_sizes"][4:]], POOLED_A)
    assert {"effect_size_added", "effect_size_removed"} <= set(compare(before, edited)["change"])
    twice = record("e", [es("S1", "1", 2, 0.1, r="0.1"), es("S4", "1", 3, 0.1, r="0.1")], POOLED_A)
    assert compare(twice, record("f", [es("S1", "1", 2, 0.1, r="0.1"), es("S5", "2", 3, 0.1, r="0.1"),
                                       es("S5", "3", 4, 0.1, r="0.1")], POOLED_A))["change"].tolist() == [
        "study_added", "study_removed", "effect_size_added", "effect_size_added", "effect_size_removed"]


def test_first_run_and_unchanged_data():
    current = record("a", [es("S1", "1", 2, 0.1)], POOLED_A)
    first = compare(None, current)
    assert first["change"].tolist() == ["no_previous_run"]
    # a rerun of the same sheet after a config change also compares with nothing: "this run's snapshot is the
    # first" was false then
    assert "no run of another sheet" in changes_paragraph(first) and "is the first" not in changes_paragraph(first)
    assert "is the first" not in first["note"].iloc[0]
    same = compare(record("b", [es("S1", "1", 2, 0.1)], POOLED_A), current)
    assert same["change"].iloc[0] == "no_change"


def test_history_picks_the_latest_other_sheet(tmp_path):
    older = chain(record("a", [], POOLED_A), None)
    newer = chain(record("b", [], POOLED_B), older)
    write_snapshot(older, tmp_path / "a.json")
    write_snapshot(newer, tmp_path / "b.json")
    assert (older["sequence"], newer["sequence"], newer["previous"]) == (1, 2, "a")
    assert previous_snapshot(tmp_path, "c")["sheet_sha256"] == "b"
    assert previous_snapshot(tmp_path, "b")["sheet_sha256"] == "a"  # a rerun of b compares with a again
    assert previous_snapshot(tmp_path / "none", "a") is None


def add_studies(sheet: Path, ids: list[str]) -> None:
    """Append outcome studies (copies of the first r/n row with new ids and correlations)."""
    with sheet.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    template = next(row for row in rows if row["r"] and row["n"] and row["family"] == "outcome")
    for number, study in enumerate(ids):
        rows.append({**template, "study_id": study, "es_id": f"{study}-1", "authors": f"Simulated study {study}",
                     "r": f"{0.55 + 0.05 * number:.2f}", "n": "250"})
    with sheet.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.slow
def test_three_added_studies_are_listed_with_the_estimate_change(tmp_path):
    folder = tmp_path / "review"
    (folder / "data" / "raw").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "raw" / "studies.csv", folder / "data" / "raw" / "studies.csv")
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config.update(families=["outcome"], second_coder=None, changes={"analyses": []},
                  pooling={**config["pooling"], "methods": ["REML"], "tests": ["z"]})
    (folder / "config").mkdir()
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))

    def run(*extra, target="results/changes.csv", ok=True):
        result = subprocess.run([*SNAKEMAKE, "--directory", str(folder), target, *extra],
                                capture_output=True, text=True, timeout=600)
        assert (result.returncode == 0) == ok, result.stderr[-3000:]
        return result

    run("results/prisma.png")
    assert (folder / "results" / "prisma.svg").exists()
    assert read_table(folder / "results" / "changes.csv")["change"].tolist() == ["no_previous_run"]
    before = main_row(read_table(folder / "results" / "outcome" / "pooled.csv"), "REML", ["z"])
    first_snapshot = sorted((folder / "results" / "history").glob("*.json"))
    assert len(first_snapshot) == 1

    added = ["NEW1", "NEW2", "NEW3"]
    add_studies(folder / "data" / "raw" / "studies.csv", added)
    run()
    changes = read_table(folder / "results" / "changes.csv")
    after = main_row(read_table(folder / "results" / "outcome" / "pooled.csv"), "REML", ["z"])
    assert sorted(changes.loc[changes["change"] == "study_added", "study_id"]) == added
    assert sorted(changes.loc[changes["change"] == "effect_size_added", "study_id"]) == added
    assert not changes["change"].isin(["study_removed", "effect_size_removed", "effect_size_edited"]).any()
    assert changes.loc[changes["change"] == "effect_size_added", "sheet_row"].tolist() == [397, 398, 399]
    pooled = changes[changes["change"] == "pooled"].set_index("quantity")
    assert pooled.loc["estimate", "previous"] == before["estimate"]
    assert pooled.loc["estimate", "current"] == after["estimate"] != before["estimate"]
    assert pooled.loc["k", "difference"] == 3
    assert pooled.loc["tau2", "current"] == after["tau2"]
    history = sorted((folder / "results" / "history").glob("*.json"))
    assert len(history) == 2 and first_snapshot[0] in history
    snapshot = json.loads(next(p for p in history if p != first_snapshot[0]).read_text())
    assert snapshot["sequence"] == 2 and snapshot["previous"] == first_snapshot[0].stem

    # the same sheet and config again: byte-identical snapshot and changes
    outputs = [folder / "results" / "changes.csv", *history]
    saved = [path.read_bytes() for path in outputs]
    run("--forcerun", "changes")
    assert [path.read_bytes() for path in outputs] == saved

    # the demo's (simulated) PRISMA counts now disagree with the sheet: a clear problem, no traceback
    failed = run(target="results/prisma.png", ok=False)
    log = (folder / "logs" / "prisma.log").read_text()
    assert "prisma.included_studies is 150 but the sheet has 153 studies (distinct study_id)" in log
    assert "prisma.included_effect_sizes is 395 but the sheet has 398 rows" in log
    assert "Traceback" not in log + failed.stderr


def test_report_section_names_a_family_added_or_removed_and_shows_whole_sheet_rows():
    """The paragraph said nothing when the first dropout study was added (changes.csv had family_added), and the
    table showed sheet rows read back from changes.csv as 28.00."""
    from alliance_meta.report.html import changes_section

    dropout = dict(record("a", [], POOLED_A)["families"]["outcome"])
    before = record("a", [es("S1", "1", 2, 0.1)], POOLED_A)
    after = record("b", [es("S1", "1", 2, 0.1), {**es("D1", "1", 28, 0.2), "family": "dropout"}], POOLED_A)
    after["families"]["dropout"] = dropout
    added = compare(before, after)
    assert "The dropout family is analysed for the first time in this run." in changes_section(added, {}).paragraph
    removed = changes_section(compare(after, before), {}).paragraph
    assert "The dropout family, analysed in the last run of the previous sheet version, is not analysed in this one." in removed
    table = changes_section(pd.read_csv(io.StringIO(added.to_csv(index=False))), {}).tables[0]
    rows = [row[table.columns.index("sheet_row")] for row in table.rows]
    assert "28" in rows and not any("." in value for value in rows)


def test_report_section_shows_es_id_as_written():
    """The es_id cells of the changes table read 1.000 and 2.000: changes.csv read back has blanks in es_id (the
    study and pooled rows), so its 1 and 2 were floats, formatted like statistics."""
    from alliance_meta.report.html import changes_section

    changes = compare(record("a", [es("S1", "1", 2, 0.1)], POOLED_A),
                      record("b", [es("S1", "1", 2, 0.1), es("S2", "1", 3, 0.2), es("S2", "2", 4, 0.3)], POOLED_B))
    read_back = pd.read_csv(io.StringIO(changes.to_csv(index=False)))
    assert read_back["es_id"].dtype == float  # the case of the report: a numeric column with blanks
    table = changes_section(read_back, {"outcome": "z"}).tables[0]
    shown = {row[table.columns.index("es_id")] for row in table.rows}
    assert {"1", "2"} <= shown and not any("." in value for value in shown)


def test_report_section_lists_the_changes():
    from alliance_meta.report.html import changes_section

    changes = compare(record("a", [es("S1", "1", 2, 0.1)], POOLED_A),
                      record("b", [es("S1", "1", 2, 0.1), es("S2", "1", 3, 0.2)], {**POOLED_B, "k": 4}))
    section = changes_section(changes, {"outcome": "z"})
    # the study's effect size said with it, not as a second addition ("1 study added, 1 effect size added")
    assert section.paragraph.startswith(
        "Since the last run of the previous sheet version: one study added (one effect size).")
    assert "The outcome estimate moved from r = .10 to .29, 95% CI [.18, .40] (k 3 \u2192 4; \u03c4\u00b2 0.020 \u2192 0.010)" in section.paragraph
    assert len(section.tables) == 1 and len(section.tables[0].rows) == len(changes)
    k_row = next(row for row in section.tables[0].rows if row[section.tables[0].columns.index("quantity")] == "k")
    assert k_row[7:10] == ["3", "4", "1"]  # previous, current, difference: whole, not 3.00
    removed = changes_section(compare(record("b", [es("S1", "1", 2, 0.1), es("S2", "1", 3, 0.2)], {**POOLED_B, "k": 4}),
                                      record("a", [es("S1", "1", 2, 0.1)], POOLED_A)), {"outcome": "z"}).tables[0]
    k_row = next(row for row in removed.rows if row[removed.columns.index("quantity")] == "k")
    assert k_row[7:10] == ["4", "3", "\u22121"]  # a typographic minus, as beside it "\u22120.200" (it was "-1")
    assert changes_section(compare(None, record("a", [], POOLED_A)), {}).tables == []
    # the same rows in another order: the results differ in their last bits only (sums in another order), which
    # is no change: one no_change row, not a pooled row per quantity
    reordered = compare(record("a", [es("S1", "1", 2, 0.1), es("S2", "1", 3, 0.2)], POOLED_A),
                        record("b", [es("S2", "1", 2, 0.2), es("S1", "1", 3, 0.1)],
                               {**POOLED_A, "estimate": POOLED_A["estimate"] + 5e-17, "tau2": POOLED_A["tau2"] * (1 - 3e-16)}))
    assert reordered["change"].tolist() == ["no_change"]
    assert changes_section(reordered, {"outcome": "z"}).paragraph == (
        "Nothing changed since the last run of the previous sheet version: the data and the main results are equal.")
    moved = compare(record("a", [es("S1", "1", 2, 0.1)], POOLED_A),  # a real change, however small, is listed
                    record("b", [es("S1", "1", 2, 0.1)], {**POOLED_A, "estimate": POOLED_A["estimate"] * (1 + 1e-7)}))
    assert moved["quantity"].tolist() == ["estimate"]
    # a study added that leaves the estimate equal as reported: it "stays at", with k's change
    added = compare(record("a", [es("S1", "1", 2, 0.1)], POOLED_A),
                    record("b", [es("S1", "1", 2, 0.1), es("S2", "1", 3, 0.1)], {**POOLED_A, "k": 4, "estimate": 0.1001}))
    assert "The outcome estimate stays at r = .10 (k 3 \u2192 4)." in changes_section(
        added, {"outcome": "z"}).paragraph


def test_a_corrected_n_is_an_edit_and_a_new_column_one_row():
    """A corrected n changed vi and nothing in changes.csv said so (n counted as derived); a column filled in
    on every row gave one effect_size_edited row per row (396 in the living-review audit)."""
    before = record("a", [es("S1", "1", 2, 0.1, r="0.1", n="40"), es("S2", "1", 3, 0.2, r="0.2", n="50")], POOLED_A)
    after = record("b", [es("S1", "1", 2, 0.1, r="0.1", n="48", experience="licensed"),
                         es("S2", "1", 3, 0.2, r="0.2", n="50", experience="trainee")], POOLED_A)
    changes = compare(before, after)
    edited = changes[changes["change"] == "effect_size_edited"]
    assert edited["study_id"].tolist() == ["S1"] and edited["note"].tolist() == ["n: 40 -> 48"]
    added = changes[changes["change"] == "column_added"]
    assert added["quantity"].tolist() == ["experience"] and "filled in on 2 rows" in added["note"].iloc[0]
    text = changes_paragraph(changes, {"outcome": "z"})
    assert "one effect size edited" in text and "Column experience is new" in text
    assert "Cells edited besides" not in text  # n is an input of the effect size: counted once, as edited
    from alliance_meta.report.changes import numbers_read_back
    codes = pd.DataFrame({"change": ["effect_size_edited", "pooled"], "quantity": ["site", "k"],
                          "previous": ["01", "3"], "current": ["1_000", "4"]})
    assert numbers_read_back(codes)[["previous", "current"]].values.tolist() == [["01", "1_000"], [3.0, 4.0]]
    # a snapshot written before n was recorded: n is not a new column
    old_style = record("a", [es("S1", "1", 2, 0.1, r="0.1"), es("S2", "1", 3, 0.2, r="0.2")], POOLED_A)
    assert compare(old_style, before)["change"].isin(["column_added", "effect_size_edited"]).sum() == 0


def test_a_changed_metric_or_estimator_is_named_and_its_numbers_are_not_compared():
    rows = [es("S1", "1", 2, 0.1), es("S2", "1", 3, 0.2), es("S3", "1", 4, 0.3)]
    before = record("a", rows, POOLED_A, {"rater": {"qm_p": 0.20, "f_p": 0.03}}, ["S1"])
    after = record("b", rows + [es("S4", "1", 5, 0.4)], {**POOLED_B, "k": 4}, {"rater": {"qm_p": 0.01, "f_p": 0.04}},
                   ["S1", "S2"])
    after["families"]["outcome"]["pooled"]["metric"] = "log_or"
    changes = compare(before, after)
    model = changes[changes["change"] == "model_changed"]
    assert model["note"].tolist() == ["REML, test z; z metric \u2192 REML, test z; log_or metric: the results are not "
                                      "compared with those of the last run of the previous sheet version"]
    pooled = changes[changes["change"] == "pooled"]
    assert pooled["quantity"].tolist() == ["k"] and pooled["difference"].tolist() == [1]
    assert not changes["change"].isin(["significance_flip", "moderator_test_flip", "newly_influential"]).any()
    text = changes_paragraph(changes, {"outcome": "log_or"})
    assert "The outcome family's pooled model changed (REML, test z; z metric \u2192 REML, test z; log_or metric)" in text
    assert "moved from" not in text and "one study added" in text
    # the same model with an estimate that rounds to the same r: unchanged to two decimals, not unchanged
    nudged = record("c", rows, {**POOLED_A, "estimate": 0.1004})
    assert "is unchanged to two decimals at r = .10" in changes_paragraph(compare(before, nudged), {"outcome": "z"})


CONFIG = {"families": ["outcome"], "metric.outcome": "z", "moderators": ["modality", "rater"],
          "pooling.main_method": "REML", "pooling.tests": ["z", "knha"], "aggregate_rho": 0.5}


def test_a_config_change_is_listed_with_its_keys():
    """A different pooling.main_method, a moderator added or pooling.tests reordered moved the compared numbers
    and changes.csv gave no reason: the snapshot did not record the config."""
    rows = [es("S1", "1", 2, 0.1), es("S2", "1", 3, 0.2)]
    before = {**record("a", rows, POOLED_A, {"rater": {"qm_p": 0.20, "f_p": 0.03}}), "config": CONFIG}
    changed = {**CONFIG, "pooling.main_method": "DL", "moderators": ["modality", "rater", "timing"],
               "pooling.tests": ["knha", "z"], "aggregate_rho": 0.8}
    after = {**record("b", rows + [es("S3", "1", 4, 0.3)], POOLED_B, {"rater": {"qm_p": 0.20, "f_p": 0.03}}),
             "config": changed}
    changes = compare(before, after)
    config = changes[changes["change"] == "config_changed"]
    assert config["quantity"].tolist() == ["aggregate_rho", "moderators", "pooling.main_method", "pooling.tests"]
    assert config["note"].tolist() == ["aggregate_rho: 0.5 -> 0.8", "moderators: [modality, rater] -> [modality, rater, "
                                       "timing]", "pooling.main_method: REML -> DL", "pooling.tests: [z, knha] -> [knha, z]"]
    assert changes["change"].iloc[0] == "config_changed"  # first: they explain the rows below
    text = changes_paragraph(changes, {"outcome": "z"})
    assert ("The config changed since the last run of the previous sheet version: aggregate_rho 0.5 \u2192 0.8; moderators [modality, rater] "
            "\u2192 [modality, rater, timing]; pooling.main_method REML \u2192 DL; pooling.tests [z, knha] \u2192 "
            "[knha, z].") in text
    # the same config: no row; a key only one run has; a snapshot of an earlier version without config
    assert "config_changed" not in set(compare(before, {**after, "config": CONFIG})["change"])
    added = compare(before, {**after, "config": {**CONFIG, "decimal": "auto"}})
    assert added.loc[added["change"] == "config_changed", "note"].tolist() == ["decimal: (not recorded) -> auto"]
    # the posterior compared from now on: the changes.analyses row, not one row per bayes setting
    bayes = {**CONFIG, "changes.analyses": ["pooled", "bayes"], "bayes.seed": 1, "bayes.draws": 1000}
    added = compare({**before, "config": {**CONFIG, "changes.analyses": ["pooled"]}}, {**after, "config": bayes})
    assert added.loc[added["change"] == "config_changed", "note"].tolist() == [
        "changes.analyses: [pooled] -> [pooled, bayes]"]
    both = compare({**before, "config": bayes}, {**after, "config": {**bayes, "bayes.seed": 2}})
    assert both.loc[both["change"] == "config_changed", "note"].tolist() == ["bayes.seed: 1 -> 2"]
    old = compare(record("a", rows, POOLED_A), after)
    assert old["change"].iloc[0] == "config_not_recorded" and "not listed" in changes_paragraph(old, {"outcome": "z"})
    # unchanged data and config: still no_change
    assert compare(before, {**record("c", rows, POOLED_A), "config": CONFIG})["change"].tolist()[0] == "no_change"


def test_compared_config_holds_the_keys_of_the_compared_results_only():
    from alliance_meta.report.changes import compared_config

    config = {"families": ["outcome", "dropout"], "metric": {"outcome": "z", "dropout": "smd"},
              "moderators": ["modality"], "continuous_moderators": ["year"], "dependence": "aggregate",
              "aggregate_method": "gls", "aggregate_rho": 0.5,
              "pooling": {"methods": ["REML", "DL"], "tests": ["z"], "knha_adhoc": False, "level": 95,
                          "main_method": "REML"},
              "multilevel": {"method": "ML", "robust": True}, "plots": {"font_size": 9}, "prisma": None,
              "bayes": {"prior": {"mu_sd": 1.0, "tau": {"family": "half_normal", "scale": 0.5}}, "seed": 1,
                        "thresholds": [0.1]},
              "changes": {"analyses": ["moderators"]}}
    flat = compared_config(config)
    assert list(flat) == sorted(flat)
    assert flat["metric.dropout"] == "smd" and flat["pooling.main_method"] == "REML" and flat["moderators"] == ["modality"]
    assert not any(key.startswith(("plots", "prisma", "bayes", "multilevel", "pooling.methods")) for key in flat)
    multilevel = compared_config({**config, "dependence": "multilevel", "changes": {"analyses": ["bayes"]}})
    assert multilevel["multilevel.method"] == "ML" and "pooling.main_method" not in multilevel
    assert multilevel["bayes.prior.tau.family"] == "half_normal" and multilevel["bayes.seed"] == 1
    assert "bayes.thresholds" not in multilevel


def test_a_rerun_of_the_same_sheet_with_another_config_lists_it_and_stays_byte_identical(tmp_path):
    """Without a run of another sheet, a config change was "no previous run" only: a reviewer rerunning the demo
    with another estimator saw the numbers move and nothing said why."""
    rows = [es("S1", "1", 2, 0.1)]
    first = chain({**record("a", rows, POOLED_A), "config": CONFIG}, None)
    assert "config_previous" not in first
    rerun = chain({**record("a", rows, POOLED_B), "config": {**CONFIG, "pooling.main_method": "DL"}}, None, first)
    assert rerun["config_previous"] == CONFIG
    changes = compare(None, rerun)
    assert changes["change"].tolist() == ["no_previous_run", "config_changed"]
    assert changes["note"].iloc[1] == "pooling.main_method: REML -> DL"
    text = changes_paragraph(changes)
    assert text.endswith("The config changed since the previous run of this sheet: pooling.main_method REML \u2192 DL.")
    # the same sheet and config again: the same snapshot and changes, byte for byte
    write_snapshot(rerun, tmp_path / "a.json")
    again = chain({**record("a", rows, POOLED_B), "config": {**CONFIG, "pooling.main_method": "DL"}}, None, rerun)
    write_snapshot(again, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert compare(None, again).to_csv(index=False) == changes.to_csv(index=False)
    # back to the first config: listed the other way round
    back = chain({**record("a", rows, POOLED_A), "config": CONFIG}, None, again)
    assert compare(None, back)["note"].iloc[1] == "pooling.main_method: DL -> REML"


def test_a_recoded_moderator_is_named_by_its_column(tmp_path):
    """modality changed from CBT to psychodynamic was an effect_size_edited row with quantity yi (difference 0)."""
    before = {**record("a", [es("S1", "1", 2, 0.1, r="0.1", modality="CBT", authors="Lee"),
                             es("S2", "1", 3, 0.2, r="0.2", modality="CBT")], POOLED_A), "config": CONFIG}
    after = {**record("b", [es("S1", "1", 2, 0.1, r="0.1", modality="psychodynamic", authors="Lee"),
                            es("S2", "1", 3, 0.25, r="0.25", modality="IPT")], POOLED_A), "config": CONFIG}
    changes = compare(before, after)
    edited = changes[changes["change"] == "effect_size_edited"]
    assert edited[["study_id", "quantity", "note"]].values.tolist() == [
        ["S1", "modality", "modality: CBT -> psychodynamic"],
        ["S2", "yi", "r: 0.2 -> 0.25"],
        ["S2", "modality", "modality: CBT -> IPT"]]
    # the codes as written in previous and current (they were only in the note), no difference of text
    assert edited[["previous", "current"]].values.tolist()[::2] == [["CBT", "psychodynamic"], ["CBT", "IPT"]]
    assert edited["difference"].isna().tolist() == [True, False, True]
    assert edited.loc[edited["quantity"] == "yi", "difference"].iloc[0] == pytest.approx(0.05)
    text = changes_paragraph(changes, {"outcome": "z"})
    # S1's recode moved no effect size: one effect size edited, and the codes besides (it said "2 edited")
    assert "Since the last run of the previous sheet version: one effect size edited." in text
    # read back from changes.csv (text in previous and current makes the column text): the same paragraph
    from alliance_meta.io import read_table, write_table

    moved = pd.concat([changes, pd.DataFrame([{"change": "pooled", "family": "outcome", "quantity": "estimate",
                                               "previous": 0.1, "current": 0.3, "difference": 0.2}])],
                      ignore_index=True)
    path = tmp_path / "changes.csv"
    write_table(moved, path)
    back = changes_paragraph(read_table(path, text=["es_id"]), {"outcome": "z"})
    assert back == changes_paragraph(moved, {"outcome": "z"}) and "moved from r = .10 to .29" in back
    from alliance_meta.report.html import changes_section

    k_row = pd.DataFrame([{"change": "pooled", "family": "outcome", "quantity": "k", "previous": 3, "current": 4,
                           "difference": 1}])
    write_table(pd.concat([moved, k_row], ignore_index=True), path)
    section = changes_section(read_table(path, text=["es_id"]), {"outcome": "z"})  # "format code 'g' for str"
    assert "(k 3 \u2192 4)" in section.paragraph
    assert "Cells edited besides the effect sizes: modality (two rows)." in text
    # a cell that moves neither yi nor vi (the authors' names) is named as well, not called yi
    renamed = {**record("c", [es("S1", "1", 2, 0.1, r="0.1", modality="psychodynamic", authors="Lee J"),
                              es("S2", "1", 3, 0.25, r="0.25", modality="IPT")], POOLED_A), "config": CONFIG}
    edits = compare(after, renamed)
    assert edits.loc[edits["change"] == "effect_size_edited", ["quantity", "note"]].values.tolist() == [
        ["authors", "authors: Lee -> Lee J"]]


def test_another_risk_of_bias_tool_is_a_config_change():
    """risk_of_bias.tool decides the rob_overall derived from the domains: switched from quips to custom (the worst
    domain), changes.csv listed every derived rob_overall as an edited cell and named no config change."""
    from alliance_meta.report.changes import compared_config

    rows = [es("S1", "1", 2, 0.1), es("S2", "1", 3, 0.2)]
    quips = compared_config({"risk_of_bias": {"tool": "quips", "domains": [], "levels": ["low", "moderate", "high"]}})
    custom = compared_config({"risk_of_bias": {"tool": "custom", "domains": ["attrition"],
                                               "levels": ["low", "moderate", "high"]}})
    changes = compare({**record("a", rows, POOLED_A), "config": quips}, {**record("b", rows, POOLED_A), "config": custom})
    assert changes.loc[changes["change"] == "config_changed", "note"].tolist() == [
        "risk_of_bias.domains: (not used by quips) -> [attrition]",
        "risk_of_bias.levels: (not used by quips) -> [low, moderate, high]", "risk_of_bias.tool: quips -> custom"]


QUIPS_DOMAINS = ("participation", "attrition", "prognostic_factor", "outcome", "confounding", "analysis")


def rob_es(study, row, domains, overall=""):
    """An effect size with the six QUIPS domain judgements ``domains`` and ``rob_overall`` as effect_sizes.csv has
    it (the sheet's, or derived from the domains where the sheet left it empty)."""
    cells = {f"rob_{domain}": judgement for domain, judgement in zip(QUIPS_DOMAINS, domains)}
    return es(study, "1", row, 0.1, **cells, **({"rob_overall": overall} if overall else {}))


def test_rob_overall_moved_by_another_tool_is_one_row_of_the_config_change():
    """Switched from QUIPS to a custom tool of the same domains (overall: the worst domain), every derived rob_overall
    whose rule gives another judgement was an effect_size_edited row (141 in the demo), as if the reviewer had
    recoded it; now one rob_overall_rederived row names the config change. A domain edited in the same rerun, and a
    written rob_overall edited, are still listed cell by cell."""
    from alliance_meta.report.changes import compared_config

    quips = compared_config({"risk_of_bias": {"tool": "quips"}})
    custom = compared_config({"risk_of_bias": {"tool": "custom", "domains": list(QUIPS_DOMAINS),
                                               "levels": ["low", "moderate", "high"]}})
    one_moderate = ["low", "moderate", "low", "low", "low", "low"]  # QUIPS: low; the worst domain: moderate
    before = [rob_es("S1", 2, one_moderate, "low"), rob_es("S2", 3, one_moderate, "low"),
              rob_es("S3", 4, ["low"] * 6, "low"), rob_es("S4", 5, one_moderate, "low")]
    after = [rob_es("S1", 2, one_moderate, "moderate"), rob_es("S2", 3, one_moderate, "moderate"),
             rob_es("S3", 4, ["high"] + ["low"] * 5, "high"),  # a domain edited: both cells listed
             rob_es("S4", 5, one_moderate, "high")]  # the written overall edited (the rule gives moderate)
    changes = compare({**record("a", before, POOLED_A), "config": quips},
                      {**record("b", after, POOLED_A), "config": custom})
    assert changes["change"].tolist() == ["config_changed"] * 3 + ["rob_overall_rederived"] + [
        "effect_size_edited"] * 3
    rederived = changes[changes["change"] == "rob_overall_rederived"].iloc[0]
    assert rederived["note"].startswith("rob_overall of 2 studies (2 effect sizes, sheet rows 2, 3) changed with the "
                                        "risk-of-bias config (risk_of_bias.domains, risk_of_bias.levels, "
                                        "risk_of_bias.tool) alone")
    edited = changes[changes["change"] == "effect_size_edited"]
    assert edited[["study_id", "quantity", "previous", "current"]].values.tolist() == [
        ["S3", "rob_overall", "low", "high"], ["S3", "rob_participation", "low", "high"],
        ["S4", "rob_overall", "low", "high"]]
    text = changes_paragraph(changes)
    assert "The rob_overall of two studies changed with the risk-of-bias config alone" in text
    assert "rob_overall (two rows)" in text  # the two edits named beside the effect sizes, not the four
    # the same tool in both runs: every rob_overall that moved is an edit, as before
    same = compare({**record("a", before, POOLED_A), "config": custom},
                   {**record("b", after, POOLED_A), "config": custom})
    assert "rob_overall_rederived" not in set(same["change"])
    assert (same["quantity"] == "rob_overall").sum() == 4


def test_a_domain_column_added_or_replaced_with_the_tool_is_no_rederived_overall():
    """A domain column that appeared or disappeared as a whole (a column_added row) was left out of the "domains
    unchanged" check: a custom tool of the QUIPS domains plus blinding, with S1 rated high on blinding, made S1's
    rob_overall low -> high a rederived one, and quips -> rob2 with every domain column replaced the same; the
    recoding was not listed. Only a row whose every domain cell is the same in both runs is rederived."""
    from alliance_meta.report.changes import compared_config

    quips = compared_config({"risk_of_bias": {"tool": "quips"}})
    custom = compared_config({"risk_of_bias": {"tool": "custom", "domains": [*QUIPS_DOMAINS, "blinding"],
                                               "levels": ["low", "moderate", "high"]}})
    before = [rob_es("S1", 2, ["low"] * 6, "low"), rob_es("S2", 3, ["low"] * 6, "low")]
    after = [rob_es("S1", 2, ["low"] * 6, "high"), rob_es("S2", 3, ["low"] * 6, "low")]
    after[0]["cells"]["rob_blinding"], after[1]["cells"]["rob_blinding"] = "high", "low"
    changes = compare({**record("a", before, POOLED_A), "config": quips},
                      {**record("b", after, POOLED_A), "config": custom})
    assert "rob_overall_rederived" not in set(changes["change"])
    assert changes.loc[changes["change"] != "config_changed", ["change", "study_id", "quantity"]].values.tolist() == [
        ["column_added", "", "rob_blinding"], ["effect_size_edited", "S1", "rob_overall"]]
    assert changes.loc[changes["change"] == "effect_size_edited", ["previous", "current"]].values.tolist() == [
        ["low", "high"]]
    rob2_domains = ("randomisation", "deviations", "missing_data", "measurement", "selection")

    def rob2_es(study, row, domains, overall):
        return es(study, "1", row, 0.1, **{f"rob_{d}": j for d, j in zip(rob2_domains, domains)}, rob_overall=overall)

    rob2 = compared_config({"risk_of_bias": {"tool": "rob2"}})
    before = [rob_es("S1", 2, ["low", "moderate"] + ["low"] * 4, "low")]
    after = [rob2_es("S1", 2, ["low", "some concerns", "low", "low", "low"], "some concerns")]
    changes = compare({**record("a", before, POOLED_A), "config": quips},
                      {**record("b", after, POOLED_A), "config": rob2})
    assert "rob_overall_rederived" not in set(changes["change"])
    assert changes.loc[changes["change"] == "effect_size_edited", ["study_id", "quantity", "previous",
                                                                   "current"]].values.tolist() == [
        ["S1", "rob_overall", "low", "some concerns"]]


def test_the_paragraph_counts_rederived_studies_from_the_data_not_the_note():
    """changes_paragraph read the number of studies back from the row's note with a regex (an AttributeError once
    the note is worded otherwise); the row carries it in current."""
    from alliance_meta.report.changes import compared_config

    quips = compared_config({"risk_of_bias": {"tool": "quips"}})
    custom = compared_config({"risk_of_bias": {"tool": "custom", "domains": list(QUIPS_DOMAINS)}})
    one_moderate = ["low", "moderate", "low", "low", "low", "low"]
    before = [rob_es(f"S{i}", i + 1, one_moderate, "low") for i in (1, 2, 3)] + [rob_es("S3", 5, one_moderate, "low")]
    after = [rob_es(f"S{i}", i + 1, one_moderate, "moderate") for i in (1, 2, 3)] + [
        rob_es("S3", 5, one_moderate, "moderate")]
    before[-1]["key"] = after[-1]["key"] = "S3|2"
    changes = compare({**record("a", before, POOLED_A), "config": quips},
                      {**record("b", after, POOLED_A), "config": custom})
    rederived = changes["change"] == "rob_overall_rederived"
    assert changes.loc[rederived, "current"].tolist() == [3]  # studies, not the four effect sizes
    changes.loc[rederived, "note"] = "worded otherwise"
    read_back = read_table(io.StringIO(changes.to_csv(index=False)))
    assert "The rob_overall of three studies changed with the risk-of-bias config alone" in changes_paragraph(read_back)
    from alliance_meta.report.html import changes_section

    table = changes_section(read_back, {"outcome": "z"}).tables[0]  # a count, shown whole
    assert [row[table.columns.index("current")] for row in table.rows
            if row[table.columns.index("change")] == "rob_overall_rederived"] == ["3"]


def test_the_tool_settings_are_one_rule_for_the_workflow_and_the_snapshot():
    """Domains and levels only for a custom tool was written twice (changes.CUSTOM_TOOL_KEYS and a filter in
    common.smk); both now take inputs.risk_of_bias.tool_settings, so the keys the snapshot compares are the
    tool keys the workflow's rules get."""
    from alliance_meta.inputs.risk_of_bias import tool_settings
    from alliance_meta.report.changes import compared_config

    assert "tool_settings(config[\"risk_of_bias\"])" in (ROOT / "workflow" / "rules" / "common.smk").read_text()
    for block in ({"tool": "quips", "domains": ["a"], "levels": ["low", "high"], "weighted": True},
                  {"tool": "custom", "domains": ["a"], "levels": ["low", "high"], "weighted": True},
                  {"tool": "rob2", "weighted": False}):
        compared = {key.split(".", 1)[1] for key in compared_config({"risk_of_bias": block})
                    if key.startswith("risk_of_bias.")}
        assert compared == set(tool_settings(block))
    assert set(tool_settings({"tool": "quips", "domains": ["a"], "weighted": True})) == {"tool"}


def test_levels_or_domains_a_built_in_tool_ignores_are_no_config_change():
    """risk_of_bias.levels (or domains) edited under QUIPS, which does not read them, was a config_changed row; they
    are recorded only under a custom tool, and a snapshot that recorded them beside a built-in tool is compared as
    if it had not."""
    from alliance_meta.report.changes import compared_config

    rows = [es("S1", "1", 2, 0.1)]
    levels = compared_config({"risk_of_bias": {"tool": "quips", "levels": ["good", "fair", "poor"]}})
    assert "risk_of_bias.levels" not in levels and "risk_of_bias.domains" not in levels
    assert levels == compared_config({"risk_of_bias": {"tool": "quips"}})  # the rule's params: no rerun either
    earlier = {**levels, "risk_of_bias.domains": [], "risk_of_bias.levels": ["low", "high"]}  # recorded at c616e56
    changes = compare({**record("a", rows, POOLED_A), "config": earlier}, {**record("b", rows, POOLED_A),
                                                                          "config": levels})
    assert changes["change"].tolist() == ["no_change"]
    custom = {"risk_of_bias": {"tool": "custom", "domains": ["attrition"], "levels": ["low", "moderate", "high"]}}
    other_levels = compared_config({"risk_of_bias": {**custom["risk_of_bias"], "levels": ["good", "poor"]}})
    changes = compare({**record("a", rows, POOLED_A), "config": compared_config(custom)},
                      {**record("b", rows, POOLED_A), "config": other_levels})
    assert changes.loc[changes["change"] == "config_changed", "note"].tolist() == [
        "risk_of_bias.levels: [low, moderate, high] -> [good, poor]"]


def schema_defaults() -> dict:
    """The compared config at the defaults of this checkout's workflow/schemas/config.schema.yaml."""
    from alliance_meta.inputs.config_check import load_schema
    from alliance_meta.report.changes import config_defaults

    return config_defaults(load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml"))


def test_keys_an_earlier_snapshot_lacks_at_their_default_are_one_row():
    """The first rerun after an upgrade compared with a snapshot that did not record some keys showed a "(not
    recorded)" row for each though the reviewer changed nothing; then they were no row at all, so that decimal set
    to "," in the earlier run and back at its default auto now was silent. The keys at their defaults are one row
    naming them; a key at another value keeps its own row."""
    defaults = schema_defaults()
    assert (defaults["risk_of_bias.tool"], defaults["decimal"], defaults["sheet_name"]) == ("quips", "auto", None)
    rows = [es("S1", "1", 2, 0.1)]
    now, earlier = {**CONFIG, "risk_of_bias.tool": "quips", "decimal": "auto", "sheet_name": None}, CONFIG
    changes = compare({**record("a", rows, POOLED_A), "config": earlier}, {**record("b", rows, POOLED_A),
                                                                           "config": now}, defaults)
    assert changes[["change", "quantity", "note"]].values.tolist() == [
        ["config_changed", "decimal, risk_of_bias.tool, sheet_name",
         "not recorded by the earlier snapshot, now at their defaults: decimal, risk_of_bias.tool, sheet_name"]]
    assert ("The config changed since the last run of the previous sheet version: decimal, risk_of_bias.tool, "
            "sheet_name (not recorded by the earlier snapshot, now at their defaults).") in changes_paragraph(changes)
    rob2 = {**now, "risk_of_bias.tool": "rob2"}
    changes = compare({**record("a", rows, POOLED_A), "config": earlier}, {**record("b", rows, POOLED_A),
                                                                           "config": rob2}, defaults)
    assert changes.loc[changes["change"] == "config_changed", "note"].tolist() == [
        "risk_of_bias.tool: (not recorded) -> rob2",
        "not recorded by the earlier snapshot, now at their defaults: decimal, sheet_name"]
    # the same for a rerun of this sheet with another config, as the report's opening sentence says it
    from alliance_meta.report.changes import compared_sentence

    rerun = {**record("b", rows, POOLED_A), "sequence": 2, "previous": "a", "config": rob2, "config_previous": earlier}
    assert "(changed since: risk_of_bias.tool (not recorded) \u2192 rob2; decimal, sheet_name (not recorded by the " \
           "earlier snapshot, now at their defaults))" in compared_sentence(rerun, defaults)


def test_the_defaults_are_the_callers_not_read_from_where_the_package_is(monkeypatch):
    """The defaults came from the schema beside the package's own files: after `pip install .` (no workflow folder
    there) none, so every key was "(not recorded)"; from another checkout's editable install, its schema. The rule
    passes its workflow's defaults; the package reads no schema for them."""
    import alliance_meta.inputs.options as options

    monkeypatch.setattr(options, "CONFIG_SCHEMA", Path("/nonexistent/workflow/schemas/config.schema.yaml"))
    rows = [es("S1", "1", 2, 0.1)]
    now = {**CONFIG, "risk_of_bias.tool": "quips"}
    changes = compare({**record("a", rows, POOLED_A), "config": CONFIG}, {**record("b", rows, POOLED_A),
                                                                          "config": now}, schema_defaults())
    assert changes["note"].tolist() == ["not recorded by the earlier snapshot, now at their defaults: "
                                        "risk_of_bias.tool"]
    # another checkout's schema with another default: the caller's defaults decide
    changes = compare({**record("a", rows, POOLED_A), "config": CONFIG}, {**record("b", rows, POOLED_A),
                                                                          "config": now},
                      {**schema_defaults(), "risk_of_bias.tool": "rob2"})
    assert changes["note"].tolist() == ["risk_of_bias.tool: (not recorded) -> quips"]


@pytest.mark.slow
def test_a_config_change_in_the_workflow_is_listed_and_other_keys_rerun_nothing(tmp_path):
    """The rule keeps this sheet's snapshot until it replaces it (for the config it was run with) and has only the
    compared config keys as params: a plots setting reruns nothing up to changes.csv."""
    folder = tmp_path / "review"
    (folder / "data" / "raw").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "raw" / "studies.csv", folder / "data" / "raw" / "studies.csv")
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config.update(families=["outcome"], second_coder=None, prisma=None, changes={"analyses": ["moderators"]},
                  continuous_moderators=[], meta_regression=[], location_scale=[], permutations=0,
                  pooling={**config["pooling"], "methods": ["REML", "DL"], "tests": ["z"]})
    (folder / "config").mkdir()

    def run(*extra, **changed):
        (folder / "config" / "config.yaml").write_text(yaml.safe_dump({**config, **changed}))
        result = subprocess.run([*SNAKEMAKE, "--directory", str(folder), "results/changes.csv", *extra],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout + result.stderr

    run()
    assert read_table(folder / "results" / "changes.csv")["change"].tolist() == ["no_previous_run"]
    changed = dict(pooling={**config["pooling"], "methods": ["REML", "DL"], "tests": ["z"], "main_method": "DL"},
                   moderators=["modality", "rater", "timing"])
    run(**changed)
    changes = read_table(folder / "results" / "changes.csv")
    assert changes["change"].tolist() == ["no_previous_run", "config_changed", "config_changed"]
    assert changes["note"].tolist()[1:] == ["moderators: [modality, rater] -> [modality, rater, timing]",
                                            "pooling.main_method: REML -> DL"]
    saved = [path.read_bytes() for path in (folder / "results" / "changes.csv", *(folder / "results" / "history").glob("*"))]
    run("--forcerun", "changes", **changed)
    assert [path.read_bytes() for path in (folder / "results" / "changes.csv",
                                           *(folder / "results" / "history").glob("*"))] == saved
    assert "Nothing to be done" in run("--dry-run", **changed)
    assert "Nothing to be done" in run("--dry-run", **changed, plots={**config["plots"], "font_size": 12})
    # the config this sheet was run with first, as an earlier version recorded it (without decimal, sheet_name and
    # risk_of_bias.tool): at the defaults of the workflow's own schema, which the rule passes, they are one row
    snapshot = next((folder / "results" / "history").glob("*.json"))
    recorded = json.loads(snapshot.read_text())
    for key in ("decimal", "sheet_name", "risk_of_bias.tool"):
        del recorded["config_previous"][key]
    snapshot.write_text(json.dumps(recorded))
    run("--forcerun", "changes", **changed)
    assert read_table(folder / "results" / "changes.csv")["note"].tolist()[2:] == [
        "pooling.main_method: REML -> DL",
        "not recorded by the earlier snapshot, now at their defaults: decimal, risk_of_bias.tool, sheet_name"]


def test_moderators_the_sheet_codes_are_no_config_change_and_the_worksheet_is_compared():
    """Without moderators in the config the run takes those the sheet codes: a sheet that began coding rater was
    a config_changed row 'moderators: [modality] -> [modality, rater]' and the report said the config changed.
    Another worksheet of the same file (sheet_name) or another decimal mark decides the data and was not listed."""
    from alliance_meta.report.changes import MODERATORS_FROM_SHEET, compared_config

    base = {"moderators": ["modality"], "sheet_name": None, "decimal": "auto", "pooling": {"main_method": "REML"}}
    first = compared_config(base, moderators_from_sheet=True)
    second = compared_config({**base, "moderators": ["modality", "rater"]}, moderators_from_sheet=True)
    assert first["moderators"] == second["moderators"] == MODERATORS_FROM_SHEET
    assert compared_config(base)["moderators"] == ["modality"]  # written by the reviewer: compared as written
    rows = [es("S1", "1", 2, 0.1)]
    before = {**record("a", rows, POOLED_A), "config": first}
    after = {**record("b", rows, POOLED_A), "config": second}
    assert "config_changed" not in set(compare(before, after)["change"])
    other = {**record("b", rows, POOLED_A), "config": compared_config({**base, "sheet_name": "Update 2026"}, True)}
    assert compare(before, other).query("change == 'config_changed'")["note"].tolist() == [
        "sheet_name: null -> Update 2026"]


def test_a_recoded_moderator_is_its_own_row_when_the_moderators_are_left_to_the_sheet():
    """A run without `moderators` records MODERATORS_FROM_SHEET, a string: its letters were taken for the moderator
    columns, so a modality recoded in a row whose r was corrected too went into the yi row's note (and the report
    did not name it among the cells edited besides the effect sizes)."""
    from alliance_meta.report.changes import DEFAULT_MODERATORS, compared_config

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert list(DEFAULT_MODERATORS) == schema["properties"]["moderators"]["default"]
    config = compared_config({"moderators": ["modality"], "pooling": {"main_method": "REML"}}, moderators_from_sheet=True)
    before = {**record("a", [es("S2", "1", 3, 0.2, r="0.2", modality="CBT")], POOLED_A), "config": config}
    after = {**record("b", [es("S2", "1", 3, 0.25, r="0.25", modality="IPT")], POOLED_A), "config": config}
    edited = compare(before, after).query("change == 'effect_size_edited'")
    assert edited[["quantity", "note"]].values.tolist() == [["yi", "r: 0.2 -> 0.25"],
                                                            ["modality", "modality: CBT -> IPT"]]


def test_k_is_written_whole_beside_a_recoded_cell(tmp_path):
    """A recoded moderator's text makes previous and current object columns, where k (a float in the snapshot) was
    written as 127.0 -> 126.0."""
    from alliance_meta.io import write_table

    before = {**record("a", [es("S1", "1", 2, 0.1, r="0.1", modality="CBT"), es("S2", "1", 3, 0.2, r="0.2")],
                       {**POOLED_A, "k": 3.0}), "config": CONFIG}  # k as read from a snapshot
    after = {**record("b", [es("S1", "1", 2, 0.1, r="0.1", modality="IPT")], {**POOLED_A, "k": 2.0}), "config": CONFIG}
    path = tmp_path / "changes.csv"
    write_table(compare(before, after), path)
    assert "pooled,outcome,,,,,k,3,2,-1," in path.read_text()


def test_an_edit_across_a_metric_switch_has_no_difference():
    """metric.dropout smd -> log_or in the same run as a corrected n1: the row's previous yi (g) and current yi (log
    OR) were subtracted into a difference of 0.30 that is no change of the data."""
    before = {**record("a", [{**es("S1", "1", 2, 0.395, n1="16", n2="7", f="0.82"), "metric": "smd"}], POOLED_A),
              "config": CONFIG}
    after = {**record("b", [{**es("S1", "1", 2, 0.699, n1="26", n2="7", f="0.82"), "metric": "log_or"}], POOLED_A),
             "config": CONFIG}
    edited = compare(before, after).query("change == 'effect_size_edited'")
    assert edited[["quantity", "previous", "current"]].values.tolist() == [["yi", 0.395, 0.699]]
    assert edited["difference"].isna().all()
    assert edited["note"].iloc[0] == "n1: 16 -> 26; yi in the smd metric before, the log_or metric now"


def test_the_snapshot_is_a_target_so_a_deleted_history_is_written_again(tmp_path):
    """Snakemake does not remake a missing file that only an up-to-date job reads: with results/history/ deleted,
    a rerun said "Nothing to be done", wrote no snapshot (the next update had nothing to compare with) and left the
    report naming snapshots that were gone. The default target now names this sheet's snapshot."""
    import hashlib

    folder = tmp_path / "review"
    shutil.copytree(ROOT / ".test" / "outcome_only", folder)
    sha = hashlib.sha256((folder / "data" / "raw" / "studies.csv").read_bytes()).hexdigest()
    result = subprocess.run([*SNAKEMAKE, "--directory", str(folder), "--dry-run"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    target = result.stdout.split("rule all:", 1)[1].split("\n")[1]  # the line "input: ..." of the default target
    assert f"results/history/{sha}.json" in target.split(", ")


def test_every_compared_config_key_is_a_key_of_the_config_schema():
    """The keys changes.csv compares between runs (report/changes.py, a hand-kept list) exist in the schema:
    a key renamed there would otherwise be compared as always absent (None), and its changes never listed."""
    from alliance_meta.report.changes import COMPARED_BAYES_CONFIG, COMPARED_CONFIG

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    missing = []
    for key in (*COMPARED_CONFIG, *COMPARED_BAYES_CONFIG, "pooling.main_method", "multilevel.method"):
        node = schema
        for part in key.split("."):
            node = (node.get("properties") or {}).get(part) if isinstance(node, dict) else None
        if node is None:
            missing.append(key)
    assert not missing, f"compared config keys not in the schema: {missing}"


def _frame(rows, columns):
    """effect_sizes.csv as the rule reads it (text, empty cells "")."""
    return pd.DataFrame([{c: str(row.get(c, "")) for c in columns} for row in rows], columns=columns, dtype=str)


def test_a_template_column_filled_in_for_the_first_time_is_not_a_new_column():
    """A study newly coded from means and SDs gave a column_added row for m1, sd1, m2, sd2, n1 and n2, columns the
    sheet had all along (empty): its cells belong to the effect size added. A column present and empty in both
    runs gives no row either; a column the previous sheet did not have still does."""
    from alliance_meta.report.changes import snapshot

    columns = ["es_id", "sheet_row", "study_id", "family", "yi", "vi", "metric", "input_kind", "conversion", "n", "r",
               "m1", "sd1", "m2", "sd2", "n1", "n2", "rater"]
    first = [dict(es_id="S1-1", sheet_row=2, study_id="S1", family="outcome", yi=0.1, vi=0.01, metric="z",
                  input_kind="r", r="0.1", n="100")]
    added = dict(es_id="S2-1", sheet_row=3, study_id="S2", family="outcome", yi=0.2, vi=0.02, metric="z",
                 input_kind="means_sds", m1="5.6", sd1="0.9", m2="5.2", sd2="1.0", n1="42", n2="39")

    def taken(rows, sha, columns=columns):
        return snapshot(_frame(rows, columns), {}, sheet="s.csv", sheet_sha256=sha, main_method="REML", tests=["z"])

    changes = compare(taken(first, "a"), taken(first + [added], "b"))
    assert not changes["change"].isin(["column_added", "column_removed"]).any(), changes
    assert changes["change"].tolist() == ["study_added", "effect_size_added"]
    # and back: the study removed empties the columns again, which the sheet keeps: no column_removed either
    assert not compare(taken(first + [added], "b"), taken(first, "a"))["change"].isin(["column_removed"]).any()
    # a column new in the sheet and filled in is one column_added row; new and empty, none
    new_column = compare(taken(first, "a", columns[:-1]), taken([{**first[0], "rater": "patient"}], "c"))
    assert new_column.loc[new_column["change"] == "column_added", "quantity"].tolist() == ["rater"]
    assert compare(taken(first, "a", columns[:-1]), taken(first, "d"))["change"].tolist() == ["no_change"]
    # an empty column filled in on the effect sizes of the previous run is one column_added row, not an edit each
    rated = compare(taken(first, "a"), taken([{**first[0], "rater": "patient"}], "e"))
    assert rated["change"].tolist() == ["column_added"] and rated["quantity"].tolist() == ["rater"]
    assert compare(taken([{**first[0], "rater": "patient"}], "e"), taken(first, "a"))["change"].tolist() == [
        "column_removed"]


def test_an_effect_size_added_or_removed_names_its_value():
    """effect_size_added rows had an empty quantity: now yi, in the note the metric and the input it came from."""
    before = record("a", [es("S1", "1", 2, 0.1, r="0.1")], POOLED_A)
    after = record("b", [es("S1", "1", 2, 0.1, r="0.1"),
                         {**es("S2", "1", 3, 0.25, m1="5.6"), "metric": "z", "input_kind": "means_sds"}], POOLED_A)
    added = compare(before, after).set_index("change").loc["effect_size_added"]
    assert (added["quantity"], added["current"], added["note"]) == ("yi", 0.25, "z metric, from means_sds")
    removed = compare(after, before).set_index("change").loc["effect_size_removed"]
    assert (removed["quantity"], removed["previous"], removed["note"]) == ("yi", 0.25, "z metric, from means_sds")


def test_pooled_values_that_did_not_change_have_no_row():
    """Every compared pooled value had a row, those equal too (difference 0)."""
    before = record("a", [es("S1", "1", 2, 0.1, r="0.1", rater="patient")], POOLED_A)
    after = record("b", [es("S1", "1", 2, 0.1, r="0.1", rater="observer")], {**POOLED_A, "tau2": 0.03})
    changes = compare(before, after)
    pooled = changes[changes["change"] == "pooled"]
    assert pooled["quantity"].tolist() == ["tau2"] and pooled["difference"].iloc[0] == pytest.approx(0.01)
    assert "The outcome estimate is unchanged (\u03c4\u00b2 0.020 \u2192 0.030)." in changes_paragraph(
        changes, {"outcome": "z"})
    # a real change in the last digits is still listed (full precision)
    tiny = compare(before, record("c", [es("S1", "1", 2, 0.1, r="0.1")], {**POOLED_A, "estimate": 0.10 + 1e-9}))
    assert tiny.loc[tiny["change"] == "pooled", "quantity"].tolist() == ["estimate"]
    recoded = compare(before, record("d", [es("S1", "1", 2, 0.1, r="0.1", rater="observer")], POOLED_A))
    assert "pooled" not in set(recoded["change"])
    assert "The outcome estimate" not in changes_paragraph(recoded, {"outcome": "z"})


def test_a_study_no_longer_influential_is_listed_like_a_newly_influential_one():
    rows = [es("S1", "1", 2, 0.1), es("S2", "1", 3, 0.2)]
    before, after = record("a", rows, POOLED_A, influential=["S1"]), record("b", rows[::-1], POOLED_A, influential=["S2"])
    changes = compare(before, after)
    assert changes.loc[changes["change"] == "newly_influential", "study_id"].tolist() == ["S2"]
    assert changes.loc[changes["change"] == "no_longer_influential", "study_id"].tolist() == ["S1"]
    text = changes_paragraph(changes, {"outcome": "z"})
    assert "Newly influential: S2 (outcome)." in text and "No longer influential: S1 (outcome)." in text
    # without diagnostics in this run, nothing is said about the studies flagged before
    assert "no_longer_influential" not in set(compare(before, record("c", rows[::-1], POOLED_A))["change"])


def test_three_level_moderator_tests_are_compared_and_a_dependence_switch_is_a_model_change():
    """Under dependence: multilevel the moderator tests readers see are the three-level ones: their crossing of .05
    is a change. A switch between aggregate and multilevel changes what k counts (studies, effect sizes): the pooled
    numbers are then not compared, and the model change says why."""
    same_composite = {"qm_p": 0.20, "f_p": 0.20}
    before = record("a", [es("S1", "1", 2, 0.1)], POOLED_A,
                    {"rater": {**same_composite, "multilevel_qm_p": 0.08, "multilevel_cr2_p": 0.09}})
    after = record("b", [es("S1", "1", 2, 0.1)], POOLED_A,
                   {"rater": {**same_composite, "multilevel_qm_p": 0.007, "multilevel_cr2_p": 0.012}})
    flips = compare(before, after).query("change == 'moderator_test_flip'")
    assert flips["quantity"].tolist() == ["rater: multilevel_qm_p", "rater: multilevel_cr2_p"]
    assert flips["note"].tolist() == ["the three-level Wald QM test of rater is now significant at .05",
                                      "the three-level CR2 F test of rater is now significant at .05"]
    aggregate, multilevel = ({**record(sha, [es("S1", "1", 2, 0.1)], {**POOLED_A, "k": k})} for sha, k in (("a", 3), ("b", 9)))
    aggregate["families"]["outcome"]["pooled"]["dependence"] = "aggregate"
    multilevel["families"]["outcome"]["pooled"]["dependence"] = "multilevel"
    switched = compare(aggregate, multilevel)
    model = switched[switched["change"] == "model_changed"]
    assert model["note"].item() == ("REML, test z; z metric; one composite per study (k studies) \u2192 REML, test z; z "
                                    "metric; three-level model (k effect sizes): the results are not compared with those "
                                    "of the last run of the previous sheet version")
    # k counts studies, then effect sizes: no "k 3 -> 9" row (there was one, beside the model change)
    assert not ((switched["change"] == "pooled") & (switched["quantity"] == "k")).any()
    legacy = record("a", [es("S1", "1", 2, 0.1)], POOLED_A)  # a snapshot of an earlier version: no dependence
    assert not (compare(legacy, multilevel)["change"] == "model_changed").any()
    # the estimator key the other dependence uses is "not used" there, not "not recorded" (an older version's gap);
    # pooling.main_method is still used under multilevel (GOSH, RVE's CR2 row, the multiverse's outlier detection),
    # just not by the compared results: it said "(not used under dependence: multilevel)"
    aggregate["config"] = {"dependence": "aggregate", "pooling.main_method": "REML"}
    multilevel["config"] = {"dependence": "multilevel", "multilevel.method": "REML"}
    notes = compare(aggregate, multilevel).query("change == 'config_changed'")["note"].tolist()
    assert notes == ["dependence: aggregate -> multilevel",
                     "multilevel.method: (not used under dependence: aggregate) -> REML",
                     "pooling.main_method: REML -> (not compared under dependence: multilevel, whose main model is "
                     "fitted by multilevel.method)"]


def test_a_three_level_k_says_it_counts_effect_sizes():
    """Under dependence: multilevel k counts effect sizes: the update paragraph said "k 20 → 23" below Results
    that say "k = 11 studies (23 effect sizes)"."""
    before = record("a", [es("S1", "1", 2, 0.1)], {**POOLED_A, "k": 20, "dependence": "multilevel"})
    after = record("b", [es("S1", "1", 2, 0.1)], {**POOLED_B, "k": 23, "dependence": "multilevel"})
    changes = compare(before, after)
    k = changes.query("change == 'pooled' and quantity == 'k'")
    assert k["note"].item() == "effect sizes (three-level model)"
    assert "(k 20 \u2192 23 effect sizes; \u03c4\u00b2 0.020 \u2192 0.010)" in changes_paragraph(changes)
    for part in (before, after):
        part["families"]["outcome"]["pooled"]["dependence"] = "aggregate"
    changes = compare(before, after)
    assert changes.query("change == 'pooled' and quantity == 'k'")["note"].item() == ""
    assert "(k 20 \u2192 23; \u03c4\u00b2" in changes_paragraph(changes)


def test_a_snapshot_records_the_dependence_of_its_pooled_model():
    from alliance_meta.report.changes import snapshot

    effect_sizes = pd.DataFrame({"study_id": ["S1"], "es_id": ["S1-1"], "family": ["outcome"], "sheet_row": ["2"],
                                 "yi": ["0.1"], "vi": ["0.01"]})
    pooled = pd.DataFrame([{"method": "REML", "test": "z", **POOLED_A}])
    for config, expected in (({"dependence": "multilevel"}, {"dependence": "multilevel"}), (None, {})):
        record = snapshot(effect_sizes, {"outcome": {"pooled": pooled, "metric": "z"}}, sheet="s.csv", sheet_sha256="a",
                          main_method="REML", tests=["z"], config=config)
        part = record["families"]["outcome"]["pooled"]
        assert {key: part[key] for key in ("dependence",) if key in part} == expected


def test_after_a_config_only_rerun_the_report_says_which_run_the_changes_are_relative_to():
    """A study removed (run 2), then a config change on the same sheet (run 3): the report said "Since the previous
    run: 1 study removed", a change of run 2, while run 3 is compared with run 1 (the previous sheet version), and
    did not say that this sheet had been run before."""
    from alliance_meta.report.html import changes_section

    rows = [es("S1", "1", 2, 0.1), es("S2", "1", 3, 0.2)]
    first = chain({**record("a" * 64, rows, POOLED_A), "config": CONFIG}, None)
    second = chain({**record("b" * 64, rows[:1], POOLED_B), "config": CONFIG}, first)
    third = chain({**record("b" * 64, rows[:1], POOLED_B), "config": {**CONFIG, "pooling.main_method": "DL"}},
                  first, second)
    changes = compare(first, third)
    assert changes["change"].tolist()[:2] == ["config_changed", "study_removed"]  # both relative to run 1
    paragraph = changes_section(changes, {"outcome": "z"}, third).paragraph
    assert "since the previous run" not in paragraph.lower()
    assert ("compared with version 1 (results/history/" + "a" * 64 + ".json; this version's snapshot is results/"
            "history/" + "b" * 64 + ".json). This sheet was run before with another config (changed since: "
            "pooling.main_method REML \u2192 DL): every change below, of the data and of the config, is relative to the "
            "last run of version 1, not to that run. Since the last run of the previous sheet version: one study "
            "removed (one effect size). The config changed since the last run of the previous sheet version: pooling.main_method "
            "REML \u2192 DL.") in paragraph
    # a sheet run again after another one is compared with that one: its config before then is not "run before"
    other = chain({**record("a" * 64, rows, POOLED_A), "config": {**CONFIG, "pooling.main_method": "DL"}}, third,
                  first)
    assert "config_previous" not in other and "run before" not in changes_section(
        compare(third, other), {"outcome": "z"}, other).paragraph


def test_report_section_names_the_sheet_versions_compared():
    """The report said "since the previous run" without saying which; only logs/changes.log named it."""
    from alliance_meta.report.html import changes_section

    before = record("a" * 64, [es("S1", "1", 2, 0.1, r="0.1")], POOLED_A)
    after = chain(record("b" * 64, [es("S1", "1", 2, 0.1, r="0.1"), es("S2", "1", 3, 0.2, r="0.2")], POOLED_A),
                  chain(before, None))
    paragraph = changes_section(compare(chain(before, None), after), {"outcome": "z"}, after).paragraph
    assert paragraph.startswith(f"This is version 2 of the sheet in this folder's history, compared with version 1 "
                                f"(results/history/{'a' * 64}.json; this version's snapshot is "
                                f"results/history/{'b' * 64}.json). Since the last run of the previous sheet version: one study added")
    first = changes_section(compare(None, chain(before, None)), {"outcome": "z"}, chain(before, None)).paragraph
    assert first.startswith("There is no run of another sheet to compare with")


def test_a_study_id_reused_for_another_study_is_that_study_removed_and_another_added():
    """A living review removed S07 (ineligible on re-screening) and gave its id to a newly coded study: changes.csv
    said "1 effect size edited" (authors, year, r and n of S07-1), and neither the removal nor the new study was
    reported. A study_id whose authors and year both differ in every row names another study: the previous one is
    removed and this one added. A citation corrected in one of the two stays an edit."""
    s06 = es("S06", "S06-1", 12, 0.4, r="0.38", authors="Simulated study 06", year="2006")
    before = record("a", [s06, es("S07", "S07-1", 13, 0.19, r="0.19", n="87", authors="Simulated study 07",
                                  year="2007")], POOLED_A)
    after = record("b", [s06, es("S07", "S07-1", 13, 0.32, r="0.31", n="142", authors="Simulated study 11",
                                 year="2023"), es("S07", "S07-2", 14, 0.18, r="0.18", n="142",
                                                  authors="Simulated study 11", year="2023")], POOLED_A)
    changes = compare(before, after)
    shown = changes[["change", "study_id", "es_id", "sheet_row", "sheet_row_previous"]].fillna(0)
    assert shown.values.tolist() == [
        ["study_added", "S07", "", 13, 0], ["study_removed", "S07", "", 0, 13],
        ["effect_size_added", "S07", "S07-1", 13, 0], ["effect_size_added", "S07", "S07-2", 14, 0],
        ["effect_size_removed", "S07", "S07-1", 0, 13]]
    reused = ('S07 names another study than in the last run of the previous sheet version (authors "Simulated study 07" -> "Simulated study '
              '11", year 2007 -> 2023): give each study a study_id of its own')
    assert changes["note"].iloc[0] == f"2 effect sizes on sheet rows 13, 14; {reused}"
    assert changes["note"].iloc[1] == f"1 effect size, previously on sheet row 13; {reused}"
    assert changes_paragraph(changes, {"outcome": "z"}).startswith(
        "Since the last run of the previous sheet version: one study added (two effect sizes), one study removed (one "
        "effect size).")
    # a corrected year (or authors) of the same study is an edit of that cell
    corrected = record("c", [s06, es("S07", "S07-1", 13, 0.19, r="0.19", n="87", authors="Simulated  Study 07",
                                     year="2008")], POOLED_A)
    assert compare(before, corrected)[["change", "quantity"]].values.tolist() == [
        ["effect_size_edited", "authors"], ["effect_size_edited", "year"]]


def test_report_section_shows_a_small_edit_with_the_decimals_that_show_it():
    """A corrected n (165 -> 156) moved vi from 0.00617 to 0.00654: the changes table showed 0.006, 0.007 and a
    difference of 0.000, which reads as no change. Where the table's rounding shows two equal values or a zero
    difference, they have the fewest decimals that tell them apart and show the difference as not zero."""
    from alliance_meta.report.html import changes_section

    before = record("a", [{**es("S04", "S04-2", 9, 0.06, r="0.06", n="165"), "vi": 1 / 162}], POOLED_A)
    after = record("b", [{**es("S04", "S04-2", 9, 0.06, r="0.06", n="156"), "vi": 1 / 153}],
                   {**POOLED_A, "i2": 41.2345})
    table = changes_section(compare(before, after), {"outcome": "z"}).tables[0]
    rows = {row[table.columns.index("quantity")]: row[7:10] for row in table.rows}
    assert rows["vi"] == ["0.0062", "0.0065", "0.0004"]
    assert rows["i2"][:2] == ["40.00", "41.23"]  # told apart as the table formats them: no further decimals


def test_an_effect_size_moved_from_a_reused_study_id_names_that_id_as_written():
    """S07's first effect size moved to S12 while S07 was given to a new study: the effect_size_id_corrected row's
    `previous` cell carried the comparison's internal marker ("\\x00previous\\x00S07") into changes.csv."""
    cited = dict(authors="Simulated study 07", year="2007")
    before = record("a", [es("S07", "S07-1", 13, 0.19, r="0.19", n="87", **cited),
                          es("S07", "S07-2", 14, 0.25, r="0.25", n="87", **cited)], POOLED_A)
    after = record("b", [es("S12", "S07-1", 13, 0.19, r="0.19", n="87", **cited),
                         es("S07", "S07-1", 15, 0.32, r="0.31", n="142", authors="Simulated study 11", year="2023")],
                   POOLED_A)
    changes = compare(before, after)
    moved = changes.loc[changes["change"] == "effect_size_id_corrected"].iloc[0]
    assert [moved["quantity"], moved["previous"], moved["current"]] == ["study_id", "S07", "S12"]
    assert not changes.astype(str).apply(lambda column: column.str.contains("\x00")).any().any()


def test_the_citation_year_is_no_cell_of_the_sheet():
    """citation_year, which the conversion works out over the whole sheet ("2004a"), was recorded as a cell: the
    first run with it listed a new column, and a namesake added later an edit of each row of the other study."""
    from alliance_meta.report.changes import snapshot

    rows = pd.DataFrame({"study_id": ["S1"], "es_id": ["1"], "family": ["outcome"], "sheet_row": ["2"], "yi": ["0.1"],
                         "vi": ["0.01"], "authors": ["Smith"], "year": ["2004"], "citation_year": ["2004a"]})
    recorded = snapshot(rows, {}, sheet="s.csv", sheet_sha256="a", main_method="REML", tests=["z"])
    assert recorded["columns"] == ["authors", "es_id", "family", "study_id", "year"]
    assert "citation_year" not in recorded["effect_sizes"][0]["cells"]


def test_report_table_shows_flipped_p_values_and_intervals_as_the_report_writes_them():
    """The changes table showed a moderator test's p of 7e-5 as "0.000" (a p the report writes "< .001") and the
    CI flip (1 = excludes 0) as 0.000 -> 1.000."""
    from alliance_meta.report.html import changes_section

    changes = compare(record("a", [es("S1", "1", 2, 0.1)], POOLED_A, {"rater": {"qm_p": 0.20, "f_p": 0.5}}),
                      record("b", [es("S1", "1", 2, 0.3)], POOLED_B, {"rater": {"qm_p": 7e-5, "f_p": 0.5}}))
    table = changes_section(changes, {"outcome": "z"}).tables[0]
    cells = {row[0]: row[7:10] for row in table.rows}
    assert cells["moderator_test_flip"] == [".200", "< .001", ""]
    assert cells["significance_flip"] == ["no", "yes", ""]


def test_a_moderator_test_flip_has_no_difference_in_the_csv_as_in_the_table(tmp_path):
    """changes.csv kept current − previous of a moderator test's two p values (−0.19999) where the report's table
    showed it blank: a difference of p values is no size of a change. Blank in the CSV, as the flips' yes/no."""
    from alliance_meta.io import read_table, write_table
    from alliance_meta.report.html import changes_section

    changes = compare(record("a", [es("S1", "1", 2, 0.1)], POOLED_A, {"rater": {"qm_p": 0.20, "f_p": 0.5}}),
                      record("b", [es("S1", "1", 2, 0.3)], POOLED_B, {"rater": {"qm_p": 7e-5, "f_p": 0.5}}))
    write_table(changes, tmp_path / "changes.csv")
    written = read_table(tmp_path / "changes.csv").set_index("change")
    assert written.loc["moderator_test_flip", ["previous", "current"]].tolist() == [0.20, 7e-5]
    assert pd.isna(written.loc["moderator_test_flip", "difference"])
    assert pd.isna(written.loc["significance_flip", "difference"])
    pooled = written.loc["pooled"].set_index("quantity")
    assert pooled.loc["estimate", "difference"] == pytest.approx(0.2)  # a change of size: kept
    table = changes_section(read_table(tmp_path / "changes.csv"), {"outcome": "z"}).tables[0]
    assert {row[0]: row[9] for row in table.rows}["moderator_test_flip"] == ""


def test_effect_sizes_of_studies_added_are_said_with_them_and_the_others_apart():
    """A living update (6 studies added, 1 retracted, 1 value corrected) read "6 studies added, 1 study removed, 6
    effect sizes added, 1 effect size removed, 1 effect size edited": twelve additions to a reader, where there were
    six. Effect sizes added to a study already in the sheet stay a count of their own."""
    before = record("a", [es("S1", "1", 2, 0.1, r="0.1"), es("S2", "1", 3, 0.2, r="0.2"),
                          es("S3", "1", 4, 0.3, r="0.3")], POOLED_A)
    after = record("b", [es("S1", "1", 2, 0.1, r="0.1"), es("S1", "2", 3, 0.15, r="0.15"),
                         es("S3", "1", 4, 0.35, r="0.35"), es("S4", "1", 5, 0.4, r="0.4"),
                         es("S5", "1", 6, 0.5, r="0.5"), es("S5", "2", 7, 0.45, r="0.45")], POOLED_A)
    text = changes_paragraph(compare(before, after), {"outcome": "z"})
    assert text.startswith("Since the last run of the previous sheet version: two studies added (three effect sizes), one "
                           "study removed (one effect size), one effect size added to a study already included, one "
                           "effect size edited.")


def test_effect_sizes_added_to_or_removed_from_other_studies_name_one_study_in_the_singular():
    """"1 effect size added to studies already included" spoke of several studies where one study had gained one;
    two studies that each lost one are "studies"."""
    before = record("a", [es("S1", "1", 2, 0.1, r="0.1"), es("S1", "2", 3, 0.15, r="0.15"),
                          es("S2", "1", 4, 0.2, r="0.2"), es("S2", "2", 5, 0.25, r="0.25"),
                          es("S9", "1", 6, 0.3, r="0.3")], POOLED_A)
    after = record("b", [es("S1", "1", 2, 0.1, r="0.1"), es("S2", "1", 4, 0.2, r="0.2"),
                         es("S2", "3", 5, 0.22, r="0.22"), es("S4", "1", 6, 0.4, r="0.4")], POOLED_A)
    text = changes_paragraph(compare(before, after), {"outcome": "z"})
    assert text.startswith("Since the last run of the previous sheet version: one study added (one effect size), one "
                           "study removed (one effect size), one effect size added to a study already included, two "
                           "effect sizes removed from studies still included."), text
