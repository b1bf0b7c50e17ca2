"""Our own polling loop, in front of python-telegram-bot's update queue.

python-telegram-bot's updater confirms a batch to Telegram (by asking for the next offset) as
soon as it has fetched it, while the updates still wait in memory. Here every update is stored
in the inbox (encrypted, in the same database) before the next ``getUpdates`` confirms it, and
marked handled only after its handlers ran; on start, updates that were stored but not handled
are handled first, in order. Back-off after an error is short and capped, so a backlog drains
within seconds of the API coming back."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.logs import EventLogger
from storage.store import Store

_log = EventLogger("polling")
DONE_GROUP = 1_000  # after every other handler group
MAX_BACKOFF_SECONDS = 2.0


class InboxPoller:
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        store: Store,
        *,
        timeout: int = 10,
        max_backoff: float = MAX_BACKOFF_SECONDS,
    ) -> None:
        self.application = application
        self.store = store
        self.timeout = timeout
        self.max_backoff = max_backoff
        self._task: asyncio.Task[None] | None = None
        self.stopped = asyncio.Event()

    @staticmethod
    def install(application: Application[Any, Any, Any, Any, Any, Any], store: Store) -> None:
        """Mark each update handled once every handler group has run for it."""

        async def handled(update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
            if isinstance(update, Update):
                await store.inbox.done(update.update_id)

        application.add_handler(TypeHandler(Update, handled), group=DONE_GROUP)

    async def replay(self) -> int:
        """Queue the updates stored but not handled before the last stop, oldest first."""
        pending = await self.store.inbox.pending()
        for _update_id, payload in pending:
            update = Update.de_json(payload, self.application.bot)
            await self.application.update_queue.put(update)
        if pending:
            _log.info("inbox_replayed", updates=len(pending))
        return len(pending)

    async def receive(self, updates: list[Update]) -> None:
        """Store a batch (one transaction), then queue the updates not seen before."""
        if not updates:
            return
        fresh = await self.store.inbox.add([(u.update_id, u.to_dict()) for u in updates])
        for update in updates:
            if update.update_id in fresh:
                await self.application.update_queue.put(update)

    async def start(self) -> None:
        await self.replay()
        self._task = asyncio.create_task(self._loop(), name="clgbt-polling")

    async def stop(self) -> None:
        """Stop fetching. A batch fetched but not yet stored is fetched again next time: its
        offset was never confirmed."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        bot = self.application.bot
        offset = await self.store.inbox.next_offset()
        failures = 0
        while True:
            try:
                updates = await bot.get_updates(
                    offset=offset,
                    timeout=self.timeout,
                    read_timeout=self.timeout + 10,
                    allowed_updates=Update.ALL_TYPES,
                )
                await self.receive(list(updates))
            except InvalidToken:
                _log.warning("polling_stopped", reason="invalid_token")
                self.stopped.set()
                return
            except RetryAfter as exc:
                failures += 1
                await asyncio.sleep(min(exc._retry_after.total_seconds(), 30.0))
                continue
            except (NetworkError, TelegramError) as exc:
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    _log.warning("polling_failed", error=type(exc).__name__, failures=failures)
                await asyncio.sleep(min(self.max_backoff, 0.1 * 2 ** min(failures, 8)))
                continue
            if failures:
                _log.info("polling_recovered", failures=failures)
                failures = 0
            if updates:
                offset = updates[-1].update_id + 1
