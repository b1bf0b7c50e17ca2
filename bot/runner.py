"""Running the bot: against Telegram (polling or webhook) or inside the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sys
from pathlib import Path
from typing import TextIO

from telegram import Update

from bot.app import build_application
from bot.config import RunMode, Settings
from bot.logs import EventLogger
from bot.services import ClgbtApplication, Services
from knowledge.catalogue import TextCatalogue
from sandbox.client import SandboxClient
from sandbox.server import EmulatorServer
from sandbox.state import TelegramState
from sandbox.terminal import TerminalChat

_log = EventLogger("runner")


def make_services(settings: Settings) -> Services:
    return Services(settings=settings, texts=TextCatalogue.load())


def run_telegram(settings: Settings, token: str) -> None:
    """Blocking: serve real Telegram until interrupted."""
    application = build_application(make_services(settings), token=token)
    _log.info("bot_starting", mode=settings.telegram.mode.value)
    if settings.telegram.mode is RunMode.WEBHOOK:
        secret = settings.webhook.secret_token
        application.run_webhook(
            listen=settings.webhook.listen,
            port=settings.webhook.port,
            url_path=settings.webhook.url_path,
            webhook_url=f"{settings.webhook.public_url.rstrip('/')}/{settings.webhook.url_path}",
            secret_token=secret.reveal() if secret else None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)


async def start_polling(application: ClgbtApplication) -> None:
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    if application.updater is None:
        raise RuntimeError("the application was built without an updater")
    await application.updater.start_polling(
        poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES
    )


async def stop_polling(application: ClgbtApplication) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


async def run_sandbox(
    settings: Settings,
    *,
    port: int = 0,
    terminal: bool = True,
    out: TextIO = sys.stdout,
    data_dir: Path | None = None,
) -> None:
    """Start the emulator, the real bot against it, and (optionally) the terminal chat."""
    del data_dir  # the storage work keeps the sandbox's database here
    state = TelegramState(f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(30)}")
    server = EmulatorServer(state)
    await server.start(port)
    application = build_application(
        make_services(settings), token=state.token, base_url=server.base_url
    )
    client = SandboxClient(server.control_url)
    try:
        await start_polling(application)
        person = await client.add_user("Community member")
        if terminal:
            await TerminalChat(client, int(person["id"]), out=out).run()
        else:
            out.write(
                f"Sandbox running. Bot API: {server.base_url}<token>/METHOD\n"
                f"Control interface: {server.control_url}/...\n"
                f"Person's user id: {person['id']}. Press Ctrl-C to stop.\n"
            )
            out.flush()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, stop.set)
            await stop.wait()
    finally:
        await client.close()
        await stop_polling(application)
        await server.stop()
