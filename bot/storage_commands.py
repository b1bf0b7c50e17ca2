"""``clgbt keys ...``, ``clgbt purge`` and ``clgbt backup``: the operator's storage commands."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from bot.storage_setup import load_coordinator_public_key, open_store
from storage.backup import backup
from storage.keyring import (
    MASTER_KEY_ENV,
    KeyringError,
    create_key_file,
    load_keyring,
    replace_key_file,
)
from storage.retention import purge
from storage.rotation import reencrypt, rows_on_key, rows_on_other_keys
from storage.sealing import CoordinatorPrivateKey, SealingError
from storage.store import Store

PASSPHRASE_ENV = "CLGBT_COORDINATOR_PASSPHRASE"  # noqa: S105 - a variable name
MIN_PASSPHRASE = 12


def keys_init(settings: Settings, key_file: Path | None) -> str:
    path = key_file or settings.paths.key_file
    keyring = create_key_file(path)
    return (
        f"Wrote a new master key (id {keyring.primary_id}) to {path} with mode 0600.\n"
        "Keep an offline copy somewhere safe: without it no record can ever be read."
    )


async def _rotate(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    from_environment = bool(environ.get(MASTER_KEY_ENV, "").strip())
    keyring = load_keyring(settings.paths.key_file, environ)
    lines: list[str] = []
    store = await Store.open(settings.paths.database, keyring)
    try:
        pending = await rows_on_other_keys(store)
    finally:
        await store.close()
    if pending:
        lines.append(
            f"Resuming an unfinished rotation to key {keyring.primary_id} "
            f"({sum(pending.values())} values left)."
        )
    else:
        if from_environment:
            raise KeyringError(
                f"the keyring comes from {MASTER_KEY_ENV}; add a new key there yourself "
                "(ID:BASE64, a higher id) and run 'clgbt keys rotate' again to re-encrypt"
            )
        keyring = keyring.with_new_primary()
        # The new key is on disk before any value uses it, so a crash never strands data.
        replace_key_file(settings.paths.key_file, keyring)
        lines.append(
            f"Added key {keyring.primary_id} as the primary key in {settings.paths.key_file}."
        )
    store = await Store.open(settings.paths.database, keyring)
    try:
        report = await reencrypt(store)
        left = await rows_on_other_keys(store)
    finally:
        await store.close()
    lines.append(f"Re-encrypted {report.total} values; {sum(left.values())} remain on old keys.")
    old = [k for k in keyring.ids if k != keyring.primary_id]
    if old and not left:
        lines.append(
            f"Old key id(s) {old} are no longer used; retire them with "
            "'clgbt keys retire ID' once your backups are re-made."
        )
    return lines


async def _retire(settings: Settings, environ: Mapping[str, str], key_id: int) -> str:
    if environ.get(MASTER_KEY_ENV, "").strip():
        raise KeyringError(f"the keyring comes from {MASTER_KEY_ENV}; remove the key there")
    keyring = load_keyring(settings.paths.key_file, environ)
    smaller = keyring.without(key_id)
    store = await Store.open(settings.paths.database, keyring)
    try:
        in_use = await rows_on_key(store, key_id)
        if in_use:
            raise KeyringError(
                f"key {key_id} still encrypts {in_use} values; run 'clgbt keys rotate' first"
            )
        await store.db.forget_key_check(key_id)
    finally:
        await store.close()
    replace_key_file(settings.paths.key_file, smaller)
    return f"Key {key_id} removed from {settings.paths.key_file}."


def _passphrase(environ: Mapping[str, str]) -> str:
    supplied = environ.get(PASSPHRASE_ENV)
    if supplied is not None:
        phrase = supplied
    else:
        phrase = getpass.getpass("Passphrase for the coordinators' private key: ")
        if getpass.getpass("The same passphrase again: ") != phrase:
            raise SealingError("the two passphrases differ; nothing was written")
    if len(phrase) < MIN_PASSPHRASE:
        raise SealingError(
            f"the passphrase must be at least {MIN_PASSPHRASE} characters; nothing was written"
        )
    return phrase


def coordinator_init(
    private_path: Path, public_path: Path, environ: Mapping[str, str], scrypt_n: int | None = None
) -> str:
    for path in (private_path, public_path):
        if path.exists():
            raise SealingError(f"{path}: already exists and was left untouched")
    phrase = _passphrase(environ)
    private = CoordinatorPrivateKey.generate()
    protected = (
        private.to_protected_text(phrase)
        if scrypt_n is None
        else private.to_protected_text(phrase, scrypt_n=scrypt_n)
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(protected)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.write_text(private.public_key().to_text(), encoding="utf-8")
    return (
        f"Private key (passphrase-protected): {private_path}. Keep it OFF the server.\n"
        f"Public key: {public_path}. Put it on the server and set "
        "paths.coordinator_public_key to its path."
    )


async def _purge(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    public_key = load_coordinator_public_key(settings.paths.coordinator_public_key)
    store = await open_store(settings, environ)
    try:
        today = datetime.now(settings.office_hours.timezone).date()
        report = await purge(store, settings.retention, today, public_key)
    finally:
        await store.close()
    return report.lines()


def run_keys(args: argparse.Namespace, settings: Settings, environ: Mapping[str, str]) -> str:
    action: str = args.keys_command
    if action == "init":
        return keys_init(settings, args.key_file)
    if action == "rotate":
        return "\n".join(asyncio.run(_rotate(settings, environ)))
    if action == "retire":
        return asyncio.run(_retire(settings, environ, args.key_id))
    return coordinator_init(args.private_key, args.public_key, environ)


def run_purge(settings: Settings, environ: Mapping[str, str]) -> str:
    return "\n".join(asyncio.run(_purge(settings, environ)))


def run_backup(settings: Settings, destination: Path) -> str:
    pages = backup(settings.paths.database, destination)
    return (
        f"Backed up {pages} pages to {destination}. The copy is encrypted like the "
        "original; keep the master key file separately."
    )
