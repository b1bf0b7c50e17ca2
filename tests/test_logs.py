"""Logs carry event names and safe fields only."""

from __future__ import annotations

import io
import logging

from bot.logs import EventLogger, configure_logging


def test_project_events_keep_safe_fields_and_redact_text() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    EventLogger("test").info(
        "case_opened", count=3, category="work", note="my boss hit me", chat="Sokha Chan"
    )
    line = stream.getvalue()
    assert "event=case_opened" in line and "count=3" in line and "category=work" in line
    assert "boss" not in line and "Sokha" not in line
    assert line.count("<redacted>") == 2


def test_library_messages_are_reduced_to_name_level_and_error_type() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream, libraries_level="DEBUG")
    token = "123:SECRET-TOKEN-VALUE"
    logging.getLogger("httpx").debug("POST https://api.telegram.org/bot%s/sendMessage", token)
    try:
        raise ValueError("chat 424242 said hello")
    except ValueError:
        logging.getLogger("telegram.ext.Application").exception("Update %s failed", {"id": 1})
    output = stream.getvalue()
    assert token not in output and "424242" not in output and "hello" not in output
    assert "httpx" in output and "error=ValueError" in output
