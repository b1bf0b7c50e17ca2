"""The storage commands through the real CLI, as an operator uses them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAE-real-looking-token_value-xyz"


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


def test_keys_init_writes_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    first = clgbt("keys", "init", "--config", str(cfg))
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "data" / "master.key"
    assert (key_file.stat().st_mode & 0o777) == 0o600
    before = key_file.read_bytes()
    second = clgbt("keys", "init", "--config", str(cfg))
    assert second.returncode == 2 and "already exists" in second.stderr
    assert key_file.read_bytes() == before


def test_startup_refuses_a_missing_key_without_writing(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    result = clgbt("run", "--config", str(cfg), env={"TELEGRAM_BOT_TOKEN": TOKEN})
    assert result.returncode == 2
    assert "clgbt keys init" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "clgbt.sqlite3").exists()


def test_startup_refuses_a_world_readable_key(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clgbt("keys", "init", "--config", str(cfg))
    (tmp_path / "data" / "master.key").chmod(0o644)
    result = clgbt("run", "--config", str(cfg), env={"TELEGRAM_BOT_TOKEN": TOKEN})
    assert result.returncode == 2 and "chmod 600" in result.stderr
    assert not (tmp_path / "data" / "clgbt.sqlite3").exists()


def test_startup_refuses_a_wrong_key_and_leaves_the_files_identical(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clgbt("keys", "init", "--config", str(cfg))
    assert clgbt("purge", "--config", str(cfg)).returncode == 0  # creates the database
    key_file = tmp_path / "data" / "master.key"
    key_file.unlink()
    clgbt("keys", "init", "--config", str(cfg))  # a different key
    files = sorted((tmp_path / "data").iterdir())
    before = {p.name: p.read_bytes() for p in files}
    result = clgbt("run", "--config", str(cfg), env={"TELEGRAM_BOT_TOKEN": TOKEN})
    assert result.returncode == 2 and "does not open this database" in result.stderr
    after = {p.name: p.read_bytes() for p in sorted((tmp_path / "data").iterdir())}
    assert after == before


def test_rotate_retire_backup_and_purge(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    clgbt("keys", "init", "--config", str(cfg))
    assert clgbt("purge", "--config", str(cfg)).returncode == 0
    rotated = clgbt("keys", "rotate", "--config", str(cfg))
    assert rotated.returncode == 0 and "Added key 2" in rotated.stdout, rotated.stderr
    retired = clgbt("keys", "retire", "1", "--config", str(cfg))
    assert retired.returncode == 0, retired.stderr
    refused = clgbt("keys", "retire", "2", "--config", str(cfg))
    assert refused.returncode == 2 and "primary" in refused.stderr
    copy = tmp_path / "copy.sqlite3"
    made = clgbt("backup", str(copy), "--config", str(cfg))
    assert made.returncode == 0 and copy.exists(), made.stderr
    purged = clgbt("purge", "--config", str(cfg))
    assert purged.returncode == 0 and "idle conversations deleted: 0" in purged.stdout


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
