"""The sandbox a newcomer meets: emulator, real bot and the terminal chat, end to end."""

from __future__ import annotations

import io
import queue
import time

from bot.config import Settings
from bot.sandbox_run import run_sandbox
from tests.conftest import FAST_SENDING


class ScriptedKeyboard:
    """Types lines with pauses, like a person; an empty string is Ctrl-D."""

    def __init__(self, *lines: str) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        for line in lines:
            self.lines.put(line)

    def __call__(self) -> str:
        time.sleep(0.8)
        try:
            return self.lines.get_nowait()
        except queue.Empty:
            return ""


async def test_the_sandbox_chat_answers_start_and_buttons() -> None:
    out = io.StringIO()
    settings = Settings(sending=FAST_SENDING)
    await run_sandbox(settings, out=out, read_line=ScriptedKeyboard("/start\n", "2\n", "/quit\n"))
    screen = out.getvalue()
    assert "You are a community member" in screen and "/quit" in screen
    assert "Please choose a language" in screen
    assert "[1] ភាសាខ្មែរ   [2] English" in screen
    assert "Before we start" in screen
    assert screen.rstrip().endswith("You have left the sandbox. Goodbye.")
