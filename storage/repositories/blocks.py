"""Blocks: a pseudonym silenced for abuse, with a reason (encrypted) and an expiry.

The expiry is kept in clear as a day (never a time): a block runs to the end of that day in
UTC, so a block of N days lasts at least N days and less than N + 1."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from storage.ids import new_row_id
from storage.repositories.base import Repository, Tx, to_day


@dataclass(frozen=True)
class Block:
    id: str
    person_id: str
    until: date  # the last day (UTC) of the block
    by_alias: str
    reason: str


class BlockRepository(Repository):
    table = "blocks"

    async def add(
        self, person_id: str, until: datetime, by_alias: str, reason: str, tx: Tx | None = None
    ) -> Block:
        last_day = date.fromisoformat(to_day(until))
        block = Block(new_row_id(), person_id, last_day, by_alias, reason)
        async with self.write(tx) as w:
            await w.execute(
                "INSERT INTO blocks (id, person_id, reason, until, by_alias) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    block.id,
                    person_id,
                    self.seal("reason", block.id, reason, person=person_id),
                    last_day.isoformat(),
                    by_alias,
                ),
            )
        return block

    async def active(self, person_id: str, tx: Tx | None = None) -> Block | None:
        rows = await self.fetch(
            "SELECT * FROM blocks WHERE person_id = ? AND lifted = 0 AND until >= ? "
            "ORDER BY until DESC LIMIT 1",
            (person_id, to_day(self.clock())),
            tx,
        )
        if not rows:
            return None
        row = rows[0]
        return Block(
            row["id"],
            row["person_id"],
            date.fromisoformat(row["until"][:10]),
            row["by_alias"],
            self.open_text("reason", row["id"], row["reason"]),
        )

    async def lift(self, person_id: str, tx: Tx | None = None) -> int:
        async with self.write(tx) as w:
            cursor = await w.execute(
                "UPDATE blocks SET lifted = 1 WHERE person_id = ? AND lifted = 0", (person_id,)
            )
            return cursor.rowcount
