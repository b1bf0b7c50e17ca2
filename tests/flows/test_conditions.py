"""Conditions (`if` on choices, `text_if`, `branch` nodes), a flow's `requires`, `navigation`,
and what they do in the shipped flows: the privacy notice before the menu, no counsellor
offered when none can be reached, and a screen (never a message) after Save."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest
import yaml

from flows.engine import Engine
from flows.events import (
    ActionDone,
    Back,
    Home,
    Input,
    Perform,
    Press,
    Redisplay,
    Say,
    Screen,
    Start,
    Text,
)
from flows.loader import load_flows, parse_flow
from flows.model import ActionKind, FlowSet, holds
from flows.validation import validate
from knowledge.taxonomy import load_taxonomy

MAIN = """
spec_version: 1
id: main
start: menu
requires: {if: seen, else: "flow:intro#notice"}
nodes:
  - id: menu
    kind: menu
    text: t.menu
    text_if:
      - {if: not helper, text: t.menu_alone}
    choices:
      - {id: help, label: t.help, next: "flow:intro#ask", if: helper}
      - {id: alone, label: t.alone, next: "flow:intro#ask", if: not helper}
      - {id: end, label: t.end, next: bye}
  - id: bye
    kind: end
    text: t.bye
"""
INTRO = """
spec_version: 1
id: intro
start: first
nodes:
  - id: first
    kind: menu
    text: t.first
    navigation: none
    choices:
      - {id: go, label: t.go, next: notice}
  - id: notice
    kind: question
    text: t.notice
    navigation: back
    input: choice
    save_as: seen
    choices:
      - {id: ok, label: t.ok, value: "yes", next: "flow:main"}
  - id: ask
    kind: branch
    if: helper
    next: with_helper
    else: without_helper
  - id: with_helper
    kind: message
    text: t.with
    next: "flow:main"
  - id: without_helper
    kind: message
    text: t.without
    next: "flow:main"
"""


def flow_set() -> FlowSet:
    flows = {}
    for text in (MAIN, INTRO):
        flow, problems = parse_flow(yaml.safe_load(text), "test.yaml")
        assert flow is not None and not problems, problems
        flows[flow.id] = flow
    return FlowSet(flows, "main")


def machine(facts: dict[str, str] | None = None, flows: FlowSet | None = None) -> Engine:
    counter = itertools.count(1)
    return Engine(
        flows or flow_set(),
        lambda: f"t{next(counter)}",
        today=lambda: date(2026, 11, 15),
        facts=facts,
    )


def run(
    engine: Engine, inputs: list[Input | str], state: dict[str, Any] | None = None
) -> tuple[dict[str, Any] | None, list[Any]]:
    effects: list[Any] = []
    for item in inputs:
        if isinstance(item, str):
            if item.startswith("@"):  # press the button with this catalogue key
                if not any(isinstance(e, Screen) for e in effects) and state is not None:
                    effects = list(engine.step(state, Redisplay()).effects)
                screen = next(e for e in reversed(effects) if isinstance(e, Screen))
                data = next(b.data for row in screen.buttons for b in row if b.label == item[1:])
                event: Input = Press(data)
            else:
                event = Press(f"{state['token'] if state else 'none'}.{item}")
        else:
            event = item
        step = engine.step(state, event)
        state, effects = step.state, list(step.effects)
    return state, effects


def labels(effects: list[Any]) -> list[str]:
    screen = next(e for e in reversed(effects) if isinstance(e, Screen))
    return [b.label for row in screen.buttons for b in row]


def screen(effects: list[Any]) -> Screen:
    return next(e for e in reversed(effects) if isinstance(e, Screen))


@pytest.mark.parametrize(
    ("condition", "variables", "expected"),
    [
        ("seen", {"seen": "yes"}, True),
        ("seen", {"seen": "no"}, False),
        ("seen", {"seen": ""}, False),
        ("seen", {}, False),
        ("not seen", {}, True),
        ("not seen", {"seen": "yes"}, False),
        ("seen", {"seen": "false"}, False),
        ("seen", {"seen": "0"}, False),
        ("bad condition here", {"bad": "yes"}, False),
    ],
)
def test_a_condition(condition: str, variables: dict[str, str], expected: bool) -> None:
    assert holds(condition, variables) is expected


# ------------------------------------------------------------------ requires and navigation


def test_the_home_flow_waits_for_the_acknowledgement() -> None:
    state, effects = run(machine(), [Start()])
    assert state is not None and (state["flow"], state["node"]) == ("intro", "notice")
    assert screen(effects).text == "t.notice"


@pytest.mark.parametrize(
    "inputs",
    [
        [Start("intro"), Home()],
        [Start("intro"), Back()],
        [Start("intro"), Text("hello"), Home()],
        [Start("intro"), "@t.go", Home()],
        [Start("intro"), "@t.go", Back(), Back()],
        [Text("hello")],
        [Start("intro"), "@t.go", Start("main")],
    ],
)
def test_no_way_round_the_notice(inputs: list[Input | str]) -> None:
    state, _ = run(machine(), inputs)
    assert state is not None and state["flow"] == "intro"
    assert "seen" not in state["vars"]


def test_the_first_screens_have_no_menu_button() -> None:
    state, effects = run(machine(), [Start("intro")])
    assert labels(effects) == ["t.go", "nav.quick_exit"]
    state, effects = run(machine(), [Start("intro"), "@t.go"])
    assert labels(effects) == ["t.ok", "nav.back", "nav.quick_exit"]
    assert state is not None
    forged = machine().step(state, Press(f"{state['token']}.m"))
    assert forged.state is not None and forged.state["node"] == "notice", "no menu by hand"


def test_acknowledged_once_the_menu_opens_and_stays_open() -> None:
    engine = machine({"helper": "yes"})
    state, effects = run(engine, [Start("intro"), "@t.go", "@t.ok"])
    assert state is not None and (state["flow"], state["node"]) == ("main", "menu")
    assert state["vars"]["seen"] == "yes"
    # an `end` forgets the answers, not the acknowledgement; nor does a new start
    state, effects = run(engine, ["@t.end"], state)
    assert state is not None and state["node"] == "menu" and state["vars"] == {"seen": "yes"}
    assert any(isinstance(e, Say) and e.text == "t.bye" for e in effects)
    state, _ = run(engine, [Start()], state)
    assert state is not None and state["node"] == "menu"


def test_navigation_none_forgets_the_history() -> None:
    engine = machine()
    state, _ = run(engine, [Start("intro"), "@t.go"])
    assert state is not None and state["history"] == [["intro", "first"]]
    state, _effects = run(engine, [Back()], state)
    assert state is not None and state["node"] == "first" and state["history"] == []


# ------------------------------------------------------------------ facts, if, text_if, branch


@pytest.mark.parametrize(
    ("facts", "text", "shown", "said"),
    [
        ({"helper": "yes"}, "t.menu", ["t.help", "t.end"], "t.with"),
        ({"helper": "no"}, "t.menu_alone", ["t.alone", "t.end"], "t.without"),
        ({}, "t.menu_alone", ["t.alone", "t.end"], "t.without"),
    ],
)
def test_facts_choose_texts_choices_and_branches(
    facts: dict[str, str], text: str, shown: list[str], said: str
) -> None:
    engine = machine(facts)
    state, effects = run(engine, [Start("intro"), "@t.go", "@t.ok"])
    assert screen(effects).text == text
    assert labels(effects) == [*shown, "nav.quick_exit"]
    state, effects = run(engine, ["0"], state)  # the first choice shown
    assert [e.text for e in effects if isinstance(e, Say)] == [said]


def test_a_fact_is_not_a_variable_a_person_can_set() -> None:
    engine = machine({"helper": "no"})
    state, _ = run(engine, [Start("intro"), "@t.go", "@t.ok"])
    assert state is not None and "helper" not in state["vars"]
    state = {**state, "vars": {**state["vars"], "helper": "yes"}}
    shown = engine.step(state, Home())
    assert screen(list(shown.effects)).text == "t.menu_alone", "facts win over variables"


# ------------------------------------------------------------------ validation


def _problems(extra: str) -> list[str]:
    document = yaml.safe_load(INTRO)
    document["nodes"] += yaml.safe_load(extra)
    intro, found = parse_flow(document, "intro.yaml")
    main, _ = parse_flow(yaml.safe_load(MAIN), "main.yaml")
    assert intro is not None and main is not None
    return [p.message for p in found] + [
        p.message for p in validate(FlowSet({"main": main, "intro": intro}, "main"))
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[{id: b, kind: branch, if: helper, next: first}]", "a branch needs if, next and else"),
        ("[{id: b, kind: branch, if: 'a b c', next: first, else: first}]", "is not 'name'"),
        ("[{id: b, kind: branch, if: helper, next: first, else: nowhere}]", "does not exist"),
        ("[{id: b, kind: message, text: t.x, if: helper, next: first}]", "only a branch"),
        ("[{id: b, kind: menu, text: t.x, navigation: sideways, choices: []}]", "navigation"),
        ("[{id: b, kind: menu, text: t.x, text_if: [{if: x}], choices: []}]", "text_if"),
        (
            "[{id: b, kind: branch, if: helper, next: c, else: c},"
            " {id: c, kind: branch, if: helper, next: b, else: b}]",
            "never waits",
        ),
    ],
)
def test_bad_conditions_are_reported(extra: str, message: str) -> None:
    assert any(message in found for found in _problems(extra)), _problems(extra)


def test_requires_must_lead_somewhere_without_requirements() -> None:
    document = yaml.safe_load(INTRO)
    document["requires"] = {"if": "seen", "else": "flow:main"}
    intro, _ = parse_flow(document, "intro.yaml")
    main, _ = parse_flow(yaml.safe_load(MAIN), "main.yaml")
    assert intro is not None and main is not None
    found = [p.message for p in validate(FlowSet({"main": main, "intro": intro}, "main"))]
    assert any("requirements of its own" in message for message in found)


# ------------------------------------------------------------------ the shipped flows


def shipped(facts: dict[str, str]) -> Engine:
    flows, problems = load_flows(choice_lists=load_taxonomy())
    assert problems == []
    return machine(facts, flows)


def welcome(engine: Engine) -> tuple[dict[str, Any] | None, list[Any]]:
    return run(engine, [Start("welcome"), "@language.en", "@welcome.continue"])


def test_shipped_welcome_must_be_acknowledged_before_the_menu() -> None:
    engine = shipped({"handoff_available": "yes"})
    state, effects = run(engine, [Start("welcome")])
    assert "nav.menu" not in labels(effects) and "nav.back" not in labels(effects)
    state, effects = run(engine, ["@language.en"], state)
    assert screen(effects).text == "welcome.privacy"
    assert "nav.menu" not in labels(effects)
    state, effects = run(engine, [Home()], state)
    assert screen(effects).text == "welcome.privacy", "/menu does not skip the notice"
    state, effects = run(engine, ["@welcome.continue"], state)
    assert screen(effects).text == "main.menu"
    assert state is not None and state["vars"]["privacy_acknowledged"] == "yes"


def test_after_a_quick_exit_the_notice_comes_first_again() -> None:
    engine = shipped({"handoff_available": "yes"})
    _state, effects = run(engine, [Text("hello")])
    assert screen(effects).text == "welcome.privacy"


def test_shipped_menu_offers_a_counsellor_only_when_one_can_be_reached() -> None:
    _, effects = welcome(shipped({"handoff_available": "yes"}))
    assert screen(effects).text == "main.menu" and "main.counsellor" in labels(effects)
    _, effects = welcome(shipped({"handoff_available": "no"}))
    assert screen(effects).text == "main.menu_no_counsellor"
    assert "main.counsellor" not in labels(effects)
    assert "main.organisation" in labels(effects)


def test_without_a_counsellor_the_counsellor_flow_says_so_up_front() -> None:
    engine = shipped({})
    state, _ = welcome(engine)
    state, effects = run(engine, [Start("counsellor")], state)
    assert screen(effects).text == "counsellor.unavailable_menu"
    assert not any(isinstance(e, Perform) for e in effects), "no hand-off is asked for"
    assert labels(effects)[0] == "main.organisation"
    state, effects = run(engine, ["@main.organisation"], state)
    assert state is not None and state["flow"] == "partners"


def test_with_a_counsellor_the_counsellor_flow_explains_then_hands_off() -> None:
    engine = shipped({"handoff_available": "yes"})
    state, _ = welcome(engine)
    state, effects = run(engine, [Start("counsellor"), "@counsellor.start"], state)
    assert [e.action for e in effects if isinstance(e, Perform)] == [ActionKind.HANDOFF]


def intake_to_summary(engine: Engine) -> tuple[dict[str, Any] | None, list[Any]]:
    state, _ = welcome(engine)
    steps: list[Input | str] = [
        "@main.tell",
        "@intake.consent_yes",
        "0",  # category
        "@nav.skip",  # grounds
        Text("they shouted at me"),
        Text("3/2026"),
        "0",  # province
        "0",  # perpetrator
        "@taxonomy.danger.no",
        "0",  # help
        "@common.yes",
        "@common.no",
    ]
    return run(engine, steps, state)


@pytest.mark.parametrize(
    ("facts", "text", "first_choice"),
    [
        ({"handoff_available": "yes"}, "intake.saved_offer_counsellor", "intake.counsellor_now"),
        ({}, "intake.saved_offer_organisation", "main.organisation"),
    ],
)
def test_after_save_the_next_thing_is_a_screen_so_the_summary_is_edited_away(
    facts: dict[str, str], text: str, first_choice: str
) -> None:
    engine = shipped(facts)
    state, effects = intake_to_summary(engine)
    assert screen(effects).text == "intake.summary"
    state, effects = run(engine, ["@intake.confirm"], state)
    assert [type(e) for e in effects] == [Perform]
    state, effects = run(engine, [ActionDone({"case_code": "K7QM-2XPA"})], state)
    assert [type(e) for e in effects] == [Screen], "no message between the summary and this"
    assert screen(effects).text == text and screen(effects).params["case_code"] == "K7QM-2XPA"
    assert screen(effects).answers == (), "the answers are not shown again"
    shown = labels(effects)
    assert shown[0] == first_choice and "nav.back" not in shown and "nav.menu" not in shown
    assert state is not None and state["history"] == [], "Back cannot return into the intake"


def test_a_future_month_in_the_real_intake_is_asked_again() -> None:
    engine = shipped({})
    state, _ = welcome(engine)
    state, effects = run(
        engine,
        ["@main.tell", "@intake.consent_yes", "0", "@nav.skip", "@nav.skip", Text("11/2030")],
        state,
    )
    assert state is not None and state["node"] == "when" and "when" not in state["vars"]
    assert effects[0].key == "month_in_future"
