"""End to end: a person and counsellors, each side anonymous to the other."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.handoff.conftest import Service
from tests.people import Person
from tests.timers import make_due
from tests.waiting import eventually


def identity_leaks(messages: list[dict[str, object]], person: Person) -> list[str]:
    needles = ["Sokha", "Chan", "sokha_c", str(person.id)]
    found = []
    for message in messages:
        rendered = str({k: v for k, v in message.items() if k not in ("from", "chat")})
        found += [n for n in needles if n in rendered]
        if "forward_origin" in message:
            found.append("forward_origin")
    return found


async def test_a_person_reaches_counsellors_without_revealing_who_they_are(
    service: Service,
) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    [topic] = await service.client.topics(staff.group_id)
    assert "Sokha" not in topic["name"] and "general · en" in topic["name"]
    thread = int(topic["message_thread_id"])
    card = await staff.wait_topic(thread, "Case ")
    assert card["has_protected_content"], "the card cannot be forwarded or saved"
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["Claim", "Release", "Close"]
    await person.expect("usually within 30 minutes")

    await person.say("My name is not needed. I was fired.")
    await staff.wait_topic(thread, "I was fired")
    history = await service.client.history(staff.group_id)
    assert identity_leaks(history, person) == []
    assert await service.client.calls("forwardMessage") == []
    relayed = [m for m in history if "I was fired" in str(m.get("text"))]
    assert relayed[0]["from"]["is_bot"], "the copy comes from the bot, not the person"


async def test_claim_reply_both_ways_note_and_close(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    thread = await service.topic_of(person)

    await staff.say(staff.dara, "/claim", thread)
    await person.expect("Counsellor Dara is here")
    await person.say("Hello, are you there?")
    await staff.wait_topic(thread, "Hello, are you there?")
    await service.client.send_media(person.id, "photo", caption="the letter")
    await staff.wait_topic(thread, "the letter")

    await staff.say(staff.dara, "Yes, I am here. Can you tell me more?", thread)
    reply = await person.expect("Can you tell me more?")
    assert reply["from"]["is_bot"] and "Dara" not in str(reply.get("forward_origin", ""))
    await service.client.send_media(
        int(staff.dara["id"]),
        "document",
        caption="a guide",
        chat_id=staff.group_id,
        thread_id=thread,
    )
    await person.expect("a guide")

    await staff.say(
        staff.dara, "/note Person seems safe; follow up on the dismissal letter", thread
    )
    await staff.wait_topic(thread, "Note saved")
    # Dara's messages are handled in order: once the next one reaches the phone, a note that
    # had been sent would be there before it.
    await staff.say(staff.dara, "Thank you for telling me.", thread)
    await person.expect("Thank you for telling me.")
    assert not any("dismissal letter" in str(m.get("text")) for m in await person.messages())

    await staff.say(staff.dara, "/close resolved", thread)
    await person.expect("The counsellor has closed this conversation")
    await person.expect("check in with you in 7 days")
    person_row = await service.store.people.find(person.id)
    [case] = await service.store.cases.for_person(person_row.id)
    assert case.status == "closed" and case.outcome == "resolved" and not case.relay
    events = await service.store.events.for_case(case.id)
    notes = [e for e in events if e.kind == "note"]
    assert notes[0].body.startswith("Person seems safe") and notes[0].actor == "Dara"

    await person.choose("Yes, please check in", "We will check in with you then")
    [follow_up] = await service.store.schedule.pending("follow_up")
    assert follow_up.due_at - datetime.now(UTC) > timedelta(days=6)


async def test_two_claims_at_once_resolve_to_one(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    thread = await service.topic_of(person)
    await asyncio.gather(
        staff.say(staff.dara, "/claim", thread), staff.say(staff.visal, "/claim", thread)
    )
    await staff.wait_topic(thread, "has claimed this case")
    await staff.wait_topic(thread, "already claimed by")
    claimed = [
        m
        for m in await staff.topic_messages(thread)
        if "has claimed this case" in str(m.get("text"))
    ]
    assert len(claimed) == 1
    found = await service.store.people.find(person.id)
    case = await service.store.cases.open_for_person(found.id)
    assert case.assigned_alias in ("Dara", "Visal")


async def test_claims_race_in_storage_too(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    found = await service.store.people.find(person.id)
    case = await service.store.cases.open_for_person(found.id)
    results = await asyncio.gather(
        *(service.store.cases.claim(case.id, alias) for alias in ("Dara", "Visal", "Sophea"))
    )
    assert sorted(results) == [False, False, True]


async def test_outsiders_and_forged_buttons_change_nothing(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    thread = await service.topic_of(person)
    for command in ("/claim", "/close resolved"):
        await staff.say(staff.outsider, command, thread)

    def refusals(messages: list[dict[str, Any]]) -> int:
        return sum(
            "Only counsellors, coordinators and admins" in str(m.get("text")) for m in messages
        )

    found_refusals = await eventually(
        lambda: staff.topic_messages(thread), lambda ms: refusals(ms) >= 2, what="two refusals"
    )
    assert refusals(found_refusals) == 2
    card = (await staff.topic_messages(thread))[1]
    query = await service.client.press(
        int(staff.outsider["id"]), "Claim", chat_id=staff.group_id, message_id=card["message_id"]
    )
    answer = await service.client.wait_for_answer(query)
    assert answer["show_alert"] and "Only counsellors" in answer["text"]
    found = await service.store.people.find(person.id)
    case = await service.store.cases.open_for_person(found.id)
    assert case.status == "waiting" and case.assigned_alias is None

    screen = (await person.messages())[-1]
    forged = await service.client.press_forged(
        person.id, screen["message_id"], f"card:claim:{case.code}"
    )
    await service.client.wait_for_answer(forged)  # answered once it has been handled
    case = await service.store.cases.open_for_person(found.id)
    assert case.assigned_alias is None, "a forged card button from a private chat does nothing"

    await staff.say(staff.visal, "I am not assigned, does this reach them?", thread)
    await staff.wait_topic(thread, "did not reach the person")
    assert not any("does this reach them" in str(m.get("text")) for m in await person.messages())


async def test_card_buttons_claim_and_close_with_an_outcome(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    thread = await service.topic_of(person)
    card = (await staff.topic_messages(thread))[1]
    await service.client.press(
        int(staff.dara["id"]), "Claim", chat_id=staff.group_id, message_id=card["message_id"]
    )
    await person.expect("Counsellor Dara is here")
    await service.client.press(
        int(staff.dara["id"]), "Close", chat_id=staff.group_id, message_id=card["message_id"]
    )
    await staff.wait_topic(thread, "Choose the outcome")
    await service.client.press(int(staff.dara["id"]), "Referred", chat_id=staff.group_id)
    await person.expect("The counsellor has closed this conversation")
    found = await service.store.people.find(person.id)
    [case] = await service.store.cases.for_person(found.id)
    assert case.outcome == "referred"


async def test_an_unclaimed_case_pings_coordinators_once(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    found = await service.store.people.find(person.id)
    case = await service.store.cases.open_for_person(found.id)
    await make_due(service.store, "queue_alert", case_id=case.id)  # the limit has passed
    chat = service.staff.coordinators_chat
    await service.client.wait_for_text(chat, f"case {case.code}")
    # A queue alert is sent from its pending timer only: once that is marked done (after the
    # alert went out), no later run of the job can send it again.
    await eventually(
        lambda: service.store.schedule.pending("queue_alert"),
        lambda pending: all(a.case_id != case.id for a in pending),
        what="the alert's timer marked done",
    )
    alerts = [m for m in await service.client.messages(chat) if case.code in str(m.get("text"))]
    assert len(alerts) == 1


async def test_outside_office_hours_the_person_is_told_when(closed_service: Service) -> None:
    person = await closed_service.person_asks_for_counsellor()
    message = await person.expect("so someone will answer from")
    assert "Mon–Fri 08:00–17:00" in message["text"]
    await person.say("I will leave a message for tomorrow")
    thread = await closed_service.topic_of(person)
    await closed_service.staff.wait_topic(thread, "leave a message for tomorrow")


async def test_a_restart_keeps_queue_assignments_and_timers(service: Service) -> None:
    waiting = await service.person_asks_for_counsellor("Bopha")
    assigned = await service.person_asks_for_counsellor("Sokha")
    staff = service.staff
    thread = await service.topic_of(assigned)
    await staff.say(staff.dara, "/claim", thread)
    await assigned.expect("Counsellor Dara is here")

    await service.stop()
    await service.start()

    general = await staff.say(staff.sophea, "/queue", None)
    queue = await service.client.wait_for(
        staff.group_id,
        lambda ms: any(
            "Waiting cases: 1" in str(m.get("text")) and m["message_id"] > general["message_id"]
            for m in ms
        ),
    )
    found = await service.store.people.find(waiting.id)
    case = await service.store.cases.open_for_person(found.id)
    assert any(case.code in str(m.get("text")) for m in queue)
    await assigned.say("Still there after the restart?")
    await staff.wait_topic(thread, "Still there after the restart?")
    await staff.say(staff.dara, "Yes, still here.", thread)
    await assigned.expect("Yes, still here.")
    [alert] = await service.store.schedule.pending("queue_alert")
    assert alert.case_id == case.id, "the waiting case's timer survived the restart"


async def test_a_deleted_topic_is_recreated_and_the_message_arrives(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    thread = await service.topic_of(person)
    await service.client.delete_topic_by_hand(staff.group_id, thread)
    await person.say("Are you still getting my messages?")
    found = await service.store.people.find(person.id)

    case = await eventually(
        lambda: service.store.cases.open_for_person(found.id),
        lambda c: c.topic_id != thread,
        what="a new topic",
    )
    fresh = int(case.topic_id)
    await staff.wait_topic(fresh, "Are you still getting my messages?")
    await staff.wait_topic(fresh, "re-created")


async def test_a_closed_topic_is_recreated_too(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    thread = await service.topic_of(person)
    await service.client.close_topic_by_hand(staff.group_id, thread)
    await person.say("Hello again")
    fresh = await eventually(
        lambda: service.topic_of(person), lambda topic: topic != thread, what="a new topic"
    )
    await staff.wait_topic(fresh, "Hello again")


async def test_the_person_ends_the_chat_and_the_flow_resumes(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    thread = await service.topic_of(person)
    await person.say("/menu")
    await person.expect("You are talking with a counsellor")
    await person.press("End chat")
    await person.expect("You have left the counsellor chat")
    await person.expect("What would you like to do?")
    await service.staff.wait_topic(thread, "The person ended the chat")
    await person.say_then("hello bot", "Please choose one of the buttons")


async def test_quick_exit_and_erase_work_during_a_counsellor_chat(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    thread = await service.topic_of(person)
    await person.say("/delete")
    await person.expect("Erase everything?")
    await person.press("Yes, erase everything")
    await person.expect("Have a good day!")
    await eventually(
        lambda: service.client.topics(staff.group_id),
        lambda topics: topics == [],
        what="erasure deleting the topic",
    )
    assert await service.client.messages(staff.group_id, thread) == []


async def test_location_is_relayed_only_after_a_warning(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    thread = await service.topic_of(person)
    await service.client.send_location(person.id, 11.55, 104.92)
    await person.expect("sharing a location tells the counsellor where you are")
    # The person's messages are handled in order: a location relayed before the warning's
    # next message would be in the topic before it.
    await person.say("ok")
    await service.staff.wait_topic(thread, "ok")
    assert not any("location" in m for m in await service.staff.topic_messages(thread))
    await service.client.send_location(person.id, 11.55, 104.92)
    await service.client.wait_for(
        service.staff.group_id, lambda ms: any("location" in m for m in ms), thread_id=thread
    )


async def test_edits_and_replies_keep_their_thread(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    thread = await service.topic_of(person)
    await staff.say(staff.dara, "/claim", thread)
    await person.expect("Counsellor Dara is here")
    sent = await person.say("I was fird yesterday")
    copy = await staff.wait_topic(thread, "I was fird yesterday")
    await service.client.edit_text(person.id, sent["message_id"], "I was fired yesterday")
    await staff.wait_topic(thread, "I was fired yesterday")
    await service.client.send_text(
        int(staff.dara["id"]),
        "Which company?",
        chat_id=staff.group_id,
        thread_id=thread,
        reply_to=copy["message_id"],
    )
    answer = await person.expect("Which company?")
    assert answer["reply_to_message"]["message_id"] == sent["message_id"]


async def test_release_transfer_summary_and_block(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    thread = await service.topic_of(person)
    await staff.say(staff.dara, "/claim", thread)
    await person.expect("Counsellor Dara is here")
    await staff.say(staff.dara, "/release", thread)
    await person.expect("Another counsellor will reply here soon")
    await staff.say(staff.visal, "/claim", thread)
    await person.expect("Counsellor Visal is here")
    await staff.say(staff.visal, "/transfer Nobody", thread)
    await staff.wait_topic(thread, "No counsellor with the alias Nobody")
    await staff.say(staff.visal, "/transfer Dara", thread)
    await person.expect("Counsellor Dara is taking over")
    await staff.say(staff.dara, "/summary", thread)
    summary = await staff.wait_topic(thread, "Events")
    assert "claimed (Dara)" in summary["text"] and "transferred (Visal)" in summary["text"]
    [audit] = await service.store.audit.recent()
    assert (audit.actor, audit.action) == ("Dara", "case_summary_read")

    days_before = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    await staff.say(staff.dara, "/block 7 abusive messages", thread)
    await person.expect("This conversation has ended.")
    told = await staff.wait_topic(thread, "for 7 days (to the end of ")
    days_after = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    assert any(f"to the end of {day}, UTC" in told["text"] for day in (days_before, days_after))
    await person.say_then("are you there???", "This conversation has ended.")
    assert not any(
        "are you there???" in str(m.get("text")) for m in await staff.topic_messages(thread)
    )
    found = await service.store.people.find(person.id)
    block = await service.store.blocks.active(found.id)
    assert block is not None and block.reason == "abusive messages"
    [case] = await service.store.cases.for_person(found.id)
    await staff.say(staff.dara, f"/unblock {case.code}", None)
    await service.client.wait_for_text(staff.group_id, "Only coordinators and admins")
    await staff.say(staff.sophea, f"/unblock {case.code}", None)
    await service.client.wait_for_text(staff.group_id, f"The block on {case.code} is lifted")
    assert await service.store.blocks.active(found.id) is None


async def test_an_accepted_check_in_comes_back(service: Service) -> None:
    person = await service.person_asks_for_counsellor()
    staff = service.staff
    thread = await service.topic_of(person)
    await staff.say(staff.dara, "/claim", thread)
    await person.expect("Counsellor Dara is here")
    await staff.say(staff.dara, "/close information_given", thread)
    await person.expect("check in with you in 7 days")
    await person.choose("Yes, please check in", "We will check in with you then")
    await make_due(service.store, "follow_up")  # the days have passed
    await person.expect("Are things better for you now?")
    await person.choose("Not really", "A counsellor can talk with you here")
    # The timer is marked done once its message went out (at least once): wait for that.
    await eventually(
        lambda: service.store.schedule.pending("follow_up"),
        lambda pending: pending == [],
        what="the check-in's timer marked done",
    )
