"""``clgbt validate --config`` reports every problem at once and says the file was checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.config_check import check_config

ROOT = Path(__file__).resolve().parents[1]
PARTNERS = frozenset({"rock", "cchr"})
TOKEN = {"TELEGRAM_BOT_TOKEN": "123456789:TEST-token-for-the-sandbox-emulator_x"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[telegram]\nmode = "carrier-pigeon"\n'
        "[staff]\ngroup_id = 5\n"
        '[[staff.members]]\nuser_id = 7\nrole = "wizard"\nalias = "Dara"\n'
        '[office_hours]\ndays = []\nopens = "25:00"\n'
        "[webhook]\nport = 70000\n"
        "[sending]\ngive_up_after_seconds = 1\n"
        "[referrals]\npartner_chats = { nowhere = -100 }\n"
        "[mystery]\nx = 1\n",
    )
    problems = check_config(path, TOKEN, PARTNERS)
    keys = [p.key for p in problems]
    for expected in (
        "telegram.mode",
        "staff.members[0].role",
        "office_hours.opens",
        "webhook.port",
        "sending.give_up_after_seconds",
        "mystery",
        "staff.group_id",
        "referrals.partner_chats.nowhere",
    ):
        assert any(k.startswith(expected) for k in keys), (expected, keys)
    assert len(problems) >= 8


def test_combinations_that_are_wrong_together(tmp_path: Path) -> None:
    path = write(tmp_path, "[staff]\ngroup_id = -1001\n")
    problems = check_config(path, TOKEN, PARTNERS)
    assert [str(p) for p in problems if p.key == "staff.members"]
    no_group = check_config(write(tmp_path, ""), TOKEN, PARTNERS)
    [warning] = [p for p in no_group if p.key == "staff.group_id"]
    assert warning.warning and "no counsellor can be reached" in warning.problem


def test_a_good_configuration_has_no_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[staff]\ngroup_id = -1001\n"
        '[[staff.members]]\nuser_id = 7\nrole = "counsellor"\nalias = "Dara"\n'
        "[referrals]\npartner_chats = { rock = -1002 }\n",
    )
    assert check_config(path, TOKEN, PARTNERS) == []


def test_the_command_says_the_configuration_was_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "[staff]\ngroup_id = 5\n[safety]\nwindow_seconds = 0\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "validate", "--config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0, result.stdout + result.stderr
    assert "safety.window_seconds" in result.stdout and "staff.group_id" in result.stdout
    assert "checked: " in result.stdout and "Traceback" not in result.stderr
