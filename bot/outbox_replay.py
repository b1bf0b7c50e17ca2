"""On start, carry out what the last run decided but did not finish sending.

Each outbox row was written in the transaction of its decision and is removed once carried
out; a row still there was interrupted (a crash, a kill, the power). Rows are carried out
oldest first, one chat's rows in order, different chats side by side (a pause for one chat
does not hold up the others). A relay is not copied twice: a copy already recorded is
skipped. Anything else may be sent a second time only if the process died between sending it
and removing its row, the same window as a call whose answer was lost."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from telegram.ext import ExtBot

from bot.conversation import Outcome
from bot.delivery import Delivery, Origin
from bot.effect_codec import EffectCodecError, decode
from bot.handlers.person import carry_out, exit_line, quick_exit
from bot.kept_effects import EFFECTS, STEP
from bot.logs import EventLogger
from bot.rendering import ChatWriter
from bot.services import Services

_log = EventLogger("outbox")


class OutboxReplay:
    def __init__(self, bot: ExtBot[None], services: Services) -> None:
        self.bot = bot
        self.services = services
        self.partners = {p.id: p for p in services.content.partners}

    async def run(self) -> int:
        """Carry out every kept row; returns how many there were."""
        pending = await self.services.store.outbox.pending()
        if not pending:
            return 0
        lanes: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for row_id, payload in pending:
            lanes[str(payload.get("lane") or "staff")].append((row_id, payload))
        await asyncio.gather(*(self._lane(rows) for rows in lanes.values()))
        _log.info("outbox_replayed", rows=len(pending))
        return len(pending)

    async def _lane(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        for row_id, payload in rows:
            try:
                await self._one(payload)
            except EffectCodecError as exc:
                _log.error("outbox_row_unreadable", exc)
            except Exception as exc:  # reported, then the next row: one bad row stops nothing
                _log.error("outbox_row_failed", exc)
            await self.services.store.outbox.remove([row_id])

    async def _one(self, payload: dict[str, Any]) -> None:
        services = self.services
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
        screen = _int(payload.get("screen_message_id"))
        code = payload.get("case_code")
        outcome = Outcome(
            person,
            decode(payload.get("effects", []), self.partners),
            screen,
            bool(payload.get("ended")),
            str(payload.get("language") or person.language),
            code if isinstance(code, str) else None,
            decode(payload.get("after_commit", []), self.partners),
            decode(payload.get("case_effects", []), self.partners),
            _ints(payload.get("to_delete")),
            _ints(payload.get("topics")),
        )
        pressed, typed = _int(payload.get("pressed")), _int(payload.get("typed"))
        await carry_out(
            self.bot,
            services,
            outcome,
            redisplay=bool(payload.get("redisplay")),
            query=None,
            pressed=pressed,
            trigger=typed,
        )

    async def _finish_erasure(self, payload: dict[str, Any]) -> None:
        chat_id = _int(payload.get("chat_id"))
        if chat_id is None:
            return
        language = str(payload.get("language") or "km")
        to_delete = _ints(payload.get("to_delete"))
        shown = [_int(payload.get(k)) for k in ("pressed", "typed", "screen_message_id")]
        topics = list(_ints(payload.get("topics")))
        if topics:
            await self.services.handoff.delete_topics(self.bot, topics)
        writer = ChatWriter(self.bot, self.services.renderer, chat_id)
        await quick_exit(writer, exit_line(self.services, language), [*to_delete, *shown])


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ints(values: object) -> tuple[int, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(v for v in values if isinstance(v, int) and not isinstance(v, bool))
