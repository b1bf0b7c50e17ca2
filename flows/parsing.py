"""Parsing what people type where a flow expects a shape, e.g. "roughly when", and finding
contact details (phone numbers, Telegram usernames, e-mail addresses) in free text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

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
MIN_YEAR = 1990  # the earliest month an intake accepts
PARSE_MIN_YEAR = 1900  # earlier years are not read as years at all
MAX_YEAR = 2100


def parse_month_year(text: str) -> str | None:
    """``3/2026``, ``03-2026``, ``2026-03``, ``March 2026``, ``មីនា ២០២៦`` -> ``2026-03``.

    Only the shape is checked here; whether the month is too early or in the future is
    :func:`month_problem`'s question, so that each gets its own clear answer."""
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
    if not 1 <= month <= 12 or not PARSE_MIN_YEAR <= year <= MAX_YEAR:
        return None
    return f"{year:04d}-{month:02d}"


def month_problem(month: str, today: date) -> str | None:
    """``"month_in_future"`` or ``"month_too_early"`` for a parsed ``YYYY-MM``, else None."""
    year, number = (int(part) for part in month.split("-"))
    if (year, number) > (today.year, today.month):
        return "month_in_future"
    if year < MIN_YEAR:
        return "month_too_early"
    return None


# --------------------------------------------------------------------- contact details

_SEPARATORS = " \t.()\\-\u00a0"
# Digits with up to two separators between them (012 345 678, (012) 345-678, +855 12 345 678),
# not glued to Latin letters or other digits. Khmer digits are read as digits.
_DIGIT_RUN = re.compile(rf"(?<![0-9A-Za-z+])\+?\d(?:[{_SEPARATORS}]{{0,2}}\d)+(?![0-9A-Za-z])")
_USERNAME = re.compile(r"(?<![\w@.])@[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_])")
_TME = re.compile(r"(?i)(?<![\w.])(?:https?://)?(?:t|telegram)\.me/[A-Za-z0-9_+/]+")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_AMOUNT_AFTER = re.compile(r"\s*(?:riels?\b|usd\b|dollars?\b|\$|៛|រៀល|ដុល្លារ|%)", re.IGNORECASE)
_DATE = re.compile(r"\d{1,4}[.\-]\d{1,2}[.\-]\d{1,4}")
PHONE_DIGITS = (8, 13)  # 012 345 678 (9), 0XX XXX XXXX (10), +855 12 345 678 (11), abroad
LONG_DIGITS = 10  # any other run this long may identify someone (an ID or account number)
REDACTED = "[…]"


@dataclass(frozen=True)
class Contact:
    kind: str  # "phone", "username", "link" or "email"
    start: int
    end: int


def _is_phone(run: str, after: str) -> bool:
    if _AMOUNT_AFTER.match(after) or _DATE.fullmatch(run):
        return False  # 40 000 000 riel; 01.03.2026
    digits = re.sub(r"\D", "", run)
    low, high = PHONE_DIGITS
    if run.startswith(("+", "0", "855")) and low <= len(digits) <= high:
        return True
    return len(digits) >= LONG_DIGITS


def find_contacts(text: str) -> tuple[Contact, ...]:
    """Phone-number-like digit runs (Khmer digits too), @usernames, t.me links and e-mail
    addresses in ``text``, in order. Short numbers (117, 1280), dates and amounts of money
    are not contacts."""
    ascii_digits = text.translate(_KHMER_DIGITS)  # same length: positions stay valid
    found: list[Contact] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int) -> None:
        if any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        found.append(Contact(kind, start, end))

    for match in _EMAIL.finditer(ascii_digits):
        add("email", match.start(), match.end())
    for match in _TME.finditer(ascii_digits):
        add("link", match.start(), match.end())
    for match in _USERNAME.finditer(ascii_digits):
        add("username", match.start(), match.end())
    for match in _DIGIT_RUN.finditer(ascii_digits):
        if _is_phone(match.group(), ascii_digits[match.end() :]):
            add("phone", match.start(), match.end())
    return tuple(sorted(found, key=lambda c: c.start))


def redact_contacts(text: str) -> str:
    """``text`` with every contact found by :func:`find_contacts` replaced by ``[…]``."""
    parts: list[str] = []
    position = 0
    for contact in find_contacts(text):
        parts += [text[position : contact.start], REDACTED]
        position = contact.end
    parts.append(text[position:])
    return "".join(parts)
