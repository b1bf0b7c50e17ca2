"""``/start`` and the language choice: the first thing a person sees."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.logs import EventLogger
from bot.services import BotContext
from knowledge.catalogue import LANGUAGES

LANGUAGE_CALLBACK_PREFIX = "lang:"
_log = EventLogger("start")


def language_keyboard(context: BotContext) -> InlineKeyboardMarkup:
    texts = context.services.texts
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.text("language.button", lang),
                    callback_data=f"{LANGUAGE_CALLBACK_PREFIX}{lang}",
                )
                for lang in LANGUAGES
            ]
        ]
    )


async def start(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None or chat.type != "private" or update.effective_message is None:
        return
    texts = context.services.texts
    greeting = "\n".join(texts.text("start.greeting", lang) for lang in LANGUAGES)
    await update.effective_message.reply_text(greeting, reply_markup=language_keyboard(context))
    _log.info("start_shown")


async def choose_language(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        return
    data = query.data or ""
    language = data.removeprefix(LANGUAGE_CALLBACK_PREFIX)
    if not data.startswith(LANGUAGE_CALLBACK_PREFIX) or language not in LANGUAGES:
        await query.answer()
        _log.warning("callback_rejected", reason="unknown_language")
        return
    await query.answer()
    await query.edit_message_text(context.services.texts.text("language.chosen", language))
    _log.info("language_chosen", language=language)
