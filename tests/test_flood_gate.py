"""The flood gate without Telegram: order, a bounded backlog, drops, and the priority lane."""

from __future__ import annotations

import asyncio

from bot.flood_gate import FloodGate


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_typed_messages_beyond_the_limit_are_dropped_with_one_notice() -> None:
    clock = Clock()
    gate = FloodGate(3, 60, clock=clock)
    notices: list[int] = []
    handled: list[int] = []

    async def notice() -> None:
        notices.append(1)

    for n in range(10):
        async with gate.turn(1, notice) as admitted:
            if admitted:
                handled.append(n)
    assert handled == [0, 1, 2]
    assert len(notices) == 1
    clock.now = 61
    async with gate.turn(1, notice) as admitted:
        assert admitted
    assert gate.lanes() == 1  # the window still holds this message
    clock.now = 200
    async with gate.turn(1, notice) as admitted:
        assert admitted
    assert len(notices) == 1
    clock.now = 400
    async with gate.turn(1, notice, counted=False) as admitted:
        assert admitted
    assert gate.lanes() == 0, "an idle person's lane is freed"


async def test_presses_are_not_counted() -> None:
    gate = FloodGate(2, 60, clock=Clock())

    async def notice() -> None:
        raise AssertionError("no notice for browsing")

    for _ in range(20):
        async with gate.turn(1, notice, counted=False) as admitted:
            assert admitted


async def test_the_backlog_is_bounded_and_quick_exit_jumps_it() -> None:
    gate = FloodGate(1000, 60, backlog=3, clock=Clock())
    release = asyncio.Event()
    order: list[str] = []

    async def notice() -> None:
        order.append("notice")

    async def update(name: str, *, priority: bool = False) -> None:
        async with gate.turn(7, notice, priority=priority) as admitted:
            if not admitted:
                order.append(f"dropped {name}")
                return
            order.append(name)
            if name == "first":
                await release.wait()

    first = asyncio.create_task(update("first"))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(update(f"q{n}")) for n in range(5)]
    await asyncio.sleep(0)
    exit_task = asyncio.create_task(update("exit", priority=True))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *queued, exit_task)
    assert order[0] == "first"
    assert "notice" in order and order.count("notice") == 1
    handled = [o for o in order if not o.startswith(("dropped", "notice"))]
    assert handled == ["first", "exit"], "everything still waiting is dropped after Quick exit"


async def test_other_people_are_never_held_up() -> None:
    gate = FloodGate(1000, 60, clock=Clock())
    hold = asyncio.Event()

    async def noop() -> None:
        return

    async def slow() -> None:
        async with gate.turn(1, noop):
            await hold.wait()

    task = asyncio.create_task(slow())
    await asyncio.sleep(0)
    async with gate.turn(2, noop) as admitted:
        assert admitted
    hold.set()
    await task


async def test_one_burst_in_waves_gets_one_notice() -> None:
    """The backlog fills, drains between two waves of the same burst and fills again: still
    one notice; a burst after a whole quiet window gets its own."""
    clock = Clock()
    gate = FloodGate(1000, 60, backlog=2, clock=clock)
    notices: list[float] = []

    async def notice() -> None:
        notices.append(clock.now)

    async def wave() -> None:
        release = asyncio.Event()

        async def one() -> None:
            async with gate.turn(1, notice) as admitted:
                if admitted:
                    await release.wait()

        tasks = [asyncio.create_task(one()) for _ in range(6)]
        for _ in range(10):
            await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*tasks)

    await wave()
    clock.now = 5
    await wave()  # the same burst: the backlog drained in between
    assert notices == [0]
    clock.now = 70
    await wave()
    assert notices == [0, 70]


async def test_the_screen_drops_quietly_only_after_the_notice_and_keeps_the_burst_going() -> None:
    clock = Clock()
    gate = FloodGate(2, 10, clock=clock)
    notices: list[float] = []

    async def notice() -> None:
        notices.append(clock.now)

    for _ in range(2):
        async with gate.turn(1, notice) as admitted:
            assert admitted
    assert gate.would_drop(1, True) and not gate.would_drop_quietly(1), "the notice comes first"
    async with gate.turn(1, notice) as admitted:
        assert not admitted
    assert notices == [0]
    for tenth in range(1, 95):  # the rest of the burst, refused by the screen
        clock.now = tenth / 10
        assert gate.would_drop_quietly(1)
        gate.note_drop(1)
    async with gate.turn(1, notice) as admitted:
        assert not admitted
    assert notices == [0], "one burst, one notice"
    clock.now = 25  # a whole window with nothing dropped: the next burst has its own notice
    assert not gate.would_drop_quietly(1)


async def test_a_notice_that_cannot_be_sent_still_drops_and_is_tried_again() -> None:
    gate = FloodGate(1, 60, clock=Clock())
    attempts: list[int] = []

    async def failing_notice() -> None:
        attempts.append(1)
        raise ConnectionError("Telegram is unreachable")

    async with gate.turn(1, failing_notice) as admitted:
        assert admitted
    for _ in range(2):
        async with gate.turn(1, failing_notice) as admitted:
            assert not admitted, "dropped (and so remembered for Quick exit) all the same"
    assert len(attempts) == 2, "not told yet: the next drop tries again"
    assert not gate.would_drop_quietly(1), "the screen does not drop quietly before a notice"


async def test_lanes_of_people_who_never_write_again_are_freed() -> None:
    clock = Clock()
    gate = FloodGate(20, 60, clock=clock)

    async def notice() -> None:
        raise AssertionError("no flood here")

    for person in range(1000):  # one message each, then silence
        async with gate.turn(person, notice) as admitted:
            assert admitted
    assert gate.lanes() == 1000, "within the window each lane still counts its message"
    clock.now = 120
    for person in range(1000, 1300):  # others keep writing; the first thousand never again
        async with gate.turn(person, notice) as admitted:
            assert admitted
    assert gate.lanes() <= 300, gate.lanes()
