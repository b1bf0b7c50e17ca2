"""Table-driven engine tests: inputs in, effects and state out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from flows.engine import Engine
from flows.events import (
    ActionDone,
    Back,
    Home,
    Input,
    Notice,
    Perform,
    Press,
    Redisplay,
    RunEnded,
    Say,
    Screen,
    Start,
    Text,
    Unsupported,
)
from flows.model import ActionKind
from tests.flows.helpers import engine


def press(code: str) -> str:
    """Placeholder resolved against the current token at run time."""
    return f"@{code}"


@dataclass
class Case:
    name: str
    inputs: list[Input | str]
    node: str | None  # the node the run waits at afterwards (None: the run ended)
    last_effects: list[type] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)


def run(machine: Engine, inputs: list[Input | str]) -> tuple[dict[str, Any] | None, list[Any]]:
    state: dict[str, Any] | None = None
    effects: list[Any] = []
    for item in inputs:
        if isinstance(item, str):  # "@code": press a button on the current screen
            token = state["token"] if state else "none"
            event: Input = Press(f"{token}.{item[1:]}")
        else:
            event = item
        step = machine.step(state, event)
        state, effects = step.state, list(step.effects)
    return state, effects


CASES = [
    Case("start shows the home menu", [Start()], "menu", [Screen]),
    Case("a menu choice leads to another flow", [Start(), press("0")], "colour", [Screen]),
    Case("a message says and moves on", [Start(), press("2")], "menu", [Say, Screen]),
    Case(
        "a choice question saves its value",
        [Start(), press("0"), press("1")],
        "story",
        [Screen],
        {"colour": "blue"},
    ),
    Case(
        "a text question saves the text",
        [Start(), press("0"), press("0"), Text(" hi ")],
        "when",
        [Screen],
        {"colour": "red", "story": "hi"},
    ),
    Case(
        "text over the limit is refused and the screen stays",
        [Start(), press("0"), press("0"), Text("x" * 11)],
        "story",
        [Notice, Screen],
        {"colour": "red"},
    ),
    Case(
        "skip leaves an optional answer out",
        [Start(), press("0"), press("0"), press("s")],
        "when",
        [Screen],
        {"colour": "red"},
    ),
    Case(
        "month and year are normalised",
        [Start(), press("0"), press("0"), press("s"), Text("3/2026")],
        "review",
        [Screen],
        {"colour": "red", "when": "2026-03"},
    ),
    Case(
        "a bad month is explained",
        [Start(), press("0"), press("0"), press("s"), Text("soon")],
        "when",
        [Notice, Screen],
        {"colour": "red"},
    ),
    Case("text where buttons are expected", [Start(), Text("hello")], "menu", [Notice, Screen]),
    Case(
        "media is explained, nothing lost",
        [Start(), press("0"), Unsupported("sticker")],
        "colour",
        [Notice, Screen],
    ),
    Case(
        "back returns to the previous screen",
        [Start(), press("0"), press("1"), Back()],
        "colour",
        [Screen],
        {"colour": "blue"},
    ),
    Case("back at the first screen goes home", [Start(), Back()], "menu", [Screen]),
    Case(
        "home from deep inside",
        [Start(), press("0"), press("0"), Home()],
        "menu",
        [Screen],
        {"colour": "red"},
    ),
    Case("the menu button", [Start(), press("0"), press("m")], "menu", [Screen]),
    Case(
        "an old token: menu closed, current screen",
        [Start(), Press("t1.0"), Press("t1.0")],
        "colour",
        [Notice, Screen],
    ),
    Case("forged data: menu closed", [Start(), Press("zzz.0")], "menu", [Notice, Screen]),
    Case("an index out of range is forged too", [Start(), press("9")], "menu", [Notice, Screen]),
    Case(
        "quick exit from anywhere ends the run",
        [Start(), press("0"), press("x")],
        None,
        [Perform, RunEnded],
    ),
    Case(
        "quick exit even from an old screen",
        [Start(), press("0"), Press("t1.x")],
        None,
        [Perform, RunEnded],
    ),
    Case(
        "an article pages forward",
        [Start(), press("1"), press("n"), press("n")],
        "article",
        [Screen],
    ),
    Case("an article continues to next", [Start(), press("1"), press("c")], "review", [Screen]),
    Case(
        "edit answers again, then returns",
        [Start(), press("0"), press("0"), Text("a"), press("s"), press("1"), Text("b")],
        "review",
        [Screen],
        {"colour": "red", "story": "b"},
    ),
    Case(
        "an awaited action waits",
        [Start(), press("0"), press("0"), press("s"), press("s"), press("0")],
        "save",
        [Perform],
        {"colour": "red"},
    ),
    Case(
        "its answer continues the run and ends the flow home",
        [
            Start(),
            press("0"),
            press("0"),
            press("s"),
            press("s"),
            press("0"),
            ActionDone({"case_code": "AB"}),
        ],
        "menu",
        [Say, Screen],
    ),
    Case(
        "a final action ends the run",
        [Start(), press("0"), press("0"), press("s"), press("s"), press("2")],
        None,
        [Perform, RunEnded],
    ),
    Case(
        "redisplay shows the same screen", [Start(), press("0"), Redisplay()], "colour", [Screen]
    ),
    Case("no state and a text: the home screen", [Text("hi")], "menu", [Screen]),
    Case(
        "no state and a press: menu closed, then home", [Press("t9.0")], "menu", [Notice, Screen]
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_engine(case: Case) -> None:
    state, effects = run(engine(), case.inputs)
    if case.node is None:
        assert state is None
    else:
        assert state is not None and state["node"] == case.node
        for name, value in case.variables.items():
            assert state["vars"].get(name) == value
        assert set(state["vars"]) - {"language"} <= set(case.variables) | {"case_code"}
    assert [type(e) for e in effects] == case.last_effects


def test_the_engine_is_deterministic() -> None:
    inputs: list[Input | str] = [Start(), press("0"), press("1"), Text("story"), Back()]
    assert run(engine(), inputs) == run(engine(), inputs)


def test_a_saved_state_resumes_where_the_person_was() -> None:
    state, _ = run(engine(), [Start(), press("0"), press("0")])
    restored = json.loads(json.dumps(state))  # as stored: JSON, encrypted
    step = engine().step(restored, Text("resumed"))
    assert step.state is not None and step.state["node"] == "when"
    assert step.state["vars"]["story"] == "resumed"


def test_the_summary_lists_answers_with_labels() -> None:
    state, effects = run(engine(), [Start(), press("0"), press("1"), Text("<b>&"), press("s")])
    screen = effects[-1]
    assert isinstance(screen, Screen)
    assert screen.answers == (
        ("colour", "blue", "taxonomy.colours.blue"),
        ("story", "<b>&", None),
        ("when", "", None),
    )
    assert state is not None


def test_awaited_action_carries_the_variables() -> None:
    _, effects = run(
        engine(), [Start(), press("0"), press("1"), Text("s"), press("s"), press("0")]
    )
    [perform] = effects
    assert isinstance(perform, Perform) and perform.action is ActionKind.CREATE_CASE
    assert perform.variables == {"colour": "blue", "story": "s"}


def test_every_screen_has_back_menu_and_quick_exit() -> None:
    _, effects = run(engine(), [Start(), press("0")])
    screen = effects[-1]
    assert isinstance(screen, Screen)
    labels = [b.label for b in screen.buttons[-1]]
    assert labels == ["nav.back", "nav.menu", "nav.quick_exit"]
    home_state, home = run(engine(), [Start()])
    assert isinstance(home[-1], Screen)
    assert [b.label for b in home[-1].buttons[-1]] == ["nav.quick_exit"]
    assert all(len(b.data.encode()) <= 64 for row in screen.buttons for b in row)
    assert home_state is not None


def test_a_state_from_another_version_starts_over() -> None:
    step = engine().step({"v": 99, "flow": "gone", "node": "x"}, Text("hi"))
    assert step.state is not None and step.state["node"] == "menu"
