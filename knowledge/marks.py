"""A mark of who did something and when (a review, a confirmation): ``{by: ..., date: ...}``
in the content files, with ``by`` an organisation, never a person."""

from __future__ import annotations

from datetime import date


def by_and_date(value: object) -> tuple[str, date] | None:
    """``None`` when absent; raises ``ValueError`` when present but incomplete."""
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not str(value.get("by") or "").strip()
        or not isinstance(value.get("date"), date)
    ):
        raise ValueError("needs 'by' and 'date'")
    return str(value["by"]).strip(), value["date"]
