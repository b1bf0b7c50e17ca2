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
from bot.storage_setup import (
    ask_in_terminal,
    load_coordinator_public_key,
    load_keyring_for,
    open_store,
)
from storage.backup import backup
from storage.keyring import (
    CREDENTIAL_KEY,
    MASTER_KEY_ENV,
    NEW_PASSPHRASE_ENV,
    Keyring,
    KeyringError,
    KeySource,
    LoadedKeyring,
    create_key_file,
    load_master_keyring,
    replace_key_file,
    take_from_environment,
)
from storage.keyring import MIN_PASSPHRASE as MIN_KEY_PASSPHRASE
from storage.keyring import PASSPHRASE_ENV as KEY_PASSPHRASE_ENV
from storage.person_keys import key_store_path
from storage.retention import purge
from storage.rotation import reencrypt, rows_on_key, rows_on_other_keys
from storage.sealing import CoordinatorPrivateKey, SealingError
from storage.store import Store
from storage.writer_lock import refuse_if_in_use

PASSPHRASE_ENV = "CLGBT_COORDINATOR_PASSPHRASE"  # noqa: S105 - a variable name
MIN_PASSPHRASE = 12


def _new_key_passphrase(environ: Mapping[str, str], variable: str, what: str) -> str:
    """A new passphrase for the master key: from ``variable`` (removed once read), or asked
    twice at the terminal."""
    phrase = take_from_environment(environ, variable)
    if phrase is None:
        first = ask_in_terminal(f"New passphrase for {what}: ")
        if first is None:
            raise KeyringError(
                f"a new passphrase for {what} is needed: run in a terminal or set {variable}; "
                "nothing was written"
            )
        if ask_in_terminal("The same passphrase again: ") != first:
            raise KeyringError("the two passphrases differ; nothing was written")
        phrase = first
    if len(phrase) < MIN_KEY_PASSPHRASE:
        raise KeyringError(
            f"the passphrase must be at least {MIN_KEY_PASSPHRASE} characters; nothing was written"
        )
    return phrase


def keys_init(
    settings: Settings, key_file: Path | None, environ: Mapping[str, str], *, clear: bool
) -> str:
    path = key_file or settings.paths.key_file
    if path.exists() or path.is_symlink():
        create_key_file(path)  # refuses, with the usual message, before asking anything
    if clear:
        keyring = create_key_file(path)
        return (
            f"Wrote a new master key (id {keyring.primary_id}) IN CLEAR to {path} "
            "(mode 0600).\nLoad it into a systemd credential (docs/clgbt.service), keep an "
            "offline copy, then delete this file: start-up refuses a clear key beside the "
            "database."
        )
    phrase = _new_key_passphrase(environ, KEY_PASSPHRASE_ENV, f"the master key {path}")
    keyring = create_key_file(path, passphrase=phrase)
    return (
        f"Wrote a new master key (id {keyring.primary_id}) to {path}, protected by your "
        "passphrase (mode 0600).\nKeep an offline copy of the file and of the passphrase: "
        "without both no record can ever be read."
    )


def _loaded(settings: Settings, environ: Mapping[str, str]) -> LoadedKeyring:
    """The keyring for a key command: refused at once if the bot holds the database."""
    refuse_if_in_use(settings.paths.database)
    return load_keyring_for(settings, environ)


def _save(settings: Settings, loaded: LoadedKeyring, keyring: Keyring) -> None:
    """Write ``keyring`` to the key file under the protection the old one had."""
    replace_key_file(
        settings.paths.key_file, keyring, passphrase=loaded.passphrase, params=loaded.params
    )


def _outside_file(loaded: LoadedKeyring) -> bool:
    return loaded.source in (KeySource.ENVIRONMENT, KeySource.CREDENTIAL)


async def _rotate(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    loaded = _loaded(settings, environ)
    keyring = loaded.keyring
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
        if _outside_file(loaded):
            raise KeyringError(
                f"the keyring comes from the {loaded.source.value} ({MASTER_KEY_ENV} or "
                f"{CREDENTIAL_KEY}); add a new key there yourself (ID:BASE64, a higher id) "
                "and run 'clgbt keys rotate' again to re-encrypt"
            )
        keyring = keyring.with_new_primary()
        # The new key is on disk before any value uses it, so a crash never strands data.
        _save(settings, loaded, keyring)
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
    loaded = _loaded(settings, environ)
    if _outside_file(loaded):
        raise KeyringError(
            f"the keyring comes from the {loaded.source.value}; remove the key there"
        )
    keyring = loaded.keyring
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
    _save(settings, loaded, smaller)
    return f"Key {key_id} removed from {settings.paths.key_file}."


def keys_wrap(settings: Settings, environ: Mapping[str, str]) -> str:
    """Protect a clear key file with a passphrase, or give a wrapped one a new passphrase."""
    refuse_if_in_use(settings.paths.database)
    path = settings.paths.key_file
    # Both passphrase variables are taken (and removed) first: the current one unlocks, the
    # new one protects; a clear file needs only the new one, from CLGBT_KEY_PASSPHRASE.
    scratch = dict(environ)
    for variable in (MASTER_KEY_ENV, KEY_PASSPHRASE_ENV, NEW_PASSPHRASE_ENV):
        take_from_environment(environ, variable)
    new_phrase = {name: scratch.pop(name) for name in (NEW_PASSPHRASE_ENV,) if name in scratch}
    current = scratch.get(KEY_PASSPHRASE_ENV)
    # The clear key beside the database is what this command fixes, so it is allowed here.
    loaded = load_master_keyring(
        path, scratch, allow_clear_beside_database=True, ask_passphrase=ask_in_terminal
    )
    if _outside_file(loaded):
        raise KeyringError(
            f"the keyring comes from the {loaded.source.value}, not from {path}; unset it to "
            "wrap the key file"
        )
    if loaded.passphrase is None:
        supplied = {} if current is None else {KEY_PASSPHRASE_ENV: current}
        phrase = _new_key_passphrase(supplied, KEY_PASSPHRASE_ENV, f"the master key {path}")
    else:
        phrase = _new_key_passphrase(new_phrase, NEW_PASSPHRASE_ENV, f"the master key {path}")
    verb = "protected with a passphrase" if loaded.passphrase is None else "given a new passphrase"
    replace_key_file(path, loaded.keyring, passphrase=phrase, params=loaded.params)
    return (
        f"{path}: {verb} (keys {loaded.keyring.ids}). Old copies of the file (backups, the "
        "disk's free space) still hold the previous form: destroy them, and for a key that was "
        "in clear consider 'clgbt keys rotate'."
    )


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
    refuse_if_in_use(settings.paths.database)
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
        return keys_init(settings, args.key_file, environ, clear=args.clear)
    if action == "wrap":
        return keys_wrap(settings, environ)
    if action == "rotate":
        return "\n".join(asyncio.run(_rotate(settings, environ)))
    if action == "retire":
        return asyncio.run(_retire(settings, environ, args.key_id))
    return coordinator_init(args.private_key, args.public_key, environ)


def run_purge(settings: Settings, environ: Mapping[str, str]) -> str:
    return "\n".join(asyncio.run(_purge(settings, environ)))


def run_backup(settings: Settings, destination: Path) -> str:
    pages = backup(settings.paths.database, destination)
    keys = key_store_path(settings.paths.database)
    return (
        f"Backed up {pages} pages to {destination}. The copy is encrypted like the "
        "original; keep the master key file separately.\nThe people's keys are not in it: "
        f"back up {keys} separately and keep only its latest copy (an old copy would still "
        "open people erased since); without it the copy cannot be read."
    )
