"""Referrals, coordinator commands, and sealed archives, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from storage.retention import RetentionPolicy, purge
from storage.sealing import CoordinatorPrivateKey
from tests.handoff.conftest import Service, shared_intake_handed_off
from tests.people import Person
from tests.storage.conftest import database_files
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
MARKER = "PANGOLIN-5150"


async def claimed_intake_case(service: Service) -> tuple[Person, int]:
    person = await Person.join(service.client)
    await person.start_in_english()
    await shared_intake_handed_off(person, f"{MARKER} my father hit me")
    thread = await service.topic_of(person)
    card = await service.staff.wait_topic(thread, "Case ")
    assert MARKER in card["text"], "the person agreed to share the summary with counsellors"
    await service.staff.say(service.staff.dara, "/claim", thread)
    await person.expect("Counsellor Dara is here")
    return person, thread


async def test_no_referral_without_consent_and_only_consented_fields(service: Service) -> None:
    person, thread = await claimed_intake_case(service)
    staff = service.staff
    await staff.say(staff.dara, "/refer nowhere", thread)
    await staff.wait_topic(thread, "Unknown partner")
    await staff.say(staff.dara, "/refer rock", thread)
    ask = await person.expect("suggests a referral to")
    assert "Violence at home" in ask["text"] and "Battambang" in ask["text"]
    assert MARKER not in ask["text"], "free text is never part of a referral"
    await person.press("No, do not share")
    await person.expect("Nothing was shared.")
    # The topic's notice is the last thing the refusal does: anything sent to the partner by
    # it would already be there.
    await staff.wait_topic(thread, "did not agree to referral")
    partner_messages = [
        m for m in await service.client.messages(staff.partner_chat) if m.get("text")
    ]
    assert partner_messages == [], "nothing reaches the partner without a yes"

    await staff.say(staff.dara, "/refer rock", thread)
    await person.expect("suggests a referral to")
    await person.press("Yes, and ask me later if it helped")
    await person.expect("will receive only the information listed")
    sent = await service.client.wait_for_text(staff.partner_chat, "New referral")
    for leak in (MARKER, "Sokha", "Chan", "sokha_c", str(person.id), "father"):
        assert leak not in sent["text"]
    assert "Violence at home" in sent["text"] and "Battambang" in sent["text"]
    await staff.wait_topic(thread, "was sent to Rainbow Community")

    code = sent["text"].split("New referral ")[1].split()[0]
    await service.client.press(int(staff.partner["id"]), "Accept", chat_id=staff.partner_chat)
    await staff.wait_topic(thread, f"The partner accepted referral {code}")
    referral = await service.store.referrals.get_by_code(code)
    assert referral.status == "accepted"
    [check] = await service.store.schedule.pending("referral_check")
    assert check.payload == {"code": code}

    await staff.say(staff.dara, f"/referral_done {code} successful", thread)
    await staff.wait_topic(thread, f"Referral {code} is done: successful")
    connection = service.store.db.raw_reader()
    try:
        results = [
            r[0]
            for r in connection.execute(
                "SELECT referral_result FROM case_statistics WHERE referral_result IS NOT NULL"
            )
        ]
    finally:
        connection.close()
    assert "successful" in results


async def test_a_partner_declines_with_a_reason(service: Service) -> None:
    person, thread = await claimed_intake_case(service)
    staff = service.staff
    await staff.say(staff.dara, "/refer rock", thread)
    await person.expect("suggests a referral to")
    await person.press("Yes, share it")
    await service.client.wait_for_text(staff.partner_chat, "New referral")
    outsider_query = await service.client.press(
        int(staff.partner["id"]), "Decline", chat_id=staff.partner_chat
    )
    await service.client.wait_for(
        staff.partner_chat,
        lambda ms: any("No capacity now" in str(m.get("reply_markup")) for m in ms),
    )
    await service.client.press(
        int(staff.partner["id"]), "No capacity now", chat_id=staff.partner_chat
    )
    await staff.wait_topic(thread, "declined referral")
    found = await service.store.people.find(person.id)
    case = await service.store.cases.open_for_person(found.id)
    [referral] = await service.store.referrals.for_case(case.id)
    assert (referral.status, referral.reason) == ("declined", "no_capacity")
    assert outsider_query


async def test_a_partner_without_a_chat_goes_through_a_coordinator(service: Service) -> None:
    person, thread = await claimed_intake_case(service)
    staff = service.staff
    await staff.say(staff.dara, "/refer licadho", thread)
    await person.expect("suggests a referral to")
    await person.press("Yes, share it")
    by_hand = await staff.wait_topic(thread, "has no Telegram chat")
    code = by_hand["text"].split("/referral ")[1].rstrip(").")
    await staff.say(staff.dara, f"/referral {code}", None)
    await service.client.wait_for_text(staff.group_id, "Only coordinators and admins")
    await staff.say(staff.sophea, f"/referral {code}", None)
    shown = await service.client.wait_for_text(staff.group_id, f"New referral {code}")
    assert MARKER not in shown["text"] and shown["has_protected_content"]
    await staff.say(staff.sophea, f"/referral {code} sent", None)
    await service.client.wait_for_text(staff.group_id, "marked as passed on")
    actions = [(e.actor, e.action) for e in await service.store.audit.recent()]
    assert ("Sophea", "referral_read") in actions and ("Sophea", "referral_passed_on") in actions


async def test_coordinator_commands_are_refused_to_others_and_audited(
    service: Service,
) -> None:
    person, _ = await claimed_intake_case(service)
    staff = service.staff
    found = await service.store.people.find(person.id)
    case = await service.store.cases.open_for_person(found.id)
    for command in ("/cases", f"/case {case.code}", "/stats", "/export", "/audit"):
        await staff.say(staff.dara, command, None)

    def refusals(messages: list[dict[str, Any]]) -> int:
        return sum("Only coordinators and admins" in str(m.get("text")) for m in messages)

    found = await eventually(
        lambda: service.client.messages(staff.group_id),
        lambda ms: refusals(ms) >= 5,
        what="five refusals",
    )
    assert refusals(found) == 5
    assert await service.store.audit.recent() == []

    # A community member typing a coordinator command privately gets nothing but the menu.
    stranger = await Person.join(service.client, "Nita", "Stranger", "nita")
    await stranger.say("/start")
    await stranger.expect("Please choose a language")
    await stranger.say_then("/cases", "សូមជ្រើសរើសប៊ូតុងមួយខាងក្រោម")

    chat = staff.coordinators_chat
    sophea = int(staff.sophea["id"])
    await service.client.send_text(sophea, "/cases", chat_id=chat)
    await service.client.wait_for_text(chat, case.code)
    await service.client.send_text(sophea, f"/case {case.code}", chat_id=chat)
    summary = await service.client.wait_for_text(chat, "Events")
    assert MARKER in summary["text"] and summary["has_protected_content"]
    await service.client.send_text(sophea, "/stats 2026-01 2026-12", chat_id=chat)
    stats = await service.client.wait_for_text(chat, "clgbt statistics")
    assert "Battambang" in stats["text"] and "KH-2 " not in stats["text"], "province names"
    await service.client.send_text(sophea, "/export", chat_id=chat)
    await service.client.wait_for(chat, lambda ms: any("document" in m for m in ms))
    await service.client.send_text(sophea, "/referrals", chat_id=chat)
    await service.client.wait_for_text(chat, "Referrals:")
    await service.client.send_text(sophea, "/audit", chat_id=chat)
    await service.client.wait_for_text(chat, "Recent audit entries")
    actions = [e.action for e in await service.store.audit.recent()]
    for expected in (
        "cases_listed",
        "case_read",
        "stats_viewed",
        "export",
        "referrals_listed",
        "audit_read",
    ):
        assert expected in actions
    assert all(e.actor == "Sophea" for e in await service.store.audit.recent())
    # privately with the bot, too
    await service.client.send_text(sophea, "/stats")
    await service.client.wait_for_text(sophea, "clgbt statistics")


async def test_a_sealed_case_is_gone_from_the_server_and_opens_only_offline(
    service: Service, tmp_path: Path
) -> None:
    person, thread = await claimed_intake_case(service)
    staff = service.staff
    await staff.say(staff.dara, "/note private note PANGOLIN-NOTE", thread)
    await staff.wait_topic(thread, "Note saved")
    await staff.say(staff.dara, "/close resolved", thread)
    await person.expect("The counsellor has closed")
    private = CoordinatorPrivateKey.generate()
    key_file = tmp_path / "coordinators.key"
    key_file.write_text(private.to_protected_text("a long enough phrase", scrypt_n=2**12))
    found = await service.store.people.find(person.id)
    [case] = await service.store.cases.for_person(found.id)

    report = await purge(
        service.store,
        RetentionPolicy(closed_case_days=1),
        date.today().replace(year=2099),
        private.public_key(),
    )
    assert report.cases_sealed == 1
    assert await service.store.cases.get(case.id) is None
    database = service.settings.paths.database
    for name, raw in database_files(database).items():
        assert MARKER.encode() not in raw and b"PANGOLIN-NOTE" not in raw, name

    def review(
        *args: str, phrase: str = "a long enough phrase", key: Path = key_file
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "bot",
                "review",
                "--key",
                str(key),
                "--db",
                str(database),
                *args,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
            env={"PATH": os.environ.get("PATH", ""), "CLGBT_COORDINATOR_PASSPHRASE": phrase},
        )

    listing = review()
    assert listing.returncode == 0, listing.stderr
    assert case.code in listing.stdout and "violence_home" in listing.stdout
    shown = review("--case", case.code, "--markdown", str(tmp_path / "case.md"))
    assert shown.returncode == 0, shown.stderr
    assert MARKER in shown.stdout and "PANGOLIN-NOTE" in shown.stdout
    assert (tmp_path / "case.md").read_text().startswith(f"# Case {case.code}")

    before = database_files(database)
    wrong = review(phrase="the wrong passphrase")
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr
    other_key = tmp_path / "other.key"
    other_key.write_text(
        CoordinatorPrivateKey.generate().to_protected_text("a long enough phrase", scrypt_n=2**12)
    )
    other = review(key=other_key)
    assert other.returncode == 2 and "cannot be opened with this key" in other.stderr
    assert database_files(database) == before, "reviewing changes nothing"


async def test_a_person_asks_for_a_referral_from_the_directory(service: Service) -> None:
    person = await Person.join(service.client)
    await person.start_in_english()
    await person.choose("Find an organisation", "What kind of help")
    await person.choose("Legal help", "In which province?")
    await person.choose("Kampot", "Organisations that may help")
    await person.expect("Would you like to search again?")
    await person.choose("Ask a counsellor to refer me", "You are in the queue")
    thread = await service.topic_of(person)
    note = await service.staff.wait_topic(thread, "asks to be referred")
    assert "legal_aid" in note["text"] and "KH-7" in note["text"]
