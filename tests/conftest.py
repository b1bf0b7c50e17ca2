"""Shared fixtures: the emulator over HTTP, and the real application polling it."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bot.app import build_application
from bot.config import PathSettings, SendingSettings, Settings, StorageSettings
from bot.logs import configure_logging
from bot.runner import open_services, start_polling, stop_application
from bot.services import ClgbtApplication
from sandbox.client import SandboxClient
from sandbox.server import EmulatorServer
from sandbox.state import TelegramState
from storage.keyring import create_key_file

TEST_TOKEN = "123456789:TEST-token-for-the-sandbox-emulator_x"
FAST_SENDING = SendingSettings(
    overall_per_second=1000,
    group_per_minute=6000,
    private_per_second=1000,
    private_burst=1000,
    give_up_after_seconds=120,
)


@dataclass
class Emulator:
    state: TelegramState
    server: EmulatorServer
    client: SandboxClient
    log: io.StringIO


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """The emulator, with every logger at DEBUG through the bot's own log formatting; at the
    end the whole log is scanned for personal data (the privacy invariant, on every scenario)."""
    state = TelegramState(TEST_TOKEN)
    server = EmulatorServer(state)
    await server.start()
    client = SandboxClient(server.control_url)
    log = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    handler = configure_logging("DEBUG", log, libraries_level="DEBUG")
    try:
        yield Emulator(state, server, client, log)
    finally:
        await client.close()
        await server.stop()
        root.removeHandler(handler)
        for existing in saved_handlers:
            root.addHandler(existing)
        root.setLevel(saved_level)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    leaks = personal_data_in(log.getvalue(), state)
    assert not leaks, f"personal data in the logs: {leaks[:5]}"


LOGGERS = (
    "",
    "telegram",
    "telegram.ext",
    "httpx",
    "httpcore",
    "apscheduler",
    "tornado",
    "clgbt",
    "aiosqlite",
)


def personal_data_in(output: str, state: TelegramState) -> list[str]:
    """Every user id, chat id, name, username, person-typed text and the token found."""
    needles = {TEST_TOKEN, TEST_TOKEN.split(":")[1]}
    for user in state.users.values():
        if user.is_bot:
            continue
        needles |= {str(user.id), user.first_name, user.last_name, user.username}
    needles |= {str(chat_id) for chat_id in state.chats}
    for chat_messages in state.messages.values():
        for message in chat_messages.values():
            sender = state.users.get(message.sender_id)
            if sender is not None and not sender.is_bot:
                for text in (message.text, message.caption):
                    if text and len(text) >= 8:
                        needles.add(text)
    return sorted(n for n in needles if n and len(n) >= 4 and n in output)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    paths = PathSettings(database=tmp_path / "clgbt.sqlite3", key_file=tmp_path / "master.key")
    # A throw-away test key, in clear beside its database: allowed explicitly, as in the sandbox.
    storage = StorageSettings(allow_clear_key_beside_database=True)
    return replace(Settings(), sending=FAST_SENDING, paths=paths, storage=storage)


@pytest.fixture
def master_key(settings: Settings) -> Path:
    create_key_file(settings.paths.key_file)
    return settings.paths.key_file


@dataclass
class RunningBot:
    emulator: Emulator
    application: ClgbtApplication

    @property
    def client(self) -> SandboxClient:
        return self.emulator.client


@pytest.fixture
async def running_bot(
    emulator: Emulator, settings: Settings, master_key: Path
) -> AsyncIterator[RunningBot]:
    services = await open_services(settings, {})
    application = build_application(services, token=TEST_TOKEN, base_url=emulator.server.base_url)
    await start_polling(application)
    try:
        yield RunningBot(emulator, application)
    finally:
        await stop_application(application)
        await services.store.close()


SLOWEST_FIRST = ("test_soak.py", "browser/", "test_sandbox_training.py", "test_state_machine.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the longest tests first, so that with two workers the rest runs beside them."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid
        for index, marker in enumerate(SLOWEST_FIRST):
            if marker in path:
                return index
        return len(SLOWEST_FIRST)

    items.sort(key=rank)
