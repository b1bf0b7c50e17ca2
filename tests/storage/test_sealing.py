"""Sealed archives: only the private key opens them, and only for their own case."""

from __future__ import annotations

import pytest

from storage.sealing import (
    CoordinatorPrivateKey,
    CoordinatorPublicKey,
    SealingError,
    open_sealed,
    seal,
)

PRIVATE = CoordinatorPrivateKey.generate()
PUBLIC = CoordinatorPublicKey.from_text(PRIVATE.public_key().to_text())


def test_the_private_key_opens_its_archive() -> None:
    sealed = seal(PUBLIC, "K7QM-2XPA", "ករណី: what happened".encode())
    assert open_sealed(PRIVATE, "K7QM-2XPA", sealed) == "ករណី: what happened".encode()
    assert b"what happened" not in sealed


def test_another_case_id_does_not_open_it() -> None:
    sealed = seal(PUBLIC, "K7QM-2XPA", b"case one")
    with pytest.raises(SealingError, match="cannot be opened"):
        open_sealed(PRIVATE, "K7QM-2XPB", sealed)


def test_another_private_key_does_not_open_it() -> None:
    sealed = seal(PUBLIC, "K7QM-2XPA", b"case one")
    with pytest.raises(SealingError):
        open_sealed(CoordinatorPrivateKey.generate(), "K7QM-2XPA", sealed)


def test_tampering_fails() -> None:
    sealed = bytearray(seal(PUBLIC, "K7QM-2XPA", b"case one"))
    sealed[-1] ^= 1
    with pytest.raises(SealingError):
        open_sealed(PRIVATE, "K7QM-2XPA", bytes(sealed))


def test_the_private_key_file_needs_its_passphrase() -> None:
    text = PRIVATE.to_protected_text("correct horse battery", scrypt_n=2**12)
    assert PRIVATE.mlkem_seed.hex() not in text
    restored = CoordinatorPrivateKey.from_protected_text(text, "correct horse battery")
    assert restored.public_key() == PUBLIC
    with pytest.raises(SealingError, match="wrong passphrase"):
        CoordinatorPrivateKey.from_protected_text(text, "wrong horse battery")
    with pytest.raises(SealingError, match="not a clgbt"):
        CoordinatorPrivateKey.from_protected_text("format = 1", "x")


def test_a_damaged_public_key_is_refused() -> None:
    with pytest.raises(SealingError):
        CoordinatorPublicKey.from_text("not a key")
