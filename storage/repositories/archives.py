"""Sealed archives: closed cases sealed to the coordinators' public key (``storage.sealing``).

An archive names no person (``person_id`` stays NULL; the column is kept only because SQLite
cannot drop a column with a foreign key). Its ``owner_tag`` is an HMAC of the case code under a
key derived from the person's data key: while the person exists, erasure finds and deletes
their archives with it; once the person is erased or purged and their key destroyed, the tag
links the archive to nobody.

Archives sealed by the purge (format version 2) belong to a batch: ``sealed_batches`` holds
the batch's header (its key, HPKE-sealed to the coordinators) once, and each archive of the
batch names it in ``batch_id``. Older archives (version 1) have no batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Row
from storage.ids import new_row_id
from storage.repositories.base import Repository, Tx


@dataclass(frozen=True)
class SealedArchive:
    id: str
    case_code: str
    sealed_on: str
    sealed: bytes
    batch_id: str | None = None  # None: a version 1 archive, sealed on its own


@dataclass(frozen=True)
class ArchiveInBatch:
    """One case's archive, as the purge seals it into a batch."""

    case_code: str
    sealed: bytes
    owner_tag: bytes


def _archive(row: Row) -> SealedArchive:
    return SealedArchive(
        row["id"], row["case_code"], row["sealed_on"], bytes(row["sealed"]), row["batch_id"]
    )


class ArchiveRepository(Repository):
    table = "sealed_archives"

    async def add(
        self, case_code: str, sealed: bytes, owner_tag: bytes | None = None, tx: Tx | None = None
    ) -> SealedArchive:
        """A version 1 archive (sealed on its own, no batch)."""
        archive = SealedArchive(new_row_id(), case_code, self.today().isoformat(), sealed)
        async with self.write(tx) as w:
            await w.execute(
                "INSERT INTO sealed_archives (id, case_code, owner_tag, sealed_on, sealed) "
                "VALUES (?, ?, ?, ?, ?)",
                (archive.id, case_code, owner_tag, archive.sealed_on, sealed),
            )
        return archive

    async def add_batch(
        self, batch_id: str, sealed_key: bytes, archives: Sequence[ArchiveInBatch], tx: Tx
    ) -> None:
        """A batch header and its archives: two statements, whatever the batch's size."""
        today = self.today().isoformat()
        await tx.execute(
            "INSERT INTO sealed_batches (id, sealed_on, sealed_key) VALUES (?, ?, ?)",
            (batch_id, today, sealed_key),
        )
        await tx.executemany(
            "INSERT INTO sealed_archives (id, case_code, owner_tag, sealed_on, sealed, batch_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (new_row_id(), a.case_code, a.owner_tag, today, a.sealed, batch_id)
                for a in archives
            ],
        )

    async def batch_header(self, batch_id: str) -> bytes | None:
        """The batch's key, HPKE-sealed to the coordinators."""
        row = await self.fetch_one(
            "SELECT sealed_key FROM sealed_batches WHERE id = ?", (batch_id,)
        )
        return None if row is None else bytes(row["sealed_key"])

    async def delete_empty_batches(self, tx: Tx) -> int:
        """Batch headers whose archives are all gone (erased with their people)."""
        cursor = await tx.execute(
            "DELETE FROM sealed_batches WHERE NOT EXISTS "
            "(SELECT 1 FROM sealed_archives a WHERE a.batch_id = sealed_batches.id)"
        )
        return cursor.rowcount

    async def all(self) -> list[SealedArchive]:
        rows = await self.fetch("SELECT * FROM sealed_archives ORDER BY sealed_on, case_code")
        return [_archive(r) for r in rows]

    async def get(self, case_code: str) -> SealedArchive | None:
        row = await self.fetch_one(
            "SELECT * FROM sealed_archives WHERE case_code = ?", (case_code,)
        )
        return None if row is None else _archive(row)
