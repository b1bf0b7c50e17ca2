"""The services handlers need, reached through a typed context instead of ``bot_data`` keys."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.batched_writes import BatchedWrites
from bot.config import Settings
from bot.content import Content
from bot.conversation import Conversation
from bot.flood_gate import FloodGate, StaffOrder
from bot.handoff import Handoff
from bot.kept_effects import KeptEffects
from bot.message_tracker import MessageTracker
from bot.polling import InboxPoller
from bot.referrals import Referrals
from bot.rendering import Renderer
from casework.person_desk import PersonDesk
from casework.staff_desk import StaffDesk
from knowledge.crisis import CrisisDetector
from storage.sealing import CoordinatorPublicKey
from storage.store import Store

if TYPE_CHECKING:  # the server module imports this one
    from bot.webhook import WebhookServer


@dataclass(frozen=True)
class Services:
    settings: Settings
    content: Content
    store: Store
    conversation: Conversation
    renderer: Renderer
    handoff: Handoff
    referrals: Referrals
    tracker: MessageTracker
    crisis: CrisisDetector
    flood: FloodGate
    staff_order: StaffOrder
    staff_desk: StaffDesk
    person_desk: PersonDesk
    batched: BatchedWrites
    kept: KeptEffects
    coordinator_public_key: CoordinatorPublicKey | None = None


class ClgbtApplication(
    Application[ExtBot[None], "BotContext", dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]
):
    """PTB's Application carrying the project's :class:`Services`."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.poller: InboxPoller | None = None
        self.replaying: asyncio.Task[int] | None = None  # the start-up outbox replay
        self.webhook: WebhookServer | None = None  # in webhook mode


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context every handler receives; ``context.services`` is typed."""

    @property
    def services(self) -> Services:
        application = self.application
        if not isinstance(application, ClgbtApplication):
            raise TypeError("handlers must run inside a ClgbtApplication")
        return application.services
