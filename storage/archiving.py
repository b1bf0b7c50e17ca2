"""Seal a closed case for the coordinators and erase the bot's readable copy. The archive
keeps no link to the person (see ``storage.repositories.archives``), so it never keeps their
row, and the chat id it would lead to, alive."""

from __future__ import annotations

import json
from typing import Any

from storage.repositories.cases import Case
from storage.sealing import CoordinatorPublicKey, seal
from storage.store import Store


async def case_document(store: Store, case: Case) -> dict[str, Any]:
    """Everything known about a case, as the archive (and ``clgbt review``) shows it."""
    events = await store.events.for_case(case.id)
    referrals = await store.referrals.for_case(case.id)
    return {
        "format": "clgbt-case-archive-v1",
        "code": case.code,
        "status": case.status,
        "category": case.category,
        "province": case.province,
        "perpetrator": case.perpetrator,
        "incident_month": case.incident_month,
        "urgent": case.urgent,
        "outcome": case.outcome,
        "opened_on": case.opened_on,
        "closed_on": case.closed_on,
        "answers": await store.cases.answers(case.id),
        "events": [
            {"on": e.occurred_on, "kind": e.kind, "by": e.actor, "text": e.body} for e in events
        ],
        "referrals": [
            {
                "code": r.code,
                "partner": r.partner,
                "status": r.status,
                "reason": r.reason,
                "summary": await store.referrals.summary(r.id),
            }
            for r in referrals
        ],
    }


async def seal_case(store: Store, case: Case, public_key: CoordinatorPublicKey) -> None:
    document = await case_document(store, case)
    sealed = seal(
        public_key,
        case.code,
        json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8"),
    )
    owner_tag = store.person_keys.get_or_create(case.person_id).tag_archive(case.code)
    async with store.db.transaction() as tx:
        await store.archives.add(case.code, sealed, owner_tag, tx)
        await store.cases.delete(case.id, tx)
