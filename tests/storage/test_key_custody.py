"""Key custody: the master key is never in clear beside the database unless the operator says
so, a wrong passphrase changes nothing, secrets leave the environment once read, and the
database, its sidecars and every export are private files that never follow a link."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import DatabaseError
from storage.keyring import (
    CREDENTIAL_KEY,
    CREDENTIAL_PASSPHRASE,
    MASTER_KEY_ENV,
    PASSPHRASE_ENV,
    KdfParams,
    Keyring,
    KeyringError,
    KeySource,
    create_key_file,
    load_master_keyring,
    replace_key_file,
    unwrap_keyring,
    wrap_keyring,
)
from storage.private_files import OutputFileError, write_private
from storage.store import Store
from storage.writer_lock import DatabaseInUse, WriterLock, refuse_if_in_use
from tests.storage.conftest import database_files

FAST = KdfParams(memory_kib=256, iterations=1, lanes=1)
PHRASE = "correct horse battery staple"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask, as on many servers, so that 0600 is the code's doing."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# ------------------------------------------------------------------ wrapped key files
def test_wrapped_key_file_round_trips_and_holds_no_clear_key(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    keyring = create_key_file(key_file, passphrase=PHRASE, params=FAST)
    raw = key_file.read_bytes()
    assert mode(key_file) == 0o600
    assert b"[keys]" not in raw
    for key in keyring.keys.values():
        assert key not in raw and base64.b64encode(key) not in raw
    loaded = load_master_keyring(key_file, {PASSPHRASE_ENV: PHRASE})
    assert loaded.keyring.keys == keyring.keys
    assert loaded.source is KeySource.WRAPPED_FILE and loaded.params == FAST
    assert PHRASE not in repr(loaded)


def test_a_wrong_passphrase_refuses_and_changes_nothing(tmp_path: Path, db_path: Path) -> None:
    key_file = tmp_path / "master.key"
    create_key_file(key_file, passphrase=PHRASE, params=FAST)
    before = key_file.read_bytes()
    with pytest.raises(KeyringError, match="wrong passphrase"):
        load_master_keyring(key_file, {PASSPHRASE_ENV: "not the passphrase at all"})
    assert key_file.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]


def test_the_kdf_parameters_are_bounded_and_authenticated() -> None:
    keyring = Keyring.generate()
    text = wrap_keyring(keyring, PHRASE, FAST)
    huge = text.replace("memory_kib = 256", f"memory_kib = {1 << 30}")
    with pytest.raises(KeyringError, match="memory_kib"):
        unwrap_keyring(huge, PHRASE, "key file")
    # A changed cost is refused as a wrong passphrase, never silently accepted.
    with pytest.raises(KeyringError, match="wrong passphrase"):
        unwrap_keyring(text.replace("iterations = 1", "iterations = 2"), PHRASE, "key file")
    with pytest.raises(KeyringError, match="lanes"):
        KdfParams(memory_kib=4096, iterations=1, lanes=64).check("key file")


def test_a_wrapped_key_without_a_passphrase_says_where_to_give_one(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    create_key_file(key_file, passphrase=PHRASE, params=FAST)
    with pytest.raises(KeyringError, match=CREDENTIAL_PASSPHRASE):
        load_master_keyring(key_file, {})
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return PHRASE

    assert load_master_keyring(key_file, {}, ask_passphrase=ask).source is KeySource.WRAPPED_FILE
    assert asked and str(key_file) in asked[0]


def test_rotation_keeps_the_file_wrapped_under_the_same_passphrase(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    create_key_file(key_file, passphrase=PHRASE, params=FAST)
    loaded = load_master_keyring(key_file, {PASSPHRASE_ENV: PHRASE})
    bigger = loaded.keyring.with_new_primary()
    replace_key_file(key_file, bigger, passphrase=loaded.passphrase, params=loaded.params)
    assert b"[keys]" not in key_file.read_bytes() and mode(key_file) == 0o600
    assert load_master_keyring(key_file, {PASSPHRASE_ENV: PHRASE}).keyring.ids == [1, 2]


# ------------------------------------------------------------------ clear key beside the database
def test_a_clear_key_beside_the_database_is_refused_unless_allowed(
    tmp_path: Path, db_path: Path
) -> None:
    key_file = tmp_path / "master.key"
    keyring = create_key_file(key_file)
    with pytest.raises(KeyringError) as refused:
        load_master_keyring(key_file, {}, database=db_path)
    message = str(refused.value)
    assert str(key_file) in message and "storage.allow_clear_key_beside_database" in message
    assert "clgbt keys wrap" in message and "\n" not in message
    assert not db_path.exists()
    allowed = load_master_keyring(key_file, {}, database=db_path, allow_clear_beside_database=True)
    assert allowed.keyring.keys == keyring.keys and allowed.source is KeySource.CLEAR_FILE


def test_a_key_file_that_is_a_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.key"
    create_key_file(real, passphrase=PHRASE, params=FAST)
    link = tmp_path / "master.key"
    link.symlink_to(real)
    with pytest.raises(KeyringError, match="regular file"):
        load_master_keyring(link, {PASSPHRASE_ENV: PHRASE})


# ------------------------------------------------------------------ environment and credentials
def test_the_key_variable_is_removed_from_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv(MASTER_KEY_ENV, key)
    monkeypatch.setenv(PASSPHRASE_ENV, "unused but secret")
    loaded = load_master_keyring(tmp_path / "absent.key", os.environ)
    assert loaded.keyring.keys == {1: b"k" * 32} and loaded.source is KeySource.ENVIRONMENT
    assert MASTER_KEY_ENV not in os.environ and PASSPHRASE_ENV not in os.environ
    assert os.getenv(MASTER_KEY_ENV) is None


def test_the_passphrase_variable_is_removed_once_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "master.key"
    create_key_file(key_file, passphrase=PHRASE, params=FAST)
    monkeypatch.setenv(PASSPHRASE_ENV, PHRASE)
    load_master_keyring(key_file, os.environ)
    assert PASSPHRASE_ENV not in os.environ


def test_systemd_credentials(tmp_path: Path, db_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    keyring = Keyring.generate()
    (credentials / CREDENTIAL_KEY).write_text(keyring.to_text())
    environ = {"CREDENTIALS_DIRECTORY": str(credentials)}
    loaded = load_master_keyring(tmp_path / "absent.key", environ, database=db_path)
    assert loaded.keyring.keys == keyring.keys and loaded.source is KeySource.CREDENTIAL

    # The other way: a wrapped key file on disk, its passphrase in an (encrypted) credential.
    (credentials / CREDENTIAL_KEY).unlink()
    key_file = tmp_path / "master.key"
    wrapped = create_key_file(key_file, passphrase=PHRASE, params=FAST)
    (credentials / CREDENTIAL_PASSPHRASE).write_text(PHRASE + "\n")
    loaded = load_master_keyring(key_file, environ, database=db_path)
    assert loaded.keyring.keys == wrapped.keys and loaded.source is KeySource.WRAPPED_FILE


# ------------------------------------------------------------------ private files
async def test_the_database_and_its_sidecars_are_0600_in_an_existing_folder(
    tmp_path: Path, open_umask: None
) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    path = folder / "clgbt.sqlite3"
    store = await Store.open(path, Keyring.generate())
    try:
        await store.people.get_or_create(1, 1)
        names = set(database_files(path))
        assert {"clgbt.sqlite3", "clgbt.sqlite3-wal"} <= names
        for name in names:
            assert mode(folder / name) == 0o600, name
        assert mode(folder / "clgbt.sqlite3.lock") == 0o600
    finally:
        await store.close()


async def test_a_world_readable_database_is_tightened(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "clgbt.sqlite3"
    keyring = Keyring.generate()
    await (await Store.open(path, keyring)).close()
    path.chmod(0o644)
    await (await Store.open(path, keyring)).close()
    assert mode(path) == 0o600


def test_exports_are_0600_new_files_that_never_follow_a_link(
    tmp_path: Path, open_umask: None
) -> None:
    out = tmp_path / "export.csv"
    write_private(out, "a,b\n")
    assert mode(out) == 0o600 and out.read_text() == "a,b\n"
    with pytest.raises(OutputFileError, match="already exists"):
        write_private(out, "overwritten")
    assert out.read_text() == "a,b\n"
    target = tmp_path / "target.txt"
    target.write_text("precious")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    with pytest.raises(OutputFileError):
        write_private(link, "through the link")
    assert target.read_text() == "precious"
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere.csv")
    with pytest.raises(OutputFileError):
        write_private(dangling, "x")
    assert not (tmp_path / "nowhere.csv").exists()


# ------------------------------------------------------------------ one writer
async def test_a_second_writer_is_refused_while_the_first_holds_the_database(
    db_path: Path,
) -> None:
    keyring = Keyring.generate()
    store = await Store.open(db_path, keyring)
    try:
        with pytest.raises(DatabaseInUse, match="is using this database"):
            refuse_if_in_use(db_path)
        with pytest.raises(DatabaseError, match="is using this database"):
            await Store.open(db_path, keyring)
    finally:
        await store.close()
    refuse_if_in_use(db_path)  # released on close
    await (await Store.open(db_path, keyring)).close()


def test_refuse_if_in_use_creates_nothing(tmp_path: Path) -> None:
    refuse_if_in_use(tmp_path / "clgbt.sqlite3")
    assert list(tmp_path.iterdir()) == []
    lock = WriterLock.acquire(tmp_path / "clgbt.sqlite3")
    lock.release()
    lock.release()  # twice is harmless
