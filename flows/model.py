"""The flow format (spec version 1) as typed, immutable values.

A flow is data: an id, a start node, and nodes with stable ids whose exits name other nodes
(``node_id``) or other flows (``flow:flow_id`` or ``flow:flow_id#node_id``). Text is never in
the graph: nodes name keys in the string catalogues of ``knowledge/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SPEC_VERSION = 1
FLOW_PREFIX = "flow:"


class NodeKind(StrEnum):
    MESSAGE = "message"  # say something, then go on to ``next`` at once
    MENU = "menu"  # a screen of choices; each choice names where it leads
    QUESTION = "question"  # free text (with length limits) or a choice, saved as a variable
    ARTICLE = "article"  # a knowledge article, page by page
    ACTION = "action"  # ask the bot to do something (create a case, hand off, ...)
    BRANCH = "branch"  # go on to ``next`` if a condition holds, else to ``else``, at once
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
    SHOW_SAVED = "show_saved"


# Actions whose result the flow waits for before it goes on. A hand-off is answered when the
# counsellor chat ends: while it lasts, the flow is quiet.
AWAITED_ACTIONS = frozenset(
    {
        ActionKind.CREATE_CASE,
        ActionKind.FIND_PARTNERS,
        ActionKind.HANDOFF,
        ActionKind.REFER,
        ActionKind.SHOW_SAVED,
    }
)
# Actions after which the person's run is over.
FINAL_ACTIONS = frozenset({ActionKind.ERASE, ActionKind.QUICK_EXIT})


class InputKind(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    MONTH_YEAR = "month_year"


class Navigation(StrEnum):
    """Which navigation buttons a screen carries besides its own (Quick exit is always there)."""

    FULL = "full"  # Back and Main menu
    BACK = "back"  # Back only
    NONE = "none"  # neither; the run's history is forgotten here, so Back cannot return past it


CONDITION_NAME = re.compile(r"[a-z][a-z0-9_]*")
FALSE_VALUES = frozenset({"", "no", "false", "0"})


def condition_name(condition: str) -> str | None:
    """``name`` or ``not name`` -> ``name``; None if the condition is not well formed."""
    words = condition.split()
    if len(words) == 2 and words[0] == "not":
        words = words[1:]
    if len(words) != 1 or not CONDITION_NAME.fullmatch(words[0]):
        return None
    return words[0]


def holds(condition: str, variables: Mapping[str, Any]) -> bool:
    """A condition is ``name`` (the variable is set and not "no"/"false"/"0"/empty) or
    ``not name``; a malformed condition never holds (validation reports it)."""
    name = condition_name(condition)
    if name is None:
        return False
    value = variables.get(name)
    true = value is not None and str(value).strip().lower() not in FALSE_VALUES
    return not true if condition.split(maxsplit=1)[0] == "not" else true


@dataclass(frozen=True)
class Choice:
    id: str
    label: str  # catalogue key
    next: str | None = None
    value: str | None = None  # saved for a question; defaults to the choice id
    edit: str | None = None  # go to this question, then come back to this node
    condition: str | None = None  # ``if``: the choice is shown only when this holds


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
    condition: str | None = None  # ``if`` of a branch
    otherwise: str | None = None  # ``else`` of a branch
    text_if: tuple[tuple[str, str], ...] = ()  # (condition, catalogue key): first that holds
    navigation: Navigation = Navigation.FULL
    line: int = 0

    def text_for(self, variables: Mapping[str, Any]) -> str | None:
        for condition, key in self.text_if:
            if holds(condition, variables):
                return key
        return self.text


@dataclass(frozen=True)
class Requirement:
    """A flow entered while ``condition`` does not hold sends the person to ``otherwise``
    instead (the privacy notice before the main menu)."""

    condition: str
    otherwise: str


@dataclass(frozen=True)
class Flow:
    id: str
    start: str
    nodes: dict[str, Node]
    file: str
    spec_version: int = SPEC_VERSION
    requires: Requirement | None = None


@dataclass(frozen=True)
class FlowSet:
    """Every flow, plus the data the engine needs to stay pure: choice lists (from the
    taxonomy) and how many pages each article has."""

    flows: dict[str, Flow]
    home: str = "main"
    choice_lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    article_pages: dict[str, int] = field(default_factory=dict)

    @property
    def kept_variables(self) -> frozenset[str]:
        """Variables a run keeps when a flow ends or another starts: the language, and every
        variable a flow requires (an acknowledgement is given once, not once per flow)."""
        names = {"language"}
        for flow in self.flows.values():
            if flow.requires is not None:
                name = condition_name(flow.requires.condition)
                if name is not None:
                    names.add(name)
        return frozenset(names)

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
