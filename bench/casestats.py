"""Storage figures: ``clgbt stats`` over many cases, encrypted case writes, and the purge.

Statistics: ``base`` real cases are written through the store (so ``case_statistics`` holds
rows exactly as the application writes them; a third are closed with an outcome, a fifth have
a referral result), then their rows are copied with new ids and months spread over 23 months
until the table holds the size asked for (writing a million encrypted cases would take longer
than the rest of the benchmark), and ``statistics_counts`` is filled from them by the
migration's own recount (``storage.migrations.STATISTICS_RECOUNT``). The time is that of
``clgbt stats`` without the process start (``bot.admin_commands.run_stats``: read-only open,
``build_tables`` with the taxonomy's universe, rendering), and of ``build_tables`` alone.

Writes and purge are :func:`bench.storage.run`.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import sqlite3
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from bench import storage as storage_bench
from bot.admin_commands import run_stats
from bot.config import PathSettings, Settings
from bot.statistics_labels import statistics_universe
from storage.keyring import Keyring
from storage.migrations import STATISTICS_RECOUNT
from storage.statistics import build_tables
from storage.store import Store

MONTHS = [f"{2025 + k // 12:04d}-{k % 12 + 1:02d}" for k in range(23)]  # 2025-01 .. 2026-11
TODAY = date(2026, 12, 15)  # the last complete month is 2026-11
COPY_BATCH = 100_000


@dataclass(frozen=True)
class StatsTiming:
    cases: int
    real_cases: int
    build_tables_seconds: float
    stats_command_seconds: float
    counted: int  # the total the tables report: it must equal ``cases``


async def _write_real_cases(path: Path, count: int) -> None:
    clock = datetime(2026, 6, 10, 9, tzinfo=UTC)
    store = await Store.open(path, Keyring.generate(), clock=lambda: clock)
    categories = ("work", "school", "health", "housing", "police")
    provinces = ("KH-12", "KH-17", "KH-2", "KH-3", None)
    outcomes = ("resolved", "referred", None)
    try:
        async with store.db.transaction() as tx:
            for i in range(count):
                person, _ = await store.people.get_or_create(20_000_000 + i, 20_000_000 + i, tx=tx)
                case = await store.cases.create(
                    person.id,
                    {"what": f"story {i}", "help": ["lawyer"]},
                    category=categories[i % len(categories)],
                    province=provinces[i % len(provinces)],
                    tx=tx,
                )
                if i % 3 == 0:
                    await store.cases.close(case.id, outcomes[i % len(outcomes)], tx)
                if i % 5 == 0:
                    await store.cases.record_referral_result(case.id, "successful", tx)
    finally:
        await store.close()


def _fill(path: Path, cases: int) -> None:
    """Copy the real rows of ``case_statistics`` until it holds ``cases`` rows, then count
    them into ``statistics_counts`` as migration 0008 does."""
    connection = sqlite3.connect(path)
    try:
        _copy_rows(connection, cases)
        connection.execute("DELETE FROM statistics_counts")
        connection.execute(
            "INSERT INTO statistics_counts (month, dimension, value, count) " + STATISTICS_RECOUNT
        )
        connection.commit()
    finally:
        connection.close()


def _copy_rows(connection: sqlite3.Connection, cases: int) -> None:
    """Copies with new ids, each counted (opened, closed, referred) in one of ``MONTHS``."""
    columns = [str(row[1]) for row in connection.execute("PRAGMA table_info(case_statistics)")]
    rows = connection.execute(f"SELECT {', '.join(columns)} FROM case_statistics").fetchall()
    have = len(rows)
    if not rows or have >= cases:
        return
    id_at = columns.index("id")
    months_at = [columns.index(c) for c in ("opened_month", "closed_month", "referral_month")]
    insert = (
        f"INSERT INTO case_statistics ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    source = itertools.cycle(rows)
    counter = itertools.count()
    while have < cases:
        batch = []
        for _ in range(min(COPY_BATCH, cases - have)):
            row = list(next(source))
            n = next(counter)
            row[id_at] = secrets.token_hex(8) + f"{n:x}"
            for at in months_at:
                row[at] = row[at] and MONTHS[n % len(MONTHS)]
            batch.append(tuple(row))
        connection.executemany(insert, batch)
        connection.commit()
        have += len(batch)


def stats_timing(cases: int, real_cases: int = 1000) -> StatsTiming:
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as directory:
        path = Path(directory) / "stats.sqlite3"
        real = min(cases, real_cases)
        asyncio.run(_write_real_cases(path, real))
        _fill(path, cases)
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            started = time.perf_counter()
            tables = build_tables(connection, 5, universe=statistics_universe(), today=TODAY)
            build_seconds = time.perf_counter() - started
        finally:
            connection.close()
        month_table = next(t for t in tables if t.dimension == "month")
        settings = replace(Settings(), paths=PathSettings(database=path))
        started = time.perf_counter()
        run_stats(settings, MONTHS[0], MONTHS[-1], None)
        command_seconds = time.perf_counter() - started
    return StatsTiming(cases, real, build_seconds, command_seconds, month_table.total)


@dataclass(frozen=True)
class StorageResult:
    cases: int
    writes_per_second: float
    reads_per_second: float
    sealed: int
    purge_seconds: float

    @property
    def purge_ms_per_case(self) -> float:
        return 1000 * self.purge_seconds / self.sealed if self.sealed else 0.0


def storage_figures(cases: int, closed_share: float) -> StorageResult:
    """Encrypted writes and reads per second over ``cases`` cases, and the purge (seal and
    erase) of ``closed_share`` of them, closed past retention (``bench.storage``)."""
    figures = asyncio.run(storage_bench.run(cases, closed_share))
    return StorageResult(
        cases,
        figures["writes_per_second"],
        figures["reads_per_second"],
        int(figures["sealed"]),
        figures["purge_seconds"],
    )
