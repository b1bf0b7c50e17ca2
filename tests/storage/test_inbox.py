"""The inbox: stored before confirmation, content erased once handled, refusals kept empty."""

from __future__ import annotations

from storage.store import Store


async def test_updates_are_stored_once_and_pending_until_handled(store: Store) -> None:
    fresh = await store.inbox.add([(10, {"update_id": 10, "message": {"text": "hi"}})])
    assert fresh == {10}
    assert await store.inbox.add([(10, {"update_id": 10})]) == set(), "a redelivery is refused"
    assert [u for u, _ in await store.inbox.pending()] == [10]
    await store.inbox.done(10)
    assert await store.inbox.pending() == []
    row = await store.db.fetchone("SELECT payload, done FROM inbox WHERE update_id = 10")
    assert row is not None and row["payload"] is None and row["done"] == 1
    assert await store.inbox.next_offset() == 11


async def test_refused_updates_are_kept_handled_without_content(store: Store) -> None:
    fresh = await store.inbox.add([(21, {"update_id": 21})], handled=[20, 22])
    assert fresh == {21}
    assert [u for u, _ in await store.inbox.pending()] == [21]
    rows = await store.db.fetchall(
        "SELECT update_id, payload, done FROM inbox WHERE update_id IN (20, 22)"
    )
    assert {(r["update_id"], r["payload"], r["done"]) for r in rows} == {
        (20, None, 1),
        (22, None, 1),
    }
    assert await store.inbox.add([(20, {"update_id": 20})]) == set()
    assert await store.inbox.next_offset() == 23


async def test_pending_ids_without_reading_the_updates(store: Store) -> None:
    await store.inbox.add([(30, {"update_id": 30}), (31, {"update_id": 31})])
    await store.inbox.done(30)
    assert await store.inbox.pending_ids() == {31}
