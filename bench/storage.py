"""Storage benchmark: encrypted writes and reads per second, and purge time, on 100,000 cases.

Run: ``.venv/bin/python -m bench.storage [--cases N]``. Figures go in the README's
performance section. Nothing here is a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.keyring import Keyring
from storage.retention import RetentionPolicy, purge
from storage.sealing import CoordinatorPrivateKey
from storage.store import Store

BATCH = 1000


async def run(cases: int, closed_share: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        start_day = datetime(2026, 1, 1, 9, tzinfo=UTC)
        now = [start_day]
        store = await Store.open(
            Path(directory) / "bench.sqlite3", Keyring.generate(), clock=lambda: now[0]
        )
        people = []
        for n in range(0, cases, BATCH):
            async with store.db.transaction() as tx:
                for i in range(n, min(n + BATCH, cases)):
                    person, _ = await store.people.get_or_create(
                        10_000_000 + i, 10_000_000 + i, tx=tx
                    )
                    people.append(person.id)

        started = time.perf_counter()
        case_ids: list[str] = []
        for n in range(0, cases, BATCH):
            async with store.db.transaction() as tx:
                for i in range(n, min(n + BATCH, cases)):
                    case = await store.cases.create(
                        people[i],
                        {"what": f"story {i} " * 20, "help": ["lawyer"]},
                        category="work",
                        province="PP",
                        tx=tx,
                    )
                    case_ids.append(case.id)
        writes = cases / (time.perf_counter() - started)

        started = time.perf_counter()
        for case_id in case_ids:
            await store.cases.answers(case_id)
        reads = cases / (time.perf_counter() - started)

        closed = int(cases * closed_share)
        async with store.db.transaction() as tx:
            for case_id in case_ids[:closed]:
                await store.cases.close(case_id, "resolved", tx)
        now[0] = start_day + timedelta(days=120)
        private = CoordinatorPrivateKey.generate()
        started = time.perf_counter()
        report = await purge(store, RetentionPolicy(), now[0].date(), private.public_key())
        purge_seconds = time.perf_counter() - started
        assert report.cases_sealed == closed
        await store.close()
    return {
        "writes_per_second": writes,
        "reads_per_second": reads,
        "purge_seconds": purge_seconds,
        "sealed": float(closed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument(
        "--closed-share",
        type=float,
        default=0.1,
        help="share of cases closed past retention, sealed by the purge",
    )
    args = parser.parse_args()
    figures = asyncio.run(run(args.cases, args.closed_share))
    print(f"cases: {args.cases}")
    print(f"encrypted case writes: {figures['writes_per_second']:,.0f} per second")
    print(f"encrypted case reads:  {figures['reads_per_second']:,.0f} per second")
    print(
        f"purge (sealing {figures['sealed']:,.0f} closed cases): {figures['purge_seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
