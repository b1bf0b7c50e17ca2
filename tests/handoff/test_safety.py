"""Safety, end to end: quick exit, erasure, automatic clean-up, crisis, flooding, logs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import DisguiseSettings, SafetySettings, Settings
from tests.conftest import Emulator
from tests.handoff.conftest import Service, Staff, staffed_settings
from tests.people import Person
from tests.timers import make_due

NEUTRAL = "Have a good day!"


async def only_the_neutral_line_is_left(service: Service, person: Person) -> None:
    visible = await service.client.wait_for(
        person.id, lambda ms: len(ms) == 1 and NEUTRAL in str(ms[0].get("text"))
    )
    assert len(visible) == 1
    history = await service.client.history(person.id)
    deleted = [m for m in history if m["deleted"]]
    assert len(deleted) == len(history) - 1, "every other message is deleted"
    records = await service.client.deletions(person.id)
    assert {d["message_id"] for d in records} == {m["message_id"] for m in deleted}


async def test_quick_exit_from_a_menu(service: Service) -> None:
    person = await Person.join(service.client)
    await person.start_in_english()
    await person.choose("Know your rights", "Choose a topic")
    await person.press("✕ Quick exit")
    await only_the_neutral_line_is_left(service, person)


async def test_quick_exit_mid_intake(service: Service) -> None:
    person = await Person.join(service.client)
    await person.start_in_english()
    await person.choose("Tell us what happened", "Do you agree")
    await person.choose("Yes, keep a record", "What was it about?")
    await person.choose("Work", "Why do you think it happened?")
    await person.choose("Skip", "In your own words")
    await person.say_then("They fired me for being trans", "Roughly when")
    await person.say("/exit")
    await only_the_neutral_line_is_left(service, person)
    found = await service.store.people.find(person.id)
    assert await service.store.flow_runs.load(found.id) is None, "the menu is ended"


async def test_quick_exit_during_a_counsellor_chat(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    thread = await service.topic_of(person)
    await staff.say(staff.dara, "/claim", thread)
    await person.expect("Counsellor Dara is here")
    await person.say("Someone is coming")
    await staff.wait_topic(thread, "Someone is coming")
    await staff.say(staff.dara, "Stay calm, I am here", thread)
    await person.expect("Stay calm, I am here")
    await person.press("✕ Quick exit")
    await only_the_neutral_line_is_left(service, person)
    await staff.wait_topic(thread, "The person left with Quick exit")


async def test_erasure_leaves_nothing_and_a_new_start(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    thread = await service.topic_of(person)
    await person.say("Please note what happened to me")
    await service.staff.wait_topic(thread, "Please note what happened")
    found = await service.store.people.find(person.id)
    await person.say("/delete")
    await person.press("Yes, erase everything")
    await only_the_neutral_line_is_left(service, person)
    tables = [
        r["name"]
        for r in await service.store.db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    ]
    for table in tables:
        for row in await service.store.db.fetchall(f"SELECT * FROM {table}"):
            values = [str(v) for v in tuple(row)]
            assert found.pseudonym not in values and found.id not in values, table
    assert await service.client.topics(service.staff.group_id) == []
    assert await service.client.messages(service.staff.group_id, thread) == []
    await person.say("/start")
    await person.expect("Please choose a language")
    again = await service.store.people.find(person.id)
    assert again is not None and again.id != found.id, "met as someone new"


async def test_automatic_clean_up_survives_a_restart(service: Service) -> None:
    person = await Person.join(service.client)
    await person.start_in_english()
    await person.choose("Staying safe", "Staying safe. Choose a topic.")
    await person.choose("Clear this chat automatically", "Should this chat clear itself?")
    await person.choose("After 1 hour", "This chat will clear itself")
    await person.expect("What would you like to do?")
    found = await service.store.people.find(person.id)
    [pending] = await service.store.schedule.pending("cleanup")
    assert timedelta(minutes=55) < pending.due_at - datetime.now(UTC) <= timedelta(hours=1)
    assert pending.person_id == found.id

    await service.stop()
    await service.start()
    await make_due(service.store, "cleanup")  # the hour has passed
    await service.client.wait_for(person.id, lambda ms: ms == [], within=15)
    history = await service.client.history(person.id)
    assert history and all(m["deleted"] for m in history)


CRISES = [
    ("violence_now", "My uncle is hitting me now, please help"),
    ("violence_now", "ឪពុកខ្ញុំ\u200bកំពុង\u200bវាយ\u200bខ្ញុំ"),
    ("threat_to_life", "គេគំរាមសំលាប់ខ្ញុំ"),  # variant spelling of សម្លាប់
    ("self_harm", "I want to k\u200bill myself tonight"),  # zero-width space inside
    ("self_harm", "ខ្ញុំចង់ ស្លាប់"),
    ("arrest_detention", "The police arrested me at the park"),
    ("arrest_detention", "ខ្ញុំត្រូវបានចាប់ខ្លួន"),
    ("forced_marriage", "My family is forcing me to marry a man"),
    ("forced_marriage", "ម្តាយបង្ខំខ្ញុំអោយរៀបការ"),  # variant spelling of ឱ្យ
]


@pytest.mark.parametrize(("category", "text"), CRISES)
async def test_crisis_phrases_bring_help_and_mark_the_case_urgent(
    service: Service, category: str, text: str
) -> None:
    person = await Person.join(service.client)
    await person.start_in_english()
    await person.say(text)
    help_message = await person.expect("We have marked your case as urgent")
    assert "117" in help_message["text"]
    found = await service.store.people.find(person.id)
    case = await service.store.cases.open_for_person(found.id)
    assert case is not None and case.urgent and case.status == "waiting"
    events = await service.store.events.for_case(case.id)
    assert [e.body for e in events if e.kind == "crisis"] == [category]
    alert = await service.client.wait_for_text(service.staff.coordinators_chat, case.code)
    assert "URGENT" in alert["text"] and text not in alert["text"]
    await person.expect("Please choose one of the buttons")  # the flow goes on
    general = await service.staff.say(service.staff.sophea, "/queue", None)
    queue = await service.client.wait_for(
        service.staff.group_id,
        lambda ms: any(
            m["message_id"] > general["message_id"] and "Waiting cases" in str(m.get("text"))
            for m in ms
        ),
    )
    assert case.code in queue[-1]["text"] and "URGENT" in queue[-1]["text"]


async def test_an_ordinary_sentence_is_not_a_crisis(service: Service) -> None:
    person = await Person.join(service.client)
    await person.start_in_english()
    await person.say_then(
        "I went to the market with my friend today", "Please choose one of the buttons"
    )
    await person.say_then("ខ្ញុំសប្បាយចិត្តណាស់ថ្ងៃនេះ", "Please choose one of the buttons")
    assert not any("urgent" in str(m.get("text")) for m in await person.messages())
    found = await service.store.people.find(person.id)
    assert await service.store.cases.open_for_person(found.id) is None


async def test_the_crisis_button_opens_a_counsellor_chat(service: Service) -> None:
    person = await Person.join(service.client)
    await person.start_in_english()
    await person.say("They are going to kill me")
    await person.choose("Talk to a counsellor now", "You are in the queue")
    thread = await service.topic_of(person)
    card = await service.staff.wait_topic(thread, "Case ")
    assert "URGENT" in card["text"]


@pytest.fixture
async def strict_service(
    emulator: Emulator, staff: Staff, settings: Settings, master_key: Path
) -> AsyncIterator[Service]:
    limited = replace(
        staffed_settings(settings, staff),
        safety=SafetySettings(messages_per_window=20, window_seconds=2),
    )
    running = Service(emulator, staff, limited)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_a_flood_is_cut_off_and_quick_exit_still_goes_first(
    strict_service: Service,
) -> None:
    """300 messages at once from one account: the first ones are relayed in order, the rest
    are dropped with one calm message, another person is answered meanwhile, and Quick exit
    clears the chat ahead of the backlog."""
    service = strict_service
    person = await service.person_asks_for_counsellor()
    thread = await service.topic_of(person)
    other = await Person.join(service.client, "Other", "Person", "other_p")
    for n in range(300):
        await service.client.send_text(person.id, f"flood message {n:03d}")
    await other.say("/start")
    await other.expect("Please choose a language")
    await person.expect("very fast")
    await person.say("/exit")
    await only_the_neutral_line_is_left(service, person)  # the dropped messages are gone too
    await service.staff.wait_topic(thread, "left with Quick exit")
    relayed = [
        m["text"]
        for m in await service.staff.topic_messages(thread)
        if "flood message" in str(m.get("text"))
    ]
    assert 0 < len(relayed) < 300
    assert relayed == sorted(relayed), "what got through is in order"
    history = await service.client.history(person.id)
    slow = [m for m in history if "very fast" in str(m.get("text"))]
    assert len(slow) == 1


async def test_browsing_by_buttons_never_triggers_the_slow_down(strict_service: Service) -> None:
    person = await Person.join(strict_service.client)
    await person.start_in_english()
    for _ in range(15):
        await person.choose("Know your rights", "Choose a topic")
        await person.choose("☰ Menu", "What would you like to do?")
    assert not any("very fast" in str(m.get("text")) for m in await person.messages())


async def test_an_update_that_fails_to_parse_leaks_nothing(service: Service) -> None:
    vannak = await service.client.add_user("Vannak", "Meas", "vannak_meas")
    await service.client.raw_update(
        "message",
        {
            "message_id": 1,
            "date": 0,
            "text": "Secret text typed by Vannak",
            "from": {
                "id": vannak["id"],
                "is_bot": False,
                "first_name": "Vannak",
                "last_name": "Meas",
                "username": "vannak_meas",
            },
            "chat": "not-a-chat",
        },
    )
    person = await Person.join(service.client, "Chenda", "Lim", "chenda_l")
    await person.start_in_english()  # the bot carries on
    log = service.emulator.log.getvalue()
    assert "error=" in log, "the failure is logged, by its type"
    for secret in ("Secret text typed by Vannak", "Vannak", "vannak_meas", str(vannak["id"])):
        assert secret not in log


async def test_the_disguise_greets_and_exits_as_configured(
    emulator: Emulator, staff: Staff, settings: Settings, master_key: Path
) -> None:
    disguised = replace(
        staffed_settings(settings, staff),
        bot=DisguiseSettings(
            name="Weather Today", greeting="Good morning! <3", exit_line="Sunny today."
        ),
    )
    service = Service(emulator, staff, disguised)
    await service.start()
    try:
        person = await Person.join(service.client)
        await person.say("/start")
        first = await person.expect("Good morning! <3")
        assert "choose a language" not in first["text"]
        await person.press("✕ ចាកចេញរហ័ស")
        await service.client.wait_for(
            person.id, lambda ms: [m.get("text") for m in ms] == ["Sunny today."]
        )
        profile = await service.client.profile()
        assert profile["profile"]["name"] == "Weather Today"
    finally:
        await service.stop()
