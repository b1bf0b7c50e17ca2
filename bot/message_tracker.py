"""Remembering, encrypted, which messages of a private chat the bot can still delete: every
message the bot sends there (seen at the outbox) and every message the person sends."""

from __future__ import annotations

from typing import Any

from bot.logs import EventLogger
from bot.safety import reschedule_cleanup
from bot.update_unit import UpdateUnit
from storage.repositories.base import Tx
from storage.repositories.people import Person
from storage.store import Store

_log = EventLogger("tracker")
TRACKED = frozenset(
    {
        "sendMessage",
        "copyMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendVideo",
        "sendSticker",
        "sendAudio",
        "sendAnimation",
        "sendLocation",
    }
)


class MessageTracker:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def sent(self, endpoint: str, data: dict[str, Any], result: object) -> None:
        """The outbox's hook, called after every successful call."""
        if endpoint not in TRACKED or not isinstance(result, dict):
            return
        try:
            chat_id = int(data.get("chat_id", 0))
        except (TypeError, ValueError):
            return
        message_id = result.get("message_id")
        if chat_id > 0 and isinstance(message_id, int):
            await self.record(chat_id, [message_id])

    async def record(self, chat_id: int, message_ids: list[int | None]) -> None:
        """Within an update, collected for the update's one closing transaction; outside one
        (a timer), written at once."""
        ids = [m for m in message_ids if m is not None]
        if not ids:
            return
        unit = UpdateUnit.current()
        if unit is not None:
            unit.track(chat_id, ids)
            return
        try:
            async with self.store.db.transaction() as tx:
                await self.write(chat_id, ids, tx)
        except Exception as exc:
            _log.error("message_not_tracked", exc)

    async def write(self, chat_id: int, ids: list[int], tx: Tx) -> None:
        person = await self.store.people.find(chat_id, tx)
        if person is not None:
            await keep_for_quick_exit(self.store, person, ids, tx)


async def keep_for_quick_exit(store: Store, person: Person, ids: list[int], tx: Tx) -> None:
    """Remember message ids of ``person``'s chat (encrypted) and, if they asked for it, move
    the chat's automatic clean-up to after the newest."""
    await store.chat_messages.record(person.id, ids, tx)
    hours = int(person.consents.get("cleanup_hours", 0) or 0)
    if hours:
        await reschedule_cleanup(store, person.id, hours, tx)
