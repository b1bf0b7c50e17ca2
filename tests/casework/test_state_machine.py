"""Random sequences of what people and staff do, with the case rules checked after every step.

Invariants: nothing reaches a person who left, is blocked or erased; at most one open case is
in a counsellor chat per person; the case in the chat is the one last consented; every waiting
case has a queue timer; no case or presence change outside the transition tables."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from casework.effects import Effect, OpenTopic, person_of
from casework.model import (
    CASE_TRANSITIONS,
    PRESENCE_TRANSITIONS,
    CaseStatus,
    Presence,
)
from casework.person_desk import PersonDesk
from casework.policy import Actor
from casework.staff_desk import StaffDesk
from knowledge.catalogue import TextCatalogue
from storage.erasure import erase_person
from storage.keyring import Keyring
from storage.queue import QUEUE_ALERT
from storage.store import Store
from tests.casework.conftest import DARA, POLICY, SOPHEA, VISAL

T = TypeVar("T")
USERS = (1, 2)
ACTORS = (DARA, VISAL, SOPHEA)
CATALOGUE = TextCatalogue.load()


class CaseRules(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.directory = tempfile.TemporaryDirectory(prefix="clgbt-casework-")
        self.store = self.run(
            Store.open(Path(self.directory.name) / "rules.sqlite3", Keyring.generate())
        )
        self.people = PersonDesk(self.store, POLICY)
        self.staff = StaffDesk(self.store, POLICY, CATALOGUE, "en")
        self.topics = itertools.count(100)
        self.last_code: dict[int, str | None] = {u: None for u in USERS}
        self.consented: dict[int, str | None] = {u: None for u in USERS}
        self.erased: set[str] = set()
        self.snapshot = self.cases()

    def teardown(self) -> None:
        self.run(self.store.close())
        self.loop.close()
        self.directory.cleanup()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    # ------------------------------------------------------------ observing
    def cases(self) -> dict[str, tuple[str, int, str]]:
        async def read() -> dict[str, tuple[str, int, str]]:
            rows = await self.store.db.fetchall("SELECT id, status, relay, person_id FROM cases")
            return {r["id"]: (r["status"], int(r["relay"]), r["person_id"]) for r in rows}

        return self.run(read())

    def person_id(self, user: int) -> str | None:
        found = self.run(self.store.people.find(user))
        return None if found is None else found.id

    def reachable(self) -> set[str]:
        """People a staff action may reach right now: in a chat and not blocked."""
        ids = set()
        for status, presence, person in self.cases().values():
            blocked = self.run(self.store.blocks.active(person)) is not None
            if status != "closed" and presence == Presence.IN_CHAT and not blocked:
                ids.add(person)
        return ids

    def record(self, effects: list[Effect] | tuple[Effect, ...]) -> None:
        for effect in effects:
            if isinstance(effect, OpenTopic):
                case = self.run(self.store.cases.get(effect.case_id))
                if case is not None and case.topic_id is None:
                    self.run(self.store.cases.update(case.id, topic_id=next(self.topics)))

    def staff_step(self, effects: list[Effect], reachable_before: set[str]) -> None:
        owners = {k: v[2] for k, v in self.cases().items()}
        for effect in effects:
            target = person_of(effect, owners)
            if target is not None:
                assert target in reachable_before, f"{effect} reached someone out of the chat"
                assert target not in self.erased
        self.record(effects)

    def open_case(self, user: int, index: int) -> Any:
        person = self.person_id(user)
        if person is None:
            return None
        cases = [c for c in self.run(self.store.cases.for_person(person))]
        return cases[index % len(cases)] if cases else None

    # ------------------------------------------------------------ the person
    @rule(user=st.sampled_from(USERS))
    def intake(self, user: int) -> None:
        async def create() -> str:
            async with self.store.db.transaction() as tx:
                person, _ = await self.store.people.get_or_create(user, user, tx=tx)
                case = await self.store.cases.create(person.id, {"what": "x"}, tx=tx)
            return case.code

        if self.blocked(user):
            return
        self.last_code[user] = self.run(create())

    def blocked(self, user: int) -> bool:
        person = self.person_id(user)
        return person is not None and self.run(self.store.blocks.active(person)) is not None

    @rule(user=st.sampled_from(USERS), with_code=st.booleans())
    def hand_off(self, user: int, with_code: bool) -> None:
        if self.blocked(user):
            return

        async def go() -> tuple[str, tuple[Effect, ...]]:
            async with self.store.db.transaction() as tx:
                person, _ = await self.store.people.get_or_create(user, user, tx=tx)
                result = await self.people.handoff(
                    tx, person, self.last_code[user] if with_code else None, "en"
                )
            return result.case.id, result.effects

        case_id, effects = self.run(go())
        if with_code and self.last_code[user] is not None:
            chosen = self.run(self.store.cases.get_by_code(self.last_code[user] or ""))
            if chosen is not None and chosen.status != "closed":
                assert case_id == chosen.id, "handed off another case than the one agreed"
        self.consented[user] = case_id
        self.record(effects)

    @rule(user=st.sampled_from(USERS), ended=st.booleans())
    def leave(self, user: int, ended: bool) -> None:
        person = self.person_id(user)
        if person is not None:
            self.record(self.run(self.people.leave(person, ended=ended)))

    @rule(user=st.sampled_from(USERS))
    def crisis(self, user: int) -> None:
        blocked = self.blocked(user)
        effects = self.run(self.people.crisis(user, user, "violence"))
        if blocked:
            assert all(not isinstance(e, OpenTopic) for e in effects)
        self.record(effects)

    @rule(user=st.sampled_from(USERS), index=st.integers(0, 3))
    def write(self, user: int, index: int) -> None:
        state = self.run(self.people.state(user))
        if state.in_chat is not None:
            self.run(self.people.message(state.in_chat, user, 1, None, location=False))

    @rule(user=st.sampled_from(USERS))
    def erase(self, user: int) -> None:
        person = self.run(self.store.people.find(user))
        if person is None:
            return
        self.run(erase_person(self.store, person.pseudonym))
        self.erased.add(person.id)
        self.last_code[user] = None
        self.consented[user] = None

    # ------------------------------------------------------------ staff
    @rule(
        actor=st.sampled_from(ACTORS),
        user=st.sampled_from(USERS),
        index=st.integers(0, 3),
        action=st.sampled_from(
            ("claim", "release", "transfer", "close", "note", "summary", "refer", "block")
        ),
    )
    def staff_acts(self, actor: Actor, user: int, index: int, action: str) -> None:
        case = self.open_case(user, index)
        if case is None:
            return
        before = self.reachable()
        argument = {"transfer": "Visal", "close": "resolved", "refer": "rock", "note": "n"}
        effects = self.run(self.staff.act(actor, case, action, argument.get(action, "")))
        self.staff_step(effects, before)

    @rule(actor=st.sampled_from(ACTORS), user=st.sampled_from(USERS), index=st.integers(0, 3))
    def staff_writes(self, actor: Actor, user: int, index: int) -> None:
        case = self.open_case(user, index)
        if case is None or case.topic_id is None:
            return
        before = self.reachable()
        self.staff_step(self.run(self.staff.message(actor, case.topic_id, 5, None)), before)

    @precondition(lambda self: any(self.blocked(u) for u in USERS))
    @rule(user=st.sampled_from(USERS))
    def unblock(self, user: int) -> None:
        case = self.open_case(user, 0)
        if case is not None:
            self.run(self.staff.unblock(SOPHEA, case.code))

    # ------------------------------------------------------------ invariants
    @invariant()
    def transitions_stay_in_the_tables(self) -> None:
        now = self.cases()
        for case_id, (status, presence, _) in now.items():
            if case_id not in self.snapshot:
                continue
            old_status, old_presence, _ = self.snapshot[case_id]
            if old_status != status:
                assert (CaseStatus(old_status), CaseStatus(status)) in CASE_TRANSITIONS
            if old_presence != presence:
                assert (Presence(old_presence), Presence(presence)) in PRESENCE_TRANSITIONS
        self.snapshot = now

    @invariant()
    def one_chat_per_person_and_the_one_consented(self) -> None:
        in_chat: dict[str, list[str]] = {}
        for case_id, (status, presence, person) in self.cases().items():
            if status != "closed" and presence == Presence.IN_CHAT:
                in_chat.setdefault(person, []).append(case_id)
        for person, cases in in_chat.items():
            assert len(cases) == 1, "two counsellor chats at once"
            user = next((u for u in USERS if self.person_id(u) == person), None)
            assert user is not None and cases[0] == self.consented[user]

    @invariant()
    def every_waiting_case_has_a_queue_timer(self) -> None:
        pending = {a.case_id for a in self.run(self.store.schedule.pending(QUEUE_ALERT))}
        for case_id, (status, _, _) in self.cases().items():
            if status == CaseStatus.WAITING:
                assert case_id in pending, "a waiting case without its queue alert"


CaseRules.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_case_rules = CaseRules.TestCase
