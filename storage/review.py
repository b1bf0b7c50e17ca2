"""Reading sealed archives on a coordinator's own machine, from a database or a backup copy.

Only the coordinators' private key opens them; the database is opened read-only and never
changed. Nothing here needs the server's master key."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.db import DatabaseError, open_read_only
from storage.sealing import CoordinatorPrivateKey, open_sealed


@dataclass(frozen=True)
class ArchiveEntry:
    case_code: str
    sealed_on: str
    sealed: bytes


def list_archives(database: Path) -> list[ArchiveEntry]:
    if not database.exists():
        raise DatabaseError(f"{database}: no such database or backup")
    connection = open_read_only(database)
    try:
        rows = connection.execute(
            "SELECT case_code, sealed_on, sealed FROM sealed_archives ORDER BY sealed_on, "
            "case_code"
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{database}: not a clgbt database ({exc})") from None
    finally:
        connection.close()
    return [ArchiveEntry(str(code), str(on), bytes(blob)) for code, on, blob in rows]


def open_archive(entry: ArchiveEntry, key: CoordinatorPrivateKey) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(open_sealed(key, entry.case_code, entry.sealed))
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
