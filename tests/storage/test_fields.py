"""Field encryption, pseudonyms and the keyring: tampering, moving, truncating all fail."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.fields import HEADER_BYTES, DecryptionError, FieldCipher, key_id_of
from storage.keyring import Keyring, KeyringError, Purpose
from storage.pseudonyms import Pseudonymizer
from storage.store import ENCRYPTED_COLUMNS

KEYRING = Keyring.generate()
CIPHER = FieldCipher(KEYRING)


def test_round_trip_and_format() -> None:
    blob = CIPHER.encrypt("cases", "answers", "row-1", "ឪពុកខ្ញុំវាយខ្ញុំ")
    assert blob[0] == 1 and key_id_of(blob) == KEYRING.primary_id
    assert len(blob) == HEADER_BYTES + len("ឪពុកខ្ញុំវាយខ្ញុំ".encode()) + 16
    assert CIPHER.decrypt_text("cases", "answers", "row-1", blob) == "ឪពុកខ្ញុំវាយខ្ញុំ"


@pytest.mark.parametrize(
    ("table", "column", "row_id"),
    [("cases", "answers", "row-2"), ("cases", "notes", "row-1"), ("people", "answers", "row-1")],
)
def test_a_value_moved_to_another_row_or_column_does_not_open(
    table: str, column: str, row_id: str
) -> None:
    blob = CIPHER.encrypt("cases", "answers", "row-1", "secret")
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(table, column, row_id, blob)


def test_every_flipped_bit_fails() -> None:
    blob = CIPHER.encrypt("cases", "answers", "row-1", "what happened")
    for index in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[index] ^= bit
            with pytest.raises((DecryptionError, KeyringError)):
                CIPHER.decrypt("cases", "answers", "row-1", bytes(tampered))


@pytest.mark.parametrize("keep", [0, 1, 3, HEADER_BYTES, HEADER_BYTES + 15, -1])
def test_a_truncated_value_fails(keep: int) -> None:
    blob = CIPHER.encrypt("cases", "answers", "row-1", "what happened")
    with pytest.raises(DecryptionError):
        CIPHER.decrypt("cases", "answers", "row-1", blob[:keep])


def test_an_unknown_key_id_is_named() -> None:
    rotated = KEYRING.with_new_primary()
    blob = FieldCipher(rotated).encrypt("cases", "answers", "row-1", "x")
    with pytest.raises(KeyringError, match=rf"key id {rotated.primary_id} is not in the keyring"):
        CIPHER.decrypt("cases", "answers", "row-1", blob)


def test_old_keys_still_open_after_rotation() -> None:
    blob = CIPHER.encrypt("cases", "answers", "row-1", "before rotation")
    rotated = KEYRING.with_new_primary()
    assert FieldCipher(rotated).decrypt_text("cases", "answers", "row-1", blob) == (
        "before rotation"
    )


def test_ten_thousand_encryptions_use_ten_thousand_nonces() -> None:
    nonces = {CIPHER.encrypt("t", "c", "r", "same")[3:HEADER_BYTES] for _ in range(10_000)}
    assert len(nonces) == 10_000


@settings(max_examples=60, deadline=None)
@given(text=st.text(), column=st.sampled_from(ENCRYPTED_COLUMNS))
def test_any_unicode_round_trips_through_every_encrypted_column(
    text: str, column: tuple[str, str]
) -> None:
    table, name = column
    blob = CIPHER.encrypt(table, name, "row", text)
    assert CIPHER.decrypt_text(table, name, "row", blob) == text


def test_pseudonyms_are_stable_keyed_and_not_a_plain_hash() -> None:
    one = Pseudonymizer(KEYRING)
    assert one.pseudonym(123456789) == one.pseudonym(123456789)
    assert one.pseudonym(123456789) != one.pseudonym(123456780)
    other = Pseudonymizer(Keyring.generate())
    assert other.pseudonym(123456789) != one.pseudonym(123456789)
    unkeyed = {hashlib.sha256(s).hexdigest() for s in (b"123456789", b"telegram-user:123456789")}
    assert one.pseudonym(123456789) not in unkeyed
    assert "123456789" not in one.pseudonym(123456789)


def test_subkeys_differ_per_purpose_and_the_keyring_never_prints_keys() -> None:
    subkeys = {KEYRING.subkey(KEYRING.primary_id, p) for p in Purpose}
    assert len(subkeys) == len(Purpose)
    assert KEYRING.keys[1].hex() not in repr(KEYRING)
    assert "**********" in repr(KEYRING)


def test_keyring_text_and_environment_forms() -> None:
    rotated = KEYRING.with_new_primary()
    again = Keyring.from_text(rotated.to_text(), "test")
    assert again.keys == rotated.keys and again.primary_id == 2
    encoded = base64.b64encode(KEYRING.keys[1]).decode()
    assert Keyring.from_environment(encoded).keys == {1: KEYRING.keys[1]}
    assert Keyring.from_environment(f"1:{encoded},2:{encoded}").primary_id == 2
    with pytest.raises(KeyringError, match="32 bytes"):
        Keyring.from_environment(base64.b64encode(b"short").decode())
