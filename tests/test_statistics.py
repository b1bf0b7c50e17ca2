"""Advocacy statistics: exact counts, small cells hidden, and no hidden cell recoverable."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from storage.erasure import erase_person
from storage.keyring import Keyring
from storage.statistics import (
    DIMENSIONS,
    NOT_RECORDED,
    build_tables,
    render_csv,
    suppress,
    tables_from_rows,
)
from storage.store import Store

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


async def test_the_database_tables_match_and_survive_erasure(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite3", Keyring.generate())
    try:
        people = []
        for n in range(12):
            person, _ = await store.people.get_or_create(100 + n, 100 + n)
            people.append(person)
            await store.cases.create(
                person.id,
                {},
                category="violence_home" if n < 8 else "discrimination_work",
                province="KH-12",
            )
        await erase_person(store, people[0].pseudonym)
        connection = store.db.raw_reader()
        try:
            tables = {t.dimension: t for t in build_tables(connection, THRESHOLD)}
        finally:
            connection.close()
        category = {c.value: (c.count, c.hidden) for c in tables["category"].cells}
        # 4 is small, and with a total of 12 the 8 would give it away: both are hidden.
        assert category == {"violence_home": (8, True), "discrimination_work": (4, True)}
        assert tables["category"].total == 12, "anonymous counts outlive erasure"
    finally:
        await store.close()
