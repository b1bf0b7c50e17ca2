"""Crypto-shredding: every person has a random 256-bit data key, and everything personal about
them (their chat id, consents, flow state, case answers, notes, referral summaries, timers,
block reasons, chat message list) is encrypted under keys derived from it. Erasing the person
destroys that key, so every copy of their rows that outlives the erasure (an old backup of the
database, a freed page, a WAL remnant) can no longer be opened, even with the master key.

Where the keys live: in a small SQLite file of their own beside the database
(``<database>.keys``, mode 0600), each data key wrapped (AES-256-GCM) under a master-key subkey
with the person id and master key id as associated data. Not in the main database, because:

- a backup of the database (``clgbt backup``, a disk snapshot, a copy of the file) made before
  an erasure would otherwise carry the person's wrapped key along with their rows, and the
  master key would open both: shredding would protect nothing against old backups;
- a destroyed key does not linger in the main database's freed pages or WAL, which hold far
  more history than this file; here the key's row is overwritten with zeros before it is
  deleted (``secure_delete``), and the WAL is checkpointed and truncated at once.

The cost: one more file to back up. Without it nobody's records can be read, so it must be
backed up, but keep only its latest copy (an old copy of this file together with an old copy
of the database still opens a person erased since). Start-up refuses a database whose key file
is missing or belongs to another database.

Unwrapped keys are cached in a bounded LRU (``CACHE_SIZE``), so reads cost one AES-GCM
operation; a destroyed key leaves the cache at once.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from storage.keyring import Keyring, KeyringError, Purpose
from storage.primitives import (
    AuthenticationError,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    hkdf_sha256,
    hmac_sha256,
)

CACHE_SIZE = 2048
DATA_KEY_BYTES = 32
_NONCE_BYTES = 12


class PersonKeyError(KeyringError):
    """The person key store is missing, damaged or belongs to another database."""


class KeyDestroyed(LookupError):
    """The person's data key does not exist (erased, or never made): their values are gone."""


def key_store_path(database: Path) -> Path:
    return database.with_name(database.name + ".keys")


def _aad(person_id: str, key_id: int) -> bytes:
    encoded = person_id.encode()
    return (
        b"clgbt-person-key-v1"
        + struct.pack(">I", len(encoded))
        + encoded
        + struct.pack(">H", key_id)
    )


@dataclass(frozen=True, repr=False)
class PersonKey:
    """The keys derived from one person's data key."""

    fields: bytes
    archive_tag: bytes

    def __repr__(self) -> str:
        return "PersonKey(**********)"

    @classmethod
    def derive(cls, data_key: bytes) -> PersonKey:
        def sub(purpose: str) -> bytes:
            return hkdf_sha256(
                data_key, salt=b"clgbt person key v1", info=purpose.encode(), length=32
            )

        return cls(sub("clgbt/person/fields/v1"), sub("clgbt/person/archive-tag/v1"))

    def tag_archive(self, case_code: str) -> bytes:
        """An owner tag for a sealed archive: links it to the person only while this key
        exists (so erasure can find and delete it), and to nobody once it is destroyed."""
        return hmac_sha256(self.archive_tag, b"clgbt-archive-owner:" + case_code.encode())


def _create_private(path: Path) -> None:
    try:
        descriptor = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
    except FileExistsError:
        return
    os.close(descriptor)


class PersonKeys:
    """The person key store: ``person_id -> wrapped data key``, one synchronous SQLite
    connection (reads are a primary-key lookup, normally answered by the cache)."""

    def __init__(self, path: Path, keyring: Keyring, cache_size: int = CACHE_SIZE) -> None:
        self.path = path
        self.keyring = keyring
        self._cache: OrderedDict[str, PersonKey] = OrderedDict()
        self._cache_size = cache_size
        self._closed = False
        fresh = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _create_private(path)
        for sidecar in (path, path.with_name(path.name + "-wal")):
            if sidecar.exists() and not sidecar.is_symlink() and sidecar.stat().st_mode & 0o077:
                sidecar.chmod(0o600)
        try:
            self._connection = sqlite3.connect(path, isolation_level=None)
            for pragma in (
                "journal_mode = WAL",
                "secure_delete = ON",
                "synchronous = FULL",
                "busy_timeout = 5000",
            ):
                self._connection.execute(f"PRAGMA {pragma}")
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "store_id TEXT NOT NULL)"
            )
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS person_keys (person_id TEXT PRIMARY KEY, "
                "key_id INTEGER NOT NULL, wrapped BLOB NOT NULL)"
            )
            if fresh or self._connection.execute("SELECT 1 FROM meta").fetchone() is None:
                self._connection.execute(
                    "INSERT OR IGNORE INTO meta (id, store_id) VALUES (1, ?)",
                    (secrets.token_hex(16),),
                )
        except sqlite3.DatabaseError as exc:
            raise PersonKeyError(f"{path}: is not a clgbt person key store ({exc})") from None

    @property
    def store_id(self) -> str:
        row = self._connection.execute("SELECT store_id FROM meta").fetchone()
        return str(row[0])

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._cache.clear()
        self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._connection.close()

    # ------------------------------------------------------------ wrapping
    def _wrap(self, person_id: str, data_key: bytes, key_id: int) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        subkey = self.keyring.subkey(key_id, Purpose.PERSON_KEYS)
        return nonce + aes_gcm_encrypt(subkey, nonce, data_key, _aad(person_id, key_id))

    def _unwrap(self, person_id: str, wrapped: bytes, key_id: int) -> bytes:
        subkey = self.keyring.subkey(key_id, Purpose.PERSON_KEYS)
        try:
            return aes_gcm_decrypt(
                subkey, wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _aad(person_id, key_id)
            )
        except AuthenticationError:
            raise PersonKeyError(
                f"{self.path}: a person's key does not open with the master key (damaged, or "
                "the file belongs to another database)"
            ) from None

    def _remember(self, person_id: str, key: PersonKey) -> PersonKey:
        self._cache[person_id] = key
        self._cache.move_to_end(person_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return key

    # ------------------------------------------------------------ use
    def get(self, person_id: str) -> PersonKey:
        """The person's keys; :class:`KeyDestroyed` if they have none (erased)."""
        cached = self._cache.get(person_id)
        if cached is not None:
            self._cache.move_to_end(person_id)
            return cached
        row = self._connection.execute(
            "SELECT key_id, wrapped FROM person_keys WHERE person_id = ?", (person_id,)
        ).fetchone()
        if row is None:
            raise KeyDestroyed(person_id)
        data_key = self._unwrap(person_id, bytes(row[1]), int(row[0]))
        return self._remember(person_id, PersonKey.derive(data_key))

    def get_or_create(self, person_id: str) -> PersonKey:
        """The person's keys, made (and durably stored) on first use."""
        try:
            return self.get(person_id)
        except KeyDestroyed:
            pass
        data_key = secrets.token_bytes(DATA_KEY_BYTES)
        key_id = self.keyring.primary_id
        self._connection.execute(
            "INSERT INTO person_keys (person_id, key_id, wrapped) VALUES (?, ?, ?)",
            (person_id, key_id, self._wrap(person_id, data_key, key_id)),
        )
        return self._remember(person_id, PersonKey.derive(data_key))

    def exists(self, person_id: str) -> bool:
        row = self._connection.execute(
            "SELECT 1 FROM person_keys WHERE person_id = ?", (person_id,)
        ).fetchone()
        return row is not None

    def destroy(self, *person_ids: str) -> int:
        """Destroy the people's data keys: overwritten with zeros, deleted (``secure_delete``
        zeroes the freed space) and the WAL checkpointed and truncated, then forgotten here."""
        destroyed = 0
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            for person_id in person_ids:
                self._cache.pop(person_id, None)
                self._connection.execute(
                    "UPDATE person_keys SET wrapped = zeroblob(length(wrapped)) "
                    "WHERE person_id = ?",
                    (person_id,),
                )
                cursor = self._connection.execute(
                    "DELETE FROM person_keys WHERE person_id = ?", (person_id,)
                )
                destroyed += cursor.rowcount
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")
        self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return destroyed

    def person_ids(self) -> set[str]:
        return {
            str(row[0]) for row in self._connection.execute("SELECT person_id FROM person_keys")
        }

    # ------------------------------------------------------------ rotation
    def count_on_other_keys(self) -> int:
        row = self._connection.execute(
            "SELECT count(*) FROM person_keys WHERE key_id != ?", (self.keyring.primary_id,)
        ).fetchone()
        return int(row[0])

    def count_on_key(self, key_id: int) -> int:
        row = self._connection.execute(
            "SELECT count(*) FROM person_keys WHERE key_id = ?", (key_id,)
        ).fetchone()
        return int(row[0])

    def rewrap(self, batch: int = 500, max_batches: int | None = None) -> int:
        """Re-wrap every data key under the primary master key, in committed batches."""
        primary = self.keyring.primary_id
        moved = batches = 0
        while max_batches is None or batches < max_batches:
            rows = self._connection.execute(
                "SELECT person_id, key_id, wrapped FROM person_keys WHERE key_id != ? LIMIT ?",
                (primary, batch),
            ).fetchall()
            if not rows:
                break
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                for person_id, key_id, wrapped in rows:
                    data_key = self._unwrap(person_id, bytes(wrapped), int(key_id))
                    self._connection.execute(
                        "UPDATE person_keys SET key_id = ?, wrapped = ? WHERE person_id = ?",
                        (primary, self._wrap(person_id, data_key, primary), person_id),
                    )
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
            moved += len(rows)
            batches += 1
        self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return moved
