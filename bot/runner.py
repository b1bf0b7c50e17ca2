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
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from pathlib import Path
from typing import TextIO

from telegram import Update

from bot.app import build_application
from bot.config import (
    HandoffSettings,
    OfficeHours,
    Role,
    RunMode,
    Settings,
    StaffMember,
    StaffSettings,
)
from bot.content import Content, load_content
from bot.conversation import Conversation, new_screen_token
from bot.flood_gate import FloodGate, StaffOrder
from bot.handoff import Handoff
from bot.logs import EventLogger
from bot.message_tracker import MessageTracker
from bot.referrals import DONE_REASONS, Referrals
from bot.rendering import Renderer
from bot.services import ClgbtApplication, Services
from bot.storage_setup import (
    load_coordinator_public_key,
    open_store,
    throwaway_key_settings,
    without_key_sources,
)
from bot.webhook import WebhookServer
from casework.person_desk import PersonDesk
from casework.policy import Policy, StaffRole
from casework.staff_desk import StaffDesk
from flows.engine import Engine
from knowledge.crisis import CrisisDetector
from sandbox.client import SandboxClient
from sandbox.server import EmulatorServer
from sandbox.state import TelegramState
from sandbox.terminal import TerminalChat
from sandbox.training import Scenario, Training, load_scenarios
from sandbox.web import training_routes
from sandbox.world import World, populate
from storage.keyring import create_key_file

_log = EventLogger("runner")


def casework_policy(settings: Settings, content: Content) -> Policy:
    """The settings casework's rules depend on."""
    return Policy(
        staff_enabled=settings.staff.group_id != 0,
        queue_alert_minutes=settings.handoff.queue_alert_minutes,
        outcomes=tuple(content.taxonomy.get("outcomes", ())),
        partners=tuple(p.id for p in content.partners),
        referral_done_reasons=DONE_REASONS,
        staff={m.alias: StaffRole(m.role.value) for m in settings.staff.members},
    )


async def open_services(settings: Settings, environ: Mapping[str, str]) -> Services:
    content = load_content()
    public_key = load_coordinator_public_key(settings.paths.coordinator_public_key)
    store = await open_store(settings, environ)
    handoff_available = "yes" if settings.staff.group_id != 0 else "no"
    engine = Engine(
        content.flows, new_screen_token, facts={"handoff_available": handoff_available}
    )
    overrides = {"welcome.choose_language": settings.bot.greeting} if settings.bot.greeting else {}
    renderer = Renderer(
        content, {"follow_up_days": str(settings.handoff.follow_up_days)}, overrides
    )
    policy = casework_policy(settings, content)
    person_desk = PersonDesk(store, policy)
    conversation = Conversation(
        store,
        engine,
        content.partners,
        person_desk,
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
        crisis=CrisisDetector.load(),
        flood=FloodGate(settings.safety.messages_per_window, settings.safety.window_seconds),
        staff_order=StaffOrder(),
        staff_desk=StaffDesk(store, policy, content.texts, settings.staff.language),
        person_desk=person_desk,
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
    return throwaway_key_settings(replace(settings, paths=paths))


SANDBOX_QUEUE_ALERT_MINUTES = 5
SANDBOX_CHECK_SECONDS = 5


def staffed_sandbox_settings(settings: Settings, world: World, *, night: bool = False) -> Settings:
    """Point the bot's staff settings at the sandbox's own group, chats and people.

    The office is always open, so a session can practise at any hour, except for a scenario
    set at night, when it is closed today and tomorrow. Unclaimed cases alert the coordinators
    after a few minutes, so a training session sees the alert."""
    members = tuple(StaffMember(m.user_id, Role(m.role), m.alias) for m in world.members)
    if night:
        today = date.today()
        hours = replace(
            settings.office_hours, holidays=frozenset({today, today + timedelta(days=1)})
        )
    else:
        hours = OfficeHours(
            timezone=settings.office_hours.timezone,
            days=frozenset(range(7)),
            opens=time(0, 0),
            closes=time(23, 59),
        )
    return replace(
        settings,
        staff=StaffSettings(
            world.staff_group_id, world.coordinator_chat_id, members, settings.staff.language
        ),
        office_hours=hours,
        handoff=HandoffSettings(
            queue_alert_minutes=min(
                settings.handoff.queue_alert_minutes, SANDBOX_QUEUE_ALERT_MINUTES
            ),
            follow_up_days=settings.handoff.follow_up_days,
            check_seconds=min(settings.handoff.check_seconds, SANDBOX_CHECK_SECONDS),
        ),
        referrals=replace(
            settings.referrals, partner_chats=((world.partner_id, world.partner_chat_id),)
        ),
    )


@dataclass
class SandboxSession:
    """A running sandbox: the emulator, its staff side, the real bot, and the training."""

    state: TelegramState
    server: EmulatorServer
    client: SandboxClient
    world: World
    training: Training
    application: ClgbtApplication

    @property
    def page_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/training/"


@contextlib.asynccontextmanager
async def sandbox_session(
    settings: Settings,
    *,
    port: int = 0,
    web: bool = False,
    night: bool = False,
    scenarios: dict[str, Scenario] | None = None,
) -> AsyncIterator[SandboxSession]:
    """Start the emulator with a staff side, the bot against it, and (with ``web``) the
    training page; stop all of it on exit."""
    state = TelegramState(f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(30)}")
    world = populate(state)
    with tempfile.TemporaryDirectory(prefix="clgbt-sandbox-") as directory:
        local = staffed_sandbox_settings(
            sandbox_settings(settings, Path(directory)), world, night=night
        )
        create_key_file(local.paths.key_file)
        environ = without_key_sources(os.environ)
        services = await open_services(local, environ)
        training = Training(
            state,
            world,
            services.content.texts.text,
            load_scenarios() if scenarios is None else scenarios,
        )
        server = EmulatorServer(
            state,
            control=training.control(),
            read_only=Training.READ_ONLY,
            routes=training_routes() if web else [],
        )
        await server.start(port)
        application = build_application(services, token=state.token, base_url=server.base_url)
        client = SandboxClient(server.control_url)
        training.attach(client)
        try:
            await start_polling(application)
            yield SandboxSession(state, server, client, world, training, application)
        finally:
            await training.stop()
            await client.close()
            await stop_application(application)
            await services.store.close()
            await server.stop()


def checklist_lines(training: Training) -> list[str]:
    status = training.status()
    if status is None:
        return ["   (no scenario is running)"]
    title = status["scenario"]["title"]["en"]
    lines = [f"── Checklist: {title} ({status['status']}) ──"]
    for item in status["checklist"]:
        mark = "✓" if item["passed"] else "✗"
        lines.append(f"   {mark} {item['label']}: {item['detail']}")
    return lines


async def run_sandbox(
    settings: Settings,
    *,
    port: int = 0,
    terminal: bool = True,
    web: bool = False,
    scenario: str | None = None,
    scenario_language: str | None = None,
    out: TextIO = sys.stdout,
    read_line: Callable[[], str] = sys.stdin.readline,
) -> None:
    """Start the emulator with its staff side, the real bot against it, and the terminal chat
    or (with ``web``) the training page; ``scenario`` starts a training scenario."""
    scenarios = load_scenarios()
    chosen = None
    if scenario is not None:
        chosen = scenarios.get(scenario)
        if chosen is None:
            raise ValueError(f"no scenario {scenario!r}; there are {', '.join(scenarios)}")
    async with sandbox_session(
        settings,
        port=port,
        web=web,
        night=chosen.night if chosen is not None else False,
        scenarios=scenarios,
    ) as session:
        world = session.world
        if chosen is not None:
            run = await session.training.start(chosen.id, scenario_language)
            out.write(f"Scenario: {chosen.title['en']} ({run.language}). {chosen.brief['en']}\n")
        if web:
            out.write(
                f"Training page: {session.page_url}\n"
                "Open it in a browser on this computer. Press Ctrl-C to stop.\n"
            )
            out.flush()
            await _wait_for_stop_signal()
        elif terminal:
            first = next(m for m in world.members if m.role == Role.COUNSELLOR.value)
            chat = TerminalChat(
                session.client,
                world.person_id,
                out=out,
                read_line=read_line,
                world=world,
                start_as=first.alias if chosen is not None else None,
                checklist=(lambda: checklist_lines(session.training))
                if chosen is not None
                else None,
            )
            await chat.run()
        else:
            out.write(
                f"Sandbox running. Bot API: {session.server.base_url}<token>/METHOD\n"
                f"Control interface: {session.server.control_url}/...\n"
                f"Person's user id: {world.person_id}. Press Ctrl-C to stop.\n"
            )
            out.flush()
            await _wait_for_stop_signal()
        if chosen is not None:
            for line in checklist_lines(session.training):
                out.write(line + "\n")
            out.flush()
