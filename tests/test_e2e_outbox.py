"""What a step or a case decision decided is sent even if the bot is killed after deciding
and before sending (issue 11): the decision's transaction keeps it in the outbox, and the
next start sends it. Each test holds the answer back (the emulator fails the call, the bot
keeps retrying), kills the bot while it is retrying, lets the API work again and restarts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.keyring import create_key_file
from tests.bot_process import BotProcess, base_config
from tests.conftest import Emulator
from tests.people import Person
from tests.test_soak import ask_for_counsellor
from tests.waiting import eventually


@pytest.fixture
async def setting(tmp_path: Path, emulator: Emulator) -> dict[str, Any]:
    client = emulator.client
    counsellor = await client.add_user("Dara", "Staff", "dara_staff")
    group = await client.add_forum_group("Staff", [int(counsellor["id"])])
    partner = await client.add_user("Partner", "Staff", "rock_staff")
    partner_chat = await client.add_forum_group("RoCK referrals", [int(partner["id"])])
    create_key_file(tmp_path / "master.key")
    config = tmp_path / "config.toml"
    config.write_text(
        base_config(emulator.server.base_url)
        + '[office_hours]\ndays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
        'opens = "00:00"\ncloses = "23:59"\n'
        f"[referrals]\npartner_chats = {{ rock = {partner_chat['id']} }}\n"
        f"[staff]\ngroup_id = {group['id']}\n"
        f'[[staff.members]]\nuser_id = {counsellor["id"]}\nrole = "counsellor"\nalias = "C0"\n',
        encoding="utf-8",
    )
    return {
        "config": config,
        "group": int(group["id"]),
        "counsellor": counsellor,
        "partner_chat": int(partner_chat["id"]),
    }


@pytest.fixture
def bot(setting: dict[str, Any], tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(setting["config"], tmp_path / "bot.log")
    process.start()
    try:
        yield process
    finally:
        process.kill()


async def kept_rows(tmp_path: Path) -> int:
    """Rows left in the outbox (read beside the running bot, as an operator would)."""
    with sqlite3.connect(tmp_path / "clgbt.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])


async def in_a_topic(emulator: Emulator, setting: dict[str, Any]) -> tuple[Person, int]:
    """A new person who asked for a counsellor, and their case's topic."""
    person = await Person.join(emulator.client)
    code = await ask_for_counsellor(person)
    topics = await emulator.client.topics(setting["group"])
    by_code = {str(t["name"]).split(" ")[0]: int(t["message_thread_id"]) for t in topics}
    return person, by_code[code]


async def kill_while_sending(
    emulator: Emulator, bot: BotProcess, method: str, chat_id: int, act: Any
) -> None:
    """Fail every ``method`` call, ``act``, wait until the bot has tried ``method`` for
    ``chat_id`` (so its decision is committed), kill it, heal the API and start it again."""
    state = emulator.state
    before = len(state.calls)
    state.inject_fault(method, 502, count=100_000)
    await act()

    async def tried() -> bool:
        return any(
            c.method == method and str(c.chat_id) == str(chat_id) for c in state.calls[before:]
        )

    await eventually(tried, bool, within=30, what=f"a {method} attempt")
    bot.kill()
    state.faults.clear()
    bot.start()


async def test_a_screen_decided_before_a_kill_is_shown_after_the_restart(
    emulator: Emulator, bot: BotProcess, tmp_path: Path
) -> None:
    person = await Person.join(emulator.client)
    await person.start_in_english(within=30)

    async def press() -> None:
        await person.press("Know your rights")

    await kill_while_sending(emulator, bot, "editMessageText", person.id, press)
    await person.expect("Choose a topic", within=30)
    await eventually(lambda: kept_rows(tmp_path), lambda n: n == 0, what="the outbox emptied")


async def test_a_typed_answer_is_answered_after_a_kill_and_kept(
    emulator: Emulator, bot: BotProcess, tmp_path: Path
) -> None:
    person = await Person.join(emulator.client)
    await person.start_in_english(within=30)
    await person.to_the_story_question()

    async def answer() -> None:
        await person.say("It happened at the factory.")

    await kill_while_sending(emulator, bot, "sendMessage", person.id, answer)
    await person.expect("Roughly when did it happen?", within=30)
    questions = [
        m for m in await person.messages() if "Roughly when did it happen?" in str(m.get("text"))
    ]
    assert len(questions) == 1, "asked once: the answer was not taken twice"
    await person.say_then("5/2026", "In which province")


async def test_a_claim_decided_before_a_kill_reaches_the_person_once(
    emulator: Emulator, bot: BotProcess, setting: dict[str, Any]
) -> None:
    client = emulator.client
    person, thread = await in_a_topic(emulator, setting)

    async def claim() -> None:
        await client.send_text(
            int(setting["counsellor"]["id"]), "/claim", chat_id=setting["group"], thread_id=thread
        )

    await kill_while_sending(emulator, bot, "sendMessage", setting["group"], claim)
    await person.expect("Counsellor C0 is here", within=30)
    await client.wait_for_text(setting["group"], "has claimed", thread_id=thread, within=30)
    told = [m for m in await person.messages() if "Counsellor C0 is here" in str(m.get("text"))]
    assert len(told) == 1
    topic = await client.messages(setting["group"], thread)
    claimed = [m for m in topic if "has claimed this case" in str(m.get("text"))]
    assert len(claimed) == 1, "the claim was carried out, not decided again"
    refusals = [m for m in topic if "already" in str(m.get("text"))]
    assert not refusals


NEUTRAL = "Have a good day!"


async def only_the_neutral_line_is_left(emulator: Emulator, person: Person) -> None:
    await emulator.client.wait_for(
        person.id, lambda ms: len(ms) == 1 and NEUTRAL in str(ms[0].get("text")), within=30
    )
    history = await emulator.client.history(person.id)
    assert [m for m in history if not m["deleted"]] == [
        m for m in history if NEUTRAL in str(m.get("text"))
    ]


async def test_a_quick_exit_cut_short_by_a_kill_clears_the_chat_after_it(
    emulator: Emulator, bot: BotProcess, setting: dict[str, Any]
) -> None:
    client = emulator.client
    person, thread = await in_a_topic(emulator, setting)
    await person.say("My brother found my messages")
    await client.wait_for_text(setting["group"], "My brother", thread_id=thread)

    async def leave() -> None:
        await person.press("✕ Quick exit")

    await kill_while_sending(emulator, bot, "deleteMessages", person.id, leave)
    await only_the_neutral_line_is_left(emulator, person)
    await client.wait_for_text(
        setting["group"], "The person left with Quick exit", thread_id=thread, within=30
    )


async def test_an_erasure_cut_short_by_a_kill_is_finished_after_it(
    emulator: Emulator, bot: BotProcess, setting: dict[str, Any], tmp_path: Path
) -> None:
    client = emulator.client
    person, thread = await in_a_topic(emulator, setting)
    await person.say("Please note what happened to me")
    await client.wait_for_text(setting["group"], "Please note what happened", thread_id=thread)
    await person.say("/delete")

    async def erase() -> None:
        await person.press("Yes, erase everything")

    # Held back at the first call after the data went (the topic's deletion), then killed.
    await kill_while_sending(emulator, bot, "deleteForumTopic", setting["group"], erase)
    await only_the_neutral_line_is_left(emulator, person)
    await eventually(
        lambda: client.topics(setting["group"]), lambda t: t == [], within=30, what="no topic"
    )
    await eventually(lambda: kept_rows(tmp_path), lambda n: n == 0, what="the outbox emptied")


async def test_sigterm_while_sends_fail_stops_cleanly_and_loses_nothing(
    emulator: Emulator, bot: BotProcess, setting: dict[str, Any]
) -> None:
    """A stop during an outage does not wait for the API (systemd would kill the bot first):
    sends that fail are not retried, their messages stay kept, and the next start sends them,
    each once."""
    client = emulator.client
    state = emulator.state
    person, thread = await in_a_topic(emulator, setting)
    counsellor = int(setting["counsellor"]["id"])
    await client.send_text(counsellor, "/claim", chat_id=setting["group"], thread_id=thread)
    await person.expect("Counsellor C0 is here", within=30)

    before = len(state.calls)
    state.inject_fault("copyMessage", 502, count=100_000)
    await person.say("Are you still there?")
    await client.send_text(
        counsellor, "Yes, I am here.", chat_id=setting["group"], thread_id=thread
    )

    async def both_tried() -> set[str]:
        return {str(c.chat_id) for c in state.calls[before:] if c.method == "copyMessage"}

    await eventually(
        both_tried,
        lambda chats: {str(person.id), str(setting["group"])} <= chats,
        within=30,
        what="both copies tried",
    )
    assert await bot.terminate() == 0
    state.faults.clear()
    bot.start()
    await person.expect("Yes, I am here.", within=30)
    await client.wait_for_text(
        setting["group"], "Are you still there?", thread_id=thread, within=30
    )
    mine = [m for m in await person.messages() if m.get("text") == "Yes, I am here."]
    topic = await client.messages(setting["group"], thread)
    theirs = [m for m in topic if m.get("text") == "Are you still there?"]
    assert len(mine) == 1 and len(theirs) == 1
    log = bot.log.read_text(encoding="utf-8")
    assert "Traceback" not in log and "still there" not in log


async def test_a_consent_to_a_referral_recorded_before_a_kill_reaches_the_partner(
    emulator: Emulator, bot: BotProcess, setting: dict[str, Any]
) -> None:
    """The person said yes and the bot died before the partner had it: the next start sends
    it (before, the referral stayed "consented" forever, and a second yes was refused)."""
    client = emulator.client
    person, thread = await in_a_topic(emulator, setting)
    counsellor = int(setting["counsellor"]["id"])
    await client.send_text(counsellor, "/claim", chat_id=setting["group"], thread_id=thread)
    await person.expect("Counsellor C0 is here", within=30)
    await client.send_text(counsellor, "/refer rock", chat_id=setting["group"], thread_id=thread)
    await person.expect("suggests a referral to", within=30)

    async def consent() -> None:
        await person.press("Yes, share it")

    await kill_while_sending(emulator, bot, "sendMessage", setting["partner_chat"], consent)
    sent = await client.wait_for_text(setting["partner_chat"], "New referral", within=30)
    await client.wait_for_text(setting["group"], "was sent to", thread_id=thread, within=30)
    referrals = [
        m for m in await client.messages(setting["partner_chat"]) if "New referral" in str(m)
    ]
    assert len(referrals) == 1 and sent in referrals
