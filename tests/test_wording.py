from alliance_meta.wording import plural, rows_phrase


def test_one_sheet_row_is_a_row_and_more_are_rows():
    """Notes read "dates in the year column read as years (rows 5)" for a single row."""
    assert rows_phrase([5]) == "row 5"
    assert rows_phrase([5, 9]) == "rows 5, 9"
    assert plural(1, "effect size") == "effect size" and plural(0, "row") == "rows"


def test_rows_beyond_those_shown_are_counted():
    assert rows_phrase(range(2, 8), 3) == "rows 2, 3, 4, ... (6 rows)"
    assert rows_phrase(range(2, 27), 20, rest="more").endswith("20, 21 and 5 more")
    assert rows_phrase([7], 3) == "row 7"


def test_counts_in_prose_below_ten_are_words_unless_set_beside_a_count_of_ten_or_more():
    """The report's prose wrote "imputed 9 studies", "in 4 chains", "by 2 levels": APA 2020, sec. 6.32-6.33 writes
    counts below ten in words, but in numerals where a count of ten or more is compared with them ("3 of 12")."""
    from alliance_meta.wording import apa_count, counted

    assert [apa_count(n) for n in (0, 1, 9, 10, 1234)] == ["zero", "one", "nine", "10", "1,234"]
    assert apa_count(3, (12,)) == "3" and apa_count(3, (8, 4)) == "three" and apa_count(float("nan")) == "\u2013"
    assert counted(1, "study", "studies", words=True) == "one study"
    assert counted(2, "effect size", words=True, compared=(2, 10)) == "2 effect sizes"
    assert counted(2, "chain") == "2 chains"  # a statistic's count (k = 2 studies) keeps its numerals
    # none in words is "no": "no cells were coded differently", not "zero cells were"
    assert counted(0, "cell was", "cells were", words=True) == "no cells were"
    assert counted(0, "row", words=True, compared=(12,)) == "no rows" and counted(0, "row") == "0 rows"


def test_a_multiplier_of_two_is_twice_and_others_are_numerals():
    """The Methods' retry read "repeated once with 2 times the draws": a multiplier in numerals (APA 2020, sec.
    6.32), but twice for 2."""
    from alliance_meta.wording import times

    assert [times(factor) for factor in (2, 3, 10, 1000)] == ["twice", "3 times", "10 times", "1,000 times"]


def test_probabilities_and_p_values_never_round_to_an_impossible_0_or_1():
    """APA 2020, sec. 6.36: "p < .001", and alike "> .99" for a posterior probability of .9999999998 (the demo's
    "posterior probability 1.00") and "< .01" for one of 2e-10 (the BMA figure's "P(r = 0) = .00"); a share that
    can be exactly 0 or 1 says so (``exact_ends``)."""
    from alliance_meta.wording import apa_p, apa_p_clause, apa_probability

    values = (0.0, 2e-10, 0.004, 0.05, 0.5, 0.995, 0.9999999998, 1.0)
    assert [apa_probability(v) for v in values] == ["< .01"] * 3 + [".05", ".50"] + ["> .99"] * 3
    assert [apa_probability(v, 2, exact_ends=True) for v in (0.0, 0.004, 1.0)] == [".00", "< .01", "1.00"]
    assert [apa_p(v) for v in (0.0004, 0.001, 0.0424, 0.999, 0.9996, 1.0)] == \
        ["< .001", ".001", ".042", ".999", "> .999", "> .999"]
    assert [apa_p_clause(v) for v in (0.0004, 0.0424, 1.0)] == ["p < .001", "p = .042", "p > .999"]
    assert apa_p_clause(float("nan"), "$p$", "n/a") == "$p$ = n/a"
    # the p of a statistic of 0 (a selection model at the null) is 1: the caller says so, it is not p formatted exactly
    assert apa_p(1.0, null_statistic=True) == "1.000" and apa_p(float("nan"), null_statistic=True) == "\u2013"
    assert apa_p_clause(0.99999999, "$p$", null_statistic=True) == "$p$ = 1.000"


def test_no_workflow_log_line_writes_a_count_before_a_fixed_plural_noun():
    """The jobs' logs said "1 rows", "1 families" and "batch(es)" (now wording.counted); the risk-of-bias sensitivity
    job still logged "low_only: k = 1 studies". A count formatted straight before a plural noun is one of those."""
    import re
    from pathlib import Path

    scripts = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
    fixed = re.compile(r"(?<!of )%d (studies|rows|effect sizes|families|tables|images|plots|specifications|batches)\b")
    found = [f"{path.name}: {match.group(0)}" for path in sorted(scripts.glob("*.py"))
             for match in fixed.finditer(path.read_text(encoding="utf-8"))]
    assert found == []
