"""Loading flows: safe-load YAML -> typed model. Shape errors are reported as problems that
name the file and node; nothing is guessed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from flows.model import (
    SPEC_VERSION,
    ActionKind,
    Choice,
    Flow,
    FlowSet,
    InputKind,
    Navigation,
    Node,
    NodeKind,
    Requirement,
)
from knowledge.yaml_loading import load_yaml

DEFINITIONS = Path(__file__).parent / "definitions"
_NODE_KEYS = {
    "id",
    "kind",
    "text",
    "next",
    "choices",
    "choices_from",
    "save_as",
    "input",
    "min_length",
    "max_length",
    "optional",
    "article",
    "action",
    "params",
    "show_answers",
    "if",
    "else",
    "text_if",
    "navigation",
}
_CHOICE_KEYS = {"id", "label", "next", "value", "edit", "if"}
_FLOW_KEYS = {"spec_version", "id", "start", "nodes", "requires"}


@dataclass(frozen=True)
class Problem:
    file: str
    node: str
    language: str
    message: str
    hard: bool = True

    def __str__(self) -> str:
        where = f"{self.file}: node {self.node}" if self.node else self.file
        language = f" [{self.language}]" if self.language else ""
        kind = "error" if self.hard else "issue"
        return f"{where}{language}: {kind}: {self.message}"


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, node: str, message: str) -> None:
        self.problems.append(Problem(self.file, node, "", message))

    def choice(self, node_id: str, raw: Any, index: int) -> Choice | None:
        if not isinstance(raw, dict):
            self.problem(node_id, f"choice {index} must be a mapping")
            return None
        unknown = set(raw) - _CHOICE_KEYS
        if unknown:
            self.problem(node_id, f"choice {index} has unknown keys {sorted(unknown)}")
        choice_id, label = raw.get("id"), raw.get("label")
        if not isinstance(choice_id, str) or not isinstance(label, str):
            self.problem(node_id, f"choice {index} needs an id and a label (catalogue key)")
            return None
        return Choice(
            choice_id,
            label,
            _opt_str(raw.get("next")),
            _opt_str(raw.get("value")),
            _opt_str(raw.get("edit")),
            _opt_str(raw.get("if")),
        )

    def node(self, raw: Any, index: int) -> Node | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            self.problem(f"#{index}", "every node needs a text id")
            return None
        node_id: str = raw["id"]
        unknown = set(raw) - _NODE_KEYS
        if unknown:
            self.problem(node_id, f"unknown keys {sorted(unknown)}")
        try:
            kind = NodeKind(str(raw.get("kind")))
        except ValueError:
            self.problem(
                node_id,
                f"unknown kind {raw.get('kind')!r}; expected one of {[k.value for k in NodeKind]}",
            )
            return None
        action = None
        if raw.get("action") is not None:
            try:
                action = ActionKind(raw["action"])
            except ValueError:
                self.problem(node_id, f"unknown action {raw['action']!r}")
        input_kind = None
        if raw.get("input") is not None:
            try:
                input_kind = InputKind(raw["input"])
            except ValueError:
                self.problem(node_id, f"unknown input {raw['input']!r}")
        raw_choices = raw.get("choices") or []
        if not isinstance(raw_choices, list):
            self.problem(node_id, "choices must be a list")
            raw_choices = []
        choices = tuple(
            c
            for i, raw_choice in enumerate(raw_choices)
            if (c := self.choice(node_id, raw_choice, i)) is not None
        )
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            self.problem(node_id, "params must be a mapping")
            params = {}
        lengths = {}
        for key, default in (("min_length", 1), ("max_length", 2000)):
            value = raw.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool):
                self.problem(node_id, f"{key} must be a whole number")
                value = default
            lengths[key] = value
        show = raw.get("show_answers") or []
        text_if: list[tuple[str, str]] = []
        raw_text_if = raw.get("text_if") or []
        if not isinstance(raw_text_if, list):
            self.problem(node_id, "text_if must be a list of {if: condition, text: key}")
            raw_text_if = []
        for entry in raw_text_if:
            if (
                not isinstance(entry, dict)
                or set(entry) != {"if", "text"}
                or not all(isinstance(v, str) for v in entry.values())
            ):
                self.problem(node_id, "each text_if entry is {if: condition, text: key}")
                continue
            text_if.append((entry["if"], entry["text"]))
        navigation = Navigation.FULL
        if raw.get("navigation") is not None:
            try:
                navigation = Navigation(raw["navigation"])
            except ValueError:
                self.problem(
                    node_id,
                    f"unknown navigation {raw['navigation']!r}; "
                    f"expected one of {[n.value for n in Navigation]}",
                )
        return Node(
            id=node_id,
            kind=kind,
            text=_opt_str(raw.get("text")),
            next=_opt_str(raw.get("next")),
            choices=choices,
            choices_from=_opt_str(raw.get("choices_from")),
            save_as=_opt_str(raw.get("save_as")),
            input=input_kind,
            min_length=lengths["min_length"],
            max_length=lengths["max_length"],
            optional=bool(raw.get("optional", False)),
            article=_opt_str(raw.get("article")),
            action=action,
            params={str(k): str(v) for k, v in params.items()},
            show_answers=tuple(str(s) for s in show) if isinstance(show, list) else (),
            condition=_opt_str(raw.get("if")),
            otherwise=_opt_str(raw.get("else")),
            text_if=tuple(text_if),
            navigation=navigation,
        )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def parse_flow(document: Any, file: str) -> tuple[Flow | None, list[Problem]]:
    reader = _Reader(file)
    if not isinstance(document, dict):
        reader.problem("", "a flow file must be a mapping with spec_version, id, start, nodes")
        return None, reader.problems
    version = document.get("spec_version")
    if version != SPEC_VERSION:
        reader.problem("", f"spec_version must be {SPEC_VERSION}, found {version!r}")
        return None, reader.problems
    flow_id, start, raw_nodes = document.get("id"), document.get("start"), document.get("nodes")
    if not isinstance(flow_id, str) or not isinstance(start, str):
        reader.problem("", "a flow needs a text id and a start node")
        return None, reader.problems
    if not isinstance(raw_nodes, list) or not raw_nodes:
        reader.problem("", "a flow needs a non-empty list of nodes")
        return None, reader.problems
    unknown = set(document) - _FLOW_KEYS
    if unknown:
        reader.problem("", f"unknown keys {sorted(unknown)}")
    requires = None
    raw_requires = document.get("requires")
    if raw_requires is not None:
        if (
            isinstance(raw_requires, dict)
            and set(raw_requires) == {"if", "else"}
            and all(isinstance(v, str) for v in raw_requires.values())
        ):
            requires = Requirement(raw_requires["if"], raw_requires["else"])
        else:
            reader.problem("", "requires must be {if: condition, else: destination}")
    nodes: dict[str, Node] = {}
    for index, raw in enumerate(raw_nodes):
        node = reader.node(raw, index)
        if node is None:
            continue
        if node.id in nodes:
            reader.problem(node.id, "duplicate node id")
            continue
        nodes[node.id] = node
    return Flow(flow_id, start, nodes, file, version, requires), reader.problems


def load_flow_file(path: Path) -> tuple[Flow | None, list[Problem]]:
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return None, [Problem(str(path), "", "", f"not valid YAML: {exc}")]
    return parse_flow(document, str(path))


def load_flows(
    paths: Sequence[Path] | None = None,
    *,
    choice_lists: Mapping[str, Sequence[str]] | None = None,
    article_pages: Mapping[str, int] | None = None,
    home: str = "main",
) -> tuple[FlowSet, list[Problem]]:
    """Load every flow file; duplicate flow ids are problems too."""
    files = sorted(paths) if paths is not None else sorted(DEFINITIONS.glob("*.yaml"))
    flows: dict[str, Flow] = {}
    problems: list[Problem] = []
    for path in files:
        flow, found = load_flow_file(path)
        problems += found
        if flow is None:
            continue
        if flow.id in flows:
            problems.append(
                Problem(
                    str(path), "", "", f"flow id {flow.id!r} is also used in {flows[flow.id].file}"
                )
            )
            continue
        flows[flow.id] = flow
    flow_set = FlowSet(
        flows=flows,
        home=home,
        choice_lists={k: tuple(v) for k, v in (choice_lists or {}).items()},
        article_pages=dict(article_pages or {}),
    )
    return flow_set, problems
