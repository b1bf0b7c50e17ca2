"""What goes into the engine (inputs) and what comes out (effects): plain frozen values.

The bot turns Telegram updates into inputs and carries out the effects; the engine never sees
Telegram and never does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flows.model import ActionKind

# ------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Start:
    """Begin a flow (the home flow when ``flow_id`` is None), forgetting where the run was."""

    flow_id: str | None = None
    node_id: str | None = None


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Press:
    """A button press: the raw callback data, untrusted until resolved against the state."""

    data: str


@dataclass(frozen=True)
class Back:
    pass


@dataclass(frozen=True)
class Home:
    pass


@dataclass(frozen=True)
class Redisplay:
    """Show the current screen again (after /help, or when resuming)."""


@dataclass(frozen=True)
class ActionDone:
    """The bot's answer to an awaited action, e.g. ``{"case_code": "K7QM-2XPA"}``."""

    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Unsupported:
    """Something the flow cannot take: a sticker, a photo, a voice message..."""

    kind: str


Input = Start | Text | Press | Back | Home | Redisplay | ActionDone | Unsupported

# ------------------------------------------------------------------ effects


@dataclass(frozen=True)
class Button:
    label: str  # catalogue key
    data: str  # opaque callback data, resolved server-side
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Screen:
    """A screen that waits for the person: text (or an article page) and buttons."""

    text: str | None
    buttons: tuple[tuple[Button, ...], ...]
    params: dict[str, str] = field(default_factory=dict)
    article: str | None = None
    page: int = 0
    pages: int = 1
    answers: tuple[tuple[str, str, str | None], ...] = ()  # (name, value, value list or None)


@dataclass(frozen=True)
class Say:
    """A message that does not wait (the text of a ``message`` or ``end`` node)."""

    text: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """A short explanation before the current screen is shown again."""

    key: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Perform:
    """Ask the bot to carry out an action; awaited actions answer with :class:`ActionDone`."""

    action: ActionKind
    params: dict[str, str] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunEnded:
    """The person's run is over (quick exit or erasure): nothing is kept."""


Effect = Screen | Say | Notice | Perform | RunEnded


@dataclass(frozen=True)
class Step:
    state: dict[str, Any] | None
    effects: tuple[Effect, ...]
