"""Every YAML example in docs/flows.md loads and validates against the shipped catalogues."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.content import load_content
from flows.loader import parse_flow
from flows.model import FlowSet
from flows.validation import inspect, validate

DOC = Path(__file__).resolve().parents[2] / "docs" / "flows.md"
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_reference_has_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_is_a_valid_flow(example: str) -> None:
    content = load_content()
    flow, problems = parse_flow(yaml.safe_load(example), "docs/flows.md")
    assert flow is not None and problems == []
    flows = FlowSet(
        {**content.flows.flows, flow.id: flow},
        "main",
        content.flows.choice_lists,
        content.flows.article_pages,
    )
    hard = [p for p in validate(flows, content.articles.ids) if p.file == "docs/flows.md"]
    assert hard == []
    soft = [
        p
        for p in inspect(flows, content.texts.texts)
        if p.file == "docs/flows.md" and p.message != "unreachable node"
    ]
    assert soft == []
