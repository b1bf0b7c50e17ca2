"""The outbox replay on the real application: it carries out rows no update holds, in order,
and never what it must not (a row an update is carrying out, one whose update will be handled
again, one too old, one whose person was erased, anything for the phone before a Quick exit).
A handler that fails leaves its rows for the replay; a failed answer to a press does not stop
Quick exit."""

from __future__ import annotations

import time
from typing import Any

import pytest
from telegram.error import NetworkError, TimedOut

from bot.conversation import Outcome, kept_step
from bot.effect_codec import encode
from bot.kept_effects import EFFECTS, STEP, staff_side
from bot.outbox import Outbox
from bot.outbox_replay import OutboxReplay
from bot.rendering import ChatWriter
from casework.effects import ToPerson, ToTopic
from flows.events import Perform, Say
from flows.model import ActionKind
from storage.erasure import erase_person
from storage.repositories.people import Person as StoredPerson
from tests.conftest import RunningBot
from tests.people import Person
from tests.waiting import eventually

ENDED = "You have left the counsellor chat"


async def at_the_menu(bot: RunningBot) -> tuple[Person, StoredPerson]:
    person = await Person.join(bot.client)
    await person.start_in_english()
    await bot.application.services.batched.flush()  # the presses' rows, removed once sent
    stored = await bot.application.services.store.people.find(person.id)
    assert stored is not None
    return person, stored


async def keep(bot: RunningBot, payload: dict[str, Any], *, person: str | None = None) -> str:
    store = bot.application.services.store
    async with store.db.transaction() as tx:
        return await store.outbox.add(payload, tx, person=person)


def told(stored: StoredPerson, key: str = "handoff.ended", **extra: Any) -> dict[str, Any]:
    return {
        "kind": EFFECTS,
        "effects": encode([ToPerson(stored.id, key)]),
        "origin": None,
        "lane": stored.id,
        "update_id": 10**9,
        "at": time.time(),
        **extra,
    }


async def replay(bot: RunningBot) -> int:
    return await OutboxReplay(bot.application.bot, bot.application.services).run()


async def texts(bot: RunningBot, person: Person) -> list[str]:
    return [str(m.get("text")) for m in await bot.client.messages(person.id)]


async def test_a_row_no_update_holds_is_carried_out_once(running_bot: RunningBot) -> None:
    person, stored = await at_the_menu(running_bot)
    await keep(running_bot, told(stored), person=stored.id)
    assert await replay(running_bot) == 1
    await person.expect(ENDED)
    assert await running_bot.application.services.store.outbox.count() == 0
    assert await replay(running_bot) == 0
    assert sum(ENDED in t for t in await texts(running_bot, person)) == 1


@pytest.mark.parametrize("case", ["in_flight", "update_unhandled", "too_old", "erased"])
async def test_rows_the_replay_must_not_send(running_bot: RunningBot, case: str) -> None:
    person, stored = await at_the_menu(running_bot)
    services = running_bot.application.services
    store = services.store
    payload = told(stored)
    if case == "update_unhandled":  # handled again from the inbox: it decides again
        await store.inbox.add([(payload["update_id"], {"update_id": payload["update_id"]})])
    if case == "too_old":
        payload["at"] = time.time() - services.settings.sending.give_up_after_seconds - 1
    row_id = await keep(running_bot, payload, person=stored.id)
    if case == "in_flight":
        services.kept.in_flight.add(row_id)
    if case == "erased":
        await erase_person(store, stored.pseudonym)
    await replay(running_bot)
    left = [r for r, _ in await store.outbox.pending()]
    assert left == ([row_id] if case == "in_flight" else [])
    assert not any(ENDED in t for t in await texts(running_bot, person))


async def test_nothing_reaches_the_phone_before_a_quick_exit_in_the_same_lane(
    running_bot: RunningBot,
) -> None:
    person, stored = await at_the_menu(running_bot)
    shown = [m["message_id"] for m in await running_bot.client.messages(person.id)]
    await keep(running_bot, told(stored), person=stored.id)
    leaving = Outcome(
        stored,
        (),
        None,
        True,
        "en",
        after_commit=(Perform(ActionKind.QUICK_EXIT),),
        to_delete=tuple(shown),
    )
    step = kept_step(leaving, redisplay=False, pressed=None, typed=None)
    await keep(
        running_bot,
        {"kind": STEP, "lane": stored.id, "update_id": 10**9 + 1, "at": time.time(), **step},
        person=stored.id,
    )
    assert await replay(running_bot) == 2
    visible = await running_bot.client.wait_for(
        person.id, lambda ms: len(ms) == 1 and "Have a good day" in str(ms[0].get("text"))
    )
    assert len(visible) == 1
    history = await running_bot.client.history(person.id)
    assert not any(ENDED in str(m.get("text")) for m in history), "never sent, not just deleted"


async def test_a_failed_handler_leaves_its_screen_for_the_replay(
    running_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    person, _ = await at_the_menu(running_bot)
    services = running_bot.application.services
    write = ChatWriter.write
    failures: list[int] = []

    async def fails_once(self: ChatWriter, *args: Any, **kwargs: Any) -> int | None:
        if not failures:
            failures.append(1)
            raise RuntimeError("a bug while sending")
        return await write(self, *args, **kwargs)

    monkeypatch.setattr(ChatWriter, "write", fails_once)
    await person.press("Know your rights")

    async def left_for_replay() -> list[str]:
        rows = await services.store.outbox.pending()
        return [r for r, _ in rows if r not in services.kept.in_flight]

    await eventually(left_for_replay, lambda rows: len(rows) == 1, what="a row left")
    assert await replay(running_bot) == 1
    await person.expect("Choose a topic")
    assert await services.store.outbox.count() == 0


async def test_quick_exit_goes_on_when_answering_the_press_fails(
    running_bot: RunningBot,
) -> None:
    person, _ = await at_the_menu(running_bot)
    await person.choose("Know your rights", "Choose a topic")
    await running_bot.emulator.client.inject_fault("answerCallbackQuery", 502)
    await person.press("✕ Quick exit")
    await running_bot.client.wait_for(
        person.id, lambda ms: len(ms) == 1 and "Have a good day" in str(ms[0].get("text"))
    )


async def test_a_quick_exit_holds_back_what_earlier_rows_had_for_the_phone(
    running_bot: RunningBot,
) -> None:
    person, stored = await at_the_menu(running_bot)
    store = running_bot.application.services.store
    await keep(running_bot, told(stored), person=stored.id)  # left by a handler that failed
    await person.press("✕ Quick exit")
    await running_bot.client.wait_for(
        person.id, lambda ms: len(ms) == 1 and "Have a good day" in str(ms[0].get("text"))
    )
    await running_bot.application.services.batched.flush()
    assert await store.outbox.count() == 0, "nothing was left for the phone"
    await replay(running_bot)
    history = await running_bot.client.history(person.id)
    assert not any(ENDED in str(m.get("text")) for m in history)


@pytest.mark.parametrize(
    ("error", "kept"),
    [(TimedOut(), True), (NetworkError("Bad Gateway"), True), (RuntimeError("bug"), False)],
)
async def test_only_a_passing_failure_is_tried_again(
    running_bot: RunningBot, monkeypatch: pytest.MonkeyPatch, error: Exception, kept: bool
) -> None:
    _person, stored = await at_the_menu(running_bot)
    screen = Outcome(stored, (Say("help.text"),), None, False, "en")
    step = kept_step(screen, redisplay=False, pressed=None, typed=None)
    row_id = await keep(
        running_bot,
        {"kind": STEP, "lane": stored.id, "update_id": 10**9 + 2, "at": time.time(), **step},
        person=stored.id,
    )

    async def failing(self: ChatWriter, *args: Any, **kwargs: Any) -> int | None:
        raise error

    monkeypatch.setattr(ChatWriter, "write", failing)
    await replay(running_bot)
    left = [r for r, _ in await running_bot.application.services.store.outbox.pending()]
    assert left == ([row_id] if kept else [])


async def test_a_row_cut_short_by_a_stop_stays_for_the_next_start(
    running_bot: RunningBot,
) -> None:
    _person, stored = await at_the_menu(running_bot)
    row_id = await keep(running_bot, told(stored), person=stored.id)
    await running_bot.emulator.client.inject_fault("sendMessage", 502, count=100)
    limiter = running_bot.application.bot.rate_limiter
    assert isinstance(limiter, Outbox)
    limiter.stop_sending()
    await replay(running_bot)
    assert [r for r, _ in await running_bot.application.services.store.outbox.pending()] == [
        row_id
    ]


def test_what_the_staff_side_still_needs_once_the_person_left() -> None:
    case_effects = [ToTopic("c1", "staff.person_back"), ToPerson("p1", "handoff.ended")]
    refer = Perform(ActionKind.REFER, {"case_id": "c1", "need": "lawyer", "province": ""})
    payload = {
        "kind": STEP,
        "effects": encode([Say("help.text")]),
        "case_effects": encode(case_effects),
        "after_commit": encode([refer]),
    }
    assert staff_side(payload) == [
        ToTopic("c1", "staff.person_back"),
        ToTopic("c1", "staff.referral_requested", {"need": "lawyer", "province": "-"}),
    ]
    effects = {"kind": EFFECTS, "effects": encode(case_effects)}
    assert staff_side(effects) == [ToTopic("c1", "staff.person_back")]
