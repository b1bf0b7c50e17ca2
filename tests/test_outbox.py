"""The sending seam: retries that honour retry_after, back-off, and errors it must not retry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.config import SendingSettings
from bot.outbox import Outbox, SendingStopped
from bot.update_unit import UpdateUnit


class Script:
    """A fake Bot API call that fails as scripted, then succeeds."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return {"ok": True}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def outbox(give_up: float = 60) -> tuple[Outbox, list[float]]:
    slept: list[float] = []
    clock = Clock()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    return Outbox(unlimited(give_up), sleep=sleep, clock=clock), slept


def unlimited(give_up: float) -> SendingSettings:
    """Limits out of the way: these tests are about retries."""
    return SendingSettings(
        overall_per_second=1000,
        group_per_minute=1000,
        private_per_second=1000,
        private_burst=100,
        give_up_after_seconds=give_up,
    )


async def send(
    box: Outbox, script: Callable[[], Coroutine[Any, Any, dict[str, Any]]], chat_id: int = 5
) -> Any:
    return await box.process_request(script, (), {}, "sendMessage", {"chat_id": chat_id}, None)


async def test_retry_after_is_honoured() -> None:
    box, slept = outbox()
    script = Script(RetryAfter(3))
    assert await send(box, script) == {"ok": True}
    assert script.calls == 2
    assert slept == [pytest.approx(3.1)]


@pytest.mark.parametrize("error", [NetworkError("Bad Gateway"), TimedOut()])
async def test_network_and_server_errors_back_off(error: Exception) -> None:
    box, slept = outbox()
    script = Script(error, error)
    assert await send(box, script) == {"ok": True}
    assert slept == [0.25, 0.5]


@pytest.mark.parametrize("error", [BadRequest("Message is too long"), Forbidden("blocked")])
async def test_errors_retrying_cannot_fix_are_raised_at_once(error: Exception) -> None:
    box, slept = outbox()
    script = Script(error)
    with pytest.raises(type(error)):
        await send(box, script)
    assert script.calls == 1 and slept == []


async def test_retries_until_delivered_through_a_long_outage() -> None:
    box, slept = outbox(give_up=900)
    script = Script(*[NetworkError("Bad Gateway") for _ in range(40)])
    assert await send(box, script) == {"ok": True}
    assert script.calls == 41
    assert max(slept) <= 2.0, "the back-off stays short so sending resumes quickly"


async def test_gives_up_only_after_its_age_and_says_so() -> None:
    box, slept = outbox(give_up=30)
    script = Script(*[NetworkError("down") for _ in range(100)])
    with pytest.raises(NetworkError):
        await send(box, script)
    assert 30 <= sum(slept) <= 33


async def test_a_rate_limit_for_one_chat_does_not_stop_another() -> None:
    box, slept = outbox()
    await send(box, Script(RetryAfter(20)), chat_id=1)
    assert slept == [pytest.approx(20.1)]
    slept.clear()
    assert await send(box, Script(), chat_id=2) == {"ok": True}
    assert slept == [], "chat 2 was never paused"


async def test_get_updates_is_not_limited_or_retried() -> None:
    box, slept = outbox()
    script = Script(NetworkError("down"))
    with pytest.raises(NetworkError):
        await box.process_request(script, (), {}, "getUpdates", {}, None)
    assert script.calls == 1 and slept == []


async def test_idle_per_chat_limiters_are_forgotten() -> None:
    box, _ = outbox()
    for chat_id in range(1, 1200):
        await send(box, Script(), chat_id)
    assert len(box._private) <= 128 + 1


async def test_once_stopping_a_failed_call_is_kept_not_retried() -> None:
    box, slept = outbox()
    box.stop_sending()
    working = Script()
    assert await send(box, working) == {"ok": True}, "calls still go out while stopping"
    failing = Script(NetworkError("Bad Gateway"), NetworkError("Bad Gateway"))
    unit = UpdateUnit.begin(_nothing, 7)
    try:
        with pytest.raises(SendingStopped):
            await send(box, failing)
    finally:
        UpdateUnit.end()
    assert failing.calls == 1 and slept == []
    assert unit.interrupted, "the update keeps what it decided for the next start"


async def test_a_stop_ends_a_wait_for_a_retry() -> None:
    box = Outbox(unlimited(3600))  # real sleeps: a 429 asking for ten minutes
    called = asyncio.Event()
    script = Script(RetryAfter(600), RetryAfter(600))

    async def call() -> dict[str, Any]:
        try:
            return await script()
        finally:
            called.set()

    waiting = asyncio.ensure_future(send(box, call))
    await called.wait()
    box.stop_sending()
    with pytest.raises(SendingStopped):
        await asyncio.wait_for(waiting, 5)
    assert script.calls == 1


async def _nothing(_unit: UpdateUnit) -> None:
    return None
