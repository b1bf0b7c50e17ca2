"""``clgbt validate --config``: every problem in a configuration at once, not only the first.

The loader stops at the first problem (the service must not start on a broken configuration).
Here each problem found is recorded, its key is taken out so the default applies, and the file
is read again, until it loads; then the combinations that are legal one by one but wrong
together (a token with no staff group, a group without counsellors, ...) are checked."""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import ConfigError, parse_settings
from bot.settings import Role, RunMode, Settings

MAX_ROUNDS = 100
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    problem: str
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning" if self.warning else "error"
        return f"{kind}: {self.key}: {self.problem}"


def _remove(data: dict[str, Any], key: str) -> bool:
    """Take ``key`` (like ``staff.members[0].role``) out of the document; False if absent."""
    parts: list[str | int] = [
        m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _PART.finditer(key)
    ]
    if not parts:
        return False
    node: Any = data
    for part in parts[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    last = parts[-1]
    try:
        del node[last]
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _remove_or_parent(data: dict[str, Any], key: str) -> bool:
    """Remove ``key``; if it is not there (a required value that is missing), remove the
    table or list item that holds it."""
    while key:
        if _remove(data, key):
            return True
        cut = max(key.rfind("."), key.rfind("["))
        key = key[:cut] if cut > 0 else ""
    return False


def check_config(
    path: Path, environ: Mapping[str, str], partner_ids: frozenset[str]
) -> list[ConfigProblem]:
    source = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [ConfigProblem("(file)", f"{source} not found")]
    except (OSError, UnicodeDecodeError) as exc:
        return [ConfigProblem("(file)", f"{source} cannot be read ({type(exc).__name__})")]
    except tomllib.TOMLDecodeError as exc:
        return [ConfigProblem("(syntax)", f"not valid TOML: {exc}")]
    problems: list[ConfigProblem] = []
    seen: set[str] = set()
    data = copy.deepcopy(document)
    settings: Settings | None = None
    for _ in range(MAX_ROUNDS):
        try:
            settings = parse_settings(
                data, source=source, base=path.resolve().parent, environ=environ
            )
            break
        except ConfigError as exc:
            if exc.key not in seen:
                problems.append(ConfigProblem(exc.key, exc.problem))
            seen.add(exc.key)
            if not _remove_or_parent(data, exc.key):
                return problems  # cannot read past this one (an environment value, ...)
    if settings is None:
        return problems
    return problems + combination_problems(settings, document, partner_ids)


def combination_problems(
    settings: Settings, document: Mapping[str, Any], partner_ids: frozenset[str]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    staff = settings.staff
    if settings.telegram.token is not None and staff.group_id == 0:
        problems.append(
            ConfigProblem(
                "staff.group_id",
                "a bot token is set but no staff group: people will be told that no counsellor "
                "can be reached (set the forum group's id to enable hand-offs)",
                warning=True,
            )
        )
    if staff.group_id > 0:
        problems.append(
            ConfigProblem(
                "staff.group_id",
                f"{staff.group_id} is positive; group and supergroup ids are negative "
                "(like -1001234567890)",
            )
        )
    if staff.coordinator_chat_id > 0:
        problems.append(
            ConfigProblem(
                "staff.coordinator_chat_id",
                f"{staff.coordinator_chat_id} is positive; chat ids of groups are negative",
            )
        )
    if staff.group_id != 0 and not any(m.role is Role.COUNSELLOR for m in staff.members):
        problems.append(
            ConfigProblem(
                "staff.members",
                "a staff group is set but no member has the counsellor role: nobody could "
                "claim a case",
            )
        )
    if not settings.office_hours.days:
        problems.append(
            ConfigProblem("office_hours.days", "no office days: people would always hear 'closed'")
        )
    webhook = document.get("webhook")
    port = webhook.get("port") if isinstance(webhook, dict) else None
    if isinstance(port, int) and not 1 <= port <= 65535:
        problems.append(ConfigProblem("webhook.port", f"{port} is not a port (1-65535)"))
    elif settings.telegram.mode is RunMode.WEBHOOK and settings.webhook.port > 65535:
        problems.append(ConfigProblem("webhook.port", "not a port (1-65535)"))
    for partner, _chat in settings.referrals.partner_chats:
        if partner not in partner_ids:
            known = ", ".join(sorted(partner_ids))
            problems.append(
                ConfigProblem(
                    f"referrals.partner_chats.{partner}",
                    f"unknown partner {partner!r}; the partners are {known}",
                )
            )
    for partner, chat in settings.referrals.partner_chats:
        if chat > 0 and partner in partner_ids:
            problems.append(
                ConfigProblem(
                    f"referrals.partner_chats.{partner}",
                    f"{chat} is positive; a partner's group chat id is negative",
                    warning=True,
                )
            )
    return problems
