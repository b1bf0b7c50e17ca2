"""Which encrypted columns belong to a person (and so are encrypted under their data key, see
``storage.person_keys``), how the store finds the person for each, and the move of values
written before crypto-shredding (under the master key) to their person's key.

The move runs every time the store opens, in small committed batches (so an interrupted one
resumes), and finds nothing to do once a database has been moved. Until a value is moved it
stays readable: its header says it is under the master key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.db import Database
from storage.fields import VERSION, FieldCipher
from storage.keyring import Keyring
from storage.person_keys import PersonKeyError, PersonKeys

BATCH = 500


@dataclass(frozen=True)
class PersonColumn:
    table: str
    column: str
    owner: str  # an SQL expression for the person id, over ``t`` (the table) and ``join``
    join: str = ""


_CASE = "LEFT JOIN cases c ON c.id = t.case_id"

# Every per-person encrypted column. The inbox (transient updates from Telegram, emptied as
# soon as handled) and timers that belong to no person stay under the master key.
PERSON_COLUMNS: tuple[PersonColumn, ...] = (
    PersonColumn("people", "chat_id", "t.id"),
    PersonColumn("people", "consents", "t.id"),
    PersonColumn("flow_runs", "state", "t.person_id"),
    PersonColumn("cases", "answers", "t.person_id"),
    PersonColumn("cases", "waiting_since", "t.person_id"),
    PersonColumn("case_events", "body", "c.person_id", _CASE),
    PersonColumn("referrals", "summary", "c.person_id", _CASE),
    PersonColumn("scheduled_actions", "payload", "coalesce(t.person_id, c.person_id)", _CASE),
    PersonColumn("blocks", "reason", "t.person_id"),
    PersonColumn("chat_messages", "message_ids", "t.person_id"),
)

_MASTER = bytes([VERSION])


def _missing(path: Path) -> bool:
    return not path.exists()


async def open_person_keys(db: Database, keyring: Keyring, path: Path) -> PersonKeys:
    """The database's person key store, checked to be its own; made with the first open."""
    row = await db.fetchone("SELECT store_id FROM person_key_store")
    if row is not None and _missing(path):
        raise PersonKeyError(
            f"{path}: the person key store of {db.path} is missing; restore it from your "
            "latest copy of it (without it nobody's records can be read); nothing was changed"
        )
    keys = PersonKeys(path, keyring)
    if row is None:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO person_key_store (id, store_id) VALUES (1, ?)", (keys.store_id,)
            )
    elif row["store_id"] != keys.store_id:
        keys.close()
        raise PersonKeyError(
            f"{path}: this person key store belongs to another database than {db.path}; "
            "nothing was changed"
        )
    return keys


async def move_to_person_keys(
    db: Database, cipher: FieldCipher, *, batch: int = BATCH, max_batches: int | None = None
) -> int:
    """Re-encrypt every per-person value still under the master key under its person's key,
    and replace sealed archives' person links by owner tags. Returns the values moved."""
    keys = cipher.person_keys
    if keys is None:
        raise RuntimeError("the cipher has no person key store")
    moved = batches = 0
    for spec in PERSON_COLUMNS:
        while max_batches is None or batches < max_batches:
            async with db.transaction() as tx:
                cursor = await tx.execute(
                    f"SELECT t.id AS id, t.{spec.column} AS value, {spec.owner} AS owner "  # noqa: S608 - names from a constant
                    f"FROM {spec.table} t {spec.join} WHERE t.{spec.column} IS NOT NULL "
                    f"AND substr(t.{spec.column}, 1, 1) = ? AND {spec.owner} IS NOT NULL "
                    "LIMIT ?",
                    (_MASTER, batch),
                )
                rows = list(await cursor.fetchall())
                await cursor.close()
                for row in rows:
                    plain = cipher.decrypt(spec.table, spec.column, row["id"], bytes(row["value"]))
                    sealed = cipher.encrypt(
                        spec.table, spec.column, row["id"], plain, person=row["owner"]
                    )
                    await tx.execute(
                        f"UPDATE {spec.table} SET {spec.column} = ? WHERE id = ?",  # noqa: S608 - constant names
                        (sealed, row["id"]),
                    )
            if not rows:
                break
            moved += len(rows)
            batches += 1
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "SELECT id, case_code, person_id FROM sealed_archives WHERE person_id IS NOT NULL"
        )
        archives = list(await cursor.fetchall())
        await cursor.close()
        for archive in archives:
            tag = keys.get_or_create(archive["person_id"]).tag_archive(archive["case_code"])
            await tx.execute(
                "UPDATE sealed_archives SET person_id = NULL, owner_tag = ? WHERE id = ?",
                (tag, archive["id"]),
            )
    if moved or archives:
        await db.checkpoint()
    return moved


async def values_under_master_key(db: Database) -> dict[str, int]:
    """Per-person values not yet under their person's key (for tests and reports)."""
    counts: dict[str, int] = {}
    for spec in PERSON_COLUMNS:
        row = await db.fetchone(
            f"SELECT count(*) AS n FROM {spec.table} t {spec.join} "  # noqa: S608 - names from a constant
            f"WHERE t.{spec.column} IS NOT NULL AND substr(t.{spec.column}, 1, 1) = ? "
            f"AND {spec.owner} IS NOT NULL",
            (_MASTER,),
        )
        if row and row["n"]:
            counts[f"{spec.table}.{spec.column}"] = int(row["n"])
    return counts
