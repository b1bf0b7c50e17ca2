"""Structured logging that cannot carry personal data.

The project's own loggers (``clgbt.*``) log an event name and a few fields; a field whose value
is not a number, a flag or a short identifier-like word is replaced by ``<redacted>``, so a
message text or a name passed by mistake never reaches the output. Records from every other
logger (``telegram``, ``httpx``, ``apscheduler``, ``tornado``, the root logger) are reduced to
the logger's name, the level and the exception type: their messages can hold tokens in URLs,
chat ids, names and message text.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

PROJECT_PREFIX = "clgbt"
_SAFE_WORD = re.compile(r"^[A-Za-z0-9_.:/-]{0,64}$")
_NOISY = ("httpx", "httpcore", "telegram", "apscheduler", "tornado", "hpack", "aiosqlite")


def safe_value(value: object) -> str:
    if value is None or isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, str) and _SAFE_WORD.match(value):
        return value
    return "<redacted>"


class EventLogger:
    """``log.info("update_handled", kind="callback")`` with only safe fields."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(f"{PROJECT_PREFIX}.{name}")

    def _log(
        self, level: int, event: str, fields: dict[str, Any], exc: BaseException | None = None
    ) -> None:
        if not self._logger.isEnabledFor(level):
            return
        if exc is not None:
            fields = {**fields, "error": type(exc).__name__}
        self._logger.log(level, event, extra={"clgbt_fields": fields})

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, exc: BaseException | None = None, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields, exc)


class PrivacyFormatter(logging.Formatter):
    """``2026-11-21T05:40:00 INFO clgbt.bot event=update_handled kind=callback``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        head = f"{stamp} {record.levelname} {record.name}"
        if (
            record.name.startswith(PROJECT_PREFIX)
            and isinstance(record.msg, str)
            and _SAFE_WORD.match(record.msg)
        ):
            fields = getattr(record, "clgbt_fields", {}) or {}
            parts = [f"event={record.msg}"]
            parts += [f"{key}={safe_value(value)}" for key, value in fields.items()]
        else:
            parts = ["event=library_message"]
        if record.exc_info and record.exc_info[0] is not None:
            parts.append(f"error={record.exc_info[0].__name__}")
        return f"{head} {' '.join(parts)}"


def configure_logging(
    level: str = "INFO", stream: TextIO | None = None, libraries_level: str = "WARNING"
) -> logging.Handler:
    """Install the privacy formatter on the root logger; return the handler it added."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(PrivacyFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger(PROJECT_PREFIX).setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(libraries_level)
    logging.captureWarnings(True)
    return handler
