"""Killing the bot process mid-intake and starting it again resumes at the same question."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.keyring import create_key_file
from tests.bot_process import ROOT, BotProcess, base_config
from tests.conftest import TEST_TOKEN, Emulator
from tests.people import Person
from tests.waiting import eventually


@pytest.fixture
def bot_config(tmp_path: Path, emulator: Emulator) -> Path:
    create_key_file(tmp_path / "master.key")
    config = tmp_path / "config.toml"
    config.write_text(base_config(emulator.server.base_url), encoding="utf-8")
    return config


@pytest.fixture
def bot_process(bot_config: Path, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(bot_config, tmp_path / "bot.log")
    try:
        yield process
    finally:
        process.kill()


async def test_a_killed_bot_resumes_the_intake(
    emulator: Emulator, bot_process: BotProcess
) -> None:
    bot_process.start()
    person = await Person.join(emulator.client)
    await person.start_in_english(within=30)
    await person.to_the_story_question()

    bot_process.kill()
    await person.say("It happened at the factory.")  # arrives while the bot is down
    await asyncio.sleep(0.2)
    bot_process.start()

    await person.expect("Roughly when did it happen?", within=30)
    await person.say_then("5/2026", "In which province")
    log = bot_process.log.read_text(encoding="utf-8")
    assert "factory" not in log and "Sokha" not in log and TEST_TOKEN not in log


async def test_sigterm_during_a_burst_loses_nothing(
    emulator: Emulator, bot_process: BotProcess
) -> None:
    """SIGTERM while a burst is being handled: the bot stops cleanly (exit status 0, no
    traceback), and after a restart every message of the burst has been answered."""
    bot_process.start()
    people = [await Person.join(emulator.client, f"Burst{n}", "X", f"b{n}") for n in range(10)]
    for person in people:
        await person.say("/start")
    await people[0].expect("Please choose a language", within=30)
    assert await bot_process.terminate() == 0
    bot_process.start()
    for person in people:
        await person.expect("Please choose a language", within=30)
    for person in people:
        greetings = [
            m
            for m in await person.messages()
            if "Please choose a language" in str(m.get("text")) and not m.get("deleted")
        ]
        assert len(greetings) >= 1
    log = bot_process.log.read_text(encoding="utf-8")
    assert "Traceback" not in log and "Burst" not in log


async def test_a_rejected_token_stops_with_one_clear_line(bot_config: Path) -> None:
    wrong = "987654321:WRONG-token-nobody-issued-this-one_x"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(bot_config),
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin"), "TELEGRAM_BOT_TOKEN": wrong},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    output = (out + err).decode()
    assert process.returncode not in (0, None)
    assert "Telegram rejected the bot token" in output
    assert "Traceback" not in output and wrong not in output


async def test_a_stop_while_the_api_is_down_at_start_up_ends_it_cleanly(
    emulator: Emulator, bot_process: BotProcess
) -> None:
    """systemd stops a service that cannot reach Telegram: SIGTERM ends the start-up's
    retries at once, with exit status 0, one line per attempt and no traceback."""
    await emulator.client.outage(600)
    bot_process.start()

    async def retrying() -> str:
        return bot_process.log.read_text(encoding="utf-8")

    await eventually(retrying, lambda log: "bot_api_unreachable" in log, within=30)
    assert await bot_process.terminate(within=15) == 0
    log = bot_process.log.read_text(encoding="utf-8")
    assert "Traceback" not in log and TEST_TOKEN not in log
