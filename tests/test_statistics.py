"""Advocacy statistics: exact counts, small cells hidden, and no hidden cell recoverable."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from storage.erasure import erase_person
from storage.keyring import Keyring
from storage.statistics import (
    DIMENSIONS,
    NOT_RECORDED,
    Table,
    build_tables,
    render_csv,
    suppress,
    tables_from_rows,
)
from storage.store import Store
from tests.storage.conftest import FakeClock

THRESHOLD = 5


def generated(n: int, seed: int = 7) -> list[dict[str, str | None]]:
    rng = random.Random(seed)
    categories = [
        "discrimination_work",
        "violence_home",
        "police_authorities",
        "online_abuse",
        "id_documents",
        "forced_marriage",
    ]
    provinces = [f"KH-{i}" for i in range(1, 26)] + ["none"]
    rows = []
    for _ in range(n):
        rows.append(
            {
                "opened_month": f"2026-{rng.randint(1, 12):02d}",
                # a long tail, so that some cells are small
                "category": rng.choices(categories, weights=[50, 30, 15, 4, 0.5, 0.05])[0],
                "province": rng.choices(provinces, weights=[1] * 24 + [0.01, 5])[0],
                "perpetrator": rng.choice(["family_member", "police", "stranger", None]),
                "outcome": rng.choice(["resolved", "referred", None]),
                "referral_result": rng.choices(
                    ["successful", "no_capacity", None], weights=[1, 0.002, 10]
                )[0],
            }
        )
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ten_thousand_cases_match_a_direct_count_with_suppression(seed: int) -> None:
    rows = generated(10_000, seed)
    for table in tables_from_rows(rows, THRESHOLD):
        column = DIMENSIONS[table.dimension]
        direct = Counter(str(row[column] or NOT_RECORDED) for row in rows)
        assert {c.value: c.count for c in table.cells} == dict(direct)
        assert table.total == 10_000 and not table.total_hidden
        for cell in table.cells:
            if cell.count < THRESHOLD:
                assert cell.hidden, f"{table.dimension}.{cell.value} = {cell.count} shown"
        hidden = [c for c in table.cells if c.hidden]
        # Differencing: total minus the shown cells must never isolate one hidden cell.
        assert len(hidden) != 1, f"{table.dimension} hides exactly one cell"
        shown_sum = sum(c.count for c in table.cells if not c.hidden)
        if hidden:
            assert table.total - shown_sum == sum(c.count for c in hidden)


def test_some_generated_tables_really_exercise_suppression() -> None:
    tables = tables_from_rows(generated(10_000, 1), THRESHOLD)
    assert any(c.hidden for t in tables for c in t.cells)


@pytest.mark.parametrize(
    ("counts", "hidden"),
    [
        ({"a": 10, "b": 3, "c": 20}, {"b", "a"}),  # secondary: the smallest other cell
        ({"a": 10, "b": 3, "c": 2}, {"b", "c"}),  # two hidden already: enough
        ({"a": 10, "b": 12}, set()),
        ({"a": 0, "b": 9, "c": 9}, {"a", "b"}),
    ],
)
def test_suppression_rules(counts: dict[str, int], hidden: set[str]) -> None:
    table = suppress(counts, THRESHOLD)
    assert {c.value for c in table.cells if c.hidden} == hidden
    assert not table.total_hidden


def test_a_small_total_hides_everything() -> None:
    table = suppress({"a": 2, "b": 1}, THRESHOLD)
    assert table.total_hidden and all(c.hidden for c in table.cells)
    assert "<5" in render_csv([table], THRESHOLD)


async def open_store(path: Path, clock: FakeClock) -> Store:
    return await Store.open(path, Keyring.generate(), clock)


def tables_of(
    store: Store, start: str | None = None, end: str | None = None, **kwargs: Any
) -> dict[str, Table]:
    connection = store.db.raw_reader()
    try:
        return {
            t.dimension: t
            for t in build_tables(connection, THRESHOLD, start, end, today=TODAY, **kwargs)
        }
    finally:
        connection.close()


TODAY = date(2026, 6, 15)


async def add_cases(
    store: Store, clock: FakeClock, month: str, categories: dict[str, int], user: int
) -> list[str]:
    """Cases opened in ``month``; returns the pseudonyms of the people who opened them."""
    clock.now = datetime(int(month[:4]), int(month[5:]), 10, 9, tzinfo=UTC)
    pseudonyms = []
    for category, n in categories.items():
        for _ in range(n):
            user += 1
            person, _ = await store.people.get_or_create(user, user)
            await store.cases.create(person.id, {}, category=category, province="KH-12")
            pseudonyms.append(person.pseudonym)
    return pseudonyms


async def test_the_database_tables_match_and_survive_erasure(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 10, 9, tzinfo=UTC))
    store = await open_store(tmp_path / "db.sqlite3", clock)
    try:
        people = await add_cases(
            store, clock, "2026-03", {"violence_home": 8, "discrimination_work": 4}, 100
        )
        before = tables_of(store)
        await erase_person(store, people[0])
        tables = tables_of(store)
        category = {c.value: (c.count, c.hidden) for c in tables["category"].cells}
        # 4 is small, and with a total of 12 the 8 would give it away: both are hidden.
        assert category == {
            "violence_home": (8, True),
            "discrimination_work": (4, True),
            NOT_RECORDED: (0, True),
        }
        assert tables["category"].total == 12, "anonymous counts outlive erasure"
        assert tables == before, "a released month's tables do not change when a person goes"
        rows = await store.db.fetchone("SELECT count(*) AS n FROM case_statistics")
        assert rows is not None and rows["n"] == 11, "the erased person's per-case row is gone"
    finally:
        await store.close()


async def test_the_current_month_is_never_published(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 5, 1, tzinfo=UTC))
    store = await open_store(tmp_path / "db.sqlite3", clock)
    try:
        await add_cases(store, clock, "2026-05", {"violence_home": 9, "online_abuse": 7}, 100)
        first = tables_of(store, "2026-05", "2026-12")
        # The next day a new case arrives in the current month (June, as TODAY is).
        await add_cases(store, clock, "2026-06", {"forced_marriage": 1}, 500)
        for start, end in ((None, None), ("2026-05", "2026-12"), ("2026-06", None)):
            tables = tables_of(store, start, end)
            assert all(c.value != "forced_marriage" for t in tables.values() for c in t.cells), (
                start,
                end,
            )
            assert all(c.value != "2026-06" for c in tables["month"].cells)
        assert tables_of(store, "2026-05", "2026-12") == first
        assert tables_of(store, "2026-06", "2026-06")["category"].cells == ()
    finally:
        await store.close()


async def test_adjacent_and_overlapping_ranges_recover_no_hidden_cell(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    store = await open_store(tmp_path / "db.sqlite3", clock)
    try:
        user = 100
        for month in ("2026-01", "2026-02", "2026-03"):
            await add_cases(
                store,
                clock,
                month,
                {"violence_home": 9, "online_abuse": 8, "forced_marriage": 6},
                user,
            )
            user += 100
        # April: a single forced marriage case. Jan-Mar shows 18; were Jan-Apr to show 19,
        # the difference would reveal it.
        await add_cases(
            store,
            clock,
            "2026-04",
            {"violence_home": 9, "online_abuse": 8, "forced_marriage": 1},
            user,
        )
        q1 = tables_of(store, "2026-01", "2026-03")
        with_april = tables_of(store, "2026-01", "2026-04")
        april = tables_of(store, "2026-04", "2026-04")
        assert {c.value: c for c in q1["category"].cells}["forced_marriage"].count == 18
        for name in ("category", "province", "perpetrator", "month"):
            earlier = {c.value: c for c in q1[name].cells}
            own = {c.value: c for c in april[name].cells}
            for cell in with_april[name].cells:
                before = earlier.get(cell.value)
                if cell.hidden or before is None or before.hidden:
                    continue
                # Whatever differencing gives is April's own published cell, nothing more.
                difference = cell.count - before.count
                if difference:
                    mine = own[cell.value]
                    assert not mine.hidden and mine.count == difference, (name, cell.value)
        fm = {c.value: c for c in with_april["category"].cells}["forced_marriage"]
        assert fm.hidden, "hidden in April, so hidden in every range that contains April"
        # Summing hidden cells gives nothing: never exactly one hidden cell beside a total.
        for tables in (q1, with_april, april):
            for table in tables.values():
                if not table.total_hidden:
                    assert sum(c.hidden for c in table.cells) != 1, table.dimension
    finally:
        await store.close()


async def test_every_known_value_is_listed_and_a_small_label_proves_nothing(
    tmp_path: Path,
) -> None:
    clock = FakeClock(datetime(2026, 2, 1, tzinfo=UTC))
    store = await open_store(tmp_path / "db.sqlite3", clock)
    try:
        await add_cases(store, clock, "2026-02", {"violence_home": 12, "online_abuse": 2}, 100)
        universe = {"category": ["violence_home", "online_abuse", "forced_marriage"]}
        tables = tables_of(store, universe=universe)
        category = {c.value: c for c in tables["category"].cells}
        assert set(category) == {"violence_home", "online_abuse", "forced_marriage", NOT_RECORDED}
        # A case that exists and a value with no case at all look the same: "<5".
        assert category["online_abuse"].hidden and category["forced_marriage"].hidden
        text = render_csv(list(tables.values()), THRESHOLD)
        assert "category,forced_marriage,<5" in text and "category,online_abuse,<5" in text
    finally:
        await store.close()


async def test_a_period_with_no_complete_month_is_empty(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 6, 2, tzinfo=UTC))
    store = await open_store(tmp_path / "db.sqlite3", clock)
    try:
        await add_cases(store, clock, "2026-06", {"violence_home": 30}, 100)
        for table in tables_of(store).values():
            assert table.cells == () and table.total_hidden
    finally:
        await store.close()
