"""Coordinators' commands, in their configured chat or privately with the bot: cases, one
case's readable summary, referrals, statistics, the anonymous export, and the audit log.
Every read and export writes an audit entry; the role is checked on every command."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime

from telegram import Message, Update
from telegram.constants import ParseMode

from bot.config import Role, StaffMember
from bot.logs import EventLogger
from bot.services import BotContext, Services
from bot.statistics_labels import add_province_names, statistics_universe, with_province_names
from casework.model import ReferralStatus
from casework.transitions import move_referral
from storage.ids import normalise_code
from storage.statistics import build_tables, render_csv, render_text

_log = EventLogger("coordinator")
COMMANDS = ("cases", "case", "referrals", "referral", "stats", "export", "audit")
ROLES = (Role.COORDINATOR, Role.ADMIN)
MONTH = r"\d{4}-\d{2}"


def coordinator_command(text: str | None) -> tuple[str, str] | None:
    if not text or not text.startswith("/"):
        return None
    head, _, rest = text.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    return (name, rest.strip()) if name in COMMANDS else None


async def on_coordinator_command(update: Update, context: BotContext) -> None:
    message = update.message
    user = update.effective_user
    if message is None or user is None:
        return
    parsed = coordinator_command(message.text)
    if parsed is None:
        return
    services = context.services
    member = services.settings.staff.member(user.id)
    if member is None or member.role not in ROLES:
        await message.reply_text(services.handoff.staff_text("staff.coordinators_only"))
        _log.warning("coordinator_refused")
        return
    await run(services, message, member, *parsed)


async def run(
    services: Services, message: Message, member: StaffMember, name: str, argument: str
) -> None:
    store = services.store
    say = services.handoff.staff_text
    if name == "cases":
        status = argument or None
        cases = (
            await store.cases.by_status(status)
            if status
            else await store.cases.by_status("new", "waiting", "assigned")
        )
        lines = [say("coordinator.cases_header", count=str(len(cases)))]
        lines += [
            f"• {c.code} · {c.status} · {c.category or '-'}"
            f"{' · URGENT' if c.urgent else ''} · {c.opened_on}"
            for c in cases[:100]
        ]
        await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)
        await store.audit.record(member.alias, "cases_listed", status)
    elif name == "case":
        case = await store.cases.get_by_code(normalise_code(argument))
        if case is None or case.status == "closed":
            await message.reply_text(say("coordinator.no_open_case"))
            return
        text = await services.handoff.card_text(case)
        events = await store.events.for_case(case.id)
        lines = [text, "", say("staff.summary_events")]
        lines += [
            f"• {e.occurred_on} {html.escape(e.kind)} ({html.escape(e.actor)})"
            + (f": {html.escape(e.body, quote=False)}" if e.body else "")
            for e in events
        ]
        await message.reply_text(
            "\n".join(lines)[:4000], parse_mode=ParseMode.HTML, protect_content=True
        )
        await store.audit.record(member.alias, "case_read", case.code)
    elif name == "referrals":
        referrals = await store.referrals.by_status()
        lines = [say("coordinator.referrals_header", count=str(len(referrals)))]
        lines += [
            f"• {r.code} · {r.partner} · {r.status}"
            f"{' (' + r.reason + ')' if r.reason else ''} · {r.updated_on}"
            for r in referrals[:100]
        ]
        await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)
        await store.audit.record(member.alias, "referrals_listed", None)
    elif name == "referral":
        await referral_by_hand(services, message, member, argument)
    elif name in ("stats", "export"):
        await statistics(services, message, member, name, argument)
    else:
        entries = await store.audit.recent(30)
        lines = [say("coordinator.audit_header")]
        lines += [
            f"• {e.at} {html.escape(e.actor)} {html.escape(e.action)} "
            f"{html.escape(e.target or '')}"
            for e in entries
        ]
        await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)
        await store.audit.record(member.alias, "audit_read", None)


async def referral_by_hand(
    services: Services, message: Message, member: StaffMember, argument: str
) -> None:
    """The consented summary of a referral to a partner without a Telegram chat, to pass on;
    ``/referral CODE sent`` records that it was passed on."""
    store = services.store
    code, _, action = argument.partition(" ")
    referral = await store.referrals.get_by_code(code.strip().upper())
    if referral is None or referral.status not in ("consented", "sent"):
        await message.reply_text(services.handoff.staff_text("coordinator.no_referral"))
        return
    if action.strip() == "sent":
        await move_referral(store, referral, ReferralStatus.SENT)
        await store.audit.record(member.alias, "referral_passed_on", referral.code)
        await message.reply_text(
            services.handoff.staff_text("coordinator.referral_marked", code=referral.code)
        )
        return
    summary = await store.referrals.summary(referral.id)
    language = services.settings.staff.language
    text = services.referrals.fields_text(
        services.handoff.staff_text("partner.new_referral", code=referral.code), summary, language
    )
    await message.reply_text(text, parse_mode=ParseMode.HTML, protect_content=True)
    await store.audit.record(member.alias, "referral_read", referral.code)


async def statistics(
    services: Services, message: Message, member: StaffMember, name: str, argument: str
) -> None:
    months = argument.split()
    if any(not re.fullmatch(MONTH, m) for m in months) or len(months) > 2:
        await message.reply_text(services.handoff.staff_text("coordinator.stats_usage"))
        return
    start = months[0] if months else None
    end = months[1] if len(months) > 1 else None
    threshold = services.settings.referrals.small_cell_threshold
    connection = services.store.db.raw_reader()
    try:
        tables = build_tables(connection, threshold, start, end, universe=statistics_universe())
    finally:
        connection.close()
    period = f"{start or '…'} – {end or '…'}"
    if name == "stats":
        named = with_province_names(tables, services.content.texts)
        text = render_text(named, threshold, f"clgbt statistics {period}")
        await message.reply_text(f"<pre>{html.escape(text)}</pre>", parse_mode=ParseMode.HTML)
        await services.store.audit.record(member.alias, "stats_viewed", period)
        return
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    csv_text = add_province_names(render_csv(tables, threshold), services.content.texts)
    document = io.BytesIO(csv_text.encode("utf-8"))
    await message.reply_document(
        document,
        filename=f"clgbt-statistics-{stamp}.csv",
        caption=services.handoff.staff_text("coordinator.export"),
    )
    await services.store.audit.record(member.alias, "export", period)
