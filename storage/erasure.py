"""Erase a person: every row about them goes in one transaction, then their data key is
destroyed (crypto-shredding, ``storage.person_keys``), so that no copy of those rows made
before (a backup, a freed page, the WAL) can be opened again, even with the master key."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.person_keys import KeyDestroyed
from storage.repositories.base import Tx
from storage.statistics_rows import fold_rows
from storage.store import Store


async def delete_archives_of(store: Store, person_id: str, tx: Tx) -> int:
    """Delete the sealed archives whose owner tag is the person's (computed with their key)."""
    try:
        key = store.person_keys.get(person_id)
    except KeyDestroyed:
        return 0
    cursor = await tx.execute(
        "SELECT id, case_code, owner_tag FROM sealed_archives WHERE owner_tag IS NOT NULL"
    )
    rows = list(await cursor.fetchall())
    await cursor.close()
    mine = [r["id"] for r in rows if bytes(r["owner_tag"]) == key.tag_archive(r["case_code"])]
    for archive_id in mine:
        await tx.execute("DELETE FROM sealed_archives WHERE id = ?", (archive_id,))
    return len(mine)


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
    referrals, scheduled actions and blocks; their sealed archives are found by their owner
    tag and deleted. Their cases' per-case statistics rows are folded into anonymous counts,
    each in the month it is counted in (``storage.statistics_rows.fold_rows``).
    The WAL is then truncated so deleted pages leave it too, and last the person's data key is
    destroyed (after the rows, so a crash in between leaves an orphan key for the purge, never
    a live person without a key)."""
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
        await delete_archives_of(store, person.id, tx)
        await tx.execute("DELETE FROM people WHERE id = ?", (person.id,))
        await fold_rows(tx, statistics_ids)
    await store.db.checkpoint()
    store.person_keys.destroy(person.id)
    return ErasureResult(
        found=True,
        topic_ids=[c.topic_id for c in cases if c.topic_id is not None],
        case_codes=[c.code for c in cases],
        referral_codes=referral_codes,
        chat_id=person.chat_id,
    )
