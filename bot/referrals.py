"""Warm referrals to partner organisations, after Primero's lifecycle:
proposed -> consented -> sent -> accepted | declined -> done (with a reason).

The person sees exactly which fields would be shared and nothing leaves without their yes.
The partner receives only those fields and a referral code; partners without a Telegram chat
get them through a coordinator, by hand."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.config import Settings
from bot.handoff import Handoff
from bot.logs import EventLogger
from bot.rendering import Renderer
from casework.effects import AskReferralConsent, Effect, SendReferral, ToStaffChat, ToTopic
from casework.keeper import Keeper, KeepNothing
from casework.model import ReferralStatus
from casework.transitions import move_referral
from knowledge.partners import Partner
from storage.repositories.base import Tx
from storage.repositories.cases import Case
from storage.repositories.referrals import Referral
from storage.store import Store

_log = EventLogger("referrals")
SHARED_FIELDS = ("category", "province", "help", "language")
DONE_REASONS = (
    "successful",
    "client_declined",
    "no_capacity",
    "no_longer_needed",
    "unable_to_contact",
)
DECLINE_REASONS = ("no_capacity", "not_our_service", "other")
LIST_FOR_FIELD = {"category": "categories", "province": "provinces", "help": "help"}


class Referrals:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        renderer: Renderer,
        handoff: Handoff,
        partners: tuple[Partner, ...],
        *,
        keeper: Keeper | None = None,
    ) -> None:
        self.keeper: Keeper = keeper or KeepNothing()
        self.settings = settings
        self.store = store
        self.renderer = renderer
        self.handoff = handoff
        self.partners = {p.id: p for p in partners}

    def partner(self, partner_id: str) -> Partner | None:
        return self.partners.get(partner_id.strip().lower())

    async def minimal_summary(
        self, case: Case, referral_code: str, tx: Tx | None = None
    ) -> dict[str, str]:
        """The fields a partner may receive: coarse codes only, never free text or names."""
        answers = await self.store.cases.answers(case.id, tx)
        summary = {"referral": referral_code, "language": case.language or "km"}
        for name in ("category", "province", "help"):
            value = answers.get(name) or getattr(case, name, None)
            if value:
                summary[name] = str(value)
        return summary

    def field_lines(self, summary: dict[str, str], language: str) -> list[str]:
        texts = self.renderer.content.texts
        lines = []
        for name in SHARED_FIELDS:
            value = summary.get(name)
            if value is None:
                continue
            list_name = LIST_FOR_FIELD.get(name)
            key = f"taxonomy.{list_name}.{value}" if list_name else f"language.{value}"
            shown = texts.text(key, language) if texts.has(key) else value
            title = texts.text(f"referral.field.{name}", language)
            lines.append(f"• <b>{html.escape(title)}:</b> {html.escape(shown)}")
        return lines

    def fields_text(
        self, head: str, summary: dict[str, str], language: str, tail: str | None = None
    ) -> str:
        """A heading, the shared fields one per line, and an optional closing line."""
        lines = [head, *self.field_lines(summary, language)]
        if tail is not None:
            lines += ["", tail]
        return "\n".join(lines)

    def buttons(self, rows: list[list[tuple[str, str]]], language: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(self.renderer.text(label, language), callback_data=data)
                    for label, data in row
                ]
                for row in rows
            ]
        )

    # ------------------------------------------------------------ proposing
    async def propose(self, case: Case, partner: Partner, alias: str) -> list[Effect]:
        """Record the proposal; the person is asked (and the topic told) from the effects,
        kept with it."""
        async with self.store.db.transaction() as tx:
            referral = await self.store.referrals.create(case.id, partner.id, {}, tx)
            summary = await self.minimal_summary(case, referral.code, tx)
            await self.store.referrals.replace_summary(referral.id, summary, tx)
            await self.store.events.add(case.id, "referral_proposed", alias, partner.id, tx)
            effects: list[Effect] = [
                AskReferralConsent(case.id, referral.code),
                ToTopic(
                    case.id,
                    "staff.referral_proposed",
                    {"code": referral.code, "partner": partner.names["en"]},
                ),
            ]
            await self.keeper.keep(tx, effects)
        _log.info("referral_proposed")
        return effects

    async def ask_consent(self, bot: ExtBot[None], case: Case, referral: Referral) -> None:
        person = await self.store.people.get(case.person_id)
        partner = self.partner(referral.partner)
        if person is None or partner is None or referral.status != "proposed":
            return
        language = person.language
        name = partner.names.get(language) or partner.names["en"]
        summary = await self.store.referrals.summary(referral.id)
        text = self.fields_text(
            self.renderer.text("referral.ask", language, {"partner": name}),
            summary,
            language,
            self.renderer.text("referral.ask_end", language),
        )
        code = referral.code
        keyboard = self.buttons(
            [
                [("referral.yes", f"ref:yes:{code}")],
                [("referral.yes_check", f"ref:check:{code}")],
                [("referral.no", f"ref:no:{code}")],
            ],
            language,
        )
        await bot.send_message(
            person.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard
        )

    # ------------------------------------------------------------ the person's answer
    async def answer(
        self, referral: Referral, case: Case, decision: str
    ) -> tuple[str, list[Effect]]:
        """Record the person's yes or no; return the catalogue key to tell them and what
        follows (kept with the answer)."""
        if referral.status != "proposed":
            return "referral.already_answered", []
        if decision == "no":
            async with self.store.db.transaction() as tx:
                await move_referral(
                    self.store, referral, ReferralStatus.CANCELLED, "client_declined", tx
                )
                await self.store.cases.record_referral_result(case.id, "client_declined", tx)
                effects: list[Effect] = [
                    ToTopic(case.id, "staff.referral_refused", {"code": referral.code})
                ]
                await self.keeper.keep(tx, effects)
            return "referral.not_shared", effects
        async with self.store.db.transaction() as tx:
            await move_referral(self.store, referral, ReferralStatus.CONSENTED, None, tx)
            await self.store.events.add(case.id, "referral_consented", "person", referral.code, tx)
            if decision == "check":
                due = datetime.now(UTC) + timedelta(days=self.settings.referrals.follow_up_days)
                await self.store.schedule.add(
                    "referral_check", due, {"code": referral.code}, person_id=case.person_id, tx=tx
                )
            effects = [SendReferral(case.id, referral.code)]
            await self.keeper.keep(tx, effects)
        return "referral.shared", effects

    async def send(self, bot: ExtBot[None], referral: Referral, case: Case) -> None:
        """A consented referral to its partner (once: a referral already sent is left)."""
        if referral.status != "consented":
            return
        partner = self.partner(referral.partner)
        chat_id = self.settings.referrals.chat_for(referral.partner)
        if partner is None or chat_id is None:
            await self.handoff.tell_topic(bot, case, "staff.referral_by_hand", code=referral.code)
            _log.info("referral_awaits_coordinator")
            return
        summary = await self.store.referrals.summary(referral.id)
        language = self.settings.staff.language
        text = self.fields_text(
            self.renderer.text("partner.new_referral", language, {"code": referral.code}),
            summary,
            language,
            self.renderer.text("partner.how_to_answer", language),
        )
        keyboard = self.buttons(
            [
                [
                    ("partner.accept", f"refp:accept:{referral.code}"),
                    ("partner.decline", f"refp:decline:{referral.code}"),
                ]
            ],
            language,
        )
        await bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard, protect_content=True
        )
        await move_referral(self.store, referral, ReferralStatus.SENT)
        await self.handoff.tell_topic(
            bot, case, "staff.referral_sent", code=referral.code, partner=partner.names["en"]
        )
        _log.info("referral_sent")

    # ------------------------------------------------------------ the partner's answer
    async def partner_answer(
        self, referral: Referral, case: Case, status: str, reason: str | None, chat_id: int
    ) -> list[Effect]:
        """Record a partner's accept or decline; the topic and the partner's chat are told
        from the effects, kept with it."""
        async with self.store.db.transaction() as tx:
            await move_referral(self.store, referral, ReferralStatus(status), reason, tx)
            kind = f"referral_{status}"
            await self.store.events.add(case.id, kind, referral.partner, reason, tx)
            if status == "declined":
                await self.store.cases.record_referral_result(case.id, "declined", tx)
            key = "staff.referral_accepted" if status == "accepted" else "staff.referral_declined"
            effects: list[Effect] = [
                ToTopic(case.id, key, {"code": referral.code, "reason": reason or "-"}),
                ToStaffChat(chat_id, f"partner.{status}", {"code": referral.code}),
            ]
            await self.keeper.keep(tx, effects)
        _log.info("referral_answered", status=status)
        return effects

    async def done(self, referral: Referral, case: Case, reason: str, alias: str) -> list[Effect]:
        async with self.store.db.transaction() as tx:
            await move_referral(self.store, referral, ReferralStatus.DONE, reason, tx)
            await self.store.cases.record_referral_result(case.id, reason, tx)
            await self.store.events.add(case.id, "referral_done", alias, reason, tx)
            effects: list[Effect] = [
                ToTopic(case.id, "staff.referral_done", {"code": referral.code, "reason": reason})
            ]
            await self.keeper.keep(tx, effects)
        return effects
