"""The staff forum group, as an adapter: parse the update, check the sender's role, ask
casework what happens, deliver it. Commands are routed by python-telegram-bot's
``CommandHandler`` (see ``bot/app.py``); plain messages in a case topic go to the person only
when casework says so."""

from __future__ import annotations

import contextlib

from telegram import Message, Update
from telegram.error import TelegramError

from bot.callback_data import CardButton
from bot.config import Role, StaffMember
from bot.delivery import Delivery, Origin
from bot.logs import EventLogger
from bot.services import BotContext
from casework.policy import Actor, StaffRole

_log = EventLogger("staff")
CASE_ROLES = (Role.COUNSELLOR, Role.COORDINATOR, Role.ADMIN)


def actor_of(member: StaffMember | None) -> Actor | None:
    if member is None or member.role not in CASE_ROLES:
        return None
    return Actor(member.alias, StaffRole(member.role.value))


def origin_of(message: Message) -> Origin:
    topic = message.message_thread_id if message.is_topic_message else None
    return Origin(message.chat_id, topic, message.message_id)


async def on_staff_command(update: Update, context: BotContext) -> None:
    """A case or desk command (``/claim``, ``/note ...``, ``/queue``...) in the staff group."""
    message, user = update.message, update.effective_user
    if message is None or user is None or not message.text:
        return
    services = context.services
    delivery = Delivery(context.bot, services)
    actor = actor_of(services.settings.staff.member(user.id))
    if actor is None:
        await delivery.deliver_staff_text(origin_of(message), "staff.not_staff")
        _log.warning("staff_refused", reason="no_role")
        return
    head, _, argument = message.text.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    topic_id = message.message_thread_id if message.is_topic_message else None
    async with services.staff_order.turn(user.id):
        origin = origin_of(message).decides()
        effects = await services.staff_desk.command(actor, topic_id, name, argument.strip())
        await delivery.deliver(effects, origin)


async def on_unknown_staff_command(update: Update, context: BotContext) -> None:
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return
    await Delivery(context.bot, context.services).deliver_staff_text(
        origin_of(message), "staff.unknown_command"
    )


async def on_staff_message(update: Update, context: BotContext) -> None:
    """A counsellor's message in a case topic; each staff member's in the order written."""
    message, user = update.message, update.effective_user
    if message is None or user is None or user.is_bot:
        return
    if not message.is_topic_message or message.message_thread_id is None:
        return
    services = context.services
    actor = actor_of(services.settings.staff.member(user.id))
    reply_to = message.reply_to_message.message_id if message.reply_to_message else None
    if reply_to == message.message_thread_id:
        reply_to = None  # in a topic, every message "replies" to the topic's first message
    async with services.staff_order.turn(user.id):
        effects = await services.staff_desk.message(
            actor, message.message_thread_id, message.message_id, reply_to
        )
        await Delivery(context.bot, services).deliver(effects, origin_of(message))


async def on_staff_edit(update: Update, context: BotContext) -> None:
    message, user = update.edited_message, update.effective_user
    if message is None or user is None or message.message_thread_id is None:
        return
    if message.text is None:
        return
    services = context.services
    actor = actor_of(services.settings.staff.member(user.id))
    effects = await services.staff_desk.edit(
        actor, message.message_thread_id, message.message_id, message.text
    )
    await Delivery(context.bot, services).deliver(effects)


async def on_card_button(update: Update, context: BotContext) -> None:
    """A case card's button. Every press is answered, whatever happens next."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    services = context.services
    message = query.message if isinstance(query.message, Message) else None
    button = CardButton.parse(query.data)
    actor = actor_of(services.settings.staff.member(user.id))
    in_group = message is not None and message.chat_id == services.handoff.group_id
    if button is None or not in_group or actor is None:
        # Forged, outside the staff group, or from someone without a case role.
        text = services.handoff.staff_text("staff.not_staff") if in_group else None
        with contextlib.suppress(TelegramError):  # an answer is a courtesy
            await query.answer(text, show_alert=text is not None)
        _log.warning("card_button_refused")
        return
    with contextlib.suppress(TelegramError):  # an answer is a courtesy
        await query.answer()
    assert message is not None
    origin = Origin(message.chat_id, message.message_thread_id, None)
    async with services.staff_order.turn(user.id):
        origin.decides()
        effects = await services.staff_desk.button(actor, button.action, button.code, button.extra)
        await Delivery(context.bot, services).deliver(effects, origin)


async def on_other_group_button(update: Update, context: BotContext) -> None:
    """Any other button pressed outside a private chat gets an answer, so it never spins."""
    query = update.callback_query
    if query is not None:
        with contextlib.suppress(TelegramError):  # an answer is a courtesy
            await query.answer()
