"""The outbox: what an update decided must reach Telegram, kept (encrypted) from the
transaction that recorded the decision until it has been sent. A row is written with the
decision and removed once sent; rows left by a crash are sent on the next start, oldest
first."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from storage.repositories.base import Repository, Tx


class OutboxRepository(Repository):
    table = "outbox"

    async def add(self, payload: dict[str, Any], tx: Tx) -> str:
        """Keep ``payload`` in the caller's transaction; returns the row's id."""
        row_id = "o" + secrets.token_hex(8)
        await tx.execute(
            "INSERT INTO outbox (id, payload) VALUES (?, ?)",
            (row_id, self.seal_json("payload", row_id, payload)),
        )
        return row_id

    async def remove(self, row_ids: Sequence[str], tx: Tx | None = None) -> None:
        if not row_ids:
            return
        async with self.write(tx) as w:
            await w.executemany("DELETE FROM outbox WHERE id = ?", [(r,) for r in row_ids])

    async def pending(self) -> list[tuple[str, dict[str, Any]]]:
        rows = await self.fetch("SELECT id, payload FROM outbox ORDER BY seq")
        return [(str(r["id"]), self.open_json("payload", r["id"], r["payload"])) for r in rows]

    async def count(self) -> int:
        row = await self.fetch_one("SELECT count(*) AS n FROM outbox")
        return 0 if row is None else int(row["n"])
