"""The project's primitive layer: the only module that calls ``cryptography``'s low-level
algorithms directly. Everything else (field encryption, pseudonyms, sealing) is built on these
few functions, and the Wycheproof vectors test exactly them."""

from __future__ import annotations

import hmac as _hmac
from hashlib import sha256

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TAG_SIZE = 16


class AuthenticationError(ValueError):
    """A ciphertext, tag or associated data did not verify."""


def aes_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-GCM (128/192/256-bit key) with a 128-bit tag; returns ciphertext || tag."""
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def aes_gcm_decrypt(key: bytes, nonce: bytes, ciphertext_and_tag: bytes, aad: bytes) -> bytes:
    if len(ciphertext_and_tag) < TAG_SIZE:
        raise AuthenticationError("ciphertext shorter than its tag")
    try:
        return AESGCM(key).decrypt(nonce, ciphertext_and_tag, aad)
    except InvalidTag:
        raise AuthenticationError("authentication failed") from None


def hkdf_sha256(ikm: bytes, *, salt: bytes | None, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None, info=info).derive(ikm)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return _hmac.new(key, message, sha256).digest()


def hmac_sha256_verify(key: bytes, message: bytes, tag: bytes) -> bool:
    """Constant-time check; a truncated tag (at least 128 bits) checks its prefix."""
    if len(tag) < 16 or len(tag) > 32:
        return False
    return _hmac.compare_digest(hmac_sha256(key, message)[: len(tag)], tag)


def x25519_shared(private_key: bytes, public_key: bytes) -> bytes:
    """X25519 key agreement; refuses an all-zero result (a low-order public key)."""
    if len(private_key) != 32 or len(public_key) != 32:
        raise ValueError("X25519 keys are 32 bytes")
    shared = X25519PrivateKey.from_private_bytes(private_key).exchange(
        X25519PublicKey.from_public_bytes(public_key)
    )
    if not any(shared):
        raise ValueError("X25519 produced an all-zero shared secret")
    return shared
