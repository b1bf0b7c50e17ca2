"""The storage facade: one database, one cipher, and every repository, opened together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.db import Database
from storage.fields import FieldCipher
from storage.keyring import Keyring
from storage.person_keys import PersonKeys, key_store_path
from storage.pseudonyms import Pseudonymizer
from storage.repositories.archives import ArchiveRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.base import Clock, utc_now
from storage.repositories.blocks import BlockRepository
from storage.repositories.case_events import CaseEventRepository
from storage.repositories.cases import CaseRepository
from storage.repositories.chat_messages import ChatMessageRepository
from storage.repositories.flow_runs import FlowRunRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.people import PeopleRepository
from storage.repositories.referrals import ReferralRepository
from storage.repositories.relay import RelayRepository
from storage.repositories.schedule import ScheduleRepository
from storage.shredding import move_to_person_keys, open_person_keys

# Every encrypted column, as (table, column). Rotation re-encrypts exactly these (those under
# the master key), and the plaintext-scan tests write a marker through each. Which of them are
# under a person's key is ``storage.shredding.PERSON_COLUMNS``.
ENCRYPTED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("people", "chat_id"),
    ("people", "consents"),
    ("flow_runs", "state"),
    ("cases", "answers"),
    ("case_events", "body"),
    ("referrals", "summary"),
    ("scheduled_actions", "payload"),
    ("cases", "waiting_since"),
    ("blocks", "reason"),
    ("chat_messages", "message_ids"),
    ("inbox", "payload"),
    ("outbox", "payload"),
)


@dataclass
class Store:
    db: Database
    keyring: Keyring
    person_keys: PersonKeys
    cipher: FieldCipher
    pseudonyms: Pseudonymizer
    people: PeopleRepository
    flow_runs: FlowRunRepository
    cases: CaseRepository
    events: CaseEventRepository
    referrals: ReferralRepository
    audit: AuditRepository
    schedule: ScheduleRepository
    archives: ArchiveRepository
    relay: RelayRepository
    blocks: BlockRepository
    chat_messages: ChatMessageRepository
    inbox: InboxRepository
    outbox: OutboxRepository

    @classmethod
    async def open(
        cls,
        path: Path,
        keyring: Keyring,
        clock: Clock = utc_now,
        *,
        key_store: Path | None = None,
    ) -> Store:
        """Open the database and its person key store (``<database>.keys`` unless
        ``key_store`` says otherwise), refusing a missing or foreign one, and move values
        written before crypto-shredding to their person's key (and timers' due times written
        in clear into their encrypted payloads)."""
        db = await Database.open(path, keyring)
        try:
            person_keys = await open_person_keys(db, keyring, key_store or key_store_path(path))
        except BaseException:
            await db.close()
            raise
        store = cls.attach(db, keyring, clock, person_keys=person_keys)
        try:
            await move_to_person_keys(db, store.cipher)
            await store.schedule.hide_due_times()
        except BaseException:
            await store.close()
            raise
        return store

    @classmethod
    def attach(
        cls,
        db: Database,
        keyring: Keyring,
        clock: Clock = utc_now,
        *,
        person_keys: PersonKeys | None = None,
    ) -> Store:
        """Repositories over an already opened database (and its person key store)."""
        if person_keys is None:
            person_keys = PersonKeys(key_store_path(db.path), keyring)
        cipher = FieldCipher(keyring, person_keys)
        pseudonyms = Pseudonymizer(keyring)
        return cls(
            db=db,
            keyring=keyring,
            person_keys=person_keys,
            cipher=cipher,
            pseudonyms=pseudonyms,
            people=PeopleRepository(db, cipher, pseudonyms, clock),
            flow_runs=FlowRunRepository(db, cipher, clock),
            cases=CaseRepository(db, cipher, clock),
            events=CaseEventRepository(db, cipher, clock),
            referrals=ReferralRepository(db, cipher, clock),
            audit=AuditRepository(db, cipher, clock),
            schedule=ScheduleRepository(db, cipher, clock),
            archives=ArchiveRepository(db, cipher, clock),
            relay=RelayRepository(db, cipher, clock),
            blocks=BlockRepository(db, cipher, clock),
            chat_messages=ChatMessageRepository(db, cipher, clock),
            inbox=InboxRepository(db, cipher, clock),
            outbox=OutboxRepository(db, cipher, clock),
        )

    async def close(self) -> None:
        try:
            await self.db.close()
        finally:
            self.person_keys.close()
