"""Button answers to referrals: the person's consent in their private chat, and the partner's
accept or decline in the partner's own chat. Both are checked against who may answer."""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError

from bot.delivery import Delivery
from bot.logs import EventLogger
from bot.referrals import DECLINE_REASONS
from bot.services import BotContext
from bot.update_unit import UpdateUnit

_log = EventLogger("referrals")


async def on_referral_consent(update: Update, context: BotContext) -> None:
    services = context.services
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.message is None:
        return
    parts = (query.data or "").split(":")
    person = await services.store.people.find(user.id)
    referral = await services.store.referrals.get_by_code(parts[2]) if len(parts) == 3 else None
    case = await services.store.cases.get(referral.case_id) if referral else None
    if (
        person is None
        or referral is None
        or case is None
        or case.person_id != person.id
        or query.message.chat.id != person.chat_id
        or parts[1] not in ("yes", "check", "no")
    ):
        # Somebody else's referral, or forged data: nothing happens.
        with contextlib.suppress(TelegramError):  # an answer is a courtesy
            await query.answer()
        _log.warning("referral_answer_refused")
        return
    UpdateUnit.deciding(None)  # the answer is recorded once, and what follows kept with it
    key, effects = await services.referrals.answer(referral, case, parts[1])
    with contextlib.suppress(TelegramError):  # an answer is a courtesy
        await query.answer()
        await query.edit_message_text(services.renderer.text(key, person.language))
    await Delivery(context.bot, services).deliver(effects)


async def on_partner_answer(update: Update, context: BotContext) -> None:
    services = context.services
    query = update.callback_query
    if query is None or query.message is None:
        return
    parts = (query.data or "").split(":")
    referral = await services.store.referrals.get_by_code(parts[2]) if len(parts) >= 3 else None
    partner_id = services.settings.referrals.partner_for_chat(query.message.chat.id)
    case = await services.store.cases.get(referral.case_id) if referral else None
    if (
        referral is None
        or case is None
        or partner_id != referral.partner
        or referral.status != "sent"
    ):
        with contextlib.suppress(TelegramError):  # an answer is a courtesy
            await query.answer(services.handoff.staff_text("partner.not_yours"), show_alert=True)
        _log.warning("partner_answer_refused")
        return
    language = services.settings.staff.language
    texts = services.content.texts
    with contextlib.suppress(TelegramError):  # an answer is a courtesy
        await query.answer()
    chat_id = query.message.chat.id
    if parts[1] == "accept":
        UpdateUnit.deciding(None)
        effects = await services.referrals.partner_answer(
            referral, case, "accepted", None, chat_id
        )
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(None)
        await Delivery(context.bot, services).deliver(effects)
    elif parts[1] == "decline" and len(parts) == 3:
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        texts.text(f"partner.reason.{reason}", language),
                        callback_data=f"refp:decline:{referral.code}:{reason}",
                    )
                ]
                for reason in DECLINE_REASONS
            ]
        )
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(keyboard)
    elif parts[1] == "decline" and len(parts) == 4 and parts[3] in DECLINE_REASONS:
        UpdateUnit.deciding(None)
        effects = await services.referrals.partner_answer(
            referral, case, "declined", parts[3], chat_id
        )
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(None)
        await Delivery(context.bot, services).deliver(effects)
