"""Erase a person: every row about them goes in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.store import Store


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
    referrals, scheduled actions and sealed archives. Anonymous statistics rows, which hold no
    link to the person, stay. The WAL is then truncated so deleted pages leave it too."""
    async with store.db.transaction() as tx:
        person = await store.people.find_by_pseudonym(pseudonym, tx)
        if person is None:
            return ErasureResult(found=False)
        cases = await store.cases.for_person(person.id, tx)
        referral_codes: list[str] = []
        for case in cases:
            referral_codes += [r.code for r in await store.referrals.for_case(case.id, tx)]
        await tx.execute("DELETE FROM people WHERE id = ?", (person.id,))
    await store.db.checkpoint()
    return ErasureResult(
        found=True,
        topic_ids=[c.topic_id for c in cases if c.topic_id is not None],
        case_codes=[c.code for c in cases],
        referral_codes=referral_codes,
        chat_id=person.chat_id,
    )
