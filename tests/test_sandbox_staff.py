"""The sandbox's staff side: the world it sets up, the bot's settings for it, and the terminal
chat switching between the person, a counsellor and the coordinator through a full hand-off."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.config import Role, Settings
from bot.sandbox_run import sandbox_session, staffed_sandbox_settings
from sandbox.state import TelegramState
from sandbox.terminal import TerminalChat
from sandbox.world import populate
from tests.conftest import FAST_SENDING
from tests.sandbox_helpers import Keyboard, Screen


def test_the_world_has_a_staff_forum_a_coordinators_chat_and_roles() -> None:
    state = TelegramState("1:x" + "y" * 30)
    world = populate(state)
    group = state.chats[world.staff_group_id]
    assert group.is_forum and group.members[state.bot.id] == "administrator"
    roles = {m.alias: m.role for m in world.members}
    assert roles == {"Dara": "counsellor", "Visal": "counsellor", "Sophea": "coordinator"}
    assert all(m.user_id in group.members for m in world.members)
    coordinators = state.chats[world.coordinator_chat_id]
    assert not coordinators.is_forum and set(coordinators.members) >= {
        m.user_id for m in world.members if m.role == "coordinator"
    }
    assert state.chats[world.person_id].type == "private"
    assert state.world["staff_group_id"] == world.staff_group_id


def test_the_bot_is_configured_for_the_sandbox_staff() -> None:
    state = TelegramState("1:x" + "y" * 30)
    world = populate(state)
    settings = staffed_sandbox_settings(Settings(), world)
    assert settings.staff.group_id == world.staff_group_id
    assert settings.staff.coordinator_chat_id == world.coordinator_chat_id
    dara = world.member("dara")
    assert dara is not None and settings.staff.role_of(dara.user_id) is Role.COUNSELLOR
    sophea = world.member("Sophea")
    assert sophea is not None and settings.staff.role_of(sophea.user_id) is Role.COORDINATOR
    assert settings.referrals.chat_for("rock") == world.partner_chat_id
    assert settings.handoff.queue_alert_minutes <= 5
    assert len(settings.office_hours.days) == 7, "training works at any hour"
    night = staffed_sandbox_settings(Settings(), world, night=True)
    assert night.office_hours.holidays, "a night scenario finds the office closed"


async def test_the_terminal_switches_roles_through_a_full_handoff() -> None:
    settings = replace(Settings(), sending=FAST_SENDING)
    async with sandbox_session(settings) as session:
        keyboard, screen = Keyboard(), Screen()
        chat = TerminalChat(
            session.client,
            session.world.person_id,
            out=screen,
            read_line=keyboard,
            world=session.world,
        )
        running = asyncio.create_task(chat.run())
        try:
            await screen.wait_for("/as person|dara|visal|sophea")
            keyboard.type("/start")
            await screen.wait_for("[2] English")
            keyboard.type("2")
            await screen.wait_for("Before we start")
            keyboard.type("1")
            menu = await screen.wait_for("Erase my data")
            labels = menu.rsplit("What would you like to do?", 1)[1]
            number = labels.split("] Talk to a counsellor")[0].rsplit("[", 1)[1]
            keyboard.type(number)
            await screen.wait_for("[1] Yes, please")
            keyboard.type("1")
            await screen.wait_for("Your case code is")

            keyboard.type("/as dara")
            await screen.wait_for("You are Dara (counsellor), in the staff group › General")
            keyboard.type("/topics")
            await screen.wait_for("[1] ")
            keyboard.type("/topic 1")
            await screen.wait_for("in the staff group › topic")
            await screen.wait_for("Claim", new=False)
            keyboard.type("/claim")
            await screen.wait_for("Dara has claimed this case")
            keyboard.type("Hello, I am here. What happened?")

            keyboard.type("/as person")
            await screen.wait_for("You are the person, in your private chat with the bot")
            await screen.wait_for("Hello, I am here. What happened?")
            keyboard.type("My boss fired me because I am trans")

            keyboard.type("/as dara")
            await screen.wait_for("You are Dara")
            keyboard.type("/topic 1")
            await screen.wait_for("bot> My boss fired me because I am trans")
            keyboard.type("/note Dismissal; follow up on the letter")
            await screen.wait_for("Note saved")
            keyboard.type("/close resolved")
            await screen.wait_for("Closed by Dara")

            keyboard.type("/as sophea")
            await screen.wait_for("You are Sophea (coordinator), in the coordinators' chat")
            keyboard.type("/where")
            await screen.wait_for("in the coordinators' chat")
            keyboard.type("/as person")
            await screen.wait_for("The counsellor has closed this conversation")
        finally:
            keyboard.close()
            await asyncio.wait_for(running, 30)
        assert screen.text().rstrip().endswith("You have left the sandbox. Goodbye.")
        topics = await session.client.topics(session.world.staff_group_id)
        assert len(topics) == 1
