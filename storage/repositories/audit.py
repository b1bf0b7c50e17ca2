"""The audit log: who (an alias) read or exported what, and when. Nothing personal."""

from __future__ import annotations

from dataclasses import dataclass

from storage.ids import new_row_id
from storage.repositories.base import Repository, Tx, to_day


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: str
    actor: str
    action: str
    target: str | None


class AuditRepository(Repository):
    table = "audit_log"

    async def record(
        self, actor: str, action: str, target: str | None = None, tx: Tx | None = None
    ) -> AuditEntry:
        # The day only: the log says who did what, not a timeline to match against traffic.
        entry = AuditEntry(new_row_id(), to_day(self.clock()), actor, action, target)
        async with self.write(tx) as w:
            await w.execute(
                "INSERT INTO audit_log (id, at, actor, action, target) VALUES (?, ?, ?, ?, ?)",
                (entry.id, entry.at, entry.actor, entry.action, entry.target),
            )
        return entry

    async def recent(self, limit: int = 20) -> list[AuditEntry]:
        rows = await self.fetch(
            "SELECT * FROM audit_log ORDER BY at DESC, rowid DESC LIMIT ?", (limit,)
        )
        return [AuditEntry(r["id"], r["at"], r["actor"], r["action"], r["target"]) for r in rows]
