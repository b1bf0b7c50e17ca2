"""The storage commands through the real CLI, as an operator uses them."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

from storage.keyring import load_master_keyring
from storage.writer_lock import WriterLock

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAE-real-looking-token_value-xyz"
PHRASE = "a long enough passphrase"
UNLOCK = {"CLGBT_KEY_PASSPHRASE": PHRASE}


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[telegram]\nbase_url = "http://127.0.0.1:9/bot"\n'
        '[paths]\ndatabase = "data/clgbt.sqlite3"\nkey_file = "data/master.key"\n' + extra,
        encoding="utf-8",
    )
    return path


def clgbt(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        cwd=cwd,
        timeout=120,
        check=False,
    )


def data_files(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((tmp_path / "data").iterdir())}


def test_keys_init_writes_a_wrapped_0600_key_and_refuses_to_overwrite(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    first = clgbt("keys", "init", "--config", str(cfg), env=UNLOCK)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "data" / "master.key"
    assert (key_file.stat().st_mode & 0o777) == 0o600
    before = key_file.read_bytes()
    second = clgbt("keys", "init", "--config", str(cfg), env=UNLOCK)
    assert second.returncode == 2 and "already exists" in second.stderr
    assert key_file.read_bytes() == before
    (tmp_path / "x").mkdir()
    short = clgbt(
        "keys",
        "init",
        "--config",
        str(config(tmp_path / "x")),
        env={"CLGBT_KEY_PASSPHRASE": "short"},
    )
    assert short.returncode == 2 and "at least 12" in short.stderr


def test_a_disk_image_of_a_default_installation_holds_no_usable_key(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert clgbt("keys", "init", "--config", str(cfg), env=UNLOCK).returncode == 0
    purged = clgbt("purge", "--config", str(cfg), env=UNLOCK)  # creates the database
    assert purged.returncode == 0, purged.stderr
    keyring = load_master_keyring(tmp_path / "data" / "master.key", dict(UNLOCK)).keyring
    image = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for key in keyring.keys.values():
        assert key not in image and base64.b64encode(key) not in image
    assert b"[keys]" not in image
    # Without the passphrase the key file opens nothing, and start-up says what to do.
    locked = clgbt("purge", "--config", str(cfg))
    assert locked.returncode == 2 and "CLGBT_KEY_PASSPHRASE" in locked.stderr


def test_startup_refuses_a_missing_key_without_writing(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    result = clgbt("purge", "--config", str(cfg), env=UNLOCK)
    assert result.returncode == 2
    assert "clgbt keys init" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "clgbt.sqlite3").exists()


def test_startup_refuses_a_world_readable_key(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clgbt("keys", "init", "--config", str(cfg), env=UNLOCK)
    (tmp_path / "data" / "master.key").chmod(0o644)
    result = clgbt("purge", "--config", str(cfg), env=UNLOCK)
    assert result.returncode == 2 and "chmod 600" in result.stderr
    assert not (tmp_path / "data" / "clgbt.sqlite3").exists()


def test_a_wrong_passphrase_refuses_and_leaves_the_files_identical(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clgbt("keys", "init", "--config", str(cfg), env=UNLOCK)
    assert clgbt("purge", "--config", str(cfg), env=UNLOCK).returncode == 0
    before = data_files(tmp_path)
    wrong = {"CLGBT_KEY_PASSPHRASE": "not the right passphrase"}
    for command in (("purge",), ("keys", "rotate"), ("keys", "retire", "1")):
        result = clgbt(*command, "--config", str(cfg), env=wrong)
        assert result.returncode == 2 and "wrong passphrase" in result.stderr, command
        assert len(result.stderr.strip().splitlines()) == 1
        assert data_files(tmp_path) == before


def test_startup_refuses_a_wrong_key_and_leaves_the_files_identical(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clgbt("keys", "init", "--config", str(cfg), env=UNLOCK)
    assert clgbt("purge", "--config", str(cfg), env=UNLOCK).returncode == 0
    key_file = tmp_path / "data" / "master.key"
    key_file.unlink()
    clgbt("keys", "init", "--config", str(cfg), env=UNLOCK)  # a different key
    before = data_files(tmp_path)
    result = clgbt("purge", "--config", str(cfg), env=UNLOCK)
    assert result.returncode == 2 and "does not open this database" in result.stderr
    assert data_files(tmp_path) == before


def test_a_clear_key_beside_the_database_is_refused_unless_the_configuration_allows_it(
    tmp_path: Path,
) -> None:
    cfg = config(tmp_path)
    made = clgbt("keys", "init", "--clear", "--config", str(cfg))
    assert made.returncode == 0 and "IN CLEAR" in made.stdout, made.stderr
    refused = clgbt("purge", "--config", str(cfg))
    assert refused.returncode == 2
    assert str(tmp_path / "data" / "master.key") in refused.stderr
    assert "storage.allow_clear_key_beside_database" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data" / "clgbt.sqlite3").exists()
    allowed = config(tmp_path, "[storage]\nallow_clear_key_beside_database = true\n")
    assert clgbt("purge", "--config", str(allowed)).returncode == 0
    # 'keys wrap' fixes it: the same keys, now behind a passphrase.
    wrapped = clgbt("keys", "wrap", "--config", str(cfg), env=UNLOCK)
    assert wrapped.returncode == 0, wrapped.stderr
    assert b"[keys]" not in (tmp_path / "data" / "master.key").read_bytes()
    after = clgbt("purge", "--config", str(cfg), env=UNLOCK)
    assert after.returncode == 0, after.stderr
    changed = clgbt(
        "keys",
        "wrap",
        "--config",
        str(cfg),
        env={**UNLOCK, "CLGBT_NEW_KEY_PASSPHRASE": "another long passphrase"},
    )
    assert changed.returncode == 0, changed.stderr
    assert clgbt("purge", "--config", str(cfg), env=UNLOCK).returncode == 2
    assert (
        clgbt(
            "purge", "--config", str(cfg), env={"CLGBT_KEY_PASSPHRASE": "another long passphrase"}
        ).returncode
        == 0
    )


def test_the_key_from_a_systemd_credential_or_the_environment(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    made = clgbt(
        "keys",
        "init",
        "--clear",
        "--key-file",
        str(credentials / "clgbt-master-key"),
        "--config",
        str(cfg),
    )
    assert made.returncode == 0, made.stderr
    env = {"CREDENTIALS_DIRECTORY": str(credentials)}
    assert clgbt("purge", "--config", str(cfg), env=env).returncode == 0
    refused = clgbt("keys", "rotate", "--config", str(cfg), env=env)
    assert refused.returncode == 2 and "systemd credential" in refused.stderr
    text = (credentials / "clgbt-master-key").read_text()
    encoded = text.split('"')[1]
    assert clgbt("purge", "--config", str(cfg), env={"CLGBT_MASTER_KEY": encoded}).returncode == 0


def test_rotate_retire_backup_and_purge(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clgbt("keys", "init", "--config", str(cfg), env=UNLOCK)
    assert clgbt("purge", "--config", str(cfg), env=UNLOCK).returncode == 0
    rotated = clgbt("keys", "rotate", "--config", str(cfg), env=UNLOCK)
    assert rotated.returncode == 0 and "Added key 2" in rotated.stdout, rotated.stderr
    key_file = tmp_path / "data" / "master.key"
    assert b"[keys]" not in key_file.read_bytes(), "the rotated key file stays wrapped"
    retired = clgbt("keys", "retire", "1", "--config", str(cfg), env=UNLOCK)
    assert retired.returncode == 0, retired.stderr
    refused = clgbt("keys", "retire", "2", "--config", str(cfg), env=UNLOCK)
    assert refused.returncode == 2 and "primary" in refused.stderr
    assert load_master_keyring(key_file, dict(UNLOCK)).keyring.ids == [2]
    copy = tmp_path / "copy.sqlite3"
    made = clgbt("backup", str(copy), "--config", str(cfg))
    assert made.returncode == 0 and copy.exists(), made.stderr
    assert (copy.stat().st_mode & 0o777) == 0o600
    again = clgbt("backup", str(copy), "--config", str(cfg))
    assert again.returncode == 2 and "already exists" in again.stderr
    link = tmp_path / "link.sqlite3"
    link.symlink_to(tmp_path / "elsewhere.sqlite3")
    linked = clgbt("backup", str(link), "--config", str(cfg))
    assert linked.returncode == 2 and not (tmp_path / "elsewhere.sqlite3").exists()
    purged = clgbt("purge", "--config", str(cfg), env=UNLOCK)
    assert purged.returncode == 0 and "idle conversations deleted: 0" in purged.stdout


def test_key_commands_and_purge_refuse_while_the_bot_holds_the_database(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clgbt("keys", "init", "--config", str(cfg), env=UNLOCK)
    assert clgbt("purge", "--config", str(cfg), env=UNLOCK).returncode == 0
    lock = WriterLock.acquire(tmp_path / "data" / "clgbt.sqlite3")  # as the running bot does
    try:
        before = data_files(tmp_path)
        for command in (("keys", "rotate"), ("keys", "retire", "1"), ("keys", "wrap"), ("purge",)):
            result = clgbt(*command, "--config", str(cfg), env=UNLOCK)
            assert result.returncode == 2, command
            assert "is using this database" in result.stderr, command
            assert len(result.stderr.strip().splitlines()) == 1
        assert data_files(tmp_path) == before
    finally:
        lock.release()
    assert clgbt("keys", "rotate", "--config", str(cfg), env=UNLOCK).returncode == 0


def test_stats_csv_is_a_new_0600_file_and_never_follows_a_link(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clgbt("keys", "init", "--config", str(cfg), env=UNLOCK)
    assert clgbt("purge", "--config", str(cfg), env=UNLOCK).returncode == 0
    out = tmp_path / "stats.csv"
    made = clgbt("stats", "--config", str(cfg), "--csv", str(out))
    assert made.returncode == 0, made.stderr
    assert (out.stat().st_mode & 0o777) == 0o600
    before = out.read_bytes()
    again = clgbt("stats", "--config", str(cfg), "--csv", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert out.read_bytes() == before
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    linked = clgbt("stats", "--config", str(cfg), "--csv", str(link))
    assert linked.returncode == 2 and target.read_text() == "keep me"


def test_coordinator_keypair(tmp_path: Path) -> None:
    private, public = tmp_path / "offline" / "coord.key", tmp_path / "coord.pub"
    short = clgbt(
        "keys",
        "coordinator-init",
        "--private-key",
        str(private),
        "--public-key",
        str(public),
        env={"CLGBT_COORDINATOR_PASSPHRASE": "short"},
    )
    assert short.returncode == 2 and "at least 12" in short.stderr and not private.exists()
    made = clgbt(
        "keys",
        "coordinator-init",
        "--private-key",
        str(private),
        "--public-key",
        str(public),
        env={"CLGBT_COORDINATOR_PASSPHRASE": "a long enough phrase"},
    )
    assert made.returncode == 0, made.stderr
    assert (private.stat().st_mode & 0o777) == 0o600
    assert public.read_text().startswith("clgbt-coordinators-public-key-v1")
    again = clgbt(
        "keys",
        "coordinator-init",
        "--private-key",
        str(private),
        "--public-key",
        str(public),
        env={"CLGBT_COORDINATOR_PASSPHRASE": "a long enough phrase"},
    )
    assert again.returncode == 2 and "already exists" in again.stderr
