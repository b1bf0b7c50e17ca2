"""The one place that builds the PTB :class:`Application`."""

from __future__ import annotations

from typing import Any

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.callback_data import CARD_PREFIX
from bot.config import Role
from bot.handlers.coordinator import COMMANDS as COORDINATOR_COMMANDS
from bot.handlers.coordinator import on_coordinator_command
from bot.handlers.person import on_private_edit, on_private_update
from bot.handlers.referrals import on_partner_answer, on_referral_consent
from bot.handlers.staff import (
    on_card_button,
    on_other_group_button,
    on_staff_command,
    on_staff_edit,
    on_staff_message,
    on_unknown_staff_command,
)
from bot.jobs.handoff import handoff_job
from bot.jobs.outbox import OUTBOX_EVERY_SECONDS, outbox_job
from bot.jobs.retention import PURGE_AT, purge_job
from bot.logs import EventLogger
from bot.outbox import Outbox, SendingStopped
from bot.polling import InboxPoller
from bot.services import BotContext, ClgbtApplication, Services
from bot.update_unit import UpdateUnit
from casework.staff_desk import STAFF_COMMANDS
from storage.repositories.base import Tx

_log = EventLogger("app")
SEND_READ_TIMEOUT = 30.0


async def _on_error(update: object, context: BotContext) -> None:
    """Log the error's type and nothing else: updates and errors can carry personal data."""
    error = context.error
    kind = "update" if isinstance(update, Update) else "background"
    if isinstance(error, SendingStopped):
        _log.info("update_kept_for_next_start", source=kind)  # stopping: not a failure
        return
    UpdateUnit.mark_failed()  # what it decided stays in the outbox, for the replay
    _log.error("handler_failed", error, source=kind)


async def on_button(update: Update, context: BotContext) -> None:
    """Buttons in private chats drive the person's conversation; any other button (a stale or
    forged one in a group) is answered so that it never spins."""
    chat = update.effective_chat
    if chat is not None and chat.type == "private":
        await on_private_update(update, context)
    else:
        await on_other_group_button(update, context)


async def _post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if not isinstance(application, ClgbtApplication):
        return
    settings = application.services.settings
    bot = application.bot
    for call, value in (
        (bot.set_my_name, settings.bot.name),
        (bot.set_my_description, settings.bot.description),
        (bot.set_my_short_description, settings.bot.short_description),
    ):
        try:
            await call(value)
        except TelegramError as exc:
            _log.warning("profile_update_failed", error=type(exc).__name__)
    try:
        await bot.set_my_commands([BotCommand(name, text) for name, text in settings.bot.commands])
    except TelegramError as exc:
        _log.warning("commands_update_failed", error=type(exc).__name__)


def build_application(
    services: Services,
    *,
    token: str,
    base_url: str | None = None,
) -> ClgbtApplication:
    settings = services.settings
    builder = (
        ApplicationBuilder()
        .application_class(ClgbtApplication, kwargs={"services": services})
        .token(token)
        .base_url(base_url or settings.telegram.base_url)
        .base_file_url(settings.telegram.base_file_url)
        .context_types(ContextTypes(context=BotContext))
        .rate_limiter(Outbox(settings.sending, on_sent=services.tracker.sent))
        .get_updates_request(HTTPXRequest(connection_pool_size=1, read_timeout=30))
        # A slow answer is not a failure: sending again after a read timeout is how
        # duplicates happen, so sends wait far longer than Telegram usually takes.
        .connection_pool_size(16)
        .read_timeout(SEND_READ_TIMEOUT)
        .write_timeout(SEND_READ_TIMEOUT)
        .defaults(Defaults(parse_mode=None, protect_content=False))
        .post_init(_post_init)
        # Updates run concurrently; each person's (and each staff member's) stay in order,
        # one at a time, through the flood gate.
        .concurrent_updates(True)
    )
    application = builder.build()
    if not isinstance(application, ClgbtApplication):
        raise TypeError("the builder did not produce a ClgbtApplication")
    private = filters.ChatType.PRIVATE
    coordinators = [
        m.user_id for m in settings.staff.members if m.role in (Role.COORDINATOR, Role.ADMIN)
    ]
    if coordinators:
        # Coordinators may also use their commands privately with the bot; for anyone else
        # these words are just text in their conversation.
        application.add_handler(
            CommandHandler(
                COORDINATOR_COMMANDS,
                on_coordinator_command,
                filters=private & ~filters.UpdateType.EDITED & filters.User(coordinators),
            )
        )
    application.add_handler(
        MessageHandler(private & ~filters.UpdateType.EDITED, on_private_update)
    )
    application.add_handler(
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, on_private_edit)
    )
    application.add_handler(CallbackQueryHandler(on_card_button, pattern=f"^{CARD_PREFIX}:"))
    application.add_handler(CallbackQueryHandler(on_referral_consent, pattern="^ref:"))
    application.add_handler(CallbackQueryHandler(on_partner_answer, pattern="^refp:"))
    application.add_handler(CallbackQueryHandler(on_button))
    if settings.staff.coordinator_chat_id:
        application.add_handler(
            MessageHandler(
                filters.Chat(settings.staff.coordinator_chat_id) & filters.COMMAND,
                on_coordinator_command,
            )
        )
    if settings.staff.group_id:
        staff = filters.Chat(settings.staff.group_id)
        fresh = ~filters.UpdateType.EDITED
        application.add_handler(
            CommandHandler(COORDINATOR_COMMANDS, on_coordinator_command, filters=staff & fresh)
        )
        application.add_handler(
            CommandHandler(STAFF_COMMANDS, on_staff_command, filters=staff & fresh)
        )
        application.add_handler(
            MessageHandler(staff & fresh & filters.COMMAND, on_unknown_staff_command)
        )
        application.add_handler(MessageHandler(staff & fresh, on_staff_message))
        application.add_handler(
            MessageHandler(staff & filters.UpdateType.EDITED_MESSAGE, on_staff_edit)
        )

    async def finish(unit: UpdateUnit, tx: Tx) -> None:
        for chat_id, message_ids in unit.tracked.items():
            await services.tracker.write(chat_id, message_ids, tx)
        for person, message_id in unit.screens.values():
            await services.conversation.write_screen(person, message_id, tx)

    InboxPoller.install(
        application, services.store, finish, services.batched.sent, services.kept.settle
    )
    application.add_error_handler(_on_error)
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    application.job_queue.run_daily(
        purge_job, PURGE_AT.replace(tzinfo=settings.office_hours.timezone), name="daily_purge"
    )
    application.job_queue.run_repeating(
        handoff_job, interval=settings.handoff.check_seconds, first=1, name="handoff_timers"
    )
    application.job_queue.run_repeating(
        outbox_job, interval=OUTBOX_EVERY_SECONDS, first=OUTBOX_EVERY_SECONDS, name="outbox"
    )
    return application
