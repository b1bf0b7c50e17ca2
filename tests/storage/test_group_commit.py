"""Group commit: units of work that finish together share one COMMIT, each is still all or
nothing, and none is left before its commit is on disk."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.connection import Connection
from storage.db import Database
from storage.keyring import Keyring


@pytest.fixture
async def database(db_path: Path, keyring: Keyring) -> Database:
    db = await Database.open(db_path, keyring)
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE notes (n INTEGER)")
    return db


def committed(db_path: Path) -> list[int]:
    """What another connection sees: only what is committed."""
    reader = sqlite3.connect(db_path)
    try:
        return sorted(n for (n,) in reader.execute("SELECT n FROM notes"))
    finally:
        reader.close()


async def test_units_waiting_together_share_one_commit(
    database: Database, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits: list[str] = []
    in_worker = Connection.in_worker

    async def counting(self: Connection, sql: str) -> None:
        await in_worker(self, sql)
        if sql == "COMMIT":
            commits.append(sql)

    monkeypatch.setattr(Connection, "in_worker", counting)
    seen_after: dict[int, list[int]] = {}

    async def unit(n: int) -> None:
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))
        seen_after[n] = committed(db_path)  # left only once it is on disk

    await asyncio.gather(*(unit(n) for n in range(10)))
    assert committed(db_path) == list(range(10))
    assert all(n in seen for n, seen in seen_after.items()), "durable before the unit ends"
    assert 1 <= len(commits) < 10, f"{len(commits)} commits for 10 units"
    await database.close()


async def test_a_failing_unit_rolls_back_alone(database: Database, db_path: Path) -> None:
    async def good(n: int) -> None:
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))

    async def bad() -> None:
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO notes (n) VALUES (99)")
            raise ValueError("this unit fails")

    results = await asyncio.gather(good(1), bad(), good(2), return_exceptions=True)
    assert isinstance(results[1], ValueError)
    assert results[0] is None and results[2] is None
    assert committed(db_path) == [1, 2]
    await database.close()


async def test_a_failed_commit_fails_every_unit_in_it(
    database: Database, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_worker = Connection.in_worker

    async def failing(self: Connection, sql: str) -> None:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("disk I/O error")
        await in_worker(self, sql)

    async def unit(n: int) -> None:
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO notes (n) VALUES (?)", (n,))

    monkeypatch.setattr(Connection, "in_worker", failing)
    results = await asyncio.gather(unit(1), unit(2), return_exceptions=True)
    assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
    monkeypatch.setattr(Connection, "in_worker", in_worker)
    await unit(3)  # the connection is usable again, and nothing of the failed batch stayed
    assert committed(db_path) == [3]
    await database.close()


async def test_a_cancelled_commit_returns_only_once_it_has_ended(tmp_path: Path) -> None:
    """Cancelling whoever waits for a commit never frees the connection while the commit is
    still running in the database thread (the next unit would find a transaction open)."""
    connection = await Connection.open(tmp_path / "c.sqlite3")
    await connection.execute("BEGIN IMMEDIATE")
    await connection.execute("CREATE TABLE t (x INTEGER)")
    waiting = asyncio.create_task(connection.in_worker("COMMIT"))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not connection.in_transaction, "the commit had ended when the cancellation came"
    await connection.close()
