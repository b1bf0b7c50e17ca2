"""Updates the flood gate dropped, written in batches.

A dropped message still has to be remembered (Quick exit deletes it from the phone) and marked
handled in the inbox, but one transaction per message would let a flood of a thousand messages
hold the database, and everyone else, for seconds. They are collected here and written together
every ``delay`` seconds, in one transaction; Quick exit writes what is waiting first. A crash
before a batch is written only means those updates are handled again after the restart, as
late messages (at least once)."""

from __future__ import annotations

import asyncio
import contextlib

from bot.logs import EventLogger
from bot.message_tracker import MessageTracker
from storage.store import Store

_log = EventLogger("dropped")


class DroppedUpdates:
    def __init__(self, store: Store, tracker: MessageTracker, *, delay: float = 0.2) -> None:
        self.store = store
        self.tracker = tracker
        self.delay = delay
        self._updates: list[int] = []
        self._messages: dict[int, list[int]] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def add(self, update_id: int | None, messages: dict[int, list[int]]) -> None:
        """``messages``: chat id -> ids of messages to remember (the dropped one, and a
        slow-down notice sent while dropping it). ``update_id`` None: already marked handled
        (refused by the polling loop)."""
        if update_id is not None:
            self._updates.append(update_id)
        for chat_id, ids in messages.items():
            self._messages.setdefault(chat_id, []).extend(ids)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._later(), name="clgbt-dropped-updates")

    async def _later(self) -> None:
        await asyncio.sleep(self.delay)
        try:
            await self.flush()
        except Exception as exc:
            _log.error("dropped_updates_not_written", exc)

    async def flush(self) -> None:
        async with self._lock:
            updates, messages = self._updates, self._messages
            self._updates, self._messages = [], {}
            if not updates and not messages:
                return
            async with self.store.db.transaction() as tx:
                for chat_id, ids in messages.items():
                    await self.tracker.write(chat_id, ids, tx)
                for update_id in updates:
                    await self.store.inbox.done(update_id, tx)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
