"""Anonymous statistics for advocacy, with a publication model that cannot be differenced.

Sources: ``statistics_counts`` (month, dimension, value, count), kept up to date in the same
transaction as every write of the two tables it sums (``storage.statistics_rows``), so a
table reads a few hundred counts and never scans the cases:

- ``case_statistics``: one row per case, no link to a person, no free text;
- ``statistics_folded``: counts no longer tied to a row: the counts of an erased person's
  cases (a per-case row is folded into counts when its person is erased, so the table of a
  past month does not shrink and the erased person's combination of category, province and
  perpetrator is gone), and a referral result replaced after its month ended.

:func:`recount` sums those two tables directly; the counts must always equal it.

The model:

- **Each dimension is counted in one month, fixed once that month ends.** Category,
  province, perpetrator and the month itself in the month the case was opened (with the
  values it had when that month ended: a later correction is not counted); the outcome in the
  month the case was closed; the referral result in the month it was recorded (a result
  replaced in a later month is counted again there, the earlier month keeping its count).
  A case not closed yet has no outcome to count, nor a case without a referral result. Every
  change therefore lands in the current month, and **a released month's table never
  changes**: not when a case is closed or a referral answered later, nor when a person is
  erased (their counts stay in the same months, folded).
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
from types import MappingProxyType
from typing import Any, Protocol

from storage.db import DatabaseError

# Each dimension and the column of ``case_statistics`` that holds its value.
DIMENSIONS = {
    "category": "category",
    "perpetrator": "perpetrator",
    "province": "province",
    "month": "opened_month",
    "outcome": "outcome",
    "referral_result": "referral_result",
}
# The column that holds the month each dimension is counted in (NULL: not counted yet).
COUNTED_IN: Mapping[str, str] = MappingProxyType(
    {
        "category": "opened_month",
        "perpetrator": "opened_month",
        "province": "opened_month",
        "month": "opened_month",
        "outcome": "closed_month",
        "referral_result": "referral_month",
    }
)
# What the text tables say of the dimensions not counted in the month a case was opened.
COUNTED_IN_NOTE: Mapping[str, str] = MappingProxyType(
    {"outcome": "counted in the month closed", "referral_result": "counted in the month recorded"}
)
NOT_RECORDED = "not_recorded"
Key = tuple[str, str, str]  # (month, dimension, value)


class StatisticsRow(Protocol):
    """A ``case_statistics`` row: a ``sqlite3.Row`` or a plain dict."""

    def __getitem__(self, column: str) -> Any: ...


def contributions(row: StatisticsRow) -> list[Key]:
    """The counts one per-case row adds: one per dimension whose month is recorded."""
    keys = []
    for dimension, column in DIMENSIONS.items():
        month = row[COUNTED_IN[dimension]]
        if month is not None:
            keys.append((str(month), dimension, str(row[column] or NOT_RECORDED)))
    return keys


def recount(connection: sqlite3.Connection) -> Counter[Key]:
    """Every count summed directly from ``case_statistics`` and ``statistics_folded`` (a full
    scan: what ``statistics_counts`` must always equal)."""
    counts: Counter[Key] = Counter()
    for dimension, column in DIMENSIONS.items():
        month = COUNTED_IN[dimension]
        rows = connection.execute(
            f"SELECT {month}, coalesce({column}, ?), count(*) FROM case_statistics "  # noqa: S608 - constant columns
            f"WHERE {month} IS NOT NULL GROUP BY 1, 2",
            (NOT_RECORDED,),
        )
        for when, value, count in rows:
            counts[(str(when), dimension, str(value))] += int(count)
    folded = connection.execute("SELECT month, dimension, value, count FROM statistics_folded")
    for when, dimension, value, count in folded:
        counts[(str(when), str(dimension), str(value))] += int(count)
    return +counts


def stored_counts(connection: sqlite3.Connection) -> Counter[Key]:
    """The whole ``statistics_counts`` table (zeros left out)."""
    rows = connection.execute(
        "SELECT month, dimension, value, count FROM statistics_counts WHERE count != 0"
    )
    return Counter({(str(m), str(d), str(v)): int(n) for m, d, v, n in rows})


def require_counts(connection: sqlite3.Connection) -> None:
    """Refuse a database that predates ``statistics_counts`` (opened read-only, unmigrated)."""
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'statistics_counts'"
    ).fetchone()
    if found is None:
        raise DatabaseError(
            "the database predates statistics counts (migration 0008_statistics_counts): "
            "start clgbt once to upgrade it"
        )


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
            "SELECT min(month) FROM statistics_counts WHERE count != 0"
        ).fetchone()
        low = str(row[0]) if row and row[0] else high
    return (low, high) if low <= high else None


def monthly_counts(
    connection: sqlite3.Connection, dimension: str, low: str, high: str
) -> dict[tuple[str, str], int]:
    """``(month, value) -> count`` for one dimension, read from ``statistics_counts``."""
    rows = connection.execute(
        "SELECT month, value, count FROM statistics_counts "
        "WHERE month BETWEEN ? AND ? AND dimension = ? AND count != 0",
        (low, high, dimension),
    )
    return {(str(month), str(value)): int(count) for month, value, count in rows}


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
    require_counts(connection)
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
        note = COUNTED_IN_NOTE.get(table.dimension)
        lines.append(f"{table.dimension} ({note})" if note else table.dimension)
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
