"""Where a decision's effects are kept until they are carried out.

Casework records each decision in one transaction; the keeper writes the decision's effects
into that same transaction (the bot's keeper puts them in the outbox), so that a crash after
the commit cannot lose what was decided. Casework itself stays free of Telegram: it only
hands the keeper its effects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from casework.effects import Effect
from storage.repositories.base import Tx


class Keeper(Protocol):
    async def keep(self, tx: Tx, effects: Sequence[Effect]) -> None:
        """Keep ``effects`` in ``tx``, the transaction that recorded the decision."""


class KeepNothing:
    """For casework on its own (tests, tools): effects are only returned."""

    async def keep(self, tx: Tx, effects: Sequence[Effect]) -> None:
        return None
