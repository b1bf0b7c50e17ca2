"""What the engine checks in typed answers, with an injected date: months in the future or
before 1990 are refused with their own notice; phone numbers, @usernames and e-mail addresses
bring the promised warning and a choice before anything is saved."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from flows.engine import Engine
from flows.events import Back, Input, Notice, Press, Redisplay, Screen, Start, Text
from flows.parsing import find_contacts, month_problem, parse_month_year, redact_contacts
from tests.flows.helpers import engine

TODAY = date(2026, 11, 15)


def run(machine: Engine, inputs: list[Input | str]) -> tuple[dict[str, Any] | None, list[Any]]:
    state: dict[str, Any] | None = None
    effects: list[Any] = []
    for item in inputs:
        event = (
            Press(f"{state['token'] if state else 'none'}.{item[1:]}")
            if isinstance(item, str)
            else item
        )
        step = machine.step(state, event)
        state, effects = step.state, list(step.effects)
    return state, effects


TO_WHEN: list[Input | str] = [Start(), "@0", "@0", "@s"]  # colour, skip the story: "when"
TO_STORY: list[Input | str] = [Start(), "@0", "@0"]


# ----------------------------------------------------------------------------- months


@pytest.mark.parametrize(
    ("typed", "today", "saved", "notice"),
    [
        ("11/2026", TODAY, "2026-11", None),
        ("10/2026", TODAY, "2026-10", None),
        ("12/2026", TODAY, None, "month_in_future"),
        ("11/2030", TODAY, None, "month_in_future"),
        ("2027-01", TODAY, None, "month_in_future"),
        ("មករា ២០២៧", TODAY, None, "month_in_future"),
        ("12/2026", date(2026, 12, 1), "2026-12", None),
        ("1/1990", TODAY, "1990-01", None),
        ("12/1989", TODAY, None, "month_too_early"),
        ("3/1975", TODAY, None, "month_too_early"),
        ("soon", TODAY, None, "invalid_month"),
        ("13/2026", TODAY, None, "invalid_month"),
    ],
)
def test_the_month_is_checked_against_today(
    typed: str, today: date, saved: str | None, notice: str | None
) -> None:
    state, effects = run(engine(today=today), [*TO_WHEN, Text(typed)])
    assert state is not None
    if notice is None:
        assert state["vars"]["when"] == saved and state["node"] == "review"
        return
    assert "when" not in state["vars"] and state["node"] == "when", "asked again"
    assert isinstance(effects[0], Notice) and effects[0].key == notice
    assert effects[0].params["this_month"] == f"{today.month}/{today.year}"
    assert isinstance(effects[1], Screen) and effects[1].text == "t.when"


@pytest.mark.parametrize(
    ("month", "problem"),
    [
        ("2026-11", None),
        ("2026-12", "month_in_future"),
        ("2030-11", "month_in_future"),
        ("1990-01", None),
        ("1989-12", "month_too_early"),
    ],
)
def test_month_problem(month: str, problem: str | None) -> None:
    assert month_problem(month, TODAY) == problem


def test_years_before_1900_are_not_years() -> None:
    assert parse_month_year("3/1850") is None
    assert parse_month_year("3/1985") == "1985-03"


# ----------------------------------------------------------------------------- contacts


@pytest.mark.parametrize(
    ("text", "kinds", "redacted"),
    [
        ("call me on 012 345 678", ["phone"], "call me on […]"),
        ("his number is 0963456789.", ["phone"], "his number is […]."),
        ("+855 12 345 678 is mine", ["phone"], "[…] is mine"),
        ("(012) 345-678", ["phone"], "([…]"),
        ("012.345.678", ["phone"], "[…]"),
        ("លេខខ្ញុំ ០១២ ៣៤៥ ៦៧៨", ["phone"], "លេខខ្ញុំ […]"),
        ("លេខខ្ញុំ០៩៦៣៤៥៦៧៨៩", ["phone"], "លេខខ្ញុំ[…]"),
        ("write to @sokha_c today", ["username"], "write to […] today"),
        ("t.me/sokha_c", ["link"], "[…]"),
        ("mail sokha@example.org", ["email"], "mail […]"),
        ("ID 123456789012", ["phone"], "ID […]"),
        ("two: 012345678 and @dara_k", ["phone", "username"], "two: […] and […]"),
        ("it happened on 3/2026", [], "it happened on 3/2026"),
        ("on 01.03.2026 at 9", [], "on 01.03.2026 at 9"),
        ("they took 40 000 000 riel", [], "they took 40 000 000 riel"),
        ("he took 1000000 ៛", [], "he took 1000000 ៛"),
        ("I called 117 and 1280", [], "I called 117 and 1280"),
        ("in 2025 and 2026", [], "in 2025 and 2026"),
        ("my boss @ work", [], "my boss @ work"),
        ("room 12345", [], "room 12345"),
    ],
)
def test_contacts_are_found_and_removed(text: str, kinds: list[str], redacted: str) -> None:
    assert [c.kind for c in find_contacts(text)] == kinds
    assert redact_contacts(text) == redacted


def _warning(effects: list[Any]) -> Screen:
    screens = [e for e in effects if isinstance(e, Screen)]
    assert len(screens) == 1
    return screens[0]


def test_a_phone_number_in_free_text_brings_the_warning_and_nothing_is_saved() -> None:
    state, effects = run(engine(), [*TO_STORY, Text("012345678")])
    assert state is not None and state["node"] == "story" and "story" not in state["vars"]
    warning = _warning(effects)
    assert warning.text == "privacy.contact_warning"
    labels = [b.label for row in warning.buttons for b in row]
    assert labels[:3] == ["privacy.remove_contacts", "privacy.rewrite", "privacy.keep"]
    assert labels[-1] == "nav.quick_exit"


@pytest.mark.parametrize(
    ("choice", "node", "saved"),
    [
        ("@r", "when", "a […]"),  # remove the number, keep the rest
        ("@k", "when", "a 01234567"),  # keep it as written
        ("@w", "story", None),  # write it again: the question, nothing saved
    ],
)
def test_the_person_chooses_what_happens_to_the_number(
    choice: str, node: str, saved: str | None
) -> None:
    # (the sample question allows 10 characters)
    state, effects = run(engine(), [*TO_STORY, Text("a 01234567"), choice])
    assert state is not None and state["node"] == node
    assert state["vars"].get("story") == saved
    assert state.get("pending") is None
    if saved is None:
        assert _warning(effects).text == "t.story"


def test_writing_again_without_a_number_is_saved() -> None:
    state, _ = run(engine(), [*TO_STORY, Text("012345678"), Text("they hit")])
    assert state is not None and state["vars"]["story"] == "they hit"
    assert state["node"] == "when" and state.get("pending") is None


def test_back_from_the_warning_returns_to_the_question_and_forgets_the_text() -> None:
    state, effects = run(engine(), [*TO_STORY, Text("012345678"), Back()])
    assert state is not None and state["node"] == "story" and state.get("pending") is None
    assert _warning(effects).text == "t.story"


def test_redisplay_and_an_old_button_keep_the_warning() -> None:
    machine = engine()
    state, _ = run(machine, [*TO_STORY, Text("012345678")])
    assert state is not None
    shown = machine.step(state, Redisplay())
    assert _warning(list(shown.effects)).text == "privacy.contact_warning"
    forged = machine.step(state, Press(f"{state['token']}.9"))
    assert [type(e) for e in forged.effects] == [Notice, Screen]
    assert forged.state is not None and forged.state["pending"] == "012345678"


def test_quick_exit_from_the_warning_keeps_nothing() -> None:
    state, _effects = run(engine(), [*TO_STORY, Text("012345678"), "@x"])
    assert state is None


def test_short_numbers_and_dates_go_straight_through() -> None:
    state, _ = run(engine(), [*TO_STORY, Text("call 117")])
    assert state is not None and state["vars"]["story"] == "call 117"
