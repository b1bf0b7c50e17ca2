"""Online backups with SQLite's backup API. The copy is as encrypted as the original: it is
useless without the master key, which is never in it."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from storage.db import DatabaseError, open_read_only
from storage.private_files import OutputFileError, create_private


def backup(source: Path, destination: Path) -> int:
    """Copy ``source`` to ``destination`` (which must not exist); return the pages copied."""
    if not source.exists():
        raise DatabaseError(f"{source}: no database to back up")
    destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = create_private(destination)
    except OutputFileError as exc:
        raise DatabaseError(str(exc)) from None
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
