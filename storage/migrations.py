"""Named schema migrations, applied in order, each atomically with the record of it.

Rules: never edit a migration that has shipped; add a new one. Every table that holds data
about a person has a random ``id`` (generated before encryption, bound into each encrypted
value's associated data) and reaches the person through ``ON DELETE CASCADE``, so erasing the
person's row erases everything about them in one statement.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    name: str
    statements: tuple[str, ...]


INITIAL = Migration(
    "0001_initial",
    (
        """CREATE TABLE key_checks (
            key_id INTEGER PRIMARY KEY,
            check_value BLOB NOT NULL
        )""",
        """CREATE TABLE people (
            id TEXT PRIMARY KEY,
            pseudonym TEXT NOT NULL UNIQUE,
            pseudonym_key_id INTEGER NOT NULL,
            chat_id BLOB NOT NULL,
            language TEXT NOT NULL DEFAULT 'km' CHECK (language IN ('km', 'en')),
            consents BLOB,
            created_on TEXT NOT NULL,
            last_seen_on TEXT NOT NULL
        )""",
        """CREATE TABLE flow_runs (
            id TEXT PRIMARY KEY,
            person_id TEXT NOT NULL UNIQUE REFERENCES people(id) ON DELETE CASCADE,
            state BLOB NOT NULL,
            updated_on TEXT NOT NULL
        )""",
        """CREATE TABLE cases (
            id TEXT PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('new', 'waiting', 'assigned', 'closed')),
            category TEXT,
            province TEXT,
            perpetrator TEXT,
            incident_month TEXT,
            urgent INTEGER NOT NULL DEFAULT 0,
            outcome TEXT,
            assigned_alias TEXT,
            topic_id INTEGER,
            opened_on TEXT NOT NULL,
            closed_on TEXT,
            answers BLOB
        )""",
        "CREATE INDEX cases_status ON cases(status, urgent)",
        "CREATE INDEX cases_person ON cases(person_id)",
        """CREATE TABLE case_events (
            id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL,
            occurred_on TEXT NOT NULL,
            body BLOB
        )""",
        "CREATE INDEX case_events_case ON case_events(case_id)",
        """CREATE TABLE referrals (
            id TEXT PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            partner TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT,
            summary BLOB,
            created_on TEXT NOT NULL,
            updated_on TEXT NOT NULL
        )""",
        """CREATE TABLE audit_log (
            id TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT
        )""",
        "CREATE INDEX audit_log_at ON audit_log(at)",
        """CREATE TABLE scheduled_actions (
            id TEXT PRIMARY KEY,
            person_id TEXT REFERENCES people(id) ON DELETE CASCADE,
            case_id TEXT REFERENCES cases(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            due_at TEXT NOT NULL,
            payload BLOB,
            done_at TEXT
        )""",
        "CREATE INDEX scheduled_actions_due ON scheduled_actions(done_at, due_at)",
        """CREATE TABLE sealed_archives (
            id TEXT PRIMARY KEY,
            case_code TEXT NOT NULL UNIQUE,
            person_id TEXT REFERENCES people(id) ON DELETE CASCADE,
            sealed_on TEXT NOT NULL,
            sealed BLOB NOT NULL
        )""",
    ),
)

CASE_STATISTICS = Migration(
    "0002_case_statistics",
    (
        # One anonymous row per case, with no link to a person: what advocacy statistics count.
        # It survives erasure by design (DESIGN.md: statistics keep only anonymous counts).
        """CREATE TABLE case_statistics (
            id TEXT PRIMARY KEY,
            opened_month TEXT NOT NULL,
            category TEXT,
            province TEXT,
            perpetrator TEXT,
            incident_month TEXT,
            outcome TEXT,
            referral_result TEXT
        )""",
        "ALTER TABLE cases ADD COLUMN statistics_id TEXT REFERENCES case_statistics(id)",
    ),
)

HANDOFF = Migration(
    "0003_handoff",
    (
        # The case's language (for the topic name), whether the person's chat is relayed to
        # the case's topic, and since when it has waited (encrypted: a precise time).
        "ALTER TABLE cases ADD COLUMN language TEXT",
        "ALTER TABLE cases ADD COLUMN relay INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE cases ADD COLUMN waiting_since BLOB",
        "CREATE INDEX cases_topic ON cases(topic_id)",
        # Which copy in the topic belongs to which message in the private chat, so replies
        # keep their thread and edits can be mirrored. Message ids identify nobody.
        """CREATE TABLE relayed_messages (
            id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            person_message_id INTEGER NOT NULL,
            topic_message_id INTEGER NOT NULL,
            from_person INTEGER NOT NULL
        )""",
        "CREATE INDEX relayed_person ON relayed_messages(case_id, person_message_id)",
        "CREATE INDEX relayed_topic ON relayed_messages(case_id, topic_message_id)",
        # A pseudonym silenced by staff for abuse, with a reason and an expiry.
        """CREATE TABLE blocks (
            id TEXT PRIMARY KEY,
            person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            reason BLOB,
            until TEXT NOT NULL,
            by_alias TEXT NOT NULL,
            lifted INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX blocks_person ON blocks(person_id)",
    ),
)

CHAT_MESSAGES = Migration(
    "0004_chat_messages",
    (
        # The ids (and send times) of the messages in a person's private chat that the bot may
        # still delete: one encrypted list per person, for quick exit and automatic clean-up.
        """CREATE TABLE chat_messages (
            id TEXT PRIMARY KEY,
            person_id TEXT NOT NULL UNIQUE REFERENCES people(id) ON DELETE CASCADE,
            message_ids BLOB NOT NULL
        )""",
    ),
)

STATISTICS_FOLDED = Migration(
    "0005_statistics_folded",
    (
        # When a person is erased, their cases' per-case statistics rows (a combination of
        # month, category, province, perpetrator, outcome that could single a case out) are
        # deleted and only their per-dimension counts kept here, so that published tables of
        # past months do not change and nothing per case about the person remains.
        """CREATE TABLE statistics_folded (
            opened_month TEXT NOT NULL,
            dimension TEXT NOT NULL,
            value TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (opened_month, dimension, value)
        )""",
    ),
)

INBOX = Migration(
    "0006_inbox",
    (
        # Every update from Telegram, stored (encrypted) before its offset is confirmed, so a
        # crash or a kill never loses one; handled updates keep only their id (to refuse a
        # second delivery) and are forgotten after a day.
        """CREATE TABLE inbox (
            id TEXT PRIMARY KEY,
            update_id INTEGER NOT NULL UNIQUE,
            payload BLOB,
            received_at TEXT NOT NULL,
            done INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX inbox_pending ON inbox (done, update_id)",
    ),
)


def _drop_fraction(table: str, column: str) -> str:
    """``2026-11-21T09:00:05.123456+00:00`` -> ``2026-11-21T09:00:05+00:00``."""
    return (
        f"UPDATE {table} SET {column} = substr({column}, 1, 19) || substr({column}, 27) "  # noqa: S608 - constant names
        f"WHERE substr({column}, 20, 1) = '.'"
    )


def _to_minute(table: str, column: str) -> str:
    """``2026-11-21T09:00:05+00:00`` -> ``2026-11-21T09:00:00+00:00``."""
    return (
        f"UPDATE {table} SET {column} = substr({column}, 1, 17) || '00' || "  # noqa: S608 - constant names
        f"substr({column}, 20) WHERE length({column}) >= 19 AND substr({column}, 18, 2) != '00'"
    )


PERSON_KEYS = Migration(
    "0007_person_keys",
    (
        # Crypto-shredding (storage.person_keys): the id of the person key store that belongs
        # to this database, so a missing or foreign key store is refused at start-up. Moving
        # existing values to the people's keys is done by storage.shredding when the store
        # opens (it needs the keys, which SQL does not have).
        """CREATE TABLE person_key_store (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            store_id TEXT NOT NULL
        )""",
        # Sealed archives no longer name a person: an HMAC under the person's key marks their
        # own archives while that key exists (so erasure deletes them), and nobody's after.
        "ALTER TABLE sealed_archives ADD COLUMN owner_tag BLOB",
        # Clear timestamps lose their precision: minutes for the audit log and finished
        # timers, seconds for due times and block expiries.
        _drop_fraction("audit_log", "at"),
        _to_minute("audit_log", "at"),
        _drop_fraction("scheduled_actions", "due_at"),
        _drop_fraction("scheduled_actions", "done_at"),
        _to_minute("scheduled_actions", "done_at"),
        _drop_fraction("blocks", "until"),
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    INITIAL,
    CASE_STATISTICS,
    HANDOFF,
    CHAT_MESSAGES,
    STATISTICS_FOLDED,
    INBOX,
    PERSON_KEYS,
)
KNOWN_NAMES = frozenset(m.name for m in MIGRATIONS)
