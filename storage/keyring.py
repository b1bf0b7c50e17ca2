"""The master keyring: key id -> 32-byte key, the highest id primary, and the subkeys derived
from each key per purpose (fields, pseudonyms, callback signing) with HKDF-SHA256.

Key ids are small integers written into every ciphertext, so a value names the key that opens
it; rotation adds a key with the next id, and retiring removes an old one once nothing uses it.

Custody: the keyring is never meant to sit in clear beside the database. It comes, in this
order, from a systemd credential (``$CREDENTIALS_DIRECTORY/clgbt-master-key``, so
``LoadCredentialEncrypted=`` with a TPM works), from ``CLGBT_MASTER_KEY`` (removed from the
process environment once read), or from the key file, which is normally wrapped with a
passphrase (Argon2id, bounded parameters, then AES-256-GCM). A key file in clear on the same
filesystem as the database is refused unless the operator explicitly allows it.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
import tomllib
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from storage.primitives import AuthenticationError, aes_gcm_decrypt, aes_gcm_encrypt, hkdf_sha256

KEY_BYTES = 32
MAX_KEY_ID = 0xFFFF
MASTER_KEY_ENV = "CLGBT_MASTER_KEY"
PASSPHRASE_ENV = "CLGBT_KEY_PASSPHRASE"  # noqa: S105 - a variable name
NEW_PASSPHRASE_ENV = "CLGBT_NEW_KEY_PASSPHRASE"  # noqa: S105 - a variable name
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"
CREDENTIAL_KEY = "clgbt-master-key"
CREDENTIAL_PASSPHRASE = "clgbt-key-passphrase"  # noqa: S105 - a credential's name
MIN_PASSPHRASE = 12
WRAPPED_FORMAT = "clgbt-wrapped-keyring-v1"
ALLOW_CLEAR_SETTING = "storage.allow_clear_key_beside_database"
_HKDF_SALT = b"clgbt keyring v1"


class KeyringError(Exception):
    """A problem with the master key, phrased for the person who has to fix it."""


class Purpose(StrEnum):
    FIELDS = "fields"
    PSEUDONYMS = "pseudonyms"
    CALLBACKS = "callbacks"
    PERSON_KEYS = "person-keys"


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


# ------------------------------------------------------------------ passphrase wrapping
@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. The defaults follow RFC 9106's second recommendation (64 MiB, 3 passes,
    4 lanes: about a third of a second here). Files are read only within ``LIMITS`` so that a
    crafted key file cannot make start-up allocate gigabytes or spin for hours."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    def check(self, where: str) -> None:
        if not 1 <= self.lanes <= MAX_LANES:
            raise KeyringError(f"{where}: lanes must be 1..{MAX_LANES}, not {self.lanes}")
        if not 1 <= self.iterations <= MAX_ITERATIONS:
            raise KeyringError(
                f"{where}: iterations must be 1..{MAX_ITERATIONS}, not {self.iterations}"
            )
        if not 8 * self.lanes <= self.memory_kib <= MAX_MEMORY_KIB:
            raise KeyringError(
                f"{where}: memory_kib must be {8 * self.lanes}..{MAX_MEMORY_KIB}, "
                f"not {self.memory_kib}"
            )

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        return Argon2id(
            salt=salt,
            length=32,
            iterations=self.iterations,
            lanes=self.lanes,
            memory_cost=self.memory_kib,
        ).derive(passphrase.encode("utf-8"))


MAX_MEMORY_KIB = 1 << 20  # 1 GiB
MAX_ITERATIONS = 10
MAX_LANES = 8
DEFAULT_KDF = KdfParams()


def _wrap_aad(params: KdfParams, salt: bytes) -> bytes:
    header = f"{WRAPPED_FORMAT}|argon2id|{params.memory_kib}|{params.iterations}|{params.lanes}|"
    return header.encode() + salt


def is_wrapped(text: str) -> bool:
    return f'format = "{WRAPPED_FORMAT}"' in text


def wrap_keyring(keyring: Keyring, passphrase: str, params: KdfParams = DEFAULT_KDF) -> str:
    """The keyring encrypted under a key derived from ``passphrase`` (Argon2id, AES-256-GCM)."""
    params.check("key file")
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    wrapped = aes_gcm_encrypt(
        params.derive(passphrase, salt),
        nonce,
        keyring.to_text().encode("utf-8"),
        _wrap_aad(params, salt),
    )
    b64 = base64.b64encode
    return (
        "# clgbt master keyring, protected by a passphrase (Argon2id + AES-256-GCM).\n"
        "# Keep an offline copy of this file AND the passphrase: without both, no record in the\n"
        "# database can be read. The passphrase is never stored.\n"
        f'format = "{WRAPPED_FORMAT}"\nkdf = "argon2id"\n'
        f"memory_kib = {params.memory_kib}\niterations = {params.iterations}\n"
        f"lanes = {params.lanes}\n"
        f'salt = "{b64(salt).decode()}"\nnonce = "{b64(nonce).decode()}"\n'
        f'wrapped = "{b64(wrapped).decode()}"\n'
    )


def unwrap_keyring(text: str, passphrase: str, source: str) -> tuple[Keyring, KdfParams]:
    """Open a wrapped key file; a wrong passphrase is a :class:`KeyringError`."""
    try:
        document = tomllib.loads(text)
        if document.get("format") != WRAPPED_FORMAT or document.get("kdf") != "argon2id":
            raise KeyringError(f"{source}: not a clgbt passphrase-protected key file")
        params = KdfParams(
            memory_kib=int(document["memory_kib"]),
            iterations=int(document["iterations"]),
            lanes=int(document["lanes"]),
        )
        salt = base64.b64decode(document["salt"], validate=True)
        nonce = base64.b64decode(document["nonce"], validate=True)
        wrapped = base64.b64decode(document["wrapped"], validate=True)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, binascii.Error):
        raise KeyringError(f"{source}: the key file is damaged") from None
    params.check(source)
    if len(salt) < 16 or len(nonce) != 12:
        raise KeyringError(f"{source}: the key file is damaged")
    try:
        plain = aes_gcm_decrypt(
            params.derive(passphrase, salt), nonce, wrapped, _wrap_aad(params, salt)
        )
    except AuthenticationError:
        raise KeyringError(
            f"{source}: wrong passphrase for the master key (or a damaged key file); nothing "
            "was changed"
        ) from None
    return Keyring.from_text(plain.decode("utf-8"), source), params


# ------------------------------------------------------------------ where the key comes from
class KeySource(StrEnum):
    CREDENTIAL = "systemd credential"
    ENVIRONMENT = "environment variable"
    WRAPPED_FILE = "passphrase-protected key file"
    CLEAR_FILE = "key file in clear"


@dataclass(frozen=True)
class LoadedKeyring:
    """The keyring and where it came from; a wrapped file's passphrase and cost are kept so
    that rotation can write the new keyring under the same protection."""

    keyring: Keyring
    source: KeySource
    passphrase: str | None = field(default=None, repr=False)
    params: KdfParams | None = None

    def __repr__(self) -> str:
        return f"LoadedKeyring({self.keyring!r}, source={self.source.value!r})"


AskPassphrase = Callable[[str], str | None]


def take_from_environment(environ: Mapping[str, str], name: str) -> str | None:
    """Read ``name`` and remove it from ``environ`` (``os.environ`` unsets it for the whole
    process), so the secret is not inherited by child processes or left for a later reader."""
    value = environ.get(name)
    if isinstance(environ, MutableMapping):
        environ.pop(name, None)
    return value


def _credential(environ: Mapping[str, str], name: str) -> str | None:
    directory = environ.get(CREDENTIALS_ENV, "").strip()
    if not directory:
        return None
    path = Path(directory) / name
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyringError(f"systemd credential {name}: cannot be read ({exc.strerror})") from None


def _keyring_from_value(value: str, source: str) -> Keyring:
    if "[keys]" in value:
        return Keyring.from_text(value, source)
    try:
        return Keyring.from_environment(value)
    except KeyringError as exc:
        raise KeyringError(f"{source}: {exc}") from None


def _strip_newline(value: str) -> str:
    return value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value


def _existing_ancestor(path: Path) -> Path:
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def same_filesystem(first: Path, second: Path) -> bool:
    return _existing_ancestor(first).stat().st_dev == _existing_ancestor(second).stat().st_dev


def load_master_keyring(
    key_file: Path,
    environ: Mapping[str, str],
    *,
    database: Path | None = None,
    allow_clear_beside_database: bool = False,
    ask_passphrase: AskPassphrase | None = None,
) -> LoadedKeyring:
    """The master keyring from, in order: the systemd credential ``clgbt-master-key``,
    ``CLGBT_MASTER_KEY``, or the key file (mode 0600). A wrapped key file is opened with the
    credential ``clgbt-key-passphrase``, ``CLGBT_KEY_PASSPHRASE`` or ``ask_passphrase``.
    Both variables are removed from ``environ`` whether used or not. A clear key file on the
    same filesystem as ``database`` is refused unless ``allow_clear_beside_database``.
    Nothing is written, whatever the outcome."""
    from_environment = take_from_environment(environ, MASTER_KEY_ENV)
    passphrase_env = take_from_environment(environ, PASSPHRASE_ENV)
    credential = _credential(environ, CREDENTIAL_KEY)
    if credential is not None and credential.strip():
        if is_wrapped(credential):
            raise KeyringError(
                f"systemd credential {CREDENTIAL_KEY}: holds a passphrase-protected key; give "
                f"the clear key there (systemd encrypts it), or use the key file with the "
                f"credential {CREDENTIAL_PASSPHRASE}"
            )
        keyring = _keyring_from_value(credential, f"systemd credential {CREDENTIAL_KEY}")
        return LoadedKeyring(keyring, KeySource.CREDENTIAL)
    if from_environment is not None and from_environment.strip():
        return LoadedKeyring(Keyring.from_environment(from_environment), KeySource.ENVIRONMENT)
    try:
        status = key_file.lstat()
    except FileNotFoundError:
        raise KeyringError(
            f"{key_file}: no master key. Create one with 'clgbt keys init' (or give the "
            f"systemd credential {CREDENTIAL_KEY}, or set {MASTER_KEY_ENV}); if the database "
            "already exists, restore its key file instead"
        ) from None
    if not stat.S_ISREG(status.st_mode):
        raise KeyringError(f"{key_file}: the key file must be a regular file, not a link")
    if status.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyringError(
            f"{key_file}: the key file can be read by other users "
            f"(mode {stat.S_IMODE(status.st_mode):04o}); run: chmod 600 {key_file}"
        )
    text = key_file.read_text(encoding="utf-8")
    if is_wrapped(text):
        phrase = _credential(environ, CREDENTIAL_PASSPHRASE)
        if phrase is None:
            phrase = passphrase_env
        if phrase is None and ask_passphrase is not None:
            phrase = ask_passphrase(f"Passphrase for the master key {key_file}: ")
        if phrase is None:
            raise KeyringError(
                f"{key_file}: the master key is protected by a passphrase and none was given; "
                f"run in a terminal, give the systemd credential {CREDENTIAL_PASSPHRASE}, or "
                f"set {PASSPHRASE_ENV}"
            )
        phrase = _strip_newline(phrase)
        keyring, params = unwrap_keyring(text, phrase, str(key_file))
        return LoadedKeyring(keyring, KeySource.WRAPPED_FILE, phrase, params)
    keyring = Keyring.from_text(text, str(key_file))
    if (
        database is not None
        and not allow_clear_beside_database
        and same_filesystem(key_file, database)
    ):
        raise KeyringError(
            f"{key_file}: the master key is in clear on the same disk as the database, so a "
            "copy of that disk opens every record; protect it with 'clgbt keys wrap' (a "
            "passphrase) or a systemd credential (docs/clgbt.service), or accept the risk "
            f"with {ALLOW_CLEAR_SETTING} = true"
        )
    return LoadedKeyring(keyring, KeySource.CLEAR_FILE)


def load_keyring(key_file: Path, environ: Mapping[str, str]) -> Keyring:
    """The keyring alone, without the beside-the-database check (tests and tools)."""
    return load_master_keyring(key_file, environ).keyring


def _write_new(path: Path, text: str, *, exclusive: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_EXCL if exclusive else os.O_TRUNC
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def key_file_text(
    keyring: Keyring, passphrase: str | None, params: KdfParams | None = None
) -> str:
    if passphrase is None:
        return keyring.to_text()
    return wrap_keyring(keyring, passphrase, params or DEFAULT_KDF)


def create_key_file(
    key_file: Path,
    keyring: Keyring | None = None,
    *,
    passphrase: str | None = None,
    params: KdfParams | None = None,
) -> Keyring:
    """Write a new key file with mode 0600 (wrapped when ``passphrase`` is given); refuse to
    overwrite an existing file or follow a link."""
    keyring = keyring or Keyring.generate()
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = key_file_text(keyring, passphrase, params)
    try:
        _write_new(key_file, text, exclusive=True)
    except FileExistsError:
        raise KeyringError(
            f"{key_file}: a key file already exists and was left untouched (overwriting it "
            "would make every record unreadable)"
        ) from None
    return keyring


def replace_key_file(
    key_file: Path,
    keyring: Keyring,
    *,
    passphrase: str | None = None,
    params: KdfParams | None = None,
) -> None:
    """Atomically replace the key file (rotation, retirement, wrapping), keeping mode 0600."""
    temporary = key_file.with_name(key_file.name + ".new")
    temporary.unlink(missing_ok=True)
    _write_new(temporary, key_file_text(keyring, passphrase, params), exclusive=True)
    temporary.replace(key_file)
    directory = os.open(key_file.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
