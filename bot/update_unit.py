"""One database unit at the end of each update.

While an update is handled, the writes that follow its Bot API calls (the ids of the messages
sent into a private chat, kept for Quick exit; the id of the screen now showing) are collected
here instead of each being its own transaction, and written together with the inbox's "handled"
mark in one transaction when every handler has run. A flow step writes the "handled" mark in
its own transaction, so an update whose step sent no new message has nothing left to write.
The unit is per update: it lives in a context variable, which each update's task has its own
copy of."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from storage.repositories.people import Person

_current: ContextVar[UpdateUnit | None] = ContextVar("clgbt_update_unit", default=None)


@dataclass
class UpdateUnit:
    close: Callable[[UpdateUnit], Awaitable[None]]
    tracked: dict[int, list[int]] = field(default_factory=dict)  # chat id -> message ids
    screens: dict[str, tuple[Person, int | None]] = field(default_factory=dict)
    closed: bool = False
    deferred: bool = False  # written elsewhere, in a batch (a dropped update)
    handled: bool = False  # the inbox's "handled" mark went with the step's own transaction
    update_id: int | None = None
    # Outbox rows this update's decisions kept: removed in the closing transaction, once sent.
    kept: list[str] = field(default_factory=list)
    # Where staff replies go (chat, topic, message to answer), kept with the effects.
    origin: dict[str, int | None] | None = None
    # The next casework decision is this update's only one: it marks the update handled.
    decides: bool = False
    # A send was cut short by the bot stopping: what the update decided stays kept.
    interrupted: bool = False
    # A handler raised: its outbox rows stay, for the replay to carry out.
    failed: bool = False

    @staticmethod
    def begin(
        close: Callable[[UpdateUnit], Awaitable[None]], update_id: int | None = None
    ) -> UpdateUnit:
        unit = UpdateUnit(close, update_id=update_id)
        _current.set(unit)
        return unit

    @staticmethod
    async def close_current() -> None:
        """Write the unit now (a person's update closes it before the next of their updates
        may start, so that one reads what this one wrote)."""
        unit = _current.get()
        if unit is not None and not unit.closed:
            unit.closed = True
            if not unit.deferred:
                await unit.close(unit)

    @staticmethod
    def current() -> UpdateUnit | None:
        return _current.get()

    @staticmethod
    def end() -> UpdateUnit | None:
        unit = _current.get()
        _current.set(None)
        return unit

    def track(self, chat_id: int, message_ids: list[int]) -> None:
        self.tracked.setdefault(chat_id, []).extend(message_ids)

    def screen(self, person: Person, message_id: int | None) -> None:
        self.screens[person.id] = (person, message_id)

    @property
    def empty(self) -> bool:
        return not self.tracked and not self.screens and not self.kept

    @staticmethod
    def deciding(origin: dict[str, int | None] | None) -> None:
        """The next casework decision is the update's only one (see ``bot/kept_effects.py``)."""
        unit = _current.get()
        if unit is not None:
            unit.decides = True
            unit.origin = origin

    @staticmethod
    def mark_failed() -> None:
        unit = _current.get()
        if unit is not None:
            unit.failed = True

    @staticmethod
    def mark_handled() -> None:
        """The update's "handled" mark is written with its step (a button press on the current
        screen then needs no closing transaction at all)."""
        unit = _current.get()
        if unit is not None:
            unit.handled = True
