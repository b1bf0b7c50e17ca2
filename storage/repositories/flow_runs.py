"""Flow runs: where a person is in a flow, encrypted, saved with each step."""

from __future__ import annotations

from typing import Any

from storage.ids import new_row_id
from storage.repositories.base import Repository, Tx


class FlowRunRepository(Repository):
    table = "flow_runs"

    async def load(self, person_id: str, tx: Tx | None = None) -> dict[str, Any] | None:
        row = await self.fetch_one(
            "SELECT id, state FROM flow_runs WHERE person_id = ?", (person_id,), tx
        )
        if row is None:
            return None
        state: dict[str, Any] = self.open_json("state", row["id"], row["state"])
        return state

    async def save(self, person_id: str, state: dict[str, Any], tx: Tx | None = None) -> None:
        async with self.write(tx) as w:
            row = await self.fetch_one(
                "SELECT id FROM flow_runs WHERE person_id = ?", (person_id,), w
            )
            today = self.today().isoformat()
            if row is None:
                row_id = new_row_id()
                await w.execute(
                    "INSERT INTO flow_runs (id, person_id, state, updated_on) VALUES (?, ?, ?, ?)",
                    (
                        row_id,
                        person_id,
                        self.seal_json("state", row_id, state, person=person_id),
                        today,
                    ),
                )
            else:
                await w.execute(
                    "UPDATE flow_runs SET state = ?, updated_on = ? WHERE id = ?",
                    (
                        self.seal_json("state", row["id"], state, person=person_id),
                        today,
                        row["id"],
                    ),
                )

    async def delete(self, person_id: str, tx: Tx | None = None) -> None:
        async with self.write(tx) as w:
            await w.execute("DELETE FROM flow_runs WHERE person_id = ?", (person_id,))
