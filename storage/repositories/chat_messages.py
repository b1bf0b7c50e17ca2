"""The messages of a person's private chat that can still be deleted (Telegram allows it for
48 hours), kept as one encrypted list per person."""

from __future__ import annotations

from storage.ids import new_row_id
from storage.repositories.base import Repository, Tx

DELETABLE_SECONDS = 48 * 3600
MARGIN_SECONDS = 120  # do not try what Telegram may already refuse
MAX_KEPT = 2000


class ChatMessageRepository(Repository):
    table = "chat_messages"

    async def _load(self, person_id: str, tx: Tx | None) -> tuple[str | None, list[list[int]]]:
        row = await self.fetch_one(
            "SELECT id, message_ids FROM chat_messages WHERE person_id = ?", (person_id,), tx
        )
        if row is None:
            return None, []
        return row["id"], list(self.open_json("message_ids", row["id"], row["message_ids"]))

    def _fresh(self, entries: list[list[int]]) -> list[list[int]]:
        now = int(self.clock().timestamp())
        limit = now - DELETABLE_SECONDS + MARGIN_SECONDS
        return [e for e in entries if e[1] >= limit][-MAX_KEPT:]

    async def record(self, person_id: str, message_ids: list[int], tx: Tx | None = None) -> None:
        now = int(self.clock().timestamp())
        async with self.write(tx) as w:
            row_id, entries = await self._load(person_id, w)
            known = {e[0] for e in entries}
            entries += [[m, now] for m in message_ids if m not in known]
            entries = self._fresh(entries)
            if row_id is None:
                row_id = new_row_id()
                await w.execute(
                    "INSERT INTO chat_messages (id, person_id, message_ids) VALUES (?, ?, ?)",
                    (
                        row_id,
                        person_id,
                        self.seal_json("message_ids", row_id, entries, person=person_id),
                    ),
                )
            else:
                await w.execute(
                    "UPDATE chat_messages SET message_ids = ? WHERE id = ?",
                    (self.seal_json("message_ids", row_id, entries, person=person_id), row_id),
                )

    async def take(self, person_id: str, tx: Tx | None = None) -> list[int]:
        """Every id still deletable, forgetting them all."""
        async with self.write(tx) as w:
            row_id, entries = await self._load(person_id, w)
            if row_id is None:
                return []
            await w.execute("DELETE FROM chat_messages WHERE id = ?", (row_id,))
        return sorted(e[0] for e in self._fresh(entries))

    async def peek(self, person_id: str, tx: Tx | None = None) -> list[int]:
        """Every id still deletable, kept (forget them once they are deleted)."""
        _, entries = await self._load(person_id, tx)
        return sorted(e[0] for e in self._fresh(entries))

    async def forget(self, person_id: str, message_ids: list[int], tx: Tx | None = None) -> None:
        """Forget these ids (deleted); ids recorded since are kept."""
        gone = set(message_ids)
        async with self.write(tx) as w:
            row_id, entries = await self._load(person_id, w)
            if row_id is None:
                return
            left = [e for e in entries if e[0] not in gone]
            if not left:
                await w.execute("DELETE FROM chat_messages WHERE id = ?", (row_id,))
                return
            await w.execute(
                "UPDATE chat_messages SET message_ids = ? WHERE id = ?",
                (self.seal_json("message_ids", row_id, left, person=person_id), row_id),
            )
