"""validate() and inspect() on broken definitions: each problem names file, node, language."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.validation import validate_all
from flows.loader import Problem, load_flows, parse_flow
from flows.model import FlowSet
from flows.validation import inspect, validate

GOOD = {
    "spec_version": 1,
    "id": "main",
    "start": "menu",
    "nodes": [
        {
            "id": "menu",
            "kind": "menu",
            "text": "t.menu",
            "choices": [{"id": "go", "label": "t.go", "next": "about"}],
        },
        {"id": "about", "kind": "article", "article": "known"},
    ],
}
TEXTS = {"en": {"t.menu": "Menu", "t.go": "Go"}, "km": {"t.menu": "ម៉ឺនុយ", "t.go": "ទៅ"}}


def problems_for(
    document: dict[str, object], *, texts: dict[str, dict[str, str]] = TEXTS, soft: bool = False
) -> list[Problem]:
    flow, found = parse_flow(document, "flows/definitions/main.yaml")
    if flow is None:
        return found
    flows = FlowSet({flow.id: flow}, "main", {}, {"known": 1})
    found += validate(flows, frozenset({"known"}))
    if soft:
        found += inspect(flows, texts)
    return found


def with_nodes(*nodes: dict[str, object]) -> dict[str, object]:
    existing = GOOD["nodes"]
    assert isinstance(existing, list)
    return {**GOOD, "nodes": [*existing, *nodes]}


def test_the_good_definition_has_no_problem() -> None:
    assert problems_for(GOOD, soft=True) == []


def test_a_dangling_exit() -> None:
    [problem] = problems_for(
        with_nodes({"id": "x", "kind": "message", "text": "t.menu", "next": "nowhere"})
    )
    assert problem.node == "x" and "'nowhere', which does not exist" in problem.message
    assert problem.file.endswith("main.yaml") and problem.hard


def test_a_dangling_flow_exit() -> None:
    [problem] = problems_for(
        with_nodes({"id": "x", "kind": "message", "text": "t.menu", "next": "flow:absent"})
    )
    assert "flow:absent" in problem.message


def test_a_duplicate_id() -> None:
    found = problems_for(with_nodes({"id": "menu", "kind": "message", "text": "t.menu"}))
    assert [(p.node, p.message) for p in found] == [("menu", "duplicate node id")]


def test_a_missing_khmer_string() -> None:
    texts = {"en": TEXTS["en"], "km": {"t.menu": "ម៉ឺនុយ"}}
    found = problems_for(GOOD, texts=texts, soft=True)
    assert [(p.node, p.language, p.hard) for p in found] == [("menu", "km", False)]
    assert "'t.go'" in found[0].message
    assert "menu [km]: issue: missing text" in str(found[0])


def test_a_callback_id_over_64_bytes() -> None:
    long_id = "ក" * 22  # 66 bytes in UTF-8
    document = {
        **GOOD,
        "nodes": [
            {
                "id": "menu",
                "kind": "menu",
                "text": "t.menu",
                "choices": [{"id": long_id, "label": "t.go", "next": "about"}],
            },
            GOOD["nodes"][1],  # type: ignore[index]
        ],
    }
    [problem] = problems_for(document)
    assert problem.node == "menu" and "over 64 bytes" in problem.message


def test_text_over_4096_characters() -> None:
    texts = {"en": {**TEXTS["en"], "t.menu": "x" * 4097}, "km": TEXTS["km"]}
    found = problems_for(GOOD, texts=texts, soft=True)
    assert [(p.node, p.language) for p in found] == [("menu", "en")]
    assert "over Telegram's 4096" in found[0].message


def test_a_question_allowing_more_than_telegram_sends() -> None:
    found = problems_for(
        with_nodes(
            {
                "id": "q",
                "kind": "question",
                "text": "t.menu",
                "input": "text",
                "save_as": "q",
                "max_length": 5000,
            }
        )
    )
    assert any("over Telegram's 4096" in p.message for p in found)


def test_an_unknown_article() -> None:
    found = problems_for(with_nodes({"id": "a", "kind": "article", "article": "nope"}))
    assert [(p.node, p.message) for p in found] == [("a", "unknown article 'nope'")]


def test_an_unknown_kind_and_spec_version() -> None:
    [kind] = problems_for(with_nodes({"id": "z", "kind": "dance"}))
    assert kind.node == "z" and "unknown kind" in kind.message
    [version] = problems_for({**GOOD, "spec_version": 2})
    assert "spec_version must be 1" in version.message


def test_a_loop_that_never_waits() -> None:
    found = problems_for(
        with_nodes(
            {"id": "a", "kind": "message", "text": "t.menu", "next": "b"},
            {"id": "b", "kind": "message", "text": "t.menu", "next": "a"},
        )
    )
    assert any("never waits" in p.message for p in found)


def test_an_unreachable_node_is_a_soft_issue() -> None:
    found = problems_for(
        with_nodes({"id": "lonely", "kind": "message", "text": "t.menu"}), soft=True
    )
    assert [(p.node, p.message, p.hard) for p in found] == [("lonely", "unreachable node", False)]


def test_duplicate_flow_ids_across_files(tmp_path: Path) -> None:
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    _, found = load_flows(sorted(tmp_path.glob("*.yaml")))
    assert len(found) == 1 and "also used in" in found[0].message


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec_version: [1\n", encoding="utf-8")
    _, found = load_flows([broken])
    assert found[0].file == str(broken) and "not valid YAML" in found[0].message


def test_the_shipped_content_is_complete_in_both_languages() -> None:
    assert validate_all() == []
