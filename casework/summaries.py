"""Long staff texts split on message boundaries after rendering, never inside markup.

Every line is rendered (escaped, tagged) on its own; lines are packed into messages of at most
``limit`` characters. A single line longer than that is split in its plain text before it is
escaped, so each piece is complete markup."""

from __future__ import annotations

import html
from dataclasses import dataclass

TELEGRAM_LIMIT = 4096


@dataclass(frozen=True)
class Line:
    """One line: an optional bold label (plain text) and a plain-text value."""

    value: str
    label: str = ""
    markup: bool = False  # ``value`` is already HTML (short, fixed strings from the catalogue)


def _render(label: str, value: str, markup: bool) -> str:
    head = f"<b>{html.escape(label, quote=False)}:</b> " if label else ""
    body = value if markup else html.escape(value, quote=False)
    return head + body


def render_lines(lines: list[Line], limit: int = TELEGRAM_LIMIT) -> tuple[str, ...]:
    pieces: list[str] = []
    for line in lines:
        rendered = _render(line.label, line.value, line.markup)
        if len(rendered) <= limit or line.markup:
            pieces.append(rendered[:limit] if line.markup else rendered)
            continue
        # Split the plain text so that each escaped piece (with its label) fits.
        text = line.value
        first = True
        while text:
            label = line.label if first else ""
            room = limit - len(_render(label, "", False))
            size = room
            while len(html.escape(text[:size], quote=False)) > room:
                size -= max(1, (len(html.escape(text[:size], quote=False)) - room) // 4)
            pieces.append(_render(label, text[:size], False))
            text = text[size:]
            first = False
    messages: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}\n{piece}" if current else piece
        if len(candidate) > limit and current:
            messages.append(current)
            current = piece
        else:
            current = candidate
    if current:
        messages.append(current)
    return tuple(messages)
