"""The only writes of a case's status and the person's presence: each one is checked against
the tables in :mod:`casework.model` first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casework.model import (
    CaseStatus,
    Presence,
    ReferralStatus,
    check_case,
    check_presence,
    check_referral,
)
from storage.queue import dequeue, enqueue
from storage.repositories.base import Tx
from storage.repositories.cases import Case
from storage.repositories.referrals import Referral
from storage.store import Store


async def move(
    store: Store,
    tx: Tx,
    case: Case,
    *,
    status: CaseStatus | None = None,
    presence: Presence | None = None,
    **fields: Any,
) -> Case:
    """Change a case's status and/or presence (and other clear columns) if the tables allow
    it; returns the case as stored afterwards."""
    changes = dict(fields)
    if status is not None:
        check_case(CaseStatus(case.status), status)
        changes["status"] = status.value
    if presence is not None:
        check_presence(Presence(case.presence), presence)
        changes["relay"] = int(presence)
    if changes:
        await store.cases.update(case.id, tx, **changes)
    fresh = await store.cases.get(case.id, tx)
    if fresh is None:  # pragma: no cover - the row was read in this transaction
        raise LookupError("case vanished inside its transaction")
    return fresh


async def wait(
    store: Store, tx: Tx, case: Case, *, now: datetime, alert_minutes: int, **fields: Any
) -> Case:
    """Put the case in the queue from ``now``, with its queue alert timer."""
    moved = await move(store, tx, case, status=CaseStatus.WAITING, **fields)
    await enqueue(store, case.id, case.code, now=now, alert_minutes=alert_minutes, tx=tx)
    return moved


async def close(store: Store, tx: Tx, case: Case, outcome: str | None) -> Case:
    check_case(CaseStatus(case.status), CaseStatus.CLOSED)
    if case.presence != Presence.NONE:
        check_presence(Presence(case.presence), Presence.NONE)
    await store.cases.close(case.id, outcome, tx)
    await dequeue(store, case.id, tx)
    await store.schedule.cancel(case_id=case.id, tx=tx)
    fresh = await store.cases.get(case.id, tx)
    return fresh or case


async def move_referral(
    store: Store,
    referral: Referral,
    status: ReferralStatus,
    reason: str | None = None,
    tx: Tx | None = None,
) -> None:
    """Change a referral's status if the table allows it, checked against what is stored (the
    caller's copy may be older)."""
    current = await store.referrals.get_by_code(referral.code, tx)
    if current is None:
        raise LookupError("the referral is gone")
    check_referral(ReferralStatus(current.status), status)
    await store.referrals.set_status(referral.id, status.value, reason, tx)
