"""``clgbt partners``: a coordinator lists the partner channels and confirms one, on a copy of
the directory (the shipped file is never touched by these tests)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import EXIT_CONFIG, EXIT_OK, main
from knowledge.partners import PARTNERS_FILE, Confirmation, load_partners, phnom_penh_today


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    copy = tmp_path / "partners.yaml"
    shutil.copy(PARTNERS_FILE, copy)
    return copy


@pytest.fixture(autouse=True)
def shipped_file_unchanged() -> object:
    before = PARTNERS_FILE.read_bytes()
    yield None
    assert PARTNERS_FILE.read_bytes() == before, "tests must never change the shipped file"


def test_list_shows_every_channel(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["partners", "list", "--file", str(directory)]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    channels = [(p.id, c.kind) for p in load_partners(directory) for c in p.contacts]
    assert len(lines) == len(channels)
    assert lines[0].split("\t")[:2] == list(channels[0])
    assert "rock\twebsite\trockcambodia.org\tMay 2021\tnot confirmed" in lines


def test_confirm_changes_one_line(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = directory.read_text(encoding="utf-8").split("\n")
    day = phnom_penh_today() - timedelta(days=1)
    status = main(
        [
            "partners",
            "confirm",
            "rock",
            "website",
            "--by",
            "CLGBT coordinators",
            "--on",
            day.isoformat(),
            "--file",
            str(directory),
        ]
    )
    assert status == EXIT_OK
    assert capsys.readouterr().out.strip() == (
        f"rock website rockcambodia.org: confirmed {day.isoformat()} by CLGBT coordinators"
    )
    after = directory.read_text(encoding="utf-8").split("\n")
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1
    rock = {p.id: p for p in load_partners(directory)}["rock"]
    assert rock.contacts[0].confirmed == Confirmation("CLGBT coordinators", day)

    assert main(["partners", "list", "--file", str(directory)]) == EXIT_OK
    listed = capsys.readouterr().out
    assert f"confirmed {day.isoformat()} by CLGBT coordinators" in listed


def test_confirm_defaults_to_today(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["partners", "confirm", "rock", "website", "--by", "RoCK", "--file", str(directory)]
    assert main(args) == EXIT_OK
    rock = {p.id: p for p in load_partners(directory)}["rock"]
    assert rock.contacts[0].confirmed == Confirmation("RoCK", phnom_penh_today())


@pytest.mark.parametrize(
    ("partner", "kind", "on", "message"),
    [
        ("nobody", "website", None, "unknown partner 'nobody'"),
        ("rock", "fax", None, "unknown kind 'fax'"),
        ("rock", "phone", None, "rock has no sourced phone channel"),
        ("rock", "website", "2999-01-01", "2999-01-01 has not come yet"),
        ("rock", "website", "tomorrow", "expected a day like"),
    ],
)
def test_refused_in_one_line_and_nothing_changes(
    directory: Path,
    capsys: pytest.CaptureFixture[str],
    partner: str,
    kind: str,
    on: str | None,
    message: str,
) -> None:
    before = directory.read_bytes()
    args = ["partners", "confirm", partner, kind, "--by", "CLGBT coordinators"]
    args += ["--file", str(directory)] + (["--on", on] if on else [])
    assert main(args) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("clgbt: partners:") or err.startswith("clgbt: --on")
    assert len(err.strip().splitlines()) == 1
    assert directory.read_bytes() == before


def test_tomorrow_is_refused(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tomorrow = (phnom_penh_today() + timedelta(days=1)).isoformat()
    args = ["partners", "confirm", "rock", "website", "--by", "RoCK", "--on", tomorrow]
    assert main([*args, "--file", str(directory)]) == EXIT_CONFIG
    assert "has not come yet" in capsys.readouterr().err
    assert {p.id: p for p in load_partners(directory)}["rock"].contacts[0].confirmed is None


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.yaml"
    assert main(["partners", "list", "--file", str(missing)]) == EXIT_CONFIG
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_shipped_directory_is_the_default() -> None:
    from bot.cli import build_parser  # noqa: PLC0415

    args = build_parser().parse_args(["partners", "confirm", "rock", "website", "--by", "X"])
    assert args.file == PARTNERS_FILE
