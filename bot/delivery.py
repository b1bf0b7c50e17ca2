"""The one place that turns casework's effects into Bot API calls.

Casework decides; this module only renders and sends. Messages are copied, never forwarded (a
forward carries the sender's identity). Person-side failures are logged by type only."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ExtBot

from bot.callback_data import CardButton
from bot.chat_actions import show_flow
from bot.logs import EventLogger
from bot.outbox import SendingStopped
from bot.services import Services
from bot.update_unit import UpdateUnit
from casework.effects import (
    AnswerReferral,
    AskReferralConsent,
    CloseTopic,
    CopyToPerson,
    CopyToTopic,
    Effect,
    Keyboard,
    MirrorEdit,
    OpenTopic,
    ProposeReferral,
    ReplyToStaff,
    SendReferral,
    ShowFlow,
    StaffDocument,
    ToCoordinators,
    ToPerson,
    ToStaffChat,
    ToTopic,
)
from flows.events import Start

_log = EventLogger("delivery")
CRISIS_TALK = "crisis.talk"


@dataclass(frozen=True)
class Origin:
    """Where a staff command or button came from: replies go back there (in answer to
    ``reply_to``, the command's message)."""

    chat_id: int
    topic_id: int | None = None
    reply_to: int | None = None

    def kept(self) -> dict[str, int | None]:
        return {"chat_id": self.chat_id, "topic_id": self.topic_id, "reply_to": self.reply_to}

    @staticmethod
    def from_kept(kept: object) -> Origin | None:
        if not isinstance(kept, dict) or not isinstance(kept.get("chat_id"), int):
            return None
        topic, reply = kept.get("topic_id"), kept.get("reply_to")
        return Origin(
            kept["chat_id"],
            topic if isinstance(topic, int) else None,
            reply if isinstance(reply, int) else None,
        )

    def decides(self) -> Origin:
        """The casework call about to run is this update's decision: its transaction marks
        the update handled and keeps its effects with replies going here."""
        UpdateUnit.deciding(self.kept())
        return self


class Delivery:
    def __init__(self, bot: ExtBot[None], services: Services) -> None:
        self.bot = bot
        self.services = services

    async def deliver(
        self, effects: list[Effect], origin: Origin | None = None, *, replaying: bool = False
    ) -> list[Effect]:
        """Deliver each effect in order; returns those that failed (logged by type only).
        ``replaying``: kept effects carried out after a restart; a relay already recorded as
        copied is not copied again."""
        failed: list[Effect] = []
        for effect in effects:
            if replaying and await self._already_relayed(effect):
                continue
            try:
                await self._one(effect, origin)
            except SendingStopped:
                # Not a failure: the bot is stopping, and the next start carries out this
                # effect and the ones after it (sending them now would send them twice).
                _log.info("effect_kept_for_next_start", effect=type(effect).__name__)
                break
            except Forbidden:
                failed.append(effect)
                _log.warning("effect_not_delivered", effect=type(effect).__name__)
            except TelegramError as exc:
                failed.append(effect)
                _log.error("effect_failed", exc, effect=type(effect).__name__)
        return failed

    async def _already_relayed(self, effect: Effect) -> bool:
        relay = self.services.store.relay
        if isinstance(effect, CopyToTopic):
            return await relay.topic_copy(effect.case_id, effect.message_id) is not None
        if isinstance(effect, CopyToPerson):
            return await relay.person_copy(effect.case_id, effect.message_id) is not None
        return False

    async def _one(self, effect: Effect, origin: Origin | None) -> None:
        services = self.services
        handoff = services.handoff
        if isinstance(effect, ToPerson):
            await self._to_person(effect)
        elif isinstance(effect, ToTopic):
            case = await services.store.cases.get(effect.case_id)
            if case is not None:
                markup = self._keyboard(effect.keyboard, case.code)
                await handoff.tell_topic(
                    self.bot, case, effect.key, reply_markup=markup, **effect.params
                )
        elif isinstance(effect, ToCoordinators):
            staff = services.settings.staff
            target = staff.coordinator_chat_id or staff.group_id
            if target:
                await self.bot.send_message(
                    target,
                    handoff.staff_text(effect.key, **effect.params),
                    parse_mode=ParseMode.HTML,
                )
        elif isinstance(effect, ReplyToStaff):
            await self._reply(origin, handoff.staff_text(effect.key, **effect.params))
        elif isinstance(effect, StaffDocument):
            for part in effect.parts:
                await self._reply(origin, part, protect=True)
        elif isinstance(effect, OpenTopic):
            case = await services.store.cases.get(effect.case_id)
            if case is not None:
                await handoff.ensure_topic(self.bot, case)
        elif isinstance(effect, CloseTopic):
            case = await services.store.cases.get(effect.case_id)
            if case is not None and case.topic_id is not None:
                with contextlib.suppress(BadRequest):
                    await self.bot.close_forum_topic(handoff.group_id, case.topic_id)
        elif isinstance(effect, CopyToPerson):
            await self._copy_to_person(effect, origin)
        elif isinstance(effect, CopyToTopic):
            case = await services.store.cases.get(effect.case_id)
            if case is not None:
                await handoff.copy_to_topic(
                    self.bot, case, effect.chat_id, effect.message_id, effect.reply_to
                )
        elif isinstance(effect, MirrorEdit):
            case = await services.store.cases.get(effect.case_id)
            if case is not None:
                await handoff.mirror_edit(
                    self.bot, case, effect.message_id, effect.text, effect.from_person
                )
        elif isinstance(effect, ShowFlow):
            person = await services.store.people.get(effect.person_id)
            if person is not None:
                await show_flow(self.bot, services, person.chat_id, Start(effect.flow_id))
        elif isinstance(effect, ProposeReferral):
            case = await services.store.cases.get(effect.case_id)
            partner = services.referrals.partner(effect.partner_id)
            if case is not None and partner is not None:
                proposed = await services.referrals.propose(case, partner, effect.alias)
                await self.deliver(proposed, origin)
        elif isinstance(effect, AnswerReferral):
            case = await services.store.cases.get(effect.case_id)
            referral = await services.store.referrals.get_by_code(effect.referral_code)
            if case is not None and referral is not None:
                done = await services.referrals.done(referral, case, effect.reason, effect.alias)
                await self.deliver(done, origin)
        elif isinstance(effect, AskReferralConsent | SendReferral):
            case = await services.store.cases.get(effect.case_id)
            referral = await services.store.referrals.get_by_code(effect.referral_code)
            if case is None or referral is None:
                return
            if isinstance(effect, AskReferralConsent):
                await services.referrals.ask_consent(self.bot, case, referral)
            else:
                await services.referrals.send(self.bot, referral, case)
        elif isinstance(effect, ToStaffChat):
            await self.bot.send_message(
                effect.chat_id,
                handoff.staff_text(effect.key, **effect.params),
                parse_mode=ParseMode.HTML,
            )

    # ------------------------------------------------------------ helpers
    async def _to_person(self, effect: ToPerson) -> None:
        services = self.services
        person = await services.store.people.get(effect.person_id)
        if person is None:
            return
        text = services.renderer.text(effect.key, person.language, dict(effect.params))
        keyboard = None
        if effect.keyboard is Keyboard.CRISIS_TALK:
            keyboard = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            services.renderer.text("crisis.talk", person.language),
                            callback_data=CRISIS_TALK,
                        )
                    ]
                ]
            )
        await self.bot.send_message(
            person.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard
        )

    async def _copy_to_person(self, effect: CopyToPerson, origin: Origin | None) -> None:
        services = self.services
        case = await services.store.cases.get(effect.case_id)
        person = await services.store.people.get(case.person_id) if case else None
        if case is None or person is None:
            return
        reply = (
            ReplyParameters(effect.reply_to, allow_sending_without_reply=True)
            if effect.reply_to is not None
            else None
        )
        try:
            copied = await self.bot.copy_message(
                person.chat_id,
                services.handoff.group_id,
                effect.message_id,
                reply_parameters=reply,
            )
        except Forbidden:
            await self._reply(origin, services.handoff.staff_text("staff.person_unreachable"))
            return
        except SendingStopped:
            raise
        except TelegramError:
            # Given up after retrying for sending.give_up_after_seconds: say so, never silently.
            await self._reply(origin, services.handoff.staff_text("staff.not_delivered"))
            raise
        await services.store.relay.link(
            case.id, copied.message_id, effect.message_id, from_person=False
        )
        _log.info("relayed_to_person")

    async def deliver_staff_text(self, origin: Origin, key: str, **params: str) -> None:
        await self._reply(origin, self.services.handoff.staff_text(key, **params))

    async def _reply(self, origin: Origin | None, text: str, *, protect: bool = False) -> None:
        if origin is None:
            return
        await self.bot.send_message(
            origin.chat_id,
            text,
            parse_mode=ParseMode.HTML,
            message_thread_id=origin.topic_id,
            protect_content=protect,
            reply_parameters=(
                ReplyParameters(origin.reply_to, allow_sending_without_reply=True)
                if origin.reply_to is not None
                else None
            ),
        )

    def _keyboard(self, keyboard: Keyboard | None, code: str) -> InlineKeyboardMarkup | None:
        if keyboard is not Keyboard.CLOSE_OUTCOMES:
            return None
        texts = self.services.content.texts
        language = self.services.settings.staff.language
        outcomes = self.services.content.taxonomy.get("outcomes", ())
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        texts.text(f"taxonomy.outcomes.{o}", language),
                        callback_data=CardButton("outcome", code, o).encode(),
                    )
                ]
                for o in outcomes
            ]
        )
