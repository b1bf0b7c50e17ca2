"""What casework decides should happen outside the database. ``bot/delivery.py`` turns each
effect into Bot API calls; casework never talks to Telegram."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Keyboard(StrEnum):
    """The few keyboards casework asks for; the bot renders them."""

    CRISIS_TALK = "crisis_talk"  # "Talk to a counsellor now" under a crisis reply
    CLOSE_OUTCOMES = "close_outcomes"  # one button per outcome for the case


@dataclass(frozen=True)
class ToPerson:
    """A catalogue text to the person, in their language."""

    person_id: str
    key: str
    params: Mapping[str, str] = field(default_factory=dict)
    keyboard: Keyboard | None = None


@dataclass(frozen=True)
class ToTopic:
    """A staff text into the case's topic (re-created if it is gone)."""

    case_id: str
    key: str
    params: Mapping[str, str] = field(default_factory=dict)
    keyboard: Keyboard | None = None


@dataclass(frozen=True)
class ToCoordinators:
    """A staff text to the coordinators' chat (the staff group when there is none)."""

    key: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplyToStaff:
    """A staff text answering the command or button that caused it, where it was given."""

    key: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StaffDocument:
    """Already rendered, escaped HTML parts (each under Telegram's limit), sent protected in
    reply to the staff member who asked."""

    parts: tuple[str, ...]


@dataclass(frozen=True)
class OpenTopic:
    """Make sure the case has a topic with its card."""

    case_id: str


@dataclass(frozen=True)
class CloseTopic:
    case_id: str


@dataclass(frozen=True)
class CopyToPerson:
    """Copy (never forward) a counsellor's message from the topic to the person."""

    case_id: str
    message_id: int
    reply_to: int | None = None


@dataclass(frozen=True)
class CopyToTopic:
    """Copy (never forward) the person's message into the case topic."""

    case_id: str
    chat_id: int
    message_id: int
    reply_to: int | None = None


@dataclass(frozen=True)
class MirrorEdit:
    """An edited text mirrored to its copy on the other side."""

    case_id: str
    message_id: int
    text: str
    from_person: bool


@dataclass(frozen=True)
class ShowFlow:
    """Start a flow on the person's screen (the closed-case menu, a check-in)."""

    person_id: str
    flow_id: str


@dataclass(frozen=True)
class ProposeReferral:
    """Ask the person's consent to share the case's coarse fields with a partner."""

    case_id: str
    partner_id: str
    alias: str


@dataclass(frozen=True)
class AnswerReferral:
    """A counsellor marks a referral done (the referral service records and reports it)."""

    case_id: str
    referral_code: str
    reason: str
    alias: str


@dataclass(frozen=True)
class AskReferralConsent:
    """Show the person exactly which fields a referral would share, and ask: yes, yes and
    check on me later, or no."""

    case_id: str
    referral_code: str


@dataclass(frozen=True)
class SendReferral:
    """Send a consented referral's fields to the partner's chat (or ask coordinators to pass
    them on by hand); nothing once it has been sent."""

    case_id: str
    referral_code: str


@dataclass(frozen=True)
class ToStaffChat:
    """A staff text to a chat of the service's (a partner's chat answering its referral)."""

    chat_id: int
    key: str
    params: Mapping[str, str] = field(default_factory=dict)


Effect = (
    ToPerson
    | ToTopic
    | ToCoordinators
    | ReplyToStaff
    | StaffDocument
    | OpenTopic
    | CloseTopic
    | CopyToPerson
    | CopyToTopic
    | MirrorEdit
    | ShowFlow
    | ProposeReferral
    | AnswerReferral
    | AskReferralConsent
    | SendReferral
    | ToStaffChat
)


def person_of(effect: Effect, case_person: Mapping[str, str]) -> str | None:
    """The person an effect reaches, if any (``case_person`` maps case ids to person ids)."""
    if not reaches_person(effect):
        return None
    if isinstance(effect, ToPerson | ShowFlow):
        return effect.person_id
    case_id = getattr(effect, "case_id", None)  # every other effect that reaches names a case
    return case_person.get(case_id) if isinstance(case_id, str) else None


def reaches_person(effect: Effect) -> bool:
    """Whether the effect puts something on the person's phone."""
    if isinstance(effect, MirrorEdit):
        return not effect.from_person
    return isinstance(
        effect, ToPerson | ShowFlow | CopyToPerson | ProposeReferral | AskReferralConsent
    )
