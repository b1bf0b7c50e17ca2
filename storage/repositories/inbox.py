"""The inbox: updates from Telegram kept (encrypted) from the moment they arrive until they
have been handled. A handled update keeps only its id, so a second delivery of the same update
is refused; its content is erased at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from storage.repositories.base import Repository, Tx, to_day

KEEP_HANDLED = timedelta(days=1)  # Telegram does not redeliver older updates


def _row_id(update_id: int) -> str:
    return f"u{update_id}"


class InboxRepository(Repository):
    table = "inbox"

    def _day(self) -> str:
        return to_day(self.clock())

    async def add(
        self,
        updates: list[tuple[int, dict[str, Any]]],
        tx: Tx | None = None,
        *,
        handled: list[int] | tuple[int, ...] = (),
    ) -> set[int]:
        """Store the updates not seen before; returns the ids that are new. ``handled`` are
        ids refused on arrival (a flood): kept as handled, without their content."""
        fresh: set[int] = set()
        received = self._day()
        async with self.write(tx) as w:
            if handled:
                await w.executemany(
                    "INSERT OR IGNORE INTO inbox (id, update_id, payload, received_at, done) "
                    "VALUES (?, ?, NULL, ?, 1)",
                    [(_row_id(u), u, received) for u in handled],
                )
            for update_id, payload in updates:
                row_id = _row_id(update_id)
                cursor = await w.execute(
                    "INSERT OR IGNORE INTO inbox (id, update_id, payload, received_at) "
                    "VALUES (?, ?, ?, ?)",
                    (row_id, update_id, self.seal_json("payload", row_id, payload), received),
                )
                if cursor.rowcount == 1:
                    fresh.add(update_id)
                await cursor.close()
        return fresh

    async def done(self, update_id: int, tx: Tx | None = None) -> None:
        async with self.write(tx) as w:
            await w.execute(
                "UPDATE inbox SET done = 1, payload = NULL WHERE update_id = ? AND done = 0",
                (update_id,),
            )

    async def pending(self) -> list[tuple[int, dict[str, Any]]]:
        rows = await self.fetch(
            "SELECT id, update_id, payload FROM inbox WHERE done = 0 ORDER BY update_id"
        )
        return [
            (int(r["update_id"]), self.open_json("payload", r["id"], r["payload"])) for r in rows
        ]

    async def pending_ids(self) -> set[int]:
        """The ids of updates stored but not handled (without reading their content)."""
        rows = await self.fetch("SELECT update_id FROM inbox WHERE done = 0")
        return {int(r["update_id"]) for r in rows}

    async def next_offset(self) -> int | None:
        row = await self.fetch_one("SELECT max(update_id) AS last FROM inbox")
        return None if row is None or row["last"] is None else int(row["last"]) + 1

    async def forget_handled(self, now: datetime | None = None) -> int:
        """Drop handled ids received before yesterday (kept one to two days: the day is all
        that is kept of when they came), keeping the newest (the polling offset)."""
        cutoff = to_day((now or self.clock()) - KEEP_HANDLED)
        async with self.write(None) as w:
            cursor = await w.execute(
                "DELETE FROM inbox WHERE done = 1 AND received_at < ? "
                "AND update_id < (SELECT max(update_id) FROM inbox)",
                (cutoff,),
            )
            return int(cursor.rowcount)
