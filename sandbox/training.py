"""Training scenarios: a simulated person follows a script while a trainee counsels them from
the staff group, and a checklist says what the trainee did.

A scenario is a YAML file in ``sandbox/scenarios/`` (see ``police_id_card.yaml``)::

    title: {en: ..., km: ...}        # every text is given in both languages
    brief: {en: ..., km: ...}        # what the trainee is told before starting
    language: km                     # the person's language unless the trainer picks another
    night: false                     # true: the bot is outside office hours (with --scenario)
    translation: {km: awaiting native review}
    script:                          # what the simulated person does, in order
      - start: true                  # /start, choose the language, read the privacy notice
      - press: main.counsellor       # press a button, named by its UI string key
      - say: {en: ..., km: ...}      # type a message
      - send: {kind: photo, sample: letter-photo.png, caption: {en: ..., km: ...}}
      - wait: claim                  # claim | reply | referral | close: wait for the trainee
      - answer_referral: referral.yes  # wait for a referral question and answer it
      - exit: true                   # quick exit (/exit)
    checklist:                       # what the trainee should do
      - claimed_within: 5            # minutes from the topic opening to the claim
      - no_personal_data: true       # nothing sent to the person asks who they are
      - referral_with_consent: true  # /refer used, so the person was asked to consent
      - closed_with_outcome: [referred, resolved]   # or `true` for any outcome
      - note_written: true
      - silent_after_exit: true      # nothing more written to a person who quick-exited

Everything the simulated person does goes through the emulator's control interface, and
everything the checklist reads is what the emulated Telegram saw: the bot under training is
the real one, unchanged. This module imports none of the bot's packages; the runner hands in
a function that turns a UI string key into the label the bot shows in a language.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sandbox.client import ControlError, SandboxClient
from sandbox.state import Message, TelegramState
from sandbox.world import World

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
LANGUAGES = ("km", "en")
OUTCOMES = (
    "information_given",
    "referred",
    "resolved",
    "client_withdrew",
    "unable_to_contact",
    "other",
)
WAITS = ("claim", "reply", "referral", "close")
STEP_KINDS = ("start", "press", "say", "send", "wait", "answer_referral", "exit")
CHECKS = (
    "claimed_within",
    "no_personal_data",
    "referral_with_consent",
    "closed_with_outcome",
    "note_written",
    "silent_after_exit",
)
MEDIA = ("photo", "document")
TRANSLATION_STATES = ("awaiting native review", "reviewed")
BOT_STEP_SECONDS = 30.0  # how long the person waits for the bot (not the trainee) to answer

# Questions about who the person is. Matched case-insensitively in what reached the person;
# the detail names the phrase so the trainer can judge. Khmer awaiting native review.
PERSONAL_DATA = (
    r"\bwhat(?:'s| is) your (?:full |real )?name\b",
    r"\byour (?:full |real )?name\b",
    r"\bphone(?: number)?\b",
    r"\b(?:home )?address\b",
    r"\bwhere (?:do|did) you live\b",
    r"\bid(?: card)? number\b",
    r"\bdate of birth\b",
    r"\bfacebook\b",
    r"\bsend (?:me )?(?:a )?(?:photo|picture) of (?:you|your face)\b",
    r"ឈ្មោះអ្វី",
    r"ឈ្មោះពិត",
    r"លេខទូរស័ព្ទ",
    r"អាសយដ្ឋាន",
    r"រស់នៅឯណា",
    r"រស់នៅទីណា",
    r"លេខអត្តសញ្ញាណប័ណ្ណ",
    r"ថ្ងៃខែឆ្នាំកំណើត",
)

CHECK_LABELS: dict[str, dict[str, str]] = {
    "claimed_within": {
        "en": "Claimed the case within {minutes} minutes",
        "km": "បានទទួលយកករណីក្នុងរយៈពេល {minutes} នាទី",
    },
    "no_personal_data": {
        "en": "Asked for no personal data (name, phone, address, ID number)",
        "km": "មិនបានសួរព័ត៌មានផ្ទាល់ខ្លួន (ឈ្មោះ ទូរស័ព្ទ អាសយដ្ឋាន លេខអត្តសញ្ញាណប័ណ្ណ)",
    },
    "referral_with_consent": {
        "en": "Offered a referral, with the person's consent asked",
        "km": "បានស្នើការបញ្ជូនបន្ត ដោយសួរការយល់ព្រមពីបុគ្គលនោះ",
    },
    "closed_with_outcome": {
        "en": "Closed the case with an outcome",
        "km": "បានបិទករណីដោយមានលទ្ធផល",
    },
    "note_written": {
        "en": "Wrote an internal note",
        "km": "បានសរសេរកំណត់ចំណាំផ្ទៃក្នុង",
    },
    "silent_after_exit": {
        "en": "Wrote nothing more to the person after their quick exit",
        "km": "មិនបានសរសេរទៅបុគ្គលនោះទៀតទេ ក្រោយពេលគាត់ចាកចេញរហ័ស",
    },
}

Label = Callable[[str, str], str]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Step:
    kind: str
    value: Any


@dataclass(frozen=True)
class Check:
    kind: str
    value: Any
    label: dict[str, str]

    def text(self, language: str) -> str:
        minutes = str(self.value) if self.kind == "claimed_within" else ""
        return self.label[language].replace("{minutes}", minutes)


@dataclass(frozen=True)
class Scenario:
    id: str
    title: dict[str, str]
    brief: dict[str, str]
    language: str
    night: bool
    script: tuple[Step, ...]
    checklist: tuple[Check, ...]
    translation: dict[str, str]

    def label_keys(self) -> list[str]:
        """Every UI string key the script presses (checked against the bot's catalogue)."""
        keys = [str(s.value) for s in self.script if s.kind in ("press", "answer_referral")]
        if any(s.kind == "start" for s in self.script):
            keys += ["language.km", "language.en", "welcome.continue"]
        return keys

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "brief": self.brief,
            "language": self.language,
            "night": self.night,
            "checklist": {lang: [c.text(lang) for c in self.checklist] for lang in LANGUAGES},
        }


# ---------------------------------------------------------------------------- loading
def _texts(where: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: expected {{en: ..., km: ...}}")
    missing = [lang for lang in LANGUAGES if not str(value.get(lang) or "").strip()]
    if missing:
        raise ScenarioError(f"{where}: missing the {' and '.join(missing)} text")
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        raise ScenarioError(f"{where}: unknown language {unknown[0]!r}")
    return {lang: str(value[lang]) for lang in LANGUAGES}


def _step(where: str, raw: Any) -> Step:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ScenarioError(f"{where}: expected one of {', '.join(STEP_KINDS)}")
    [(kind, value)] = raw.items()
    if kind not in STEP_KINDS:
        raise ScenarioError(f"{where}: unknown step {kind!r}; use one of {', '.join(STEP_KINDS)}")
    if kind in ("start", "exit"):
        if value is not True:
            raise ScenarioError(f"{where}.{kind}: expected true")
    elif kind in ("press", "answer_referral"):
        if not isinstance(value, str) or not re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)+", value):
            raise ScenarioError(f"{where}.{kind}: expected a UI string key like main.counsellor")
    elif kind == "say":
        value = _texts(f"{where}.say", value)
    elif kind == "send":
        if not isinstance(value, dict) or value.get("kind") not in MEDIA:
            raise ScenarioError(f"{where}.send.kind: expected one of {', '.join(MEDIA)}")
        sample = str(value.get("sample") or "")
        if not (Path(__file__).resolve().parent / "samples" / sample).is_file():
            raise ScenarioError(f"{where}.send.sample: no sample file {sample!r}")
        caption = _texts(f"{where}.send.caption", value["caption"]) if "caption" in value else None
        value = {"kind": value["kind"], "sample": sample, "caption": caption}
    elif kind == "wait" and value not in WAITS:
        raise ScenarioError(f"{where}.wait: expected one of {', '.join(WAITS)}")
    return Step(kind, value)


def _check(where: str, raw: Any) -> Check:
    if not isinstance(raw, dict) or not 1 <= len(raw) <= 2:
        raise ScenarioError(f"{where}: expected one of {', '.join(CHECKS)}")
    label_raw = raw.get("label")
    kinds = [k for k in raw if k != "label"]
    if len(kinds) != 1 or kinds[0] not in CHECKS:
        raise ScenarioError(f"{where}: unknown check; use one of {', '.join(CHECKS)}")
    kind = kinds[0]
    value = raw[kind]
    if kind == "claimed_within":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ScenarioError(f"{where}.claimed_within: expected a number of minutes")
    elif kind == "closed_with_outcome":
        if value is True:
            value = list(OUTCOMES)
        if not isinstance(value, list) or not value or not set(value) <= set(OUTCOMES):
            raise ScenarioError(
                f"{where}.closed_with_outcome: expected true or a list of {', '.join(OUTCOMES)}"
            )
        value = tuple(value)
    elif value is not True:
        raise ScenarioError(f"{where}.{kind}: expected true")
    label = _texts(f"{where}.label", label_raw) if label_raw is not None else CHECK_LABELS[kind]
    return Check(kind, value, label)


def parse_scenario(scenario_id: str, data: Any, where: str) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: expected a mapping")
    known = {"title", "brief", "language", "night", "translation", "script", "checklist"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScenarioError(f"{where}: unknown key {unknown[0]!r}")
    language = data.get("language", "km")
    if language not in LANGUAGES:
        raise ScenarioError(f"{where}: language: expected km or en")
    translation = data.get("translation")
    if not isinstance(translation, dict) or translation.get("km") not in TRANSLATION_STATES:
        raise ScenarioError(
            f"{where}: translation.km: say whether the Khmer is reviewed "
            "(write 'awaiting native review' until a native speaker has)"
        )
    script_raw = data.get("script")
    if not isinstance(script_raw, list) or not script_raw:
        raise ScenarioError(f"{where}: script: expected a list of steps")
    checklist_raw = data.get("checklist")
    if not isinstance(checklist_raw, list) or not checklist_raw:
        raise ScenarioError(f"{where}: checklist: expected a list of checks")
    script = tuple(_step(f"{where}: script[{i}]", s) for i, s in enumerate(script_raw))
    checklist = tuple(_check(f"{where}: checklist[{i}]", c) for i, c in enumerate(checklist_raw))
    return Scenario(
        id=scenario_id,
        title=_texts(f"{where}: title", data.get("title")),
        brief=_texts(f"{where}: brief", data.get("brief")),
        language=str(language),
        night=bool(data.get("night", False)),
        script=script,
        checklist=checklist,
        translation={str(k): str(v) for k, v in translation.items()},
    )


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path.name}: not valid YAML: {exc}") from exc
    return parse_scenario(path.stem, data, path.name)


def load_scenarios(directory: Path = SCENARIOS) -> dict[str, Scenario]:
    """Every scenario in ``directory`` by id; raise :class:`ScenarioError` on the first bad one."""
    return {p.stem: load_scenario(p) for p in sorted(directory.glob("*.yaml"))}


def scenario_problems(
    scenarios: dict[str, Scenario], known_label: Callable[[str], bool]
) -> list[str]:
    """Keys a script presses that the bot's catalogue does not have."""
    return [
        f"{s.id}.yaml: script presses unknown UI string {key!r}"
        for s in scenarios.values()
        for key in s.label_keys()
        if not known_label(key)
    ]


# ---------------------------------------------------------------------------- what happened
@dataclass
class Activity:
    """What the trainee (any staff member) did in the case topic of one simulated person."""

    thread_id: int | None = None
    opened_at: float | None = None
    claims: list[tuple[float, str]] = field(default_factory=list)
    notes: list[tuple[float, str]] = field(default_factory=list)
    refers: list[tuple[float, str]] = field(default_factory=list)
    closes: list[tuple[float, str]] = field(default_factory=list)
    staff_plain: list[tuple[float, str]] = field(default_factory=list)
    reached_person: list[tuple[float, str]] = field(default_factory=list)
    consent_asked: list[float] = field(default_factory=list)
    consent_answers: list[tuple[float, str]] = field(default_factory=list)


def _text(message: Message) -> str:
    return message.text or message.caption or ""


def _topic_code(name: str) -> str:
    return name.split(" · ", maxsplit=1)[0].strip()


def find_topic(state: TelegramState, world: World, person_id: int) -> int | None:
    """The staff topic of this person's case: the one their messages were copied into, or the
    one whose case code the bot told them."""
    group = world.staff_group_id
    for message in state.messages.get(group, {}).values():
        if message.copy_of and message.copy_of[0] == person_id and message.thread_id:
            return message.thread_id
    chat = state.chats.get(group)
    if chat is None:
        return None
    bot_texts = [
        _text(m) for m in state.messages.get(person_id, {}).values() if m.sender_id == state.bot.id
    ]
    for topic in sorted(chat.topics.values(), key=lambda t: -t.thread_id):
        code = _topic_code(topic.name)
        if code and any(code in text for text in bot_texts):
            return topic.thread_id
    return None


def _command(text: str) -> tuple[str, str]:
    head, _, rest = text.strip().partition(" ")
    return head.split("@")[0].lower(), rest.strip()


def activity(state: TelegramState, world: World, person_id: int) -> Activity:
    found = Activity()
    thread = find_topic(state, world, person_id)
    if thread is None:
        return found
    group = world.staff_group_id
    staff = {m.user_id: m.alias for m in world.members}
    found.thread_id = thread
    all_group = sorted(state.messages.get(group, {}).values(), key=lambda m: m.message_id)
    opening = state.messages.get(group, {}).get(thread)
    found.opened_at = opening.date if opening is not None else None
    for message in all_group:
        if message.thread_id != thread or message.sender_id not in staff:
            continue
        alias, text, at = staff[message.sender_id], _text(message), message.date
        command, rest = _command(text) if text.startswith("/") else ("", "")
        if command == "/claim":
            found.claims.append((at, alias))
        elif command == "/note" and rest:
            found.notes.append((at, rest))
        elif command == "/refer" and rest:
            found.refers.append((at, rest.split()[0]))
        elif command == "/close" and rest.split()[:1] and rest.split()[0] in OUTCOMES:
            found.closes.append((at, rest.split()[0]))
        elif not command:
            found.staff_plain.append((at, text))
    for query in state.callback_queries.values():
        data = str(query.get("data", ""))
        at = float(query["at"])
        if query.get("chat_id") == group and query.get("user_id") in staff:
            parts = data.split(":")
            in_topic = query.get("thread_id") == thread
            if in_topic and parts[:2] == ["card", "claim"]:
                found.claims.append((at, staff[int(query["user_id"])]))
            elif in_topic and parts[:2] == ["card", "outcome"] and parts[-1] in OUTCOMES:
                found.closes.append((at, parts[-1]))
        elif query.get("chat_id") == person_id and data.startswith("ref:"):
            found.consent_answers.append((at, str(query.get("label", ""))))
    for message in state.messages.get(person_id, {}).values():
        if message.copy_of and message.copy_of[0] == group:
            source = state.messages.get(group, {}).get(message.copy_of[1])
            if source is not None and source.thread_id == thread:
                found.reached_person.append((message.date, _text(message)))
        if message.sender_id == state.bot.id and any(
            str(b.get("callback_data", "")).startswith("ref:") for b in message.buttons
        ):
            found.consent_asked.append(message.date)
    for items in (found.claims, found.closes, found.reached_person, found.consent_answers):
        items.sort()
    found.consent_asked.sort()
    return found


@dataclass(frozen=True)
class CheckResult:
    kind: str
    label: str
    passed: bool
    detail: str

    def to_api(self) -> dict[str, Any]:
        return {
            "check": self.kind,
            "label": self.label,
            "passed": self.passed,
            "detail": self.detail,
        }


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def evaluate(
    scenario: Scenario,
    done: Activity,
    language: str,
    *,
    exit_at: float | None = None,
    patterns: tuple[str, ...] = PERSONAL_DATA,
) -> list[CheckResult]:
    """The scenario's checklist against what the trainee did."""
    results = []
    for check in scenario.checklist:
        passed, detail = False, ""
        if check.kind == "claimed_within":
            if not done.claims or done.opened_at is None:
                detail = "not claimed"
            else:
                at, alias = done.claims[0]
                took = max(0.0, at - done.opened_at)
                passed = took <= int(check.value) * 60
                detail = f"claimed by {alias} after {_minutes(took)}"
        elif check.kind == "no_personal_data":
            hits = [
                found.group(0)
                for _, text in done.reached_person
                for pattern in patterns
                if (found := re.search(pattern, text, re.IGNORECASE))
            ]
            passed = not hits
            detail = "asked: " + ", ".join(f'"{h}"' for h in hits) if hits else "none asked"
            if not done.reached_person:
                detail = "no message reached the person"
        elif check.kind == "referral_with_consent":
            if not done.refers:
                detail = "no /refer"
            else:
                first = done.refers[0][0]
                asked = [a for a in done.consent_asked if a >= first - 1]
                passed = bool(asked)
                answers = ", ".join(label for _, label in done.consent_answers) or "no answer yet"
                detail = (
                    f"/refer {done.refers[0][1]}; the person was asked ({answers})"
                    if passed
                    else f"/refer {done.refers[0][1]}, but no consent question reached the person"
                )
        elif check.kind == "closed_with_outcome":
            if not done.closes:
                detail = "not closed"
            else:
                outcome = done.closes[-1][1]
                passed = outcome in check.value
                detail = f"outcome: {outcome}"
        elif check.kind == "note_written":
            passed = bool(done.notes)
            detail = f"{len(done.notes)} note(s)"
        elif check.kind == "silent_after_exit":
            if exit_at is None:
                detail = "the person has not left yet"
            else:
                after = [text for at, text in done.staff_plain if at >= exit_at]
                passed = not after
                detail = f"{len(after)} message(s) after the exit" if after else "nothing sent"
        results.append(CheckResult(check.kind, check.text(language), passed, detail))
    return results


# ---------------------------------------------------------------------------- the person
class _ClosedEarly(Exception):
    """The trainee closed the case while the person waited for something else."""


class ScenarioRun:
    """One simulated person following one scenario's script, until it ends or is stopped."""

    def __init__(
        self,
        scenario: Scenario,
        language: str,
        *,
        state: TelegramState,
        client: SandboxClient,
        world: World,
        label: Label,
    ) -> None:
        self.scenario = scenario
        self.language = language
        self.state = state
        self.client = client
        self.world = world
        self.label = label
        self.person_id: int | None = None
        self.step = 0
        self.status = "starting"
        self.log: list[str] = []
        self.error = ""
        self.exit_at: float | None = None
        self.started_at = state.now()
        self.finished_at: float | None = None
        self._seen_replies = 0
        self._seen_questions = 0
        self.task: asyncio.Task[None] | None = None

    # -------------------------------------------------------------- reading
    def activity(self) -> Activity:
        if self.person_id is None:
            return Activity()
        return activity(self.state, self.world, self.person_id)

    def results(self) -> list[CheckResult]:
        return evaluate(self.scenario, self.activity(), self.language, exit_at=self.exit_at)

    def to_api(self) -> dict[str, Any]:
        done = self.activity()
        return {
            "scenario": self.scenario.summary(),
            "language": self.language,
            "person_id": self.person_id,
            "thread_id": done.thread_id,
            "step": self.step,
            "steps": len(self.scenario.script),
            "status": self.status,
            "error": self.error,
            "log": self.log[-30:],
            "finished": self.status in ("done", "failed", "stopped"),
            "checklist": [r.to_api() for r in self.results()],
        }

    # -------------------------------------------------------------- acting
    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self.run())
        return self.task

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.status not in ("done", "failed"):
            self.status = "stopped"

    async def run(self) -> None:
        user = await self.client.add_user("Scenario person", language_code=self.language)
        self.person_id = int(user["id"])
        self.status = "running"
        script = self.scenario.script
        try:
            index = 0
            while index < len(script):
                self.step = index
                try:
                    await self._do(script[index])
                    index += 1
                except _ClosedEarly:
                    # Go on after the script's `wait: close`, or end if it has none.
                    later = [
                        i
                        for i in range(index, len(script))
                        if script[i].kind == "wait" and script[i].value == "close"
                    ]
                    index = later[0] + 1 if later else len(script)
                    self.log.append("The counsellor closed the case.")
                self.state.changed()
            self.step = len(script)
            self.status = "done"
            self.log.append("The scenario's script is over: see the checklist.")
        except (TimeoutError, ControlError) as exc:
            self.status = "failed"
            self.error = str(exc)
            self.log.append(f"The simulated person got stuck: {exc}")
        finally:
            self.finished_at = self.state.now()
            self.state.changed()

    def _person(self) -> int:
        if self.person_id is None:  # pragma: no cover - set before the first step
            raise RuntimeError("the scenario has not started")
        return self.person_id

    async def _do(self, step: Step) -> None:
        person = self._person()
        lang = self.language
        if step.kind == "start":
            self.log.append("The person opens the bot (/start) and chooses a language.")
            await self.client.send_text(person, "/start")
            await self._press(self.label(f"language.{lang}", lang))
            await self._press(self.label("welcome.continue", lang))
        elif step.kind == "press":
            label = self.label(str(step.value), lang)
            self.log.append(f"The person presses “{label}”.")
            await self._press(label)
        elif step.kind == "say":
            text = str(step.value[lang])
            self.log.append(f"The person writes: {text}")
            await self.client.send_text(person, text)
        elif step.kind == "send":
            caption = step.value["caption"][lang] if step.value["caption"] else None
            self.log.append(f"The person sends a {step.value['kind']} ({step.value['sample']}).")
            await self.client.send_media(
                person, step.value["kind"], caption=caption, sample=step.value["sample"]
            )
        elif step.kind == "wait":
            await self._wait(str(step.value))
        elif step.kind == "answer_referral":
            await self._wait("referral")
            label = self.label(str(step.value), lang)
            self.log.append(f"The person answers the referral question: “{label}”.")
            await self._press(label)
        elif step.kind == "exit":
            self.log.append("The person leaves with Quick exit (/exit).")
            self.exit_at = self.state.now()
            await self.client.send_text(person, "/exit")

    async def _press(self, label: str) -> None:
        """Press a button as soon as the bot shows it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BOT_STEP_SECONDS
        while True:
            try:
                await self.client.press(self._person(), label)
                return
            except ControlError as exc:
                if "no button labelled" not in exc.description or loop.time() > deadline:
                    raise
            await asyncio.sleep(0.05)

    async def _wait(self, what: str) -> None:
        """Wait, as long as it takes, for the trainee to do ``what``."""
        messages = {
            "claim": "The person waits for a counsellor to claim the case.",
            "reply": "The person waits for the counsellor's reply.",
            "referral": "The person waits for a referral question.",
            "close": "The person waits for the counsellor to close the case.",
        }
        self.log.append(messages[what])
        self.status = f"waiting: {what}"
        self.state.changed()
        while True:
            done = self.activity()
            if what != "close" and done.closes:
                raise _ClosedEarly
            if what == "claim" and done.claims:
                break
            if what == "reply" and len(done.reached_person) > self._seen_replies:
                break
            if what == "referral" and len(done.consent_asked) > self._seen_questions:
                break
            if what == "close" and done.closes:
                break
            await asyncio.sleep(0.1)
        self._seen_replies = len(done.reached_person)
        self._seen_questions = len(done.consent_asked)
        self.status = "running"


class Training:
    """The scenarios and the one scenario running now; served on the control interface."""

    def __init__(
        self,
        state: TelegramState,
        world: World,
        label: Label,
        scenarios: dict[str, Scenario] | None = None,
    ) -> None:
        self.state = state
        self.world = world
        self.label = label
        self.scenarios = load_scenarios() if scenarios is None else scenarios
        self.client: SandboxClient | None = None
        self.current: ScenarioRun | None = None
        self._starting: set[asyncio.Task[ScenarioRun]] = set()

    def attach(self, client: SandboxClient) -> None:
        self.client = client

    async def start(self, scenario_id: str, language: str | None = None) -> ScenarioRun:
        if self.client is None:
            raise RuntimeError("the training has no control client yet")
        scenario = self.scenarios.get(scenario_id)
        if scenario is None:
            raise KeyError(f"no scenario {scenario_id!r}; there are {', '.join(self.scenarios)}")
        lang = language or scenario.language
        if lang not in LANGUAGES:
            raise ValueError(f"language must be km or en, not {lang!r}")
        if self.current is not None:
            await self.current.stop()
        self.current = ScenarioRun(
            scenario,
            lang,
            state=self.state,
            client=self.client,
            world=self.world,
            label=self.label,
        )
        self.current.start()
        return self.current

    async def stop(self) -> None:
        if self.current is not None:
            await self.current.stop()

    def status(self) -> dict[str, Any] | None:
        return None if self.current is None else self.current.to_api()

    # -------------------------------------------------------------- control interface
    def control(self) -> dict[str, Callable[[TelegramState, dict[str, Any]], Any]]:
        """Actions added to ``/sandbox/...`` for the training page."""

        def scenarios(state: TelegramState, body: dict[str, Any]) -> Any:
            return [s.summary() for s in self.scenarios.values()]

        def start(state: TelegramState, body: dict[str, Any]) -> Any:
            scenario_id = str(body["scenario"])
            if scenario_id not in self.scenarios:
                raise KeyError(f"no scenario {scenario_id!r}")
            language = body.get("language") or None
            if language is not None and language not in LANGUAGES:
                raise ValueError("language must be km or en")
            # The run starts on the event loop; the page follows it with training_status.
            task = asyncio.get_running_loop().create_task(self.start(scenario_id, language))
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)
            return True

        def status(state: TelegramState, body: dict[str, Any]) -> Any:
            return self.status()

        return {
            "training_scenarios": scenarios,
            "training_start": start,
            "training_status": status,
        }

    READ_ONLY = frozenset({"training_scenarios", "training_status"})
