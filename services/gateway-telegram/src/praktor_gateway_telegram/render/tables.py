"""Markdown tables drawn as monospaced text (spec §11.12, step 1).

Telegram has no tables, so a table is shown in a code block: columns as wide
as their widest cell (counted in characters), cells left-aligned and padded
with spaces, columns joined with `` │ ``, and a rule of ``─`` joined with
``─┼─`` under the header. Lines carry no trailing spaces (invisible, and
Telegram would trim them at the end of a message anyway).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_BOLD = re.compile(r"\*\*(.+?)\*\*")


def clean_cell(source: str) -> str:
    """A cell as written, trimmed, without ``**bold**`` markers and pipe escapes."""
    return _BOLD.sub(r"\1", source.strip()).replace("\\|", "|")


def draw_table(rows: Sequence[Sequence[str]]) -> str:
    """The table as lines of text; ``rows[0]`` is the header."""
    if not rows:
        return ""
    columns = max(len(row) for row in rows)
    widths = [0] * columns
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def line(row: Sequence[str]) -> str:
        cells = list(row) + [""] * (columns - len(row))
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return " │ ".join(padded).rstrip()

    lines = [line(rows[0]), "─┼─".join("─" * width for width in widths)]
    lines.extend(line(row) for row in rows[1:])
    return "\n".join(lines)
