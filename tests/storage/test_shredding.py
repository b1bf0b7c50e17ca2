"""Crypto-shredding: per-person data keys, what an old copy opens after an erasure, rotation of
the wrapped keys, archives without a person link, moving older databases, coarse timestamps."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from storage.archiving import seal_case
from storage.db import Database
from storage.erasure import erase_person
from storage.fields import PERSON_VERSION, VERSION, FieldCipher, ShreddedError
from storage.keyring import Keyring
from storage.migrations import MIGRATIONS
from storage.person_keys import PersonKeyError, PersonKeys, key_store_path
from storage.pseudonyms import Pseudonymizer
from storage.review import list_archives, open_entry
from storage.rotation import reencrypt, rows_on_key, rows_on_other_keys
from storage.sealing import CoordinatorPrivateKey
from storage.shredding import PERSON_COLUMNS, values_under_master_key
from storage.store import Store
from tests.storage.conftest import FakeClock, database_files
from tests.storage.test_database import MARKER, USER_ID, needles, write_marker_everywhere
from tests.storage.test_lifecycle import all_readable, populate

BEFORE_PERSON_KEYS = MIGRATIONS[:6]  # the schema as it was before crypto-shredding


async def write_everything(store: Store) -> None:
    """The marker through every per-person column, including the ones the marker test skips."""
    await write_marker_everywhere(store)
    person = await store.people.find(USER_ID)
    assert person is not None
    [case] = await store.cases.for_person(person.id)
    await store.cases.set_waiting_since(case.id, store.cases.clock())
    await store.blocks.add(person.id, store.cases.clock() + timedelta(days=1), "Dara", MARKER)
    await store.chat_messages.record(person.id, [11, 12])
    await store.schedule.add("alert", store.cases.clock(), {"m": MARKER}, case_id=case.id)
    await store.inbox.add([(1, {"text": MARKER})])


def copy_database(db_path: Path, destination: Path) -> Path:
    """The database files as a disk image or a careless backup would hold them (WAL too)."""
    destination.mkdir()
    copy = destination / db_path.name
    for name, raw in database_files(db_path).items():
        if not name.endswith("-shm"):
            (destination / name).write_bytes(raw)
    return copy


async def test_every_per_person_value_is_under_the_persons_key(store: Store) -> None:
    await write_everything(store)
    assert await values_under_master_key(store.db) == {}
    for spec in PERSON_COLUMNS:
        rows = await store.db.fetchall(
            f"SELECT {spec.column} AS v FROM {spec.table} WHERE {spec.column} IS NOT NULL"
        )
        assert rows, f"{spec.table}.{spec.column} was written"
        assert {bytes(r["v"])[0] for r in rows} == {PERSON_VERSION}, spec
    [inbox] = await store.db.fetchall("SELECT payload FROM inbox")
    assert bytes(inbox["payload"])[0] == VERSION, "the transient inbox stays on the master key"
    # The master key alone opens none of them.
    bare = FieldCipher(store.keyring)
    [person] = await store.db.fetchall("SELECT id, chat_id FROM people")
    with pytest.raises(ShreddedError):
        bare.decrypt("people", "chat_id", person["id"], bytes(person["chat_id"]))


async def test_an_old_copy_cannot_open_the_erased_person_but_opens_everyone_else(
    store: Store, db_path: Path, keyring: Keyring, tmp_path: Path
) -> None:
    await populate(store, people=3)
    await write_everything(store)
    person = await store.people.find(USER_ID)
    assert person is not None
    copy = copy_database(db_path, tmp_path / "seized")  # taken before the erasure

    assert (await erase_person(store, person.pseudonym)).found
    await store.close()

    old = await Store.open(copy, keyring, key_store=key_store_path(db_path))
    try:
        # The rows are all there in the old copy, but none of them opens any more.
        with pytest.raises(ShreddedError):
            await old.people.find(USER_ID)
        opened = 0
        for spec in PERSON_COLUMNS:
            rows = await old.db.fetchall(
                f"SELECT t.id AS id, t.{spec.column} AS v, {spec.owner} AS owner "
                f"FROM {spec.table} t {spec.join} WHERE t.{spec.column} IS NOT NULL"
            )
            for row in rows:
                if row["owner"] == person.id:
                    with pytest.raises(ShreddedError):
                        old.cipher.decrypt(spec.table, spec.column, row["id"], bytes(row["v"]))
                    opened += 1
        assert opened >= len(PERSON_COLUMNS), "every per-person column was tried"
        # Everyone else in the same copy still opens with the master key.
        await all_readable(old, people=3)
    finally:
        await old.close()
    # The live key store no longer holds the key in any form.
    assert person.id.encode() not in key_store_path(db_path).read_bytes()


async def test_the_key_store_is_private_and_refused_when_missing_or_foreign(
    db_path: Path, keyring: Keyring, tmp_path: Path
) -> None:
    store = await Store.open(db_path, keyring)
    await populate(store, people=1)
    await store.close()
    keys = key_store_path(db_path)
    assert keys.stat().st_mode & 0o777 == 0o600
    for name, raw in database_files(keys).items():
        for needle in needles(1000):
            assert needle not in raw, name

    other = tmp_path / "other" / "clgbt.sqlite3"
    foreign = await Store.open(other, keyring)
    await foreign.close()
    with pytest.raises(PersonKeyError, match="belongs to another database"):
        await Store.open(db_path, keyring, key_store=key_store_path(other))
    keys.rename(tmp_path / "moved.keys")
    with pytest.raises(PersonKeyError, match="is missing"):
        await Store.open(db_path, keyring)
    assert not keys.exists(), "a refusal makes no empty key store"


def test_unwrapped_keys_are_cached_in_a_bounded_lru(tmp_path: Path, keyring: Keyring) -> None:
    keys = PersonKeys(tmp_path / "k.keys", keyring, cache_size=4)
    try:
        made = {f"p{n}": keys.get_or_create(f"p{n}") for n in range(10)}
        assert len(keys._cache) == 4
        assert all(keys.get(pid) == key for pid, key in made.items()), "re-read from the file"
        keys.destroy("p3")
        assert not keys.exists("p3") and "p3" not in keys._cache
    finally:
        keys.close()


async def test_rotation_rewraps_the_person_keys(db_path: Path, keyring: Keyring) -> None:
    store = await Store.open(db_path, keyring)
    await populate(store, people=7)
    await store.close()

    rotated = keyring.with_new_primary()
    store = await Store.open(db_path, rotated)
    try:
        assert (await rows_on_other_keys(store)).get("person_keys") == 7
        report = await reencrypt(store, batch=3)
        assert report.person_keys == 7
        assert await rows_on_other_keys(store) == {}
        assert await rows_on_key(store, keyring.primary_id) == 0
        await all_readable(store, people=7)
        await store.db.forget_key_check(keyring.primary_id)
    finally:
        await store.close()
    store = await Store.open(db_path, rotated.without(keyring.primary_id))
    try:
        await all_readable(store, people=7)  # the old master key is no longer needed
    finally:
        await store.close()


async def test_a_sealed_archive_has_no_link_to_the_person(store: Store) -> None:
    private = CoordinatorPrivateKey.generate()
    person, _ = await store.people.get_or_create(5, 5)
    case = await store.cases.create(person.id, {"what": "archived"})
    await store.cases.close(case.id, "resolved")
    closed = await store.cases.get(case.id)
    assert closed is not None
    await seal_case(store, closed, private.public_key())

    [row] = await store.db.fetchall("SELECT * FROM sealed_archives")
    assert row["person_id"] is None
    assert person.id not in [str(v) for v in tuple(row)]
    [entry] = list_archives(store.db.path)
    assert entry.case_code == case.code
    assert "archived" in open_entry(entry, private).decode()
    assert (await erase_person(store, person.pseudonym)).found
    assert await store.archives.all() == [], "the person's own erasure still takes it"


async def test_an_older_database_is_read_and_moved_to_person_keys(
    db_path: Path, keyring: Keyring
) -> None:
    old = await Database.open(db_path, keyring, migrations=BEFORE_PERSON_KEYS)
    cipher = FieldCipher(keyring)  # the master key only, as before crypto-shredding
    at = "2026-03-04T05:06:07.891011+00:00"
    async with old.transaction() as tx:
        await tx.execute(
            "INSERT INTO people (id, pseudonym, pseudonym_key_id, chat_id, consents, created_on,"
            " last_seen_on) VALUES ('p1', ?, 1, ?, ?, '2026-01-01', '2026-01-01')",
            (
                Pseudonymizer(keyring).pseudonym(42),
                cipher.encrypt("people", "chat_id", "p1", "42"),
                cipher.encrypt("people", "consents", "p1", "{}"),
            ),
        )
        await tx.execute(
            "INSERT INTO cases (id, code, person_id, status, opened_on, answers) "
            "VALUES ('c1', 'AAAA-BBBB', 'p1', 'new', '2026-01-01', ?)",
            (cipher.encrypt("cases", "answers", "c1", '{"what": "before"}'),),
        )
        await tx.execute(
            "INSERT INTO sealed_archives (id, case_code, person_id, sealed_on, sealed) "
            "VALUES ('a1', 'CCCC-DDDD', 'p1', '2026-01-01', x'00')"
        )
        await tx.execute(
            "INSERT INTO audit_log (id, at, actor, action) VALUES ('l1', ?, 'Dara', 'read')",
            (at,),
        )
        await tx.execute(
            "INSERT INTO scheduled_actions (id, kind, due_at, done_at) VALUES ('s1', 'x', ?, ?)",
            (at, at),
        )
        await tx.execute(  # a pending timer, its due time in clear as it was then
            "INSERT INTO scheduled_actions (id, kind, due_at, payload) "
            "VALUES ('s2', 'y', '2026-03-05T10:11:12+00:00', ?)",
            (cipher.encrypt("scheduled_actions", "payload", "s2", '{"n": 1}'),),
        )
    await old.close()

    store = await Store.open(db_path, keyring)
    try:
        assert await values_under_master_key(store.db) == {}, "moved when the store opened"
        person = await store.people.find(42)
        assert person is not None and person.chat_id == 42
        case = await store.cases.get_by_code("AAAA-BBBB")
        assert case is not None and await store.cases.answers(case.id) == {"what": "before"}
        [archive] = await store.db.fetchall("SELECT person_id, owner_tag FROM sealed_archives")
        assert archive["person_id"] is None and archive["owner_tag"] is not None
        [audit] = await store.db.fetchall("SELECT at FROM audit_log")
        assert audit["at"] == "2026-03-04"
        done, pending = await store.db.fetchall(
            "SELECT due_at, done_at FROM scheduled_actions ORDER BY id"
        )
        assert (done["due_at"], done["done_at"]) == ("2026-03-04", "2026-03-04")
        assert (pending["due_at"], pending["done_at"]) == ("2026-03-05", None)
        [timer] = await store.schedule.pending("y")
        assert timer.due_at == datetime(2026, 3, 5, 10, 11, 12, tzinfo=UTC)
        assert timer.payload == {"n": 1}, "the time moved into the encrypted payload"
        assert (await erase_person(store, person.pseudonym)).found
        assert await store.archives.all() == []
    finally:
        await store.close()


TIME_OF_DAY = re.compile(r"\d\d:\d\d")


async def test_clear_dates_are_days_never_times(
    store: Store, clock: FakeClock, db_path: Path
) -> None:
    clock.now = datetime(2026, 11, 21, 9, 14, 5, 123456, tzinfo=UTC)
    await write_everything(store)
    person = await store.people.find(USER_ID)
    assert person is not None
    entry = await store.audit.record("Dara", "export")
    assert entry.at == "2026-11-21"

    due = clock() + timedelta(minutes=5)  # 09:19:05.123456
    action = await store.schedule.add("follow_up", due, person_id=person.id)
    assert action.due_at == datetime(2026, 11, 21, 9, 19, 5, tzinfo=UTC)
    early = due - timedelta(seconds=1)
    assert action.id not in [a.id for a in await store.schedule.due(early)], "not early"
    assert action.id in [a.id for a in await store.schedule.due(due)]
    [pending] = [a for a in await store.schedule.pending() if a.id == action.id]
    assert pending.due_at == action.due_at, "the time survives, encrypted"
    await store.schedule.mark_done(action.id)
    assert all(a.id != action.id for a in await store.schedule.due(due + timedelta(days=1)))
    block = await store.blocks.active(person.id)
    assert block is not None and block.until == date(2026, 11, 22)
    clock.now = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    assert await store.blocks.active(person.id) is not None, "to the end of its last day"
    clock.now = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert await store.blocks.active(person.id) is None

    await store.close()
    connection = sqlite3.connect(db_path)
    try:
        tables = [
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            if table == "schema_migrations":  # when the database's schema changed, not people
                continue
            for row in connection.execute(f"SELECT * FROM {table}"):
                for value in row:
                    if isinstance(value, str):
                        assert not TIME_OF_DAY.search(value), (table, value)
        [(done_at,)] = connection.execute(
            "SELECT done_at FROM scheduled_actions WHERE id = ?", (action.id,)
        ).fetchall()
        assert done_at == "2026-11-21"
    finally:
        connection.close()
