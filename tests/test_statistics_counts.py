"""Statistics read monthly counts kept in the writing transaction (issue 12), and a released
month's tables never change, whatever happens to its cases later (issue 14)."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from storage.db import Database, DatabaseError
from storage.erasure import erase_person
from storage.keyring import Keyring
from storage.migrations import MIGRATIONS
from storage.statistics import (
    Key,
    Table,
    build_tables,
    months_between,
    recount,
    render_text,
    stored_counts,
)
from storage.store import Store
from tests.storage.conftest import FakeClock

THRESHOLD = 5
UNIVERSE = {
    "category": ["violence_home", "online_abuse", "forced_marriage"],
    "province": ["KH-12", "KH-17"],
    "outcome": ["resolved", "referred"],
}


def tables(store: Store, start: str, end: str, today: date) -> dict[str, Table]:
    connection = store.db.raw_reader()
    try:
        built = build_tables(connection, THRESHOLD, start, end, today=today, universe=UNIVERSE)
    finally:
        connection.close()
    return {t.dimension: t for t in built}


def counts_and_recount(store: Store) -> tuple[Counter[Key], Counter[Key]]:
    connection = store.db.raw_reader()
    try:
        return stored_counts(connection), recount(connection)
    finally:
        connection.close()


def totals(table: Table) -> dict[str, int]:
    return {c.value: c.count for c in table.cells if c.count}


async def open_cases(
    store: Store, clock: FakeClock, when: datetime, categories: dict[str, int], user: int
) -> list[tuple[str, str]]:
    """Cases opened at ``when``, one person each: ``(case id, pseudonym)``."""
    clock.now = when
    made = []
    for category, n in categories.items():
        for _ in range(n):
            user += 1
            person, _ = await store.people.get_or_create(user, user)
            case = await store.cases.create(person.id, {}, category=category, province="KH-12")
            made.append((case.id, person.pseudonym))
    return made


async def test_a_released_month_never_changes_when_its_cases_move_later(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 10, 9, tzinfo=UTC))
    store = await Store.open(tmp_path / "db.sqlite3", Keyring.generate(), clock)
    try:
        march = await open_cases(
            store, clock, clock.now, {"violence_home": 9, "online_abuse": 6}, 100
        )
        for case_id, _ in march[:6]:
            await store.cases.close(case_id, "resolved")
        for case_id, _ in march[:6]:
            await store.cases.record_referral_result(case_id, "successful")
        released = tables(store, "2026-03", "2026-03", date(2026, 4, 2))
        assert totals(released["outcome"]) == {"resolved": 6}
        assert totals(released["referral_result"]) == {"successful": 6}

        # April: March's open cases close, a referral result changes, another is recorded,
        # a March case's category is corrected, and two people are erased.
        clock.now = datetime(2026, 4, 12, 9, tzinfo=UTC)
        for n, (case_id, _) in enumerate(march[6:]):
            await store.cases.close(case_id, "referred" if n % 2 else None)
        await store.cases.record_referral_result(march[0][0], "no_capacity")
        await store.cases.record_referral_result(march[10][0], "successful")
        await store.cases.update(march[1][0], category="forced_marriage")
        for _, pseudonym in (march[2], march[11]):  # closed in March; closed in April
            assert (await erase_person(store, pseudonym)).found

        for today in (date(2026, 4, 20), date(2026, 5, 3), date(2027, 1, 1)):
            assert tables(store, "2026-03", "2026-03", today) == released, today
        april = tables(store, "2026-04", "2026-04", date(2026, 5, 3))
        assert april["outcome"].total == 9, "outcomes count in the month the case closed"
        assert totals(april["referral_result"]) == {"no_capacity": 1, "successful": 1}
        assert april["category"].total == 0, "no case was opened in April"
        both = tables(store, "2026-03", "2026-04", date(2026, 5, 3))
        assert both["outcome"].total == 15 and both["referral_result"].total == 8

        # Erasing people after April is released changes neither month.
        clock.now = datetime(2026, 5, 6, 9, tzinfo=UTC)
        before = [tables(store, m, m, date(2026, 5, 6)) for m in ("2026-03", "2026-04")]
        for _, pseudonym in march[3:10]:
            await erase_person(store, pseudonym)
        after = [tables(store, m, m, date(2026, 5, 6)) for m in ("2026-03", "2026-04")]
        assert after == before and after[0] == released
        stored, full = counts_and_recount(store)
        assert stored == full
    finally:
        await store.close()


def test_the_text_says_which_month_an_outcome_is_counted_in() -> None:
    text = render_text([Table("outcome", (), 0, True), Table("category", (), 0, True)], 5, "t")
    assert "outcome (counted in the month closed)" in text
    assert "\ncategory\n" in text


CATEGORIES = ["violence_home", "online_abuse", "forced_marriage", None]
OUTCOMES = ["resolved", "referred", "other", None]
RESULTS = ["successful", "no_capacity", "declined", "client_declined"]


class Workload:
    """Random cases over several months: opened, corrected, closed, referred, erased."""

    def __init__(self, store: Store, clock: FakeClock, seed: int) -> None:
        self.store, self.clock, self.rng = store, clock, random.Random(seed)
        self.cases: list[tuple[str, str]] = []  # (case id, pseudonym), erased ones removed
        self.user = 1000

    async def step(self) -> None:
        rng = self.rng
        kind = rng.choices(["open", "correct", "close", "refer", "erase"], [6, 1, 3, 2, 1])[0]
        if kind == "open" or not self.cases:
            await self.open()
            return
        case_id, pseudonym = rng.choice(self.cases)
        if kind == "correct":
            await self.store.cases.update(case_id, category=rng.choice(CATEGORIES))
        elif kind == "close":
            await self.store.cases.close(case_id, rng.choice(OUTCOMES))
        elif kind == "refer":
            await self.store.cases.record_referral_result(case_id, rng.choice(RESULTS))
        else:
            await erase_person(self.store, pseudonym)
            self.cases = [c for c in self.cases if c[1] != pseudonym]

    async def open(self) -> None:
        rng = self.rng
        if self.cases and rng.random() < 0.3:  # someone who already has a case
            pseudonym = rng.choice(self.cases)[1]
            person = await self.store.people.find_by_pseudonym(pseudonym)
            assert person is not None
        else:
            self.user += 1
            person, _ = await self.store.people.get_or_create(self.user, self.user)
        case = await self.store.cases.create(
            person.id,
            {},
            category=rng.choice(CATEGORIES),
            province=rng.choice(["KH-12", "KH-17", None]),
            perpetrator=rng.choice(["police", "family_member", None]),
        )
        self.cases.append((case.id, person.pseudonym))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_counts_match_a_full_recount_on_random_data(tmp_path: Path, seed: int) -> None:
    clock = FakeClock(datetime(2026, 1, 1, 8, tzinfo=UTC))
    store = await Store.open(tmp_path / "db.sqlite3", Keyring.generate(), clock)
    workload = Workload(store, clock, seed)
    released: dict[str, dict[str, Table]] = {}
    try:
        while clock.now < datetime(2026, 7, 1, tzinfo=UTC):
            for _ in range(workload.rng.randint(0, 12)):
                await workload.step()
            clock.advance(days=workload.rng.randint(1, 4))
            stored, full = counts_and_recount(store)
            assert stored == full, clock.now
            today = clock.now.date()
            for month in months_between("2026-01", f"{today:%Y-%m}")[:-1]:
                # The first table of a month after it ended is the one it keeps for ever.
                now = tables(store, month, month, today)
                assert released.setdefault(month, now) == now, (month, today)
        assert set(released) == {f"2026-0{m}" for m in range(1, 7)}
        assert sum(t["outcome"].total for t in released.values()) > 0
        assert sum(t["referral_result"].total for t in released.values()) > 0
    finally:
        await store.close()


async def test_migration_counts_existing_rows(tmp_path: Path) -> None:
    """A database written before 0008: outcomes take the month their case closed, results the
    month their referral last changed, and the counts equal a recount."""
    path, keyring = tmp_path / "db.sqlite3", Keyring.generate()
    before = [m for m in MIGRATIONS if m.name < "0008"]
    old = await Database.open(path, keyring, migrations=before)
    async with old.transaction() as tx:
        await tx.execute(
            "INSERT INTO people (id, pseudonym, pseudonym_key_id, chat_id, created_on, "
            "last_seen_on) VALUES ('p', 'x', 1, x'00', '2026-01-01', '2026-01-01')"
        )
        for n, (opened, status, closed, outcome, result) in enumerate(
            [
                ("2026-01", "closed", "2026-03-02", "resolved", "successful"),
                ("2026-01", "new", None, None, None),
                ("2026-02", "closed", "2026-02-20", None, None),
            ]
        ):
            await tx.execute(
                "INSERT INTO case_statistics (id, opened_month, category, outcome, "
                "referral_result) VALUES (?, ?, 'work', ?, ?)",
                (f"s{n}", opened, outcome, result),
            )
            await tx.execute(
                "INSERT INTO cases (id, code, person_id, status, opened_on, closed_on, "
                "statistics_id) VALUES (?, ?, 'p', ?, ?, ?, ?)",
                (f"c{n}", f"AAAA-000{n}", status, f"{opened}-05", closed, f"s{n}"),
            )
        await tx.execute(
            "INSERT INTO referrals (id, code, case_id, partner, status, created_on, updated_on) "
            "VALUES ('r', 'R-1', 'c0', 'rock', 'done', '2026-02-01', '2026-04-09')"
        )
        # A case sealed and gone, and an erased person's folded counts.
        await tx.execute(
            "INSERT INTO case_statistics (id, opened_month, outcome) "
            "VALUES ('s9', '2025-12', 'referred')"
        )
        await tx.executemany(
            "INSERT INTO statistics_folded (opened_month, dimension, value, count) "
            "VALUES ('2026-01', ?, ?, 1)",
            [("month", "2026-01"), ("outcome", "not_recorded"), ("referral_result", "done")],
        )
    await old.close()

    new = await Database.open(path, keyring)
    await new.close()
    connection = sqlite3.connect(path)
    try:
        months = dict(
            connection.execute(
                "SELECT id, coalesce(closed_month, '-') || '/' || coalesce(referral_month, '-') "
                "FROM case_statistics"
            )
        )
        assert months == {
            "s0": "2026-03/2026-04",
            "s1": "-/-",
            "s2": "2026-02/-",
            "s9": "2025-12/-",
        }
        counts = stored_counts(connection)
        assert counts == recount(connection)
        assert counts[("2026-03", "outcome", "resolved")] == 1
        assert counts[("2026-02", "outcome", "not_recorded")] == 1
        assert counts[("2026-01", "month", "2026-01")] == 3
        assert ("2026-01", "outcome", "not_recorded") not in counts, "no open case counted"
        assert counts[("2026-01", "referral_result", "done")] == 1
    finally:
        connection.close()


def test_a_database_without_counts_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "old.sqlite3")
    try:
        with pytest.raises(DatabaseError, match="0008_statistics_counts"):
            build_tables(connection, THRESHOLD, today=date(2026, 5, 1))
    finally:
        connection.close()
