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
