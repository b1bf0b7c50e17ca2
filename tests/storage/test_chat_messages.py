"""The deletable messages of a chat: taken at once (Quick exit), or read and forgotten only
once deleted (the automatic clean-up, which a crash or an outage may interrupt)."""

from __future__ import annotations

from storage.store import Store
from tests.casework.helpers import person


async def test_peek_keeps_and_forget_drops_only_what_was_deleted(store: Store) -> None:
    who = await person(store, 501)
    await store.chat_messages.record(who.id, [3, 1, 2])
    assert await store.chat_messages.peek(who.id) == [1, 2, 3]
    assert await store.chat_messages.peek(who.id) == [1, 2, 3], "reading forgets nothing"
    await store.chat_messages.record(who.id, [4])  # sent while the clean-up was deleting
    await store.chat_messages.forget(who.id, [1, 2, 3])
    assert await store.chat_messages.peek(who.id) == [4]
    await store.chat_messages.forget(who.id, [4])
    assert await store.chat_messages.take(who.id) == []
    await store.chat_messages.forget(who.id, [9])  # nothing kept: nothing to do


async def test_take_forgets_everything_at_once(store: Store) -> None:
    who = await person(store, 502)
    await store.chat_messages.record(who.id, [7, 8])
    assert await store.chat_messages.take(who.id) == [7, 8]
    assert await store.chat_messages.peek(who.id) == []
