"""The one codec for the case card's callback data: ``card:ACTION:CODE[:EXTRA]``.

Telegram returns callback data verbatim, so anything may arrive: parsing is strict and
anything else is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass

CARD_PREFIX = "card"
ACTIONS = ("claim", "release", "close", "outcome")
_PART = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True)
class CardButton:
    action: str
    code: str
    extra: str = ""

    def encode(self) -> str:
        tail = f":{self.extra}" if self.extra else ""
        return f"{CARD_PREFIX}:{self.action}:{self.code}{tail}"

    @classmethod
    def parse(cls, data: str | None) -> CardButton | None:
        if not data or len(data) > 64:
            return None
        parts = data.split(":")
        if len(parts) not in (3, 4) or parts[0] != CARD_PREFIX or parts[1] not in ACTIONS:
            return None
        if not all(_PART.fullmatch(p) for p in parts[2:]):
            return None
        extra = parts[3] if len(parts) == 4 else ""
        if (parts[1] == "outcome") != bool(extra):
            return None
        return cls(parts[1], parts[2], extra)
