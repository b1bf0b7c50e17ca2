"""Everything a running bot reads from ``knowledge/`` and ``flows/``, loaded and checked once."""

from __future__ import annotations

from dataclasses import dataclass

from flows.loader import Problem as FlowProblem
from flows.loader import load_flows
from flows.model import FlowSet
from flows.validation import inspect, validate
from knowledge.articles import ArticleLibrary
from knowledge.catalogue import TextCatalogue
from knowledge.partners import Partner, load_partners
from knowledge.taxonomy import load_taxonomy
from knowledge.validation import content_problems


class ContentError(Exception):
    """Shipped content is broken; ``clgbt validate`` lists every problem."""


@dataclass(frozen=True)
class Content:
    texts: TextCatalogue
    articles: ArticleLibrary
    taxonomy: dict[str, tuple[str, ...]]
    partners: tuple[Partner, ...]
    flows: FlowSet


def load_content_with_problems() -> tuple[Content, list[str]]:
    texts = TextCatalogue.load()
    articles = ArticleLibrary.load()
    taxonomy = load_taxonomy()
    partners = load_partners()
    flows, flow_problems = load_flows(choice_lists=taxonomy, article_pages=articles.page_counts())
    found: list[FlowProblem] = [
        *flow_problems,
        *validate(flows, articles.ids),
        *inspect(flows, texts.texts),
    ]
    problems = [str(p) for p in found]
    problems += [str(p) for p in content_problems(texts, articles, taxonomy, partners)]
    return Content(texts, articles, taxonomy, partners, flows), problems


def load_content() -> Content:
    content, problems = load_content_with_problems()
    hard = [p for p in problems if ": issue:" not in p]
    if hard:
        raise ContentError(
            f"{len(hard)} content problem(s); run 'clgbt validate'. First: {hard[0]}"
        )
    return content
