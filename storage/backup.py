"""Online backups with SQLite's backup API. The copy is as encrypted as the original: it is
useless without the master key, which is never in it."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from storage.db import DatabaseError, open_read_only


def backup(source: Path, destination: Path) -> int:
    """Copy ``source`` to ``destination`` (which must not exist); return the pages copied."""
    if not source.exists():
        raise DatabaseError(f"{source}: no database to back up")
    if destination.exists():
        raise DatabaseError(f"{destination}: already exists; choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(descriptor)
    pages = 0

    def progress(status: int, remaining: int, total: int) -> None:
        nonlocal pages
        pages = total

    reader = open_read_only(source)
    writer = sqlite3.connect(destination)
    try:
        reader.backup(writer, pages=256, progress=progress)
        writer.execute("PRAGMA journal_mode = DELETE")
    finally:
        writer.close()
        reader.close()
    return pages
