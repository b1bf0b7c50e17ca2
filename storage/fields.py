"""Field-level encryption: AES-256-GCM with a random 96-bit nonce per value.

Stored form: ``version (1 byte) || key_id (2 bytes, big-endian) || nonce (12) || ct+tag``.
The associated data binds the version, table, column, row id and key id, so a value moved to
another row or column, or relabelled with another key id, fails to open.
"""

from __future__ import annotations

import secrets
import struct

from storage.keyring import Keyring, Purpose
from storage.primitives import TAG_SIZE, AuthenticationError, aes_gcm_decrypt, aes_gcm_encrypt

VERSION = 1
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


def key_id_of(blob: bytes) -> int:
    if len(blob) < HEADER_BYTES + TAG_SIZE:
        raise DecryptionError("the value is too short to be an encrypted field")
    version, key_id = _HEADER.unpack_from(blob)
    if version != VERSION:
        raise DecryptionError(f"unknown field format version {version}")
    return int(key_id)


class FieldCipher:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def encrypt(
        self,
        table: str,
        column: str,
        row_id: str,
        value: str | bytes,
        *,
        key_id: int | None = None,
    ) -> bytes:
        """Encrypt under the primary key (or ``key_id``, for key check values)."""
        plaintext = value.encode("utf-8") if isinstance(value, str) else value
        key_id = self.keyring.primary_id if key_id is None else key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        key = self.keyring.subkey(key_id, Purpose.FIELDS)
        sealed = aes_gcm_encrypt(
            key, nonce, plaintext, _aad(VERSION, table, column, row_id, key_id)
        )
        return _HEADER.pack(VERSION, key_id) + nonce + sealed

    def decrypt(self, table: str, column: str, row_id: str, blob: bytes) -> bytes:
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
