"""Referrals to partner organisations: a code, a state, and an encrypted consented summary."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from storage.db import Row
from storage.ids import new_code, new_row_id
from storage.repositories.base import Repository, Tx

STATES = ("proposed", "consented", "sent", "accepted", "declined", "done", "cancelled")


@dataclass(frozen=True)
class Referral:
    id: str
    code: str
    case_id: str
    partner: str
    status: str
    reason: str | None
    created_on: str
    updated_on: str


def _referral(row: Row) -> Referral:
    return Referral(
        row["id"],
        row["code"],
        row["case_id"],
        row["partner"],
        row["status"],
        row["reason"],
        row["created_on"],
        row["updated_on"],
    )


class ReferralRepository(Repository):
    table = "referrals"

    async def create(
        self, case_id: str, partner: str, summary: dict[str, Any], tx: Tx | None = None
    ) -> Referral:
        today = self.today().isoformat()
        async with self.write(tx) as w:
            person = await self.person_of_case(case_id, w)
            for _ in range(10):
                row_id, code = new_row_id(), "R" + new_code()
                try:
                    await w.execute(
                        "INSERT INTO referrals (id, code, case_id, partner, status, summary, "
                        "created_on, updated_on) VALUES (?, ?, ?, ?, 'proposed', ?, ?, ?)",
                        (
                            row_id,
                            code,
                            case_id,
                            partner,
                            self.seal_json("summary", row_id, summary, person=person),
                            today,
                            today,
                        ),
                    )
                except sqlite3.IntegrityError as exc:
                    if "referrals.code" in str(exc):
                        continue
                    raise
                break
        return Referral(row_id, code, case_id, partner, "proposed", None, today, today)

    async def get_by_code(self, code: str, tx: Tx | None = None) -> Referral | None:
        row = await self.fetch_one("SELECT * FROM referrals WHERE code = ?", (code,), tx)
        return None if row is None else _referral(row)

    async def summary(self, referral_id: str, tx: Tx | None = None) -> dict[str, Any]:
        row = await self.fetch_one(
            "SELECT summary FROM referrals WHERE id = ?", (referral_id,), tx
        )
        if row is None:
            raise KeyError(referral_id)
        value: dict[str, Any] = self.open_json("summary", referral_id, row["summary"]) or {}
        return value

    async def replace_summary(
        self, referral_id: str, summary: dict[str, Any], tx: Tx | None = None
    ) -> None:
        async with self.write(tx) as w:
            row = await self.fetch_one(
                "SELECT c.person_id FROM referrals r JOIN cases c ON c.id = r.case_id "
                "WHERE r.id = ?",
                (referral_id,),
                w,
            )
            if row is None:
                return
            await w.execute(
                "UPDATE referrals SET summary = ? WHERE id = ?",
                (
                    self.seal_json("summary", referral_id, summary, person=row["person_id"]),
                    referral_id,
                ),
            )

    async def set_status(
        self, referral_id: str, status: str, reason: str | None = None, tx: Tx | None = None
    ) -> None:
        if status not in STATES:
            raise ValueError(f"unknown referral state {status!r}")
        async with self.write(tx) as w:
            await w.execute(
                "UPDATE referrals SET status = ?, reason = ?, updated_on = ? WHERE id = ?",
                (status, reason, self.today().isoformat(), referral_id),
            )

    async def for_case(self, case_id: str, tx: Tx | None = None) -> list[Referral]:
        rows = await self.fetch(
            "SELECT * FROM referrals WHERE case_id = ? ORDER BY created_on", (case_id,), tx
        )
        return [_referral(r) for r in rows]

    async def by_status(self, *statuses: str) -> list[Referral]:
        wanted = statuses or STATES
        marks = ",".join("?" * len(wanted))
        rows = await self.fetch(
            f"SELECT * FROM referrals WHERE status IN ({marks}) "  # noqa: S608 - placeholders
            "ORDER BY updated_on",
            wanted,
        )
        return [_referral(r) for r in rows]
