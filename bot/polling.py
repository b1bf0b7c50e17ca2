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
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.warnings import PTBUserWarning

from bot.logs import EventLogger
from bot.update_unit import UpdateUnit
from storage.repositories.base import Tx
from storage.store import Store

_log = EventLogger("polling")
# The raw getUpdates answer is what the inbox stores, parsed once here; python-telegram-bot
# suggests its own get_updates, which would parse the batch as a whole (one bad update fails it).
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)
BEGIN_GROUP = -1_000  # before every other handler group
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
        screen: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """``screen`` may refuse an update, as it came, before it is parsed or takes one of
        the application's update slots (a flood); it then records the refusal itself, and the
        update is stored as handled, without its content."""
        self.application = application
        self.store = store
        self.screen = screen
        self.timeout = timeout
        self.max_backoff = max_backoff
        self._task: asyncio.Task[None] | None = None
        self.stopped = asyncio.Event()  # set when polling gave up (the token was rejected)
        self.token_rejected = False

    @staticmethod
    def install(
        application: Application[Any, Any, Any, Any, Any, Any],
        store: Store,
        finish: Callable[[UpdateUnit, Tx], Awaitable[None]],
        remove_later: Callable[[list[str]], None] | None = None,
        settle: Callable[[list[str]], None] | None = None,
    ) -> None:
        """Open a unit of work for each update before its handlers run; once every handler
        group has run, write the unit and mark the update handled, in one transaction.
        ``remove_later`` takes the outbox rows of an update that has nothing else to write
        (they are removed with a later batch instead of a commit of their own); ``settle``
        is told of rows left in the outbox (a handler failed, or the bot is stopping) or
        removed, once that is written."""

        async def begin(update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
            if not isinstance(update, Update):
                return
            update_id = update.update_id

            async def close(unit: UpdateUnit) -> None:
                if unit.empty and unit.handled:
                    return
                carried_out = not unit.interrupted and not unit.failed
                alone = not unit.tracked and not unit.screens and unit.handled
                if alone and carried_out and remove_later is not None:
                    remove_later(unit.kept)  # settled once the batch is written
                    return
                written = False
                try:
                    async with store.db.transaction() as tx:
                        if unit.interrupted:
                            # Stopping mid-send: only the messages already sent are written
                            # (for Quick exit); its outbox rows stay, or it stays unhandled
                            # in the inbox, and the next start carries it out.
                            if unit.tracked:
                                await finish(replace(unit, screens={}), tx)
                            return
                        if unit.tracked or unit.screens:
                            await finish(unit, tx)
                        if carried_out:
                            await store.outbox.remove(unit.kept, tx)
                        if not unit.handled:
                            await store.inbox.done(update_id, tx)
                    written = True
                finally:
                    if not written and carried_out and remove_later is not None:
                        remove_later(unit.kept)  # sent: removed with a later batch instead
                    elif settle is not None:
                        settle(unit.kept)

            UpdateUnit.begin(close, update_id)

        async def handled(_update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
            await UpdateUnit.close_current()
            UpdateUnit.end()

        application.add_handler(TypeHandler(Update, begin), group=BEGIN_GROUP)
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

    def parse(self, raw: list[Any]) -> list[tuple[int, dict[str, Any], Update]]:
        """Each update parsed once. One that cannot be parsed keeps only its id (so the offset
        moves on and it is never stored or logged: it may hold personal data); python-telegram-
        bot would otherwise fail the whole batch and ask for it again forever."""
        parsed: list[tuple[int, dict[str, Any], Update]] = []
        for item in raw:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(update_id, int):
                continue
            kept: dict[str, Any] = item
            try:
                update = Update.de_json(item, self.application.bot)
            except Exception as exc:
                _log.error("update_unparsable", exc)
                kept = {"update_id": update_id}
                update = Update(update_id)
            parsed.append((update_id, kept, update))
        return parsed

    async def receive(self, raw: list[Any]) -> int | None:
        """Store a batch as it came (one transaction), then queue the updates not seen before;
        returns the next offset."""
        kept: list[Any] = []
        refused: list[int] = []
        last: int | None = None
        for item in raw:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(update_id, int):
                continue
            last = update_id
            if self.screen is not None and not self.screen(item):
                refused.append(update_id)
            else:
                kept.append(item)
        if last is None:
            return None
        parsed = self.parse(kept)
        fresh = await self.store.inbox.add(
            [(uid, item) for uid, item, _ in parsed], handled=refused
        )
        for update_id, _item, update in parsed:
            if update_id in fresh:
                await self.application.update_queue.put(update)
        return last + 1

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
                arguments: dict[str, Any] = {
                    "timeout": self.timeout,
                    "allowed_updates": list(Update.ALL_TYPES),
                }
                if offset is not None:
                    arguments["offset"] = offset
                raw = await bot.do_api_request(
                    "getUpdates", api_kwargs=arguments, read_timeout=self.timeout + 10
                )
                next_offset = await self.receive(raw if isinstance(raw, list) else [])
            except InvalidToken:
                _log.warning("polling_stopped", reason="invalid_token")
                self.token_rejected = True
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
            if next_offset is not None:
                offset = next_offset
