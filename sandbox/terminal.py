"""A terminal chat with the bot through the emulator.

The newcomer starts as a community member. Type a message and press Enter; type a button's
number to press it; ``/quit`` or Ctrl-D leaves. New, edited and deleted messages are printed
as they happen. With the sandbox's staff side, ``/as NAME`` switches who you are (the person, a
counsellor, the coordinator), ``/topics`` and ``/topic N`` move between case topics of the staff
group, ``/go group|coordinators`` changes chat, and ``/where`` says where you are.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import Any, TextIO

from sandbox.client import ControlError, SandboxClient
from sandbox.world import COORDINATOR, World

BANNER = """\
──────────────────────────────────────────────────────────────────────
 clgbt sandbox: a pretend Telegram running only on this computer.
 You are a community member chatting with the bot. Nothing leaves
 this machine, and everything is forgotten when you leave.
 Type a message and press Enter. Type a number to press a button.
 Try /start. Type /quit (or press Ctrl-D) to leave.
──────────────────────────────────────────────────────────────────────"""

STAFF_HELP = """\
 Staff side: /as {names} switches who you are.
 As staff: /topics lists the case topics, /topic N enters one, /general leaves it,
 /go group or /go coordinators changes chat, /where tells where you are."""

GENERAL = 1  # the General topic of a forum group


def render(message: dict[str, Any]) -> tuple[str, list[str]]:
    """The text a person would see, and the labels of the inline buttons in order."""
    text = message.get("text") or message.get("caption") or ""
    for kind in ("photo", "document", "voice", "video", "sticker", "audio", "animation"):
        if kind in message:
            text = f"[{kind}] {text}".strip()
    if "location" in message:
        text = "[location]"
    if "forum_topic_created" in message:
        text = f"[topic created: {message['forum_topic_created'].get('name', '')}]"
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    labels = [str(button.get("text", "")) for row in rows for button in row]
    return text, labels


class TerminalChat:
    def __init__(
        self,
        client: SandboxClient,
        user_id: int,
        *,
        out: TextIO = sys.stdout,
        read_line: Callable[[], str] = sys.stdin.readline,
        world: World | None = None,
        start_as: str | None = None,
        checklist: Callable[[], list[str]] | None = None,
    ) -> None:
        self.client = client
        self.person_id = user_id
        self.user_id = user_id
        self.who = "the person"
        self.chat_id: int | None = None  # None: your own private chat with the bot
        self.thread_id: int | None = None
        self.world = world
        self.start_as = start_as
        self.checklist = checklist
        self.out = out
        self.read_line = read_line
        self.seen: dict[int, tuple[str, list[str]]] = {}
        self.buttons: list[tuple[int, str]] = []
        self.topics: list[dict[str, Any]] = []
        self.known_topics: set[int] = set()
        self._lock = asyncio.Lock()

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    async def run(self) -> None:
        self.say(BANNER)
        if self.world is not None:
            names = "|".join(["person", *(m.alias.lower() for m in self.world.members)])
            self.say(STAFF_HELP.format(names=names))
        if self.checklist is not None:
            self.say(" A training scenario is running: /checklist shows how you are doing.")
        if self.start_as is not None:
            await self.handle(f"/as {self.start_as}")
        watcher = asyncio.create_task(self._watch())
        try:
            while True:
                line = await asyncio.to_thread(self.read_line)
                if not line:
                    break
                if not await self.handle(line.rstrip("\n")):
                    break
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            self.say("You have left the sandbox. Goodbye.")

    async def handle(self, line: str) -> bool:
        """Act on one typed line; return False when the person wants to leave."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/q"):
            return False
        if self.world is not None and await self._sandbox_command(text):
            return True
        try:
            if text.isdigit() and 1 <= int(text) <= len(self.buttons):
                message_id, label = self.buttons[int(text) - 1]
                await self.client.press(
                    self.user_id, label, chat_id=self.chat_id, message_id=message_id
                )
            else:
                await self.client.send_text(
                    self.user_id,
                    text,
                    chat_id=self.chat_id,
                    thread_id=None if self.thread_id == GENERAL else self.thread_id,
                )
        except ControlError as exc:
            self.say(f"   (the sandbox refused that: {exc.description})")
        await asyncio.sleep(0.3)
        await self.refresh()
        return True

    # ------------------------------------------------------------------ who and where
    async def _sandbox_command(self, text: str) -> bool:
        """The terminal's own commands for the staff side; False if ``text`` is not one."""
        world = self.world
        assert world is not None
        command, _, rest = text.partition(" ")
        rest = rest.strip()
        if command == "/as":
            if rest.lower() in ("person", "the person", "me"):
                await self._become(self.person_id, "the person", None, None)
                return True
            member = world.member(rest)
            if member is None:
                names = ", ".join(["person", *(m.alias for m in world.members)])
                self.say(f"   (no one called {rest!r} here; try one of: {names})")
                return True
            chat = (
                world.coordinator_chat_id if member.role == COORDINATOR else world.staff_group_id
            )
            thread = GENERAL if chat == world.staff_group_id else None
            await self._become(member.user_id, f"{member.alias} ({member.role})", chat, thread)
            return True
        if command == "/where":
            self.say(self.where())
            return True
        if command == "/checklist" and self.checklist is not None:
            for line in self.checklist():
                self.say(line)
            return True
        if self.user_id == self.person_id and command in ("/topics", "/topic", "/general", "/go"):
            self.say("   (that is for staff: /as a counsellor first)")
            return True
        if command == "/topics":
            await self._list_topics()
            return True
        if command == "/topic":
            await self._enter_topic(rest)
            return True
        if command == "/general":
            await self._move(world.staff_group_id, GENERAL)
            return True
        if command == "/go":
            if rest in ("group", "staff"):
                await self._move(world.staff_group_id, GENERAL)
            elif rest.startswith("coord"):
                await self._move(world.coordinator_chat_id, None)
            else:
                self.say("   (use /go group or /go coordinators)")
            return True
        return False

    def where(self) -> str:
        place = "your private chat with the bot"
        if self.world is not None and self.chat_id == self.world.staff_group_id:
            place = "the staff group › General"
            if self.thread_id not in (None, GENERAL):
                name = next(
                    (t["name"] for t in self.topics if t["message_thread_id"] == self.thread_id),
                    str(self.thread_id),
                )
                place = f"the staff group › topic “{name}”"
        elif self.world is not None and self.chat_id == self.world.coordinator_chat_id:
            place = "the coordinators' chat"
        return f"── You are {self.who}, in {place}. ──"

    async def _become(
        self, user_id: int, who: str, chat_id: int | None, thread_id: int | None
    ) -> None:
        self.user_id = user_id
        self.who = who
        await self._move(chat_id, thread_id)

    async def _move(self, chat_id: int | None, thread_id: int | None) -> None:
        async with self._lock:
            self.chat_id = chat_id
            self.thread_id = thread_id
            self.seen = {}
            self.buttons = []
            if self.world is not None:
                self.topics = await self.client.topics(self.world.staff_group_id)
                self.known_topics |= {int(t["message_thread_id"]) for t in self.topics}
            self.say(self.where())
            if chat_id is not None and self.world is not None and self.topics:
                self.say(f"   {len(self.topics)} case topic(s): /topics lists them.")
            await self._refresh(context=5)

    async def _list_topics(self) -> None:
        assert self.world is not None
        self.topics = await self.client.topics(self.world.staff_group_id)
        if not self.topics:
            self.say("   (no case topics yet: as the person, ask for a counsellor)")
            return
        for index, topic in enumerate(self.topics, 1):
            closed = " (closed)" if topic.get("closed") else ""
            self.say(f"   [{index}] {topic['name']}{closed}")
        self.say("   Type /topic N to enter one.")

    async def _enter_topic(self, which: str) -> None:
        assert self.world is not None
        self.topics = await self.client.topics(self.world.staff_group_id)
        chosen = None
        if which.isdigit() and 1 <= int(which) <= len(self.topics):
            chosen = self.topics[int(which) - 1]
        else:
            chosen = next(
                (t for t in self.topics if which and which.upper() in t["name"].upper()), None
            )
        if chosen is None:
            self.say("   (no such topic; /topics lists them)")
            return
        await self._move(self.world.staff_group_id, int(chosen["message_thread_id"]))

    # ------------------------------------------------------------------ showing
    async def refresh(self) -> None:
        async with self._lock:
            await self._refresh()

    async def _refresh(self, context: int | None = None) -> None:
        chat = self.user_id if self.chat_id is None else self.chat_id
        messages = await self.client.messages(chat, self.thread_id)
        if context is not None:  # just arrived: mark older messages as seen
            for message in messages[:-context]:
                self.seen[message["message_id"]] = render(message)
        visible_ids = {m["message_id"] for m in messages}
        for gone in sorted(set(self.seen) - visible_ids):
            del self.seen[gone]
            self.say(f"   (message {gone} was deleted)")
        for message in messages:
            sender = message.get("from", {})
            if sender.get("id") == self.user_id:
                continue
            if self.chat_id is None and sender.get("is_bot") is not True:
                continue
            view = render(message)
            previous = self.seen.get(message["message_id"])
            if previous == view:
                continue
            self.seen[message["message_id"]] = view
            name = "bot" if sender.get("is_bot") else str(sender.get("first_name", "someone"))
            prefix = f"{name} (edited)>" if previous else f"{name}>"
            text, labels = view
            self.say(f"{prefix} {text}")
            if not labels and self.buttons and self.buttons[0][0] == message["message_id"]:
                self.buttons = []
            if labels:
                self.buttons = [(message["message_id"], label) for label in labels]
                self.say("   " + "   ".join(f"[{i}] {label}" for i, label in enumerate(labels, 1)))
        if self.world is not None and self.user_id != self.person_id:
            await self._announce_topics()

    async def _announce_topics(self) -> None:
        assert self.world is not None
        self.topics = await self.client.topics(self.world.staff_group_id)
        for index, topic in enumerate(self.topics, 1):
            thread = int(topic["message_thread_id"])
            if thread not in self.known_topics:
                self.known_topics.add(thread)
                if thread != self.thread_id:
                    self.say(f"   (new case topic [{index}] {topic['name']}: /topic {index})")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            with contextlib.suppress(ControlError, OSError):
                await self.refresh()
