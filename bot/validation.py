"""``clgbt validate``: every content problem, each naming its file, key or node and language."""

from __future__ import annotations

from knowledge.catalogue import CatalogueError, TextCatalogue


def validate_all() -> list[str]:
    problems: list[str] = []
    try:
        catalogue = TextCatalogue.load()
    except CatalogueError as exc:
        return [str(exc)]
    problems.extend(str(p) for p in catalogue.problems())
    return problems
