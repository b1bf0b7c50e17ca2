"""One step of a person's conversation: load the run, step the engine, carry out the
database effects, save the run, all in one transaction. Telegram I/O happens afterwards, from
the returned effects, so a crash never leaves a half-saved step."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.effect_codec import encode
from bot.kept_effects import KeptEffects
from bot.message_tracker import keep_for_quick_exit
from bot.partner_list import PartnerList
from bot.update_unit import UpdateUnit
from casework.effects import Effect as CaseEffect
from casework.person_desk import PersonDesk
from flows.engine import Engine
from flows.events import ActionDone, Effect, Input, Perform, Press, Redisplay, Say, Start
from flows.model import ActionKind
from knowledge.partners import Partner, find_partners
from storage.repositories.base import Tx
from storage.repositories.people import Person
from storage.store import Store

CASE_FIELDS = ("category", "province", "perpetrator")
MAX_CHAINED_ACTIONS = 10
LEAVING = (ActionKind.QUICK_EXIT, ActionKind.ERASE)


def new_screen_token() -> str:
    return secrets.token_urlsafe(4)[:5]


@dataclass(frozen=True)
class Outcome:
    person: Person
    effects: tuple[Effect | PartnerList, ...]
    screen_message_id: int | None
    ended: bool
    language: str
    case_code: str | None = None
    after_commit: tuple[Perform, ...] = field(default_factory=tuple)
    case_effects: tuple[CaseEffect, ...] = field(default_factory=tuple)
    # Quick exit or erasure: the chat's messages to delete, taken in the step's transaction
    # (and kept with its outbox row), so that a crash halfway still deletes them after it.
    to_delete: tuple[int, ...] = ()
    # Erasure: the topics of the person's cases, deleted with them (kept for the same reason).
    topics: tuple[int, ...] = ()


def kept_step(
    outcome: Outcome, *, redisplay: bool, pressed: int | None, typed: int | None
) -> dict[str, Any]:
    """A step's outcome as the outbox keeps it (``bot/outbox_replay.py`` reads it back)."""
    return {
        "person_id": outcome.person.id,
        "effects": encode([_without_variables(e) for e in outcome.effects]),
        "screen_message_id": outcome.screen_message_id,
        "ended": outcome.ended,
        "language": outcome.language,
        "case_code": outcome.case_code,
        "after_commit": encode([_without_variables(p) for p in outcome.after_commit]),
        "case_effects": encode(list(outcome.case_effects)),
        "redisplay": redisplay,
        "pressed": pressed,
        "typed": typed,
        "to_delete": list(outcome.to_delete),
        # Only for Quick exit or erasure: to finish clearing the chat of someone erased since.
        "chat_id": outcome.person.chat_id if leaving(outcome) else None,
        "topics": list(outcome.topics),
    }


def _without_variables(effect: Any) -> Any:
    """An action keeps its name and parameters, not the run's variables (the person's answers,
    which sending never needs)."""
    if isinstance(effect, Perform) and effect.variables:
        return Perform(effect.action, effect.params)
    return effect


def leaving(outcome: Outcome) -> bool:
    return any(p.action in LEAVING for p in outcome.after_commit)


def _answers(variables: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in variables.items() if k not in ("language", "case_code")}


class Conversation:
    welcome_flow = "welcome"

    def __init__(
        self,
        store: Store,
        engine: Engine,
        partners: tuple[Partner, ...],
        person_desk: PersonDesk,
        *,
        handoff_enabled: bool = False,
        queue_alert_minutes: int = 30,
        follow_up_days: int = 7,
        kept: KeptEffects | None = None,
    ) -> None:
        self.store = store
        self.kept = kept
        self.engine = engine
        self.person_desk = person_desk
        self.partners = partners
        self.handoff_enabled = handoff_enabled
        self.queue_alert_minutes = queue_alert_minutes
        self.follow_up_days = follow_up_days

    async def step(
        self,
        user_id: int,
        chat_id: int,
        event: Input,
        update_id: int | None = None,
        *,
        typed_message_id: int | None = None,
        pressed_message_id: int | None = None,
    ) -> Outcome | None:
        """One step; ``None`` when this update was already handled (Telegram delivers updates
        at least once: a restart can hand the last one over again). The id of the message the
        person typed is remembered (for Quick exit) in the step's own transaction, so no crash
        while the answer is being sent can leave it out."""
        async with self.store.db.transaction() as tx:
            person, created = await self.store.people.get_or_create(user_id, chat_id, tx=tx)
            saved = await self.store.flow_runs.load(person.id, tx) or {}
            if update_id is not None and update_id <= saved.get("last_update_id", -1):
                return None
            if update_id is not None:  # handled: marked with the step, in one commit
                await self.store.inbox.done(update_id, tx)
            if typed_message_id is not None:
                await keep_for_quick_exit(self.store, person, [typed_message_id], tx)
            state = saved.get("engine")
            if created and not isinstance(event, Start | Press):
                event = Start(self.welcome_flow)
            if state is not None and "language" not in state.get("vars", {}):
                state = {**state, "vars": {**state["vars"], "language": person.language}}
            result = self.engine.step(state, event)
            effects: list[Effect | PartnerList] = []
            after_commit: list[Perform] = []
            case_effects: list[CaseEffect] = []
            language = person.language
            case_code: str | None = None
            for _ in range(MAX_CHAINED_ACTIONS):
                reply: ActionDone | None = None
                for effect in result.effects:
                    effects.append(effect)
                    if not isinstance(effect, Perform):
                        continue
                    reply, language, code = await self._perform(
                        tx, person, effect, language, effects, after_commit, case_effects
                    )
                    case_code = code or case_code
                if reply is None:
                    break
                result = self.engine.step(result.state, reply)
            ended = result.state is None
            if ended:
                await self.store.flow_runs.delete(person.id, tx)
                screen_message_id = None
            else:
                screen_message_id = saved.get("screen_message_id")
                last = saved.get("last_update_id", -1) if update_id is None else update_id
                await self.store.flow_runs.save(
                    person.id,
                    {
                        "engine": result.state,
                        "screen_message_id": screen_message_id,
                        "last_update_id": last,
                    },
                    tx,
                )
            to_delete: list[int] = []
            topics: list[int] = []
            erasing = any(p.action is ActionKind.ERASE for p in after_commit)
            if any(p.action in LEAVING for p in after_commit):
                to_delete = await self.store.chat_messages.take(person.id, tx)
                if self.kept is not None:
                    await self.kept.hold_back(tx, person.id)
            if erasing:
                cases = await self.store.cases.for_person(person.id, tx)
                topics = [c.topic_id for c in cases if c.topic_id is not None]
            outcome = Outcome(
                person,
                tuple(effects),
                screen_message_id,
                ended,
                language,
                case_code,
                tuple(after_commit),
                tuple(case_effects),
                tuple(to_delete),
                tuple(topics),
            )
            if update_id is not None and self.kept is not None:
                # What the step decided to send, kept with it until it has been sent.
                await self.kept.keep_step(
                    tx,
                    kept_step(
                        outcome,
                        redisplay=isinstance(event, Redisplay),
                        pressed=pressed_message_id,
                        typed=typed_message_id,
                    ),
                    person.id,
                    sealed_for_person=not erasing,
                )
        if update_id is not None:  # committed: the update needs no closing "handled" mark
            UpdateUnit.mark_handled()
        return outcome

    async def _perform(  # noqa: PLR0917 - one call site, every argument is needed
        self,
        tx: Tx,
        person: Person,
        effect: Perform,
        language: str,
        effects: list[Effect | PartnerList],
        after_commit: list[Perform],
        case_effects: list[CaseEffect],
    ) -> tuple[ActionDone | None, str, str | None]:
        if effect.action is ActionKind.SET_LANGUAGE:
            chosen = effect.params.get("language", language)
            if chosen in ("km", "en"):
                await self.store.people.set_language(person.id, chosen, tx)
                language = chosen
            return None, language, None
        if effect.action is ActionKind.CREATE_CASE:
            variables = effect.variables
            when = variables.get("when")
            case = await self.store.cases.create(
                person.id,
                _answers(variables),
                category=variables.get("category"),
                province=variables.get("province"),
                perpetrator=variables.get("perpetrator"),
                incident_month=when if isinstance(when, str) else None,
                urgent=variables.get("danger") == "yes",
                tx=tx,
            )
            consents = {
                **person.consents,
                "record": True,
                "share_counsellor": variables.get("share_counsellor") == "yes",
                "share_partner": variables.get("share_partner") == "yes",
            }
            await self.store.people.set_consents(person.id, consents, tx)
            await self.store.events.add(case.id, "opened", "person", None, tx)
            return ActionDone({"case_code": case.code}), language, case.code
        if effect.action in (ActionKind.HANDOFF, ActionKind.REFER):
            if not self.handoff_enabled:
                effects.append(Say("counsellor.unavailable"))
                return ActionDone({"handoff": "unavailable"}), language, None
            code = effect.variables.get("case_code")
            handoff = await self.person_desk.handoff(
                tx, person, code if isinstance(code, str) else None, language
            )
            case = handoff.case
            case_effects.extend(handoff.effects)
            params = {"case_id": case.id}
            if effect.action is ActionKind.REFER:
                params["need"] = str(effect.variables.get("need", ""))
                params["province"] = str(effect.variables.get("partner_province", ""))
            after_commit.append(Perform(effect.action, params))
            return None, language, case.code
        if effect.action is ActionKind.SET_CLEANUP:
            hours = int(effect.params.get("hours", "0"))
            consents = {**person.consents, "cleanup_hours": hours}
            await self.store.people.set_consents(person.id, consents, tx)
            await self.store.schedule.cancel(person_id=person.id, kind="cleanup", tx=tx)
            if hours:
                due = datetime.now(UTC) + timedelta(hours=hours)
                await self.store.schedule.add("cleanup", due, {}, person_id=person.id, tx=tx)
            return None, language, None
        if effect.action is ActionKind.SCHEDULE_FOLLOW_UP:
            due = datetime.now(UTC) + timedelta(days=self.follow_up_days)
            await self.store.schedule.add("follow_up", due, {}, person_id=person.id, tx=tx)
            return None, language, None
        if effect.action is ActionKind.SHOW_SAVED:
            return await self._saved_answers(tx, person), language, None
        if effect.action is ActionKind.FIND_PARTNERS:
            found = find_partners(
                self.partners,
                effect.variables.get("need"),
                effect.variables.get("partner_province"),
            )
            effects.append(PartnerList(tuple(found)))
            return ActionDone({"partner_count": str(len(found))}), language, None
        after_commit.append(effect)
        return None, language, None

    async def _saved_answers(self, tx: Tx, person: Person) -> ActionDone:
        """The person's newest saved intake, for them to read again (until they erase)."""
        for case in reversed(await self.store.cases.for_person(person.id, tx)):
            answers = await self.store.cases.answers(case.id, tx)
            if answers:
                shown = {k: str(v) for k, v in answers.items() if v is not None}
                return ActionDone({**shown, "case_code": case.code, "has_saved": "yes"})
        return ActionDone({"has_saved": "no"})

    async def remember_screen(self, person: Person, message_id: int | None) -> None:
        """Within an update, collected for the update's one closing transaction."""
        unit = UpdateUnit.current()
        if unit is not None:
            unit.screen(person, message_id)
            return
        async with self.store.db.transaction() as tx:
            await self.write_screen(person, message_id, tx)

    async def write_screen(self, person: Person, message_id: int | None, tx: Tx) -> None:
        saved = await self.store.flow_runs.load(person.id, tx)
        if saved is None:
            return
        await self.store.flow_runs.save(person.id, {**saved, "screen_message_id": message_id}, tx)
