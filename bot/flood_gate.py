"""Per-person flood control with a priority lane.

Each person's updates are handled one at a time, in order. At most ``backlog`` wait behind the
one in hand, and at most ``limit`` typed messages are taken in ``seconds``; anything beyond is
dropped at once (it never sleeps while holding one of the application's shared update slots),
and the person gets one calm message per burst. Button presses are not counted: browsing never
triggers the message. A priority update (Quick exit, erasure) goes next, ahead of everything
still waiting, which is dropped: the person is leaving."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.logs import EventLogger

_log = EventLogger("flood")


@dataclass
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    times: deque[float] = field(default_factory=deque)
    waiting: int = 0
    generation: int = 0
    warned: bool = False
    dropped_at: float = float("-inf")


SWEEP_FROM = 256


class FloodGate:
    def __init__(
        self,
        limit: int,
        seconds: float,
        *,
        backlog: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self.backlog = backlog
        self._clock = clock
        self._lanes: dict[int, _Lane] = {}
        self._notices: dict[int, float] = {}
        self._sweep_at = SWEEP_FROM  # lanes open before every idle lane is looked at again

    def lanes(self) -> int:
        """How many people have a lane open now (for tests: lanes are freed when idle)."""
        return len(self._lanes)

    def _admit(self, lane: _Lane, counted: bool) -> bool:
        now = self._clock()
        while lane.times and lane.times[0] <= now - self.seconds:
            lane.times.popleft()
        if lane.waiting >= self.backlog or (counted and len(lane.times) >= self.limit):
            return False
        if counted:
            lane.times.append(now)
        return True

    def would_drop(self, key: int, counted: bool) -> bool:
        """Whether an update now would be dropped (nothing changes): lets the caller skip any
        work for a flood."""
        lane = self._lanes.get(key)
        if lane is None:
            return False
        now = self._clock()
        recent = sum(1 for at in lane.times if at > now - self.seconds)
        return lane.waiting >= self.backlog or (counted and recent >= self.limit)

    def would_drop_quietly(self, key: int) -> bool:
        """Whether a typed message now would be dropped within a burst that already had its
        notice: the polling loop's screen refuses those before parsing (the first drop of a
        burst is left to :meth:`turn`, which sends the one notice)."""
        lane = self._lanes.get(key)
        if lane is None or not lane.warned or self._burst_over(lane, self._clock()):
            return False
        return self.would_drop(key, True)

    def note_drop(self, key: int) -> None:
        """A message of ``key``'s burst dropped elsewhere (by the screen): the burst goes on."""
        lane = self._lanes.get(key)
        if lane is not None:
            lane.dropped_at = self._clock()

    def notice_due(self, key: int) -> bool:
        """For someone refused outright (blocked): True at most once per window, so that a
        flood gets one answer, not one per message."""
        now = self._clock()
        for old in [k for k, at in self._notices.items() if at <= now - self.seconds]:
            del self._notices[old]
        if key in self._notices:
            return False
        self._notices[key] = now
        return True

    @asynccontextmanager
    async def turn(
        self,
        key: int,
        slow_down: Callable[[], Awaitable[None]],
        *,
        priority: bool = False,
        counted: bool = True,
        droppable: bool = True,
    ) -> AsyncIterator[bool]:
        """Yields True when this update is to be handled now, False when it is dropped.
        ``droppable=False`` (an update written a while ago) always waits its turn."""
        lane = self._lanes.setdefault(key, _Lane())
        admitted = True
        if priority:
            lane.generation += 1
        elif droppable and not self._admit(lane, counted):
            admitted = False
        generation = lane.generation
        try:
            if not admitted:
                now = self._clock()
                if self._burst_over(lane, now):
                    lane.warned = False  # a new burst: warn again
                lane.dropped_at = now
                if not lane.warned:
                    lane.warned = True
                    try:
                        await slow_down()
                    except Exception as exc:
                        lane.warned = False  # not told: the next drop tries again
                        _log.warning("slow_down_not_sent", error=type(exc).__name__)
                yield False
                return
            lane.waiting += 1
            try:
                await lane.lock.acquire()
            finally:
                lane.waiting -= 1
            try:
                yield priority or lane.generation == generation
            finally:
                lane.lock.release()
        finally:
            self._tidy(key, lane)
            if len(self._lanes) >= self._sweep_at:
                self._sweep()

    def _sweep(self) -> None:
        """A lane is freed at its person's next update once idle; people who never write
        again would keep theirs for ever. So once the lanes have doubled since the last look,
        every lane is tidied (amortised: a constant cost per update)."""
        for key, lane in list(self._lanes.items()):
            self._tidy(key, lane)
        self._sweep_at = max(SWEEP_FROM, 2 * len(self._lanes))

    def _burst_over(self, lane: _Lane, now: float) -> bool:
        """Nothing of this person's was dropped for a whole window. (A backlog that drains
        between waves of one burst does not end it.)"""
        return now - lane.dropped_at >= self.seconds

    def _tidy(self, key: int, lane: _Lane) -> None:
        if lane.waiting or lane.lock.locked():
            return
        now = self._clock()
        while lane.times and lane.times[0] <= now - self.seconds:
            lane.times.popleft()
        if self._burst_over(lane, now):
            lane.warned = False  # warn again next time
        if not lane.times and not lane.warned and self._lanes.get(key) is lane:
            del self._lanes[key]


class StaffOrder:
    """Each staff member's updates one at a time, in the order they were written."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def turn(self, key: int) -> AsyncIterator[None]:
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._locks.pop(key, None)
