"""The daily purge: retention enforced every night at 03:00 Phnom Penh time."""

from __future__ import annotations

from datetime import datetime, time

from bot.logs import EventLogger
from bot.services import BotContext
from storage.retention import purge

PURGE_AT = time(3, 0)
_log = EventLogger("retention")


async def purge_job(context: BotContext) -> None:
    services = context.services
    settings = services.settings
    today = datetime.now(settings.office_hours.timezone).date()
    report = await purge(
        services.store, settings.retention, today, services.coordinator_public_key
    )
    await services.handoff.delete_topics(context.bot, list(report.sealed_topic_ids))
    _log.info(
        "purge_done",
        flow_runs=report.flow_runs,
        cases_sealed=report.cases_sealed,
        cases_awaiting_key=report.cases_awaiting_key,
        cases_not_sealable=report.cases_not_sealable,
        audit_entries=report.audit_entries,
        people=report.people,
    )
