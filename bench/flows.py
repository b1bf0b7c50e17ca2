"""The bot under load: saturated throughput against the echo floor, paced latency, memory,
and the safety figures (Quick exit after a burst, another person's reply during a flood).

Every run starts a fresh emulator in this process and a fresh bot in its own process
(:mod:`bench.botproc`), so the bot's CPU time and memory are measured on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import pstats
import signal
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.botproc import TOKEN, BotProcess
from bench.people import FULL_FLOW, SHORT_FLOW, WELCOME, Kind, Person, Step, Watch, say
from sandbox import actions
from sandbox.server import EmulatorServer
from sandbox.state import TelegramState

STEP_TIMEOUT = 60.0


@dataclass
class Running:
    state: TelegramState
    watch: Watch
    bot: BotProcess
    people: int = 0

    def person(self, kind: Kind) -> Person:
        self.people += 1
        return Person(self.state, self.watch, kind, self.people)


@contextlib.asynccontextmanager
async def running(
    kind: Kind, *, production_flood: bool = False, profile: Path | None = None
) -> AsyncIterator[Running]:
    """A fresh emulator here and a fresh bot of ``kind`` in its own process."""
    state = TelegramState(TOKEN)
    server = EmulatorServer(state)
    await server.start()
    watch = Watch(state)
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as directory:
        bot = BotProcess(
            kind,
            server.base_url,
            Path(directory),
            production_flood=production_flood,
            profile=profile,
        )
        try:
            await bot.start()
            yield Running(state, watch, bot)
        finally:
            await bot.stop()
            watch.close()
            await server.stop()


async def _walk(person: Person, script: Sequence[Step], latencies: list[float]) -> int:
    """Go through ``script`` as fast as the bot answers; the number of steps that failed."""
    for done, step in enumerate(script):
        try:
            latencies.append(await person.act(step, STEP_TIMEOUT))
        except Exception:
            return len(script) - done
    return 0


async def _warm_up(run: Running, kind: Kind, script: Sequence[Step]) -> None:
    """Two people through the flow first, so that first-use costs are not measured."""
    await asyncio.gather(*(_walk(run.person(kind), script, []) for _ in range(2)))


# ---------------------------------------------------------------- saturated throughput


@dataclass(frozen=True)
class RoundResult:
    kind: Kind
    updates: int
    failed: int
    seconds: float
    bot_cpu_seconds: float
    emulator_cpu_seconds: float
    calls: int
    calls_by_method: dict[str, int]

    @property
    def updates_per_second(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_update(self) -> float:
        return 1000 * self.bot_cpu_seconds / self.updates if self.updates else 0.0

    @property
    def calls_per_update(self) -> float:
        return self.calls / self.updates if self.updates else 0.0


async def saturated_round(kind: Kind, people: int, script: Sequence[Step]) -> RoundResult:
    """``people`` people each go through ``script`` at once, as fast as the bot answers."""
    async with running(kind) as run:
        await _warm_up(run, kind, script)
        await asyncio.sleep(0.5)
        persons = [run.person(kind) for _ in range(people)]
        calls_before = len(run.state.calls)
        usage_before = run.bot.usage()
        cpu_before = time.process_time()
        started = time.perf_counter()
        failed = sum(await asyncio.gather(*(_walk(person, script, []) for person in persons)))
        seconds = time.perf_counter() - started
        emulator_cpu = time.process_time() - cpu_before
        usage_after = run.bot.usage()
        calls = run.state.calls[calls_before:]
        return RoundResult(
            kind=kind,
            updates=people * len(script) - failed,
            failed=failed,
            seconds=seconds,
            bot_cpu_seconds=usage_after.cpu_seconds - usage_before.cpu_seconds,
            emulator_cpu_seconds=emulator_cpu,
            calls=len(calls),
            calls_by_method=dict(Counter(c.method for c in calls).most_common()),
        )


@dataclass(frozen=True)
class ThroughputResult:
    people: int
    updates_per_person: int
    rounds: list[RoundResult]

    def of(self, kind: Kind) -> list[RoundResult]:
        return [r for r in self.rounds if r.kind == kind]

    def mean(self, kind: Kind, what: str) -> float:
        values = [float(getattr(r, what)) for r in self.of(kind)]
        return sum(values) / len(values) if values else 0.0

    @property
    def ratio(self) -> float:
        """clgbt's updates per second over the echo bot's, each the mean of its rounds."""
        echo = self.mean("echo", "updates_per_second")
        return self.mean("clgbt", "updates_per_second") / echo if echo else 0.0


async def throughput(
    people: int, rounds: int, script: Sequence[Step] = FULL_FLOW
) -> ThroughputResult:
    """Alternating A/B rounds: clgbt then echo, echo then clgbt, ..."""
    results: list[RoundResult] = []
    for number in range(rounds):
        order: tuple[Kind, Kind] = ("clgbt", "echo") if number % 2 == 0 else ("echo", "clgbt")
        for kind in order:
            results.append(await saturated_round(kind, people, script))
    return ThroughputResult(people, len(script), results)


@dataclass(frozen=True)
class ProfileResult:
    updates: int
    seconds: float
    by_own_time: str  # pstats output, the functions with the most time of their own
    by_cumulative: str


async def profile_round(people: int, script: Sequence[Step] = FULL_FLOW) -> ProfileResult:
    """One saturated clgbt round under cProfile (the bot's event-loop thread only: the
    database thread is not in it). cProfile slows the bot: read shares, not times."""
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as directory:
        path = Path(directory) / "clgbt.prof"
        async with running("clgbt", profile=path) as run:
            await _warm_up(run, "clgbt", script)
            persons = [run.person("clgbt") for _ in range(people)]
            run.bot.signal(signal.SIGUSR1)
            await asyncio.sleep(0.2)
            started = time.perf_counter()
            failed = sum(await asyncio.gather(*(_walk(person, script, []) for person in persons)))
            seconds = time.perf_counter() - started
            run.bot.signal(signal.SIGUSR2)
            for _ in range(100):
                await asyncio.sleep(0.1)
                if path.exists() and path.stat().st_size > 0:
                    break
            await asyncio.sleep(0.5)  # let the dump finish
        texts = []
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            stats = pstats.Stats(str(path), stream=out)
            stats.strip_dirs().sort_stats(order).print_stats(25)
            lines = out.getvalue().strip().splitlines()
            texts.append("\n".join(lines[1:]).strip())  # not the first: a date and a path
    return ProfileResult(people * len(script) - failed, seconds, texts[0], texts[1])


# ---------------------------------------------------------------- paced latency


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


@dataclass(frozen=True)
class LatencyResult:
    kind: Kind
    rate: float
    sent: int
    answered: int
    seconds: float
    latencies: list[float] = field(repr=False)

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=float("nan"))


async def paced(kind: Kind, rate: float, seconds: float, drain: float = 30.0) -> LatencyResult:
    """Updates at ``rate`` per second for ``seconds`` (open loop: a new person starts whenever
    nobody is ready for their next step), each timed from sending to the answer seen."""
    async with running(kind) as run:
        await _warm_up(run, kind, FULL_FLOW)
        await asyncio.sleep(0.5)
        ready: deque[tuple[Person, int]] = deque()
        latencies: list[float] = []
        pending: set[asyncio.Future[float]] = set()
        loop = asyncio.get_running_loop()
        total = int(rate * seconds)
        started = loop.time()
        for n in range(total):
            delay = started + n / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            person, position = ready.popleft() if ready else (run.person(kind), 0)
            sent_at = time.perf_counter()
            try:
                future = person.send(FULL_FLOW[position])
            except Exception:
                continue
            pending.add(future)

            def answered(
                f: asyncio.Future[float],
                p: Person = person,
                at: float = sent_at,
                i: int = position,
            ) -> None:
                pending.discard(f)
                if f.cancelled():
                    return
                latencies.append(f.result() - at)
                if i + 1 < len(FULL_FLOW):
                    ready.append((p, i + 1))

            future.add_done_callback(answered)
        if pending:
            await asyncio.wait(list(pending), timeout=drain)
        elapsed = loop.time() - started
        for future in pending:
            future.cancel()
        return LatencyResult(kind, rate, total, len(latencies), elapsed, latencies)


# ---------------------------------------------------------------- memory


@dataclass(frozen=True)
class MemoryResult:
    people_per_batch: int
    updates_per_person: int
    rss_started_mb: float
    rss_after_first_mb: float
    rss_after_second_mb: float
    failed: int

    @property
    def growth_kb_per_person(self) -> float:
        grown = self.rss_after_second_mb - self.rss_after_first_mb
        return grown * 1024 / self.people_per_batch


async def _batch(run: Running, people: int, concurrency: int, script: Sequence[Step]) -> int:
    queue = list(range(people))
    failed = 0

    async def worker() -> None:
        nonlocal failed
        while queue:
            queue.pop()
            failed += await _walk(run.person("clgbt"), script, [])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failed


async def memory(people_per_batch: int, idle: float = 3.0, concurrency: int = 100) -> MemoryResult:
    """RSS once started, after ``people_per_batch`` people went through the short flow (and the
    bot was idle for ``idle`` seconds), and again after as many new people."""
    async with running("clgbt") as run:
        await _warm_up(run, "clgbt", SHORT_FLOW)
        started = run.bot.usage().rss_bytes
        failed = await _batch(run, people_per_batch, concurrency, SHORT_FLOW)
        await asyncio.sleep(idle)
        first = run.bot.usage().rss_bytes
        failed += await _batch(run, people_per_batch, concurrency, SHORT_FLOW)
        await asyncio.sleep(idle)
        second = run.bot.usage().rss_bytes
    mb = 1024 * 1024
    return MemoryResult(
        people_per_batch, len(SHORT_FLOW), started / mb, first / mb, second / mb, failed
    )


# ---------------------------------------------------------------- safety (production flood limits)

NEUTRAL = "Have a good day"


@dataclass(frozen=True)
class QuickExitResult:
    burst: int
    seconds: float | None  # None: not done within the wait
    visible_left: int  # messages still visible in the person's chat when it completed
    visible_later: int  # and ``settle`` seconds later


async def quick_exit_after_burst(
    burst: int = 300, within: float = 60.0, settle: float = 5.0
) -> QuickExitResult:
    """A person at the menu sends ``burst`` messages at once, then ``/exit``: the time until
    the neutral line is shown (the bot deletes what it can first), and how many messages are
    still visible then and ``settle`` seconds later."""
    async with running("clgbt", production_flood=True) as run:
        person = run.person("clgbt")
        await _walk(person, WELCOME, [])
        state = run.state
        for n in range(burst):
            actions.send_text(state, person.id, f"hello are you there {n}")
        started = time.perf_counter()
        actions.send_text(state, person.id, "/exit")

        def cleared() -> bool:
            return any(
                m.sender_id == state.bot.id and not m.deleted and NEUTRAL in (m.text or "")
                for m in state.messages[person.id].values()
            )

        try:
            done = await asyncio.wait_for(run.watch.wait(person.id, cleared), within)
        except TimeoutError:
            return QuickExitResult(burst, None, -1, -1)

        def visible() -> int:
            return sum(1 for m in state.messages[person.id].values() if not m.deleted)

        left = visible()
        await asyncio.sleep(settle)
        return QuickExitResult(burst, done - started, left, visible())


@dataclass(frozen=True)
class FloodResult:
    flood: int
    start_seconds: float | None  # another person's /start answered after this long
    welcome_worst_seconds: float | None  # their slowest step of the welcome


async def reply_during_flood(flood: int = 1000, within: float = 60.0) -> FloodResult:
    """One account sends ``flood`` messages at once; another person then says /start and goes
    on through the welcome: how long each answer takes."""
    async with running("clgbt", production_flood=True) as run:
        flooder = run.person("clgbt")
        await _walk(flooder, WELCOME, [])
        for n in range(flood):
            actions.send_text(run.state, flooder.id, f"please answer me now {n}")
        other = run.person("clgbt")
        try:
            first = await other.act(say("/start", "Please choose a language"), within)
        except TimeoutError:
            return FloodResult(flood, None, None)
        latencies = [first]
        failed = await _walk(other, WELCOME[1:], latencies)
        worst = max(latencies) if not failed else None
        return FloodResult(flood, first, worst)
