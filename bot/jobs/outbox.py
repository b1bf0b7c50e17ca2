"""Outbox rows no update is carrying out (a handler failed halfway, or the start-up replay is
still going) are carried out every ``OUTBOX_EVERY_SECONDS``."""

from __future__ import annotations

from bot.outbox_replay import OutboxReplay
from bot.services import BotContext

OUTBOX_EVERY_SECONDS = 15


async def outbox_job(context: BotContext) -> None:
    await OutboxReplay(context.bot, context.services).run()
