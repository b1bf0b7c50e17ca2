"""Casework on a temporary database, without Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from casework.person_desk import PersonDesk
from casework.policy import Actor, Policy, StaffRole
from casework.staff_desk import StaffDesk
from knowledge.catalogue import TextCatalogue
from storage.keyring import Keyring
from storage.store import Store
from tests.storage.conftest import FakeClock, clock  # noqa: F401 - fixture re-export

DARA = Actor("Dara", StaffRole.COUNSELLOR)
VISAL = Actor("Visal", StaffRole.COUNSELLOR)
SOPHEA = Actor("Sophea", StaffRole.COORDINATOR)
POLICY = Policy(
    staff_enabled=True,
    queue_alert_minutes=30,
    outcomes=("resolved", "referred", "other"),
    partners=("rock",),
    referral_done_reasons=("helped", "no_contact"),
    staff={"Dara": StaffRole.COUNSELLOR, "Visal": StaffRole.COUNSELLOR},
)


def texts() -> TextCatalogue:
    return TextCatalogue.load()


@pytest.fixture(scope="session")
def catalogue() -> TextCatalogue:
    return texts()


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Store]:  # noqa: F811
    opened = await Store.open(tmp_path / "case.sqlite3", Keyring.generate(), clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def people(store: Store, clock: FakeClock) -> PersonDesk:  # noqa: F811
    return PersonDesk(store, POLICY, clock)


@pytest.fixture
def staff(store: Store, clock: FakeClock, catalogue: TextCatalogue) -> StaffDesk:  # noqa: F811
    return StaffDesk(store, POLICY, catalogue, "en", clock)
