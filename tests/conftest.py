"""Shared fixtures: the emulator over HTTP, and the real application polling it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bot.app import build_application
from bot.config import PathSettings, SendingSettings, Settings
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
    max_retries=5,
)


@dataclass
class Emulator:
    state: TelegramState
    server: EmulatorServer
    client: SandboxClient


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    state = TelegramState(TEST_TOKEN)
    server = EmulatorServer(state)
    await server.start()
    client = SandboxClient(server.control_url)
    try:
        yield Emulator(state, server, client)
    finally:
        await client.close()
        await server.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    paths = PathSettings(database=tmp_path / "clgbt.sqlite3", key_file=tmp_path / "master.key")
    return replace(Settings(), sending=FAST_SENDING, paths=paths)


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
