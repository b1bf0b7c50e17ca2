"""Telegram's HTML parse mode, as strict as the real server: unknown tags, unclosed tags and
bare ``&`` or ``<`` are errors; the result is plain text plus message entities whose offsets
and lengths are counted in UTF-16 code units, as Telegram counts them."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_ENTITY = re.compile(r"&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HtmlParseError(ValueError):
    """Raised with Telegram's own wording for an unparsable HTML text."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    start: int
    attrs: str


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Return ``(plain_text, entities)`` or raise :class:`HtmlParseError`."""
    out: list[str] = []
    length = 0
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    pos = 0

    def at() -> int:
        return len(source[:pos].encode("utf-8"))

    def emit(text: str) -> None:
        nonlocal length
        out.append(text)
        length += utf16_len(text)

    while pos < len(source):
        char = source[pos]
        if char == "<":
            match = _TAG.match(source, pos)
            if not match:
                raise HtmlParseError(
                    f"can't parse entities: Unexpected end of name token at byte offset {at()}"
                )
            closing, name, attrs = match[1] == "/", match[2].lower(), match[3] or ""
            if name not in _TAGS:
                kind = "end" if closing else "start"
                raise HtmlParseError(
                    f'can\'t parse entities: Unsupported {kind} tag "{name}" at byte offset {at()}'
                )
            if closing:
                if not stack or stack[-1].tag != name:
                    raise HtmlParseError(
                        f"can't parse entities: Unmatched end tag at byte offset {at()},"
                        f' expected "</{stack[-1].tag}>", found "</{name}>"'
                        if stack
                        else f"can't parse entities: Unexpected end tag at byte offset {at()}"
                    )
                opened = stack.pop()
                if length > opened.start:
                    entity: dict[str, Any] = {
                        "type": _TAGS[name],
                        "offset": opened.start,
                        "length": length - opened.start,
                    }
                    href = re.search(r'href\s*=\s*"([^"]*)"', opened.attrs)
                    if name == "a" and href:
                        entity["url"] = html.unescape(href[1])
                    entities.append(entity)
            else:
                stack.append(_Open(name, length, attrs))
            pos = match.end()
            continue
        if char == ">":
            raise HtmlParseError(
                f"can't parse entities: Unexpected character '>' at byte offset {at()}"
            )
        if char == "&":
            match = _ENTITY.match(source, pos)
            if not match:
                raise HtmlParseError(
                    "can't parse entities: Can't find end of the entity starting at byte offset "
                    f"{at()}"
                )
            body = match[1]
            if body.startswith("#x"):
                emit(chr(int(body[2:], 16)))
            elif body.startswith("#"):
                emit(chr(int(body[1:])))
            elif body in _NAMED:
                emit(_NAMED[body])
            else:
                raise HtmlParseError(
                    f'can\'t parse entities: Unsupported HTML entity "&{body};" at byte offset '
                    f"{at()}"
                )
            pos = match.end()
            continue
        emit(char)
        pos += 1
    if stack:
        raise HtmlParseError(
            "can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1].tag}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities
