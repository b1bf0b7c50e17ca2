"""Key rotation: re-encrypt every value under the primary key, in small committed batches, so
an interrupted rotation simply resumes where it stopped.

Values under a person's data key are not touched: the person key store's wrapped data keys are
re-wrapped under the new primary key instead. Values still under the master key are those that
belong to nobody (the inbox, timers without a person) and, in a database not yet moved, older
per-person values, which are moved to their person's key first."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from storage.fields import VERSION, key_id_of
from storage.shredding import move_to_person_keys
from storage.store import ENCRYPTED_COLUMNS, Store

BATCH = 500


@dataclass
class RotationReport:
    reencrypted: dict[str, int] = field(default_factory=dict)
    pseudonyms: int = 0
    person_keys: int = 0
    moved_to_person_keys: int = 0

    @property
    def total(self) -> int:
        return (
            sum(self.reencrypted.values())
            + self.pseudonyms
            + self.person_keys
            + self.moved_to_person_keys
        )


_MASTER = bytes([VERSION])


async def rows_on_other_keys(store: Store) -> dict[str, int]:
    """How many values each column still holds under a master key other than the primary,
    and how many person data keys are wrapped under one."""
    primary = struct.pack(">H", store.keyring.primary_id)
    counts: dict[str, int] = {}
    for table, column in ENCRYPTED_COLUMNS:
        row = await store.db.fetchone(
            f"SELECT count(*) AS n FROM {table} WHERE {column} IS NOT NULL "  # noqa: S608 - names from a constant
            f"AND substr({column}, 1, 1) = ? AND substr({column}, 2, 2) != ?",
            (_MASTER, primary),
        )
        if row and row["n"]:
            counts[f"{table}.{column}"] = int(row["n"])
    wrapped = store.person_keys.count_on_other_keys()
    if wrapped:
        counts["person_keys"] = wrapped
    row = await store.db.fetchone(
        "SELECT count(*) AS n FROM people WHERE pseudonym_key_id != ?", (store.keyring.primary_id,)
    )
    if row and row["n"]:
        counts["people.pseudonym"] = int(row["n"])
    return counts


async def rows_on_key(store: Store, key_id: int) -> int:
    marker = struct.pack(">H", key_id)
    total = 0
    for table, column in ENCRYPTED_COLUMNS:
        row = await store.db.fetchone(
            f"SELECT count(*) AS n FROM {table} WHERE substr({column}, 1, 1) = ? "  # noqa: S608 - names from a constant
            f"AND substr({column}, 2, 2) = ?",
            (_MASTER, marker),
        )
        total += int(row["n"]) if row else 0
    total += store.person_keys.count_on_key(key_id)
    row = await store.db.fetchone(
        "SELECT count(*) AS n FROM people WHERE pseudonym_key_id = ?", (key_id,)
    )
    return total + (int(row["n"]) if row else 0)


async def reencrypt(
    store: Store,
    *,
    batch: int = BATCH,
    on_batch: Callable[[str, int], None] | None = None,
    max_batches: int | None = None,
) -> RotationReport:
    """Move every value to the primary key, and re-wrap every person data key under it.
    ``max_batches`` stops early (to test resuming)."""
    primary_id = store.keyring.primary_id
    primary = struct.pack(">H", primary_id)
    report = RotationReport()
    report.moved_to_person_keys = await move_to_person_keys(
        store.db, store.cipher, batch=batch, max_batches=max_batches
    )
    batches = 0
    for table, column in ENCRYPTED_COLUMNS:
        name = f"{table}.{column}"
        while max_batches is None or batches < max_batches:
            async with store.db.transaction() as tx:
                cursor = await tx.execute(
                    f"SELECT id, {column} AS value FROM {table} "  # noqa: S608 - names from a constant
                    f"WHERE {column} IS NOT NULL AND substr({column}, 1, 1) = ? "
                    f"AND substr({column}, 2, 2) != ? LIMIT ?",
                    (_MASTER, primary, batch),
                )
                rows = list(await cursor.fetchall())
                await cursor.close()
                for row in rows:
                    value = bytes(row["value"])
                    if key_id_of(value) == primary_id:
                        continue
                    plain = store.cipher.decrypt(table, column, row["id"], value)
                    await tx.execute(
                        f"UPDATE {table} SET {column} = ? WHERE id = ?",  # noqa: S608 - constant names
                        (store.cipher.encrypt(table, column, row["id"], plain), row["id"]),
                    )
            if not rows:
                break
            batches += 1
            report.reencrypted[name] = report.reencrypted.get(name, 0) + len(rows)
            if on_batch is not None:
                on_batch(name, len(rows))
    if max_batches is None or batches < max_batches:
        report.person_keys = store.person_keys.rewrap(
            batch, None if max_batches is None else max_batches - batches
        )
        batches += -(-report.person_keys // batch)
    while max_batches is None or batches < max_batches:
        async with store.db.transaction() as tx:
            cursor = await tx.execute(
                "SELECT id, chat_id FROM people WHERE pseudonym_key_id != ? LIMIT ?",
                (primary_id, batch),
            )
            rows = list(await cursor.fetchall())
            await cursor.close()
            for row in rows:
                # A person is only ever created from their private chat, whose id is their
                # Telegram user id: the pseudonym can be recomputed without storing the id.
                user_id = int(
                    store.cipher.decrypt_text(
                        "people", "chat_id", row["id"], bytes(row["chat_id"])
                    )
                )
                await tx.execute(
                    "UPDATE people SET pseudonym = ?, pseudonym_key_id = ? WHERE id = ?",
                    (store.pseudonyms.pseudonym(user_id, primary_id), primary_id, row["id"]),
                )
        if not rows:
            break
        batches += 1
        report.pseudonyms += len(rows)
    await store.db.checkpoint()
    return report
