"""Safety services: crisis responses, per-person flood control, and automatic chat clean-up."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.handoff import Handoff
from bot.logs import EventLogger
from bot.rendering import Renderer
from knowledge.crisis import CrisisDetector
from storage.store import Store

_log = EventLogger("safety")
CRISIS_TALK = "crisis.talk"
CLEANUP = "cleanup"


class FloodGate:
    """One person's messages are handled one at a time, in order; beyond ``limit`` in
    ``seconds`` they wait (none is dropped) and the person gets one calm message per burst.
    Other people are not held up."""

    def __init__(
        self,
        limit: int,
        seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._sleep = sleep
        self._locks: dict[int, asyncio.Lock] = {}
        self._times: dict[int, deque[float]] = {}
        self._warned: set[int] = set()
        self._pending: dict[int, int] = {}

    @asynccontextmanager
    async def turn(
        self, key: int, slow_down: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[None]:
        self._pending[key] = self._pending.get(key, 0) + 1
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                times = self._times.setdefault(key, deque())
                now = self._clock()
                while times and times[0] <= now - self.seconds:
                    times.popleft()
                if len(times) < self.limit:
                    if self._pending[key] == 1:  # the burst is over: warn again next time
                        self._warned.discard(key)
                else:
                    if key not in self._warned:
                        self._warned.add(key)
                        await slow_down()
                    await self._sleep(max(0.0, times[0] + self.seconds - now))
                    times.popleft()
                times.append(self._clock())
                yield
        finally:
            self._pending[key] -= 1
            if self._pending[key] == 0:
                del self._pending[key]
                self._locks.pop(key, None)
                if not self._times.get(key):
                    self._times.pop(key, None)


class CrisisResponder:
    def __init__(
        self,
        detector: CrisisDetector,
        store: Store,
        renderer: Renderer,
        handoff: Handoff,
        coordinator_chat: int,
    ) -> None:
        self.detector = detector
        self.store = store
        self.renderer = renderer
        self.handoff = handoff
        self.coordinator_chat = coordinator_chat

    async def respond(self, bot: ExtBot[None], user_id: int, chat_id: int, text: str) -> bool:
        """If ``text`` holds a crisis phrase: emergency numbers at once, the case urgent and at
        the top of the queue, coordinators pinged. The conversation then goes on as usual."""
        category = self.detector.match(text)
        if category is None:
            return False
        async with self.store.db.transaction() as tx:
            person, _ = await self.store.people.get_or_create(user_id, chat_id, tx=tx)
            case = await self.store.cases.open_for_person(person.id, tx)
            if case is None:
                case = await self.store.cases.create(
                    person.id, {}, status="waiting", urgent=True, tx=tx
                )
            status = "assigned" if case.assigned_alias else "waiting"
            await self.store.cases.update(
                case.id, tx, urgent=1, status=status, language=person.language
            )
            await self.store.events.add(case.id, "crisis", "person", category, tx)
            if case.status != "assigned":
                await self.store.cases.set_waiting_since(case.id, datetime.now(UTC), tx)
        language = person.language
        keyboard = None
        if self.handoff.enabled and not case.relay:
            keyboard = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            self.renderer.text("crisis.talk", language), callback_data=CRISIS_TALK
                        )
                    ]
                ]
            )
        await bot.send_message(
            chat_id,
            self.renderer.text(f"crisis.{category}", language),
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
        )
        if self.handoff.enabled:
            fresh = await self.store.cases.get(case.id) or case
            await self.handoff.ensure_topic(bot, fresh)
            await bot.send_message(
                self.coordinator_chat or self.handoff.group_id,
                self.handoff.staff_text("staff.crisis_alert", code=case.code, category=category),
                parse_mode=ParseMode.HTML,
            )
        _log.info("crisis_detected", category=category)
        return True


async def reschedule_cleanup(store: Store, person_id: str, hours: int) -> None:
    """Clear the chat ``hours`` after its latest message (never past Telegram's 48 hours)."""
    async with store.db.transaction() as tx:
        await store.schedule.cancel(person_id=person_id, kind=CLEANUP, tx=tx)
        if hours > 0:
            await store.schedule.add(
                CLEANUP, datetime.now(UTC) + timedelta(hours=hours), {}, person_id=person_id, tx=tx
            )
