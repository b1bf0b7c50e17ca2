"""Effects as the outbox keeps them: every kind comes back equal, through JSON, and a row can
never name anything that is not an effect."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.content import load_content
from bot.effect_codec import EffectCodecError, decode, encode
from bot.partner_list import PartnerList
from casework import effects as case
from flows.engine import Engine
from flows.events import Button, Notice, Perform, Press, RunEnded, Say, Screen, Start
from flows.model import ActionKind

CONTENT = load_content()
PARTNERS = {p.id: p for p in CONTENT.partners}

EXAMPLES: list[Any] = [
    case.ToPerson("p1", "crisis.violence", {"code": "AB12"}, case.Keyboard.CRISIS_TALK),
    case.ToTopic("c1", "staff.close_choose", keyboard=case.Keyboard.CLOSE_OUTCOMES),
    case.ToCoordinators("staff.crisis_alert", {"code": "AB12", "category": "violence"}),
    case.ReplyToStaff("staff.noted"),
    case.StaffDocument(("<b>one</b>", "two & three")),
    case.OpenTopic("c1"),
    case.CloseTopic("c1"),
    case.CopyToPerson("c1", 41, reply_to=40),
    case.CopyToTopic("c1", 100000001, 7, None),
    case.MirrorEdit("c1", 7, "ស្អែក · tomorrow", from_person=True),
    case.ShowFlow("p1", "closed"),
    case.ProposeReferral("c1", "rock", "Dara"),
    case.AnswerReferral("c1", "R-1234", "helped", "Dara"),
    case.AskReferralConsent("c1", "R-1234"),
    case.SendReferral("c1", "R-1234"),
    case.ToStaffChat(-100123, "partner.accepted", {"code": "R-1234"}),
    Screen(
        "main.menu",
        ((Button("menu.rights", "t1.a", {"n": "1"}),), (Button("nav.back", "t1.b"),)),
        {"code": "AB12"},
        article="police-stops",
        page=1,
        pages=3,
        answers=(("when", "5/2026", None), ("category", "work", "categories")),
    ),
    Say("intake.thanks", {"code": "AB12"}),
    Notice("flow.choose_button"),
    Perform(ActionKind.HANDOFF, {"case_id": "c1"}, {"case_code": "AB12", "n": 3}),
    RunEnded(),
    PartnerList(CONTENT.partners[:2]),
]


def through_storage(value: Any) -> Any:
    return decode(json.loads(json.dumps(encode(value), sort_keys=True)), PARTNERS)


@pytest.mark.parametrize("effect", EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_kind_of_effect_comes_back_equal(effect: Any) -> None:
    assert through_storage(effect) == effect


def test_every_casework_effect_kind_has_an_example() -> None:
    kinds = set(case.Effect.__args__)  # type: ignore[attr-defined]
    assert kinds <= {type(e) for e in EXAMPLES}


def test_what_the_engine_decides_in_every_flow_comes_back_equal() -> None:
    engine = Engine(CONTENT.flows, lambda: "tok", facts={"handoff_available": "yes"})
    checked = 0
    for flow_id in CONTENT.flows.flows:
        first = engine.step({"vars": {"language": "en"}}, Start(flow_id))
        steps = [first]
        screens = [e for e in first.effects if isinstance(e, Screen)]
        for screen in screens[:1]:
            for row in screen.buttons:
                steps.extend(engine.step(first.state, Press(b.data)) for b in row)
        for step in steps:
            effects = list(step.effects)
            assert list(through_storage(effects)) == effects
            checked += len(effects)
    assert checked > 50


def test_partners_come_back_from_the_loaded_list_and_unknown_ones_are_left_out() -> None:
    kept = encode(PartnerList(CONTENT.partners[:1]))
    assert kept == {"$partners": [CONTENT.partners[0].id]}
    assert decode(kept, {}) == PartnerList(())


@pytest.mark.parametrize(
    "row",
    [
        {"$type": "Popen", "fields": {"args": ["sh"]}},
        {"$type": "ToPerson"},
        {"$enum": "Signals", "value": 9},
        {"unknown": 1},
    ],
)
def test_a_row_naming_anything_else_is_refused(row: dict[str, Any]) -> None:
    with pytest.raises(EffectCodecError):
        decode(row, PARTNERS)


def test_only_effects_are_written() -> None:
    with pytest.raises(EffectCodecError):
        encode(object())
    with pytest.raises(EffectCodecError):
        encode(Press("x"))  # an input, not an effect
