"""The staff forum group: counsellors' commands and messages in case topics, the case card's
buttons, and the queue. Every update is authorised by the sender's configured role."""

from __future__ import annotations

import contextlib
import html
from datetime import UTC, datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.config import Role, StaffMember
from bot.handlers.coordinator import coordinator_command, on_coordinator_command
from bot.handlers.person import show_flow
from bot.handoff import CARD_PREFIX
from bot.logs import EventLogger
from bot.referrals import DONE_REASONS
from bot.services import BotContext, Services
from flows.events import Start
from storage.ids import normalise_code
from storage.queue import QUEUE_ALERT, dequeue, enqueue, waited_minutes
from storage.repositories.cases import Case

_log = EventLogger("staff")
CASE_ROLES = (Role.COUNSELLOR, Role.COORDINATOR, Role.ADMIN)
DEFAULT_BLOCK_DAYS = 30


def parse_command(text: str) -> tuple[str, str]:
    head, _, rest = text.partition(" ")
    return head[1:].split("@", 1)[0].lower(), rest.strip()


async def reply(message: Message, services: Services, key: str, **params: str) -> None:
    await message.reply_text(services.handoff.staff_text(key, **params), parse_mode=ParseMode.HTML)


async def on_staff_message(update: Update, context: BotContext) -> None:
    """Each staff member's messages are relayed one at a time, in the order they wrote them."""
    user = update.effective_user
    if user is None:
        return

    async def never() -> None:
        return

    async with context.services.staff_order.turn(user.id, never):
        await handle_staff_message(update, context)


async def handle_staff_message(update: Update, context: BotContext) -> None:
    services = context.services
    message = update.message
    user = update.effective_user
    if message is None or user is None or message.chat_id != services.handoff.group_id:
        return
    if user.is_bot:
        return
    member = services.settings.staff.member(user.id)
    text = message.text or ""
    if coordinator_command(text) is not None:
        await on_coordinator_command(update, context)
        return
    if text.startswith("/"):
        name, argument = parse_command(text)
        if member is None or member.role not in CASE_ROLES:
            await reply(message, services, "staff.not_staff")
            _log.warning("staff_refused", reason="no_role")
            return
        await run_command(context, message, member, name, argument)
        return
    if not message.is_topic_message or message.message_thread_id is None:
        return
    case = await services.store.cases.get_by_topic(message.message_thread_id)
    if case is None or case.status == "closed":
        return
    if member is None or case.assigned_alias != member.alias:
        # Staff talk in a topic stays internal unless it comes from the assigned counsellor.
        await reply(message, services, "staff.not_assigned_reminder")
        return
    if not await services.handoff.to_person(context.bot, case, message):
        await reply(message, services, "staff.person_unreachable")
        return
    _log.info("relayed_to_person")


async def on_staff_edit(update: Update, context: BotContext) -> None:
    services = context.services
    message = update.edited_message
    user = update.effective_user
    if message is None or user is None or message.chat_id != services.handoff.group_id:
        return
    member = services.settings.staff.member(user.id)
    if member is None or message.message_thread_id is None:
        return
    case = await services.store.cases.get_by_topic(message.message_thread_id)
    if case is not None and case.assigned_alias == member.alias:
        await services.handoff.mirror_edit(context.bot, case, message, from_person=False)


async def topic_case(message: Message, services: Services) -> Case | None:
    if message.message_thread_id is None or not message.is_topic_message:
        await reply(message, services, "staff.no_case")
        return None
    case = await services.store.cases.get_by_topic(message.message_thread_id)
    if case is None:
        await reply(message, services, "staff.no_case")
    return case


async def run_command(
    context: BotContext, message: Message, member: StaffMember, name: str, argument: str
) -> None:
    services = context.services
    if name == "queue":
        await send_queue(services, message)
        return
    if name == "unblock":
        await unblock(message, services, member, argument)
        return
    if name not in (
        "claim",
        "release",
        "note",
        "summary",
        "close",
        "block",
        "transfer",
        "refer",
        "referral_done",
    ):
        await reply(message, services, "staff.unknown_command")
        return
    case = await topic_case(message, services)
    if case is None:
        return
    if name == "claim":
        await claim(context.bot, services, case, member)
    elif name == "release":
        await release(context.bot, services, case, member)
    elif name == "note":
        if not argument:
            await reply(message, services, "staff.note_empty")
            return
        await services.store.events.add(case.id, "note", member.alias, argument)
        await reply(message, services, "staff.noted")
    elif name == "summary":
        await send_summary(services, case, member, message)
    elif name == "close":
        await close(context.bot, services, case, member, argument or None)
    elif name == "block":
        await block(context.bot, services, case, member, argument)
    elif name == "refer":
        await refer(context.bot, services, case, member, argument)
    elif name == "referral_done":
        await referral_done(context.bot, services, case, member, argument)
    else:
        await transfer(context.bot, services, case, member, argument)


# ------------------------------------------------------------------ case actions
async def claim(bot: ExtBot[None], services: Services, case: Case, member: StaffMember) -> bool:
    if case.status == "closed":
        await services.handoff.tell_topic(bot, case, "staff.already_closed")
        return False
    won = await services.store.cases.claim(case.id, member.alias)
    if not won:
        current = await services.store.cases.get(case.id)
        holder = current.assigned_alias if current and current.assigned_alias else "?"
        await services.handoff.tell_topic(bot, case, "staff.claim_lost", alias=holder)
        return False
    await services.store.events.add(case.id, "claimed", member.alias)
    await dequeue(services.store, case.id)
    await services.handoff.tell_topic(bot, case, "staff.claimed", alias=member.alias)
    await services.handoff.tell_person(bot, case, "handoff.claimed", alias=member.alias)
    _log.info("case_claimed")
    return True


def may_act(case: Case, member: StaffMember) -> bool:
    return case.assigned_alias == member.alias or member.role in (Role.COORDINATOR, Role.ADMIN)


async def release(bot: ExtBot[None], services: Services, case: Case, member: StaffMember) -> None:
    if case.assigned_alias is None or not may_act(case, member):
        await services.handoff.tell_topic(bot, case, "staff.not_yours")
        return
    now = datetime.now(UTC)
    async with services.store.db.transaction() as tx:
        await services.store.cases.update(case.id, tx, status="waiting", assigned_alias=None)
        await enqueue(
            services.store,
            case.id,
            case.code,
            now=now,
            alert_minutes=services.settings.handoff.queue_alert_minutes,
            tx=tx,
        )
        await services.store.events.add(case.id, "released", member.alias, None, tx)
    await services.handoff.tell_topic(bot, case, "staff.released", alias=member.alias)
    if case.relay:
        await services.handoff.tell_person(bot, case, "handoff.released")


async def close(
    bot: ExtBot[None], services: Services, case: Case, member: StaffMember, outcome: str | None
) -> None:
    outcomes = services.content.taxonomy.get("outcomes", ())
    if case.status == "closed":
        await services.handoff.tell_topic(bot, case, "staff.already_closed")
        return
    if not may_act(case, member) and case.assigned_alias is not None:
        await services.handoff.tell_topic(bot, case, "staff.not_yours")
        return
    if outcome is not None and outcome not in outcomes:
        await services.handoff.tell_topic(
            bot, case, "staff.unknown_outcome", outcomes=", ".join(outcomes)
        )
        return
    was_relayed = case.relay
    async with services.store.db.transaction() as tx:
        await services.store.cases.close(case.id, outcome, tx)
        await services.store.events.add(case.id, "closed", member.alias, outcome, tx)
        await services.store.schedule.cancel(case_id=case.id, kind=QUEUE_ALERT, tx=tx)
    await services.handoff.tell_topic(
        bot, case, "staff.closed", alias=member.alias, outcome=outcome or "-"
    )
    if case.topic_id is not None:
        with contextlib.suppress(BadRequest):
            await bot.close_forum_topic(services.handoff.group_id, case.topic_id)
    person = await services.store.people.get(case.person_id)
    if person is not None and was_relayed:
        await services.handoff.tell_person(bot, case, "handoff.closed_by_counsellor")
        await show_flow(bot, services, person.chat_id, Start("closed"))
    _log.info("case_closed")


async def block(
    bot: ExtBot[None], services: Services, case: Case, member: StaffMember, argument: str
) -> None:
    if not may_act(case, member):
        await services.handoff.tell_topic(bot, case, "staff.not_yours")
        return
    days_text, _, reason = argument.partition(" ")
    days = int(days_text) if days_text.isdigit() else DEFAULT_BLOCK_DAYS
    if not days_text.isdigit():
        reason = argument
    until = datetime.now(UTC) + timedelta(days=days)
    async with services.store.db.transaction() as tx:
        await services.store.blocks.add(case.person_id, until, member.alias, reason or "abuse", tx)
        await services.store.cases.close(case.id, "other", tx)
        await services.store.events.add(case.id, "blocked", member.alias, reason or None, tx)
        await services.store.schedule.cancel(case_id=case.id, tx=tx)
    await services.handoff.tell_person(bot, case, "blocked.neutral")
    await services.handoff.tell_topic(
        bot, case, "staff.blocked", alias=member.alias, days=str(days), code=case.code
    )
    _log.info("person_blocked", days=days)


async def refer(
    bot: ExtBot[None], services: Services, case: Case, member: StaffMember, partner_id: str
) -> None:
    if not may_act(case, member):
        await services.handoff.tell_topic(bot, case, "staff.not_yours")
        return
    partner = services.referrals.partner(partner_id) if partner_id else None
    if partner is None:
        known = ", ".join(sorted(services.referrals.partners))
        await services.handoff.tell_topic(bot, case, "staff.unknown_partner", partners=known)
        return
    await services.referrals.propose(bot, case, partner, member.alias)


async def referral_done(
    bot: ExtBot[None], services: Services, case: Case, member: StaffMember, argument: str
) -> None:
    code, _, reason = argument.partition(" ")
    referral = await services.store.referrals.get_by_code(code.strip().upper())
    if referral is None or referral.case_id != case.id or reason.strip() not in DONE_REASONS:
        await services.handoff.tell_topic(
            bot, case, "staff.referral_done_usage", reasons=", ".join(DONE_REASONS)
        )
        return
    await services.referrals.done(bot, referral, case, reason.strip(), member.alias)


async def unblock(message: Message, services: Services, member: StaffMember, code: str) -> None:
    if member.role not in (Role.COORDINATOR, Role.ADMIN):
        await reply(message, services, "staff.coordinators_only")
        return
    case = await services.store.cases.get_by_code(normalise_code(code))
    lifted = await services.store.blocks.lift(case.person_id) if case else 0
    await reply(
        message,
        services,
        "staff.unblocked" if lifted else "staff.no_block",
        code=code.strip().upper(),
    )
    if case is not None and lifted:
        await services.store.events.add(case.id, "unblocked", member.alias)


async def transfer(
    bot: ExtBot[None], services: Services, case: Case, member: StaffMember, alias: str
) -> None:
    target = services.settings.staff.by_alias(alias) if alias else None
    if target is None or target.role not in CASE_ROLES:
        await services.handoff.tell_topic(
            bot, case, "staff.unknown_alias", alias=html.escape(alias or "?")
        )
        return
    if not may_act(case, member):
        await services.handoff.tell_topic(bot, case, "staff.not_yours")
        return
    await services.store.cases.update(case.id, status="assigned", assigned_alias=target.alias)
    await services.store.events.add(case.id, "transferred", member.alias, target.alias)
    await services.handoff.tell_topic(bot, case, "staff.transferred", alias=target.alias)
    await services.handoff.tell_person(bot, case, "handoff.transferred", alias=target.alias)


async def send_summary(
    services: Services, case: Case, member: StaffMember, message: Message
) -> None:
    text = await services.handoff.card_text(case)
    events = await services.store.events.for_case(case.id)
    lines = [text, "", services.handoff.staff_text("staff.summary_events")]
    for event in events:
        body = f": {html.escape(event.body, quote=False)}" if event.body else ""
        lines.append(
            f"• {event.occurred_on} {html.escape(event.kind)} ({html.escape(event.actor)}){body}"
        )
    await message.reply_text(
        "\n".join(lines)[:4000], parse_mode=ParseMode.HTML, protect_content=True
    )
    await services.store.audit.record(member.alias, "case_summary_read", case.code)


async def send_queue(services: Services, message: Message) -> None:
    waiting = [c for c in await services.store.cases.by_status("waiting") if c.relay or c.urgent]
    if not waiting:
        await reply(message, services, "staff.queue_empty")
        return
    now = datetime.now(UTC)
    lines = [services.handoff.staff_text("staff.queue_header", count=str(len(waiting)))]
    for case in waiting:  # by_status orders urgent first, then oldest
        minutes = await waited_minutes(services.store, case.id, now)
        urgent = " · " + services.handoff.staff_text("staff.card.urgent") if case.urgent else ""
        lines.append(
            services.handoff.staff_text(
                "staff.queue_line", code=case.code, urgent=urgent, minutes=str(minutes)
            )
        )
    await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)


# ------------------------------------------------------------------ card buttons
async def on_card_button(update: Update, context: BotContext) -> None:
    services = context.services
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    chat_id = query.message.chat.id if query.message is not None else None
    if chat_id != services.handoff.group_id:
        # A card button outside the staff group is forged: do nothing.
        with contextlib.suppress(BadRequest):
            await query.answer()
        _log.warning("card_button_refused", reason="wrong_chat")
        return
    member = services.settings.staff.member(user.id)
    if member is None or member.role not in CASE_ROLES:
        with contextlib.suppress(BadRequest):
            await query.answer(services.handoff.staff_text("staff.not_staff"), show_alert=True)
        _log.warning("card_button_refused", reason="no_role")
        return
    parts = (query.data or "").split(":")
    if len(parts) < 3 or parts[0] != CARD_PREFIX:
        with contextlib.suppress(BadRequest):
            await query.answer()
        return
    action, code = parts[1], parts[2]
    case = await services.store.cases.get_by_code(code)
    with contextlib.suppress(BadRequest):
        await query.answer()
    if case is None:
        return
    bot = context.bot
    if action == "claim":
        await claim(bot, services, case, member)
    elif action == "release":
        await release(bot, services, case, member)
    elif action == "close":
        outcomes = services.content.taxonomy.get("outcomes", ())
        texts = services.content.texts
        language = services.settings.staff.language
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        texts.text(f"taxonomy.outcomes.{o}", language),
                        callback_data=f"{CARD_PREFIX}:outcome:{case.code}:{o}",
                    )
                ]
                for o in outcomes
            ]
        )
        if case.topic_id is not None:
            with contextlib.suppress(TelegramError):
                await bot.send_message(
                    services.handoff.group_id,
                    services.handoff.staff_text("staff.close_choose"),
                    message_thread_id=case.topic_id,
                    reply_markup=keyboard,
                )
    elif action == "outcome" and len(parts) == 4:
        await close(bot, services, case, member, parts[3])
