"""Storage fixtures: a temporary database, its keyring and a clock the test controls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.keyring import Keyring
from storage.store import Store


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: int = 0, seconds: int = 0) -> None:
        self.now += timedelta(days=days, seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "clgbt.sqlite3"


@pytest.fixture
async def store(db_path: Path, keyring: Keyring, clock: FakeClock) -> AsyncIterator[Store]:
    opened = await Store.open(db_path, keyring, clock)
    try:
        yield opened
    finally:
        await opened.close()


def database_files(db_path: Path) -> dict[str, bytes]:
    """The database and whichever of its -wal and -journal files exist, as raw bytes."""
    files = {}
    for suffix in ("", "-wal", "-journal", "-shm"):
        candidate = db_path.with_name(db_path.name + suffix)
        if candidate.exists():
            files[candidate.name] = candidate.read_bytes()
    return files
