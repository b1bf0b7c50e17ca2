"""Opening the encrypted store from the settings, with the checks start-up must make."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.config import Settings
from storage.keyring import load_keyring
from storage.sealing import CoordinatorPublicKey, SealingError
from storage.store import Store


async def open_store(settings: Settings, environ: Mapping[str, str]) -> Store:
    """Load the keyring (refusing a missing or world-readable key file) and open the database
    (refusing a key that does not open it); nothing is written when either refuses."""
    keyring = load_keyring(settings.paths.key_file, environ)
    return await Store.open(settings.paths.database, keyring)


def load_coordinator_public_key(path: Path | None) -> CoordinatorPublicKey | None:
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SealingError(
            f"{path}: cannot read the coordinators' public key "
            f"({exc.strerror}); check paths.coordinator_public_key"
        ) from None
    return CoordinatorPublicKey.from_text(text, str(path))
