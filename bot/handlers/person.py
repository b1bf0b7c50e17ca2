"""The one generic handler for private chats: every update becomes an engine input, every
step's effects become messages. No ConversationHandler per flow; flows are data.

While a counsellor chat is open the engine is quiet: the person's messages are copied to the
case topic instead, and only /end, /exit (Quick exit) and /delete act on the bot itself.
"""

from __future__ import annotations

import contextlib

from telegram import CallbackQuery, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.conversation import Outcome
from bot.handlers.coordinator import ROLES as COORDINATOR_ROLES
from bot.handlers.coordinator import coordinator_command, on_coordinator_command
from bot.logs import EventLogger
from bot.rendering import ChatWriter
from bot.safety import CRISIS_TALK
from bot.services import BotContext, Services
from flows.events import (
    ActionDone,
    Back,
    Home,
    Input,
    Press,
    Redisplay,
    Start,
    Text,
    Unsupported,
)
from flows.model import ActionKind
from storage.erasure import erase_person
from storage.repositories.cases import Case
from storage.repositories.people import Person

_log = EventLogger("person")
QUICK_EXIT_PRESS = Press("exit.x")
END_RELAY = "relay.end"
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


def command_name(text: str) -> str | None:
    if not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0][1:].split("@", maxsplit=1)[0].lower()


def command_input(text: str) -> Input | None:
    commands: dict[str, Input] = {
        "start": Start("welcome"),
        "menu": Home(),
        "back": Back(),
        "language": Start("welcome", "language"),
        "help": Redisplay(),
        "exit": QUICK_EXIT_PRESS,
        "delete": Start("erase"),
    }
    return commands.get(command_name(text) or "")


def message_input(message: Message) -> Input:
    if message.text is not None:
        found = command_input(message.text)
        return found if found is not None else Text(message.text)
    for kind in MEDIA_KINDS:
        if getattr(message, kind, None):
            return Unsupported(kind)
    return Unsupported("other")


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


async def on_private_update(update: Update, context: BotContext) -> None:
    """One person's updates are handled one at a time, in order, with flood control."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != "private" or user.is_bot:
        return
    services = context.services

    async def slow_down() -> None:
        person = await services.store.people.find(user.id)
        language = person.language if person is not None else "km"
        await context.bot.send_message(chat.id, services.renderer.text("slow_down", language))
        _log.info("flood_slowed")

    async with services.flood.turn(user.id, slow_down):
        await handle_private(update, context)


async def handle_private(update: Update, context: BotContext) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    services = context.services
    query = update.callback_query
    message = update.message
    if message is not None and coordinator_command(message.text) is not None:
        member = services.settings.staff.member(user.id)
        if member is not None and member.role in COORDINATOR_ROLES:
            await on_coordinator_command(update, context)
            return
    pressed: int | None = None
    trigger: int | None = None
    if query is not None:
        event: Input = Press(query.data or "")
        if query.data == CRISIS_TALK:
            event = Start("counsellor", "handoff")
        if isinstance(query.message, Message):
            pressed = query.message.message_id
    elif message is not None:
        event = message_input(message)
        trigger = message.message_id
    else:
        return

    typed = (message.text or message.caption or "") if message is not None else ""
    if typed and command_name(typed) is None:
        # Emergency numbers first; the message is then handled as usual.
        await services.crisis.respond(context.bot, user.id, chat.id, typed)
    person = await services.store.people.find(user.id)
    relayed: Case | None = None
    if person is not None:
        if await blocked(context, services, person, event, query):
            return
        relayed = await services.store.cases.relayed_for_person(person.id)
    if relayed is not None:
        if query is not None and query.data == END_RELAY:
            await end_relay(context, services, relayed, chat.id, query)
            return
        name = command_name(message.text or "") if message is not None else None
        if message is not None and name == "end":
            await end_relay(context, services, relayed, chat.id, None)
            return
        if message is not None and name is None:
            await services.tracker.record(chat.id, [message.message_id])
            await relay_to_topic(context, services, relayed, message)
            return
        if message is not None and name not in ("exit", "delete"):
            language = person.language if person is not None else "km"
            await context.bot.send_message(
                chat.id, services.renderer.text("handoff.in_chat_hint", language)
            )
            return

    outcome = await services.conversation.step(user.id, chat.id, event, update.update_id)
    if outcome is None:
        if query is not None:
            with contextlib.suppress(BadRequest):
                await query.answer()
        _log.info("update_already_handled")
        return
    await carry_out(
        context,
        services,
        outcome,
        event=event,
        query=query,
        pressed=pressed,
        trigger=trigger,
        relayed=relayed,
    )


async def carry_out(
    context: BotContext,
    services: Services,
    outcome: Outcome,
    *,
    event: Input,
    query: CallbackQuery | None,
    pressed: int | None,
    trigger: int | None,
    relayed: Case | None,
) -> None:
    chat_id = outcome.person.chat_id
    final = next(
        (p for p in outcome.after_commit if p.action in (ActionKind.QUICK_EXIT, ActionKind.ERASE)),
        None,
    )
    if query is not None:
        text = None
        if final is not None and final.action is ActionKind.ERASE:
            text = services.renderer.text("erase.done", outcome.language)
        with contextlib.suppress(BadRequest):
            await query.answer(text)
    writer = ChatWriter(context.bot, services.renderer, chat_id)
    if final is not None:
        tracked = await services.store.chat_messages.take(outcome.person.id)
        if final.action is ActionKind.ERASE:
            result = await erase_person(services.store, outcome.person.pseudonym)
            await services.handoff.delete_topics(context.bot, result.topic_ids)
            _log.info("person_erased", topics=len(result.topic_ids))
        elif relayed is not None:
            await services.store.cases.update(relayed.id, relay=0)
            await services.handoff.tell_topic(context.bot, relayed, "staff.person_left")
        await quick_exit(
            writer,
            exit_line(services, outcome.language),
            [*tracked, pressed, trigger, outcome.screen_message_id],
        )
        _log.info("quick_exit", deleted=len(tracked))
        return
    await services.tracker.record(chat_id, [trigger])
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
    for perform in outcome.after_commit:
        if perform.action in (ActionKind.HANDOFF, ActionKind.REFER):
            await services.handoff.open(
                context.bot, perform.params["case_id"], chat_id, outcome.language
            )
        if perform.action is ActionKind.REFER:
            case = await services.store.cases.get(perform.params["case_id"])
            if case is not None:
                await services.handoff.tell_topic(
                    context.bot,
                    case,
                    "staff.referral_requested",
                    need=perform.params.get("need") or "-",
                    province=perform.params.get("province") or "-",
                )
    _log.info("step_done", input=type(event).__name__, effects=len(outcome.effects))


async def blocked(
    context: BotContext,
    services: Services,
    person: Person,
    event: Input,
    query: CallbackQuery | None,
) -> bool:
    """A blocked person gets one neutral line; quick exit and erasure still work."""
    if isinstance(event, Press) and event.data.endswith(".x"):
        return False
    if isinstance(event, Start) and event.flow_id == "erase":
        return False
    if isinstance(event, Press):
        return False  # the erase confirmation, reached through /delete
    if await services.store.blocks.active(person.id) is None:
        return False
    if query is not None:
        with contextlib.suppress(BadRequest):
            await query.answer()
    await context.bot.send_message(
        person.chat_id, services.renderer.text("blocked.neutral", person.language)
    )
    _log.info("blocked_message_refused")
    return True


async def relay_to_topic(
    context: BotContext, services: Services, case: Case, message: Message
) -> None:
    if message.location is not None or message.venue is not None:
        events = await services.store.events.for_case(case.id)
        if not any(e.kind == "location_warning" for e in events):
            await services.store.events.add(case.id, "location_warning", "bot")
            person = await services.store.people.get(case.person_id)
            language = person.language if person else "km"
            await message.reply_text(
                services.renderer.text("handoff.location_warning", language),
                parse_mode=ParseMode.HTML,
            )
            return
    try:
        await services.handoff.to_topic(context.bot, case, message)
    except TelegramError as exc:
        _log.error("relay_to_topic_failed", exc)
        person = await services.store.people.get(case.person_id)
        await message.reply_text(
            services.renderer.text("handoff.not_delivered", person.language if person else "km")
        )
        return
    _log.info("relayed_to_topic")


async def on_private_edit(update: Update, context: BotContext) -> None:
    message = update.edited_message
    user = update.effective_user
    if message is None or user is None or message.chat.type != "private":
        return
    services = context.services
    person = await services.store.people.find(user.id)
    if person is None:
        return
    case = await services.store.cases.relayed_for_person(person.id)
    if case is not None:
        await services.handoff.mirror_edit(context.bot, case, message, from_person=True)


async def end_relay(
    context: BotContext, services: Services, case: Case, chat_id: int, query: CallbackQuery | None
) -> None:
    if query is not None:
        with contextlib.suppress(BadRequest):
            await query.answer()
    await services.store.cases.update(case.id, relay=0)
    await services.store.events.add(case.id, "person_ended_chat", "person")
    await services.handoff.tell_topic(context.bot, case, "staff.person_ended")
    person = await services.store.people.get(case.person_id)
    language = person.language if person else "km"
    await context.bot.send_message(chat_id, services.renderer.text("handoff.ended", language))
    await show_flow(context.bot, services, chat_id, ActionDone({"handoff": "ended"}))


def exit_line(services: Services, language: str) -> str:
    configured = services.settings.bot.exit_line
    return configured or services.renderer.text("exit.neutral", language)


async def delete_all(bot: ExtBot[None], chat_id: int, message_ids: list[int | None]) -> None:
    """Delete, 100 at a time, every message Telegram still lets the bot delete."""
    ids = sorted({m for m in message_ids if m is not None})
    for start in range(0, len(ids), 100):
        try:
            await bot.delete_messages(chat_id, ids[start : start + 100])
        except TelegramError:
            _log.warning("delete_failed")


async def quick_exit(writer: ChatWriter, neutral: str, message_ids: list[int | None]) -> None:
    """Delete this conversation as far as Telegram allows and leave one neutral line."""
    await delete_all(writer.bot, writer.chat_id, message_ids)
    await writer.send(neutral)
