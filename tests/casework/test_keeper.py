"""Every decision that changes a case hands its effects to the keeper inside the decision's
own transaction: the keeper sees the decision already made, and if keeping fails, nothing of
the decision is recorded (so a crash can never leave a decision without what it must send)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pytest

from casework.effects import Effect
from casework.person_desk import PersonDesk
from casework.staff_desk import StaffDesk
from knowledge.catalogue import TextCatalogue
from storage.repositories.base import Tx
from storage.repositories.cases import Case
from storage.repositories.people import Person
from storage.store import Store
from tests.casework.conftest import DARA, POLICY, SOPHEA
from tests.casework.helpers import hand_off, person, topic
from tests.storage.conftest import FakeClock


@dataclass
class RecordingKeeper:
    store: Store
    kept: list[tuple[Effect, ...]] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)  # (status, relay) seen
    fail: bool = False

    async def keep(self, tx: Tx, effects: Sequence[Effect]) -> None:
        rows = await tx.execute_fetchall("SELECT status, relay FROM cases ORDER BY rowid")
        self.statuses.extend((str(r["status"]), str(r["relay"])) for r in rows)
        if self.fail:
            raise RuntimeError("the disk is full")
        self.kept.append(tuple(effects))


@dataclass
class Desks:
    store: Store
    keeper: RecordingKeeper
    people: PersonDesk
    staff: StaffDesk
    who: Person
    case: Case

    async def fresh(self) -> Case:
        return await self.store.cases.get(self.case.id) or self.case


@pytest.fixture
async def desks(store: Store, clock: FakeClock, catalogue: TextCatalogue) -> Desks:
    keeper = RecordingKeeper(store)
    people = PersonDesk(store, POLICY, clock, keeper=keeper)
    staff = StaffDesk(store, POLICY, catalogue, "en", clock, keeper=keeper)
    who = await person(store, 301)
    case, _ = await hand_off(store, people, who)
    case = await topic(store, case, 31)
    return Desks(store, keeper, people, staff, who, case)


Decision = Callable[[Desks], Awaitable[list[Effect]]]


async def claimed(d: Desks) -> Case:
    await d.staff.claim(DARA, d.case)
    d.keeper.kept.clear()
    return await d.fresh()


async def claim(d: Desks) -> list[Effect]:
    return await d.staff.claim(DARA, d.case)


async def release(d: Desks) -> list[Effect]:
    return await d.staff.release(DARA, await claimed(d))


async def transfer(d: Desks) -> list[Effect]:
    return await d.staff.transfer(DARA, await claimed(d), "Visal")


async def note(d: Desks) -> list[Effect]:
    return await d.staff.note(DARA, await claimed(d), "called the landlord")


async def summary(d: Desks) -> list[Effect]:
    return await d.staff.summary(DARA, await claimed(d))


async def close(d: Desks) -> list[Effect]:
    return await d.staff.close(DARA, await claimed(d), "resolved")


async def block(d: Desks) -> list[Effect]:
    return await d.staff.block(DARA, await claimed(d), "3 insults")


async def unblock(d: Desks) -> list[Effect]:
    await d.staff.block(DARA, await claimed(d), "3 insults")
    d.keeper.kept.clear()
    return await d.staff.unblock(SOPHEA, d.case.code)


async def leave(d: Desks) -> list[Effect]:
    return await d.people.leave(d.who.id, ended=True)


async def crisis(d: Desks) -> list[Effect]:
    return await d.people.crisis(301, 301, "self_harm")


async def location(d: Desks) -> list[Effect]:
    return await d.people.message(d.case, 301, 9, None, location=True)


DECISIONS: list[Decision] = [
    claim,
    release,
    transfer,
    note,
    summary,
    close,
    block,
    unblock,
    leave,
    crisis,
    location,
]


@pytest.mark.parametrize("decide", DECISIONS, ids=lambda d: d.__name__)
async def test_each_decision_keeps_exactly_what_it_returns(desks: Desks, decide: Decision) -> None:
    effects = await decide(desks)
    assert effects, "a decision that changes the case always says so"
    assert desks.keeper.kept == [tuple(effects)]


async def test_the_keeper_sees_the_decision_already_made(desks: Desks) -> None:
    await desks.staff.claim(DARA, desks.case)
    assert desks.keeper.statuses == [("assigned", "1")]


async def test_a_failure_to_keep_undoes_the_decision(desks: Desks) -> None:
    desks.keeper.fail = True
    with pytest.raises(RuntimeError):
        await desks.staff.claim(DARA, desks.case)
    case = await desks.fresh()
    assert case.status == "waiting" and case.assigned_alias is None
    events = [e.kind for e in await desks.store.events.for_case(case.id)]
    assert "claimed" not in events


async def test_a_refusal_changes_nothing_and_keeps_nothing(desks: Desks) -> None:
    await desks.staff.release(DARA, desks.case)  # not claimed: refused
    await desks.staff.message(DARA, 31, 50, None)  # a relay: the inbox keeps it, not the outbox
    assert desks.keeper.kept == []
