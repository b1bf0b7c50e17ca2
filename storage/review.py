"""Reading sealed archives on a coordinator's own machine, from a database or a backup copy.

Only the coordinators' private key opens them; the database is opened read-only and never
changed. Nothing here needs the server's master key. Both archive formats open: version 1
(sealed case by case) and version 2 (sealed in batches: the batch's header is opened once,
then each archive of the batch with the batch key, see ``storage.sealing``). A copy made
before batches existed has no ``sealed_batches`` table, and only version 1 archives."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.db import DatabaseError, open_read_only
from storage.sealing import (
    CoordinatorPrivateKey,
    SealingError,
    open_batch_key,
    open_in_batch,
    open_sealed,
)

BatchKeys = dict[str, bytes]  # opened batch keys by batch id, kept by a caller opening many


@dataclass(frozen=True)
class ArchiveEntry:
    case_code: str
    sealed_on: str
    sealed: bytes
    batch_id: str | None = None  # None: version 1; else the batch and its header (version 2)
    batch_header: bytes | None = None


_V1_ONLY = "SELECT case_code, sealed_on, sealed, NULL, NULL FROM sealed_archives"
_BOTH = (
    "SELECT a.case_code, a.sealed_on, a.sealed, a.batch_id, b.sealed_key "
    "FROM sealed_archives a LEFT JOIN sealed_batches b ON b.id = a.batch_id"
)


def _has_batches(connection: sqlite3.Connection) -> bool:
    row = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sealed_batches'"
    ).fetchone()
    return row is not None


def list_archives(database: Path) -> list[ArchiveEntry]:
    if not database.exists():
        raise DatabaseError(f"{database}: no such database or backup")
    connection = open_read_only(database)
    try:
        query = _BOTH if _has_batches(connection) else _V1_ONLY
        rows = connection.execute(f"{query} ORDER BY 2, 1").fetchall()
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{database}: not a clgbt database ({exc})") from None
    finally:
        connection.close()
    return [
        ArchiveEntry(
            str(code),
            str(on),
            bytes(blob),
            None if batch is None else str(batch),
            None if header is None else bytes(header),
        )
        for code, on, blob, batch, header in rows
    ]


def open_entry(
    entry: ArchiveEntry, key: CoordinatorPrivateKey, batch_keys: BatchKeys | None = None
) -> bytes:
    """The archive's plaintext. A version 2 archive's batch key is taken from ``batch_keys``
    or opened from its header (and kept there), so a batch costs one decapsulation."""
    if entry.batch_id is None:
        return open_sealed(key, entry.case_code, entry.sealed)
    keys = {} if batch_keys is None else batch_keys
    batch_key = keys.get(entry.batch_id)
    if batch_key is None:
        if entry.batch_header is None:
            raise SealingError(f"archive {entry.case_code}: its batch header is missing")
        batch_key = open_batch_key(key, entry.batch_id, entry.batch_header)
        keys[entry.batch_id] = batch_key
    return open_in_batch(batch_key, entry.batch_id, entry.case_code, entry.sealed)


def open_archive(
    entry: ArchiveEntry, key: CoordinatorPrivateKey, batch_keys: BatchKeys | None = None
) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(open_entry(entry, key, batch_keys))
    return document


def to_markdown(document: dict[str, Any]) -> str:
    lines = [f"# Case {document.get('code')}", ""]
    for field in (
        "status",
        "category",
        "province",
        "perpetrator",
        "incident_month",
        "urgent",
        "outcome",
        "opened_on",
        "closed_on",
    ):
        lines.append(f"- **{field.replace('_', ' ')}**: {document.get(field)}")
    lines += ["", "## Answers", ""]
    for name, value in sorted((document.get("answers") or {}).items()):
        lines.append(f"- **{name}**: {value}")
    lines += ["", "## Events", ""]
    for event in document.get("events") or []:
        text = f": {event['text']}" if event.get("text") else ""
        lines.append(f"- {event['on']} {event['kind']} ({event['by']}){text}")
    lines += ["", "## Referrals", ""]
    for referral in document.get("referrals") or []:
        lines.append(
            f"- {referral['code']} to {referral['partner']}: {referral['status']}"
            f" ({referral.get('reason') or '-'})"
        )
    return "\n".join(lines) + "\n"
