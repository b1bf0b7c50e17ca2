"""Case events: claimed, note, referred, closed... who (an alias) and when; notes encrypted."""

from __future__ import annotations

from dataclasses import dataclass

from storage.ids import new_row_id
from storage.repositories.base import Repository, Tx


@dataclass(frozen=True)
class CaseEvent:
    id: str
    case_id: str
    kind: str
    actor: str
    occurred_on: str
    body: str | None


class CaseEventRepository(Repository):
    table = "case_events"

    async def add(
        self, case_id: str, kind: str, actor: str, body: str | None = None, tx: Tx | None = None
    ) -> CaseEvent:
        row_id = new_row_id()
        today = self.today().isoformat()
        async with self.write(tx) as w:
            person = await self.person_of_case(case_id, w)
            await w.execute(
                "INSERT INTO case_events (id, case_id, kind, actor, occurred_on, body) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    row_id,
                    case_id,
                    kind,
                    actor,
                    today,
                    None if body is None else self.seal("body", row_id, body, person=person),
                ),
            )
        return CaseEvent(row_id, case_id, kind, actor, today, body)

    async def for_case(self, case_id: str, tx: Tx | None = None) -> list[CaseEvent]:
        rows = await self.fetch(
            "SELECT * FROM case_events WHERE case_id = ? ORDER BY occurred_on, rowid",
            (case_id,),
            tx,
        )
        return [
            CaseEvent(
                r["id"],
                r["case_id"],
                r["kind"],
                r["actor"],
                r["occurred_on"],
                None if r["body"] is None else self.open_text("body", r["id"], r["body"]),
            )
            for r in rows
        ]
