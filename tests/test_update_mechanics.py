"""What one update costs, counted (never timed): database commits and Bot API calls for a
button press and for a typed answer, on the real application against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.message_tracker import MessageTracker
from bot.update_unit import UpdateUnit
from storage.connection import Connection
from tests.conftest import RunningBot
from tests.people import Person


@dataclass
class Meter:
    """Commits, and the moment each update's last handler group has run."""

    commits: int = 0
    finished: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def until_finished(self, count: int) -> None:
        while self.finished < count:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 10)


@pytest.fixture
async def meter(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Meter]:
    meter = Meter()
    in_worker: Callable[[Connection, str], Awaitable[None]] = Connection.in_worker
    end = UpdateUnit.end

    async def counting(self: Connection, sql: str) -> None:
        await in_worker(self, sql)
        if sql == "COMMIT":
            meter.commits += 1

    def ending() -> UpdateUnit | None:
        unit = end()
        meter.finished += 1
        meter.changed.set()
        return unit

    monkeypatch.setattr(Connection, "in_worker", counting)
    monkeypatch.setattr(UpdateUnit, "end", staticmethod(ending))
    yield meter


async def measured(
    bot: RunningBot, meter: Meter, act: Callable[[], Awaitable[Any]]
) -> tuple[int, dict[str, int]]:
    """Commits and Bot API calls (by method, without getUpdates) of one update (the earlier
    updates' batched writes are written first, so that none of them is counted here)."""
    await bot.application.services.batched.flush()
    before_calls = len(await bot.client.calls())
    finished, commits = meter.finished, meter.commits
    await act()
    await meter.until_finished(finished + 1)
    calls = (await bot.client.calls())[before_calls:]
    by_method: dict[str, int] = {}
    for call in calls:
        if call["method"] != "getUpdates":
            by_method[call["method"]] = by_method.get(call["method"], 0) + 1
    return meter.commits - commits, by_method


async def at_the_story_question(bot: RunningBot) -> Person:
    """A new person, through the intake's first answers to "In your own words"."""
    person = await Person.join(bot.client)
    await person.start_in_english()
    await person.choose("Tell us what happened", "Do you agree that we keep a record")
    await person.choose("Yes, keep a record", "What was it about?")
    await person.choose("Work", "Why do you think it happened?")
    await person.choose("Who I love (sexual orientation)", "In your own words")
    return person


async def test_a_button_press_commits_once_and_makes_two_calls(
    running_bot: RunningBot, meter: Meter
) -> None:
    person = await Person.join(running_bot.client)
    await person.start_in_english()

    commits, calls = await measured(
        running_bot,
        meter,
        lambda: person.choose("Know your rights", "Choose a topic"),
    )
    # The inbox records the fetched batch (one commit, shared by every update in it); the
    # step, its new state, the "handled" mark and the outbox row of what it will send are the
    # other. The screen is edited in place; the row's removal goes with a later batch.
    assert commits == 2, commits
    store = running_bot.application.services.store
    await running_bot.application.services.batched.flush()
    assert await store.outbox.count() == 0
    assert calls == {"answerCallbackQuery": 1, "editMessageText": 1}, calls


async def test_a_typed_answer_commits_its_step_once_and_makes_two_calls(
    running_bot: RunningBot, meter: Meter
) -> None:
    person = await at_the_story_question(running_bot)

    commits, calls = await measured(
        running_bot,
        meter,
        lambda: person.say_then("My manager shouted at me.", "Roughly when did it happen?"),
    )
    # The batch, the step (with the person's message id, kept for Quick exit, and the outbox
    # row of what it will send) and, after the new question is sent, its message id (so that
    # Quick exit deletes it too) with the row's removal.
    assert commits == 3, commits
    assert calls == {"sendMessage": 1, "editMessageReplyMarkup": 1}, calls


async def test_a_typed_message_is_kept_for_quick_exit_by_the_step_itself(
    running_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a person typed (their story) must be deletable by Quick exit even if the bot dies
    while the answer is still being sent: its id is written with the step, not after."""
    person = await at_the_story_question(running_bot)

    async def lost(self: MessageTracker, chat_id: int, ids: list[int | None]) -> None:
        return  # as if the process died before the update's closing transaction

    monkeypatch.setattr(MessageTracker, "record", lost)
    typed = await person.say("My manager shouted at me.")
    await person.expect("Roughly when did it happen?")
    store = running_bot.application.services.store
    found = await store.people.find(person.id)
    assert found is not None
    kept = await store.chat_messages.take(found.id)
    assert typed["message_id"] in kept
