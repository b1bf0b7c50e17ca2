"""What the bot does to a person's chat from outside an update (a closed case, a check-in, a
clean-up): step their conversation and show the screen, or delete messages."""

from __future__ import annotations

from telegram.error import BadRequest, Forbidden
from telegram.ext import ExtBot

from bot.logs import EventLogger
from bot.rendering import ChatWriter
from bot.services import Services
from flows.events import Input

_log = EventLogger("chat")


async def show_flow(bot: ExtBot[None], services: Services, chat_id: int, event: Input) -> None:
    """Step a person's conversation from outside an update (a closed case, a check-in)."""
    outcome = await services.conversation.step(chat_id, chat_id, event)
    if outcome is None:
        return
    writer = ChatWriter(bot, services.renderer, chat_id)
    screen = await writer.write(
        outcome.effects, outcome.language, current_screen=outcome.screen_message_id, pressed=None
    )
    if screen != outcome.screen_message_id and not outcome.ended:
        await services.conversation.remember_screen(outcome.person, screen)


async def delete_all(bot: ExtBot[None], chat_id: int, message_ids: list[int | None]) -> None:
    """Delete, 100 at a time, every message Telegram still lets the bot delete. Telegram
    refusing (too old, already gone, the bot blocked) is final; a network failure that
    outlasted the sending retries is raised, so the caller tries again later."""
    ids = sorted({m for m in message_ids if m is not None})
    for start in range(0, len(ids), 100):
        try:
            await bot.delete_messages(chat_id, ids[start : start + 100])
        except (BadRequest, Forbidden):
            _log.warning("delete_failed")
