"""Random identifiers: row ids (never guessable, generated before encryption) and the short
codes people and staff quote (case codes, referral codes)."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: codes are read aloud on the phone and typed on small screens.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_row_id() -> str:
    return secrets.token_hex(16)


def new_code(length: int = 8) -> str:
    """``K7QM-2XPA``: 8 characters from 31 symbols, about 40 bits, grouped for reading."""
    # One draw from the system's generator, uniform over every code, written in base 31.
    number = secrets.randbelow(len(CODE_ALPHABET) ** length)
    symbols = []
    for _ in range(length):
        number, digit = divmod(number, len(CODE_ALPHABET))
        symbols.append(CODE_ALPHABET[digit])
    raw = "".join(symbols)
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(text: str) -> str:
    """Accept what people type: lower case, spaces or a missing dash."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    return f"{cleaned[:4]}-{cleaned[4:]}" if len(cleaned) == 8 else cleaned
