"""Words typed at a menu find articles: the engine, pure, with the shipped flows and articles."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from bot.content import Content, load_content
from flows.engine import Engine
from flows.events import Back, Button, Home, Notice, Press, Screen, Start, Step, Text

State = dict[str, Any]


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content()


def make_engine(content: Content, *, search: bool = True) -> Engine:
    counter = itertools.count(1)
    return Engine(
        content.flows,
        lambda: f"t{next(counter)}",
        facts={"handoff_available": "yes"},
        find_articles=content.articles.search if search else None,
    )


def at_main_menu(engine: Engine, language: str) -> Step:
    step = engine.step({"vars": {"privacy_acknowledged": "yes", "language": language}}, Start())
    assert step.state is not None
    assert (step.state["flow"], step.state["node"]) == ("main", "menu")
    return step


def screen(step: Step) -> Screen:
    screens = [e for e in step.effects if isinstance(e, Screen)]
    assert len(screens) == 1, step.effects
    return screens[0]


def buttons(step: Step) -> list[Button]:
    return [b for row in screen(step).buttons for b in row]


def press(engine: Engine, step: Step, label: str) -> Step:
    found = [b for b in buttons(step) if b.label == label]
    assert found, f"no button {label!r} in {[b.label for b in buttons(step)]}"
    return engine.step(step.state, Press(found[0].data))


def test_police_typed_at_the_main_menu_offers_the_police_articles(content: Content) -> None:
    engine = make_engine(content)
    menu = at_main_menu(engine, "en")
    results = engine.step(menu.state, Text("police"))
    assert screen(results).text == "search.results"
    labels = [b.label for b in buttons(results)]
    assert labels == ["rights.police", "rights.custody", "nav.menu", "nav.quick_exit"]
    assert not any(isinstance(e, Notice) for e in results.effects)

    opened = press(engine, results, "rights.custody")
    assert screen(opened).article == "police-custody"
    assert opened.state is not None
    # exactly as choosing it from the rights menu: the rights flow's article node
    assert (opened.state["flow"], opened.state["node"]) == ("rights", "custody")
    assert "nav.continue" in [b.label for b in buttons(opened)]

    back = engine.step(opened.state, Back())
    assert back.state is not None
    assert (back.state["flow"], back.state["node"]) == ("main", "menu")


@pytest.mark.parametrize(
    ("typed", "article", "label"),
    [
        ("នគរបាល", "police", "rights.police"),
        ("ម្ចាស់ផ្ទះចង់បណ្តេញខ្ញុំ", "renting-eviction", "rights.renting"),
    ],
)
def test_a_khmer_keyword_finds_the_khmer_article(
    content: Content, typed: str, article: str, label: str
) -> None:
    engine = make_engine(content)
    results = engine.step(at_main_menu(engine, "km").state, Text(typed))
    assert screen(results).text == "search.results"
    assert buttons(results)[0].label == label
    opened = press(engine, results, label)
    assert screen(opened).article == article
    assert opened.state is not None and opened.state["vars"]["language"] == "km"


def test_an_english_word_in_a_khmer_chat_still_finds_the_article(content: Content) -> None:
    engine = make_engine(content)
    results = engine.step(at_main_menu(engine, "km").state, Text("HIV"))
    assert buttons(results)[0].label == "rights.hiv"


@pytest.mark.parametrize("typed", ["qwertyuiop", "x", "/start", "/police", "   "])
def test_nonsense_or_a_command_gets_the_usual_line(content: Content, typed: str) -> None:
    engine = make_engine(content)
    menu = at_main_menu(engine, "en")
    step = engine.step(menu.state, Text(typed))
    assert step.effects[0] == Notice("use_buttons")
    assert screen(step).text == screen(menu).text
    assert step.state == menu.state


def test_without_a_finder_the_engine_behaves_as_before(content: Content) -> None:
    engine = make_engine(content, search=False)
    step = engine.step(at_main_menu(engine, "en").state, Text("police"))
    assert step.effects[0] == Notice("use_buttons")


def test_a_stale_or_forged_result_button_is_refused(content: Content) -> None:
    engine = make_engine(content)
    menu = at_main_menu(engine, "en")
    results = engine.step(menu.state, Text("police"))
    assert results.state is not None
    old_token = menu.state["token"] if menu.state else ""
    for data in (f"{old_token}.a0", f"{results.state['token']}.a9", f"{results.state['token']}.0"):
        refused = engine.step(results.state, Press(data))
        assert refused.effects[0] == Notice("menu_closed"), data
        assert refused.state == results.state
        assert screen(refused).text == "search.results"
    # once an article is open, the results screen's buttons have closed
    opened = press(engine, results, "rights.police")
    stale = engine.step(opened.state, Press(buttons(results)[0].data))
    assert stale.effects[0] == Notice("menu_closed")
    assert screen(stale).article == "police"


def test_a_forged_state_cannot_open_a_node_that_was_not_offered(content: Content) -> None:
    engine = make_engine(content)
    results = engine.step(at_main_menu(engine, "en").state, Text("police"))
    assert results.state is not None
    forged = {**results.state, "offer": [["intake", "save"]]}
    step = engine.step(forged, Press(f"{forged['token']}.a0"))
    assert step.effects[0] == Notice("menu_closed")


def test_menu_and_back_leave_the_results(content: Content) -> None:
    engine = make_engine(content)
    menu = at_main_menu(engine, "en")
    rights = press(engine, menu, "main.rights")
    results = engine.step(rights.state, Text("bullied at school"))
    labels = [b.label for b in buttons(results)]
    assert labels[0] == "rights.school"
    assert labels[-3:] == ["nav.back", "nav.menu", "nav.quick_exit"]

    back = press(engine, results, "nav.back")
    assert screen(back).text == "rights.topics"
    assert back.state is not None and not back.state.get("offer")

    home = press(engine, results, "nav.menu")
    assert home.state is not None
    assert (home.state["flow"], home.state["node"]) == ("main", "menu")

    # typing again at the results searches again; /menu leaves them too
    again = engine.step(results.state, Text("police"))
    assert buttons(again)[0].label == "rights.police"
    left = engine.step(results.state, Home()).state
    assert left is not None and (left["flow"], left["node"], left.get("offer")) == (
        "main",
        "menu",
        None,
    )


def test_no_search_before_the_privacy_notice_is_acknowledged(content: Content) -> None:
    engine = make_engine(content)
    first = engine.step(None, Start())  # the language screen, then the privacy notice
    step = engine.step(first.state, Text("police"))
    assert step.effects[0] == Notice("use_buttons")


def test_quick_exit_works_on_the_results_screen(content: Content) -> None:
    engine = make_engine(content)
    results = engine.step(at_main_menu(engine, "en").state, Text("police"))
    step = press(engine, results, "nav.quick_exit")
    assert step.state is None


def test_the_bot_searches_nothing_in_what_the_crisis_detector_hears(content: Content) -> None:
    """After a crisis message the person gets the emergency numbers and the usual line, not
    an article matched by a word such as "die" (the bot passes ``searcher(crisis.match)``)."""
    from knowledge.crisis import CrisisDetector  # noqa: PLC0415

    find = content.articles.searcher(CrisisDetector.load().match)
    assert find("ខ្ញុំចង់ ស្លាប់", "km") == []
    assert find("The police arrested me at the park", "en") == []
    assert find("police", "en") == content.articles.search("police", "en") != []
    assert content.articles.searcher()("police", "en") == ["police", "police-custody"]
