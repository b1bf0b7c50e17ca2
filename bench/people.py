"""Simulated people, acting directly on the emulator's state in its own event loop.

A person's step is one update (a text or a button press). The step is over when the person
sees the bot's answer: for clgbt, the next screen (its newest bot message holds the expected
words); for the echo bot, its ``sendMessage`` after a text or its ``answerCallbackQuery``
after a press. :class:`Watch` hears every Bot API call the emulator executes (its change
listeners run right after each call, synchronously) and resolves the waiting step of the chat
the call was for, so waiting costs nothing between calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sandbox import actions
from sandbox.state import TelegramState

Kind = Literal["clgbt", "echo"]


@dataclass(frozen=True)
class Step:
    """Type ``text`` (``press`` is None) or press the button labelled ``press``; then wait for
    the newest bot message to contain ``expect`` (clgbt)."""

    expect: str
    text: str | None = None
    press: str | None = None


def say(text: str, expect: str) -> Step:
    return Step(expect, text=text)


def tap(label: str, expect: str) -> Step:
    return Step(expect, press=label)


WELCOME = (
    say("/start", "Please choose a language"),
    tap("English", "Before we start"),
    tap("Continue", "What would you like to do?"),
)
# /start, language, privacy notice, menu, an article, back to the menu, the intake's start
# with buttons and one free-text answer: 11 updates.
FULL_FLOW = (
    *WELCOME,
    tap("Know your rights", "Choose a topic"),
    tap("Adoption", "Two kinds of adoption"),
    tap("☰ Menu", "What would you like to do?"),
    tap("Tell us what happened", "We will ask a few short questions"),
    tap("Yes, keep a record", "What was it about?"),
    tap("Work", "Why do you think it happened?"),
    tap("Skip", "In your own words"),
    say("They treated me badly at work because of who I am", "Roughly when did it happen?"),
)
SHORT_FLOW = WELCOME

Check = Callable[[], bool]


class Watch:
    """Resolves each chat's waiting step when a Bot API call makes its check true."""

    def __init__(self, state: TelegramState) -> None:
        self.state = state
        self._by_chat: dict[int, tuple[Check, asyncio.Future[float]]] = {}
        self._by_query: dict[int, tuple[Check, asyncio.Future[float]]] = {}
        state.change_listeners.append(self._changed)

    def close(self) -> None:
        self.state.change_listeners.remove(self._changed)

    def _changed(self) -> None:
        if not self.state.calls:
            return
        call = self.state.calls[-1]
        if call.chat_id is not None:
            try:
                chat = int(call.chat_id)
            except (TypeError, ValueError):
                return
            self._check(self._by_chat, chat)
        elif call.method.lower() == "answercallbackquery":
            for chat in list(self._by_query):
                self._check(self._by_query, chat)

    @staticmethod
    def _check(table: dict[int, tuple[Check, asyncio.Future[float]]], chat: int) -> None:
        waiting = table.get(chat)
        if waiting is None:
            return
        check, future = waiting
        if not future.done() and check():
            future.set_result(time.perf_counter())
            del table[chat]

    def wait(self, chat: int, check: Check, *, on_answer: bool = False) -> asyncio.Future[float]:
        """A future with the ``perf_counter`` time at which ``check`` became true."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if check():
            future.set_result(time.perf_counter())
            return future
        (self._by_query if on_answer else self._by_chat)[chat] = (check, future)
        return future

    def forget(self, chat: int) -> None:
        self._by_chat.pop(chat, None)
        self._by_query.pop(chat, None)


def newest_bot_text(state: TelegramState, chat: int) -> str:
    bot = state.bot.id
    for message in reversed(state.messages.get(chat, {}).values()):
        if message.sender_id == bot and not message.deleted:
            return message.text or message.caption or ""
    return ""


class Person:
    """One simulated person; :meth:`act` performs one step and returns when it is answered."""

    def __init__(self, state: TelegramState, watch: Watch, kind: Kind, number: int) -> None:
        self.state = state
        self.watch = watch
        self.kind = kind
        self.id = state.add_user(f"Person{number}", language_code="en").id
        self.first_message = 0

    def send(self, step: Step) -> asyncio.Future[float]:
        """Send the step's update now; the future resolves when its answer is seen."""
        state = self.state
        if self.kind == "clgbt":
            if step.text is not None:
                actions.send_text(state, self.id, step.text)
            else:
                actions.press(state, self.id, str(step.press))
            expect = step.expect
            return self.watch.wait(self.id, lambda: expect in newest_bot_text(state, self.id))
        if step.text is not None:
            sent = int(actions.send_text(state, self.id, step.text)["message_id"])
            self.first_message = self.first_message or sent
            return self.watch.wait(self.id, lambda: self._bot_wrote_after(sent))
        query = actions.press_forged(state, self.id, self.first_message or 1, "x")
        return self.watch.wait(
            self.id,
            lambda: bool(state.callback_queries[query]["answered"]),
            on_answer=True,
        )

    def _bot_wrote_after(self, message_id: int) -> bool:
        messages = self.state.messages.get(self.id, {})
        for message in reversed(messages.values()):
            if message.message_id <= message_id:
                return False
            if message.sender_id == self.state.bot.id:
                return True
        return False

    async def act(self, step: Step, within: float) -> float:
        """Send the step and wait for its answer; the latency in seconds."""
        started = time.perf_counter()
        future = self.send(step)
        try:
            answered = await asyncio.wait_for(future, within)
        except TimeoutError:
            self.watch.forget(self.id)
            raise
        return answered - started
