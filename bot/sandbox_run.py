"""The sandbox launcher: the emulated Telegram, the real bot against it, its staff side, the
terminal chat and the training page. Development and training only: production modules never
import this one or ``sandbox`` (``tests/test_boundaries.py``)."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from pathlib import Path
from typing import TextIO

from bot.app import build_application
from bot.config import (
    HandoffSettings,
    OfficeHours,
    Role,
    Settings,
    StaffMember,
    StaffSettings,
)
from bot.runner import open_services, start_polling, stop_application, wait_for_stop_signal
from bot.services import ClgbtApplication
from bot.storage_setup import (
    throwaway_key_settings,
    without_key_sources,
)
from sandbox.client import SandboxClient
from sandbox.server import EmulatorServer
from sandbox.state import TelegramState
from sandbox.terminal import TerminalChat
from sandbox.training import Scenario, Training, load_scenarios
from sandbox.web import training_routes
from sandbox.world import World, populate
from storage.keyring import create_key_file


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
            await wait_for_stop_signal()
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
            await wait_for_stop_signal()
        if chosen is not None:
            for line in checklist_lines(session.training):
                out.write(line + "\n")
            out.flush()
