"""Automatic chat clean-up: the person chose to have the chat cleared some hours after its
latest message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.logs import EventLogger
from storage.repositories.base import Tx
from storage.store import Store

_log = EventLogger("safety")
CLEANUP = "cleanup"


async def reschedule_cleanup(store: Store, person_id: str, hours: int, tx: Tx) -> None:
    """Clear the chat ``hours`` after its latest message (never past Telegram's 48 hours)."""
    await store.schedule.cancel(person_id=person_id, kind=CLEANUP, tx=tx)
    if hours > 0:
        await store.schedule.add(
            CLEANUP, datetime.now(UTC) + timedelta(hours=hours), {}, person_id=person_id, tx=tx
        )
