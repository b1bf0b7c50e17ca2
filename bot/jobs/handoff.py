"""Timers kept in the database, so a restart keeps them: queue alerts to coordinators when a
case waits too long, and the check-ins people accepted when their case closed."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.chat_actions import delete_all, show_flow
from bot.logs import EventLogger
from bot.services import BotContext
from flows.events import Start
from storage.queue import QUEUE_ALERT, waited_minutes

_log = EventLogger("jobs")


async def handoff_job(context: BotContext) -> None:
    services = context.services
    store = services.store
    now = datetime.now(UTC)
    flows = {"follow_up": "followup", "referral_check": "referral_check"}
    kinds = (QUEUE_ALERT, "follow_up", "referral_check", "cleanup")
    for action in await store.schedule.due(now, kinds):
        # At least once: marked done only when its messages went out (or cannot ever go out);
        # a timer due during an outage stays pending and fires when the API is back. Runs of
        # this job never overlap (the job queue runs one at a time).
        try:
            if action.kind == QUEUE_ALERT:
                await queue_alert(context, action.case_id)
            elif action.kind == "cleanup" and action.person_id is not None:
                await clean_up(context, action.person_id)
            elif action.person_id is not None:
                person = await store.people.get(action.person_id)
                if person is not None:
                    await show_flow(
                        context.bot, services, person.chat_id, Start(flows[action.kind])
                    )
                    _log.info("follow_up_sent", kind=action.kind)
        except (BadRequest, Forbidden) as exc:
            _log.error("scheduled_action_failed", exc, kind=action.kind)
        except TelegramError as exc:
            _log.warning("scheduled_action_postponed", kind=action.kind, error=type(exc).__name__)
            continue
        await store.schedule.mark_done(action.id)


async def clean_up(context: BotContext, person_id: str) -> None:
    """The person asked for the chat to clear itself: delete everything still deletable."""
    store = context.services.store
    person = await store.people.get(person_id)
    if person is None:
        return
    # Forgotten only once deleted: a crash or an outage halfway leaves them for the next try.
    ids = await store.chat_messages.peek(person.id)
    await delete_all(context.bot, person.chat_id, list(ids))
    async with store.db.transaction() as tx:  # the chat is empty: the run's screen is gone
        await store.chat_messages.forget(person.id, ids, tx)
        saved = await store.flow_runs.load(person.id, tx)
        if saved is not None:
            await store.flow_runs.save(person.id, {**saved, "screen_message_id": None}, tx)
    _log.info("chat_cleaned", deleted=len(ids))


async def queue_alert(context: BotContext, case_id: str | None) -> None:
    services = context.services
    case = await services.store.cases.get(case_id) if case_id else None
    if case is None or case.status != "waiting" or not case.relay:
        return
    minutes = await waited_minutes(services.store, case.id, datetime.now(UTC))
    urgent = (" · " + services.handoff.staff_text("staff.card.urgent")) if case.urgent else ""
    text = services.handoff.staff_text(
        "staff.alert", code=case.code, minutes=str(minutes), urgent=urgent
    )
    settings = services.settings.staff
    target = settings.coordinator_chat_id or settings.group_id
    await context.bot.send_message(target, text, parse_mode=ParseMode.HTML)
    await services.store.events.add(case.id, "queue_alert", "bot")
    _log.info("queue_alert_sent", urgent=case.urgent)
