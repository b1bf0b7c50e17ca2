"""A terminal chat with the bot through the emulator: the newcomer is a community member.

Type a message and press Enter; type a button's number to press it; ``/quit`` or Ctrl-D leaves.
New, edited and deleted bot messages are printed as they happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import Any, TextIO

from sandbox.client import ControlError, SandboxClient

BANNER = """\
──────────────────────────────────────────────────────────────────────
 clgbt sandbox: a pretend Telegram running only on this computer.
 You are a community member chatting with the bot. Nothing leaves
 this machine, and everything is forgotten when you leave.
 Type a message and press Enter. Type a number to press a button.
 Try /start. Type /quit (or press Ctrl-D) to leave.
──────────────────────────────────────────────────────────────────────"""


def render(message: dict[str, Any]) -> tuple[str, list[str]]:
    """The text a person would see, and the labels of the inline buttons in order."""
    text = message.get("text") or message.get("caption") or ""
    for kind in ("photo", "document", "voice", "video", "sticker", "audio", "animation"):
        if kind in message:
            text = f"[{kind}] {text}".strip()
    if "location" in message:
        text = "[location]"
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
    ) -> None:
        self.client = client
        self.user_id = user_id
        self.out = out
        self.read_line = read_line
        self.seen: dict[int, tuple[str, list[str]]] = {}
        self.buttons: list[tuple[int, str]] = []
        self._lock = asyncio.Lock()

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    async def run(self) -> None:
        self.say(BANNER)
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
        try:
            if text.isdigit() and 1 <= int(text) <= len(self.buttons):
                message_id, label = self.buttons[int(text) - 1]
                await self.client.press(self.user_id, label, message_id=message_id)
            else:
                await self.client.send_text(self.user_id, text)
        except ControlError as exc:
            self.say(f"   (the sandbox refused that: {exc.description})")
        await asyncio.sleep(0.3)
        await self.refresh()
        return True

    async def refresh(self) -> None:
        async with self._lock:
            await self._refresh()

    async def _refresh(self) -> None:
        messages = await self.client.messages(self.user_id)
        visible_ids = {m["message_id"] for m in messages}
        for gone in sorted(set(self.seen) - visible_ids):
            del self.seen[gone]
            self.say(f"   (message {gone} was deleted)")
        for message in messages:
            if message.get("from", {}).get("is_bot") is not True:
                continue
            view = render(message)
            previous = self.seen.get(message["message_id"])
            if previous == view:
                continue
            self.seen[message["message_id"]] = view
            prefix = "bot (edited)>" if previous else "bot>"
            text, labels = view
            self.say(f"{prefix} {text}")
            if not labels and self.buttons and self.buttons[0][0] == message["message_id"]:
                self.buttons = []
            if labels:
                self.buttons = [(message["message_id"], label) for label in labels]
                self.say("   " + "   ".join(f"[{i}] {label}" for i, label in enumerate(labels, 1)))

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            with contextlib.suppress(ControlError, OSError):
                await self.refresh()
