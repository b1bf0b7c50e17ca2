"""Purge seals in batches: one key encapsulation per batch of 1,000 cases, a few statements
per batch, each archive bound to its case and batch; version 1 archives still open."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import storage.archiving
from storage.db import Database
from storage.erasure import erase_person
from storage.keyring import Keyring
from storage.migrations import MIGRATIONS
from storage.retention import RetentionPolicy, purge
from storage.review import ArchiveEntry, list_archives, open_archive, open_entry
from storage.sealing import (
    MAX_BATCH,
    CoordinatorPrivateKey,
    CoordinatorPublicKey,
    SealingError,
    open_batch_key,
    open_in_batch,
    seal,
    seal_in_batch,
)
from storage.store import Store
from tests.storage.conftest import FakeClock

PRIVATE = CoordinatorPrivateKey.generate()
PUBLIC = PRIVATE.public_key()
POLICY = RetentionPolicy(idle_flow_run_days=30, closed_case_days=90)
BEFORE_BATCHES = tuple(m for m in MIGRATIONS if m.name < "0009")


async def closed_cases(store: Store, count: int, per_person: int = 10) -> dict[str, Any]:
    """``count`` closed cases with an event each and a referral for every third one; the
    documents their archives must hold, by case code (built here, not by the code tested)."""
    expected: dict[str, Any] = {}
    async with store.db.transaction() as tx:
        for first in range(0, count, per_person):
            person, _ = await store.people.get_or_create(first, first, tx=tx)
            for n in range(first, min(first + per_person, count)):
                case = await store.cases.create(
                    person.id, {"what": f"story {n}", "n": n}, category="work", tx=tx
                )
                await store.events.add(case.id, "note", "Dara", f"note ✓ {n}", tx=tx)
                referrals = []
                if n % 3 == 0:
                    referral = await store.referrals.create(case.id, "RHAC", {"n": n}, tx=tx)
                    referrals.append(
                        {
                            "code": referral.code,
                            "partner": "RHAC",
                            "status": "proposed",
                            "reason": None,
                            "summary": {"n": n},
                        }
                    )
                await store.cases.close(case.id, "resolved", tx)
                expected[case.code] = {
                    "format": "clgbt-case-archive-v1",
                    "code": case.code,
                    "status": "closed",
                    "category": "work",
                    "province": None,
                    "perpetrator": None,
                    "incident_month": None,
                    "urgent": False,
                    "outcome": "resolved",
                    "opened_on": case.opened_on,
                    "closed_on": store.cases.today().isoformat(),
                    "answers": {"what": f"story {n}", "n": n},
                    "events": [
                        {"on": case.opened_on, "kind": "note", "by": "Dara", "text": f"note ✓ {n}"}
                    ],
                    "referrals": referrals,
                }
    return expected


def count_encapsulations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The batch ids whose key was sealed to the coordinators (the only HPKE use left)."""
    calls: list[str] = []
    real = storage.archiving.seal_batch_key

    def counting(public_key: CoordinatorPublicKey, batch_id: str, batch_key: bytes) -> bytes:
        calls.append(batch_id)
        return real(public_key, batch_id, batch_key)

    monkeypatch.setattr(storage.archiving, "seal_batch_key", counting)
    return calls


async def count_statements(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements sent to the database's connection (an ``executemany`` counts once)."""
    async with store.db.transaction() as tx:
        connection = type(tx)
    sent: list[str] = []
    for name in ("execute", "executemany", "execute_fetchall"):
        real = getattr(connection, name)

        def counting(self: object, sql: str, *args: Any, _real: Any = real) -> Any:
            sent.append(sql)
            return _real(self, sql, *args)

        monkeypatch.setattr(connection, name, counting)
    return sent


async def test_purge_seals_in_batches(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = await closed_cases(store, 2_500)
    clock.advance(days=100)
    encapsulations = count_encapsulations(monkeypatch)
    statements = await count_statements(store, monkeypatch)

    report = await purge(store, POLICY, clock().date(), PUBLIC)

    assert report.cases_sealed == 2_500 and report.cases_awaiting_key == 0
    assert MAX_BATCH == 1_000 and len(encapsulations) == 3, "one encapsulation per batch"
    assert 0 < len(statements) < 60, "a few statements per batch, not several per case"
    batches = await store.db.fetchall("SELECT id FROM sealed_batches")
    assert sorted(r["id"] for r in batches) == sorted(encapsulations)
    assert await store.cases.count() == 0, "the readable copies are erased"
    for table in ("case_events", "referrals"):
        row = await store.db.fetchone(f"SELECT count(*) AS n FROM {table}")
        assert row is not None and row["n"] == 0, table
    assert report.people == 250, "people with nothing left go, archives or not"

    entries = list_archives(store.db.path)
    per_batch = Counter(e.batch_id for e in entries)
    assert set(per_batch) == set(encapsulations)
    assert sorted(per_batch.values()) == [500, 1_000, 1_000]
    batch_keys: dict[str, bytes] = {}
    opened = {e.case_code: open_archive(e, PRIVATE, batch_keys) for e in entries}
    assert opened == expected, "every archive opens to its exact document"
    assert len(batch_keys) == 3


async def test_an_archive_opens_only_for_its_own_case_and_batch(
    store: Store, clock: FakeClock
) -> None:
    await closed_cases(store, 4)
    clock.advance(days=100)
    assert (await purge(store, POLICY, clock().date(), PUBLIC, batch_size=2)).cases_sealed == 4
    entries = list_archives(store.db.path)
    for entry in entries:
        assert json.loads(open_entry(entry, PRIVATE))["code"] == entry.case_code
    first, second = [e for e in entries if e.batch_id == entries[0].batch_id]
    other = next(e for e in entries if e.batch_id != first.batch_id)
    swapped = dataclasses.replace(first, sealed=second.sealed)
    assert swapped.batch_id == second.batch_id
    moved = dataclasses.replace(other, batch_id=first.batch_id, batch_header=first.batch_header)
    renamed = dataclasses.replace(first, batch_id=other.batch_id)  # the header stays its own
    foreign_header = dataclasses.replace(first, batch_header=other.batch_header)
    flipped = bytearray(first.sealed)
    flipped[-1] ^= 1
    for tampered in (
        swapped,
        moved,
        renamed,
        foreign_header,
        dataclasses.replace(first, sealed=bytes(flipped)),
        dataclasses.replace(first, batch_header=None),
    ):
        with pytest.raises(SealingError):
            open_entry(tampered, PRIVATE)
    with pytest.raises(SealingError, match="cannot be opened with this key"):
        open_entry(first, CoordinatorPrivateKey.generate())

    # In the database itself: two archives' ciphertexts swapped, one moved to another batch.
    async with store.db.transaction() as tx:
        await tx.execute(
            "UPDATE sealed_archives SET sealed = CASE case_code WHEN ? THEN ? ELSE ? END "
            "WHERE case_code IN (?, ?)",
            (first.case_code, second.sealed, first.sealed, first.case_code, second.case_code),
        )
        await tx.execute(
            "UPDATE sealed_archives SET batch_id = ? WHERE case_code = ?",
            (first.batch_id, other.case_code),
        )
    for entry in list_archives(store.db.path):
        if entry.case_code in (first.case_code, second.case_code, other.case_code):
            with pytest.raises(SealingError):
                open_entry(entry, PRIVATE)
        else:
            assert json.loads(open_entry(entry, PRIVATE))["code"] == entry.case_code


def test_a_batch_archive_binds_the_case_code_and_the_batch_key() -> None:
    key, other_key = b"k" * 32, b"o" * 32
    sealed = seal_in_batch(key, "batch-1", "K7QM-2XPA", b"document")
    assert open_in_batch(key, "batch-1", "K7QM-2XPA", sealed) == b"document"
    for batch_key, batch_id, code in (
        (other_key, "batch-1", "K7QM-2XPA"),
        (key, "batch-2", "K7QM-2XPA"),
        (key, "batch-1", "K7QM-2XPB"),
    ):
        with pytest.raises(SealingError):
            open_in_batch(batch_key, batch_id, code, sealed)
    with pytest.raises(SealingError):
        open_in_batch(key, "batch-1", "K7QM-2XPA", sealed[:20])
    with pytest.raises(SealingError):
        open_batch_key(PRIVATE, "batch-1", b"not a header")


async def test_version_1_archives_still_open_beside_batches(
    store: Store, clock: FakeClock
) -> None:
    old_document = {"format": "clgbt-case-archive-v1", "code": "AAAA-BBBB", "answers": {}}
    await store.archives.add(
        "AAAA-BBBB", seal(PUBLIC, "AAAA-BBBB", json.dumps(old_document).encode())
    )
    expected = await closed_cases(store, 3)
    clock.advance(days=100)
    await purge(store, POLICY, clock().date(), PUBLIC)

    entries = {e.case_code: e for e in list_archives(store.db.path)}
    assert entries["AAAA-BBBB"].batch_id is None
    assert open_archive(entries.pop("AAAA-BBBB"), PRIVATE) == old_document
    assert {code: open_archive(e, PRIVATE) for code, e in entries.items()} == expected
    protected = PRIVATE.to_protected_text("a long passphrase", scrypt_n=2**12)
    with pytest.raises(SealingError, match="wrong passphrase"):
        CoordinatorPrivateKey.from_protected_text(protected, "the wrong passphrase")


async def test_a_copy_from_before_batches_is_reviewed(db_path: Path, keyring: Keyring) -> None:
    old = await Database.open(db_path, keyring, migrations=BEFORE_BATCHES)
    async with old.transaction() as tx:
        await tx.execute(
            "INSERT INTO sealed_archives (id, case_code, sealed_on, sealed) "
            "VALUES ('a1', 'CCCC-DDDD', '2026-01-01', ?)",
            (seal(PUBLIC, "CCCC-DDDD", b'{"code": "CCCC-DDDD"}'),),
        )
    await old.close()
    [entry] = list_archives(db_path)
    assert entry == ArchiveEntry("CCCC-DDDD", "2026-01-01", entry.sealed)
    assert open_archive(entry, PRIVATE) == {"code": "CCCC-DDDD"}


async def test_erasure_takes_batched_archives_and_purge_drops_empty_batches(
    store: Store, clock: FakeClock
) -> None:
    await closed_cases(store, 4, per_person=2)  # two people, two cases each, one batch
    keep_people = RetentionPolicy(idle_flow_run_days=1000, closed_case_days=90)
    clock.advance(days=100)
    await purge(store, keep_people, clock().date(), PUBLIC)
    [batch] = await store.db.fetchall("SELECT id FROM sealed_batches")
    assert len(await store.archives.all()) == 4
    people = await store.db.fetchall("SELECT pseudonym FROM people ORDER BY rowid")

    assert (await erase_person(store, people[0]["pseudonym"])).found
    remaining = await store.archives.all()
    assert len(remaining) == 2 and {a.batch_id for a in remaining} == {batch["id"]}
    await purge(store, keep_people, clock().date(), PUBLIC)
    assert await store.archives.batch_header(batch["id"]) is not None, "still has archives"

    assert (await erase_person(store, people[1]["pseudonym"])).found
    assert await store.archives.all() == []
    await purge(store, keep_people, clock().date(), PUBLIC)
    assert await store.archives.batch_header(batch["id"]) is None, "an empty batch goes"


async def test_a_batch_is_one_to_a_thousand_cases(store: Store) -> None:
    for size in (0, MAX_BATCH + 1):
        with pytest.raises(ValueError, match="batch size"):
            await purge(store, POLICY, store.cases.today(), PUBLIC, batch_size=size)


async def test_a_case_that_cannot_be_sealed_does_not_stop_the_purge(
    store: Store, clock: FakeClock
) -> None:
    expected = await closed_cases(store, 5)
    bad_code = sorted(expected)[2]
    async with store.db.transaction() as tx:  # damaged: its answers no longer decrypt
        await tx.execute("UPDATE cases SET answers = x'00' WHERE code = ?", (bad_code,))
    clock.advance(days=100)

    report = await purge(store, POLICY, clock().date(), PUBLIC)
    assert (report.cases_sealed, report.cases_not_sealable) == (4, 1)
    assert any("could NOT be sealed: 1" in line for line in report.lines())
    assert {e.case_code for e in list_archives(store.db.path)} == set(expected) - {bad_code}
    left = await store.db.fetchall("SELECT code FROM cases")
    assert [r["code"] for r in left] == [bad_code], "left as it was, for someone to look at"

    again = await purge(store, POLICY, clock().date(), PUBLIC)
    assert (again.cases_sealed, again.cases_not_sealable) == (0, 1), "tried again, no loop"
