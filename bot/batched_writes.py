"""Small writes that need not have a transaction each, written together in batches.

- Updates the flood gate dropped. A dropped message still has to be remembered (Quick exit
  deletes it from the phone) and marked handled in the inbox, but one transaction per message
  would let a flood of a thousand messages hold the database, and everyone else, for seconds.
  A crash before a batch is written only means those updates are handled again after the
  restart, as late messages (at least once).
- Outbox rows whose messages went out, when removing them is all their update has left to
  write (a button press whose screen was edited in place): a commit of their own would be one
  more synced write per press. A crash before the batch is written sends them again after the
  restart; an edited screen comes back unchanged ("not modified"), so the person sees nothing.

They are collected here and written together every ``delay`` seconds, in one transaction;
Quick exit writes what is waiting first, and a stop writes what is left."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from bot.logs import EventLogger
from bot.message_tracker import MessageTracker
from storage.store import Store

_log = EventLogger("batched")


class BatchedWrites:
    def __init__(
        self,
        store: Store,
        tracker: MessageTracker,
        *,
        delay: float = 0.2,
        on_removed: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.on_removed = on_removed  # told which outbox rows are gone, once they are
        self.store = store
        self.tracker = tracker
        self.delay = delay
        self._updates: list[int] = []
        self._messages: dict[int, list[int]] = {}
        self._sent: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def dropped(self, update_id: int | None, messages: dict[int, list[int]]) -> None:
        """``messages``: chat id -> ids of messages to remember (the dropped one, and a
        slow-down notice sent while dropping it). ``update_id`` None: already marked handled
        (refused by the polling loop)."""
        if update_id is not None:
            self._updates.append(update_id)
        for chat_id, ids in messages.items():
            self._messages.setdefault(chat_id, []).extend(ids)
        self._schedule()

    def sent(self, row_ids: list[str]) -> None:
        """Outbox rows carried out, to remove."""
        self._sent.extend(row_ids)
        self._schedule()

    def _schedule(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._later(), name="clgbt-batched-writes")

    async def _later(self) -> None:
        await asyncio.sleep(self.delay)
        try:
            await self.flush()
        except Exception as exc:
            _log.error("batch_not_written", exc)

    async def flush(self) -> None:
        async with self._lock:
            updates, messages, sent = self._updates, self._messages, self._sent
            self._updates, self._messages, self._sent = [], {}, []
            if not updates and not messages and not sent:
                return
            try:
                async with self.store.db.transaction() as tx:
                    for chat_id, ids in messages.items():
                        await self.tracker.write(chat_id, ids, tx)
                    for update_id in updates:
                        await self.store.inbox.done(update_id, tx)
                    await self.store.outbox.remove(sent, tx)
            except BaseException:
                # Not written: kept for the next batch (or the stop), nothing forgotten.
                self._updates[:0] = updates
                for chat_id, ids in messages.items():
                    self._messages.setdefault(chat_id, [])[:0] = ids
                self._sent[:0] = sent
                raise
            if sent and self.on_removed is not None:
                self.on_removed(sent)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
