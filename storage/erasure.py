"""Erase a person: every row about them goes in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.repositories.base import Tx
from storage.statistics import DIMENSIONS, NOT_RECORDED
from storage.store import Store


async def fold_statistics(tx: Tx, statistics_ids: list[str]) -> None:
    """Replace per-case statistics rows by per-dimension counts (``statistics_folded``): the
    published tables keep their numbers, and no row ties the case's attributes together."""
    for statistics_id in statistics_ids:
        cursor = await tx.execute("SELECT * FROM case_statistics WHERE id = ?", (statistics_id,))
        row = await cursor.fetchone()
        await cursor.close()
        if row is None:
            continue
        for dimension, column in DIMENSIONS.items():
            value = row[column] if row[column] is not None else NOT_RECORDED
            await tx.execute(
                "INSERT INTO statistics_folded (opened_month, dimension, value, count) "
                "VALUES (?, ?, ?, 1) ON CONFLICT (opened_month, dimension, value) "
                "DO UPDATE SET count = count + 1",
                (row["opened_month"], dimension, str(value)),
            )
        await tx.execute("DELETE FROM case_statistics WHERE id = ?", (statistics_id,))


@dataclass(frozen=True)
class ErasureResult:
    """What was found, and what the bot must still do outside the database."""

    found: bool
    topic_ids: list[int] = field(default_factory=list)
    case_codes: list[str] = field(default_factory=list)
    referral_codes: list[str] = field(default_factory=list)
    chat_id: int | None = None


async def erase_person(store: Store, pseudonym: str) -> ErasureResult:
    """Delete the person's row; foreign keys cascade to flow runs, cases, case events,
    referrals, scheduled actions and sealed archives. Their cases' per-case statistics rows are
    folded into anonymous counts. The WAL is then truncated so deleted pages leave it too."""
    async with store.db.transaction() as tx:
        person = await store.people.find_by_pseudonym(pseudonym, tx)
        if person is None:
            return ErasureResult(found=False)
        cases = await store.cases.for_person(person.id, tx)
        referral_codes: list[str] = []
        for case in cases:
            referral_codes += [r.code for r in await store.referrals.for_case(case.id, tx)]
        statistics_ids = [
            row[0]
            for row in await (
                await tx.execute(
                    "SELECT statistics_id FROM cases WHERE person_id = ? "
                    "AND statistics_id IS NOT NULL",
                    (person.id,),
                )
            ).fetchall()
        ]
        await tx.execute("DELETE FROM people WHERE id = ?", (person.id,))
        await fold_statistics(tx, statistics_ids)
    await store.db.checkpoint()
    return ErasureResult(
        found=True,
        topic_ids=[c.topic_id for c in cases if c.topic_id is not None],
        case_codes=[c.code for c in cases],
        referral_codes=referral_codes,
        chat_id=person.chat_id,
    )
