"""Sealed archives for coordinators: HPKE with ML-KEM-768+X25519 / HKDF-SHA256 / AES-256-GCM.

A closed case is sealed to the coordinators' public key with its case code bound in ``info``;
only the private key, kept off the server behind a passphrase (scrypt), opens it. The hybrid
KEM keeps records safe against "collect now, decrypt later" by a future quantum computer.
"""

from __future__ import annotations

import base64
import binascii
import secrets
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


class SealingError(Exception):
    """A sealing problem phrased for a coordinator: wrong key, wrong passphrase, damaged file."""


def _info(case_code: str) -> bytes:
    return b"clgbt-archive-v1:" + case_code.encode("utf-8")


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
