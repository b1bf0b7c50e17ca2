"""The settings schema: immutable, typed values the service runs with. ``bot/config.py``
loads them from a TOML file and the environment, and checks every value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.secret import Secret
from storage.retention import RetentionPolicy


class Role(StrEnum):
    COUNSELLOR = "counsellor"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class RunMode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    role: Role
    alias: str


DEFAULT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Start"),
    ("menu", "Menu"),
    ("back", "Back"),
    ("language", "Language"),
    ("help", "Help"),
    ("exit", "Leave"),
    ("delete", "Delete my data"),
)


@dataclass(frozen=True)
class DisguiseSettings:
    """What anyone who sees the phone sees: keep it neutral."""

    name: str = "Daily Tips"
    description: str = "Short daily tips and a friendly chat."
    short_description: str = "Daily tips"
    greeting: str = ""
    exit_line: str = ""
    commands: tuple[tuple[str, str], ...] = DEFAULT_COMMANDS


@dataclass(frozen=True)
class TelegramSettings:
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: RunMode = RunMode.POLLING
    token: Secret[str] | None = None


@dataclass(frozen=True)
class WebhookSettings:
    listen: str = "127.0.0.1"
    port: int = 8443
    url_path: str = "telegram"
    public_url: str = ""
    secret_token: Secret[str] | None = None


@dataclass(frozen=True)
class StaffSettings:
    group_id: int = 0
    coordinator_chat_id: int = 0
    members: tuple[StaffMember, ...] = ()
    language: str = "en"

    def role_of(self, user_id: int) -> Role | None:
        for member in self.members:
            if member.user_id == user_id:
                return member.role
        return None

    def member(self, user_id: int) -> StaffMember | None:
        for member in self.members:
            if member.user_id == user_id:
                return member
        return None

    def by_alias(self, alias: str) -> StaffMember | None:
        for member in self.members:
            if member.alias.lower() == alias.strip().lower():
                return member
        return None


@dataclass(frozen=True)
class OfficeHours:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Phnom_Penh"))
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    opens: time = time(8, 0)
    closes: time = time(17, 0)
    holidays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class PathSettings:
    database: Path = Path("data/clgbt.sqlite3")
    key_file: Path = Path("data/master.key")
    coordinator_public_key: Path | None = None


@dataclass(frozen=True)
class StorageSettings:
    """Where the master key may live. A key file in clear on the same filesystem as the
    database is refused unless ``allow_clear_key_beside_database`` says otherwise."""

    allow_clear_key_beside_database: bool = False


@dataclass(frozen=True)
class SendingSettings:
    overall_per_second: float = 30.0
    group_per_minute: float = 20.0
    private_per_second: float = 1.0
    private_burst: int = 5
    give_up_after_seconds: float = 900.0


@dataclass(frozen=True)
class HandoffSettings:
    queue_alert_minutes: int = 30
    follow_up_days: int = 7
    check_seconds: int = 30


@dataclass(frozen=True)
class ReferralSettings:
    partner_chats: tuple[tuple[str, int], ...] = ()
    follow_up_days: int = 14
    small_cell_threshold: int = 5

    def chat_for(self, partner_id: str) -> int | None:
        return dict(self.partner_chats).get(partner_id)

    def partner_for_chat(self, chat_id: int) -> str | None:
        for partner_id, partner_chat in self.partner_chats:
            if partner_chat == chat_id:
                return partner_id
        return None


@dataclass(frozen=True)
class SafetySettings:
    messages_per_window: int = 20
    window_seconds: int = 60
    backlog: int = 30


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"


@dataclass(frozen=True)
class Settings:
    source: str = "(defaults)"
    bot: DisguiseSettings = field(default_factory=DisguiseSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    staff: StaffSettings = field(default_factory=StaffSettings)
    office_hours: OfficeHours = field(default_factory=OfficeHours)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    paths: PathSettings = field(default_factory=PathSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    sending: SendingSettings = field(default_factory=SendingSettings)
    handoff: HandoffSettings = field(default_factory=HandoffSettings)
    referrals: ReferralSettings = field(default_factory=ReferralSettings)
    safety: SafetySettings = field(default_factory=SafetySettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
