"""The database on disk: no plaintext, refusals that change nothing, migrations that upgrade."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.db import Database, DatabaseError
from storage.keyring import Keyring, KeyringError, create_key_file, load_keyring
from storage.migrations import INITIAL, MIGRATIONS, Migration
from storage.store import Store
from tests.storage.conftest import FakeClock, database_files

MARKER = "ZEBRA-MARKER-7731"
KEYRING = Keyring.generate()
USER_ID = 987654321


def needles(user_id: int) -> list[bytes]:
    return [
        MARKER.encode(),
        MARKER.encode("utf-16-le"),
        str(user_id).encode(),
        struct.pack("<q", user_id),
        struct.pack(">q", user_id),
    ]


async def write_marker_everywhere(store: Store) -> None:
    person, _ = await store.people.get_or_create(USER_ID, USER_ID, language="en")
    await store.people.set_consents(person.id, {MARKER: True})
    await store.flow_runs.save(person.id, {"answer": MARKER})
    case = await store.cases.create(person.id, {"what": f"{MARKER} ឪពុកខ្ញុំ"}, category="work")
    await store.events.add(case.id, "note", "Dara", f"note {MARKER}")
    referral = await store.referrals.create(case.id, "rock", {"summary": MARKER})
    await store.referrals.set_status(referral.id, "consented")
    await store.schedule.add(
        "follow_up", datetime(2026, 12, 1, tzinfo=UTC), {"text": MARKER}, person_id=person.id
    )
    await store.audit.record("Dara", "case_read", case.code)


async def test_no_marker_or_user_id_in_any_database_file(store: Store, db_path: Path) -> None:
    await write_marker_everywhere(store)
    while_open = database_files(db_path)
    assert f"{db_path.name}-wal" in while_open, "the test must also read the WAL"
    for name, raw in while_open.items():
        for needle in needles(USER_ID):
            assert needle not in raw, f"{needle!r} found in {name}"
    await store.close()
    for name, raw in database_files(db_path).items():
        for needle in needles(USER_ID):
            assert needle not in raw, f"{needle!r} found in {name} after closing"


async def test_the_values_read_back(store: Store) -> None:
    await write_marker_everywhere(store)
    person = await store.people.find(USER_ID)
    assert person is not None and person.chat_id == USER_ID
    assert person.consents == {MARKER: True}
    assert await store.flow_runs.load(person.id) == {"answer": MARKER}
    [case] = await store.cases.for_person(person.id)
    assert (await store.cases.answers(case.id))["what"].startswith(MARKER)
    [event] = await store.events.for_case(case.id)
    assert event.body == f"note {MARKER}"
    [referral] = await store.referrals.for_case(case.id)
    assert await store.referrals.summary(referral.id) == {"summary": MARKER}
    [action] = await store.schedule.pending()
    assert action.payload == {"text": MARKER}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(min_size=1))
def test_any_unicode_round_trips_through_the_repositories(tmp_path: Path, text: str) -> None:
    async def check() -> None:
        path = tmp_path / "roundtrip.sqlite3"
        store = await Store.open(path, KEYRING)
        try:
            person, _ = await store.people.get_or_create(1, 1)
            await store.flow_runs.save(person.id, {"t": text})
            assert await store.flow_runs.load(person.id) == {"t": text}
            case = await store.cases.create(person.id, {"t": text})
            assert await store.cases.answers(case.id) == {"t": text}
            event = await store.events.add(case.id, "note", "Dara", text)
            bodies = [e.body for e in await store.events.for_case(case.id) if e.id == event.id]
            assert bodies == [text]
            referral = await store.referrals.create(case.id, "rock", {"t": text})
            assert await store.referrals.summary(referral.id) == {"t": text}
            await store.people.set_consents(person.id, {text: True})
            again = await store.people.get(person.id)
            assert again is not None and again.consents == {text: True}
            action = await store.schedule.add("x", datetime(2026, 1, 1, tzinfo=UTC), {"t": text})
            assert [a.payload for a in await store.schedule.pending() if a.id == action.id] == [
                {"t": text}
            ]
        finally:
            await store.close()

    asyncio.run(check())


async def test_a_wrong_key_refuses_and_changes_nothing(
    db_path: Path, keyring: Keyring, clock: FakeClock
) -> None:
    store = await Store.open(db_path, keyring, clock)
    await write_marker_everywhere(store)
    await store.close()
    before = database_files(db_path)
    with pytest.raises(KeyringError, match="does not open this database"):
        await Store.open(db_path, Keyring.generate(), clock)
    assert database_files(db_path) == before


async def test_a_keyring_missing_the_databases_key_is_refused(
    db_path: Path, keyring: Keyring
) -> None:
    store = await Store.open(db_path, keyring.with_new_primary())
    await store.close()
    before = database_files(db_path)
    with pytest.raises(KeyringError, match=r"key id\(s\) \[2\]"):
        await Store.open(db_path, keyring)
    assert database_files(db_path) == before


def test_key_file_is_0600_and_never_overwritten(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "master.key"
    created = create_key_file(key_file)
    assert (key_file.stat().st_mode & 0o777) == 0o600
    before = key_file.read_bytes()
    with pytest.raises(KeyringError, match="already exists"):
        create_key_file(key_file)
    assert key_file.read_bytes() == before
    assert load_keyring(key_file, {}).keys == created.keys


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    create_key_file(key_file)
    key_file.chmod(0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        load_keyring(key_file, {})


def test_a_missing_key_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="clgbt keys init"):
        load_keyring(tmp_path / "absent.key", {})


def test_the_environment_key_wins(tmp_path: Path) -> None:
    key = base64.b64encode(b"k" * 32).decode()
    assert load_keyring(tmp_path / "absent.key", {"CLGBT_MASTER_KEY": key}).keys == {1: b"k" * 32}


async def test_a_database_newer_than_the_code_is_refused(db_path: Path, keyring: Keyring) -> None:
    store = await Store.open(db_path, keyring)
    async with store.db.transaction() as tx:
        await tx.execute("INSERT INTO schema_migrations (name) VALUES ('9999_from_the_future')")
    await store.close()
    before = database_files(db_path)
    with pytest.raises(DatabaseError, match="newer than this version"):
        await Store.open(db_path, keyring)
    assert database_files(db_path) == before


async def test_pragmas(store: Store) -> None:
    async def pragma(name: str) -> object:
        row = await store.db.fetchone(f"PRAGMA {name}")
        assert row is not None
        return row[0]

    assert await pragma("journal_mode") == "wal"
    assert await pragma("foreign_keys") == 1
    assert await pragma("secure_delete") == 1
    assert await pragma("busy_timeout") == 5000


async def test_migrations_upgrade_a_first_migration_database_with_data_intact(
    db_path: Path, keyring: Keyring
) -> None:
    old = await Database.open(db_path, keyring, migrations=[INITIAL])
    assert await old.applied_migrations() == ["0001_initial"]
    old_store = Store.attach(old, keyring)
    person, _ = await old_store.people.get_or_create(42, 42)
    async with old.transaction() as tx:  # a case as the first schema stored it
        await tx.execute(
            "INSERT INTO cases (id, code, person_id, status, category, opened_on, answers) "
            "VALUES ('c1', 'AAAA-BBBB', ?, 'new', 'work', '2026-01-01', ?)",
            (person.id, old_store.cipher.encrypt("cases", "answers", "c1", '{"what": "x"}')),
        )
    await old.close()

    store = await Store.open(db_path, keyring)
    try:
        assert await store.db.applied_migrations() == [m.name for m in MIGRATIONS]
        again = await store.people.find(42)
        assert again is not None and again.id == person.id
        case = await store.cases.get_by_code("AAAA-BBBB")
        assert case is not None and await store.cases.answers(case.id) == {"what": "x"}
    finally:
        await store.close()


async def test_each_migration_is_recorded_atomically(db_path: Path, keyring: Keyring) -> None:
    broken = Migration("0003_broken", ("CREATE TABLE ok_table (x)", "NOT SQL AT ALL"))
    store = await Store.open(db_path, keyring)
    with pytest.raises(sqlite3.OperationalError):
        await store.db.migrate([*MIGRATIONS, broken])
    tables = {
        r[0] for r in await store.db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert "ok_table" not in tables
    assert "0003_broken" not in await store.db.applied_migrations()
    await store.close()


async def test_case_codes_are_short_and_unique(store: Store) -> None:
    person, _ = await store.people.get_or_create(7, 7)
    codes = {(await store.cases.create(person.id, {})).code for _ in range(200)}
    assert len(codes) == 200
    assert all(len(code) == 9 and code[4] == "-" for code in codes)
