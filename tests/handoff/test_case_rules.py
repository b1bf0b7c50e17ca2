"""End to end, one test per defect the casework core removes (issue 10): each failed on the
code before it. Negative checks wait for an observable event first (the staff side's answer),
never for a fixed time."""

from __future__ import annotations

from tests.handoff.conftest import Service, shared_intake_handed_off
from tests.people import Person

CRISIS = "he is going to kill me"


async def claimed(service: Service) -> tuple[Person, int]:
    person = await service.person_asks_for_counsellor()
    thread = await service.topic_of(person)
    await service.staff.say(service.staff.dara, "/claim", thread)
    await person.expect("Counsellor Dara is here")
    return person, thread


def texts(messages: list[dict[str, object]]) -> str:
    return "\n".join(str(m.get("text") or m.get("caption") or "") for m in messages)


async def test_after_quick_exit_nothing_from_the_counsellor_reaches_the_phone(
    service: Service,
) -> None:
    person, thread = await claimed(service)
    staff = service.staff
    await person.press("✕ Quick exit")
    await staff.wait_topic(thread, "left with Quick exit")

    await staff.say(staff.dara, "Are you still there? PRIVATE-REPLY-1", thread)
    await staff.wait_topic(thread, "is not in the chat")
    await staff.say(staff.dara, "/transfer Visal", thread)
    await staff.wait_topic(thread, "Transferred to Visal")
    await staff.say(staff.visal, "/release", thread)
    await staff.wait_topic(thread, "released")
    await staff.say(staff.dara, "/claim", thread)
    await staff.wait_topic(thread, "Dara has claimed this case")
    await staff.say(staff.dara, "/close resolved", thread)
    await staff.wait_topic(thread, "Closed by Dara")

    phone = texts(await person.messages())
    for leaked in ("PRIVATE-REPLY-1", "Counsellor Visal", "Counsellor Dara is here again"):
        assert leaked not in phone
    assert "closed this conversation" not in phone
    calls = await service.client.calls("copyMessage")
    assert not [c for c in calls if c.get("chat_id") == person.id]


async def test_coming_back_after_quick_exit_reopens_the_chat(service: Service) -> None:
    person, thread = await claimed(service)
    staff = service.staff
    await person.press("✕ Quick exit")
    await staff.wait_topic(thread, "left with Quick exit")
    await person.start_in_english()
    await person.choose("Talk to a counsellor", "A counsellor can talk with you here")
    await person.choose("Yes, please", "Your case code is")
    await staff.wait_topic(thread, "is back in the chat")
    await staff.say(staff.dara, "Welcome back", thread)
    await person.expect("Welcome back")


async def test_the_case_handed_off_is_the_one_just_recorded(service: Service) -> None:
    person = await Person.join(service.client)
    await person.start_in_english()
    await person.say(CRISIS)
    await person.expect("117")
    first = await service.store.people.find(person.id)
    [crisis_case] = await service.store.cases.for_person(first.id)

    await person.expect("What would you like to do?")
    saved = await shared_intake_handed_off(person, "second story")

    cases = await service.store.cases.for_person(first.id)
    intake_case = next(c for c in cases if c.id != crisis_case.id)
    assert intake_case.code in texts(await person.messages())
    relayed = await service.store.cases.relayed_for_person(first.id)
    assert relayed is not None and relayed.id == intake_case.id
    assert relayed.topic_id is not None
    card = await service.staff.wait_topic(relayed.topic_id, intake_case.code)
    assert "second story" in card["text"]
    assert saved is not None


async def test_a_block_holds_for_buttons_and_crisis_words(service: Service) -> None:
    person, thread = await claimed(service)
    staff = service.staff
    await person.say("/end")
    await person.expect("What would you like to do?")
    await staff.say(staff.dara, "/block 30 abusive", thread)
    await staff.wait_topic(thread, "blocked")
    topics_before = len(await service.client.topics(staff.group_id))
    alerts_before = len(await service.client.messages(staff.coordinators_chat))

    # The main menu is still on the phone from before the block: its buttons lead nowhere.
    await person.press("Talk to a counsellor")
    await person.expect("This conversation has ended.")
    await person.say(CRISIS)
    numbers = await person.expect("117")
    assert "urgent" not in numbers["text"]
    await person.say_then("/start", "This conversation has ended.")

    assert len(await service.client.topics(staff.group_id)) == topics_before
    assert len(await service.client.messages(staff.coordinators_chat)) == alerts_before
    found = await service.store.people.find(person.id)
    assert await service.store.cases.open_for_person(found.id) is None


async def test_a_crisis_case_gets_a_queue_alert(service: Service) -> None:
    person = await Person.join(service.client)
    await person.start_in_english()
    await person.say(CRISIS)
    await person.expect("117")
    found = await service.store.people.find(person.id)
    case = await service.store.cases.open_for_person(found.id)
    assert case is not None and case.urgent and case.status == "waiting"
    pending = await service.store.schedule.pending("queue_alert")
    assert [a.case_id for a in pending] == [case.id]


async def test_every_staff_button_press_is_answered(service: Service) -> None:
    _, thread = await claimed(service)
    staff = service.staff
    card = await staff.wait_topic(thread, "Case ")
    for data in ("card:nonsense:XXXX", "something-else", "card:claim:NOPE-NOPE"):
        query_id = await service.client.press_forged(
            int(staff.dara["id"]), int(card["message_id"]), data, chat_id=staff.group_id
        )
        await service.client.wait_for_answer(query_id)


async def test_a_long_summary_arrives_in_whole_messages(service: Service) -> None:
    _, thread = await claimed(service)
    staff = service.staff
    long_note = "<b>not markup</b> & " * 180  # about 3,400 characters, more once escaped
    for n in range(3):
        await staff.say(staff.dara, f"/note N{n} {long_note}", thread)
        await staff.wait_topic(thread, "Note saved")
    before = len(await staff.topic_messages(thread))
    await staff.say(staff.dara, "/summary", thread)

    def complete(messages: list[dict[str, object]]) -> bool:
        return "N2 " in texts(messages[before:])

    found = await service.client.wait_for(staff.group_id, complete, thread_id=thread)
    parts = [m for m in found[before:] if m.get("has_protected_content")]
    assert len(parts) >= 3
    joined = texts(parts)
    assert all(f"N{n} " in joined for n in range(3))
    assert "<b>not markup</b>" in joined, "escaped text arrives as typed"


async def test_only_the_assigned_counsellor_acts_on_a_case(service: Service) -> None:
    person, thread = await claimed(service)
    staff = service.staff
    for command in ("/note from visal", "/summary", "/close resolved", "/refer rock"):
        await staff.say(staff.visal, command, thread)
        await staff.wait_topic(thread, "Only the assigned counsellor")
    found = await service.store.people.find(person.id)
    [case] = await service.store.cases.for_person(found.id)
    events = await service.store.events.for_case(case.id)
    assert not [e for e in events if e.kind == "note"]
    assert case.status == "assigned"
    await staff.say(staff.sophea, "/note from the coordinator", thread)
    await staff.wait_topic(thread, "Note saved")


async def test_commands_typed_in_a_counsellor_chat_are_cleared_by_quick_exit(
    service: Service,
) -> None:
    person, thread = await claimed(service)
    typed = await person.say("/help")
    await person.expect("You are talking with a counsellor")
    await person.press("✕ Quick exit")
    await service.staff.wait_topic(thread, "left with Quick exit")
    deleted = {d["message_id"] for d in await service.client.deletions(person.id)}
    assert typed["message_id"] in deleted
