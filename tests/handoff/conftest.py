"""A staffed service: a forum group with counsellors, a coordinator and an outsider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application
from bot.config import (
    HandoffSettings,
    OfficeHours,
    ReferralSettings,
    Role,
    Settings,
    StaffMember,
    StaffSettings,
)
from bot.runner import open_services, start_polling, stop_application
from bot.services import ClgbtApplication
from sandbox.client import SandboxClient
from tests.conftest import TEST_TOKEN, Emulator
from tests.people import Person

ALWAYS_OPEN = OfficeHours(days=frozenset(range(7)), opens=time(0, 0), closes=time(23, 59))


@dataclass
class Staff:
    client: SandboxClient
    group_id: int
    dara: dict[str, Any]
    visal: dict[str, Any]
    sophea: dict[str, Any]
    outsider: dict[str, Any]
    coordinators_chat: int
    partner: dict[str, Any]
    partner_chat: int

    async def say(self, who: dict[str, Any], text: str, thread_id: int | None) -> dict[str, Any]:
        return await self.client.send_text(
            int(who["id"]), text, chat_id=self.group_id, thread_id=thread_id
        )

    async def topic_messages(self, thread_id: int) -> list[dict[str, Any]]:
        return await self.client.messages(self.group_id, thread_id)

    async def wait_topic(
        self, thread_id: int, fragment: str, within: float = 10.0
    ) -> dict[str, Any]:
        return await self.client.wait_for_text(
            self.group_id, fragment, thread_id=thread_id, within=within
        )


@dataclass
class Service:
    emulator: Emulator
    staff: Staff
    settings: Settings
    application: ClgbtApplication | None = None

    @property
    def client(self) -> SandboxClient:
        return self.emulator.client

    async def start(self) -> ClgbtApplication:
        services = await open_services(self.settings, {})
        application = build_application(
            services, token=TEST_TOKEN, base_url=self.emulator.server.base_url
        )
        await start_polling(application)
        self.application = application
        return application

    async def stop(self) -> None:
        if self.application is not None:
            await stop_application(self.application)
            await self.application.services.store.close()
            self.application = None

    @property
    def store(self) -> Any:
        assert self.application is not None
        return self.application.services.store

    async def person_asks_for_counsellor(self, first_name: str = "Sokha") -> Person:
        person = await Person.join(self.client, first_name, "Chan", f"{first_name.lower()}_c")
        await person.start_in_english()
        await person.choose("Talk to a counsellor", "A counsellor can talk with you here")
        await person.choose("Yes, please", "Your case code is")
        return person

    async def topic_of(self, person: Person) -> int:
        found = await self.store.people.find(person.id)
        case = await self.store.cases.open_for_person(found.id)
        assert case is not None and case.topic_id is not None
        return int(case.topic_id)


async def shared_intake_handed_off(person: Person, what: str) -> dict[str, Any]:
    """From the main menu: an intake about violence at home whose summary counsellors may read,
    saved, then "Yes, now" to a counsellor; returns the saved screen."""
    await person.choose("Tell us what happened", "Do you agree")
    await person.choose("Yes, keep a record", "What was it about?")
    await person.choose("Violence at home", "Why do you think it happened?")
    await person.choose("My gender identity", "In your own words")
    await person.say_then(what, "Roughly when")
    await person.choose("Skip", "In which province")
    await person.choose("Battambang", "Who was responsible?")
    await person.choose("A family member", "Is anyone in danger now?")
    await person.choose("No", "What help would you like?")
    await person.choose("A lawyer", "May a counsellor read")
    await person.choose("Yes", "May we share it")
    await person.choose("Yes", "Please check your answers")
    saved = await person.choose("Save", "Would you like to talk to a counsellor")
    await person.choose("Yes, now", "You are in the queue for a counsellor")
    return saved


@pytest.fixture
async def staff(emulator: Emulator) -> Staff:
    client = emulator.client
    dara = await client.add_user("Dara", "Counsellor-Real-Name", "dara_real")
    visal = await client.add_user("Visal", "Second", "visal_real")
    sophea = await client.add_user("Sophea", "Coordinator", "sophea_real")
    outsider = await client.add_user("Outsider", "Member", "outsider_x")
    group = await client.add_forum_group(
        "Staff", [int(u["id"]) for u in (dara, visal, sophea, outsider)]
    )
    coordinators = await client.add_forum_group("Coordinators", [int(sophea["id"])])
    partner = await client.add_user("Partner", "Staff", "rock_staff")
    partner_chat = await client.add_forum_group("RoCK referrals", [int(partner["id"])])
    return Staff(
        client,
        int(group["id"]),
        dara,
        visal,
        sophea,
        outsider,
        int(coordinators["id"]),
        partner,
        int(partner_chat["id"]),
    )


def staffed_settings(settings: Settings, staff: Staff, **changes: Any) -> Settings:
    members = (
        StaffMember(int(staff.dara["id"]), Role.COUNSELLOR, "Dara"),
        StaffMember(int(staff.visal["id"]), Role.COUNSELLOR, "Visal"),
        StaffMember(int(staff.sophea["id"]), Role.COORDINATOR, "Sophea"),
    )
    return replace(
        settings,
        staff=StaffSettings(staff.group_id, staff.coordinators_chat, members),
        office_hours=changes.get("office_hours", ALWAYS_OPEN),
        handoff=HandoffSettings(queue_alert_minutes=30, follow_up_days=7, check_seconds=1),
        referrals=ReferralSettings(partner_chats=(("rock", staff.partner_chat),)),
    )


@pytest.fixture
async def service(
    emulator: Emulator, staff: Staff, settings: Settings, master_key: Path
) -> AsyncIterator[Service]:
    running = Service(emulator, staff, staffed_settings(settings, staff))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def closed_service(
    emulator: Emulator, staff: Staff, settings: Settings, master_key: Path
) -> AsyncIterator[Service]:
    today = date.today()
    hours = OfficeHours(holidays=frozenset({today, date.fromordinal(today.toordinal() + 1)}))
    running = Service(emulator, staff, staffed_settings(settings, staff, office_hours=hours))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
