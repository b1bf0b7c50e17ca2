"""The bot's keeper: a decision's effects go into the outbox in the decision's transaction.

Within an update, the row is removed once the handler has carried the effects out (in the
update's closing transaction, or with a later batch when that is all the update has left to
write). Rows left behind (a crash, a stop halfway, a handler that failed) are carried out by
``bot/outbox_replay.py``: at start, and then every little while for rows no update holds.
Where a decision is the update's only one, its transaction also marks the update handled, so a
restart sends what was decided instead of deciding again.

Each row names its lane (the person its messages reach, or the staff side) and is sealed under
that person's data key, so erasing them makes a forgotten row unreadable too."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from bot.effect_codec import decode, encode
from bot.update_unit import UpdateUnit
from casework.effects import Effect, ToTopic, reaches_person
from flows.events import Perform
from flows.model import ActionKind
from storage.repositories.base import Tx
from storage.store import Store

EFFECTS = "effects"  # casework's effects, with where staff replies go
STEP = "step"  # a conversation step's outcome, carried out as the person's handler would
STAFF_LANE = "staff"


def _open_unit() -> UpdateUnit | None:
    """The running update's unit, while its decisions may still keep rows."""
    unit = UpdateUnit.current()
    if unit is None or unit.update_id is None or unit.closed:
        return None
    return unit


class KeptEffects:
    def __init__(self, store: Store) -> None:
        self.store = store
        # Rows an update (or a replay) is carrying out now: never picked up by another replay.
        self.in_flight: set[str] = set()

    async def keep(self, tx: Tx, effects: Sequence[Effect]) -> None:
        unit = _open_unit()
        if unit is None:
            return  # outside an update (a timer): its own retry keeps it
        if effects:
            person = await self._person_reached(tx, effects)
            body = {"effects": encode(list(effects)), "origin": unit.origin}
            await self._add(tx, unit, EFFECTS, person or STAFF_LANE, body, person)
        if unit.decides and not unit.handled and unit.update_id is not None:
            await self.store.inbox.done(unit.update_id, tx)
            unit.handled = True

    async def keep_step(
        self, tx: Tx, payload: dict[str, Any], person: str, *, sealed_for_person: bool = True
    ) -> None:
        """A conversation step's outcome (already encoded), in the step's transaction. An
        erasure's row is sealed under the master key: it must still open after the person's
        key is destroyed, to finish clearing their chat."""
        unit = _open_unit()
        if unit is not None:
            sealed_for = person if sealed_for_person else None
            await self._add(tx, unit, STEP, person, payload, sealed_for)

    async def _add(  # noqa: PLR0917 - one private helper for the two kinds of row
        self,
        tx: Tx,
        unit: UpdateUnit,
        kind: str,
        lane: str,
        body: dict[str, Any],
        sealed_for: str | None,
    ) -> None:
        """One row, in ``tx``: held by the update (in flight) until it is carried out."""
        head = {"kind": kind, "lane": lane, "update_id": unit.update_id, "at": time.time()}
        row_id = await self.store.outbox.add({**head, **body}, tx, person=sealed_for)
        unit.kept.append(row_id)
        self.in_flight.add(row_id)

    async def hold_back(self, tx: Tx, person_id: str) -> None:
        """The person is leaving (Quick exit, erasure), in ``tx``: rows left for them by
        earlier updates keep only what the staff side must know, so that no replay puts
        anything on the phone after the exit."""
        for row_id, payload in await self.store.outbox.pending(frozenset(self.in_flight), tx):
            if payload is None or payload.get("lane") != person_id:
                continue
            remaining = staff_side(payload)
            if not remaining:
                await self.store.outbox.remove([row_id], tx)
                continue
            kept = {**payload, "kind": EFFECTS, "effects": encode(remaining)}
            await self.store.outbox.replace(row_id, kept, tx, person=person_id)

    def settle(self, row_ids: Iterable[str]) -> None:
        """These rows are no longer being carried out (removed, or left for a replay)."""
        self.in_flight.difference_update(row_ids)

    async def _person_reached(self, tx: Tx, effects: Sequence[Effect]) -> str | None:
        for effect in effects:
            person = getattr(effect, "person_id", None)
            if isinstance(person, str):
                return person
            case_id = getattr(effect, "case_id", None)
            if isinstance(case_id, str):
                return await self.store.cases.person_of_case(case_id, tx)
        return None


def staff_side(payload: dict[str, Any]) -> list[Effect]:
    """What a kept row must still do once its person has left: only what the staff side must
    know (a step's notices to the topic, a referral request), nothing for the phone."""
    if payload.get("kind") == EFFECTS:
        effects = decode(payload.get("effects", []), {})
        return [e for e in effects if not reaches_person(e)]
    if payload.get("kind") != STEP:
        return []
    kept = [e for e in decode(payload.get("case_effects", []), {}) if not reaches_person(e)]
    for perform in decode(payload.get("after_commit", []), {}):
        if isinstance(perform, Perform) and perform.action is ActionKind.REFER:
            kept.append(referral_request(perform))
    return kept


def referral_request(perform: Perform) -> ToTopic:
    """The topic's notice that the person asked, through the menus, to be referred."""
    params = perform.params
    return ToTopic(
        params.get("case_id", ""),
        "staff.referral_requested",
        {"need": params.get("need") or "-", "province": params.get("province") or "-"},
    )
