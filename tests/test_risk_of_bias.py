"""Risk of bias: codebook (tools, vocabularies, did-you-mean), overall judgement, figures,
forest-plot columns, moderator rows and the multiverse choice."""

import re

import numpy as np
import pandas as pd
import pytest

from alliance_meta.inputs import risk_of_bias as rob
from alliance_meta.inputs.sheet import format_problems, read_sheet, validate_sheet

QUIPS_DOMAINS = [f"rob_{d}" for d in rob.QUIPS.domains]


def _sheet(**columns):
    k = len(next(iter(columns.values())))
    base = {"study_id": [f"s{i}" for i in range(k)], "r": ["0.3"] * k, "n": ["50"] * k}
    return pd.DataFrame({**base, **columns})


def _quips_rows(rows):
    """Sheet with one study per row of QUIPS judgements (six domains)."""
    return _sheet(**{c: [row[j] for row in rows] for j, c in enumerate(QUIPS_DOMAINS)})


# --- codebook and validation ------------------------------------------------

def test_quips_synonyms_are_normalised():
    clean, problems = validate_sheet(_quips_rows([["Low", "L", "low risk", "LOW", "+", "low"],
                                                  ["moderate risk", "M", "Medium", "high-risk", "H", "low"]]))
    assert problems == []
    assert clean.loc[0, QUIPS_DOMAINS].tolist() == ["low"] * 6
    assert clean.loc[1, QUIPS_DOMAINS].tolist() == ["moderate", "moderate", "moderate", "high", "high", "low"]


def test_rob2_vocabulary_and_no_unclear():
    domains = [f"rob_{d}" for d in rob.ROB2.domains]
    sheet = _sheet(**{c: ["Some Concerns", "SC", "low", "some-concerns"] for c in domains[:4]},
                   **{domains[4]: ["unclear", "low", "hihg", "high"]})
    clean, problems = validate_sheet(sheet, risk_of_bias={"tool": "rob2"})
    assert clean.loc[0, domains[0]] == "some concerns"
    assert [(p.row, p.column, p.value, p.check) for p in problems] == [
        (2, "rob_selection", "unclear", "rob_vocabulary"), (4, "rob_selection", "hihg", "rob_vocabulary")]
    assert 'did you mean "high"?' in problems[1].rule
    assert "low, some concerns, high" in problems[0].rule


def test_robins_i_judgements_it_does_not_have_get_its_words():
    domains = [f"rob_{d}" for d in rob.ROBINS_I.domains]
    sheet = _sheet(**{c: ["low", "low", "low"] for c in domains[1:]}, **{domains[0]: ["HIGH", "?", "Lowish"]})
    _, problems = validate_sheet(sheet, risk_of_bias={"tool": "robins_i"})
    assert [(p.row, p.value) for p in problems] == [(2, "HIGH"), (3, "?"), (4, "Lowish")]
    assert problems[0].rule.endswith('ROBINS-I has no "high": write "serious" or "critical"')
    assert problems[1].rule.endswith('did you mean "no information"?')
    assert problems[2].rule.endswith('did you mean "low"?')


def test_robins_i_accepts_unclear_as_no_information():
    domains = [f"rob_{d}" for d in rob.ROBINS_I.domains]
    clean, problems = validate_sheet(_sheet(**{c: ["Unclear"] for c in domains}),
                                     risk_of_bias={"tool": "robins_i"})
    assert problems == []
    assert clean.loc[0, "rob_overall"] == "no information"


def test_unknown_domain_column_and_misspelt_judgement_are_problems():
    sheet = _quips_rows([["low", "low", "low", "low", "low", "modrate"]])
    sheet["rob_partcipation"] = ["low"]
    _, problems = validate_sheet(sheet)
    text = format_problems(problems)
    assert [(p.row, p.column, p.check) for p in problems] == [(1, "rob_partcipation", "rob_column"),
                                                              (2, "rob_analysis", "rob_vocabulary")]
    assert 'did you mean "rob_participation"?' in text
    assert 'value "modrate"' in text and 'did you mean "moderate"?' in text


def test_columns_of_another_tool_name_the_tool_to_set():
    """A RoB 2 sheet checked under the default QUIPS: one problem lists the columns and says to set
    risk_of_bias.tool: rob2 (the did-you-mean pointed rob_randomisation at rob_attrition; then the advice came once
    per column); columns of no one tool keep the did-you-mean."""
    sheet = _sheet(**{f"rob_{d}": ["low"] for d in rob.ROB2.domains}, rob_overall=["low"])
    _, problems = validate_sheet(sheet)
    assert len(problems) == 1 and problems[0].row == 1 and problems[0].check == "rob_column"
    foreign = ", ".join(f"rob_{d}" for d in rob.ROB2.domains)
    assert problems[0].rule.startswith(f"the risk-of-bias columns {foreign} are not domains of QUIPS")
    assert problems[0].rule.endswith("the sheet's rob_* columns are those of RoB 2 (Sterne et al., 2019): set "
                                     "risk_of_bias.tool: rob2")
    assert format_problems(problems).count("risk_of_bias.tool") == 1
    assert not validate_sheet(sheet, risk_of_bias={"tool": "rob2"})[1]
    sheet["rob_partcipation"] = ["low"]
    assert 'did you mean "rob_participation"?' in format_problems(validate_sheet(sheet)[1])


def test_study_judgement_on_one_row_is_copied_and_disagreement_reported():
    sheet = _quips_rows([["low"] * 6, [None] * 6, ["high"] + ["low"] * 5])
    sheet["study_id"] = ["a", "a", "a"]
    _, problems = validate_sheet(sheet)
    assert {(p.row, p.column, p.check) for p in problems} == {
        (2, "rob_participation", "rob_inconsistent"), (4, "rob_participation", "rob_inconsistent")}
    clean, problems = validate_sheet(sheet.iloc[:2])
    assert problems == []
    assert clean["rob_overall"].tolist() == ["low", "low"]


def test_rob_overall_as_moderator_needs_no_column_when_derived():
    _, problems = validate_sheet(_quips_rows([["low"] * 6]), moderators=["rob_overall"])
    assert problems == []
    _, problems = validate_sheet(_sheet(rater=["patient"]), moderators=["rob_overall"])
    assert [p.check for p in problems] == ["moderator_column_missing"]


def test_sheet_without_rob_columns_is_unchanged():
    clean, problems = validate_sheet(_sheet(rater=["patient", "observer"]))
    assert problems == [] and not any(c.startswith("rob_") for c in clean.columns)
    assert clean.attrs["notes"] == []


# --- overall judgement ------------------------------------------------------

@pytest.mark.parametrize("ratings, expected", [
    (["low"] * 6, "low"),
    (["moderate"] + ["low"] * 5, "low"),                      # at most one moderate
    (["moderate", "moderate"] + ["low"] * 4, "moderate"),
    (["moderate"] * 3 + ["low"] * 3, "high"),                 # three or more moderate
    (["high"] + ["low"] * 5, "high"),
])
def test_quips_overall_grooten_2019(ratings, expected):
    domains = pd.DataFrame([ratings], columns=QUIPS_DOMAINS)
    assert rob.QUIPS.derive_overall(domains).tolist() == [expected]


@pytest.mark.parametrize("ratings, expected", [
    (["low"] * 5, "low"),
    (["some concerns"] + ["low"] * 4, "some concerns"),
    (["some concerns"] * 5, "some concerns"),
    (["high"] + ["some concerns"] * 4, "high"),
])
def test_rob2_overall_sterne_2019(ratings, expected):
    domains = pd.DataFrame([ratings])
    assert rob.ROB2.derive_overall(domains).tolist() == [expected]


@pytest.mark.parametrize("ratings, expected", [
    (["low"] * 7, "low"),
    (["moderate"] + ["low"] * 6, "moderate"),
    (["serious", "moderate", "critical"] + ["low"] * 4, "critical"),
    (["no information", "moderate"] + ["low"] * 5, "no information"),
    (["no information", "serious"] + ["low"] * 5, "serious"),
])
def test_robins_i_overall_worst_domain(ratings, expected):
    assert rob.ROBINS_I.derive_overall(pd.DataFrame([ratings])).tolist() == [expected]


def test_custom_tool_and_incomplete_domains():
    tool = rob.tool_from_config({"tool": "custom", "domains": ["blinding", "fidelity"],
                                 "levels": ["low", "unclear", "high"]})
    assert tool.columns == ("rob_blinding", "rob_fidelity", "rob_overall")
    frame = pd.DataFrame({"rob_blinding": ["low", "unclear", "low"], "rob_fidelity": ["low", "low", None]})
    assert tool.derive_overall(frame).tolist() == ["low", "unclear", None]
    with pytest.raises(ValueError, match="domains"):
        rob.tool_from_config({"tool": "custom"})


def test_written_overall_is_kept():
    sheet = _quips_rows([["low"] * 6, ["moderate", "moderate"] + ["low"] * 4])
    sheet["rob_overall"] = ["high", "high"]  # the reviewer's judgement overrides the rule
    clean, problems = validate_sheet(sheet)
    assert problems == [] and clean["rob_overall"].tolist() == ["high", "high"]
    assert clean.attrs["notes"][1:] == [  # with a note only where no domain gives a reason
        "rob_overall is other than low for 1 study whose every domain is low (s0 high; "
        f"{rob.QUIPS.overall_rule}): check it; every analysis uses rob_overall as written"]


def test_studies_without_an_overall_judgement_are_named():
    # the second study leaves a domain empty and has no rob_overall: nothing can be derived
    sheet = _quips_rows([["low"] * 6, ["moderate", "low", "low", "low", "low", None], ["moderate"] * 6])
    clean, problems = validate_sheet(sheet)
    assert problems == [] and clean["rob_overall"].isna().tolist() == [False, True, False]
    assert any(note.startswith("no overall risk-of-bias judgement for 1 study (s1): rob_overall is empty")
               for note in clean.attrs["notes"])
    clean, _ = validate_sheet(_quips_rows([["low"] * 6]))
    assert not any("no overall" in note for note in clean.attrs["notes"])


def test_high_risk_mask():
    frame = pd.DataFrame({"rob_overall": ["low", "serious", "critical", "moderate"]})
    assert rob.high_risk_mask(frame, rob.ROBINS_I).tolist() == [False, True, True, False]
    assert rob.high_risk_mask(frame.replace({"serious": "high"}), rob.QUIPS).tolist() == [False, True, False, False]
    assert np.array_equal(rob.QUIPS.severity(["low", None, "high"]), [0, np.nan, 2], equal_nan=True)


# --- figures ----------------------------------------------------------------

def _judgements(k, tool=rob.QUIPS, seed=3):
    rng = np.random.default_rng(seed)
    domains = [f"rob_{d}" for d in tool.domains]
    frame = pd.DataFrame({c: rng.choice(tool.judgements, size=k) for c in domains})
    frame["rob_overall"] = tool.derive_overall(frame[domains])
    frame.insert(0, "study_id", [f"S{i}" for i in range(k)])
    frame["authors"], frame["year"] = [f"Author {i}" for i in range(k)], 2000
    return frame


def test_traffic_light_and_summary_files(tmp_path):
    from alliance_meta.plots.risk_of_bias import save_rob_figures, summary_plot, traffic_light

    judgements = _judgements(12, rob.ROBINS_I)
    paths = [tmp_path / f"tl.{s}" for s in ("pdf", "svg")]  # PNG: same figure, rasterised
    save_rob_figures(lambda paged: traffic_light(judgements, rob.ROBINS_I, rows_per_page=5 if paged else None), paths)
    svg = paths[1].read_text()
    assert all(p.stat().st_size > 1000 for p in paths)
    for text in ("Judgement", "Critical", "No information", "Overall", "D7: Selection of the reported result",
                 "Author 11 (2000)"):
        assert text in svg
    assert len(re.findall(rb"/Type\s*/Page(?![a-z])", paths[0].read_bytes())) == 3  # 12 studies, pages of 5
    save_rob_figures(lambda paged: [summary_plot(judgements, rob.ROBINS_I, np.arange(1, 13))], [tmp_path / "s.svg"])
    svg = (tmp_path / "s.svg").read_text()
    assert "Percent of the main model's weight" in svg and "Serious" in svg
    assert "Not rated" not in (tmp_path / "tl.svg").read_text()  # every cell rated
    judgements.loc[2, "rob_confounding"] = None  # a dash in the cell, and its legend entry
    save_rob_figures(lambda paged: traffic_light(judgements, rob.ROBINS_I), [tmp_path / "tl_missing.svg"])
    assert "Not rated" in (tmp_path / "tl_missing.svg").read_text()


@pytest.mark.parametrize(("k", "tool"), [(12, rob.QUIPS), (125, rob.QUIPS), (125, rob.ROBINS_I), (80, rob.ROB2)])
def test_traffic_light_column_headers_do_not_touch(k, tool):
    """Beyond 60 studies the columns narrow to 0.2 inch, and "Overall" ran into the last domain's code
    ("D6Overall", the demo's 125 outcome studies): the overall column moves right as far as its header needs;
    and the legend's 8-point symbols touched each other beside the 5.5-point text."""
    from alliance_meta.plots.risk_of_bias import traffic_light

    figure = traffic_light(_judgements(k, tool), tool)[0]
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for label in figure.axes[0].get_xticklabels()]
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()][-1] == "Overall"
    gaps = [right.x0 - left.x1 for left, right in zip(boxes, boxes[1:])]
    assert min(gaps) > 0.02 * figure.dpi, gaps  # at least 0.02 inch between neighbouring headers
    legend = figure.axes[0].get_legend()  # its symbols no taller than a line of its text: they do not touch
    assert all(handle.get_markersize() <= 1.1 * legend.get_texts()[0].get_fontsize()
               for handle in legend.legend_handles)


def test_summary_plot_of_a_family_without_any_judgement(tmp_path):
    """The rob_* columns rated only the outcome studies: the dropout family's summary plot has empty bars and
    says so; it raised in matplotlib's legend (ncol=0) and stopped the run."""
    from alliance_meta.plots.risk_of_bias import save_rob_figures, summary_plot, summary_table

    judgements = _judgements(4, rob.ROB2)
    judgements[[*rob.ROB2.columns]] = None
    assert summary_table(judgements, rob.ROB2)["k"].eq(0).all()
    paths = [tmp_path / f"s.{suffix}" for suffix in ("pdf", "png", "svg")]
    save_rob_figures(lambda paged: [summary_plot(judgements, rob.ROB2)], paths)
    assert all(path.stat().st_size > 1000 for path in paths)
    assert "No study has a judgement in any domain (not rated)" in paths[2].read_text()


def test_summary_plot_sets_k_in_italics():
    """APA 2020, 6.46: the summary plot's domains read "Study participation (k = 12)" with k upright, beside the
    italic k of the other figures."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.risk_of_bias import summary_plot

    figure = summary_plot(_judgements(12, rob.QUIPS), rob.QUIPS)
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert labels[0].endswith("($k$ = 12)") and labels[-1] == "Overall risk of bias ($k$ = 12)"
    assert not any("(k = " in label for label in labels)
    plt.close(figure)


def test_summary_plot_labels_add_up_to_100():
    """Each share rounded on its own: a domain of 8 studies at 1 low, 1 moderate and 6 high read 12%, 12% and 75%
    (99%), as the probe's bars of 8 studies read 99% or 101%."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.risk_of_bias import summary_plot, whole_percentages

    shares = np.array([[12.5, 12.5, 75.0], [100 / 3, 0.0, 200 / 3], [100 / 7, 300 / 7, 300 / 7], [np.nan] * 3])
    whole = whole_percentages(shares)
    assert whole.tolist() == [[13, 12, 75], [33, 0, 67], [14, 43, 43], [0, 0, 0]]
    assert (np.abs(whole - np.nan_to_num(shares)) < 1).all()
    frame = pd.DataFrame({"study_id": [f"S{i}" for i in range(8)], "rob_participation": ["low", "moderate"] + ["high"] * 6})
    frame["rob_overall"] = frame["rob_participation"]
    figure = summary_plot(frame, rob.QUIPS)
    labels = [text.get_text() for text in figure.axes[0].texts if text.get_text().endswith("%")]
    assert sorted(labels) == ["12%", "12%", "13%", "13%", "75%", "75%"]  # two bars: the domain and overall
    plt.close(figure)


def test_summary_table_weighted_shares():
    from alliance_meta.plots.risk_of_bias import summary_table

    frame = pd.DataFrame({"rob_participation": ["low", "high", "high", None], "rob_overall": ["low"] * 4})
    table = summary_table(frame, rob.QUIPS)
    assert table.loc[0, ["low", "moderate", "high"]].tolist() == pytest.approx([100 / 3, 0, 200 / 3])
    assert table.loc[0, "k"] == 3
    weighted = summary_table(frame, rob.QUIPS, weights=[2.0, 1.0, 1.0, 5.0])
    assert weighted.loc[0, ["low", "high"]].tolist() == pytest.approx([50.0, 50.0])
    with pytest.raises(ValueError, match="weights"):
        summary_table(frame, rob.QUIPS, weights=[1.0])


def test_high_risk_sentence():
    from alliance_meta.analyses.risk_of_bias import high_risk_sentence

    frame = pd.DataFrame({"study_id": list("abcd"),
                          "rob_participation": ["low", "high", "low", "low"],
                          "rob_confounding": ["high", "high", "low", "moderate"],
                          "rob_overall": ["high", "high", "low", "low"]})
    assert high_risk_sentence(frame, rob.QUIPS) == (
        "Of four studies, two were at high risk of bias (QUIPS; Hayden et al., 2013), both rated high in study "
        "confounding.")
    assert high_risk_sentence(frame.iloc[:1], rob.QUIPS).startswith("The one study was at high risk of bias")
    frame.loc[3, "rob_overall"] = None
    assert high_risk_sentence(frame, rob.QUIPS).startswith(
        "Of four studies (one without an overall judgement), two were at high risk of bias (QUIPS; Hayden et al., "
        "2013), both rated high in study confounding")
    frame.loc[1, "rob_confounding"] = "low"  # a tie: 1 of the 2 in each domain, no "mostly"
    assert high_risk_sentence(frame, rob.QUIPS) == (
        "Of four studies (one without an overall judgement), two were at high risk of bias (QUIPS; Hayden et al., "
        "2013), most often in study participation and study confounding (rated high in one of the two high-risk "
        "studies each).")


def test_high_risk_sentence_without_overall_judgements_counts_the_studies_rated():
    """It said "assessed in 4 studies" for a family in which no study, or only some, had a judgement."""
    from alliance_meta.analyses.risk_of_bias import high_risk_sentence

    frame = pd.DataFrame({"study_id": list("abcd"), "rob_participation": ["low", "high", None, None],
                          "rob_overall": [None] * 4})
    assert high_risk_sentence(frame, rob.QUIPS) == (
        f"Risk of bias was assessed in two of four studies with {rob.QUIPS.title}; no overall judgement is available.")
    assert high_risk_sentence(frame.iloc[:2], rob.QUIPS).startswith("Risk of bias was assessed in two studies with")
    assert high_risk_sentence(frame.iloc[2:], rob.QUIPS) == (
        "None of the two studies has a risk-of-bias judgement (QUIPS; Hayden et al., 2013).")
    assert high_risk_sentence(frame.iloc[3:], rob.QUIPS) == (  # not "None of the one study has"
        "The one study has no risk-of-bias judgement (QUIPS; Hayden et al., 2013).")


@pytest.mark.parametrize("tool", ["quips", "rob2", "robins_i"])
def test_a_tools_citation_is_never_in_parentheses_within_parentheses(tool):
    """"(QUIPS (Hayden et al., 2013))": the sentence of studies without a judgement nested the tool's citation in
    parentheses. Within parentheses it follows a semicolon (APA 2020, sec. 6.9), in every sentence that names it."""
    from alliance_meta.analyses.risk_of_bias import high_risk_sentence
    from alliance_meta.report.methods import risk_of_bias_methods

    chosen = rob.BUILT_IN[tool]
    name, citation = chosen.title.removesuffix(")").split(" (")
    domain = rob.PREFIX + chosen.domains[0]
    unrated = pd.DataFrame({"study_id": ["a", "b"], domain: [None, None], "rob_overall": [None, None]})
    high = pd.DataFrame({"study_id": ["a", "b"], domain: [chosen.levels[-1], "low"],
                         "rob_overall": [chosen.levels[-1], "low"]})
    for text in (high_risk_sentence(unrated, chosen), high_risk_sentence(unrated.iloc[:1], chosen),
                 high_risk_sentence(high, chosen), risk_of_bias_methods({"risk_of_bias": {"tool": tool}})):
        assert f"{name}; {citation})" in text and f"({citation})" not in text, text


@pytest.mark.parametrize("tool", [*rob.BUILT_IN, "custom"])
def test_the_high_risk_sentence_names_the_tool_after_high_risk_of_bias_not_after_a_count(tool):
    """"(rated high in one of the two high-risk studies each; QUIPS; Hayden et al., 2013)": the tool and its citation
    were stacked after the count with semicolons. They follow "high risk of bias" in a parenthesis of their own, in
    every sentence of high-risk studies and for every tool the config allows; all the high-risk studies are "both",
    not "two of the two"."""
    from alliance_meta.analyses.risk_of_bias import high_risk_sentence

    chosen = rob.tool_from_config({"tool": tool} if tool != "custom" else {
        "tool": "custom", "domains": ["selection", "blinding"], "levels": ["good", "fair", "poor"]})
    first, second = (rob.PREFIX + domain for domain in chosen.domains[:2])
    best, worst = chosen.levels[0], chosen.levels[-1]
    tie = pd.DataFrame({"study_id": list("abcd"), first: [worst, best, best, best], second: [best, worst, best, best],
                        "rob_overall": [worst, worst, best, best]})
    majority = tie.assign(**{first: [worst, worst, best, best]})
    named = f"at high risk of bias ({chosen.source})"
    for frame, ending in ((tie, f"{named}, most often in {chosen.label(first).lower()} and "
                                f"{chosen.label(second).lower()} (rated {{}} in one of the two high-risk studies each)."),
                          (majority, f"{named}, both rated {{}} in {chosen.label(first).lower()}."),
                          (tie.iloc[[0, 2]], f"{named}, rated {{}} in {chosen.label(first).lower()}."),
                          (tie.iloc[[2, 3]], f"{named}.")):
        rated = " or ".join(level for level in chosen.levels if level in ("high", "serious", "critical", worst))
        assert high_risk_sentence(frame, chosen).endswith(ending.format(rated)), high_risk_sentence(frame, chosen)


@pytest.mark.parametrize("tool", [*rob.BUILT_IN, "custom"])
def test_the_high_risk_sentence_says_plainly_when_every_high_risk_study_or_every_study_is_meant(tool):
    """"mostly in study participation (rated high in all 8 high-risk studies)": "mostly" beside "all", and "(rated high
    in both high-risk studies)" after two domains read as both domains. Where every high-risk study is rated worst in
    the domain(s) named, that is said plainly; "Of one study, none were", "Of 12 studies, 12 were" and "with custom
    risk-of-bias tool" read as English."""
    from alliance_meta.analyses.risk_of_bias import high_risk_sentence

    chosen = rob.tool_from_config({"tool": tool} if tool != "custom" else {
        "tool": "custom", "domains": ["selection", "blinding"], "levels": ["good", "fair", "poor"]})
    first, second = (rob.PREFIX + domain for domain in chosen.domains[:2])
    one, two = chosen.label(first).lower(), chosen.label(second).lower()
    best, worst = chosen.levels[0], chosen.levels[-1]
    rated = "rated " + " or ".join(level for level in chosen.levels if level in ("high", "serious", "critical", worst))
    source = f"({chosen.source})"

    def frame(overall, *domains):
        return pd.DataFrame({"study_id": [f"s{i}" for i in range(len(overall))], first: domains[0],
                             second: domains[1], "rob_overall": overall})

    eight = frame([worst] * 8 + [best] * 16, [worst] * 8 + [best] * 16, [best] * 24)
    assert high_risk_sentence(eight, chosen) == (
        f"Of 24 studies, 8 were at high risk of bias {source}, all of them {rated} in {one}.")
    both = frame([worst, worst, best], [worst, worst, best], [worst, worst, best])
    assert high_risk_sentence(both, chosen) == (
        f"Of three studies, two were at high risk of bias {source}, both {rated} in {one} and {two}.")
    three = frame([worst] * 3, [worst] * 3, [worst, best, best])
    assert high_risk_sentence(three, chosen) == f"All three studies were at high risk of bias {source}, all of them " \
                                                f"{rated} in {one}."
    three[first] = [worst, worst, best]  # two of three: "mostly" is kept
    assert high_risk_sentence(three, chosen) == (f"All three studies were at high risk of bias {source}, mostly in "
                                                 f"{one} ({rated} in two of the three high-risk studies).")
    twelve = frame([worst] * 12, [worst] * 12, [worst] * 12)
    assert high_risk_sentence(twelve, chosen).startswith(f"All 12 studies were at high risk of bias {source}")
    assert high_risk_sentence(frame([worst] * 2, [worst] * 2, [best] * 2), chosen).startswith("Both studies were")
    assert high_risk_sentence(frame([best], [best], [best]), chosen) == (
        f"The one study was not at high risk of bias {source}.")
    assert high_risk_sentence(frame([worst], [worst], [best]), chosen) == (
        f"The one study was at high risk of bias {source}, {rated} in {one}.")
    unjudged = frame([None, None], [worst, best], [None, None])
    article = "a " if tool == "custom" else ""
    assert high_risk_sentence(unjudged, chosen) == (
        f"Risk of bias was assessed in two studies with {article}{chosen.title}; no overall judgement is available.")


def test_high_risk_sentence_of_no_high_risk_study_says_none():
    """Counts in words (APA 2020, sec. 6.32) read "Of four studies, zero were at high risk of bias"."""
    from alliance_meta.analyses.risk_of_bias import high_risk_sentence

    frame = pd.DataFrame({"study_id": list("abcd"), "rob_participation": ["low"] * 4, "rob_overall": ["low"] * 4})
    assert high_risk_sentence(frame, rob.QUIPS) == (
        "Of four studies, none were at high risk of bias (QUIPS; Hayden et al., 2013).")
    many = pd.DataFrame({"study_id": [f"s{i}" for i in range(12)], "rob_participation": ["low"] * 12,
                         "rob_overall": [None] * 3 + ["low"] * 9})
    assert high_risk_sentence(many, rob.QUIPS).startswith(
        "Of 12 studies (3 without an overall judgement), none were at high risk of bias")

def test_high_risk_sentence_says_mostly_only_for_a_majority_and_reads_naturally_for_one_study():
    from alliance_meta.analyses.risk_of_bias import high_risk_sentence

    frame = pd.DataFrame({"study_id": list("abcd"),
                          "rob_participation": ["high", "low", "low", "low"],
                          "rob_confounding": ["high", "high", "low", "low"],
                          "rob_attrition": ["low", "low", "high", "low"],
                          "rob_overall": ["high", "high", "high", "low"]})
    assert high_risk_sentence(frame, rob.QUIPS) == (  # 2 of 3: a majority
        "Of four studies, three were at high risk of bias (QUIPS; Hayden et al., 2013), mostly in study confounding "
        "(rated high in two of the three high-risk studies).")
    frame["rob_overall"] = ["high", "high", "high", "high"]
    frame.loc[3, "rob_participation"] = "high"
    frame.loc[:, "rob_confounding"] = ["high", "low", "low", "low"]
    frame.loc[:, "rob_attrition"] = ["low", "high", "low", "low"]
    frame.loc[2, "rob_participation"] = "low"
    frame.loc[2, "rob_attrition"] = "high"
    assert high_risk_sentence(frame, rob.QUIPS) == (  # 2 of 4 (participation a, d): not "mostly"
        "All four studies were at high risk of bias (QUIPS; Hayden et al., 2013), most often in study "
        "participation and study attrition (rated high in two of the four high-risk studies each).")
    frame.loc[1, "rob_attrition"] = "low"
    assert high_risk_sentence(frame, rob.QUIPS) == (
        "All four studies were at high risk of bias (QUIPS; Hayden et al., 2013), most often in study "
        "participation (rated high in two of the four high-risk studies).")
    one = pd.DataFrame({"study_id": ["a", "b"], "rob_attrition": ["high", "low"], "rob_overall": ["high", "low"]})
    assert high_risk_sentence(one, rob.QUIPS) == (
        "Of two studies, one was at high risk of bias (QUIPS; Hayden et al., 2013), rated high in study attrition.")

    robins = pd.DataFrame({"study_id": ["a", "b"], "rob_confounding": ["serious", "low"],
                           "rob_overall": ["serious", "low"]})
    assert "rated serious or critical in confounding" in high_risk_sentence(robins, rob.ROBINS_I).replace(
        "bias due to ", "")  # ROBINS-I has no "high" level


# --- forest plot columns ----------------------------------------------------

def _svg_text(path) -> str:
    """The SVG's text elements (wrapped footnote lines joined by spaces)."""
    import html

    return " ".join(html.unescape(t) for t in re.findall(r">([^<>]+)</text>", path.read_text()))


def test_forest_columns_headers_truncation_and_rob_legend(tmp_path):
    from alliance_meta.plots.forest import ForestOptions, save_forest_plot
    from alliance_meta.plots.forest_options import cell_text

    assert cell_text("Working Alliance Inventory", 10) == ("Working A\u2026", True)
    assert cell_text(1200.0, 10) == ("1,200", False) and cell_text(0.5, 10) == ("0.5", False)
    data = _judgements(6).assign(yi=np.linspace(0.1, 0.4, 6), vi=0.01, n=[40, 50, 60, 70, 80, 1200],
                                 rater=["patient", "therapist", "observer", "patient", "patient", "patient"],
                                 measure=["Working Alliance Inventory short revised"] + ["WAI"] * 5)
    pooled = {"estimate": 0.25, "ci_lower": 0.17, "ci_upper": 0.33, "tau2": 0.0, "method": "REML"}
    # 9 in: room for the columns beside the names (at 7 in they go under them: tests/test_forest_polish.py)
    options = ForestOptions.from_config({"columns": ["n", "rater", "measure"], "rob": True, "width": 9,
                                         "column_labels": {"rater": "Who rated"}}, {"tool": "quips"})
    save_forest_plot(data, pooled, "z", [tmp_path / "f.svg"], options=options)
    svg = _svg_text(tmp_path / "f.svg")
    for text in ("Who rated", "measure", "1,200", "therapist", "Working Allia\u2026", "D6", "Overall",
                 "Risk of bias, QUIPS", "symbols: + low, \u2212 moderate, \u00d7 high", "text cut at 14 characters"):
        assert text in svg, text
    assert "Working Alliance Inventory short" not in svg
    assert "not rated" not in svg  # every cell rated
    data.loc[1, "rob_attrition"] = None  # a blank cell, and the footnote says what it means
    save_forest_plot(data, pooled, "z", [tmp_path / "blank.svg"], options=options)
    assert "symbols: + low, \u2212 moderate, \u00d7 high; blank: not rated." in _svg_text(tmp_path / "blank.svg")
    # without the options: no new headers; rob requested on data without rob columns: no symbols
    save_forest_plot(data.drop(columns=[c for c in data if c.startswith("rob_")]), pooled, "z",
                     [tmp_path / "g.svg"], options=ForestOptions.from_config({"rob": True}))
    svg = _svg_text(tmp_path / "g.svg")
    assert "Who rated" not in svg and "Risk of bias" not in svg and "Overall" not in svg


def test_a_year_among_plots_columns_is_written_without_a_thousands_separator(tmp_path):
    """plots.columns: [setting, year] drew "2,016" beside each study (the year as a whole number with a separator)."""
    from alliance_meta.plots.forest import ForestOptions, save_forest_plot
    from alliance_meta.plots.forest_options import cell_text

    assert cell_text(2016.0, 10, "year") == ("2016", False) and cell_text(2016.0, 10, "n") == ("2,016", False)
    data = _judgements(3).assign(yi=[0.1, 0.2, 0.3], vi=0.01, n=[40, 1200, 60], year=[1999.0, 2016.0, 2021.0])
    pooled = {"estimate": 0.2, "ci_lower": 0.1, "ci_upper": 0.3, "tau2": 0.0, "method": "REML"}
    options = ForestOptions.from_config({"columns": ["n", "year"], "width": 9}, {"tool": "quips"})
    save_forest_plot(data, pooled, "z", [tmp_path / "f.svg"], options=options)
    svg = _svg_text(tmp_path / "f.svg")
    assert all(year in svg for year in ("1999", "2016", "2021")) and "2,016" not in svg and "1,200" in svg


def test_plots_columns_are_checked_against_the_header():
    _, problems = validate_sheet(_sheet(rater=["patient"]), figure_columns=["rater", "raters", "timing"])
    assert [(p.column, p.check) for p in problems] == [("raters", "moderator_column_missing"),
                                                       ("timing", "moderator_column_missing")]
    assert "plots.columns" in problems[0].rule and 'did you mean "rater"?' in problems[0].rule


# --- analysis ---------------------------------------------------------------

def test_plots_columns_the_conversion_derives_need_no_sheet_column():
    """plots.columns: [n, ...] (the example config's) on a dropout sheet of n1, n2 or counts stopped validation with
    'n is not a column of the sheet', though every analysed row has n (n1 + n2, the counts' total, df + 2)."""
    sheet = pd.DataFrame({"study_id": ["D1", "D2"], "family": ["dropout"] * 2, "d": ["0.3", "0.2"],
                          "n1": ["20", "30"], "n2": ["15", "25"], "rater": ["patient", "therapist"]})
    _, problems = validate_sheet(sheet, figure_columns=["n", "k_effect_sizes", "rater"])
    assert not problems
    _, problems = validate_sheet(sheet, figure_columns=["n", "sessions"])
    assert [p.column for p in problems] == ["sessions"]


def test_rob_overall_as_moderator_subgroups_and_meta_regression():
    import alliance_meta as am

    rows = _rows_with_rob()
    fit = am.fit(rows, method="REML", metric="z")
    moderators, subgroups, regression = am.moderator_tables(fit, ["rob_overall"], formulas=["rob_overall"],
                                                            permutations=0)
    assert sorted(subgroups.loc[subgroups["moderator"] == "rob_overall", "level"]) == ["high", "low", "moderate"]
    assert subgroups.loc[subgroups["level"] == "high", "k"].item() == 8
    assert moderators.loc[moderators["moderator"] == "rob_overall", "qm_df"].item() == 2
    assert len(regression) >= 3  # intercept and two contrasts


def _rows_with_rob(k=24, seed=5):
    rng = np.random.default_rng(seed)
    overall = np.array(["low", "moderate", "high"])[np.arange(k) % 3]
    yi = 0.25 + 0.15 * (overall == "high") + rng.normal(0, 0.05, k)
    return pd.DataFrame({"study_id": [f"s{i}" for i in range(k)], "yi": yi, "vi": 1 / (rng.integers(40, 200, k) - 3),
                         "rob_overall": overall,
                         "rob_participation": np.where(overall == "low", "low", "high")})


def test_multiverse_risk_of_bias_choice():
    from alliance_meta.analyses import multiverse

    rows = _rows_with_rob()
    config = {"methods": ["REML"], "tests": ["z"], "aggregate_methods": ["gls"], "outliers": ["none"],
              "subsets": [], "publication": ["all"], "priors": [], "minimum_k": 2}
    assert "risk_of_bias" not in multiverse.specifications(config, rows).columns  # default: all only
    specs = multiverse.specifications({**config, "risk_of_bias": ["all", "exclude_high", "low_only"]}, rows)
    assert specs["risk_of_bias"].tolist() == ["all", "exclude_high", "low_only"]
    assert multiverse.row_mask(rows, {"risk_of_bias": "exclude_high"}).sum() == 16
    assert multiverse.row_mask(rows, {"risk_of_bias": "low_only"}).sum() == 8
    table = multiverse.run_batch(specs, rows, metric="z")
    assert table["k"].tolist() == [24, 16, 8]
    # a sheet without judgements: no choice; a subset below minimum_k: skipped
    assert "risk_of_bias" not in multiverse.specifications(
        {**config, "risk_of_bias": ["all", "exclude_high"]}, rows.drop(columns="rob_overall")).columns
    few = rows.assign(rob_overall=["low"] + ["high"] * 23)
    specs = multiverse.specifications({**config, "risk_of_bias": ["all", "low_only"]}, few)
    assert specs["risk_of_bias"].tolist() == ["all"]


def test_sensitivity_without_high_risk_studies_matches_a_fit_of_the_subset():
    import alliance_meta as am
    from alliance_meta.analyses.risk_of_bias import risk_of_bias_sensitivity, study_weights

    rows = _rows_with_rob()
    fit = am.fit(rows, method="REML", metric="z")
    table = risk_of_bias_sensitivity(fit, rob.QUIPS).to_frame()
    assert table["subset"].tolist() == ["all", "exclude_high", "low_only"]
    assert table["k_studies"].tolist() == [24, 16, 8]
    assert table.loc[0, "estimate"] == pytest.approx(fit.estimate, rel=1e-12)
    kept = rows[rows["rob_overall"] != "high"]
    direct = am.fit(kept[["study_id", "yi", "vi"]], method="REML")  # judgements do not change the fit
    assert table.loc[1, "estimate"] == pytest.approx(direct.estimate, rel=1e-10)
    assert table.loc[1, "estimate"] < table.loc[0, "estimate"]  # the high-risk studies had larger effects
    three_level = am.fit(rows, method="REML", metric="z", dependence="multilevel")
    assert risk_of_bias_sensitivity(three_level, rob.QUIPS).to_frame()["k_studies"].tolist() == [24, 16, 8]
    weights = study_weights(fit)  # metafor's weights(): percent
    inverse = 1 / (rows["vi"].to_numpy() + fit.tau2)
    assert weights.to_numpy() == pytest.approx(100 * inverse / inverse.sum())


# --- report -----------------------------------------------------------------

def test_report_sentence_and_figure_titles():
    import alliance_meta as am
    from alliance_meta.analyses.risk_of_bias import risk_of_bias_sensitivity
    from alliance_meta.report.html import plot_title
    from alliance_meta.report.text import risk_of_bias_sentence

    rows = _rows_with_rob()
    fit = am.fit(rows, method="REML", metric="z")
    sensitivity = risk_of_bias_sensitivity(fit, rob.QUIPS).to_frame()
    text = risk_of_bias_sentence(rows, {"tool": "quips"}, sensitivity, "z")
    assert text.startswith("Of 24 studies, 8 were at high risk of bias (QUIPS; Hayden et al., 2013), all of them "
                           "rated high in study participation.")
    estimate = np.tanh(sensitivity.loc[1, "estimate"])
    assert f"Without the high-risk studies the pooled estimate was r = {estimate:.2f}".replace("0.", ".") in text
    assert "(k = 16)" in text
    assert risk_of_bias_sentence(rows.drop(columns=["rob_overall", "rob_participation"]), None, None, "z") == ""
    assert plot_title("results/outcome/rob_traffic_light.png") == "Risk of bias: judgements per study and domain"
    assert plot_title("rob_summary.png") == "Risk of bias: summary per domain"
    from alliance_meta.report.methods import methods_paragraph

    text = methods_paragraph({"risk_of_bias": {"tool": "rob2"}}, {"risk_of_bias"}, {})
    assert "rated with the revised Cochrane risk-of-bias tool for randomized trials (RoB 2; Sterne et al., 2019)" \
        in text and "high if any is high" in text
    assert "Risk of bias" not in methods_paragraph({}, set(), {})


def test_without_overall_judgements_and_without_rob_columns(tmp_path):
    import alliance_meta as am
    from alliance_meta.analyses.risk_of_bias import risk_of_bias_sensitivity

    rows = _rows_with_rob().drop(columns="rob_overall")
    table = risk_of_bias_sensitivity(am.fit(rows, metric="z"), rob.QUIPS).to_frame()
    assert table["k_studies"].tolist()[0] == 24 and table["estimate"].isna().tolist() == [False, True, True]
    assert "rob_overall" in table.loc[1, "rob_note"]
    path = tmp_path / "s.csv"
    _sheet(rater=["patient"]).to_csv(path, index=False)
    assert not rob.sheet_has_risk_of_bias(path)
    _quips_rows([["low"] * 6]).to_csv(path, index=False)
    assert rob.sheet_has_risk_of_bias(path)
    # a worksheet the sheet does not have (sheet_name): unknown, not "no risk-of-bias judgements"
    _quips_rows([["low"] * 6]).to_excel(tmp_path / "s.xlsx", sheet_name="Studies", index=False)
    assert rob.sheet_has_risk_of_bias(tmp_path / "s.xlsx", sheet_name="Studies")
    assert rob.sheet_has_risk_of_bias(tmp_path / "s.xlsx", sheet_name="Coded") is None



def test_rob_columns_left_empty_are_no_risk_of_bias_coding(tmp_path):
    """A sheet from the blank template keeps its rob_* columns empty (blank, spaces or an invisible character,
    NA): it is analysed as a sheet without them (no rule, no columns after validation, rob_overall not a
    moderator), with one note."""
    columns = [*QUIPS_DOMAINS, "rob_overall"]
    empty = _sheet(**{c: ["", "  \u200b", "NA"] for c in columns}).assign(rob_overall=[None, np.nan, ""])
    path = tmp_path / "s.csv"
    empty.to_csv(path, index=False)
    assert not rob.has_risk_of_bias(empty) and rob.judged_rob_columns(empty) == []
    assert not rob.sheet_has_risk_of_bias(path)
    clean, problems = validate_sheet(read_sheet(path))
    assert problems == [] and rob.rob_columns(clean.columns) == []
    notes = [note for note in clean.attrs["notes"] if "risk" in note]
    assert notes == [rob.empty_columns_note(columns)]
    assert notes[0].startswith(f"the risk-of-bias columns {', '.join(columns)} are present but empty, so no "
                               "risk-of-bias analysis is run")
    # a moderator on the empty rob_overall is a problem that says why, as for a sheet without the column
    _, problems = validate_sheet(read_sheet(path), moderators=["rob_overall"])
    assert [(p.column, p.check) for p in problems] == [("rob_overall", "moderator_column_missing")]
    assert "risk-of-bias columns" in problems[0].rule and "are empty" in problems[0].rule
    # one judgement in one column is coding: the columns stay, the empty ones too, with no such note
    empty.loc[1, "rob_attrition"] = "low"
    empty.to_csv(path, index=False)
    assert rob.sheet_has_risk_of_bias(path) and rob.judged_rob_columns(empty) == ["rob_attrition"]
    clean, problems = validate_sheet(read_sheet(path))
    assert problems == [] and rob.rob_columns(clean.columns) == columns
    assert not any("present but empty" in note for note in clean.attrs["notes"])
    _, problems = validate_sheet(read_sheet(path), moderators=["rob_overall"])
    assert problems == []


def test_glyphs_are_one_marker_collection_as_large_as_the_bold_text():
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    from alliance_meta.plots.risk_of_bias import draw_glyphs

    for glyph in ("+", "\u2212", "\u00d7", "!", "?"):
        figure, axis = plt.subplots()
        draw_glyphs(axis, [0, 1, 2], [0, 0, 0], glyph, 8.0, "white")
        assert len(axis.collections) == 1 and not axis.texts
        collection = axis.collections[0]
        path = collection.get_paths()[0]
        # matplotlib scales a custom marker so that its largest coordinate is half the marker size
        scale = 0.5 / abs(path.vertices).max() * collection.get_sizes()[0] ** 0.5
        drawn = path.get_extents()
        text = TextPath((0, 0), glyph, size=8.0, prop=FontProperties(weight="bold")).get_extents()
        assert drawn.width * scale == pytest.approx(text.width, rel=1e-9)
        assert drawn.height * scale == pytest.approx(text.height, rel=1e-9)
        assert (drawn.x0 + drawn.x1) == pytest.approx(0, abs=1e-9) and (drawn.y0 + drawn.y1) == pytest.approx(0, abs=1e-9)
        plt.close(figure)


def test_a_row_without_study_id_is_one_sheet_problem_not_a_crash():
    """The template's rob_* columns filled and one study_id left blank ("same study as above") stopped
    validation with a TypeError while it listed the studies without an overall judgement."""
    sheet = pd.DataFrame({"study_id": ["S1", None, "S2"], "r": [0.3, 0.2, 0.25], "n": [50, 60, 70],
                          "rob_participation": ["low", "low", "high"], "rob_attrition": ["low", "high", "low"],
                          "rob_prognostic_factor": ["low", "low", ""], "rob_outcome": ["low", "low", "low"],
                          "rob_confounding": ["low", "low", "low"], "rob_analysis": ["low", "low", "low"]})
    _, problems = validate_sheet(sheet, risk_of_bias={"tool": "quips"})
    assert [(problem.row, problem.column) for problem in problems] == [(3, "study_id")]


def test_judgements_as_the_tools_print_them_are_accepted():
    """ROBINS-I's own labels ("Serious risk of bias", "Critical risk of bias") were problems whose did-you-mean
    was "low"; "Moderate risk of bias" under RoB 2 was one while "Moderate" was some concerns."""
    domains = [f"rob_{d}" for d in rob.ROBINS_I.domains]
    sheet = _sheet(**{c: ["low"] * 4 for c in domains[1:]},
                   **{domains[0]: ["Serious risk of bias", "Critical risk of bias\n", "Moderate risk of bias",
                                   "Unclear risk of bias"]})
    clean, problems = validate_sheet(sheet, risk_of_bias={"tool": "robins_i"})
    assert problems == []
    assert clean[domains[0]].tolist() == ["serious", "critical", "moderate", "no information"]
    assert clean["rob_overall"].tolist() == ["serious", "critical", "moderate", "no information"]
    domains = [f"rob_{d}" for d in rob.ROB2.domains]
    clean, problems = validate_sheet(_sheet(**{c: ["Moderate risk of bias"] for c in domains}),
                                     risk_of_bias={"tool": "rob2"})
    assert problems == [] and clean.loc[0, "rob_overall"] == "some concerns"


def test_written_overall_better_than_the_domains_allow_is_a_note():
    """ROBINS-I: an overall low beside a critical domain (a slip that kept the study in the low-risk-only
    analysis and out of GRADE's high-risk weight) is named; a written overall worse than the rule is not."""
    domains = [f"rob_{d}" for d in rob.ROBINS_I.domains]
    sheet = _sheet(**{c: ["low"] * 4 for c in domains[1:]}, **{domains[0]: ["critical", "moderate", "low", "serious"]},
                   rob_overall=["Low", "serious", "low", "NI"])
    sheet["study_id"] = ["a", "b", "c", "d"]
    clean, problems = validate_sheet(sheet, risk_of_bias={"tool": "robins_i"})
    assert problems == [] and clean["rob_overall"].tolist() == ["low", "serious", "low", "no information"]  # as written
    milder = [note for note in clean.attrs["notes"] if note.startswith("rob_overall is better")]
    assert len(milder) == 1 and "2 studies (a low, the rule gives critical; d no information, the rule gives serious;" \
        in milder[0]
    rob2 = [f"rob_{d}" for d in rob.ROB2.domains]
    sheet = _sheet(**{c: ["low"] for c in rob2[1:]}, **{rob2[0]: ["some concerns"]}, rob_overall=["low"])
    clean, _ = validate_sheet(sheet, risk_of_bias={"tool": "rob2"})
    assert any("s0 low, the rule gives some concerns" in note for note in clean.attrs["notes"])


def test_written_overall_worse_than_every_low_domain_is_a_note():
    """RoB 2 and ROBINS-I define a low overall judgement as low in every domain, and their guidance lets reviewers
    judge a study worse than its worst domain only for a reason in the domains (RoB 2: some concerns in several);
    an overall high or some concerns beside domains all low (a pasted row) was kept without a word."""
    rob2 = [f"rob_{d}" for d in rob.ROB2.domains]
    sheet = _sheet(**{c: ["Low risk", "low", "low", "low"] for c in rob2[2:]},
                   **{c: ["low", "low", "some concerns", "low"] for c in rob2[:2]},
                   rob_overall=["High", "Some concerns", "high", "low"])
    clean, problems = validate_sheet(sheet, risk_of_bias={"tool": "rob2"})
    assert problems == [] and clean["rob_overall"].tolist() == ["high", "some concerns", "high", "low"]
    harsher = [note for note in clean.attrs["notes"] if note.startswith("rob_overall is other than low")]
    assert harsher == ["rob_overall is other than low for 2 studies whose every domain is low (s0 high; "
                       f"s1 some concerns; {rob.ROB2.overall_rule}): check them; every analysis uses rob_overall as "
                       "written"]
    robins = [f"rob_{d}" for d in rob.ROBINS_I.domains]
    clean, _ = validate_sheet(_sheet(**{c: ["low"] for c in robins}, rob_overall=["no information"]),
                              risk_of_bias={"tool": "robins_i"})
    assert any(note.startswith("rob_overall is other than low for 1 study whose every domain is low (s0 no "
                               "information;") for note in clean.attrs["notes"])


def test_a_dash_is_not_read_as_a_judgement():
    """A dash was read as high, while robvis (and this project's figures) draw it for some concerns / moderate:
    a reviewer copying a robvis table got high-risk studies left out of the sensitivity analysis."""
    domains = [f"rob_{d}" for d in rob.ROB2.domains]
    _, problems = validate_sheet(_sheet(**{c: ["low", "low"] for c in domains[1:]}, **{domains[0]: ["-", "\u2212"]}),
                                 risk_of_bias={"tool": "rob2"})
    assert [(p.row, p.value, p.check) for p in problems] == [(2, "-", "rob_vocabulary"),
                                                              (3, "\u2212", "rob_vocabulary")]
    assert problems[0].rule.endswith('a dash is high risk in RoB 1 tables but some concerns in robvis figures (and in '
                                     'ours): write "some concerns" or "high"')
    domains = [f"rob_{d}" for d in rob.ROBINS_I.domains]
    _, problems = validate_sheet(_sheet(**{c: ["low"] for c in domains[1:]}, **{domains[0]: ["-"]}),
                                 risk_of_bias={"tool": "robins_i"})
    assert problems[0].rule.endswith('write "moderate" or "serious" or "critical"')


@pytest.mark.parametrize("tool, ratings, expected", [
    ("rob2", ["high", None, None, "low", "low"], "high"),                      # any domain high (Sterne 2019)
    ("rob2", ["some concerns", None, "low", "low", "low"], None),              # could still be high
    ("robins_i", ["critical", None] + ["low"] * 5, "critical"),               # any domain critical (Sterne 2016)
    ("robins_i", ["serious", None] + ["low"] * 5, None),                       # serious or critical
    ("quips", ["high", None, None, None, None, None], "high"),                 # Grooten 2019: any high
    ("quips", ["moderate"] * 3 + [None] * 3, "high"),                          # three moderate
    ("quips", ["moderate"] * 2 + [None] * 4, None),
])
def test_overall_of_a_study_with_empty_domains_when_the_rule_already_gives_the_worst_level(tool, ratings, expected):
    """A study rated high in one domain and not yet in another is high risk by the tool's rule; it had no overall
    judgement, so it stayed in the analysis without high-risk studies and counted as unrated in GRADE."""
    tool = rob.tool_from_config({"tool": tool})
    assert tool.derive_overall(pd.DataFrame([ratings])).tolist() == [expected]


def test_multiverse_risk_of_bias_choice_of_a_custom_tool():
    """Custom levels good / fair / poor: exclude_high left the poor studies in (it looked for high, serious,
    critical) and low_only kept no study (it looked for low), where rob_sensitivity.csv used the tool's levels."""
    from alliance_meta.analyses import multiverse

    rows = _rows_with_rob().replace({"rob_overall": {"low": "good", "moderate": "fair", "high": "poor"}})
    tool = {"tool": "custom", "domains": ["selection"], "levels": ["good", "fair", "poor"]}
    config = {"methods": ["REML"], "tests": ["z"], "aggregate_methods": ["gls"], "outliers": ["none"],
              "subsets": [], "publication": ["all"], "priors": [], "minimum_k": 2,
              "risk_of_bias": ["all", "exclude_high", "low_only"], "risk_of_bias_tool": tool}
    specs = multiverse.specifications(config, rows)
    assert specs["risk_of_bias"].tolist() == ["all", "exclude_high", "low_only"]
    assert multiverse.row_mask(rows, {"risk_of_bias": "exclude_high"}, tool).sum() == 16
    assert multiverse.run_batch(specs, rows, metric="z", rob_tool=tool)["k"].tolist() == [24, 16, 8]


def test_am_multiverse_reads_a_custom_tools_levels():
    """am.multiverse takes the config's risk_of_bias block, as the pipeline's batches do: with good / fair / poor,
    exclude_high leaves the poor studies out and low_only keeps the good ones."""
    import alliance_meta as am

    rows = _rows_with_rob().replace({"rob_overall": {"low": "good", "moderate": "fair", "high": "poor"}})
    fit = am.fit(rows.assign(n=100), metric="z")
    tool = {"tool": "custom", "domains": ["selection"], "levels": ["good", "fair", "poor"]}
    settings = {"methods": ["REML"], "tests": ["z"], "aggregate_methods": ["gls"], "outliers": ["none"],
                "priors": [], "risk_of_bias": ["all", "exclude_high", "low_only"]}
    table = am.multiverse(fit, settings, risk_of_bias=tool).to_frame()
    assert table.set_index("risk_of_bias")["k"].to_dict() == {"all": 24, "exclude_high": 16, "low_only": 8}


CUSTOM_TOOL = {"tool": "custom", "domains": ["selection"], "levels": ["good", "fair", "poor"]}


def test_a_custom_tools_levels_order_a_rob_moderators_levels():
    """A custom tool's levels, best first as the config lists them (good, fair, poor), order a rob_* moderator's
    levels; they were sorted (fair, good, poor). Without a tool, and with a built-in one, the order is that of
    JUDGEMENT_ORDER, as before."""
    from alliance_meta.analyses.moderators.univariate import display_order

    assert rob.judgement_order(CUSTOM_TOOL) == ("good", "fair", "poor")
    assert rob.judgement_order() == rob.JUDGEMENT_ORDER
    assert display_order("rob_overall", ["fair", "good", "poor"], CUSTOM_TOOL) == [1, 0, 2]
    assert display_order("rob_selection", ["poor", "other", "good"], rob.tool_from_config(CUSTOM_TOOL)) == [2, 0, 1]
    assert display_order("rob_overall", ["high", "low", "moderate"]) == [1, 2, 0]
    for tool in (*rob.BUILT_IN.values(), *rob.BUILT_IN):  # the tool, or its name
        levels = sorted(rob.as_tool(tool).judgements)
        assert display_order("rob_overall", levels, tool) == display_order("rob_overall", levels), tool


def test_am_moderators_list_a_custom_tools_levels_in_its_order():
    """am.moderator_tables and am.moderators take the config's risk_of_bias block (as am.multiverse does): the
    subgroups of rob_overall are listed good, fair, poor; their numbers are those of the levels sorted."""
    import alliance_meta as am

    rows = _rows_with_rob().replace({"rob_overall": {"low": "good", "moderate": "fair", "high": "poor"}})
    fit = am.fit(rows, method="REML", metric="z")
    _, sorted_levels, _ = am.moderator_tables(fit, ["rob_overall"], permutations=0)
    assert sorted_levels["level"].tolist() == ["fair", "good", "poor"]  # no tool: not a built-in judgement
    _, subgroups, _ = am.moderator_tables(fit, ["rob_overall"], permutations=0, risk_of_bias=CUSTOM_TOOL)
    assert subgroups["level"].tolist() == ["good", "fair", "poor"]
    pd.testing.assert_frame_equal(subgroups.set_index("level").sort_index(), sorted_levels.set_index("level"))
    one = am.moderators(fit, "rob_overall", permutations=0, risk_of_bias=CUSTOM_TOOL)
    assert one.subgroups["level"].tolist() == ["good", "fair", "poor"]
    with pytest.raises(ValueError, match="risk_of_bias.tool must be one of"):  # checked whatever the moderators
        am.moderator_tables(fit, [], permutations=0, risk_of_bias={"tool": "cochrane"})


def test_the_traffic_light_plot_cites_a_study_as_the_sheet_does():
    """A family's traffic-light plot named its studies by the letters worked out over that family alone: Smith's
    study b was "Smith (2004)" there and "Smith (2004b)" in the forest plots, its namesake a being of the other
    family. study_judgements keeps the citation_year the conversion wrote."""
    from alliance_meta.plots.risk_of_bias import study_names

    rows = pd.DataFrame({"study_id": ["b", "c"], "authors": ["Smith", "Lee"], "year": [2004, 2010],  # SIMULATED
                         "citation_year": ["2004b", 2010], "rob_overall": ["low", "high"]})
    assert study_names(rob.study_judgements(rows, rob.QUIPS)) == ["Smith (2004b)", "Lee (2010)"]


@pytest.mark.parametrize("note", [None, "SIMULATED data"])
@pytest.mark.parametrize(("k", "rows_per_page"), [(6, 50), (12, 5)])
def test_rob_files_written_from_one_layout_are_the_bytes_of_fresh_figures(tmp_path, monkeypatch, note, k,
                                                                          rows_per_page):
    """save_rob_figures builds a one-page traffic light (and the summary plot) once for its PDF, PNG and SVG and
    does not lay a figure out again for each file's tight box (docs/performance.md): the files are byte for byte
    those of a fresh figure per file saved by matplotlib's own savefig, layout draw included; with one page, one
    build and one draw per file."""
    import matplotlib.figure

    from alliance_meta.plots.risk_of_bias import save_rob_figures, summary_plot, traffic_light
    from alliance_meta.plots.style import save_file, save_pdf_pages

    judgements = _judgements(k, rob.ROBINS_I)
    builders = {"tl": lambda paged: traffic_light(judgements, rob.ROBINS_I, note=note,
                                                  rows_per_page=rows_per_page if paged else None),
                "s": lambda paged: [summary_plot(judgements, rob.ROBINS_I, note=note)]}
    for name, figures_of in builders.items():
        expected = tmp_path / "expected"
        expected.mkdir(exist_ok=True)
        save_pdf_pages(figures_of(True), expected / f"{name}.pdf", bbox_inches="tight")
        for suffix in ("png", "svg"):
            save_file(figures_of(False)[0], expected / f"{name}.{suffix}", dpi=300, bbox_inches="tight")
        builds, draws = [], []
        draw = matplotlib.figure.Figure.draw
        monkeypatch.setattr(matplotlib.figure.Figure, "draw", lambda self, renderer: draws.append(1) or
                            draw(self, renderer))
        save_rob_figures(lambda paged: builds.append(paged) or figures_of(paged),
                         [tmp_path / f"{name}.{suffix}" for suffix in ("pdf", "png", "svg")])
        monkeypatch.undo()
        for suffix in ("pdf", "png", "svg"):
            assert (tmp_path / f"{name}.{suffix}").read_bytes() == (expected / f"{name}.{suffix}").read_bytes(), \
                (name, suffix)
        pages = 1 if name == "s" else -(-k // rows_per_page)
        assert builds == ([True] if pages == 1 else [True, False])
        built = pages + (pages > 1)  # the pages, and the figure of every study where they are more than one
        # the layout of each figure built (the note's draw, or one without a note), then one draw per file's page
        assert len(draws) == built + pages + 2, (name, len(draws))


def test_rob_files_in_any_order_leave_no_figure_open(tmp_path):
    """save_rob_figures with the PNG before the PDF (a library caller's order): the figure built for the PNG was
    replaced by the PDF's one page and never closed."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.risk_of_bias import save_rob_figures, summary_plot

    judgements = _judgements(6, rob.ROBINS_I)
    plt.close("all")
    save_rob_figures(lambda paged: [summary_plot(judgements, rob.ROBINS_I)],
                     [tmp_path / f"s.{suffix}" for suffix in ("png", "svg", "pdf")])
    assert plt.get_fignums() == []


def test_summary_plot_of_a_partly_rated_sheet_has_a_not_rated_band():
    """Some studies rated, some not (blank rob_* cells): each bar was the share of the rated studies only, and a
    domain no study rated was an empty bar. As robvis's bars count every study, every bar is now of all the
    studies, a grey "Not rated" band (and legend entry) for those without a judgement, and each bar reaches 100%.
    A fully rated sheet has no such band."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from alliance_meta.plots.risk_of_bias import summary_plot

    def bars(figure):  # each bar's right end, by its y
        ends = {}
        for patch in figure.axes[0].patches:
            if isinstance(patch, Rectangle):
                y = round(patch.get_y(), 6)
                ends[y] = max(ends.get(y, 0), patch.get_x() + patch.get_width())
        return ends

    judgements = _judgements(12, rob.QUIPS)
    full = summary_plot(judgements, rob.QUIPS)
    assert "Not rated" not in [text.get_text() for text in full.legends[0].get_texts()]
    plt.close(full)
    judgements.loc[[0, 1, 2], [*rob.QUIPS.columns]] = None  # three studies not rated at all
    judgements.loc[3, "rob_attrition"] = None
    judgements["rob_analysis"] = None  # a domain no study rated
    figure = summary_plot(judgements, rob.QUIPS)
    assert [text.get_text() for text in figure.legends[0].get_texts()][-1] == "Not rated"
    assert all(end == pytest.approx(100) for end in bars(figure).values()) and len(bars(figure)) == 7
    grey = [patch for patch in figure.axes[0].patches  # a grey fill: red, green and blue alike, neither black nor white
            if len(set(patch.get_facecolor()[:3])) == 1 and 0 < patch.get_facecolor()[0] < 1 and patch.get_width() > 0]
    widths = sorted(round(patch.get_width(), 6) for patch in grey)
    assert widths == [25.0] * 5 + [round(400 / 12, 6), 100.0]  # 3 of 12, attrition 4 of 12, analysis all
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert all(label.endswith("($k$ = 12)") for label in labels)
    percents = [text.get_text() for text in figure.axes[0].texts]
    assert "100%" in percents and "25%" in percents  # the band's labels, as the judgements'
    plt.close(figure)


def test_traffic_light_pages_are_capped_at_the_tallest_pdf_page(monkeypatch):
    """plots.rows_per_page 2000 put 1,700 studies on one traffic-light page over 200 in tall (14,400 pt), which
    Acrobat and journals refuse: a page holds at most the studies that fit style.MAX_PAGE_HEIGHT (here lowered
    to 20 in, so that 200 studies reach it), and the first page's note says why there are more pages than asked."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots import style
    from alliance_meta.plots.risk_of_bias import traffic_light

    monkeypatch.setattr(style, "MAX_PAGE_HEIGHT", 20.0, raising=False)  # fails on the pages, not here
    figures = traffic_light(_judgements(200, rob.QUIPS), rob.QUIPS, rows_per_page=2000)
    assert len(figures) > 1 and max(figure.get_figheight() for figure in figures) <= 20.0
    assert sum(len(figure.axes[0].get_yticklabels()) for figure in figures) == 200
    assert "more pages than plots.rows_per_page (2000) asks" in figures[0].pages_note
    # an equal share on each page, in one layout: not 144 and 56 studies, the last in the larger, uncompact rows
    # (as 1,700 studies were 1,644 and 56 at 200 in)
    counts = [len(figure.axes[0].get_yticklabels()) for figure in figures]
    assert max(counts) - min(counts) <= 1
    assert len({figure.axes[0].get_yticklabels()[0].get_fontsize() for figure in figures}) == 1
    for figure in figures:
        plt.close(figure)


def test_capped_traffic_light_pages_share_one_layout(monkeypatch):
    """Capped pages are in one layout, but each page had worked out its names' column and rows from its own names:
    where only the first SIMULATED studies' names are wider than the column, the first page had the 3.2-in
    column and two-line rows and the others narrow columns and compact rows (2,000 studies: 150.4 in by 5.08 in,
    then 81.7 in by 4.0 in). Every page now has the column and rows of all the names."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots import style
    from alliance_meta.plots.risk_of_bias import traffic_light

    monkeypatch.setattr(style, "MAX_PAGE_HEIGHT", 20.0, raising=False)
    judgements = _judgements(200, rob.QUIPS)
    judgements["authors"] = [f"Simulated study {i} with a very long author list Anderson-Whitfield "
                             "Bartholomew-Kingsley" if i < 10 else f"A{i}" for i in range(200)]
    figures = traffic_light(judgements, rob.QUIPS, rows_per_page=2000)
    assert len(figures) > 2 and max(figure.get_figheight() for figure in figures) <= 20.0

    def layout(figure):  # the names' column and the rows' pitch, in inches
        left, _, _, height = figure.axes[0].get_position().bounds
        return (round(left * figure.get_figwidth(), 6),
                round(height * figure.get_figheight() / len(figure.axes[0].get_yticklabels()), 6))

    assert len({layout(figure) for figure in figures}) == 1
    assert len({round(figure.get_figwidth(), 6) for figure in figures}) == 1
    for figure in figures:
        plt.close(figure)


def test_traffic_light_page_cap_reserves_only_the_note_drawn(monkeypatch, tmp_path):
    """The cap reserved 1 in for a note beneath every page, note or not: 1,645 studies, one page of 199.05 in,
    went on two pages, and the log said its page would be taller than 200 in. Only the note drawn is reserved
    (here at 20 in, style.MAX_PAGE_HEIGHT lowered: 152 studies, 19.89 in); the PDF's page (MediaBox, points) of
    148 studies with a note of three lines beneath, which fit, is within it."""
    import re

    import matplotlib.pyplot as plt

    from alliance_meta.plots import style
    from alliance_meta.plots.risk_of_bias import save_rob_figures, traffic_light

    monkeypatch.setattr(style, "MAX_PAGE_HEIGHT", 20.0, raising=False)
    judgements = _judgements(152, rob.QUIPS)
    figures = traffic_light(judgements, rob.QUIPS, rows_per_page=2000)
    assert len(figures) == 1 and 19.5 < figures[0].get_figheight() <= 20.0
    assert not getattr(figures[0], "pages_note", "")
    plt.close(figures[0])
    note = "SIMULATED data: a note\nof three\nlines"
    figures = traffic_light(judgements, rob.QUIPS, rows_per_page=2000, note=note)
    assert len(figures) == 2 and "taller than 20 in (1,440 pt)" in figures[0].pages_note
    for figure in figures:
        plt.close(figure)
    path = tmp_path / "tl.pdf"
    fewer = judgements.iloc[:148]
    save_rob_figures(lambda paged: traffic_light(fewer, rob.QUIPS, rows_per_page=2000 if paged else None, note=note),
                     [path])
    boxes = [float(height) for height in re.findall(rb"/MediaBox \[ 0 0 [\d.]+ ([\d.]+) \]", path.read_bytes())]
    assert len(boxes) == 1 and 19.0 * 72 < boxes[0] <= 20.0 * 72


def test_traffic_light_pages_of_wrapped_names_are_capped_too(monkeypatch):
    """Names broken over two lines make the rows about 0.22 in, not the compact 0.12 the cap had counted: at 20 in
    (style.MAX_PAGE_HEIGHT lowered) 200 such SIMULATED studies had pages of 144 rows, 33 in tall. The rows' pitch
    is now worked out from the wrapped names before the studies are split into pages."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots import style
    from alliance_meta.plots.risk_of_bias import traffic_light

    monkeypatch.setattr(style, "MAX_PAGE_HEIGHT", 20.0, raising=False)
    judgements = _judgements(200, rob.QUIPS)
    judgements["authors"] = [f"Simulated study {i} with a very long author list Anderson-Whitfield "
                             "Bartholomew-Kingsley" for i in range(200)]
    figures = traffic_light(judgements, rob.QUIPS, rows_per_page=2000)
    labels = [label.get_text() for figure in figures for label in figure.axes[0].get_yticklabels()]
    assert len(labels) == 200 and all("\n" in label for label in labels)  # wrapped, every study once
    assert len(figures) > 1 and max(figure.get_figheight() for figure in figures) <= 20.0
    for figure in figures:
        plt.close(figure)


def test_traffic_light_names_that_fit_its_names_column_are_not_wrapped():
    """Wrapping followed the names' column estimated from their length, not the 3.2-in column: "WOLLSTONECRAFT
    MONTGOMERY MAXWELL (2000)", about 2.6 in as drawn, broke over two lines and the figure grew from 3.09 to 3.49 in.
    Only a name wider than the column as drawn is broken; this one is on one line and the rows keep their 0.24 in."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.forest_layout import text_width
    from alliance_meta.plots.risk_of_bias import LABEL_INCHES, ROW_INCHES, traffic_light

    judgements = _judgements(6, rob.QUIPS)
    judgements["authors"] = ["WOLLSTONECRAFT MONTGOMERY MAXWELL", "A", "B", "C", "D", "E"]
    figure = traffic_light(judgements, rob.QUIPS)[0]
    name = figure.axes[0].get_yticklabels()[0].get_text()
    assert name == "WOLLSTONECRAFT MONTGOMERY MAXWELL (2000)"
    assert 2 < text_width([name], 8, plt.rcParams["font.family"]) < LABEL_INCHES - 0.1  # wide, but within
    assert figure.get_figheight() == pytest.approx(0.75 + 6 * ROW_INCHES + 0.9)
    plt.close(figure)


def test_traffic_light_breaks_long_study_names_within_its_names_column(tmp_path):
    """Names of 110 characters ran out of the 3.2-in names' column to the left and the saved (tight) figure grew to
    10.5 in, its 8-pt text printed at 5.3 pt at 7 in: a name wider than the column is broken over lines at its
    spaces and the rows grow to hold them, so the figure keeps within the page."""
    import matplotlib.pyplot as plt
    from PIL import Image

    from alliance_meta.plots.risk_of_bias import save_rob_figures, traffic_light

    judgements = _judgements(6, rob.QUIPS)
    judgements["authors"] = [f"Simulated study {i} with a very long author list Anderson-Whitfield, "
                             "Bartholomew-Kingsley, Constantinopoulos et al." for i in range(6)]
    path = tmp_path / "tl.png"
    save_rob_figures(lambda paged: traffic_light(judgements, rob.QUIPS), [path])
    with Image.open(path) as image:
        assert image.size[0] / 300 <= 7.0  # save_rob_figures writes PNGs at 300 dpi
    figure = traffic_light(judgements, rob.QUIPS)[0]
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    labels = figure.axes[0].get_yticklabels()
    assert all("\n" in label.get_text() for label in labels)
    assert min(label.get_window_extent(renderer).x0 for label in labels) >= 0  # within the figure
    boxes = sorted((label.get_window_extent(renderer) for label in labels), key=lambda box: box.y0)
    assert all(lower.y1 <= upper.y0 for lower, upper in zip(boxes, boxes[1:]))  # no two names overlap
    plt.close(figure)


def test_traffic_light_breaks_a_one_word_name_wider_than_its_names_column(tmp_path):
    """A study named by one word wider than the 3.2-in names' column (a registry id or a name run together, simulated
    here) could not be broken at a space: it ran out of the column to the left and the saved (tight) figure widened.
    It is broken between its characters as a heading is (forest_layout.wrap_breaking), the figure as wide as with
    names that wrap at their spaces."""
    import matplotlib.pyplot as plt

    from alliance_meta.plots.forest_layout import text_width
    from alliance_meta.plots.risk_of_bias import LABEL_INCHES, traffic_light

    judgements = _judgements(6, rob.QUIPS)
    word = "Wollstonecraftmontgomerymaxwellbartholomewkingsleyconstantinopoulos"
    judgements["authors"] = [word, "A", "B", "C", "D", "E"]
    family = plt.rcParams["font.family"]
    assert text_width([word], 8, family) > LABEL_INCHES  # the word alone is wider than the column
    figure = traffic_light(judgements, rob.QUIPS)[0]
    figure.savefig(tmp_path / "tl_word.png", dpi=100, bbox_inches="tight")
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    labels = figure.axes[0].get_yticklabels()
    name = labels[0].get_text()
    assert "\n" in name and name.replace("\n", "").replace(" ", "") == word + "(2000)", name
    assert all(text_width([line], 8, family) <= LABEL_INCHES for line in name.split("\n")), name
    assert min(label.get_window_extent(renderer).x0 for label in labels) >= 0  # within the figure
    judgements["authors"] = ["Wollstonecraft Montgomery Maxwell Bartholomew Kingsley Constantinopoulos", *"ABCDE"]
    spaced = traffic_light(judgements, rob.QUIPS)[0]  # a long name that wraps at its spaces
    spaced.canvas.draw()
    assert "\n" in spaced.axes[0].get_yticklabels()[0].get_text()
    assert figure.get_tightbbox(renderer).width == pytest.approx(
        spaced.get_tightbbox(spaced.canvas.get_renderer()).width, abs=0.05)  # as wide as the saved figure
    assert figure.get_figwidth() == spaced.get_figwidth()
    plt.close("all")


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # the Chinese name, on purpose
def test_traffic_light_s_undrawable_names_are_told_the_remedy_that_applies_to_it(monkeypatch, caplog):
    """The traffic light names studies by authors and year and reads neither plots.labels nor plots.font_family,
    yet the log told a study named in Chinese to use them: it now says to transliterate the sheet's authors."""
    import logging

    import matplotlib.pyplot as plt

    from alliance_meta import io as job_io
    from alliance_meta.plots.risk_of_bias import traffic_light

    monkeypatch.setattr(job_io, "NAMED_GLYPHS", set())
    monkeypatch.setattr(job_io, "NAMED_STUDIES", set())
    judgements = _judgements(4, rob.QUIPS)
    judgements["authors"] = ["\u738b", "A", "B", "C"]  # SIMULATED: Wang in Chinese
    with caplog.at_level(logging.WARNING, logger="alliance_meta"):
        traffic_light(judgements, rob.QUIPS)
    lines = [record.getMessage() for record in caplog.records if "figure text" in record.getMessage()]
    assert len(lines) == 1, lines
    assert "the name of study" in lines[0] and "has characters" in lines[0], lines[0]
    assert "transliterate the sheet's authors" in lines[0], lines[0]
    assert "plots.font_family" not in lines[0] and "plots.labels" not in lines[0], lines[0]
    plt.close("all")


def test_figure_text_of_right_to_left_script_is_drawn_as_written():
    """A left-to-right mark put before Arabic and Hebrew names changed nothing matplotlib draws (the same pixels)
    but was written into the SVG's text: the names are drawn as the sheet gives them."""
    from alliance_meta.plots.forest_layout import wrap_drawn
    from alliance_meta.plots.risk_of_bias import study_names
    from alliance_meta.plots.style import plain_text

    frame = pd.DataFrame({"study_id": ["S1", "S2"], "authors": ["محمد العلي", "כהן"], "year": [2004, 2006]})
    assert study_names(frame) == ["محمد العلي (2004)", "כהן (2006)"]
    assert plain_text("محمد العلي") == "محمد العلي"
    lines = wrap_drawn("Simulated study with a long name محمد العلي و فاطمة الزهراء (2004)", 1.0, 8, "DejaVu Sans")
    assert len(lines) > 2 and not any("\u200e" in line for line in lines)
