"""Running the bot: against Telegram (polling or webhook) or inside the sandbox.

Both paths run in one event loop that owns the database connection: open the store, build the
application, start it, wait for a stop signal, stop it, close the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from telegram import Update

from bot.app import build_application
from bot.config import RunMode, Settings
from bot.content import load_content
from bot.conversation import Conversation, new_screen_token
from bot.handoff import Handoff
from bot.logs import EventLogger
from bot.message_tracker import MessageTracker
from bot.referrals import Referrals
from bot.rendering import Renderer
from bot.safety import CrisisResponder, FloodGate
from bot.services import ClgbtApplication, Services
from bot.storage_setup import load_coordinator_public_key, open_store
from bot.webhook import WebhookServer
from flows.engine import Engine
from knowledge.crisis import CrisisDetector
from sandbox.client import SandboxClient
from sandbox.server import EmulatorServer
from sandbox.state import TelegramState
from sandbox.terminal import TerminalChat
from storage.keyring import MASTER_KEY_ENV, create_key_file

_log = EventLogger("runner")


async def open_services(settings: Settings, environ: Mapping[str, str]) -> Services:
    content = load_content()
    public_key = load_coordinator_public_key(settings.paths.coordinator_public_key)
    store = await open_store(settings, environ)
    engine = Engine(content.flows, new_screen_token)
    overrides = {"welcome.choose_language": settings.bot.greeting} if settings.bot.greeting else {}
    renderer = Renderer(
        content, {"follow_up_days": str(settings.handoff.follow_up_days)}, overrides
    )
    conversation = Conversation(
        store,
        engine,
        content.partners,
        handoff_enabled=settings.staff.group_id != 0,
        queue_alert_minutes=settings.handoff.queue_alert_minutes,
        follow_up_days=settings.handoff.follow_up_days,
    )
    handoff = Handoff(settings, store, renderer)
    return Services(
        settings=settings,
        content=content,
        store=store,
        conversation=conversation,
        renderer=renderer,
        handoff=handoff,
        referrals=Referrals(settings, store, renderer, handoff, content.partners),
        tracker=MessageTracker(store),
        crisis=CrisisResponder(
            CrisisDetector.load(), store, renderer, handoff, settings.staff.coordinator_chat_id
        ),
        flood=FloodGate(settings.safety.messages_per_window, settings.safety.window_seconds),
        staff_order=FloodGate(1_000_000, 1),
        coordinator_public_key=public_key,
    )


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


async def start_webhook(application: ClgbtApplication, settings: Settings) -> WebhookServer:
    """Serve the webhook ourselves so that the secret is compared in constant time."""
    webhook = settings.webhook
    if webhook.secret_token is None:  # pragma: no cover - refused when settings are loaded
        raise RuntimeError("webhook mode needs a secret")
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    server = WebhookServer(application, webhook.secret_token.reveal(), webhook.url_path)
    await server.start(webhook.listen, webhook.port)
    await application.bot.set_webhook(
        f"{webhook.public_url.rstrip('/')}/{webhook.url_path.strip('/')}",
        secret_token=webhook.secret_token.reveal(),
        allowed_updates=Update.ALL_TYPES,
    )
    return server


async def stop_application(application: ClgbtApplication) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


async def _wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve_telegram(settings: Settings, token: str, environ: Mapping[str, str]) -> None:
    """Serve real Telegram until SIGINT or SIGTERM."""
    services = await open_services(settings, environ)
    application = build_application(services, token=token)
    _log.info("bot_starting", mode=settings.telegram.mode.value)
    webhook: WebhookServer | None = None
    try:
        if settings.telegram.mode is RunMode.WEBHOOK:
            webhook = await start_webhook(application, settings)
        else:
            await start_polling(application)
        await _wait_for_stop_signal()
    finally:
        if webhook is not None:
            await webhook.stop()
        await stop_application(application)
        await services.store.close()
        _log.info("bot_stopped")


def sandbox_settings(settings: Settings, data_dir: Path) -> Settings:
    """The sandbox keeps its own throw-away database and key in ``data_dir``."""
    paths = replace(
        settings.paths, database=data_dir / "sandbox.sqlite3", key_file=data_dir / "sandbox.key"
    )
    return replace(settings, paths=paths)


async def run_sandbox(
    settings: Settings,
    *,
    port: int = 0,
    terminal: bool = True,
    out: TextIO = sys.stdout,
    read_line: Callable[[], str] = sys.stdin.readline,
) -> None:
    """Start the emulator, the real bot against it, and (optionally) the terminal chat."""
    state = TelegramState(f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(30)}")
    server = EmulatorServer(state)
    await server.start(port)
    with tempfile.TemporaryDirectory(prefix="clgbt-sandbox-") as directory:
        local = sandbox_settings(settings, Path(directory))
        create_key_file(local.paths.key_file)
        environ = {k: v for k, v in os.environ.items() if k != MASTER_KEY_ENV}
        services = await open_services(local, environ)
        application = build_application(services, token=state.token, base_url=server.base_url)
        client = SandboxClient(server.control_url)
        try:
            await start_polling(application)
            person = await client.add_user("Community member")
            if terminal:
                await TerminalChat(client, int(person["id"]), out=out, read_line=read_line).run()
            else:
                out.write(
                    f"Sandbox running. Bot API: {server.base_url}<token>/METHOD\n"
                    f"Control interface: {server.control_url}/...\n"
                    f"Person's user id: {person['id']}. Press Ctrl-C to stop.\n"
                )
                out.flush()
                await _wait_for_stop_signal()
        finally:
            await client.close()
            await stop_application(application)
            await services.store.close()
            await server.stop()
