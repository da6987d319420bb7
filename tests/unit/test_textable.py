"""Terminal tables: one header style, a grid when it fits, records when it does not, nothing past the edge."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sagewatch.textable import fit, grid, stacked, table, wrap

HEADERS = ["severity", "kind", "endpoint", "save/mo", "recommendation"]
ROWS = [
    ["high", "idle", "genai-sandbox", "$1,106", "delete-endpoint"],
    ["low", "oversized", "x" * 90, "$12", "resize-variant -> 2 x ml.g5.xlarge (auto scaling 2-4)"],
]


def test_the_grid_has_upper_case_headers_a_rule_and_no_trailing_space():
    lines = grid(HEADERS, ROWS, right=[3])
    assert lines[0].split() == ["SEVERITY", "KIND", "ENDPOINT", "SAVE/MO", "RECOMMENDATION"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert all(line == line.rstrip() for line in lines)
    assert lines[2].index("$1,106") + len("$1,106") == lines[3].index("$12") + len("$12")  # figures right-aligned


def test_no_width_keeps_one_line_per_row():
    assert table(HEADERS, ROWS, width=None) == grid(HEADERS, ROWS)


def test_a_table_too_wide_becomes_records_that_fit():
    lines = table(HEADERS, ROWS, width=60, lead=3, alone=["RECOMMENDATION"])
    assert all(len(line) <= 60 and line == line.rstrip() for line in lines), lines
    assert lines[0] == "high  idle  genai-sandbox"
    assert lines[1] == "  SAVE/MO $1,106"
    assert lines[2] == "  RECOMMENDATION delete-endpoint"
    text = "\n".join(lines)
    assert "RECOMMENDATION resize-variant -> 2 x ml.g5.xlarge" in text
    assert "".join(text.split()).count("x" * 90) == 1  # a long name is broken across lines, never cut


def test_a_row_that_fits_keeps_the_grid():
    assert table(HEADERS, ROWS[:1], width=100) == grid(HEADERS, ROWS[:1])


def test_cells_that_say_nothing_are_left_out_of_records():
    lines = stacked(["name", "a", "b"], [["  AllTraffic", "-", ""]], width=20, lead=1)
    assert lines == ["  AllTraffic"]  # and the indent of a nested row is kept


def test_prose_wraps_under_its_own_indent():
    assert wrap("  " + "word " * 10, 20) == ["  word word word", "    word word word", "    word word word", "    word"]
    assert fit(["short", "x" * 45], 20) == ["short", "x" * 20, "  " + "x" * 18, "  " + "x" * 7]


@given(
    st.lists(st.lists(st.text(min_size=0, max_size=60), min_size=5, max_size=5), min_size=1, max_size=6),
    st.integers(min_value=40, max_value=200),
)
def test_nothing_ever_runs_past_the_edge(rows, width):
    rows = [[" ".join(c.split()) for c in r] for r in rows]  # cells are single lines
    lines = fit(table(HEADERS, rows, width=width, lead=2, alone=["RECOMMENDATION"]), width)
    assert all(len(line) <= width for line in lines)
