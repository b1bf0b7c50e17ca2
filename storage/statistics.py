"""Anonymous statistics for advocacy, from ``case_statistics`` (one row per case, no link to a
person, no free text), with small-cell suppression.

Every table is one dimension with a total. A count below the threshold is shown as ``<k``.
Because a published total minus the published cells gives back a single hidden cell, a table
never hides exactly one cell: the smallest other cell is hidden too (secondary suppression).
A total below the threshold hides the whole table. Periods are whole months, so two queries
cannot be differenced down to a single day.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

DIMENSIONS = {
    "category": "category",
    "perpetrator": "perpetrator",
    "province": "province",
    "month": "opened_month",
    "outcome": "outcome",
    "referral_result": "referral_result",
}
NOT_RECORDED = "not_recorded"


@dataclass(frozen=True)
class Cell:
    value: str
    count: int
    hidden: bool

    def shown(self, threshold: int) -> str:
        return f"<{threshold}" if self.hidden else str(self.count)


@dataclass(frozen=True)
class Table:
    dimension: str
    cells: tuple[Cell, ...]
    total: int
    total_hidden: bool


def suppress(counts: dict[str, int], threshold: int, dimension: str = "") -> Table:
    """Primary suppression below ``threshold``, then secondary so that no single hidden cell
    can be recovered from the total."""
    total = sum(counts.values())
    if total < threshold:
        cells = tuple(Cell(v, c, True) for v, c in sorted(counts.items()))
        return Table(dimension, cells, total, True)
    hidden = {value for value, count in counts.items() if count < threshold}
    if len(hidden) == 1 and len(counts) > 1:
        visible = sorted((count, value) for value, count in counts.items() if value not in hidden)
        hidden.add(visible[0][1])
    cells = tuple(Cell(value, counts[value], value in hidden) for value in sorted(counts))
    return Table(dimension, cells, total, False)


def month_range(start: str | None, end: str | None) -> tuple[str, str]:
    return start or "0000-01", end or "9999-12"


def raw_counts(
    connection: sqlite3.Connection,
    dimension: str,
    start: str | None = None,
    end: str | None = None,
) -> dict[str, int]:
    column = DIMENSIONS[dimension]
    low, high = month_range(start, end)
    rows = connection.execute(
        f"SELECT coalesce({column}, ?) AS value, count(*) FROM case_statistics "  # noqa: S608 - column from a constant
        "WHERE opened_month BETWEEN ? AND ? GROUP BY value",
        (NOT_RECORDED, low, high),
    )
    return {str(value): int(count) for value, count in rows}


def build_tables(
    connection: sqlite3.Connection,
    threshold: int,
    start: str | None = None,
    end: str | None = None,
) -> list[Table]:
    return [
        suppress(raw_counts(connection, name, start, end), threshold, name) for name in DIMENSIONS
    ]


def tables_from_rows(rows: Iterable[dict[str, str | None]], threshold: int) -> list[Table]:
    """The same tables from plain rows (for tests and generated data)."""
    materialised = list(rows)
    tables = []
    for name, column in DIMENSIONS.items():
        counts = Counter(str(row.get(column) or NOT_RECORDED) for row in materialised)
        tables.append(suppress(dict(counts), threshold, name))
    return tables


def render_text(tables: list[Table], threshold: int, title: str) -> str:
    lines = [title]
    for table in tables:
        lines.append("")
        lines.append(f"{table.dimension}")
        for cell in table.cells:
            lines.append(f"  {cell.value:<28} {cell.shown(threshold):>6}")
        total = f"<{threshold}" if table.total_hidden else str(table.total)
        lines.append(f"  {'total':<28} {total:>6}")
    return "\n".join(lines)


def render_csv(tables: list[Table], threshold: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["dimension", "value", "count"])
    for table in tables:
        for cell in table.cells:
            writer.writerow([table.dimension, cell.value, cell.shown(threshold)])
        writer.writerow(
            [table.dimension, "total", f"<{threshold}" if table.total_hidden else table.total]
        )
    return buffer.getvalue()
