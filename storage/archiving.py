"""Seal closed cases for the coordinators and erase the bot's readable copy, in batches.

A batch is up to ``MAX_BATCH`` cases, handled in one transaction with a few statements
whatever its size: the cases, their events and their referrals are read with one query each;
every value is decrypted and each case's document built; the batch gets a fresh key, sealed
once to the coordinators (the batch's only key encapsulation), and each document is encrypted
under it with its case code and batch id bound (``storage.sealing``, format version 2); the
batch header and its archives are inserted with one statement each, and the cases deleted with
one (foreign keys take their events, referrals, relayed messages and timers with them). A
crash leaves either the whole batch sealed and erased, or none of it.

An archive keeps no link to the person (see ``storage.repositories.archives``), so it never
keeps their row, and the chat id it would lead to, alive."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from storage.db import Row
from storage.ids import new_row_id
from storage.repositories.archives import ArchiveInBatch
from storage.repositories.base import Tx
from storage.repositories.cases import Case
from storage.sealing import (
    MAX_BATCH,
    CoordinatorPublicKey,
    new_batch_key,
    seal_batch_key,
    seal_in_batch,
)
from storage.store import Store

DOCUMENT_FORMAT = "clgbt-case-archive-v1"
_CASE_COLUMNS = (
    "id, code, person_id, status, category, province, perpetrator, incident_month, urgent, "
    "outcome, topic_id, opened_on, closed_on, answers"
)
# A batch's case ids travel as one JSON array parameter: no limit on the number of variables.
_IN_BATCH = "IN (SELECT value FROM json_each(?))"

ByCase = dict[str, list[dict[str, Any]]]  # a batch's events or referrals, by case id


@dataclass(frozen=True)
class SealedCases:
    """What sealing did: how many cases, and the topics of those that had one."""

    count: int = 0
    topic_ids: tuple[int, ...] = ()
    failed: int = 0  # cases that could not be sealed (left as they are, and reported)

    def __add__(self, other: SealedCases) -> SealedCases:
        return SealedCases(
            self.count + other.count, self.topic_ids + other.topic_ids, self.failed + other.failed
        )


def case_document(
    case: Row,
    answers: dict[str, Any],
    events: list[dict[str, Any]],
    referrals: list[dict[str, Any]],
) -> dict[str, Any]:
    """Everything known about a case, as the archive (and ``clgbt review``) shows it."""
    return {
        "format": DOCUMENT_FORMAT,
        "code": case["code"],
        "status": case["status"],
        "category": case["category"],
        "province": case["province"],
        "perpetrator": case["perpetrator"],
        "incident_month": case["incident_month"],
        "urgent": bool(case["urgent"]),
        "outcome": case["outcome"],
        "opened_on": case["opened_on"],
        "closed_on": case["closed_on"],
        "answers": answers,
        "events": events,
        "referrals": referrals,
    }


def encode_document(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")


# ------------------------------------------------------------------ reading a batch
async def expired_cases(
    store: Store, closed_before: str, limit: int, tx: Tx, skip: Iterable[str] = ()
) -> list[Row]:
    """Up to ``limit`` closed cases closed before the day ``closed_before`` (but ``skip``)."""
    return await store.cases.fetch(
        f"SELECT {_CASE_COLUMNS} FROM cases "  # noqa: S608 - constant column list
        "WHERE status = 'closed' AND closed_on < ? "
        "AND id NOT IN (SELECT value FROM json_each(?)) LIMIT ?",
        (closed_before, json.dumps(sorted(skip)), limit),
        tx,
    )


async def count_expired(store: Store, closed_before: str) -> int:
    row = await store.db.fetchone(
        "SELECT count(*) AS n FROM cases WHERE status = 'closed' AND closed_on < ?",
        (closed_before,),
    )
    return int(row["n"]) if row else 0


async def _events_by_case(store: Store, case_ids: str, tx: Tx) -> ByCase:
    rows = await store.events.fetch(
        "SELECT id, case_id, kind, actor, occurred_on, body FROM case_events "  # noqa: S608
        f"WHERE case_id {_IN_BATCH} ORDER BY occurred_on, rowid",
        (case_ids,),
        tx,
    )
    events: ByCase = defaultdict(list)
    for r in rows:
        text = None if r["body"] is None else store.events.open_text("body", r["id"], r["body"])
        events[r["case_id"]].append(
            {"on": r["occurred_on"], "kind": r["kind"], "by": r["actor"], "text": text}
        )
    return events


async def _referrals_by_case(store: Store, case_ids: str, tx: Tx) -> ByCase:
    rows = await store.referrals.fetch(
        "SELECT id, case_id, code, partner, status, reason, summary FROM referrals "  # noqa: S608
        f"WHERE case_id {_IN_BATCH} ORDER BY created_on, rowid",
        (case_ids,),
        tx,
    )
    referrals: ByCase = defaultdict(list)
    for r in rows:
        referrals[r["case_id"]].append(
            {
                "code": r["code"],
                "partner": r["partner"],
                "status": r["status"],
                "reason": r["reason"],
                "summary": store.referrals.open_json("summary", r["id"], r["summary"]) or {},
            }
        )
    return referrals


async def documents_of(store: Store, cases: Sequence[Row], tx: Tx) -> list[dict[str, Any]]:
    """The documents of ``cases`` (rows of :func:`expired_cases`), decrypted, read with one
    query for all their events and one for all their referrals."""
    case_ids = json.dumps([c["id"] for c in cases])
    events = await _events_by_case(store, case_ids, tx)
    referrals = await _referrals_by_case(store, case_ids, tx)
    return [
        case_document(
            case,
            store.cases.open_json("answers", case["id"], case["answers"]) or {},
            events.get(case["id"], []),
            referrals.get(case["id"], []),
        )
        for case in cases
    ]


# ------------------------------------------------------------------ sealing a batch
def seal_batch(
    store: Store,
    cases: Sequence[Row],
    documents: Sequence[dict[str, Any]],
    public_key: CoordinatorPublicKey,
) -> tuple[str, bytes, list[ArchiveInBatch]]:
    """One batch id and key, the key sealed once to the coordinators (the batch header), and
    each document encrypted under it with its case code bound; each archive carries its
    person's owner tag, so their erasure still finds it."""
    if not 0 < len(cases) <= MAX_BATCH or len(cases) != len(documents):
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} cases, each with its document")
    batch_id, batch_key = new_row_id(), new_batch_key()
    header = seal_batch_key(public_key, batch_id, batch_key)
    archives = [
        ArchiveInBatch(
            case["code"],
            seal_in_batch(batch_key, batch_id, case["code"], encode_document(document)),
            store.person_keys.get_or_create(case["person_id"]).tag_archive(case["code"]),
        )
        for case, document in zip(cases, documents, strict=True)
    ]
    return batch_id, header, archives


async def seal_and_erase(
    store: Store, cases: Sequence[Row], public_key: CoordinatorPublicKey, tx: Tx
) -> SealedCases:
    """Seal ``cases`` as one batch and delete the readable copies, inside ``tx``."""
    documents = await documents_of(store, cases, tx)
    batch_id, header, archives = seal_batch(store, cases, documents, public_key)
    await store.archives.add_batch(batch_id, header, archives, tx)
    await tx.execute(
        f"DELETE FROM cases WHERE id {_IN_BATCH}",  # noqa: S608 - constant clause
        (json.dumps([c["id"] for c in cases]),),
    )
    return SealedCases(len(cases), tuple(c["topic_id"] for c in cases if c["topic_id"]))


async def seal_expired(
    store: Store,
    closed_before: str,
    public_key: CoordinatorPublicKey,
    batch_size: int = MAX_BATCH,
) -> SealedCases:
    """Seal and erase every closed case closed before ``closed_before``, one transaction per
    batch of ``batch_size`` (read under the write lock, so no case changes in between)."""
    if not 0 < batch_size <= MAX_BATCH:
        raise ValueError(f"the batch size is 1 to {MAX_BATCH}")
    done = SealedCases()
    skip: set[str] = set()
    while True:
        cases: list[Row] = []
        try:
            async with store.db.transaction() as tx:
                cases = await expired_cases(store, closed_before, batch_size, tx, skip)
                if cases:
                    done += await seal_and_erase(store, cases, public_key, tx)
        except Exception:
            done += await _seal_one_by_one(store, cases, public_key, skip)
        if len(cases) < batch_size:
            return done


async def _seal_one_by_one(
    store: Store, cases: list[Row], public_key: CoordinatorPublicKey, skip: set[str]
) -> SealedCases:
    """A batch failed: seal its cases one at a time, leaving (and counting) those that
    fail again, so that the rest are sealed and the purge goes on."""
    done = SealedCases()
    for case in cases:
        try:
            async with store.db.transaction() as tx:
                done += await seal_and_erase(store, [case], public_key, tx)
        except Exception:
            skip.add(str(case["id"]))
            done += SealedCases(failed=1)
    return done


async def seal_case(store: Store, case: Case, public_key: CoordinatorPublicKey) -> None:
    """Seal one case now (a batch of one), whatever its status."""
    async with store.db.transaction() as tx:
        rows = await store.cases.fetch(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ?",  # noqa: S608 - constant columns
            (case.id,),
            tx,
        )
        if rows:
            await seal_and_erase(store, rows, public_key, tx)
