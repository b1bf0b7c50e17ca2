"""Parsing what people type where a flow expects a shape, e.g. "roughly when"."""

from __future__ import annotations

import re

_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_KHMER_MONTHS = {
    "មករា": 1,
    "កុម្ភៈ": 2,
    "មីនា": 3,
    "មេសា": 4,
    "ឧសភា": 5,
    "មិថុនា": 6,
    "កក្កដា": 7,
    "សីហា": 8,
    "កញ្ញា": 9,
    "តុលា": 10,
    "វិច្ឆិកា": 11,
    "ធ្នូ": 12,
}
MIN_YEAR = 1990
MAX_YEAR = 2100


def parse_month_year(text: str) -> str | None:
    """``3/2026``, ``03-2026``, ``2026-03``, ``March 2026``, ``មីនា ២០២៦`` -> ``2026-03``."""
    cleaned = text.strip().lower().translate(_KHMER_DIGITS)
    numeric = re.fullmatch(r"(\d{1,2})\s*[/.\-\s]\s*(\d{4})", cleaned)
    if numeric:
        month, year = int(numeric[1]), int(numeric[2])
    elif iso := re.fullmatch(r"(\d{4})\s*[/.\-]\s*(\d{1,2})", cleaned):
        year, month = int(iso[1]), int(iso[2])
    else:
        words = re.fullmatch(r"([^\d\s,]+)[\s,]*(\d{4})", cleaned)
        if not words:
            return None
        name, year = words[1], int(words[2])
        found = _MONTHS.get(name) or _KHMER_MONTHS.get(name.replace("ខែ", ""))
        if found is None:
            return None
        month = found
    if not 1 <= month <= 12 or not MIN_YEAR <= year <= MAX_YEAR:
        return None
    return f"{year:04d}-{month:02d}"
