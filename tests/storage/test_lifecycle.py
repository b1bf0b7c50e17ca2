"""Rotation, erasure, retention and backups."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from storage.backup import backup
from storage.db import DatabaseError
from storage.erasure import erase_person
from storage.keyring import Keyring
from storage.person_keys import PersonKeyError, key_store_path
from storage.retention import RetentionPolicy, purge
from storage.review import list_archives, open_entry
from storage.rotation import reencrypt, rows_on_key, rows_on_other_keys
from storage.sealing import CoordinatorPrivateKey
from storage.store import ENCRYPTED_COLUMNS, Store
from tests.storage.conftest import FakeClock, database_files
from tests.storage.test_database import MARKER, USER_ID, write_marker_everywhere


async def populate(store: Store, people: int = 30) -> None:
    for n in range(people):
        person, _ = await store.people.get_or_create(1000 + n, 1000 + n)
        await store.flow_runs.save(person.id, {"n": n})
        case = await store.cases.create(person.id, {"n": n, "what": f"story {n}"})
        await store.events.add(case.id, "note", "Dara", f"note {n}")


async def all_readable(store: Store, people: int = 30) -> None:
    for n in range(people):
        person = await store.people.find(1000 + n)
        assert person is not None and person.chat_id == 1000 + n
        assert await store.flow_runs.load(person.id) == {"n": n}
        [case] = await store.cases.for_person(person.id)
        assert (await store.cases.answers(case.id))["what"] == f"story {n}"
        assert [e.body for e in await store.events.for_case(case.id)] == [f"note {n}"]


async def test_rotation_keeps_every_row_readable_and_none_on_the_old_key(
    db_path: Path, keyring: Keyring
) -> None:
    store = await Store.open(db_path, keyring)
    await populate(store)
    await write_marker_everywhere(store)
    await store.close()

    rotated = keyring.with_new_primary()
    store = await Store.open(db_path, rotated)
    try:
        assert await rows_on_other_keys(store), "before re-encryption the old key is in use"
        report = await reencrypt(store, batch=7)
        assert report.total > 0
        assert await rows_on_other_keys(store) == {}
        assert await rows_on_key(store, keyring.primary_id) == 0
        await all_readable(store)
        person = await store.people.find(USER_ID)
        assert person is not None and person.consents == {MARKER: True}
    finally:
        await store.close()


async def test_an_interrupted_rotation_resumes(db_path: Path, keyring: Keyring) -> None:
    store = await Store.open(db_path, keyring)
    await populate(store)
    await store.close()
    rotated = keyring.with_new_primary()
    store = await Store.open(db_path, rotated)
    try:
        await reencrypt(store, batch=5, max_batches=3)  # "interrupted" after three batches
        left = await rows_on_other_keys(store)
        assert left, "some rows are still on the old key"
        await all_readable(store)  # a half-rotated database is fully usable
        await reencrypt(store, batch=5)
        assert await rows_on_other_keys(store) == {}
        await all_readable(store)
    finally:
        await store.close()


async def test_after_rotation_the_old_key_can_be_retired(db_path: Path, keyring: Keyring) -> None:
    store = await Store.open(db_path, keyring)
    await populate(store, people=5)
    await store.close()
    rotated = keyring.with_new_primary()
    store = await Store.open(db_path, rotated)
    await reencrypt(store)
    await store.db.forget_key_check(keyring.primary_id)
    await store.close()
    store = await Store.open(db_path, rotated.without(keyring.primary_id))
    try:
        await all_readable(store, people=5)
    finally:
        await store.close()


async def test_erasure_leaves_no_row_about_the_person(store: Store, db_path: Path) -> None:
    await populate(store, people=3)
    await write_marker_everywhere(store)
    person = await store.people.find(USER_ID)
    assert person is not None
    [case] = await store.cases.for_person(person.id)
    await store.cases.update(case.id, topic_id=77)
    await store.archives.add(
        "ZZZZ-ZZZZ", b"sealed", store.person_keys.get(person.id).tag_archive("ZZZZ-ZZZZ")
    )
    other = await store.people.find(1000)
    assert other is not None
    await store.archives.add(
        "YYYY-YYYY", b"kept", store.person_keys.get(other.id).tag_archive("YYYY-YYYY")
    )

    result = await erase_person(store, person.pseudonym)

    assert result.found and result.topic_ids == [77] and result.case_codes == [case.code]
    assert result.chat_id == USER_ID and len(result.referral_codes) == 1
    for table in (
        "people",
        "flow_runs",
        "cases",
        "case_events",
        "referrals",
        "scheduled_actions",
        "sealed_archives",
    ):
        rows = await store.db.fetchall(f"SELECT * FROM {table}")
        for row in rows:
            values = [str(v) for v in tuple(row)]
            assert person.id not in values and person.pseudonym not in values, table
            assert case.id not in values, table
    await all_readable(store, people=3)  # everyone else is untouched
    assert [a.case_code for a in await store.archives.all()] == ["YYYY-YYYY"]
    assert not store.person_keys.exists(person.id), "the person's data key is destroyed"
    stats = await store.db.fetchone("SELECT count(*) AS n FROM case_statistics")
    assert stats is not None and stats["n"] == 3, "the erased case's per-case row is gone"
    folded = await store.db.fetchall("SELECT * FROM statistics_folded WHERE dimension = 'month'")
    assert [row["count"] for row in folded] == [1], "its counts survive, folded"
    assert not (await erase_person(store, person.pseudonym)).found
    await store.close()
    for raw in database_files(db_path).values():
        assert person.pseudonym.encode() not in raw


async def test_purge_removes_what_retention_says_and_nothing_else(
    store: Store, clock: FakeClock
) -> None:
    policy = RetentionPolicy(idle_flow_run_days=30, closed_case_days=90, audit_days=365)
    private = CoordinatorPrivateKey.generate()

    old_person, _ = await store.people.get_or_create(1, 1)
    await store.flow_runs.save(old_person.id, {"step": "old"})
    old_case = await store.cases.create(old_person.id, {"what": "sealed later"})
    await store.events.add(old_case.id, "note", "Dara", "closing note")
    await store.cases.close(old_case.id, "resolved")
    await store.audit.record("Dara", "case_read", old_case.code)
    idle_only, _ = await store.people.get_or_create(2, 2)
    await store.flow_runs.save(idle_only.id, {"step": "abandoned"})

    clock.advance(days=100)
    recent, _ = await store.people.get_or_create(3, 3)
    await store.flow_runs.save(recent.id, {"step": "recent"})
    open_case = await store.cases.create(recent.id, {"what": "still open"})
    closed_recently = await store.cases.create(recent.id, {"what": "closed recently"})
    await store.cases.close(closed_recently.id, "referred")
    await store.audit.record("Sophea", "export", None)

    report = await purge(store, policy, clock().date(), private.public_key())

    assert report.flow_runs == 2 and report.cases_sealed == 1
    assert report.people == 2, "idle people with no case go, even with a sealed archive"
    assert await store.flow_runs.load(recent.id) == {"step": "recent"}
    assert await store.flow_runs.load(old_person.id) is None
    assert await store.people.get(idle_only.id) is None
    assert await store.people.get(old_person.id) is None, "an archive keeps nobody alive"
    assert not store.person_keys.exists(old_person.id), "and their data key is destroyed"
    assert store.person_keys.exists(recent.id)
    assert await store.cases.get(old_case.id) is None
    assert await store.cases.get(open_case.id) is not None
    assert await store.cases.get(closed_recently.id) is not None
    [entry] = list_archives(store.db.path)
    assert entry.case_code == old_case.code
    opened = open_entry(entry, private).decode()
    assert "sealed later" in opened and "closing note" in opened
    assert len(await store.audit.recent()) == 2, "audit entries are younger than a year"

    clock.advance(days=300)
    report = await purge(store, policy, clock().date(), None)
    assert report.audit_entries == 1 and report.cases_awaiting_key == 1
    assert await store.cases.get(closed_recently.id) is not None, "no key: kept, not lost"


async def test_backup_is_a_usable_encrypted_copy(
    store: Store, db_path: Path, keyring: Keyring, tmp_path: Path
) -> None:
    await write_marker_everywhere(store)
    copy = tmp_path / "backups" / "copy.sqlite3"
    assert backup(db_path, copy) > 0
    assert (copy.stat().st_mode & 0o777) == 0o600
    raw = copy.read_bytes()
    assert MARKER.encode() not in raw and str(USER_ID).encode() not in raw
    with pytest.raises(PersonKeyError, match=r"person key store .* is missing"):
        await Store.open(copy, keyring)  # the people's keys are not in the backup
    restored = await Store.open(copy, keyring, key_store=key_store_path(db_path))
    try:
        person = await restored.people.find(USER_ID)
        assert person is not None and person.consents == {MARKER: True}
    finally:
        await restored.close()
    with pytest.raises(DatabaseError, match="already exists"):
        backup(db_path, copy)


def test_every_encrypted_column_exists_in_the_schema(db_path: Path) -> None:
    async def columns() -> set[tuple[str, str]]:
        store = await Store.open(db_path, Keyring.generate())
        found: set[tuple[str, str]] = set()
        for table, _ in ENCRYPTED_COLUMNS:
            for row in await store.db.fetchall(f"PRAGMA table_info({table})"):
                found.add((table, row["name"]))
        await store.close()
        return found

    assert set(ENCRYPTED_COLUMNS) <= asyncio.run(columns())


async def test_scheduled_actions_come_due(store: Store, clock: FakeClock) -> None:
    due_at = clock() + timedelta(hours=1)
    action = await store.schedule.add("cleanup", due_at, {"n": 1})
    assert await store.schedule.due(clock()) == []
    assert [a.id for a in await store.schedule.due(due_at)] == [action.id]
    await store.schedule.mark_done(action.id)
    assert await store.schedule.due(due_at + timedelta(days=1)) == []
    with pytest.raises(ValueError, match="time zone"):
        await store.schedule.add("x", datetime(2026, 1, 1))
