"""The README documents every command, and its two commands are the scripts CI runs."""

from __future__ import annotations

from pathlib import Path

from bot.cli import documented_commands

ROOT = Path(__file__).resolve().parents[1]


def test_every_cli_command_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [c for c in documented_commands() if f"clgbt {c}" not in readme]
    assert not missing, f"README.md does not document: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./scripts/test.sh" in readme and "./scripts/test.sh" in ci
    assert "./scripts/start.sh" in readme
