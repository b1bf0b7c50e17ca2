"""Settings: loaded once from a TOML file and the environment into an immutable, typed object.

Every problem is reported as a :class:`ConfigError` that names the file, the key and what is
expected, so the command line can print one clear line and exit with status 2.
Secrets (the bot token, the webhook secret) never live in the file: they come from the
environment or from a file the configuration points at, and are wrapped in :class:`Secret`.
"""

from __future__ import annotations

import re
import stat
import tomllib
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.secret import Secret
from bot.settings import (
    DEFAULT_COMMANDS,
    DisguiseSettings,
    HandoffSettings,
    LoggingSettings,
    OfficeHours,
    PathSettings,
    ReferralSettings,
    Role,
    RunMode,
    SafetySettings,
    SendingSettings,
    Settings,
    StaffMember,
    StaffSettings,
    StorageSettings,
    TelegramSettings,
    WebhookSettings,
)
from storage.retention import RetentionPolicy

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"  # noqa: S105 - a variable name, not a secret
WEBHOOK_SECRET_ENV = "CLGBT_WEBHOOK_SECRET"  # noqa: S105 - a variable name
DEFAULT_CONFIG_NAME = "config.toml"
_TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")
__all__ = [
    "DEFAULT_COMMANDS",
    "DEFAULT_CONFIG_NAME",
    "TOKEN_ENV",
    "WEBHOOK_SECRET_ENV",
    "ConfigError",
    "DisguiseSettings",
    "HandoffSettings",
    "LoggingSettings",
    "OfficeHours",
    "PathSettings",
    "ReferralSettings",
    "Role",
    "RunMode",
    "SafetySettings",
    "SendingSettings",
    "Settings",
    "StaffMember",
    "StaffSettings",
    "StorageSettings",
    "TelegramSettings",
    "WebhookSettings",
    "load_settings",
    "parse_settings",
]
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """A configuration problem, phrased for the person who has to fix it."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: {key}: {problem}")


class _Section:
    """Typed, strict reading of one TOML table; unknown keys are errors, not silence."""

    def __init__(self, source: str, prefix: str, data: Mapping[str, Any]) -> None:
        self.source = source
        self.prefix = prefix
        self.data = data
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.source, self.key(name), problem)

    def raw(self, name: str) -> Any:
        self.seen.add(name)
        return self.data.get(name)

    def string(self, name: str, default: str, *, allow_empty: bool = True) -> str:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(name, f"expected text in quotes, got {_describe(value)}")
        if not allow_empty and not value.strip():
            raise self.error(name, "must not be empty")
        return value

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"expected a whole number, got {_describe(value)}")
        if minimum is not None and value < minimum:
            raise self.error(name, f"expected a number of at least {minimum}, got {value}")
        return value

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(name, f"expected a number, got {_describe(value)}")
        if value <= minimum:
            raise self.error(name, f"expected a number above {minimum:g}, got {value}")
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(name, f"expected true or false, got {_describe(value)}")
        return value

    def table(self, name: str) -> _Section:
        value = self.raw(name)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.error(name, f"expected a table [{self.key(name)}], got {_describe(value)}")
        return _Section(self.source, self.key(name), value)

    def path(self, name: str, default: Path | None, base: Path) -> Path | None:
        text = self.string(name, "" if default is None else str(default))
        if not text:
            return None
        candidate = Path(text).expanduser()
        return candidate if candidate.is_absolute() else base / candidate

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.error(
                unknown[0], "unknown key (check the spelling against config.example.toml)"
            )


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _parse_time(section: _Section, name: str, default: time) -> time:
    text = section.string(name, default.strftime("%H:%M"))
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise section.error(name, f'expected a time like "08:30", got "{text}"')
    return time(int(match[1]), int(match[2]))


def _office_hours(section: _Section) -> OfficeHours:
    zone_name = section.string("timezone", "Asia/Phnom_Penh")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise section.error(
            "timezone", f'unknown time zone "{zone_name}"; use a name like "Asia/Phnom_Penh"'
        ) from exc
    days_raw = section.raw("days")
    days: set[int] = {0, 1, 2, 3, 4}
    if days_raw is not None:
        if not isinstance(days_raw, list) or not all(
            isinstance(d, str) and d.lower() in _WEEKDAYS for d in days_raw
        ):
            raise section.error("days", 'expected a list of day names like ["mon", "tue"]')
        days = {_WEEKDAYS.index(d.lower()) for d in days_raw}
    opens = _parse_time(section, "opens", time(8, 0))
    closes = _parse_time(section, "closes", time(17, 0))
    if closes <= opens:
        raise section.error("closes", "must be later than office_hours.opens")
    holidays_raw = section.raw("holidays")
    holidays: set[date] = set()
    if holidays_raw is not None:
        if not isinstance(holidays_raw, list):
            raise section.error("holidays", 'expected a list of dates like ["2026-04-14"]')
        for item in holidays_raw:
            if isinstance(item, date):
                holidays.add(item)
                continue
            try:
                holidays.add(date.fromisoformat(str(item)))
            except ValueError as exc:
                raise section.error("holidays", f'"{item}" is not a date like 2026-04-14') from exc
    section.finish()
    return OfficeHours(zone, frozenset(days), opens, closes, frozenset(holidays))


def _staff(section: _Section) -> StaffSettings:
    group_id = section.integer("group_id", 0)
    coordinator_chat_id = section.integer("coordinator_chat_id", 0)
    members_raw = section.raw("members")
    members: list[StaffMember] = []
    if members_raw is not None:
        if not isinstance(members_raw, list):
            raise section.error("members", "expected [[staff.members]] tables")
        seen_ids: set[int] = set()
        seen_aliases: set[str] = set()
        for index, item in enumerate(members_raw):
            if not isinstance(item, dict):
                raise section.error("members", "expected [[staff.members]] tables")
            member = _Section(section.source, f"staff.members[{index}]", item)
            user_id = member.integer("user_id", 0, minimum=1)
            if user_id == 0:
                raise member.error("user_id", "missing: the member's numeric Telegram user id")
            role_text = member.string("role", "")
            try:
                role = Role(role_text)
            except ValueError as exc:
                choices = ", ".join(r.value for r in Role)
                raise member.error(
                    "role", f'expected one of {choices}, got "{role_text}"'
                ) from exc
            alias = member.string("alias", "", allow_empty=False).strip()
            if user_id in seen_ids:
                raise member.error("user_id", f"user {user_id} is listed twice")
            if alias.lower() in seen_aliases:
                raise member.error("alias", f'alias "{alias}" is used twice')
            member.finish()
            seen_ids.add(user_id)
            seen_aliases.add(alias.lower())
            members.append(StaffMember(user_id, role, alias))
    language = section.string("language", "en")
    if language not in ("km", "en"):
        raise section.error("language", f'expected "km" or "en", got "{language}"')
    section.finish()
    return StaffSettings(group_id, coordinator_chat_id, tuple(members), language)


def _check_private_file(section: _Section, name: str, path: Path) -> None:
    """A secret file must not be readable by other users (like the master key file)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # reported by the read that follows
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise section.error(
            name,
            f"{path} can be read by other users (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}",
        )


def _read_token(telegram: _Section, base: Path, environ: Mapping[str, str]) -> Secret[str] | None:
    token_file = telegram.path("token_file", None, base)
    token = environ.get(TOKEN_ENV, "").strip()
    if not token and token_file is not None:
        _check_private_file(telegram, "token_file", token_file)
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise telegram.error(
                "token_file",
                f"cannot read {token_file} ({exc.strerror}); create it or set {TOKEN_ENV} instead",
            ) from exc
    if not token:
        return None
    if not _TOKEN_PATTERN.match(token):
        where = TOKEN_ENV if environ.get(TOKEN_ENV) else telegram.key("token_file")
        raise ConfigError(
            telegram.source,
            where,
            "this does not look like a bot token (expected digits, a colon and a long code "
            "from @BotFather)",
        )
    return Secret(token)


def parse_settings(
    data: Mapping[str, Any], *, source: str, base: Path, environ: Mapping[str, str]
) -> Settings:
    """Turn an already-parsed TOML document into :class:`Settings`."""
    root = _Section(source, "", data)

    bot = root.table("bot")
    commands_raw = bot.raw("commands")
    commands = DEFAULT_COMMANDS
    if commands_raw is not None:
        if not isinstance(commands_raw, dict) or not all(
            isinstance(v, str) and v for v in commands_raw.values()
        ):
            raise bot.error(
                "commands",
                'expected a table like { start = "Start", exit = '
                '"Leave" } with the descriptions people see',
            )
        unknown = sorted(set(commands_raw) - {name for name, _ in DEFAULT_COMMANDS})
        if unknown:
            raise bot.error(
                "commands",
                f"unknown command {unknown[0]!r}; the bot has "
                f"{', '.join(name for name, _ in DEFAULT_COMMANDS)}",
            )
        commands = tuple(
            (name, str(commands_raw.get(name, text))) for name, text in DEFAULT_COMMANDS
        )
    disguise = DisguiseSettings(
        name=bot.string("name", DisguiseSettings.name, allow_empty=False),
        description=bot.string("description", DisguiseSettings.description),
        short_description=bot.string("short_description", DisguiseSettings.short_description),
        greeting=bot.string("greeting", ""),
        exit_line=bot.string("exit_line", ""),
        commands=commands,
    )
    bot.finish()

    tg = root.table("telegram")
    mode_text = tg.string("mode", RunMode.POLLING.value)
    try:
        mode = RunMode(mode_text)
    except ValueError as exc:
        raise tg.error("mode", f'expected "polling" or "webhook", got "{mode_text}"') from exc
    base_url = tg.string("base_url", TelegramSettings.base_url, allow_empty=False)
    if not base_url.startswith(("http://", "https://")):
        raise tg.error("base_url", "expected an address starting with http:// or https://")
    telegram = TelegramSettings(
        base_url=base_url,
        base_file_url=tg.string("base_file_url", TelegramSettings.base_file_url),
        mode=mode,
        token=_read_token(tg, base, environ),
    )
    tg.finish()

    wh = root.table("webhook")
    secret = environ.get(WEBHOOK_SECRET_ENV, "").strip()
    webhook = WebhookSettings(
        listen=wh.string("listen", WebhookSettings.listen),
        port=wh.integer("port", WebhookSettings.port, minimum=1),
        url_path=wh.string("url_path", WebhookSettings.url_path),
        public_url=wh.string("public_url", ""),
        secret_token=Secret(secret) if secret else None,
    )
    wh.finish()
    if webhook.port > 65535:
        raise wh.error("port", f"{webhook.port} is not a port (1-65535)")
    if mode is RunMode.WEBHOOK:
        if not webhook.public_url.startswith("https://"):
            raise wh.error("public_url", "webhook mode needs the public https:// address")
        if webhook.secret_token is None or not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
            raise ConfigError(
                source,
                WEBHOOK_SECRET_ENV,
                "webhook mode needs a secret of 16-256 letters, digits, _ or -",
            )

    staff = _staff(root.table("staff"))
    office_hours = _office_hours(root.table("office_hours"))

    ret = root.table("retention")
    retention = RetentionPolicy(
        idle_flow_run_days=ret.integer("idle_flow_run_days", 30, minimum=1),
        closed_case_days=ret.integer("closed_case_days", 90, minimum=1),
        audit_days=ret.integer("audit_days", 365, minimum=1),
    )
    ret.finish()

    pa = root.table("paths")
    database = pa.path("database", PathSettings.database, base)
    key_file = pa.path("key_file", PathSettings.key_file, base)
    if database is None:
        raise pa.error("database", "must not be empty")
    if key_file is None:
        raise pa.error("key_file", "must not be empty")
    paths = PathSettings(database, key_file, pa.path("coordinator_public_key", None, base))
    pa.finish()

    st = root.table("storage")
    storage = StorageSettings(
        allow_clear_key_beside_database=st.boolean("allow_clear_key_beside_database", False),
    )
    st.finish()

    se = root.table("sending")
    sending = SendingSettings(
        overall_per_second=se.number("overall_per_second", 30.0),
        group_per_minute=se.number("group_per_minute", 20.0),
        private_per_second=se.number("private_per_second", 1.0),
        private_burst=se.integer("private_burst", 5, minimum=1),
        give_up_after_seconds=float(se.integer("give_up_after_seconds", 900, minimum=10)),
    )
    se.finish()

    ho = root.table("handoff")
    handoff = HandoffSettings(
        queue_alert_minutes=ho.integer("queue_alert_minutes", 30, minimum=1),
        follow_up_days=ho.integer("follow_up_days", 7, minimum=1),
        check_seconds=ho.integer("check_seconds", 30, minimum=1),
    )
    ho.finish()

    re_ = root.table("referrals")
    chats_raw = re_.raw("partner_chats") or {}
    if not isinstance(chats_raw, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in chats_raw.values()
    ):
        raise re_.error(
            "partner_chats",
            "expected a table of partner id = chat id, like { rock = -1001234567890 }",
        )
    referrals = ReferralSettings(
        partner_chats=tuple((str(k), int(v)) for k, v in chats_raw.items()),
        follow_up_days=re_.integer("follow_up_days", 14, minimum=1),
        small_cell_threshold=re_.integer("small_cell_threshold", 5, minimum=2),
    )
    re_.finish()

    sa = root.table("safety")
    safety = SafetySettings(
        messages_per_window=sa.integer("messages_per_window", 20, minimum=1),
        window_seconds=sa.integer("window_seconds", 60, minimum=1),
        backlog=sa.integer("backlog", 30, minimum=1),
    )
    sa.finish()

    lo = root.table("logging")
    level = lo.string("level", "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise lo.error("level", f'expected DEBUG, INFO, WARNING or ERROR, got "{level}"')
    lo.finish()

    root.finish()
    return Settings(
        source=source,
        bot=disguise,
        telegram=telegram,
        webhook=webhook,
        staff=staff,
        office_hours=office_hours,
        retention=retention,
        paths=paths,
        storage=storage,
        sending=sending,
        handoff=handoff,
        referrals=referrals,
        safety=safety,
        logging=LoggingSettings(level),
    )


def load_settings(path: Path, environ: Mapping[str, str]) -> Settings:
    """Read ``path`` and the environment; raise :class:`ConfigError` on any problem."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(
            source,
            "(file)",
            "not found; copy config.example.toml to "
            "config.toml and edit it, or pass --config PATH",
        ) from exc
    except OSError as exc:
        raise ConfigError(source, "(file)", f"cannot be read ({exc.strerror})") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(source, "(file)", "is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "(syntax)", f"not valid TOML: {exc}") from exc
    return parse_settings(data, source=source, base=path.resolve().parent, environ=environ)
