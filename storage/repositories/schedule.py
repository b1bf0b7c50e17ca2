"""Scheduled actions (follow-ups, chat clean-ups, queue alerts) with due times, kept in the
database so that a restart keeps every timer.

Only the due *day* is kept in clear (``due_at``, to find the timers that may be due); the due
time itself is inside the encrypted payload, so the table is not a timeline of when people
wrote. A finished timer keeps the day it was done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage.db import Row
from storage.ids import new_row_id
from storage.repositories.base import Repository, Tx, to_day


@dataclass(frozen=True)
class ScheduledAction:
    id: str
    kind: str
    due_at: datetime
    person_id: str | None
    case_id: str | None
    payload: dict[str, Any]


_DUE = "due"  # the payload's key for the due time
# A timer with the person whose key encrypts its payload (its own, or its case's person's).
_WITH_OWNER = (
    "SELECT s.*, coalesce(s.person_id, c.person_id) AS owner "
    "FROM scheduled_actions s LEFT JOIN cases c ON c.id = s.case_id"
)


def _due_time(moment: datetime) -> datetime:
    """To the second, in UTC (rounded down: a timer comes due less than a second early)."""
    return moment.astimezone(UTC).replace(microsecond=0)


class ScheduleRepository(Repository):
    table = "scheduled_actions"

    def _action(self, row: Row) -> ScheduledAction:
        payload = dict(self.open_json("payload", row["id"], row["payload"]) or {})
        due = payload.pop(_DUE, None)
        # A timer written before due times were encrypted has its time in the clear column
        # (until ``hide_due_times`` moves it, when the store opens).
        due_at = datetime.fromisoformat(str(due) if due is not None else row["due_at"])
        if due_at.tzinfo is None:
            due_at = due_at.replace(tzinfo=UTC)
        return ScheduledAction(
            row["id"], row["kind"], due_at, row["person_id"], row["case_id"], payload
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
        due_at = _due_time(due_at)
        sealed = {**(payload or {}), _DUE: due_at.isoformat()}
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
                    to_day(due_at),
                    self.seal_json("payload", row_id, sealed, person=person),
                ),
            )
        return ScheduledAction(row_id, kind, due_at, person_id, case_id, payload or {})

    async def due(self, now: datetime, kinds: tuple[str, ...] = ()) -> list[ScheduledAction]:
        """The pending timers due at ``now``, soonest first: those due on a day up to today
        are opened and their encrypted due times compared."""
        rows = await self.fetch(
            "SELECT * FROM scheduled_actions WHERE done_at IS NULL AND due_at <= ?",
            (to_day(now) + "~",),  # "~" sorts after a legacy row's "T09:00:00+00:00"
        )
        actions = [self._action(r) for r in rows if not kinds or r["kind"] in kinds]
        return sorted((a for a in actions if a.due_at <= now), key=lambda a: a.due_at)

    async def pending(self, kind: str | None = None) -> list[ScheduledAction]:
        rows = await self.fetch("SELECT * FROM scheduled_actions WHERE done_at IS NULL")
        actions = [self._action(r) for r in rows if kind is None or r["kind"] == kind]
        return sorted(actions, key=lambda a: a.due_at)

    async def mark_done(self, action_id: str, tx: Tx | None = None) -> None:
        async with self.write(tx) as w:
            await w.execute(
                "UPDATE scheduled_actions SET done_at = ? WHERE id = ?",
                (to_day(self.clock()), action_id),
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

    async def hide_due_times(self, batch: int = 500) -> int:
        """Move the due times of timers written before they were encrypted into their
        payloads, leaving the day in clear. Runs when the store opens; finds nothing to do
        once done."""
        moved = 0
        while True:
            rows = await self.fetch(f"{_WITH_OWNER} WHERE length(s.due_at) > 10 LIMIT ?", (batch,))
            if not rows:
                return moved
            async with self.db.transaction() as tx:
                for row in rows:
                    await self._set_due(tx, row, self._action(row).due_at)
            moved += len(rows)

    async def reschedule(self, action_id: str, due_at: datetime, tx: Tx | None = None) -> None:
        """Move a pending timer to another time (its due time stays encrypted)."""
        async with self.write(tx) as w:
            rows = await w.execute_fetchall(
                f"{_WITH_OWNER} WHERE s.id = ? AND s.done_at IS NULL", (action_id,)
            )
            for row in rows:
                await self._set_due(w, row, _due_time(due_at))

    async def _set_due(self, tx: Tx, row: Row, due_at: datetime) -> None:
        """Write ``due_at`` into the timer's encrypted payload and its day in clear."""
        sealed = {**self._action(row).payload, _DUE: due_at.isoformat()}
        await tx.execute(
            "UPDATE scheduled_actions SET due_at = ?, payload = ? WHERE id = ?",
            (
                to_day(due_at),
                self.seal_json("payload", row["id"], sealed, person=row["owner"]),
                row["id"],
            ),
        )
