"""The one seam every outgoing Bot API call passes through (DESIGN.md, "Sending").

It applies Telegram's limits (overall per second, per group per minute, per private chat with a
small burst) and retries **until delivered**: a 429 pauses sending to *that chat* for
``retry_after`` seconds (other chats go on); a server error or network failure is retried with
a short, capped back-off, so sending resumes within seconds of an outage ending. Only a call
older than ``sending.give_up_after_seconds`` is given up, and then it is reported (raised to
the caller, which tells the counsellor or the person), never dropped in silence. Errors that
retrying cannot fix (bad request, forbidden) are raised at once. PTB calls it for every request
because it is installed as the application's rate limiter.

Duplicates are bounded honestly: a slow answer is not a failure (sends have a long read
timeout), so a call is sent again only after an error; a duplicate happens only when Telegram
executed a call and its answer was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter, ExtBot

from bot.config import SendingSettings
from bot.logs import EventLogger
from bot.update_unit import UpdateUnit

_log = EventLogger("outbox")


class SendingStopped(NetworkError):
    """The bot is stopping: a call that failed is not retried (the update or outbox row that
    asked for it is kept for the next start)."""

    def __init__(self) -> None:
        super().__init__("stopping: kept for the next start")


def stop_sending(bot: ExtBot[None]) -> None:
    """See :meth:`Outbox.stop_sending` (nothing to do for a bot without the outbox)."""
    if isinstance(bot.rate_limiter, Outbox):
        bot.rate_limiter.stop_sending()


def is_stopping(bot: ExtBot[None]) -> bool:
    return isinstance(bot.rate_limiter, Outbox) and bot.rate_limiter.stopping


_UNLIMITED = frozenset(
    {"getUpdates", "getMe", "deleteWebhook", "setWebhook", "answerCallbackQuery"}
)
Result = bool | dict[str, Any] | list[dict[str, Any]]


class Outbox(BaseRateLimiter[int]):
    """Rate limits and retries for every outgoing call."""

    def __init__(
        self,
        settings: SendingSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_backoff: float = 2.0,
        on_sent: Callable[[str, dict[str, Any], object], Awaitable[None]] | None = None,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._on_sent = on_sent
        self._max_backoff = max_backoff
        self._overall = AsyncLimiter(settings.overall_per_second, 1)
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._private: dict[int, AsyncLimiter] = {}
        self._paused_until: dict[int | str | None, float] = {}
        self._stopping = asyncio.Event()
        self.retries = 0

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop_sending(self) -> None:
        """Shutting down: calls still go out, but one that fails is not retried, and a wait
        for a retry or a pause ends at once. The work that asked for it stays kept (the
        outbox row, or the update unhandled in the inbox) and is done on the next start."""
        self._stopping.set()

    def _interrupt(self) -> None:
        unit = UpdateUnit.current()
        if unit is not None:
            unit.interrupted = True
        raise SendingStopped

    async def _nap(self, seconds: float) -> None:
        """Sleep, unless the bot stops meanwhile."""
        if self._stopping.is_set():
            self._interrupt()
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        stopper = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (sleeper, stopper):
            task.cancel()
        if self._stopping.is_set():
            self._interrupt()

    async def initialize(self) -> None:
        return

    async def shutdown(self) -> None:
        return

    @staticmethod
    def _forget_idle(limiters: dict[Any, AsyncLimiter], keep: int = 128) -> None:
        """One limiter per chat would grow without end: once there are more than ``keep``,
        drop those fully recovered (a full limiter is the same as a new one)."""
        if len(limiters) < keep:
            return
        for key, limiter in list(limiters.items()):
            if limiter.has_capacity(limiter.max_rate):
                del limiters[key]

    def _limiters(self, data: dict[str, Any]) -> list[AsyncLimiter]:
        chat_id: Any = data.get("chat_id")
        if chat_id is None:
            return [self._overall]
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)
        if isinstance(chat_id, str) or chat_id < 0:
            limiter = self._groups.get(chat_id)
            if limiter is None:
                limiter = AsyncLimiter(self._settings.group_per_minute, 60)
                self._groups[chat_id] = limiter
        else:
            limiter = self._private.get(chat_id)
            if limiter is None:
                self._forget_idle(self._private)
                burst = self._settings.private_burst
                limiter = AsyncLimiter(burst, burst / self._settings.private_per_second)
                self._private[chat_id] = limiter
        return [limiter, self._overall]

    async def process_request(  # noqa: PLR0917 - the signature is PTB's
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        if endpoint in _UNLIMITED:
            return await callback(*args, **kwargs)
        give_up = self._settings.give_up_after_seconds
        started = self._clock()
        chat = self._chat_key(data)
        attempt = 0
        while True:
            await self._wait_if_paused(chat)
            try:
                async with contextlib.AsyncExitStack() as stack:
                    for limiter in self._limiters(data):
                        await stack.enter_async_context(limiter)
                    result = await callback(*args, **kwargs)
                if self._on_sent is not None:
                    await self._on_sent(endpoint, data, result)
                return result
            except RetryAfter as exc:
                if self._stopping.is_set():
                    self._interrupt()
                # The public ``retry_after`` warns while PTB moves it to a timedelta.
                wait = exc._retry_after.total_seconds()
                if self._clock() - started + wait > give_up:
                    _log.error("send_gave_up", exc, method=endpoint, attempts=attempt + 1)
                    raise
                _log.warning("send_rate_limited", method=endpoint, retry_after=wait)
                self._paused_until[chat] = max(
                    self._paused_until.get(chat, 0.0), self._clock() + wait + 0.1
                )
            except BadRequest:
                raise
            except NetworkError as exc:
                if self._stopping.is_set():
                    self._interrupt()
                if self._clock() - started > give_up:
                    _log.error("send_gave_up", exc, method=endpoint, attempts=attempt + 1)
                    raise
                backoff = min(self._max_backoff, 0.25 * 2**attempt)
                _log.warning(
                    "send_retrying", method=endpoint, attempt=attempt + 1, error=type(exc).__name__
                )
                await self._nap(backoff)
            self.retries += 1
            attempt += 1

    @staticmethod
    def _chat_key(data: dict[str, Any]) -> int | str | None:
        chat_id: Any = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            return int(chat_id)
        return None if chat_id is None else str(chat_id)

    async def _wait_if_paused(self, chat: int | str | None) -> None:
        """A 429 pauses the chat it was for (or everything, for a call with no chat)."""
        for key in (chat, None) if chat is not None else (None,):
            until = self._paused_until.get(key)
            if until is None:
                continue
            remaining = until - self._clock()
            if remaining > 0:
                await self._nap(remaining)
            if self._paused_until.get(key, 0.0) <= self._clock():
                self._paused_until.pop(key, None)
