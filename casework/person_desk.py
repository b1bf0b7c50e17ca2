"""Everything the person does that concerns a case: asking for a counsellor, writing in the
chat, leaving it (Quick exit, /end), coming back, crisis words, and what a block allows."""

from __future__ import annotations

from dataclasses import dataclass

from casework import transitions
from casework.effects import (
    CopyToTopic,
    Effect,
    Keyboard,
    MirrorEdit,
    OpenTopic,
    ShowFlow,
    ToCoordinators,
    ToPerson,
    ToTopic,
)
from casework.keeper import Keeper, KeepNothing
from casework.model import CaseStatus, Presence
from casework.policy import Clock, Policy, utc_now
from storage.repositories.base import Tx
from storage.repositories.cases import Case
from storage.repositories.people import Person
from storage.store import Store

LOCATION_WARNING = "location_warning"


@dataclass(frozen=True)
class PersonState:
    """What the adapter needs to route one private update."""

    person: Person | None
    blocked: bool
    in_chat: Case | None  # the case whose counsellor chat the person is in


@dataclass(frozen=True)
class Handoff:
    case: Case
    effects: tuple[Effect, ...]


class PersonDesk:
    def __init__(
        self,
        store: Store,
        policy: Policy,
        clock: Clock = utc_now,
        keeper: Keeper | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.keeper: Keeper = keeper or KeepNothing()

    async def state(self, user_id: int) -> PersonState:
        person = await self.store.people.find(user_id)
        if person is None:
            return PersonState(None, False, None)
        blocked = await self.store.blocks.active(person.id) is not None
        in_chat = None if blocked else await self.store.cases.relayed_for_person(person.id)
        return PersonState(person, blocked, in_chat)

    async def is_blocked(self, user_id: int) -> bool:
        person = await self.store.people.find(user_id)
        return person is not None and await self.store.blocks.active(person.id) is not None

    # ------------------------------------------------------------ hand-off
    async def handoff(
        self, tx: Tx, person: Person, case_code: str | None, language: str
    ) -> Handoff:
        """The person agreed to talk to a counsellor about ``case_code`` (the case their
        intake just recorded), or about their newest open case, or a new one. Inside the
        caller's transaction."""
        case = await self._target(tx, person, case_code)
        effects: list[Effect] = []
        if case is None:
            case = await self.store.cases.create(person.id, {}, status="new", tx=tx)
            await self.store.events.add(case.id, "opened", "person", None, tx)
        # At most one counsellor chat per person: any other one is left.
        for other in await self.store.cases.for_person(person.id, tx):
            if other.id != case.id and other.presence == Presence.IN_CHAT:
                await transitions.move(self.store, tx, other, presence=Presence.LEFT)
                effects.append(ToTopic(other.id, "staff.person_moved", {"code": case.code}))
        came_back = case.presence == Presence.LEFT
        if case.assigned_alias is not None:
            case = await transitions.move(
                self.store,
                tx,
                case,
                status=CaseStatus.ASSIGNED,
                presence=Presence.IN_CHAT,
                language=language,
            )
        else:
            case = await transitions.wait(
                self.store,
                tx,
                case,
                now=self.clock(),
                alert_minutes=self.policy.queue_alert_minutes,
                language=language,
            )
            case = await transitions.move(self.store, tx, case, presence=Presence.IN_CHAT)
        await self.store.events.add(case.id, "handoff_requested", "person", None, tx)
        effects.append(OpenTopic(case.id))
        if came_back:
            effects.append(ToTopic(case.id, "staff.person_back"))
        return Handoff(case, tuple(effects))

    async def _target(self, tx: Tx, person: Person, case_code: str | None) -> Case | None:
        if case_code:
            chosen = await self.store.cases.get_by_code(case_code, tx)
            if (
                chosen is not None
                and chosen.person_id == person.id
                and chosen.status != CaseStatus.CLOSED
            ):
                return chosen
        return await self.store.cases.open_for_person(person.id, tx)

    # ------------------------------------------------------------ in the chat
    async def message(
        self, case: Case, chat_id: int, message_id: int, reply_to: int | None, location: bool
    ) -> list[Effect]:
        """The person wrote in the counsellor chat: copied to the topic. A first location
        gets a warning instead (it shows where they are)."""
        if await self.store.relay.topic_copy(case.id, message_id) is not None:
            return []  # already relayed: this update is being handled again after a restart
        if location:
            async with self.store.db.transaction() as tx:
                events = await self.store.events.for_case(case.id, tx)
                if not any(e.kind == LOCATION_WARNING for e in events):
                    await self.store.events.add(case.id, LOCATION_WARNING, "bot", None, tx)
                    warning: list[Effect] = [ToPerson(case.person_id, "handoff.location_warning")]
                    await self.keeper.keep(tx, warning)
                    return warning
        target = None
        if reply_to is not None:
            target = await self.store.relay.topic_copy(case.id, reply_to)
        return [CopyToTopic(case.id, chat_id, message_id, target)]

    async def edit(self, case: Case, message_id: int, text: str) -> list[Effect]:
        return [MirrorEdit(case.id, message_id, text, from_person=True)]

    async def leave(self, person_id: str, *, ended: bool) -> list[Effect]:
        """Quick exit (``ended=False``) or /end: the person is out of the chat; the counsellor
        is told, and nothing reaches the phone until the person comes back."""
        async with self.store.db.transaction() as tx:
            case = await self.store.cases.relayed_for_person(person_id, tx)
            if case is None:
                return []
            await transitions.move(self.store, tx, case, presence=Presence.LEFT)
            kind = "person_ended_chat" if ended else "person_left"
            await self.store.events.add(case.id, kind, "person", None, tx)
            effects: list[Effect] = [ToTopic(case.id, "staff.person_left")]
            if ended:
                effects = [
                    ToTopic(case.id, "staff.person_ended"),
                    ToPerson(person_id, "handoff.ended"),
                    ShowFlow(person_id, "main"),
                ]
            await self.keeper.keep(tx, effects)
        return effects

    # ------------------------------------------------------------ crisis
    async def crisis(self, user_id: int, chat_id: int, kind: str) -> list[Effect]:
        """Crisis words: the emergency numbers at once. A blocked person gets only those; for
        everyone else the case is urgent, at the top of the queue with its alert timer, and
        coordinators are told."""
        async with self.store.db.transaction() as tx:
            person, _ = await self.store.people.get_or_create(user_id, chat_id, tx=tx)
            if await self.store.blocks.active(person.id, tx) is not None:
                return [ToPerson(person.id, f"crisis.{kind}.no_staff")]
            if not self.policy.staff_enabled:
                return [ToPerson(person.id, f"crisis.{kind}.no_staff")]
            case = await self.store.cases.open_for_person(person.id, tx)
            if case is None:
                case = await self.store.cases.create(
                    person.id, {}, status="new", urgent=True, tx=tx
                )
                await self.store.events.add(case.id, "opened", "person", None, tx)
            if case.assigned_alias is None:
                case = await transitions.wait(
                    self.store,
                    tx,
                    case,
                    now=self.clock(),
                    alert_minutes=self.policy.queue_alert_minutes,
                    urgent=1,
                    language=person.language,
                )
            else:
                case = await transitions.move(
                    self.store, tx, case, urgent=1, language=person.language
                )
            await self.store.events.add(case.id, "crisis", "person", kind, tx)
            keyboard = None if case.presence == Presence.IN_CHAT else Keyboard.CRISIS_TALK
            effects: list[Effect] = [
                ToPerson(person.id, f"crisis.{kind}", keyboard=keyboard),
                OpenTopic(case.id),
                ToCoordinators("staff.crisis_alert", {"code": case.code, "category": kind}),
            ]
            await self.keeper.keep(tx, effects)
        return effects
