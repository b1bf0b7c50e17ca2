"""A typed client for the emulator's control interface, used by tests and the terminal chat."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx


class ControlError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class SandboxClient:
    """Act as people in the emulated Telegram and read what the bot did."""

    def __init__(self, control_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=control_url, timeout=30.0)

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, action: str, **body: Any) -> Any:
        payload = {k: v for k, v in body.items() if v is not None}
        response = await self._http.post(f"/{action}", json=payload)
        data = response.json()
        if not data.get("ok"):
            raise ControlError(
                int(data.get("error_code", response.status_code)), str(data.get("description"))
            )
        return data["result"]

    # ---------------------------------------------------------------- setting up
    async def add_user(
        self, first_name: str, last_name: str = "", username: str = "", language_code: str = "en"
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "users",
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        return result

    async def add_forum_group(
        self, title: str, members: list[int], admins: list[int] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "groups", title=title, members=members, admins=admins or []
        )
        return result

    async def inject_fault(
        self,
        method: str,
        error_code: int = 0,
        *,
        retry_after: int | None = None,
        count: int = 1,
        kind: str = "error",
        delay: float = 0.0,
    ) -> None:
        await self._call(
            "fault",
            method=method,
            error_code=error_code,
            retry_after=retry_after,
            count=count,
            kind=kind,
            delay=delay,
        )

    async def outage(self, seconds: float) -> None:
        """Every Bot API call fails for ``seconds`` from now."""
        await self._call("outage", seconds=seconds)

    async def answers_lost(self) -> list[list[Any]]:
        """Calls the emulator executed but whose answer it dropped (method, chat, message)."""
        result: list[list[Any]] = await self._call("answers_lost")
        return result

    async def close_topic_by_hand(self, chat_id: int, thread_id: int) -> None:
        await self._call("topic_by_hand", chat_id=chat_id, thread_id=thread_id, what="close")

    async def delete_topic_by_hand(self, chat_id: int, thread_id: int) -> None:
        await self._call("topic_by_hand", chat_id=chat_id, thread_id=thread_id, what="delete")

    async def raw_update(self, kind: str, payload: dict[str, Any]) -> int:
        return int(await self._call("raw_update", kind=kind, payload=payload))

    async def advance_clock(self, seconds: float) -> float:
        return float(await self._call("clock", advance_seconds=seconds))

    # ---------------------------------------------------------------- acting as a person
    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "send",
            user_id=user_id,
            text=text,
            chat_id=chat_id,
            thread_id=thread_id,
            reply_to=reply_to,
        )
        return result

    async def send_media(
        self,
        user_id: int,
        kind: str,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
        sample: str | None = None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "media",
            user_id=user_id,
            kind=kind,
            caption=caption,
            chat_id=chat_id,
            thread_id=thread_id,
            reply_to=reply_to,
            sample=sample,
        )
        return result

    async def send_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        *,
        chat_id: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "location",
            user_id=user_id,
            latitude=latitude,
            longitude=longitude,
            chat_id=chat_id,
            thread_id=thread_id,
        )
        return result

    async def edit_text(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "edit", user_id=user_id, message_id=message_id, text=text, chat_id=chat_id
        )
        return result

    async def press(
        self,
        user_id: int,
        label: str,
        *,
        chat_id: int | None = None,
        message_id: int | None = None,
    ) -> str:
        return str(
            await self._call(
                "press", user_id=user_id, label=label, chat_id=chat_id, message_id=message_id
            )
        )

    async def press_forged(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> str:
        return str(
            await self._call(
                "press_forged", user_id=user_id, message_id=message_id, data=data, chat_id=chat_id
            )
        )

    # ---------------------------------------------------------------- reading
    async def messages(self, chat_id: int, thread_id: int | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call(
            "messages", chat_id=chat_id, thread_id=thread_id
        )
        return result

    async def history(self, chat_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("history", chat_id=chat_id)
        return result

    async def topics(self, chat_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("topics", chat_id=chat_id)
        return result

    async def deletions(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("deletions", chat_id=chat_id)
        return result

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("calls", method=method)
        return result

    async def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self._call("answer", query_id=query_id)
        return result

    async def world(self) -> dict[str, Any]:
        """What the sandbox set up: the person, staff, their roles and the chats."""
        result: dict[str, Any] = await self._call("world")
        return result

    async def profile(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("profile")
        return result

    async def wait_for(
        self,
        chat_id: int,
        predicate: Callable[[list[dict[str, Any]]], bool],
        *,
        thread_id: int | None = None,
        within: float = 10.0,
    ) -> list[dict[str, Any]]:
        """Poll a chat until ``predicate(messages)`` holds; raise ``TimeoutError`` otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            current = await self.messages(chat_id, thread_id)
            if predicate(current):
                return current
            if loop.time() > deadline:
                texts = [m.get("text") or m.get("caption") for m in current[-5:]]
                raise TimeoutError(f"condition not met in chat {chat_id}; last: {texts}")
            await asyncio.sleep(0.02)

    async def wait_for_answer(self, query_id: str, within: float = 10.0) -> dict[str, Any]:
        """Wait until the bot has answered a button press; return the answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            answer = await self.callback_answer(query_id)
            if answer is not None:
                return answer
            if loop.time() > deadline:
                raise TimeoutError(f"button press {query_id} was never answered")
            await asyncio.sleep(0.02)

    async def wait_for_text(
        self, chat_id: int, fragment: str, *, thread_id: int | None = None, within: float = 10.0
    ) -> dict[str, Any]:
        """Wait for a message containing ``fragment`` and return the newest such message."""

        def has(messages: list[dict[str, Any]]) -> bool:
            return any(fragment in (m.get("text") or m.get("caption") or "") for m in messages)

        found = await self.wait_for(chat_id, has, thread_id=thread_id, within=within)
        return [m for m in found if fragment in (m.get("text") or m.get("caption") or "")][-1]
