"""``python -m bench [--quick | --full]``: every performance figure, written to
``bench/results.md`` with its goal (issues 12 and 13).

Parts: ``throughput`` (clgbt against a bare python-telegram-bot echo bot, alternating rounds),
``latency`` (paced), ``memory``, ``stats`` (``clgbt stats`` over many cases), ``storage``
(encrypted writes, purge) and ``safety`` (Quick exit after a burst, another person during a
flood); ``--profile`` adds a cProfile of one saturated clgbt round. ``--only`` runs some of
them (the results file then shows only those).
Nothing here is a test: timings depend on the machine and on what else it is doing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import casestats, flows
from bench.people import Kind
from bench.report import RESULTS, Machine, Results, load, render

PARTS = ("throughput", "latency", "memory", "stats", "storage", "safety")
OPTIONAL = ("profile",)


@dataclass(frozen=True)
class Sizes:
    people: int
    rounds: int
    paced_seconds: float
    rates: tuple[float, ...]
    memory_people: int
    stats_cases: tuple[int, ...]
    storage_cases: int
    closed_share: float
    burst: int
    flood: int
    profile_people: int


QUICK = Sizes(
    people=150,
    rounds=2,
    paced_seconds=10,
    rates=(50, 100),
    memory_people=400,
    stats_cases=(1_000, 10_000),
    storage_cases=3_000,
    closed_share=1 / 3,
    burst=300,
    flood=1_000,
    profile_people=60,
)
FULL = Sizes(
    people=200,
    rounds=2,
    paced_seconds=30,
    rates=(50, 100),
    memory_people=10_000,
    stats_cases=(10_000, 100_000, 1_000_000),
    storage_cases=100_000,
    closed_share=1.0,
    burst=300,
    flood=1_000,
    profile_people=200,
)


def progress(text: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


def run(sizes: Sizes, parts: tuple[str, ...], results: Results) -> None:
    for part in parts:
        started = time.perf_counter()
        try:
            run_part(part, sizes, results)
        except Exception as exc:  # a part that fails is reported; the others still run
            progress(f"{part} failed: {exc!r}")
            results.notes.append(f"**{part} failed**: `{type(exc).__name__}: {exc}`")
        results.durations[part] = time.perf_counter() - started


def run_part(part: str, sizes: Sizes, results: Results) -> None:
    if part == "throughput":
        progress(f"throughput: {sizes.people} people, {sizes.rounds} rounds each")
        results.throughput = asyncio.run(flows.throughput(sizes.people, sizes.rounds))
    if part == "latency":
        for rate in sizes.rates:
            kinds: tuple[Kind, ...] = ("clgbt", "echo")
            for kind in kinds:
                progress(f"latency: {kind} at {rate:.0f} updates/s")
                results.latency.append(
                    asyncio.run(
                        flows.paced(
                            kind,
                            rate,
                            sizes.paced_seconds,
                            drain=max(30.0, 2 * sizes.paced_seconds),
                        )
                    )
                )
    if part == "memory":
        progress(f"memory: 2 x {sizes.memory_people} people")
        results.memory = asyncio.run(flows.memory(sizes.memory_people))
    if part == "stats":
        for cases in sizes.stats_cases:
            progress(f"stats: {cases} cases")
            results.stats.append(casestats.stats_timing(cases))
    if part == "storage":
        progress(f"storage: {sizes.storage_cases} cases")
        results.storage = casestats.storage_figures(sizes.storage_cases, sizes.closed_share)
    if part == "safety":
        progress(f"safety: Quick exit after {sizes.burst}, flood of {sizes.flood}")
        results.quick_exit = asyncio.run(flows.quick_exit_after_burst(sizes.burst))
        results.flood = asyncio.run(flows.reply_during_flood(sizes.flood))
    if part == "profile":
        progress(f"profile: one clgbt round of {sizes.profile_people} people under cProfile")
        results.profile = asyncio.run(flows.profile_round(sizes.profile_people))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    mode.add_argument("--full", action="store_true", help="the issues' sizes (the default)")
    parser.add_argument("--only", nargs="+", choices=PARTS + OPTIONAL, default=list(PARTS))
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile one saturated clgbt round (not in the default parts)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--note", action="append", default=[], help="a line added to the results (repeatable)"
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    results = Results(mode="--quick" if args.quick else "--full", machine=Machine.now())
    results.notes.extend(args.note)
    started = time.perf_counter()
    parts = tuple(args.only) + (OPTIONAL if args.profile else ())
    run(sizes, parts, results)
    results.seconds = time.perf_counter() - started
    results.machine = Machine(**{**vars(results.machine), "load_after": load()})
    args.output.write_text(render(results) + "\n")
    progress(f"written to {args.output} in {results.seconds / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
