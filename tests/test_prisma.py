"""PRISMA 2020 flow diagram: the counts must add up and match the sheet; the figure draws both routes."""

from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import yaml

from alliance_meta.inputs.prisma import (arithmetic_problems, flow_sentences, format_problems, included_sentence,
                                         prisma_counts, sheet_problems)
from alliance_meta.plots.prisma import SIMULATED_LABEL, TIGHT, prisma_figure
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
        "prisma.included_reports (150) is fewer than prisma.included_studies (151): every included study has at "
        "least one report",
        "prisma.included_studies is 151 but the sheet has 2 studies (distinct study_id)",
        "prisma.included_reports is 150 but the sheet has 1 reports (distinct report_id)",
        "prisma.included_effect_sizes is 395 but the sheet has 3 rows (effect sizes)",
    ]
    assert format_problems(problems).startswith("The PRISMA counts in the config (prisma:) have 7 problem(s):")


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
        assert " ".join(expected.split()) in " ".join(joined.split()), expected  # an item may wrap
    flat = " ".join(joined.split())  # boxes narrowed to the page wrap their text
    assert ("Identification of studies via other methods" in flat) == other
    assert ("Citation searching (n = 58)" in flat) == other


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
    joined = " ".join(" ".join(text.get_text().replace("\u00a0", " ").split()) for text in figure.axes[0].texts)
    plt.close(figure)  # the text of boxes narrowed to the page wraps: compared word by word
    for expected in ("Previous studies", "Identification of new studies via databases and registers",
                     "Identification of new studies via other methods",
                     "New studies included in review\n(n = 30)\nReports of new included studies\n(n = 152)",
                     "Total studies included in review\n(n = 150)\nReports of total included studies\n(n = 273)\n"
                     "Effect sizes\n(n = 395)"):
        assert " ".join(expected.split()) in joined, expected
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


def _drawn(counts):
    """Every box's text of the figure with its extent and the smallest box around it (figure pixels)."""
    from matplotlib.patches import FancyBboxPatch

    figure = prisma_figure(counts)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    boxes = [patch.get_window_extent(renderer) for patch in ax.patches if isinstance(patch, FancyBboxPatch)]
    drawn = []
    for text in ax.texts:
        if not text.get_text() or text.get_rotation():  # arrows; the phase labels
            continue
        extent = text.get_window_extent(renderer)
        centre = ((extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2)
        box = min((box for box in boxes if box.contains(*centre)), key=lambda box: box.width * box.height)
        drawn.append((text, extent, box))
    return figure, drawn


LONG = {"databases": {"PsycINFO": 1234567, "MEDLINE via Ovid (In-Process & Other Non-Indexed Citations)": 2345678,
                      "Web of Science Core Collection": 333333},
        "registers": {"ClinicalTrials.gov": 12345, "WHO ICTRP": 6789}, "duplicates_removed": 2_000_000,
        "automation_removed": 100_000, "other_removed": 1000, "screened": 1_831_712, "excluded_screening": 1_829_712,
        "sought": 2000, "not_retrieved": 50, "assessed": 1950,
        "excluded_reasons": {f"Reason {i}: no association between the alliance and an outcome reported in a usable "
                             "form": 10 for i in range(8)},
        "other_methods": {"sources": {"Citation searching of the included studies' reference lists": 58},
                          "sought": 58, "assessed": 58, "excluded_reasons": {"Insufficient data for an effect size": 8}},
        "previous": {"studies": 100, "reports": 120}, "included_studies": 300, "included_reports": 1950 - 80 + 50 + 120}


def test_long_names_many_reasons_and_millions_stay_inside_their_boxes():
    counts = prisma_counts(LONG)
    assert arithmetic_problems(counts) == []
    figure, drawn = _drawn(counts)
    plt.close(figure)
    assert len(drawn) == 19
    for text, extent, box in drawn:
        assert box.x0 < extent.x0 and extent.x1 < box.x1 and box.y0 < extent.y0 and extent.y1 < box.y1, text.get_text()
    joined = "\n".join(text.get_text().replace("\u00a0", " ") for text, _, _ in drawn)
    assert "(n = 2,345,678)" in joined and "(n = 2,000,000)" in joined


def test_a_wrapped_item_hangs_below_its_first_line_and_never_reads_as_the_next_item():
    """Continuation lines of a long exclusion reason (or database) were indented as a new item: the figure
    read as two reasons, one of them without a count."""
    figure, drawn = _drawn(prisma_counts(LONG))
    plt.close(figure)
    indent = TIGHT.indent  # LONG's diagram has five columns: the tightest layout's indent
    reasons = next(text.get_text() for text, _, _ in drawn
                   if text.get_text().startswith(f"Reports excluded:\n{indent}Reason"))
    lines = reasons.split("\n")[1:]
    items = [line for line in lines if line.startswith(indent) and not line.startswith(indent + " ")]
    assert len(items) == 8 and all(line.startswith(2 * indent) for line in lines if line not in items)
    assert all(item.lstrip().startswith("Reason") for item in items)


def test_records_identified_name_databases_and_registers_with_their_totals_as_the_template():
    figure, drawn = _drawn(prisma_counts({**DEMO, "other_methods": None, "included_reports": 136}))  # template boxes
    plt.close(figure)
    identified = next(text.get_text().replace("\u00a0", " ") for text, _, _ in drawn
                      if text.get_text().startswith("Records identified from:\n    Databases"))
    assert identified == ("Records identified from:\n    Databases (n = 5,347)\n        PsycINFO (n = 2,140)\n"
                          "        MEDLINE (PubMed) (n = 1,685)\n        Web of Science (n = 1,210)\n"
                          "        Cochrane CENTRAL (n = 312)\n    Registers (n = 96)\n"
                          "        ClinicalTrials.gov (n = 96)")
    figure, drawn = _drawn(prisma_counts({**DEMO, "registers": {}, "screened": 3432, "excluded_screening": 3005}))
    plt.close(figure)
    assert not any("Registers" in text.get_text() for text, _, _ in drawn)  # none searched: no Registers line


def test_both_routes_fit_a_landscape_page_at_a_legible_size_with_the_optional_route_grey():
    """The demo's diagram was 13 inches wide: on a 10-inch landscape text block its 7.5-point text shrank to
    under 6 points (4 on a portrait page). Its boxes now narrow to the 7-in page (test_forest_polish)."""
    from matplotlib.patches import FancyBboxPatch

    from alliance_meta.plots.prisma import FONT, GREY_HEADER, HEADER

    figure = prisma_figure(prisma_counts(DEMO))
    width = figure.get_size_inches()[0]
    colours = {" ".join(text.get_text().split()): patch.get_facecolor() for text in figure.axes[0].texts
               for patch in figure.axes[0].patches if isinstance(patch, FancyBboxPatch)
               and patch.get_window_extent().contains(*text.get_window_extent().get_points().mean(axis=0))
               and text.get_text().startswith("Identification of")}
    plt.close(figure)
    assert width <= 7 and FONT >= 7  # within a portrait page's text width, its text at 7 pt
    from matplotlib.colors import to_rgba
    assert colours == {"Identification of studies via databases and registers": to_rgba(HEADER),
                       "Identification of studies via other methods": to_rgba(GREY_HEADER)}
    one_route = prisma_figure(prisma_counts({**DEMO, "other_methods": None, "included_reports": 136}))
    assert one_route.get_size_inches()[0] <= 7  # a portrait page's text width
    plt.close(one_route)


def test_the_report_says_the_flow_from_records_identified_to_reports_excluded():
    """The report's study selection gave the included studies and reports only; PRISMA 2020 item 16a asks for the
    search and selection from the records identified on, as the diagram shows them."""
    assert flow_sentences(prisma_counts(DEMO)) == (
        "Databases and registers: 5,443 records identified, 1,915 removed before screening, 3,528 screened (3,101 "
        "excluded), 427 reports sought (19 not retrieved), 408 assessed for eligibility (272 excluded with reasons). "
        "Other methods: 75 records identified, 75 reports sought (4 not retrieved), 71 assessed for eligibility (55 "
        "excluded with reasons).")
    assert "Other methods" not in flow_sentences(prisma_counts({**DEMO, "other_methods": None}))


def test_fewer_reports_than_studies_in_a_new_review_is_a_problem():
    """150 studies in 140 reports passed every check when the reports excluded with reasons made the flow end in
    140 (an update checked its new and previous studies so, a new review did not)."""
    block = copy.deepcopy(DEMO)
    block["excluded_reasons"] = {**block["excluded_reasons"], "Not psychotherapy": 41 + 12}
    block["included_reports"] = 140
    assert arithmetic_problems(prisma_counts(block)) == [
        "prisma.included_reports (140) is fewer than prisma.included_studies (150): every included study has at "
        "least one report"]


def test_simulated_counts_are_labelled_without_claiming_to_be_the_demo():
    """prisma.simulated labelled the diagram 'SIMULATED counts (demo configuration)' and the report 'SIMULATED
    counts from the demo configuration' on any config: a reviewer's placeholder counts, before the search is done,
    were told they were the demo's. Both now say the counts are simulated, not whose."""
    from alliance_meta.report.html import prisma_section

    block = copy.deepcopy(DEMO)
    figure = prisma_figure(prisma_counts(block))
    drawn = [text.get_text() for text in figure.texts]
    plt.close(figure)
    section = prisma_section(prisma_counts(block), "data:image/png;base64,")
    assert SIMULATED_LABEL in drawn and section.paragraph.startswith(SIMULATED_LABEL)
    assert not any("demo" in text.lower() for text in [*drawn, section.paragraph])
    assert section.figures and section.id == "prisma"
    real = prisma_section(prisma_counts({**block, "simulated": False}), "data:image/png;base64,")
    assert "SIMULATED" not in real.paragraph and real.paragraph.startswith("Databases and registers: 5,443 records")


def test_one_record_and_one_report_of_a_route_are_said_in_the_singular():
    """An update's other route of one citation read "1 records identified, 1 reports sought"."""
    block = copy.deepcopy(DEMO)
    block["other_methods"] = {"sources": {"Citation searching": 1}, "sought": 1, "not_retrieved": 0, "assessed": 1,
                              "excluded_reasons": {}}
    text = flow_sentences(prisma_counts(block))
    assert text.endswith("Other methods: 1 record identified, 1 report sought (0 not retrieved), 1 assessed for "
                         "eligibility (0 excluded with reasons).")
    assert "5,443 records identified" in text and "427 reports sought" in text


@pytest.mark.parametrize("block", [updated_review(), {**updated_review(), "other_methods": None,
                                                      "included_reports": 136 + 121}, DEMO,
                                    {**DEMO, "other_methods": None, "included_reports": 136}],
                         ids=["update_both_routes", "update_one_route", "both_routes", "one_route"])
def test_no_box_edge_is_cut_at_the_figure_edge(block):
    """The tightest layout (an update with both routes) drew its phase bars from the figure's left edge and its
    exclusion boxes to its right edge (TIGHT.left and .right 0): the axes clipped the outer half of those boxes'
    0.8-pt edges, drawn 0.4 pt thin beside the others. The headers, drawn from the axes' top in every layout, had
    the upper half of their top edge clipped so. Each box's edge line, the whole of its width, is inside the axes
    (which clip it) and inside the figure as saved with bbox_inches="tight"."""
    from matplotlib.patches import FancyBboxPatch
    from matplotlib.transforms import Bbox

    figure = prisma_figure(prisma_counts(block))
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    saved = figure.get_tightbbox(renderer).padded(plt.rcParams["savefig.pad_inches"])  # inches
    for inside in (ax.get_window_extent(renderer), Bbox(saved.get_points() * figure.dpi)):
        for patch in ax.patches:
            if isinstance(patch, FancyBboxPatch):
                half = renderer.points_to_pixels(patch.get_linewidth()) / 2
                extent = patch.get_window_extent(renderer).padded(half)  # the edge line's outer side
                assert (inside.x0 <= extent.x0 and extent.x1 <= inside.x1 and inside.y0 <= extent.y0
                        and extent.y1 <= inside.y1), (extent, inside)
    plt.close(figure)
