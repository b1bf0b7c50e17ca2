"""The write connection: SQLite statements run where they are called, the commit's sync to
disk in a worker thread.

A statement on this database takes microseconds; sending each one to a database thread and
back (what aiosqlite does) cost a hundred times that, and most of an update's time was such
trips. So statements run on the caller's thread (the event loop) and only what waits for the
disk, ``COMMIT`` (``synchronous = FULL``: the write-ahead log is synced) and checkpoints, goes
to aiosqlite's thread, while the database's lock keeps every other use out. The methods keep
the ``await`` shape of an asynchronous connection, so a caller never depends on where a
statement runs.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]


class Cursor:
    """A statement's result, read without further trips."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchall(self) -> list[Row]:
        return list(self._cursor.fetchall())

    async def fetchone(self) -> Row | None:
        row: Row | None = self._cursor.fetchone()
        return row

    async def close(self) -> None:
        self._cursor.close()


class Connection:
    """One SQLite connection (autocommit mode: transactions are explicit), rows as
    ``sqlite3.Row``."""

    def __init__(self, connection: sqlite3.Connection, disk: aiosqlite.Connection) -> None:
        self._connection = connection
        self._connection.row_factory = sqlite3.Row
        self._disk = disk  # the same connection, driven from aiosqlite's thread

    @classmethod
    async def open(cls, path: Path) -> Connection:
        made: list[sqlite3.Connection] = []

        def connect() -> sqlite3.Connection:
            # Used from the event loop and, for COMMIT, from aiosqlite's thread; never at
            # once (the database's lock serialises every use).
            made.append(sqlite3.connect(path, isolation_level=None, check_same_thread=False))
            return made[0]

        disk = await aiosqlite.Connection(connect, iter_chunk_size=64)
        return cls(made[0], disk)

    async def execute(self, sql: str, params: Params = ()) -> Cursor:
        return Cursor(self._connection.execute(sql, params))

    async def executemany(self, sql: str, params: Iterable[Params]) -> Cursor:
        return Cursor(self._connection.executemany(sql, params))

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        cursor = self._connection.execute(sql, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    async def in_worker(self, sql: str) -> None:
        """A statement that waits for the disk (``COMMIT``, a checkpoint), off the loop.

        Once sent it runs to its end even if the caller is cancelled, and the caller returns
        (raising the cancellation) only then: the database's lock is never released while
        the connection is still busy in the thread."""
        running = asyncio.ensure_future(self._disk.execute_fetchall(sql))  # one trip
        cancelled = False
        while not running.done():
            try:
                await asyncio.shield(running)
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError
        running.result()

    @property
    def in_transaction(self) -> bool:
        return self._connection.in_transaction

    async def close(self) -> None:
        await self._disk.close()
