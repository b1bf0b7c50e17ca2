"""Sealed archives for coordinators: HPKE with ML-KEM-768+X25519 / HKDF-SHA256 / AES-256-GCM.

Only the coordinators' private key, kept off the server behind a passphrase (scrypt), opens an
archive. The hybrid KEM keeps records safe against "collect now, decrypt later" by a future
quantum computer. Two archive formats, both read:

- version 1 (one case, one encapsulation): the case document HPKE-sealed to the public key
  with the case code bound in ``info`` (:func:`seal`, :func:`open_sealed`). No longer written.
- version 2 (batches, written by the purge): for each batch of up to ``MAX_BATCH`` cases a
  fresh random 256-bit *batch key* is made and HPKE-sealed once to the public key, with the
  batch id bound in ``info`` (:func:`seal_batch_key`): that is the batch's only key
  encapsulation, stored once as the batch header. Each case document is then encrypted with
  AES-256-GCM under the batch key (:func:`seal_in_batch`), a random 96-bit nonce per case, and
  as associated data the archive format version, the batch id and the case code.

Why version 2 is as strong as version 1:

- confidentiality: the batch key is uniformly random and is stored only inside HPKE, which
  protects it exactly as it protected a version 1 document (the same hybrid KEM, so the same
  resistance to a future quantum computer); AES-256-GCM under a secret uniformly random key
  keeps each document confidential (and 256-bit keys keep a 128-bit margin against Grover).
  The key is in the server's memory only while its batch is sealed, next to the documents
  themselves; one batch key opens its own batch (up to ``MAX_BATCH`` cases) and nothing else,
  while the coordinators' private key opens every archive in either format anyway.
- nonces: a batch key encrypts at most ``MAX_BATCH`` (1,000) documents, each with a random
  96-bit nonce; the chance of any repeat is below 1000^2 / 2^97, about 2^-77, far below the
  2^-32 NIST SP 800-38D allows (and every batch has a key of its own, so batches never add up).
- binding: the batch header opens only for its own batch id (HPKE ``info``) and a document
  only for its own case code, batch id and format version (GCM associated data). An archive
  moved to another case's row, to another batch, or a header moved to another batch, fails to
  open, as a version 1 archive fails for another case code.
- what neither version gives: HPKE base mode does not authenticate the sender (the public key
  is public); whoever can write the database could add an archive of their own making, in
  either format. Coordinators trust the server that sealed the archives, as before.

Opening an archive of a batch costs one decapsulation for the batch, then AES-GCM per case
(a caller opening many keeps the opened batch keys, see ``storage.review.open_entry``).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import struct
import tomllib
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from storage.primitives import AuthenticationError, aes_gcm_decrypt, aes_gcm_encrypt

SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
PUBLIC_FORMAT = "clgbt-coordinators-public-key-v1"
PRIVATE_FORMAT = "clgbt-coordinators-private-key-v1"
DEFAULT_SCRYPT_N = 2**17
_MLKEM_PUBLIC_BYTES = 1184
_MLKEM_SEED_BYTES = 64
ARCHIVE_V2 = 2
MAX_BATCH = 1000
BATCH_KEY_BYTES = 32
_NONCE_BYTES = 12


class SealingError(Exception):
    """A sealing problem phrased for a coordinator: wrong key, wrong passphrase, damaged file."""


def _info(case_code: str) -> bytes:
    return b"clgbt-archive-v1:" + case_code.encode("utf-8")


def _length_prefixed(*parts: bytes) -> bytes:
    """Unambiguous concatenation: no two different lists of parts give the same bytes."""
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def _batch_info(batch_id: str) -> bytes:
    return _length_prefixed(b"clgbt-archive-batch-key", bytes([ARCHIVE_V2]), batch_id.encode())


def _batch_aad(batch_id: str, case_code: str) -> bytes:
    return _length_prefixed(
        b"clgbt-archive", bytes([ARCHIVE_V2]), batch_id.encode(), case_code.encode("utf-8")
    )


@dataclass(frozen=True)
class CoordinatorPublicKey:
    mlkem: bytes
    x25519: bytes

    def _key(self) -> hpke.MLKEM768X25519PublicKey:
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(self.mlkem),
            x25519.X25519PublicKey.from_public_bytes(self.x25519),
        )

    def to_text(self) -> str:
        encoded = base64.b64encode(self.mlkem + self.x25519).decode()
        return f"{PUBLIC_FORMAT}\n{encoded}\n"

    @classmethod
    def from_text(cls, text: str, source: str = "public key") -> CoordinatorPublicKey:
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if len(lines) != 2 or lines[0] != PUBLIC_FORMAT:
            raise SealingError(f"{source}: not a clgbt coordinators' public key")
        try:
            raw = base64.b64decode(lines[1], validate=True)
        except (binascii.Error, ValueError):
            raise SealingError(f"{source}: the key is not valid base64") from None
        if len(raw) != _MLKEM_PUBLIC_BYTES + 32:
            raise SealingError(f"{source}: the key has the wrong length")
        return cls(raw[:_MLKEM_PUBLIC_BYTES], raw[_MLKEM_PUBLIC_BYTES:])


@dataclass(frozen=True, repr=False)
class CoordinatorPrivateKey:
    mlkem_seed: bytes
    x25519: bytes

    def __repr__(self) -> str:
        return "CoordinatorPrivateKey(**********)"

    def _key(self) -> hpke.MLKEM768X25519PrivateKey:
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(self.mlkem_seed),
            x25519.X25519PrivateKey.from_private_bytes(self.x25519),
        )

    def public_key(self) -> CoordinatorPublicKey:
        return CoordinatorPublicKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(self.mlkem_seed)
            .public_key()
            .public_bytes_raw(),
            x25519.X25519PrivateKey.from_private_bytes(self.x25519)
            .public_key()
            .public_bytes_raw(),
        )

    @classmethod
    def generate(cls) -> CoordinatorPrivateKey:
        return cls(secrets.token_bytes(_MLKEM_SEED_BYTES), secrets.token_bytes(32))

    def to_protected_text(self, passphrase: str, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> str:
        salt = secrets.token_bytes(16)
        nonce = secrets.token_bytes(12)
        key = Scrypt(salt=salt, length=32, n=scrypt_n, r=8, p=1).derive(passphrase.encode())
        sealed = aes_gcm_encrypt(
            key, nonce, self.mlkem_seed + self.x25519, PRIVATE_FORMAT.encode()
        )
        b64 = base64.b64encode
        return (
            "# clgbt coordinators' PRIVATE key. Keep it offline, never on the server.\n"
            f'format = "{PRIVATE_FORMAT}"\nkdf = "scrypt"\nn = {scrypt_n}\nr = 8\np = 1\n'
            f'salt = "{b64(salt).decode()}"\nnonce = "{b64(nonce).decode()}"\n'
            f'ciphertext = "{b64(sealed).decode()}"\n'
        )

    @classmethod
    def from_protected_text(
        cls, text: str, passphrase: str, source: str = "private key"
    ) -> CoordinatorPrivateKey:
        try:
            document = tomllib.loads(text)
            if document.get("format") != PRIVATE_FORMAT:
                raise SealingError(f"{source}: not a clgbt coordinators' private key file")
            salt = base64.b64decode(document["salt"], validate=True)
            nonce = base64.b64decode(document["nonce"], validate=True)
            sealed = base64.b64decode(document["ciphertext"], validate=True)
            n, r, p = int(document["n"]), int(document["r"]), int(document["p"])
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, binascii.Error):
            raise SealingError(f"{source}: the private key file is damaged") from None
        key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())
        try:
            raw = aes_gcm_decrypt(key, nonce, sealed, PRIVATE_FORMAT.encode())
        except AuthenticationError:
            raise SealingError(f"{source}: wrong passphrase (or a damaged key file)") from None
        return cls(raw[:_MLKEM_SEED_BYTES], raw[_MLKEM_SEED_BYTES:])


def seal(public_key: CoordinatorPublicKey, case_code: str, plaintext: bytes) -> bytes:
    return SUITE.encrypt(plaintext, public_key._key(), info=_info(case_code))


def open_sealed(private_key: CoordinatorPrivateKey, case_code: str, sealed: bytes) -> bytes:
    try:
        return SUITE.decrypt(sealed, private_key._key(), info=_info(case_code))
    except (InvalidTag, ValueError):
        raise SealingError(
            f"archive {case_code}: cannot be opened with this key (wrong private key, another "
            "case's archive, or damaged data)"
        ) from None


def new_batch_key() -> bytes:
    """A fresh random 256-bit key for one batch of archives."""
    return secrets.token_bytes(BATCH_KEY_BYTES)


def seal_batch_key(public_key: CoordinatorPublicKey, batch_id: str, batch_key: bytes) -> bytes:
    """The batch header: the batch key HPKE-sealed to the coordinators, its batch id bound in
    ``info``. This is the batch's one key encapsulation."""
    return SUITE.encrypt(batch_key, public_key._key(), info=_batch_info(batch_id))


def open_batch_key(private_key: CoordinatorPrivateKey, batch_id: str, sealed_key: bytes) -> bytes:
    try:
        batch_key = SUITE.decrypt(sealed_key, private_key._key(), info=_batch_info(batch_id))
    except (InvalidTag, ValueError):
        raise SealingError(
            f"archive batch {batch_id}: cannot be opened with this key (wrong private key, "
            "another batch's header, or damaged data)"
        ) from None
    if len(batch_key) != BATCH_KEY_BYTES:
        raise SealingError(f"archive batch {batch_id}: the batch key has the wrong length")
    return batch_key


def seal_in_batch(batch_key: bytes, batch_id: str, case_code: str, plaintext: bytes) -> bytes:
    """A version 2 archive: ``2 || nonce (12) || AES-256-GCM ciphertext+tag`` under the batch
    key, with the version, batch id and case code as associated data."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = aes_gcm_encrypt(batch_key, nonce, plaintext, _batch_aad(batch_id, case_code))
    return bytes([ARCHIVE_V2]) + nonce + sealed


def open_in_batch(batch_key: bytes, batch_id: str, case_code: str, sealed: bytes) -> bytes:
    try:
        if sealed[:1] != bytes([ARCHIVE_V2]):
            raise AuthenticationError("not a version 2 archive")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        if len(nonce) != _NONCE_BYTES:
            raise AuthenticationError("too short")
        return aes_gcm_decrypt(batch_key, nonce, body, _batch_aad(batch_id, case_code))
    except AuthenticationError:
        raise SealingError(
            f"archive {case_code}: cannot be opened with this key (another case's or batch's "
            "archive, or damaged data)"
        ) from None
