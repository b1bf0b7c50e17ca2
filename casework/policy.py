"""Who is acting, and the settings the rules depend on (given by the bot, so casework never
reads the configuration itself)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class StaffRole(StrEnum):
    COUNSELLOR = "counsellor"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    """A staff member, known by alias only."""

    alias: str
    role: StaffRole

    @property
    def coordinates(self) -> bool:
        return self.role in (StaffRole.COORDINATOR, StaffRole.ADMIN)


@dataclass(frozen=True)
class Policy:
    staff_enabled: bool = True
    queue_alert_minutes: int = 30
    default_block_days: int = 30
    outcomes: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    referral_done_reasons: tuple[str, ...] = ()
    # alias -> role of everyone a case may be transferred to
    staff: Mapping[str, StaffRole] = field(default_factory=dict)


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
