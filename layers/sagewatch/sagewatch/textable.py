"""Terminal tables (pure): one header style for every table, and a narrow layout for narrow terminals.

A table is a grid (UPPERCASE headers over a dashed rule, two spaces between columns, no trailing spaces) when it
fits the width it is given, or when no width is given (output to a pipe or a file keeps one line per row, for
grep and cut). Otherwise each row becomes a record: its leading cells on one line, the other cells as
`HEADER value` pairs on indented lines packed to the width, and long cells on lines of their own (empty and
"-" cells are left out).
"""

from __future__ import annotations

import textwrap
from collections.abc import Collection, Sequence

NARROW_BELOW = 120  # the width under which the scan's wide grid can never fit
GAP = "  "
PAIR_GAP = "   "
EMPTY = ("", "-")  # cells that say nothing: left out of the narrow layout


def grid(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Collection[int] = ()) -> list[str]:
    """Aligned columns; the columns in `right` (figures) are right-aligned."""
    heads = [h.upper() for h in headers]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(heads)]

    def line(cells: Sequence[str]) -> str:
        return GAP.join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(heads), GAP.join("-" * w for w in widths), *(line(r) for r in rows)]


def stacked(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    width: int,
    lead: int,
    alone: Collection[str] = (),
) -> list[str]:
    """Each row as a record: the first `lead` cells on one line, then `HEADER value` pairs packed into indented
    lines of at most `width` characters; headers in `alone` start a line of their own. Cells that say nothing
    (EMPTY) are left out."""
    heads = [h.upper() for h in headers]
    out: list[str] = []
    for row in rows:
        first = GAP.join([row[0].rstrip(), *(c for c in row[1:lead] if c.strip() not in EMPTY)])  # keeps its indent
        indent = " " * (len(first) - len(first.lstrip()) + 2)
        out += wrap(first, width)
        current = ""
        for head, cell in zip(heads[lead:], row[lead:], strict=True):
            if cell.strip() in EMPTY:
                continue
            pair = f"{head} {cell.strip()}"
            if head in alone or (current and len(indent) + len(current) + len(PAIR_GAP) + len(pair) > width):
                if current:
                    out += wrap(indent + current, width)
                current = pair
                if head in alone:
                    out += wrap(indent + current, width)
                    current = ""
                continue
            current = f"{current}{PAIR_GAP}{pair}" if current else pair
        if current:
            out += wrap(indent + current, width)
    return out


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    width: int | None = None,
    lead: int = 1,
    right: Collection[int] = (),
    alone: Collection[str] = (),
) -> list[str]:
    """The grid when it fits `width` (or no width is given), else the stacked records."""
    lines = grid(headers, rows, right=right)
    if width is None or max(len(line) for line in lines) <= width:
        return lines
    return stacked(headers, rows, width=width, lead=lead, alone=alone)


def wrap(line: str, width: int | None) -> list[str]:
    """`line` broken into lines of at most `width` characters, continuations indented under its own indent
    (a name longer than the width is broken too: nothing runs past the edge)."""
    if width is None or len(line) <= width:
        return [line.rstrip()]
    indent = " " * (len(line) - len(line.lstrip()))
    more = indent + "  "
    if len(more) >= width - 10:  # too deep to indent further: wrap flush
        indent = more = ""
    return textwrap.wrap(
        line.strip(),
        width=width,
        initial_indent=indent,
        subsequent_indent=more,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [""]


def fit(lines: Sequence[str], width: int | None) -> list[str]:
    """Every line of a rendered text within `width` (tables are laid out already; this wraps the prose)."""
    return [piece for line in lines for piece in wrap(line, width)]
