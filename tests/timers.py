"""Bring a pending timer's time forward, as if the hours or days had passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.store import Store


async def make_due(store: Store, kind: str, *, case_id: str | None = None) -> int:
    """Every pending timer of ``kind`` (of one case, if given) is now a second overdue."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    moved = 0
    for action in await store.schedule.pending(kind):
        if case_id is None or action.case_id == case_id:
            await store.schedule.reschedule(action.id, past)
            moved += 1
    assert moved, f"no pending {kind} timer"
    return moved
