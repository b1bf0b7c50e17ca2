"""The flow format (spec version 1) as typed, immutable values.

A flow is data: an id, a start node, and nodes with stable ids whose exits name other nodes
(``node_id``) or other flows (``flow:flow_id`` or ``flow:flow_id#node_id``). Text is never in
the graph: nodes name keys in the string catalogues of ``knowledge/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

SPEC_VERSION = 1
FLOW_PREFIX = "flow:"


class NodeKind(StrEnum):
    MESSAGE = "message"  # say something, then go on to ``next`` at once
    MENU = "menu"  # a screen of choices; each choice names where it leads
    QUESTION = "question"  # free text (with length limits) or a choice, saved as a variable
    ARTICLE = "article"  # a knowledge article, page by page
    ACTION = "action"  # ask the bot to do something (create a case, hand off, ...)
    END = "end"  # say something (optional) and finish; the home flow takes over


class ActionKind(StrEnum):
    CREATE_CASE = "create_case"
    HANDOFF = "handoff"
    REFER = "refer"
    ERASE = "erase"
    SET_LANGUAGE = "set_language"
    QUICK_EXIT = "quick_exit"
    FIND_PARTNERS = "find_partners"
    SCHEDULE_FOLLOW_UP = "schedule_follow_up"
    SET_CLEANUP = "set_cleanup"


# Actions whose result the flow waits for before it goes on. A hand-off is answered when the
# counsellor chat ends: while it lasts, the flow is quiet.
AWAITED_ACTIONS = frozenset(
    {ActionKind.CREATE_CASE, ActionKind.FIND_PARTNERS, ActionKind.HANDOFF, ActionKind.REFER}
)
# Actions after which the person's run is over.
FINAL_ACTIONS = frozenset({ActionKind.ERASE, ActionKind.QUICK_EXIT})


class InputKind(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    MONTH_YEAR = "month_year"


@dataclass(frozen=True)
class Choice:
    id: str
    label: str  # catalogue key
    next: str | None = None
    value: str | None = None  # saved for a question; defaults to the choice id
    edit: str | None = None  # go to this question, then come back to this node


@dataclass(frozen=True)
class Node:
    id: str
    kind: NodeKind
    text: str | None = None
    next: str | None = None
    choices: tuple[Choice, ...] = ()
    choices_from: str | None = None
    save_as: str | None = None
    input: InputKind | None = None
    min_length: int = 1
    max_length: int = 2000
    optional: bool = False
    article: str | None = None
    action: ActionKind | None = None
    params: dict[str, str] = field(default_factory=dict)
    show_answers: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Flow:
    id: str
    start: str
    nodes: dict[str, Node]
    file: str
    spec_version: int = SPEC_VERSION


@dataclass(frozen=True)
class FlowSet:
    """Every flow, plus the data the engine needs to stay pure: choice lists (from the
    taxonomy) and how many pages each article has."""

    flows: dict[str, Flow]
    home: str = "main"
    choice_lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    article_pages: dict[str, int] = field(default_factory=dict)

    def node(self, flow_id: str, node_id: str) -> Node:
        return self.flows[flow_id].nodes[node_id]

    def resolve(self, flow_id: str, target: str) -> tuple[str, str]:
        """``target`` as (flow id, node id), relative to ``flow_id``."""
        if target.startswith(FLOW_PREFIX):
            reference = target[len(FLOW_PREFIX) :]
            other, _, node = reference.partition("#")
            return other, node or self.flows[other].start
        return flow_id, target

    def choices(self, node: Node) -> tuple[Choice, ...]:
        if node.choices_from is None:
            return node.choices
        codes = self.choice_lists.get(node.choices_from, ())
        return (
            tuple(
                Choice(code, f"taxonomy.{node.choices_from}.{code}", node.next, code)
                for code in codes
            )
            + node.choices
        )
