"""``validate()`` (hard errors: the flows cannot run correctly) and ``inspect()`` (soft issues:
they run, but a person would meet a gap). CI fails on either."""

from __future__ import annotations

from collections.abc import Mapping

from flows.loader import Problem
from flows.model import (
    AWAITED_ACTIONS,
    FINAL_ACTIONS,
    FLOW_PREFIX,
    FlowSet,
    InputKind,
    Node,
    NodeKind,
    condition_name,
)

MAX_CALLBACK_BYTES = 64
MAX_TEXT = 4096
MAX_BUTTON_LABEL = 64
TOKEN_BYTES = 8  # the longest screen token the bot generates
LANGUAGES = ("km", "en")


def _targets(node: Node) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if node.next:
        found.append(("next", node.next))
    if node.otherwise:
        found.append(("else", node.otherwise))
    for choice in node.choices:
        if choice.next:
            found.append((f"choice {choice.id}", choice.next))
        if choice.edit:
            found.append((f"choice {choice.id} (edit)", choice.edit))
    return found


def _exists(flows: FlowSet, flow_id: str, target: str) -> bool:
    if target.startswith(FLOW_PREFIX):
        other, _, node = target[len(FLOW_PREFIX) :].partition("#")
        return other in flows.flows and (not node or node in flows.flows[other].nodes)
    return target in flows.flows[flow_id].nodes


def validate(flows: FlowSet, articles: frozenset[str] | None = None) -> list[Problem]:
    problems: list[Problem] = []
    if flows.home not in flows.flows:
        problems.append(Problem("flows/definitions", "", "", f"home flow {flows.home!r} missing"))
    for flow in flows.flows.values():

        def error(node: str, message: str, file: str = flow.file) -> None:
            problems.append(Problem(file, node, "", message))

        if flow.start not in flow.nodes:
            error("", f"start node {flow.start!r} does not exist")
        if flow.requires is not None:
            if condition_name(flow.requires.condition) is None:
                error("", f"requires: {flow.requires.condition!r} is not 'name' or 'not name'")
            if not _exists(flows, flow.id, flow.requires.otherwise):
                error("", f"requires leads to {flow.requires.otherwise!r}, which does not exist")
            elif flows.flows[flows.resolve(flow.id, flow.requires.otherwise)[0]].requires:
                error("", "requires leads into a flow that has requirements of its own")
        for node in flow.nodes.values():
            conditions = [c.condition for c in node.choices if c.condition is not None]
            conditions += [condition for condition, _ in node.text_if]
            if node.condition is not None:
                conditions.append(node.condition)
            for condition in conditions:
                if condition_name(condition) is None:
                    error(node.id, f"condition {condition!r} is not 'name' or 'not name'")
            if node.kind is NodeKind.BRANCH and (
                node.condition is None or node.next is None or node.otherwise is None
            ):
                error(node.id, "a branch needs if, next and else")
            if node.kind is not NodeKind.BRANCH and (
                node.condition is not None or node.otherwise is not None
            ):
                error(node.id, "only a branch has if and else (a choice may have if)")
            for where, target in _targets(node):
                if not _exists(flows, flow.id, target):
                    error(node.id, f"{where} leads to {target!r}, which does not exist")
            back_to = node.params.get("return_to")
            if back_to is not None and back_to not in flow.nodes:
                error(node.id, f"return_to {back_to!r} is not a node of this flow")
            choices = (
                flows.choices(node)
                if node.choices_from in flows.choice_lists or node.choices_from is None
                else node.choices
            )
            if node.choices_from is not None and node.choices_from not in flows.choice_lists:
                error(node.id, f"choices_from {node.choices_from!r} is not a known list")
            ids = [c.id for c in node.choices]
            if len(ids) != len(set(ids)):
                error(node.id, "duplicate choice ids")
            longest = len(str(max(len(choices) - 1, 0)))
            if TOKEN_BYTES + 1 + longest > MAX_CALLBACK_BYTES:  # pragma: no cover - 10^55 choices
                error(node.id, "callback data over 64 bytes")
            for choice in node.choices:
                if len(choice.id.encode()) > MAX_CALLBACK_BYTES:
                    error(
                        node.id,
                        f"choice id {choice.id[:20]!r}... is over 64 bytes and "
                        "could not be carried as callback data",
                    )
            if node.kind is NodeKind.MENU and not choices:
                error(node.id, "a menu needs at least one choice")
            if node.kind is NodeKind.MENU and any(
                c.next is None and c.edit is None for c in node.choices
            ):
                error(node.id, "every menu choice needs next (or edit)")
            if node.kind is NodeKind.QUESTION:
                if not node.save_as:
                    error(node.id, "a question needs save_as")
                if node.input in (None, InputKind.CHOICE) and not choices:
                    error(node.id, "a choice question needs choices or choices_from")
                if node.input is InputKind.TEXT and not 0 < node.min_length <= node.max_length:
                    error(node.id, "min_length must be at least 1 and at most max_length")
                if node.input is InputKind.TEXT and node.max_length > MAX_TEXT:
                    error(node.id, f"max_length {node.max_length} is over Telegram's {MAX_TEXT}")
            if node.kind in (NodeKind.MENU, NodeKind.QUESTION, NodeKind.MESSAGE) and not node.text:
                error(node.id, f"a {node.kind.value} node needs text (a catalogue key)")
            if node.kind is NodeKind.ARTICLE:
                if not node.article:
                    error(node.id, "an article node needs article")
                elif articles is not None and node.article not in articles:
                    error(node.id, f"unknown article {node.article!r}")
            if node.kind is NodeKind.ACTION:
                if node.action is None:
                    error(node.id, "an action node needs a known action")
                elif (
                    node.action not in FINAL_ACTIONS
                    and node.action not in AWAITED_ACTIONS
                    and node.next is None
                ):
                    error(node.id, "this action needs next")
    problems += _loops(flows)
    return problems


def _auto_successors(flows: FlowSet, flow_id: str, node: Node) -> list[tuple[str, str]]:
    """Where a node that does not wait goes on to (none for one that ends or waits)."""
    if node.kind is NodeKind.ACTION and node.action in AWAITED_ACTIONS | FINAL_ACTIONS:
        return []
    if node.kind not in (NodeKind.MESSAGE, NodeKind.ACTION, NodeKind.BRANCH):
        return []
    targets = [t for t in (node.next, node.otherwise) if t]
    return [flows.resolve(flow_id, t) for t in targets if _exists(flows, flow_id, t)]


def _loops(flows: FlowSet) -> list[Problem]:
    """A cycle through nodes that never wait would spin forever."""
    problems: list[Problem] = []
    auto = (NodeKind.MESSAGE, NodeKind.ACTION, NodeKind.BRANCH)
    for flow in flows.flows.values():
        for start in flow.nodes.values():
            if start.kind not in auto:
                continue
            origin = (flow.id, start.id)
            pending = _auto_successors(flows, flow.id, start)
            seen: set[tuple[str, str]] = set()
            while pending:
                key = pending.pop()
                if key == origin:
                    problems.append(
                        Problem(
                            flow.file, start.id, "", "a loop of message/action nodes never waits"
                        )
                    )
                    break
                if key in seen:
                    continue
                seen.add(key)
                pending += _auto_successors(flows, key[0], flows.node(*key))
    return problems


def _reachable(flows: FlowSet) -> set[tuple[str, str]]:
    reached: set[tuple[str, str]] = set()
    pending = [(flows.home, flows.flows[flows.home].start)] if flows.home in flows.flows else []
    # Flows can also be started directly by commands (/start, /language, /delete ...).
    pending += [(f.id, f.start) for f in flows.flows.values()]
    pending += [
        flows.resolve(f.id, f.requires.otherwise)
        for f in flows.flows.values()
        if f.requires is not None and _exists(flows, f.id, f.requires.otherwise)
    ]
    while pending:
        flow_id, node_id = pending.pop()
        if (flow_id, node_id) in reached or node_id not in flows.flows[flow_id].nodes:
            continue
        reached.add((flow_id, node_id))
        for _, target in _targets(flows.node(flow_id, node_id)):
            if _exists(flows, flow_id, target):
                pending.append(flows.resolve(flow_id, target))
    return reached


def inspect(flows: FlowSet, texts: Mapping[str, Mapping[str, str]]) -> list[Problem]:
    """Soft issues: text missing in a language, unreachable nodes, over-long texts."""
    problems: list[Problem] = []
    reached = _reachable(flows)
    for flow in flows.flows.values():
        for node in flow.nodes.values():
            if (flow.id, node.id) not in reached:
                problems.append(Problem(flow.file, node.id, "", "unreachable node", hard=False))
            keys = [k for k in (node.text,) if k]
            keys += [key for _, key in node.text_if]
            keys += [c.label for c in flows.choices(node)]
            keys += [f"answers.{name}" for name in node.show_answers]
            for language in LANGUAGES:
                table = texts.get(language, {})
                for key in keys:
                    text = table.get(key)
                    if text is None:
                        problems.append(
                            Problem(
                                flow.file,
                                node.id,
                                language,
                                f"missing text for {key!r}",
                                hard=False,
                            )
                        )
                    elif (
                        key in (c.label for c in flows.choices(node))
                        and len(text) > MAX_BUTTON_LABEL
                    ):
                        problems.append(
                            Problem(
                                flow.file,
                                node.id,
                                language,
                                f"button label {key!r} is over {MAX_BUTTON_LABEL} characters",
                                hard=False,
                            )
                        )
                    elif len(text) > MAX_TEXT:
                        problems.append(
                            Problem(
                                flow.file,
                                node.id,
                                language,
                                f"text {key!r} is over Telegram's {MAX_TEXT} characters",
                                hard=False,
                            )
                        )
    return problems
