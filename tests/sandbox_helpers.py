"""Helpers for the sandbox's own tests: a keyboard typed line by line, and a screen to wait on."""

from __future__ import annotations

import asyncio
import io
import queue
import threading


class Keyboard:
    """Lines typed only when the test says so; ``close()`` is Ctrl-D."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()

    def type(self, line: str) -> None:
        self.lines.put(line + "\n")

    def close(self) -> None:
        self.lines.put("")

    def __call__(self) -> str:
        return self.lines.get()


class Screen(io.StringIO):
    """What the terminal printed, with a way to wait for a fragment to appear."""

    def __init__(self) -> None:
        super().__init__()
        self._guard = threading.Lock()
        self.mark = 0

    def write(self, text: str) -> int:
        with self._guard:
            return super().write(text)

    def text(self) -> str:
        with self._guard:
            return self.getvalue()

    async def wait_for(self, fragment: str, within: float = 15.0, *, new: bool = True) -> str:
        """Wait until ``fragment`` is printed (after the last wait, when ``new``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            printed = self.text()
            start = self.mark if new else 0
            found = printed.find(fragment, start)
            if found >= 0:
                self.mark = found + len(fragment)
                return printed[start : self.mark]
            if loop.time() > deadline:
                raise TimeoutError(f"{fragment!r} not printed; last: {printed[-800:]!r}")
            await asyncio.sleep(0.05)
