"""Sealed archives: closed cases sealed to the coordinators' public key (HPKE).

An archive names no person (``person_id`` stays NULL; the column is kept only because SQLite
cannot drop a column with a foreign key). Its ``owner_tag`` is an HMAC of the case code under a
key derived from the person's data key: while the person exists, erasure finds and deletes
their archives with it; once the person is erased or purged and their key destroyed, the tag
links the archive to nobody."""

from __future__ import annotations

from dataclasses import dataclass

from storage.ids import new_row_id
from storage.repositories.base import Repository, Tx


@dataclass(frozen=True)
class SealedArchive:
    id: str
    case_code: str
    sealed_on: str
    sealed: bytes


class ArchiveRepository(Repository):
    table = "sealed_archives"

    async def add(
        self, case_code: str, sealed: bytes, owner_tag: bytes | None = None, tx: Tx | None = None
    ) -> SealedArchive:
        archive = SealedArchive(new_row_id(), case_code, self.today().isoformat(), sealed)
        async with self.write(tx) as w:
            await w.execute(
                "INSERT INTO sealed_archives (id, case_code, owner_tag, sealed_on, sealed) "
                "VALUES (?, ?, ?, ?, ?)",
                (archive.id, case_code, owner_tag, archive.sealed_on, sealed),
            )
        return archive

    async def all(self) -> list[SealedArchive]:
        rows = await self.fetch("SELECT * FROM sealed_archives ORDER BY sealed_on, case_code")
        return [
            SealedArchive(r["id"], r["case_code"], r["sealed_on"], bytes(r["sealed"]))
            for r in rows
        ]

    async def get(self, case_code: str) -> SealedArchive | None:
        row = await self.fetch_one(
            "SELECT * FROM sealed_archives WHERE case_code = ?", (case_code,)
        )
        return (
            None
            if row is None
            else SealedArchive(row["id"], row["case_code"], row["sealed_on"], bytes(row["sealed"]))
        )
