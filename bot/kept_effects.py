"""The bot's keeper: a decision's effects go into the outbox in the decision's transaction.

Within an update, the row is removed in the update's closing transaction, once the handler
has carried the effects out; rows left by a crash are carried out on the next start
(``bot/outbox_replay.py``). Where a decision is the update's only one, its transaction also
marks the update handled, so a restart sends what was decided instead of deciding again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.effect_codec import encode
from bot.update_unit import UpdateUnit
from casework.effects import Effect
from storage.repositories.base import Tx
from storage.store import Store

EFFECTS = "effects"  # casework's effects, with where staff replies go
STEP = "step"  # a conversation step's outcome, carried out as the person's handler would


class KeptEffects:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def keep(self, tx: Tx, effects: Sequence[Effect]) -> None:
        unit = UpdateUnit.current()
        if unit is None or unit.update_id is None or unit.closed:
            return  # outside an update (a timer): its own retry keeps it
        if effects:
            payload = {"kind": EFFECTS, "effects": encode(list(effects)), "origin": unit.origin}
            unit.kept.append(await self.store.outbox.add(payload, tx))
        if unit.decides and not unit.handled:
            await self.store.inbox.done(unit.update_id, tx)
            unit.handled = True

    async def keep_step(self, tx: Tx, payload: dict[str, Any]) -> None:
        """A conversation step's outcome (already encoded), in the step's transaction."""
        unit = UpdateUnit.current()
        if unit is None or unit.update_id is None or unit.closed:
            return
        unit.kept.append(await self.store.outbox.add({"kind": STEP, **payload}, tx))
