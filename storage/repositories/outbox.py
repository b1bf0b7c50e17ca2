"""The outbox: what an update decided must reach Telegram, kept (encrypted) from the
transaction that recorded the decision until it has been sent. A row is written with the
decision and removed once sent; rows left by a crash are sent on the next start, oldest
first."""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Sequence
from typing import Any

from storage.fields import DecryptionError
from storage.repositories.base import Repository, Tx


class OutboxRepository(Repository):
    table = "outbox"

    async def add(self, payload: dict[str, Any], tx: Tx, *, person: str | None = None) -> str:
        """Keep ``payload`` in the caller's transaction; returns the row's id. A row about a
        person is sealed under their data key: erasing them makes it unreadable too."""
        row_id = "o" + secrets.token_hex(8)
        await tx.execute(
            "INSERT INTO outbox (id, payload) VALUES (?, ?)",
            (row_id, self.seal_json("payload", row_id, payload, person=person)),
        )
        return row_id

    async def replace(
        self, row_id: str, payload: dict[str, Any], tx: Tx, *, person: str | None = None
    ) -> None:
        await tx.execute(
            "UPDATE outbox SET payload = ? WHERE id = ?",
            (self.seal_json("payload", row_id, payload, person=person), row_id),
        )

    async def remove(self, row_ids: Sequence[str], tx: Tx | None = None) -> None:
        if not row_ids:
            return
        async with self.write(tx) as w:
            await w.executemany("DELETE FROM outbox WHERE id = ?", [(r,) for r in row_ids])

    async def pending(
        self, skip: Collection[str] = frozenset(), tx: Tx | None = None
    ) -> list[tuple[str, dict[str, Any] | None]]:
        """Every row (but those in ``skip``), oldest first; ``None`` for one that cannot be
        opened (its person was erased, or it is damaged): it can only be removed. Rows in
        ``skip`` are not even read (a replay while updates are running skips theirs)."""
        ids = await self.fetch("SELECT id FROM outbox ORDER BY seq", (), tx)
        wanted = [str(r["id"]) for r in ids if str(r["id"]) not in skip]
        if not wanted:
            return []
        rows = await self.fetch(
            "SELECT id, payload FROM outbox WHERE id IN (SELECT value FROM json_each(?)) "
            "ORDER BY seq",
            (json.dumps(wanted),),
            tx,
        )
        kept: list[tuple[str, dict[str, Any] | None]] = []
        for row in rows:
            try:
                payload = self.open_json("payload", row["id"], row["payload"])
            except (DecryptionError, ValueError):
                payload = None
            kept.append((str(row["id"]), payload if isinstance(payload, dict) else None))
        return kept

    async def count(self) -> int:
        row = await self.fetch_one("SELECT count(*) AS n FROM outbox")
        return 0 if row is None else int(row["n"])
