"""Shared fixtures: the emulator over HTTP, and the real application polling it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest

from bot.app import build_application
from bot.config import SendingSettings, Settings
from bot.runner import make_services, start_polling, stop_polling
from bot.services import ClgbtApplication
from sandbox.client import SandboxClient
from sandbox.server import EmulatorServer
from sandbox.state import TelegramState

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
def settings() -> Settings:
    return replace(Settings(), sending=FAST_SENDING)


@dataclass
class RunningBot:
    emulator: Emulator
    application: ClgbtApplication

    @property
    def client(self) -> SandboxClient:
        return self.emulator.client


@pytest.fixture
async def running_bot(emulator: Emulator, settings: Settings) -> AsyncIterator[RunningBot]:
    application = build_application(
        make_services(settings), token=TEST_TOKEN, base_url=emulator.server.base_url
    )
    await start_polling(application)
    try:
        yield RunningBot(emulator, application)
    finally:
        await stop_polling(application)
