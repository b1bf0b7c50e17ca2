"""The master keyring: key id -> 32-byte key, the highest id primary, and the subkeys derived
from each key per purpose (fields, pseudonyms, callback signing) with HKDF-SHA256.

Key ids are small integers written into every ciphertext, so a value names the key that opens
it; rotation adds a key with the next id, and retiring removes an old one once nothing uses it.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from storage.primitives import hkdf_sha256

KEY_BYTES = 32
MAX_KEY_ID = 0xFFFF
MASTER_KEY_ENV = "CLGBT_MASTER_KEY"
_HKDF_SALT = b"clgbt keyring v1"


class KeyringError(Exception):
    """A problem with the master key, phrased for the person who has to fix it."""


class Purpose(StrEnum):
    FIELDS = "fields"
    PSEUDONYMS = "pseudonyms"
    CALLBACKS = "callbacks"


@dataclass(frozen=True, repr=False)
class Keyring:
    keys: Mapping[int, bytes]
    _subkeys: dict[tuple[int, Purpose], bytes] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyringError("the keyring holds no key")
        for key_id, key in self.keys.items():
            if not 1 <= key_id <= MAX_KEY_ID:
                raise KeyringError(f"key id {key_id} is outside 1..{MAX_KEY_ID}")
            if len(key) != KEY_BYTES:
                raise KeyringError(f"key {key_id} is {len(key)} bytes; keys are {KEY_BYTES}")
        for key_id, key in self.keys.items():
            for purpose in Purpose:
                self._subkeys[(key_id, purpose)] = hkdf_sha256(
                    key, salt=_HKDF_SALT, info=f"clgbt/{purpose.value}/v1".encode(), length=32
                )

    def __repr__(self) -> str:
        return f"Keyring(ids={sorted(self.keys)}, primary={self.primary_id}, keys=**********)"

    @property
    def primary_id(self) -> int:
        return max(self.keys)

    @property
    def ids(self) -> list[int]:
        return sorted(self.keys)

    def subkey(self, key_id: int, purpose: Purpose) -> bytes:
        try:
            return self._subkeys[(key_id, purpose)]
        except KeyError:
            raise KeyringError(
                f"key id {key_id} is not in the keyring (it holds {self.ids}); restore the key "
                "file that contains it"
            ) from None

    @classmethod
    def generate(cls) -> Keyring:
        return cls({1: secrets.token_bytes(KEY_BYTES)})

    def with_new_primary(self) -> Keyring:
        return Keyring({**self.keys, self.primary_id + 1: secrets.token_bytes(KEY_BYTES)})

    def without(self, key_id: int) -> Keyring:
        if key_id == self.primary_id:
            raise KeyringError(f"key {key_id} is the primary key and cannot be retired")
        if key_id not in self.keys:
            raise KeyringError(f"key id {key_id} is not in the keyring (it holds {self.ids})")
        return Keyring({k: v for k, v in self.keys.items() if k != key_id})

    # ------------------------------------------------------------ text form
    def to_text(self) -> str:
        lines = [
            "# clgbt master keyring. Keep it secret (mode 0600) and keep an offline copy:",
            "# without it no record in the database can be read. The highest id is primary.",
            "[keys]",
        ]
        lines += [
            f'{key_id} = "{base64.b64encode(self.keys[key_id]).decode()}"' for key_id in self.ids
        ]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str, source: str) -> Keyring:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise KeyringError(f"{source}: not a keyring file ({exc})") from None
        table = document.get("keys")
        if not isinstance(table, dict) or not table:
            raise KeyringError(f"{source}: expected a [keys] table with at least one key")
        keys: dict[int, bytes] = {}
        for raw_id, value in table.items():
            if not str(raw_id).isdigit():
                raise KeyringError(f"{source}: key id {raw_id!r} is not a number")
            keys[int(raw_id)] = _decode_key(value, f"{source}: key {raw_id}")
        return cls(keys)

    @classmethod
    def from_environment(cls, value: str) -> Keyring:
        """``CLGBT_MASTER_KEY``: one base64 key (id 1), or ``ID:BASE64,ID:BASE64``."""
        value = value.strip()
        if ":" not in value:
            return cls({1: _decode_key(value, MASTER_KEY_ENV)})
        keys: dict[int, bytes] = {}
        for part in value.split(","):
            raw_id, _, encoded = part.strip().partition(":")
            if not raw_id.isdigit():
                raise KeyringError(
                    f"{MASTER_KEY_ENV}: expected ID:BASE64 pairs separated by commas"
                )
            keys[int(raw_id)] = _decode_key(encoded, f"{MASTER_KEY_ENV} key {raw_id}")
        return cls(keys)


def _decode_key(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise KeyringError(f"{where}: expected a base64 text")
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{where}: not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyringError(f"{where}: a key is {KEY_BYTES} bytes, this one is {len(key)}")
    return key


def load_keyring(key_file: Path, environ: Mapping[str, str]) -> Keyring:
    """The keyring from ``CLGBT_MASTER_KEY`` if set, else from the key file (mode 0600)."""
    if environ.get(MASTER_KEY_ENV, "").strip():
        return Keyring.from_environment(environ[MASTER_KEY_ENV])
    try:
        status = key_file.stat()
    except FileNotFoundError:
        raise KeyringError(
            f"{key_file}: no master key. Create one with 'clgbt keys init' (or set "
            f"{MASTER_KEY_ENV}); if the database already exists, restore its key file instead"
        ) from None
    if status.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyringError(
            f"{key_file}: the key file can be read by other users "
            f"(mode {stat.S_IMODE(status.st_mode):04o}); run: chmod 600 {key_file}"
        )
    return Keyring.from_text(key_file.read_text(encoding="utf-8"), str(key_file))


def create_key_file(key_file: Path, keyring: Keyring | None = None) -> Keyring:
    """Write a new key file with mode 0600; refuse to overwrite an existing one."""
    keyring = keyring or Keyring.generate()
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyringError(
            f"{key_file}: a key file already exists and was left untouched (overwriting it "
            "would make every record unreadable)"
        ) from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(keyring.to_text())
    return keyring


def replace_key_file(key_file: Path, keyring: Keyring) -> None:
    """Atomically replace the key file (rotation, retirement), keeping mode 0600."""
    temporary = key_file.with_name(key_file.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(keyring.to_text())
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(key_file)
