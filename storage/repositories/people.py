"""People: a pseudonym instead of a user id, an encrypted chat id, language and consents."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.db import Database, Row
from storage.fields import FieldCipher
from storage.ids import new_row_id
from storage.pseudonyms import Pseudonymizer
from storage.repositories.base import Clock, Repository, Tx, utc_now


@dataclass(frozen=True)
class Person:
    id: str
    pseudonym: str
    chat_id: int
    language: str
    consents: dict[str, bool | int] = field(default_factory=dict)
    created_on: str = ""
    last_seen_on: str = ""


class PeopleRepository(Repository):
    table = "people"

    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        pseudonymizer: Pseudonymizer,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(db, cipher, clock)
        self.pseudonymizer = pseudonymizer

    def _person(self, row: Row) -> Person:
        return Person(
            id=row["id"],
            pseudonym=row["pseudonym"],
            chat_id=int(self.open_text("chat_id", row["id"], row["chat_id"])),
            language=row["language"],
            consents=self.open_json("consents", row["id"], row["consents"]) or {},
            created_on=row["created_on"],
            last_seen_on=row["last_seen_on"],
        )

    async def find(self, user_id: int, tx: Tx | None = None) -> Person | None:
        candidates = list(self.pseudonymizer.candidates(user_id).values())
        marks = ",".join("?" * len(candidates))
        row = await self.fetch_one(
            f"SELECT * FROM people WHERE pseudonym IN ({marks})",  # noqa: S608 - only placeholders are interpolated
            candidates,
            tx,
        )
        return None if row is None else self._person(row)

    async def find_by_pseudonym(self, pseudonym: str, tx: Tx | None = None) -> Person | None:
        row = await self.fetch_one("SELECT * FROM people WHERE pseudonym = ?", (pseudonym,), tx)
        return None if row is None else self._person(row)

    async def get(self, person_id: str, tx: Tx | None = None) -> Person | None:
        row = await self.fetch_one("SELECT * FROM people WHERE id = ?", (person_id,), tx)
        return None if row is None else self._person(row)

    async def get_or_create(
        self, user_id: int, chat_id: int, *, language: str = "km", tx: Tx | None = None
    ) -> tuple[Person, bool]:
        """The person behind ``user_id``, created on first contact; ``True`` if new."""
        async with self.write(tx) as w:
            existing = await self.find(user_id, w)
            today = self.today().isoformat()
            if existing is not None:
                if existing.last_seen_on != today:
                    await w.execute(
                        "UPDATE people SET last_seen_on = ? WHERE id = ?", (today, existing.id)
                    )
                return existing, False
            row_id = new_row_id()
            key_id = self.pseudonymizer.keyring.primary_id
            pseudonym = self.pseudonymizer.pseudonym(user_id, key_id)
            await w.execute(
                "INSERT INTO people (id, pseudonym, pseudonym_key_id, chat_id, language, "
                "consents, created_on, last_seen_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row_id,
                    pseudonym,
                    key_id,
                    self.seal("chat_id", row_id, str(chat_id), person=row_id),
                    language,
                    self.seal_json("consents", row_id, {}, person=row_id),
                    today,
                    today,
                ),
            )
            return Person(row_id, pseudonym, chat_id, language, {}, today, today), True

    async def set_language(self, person_id: str, language: str, tx: Tx | None = None) -> None:
        async with self.write(tx) as w:
            await w.execute("UPDATE people SET language = ? WHERE id = ?", (language, person_id))

    async def set_consents(
        self, person_id: str, consents: dict[str, bool | int], tx: Tx | None = None
    ) -> None:
        async with self.write(tx) as w:
            await w.execute(
                "UPDATE people SET consents = ? WHERE id = ?",
                (self.seal_json("consents", person_id, consents, person=person_id), person_id),
            )

    async def count(self) -> int:
        row = await self.fetch_one("SELECT count(*) AS n FROM people")
        return int(row["n"]) if row else 0
