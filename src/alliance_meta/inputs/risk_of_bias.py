"""Risk-of-bias coding: the tools, their domains and vocabularies, and the overall judgement.

The config's ``risk_of_bias.tool`` names the sheet columns ``rob_<domain>`` and
``rob_overall`` and the judgements allowed in them:

- ``quips`` (default; prognostic-factor studies, Hayden et al. 2013, Ann Intern Med 158:280):
  six domains ``participation`` (study participation), ``attrition`` (study attrition),
  ``prognostic_factor`` (prognostic factor measurement), ``outcome`` (outcome measurement),
  ``confounding`` (study confounding), ``analysis`` (statistical analysis and reporting);
  judgements low / moderate / high.
- ``rob2`` (randomised trials, Sterne et al. 2019, BMJ 366:l4898): ``randomisation``,
  ``deviations`` (from intended interventions), ``missing_data`` (missing outcome data),
  ``measurement`` (of the outcome), ``selection`` (of the reported result); low / some
  concerns / high.
- ``robins_i`` (non-randomised studies of interventions, Sterne et al. 2016, BMJ 355:i4919):
  ``confounding``, ``selection`` (of participants), ``classification`` (of interventions),
  ``deviations``, ``missing_data``, ``measurement`` (of outcomes), ``reporting`` (selection
  of the reported result); low / moderate / serious / critical / no information.
- ``custom``: ``risk_of_bias.domains`` (snake_case names) and ``risk_of_bias.levels``
  (best first; default low / moderate / high).

An empty ``rob_overall`` is derived from the domains (:func:`derive_overall`) when every
domain of the study is rated, or the rated ones already give the tool's worst level; the rule each
tool uses is ``RobTool.overall_rule``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alliance_meta.inputs.codebook import Vocabulary
from alliance_meta.inputs.effect_sizes import CITATION_YEAR

PREFIX = "rob_"
OVERALL = "rob_overall"
#: how the sheet's notes (data/processed/sheet_notes.txt) begin the line on overall judgements derived from the
#: domains (:func:`check_risk_of_bias`); the tables' notes look for it (:func:`overall_derived`)
DERIVED_NOTE = "rob_overall derived for"
TOOLS = ("quips", "rob2", "robins_i", "custom")
HIGH_JUDGEMENTS = ("high", "serious", "critical")
"""Overall judgements that mean high risk in the built-in tools (ROBINS-I: serious and critical)."""

def _judgement_hint(value: str, vocabulary, tool: "RobTool") -> str:
    """The did-you-mean of a judgement outside the tool: the closest judgement, ``no information`` for a
    question mark, and the tool's two worst levels for a ``high`` that it does not have (ROBINS-I)."""
    key = " ".join(value.strip().lower().split())
    if key in ("?", "??") and tool.unrated:
        return f'; did you mean "{tool.unrated}"?'
    if key in _DASHES and len(tool.levels) > 2:
        high = " or ".join(f'"{level}"' for level in tool.levels if level in high_risk_levels(tool))
        return (f'; a dash is high risk in RoB 1 tables but {tool.levels[1]} in robvis figures (and in ours): '
                f'write "{tool.levels[1]}" or {high}')
    if (key == "high" or key in _HIGH) and "high" not in tool.levels:
        worst = tool.levels[-2:]
        return f'; {tool.name.replace("_", "-").upper()} has no "high": write "{worst[0]}" or "{worst[1]}"'
    suggestion = vocabulary.suggestion(value)
    return f'; did you mean "{suggestion}"?' if suggestion else ""


_LOW = {"low risk": "low", "low risk of bias": "low", "l": "low", "+": "low", "green": "low"}
_HIGH = {"high risk": "high", "high risk of bias": "high", "h": "high", "red": "high"}
_DASHES = ("-", "\u2212", "\u2013")
"""Not a judgement: a dash is high risk in RoB 1 tables (RevMan) but some concerns / moderate in robvis'
figures and in this project's own (:mod:`alliance_meta.plots.risk_of_bias`)."""
_MODERATE = {"moderate risk": "moderate", "moderate risk of bias": "moderate", "m": "moderate",
             "medium": "moderate", "partly": "moderate", "partial": "moderate", "yellow": "moderate"}


@dataclass(frozen=True)
class RobTool:
    """One risk-of-bias tool: domains (column ``rob_<domain>``), judgements best first,
    synonyms of the judgements and the rule deriving the overall judgement."""

    name: str
    title: str
    domains: tuple[str, ...]
    domain_labels: Mapping[str, str]
    levels: tuple[str, ...]
    overall_rule: str
    synonyms: Mapping[str, str] = field(default_factory=dict)
    unrated: str | None = None
    """A judgement outside the order of severity (ROBINS-I's ``no information``)."""

    @property
    def source(self) -> str:
        """The title as a parenthesis holds it, its citation after a semicolon, not in parentheses of its own (APA
        2020, sec. 6.9 and 6.54): "QUIPS; Hayden et al., 2013"."""
        return self.title.replace(" (", "; ").removesuffix(")")

    @property
    def columns(self) -> tuple[str, ...]:
        """The domain columns, then ``rob_overall``."""
        return tuple(PREFIX + domain for domain in self.domains) + (OVERALL,)

    @property
    def judgements(self) -> tuple[str, ...]:
        """Every allowed judgement: the ordered levels, then the unrated one if the tool has it."""
        return self.levels + ((self.unrated,) if self.unrated else ())

    def vocabulary(self, column: str) -> Vocabulary:
        """The vocabulary of a ``rob_*`` column (the same for every domain and the overall)."""
        label = "overall judgement" if column == OVERALL else self.label(column)
        return Vocabulary(column, self.judgements, f"{self.title}: {label}", dict(self.synonyms))

    def label(self, column: str) -> str:
        """Readable name of a domain column (``rob_prognostic_factor`` -> ``Prognostic factor``)."""
        if column == OVERALL:
            return "Overall"
        domain = column.removeprefix(PREFIX)
        return self.domain_labels.get(domain, domain.replace("_", " ").capitalize())

    def severity(self, values) -> np.ndarray:
        """0 = best level ... len(levels) - 1 = worst; NaN for missing or unrated."""
        order = {level: float(i) for i, level in enumerate(self.levels)}
        return np.array([order.get(v, np.nan) if isinstance(v, str) else np.nan for v in values], dtype=float)

    def derive_overall(self, domains: pd.DataFrame) -> pd.Series:
        """The overall judgement of each row whose domains are all rated, or that the rule puts at the
        tool's worst level whatever the empty domains hold (RoB 2: a domain at high; ROBINS-I: one at
        critical; QUIPS: one at high or three at moderate); else missing.

        - ``rob2``: Sterne et al. 2019 (RoB 2 guidance, Table 3): low if every domain is low,
          high if any domain is high, otherwise some concerns. (RoB 2 also lets reviewers call a
          study high when some concerns in several domains lower confidence substantially; that
          is a judgement left to the reviewer, who then writes ``rob_overall``.)
        - ``robins_i``: Sterne et al. 2016 (Table 2): the worst domain; ``no information`` when
          no domain is serious or critical and at least one has no information.
        - ``quips``: Grooten et al. 2019 (Diagn Progn Res 3:5): low if every domain is low or at
          most one is moderate (none high); high if any domain is high or three or more are
          moderate; moderate otherwise.
        - ``custom``: the worst domain.
        """
        values = domains.to_numpy(dtype=object)
        filled = pd.notna(domains).to_numpy().all(axis=1)
        severity = np.column_stack([self.severity(values[:, j]) for j in range(values.shape[1])]) \
            if values.shape[1] else np.zeros((len(domains), 0))
        worst = np.nanmax(np.where(np.isnan(severity), -1.0, severity), axis=1, initial=-1.0)
        top = len(self.levels) - 1
        if self.name == "quips":
            moderate = (severity == 1).sum(axis=1)
            index = np.where(worst >= 2, 2, np.where(moderate >= 3, 2, np.where(moderate >= 2, 1, 0)))
        elif self.name == "rob2":
            index = np.where(worst >= 2, 2, np.where(worst >= 1, 1, 0))
        else:
            index = np.clip(worst, 0, top).astype(int)
        result = np.array([self.levels[int(i)] for i in index], dtype=object)
        if self.unrated:
            unrated = (values == self.unrated).any(axis=1) & (worst < self.levels.index("serious"))
            result[unrated] = self.unrated
        determined = filled | (index == top)  # rating the empty domains cannot make the worst level better
        return pd.Series(np.where(determined, result, None), index=domains.index, dtype=object)


QUIPS = RobTool(
    "quips", "QUIPS (Hayden et al., 2013)",
    ("participation", "attrition", "prognostic_factor", "outcome", "confounding", "analysis"),
    {"participation": "Study participation", "attrition": "Study attrition",
     "prognostic_factor": "Prognostic factor measurement", "outcome": "Outcome measurement",
     "confounding": "Study confounding", "analysis": "Statistical analysis and reporting"},
    ("low", "moderate", "high"),
    "Grooten et al., 2019: low if all domains are low or at most one is moderate; high if any is "
    "high or three or more are moderate; moderate otherwise",
    {**_LOW, **_MODERATE, **_HIGH},
)
ROB2 = RobTool(
    "rob2", "RoB 2 (Sterne et al., 2019)",
    ("randomisation", "deviations", "missing_data", "measurement", "selection"),
    {"randomisation": "Randomisation process", "deviations": "Deviations from intended interventions",
     "missing_data": "Missing outcome data", "measurement": "Measurement of the outcome",
     "selection": "Selection of the reported result"},
    ("low", "some concerns", "high"),
    "Sterne et al., 2019: low if all domains are low, high if any is high, some concerns otherwise",
    {**_LOW, **_HIGH, "some concern": "some concerns", "some": "some concerns", "s": "some concerns",
     "sc": "some concerns", "concerns": "some concerns", "moderate": "some concerns", "moderate risk": "some concerns",
     "moderate risk of bias": "some concerns", "yellow": "some concerns"},
)
ROBINS_I = RobTool(
    "robins_i", "ROBINS-I (Sterne et al., 2016)",
    ("confounding", "selection", "classification", "deviations", "missing_data", "measurement", "reporting"),
    {"confounding": "Confounding", "selection": "Selection of participants",
     "classification": "Classification of interventions", "deviations": "Deviations from intended interventions",
     "missing_data": "Missing data", "measurement": "Measurement of outcomes",
     "reporting": "Selection of the reported result"},
    ("low", "moderate", "serious", "critical"),
    "Sterne et al., 2016: the worst domain; no information when none is serious or critical and "
    "one or more lack information",
    {**_LOW, **{k: v for k, v in _MODERATE.items() if k != "yellow"}, "serious risk": "serious",
     "serious risk of bias": "serious", "s": "serious", "critical risk": "critical",
     "critical risk of bias": "critical", "c": "critical", "ni": "no information", "no info": "no information",
     "unclear": "no information", "unclear risk": "no information", "unclear risk of bias": "no information",
     "unknown": "no information"},
    unrated="no information",
)
BUILT_IN = {tool.name: tool for tool in (QUIPS, ROB2, ROBINS_I)}


JUDGEMENT_ORDER: tuple[str, ...] = ("low", "some concerns", "moderate", "serious", "high", "critical",
                                    "no information")
"""The built-in tools' judgements, best first (each tool's levels are in this order): the order of a
``rob_*`` moderator's levels when the tool is not known (:func:`judgement_order`)."""


def as_tool(tool) -> RobTool:
    """A :class:`RobTool`, a tool's name (``"quips"``, ``"rob2"``, ``"robins_i"``) or the config's
    ``risk_of_bias`` block, as the tool (:func:`tool_from_config`)."""
    if isinstance(tool, RobTool):
        return tool
    if isinstance(tool, str):
        return tool_from_config({"tool": tool})
    if isinstance(tool, Mapping):
        return tool_from_config(tool)
    raise TypeError(f"tool: a RobTool, a tool name (quips, rob2, robins_i) or the config's risk_of_bias block, "
                    f"not {type(tool).__name__}")


def judgement_order(tool=None) -> tuple[str, ...]:
    """The judgements of a ``rob_*`` column best first, as tables and plots list a ``rob_*`` moderator's
    levels: the tool's (:func:`as_tool`; a custom tool's ``levels`` as the config lists them, e.g. good,
    fair, poor), or with ``tool`` None the built-in tools' (:data:`JUDGEMENT_ORDER`)."""
    return JUDGEMENT_ORDER if tool is None else as_tool(tool).judgements


#: The advice to read the sheet with another built-in tool (the command line and am.read_sheet reword it).
TOOL_SETTING = "set risk_of_bias.tool: {}"

CONFIG_KEYS = ("tool", "domains", "levels", "weighted")
"""The keys of the config's ``risk_of_bias`` block (workflow/schemas/config.schema.yaml)."""
#: The keys of the block that only a ``custom`` tool reads (a built-in tool has its own domains and levels).
CUSTOM_TOOL_KEYS = ("domains", "levels")


def unread_keys(tool: str | None) -> tuple[str, ...]:
    """The keys of the ``risk_of_bias`` block that the tool named ``tool`` does not read: :data:`CUSTOM_TOOL_KEYS`
    beside a built-in tool (None: QUIPS, as :func:`tool_from_config`), none for ``custom``."""
    return () if tool == "custom" else CUSTOM_TOOL_KEYS


def tool_settings(options: Mapping) -> dict:
    """The keys of a ``risk_of_bias`` block that decide its tool (:func:`tool_from_config`): ``tool``, and
    ``domains`` and ``levels`` only for a custom tool (not ``weighted``, the summary plot's)."""
    unread = unread_keys(options.get("tool"))
    return {key: value for key, value in options.items() if key in ("tool", *CUSTOM_TOOL_KEYS) and key not in unread}


def tool_from_config(options: Mapping | None) -> RobTool:
    """The tool of the config's ``risk_of_bias`` block (None or {}: QUIPS); a key not of the block is an error
    (``{"tol": "rob2"}`` gave QUIPS without a word)."""
    options = dict(options or {})
    for key in options:
        if key not in CONFIG_KEYS:
            close = difflib.get_close_matches(str(key), CONFIG_KEYS, n=1, cutoff=0.6)
            hint = f"did you mean risk_of_bias.{close[0]}?" if close else f"allowed keys: {', '.join(CONFIG_KEYS)}"
            raise ValueError(f"risk_of_bias.{key}: unknown key; {hint}")
    name = options.get("tool", "quips")
    if name in BUILT_IN:
        return BUILT_IN[name]
    if name != "custom":
        raise ValueError(f'risk_of_bias.tool must be one of {", ".join(TOOLS)}, not "{name}"')
    domains = tuple(options.get("domains") or ())
    if not domains:
        raise ValueError("risk_of_bias.tool custom needs risk_of_bias.domains (a list of domain names)")
    levels = tuple(options.get("levels") or ("low", "moderate", "high"))
    synonyms = {k: v for k, v in {**_LOW, **_MODERATE, **_HIGH}.items() if v in levels}
    return RobTool("custom", "custom risk-of-bias tool", domains, {}, levels,
                   "the worst domain", synonyms)


def rob_columns(columns) -> list[str]:
    """The sheet's ``rob_*`` columns, in sheet order."""
    return [str(c) for c in columns if str(c).startswith(PREFIX)]


def _filled(value) -> bool:
    """Does a cell hold something, as validation reads it (:func:`alliance_meta.inputs.sheet._text_cell`: not
    empty, blank, invisible characters or a missing-value marker such as ``NA``)? One reading for the workflow's
    plan (the raw sheet) and for validation, so that both agree on whether the sheet codes risk of bias."""
    from alliance_meta.inputs.sheet import _text_cell  # sheet imports this module

    return value is not pd.NA and _text_cell(value) is not None


def judged_rob_columns(frame: pd.DataFrame) -> list[str]:
    """The ``rob_*`` columns of ``frame`` with at least one cell filled in (a judgement, or a value
    validation rejects), in sheet order."""
    return [str(c) for i, c in enumerate(frame.columns)  # by position: a duplicated name is a problem of its own
            if str(c).startswith(PREFIX) and frame.iloc[:, i].map(_filled).any()]


def has_risk_of_bias(frame: pd.DataFrame) -> bool:
    """Does the sheet (its cells, ``frame``) code risk of bias: a ``rob_*`` column with at least one
    cell filled in? ``rob_*`` columns that are all empty (kept from the blank template) are no coding:
    validation drops them (:func:`check_risk_of_bias`) and the sheet is analysed as one without them."""
    return bool(judged_rob_columns(frame))


def sheet_has_risk_of_bias(path, **reading) -> bool | None:
    """Does the raw sheet at ``path`` code risk of bias (:func:`has_risk_of_bias`; None when it cannot
    be read, e.g. no worksheet ``sheet_name``: validation then says why, and nothing is said of its rob_* columns)?
    Read when the workflow is parsed, as the families are."""
    from alliance_meta.inputs.sheet import read_sheet

    try:
        return has_risk_of_bias(read_sheet(path, **reading))
    except Exception:  # noqa: BLE001 - validation reports an unreadable sheet with its reason
        return None


def empty_columns_note(columns) -> str:
    """The validation note on ``rob_*`` columns that are present but hold no judgement."""
    columns = list(columns)
    one = len(columns) == 1
    return (f"the risk-of-bias column{'' if one else 's'} {', '.join(columns)} {'is' if one else 'are'} present but "
            f"empty, so no risk-of-bias analysis is run (no figures, sensitivity analysis or Methods sentence); "
            f"write the judgements in {'it' if one else 'them'} to rate risk of bias")


@dataclass(frozen=True)
class RobCheck:
    """Outcome of :func:`check_risk_of_bias`: the cleaned frame, the problems as tuples
    ``(row, column, value, rule, check)`` (``sheet.Problem`` fields) and log notes."""

    frame: pd.DataFrame
    problems: tuple[tuple[int, str, str, str, str], ...]
    notes: tuple[str, ...]


def check_risk_of_bias(text: pd.DataFrame, options: Mapping | None = None, *, row_column: str = "sheet_row",
                       header_row: int = 1) -> RobCheck:
    """Validate and normalise the ``rob_*`` columns of a sheet of text cells.

    Problems: a ``rob_*`` column the tool does not define (with the closest domain
    column), a judgement outside the tool's vocabulary (with a did-you-mean), rows of one
    study with different judgements. A study's judgement written on one of its rows is
    copied to its other rows; an empty ``rob_overall`` is derived (:meth:`RobTool.derive_overall`), and a
    written one better than the tool's rule gives is kept with a note (:func:`_milder_than_rule`).
    ``rob_*`` columns without a single judgement (:func:`has_risk_of_bias`) are dropped with a note:
    the sheet is then one without risk of bias.
    """
    frame = text.copy()
    present = rob_columns(frame.columns)
    if not present:
        return RobCheck(frame, (), ())
    if not has_risk_of_bias(frame):
        return RobCheck(frame.drop(columns=present), (), (empty_columns_note(present),))
    tool = tool_from_config(options)
    problems: list[tuple[int, str, str, str, str]] = []
    foreign = [column for column in present if column not in tool.columns]
    # the sheet's rob_* columns are all another built-in tool's (RoB 2 columns under the default QUIPS)
    other = next((t for t in BUILT_IN.values() if t.name != tool.name and foreign
                  and set(present) <= set(t.columns)), None)
    if other is not None:  # one problem with the columns listed, not the same advice once per column
        one = len(foreign) == 1
        problems.append((header_row, "", "",
                         f"the risk-of-bias column{'' if one else 's'} {', '.join(foreign)} "
                         f"{'is not a domain' if one else 'are not domains'} of {tool.title} (columns: "
                         f"{', '.join(tool.columns)}); the sheet's rob_* columns are those of {other.title}: "
                         f"{TOOL_SETTING.format(other.name)}", "rob_column"))
        foreign = []
    for column in foreign:
        close = difflib.get_close_matches(column, list(tool.columns), n=1, cutoff=0.6)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        problems.append((header_row, column, "",
                         f"is not a domain of {tool.title} (columns: {', '.join(tool.columns)}){hint}",
                         "rob_column"))
    known = [c for c in tool.columns if c in frame]
    for column in known:
        vocabulary = tool.vocabulary(column)
        cells = frame[column]
        canonical = cells.map(lambda v: vocabulary.canonical(v) if isinstance(v, str) else None)
        for index in cells.index[cells.notna() & canonical.isna()]:
            value = str(cells[index])
            hint = _judgement_hint(value, vocabulary, tool)
            problems.append((int(frame.at[index, row_column]), column, value,
                             f"is not a {tool.title} judgement ({', '.join(tool.judgements)}){hint}",
                             "rob_vocabulary"))
        frame[column] = canonical.where(canonical.notna(), None)
    if "study_id" in frame and known:
        for column in known:
            groups = frame.groupby("study_id", sort=False)[column]
            counts = groups.transform("nunique")
            for index in frame.index[(counts > 1) & frame[column].notna()]:
                value = text.at[index, column]
                problems.append((int(frame.at[index, row_column]), column, "" if pd.isna(value) else str(value),
                                 f"differs between the rows of study {frame.at[index, 'study_id']}: risk of bias "
                                 "is judged once per study", "rob_inconsistent"))
            frame[column] = groups.transform("first")
    notes = [f"risk of bias coded with {tool.title}: columns {', '.join(known)}"]
    domains = [PREFIX + d for d in tool.domains]
    if all(c in frame for c in domains):
        if OVERALL not in frame:
            frame[OVERALL] = None
        derived = tool.derive_overall(frame[domains])
        empty = frame[OVERALL].isna() & derived.notna()
        milder = _milder_than_rule(frame, derived, tool)
        if milder:
            notes.append(milder)
        harsher = _worse_than_every_domain_low(frame, domains, tool)
        if harsher:
            notes.append(harsher)
        frame.loc[empty, OVERALL] = derived[empty]
        if empty.any():
            studies = frame.loc[empty, "study_id"].nunique() if "study_id" in frame else int(empty.sum())
            notes.append(f"{DERIVED_NOTE} {studies} {'study' if studies == 1 else 'studies'} "
                         f"({tool.overall_rule})")
    # a row without study_id is a sheet problem of its own ("is required"), not an unjudged study
    unjudged = (frame.loc[frame[OVERALL].isna(), "study_id"].dropna().drop_duplicates().astype(str).tolist()
                if OVERALL in frame and "study_id" in frame and frame[OVERALL].notna().any() else [])
    if unjudged:
        listed = ", ".join(unjudged[:10]) + (", ..." if len(unjudged) > 10 else "")
        one = len(unjudged) == 1
        notes.append(f"no overall risk-of-bias judgement for {len(unjudged)} {'study' if one else 'studies'} "
                     f"({listed}): rob_overall is empty and not every domain is rated; the risk-of-bias sensitivity "
                     f"analysis keeps {'it' if one else 'them'} when high-risk studies are left out, and leaves "
                     f"{'it' if one else 'them'} out of the analysis of low-risk studies only")
    return RobCheck(frame, tuple(problems), tuple(notes))


def overall_derived(notes) -> bool:
    """Whether the sheet's notes (:func:`check_risk_of_bias`'s, the lines of sheet_notes.txt) say that some
    ``rob_overall`` was derived from the domains, the sheet leaving it empty."""
    return any(str(note).startswith(DERIVED_NOTE) for note in notes)


def _milder_than_rule(frame: pd.DataFrame, derived: pd.Series, tool: RobTool) -> str | None:
    """The note on written ``rob_overall`` judgements better than the tool's rule gives for the study's
    domains (RoB 2 low with a domain at some concerns, ROBINS-I low with a critical domain): the risk-of-bias
    sensitivity analysis and GRADE take the written judgement, so a slip would keep a high-risk study in
    them. A written judgement worse than the rule is the reviewers' to make (RoB 2: several domains with
    some concerns) and no note."""
    written, rule = tool.severity(frame[OVERALL].tolist()), tool.severity(derived.tolist())
    milder = written < rule  # NaN (empty, no information) compares False
    if tool.unrated:  # ROBINS-I: no information only when no domain is serious or critical
        milder |= (frame[OVERALL] == tool.unrated).to_numpy() & derived.isin(high_risk_levels(tool)).to_numpy()
    milder = pd.Series(milder, index=frame.index)
    if not milder.any():
        return None
    rows = frame.loc[milder]
    ids = rows["study_id"].astype(str) if "study_id" in rows else rows.index.astype(str).to_series(index=rows.index)
    listed = list(dict.fromkeys(f"{i} {rows.at[index, OVERALL]}, the rule gives {derived[index]}"
                                for index, i in ids.items()))
    one = len(listed) == 1
    return (f"rob_overall is better than its domains allow for {len(listed)} {'study' if one else 'studies'} "
            f"({'; '.join(listed[:10])}{'; ...' if len(listed) > 10 else ''}; {tool.overall_rule}): check "
            f"{'it' if one else 'them'}; the risk-of-bias sensitivity analysis and GRADE use rob_overall as written")


def _worse_than_every_domain_low(frame: pd.DataFrame, domains: list[str], tool: RobTool) -> str | None:
    """The note on written ``rob_overall`` judgements other than the best level for studies whose every domain
    is at the best level (``high`` beside six domains ``low``). A worse overall judgement than the rule gives is
    the reviewers' call when domains give a reason (RoB 2: some concerns in several domains, Sterne et al. 2019),
    but none of the tools allows it when every domain is low: RoB 2 (Sterne et al. 2019, Table 3) and ROBINS-I
    (Sterne et al. 2016, Table 2) define low overall as low in all domains, QUIPS by Grooten et al. (2019) too,
    and a custom tool's rule is the worst domain. Probably a slip (a row pasted from another study)."""
    best = tool.levels[0]
    every_low = (frame[domains] == best).all(axis=1)
    harsher = every_low & frame[OVERALL].notna() & (frame[OVERALL] != best)
    if not harsher.any():
        return None
    rows = frame.loc[harsher]
    ids = rows["study_id"].astype(str) if "study_id" in rows else rows.index.astype(str).to_series(index=rows.index)
    listed = list(dict.fromkeys(f"{i} {rows.at[index, OVERALL]}" for index, i in ids.items()))
    one = len(listed) == 1
    return (f"rob_overall is other than {best} for {len(listed)} {'study' if one else 'studies'} whose every "
            f"domain is {best} ({'; '.join(listed[:10])}{'; ...' if len(listed) > 10 else ''}; {tool.overall_rule}): "
            f"check {'it' if one else 'them'}; every analysis uses rob_overall as written")


def study_judgements(frame: pd.DataFrame, tool: RobTool) -> pd.DataFrame:
    """One row per study (first row of each ``study_id``): ``study_id`` and the tool's columns
    present in ``frame``, judgements normalised to the tool's vocabulary."""
    columns = [c for c in tool.columns if c in frame]
    if not columns:
        raise ValueError(f"the data have no risk-of-bias columns of {tool.title} ({', '.join(tool.columns)})")
    studies = frame.drop_duplicates("study_id") if "study_id" in frame else frame
    out = studies[[c for c in ("study_id", "authors", "year", CITATION_YEAR, "label") if c in studies] + columns].copy()
    for column in columns:
        vocabulary = tool.vocabulary(column)
        out[column] = out[column].map(lambda v: vocabulary.canonical(v) if isinstance(v, str) else None)
    return out.reset_index(drop=True)


def high_risk_levels(tool: RobTool) -> set[str]:
    """The judgements that mean high risk: the tool's worst level (``high``; ``serious`` or ``critical``
    under ROBINS-I, whose two worst levels are both high risk; a custom tool's last level, e.g. ``poor``)."""
    return set(HIGH_JUDGEMENTS) & set(tool.levels) if tool.name != "custom" else {tool.levels[-1]}


def high_risk_mask(frame: pd.DataFrame, tool: RobTool) -> pd.Series:
    """Rows whose overall judgement is high risk (:func:`high_risk_levels`)."""
    if OVERALL not in frame:
        raise ValueError("the data have no rob_overall column")
    return frame[OVERALL].isin(high_risk_levels(tool))

