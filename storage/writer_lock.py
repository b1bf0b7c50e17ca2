"""One writer: the process that opens the database for writing holds an exclusive ``flock`` on
``<database>.lock`` until it closes it (or dies: the kernel releases the lock), so the key
commands and ``clgbt purge`` refuse to run beside the bot instead of splitting its data."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


class DatabaseInUse(Exception):
    """Another process holds the database's writer lock."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def _in_use(database: Path) -> DatabaseInUse:
    return DatabaseInUse(
        f"{database}: the bot (or another clgbt command) is using this database; stop it "
        "first (for example: systemctl stop clgbt) and run this command again"
    )


class WriterLock:
    """An exclusive, non-blocking lock; the file itself is empty and never removed (removing a
    lock file would let two processes lock two different files)."""

    def __init__(self, descriptor: int, path: Path) -> None:
        self._descriptor: int | None = descriptor
        self.path = path

    @classmethod
    def acquire(cls, database: Path) -> WriterLock:
        path = lock_path(database)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise _in_use(database) from None
        return cls(descriptor, path)

    def release(self) -> None:
        if self._descriptor is None:
            return
        descriptor, self._descriptor = self._descriptor, None
        with contextlib.suppress(OSError):
            fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)


def refuse_if_in_use(database: Path) -> None:
    """Refuse (one clear line) when another process holds the lock; creates nothing."""
    path = lock_path(database)
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _in_use(database) from None
    finally:
        os.close(descriptor)
