"""PRISMA 2020 flow diagram: the counts must add up and match the sheet; the figure draws both routes."""

from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import yaml

from alliance_meta.inputs.prisma import (arithmetic_problems, format_problems, included_sentence, prisma_counts,
                                         sheet_problems)
from alliance_meta.plots.prisma import SIMULATED_LABEL, prisma_figure
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DEMO = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["prisma"]


def test_demo_counts_add_up_and_match_the_demo_sheet():
    counts = prisma_counts(DEMO)
    sheet = pd.read_csv(ROOT / "data" / "raw" / "studies.csv", dtype=str)
    assert counts.simulated and arithmetic_problems(counts) == [] and sheet_problems(counts, sheet) == []
    assert counts.identified == 5443


def test_every_disagreement_is_one_readable_line():
    block = copy.deepcopy(DEMO)
    block.update(screened=3500, included_reports=150, included_studies=151)
    counts = prisma_counts(block)
    sheet = pd.DataFrame({"study_id": ["a", "a", "b"], "report_id": ["r1", "r1", "r1"]})
    problems = arithmetic_problems(counts) + sheet_problems(counts, sheet)
    assert problems == [
        "prisma.screened is 3,500 but records identified (5,443) minus removed before screening (1,915) gives 3,528",
        "prisma.sought is 427 but prisma.screened minus prisma.excluded_screening gives 399",
        "prisma.included_reports is 150 but prisma.assessed minus the reports excluded with reasons (databases and "
        "registers, and other methods) gives 152",
        "prisma.included_studies is 151 but the sheet has 2 studies (distinct study_id)",
        "prisma.included_reports is 150 but the sheet has 1 reports (distinct report_id)",
        "prisma.included_effect_sizes is 395 but the sheet has 3 rows (effect sizes)",
    ]
    assert format_problems(problems).startswith("The PRISMA counts in the config (prisma:) have 6 problem(s):")


@pytest.mark.parametrize("other", [True, False])
def test_figure_shows_every_box(other):
    block = copy.deepcopy(DEMO)
    if not other:
        block["other_methods"] = None
        block["included_reports"] = 136
    figure = prisma_figure(prisma_counts(block))
    texts = [text.get_text().replace("\u00a0", " ") for text in figure.axes[0].texts] + \
        [text.get_text() for text in figure.texts]
    plt.close(figure)
    joined = "\n".join(texts)
    for expected in ("Records screened\n(n = 3,528)", "Records excluded\n(n = 3,101)", "Reports not retrieved\n(n = 19)",
                     "Reports assessed for eligibility\n(n = 408)", "Studies included in review\n(n = 150)",
                     "Duplicate records removed (n = 1,903)", "PsycINFO (n = 2,140)", "Identification", "Screening",
                     "Included", SIMULATED_LABEL):
        assert expected in joined, expected
    assert ("Identification of studies via other methods" in joined) == other
    assert ("Citation searching (n = 58)" in joined) == other


def updated_review(**previous) -> dict:
    """The demo's counts as an update of a review that had included 120 studies in 121 reports: this
    search found the demo's 152 reports (136 + 16 by other methods), of 30 new studies."""
    block = copy.deepcopy(DEMO)
    block.update(previous=previous or {"studies": 120, "reports": 121}, included_reports=152 + 121)
    return block


def test_an_update_counts_the_new_reports_against_the_flow():
    counts = prisma_counts(updated_review())
    assert (counts.new_studies, counts.new_reports) == (30, 152)
    assert arithmetic_problems(counts) == []
    assert included_sentence(counts) == ("150 studies in 273 reports included (120 studies in 121 reports from the "
                                         "previous version of the review, 30 new studies in 152 new reports)")
    wrong = prisma_counts({**updated_review(), "included_reports": 152})
    assert arithmetic_problems(wrong) == [
        "prisma.included_reports (152) minus prisma.previous.reports (121) is 31 new reports, but prisma.assessed "
        "minus the reports excluded with reasons (databases and registers, and other methods) gives 152 (a study of "
        "the previous version no longer included goes in prisma.previous.removed_studies and removed_reports)"]
    impossible = prisma_counts(updated_review(studies=160, reports=150))
    assert arithmetic_problems(impossible) == [
        "prisma.included_reports (273) minus prisma.previous.reports (150) is 123 new reports, but prisma.assessed "
        "minus the reports excluded with reasons (databases and registers, and other methods) gives 152 (a study of "
        "the previous version no longer included goes in prisma.previous.removed_studies and removed_reports)",
        "prisma.previous.studies (160) is more than prisma.included_studies (150), the studies of this version (a "
        "study of the previous version no longer included goes in prisma.previous.removed_studies)",
        "prisma.previous.reports (150) is fewer than prisma.previous.studies (160): every included study has at "
        "least one report"]


def test_more_new_studies_than_new_reports_is_a_problem():
    counts = prisma_counts(updated_review(studies=140, reports=152))  # 150 - 140 = 10 new studies, 273 - 152 = 121 reports
    assert not any("new studies" in problem for problem in arithmetic_problems(counts))
    few = prisma_counts({**updated_review(studies=100, reports=152), "included_reports": 152 + 40})  # 50 studies, 40 reports
    assert ("prisma.included_studies (150) minus prisma.previous.studies (100) is 50 new studies, but "
            "prisma.included_reports minus the previous version's reports gives only 40 new reports: every new study has "
            "at least one new report") in arithmetic_problems(few)


def test_an_update_can_say_that_studies_of_the_previous_version_are_no_longer_included():
    """A study of the previous version found to duplicate another (or retracted) could not be entered: the new
    studies were the total minus the previous version's, and the run stopped unless a count was falsified (a
    living-review walkthrough)."""
    block = updated_review(studies=121, reports=122, removed_studies=1, removed_reports=1)
    counts = prisma_counts(block)
    assert (counts.new_studies, counts.new_reports) == (30, 152) and arithmetic_problems(counts) == []
    assert included_sentence(counts) == ("150 studies in 273 reports included (121 studies in 122 reports from the "
                                         "previous version of the review, of which 1 study in 1 report no longer "
                                         "included, 30 new studies in 152 new reports)")
    figure = prisma_figure(counts)
    joined = "\n".join(text.get_text().replace("\u00a0", " ").replace("\n", " ") for text in figure.axes[0].texts)
    plt.close(figure)
    assert "Of these, no longer included (n = 1), with their reports (n = 1)" in joined
    too_many = prisma_counts(updated_review(studies=121, reports=122, removed_studies=200, removed_reports=1))
    assert "prisma.previous.removed_studies (200) is more than prisma.previous.studies (121)" in \
        arithmetic_problems(too_many)
    from alliance_meta.inputs.config_check import check_config, fill_defaults
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["prisma"] = block
    assert check_config(fill_defaults(config, schema), schema) == []


def test_a_new_review_says_nothing_of_a_previous_version():
    counts = prisma_counts(DEMO)
    assert counts.previous is None and (counts.new_studies, counts.new_reports) == (150, 152)
    assert included_sentence(counts) == "150 studies in 152 reports included"


def test_one_new_study_in_one_new_report_is_said_in_the_singular():
    from dataclasses import replace

    counts = prisma_counts(updated_review())
    one = replace(counts, included_studies=121, included_reports=122)
    assert (one.new_studies, one.new_reports) == (1, 1)
    assert included_sentence(one).endswith("1 new study in 1 new report)")


def test_the_update_is_drawn_with_the_templates_previous_new_and_total_boxes():
    figure = prisma_figure(prisma_counts(updated_review()))
    joined = "\n".join(text.get_text().replace("\u00a0", " ") for text in figure.axes[0].texts)
    plt.close(figure)
    for expected in ("Previous studies", "Identification of new studies via databases and registers",
                     "Identification of new studies via other methods",
                     "New studies included in review\n(n = 30)\nReports of new included studies\n(n = 152)",
                     "Total studies included in review\n(n = 150)\nReports of total included studies\n(n = 273)\n"
                     "Effect sizes\n(n = 395)"):
        assert expected in joined, expected
    assert "Studies included in previous" in joined and "(n = 120)" in joined and "(n = 121)" in joined
    assert "Identification of studies via" not in joined


def test_the_schema_takes_a_previous_version_with_both_counts():
    from alliance_meta.inputs.config_check import check_config, fill_defaults
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["prisma"] = updated_review()
    assert check_config(fill_defaults(config, schema), schema) == []
    config["prisma"] = updated_review(studies=120)
    problems = check_config(fill_defaults(config, schema), schema)
    assert len(problems) == 1 and "prisma" in problems[0]
