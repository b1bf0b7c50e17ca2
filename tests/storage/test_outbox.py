"""The outbox table: rows kept in the caller's transaction (or not at all), read back oldest
first, removed once sent, and nothing in them readable on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.store import Store
from tests.storage.conftest import database_files


async def test_rows_come_back_in_the_order_kept_and_go_once_removed(store: Store) -> None:
    async with store.db.transaction() as tx:
        first = await store.outbox.add({"kind": "effects", "n": 1}, tx)
        second = await store.outbox.add({"kind": "step", "n": 2}, tx)
    async with store.db.transaction() as tx:
        third = await store.outbox.add({"kind": "effects", "n": 3}, tx)
    pending = await store.outbox.pending()
    assert [row_id for row_id, _ in pending] == [first, second, third]
    assert [payload["n"] for _, payload in pending] == [1, 2, 3]
    await store.outbox.remove([second])
    assert [row_id for row_id, _ in await store.outbox.pending()] == [first, third]
    await store.outbox.remove([first, third, "o-unknown"])
    assert await store.outbox.count() == 0


async def test_a_row_is_kept_only_if_its_decision_commits(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.db.transaction() as tx:
            await store.outbox.add({"kind": "effects"}, tx)
            raise RuntimeError("the decision failed")
    assert await store.outbox.pending() == []


async def test_what_a_row_holds_is_encrypted_on_disk(store: Store, db_path: Path) -> None:
    async with store.db.transaction() as tx:
        await store.outbox.add({"text": "MARKER-the-landlord-said"}, tx)
    await store.db.checkpoint()
    for name, raw in database_files(db_path).items():
        assert b"MARKER-the-landlord-said" not in raw, name
    assert (await store.outbox.pending())[0][1] == {"text": "MARKER-the-landlord-said"}


async def test_rows_being_carried_out_are_not_even_read(store: Store) -> None:
    async with store.db.transaction() as tx:
        held = await store.outbox.add({"n": 1}, tx)
        free = await store.outbox.add({"n": 2}, tx)
    assert [r for r, _ in await store.outbox.pending(skip={held})] == [free]
    assert await store.outbox.pending(skip={held, free}) == []


async def test_a_row_that_cannot_be_opened_comes_back_empty(store: Store) -> None:
    async with store.db.transaction() as tx:
        row_id = await store.outbox.add({"n": 1}, tx)
        await tx.execute("UPDATE outbox SET payload = ? WHERE id = ?", (b"damaged", row_id))
    assert await store.outbox.pending() == [(row_id, None)]
