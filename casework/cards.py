"""What staff read about a case: the card posted in its topic and the summary with its events.
Built as :class:`~casework.summaries.Line` values so that long answers split cleanly."""

from __future__ import annotations

import html
from typing import Any

from casework.summaries import Line
from knowledge.catalogue import TextCatalogue
from storage.repositories.case_events import CaseEvent
from storage.repositories.cases import Case

ANSWER_ORDER = ("category", "grounds", "what", "when", "province", "perpetrator", "danger", "help")
TAXONOMY_LISTS = ("categories", "grounds", "provinces", "perpetrators", "danger", "help")
FREE_TEXT = ("what", "when")


def _title(texts: TextCatalogue, language: str, key: str, /, **params: str) -> str:
    escaped = {k: html.escape(v, quote=False) for k, v in params.items()}
    return texts.text(key, language, **escaped)


def card_lines(
    case: Case,
    answers: dict[str, Any],
    consented: bool,
    texts: TextCatalogue,
    language: str,
) -> list[Line]:
    title = _title(texts, language, "staff.card.title", code=case.code)
    if case.urgent:
        title += " · " + _title(texts, language, "staff.card.urgent")
    lines = [Line(f"<b>{title}</b>", markup=True)]
    person_language = texts.text(f"language.{case.language or 'km'}", language)
    lines.append(
        Line(_title(texts, language, "staff.card.language", language=person_language), markup=True)
    )
    status = (
        _title(texts, language, "staff.card.assigned", alias=case.assigned_alias)
        if case.assigned_alias
        else _title(texts, language, "staff.card.waiting")
    )
    lines.append(Line(status, markup=True))
    if answers and consented:
        lines.append(Line(""))
        for name in ANSWER_ORDER:
            value = answers.get(name)
            if value is None:
                continue
            shown = str(value)
            if name not in FREE_TEXT:
                for list_name in TAXONOMY_LISTS:
                    key = f"taxonomy.{list_name}.{value}"
                    if texts.has(key):
                        shown = texts.text(key, language)
                        break
            lines.append(Line(shown, label=texts.text(f"answers.{name}", language)))
    elif answers:
        lines.append(Line(_title(texts, language, "staff.card.not_shared"), markup=True))
    else:
        lines.append(Line(_title(texts, language, "staff.card.no_intake"), markup=True))
    return lines


def event_lines(events: list[CaseEvent], heading: str) -> list[Line]:
    lines = [Line(""), Line(heading, markup=True)]
    for event in events:
        head = f"• {event.occurred_on} {event.kind} ({event.actor})"
        lines.append(Line(f"{head}: {event.body}" if event.body else head))
    return lines
