"""The rules of a case, one by one, without Telegram."""

from __future__ import annotations

import pytest

from casework.effects import (
    CopyToPerson,
    CopyToTopic,
    ReplyToStaff,
    StaffDocument,
    ToCoordinators,
    ToPerson,
    ToTopic,
)
from casework.model import (
    CASE_TRANSITIONS,
    CaseStatus,
    IllegalTransition,
    Presence,
    ReferralStatus,
    check_case,
    check_presence,
    check_referral,
)
from casework.person_desk import PersonDesk
from casework.staff_desk import StaffDesk
from casework.summaries import TELEGRAM_LIMIT, Line, render_lines
from casework.transitions import move_referral
from storage.queue import QUEUE_ALERT
from storage.store import Store
from tests.casework.conftest import DARA, SOPHEA, VISAL
from tests.casework.helpers import hand_off, intake, person, topic


def to_person(effects: object) -> list[object]:
    assert isinstance(effects, list | tuple)
    return [e for e in effects if isinstance(e, ToPerson | CopyToPerson)]


@pytest.mark.parametrize(
    ("before", "after", "allowed"),
    [
        (CaseStatus.NEW, CaseStatus.WAITING, True),
        (CaseStatus.WAITING, CaseStatus.ASSIGNED, True),
        (CaseStatus.ASSIGNED, CaseStatus.WAITING, True),
        (CaseStatus.ASSIGNED, CaseStatus.CLOSED, True),
        (CaseStatus.CLOSED, CaseStatus.WAITING, False),
        (CaseStatus.CLOSED, CaseStatus.ASSIGNED, False),
        (CaseStatus.NEW, CaseStatus.NEW, False),
    ],
)
def test_case_transition_table(before: CaseStatus, after: CaseStatus, allowed: bool) -> None:
    if allowed:
        check_case(before, after)
    else:
        with pytest.raises(IllegalTransition):
            check_case(before, after)
    assert ((before, after) in CASE_TRANSITIONS) is allowed


def test_presence_and_referral_tables_refuse_what_is_not_listed() -> None:
    check_presence(Presence.LEFT, Presence.IN_CHAT)
    with pytest.raises(IllegalTransition):
        check_presence(Presence.NONE, Presence.LEFT)
    check_referral(ReferralStatus.PROPOSED, ReferralStatus.CONSENTED)
    with pytest.raises(IllegalTransition):
        check_referral(ReferralStatus.DONE, ReferralStatus.SENT)


async def test_quick_exit_stops_the_counsellor_reaching_the_phone(
    store: Store, people: PersonDesk, staff: StaffDesk
) -> None:
    who = await person(store, 101)
    case, _ = await hand_off(store, people, who)
    case = await topic(store, case, 7)
    await staff.claim(DARA, case)
    assert to_person(await staff.message(DARA, 7, 50, None)) == [CopyToPerson(case.id, 50, None)]

    left = await people.leave(who.id, ended=False)
    assert left == [ToTopic(case.id, "staff.person_left")]
    assert await staff.message(DARA, 7, 51, None) == [ReplyToStaff("staff.person_not_in_chat")]
    case = await store.cases.get(case.id) or case
    for effects in (
        await staff.transfer(DARA, case, "Visal"),
        await staff.release(VISAL, await store.cases.get(case.id) or case),
        await staff.claim(DARA, await store.cases.get(case.id) or case),
        await staff.close(DARA, await store.cases.get(case.id) or case, "resolved"),
    ):
        assert to_person(effects) == []


async def test_coming_back_reopens_the_chat(
    store: Store, people: PersonDesk, staff: StaffDesk
) -> None:
    who = await person(store, 102)
    case, _ = await hand_off(store, people, who)
    case = await topic(store, case, 8)
    await staff.claim(DARA, case)
    await people.leave(who.id, ended=True)
    again, effects = await hand_off(store, people, who)
    assert again.id == case.id
    assert ToTopic(case.id, "staff.person_back") in effects
    assert again.status == CaseStatus.ASSIGNED
    assert await staff.message(DARA, 8, 60, None) == [CopyToPerson(case.id, 60, None)]


async def test_the_case_handed_off_is_the_one_just_recorded(
    store: Store, people: PersonDesk
) -> None:
    who = await person(store, 103)
    first = await intake(store, who, "police")
    second = await intake(store, who, "work")
    case, _ = await hand_off(store, people, who, second.code)
    assert case.id == second.id
    case, _ = await hand_off(store, people, who, first.code)
    assert case.id == first.id
    moved = await store.cases.get(second.id)
    assert moved is not None and moved.presence == Presence.LEFT
    assert (await store.cases.relayed_for_person(who.id) or case).id == first.id


async def test_without_a_code_the_newest_open_case_is_handed_off(
    store: Store, people: PersonDesk
) -> None:
    who = await person(store, 104)
    crisis = await people.crisis(104, 104, "violence")
    assert any(isinstance(e, ToCoordinators) for e in crisis)
    newer = await intake(store, who)
    case, _ = await hand_off(store, people, who)
    assert case.id == newer.id


async def test_a_crisis_case_waits_with_a_queue_alert(store: Store, people: PersonDesk) -> None:
    await people.crisis(105, 105, "violence")
    who = await person(store, 105)
    case = await store.cases.open_for_person(who.id)
    assert case is not None and case.urgent and case.status == CaseStatus.WAITING
    alerts = await store.schedule.pending(QUEUE_ALERT)
    assert [a.case_id for a in alerts] == [case.id]


async def test_a_blocked_person_gets_the_numbers_but_no_case(
    store: Store, people: PersonDesk, staff: StaffDesk
) -> None:
    who = await person(store, 106)
    case, _ = await hand_off(store, people, who)
    case = await topic(store, case, 9)
    await staff.claim(DARA, case)
    await staff.block(DARA, await store.cases.get(case.id) or case, "7 abuse")
    effects = await people.crisis(106, 106, "violence")
    assert effects == [ToPerson(who.id, "crisis.violence.no_staff")]
    assert await store.cases.open_for_person(who.id) is None
    state = await people.state(106)
    assert state.blocked and state.in_chat is None


async def test_only_the_assigned_counsellor_or_a_coordinator_acts(
    store: Store, people: PersonDesk, staff: StaffDesk
) -> None:
    who = await person(store, 107)
    case, _ = await hand_off(store, people, who)
    case = await topic(store, case, 10)
    assert await staff.act(DARA, case, "note", "hi") == [ReplyToStaff("staff.claim_first")]
    await staff.claim(DARA, case)
    case = await store.cases.get(case.id) or case
    for name, argument in (
        ("note", "x"),
        ("summary", ""),
        ("close", "resolved"),
        ("refer", "rock"),
        ("block", ""),
        ("transfer", "Visal"),
        ("release", ""),
    ):
        assert await staff.act(VISAL, case, name, argument) == [ReplyToStaff("staff.not_yours")], (
            name
        )
    assert await staff.act(SOPHEA, case, "note", "coordinator note") == [
        ReplyToStaff("staff.noted")
    ]
    assert await staff.act(DARA, case, "note", "mine") == [ReplyToStaff("staff.noted")]


async def test_the_person_writing_goes_to_the_topic(store: Store, people: PersonDesk) -> None:
    who = await person(store, 108)
    case, _ = await hand_off(store, people, who)
    assert await people.message(case, 108, 5, None, location=False) == [
        CopyToTopic(case.id, 108, 5, None)
    ]
    warned = await people.message(case, 108, 6, None, location=True)
    assert warned == [ToPerson(who.id, "handoff.location_warning")]
    assert await people.message(case, 108, 7, None, location=True) == [
        CopyToTopic(case.id, 108, 7, None)
    ]


async def test_a_long_summary_is_split_into_whole_messages(
    store: Store, people: PersonDesk, staff: StaffDesk
) -> None:
    who = await person(store, 109)
    await store.people.set_consents(who.id, {"share_counsellor": True})
    async with store.db.transaction() as tx:
        await store.cases.create(who.id, {"what": "<&>" * 3000}, tx=tx)
    case, _ = await hand_off(store, people, who)
    await staff.claim(DARA, case)
    for _ in range(40):
        await staff.note(DARA, case, "a note with <markup> & more " * 10)
    (document,) = await staff.summary(DARA, case)
    assert isinstance(document, StaffDocument)
    assert len(document.parts) > 2
    for part in document.parts:
        assert len(part) <= TELEGRAM_LIMIT
        assert part.count("<b>") == part.count("</b>")
        assert "<markup>" not in part
    entries = await store.audit.recent(5)
    assert [e.action for e in entries] == ["case_summary_read"]


@pytest.mark.parametrize("size", [10, 4000, 4096, 9000])
def test_render_lines_never_cuts_inside_markup(size: int) -> None:
    parts = render_lines([Line("x&" * (size // 2), label="What"), Line("<b>t</b>", markup=True)])
    assert all(len(p) <= TELEGRAM_LIMIT for p in parts)
    joined = "".join(parts)
    assert joined.count("&amp;") == size // 2
    assert joined.count("<b>") == joined.count("</b>")


async def test_referral_changes_follow_the_table(
    store: Store, people: PersonDesk, staff: StaffDesk
) -> None:
    who = await person(store, 110)
    case, _ = await hand_off(store, people, who)
    await staff.claim(DARA, case)
    case = await store.cases.get(case.id) or case
    referral = await store.referrals.create(case.id, "rock", {})
    refused = await staff.act(DARA, case, "referral_done", f"{referral.code} helped")
    assert refused == [
        ReplyToStaff("staff.referral_not_open", {"code": referral.code, "status": "proposed"})
    ], "a referral the person never agreed to cannot be marked done"
    with pytest.raises(IllegalTransition):
        await move_referral(store, referral, ReferralStatus.SENT)
    await move_referral(store, referral, ReferralStatus.CONSENTED)
    await move_referral(store, referral, ReferralStatus.SENT)  # checked against what is stored
    stored = await store.referrals.get_by_code(referral.code)
    assert stored is not None and stored.status == "sent"
