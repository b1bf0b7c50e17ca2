"""Writes of the anonymous statistics, each in the caller's transaction: the per-case row
(``case_statistics``), the counts no longer tied to a row (``statistics_folded``) and their
monthly sums (``statistics_counts``) change together, so the sums always equal a recount
(``storage.statistics.recount``) and nothing counted in a month that has ended ever moves
(the model is in ``storage.statistics``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from storage.repositories.base import Tx
from storage.statistics import COUNTED_IN, DIMENSIONS, NOT_RECORDED, Key, contributions

OPENING = ("category", "province", "perpetrator", "incident_month")
RECORDED_LATER = ("outcome", "closed_month", "referral_result", "referral_month")
ADD_COUNT = (
    "INSERT INTO statistics_counts (month, dimension, value, count) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (month, dimension, value) DO UPDATE SET count = count + excluded.count"
)


async def add_counts(tx: Tx, changes: Mapping[Key, int]) -> None:
    """Add each change (which may be negative) to its monthly count."""
    rows = [(*key, change) for key, change in changes.items() if change]
    if rows:
        await tx.executemany(ADD_COUNT, rows)


async def insert_row(tx: Tx, statistics_id: str, opened_month: str, **opening: str | None) -> None:
    """A new case's row, counted in the month it was opened."""
    row = {"id": statistics_id, "opened_month": opened_month, **dict.fromkeys(OPENING)}
    row.update({k: v for k, v in opening.items() if k in OPENING})
    row.update(dict.fromkeys(RECORDED_LATER))
    await tx.execute(
        "INSERT INTO case_statistics (id, opened_month, category, province, perpetrator, "
        "incident_month) VALUES (:id, :opened_month, :category, :province, :perpetrator, "
        ":incident_month)",
        row,
    )
    await add_counts(tx, Counter(contributions(row)))


async def _row(tx: Tx, statistics_id: str) -> dict[str, str | None] | None:
    rows = await tx.execute_fetchall(
        "SELECT * FROM case_statistics WHERE id = ?", (statistics_id,)
    )
    return dict(rows[0]) if rows else None


async def correct_opening(
    tx: Tx, statistics_id: str, month: str, changes: Mapping[str, str | None]
) -> None:
    """Opening values changed in ``month``: counted only while the month the case was opened
    is still the current one (a published month keeps the values it was published with)."""
    row = await _row(tx, statistics_id)
    fields = {k: v for k, v in changes.items() if k in OPENING}
    if row is None or not fields or str(row["opened_month"]) < month:
        return
    delta = Counter(contributions(row | fields))
    delta.subtract(contributions(row))
    sets = ", ".join(f"{name} = ?" for name in fields)
    await tx.execute(
        f"UPDATE case_statistics SET {sets} WHERE id = ?",  # noqa: S608 - names from OPENING
        (*fields.values(), statistics_id),
    )
    await add_counts(tx, delta)


async def fold(tx: Tx, keys: list[Key]) -> None:
    """Counts that stay in their months without a per-case row (``statistics_folded``);
    ``statistics_counts`` already holds them."""
    if keys:
        await tx.executemany(
            "INSERT INTO statistics_folded (month, dimension, value, count) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (month, dimension, value) DO UPDATE SET count = count + 1",
            keys,
        )


async def record_result(
    tx: Tx, statistics_id: str, dimension: str, value: str | None, month: str
) -> None:
    """An outcome or a referral result recorded in ``month``, counted there. One recorded
    earlier in the same month is replaced; one counted in a month that has ended stays counted
    there (folded) and the new one is counted in ``month`` too."""
    row = await _row(tx, statistics_id)
    if row is None:
        return
    column, month_column = DIMENSIONS[dimension], COUNTED_IN[dimension]
    delta = Counter({(month, dimension, value or NOT_RECORDED): 1})
    earlier = row[month_column]
    if earlier is not None:
        before = (earlier, dimension, row[column] or NOT_RECORDED)
        if earlier >= month:
            delta[before] -= 1
        else:
            await fold(tx, [before])
    await tx.execute(
        f"UPDATE case_statistics SET {column} = ?, {month_column} = ? WHERE id = ?",  # noqa: S608 - constant columns
        (value, month, statistics_id),
    )
    await add_counts(tx, delta)


async def fold_rows(tx: Tx, statistics_ids: list[str]) -> None:
    """Replace per-case rows by their counts, each in the month it is counted in: the
    published tables keep their numbers, and no row ties the case's attributes together."""
    for statistics_id in statistics_ids:
        row = await _row(tx, statistics_id)
        if row is None:
            continue
        await fold(tx, contributions(row))
        await tx.execute("DELETE FROM case_statistics WHERE id = ?", (statistics_id,))
