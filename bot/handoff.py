"""The Telegram side of a hand-off: one forum topic per case, a case card, and the anonymous
relay both ways with ``copyMessage``; messages are never forwarded, since a forward carries
the sender's identity."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.callback_data import CardButton
from bot.config import Settings
from bot.logs import EventLogger
from bot.office_hours import describe_hours, is_open, next_opening
from bot.rendering import Renderer
from casework.cards import card_lines
from casework.summaries import render_lines
from storage.repositories.cases import Case
from storage.store import Store

_log = EventLogger("handoff")
TOPIC_GONE = ("thread not found", "topic_closed", "topic_deleted", "topic_id_invalid")


def topic_gone(error: BadRequest) -> bool:
    text = str(error).lower()
    return any(fragment in text for fragment in TOPIC_GONE)


def card_keyboard(renderer: Renderer, code: str, language: str) -> InlineKeyboardMarkup:
    def button(action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            renderer.text(f"staff.button.{action}", language),
            callback_data=CardButton(action, code).encode(),
        )

    return InlineKeyboardMarkup([[button("claim"), button("release"), button("close")]])


class Handoff:
    def __init__(self, settings: Settings, store: Store, renderer: Renderer) -> None:
        self.settings = settings
        self.store = store
        self.renderer = renderer
        self.group_id = settings.staff.group_id
        self.staff_language = settings.staff.language

    @property
    def enabled(self) -> bool:
        return self.group_id != 0

    def staff_text(self, key: str, **params: str) -> str:
        return self.renderer.text(key, self.staff_language, params)

    # ------------------------------------------------------------ topic and card
    def topic_name(self, case: Case) -> str:
        return f"{case.code} · {case.category or 'general'} · {case.language or 'km'}"

    async def card_text(self, case: Case) -> str:
        person = await self.store.people.get(case.person_id)
        consented = bool(person and person.consents.get("share_counsellor"))
        answers = await self.store.cases.answers(case.id)
        lines = card_lines(
            case, answers, consented, self.renderer.content.texts, self.staff_language
        )
        return render_lines(lines)[0]

    async def post_card(
        self, bot: ExtBot[None], case: Case, topic_id: int, note: str | None = None
    ) -> None:
        text = await self.card_text(case)
        if note:
            text = f"<i>{html.escape(note)}</i>\n\n{text}"
        await bot.send_message(
            self.group_id,
            text,
            parse_mode=ParseMode.HTML,
            message_thread_id=topic_id,
            protect_content=True,
            reply_markup=card_keyboard(self.renderer, case.code, self.staff_language),
        )

    async def create_topic(self, bot: ExtBot[None], case: Case, *, recreated: bool) -> int:
        topic = await bot.create_forum_topic(self.group_id, self.topic_name(case))
        topic_id = topic.message_thread_id
        await self.store.cases.update(case.id, topic_id=topic_id)
        fresh = await self.store.cases.get(case.id) or case
        note = self.staff_text("staff.topic_recreated") if recreated else None
        await self.post_card(bot, fresh, topic_id, note)
        _log.info("topic_created", recreated=recreated)
        return topic_id

    async def ensure_topic(self, bot: ExtBot[None], case: Case) -> int:
        if case.topic_id is not None:
            return case.topic_id
        return await self.create_topic(bot, case, recreated=False)

    # ------------------------------------------------------------ opening
    async def open(
        self, bot: ExtBot[None], case_id: str, person_chat_id: int, language: str
    ) -> None:
        """After the database step: make sure the case has a topic and tell the person what
        happens next and roughly when."""
        case = await self.store.cases.get(case_id)
        if case is None:
            return
        await self.ensure_topic(bot, case)
        hours = self.settings.office_hours
        now = datetime.now(UTC)
        params = {
            "code": case.code,
            "hours": describe_hours(hours),
            "minutes": str(self.settings.handoff.queue_alert_minutes),
        }
        if case.assigned_alias:
            key = "handoff.resumed"
            params["alias"] = case.assigned_alias
        elif is_open(hours, now):
            key = "handoff.open"
        else:
            key = "handoff.closed"
            params["next"] = next_opening(hours, now).strftime("%a %d %b %H:%M")
        await bot.send_message(
            person_chat_id,
            self.renderer.text(key, language, params),
            parse_mode=ParseMode.HTML,
            reply_markup=self.relay_keyboard(language),
        )
        _log.info("handoff_opened", within_hours=key == "handoff.open")

    def relay_keyboard(self, language: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        self.renderer.text("handoff.end_button", language),
                        callback_data="relay.end",
                    ),
                    InlineKeyboardButton(
                        self.renderer.text("nav.quick_exit", language), callback_data="relay.x"
                    ),
                ]
            ]
        )

    # ------------------------------------------------------------ relay
    async def copy_to_topic(
        self,
        bot: ExtBot[None],
        case: Case,
        chat_id: int,
        message_id: int,
        reply_to: int | None,
    ) -> None:
        """Copy the person's message into the topic; re-create a topic that is gone."""
        reply = (
            ReplyParameters(reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )

        async def copy(topic_id: int, recreated: bool) -> int:
            copied = await bot.copy_message(
                self.group_id,
                chat_id,
                message_id,
                message_thread_id=topic_id,
                reply_parameters=None if recreated else reply,
            )
            return copied.message_id

        copy_id = await self.in_topic(bot, case, copy)
        if copy_id is not None:
            await self.store.relay.link(case.id, message_id, copy_id, from_person=True)

    async def in_topic(
        self,
        bot: ExtBot[None],
        case: Case,
        send: Callable[[int, bool], Awaitable[int]],
        *,
        create_missing: bool = True,
    ) -> int | None:
        """Send into the case's current topic; if it was deleted or closed by hand, re-create
        it (with a new card saying so) and send again. ``send`` gets the topic id and whether
        the topic is new."""
        current = await self.store.cases.get(case.id) or case
        if current.topic_id is None and not create_missing:
            return None
        topic_id = await self.ensure_topic(bot, current)
        try:
            return await send(topic_id, False)
        except BadRequest as exc:
            if not topic_gone(exc):
                raise
        topic_id = await self.create_topic(bot, current, recreated=True)
        return await send(topic_id, True)

    async def mirror_edit(
        self, bot: ExtBot[None], case: Case, message_id: int, text: str, from_person: bool
    ) -> None:
        """Mirror an edited text message to its copy, while Telegram allows editing."""
        if from_person:
            chat_id = self.group_id
            target = await self.store.relay.topic_copy(case.id, message_id)
        else:
            person = await self.store.people.get(case.person_id)
            if person is None:
                return
            chat_id = person.chat_id
            target = await self.store.relay.person_copy(case.id, message_id)
        if target is None:
            return
        try:
            await bot.edit_message_text(text, chat_id, target)
        except BadRequest:
            _log.warning("edit_not_mirrored")

    async def tell_topic(
        self,
        bot: ExtBot[None],
        case: Case,
        key: str,
        reply_markup: InlineKeyboardMarkup | None = None,
        **params: str,
    ) -> None:
        text = self.staff_text(key, **params)

        async def send(topic_id: int, recreated: bool) -> int:
            sent = await bot.send_message(
                self.group_id,
                text,
                parse_mode=ParseMode.HTML,
                message_thread_id=topic_id,
                reply_markup=reply_markup,
            )
            return sent.message_id

        await self.in_topic(bot, case, send, create_missing=False)

    async def tell_person(self, bot: ExtBot[None], case: Case, key: str, **params: str) -> None:
        person = await self.store.people.get(case.person_id)
        if person is None:
            return
        try:
            await bot.send_message(
                person.chat_id,
                self.renderer.text(key, person.language, params),
                parse_mode=ParseMode.HTML,
            )
        except TelegramError as exc:
            _log.warning("person_not_reached", error=type(exc).__name__)

    async def delete_topics(self, bot: ExtBot[None], topic_ids: list[int]) -> None:
        for topic_id in topic_ids:
            try:
                await bot.delete_forum_topic(self.group_id, topic_id)
            except BadRequest:
                _log.warning("topic_delete_failed")
