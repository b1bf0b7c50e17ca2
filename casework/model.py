"""Case and referral states, the person's presence, and the tables of allowed transitions.

A transition outside a table is an error (:class:`IllegalTransition`), never a silent write."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class IllegalTransition(RuntimeError):
    """A case, presence or referral change that the rules do not allow."""


class CaseStatus(StrEnum):
    NEW = "new"  # recorded by the intake, nobody asked for yet
    WAITING = "waiting"  # in the queue for a counsellor
    ASSIGNED = "assigned"  # a counsellor holds it
    CLOSED = "closed"


class Presence(IntEnum):
    """Where the person is with respect to the counsellor chat of a case (stored as the
    case's ``relay`` column)."""

    NONE = 0  # never asked for a counsellor on this case, or the case is over
    IN_CHAT = 1  # their messages go to the topic and the counsellor's come back
    LEFT = 2  # pressed Quick exit or ended the chat: nothing reaches their phone


class ReferralStatus(StrEnum):
    PROPOSED = "proposed"
    CONSENTED = "consented"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    DONE = "done"
    CANCELLED = "cancelled"


S = CaseStatus
CASE_TRANSITIONS: frozenset[tuple[CaseStatus, CaseStatus]] = frozenset(
    {
        (S.NEW, S.WAITING),  # the person asks for a counsellor
        (S.NEW, S.CLOSED),  # closed without a hand-off (or the person is blocked)
        (S.WAITING, S.WAITING),  # asked again: waits from now
        (S.WAITING, S.ASSIGNED),  # claimed
        (S.WAITING, S.CLOSED),
        (S.ASSIGNED, S.WAITING),  # released
        (S.ASSIGNED, S.ASSIGNED),  # transferred, or the person comes back
        (S.ASSIGNED, S.CLOSED),
    }
)

P = Presence
PRESENCE_TRANSITIONS: frozenset[tuple[Presence, Presence]] = frozenset(
    {
        (P.NONE, P.NONE),
        (P.NONE, P.IN_CHAT),  # hand-off
        (P.IN_CHAT, P.IN_CHAT),  # asked again while in the chat
        (P.IN_CHAT, P.LEFT),  # Quick exit, /end, erase, or moved to another case
        (P.LEFT, P.LEFT),
        (P.LEFT, P.IN_CHAT),  # came back
        (P.IN_CHAT, P.NONE),  # case closed
        (P.LEFT, P.NONE),  # case closed
    }
)

R = ReferralStatus
REFERRAL_TRANSITIONS: frozenset[tuple[ReferralStatus, ReferralStatus]] = frozenset(
    {
        (R.PROPOSED, R.CONSENTED),
        (R.PROPOSED, R.CANCELLED),
        (R.CONSENTED, R.SENT),
        (R.SENT, R.SENT),  # passed on by hand after a chat failed
        (R.SENT, R.ACCEPTED),
        (R.SENT, R.DECLINED),
        (R.SENT, R.DONE),
        (R.ACCEPTED, R.DONE),
        (R.DECLINED, R.DONE),
        (R.CONSENTED, R.DONE),
        (R.CONSENTED, R.CANCELLED),
        (R.SENT, R.CANCELLED),
    }
)


def check_case(before: CaseStatus, after: CaseStatus) -> None:
    if (before, after) not in CASE_TRANSITIONS:
        raise IllegalTransition(f"case {before.value} -> {after.value}")


def check_presence(before: Presence, after: Presence) -> None:
    if (before, after) not in PRESENCE_TRANSITIONS:
        raise IllegalTransition(f"presence {before.name} -> {after.name}")


def check_referral(before: ReferralStatus, after: ReferralStatus) -> None:
    if (before, after) not in REFERRAL_TRANSITIONS:
        raise IllegalTransition(f"referral {before.value} -> {after.value}")
