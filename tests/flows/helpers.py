"""A small flow set that uses every node kind, and a deterministic engine over it."""

from __future__ import annotations

import itertools
from datetime import date

import yaml

from flows.engine import Engine
from flows.loader import parse_flow
from flows.model import FlowSet

MAIN = """
spec_version: 1
id: main
start: menu
nodes:
  - id: menu
    kind: menu
    text: t.menu
    choices:
      - {id: ask, label: t.ask, next: "flow:survey"}
      - {id: read, label: t.read, next: "flow:survey#article"}
      - {id: hello, label: t.hello, next: hello}
  - id: hello
    kind: message
    text: t.hello
    next: menu
"""

SURVEY = """
spec_version: 1
id: survey
start: colour
nodes:
  - id: colour
    kind: question
    text: t.colour
    input: choice
    choices_from: colours
    save_as: colour
    next: story
  - id: story
    kind: question
    text: t.story
    input: text
    max_length: 10
    optional: true
    save_as: story
    next: when
  - id: when
    kind: question
    text: t.when
    input: month_year
    optional: true
    save_as: when
    next: review
  - id: review
    kind: menu
    text: t.review
    show_answers: [colour, story, when]
    choices:
      - {id: save, label: t.save, next: save}
      - {id: change, label: t.change, edit: story}
      - {id: leave, label: t.leave, next: bye}
  - id: save
    kind: action
    action: create_case
    next: saved
  - id: saved
    kind: end
    text: t.saved
  - id: bye
    kind: action
    action: quick_exit
  - id: article
    kind: article
    article: sample
    next: review
"""


def flow_set() -> FlowSet:
    flows = {}
    for text in (MAIN, SURVEY):
        flow, problems = parse_flow(yaml.safe_load(text), "test.yaml")
        assert flow is not None and not problems, problems
        flows[flow.id] = flow
    return FlowSet(flows, "main", {"colours": ("red", "blue")}, {"sample": 3})


TODAY = date(2026, 11, 15)


def engine(today: date = TODAY, facts: dict[str, str] | None = None) -> Engine:
    counter = itertools.count(1)
    return Engine(flow_set(), lambda: f"t{next(counter)}", today=lambda: today, facts=facts)
