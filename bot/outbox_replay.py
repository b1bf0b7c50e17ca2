"""Carry out outbox rows no update is carrying out: at start, what the last run decided but did
not finish sending; while running, every little while, what a failed handler left.

Each row was written in the transaction of its decision and is removed once carried out. Rows
are carried out oldest first, one lane (the person their messages reach, or the staff side) in
order, different lanes side by side (a pause for one chat does not hold up the others). Before
a Quick exit or an erasure in the same lane, nothing more is put on the person's phone (the
exit would not clear it). A row whose update is still unhandled in the inbox is dropped: the
update is handled again and decides again. A relay is not copied twice: a copy already recorded
is skipped. Anything else may be sent a second time only if the process died between sending
it and removing its row, the same window as a call whose answer was lost. A row that cannot be
opened (its person was erased) or is older than ``sending.give_up_after_seconds`` is removed and
reported, never retried forever."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import ExtBot

from bot.conversation import LEAVING, Outcome
from bot.delivery import Delivery, Origin
from bot.effect_codec import EffectCodecError, decode
from bot.handlers.person import carry_out, exit_line, quick_exit
from bot.kept_effects import EFFECTS, STEP, staff_side
from bot.logs import EventLogger
from bot.outbox import SendingStopped, is_stopping
from bot.rendering import ChatWriter
from bot.services import Services
from flows.events import Perform

_log = EventLogger("outbox")
Row = tuple[str, dict[str, Any]]


class OutboxReplay:
    def __init__(self, bot: ExtBot[None], services: Services) -> None:
        self.bot = bot
        self.services = services
        self.kept = services.kept
        self.partners = {p.id: p for p in services.content.partners}

    async def run(self) -> int:
        """Carry out every row no one holds; returns how many were taken up."""
        store = self.services.store
        rows = await store.outbox.pending(skip=frozenset(self.kept.in_flight))
        if not rows:
            return 0
        unhandled = await store.inbox.pending_ids()
        # No await from here to the claim: an update may have kept rows meanwhile (they are
        # in flight now, and theirs).
        rows = [(r, p) for r, p in rows if r not in self.kept.in_flight]
        give_up = self.services.settings.sending.give_up_after_seconds
        lanes: dict[str, list[Row]] = defaultdict(list)
        dropped: list[str] = []
        for row_id, payload in rows:
            if payload is None:
                _log.warning("outbox_row_unreadable")  # its person was erased
                dropped.append(row_id)
            elif payload.get("update_id") in unhandled:
                dropped.append(row_id)  # its update is handled again, and decides again
            elif time.time() - float(payload.get("at") or 0) > give_up:
                _log.error("outbox_row_given_up", None, kind=str(payload.get("kind")))
                dropped.append(row_id)
            else:
                lanes[str(payload.get("lane") or "staff")].append((row_id, payload))
        taken = [row_id for lane in lanes.values() for row_id, _ in lane]
        claimed = [*taken, *dropped]
        self.kept.in_flight.update(claimed)
        try:
            await store.outbox.remove(dropped)
            await asyncio.gather(*(self._lane(lane) for lane in lanes.values()))
        finally:
            self.kept.settle(claimed)
        _log.info("outbox_replayed", rows=len(taken))
        return len(taken)

    async def _lane(self, rows: list[Row]) -> None:
        last_exit = max((n for n, (_, p) in enumerate(rows) if _leaves(p)), default=-1)
        for n, (row_id, payload) in enumerate(rows):
            if is_stopping(self.bot):
                return  # this row and the lane's next ones stay for the next start
            try:
                await self._one(payload, before_exit=n < last_exit)
            except SendingStopped:
                return
            except EffectCodecError as exc:
                _log.error("outbox_row_unreadable", exc)
            except (RetryAfter, NetworkError) as exc:  # timeouts, 5xx, 429 ...
                if not isinstance(exc, BadRequest):
                    _log.warning("outbox_row_postponed", error=type(exc).__name__)
                    continue  # the next round tries again (until the row is too old)
                _log.error("outbox_row_failed", exc)  # Telegram refuses it: never again
            except Exception as exc:
                # Retrying would fail the same way (and send its first messages again).
                _log.error("outbox_row_failed", exc)
            if is_stopping(self.bot):
                return  # cut short by the stop: kept (what it did send may come twice)
            await self.services.store.outbox.remove([row_id])

    async def _one(self, payload: dict[str, Any], *, before_exit: bool) -> None:
        services = self.services
        if before_exit:  # the person left after: nothing more goes on their phone
            origin = Origin.from_kept(payload.get("origin"))
            await Delivery(self.bot, services).deliver(staff_side(payload), origin, replaying=True)
            return
        if payload.get("kind") == EFFECTS:
            effects = list(decode(payload.get("effects", []), self.partners))
            origin = Origin.from_kept(payload.get("origin"))
            await Delivery(self.bot, services).deliver(effects, origin, replaying=True)
            return
        if payload.get("kind") != STEP:
            raise EffectCodecError("unknown row")
        person = await services.store.people.get(str(payload.get("person_id")))
        if person is None:
            # Erased since. An erasure interrupted after the data went: finish clearing the
            # phone (the chat id is kept in the row for this alone); nothing else reaches them.
            await self._finish_erasure(payload)
            return
        outcome = Outcome(
            person,
            decode(payload.get("effects", []), self.partners),
            _int(payload.get("screen_message_id")),
            bool(payload.get("ended")),
            str(payload.get("language") or person.language),
            _str(payload.get("case_code")),
            decode(payload.get("after_commit", []), self.partners),
            decode(payload.get("case_effects", []), self.partners),
            _ints(payload.get("to_delete")),
            _ints(payload.get("topics")),
        )
        await carry_out(
            self.bot,
            services,
            outcome,
            redisplay=bool(payload.get("redisplay")),
            query=None,
            pressed=_int(payload.get("pressed")),
            trigger=_int(payload.get("typed")),
        )

    async def _finish_erasure(self, payload: dict[str, Any]) -> None:
        chat_id = _int(payload.get("chat_id"))
        if chat_id is None:
            return
        language = str(payload.get("language") or "km")
        shown = [_int(payload.get(k)) for k in ("pressed", "typed", "screen_message_id")]
        topics = list(_ints(payload.get("topics")))
        if topics:
            await self.services.handoff.delete_topics(self.bot, topics)
        writer = ChatWriter(self.bot, self.services.renderer, chat_id)
        await quick_exit(
            writer, exit_line(self.services, language), [*_ints(payload.get("to_delete")), *shown]
        )


def _leaves(payload: dict[str, Any]) -> bool:
    if payload.get("kind") != STEP:
        return False
    performs = payload.get("after_commit")
    if not isinstance(performs, list):
        return False
    for perform in performs:
        try:
            decoded = decode(perform, {})
        except (EffectCodecError, TypeError, ValueError):
            continue
        if isinstance(decoded, Perform) and decoded.action in LEAVING:
            return True
    return False


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _ints(values: object) -> tuple[int, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(v for v in values if isinstance(v, int) and not isinstance(v, bool))
