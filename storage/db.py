"""The database: one connection for all writes (``BEGIN IMMEDIATE``), WAL, foreign keys, a
busy timeout and ``secure_delete`` (statements run in place, commits in a worker thread: see
``storage.connection``).

Opening checks, before writing a single byte, that the code knows every applied migration and
that the keyring opens the database's key check values; a refusal leaves the files as they were.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from storage.connection import Connection, Params, Row
from storage.fields import DecryptionError, FieldCipher
from storage.keyring import Keyring, KeyringError
from storage.migrations import KNOWN_NAMES, MIGRATIONS, Migration
from storage.writer_lock import DatabaseInUse, WriterLock

KEY_CHECK_PLAINTEXT = b"clgbt key check v1"
BUSY_TIMEOUT_MS = 5000


class DatabaseError(Exception):
    """A problem opening or migrating the database, phrased for the operator."""


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that reads without writing. With no ``-wal`` file (the database was
    closed cleanly) it is opened ``immutable``, which creates no ``-shm`` or ``-wal`` either."""
    quoted = urllib.parse.quote(str(path.resolve()))
    wal = path.with_name(path.name + "-wal")
    immutable = "&immutable=1" if not wal.exists() else ""
    return sqlite3.connect(f"file:{quoted}?mode=ro{immutable}", uri=True)


def _sidecars(path: Path) -> set[Path]:
    return {
        p
        for p in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
        if p.exists()
    }


def inspect_existing(path: Path) -> tuple[list[str], dict[int, bytes]]:
    """Applied migration names and key check values, read without writing anything."""
    if not path.exists():
        return [], {}
    sidecars_before = _sidecars(path)
    try:
        connection = open_read_only(path)
    except sqlite3.Error as exc:
        raise DatabaseError(f"{path}: cannot be opened ({exc})") from None
    try:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        applied = (
            [
                row[0]
                for row in connection.execute("SELECT name FROM schema_migrations ORDER BY name")
            ]
            if "schema_migrations" in tables
            else []
        )
        checks = (
            {
                int(row[0]): bytes(row[1])
                for row in connection.execute("SELECT key_id, check_value FROM key_checks")
            }
            if "key_checks" in tables
            else {}
        )
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path}: is not a clgbt database ({exc})") from None
    finally:
        connection.close()
        for created in _sidecars(path) - sidecars_before:
            # Left by this read-only look only (another writer would have had them already).
            created.unlink(missing_ok=True)
    return applied, checks


def verify_keyring(path: Path, keyring: Keyring, checks: dict[int, bytes]) -> None:
    cipher = FieldCipher(keyring)
    missing = sorted(set(checks) - set(keyring.ids))
    if missing:
        raise KeyringError(
            f"{path}: the database was written with key id(s) {missing}, which the keyring "
            f"does not hold (it holds {keyring.ids}); use the key file that belongs to this "
            "database"
        )
    for key_id, value in checks.items():
        try:
            opened = cipher.decrypt("key_checks", "check_value", str(key_id), value)
        except DecryptionError:
            opened = b""
        if opened != KEY_CHECK_PLAINTEXT:
            raise KeyringError(
                f"{path}: the master key (id {key_id}) does not open this database; nothing "
                "was changed. Use the key file that belongs to this database"
            )


def make_private(path: Path) -> None:
    """The database file (and its -wal and -shm) exist with mode 0600 before SQLite opens them:
    SQLite gives its -wal and -shm the database file's mode, and a file it creates itself would
    follow the umask (often world-readable). An existing file is tightened to 0600."""
    try:
        descriptor = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
    except FileExistsError:
        pass
    else:
        os.close(descriptor)
    for candidate in (path, *_sidecars(path)):
        if not candidate.is_symlink() and candidate.stat().st_mode & 0o077:
            candidate.chmod(0o600)


class Database:
    """One connection; every write and read is serialised through it."""

    def __init__(self, connection: Connection, path: Path, lock: WriterLock | None = None) -> None:
        self._writer_lock = lock
        self._connection = connection
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._batch: asyncio.Future[None] | None = None  # the commit units are waiting for
        self._committers: set[asyncio.Task[None]] = set()
        self._closed = False
        self.path = path

    @classmethod
    async def open(
        cls, path: Path, keyring: Keyring, migrations: Sequence[Migration] = MIGRATIONS
    ) -> Database:
        applied, checks = inspect_existing(path)
        known = {m.name for m in migrations}
        unknown = sorted(set(applied) - known)
        if unknown:
            raise DatabaseError(
                f"{path}: the database is newer than this version of clgbt (it has migration "
                f"{unknown[0]}); upgrade clgbt before opening it"
            )
        verify_keyring(path, keyring, checks)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            lock = WriterLock.acquire(path)
        except DatabaseInUse as exc:
            raise DatabaseError(str(exc)) from None
        try:
            make_private(path)
            connection = await Connection.open(path)
        except BaseException:
            lock.release()
            raise
        database = cls(connection, path, lock)
        try:
            for pragma in (
                "journal_mode = WAL",
                "foreign_keys = ON",
                f"busy_timeout = {BUSY_TIMEOUT_MS}",
                "secure_delete = ON",
                "synchronous = FULL",
            ):
                await connection.execute(f"PRAGMA {pragma}")
            await database.migrate(migrations)
            await database.ensure_key_checks(keyring)
        except BaseException:
            await connection.close()
            lock.release()
            raise
        return database

    async def close(self) -> None:
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                await self._commit_pending()
                await self._connection.in_worker("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                try:  # closed even when the checkpoint fails (its thread would keep the
                    await self._connection.close()  # process from exiting)
                finally:
                    if self._writer_lock is not None:
                        self._writer_lock.release()

    # ------------------------------------------------------------ transactions
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One unit of work, all or nothing, durable when the block is left.

        Group commit: units that run while a commit is pending share it. The first unit
        opens an SQLite transaction (``BEGIN IMMEDIATE``) and queues a commit behind whoever
        is already waiting for the connection; each unit runs inside its own savepoint (an
        exception rolls back that unit only) and, once its statements are done, lets the
        next unit in and waits for the shared ``COMMIT``, so that nothing is acted on (a
        message sent) before it is on disk. Units that finish together share one sync.
        """
        self._refuse_reentry()
        async with self._lock:
            self._owner = asyncio.current_task()
            try:
                batch = await self._join_batch()
                await self._connection.execute("SAVEPOINT unit")
                try:
                    yield self._connection
                except BaseException:
                    await self._connection.execute("ROLLBACK TO unit")
                    await self._connection.execute("RELEASE unit")
                    raise
                await self._connection.execute("RELEASE unit")
            finally:
                self._owner = None
        await asyncio.shield(batch)

    async def _join_batch(self) -> asyncio.Future[None]:
        """The pending commit this unit joins; a new one (and its committer) if none."""
        if self._batch is not None:
            return self._batch
        await self._connection.execute("BEGIN IMMEDIATE")
        batch: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._batch = batch
        task = asyncio.create_task(self._commit_when_due(batch))
        self._committers.add(task)
        task.add_done_callback(self._committers.discard)
        return batch

    async def _commit_when_due(self, batch: asyncio.Future[None]) -> None:
        async with self._lock:  # behind every unit already waiting: they join this commit
            await self._commit_pending()

    async def _commit_pending(self) -> None:
        """Commit the open batch, if any (the caller holds the lock)."""
        batch, self._batch = self._batch, None
        if batch is None:
            return
        try:
            await self._connection.in_worker("COMMIT")
        except BaseException as exc:
            if self._connection.in_transaction:
                await self._connection.execute("ROLLBACK")
            if not batch.done():
                batch.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if not batch.done():
            batch.set_result(None)

    def _refuse_reentry(self) -> None:
        """Inside a transaction every read must use its connection (``tx``): waiting for the
        lock the same task holds would hang forever, so it is an error instead."""
        if self._owner is not None and self._owner is asyncio.current_task():
            raise RuntimeError(
                "database used outside the open transaction by the task that "
                "holds it; pass tx= to the repository call"
            )

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        self._refuse_reentry()
        async with self._lock:
            # One trip to the database thread (execute, fetch and close together), not three.
            rows = await self._connection.execute_fetchall(sql, params)
        return list(rows)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    def raw_reader(self) -> sqlite3.Connection:
        """A separate read-only connection for the anonymous statistics tables."""
        return open_read_only(self.path)

    async def checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it, so deleted data leaves the WAL."""
        async with self._lock:
            await self._commit_pending()
            await self._connection.in_worker("PRAGMA wal_checkpoint(TRUNCATE)")

    # ------------------------------------------------------------ schema
    async def applied_migrations(self) -> list[str]:
        await self._connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        rows = await self.fetchall("SELECT name FROM schema_migrations ORDER BY name")
        return [row["name"] for row in rows]

    async def migrate(self, migrations: Iterable[Migration] = MIGRATIONS) -> list[str]:
        """Apply every migration not yet applied, in order; return the names applied."""
        done = set(await self.applied_migrations())
        applied: list[str] = []
        for migration in migrations:
            if migration.name in done:
                continue
            async with self.transaction() as tx:
                for statement in migration.statements:
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations (name) VALUES (?)", (migration.name,)
                )
            applied.append(migration.name)
        return applied

    async def ensure_key_checks(self, keyring: Keyring) -> None:
        cipher = FieldCipher(keyring)
        present = {row["key_id"] for row in await self.fetchall("SELECT key_id FROM key_checks")}
        for key_id in keyring.ids:
            if key_id in present:
                continue
            value = cipher.encrypt(
                "key_checks", "check_value", str(key_id), KEY_CHECK_PLAINTEXT, key_id=key_id
            )
            async with self.transaction() as tx:
                await tx.execute(
                    "INSERT INTO key_checks (key_id, check_value) VALUES (?, ?)", (key_id, value)
                )

    async def forget_key_check(self, key_id: int) -> None:
        async with self.transaction() as tx:
            await tx.execute("DELETE FROM key_checks WHERE key_id = ?", (key_id,))


__all__ = ["KNOWN_NAMES", "Database", "DatabaseError", "Row"]
