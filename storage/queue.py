"""The waiting queue for counsellors: a waiting case carries when it started waiting
(encrypted) and one pending alert for coordinators; taking the case clears both."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.repositories.base import Tx
from storage.store import Store

QUEUE_ALERT = "queue_alert"


async def enqueue(
    store: Store, case_id: str, code: str, *, now: datetime, alert_minutes: int, tx: Tx
) -> None:
    """The case waits from ``now``; coordinators are alerted after ``alert_minutes``."""
    await store.cases.set_waiting_since(case_id, now, tx)
    await store.schedule.cancel(case_id=case_id, kind=QUEUE_ALERT, tx=tx)
    await store.schedule.add(
        QUEUE_ALERT, now + timedelta(minutes=alert_minutes), {"code": code}, case_id=case_id, tx=tx
    )


async def dequeue(store: Store, case_id: str, tx: Tx | None = None) -> None:
    await store.schedule.cancel(case_id=case_id, kind=QUEUE_ALERT, tx=tx)
    await store.cases.set_waiting_since(case_id, None, tx)


async def waited_minutes(store: Store, case_id: str, now: datetime) -> int:
    since = await store.cases.waiting_since(case_id)
    return int((now - since).total_seconds() // 60) if since else 0
