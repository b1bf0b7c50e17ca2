"""The one generic handler for private chats: every update becomes an engine input, every
step's effects become messages. No ConversationHandler per flow; flows are data."""

from __future__ import annotations

import contextlib

from telegram import Message, Update
from telegram.error import BadRequest, TelegramError

from bot.logs import EventLogger
from bot.rendering import ChatWriter
from bot.services import BotContext
from flows.events import Back, Home, Input, Press, Redisplay, Start, Text, Unsupported
from flows.model import ActionKind
from storage.erasure import erase_person

_log = EventLogger("person")
QUICK_EXIT_PRESS = Press("exit.x")
MEDIA_KINDS = (
    "photo",
    "sticker",
    "voice",
    "video",
    "video_note",
    "document",
    "audio",
    "animation",
    "location",
    "contact",
    "poll",
    "venue",
    "dice",
)


def command_input(text: str) -> Input | None:
    name = text.split(maxsplit=1)[0][1:].split("@", maxsplit=1)[0].lower()
    commands: dict[str, Input] = {
        "start": Start("welcome"),
        "menu": Home(),
        "back": Back(),
        "language": Start("welcome", "language"),
        "help": Redisplay(),
        "exit": QUICK_EXIT_PRESS,
        "delete": Start("erase"),
    }
    return commands.get(name)


def message_input(message: Message) -> Input:
    if message.text is not None:
        if message.text.startswith("/"):
            found = command_input(message.text)
            if found is not None:
                return found
        return Text(message.text)
    for kind in MEDIA_KINDS:
        if getattr(message, kind, None):
            return Unsupported("photo" if kind == "photo" else kind)
    return Unsupported("other")


async def on_private_update(update: Update, context: BotContext) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != "private" or user.is_bot:
        return
    services = context.services
    query = update.callback_query
    pressed: int | None = None
    trigger: int | None = None
    if query is not None:
        event: Input = Press(query.data or "")
        if isinstance(query.message, Message):
            pressed = query.message.message_id
    elif update.message is not None:
        event = message_input(update.message)
        trigger = update.message.message_id
    else:
        return
    outcome = await services.conversation.step(user.id, chat.id, event, update.update_id)
    if outcome is None:
        if query is not None:
            with contextlib.suppress(BadRequest):
                await query.answer()
        _log.info("update_already_handled")
        return
    final = next(
        (p for p in outcome.after_commit if p.action in (ActionKind.QUICK_EXIT, ActionKind.ERASE)),
        None,
    )
    if query is not None:
        answer = None
        if final is not None and final.action is ActionKind.ERASE:
            answer = services.renderer.text("erase.done", outcome.language)
        with contextlib.suppress(BadRequest):
            await query.answer(answer)
    writer = ChatWriter(context.bot, services.renderer, chat.id)
    if final is not None:
        if final.action is ActionKind.ERASE:
            await erase_person(services.store, outcome.person.pseudonym)
            _log.info("person_erased")
        neutral = services.renderer.text("exit.neutral", outcome.language)
        await quick_exit(writer, neutral, [pressed, trigger, outcome.screen_message_id])
        _log.info("quick_exit")
        return
    if isinstance(event, Redisplay):
        await writer.send(services.renderer.text("help.text", outcome.language))
    screen = await writer.write(
        outcome.effects,
        outcome.language,
        current_screen=outcome.screen_message_id,
        pressed=pressed,
    )
    if screen != outcome.screen_message_id and not outcome.ended:
        await services.conversation.remember_screen(outcome.person, screen)
    _log.info("step_done", input=type(event).__name__, effects=len(outcome.effects))


async def quick_exit(writer: ChatWriter, neutral: str, message_ids: list[int | None]) -> None:
    """Delete what can be deleted of this exchange and leave one neutral line."""
    ids = sorted({m for m in message_ids if m is not None})
    if ids:
        try:
            await writer.bot.delete_messages(writer.chat_id, ids)
        except TelegramError:
            _log.warning("quick_exit_delete_failed")
    await writer.send(neutral)
