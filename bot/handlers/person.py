"""The one generic handler for private chats: every update becomes an engine input, every
step's effects become messages. No ConversationHandler per flow; flows are data.

While a counsellor chat is open the engine is quiet: the person's messages are copied to the
case topic instead, and only /end, /exit (Quick exit) and /delete act on the bot itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.chat_actions import delete_all
from bot.conversation import LEAVING, Outcome
from bot.delivery import CRISIS_TALK, Delivery
from bot.kept_effects import referral_request
from bot.logs import EventLogger
from bot.rendering import ChatWriter
from bot.services import BotContext, Services
from bot.update_unit import UpdateUnit
from casework.effects import Effect as CaseEffect
from casework.effects import ToPerson
from flows.events import (
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
PRIORITY_COMMANDS = ("exit", "delete")
LATE_SECONDS = 15
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

    query = update.callback_query
    message = update.message
    text = message.text if message is not None and message.text else ""
    priority = (query is not None and is_quick_exit_press(query.data)) or command_name(
        text
    ) in PRIORITY_COMMANDS
    crisis_kind = crisis_words(services, message.text or message.caption) if message else None
    keep = crisis_kind is not None or (message is not None and is_late(message.date.timestamp()))
    flooding = not priority and not keep and services.flood.would_drop(user.id, query is None)
    if not priority and not flooding and query is None:
        blocked = await services.person_desk.is_blocked(user.id)
        if blocked and crisis_kind is None:
            # Refused before taking a place in the queue: one neutral line per burst.
            if services.flood.notice_due(user.id):
                await handle_private(update, context, crisis_kind)
            elif message is not None:
                await services.tracker.record(chat.id, [message.message_id])
            return
    async with services.flood.turn(
        user.id,
        slow_down,
        priority=priority,
        counted=query is None and not keep,
        droppable=not keep,
    ) as admitted:
        if admitted:
            await handle_private(update, context, crisis_kind)
            # Written before this person's next update may start (it reads this one's writes).
            await UpdateUnit.close_current()
            return
    # Dropped: still remembered (in a batch), so that Quick exit deletes it from the phone too.
    unit = UpdateUnit.current()
    remember: dict[int, list[int]] = {}
    if unit is not None:
        unit.deferred = True
        remember = {chat_id: list(ids) for chat_id, ids in unit.tracked.items()}
    if message is not None:
        remember.setdefault(chat.id, []).append(message.message_id)
    services.batched.dropped(update.update_id, remember)
    if query is not None:
        with contextlib.suppress(TelegramError):  # an answer is a courtesy
            await query.answer()


def flood_screen(services: Services) -> Callable[[dict[str, Any]], bool]:
    """For the polling loop, on the update as it came (nothing parsed yet): refuse a typed
    message from someone whose lane is already full or over the rate, once their burst has had
    its notice; it is remembered for Quick exit (in a batch) and stored as handled. Priority
    commands, crisis words and late messages always pass."""

    def screen(raw: dict[str, Any]) -> bool:
        message = raw.get("message")
        if not isinstance(message, dict):
            return True
        chat = message.get("chat")
        sender = message.get("from")
        if not isinstance(chat, dict) or chat.get("type") != "private":
            return True
        user_id = sender.get("id") if isinstance(sender, dict) else None
        chat_id, message_id = chat.get("id"), message.get("message_id")
        if not isinstance(user_id, int) or not isinstance(chat_id, int):
            return True
        if not isinstance(message_id, int):
            return True
        raw_text, raw_caption = message.get("text"), message.get("caption")
        text = raw_text if isinstance(raw_text, str) else ""
        if command_name(text) in PRIORITY_COMMANDS:
            return True
        sent = message.get("date")
        if not isinstance(sent, int) or is_late(sent):
            return True
        if not services.flood.would_drop_quietly(user_id):
            return True
        typed = text or (raw_caption if isinstance(raw_caption, str) else "")
        if crisis_words(services, typed) is not None:
            return True
        services.flood.note_drop(user_id)
        services.batched.dropped(None, {chat_id: [message_id]})
        return False

    return screen


def is_late(sent: float) -> bool:
    """Written a while ago (held by Telegram while the bot was down, or handled again from the
    inbox after a restart): it arrives in a burst but is not a flood, so it is never dropped."""
    return time.time() - sent > LATE_SECONDS


def crisis_words(services: Services, typed: str | None) -> str | None:
    """The crisis kind in what the person typed (not a command), if any: always heard, even in
    the middle of a flood."""
    if not typed or command_name(typed) is not None:
        return None
    return services.crisis.match(typed)


def is_quick_exit_press(data: str | None) -> bool:
    return bool(data) and (data == "relay.x" or str(data).endswith(".x"))


async def handle_private(update: Update, context: BotContext, crisis_kind: str | None) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    services = context.services
    query = update.callback_query
    message = update.message
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

    desk = services.person_desk
    delivery = Delivery(context.bot, services)
    state = await desk.state(user.id)
    if state.blocked and state.person is not None:
        if not await allowed_while_blocked(services, state.person, event):
            if query is not None:
                with contextlib.suppress(TelegramError):  # an answer is a courtesy
                    await query.answer()
            effects: list[CaseEffect] = []
            if crisis_kind is not None:  # the emergency numbers, but no new case
                effects += await desk.crisis(user.id, chat.id, crisis_kind)
            effects.append(ToPerson(state.person.id, "blocked.neutral"))
            await delivery.deliver(effects)
            _log.info("blocked_message_refused")
            return
    elif crisis_kind is not None:
        # Emergency numbers first; the message is then handled as usual.
        await delivery.deliver(await desk.crisis(user.id, chat.id, crisis_kind))
    relayed = state.in_chat
    if relayed is not None and state.person is not None:
        person = state.person
        name = command_name(message.text or "") if message is not None else None
        if message is not None:
            await services.tracker.record(chat.id, [message.message_id])
        if (query is not None and query.data == END_RELAY) or name == "end":
            if query is not None:
                with contextlib.suppress(TelegramError):  # an answer is a courtesy
                    await query.answer()
            UpdateUnit.deciding(None)
            await delivery.deliver(await desk.leave(person.id, ended=True))
            return
        if message is not None and name is None:
            await relay_to_topic(delivery, services, relayed, message)
            return
        if message is not None and name not in ("exit", "delete"):
            await context.bot.send_message(
                chat.id, services.renderer.text("handoff.in_chat_hint", person.language)
            )
            return

    outcome = await services.conversation.step(
        user.id,
        chat.id,
        event,
        update.update_id,
        typed_message_id=trigger,
        pressed_message_id=pressed,
    )
    if outcome is None:
        if query is not None:
            with contextlib.suppress(TelegramError):  # an answer is a courtesy
                await query.answer()
        _log.info("update_already_handled")
        return
    await carry_out(
        context.bot,
        services,
        outcome,
        redisplay=isinstance(event, Redisplay),
        query=query,
        pressed=pressed,
        trigger=trigger,
    )
    _log.info("step_done", input=type(event).__name__, effects=len(outcome.effects))


async def carry_out(
    bot: ExtBot[None],
    services: Services,
    outcome: Outcome,
    *,
    redisplay: bool,
    query: CallbackQuery | None,
    pressed: int | None,
    trigger: int | None,
) -> None:
    """Send what a step decided: in the update that made it, or from the outbox after a
    restart (then without the button press to answer)."""
    chat_id = outcome.person.chat_id
    final = next((p for p in outcome.after_commit if p.action in LEAVING), None)
    if query is not None:
        text = None
        if final is not None and final.action is ActionKind.ERASE:
            text = services.renderer.text("erase.done", outcome.language)
        with contextlib.suppress(TelegramError):  # an answer is a courtesy
            await query.answer(text)
    writer = ChatWriter(bot, services.renderer, chat_id)
    if final is not None:
        await services.batched.flush()  # dropped messages waiting to be remembered, too
        # Taken with the step (and kept with its outbox row); anything tracked since (a
        # dropped message) is forgotten only once deleted.
        since = await services.store.chat_messages.peek(outcome.person.id)
        tracked = [*outcome.to_delete, *since]
        if final.action is ActionKind.ERASE:
            result = await erase_person(services.store, outcome.person.pseudonym)
            await services.handoff.delete_topics(bot, result.topic_ids)
            _log.info("person_erased", topics=len(result.topic_ids))
        else:
            left = await services.person_desk.leave(outcome.person.id, ended=False)
            await Delivery(bot, services).deliver(left)
        await quick_exit(
            writer,
            exit_line(services, outcome.language),
            [*tracked, pressed, trigger, outcome.screen_message_id],
        )
        await services.store.chat_messages.forget(outcome.person.id, since)
        _log.info("quick_exit", deleted=len(tracked))
        return
    if redisplay:
        await writer.send(services.renderer.text("help.text", outcome.language))
    screen = await writer.write(
        outcome.effects,
        outcome.language,
        current_screen=outcome.screen_message_id,
        pressed=pressed,
    )
    if screen != outcome.screen_message_id and not outcome.ended:
        await services.conversation.remember_screen(outcome.person, screen)
    if outcome.case_effects:
        await Delivery(bot, services).deliver(list(outcome.case_effects))
    for perform in outcome.after_commit:
        if perform.action in (ActionKind.HANDOFF, ActionKind.REFER):
            await services.handoff.open(bot, perform.params["case_id"], chat_id, outcome.language)
        if perform.action is ActionKind.REFER:
            await Delivery(bot, services).deliver([referral_request(perform)])


async def allowed_while_blocked(services: Services, person: Person, event: Input) -> bool:
    """A blocked person can still use Quick exit and erase their data, nothing else."""
    if isinstance(event, Press) and is_quick_exit_press(event.data):
        return True
    if isinstance(event, Start) and event.flow_id == "erase":
        return True
    if isinstance(event, Press):  # the erase confirmation, reached through /delete
        saved = await services.store.flow_runs.load(person.id) or {}
        engine = saved.get("engine") or {}
        return isinstance(engine, dict) and engine.get("flow") == "erase"
    return False


async def relay_to_topic(
    delivery: Delivery, services: Services, case: Case, message: Message
) -> None:
    reply_to = message.reply_to_message.message_id if message.reply_to_message else None
    located = message.location is not None or message.venue is not None
    UpdateUnit.deciding(None)  # a first location's warning is decided once
    effects = await services.person_desk.message(
        case, message.chat_id, message.message_id, reply_to, located
    )
    failed = await delivery.deliver(effects)
    if failed:
        person = await services.store.people.get(case.person_id)
        await message.reply_text(
            services.renderer.text("handoff.not_delivered", person.language if person else "km")
        )
        return
    _log.info("relayed_to_topic")


async def on_private_edit(update: Update, context: BotContext) -> None:
    message = update.edited_message
    user = update.effective_user
    if message is None or user is None or message.chat.type != "private" or not message.text:
        return
    services = context.services
    state = await services.person_desk.state(user.id)
    if state.in_chat is not None:
        effects = await services.person_desk.edit(state.in_chat, message.message_id, message.text)
        await Delivery(context.bot, services).deliver(effects)


def exit_line(services: Services, language: str) -> str:
    configured = services.settings.bot.exit_line
    return configured or services.renderer.text("exit.neutral", language)


async def quick_exit(writer: ChatWriter, neutral: str, message_ids: list[int | None]) -> None:
    """Delete this conversation as far as Telegram allows and leave one neutral line."""
    await delete_all(writer.bot, writer.chat_id, message_ids)
    await writer.send(neutral)
