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

CLEAR_DAYS = Migration(
    "0010_clear_days",
    (
        # Dates kept in clear are days, never times: the audit log, finished timers, blocks'
        # ends and the inbox's arrival keep the day only. Pending timers' due times move into
        # their encrypted payloads when the store opens (storage.repositories.schedule), which
        # needs the keys.
        "UPDATE audit_log SET at = substr(at, 1, 10) WHERE length(at) > 10",
        "UPDATE scheduled_actions SET done_at = substr(done_at, 1, 10) WHERE length(done_at) > 10",
        "UPDATE blocks SET until = substr(until, 1, 10) WHERE length(until) > 10",
        "UPDATE inbox SET received_at = substr(received_at, 1, 10) WHERE length(received_at) > 10",
    ),
)

SEALED_BATCHES = Migration(
    "0009_sealed_batches",
    (
        # Purge seals closed cases in batches (storage.sealing, format version 2): one header
        # per batch, its random batch key HPKE-sealed to the coordinators; each archive of the
        # batch names it. Older archives (batch_id NULL) stay sealed case by case (version 1).
        # A batch holds no person data; purge deletes it once erasure has taken its archives.
        """CREATE TABLE sealed_batches (
            id TEXT PRIMARY KEY,
            sealed_on TEXT NOT NULL,
            sealed_key BLOB NOT NULL
        )""",
        "ALTER TABLE sealed_archives ADD COLUMN batch_id TEXT REFERENCES sealed_batches(id)",
        "CREATE INDEX sealed_archives_batch ON sealed_archives(batch_id)",
        # Deleting cases and people in bulk: their foreign keys' cascades (and the purge's
        # checks) find the rows of these tables by index instead of scanning each table once
        # per deleted case or person.
        "CREATE INDEX referrals_case ON referrals(case_id)",
        "CREATE INDEX scheduled_actions_case ON scheduled_actions(case_id)",
        "CREATE INDEX scheduled_actions_person ON scheduled_actions(person_id)",
        # Archives name no person (person_id stays NULL), but deleting a person still looks
        # for archives with their id: without this index, a scan of every archive.
        "CREATE INDEX sealed_archives_person ON sealed_archives(person_id)",
    ),
)

# Every statistics count summed from the per-case rows and the folded counts (the rules of
# storage.statistics.contributions, in SQL): 0008 fills statistics_counts with it.
STATISTICS_RECOUNT = """SELECT month, dimension, value, sum(n) FROM (
    SELECT opened_month AS month, 'month' AS dimension, opened_month AS value, count(*) AS n
        FROM case_statistics GROUP BY 1, 3
    UNION ALL SELECT opened_month, 'category', coalesce(category, 'not_recorded'), count(*)
        FROM case_statistics GROUP BY 1, 3
    UNION ALL SELECT opened_month, 'province', coalesce(province, 'not_recorded'), count(*)
        FROM case_statistics GROUP BY 1, 3
    UNION ALL SELECT opened_month, 'perpetrator', coalesce(perpetrator, 'not_recorded'), count(*)
        FROM case_statistics GROUP BY 1, 3
    UNION ALL SELECT closed_month, 'outcome', coalesce(outcome, 'not_recorded'), count(*)
        FROM case_statistics WHERE closed_month IS NOT NULL GROUP BY 1, 3
    UNION ALL SELECT referral_month, 'referral_result',
            coalesce(referral_result, 'not_recorded'), count(*)
        FROM case_statistics WHERE referral_month IS NOT NULL GROUP BY 1, 3
    UNION ALL SELECT month, dimension, value, count FROM statistics_folded
) GROUP BY month, dimension, value"""

STATISTICS_COUNTS = Migration(
    "0008_statistics_counts",
    (
        # Each dimension is counted in a month fixed once that month ends (storage.statistics):
        # the outcome in the month the case closed, a referral result in the month it was
        # recorded. Rows written before know these months only from their case (a case gone
        # since, sealed, keeps its opened month); folded counts keep the months they had, and
        # their outcome and result "not_recorded" (mostly cases still open, or without a
        # referral, which are no longer counted) go.
        "ALTER TABLE case_statistics ADD COLUMN closed_month TEXT",
        "ALTER TABLE case_statistics ADD COLUMN referral_month TEXT",
        "CREATE INDEX cases_statistics_0008 ON cases(statistics_id)",  # for these updates only
        """UPDATE case_statistics SET closed_month = (
            SELECT substr(coalesce(c.closed_on, case_statistics.opened_month), 1, 7)
            FROM cases AS c WHERE c.statistics_id = case_statistics.id AND c.status = 'closed')""",
        """UPDATE case_statistics SET closed_month = opened_month WHERE NOT EXISTS
            (SELECT 1 FROM cases AS c WHERE c.statistics_id = case_statistics.id)""",
        """UPDATE case_statistics SET referral_month = coalesce(
            (SELECT substr(max(f.updated_on), 1, 7) FROM cases AS c
             JOIN referrals AS f ON f.case_id = c.id WHERE c.statistics_id = case_statistics.id),
            opened_month) WHERE referral_result IS NOT NULL""",
        "DROP INDEX cases_statistics_0008",
        "ALTER TABLE statistics_folded RENAME COLUMN opened_month TO month",
        """DELETE FROM statistics_folded
            WHERE dimension IN ('outcome', 'referral_result') AND value = 'not_recorded'""",
        # The monthly counts the statistics read (instead of scanning the rows), kept up to
        # date in the transaction of every write of the two tables they sum
        # (storage.statistics_rows); filled here from both.
        """CREATE TABLE statistics_counts (
            month TEXT NOT NULL,
            dimension TEXT NOT NULL,
            value TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (month, dimension, value)
        ) WITHOUT ROWID""",
        "INSERT INTO statistics_counts (month, dimension, value, count) " + STATISTICS_RECOUNT,
    ),
)

OUTBOX = Migration(
    "0011_outbox",
    (
        # What an update decided must still be sent, written in the transaction that recorded
        # the decision and removed once it was sent (bot/kept_effects.py): a crash between the
        # two leaves the row, and the next start sends it. ``seq`` keeps the order; the row
        # keeps nothing in clear, not even a day.
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            payload BLOB NOT NULL
        )""",
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
    STATISTICS_COUNTS,
    SEALED_BATCHES,
    CLEAR_DAYS,
    OUTBOX,
)
KNOWN_NAMES = frozenset(m.name for m in MIGRATIONS)
