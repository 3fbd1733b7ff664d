"""What changed since the previous sheet version: a compact snapshot of a run's main results, and the
comparison of two snapshots (``results/changes.csv`` and the report's paragraph).

Semantics (documented in README.md): every run stores ``results/history/<sheet SHA-256>.json``.
A snapshot remembers the run order (``sequence``) and which snapshot it is compared with
(``previous``: the most recent snapshot of a *different* sheet in ``results/history/``). A rerun
of the same sheet (e.g. after a config change) overwrites its own snapshot and is compared with
the same previous sheet again, so the same sheet and config always give the same bytes. The
first run of a folder has no previous snapshot and says so. The report therefore says every change is since "the last
run of the previous sheet version" (:data:`COMPARED_RUN`), not since the previous run, and a rerun of this sheet with
another config since then is named (:func:`compared_sentence`).

A snapshot also records the config keys that decide the compared results (:func:`compared_config`),
and changes.csv lists those whose value differs from the compared run's (``config_changed``), so that
numbers moved by a config change say why. Without a run of another sheet, they are compared with the
config this sheet was last run with (``config_previous``, kept while the sheet is rerun with the same
config, so that such reruns give the same bytes too).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd

from alliance_meta.inputs.codebook import COMPUTED_COLUMNS, INPUT_COLUMNS, SIGN_COLUMNS, citation_key
from alliance_meta.inputs.risk_of_bias import OVERALL, PREFIX, tool_from_config, unread_keys
from alliance_meta.report.effects import display
from alliance_meta.report.formatting import (apa_count, apa_number, apa_p_clause, apa_setting, counted, is_finite,
                                             probability_percent)
from alliance_meta.report.settings import TableSettings
from alliance_meta.wording import plural, rows_phrase

SNAPSHOT_VERSION = 1
POOLED_FIELDS = ("k", "estimate", "se", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "tau2", "i2", "p")
COMPARED = ("estimate", "ci_lower", "ci_upper", "tau2", "pi_lower", "pi_upper", "i2", "k")
MODERATOR_TESTS = {"qm_p": "Wald QM test", "f_p": "Knapp\u2013Hartung F test",
                   "multilevel_qm_p": "three-level Wald QM test", "multilevel_f_p": "three-level F test",
                   "multilevel_cr2_p": "three-level CR2 F test"}
"""moderators.csv's tests whose crossing of ALPHA is a change (the three-level ones under dependence: multilevel)."""
ALPHA = 0.05
#: The run a changes paragraph compares with (:func:`previous_snapshot`): not a rerun of this sheet (a config change).
COMPARED_RUN = "the last run of the previous sheet version"
#: What k counts under each ``dependence``: a switch makes the pooled numbers incomparable (a model change).
DEPENDENCE_MODELS = {"aggregate": "one composite per study (k studies)",
                     "multilevel": "three-level model (k effect sizes)"}
#: The note of a three-level model's ``k`` row: k counts effect sizes there, not the studies the report names.
K_EFFECT_SIZES = "effect sizes (three-level model)"
#: Columns of effect_sizes.csv that are not the reviewer's cells (position and derived values: the columns the
#: pipeline computes, which no sheet may have, codebook.COMPUTED_COLUMNS). ``n`` is kept: it is the sheet's n where
#: the row gives one (a corrected n changed vi and went unreported).
DERIVED = set(COMPUTED_COLUMNS)
#: Cells that snapshots of earlier versions did not record: absent from the previous snapshot, not "added".
RECORDED_SINCE = {"n"}
#: Config keys (dotted; a block stands for every key in it) that decide the results a snapshot records, besides
#: the main model's estimator (:func:`compared_config`); ``bayes`` only when ``changes.analyses`` compares it. The
#: risk-of-bias tool decides the ``rob_overall`` it derives from the domains (a recorded cell of every effect size;
#: changed by the tool alone: one ``rob_overall_rederived`` row, :func:`_matched_data_changes`).
#: The rule ``changes`` has just these as params, so that another key (plots, prisma, multiverse, ...) does
#: not rerun it, and a change of one of them is a ``config_changed`` row.
COMPARED_CONFIG = ("sheet_name", "decimal", "families", "metric", "dependence", "aggregate_method", "aggregate_rho",
                   "pooling.tests", "pooling.knha_adhoc", "pooling.level", "moderators", "continuous_moderators",
                   "risk_of_bias.tool", "risk_of_bias.domains", "risk_of_bias.levels", "changes.analyses")
#: The one config_changed row of the keys the earlier snapshot did not record (an earlier version) and this run has at
#: the config schema's defaults: whether they were changed back to them cannot be told (:func:`_config_changes`).
NOT_RECORDED_DEFAULTS = "not recorded by the earlier snapshot, now at their defaults"
#: The value recorded for ``moderators`` when the config does not set it and the run takes the moderators the
#: sheet codes: a newly coded moderator column is then a data change (``column_added``), not a config change.
MODERATORS_FROM_SHEET = "(those the sheet codes)"
#: The schema's default ``moderators`` (workflow/schemas/config.schema.yaml): the columns a run recorded as
#: :data:`MODERATORS_FROM_SHEET` may have taken.
DEFAULT_MODERATORS = ("modality", "rater")
COMPARED_BAYES_CONFIG = ("bayes.prior", "bayes.seed", "bayes.sampler", "bayes.draws", "bayes.tune", "bayes.chains",
                         "bayes.target_accept", "bayes.hdi_prob", "bayes.diagnostics", "bayes.retry")
#: changes.csv's columns; ``difference`` is current − previous of the quantities whose difference is a change of
#: size (a pooled estimate, τ², k, an effect size's yi or vi), blank where it says nothing: the p values of a
#: moderator test that crossed .05, the yes/no (1/0) of a flip, values in two metrics, text
COLUMNS = ["change", "family", "study_id", "es_id", "sheet_row", "sheet_row_previous", "quantity", "previous",
           "current", "difference", "note"]


def _number(value):
    """A finite float or None (JSON has no NaN)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def same_number(a: float, b: float) -> bool:
    """Two recorded results equal up to the last bits that the order of a sum changes (rows of the sheet
    reordered): 1e-9 relative, 1e-12 absolute (tau^2 at 0)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _flat(value, key: str) -> dict:
    """``{dotted key: value}`` of a config value, nested blocks spelled out (lists are values)."""
    if isinstance(value, dict) and value:
        return {name: leaf for part, inner in value.items() for name, leaf in _flat(inner, f"{key}.{part}").items()}
    return {key: value}


#: The quantities of an ``effect_size_edited`` row that edit the effect size itself (its value or an input of it).
EFFECT_SIZE_QUANTITIES = ("yi", "vi", *INPUT_COLUMNS, *SIGN_COLUMNS)
#: The main model's estimator: one of these is recorded, as the run's dependence uses it.
MAIN_METHOD_KEYS = ("pooling.main_method", "multilevel.method")
#: What a config_changed row says of the estimator key a snapshot did not record because of its ``dependence``:
#: under multilevel pooling.main_method still fits GOSH, RVE's CR2 row and the multiverse's outlier detection
#: (models.fits.aggregated_options, rule multiverse_batch), just not the compared results; multilevel.method is
#: read under multilevel only (MULTILEVEL_OPTIONS, models.fits.headline_method).
UNRECORDED_MAIN_METHOD = {
    "pooling.main_method":
        "(not compared under dependence: multilevel, whose main model is fitted by multilevel.method)",
    "multilevel.method": "(not used under dependence: aggregate)"}


def compared_config(config: dict, moderators_from_sheet: bool = False) -> dict:
    """The values of the config keys that decide the results a snapshot records, by dotted key in sorted order:
    :data:`COMPARED_CONFIG`, the main model's estimator (``pooling.main_method``, or ``multilevel.method`` under
    ``dependence: multilevel``, as :func:`alliance_meta.models.fits.headline_method`) and, when
    ``changes.analyses`` compares the posterior of mu, :data:`COMPARED_BAYES_CONFIG`. ``moderators_from_sheet``:
    the config does not set ``moderators`` and the run filled them in from the sheet's columns; recorded as
    :data:`MODERATORS_FROM_SHEET`, so that a sheet coding one more moderator is no ``config_changed`` row.
    ``risk_of_bias.domains`` and ``levels`` only under a custom tool (:func:`_unread_keys`)."""
    main_method = MAIN_METHOD_KEYS[config.get("dependence") == "multilevel"]
    unread = _unread_keys((config.get("risk_of_bias") or {}).get("tool"))  # a built-in tool ignores them
    keys = [key for key in (*COMPARED_CONFIG, main_method) if key not in unread]
    if "bayes" in (config.get("changes") or {}).get("analyses", ()):
        keys += COMPARED_BAYES_CONFIG
    flat = {}
    for key in keys:
        value = config
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        flat.update(_flat(MODERATORS_FROM_SHEET if key == "moderators" and moderators_from_sheet else value, key))
    return dict(sorted(flat.items()))


def _unread_keys(tool: str | None) -> set[str]:
    """The compared ``risk_of_bias`` keys (dotted) that the risk-of-bias tool named ``tool`` does not read
    (:func:`alliance_meta.inputs.risk_of_bias.unread_keys`)."""
    return {f"risk_of_bias.{key}" for key in unread_keys(tool)}


def _effect_size_keys(frame: pd.DataFrame) -> list[str]:
    """``es_id`` where given, otherwise ``study_id#n`` (the n-th row of the study)."""
    ordinal = frame.groupby("study_id", sort=False).cumcount() + 1
    es_id = frame["es_id"] if "es_id" in frame else pd.Series("", index=frame.index)
    return [f"{study}|{es}" if es else f"{study}#{n}" for study, es, n in zip(frame["study_id"], es_id, ordinal)]


def snapshot(effect_sizes: pd.DataFrame, families: dict[str, dict], *, sheet: str, sheet_sha256: str,
             main_method: str, tests, config: dict | None = None) -> dict:
    """The compact record of one run.

    ``effect_sizes`` is ``data/processed/effect_sizes.csv`` read as text (``dtype=str``, empty cells
    ``""``); ``families`` maps a family to its tables (``pooled``, and where run ``moderators``,
    ``influence``, ``bayes``) as frames. The pooled row is :func:`alliance_meta.models.fits.main_row`
    (``main_method``, first of ``tests`` available). ``config`` is :func:`compared_config` of the run's config.
    """
    from alliance_meta.models.fits import main_row

    rows = []
    cells = [c for c in effect_sizes.columns if c not in DERIVED]
    for key, record in zip(_effect_size_keys(effect_sizes), effect_sizes.to_dict("records")):
        rows.append({"key": key, "study_id": record["study_id"], "es_id": record.get("es_id", ""),
                     "family": record.get("family", ""), "sheet_row": int(record["sheet_row"]),
                     "yi": _number(record["yi"]), "vi": _number(record["vi"]),
                     **{name: record[name] for name in ("metric", "input_kind") if record.get(name, "") != ""},
                     "cells": {c: record[c] for c in cells if record[c] != ""}})
    # the sheet's columns, empty ones too: a template column filled in for the first time is not a new column
    out = {"version": SNAPSHOT_VERSION, "sheet": sheet, "sheet_sha256": sheet_sha256, "effect_sizes": rows,
           "columns": sorted(cells), "families": {}}
    if config is not None:
        out["config"] = config
    for family, tables in families.items():
        part = {}
        row = main_row(tables["pooled"], main_method, list(tests))
        if row:
            part["pooled"] = {"method": str(row.get("method")), "test": str(row.get("test")), "metric": tables["metric"],
                              **({"dependence": config["dependence"]} if config and config.get("dependence") else {}),
                              **{name: _number(row.get(name)) for name in POOLED_FIELDS}}
        if tables.get("moderators") is not None:
            part["moderators"] = {str(r["moderator"]): {name: _number(r.get(name)) for name in MODERATOR_TESTS}
                                  for r in tables["moderators"].to_dict("records")}
        if tables.get("influence") is not None and "influential" in tables["influence"]:
            flags = tables["influence"]["influential"].astype(str).str.lower().isin(["true", "1", "yes"])
            part["influential"] = sorted(tables["influence"]["study_id"].astype(str)[flags.to_numpy()])
        if tables.get("bayes") is not None:
            mu = tables["bayes"][tables["bayes"]["parameter"] == "mu"]
            if len(mu):
                part["bayes_mu"] = {name: _number(mu.iloc[0][name]) for name in ("mean", "hdi_lower", "hdi_upper")}
        out["families"][family] = part
    return out


def write_snapshot(record: dict, path: str | Path) -> None:
    """Sorted keys, one line per effect size: the same run gives the same bytes."""
    Path(path).write_text(json.dumps(record, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def read_snapshot(path: str | Path) -> dict | None:
    """The snapshot in ``path``; None when it is missing, unreadable or of another version."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("version") == SNAPSHOT_VERSION else None


def previous_snapshot(history: str | Path, sheet_sha256: str) -> dict | None:
    """The most recent snapshot (largest ``sequence``) in ``history`` of a sheet other than ``sheet_sha256``."""
    candidates = [record for record in (read_snapshot(path) for path in sorted(Path(history).glob("*.json"))
                                        if path.stem != sheet_sha256) if record is not None]
    return max(candidates, key=lambda r: (r.get("sequence", 0), r["sheet_sha256"])) if candidates else None


def chain(record: dict, previous: dict | None, replaced: dict | None = None) -> dict:
    """``record`` with its place in the history: ``sequence`` (1 for the first run) and ``previous``; and
    ``config_previous``, the config this sheet was last run with before its config changed, from ``replaced``
    (this sheet's snapshot that ``record`` replaces): a rerun with the same config keeps it."""
    out = {**record, "sequence": (previous or {}).get("sequence", 0) + 1,
           "previous": previous["sheet_sha256"] if previous else None}
    out.pop("config_previous", None)
    # only a run since the compared one (same sequence): a sheet run again after another sheet is compared with that
    # one, and its config before then is no change since the previous run (compared_sentence names config_previous)
    if (replaced is not None and "config" in replaced and "config" in record
            and replaced.get("sequence", out["sequence"]) == out["sequence"]):
        before = replaced["config"] if replaced["config"] != record["config"] else replaced.get("config_previous")
        if before is not None:
            out["config_previous"] = before
    return out


def compared_sentence(snapshot: dict | None, defaults: dict | None = None) -> str:
    """Which sheet version this run is and which it was compared with, from this sheet's snapshot (``sequence``,
    ``previous``): the snapshots' file names in results/history/ are the sheets' SHA-256. When this sheet was run
    since with another config (``config_previous``), the previous run is not the one compared with: said, with the
    config keys changed since that run (``defaults``: as :func:`compare`)."""
    if not snapshot or not snapshot.get("previous"):
        return ""
    version = snapshot["sequence"] - 1
    text = (f"This is version {snapshot['sequence']} of the sheet in this folder's history, compared with version "
            f"{version} (results/history/{snapshot['previous']}.json; this version's snapshot is "
            f"results/history/{snapshot['sheet_sha256']}.json).")
    rows = pd.DataFrame(_config_changes(snapshot["config_previous"], snapshot["config"], defaults) if {
        "config_previous", "config"} <= snapshot.keys() else [], columns=COLUMNS)
    if passages := _config_passages(rows):
        text += (f" This sheet was run before with another config (changed since: {'; '.join(passages)}): every "
                 f"change below, of the data and of the config, is relative to the last run of version {version}, "
                 "not to that run.")
    return text


def _effect_sizes(members: list) -> str:
    """``1 effect size`` or ``3 effect sizes``."""
    return counted(len(members), "effect size")


def _row(change, family="", study_id="", es_id="", sheet_row=None, sheet_row_previous=None, quantity="",
         previous=None, current=None, difference=None, note=""):
    return dict(change=change, family=family, study_id=study_id, es_id=es_id, sheet_row=sheet_row,
                sheet_row_previous=sheet_row_previous, quantity=quantity, previous=previous, current=current,
                difference=difference, note=note)


def _count_of(value: float | None) -> int | None:
    """k as a whole number: the snapshot holds it as a float, and beside a recoded cell's text in the same column
    changes.csv wrote it as ``127.0``."""
    return None if value is None else int(value)


def _significant(pooled: dict, null: float = 0.0) -> bool | None:
    lower, upper = pooled.get("ci_lower"), pooled.get("ci_upper")
    if lower is None or upper is None:
        return None
    return bool(lower > null or upper < null)


def _shown(cell: str) -> str:
    """A cell for the change note: a number in its shortest form (0.27, not 0.27000000000000002)."""
    if cell == "":
        return "(empty)"
    number = _number(cell)
    return repr(number) if number is not None and not re.fullmatch(r"-?\d+", cell.strip()) else cell


def _numbered_by_position(rows: list[dict]) -> bool:
    """Whether a study's es_id are study_id-1, -2, ... (as the conversion numbers rows without one)."""
    return all(re.fullmatch(rf"{re.escape(str(row['study_id']))}-\d+", str(row.get("es_id", ""))) for row in rows)


def _rekeyed_by_content(previous: list[dict], current: list[dict]) -> list[dict]:
    """``current`` with the keys of ``previous`` rows they continue, for studies whose effect sizes are
    numbered by position: a row whose cells (but es_id) are unchanged keeps its key wherever it moved, so
    that removing a study's 2nd row is that row removed, not the 2nd edited into the 3rd and the 3rd
    removed; the remaining rows pair in order (edits), and the rest are added or removed."""
    def content(row):
        return {column: value for column, value in row["cells"].items() if column != "es_id"}

    old_by_study, new_by_study = {}, {}
    for row in previous:
        old_by_study.setdefault(row["study_id"], []).append(row)
    for row in current:
        new_by_study.setdefault(row["study_id"], []).append(row)
    rekeyed = {}
    for study, new_rows in new_by_study.items():
        old_rows = old_by_study.get(study, [])
        if not old_rows or not _numbered_by_position(old_rows + new_rows):
            continue
        unpaired_old, unpaired_new = list(old_rows), []
        for row in new_rows:
            same = next((old for old in unpaired_old if content(old) == content(row)), None)
            if same is None:
                unpaired_new.append(row)
            else:
                unpaired_old.remove(same)
                rekeyed[id(row)] = same["key"]
        for old, row in zip(unpaired_old, unpaired_new):
            rekeyed[id(row)] = old["key"]
        for number, row in enumerate(unpaired_new[len(unpaired_old):], start=1):
            rekeyed[id(row)] = f"{row['key']}#added{number}"
    return [{**row, "key": rekeyed.get(id(row), row["key"])} for row in current]


def _content(row: dict) -> str:
    """An effect size without its names: family, yi, vi and every cell but study_id and es_id (which a corrected
    id changes, and a rename may keep, as ``S004-1`` under ``S004 (corrected)``, or change)."""
    return json.dumps([row["family"], row["yi"], row["vi"],
                       {c: v for c, v in row["cells"].items() if c not in ("study_id", "es_id")}], sort_keys=True)


def _study_content(rows: list[dict]) -> list[str]:
    """A study's effect sizes without their names (:func:`_content`), in an order independent of the sheet's."""
    return sorted(_content(row) for row in rows)


def _corrected_ids(before: dict[str, dict], after: dict[str, dict]) -> dict[str, str]:
    """``{key now: key before}`` of effect sizes whose study_id or es_id was corrected: an added and a removed
    effect size of the same :func:`_content`, where exactly one of each has it (identical rows stay added and
    removed)."""
    def by_content(rows: dict[str, dict], keys) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for key in keys:
            found.setdefault(_content(rows[key]), []).append(key)
        return found

    old = by_content(before, before.keys() - after.keys())
    return {keys[0]: old[content][0] for content, keys in by_content(after, after.keys() - before.keys()).items()
            if len(keys) == 1 and len(old.get(content, ())) == 1}


def _renamed_studies(previous: list[dict], current: list[dict], removed, added) -> dict[str, str]:
    """``{new study_id: old study_id}`` for studies whose every effect size is unchanged under another
    study_id (a corrected name), where exactly one removed and one added study have that content."""
    def by_content(rows, studies) -> dict[tuple, list[str]]:
        members: dict[str, list[dict]] = {}
        for row in rows:
            if row["study_id"] in studies:
                members.setdefault(row["study_id"], []).append(row)
        found: dict[tuple, list[str]] = {}
        for study, study_rows in members.items():
            found.setdefault(tuple(_study_content(study_rows)), []).append(study)
        return found

    old = by_content(previous, removed)
    return {new[0]: old[content][0] for content, new in by_content(current, added).items()
            if len(new) == 1 and len(old.get(content, ())) == 1}


#: The cells that name a study's publication (:func:`_reused_study_ids`).
CITATION = ("authors", "year")
#: Put before a reused study_id in the previous run's rows while they are compared: another study than the current one.
_PREVIOUS_STUDY = "\x00previous\x00"


def _reused_study_ids(previous: list[dict], current: list[dict]) -> dict[str, str]:
    """``{study_id: note}`` of the ids that name another study than in the previous run (one removed and its id given
    to a new one): both runs fill in ``authors`` and ``year`` in the study's rows, and neither has a value in common
    (case and spacing aside, as the sheet's check of one study's citations). A citation corrected in one of the two
    is an edit of that cell."""
    def citations(rows: list[dict]) -> dict[str, dict[str, dict[str, str]]]:
        found: dict = {}
        for row in rows:
            for column in CITATION:
                value = row["cells"].get(column, "")
                if value != "":
                    found.setdefault(row["study_id"], {}).setdefault(column, {}).setdefault(citation_key(value), value)
        return found

    old, new = citations(previous), citations(current)
    reused = {}
    for study in sorted(old.keys() & new.keys()):
        if all(column in old[study] and column in new[study]
               and not old[study][column].keys() & new[study][column].keys() for column in CITATION):
            (old_authors, *_), (new_authors, *_) = old[study]["authors"].values(), new[study]["authors"].values()
            (old_year, *_), (new_year, *_) = old[study]["year"].values(), new[study]["year"].values()
            reused[study] = (f'{study} names another study than in {COMPARED_RUN} (authors "{old_authors}" -> '
                             f'"{new_authors}", year {old_year} -> {new_year}): give each study a study_id of its own')
    return reused


#: The key of a study_renamed row (no column of changes.csv) with the study's previous study_id where its rows name
#: the same publication (:func:`_same_publication`): the comparisons of results that name studies (influence) follow
#: the study, not its name (:func:`compare`).
RENAMED_FROM = "renamed_from"
#: The key of a study_renamed row whose rows name no publication (no ``authors``): equal cells (r and n alone, say)
#: may be two studies, so influence is compared by name and its rows name the possible rename.
MAYBE_RENAMED_FROM = "maybe_renamed_from"


def _same_publication(rows: list[dict]) -> bool:
    """Whether a study paired as renamed by its unchanged rows (:func:`_renamed_studies`) is certainly the same study:
    its rows fill in ``authors`` (equal before and after, as every cell of the pair), not only numbers that another
    study may share."""
    return all(row["cells"].get(CITATION[0], "") != "" for row in rows)


def _data_changes(previous: dict, current: dict) -> list[dict]:
    """The rows about studies, effect sizes and columns; a study_id given to another study (:func:`_reused_study_ids`)
    is the previous study removed and the new one added, each row saying so."""
    reused = _reused_study_ids(previous["effect_sizes"], current["effect_sizes"])
    apart = [{**row, "study_id": _PREVIOUS_STUDY + row["study_id"], "key": _PREVIOUS_STUDY + row["key"]}
             if row["study_id"] in reused else row for row in previous["effect_sizes"]]
    rows = _matched_data_changes({**previous, "effect_sizes": apart}, current)
    for row in rows:  # the old id also in previous (an effect size moved from it: effect_size_id_corrected)
        for column in ("study_id", "previous", "note", RENAMED_FROM, MAYBE_RENAMED_FROM):
            if isinstance(row.get(column), str):
                row[column] = row[column].replace(_PREVIOUS_STUDY, "")
        if row["change"] in ("study_added", "study_removed") and row["study_id"] in reused:
            row["note"] += f"; {reused[row['study_id']]}"
    return rows


def _matched_data_changes(previous: dict, current: dict) -> list[dict]:
    studies_before = {row["study_id"] for row in previous["effect_sizes"]}
    studies_after = {row["study_id"] for row in current["effect_sizes"]}
    renamed = _renamed_studies(previous["effect_sizes"], current["effect_sizes"], studies_before - studies_after,
                               studies_after - studies_before)
    kept_before = [row for row in previous["effect_sizes"] if row["study_id"] not in set(renamed.values())]
    kept_after = [row for row in current["effect_sizes"] if row["study_id"] not in renamed]
    before = {row["key"]: row for row in kept_before}
    after = {row["key"]: row for row in _rekeyed_by_content(kept_before, kept_after)}
    corrected = _corrected_ids(before, after)

    def studies(rows: dict, keys) -> set:
        return {rows[key]["study_id"] for key in keys}

    # a study whose every effect size came (went) by a corrected id is no study added (removed): those rows say so
    moved_in = studies(after, corrected) - studies(after, after.keys() - corrected.keys())
    moved_out = studies(before, corrected.values()) - studies(before, before.keys() - set(corrected.values()))
    def in_sheet_order(studies, records: list[dict]) -> list:
        """``studies`` by their first row in the sheet of ``records`` (the order a reviewer checks them in)."""
        first = {}
        for record in records:
            first[record["study_id"]] = min(first.get(record["study_id"], record["sheet_row"]), record["sheet_row"])
        return sorted(studies, key=lambda study: (first[study], study))

    rows = []
    for study in in_sheet_order(renamed, current["effect_sizes"]):
        old_name = renamed[study]
        members = [row for row in current["effect_sizes"] if row["study_id"] == study]
        old_rows = [row for row in previous["effect_sizes"] if row["study_id"] == old_name]
        rows.append(_row("study_renamed", members[0]["family"], study, sheet_row=members[0]["sheet_row"],
                         sheet_row_previous=old_rows[0]["sheet_row"],
                         note=f"previously {old_name}; its {_effect_sizes(members)} "
                              f"{plural(len(members), 'is', 'are')} unchanged, on sheet "
                              + rows_phrase([m["sheet_row"] for m in members]))
                    | {RENAMED_FROM if _same_publication(members) else MAYBE_RENAMED_FROM: old_name})
    studies_before -= set(renamed.values())
    studies_after -= set(renamed)
    for study in in_sheet_order(studies_after - studies_before - moved_in, current["effect_sizes"]):
        members = [row for row in current["effect_sizes"] if row["study_id"] == study]
        rows.append(_row("study_added", members[0]["family"], study, sheet_row=members[0]["sheet_row"],
                         note=f"{_effect_sizes(members)} on sheet " + rows_phrase([m["sheet_row"] for m in members])))
    for study in in_sheet_order(studies_before - studies_after - moved_out, previous["effect_sizes"]):
        members = [row for row in previous["effect_sizes"] if row["study_id"] == study]
        rows.append(_row("study_removed", members[0]["family"], study, sheet_row_previous=members[0]["sheet_row"],
                         note=f"{_effect_sizes(members)}, previously on sheet "
                              + rows_phrase([m["sheet_row"] for m in members])))
    for key in sorted(corrected, key=lambda k: after[k]["sheet_row"]):
        old, new = before[corrected[key]], after[key]
        quantity = "study_id" if old["study_id"] != new["study_id"] else "es_id"
        rows.append(_row("effect_size_id_corrected", new["family"], new["study_id"], new["es_id"], new["sheet_row"],
                         old["sheet_row"], quantity, old[quantity], new[quantity],
                         note=f"previously {old['study_id']} / {old['es_id']}; its effect size and cells are "
                              "unchanged"))
    for key in sorted(after.keys() - before.keys() - corrected.keys(), key=lambda k: after[k]["sheet_row"]):
        row = after[key]
        rows.append(_row("effect_size_added", row["family"], row["study_id"], row["es_id"], row["sheet_row"],
                         quantity="yi", current=row["yi"], note=_effect_size_origin(row)))
    for key in sorted(before.keys() - after.keys() - set(corrected.values()), key=lambda k: before[k]["sheet_row"]):
        row = before[key]
        rows.append(_row("effect_size_removed", row["family"], row["study_id"], row["es_id"],
                         sheet_row_previous=row["sheet_row"], quantity="yi", previous=row["yi"],
                         note=_effect_size_origin(row)))
    filled_before = {c for row in previous["effect_sizes"] for c in row["cells"]}
    filled_after = {c for row in current["effect_sizes"] for c in row["cells"]}
    # a column filled in for the first time is added when the previous sheet had no such column or it is filled in
    # on effect sizes of the previous run; a column the sheet had all along (empty: a template's m1, sd1, ...)
    # filled in only on the effect sizes added is part of them, not a column added. Removed, symmetrically. A
    # snapshot of an earlier version did not record its columns: its filled ones stand for them.
    present_before = set(previous.get("columns", filled_before))
    present_after = set(current.get("columns", filled_after))
    kept = after.keys() & before.keys()
    added_columns = {c for c in filled_after - filled_before
                     if c not in present_before or any(c in after[key]["cells"] for key in kept)}
    removed_columns = {c for c in filled_before - filled_after
                       if c not in present_after or any(c in before[key]["cells"] for key in kept)}
    for change, columns, rows_with in (("column_added", added_columns, current["effect_sizes"]),
                                       ("column_removed", removed_columns, previous["effect_sizes"])):
        for column in sorted(columns - RECORDED_SINCE):
            filled = sum(column in row["cells"] for row in rows_with)
            rows.append(_row(change, quantity=column, note=(
                f"{column} {'filled in on' if change == 'column_added' else 'was filled in on'} {filled} {plural(filled, 'row')} "
                f"{'(it had no filled cell before)' if change == 'column_added' else '(it has no filled cell now)'}; "
                "not listed row by row")))
    whole_columns = added_columns | removed_columns  # added or removed as a whole: one row above, not one per cell
    moderators = _moderator_columns(previous, current)
    tools = _risk_of_bias_tools(previous, current)
    if tools:  # the overall judgement each run's rule derives from the row's domains
        rule_before, rule_after = _overall_by_rule(before, tools[0]), _overall_by_rule(after, tools[1])
    rederived, edits_start = [], len(rows)
    for key in sorted(after.keys() & before.keys(), key=lambda k: after[k]["sheet_row"]):
        old, new = before[key], after[key]
        renumbered = {"es_id"} if _numbered_by_position([old, new]) else set()  # moved up, not edited
        edited = sorted(c for c in old["cells"].keys() | new["cells"].keys()
                        if old["cells"].get(c, "") != new["cells"].get(c, "") and c not in renumbered
                        and c not in whole_columns)
        # rob_overall moved by the risk-of-bias config alone: every domain cell of the row unchanged (of both tools'
        # columns, one that appeared or disappeared as a whole too), each value the overall its run's rule derives
        if (tools and OVERALL in edited and _same_domains(old, new)
                and (old["cells"].get(OVERALL, ""), new["cells"].get(OVERALL, "")) == (rule_before[key],
                                                                                      rule_after[key])):
            edited.remove(OVERALL)
            rederived.append(new)
        if not edited:
            continue

        def detail(columns):
            return "; ".join(f"{c}: {_shown(old['cells'].get(c, ''))} -> {_shown(new['cells'].get(c, ''))}"
                             for c in columns)

        def edit(quantity, note, before=None, after=None, comparable=True):
            numbers = comparable and all(isinstance(value, (int, float)) for value in (before, after))
            difference = after - before if numbers else None
            rows.append(_row("effect_size_edited", new["family"], new["study_id"], new["es_id"], new["sheet_row"],
                             old["sheet_row"], quantity, before, after, difference, note))

        # the effect size itself (yi, else vi) with the cells that moved it; a moderator code, and any cell of an
        # edit that moved neither, in a row of its own named by its column (a recoded modality is not a "yi" row)
        moved = next((q for q in ("yi", "vi") if old[q] != new[q]), None)
        inputs = [c for c in edited if c not in moderators] if moved else []
        if moved:
            # a switched metric (metric.dropout smd -> log_or) moved yi and vi of every row of the family: this row's
            # two values are in different metrics, and their difference is no change of the data (no difference)
            metrics = [row.get("metric") for row in (old, new)]
            switched = None not in metrics and metrics[0] != metrics[1]
            note = detail(inputs) + (f"; yi in the {metrics[0]} metric before, the {metrics[1]} metric now"
                                     if switched else "")
            edit(moved, note, old[moved], new[moved], comparable=not switched)
        for column in (c for c in edited if c not in inputs):  # the cells as written in previous and current
            edit(column, detail([column]), old["cells"].get(column, ""), new["cells"].get(column, ""))
    if rederived:
        configs = [_used_config(record["config"]) for record in (previous, current)]
        keys = sorted(key for key in configs[0].keys() | configs[1].keys() if key.startswith("risk_of_bias.")
                      and (key not in configs[0].keys() & configs[1].keys()
                           or json.dumps(configs[0][key]) != json.dumps(configs[1][key])))
        studies = len({row["study_id"] for row in rederived})
        rows.insert(edits_start, _row(  # current: the number of studies (changes_paragraph)
            "rob_overall_rederived", quantity=OVERALL, current=studies,
            note=f"{OVERALL} of {counted(studies, 'study', 'studies')} ({_effect_sizes(rederived)}, sheet "
                 f"{rows_phrase([row['sheet_row'] for row in rederived], 10)}) changed with the risk-of-bias config "
                 f"({', '.join(keys)}) alone: their domains are unchanged and each value is the overall judgement "
                 "that run's rule derives from them; not listed row by row"))
    return rows


def _same_domains(old: dict, new: dict) -> bool:
    """Are the ``rob_*`` domain cells (all but ``rob_overall``) of an effect size's two records the same, a cell
    only one record has included (a domain column added or removed as a whole)?"""
    return all(old["cells"].get(column, "") == new["cells"].get(column, "")
               for column in old["cells"].keys() | new["cells"].keys()
               if column.startswith(PREFIX) and column != OVERALL)


def _risk_of_bias_tools(previous: dict, current: dict) -> tuple | None:
    """The risk-of-bias tools (:class:`~alliance_meta.inputs.risk_of_bias.RobTool`) of the two runs when their
    recorded configs give different ones (another rule derives an empty ``rob_overall``); None when they are the
    same or a run did not record its tool."""
    tools = []
    for record in (previous, current):
        config = _used_config(record.get("config") or {})
        if "risk_of_bias.tool" not in config:
            return None
        try:
            tools.append(tool_from_config({key.split(".", 1)[1]: value for key, value in config.items()
                                           if key.startswith("risk_of_bias.")}))
        except ValueError:
            return None
    return None if tools[0] == tools[1] else tuple(tools)


def _overall_by_rule(rows: dict[str, dict], tool) -> dict[str, str]:
    """``{key: the rob_overall that tool's rule derives from the row's domain cells}`` ("" where it derives none),
    as the sheet check derives an empty one (:meth:`~alliance_meta.inputs.risk_of_bias.RobTool.derive_overall`)."""
    columns = [PREFIX + domain for domain in tool.domains]
    domains = pd.DataFrame([[row["cells"].get(c) for c in columns] for row in rows.values()], columns=columns,
                           dtype=object)
    derived = tool.derive_overall(domains) if len(domains) else pd.Series([], dtype=object)
    return {key: value if isinstance(value, str) else "" for key, value in zip(rows, derived)}


def _effect_size_origin(row: dict) -> str:
    """The note of an effect size added or removed: its metric and the input it was computed from (``z metric, from
    means_sds``), as far as its snapshot recorded them (earlier versions did not)."""
    return ", ".join(part for part in (f"{row['metric']} metric" if row.get("metric") else "",
                                       f"from {row['input_kind']}" if row.get("input_kind") else "") if part)


def _moderator_columns(*records: dict) -> set[str]:
    """The categorical and continuous moderators of the runs' configs (those that recorded one). A run that left
    ``moderators`` to the sheet recorded :data:`MODERATORS_FROM_SHEET`, a string: it stands for
    :data:`DEFAULT_MODERATORS` (iterated as it is, its letters were the moderators, and a recoded modality cell of
    an edit that also moved yi was lumped into the yi row's note)."""
    def columns(config, key):
        value = config.get(key) or ()
        return DEFAULT_MODERATORS if value == MODERATORS_FROM_SHEET else value

    return {column for record in records for key in ("moderators", "continuous_moderators")
            for column in columns(record.get("config") or {}, key)}


def _used_config(config: dict) -> dict:
    """A recorded config without the keys its risk-of-bias tool does not read (:func:`_unread_keys` beside a
    built-in tool: snapshots from before :func:`compared_config` left them out recorded them all the same)."""
    if "risk_of_bias.tool" not in config:  # a snapshot without the tool: nothing to leave out
        return config
    unread = _unread_keys(config["risk_of_bias.tool"])
    return {key: value for key, value in config.items() if key not in unread}


def config_defaults(schema: dict) -> dict:
    """:func:`compared_config` of the config schema's defaults, ``moderators`` left to the sheet: the ``defaults`` of
    :func:`compare`. ``schema``: the loaded workflow/schemas/config.schema.yaml of the workflow run (rule changes)."""
    from alliance_meta.inputs.config_check import fill_defaults

    return compared_config(fill_defaults({}, schema), moderators_from_sheet=True)


def _config_changes(before: dict, after: dict, defaults: dict | None = None) -> list[dict]:
    """A ``config_changed`` row per compared config key whose value differs (its values in the note). A key one
    snapshot lacks was not recorded by it (an earlier version): ``(not recorded)``; the keys the compared (earlier)
    snapshot lacks and this run has at their ``defaults`` (:func:`config_defaults`; None: no key taken for a default)
    are one row, :data:`NOT_RECORDED_DEFAULTS` with their names (the first rerun after an upgrade lists no key
    nobody changed, nor hides one changed back to its default). A custom risk-of-bias tool's ``domains`` and
    ``levels`` are compared only where a run used them (:func:`_used_config`), ``(not used by quips)`` beside a
    built-in tool. The ``bayes`` keys are compared only between runs that both compared the posterior
    (:data:`COMPARED_BAYES_CONFIG`): turning it on is the ``changes.analyses`` row, not a dozen rows of settings
    that were set all along."""
    before, after = _used_config(before), _used_config(after)
    defaults = defaults or {}

    def shown(key, config):
        if key in config:
            return _config_value(config[key])
        if key in MAIN_METHOD_KEYS and any(other in config for other in MAIN_METHOD_KEYS):  # the other one is used
            return UNRECORDED_MAIN_METHOD[key]
        if "risk_of_bias.tool" in config and key in _unread_keys(config["risk_of_bias.tool"]):
            return f"(not used by {config['risk_of_bias.tool']})"
        return "(not recorded)"

    def same(key):
        return key in before and key in after and json.dumps(before[key]) == json.dumps(after[key])

    def not_recorded_default(key):
        """Absent from the earlier snapshot for no reason but its version, and the default now."""
        return (key not in before and shown(key, before) == "(not recorded)" and key in defaults
                and json.dumps(after[key]) == json.dumps(defaults[key]))

    def bayes_recorded(config):
        return any(key.startswith("bayes.") for key in config)

    both_bayes = bayes_recorded(before) and bayes_recorded(after)
    keys = [key for key in sorted(before.keys() | after.keys())
            if not same(key) and (both_bayes or not key.startswith("bayes."))]
    at_default = [key for key in keys if not_recorded_default(key)]
    rows = [_row("config_changed", quantity=key, note=f"{key}: {shown(key, before)} -> {shown(key, after)}")
            for key in keys if key not in at_default]
    if at_default:
        names = ", ".join(at_default)
        rows.append(_row("config_changed", quantity=names, note=f"{NOT_RECORDED_DEFAULTS}: {names}"))
    return rows


def _config_value(value) -> str:
    """A config value as YAML's flow style writes it: ``[modality, rater]``, ``true``, ``0.5``, ``{a: 1}``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_config_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_config_value(v)}" for k, v in value.items()) + "}"
    return repr(value) if isinstance(value, float) else str(value)


def _result_changes(family: str, old: dict, new: dict, hdi_prob: float = TableSettings.hdi_prob,
                    levels: tuple = (None, None), renamed: dict | None = None,
                    maybe_renamed: dict | None = None) -> list[dict]:
    """The pooled rows and flips of ``family`` between two snapshots; ``hdi_prob``, bayes.hdi_prob of this run, the
    level named with the posterior HDI of mu (as every HDI of the Results); ``levels``, pooling.level of the
    previous run and of this one: intervals of two levels are named so (:func:`_interval_levels`); ``renamed``,
    ``{previous study_id: study_id}`` of the studies renamed: a study flagged influential in both runs is no change
    (it was "newly influential" under its new name and "no longer" under its old one); ``maybe_renamed``, the same
    of pairs whose rows name no publication (:data:`MAYBE_RENAMED_FROM`): compared by name, each row naming the
    possible rename."""
    rows = []
    maybe = {study: f"; {new_id} may be {old_id} renamed (study_renamed), or another study with the same cells"
             for old_id, new_id in (maybe_renamed or {}).items() for study in (old_id, new_id)}
    levels_note = _interval_levels(*levels)
    changed = False
    if "pooled" in old and "pooled" in new:
        a, b = old["pooled"], new["pooled"]
        metric = b.get("metric", "")

        recorded = "dependence" in a and "dependence" in b  # (snapshots of earlier versions lack it)

        def model(part: dict) -> str:
            dependence = f"; {DEPENDENCE_MODELS.get(part['dependence'], part['dependence'])}" if recorded else ""
            return f"{part.get('method')}, test {part.get('test')}; {part.get('metric', metric)} metric{dependence}"

        changed = model(a) != model(b)  # another estimator, test or metric: the numbers are not comparable
        if changed:
            rows.append(_row("model_changed", family, quantity="pooled model",
                             note=f"{model(a)} \u2192 {model(b)}: the results are not compared with those of "
                                  f"{COMPARED_RUN}"))
        # k stays comparable across estimators, but not across a dependence switch (studies vs effect sizes)
        switched = recorded and a["dependence"] != b["dependence"]
        for name in (() if switched else ("k",)) if changed else COMPARED:
            if a[name] == b[name] or (None not in (a[name], b[name]) and same_number(a[name], b[name])):
                continue  # equal (both None too), or but for the order of sums: nothing to list
            before, after = (a[name], b[name]) if name != "k" else (_count_of(a[name]), _count_of(b[name]))
            difference = after - before if None not in (before, after) else None
            note = (f"{b['method']}, test {b['test']}; {metric} metric" if name not in ("k", "i2")
                    else K_EFFECT_SIZES if name == "k" and b.get("dependence") == "multilevel" else "")
            note += levels_note if name in INTERVAL_LIMITS else ""
            rows.append(_row("pooled", family, quantity=name, previous=before, current=after,
                             difference=difference, note=note))
        was, now = _significant(a), _significant(b)
        if not changed and None not in (was, now) and was != now:
            rows.append(_row("significance_flip", family, quantity="ci_excludes_0", previous=float(was),
                             current=float(now), note="the pooled estimate's CI " + (
                                 "now excludes 0" if now else "now includes 0") + levels_note))
    if changed:  # the flips and influence below depend on the model as well
        return rows
    if "bayes_mu" in old and "bayes_mu" in new:
        was, now = (_significant({"ci_lower": part["hdi_lower"], "ci_upper": part["hdi_upper"]})
                    for part in (old["bayes_mu"], new["bayes_mu"]))
        if None not in (was, now) and was != now:
            hdi = f"the posterior {probability_percent(hdi_prob)}% HDI of \u03bc"
            rows.append(_row("credible_interval_flip", family, quantity="hdi_excludes_0", previous=float(was),
                             current=float(now), note=f"{hdi} " + ("now excludes 0" if now else "now includes 0")))
    for moderator in sorted(old.get("moderators", {}).keys() & new.get("moderators", {}).keys()):
        for name, label in MODERATOR_TESTS.items():
            a, b = old["moderators"][moderator].get(name), new["moderators"][moderator].get(name)
            if None not in (a, b) and (a < ALPHA) != (b < ALPHA):
                # no difference: that of two p values is no size of a change (:data:`COLUMNS`)
                rows.append(_row("moderator_test_flip", family, quantity=f"{moderator}: {name}", previous=a,
                                 current=b,
                                 note=f"the {label} of {moderator} is now "
                                      f"{'significant' if b < ALPHA else 'not significant'} at {apa_setting(ALPHA)}"))
                # ".05", as APA and the report write it; the note is the changes paragraph's sentence
    if "influential" in old:
        old = {**old, "influential": [(renamed or {}).get(study, study) for study in old["influential"]]}
    if "influential" in new:
        for study in sorted(set(new["influential"]) - set(old.get("influential", []))):
            rows.append(_row("newly_influential", family, study,
                             note="flagged influential (influence.csv)" + (
                                 "" if "influential" in old else f"; no influence diagnostics in {COMPARED_RUN}")
                             + maybe.get(study, "")))
    if "influential" in old and "influential" in new:  # both runs ran the diagnostics: a flag dropped, not unknown
        for study in sorted(set(old["influential"]) - set(new["influential"])):
            rows.append(_row("no_longer_influential", family, study,
                             note=f"flagged influential in {COMPARED_RUN}, not in this one (influence.csv)"
                                  + maybe.get(study, "")))
    return rows


#: The pooled rows whose value depends on pooling.level.
INTERVAL_LIMITS = ("ci_lower", "ci_upper", "pi_lower", "pi_upper")


def _interval_levels(previous, current) -> str:
    """``; the level changed 95% -> 90% (pooling.level)`` where the compared runs' levels differ: the limits moved
    with the level as well as with the data (an excluded 0 may be the level's doing); empty where they are equal or
    one is not recorded."""
    if previous is None or current is None or same_number(float(previous), float(current)):
        return ""
    return f"; the level changed {float(previous):g}% \u2192 {float(current):g}% (pooling.level)"


def compare(previous: dict | None, current: dict, defaults: dict | None = None) -> pd.DataFrame:
    """``results/changes.csv``: one row per change from ``previous`` to ``current`` (snapshots); ``defaults``: the
    compared config of the schema's defaults (:func:`config_defaults`), for the keys an earlier snapshot did not
    record (:func:`_config_changes`)."""
    if previous is None:
        # also after a rerun of the same sheet (a config change): its snapshot is replaced, not compared with; its
        # config is, when it differed (config_previous)
        config = (_config_changes(current["config_previous"], current["config"], defaults)
                  if "config_previous" in current else [])
        rows = [_row("no_previous_run", note="no run of another sheet in results/history/ to compare with (a "
                                            "rerun of the same sheet is not compared" + (
                                                "; the config_changed rows compare the config with the one this "
                                                "sheet was last run with" if config else "") + ")")]
        return pd.DataFrame(rows + config, columns=COLUMNS)
    if "config" not in current:
        rows = []
    elif "config" in previous:
        rows = _config_changes(previous["config"], current["config"], defaults)
    else:
        rows = [_row("config_not_recorded", note=f"the snapshot of {COMPARED_RUN} has no config (an earlier "
                                                 "version wrote it): config changes since then are not listed")]
    rows += _data_changes(previous, current)
    renamed, maybe_renamed = ({row[key]: row["study_id"] for row in rows if key in row}
                              for key in (RENAMED_FROM, MAYBE_RENAMED_FROM))
    recorded = (current.get("config") or {}).get("bayes.hdi_prob")  # this run's (compared_config), where recorded
    hdi_prob = TableSettings.hdi_prob if recorded is None else float(recorded)
    levels = tuple((snapshot.get("config") or {}).get("pooling.level", (defaults or {}).get("pooling.level"))
                   for snapshot in (previous, current))
    for family in sorted(previous["families"].keys() | current["families"].keys()):
        if family not in previous["families"]:
            rows.append(_row("family_added", family, note=f"not analysed in {COMPARED_RUN}"))
        elif family not in current["families"]:
            rows.append(_row("family_removed", family, note="not analysed in this run"))
        else:
            rows += _result_changes(family, previous["families"][family], current["families"][family], hdi_prob,
                                    levels, renamed, maybe_renamed)
    if not rows:  # pooled rows are listed only for values that differ
        rows.insert(0, _row("no_change", note=f"the data and the compared results equal those of {COMPARED_RUN}"))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.attrs["previous"] = previous["sheet_sha256"]
    return frame


def _count(frame: pd.DataFrame, change: str) -> int:
    return int((frame["change"] == change).sum())


def numbers_read_back(changes: pd.DataFrame) -> pd.DataFrame:
    """changes.csv as read back: ``previous`` and ``current`` hold numbers and, for a recoded cell, its codes as
    written, so a reader gives the column as text; the numbers are made numbers again (the codes stay text)."""
    changes = changes.copy()
    coded = (((changes["change"] == "effect_size_edited") & ~changes["quantity"].isin(["yi", "vi"]))
             | (changes["change"] == "effect_size_id_corrected"))  # cells and ids as written
    for column in ("previous", "current"):
        if column in changes and not pd.api.types.is_numeric_dtype(changes[column]):
            changes[column] = pd.Series([value if code or not isinstance(value, str) or (number := _number(value)) is None
                                         else number for value, code in zip(changes[column], coded)],
                                        index=changes.index, dtype=object)
    return changes


def changes_paragraph(changes: pd.DataFrame, metrics: dict[str, str] | None = None, level: float = 95) -> str:
    """Sentences for the report: what was added, removed or edited, and how the estimates moved (with the CI of
    ``level``, pooling.level, named as every CI of the Results)."""
    changes = numbers_read_back(changes)
    config = _config_sentence(changes)
    if (changes["change"] == "no_previous_run").any():
        return ("There is no run of another sheet to compare with in results/history/ (earlier runs of this same "
                "sheet, before a config change for example, are not compared with). After the sheet changes, the "
                "next run lists here what changed." + (" " + _config_sentence(changes, "the previous run of this sheet")
                                                       if config else ""))
    if (changes["change"] == "no_change").any():
        return f"Nothing changed since {COMPARED_RUN}: the data and the main results are equal."
    parts = []
    edited = changes[changes["change"] == "effect_size_edited"]
    # a study added or removed with its effect sizes ("6 studies added (6 effect sizes)"), the effect sizes added to
    # or removed from the other studies apart: "6 studies added, 6 effect sizes added" read as twelve additions
    of_studies = {change: _effect_sizes_of_studies(changes, change) for change in ("added", "removed")}
    counts = [(change, _count(changes, change)) for change in ("study_added", "study_removed", "study_renamed")]
    counts += [(f"effect_size_{change}", _count(changes, f"effect_size_{change}") - of_studies[change])
               for change in ("added", "removed")]
    counts.append(("effect_size_id_corrected", _count(changes, "effect_size_id_corrected")))
    # effect sizes whose value or inputs were edited; a recoded moderator (or label) is a cell edited besides them
    moved = edited[edited["quantity"].isin(EFFECT_SIZE_QUANTITIES)]
    counts.append(("effect_size_edited", len(moved.drop_duplicates(["family", "study_id", "es_id", "sheet_row"]))))
    # the counts of the sentence are set beside one another: numerals for all where one is 10 or more (APA 6.33)
    beside = [n for _, n in counts if n] + [n for n in of_studies.values() if n]
    listed = [f"{apa_count(n, beside)} {_noun(change, n)} "
              + (plural(n, "with a corrected id", "with corrected ids") if change == "effect_size_id_corrected"
                 else change.rsplit("_", 1)[1])
              + (f" ({counted(of_studies[change[6:]], 'effect size', words=True, compared=beside)})"
                 if change in ("study_added", "study_removed")
                 else f" to {_others(changes, 'added')} already included"
                 if change == "effect_size_added" and of_studies["added"]
                 else f" from {_others(changes, 'removed')} still included"
                 if change == "effect_size_removed" and of_studies["removed"]
                 else "")
              for change, n in counts if n]
    # the compared snapshot is the last run of the previous sheet version, not a rerun of this sheet (compare)
    parts.append(f"Since {COMPARED_RUN}: "
                 + (", ".join(listed) if listed else "no studies or effect sizes changed") + ".")
    recoded = edited.loc[~edited["quantity"].isin(EFFECT_SIZE_QUANTITIES), "quantity"].value_counts(sort=False)
    if len(recoded):
        parts.append("Cells edited besides the effect sizes: " + ", ".join(
            f"{column} ({counted(n, 'row', words=True, compared=recoded.tolist())})" for column, n in recoded.items())
            + ".")
    if config:
        parts.append(config)
    for row in changes[changes["change"] == "rob_overall_rederived"].itertuples():
        studies = int(row.current)  # the number of studies
        parts.append(f"The {OVERALL} of {counted(studies, 'study', 'studies', words=True)} changed with the "
                     "risk-of-bias config alone (the overall judgement its rule derives from unchanged domains).")
    if (changes["change"] == "config_not_recorded").any():
        parts.append(f"The config of {COMPARED_RUN} was not recorded (an earlier version of alliance-meta): config "
                     "changes since then are not listed.")
    for row in changes[changes["change"].isin(["column_added", "column_removed"])].itertuples():
        parts.append(f"Column {row.quantity} {'is new' if row.change == 'column_added' else 'is gone'}: {row.note}.")
    for row in changes[changes["change"].isin(["family_added", "family_removed"])].itertuples():
        parts.append(f"The {row.family} family is analysed for the first time in this run." if row.change == "family_added"
                     else f"The {row.family} family, analysed in {COMPARED_RUN}, is not analysed in this one.")
    for row in changes[changes["change"] == "model_changed"].itertuples():
        parts.append(f"The {row.family} family's pooled model changed ({row.note.split(': ')[0]}): its results are not "
                     f"compared with those of {COMPARED_RUN}.")
    pooled = changes[changes["change"] == "pooled"]
    model_changed = set(changes.loc[changes["change"] == "model_changed", "family"])
    for family in dict.fromkeys(pooled["family"]):
        # only the values that differ have a row (an estimate equal at full precision has none)
        rows = pooled[pooled["family"] == family].set_index("quantity")
        if family in model_changed:  # only k is compared
            continue
        show = display((metrics or {}).get(family, "z"))
        moved = "; ".join(f"{label} {_moved(shown(rows.loc[q, 'previous']), shown(rows.loc[q, 'current']))}"
                          + (" effect sizes" if q == "k" and rows.loc[q, "note"] == K_EFFECT_SIZES else "")
                          for q, label, shown in (("k", "k", _whole), ("tau2", "\u03c4\u00b2",
                                                                        lambda v: apa_number(v, 3)))
                          if q in rows.index)
        moved = f" ({moved})" if moved else ""
        if "estimate" not in rows.index:
            parts.append(f"The {family} estimate is unchanged{moved}.")
            continue
        old, new = rows.loc["estimate", "previous"], rows.loc["estimate", "current"]
        if not (is_finite(old) and is_finite(new)):
            continue
        interval = ""
        if all(q in rows.index and is_finite(rows.loc[q, "current"]) for q in ("ci_lower", "ci_upper")):
            limits = rows.loc["ci_lower", "current"], rows.loc["ci_upper", "current"]
            interval = f", {level:g}% CI {show.interval(*limits)}"
        if show.number(old) == show.number(new):  # e.g. rows reordered: equal as reported
            # equal but for the last bits (rows reordered): unchanged; a real change too small to show: said so
            same = same_number(old, new)
            unchanged = ("stays at" if "k" in rows.index else "is unchanged at" if same
                         else "is unchanged to two decimals at")
            parts.append(f"The {family} estimate {unchanged} {show.symbol} = {show.number(new)}{interval}{moved}.")
        else:
            parts.append(f"The {family} estimate moved from {show.symbol} = {show.number(old)} to "
                         f"{show.number(new)}{interval}{moved}.")
    for row in changes[changes["change"].isin(["significance_flip", "credible_interval_flip"])].itertuples():
        parts.append(f"In the {row.family} family, {row.note}.")
    for row in changes[changes["change"] == "moderator_test_flip"].itertuples():
        parts.append(f"In the {row.family} family, {row.note} ({apa_p_clause(row.previous)} \u2192 "
                     f"{apa_p_clause(row.current)}).")
    for change, label in (("newly_influential", "Newly influential"), ("no_longer_influential", "No longer influential")):
        influential = changes[changes["change"] == change]
        if len(influential):
            parts.append(f"{label}: " + ", ".join(f"{r.study_id} ({r.family})" for r in influential.itertuples()) + ".")
    return " ".join(parts)


def _config_passages(changes: pd.DataFrame) -> list[str]:
    """``pooling.main_method REML → DL``: each config key that changed with its values, as the paragraph writes it."""
    rows = changes[changes["change"] == "config_changed"]
    return [f"{row.quantity} ({NOT_RECORDED_DEFAULTS})" if row.note.startswith(NOT_RECORDED_DEFAULTS)
            else row.note.replace(": ", " ", 1).replace(" -> ", " \u2192 ") for row in rows.itertuples()]


def _config_sentence(changes: pd.DataFrame, since: str = COMPARED_RUN) -> str:
    """``The config changed since {since}: pooling.main_method REML → DL; ...`` (empty when it did not)."""
    passages = _config_passages(changes)
    return f"The config changed since {since}: " + "; ".join(passages) + "." if passages else ""


def changes_verbatim(changes: pd.DataFrame) -> tuple[str, ...]:
    """The text of :func:`changes_paragraph` from the data and the config, set as written (never a statistical
    symbol, an abbreviation spelled out): the study and effect-size ids, families, the sheet's columns and
    moderators it names and the config's keys and values."""
    changes = numbers_read_back(changes)
    names = [str(value) for column in ("study_id", "es_id", "family") if column in changes
             for value in changes[column] if isinstance(value, str) and value.strip()]
    quantities = changes.loc[~changes["change"].isin(["pooled", "significance_flip", "credible_interval_flip"]),
                             "quantity"]
    names += [part for value in quantities if isinstance(value, str) for part in value.split(": ") if part.strip()]
    return tuple(dict.fromkeys(names + _config_passages(changes)))


def _effect_sizes_of_studies(changes: pd.DataFrame, change: str) -> int:
    """The ``effect_size_added`` (``change`` ``added``) or ``effect_size_removed`` rows of the studies added or removed
    (a study_id given to another study is both: its added effect sizes are the new study's, its removed the old's)."""
    studies = set(changes.loc[changes["change"] == f"study_{change}", "study_id"])
    return int(((changes["change"] == f"effect_size_{change}") & changes["study_id"].isin(studies)).sum())


def _others(changes: pd.DataFrame, change: str) -> str:
    """``a study`` or ``studies``: the studies that the ``effect_size_added`` (``removed``) rows not of a study added
    (removed) belong to ("1 effect size added to studies already included" said of one study, one effect size)."""
    studies = set(changes.loc[changes["change"] == f"study_{change}", "study_id"])
    rows = changes[(changes["change"] == f"effect_size_{change}") & ~changes["study_id"].isin(studies)]
    return "a study" if rows["study_id"].nunique() == 1 else "studies"


def _noun(change: str, count: int) -> str:
    """``study`` / ``studies``, ``effect size`` / ``effect sizes`` for a change such as ``study_added``."""
    noun = "study" if change.startswith("study") else "effect size"
    return noun if count == 1 else ("studies" if noun == "study" else "effect sizes")


def _whole(value) -> str:
    """A count read back from changes.csv (a float column with blanks) as a whole number; blank when missing."""
    return f"{value:.0f}" if is_finite(value) else "NA"


def _moved(previous, current) -> str:
    """``16`` when equal, else ``14 → 16``."""
    return f"{current}" if previous == current else f"{previous} \u2192 {current}"
