"""Anonymous statistics for advocacy, with a publication model that cannot be differenced.

Sources: ``case_statistics`` (one row per case, no link to a person, no free text) and
``statistics_folded`` (the per-dimension counts of erased people's cases: a per-case row is
folded into counts when its person is erased, so the table of a past month does not shrink
and the erased person's combination of category, province and perpetrator is gone).

The model:

- **Closed periods only.** A table covers complete months, never the current one (nor a
  future one): a case opened today never shows, so two exports a day apart are identical.
- **Every value listed.** Every value a caller names (the taxonomy's categories, provinces,
  ...), every month of the range and ``not_recorded`` is listed, zeros included; a zero is
  below the threshold and shown as ``<k`` like any small count, so ``<k`` never proves that a
  case exists.
- **Monthly releases.** Each month's table is suppressed on its own: primary suppression
  below the threshold, secondary so that a table never hides exactly one cell (the smallest
  other cell is hidden too), and a total below the threshold hides the whole table.
- **Ranges are functions of monthly releases.** A range's cell is the sum of its monthly
  cells, shown only if it is shown in every month of the range; a range's total likewise. A
  range table therefore says nothing that the monthly tables do not, so adjacent or
  overlapping ranges cannot be differenced into a hidden cell, and summing the hidden cells of
  a range gives nothing either: a month never hides one cell alone, so a range never does.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

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


def last_complete_month(today: date) -> str:
    """The latest month that has ended on ``today``."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def months_between(start: str, end: str) -> list[str]:
    months: list[str] = []
    year, month = int(start[:4]), int(start[5:7])
    while f"{year:04d}-{month:02d}" <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return months


def publishable_range(
    connection: sqlite3.Connection, start: str | None, end: str | None, today: date
) -> tuple[str, str] | None:
    """The complete months asked for: ``end`` is capped at the last complete month, ``start``
    defaults to the first month with data. ``None`` when no complete month is left."""
    last = last_complete_month(today)
    high = min(end or last, last)
    low = start
    if low is None:
        row = connection.execute(
            "SELECT min(m) FROM (SELECT min(opened_month) AS m FROM case_statistics "
            "UNION ALL SELECT min(opened_month) FROM statistics_folded)"
        ).fetchone()
        low = str(row[0]) if row and row[0] else high
    return (low, high) if low <= high else None


def monthly_counts(
    connection: sqlite3.Connection, dimension: str, low: str, high: str
) -> dict[tuple[str, str], int]:
    """``(month, value) -> count`` for one dimension, per-case rows and folded counts added."""
    column = DIMENSIONS[dimension]
    counts: Counter[tuple[str, str]] = Counter()
    rows = connection.execute(
        f"SELECT opened_month, coalesce({column}, ?) AS value, count(*) "  # noqa: S608 - column from a constant
        "FROM case_statistics WHERE opened_month BETWEEN ? AND ? GROUP BY opened_month, value",
        (NOT_RECORDED, low, high),
    )
    for month, value, count in rows:
        counts[(str(month), str(value))] += int(count)
    folded = connection.execute(
        "SELECT opened_month, value, count FROM statistics_folded "
        "WHERE dimension = ? AND opened_month BETWEEN ? AND ?",
        (dimension, low, high),
    )
    for month, value, count in folded:
        counts[(str(month), str(value))] += int(count)
    return dict(counts)


def combine(tables: list[Table], dimension: str) -> Table:
    """A range's table from its monthly tables: sums, hidden wherever any month hides."""
    values = sorted({cell.value for table in tables for cell in table.cells})
    cells = []
    for value in values:
        monthly = [c for table in tables for c in table.cells if c.value == value]
        cells.append(Cell(value, sum(c.count for c in monthly), any(c.hidden for c in monthly)))
    return Table(
        dimension,
        tuple(cells),
        sum(t.total for t in tables),
        not tables or any(t.total_hidden for t in tables),
    )


def build_tables(
    connection: sqlite3.Connection,
    threshold: int,
    start: str | None = None,
    end: str | None = None,
    *,
    today: date | None = None,
    universe: Mapping[str, Iterable[str]] | None = None,
) -> list[Table]:
    """One table per dimension for the complete months from ``start`` to ``end`` (see the
    module's publication model). ``universe`` names the values to list even when zero."""
    today = today or datetime.now(UTC).date()
    period = publishable_range(connection, start, end, today)
    if period is None:
        return [Table(name, (), 0, True) for name in DIMENSIONS]
    low, high = period
    months = months_between(low, high)
    tables = []
    for name in DIMENSIONS:
        counts = monthly_counts(connection, name, low, high)
        if name == "month":
            monthly = [
                suppress({month: counts.get((month, month), 0)}, threshold, name)
                for month in months
            ]
        else:
            values = {NOT_RECORDED, *(universe or {}).get(name, ()), *(v for _, v in counts)}
            monthly = [
                suppress({v: counts.get((month, v), 0) for v in values}, threshold, name)
                for month in months
            ]
        tables.append(combine(monthly, name))
    return tables


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
