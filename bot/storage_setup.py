"""Opening the encrypted store from the settings, with the checks start-up must make."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from bot.config import Settings
from storage.keyring import (
    CREDENTIALS_ENV,
    MASTER_KEY_ENV,
    NEW_PASSPHRASE_ENV,
    PASSPHRASE_ENV,
    LoadedKeyring,
    load_master_keyring,
)
from storage.sealing import CoordinatorPublicKey, SealingError
from storage.store import Store

# Every variable through which a master key or its passphrase can arrive.
KEY_SOURCE_VARIABLES = (MASTER_KEY_ENV, PASSPHRASE_ENV, NEW_PASSPHRASE_ENV, CREDENTIALS_ENV)


def ask_in_terminal(prompt: str) -> str | None:
    """Ask for a passphrase when a person sits at a terminal; ``None`` otherwise."""
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(prompt)


def load_keyring_for(
    settings: Settings, environ: Mapping[str, str], *, interactive: bool = True
) -> LoadedKeyring:
    """The master keyring as the settings say it may be kept (see ``storage.keyring``)."""
    return load_master_keyring(
        settings.paths.key_file,
        environ,
        database=settings.paths.database,
        allow_clear_beside_database=settings.storage.allow_clear_key_beside_database,
        ask_passphrase=ask_in_terminal if interactive else None,
    )


async def open_store(settings: Settings, environ: Mapping[str, str]) -> Store:
    """Load the keyring (refusing a missing, world-readable, unprotected or wrongly unlocked
    key) and open the database (refusing a key that does not open it, or a database another
    clgbt process holds); nothing is written when either refuses."""
    loaded = load_keyring_for(settings, environ)
    return await Store.open(settings.paths.database, loaded.keyring)


def throwaway_key_settings(settings: Settings) -> Settings:
    """For the sandbox: its throw-away key sits in clear beside its throw-away database."""
    return replace(
        settings, storage=replace(settings.storage, allow_clear_key_beside_database=True)
    )


def without_key_sources(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment with every master-key source removed (the sandbox uses its own key)."""
    return {k: v for k, v in environ.items() if k not in KEY_SOURCE_VARIABLES}


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
