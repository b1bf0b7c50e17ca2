"""Turning engine effects into Telegram messages: catalogue text in the person's language,
HTML with everything a person typed escaped, buttons from the screen's rows."""

from __future__ import annotations

import contextlib
import html
import warnings
from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from bot.content import Content
from bot.partner_list import PartnerList
from flows.events import Button, Effect, Notice, Perform, Say, Screen
from flows.model import ActionKind
from knowledge.articles import format_date, localise_number
from knowledge.validation import article_screen


class Renderer:
    def __init__(
        self,
        content: Content,
        defaults: dict[str, str] | None = None,
        overrides: dict[str, str] | None = None,
    ) -> None:
        self.content = content
        self.defaults = defaults or {}
        # Texts the configuration replaces in every language (the disguise's first greeting).
        self.overrides = overrides or {}

    def text(self, key: str, language: str, params: dict[str, str] | None = None, /) -> str:
        if key in self.overrides:
            return html.escape(self.overrides[key], quote=False)
        merged = {**self.defaults, **(params or {})}
        escaped = {k: html.escape(v, quote=False) for k, v in merged.items()}
        return self.content.texts.text(key, language, **escaped)

    def keyboard(self, rows: Sequence[Sequence[Button]], language: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
                for row in self.keyboard_json(rows, language)["inline_keyboard"]
            ]
        )

    def keyboard_json(
        self, rows: Sequence[Sequence[Button]], language: str
    ) -> dict[str, list[list[dict[str, str]]]]:
        """The keyboard as the Bot API takes it (``reply_markup``), built without objects."""
        texts = self.content.texts
        return {
            "inline_keyboard": [
                [
                    {
                        "text": texts.text(b.label, language, **self.button_params(b, language)),
                        "callback_data": b.data,
                    }
                    for b in row
                ]
                for row in rows
            ]
        }

    @staticmethod
    def button_params(button: Button, language: str) -> dict[str, str]:
        """An article's page counter in the person's digits (Khmer digits on Khmer screens).
        Only the counter: other buttons may carry codes a person must quote as written."""
        if button.label != "nav.more":
            return dict(button.params)
        return {k: localise_number(v, language) for k, v in button.params.items()}

    def screen_text(self, screen: Screen, language: str) -> str:
        if screen.article is not None:
            return article_screen(
                self.content.texts, self.content.articles, screen.article, language, screen.page
            )
        parts = [self.text(screen.text, language, screen.params)] if screen.text else []
        if screen.answers:
            lines = []
            for name, value, label in screen.answers:
                if label is not None:
                    shown = html.escape(self.content.texts.text(label, language), quote=False)
                elif value:
                    shown = html.escape(value, quote=False)
                else:
                    shown = f"<i>{self.content.texts.text('answers.empty', language)}</i>"
                title = self.content.texts.text(f"answers.{name}", language)
                lines.append(f"<b>{html.escape(title, quote=False)}:</b> {shown}")
            parts.append("\n".join(lines))
        return "\n\n".join(parts)

    def notice_text(self, notice: Notice, language: str) -> str:
        params = dict(notice.params)
        if "kind" in params:
            key = f"media.kind.{params['kind']}"
            params["kind"] = self.content.texts.text(
                key if self.content.texts.has(key) else "media.kind.other", language
            )
        return self.text(f"notice.{notice.key}", language, params)

    def partner_text(self, found: PartnerList, language: str) -> str:
        """Each organisation with what it offers and how to reach it: every channel with its
        source and date, or the day it was confirmed with the organisation; an organisation
        with no channel we can show says how a counsellor connects the person."""
        if not found.partners:
            return self.text("partners.none_found", language)
        blocks = [self.text("partners.header", language)]
        for partner in found.partners:
            name = html.escape(partner.names.get(language) or partner.names["en"], quote=False)
            description = html.escape(
                partner.descriptions.get(language) or partner.descriptions["en"], quote=False
            )
            lines = [f"<b>{name}</b>", description]
            for contact in partner.published_contacts:
                if contact.confirmed is not None:
                    state = self.text(
                        "partners.confirmed",
                        language,
                        {"date": format_date(contact.confirmed.on, language)},
                    )
                else:
                    state = self.text(
                        "partners.unconfirmed",
                        language,
                        {"source": contact.source, "date": contact.source_date},
                    )
                value = html.escape(contact.text(language), quote=False)
                lines.append(f"• <b>{value}</b> <i>({state})</i>")
            if not partner.published_contacts:
                lines.append(f"<i>{self.text('partners.contacts_pending', language)}</i>")
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


MESSAGE_LIMIT = 4096
Markup = dict[str, list[list[dict[str, str]]]]

# The screens' calls go through ``do_api_request`` (same rate limiter, retries and errors as
# the named methods), so that the answer is not parsed into objects nobody reads: a message
# with a keyboard costs more to parse than to send. PTB warns that named methods exist.
warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.(sendMessage|editMessageText|editMessageReplyMarkup)'",
    category=PTBUserWarning,
)


class ChatWriter:
    """Sends one outcome's messages into one private chat, editing the pressed screen where it
    can and taking the buttons off screens that are no longer current."""

    def __init__(self, bot: ExtBot[None], renderer: Renderer, chat_id: int) -> None:
        self.bot = bot
        self.renderer = renderer
        self.chat_id = chat_id

    async def _call(self, endpoint: str, api_kwargs: dict[str, Any]) -> Any:
        return await self.bot.do_api_request(endpoint, {"chat_id": self.chat_id, **api_kwargs})

    async def send(self, text: str, markup: Markup | None = None) -> int:
        payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
        if markup is not None:
            payload["reply_markup"] = markup
        message = await self._call("sendMessage", payload)
        return int(message["message_id"])

    async def drop_buttons(self, message_id: int | None) -> None:
        if message_id is None:
            return
        # BadRequest: already without buttons, too old, or deleted by the person.
        with contextlib.suppress(BadRequest):
            await self._call("editMessageReplyMarkup", {"message_id": message_id})

    async def edit(self, message_id: int, text: str, markup: Markup) -> bool:
        try:
            await self._call(
                "editMessageText",
                {
                    "message_id": message_id,
                    "text": text,
                    "parse_mode": "HTML",
                    "reply_markup": markup,
                },
            )
        except BadRequest as exc:
            return "not modified" in str(exc).lower()
        return True

    async def _flush(
        self, pending: list[str], editable: int | None, screen_id: int | None
    ) -> tuple[int | None, int | None]:
        """Send lines said without a screen after them; the pressed screen loses its buttons
        (it is no longer current)."""
        if editable is not None:
            await self.drop_buttons(editable)
            screen_id = editable = None
        for text in pending:
            await self.send(text)
        return editable, screen_id

    async def write(
        self,
        effects: Sequence[Effect | PartnerList],
        language: str,
        *,
        current_screen: int | None,
        pressed: int | None,
    ) -> int | None:
        """Carry out the visible effects; return the message id of the screen now current.

        Lines said before a screen travel with it, in the same message (one call instead of
        several), unless together they would be too long for one message."""
        editable = pressed if pressed is not None and pressed == current_screen else None
        screen_id = current_screen
        pending: list[str] = []
        for effect in effects:
            if isinstance(effect, Perform):
                if effect.action is ActionKind.SET_LANGUAGE:
                    language = effect.params.get("language", language)
                continue
            if isinstance(effect, Screen):
                text = self.renderer.screen_text(effect, language)
                combined = "\n\n".join([*pending, text])
                if len(combined) <= MESSAGE_LIMIT:
                    text, pending = combined, []
                else:
                    editable, screen_id = await self._flush(pending, editable, screen_id)
                    pending = []
                markup = self.renderer.keyboard_json(effect.buttons, language)
                if editable is not None and await self.edit(editable, text, markup):
                    screen_id, editable = editable, None
                    continue
                await self.drop_buttons(editable if editable is not None else screen_id)
                editable = None
                screen_id = await self.send(text, markup)
                continue
            if isinstance(effect, Say):
                pending.append(self.renderer.text(effect.text, language, effect.params))
            elif isinstance(effect, Notice):
                pending.append(self.renderer.notice_text(effect, language))
            elif isinstance(effect, PartnerList):
                pending.append(self.renderer.partner_text(effect, language))
        if pending:
            editable, screen_id = await self._flush(pending, editable, screen_id)
        return screen_id
