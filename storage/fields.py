"""Field-level encryption: AES-256-GCM with a random 96-bit nonce per value.

Two stored forms, told apart by their first byte:

- version 1, under the master key: ``1 || key_id (2 bytes, big-endian) || nonce (12) ||
  ct+tag``, for what belongs to nobody in particular (the inbox, key checks, timers without a
  person) and for values written before crypto-shredding (still read; moved to the person's
  key when the store opens, see ``storage.shredding``);
- version 2, under a person's data key (``storage.person_keys``): ``2 || length (1) ||
  person id || nonce (12) || ct+tag``. Erasing the person destroys the key, and with it every
  copy of the value, wherever it lingers.

The associated data binds the version, table, column, row id and key id (version 1) or person
id (version 2), so a value moved to another row, column or person fails to open.
"""

from __future__ import annotations

import secrets
import struct

from storage.keyring import Keyring, Purpose
from storage.person_keys import KeyDestroyed, PersonKeys
from storage.primitives import TAG_SIZE, AuthenticationError, aes_gcm_decrypt, aes_gcm_encrypt

VERSION = 1
PERSON_VERSION = 2
NONCE_BYTES = 12
HEADER_BYTES = 1 + 2 + NONCE_BYTES
_HEADER = struct.Struct(">BH")


class DecryptionError(ValueError):
    """A stored value could not be opened. The message names the column, never the data."""


def _aad(version: int, table: str, column: str, row_id: str, key_id: int) -> bytes:
    parts = [
        b"clgbt-field",
        bytes([version]),
        table.encode(),
        column.encode(),
        row_id.encode(),
        struct.pack(">H", key_id),
    ]
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def _person_aad(table: str, column: str, row_id: str, person_id: str) -> bytes:
    parts = [
        b"clgbt-field",
        bytes([PERSON_VERSION]),
        table.encode(),
        column.encode(),
        row_id.encode(),
        person_id.encode(),
    ]
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def version_of(blob: bytes) -> int:
    if not blob:
        raise DecryptionError("the value is empty")
    return blob[0]


def person_of(blob: bytes) -> str:
    """The person whose key encrypts a version 2 value."""
    if version_of(blob) != PERSON_VERSION or len(blob) < 2 or len(blob) < 2 + blob[1]:
        raise DecryptionError("not a value encrypted under a person's key")
    return blob[2 : 2 + blob[1]].decode()


class ShreddedError(DecryptionError):
    """The value was encrypted under a person's key that has been destroyed (erased)."""


def key_id_of(blob: bytes) -> int:
    if len(blob) < HEADER_BYTES + TAG_SIZE:
        raise DecryptionError("the value is too short to be an encrypted field")
    version, key_id = _HEADER.unpack_from(blob)
    if version != VERSION:
        raise DecryptionError(f"unknown field format version {version}")
    return int(key_id)


class FieldCipher:
    def __init__(self, keyring: Keyring, person_keys: PersonKeys | None = None) -> None:
        self.keyring = keyring
        self.person_keys = person_keys

    def encrypt(
        self,
        table: str,
        column: str,
        row_id: str,
        value: str | bytes,
        *,
        key_id: int | None = None,
        person: str | None = None,
    ) -> bytes:
        """Encrypt under ``person``'s data key (made on first use), or else under the primary
        master key (or ``key_id``, for key check values)."""
        plaintext = value.encode("utf-8") if isinstance(value, str) else value
        if person is not None:
            return self._encrypt_for(person, table, column, row_id, plaintext)
        key_id = self.keyring.primary_id if key_id is None else key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        key = self.keyring.subkey(key_id, Purpose.FIELDS)
        sealed = aes_gcm_encrypt(
            key, nonce, plaintext, _aad(VERSION, table, column, row_id, key_id)
        )
        return _HEADER.pack(VERSION, key_id) + nonce + sealed

    def _encrypt_for(
        self, person: str, table: str, column: str, row_id: str, plaintext: bytes
    ) -> bytes:
        if self.person_keys is None:
            raise RuntimeError("this cipher has no person key store")
        encoded = person.encode()
        if not 0 < len(encoded) < 256:
            raise ValueError("a person id is 1..255 bytes")
        key = self.person_keys.get_or_create(person).fields
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = aes_gcm_encrypt(key, nonce, plaintext, _person_aad(table, column, row_id, person))
        return bytes([PERSON_VERSION, len(encoded)]) + encoded + nonce + sealed

    def _decrypt_person(self, table: str, column: str, row_id: str, blob: bytes) -> bytes:
        person = person_of(blob)
        start = 2 + len(person.encode())
        if len(blob) < start + NONCE_BYTES + TAG_SIZE:
            raise DecryptionError(f"{table}.{column}: the value is too short")
        if self.person_keys is None:
            raise ShreddedError(f"{table}.{column}: no person key store to open the value")
        try:
            key = self.person_keys.get(person).fields
        except KeyDestroyed:
            raise ShreddedError(
                f"{table}.{column}: the person's key was destroyed (erased); the value can "
                "never be opened"
            ) from None
        try:
            return aes_gcm_decrypt(
                key,
                blob[start : start + NONCE_BYTES],
                blob[start + NONCE_BYTES :],
                _person_aad(table, column, row_id, person),
            )
        except AuthenticationError:
            raise DecryptionError(
                f"{table}.{column}: the value does not open (tampered, truncated, or moved "
                "from another row, column or person)"
            ) from None

    def decrypt(self, table: str, column: str, row_id: str, blob: bytes) -> bytes:
        if blob[:1] == bytes([PERSON_VERSION]):
            return self._decrypt_person(table, column, row_id, blob)
        key_id = key_id_of(blob)
        key = self.keyring.subkey(key_id, Purpose.FIELDS)
        nonce = blob[_HEADER.size : HEADER_BYTES]
        try:
            return aes_gcm_decrypt(
                key, nonce, blob[HEADER_BYTES:], _aad(VERSION, table, column, row_id, key_id)
            )
        except AuthenticationError:
            raise DecryptionError(
                f"{table}.{column}: the value does not open (tampered, truncated, moved from "
                "another row or column, or encrypted with a different key)"
            ) from None

    def decrypt_text(self, table: str, column: str, row_id: str, blob: bytes) -> str:
        return self.decrypt(table, column, row_id, blob).decode("utf-8")
