"""The one seam every outgoing Bot API call passes through (DESIGN.md, "Sending").

It applies Telegram's limits (overall per second, per group per minute, per private chat with a
small burst) and retries: a 429 pauses *all* sending for ``retry_after`` seconds and then tries
again; a server error or network failure is retried with exponential back-off. Errors that
retrying cannot fix (bad request, forbidden) are raised at once. PTB calls it for every request
because it is installed as the application's rate limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.config import SendingSettings
from bot.logs import EventLogger

_log = EventLogger("outbox")
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
        max_backoff: float = 10.0,
        on_sent: Callable[[str, dict[str, Any], object], Awaitable[None]] | None = None,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        self._on_sent = on_sent
        self._max_backoff = max_backoff
        self._overall = AsyncLimiter(settings.overall_per_second, 1)
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._private: dict[int, AsyncLimiter] = {}
        self._not_paused = asyncio.Event()
        self._not_paused.set()
        self.retries = 0

    async def initialize(self) -> None:
        return

    async def shutdown(self) -> None:
        return

    @staticmethod
    def _forget_idle(limiters: dict[Any, AsyncLimiter], keep: int = 1024) -> None:
        """One limiter per chat would grow without end: drop those fully recovered."""
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
        max_retries = self._settings.max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(max_retries + 1):
            await self._not_paused.wait()
            try:
                async with contextlib.AsyncExitStack() as stack:
                    for limiter in self._limiters(data):
                        await stack.enter_async_context(limiter)
                    result = await callback(*args, **kwargs)
                if self._on_sent is not None:
                    await self._on_sent(endpoint, data, result)
                return result
            except RetryAfter as exc:
                if attempt == max_retries:
                    _log.error("send_gave_up", exc, method=endpoint, attempts=attempt + 1)
                    raise
                # The public ``retry_after`` warns while PTB moves it to a timedelta.
                wait = exc._retry_after.total_seconds()
                _log.warning("send_rate_limited", method=endpoint, retry_after=wait)
                self.retries += 1
                self._not_paused.clear()
                try:
                    await self._sleep(wait + 0.1)
                finally:
                    self._not_paused.set()
            except BadRequest:
                raise
            except NetworkError as exc:
                if attempt == max_retries:
                    _log.error("send_gave_up", exc, method=endpoint, attempts=attempt + 1)
                    raise
                self.retries += 1
                backoff = min(self._max_backoff, 0.25 * 2**attempt)
                _log.warning(
                    "send_retrying", method=endpoint, attempt=attempt + 1, error=type(exc).__name__
                )
                await self._sleep(backoff)
        raise AssertionError("unreachable: the loop returns or raises")
