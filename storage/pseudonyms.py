"""Pseudonyms for Telegram user ids: ``HMAC-SHA256(pseudonym subkey, user id)``.

The database never stores a user id. The same person gets the same pseudonym under one key;
after rotation the lookup tries every key in the ring until rotation re-keys the row.
"""

from __future__ import annotations

from storage.keyring import Keyring, Purpose
from storage.primitives import hmac_sha256


class Pseudonymizer:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def pseudonym(self, user_id: int, key_id: int | None = None) -> str:
        key = self.keyring.subkey(key_id or self.keyring.primary_id, Purpose.PSEUDONYMS)
        return hmac_sha256(key, b"telegram-user:" + str(int(user_id)).encode()).hex()

    def candidates(self, user_id: int) -> dict[int, str]:
        """The person's pseudonym under every key in the ring, primary first."""
        ids = sorted(self.keyring.ids, reverse=True)
        return {key_id: self.pseudonym(user_id, key_id) for key_id in ids}
