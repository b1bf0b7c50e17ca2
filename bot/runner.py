"""Running the bot against Telegram (polling or webhook); the sandbox is ``bot/sandbox_run.py``.

Both paths run in one event loop that owns the database connection: open the store, build the
application, start it, wait for a stop signal, stop it, close the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Mapping
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.app import build_application
from bot.batched_writes import BatchedWrites
from bot.config import (
    RunMode,
    Settings,
)
from bot.content import Content, load_content
from bot.conversation import Conversation, new_screen_token
from bot.flood_gate import FloodGate, StaffOrder
from bot.handlers.person import flood_screen
from bot.handoff import Handoff
from bot.kept_effects import KeptEffects
from bot.logs import EventLogger
from bot.message_tracker import MessageTracker
from bot.outbox import stop_sending
from bot.outbox_replay import OutboxReplay
from bot.polling import InboxPoller
from bot.referrals import DONE_REASONS, Referrals
from bot.rendering import Renderer
from bot.services import ClgbtApplication, Services
from bot.storage_setup import (
    load_coordinator_public_key,
    open_store,
)
from bot.webhook import WebhookServer
from casework.person_desk import PersonDesk
from casework.policy import Policy, StaffRole
from casework.staff_desk import StaffDesk
from flows.engine import Engine
from knowledge.crisis import CrisisDetector

_log = EventLogger("runner")
STARTUP_REPLAY_SECONDS = 20.0


def casework_policy(settings: Settings, content: Content) -> Policy:
    """The settings casework's rules depend on."""
    return Policy(
        staff_enabled=settings.staff.group_id != 0,
        queue_alert_minutes=settings.handoff.queue_alert_minutes,
        outcomes=tuple(content.taxonomy.get("outcomes", ())),
        partners=tuple(p.id for p in content.partners),
        referral_done_reasons=DONE_REASONS,
        staff={m.alias: StaffRole(m.role.value) for m in settings.staff.members},
    )


async def open_services(settings: Settings, environ: Mapping[str, str]) -> Services:
    content = load_content()
    public_key = load_coordinator_public_key(settings.paths.coordinator_public_key)
    store = await open_store(settings, environ)
    handoff_available = "yes" if settings.staff.group_id != 0 else "no"
    engine = Engine(
        content.flows,
        new_screen_token,
        facts={"handoff_available": handoff_available},
        find_articles=content.articles.searcher(CrisisDetector.load().match),
    )
    overrides = {"welcome.choose_language": settings.bot.greeting} if settings.bot.greeting else {}
    renderer = Renderer(
        content, {"follow_up_days": str(settings.handoff.follow_up_days)}, overrides
    )
    policy = casework_policy(settings, content)
    kept = KeptEffects(store)
    person_desk = PersonDesk(store, policy, keeper=kept)
    conversation = Conversation(
        store,
        engine,
        content.partners,
        person_desk,
        handoff_enabled=settings.staff.group_id != 0,
        queue_alert_minutes=settings.handoff.queue_alert_minutes,
        follow_up_days=settings.handoff.follow_up_days,
        kept=kept,
    )
    handoff = Handoff(settings, store, renderer)
    tracker = MessageTracker(store)
    return Services(
        settings=settings,
        content=content,
        store=store,
        conversation=conversation,
        renderer=renderer,
        handoff=handoff,
        referrals=Referrals(settings, store, renderer, handoff, content.partners, keeper=kept),
        tracker=tracker,
        crisis=CrisisDetector.load(),
        flood=FloodGate(
            settings.safety.messages_per_window,
            settings.safety.window_seconds,
            backlog=settings.safety.backlog,
        ),
        staff_order=StaffOrder(),
        staff_desk=StaffDesk(store, policy, content.texts, settings.staff.language, keeper=kept),
        person_desk=person_desk,
        batched=BatchedWrites(store, tracker, on_removed=kept.settle),
        kept=kept,
        coordinator_public_key=public_key,
    )


async def initialize_with_retries(application: ClgbtApplication) -> None:
    """Meet the Bot API, retrying while it is unreachable or failing, with one line each time
    (never a traceback, never the token). A rejected token stops at once."""
    delay = 1.0
    while True:
        try:
            await application.initialize()
            return
        except InvalidToken:
            raise
        except (NetworkError, RetryAfter) as exc:
            _log.warning("bot_api_unreachable", error=type(exc).__name__, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


async def start_polling(application: ClgbtApplication) -> None:
    """Start the application and our inbox-backed polling loop (replaying what a previous run
    stored but did not handle)."""
    await initialize_with_retries(application)
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    with contextlib.suppress(TelegramError):
        await application.bot.delete_webhook()
    await replay_outbox(application)
    poller = InboxPoller(
        application,
        application.services.store,
        screen=flood_screen(application.services),
    )
    application.poller = poller
    await poller.start()


async def replay_outbox(application: ClgbtApplication) -> None:
    """What the last run decided but had not sent goes first, then what it had not handled.
    New updates wait for it at most ``STARTUP_REPLAY_SECONDS`` (one chat held by a long 429
    must not hold everyone); what is left goes on in the background."""
    task = asyncio.ensure_future(OutboxReplay(application.bot, application.services).run())
    task.add_done_callback(_log_replay_failure)
    application.replaying = task
    done, _ = await asyncio.wait({task}, timeout=STARTUP_REPLAY_SECONDS)
    if not done:
        _log.warning("outbox_replay_continues")


def _log_replay_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("outbox_replay_failed", task.exception())


async def start_webhook(application: ClgbtApplication, settings: Settings) -> WebhookServer:
    """Serve the webhook ourselves so that the secret is compared in constant time."""
    webhook = settings.webhook
    if webhook.secret_token is None:  # pragma: no cover - refused when settings are loaded
        raise RuntimeError("webhook mode needs a secret")
    await initialize_with_retries(application)
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    await replay_outbox(application)
    await InboxPoller(application, application.services.store).replay()
    server = WebhookServer(application, webhook.secret_token.reveal(), webhook.url_path)
    application.webhook = server  # stopped by stop_application, even if start-up is cut short
    await server.start(webhook.listen, webhook.port)
    await application.bot.set_webhook(
        f"{webhook.public_url.rstrip('/')}/{webhook.url_path.strip('/')}",
        secret_token=webhook.secret_token.reveal(),
        allowed_updates=Update.ALL_TYPES,
    )
    return server


async def stop_application(application: ClgbtApplication) -> None:
    """Stop fetching first, then let what is queued or in hand finish. A send that fails
    now is not retried (an outage would hold the stop for minutes): what asked for it stays
    in the outbox or, unhandled, in the inbox, and is done on the next start."""
    if application.webhook is not None:
        await application.webhook.stop()
        application.webhook = None
    if application.poller is not None:
        await application.poller.stop()
        application.poller = None
    stop_sending(application.bot)  # failing sends are kept, not retried
    if application.replaying is not None:
        with contextlib.suppress(Exception):
            await application.replaying
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.services.batched.close()
    await application.shutdown()


async def wait_for_stop_signal(stop: asyncio.Event | None = None) -> None:
    """Until SIGINT or SIGTERM (or ``stop`` is set)."""
    stop = stop or asyncio.Event()
    catch_stop_signals(stop)
    await stop.wait()


def catch_stop_signals(stop: asyncio.Event, then: Callable[[], None] | None = None) -> None:
    """SIGINT or SIGTERM set ``stop``, then call ``then`` at once."""

    def on_signal() -> None:
        stop.set()
        if then is not None:
            then()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal)


async def first_of(*events: asyncio.Event) -> None:
    waits = {asyncio.ensure_future(e.wait()) for e in events}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def serve_telegram(settings: Settings, token: str, environ: Mapping[str, str]) -> None:
    """Serve real Telegram until SIGINT or SIGTERM (or Telegram rejects the token). A stop
    signal during start-up ends the start-up (nothing is lost: the outbox and the inbox keep
    what was in hand)."""
    services = await open_services(settings, environ)
    application = build_application(services, token=token)
    _log.info("bot_starting", mode=settings.telegram.mode.value)
    stop = asyncio.Event()
    # A stop during an outage (or during start-up) ends every wait for a retry at once.
    catch_stop_signals(stop, lambda: stop_sending(application.bot))
    try:
        starting: asyncio.Future[Any] = asyncio.ensure_future(
            start_webhook(application, settings)
            if settings.telegram.mode is RunMode.WEBHOOK
            else start_polling(application)
        )
        stopping = asyncio.ensure_future(stop.wait())
        racing: set[asyncio.Future[Any]] = {starting, stopping}
        await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return
        starting.result()  # a rejected token, say, ends the service here
        poller = application.poller
        await first_of(stop, *([poller.stopped] if poller is not None else []))
        if poller is not None and poller.token_rejected:
            # Revoked while running: stop, so that the service manager sees a failure.
            raise InvalidToken("Telegram rejected the bot token")
    finally:
        await stop_application(application)
        await services.store.close()
        _log.info("bot_stopped")
