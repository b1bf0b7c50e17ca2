"""Scheduled actions (follow-ups, chat clean-ups, queue alerts) with due times, kept in the
database so that a restart keeps every timer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Row
from storage.ids import new_row_id
from storage.repositories.base import Repository, Tx, to_minute, to_second


@dataclass(frozen=True)
class ScheduledAction:
    id: str
    kind: str
    due_at: datetime
    person_id: str | None
    case_id: str | None
    payload: dict[str, Any]


class ScheduleRepository(Repository):
    table = "scheduled_actions"

    def _action(self, row: Row) -> ScheduledAction:
        return ScheduledAction(
            row["id"],
            row["kind"],
            datetime.fromisoformat(row["due_at"]),
            row["person_id"],
            row["case_id"],
            self.open_json("payload", row["id"], row["payload"]) or {},
        )

    async def add(
        self,
        kind: str,
        due_at: datetime,
        payload: dict[str, Any] | None = None,
        *,
        person_id: str | None = None,
        case_id: str | None = None,
        tx: Tx | None = None,
    ) -> ScheduledAction:
        if due_at.tzinfo is None:
            raise ValueError("due_at must carry a time zone")
        # Kept in clear to the second, in UTC so that the times compare as text.
        due_at = datetime.fromisoformat(to_second(due_at))
        row_id = new_row_id()
        async with self.write(tx) as w:
            person = person_id
            if person is None and case_id is not None:
                person = await self.person_of_case(case_id, w)
            await w.execute(
                "INSERT INTO scheduled_actions (id, person_id, case_id, kind, due_at, payload) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    row_id,
                    person_id,
                    case_id,
                    kind,
                    to_second(due_at),
                    self.seal_json("payload", row_id, payload or {}, person=person),
                ),
            )
        return ScheduledAction(row_id, kind, due_at, person_id, case_id, payload or {})

    async def due(self, now: datetime, kinds: tuple[str, ...] = ()) -> list[ScheduledAction]:
        rows = await self.fetch(
            "SELECT * FROM scheduled_actions WHERE done_at IS NULL AND due_at <= ? "
            "ORDER BY due_at",
            (to_second(now),),
        )
        actions = [self._action(r) for r in rows]
        return [a for a in actions if not kinds or a.kind in kinds]

    async def pending(self, kind: str | None = None) -> list[ScheduledAction]:
        rows = await self.fetch(
            "SELECT * FROM scheduled_actions WHERE done_at IS NULL ORDER BY due_at"
        )
        return [a for a in map(self._action, rows) if kind is None or a.kind == kind]

    async def mark_done(self, action_id: str, tx: Tx | None = None) -> None:
        async with self.write(tx) as w:
            await w.execute(
                "UPDATE scheduled_actions SET done_at = ? WHERE id = ?",
                (to_minute(self.clock()), action_id),
            )

    async def cancel(
        self,
        *,
        person_id: str | None = None,
        case_id: str | None = None,
        kind: str | None = None,
        tx: Tx | None = None,
    ) -> int:
        clauses, params = ["done_at IS NULL"], []
        if person_id is not None:
            clauses.append("person_id = ?")
            params.append(person_id)
        if case_id is not None:
            clauses.append("case_id = ?")
            params.append(case_id)
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        async with self.write(tx) as w:
            cursor = await w.execute(
                f"DELETE FROM scheduled_actions WHERE {' AND '.join(clauses)}",  # noqa: S608 - fixed clauses
                params,
            )
            return cursor.rowcount
