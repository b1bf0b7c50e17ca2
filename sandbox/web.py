"""The training page: the person's phone and the staff group side by side, in a browser.

The page is static (``sandbox/static/``): HTML, CSS and a script with no outside assets, so it
works offline. It talks only to the emulator's control interface on the same address
(``/sandbox/...``): it reads chats, topics and the training status, and acts as the person or a
staff member by sending messages and pressing buttons, exactly as the tests do. Every byte the
bot reads or writes goes through the emulator's Bot API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado.web

STATIC = Path(__file__).resolve().parent / "static"


class _NoCache(tornado.web.StaticFileHandler):
    def set_extra_headers(self, path: str) -> None:
        # The page is tiny and changes with the sandbox's version: never serve a stale copy.
        self.set_header("Cache-Control", "no-store")


def training_routes() -> list[Any]:
    """Tornado routes that serve the page at ``/training/`` (and send ``/`` there)."""
    return [
        (r"/", tornado.web.RedirectHandler, {"url": "/training/"}),
        (r"/training", tornado.web.RedirectHandler, {"url": "/training/"}),
        (
            r"/training/(.*)",
            _NoCache,
            {"path": str(STATIC), "default_filename": "index.html"},
        ),
    ]
