"""What the raw sheet holds when the workflow is planned: which file it is, its families and its
default moderators.

A family with no rows in the sheet is not analysed (no jobs, one line in the log and the
report), and a default moderator (config without a ``moderators`` key) that the sheet does not
code is left out. The sheet is read once, when the workflow is parsed; a sheet that cannot be
read yet keeps every configured family and moderator (validation then reports why it cannot be
read).

Files of an earlier run that the config no longer makes (a family no longer analysed, a moderator no
longer listed, an option switched off) are found when the workflow is planned, for one note in the log
and the report; they are never deleted.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from alliance_meta.inputs.codebook import VOCABULARIES


#: The config keys that name files of the reviewer's (relative to the review folder, or absolute).
FILE_KEYS = ("sheet", "second_coder")


def home_paths(config: dict) -> dict:
    """The ``FILE_KEYS`` of ``config`` that start with ``~``, with the home folder put in, as a shell does
    (``sheet: ~/Dropbox/review/studies.xlsx``): else the file was looked for in a folder named ``~`` of the
    review folder and "does not exist"."""
    return {key: os.path.expanduser(config[key]) for key in FILE_KEYS
            if isinstance(config.get(key), str) and config[key].startswith("~")}


def sheet_path(configured: str, named: bool) -> tuple[str, str | None]:
    """The sheet to read and a note for the log (or None). A sheet the config names is used as named (with a
    note when a newer sheet of its name is beside it: :func:`_newer_sibling_note`); otherwise the default
    ``data/raw/studies.csv``, or ``studies.xlsx`` beside it when only that exists."""
    csv, workbook = Path(configured), Path(configured).with_suffix(".xlsx")
    if named:
        return configured, _newer_sibling_note(Path(configured))
    if not workbook.exists():
        return configured, None
    if csv.exists():
        return configured, f"the sheet is {csv}; {workbook} is not read (set `sheet` in the config to analyse it)"
    return str(workbook), f"the sheet is {workbook} (no key `sheet` in the config, no {csv.name})"


#: Seconds by which the other file must be newer: a fresh ``git clone``, ``cp -r`` or unzip writes studies.csv and
#: then studies.xlsx a fraction of a second apart, which is no save of edits.
SIBLING_SLACK = 60.0


def _newer_sibling_note(sheet: Path) -> str | None:
    """A note when the sheet the config names has a ``.csv`` or ``.xlsx`` of the same name beside it that was saved
    after it (by more than :data:`SIBLING_SLACK`): a sheet opened in Excel and saved as a workbook (or exported back
    to CSV) left the named file as it was, and the rerun said "Nothing to be done" with no word that the edits
    were not read."""
    for other in (sheet.with_suffix(suffix) for suffix in (".csv", ".xlsx") if suffix != sheet.suffix.lower()):
        if sheet.is_file() and other.is_file() and other.stat().st_mtime > sheet.stat().st_mtime + SIBLING_SLACK:
            return (f"the sheet is {sheet} (config `sheet`); {other}, saved after it, is not read (set `sheet: "
                    f"{other}` in the config to analyse it)")
    return None


def unusable_files(paths: dict, named=()) -> list[str]:
    """Config problems for the files the config names (``sheet``, ``second_coder``: key -> path, None
    when not used) that do not exist or are of a type no sheet can have, and a ``second_coder`` that is the
    sheet itself (its agreement would be 100%); ``named``: the keys the reviewer wrote (others are defaults).
    Paths are relative to the review folder."""
    from alliance_meta.inputs.sheet import unsupported_type

    problems = []
    for key, path in paths.items():
        if not path:
            continue
        if Path(path).is_file():
            if (reason := unsupported_type(path)) is not None:
                problems.append(f"{key}: {path}: {reason}")
            continue
        what = "is a folder, not a file" if Path(path).is_dir() else "does not exist"
        if key not in named:  # the default sheet, data/raw/studies.csv or .xlsx
            what += f", nor does {Path(path).with_suffix('.xlsx')} (the default sheet; or set {key} in the config)"
        relative = "" if Path(path).is_absolute() else f" (paths are relative to the review folder {Path.cwd()})"
        problems.append(f"{key}: {path} {what}{relative}{missing_file_hint(path)}")
    sheet, second = paths.get("sheet"), paths.get("second_coder")
    if sheet and second and Path(sheet).is_file() and Path(second).is_file() and os.path.samefile(sheet, second):
        problems.append(f"second_coder: {second} is the sheet itself (sheet: {sheet}), which agrees with itself in "
                        "every cell; give the second coder's own sheet, or delete the second_coder line")
    return problems


def missing_file_hint(path: str) -> str:
    """A did-you-mean for a file that does not exist: the path without what made it another name (backslashes,
    typographic quotes, spaces around it) when that file exists, or a file of its folder with a close name
    (``studes.csv``, ``Studies.CSV``) or the same name before its suffix (``a.csv`` for ``a.xlsx``)."""
    import difflib

    mended = path.strip().strip("\"'\u201c\u201d\u2018\u2019\u201e\u00ab\u00bb").strip().replace("\\", "/")
    if mended != path and Path(mended).is_file():
        why = ["write / between folders: \\ is part of a file name on macOS and Linux"] if "\\" in path else []
        why += ["typographic quotes, as a word processor types them, are part of the name: write straight quotes "
                "or none"] if re.search("[\u201c\u201d\u2018\u2019\u201e\u00ab\u00bb]", path) else []
        why += ["spaces around it are part of the name"] if path.strip() != path else []
        return f"; did you mean {mended}?" + (f" ({'; '.join(why)})" if why else "")
    folder = Path(path).parent
    names = [entry.name for entry in folder.iterdir() if entry.is_file()] if folder.is_dir() else []
    close = difflib.get_close_matches(Path(path).name, names, n=1, cutoff=0.6) or \
        [name for name in sorted(names) if Path(name).stem.lower() == Path(path).stem.lower()]
    return f"; did you mean {(folder / close[0]).as_posix()}?" if close else ""


def planning_cells(path: str | Path, **reading) -> pd.DataFrame | None:
    """The sheet's cells as :func:`~alliance_meta.inputs.sheet.read_sheet` reads them (``reading``:
    its ``sheet_name`` and ``decimal``), or None when it cannot be read."""
    from alliance_meta.inputs.sheet import read_sheet

    try:
        return read_sheet(path, **reading)
    except Exception:  # noqa: BLE001 - validation reports an unreadable sheet with its reason
        return None


def families_in_sheet(cells: pd.DataFrame | None, configured=("outcome", "dropout")) -> tuple[list[str], list[str]]:
    """``(analysed, absent)``: the configured families with at least one row, and those without.

    A missing or empty ``family`` cell means ``outcome`` (the codebook's default); values are
    read with the codebook's synonyms (``drop-out`` -> ``dropout``); values outside the
    vocabulary are left to validation.
    """
    if cells is None:
        return list(configured), []
    present = set(_family_of_rows(cells)) if "family" in cells else {VOCABULARIES["family"].default}
    if not present & set(configured):  # nothing to analyse: let validation and the report say so
        return list(configured), []
    return [f for f in configured if f in present], [f for f in configured if f not in present]


def families_left_out(cells: pd.DataFrame | None, configured) -> dict[str, int]:
    """Families with rows in the sheet that the config's ``families`` does not list, with their
    numbers of rows: they are validated and converted but not analysed, which the log and the
    report say (:func:`family_left_out_sentence`)."""
    if cells is None:
        return {}
    vocabulary = VOCABULARIES["family"]
    values = _family_of_rows(cells)
    counts = values[values.isin(vocabulary.values) & ~values.isin(list(configured))].value_counts()
    return {family: int(counts[family]) for family in vocabulary.values if family in counts}


def no_configured_family_problem(cells: pd.DataFrame | None, configured) -> str | None:
    """A config problem when every row of the sheet belongs to a family the config's ``families`` leaves
    out: nothing would be analysed (the family jobs had no effect sizes and stopped with a traceback).
    None when some row is in a configured family, when the sheet has no rows or cannot be read, or when
    a ``family`` value is outside the vocabulary (validation reports it, with a did-you-mean)."""
    if cells is None or cells.empty:
        return None
    values = _family_of_rows(cells)
    if values.isna().any() or values.isin(list(configured)).any():
        return None
    counts = values.value_counts()
    has = " and ".join(f"{counts[family]} {family} row{'s' if counts[family] != 1 else ''}"
                       for family in VOCABULARIES["family"].values if family in counts)
    missing = [family for family in VOCABULARIES["family"].values if family in counts]
    return (f"families: [{', '.join(configured)}], but the sheet has no row of "
            f"{'that family' if len(configured) == 1 else 'these families'} (it has {has}): nothing would be "
            f"analysed; add {' and '.join(missing)} to families")


def categorical_columns(config: dict) -> list[str]:
    """The sheet columns the config analyses as categories: ``moderators``, the variables of ``meta_regression``
    and ``location_scale`` formulas, ``multiverse.subsets`` and ``psychometric.moderators``, less
    ``continuous_moderators`` and the codebook's numeric columns. The pipeline's jobs read them as text
    (:data:`alliance_meta.io.TEXT_COLUMNS_ENV`): a moderator coded 1, 2, 3 with a blank cell is a column of
    numbers with a gap to a CSV reader, and its levels were named 1.0, 2.0, 3.0 in every table and plot."""
    from alliance_meta.engines.design import formula_variables
    from alliance_meta.inputs.codebook import NUMERIC_COLUMNS

    def names(value) -> list[str]:
        return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []

    formulas = names(config.get("meta_regression"))
    for entry in config.get("location_scale") or []:
        formulas += [entry] if isinstance(entry, str) else [part for part in dict(entry).values()
                                                            if isinstance(part, str)]
    variables = []
    for formula in formulas:
        try:
            variables += formula_variables(formula)
        except ValueError:
            continue  # validation reports a formula it cannot read
    multiverse = config.get("multiverse") if isinstance(config.get("multiverse"), dict) else {}
    psychometric = config.get("psychometric") if isinstance(config.get("psychometric"), dict) else {}
    wanted = [*names(config.get("moderators")), *variables, *names(multiverse.get("subsets")),
              *names(psychometric.get("moderators"))]
    left_out = {*names(config.get("continuous_moderators")), *NUMERIC_COLUMNS, "yi", "vi", "sheet_row",
                "k_effect_sizes", "study_id"}
    return [name for name in dict.fromkeys(wanted) if name not in left_out]


def levels_present(values: pd.Series) -> list[str]:
    """The distinct filled values of a moderator column as text, in order of appearance (blanks left out)."""
    text = values.dropna().astype(str).str.strip()
    return list(dict.fromkeys(text[text != ""]))


def family_reference_levels(effect_sizes: pd.DataFrame, reference_levels, variables=None) -> tuple[dict, list[str]]:
    """The config's ``reference_levels`` that a family's rows have, and a note for each one they lack (e.g.
    ``rater: therapist`` where the dropout studies are all patient-rated): that moderator takes its default
    reference in this family. Every moderator job of such a family stopped with "reference level 'therapist'
    of 'rater' not among its levels" (validation checks that some row of the sheet has each level).
    ``variables``: keep only the levels of these (a job's own variables; the config's also serve other jobs,
    e.g. location_scale's, which an analysis that checks its reference levels would refuse)."""
    kept, notes = {}, []
    for column, level in dict(reference_levels or {}).items():
        if column in effect_sizes:
            present = levels_present(effect_sizes[column])
            if str(level).strip() not in present:
                notes.append(f"reference_levels.{column}: {level} is not a level of {column} in this family's rows "
                             f"({', '.join(present[:10]) or 'none'}); {column} takes its most frequent level as "
                             "the reference here")
                continue
        kept[column] = level
    if variables is not None:
        kept = {column: level for column, level in kept.items() if column in variables}
    return kept, notes


def aggregate_rho_problem(cells: pd.DataFrame | None, method: str, rho: float,
                          dependence: str = "aggregate") -> str | None:
    """A config problem when ``aggregate_method: gls`` cannot build the composite of a study with its
    ``aggregate_rho``: the compound-symmetric covariance of m effect sizes is singular or indefinite unless
    -1/(m - 1) < rho < 1 (``aggregate_rho: 1``, "perfectly correlated", stopped convert_effect_sizes with a
    traceback). Studies are counted per family, as they are aggregated. None when every study fits, the
    method is ``mean``, or the sheet cannot be read (validation says why). ``dependence: multilevel``: the
    three-level model's working covariance (metafor's ``vcalc``) is that compound symmetry whatever the
    method, and -1 < rho < 1 even when every study has one effect size (with ``aggregate_rho: 1`` and
    ``aggregate_method: mean`` the model's jobs stopped with a ValueError traceback)."""
    if dependence == "multilevel" and not -1 < rho < 1:
        return (f"aggregate_rho: {rho:g} with dependence: multilevel: the three-level model's working covariance "
                "(compound symmetry, as metafor's vcalc) needs -1 < aggregate_rho < 1; choose e.g. "
                f"{0.99 if rho >= 1 else 0.0:g}")
    if cells is None or cells.empty or (method != "gls" and dependence != "multilevel") or "study_id" not in cells:
        return None
    rows = pd.DataFrame({"family": _family_of_rows(cells), "study_id": cells["study_id"]}).dropna()
    sizes = rows.groupby(["family", "study_id"], sort=False).size()
    bad = sizes[(sizes > 1) & ~((-1 / (sizes - 1).clip(lower=1) < rho) & (rho < 1))]
    if bad.empty:
        return None
    named = ", ".join(f"{study} ({m} rows)" for (_, study), m in bad.head(5).items())
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    largest = int(bad.max())
    allowed = f"{-1 / (largest - 1):.3g} < aggregate_rho < 1" if largest > 2 else "-1 < aggregate_rho < 1"
    if dependence == "multilevel":  # aggregate_method: mean would not help here
        return (f"aggregate_rho: {rho:g} with dependence: multilevel makes the working covariance of the effect sizes "
                f"of {'a study' if len(bad) == 1 else 'studies'} with several rows ({named}{more}) singular or "
                f"indefinite, so the three-level model cannot be fitted; it needs {allowed}: choose e.g. 0")
    return (f"aggregate_rho: {rho:g} with aggregate_method: gls makes the covariance of the effect sizes of "
            f"{'a study' if len(bad) == 1 else 'studies'} with several rows ({named}{more}) singular or "
            f"indefinite, so no composite can be computed; GLS needs {allowed}: choose e.g. "
            f"{0.99 if rho >= 1 else 0.0:g}, or aggregate_method: mean (Borenstein's composite, which allows 1)")


def _family_of_rows(cells: pd.DataFrame) -> pd.Series:
    """Each row's family as the codebook reads it: an empty cell or no column is ``outcome``, synonyms
    canonical (``drop-out`` -> ``dropout``), values outside the vocabulary None (validation reports them)."""
    vocabulary = VOCABULARIES["family"]
    if "family" not in cells:
        return pd.Series(vocabulary.default, index=cells.index, dtype=object)
    return cells["family"].map(lambda value: vocabulary.canonical(value) if isinstance(value, str)
                               else vocabulary.default)


def family_left_out_sentence(family: str, rows: int, source: str = "config/config.yaml") -> str:
    """The log's and the report's sentence for a family the sheet has but ``families`` (set in ``source``) leaves out."""
    return (f"The sheet has {rows} {family} row{'s' if rows != 1 else ''}, but families in {source} does not "
            f"include {family}: the {family} family is not analysed (add {family} to families to analyse "
            f"{'them' if rows != 1 else 'it'}).")


def coded_moderators(cells: pd.DataFrame | None, names) -> tuple[list[str], list[str]]:
    """``(coded, left_out)``: the moderators among ``names`` with a value in at least one row, and the
    others (no column, or an empty one, as in a sheet made from the template). Codebook columns
    match in any case, as :func:`~alliance_meta.inputs.sheet.read_sheet` names them."""
    if cells is None:
        return list(names), []
    coded = [name for name in names if name in cells and cells[name].notna().any()]
    return coded, [name for name in names if name not in coded]


def moderators_left_out_note(names, reference_levels=(), columns=()) -> str:
    """The log line for default moderators the sheet does not code (``reference_levels``: the
    config's keys, so that a reference level set for a moderator left out is said to be unused; ``columns``:
    the sheet's header, so that a moderator's column under a misspelt name, ``ratr``, is named)."""
    from alliance_meta.inputs.sheet import closest_header

    names = list(names)
    plural = len(names) > 1
    unused = [name for name in names if name in set(reference_levels)]
    unused_note = (f"; reference_levels.{', reference_levels.'.join(unused)} {'are' if len(unused) > 1 else 'is'} "
                   "not used" if unused else "")
    columns = [str(column) for column in columns]
    misspelt = {name: closest_header(name, columns) for name in names if name not in columns}
    misspelt_note = "".join(f"; the sheet has no {name} column but a column {close}: rename it {name} to analyse it"
                            for name, close in misspelt.items() if close is not None)
    return (f"the default moderator{'s' if plural else ''} {', '.join(names)} {'have' if plural else 'has'} no "
            f"values in the sheet and {'are' if plural else 'is'} left out{unused_note}{misspelt_note}; name the "
            "moderators in config/config.yaml (moderators: [...]) to choose them")


# Outputs of an earlier run that the current config no longer makes --------------------------------------

#: Per-moderator plots (results/{family}/<kind>_<moderator>.<ext>, the moderator as :func:`file_part` writes it)
#: and the config key that lists their moderators.
PER_MODERATOR_PLOTS = {"forest": "moderators", "subgroups": "moderators", "bubble": "continuous_moderators"}


def file_part(name: str) -> str:
    """A moderator's name as its plots' file names write it: each run of characters other than letters, digits,
    ``-`` and ``_`` one underscore (``dose level`` -> ``bubble_dose_level.png``; no space, slash or quote in a path)."""
    return re.sub(r"[^\w-]+", "_", str(name)).strip("_")


def moderator_plot_stem(kind: str, name: str) -> str:
    """The file name, without extension, of moderator ``name``'s plot of ``kind`` (a key of
    :data:`PER_MODERATOR_PLOTS`): ``moderator_plot_stem("bubble", "dose level") == "bubble_dose_level"``."""
    return f"{kind}_{file_part(name)}"


#: Folders whose files the workflow makes, and the folders kept across runs by design (never reported): the
#: history, and the plots' report previews that the plotting jobs store beside their outputs
#: (:mod:`alliance_meta.plots.previews`; each is used only for the PNG it was made from).
OUTPUT_FOLDERS = ("results", "data/processed")
PREVIEWS_FOLDER = "data/processed/previews"
KEPT_FOLDERS = ("results/history", PREVIEWS_FOLDER)
#: The reason given for a file that no rule makes with this config, when neither the families nor the moderators
#: explain it (an option such as ``plots: {tiff: true}`` switched off since, or a file put there by hand).
NOT_MADE = "this config makes no such file (an option switched off since that run, or a file put there by hand)"
#: The risk-of-bias files of a family (results/{family}/...), made only when the sheet codes risk of bias
#: (:func:`alliance_meta.inputs.risk_of_bias.sheet_has_risk_of_bias`).
_RISK_OF_BIAS = re.compile(r"^rob_(?:traffic_light|summary|sensitivity)\.[^./]+$")
NO_RISK_OF_BIAS = "the sheet has no risk-of-bias judgements (no rob_* column filled in)"
#: The files of the config's optional sheet-wide steps, made only when their key is set.
OPTIONAL_STEP_FILES = {"second_coder": ("results/agreement.csv", "results/disagreements.csv",
                                        "results/one_coder_studies.csv"),
                       "prisma": ("results/prisma.pdf", "results/prisma.png", "results/prisma.svg")}
_PER_MODERATOR = re.compile(rf"^(?P<kind>{'|'.join(PER_MODERATOR_PLOTS)})_(?P<moderator>.+)\.[^./]+$")


@dataclass(frozen=True)
class EarlierOutputs:
    """Files of an earlier run that this config does not make, for one reason. ``kind``: ``family`` (a family
    not analysed), ``moderator`` (a moderator not listed) or ``other``."""

    kind: str
    reason: str
    paths: tuple[str, ...]

    def line(self, folders=OUTPUT_FOLDERS, most: int = 6) -> str | None:
        """The files under ``folders`` and the reason, or None when there are none: a family's folder as one item
        with its number of files, the formats of one file name together, at most ``most`` items."""
        items: dict[str, list[str]] = {}
        for path in sorted(self.paths, key=lambda path: (not path.startswith("results/"), path)):
            if not path.startswith(tuple(f"{folder}/" for folder in folders)):
                continue
            if self.kind == "family":
                items.setdefault(_family_folder(path), []).append(path)
                continue
            stem, _, extension = path.rpartition(".")
            stem, extension = (stem, f".{extension}") if stem and "/" not in extension else (path, "")
            items.setdefault(stem, []).append(extension)
        if not items:
            return None
        shown = [f"{item} ({len(members)} file{'s' if len(members) != 1 else ''})" if self.kind == "family"
                 else item + members[0] if len(members) == 1 else f"{item} ({', '.join(members)})"
                 for item, members in items.items()]
        more = f" and {len(shown) - most} more" if len(shown) > most else ""
        return f"{', '.join(shown[:most])}{more}: {self.reason}"


def output_files(folders=OUTPUT_FOLDERS, kept=KEPT_FOLDERS) -> list[str]:
    """The files under ``folders`` (relative to the review folder, ``/``-separated, sorted), without the ``kept``
    folders, hidden files (``.snakemake_timestamp``, LibreOffice's ``.~lock.*#``) and Office's ``~$`` lock files."""
    found = []
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            root = Path(root).as_posix()
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and f"{root}/{d}" not in kept)
            found += [f"{root}/{name}" for name in files if not name.startswith((".", "~$"))]
    return sorted(found)


def left_out(path: str, *, families, configured_families, moderators, continuous_moderators,
             uncoded_moderators=(), risk_of_bias=True, steps_off=()) -> tuple[str, str] | None:
    """``(kind, reason)`` when ``path`` is a file of a family (``results/{family}/...``,
    ``data/processed/{family}/...``), a per-moderator plot (``results/{family}/forest_{moderator}.*``,
    ``subgroups_*``, ``bubble_*``) or a risk-of-bias file (``results/{family}/rob_*``) that the analysed ``families``,
    the configured moderators or a sheet that codes no risk of bias (``risk_of_bias`` false) leave out, or a
    configured moderator's plot under the name it had before :func:`file_part`; None for any other path.
    ``configured_families``: the config's ``families`` (one there without rows in the sheet is not analysed either);
    ``uncoded_moderators``: default moderators left out for having no values in the sheet; ``steps_off``: the keys
    of :data:`OPTIONAL_STEP_FILES` not set in the config (their files are left out)."""
    for key in steps_off:
        if path in OPTIONAL_STEP_FILES[key]:
            return "other", f"{key} is not set in the config"
    parts = path.split("/")
    if parts[:2] == ["data", "processed"]:
        parts = ["data/processed", *parts[2:]]
    if len(parts) < 3 or parts[0] not in OUTPUT_FOLDERS or parts[1] not in VOCABULARIES["family"].values:
        return None
    family = parts[1]
    if family not in families:
        why = f"the sheet has no {family} rows" if family in configured_families else "not in the config's families"
        return "family", f"the {family} family is not analysed ({why})"
    name = parts[2] if parts[0] == "results" and len(parts) == 3 else ""
    if not risk_of_bias and _RISK_OF_BIAS.match(name):
        return "other", NO_RISK_OF_BIAS
    match = _PER_MODERATOR.match(name)
    if match is None:
        return None
    moderator, key = match["moderator"], PER_MODERATOR_PLOTS[match["kind"]]
    listed = moderators if key == "moderators" else continuous_moderators
    if moderator in map(file_part, listed):
        return None
    if moderator in listed:  # "forest_care setting.png" of a run before file_part: not a moderator left out
        return "moderator", (f"an earlier run's name for the plot of {moderator}, which this run writes as "
                             + moderator_plot_stem(match["kind"], moderator))
    if key == "moderators" and moderator in map(file_part, uncoded_moderators):
        return "moderator", f"the default moderator {moderator} has no values in the sheet"
    return "moderator", f"{moderator} is not in the config's {key}"


def left_out_pattern(families, moderators, continuous_moderators, risk_of_bias=True, steps_off=()) -> str:
    """A regular expression of the paths that :func:`left_out` explains (for the rule that says why when one is
    asked for by name): every file of a family not analysed, the per-moderator plots of the analysed families
    for moderators the config does not list, their risk-of-bias files when ``risk_of_bias`` is false, and the
    files of the optional steps in ``steps_off``."""
    def alternatives(names):
        return "|".join(re.escape(name) for name in names)

    patterns = [re.escape(path) for key in steps_off for path in OPTIONAL_STEP_FILES[key]]
    if not_analysed := [family for family in VOCABULARIES["family"].values if family not in families]:
        patterns.append(rf"(?:results|data/processed)/(?:{alternatives(not_analysed)})/.+")
    if families:
        for kinds, listed in (("forest|subgroups", moderators), ("bubble", continuous_moderators)):
            unlisted = rf"(?!(?:{alternatives(map(file_part, listed))})\.[^./]+$)" if listed else ""
            patterns.append(rf"results/(?:{alternatives(families)})/(?:{kinds})_{unlisted}[^/]+\.[^./]+")
        if not risk_of_bias:
            patterns.append(rf"results/(?:{alternatives(families)})/{_RISK_OF_BIAS.pattern[1:-1]}")
    return "|".join(f"(?:{pattern})" for pattern in patterns)


def left_out_target(path: str, **planned) -> str:
    """Why a file that :func:`left_out` explains (``planned``: its keywords), asked for by name, is not made;
    said of the file in the folder too, if there is one."""
    _, reason = left_out(path, **planned)
    earlier = (" The file there is an earlier run's, with that run's numbers (delete it so that no one takes it "
               "for this run's).") if Path(path).exists() else ""
    return f"{path} is not made with this config: {reason}.{earlier}"


def earlier_outputs(paths, is_made, **planned) -> list[EarlierOutputs]:
    """The ``paths`` that this config does not make, grouped by reason: those of :func:`left_out` (``planned``: its
    keywords; every file of a family not analysed, even one a rule could make, as rule psychometric could
    results/outcome/ files), then other files that no rule makes (``is_made(path)`` false): :data:`NOT_MADE`.
    Families first, then moderators."""
    groups: dict[tuple[str, str], list[str]] = {}
    for path in paths:
        why = left_out(path, **planned)
        if (why is not None and why[0] == "family") or not is_made(path):
            groups.setdefault(why or ("other", NOT_MADE), []).append(path)
    order = {"family": 0, "moderator": 1, "other": 2}
    return [EarlierOutputs(kind, reason, tuple(sorted(groups[kind, reason])))
            for kind, reason in sorted(groups, key=lambda key: (order[key[0]], key[1]))]


def earlier_outputs_lines(groups, folders=OUTPUT_FOLDERS) -> list[str]:
    """One line per reason (:meth:`EarlierOutputs.line`) for the files under ``folders``."""
    return [line for group in groups if (line := group.line(folders)) is not None]


def _family_folder(path: str) -> str:
    for folder in OUTPUT_FOLDERS:
        if path.startswith(f"{folder}/"):
            return f"{folder}/{path[len(folder) + 1:].split('/')[0]}/"
    return path


def earlier_outputs_note(lines) -> str:
    """The one log message on the outputs of an earlier run that this config no longer makes (``lines``:
    :func:`earlier_outputs_lines`)."""
    return ("alliance-meta: outputs of an earlier run that this config no longer makes; this run leaves them as "
            "they were, with that run's numbers. Delete them so that no one takes them for this run's (nothing is "
            "deleted automatically; results/history/ is kept by design):\n"
            + "\n".join(f"  {line}" for line in lines))
