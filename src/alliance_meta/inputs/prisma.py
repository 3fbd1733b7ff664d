"""Counts of the PRISMA 2020 flow diagram (config ``prisma:``) and their checks.

Page, M. J., McKenzie, J. E., Bossuyt, P. M., et al. (2021). The PRISMA 2020 statement: an updated
guideline for reporting systematic reviews. *BMJ*, 372, n71 (Figure 1: flow diagram for new
systematic reviews which included searches of databases, registers and other sources; and the
template for updated systematic reviews, with the studies and reports of the previous version).

The boxes must add up (records screened = identified - removed before screening; reports sought =
screened - excluded; assessed = sought - not retrieved; included reports = assessed - excluded with
reasons, over both routes; in an update, the new reports = included reports - the previous version's),
and the included studies (and, where the sheet says so, reports and
effect sizes) must be those of the data sheet. Every disagreement is a :class:`PrismaProblem` line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from alliance_meta.wording import counted

SIMULATED_LABEL = "SIMULATED counts: not the result of a real search"
"""What the diagram and the report say of counts marked ``prisma.simulated``: the demo's, or a reviewer's
placeholders before the search is done (the config cannot tell which, so neither is named)."""


@dataclass(frozen=True)
class OtherMethods:
    """The right-hand route: websites, organisations, citation searching, ..."""

    sources: dict[str, int]
    sought: int
    not_retrieved: int
    assessed: int
    excluded_reasons: dict[str, int]


@dataclass(frozen=True)
class PreviousVersion:
    """An updated review's previous version: the studies and reports it included (PRISMA 2020's
    template for updated reviews). The flow then counts the new reports only."""

    studies: int
    reports: int
    #: of those, no longer included in this version (e.g. found to duplicate another study, or retracted)
    removed_studies: int = 0
    removed_reports: int = 0

    @property
    def removes(self) -> bool:
        """Whether this version no longer includes some of the previous version's studies or reports."""
        return bool(self.removed_studies or self.removed_reports)

    @property
    def kept_studies(self) -> int:
        return self.studies - self.removed_studies

    @property
    def kept_reports(self) -> int:
        return self.reports - self.removed_reports


@dataclass(frozen=True)
class PrismaCounts:
    """Every box of the flow diagram."""

    databases: dict[str, int]
    registers: dict[str, int]
    duplicates_removed: int
    automation_removed: int
    other_removed: int
    screened: int
    excluded_screening: int
    sought: int
    not_retrieved: int
    assessed: int
    excluded_reasons: dict[str, int]
    included_studies: int
    included_reports: int
    included_effect_sizes: int | None = None
    other_methods: OtherMethods | None = None
    previous: PreviousVersion | None = None
    simulated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def identified(self) -> int:
        return sum(self.databases.values()) + sum(self.registers.values())

    @property
    def new_studies(self) -> int:
        """Studies included by this search (all of them in a new review)."""
        return self.included_studies - (self.previous.kept_studies if self.previous else 0)

    @property
    def new_reports(self) -> int:
        """Reports included by this search (all of them in a new review)."""
        return self.included_reports - (self.previous.kept_reports if self.previous else 0)


def prisma_counts(block: dict) -> PrismaCounts:
    """:class:`PrismaCounts` of the config's ``prisma:`` block (checked by the schema)."""
    other, previous = block.get("other_methods"), block.get("previous")
    return PrismaCounts(
        databases=dict(block.get("databases") or {}), registers=dict(block.get("registers") or {}),
        duplicates_removed=block.get("duplicates_removed", 0), automation_removed=block.get("automation_removed", 0),
        other_removed=block.get("other_removed", 0), screened=block["screened"],
        excluded_screening=block["excluded_screening"], sought=block["sought"],
        not_retrieved=block.get("not_retrieved", 0), assessed=block["assessed"],
        excluded_reasons=dict(block.get("excluded_reasons") or {}), included_studies=block["included_studies"],
        included_reports=block["included_reports"], included_effect_sizes=block.get("included_effect_sizes"),
        other_methods=None if not other else OtherMethods(
            sources=dict(other.get("sources") or {}), sought=other["sought"],
            not_retrieved=other.get("not_retrieved", 0), assessed=other["assessed"],
            excluded_reasons=dict(other.get("excluded_reasons") or {})),
        previous=None if not previous else PreviousVersion(
            studies=previous["studies"], reports=previous["reports"],
            removed_studies=previous.get("removed_studies", 0), removed_reports=previous.get("removed_reports", 0)),
        simulated=bool(block.get("simulated", False)))


def arithmetic_problems(counts: PrismaCounts) -> list[str]:
    """Boxes that do not add up, one sentence each."""
    problems = []

    def expect(name: str, given: int, expected: int, how: str):
        if given != expected:
            problems.append(f"prisma.{name} is {given:,} but {how} gives {expected:,}")

    removed = counts.duplicates_removed + counts.automation_removed + counts.other_removed
    expect("screened", counts.screened, counts.identified - removed,
           f"records identified ({counts.identified:,}) minus removed before screening ({removed:,})")
    expect("sought", counts.sought, counts.screened - counts.excluded_screening,
           "prisma.screened minus prisma.excluded_screening")
    expect("assessed", counts.assessed, counts.sought - counts.not_retrieved, "prisma.sought minus prisma.not_retrieved")
    included = counts.assessed - sum(counts.excluded_reasons.values())
    how = "prisma.assessed minus the reports excluded with reasons"
    other = counts.other_methods
    if other is not None:
        if other.assessed != other.sought - other.not_retrieved:
            problems.append(f"prisma.other_methods.assessed is {other.assessed:,} but prisma.other_methods.sought "
                            f"minus not_retrieved gives {other.sought - other.not_retrieved:,}")
        included += other.assessed - sum(other.excluded_reasons.values())
        how += " (databases and registers, and other methods)"
    previous = counts.previous
    if previous is None:
        expect("included_reports", counts.included_reports, included, how)
        if counts.included_reports < counts.included_studies:
            problems.append(f"prisma.included_reports ({counts.included_reports:,}) is fewer than "
                            f"prisma.included_studies ({counts.included_studies:,}): every included study has at "
                            "least one report")
        return problems
    kept = " still included" if previous.removes else ""
    minus_reports = (f"prisma.previous.reports ({previous.reports:,})" if not kept else
                     f"the previous version's reports still included ({previous.kept_reports:,}: prisma.previous.reports "
                     "minus removed_reports)")
    minus_studies = (f"prisma.previous.studies ({previous.studies:,})" if not kept else
                     f"the previous version's studies still included ({previous.kept_studies:,}: prisma.previous.studies "
                     "minus removed_studies)")
    if counts.new_reports != included:
        problems.append(f"prisma.included_reports ({counts.included_reports:,}) minus {minus_reports} is "
                        f"{counts.new_reports:,} new reports, but {how} gives {included:,} (a study of the previous "
                        "version no longer included goes in prisma.previous.removed_studies and removed_reports)")
    if counts.new_studies < 0:
        problems.append(f"{minus_studies} is more than prisma.included_studies ({counts.included_studies:,}), the "
                        "studies of this version (a study of the previous version no longer included goes in "
                        "prisma.previous.removed_studies)")
    if counts.new_reports < counts.new_studies:
        problems.append(f"prisma.included_studies ({counts.included_studies:,}) minus {minus_studies} is "
                        f"{counts.new_studies:,} new studies, but prisma.included_reports minus the previous version's "
                        f"reports{kept} gives only {counts.new_reports:,} new reports: every new study has at least one "
                        "new report")
    for kind in ("studies", "reports"):
        if getattr(previous, f"removed_{kind}") > getattr(previous, kind):
            problems.append(f"prisma.previous.removed_{kind} ({getattr(previous, f'removed_{kind}'):,}) is more than "
                            f"prisma.previous.{kind} ({getattr(previous, kind):,})")
    if previous.reports < previous.studies:
        problems.append(f"prisma.previous.reports ({previous.reports:,}) is fewer than prisma.previous.studies "
                        f"({previous.studies:,}): every included study has at least one report")
    return problems


def sheet_problems(counts: PrismaCounts, sheet: pd.DataFrame) -> list[str]:
    """Included studies (distinct ``study_id``), reports (distinct ``report_id``, when the sheet has that
    column) and effect sizes (rows, when ``included_effect_sizes`` is given) against the sheet."""
    problems = []
    studies = sheet["study_id"].dropna().astype(str).nunique()
    if counts.included_studies != studies:
        problems.append(f"prisma.included_studies is {counts.included_studies:,} but the sheet has {studies:,} "
                        "studies (distinct study_id)")
    if "report_id" in sheet:
        reports = sheet["report_id"].dropna().astype(str).nunique()
        if counts.included_reports != reports:
            problems.append(f"prisma.included_reports is {counts.included_reports:,} but the sheet has {reports:,} "
                            "reports (distinct report_id)")
    if counts.included_effect_sizes is not None and counts.included_effect_sizes != len(sheet):
        problems.append(f"prisma.included_effect_sizes is {counts.included_effect_sizes:,} but the sheet has "
                        f"{len(sheet):,} rows (effect sizes)")
    return problems


def flow_sentences(counts: PrismaCounts) -> str:
    """The search and selection of each route as the diagram draws them, for the report's text (PRISMA 2020
    item 16a: from the records identified to the reports assessed and excluded)."""
    removed = counts.duplicates_removed + counts.automation_removed + counts.other_removed
    # "1 record", "1 report": an update's search (or its other route) may find one ("1 records identified")
    sentences = [f"Databases and registers: {counted(counts.identified, 'record')} identified, {removed:,} removed "
                 f"before screening, {counts.screened:,} screened ({counts.excluded_screening:,} excluded), "
                 f"{counted(counts.sought, 'report')} sought ({counts.not_retrieved:,} not retrieved), "
                 f"{counts.assessed:,} assessed for eligibility ({sum(counts.excluded_reasons.values()):,} excluded "
                 "with reasons)."]
    other = counts.other_methods
    if other is not None:
        sentences.append(f"Other methods: {counted(sum(other.sources.values()), 'record')} identified, "
                         f"{counted(other.sought, 'report')} sought ({other.not_retrieved:,} not retrieved), "
                         f"{other.assessed:,} assessed for eligibility ({sum(other.excluded_reasons.values()):,} "
                         "excluded with reasons).")
    return " ".join(sentences)


def included_sentence(counts: PrismaCounts) -> str:
    """What the diagram's last boxes say, as the report's sentence."""
    sentence = (f"{counted(counts.included_studies, 'study', 'studies')} in "
                f"{counted(counts.included_reports, 'report')} included")
    if counts.previous is not None:
        previous = counts.previous
        removed = (f", of which {counted(previous.removed_studies, 'study', 'studies')} in "
                   f"{counted(previous.removed_reports, 'report')} no longer included" if previous.removes else "")
        sentence += (f" ({counted(previous.studies, 'study', 'studies')} in {counted(previous.reports, 'report')} "
                     f"from the previous version of the review{removed}, "
                     f"{counted(counts.new_studies, 'new study', 'new studies')} in "
                     f"{counted(counts.new_reports, 'new report')})")
    return sentence


def format_problems(problems: list[str]) -> str:
    """The message a reviewer reads when the PRISMA counts disagree."""
    lines = [f"The PRISMA counts in the config (prisma:) have {len(problems)} problem(s):"]
    lines += [f"  - {problem}" for problem in problems]
    lines.append("Correct the counts in config/config.yaml (or the sheet) and run again.")
    return "\n".join(lines)
