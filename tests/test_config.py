"""Settings: strict loading, clear errors naming file and key, secrets that never print."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Role, RunMode, load_settings
from bot.secret import MASK, Secret

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAE-real-looking-token_value-xyz"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_configuration_loads() -> None:
    settings = load_settings(ROOT / "config.example.toml", {})
    assert settings.office_hours.timezone.key == "Asia/Phnom_Penh"
    assert settings.telegram.token is None
    assert settings.telegram.mode is RunMode.POLLING
    assert settings.paths.database == ROOT / "data" / "clgbt.sqlite3"


def test_token_comes_from_the_environment_and_never_prints(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), {"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.telegram.token is not None
    assert settings.telegram.token.reveal() == TOKEN
    for rendering in (str(settings), repr(settings), f"{settings.telegram.token}"):
        assert TOKEN not in rendering
    assert MASK in repr(settings)


def test_token_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "token").chmod(0o600)
    settings = load_settings(write(tmp_path, '[telegram]\ntoken_file = "token"\n'), {})
    assert settings.telegram.token == Secret(TOKEN)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_token_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(mode)
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, '[telegram]\ntoken_file = "token"\n'), {})
    assert caught.value.key == "telegram.token_file"
    assert f"chmod 600 {token}" in caught.value.problem and TOKEN not in str(caught.value)


def test_a_clear_key_beside_the_database_is_refused_unless_allowed_explicitly(
    tmp_path: Path,
) -> None:
    assert not load_settings(write(tmp_path, ""), {}).storage.allow_clear_key_beside_database
    allowed = load_settings(
        write(tmp_path, "[storage]\nallow_clear_key_beside_database = true\n"), {}
    )
    assert allowed.storage.allow_clear_key_beside_database
    with pytest.raises(ConfigError, match="true or false") as caught:
        load_settings(write(tmp_path, '[storage]\nallow_clear_key_beside_database = "yes"\n'), {})
    assert caught.value.key == "storage.allow_clear_key_beside_database"


def test_staff_roles_and_aliases(tmp_path: Path) -> None:
    text = """
[staff]
group_id = -1001
[[staff.members]]
user_id = 11
role = "counsellor"
alias = "Dara"
[[staff.members]]
user_id = 12
role = "coordinator"
alias = "Sophea"
"""
    staff = load_settings(write(tmp_path, text), {}).staff
    assert staff.role_of(11) is Role.COUNSELLOR
    assert staff.role_of(12) is Role.COORDINATOR
    assert staff.role_of(13) is None


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("[telegram\n", "(syntax)", "not valid TOML"),
        ("[telegram]\nmode = 'carrier-pigeon'\n", "telegram.mode", '"polling" or "webhook"'),
        ("[retention]\naudit_days = 'forever'\n", "retention.audit_days", "whole number"),
        ("[retention]\naudit_days = 0\n", "retention.audit_days", "at least 1"),
        ("[office_hours]\ntimezone = 'Mars/Olympus'\n", "office_hours.timezone", "unknown time"),
        ("[office_hours]\nopens = '25:00'\n", "office_hours.opens", "time like"),
        ("[office_hours]\nopens = '18:00'\ncloses = '09:00'\n", "office_hours.closes", "later"),
        ("[office_hours]\ndays = ['monday']\n", "office_hours.days", "day names"),
        ("[staf]\ngroup_id = 1\n", "staf", "unknown key"),
        (
            "[staff]\n[[staff.members]]\nuser_id = 5\nrole = 'boss'\nalias = 'X'\n",
            "staff.members[0].role",
            "counsellor, coordinator, admin",
        ),
        (
            "[staff]\n[[staff.members]]\nuser_id = 5\nrole = 'admin'\nalias = ''\n",
            "staff.members[0].alias",
            "must not be empty",
        ),
        ("[telegram]\nbase_url = 'ftp://x'\n", "telegram.base_url", "http"),
        ("[telegram]\nmode = 'webhook'\n", "webhook.public_url", "https"),
        ("[sending]\ngive_up_after_seconds = 1\n", "sending.give_up_after_seconds", "at least 10"),
    ],
)
def test_broken_configuration_names_the_key(
    tmp_path: Path, text: str, key: str, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert caught.value.source == str(path)
    assert caught.value.key == key
    assert fragment in caught.value.problem


def test_a_malformed_token_is_refused_without_printing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, ""), {"TELEGRAM_BOT_TOKEN": "not-a-token-secret-value"})
    assert caught.value.key == "TELEGRAM_BOT_TOKEN"
    assert "not-a-token-secret-value" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"copy config\.example\.toml"):
        load_settings(tmp_path / "absent.toml", {})


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env or {"PATH": "/usr/bin:/bin"},
        cwd=cwd or ROOT,
        timeout=60,
        check=False,
    )


def test_cli_broken_config_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "[retention]\naudit_days = 'forever'\n")
    result = run_cli("run", "--config", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr and "retention.audit_days" in result.stderr
    assert "whole number" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_missing_token_is_explained(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    result = run_cli("run", "--config", str(path))
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "clgbt sandbox" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_run_without_a_config_file_says_how_to_make_one(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "config.example.toml" in result.stderr


def test_cli_version_and_help() -> None:
    assert run_cli("version").stdout.startswith("clgbt ")
    for command in ("run", "sandbox", "validate", "version"):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and "usage: clgbt" in result.stdout


def test_the_disguise_is_configuration(tmp_path: Path) -> None:
    text = """
[bot]
name = "Weather Today"
greeting = "Good morning!"
exit_line = "Sunny, 31°C."
[bot.commands]
exit = "Close"
"""
    bot = load_settings(write(tmp_path, text), {}).bot
    assert (bot.name, bot.greeting, bot.exit_line) == (
        "Weather Today",
        "Good morning!",
        "Sunny, 31°C.",
    )
    assert dict(bot.commands)["exit"] == "Close" and dict(bot.commands)["start"] == "Start"
    with pytest.raises(ConfigError, match="unknown command"):
        load_settings(write(tmp_path, "[bot.commands]\nhack = 'x'\n"), {})
