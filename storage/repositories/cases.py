"""Cases: a random code, a status, coarse clear fields for statistics, encrypted answers."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Row
from storage.ids import new_code, new_row_id
from storage.repositories.base import Repository, Tx
from storage.statistics_rows import OPENING, correct_opening, insert_row, record_result

STATUSES = ("new", "waiting", "assigned", "closed")
OPEN_STATUSES = ("new", "waiting", "assigned")


@dataclass(frozen=True)
class Case:
    id: str
    code: str
    person_id: str
    status: str
    category: str | None
    province: str | None
    perpetrator: str | None
    incident_month: str | None
    urgent: bool
    outcome: str | None
    assigned_alias: str | None
    topic_id: int | None
    opened_on: str
    closed_on: str | None
    language: str | None = None
    relay: bool = False  # the person is in the counsellor chat of this case
    presence: int = 0  # casework.model.Presence: 0 none, 1 in the chat, 2 left


def _case(row: Row) -> Case:
    return Case(
        id=row["id"],
        code=row["code"],
        person_id=row["person_id"],
        status=row["status"],
        category=row["category"],
        province=row["province"],
        perpetrator=row["perpetrator"],
        incident_month=row["incident_month"],
        urgent=bool(row["urgent"]),
        outcome=row["outcome"],
        assigned_alias=row["assigned_alias"],
        topic_id=row["topic_id"],
        opened_on=row["opened_on"],
        closed_on=row["closed_on"],
        language=row["language"],
        relay=row["relay"] == 1,
        presence=int(row["relay"] or 0),
    )


class CaseRepository(Repository):
    table = "cases"

    async def create(
        self,
        person_id: str,
        answers: dict[str, Any],
        *,
        category: str | None = None,
        province: str | None = None,
        perpetrator: str | None = None,
        incident_month: str | None = None,
        urgent: bool = False,
        status: str = "new",
        tx: Tx | None = None,
    ) -> Case:
        if status not in STATUSES:
            raise ValueError(f"unknown case status {status!r}")
        today = self.today().isoformat()
        async with self.write(tx) as w:
            statistics_id = new_row_id()
            await insert_row(
                w,
                statistics_id,
                today[:7],
                category=category,
                province=province,
                perpetrator=perpetrator,
                incident_month=incident_month,
            )
            for _ in range(10):
                row_id, code = new_row_id(), new_code()
                try:
                    await w.execute(
                        "INSERT INTO cases (id, code, person_id, status, category, province, "
                        "perpetrator, incident_month, urgent, opened_on, answers, statistics_id)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            row_id,
                            code,
                            person_id,
                            status,
                            category,
                            province,
                            perpetrator,
                            incident_month,
                            int(urgent),
                            today,
                            self.seal_json("answers", row_id, answers, person=person_id),
                            statistics_id,
                        ),
                    )
                except sqlite3.IntegrityError as exc:
                    if "cases.code" in str(exc):
                        continue
                    raise
                break
            else:  # pragma: no cover - 10 collisions in a 40-bit space
                raise RuntimeError("could not allocate a unique case code")
        return Case(
            row_id,
            code,
            person_id,
            status,
            category,
            province,
            perpetrator,
            incident_month,
            urgent,
            None,
            None,
            None,
            today,
            None,
        )

    async def get(self, case_id: str, tx: Tx | None = None) -> Case | None:
        row = await self.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,), tx)
        return None if row is None else _case(row)

    async def get_by_code(self, code: str, tx: Tx | None = None) -> Case | None:
        row = await self.fetch_one("SELECT * FROM cases WHERE code = ?", (code,), tx)
        return None if row is None else _case(row)

    async def get_by_topic(self, topic_id: int, tx: Tx | None = None) -> Case | None:
        row = await self.fetch_one("SELECT * FROM cases WHERE topic_id = ?", (topic_id,), tx)
        return None if row is None else _case(row)

    async def open_for_person(self, person_id: str, tx: Tx | None = None) -> Case | None:
        row = await self.fetch_one(
            "SELECT * FROM cases WHERE person_id = ? AND status != 'closed' "
            "ORDER BY rowid DESC LIMIT 1",
            (person_id,),
            tx,
        )
        return None if row is None else _case(row)

    async def for_person(self, person_id: str, tx: Tx | None = None) -> list[Case]:
        rows = await self.fetch(
            "SELECT * FROM cases WHERE person_id = ? ORDER BY rowid", (person_id,), tx
        )
        return [_case(r) for r in rows]

    async def by_status(self, *statuses: str) -> list[Case]:
        wanted = statuses or STATUSES
        marks = ",".join("?" * len(wanted))
        rows = await self.fetch(
            f"SELECT * FROM cases WHERE status IN ({marks}) "  # noqa: S608 - placeholders only
            "ORDER BY urgent DESC, opened_on, code",
            wanted,
        )
        return [_case(r) for r in rows]

    async def answers(self, case_id: str, tx: Tx | None = None) -> dict[str, Any]:
        row = await self.fetch_one("SELECT answers FROM cases WHERE id = ?", (case_id,), tx)
        if row is None:
            raise KeyError(case_id)
        value: dict[str, Any] = self.open_json("answers", case_id, row["answers"]) or {}
        return value

    async def set_answers(
        self, case_id: str, answers: dict[str, Any], tx: Tx | None = None
    ) -> None:
        async with self.write(tx) as w:
            person = await self.person_of_case(case_id, w)
            if person is None:
                return
            await w.execute(
                "UPDATE cases SET answers = ? WHERE id = ?",
                (self.seal_json("answers", case_id, answers, person=person), case_id),
            )

    async def update(self, case_id: str, tx: Tx | None = None, **fields: Any) -> None:
        """Set clear columns: status, urgent, assigned_alias, topic_id, outcome, closed_on."""
        allowed = {
            "status",
            "urgent",
            "assigned_alias",
            "topic_id",
            "outcome",
            "closed_on",
            "category",
            "province",
            "perpetrator",
            "incident_month",
            "language",
            "relay",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(f"unknown case status {fields['status']!r}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        async with self.write(tx) as w:
            await w.execute(
                f"UPDATE cases SET {assignments} WHERE id = ?",  # noqa: S608 - names are whitelisted
                (*fields.values(), case_id),
            )
            await self._update_statistics(w, case_id, fields)

    async def _statistics_id(self, case_id: str, tx: Tx) -> str | None:
        row = await self.fetch_one("SELECT statistics_id FROM cases WHERE id = ?", (case_id,), tx)
        return None if row is None or row["statistics_id"] is None else str(row["statistics_id"])

    async def _update_statistics(self, tx: Tx, case_id: str, fields: dict[str, Any]) -> None:
        """The anonymous row follows: an outcome is counted in the month it is recorded (the
        case closes), an opening value corrected only while its month is the current one."""
        opening = {k: v for k, v in fields.items() if k in OPENING}
        if not opening and "outcome" not in fields:
            return
        statistics_id = await self._statistics_id(case_id, tx)
        if statistics_id is None:
            return
        month = self.today().isoformat()[:7]
        await correct_opening(tx, statistics_id, month, opening)
        if "outcome" in fields:
            await record_result(tx, statistics_id, "outcome", fields["outcome"], month)

    async def claim(self, case_id: str, alias: str, tx: Tx | None = None) -> bool:
        """Assign the case to ``alias`` if nobody holds it: exactly one of two racing claims
        wins, because the check and the write are one statement."""
        async with self.write(tx) as w:
            cursor = await w.execute(
                "UPDATE cases SET status = 'assigned', assigned_alias = ? WHERE id = ? "
                "AND assigned_alias IS NULL AND status = 'waiting'",
                (alias, case_id),
            )
            return cursor.rowcount == 1

    async def relayed_for_person(self, person_id: str, tx: Tx | None = None) -> Case | None:
        """The open case whose chat is relayed to a topic, if any."""
        row = await self.fetch_one(
            "SELECT * FROM cases WHERE person_id = ? AND relay = 1 AND status != 'closed' "
            "ORDER BY rowid DESC LIMIT 1",
            (person_id,),
            tx,
        )
        return None if row is None else _case(row)

    async def set_waiting_since(
        self, case_id: str, since: datetime | None, tx: Tx | None = None
    ) -> None:
        async with self.write(tx) as w:
            person = await self.person_of_case(case_id, w)
            if person is None:
                return
            value = (
                None
                if since is None
                else self.seal("waiting_since", case_id, since.isoformat(), person=person)
            )
            await w.execute("UPDATE cases SET waiting_since = ? WHERE id = ?", (value, case_id))

    async def waiting_since(self, case_id: str) -> datetime | None:
        row = await self.fetch_one("SELECT waiting_since FROM cases WHERE id = ?", (case_id,))
        if row is None or row["waiting_since"] is None:
            return None
        return datetime.fromisoformat(
            self.open_text("waiting_since", case_id, row["waiting_since"])
        )

    async def record_referral_result(
        self, case_id: str, result: str, tx: Tx | None = None
    ) -> None:
        """The anonymous statistics row keeps how the case's referral ended, counted in the
        month it is recorded."""
        async with self.write(tx) as w:
            statistics_id = await self._statistics_id(case_id, w)
            if statistics_id is not None:
                month = self.today().isoformat()[:7]
                await record_result(w, statistics_id, "referral_result", result, month)

    async def close(self, case_id: str, outcome: str | None, tx: Tx | None = None) -> None:
        await self.update(
            case_id,
            tx,
            status="closed",
            outcome=outcome,
            relay=0,
            closed_on=self.today().isoformat(),
        )

    async def delete(self, case_id: str, tx: Tx | None = None) -> None:
        async with self.write(tx) as w:
            await w.execute("DELETE FROM cases WHERE id = ?", (case_id,))

    async def count(self) -> int:
        row = await self.fetch_one("SELECT count(*) AS n FROM cases")
        return int(row["n"]) if row else 0
