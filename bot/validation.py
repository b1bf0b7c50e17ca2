"""``clgbt validate``: every content problem, each naming its file, key or node and language."""

from __future__ import annotations

from bot.content import load_content_with_problems


def validate_all() -> list[str]:
    try:
        _, problems = load_content_with_problems()
    except (ValueError, OSError) as exc:
        return [str(exc)]
    return problems
