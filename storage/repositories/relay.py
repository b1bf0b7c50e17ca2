"""The map between messages in a person's private chat and their copies in the case topic."""

from __future__ import annotations

from storage.ids import new_row_id
from storage.repositories.base import Repository, Tx


class RelayRepository(Repository):
    table = "relayed_messages"

    async def link(
        self,
        case_id: str,
        person_message_id: int,
        topic_message_id: int,
        *,
        from_person: bool,
        tx: Tx | None = None,
    ) -> None:
        async with self.write(tx) as w:
            await w.execute(
                "INSERT INTO relayed_messages (id, case_id, person_message_id, "
                "topic_message_id, from_person) VALUES (?, ?, ?, ?, ?)",
                (new_row_id(), case_id, person_message_id, topic_message_id, int(from_person)),
            )

    async def topic_copy(self, case_id: str, person_message_id: int) -> int | None:
        row = await self.fetch_one(
            "SELECT topic_message_id FROM relayed_messages WHERE case_id = ? "
            "AND person_message_id = ? ORDER BY rowid DESC LIMIT 1",
            (case_id, person_message_id),
        )
        return None if row is None else int(row["topic_message_id"])

    async def person_copy(self, case_id: str, topic_message_id: int) -> int | None:
        row = await self.fetch_one(
            "SELECT person_message_id FROM relayed_messages WHERE case_id = ? "
            "AND topic_message_id = ? ORDER BY rowid DESC LIMIT 1",
            (case_id, topic_message_id),
        )
        return None if row is None else int(row["person_message_id"])

    async def count(self, case_id: str) -> int:
        row = await self.fetch_one(
            "SELECT count(*) AS n FROM relayed_messages WHERE case_id = ?", (case_id,)
        )
        return int(row["n"]) if row else 0
