"""Waiting on an observable event instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    read: Callable[[], Awaitable[T]],
    holds: Callable[[T], bool],
    *,
    within: float = 10.0,
    what: str = "the condition",
) -> T:
    """Read until ``holds(value)``; return that value, or fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await read()
        if holds(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what} never happened; last: {value!r}")
        await asyncio.sleep(0.02)
