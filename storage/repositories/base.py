"""What every repository shares: the database, the field cipher and an injected clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

from storage.connection import Connection, Params, Row
from storage.db import Database
from storage.fields import FieldCipher

Clock = Callable[[], datetime]
Tx = Connection


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_day(moment: datetime) -> str:
    """A date kept in clear: the UTC day, never a time. Anything that needs the time of day
    (a timer's due time, a block's end) keeps it encrypted."""
    return moment.astimezone(UTC).date().isoformat()


class Repository:
    table: str = ""

    def __init__(self, db: Database, cipher: FieldCipher, clock: Clock = utc_now) -> None:
        self.db = db
        self.cipher = cipher
        self.clock = clock

    def today(self) -> date:
        return self.clock().date()

    @asynccontextmanager
    async def write(self, tx: Tx | None) -> AsyncIterator[Tx]:
        """Join the caller's transaction, or run in a new one."""
        if tx is not None:
            yield tx
            return
        async with self.db.transaction() as new:
            yield new

    async def fetch(self, sql: str, params: Params = (), tx: Tx | None = None) -> list[Row]:
        if tx is None:
            return await self.db.fetchall(sql, params)
        # One trip to the database thread (execute, fetch and close together), not three.
        rows = await tx.execute_fetchall(sql, params)
        return list(rows)

    async def fetch_one(self, sql: str, params: Params = (), tx: Tx | None = None) -> Row | None:
        rows = await self.fetch(sql, params, tx)
        return rows[0] if rows else None

    async def person_of_case(self, case_id: str, tx: Tx | None = None) -> str | None:
        """Whose key encrypts the values about a case."""
        row = await self.fetch_one("SELECT person_id FROM cases WHERE id = ?", (case_id,), tx)
        return None if row is None else str(row["person_id"])

    def seal(
        self, column: str, row_id: str, value: str | bytes, *, person: str | None = None
    ) -> bytes:
        """Encrypt under ``person``'s data key (crypto-shredding), or the master key."""
        return self.cipher.encrypt(self.table, column, row_id, value, person=person)

    def open_text(self, column: str, row_id: str, value: bytes) -> str:
        return self.cipher.decrypt_text(self.table, column, row_id, value)

    def seal_json(
        self, column: str, row_id: str, value: Any, *, person: str | None = None
    ) -> bytes:
        return self.seal(
            column, row_id, json.dumps(value, ensure_ascii=False, sort_keys=True), person=person
        )

    def open_json(self, column: str, row_id: str, value: bytes | None) -> Any:
        if value is None:
            return None
        return json.loads(self.open_text(column, row_id, value))
