"""Everything staff do to a case: commands in its topic, the card's buttons, and their messages
to the person. Only the assigned counsellor (or a coordinator) may act on a case; nothing
reaches a person who has left the chat or is blocked."""

from __future__ import annotations

from datetime import timedelta

from casework import transitions
from casework.cards import card_lines, event_lines
from casework.effects import (
    AnswerReferral,
    CloseTopic,
    CopyToPerson,
    Effect,
    Keyboard,
    MirrorEdit,
    ProposeReferral,
    ReplyToStaff,
    ShowFlow,
    StaffDocument,
    ToPerson,
    ToTopic,
)
from casework.keeper import Keeper, KeepNothing
from casework.model import REFERRAL_TRANSITIONS, CaseStatus, Presence, ReferralStatus
from casework.policy import Actor, Clock, Policy, StaffRole, utc_now
from casework.summaries import Line, render_lines
from knowledge.catalogue import TextCatalogue
from storage.ids import normalise_code
from storage.queue import dequeue, waited_minutes
from storage.repositories.base import Tx
from storage.repositories.cases import Case
from storage.store import Store

CASE_COMMANDS = (
    "claim",
    "release",
    "note",
    "summary",
    "close",
    "block",
    "transfer",
    "refer",
    "referral_done",
)
DESK_COMMANDS = ("queue", "unblock")
STAFF_COMMANDS = CASE_COMMANDS + DESK_COMMANDS
CASE_ROLES = (StaffRole.COUNSELLOR, StaffRole.COORDINATOR, StaffRole.ADMIN)


class StaffDesk:
    def __init__(
        self,
        store: Store,
        policy: Policy,
        texts: TextCatalogue,
        language: str,
        clock: Clock = utc_now,
        *,
        keeper: Keeper | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.texts = texts
        self.language = language
        self.clock = clock
        self.keeper: Keeper = keeper or KeepNothing()

    # ------------------------------------------------------------ entry points
    async def command(
        self, actor: Actor, topic_id: int | None, name: str, argument: str
    ) -> list[Effect]:
        if name == "queue":
            return await self.queue()
        if name == "unblock":
            return await self.unblock(actor, argument)
        if name not in CASE_COMMANDS:
            return [ReplyToStaff("staff.unknown_command")]
        case = await self.store.cases.get_by_topic(topic_id) if topic_id is not None else None
        if case is None:
            return [ReplyToStaff("staff.no_case")]
        return await self.act(actor, case, name, argument)

    async def button(self, actor: Actor, action: str, code: str, extra: str) -> list[Effect]:
        case = await self.store.cases.get_by_code(normalise_code(code))
        if case is None:
            return [ReplyToStaff("staff.no_case")]
        if action == "claim":
            return await self.claim(actor, case)
        if action == "release":
            return await self.release(actor, case)
        if action == "close":
            refused = self._refusal(actor, case)
            if refused:
                return refused
            return [ToTopic(case.id, "staff.close_choose", keyboard=Keyboard.CLOSE_OUTCOMES)]
        if action == "outcome" and extra:
            return await self.close(actor, case, extra)
        return [ReplyToStaff("staff.unknown_command")]

    async def act(self, actor: Actor, case: Case, name: str, argument: str) -> list[Effect]:
        if name == "claim":
            return await self.claim(actor, case)
        if name == "release":
            return await self.release(actor, case)
        if name == "transfer":
            return await self.transfer(actor, case, argument)
        refused = self._refusal(actor, case)
        if refused:
            return refused
        if name == "note":
            return await self.note(actor, case, argument)
        if name == "summary":
            return await self.summary(actor, case)
        if name == "close":
            return await self.close(actor, case, argument or None)
        if name == "block":
            return await self.block(actor, case, argument)
        if name == "refer":
            return await self.refer(actor, case, argument)
        return await self.referral_done(actor, case, argument)

    async def message(
        self, actor: Actor | None, topic_id: int, message_id: int, reply_to: int | None
    ) -> list[Effect]:
        """A staff message in a case topic: copied to the person only from the assigned
        counsellor, and only while the person is in the chat."""
        case = await self.store.cases.get_by_topic(topic_id)
        if case is None or case.status == CaseStatus.CLOSED:
            return []
        if actor is None or case.assigned_alias != actor.alias:
            return [ReplyToStaff("staff.not_assigned_reminder")]
        if not await self._reachable(case):
            return [ReplyToStaff("staff.person_not_in_chat")]
        if await self.store.relay.person_copy(case.id, message_id) is not None:
            return []  # already relayed: this update is being handled again after a restart
        target = None
        if reply_to is not None:
            target = await self.store.relay.person_copy(case.id, reply_to)
        return [CopyToPerson(case.id, message_id, target)]

    async def edit(
        self, actor: Actor | None, topic_id: int, message_id: int, text: str
    ) -> list[Effect]:
        case = await self.store.cases.get_by_topic(topic_id)
        if case is None or actor is None or case.assigned_alias != actor.alias:
            return []
        if not await self._reachable(case):
            return []
        return [MirrorEdit(case.id, message_id, text, from_person=False)]

    # ------------------------------------------------------------ rules
    def may_act(self, actor: Actor, case: Case) -> bool:
        return case.assigned_alias == actor.alias or actor.coordinates

    def _refusal(self, actor: Actor, case: Case) -> list[Effect]:
        if case.status == CaseStatus.CLOSED:
            return [ReplyToStaff("staff.already_closed")]
        if not self.may_act(actor, case):
            key = "staff.claim_first" if case.assigned_alias is None else "staff.not_yours"
            return [ReplyToStaff(key)]
        return []

    async def _reachable(self, case: Case, tx: Tx | None = None) -> bool:
        if case.presence != Presence.IN_CHAT:
            return False
        return await self.store.blocks.active(case.person_id, tx) is None

    async def _to_person(
        self, tx: Tx, case: Case, key: str, params: dict[str, str] | None = None
    ) -> list[Effect]:
        """A message about the case for the person, only while they are in the chat."""
        if not await self._reachable(case, tx):
            return []
        return [ToPerson(case.person_id, key, params or {})]

    # ------------------------------------------------------------ case actions
    async def claim(self, actor: Actor, case: Case) -> list[Effect]:
        if case.status == CaseStatus.CLOSED:
            return [ReplyToStaff("staff.already_closed")]
        if actor.role not in CASE_ROLES:
            return [ReplyToStaff("staff.not_staff")]
        if case.status == CaseStatus.NEW:
            return [ReplyToStaff("staff.not_waiting")]
        async with self.store.db.transaction() as tx:
            won = await self.store.cases.claim(case.id, actor.alias, tx)
            if won:
                await self.store.events.add(case.id, "claimed", actor.alias, None, tx)
                await dequeue(self.store, case.id, tx)
            current = await self.store.cases.get(case.id, tx) or case
            effects: list[Effect]
            if not won:
                holder = current.assigned_alias or "?"
                effects = [ToTopic(case.id, "staff.claim_lost", {"alias": holder})]
            else:
                effects = [
                    ToTopic(case.id, "staff.claimed", {"alias": actor.alias}),
                    *await self._to_person(tx, current, "handoff.claimed", {"alias": actor.alias}),
                ]
            await self.keeper.keep(tx, effects)
        return effects

    async def release(self, actor: Actor, case: Case) -> list[Effect]:
        if case.status == CaseStatus.CLOSED:
            return [ReplyToStaff("staff.already_closed")]
        if case.assigned_alias is None or not self.may_act(actor, case):
            return [ReplyToStaff("staff.not_yours")]
        async with self.store.db.transaction() as tx:
            moved = await transitions.wait(
                self.store,
                tx,
                case,
                now=self.clock(),
                alert_minutes=self.policy.queue_alert_minutes,
                assigned_alias=None,
            )
            await self.store.events.add(case.id, "released", actor.alias, None, tx)
            effects = [
                ToTopic(case.id, "staff.released", {"alias": actor.alias}),
                *await self._to_person(tx, moved, "handoff.released"),
            ]
            await self.keeper.keep(tx, effects)
        return effects

    async def transfer(self, actor: Actor, case: Case, alias: str) -> list[Effect]:
        alias = alias.strip()
        role = self.policy.staff.get(alias) if alias else None
        if role is None or role not in CASE_ROLES:
            return [ReplyToStaff("staff.unknown_alias", {"alias": alias or "?"})]
        refused = self._refusal(actor, case)
        if refused:
            return refused
        if case.status == CaseStatus.NEW:
            return [ReplyToStaff("staff.not_waiting")]
        async with self.store.db.transaction() as tx:
            if case.status == CaseStatus.WAITING:
                await dequeue(self.store, case.id, tx)
            moved = await transitions.move(
                self.store, tx, case, status=CaseStatus.ASSIGNED, assigned_alias=alias
            )
            await self.store.events.add(case.id, "transferred", actor.alias, alias, tx)
            effects = [
                ToTopic(case.id, "staff.transferred", {"alias": alias}),
                *await self._to_person(tx, moved, "handoff.transferred", {"alias": alias}),
            ]
            await self.keeper.keep(tx, effects)
        return effects

    async def note(self, actor: Actor, case: Case, text: str) -> list[Effect]:
        if not text.strip():
            return [ReplyToStaff("staff.note_empty")]
        effects: list[Effect] = [ReplyToStaff("staff.noted")]
        async with self.store.db.transaction() as tx:
            await self.store.events.add(case.id, "note", actor.alias, text.strip(), tx)
            await self.keeper.keep(tx, effects)
        return effects

    async def summary(self, actor: Actor, case: Case) -> list[Effect]:
        effects: list[Effect] = [StaffDocument(await self.case_document(case))]
        async with self.store.db.transaction() as tx:
            await self.store.audit.record(actor.alias, "case_summary_read", case.code, tx)
            await self.keeper.keep(tx, effects)
        return effects

    async def case_document(self, case: Case) -> tuple[str, ...]:
        """The card and the case's events, split into whole messages."""
        person = await self.store.people.get(case.person_id)
        consented = bool(person and person.consents.get("share_counsellor"))
        answers = await self.store.cases.answers(case.id)
        lines: list[Line] = card_lines(case, answers, consented, self.texts, self.language)
        events = await self.store.events.for_case(case.id)
        heading = self.texts.text("staff.summary_events", self.language)
        lines += event_lines(events, heading)
        return render_lines(lines)

    async def close(self, actor: Actor, case: Case, outcome: str | None) -> list[Effect]:
        refused = self._refusal(actor, case)
        if refused:
            return refused
        if outcome is not None and outcome not in self.policy.outcomes:
            return [
                ReplyToStaff(
                    "staff.unknown_outcome", {"outcomes": ", ".join(self.policy.outcomes)}
                )
            ]
        async with self.store.db.transaction() as tx:
            reachable = await self._reachable(case, tx)
            await transitions.close(self.store, tx, case, outcome)
            await self.store.events.add(case.id, "closed", actor.alias, outcome, tx)
            effects: list[Effect] = [
                ToTopic(
                    case.id, "staff.closed", {"alias": actor.alias, "outcome": outcome or "-"}
                ),
                CloseTopic(case.id),
            ]
            if reachable:
                effects += [
                    ToPerson(case.person_id, "handoff.closed_by_counsellor"),
                    ShowFlow(case.person_id, "closed"),
                ]
            await self.keeper.keep(tx, effects)
        return effects

    async def block(self, actor: Actor, case: Case, argument: str) -> list[Effect]:
        days_text, _, reason = argument.strip().partition(" ")
        if days_text.isdigit() and int(days_text) > 0:
            days = min(int(days_text), 3650)
        else:
            days, reason = self.policy.default_block_days, argument.strip()
        until = self.clock() + timedelta(days=days)
        async with self.store.db.transaction() as tx:
            reachable = await self._reachable(case, tx)
            block = await self.store.blocks.add(
                case.person_id, until, actor.alias, reason or "abuse", tx
            )
            for open_case in await self.store.cases.for_person(case.person_id, tx):
                if open_case.status != CaseStatus.CLOSED:
                    await transitions.close(self.store, tx, open_case, "other")
            await self.store.events.add(case.id, "blocked", actor.alias, reason or None, tx)
            effects: list[Effect] = [
                ToTopic(
                    case.id,
                    "staff.blocked",
                    {
                        "alias": actor.alias,
                        "days": str(days),
                        "until": block.until.isoformat(),
                        "code": case.code,
                    },
                ),
                CloseTopic(case.id),
            ]
            if reachable:
                effects.append(ToPerson(case.person_id, "blocked.neutral"))
            await self.keeper.keep(tx, effects)
        return effects

    async def refer(self, actor: Actor, case: Case, partner_id: str) -> list[Effect]:
        partner_id = partner_id.strip()
        if partner_id not in self.policy.partners:
            known = ", ".join(sorted(self.policy.partners))
            return [ReplyToStaff("staff.unknown_partner", {"partners": known})]
        if not await self._reachable(case):
            # The consent question would reach a phone the person has just cleared.
            return [ReplyToStaff("staff.person_not_in_chat")]
        return [ProposeReferral(case.id, partner_id, actor.alias)]

    async def referral_done(self, actor: Actor, case: Case, argument: str) -> list[Effect]:
        code, _, reason = argument.strip().partition(" ")
        referral = await self.store.referrals.get_by_code(code.strip().upper())
        reason = reason.strip()
        if (
            referral is None
            or referral.case_id != case.id
            or reason not in self.policy.referral_done_reasons
        ):
            reasons = ", ".join(self.policy.referral_done_reasons)
            return [ReplyToStaff("staff.referral_done_usage", {"reasons": reasons})]
        if (ReferralStatus(referral.status), ReferralStatus.DONE) not in REFERRAL_TRANSITIONS:
            return [
                ReplyToStaff(
                    "staff.referral_not_open", {"code": referral.code, "status": referral.status}
                )
            ]
        return [AnswerReferral(case.id, referral.code, reason, actor.alias)]

    # ------------------------------------------------------------ desk commands
    async def unblock(self, actor: Actor, code: str) -> list[Effect]:
        if not actor.coordinates:
            return [ReplyToStaff("staff.coordinators_only")]
        shown = code.strip().upper() or "?"
        case = await self.store.cases.get_by_code(normalise_code(code)) if code.strip() else None
        if case is None:
            return [ReplyToStaff("staff.no_block", {"code": shown})]
        async with self.store.db.transaction() as tx:
            lifted = await self.store.blocks.lift(case.person_id, tx)
            if lifted:
                await self.store.events.add(case.id, "unblocked", actor.alias, None, tx)
            key = "staff.unblocked" if lifted else "staff.no_block"
            effects: list[Effect] = [ReplyToStaff(key, {"code": shown})]
            await self.keeper.keep(tx, effects)
        return effects

    async def queue(self) -> list[Effect]:
        waiting = [c for c in await self.store.cases.by_status("waiting") if c.relay or c.urgent]
        if not waiting:
            return [ReplyToStaff("staff.queue_empty")]
        now = self.clock()
        lines = [
            Line(
                self.texts.text("staff.queue_header", self.language, count=str(len(waiting))),
                markup=True,
            )
        ]
        urgent_label = self.texts.text("staff.card.urgent", self.language)
        for case in waiting:  # urgent first, then oldest
            minutes = await waited_minutes(self.store, case.id, now)
            urgent = f" · {urgent_label}" if case.urgent else ""
            lines.append(
                Line(
                    self.texts.text(
                        "staff.queue_line",
                        self.language,
                        code=case.code,
                        urgent=urgent,
                        minutes=str(minutes),
                    ),
                    markup=True,
                )
            )
        return [StaffDocument(render_lines(lines))]
