"""A person in the emulated Telegram, driven the way a test reads: press, type, expect."""

from __future__ import annotations

import asyncio
from typing import Any

from sandbox.client import ControlError, SandboxClient


class Person:
    def __init__(self, client: SandboxClient, user: dict[str, Any]) -> None:
        self.client = client
        self.user = user
        self.id = int(user["id"])

    @classmethod
    async def join(
        cls,
        client: SandboxClient,
        first_name: str = "Sokha",
        last_name: str = "Chan",
        username: str = "sokha_c",
    ) -> Person:
        return cls(client, await client.add_user(first_name, last_name, username))

    async def start_in_english(self, within: float = 10.0) -> None:
        """/start, choose English, read the privacy notice, arrive at the main menu
        (``within``: how long the first answer may take, e.g. while a bot process starts)."""
        await self.say("/start")
        await self.expect("Please choose a language", within=within)
        await self.choose("English", "Before we start")
        await self.choose("Continue", "What would you like to do?")

    async def to_the_story_question(self) -> None:
        """From the main menu, through the intake's first answers to "In your own words"."""
        await self.choose("Tell us what happened", "Do you agree")
        await self.choose("Yes, keep a record", "What was it about?")
        await self.choose("Work", "Why do you think it happened?")
        await self.choose("Skip", "In your own words")

    async def say(self, text: str) -> dict[str, Any]:
        return await self.client.send_text(self.id, text)

    async def press(self, label: str, within: float = 10.0) -> str:
        """Press the button as soon as it is on screen, as a person would."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            try:
                return await self.client.press(self.id, label)
            except ControlError as exc:
                if "no button labelled" not in exc.description or loop.time() > deadline:
                    raise
            await asyncio.sleep(0.02)

    async def expect(self, fragment: str, within: float = 10.0) -> dict[str, Any]:
        return await self.client.wait_for_text(self.id, fragment, within=within)

    async def say_then(self, text: str, fragment: str, within: float = 10.0) -> dict[str, Any]:
        """Type ``text`` and wait for a *new* bot message containing ``fragment``."""
        sent = await self.say(text)

        def arrived(messages: list[dict[str, Any]]) -> bool:
            return any(
                m["message_id"] > sent["message_id"] and fragment in (m.get("text") or "")
                for m in messages
            )

        found = await self.client.wait_for(self.id, arrived, within=within)
        return [
            m
            for m in found
            if m["message_id"] > sent["message_id"] and fragment in (m.get("text") or "")
        ][-1]

    async def screen(self, within: float = 10.0) -> dict[str, Any]:
        """The newest bot message that has buttons (waiting while one is being replaced)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            for message in reversed(await self.client.messages(self.id)):
                if message.get("reply_markup") and message.get("from", {}).get("is_bot"):
                    return message
            if loop.time() > deadline:
                raise AssertionError("no screen with buttons")
            await asyncio.sleep(0.02)

    async def buttons(self) -> list[str]:
        screen = await self.screen()
        return [b["text"] for row in screen["reply_markup"]["inline_keyboard"] for b in row]

    async def choose(self, label: str, then: str, within: float = 10.0) -> dict[str, Any]:
        await self.press(label, within=within)
        return await self.expect(then, within=within)

    async def messages(self) -> list[dict[str, Any]]:
        return await self.client.messages(self.id)
