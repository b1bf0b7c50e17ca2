"""Small steps shared by the casework tests."""

from __future__ import annotations

from casework.effects import Effect
from casework.person_desk import PersonDesk
from storage.repositories.cases import Case
from storage.repositories.people import Person
from storage.store import Store


async def person(store: Store, user_id: int) -> Person:
    async with store.db.transaction() as tx:
        found, _ = await store.people.get_or_create(user_id, user_id, tx=tx)
    return found


async def intake(store: Store, who: Person, category: str = "police") -> Case:
    async with store.db.transaction() as tx:
        case = await store.cases.create(who.id, {"what": "x"}, category=category, tx=tx)
    return case


async def hand_off(
    store: Store, desk: PersonDesk, who: Person, code: str | None = None
) -> tuple[Case, tuple[Effect, ...]]:
    async with store.db.transaction() as tx:
        result = await desk.handoff(tx, who, code, "en")
    return result.case, result.effects


async def topic(store: Store, case: Case, topic_id: int) -> Case:
    await store.cases.update(case.id, topic_id=topic_id)
    fresh = await store.cases.get(case.id)
    assert fresh is not None
    return fresh
